# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The real-data benchmark behind ``python -m alien_sk demo``.

One function, :func:`run_benchmark`, runs the whole pipeline offline:

1. load a packaged data set (Rotten Tomatoes sentences, or WNUT-2016 tweets
   for token-level NER) with its fixed splits, and subsample them;
2. fine-tune the packaged MiniLM on the training subsample
   (:func:`alien_sk.finetune.fine_tune`, cached on disk);
3. extract ``[logits | embedding]`` features of the train, validation and
   test subsamples (:class:`alien_sk.FeatureExtractor`, cached per text);
4. tune ALIEN as the paper does (head trained on the classifier's training
   split; learning rate x alpha x beta chosen by validation misclassification
   ROC-AUC through ``GridSearchCV`` with a ``PredefinedSplit``), run its
   ablations and every baseline, several seeds of every seeded method, and,
   side by side, the second protocol (head trained on held-out errors: the
   validation split, grid chosen by cross-validation inside it);
5. score every method on the test split (misclassification ROC-AUC, AURC,
   E-AURC, ECE, PRR) with bootstrap confidence intervals over the test set
   and paired differences to the entropy baseline; write the table, the raw
   results (CSV) and risk-coverage / reliability plots (PNG).

``benchmarks/bench_uncertainty.py`` and the ``alien-sk`` console script are
thin command lines over this module.

Choices made here, beyond the paper's protocol:

* the ablations change one component of the configuration chosen by the
  grid (e.g. ``alpha = 0``), they are not tuned again;
* deterministic methods (MaxProb, entropy, Mahalanobis, ...) and RDE (on a
  fixed subsample) run once (std 0); the ALIEN heads run ``n_seeds`` times;
  the fine-tuning itself runs once per call (``finetune_seed``), so the
  spread over classifiers needs :func:`run_finetune_seeds`
  (``--finetune-seeds``);
* the bootstrap intervals resample the test set; on each resample a
  method's metric is its mean over its seeds, and the paired difference to
  entropy uses the same resamples for both methods; the difference printed
  is the observed one on the whole test set; the "± std" over seeds or
  classifiers is the sample standard deviation (ddof=1);
* RDE is fitted on at most 2,000 training rows (random, seeded): its kernel
  PCA is cubic in the number of rows;
* fits are cached on disk (``cache_fits``), so a rerun only scores.
"""

import contextlib
import csv
import hashlib
import importlib.util
import json
import numbers
import os
import platform
import re
import time
import warnings

import joblib
import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import f1_score
from sklearn.model_selection import (
    GridSearchCV,
    GroupKFold,
    PredefinedSplit,
    StratifiedKFold,
)
from sklearn.utils import Bunch

from alien_sk import metrics as _metrics
from alien_sk._utils import resolve_device

__all__ = [
    "ALIEN_GRID",
    "DEFAULT_SETTINGS",
    "ESTIMATORS",
    "METHOD_SLUGS",
    "METRICS",
    "QUICK_SETTINGS",
    "format_table",
    "run_benchmark",
    "run_finetune_seeds",
]

#: the paper's grid for the ALIEN head (27 points)
ALIEN_GRID = {
    "learning_rate": [4e-4, 1e-4, 1e-5],
    "alpha": [0.01, 0.1, 1.0],
    "beta": [0.01, 0.1, 1.0],
}

#: metric name -> (function, higher is better); every value is printed x100
METRICS = {
    "roc_auc": (_metrics.misclassification_roc_auc, True),
    "aurc": (_metrics.aurc, False),
    "e_aurc": (_metrics.e_aurc, False),
    "ece": (_metrics.expected_calibration_error, False),
    "prr": (_metrics.prediction_rejection_ratio, True),
}
_METRIC_TITLES = {
    "roc_auc": "ROC-AUC",
    "aurc": "AURC",
    "e_aurc": "E-AURC",
    "ece": "ECE",
    "prr": "PRR",
}

#: Settings of the full run. Sizes are numbers of texts (sentences for NER)
#: drawn from the fixed splits (None: the whole split). They and
#: ``max_length`` come from throughput measured on the 2-core CPU this was
#: developed on: fine-tuning MiniLM (batch 16, 64 tokens, word embeddings
#: frozen) ran at 45-51 Rotten Tomatoes sentences/s on a quiet machine and
#: 14-17/s while other jobs ran; feature extraction at 185-235 sentences/s
#: (27 tokens on average; 99.9% fit in 64). The first run (fine-tuning
#: 2 x 2,000 sentences, features of 5,842) took 3.3 minutes quiet and 6 under
#: load. On 500 training sentences, 2 epochs at 1e-4 reached 75.7% validation
#: accuracy against 72.3% for 1 epoch at 3e-4 (and a majority-class model for
#: 1 epoch at 1e-4 with batches of 32).
DEFAULT_SETTINGS = {
    "sentiment": {
        "n_train": 2000,
        "n_validation": None,
        "n_test": None,
        "max_length": 64,
        "n_epochs": 2,
        "learning_rate": 1e-4,
        "batch_size": 16,
        "n_seeds": 5,
        "n_bootstrap": 200,
    },
    "ner": {
        "n_train": None,
        "n_validation": None,
        "n_test": None,
        "max_length": 96,
        "n_epochs": 3,
        "learning_rate": 2e-4,
        "batch_size": 16,
        "n_seeds": 5,
        "n_bootstrap": 200,
    },
}

#: ``--quick``: a smaller run (a few minutes on the first run)
QUICK_SETTINGS = {
    "sentiment": {
        "n_train": 500,
        "n_validation": 400,
        "n_test": 600,
        "n_seeds": 2,
        "n_bootstrap": 100,
    },
    "ner": {
        "n_train": 300,
        "n_validation": 120,
        "n_test": 200,
        "n_seeds": 2,
        "n_bootstrap": 100,
    },
}

# the same run on Rotten Tomatoes split by film (no film in two splits)
DEFAULT_SETTINGS["sentiment-film"] = dict(DEFAULT_SETTINGS["sentiment"])
QUICK_SETTINGS["sentiment-film"] = dict(QUICK_SETTINGS["sentiment"])


def _alien(**params):
    from alien_sk.estimator import AlienUncertaintyEstimator

    return AlienUncertaintyEstimator(**params)


def _baseline(name, **params):
    from alien_sk import baselines

    return getattr(baselines, name)(**params)


#: method -> (kind, factory(n_logits, best_params, seed), fit split, seeded).
#: ``kind`` is "alien" (needs the tuned parameters) or "baseline"; the fit
#: split is "train" (the classifier's training split) or "validation".
ESTIMATORS = {
    "ALIEN": (
        "alien",
        lambda k, p, s: _alien(n_logits=k, **p, random_state=s),
        "train",
        True,
    ),
    "ALIEN, MLP head": (
        "alien",
        lambda k, p, s: _alien(n_logits=k, **p, head="mlp", random_state=s),
        "train",
        True,
    ),
    "ALIEN, SmoothMax": (
        "alien",
        lambda k, p, s: _alien(
            n_logits=k, **p, score_function="smoothmax", random_state=s
        ),
        "train",
        True,
    ),
    "ALIEN, random init": (
        "alien",
        lambda k, p, s: _alien(n_logits=k, **p, init="random", random_state=s),
        "train",
        True,
    ),
    "ALIEN, BCE only": (
        "alien",
        lambda k, p, s: _alien(
            n_logits=k, **{**p, "alpha": 0.0, "beta": 0.0}, random_state=s
        ),
        "train",
        True,
    ),
    "ALIEN, BCE + alpha": (
        "alien",
        lambda k, p, s: _alien(n_logits=k, **{**p, "beta": 0.0}, random_state=s),
        "train",
        True,
    ),
    "ALIEN, BCE + L2-SP": (
        "alien",
        lambda k, p, s: _alien(n_logits=k, **{**p, "alpha": 0.0}, random_state=s),
        "train",
        True,
    ),
    "ALIEN [held-out]": (
        "alien-heldout",
        lambda k, p, s: _alien(n_logits=k, **p, random_state=s),
        "validation",
        True,
    ),
    "Entropy": (
        "baseline",
        lambda k, p, s: _baseline("Entropy", n_logits=k),
        "train",
        False,
    ),
    "MaxProb": (
        "baseline",
        lambda k, p, s: _baseline("MaxProb", n_logits=k),
        "train",
        False,
    ),
    "Margin": (
        "baseline",
        lambda k, p, s: _baseline("Margin", n_logits=k),
        "train",
        False,
    ),
    "MaxProb, temperature": (
        "baseline",
        lambda k, p, s: _baseline("TemperatureScaledMaxProb", n_logits=k),
        "validation",
        False,
    ),
    "Mahalanobis": (
        "baseline",
        lambda k, p, s: _baseline("Mahalanobis", n_logits=k),
        "train",
        False,
    ),
    "Relative Mahalanobis": (
        "baseline",
        lambda k, p, s: _baseline("RelativeMahalanobis", n_logits=k),
        "train",
        False,
    ),
    "RDE": (
        "baseline",
        lambda k, p, s: _baseline("RDE", n_logits=k, random_state=s),
        "train",
        False,
    ),
    "DDU": ("baseline", lambda k, p, s: _baseline("DDU", n_logits=k), "train", False),
    "Error probe": (
        "baseline",
        lambda k, p, s: _baseline("ErrorProbe", n_logits=k, random_state=s),
        "train",
        False,
    ),
    "Error probe [held-out]": (
        "baseline",
        lambda k, p, s: _baseline("ErrorProbe", n_logits=k, random_state=s),
        "validation",
        False,
    ),
}


def _slug(name):
    """Command-line name of a method: ``"ALIEN, MLP head"`` -> ``"alien-mlp-head"``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


#: command-line name -> method
METHOD_SLUGS = {_slug(name): name for name in ESTIMATORS}

#: the methods drawn in the plots
_PLOTTED = (
    "ALIEN",
    "ALIEN [held-out]",
    "Entropy",
    "MaxProb, temperature",
    "Mahalanobis",
    "Error probe [held-out]",
)
_RELIABILITY = ("ALIEN", "ALIEN [held-out]", "Entropy", "MaxProb, temperature")
_REFERENCE = "Entropy"
#: methods fitted on a random (seeded) subsample of at most this many rows:
#: RDE's kernel PCA decomposes an n x n kernel (cubic time, n^2 memory), out
#: of reach for the 30,000 training words of the NER task
_MAX_FIT_ROWS = {"RDE": 2000}


#: the smallest valid value of each integer setting (None = the default)
_SETTING_MINIMA = {
    "n_train": 1,
    "n_validation": 1,
    "n_test": 1,
    "n_seeds": 1,
    "n_bootstrap": 0,  # 0 skips the bootstrap
    "max_length": 2,
    "n_epochs": 1,
}


# -- data ---------------------------------------------------------------------
def _subsample(n_total, n, strata, seed):
    """Sorted indices of a stratified subsample of ``n`` rows (all if None)."""
    if n is None or n >= n_total:
        return np.arange(n_total)
    rng = np.random.RandomState(seed)
    strata = np.asarray(strata)
    values, counts = np.unique(strata, return_counts=True)
    # largest-remainder allocation of n over the strata
    quota = counts * n / n_total
    take = np.floor(quota).astype(int)
    rest = n - take.sum()
    take[np.argsort(-(quota - take), kind="stable")[:rest]] += 1
    picked = [
        rng.permutation(np.flatnonzero(strata == v))[:t]
        for v, t in zip(values, take, strict=True)
    ]
    return np.sort(np.concatenate(picked))


def _load_task(task, settings, seed=0):
    """Texts, labels and groups of the three subsampled splits.

    ``groups`` is the film of each sentence for ``"sentiment-film"`` (the
    held-out folds and the bootstrap then keep a film's sentences together),
    else None.
    """
    from alien_sk.datasets import WNUT16_TAGS, load_rotten_tomatoes, load_wnut16

    out = {}
    names = {"train": "n_train", "validation": "n_validation", "test": "n_test"}
    for split, key in names.items():
        if task == "ner":
            words, tags = load_wnut16(subset=split, return_X_y=True)
            has_entity = [bool(np.any(t > 0)) for t in tags]
            idx = _subsample(len(words), settings[key], has_entity, seed)
            out[split] = ([words[i] for i in idx], [tags[i] for i in idx], None)
        else:
            by_film = task == "sentiment-film"
            data = load_rotten_tomatoes(
                subset=split, split_by="film" if by_film else "sentence"
            )
            idx = _subsample(len(data.data), settings[key], data.target, seed)
            films = np.asarray(data.movie_name, dtype=object)[idx] if by_film else None
            out[split] = ([data.data[i] for i in idx], data.target[idx], films)
    label_names = list(WNUT16_TAGS) if task == "ner" else ["rotten", "fresh"]
    return out, label_names


# -- metrics ------------------------------------------------------------------
def _roc_auc_fast(errors, uncertainty):
    """Mann-Whitney form of the ROC-AUC (average ranks for ties).

    Equal to ``sklearn.metrics.roc_auc_score(errors, uncertainty)``, about
    20 times faster on a few thousand rows: used in the bootstrap loop.
    """
    n_pos = int(errors.sum())
    n_neg = errors.shape[0] - n_pos
    if n_pos == 0 or n_neg == 0:
        return np.nan
    ranks = rankdata(uncertainty)
    return (ranks[errors].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _score_all(y_true, y_pred, uncertainty, bounded, fast=False):
    """Every metric of :data:`METRICS` (ECE is nan for unbounded scores)."""
    out = {}
    errors = y_true != y_pred
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (func, _) in METRICS.items():
            if name == "ece" and not (
                bounded and uncertainty.min() >= 0 and uncertainty.max() <= 1
            ):
                out[name] = np.nan
            elif name == "roc_auc" and fast:
                out[name] = _roc_auc_fast(errors, uncertainty)
            else:
                out[name] = float(func(y_true, y_pred, uncertainty))
    return out


def _bootstrap(
    y_true, y_pred, scores, bounded, n_bootstrap, seed, reference, groups=None
):
    """Percentile intervals over test resamples, and paired differences.

    ``scores`` maps each method to the list of its test scores, one array per
    seed of the head. On every resample a method's metric is the mean over
    its seeds (the quantity the table's "mean over seeds" column reports),
    and the same resampled indices serve every method, so that the difference
    ``method - reference`` of each resample is a paired difference. The
    reported difference is the observed one on the whole test set; the
    resamples give its percentile interval. With ``groups`` (token level: the
    sentence of each word, copies of a repeated sentence sharing one group;
    ``"sentiment-film"``: the film of each sentence) whole groups are
    resampled (a cluster bootstrap), since the words of a sentence, or the
    sentences about a film, are not independent draws.
    """
    # one array per method is one seed
    scores = {name: list(np.atleast_2d(u)) for name, u in scores.items()}

    def seed_mean(idx, name):
        per_seed = [
            _score_all(y_true[idx], y_pred[idx], u[idx], bounded[name], True)
            for u in scores[name]
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-nan metrics
            return {m: float(np.nanmean([v[m] for v in per_seed])) for m in METRICS}

    rng = np.random.RandomState(seed)
    n = y_true.shape[0]
    if groups is not None:
        _, inverse = np.unique(groups, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(inverse.max() + 2))
        members = [order[bounds[g] : bounds[g + 1]] for g in range(len(bounds) - 1)]
    draws = {name: {m: [] for m in METRICS} for name in scores}
    for _ in range(n_bootstrap):
        if groups is None:
            idx = rng.randint(n, size=n)
        else:
            picked = rng.randint(len(members), size=len(members))
            idx = np.concatenate([members[g] for g in picked])
        for name in scores:
            for m, v in seed_mean(idx, name).items():
                draws[name][m].append(v)
    everything = np.arange(n)
    observed = {name: seed_mean(everything, name) for name in scores}
    rows = []
    for name in scores:
        for m in METRICS:
            d = np.asarray(draws[name][m], dtype=float)
            ref = np.asarray(draws[reference][m], dtype=float)
            lo, hi = _percentiles(d)
            dlo, dhi = _percentiles(d - ref)
            rows.append(
                {
                    "method": name,
                    "metric": m,
                    "n_seeds": len(scores[name]),
                    "value": observed[name][m],
                    "ci_low": lo,
                    "ci_high": hi,
                    "diff_vs_" + reference.lower(): observed[name][m]
                    - observed[reference][m],
                    "diff_ci_low": dlo,
                    "diff_ci_high": dhi,
                }
            )
    return rows


def _percentiles(values):
    values = values[np.isfinite(values)]
    if values.shape[0] == 0:
        return np.nan, np.nan
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)


def _classifier_report(task, logits, y, groups=None):
    """Accuracy and F1 of the fine-tuned classifier."""
    pred = logits.argmax(axis=1)
    out = {"accuracy": float(np.mean(pred == y)), "n": int(y.shape[0])}
    out["error_rate"] = 1.0 - out["accuracy"]
    if task != "ner":
        out["f1_macro"] = float(f1_score(y, pred, average="macro"))
    else:
        out["entity_f1"] = _entity_f1(y, pred, groups)
    return out


def _spans(tags, groups):
    """Entity spans (sentence, start, end, type) of BIO tag indices (WNUT)."""
    from alien_sk.datasets import WNUT16_TAGS

    spans = set()
    current = None
    prev_group = None
    for i, (t, g) in enumerate(zip(tags, groups, strict=True)):
        name = WNUT16_TAGS[t]
        if g != prev_group and current is not None:
            spans.add(current + (i,))
            current = None
        prev_group = g
        if name.startswith("B-") or (
            name.startswith("I-") and (current is None or current[2] != name[2:])
        ):
            if current is not None:
                spans.add(current + (i,))
            current = (g, i, name[2:])
        elif name == "O" and current is not None:
            spans.add(current + (i,))
            current = None
    if current is not None:
        spans.add(current + (len(tags),))
    return spans


def _entity_f1(y, pred, groups):
    """Exact-match entity F1 (CoNLL style; an orphan I- tag opens an entity)."""
    true, found = _spans(y, groups), _spans(pred, groups)
    tp = len(true & found)
    if not true and not found:
        return 1.0
    precision = tp / len(found) if found else 0.0
    recall = tp / len(true) if true else 0.0
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def _code_version():
    """Hash of the versions and sources that decide a fit (fit-cache key)."""
    import scipy
    import sklearn
    import torch

    from alien_sk import head

    # the compiled head epoch (alien_sk/_head_fast.pyx, SciPy's BLAS) and the
    # numpy step agree only to rounding: which one fits is part of the key
    kernel = "compiled" if head._head_fast is not None else "numpy"
    h = hashlib.sha256(
        f"{np.__version__}|{sklearn.__version__}|{torch.__version__}|"
        f"{scipy.__version__}|{kernel}".encode()
    )
    # every module of the package: a hand-kept list of those a fit reads
    # missed alien_sk.metrics, with which the grid searches score
    package = os.path.dirname(os.path.abspath(__file__))
    sources = []
    for root, dirs, names in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        sources += [
            os.path.join(root, n) for n in sorted(names) if n.endswith((".py", ".pyx"))
        ]
    for source in sources:
        h.update(os.path.relpath(source, package).encode() + b"\x00")
        with open(source, "rb") as f:
            h.update(f.read())
    return h.hexdigest()


def _fit_predict(name, n_logits, params, seed, X_fit, y_fit, X_test, code=None):
    """Fit one method and score the test rows; returns (U, bounded, seconds)."""
    _, factory, _, _ = ESTIMATORS[name]
    est = factory(n_logits, params, seed)
    start = time.perf_counter()
    cap = _MAX_FIT_ROWS.get(name)
    if cap is not None and X_fit.shape[0] > cap:
        rows = np.sort(np.random.RandomState(seed).permutation(X_fit.shape[0])[:cap])
        X_fit, y_fit = X_fit[rows], y_fit[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X_fit, y_fit)
        u = np.asarray(est.predict_uncertainty(X_test), dtype=np.float64)
    bounded = bool(getattr(est, "_bounded_uncertainty", True))
    return u, bounded, time.perf_counter() - start


# -- tuning -------------------------------------------------------------------
def _grid_search(X, y, cv, n_logits, random_state, n_jobs, code=None):
    search = GridSearchCV(
        _alien(n_logits=n_logits, random_state=random_state),
        ALIEN_GRID,
        cv=cv,
        refit=False,
        n_jobs=n_jobs,
        error_score=np.nan,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    best = {k: search.best_params_[k] for k in ALIEN_GRID}
    return best, float(search.best_score_), search.cv_results_


def _cv_folds(errors, groups, n_splits=5, seed=0):
    """Folds inside the validation split: stratified by error, or by group."""
    if groups is not None:
        n_splits = max(2, min(n_splits, np.unique(groups).shape[0]))
        return list(GroupKFold(n_splits=n_splits).split(errors, errors, groups))
    n_min = int(min(errors.sum(), (~errors).sum()))
    n_splits = max(2, min(n_splits, n_min))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(cv.split(errors, errors))


# -- plots --------------------------------------------------------------------
def _plots(y_true, y_pred, scores, bounded, out_dir, title):
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from alien_sk.plotting import ReliabilityDisplay, RiskCoverageDisplay

    paths = {}
    fig, ax = plt.subplots(figsize=(6.4, 4.6), dpi=100)
    for name in _PLOTTED:
        if name in scores:
            RiskCoverageDisplay.from_predictions(
                y_true, y_pred, scores[name], name=name, ax=ax, linewidth=1.4
            )
    ax.set_title(f"Risk-coverage on the test split ({title})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    paths["risk_coverage"] = os.path.join(out_dir, "risk_coverage.png")
    fig.savefig(paths["risk_coverage"])
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=100)
    for name in _RELIABILITY:
        if name in scores and bounded[name]:
            ReliabilityDisplay.from_predictions(
                y_true, y_pred, scores[name], name=name, ax=ax, n_bins=15
            )
    ax.set_title(f"Reliability of 1 - U ({title})", fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    paths["reliability"] = os.path.join(out_dir, "reliability.png")
    fig.savefig(paths["reliability"])
    plt.close(fig)
    return paths


# -- table --------------------------------------------------------------------
def _summarise(raw, methods):
    """Mean and std over seeds of every metric, ranked by ROC-AUC."""
    summary = []
    for name in methods:
        rows = [r for r in raw if r["method"] == name]
        if not rows:
            continue
        entry = {"method": name, "fit_on": rows[0]["fit_on"], "n_runs": len(rows)}
        for m in METRICS:
            v = np.asarray([r[m] for r in rows], dtype=float)
            finite = v[np.isfinite(v)]
            entry[m] = float(finite.mean()) if finite.size else np.nan
            entry[m + "_std"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        summary.append(entry)
    summary.sort(key=lambda e: -np.nan_to_num(e["roc_auc"], nan=-1.0))
    return summary


def format_table(summary, bootstrap=None, reference=_REFERENCE):
    """Fixed-width table of a benchmark summary (every metric x100).

    Parameters
    ----------
    summary : list of dict
        Rows with ``method``, ``fit_on``, ``n_runs`` and, for each metric of
        :data:`METRICS`, its mean and ``<metric>_std``.
    bootstrap : list of dict, default=None
        Bootstrap rows (``method``, ``metric``, ``ci_low``, ``ci_high``,
        ``diff_ci_low``, ``diff_ci_high``); when given, the ROC-AUC interval
        and the paired difference to ``reference`` are appended.
    reference : str, default="Entropy"
        Method of the paired differences.

    Returns
    -------
    table : str
        The table, one line per method, best ROC-AUC first.

    Examples
    --------
    >>> from alien_sk.demo import format_table
    >>> row = {"method": "Entropy", "fit_on": "-", "n_runs": 1, "roc_auc": 0.75,
    ...        "roc_auc_std": 0.0, "aurc": 0.1, "aurc_std": 0.0, "e_aurc": 0.05,
    ...        "e_aurc_std": 0.0, "ece": float("nan"), "ece_std": 0.0,
    ...        "prr": 0.4, "prr_std": 0.0}
    >>> lines = format_table([row]).splitlines()
    >>> lines[0].split()[:6]
    ['rank', 'method', 'fit', 'on', 'runs', 'ROC-AUC']
    >>> lines[1].split()[:8]
    ['1', 'Entropy', '-', '1', '75.00', '±', '0.00', '10.00']
    """
    ci = {}
    for r in bootstrap or ():
        ci[(r["method"], r["metric"])] = r
    width = max([len("method")] + [len(e["method"]) for e in summary])
    head = f"{'rank':>4}  {'method':<{width}}  {'fit on':<10} {'runs':>4}"
    cols = []
    for m in METRICS:
        cols.append(f"{_METRIC_TITLES[m]:<13}")
    head += "  " + " ".join(cols)
    if bootstrap:
        head += f"  {'ROC-AUC 95% CI':<15}  {'vs ' + reference + ' [95% CI]':<24}"
    lines = [head.rstrip()]
    for rank, e in enumerate(summary, start=1):
        line = f"{rank:>4}  {e['method']:<{width}}  {e['fit_on']:<10} {e['n_runs']:>4}"
        cells = []
        for m in METRICS:
            if np.isfinite(e[m]):
                cells.append(
                    f"{100 * e[m]:5.2f} ± {100 * e[m + '_std']:4.2f}".ljust(13)
                )
            else:
                cells.append("-".ljust(13))
        line += "  " + " ".join(cells)
        if bootstrap and (e["method"], "roc_auc") in ci:
            r = ci[(e["method"], "roc_auc")]
            line += f"  [{100 * r['ci_low']:5.2f}, {100 * r['ci_high']:5.2f}]"
            if e["method"] == reference:
                line += "  (reference)"
            else:
                d = r["diff_vs_" + reference.lower()]
                line += (
                    f"  {100 * d:+5.2f} [{100 * r['diff_ci_low']:+5.2f}, "
                    f"{100 * r['diff_ci_high']:+5.2f}]"
                )
        lines.append(line.rstrip())
    return "\n".join(lines)


def _write_csv(path, rows):
    if not rows:
        return
    keys = list(rows[0])
    for r in rows[1:]:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)


#: paired differences smaller than this (in ROC-AUC, 0.5 points) are called
#: negligible even when their interval excludes 0
_NEGLIGIBLE = 0.005


def _verdict(bootstrap, summary=(), reference=_REFERENCE, method="ALIEN"):
    """A plain-words reading of ``method - reference`` in ROC-AUC.

    The paired bootstrap interval covers the sampling of the test set for
    the mean over the head's seeds (not the fine-tuning), the seed spread is
    quoted too, and a gap under 0.5 points is called negligible.

    Examples
    --------
    >>> from alien_sk.demo import _verdict
    >>> row = {"method": "ALIEN", "metric": "roc_auc", "diff_vs_entropy": 0.0003,
    ...        "diff_ci_low": 0.0001, "diff_ci_high": 0.0005}
    >>> "negligible" in _verdict([row])
    True
    """
    key = "diff_vs_" + reference.lower()
    means = {e["method"]: e for e in summary}
    for r in bootstrap:
        if r["method"] != method or r["metric"] != "roc_auc":
            continue
        d, lo, hi = r[key], r["diff_ci_low"], r["diff_ci_high"]
        if not np.isfinite(lo):
            return f"{method} - {reference}: undefined on this test set."
        text = (
            f"{method} - {reference}, misclassification ROC-AUC: {100 * d:+.2f} "
            f"points (mean over seeds; paired 95% bootstrap CI over the test set "
            f"[{100 * lo:+.2f}, {100 * hi:+.2f}])"
        )
        if method in means and reference in means:
            m, ref = means[method], means[reference]
            text += (
                f"; over {m['n_runs']} seeds {method} scores "
                f"{100 * m['roc_auc']:.2f} ± {100 * m['roc_auc_std']:.2f} against "
                f"{100 * ref['roc_auc']:.2f}"
            )
        if lo <= 0 <= hi:
            text += f". The interval holds 0: {method} is within noise of {reference}."
        elif max(abs(lo), abs(hi)) < _NEGLIGIBLE:
            text += (
                f". The interval excludes 0 but the whole of it lies within "
                f"{100 * _NEGLIGIBLE:.1f} points: a negligible difference, "
                f"{method} is on a par with {reference} here."
            )
        else:
            side = "better" if lo > 0 else "worse"
            text += f". {method} is {side} than {reference} on this test set."
        return text + (
            " (The interval covers test-set sampling only, not the fine-tuning.)"
        )
    return f"{method} was not run."


# -- the pipeline -------------------------------------------------------------
def run_benchmark(
    task="sentiment",
    *,
    quick=False,
    model=None,
    methods=None,
    n_train=None,
    n_validation=None,
    n_test=None,
    n_seeds=None,
    n_bootstrap=None,
    max_length=None,
    n_epochs=None,
    finetune_seed=0,
    data_home=None,
    results_dir="results",
    device="cpu",
    n_jobs=1,
    cache_fits=True,
    plots=True,
    progress_bar=False,
    log=None,
):
    """Run the real-data benchmark end to end (see the module docstring).

    Parameters
    ----------
    task : {"sentiment", "sentiment-film", "ner"}, default="sentiment"
        ``"sentiment"``: Rotten Tomatoes sentences, sequence classification.
        ``"sentiment-film"``: the same, split by film
        (``load_rotten_tomatoes(split_by="film")``: no test film is seen in
        training); the held-out folds and the bootstrap resample whole films.
        ``"ner"``: WNUT-2016 tweets, token classification, one row per word
        (cross-validation folds and bootstrap grouped by sentence; the copies
        of a tweet the data repeats within a split form one group).
    quick : bool, default=False
        Use :data:`QUICK_SETTINGS` (smaller subsamples, 2 seeds).
    model : str or path-like, default=None
        Base model folder to fine-tune; None uses the packaged MiniLM.
    methods : list of str, default=None
        Keys of :data:`ESTIMATORS` (or their :data:`METHOD_SLUGS`, e.g.
        ``"alien-mlp-head"``) to run; ``"Entropy"`` is always run, it is the
        reference. None runs all of them.
    n_train, n_validation, n_test : int, default=None
        Subsample sizes (sentences); None uses the task's defaults.
    n_seeds : int, default=None
        Seeds of every seeded method (the ALIEN heads).
    n_bootstrap : int, default=None
        Bootstrap resamples of the test set.
    max_length : int, default=None
        Maximum tokens per text, for fine-tuning and features.
    n_epochs : int, default=None
        Fine-tuning epochs.
    finetune_seed : int, default=0
        Seed of the fine-tuning (the classifier's new layer, dropout, batch
        order); outputs of a seed other than 0 go to ``<task>-ft<seed>``.
    data_home : str or path-like, default=None
        Cache folder (fine-tuned models and features); see
        :func:`alien_sk.finetune.get_data_home`.
    results_dir : str or path-like, default="results"
        Outputs go to ``results_dir/<task>[-quick][-ft<seed>]/``, plus
        ``-custom-<hash of the settings>`` when any setting, the model or the
        methods differ from the preset, so that no run overwrites another's
        outputs.
    device : str, default="cpu"
        Torch device of fine-tuning and feature extraction.
    n_jobs : int, default=1
        Jobs of the grid searches (joblib's convention: -1 uses every core;
        0 is refused).
    cache_fits : bool, default=True
        Cache the grid searches and the fitted methods' test scores under
        ``data_home/fits`` (joblib.Memory, keyed by the features, the
        parameters and the package's sources), so that a rerun only
        scores; False refits everything.
    plots : bool, default=True
        Save the PNG plots (needs matplotlib).
    progress_bar : bool, default=False
        Progress bars for fine-tuning and feature extraction.
    log : callable, default=None
        Called with one line of text per step (e.g. ``print``).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``summary`` (ranked rows), ``raw`` (one row per method and seed),
        ``bootstrap`` (intervals), ``table`` (str), ``verdict`` (str),
        ``classifier`` (accuracy / F1 per split), ``best_params`` (per
        protocol), ``timings`` (seconds per step), ``settings``,
        ``out_dir``, ``files`` (paths of the outputs), ``model_path``,
        ``model_from_cache``, ``features_computed`` (texts the model ran
        on) and ``fits_from_cache``.

    Examples
    --------
    The real run takes minutes (see ``python -m alien_sk demo --help``)::

        from alien_sk.demo import run_benchmark
        result = run_benchmark("sentiment", quick=True, log=print)
        print(result.table)
        print(result.verdict)
    """
    from alien_sk.features import FeatureExtractor
    from alien_sk.finetune import _quiet_transformers, fine_tune, get_data_home

    if task not in DEFAULT_SETTINGS:
        raise ValueError(
            f"task must be one of {sorted(DEFAULT_SETTINGS)}; got {task!r}."
        )
    log = log if log is not None else (lambda line: None)
    settings = dict(DEFAULT_SETTINGS[task])
    if quick:
        settings.update(QUICK_SETTINGS[task])
    overrides = {
        "n_train": n_train,
        "n_validation": n_validation,
        "n_test": n_test,
        "n_seeds": n_seeds,
        "n_bootstrap": n_bootstrap,
        "max_length": max_length,
        "n_epochs": n_epochs,
    }
    settings.update({k: v for k, v in overrides.items() if v is not None})
    for key, minimum in _SETTING_MINIMA.items():
        value = settings[key]
        if value is not None and (
            not isinstance(value, numbers.Integral) or value < minimum
        ):
            raise ValueError(f"{key} must be an integer >= {minimum}; got {value!r}.")
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
        raise ValueError(
            f"n_jobs must be a non-zero integer or None (joblib's convention: "
            f"-1 uses every core); got {n_jobs!r}."
        )
    if methods is None:
        methods = list(ESTIMATORS)
    methods = [METHOD_SLUGS.get(m, m) for m in methods]
    unknown = [m for m in methods if m not in ESTIMATORS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {list(ESTIMATORS)}.")
    methods = [m for m in ESTIMATORS if m in methods or m == _REFERENCE]
    # what would fail only after minutes of work is checked now
    if plots and importlib.util.find_spec("matplotlib") is None:
        raise ImportError(
            "plots=True needs matplotlib: pip install 'alien-sk[plot]', or pass "
            "plots=False (--no-plots)."
        )
    resolve_device(device)
    if model is not None and not os.path.isfile(
        os.path.join(os.fspath(model), "config.json")
    ):
        raise FileNotFoundError(
            f"model={model!r} is not a folder holding a transformers model "
            "(no config.json)."
        )
    home = get_data_home(data_home)
    suffix = ("-quick" if quick else "") + (
        f"-ft{finetune_seed}" if finetune_seed else ""
    )
    # any other change of the preset gets a folder of its own, so that a
    # small trial run never overwrites (part of) the default run's outputs
    preset = dict(DEFAULT_SETTINGS[task], **(QUICK_SETTINGS[task] if quick else {}))
    custom = {k: v for k, v in settings.items() if v != preset[k]}
    if model is not None:
        custom["model"] = os.path.abspath(os.fspath(model))
    if methods != list(ESTIMATORS):
        custom["methods"] = methods
    if custom:
        blob = json.dumps(custom, sort_keys=True, default=str).encode()
        suffix += "-custom-" + hashlib.sha256(blob).hexdigest()[:8]
    out_dir = os.path.join(os.fspath(results_dir), task + suffix)  # made at step 7
    timings = {}
    t_start = time.perf_counter()
    seeds = list(range(settings["n_seeds"]))
    token = task == "ner"

    # 1. data
    t0 = time.perf_counter()
    data, label_names = _load_task(task, settings)
    timings["load_data"] = time.perf_counter() - t0
    sizes = {s: len(d[0]) for s, d in data.items()}
    log(
        f"data: {task} ({'WNUT-2016' if token else 'Rotten Tomatoes'}), "
        + ", ".join(f"{s} {n}" for s, n in sizes.items())
        + (" sentences" if token else " texts")
    )

    # 2. fine-tuning (cached)
    t0 = time.perf_counter()
    texts_tr, y_tr, _ = data["train"]
    tuned = fine_tune(
        texts_tr,
        y_tr,
        model=model,
        task="token" if token else "sequence",
        label_names=label_names,
        max_length=settings["max_length"],
        n_epochs=settings["n_epochs"],
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        random_state=finetune_seed,
        cache_dir=os.path.join(home, "models"),
        device=device,
        progress_bar=progress_bar,
    )
    timings["fine_tune"] = time.perf_counter() - t0
    log(
        "fine-tuning: "
        + (
            f"reused the cached model {tuned.path}"
            if tuned.from_cache
            else f"{len(tuned.losses)} steps in {tuned.train_seconds:.0f} s "
            f"({sizes['train'] * settings['n_epochs'] / tuned.train_seconds:.1f} "
            f"{'sentences' if token else 'texts'}/s), saved to {tuned.path}"
        )
    )

    # 3. features (cached per text)
    extractor = FeatureExtractor(
        tuned.path,
        max_length=tuned.max_length,
        batch_size=32,
        level="token" if token else "sequence",
        device=device,
        cache_dir=os.path.join(home, "features"),
        progress_bar=progress_bar,
    )
    t0 = time.perf_counter()
    with _quiet_transformers():
        extractor.fit()
    feats = {}
    # resampling units (cluster bootstrap, grouped CV folds) where rows are
    # not independent: films for sentiment-film; for NER, distinct word
    # lists, since the packaged WNUT splits repeat some tweets within a split
    clusters = {}
    n_computed = 0
    for split, (texts, y, groups) in data.items():
        before = extractor.cache_info()["n_entries"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # truncation warnings: counted below
            X = extractor.transform(texts)
        n_computed += extractor.cache_info()["n_entries"] - before
        if token:
            groups = extractor.sentence_index(texts)  # entity spans stay inside
            ids = {}
            distinct = np.array([ids.setdefault(tuple(t), len(ids)) for t in texts])
            y = np.concatenate(y)
            keep = np.isfinite(X).all(axis=1)  # words cut off (or without token)
            X, y, groups = X[keep], y[keep], groups[keep]
            clusters[split] = distinct[groups]
        else:
            y = np.asarray(y)
            clusters[split] = groups
        feats[split] = (X.astype(np.float64), y, groups)
    timings["features"] = time.perf_counter() - t0
    n_texts = sum(sizes.values())
    log(
        f"features: {n_texts} {'sentences' if token else 'texts'}, model run on "
        f"{n_computed} (the others cached or repeated) in "
        f"{timings['features']:.0f} s"
        + (f" ({n_computed / timings['features']:.1f} texts/s)" if n_computed else "")
        + f"; X has {extractor.n_features_out_} columns "
        f"({extractor.n_logits_} logits + {extractor.embedding_dim_})"
    )
    k = extractor.n_logits_
    classifier = {
        s: _classifier_report(task, X[:, :k], y, g) for s, (X, y, g) in feats.items()
    }
    log(
        "classifier: "
        + ", ".join(
            f"{s} accuracy {100 * c['accuracy']:.1f}%"
            + (
                f" F1 {100 * c['f1_macro']:.1f}"
                if "f1_macro" in c
                else f" entity-F1 {100 * c['entity_f1']:.1f}"
            )
            for s, c in classifier.items()
        )
    )

    X_tr, y_tr, _ = feats["train"]
    X_va, y_va, _ = feats["validation"]
    X_te, y_te, _ = feats["test"]
    g_va, g_te = clusters["validation"], clusters["test"]
    pred_te = X_te[:, :k].argmax(axis=1)
    err_va = X_va[:, :k].argmax(axis=1) != y_va

    # 4. tuning of ALIEN: paper protocol and held-out protocol. Fits are
    # cached on disk (joblib.Memory) keyed by their inputs and the sources.
    memory = joblib.Memory(
        os.path.join(home, "fits") if cache_fits else None, verbose=0
    )
    code = _code_version()
    grid_search = memory.cache(_grid_search, ignore=["n_jobs"])
    fit_predict = memory.cache(_fit_predict)
    t0 = time.perf_counter()
    best_params, best_scores = {}, {}
    need = {ESTIMATORS[m][0] for m in methods}
    if "alien" in need:
        X_cat = np.vstack([X_tr, X_va])
        y_cat = np.concatenate([y_tr, y_va])
        fold = np.r_[np.full(X_tr.shape[0], -1), np.zeros(X_va.shape[0], dtype=int)]
        best_params["train"], best_scores["train"], _ = grid_search(
            X_cat, y_cat, PredefinedSplit(fold), k, 0, n_jobs, code
        )
        log(
            f"ALIEN grid (trained on train, chosen on validation): best "
            f"{best_params['train']}, validation ROC-AUC "
            f"{100 * best_scores['train']:.2f}"
        )
    if "alien-heldout" in need:
        folds = _cv_folds(err_va, g_va)
        best_params["validation"], best_scores["validation"], _ = grid_search(
            X_va, y_va, folds, k, 0, n_jobs, code
        )
        log(
            f"ALIEN grid (held-out protocol, {len(folds)}-fold CV inside "
            f"validation): best {best_params['validation']}, CV ROC-AUC "
            f"{100 * best_scores['validation']:.2f}"
        )
    timings["tuning"] = time.perf_counter() - t0

    # 5. every method, every seed, scored on the test split
    t0 = time.perf_counter()
    raw, first_scores, seed_scores, bounded = [], {}, {}, {}
    fit_data = {"train": (X_tr, y_tr), "validation": (X_va, y_va)}
    n_fits = n_cached = 0
    for name in methods:
        kind, _, fit_on, seeded = ESTIMATORS[name]
        params = best_params.get("validation" if kind == "alien-heldout" else "train")
        for seed in seeds if seeded else seeds[:1]:
            args = (name, k, params, seed, *fit_data[fit_on], X_te, code)
            n_fits += 1
            n_cached += bool(cache_fits and fit_predict.check_call_in_cache(*args))
            try:
                u, bounded[name], fit_seconds = fit_predict(*args)
            except (ValueError, np.linalg.LinAlgError, FloatingPointError) as e:
                log(f"  {name}: failed ({type(e).__name__}: {e})")
                break
            values = _score_all(y_te, pred_te, u, bounded[name])
            raw.append(
                {
                    "task": task,
                    "finetune_seed": finetune_seed,
                    "method": name,
                    "fit_on": fit_on,
                    "seed": seed,
                    **values,
                    "fit_seconds": fit_seconds,
                }
            )
            if name not in first_scores:
                first_scores[name] = u
            seed_scores.setdefault(name, []).append(u)
    timings["methods"] = time.perf_counter() - t0
    log(
        f"methods: {len(methods)} methods, {n_fits} fits ({n_cached} from the fit "
        f"cache) in {timings['methods']:.0f} s"
    )
    summary = _summarise(raw, methods)

    # 6. bootstrap over the test set (of each method's mean over its seeds)
    t0 = time.perf_counter()
    boot = []
    if settings["n_bootstrap"] > 0 and _REFERENCE in seed_scores:
        boot = _bootstrap(
            y_te,
            pred_te,
            seed_scores,
            bounded,
            settings["n_bootstrap"],
            0,
            _REFERENCE,
            groups=g_te,
        )
    timings["bootstrap"] = time.perf_counter() - t0

    # 7. outputs
    t0 = time.perf_counter()
    files = {}
    title = {
        "sentiment": "Rotten Tomatoes, MiniLM",
        "sentiment-film": "Rotten Tomatoes split by film, MiniLM",
        "ner": "WNUT-2016 words, MiniLM",
    }[task]
    os.makedirs(out_dir, exist_ok=True)
    table = format_table(summary, boot)
    verdict = _verdict(boot, summary) if boot else ""
    # the tables first, the plots next, run.json (with the timings) last
    files["raw"] = os.path.join(out_dir, "raw_results.csv")
    _write_csv(files["raw"], raw)
    files["summary"] = os.path.join(out_dir, "summary.csv")
    _write_csv(files["summary"], summary)
    files["bootstrap"] = os.path.join(out_dir, "bootstrap.csv")
    _write_csv(files["bootstrap"], boot)
    files["table"] = os.path.join(out_dir, "table.txt")
    with open(files["table"], "w", encoding="utf-8") as f:
        f.write(table + "\n\n" + verdict + "\n")
    if plots:
        files.update(_plots(y_te, pred_te, first_scores, bounded, out_dir, title))
    else:  # no plot of an earlier run stays beside this run's tables
        for stale in ("risk_coverage.png", "reliability.png"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(out_dir, stale))
    timings["outputs"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    files["run"] = os.path.join(out_dir, "run.json")
    with open(files["run"], "w", encoding="utf-8") as f:
        json.dump(
            {
                "task": task,
                "quick": quick,
                "finetune_seed": finetune_seed,
                "settings": settings,
                "sizes": sizes,
                "rows": {s: int(v[0].shape[0]) for s, v in feats.items()},
                "model": tuned.path,
                "model_from_cache": tuned.from_cache,
                "features_computed": n_computed,
                "fits": n_fits,
                "fits_from_cache": n_cached,
                "classifier": classifier,
                "best_params": best_params,
                "best_validation_roc_auc": best_scores,
                "timings_seconds": timings,
                "verdict": verdict,
                "python": platform.python_version(),
            },
            f,
            indent=2,
            default=str,
        )
    return Bunch(
        summary=summary,
        raw=raw,
        bootstrap=boot,
        table=table,
        verdict=verdict,
        classifier=classifier,
        best_params=best_params,
        timings=timings,
        settings=settings,
        out_dir=out_dir,
        files=files,
        model_path=tuned.path,
        model_from_cache=tuned.from_cache,
        features_computed=n_computed,
        fits_from_cache=n_cached,
    )


def run_finetune_seeds(task="sentiment", n_finetune_seeds=3, **kwargs):
    """Repeat :func:`run_benchmark` over several fine-tuning seeds.

    The bootstrap intervals of one run cover the sampling of the test set for
    one classifier; this measures how much the comparison moves when the
    classifier itself is fine-tuned again with another seed (same data, same
    settings). Each seed's run is cached like a normal run.

    Parameters
    ----------
    task : {"sentiment", "sentiment-film", "ner"}, default="sentiment"
        The task, as in :func:`run_benchmark`.
    n_finetune_seeds : int, default=3
        Fine-tuning seeds ``0, 1, ..., n_finetune_seeds - 1``.
    **kwargs : dict
        Passed to :func:`run_benchmark` (``results_dir``, ``log``, ...).

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        ``runs`` (the :func:`run_benchmark` results), ``summary`` (per
        method: mean and std over classifiers of its seed-averaged metrics),
        ``differences`` (per classifier: each method's ROC-AUC minus
        entropy's), ``table`` (str) and ``files``.

    Examples
    --------
    Several fine-tunings take minutes each::

        from alien_sk.demo import run_finetune_seeds
        result = run_finetune_seeds("sentiment", 3, log=print)
        print(result.table)
    """
    if not isinstance(n_finetune_seeds, numbers.Integral) or n_finetune_seeds < 1:
        raise ValueError(
            f"n_finetune_seeds must be an integer >= 1; got {n_finetune_seeds!r}."
        )
    runs = []
    for seed in range(n_finetune_seeds):
        runs.append(run_benchmark(task, finetune_seed=seed, **kwargs))
    methods = [e["method"] for e in runs[0].summary]
    per_run = [{e["method"]: e for e in r.summary} for r in runs]
    summary, differences = [], []
    for name in methods:
        if not all(name in pr for pr in per_run):
            continue
        entry = {"method": name, "fit_on": per_run[0][name]["fit_on"]}
        entry["n_runs"] = len(runs)
        for m in METRICS:
            v = np.asarray([pr[name][m] for pr in per_run], dtype=float)
            entry[m] = float(np.nanmean(v)) if np.isfinite(v).any() else np.nan
            finite = v[np.isfinite(v)]
            entry[m + "_std"] = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
        summary.append(entry)
        for seed, pr in enumerate(per_run):
            differences.append(
                {
                    "method": name,
                    "finetune_seed": seed,
                    "roc_auc": pr[name]["roc_auc"],
                    "roc_auc_minus_entropy": pr[name]["roc_auc"]
                    - pr[_REFERENCE]["roc_auc"],
                    "test_accuracy": runs[seed].classifier["test"]["accuracy"],
                }
            )
    summary.sort(key=lambda e: -np.nan_to_num(e["roc_auc"], nan=-1.0))
    table = format_table(summary)
    out_dir = runs[0].out_dir + "-finetune-seeds"
    os.makedirs(out_dir, exist_ok=True)
    files = {
        "summary": os.path.join(out_dir, "summary.csv"),
        "differences": os.path.join(out_dir, "differences.csv"),
        "table": os.path.join(out_dir, "table.txt"),
    }
    _write_csv(files["summary"], summary)
    _write_csv(files["differences"], differences)
    with open(files["table"], "w", encoding="utf-8") as f:
        f.write(table + "\n")
    return Bunch(
        runs=runs,
        summary=summary,
        differences=differences,
        table=table,
        out_dir=out_dir,
        files=files,
    )
