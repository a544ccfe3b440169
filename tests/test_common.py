# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""scikit-learn's estimator checks, and alien_sk's own, on every estimator.

Estimators are discovered with :func:`alien_sk.utils.all_estimators`, so a new
estimator is checked without touching this file. Parameters that keep the
checks fast go in ``INIT_PARAMS``; every expected failure goes in
``EXPECTED_FAILED_CHECKS`` with the reason it is expected.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from alien_sk.utils import all_estimators
from alien_sk.utils.estimator_checks import yield_uncertainty_checks

# Constructor arguments used in the checks (keep them fast, keep them default-like).
INIT_PARAMS = {
    "AlienUncertaintyEstimator": {"max_epochs": 3, "random_state": 0},
}

# {estimator class name: {check name: reason}}; aim for none.
EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {}


def _instances(type_filter):
    for name, cls in all_estimators(type_filter):
        if name in SKIP_COMMON:
            continue
        yield cls(**INIT_PARAMS.get(name, {}))


# Estimators whose constructor needs resources the common checks cannot build
# (each with its own dedicated tests instead).
SKIP_COMMON = {"FeatureExtractor"}


def _expected_failed_checks(estimator):
    return EXPECTED_FAILED_CHECKS.get(type(estimator).__name__, {})


@parametrize_with_checks(
    list(_instances(None)), expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


_UNCERTAINTY = list(_instances("uncertainty"))


@pytest.mark.parametrize(
    "estimator, check",
    [(est, chk) for est in _UNCERTAINTY for chk in yield_uncertainty_checks(est)],
    ids=lambda x: getattr(x, "__name__", type(x).__name__),
)
def test_uncertainty_contract(estimator, check):
    check(type(estimator).__name__, estimator)
