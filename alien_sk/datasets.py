# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Data: synthetic classifier outputs, and loaders for the packaged real data."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params

__all__ = ["make_classifier_outputs"]


@validate_params(
    {
        "n_samples": [Interval(Integral, 2, None, closed="left")],
        "n_classes": [Interval(Integral, 2, None, closed="left")],
        "n_embedding": [Interval(Integral, 1, None, closed="left")],
        "error_rate": [Interval(Real, 0, 1, closed="both")],
        "embedding_signal": [Interval(Real, 0, None, closed="left")],
        "entropy_signal": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_classifier_outputs(
    n_samples=1000,
    n_classes=2,
    n_embedding=16,
    *,
    error_rate=0.2,
    embedding_signal=3.0,
    entropy_signal=0.0,
    random_state=None,
):
    """Synthetic ``[logits | embedding]`` of a classifier, with its true labels.

    The classifier errs with a probability that rises along the first
    embedding direction (``embedding_signal``) and, optionally, with smaller
    logit margins (``entropy_signal``). With ``entropy_signal=0`` the margin,
    hence the entropy, is independent of the errors: only a method that reads
    the embedding can detect them. Useful for tests and examples.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of rows.
    n_classes : int, default=2
        Number of logits (classes).
    n_embedding : int, default=16
        Width of the embedding block that follows the logits.
    error_rate : float, default=0.2
        Average probability that the predicted label is wrong.
    embedding_signal : float, default=3.0
        Log-odds slope of the error probability along embedding column 0.
    entropy_signal : float, default=0.0
        How much smaller the logit margin is for errors (0 = not at all).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_classes + n_embedding), float32
        ``[logits | embedding]``.
    y : ndarray of shape (n_samples,), int64
        True labels, indices into the logits.

    Examples
    --------
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=500, random_state=0)
    >>> X.shape, X.dtype
    ((500, 18), dtype('float32'))
    >>> errors = X[:, :2].argmax(axis=1) != y
    >>> bool(0.1 < errors.mean() < 0.3)
    True
    """
    rng = check_random_state(random_state)
    emb = rng.standard_normal((n_samples, n_embedding))
    y = rng.randint(n_classes, size=n_samples)
    if error_rate in (0, 1):
        err = np.full(n_samples, bool(error_rate))
    else:
        # shift the logistic so that the mean error probability is error_rate
        z = embedding_signal * emb[:, 0]
        lo, hi = -50.0, 50.0
        for _ in range(100):
            mid = (lo + hi) / 2
            if (1 / (1 + np.exp(-(z + mid)))).mean() < error_rate:
                lo = mid
            else:
                hi = mid
        err = rng.uniform(size=n_samples) < 1 / (1 + np.exp(-(z + lo)))
    pred = y.copy()
    offset = rng.randint(1, n_classes, size=n_samples)
    pred[err] = (y[err] + offset[err]) % n_classes
    margin = np.abs(rng.normal(1.5, 1.0, size=n_samples)) + 0.05
    margin = margin / (1.0 + entropy_signal * err)
    logits = rng.normal(0.0, 0.3, size=(n_samples, n_classes))
    logits[np.arange(n_samples), pred] = logits.max(axis=1) + margin
    X = np.hstack([logits, emb]).astype(np.float32)
    return X, y.astype(np.int64)
