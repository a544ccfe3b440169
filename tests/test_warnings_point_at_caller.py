"""Warnings name the user's line, not a line inside alien_sk or sklearn."""

import warnings

import numpy as np
import pytest

from alien_sk import AlienUncertaintyEstimator
from alien_sk.baselines import ErrorProbe
from alien_sk.exceptions import NoErrorsWarning, TargetRiskWarning
from alien_sk.metrics import misclassification_roc_auc, prediction_rejection_ratio
from alien_sk.selective import SelectiveClassifier


def _caught(category, call):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        call()
    hits = [w for w in record if issubclass(w.category, category)]
    assert hits, f"no {category.__name__}"
    return hits


def _all_correct():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 5))
    return X, X[:, :2].argmax(axis=1)


@pytest.mark.parametrize(
    "category, call",
    [
        (
            NoErrorsWarning,
            lambda: AlienUncertaintyEstimator(max_epochs=1).fit(*_all_correct()),
        ),
        (NoErrorsWarning, lambda: ErrorProbe().fit(*_all_correct())),
        (
            TargetRiskWarning,
            lambda: SelectiveClassifier(target_risk=1e-6).fit(
                np.array([[0.0, 1.0], [1.0, 0.0]] * 20), np.array([0, 1] * 20)
            ),
        ),
        (Warning, lambda: misclassification_roc_auc([0, 1], [0, 1], [0.1, 0.2])),
        (Warning, lambda: prediction_rejection_ratio([0, 1], [0, 1], [0.1, 0.2])),
    ],
    ids=["alien", "error_probe", "selective", "roc_auc", "prr"],
)
def test_warning_points_at_the_callers_line(category, call):
    for w in _caught(category, call):
        assert w.filename == __file__, f"{w.category.__name__} at {w.filename}"
