# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Docstring fragments shared by several public classes (imbalanced-learn style)."""


class Substitution:
    """Decorate a function or class to ``str.format``-substitute its docstring.

    Parameters
    ----------
    **kwargs : dict
        Fragments, substituted for ``{name}`` placeholders.

    Examples
    --------
    >>> from alien_sk._docstring import Substitution
    >>> @Substitution(what="world")
    ... def f():
    ...     '''Hello {what}.'''
    >>> f.__doc__
    'Hello world.'
    """

    def __init__(self, **kwargs):
        self.params = kwargs

    def __call__(self, obj):
        if obj.__doc__:
            obj.__doc__ = obj.__doc__.format(**self.params)
        return obj


_n_logits_docstring = """n_logits : int or "auto", default="auto"
        Number of leading columns of ``X`` that hold the classifier's logits;
        the remaining columns are the penultimate embedding. With ``"auto"``
        it is ``len(classes)`` when ``classes`` is given, else the number of
        distinct labels in ``y`` (or ``max(y) + 1`` when larger, since integer
        labels index the logits). A cross-validation fold can miss a class
        (the last one, in particular), so setting it explicitly (or giving
        ``classes``) is safer."""

_classes_docstring = """classes : array-like of shape (n_logits,), default=None
        Label values in logit order: ``classes[j]`` is the label whose logit is
        column ``j`` of ``X``. When None, ``y`` must hold integers that index
        the logits directly."""

_random_state_docstring = """random_state : int, RandomState instance or None, \
default=None
        Seeds the initialisation and the mini-batch order through a local
        ``torch.Generator`` (the global torch RNG is left untouched). Pass an
        int for reproducible, bit-identical fits."""

_device_docstring = """device : {"auto", "cpu", "cuda", "mps"} or str, default="cpu"
        Torch device. ``"auto"`` picks CUDA when present. Resolved at fit time
        into ``device_``; a CUDA device that is not available raises a
        ``ValueError``."""

_batch_size_docstring = """batch_size : int, default=32
        Number of texts per forward pass."""

_cache_dir_docstring = """cache_dir : str or path-like, default=None
        Folder of the on-disk feature cache (``~`` is expanded). Each text's
        row is stored under a key built from the text, the model's weights
        fingerprint and every setting that changes the output. None disables
        caching."""
