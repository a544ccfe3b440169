# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The head's building blocks against independent references.

The hand-written one-cycle schedule and Adam against ``torch.optim``; the loss
and the closed-form gradients against numpy / autograd.
"""

import math

import numpy as np
import pytest
import torch

from alien_sk import head as head_module
from alien_sk.head import (
    AdamNumpy,
    AutogradTrainer,
    LinearAnalyticTrainer,
    ResidualLinearHead,
    alien_loss,
    one_cycle_schedule,
)


@pytest.mark.parametrize("total_steps", [1, 3, 9, 11, 25, 157])
def test_one_cycle_schedule_matches_torch(total_steps):
    max_lr = 3e-4
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([param], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=max_lr,
        total_steps=total_steps,
        anneal_strategy="cos",
        pct_start=0.1,
        div_factor=25.0,
        final_div_factor=1e4,
    )
    ref_lr, ref_b1 = [], []
    for _ in range(total_steps):
        ref_lr.append(opt.param_groups[0]["lr"])
        ref_b1.append(opt.param_groups[0]["betas"][0])
        opt.step()
        sched.step()
    lr, b1 = one_cycle_schedule(total_steps, max_lr)
    np.testing.assert_array_equal(lr, ref_lr)
    np.testing.assert_array_equal(b1, ref_b1)


def test_one_cycle_schedule_one_step_warmup():
    # total_steps=10 makes torch's OneCycleLR divide by zero (a one-step
    # warm-up phase); ours starts that phase at its start values.
    lr, b1 = one_cycle_schedule(10, 1e-3)
    assert lr[0] == pytest.approx(1e-3 / 25)
    assert b1[0] == 0.95
    assert lr[-1] == pytest.approx(1e-3 / 25 / 1e4)
    assert np.all(np.isfinite(lr))


def test_adam_matches_torch_with_changing_lr_and_beta1():
    rng = np.random.default_rng(0)
    size, n_steps = 7, 30
    grads = rng.standard_normal((n_steps, size)) * np.logspace(-3, 1, size)
    lrs = rng.uniform(1e-4, 1e-2, n_steps)
    betas1 = rng.uniform(0.85, 0.95, n_steps)
    theta0 = rng.standard_normal(size)

    param = torch.nn.Parameter(torch.tensor(theta0))
    opt = torch.optim.Adam([param], lr=1.0, betas=(0.9, 0.999), eps=1e-8)
    theta = theta0.copy()
    adam = AdamNumpy(size)
    for k in range(n_steps):
        opt.param_groups[0]["lr"] = float(lrs[k])
        opt.param_groups[0]["betas"] = (float(betas1[k]), 0.999)
        param.grad = torch.tensor(grads[k])
        opt.step()
        adam.step(theta, grads[k], lrs[k], betas1[k])
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-13, atol=1e-15)


def _numpy_loss(X, e, u0, theta, theta0, C, alpha, beta, score="entropy", lam=100.0):
    """Independent numpy loss of one batch (GUIDE section 3)."""
    d = X.shape[1] - C
    W = theta[: C * d].reshape(C, d)
    b = theta[C * d :]
    z = X[:, :C] + X[:, C:] @ W.T + b
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    if score == "entropy":
        u = -(p * np.log(p)).sum(axis=1) / np.log(C)
    else:
        lse = np.log(np.exp(lam * p).sum(axis=1)) / lam
        u = (1 - lse) / (1 - 1 / C)
    uc = np.clip(u, 1e-9, 1 - 1e-9)
    bce = -np.mean(e * np.log(uc) + (1 - e) * np.log(1 - uc))
    return bce + alpha * np.mean((uc - u0) ** 2) + beta * np.sum((theta - theta0) ** 2)


@pytest.mark.parametrize("score", ["entropy", "smoothmax"])
@pytest.mark.parametrize("zero_init", [True, False])
def test_loss_value_matches_numpy(score, zero_init):
    rng = np.random.default_rng(1)
    n, C, d = 9, 3, 4
    X = rng.standard_normal((n, C + d))
    e = (rng.random(n) < 0.4).astype(float)
    u0 = rng.uniform(0.1, 0.9, n)
    theta0 = np.zeros(C * d + C) if zero_init else rng.normal(0, 0.3, C * d + C)
    theta = theta0 + rng.normal(0, 0.5, C * d + C)
    alpha, beta = 0.7, 0.05
    expected = _numpy_loss(X, e, u0, theta, theta0, C, alpha, beta, score)

    # analytic trainer: the loss it reports is that of the parameters it
    # starts the step with (one batch holds every row)
    tr = LinearAnalyticTrainer(
        X,
        e,
        u0,
        theta0[: C * d].reshape(C, d),
        theta0[C * d :],
        alpha,
        beta,
        n,
        score_function=score,
    )
    tr.set_state(theta)
    got = tr.run_epoch(np.arange(n), [1e-3], [0.9])
    assert got == pytest.approx(expected, rel=1e-12)

    # the torch loss used by the autograd trainer
    head = ResidualLinearHead(C, d, score)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(theta[: C * d].reshape(C, d)))
        head.bias.copy_(torch.tensor(theta[C * d :]))
    p0 = [torch.tensor(theta0[: C * d].reshape(C, d)), torch.tensor(theta0[C * d :])]
    loss = alien_loss(
        head(torch.tensor(X)),
        torch.tensor(e),
        torch.tensor(u0),
        list(head.parameters()),
        p0,
        alpha,
        beta,
    )
    assert loss.item() == pytest.approx(expected, rel=1e-12)


def test_loss_hand_computed():
    # two rows, logits (0, 0): U = 1 -> clamped to 1 - 1e-9; e = (1, 0)
    # BCE = (-log(1 - 1e-9) - log(1e-9)) / 2; alpha term with u0 = 0.5:
    # (0.5 - 1e-9)^2; beta term: theta = (0.5,) against theta0 = 0
    u = torch.tensor([1.0, 1.0], dtype=torch.float64)
    e = torch.tensor([1.0, 0.0], dtype=torch.float64)
    u0 = torch.tensor([0.5, 0.5], dtype=torch.float64)
    theta = [torch.tensor([0.5], dtype=torch.float64)]
    theta0 = [torch.tensor([0.0], dtype=torch.float64)]
    hi = 1 - 1e-9
    expected = (
        (-math.log(hi) - math.log(1 - hi)) / 2 + 0.1 * (hi - 0.5) ** 2 + 2.0 * 0.25
    )
    got = alien_loss(u, e, u0, theta, theta0, 0.1, 2.0).item()
    assert got == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("score", ["entropy", "smoothmax"])
@pytest.mark.parametrize("zero_init", [True, False])
@pytest.mark.parametrize("C, logit_scale", [(3, 2.0), (2, 2.0), (2, 30.0)])
def test_analytic_epoch_matches_autograd(score, zero_init, C, logit_scale):
    """Closed-form gradients + numpy Adam == autograd + torch.optim.Adam.

    ``logit_scale=30`` makes many rows so confident that U < 1e-9: the clamp
    then blocks their gradient, in both implementations. That regime is
    ill-conditioned for both (H = -(p0 log p0 + p1 log p1) with log p0 ~ -1e-12
    is computed from log(1 + tiny), which keeps few significant digits, and
    the BCE multiplies dU by 1/U ~ 1e9), so the two agree to ~1e-8 there;
    elsewhere they agree to ~1e-12.
    """
    tol = 1e-10 if logit_scale < 10 else 1e-6
    rng = np.random.default_rng(2)
    n, d, bs = 50, 5, 16
    X = rng.standard_normal((n, C + d)) * 2
    X[:, :C] *= logit_scale / 2
    e = (rng.random(n) < 0.3).astype(float)
    u0 = rng.uniform(0.05, 0.95, n)
    W0 = np.zeros((C, d)) if zero_init else rng.normal(0, 0.3, (C, d))
    b0 = np.zeros(C) if zero_init else rng.normal(0, 0.3, C)
    n_epochs = 4
    lrs, b1 = one_cycle_schedule(n_epochs * 4, 0.05)

    tr_a = LinearAnalyticTrainer(X, e, u0, W0, b0, 0.3, 0.02, bs, score)
    head = ResidualLinearHead(C, d, score)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(W0))
        head.bias.copy_(torch.tensor(b0))
    tr_g = AutogradTrainer(head, X, e, u0, 0.3, 0.02, bs, torch.device("cpu"))
    for epoch in range(n_epochs):
        perm = rng.permutation(n)
        sl = slice(4 * epoch, 4 * epoch + 4)
        la = tr_a.run_epoch(perm, lrs[sl], b1[sl])
        lg = tr_g.run_epoch(perm, lrs[sl], b1[sl])
        assert la == pytest.approx(lg, rel=tol, abs=1e-12)
    np.testing.assert_allclose(tr_a.weight, head.weight.detach().numpy(), atol=tol)
    np.testing.assert_allclose(tr_a.bias, head.bias.detach().numpy(), atol=tol)
    assert np.abs(tr_a.weight - W0).max() > 1e-2  # it did move


# -- the fast paths of the analytic trainer -------------------------------------
def _epochs(trainer, n, bs, n_epochs=3, seed=5, max_lr=0.05):
    rng = np.random.default_rng(seed)
    steps = -(-n // bs)
    lrs, b1 = one_cycle_schedule(n_epochs * steps, max_lr)
    losses = []
    for epoch in range(n_epochs):
        sl = slice(epoch * steps, (epoch + 1) * steps)
        losses.append(trainer.run_epoch(rng.permutation(n), lrs[sl], b1[sl]))
    return np.array(losses), trainer.get_state()


def _trainer_problem(dtype=np.float64, zero_init=True, C=3, n=70, d=6):
    rng = np.random.default_rng(4)
    X = (rng.standard_normal((n, C + d)) * 2).astype(dtype)
    e = (rng.random(n) < 0.3).astype(float)
    u0 = rng.uniform(0.05, 0.95, n)
    W0 = np.zeros((C, d)) if zero_init else rng.normal(0, 0.3, (C, d))
    b0 = np.zeros(C) if zero_init else rng.normal(0, 0.3, C)
    return X, e, u0, W0, b0


@pytest.mark.skipif(
    not head_module._fused_adam_ok(), reason="this torch has no usable fused Adam"
)
@pytest.mark.parametrize("weight_decay", [0.0, 0.4])
def test_fused_adam_matches_torch_adam(weight_decay):
    # the kernel against torch.optim.Adam's default (single-tensor) code path,
    # with torch's L2 weight decay, changing lr and beta1 every step
    rng = np.random.default_rng(0)
    size, n_steps = 7, 40
    theta = rng.standard_normal(size)
    param = torch.nn.Parameter(torch.tensor(theta))
    opt = torch.optim.Adam([param], lr=1.0, eps=1e-8, weight_decay=weight_decay)
    grad = np.zeros(size)
    fused = head_module._FusedAdam(theta, grad, weight_decay)
    for _ in range(n_steps):
        grad[:] = rng.standard_normal(size) * np.logspace(-3, 1, size)
        lr, beta1 = rng.uniform(1e-4, 1e-2), rng.uniform(0.85, 0.95)
        opt.param_groups[0]["lr"] = float(lr)
        opt.param_groups[0]["betas"] = (float(beta1), 0.999)
        param.grad = torch.tensor(grad)
        opt.step()
        fused.step(lr, beta1)
    np.testing.assert_allclose(theta, param.detach().numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("score", ["entropy", "smoothmax"])
@pytest.mark.parametrize("zero_init", [True, False])
def test_trainer_with_numpy_adam_matches_fused(monkeypatch, score, zero_init):
    # the fallback (AdamNumpy, beta term added to the gradient by hand) and the
    # fused kernel (beta term as weight decay when theta0 = 0) train alike
    X, e, u0, W0, b0 = _trainer_problem(zero_init=zero_init)
    args = (X, e, u0, W0, b0, 0.3, 0.05, 16, score)
    # (the numpy step: the compiled epoch has an Adam of its own)
    monkeypatch.setattr(head_module, "_head_fast", None)
    monkeypatch.setattr(head_module, "_FUSED_ADAM_OK", False)
    loss_np, theta_np = _epochs(LinearAnalyticTrainer(*args), X.shape[0], 16)
    monkeypatch.setattr(head_module, "_FUSED_ADAM_OK", None)  # detect again
    tr = LinearAnalyticTrainer(*args)
    if not head_module._FUSED_ADAM_OK:
        pytest.skip("this torch has no usable fused Adam")
    loss_f, theta_f = _epochs(tr, X.shape[0], 16)
    np.testing.assert_allclose(loss_f, loss_np, rtol=1e-12)
    np.testing.assert_allclose(theta_f, theta_np, rtol=1e-10, atol=1e-12)
    assert np.abs(theta_f - np.concatenate([W0.ravel(), b0])).max() > 1e-2


def test_fused_adam_missing_falls_back_to_numpy(monkeypatch):
    monkeypatch.setattr(head_module, "_head_fast", None)  # the numpy step
    monkeypatch.setattr(head_module, "_FUSED_ADAM_OK", None)
    monkeypatch.delattr(torch, "_fused_adam_", raising=False)
    assert head_module._fused_adam_ok() is False
    X, e, u0, W0, b0 = _trainer_problem()
    loss, theta = _epochs(
        LinearAnalyticTrainer(X, e, u0, W0, b0, 0.3, 0.05, 16), 70, 16
    )
    assert np.all(np.isfinite(loss)) and np.abs(theta).max() > 1e-2


@pytest.mark.parametrize("compiled", [True, False])
def test_float32_features_train_like_their_float64_widening(monkeypatch, compiled):
    # float32 rows are gathered as float32 and widened exactly; float64 rows
    # are read in place through a strided view: same training to rounding
    if not compiled:
        monkeypatch.setattr(head_module, "_head_fast", None)
    X32, e, u0, W0, b0 = _trainer_problem(dtype=np.float32, zero_init=False)
    X64 = X32.astype(np.float64)
    loss32, theta32 = _epochs(
        LinearAnalyticTrainer(X32, e, u0, W0, b0, 0.3, 0.05, 16), 70, 16
    )
    loss64, theta64 = _epochs(
        LinearAnalyticTrainer(X64, e, u0, W0, b0, 0.3, 0.05, 16), 70, 16
    )
    np.testing.assert_allclose(loss32, loss64, rtol=1e-13)
    np.testing.assert_allclose(theta32, theta64, rtol=1e-11, atol=1e-13)


def test_compiled_epoch_is_built():
    # CI installs with a C compiler: the fast path must be the one tested
    assert head_module._head_fast is not None, (
        "alien_sk/_head_fast.pyx was not compiled; reinstall with a C compiler "
        "(pip install -e .) to train the linear head at full speed"
    )


@pytest.mark.skipif(head_module._head_fast is None, reason="not compiled")
@pytest.mark.parametrize("score", ["entropy", "smoothmax"])
@pytest.mark.parametrize("zero_init", [True, False])
@pytest.mark.parametrize(
    "C, dtype, alpha, beta, bs, logit_scale",
    [
        (3, np.float64, 0.3, 0.05, 16, 1.0),
        (2, np.float32, 0.3, 0.05, 16, 1.0),
        (2, np.float64, 0.0, 0.0, 7, 1.0),
        (5, np.float32, 1.0, 0.0, 70, 1.0),
        (2, np.float64, 0.3, 0.05, 16, 15.0),  # clamped rows (U < 1e-9)
    ],
)
def test_compiled_epoch_matches_the_numpy_step(
    monkeypatch, score, zero_init, C, dtype, alpha, beta, bs, logit_scale
):
    # an independent implementation of the same epoch: the numpy step (itself
    # checked against autograd above), with its own Adam
    X, e, u0, W0, b0 = _trainer_problem(dtype=dtype, zero_init=zero_init, C=C)
    X[:, :C] *= logit_scale
    args = (X, e, u0, W0, b0, alpha, beta, bs, score)
    fast = LinearAnalyticTrainer(*args)
    assert fast._fast
    loss_c, theta_c = _epochs(fast, X.shape[0], bs)
    monkeypatch.setattr(head_module, "_head_fast", None)
    slow = LinearAnalyticTrainer(*args)
    assert not slow._fast
    loss_np, theta_np = _epochs(slow, X.shape[0], bs)
    tol = 1e-10 if logit_scale < 10 else 1e-6
    np.testing.assert_allclose(loss_c, loss_np, rtol=tol)
    np.testing.assert_allclose(theta_c, theta_np, rtol=tol, atol=1e-12)
    assert np.abs(theta_c - np.concatenate([W0.ravel(), b0])).max() > 1e-3


@pytest.mark.skipif(head_module._head_fast is None, reason="not compiled")
def test_compiled_epoch_refuses_inconsistent_buffers():
    # the kernel checks its arguments before it runs without bounds checks
    n, C, d, bs = 20, 2, 3, 8
    X = np.zeros((n, C + d))
    P = C * d + C
    lrs = np.full(3, 1e-3)

    rows = np.full((n, C + 2), 0.5)

    def run(order, lrs=lrs, size=P):
        args = [X, order, rows, np.zeros(size)]
        args += [np.zeros(P), np.zeros(P), np.zeros(P), np.zeros(P), 0, lrs, lrs]
        args += [bs, C, 0.1, 0.1, True, 100.0, 1.0, 1.0, 0.999, 1e-8, 1e-9, 0.5]
        return head_module._head_fast.run_epoch(*args)

    order = np.arange(n, dtype=np.intp)
    assert run(order)[0] == 3  # three Adam steps
    bad = order.copy()
    bad[3] = n  # past the last row
    with pytest.raises(ValueError, match=f"row index {n} out of range"):
        run(bad)
    with pytest.raises(ValueError, match="inconsistent buffer sizes"):
        run(order, lrs=lrs[:2])  # 3 steps need 3 values
    with pytest.raises(ValueError, match="inconsistent buffer sizes"):
        run(order, size=P + 1)


@pytest.mark.skipif(head_module._head_fast is None, reason="not compiled")
@pytest.mark.parametrize(
    "case", ["batch_size_1e9", "logits_below_-1e308", "logits_only", "one_row"]
)
def test_compiled_epoch_edge_cases_match_the_numpy_step(monkeypatch, case):
    # a batch_size far above n sized the work buffers by it (MemoryError at
    # 1e8); logits all below -1e308 gave NaN (the row maximum started at
    # -1e308); logits-only X called BLAS with a leading dimension of 0
    X, e, u0, W0, b0 = _trainer_problem(C=3, n=40, d=4)
    bs = 16
    if case == "batch_size_1e9":
        bs = 10**9
    elif case == "logits_below_-1e308":
        X[:, :3] = -1.5e308 + X[:, :3] * 1e300
    elif case == "logits_only":
        X, W0 = X[:, :3].copy(), np.zeros((3, 0))
    else:
        X, e, u0 = X[:1], e[:1], u0[:1]
    args = (X, e, u0, W0, b0, 0.3, 0.05, bs)
    n = X.shape[0]
    loss_c, theta_c = _epochs(LinearAnalyticTrainer(*args), n, min(bs, n))
    monkeypatch.setattr(head_module, "_head_fast", None)
    loss_np, theta_np = _epochs(LinearAnalyticTrainer(*args), n, min(bs, n))
    assert np.isfinite(loss_c).all() and np.isfinite(theta_c).all()
    np.testing.assert_allclose(loss_c, loss_np, rtol=1e-10)
    np.testing.assert_allclose(theta_c, theta_np, rtol=1e-10, atol=1e-12)


def test_fortran_ordered_features_are_not_copied_per_step():
    # np.take copies a non-C-contiguous source in full on every call; the
    # trainer makes one contiguous copy up front and trains identically
    X, e, u0, W0, b0 = _trainer_problem()
    ref = _epochs(LinearAnalyticTrainer(X, e, u0, W0, b0, 0.3, 0.05, 16), 70, 16)
    tr = LinearAnalyticTrainer(np.asfortranarray(X), e, u0, W0, b0, 0.3, 0.05, 16)
    assert tr.X.flags.c_contiguous
    got = _epochs(tr, 70, 16)
    np.testing.assert_allclose(got[0], ref[0], rtol=1e-13)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-12, atol=1e-14)


def test_one_thread_limits_blas_and_torch_and_restores_them():
    from threadpoolctl import threadpool_info

    def blas_threads():
        return {
            i["filepath"]: i["num_threads"]
            for i in threadpool_info()
            if i["user_api"] == "blas"
        }

    torch_before, blas_before = torch.get_num_threads(), blas_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with head_module.one_thread():
            assert torch.get_num_threads() == 1
            assert set(blas_threads().values()) == {1}
            raise RuntimeError("inside")
    assert torch.get_num_threads() == torch_before
    assert blas_threads() == blas_before


def test_overlapping_one_thread_blocks_restore_the_original_blas_limit():
    # two fits in two threads: B enters while A holds the limit, A exits
    # first. B must not record A's 1 as "the original" and restore it.
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas_threads():
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == {2}
        a, b = head_module.one_thread(), head_module.one_thread()
        a.__enter__()
        b.__enter__()
        a.__exit__(None, None, None)
        assert blas_threads() == {1}  # B still runs
        b.__exit__(None, None, None)
        assert blas_threads() == {2}


def test_mlp_fit_on_cpu_runs_single_threaded(monkeypatch):
    from alien_sk.estimator import AlienUncertaintyEstimator
    from alien_sk.head import AutogradTrainer

    seen = []
    run_epoch = AutogradTrainer.run_epoch

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return run_epoch(self, *args)

    monkeypatch.setattr(AutogradTrainer, "run_epoch", spy)
    X, e, u0, W0, b0 = _trainer_problem(C=2)
    y = X[:, :2].argmax(axis=1)
    y[e == 1] = 1 - y[e == 1]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        AlienUncertaintyEstimator(
            head="mlp", hidden_size=4, max_epochs=2, random_state=0
        ).fit(X, y)
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_linear_fit_runs_single_threaded_and_restores_threads(monkeypatch):
    # the analytic trainer's epochs run under one_thread; the caller's torch
    # thread count is back afterwards
    from alien_sk.estimator import AlienUncertaintyEstimator

    seen = []
    run_epoch = LinearAnalyticTrainer.run_epoch

    def spy(self, *args):
        seen.append(torch.get_num_threads())
        return run_epoch(self, *args)

    monkeypatch.setattr(LinearAnalyticTrainer, "run_epoch", spy)
    X, e, u0, W0, b0 = _trainer_problem(C=2)
    y = X[:, :2].argmax(axis=1)
    y[e == 1] = 1 - y[e == 1]
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        AlienUncertaintyEstimator(max_epochs=2, random_state=0).fit(X, y)
        assert seen == [1, 1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(head_module._head_fast is None, reason="not compiled")
@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="POSIX")
def test_compiled_epoch_lets_signal_handlers_run_within_it():
    # the epoch runs without the GIL; Ctrl-C (a signal handler's exception)
    # acted only once it was over. An alarm 10 ms into a long epoch must
    # stop it early: the parameters are then neither the start's nor the
    # whole epoch's (no timing is asserted: the epoch takes far longer)
    import signal

    rng = np.random.default_rng(0)
    n, C, d = 1_000_000, 2, 2
    X = rng.standard_normal((n, C + d))
    e = (rng.random(n) < 0.3).astype(float)
    args = (X, e, np.full(n, 0.5), np.zeros((C, d)), np.zeros(C), 0.1, 0.1, 1)
    lrs, b1 = np.full(n, 1e-3), np.full(n, 0.9)
    full = LinearAnalyticTrainer(*args)
    full.run_epoch(np.arange(n), lrs, b1)

    class Alarm(Exception):
        pass

    def handler(signum, frame):
        raise Alarm

    tr = LinearAnalyticTrainer(*args)
    previous = signal.signal(signal.SIGALRM, handler)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        with pytest.raises(Alarm):
            tr.run_epoch(np.arange(n), lrs, b1)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert np.any(tr.theta != 0.0)  # it had started
    assert not np.array_equal(tr.theta, full.theta)  # and stopped early
