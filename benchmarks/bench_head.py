# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fit and predict time of the ALIEN head, side by side with LogisticRegression.

Synthetic ``[logits | embedding]`` features (10,000 rows, 2 logits, 384 and
768 embedding columns by default). Every estimator is timed on the same data
in the same run; the ``fit/LR`` column is the ratio of its fit time to
``LogisticRegression`` fitted on the same X against the error labels (the
same binary problem an error probe solves). Fits are interleaved and the
ratio is the median of per-repeat ratios, so that a noisy machine affects
both sides of each ratio alike.

    python benchmarks/bench_head.py
    python benchmarks/bench_head.py --estimators alien logreg --dims 384 --repeat 5
    python benchmarks/bench_head.py --breakdown   # where the fit time goes
    python benchmarks/bench_head.py --data rotten-tomatoes   # real features

``--data rotten-tomatoes`` times the same fits on real features instead: the
first ``--n-samples`` of the 12,808 Rotten Tomatoes sentences (all splits)
through the demo's fine-tuned MiniLM classifier (2 logits + 384 embedding
columns; ``--dims`` does not apply). The classifier and the
features come from the demo's caches (``$ALIEN_SK_HOME`` or
``~/.cache/alien_sk``); a first run fine-tunes and extracts them (minutes)
and needs the packaged data and model (``requirements-data.txt``). The
comparison with LogisticRegression depends on the data: the synthetic
embedding is isotropic Gaussian, on which L-BFGS converges in a dozen
iterations, while real embeddings are strongly correlated and LR needs
several times more; the head's cost does not depend on the data.

``alien`` trains with the compiled epoch (``alien_sk/_head_fast.pyx``, built
at install time); ``alien-numpy`` with the numpy step it replaces (the
fallback without a C compiler), for comparison. ``--breakdown`` adds two
stripped-down fits of the numpy step that keep only part of each training
step (same data, same mini-batches, everything else in ``fit`` unchanged):
``floor-memory`` gathers the mini-batch rows and widens them to float64;
``floor-blas`` also runs the two matrix products and the Adam step (with a
zero learning rate). Their time is a floor for the numpy step that no
reduction of its small per-step numpy operations can go below.

Threads are capped (``--threads``, default 1) before numpy and torch are
imported, so that the comparison does not depend on the machine's load.
"""

import argparse
import os
import sys

from alien_sk.cli import _int_at_least  # argparse only: imports no numpy


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--estimators",
        nargs="+",
        default=["alien", "alien-numpy", "alien-autograd", "logreg"],
        choices=["alien", "alien-numpy", "alien-autograd", "alien-mlp", "logreg"],
        help="estimators to time (logreg is always timed: it is the reference)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="also time the floor-memory and floor-blas parts of the alien fit",
    )
    parser.add_argument(
        "--data",
        choices=["synthetic", "rotten-tomatoes"],
        default="synthetic",
        help="synthetic features (default) or the demo classifier's real ones",
    )
    parser.add_argument("--n-samples", type=_int_at_least(10), default=10_000)
    parser.add_argument("--n-logits", type=_int_at_least(2), default=2)
    parser.add_argument("--dims", type=_int_at_least(0), nargs="+", default=[384, 768])
    parser.add_argument("--max-epochs", type=_int_at_least(1), default=20)
    parser.add_argument("--predict-rows", type=_int_at_least(1), default=1_000)
    parser.add_argument("--repeat", type=_int_at_least(1), default=3)
    parser.add_argument("--threads", type=_int_at_least(1), default=1)
    args = parser.parse_args(argv)
    if args.data == "rotten-tomatoes" and args.n_logits != 2:
        parser.error("--data rotten-tomatoes has 2 logits; drop --n-logits")
    return args


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None:
    for var in (
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "NUMEXPR_NUM_THREADS",
    ):
        os.environ[var] = str(ARGS.threads)

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from alien_sk import head  # noqa: E402
from alien_sk.datasets import make_classifier_outputs  # noqa: E402
from alien_sk.estimator import AlienUncertaintyEstimator  # noqa: E402


class _ErrorLogReg:
    """LogisticRegression on the classifier's error labels (the reference)."""

    def __init__(self, n_logits):
        self.n_logits = n_logits

    def fit(self, X, y):
        errors = X[:, : self.n_logits].argmax(axis=1) != y
        self.model_ = LogisticRegression().fit(X, errors)
        return self

    def predict_uncertainty(self, X):
        return self.model_.predict_proba(X)[:, 1]


def _alien(max_epochs, **kw):
    return AlienUncertaintyEstimator(max_epochs=max_epochs, random_state=0, **kw)


class _NumpyStep:
    """``AlienUncertaintyEstimator`` trained with the numpy step (no kernel)."""

    def __init__(self, est):
        self.est = est

    def fit(self, X, y):
        kernel, head._head_fast = head._head_fast, None
        try:
            self.est.fit(X, y)
        finally:
            head._head_fast = kernel
        return self

    def predict_uncertainty(self, X):
        return self.est.predict_uncertainty(X)


def _alien_autograd(max_epochs):
    est = _alien(max_epochs)
    est._analytic = False  # the plain eager torch loop (autograd + torch.optim)
    return est


def _floor_step(part):
    """A training step that keeps only the gather (+ widen) [+ BLAS + Adam]."""

    def _step(self, idx, cols, uc, lr, beta1):
        buf = self._bufs(idx.shape[0])
        self.X.take(idx, 0, buf.raw, "clip")
        if buf.widen:
            np.copyto(buf.h, buf.raw_h)
        if part == "blas":
            np.matmul(self._weight, buf.h.T, out=buf.z)
            np.matmul(buf.z, buf.h, out=self._grad_w)
            self._adam_step(0.0, beta1)
        uc[:] = 0.5
        return 0.0

    return _step


class _AlienFloor:
    """``AlienUncertaintyEstimator.fit`` with a stripped-down training step."""

    def __init__(self, max_epochs, part):
        self.est = _NumpyStep(_alien(max_epochs))
        self.trainer = type(
            f"FloorTrainer_{part}",
            (head.LinearAnalyticTrainer,),
            {"_step": _floor_step(part)},
        )

    def fit(self, X, y):
        original = head.LinearAnalyticTrainer
        head.LinearAnalyticTrainer = self.trainer
        try:
            self.est.fit(X, y)
        finally:
            head.LinearAnalyticTrainer = original
        return self

    def predict_uncertainty(self, X):
        return self.est.predict_uncertainty(X)


ESTIMATORS = {
    "logreg": lambda args: _ErrorLogReg(args.n_logits),
    "alien": lambda args: _alien(args.max_epochs),
    "alien-numpy": lambda args: _NumpyStep(_alien(args.max_epochs)),
    "alien-autograd": lambda args: _alien_autograd(args.max_epochs),
    "alien-mlp": lambda args: _alien(args.max_epochs, head="mlp"),
    "floor-memory": lambda args: _AlienFloor(args.max_epochs, "memory"),
    "floor-blas": lambda args: _AlienFloor(args.max_epochs, "blas"),
}


def _real_features(n_samples):
    """``[logits | embedding]`` of Rotten Tomatoes from the demo's classifier.

    The demo's sentiment classifier (fine-tuned on its training subsample,
    cached) is run on every sentence of the data set (features cached per
    text); the first ``n_samples`` rows are returned, as float32.
    """
    import os

    from alien_sk.datasets import load_rotten_tomatoes
    from alien_sk.demo import DEFAULT_SETTINGS, _load_task
    from alien_sk.features import FeatureExtractor
    from alien_sk.finetune import fine_tune, get_data_home

    settings = DEFAULT_SETTINGS["sentiment"]
    home = get_data_home()
    data, label_names = _load_task("sentiment", settings)
    tuned = fine_tune(
        *data["train"][:2],
        task="sequence",
        label_names=label_names,
        max_length=settings["max_length"],
        n_epochs=settings["n_epochs"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        random_state=0,
        cache_dir=os.path.join(home, "models"),
    )
    texts, y = load_rotten_tomatoes(subset="all", return_X_y=True)
    texts, y = texts[:n_samples], y[:n_samples]
    extractor = FeatureExtractor(
        tuned.path,
        max_length=tuned.max_length,
        cache_dir=os.path.join(home, "features"),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few long sentences are truncated
        X = extractor.fit_transform(texts)
    return X.astype(np.float32), np.asarray(y)


def _datasets(args):
    """(X, y) per benchmarked shape."""
    if args.data == "rotten-tomatoes":
        yield _real_features(args.n_samples)
        return
    for dim in args.dims:
        yield make_classifier_outputs(
            n_samples=args.n_samples,
            n_classes=args.n_logits,
            n_embedding=dim,
            random_state=0,
        )


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run(args):
    """Time every estimator; return rows (name, shape, fit s, fit/LR, predict ms).

    The fits are interleaved (every estimator in every repeat, in an order
    that rotates from repeat to repeat, so that none always runs first) and
    ``fit/LR`` is the median of the per-repeat ratios, so that a change of
    machine load during the run hits both sides of each ratio alike.
    """
    torch.set_num_threads(args.threads)
    names = ["logreg"] + [n for n in args.estimators if n != "logreg"]
    if args.breakdown:
        names += ["floor-blas", "floor-memory"]
    rows = []
    lr_iters = {}
    for X, y in _datasets(args):
        n, dim = X.shape[0], X.shape[1] - args.n_logits
        shape = f"{n}x({args.n_logits}+{dim})"
        X_pred = X[: args.predict_rows]
        n_pred = X_pred.shape[0]  # fewer when the data are smaller
        models = {name: ESTIMATORS[name](args) for name in names}
        fit_s = {name: [] for name in names}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for est in models.values():
                est.fit(X, y)  # warm-up (imports, allocator)
            order = list(models.items())
            for rep in range(args.repeat):
                # rotate the order per repeat: no estimator always runs first
                k = rep % len(order)
                for name, est in order[k:] + order[:k]:
                    fit_s[name].append(
                        _seconds(lambda est=est, X=X, y=y: est.fit(X, y))
                    )
        lr_iters[shape] = int(models["logreg"].model_.n_iter_[0])
        for name, est in models.items():
            pred_s = np.median(
                [
                    _seconds(lambda e=est, Xp=X_pred: e.predict_uncertainty(Xp))
                    for _ in range(max(args.repeat, 20))
                ]
            )
            ratio = np.median(np.array(fit_s[name]) / np.array(fit_s["logreg"]))
            rows.append(
                (
                    name,
                    shape,
                    float(np.median(fit_s[name])),
                    float(ratio),
                    float(pred_s) * 1e3,
                )
            )
    header = f"{'estimator':<16}{'X shape':>16}{'fit (s)':>10}{'fit/LR':>9}" + (
        f"{'predict ' + str(n_pred) + ' rows (ms)':>28}"
    )
    print(
        f"data={args.data}  threads={args.threads}  "
        f"max_epochs={args.max_epochs}  batch_size=128  "
        f"median of {args.repeat} interleaved fits (fit/LR: median per-repeat ratio)"
    )
    print(header)
    print("-" * len(header))
    for name, shape, fit_time, ratio, pred_ms in rows:
        print(f"{name:<16}{shape:>16}{fit_time:>10.3f}{ratio:>9.2f}{pred_ms:>28.3f}")
    print(
        "LogisticRegression (L-BFGS) iterations to converge: "
        + ", ".join(f"{n} at {shape}" for shape, n in lr_iters.items())
    )
    return rows


if __name__ == "__main__":
    sys.exit(0 if run(ARGS) else 1)
