# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Selective prediction: threshold choice, finite-sample correction, abstention."""

import numpy as np
import pytest
from scipy.stats import binom
from sklearn.utils._param_validation import InvalidParameterError

from alien_sk.selective import (
    SelectiveClassifier,
    SelectiveThreshold,
    abstain_mask,
    clopper_pearson_upper_bound,
    select_threshold,
)


def _labels(errors):
    errors = np.asarray(errors, dtype=bool)
    return np.zeros(errors.shape[0], dtype=int), errors.astype(int)


def _risk_at(errors, u, t):
    """Error rate among samples with u <= t, by a plain loop."""
    acc = [e for e, v in zip(errors, u, strict=True) if v <= t]
    return sum(acc) / len(acc), len(acc)


def _random_problem(seed, n=300):
    rng = np.random.default_rng(seed)
    u = np.round(rng.random(n), 2)  # ties
    errors = rng.random(n) < 0.5 * u
    return errors, u


# -- Clopper-Pearson -----------------------------------------------------------------
def test_clopper_pearson_closed_forms():
    # k = 0: P(0 errors) = (1 - p)^n = 1 - confidence -> p = 1 - alpha^(1/n)
    for n in (1, 5, 40):
        assert clopper_pearson_upper_bound(0, n, confidence=0.95) == pytest.approx(
            1 - 0.05 ** (1 / n)
        )
    # k = n: bound is 1
    assert clopper_pearson_upper_bound(7, 7) == 1.0


@pytest.mark.parametrize("k, n", [(1, 10), (3, 20), (10, 50), (49, 50)])
def test_clopper_pearson_solves_the_binomial_tail(k, n):
    # the bound p satisfies P(X <= k | n, p) = 1 - confidence
    p = clopper_pearson_upper_bound(k, n, confidence=0.9)
    assert binom.cdf(k, n, p) == pytest.approx(0.1, rel=1e-8)
    assert p > k / n


def test_clopper_pearson_vectorised_and_invalid():
    got = clopper_pearson_upper_bound(np.array([0, 2, 5]), np.array([5, 5, 5]))
    assert got.shape == (3,)
    assert got[2] == 1.0
    assert got[0] == pytest.approx(1 - 0.1 ** (1 / 5))
    with pytest.raises(ValueError, match="n_errors <= n_samples"):
        clopper_pearson_upper_bound(6, 5)
    with pytest.raises(InvalidParameterError, match="confidence"):
        clopper_pearson_upper_bound(1, 5, confidence=1.0)


# -- threshold selection --------------------------------------------------------------
def test_select_threshold_by_hand():
    # by increasing uncertainty errors are 0, 0, 1, 0, 1: risks 0, 0, 1/3, 1/4, 2/5
    y_true, y_pred = _labels([0, 1, 0, 0, 1])
    u = np.array([0.1, 0.3, 0.2, 0.4, 0.5])
    sel = select_threshold(y_true, y_pred, u, target_risk=0.3)
    assert isinstance(sel, SelectiveThreshold)
    assert (sel.threshold, sel.coverage, sel.n_accepted, sel.n_errors) == (
        0.4,
        0.8,
        4,
        1,
    )
    assert sel.risk == pytest.approx(0.25)
    assert sel.risk_upper_bound is None
    # risk at 0.3 (1/3) > 0.25 but a larger threshold still qualifies: the
    # largest qualifying threshold wins
    sel = select_threshold(y_true, y_pred, u, target_risk=0.25)
    assert sel.threshold == 0.4
    sel = select_threshold(y_true, y_pred, u, target_risk=0.2)
    assert (sel.threshold, sel.coverage, sel.risk) == (0.2, 0.4, 0.0)
    assert select_threshold(y_true, y_pred, u, target_risk=1.0).coverage == 1.0


def test_ties_are_accepted_together():
    # tie at 0.2 holds one correct and one wrong sample: cannot split it
    y_true, y_pred = _labels([0, 0, 1, 0])
    u = np.array([0.1, 0.2, 0.2, 0.3])
    sel = select_threshold(y_true, y_pred, u, target_risk=0.0)
    assert (sel.threshold, sel.n_accepted) == (0.1, 1)
    sel = select_threshold(y_true, y_pred, u, target_risk=1 / 3)
    assert (sel.threshold, sel.n_accepted, sel.risk) == (0.3, 4, 0.25)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("target", [0.05, 0.1, 0.2])
def test_threshold_meets_target_and_is_largest(seed, target):
    errors, u = _random_problem(seed)
    y_true, y_pred = _labels(errors)
    sel = select_threshold(y_true, y_pred, u, target_risk=target)
    risk, n_acc = _risk_at(errors, u, sel.threshold)
    assert risk <= target
    assert risk == pytest.approx(sel.risk)
    assert n_acc == sel.n_accepted
    assert sel.coverage == pytest.approx(n_acc / len(u))
    # every larger calibration value breaks the target
    for t in np.unique(u[u > sel.threshold]):
        assert _risk_at(errors, u, t)[0] > target
    # the abstain mask on the calibration data reproduces the coverage
    assert (~sel.abstain(u)).mean() == pytest.approx(sel.coverage)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("target", [0.05, 0.1, 0.2])
def test_corrected_threshold_is_never_looser(seed, target):
    errors, u = _random_problem(seed)
    y_true, y_pred = _labels(errors)
    emp = select_threshold(y_true, y_pred, u, target_risk=target)
    try:
        cor = select_threshold(
            y_true, y_pred, u, target_risk=target, correction="clopper-pearson"
        )
    except ValueError:
        return  # unreachable with the correction: nothing to compare
    assert cor.threshold <= emp.threshold
    assert cor.coverage <= emp.coverage
    assert cor.risk <= cor.risk_upper_bound <= target
    # the bound is the Bonferroni Clopper-Pearson one over the distinct values
    m = np.unique(u).shape[0]
    assert cor.risk_upper_bound == pytest.approx(
        clopper_pearson_upper_bound(
            cor.n_errors, cor.n_accepted, confidence=1 - 0.1 / m
        )
    )


def test_correction_guarantee_on_fixed_grid():
    # error probability 0.5 * u with u ~ U(0, 1): the true selective risk at t
    # is 0.25 * t, so the target 0.1 is met exactly for t <= 0.4. With a fixed
    # grid the corrected choice exceeds 0.4 with probability <= delta.
    rng = np.random.default_rng(0)
    grid = np.linspace(0.05, 1, 20)
    n_trials, delta = 200, 0.1
    too_loose_cor = too_loose_emp = unreachable = 0
    for _ in range(n_trials):
        u = rng.random(2000)
        errors = rng.random(2000) < 0.5 * u
        y_true, y_pred = _labels(errors)
        emp = select_threshold(y_true, y_pred, u, target_risk=0.1, candidates=grid)
        too_loose_emp += emp.threshold > 0.4 + 1e-9
        try:
            cor = select_threshold(
                y_true,
                y_pred,
                u,
                target_risk=0.1,
                correction="clopper-pearson",
                delta=delta,
                candidates=grid,
            )
        except ValueError:
            unreachable += 1
            continue
        too_loose_cor += cor.threshold > 0.4 + 1e-9
    assert unreachable == 0  # the test is not vacuous
    assert too_loose_cor / n_trials <= delta
    # without correction the target is broken on new data much more often
    # (about 10% of the calibration draws here, versus none corrected)
    assert too_loose_emp >= 10
    assert too_loose_emp > too_loose_cor


def test_unreachable_target_raises():
    y_true, y_pred = _labels([1, 0, 1])
    u = np.array([0.1, 0.2, 0.3])  # the most certain sample is wrong
    with pytest.raises(ValueError, match=r"target_risk=0.2 is unreachable.*lowest is"):
        select_threshold(y_true, y_pred, u, target_risk=0.2)
    # reachable empirically (0 errors in 2) but not with the correction
    y_true, y_pred = _labels([0, 0, 1])
    assert select_threshold(y_true, y_pred, u, target_risk=0.0).threshold == 0.2
    with pytest.raises(ValueError, match="Clopper-Pearson.*more calibration samples"):
        select_threshold(
            y_true, y_pred, u, target_risk=0.1, correction="clopper-pearson"
        )


def test_candidates():
    y_true, y_pred = _labels([0, 0, 1, 0])
    u = np.array([0.1, 0.2, 0.3, 0.4])
    sel = select_threshold(
        y_true, y_pred, u, target_risk=0.0, candidates=[0.05, 0.15, 0.25, 0.35]
    )
    assert (sel.threshold, sel.n_accepted) == (0.25, 2)
    with pytest.raises(ValueError, match="accepts any calibration sample"):
        select_threshold(y_true, y_pred, u, target_risk=0.5, candidates=[0.0])
    with pytest.raises(ValueError, match="candidates must be"):
        select_threshold(y_true, y_pred, u, target_risk=0.5, candidates=[])


def test_input_validation():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        select_threshold([0, 1], [0, 1, 1], [0.1, 0.2], target_risk=0.1)
    with pytest.raises(ValueError, match="uncertainty contains NaN"):
        select_threshold([0, 1], [0, 1], [0.1, np.nan], target_risk=0.1)
    with pytest.raises(InvalidParameterError, match="target_risk"):
        select_threshold([0, 1], [0, 1], [0.1, 0.2], target_risk=1.5)
    with pytest.raises(InvalidParameterError, match="correction"):
        select_threshold([0, 1], [0, 1], [0.1, 0.2], target_risk=0.1, correction="x")


def test_abstain_mask():
    assert abstain_mask(np.array([0.2, 0.2, 0.3]), 0.2).tolist() == [False, False, True]
    with pytest.raises(ValueError, match="1d array"):
        abstain_mask([[0.1]], 0.5)
    with pytest.raises(ValueError, match=r"NaN \(first at row 1\)"):
        abstain_mask([0.1, np.nan], 0.5)


# -- SelectiveClassifier -------------------------------------------------------------
def _max_prob_uncertainty(X, n_logits):
    z = np.asarray(X, dtype=np.float64)[:, :n_logits]
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return 1 - (p / p.sum(axis=1, keepdims=True)).max(axis=1)


@pytest.fixture(scope="module")
def outputs():
    from alien_sk.datasets import make_classifier_outputs

    return make_classifier_outputs(
        n_samples=400, n_classes=3, n_embedding=2, entropy_signal=2.0, random_state=0
    )


def test_selective_classifier_calibrates_on_held_out_part(outputs):
    from sklearn.model_selection import train_test_split

    X, y = outputs
    clf = SelectiveClassifier(target_risk=0.1, calibration_size=0.4, random_state=3)
    clf.fit(X, y)
    _, X_cal, _, y_cal = train_test_split(
        X, y, test_size=0.4, random_state=3, stratify=y
    )
    u = _max_prob_uncertainty(X_cal, 3)
    expected = select_threshold(y_cal, X_cal[:, :3].argmax(axis=1), u, target_risk=0.1)
    assert clf.threshold_ == pytest.approx(expected.threshold)
    assert clf.coverage_ == expected.coverage
    assert clf.risk_ <= 0.1
    # the target is met on the calibration data by the abstain mask
    answered = ~clf.predict_abstain(X_cal)
    assert answered.mean() == pytest.approx(clf.coverage_)
    assert np.mean(clf.predict(X_cal)[answered] != y_cal[answered]) <= 0.1
    assert np.array_equal(clf.predict(X), X[:, :3].argmax(axis=1))
    assert np.allclose(clf.predict_uncertainty(X), _max_prob_uncertainty(X, 3))
    assert clf.score(X, y) == pytest.approx(clf.estimator_.score(X, y))


def test_selective_classifier_frozen_uses_all_data(outputs):
    from sklearn.frozen import FrozenEstimator

    from alien_sk.baselines import MaxProb

    X, y = outputs
    base = MaxProb(n_logits=3).fit(X[:50], y[:50])
    clf = SelectiveClassifier(FrozenEstimator(base), target_risk=0.15).fit(X, y)
    expected = select_threshold(
        y, X[:, :3].argmax(axis=1), _max_prob_uncertainty(X, 3), target_risk=0.15
    )
    assert clf.threshold_ == pytest.approx(expected.threshold)
    assert clf.selection_.n_accepted == expected.n_accepted
    corrected = SelectiveClassifier(
        FrozenEstimator(base), target_risk=0.15, correction="clopper-pearson"
    ).fit(X, y)
    assert corrected.threshold_ <= clf.threshold_
    assert corrected.selection_.risk_upper_bound <= 0.15


def test_selective_classifier_string_labels(outputs):
    from alien_sk.baselines import MaxProb

    X, y = outputs
    names = np.array(["a", "b", "c"])
    clf = SelectiveClassifier(MaxProb(classes=names), random_state=0).fit(X, names[y])
    assert np.array_equal(clf.classes_, names)
    assert np.array_equal(clf.predict(X), names[X[:, :3].argmax(axis=1)])


def test_selective_classifier_unreachable_target_abstains(outputs):
    from alien_sk.exceptions import TargetRiskWarning

    X, y = outputs
    X = X.copy()
    X[:, :3] = 0.0  # all logits tied: constant uncertainty, ~1/3 accuracy
    clf = SelectiveClassifier(target_risk=0.05, random_state=0)
    with pytest.warns(TargetRiskWarning, match="unreachable.*abstain on every"):
        clf.fit(X, y)
    assert clf.threshold_ == -np.inf
    assert clf.coverage_ == 0.0
    assert clf.selection_ is None
    assert clf.predict_abstain(X).all()


def test_selective_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; import alien_sk.selective; "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n_top", [1, 4])
def test_selective_classifier_keeps_every_logit_when_a_class_is_rare(n_top):
    # the top class is rare: the fit part of the split may miss it (n_top=1
    # always does for one of the halves); n_logits must still count it
    rng = np.random.default_rng(0)
    n = 200
    y = rng.integers(0, 2, n)
    y[:n_top] = 2
    logits = rng.normal(size=(n, 3))
    logits[np.arange(n), y] += 3
    X = np.hstack([logits, rng.normal(size=(n, 2))])
    for seed in range(5):
        clf = SelectiveClassifier(target_risk=0.2, random_state=seed).fit(X, y)
        assert clf.estimator_.n_logits_ == 3
        np.testing.assert_array_equal(clf.predict(X), logits.argmax(axis=1))
        np.testing.assert_allclose(
            clf.predict_uncertainty(X), _max_prob_uncertainty(X, 3)
        )


def test_corrected_threshold_never_looser_with_a_large_delta():
    # one candidate and delta > 1/2: the bound's confidence is below 1/2, so
    # it lies under the empirical risk 0.3 > target; nothing may be accepted
    with pytest.raises(ValueError, match="unreachable"):
        select_threshold(
            np.zeros(10, int),
            [1, 1, 1] + [0] * 7,
            np.zeros(10),
            target_risk=0.25,
            correction="clopper-pearson",
            delta=0.9,
        )


def test_nan_threshold_is_refused():
    from alien_sk.selective import SelectiveThreshold, abstain_mask

    with pytest.raises(ValueError, match="threshold is NaN"):
        abstain_mask([0.1, 0.2], float("nan"))
    sel = SelectiveThreshold(
        threshold=float("nan"),
        coverage=1.0,
        risk=0.0,
        risk_upper_bound=None,
        n_accepted=2,
        n_errors=0,
        target_risk=0.1,
        correction=None,
        delta=0.1,
    )
    with pytest.raises(ValueError, match="threshold is NaN"):
        sel.abstain([0.1, 0.2])


@pytest.mark.parametrize("random_state", range(4))
def test_selective_classifier_refuses_unknown_labels_naming_the_users_row(
    outputs, random_state
):
    # a bad label in the calibration part counted as a plain misclassification
    # (fit passed, on invalid data); in the fit part, the inner estimator's
    # message named a row of the shuffled part
    from alien_sk.baselines import MaxProb

    X, y = outputs
    y_bad = y.copy()
    y_bad[359] = 7
    clf = SelectiveClassifier(MaxProb(n_logits=3), random_state=random_state)
    with pytest.raises(ValueError, match=r"label 7 at row 359 is outside \[0, 3\)"):
        clf.fit(X, y_bad)
    names = np.array(["neg", "neu", "pos"], dtype=object)
    y_str = names[y]
    y_str[359] = "typo"
    clf = SelectiveClassifier(MaxProb(classes=names), random_state=random_state)
    with pytest.raises(ValueError, match=r"\['typo'\] \(first at row 359\)"):
        clf.fit(X, y_str)
    # a Pipeline's last step checks the labels on all rows too
    from sklearn.preprocessing import FunctionTransformer

    from alien_sk.pipeline import UncertaintyPipeline

    pipe = UncertaintyPipeline(
        [("identity", FunctionTransformer()), ("maxprob", MaxProb(n_logits=3))]
    )
    with pytest.raises(ValueError, match="label 7 at row 359"):
        SelectiveClassifier(pipe, random_state=random_state).fit(X, y_bad)
    # and the logit range is checked on all rows, with the user's row number
    X_big = X.astype(np.float64)
    X_big[359, :2] = [1e308, -1e308]
    with pytest.raises(ValueError, match="logits of row 359 span"):
        SelectiveClassifier(random_state=random_state).fit(X_big, y)


def test_selective_classifier_frozen_refuses_unknown_labels(outputs):
    from sklearn.frozen import FrozenEstimator

    from alien_sk.baselines import MaxProb

    X, y = outputs
    base = MaxProb(n_logits=3).fit(X[:50], y[:50])
    y_cal = y[50:].copy()
    y_cal[5] = 7
    # was: fit passed, with risk_ 0.0 on invalid labels
    with pytest.raises(ValueError, match=r"label 7 at row 5 is outside"):
        SelectiveClassifier(FrozenEstimator(base)).fit(X[50:], y_cal)


def test_selective_classifier_checks_feature_names_everywhere(outputs):
    pd = pytest.importorskip("pandas")
    from sklearn.frozen import FrozenEstimator

    from alien_sk.baselines import MaxProb

    X, y = outputs
    base = MaxProb(n_logits=3).fit(X[:100], y[:100])  # fitted on an array
    cols = ["l0", "l1", "l2", "e0", "e1"]
    df = pd.DataFrame(X[100:], columns=cols)
    clf = SelectiveClassifier(FrozenEstimator(base), target_risk=0.2).fit(df, y[100:])
    reordered = df[cols[3:] + cols[:3]]
    # were accepted, reading embedding columns as logits
    for method in ("predict_uncertainty", "predict_abstain", "predict"):
        with pytest.raises(ValueError, match="feature names should match"):
            getattr(clf, method)(reordered)
    with pytest.raises(ValueError, match="feature names should match"):
        clf.score(reordered, y[100:])
    # the right columns still work, unchanged
    np.testing.assert_array_equal(
        clf.predict_uncertainty(df), base.predict_uncertainty(X[100:])
    )
    # a width error names SelectiveClassifier, not the MaxProb inside it
    plain = SelectiveClassifier(random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="SelectiveClassifier is expecting 5"):
        plain.predict_uncertainty(X[:, :4])
