# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Reference checks of the shared estimator base and of the uncertainty scorers.

Label handling (bool, non-integer float, negative and column-vector labels),
the row/length checks of ``score``, the float32 logit-range check, and the
scorer's explicit classifier, frozen pipelines with transformers and metadata
requests, each against sklearn or a hand computation.
"""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold, cross_validate
from sklearn.preprocessing import FunctionTransformer

from alien_sk.baselines import MaxProb
from alien_sk.datasets import make_classifier_outputs
from alien_sk.metrics import (
    aurc,
    expected_calibration_error,
    make_uncertainty_scorer,
    misclassification_roc_auc,
)
from alien_sk.pipeline import UncertaintyPipeline

# two logits and one embedding column; predictions argmax = [0, 1, 0, 1, 0, 1]
X = np.array(
    [
        [2.0, 0.0, 1.0],
        [0.0, 1.0, 1.0],
        [1.0, 0.5, 0.0],
        [0.0, 3.0, 1.0],
        [0.2, 0.1, 0.0],
        [0.3, 0.9, 0.5],
    ]
)
Y = np.array([0, 0, 1, 1, 0, 0])  # errors at rows 1, 2, 5


def _max_prob_uncertainty(X):
    z = X[:, :2]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return 1.0 - (p / p.sum(axis=1, keepdims=True)).max(axis=1)


def test_bool_labels_index_the_logits():
    y = Y.astype(bool)
    est = MaxProb().fit(X, y)
    np.testing.assert_array_equal(est.classes_, [0, 1])
    errors = X[:, :2].argmax(axis=1) != Y
    assert est.score(X, y) == pytest.approx(
        roc_auc_score(errors, _max_prob_uncertainty(X))
    )


def test_non_integer_float_label_is_named_with_its_row():
    y = Y.astype(np.float64)
    y[3] = 1.5
    with pytest.raises(
        ValueError, match=r"non-integer labels \(e\.g\. .*1\.5.* at row 3"
    ):
        MaxProb().fit(X, y)


def test_infinite_label_at_score_is_named_with_its_row():
    est = MaxProb().fit(X, Y)
    y = Y.astype(np.float64)
    y[4] = np.inf
    with pytest.raises(
        ValueError, match=r"non-integer labels \(e\.g\. .*inf.* at row 4"
    ):
        est.score(X, y)


def test_negative_label_is_refused_with_its_row():
    y = Y.copy()
    y[2] = -1
    with pytest.raises(ValueError, match=r"label -1 at row 2 is outside \[0, 2\)"):
        MaxProb(n_logits=2).fit(X, y)
    est = MaxProb().fit(X, Y)
    with pytest.raises(ValueError, match=r"label -1 at row 2 is outside \[0, 2\)"):
        est.score(X, y)


@pytest.mark.parametrize("n_labels", [1, 5])
def test_score_refuses_y_of_another_length(n_labels):
    est = MaxProb().fit(X, Y)
    with pytest.raises(ValueError, match=f"X has 6 rows but y has {n_labels} labels"):
        est.score(X, Y[:n_labels])


def test_score_accepts_a_column_vector_y():
    est = MaxProb().fit(X, Y)
    errors = X[:, :2].argmax(axis=1) != Y
    expected = roc_auc_score(errors, _max_prob_uncertainty(X))
    assert est.score(X, Y[:, None]) == pytest.approx(expected)


def test_score_forwards_sample_weight():
    est = MaxProb().fit(X, Y)
    errors = X[:, :2].argmax(axis=1) != Y
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.0, 0.25])
    expected = roc_auc_score(errors, _max_prob_uncertainty(X), sample_weight=w)
    assert est.score(X, Y, sample_weight=w) == pytest.approx(expected)
    assert expected != pytest.approx(roc_auc_score(errors, _max_prob_uncertainty(X)))


def test_float32_logits_whose_spread_fits_float64_are_accepted():
    # max - min = 6e38 overflows float32 but not float64: softmax is defined
    X32 = np.array([[3e38, -3e38], [-3e38, 3e38], [1.0, 0.0], [0.0, 1.0]], np.float32)
    y = np.array([0, 0, 1, 1])  # errors at rows 1 and 2
    est = MaxProb().fit(X32, y)
    u = est.predict_uncertainty(X32)
    assert np.all(np.isfinite(u))
    assert est.score(X32, y) == pytest.approx(roc_auc_score([0, 1, 1, 0], u))


class _ColumnTwoClassifier(BaseEstimator):
    """A 'fitted' classifier that predicts the label stored in column 2."""

    def predict(self, X):
        return np.asarray(X)[:, 2].astype(int)


def test_explicit_classifier_overrides_the_logits():
    est = MaxProb().fit(X, Y)
    u = _max_prob_uncertainty(X)
    y_pred = X[:, 2].astype(int)
    assert not np.array_equal(y_pred, X[:, :2].argmax(axis=1))
    scorer = make_uncertainty_scorer(aurc, classifier=_ColumnTwoClassifier())
    assert scorer(est, X, Y) == pytest.approx(-aurc(Y, y_pred, u))


def _swap_logits(X):
    return np.asarray(X)[:, [1, 0, 2]]


def test_frozen_pipeline_runs_its_transformers():
    pipe = UncertaintyPipeline(
        [("swap", FunctionTransformer(_swap_logits)), ("u", MaxProb())]
    ).fit(X, Y)
    Xs = _swap_logits(X)
    expected = misclassification_roc_auc(
        Y, Xs[:, :2].argmax(axis=1), _max_prob_uncertainty(Xs)
    )
    scorer = make_uncertainty_scorer(misclassification_roc_auc)
    assert scorer(pipe, X, Y) == pytest.approx(expected)
    assert scorer(FrozenEstimator(pipe), X, Y) == pytest.approx(expected)


def test_set_score_request_false_is_allowed_for_unweighted_metrics():
    scorer = make_uncertainty_scorer(expected_calibration_error)
    with sklearn.config_context(enable_metadata_routing=True):
        assert scorer.set_score_request(sample_weight=False) is scorer
        assert scorer.get_metadata_routing().score.requests == {"sample_weight": False}


def test_set_score_request_alias_routes_the_aliased_weights():
    Xd, yd = make_classifier_outputs(n_samples=120, random_state=0)
    w = np.random.default_rng(0).random(120)
    cv = KFold(2)
    ref = [
        misclassification_roc_auc(
            yd[te],
            Xd[te, :2].argmax(axis=1),
            MaxProb().fit(Xd[tr], yd[tr]).predict_uncertainty(Xd[te]),
            sample_weight=w[te],
        )
        for tr, te in cv.split(Xd)
    ]
    scorer = make_uncertainty_scorer(misclassification_roc_auc)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sample_weight="test_weight")
        res = cross_validate(
            MaxProb(), Xd, yd, scoring=scorer, params={"test_weight": w}, cv=cv
        )
    np.testing.assert_allclose(res["test_score"], ref, rtol=1e-12)


def test_scorer_repr_names_the_direction():
    assert repr(make_uncertainty_scorer(aurc)) == (
        "make_uncertainty_scorer(aurc, greater_is_better=False)"
    )
    assert repr(make_uncertainty_scorer(misclassification_roc_auc)) == (
        "make_uncertainty_scorer(misclassification_roc_auc)"
    )


class _CountingSwap(FunctionTransformer):
    """Swaps the two logits and counts its transform calls."""

    def __init__(self):
        super().__init__(_swap_logits)

    def transform(self, X):
        self.n_calls_ = getattr(self, "n_calls_", 0) + 1
        return super().transform(X)


def test_frozen_pipeline_transformers_run_once_per_score():
    pipe = UncertaintyPipeline([("swap", _CountingSwap()), ("u", MaxProb())])
    pipe.fit(X, Y)
    step = pipe.named_steps["swap"]
    step.n_calls_ = 0
    make_uncertainty_scorer(misclassification_roc_auc)(FrozenEstimator(pipe), X, Y)
    assert step.n_calls_ == 1


def test_logit_range_check_ignores_the_embedding():
    # the embedding of every row spans 3e308 (beyond float64), the logits do not
    Xe = np.c_[X[:, :2], np.tile([1.5e308, -1.5e308], (len(X), 1))]
    errors = X[:, :2].argmax(axis=1) != Y
    # sklearn's finiteness pre-check sums X, which overflows here
    with np.errstate(over="ignore", invalid="ignore"):
        score = MaxProb().fit(Xe, Y).score(Xe, Y)
    assert score == pytest.approx(roc_auc_score(errors, _max_prob_uncertainty(X)))


class _ClassesButNoLogits(BaseEstimator):
    """A classifier-like uncertainty estimator: classes_ and predict, no n_logits_."""

    classes_ = np.array([0, 1])

    def predict(self, X):
        return np.asarray(X)[:, 2].astype(int)

    def predict_uncertainty(self, X):
        return np.asarray(X)[:, 0]


def test_estimator_without_n_logits_predicts_with_predict():
    scorer = make_uncertainty_scorer(aurc)
    expected = -aurc(Y, X[:, 2].astype(int), X[:, 0])
    assert scorer(_ClassesButNoLogits(), X, Y) == pytest.approx(expected)


@pytest.mark.parametrize("n_columns", [2, 3])
def test_negative_label_with_auto_n_logits_is_named(n_columns):
    # before: "X has 2 columns but must hold at least 3" (the -1 counted as a
    # class), or "outside [0, 3)" on a wider X; the label and its row are named
    X = np.c_[np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.0, 3.0]]), np.ones(4)]
    y = np.array([0, 1, -1, 1])
    with pytest.raises(ValueError, match=r"^label -1 at row 2 is negative"):
        MaxProb().fit(X[:, :n_columns], y)


def test_non_integer_label_message_shows_the_plain_value():
    X = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5]])
    with pytest.raises(ValueError, match=r"e\.g\. 1\.5 at row 1\)"):
        MaxProb().fit(X, np.array([0.0, 1.5, 1.0]))
