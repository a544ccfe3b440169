# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Uncertainty scorers: values equal the metrics computed by hand, and they work
in GridSearchCV (single scorer and a dict with refit)."""

import pickle
from numbers import Real

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.utils._param_validation import Interval, InvalidParameterError

from alien_sk._base import BaseUncertaintyEstimator
from alien_sk.datasets import make_classifier_outputs
from alien_sk.metrics import (
    UNCERTAINTY_SCORERS,
    augrc,
    aurc,
    e_aurc,
    expected_calibration_error,
    get_uncertainty_scorer,
    get_uncertainty_scorer_names,
    make_uncertainty_scorer,
    misclassification_roc_auc,
    prediction_rejection_ratio,
)


class MixUncertainty(BaseUncertaintyEstimator):
    """U = (1 - mix) * (1 - max softmax) + mix * expit(first embedding column)."""

    _parameter_constraints = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "mix": [Interval(Real, 0, 1, closed="both")],
    }
    _min_embedding_dim = 1

    def __init__(self, n_logits="auto", classes=None, mix=0.5):
        super().__init__(n_logits=n_logits, classes=classes)
        self.mix = mix

    def fit(self, X, y):
        self._validate_fit_data(X, y)
        return self

    def predict_uncertainty(self, X):
        X = self._validate_predict_data(X)
        return _hand_uncertainty(X, self.n_logits_, self.mix)


def _hand_uncertainty(X, n_logits, mix):
    z = np.asarray(X, dtype=np.float64)[:, :n_logits]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return (1 - mix) * (1 - p.max(axis=1)) + mix * expit(X[:, n_logits])


HAND_METRICS = {
    "misclassification_roc_auc": (misclassification_roc_auc, 1),
    "neg_aurc": (aurc, -1),
    "neg_e_aurc": (e_aurc, -1),
    "neg_augrc": (augrc, -1),
    "neg_ece": (expected_calibration_error, -1),
    "prr": (prediction_rejection_ratio, 1),
}


@pytest.fixture(scope="module")
def data():
    return make_classifier_outputs(
        n_samples=120, n_classes=3, n_embedding=2, error_rate=0.3, random_state=0
    )


def test_scorer_names():
    assert get_uncertainty_scorer_names() == sorted(HAND_METRICS)
    assert set(UNCERTAINTY_SCORERS) == set(HAND_METRICS)
    with pytest.raises(InvalidParameterError, match="name"):
        get_uncertainty_scorer("aurc")


@pytest.mark.parametrize("name", sorted(HAND_METRICS))
def test_named_scorer_equals_hand_metric(name, data):
    X, y = data
    est = MixUncertainty(mix=0.3).fit(X, y)
    y_pred = X[:, :3].argmax(axis=1)
    u = _hand_uncertainty(X, 3, 0.3)
    metric, sign = HAND_METRICS[name]
    expected = sign * metric(y, y_pred, u)
    assert get_uncertainty_scorer(name)(est, X, y) == pytest.approx(expected, rel=1e-12)


def test_scorer_kwargs_and_sample_weight(data):
    X, y = data
    est = MixUncertainty(mix=0.3).fit(X, y)
    y_pred = X[:, :3].argmax(axis=1)
    u = _hand_uncertainty(X, 3, 0.3)
    scorer = make_uncertainty_scorer(expected_calibration_error, n_bins=5)
    assert scorer(est, X, y) == pytest.approx(
        -expected_calibration_error(y, y_pred, u, n_bins=5)
    )
    w = np.linspace(0.1, 2, y.shape[0])
    assert get_uncertainty_scorer("neg_aurc")(
        est, X, y, sample_weight=w
    ) == pytest.approx(-aurc(y, y_pred, u, sample_weight=w))
    assert "n_bins=5" in repr(scorer)


def test_string_labels_map_through_classes(data):
    X, y = data
    names = np.array(["a", "b", "c"])
    est = MixUncertainty(classes=names, mix=0.5).fit(X, names[y])
    y_pred = names[X[:, :3].argmax(axis=1)]
    u = _hand_uncertainty(X, 3, 0.5)
    assert get_uncertainty_scorer("neg_aurc")(est, X, names[y]) == pytest.approx(
        -aurc(names[y], y_pred, u)
    )


def test_scorer_agrees_with_estimator_score(data):
    X, y = data
    est = MixUncertainty(mix=0.7).fit(X, y)
    scorer = get_uncertainty_scorer("misclassification_roc_auc")
    assert scorer(est, X, y) == pytest.approx(est.score(X, y))


class _FixedClassifier(BaseEstimator):
    """A 'fitted' classifier that predicts the label stored in column -1."""

    def predict(self, X):
        return np.asarray(X)[:, -1].astype(int)


class _PredictingUncertainty(BaseEstimator):
    """Has predict and predict_uncertainty but no logit layout."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.asarray(X)[:, -1].astype(int)

    def predict_uncertainty(self, X):
        return np.asarray(X)[:, 0]


class _MetaUncertainty(_PredictingUncertainty):
    """Holds a fitted base classifier in classifier_ and predicts something else."""

    def fit(self, X, y):
        self.classifier_ = _FixedClassifier()
        return self

    def predict(self, X):  # must be ignored: classifier_ comes first
        return np.zeros(len(X), dtype=int)


def _toy():
    # column 0: uncertainty; column -1: predicted label; y: true label
    X = np.array([[0.1, 0], [0.4, 1], [0.2, 1], [0.9, 0], [0.5, 1.0]])
    y = np.array([0, 1, 0, 1, 1])  # errors where X[:, -1] != y: rows 2, 3
    return X, y


def test_y_pred_sources():
    X, y = _toy()
    y_pred = X[:, -1].astype(int)
    expected = -aurc(y, y_pred, X[:, 0])
    scorer = get_uncertainty_scorer("neg_aurc")
    assert scorer(_PredictingUncertainty().fit(X, y), X, y) == pytest.approx(expected)
    assert scorer(_MetaUncertainty().fit(X, y), X, y) == pytest.approx(expected)
    # an explicit classifier wins over everything
    with_clf = make_uncertainty_scorer(aurc, classifier=_FixedClassifier())
    est = MixUncertainty(n_logits=2).fit(np.c_[X, X], y)
    u = est.predict_uncertainty(np.c_[X, X])
    assert with_clf(est, np.c_[X, X], y) == pytest.approx(-aurc(y, y_pred, u))


def test_scorer_errors():
    X, y = _toy()

    class NoPrediction(BaseEstimator):
        def predict_uncertainty(self, X):
            return np.asarray(X)[:, 0]

    with pytest.raises(ValueError, match="Cannot tell the classifier's predictions"):
        get_uncertainty_scorer("neg_aurc")(NoPrediction(), X, y)
    with pytest.raises(TypeError, match="has no predict_uncertainty"):
        get_uncertainty_scorer("neg_aurc")(_FixedClassifier(), X, y)

    def custom(y_true, y_pred, uncertainty):
        return float(np.mean(uncertainty))

    with pytest.raises(ValueError, match="greater_is_better"):
        make_uncertainty_scorer(custom)
    scorer = make_uncertainty_scorer(custom, greater_is_better=False)
    assert scorer(_PredictingUncertainty(), X, y) == pytest.approx(-X[:, 0].mean())
    with pytest.raises(InvalidParameterError, match="classifier"):
        make_uncertainty_scorer(aurc, classifier=object())


def test_scorers_pickle(data):
    X, y = data
    est = MixUncertainty().fit(X, y)
    for name, scorer in UNCERTAINTY_SCORERS.items():
        clone = pickle.loads(pickle.dumps(scorer))
        assert clone(est, X, y) == pytest.approx(scorer(est, X, y)), name


def test_grid_search_multimetric_refit(data):
    X, y = data
    cv = KFold(3, shuffle=True, random_state=0)
    grid = GridSearchCV(
        MixUncertainty(n_logits=3),
        {"mix": [0.0, 0.5, 1.0]},
        scoring=dict(UNCERTAINTY_SCORERS),
        refit="neg_aurc",
        cv=cv,
        error_score="raise",
    )
    grid.fit(X, y)
    # recompute every cell by hand
    for i, mix in enumerate([0.0, 0.5, 1.0]):
        for split, (_, test) in enumerate(cv.split(X, y)):
            y_pred = X[test, :3].argmax(axis=1)
            u = _hand_uncertainty(X[test], 3, mix)
            for name, (metric, sign) in HAND_METRICS.items():
                got = grid.cv_results_[f"split{split}_test_{name}"][i]
                assert got == pytest.approx(sign * metric(y[test], y_pred, u))
    best = int(np.argmax(grid.cv_results_["mean_test_neg_aurc"]))
    assert grid.best_index_ == best
    assert grid.best_params_ == {"mix": [0.0, 0.5, 1.0][best]}
    # the errors of make_classifier_outputs follow embedding column 0
    assert grid.best_params_ == {"mix": 1.0}


def test_single_scorer_in_cross_val_score(data):
    X, y = data
    scores = cross_val_score(
        MixUncertainty(n_logits=3, mix=1.0),
        X,
        y,
        scoring=get_uncertainty_scorer("prr"),
        cv=3,
    )
    assert scores.shape == (3,)
    assert np.all(scores > 0)


def _shift_logits(X):
    """A transformer step: shifts every logit by 5 (argmax and scores unchanged)."""
    X = np.array(X, dtype=np.float64)
    X[:, :3] += 5.0
    return X


def test_scorer_looks_through_a_pipeline(data):
    # the pipeline has no n_logits_/classes_/predict of its own: the labels
    # come from its final step, on X transformed by the steps before it
    from sklearn.preprocessing import FunctionTransformer

    from alien_sk.pipeline import UncertaintyPipeline

    X, y = data
    pipe = UncertaintyPipeline(
        [("shift", FunctionTransformer(_shift_logits)), ("u", MixUncertainty(mix=0.3))]
    ).fit(X, y)
    y_pred = X[:, :3].argmax(axis=1)
    u = _hand_uncertainty(X, 3, 0.3)
    for name, (metric, sign) in HAND_METRICS.items():
        expected = sign * metric(y, y_pred, u)
        assert get_uncertainty_scorer(name)(pipe, X, y) == pytest.approx(expected)
    search = GridSearchCV(
        pipe,
        {"u__mix": [0.1, 0.9]},
        scoring=get_uncertainty_scorer("neg_aurc"),
        cv=KFold(3),
    ).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_scorer_rejects_sample_weight_the_metric_cannot_take(data):
    X, y = data
    est = MixUncertainty(mix=0.3).fit(X, y)
    with pytest.raises(TypeError, match="does not take sample_weight"):
        get_uncertainty_scorer("neg_ece")(est, X, y, sample_weight=np.ones(len(y)))


def test_estimator_score_ranks_infinite_uncertainties(data):
    # score() must agree with misclassification_roc_auc, which ranks +inf last
    X, y = data

    class Unbounded(MixUncertainty):
        def predict_uncertainty(self, X):
            u = super().predict_uncertainty(X)
            u[:5] = np.inf
            return u

    est = Unbounded(mix=0.3).fit(X, y)
    u = _hand_uncertainty(X, 3, 0.3)
    u[:5] = u.max() + 1.0  # same order, finite
    errors = X[:, :3].argmax(axis=1) != y
    from sklearn.metrics import roc_auc_score

    assert est.score(X, y) == pytest.approx(roc_auc_score(errors, u))
    w = np.r_[np.zeros(5), np.ones(len(y) - 5)]
    assert est.score(X, y, sample_weight=w) == pytest.approx(
        roc_auc_score(errors[5:], u[5:])
    )


def test_scorer_passes_sample_weight_to_a_metric_with_kwargs(data):
    X, y = data
    est = MixUncertainty(mix=0.3).fit(X, y)
    seen = {}

    def weighted_mean(y_true, y_pred, uncertainty, **kwargs):
        seen.update(kwargs)
        return float(np.average(uncertainty, weights=kwargs.get("sample_weight")))

    scorer = make_uncertainty_scorer(weighted_mean, greater_is_better=False)
    w = np.linspace(0.1, 2, len(y))
    u = _hand_uncertainty(X, 3, 0.3)
    assert scorer(est, X, y, sample_weight=w) == pytest.approx(
        -np.average(u, weights=w)
    )
    assert seen["sample_weight"] is w


def test_scorer_unwraps_one_step_and_frozen_pipelines(data):
    from sklearn.frozen import FrozenEstimator

    from alien_sk.pipeline import make_uncertainty_pipeline

    X, y = data
    y_pred = X[:, :3].argmax(axis=1)
    expected = -aurc(y, y_pred, _hand_uncertainty(X, 3, 0.3))
    one_step = make_uncertainty_pipeline(MixUncertainty(mix=0.3)).fit(X, y)
    scorer = get_uncertainty_scorer("neg_aurc")
    assert scorer(one_step, X, y) == pytest.approx(expected)
    assert scorer(FrozenEstimator(one_step), X, y) == pytest.approx(expected)


def test_scorer_takes_sample_weight_through_metadata_routing():
    import sklearn
    from sklearn.model_selection import cross_validate

    from alien_sk.baselines import Entropy
    from alien_sk.metrics import expected_calibration_error

    X, y = make_classifier_outputs(n_samples=300, random_state=0)
    w = np.random.default_rng(0).random(300)
    cv = KFold(3)
    # reference: the weighted metric on each test fold, by hand
    ref = []
    for tr, te in cv.split(X):
        est = Entropy().fit(X[tr], y[tr])
        ref.append(
            misclassification_roc_auc(
                y[te],
                X[te, :2].argmax(axis=1),
                est.predict_uncertainty(X[te]),
                sample_weight=w[te],
            )
        )
    scorer = make_uncertainty_scorer(misclassification_roc_auc)
    with pytest.raises(RuntimeError, match="metadata routing is enabled"):
        scorer.set_score_request(sample_weight=True)
    with sklearn.config_context(enable_metadata_routing=True):
        scorer.set_score_request(sample_weight=True)
        res = cross_validate(
            Entropy(), X, y, scoring=scorer, params={"sample_weight": w}, cv=cv
        )
        np.testing.assert_allclose(res["test_score"], ref, rtol=1e-12)
        search = GridSearchCV(Entropy(), {"n_logits": [2]}, scoring=scorer, cv=cv)
        search.fit(X, y, sample_weight=w)
        assert search.best_score_ == pytest.approx(np.mean(ref), rel=1e-12)
        # not requested: cross_validate refuses unrouted metadata
        with pytest.raises(TypeError, match="not routed"):
            cross_validate(
                Entropy(),
                X,
                y,
                scoring=make_uncertainty_scorer(misclassification_roc_auc),
                params={"sample_weight": w},
                cv=cv,
            )
        with pytest.raises(TypeError, match="does not take sample_weight"):
            make_uncertainty_scorer(expected_calibration_error).set_score_request(
                sample_weight=True
            )


def test_named_scorers_are_fresh_objects(data):
    # a metadata request set on one caller's scorer leaked into every later
    # use of that name (the shared module-level object was returned)
    from sklearn import config_context
    from sklearn.model_selection import cross_validate

    X, y = data
    w = np.linspace(0.5, 2.0, y.shape[0])
    a, b = get_uncertainty_scorer("neg_aurc"), get_uncertainty_scorer("neg_aurc")
    assert a is not b and a is not UNCERTAINTY_SCORERS["neg_aurc"]
    with config_context(enable_metadata_routing=True):
        get_uncertainty_scorer("neg_aurc").set_score_request(sample_weight=True)
        with pytest.raises(TypeError, match="sample_weight"):
            cross_validate(
                MixUncertainty(mix=0.3),
                X,
                y,
                cv=3,
                scoring=get_uncertainty_scorer("neg_aurc"),
                params={"sample_weight": w},
            )
