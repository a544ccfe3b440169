# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AlienUncertaintyEstimator: exact init, reproducibility, learning, errors."""

import io
import pickle
import re
import warnings
from unittest import mock

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, KFold

from alien_sk.datasets import make_classifier_outputs
from alien_sk.estimator import AlienUncertaintyEstimator
from alien_sk.exceptions import DeviceWarning, NoErrorsWarning


def _np_entropy(logits):
    """Independent normalised entropy (float64, log-sum-exp)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(np.exp(log_p) * log_p).sum(axis=1) / np.log(z.shape[1])


def _np_smoothmax(logits, lam=100.0):
    z = np.asarray(logits, dtype=np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    m = (lam * p).max(axis=1)
    lse = (m + np.log(np.exp(lam * p - m[:, None]).sum(axis=1))) / lam
    return np.clip((1 - lse) / (1 - 1 / z.shape[1]), 0, 1)


def _data(n=400, n_classes=3, n_embedding=6, seed=0, **kw):
    return make_classifier_outputs(
        n_samples=n,
        n_classes=n_classes,
        n_embedding=n_embedding,
        random_state=seed,
        **kw,
    )


def _signed_data(n=1200, seed=0):
    """Binary data whose errors a *linear* residual head can detect.

    In make_classifier_outputs the error signal (embedding column 0) is
    independent of the predicted class, so no linear map of the embedding
    can move the margin towards 0 for both predicted classes; a real
    classifier's embedding carries its predicted class. The extra column
    ``emb0 * (+1 if predicted 1 else -1)`` plays that role.
    """
    X, y = make_classifier_outputs(
        n_samples=n,
        n_classes=2,
        n_embedding=4,
        error_rate=0.25,
        embedding_signal=3.0,
        random_state=seed,
    )
    sign = np.where(X[:, :2].argmax(axis=1) == 1, 1.0, -1.0)
    return np.hstack([X, (X[:, 2] * sign)[:, None]]).astype(np.float32), y


# -- exact initialisation ----------------------------------------------------------
@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_untrained_head_is_normalised_entropy(head):
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=0, head=head, random_state=0).fit(X, y)
    u = est.predict_uncertainty(X)
    assert np.abs(u - _np_entropy(X[:, :3])).max() < 1e-6
    assert est.n_iter_ == 0 and est.loss_curve_ == []


def test_untrained_smoothmax_head_is_smoothmax_of_logits():
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=0, score_function="smoothmax")
    u = est.fit(X, y).predict_uncertainty(X)
    assert np.abs(u - _np_smoothmax(X[:, :3])).max() < 1e-6


def test_random_init_is_not_entropy():
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=0, init="random", random_state=0)
    u = est.fit(X, y).predict_uncertainty(X)
    assert np.abs(u - _np_entropy(X[:, :3])).max() > 1e-2


# -- closed-form training == autograd training ---------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"score_function": "smoothmax", "alpha": 0.0},
        {"init": "random", "beta": 0.0},
        {"validation_fraction": 0.25, "n_iter_no_change": 2},
    ],
)
def test_analytic_fit_equals_autograd_fit(params):
    X, y = _data(n=300)
    kw = dict(learning_rate=3e-2, max_epochs=5, batch_size=64, random_state=3)
    kw.update(params)
    fast = AlienUncertaintyEstimator(**kw).fit(X, y)
    ref = AlienUncertaintyEstimator(**kw)
    ref._analytic = False
    ref.fit(X, y)
    np.testing.assert_allclose(fast.loss_curve_, ref.loss_curve_, rtol=1e-10)
    for a, b in zip(fast.module_.parameters(), ref.module_.parameters(), strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)
    np.testing.assert_allclose(
        fast.predict_uncertainty(X), ref.predict_uncertainty(X), atol=1e-10
    )
    if "validation_fraction" in params:
        np.testing.assert_allclose(fast.validation_scores_, ref.validation_scores_)
        assert fast.best_iteration_ == ref.best_iteration_


# -- reproducibility and persistence ------------------------------------------------
@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_same_seed_gives_bit_identical_scores(head):
    X, y = _data()
    kw = dict(head=head, hidden_size=8, max_epochs=3, learning_rate=1e-2)
    a = AlienUncertaintyEstimator(random_state=7, **kw).fit(X, y)
    b = AlienUncertaintyEstimator(random_state=7, **kw).fit(X, y)
    c = AlienUncertaintyEstimator(random_state=8, **kw).fit(X, y)
    np.testing.assert_array_equal(a.predict_uncertainty(X), b.predict_uncertainty(X))
    assert not np.array_equal(a.predict_uncertainty(X), c.predict_uncertainty(X))


def test_random_state_does_not_touch_global_torch_rng():
    X, y = _data()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    AlienUncertaintyEstimator(
        max_epochs=2, head="mlp", hidden_size=4, random_state=0
    ).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3).numpy(), expected.numpy())


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_pickle_and_joblib_round_trip(head, tmp_path):
    X, y = _data()
    est = AlienUncertaintyEstimator(
        head=head, hidden_size=8, max_epochs=2, learning_rate=1e-2, random_state=0
    ).fit(X, y)
    before = est.predict_uncertainty(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(est)).predict_uncertainty(X), before
    )
    joblib.dump(est, tmp_path / "est.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "est.joblib").predict_uncertainty(X), before
    )


def test_head_fitted_on_cuda_unpickles_on_cpu():
    # No GPU here: fake a CUDA-fitted estimator by recording device_ as cuda
    # (its head is on the CPU, as __getstate__ would leave it), then unpickle
    # where CUDA is reported unavailable.
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=2, random_state=0).fit(X, y)
    before = est.predict_uncertainty(X)
    est.device_ = torch.device("cuda")
    blob = pickle.dumps(est)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(DeviceWarning, match="'cuda'.*loaded on the CPU"):
            loaded = pickle.loads(blob)
    assert loaded.device_ == torch.device("cpu")
    assert all(p.device.type == "cpu" for p in loaded.module_.parameters())
    np.testing.assert_array_equal(loaded.predict_uncertainty(X), before)


def test_head_fitted_on_a_missing_gpu_index_unpickles_on_cpu():
    # fitted on cuda:1, loaded where CUDA exists but only one GPU is visible
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=1, random_state=0).fit(X, y)
    est.device_ = torch.device("cuda", 1)
    blob = pickle.dumps(est)
    with (
        mock.patch("torch.cuda.is_available", return_value=True),
        mock.patch("torch.cuda.device_count", return_value=1),
        pytest.warns(DeviceWarning, match="'cuda:1'.*loaded on the CPU"),
    ):
        loaded = pickle.loads(blob)
    assert loaded.device_ == torch.device("cpu")


@pytest.mark.parametrize("device", ["meta", "xpu", "ipu"])
def test_unsupported_torch_devices_are_a_clear_error(device):
    X, y = _data()
    with pytest.raises(ValueError, match=f"device='{device}' is not supported"):
        AlienUncertaintyEstimator(device=device).fit(X, y)


@pytest.mark.parametrize("n_classes, too_small", [(2, 1.38), (3, 1.64), (5, 1.0)])
def test_smoothmax_lambda_too_small_for_any_positive_score(n_classes, too_small):
    # logsumexp(lam p) / lam >= 1/C + log(C)/lam, so the raw score
    # (1 - smoothmax) / (1 - 1/C) is <= 0 everywhere once lam <= C log C/(C-1)
    C = n_classes
    bound = C * np.log(C) / (C - 1)
    p = np.full(C, 1.0 / C)  # the score's maximum is at the uniform p
    top = (1 - np.log(np.exp(bound * p).sum()) / bound) / (1 - 1 / C)
    assert abs(top) < 1e-12
    X, y = _data(n_classes=C)
    est = AlienUncertaintyEstimator(
        score_function="smoothmax", smoothmax_lambda=too_small, max_epochs=1
    )
    with pytest.raises(ValueError, match=f"too small for {C} classes"):
        est.fit(X, y)
    est.set_params(smoothmax_lambda=bound * 1.05).fit(X, y)
    assert np.unique(est.predict_uncertainty(X)).size > 10  # not all clamped to 0


def test_getstate_stores_the_head_on_cpu():
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=1, random_state=0).fit(X, y)
    state = est.__getstate__()
    assert all(p.device.type == "cpu" for p in state["module_"].parameters())
    buf = io.BytesIO()
    joblib.dump(est, buf)
    assert buf.tell() > 0


def test_cuda_without_gpu_is_a_clear_error():
    X, y = _data()
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.raises(ValueError, match="CUDA is not available"):
            AlienUncertaintyEstimator(device="cuda").fit(X, y)


# -- it learns -------------------------------------------------------------------
def test_mlp_head_beats_entropy_when_errors_live_in_the_embedding():
    X, y = _data(n=1500, n_classes=3, error_rate=0.25)
    est = AlienUncertaintyEstimator(
        head="mlp", hidden_size=32, learning_rate=3e-2, max_epochs=10, random_state=0
    )
    est.fit(X[:1000], y[:1000])
    errors = X[1000:, :3].argmax(axis=1) != y[1000:]
    auc_entropy = roc_auc_score(errors, _np_entropy(X[1000:, :3]))
    auc = est.score(X[1000:], y[1000:])
    assert auc > auc_entropy + 0.15, (auc, auc_entropy)


def test_linear_head_beats_entropy_when_embedding_carries_the_class():
    X, y = _signed_data(n=3000)
    est = AlienUncertaintyEstimator(learning_rate=1e-2, max_epochs=40, random_state=0)
    est.fit(X[:2000], y[:2000])
    errors = X[2000:, :2].argmax(axis=1) != y[2000:]
    auc_entropy = roc_auc_score(errors, _np_entropy(X[2000:, :2]))
    auc = est.score(X[2000:], y[2000:])
    assert auc > auc_entropy + 0.15, (auc, auc_entropy)


def test_large_alpha_keeps_scores_near_entropy():
    X, y = _signed_data(n=600)
    ent = _np_entropy(X[:, :2])
    dev = {}
    for alpha in (0.0, 1e3):
        est = AlienUncertaintyEstimator(
            alpha=alpha, beta=0.0, learning_rate=3e-2, max_epochs=10, random_state=0
        ).fit(X, y)
        dev[alpha] = np.abs(est.predict_uncertainty(X) - ent).mean()
    assert dev[0.0] > 0.05
    assert dev[1e3] < 0.2 * dev[0.0], dev


def test_large_beta_keeps_parameters_near_init():
    X, y = _signed_data(n=600)
    norm = {}
    for beta in (0.0, 1e3):
        est = AlienUncertaintyEstimator(
            alpha=0.0, beta=beta, learning_rate=3e-2, max_epochs=10, random_state=0
        ).fit(X, y)
        # init="entropy": theta0 = 0, so ||theta - theta0|| = ||theta||
        norm[beta] = sum(float((p**2).sum()) for p in est.module_.parameters()) ** 0.5
    assert norm[0.0] > 0.1
    assert norm[1e3] < 0.05 * norm[0.0], norm


def test_grid_search_runs_in_parallel_and_picks_by_roc_auc():
    X, y = _signed_data(n=600)
    grid = {"alpha": [0.01, 1.0], "beta": [0.0, 1e3], "learning_rate": [1e-2]}
    cv = KFold(3, shuffle=True, random_state=0)
    est = AlienUncertaintyEstimator(n_logits=2, max_epochs=3, random_state=0)
    search = GridSearchCV(est, grid, cv=cv, n_jobs=2).fit(X, y)
    # independent scoring of the winner: misclassification ROC-AUC per fold
    scores = []
    for train, test in cv.split(X):
        model = clone(est).set_params(**search.best_params_).fit(X[train], y[train])
        errors = X[test, :2].argmax(axis=1) != y[test]
        scores.append(roc_auc_score(errors, model.predict_uncertainty(X[test])))
    assert search.best_score_ == pytest.approx(np.mean(scores), abs=1e-12)
    assert search.best_score_ == max(search.cv_results_["mean_test_score"])


# -- early stopping --------------------------------------------------------------------
def test_early_stopping_records_scores_and_keeps_best_epoch():
    X, y = _data(n=600)
    est = AlienUncertaintyEstimator(
        head="mlp",
        hidden_size=16,
        learning_rate=5e-2,
        max_epochs=30,
        validation_fraction=0.3,
        n_iter_no_change=2,
        random_state=0,
    ).fit(X, y)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_ == len(est.loss_curve_)
    assert est.best_iteration_ >= 1  # training helps here
    assert scores[est.best_iteration_ - 1] == max(scores)
    assert max(scores) > est.initial_validation_score_
    assert est.n_iter_ <= est.best_iteration_ + 2
    assert est.n_iter_ < 30


def test_early_stopping_keeps_the_entropy_head_when_no_epoch_beats_it():
    # the errors are exactly the most uncertain rows: the entropy ranks them
    # perfectly (validation ROC-AUC 1), so no epoch can strictly beat it and
    # the untrained head, i.e. the entropy itself, must be kept
    rng = np.random.default_rng(0)
    n = 400
    margin = rng.uniform(0.0, 6.0, n)
    logits = np.stack([margin, np.zeros(n)], axis=1)
    emb = rng.standard_normal((n, 5))
    X = np.hstack([logits, emb])
    y = np.zeros(n, dtype=int)
    y[margin < np.quantile(margin, 0.25)] = 1  # wrong on the lowest margins
    est = AlienUncertaintyEstimator(
        learning_rate=0.5,
        max_epochs=4,
        validation_fraction=0.3,
        n_iter_no_change=10,
        random_state=0,
    ).fit(X, y)
    assert est.initial_validation_score_ == 1.0
    assert est.best_iteration_ == 0
    assert len(est.validation_scores_) == 4
    assert min(est.validation_scores_) < 1.0  # training did move the head
    np.testing.assert_allclose(
        est.predict_uncertainty(X), _np_entropy(logits), rtol=0, atol=1e-12
    )


def test_refit_without_validation_drops_validation_attributes():
    X, y = _data(n=300)
    est = AlienUncertaintyEstimator(max_epochs=2, validation_fraction=0.2).fit(X, y)
    assert len(est.validation_scores_) == 2
    est.set_params(validation_fraction=None).fit(X, y)
    assert not hasattr(est, "validation_scores_")
    assert not hasattr(est, "initial_validation_score_")
    assert not hasattr(est, "best_iteration_")
    # as documented, max_epochs=0 splits nothing off either
    est.set_params(validation_fraction=0.2).fit(X, y)
    est.set_params(max_epochs=0).fit(X, y)
    assert not hasattr(est, "validation_scores_")
    assert not hasattr(est, "best_iteration_")


def test_early_stopping_needs_errors_in_both_classes():
    X, y = _data(n=100)
    y = X[:, :3].argmax(axis=1)
    y[0] = (y[0] + 1) % 3  # a single error
    with pytest.raises(ValueError, match="validation_fraction=0.2 needs at least two"):
        AlienUncertaintyEstimator(validation_fraction=0.2).fit(X, y)


# -- layouts ---------------------------------------------------------------------------
def test_logits_only_input_learns_a_bias():
    X, y = _data()
    est = AlienUncertaintyEstimator(learning_rate=1e-2, max_epochs=2, random_state=0)
    est.fit(X[:, :3], y)
    assert est.module_.weight.shape == (3, 0)
    assert est.predict_uncertainty(X[:, :3]).shape == (400,)
    assert np.abs(est.module_.bias.numpy()).max() > 0


def test_string_labels_through_classes():
    X, y = _data()
    names = np.array(["a", "b", "c"])
    est = AlienUncertaintyEstimator(classes=names, max_epochs=1, random_state=0)
    est.fit(X, names[y])
    assert list(est.classes_) == ["a", "b", "c"]
    assert est.score(X, names[y]) == pytest.approx(
        roc_auc_score(X[:, :3].argmax(1) != y, est.predict_uncertainty(X))
    )


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = _data()
    AlienUncertaintyEstimator(max_epochs=3, verbose=1, random_state=0).fit(X, y)
    assert len(re.findall(r"epoch \d/3: loss", capsys.readouterr().out)) == 3


def test_silent_by_default(capsys):
    X, y = _data()
    AlienUncertaintyEstimator(max_epochs=2, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


# -- bad input -------------------------------------------------------------------------
def test_nan_and_inf_are_rejected():
    X, y = _data()
    for bad in (np.nan, np.inf):
        X2 = X.copy()
        X2[5, 4] = bad
        with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
            AlienUncertaintyEstimator().fit(X2, y)
    est = AlienUncertaintyEstimator(max_epochs=0).fit(X, y)
    X2 = X.copy()
    X2[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict_uncertainty(X2)


def test_wrong_number_of_columns_at_predict():
    X, y = _data()
    est = AlienUncertaintyEstimator(max_epochs=0).fit(X, y)
    with pytest.raises(ValueError, match="X has 8 features, but .* expecting 9"):
        est.predict_uncertainty(X[:, :8])


def test_fewer_columns_than_n_logits():
    X, y = _data()
    with pytest.raises(ValueError, match="X has 2 columns but must hold at least 3"):
        AlienUncertaintyEstimator().fit(X[:, :2], y)
    with pytest.raises(ValueError, match="X has 3 columns but must hold at least 4"):
        AlienUncertaintyEstimator(n_logits=4).fit(X[:, :3], y)


def test_labels_not_in_classes():
    X, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    labels[7] = "z"
    with pytest.raises(ValueError, match=r"labels not in classes: \['z'\] .*row 7"):
        AlienUncertaintyEstimator(classes=["a", "b", "c"]).fit(X, labels)


def test_single_sample():
    X, y = _data()
    with pytest.raises(ValueError, match="1 sample"):
        AlienUncertaintyEstimator().fit(X[:1], y[:1])


def test_y_with_one_class():
    X, y = _data()
    with pytest.raises(ValueError, match="y holds a single class"):
        AlienUncertaintyEstimator().fit(X, np.zeros_like(y))


@pytest.mark.parametrize("all_wrong", [False, True])
def test_no_errors_warns_and_keeps_entropy_head(all_wrong):
    X, y = _data()
    pred = X[:, :3].argmax(axis=1)
    y = (pred + 1) % 3 if all_wrong else pred
    est = AlienUncertaintyEstimator(init="random", random_state=0)
    msg = "only errors" if all_wrong else "no error"
    with pytest.warns(NoErrorsWarning, match=msg):
        est.fit(X, y)
    assert est.n_iter_ == 0
    assert np.abs(est.predict_uncertainty(X) - _np_entropy(X[:, :3])).max() < 1e-6


@pytest.mark.parametrize(
    "params, match",
    [
        ({"alpha": -1.0}, "'alpha' parameter"),
        ({"learning_rate": 0.0}, "'learning_rate' parameter"),
        ({"head": "cnn"}, "'head' parameter"),
        ({"init": "zeros"}, "'init' parameter"),
        ({"score_function": "margin"}, "'score_function' parameter"),
        ({"validation_fraction": 1.0}, "'validation_fraction' parameter"),
        ({"batch_size": 0}, "'batch_size' parameter"),
    ],
)
def test_invalid_parameters(params, match):
    X, y = _data(n=50)
    with pytest.raises(ValueError, match=match):
        AlienUncertaintyEstimator(**params).fit(X, y)


def test_float32_and_float64_inputs_agree():
    X, y = _data()
    a = AlienUncertaintyEstimator(max_epochs=2, learning_rate=1e-2, random_state=0)
    b = clone(a)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ua = a.fit(X, y).predict_uncertainty(X)
        ub = b.fit(X.astype(np.float64), y).predict_uncertainty(X.astype(np.float64))
    np.testing.assert_array_equal(ua, ub)


def test_device_auto_resolves_to_an_available_device():
    X, y = _data()
    with mock.patch("torch.cuda.is_available", return_value=False):
        est = AlienUncertaintyEstimator(device="auto", max_epochs=1).fit(X, y)
    assert est.device_ in (torch.device("cpu"), torch.device("mps"))


@pytest.mark.gpu
@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_cuda_fit_matches_cpu_and_unpickles_on_cpu(head):
    X, y = _data()
    kw = dict(head=head, hidden_size=8, max_epochs=3, learning_rate=1e-2)
    cpu = AlienUncertaintyEstimator(random_state=0, **kw).fit(X, y)
    gpu = AlienUncertaintyEstimator(device="cuda", random_state=0, **kw).fit(X, y)
    assert gpu.device_.type == "cuda"
    u = gpu.predict_uncertainty(X)
    np.testing.assert_allclose(u, cpu.predict_uncertainty(X), atol=1e-8)
    blob = pickle.dumps(gpu)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(DeviceWarning):
            loaded = pickle.loads(blob)
    assert loaded.device_ == torch.device("cpu")
    np.testing.assert_allclose(loaded.predict_uncertainty(X), u, atol=1e-12)


# -- context and state ---------------------------------------------------------------
@pytest.mark.parametrize("context", [torch.no_grad, torch.inference_mode])
@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_fit_under_no_grad_equals_a_plain_fit(context, head):
    # users often wrap inference code in no_grad; fit must still train
    X, y = _data(n=200)
    params = dict(head=head, hidden_size=8, max_epochs=2, random_state=0)
    expected = AlienUncertaintyEstimator(**params).fit(X, y).predict_uncertainty(X)
    with context():
        est = AlienUncertaintyEstimator(**params).fit(X, y)
    np.testing.assert_array_equal(est.predict_uncertainty(X), expected)
    assert len(est.loss_curve_) == 2


def test_failed_refit_leaves_no_usable_head():
    from sklearn.exceptions import NotFittedError

    X, y = _data(n=200)
    est = AlienUncertaintyEstimator(max_epochs=1).fit(X, y)
    y_bad = y.copy()
    y_bad[0] = 7  # a label outside the 3 logits
    with pytest.raises(ValueError, match="label 7 at row 0"):
        est.set_params(n_logits=3).fit(X, y_bad)
    with pytest.raises(NotFittedError):
        est.predict_uncertainty(X)


def test_untrained_head_skips_the_validation_split():
    # one error only: a validation split is impossible, but nothing is trained
    X, y = _data(n=100)
    y = X[:, :3].argmax(axis=1)
    y[0] = (y[0] + 1) % 3
    est = AlienUncertaintyEstimator(max_epochs=0, validation_fraction=0.2).fit(X, y)
    assert np.abs(est.predict_uncertainty(X) - _np_entropy(X[:, :3])).max() < 1e-6


def test_integer_labels_in_an_object_array():
    X, y = _data(n=200)
    a = AlienUncertaintyEstimator(max_epochs=1, random_state=0).fit(X, y)
    b = AlienUncertaintyEstimator(max_epochs=1, random_state=0).fit(X, y.astype(object))
    np.testing.assert_array_equal(a.predict_uncertainty(X), b.predict_uncertainty(X))
    y_obj = y.astype(object)
    y_obj[5] = "x"
    with pytest.raises(ValueError, match="'x' at row 5"):
        AlienUncertaintyEstimator(max_epochs=1).fit(X, y_obj)


def test_score_reads_labels_through_the_fitted_classes():
    # set_params(classes=None) after fit must not change how score maps labels
    X, y = _data(n=200)
    order = np.array([2, 0, 1])  # logit k holds label order[k]
    est = AlienUncertaintyEstimator(classes=order, max_epochs=0).fit(X, order[y])
    errors = X[:, :3].argmax(axis=1) != y
    expected = roc_auc_score(errors, _np_entropy(X[:, :3]))
    assert est.score(X, order[y]) == pytest.approx(expected)
    est.set_params(classes=None)
    assert est.score(X, order[y]) == pytest.approx(expected)


@pytest.mark.parametrize("head", ["linear", "mlp"])
def test_no_torch_warnings_on_read_only_or_logits_only_input(head):
    X, y = _data(n=100)
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = AlienUncertaintyEstimator(head=head, max_epochs=1).fit(X, y)
        AlienUncertaintyEstimator(head=head, max_epochs=1).fit(X[:, :3], y)
        # predicting on a read-only (e.g. memory-mapped) array too
        est.predict_uncertainty(X)
        est.score(X, y)
        est.predict_uncertainty(X.astype(np.float32))


def test_parameters_after_classes_are_keyword_only():
    with pytest.raises(TypeError, match="positional"):
        AlienUncertaintyEstimator(3, None, 0.5)
    assert AlienUncertaintyEstimator(3, None, alpha=0.5).alpha == 0.5
