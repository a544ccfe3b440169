# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The demo's statistics and wiring against independent references.

The bootstrap intervals, the seed and classifier aggregates, the printed table
and the command lines are checked against plain numpy / scikit-learn
re-computations on small hand-made inputs; the pipeline runs on fake data,
features and fits (no model is fine-tuned) so that what each step receives
can be checked.
"""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.utils import Bunch

from alien_sk import demo

BENCH_UNCERTAINTY = (
    Path(__file__).resolve().parents[1] / "benchmarks" / "bench_uncertainty.py"
)


# -- an independent bootstrap -------------------------------------------------
def _auc(errors, u):
    """Misclassification ROC-AUC, nan when undefined (scikit-learn)."""
    if errors.all() or not errors.any():
        return np.nan
    return roc_auc_score(errors, u)


def _reference_bootstrap(errors, seeds, n_bootstrap, seed, members=None):
    """Per method, the ROC-AUC draws of its seed mean on each resample.

    ``seeds`` maps each method to a list of score arrays (one per seed); the
    same resample serves every method. ``members`` lists the rows of each
    group (a cluster bootstrap draws whole groups).
    """
    rng = np.random.RandomState(seed)
    n = errors.shape[0]
    draws = {name: [] for name in seeds}
    for _ in range(n_bootstrap):
        if members is None:
            idx = rng.randint(n, size=n)
        else:
            picked = rng.randint(len(members), size=len(members))
            idx = np.concatenate([members[g] for g in picked])
        for name, per_seed in seeds.items():
            values = [_auc(errors[idx], u[idx]) for u in per_seed]
            draws[name].append(np.nan if np.isnan(values).all() else np.mean(values))
    return {name: np.asarray(d, dtype=float) for name, d in draws.items()}


def _interval(values):
    values = values[np.isfinite(values)]
    return np.percentile(values, 2.5), np.percentile(values, 97.5)


def _auc_row(rows, method):
    return next(r for r in rows if r["method"] == method and r["metric"] == "roc_auc")


def _check_against_reference(rows, errors, seeds, draws, reference="Entropy"):
    for name, per_seed in seeds.items():
        row = _auc_row(rows, name)
        observed = np.mean([_auc(errors, u) for u in per_seed])
        ref_observed = np.mean([_auc(errors, u) for u in seeds[reference]])
        assert row["n_seeds"] == len(per_seed)
        assert row["value"] == pytest.approx(observed, abs=1e-12)
        assert row["diff_vs_entropy"] == pytest.approx(
            observed - ref_observed, abs=1e-12
        )
        lo, hi = _interval(draws[name])
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        dlo, dhi = _interval(draws[name] - draws[reference])
        assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
            (dlo, dhi), abs=1e-12
        )


def _problem(n, seed, error_rate=0.3):
    rng = np.random.RandomState(seed)
    y = rng.randint(2, size=n)
    pred = np.where(rng.rand(n) < error_rate, 1 - y, y)
    return rng, y, pred, y != pred


def test_bootstrap_three_seeds_mean_and_seed_argument():
    # three seeds whose median differs from their mean; seed 7 of the bootstrap
    rng, y, pred, errors = _problem(60, 0)
    seeds = {
        "Entropy": [rng.rand(60) + 0.3 * errors],
        "ALIEN": [rng.rand(60) + s * errors for s in (0.1, 0.2, 1.5)],
    }
    bounded = {"Entropy": True, "ALIEN": True}
    rows = demo._bootstrap(y, pred, seeds, bounded, 40, 7, "Entropy")
    draws = _reference_bootstrap(errors, seeds, 40, 7)
    _check_against_reference(rows, errors, seeds, draws)
    # the entropy row: its own interval, a zero difference
    row = _auc_row(rows, "Entropy")
    assert row["diff_vs_entropy"] == 0
    assert row["diff_ci_low"] == row["diff_ci_high"] == 0


def test_bootstrap_drops_undefined_resamples():
    # one error in 12 rows: a third of the resamples hold no error and have no
    # ROC-AUC; the interval is over the others
    rng = np.random.RandomState(2)
    y = np.zeros(12, dtype=int)
    pred = y.copy()
    pred[4] = 1
    errors = y != pred
    seeds = {
        "Entropy": [rng.rand(12)],
        "ALIEN": [rng.rand(12), rng.rand(12)],
    }
    bounded = {"Entropy": True, "ALIEN": True}
    rows = demo._bootstrap(y, pred, seeds, bounded, 60, 0, "Entropy")
    draws = _reference_bootstrap(errors, seeds, 60, 0)
    assert 5 < np.isnan(draws["ALIEN"]).sum() < 55
    _check_against_reference(rows, errors, seeds, draws)
    assert np.isfinite(_auc_row(rows, "ALIEN")["ci_low"])


def test_cluster_bootstrap_with_unequal_unsorted_sentences():
    # sentences of 1 to 5 words whose ids are neither sorted nor contiguous:
    # each resample draws as many sentences as there are, with replacement
    rng, y, pred, errors = _problem(45, 4, error_rate=0.25)
    lengths = [1, 5, 2, 4, 3, 5, 1, 2, 4, 3, 5, 2, 3, 4, 1]
    labels = rng.permutation(np.arange(100, 100 + 7 * len(lengths), 7))
    groups = np.repeat(labels, lengths)
    groups = groups[rng.permutation(groups.shape[0])]
    seeds = {
        "Entropy": [rng.rand(45) + 0.4 * errors],
        "ALIEN": [rng.rand(45) + 0.8 * errors, rng.rand(45) + 0.1 * errors],
    }
    bounded = {"Entropy": True, "ALIEN": False}
    rows = demo._bootstrap(y, pred, seeds, bounded, 30, 0, "Entropy", groups=groups)
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    draws = _reference_bootstrap(errors, seeds, 30, 0, members=members)
    _check_against_reference(rows, errors, seeds, draws)


def test_no_ece_for_unbounded_scores_even_inside_zero_one():
    rng, y, pred, errors = _problem(50, 5)
    u = rng.rand(50)  # inside [0, 1] for both
    seeds = {"Entropy": [u], "Mahalanobis": [u[::-1].copy()]}
    bounded = {"Entropy": True, "Mahalanobis": False}
    rows = demo._bootstrap(y, pred, seeds, bounded, 10, 0, "Entropy")
    ece = {r["method"]: r for r in rows if r["metric"] == "ece"}
    assert np.isfinite(ece["Entropy"]["value"])
    assert np.isnan(ece["Mahalanobis"]["value"])
    assert np.isnan(ece["Mahalanobis"]["ci_low"])
    assert np.isnan(demo._score_all(y, pred, u, False)["ece"])


# -- the summary and the printed table ----------------------------------------
def _raw(method, fit_on, roc_aucs, **other):
    rows = []
    for i, v in enumerate(roc_aucs):
        row = {"method": method, "fit_on": fit_on, "seed": i}
        row.update({m: other.get(m, 0.5) for m in demo.METRICS})
        row["roc_auc"] = v
        rows.append(row)
    return rows


def test_summary_means_over_seeds_and_ranks_best_first():
    raw = (
        _raw("Entropy", "train", [0.75])
        + _raw("DDU", "train", [np.nan], ece=np.nan)
        + _raw("ALIEN", "train", [0.70, 0.80, 0.78])
        + _raw("MaxProb", "train", [0.60])
    )
    summary = demo._summarise(raw, ["Entropy", "DDU", "ALIEN", "MaxProb"])
    # best ROC-AUC first, undefined last
    assert [e["method"] for e in summary] == ["ALIEN", "Entropy", "MaxProb", "DDU"]
    alien = summary[0]
    assert alien["n_runs"] == 3
    assert alien["roc_auc"] == pytest.approx(0.76)  # (0.70 + 0.80 + 0.78) / 3
    # sqrt(((-0.06)^2 + 0.04^2 + 0.02^2) / 2) = sqrt(0.0028)
    assert alien["roc_auc_std"] == pytest.approx(np.sqrt(0.0028))
    assert summary[1]["roc_auc_std"] == 0.0  # one run: no spread
    assert np.isnan(summary[3]["roc_auc"]) and np.isnan(summary[3]["ece"])


def _summary_row(method, roc_auc, roc_auc_std):
    row = {"method": method, "fit_on": "train", "n_runs": 3}
    for m in demo.METRICS:
        row[m], row[m + "_std"] = 0.1, 0.0
    row["roc_auc"], row["roc_auc_std"] = roc_auc, roc_auc_std
    return row


def _boot_row(method, metric, value, ci, diff, diff_ci):
    return {
        "method": method,
        "metric": metric,
        "n_seeds": 3,
        "value": value,
        "ci_low": ci[0],
        "ci_high": ci[1],
        "diff_vs_entropy": diff,
        "diff_ci_low": diff_ci[0],
        "diff_ci_high": diff_ci[1],
    }


def test_table_prints_the_roc_auc_interval_and_difference_times_100():
    summary = [
        _summary_row("ALIEN", 0.76, 0.0529),
        _summary_row("Entropy", 0.75, 0.0),
    ]
    boot = [
        _boot_row("ALIEN", "roc_auc", 0.76, (0.74, 0.78), 0.01, (-0.005, 0.027)),
        _boot_row("ALIEN", "prr", 0.3, (0.2, 0.4), 0.05, (0.01, 0.09)),
        _boot_row("Entropy", "roc_auc", 0.75, (0.73, 0.77), 0.0, (0.0, 0.0)),
        _boot_row("Entropy", "prr", 0.25, (0.15, 0.35), 0.0, (0.0, 0.0)),
    ]
    lines = demo.format_table(summary, boot).splitlines()
    assert "ROC-AUC 95% CI" in lines[0] and "vs Entropy [95% CI]" in lines[0]
    alien = lines[1].split()
    assert alien[:7] == ["1", "ALIEN", "train", "3", "76.00", "±", "5.29"]
    assert lines[1].endswith("[74.00, 78.00]  +1.00 [-0.50, +2.70]")
    assert lines[2].split()[:7] == ["2", "Entropy", "train", "3", "75.00", "±", "0.00"]
    assert lines[2].endswith("[73.00, 77.00]  (reference)")


def test_verdict_negligible_only_when_the_whole_interval_is_small():
    row = {"method": "ALIEN", "metric": "roc_auc", "diff_vs_entropy": 0.002}
    # a small difference whose interval reaches 1.2 points: not negligible
    text = demo._verdict([{**row, "diff_ci_low": 0.001, "diff_ci_high": 0.012}])
    assert "better than" in text and "negligible" not in text
    # an interval that ends on 0 holds 0
    text = demo._verdict([{**row, "diff_ci_low": 0.0, "diff_ci_high": 0.01}])
    assert "within noise" in text
    text = demo._verdict([{**row, "diff_ci_low": -0.01, "diff_ci_high": 0.0}])
    assert "within noise" in text


# -- the pipeline on fake data, features and fits ------------------------------
K, E = 3, 2  # logits, embedding columns of the fake features
P_TRAIN = {"learning_rate": 4e-4, "alpha": 0.01, "beta": 1.0}
P_HELDOUT = {"learning_rate": 1e-5, "alpha": 1.0, "beta": 0.01}


def _fake_world(task, sizes, seed=0):
    """Texts (unique ids), labels and a feature row per word or text."""
    rng = np.random.RandomState(seed)
    data, features, word = {}, {}, 0
    for split, n in sizes.items():
        texts, labels = [], []
        for i in range(n):
            if task == "ner" and i % 5 == 4:  # WNUT repeats some tweets
                texts.append(list(texts[-1]))
                labels.append(labels[-1].copy())
                continue
            n_words = 1 + rng.randint(4) if task == "ner" else 1
            words = [f"{split}-{i}-{j}" for j in range(n_words)]
            y = rng.randint(K, size=n_words)
            for w, t in zip(words, y, strict=True):
                logits = rng.randn(K)
                if rng.rand() < 0.7:  # right 70% of the time
                    logits[t] += 3.0
                row = np.r_[logits, rng.randn(E)]
                if task == "ner" and split == "test" and word % 17 == 5:
                    row[:] = np.nan  # a word cut off by truncation
                features[w] = row
                word += 1
            if task == "ner":
                texts.append(words)
                labels.append(y)
            else:
                texts.append(words[0])
                labels.append(y[0])
        # sentiment-film: 4 sentences per film (films named per split)
        films = (
            np.array([f"{split}-film-{i // 4}" for i in range(n)], dtype=object)
            if task == "sentiment-film"
            else None
        )
        data[split] = (texts, labels if task == "ner" else np.asarray(labels), films)
    return data, features


def _fake_scores(name, seed, X_test):
    """Test scores of a fake fit: entropy, plus seeded noise but for entropy."""
    logits = X_test[:, :K]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    entropy = -(p * np.log(p)).sum(1) / np.log(K)
    if name == "Entropy":
        return entropy, True
    noise = np.random.RandomState(100 * seed + len(name)).rand(X_test.shape[0])
    return entropy + 0.5 * noise, False


@pytest.fixture
def fake_pipeline(monkeypatch, tmp_path):
    """Patch the data, the fine-tuning, the features and the fits; record calls."""
    import alien_sk.features
    import alien_sk.finetune

    calls = {"grid": [], "fit": [], "world": None}

    def load_task(task, settings, seed=0):
        sizes = {s: settings["n_" + s] for s in ("train", "validation", "test")}
        data, features = _fake_world(task, sizes)
        calls["world"] = (data, features)
        return data, None if task == "ner" else ["neg", "pos"]

    class Extractor:
        def __init__(self, path, level="sequence", **kwargs):
            self.level = level
            self.n_logits_, self.embedding_dim_, self.n_features_out_ = K, E, K + E

        def fit(self):
            return self

        def cache_info(self):
            return {"n_entries": 0}

        def transform(self, texts):
            features = calls["world"][1]
            if self.level == "token":
                return np.array([features[w] for t in texts for w in t])
            return np.array([features[t] for t in texts])

        def sentence_index(self, texts):
            return np.repeat(np.arange(len(texts)), [len(t) for t in texts])

    def fine_tune(texts, y, **kwargs):
        return Bunch(path=str(tmp_path / "model"), from_cache=True, max_length=8)

    def grid_search(X, y, cv, n_logits, random_state, n_jobs, code=None):
        calls["grid"].append({"X": X, "y": y, "cv": cv, "n_logits": n_logits})
        heldout = not hasattr(cv, "test_fold")
        return (P_HELDOUT if heldout else P_TRAIN), 0.6, {}

    def fit_predict(name, n_logits, params, seed, X_fit, y_fit, X_test, code=None):
        calls["fit"].append(
            {"name": name, "params": params, "seed": seed, "X_fit": X_fit}
        )
        return (*_fake_scores(name, seed, X_test), 0.0)

    monkeypatch.setattr(demo, "_load_task", load_task)
    monkeypatch.setattr(alien_sk.features, "FeatureExtractor", Extractor)
    monkeypatch.setattr(alien_sk.finetune, "fine_tune", fine_tune)
    monkeypatch.setattr(demo, "_grid_search", grid_search)
    monkeypatch.setattr(demo, "_fit_predict", fit_predict)
    return calls


def _features(calls, split, task):
    """Independent copy of a split's feature rows, labels and sentences."""
    data, features = calls["world"]
    texts, labels, films = data[split]
    if task != "ner":
        return np.array([features[t] for t in texts]), np.asarray(labels), films
    X = np.array([features[w] for t in texts for w in t])
    y = np.concatenate(labels)
    # one group per distinct sentence: a repeated one's copies go together
    first = {}
    ids = [first.setdefault(" ".join(t), k) for k, t in enumerate(texts)]
    groups = np.repeat(ids, [len(t) for t in texts])
    keep = np.isfinite(X).all(1)
    return X[keep], y[keep], groups[keep]


@pytest.mark.parametrize("task", ["sentiment", "sentiment-film", "ner"])
def test_pipeline_splits_protocols_and_bootstrap(fake_pipeline, tmp_path, task):
    calls = fake_pipeline
    methods = ["ALIEN", "ALIEN [held-out]", "Error probe [held-out]", "MaxProb"]
    sizes = dict(n_train=30, n_validation=24, n_test=40)
    res = demo.run_benchmark(
        task,
        methods=methods,
        n_seeds=3,
        n_bootstrap=23,
        data_home=tmp_path / "home",
        results_dir=tmp_path / "res",
        cache_fits=False,
        plots=False,
        **sizes,
    )
    X_tr, y_tr, _ = _features(calls, "train", task)
    X_va, y_va, g_va = _features(calls, "validation", task)
    X_te, y_te, g_te = _features(calls, "test", task)

    # paper protocol: head trained on train, grid chosen on validation only
    paper, heldout = calls["grid"]
    np.testing.assert_array_equal(paper["X"], np.vstack([X_tr, X_va]))
    np.testing.assert_array_equal(paper["y"], np.r_[y_tr, y_va])
    np.testing.assert_array_equal(
        paper["cv"].test_fold, np.r_[np.full(len(y_tr), -1), np.zeros(len(y_va))]
    )
    # held-out protocol: cross-validation inside validation (whole sentences
    # for ner, whole films for sentiment-film)
    np.testing.assert_array_equal(heldout["X"], X_va)
    folds = list(heldout["cv"])
    assert sorted(np.concatenate([test for _, test in folds])) == list(range(len(y_va)))
    for train, test in folds:
        assert len(np.r_[train, test]) == len(y_va)
        if task != "sentiment":
            assert not set(g_va[train]) & set(g_va[test])

    # each method fitted on its split with its protocol's parameters, seeds 0..2
    fit_split = {"train": X_tr, "validation": X_va}
    for name in ["Entropy", *methods]:
        fits = [c for c in calls["fit"] if c["name"] == name]
        seeded = demo.ESTIMATORS[name][3]
        assert [c["seed"] for c in fits] == ([0, 1, 2] if seeded else [0])
        for c in fits:
            np.testing.assert_array_equal(
                c["X_fit"], fit_split[demo.ESTIMATORS[name][2]]
            )
    for name, params in (("ALIEN", P_TRAIN), ("ALIEN [held-out]", P_HELDOUT)):
        assert all(c["params"] == params for c in calls["fit"] if c["name"] == name)

    # reference statistics from the same (independently rebuilt) test scores
    errors = X_te[:, :K].argmax(1) != y_te
    assert res.classifier["test"]["accuracy"] == pytest.approx(1 - errors.mean())
    seeds = {}
    for name in ["Entropy", "ALIEN", "MaxProb"]:
        seeds[name] = [
            _fake_scores(name, s, X_te)[0]
            for s in (range(3) if demo.ESTIMATORS[name][3] else [0])
        ]
    members = None
    if task != "sentiment":  # resampled as whole sentences / whole films
        members = [np.flatnonzero(g_te == g) for g in np.unique(g_te)]
    draws = _reference_bootstrap(errors, seeds, 23, 0, members=members)
    rows = [r for r in res.bootstrap if r["method"] in seeds]
    _check_against_reference(rows, errors, seeds, draws)
    summary = {e["method"]: e for e in res.summary}
    per_seed = [_auc(errors, u) for u in seeds["ALIEN"]]
    assert summary["ALIEN"]["roc_auc"] == pytest.approx(np.mean(per_seed))
    assert summary["ALIEN"]["roc_auc_std"] == pytest.approx(np.std(per_seed, ddof=1))
    # the table's line for ALIEN: its mean, interval and observed difference
    row = _auc_row(res.bootstrap, "ALIEN")
    line = next(
        x for x in res.table.splitlines() if re.match(r"\s*\d+\s+ALIEN\s{2,}", x)
    )
    assert f"{100 * np.mean(per_seed):5.2f} ± " in line
    assert f"[{100 * row['ci_low']:5.2f}, {100 * row['ci_high']:5.2f}]" in line
    diff = np.mean(per_seed) - _auc(errors, seeds["Entropy"][0])
    assert f"  {100 * diff:+5.2f} [" in line


# -- several classifiers ------------------------------------------------------
def test_finetune_seeds_aggregates_over_classifiers(monkeypatch, tmp_path):
    # per classifier (fine-tuning seed): seed-averaged ROC-AUC of each method
    alien = [0.80, 0.70, 0.78]
    entropy = [0.75, 0.72, 0.74]
    accuracy = [0.81, 0.79, 0.80]

    def run_benchmark(task, finetune_seed=0, **kwargs):
        s = finetune_seed
        rows = [
            _summary_row("ALIEN", alien[s], 0.01),
            _summary_row("Entropy", entropy[s], 0.0),
        ]
        return Bunch(
            summary=rows,
            classifier={"test": {"accuracy": accuracy[s]}},
            out_dir=str(tmp_path / f"sentiment-ft{s}"),
        )

    monkeypatch.setattr(demo, "run_benchmark", run_benchmark)
    res = demo.run_finetune_seeds("sentiment", 3)
    summary = {e["method"]: e for e in res.summary}
    assert summary["ALIEN"]["n_runs"] == 3
    assert summary["ALIEN"]["roc_auc"] == pytest.approx(np.mean(alien))
    assert summary["ALIEN"]["roc_auc_std"] == pytest.approx(
        np.sqrt(((0.04) ** 2 + 0.06**2 + 0.02**2) / 2)
    )
    assert summary["Entropy"]["roc_auc_std"] == pytest.approx(0.015275252, abs=1e-9)
    diffs = [d for d in res.differences if d["method"] == "ALIEN"]
    assert [d["finetune_seed"] for d in diffs] == [0, 1, 2]
    assert [d["roc_auc_minus_entropy"] for d in diffs] == pytest.approx(
        [0.05, -0.02, 0.04]
    )
    assert [d["test_accuracy"] for d in diffs] == accuracy


# -- the command lines forward every option -----------------------------------
def _fake_result(tmp_path, **settings):
    return Bunch(
        settings={"n_seeds": 2, "n_bootstrap": 0, **settings},
        raw=[{"task": "sentiment"}],
        table="TABLE",
        verdict="VERDICT",
        timings={"total": 1.0},
        out_dir=str(tmp_path),
        files={},
        classifier={"test": {"accuracy": 0.8}},
    )


def test_cli_forwards_every_option(monkeypatch, tmp_path, capsys):
    from alien_sk.cli import main

    seen = {}

    def run_benchmark(task, **kwargs):
        seen.update(task=task, **kwargs)
        return _fake_result(tmp_path)

    monkeypatch.setattr(demo, "run_benchmark", run_benchmark)
    # the CLI checks that the folder and the device exist
    model = tmp_path / "m"
    model.mkdir()
    (model / "config.json").write_text("{}")
    monkeypatch.setattr("torch.cuda.is_available", lambda: True)
    monkeypatch.setattr("torch.cuda.device_count", lambda: 2)
    args = ["demo", "--task", "ner", "--quick", "--model", str(model)]
    args += ["--methods", "alien-mlp-head", "entropy"]
    args += ["--n-train", "11", "--n-validation", "12", "--n-test", "13"]
    args += ["--n-seeds", "1", "--n-bootstrap", "0", "--max-length", "2"]
    args += ["--n-epochs", "4", "--data-home", "h", "--results-dir", "r"]
    args += ["--device", "cuda:1", "--n-jobs", "3", "--refit", "--no-plots"]
    assert main(args) == 0
    assert seen.pop("log") is not None
    assert seen == dict(
        task="ner",
        quick=True,
        model=str(model),
        methods=["alien-mlp-head", "entropy"],
        n_train=11,
        n_validation=12,
        n_test=13,
        n_seeds=1,
        n_bootstrap=0,
        max_length=2,
        n_epochs=4,
        data_home="h",
        results_dir="r",
        device="cuda:1",
        n_jobs=3,
        cache_fits=False,
        plots=False,
        progress_bar=False,
    )
    # the defaults: every setting from the preset, fits cached, plots drawn
    seen.clear()
    assert main(["demo"]) == 0
    assert seen["task"] == "sentiment" and seen["cache_fits"] and seen["plots"]
    assert seen["device"] == "cpu" and seen["n_jobs"] == 1
    assert all(seen[k] is None for k in ("n_train", "n_seeds", "n_bootstrap"))
    assert "TABLE" in capsys.readouterr().out


def test_cli_finetune_seeds_prints_alien_per_classifier(monkeypatch, tmp_path, capsys):
    from alien_sk.cli import main

    seen = {}

    def run_finetune_seeds(task, n, **kwargs):
        seen.update(task=task, n=n)
        differences = [
            {"method": m, "finetune_seed": s, "roc_auc_minus_entropy": d}
            for m, ds in (("Entropy", (0.0, 0.0)), ("ALIEN", (0.0123, -0.004)))
            for s, d in enumerate(ds)
        ]
        return Bunch(
            runs=[_fake_result(tmp_path)],
            table="MANY",
            differences=differences,
            out_dir=str(tmp_path),
        )

    monkeypatch.setattr(demo, "run_finetune_seeds", run_finetune_seeds)
    assert main(["demo", "--finetune-seeds", "2"]) == 0
    assert seen == {"task": "sentiment", "n": 2}
    out = capsys.readouterr().out
    assert "Over 2 fine-tuning seeds" in out and "MANY" in out
    assert "ALIEN - Entropy ROC-AUC per classifier (points): +1.23, -0.40" in out


def test_bench_uncertainty_forwards_its_options(monkeypatch, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("bench_unc", BENCH_UNCERTAINTY)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)  # not __main__: parses no arguments
    seen = {}

    def run_benchmark(task, **kwargs):
        seen.update(task=task, **kwargs)
        return _fake_result(tmp_path)

    monkeypatch.setattr(bench, "run_benchmark", run_benchmark)
    args = ["--task", "ner", "--estimators", "alien", "mahalanobis"]
    args += ["--n-train", "5", "--n-validation", "6", "--n-test", "7"]
    args += ["--n-seeds", "2", "--n-bootstrap", "9", "--max-length", "3"]
    args += ["--n-epochs", "1", "--refit", "--n-jobs", "2"]
    assert bench.main(args) == 0
    assert seen["task"] == "ner"
    assert seen["methods"] == ["alien", "mahalanobis"]
    assert [seen[k] for k in ("n_train", "n_validation", "n_test")] == [5, 6, 7]
    assert [seen[k] for k in ("n_seeds", "n_bootstrap", "max_length")] == [2, 9, 3]
    assert seen["n_epochs"] == 1 and seen["n_jobs"] == 2
    assert seen["cache_fits"] is False
    assert "TABLE" in capsys.readouterr().out


def test_cli_accepts_the_smallest_values():
    from alien_sk.cli import build_parser

    args = build_parser().parse_args(
        ["demo", "--n-train", "1", "--n-bootstrap", "0", "--max-length", "2"]
    )
    assert (args.n_train, args.n_bootstrap, args.max_length) == (1, 0, 2)
    assert args.finetune_seeds == 1


def test_default_settings_match_the_readme():
    # README: 2,000 training sentences, 5 seeds of the head, a 27-point grid
    assert demo.DEFAULT_SETTINGS["sentiment"]["n_train"] == 2000
    assert demo.DEFAULT_SETTINGS["sentiment"]["n_seeds"] == 5
    assert np.prod([len(v) for v in demo.ALIEN_GRID.values()]) == 27


def test_n_jobs_zero_is_refused_up_front(capsys):
    # joblib has no meaning for n_jobs=0: refused before any fine-tuning
    from alien_sk.cli import main
    from alien_sk.demo import run_benchmark

    with pytest.raises(SystemExit) as exc:
        main(["demo", "--n-jobs", "0"])
    assert exc.value.code == 2
    assert "--n-jobs: must not be 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_jobs must be a non-zero integer"):
        run_benchmark(n_jobs=0)
