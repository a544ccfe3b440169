# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The ALIEN head: torch modules, the loss, and two training loops.

The head maps ``X = [logits | embedding]`` to an uncertainty score through
residual logits ``z = logits + f(embedding)`` where ``f`` starts at zero, so
that an untrained head scores exactly the normalised entropy of the logits
(or the AdUE smooth-max score).

Two training loops give the same result (to rounding, ~1e-12):

* :class:`LinearAnalyticTrainer` (``head="linear"`` on the CPU) computes the
  gradients in closed form and follows a one-cycle schedule that
  re-implements torch's; it avoids the per-step overhead of autograd and
  ``torch.optim``, which dominates for a head this small. Each epoch runs in
  one call of a compiled kernel (``alien_sk/_head_fast.pyx``, built at
  install time when a C compiler is present); without it, in numpy, with
  torch's fused CPU Adam kernel (or :class:`AdamNumpy`);
* :class:`AutogradTrainer` (``head="mlp"``, or any non-CPU device) runs the
  module with autograd and ``torch.optim.Adam``.

Both minimise, per mini-batch of size ``B`` (GUIDE section 3)::

    mean_i BCE(Uc_i, e_i) + alpha * mean_i (Uc_i - u0_i)^2
        + beta * sum_k (theta_k - theta0_k)^2

where ``Uc = clamp(U, 1e-9, 1 - 1e-9)``, ``e`` the error indicator and ``u0``
the clamped score of the classifier's own logits.

This module imports torch; :mod:`alien_sk.estimator` imports it lazily.
"""

import contextlib
import functools
import math
import threading
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

try:  # the compiled epoch (built at install when a C compiler is present)
    from alien_sk import _head_fast
except ImportError:  # pragma: no cover - the numpy step is used instead
    _head_fast = None

__all__ = [
    "ResidualLinearHead",
    "ResidualMLPHead",
    "one_cycle_schedule",
    "AdamNumpy",
    "LinearAnalyticTrainer",
    "AutogradTrainer",
    "score_from_logits",
    "alien_loss",
    "one_thread",
]

#: clamp of the score before the BCE (as in the authors' code)
CLAMP_LOW = 1e-9
CLAMP_HIGH = 1.0 - 1e-9

#: Adam constants (torch defaults) and one-cycle constants (the authors' values)
ADAM_BETA2 = 0.999
ADAM_EPS = 1e-8
PCT_START = 0.1
DIV_FACTOR = 25.0
FINAL_DIV_FACTOR = 1e4
BASE_MOMENTUM = 0.85
MAX_MOMENTUM = 0.95


# -- scores ------------------------------------------------------------------
def score_from_logits(z, score_function="entropy", smoothmax_lambda=100.0):
    """Uncertainty score of logits ``z`` (torch), unclamped.

    ``"entropy"``: ``-sum p log p / log C``; ``"smoothmax"`` (AdUE):
    ``(1 - logsumexp(lambda p) / lambda) / (1 - 1 / C)``, with
    ``p = softmax(z)``.

    Read more in the :ref:`User Guide <alien_method>`.

    Parameters
    ----------
    z : torch.Tensor of shape (n_samples, n_classes)
        Logits.
    score_function : {"entropy", "smoothmax"}, default="entropy"
        Which score.
    smoothmax_lambda : float, default=100.0
        Sharpness of the smooth maximum.

    Returns
    -------
    score : torch.Tensor of shape (n_samples,)

    Examples
    --------
    >>> import torch
    >>> from alien_sk.head import score_from_logits
    >>> score_from_logits(torch.zeros(1, 2, dtype=torch.float64))
    tensor([1.], dtype=torch.float64)
    """
    n_classes = z.shape[1]
    if score_function == "entropy":
        log_p = torch.log_softmax(z, dim=1)
        return -(log_p.exp() * log_p).sum(dim=1) / math.log(n_classes)
    p = torch.softmax(z, dim=1)
    smooth_max = torch.logsumexp(smoothmax_lambda * p, dim=1) / smoothmax_lambda
    return (1.0 - smooth_max) / (1.0 - 1.0 / n_classes)


def _check_smoothmax_lambda(smoothmax_lambda, n_classes):
    """Check that the smooth-max score can be positive for ``n_classes``.

    The smooth maximum ``logsumexp(lambda p) / lambda`` is at least
    ``1 / C + log(C) / lambda`` (its value at the uniform ``p``), so the
    score is ``<= 0`` for every ``p``, and clamps to 0, when
    ``lambda <= C log(C) / (C - 1)``.

    Parameters
    ----------
    smoothmax_lambda : float
        Sharpness of the smooth maximum.
    n_classes : int
        Number of classes ``C``.

    Raises
    ------
    ValueError
        If every score would be ``<= 0``.

    Examples
    --------
    >>> from alien_sk.head import _check_smoothmax_lambda
    >>> _check_smoothmax_lambda(100.0, 3)
    >>> _check_smoothmax_lambda(1.0, 3)
    Traceback (most recent call last):
    ...
    ValueError: smoothmax_lambda=1.0 is too small for 3 classes: ...
    """
    bound = n_classes * math.log(n_classes) / (n_classes - 1)
    if smoothmax_lambda <= bound:
        raise ValueError(
            f"smoothmax_lambda={smoothmax_lambda!r} is too small for {n_classes} "
            f"classes: the smooth-max score is <= 0 for every probability vector "
            f"when lambda <= C log(C) / (C - 1) = {bound:.4g}, so every score "
            "would clamp to 0. Use a larger value (the default is 100)."
        )


def _uniform_(tensor, bound, generator):
    with torch.no_grad():
        tensor.copy_(
            torch.rand(tensor.shape, generator=generator, dtype=torch.float64)
            .mul_(2 * bound)
            .sub_(bound)
        )


def _linear_bound(fan_in):
    # torch.nn.Linear's default init draws weight and bias from U(-b, b) with
    # b = 1 / sqrt(fan_in); a logits-only head (fan_in=0) uses b = 1.
    return 1.0 / math.sqrt(max(fan_in, 1))


class _ResidualHead(nn.Module):
    def __init__(self, n_logits, score_function, smoothmax_lambda):
        super().__init__()
        self.n_logits = n_logits
        self.score_function = score_function
        self.smoothmax_lambda = smoothmax_lambda

    def logits(self, x):
        """Residual logits ``x[:, :C] + f(x[:, C:])``."""
        c = self.n_logits
        return x[:, :c] + self.delta(x[:, c:])

    def forward(self, x):
        """Unclamped uncertainty score of each row of ``x = [logits | embedding]``."""
        return score_from_logits(
            self.logits(x), self.score_function, self.smoothmax_lambda
        )


class ResidualLinearHead(_ResidualHead):
    """Residual linear head ``z = logits + h dW^T + db`` (float64).

    ``dW`` and ``db`` start at zero (``init="entropy"``), so the head first
    scores exactly the classifier's normalised entropy; ``init="random"``
    draws them like :class:`torch.nn.Linear` (uniform in ``±1/sqrt(d)``).

    Read more in the :ref:`User Guide <head_vs_paper>`.

    Parameters
    ----------
    n_logits : int
        Number of classes ``C``.
    n_embedding : int
        Embedding width ``d`` (0: a logits-only head, reduced to ``db``).
    score_function : {"entropy", "smoothmax"}, default="entropy"
        Score of the residual logits.
    smoothmax_lambda : float, default=100.0
        Sharpness of the smooth maximum.

    Examples
    --------
    >>> import torch
    >>> from alien_sk.head import ResidualLinearHead
    >>> head = ResidualLinearHead(2, 3)
    >>> x = torch.tensor([[0.0, 0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
    >>> head(x)
    tensor([1.], dtype=torch.float64, grad_fn=<DivBackward0>)
    """

    def __init__(
        self, n_logits, n_embedding, score_function="entropy", smoothmax_lambda=100.0
    ):
        super().__init__(n_logits, score_function, smoothmax_lambda)
        self.weight = nn.Parameter(
            torch.zeros(n_logits, n_embedding, dtype=torch.float64)
        )
        self.bias = nn.Parameter(torch.zeros(n_logits, dtype=torch.float64))

    def delta(self, h):
        return F.linear(h, self.weight, self.bias)

    def reset_parameters(self, init="entropy", generator=None):
        """Zero (``"entropy"``) or ``torch.nn.Linear``-style random init."""
        with torch.no_grad():
            if init == "entropy":
                self.weight.zero_()
                self.bias.zero_()
            else:
                bound = _linear_bound(self.weight.shape[1])
                _uniform_(self.weight, bound, generator)
                _uniform_(self.bias, bound, generator)
        return self


class ResidualMLPHead(_ResidualHead):
    """Residual MLP head ``z = logits + W2 tanh(W1 h + b1) + b2`` (float64).

    After :meth:`reset_parameters`, the hidden layer is drawn like
    :class:`torch.nn.Linear` (from the given generator); the output layer
    starts at zero (``init="entropy"``), so the untrained head scores exactly
    the normalised entropy. With ``init="random"`` the output layer is random
    too. ``tanh`` follows RoBERTa's classification head (dense, tanh, output).

    Read more in the :ref:`User Guide <head_vs_paper>`.

    Parameters
    ----------
    n_logits : int
        Number of classes ``C``.
    n_embedding : int
        Embedding width ``d``.
    hidden_size : int
        Width of the hidden layer.
    score_function : {"entropy", "smoothmax"}, default="entropy"
        Score of the residual logits.
    smoothmax_lambda : float, default=100.0
        Sharpness of the smooth maximum.

    Examples
    --------
    >>> import torch
    >>> from alien_sk.head import ResidualMLPHead
    >>> gen = torch.Generator().manual_seed(0)
    >>> head = ResidualMLPHead(2, 3, 4).reset_parameters("entropy", gen)
    >>> x = torch.tensor([[0.0, 0.0, 1.0, 2.0, 3.0]], dtype=torch.float64)
    >>> head(x)
    tensor([1.], dtype=torch.float64, grad_fn=<DivBackward0>)
    """

    def __init__(
        self,
        n_logits,
        n_embedding,
        hidden_size,
        score_function="entropy",
        smoothmax_lambda=100.0,
    ):
        super().__init__(n_logits, score_function, smoothmax_lambda)
        # skip_init: never draw from the global torch RNG; the estimator calls
        # reset_parameters with its own generator
        with warnings.catch_warnings():
            # logits-only X (n_embedding = 0): torch warns that initialising
            # the empty weight is a no-op; the weights are zeroed below anyway
            warnings.filterwarnings(
                "ignore", "Initializing zero-element tensors", UserWarning
            )
            self.hidden = torch.nn.utils.skip_init(
                nn.Linear, n_embedding, hidden_size, dtype=torch.float64
            )
        self.output = torch.nn.utils.skip_init(
            nn.Linear, hidden_size, n_logits, dtype=torch.float64
        )
        with torch.no_grad():
            for p in self.parameters():
                p.zero_()

    def delta(self, h):
        return self.output(torch.tanh(self.hidden(h)))

    def reset_parameters(self, init="entropy", generator=None):
        """Random hidden layer; zero (``"entropy"``) or random output layer."""
        bound = _linear_bound(self.hidden.in_features)
        _uniform_(self.hidden.weight, bound, generator)
        _uniform_(self.hidden.bias, bound, generator)
        if init == "entropy":
            with torch.no_grad():
                self.output.weight.zero_()
                self.output.bias.zero_()
        else:
            bound = _linear_bound(self.output.in_features)
            _uniform_(self.output.weight, bound, generator)
            _uniform_(self.output.bias, bound, generator)
        return self


# -- loss ----------------------------------------------------------------------
def alien_loss(u, errors, u0, params, params0, alpha, beta):
    """The ALIEN loss of one mini-batch (torch, differentiable).

    ``mean BCE(Uc, e) + alpha * mean((Uc - u0)^2) + beta * sum (theta - theta0)^2``
    with ``Uc = clamp(u, 1e-9, 1 - 1e-9)``.

    Read more in the :ref:`User Guide <alien_method>`.

    Parameters
    ----------
    u : torch.Tensor of shape (batch,)
        Unclamped scores of the head.
    errors : torch.Tensor of shape (batch,)
        1.0 where the classifier is wrong.
    u0 : torch.Tensor of shape (batch,)
        Clamped score of the classifier's logits.
    params, params0 : list of torch.Tensor
        Head parameters and their initial values.
    alpha, beta : float
        Weights of the entropy-alignment and L2-SP terms.

    Returns
    -------
    loss : torch.Tensor
        Scalar.

    Examples
    --------
    >>> import torch
    >>> from alien_sk.head import alien_loss
    >>> u = torch.tensor([0.5, 0.5], dtype=torch.float64)
    >>> e = torch.tensor([1.0, 0.0], dtype=torch.float64)
    >>> round(alien_loss(u, e, u, [], [], 0.1, 0.1).item(), 6)  # log 2
    0.693147
    """
    uc = torch.clamp(u, CLAMP_LOW, CLAMP_HIGH)
    loss = F.binary_cross_entropy(uc, errors)
    loss = loss + alpha * torch.mean((uc - u0) ** 2)
    l2sp = sum(((p - p0) ** 2).sum() for p, p0 in zip(params, params0, strict=True))
    return loss + beta * l2sp


# -- optimiser -----------------------------------------------------------------
def _anneal_cos(start, end, pct):
    cos_out = math.cos(math.pi * pct) + 1
    return end + (start - end) / 2.0 * cos_out


def one_cycle_schedule(total_steps, max_lr):
    """Learning rate and Adam ``beta1`` of each step of a one-cycle schedule.

    Re-implements :class:`torch.optim.lr_scheduler.OneCycleLR` with
    ``anneal_strategy="cos"``, ``pct_start=0.1``, ``div_factor=25``,
    ``final_div_factor=1e4`` and momentum cycling between 0.95 and 0.85
    (torch's defaults), value for value. One difference: where torch divides
    by zero (a warm-up phase of exactly one step, e.g. ``total_steps=10``),
    this returns the phase's start values.

    Parameters
    ----------
    total_steps : int
        Number of optimiser steps.
    max_lr : float
        Peak learning rate.

    Returns
    -------
    lr : ndarray of shape (total_steps,)
        Learning rate used at step ``k`` (0-based).
    beta1 : ndarray of shape (total_steps,)
        Adam's first-moment decay used at step ``k``.

    Examples
    --------
    >>> from alien_sk.head import one_cycle_schedule
    >>> lr, beta1 = one_cycle_schedule(20, 1e-3)
    >>> round(float(lr[0]), 12), float(lr.max()), float(beta1[0])
    (4e-05, 0.001, 0.95)
    """
    # computed once per (total_steps, max_lr) in a process: a grid search
    # fits the head many times with a few learning rates (a Python loop of
    # ~1.5 us a step, a few ms a fit otherwise)
    lrs, betas = _one_cycle_schedule(int(total_steps), float(max_lr))
    return lrs.copy(), betas.copy()


@functools.lru_cache(maxsize=64)
def _one_cycle_schedule(total_steps, max_lr):
    initial_lr = max_lr / DIV_FACTOR
    min_lr = initial_lr / FINAL_DIV_FACTOR
    phases = [
        (
            float(PCT_START * total_steps) - 1,
            initial_lr,
            max_lr,
            MAX_MOMENTUM,
            BASE_MOMENTUM,
        ),
        (total_steps - 1, max_lr, min_lr, BASE_MOMENTUM, MAX_MOMENTUM),
    ]
    lrs = np.empty(total_steps)
    betas = np.empty(total_steps)
    for k in range(total_steps):
        start_step = 0.0
        for i, (end_step, lr0, lr1, m0, m1) in enumerate(phases):
            if k <= end_step or i == len(phases) - 1:
                span = end_step - start_step
                pct = (k - start_step) / span if span != 0 else 0.0
                lrs[k] = _anneal_cos(lr0, lr1, pct)
                betas[k] = _anneal_cos(m0, m1, pct)
                break
            start_step = end_step
    return lrs, betas


class AdamNumpy:
    """Adam on a flat float64 vector, torch's single-tensor formulas.

    ``m = lerp(m, g, 1 - beta1)``; ``v = beta2 v + (1 - beta2) g^2``;
    ``theta -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)``.
    ``beta1`` may change from step to step (one-cycle momentum), as in torch.

    Parameters
    ----------
    size : int
        Number of parameters.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.head import AdamNumpy
    >>> theta = np.zeros(2)
    >>> AdamNumpy(2).step(theta, np.array([1.0, -2.0]), lr=0.1, beta1=0.9)
    >>> theta.round(6)
    array([-0.1,  0.1])
    """

    def __init__(self, size):
        self.m = np.zeros(size)
        self.v = np.zeros(size)
        self._tmp = np.empty(size)
        self.t = 0

    def step(self, theta, grad, lr, beta1):
        """Update ``theta`` in place from ``grad``."""
        m, v, tmp = self.m, self.v, self._tmp
        self.t += 1
        # exp_avg.lerp_(grad, 1 - beta1): weight < 0.5 -> m + w * (g - m)
        np.subtract(grad, m, out=tmp)
        tmp *= 1 - beta1
        m += tmp
        # exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        v *= ADAM_BETA2
        np.multiply(grad, 1 - ADAM_BETA2, out=tmp)
        tmp *= grad
        v += tmp
        step_size = lr / (1 - beta1**self.t)
        bias_correction2_sqrt = (1 - ADAM_BETA2**self.t) ** 0.5
        np.sqrt(v, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += ADAM_EPS
        np.divide(m, tmp, out=tmp)
        tmp *= -step_size
        theta += tmp


class _FusedAdam:
    """torch's fused CPU Adam kernel on numpy buffers (one call per step).

    The kernel is the one behind ``torch.optim.Adam(fused=True)``; the
    tensors share memory with ``theta``, ``grad`` and the moment buffers, so
    nothing is copied. ``weight_decay`` adds ``weight_decay * theta`` to the
    gradient first (torch's L2 penalty, not AdamW's decoupled decay).
    """

    def __init__(self, theta, grad, weight_decay=0.0):
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)
        self._t = np.zeros((), dtype=np.float32)  # step count, read by the kernel
        self._tensors = tuple(
            [torch.from_numpy(a)] for a in (theta, grad, self.m, self.v)
        ) + ([], [torch.from_numpy(self._t)])
        self._kw = dict(
            beta2=ADAM_BETA2,
            weight_decay=float(weight_decay),
            eps=ADAM_EPS,
            amsgrad=False,
            maximize=False,
        )

    def step(self, lr, beta1):
        self._t += 1
        torch._fused_adam_(*self._tensors, lr=float(lr), beta1=float(beta1), **self._kw)


_FUSED_ADAM_OK = None


def _fused_adam_ok():
    """Whether torch's private fused Adam op exists and matches AdamNumpy.

    Checked once per process on a small problem with changing ``lr`` and
    ``beta1`` and an L2 penalty; any difference or error selects the numpy
    Adam instead, so a torch release that changes or drops the op only costs
    speed.
    """
    global _FUSED_ADAM_OK
    if _FUSED_ADAM_OK is None:
        try:
            rng = np.random.default_rng(0)
            theta = rng.standard_normal(5)
            ref = theta.copy()
            grad = np.zeros(5)
            fused, adam = _FusedAdam(theta, grad, weight_decay=0.5), AdamNumpy(5)
            for lr, beta1 in [(1e-2, 0.95), (3e-2, 0.9), (1e-3, 0.85)]:
                grad[:] = rng.standard_normal(5)
                adam.step(ref, grad + 0.5 * ref, lr, beta1)
                fused.step(lr, beta1)
            _FUSED_ADAM_OK = bool(np.allclose(theta, ref, rtol=1e-13, atol=0.0))
        except Exception:  # noqa: BLE001 - any failure means: do not use it
            _FUSED_ADAM_OK = False
    return _FUSED_ADAM_OK


_THREADPOOLS = None
_BLAS_LOCK = threading.Lock()
_BLAS_LIMITER = None
_BLAS_USERS = 0  # one_thread blocks running now, in any thread


@contextlib.contextmanager
def one_thread():
    """Run a block with one BLAS thread and one torch (OpenMP) thread.

    A step of :class:`LinearAnalyticTrainer` is a few small BLAS products and
    one fused Adam call. With several threads, OpenBLAS's and torch's thread
    pools spin and wait on each other at every call: on 2 cores, with 2
    threads each, a fit of 21 classes on 30,000 rows took 16 times longer
    than with one thread. The limits are restored on exit. The BLAS limit
    is process-wide, so another thread that runs BLAS meanwhile runs
    single-threaded too; blocks that overlap (fits in several threads, as
    under joblib's threading backend) share it, and the original limit
    comes back when the last of them exits.

    Examples
    --------
    >>> import torch
    >>> from alien_sk.head import one_thread
    >>> n = torch.get_num_threads()
    >>> with one_thread():
    ...     torch.get_num_threads()
    1
    >>> torch.get_num_threads() == n
    True
    """
    global _THREADPOOLS, _BLAS_LIMITER, _BLAS_USERS
    with _BLAS_LOCK:
        if _THREADPOOLS is None:  # finds the loaded BLAS libraries once (~4 ms)
            from threadpoolctl import ThreadpoolController

            _THREADPOOLS = ThreadpoolController()
        if _BLAS_USERS == 0:
            # the first block in records the caller's limit; a block that
            # entered later would record the 1 set here and restore that
            _BLAS_LIMITER = _THREADPOOLS.limit(limits=1, user_api="blas")
        _BLAS_USERS += 1
    n_torch = torch.get_num_threads()  # torch's count is per thread
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n_torch)
        with _BLAS_LOCK:
            _BLAS_USERS -= 1
            if _BLAS_USERS == 0:
                _BLAS_LIMITER.restore_original_limits()
                _BLAS_LIMITER = None


_max_reduce = np.maximum.reduce
_add_reduce = np.add.reduce


class _BatchBuffers:
    """Preallocated arrays for mini-batches of one size ``b``."""

    def __init__(self, b, C, d, dtype):
        # rows of X are gathered whole (np.take needs a C-contiguous source)
        self.raw = np.empty((b, C + d), dtype=dtype)
        if dtype == np.float64:
            self.widen = False
            self.h = self.raw[:, C:]  # a strided view that BLAS reads directly
        else:
            self.widen = True
            self.raw_h = self.raw[:, C:]
            self.h = np.empty((b, d))
        self.z = np.empty((C, b))
        self.p = np.empty((C, b))
        self.tmp = np.empty((C, b))
        self.u = np.empty(b)
        self.t = np.empty(b)
        self.dev = np.empty(b)
        self.mask = np.empty(b, dtype=bool)


# -- trainers ----------------------------------------------------------------------
class LinearAnalyticTrainer:
    """Train a :class:`ResidualLinearHead` with closed-form gradients (numpy).

    For the entropy score ``dU/dz_j = -p_j (log p_j + H) / log C``; for the
    smooth-max score ``dU/dz_j = -p_j (s_j - sum_k s_k p_k) / (1 - 1/C)`` with
    ``s = softmax(lambda p)``; the clamped BCE has
    ``dBCE/dUc = 1 / (1 - e - Uc)``.

    An epoch is one call of the compiled kernel ``alien_sk._head_fast``
    where it was built (the same float64 computation, with :class:`AdamNumpy`'s
    update; 1.2 to 2 times as fast), else the numpy step below. The numpy step is
    written for speed, since a grid search fits the head many
    times and the cost of a step is mostly fixed per-call overhead and memory
    traffic, not arithmetic: every buffer is preallocated; the rows of a
    mini-batch are gathered with one ``take`` into a buffer; the small
    per-row columns (logits, ``1 - e``, ``u0``) are permuted once per epoch;
    Adam is one call to torch's fused CPU kernel on the same buffers (with
    ``theta0 = 0`` it also applies the beta term, as L2 weight decay); and
    the reported loss is computed once per epoch from the clamped scores the
    steps stored, not step by step. Where torch lacks the fused kernel, or it
    disagrees with :class:`AdamNumpy`, the numpy Adam is used.

    Read more in the :ref:`User Guide <alien_method>`.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_logits + d), float64 or float32
        Training features (float32 rows are widened exactly to float64).
    errors : ndarray of shape (n_samples,)
        1 where the classifier is wrong.
    u0 : ndarray of shape (n_samples,)
        Clamped score of the logits (target of the alpha term).
    weight, bias : ndarray
        Initial ``dW`` (C, d) and ``db`` (C,).
    alpha, beta, batch_size, score_function, smoothmax_lambda
        As in :class:`~alien_sk.estimator.AlienUncertaintyEstimator`.

    Examples
    --------
    >>> import numpy as np
    >>> from alien_sk.head import LinearAnalyticTrainer, one_cycle_schedule
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 5)); e = (rng.random(8) < 0.5).astype(float)
    >>> tr = LinearAnalyticTrainer(X, e, np.full(8, 0.5), np.zeros((2, 3)),
    ...                            np.zeros(2), 0.1, 0.1, 4)
    >>> lr, b1 = one_cycle_schedule(2, 1e-3)
    >>> loss = tr.run_epoch(np.arange(8), lr, b1)
    >>> bool(np.isfinite(loss))
    True
    """

    def __init__(
        self,
        X,
        errors,
        u0,
        weight,
        bias,
        alpha,
        beta,
        batch_size,
        score_function="entropy",
        smoothmax_lambda=100.0,
    ):
        n_logits, d = weight.shape
        self.C, self.d = n_logits, d
        if X.dtype not in (np.float32, np.float64):
            X = X.astype(np.float64)
        self.X = np.ascontiguousarray(X)
        e = np.asarray(errors, dtype=np.float64)
        # per-row columns [logits | 1 - e | u0], permuted once per epoch
        self.rows = np.ascontiguousarray(
            np.column_stack([X[:, :n_logits], 1.0 - e, u0]), dtype=np.float64
        )
        self.theta = np.concatenate([weight.ravel(), bias]).astype(np.float64)
        self.theta0 = self.theta.copy()
        self.init_is_zero = not np.any(self.theta0)
        self.alpha, self.beta = float(alpha), float(beta)
        self.batch_size = int(batch_size)
        self.score_function = score_function
        self.lam = float(smoothmax_lambda)
        self.grad = np.zeros_like(self.theta)
        # Adam: torch's fused kernel when available (one call per step), else
        # numpy; with theta0 = 0 the beta term's gradient 2 beta theta is the
        # kernel's own L2 weight decay
        if _fused_adam_ok():
            self._beta_in_adam = self.init_is_zero
            wd = 2.0 * self.beta if self._beta_in_adam else 0.0
            self._adam_step = _FusedAdam(self.theta, self.grad, wd).step
        else:
            self._beta_in_adam = False
            adam = AdamNumpy(self.theta.size)
            self._adam_step = functools.partial(adam.step, self.theta, self.grad)
        self._grad_w = self.grad[: n_logits * d].reshape(n_logits, d)
        self._grad_b = self.grad[n_logits * d :]
        self._weight = self.theta[: n_logits * d].reshape(n_logits, d)
        self._bias_col = self.theta[n_logits * d :].reshape(n_logits, 1)
        if score_function == "entropy":
            self._u_scale = -1.0 / math.log(n_logits)
            self._g_scale = -1.0 / math.log(n_logits)
        else:
            self._u_scale = 1.0 / (1.0 - 1.0 / n_logits)
            self._g_scale = -1.0 / (1.0 - 1.0 / n_logits)
        self._diff = np.empty_like(self.theta)
        self._buffers = {}
        # the compiled epoch keeps its own Adam state (AdamNumpy's update)
        self._fast = _head_fast is not None
        if self._fast:
            self._adam_m = np.zeros_like(self.theta)
            self._adam_v = np.zeros_like(self.theta)
            self._adam_t = 0

    # parameter views
    @property
    def weight(self):
        return self.theta[: self.C * self.d].reshape(self.C, self.d)

    @property
    def bias(self):
        return self.theta[self.C * self.d :]

    def get_state(self):
        return self.theta.copy()

    def set_state(self, state):
        self.theta[:] = state

    def _bufs(self, b):
        if b not in self._buffers:
            self._buffers[b] = _BatchBuffers(b, self.C, self.d, self.X.dtype)
        return self._buffers[b]

    def run_epoch(self, perm, lrs, betas1):
        """One pass over ``perm`` in mini-batches; returns the mean batch loss."""
        C = self.C
        n = perm.shape[0]
        bs = self.batch_size
        order = np.asarray(perm, dtype=np.intp)
        if self._fast:  # the whole epoch, its loss included, in one call
            self._adam_t, loss = _head_fast.run_epoch(
                self.X,
                order,
                self.rows,
                self.theta,
                self.theta0,
                self.grad,
                self._adam_m,
                self._adam_v,
                self._adam_t,
                np.ascontiguousarray(lrs, dtype=np.float64),
                np.ascontiguousarray(betas1, dtype=np.float64),
                bs,
                C,
                self.alpha,
                self.beta,
                self.score_function == "entropy",
                self.lam,
                self._u_scale,
                self._g_scale,
                ADAM_BETA2,
                ADAM_EPS,
                CLAMP_LOW,
                CLAMP_HIGH,
            )
            return float(loss)
        cols = np.take(self.rows, order, axis=0).T.copy()  # (C + 2, n)
        starts = np.arange(0, n, bs)
        uc = np.empty(n)  # clamped scores, filled by the steps
        sq = np.zeros(starts.shape[0])  # ||theta - theta0||^2 at each step
        for k, start in enumerate(starts.tolist()):
            stop = start + bs
            sq[k] = self._step(
                order[start:stop],
                cols[:, start:stop],
                uc[start:stop],
                lrs[k],
                betas1[k],
            )
        # the loss of each step, from the scores it computed: the BCE is
        # -log q with q = |1 - e - Uc| (Uc if e = 1, 1 - Uc if e = 0)
        q = np.subtract(cols[C], uc)
        np.abs(q, out=q)
        row_loss = -np.log(q)
        if self.alpha != 0.0:
            dev = uc - cols[C + 1]
            row_loss += self.alpha * dev * dev
        sizes = np.diff(np.append(starts, n))
        batch_loss = np.add.reduceat(row_loss, starts) / sizes + self.beta * sq
        return float(batch_loss.mean())

    def _step(self, idx, cols, uc, lr, beta1):
        # Column layout: a batch's logits, scores and gradients are (C, b)
        # arrays, so reductions over the classes run along the first axis,
        # vectorised over the batch.
        C = self.C
        b = idx.shape[0]
        buf = self._bufs(b)
        theta, grad = self.theta, self.grad
        # gather the batch (float32 features are widened exactly to float64)
        # (mode="clip" lets take write straight into `out`; idx is in range)
        self.X.take(idx, 0, buf.raw, "clip")
        h = buf.h
        if buf.widen:
            np.copyto(h, buf.raw_h)
        # forward: z = logits + W h + b, shape (C, b)
        z, p = buf.z, buf.p
        np.matmul(self._weight, h.T, out=z)
        z += cols[:C]
        z += self._bias_col
        z -= _max_reduce(z, axis=0)
        np.exp(z, out=p)
        s = _add_reduce(p, axis=0)
        p /= s
        np.log(s, out=s)
        log_p = z
        log_p -= s  # z now holds log p
        u = buf.u
        if self.score_function == "entropy":
            np.multiply(p, log_p, out=buf.tmp)
            neg_h = _add_reduce(buf.tmp, axis=0)  # -H
            np.multiply(neg_h, self._u_scale, out=u)
            # dU/dz = -p (log p + H) / log C  (sign and 1/log C in _g_scale)
            log_p -= neg_h
            log_p *= p
            g_z = log_p
        else:
            lam_p = np.multiply(p, self.lam, out=buf.tmp)
            m = _max_reduce(lam_p, axis=0)
            lam_p -= m
            np.exp(lam_p, out=lam_p)
            ss = _add_reduce(lam_p, axis=0)
            lam_p /= ss  # s = softmax(lambda p)
            np.log(ss, out=ss)
            ss += m
            ss /= self.lam  # smooth max of p
            np.subtract(1.0, ss, out=u)
            u *= self._u_scale
            np.multiply(lam_p, p, out=log_p)
            s_dot_p = _add_reduce(log_p, axis=0)  # sum_k s_k p_k
            np.subtract(lam_p, s_dot_p, out=log_p)
            log_p *= p
            g_z = log_p
        np.minimum(u, CLAMP_HIGH, out=uc)
        np.maximum(uc, CLAMP_LOW, out=uc)
        # d loss / dU, scaled by dU/dz's constant and 1/b:
        # k / (1 - e - Uc) + 2 alpha k (Uc - u0), zero where the clamp is active
        k = self._g_scale / b
        d_u = np.subtract(cols[C], uc, out=buf.t)
        np.divide(k, d_u, out=d_u)
        if self.alpha != 0.0:
            dev = np.subtract(uc, cols[C + 1], out=buf.dev)
            dev *= 2.0 * self.alpha * k
            d_u += dev
        d_u *= np.equal(uc, u, out=buf.mask)
        g_z *= d_u
        np.matmul(g_z, h, out=self._grad_w)
        _add_reduce(g_z, axis=1, out=self._grad_b)
        sq = 0.0
        if self.beta != 0.0:
            diff = self._diff
            if self._beta_in_adam:
                sq = np.dot(theta, theta)
            else:
                np.subtract(theta, self.theta0, out=diff)
                sq = np.dot(diff, diff)
                diff *= 2.0 * self.beta
                grad += diff
        self._adam_step(lr, beta1)
        return sq

    def predict(self, X):
        """Unclamped scores of ``X`` with the current parameters (numpy)."""
        z = X[:, : self.C] + X[:, self.C :] @ self.weight.T + self.bias
        return score_from_logits(
            torch.from_numpy(z), self.score_function, self.lam
        ).numpy()

    def to_module(self, score_function, smoothmax_lambda):
        """A :class:`ResidualLinearHead` holding the current parameters."""
        head = ResidualLinearHead(self.C, self.d, score_function, smoothmax_lambda)
        with torch.no_grad():
            head.weight.copy_(torch.from_numpy(self.weight))
            head.bias.copy_(torch.from_numpy(self.bias))
        return head


class AutogradTrainer:
    """Train any residual head with autograd and ``torch.optim.Adam``.

    The learning rate and ``beta1`` of each step come from
    :func:`one_cycle_schedule` (identical to ``OneCycleLR``).

    Read more in the :ref:`User Guide <alien_method>`.

    Parameters
    ----------
    module : torch.nn.Module
        Head on ``device``, float64, already initialised.
    X : ndarray of shape (n_samples, n_features), float64
        Training features.
    errors, u0 : ndarray of shape (n_samples,)
        Error indicator and clamped score of the logits.
    alpha, beta, batch_size
        As in :class:`~alien_sk.estimator.AlienUncertaintyEstimator`.
    device : torch.device
        Where to train.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from alien_sk.head import (AutogradTrainer, ResidualLinearHead,
    ...                            one_cycle_schedule)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 5)); e = (rng.random(8) < 0.5).astype(float)
    >>> tr = AutogradTrainer(ResidualLinearHead(2, 3), X, e, np.full(8, 0.5),
    ...                      0.1, 0.1, 4, torch.device("cpu"))
    >>> lr, b1 = one_cycle_schedule(2, 1e-3)
    >>> bool(np.isfinite(tr.run_epoch(np.arange(8), lr, b1)))
    True
    """

    def __init__(self, module, X, errors, u0, alpha, beta, batch_size, device):
        self.module = module
        self.device = device
        if isinstance(X, np.ndarray) and not X.flags.writeable:
            X = X.copy()  # torch warns about (and cannot share) read-only arrays
        self.X = torch.as_tensor(X, dtype=torch.float64).to(device)
        self.e = torch.as_tensor(errors, dtype=torch.float64).to(device)
        self.u0 = torch.as_tensor(u0, dtype=torch.float64).to(device)
        self.params = list(module.parameters())
        self.params0 = [p.detach().clone() for p in self.params]
        self.alpha, self.beta = float(alpha), float(beta)
        self.batch_size = int(batch_size)
        self.optimizer = torch.optim.Adam(
            self.params, lr=1e-3, betas=(MAX_MOMENTUM, ADAM_BETA2), eps=ADAM_EPS
        )

    def get_state(self):
        return [p.detach().clone() for p in self.params]

    def set_state(self, state):
        with torch.no_grad():
            for p, s in zip(self.params, state, strict=True):
                p.copy_(s)

    def run_epoch(self, perm, lrs, betas1):
        """One pass over ``perm`` in mini-batches; returns the mean batch loss."""
        perm_t = torch.as_tensor(perm).to(self.device)
        bs = self.batch_size
        total = 0.0
        n_batches = 0
        self.module.train()
        group = self.optimizer.param_groups[0]
        for k, start in enumerate(range(0, perm_t.shape[0], bs)):
            idx = perm_t[start : start + bs]
            group["lr"] = float(lrs[k])
            group["betas"] = (float(betas1[k]), ADAM_BETA2)
            u = self.module(self.X[idx])
            loss = alien_loss(
                u,
                self.e[idx],
                self.u0[idx],
                self.params,
                self.params0,
                self.alpha,
                self.beta,
            )
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            total += loss.item()
            n_batches += 1
        return total / n_batches

    def predict(self, X):
        """Unclamped scores of ``X`` with the current parameters."""
        self.module.eval()
        with torch.inference_mode():
            xt = torch.as_tensor(X, dtype=torch.float64).to(self.device)
            return self.module(xt).cpu().numpy()
