# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Known-answer tests of alien_sk.metrics (every expected value computed by hand
or by an independent brute-force/loop reference written here)."""

import itertools
import subprocess
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.calibration import calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score

from alien_sk.metrics import (
    augrc,
    aurc,
    e_aurc,
    expected_calibration_error,
    misclassification_roc_auc,
    prediction_rejection_ratio,
    risk_coverage_curve,
)

RANKING = [aurc, e_aurc, augrc, prediction_rejection_ratio, misclassification_roc_auc]


def _as_labels(errors):
    """y_true, y_pred realising a given error pattern."""
    errors = np.asarray(errors, dtype=bool)
    y_true = np.zeros(errors.shape[0], dtype=int)
    return y_true, errors.astype(int)


# -- independent references ------------------------------------------------------
def _strict_order_aurc_augrc(errors_in_order):
    """AURC and AUGRC of one fixed order (no ties), by explicit loops."""
    n = len(errors_in_order)
    total, total_g, n_err = 0.0, 0.0, 0
    for k in range(1, n + 1):
        n_err += errors_in_order[k - 1]
        total += n_err / k
        total_g += n_err / n
    return total / n, total_g / n


def _brute_force_expected(errors, uncertainty):
    """Average AURC/AUGRC over every order that sorts the uncertainty."""
    n = len(errors)
    vals = []
    for perm in itertools.permutations(range(n)):
        u = [uncertainty[i] for i in perm]
        if all(u[i] <= u[i + 1] for i in range(n - 1)):
            vals.append(_strict_order_aurc_augrc([errors[i] for i in perm]))
    return np.mean(vals, axis=0)


def _loop_ece(correct, confidence, edges):
    """ECE with explicit right-closed bins: (lo, hi], first bin [lo, hi]."""
    n = len(correct)
    ece = 0.0
    for b in range(len(edges) - 1):
        lo, hi = edges[b], edges[b + 1]
        if b == 0:
            idx = [i for i in range(n) if confidence[i] <= hi]
        elif b == len(edges) - 2:
            idx = [i for i in range(n) if confidence[i] > lo]
        else:
            idx = [i for i in range(n) if lo < confidence[i] <= hi]
        if idx:
            acc = sum(correct[i] for i in idx) / len(idx)
            conf = sum(confidence[i] for i in idx) / len(idx)
            ece += len(idx) / n * abs(acc - conf)
    return ece


# -- known answers -----------------------------------------------------------------
def test_all_correct():
    y = np.array([0, 1, 2, 1])
    u = np.array([0.3, 0.1, 0.9, 0.5])
    assert aurc(y, y, u) == 0.0
    assert e_aurc(y, y, u) == 0.0
    assert augrc(y, y, u) == 0.0
    coverage, risk, thr = risk_coverage_curve(y, y, u)
    assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    assert_array_equal(risk, 0.0)
    assert_array_equal(thr, [0.1, 0.3, 0.5, 0.9])
    # confidence 1 everywhere and all correct: perfectly calibrated
    assert expected_calibration_error(y, y, np.zeros(4)) == 0.0
    # confidence 0.7 everywhere (one bin), accuracy 1
    assert expected_calibration_error(y, y, np.full(4, 0.3)) == pytest.approx(0.3)
    with pytest.warns(UndefinedMetricWarning, match="no error"):
        assert np.isnan(misclassification_roc_auc(y, y, u))
    with pytest.warns(UndefinedMetricWarning, match="no error"):
        assert np.isnan(prediction_rejection_ratio(y, y, u))


def test_all_wrong():
    n = 4
    y_true, y_pred = _as_labels(np.ones(n))
    u = np.array([0.3, 0.1, 0.9, 0.5])
    assert aurc(y_true, y_pred, u) == 1.0
    assert e_aurc(y_true, y_pred, u) == 0.0
    # E(k) = k: (1 + 2 + 3 + 4) / 16 = (n + 1) / (2 n)
    assert augrc(y_true, y_pred, u) == pytest.approx(10 / 16)
    assert expected_calibration_error(y_true, y_pred, np.ones(n)) == 0.0
    assert expected_calibration_error(y_true, y_pred, np.zeros(n)) == 1.0
    with pytest.warns(UndefinedMetricWarning, match="only errors"):
        assert np.isnan(misclassification_roc_auc(y_true, y_pred, u))
    with pytest.warns(UndefinedMetricWarning, match="only errors"):
        assert np.isnan(prediction_rejection_ratio(y_true, y_pred, u))


def test_constant_uncertainty():
    # 2 errors out of 5; a constant score is one tie group: E(k) = 2k / 5
    y_true, y_pred = _as_labels([0, 1, 0, 1, 0])
    u = np.full(5, 0.4)
    assert aurc(y_true, y_pred, u) == pytest.approx(0.4)
    # sum_k (2k/5) / 25 = (2/5)(15)/25
    assert augrc(y_true, y_pred, u) == pytest.approx(0.4 * 6 / 10)
    # ideal: E = 0, 0, 0, 1, 2 -> risks 0, 0, 0, 1/4, 2/5
    assert e_aurc(y_true, y_pred, u) == pytest.approx(0.4 - (0.25 + 0.4) / 5)
    assert misclassification_roc_auc(y_true, y_pred, u) == 0.5
    assert prediction_rejection_ratio(y_true, y_pred, u) == 0.0
    coverage, risk, thr = risk_coverage_curve(y_true, y_pred, u)
    assert_allclose(coverage, [1.0])
    assert_allclose(risk, [0.4])
    assert_allclose(thr, [0.4])
    # ECE: one bin, accuracy 0.6, confidence 0.6
    assert expected_calibration_error(y_true, y_pred, u) == pytest.approx(0.0)


def test_single_sample():
    for err in (0, 1):
        y_true, y_pred = _as_labels([err])
        assert aurc(y_true, y_pred, [0.2]) == err
        assert augrc(y_true, y_pred, [0.2]) == err
        assert e_aurc(y_true, y_pred, [0.2]) == 0.0
        assert expected_calibration_error(y_true, y_pred, [0.2]) == pytest.approx(
            abs((1 - err) - 0.8)
        )
        coverage, risk, thr = risk_coverage_curve(y_true, y_pred, [0.2])
        assert_allclose((coverage, risk, thr), [[1.0], [err], [0.2]])
        with pytest.warns(UndefinedMetricWarning):
            assert np.isnan(prediction_rejection_ratio(y_true, y_pred, [0.2]))


def test_ties_by_hand():
    # errors [0, 1, 0, 1] with uncertainty [0.1, 0.5, 0.5, 0.9]
    # by increasing uncertainty: {0.1: no error}, {0.5: 1 error of 2}, {0.9: error}
    # expected cumulative errors E(k) = 0, 0.5, 1, 2
    y_true, y_pred = _as_labels([0, 1, 0, 1])
    u = np.array([0.1, 0.5, 0.5, 0.9])
    assert aurc(y_true, y_pred, u) == pytest.approx((0 + 0.25 + 1 / 3 + 0.5) / 4)
    assert augrc(y_true, y_pred, u) == pytest.approx((0 + 0.5 + 1 + 2) / 16)
    # ideal E = 0, 0, 1, 2 -> risks 0, 0, 1/3, 1/2
    assert e_aurc(y_true, y_pred, u) == pytest.approx(
        (0.25 + 1 / 3 + 0.5) / 4 - (1 / 3 + 0.5) / 4
    )
    # PRR: random AUGRC 0.5 * 5 / 8, oracle (0 + 0 + 1 + 2) / 16
    random, oracle, unc = 0.3125, 0.1875, 0.21875
    assert prediction_rejection_ratio(y_true, y_pred, u) == pytest.approx(
        (random - unc) / (random - oracle)
    )
    # error/correct pairs: (0.5>0.1)=1, (0.5=0.5)=1/2, (0.9>both)=2 -> 3.5/4
    assert misclassification_roc_auc(y_true, y_pred, u) == pytest.approx(0.875)
    coverage, risk, thr = risk_coverage_curve(y_true, y_pred, u)
    assert_allclose(coverage, [0.25, 0.75, 1.0])
    assert_allclose(risk, [0.0, 1 / 3, 0.5])
    assert_allclose(thr, [0.1, 0.5, 0.9])


def test_perfect_and_reversed_ranking():
    y_true, y_pred = _as_labels([1, 0, 0, 1, 0])
    perfect = np.array([0.9, 0.1, 0.2, 0.8, 0.3])
    assert e_aurc(y_true, y_pred, perfect) == pytest.approx(0.0, abs=1e-15)
    assert prediction_rejection_ratio(y_true, y_pred, perfect) == pytest.approx(1.0)
    assert misclassification_roc_auc(y_true, y_pred, perfect) == 1.0
    reversed_ = 1 - perfect
    # errors first: E = 1, 2, 2, 2, 2 -> risks 1, 1, 2/3, 1/2, 2/5
    assert aurc(y_true, y_pred, reversed_) == pytest.approx(
        (1 + 1 + 2 / 3 + 0.5 + 0.4) / 5
    )
    assert prediction_rejection_ratio(y_true, y_pred, reversed_) == pytest.approx(-1.0)


@pytest.mark.parametrize("seed", range(4))
def test_ties_equal_brute_force_expectation(seed):
    rng = np.random.default_rng(seed)
    errors = rng.integers(0, 2, size=6)
    u = rng.integers(0, 3, size=6).astype(float)  # many ties
    expected_aurc, expected_augrc = _brute_force_expected(list(errors), list(u))
    y_true, y_pred = _as_labels(errors)
    assert aurc(y_true, y_pred, u) == pytest.approx(expected_aurc, rel=1e-12)
    assert augrc(y_true, y_pred, u) == pytest.approx(expected_augrc, rel=1e-12)


def test_distinct_scores_match_loop_reference():
    rng = np.random.default_rng(0)
    errors = rng.random(50) < 0.3
    u = rng.random(50)
    ref_aurc, ref_augrc = _strict_order_aurc_augrc(list(errors[np.argsort(u)]))
    y_true, y_pred = _as_labels(errors)
    assert aurc(y_true, y_pred, u) == pytest.approx(ref_aurc, rel=1e-12)
    assert augrc(y_true, y_pred, u) == pytest.approx(ref_augrc, rel=1e-12)
    ideal_aurc, _ = _strict_order_aurc_augrc(sorted(errors))
    assert e_aurc(y_true, y_pred, u) == pytest.approx(ref_aurc - ideal_aurc)
    assert misclassification_roc_auc(y_true, y_pred, u) == pytest.approx(
        roc_auc_score(errors, u)
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_permutation_invariance(weighted):
    rng = np.random.default_rng(1)
    n = 40
    y_true = rng.integers(0, 3, size=n)
    y_pred = np.where(rng.random(n) < 0.3, (y_true + 1) % 3, y_true)
    u = np.round(rng.random(n), 1)  # about 11 distinct values: heavy ties
    w = rng.random(n) if weighted else None
    kw = {"sample_weight": w}
    ref = {f.__name__: f(y_true, y_pred, u, **kw) for f in RANKING}
    ref_curve = risk_coverage_curve(y_true, y_pred, u, **kw)
    ref_ece = expected_calibration_error(y_true, y_pred, u)
    for _ in range(5):
        p = rng.permutation(n)
        kw = {"sample_weight": None if w is None else w[p]}
        for f in RANKING:
            assert f(y_true[p], y_pred[p], u[p], **kw) == pytest.approx(
                ref[f.__name__], rel=1e-12, abs=1e-15
            )
        for a, b in zip(
            risk_coverage_curve(y_true[p], y_pred[p], u[p], **kw),
            ref_curve,
            strict=True,
        ):
            assert_allclose(a, b, rtol=1e-12)
        assert expected_calibration_error(y_true[p], y_pred[p], u[p]) == pytest.approx(
            ref_ece, rel=1e-12
        )


def test_bounds_on_random_data():
    rng = np.random.default_rng(2)
    for _ in range(10):
        errors = rng.random(30) < rng.random()
        u = np.round(rng.random(30), 1)
        y_true, y_pred = _as_labels(errors)
        assert 0.0 <= aurc(y_true, y_pred, u) <= 1.0
        assert e_aurc(y_true, y_pred, u) >= -1e-12
        assert 0.0 <= augrc(y_true, y_pred, u) <= 0.5 + 0.5 / 30


# -- sample weights --------------------------------------------------------------------
def test_sample_weight_unit_scale_and_zero():
    rng = np.random.default_rng(3)
    n = 30
    y_true = rng.integers(0, 2, size=n)
    y_pred = rng.integers(0, 2, size=n)
    u = np.round(rng.random(n), 1)
    w = rng.random(n) + 0.1
    for f in RANKING:
        assert f(y_true, y_pred, u, sample_weight=np.ones(n)) == pytest.approx(
            f(y_true, y_pred, u), rel=1e-12
        )
        assert f(y_true, y_pred, u, sample_weight=3.5 * w) == pytest.approx(
            f(y_true, y_pred, u, sample_weight=w), rel=1e-12
        )
        w0 = w.copy()
        w0[:5] = 0
        assert f(y_true, y_pred, u, sample_weight=w0) == pytest.approx(
            f(y_true[5:], y_pred[5:], u[5:], sample_weight=w[5:]), rel=1e-12
        )


def test_sample_weight_distinct_scores_by_hand():
    # sorted by uncertainty: a correct sample of weight 1, an error of weight
    # 3. Kish's effective size (1 + 3)^2 / (1 + 9) = 1.6 positions: 0.4 and
    # 1.2. The error's positions t in (0, 1.2] after 0.4 correct ones have
    # risk t / (0.4 + t): sum = 1.2 - 0.4 (psi(2.6) - psi(1.4))
    from scipy.special import digamma

    y_true, y_pred = _as_labels([1, 0])
    u = [0.9, 0.1]
    w = [3.0, 1.0]
    expected = (1.2 - 0.4 * (digamma(2.6) - digamma(1.4))) / 1.6
    assert aurc(y_true, y_pred, u, sample_weight=w) == pytest.approx(expected)
    # AUGRC: errors among the first t positions sum to 1.2 * 2.2 / 2 over the
    # error's positions, over N^2 = 1.6^2
    assert augrc(y_true, y_pred, u, sample_weight=w) == pytest.approx(1.32 / 2.56)
    coverage, risk, _ = risk_coverage_curve(y_true, y_pred, u, sample_weight=w)
    assert_allclose(coverage, [0.25, 1.0])
    assert_allclose(risk, [0.0, 0.75])


def test_sample_weight_ties_by_hand():
    # one tie group of two samples, weights 1 (error) and 3 (correct): 1.6
    # positions (Kish) with error rate 1/4, expected errors t / 4 at t:
    # AURC = (1.6 * 1/4) / 1.6 = 1/4
    y_true, y_pred = _as_labels([1, 0])
    w = [1.0, 3.0]
    assert aurc(y_true, y_pred, [0.5, 0.5], sample_weight=w) == pytest.approx(0.25)
    # AUGRC = (1/4) * 1.6 * 2.6 / 2 / 1.6^2
    assert augrc(y_true, y_pred, [0.5, 0.5], sample_weight=w) == pytest.approx(
        0.52 / 2.56
    )


def test_sample_weight_tending_to_zero_is_continuous():
    rng = np.random.default_rng(0)
    n = 40
    errors = rng.random(n) < 0.3
    u = rng.random(n)
    y_true, y_pred = _as_labels(errors)
    w = rng.uniform(0.5, 2.0, n)
    for f in (aurc, e_aurc, augrc, prediction_rejection_ratio):
        zero, tiny = w.copy(), w.copy()
        zero[:5], tiny[:5] = 0.0, 1e-12
        assert f(y_true, y_pred, u, sample_weight=tiny) == pytest.approx(
            f(y_true, y_pred, u, sample_weight=zero), abs=1e-9
        )
        # and subnormal weights do not overflow
        assert np.isfinite(f(y_true, y_pred, u, sample_weight=w * 1e-310))


@pytest.mark.parametrize("seed", range(5))
def test_integer_positions_equal_repeated_rows(seed):
    # the weighted core with integer masses is the unweighted metric of the
    # rows repeated that many times (ties included)
    from alien_sk.metrics import _augrc_of_groups, _aurc_of_groups, _mass_groups

    rng = np.random.default_rng(seed)
    n = 12
    errors = rng.random(n) < 0.4
    u = rng.integers(0, 5, n).astype(float)  # many ties
    mass = rng.integers(1, 4, n).astype(float)
    groups = _mass_groups(errors, u, mass)
    reps = mass.astype(int)
    y_true, y_pred = _as_labels(np.repeat(errors, reps))
    u_rep = np.repeat(u, reps)
    assert _aurc_of_groups(*groups) == pytest.approx(
        aurc(y_true, y_pred, u_rep), rel=1e-12
    )
    assert _augrc_of_groups(*groups) == pytest.approx(
        augrc(y_true, y_pred, u_rep), rel=1e-12
    )


@pytest.mark.parametrize("seed", range(5))
def test_weighted_perfect_ranking_has_zero_e_aurc_and_unit_prr(seed):
    # every error after every correct sample, in any order and with any
    # weights (no ties needed): nothing better exists
    rng = np.random.default_rng(seed)
    n = 30
    errors = rng.random(n) < 0.3
    errors[:2] = [True, False]
    u = np.where(errors, 1.0 + rng.random(n), rng.random(n))
    w = rng.uniform(0.1, 5.0, n)
    y_true, y_pred = _as_labels(errors)
    assert abs(e_aurc(y_true, y_pred, u, sample_weight=w)) < 1e-12
    assert prediction_rejection_ratio(
        y_true, y_pred, u, sample_weight=w
    ) == pytest.approx(1.0, rel=1e-12)
    # and a worse ranking scores worse
    assert e_aurc(y_true, y_pred, -u, sample_weight=w) > 0.1


def test_digamma_difference_matches_harmonic_sums():
    from alien_sk.metrics import _digamma_diff

    for x in [1.0, 7.5, 29.0, 30.0, 31.0, 1e3, 1e6]:
        for m in [1, 2, 5, 40]:
            expected = sum(1.0 / (x - 1 + t) for t in range(1, m + 1))
            assert _digamma_diff(x, m) == pytest.approx(expected, rel=1e-13, abs=0)
    # continuous in m around the switch of method at x = 30
    assert _digamma_diff(29.999999, 0.37) == pytest.approx(
        _digamma_diff(30.0, 0.37), rel=1e-6
    )


def test_sample_weight_validation():
    with pytest.raises(ValueError, match="Negative values"):
        aurc([0, 1], [0, 0], [0.1, 0.2], sample_weight=[1.0, -1.0])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        aurc([0, 1], [0, 0], [0.1, 0.2], sample_weight=[1.0, 1.0, 1.0])


# -- ECE ----------------------------------------------------------------------------
def test_ece_inner_edge_falls_in_lower_bin():
    # n_bins=4: edges 0, .25, .5, .75, 1. Confidence 0.25 (correct) sits on an
    # inner edge -> lower bin [0, .25]; confidence 0.3 (wrong) -> (.25, .5].
    y_true, y_pred = _as_labels([0, 1])
    u = np.array([0.75, 0.7])
    ece = expected_calibration_error(y_true, y_pred, u, n_bins=4)
    assert ece == pytest.approx(0.5 * (1 - 0.25) + 0.5 * 0.3)  # not 0.225
    # the same binning as sklearn's calibration_curve: two non-empty bins
    prob_true, _ = calibration_curve([1, 0], 1 - u, n_bins=4)
    assert prob_true.shape == (2,)


def test_ece_confidence_zero_and_one():
    # confidence 0 in the first bin, 1 in the last: u = 1 (wrong), u = 0 (right)
    y_true, y_pred = _as_labels([1, 0])
    assert expected_calibration_error(y_true, y_pred, [1.0, 0.0]) == 0.0
    # swapped: both bins off by one
    assert expected_calibration_error(y_true, y_pred, [0.0, 1.0]) == 1.0
    assert expected_calibration_error(y_true, y_pred, [0.0, 1.0], n_bins=1) == 0.0


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("n_bins", [1, 3, 15])
def test_ece_matches_loop_reference(strategy, n_bins):
    rng = np.random.default_rng(4)
    n = 60
    u = np.round(rng.random(n), 2)
    errors = rng.random(n) < u
    y_true, y_pred = _as_labels(errors)
    conf = 1 - u
    if strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)
    else:
        # sklearn.calibration.calibration_curve's quantile edges
        edges = np.percentile(conf, np.linspace(0, 1, n_bins + 1) * 100)
    ref = _loop_ece(list(~errors), list(conf), list(edges))
    got = expected_calibration_error(
        y_true, y_pred, u, n_bins=n_bins, strategy=strategy
    )
    assert got == pytest.approx(ref, rel=1e-12)


def test_ece_quantile_bins_are_calibration_curves_with_tied_confidences():
    # quantile edges land on data values; computed as 0..100 rather than
    # 0..1 * 100 they differ in the last bit and tied confidences switch bins
    from sklearn.calibration import calibration_curve

    u = np.array([3, 5, 6, 0, 6, 2, 6, 2, 6, 1]) / 6
    correct = np.array([0, 1, 1, 0, 0, 0, 1, 0, 1, 1])
    y_true, y_pred = correct, np.ones(10, dtype=int)
    acc, conf = calibration_curve(correct, 1 - u, n_bins=3, strategy="quantile")
    # sklearn's bins, by hand: the 2/3 edge is interpolated a bit below the
    # data value 2/3, so the tied 2/3s join the top bin:
    # {0, 0, 0, 0} | {1/6, 1/2} | {2/3, 2/3, 5/6, 1}
    np.testing.assert_allclose(conf, [0.0, 1 / 3, 19 / 24])
    np.testing.assert_allclose(acc, [0.75, 0.5, 0.25])
    ref = (4 * 0.75 + 2 * (0.5 - 1 / 3) + 4 * (19 / 24 - 0.25)) / 10  # 0.55
    got = expected_calibration_error(y_true, y_pred, u, n_bins=3, strategy="quantile")
    assert got == pytest.approx(ref, rel=1e-12)


def test_ece_range_error():
    with pytest.raises(ValueError, match=r"uncertainty has values outside \[0, 1\]"):
        expected_calibration_error([0, 1], [0, 1], [0.5, 1.2])
    with pytest.raises(ValueError, match=r"uncertainty has values outside \[0, 1\]"):
        expected_calibration_error([0, 1], [0, 1], [-0.1, 0.5])


# -- input validation -------------------------------------------------------------
ALL_METRICS = RANKING + [expected_calibration_error]


@pytest.mark.parametrize("metric", ALL_METRICS, ids=lambda f: f.__name__)
def test_input_validation(metric):
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        metric([0, 1, 0], [0, 1], [0.1, 0.2])
    with pytest.raises(
        ValueError, match=r"uncertainty contains NaN \(first at row 1\)"
    ):
        metric([0, 1], [0, 0], [0.1, np.nan])
    with pytest.raises(ValueError, match="y_true contains NaN"):
        metric([0, np.nan], [0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="uncertainty should be a 1d array"):
        metric([0, 1], [0, 0], [[0.1, 0.2], [0.3, 0.4]])
    with pytest.raises(ValueError, match="y_pred should be a 1d array"):
        metric([0, 1], [[0, 0], [1, 1]], [0.1, 0.2])
    with pytest.raises(ValueError, match="empty"):
        metric([], [], [])
    with pytest.raises(ValueError, match="different types"):
        metric(["a", "b"], [0, 1], [0.1, 0.2])
    # the same labels in object arrays (pandas columns) are no more comparable
    with pytest.raises(ValueError, match="different types"):
        metric(np.array(["a", "b"], dtype=object), [0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="different types"):
        metric(np.array(["a", "b"]), np.array([0, 1], dtype=object), [0.1, 0.2])
    for missing in (None, np.nan):
        with pytest.raises(
            ValueError, match=r"y_pred contains a missing label .* at row 1"
        ):
            metric(["a", "b"], np.array(["a", missing], dtype=object), [0.1, 0.2])


def test_string_labels_and_infinite_scores():
    y_true = np.array(["cat", "dog", "dog", "cat"])
    y_pred = np.array(["cat", "cat", "dog", "dog"])
    # errors [0, 1, 0, 1]; inf ranks last
    u = [0.1, np.inf, 0.2, 5.0]
    assert aurc(y_true, y_pred, u) == pytest.approx((0 + 0 + 1 / 3 + 0.5) / 4)
    assert misclassification_roc_auc(y_true, y_pred, u) == 1.0


def test_metrics_do_not_import_torch():
    code = (
        "import sys; import alien_sk.metrics; "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('torch.')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
