# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Behaviour found unpinned by mutation testing of features, _cache and deploy.

Every test compares with an independent reference: the model's own unpadded
forward (logits, and the input of the final linear layer captured with a
forward pre-hook), the values written in the test itself, or the files on
disk; never with the code under test.
"""

import os
import pickle
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from _tiny_models import (
    DECODERS,
    ENCODERS,
    FAMILIES,
    TEXTS,
    build_config,
    build_tokenizer,
    recased_tokenizer,
    save_tiny_model,
)

from alien_sk._cache import FeatureStore, text_key
from alien_sk.exceptions import AlienSkWarning, CacheWarning, TruncationWarning
from alien_sk.features import FeatureExtractor

torch = pytest.importorskip("torch")
tf = pytest.importorskip("transformers")

N_LABELS = 3
# final linear layer of the sequence classifiers of every family, read from
# transformers' *ForSequenceClassification sources (4.56 and 5.x), kept here
# apart from alien_sk's own table: a wrong entry there fails the tests below.
# RoBERTa-like heads are dense -> tanh -> out_proj; DeBERTa-v2 has a
# ContextPooler (dense, activation) before ``classifier``; ModernBERT pools
# (CLS or mean), then ``head`` (dense, activation, norm) and ``classifier``.
LAYER = {
    "albert": "classifier",
    "bert": "classifier",
    "camembert": "classifier.out_proj",
    "deberta-v2": "classifier",
    "distilbert": "classifier",
    "electra": "classifier.out_proj",
    "modernbert": "classifier",
    "mpnet": "classifier.out_proj",
    "roberta": "classifier.out_proj",
    "xlm-roberta": "classifier.out_proj",
    "gemma": "score",
    "gpt2": "score",
    "llama": "score",
    "mistral": "score",
    "phi3": "score",
    "qwen2": "score",
    "qwen3": "score",
}
# families whose positions start after pad_token_id (RoBERTa's embeddings)
PADDING_IDX_POSITIONS = ("roberta", "xlm-roberta", "camembert", "mpnet")
# every encoder (padded on the right whatever the tokenizer says), every
# decoder padded on either side
CASES = [(f, "right") for f in ENCODERS] + [
    (f, side) for f in DECODERS for side in ("left", "right")
]


def _extractor(model, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress_bar", False)
    return FeatureExtractor(model, **kw)


def _load(path, task="sequence"):
    auto = (
        tf.AutoModelForTokenClassification
        if task == "token"
        else tf.AutoModelForSequenceClassification
    )
    model = auto.from_pretrained(path, local_files_only=True).eval()
    return model, tf.AutoTokenizer.from_pretrained(path, local_files_only=True)


def _own_row(model, layer, ids):
    """``[logits | input of the final linear layer]`` of one unpadded text.

    Decoders are read where transformers pools: the rightmost token whose id
    is not ``config.pad_token_id`` (the last token when it has none).
    """
    captured = {}
    linear = model.get_submodule(layer)
    handle = linear.register_forward_pre_hook(
        lambda m, args: captured.__setitem__("emb", args[0])
    )
    try:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
    finally:
        handle.remove()
    emb = captured["emb"][0]
    if emb.dim() == 2:  # decoder: one embedding per token
        pad = model.config.pad_token_id
        keep = [i for i, t in enumerate(ids) if pad is None or t != pad]
        emb = emb[keep[-1] if keep else 0]
    return torch.cat([logits.float(), emb.float()]).numpy()


@contextmanager
def count_forwards(cls):
    """Number of texts (batch rows) run through ``cls.forward``."""
    calls = []
    original = cls.forward

    def forward(self, *args, **kwargs):
        calls.append(int(kwargs["input_ids"].shape[0]))
        return original(self, *args, **kwargs)

    cls.forward = forward
    try:
        yield calls
    finally:
        cls.forward = original


# -- cache key ---------------------------------------------------------------------
def test_decoder_config_pad_token_is_part_of_the_cache_key(tmp_path, tiny_model_path):
    # same weights, same tokenizer, only config.pad_token_id differs: the
    # pooled token of a text ending with EOS moves, so the cached row of one
    # config must not be served for the other
    path = tiny_model_path("gpt2")
    model, tok = _load(path)
    text = f"the movie was good{tok.eos_token}"
    ids = tok(text)["input_ids"]
    no_pad = _extractor(model, tokenizer=tok, cache_dir=tmp_path).fit_transform([text])
    np.testing.assert_allclose(no_pad[0], _own_row(model, "score", ids), atol=1e-5)
    model.config.pad_token_id = tok.eos_token_id
    with_pad = _extractor(model, tokenizer=tok, cache_dir=tmp_path).fit_transform(
        [text]
    )
    np.testing.assert_allclose(with_pad[0], _own_row(model, "score", ids), atol=1e-5)
    assert np.abs(with_pad - no_pad).max() > 1e-3


def test_reload_detects_changed_tokenizer(tmp_path):
    # the weights are unchanged but the folder's tokenizer is another one:
    # the unpickled extractor must not serve rows of the new ids
    path = save_tiny_model("bert", tmp_path / "m")
    fe = _extractor(path).fit()
    blob = pickle.dumps(fe)
    recased_tokenizer(build_tokenizer("bert")).save_pretrained(path)
    with pytest.raises(ValueError, match="tokenizer loaded for .* differs"):
        pickle.loads(blob).transform(TEXTS)


# -- max_length --------------------------------------------------------------------
def test_default_max_length_is_the_smaller_of_model_and_tokenizer(tiny_model_path):
    # None uses min(max_position_embeddings, tokenizer.model_max_length)
    path = tiny_model_path("bert")
    model, tok = _load(path)
    tok.model_max_length = 10
    text = " ".join(["good movie"] * 20)
    with pytest.warns(TruncationWarning, match="1 of 1 texts"):
        X = _extractor(model, tokenizer=tok).fit_transform([text])
    ids = tok(text, truncation=True, max_length=10)["input_ids"]
    assert len(ids) == 10
    np.testing.assert_allclose(X[0], _own_row(model, "classifier", ids), atol=1e-5)


@pytest.mark.parametrize("family", PADDING_IDX_POSITIONS)
def test_roberta_default_max_length_leaves_out_the_padding_offset(
    family, tiny_model_path
):
    # RoBERTa-style embeddings reserve 2 of their 66 positions (pad_token_id
    # 1, positions from 2): without a tokenizer limit the default is 64
    # tokens, and a long text is read as its first 64 (66 crashed the model)
    path = tiny_model_path(family)
    model, tok = _load(path)
    assert model.config.max_position_embeddings == 66
    assert model.config.pad_token_id == 1
    tok.model_max_length = 1000
    text = " ".join(["good movie"] * 40)
    with pytest.warns(TruncationWarning, match="1 of 1 texts"):
        X = _extractor(model, tokenizer=tok).fit_transform([text])
    ids = tok(text, truncation=True, max_length=64)["input_ids"]
    assert len(ids) == 64
    np.testing.assert_allclose(X[0], _own_row(model, LAYER[family], ids), atol=1e-5)


def test_reference_tables_cover_every_family():
    assert set(LAYER) == set(FAMILIES)


@pytest.mark.parametrize("family, side", CASES)
def test_rows_are_each_texts_own_forward(family, side, tiny_model_path):
    # batches of 3 texts of different lengths, padded (on ``side`` for
    # decoders), one text truncated: each row is the text's own unpadded
    # forward of its first max_length tokens, logits and the input of the
    # final linear layer named in LAYER
    path = tiny_model_path(family)
    model, tok = _load(path)
    tok.padding_side = side
    texts = [*TEXTS, " ".join(["good movie"] * 12)]
    fe = _extractor(model, tokenizer=tok, batch_size=3, max_length=16)
    with pytest.warns(TruncationWarning):
        X = fe.fit_transform(texts)
    assert fe.padding_side_ == (side if family in DECODERS else "right")
    assert X.shape == (len(texts), N_LABELS + 16)
    for i, text in enumerate(texts):
        ids = tok(text, truncation=True, max_length=16)["input_ids"]
        if not ids:  # a text of no token is fed as BOS (else EOS)
            bos = tok.bos_token_id
            ids = [bos if bos is not None else tok.eos_token_id]
        own = _own_row(model, LAYER[family], ids)
        np.testing.assert_allclose(X[i], own, atol=1e-5, rtol=0)
    # not vacuous: the rows differ between texts, the embedding is not zero
    assert np.abs(X[0] - X[1]).max() > 1e-3
    assert np.abs(X[:, N_LABELS:]).max() > 1e-2


def test_manual_cut_follows_a_left_truncation_side(tiny_model_path, monkeypatch):
    # a tokenizer that returns a text longer than max_length: the text is cut
    # on the tokenizer's truncation side (here the left one)
    path = tiny_model_path("bert")
    model, tok = _load(path)
    tok.truncation_side = "left"
    fe = _extractor(model, tokenizer=tok, max_length=3).fit()
    ids = tok("the movie was")["input_ids"]  # [CLS] the movie was [SEP]
    original = type(fe._tokenizer).__call__

    def no_truncation(self, *args, **kwargs):
        kwargs["truncation"] = False
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(fe._tokenizer), "__call__", no_truncation)
    with pytest.warns(TruncationWarning, match="1 of 1"):
        X = fe.transform(["the movie was"])
    monkeypatch.undo()
    np.testing.assert_allclose(X[0], _own_row(model, "classifier", ids[-3:]), atol=1e-5)


# -- padding and dtype -------------------------------------------------------------
def test_encoder_tokenizer_padding_left_still_gives_unpadded_rows(tiny_model_path):
    # encoders have absolute positions and get no position_ids: they must be
    # padded on the right whatever the tokenizer's padding_side
    path = tiny_model_path("bert")
    model, tok = _load(path)
    tok.padding_side = "left"
    texts = ["the movie was good", "bad", "a boring film , but the actor was great !"]
    X = _extractor(model, tokenizer=tok, batch_size=3).fit_transform(texts)
    for i, text in enumerate(texts):
        own = _own_row(model, "classifier", tok(text)["input_ids"])
        np.testing.assert_allclose(X[i], own, atol=1e-5)


def test_loaded_model_is_run_in_the_requested_dtype(tiny_model_path):
    path = tiny_model_path("bert")
    model, tok = _load(path)
    fe = _extractor(model, tokenizer=tok, dtype="bfloat16", batch_size=1)
    X = fe.fit_transform(TEXTS[:3])
    assert fe.dtype_ == "torch.bfloat16"
    assert next(model.parameters()).dtype == torch.float32  # a copy was cast
    ref = _load(path)[0].to(torch.bfloat16)
    for i, text in enumerate(TEXTS[:3]):
        own = _own_row(ref, "classifier", tok(text)["input_ids"])
        np.testing.assert_allclose(X[i], own, atol=1e-6)


def test_default_dtype_of_a_folder_is_float32(tmp_path, tiny_model_path):
    # dtype=None loads float32 even from a bfloat16 checkpoint
    model, tok = _load(tiny_model_path("bert"))
    model.to(torch.bfloat16).save_pretrained(tmp_path)
    tok.save_pretrained(tmp_path)
    fe = _extractor(str(tmp_path))
    X = fe.fit_transform(TEXTS[:2])
    assert fe.dtype_ == "torch.float32"
    ref = model.to(torch.float32)  # the bfloat16 weights, in float32
    for i, text in enumerate(TEXTS[:2]):
        own = _own_row(ref, "classifier", tok(text)["input_ids"])
        np.testing.assert_allclose(X[i], own, atol=1e-5)


# -- token level -------------------------------------------------------------------
def test_truncated_sentence_does_not_warn_about_tokenless_words(tiny_model_path):
    # words cut off by max_length are covered by the TruncationWarning only
    fe = _extractor(tiny_model_path("bert", "token"), level="token", max_length=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AlienSkWarning)
        with pytest.warns(TruncationWarning):
            X = fe.fit_transform([["a", "b", "c", "d", "e", "f", "g"]])
    assert np.isnan(X[4:]).all() and np.isfinite(X[:4]).all()


def test_empty_sentences_are_cached(tmp_path, tiny_model_path):
    path = tiny_model_path("bert", "token")
    sentences = [["good", "movie"], [], ["bad"]]
    fe = _extractor(path, level="token", cache_dir=tmp_path)
    X = fe.fit_transform(sentences)
    assert X.shape[0] == 3
    assert fe.cache_info()["n_entries"] == 3


# -- token id storage ----------------------------------------------------------------
@pytest.mark.parametrize(
    "values", [[0, 255], [256], [0, 65535], [65536, 3], [-1, 5], [2**31 - 1]]
)
def test_compact_token_ids_round_trip(values):
    from alien_sk.features import _compact

    out = _compact(iter(values), len(values))
    assert out.tolist() == values


# -- the store ---------------------------------------------------------------------
def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    import alien_sk._cache as cache_mod

    store = FeatureStore(tmp_path, {"n_features": 2})

    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", half_written)
    with pytest.warns(CacheWarning, match="could not write"):
        store.put([text_key("a")], [np.ones((1, 2), np.float32)])
    monkeypatch.undo()
    assert os.listdir(store._shard_dir) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        assert FeatureStore(tmp_path, {"n_features": 2}).get([text_key("a")]) == [None]


def test_shard_being_written_is_invisible_to_readers(tmp_path, monkeypatch):
    # shards are written under a temporary name and renamed when complete:
    # another process reading meanwhile sees no shard (and no corrupt one)
    import alien_sk._cache as cache_mod

    key = text_key("a")
    writer = FeatureStore(tmp_path, {"n_features": 2})
    real_savez = np.savez
    seen = []

    def savez_with_a_concurrent_reader(f, **arrays):
        reader = FeatureStore(tmp_path, {"n_features": 2})
        with warnings.catch_warnings():
            warnings.simplefilter("error", CacheWarning)
            seen.append(reader.get([key]))
        real_savez(f, **arrays)

    monkeypatch.setattr(cache_mod.np, "savez", savez_with_a_concurrent_reader)
    writer.put([key], [np.full((1, 2), 3.0, np.float32)])
    monkeypatch.undo()
    assert seen == [[None]]
    got = FeatureStore(tmp_path, {"n_features": 2}).get([key])[0]
    np.testing.assert_array_equal(got, np.full((1, 2), 3.0))


def test_unreadable_indexed_shard_is_kept(tmp_path, monkeypatch):
    # a shard already indexed that cannot be opened for a machine reason
    # (no file handles left) is skipped this time, not deleted
    import alien_sk._cache as cache_mod

    store = FeatureStore(tmp_path, {"n_features": 2})
    key = text_key("a")
    store.put([key], [np.full((1, 2), 7.0, np.float32)])
    shards = os.listdir(store._shard_dir)

    def no_handles(*args, **kwargs):
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(cache_mod.np, "load", no_handles)
    with pytest.warns(CacheWarning, match="left in place"):
        assert store.get([key]) == [None]
    monkeypatch.undo()
    assert os.listdir(store._shard_dir) == shards
    np.testing.assert_array_equal(store.get([key])[0], np.full((1, 2), 7.0))


def test_shard_with_offsets_not_starting_at_zero_is_corrupt(tmp_path):
    store = FeatureStore(tmp_path, {"n_features": 1})
    store.put([text_key("a")], [np.zeros((1, 1), np.float32)])
    (name,) = os.listdir(store._shard_dir)
    np.savez(
        os.path.join(store._shard_dir, name),
        keys=np.array([text_key("a")], dtype="S64"),
        offsets=np.array([1, 2]),
        rows=np.array([[5.0], [6.0]], np.float32),
    )
    with pytest.warns(CacheWarning, match="corrupt"):
        assert FeatureStore(tmp_path, {"n_features": 1}).get([text_key("a")]) == [None]


def test_clear_cache_of_a_fresh_extractor_counts_the_entries(tmp_path, tiny_model_path):
    path = tiny_model_path("bert")
    _extractor(path, cache_dir=tmp_path).fit_transform(TEXTS)
    fresh = _extractor(path, cache_dir=tmp_path).fit()
    assert fresh.clear_cache() == len(TEXTS)


def test_clear_all_namespaces_keeps_foreign_files(tmp_path, tiny_model_path):
    fe = _extractor(tiny_model_path("bert"), cache_dir=tmp_path)
    fe.fit_transform(TEXTS[:2])
    (tmp_path / "user-data").mkdir()
    (tmp_path / "user-data" / "notes.txt").write_text("keep me")
    fe.clear_cache(all_namespaces=True)
    assert (tmp_path / "user-data" / "notes.txt").read_text() == "keep me"
    assert os.listdir(tmp_path) == ["user-data"]


def test_rows_written_by_another_extractor_are_found(tmp_path, tiny_model_path):
    # an extractor whose index already holds some texts still finds the rows
    # another process stored since, instead of recomputing them
    path = tiny_model_path("bert")
    a = _extractor(path, cache_dir=tmp_path)
    a.fit_transform(TEXTS[:3])
    b = _extractor(path, cache_dir=tmp_path)
    X_new = b.fit_transform(TEXTS[3:])
    with count_forwards(tf.BertForSequenceClassification) as calls:
        X = a.transform(TEXTS)
    assert calls == []
    np.testing.assert_array_equal(X[3:], X_new)


# -- deploy ------------------------------------------------------------------------
def _predictor(path, **kw):
    from alien_sk.deploy import AlienHead, AlienPredictor

    head = AlienHead(N_LABELS, 16, dtype="float64")
    with torch.no_grad():
        head.residual.weight.normal_()
    kw.setdefault("device", "cpu")
    kw.setdefault("progress_bar", False)
    return AlienPredictor(path, head, **kw)


def test_load_restores_max_length_batch_size_and_dtype(tmp_path, tiny_model_path):
    from alien_sk.deploy import AlienPredictor

    path = tiny_model_path("bert")
    model, tok = _load(path)
    predictor = _predictor(path, max_length=6, batch_size=2, dtype="bfloat16")
    predictor.save(tmp_path / "d")
    loaded = AlienPredictor.load(tmp_path / "d", device="cpu", progress_bar=False)
    assert loaded.max_length == 6 and loaded.batch_size == 2
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    text = "the movie was good and the plot was great"
    with pytest.warns(TruncationWarning):
        pred = loaded.predict([text])
    ids = tok(text, truncation=True, max_length=6)["input_ids"]
    own = _own_row(model.to(torch.bfloat16), "classifier", ids)
    np.testing.assert_allclose(pred.logits[0], own[:N_LABELS], atol=1e-6)


# -- bugs found by the audit (each test failed before its fix) ----------------------
def test_left_truncated_sentence_does_not_warn_about_tokenless_words(tiny_model_path):
    # truncation_side="left": the words cut off are the first ones; only the
    # TruncationWarning covers them, and the kept words have their rows
    path = tiny_model_path("bert", "token")
    model, tok = _load(path, "token")
    tok.truncation_side = "left"
    fe = _extractor(model, tokenizer=tok, level="token", max_length=6)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AlienSkWarning)
        with pytest.warns(TruncationWarning):
            X = fe.fit_transform([["a", "b", "c", "d", "e", "f", "g"]])
    assert np.isnan(X[:3]).all() and np.isfinite(X[3:]).all()


def test_left_truncated_sentence_still_warns_about_a_tokenless_kept_word(
    tiny_model_path,
):
    # a soft hyphen (deleted by BERT's normaliser) among the kept words is
    # still reported, with its own word index
    path = tiny_model_path("bert", "token")
    model, tok = _load(path, "token")
    tok.truncation_side = "left"
    fe = _extractor(model, tokenizer=tok, level="token", max_length=6)
    words = ["a", "b", "c", "d", "\u00ad", "f", "g"]
    with pytest.warns(AlienSkWarning, match=r"word 4 \('\\xad'\)"):
        with pytest.warns(TruncationWarning):
            fe.fit_transform([words])


def test_config_changed_after_fit_is_refused(tmp_path):
    # config.pad_token_id decides a decoder's pooled token: rows computed
    # after such a change must not be stored under the key taken at fit
    from _tiny_models import build_tiny_model

    model, tok = build_tiny_model("gpt2")
    fe = _extractor(model, tokenizer=tok, cache_dir=tmp_path).fit()
    fe.transform(["good movie"])
    model.config.pad_token_id = tok.eos_token_id
    with pytest.raises(ValueError, match="weights or config were modified"):
        fe.transform(["bad movie"])
    model.config.pad_token_id = None  # back to the fitted config: served again
    X = fe.transform(["bad movie"])
    own = _own_row(model, "score", tok("bad movie")["input_ids"])
    np.testing.assert_allclose(X[0], own, atol=1e-5)


def test_load_with_another_dtype_still_checks_the_weights(tmp_path, tiny_model_path):
    from alien_sk.deploy import AlienPredictor

    path = tiny_model_path("bert")
    _predictor(path).save(tmp_path / "d")
    model, _ = _load(tmp_path / "d")
    with torch.no_grad():
        model.classifier.weight.add_(1.0)  # another classifier beside the head
    model.save_pretrained(tmp_path / "d")
    for dtype in ["saved", "bfloat16"]:
        with pytest.raises(ValueError, match="fingerprint mismatch"):
            AlienPredictor.load(
                tmp_path / "d", device="cpu", dtype=dtype, progress_bar=False
            )


def _longrope_phi3(original):
    """A tiny Phi-3 with long-context ("longrope") rotary embeddings."""
    tok = build_tokenizer("phi3")
    cfg = build_config("phi3", len(tok))
    factors = {"short_factor": [1.0] * 4, "long_factor": [4.0] * 4}
    cfg.original_max_position_embeddings = original
    if tf.__version__.startswith("4."):
        cfg.rope_scaling = {"type": "longrope", **factors}
    else:
        cfg.rope_parameters = {
            **cfg.rope_parameters,
            "rope_type": "longrope",
            **factors,
            "original_max_position_embeddings": original,
        }
    torch.manual_seed(0)
    model = tf.AutoModelForSequenceClassification.from_config(cfg).eval()
    assert model.model.rotary_emb.rope_type == "longrope"
    rope = getattr(model.config, "rope_parameters", None) or {}
    assert rope.get("original_max_position_embeddings", original) == original
    return model, tok


@pytest.mark.parametrize("side", ["left", "right"])
def test_longrope_rows_do_not_depend_on_longer_texts_of_the_batch(side):
    # Phi-3's longrope switches the whole batch to its long factors once the
    # longest text exceeds original_max_position_embeddings (8 here): a short
    # text batched with a long one got rows 0.45 away from its own
    model, tok = _longrope_phi3(original=8)
    tok.padding_side = side
    texts = ["bad", "the movie was good", "it is", "the plot was awful , awful"]
    lengths = [len(tok(t)["input_ids"]) for t in texts]
    assert min(lengths) <= 8 < max(lengths)
    X = _extractor(model, tokenizer=tok, batch_size=4).fit_transform(texts)
    for i, text in enumerate(texts):
        own = _own_row(model, "score", tok(text)["input_ids"])
        np.testing.assert_allclose(X[i], own, atol=1e-5, rtol=0)


def test_modernbert_cls_pooling_rows(tiny_model_path):
    # the tiny ModernBERT pools by mean (as ModernBERT-base); with CLS
    # pooling the final linear layer is the same, its input another
    tok = build_tokenizer("modernbert")
    cfg = build_config("modernbert", len(tok), classifier_pooling="cls")
    torch.manual_seed(0)
    model = tf.AutoModelForSequenceClassification.from_config(cfg).eval()
    X = _extractor(model, tokenizer=tok, batch_size=3).fit_transform(TEXTS)
    for i, text in enumerate(TEXTS):
        own = _own_row(model, LAYER["modernbert"], tok(text)["input_ids"])
        np.testing.assert_allclose(X[i], own, atol=1e-5, rtol=0)
