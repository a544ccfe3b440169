# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The per-text feature cache: hits run no forward, misses only, safety."""

import gc
import os
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from _tiny_models import TEXTS, recased_tokenizer, save_tiny_model
from joblib import Parallel, delayed
from sklearn.base import clone

from alien_sk._cache import FeatureStore, NullStore, text_key
from alien_sk.exceptions import CacheWarning, TruncationWarning
from alien_sk.features import FeatureExtractor

torch = pytest.importorskip("torch")
tf = pytest.importorskip("transformers")

MORE = [f"the movie was good {i} times" for i in range(40)]


@contextmanager
def count_forwards(cls):
    """Count the texts run through ``cls.forward`` (batch rows), per call."""
    calls = []
    original = cls.forward

    def forward(self, *args, **kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        calls.append(int(ids.shape[0]))
        return original(self, *args, **kwargs)

    cls.forward = forward
    try:
        yield calls
    finally:
        cls.forward = original


def _fe(path, cache_dir, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress_bar", False)
    return FeatureExtractor(path, cache_dir=cache_dir, **kw)


def _shards(fe):
    folder = os.path.join(fe.cache_info()["path"], "shards")
    return sorted(os.path.join(folder, f) for f in os.listdir(folder))


def test_hits_run_no_forward_and_misses_only(tmp_path, tiny_model_path):
    path = tiny_model_path("bert")
    reference = _fe(path, None).fit_transform(TEXTS + MORE)
    fe = _fe(path, tmp_path, batch_size=4)
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X1 = fe.fit_transform(TEXTS)
    assert sum(calls) == len(TEXTS)
    # a fresh extractor (another "process"): everything from the cache
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X2 = _fe(path, tmp_path, batch_size=4).fit_transform(TEXTS)
    assert calls == []
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_allclose(X1, reference[: len(TEXTS)], atol=1e-5)
    # one new text: one forward of one text
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X3 = fe.transform(TEXTS + ["a brand new text"])
    assert calls == [1]
    np.testing.assert_array_equal(X3[:-1], X1)
    # duplicates of unseen texts run once
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X4 = fe.transform(MORE + MORE[::-1])
    assert sum(calls) == len(MORE)
    np.testing.assert_allclose(X4[: len(MORE)], reference[len(TEXTS) :], atol=1e-5)
    info = fe.cache_info()
    assert info["n_entries"] == len(TEXTS) + 1 + len(MORE)
    assert info["size_bytes"] > 0 and info["n_shards"] >= 3


def test_settings_and_models_never_share_rows(tmp_path, tiny_model_path):
    path = tiny_model_path("bert")
    base = _fe(path, tmp_path)
    Xb = base.fit_transform(TEXTS)
    # another model (same architecture, other weights) in another folder
    other = save_tiny_model("bert", tmp_path / "other-model", seed=1)
    variants = [
        _fe(other, tmp_path),
        _fe(path, tmp_path, max_length=4),
        _fe(path, tmp_path, dtype="bfloat16"),
    ]
    for fe in variants:
        with (
            warnings.catch_warnings(),
            count_forwards(tf.BertForSequenceClassification) as calls,
        ):
            warnings.simplefilter("ignore")
            X = fe.fit_transform(TEXTS)
        assert sum(calls) == len(TEXTS), fe
        assert fe.cache_info()["namespace"] != base.cache_info()["namespace"]
        assert not np.allclose(X, Xb, atol=1e-4)
    # a different tokenizer (other lower-casing) is another namespace too
    tok = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)
    tok_cased = recased_tokenizer(tok)
    assert tok_cased(TEXTS)["input_ids"] != tok(TEXTS)["input_ids"]
    fe = _fe(path, tmp_path, tokenizer=tok_cased).fit()
    assert fe.cache_info()["namespace"] != base.cache_info()["namespace"]
    # same model copied to another folder: same fingerprint, rows shared
    model, tok = (
        tf.AutoModelForSequenceClassification.from_pretrained(path),
        tf.AutoTokenizer.from_pretrained(path),
    )
    tok(TEXTS, truncation=True, max_length=5)  # leaves state in the tokenizer
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X = _fe(model, tmp_path, tokenizer=tok).fit_transform(TEXTS)
    assert calls == []
    np.testing.assert_array_equal(X, Xb)


def test_token_level_cache(tmp_path, tiny_model_path):
    path = tiny_model_path("bert", task="token")
    sentences = [["good", "movie"], ["xyz"], [], ["the", "plot", "was", "bad"]]
    fe = _fe(path, tmp_path, level="token")
    X1 = fe.fit_transform(sentences)
    with count_forwards(tf.BertForTokenClassification) as calls:
        X2 = _fe(path, tmp_path, level="token").fit_transform(sentences[::-1])
    assert calls == []
    assert X2.shape == X1.shape == (7, fe.n_features_out_)
    np.testing.assert_array_equal(X2[:4], X1[3:])
    # word lists are keyed as lists: ["good movie"] is not ["good", "movie"]
    assert text_key(["good movie"]) != text_key(["good", "movie"])


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_corrupt_shard_is_recomputed(tmp_path, tiny_model_path, damage):
    path = tiny_model_path("bert")
    fe = _fe(path, tmp_path)
    X = fe.fit_transform(TEXTS)
    (shard,) = _shards(fe)
    with open(shard, "rb") as f:
        data = f.read()
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # one byte inside the rows array: CRC mismatch
        pos = data.rfind(b"rows.npy") - 200
        data = data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :]
    else:
        data = b"not a zip file"
    with open(shard, "wb") as f:
        f.write(data)
    fresh = _fe(path, tmp_path)
    with (
        warnings.catch_warnings(record=True) as record,
        count_forwards(tf.BertForSequenceClassification) as calls,
    ):
        warnings.simplefilter("always")
        X2 = fresh.fit_transform(TEXTS)
        gc.collect()  # an unclosed shard file would warn here
    assert sum(calls) == len(TEXTS)
    assert any(
        issubclass(w.category, CacheWarning) and "corrupt" in str(w.message)
        for w in record
    )
    assert not [w for w in record if issubclass(w.category, ResourceWarning)]
    np.testing.assert_allclose(X2, X, atol=1e-5)
    # the bad shard is gone, the recomputed rows are cached again
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        with count_forwards(tf.BertForSequenceClassification) as calls:
            _fe(path, tmp_path).fit_transform(TEXTS)
    assert calls == []


def test_wrong_row_shape_is_recomputed(tmp_path):
    store = FeatureStore(tmp_path, {"n_features": 3})
    key = text_key("a")
    store.put([key], [np.ones((1, 3), np.float32)])
    # another store expecting 2 rows for that key (token level)
    with pytest.warns(CacheWarning, match="expected 2"):
        assert FeatureStore(tmp_path, {"n_features": 3}).get([key], [2]) == [None]
    # a shard whose rows have the wrong width
    (name,) = os.listdir(store._shard_dir)
    np.savez(
        os.path.join(store._shard_dir, name),
        keys=np.array([key], dtype="S64"),
        offsets=np.array([0, 1]),
        rows=np.ones((1, 5), np.float32),
    )
    with pytest.warns(CacheWarning, match="corrupt"):
        assert FeatureStore(tmp_path, {"n_features": 3}).get([key]) == [None]


def test_os_errors_of_the_machine_keep_the_shard(tmp_path, monkeypatch):
    # running out of file handles (or a permission error) says nothing about
    # the shard: its texts are recomputed this time, the file stays for later
    import alien_sk._cache as cache_mod

    store = FeatureStore(tmp_path, {"n_features": 2})
    key = text_key("a")
    store.put([key], [np.full((1, 2), 7.0, np.float32)])
    shards = os.listdir(store._shard_dir)

    def no_handles(*args, **kwargs):
        raise OSError(24, "Too many open files")

    with monkeypatch.context() as m:
        m.setattr(cache_mod.np, "load", no_handles)
        with pytest.warns(CacheWarning, match="cannot read shard .* left in place"):
            assert FeatureStore(tmp_path, {"n_features": 2}).get([key]) == [None]
        fresh = FeatureStore(tmp_path, {"n_features": 2})
        fresh._open()
        with pytest.warns(CacheWarning, match="cannot read shard"):
            assert fresh.get([key]) == [None]  # in the index scan this time
    assert os.listdir(store._shard_dir) == shards
    # readable again: the same store object finds the row
    np.testing.assert_array_equal(fresh.get([key])[0], np.full((1, 2), 7.0))
    with monkeypatch.context() as m:
        m.setattr(cache_mod, "open", no_handles, raising=False)
        with pytest.warns(CacheWarning, match="cannot read .*namespace.json"):
            assert FeatureStore(tmp_path, {"n_features": 2}).get([key]) == [None]
    assert os.path.exists(os.path.join(store.path, "namespace.json"))


def test_pickled_arrays_are_refused(tmp_path):
    store = FeatureStore(tmp_path, {"n_features": 1})
    store.put([text_key("a")], [np.ones((1, 1), np.float32)])
    (name,) = os.listdir(store._shard_dir)
    np.savez(
        os.path.join(store._shard_dir, name),
        keys=np.array([text_key("a")], dtype=object),
        offsets=np.array([0, 1]),
        rows=np.ones((1, 1), np.float32),
    )
    with pytest.warns(CacheWarning, match="corrupt"):
        assert FeatureStore(tmp_path, {"n_features": 1}).get([text_key("a")]) == [None]


def test_write_failure_warns_never_raises(tmp_path, tiny_model_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    fe = _fe(tiny_model_path("bert"), blocker / "cache")
    with pytest.warns(CacheWarning, match="could not write"):
        X = fe.fit_transform(TEXTS)
    np.testing.assert_allclose(
        X, _fe(tiny_model_path("bert"), None).fit_transform(TEXTS), atol=1e-5
    )


def test_namespace_json_mismatch_disables_cache(tmp_path, tiny_model_path):
    fe = _fe(tiny_model_path("bert"), tmp_path)
    fe.fit_transform(TEXTS)
    meta = os.path.join(fe.cache_info()["path"], "namespace.json")
    with open(meta, "w") as f:
        f.write('{"model_fingerprint": "something else"}')
    fresh = _fe(tiny_model_path("bert"), tmp_path)
    with (
        pytest.warns(CacheWarning, match="does not describe the current settings"),
        count_forwards(tf.BertForSequenceClassification) as calls,
    ):
        fresh.fit_transform(TEXTS)
    assert sum(calls) == len(TEXTS)


def test_cache_info_and_clear(tmp_path, tiny_model_path):
    fe = _fe(tiny_model_path("bert"), tmp_path)
    fe.fit_transform(TEXTS)
    other = _fe(tiny_model_path("bert"), tmp_path, max_length=8)
    with pytest.warns(Warning, match="truncated"):
        other.fit_transform(TEXTS[:2])
    info = fe.cache_info()
    assert info["n_entries"] == len(TEXTS)
    assert info["path"].startswith(str(tmp_path))
    assert fe.clear_cache() == len(TEXTS)
    assert fe.cache_info()["n_entries"] == 0
    assert other.cache_info()["n_entries"] == 2  # other settings untouched
    with count_forwards(tf.BertForSequenceClassification) as calls:
        fe.transform(TEXTS)  # recomputed after clearing
    assert sum(calls) == len(TEXTS)
    fe.clear_cache(all_namespaces=True)
    assert other.cache_info()["n_entries"] == 0
    assert os.listdir(tmp_path) == []
    # no cache_dir: a no-op store
    none = _fe(tiny_model_path("bert"), None).fit()
    assert none.cache_info()["n_entries"] == 0 and none.clear_cache() == 0
    assert NullStore().get([b"k"]) == [None]


def test_flushes_shards_during_long_extractions(tmp_path, tiny_model_path, monkeypatch):
    import alien_sk.features as features

    monkeypatch.setattr(features, "_FLUSH_ROWS", 10)
    fe = _fe(tiny_model_path("bert"), tmp_path, batch_size=4)
    fe.fit_transform(MORE)
    info = fe.cache_info()
    assert info["n_entries"] == len(MORE) and info["n_shards"] >= 4


def _transform_in_worker(fe, texts):
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        X = fe.transform(texts)
    return X, [str(w.message) for w in rec if issubclass(w.category, CacheWarning)]


def test_two_processes_share_a_cache(tmp_path, tiny_model_path):
    """loky workers (pickled extractors, reloading lazily) share one cache."""
    path = tiny_model_path("gpt2")
    texts = TEXTS + MORE
    reference = _fe(path, None).fit_transform(texts)
    fe = _fe(path, tmp_path, batch_size=4).fit()
    chunks = [texts[i::2] + texts[:10] for i in range(2)]  # overlapping
    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_transform_in_worker)(clone(fe).fit(), chunk) for chunk in chunks
    )
    for (X, cache_warnings), chunk in zip(results, chunks, strict=True):
        assert cache_warnings == []
        idx = [texts.index(t) for t in chunk]
        np.testing.assert_allclose(X, reference[idx], atol=1e-5)
    with count_forwards(tf.GPT2ForSequenceClassification) as calls:
        X = fe.transform(texts)
    assert calls == []
    np.testing.assert_allclose(X, reference, atol=1e-5)
    assert fe.cache_info()["n_entries"] == len(set(texts))


def test_pipeline_grid_search_runs_each_text_once(tmp_path, tiny_model_path):
    """Model forwards across a whole GridSearchCV = number of distinct texts."""
    estimator = pytest.importorskip("alien_sk.estimator")
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    rng = np.random.RandomState(0)
    texts = [f"{w} movie {i}" for i, w in enumerate(rng.choice(["good", "bad"], 45))]
    y = rng.randint(0, 3, size=len(texts))
    pipe = Pipeline(
        [
            ("feat", _fe(tiny_model_path("bert"), tmp_path, batch_size=8)),
            ("alien", estimator.AlienUncertaintyEstimator(max_epochs=2, n_logits=3)),
        ]
    )
    search = GridSearchCV(
        pipe, {"alien__alpha": [0.0, 0.1], "alien__beta": [0.0, 0.1]}, cv=3
    )
    with count_forwards(tf.BertForSequenceClassification) as calls:
        search.fit(texts, y)
    assert sum(calls) == len(set(texts))
    assert np.isfinite(search.best_score_)
    best = search.best_estimator_
    u = best[-1].predict_uncertainty(best[:-1].transform(texts[:5]))
    assert u.shape == (5,)


@pytest.mark.slow
def test_grid_search_n_jobs_2_shares_the_cache(tmp_path, tiny_model_path):
    """GridSearchCV(n_jobs=2): loky workers fill one cache without corruption."""
    estimator = pytest.importorskip("alien_sk.estimator")
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import Pipeline

    rng = np.random.RandomState(0)
    texts = [f"{w} film {i}" for i, w in enumerate(rng.choice(["good", "bad"], 60))]
    y = rng.randint(0, 3, size=len(texts))
    pipe = Pipeline(
        [
            ("feat", _fe(tiny_model_path("llama"), tmp_path, batch_size=8)),
            ("alien", estimator.AlienUncertaintyEstimator(max_epochs=2, n_logits=3)),
        ]
    )
    grid = {"alien__alpha": [0.0, 0.1], "alien__beta": [0.0, 0.1]}
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        parallel = GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(texts, y)
    with count_forwards(tf.LlamaForSequenceClassification) as calls:
        serial = GridSearchCV(pipe, grid, cv=3).fit(texts, y)
    assert calls == []  # every text was cached by the workers
    np.testing.assert_allclose(
        parallel.cv_results_["mean_test_score"],
        serial.cv_results_["mean_test_score"],
        atol=1e-6,
    )


def test_cache_dir_expands_user(tmp_path, monkeypatch):
    # "~/..." must land in the home folder, not in a literal "~" folder
    from alien_sk._cache import FeatureStore, text_key

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    store = FeatureStore("~/feature-cache", {"model": "m", "n_features": 1})
    store.put([text_key("a")], [np.array([[1.0]], np.float32)])
    assert (tmp_path / "feature-cache").is_dir()
    assert not (tmp_path / "~").exists()


def test_einval_from_a_damaged_shard_counts_as_corrupt(tmp_path, monkeypatch):
    # some bit flips in a zip directory make np.load fail with EINVAL
    import errno

    import alien_sk._cache as cache_mod

    store = FeatureStore(tmp_path, {"n_features": 2})
    key = text_key("a")
    store.put([key], [np.ones((1, 2), np.float32)])

    def einval(*args, **kwargs):
        raise OSError(errno.EINVAL, "Invalid argument")

    monkeypatch.setattr(cache_mod.np, "load", einval)
    with pytest.warns(CacheWarning, match="corrupt"):
        assert FeatureStore(tmp_path, {"n_features": 2}).get([key]) == [None]
    assert os.listdir(store._shard_dir) == []


def _descriptor_of_alien_sk_0_1(fe):
    """The namespace settings of alien_sk 0.1, written out by hand."""
    return {
        "schema_version": 1,
        "model_fingerprint": fe.model_fingerprint_,
        "tokenizer_fingerprint": fe.tokenizer_fingerprint_,
        "model_type": fe.model_type_,
        "layer": fe.layer_,
        "level": fe.level,
        "max_length": fe.max_length_,
        "dtype": fe.dtype_,
        "padding_side": fe.padding_side_,
        "n_features": fe.n_features_out_,
    }


@pytest.mark.parametrize("family", ["bert", "gpt2", "llama"])
def test_decoder_rows_of_the_old_pooling_rule_are_not_served(
    family, tmp_path, tiny_model_path
):
    # alien_sk 0.1 read decoders at the last attended token, even when it was
    # config.pad_token_id: its decoder rows must not be served; encoder rows
    # did not change, so their caches (the demo's BERT features) stay valid
    path = tiny_model_path(family)
    fe = _fe(path, tmp_path).fit()
    planted = np.full((1, fe.n_features_out_), 7.0, np.float32)
    old = FeatureStore(tmp_path, _descriptor_of_alien_sk_0_1(fe))
    old.put([text_key(t) for t in TEXTS], [planted] * len(TEXTS))
    X = fe.transform(TEXTS)
    if family == "bert":
        assert fe.cache_info()["path"] == old.path
        np.testing.assert_array_equal(X, np.repeat(planted, len(TEXTS), axis=0))
        return
    assert fe.cache_info()["path"] != old.path
    model = tf.AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = tf.AutoTokenizer.from_pretrained(path)
    for i, text in enumerate(TEXTS):
        # an empty text is fed as the BOS (else EOS) token
        bos = tok.bos_token_id
        ids = tok(text)["input_ids"] or [bos if bos is not None else tok.eos_token_id]
        with torch.no_grad():
            own = model(input_ids=torch.tensor([ids])).logits[0].numpy()
        np.testing.assert_allclose(X[i, : fe.n_logits_], own, atol=1e-5)


def test_each_transform_call_writes_its_own_shard(tmp_path, tiny_model_path):
    # as the module docstring of alien_sk._cache says: batch the calls
    fe = _fe(tiny_model_path("bert"), tmp_path).fit()
    for text in MORE[:3]:
        fe.transform([text])
    assert fe.cache_info()["n_shards"] == 3
    fe.transform(MORE[3:20])
    info = fe.cache_info()
    assert info["n_shards"] == 4 and info["n_entries"] == 20


def test_truncation_warning_counts_only_texts_run_through_the_model(
    tmp_path, tiny_model_path
):
    # as the max_length docstring says: rows served from the cache are the
    # truncated text's, but are not counted again
    texts = [" ".join(["good movie"] * 50), "bad"]
    path = tiny_model_path("bert")
    with pytest.warns(TruncationWarning, match="^1 of 2 texts"):
        X = _fe(path, tmp_path, max_length=16).fit_transform(texts)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        again = _fe(path, tmp_path, max_length=16).fit_transform(texts)
    np.testing.assert_array_equal(again, X)
    model = tf.AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = tf.AutoTokenizer.from_pretrained(path)
    ids = tok(texts[0], truncation=True, max_length=16)["input_ids"]
    with torch.no_grad():
        own = model(input_ids=torch.tensor([ids])).logits[0].numpy()
    np.testing.assert_allclose(again[0, :3], own, atol=1e-5)
