# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The real-data benchmark pipeline, end to end on tiny models and subsets."""

import csv
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from _tiny_models import save_tiny_model
from sklearn.metrics import roc_auc_score

from alien_sk import demo
from alien_sk.cli import build_parser, main
from alien_sk.datasets import load_rotten_tomatoes


@pytest.fixture(scope="module")
def tiny_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    seq = save_tiny_model("bert", root / "seq", num_labels=2)
    tok = save_tiny_model("bert", root / "tok", task="token", num_labels=21)
    return root, seq, tok


SMALL = dict(n_train=40, n_validation=30, n_test=50, n_seeds=2, n_bootstrap=10)


def _entropy(logits):
    p = torch.softmax(torch.as_tensor(logits, dtype=torch.float64), dim=1)
    return (-(p * p.log()).sum(1) / np.log(p.shape[1])).numpy()


def test_sentiment_end_to_end_and_cache(tiny_dirs, tmp_path):
    root, seq, _ = tiny_dirs
    kw = dict(model=seq, data_home=tmp_path / "home", results_dir=tmp_path / "res")
    res = demo.run_benchmark("sentiment", **SMALL, **kw)
    assert not res.model_from_cache
    assert res.features_computed == 40 + 30 + 50
    names = {row["method"] for row in res.summary}
    assert names == set(demo.ESTIMATORS)
    for key in ("raw", "summary", "bootstrap", "table", "run"):
        assert os.path.isfile(res.files[key])
    for key in ("risk_coverage", "reliability"):
        with open(res.files[key], "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    with open(res.files["raw"], newline="") as f:
        raw = list(csv.DictReader(f))
    seeded = [m for m, spec in demo.ESTIMATORS.items() if spec[3]]
    assert len(raw) == 2 * len(seeded) + len(demo.ESTIMATORS) - len(seeded)
    run = json.loads(Path(res.files["run"]).read_text())
    assert set(run["best_params"]) == {"train", "validation"}
    for params in run["best_params"].values():
        for k, v in params.items():
            assert v in demo.ALIEN_GRID[k]

    # independent reference: the fine-tuned model's own logits on the test texts
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    data, _ = demo._load_task(
        "sentiment", {**demo.DEFAULT_SETTINGS["sentiment"], **SMALL}
    )
    texts, y, _ = data["test"]
    net = AutoModelForSequenceClassification.from_pretrained(res.model_path).eval()
    tok = AutoTokenizer.from_pretrained(res.model_path)
    with torch.no_grad():
        enc = tok(
            texts, padding=True, truncation=True, max_length=64, return_tensors="pt"
        )
        logits = net(**enc).logits.numpy()
    errors = logits.argmax(1) != y
    expected = roc_auc_score(errors, _entropy(logits))
    row = next(r for r in res.summary if r["method"] == "Entropy")
    assert row["roc_auc"] == pytest.approx(expected, abs=1e-4)
    acc = res.classifier["test"]["accuracy"]
    assert acc == pytest.approx(1 - errors.mean())
    assert "Entropy" in res.table and "ALIEN" in res.verdict

    # second run: nothing trained, nothing extracted, same numbers
    again = demo.run_benchmark("sentiment", **SMALL, **kw, plots=False)
    assert again.model_from_cache and again.features_computed == 0
    assert again.fits_from_cache == len(res.raw)
    first = {(r["method"], r["seed"]): r["roc_auc"] for r in res.raw}
    second = {(r["method"], r["seed"]): r["roc_auc"] for r in again.raw}
    assert first.keys() == second.keys()
    for key, value in first.items():
        assert second[key] == pytest.approx(value, nan_ok=True, abs=1e-12), key


def test_ner_end_to_end(tiny_dirs, tmp_path):
    root, _, tok = tiny_dirs
    res = demo.run_benchmark(
        "ner",
        model=tok,
        methods=["ALIEN", "ALIEN [held-out]", "MaxProb", "Mahalanobis"],
        max_length=64,
        data_home=tmp_path / "home",
        results_dir=tmp_path / "res",
        plots=False,
        **{**SMALL, "n_train": 20, "n_validation": 20, "n_test": 30},
    )
    run = json.loads(Path(res.files["run"]).read_text())
    n_words = run["rows"]["test"]
    from alien_sk.datasets import load_wnut16

    # rows = words (none is cut off at 64 tokens with this tokenizer? count them)
    assert n_words <= sum(len(s) for s in load_wnut16(subset="test").data)
    assert {r["method"] for r in res.summary} == {
        "ALIEN",
        "ALIEN [held-out]",
        "MaxProb",
        "Mahalanobis",
        "Entropy",
    }
    assert 0 <= res.classifier["test"]["entity_f1"] <= 1


def test_roc_auc_fast_matches_sklearn():
    rng = np.random.RandomState(0)
    for _ in range(5):
        errors = rng.rand(300) < 0.3
        u = np.round(rng.rand(300) + 0.3 * errors, 1)  # many ties
        assert demo._roc_auc_fast(errors, u) == pytest.approx(
            roc_auc_score(errors, u), abs=1e-12
        )
    assert np.isnan(demo._roc_auc_fast(np.zeros(4, bool), np.arange(4.0)))


def test_subsample_is_stratified_and_deterministic():
    strata = np.array([0] * 70 + [1] * 30)
    idx = demo._subsample(100, 10, strata, 0)
    assert idx.tolist() == demo._subsample(100, 10, strata, 0).tolist()
    assert np.bincount(strata[idx]).tolist() == [7, 3]
    assert len(set(idx.tolist())) == 10
    assert demo._subsample(100, None, strata, 0).tolist() == list(range(100))


def test_entity_f1_by_hand():
    from alien_sk.datasets import WNUT16_TAGS

    t = {name: i for i, name in enumerate(WNUT16_TAGS)}
    groups = np.array([0, 0, 0, 0, 1, 1])
    true = [
        t["B-person"],
        t["I-person"],
        t["O"],
        t["B-company"],
        t["B-geo-loc"],
        t["O"],
    ]
    # person span right, company missed, geo-loc with a wrong type, one extra
    pred = [t["B-person"], t["I-person"], t["O"], t["O"], t["B-company"], t["B-other"]]
    # true spans 3, predicted 3, 1 correct: precision = recall = 1/3
    assert demo._entity_f1(np.array(true), np.array(pred), groups) == pytest.approx(
        1 / 3
    )
    # an entity does not continue across sentences
    spans = demo._spans(np.array([t["B-person"], t["I-person"]]), np.array([0, 1]))
    assert spans == {(0, 0, "person", 1), (1, 1, "person", 2)}


def test_verdict_reads_the_interval():
    row = {
        "method": "ALIEN",
        "metric": "roc_auc",
        "diff_vs_entropy": 0.002,
        "diff_ci_low": -0.01,
        "diff_ci_high": 0.014,
    }
    assert "within noise" in demo._verdict([row])
    assert "better than" in demo._verdict([{**row, "diff_ci_low": 0.001}])
    assert "worse than" in demo._verdict([{**row, "diff_ci_high": -0.001}])
    small = {**row, "diff_ci_low": 0.0001, "diff_ci_high": 0.004}
    assert "negligible" in demo._verdict([small])
    assert "was not run" in demo._verdict([{**row, "method": "Entropy"}])


def test_cli(tiny_dirs, tmp_path, capsys):
    _, seq, _ = tiny_dirs
    status = main(
        [
            "demo",
            "--model",
            str(seq),
            "--methods",
            "alien",
            "maxprob",
            "--n-train",
            "30",
            "--n-validation",
            "20",
            "--n-test",
            "30",
            "--n-seeds",
            "1",
            "--n-bootstrap",
            "5",
            "--data-home",
            str(tmp_path / "home"),
            "--results-dir",
            str(tmp_path / "res"),
            "--no-plots",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "ROC-AUC" in out and "Entropy" in out and "MaxProb" in out
    # sizes, model and methods differ from the preset: a folder of their own,
    # never the default run's results/sentiment/
    (folder,) = os.listdir(tmp_path / "res")
    assert re.fullmatch(r"sentiment-custom-[0-9a-f]{8}", folder)
    assert os.path.isfile(tmp_path / "res" / folder / "table.txt")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--methods", "nope"])
    assert demo.METHOD_SLUGS["alien-mlp-head"] == "ALIEN, MLP head"
    assert demo.METHOD_SLUGS["maxprob-temperature"] == "MaxProb, temperature"
    assert len(demo.METHOD_SLUGS) == len(demo.ESTIMATORS)


def test_cli_sentiment_split_by_film(tiny_dirs, tmp_path, capsys, monkeypatch):
    _, seq, _ = tiny_dirs
    loaded = []

    def spy(task, settings, seed=0):
        out = load_task(task, settings, seed)
        loaded.append((task, out[0]))
        return out

    load_task = demo._load_task
    monkeypatch.setattr(demo, "_load_task", spy)
    args = ["demo", "--task", "sentiment-film", "--model", str(seq)]
    args += ["--methods", "alien", "--n-train", "30", "--n-validation", "20"]
    args += ["--n-test", "30", "--n-seeds", "1", "--n-bootstrap", "5"]
    args += ["--data-home", str(tmp_path / "home")]
    args += ["--results-dir", str(tmp_path / "res"), "--no-plots"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(sentiment-film;" in out
    assert "resamples of the test set (whole films)" in out
    (folder,) = os.listdir(tmp_path / "res")
    assert re.fullmatch(r"sentiment-film-custom-[0-9a-f]{8}", folder)
    # the run read the film split: no test film among the training films
    ((task, data),) = loaded
    assert task == "sentiment-film"
    films = {split: set(d[2]) for split, d in data.items()}
    assert films["test"] and not films["test"] & (films["train"] | films["validation"])
    texts = set(load_rotten_tomatoes(subset="test", split_by="film").data)
    assert set(data["test"][0]) <= texts


def test_bad_arguments():
    with pytest.raises(ValueError, match="task must be one of"):
        demo.run_benchmark("vision")
    with pytest.raises(ValueError, match="unknown methods"):
        demo.run_benchmark("sentiment", methods=["Oracle"])
    # numeric settings are checked before any work (n_train=-5 used to slice
    # the data from the end, n_seeds=0 to fail after the whole run)
    for key, value in [("n_train", -5), ("n_seeds", 0), ("max_length", 1)]:
        with pytest.raises(ValueError, match=f"{key} must be an integer >="):
            demo.run_benchmark("sentiment", **{key: value})
    with pytest.raises(ValueError, match="n_finetune_seeds must be"):
        demo.run_finetune_seeds("sentiment", -3)
    with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 0"):
        demo.run_benchmark("sentiment", n_bootstrap=-1)


def test_arguments_that_would_fail_late_are_refused_before_any_work(
    tmp_path, monkeypatch, capsys
):
    # each used to fail only after the fine-tuning (or, for the plots, after
    # the whole run), leaving an empty results folder behind
    def no_work(*args, **kwargs):
        raise AssertionError("the run started")

    monkeypatch.setattr(demo, "_load_task", no_work)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    res = tmp_path / "res"
    with pytest.raises(ValueError, match="CUDA is not available"):
        demo.run_benchmark("sentiment", device="cuda", results_dir=res)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        demo.run_benchmark("sentiment", model=tmp_path / "nope", results_dir=res)
    real_find_spec = demo.importlib.util.find_spec
    monkeypatch.setattr(
        demo.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match=r"alien-sk\[plot\].*plots=False"):
        demo.run_benchmark("sentiment", results_dir=res)
    assert not res.exists()
    # the CLI reports the same problems as usage errors
    for args, message in [
        (["--device", "cuda"], "CUDA is not available"),
        (["--model", str(tmp_path / "nope")], "no config.json"),
        ([], r"alien-sk\[plot\]'?, or pass --no-plots"),
    ]:
        with pytest.raises(SystemExit) as exc:
            main(["demo", *args, "--results-dir", str(res)])
        assert exc.value.code == 2
        assert re.search(message, capsys.readouterr().err)
    assert not res.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--n-train", "-5"],
        ["--n-seeds", "0"],
        ["--finetune-seeds", "-3"],
        ["--max-length", "1"],
        ["--n-epochs", "x"],
        ["--n-bootstrap", "-1"],
    ],
)
def test_cli_rejects_bad_numbers_as_usage_errors(args, capsys):
    from alien_sk.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["demo", *args])
    assert exc.value.code == 2
    assert args[0] in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:The covariance matrix:UserWarning")
def test_rde_row_cap(monkeypatch):
    from alien_sk.datasets import make_classifier_outputs

    X, y = make_classifier_outputs(n_samples=120, n_embedding=4, random_state=0)
    monkeypatch.setitem(demo._MAX_FIT_ROWS, "RDE", 50)
    u, bounded, _ = demo._fit_predict("RDE", 2, None, 0, X[:100], y[:100], X[100:])
    assert u.shape == (20,) and not bounded
    # reference: RDE fitted by hand on the same seeded subsample
    from alien_sk.baselines import RDE

    rows = np.sort(np.random.RandomState(0).permutation(100)[:50])
    ref = RDE(n_logits=2, random_state=0).fit(X[rows], y[rows])
    np.testing.assert_allclose(u, ref.predict_uncertainty(X[100:]))


def test_finetune_seeds(tiny_dirs, tmp_path, capsys):
    _, seq, _ = tiny_dirs
    args = ["demo", "--model", str(seq), "--methods", "alien", "maxprob"]
    args += ["--n-train", "30", "--n-validation", "20", "--n-test", "30"]
    args += ["--n-seeds", "1", "--n-bootstrap", "5", "--no-plots"]
    args += ["--data-home", str(tmp_path / "home"), "--results-dir", str(tmp_path)]
    assert main(args + ["--finetune-seeds", "2"]) == 0
    out = capsys.readouterr().out
    assert "Over 2 fine-tuning seeds" in out
    assert "timings (s, summed over the 2 runs)" in out
    models = os.listdir(tmp_path / "home" / "models")
    assert len([m for m in models if m.startswith("sequence-")]) == 2
    # the two classifiers' runs share one custom settings hash
    found = (re.search(r"-custom-[0-9a-f]{8}", d) for d in os.listdir(tmp_path))
    (custom,) = {m[0] for m in found if m}
    # every run's folder is reported, not only the first's
    written = re.findall(r"results written to (\S+)/:", out)
    assert [os.path.basename(w) for w in written] == [
        f"sentiment{custom}",
        f"sentiment-ft1{custom}",
    ]
    with open(tmp_path / f"sentiment{custom}-finetune-seeds/differences.csv") as f:
        rows = list(csv.DictReader(f))
    # reference: each classifier's own run tables
    for seed, sub in ((0, "sentiment"), (1, "sentiment-ft1")):
        with open(tmp_path / (sub + custom) / "summary.csv") as f:
            summary = {r["method"]: float(r["roc_auc"]) for r in csv.DictReader(f)}
        row = next(
            r
            for r in rows
            if r["method"] == "ALIEN" and int(r["finetune_seed"]) == seed
        )
        assert float(row["roc_auc_minus_entropy"]) == pytest.approx(
            summary["ALIEN"] - summary["Entropy"]
        )


def test_token_bootstrap_resamples_whole_sentences():
    # Each "sentence" holds 3 identical copies of one word. A cluster bootstrap
    # over sentences draws the same index sequence as a plain bootstrap over the
    # de-duplicated words (same RNG calls), and ROC-AUC ignores uniform
    # duplication, so the two intervals must agree exactly; a word-level
    # resampling of the duplicated data would not.
    rng = np.random.RandomState(1)
    n = 60
    y = rng.randint(2, size=n)
    pred = np.where(rng.rand(n) < 0.3, 1 - y, y)
    scores = {"Entropy": rng.rand(n), "ALIEN": rng.rand(n)}
    bounded = {"Entropy": True, "ALIEN": True}
    plain = demo._bootstrap(y, pred, scores, bounded, 20, 0, "Entropy")
    rep = np.repeat(np.arange(n), 3)
    grouped = demo._bootstrap(
        y[rep],
        pred[rep],
        {k: v[rep] for k, v in scores.items()},
        bounded,
        20,
        0,
        "Entropy",
        groups=rep,
    )
    words = demo._bootstrap(
        y[rep],
        pred[rep],
        {k: v[rep] for k, v in scores.items()},
        bounded,
        20,
        0,
        "Entropy",
    )

    def auc_cis(rows):
        return np.array(
            [
                [r["ci_low"], r["ci_high"], r["diff_ci_low"], r["diff_ci_high"]]
                for r in rows
                if r["metric"] == "roc_auc"
            ]
        )

    np.testing.assert_allclose(auc_cis(grouped), auc_cis(plain), atol=1e-12)
    assert not np.allclose(auc_cis(words), auc_cis(plain))


def test_bootstrap_averages_seeds_and_reports_the_observed_difference():
    from sklearn.metrics import roc_auc_score

    rng = np.random.RandomState(3)
    n = 80
    y = rng.randint(2, size=n)
    pred = np.where(rng.rand(n) < 0.3, 1 - y, y)
    errors = y != pred
    entropy = rng.rand(n) + 0.3 * errors
    seeds = [rng.rand(n) + 0.5 * errors, rng.rand(n) + 0.2 * errors]
    bounded = {"Entropy": False, "ALIEN": False}
    rows = demo._bootstrap(
        y, pred, {"Entropy": entropy, "ALIEN": seeds}, bounded, 50, 0, "Entropy"
    )
    row = next(r for r in rows if r["method"] == "ALIEN" and r["metric"] == "roc_auc")
    # observed: the mean over seeds on the whole test set, minus entropy's
    observed = np.mean([roc_auc_score(errors, u) for u in seeds])
    assert row["n_seeds"] == 2
    assert row["value"] == pytest.approx(observed, abs=1e-12)
    assert row["diff_vs_entropy"] == pytest.approx(
        observed - roc_auc_score(errors, entropy), abs=1e-12
    )
    # interval: the same resamples, re-drawn here, of the seed-mean difference
    draw = np.random.RandomState(0)
    diffs = []
    for _ in range(50):
        idx = draw.randint(n, size=n)
        e = errors[idx]
        diffs.append(
            np.mean([roc_auc_score(e, u[idx]) for u in seeds])
            - roc_auc_score(e, entropy[idx])
        )
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    assert row["diff_ci_low"] == pytest.approx(lo, abs=1e-12)
    assert row["diff_ci_high"] == pytest.approx(hi, abs=1e-12)


def test_seed_spread_is_the_sample_standard_deviation():
    raw = [
        {"method": "ALIEN", "fit_on": "train", **dict.fromkeys(demo.METRICS, v)}
        for v in (0.70, 0.80, 0.75)
    ]
    (entry,) = demo._summarise(raw, ["ALIEN"])
    assert entry["roc_auc_std"] == pytest.approx(0.05)  # sqrt(0.005 / 2)


def test_group_folds_shrink_to_the_number_of_groups():
    errors = np.array([True, False] * 4)
    groups = np.repeat(np.arange(4), 2)  # 4 sentences < 5 folds
    folds = demo._cv_folds(errors, groups)
    assert len(folds) == 4
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])


def test_fit_cache_key_covers_every_module_of_the_package(tmp_path, monkeypatch):
    # the key used to hash a hand-kept list of modules that missed
    # alien_sk.metrics, with which the grid searches score: a changed
    # metric reused the stale grid search
    import shutil

    package = tmp_path / "alien_sk"
    shutil.copytree(
        Path(demo.__file__).parent, package, ignore=shutil.ignore_patterns("*.pyc")
    )
    monkeypatch.setattr(demo, "__file__", str(package / "demo.py"))
    before = demo._code_version()
    assert demo._code_version() == before
    with open(package / "metrics.py", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    changed = demo._code_version()
    assert changed != before
    # the compiled head epoch's source too, and whether it is in use
    with open(package / "_head_fast.pyx", "a", encoding="utf-8") as f:
        f.write("\n# changed\n")
    assert demo._code_version() != changed
    changed = demo._code_version()
    from alien_sk import head

    monkeypatch.setattr(head, "_head_fast", None)
    assert demo._code_version() != changed
