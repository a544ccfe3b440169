# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Warnings raised by alien_sk.

Errors reuse the standard classes (``ValueError``, ``TypeError``) and
scikit-learn's :class:`~sklearn.exceptions.NotFittedError`; warnings subclass
:class:`AlienSkWarning` so that users can filter all of them at once.
"""

__all__ = [
    "AlienSkWarning",
    "CacheWarning",
    "DeviceWarning",
    "NoErrorsWarning",
    "TargetRiskWarning",
    "TruncationWarning",
]


class AlienSkWarning(UserWarning):
    """Base class of every warning raised by alien_sk.

    Examples
    --------
    >>> import warnings
    >>> from alien_sk.exceptions import AlienSkWarning, CacheWarning
    >>> issubclass(CacheWarning, AlienSkWarning)
    True
    >>> warnings.simplefilter("ignore", AlienSkWarning)
    """


class DeviceWarning(AlienSkWarning):
    """A model or head was moved to another device than the one requested.

    Raised, for example, when an estimator fitted on CUDA is unpickled on a
    machine without a GPU and its state is mapped to the CPU.

    Examples
    --------
    >>> from alien_sk.exceptions import DeviceWarning
    >>> DeviceWarning("mapped to cpu").args
    ('mapped to cpu',)
    """


class CacheWarning(AlienSkWarning):
    """The on-disk feature cache could not be read or written.

    The cache never raises: a corrupt entry is recomputed and a failed write
    leaves the result uncached, each with this warning.

    Examples
    --------
    >>> from alien_sk.exceptions import CacheWarning
    >>> issubclass(CacheWarning, UserWarning)
    True
    """


class TruncationWarning(AlienSkWarning):
    """Some texts were longer than ``max_length`` tokens and were truncated.

    Examples
    --------
    >>> from alien_sk.exceptions import TruncationWarning
    >>> str(TruncationWarning("3 texts were truncated"))
    '3 texts were truncated'
    """


class NoErrorsWarning(AlienSkWarning):
    """The training data holds no misclassified sample (or only errors).

    With a single error class there is nothing to learn: the estimator keeps
    its initial head (the normalised entropy of the logits).

    Examples
    --------
    >>> from alien_sk.exceptions import NoErrorsWarning, AlienSkWarning
    >>> issubclass(NoErrorsWarning, AlienSkWarning)
    True
    """


class TargetRiskWarning(AlienSkWarning):
    """No uncertainty threshold meets the requested selective risk.

    Raised by :class:`~alien_sk.selective.SelectiveClassifier` when the target
    risk is unreachable on the calibration data: it then abstains on every
    sample.

    Examples
    --------
    >>> from alien_sk.exceptions import TargetRiskWarning, AlienSkWarning
    >>> issubclass(TargetRiskWarning, AlienSkWarning)
    True
    """
