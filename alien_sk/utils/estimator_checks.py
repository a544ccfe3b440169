# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reusable checks of the uncertainty-estimator contract (imbalanced-learn style).

Each ``check_*(name, estimator_orig)`` clones the estimator, fits it on
synthetic ``[logits | embedding]`` data and asserts one property of the
contract: ``predict_uncertainty`` returns one finite score per row, in [0, 1]
for bounded estimators, errors score higher than correct predictions, and the
fitted estimator survives a pickle round trip.
"""

import pickle

import numpy as np
from sklearn.base import clone

from alien_sk.datasets import make_classifier_outputs

__all__ = [
    "check_uncertainty_shape_and_range",
    "check_uncertainty_detects_errors",
    "check_uncertainty_pickle_round_trip",
    "check_uncertainty_score_is_roc_auc",
    "yield_uncertainty_checks",
]


def _data(n_samples=300, n_classes=3, entropy_signal=1.0, random_state=0):
    return make_classifier_outputs(
        n_samples=n_samples,
        n_classes=n_classes,
        n_embedding=6,
        error_rate=0.25,
        embedding_signal=2.0,
        entropy_signal=entropy_signal,
        random_state=random_state,
    )


def check_uncertainty_shape_and_range(name, estimator_orig):
    """``predict_uncertainty`` gives one finite float per row, in [0, 1] if bounded.

    Parameters
    ----------
    name : str
        Estimator name, used in messages.
    estimator_orig : estimator
        Unfitted uncertainty estimator.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.utils.estimator_checks import check_uncertainty_shape_and_range
    >>> check_uncertainty_shape_and_range(
    ...     "alien", AlienUncertaintyEstimator(max_epochs=1)
    ... )
    """
    X, y = _data()
    est = clone(estimator_orig).fit(X, y)
    u = np.asarray(est.predict_uncertainty(X[:50]))
    assert u.shape == (50,), f"{name}: predict_uncertainty shape {u.shape} != (50,)"
    assert np.issubdtype(u.dtype, np.floating), f"{name}: dtype {u.dtype} not float"
    assert np.all(np.isfinite(u)), f"{name}: non-finite uncertainty"
    if getattr(est, "_bounded_uncertainty", True):
        assert u.min() >= 0 and u.max() <= 1, (
            f"{name}: bounded uncertainty outside [0, 1]: [{u.min()}, {u.max()}]"
        )


def check_uncertainty_detects_errors(name, estimator_orig):
    """On data whose errors show in both logits and embedding, AUC is above 0.6.

    Parameters
    ----------
    name : str
        Estimator name, used in messages.
    estimator_orig : estimator
        Unfitted uncertainty estimator.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.utils.estimator_checks import check_uncertainty_detects_errors
    >>> check_uncertainty_detects_errors(
    ...     "alien", AlienUncertaintyEstimator(max_epochs=1)
    ... )
    """
    X, y = _data(n_samples=600, entropy_signal=3.0)
    est = clone(estimator_orig).fit(X[:400], y[:400])
    auc = est.score(X[400:], y[400:])
    assert auc > 0.6, f"{name}: misclassification ROC-AUC {auc:.3f} <= 0.6"


def check_uncertainty_score_is_roc_auc(name, estimator_orig):
    """``score`` equals ``roc_auc_score(argmax(logits) != y, predict_uncertainty)``.

    Parameters
    ----------
    name : str
        Estimator name, used in messages.
    estimator_orig : estimator
        Unfitted uncertainty estimator.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.utils.estimator_checks import check_uncertainty_score_is_roc_auc
    >>> check_uncertainty_score_is_roc_auc(
    ...     "alien", AlienUncertaintyEstimator(max_epochs=1)
    ... )
    """
    from sklearn.metrics import roc_auc_score

    X, y = _data()
    est = clone(estimator_orig).fit(X, y)
    errors = X[:, :3].argmax(axis=1) != y
    expected = roc_auc_score(errors, est.predict_uncertainty(X))
    got = est.score(X, y)
    assert np.isclose(got, expected), f"{name}: score {got} != ROC-AUC {expected}"


def check_uncertainty_pickle_round_trip(name, estimator_orig):
    """A pickled and unpickled fitted estimator gives identical scores.

    Parameters
    ----------
    name : str
        Estimator name, used in messages.
    estimator_orig : estimator
        Unfitted uncertainty estimator.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.utils.estimator_checks import check_uncertainty_pickle_round_trip
    >>> check_uncertainty_pickle_round_trip(
    ...     "alien", AlienUncertaintyEstimator(max_epochs=1)
    ... )
    """
    X, y = _data()
    est = clone(estimator_orig).fit(X, y)
    before = est.predict_uncertainty(X)
    after = pickle.loads(pickle.dumps(est)).predict_uncertainty(X)
    np.testing.assert_array_equal(
        before, after, err_msg=f"{name}: pickle changed scores"
    )


def yield_uncertainty_checks(estimator):
    """Yield every alien_sk-specific check for ``estimator``.

    Parameters
    ----------
    estimator : estimator
        Unfitted uncertainty estimator.

    Yields
    ------
    check : callable
        ``check(name, estimator)``.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.utils.estimator_checks import yield_uncertainty_checks
    >>> len(list(yield_uncertainty_checks(AlienUncertaintyEstimator())))
    4
    """
    yield check_uncertainty_shape_and_range
    yield check_uncertainty_detects_errors
    yield check_uncertainty_score_is_roc_auc
    yield check_uncertainty_pickle_round_trip
