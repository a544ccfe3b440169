# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AlienUncertaintyEstimator against independent references.

Each test pins a behaviour that a plausible bug could change while every
other test still passes. The references are written here from GUIDE section
3, not taken from alien_sk: a torch-autograd re-implementation of the loss
trained with ``torch.optim.Adam`` and torch's own ``OneCycleLR``, numpy
forward passes and hand-computed values. Training runs in one full batch, so
the row order within an epoch does not matter and the reference needs no
knowledge of the estimator's random permutations.
"""

import math
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score
from sklearn.utils._param_validation import InvalidParameterError

from alien_sk.estimator import AlienUncertaintyEstimator


# -- independent reference -------------------------------------------------------
def _ref_score(z, kind="entropy", lam=100.0):
    """Normalised entropy or AdUE smooth-max score of logits ``z`` (torch)."""
    C = z.shape[1]
    if kind == "entropy":
        log_p = torch.log_softmax(z, dim=1)
        return -(log_p.exp() * log_p).sum(dim=1) / math.log(C)
    p = torch.softmax(z, dim=1)
    return (1 - torch.logsumexp(lam * p, dim=1) / lam) / (1 - 1 / C)


def _ref_logits(params, X, C, head):
    x = torch.as_tensor(X, dtype=torch.float64)
    logits, h = x[:, :C], x[:, C:]
    if head == "linear":
        W, b = params
        return logits + h @ W.T + b
    W1, b1, W2, b2 = params
    return logits + torch.tanh(h @ W1.T + b1) @ W2.T + b2


def _ref_fit(
    X,
    e,
    params0,
    C,
    *,
    head="linear",
    alpha,
    beta,
    lr,
    epochs,
    kind="entropy",
    lam=100.0,
    X_val=None,
    e_val=None,
    patience=None,
):
    """Full-batch ALIEN training, GUIDE section 3, with torch's own optimiser
    and OneCycleLR (cosine, pct_start 0.1, div 25, final div 1e4, momentum
    0.95 -> 0.85 -> 0.95); optional early stopping on validation ROC-AUC."""
    params = [
        torch.tensor(np.asarray(p, dtype=np.float64), requires_grad=True)
        for p in params0
    ]
    theta0 = [p.detach().clone() for p in params]
    et = torch.as_tensor(e, dtype=torch.float64)
    u0 = _ref_score(torch.as_tensor(X[:, :C], dtype=torch.float64), kind, lam)
    u0 = u0.clamp(1e-9, 1 - 1e-9)
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=lr,
        total_steps=epochs,
        anneal_strategy="cos",
        pct_start=0.1,
        div_factor=25.0,
        final_div_factor=1e4,
    )

    def predict(Xq):
        with torch.no_grad():
            return _ref_score(_ref_logits(params, Xq, C, head), kind, lam).numpy()

    out = {"losses": [], "predict": predict}
    early = X_val is not None
    if early:
        best = out["initial"] = roc_auc_score(e_val, predict(X_val))
        best_params = [p.detach().clone() for p in params]
        out["best"], no_improve = 0, 0
        out["scores"] = []
    for epoch in range(epochs):
        uc = _ref_score(_ref_logits(params, X, C, head), kind, lam)
        uc = uc.clamp(1e-9, 1 - 1e-9)
        loss = (
            -(et * uc.log() + (1 - et) * (1 - uc).log()).mean()
            + alpha * ((uc - u0) ** 2).mean()
            + beta
            * sum(((p - q) ** 2).sum() for p, q in zip(params, theta0, strict=True))
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        out["losses"].append(loss.item())
        if early:
            score = roc_auc_score(e_val, predict(X_val))
            out["scores"].append(score)
            if score > best:
                best, out["best"], no_improve = score, epoch + 1, 0
                best_params = [p.detach().clone() for p in params]
            else:
                no_improve += 1
            if no_improve >= patience:
                break
    if early:
        with torch.no_grad():
            for p, q in zip(params, best_params, strict=True):
                p.copy_(q)
    return out


def _errors(X, y, C):
    return (X[:, :C].argmax(axis=1) != y).astype(np.float64)


def _binary_data(n=160, seed=0):
    """Two classes; embedding column 0 carries the error signal signed by the
    predicted class, so that a linear residual head can learn it."""
    rng = np.random.default_rng(seed)
    margin = rng.normal(0.0, 2.0, n)
    logits = np.stack([margin, -margin], axis=1) / 2
    pred = (margin < 0).astype(int)
    wrong = rng.random(n) < 0.3
    y = np.where(wrong, 1 - pred, pred)
    signal = (2.0 * wrong - 1.0) + rng.normal(0.0, 1.0, n)
    sign = np.where(pred == 1, 1.0, -1.0)
    emb = np.column_stack([signal * sign, rng.normal(size=(n, 2))])
    return np.hstack([logits, emb]), y


def _three_class_data(n=150, seed=1):
    """Three classes, about 30% errors, the error signal in embedding column 0."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (n, 3))
    y = logits.argmax(axis=1)
    wrong = rng.random(n) < 0.3
    y[wrong] = (y[wrong] + rng.integers(1, 3, wrong.sum())) % 3
    emb = np.column_stack([wrong + rng.normal(0.0, 1.0, n), rng.normal(size=(n, 3))])
    # four rows so confident (logit gap 60) that the score clamps at 1e-9,
    # three of them wrong: each adds -log(1e-9) / n to the BCE
    logits[:4] = [60.0, 0.0, 0.0]
    y[:4] = [1, 2, 1, 0]
    return np.hstack([logits, emb]), y


class _SplitSpy:
    """Record the (train, validation) rows the estimator draws."""

    def __init__(self):
        self.split = None

    def patch(self):
        original = AlienUncertaintyEstimator._split

        def _split(est, errors, generator):
            self.split = original(est, errors, generator)
            return self.split

        return mock.patch.object(AlienUncertaintyEstimator, "_split", _split)


# -- training against the reference ------------------------------------------------
@pytest.mark.parametrize(
    "score_function, init", [("entropy", "entropy"), ("smoothmax", "random")]
)
def test_linear_fit_matches_reference_training(score_function, init):
    # one full batch per epoch: 20 optimiser steps over a 20-step one-cycle
    # schedule (a schedule restarted each epoch, a wrong term or a training
    # path that ignores `init` all show up here)
    X, y = _three_class_data()
    kw = dict(
        alpha=0.3,
        beta=0.05,
        learning_rate=5e-2,
        batch_size=256,
        score_function=score_function,
        init=init,
        random_state=0,
    )
    start = AlienUncertaintyEstimator(max_epochs=0, **kw).fit(X, y).module_
    params0 = [start.weight.numpy().copy(), start.bias.numpy().copy()]
    if init == "entropy":
        assert not np.any(params0[0]) and not np.any(params0[1])
    est = AlienUncertaintyEstimator(max_epochs=20, **kw).fit(X, y)
    ref = _ref_fit(
        X,
        _errors(X, y, 3),
        params0,
        3,
        alpha=0.3,
        beta=0.05,
        lr=5e-2,
        epochs=20,
        kind=score_function,
    )
    assert est.n_iter_ == 20
    np.testing.assert_allclose(est.loss_curve_, ref["losses"], rtol=1e-9)
    u_ref = np.clip(ref["predict"](X), 0.0, 1.0)
    np.testing.assert_allclose(est.predict_uncertainty(X), u_ref, rtol=0, atol=1e-9)
    assert (
        np.abs(
            u_ref
            - np.clip(_ref_score(torch.tensor(X[:, :3]), score_function).numpy(), 0, 1)
        ).max()
        > 1e-2
    )  # it trained


def test_mlp_fit_matches_reference_training():
    X, y = _binary_data()
    kw = dict(
        head="mlp",
        hidden_size=5,
        alpha=0.1,
        beta=0.01,
        learning_rate=0.1,
        batch_size=500,
        random_state=0,
    )
    start = AlienUncertaintyEstimator(max_epochs=0, **kw).fit(X, y).module_
    params0 = [
        t.numpy().copy()
        for t in (
            start.hidden.weight,
            start.hidden.bias,
            start.output.weight,
            start.output.bias,
        )
    ]
    est = AlienUncertaintyEstimator(max_epochs=15, **kw).fit(X, y)
    ref = _ref_fit(
        X,
        _errors(X, y, 2),
        params0,
        2,
        head="mlp",
        alpha=0.1,
        beta=0.01,
        lr=0.1,
        epochs=15,
    )
    np.testing.assert_allclose(est.loss_curve_, ref["losses"], rtol=1e-9)
    np.testing.assert_allclose(
        est.predict_uncertainty(X), ref["predict"](X), rtol=0, atol=1e-9
    )


def test_smoothmax_alignment_target_is_clamped():
    # with smoothmax_lambda=1.5 and two classes the smooth-max score of a
    # confident row is about -0.27; the alignment term compares Uc with the
    # *clamped* score of the logits (GUIDE section 3), i.e. with 1e-9
    X, y = _binary_data()
    X[:, :2] *= 3  # more confident rows, many with a negative score
    kw = dict(alpha=1.0, beta=0.01, learning_rate=5e-2, batch_size=500)
    est = AlienUncertaintyEstimator(
        max_epochs=12, score_function="smoothmax", smoothmax_lambda=1.5, **kw
    ).fit(X, y)
    params0 = [np.zeros((2, 3)), np.zeros(2)]
    ref = _ref_fit(
        X,
        _errors(X, y, 2),
        params0,
        2,
        alpha=1.0,
        beta=0.01,
        lr=5e-2,
        epochs=12,
        kind="smoothmax",
        lam=1.5,
    )
    raw = _ref_score(torch.tensor(X[:, :2]), "smoothmax", 1.5).numpy()
    assert (raw < -0.1).sum() > 10  # the case under test
    np.testing.assert_allclose(est.loss_curve_, ref["losses"], rtol=1e-9)
    np.testing.assert_allclose(
        est.predict_uncertainty(X), np.clip(ref["predict"](X), 0, 1), atol=1e-9
    )


@pytest.mark.parametrize("analytic", [True, False])
def test_early_stopping_matches_reference(analytic):
    # the reference trains on the training rows only, scores the validation
    # rows after each epoch, stops after 3 epochs without strict improvement
    # and restores the best epoch's head (here epoch 10 of 13)
    X, y = _binary_data()
    est = AlienUncertaintyEstimator(
        learning_rate=0.3,
        max_epochs=30,
        batch_size=1000,
        validation_fraction=0.3,
        n_iter_no_change=3,
        alpha=0.1,
        beta=0.01,
        random_state=0,
    )
    est._analytic = analytic
    spy = _SplitSpy()
    with spy.patch():
        est.fit(X, y)
    train, val = spy.split
    e = _errors(X, y, 2)
    ref = _ref_fit(
        X[train],
        e[train],
        [np.zeros((2, 3)), np.zeros(2)],
        2,
        alpha=0.1,
        beta=0.01,
        lr=0.3,
        epochs=30,
        X_val=X[val],
        e_val=e[val],
        patience=3,
    )
    assert 0 < ref["best"] < len(ref["scores"]) < 30  # the case under test
    assert est.initial_validation_score_ == pytest.approx(ref["initial"])
    np.testing.assert_allclose(est.validation_scores_, ref["scores"])
    assert est.best_iteration_ == ref["best"]
    assert est.n_iter_ == len(ref["scores"])
    np.testing.assert_allclose(est.loss_curve_, ref["losses"], rtol=1e-9)
    np.testing.assert_allclose(
        est.predict_uncertainty(X), ref["predict"](X), rtol=0, atol=1e-9
    )


def test_early_stopping_needs_a_strict_improvement():
    # a learning rate of 1e-12 moves the scores by ~1e-12, which changes no
    # ranking: every epoch ties the untrained head, none strictly beats it, so
    # training stops after n_iter_no_change epochs and the entropy is kept
    X, y = _binary_data()
    est = AlienUncertaintyEstimator(
        learning_rate=1e-12,
        max_epochs=20,
        validation_fraction=0.3,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y)
    assert est.validation_scores_ == [est.initial_validation_score_] * 3
    assert est.n_iter_ == 3 and est.best_iteration_ == 0
    u_ref = _ref_score(torch.tensor(X[:, :2])).numpy()
    np.testing.assert_allclose(est.predict_uncertainty(X), u_ref, rtol=0, atol=1e-14)


def test_validation_split_sizes():
    # 12 errors and 26 correct rows, validation_fraction=0.3: round(3.6) = 4
    # errors and round(7.8) = 8 correct rows are held out, disjoint from the
    # training rows, which together cover every row
    rng = np.random.default_rng(0)
    X = rng.normal(size=(38, 4))
    y = X[:, :2].argmax(axis=1)
    y[:12] = 1 - y[:12]
    spy = _SplitSpy()
    with spy.patch():
        AlienUncertaintyEstimator(
            max_epochs=1, validation_fraction=0.3, random_state=0
        ).fit(X, y)
    train, val = spy.split
    e = _errors(X, y, 2)
    assert (e[val].sum(), (1 - e[val]).sum()) == (4, 8)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(38))


def test_validation_split_leaves_an_error_for_training():
    # two errors, validation_fraction=0.9: round(1.8) = 2 would hold out both
    # errors; one of them must stay in the training rows
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = X[:, :2].argmax(axis=1)
    y[:2] = 1 - y[:2]
    spy = _SplitSpy()
    with spy.patch():
        AlienUncertaintyEstimator(
            max_epochs=1, validation_fraction=0.9, random_state=0
        ).fit(X, y)
    train, val = spy.split
    e = _errors(X, y, 2)
    assert e[train].sum() == 1 and e[val].sum() == 1
    assert (1 - e[train]).sum() >= 1


# -- scores and initialisation -----------------------------------------------------
def test_predictions_are_clipped_to_the_unit_interval():
    # smoothmax_lambda=1.5 (> 2 log 2) with two classes: a confident row has
    # (1 - log(e^1.5 + 1) / 1.5) / (1 - 1/2) ~ -0.27 < 0, which is clipped to 0
    X = np.array([[8.0, 0.0], [0.0, 8.0], [0.1, 0.0], [0.0, 0.2]])
    y = np.array([0, 0, 1, 1])
    est = AlienUncertaintyEstimator(
        max_epochs=0, score_function="smoothmax", smoothmax_lambda=1.5
    ).fit(X, y)
    u = est.predict_uncertainty(X)
    raw = (
        1
        - np.log(
            np.exp(1.5 * (1 / (1 + np.exp(-8.0)))) + np.exp(1.5 / (1 + np.exp(8.0)))
        )
        / 1.5
    ) / 0.5
    assert raw < -0.2
    assert u[0] == 0.0 and u[1] == 0.0
    assert 0.0 < u[2] <= 1.0 and 0.0 < u[3] <= 1.0


def test_smoothmax_lambda_at_the_bound_is_refused():
    # it must exceed C log(C) / (C - 1); at the bound every score is <= 0
    X, y = _binary_data(n=40)
    with pytest.raises(ValueError, match="too small for 2 classes"):
        AlienUncertaintyEstimator(
            score_function="smoothmax", smoothmax_lambda=2 * math.log(2), max_epochs=1
        ).fit(X, y)


def _np_entropy(z):
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(np.exp(log_p) * log_p).sum(axis=1) / np.log(z.shape[1])


def _assert_uniform(a, bound):
    # drawn from U(-bound, bound): inside it, both signs, spread over it
    a = np.asarray(a)
    assert np.all(np.abs(a) <= bound) and np.all(a != 0)
    if a.size >= 12:
        assert a.min() < -0.4 * bound and a.max() > 0.4 * bound


def test_linear_random_init_is_torch_linear_like():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3 + 16))
    y = np.arange(60) % 3
    est = AlienUncertaintyEstimator(max_epochs=0, init="random", random_state=0)
    head = est.fit(X, y).module_
    _assert_uniform(head.weight.numpy(), 0.25)  # 1 / sqrt(16)
    _assert_uniform(head.bias.numpy(), 0.25)
    z = X[:, :3] + X[:, 3:] @ head.weight.numpy().T + head.bias.numpy()
    np.testing.assert_allclose(est.predict_uncertainty(X), _np_entropy(z), atol=1e-12)


@pytest.mark.parametrize("init", ["entropy", "random"])
def test_mlp_init_and_forward(init):
    # hidden layer U(+-1/sqrt(d)) with d = 16; output layer zero ("entropy") or
    # U(+-1/sqrt(hidden_size)) ("random"); z = logits + W2 tanh(W1 h + b1) + b2
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3 + 16))
    y = np.arange(60) % 3
    est = AlienUncertaintyEstimator(
        head="mlp", hidden_size=4, max_epochs=0, init=init, random_state=0
    ).fit(X, y)
    W1, b1, W2, b2 = (
        t.numpy()
        for t in (
            est.module_.hidden.weight,
            est.module_.hidden.bias,
            est.module_.output.weight,
            est.module_.output.bias,
        )
    )
    assert W1.shape == (4, 16) and W2.shape == (3, 4)
    _assert_uniform(W1, 0.25)
    _assert_uniform(b1, 0.25)
    if init == "entropy":
        assert not np.any(W2) and not np.any(b2)
    else:
        _assert_uniform(W2, 0.5)  # 1 / sqrt(4)
        _assert_uniform(b2, 0.5)
    z = X[:, :3] + np.tanh(X[:, 3:] @ W1.T + b1) @ W2.T + b2
    u = est.predict_uncertainty(X)
    np.testing.assert_allclose(u, _np_entropy(z), atol=1e-12)
    if init == "random":
        assert np.abs(u - _np_entropy(X[:, :3])).max() > 1e-2


# -- parameter and label validation -----------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"n_iter_no_change": 0},
        {"validation_fraction": 0.0},
        {"hidden_size": 0},
        {"max_epochs": -1},
        {"beta": -0.1},
        {"smoothmax_lambda": 0.0},
    ],
)
def test_out_of_range_parameters_are_refused(params):
    X, y = _binary_data(n=40)
    with pytest.raises(InvalidParameterError, match=f"'{next(iter(params))}'"):
        AlienUncertaintyEstimator(**params).fit(X, y)


def test_auto_n_logits_counts_up_to_the_largest_label():
    # labels {0, 2}: label 2 indexes the third logit, so n_logits_ = 3
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    y = np.where(np.arange(30) % 2 == 0, 0, 2)
    est = AlienUncertaintyEstimator(max_epochs=0).fit(X, y)
    assert est.n_logits_ == 3
    np.testing.assert_array_equal(est.classes_, [0, 1, 2])
    np.testing.assert_allclose(
        est.predict_uncertainty(X), _np_entropy(X[:, :3]), atol=1e-12
    )


def test_label_equal_to_n_logits_is_refused():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 5))
    y = np.arange(30) % 3
    y[4] = 3  # one past the last of the 3 logits
    with pytest.raises(ValueError, match="label 3 at row 4 is outside"):
        AlienUncertaintyEstimator(n_logits=3, max_epochs=0).fit(X, y)


def test_alien_loss_clamps_scores_at_1e_9():
    # GUIDE section 3: U is clamped to [1e-9, 1 - 1e-9] before the BCE; scores
    # 0 and 1 on an error and a correct row each cost -log(1e-9)
    from alien_sk.head import alien_loss

    u = torch.tensor([0.0, 1.0], dtype=torch.float64)
    e = torch.tensor([1.0, 0.0], dtype=torch.float64)
    loss = alien_loss(u, e, torch.full((2,), 0.5, dtype=torch.float64), [], [], 0, 0)
    assert loss.item() == pytest.approx(-math.log(1e-9), rel=1e-6)


def test_classes_and_n_logits_must_agree():
    X, y = _binary_data(n=40)
    with pytest.raises(ValueError, match="n_logits=3 is inconsistent with classes"):
        AlienUncertaintyEstimator(n_logits=3, classes=[0, 1]).fit(X, y)


def test_classes_must_not_repeat_a_label():
    X, y = _binary_data(n=40)
    with pytest.raises(ValueError, match=r"must not repeat a label; \[1\]"):
        AlienUncertaintyEstimator(classes=[1, 0, 1]).fit(X, y)


def test_missing_cuda_index_is_a_clear_error():
    X, y = _binary_data(n=40)
    with (
        mock.patch("torch.cuda.is_available", return_value=True),
        mock.patch("torch.cuda.device_count", return_value=1),
        pytest.raises(ValueError, match="only 1 CUDA device"),
    ):
        AlienUncertaintyEstimator(device="cuda:1", max_epochs=1).fit(X, y)


@pytest.mark.parametrize("classes", [[0], [[0, 1]]], ids=["one label", "2-D"])
def test_classes_must_be_one_dimensional_with_two_labels(classes):
    X, y = _binary_data(n=40)
    with pytest.raises(ValueError, match=r"at least 2 label values .*got shape"):
        AlienUncertaintyEstimator(classes=classes, max_epochs=0).fit(X, y)


def test_labels_of_another_type_than_classes_are_named():
    # integer labels against string classes: the message names them and row 0
    # (numpy < 2 compares such arrays as a whole, with a FutureWarning)
    X, y = _binary_data(n=40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        with pytest.raises(
            ValueError, match=r"labels not in classes: \[0, 1\] .*row 0"
        ):
            AlienUncertaintyEstimator(classes=["neg", "pos"], max_epochs=0).fit(X, y)
