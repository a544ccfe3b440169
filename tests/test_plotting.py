# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Displays: the drawn data equals hand-computed curves and the metrics' arrays."""

import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from alien_sk.baselines import Entropy, Mahalanobis, MaxProb
from alien_sk.datasets import make_classifier_outputs
from alien_sk.metrics import aurc, expected_calibration_error, risk_coverage_curve
from alien_sk.plotting import ReliabilityDisplay, RiskCoverageDisplay

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Y_TRUE = np.array([0, 1, 1, 0])
Y_PRED = np.array([0, 1, 0, 1])  # rows 2 and 3 are wrong


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# -- matplotlib is optional ---------------------------------------------------
@pytest.mark.parametrize(
    "call, caller",
    [
        (
            lambda: RiskCoverageDisplay(coverage=[1.0], risk=[0.0]).plot(),
            "RiskCoverageDisplay.plot",
        ),
        (
            lambda: ReliabilityDisplay(accuracy=[1.0], confidence=[1.0]).plot(),
            "ReliabilityDisplay.plot",
        ),
        (
            lambda: RiskCoverageDisplay.from_predictions(Y_TRUE, Y_PRED, [0] * 4),
            "RiskCoverageDisplay.from_predictions",
        ),
        (
            lambda: ReliabilityDisplay.from_predictions(Y_TRUE, Y_PRED, [0] * 4),
            "ReliabilityDisplay.from_predictions",
        ),
    ],
)
def test_missing_matplotlib_names_the_extra(monkeypatch, call, caller):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import` now fails
    with pytest.raises(ImportError, match=r"pip install alien-sk\[plot\]") as info:
        call()
    assert str(info.value).startswith(f"{caller} requires matplotlib.")
    assert isinstance(info.value.__cause__, ImportError)


def test_missing_matplotlib_from_estimator(monkeypatch):
    X, y = make_classifier_outputs(n_samples=20, random_state=0)
    est = MaxProb().fit(X, y)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    for cls in (RiskCoverageDisplay, ReliabilityDisplay):
        with pytest.raises(ImportError, match=f"{cls.__name__}.from_estimator"):
            cls.from_estimator(est, X, y)


# -- risk-coverage ------------------------------------------------------------
def test_risk_coverage_draws_hand_computed_curve():
    # increasing uncertainty: errors (rows 2, 3) are the least certain
    u = [0.1, 0.2, 0.3, 0.4]
    disp = RiskCoverageDisplay.from_predictions(Y_TRUE, Y_PRED, u, name="m")
    np.testing.assert_allclose(disp.line_.get_xdata(), [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(disp.line_.get_ydata(), [0, 0, 1 / 3, 1 / 2])
    hand_aurc = (0 + 0 + 1 / 3 + 1 / 2) / 4
    assert disp.aurc == pytest.approx(hand_aurc)
    assert disp.line_.get_label() == f"m (AURC = {hand_aurc:.3f})"
    assert [t.get_text() for t in disp.ax_.get_legend().get_texts()] == [
        "m (AURC = 0.208)"
    ]
    assert disp.ax_.get_xlabel() == "Coverage"
    assert disp.figure_ is disp.ax_.figure


def test_risk_coverage_drawn_data_equals_metric_arrays_with_ties():
    X, y = make_classifier_outputs(n_samples=150, n_classes=3, random_state=1)
    y_pred = X[:, :3].argmax(axis=1)
    u = np.round(Entropy().fit(X, y).predict_uncertainty(X), 1)  # many ties
    w = np.random.RandomState(0).uniform(0.5, 2, size=150)
    disp = RiskCoverageDisplay.from_predictions(y, y_pred, u, sample_weight=w)
    coverage, risk, _ = risk_coverage_curve(y, y_pred, u, sample_weight=w)
    np.testing.assert_array_equal(disp.line_.get_xdata(), coverage)
    np.testing.assert_array_equal(disp.line_.get_ydata(), risk)
    assert disp.aurc == aurc(y, y_pred, u, sample_weight=w)
    assert disp.line_.get_label() == f"AURC = {disp.aurc:.3f}"


def test_risk_coverage_several_methods_on_one_axis():
    X, y = make_classifier_outputs(n_samples=200, entropy_signal=2.0, random_state=0)
    y_pred = X[:, :2].argmax(axis=1)
    _, ax = plt.subplots()
    shown = []
    for est in (Entropy(), MaxProb(), Mahalanobis()):
        est.fit(X, y)
        disp = RiskCoverageDisplay.from_estimator(est, X, y, ax=ax)
        assert disp.ax_ is ax
        u = est.predict_uncertainty(X)
        shown.append(f"{type(est).__name__} (AURC = {aurc(y, y_pred, u):.3f})")
        np.testing.assert_array_equal(
            disp.line_.get_ydata(), risk_coverage_curve(y, y_pred, u)[1]
        )
    assert len(ax.lines) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == shown


def test_risk_coverage_from_estimator_with_string_classes():
    X, y = make_classifier_outputs(n_samples=60, random_state=2)
    labels = np.array(["neg", "pos"])
    est = Entropy(classes=labels).fit(X, labels[y])
    disp = RiskCoverageDisplay.from_estimator(est, X, labels[y], name="ent")
    ref = RiskCoverageDisplay.from_predictions(
        y, X[:, :2].argmax(axis=1), est.predict_uncertainty(X)
    )
    np.testing.assert_array_equal(disp.line_.get_ydata(), ref.line_.get_ydata())
    assert disp.line_.get_label().startswith("ent (AURC")


def _double(X):
    return 2.0 * np.asarray(X, dtype=np.float64)


@pytest.mark.parametrize(
    "display, method",
    [(RiskCoverageDisplay, Mahalanobis), (ReliabilityDisplay, Entropy)],
)
def test_from_estimator_looks_through_a_pipeline(display, method):
    # labels from the final step's logits, scores on X transformed by the steps
    # before it (doubling changes both Mahalanobis distances and entropies)
    from sklearn.preprocessing import FunctionTransformer

    from alien_sk.pipeline import UncertaintyPipeline

    X, y = make_classifier_outputs(n_samples=80, random_state=3)
    pipe = UncertaintyPipeline(
        [("double", FunctionTransformer(_double)), ("u", method())]
    ).fit(X, y)
    u = method().fit(_double(X), y).predict_uncertainty(_double(X))
    disp = display.from_estimator(pipe, X, y)
    ref = display.from_predictions(y, X[:, :2].argmax(axis=1), u)
    np.testing.assert_allclose(disp.line_.get_ydata(), ref.line_.get_ydata())
    np.testing.assert_allclose(disp.line_.get_xdata(), ref.line_.get_xdata())


def test_risk_coverage_plot_kwargs_and_name_override():
    disp = RiskCoverageDisplay(coverage=[0.5, 1.0], risk=[0.0, 0.5], name="a")
    assert disp.plot(name="b", color="red", ls="--") is disp
    assert disp.line_.get_label() == "b"
    assert disp.line_.get_color() == "red"
    assert disp.line_.get_linestyle() == "--"
    # redrawing on the same axes adds a line
    disp.plot(ax=disp.ax_)
    assert len(disp.ax_.lines) == 2 and disp.line_.get_label() == "a"


def test_from_estimator_uses_predict_when_no_logits_layout():
    class Wrapper(BaseEstimator):
        def fit(self, X, y):
            self.clf_ = LogisticRegression().fit(X, y)
            return self

        def predict(self, X):
            return self.clf_.predict(X)

        def predict_uncertainty(self, X):
            return 1 - self.clf_.predict_proba(X).max(axis=1)

    rng = np.random.RandomState(0)
    X = rng.normal(size=(80, 3))
    y = (X[:, 0] + rng.normal(size=80) > 0).astype(int)
    est = Wrapper().fit(X, y)
    disp = RiskCoverageDisplay.from_estimator(est, X, y)
    coverage, risk, _ = risk_coverage_curve(
        y, est.predict(X), est.predict_uncertainty(X)
    )
    np.testing.assert_array_equal(disp.line_.get_ydata(), risk)
    assert disp.line_.get_label().startswith("Wrapper (AURC")


def test_from_estimator_errors():
    X, y = make_classifier_outputs(n_samples=20, random_state=0)
    with pytest.raises(NotFittedError):
        RiskCoverageDisplay.from_estimator(MaxProb(), X, y)
    with pytest.raises(TypeError, match="predict_uncertainty"):
        RiskCoverageDisplay.from_estimator(LogisticRegression().fit(X, y), X, y)


# -- reliability --------------------------------------------------------------
def test_reliability_draws_hand_computed_bins():
    # confidences 0.75 (both correct) and 0.25 (both wrong), 2 bins
    u = [0.25, 0.25, 0.75, 0.75]
    disp = ReliabilityDisplay.from_predictions(Y_TRUE, Y_PRED, u, n_bins=2, name="m")
    np.testing.assert_allclose(disp.line_.get_xdata(), [0.25, 0.75])
    np.testing.assert_allclose(disp.line_.get_ydata(), [0.0, 1.0])
    assert disp.ece == pytest.approx(0.25)  # |0 - .25| / 2 + |1 - .75| / 2
    assert disp.line_.get_label() == "m (ECE = 0.250)"
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert labels == ["Perfectly calibrated", "m (ECE = 0.250)"]


def test_reliability_inner_edge_falls_in_lower_bin():
    # confidence exactly 0.5 joins the lower bin [0, 0.5] with confidence 0.1
    u = [0.5, 0.9, 0.0, 0.0]
    disp = ReliabilityDisplay.from_predictions(Y_TRUE, Y_PRED, u, n_bins=2)
    # lower bin: rows 0 (conf .5, correct), 1 (conf .1, correct)
    # upper bin: rows 2, 3 (conf 1, both wrong)
    np.testing.assert_allclose(disp.line_.get_xdata(), [0.3, 1.0])
    np.testing.assert_allclose(disp.line_.get_ydata(), [1.0, 0.0])
    hand_ece = 0.5 * abs(1 - 0.3) + 0.5 * abs(0 - 1.0)
    assert disp.ece == pytest.approx(hand_ece)
    assert disp.ece == expected_calibration_error(Y_TRUE, Y_PRED, u, n_bins=2)


def test_reliability_points_are_calibration_curves_with_tied_confidences():
    from sklearn.calibration import calibration_curve

    u = np.array([3, 5, 6, 0, 6, 2, 6, 2, 6, 1]) / 6
    correct = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 1])
    y_true, y_pred = correct, np.ones(10, dtype=int)
    for strategy in ("uniform", "quantile"):
        disp = ReliabilityDisplay.from_predictions(
            y_true, y_pred, u, n_bins=3, strategy=strategy
        )
        acc, conf = calibration_curve(correct, 1 - u, n_bins=3, strategy=strategy)
        np.testing.assert_array_equal(disp.accuracy, acc)
        np.testing.assert_allclose(disp.confidence, conf, rtol=1e-15)
    # the legend's ECE is the one of the drawn bins (by hand: 0.55)
    assert disp.ece == pytest.approx(0.55, rel=1e-12)


def test_reliability_drawn_bins_reproduce_the_metric():
    X, y = make_classifier_outputs(n_samples=300, n_classes=3, random_state=0)
    y_pred = X[:, :3].argmax(axis=1)
    for strategy in ("uniform", "quantile"):
        est = MaxProb().fit(X, y)
        u = est.predict_uncertainty(X)
        disp = ReliabilityDisplay.from_estimator(
            est, X, y, n_bins=10, strategy=strategy
        )
        # per-bin weights recomputed by hand from the same binning
        conf = 1 - u
        if strategy == "uniform":
            edges = np.linspace(0, 1, 11)
        else:  # sklearn.calibration.calibration_curve's
            edges = np.percentile(conf, np.linspace(0, 1, 11) * 100)
        ids = np.searchsorted(edges[1:-1], conf)
        counts = np.bincount(ids, minlength=10)
        counts = counts[counts > 0]
        acc, mean_conf = disp.line_.get_ydata(), disp.line_.get_xdata()
        ece = (counts / 300 * np.abs(acc - mean_conf)).sum()
        assert disp.ece == pytest.approx(ece, abs=1e-12)
        assert disp.ece == expected_calibration_error(
            y, y_pred, u, n_bins=10, strategy=strategy
        )


def test_reliability_several_methods_share_one_reference_line():
    X, y = make_classifier_outputs(n_samples=200, random_state=0)
    disp = ReliabilityDisplay.from_estimator(MaxProb().fit(X, y), X, y)
    ReliabilityDisplay.from_estimator(Entropy().fit(X, y), X, y, ax=disp.ax_)
    labels = [line.get_label() for line in disp.ax_.lines]
    assert labels.count("Perfectly calibrated") == 1
    assert len(disp.ax_.get_legend().get_texts()) == 3


def test_reliability_without_reference_line_or_label():
    disp = ReliabilityDisplay(accuracy=[0.5], confidence=[0.6]).plot(ref_line=False)
    assert len(disp.ax_.lines) == 1
    assert disp.ax_.get_legend() is None


def test_reliability_rejects_unbounded_scores():
    X, y = make_classifier_outputs(n_samples=50, random_state=0)
    with pytest.raises(ValueError, match="Mahalanobis's scores are unbounded"):
        ReliabilityDisplay.from_estimator(Mahalanobis().fit(X, y), X, y)
    # also inside a pipeline, a frozen estimator or a SelectiveClassifier
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from alien_sk.selective import SelectiveClassifier

    wrapped = [
        make_pipeline(FunctionTransformer(), Mahalanobis()).fit(X, y),
        FrozenEstimator(Mahalanobis().fit(X, y)),
        SelectiveClassifier(Mahalanobis(), target_risk=0.5).fit(X, y),
    ]
    for est in wrapped:
        with pytest.raises(ValueError, match="Mahalanobis's scores are unbounded"):
            ReliabilityDisplay.from_estimator(est, X, y)
    with pytest.raises(ValueError, match="outside"):
        ReliabilityDisplay.from_predictions(Y_TRUE, Y_PRED, [0.1, 0.2, 1.5, 0.3])
