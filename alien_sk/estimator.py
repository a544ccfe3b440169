# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""AlienUncertaintyEstimator: the ALIEN head as a scikit-learn estimator."""

import copy
import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import _fit_context
from sklearn.metrics import roc_auc_score
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from alien_sk._base import BaseUncertaintyEstimator
from alien_sk._docstring import (
    Substitution,
    _classes_docstring,
    _device_docstring,
    _n_logits_docstring,
    _random_state_docstring,
)
from alien_sk._utils import resolve_device, user_stacklevel
from alien_sk.exceptions import DeviceWarning, NoErrorsWarning

__all__ = ["AlienUncertaintyEstimator"]


@Substitution(
    n_logits=_n_logits_docstring,
    classes=_classes_docstring,
    device=_device_docstring,
    random_state=_random_state_docstring,
)
class AlienUncertaintyEstimator(BaseUncertaintyEstimator):
    """ALIEN: an entropy-initialised head trained to predict the classifier's errors.

    The head reads ``X = [logits | embedding]`` and computes residual logits
    ``z = logits + h dW^T + db`` (``head="linear"``) or
    ``z = logits + W2 tanh(W1 h + b1) + b2`` (``head="mlp"``), whose
    normalised entropy ``U = -sum p log p / log C`` (``p = softmax(z)``) is
    the uncertainty. The residual part starts at zero, so the untrained head
    (``max_epochs=0``) scores exactly the normalised entropy of the
    classifier's logits. Training minimises, per mini-batch,

    ``mean BCE(Uc, e) + alpha * mean((Uc - U0)^2) + beta * sum (theta - theta0)^2``

    where ``e = argmax(logits) != y`` is the classifier's error, ``Uc`` the
    score clamped to ``[1e-9, 1 - 1e-9]``, ``U0`` the (clamped) score of the
    classifier's own logits and ``theta0`` the initial head parameters
    (L2-SP). Adam without weight decay and a one-cycle cosine schedule
    (``pct_start=0.1``, ``div_factor=25``, ``final_div_factor=1e4``, momentum
    cycled 0.95 -> 0.85 -> 0.95) stepped per mini-batch, in float64, as in
    the authors' code (arXiv 2505.15443).

    When ``X`` holds the logits only (no embedding column), the linear head
    reduces to a learned logit bias ``db`` (the MLP head likewise).

    Read more in the :ref:`User Guide <alien_method>`.

    Parameters
    ----------
    {n_logits}

    {classes}

    alpha : float, default=0.1
        Weight of the alignment term ``mean((Uc - U0)^2)`` that keeps the
        score close to the classifier's own entropy (0 = ablation without it).

    beta : float, default=0.1
        Weight of the L2-SP term ``sum (theta - theta0)^2`` over every head
        parameter (a plain sum; 0 = ablation without it).

    learning_rate : float, default=1e-4
        Peak learning rate of the one-cycle schedule.

    max_epochs : int, default=20
        Number of passes over the training data (0: no training, the head
        keeps its initialisation: with ``init="entropy"`` it scores the
        normalised entropy, or the smooth max, of the logits).

    batch_size : int, default=128
        Mini-batch size.

    head : {{"linear", "mlp"}}, default="linear"
        ``"linear"``: residual linear map of the embedding (trained with
        closed-form gradients on the CPU). ``"mlp"``: residual one-hidden-
        layer tanh MLP whose output layer starts at zero.

    hidden_size : int, default=256
        Width of the hidden layer of ``head="mlp"`` (ignored otherwise).

    init : {{"entropy", "random"}}, default="entropy"
        ``"entropy"``: the residual part starts at zero, so that the head
        starts at the classifier's entropy. ``"random"``: the paper's
        ablation of that initialisation; the residual parameters are drawn
        like :class:`torch.nn.Linear`'s (uniform in ``±1/sqrt(fan_in)``), so
        the head starts at the entropy of randomly perturbed logits, and
        L2-SP pulls towards that random start.

    score_function : {{"entropy", "smoothmax"}}, default="entropy"
        ``"entropy"``: normalised entropy. ``"smoothmax"``: the AdUE variant
        ``(1 - logsumexp(lambda p) / lambda) / (1 - 1 / C)``; the untrained
        head then scores that of the logits.

    smoothmax_lambda : float, default=100.0
        Sharpness ``lambda`` of ``score_function="smoothmax"``. It must
        exceed ``C log(C) / (C - 1)`` (1.39 for two classes), below which
        every score is ``<= 0``.

    validation_fraction : float or None, default=None
        When set, this fraction of the training data (stratified by error) is
        held out, the misclassification ROC-AUC on it is computed before
        training and after each epoch, training stops after
        ``n_iter_no_change`` epochs without improvement and the best head is
        kept: the untrained one (the entropy, with ``init="entropy"``) when
        no epoch strictly beats it. Needs at least two errors and two correct
        predictions.

    n_iter_no_change : int, default=5
        Patience of early stopping (used only with ``validation_fraction``).

    {device}

    {random_state}

    verbose : int, default=0
        0: silent. >0: one line per epoch on stdout.

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of ``X`` seen in ``fit``.

    n_logits_ : int
        Number of leading logit columns.

    classes_ : ndarray of shape (n_logits_,)
        Label of each logit column.

    module_ : torch.nn.Module
        The trained head (:class:`~alien_sk.head.ResidualLinearHead` or
        :class:`~alien_sk.head.ResidualMLPHead`), float64, on ``device_``.
        Pickling stores it on the CPU.

    device_ : torch.device
        Device the head lives on.

    loss_curve_ : list of float
        Mean mini-batch loss of each epoch.

    n_iter_ : int
        Number of epochs run.

    validation_scores_ : list of float
        Validation misclassification ROC-AUC after each epoch.

    initial_validation_score_ : float
        Validation misclassification ROC-AUC of the untrained head.

    best_iteration_ : int
        Epoch (1-based) whose head was kept; 0 when no epoch beat the
        untrained head, which was kept.

        These three exist only when the head was trained with early stopping:
        ``validation_fraction`` set, ``max_epochs > 0``, and training labels
        with both errors and correct predictions (otherwise nothing is split
        off or trained).

    See Also
    --------
    alien_sk.head.ResidualLinearHead : The linear head module.

    Notes
    -----
    With ``n_logits="auto"`` the number of logits is ``len(classes)``, else
    the number of distinct labels in ``y`` (or ``max(y) + 1`` when larger);
    a cross-validation fold can miss a class, so give ``n_logits`` or
    ``classes`` in grid searches.

    When the training data holds no error (or only errors) there is nothing
    to learn: a :class:`~alien_sk.exceptions.NoErrorsWarning` is raised and
    the head is left at the entropy initialisation.

    Examples
    --------
    >>> from alien_sk import AlienUncertaintyEstimator
    >>> from alien_sk.datasets import make_classifier_outputs
    >>> X, y = make_classifier_outputs(n_samples=1500, n_classes=3, n_embedding=6,
    ...                                error_rate=0.25, random_state=0)
    >>> est = AlienUncertaintyEstimator(head="mlp", hidden_size=32,
    ...                                 learning_rate=3e-2, random_state=0)
    >>> est = est.fit(X[:1000], y[:1000])
    >>> u = est.predict_uncertainty(X[1000:])
    >>> u.shape, bool(((u >= 0) & (u <= 1)).all())
    ((500,), True)
    >>> bool(est.score(X[1000:], y[1000:]) > 0.65)  # the entropy alone: ~0.46
    True
    """

    _parameter_constraints: dict = {
        **BaseUncertaintyEstimator._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "head": [StrOptions({"linear", "mlp"})],
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"entropy", "random"})],
        "score_function": [StrOptions({"entropy", "smoothmax"})],
        "smoothmax_lambda": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # X may be logits only: the head then reduces to a learned logit bias.
    _min_embedding_dim = 0

    # closed-form gradients for the linear head on the CPU (tests switch it off
    # to compare with autograd)
    _analytic = True

    def __init__(
        self,
        n_logits="auto",
        classes=None,
        *,
        alpha=0.1,
        beta=0.1,
        learning_rate=1e-4,
        max_epochs=20,
        batch_size=128,
        head="linear",
        hidden_size=256,
        init="entropy",
        score_function="entropy",
        smoothmax_lambda=100.0,
        validation_fraction=None,
        n_iter_no_change=5,
        device="cpu",
        random_state=None,
        verbose=0,
    ):
        super().__init__(n_logits=n_logits, classes=classes)
        self.alpha = alpha
        self.beta = beta
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.head = head
        self.hidden_size = hidden_size
        self.init = init
        self.score_function = score_function
        self.smoothmax_lambda = smoothmax_lambda
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # -- fitting -----------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the head on features ``X`` and true labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_logits + embedding_dim)
            ``[logits | embedding]`` of the classifier's training data.
        y : array-like of shape (n_samples,)
            True labels.

        Returns
        -------
        self : AlienUncertaintyEstimator
            Fitted estimator.
        """
        import torch

        # a refit that fails must not leave the previous head usable
        self.__dict__.pop("module_", None)
        # training needs autograd for the MLP head (and any head on a GPU),
        # even when called under torch.no_grad() or torch.inference_mode()
        with torch.inference_mode(False), torch.enable_grad():
            return self._fit(X, y)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def _fit(self, X, y):
        import torch

        from alien_sk import head as head_mod

        X, _, errors = self._validate_fit_data(X, y)
        device = resolve_device(self.device)
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))

        C = self.n_logits_
        d = X.shape[1] - C
        errors = errors.astype(np.float64)
        if self.score_function == "smoothmax":
            head_mod._check_smoothmax_lambda(self.smoothmax_lambda, C)

        module = self._make_module(d)
        with torch.no_grad():
            u0 = head_mod.score_from_logits(
                # a copy: torch.from_numpy warns about read-only arrays
                torch.from_numpy(np.array(X[:, :C], dtype=np.float64)),
                self.score_function,
                self.smoothmax_lambda,
            ).numpy()
        u0 = np.clip(u0, head_mod.CLAMP_LOW, head_mod.CLAMP_HIGH)

        self.loss_curve_ = []
        for stale in (
            "validation_scores_",
            "initial_validation_score_",
            "best_iteration_",
        ):
            self.__dict__.pop(stale, None)  # from an earlier fit
        self.n_iter_ = 0
        n_errors = int(errors.sum())
        if n_errors in (0, errors.shape[0]):
            warnings.warn(
                f"The classifier makes {'no error' if n_errors == 0 else 'only errors'}"
                f" on the {errors.shape[0]} training samples: there is nothing to "
                "learn; the head is left at the entropy initialisation.",
                NoErrorsWarning,
                stacklevel=user_stacklevel(),
            )
            module.reset_parameters("entropy", generator)
            self._finish(module, device)
            return self

        if self.max_epochs == 0:  # nothing trained: no validation split
            module.reset_parameters(self.init, generator)
            self._finish(module, device)
            return self
        train_idx, val_idx = self._split(errors, generator)
        module.reset_parameters(self.init, generator)

        if val_idx is None:  # avoid copying X
            X_tr, e_tr, u0_tr = X, errors, u0
        else:
            X_tr, e_tr, u0_tr = X[train_idx], errors[train_idx], u0[train_idx]
        if self.head == "linear" and device.type == "cpu" and self._analytic:
            trainer = head_mod.LinearAnalyticTrainer(
                X_tr,
                e_tr,
                u0_tr,
                module.weight.detach().numpy(),
                module.bias.detach().numpy(),
                self.alpha,
                self.beta,
                self.batch_size,
                self.score_function,
                self.smoothmax_lambda,
            )
        else:
            module = module.to(device)
            trainer = head_mod.AutogradTrainer(
                module,
                X_tr,
                e_tr,
                u0_tr,
                self.alpha,
                self.beta,
                self.batch_size,
                device,
            )
        if device.type == "cpu":
            # small BLAS calls: more threads only make the pools wait on each
            # other (an MLP fit on 4,000 rows: 0.5-0.6 s with one thread,
            # 7-22 s with two on a busy 2-core machine)
            with head_mod.one_thread():
                self._train(trainer, train_idx.shape[0], generator, X, errors, val_idx)
        else:
            self._train(trainer, train_idx.shape[0], generator, X, errors, val_idx)
        if isinstance(trainer, head_mod.LinearAnalyticTrainer):
            module = trainer.to_module(self.score_function, self.smoothmax_lambda)
        self._finish(module, device)
        return self

    def _make_module(self, d):
        from alien_sk import head as head_mod

        if self.head == "linear":
            return head_mod.ResidualLinearHead(
                self.n_logits_, d, self.score_function, self.smoothmax_lambda
            )
        return head_mod.ResidualMLPHead(
            self.n_logits_,
            d,
            self.hidden_size,
            self.score_function,
            self.smoothmax_lambda,
        )

    def _split(self, errors, generator):
        """Training and validation row indices (stratified by error)."""
        import torch

        n = errors.shape[0]
        if self.validation_fraction is None:
            return np.arange(n), None
        val = []
        for label in (0.0, 1.0):
            rows = np.flatnonzero(errors == label)
            if rows.shape[0] < 2:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} needs at least "
                    "two misclassified and two correctly classified training "
                    f"samples, but there are {int(errors.sum())} errors and "
                    f"{int(n - errors.sum())} correct predictions; set "
                    "validation_fraction=None."
                )
            n_val = min(
                max(1, round(self.validation_fraction * rows.shape[0])),
                rows.shape[0] - 1,
            )
            perm = torch.randperm(rows.shape[0], generator=generator).numpy()
            val.append(rows[perm[:n_val]])
        val_idx = np.sort(np.concatenate(val))
        train_mask = np.ones(n, dtype=bool)
        train_mask[val_idx] = False
        return np.flatnonzero(train_mask), val_idx

    def _train(self, trainer, n_train, generator, X, errors, val_idx):
        import torch

        from alien_sk.head import one_cycle_schedule

        n_batches = math.ceil(n_train / self.batch_size)
        lrs, betas1 = one_cycle_schedule(
            self.max_epochs * n_batches, float(self.learning_rate)
        )
        early = val_idx is not None
        if early:
            X_val, e_val = X[val_idx], errors[val_idx]
            self.validation_scores_ = []
            # the untrained head (the entropy with init="entropy") is the
            # baseline an epoch must beat to be kept
            best_score = float(roc_auc_score(e_val, trainer.predict(X_val)))
            self.initial_validation_score_ = best_score
            best_state, self.best_iteration_ = trainer.get_state(), 0
            no_improve = 0
        for epoch in range(self.max_epochs):
            perm = torch.randperm(n_train, generator=generator).numpy()
            sl = slice(epoch * n_batches, (epoch + 1) * n_batches)
            loss = trainer.run_epoch(perm, lrs[sl], betas1[sl])
            self.loss_curve_.append(loss)
            self.n_iter_ = epoch + 1
            msg = f"epoch {epoch + 1}/{self.max_epochs}: loss {loss:.6f}"
            if early:
                score = float(roc_auc_score(e_val, trainer.predict(X_val)))
                self.validation_scores_.append(score)
                msg += f", validation ROC-AUC {score:.4f}"
                if score > best_score:
                    best_score, best_state = score, trainer.get_state()
                    self.best_iteration_ = epoch + 1
                    no_improve = 0
                else:
                    no_improve += 1
            if self.verbose:
                print(msg, flush=True)
            if early and no_improve >= self.n_iter_no_change:
                break
        if early:
            trainer.set_state(best_state)

    def _finish(self, module, device):
        module = module.to(device)
        module.eval()
        for p in module.parameters():
            p.requires_grad_(False)
        self.module_ = module
        self.device_ = device

    # -- prediction --------------------------------------------------------------
    def predict_uncertainty(self, X):
        """Uncertainty score of each row: higher means more likely wrong.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_in_)
            ``[logits | embedding]`` features.

        Returns
        -------
        uncertainty : ndarray of shape (n_samples,)
            Scores in [0, 1] (float64).
        """
        import torch

        X = self._validate_predict_data(X)
        with torch.inference_mode():
            if X.dtype != np.float64 or not X.flags.writeable:
                # a copy: torch warns about (and cannot own) read-only arrays
                X = np.array(X, dtype=np.float64)
            xt = torch.from_numpy(X)
            if self.device_.type != "cpu":
                xt = xt.to(self.device_)
            u = self.module_(xt)
            if self.device_.type != "cpu":
                u = u.cpu()
        return np.clip(u.numpy(), 0.0, 1.0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags

    # -- pickling (skorch style: state on the CPU, remapped on load) ---------------
    def __getstate__(self):
        state = super().__getstate__()
        module = state.get("module_")
        on_cpu = module is None or all(
            p.device.type == "cpu" for p in module.parameters()
        )
        if not on_cpu:
            state["module_"] = copy.deepcopy(module).to("cpu")
        return state

    def __setstate__(self, state):
        device = state.get("device_")
        module = state.get("module_")
        if device is not None and module is not None and device.type != "cpu":
            import torch

            if device.type == "cuda":
                available = torch.cuda.is_available() and (
                    device.index is None or device.index < torch.cuda.device_count()
                )
            else:
                backend = getattr(torch.backends, device.type, None)
                available = backend is not None and backend.is_available()
            if available:
                state["module_"] = module.to(device)
            else:
                warnings.warn(
                    f"This AlienUncertaintyEstimator was fitted on device "
                    f"'{device}', which is not available here; its head is "
                    "loaded on the CPU and device_ is set to 'cpu'.",
                    DeviceWarning,
                    stacklevel=user_stacklevel(),
                )
                state["device_"] = torch.device("cpu")
        super().__setstate__(state)
