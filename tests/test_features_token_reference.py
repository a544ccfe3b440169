# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Token level, chunked tokenisation, deduplication and inputs, against references.

Found unpinned by a second mutation-testing pass over ``alien_sk.features``.
Every row is compared with the model's own unpadded forward of one sentence:
the logits and the input of the final linear layer (captured with a forward
pre-hook), read for each word at its first sub-token as found with the
tokenizer's ``word_ids()``; never with the code under test.
"""

import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from _tiny_models import DECODERS, ENCODERS, FAMILIES

from alien_sk.exceptions import TruncationWarning
from alien_sk.features import FeatureExtractor

torch = pytest.importorskip("torch")
tf = pytest.importorskip("transformers")

N_LABELS = 3
# final linear layer of the token classifiers of every family, read from
# transformers' *ForTokenClassification sources (4.56 and 5.x), kept apart
# from alien_sk's table: ``classifier`` for encoders (after ModernBERT's
# ``head``) and GPT-2, ``score`` for the Generic* heads of the other decoders
TOKEN_LAYER = {
    "albert": "classifier",
    "bert": "classifier",
    "camembert": "classifier",
    "deberta-v2": "classifier",
    "distilbert": "classifier",
    "electra": "classifier",
    "modernbert": "classifier",
    "mpnet": "classifier",
    "roberta": "classifier",
    "xlm-roberta": "classifier",
    "gemma": "score",
    "gpt2": "classifier",
    "llama": "score",
    "mistral": "score",
    "phi3": "score",
    "qwen2": "score",
    "qwen3": "score",
}
# byte-level BPE: word lists are tokenized as in running text with a prefix space
PREFIX_SPACE = ("roberta", "gpt2", "qwen2", "qwen3", "modernbert")
CASES = [(f, "right") for f in ENCODERS] + [
    (f, side) for f in DECODERS for side in ("left", "right")
]

# different lengths, words split into several sub-tokens ("xylophonic",
# "zebras"), a one-word sentence, an empty one and repeated ones
SENTENCES = [
    ["the", "movie", "was", "xylophonic"],
    ["zebras", "juggle"],
    [],
    ["bad"],
    ["it", "was", "not", "funny", ",", "awful", "plot", "indeed"],
    ["zebras", "juggle"],
    ["good", "film"],
    ["the", "movie", "was", "xylophonic"],
    ["zebras", "good"],  # as many words as ["good", "film"], other word maps
]


def _extractor(model, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress_bar", False)
    return FeatureExtractor(model, **kw)


def _load_token(path, family):
    model = tf.AutoModelForTokenClassification.from_pretrained(
        path, local_files_only=True
    ).eval()
    kw = {"add_prefix_space": True} if family in PREFIX_SPACE else {}
    tok = tf.AutoTokenizer.from_pretrained(path, local_files_only=True, **kw)
    if family in PREFIX_SPACE:
        _apply_prefix_space(tok)
    if family in PREFIX_SPACE:  # the reference splits words as running text
        as_words = tok(["word"], is_split_into_words=True, add_special_tokens=False)
        assert (
            as_words["input_ids"] == tok(" word", add_special_tokens=False)["input_ids"]
        )
    return model, tok


def _apply_prefix_space(tok):
    """Set add_prefix_space on the ByteLevel step of ``tok``'s pre-tokenizer.

    transformers 4's Qwen2 tokenizer and transformers 5's generic backend
    (ModernBERT's tokenizer class) store ``add_prefix_space=True`` without
    applying it.
    """
    from tokenizers import pre_tokenizers

    pre = tok.backend_tokenizer.pre_tokenizer
    if isinstance(pre, pre_tokenizers.ByteLevel):
        pre.add_prefix_space = True
    else:  # Qwen2: Split, then ByteLevel
        pre[1].add_prefix_space = True


def _own_word_rows(model, layer, ids, word_ids, n_words):
    """``[logits | input of the final linear layer]`` of each word, unpadded.

    ``ids`` are the token ids of one sentence, ``word_ids`` the word of each
    token; a word without a token gets a row of NaN.
    """
    captured = {}
    handle = model.get_submodule(layer).register_forward_pre_hook(
        lambda m, args: captured.__setitem__("emb", args[0])
    )
    try:
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids])).logits[0]
    finally:
        handle.remove()
    full = torch.cat([logits, captured["emb"][0]], dim=1).float().numpy()
    rows = np.full((n_words, full.shape[1]), np.nan, dtype=np.float32)
    for w in range(n_words):
        if w in word_ids:
            rows[w] = full[word_ids.index(w)]
    return rows


def _reference(model, tok, layer, sentences, max_length=None):
    """Rows of every word of ``sentences``, one unpadded forward per sentence."""
    kw = {"truncation": True, "max_length": max_length} if max_length else {}
    parts = []
    for words in sentences:
        if not words:
            parts.append(np.empty((0, N_LABELS + 16), np.float32))
            continue
        enc = tok(words, is_split_into_words=True, **kw)
        parts.append(
            _own_word_rows(model, layer, enc["input_ids"], enc.word_ids(), len(words))
        )
    return np.concatenate(parts)


@contextmanager
def count_forwards(cls):
    """Number of sentences (batch rows) run through ``cls.forward``, per call."""
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


# -- chunked tokenisation, batches, padding side --------------------------------------
@pytest.mark.parametrize(
    "family, padding_side", [("bert", None), ("llama", "left"), ("gpt2", "left")]
)
def test_token_rows_across_tokenizer_chunks_and_batches(
    family, padding_side, tiny_model_path, monkeypatch
):
    # 2 sentences per tokenizer call: word maps of later chunks are read with
    # their chunk's own word_ids and kept in input order; batches of 3
    # sentences of different lengths are padded (on the left for decoders
    # whose tokenizer says so), yet each word's row is its unpadded one
    import alien_sk.features as features

    monkeypatch.setattr(features, "_TOKENIZE_CHUNK", 2)
    path = tiny_model_path(family, "token")
    model, tok = _load_token(path, family)
    if padding_side is not None:
        tok.padding_side = padding_side
    sub = [tok(w, add_special_tokens=False)["input_ids"] for w in ("xylophonic",)]
    assert len(sub[0]) > 1  # a word split into several sub-tokens
    fe = _extractor(model, tokenizer=tok, level="token", batch_size=3)
    X = fe.fit_transform(SENTENCES)
    assert fe.padding_side_ == (padding_side or "right")
    ref = _reference(model, tok, TOKEN_LAYER[family], SENTENCES)
    assert X.shape == ref.shape == (sum(map(len, SENTENCES)), N_LABELS + 16)
    assert np.isfinite(ref).all()
    np.testing.assert_allclose(X, ref, atol=1e-5)


def test_reference_tables_cover_every_family():
    assert set(TOKEN_LAYER) == set(FAMILIES)


@pytest.mark.parametrize("family, side", CASES)
def test_token_rows_of_every_family(family, side, tiny_model_path):
    # batches of 3 sentences padded (on ``side`` for decoders), some cut at
    # max_length: each word's row is its first sub-token's in the sentence's
    # own unpadded forward, logits and the input of TOKEN_LAYER's layer
    path = tiny_model_path(family, "token")
    model, tok = _load_token(path, family)
    tok.padding_side = side
    fe = _extractor(model, tokenizer=tok, level="token", batch_size=3, max_length=8)
    with pytest.warns(TruncationWarning):
        X = fe.fit_transform(SENTENCES)
    ref = _reference(model, tok, TOKEN_LAYER[family], SENTENCES, max_length=8)
    assert X.shape == ref.shape == (sum(map(len, SENTENCES)), N_LABELS + 16)
    np.testing.assert_array_equal(np.isnan(X), np.isnan(ref))
    assert np.isnan(ref).any() and np.isfinite(ref).all(axis=1).sum() >= 8
    np.testing.assert_allclose(X, ref, atol=1e-5, rtol=0)


def test_token_truncated_sentences_in_one_batch_with_short_ones(
    tiny_model_path, monkeypatch
):
    # sentences longer than max_length in the same batch and chunk as short
    # ones: kept words are read in the truncated forward, cut words are NaN
    import alien_sk.features as features

    monkeypatch.setattr(features, "_TOKENIZE_CHUNK", 3)
    path = tiny_model_path("bert", "token")
    model, tok = _load_token(path, "bert")
    sentences = [
        ["good"],
        ["the", "xylophonic", "movie", "was", "good"],  # the x ##y ... cut
        ["bad", "plot"],
        ["zebras", "a", "b", "c", "d", "e", "f", "g"],
        ["it", "was", "fine"],
    ]
    fe = _extractor(model, tokenizer=tok, level="token", max_length=9, batch_size=5)
    with pytest.warns(TruncationWarning, match="^2 of 5 sentences"):
        X = fe.fit_transform(sentences)
    ref = _reference(model, tok, "classifier", sentences, max_length=9)
    np.testing.assert_array_equal(np.isnan(X), np.isnan(ref))
    assert np.isnan(ref[3:6]).all() and np.isfinite(ref[:3]).all()  # movie was good
    np.testing.assert_allclose(X, ref, atol=1e-5)


def test_token_manual_cut_follows_a_left_truncation_side(tiny_model_path, monkeypatch):
    # a tokenizer that returns a sentence longer than max_length: it is cut on
    # the tokenizer's truncation side (left), the word maps shift with it
    path = tiny_model_path("bert", "token")
    model, tok = _load_token(path, "bert")
    tok.truncation_side = "left"
    fe = _extractor(model, tokenizer=tok, level="token", max_length=4).fit()
    words = ["the", "movie", "was", "good"]
    enc = tok(words, is_split_into_words=True)  # [CLS] the movie was good [SEP]
    original = type(fe._tokenizer).__call__

    def no_truncation(self, *args, **kwargs):
        kwargs["truncation"] = False
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(fe._tokenizer), "__call__", no_truncation)
    with pytest.warns(TruncationWarning, match="1 of 1 sentences"):
        X = fe.transform([words])
    monkeypatch.undo()
    ids, word_ids = enc["input_ids"][-4:], enc.word_ids()[-4:]  # movie was good [SEP]
    ref = _own_word_rows(model, "classifier", ids, word_ids, len(words))
    assert np.isnan(ref[0]).all() and np.isfinite(ref[1:]).all()
    np.testing.assert_array_equal(np.isnan(X), np.isnan(ref))
    np.testing.assert_allclose(X, ref, atol=1e-5)


# -- deduplication and the cache -------------------------------------------------------
def test_token_duplicates_run_once_and_partial_hits_are_served(
    tmp_path, tiny_model_path
):
    path = tiny_model_path("bert", "token")
    model, tok = _load_token(path, "bert")
    ref = {tuple(s): _reference(model, tok, "classifier", [s]) for s in SENTENCES if s}
    first, second = SENTENCES[:4], [["new", "words"], *SENTENCES[::-1]]
    fe = _extractor(path, level="token", cache_dir=tmp_path, batch_size=2)
    with count_forwards(tf.BertForTokenClassification) as calls:
        X1 = fe.fit_transform(first + first)
    assert sum(calls) == 3  # 3 distinct non-empty sentences, each once
    # partial hit: only the sentences not cached yet run, each once
    with count_forwards(tf.BertForTokenClassification) as calls:
        X2 = fe.transform(second)
    assert sum(calls) == 4  # ["new", "words"] and 3 sentences not in `first`
    # a fresh extractor serves every row from the cache, under the right key,
    # the empty sentence's entry of no row too (not taken for a damaged one)
    with (
        warnings.catch_warnings(),
        count_forwards(tf.BertForTokenClassification) as calls,
    ):
        warnings.simplefilter("error")
        X3 = _extractor(path, level="token", cache_dir=tmp_path).fit_transform(second)
    assert calls == []
    np.testing.assert_array_equal(X3, X2)
    np.testing.assert_allclose(
        X1, np.concatenate([ref[tuple(s)] for s in first + first if s]), atol=1e-5
    )
    # the new sentence's rows are its own forward, the others' theirs
    new = _reference(model, tok, "classifier", [["new", "words"]])
    np.testing.assert_allclose(X2[:2], new, atol=1e-5)
    rest = np.concatenate([ref[tuple(s)] for s in SENTENCES[::-1] if s])
    np.testing.assert_allclose(X2[2:], rest, atol=1e-5)


def test_sequence_partial_hits_are_stored_under_their_own_text(
    tmp_path, tiny_model_path
):
    path = tiny_model_path("bert")
    model = tf.AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = tf.AutoTokenizer.from_pretrained(path)
    texts = ["the movie was good", "bad", "a new text", "another new one"]
    _extractor(path, cache_dir=tmp_path).fit_transform(texts[:2])
    _extractor(path, cache_dir=tmp_path).fit_transform(texts)  # 2 hits, 2 misses
    X = _extractor(path, cache_dir=tmp_path).fit_transform(texts[::-1])
    for i, text in enumerate(texts[::-1]):
        with torch.no_grad():
            own = model(**tok(text, return_tensors="pt")).logits[0].numpy()
        np.testing.assert_allclose(X[i, :N_LABELS], own, atol=1e-5)


def test_only_empty_sentences_run_no_forward(tmp_path, tiny_model_path):
    path = tiny_model_path("bert", "token")
    fe = _extractor(path, level="token", cache_dir=tmp_path)
    with count_forwards(tf.BertForTokenClassification) as calls:
        X = fe.fit_transform([[], []])
    assert calls == [] and X.shape == (0, N_LABELS + 16)
    assert fe.cache_info()["n_entries"] == 1


def test_pandas_output_with_an_empty_sentence(tiny_model_path):
    pd = pytest.importorskip("pandas")
    path = tiny_model_path("bert", "token")
    model, tok = _load_token(path, "bert")
    sentences = pd.Series([["good"], [], ["bad", "plot"]], index=["a", "b", "c"])
    fe = _extractor(path, level="token").set_output(transform="pandas")
    df = fe.fit_transform(sentences)
    assert df.index.tolist() == ["a", "c", "c"]
    ref = _reference(model, tok, "classifier", list(sentences))
    np.testing.assert_allclose(df.to_numpy(), ref, atol=1e-5)


# -- input types ---------------------------------------------------------------------
def test_token_inputs_of_various_types(tiny_model_path):
    # a 2-D array of words (sentences of equal length), a Series, tuples and
    # iterators of words all give the rows of the same word lists
    pd = pytest.importorskip("pandas")
    path = tiny_model_path("bert", "token")
    model, tok = _load_token(path, "bert")
    sentences = [["the", "movie"], ["bad", "xylophonic"], ["good", "plot"]]
    ref = _reference(model, tok, "classifier", sentences)
    fe = _extractor(path, level="token").fit()
    inputs = [
        np.array(sentences),
        np.array(sentences, dtype=object),
        pd.Series(sentences),
        tuple(tuple(s) for s in sentences),
        [iter(s) for s in sentences],
        (s for s in sentences),
    ]
    for X in inputs:
        np.testing.assert_allclose(fe.transform(X), ref, atol=1e-5)
    assert fe.sentence_index(np.array(sentences)).tolist() == [0, 0, 1, 1, 2, 2]


def test_unfitted_transform_of_a_generator(tiny_model_path):
    # transform fits on the fly (requires_fit=False): a generator is read once
    path = tiny_model_path("bert")
    model = tf.AutoModelForSequenceClassification.from_pretrained(path).eval()
    tok = tf.AutoTokenizer.from_pretrained(path)
    texts = ["the movie was good", "bad"]
    X = _extractor(path).transform(t for t in texts)
    assert X.shape == (2, N_LABELS + 16)
    for i, text in enumerate(texts):
        with torch.no_grad():
            own = model(**tok(text, return_tensors="pt")).logits[0].numpy()
        np.testing.assert_allclose(X[i, :N_LABELS], own, atol=1e-5)
    words = (s for s in [["good", "movie"], ["bad"]])
    fe = _extractor(tiny_model_path("bert", "token"), level="token")
    assert fe.transform(words).shape == (3, N_LABELS + 16)


def test_sequence_numpy_unicode_array(tiny_model_path):
    path = tiny_model_path("bert")
    fe = _extractor(path).fit()
    texts = ["the movie was good", "bad", "zebras"]
    np.testing.assert_array_equal(
        fe.transform(np.array(texts)), fe.transform(list(texts))
    )


# -- layout ------------------------------------------------------------------------
@pytest.mark.parametrize("family", ["roberta", "gpt2"])
def test_token_layout_and_names(family, tmp_path):
    # 5 labels: n_logits_, embedding_dim_ and the names follow the token head
    from _tiny_models import save_tiny_model

    path = save_tiny_model(family, tmp_path / family, task="token", num_labels=5)
    model, tok = _load_token(path, family)
    fe = _extractor(path, level="token").fit()
    head = model.get_submodule("classifier")
    assert (fe.n_logits_, fe.embedding_dim_) == (5, head.in_features)
    names = fe.get_feature_names_out().tolist()
    assert names == [f"logit_{c}" for c in ("neg", "neu", "pos", "mixed", "other")] + [
        f"emb_{i}" for i in range(head.in_features)
    ]
    X = fe.transform([["good", "movie"]])
    assert X.shape == (2, len(names))
    W, b = head.weight.detach().numpy(), head.bias.detach().numpy()
    np.testing.assert_allclose(X[:, 5:] @ W.T + b, X[:, :5], atol=1e-5)
