# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Behaviour of metrics, baselines and selective prediction that mutation
testing found unpinned.

Every expected value comes from a hand computation or an independent
numpy / scipy / scikit-learn reference written here, never from the code under
test.
"""

import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import log_softmax
from scipy.stats import beta, multivariate_normal
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.decomposition import KernelPCA
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import FunctionTransformer

from alien_sk.baselines import (
    DDU,
    RDE,
    ErrorProbe,
    Mahalanobis,
    MaxProb,
    RelativeMahalanobis,
    TemperatureScaledMaxProb,
)
from alien_sk.datasets import make_classifier_outputs
from alien_sk.exceptions import TargetRiskWarning
from alien_sk.metrics import (
    augrc,
    aurc,
    e_aurc,
    get_uncertainty_scorer,
    misclassification_roc_auc,
    prediction_rejection_ratio,
)
from alien_sk.pipeline import UncertaintyPipeline
from alien_sk.selective import SelectiveClassifier, select_threshold


def _as_labels(errors):
    errors = np.asarray(errors, dtype=bool)
    return np.zeros(errors.shape[0], dtype=int), errors.astype(int)


def _loop_ranking_metrics(errors, uncertainty):
    """AURC, AUGRC and the ideal AURC of distinct scores, by explicit loops."""
    ordered = [e for _, e in sorted(zip(uncertainty, errors, strict=True))]
    n = len(ordered)

    def areas(seq):
        n_err, a, g = 0, 0.0, 0.0
        for k in range(1, n + 1):
            n_err += seq[k - 1]
            a += n_err / k
            g += n_err / n
        return a / n, g / n

    a, g = areas(ordered)
    ideal_a, ideal_g = areas(sorted(ordered))
    rate = sum(ordered) / n
    const_g = sum(k * rate / n for k in range(1, n + 1)) / n
    return a, g, ideal_a, (const_g - g) / (const_g - ideal_g)


def _small_embedding_data(n=40, d=3, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    logits = rng.normal(size=(n, n_classes))
    E = rng.normal(size=(n, d)) + y[:, None] * np.array([2.0, -1.0, 0.5])[:d]
    return np.hstack([logits, E]), y, E


def _loop_mahalanobis(E_train, y, E_test, inv=np.linalg.inv):
    classes = np.unique(y)
    means = [E_train[y == c].mean(axis=0) for c in classes]
    d = E_train.shape[1]
    cov = np.zeros((d, d))
    for x, c in zip(E_train, y, strict=True):
        diff = (x - means[list(classes).index(c)])[:, None]
        cov += diff @ diff.T
    cov /= E_train.shape[0]
    P = inv(cov)
    dist = [min(float((x - m) @ P @ (x - m)) for m in means) for x in E_test]
    return np.array(dist), cov


# -- metrics ---------------------------------------------------------------------
def test_digamma_difference_is_accurate_in_relative_terms():
    # pytest.approx's default abs=1e-12 hides relative errors of values ~1e-6:
    # compare with atol=0. psi(x + m) - psi(x) computed as a difference of
    # digammas loses ~1e-9 relative at x = 1e6
    from alien_sk.metrics import _digamma_diff

    for x in [30.0, 1e3, 1e6, 1e9]:
        for m in [1, 2, 5, 40]:
            expected = math.fsum(1.0 / (x - 1 + t) for t in range(1, m + 1))
            assert_allclose(_digamma_diff(x, m), expected, rtol=1e-12, atol=0)


def test_zero_weights_are_dropped_when_the_other_weights_are_equal():
    # equal positive weights take the unweighted path: the zero-weight rows
    # must still be ignored, exactly as when they are removed
    rng = np.random.default_rng(0)
    n = 20
    errors = rng.random(n) < 0.4
    errors[:6] = [1, 1, 0, 1, 0, 1]
    u = rng.random(n)
    u[:4] = [0.001, 0.002, 0.003, 0.004]  # would be the most certain rows
    w = np.full(n, 2.0)
    w[:4] = 0.0
    ref_aurc, ref_augrc, ref_ideal, ref_prr = _loop_ranking_metrics(
        list(errors[4:]), list(u[4:])
    )
    y_true, y_pred = _as_labels(errors)
    kw = {"sample_weight": w}
    assert aurc(y_true, y_pred, u, **kw) == pytest.approx(ref_aurc, rel=1e-12)
    assert augrc(y_true, y_pred, u, **kw) == pytest.approx(ref_augrc, rel=1e-12)
    assert e_aurc(y_true, y_pred, u, **kw) == pytest.approx(
        ref_aurc - ref_ideal, rel=1e-12
    )
    assert prediction_rejection_ratio(y_true, y_pred, u, **kw) == pytest.approx(
        ref_prr, rel=1e-12
    )


@pytest.mark.parametrize(
    "metric", [misclassification_roc_auc, prediction_rejection_ratio]
)
def test_zero_weight_rows_do_not_make_the_metric_defined(metric):
    u = [0.9, 0.1, 0.2, 0.3]
    # the only error has weight 0: no error among the weighted rows
    y_true, y_pred = _as_labels([1, 0, 0, 0])
    with pytest.warns(UndefinedMetricWarning, match="no error"):
        assert np.isnan(metric(y_true, y_pred, u, sample_weight=[0, 1, 1, 1]))
    # the only correct row has weight 0: only errors among the weighted rows
    y_true, y_pred = _as_labels([0, 1, 1, 1])
    with pytest.warns(UndefinedMetricWarning, match="only errors"):
        assert np.isnan(metric(y_true, y_pred, u, sample_weight=[0, 1, 1, 1]))


def _reverse_and_sharpen(X):
    X = np.array(X, dtype=np.float64)
    X[:, :3] = 3.0 * X[:, 2::-1]
    return X


def test_scorer_applies_pipeline_transformers_before_the_final_step():
    # the transformer reverses the logit order (so changes the predictions)
    # and scales the logits (so changes the max-prob scores): the scorer must
    # read both from the transformed X
    X, y = make_classifier_outputs(
        n_samples=120, n_classes=3, n_embedding=2, error_rate=0.3, random_state=0
    )
    pipe = UncertaintyPipeline(
        [
            ("t", FunctionTransformer(_reverse_and_sharpen)),
            ("u", MaxProb(n_logits=3)),
        ]
    ).fit(X, y)
    Z = 3.0 * X[:, 2::-1].astype(np.float64)
    u = 1.0 - np.exp(log_softmax(Z, axis=1)).max(axis=1)
    errors = Z.argmax(axis=1) != y
    assert errors.any() and not errors.all()
    assert get_uncertainty_scorer("misclassification_roc_auc")(
        pipe, X, y
    ) == pytest.approx(roc_auc_score(errors, u), rel=1e-12)
    ref_aurc = _loop_ranking_metrics(list(errors), list(u))[0]
    assert get_uncertainty_scorer("neg_aurc")(pipe, X, y) == pytest.approx(
        -ref_aurc, rel=1e-9
    )


# -- temperature scaling -----------------------------------------------------------
def test_temperature_closed_form_optimum_above_ten():
    # every row predicts class 0 with logit gap g; a fraction a is right. The
    # NLL -a log s(g/T) - (1-a) log s(-g/T) is minimal at s(g/T) = a:
    # T* = g / log(a / (1 - a)) = 40 / log(7 / 3) ~ 47.2
    X = np.tile([[20.0, -20.0]], (10, 1))
    y = np.array([0] * 7 + [1] * 3)
    est = TemperatureScaledMaxProb().fit(X, y)
    assert est.temperature_ == pytest.approx(40 / math.log(7 / 3), rel=1e-6)


def test_temperature_upper_bound_is_one_hundred():
    # a = 0.55: T* = 40 / log(11 / 9) ~ 199 lies beyond the documented bound
    X = np.tile([[20.0, -20.0]], (20, 1))
    y = np.array([0] * 11 + [1] * 9)
    est = TemperatureScaledMaxProb().fit(X, y)
    assert est.temperature_ == pytest.approx(100.0, rel=1e-4)


# -- Mahalanobis family --------------------------------------------------------------
def test_mahalanobis_with_the_first_class_absent():
    # the centroids are those of classes 1 and 2; every residual must be
    # taken from the centroid of its own class
    X, y, E = _small_embedding_data()
    keep = y != 0
    est = Mahalanobis(n_logits=3).fit(X[keep], y[keep])
    assert est.centroid_classes_.tolist() == [1, 2]
    ref, cov = _loop_mahalanobis(E[keep], y[keep], E)
    assert_allclose(est.covariance_, cov, rtol=1e-12)
    assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-10)


def test_mahalanobis_pinv_on_numerically_singular_scatter():
    # a near-duplicate column (not exactly singular, so np.linalg.inv does
    # not raise): the scatter is rank deficient to working precision, and the
    # pseudo-inverse must be used
    X, y, E = _small_embedding_data()
    rng = np.random.RandomState(1)
    extra = E[:, -1:] + 1e-10 * rng.normal(size=(E.shape[0], 1))
    X, E = np.hstack([X, extra]), np.hstack([E, extra])
    est = Mahalanobis().fit(X, y)
    assert est.pinv_used_
    ref, _ = _loop_mahalanobis(E, y, E, inv=np.linalg.pinv)
    assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-6, atol=1e-8)


def test_mahalanobis_normalize_keeps_a_zero_embedding_finite():
    # a zero embedding has no direction: it stays the zero vector
    X, y, E = _small_embedding_data()
    E_n = E / np.linalg.norm(E, axis=1, keepdims=True)
    X_test = X[:3].copy()
    X_test[1, 3:] = 0.0
    E_test = E_n[:3].copy()
    E_test[1] = 0.0
    ref, _ = _loop_mahalanobis(E_n, y, E_test)
    u = Mahalanobis(normalize=True).fit(X, y).predict_uncertainty(X_test)
    assert np.all(np.isfinite(u))
    assert_allclose(u, ref, rtol=1e-8)


def test_relative_mahalanobis_with_ledoit_wolf():
    X, y, E = _small_embedding_data()
    X_test, _, E_test = _small_embedding_data(n=10, seed=2)
    means = [E[y == c].mean(axis=0) for c in range(3)]
    P = LedoitWolf().fit(E - np.array(means)[y]).precision_
    mu0 = E.mean(axis=0)
    P0 = LedoitWolf().fit(E - mu0).precision_
    ref = [
        min(float((x - m) @ P @ (x - m)) for m in means)
        - float((x - mu0) @ P0 @ (x - mu0))
        for x in E_test
    ]
    est = RelativeMahalanobis(covariance_estimator=LedoitWolf()).fit(X, y)
    assert_allclose(est.predict_uncertainty(X_test), ref, rtol=1e-8, atol=1e-10)


# -- DDU -----------------------------------------------------------------------------
def _imbalanced_data(counts, d=3, seed=0):
    rng = np.random.RandomState(seed)
    y = np.repeat(np.arange(len(counts)), counts)
    E = rng.normal(size=(y.shape[0], d)) + y[:, None] * np.array([2.0, -1.0, 0.5])
    logits = rng.normal(size=(y.shape[0], len(counts)))
    return np.hstack([logits, E]), y, E


def test_ddu_empirical_priors_follow_class_frequencies():
    counts = [10, 20, 30]
    X, y, E = _imbalanced_data(counts)
    _, _, E_test = _imbalanced_data([4, 4, 4], seed=1)
    X_test = np.hstack([np.zeros((12, 3)), E_test])
    est = DDU().fit(X, y)
    assert_allclose(est.weights_, [1 / 6, 1 / 3, 1 / 2])
    dens = np.zeros(E_test.shape[0])
    for c, n_c in enumerate(counts):
        Ec = E[y == c]
        cov = np.cov(Ec, rowvar=False) + 1e-6 * np.eye(3)
        dens += n_c / 60 * multivariate_normal(Ec.mean(axis=0), cov).pdf(E_test)
    assert_allclose(est.predict_uncertainty(X_test), -np.log(dens), rtol=1e-9)


def test_ddu_singleton_class_gets_the_pooled_covariance():
    X, y, E = _imbalanced_data([20, 19, 1])
    est = DDU().fit(X, y)
    assert est.jitter_ == 1e-6
    means = [E[y == c].mean(axis=0) for c in range(3)]
    resid = E - np.array(means)[y]
    pooled = sum(np.outer(r, r) for r in resid) / 40
    assert_allclose(est.covariances_[2], pooled + 1e-6 * np.eye(3), rtol=1e-10)
    covs = [np.cov(E[y == c], rowvar=False) for c in range(2)] + [pooled]
    dens = sum(
        n_c / 40 * multivariate_normal(means[c], covs[c] + 1e-6 * np.eye(3)).pdf(E)
        for c, n_c in enumerate([20, 19, 1])
    )
    assert_allclose(est.predict_uncertainty(X), -np.log(dens), rtol=1e-9)


def test_ddu_jitter_is_the_first_power_of_ten_that_works():
    # duplicated column: singular class covariances; the jitter is reg_covar
    # times 10, 100, ... up to the first value giving every Cholesky factor
    X, y, E = _small_embedding_data(n=30)
    X, E = np.hstack([X, X[:, -1:]]), np.hstack([E, E[:, -1:]])
    covs = [np.cov(E[y == c], rowvar=False) for c in range(3)]

    def all_factor(jitter):
        try:
            for cov in covs:
                np.linalg.cholesky(cov + jitter * np.eye(4))
        except np.linalg.LinAlgError:
            return False
        return True

    reg = 1e-17  # a few tenfold steps below what these matrices need
    expected = reg
    while not all_factor(expected):
        expected *= 10.0
    assert expected >= 100 * reg  # the growth is exercised, over several steps
    est = DDU(reg_covar=reg).fit(X, y)
    assert est.jitter_ == pytest.approx(expected, rel=1e-12, abs=0)


# -- ErrorProbe, RDE -----------------------------------------------------------------
def test_error_probe_passes_c_and_class_weight():
    X, y = make_classifier_outputs(n_samples=300, n_embedding=5, random_state=0)
    errors = X[:, :2].argmax(axis=1) != y
    E = X[:, 2:].astype(np.float64)
    Z = (E - E.mean(axis=0)) / E.std(axis=0)
    ref = (
        LogisticRegression(C=0.05, class_weight="balanced", max_iter=1000)
        .fit(Z, errors)
        .predict_proba(Z)[:, 1]
    )
    est = ErrorProbe(C=0.05, class_weight="balanced").fit(X, y)
    assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-5, atol=1e-7)


def test_rde_passes_gamma_and_support_fraction():
    X, y = make_classifier_outputs(n_samples=120, n_embedding=4, random_state=0)
    E = X[:, 2:].astype(np.float64)
    kpca = KernelPCA(n_components=6, kernel="rbf", gamma=0.7, random_state=0)
    Z = kpca.fit_transform(E)
    mcd = MinCovDet(support_fraction=0.8, random_state=0).fit(Z)
    ref = mcd.mahalanobis(kpca.transform(E[:20]))
    est = RDE(n_components=6, gamma=0.7, support_fraction=0.8, random_state=0)
    u = est.fit(X, y).predict_uncertainty(X[:20])
    assert_allclose(u, ref, rtol=1e-6)


# -- selective prediction --------------------------------------------------------------
def _cp_bound(k, n, confidence):
    return 1.0 if k == n else float(beta.ppf(confidence, k + 1, n - k))


def test_bonferroni_counts_every_candidate():
    # one of the 3 candidates accepts no calibration sample: it is skipped,
    # but the Bonferroni correction still divides delta by all 3 candidates
    n = 100
    u = np.arange(n) / n
    errors = np.arange(n) % 10 == 9
    y_true, y_pred = _as_labels(errors)
    sel = select_threshold(
        y_true,
        y_pred,
        u,
        target_risk=0.25,
        correction="clopper-pearson",
        delta=0.1,
        candidates=[-0.5, 0.495, 0.995],
    )
    assert (sel.threshold, sel.n_accepted, sel.n_errors) == (0.995, 100, 10)
    assert sel.risk_upper_bound == pytest.approx(
        _cp_bound(10, 100, 1 - 0.1 / 3), rel=1e-12
    )


def test_coverage_is_a_fraction_of_all_calibration_samples():
    # candidates below the largest score: coverage 2 / 4, not 2 / 2
    y_true, y_pred = _as_labels([0, 0, 1, 0])
    sel = select_threshold(
        y_true, y_pred, [0.1, 0.2, 0.3, 0.4], target_risk=0.0, candidates=[0.15, 0.25]
    )
    assert (sel.threshold, sel.n_accepted, sel.coverage) == (0.25, 2, 0.5)


def test_unreachable_message_reports_the_lowest_risk():
    # by increasing uncertainty errors are 1, 0, 0, 0, 1: risks 1, 1/2, 1/3,
    # 1/4, 2/5; the lowest is 0.25 at coverage 0.8
    y_true, y_pred = _as_labels([1, 0, 0, 0, 1])
    with pytest.raises(
        ValueError, match=re.escape("the lowest is 0.25 (at coverage 0.8)")
    ):
        select_threshold(y_true, y_pred, [0.1, 0.2, 0.3, 0.4, 0.5], target_risk=0.2)


def test_selective_classifier_uses_its_delta():
    X, y = make_classifier_outputs(
        n_samples=400, n_classes=3, n_embedding=2, entropy_signal=2.0, random_state=0
    )
    base = MaxProb(n_logits=3).fit(X, y)
    delta, target = 0.5, 0.15
    clf = SelectiveClassifier(
        FrozenEstimator(base),
        target_risk=target,
        correction="clopper-pearson",
        delta=delta,
    ).fit(X, y)
    # reference: a plain loop over the distinct scores
    z = X[:, :3].astype(np.float64)
    u = 1.0 - np.exp(log_softmax(z, axis=1)).max(axis=1)
    errors = z.argmax(axis=1) != y
    cand = np.unique(u)
    best = None
    for t in cand:
        acc = u <= t
        k, n = int(errors[acc].sum()), int(acc.sum())
        crit = max(k / n, _cp_bound(k, n, 1 - delta / cand.shape[0]))
        if crit <= target:
            best = (t, n, crit)
    assert best is not None
    assert clf.threshold_ == pytest.approx(best[0], rel=1e-12)
    assert clf.selection_.n_accepted == best[1]
    assert clf.selection_.risk_upper_bound == pytest.approx(best[2], rel=1e-12)
    assert clf.selection_.delta == delta


def test_unreachable_target_leaves_risk_undefined():
    X, y = make_classifier_outputs(
        n_samples=200, n_classes=3, n_embedding=2, random_state=0
    )
    X = X.copy()
    X[:, :3] = 0.0  # constant uncertainty, about 1/3 accuracy
    with pytest.warns(TargetRiskWarning):
        clf = SelectiveClassifier(target_risk=0.05, random_state=0).fit(X, y)
    assert clf.coverage_ == 0.0
    assert np.isnan(clf.risk_)
