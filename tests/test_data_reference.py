# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Behaviour of the data, fine-tuning, plotting and pipeline modules that a
mutation audit found unpinned, each checked against an independent reference
(the raw data files, hand computations, scikit-learn, the drawn lines)."""

import bz2
import csv
import io
import json
import os
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import torch
from _tiny_models import TEXTS, save_tiny_model
from safetensors.torch import load_file
from sklearn.base import BaseEstimator
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from alien_sk import datasets, finetune
from alien_sk.baselines import Entropy, MaxProb
from alien_sk.datasets import load_rotten_tomatoes, load_wnut16, make_classifier_outputs
from alien_sk.finetune import fine_tune
from alien_sk.pipeline import UncertaintyPipeline, make_uncertainty_pipeline
from alien_sk.plotting import ReliabilityDisplay, RiskCoverageDisplay

SUBSETS = ("train", "validation", "test")
LABELS = [1, 0, 0, 0, 1, 1, 1]
#: the 21 WNUT-2016 tags as the loader documents them: "O", then B-/I- of
#: each entity type in alphabetical order (written out by hand)
WNUT_TAGS = [
    "O",
    "B-company",
    "I-company",
    "B-facility",
    "I-facility",
    "B-geo-loc",
    "I-geo-loc",
    "B-movie",
    "I-movie",
    "B-musicartist",
    "I-musicartist",
    "B-other",
    "I-other",
    "B-person",
    "I-person",
    "B-product",
    "I-product",
    "B-sportsteam",
    "I-sportsteam",
    "B-tvshow",
    "I-tvshow",
]


# -- datasets: independent readings of the raw files ---------------------------
def _raw_rt_reviews():
    """(category, text, movie_name) of every review row, with the stdlib csv."""
    path = load_rotten_tomatoes(subset="test").filename
    text = bz2.decompress(Path(path).read_bytes()).decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    return [
        (r["category"], r["text"], r["movie_name"])
        for r in rows
        if r["category"] != "plot"
    ]


def _raw_wnut():
    path = load_wnut16(subset="test").filename
    sents = []
    for block in Path(path).read_text(encoding="utf-8").split("\n\t\n"):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if lines:
            sents.append([tuple(ln.split("\t")) for ln in lines])
    return sents


def _documented_split(strata):
    """The split procedure of the DESCR, written out: per stratum in sorted
    order, one RandomState(0) stream, first 20% test, next 10% validation."""
    strata = np.asarray(strata)
    rng = np.random.RandomState(0)
    split = np.array(["train"] * len(strata), dtype=object)
    for value in sorted(set(strata.tolist())):
        idx = rng.permutation(np.flatnonzero(strata == value))
        n_test, n_val = round(0.2 * len(idx)), round(0.1 * len(idx))
        split[idx[:n_test]] = "test"
        split[idx[n_test : n_test + n_val]] = "validation"
    return split


def test_rotten_tomatoes_movie_names_follow_their_sentences():
    raw = _raw_rt_reviews()
    split = _documented_split([int(c == "fresh") for c, _, _ in raw])
    full = load_rotten_tomatoes(subset="all")
    assert full.movie_name == [m for _, _, m in raw]
    np.testing.assert_array_equal(full.split, split)
    for s in SUBSETS:
        part = load_rotten_tomatoes(subset=s)
        rows = [r for r, sp in zip(raw, split, strict=True) if sp == s]
        assert part.data == [t for _, t, _ in rows]
        assert part.movie_name == [m for _, _, m in rows]
        assert part.target.tolist() == [int(c == "fresh") for c, _, _ in rows]


def test_wnut16_target_names_and_subsets_follow_the_raw_file():
    raw = _raw_wnut()
    # the DESCR's procedure: the distinct word lists, in order of first
    # occurrence, entity if any copy holds one; copies follow their sentence
    distinct = {}
    for s in raw:
        words = tuple(w for w, _ in s)
        entity = any(tag != "O" for _, tag in s)
        distinct[words] = distinct.get(words, False) or entity
    assert len(distinct) == 2295
    split_of = dict(
        zip(distinct, _documented_split(list(distinct.values())), strict=True)
    )
    split = np.array([split_of[tuple(w for w, _ in s)] for s in raw], dtype=object)
    full = load_wnut16(subset="all")
    assert full.target_names == WNUT_TAGS
    np.testing.assert_array_equal(full.split, split)
    for s in SUBSETS:
        part = load_wnut16(subset=s)
        rows = [r for r, sp in zip(raw, split, strict=True) if sp == s]
        assert part.data == [[w for w, _ in r] for r in rows]
        assert part.tags == [[t for _, t in r] for r in rows]
        assert [[WNUT_TAGS[i] for i in t] for t in part.target] == part.tags
        X, y = load_wnut16(subset=s, return_X_y=True)
        assert X == part.data
        assert [[WNUT_TAGS[i] for i in t] for t in y] == part.tags


def _write_wnut(tmp_path, content):
    path = tmp_path / "ner.txt"
    path.write_text(content, encoding="utf-8")
    return str(path)


def test_wnut16_reader_last_sentence_and_unknown_tags(tmp_path, monkeypatch):
    # a file without the trailing separator still ends its last sentence
    path = _write_wnut(tmp_path, "a\tO\nb\tB-person\n\t\nc\tO\nd\tI-person")
    monkeypatch.setattr(datasets, "_packaged_file", lambda name, caller: path)
    ner = load_wnut16(subset="all")
    assert ner.data == [["a", "b"], ["c", "d"]]
    assert ner.tags == [["O", "B-person"], ["O", "I-person"]]
    # an unknown tag is reported with its line number
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    bad = _write_wnut(bad_dir, "a\tO\nb\tB-animal\n\t\n")
    monkeypatch.setattr(datasets, "_packaged_file", lambda name, caller: bad)
    with pytest.raises(ValueError, match=r"line 2 .*'b\\tB-animal'"):
        load_wnut16(subset="all")


def test_rotten_tomatoes_reader_rejects_unknown_categories(tmp_path, monkeypatch):
    path = tmp_path / "rt.csv.bz2"
    rows = "category,text,movie_name\nfresh,good,m\nneutral,meh,m\n"
    path.write_bytes(bz2.compress(rows.encode("utf-8")))
    monkeypatch.setattr(datasets, "_packaged_file", lambda name, caller: str(path))
    with pytest.raises(ValueError, match="unexpected category 'neutral'"):
        load_rotten_tomatoes(subset="all")


# -- make_classifier_outputs ---------------------------------------------------
def _errors(X, y, n_classes=2):
    return X[:, :n_classes].argmax(axis=1) != y


def test_make_classifier_outputs_extreme_error_rates():
    for rate, expected in ((0.0, False), (1.0, True)):
        X, y = make_classifier_outputs(n_samples=200, error_rate=rate, random_state=0)
        assert (_errors(X, y) == expected).all()


def test_make_classifier_outputs_seed_and_classes():
    a = make_classifier_outputs(n_samples=300, n_classes=3, random_state=0)
    b = make_classifier_outputs(n_samples=300, n_classes=3, random_state=0)
    c = make_classifier_outputs(n_samples=300, n_classes=3, random_state=1)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    # true labels are uniform over the classes: each share within 5 sd of 1/3
    n = 30_000
    _, y = make_classifier_outputs(n_samples=n, n_classes=3, random_state=0)
    sd = np.sqrt(1 / 3 * 2 / 3 / n)
    assert np.all(np.abs(np.bincount(y, minlength=3) / n - 1 / 3) < 5 * sd)


def _margin(X, n_classes=2):
    top2 = np.sort(X[:, :n_classes], axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def test_make_classifier_outputs_signals_point_the_documented_way():
    n = 20_000
    X, y = make_classifier_outputs(n_samples=n, embedding_signal=3.0, random_state=0)
    err = _errors(X, y)
    # error probability rises along embedding column 0 (column 2 of X)
    assert np.corrcoef(X[:, 2], err)[0, 1] > 0.3
    # entropy_signal=0: margins independent of the errors
    margin = _margin(X)
    assert abs(np.median(margin[err]) - np.median(margin[~err])) < 0.1
    # entropy_signal > 0: errors have smaller logit margins (higher entropy)
    X, y = make_classifier_outputs(n_samples=n, entropy_signal=3.0, random_state=0)
    err, margin = _errors(X, y), _margin(X)
    assert np.median(margin[err]) < 0.5 * np.median(margin[~err])


# -- fine_tune -----------------------------------------------------------------
@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return save_tiny_model("bert", tmp_path_factory.mktemp("bert"), num_labels=2)


@pytest.fixture
def recording_adamw(monkeypatch):
    """Replace torch.optim.AdamW by a subclass that records every step."""
    steps = []

    class Recording(torch.optim.AdamW):
        def step(self, closure=None):
            grads = [
                p.grad.detach().flatten()
                for g in self.param_groups
                for p in g["params"]
                if p.grad is not None
            ]
            steps.append(
                {
                    "lr": [g["lr"] for g in self.param_groups],
                    "groups": [
                        (g["weight_decay"], [p.ndim for p in g["params"]])
                        for g in self.param_groups
                    ],
                    "grad_norm": float(torch.cat(grads).norm()),
                }
            )
            return super().step(closure)

    monkeypatch.setattr(torch.optim, "AdamW", Recording)
    return steps


def test_fine_tune_schedule_decay_groups_and_clipping(
    bert_dir, tmp_path, recording_adamw
):
    lr, n_steps = 0.02, 7
    res = fine_tune(
        TEXTS,
        LABELS,
        model=bert_dir,
        n_epochs=10,
        max_steps=n_steps,
        batch_size=2,
        learning_rate=lr,
        warmup_fraction=3 / 7,  # 3 warmup steps
        weight_decay=0.3,
        cache_dir=tmp_path,
    )
    assert len(res.losses) == n_steps == len(recording_adamw)
    lrs = np.array([s["lr"][0] for s in recording_adamw])
    np.testing.assert_allclose([s["lr"][1] for s in recording_adamw], lrs)
    # linear warmup up to the peak, then a linear decay that would reach 0 at
    # step n_steps (hand: peak at step 3, then lr * (7 - k) / 4)
    assert lrs.max() == pytest.approx(lr)
    assert np.argmax(lrs) == 3
    warm = np.diff(lrs[:4])
    assert (warm > 0).all() and np.allclose(warm, warm[0])
    np.testing.assert_allclose(lrs[3:], lr * (n_steps - np.arange(3, 7)) / 4)
    # decoupled weight decay on matrices only
    for s in recording_adamw:
        (wd_decay, nd_decay), (wd_none, nd_none) = s["groups"]
        assert wd_decay == 0.3 and wd_none == 0.0
        assert min(nd_decay) >= 2 and set(nd_none) == {1}
    # gradients are clipped at norm 1 before each step
    assert max(s["grad_norm"] for s in recording_adamw) <= 1.0 + 1e-5


def test_fine_tune_gradient_is_large_enough_to_need_clipping(bert_dir):
    # the clipping check above is meaningful: the raw gradient norm of this
    # problem exceeds 1 (computed here with a plain forward/backward pass)
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    net = AutoModelForSequenceClassification.from_pretrained(bert_dir, num_labels=2)
    tok = AutoTokenizer.from_pretrained(bert_dir)
    enc = tok(TEXTS, padding=True, return_tensors="pt")
    net(**enc, labels=torch.tensor(LABELS)).loss.backward()
    norm = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
    assert float(norm.norm()) > 1.0


def test_fine_tune_batch_order_follows_random_state(bert_dir, tmp_path, monkeypatch):
    seen = []
    real = finetune._encode

    def spy(tokenizer, texts, y, idx, task, max_length):
        seen.append([int(i) for i in idx])
        return real(tokenizer, texts, y, idx, task, max_length)

    monkeypatch.setattr(finetune, "_encode", spy)
    orders = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1), ("d", 2)):
        seen.clear()
        fine_tune(
            TEXTS,
            LABELS,
            model=bert_dir,
            batch_size=2,
            random_state=seed,
            cache_dir=tmp_path / name,
        )
        orders[name] = [list(b) for b in seen]
    assert orders["a"] == orders["b"]
    assert orders["c"] != orders["a"] or orders["d"] != orders["a"]
    # each epoch covers every text once, in batches of similar length: sorted
    # by their shortest text, the batches' length ranges do not overlap
    lengths = [len(t) for t in TEXTS]
    for order in orders.values():
        assert sorted(i for b in order for i in b) == list(range(len(TEXTS)))
        ranges = sorted(
            (min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in order
        )
        for (_, hi), (lo, _) in pairwise(ranges):
            assert hi <= lo


def test_fine_tune_trains_position_embeddings_and_unfrozen_words(bert_dir, tmp_path):
    base = load_file(os.path.join(bert_dir, "model.safetensors"))
    kw = dict(model=bert_dir, max_steps=2, batch_size=4, learning_rate=1e-2)
    frozen = load_file(
        os.path.join(
            fine_tune(TEXTS, LABELS, cache_dir=tmp_path / "f", **kw).path,
            "model.safetensors",
        )
    )
    words = "bert.embeddings.word_embeddings.weight"
    positions = "bert.embeddings.position_embeddings.weight"
    assert torch.equal(base[words], frozen[words])
    # only the input (word) embeddings are frozen
    assert not torch.equal(base[positions], frozen[positions])
    free = fine_tune(
        TEXTS, LABELS, cache_dir=tmp_path / "u", freeze_embeddings=False, **kw
    )
    tuned = load_file(os.path.join(free.path, "model.safetensors"))
    assert not torch.equal(base[words], tuned[words])


@pytest.mark.parametrize(
    "change",
    [
        {"n_epochs": 2},
        {"max_steps": 2},
        {"batch_size": 3},
        {"learning_rate": 2e-4},
        {"warmup_fraction": 0.5},
        {"weight_decay": 0.1},
        {"freeze_embeddings": False},
        {"max_length": 8},
        {"random_state": 1},
        {"num_labels": 3},
        {"label_names": ["neg", "pos"]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_every_setting_enters_the_cache_key(bert_dir, tmp_path, change):
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=tmp_path)
    first = fine_tune(TEXTS, LABELS, **kw)
    other = fine_tune(TEXTS, LABELS, **{**kw, **change})
    assert not other.from_cache and other.path != first.path
    assert fine_tune(TEXTS, LABELS, **{**kw, **change}).from_cache


def test_fine_tune_saves_label_names_and_at_least_two_labels(bert_dir, tmp_path):
    from transformers import AutoConfig

    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=tmp_path)
    named = fine_tune(TEXTS, LABELS, label_names=["neg", "pos"], **kw)
    config = AutoConfig.from_pretrained(named.path)
    assert config.id2label == {0: "neg", 1: "pos"}
    assert config.label2id == {"neg": 0, "pos": 1}
    # a single observed class still gives a valid (>= 2 labels) classifier
    single = fine_tune(TEXTS, [0] * len(TEXTS), **kw)
    assert AutoConfig.from_pretrained(single.path).num_labels == 2


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_fine_tune_max_length_is_capped_and_honoured(family, tmp_path, monkeypatch):
    from transformers import AutoConfig

    path = save_tiny_model(family, tmp_path / family, num_labels=2)
    # a tokenizer without a length limit: only the position table caps inputs
    tok_config = os.path.join(path, "tokenizer_config.json")
    with open(tok_config, encoding="utf-8") as f:
        definition = json.load(f)
    definition["model_max_length"] = int(1e30)
    with open(tok_config, "w", encoding="utf-8") as f:
        json.dump(definition, f)
    widths = []
    real = finetune._encode

    def spy(tokenizer, texts, y, idx, task, max_length):
        enc = real(tokenizer, texts, y, idx, task, max_length)
        widths.append(enc["input_ids"].shape[1])
        return enc

    monkeypatch.setattr(finetune, "_encode", spy)
    long_texts = [" ".join(["the movie"] * 60)] * 2 + TEXTS
    y = [0, 1] + LABELS
    kw = dict(model=path, max_steps=2, batch_size=9, cache_dir=tmp_path / "c")
    # reference: the saved config's position table (RoBERTa's position ids
    # start after the padding index, two positions are not usable)
    config = AutoConfig.from_pretrained(path)
    usable = config.max_position_embeddings - (2 if family == "roberta" else 0)
    res = fine_tune(long_texts, y, max_length=1000, **kw)
    assert res.max_length == usable == max(widths)
    assert np.isfinite(res.losses).all()
    widths.clear()
    res = fine_tune(long_texts, y, max_length=7, **kw)
    assert res.max_length == 7 == max(widths)


# -- plotting ------------------------------------------------------------------
@pytest.fixture
def close_figures():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_risk_coverage_from_estimator_uses_sample_weight(close_figures):
    X, y = make_classifier_outputs(n_samples=60, random_state=4)
    est = MaxProb().fit(X, y)
    w = np.random.RandomState(0).uniform(0.2, 3.0, size=60)
    disp = RiskCoverageDisplay.from_estimator(est, X, y, sample_weight=w)
    # hand computation: accept in order of increasing uncertainty (distinct
    # scores), weighted error rate of the accepted ones
    u = 1 - np.exp(X[:, :2]).max(axis=1) / np.exp(X[:, :2]).sum(axis=1)
    assert len(np.unique(u)) == 60
    order = np.argsort(u)
    err = (X[:, :2].argmax(axis=1) != y)[order]
    cum_w = np.cumsum(w[order])
    risk = np.cumsum(w[order] * err) / cum_w
    np.testing.assert_allclose(disp.line_.get_xdata(), cum_w / w.sum())
    np.testing.assert_allclose(disp.line_.get_ydata(), risk, atol=1e-6)


def test_displays_axes_labels_legend_and_figure(close_figures):
    disp = RiskCoverageDisplay(coverage=[0.5, 1.0], risk=[0.0, 0.5]).plot()
    assert disp.ax_.get_ylabel() == "Selective risk (error rate)"
    assert disp.ax_.get_legend() is None  # nothing to name
    rel = ReliabilityDisplay(accuracy=[0.5], confidence=[0.6], name="m").plot()
    assert rel.ax_.get_xlabel() == "Confidence (1 - uncertainty)"
    assert rel.ax_.get_ylabel() == "Accuracy"
    assert rel.ax_.get_xlim() == rel.ax_.get_ylim() == (-0.01, 1.01)
    assert rel.figure_ is rel.ax_.figure
    assert rel.line_.get_label() == "m"
    rel = ReliabilityDisplay(accuracy=[0.5], confidence=[0.6], ece=0.1).plot()
    assert rel.line_.get_label() == "ECE = 0.100"


def test_reliability_skips_empty_bins(close_figures):
    # confidences 0.75 and 0.25 in 4 right-closed bins: bins 0 and 2 only
    y_true, y_pred = np.array([0, 1, 1, 0]), np.array([0, 1, 0, 1])
    u = [0.25, 0.25, 0.75, 0.75]
    disp = ReliabilityDisplay.from_predictions(y_true, y_pred, u, n_bins=4)
    np.testing.assert_array_equal(disp.line_.get_xdata(), [0.25, 0.75])
    np.testing.assert_array_equal(disp.line_.get_ydata(), [0.0, 1.0])


def test_reliability_from_estimator_without_reference_line(close_figures):
    X, y = make_classifier_outputs(n_samples=50, random_state=0)
    disp = ReliabilityDisplay.from_estimator(Entropy().fit(X, y), X, y, ref_line=False)
    assert [line.get_label() for line in disp.ax_.lines] == [disp.line_.get_label()]


# -- pipeline ------------------------------------------------------------------
def test_pipeline_uses_the_fitted_transformers():
    # every transformer is applied as fitted on the training data (not refit
    # on the data scored), passthrough steps are skipped
    X, y = make_classifier_outputs(n_samples=200, random_state=0)
    X_new = X[:20] * 3.0 + 1.0
    pipe = UncertaintyPipeline(
        [
            ("scale", StandardScaler()),
            ("skip", "passthrough"),
            ("half", FunctionTransformer(lambda Z: 0.5 * Z)),
            ("entropy", Entropy()),
        ]
    ).fit(X, y)
    scaler = StandardScaler().fit(X)
    ref = (
        Entropy()
        .fit(0.5 * scaler.transform(X), y)
        .predict_uncertainty(0.5 * scaler.transform(X_new))
    )
    np.testing.assert_allclose(pipe.predict_uncertainty(X_new), ref)


def test_pipeline_forwards_params_and_make_pipeline_settings(tmp_path):
    class Scaled(BaseEstimator):
        def fit(self, X, y=None):
            self.fitted_ = True
            return self

        def predict_uncertainty(self, X, scale=1.0):
            return scale * np.asarray(X)[:, 0]

    X = np.arange(6.0).reshape(3, 2)
    pipe = UncertaintyPipeline([("id", FunctionTransformer()), ("u", Scaled())])
    pipe.fit(X)
    np.testing.assert_array_equal(pipe.predict_uncertainty(X, scale=2.0), [0, 4, 8])
    made = make_uncertainty_pipeline(
        FunctionTransformer(), Scaled(), memory=str(tmp_path), verbose=True
    )
    assert made.memory == str(tmp_path) and made.verbose is True


def test_fine_tune_refuses_a_seed_numpy_cannot_take(bert_dir, tmp_path):
    # numpy's RandomState takes seeds in [0, 2**32 - 1]: a larger one is
    # refused up front, naming the parameter, before the model is loaded
    from sklearn.utils._param_validation import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="'random_state'"):
        fine_tune(
            TEXTS,
            LABELS,
            model=bert_dir,
            max_steps=1,
            random_state=2**32,
            cache_dir=tmp_path,
        )


@pytest.mark.parametrize(
    "texts, y, kw, error, match",
    [
        (["a", 3], [0, 1], {}, TypeError, "item 1 is int"),
        (
            [["a"], "b c"],
            [[0], [0]],
            {"task": "token"},
            TypeError,
            "sentence 1 is not",
        ),
        ([["a"], ["b"]], [[0]], {"task": "token"}, ValueError, "1 label sequences"),
        ([], [], {}, ValueError, "at least one training text"),
        (
            ["a", "b"],
            ["x", "y"],
            {"label_names": ["x", "x"]},
            ValueError,
            r"duplicate names: \['x', 'x'\]",
        ),
        (
            ["a", "b"],
            [0, 1],
            {"label_names": ["x", "y", "z"], "num_labels": 2},
            ValueError,
            "3 names but num_labels=2",
        ),
    ],
    ids=["text not str", "words not a list", "y too short", "empty", "dup", "names"],
)
def test_fine_tune_input_errors_name_the_problem(texts, y, kw, error, match, tmp_path):
    # refused before any model is loaded: a folder that does not exist would
    # raise FileNotFoundError instead
    with pytest.raises(error, match=match):
        fine_tune(texts, y, model=tmp_path / "absent", cache_dir=tmp_path, **kw)


def test_fine_tune_object_labels_of_whole_numbers(bert_dir, tmp_path):
    # integral labels held as Python ints and floats in an object array
    # (e.g. a pandas column) train like the integers they are
    y = np.array([1, 0.0, 0, 0, 1.0, 1, 1], dtype=object)
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=tmp_path)
    as_objects = fine_tune(TEXTS, y, **kw)
    assert fine_tune(TEXTS, LABELS, **kw).path == as_objects.path
