# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Each baseline against an independent computation on a small case."""

import math
import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.covariance import LedoitWolf, MinCovDet
from sklearn.decomposition import KernelPCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from alien_sk.baselines import (
    DDU,
    RDE,
    Entropy,
    ErrorProbe,
    Mahalanobis,
    Margin,
    MaxProb,
    RelativeMahalanobis,
    TemperatureScaledMaxProb,
)
from alien_sk.datasets import make_classifier_outputs
from alien_sk.exceptions import NoErrorsWarning

LOGITS = np.array(
    [
        [2.0, 0.5, -1.0],
        [0.0, 0.0, 0.0],
        [-3.0, 4.0, 1.0],
        [0.3, 0.2, 0.25],
    ]
)
Y3 = np.array([0, 2, 1, 1])


def _hand_proba(row):
    e = [math.exp(v) for v in row]
    s = sum(e)
    return [v / s for v in e]


def _small_embedding_data(n=40, d=3, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    logits = rng.normal(size=(n, n_classes))
    E = rng.normal(size=(n, d)) + y[:, None] * np.array([2.0, -1.0, 0.5])[:d]
    return np.hstack([logits, E]), y, E


# -- logit baselines ------------------------------------------------------------
def test_maxprob_entropy_margin_by_hand():
    X = LOGITS
    u_max = MaxProb().fit(X, Y3).predict_uncertainty(X)
    u_ent = Entropy().fit(X, Y3).predict_uncertainty(X)
    u_mar = Margin().fit(X, Y3).predict_uncertainty(X)
    for i, row in enumerate(LOGITS):
        p = _hand_proba(row)
        s = sorted(p, reverse=True)
        assert u_max[i] == pytest.approx(1 - s[0], abs=1e-12)
        assert u_mar[i] == pytest.approx(1 - (s[0] - s[1]), abs=1e-12)
        h = -sum(q * math.log(q) for q in p) / math.log(3)
        assert u_ent[i] == pytest.approx(h, abs=1e-12)
    # uniform logits: the maximum of each score
    assert u_max[1] == pytest.approx(2 / 3)
    assert u_ent[1] == pytest.approx(1.0)
    assert u_mar[1] == pytest.approx(1.0)


def test_confident_scores_keep_their_precision():
    # logit gaps above ~37 make 1 - max p round to 0 in float64, which ties
    # every confident sample; the exact values (50-digit decimals here) are
    # representable and keep the ranking
    from decimal import Decimal, getcontext

    getcontext().prec = 50
    X = np.array(
        [[38.0, 0.0, -1.0], [40.0, 3.0, 0.0], [45.0, 1.0, 0.0], [60.0, 20.0, 0.0]]
    )
    y = np.array([0, 1, 0, 0])  # the least confident row (gap 37) is the error

    def hand(row):
        e = [Decimal(float(v)).exp() for v in row]
        p = sorted((v / sum(e) for v in e), reverse=True)
        return float(1 - p[0]), float(1 - (p[0] - p[1]))

    ref = np.array([hand(r) for r in X])
    np.testing.assert_allclose(
        MaxProb(n_logits=3).fit(X, y).predict_uncertainty(X), ref[:, 0], rtol=1e-12
    )
    np.testing.assert_allclose(
        Margin(n_logits=3).fit(X, y).predict_uncertainty(X), ref[:, 1], rtol=1e-12
    )
    temp = TemperatureScaledMaxProb(n_logits=3).fit(X, y)
    ref_t = np.array([hand(r / temp.temperature_)[0] for r in X])
    np.testing.assert_allclose(temp.predict_uncertainty(X), ref_t, rtol=1e-12)
    # 1 - max p is largest on the error (float64's 1 - p_max ties all at 0)
    assert MaxProb(n_logits=3).fit(X, y).score(X, y) == 1.0


def test_logit_baselines_ignore_embedding_and_accept_classes():
    rng = np.random.RandomState(0)
    X = np.hstack([LOGITS, rng.normal(size=(4, 5))])
    labels = np.array(["a", "b", "c"])
    for cls in (MaxProb, Entropy, Margin):
        est = cls(classes=labels).fit(X, labels[Y3])
        assert est.n_logits_ == 3 and est.n_features_in_ == 8
        ref = cls().fit(LOGITS, Y3).predict_uncertainty(LOGITS)
        np.testing.assert_allclose(est.predict_uncertainty(X), ref, atol=1e-12)


def test_logit_baselines_float32_and_extreme_logits_are_finite():
    X = np.array([[1e4, -1e4], [-50.0, 50.0]], dtype=np.float32)
    for cls in (MaxProb, Entropy, Margin, TemperatureScaledMaxProb):
        u = cls().fit(X, [0, 1]).predict_uncertainty(X)
        assert u.dtype == np.float64
        assert np.all(np.isfinite(u)) and u.min() >= 0 and u.max() <= 1


def _nll(T, logits, y):
    total = 0.0
    for row, label in zip(logits, y, strict=True):
        p = _hand_proba([v / T for v in row])
        total -= math.log(p[label])
    return total / len(y)


def test_temperature_matches_grid_search_of_nll():
    X, y = make_classifier_outputs(n_samples=120, n_classes=3, random_state=3)
    logits = X[:, :3].astype(np.float64)
    est = TemperatureScaledMaxProb().fit(X, y)
    grid = np.exp(np.linspace(np.log(0.05), np.log(20), 801))
    nll = np.array([_nll(T, logits, y) for T in grid])
    t_grid = grid[nll.argmin()]
    step = grid[1] / grid[0]
    assert t_grid / step <= est.temperature_ <= t_grid * step
    assert _nll(est.temperature_, logits, y) <= nll.min() + 1e-9
    # uncertainty is 1 - max softmax(logits / T), computed by hand
    u = est.predict_uncertainty(X[:5])
    for i in range(5):
        p = _hand_proba(logits[i] / est.temperature_)
        assert u[i] == pytest.approx(1 - max(p), abs=1e-9)


def test_temperature_below_one_when_underconfident():
    # correct predictions with small margins: sharpening lowers the NLL
    logits = np.array([[0.2, 0.0], [0.0, 0.3], [0.25, 0.0], [0.0, 0.1]] * 5)
    y = np.array([0, 1, 0, 1] * 5)
    est = TemperatureScaledMaxProb().fit(logits, y)
    assert est.temperature_ == pytest.approx(0.01, rel=1e-3)  # lower bound
    logits[0] = [0.0, 0.2]  # one error: a finite optimum below 1
    est = TemperatureScaledMaxProb().fit(logits, y)
    assert 0.01 < est.temperature_ < 1


# -- Mahalanobis family ----------------------------------------------------------
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
    out = []
    for x in E_test:
        out.append(min(float((x - m) @ P @ (x - m)) for m in means))
    return np.array(out), means, cov


def test_mahalanobis_matches_explicit_loops():
    X, y, E = _small_embedding_data()
    X_test, _, E_test = _small_embedding_data(n=10, seed=1)
    est = Mahalanobis().fit(X, y)
    ref, means, cov = _loop_mahalanobis(E, y, E_test)
    np.testing.assert_allclose(est.predict_uncertainty(X_test), ref, rtol=1e-10)
    np.testing.assert_allclose(est.means_, means)
    np.testing.assert_allclose(est.covariance_, cov)
    assert not est.pinv_used_
    assert est._bounded_uncertainty is False


def test_mahalanobis_centroids_use_true_labels_not_predictions():
    X, y, E = _small_embedding_data()
    X[:, :3] = 0.0
    X[:, 0] = 1.0  # the classifier always predicts class 0
    est = Mahalanobis().fit(X, y)
    np.testing.assert_allclose(est.means_, [E[y == c].mean(axis=0) for c in range(3)])


def test_mahalanobis_string_classes_and_missing_class():
    X, y, E = _small_embedding_data()
    keep = y != 1  # class "b" never appears in y
    labels = np.array(["a", "b", "c"])
    est = Mahalanobis(classes=labels).fit(X[keep], labels[y[keep]])
    assert est.centroid_classes_.tolist() == ["a", "c"]
    ref, _, _ = _loop_mahalanobis(E[keep], y[keep], E)
    np.testing.assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-10)


def test_mahalanobis_normalize():
    X, y, E = _small_embedding_data()
    E_n = E / np.linalg.norm(E, axis=1, keepdims=True)
    ref, _, _ = _loop_mahalanobis(E_n, y, E_n)
    u = Mahalanobis(normalize=True).fit(X, y).predict_uncertainty(X)
    np.testing.assert_allclose(u, ref, rtol=1e-8)


def test_mahalanobis_pinv_fallback_on_singular_scatter():
    X, y, E = _small_embedding_data()
    X = np.hstack([X, X[:, -1:]])  # a duplicated column: rank-deficient scatter
    E = np.hstack([E, E[:, -1:]])
    est = Mahalanobis().fit(X, y)
    assert est.pinv_used_
    ref, _, _ = _loop_mahalanobis(E, y, E, inv=np.linalg.pinv)
    u = est.predict_uncertainty(X)
    assert np.all(np.isfinite(u))
    np.testing.assert_allclose(u, ref, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("cls", [Mahalanobis, RelativeMahalanobis])
@pytest.mark.parametrize("cov", [None, LedoitWolf()])
def test_mahalanobis_refuses_zero_within_class_scatter(cls, cov):
    # one row per class: the scatter is 0, its pseudo-inverse 0, and every
    # distance was 0 (RelativeMahalanobis: minus the marginal distance, so
    # far points got the lowest uncertainty)
    rng = np.random.default_rng(0)
    X = np.hstack([rng.normal(size=(3, 3)), rng.normal(size=(3, 4))])
    with pytest.raises(ValueError, match="covariance .* is zero.*3 rows, 3 classes"):
        cls(covariance_estimator=cov).fit(X, [0, 1, 2])
    # rows repeated within each class (means rounded: residuals ~1e-17)
    X3 = np.repeat(X, 3, axis=0) * 0.1
    with pytest.raises(ValueError, match="within-class covariance"):
        cls(covariance_estimator=cov).fit(X3, np.repeat([0, 1, 2], 3))
    # one class with two distinct rows is enough for a (singular) scatter
    X4 = np.vstack([X, X[:1] + 1.0])
    u = cls(covariance_estimator=cov).fit(X4, [0, 1, 2, 0]).predict_uncertainty(X4)
    assert np.isfinite(u).all() and np.ptp(u) > 0


def test_mahalanobis_with_ledoit_wolf():
    X, y, E = _small_embedding_data()
    est = Mahalanobis(covariance_estimator=LedoitWolf()).fit(X, y)
    means = [E[y == c].mean(axis=0) for c in range(3)]
    centred = E - np.array(means)[y]
    P = np.linalg.inv(LedoitWolf().fit(centred).covariance_)
    ref = [min(float((x - m) @ P @ (x - m)) for m in means) for x in E]
    np.testing.assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-8)
    assert est.get_params()["covariance_estimator"] is not None
    assert not hasattr(est.covariance_estimator, "covariance_")  # cloned, not fitted


def test_relative_mahalanobis_matches_explicit_loops():
    X, y, E = _small_embedding_data()
    X_test, _, E_test = _small_embedding_data(n=10, seed=2)
    mu0 = E.mean(axis=0)
    cov0 = sum(np.outer(x - mu0, x - mu0) for x in E) / E.shape[0]
    P0 = np.linalg.inv(cov0)
    _, means, cov = _loop_mahalanobis(E, y, E_test)
    P = np.linalg.inv(cov)
    ref = []
    for x in E_test:
        md0 = float((x - mu0) @ P0 @ (x - mu0))
        ref.append(min(float((x - m) @ P @ (x - m)) - md0 for m in means))
    u = RelativeMahalanobis().fit(X, y).predict_uncertainty(X_test)
    np.testing.assert_allclose(u, ref, rtol=1e-9, atol=1e-9)


# -- RDE, DDU ---------------------------------------------------------------------
def test_rde_matches_sklearn_parts_and_hand_distance():
    X, y = make_classifier_outputs(n_samples=120, n_embedding=4, random_state=0)
    E = X[:, 2:].astype(np.float64)
    est = RDE(n_components=6, random_state=0).fit(X, y)
    kpca = KernelPCA(n_components=6, kernel="rbf", random_state=0)
    Z = kpca.fit_transform(E)
    mcd = MinCovDet(random_state=0).fit(Z)
    Zt = kpca.transform(E[:20])
    P = np.linalg.pinv(mcd.covariance_)
    ref = [float((z - mcd.location_) @ P @ (z - mcd.location_)) for z in Zt]
    np.testing.assert_allclose(est.predict_uncertainty(X[:20]), ref, rtol=1e-6)


def test_rde_caps_components_and_honours_random_state():
    X, y = make_classifier_outputs(n_samples=60, n_embedding=4, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # MinCovDet: not full rank
        est = RDE(random_state=0).fit(X, y)
        assert est.kernel_pca_.n_components == 60
        a = RDE(n_components=5, random_state=3).fit(X, y).predict_uncertainty(X)
        b = RDE(n_components=5, random_state=3).fit(X, y).predict_uncertainty(X)
    np.testing.assert_array_equal(a, b)


def _mcd_breaking_data():
    # 80% identical embeddings: MinCovDet with support_fraction=0.5 finds a
    # zero covariance and raises; 0.9 fits
    rng = np.random.default_rng(0)
    E = np.vstack([np.zeros((40, 3)), rng.normal(size=(10, 3))])
    return np.hstack([rng.normal(size=(50, 2)), E]), np.arange(50) % 2


def test_rde_keeps_a_support_fraction_the_user_set():
    X, y = _mcd_breaking_data()
    kw = {"n_components": 3, "random_state": 0}
    Z = RDE(**kw).fit(X, y).kernel_pca_.transform(X[:, 2:])
    with pytest.raises(ValueError, match="increase support_fraction"):
        MinCovDet(support_fraction=0.5, random_state=0).fit(Z)
    # was: silently refitted with 0.9
    with pytest.raises(ValueError, match=r"support_fraction=0.5 on the 3 kernel-PCA"):
        RDE(support_fraction=0.5, **kw).fit(X, y)
    # a fraction that works is used as given
    est = RDE(support_fraction=0.9, **kw).fit(X, y)
    assert est.mcd_.support_fraction == 0.9


def test_rde_randomized_solver_is_seeded_and_close_to_dense():
    X, y = make_classifier_outputs(n_samples=150, n_embedding=4, random_state=1)
    kw = {"n_components": 4, "random_state": 0}
    dense = RDE(eigen_solver="dense", **kw).fit(X, y).predict_uncertainty(X)
    r1 = RDE(eigen_solver="randomized", **kw).fit(X, y).predict_uncertainty(X)
    r2 = RDE(eigen_solver="randomized", **kw).fit(X, y).predict_uncertainty(X)
    np.testing.assert_array_equal(r1, r2)
    # components agree up to sign, and the robust distance ignores signs
    np.testing.assert_allclose(r1, dense, rtol=1e-4)


def test_ddu_matches_scipy_mixture_density():
    X, y, E = _small_embedding_data(n=60)
    X_test, _, E_test = _small_embedding_data(n=10, seed=4)
    est = DDU().fit(X, y)
    assert est.jitter_ == 1e-6
    dens = np.zeros(E_test.shape[0])
    for c in range(3):
        Ec = E[y == c]
        cov = np.cov(Ec, rowvar=False) + 1e-6 * np.eye(3)
        dens += (Ec.shape[0] / 60) * multivariate_normal(Ec.mean(axis=0), cov).pdf(
            E_test
        )
    np.testing.assert_allclose(
        est.predict_uncertainty(X_test), -np.log(dens), rtol=1e-9
    )


def test_ddu_uniform_priors_and_jitter_growth():
    X, y, E = _small_embedding_data(n=30)
    X = np.hstack([X, X[:, -1:]])  # duplicated column: singular class covariances
    est = DDU(priors="uniform", reg_covar=1e-300).fit(X, y)
    assert est.jitter_ > 1e-300  # a tiny jitter cannot make them positive definite
    assert np.all(np.linalg.eigvalsh(est.covariances_) > 0)
    np.testing.assert_allclose(est.weights_, [1 / 3] * 3)
    assert np.all(np.isfinite(est.predict_uncertainty(X)))


def test_ddu_low_density_is_uncertain():
    X, y, _ = _small_embedding_data(n=90)
    est = DDU().fit(X, y)
    far = X[:2].copy()
    far[:, 3:] += 50.0
    assert est.predict_uncertainty(far).min() > est.predict_uncertainty(X).max()


# -- ErrorProbe -------------------------------------------------------------------
def test_error_probe_matches_logistic_regression_on_standardised_embedding():
    X, y = make_classifier_outputs(n_samples=300, n_embedding=5, random_state=0)
    errors = X[:, :2].argmax(axis=1) != y
    E = X[:, 2:].astype(np.float64)
    Z = (E - E.mean(axis=0)) / E.std(axis=0)
    ref = LogisticRegression(max_iter=1000).fit(Z, errors).predict_proba(Z)[:, 1]
    est = ErrorProbe().fit(X, y)
    np.testing.assert_allclose(est.predict_uncertainty(X), ref, rtol=1e-5, atol=1e-7)
    assert est.score(X, y) > 0.8


def test_error_probe_use_logits():
    X, y = make_classifier_outputs(n_samples=200, n_embedding=3, random_state=0)
    est = ErrorProbe(use_logits=True).fit(X, y)
    assert est.probe_[-1].coef_.shape == (1, 5)
    assert ErrorProbe().fit(X, y).probe_[-1].coef_.shape == (1, 3)


@pytest.mark.parametrize("all_wrong", [False, True])
def test_error_probe_single_error_class_falls_back_to_entropy(all_wrong):
    X, y = make_classifier_outputs(
        n_samples=50, error_rate=float(all_wrong), random_state=0
    )
    with pytest.warns(
        NoErrorsWarning, match="only errors" if all_wrong else "no error"
    ):
        est = ErrorProbe().fit(X, y)
    assert est.probe_ is None
    np.testing.assert_allclose(
        est.predict_uncertainty(X), Entropy().fit(X, y).predict_uncertainty(X)
    )
    # the fallback survives pickling
    est2 = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(
        est2.predict_uncertainty(X), est.predict_uncertainty(X)
    )


# -- shared behaviour -------------------------------------------------------------
EMBEDDING_BASELINES = [Mahalanobis, RelativeMahalanobis, RDE, DDU, ErrorProbe]


@pytest.mark.parametrize("cls", EMBEDDING_BASELINES)
def test_embedding_baselines_need_an_embedding(cls):
    with pytest.raises(ValueError, match="3 logits followed by an embedding"):
        cls().fit(LOGITS, Y3)


@pytest.mark.parametrize(
    "est",
    [
        RDE(n_components=0),
        DDU(reg_covar=0),
        DDU(priors="flat"),
        ErrorProbe(C=-1),
        Mahalanobis(covariance_estimator="ledoit"),
    ],
    ids=repr,
)
def test_invalid_parameters(est):
    X, y, _ = _small_embedding_data()
    with pytest.raises(InvalidParameterError):
        est.fit(X, y)


def test_bounded_flags():
    assert Mahalanobis._bounded_uncertainty is False
    assert RelativeMahalanobis._bounded_uncertainty is False
    assert RDE._bounded_uncertainty is False
    assert DDU._bounded_uncertainty is False
    for cls in (MaxProb, Entropy, Margin, TemperatureScaledMaxProb, ErrorProbe):
        assert getattr(cls, "_bounded_uncertainty", True) is True


def test_gridsearch_over_baseline_params():
    X, y = make_classifier_outputs(n_samples=200, n_embedding=4, random_state=0)
    search = GridSearchCV(
        ErrorProbe(n_logits=2), {"C": [0.01, 1.0], "use_logits": [False, True]}, cv=3
    ).fit(X, y)
    assert set(search.best_params_) == {"C", "use_logits"}
    assert 0.5 < search.best_score_ <= 1.0
