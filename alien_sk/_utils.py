# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Private helpers shared across alien_sk (numpy only; torch imported lazily)."""

import os
import sys

import numpy as np

_DEVICES = {"auto", "cpu", "cuda", "mps"}


_LIBRARY_DIRS = None


def user_stacklevel():
    """``stacklevel`` that makes a warning name the user's line.

    Counts the frames, from the function that calls :func:`warnings.warn`
    outwards, that run code of alien_sk, scikit-learn, joblib or the standard
    library's ``pickle``, so that the warning points at the first frame
    outside them: the user's call, however deep the library path to the
    warning (``score``, a scorer, a ``Pipeline``, ``GridSearchCV``,
    ``joblib.load``). Call it inside the ``warnings.warn``
    call itself.

    Returns
    -------
    stacklevel : int
        At least 2 (the caller of the warning function).

    Examples
    --------
    >>> import warnings
    >>> from alien_sk._utils import user_stacklevel
    >>> def f():
    ...     warnings.warn("careful", stacklevel=user_stacklevel())
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f()
    >>> w[0].lineno == 3  # this example's ``f()`` line, not f's own
    True
    """
    global _LIBRARY_DIRS
    if _LIBRARY_DIRS is None:
        import pickle

        import joblib
        import sklearn

        import alien_sk

        _LIBRARY_DIRS = tuple(
            os.path.dirname(os.path.abspath(m.__file__)) + os.sep
            for m in (alien_sk, sklearn, joblib)
        ) + (os.path.abspath(pickle.__file__),)  # joblib.load unpickles in Python
    frame = sys._getframe(2)  # the warning function's caller
    level = 2
    while frame is not None and _in_library(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    return level


def _in_library(filename):
    # "<stdin>", "<doctest ...>" and other pseudo-files are the user's
    return os.path.isabs(filename) and filename.startswith(_LIBRARY_DIRS)


def _other_mass(logits):
    """``s = sum_{c != top} exp(z_c - z_top)`` and the largest of those terms.

    ``max softmax = 1 / (1 + s)``, so ``1 - max softmax = s / (1 + s)``
    keeps its precision where ``1 - p_top`` would round to 0 (logit gaps
    above about 37).
    """
    z = np.asarray(logits, dtype=np.float64)
    top = z.argmax(axis=-1)
    rows = np.arange(z.shape[0])
    e = np.exp(z - z[rows, top][:, None])
    e[rows, top] = 0.0  # a tie at the top keeps its other entry at 1
    return e.sum(axis=-1), e.max(axis=-1)


def one_minus_max_softmax(logits):
    """``1 - max_c softmax(logits)_c`` of each row, accurate near 0.

    Parameters
    ----------
    logits : array-like of shape (n_samples, n_classes)
        Raw classifier scores.

    Returns
    -------
    u : ndarray of shape (n_samples,)
        In [0, 1 - 1/C].

    Examples
    --------
    >>> from alien_sk._utils import one_minus_max_softmax
    >>> one_minus_max_softmax([[0.0, 0.0], [50.0, 0.0]])
    array([5.00000000e-01, 1.92874985e-22])
    """
    s, _ = _other_mass(logits)
    return s / (1.0 + s)


def one_minus_margin(logits):
    """``1 - (p_(1) - p_(2))``, one minus the gap between the two top
    probabilities, accurate near 0.

    Parameters
    ----------
    logits : array-like of shape (n_samples, n_classes)
        Raw classifier scores, ``n_classes >= 2``.

    Returns
    -------
    u : ndarray of shape (n_samples,)
        In [0, 1].

    Examples
    --------
    >>> from alien_sk._utils import one_minus_margin
    >>> one_minus_margin([[0.0, 0.0], [50.0, 0.0]])
    array([1.0000000e+00, 3.8574997e-22])
    """
    s, second = _other_mass(logits)
    # p_(1) = 1 / (1 + s), p_(2) = second / (1 + s)
    return (s + second) / (1.0 + s)


def normalized_entropy(logits):
    """Predictive entropy of ``softmax(logits)`` divided by ``log(n_classes)``.

    ``U = -(1 / log C) * sum_c p_c log p_c``, in [0, 1]; ``0 log 0 = 0``.

    Parameters
    ----------
    logits : array-like of shape (n_samples, n_classes)
        Raw classifier scores, ``n_classes >= 2``.

    Returns
    -------
    entropy : ndarray of shape (n_samples,)
        Normalised entropy in [0, 1].

    Examples
    --------
    >>> from alien_sk._utils import normalized_entropy
    >>> normalized_entropy([[0.0, 0.0], [100.0, 0.0]]).round(6)
    array([1., 0.])
    """
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1, keepdims=True))
    log_p = z - log_norm
    p = np.exp(log_p)
    ent = -(p * log_p).sum(axis=-1) / np.log(z.shape[-1])
    return np.clip(ent, 0.0, 1.0)


def resolve_device(device):
    """Turn a ``device`` parameter into a ``torch.device``, checking it exists.

    Parameters
    ----------
    device : {"auto", "cpu", "cuda", "mps"} or str or torch.device
        ``"auto"`` picks CUDA when available, then MPS, else the CPU. Indexed
        names such as ``"cuda:1"`` are accepted.

    Returns
    -------
    device : torch.device
        The resolved device.

    Raises
    ------
    ValueError
        If the device is not one of the above, or the requested accelerator
        is not available on this machine.

    Examples
    --------
    >>> from alien_sk._utils import resolve_device
    >>> resolve_device("cpu")
    device(type='cpu')
    """
    import torch

    if isinstance(device, torch.device):
        device = str(device)
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use one of "
            f"{sorted(_DEVICES)} (optionally with an index, e.g. 'cuda:0')."
        ) from e
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available on "
                "this machine (torch.cuda.is_available() is False); use "
                "device='cpu' or device='auto'."
            )
        if resolved.index is not None and resolved.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{torch.cuda.device_count()} CUDA device(s) are visible."
            )
    elif resolved.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(
                f"device={device!r} was requested but MPS is not available on "
                "this machine; use device='cpu' or device='auto'."
            )
    elif resolved.type != "cpu":
        raise ValueError(
            f"device={device!r} is not supported; use one of {sorted(_DEVICES)} "
            "(optionally with an index, e.g. 'cuda:0')."
        )
    return resolved


#: byte-level BPE families: a word inside a sentence is the token " word", so
#: word lists need add_prefix_space=True (features.py and finetune.py)
PREFIX_SPACE_TYPES = ("roberta", "gpt2", "qwen2", "qwen3", "modernbert")


def words_as_in_text(tokenizer):
    """Whether ``tokenizer`` splits word lists as running text (``" word"``).

    A byte-level BPE tokenizer does so only with ``add_prefix_space=True``.
    transformers 4's Qwen2 tokenizer stores that flag without applying it;
    where the flag is set but not applied, it is set on the backend's
    ``ByteLevel`` pre-tokenizer, as transformers 5 does (this modifies
    ``tokenizer``: pass a copy). The probe is one plain word: Qwen2 splits a
    word into pieces first (``"don't!"``: ``don``, ``'t``, ``!``) and then
    puts the space before every piece, as transformers does for any word
    list, so such a word's later sub-tokens differ from running text (its
    first sub-token usually does not).

    Parameters
    ----------
    tokenizer : transformers.PreTrainedTokenizerFast
        A fast tokenizer.

    Returns
    -------
    ok : bool
        True when ``tokenizer(["word"], is_split_into_words=True)`` gives the
        ids of ``" word"``.

    Examples
    --------
    >>> from alien_sk._utils import words_as_in_text
    >>> class Whitespace:  # a stand-in that splits on spaces
    ...     def __call__(self, x, is_split_into_words=False, **kw):
    ...         words = x if is_split_into_words else x.split()
    ...         return {"input_ids": [len(w) for w in words]}
    >>> words_as_in_text(Whitespace())
    True
    """

    def probe():
        try:
            as_word = tokenizer(
                ["word"], is_split_into_words=True, add_special_tokens=False
            )["input_ids"]
        except AssertionError:
            # transformers 4's GPT-2/RoBERTa fast tokenizers assert the flag
            return False
        return as_word == tokenizer(" word", add_special_tokens=False)["input_ids"]

    if probe():
        return True
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if not getattr(tokenizer, "add_prefix_space", False) or backend is None:
        return False
    from tokenizers import pre_tokenizers

    pre = backend.pre_tokenizer
    steps = [pre]
    if isinstance(pre, pre_tokenizers.Sequence):
        steps, k = [], 0
        while True:
            try:
                steps.append(pre[k])
            except IndexError:
                break
            k += 1
    byte_level = [s for s in steps if isinstance(s, pre_tokenizers.ByteLevel)]
    if not byte_level:
        return False
    for step in byte_level:
        step.add_prefix_space = True
    return probe()
