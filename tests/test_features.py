# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""FeatureExtractor against the models' own outputs, for every family."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
from _tiny_models import DECODERS, ENCODERS, FAMILIES, TEXTS, build_tiny_model
from sklearn.base import clone
from sklearn.model_selection import GroupKFold

from alien_sk.exceptions import AlienSkWarning, TruncationWarning
from alien_sk.features import FeatureExtractor

torch = pytest.importorskip("torch")
tf = pytest.importorskip("transformers")

N_LABELS = 3
# byte-level BPE tokenizers: word lists need add_prefix_space=True
PREFIX_SPACE = ("roberta", "gpt2", "qwen2", "qwen3", "modernbert")
# decoders whose tiny tokenizer has no pad token (Gemma's has <pad>)
NO_PAD = tuple(f for f in DECODERS if f != "gemma")


def _load(path, task="sequence", padding_side=None):
    auto = (
        tf.AutoModelForTokenClassification
        if task == "token"
        else tf.AutoModelForSequenceClassification
    )
    model = auto.from_pretrained(path, local_files_only=True).eval()
    tok = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)
    if padding_side is not None:
        tok.padding_side = padding_side
    return model, tok


def _extractor(path, **kw):
    kw.setdefault("device", "cpu")
    kw.setdefault("progress_bar", False)
    return FeatureExtractor(path, **kw)


def _single_forward(model, tok, text):
    """Logits of one text, unpadded, straight from the model."""
    ids = tok(text)["input_ids"]
    if not ids:  # GPT-2 / Qwen / Llama tokenize "" to nothing: fed as BOS or EOS
        ids = [tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id]
    with torch.no_grad():
        return model(input_ids=torch.tensor([ids])).logits[0].numpy()


@pytest.mark.parametrize("family", FAMILIES)
def test_rows_equal_model_outputs(family, tiny_model_path):
    """logits == model(**batch).logits; embedding @ W.T + b == logits; per-text rows."""
    path = tiny_model_path(family)
    fe = _extractor(path, batch_size=3)
    X = fe.fit_transform(TEXTS)
    assert X.dtype == np.float32
    assert X.shape == (len(TEXTS), fe.n_logits_ + fe.embedding_dim_)
    assert fe.n_logits_ == N_LABELS
    assert fe.classes_.tolist() == ["neg", "neu", "pos"]
    assert fe.model_type_ == family
    logits, emb = X[:, :N_LABELS], X[:, N_LABELS:]

    model, tok = _load(path)
    # 1. a padded batch through the model's own forward (right padding, pad
    #    token set as users do for decoders)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
        model.config.pad_token_id = tok.pad_token_id
    tok.padding_side = "right"
    nonempty = [i for i, t in enumerate(TEXTS) if tok(t)["input_ids"]]
    batch = tok([TEXTS[i] for i in nonempty], padding=True, return_tensors="pt")
    with torch.no_grad():
        ref = model(**batch).logits.numpy()
    np.testing.assert_allclose(logits[nonempty], ref, atol=1e-5, rtol=0)
    assert np.abs(ref).max() > 0.05  # the comparison is not vacuous

    # 2. the captured embedding is the final linear layer's input
    layer = dict(model.named_modules())[fe.layer_]
    assert isinstance(layer, torch.nn.Linear)
    W = layer.weight.detach().numpy()
    b = 0.0 if layer.bias is None else layer.bias.detach().numpy()
    np.testing.assert_allclose(emb @ W.T + b, logits, atol=1e-5, rtol=0)

    # 3. a text's row does not depend on its batch: single unpadded forwards
    fresh_model, fresh_tok = _load(path)
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(
            logits[i], _single_forward(fresh_model, fresh_tok, text), atol=1e-5, rtol=0
        )


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_decoder_padding_side(family, side, tiny_model_path):
    """Left- and right-padded batches both give the unpadded single-text rows."""
    path = tiny_model_path(family)
    model, tok = _load(path, padding_side=side)
    # the extractor must cope without a pad token
    assert (tok.pad_token is None) == (family in NO_PAD)
    pad, config_pad = tok.pad_token, model.config.pad_token_id
    fe = _extractor(model, tokenizer=tok, batch_size=4)
    X = fe.fit_transform(TEXTS)
    assert fe.padding_side_ == side
    assert tok.pad_token == pad and model.config.pad_token_id == config_pad  # untouched
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(
            X[i, :N_LABELS], _single_forward(model, tok, text), atol=1e-5, rtol=0
        )


def test_loaded_model_equals_path(tiny_model_path):
    path = tiny_model_path("bert")
    model, tok = _load(path)
    a = _extractor(path).fit(TEXTS)
    b = _extractor(model, tokenizer=tok).fit(TEXTS)
    assert a.model_fingerprint_ == b.model_fingerprint_
    np.testing.assert_array_equal(a.transform(TEXTS), b.transform(TEXTS))
    # training mode: the extractor evaluates a copy in eval mode, model untouched
    model.train()
    c = _extractor(model, tokenizer=tok)
    np.testing.assert_allclose(c.fit_transform(TEXTS), a.transform(TEXTS), atol=1e-6)
    assert model.training


def test_order_and_duplicates(tiny_model_path):
    """Length sorting is undone; duplicates get identical rows."""
    fe = _extractor(tiny_model_path("bert"), batch_size=2)
    texts = TEXTS + TEXTS[::-1] + [TEXTS[1]]
    X = fe.fit_transform(texts)
    ref = fe.transform(TEXTS)
    n = len(TEXTS)
    np.testing.assert_allclose(X[:n], ref, atol=1e-6)
    np.testing.assert_allclose(X[n : 2 * n], ref[::-1], atol=1e-6)
    np.testing.assert_array_equal(X[-1], X[1])


@pytest.mark.parametrize("family", FAMILIES)
def test_token_level(family, tiny_model_path):
    """One row per word, read at its first sub-token; sentence index for groups."""
    path = tiny_model_path(family, task="token")
    sentences = [
        ["the", "movie", "was", "xylophonic"],
        ["Zebras", "juggle"],
        ["bad"],
        ["it", "was", "not", "funny", ",", "awful", "plot"],
    ]
    fe = _extractor(path, level="token", batch_size=3)
    X = fe.fit_transform(sentences)
    n_words = sum(len(s) for s in sentences)
    assert X.shape == (n_words, fe.n_logits_ + fe.embedding_dim_)
    groups = fe.sentence_index(sentences)
    assert groups.tolist() == [0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3]

    model, _ = _load(path, task="token")
    prefix = {"add_prefix_space": True} if family in PREFIX_SPACE else {}
    tok = tf.AutoTokenizer.from_pretrained(path, local_files_only=True, **prefix)
    if family in ("qwen2", "qwen3") and tf.__version__.startswith("4."):
        # transformers 4's Qwen2 tokenizer keeps the flag but not its effect;
        # transformers 5 sets it on the ByteLevel step of the pre-tokenizer
        tok.backend_tokenizer.pre_tokenizer[1].add_prefix_space = True
    if family == "modernbert":
        # its generic tokenizer class (PreTrainedTokenizerFast, transformers
        # 5's TokenizersBackend) may keep the flag without its effect too
        tok.backend_tokenizer.pre_tokenizer.add_prefix_space = True
    if prefix:  # the reference splits word lists as running text
        assert (
            tok(["word"], is_split_into_words=True)["input_ids"]
            == tok(" word")["input_ids"]
        )
    layer = dict(model.named_modules())[fe.layer_]
    W, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    row = 0
    for words in sentences:
        enc = tok(words, is_split_into_words=True)
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([enc["input_ids"]])).logits[0].numpy()
        word_ids = enc.word_ids()
        for w in range(len(words)):
            first = word_ids.index(w)
            np.testing.assert_allclose(X[row, : fe.n_logits_], logits[first], atol=1e-5)
            row += 1
    np.testing.assert_allclose(
        X[:, fe.n_logits_ :] @ W.T + b, X[:, : fe.n_logits_], atol=1e-5
    )
    # GroupKFold keeps each sentence's words together
    for train, test in GroupKFold(n_splits=2).split(X, groups=groups):
        assert not set(groups[train]) & set(groups[test])


def test_token_level_truncation_and_empty_sentence(tiny_model_path):
    fe = _extractor(tiny_model_path("bert", task="token"), level="token", max_length=6)
    sentences = [["good"], [], ["a", "b", "c", "d", "e", "f", "g"]]
    with pytest.warns(TruncationWarning, match="1 of 3 sentences"):
        X = fe.fit_transform(sentences)
    assert X.shape[0] == 8
    # [CLS] + 4 words + [SEP] fit in 6 tokens: the last 3 words are cut off
    assert np.isfinite(X[:5]).all()
    assert np.isnan(X[5:]).all()


def test_truncation_warning_counts_texts(tiny_model_path):
    fe = _extractor(tiny_model_path("bert"), max_length=5)
    texts = ["good", "the movie was good and great", "bad", "it was not funny at all"]
    with pytest.warns(TruncationWarning, match=r"^2 of 4 texts .*max_length=5") as rec:
        X = fe.fit_transform(texts)
    assert len([w for w in rec if issubclass(w.category, TruncationWarning)]) == 1
    assert np.isfinite(X).all()
    # the truncated row is the forward of the first 5 tokens
    model, tok = _load(tiny_model_path("bert"))
    ids = tok(texts[1], truncation=True, max_length=5)["input_ids"]
    assert len(ids) == 5
    with torch.no_grad():
        ref = model(input_ids=torch.tensor([ids])).logits[0].numpy()
    np.testing.assert_allclose(X[1, :N_LABELS], ref, atol=1e-5)


def test_max_length_default_and_limit(tiny_model_path):
    fe = _extractor(tiny_model_path("roberta")).fit()
    assert fe.max_length_ == 64  # 66 positions minus RoBERTa's padding offset
    with pytest.raises(ValueError, match="max_length=100 exceeds the 64 tokens"):
        _extractor(tiny_model_path("bert"), max_length=100).fit()


@pytest.mark.parametrize(
    "X, err, match",
    [
        (
            "just one text",
            ValueError,
            "^Iterable over raw text documents expected, string",
        ),
        (None, TypeError, "X is None"),
        ([], ValueError, "X is empty"),
        (["ok", None], TypeError, r"X\[1\] is None"),
        (["ok", "fine", float("nan")], TypeError, r"X\[2\] is NaN"),
        ([3, "ok"], TypeError, r"X\[0\] is of type int"),
        (np.array([["a", "b"]]), ValueError, "1-D sequence of texts"),
        (5, TypeError, "iterable of texts"),
        (["ok", "caf\u00e9", "a\ud800b"], ValueError, r"X\[2\] is not valid Unicode"),
    ],
)
def test_bad_input(X, err, match, tiny_model_path):
    fe = _extractor(tiny_model_path("bert"))
    with pytest.raises(err, match=match):
        fe.fit_transform(X)


@pytest.mark.parametrize(
    "X, err, match",
    [
        (["a", "b"], TypeError, r"X\[0\] is a string; level='token'"),
        ([["a"], None], TypeError, r"X\[1\] is None"),
        ([["a", 1]], TypeError, r"X\[0\]\[1\] is of type int"),
        ([["a", " "]], ValueError, r"X\[0\]\[1\] is an empty or blank word"),
        ([["a"], ["\udc80"]], ValueError, r"X\[1\]\[0\] is not valid Unicode"),
    ],
)
def test_bad_token_input(X, err, match, tiny_model_path):
    fe = _extractor(tiny_model_path("bert", task="token"), level="token")
    with pytest.raises(err, match=match):
        fe.fit_transform(X)


def test_numpy_and_pandas_input(tiny_model_path):
    fe = _extractor(tiny_model_path("bert")).fit()
    ref = fe.transform(TEXTS)
    np.testing.assert_array_equal(fe.transform(np.array(TEXTS, dtype=object)), ref)
    np.testing.assert_array_equal(fe.transform(tuple(TEXTS)), ref)
    pd = pytest.importorskip("pandas")
    np.testing.assert_array_equal(fe.transform(pd.Series(TEXTS)), ref)
    with pytest.raises(ValueError, match="2-D table"):
        fe.transform(pd.DataFrame({"text": TEXTS}))


def test_model_errors(tmp_path, tiny_model_path):
    with pytest.raises(ValueError, match="does not exist or is not a folder"):
        _extractor(str(tmp_path / "missing")).fit()
    with pytest.raises(ValueError, match="could not load a transformers config"):
        _extractor(str(tmp_path)).fit()  # a folder without a model
    model, tok = _load(tiny_model_path("bert"))
    with pytest.raises(ValueError, match="tokenizer is required"):
        _extractor(model).fit()
    # an unknown family names the supported ones
    cfg = tf.XLNetConfig(
        vocab_size=30, d_model=16, n_layer=1, n_head=2, d_inner=16, num_labels=2
    )
    xlnet = tf.XLNetForSequenceClassification(cfg).eval()
    with pytest.raises(
        ValueError, match="model_type='xlnet'; supported model types: albert, bert, "
    ):
        _extractor(xlnet, tokenizer=tok).fit()
    # a sequence model used at token level: its token head would be random
    with (
        pytest.warns(AlienSkWarning, match="randomly initialised"),
        pytest.raises(ValueError, match="use level='sequence'"),
    ):
        _extractor(tiny_model_path("roberta"), level="token").fit()


def test_invalid_params(tiny_model_path):
    with pytest.raises(ValueError, match="batch_size"):
        _extractor(tiny_model_path("bert"), batch_size=0).fit()
    with pytest.raises(ValueError, match="level"):
        _extractor(tiny_model_path("bert"), level="word").fit()
    with pytest.raises(ValueError, match="CUDA is not available|cuda"):
        if torch.cuda.is_available():
            pytest.skip("CUDA present")
        _extractor(tiny_model_path("bert"), device="cuda").fit()


def test_api_tags_names_and_unfitted(tiny_model_path):
    path = tiny_model_path("bert")
    fe = _extractor(path)
    tags = fe.__sklearn_tags__()
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    assert not tags.requires_fit
    X = fe.transform(TEXTS[:2])  # requires_fit=False: transform fits on the fly
    assert X.shape == (2, fe.n_features_out_)
    names = fe.get_feature_names_out()
    assert names.tolist()[:4] == ["logit_neg", "logit_neu", "logit_pos", "emb_0"]
    assert names[-1] == f"emb_{fe.embedding_dim_ - 1}"
    assert len(names) == fe.n_features_out_ == 3 + 16
    unfitted = _extractor(path)
    with pytest.raises(Exception, match="not fitted"):
        unfitted.get_feature_names_out()


def test_pandas_output(tiny_model_path):
    pd = pytest.importorskip("pandas")
    fe = _extractor(tiny_model_path("bert")).set_output(transform="pandas")
    df = fe.fit_transform(TEXTS[:2])
    names = fe.get_feature_names_out()
    assert isinstance(df, pd.DataFrame) and list(df.columns) == names.tolist()


def test_pandas_output_token_level_repeats_the_sentence_index(tiny_model_path):
    pd = pytest.importorskip("pandas")
    path = tiny_model_path("bert", task="token")
    sentences = pd.Series(
        [["the", "movie"], ["good"], ["a", "b", "c"]], index=[10, 11, 12]
    )
    fe = _extractor(path, level="token").set_output(transform="pandas")
    df = fe.fit_transform(sentences)
    assert df.index.tolist() == [10, 10, 11, 12, 12, 12]
    assert list(df.columns) == fe.get_feature_names_out().tolist()
    plain = _extractor(path, level="token").fit_transform(list(sentences))
    np.testing.assert_array_equal(df.to_numpy(), plain)
    # a list input keeps the default index
    assert fe.transform(list(sentences)).index.tolist() == list(range(6))


def test_fit_does_not_modify_params(tiny_model_path):
    model, tok = _load(tiny_model_path("gpt2"))
    fe = _extractor(model, tokenizer=tok, dtype="float32")
    before = joblib.hash(fe.get_params())
    fe.fit_transform(TEXTS)
    assert joblib.hash(fe.get_params()) == before


def test_pickle_clone_joblib_reload_lazily(tmp_path, tiny_model_path):
    path = tiny_model_path("qwen2")
    fe = _extractor(path).fit()
    ref = fe.transform(TEXTS)
    state = fe.__getstate__()
    assert "_model" not in state and "_tokenizer" not in state
    blob = pickle.dumps(fe)
    assert len(blob) < 5000  # no weights inside
    joblib.dump(fe, tmp_path / "fe.joblib")
    loaded = joblib.load(tmp_path / "fe.joblib")
    assert getattr(loaded, "_model", None) is None
    np.testing.assert_array_equal(loaded.transform(TEXTS), ref)
    assert loaded._model is not None  # reloaded on demand
    cloned = clone(fe)
    assert not hasattr(cloned, "model_fingerprint_")
    np.testing.assert_array_equal(cloned.fit_transform(TEXTS), ref)


def test_reload_detects_changed_model(tmp_path):
    from _tiny_models import save_tiny_model

    path = save_tiny_model("bert", tmp_path / "m", seed=0)
    fe = _extractor(path).fit()
    blob = pickle.dumps(fe)
    save_tiny_model("bert", tmp_path / "m", seed=1)  # overwrite the weights
    with pytest.raises(ValueError, match="differs from the one this FeatureExtractor"):
        pickle.loads(blob).transform(TEXTS)


def test_dtype_bfloat16(tiny_model_path):
    path = tiny_model_path("llama")
    fe32 = _extractor(path).fit()
    fe16 = _extractor(path, dtype="bfloat16").fit()
    assert fe16.dtype_ == "torch.bfloat16"
    X32, X16 = fe32.transform(TEXTS), fe16.transform(TEXTS)
    assert X16.dtype == np.float32
    np.testing.assert_allclose(X16, X32, atol=0.2)
    assert fe32.model_fingerprint_ != fe16.model_fingerprint_


def test_bfloat16_folder_and_cast_object_do_not_share_rows(tmp_path, tiny_model_path):
    # from_pretrained(dtype=bf16) keeps Llama's rotary inv_freq (a buffer
    # outside the state_dict) in float32; model.to(bf16) casts it, and the
    # rows differ by ~0.02. Both got one fingerprint, so a shared cache
    # served one's rows to the other.
    import torch

    path = tiny_model_path("llama")
    model32, tok = _load(path)
    text = [
        "it is not funny and the plot was awful , awful , awful . the movie was good"
    ]
    cache = str(tmp_path / "cache")
    folder = _extractor(path, dtype="bfloat16", cache_dir=cache).fit()
    obj = _extractor(model32, tokenizer=tok, dtype="bfloat16", cache_dir=cache).fit()
    # the same weights (a predictor saved from one loads from the other),
    # but not the same cache namespace
    assert folder.model_fingerprint_ == obj.model_fingerprint_
    assert folder._get_store().namespace != obj._get_store().namespace
    with pytest.warns(TruncationWarning):  # 66 tokens, 64 kept
        X_folder = folder.transform(text)
    # the object's rows: its own computation, not the folder's cached rows
    cast = tf.AutoModelForSequenceClassification.from_pretrained(path).eval()
    cast = cast.to(torch.bfloat16)
    with torch.no_grad():
        enc = tok(text, truncation=True, max_length=64, return_tensors="pt")
        ref = cast(**enc).logits.float().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        X_obj = obj.transform(text)
    np.testing.assert_array_equal(X_obj[:, :3], ref)
    assert np.abs(X_obj - X_folder).max() > 1e-3  # the two really differ
    # float32 models' fingerprints are unchanged (their caches stay valid):
    # weights and config only, as before the buffers were considered
    from alien_sk.features import _config_json, _sha256_tensors

    h = _sha256_tensors(model32)
    h.update(_config_json(model32).encode())
    assert _extractor(model32, tokenizer=tok).fit().model_fingerprint_ == h.hexdigest()


def test_roberta_max_length_follows_pad_token_id(tmp_path):
    # RoBERTa's positions run from pad_token_id + 1: with pad_token_id=3 and
    # 66 position embeddings a text may have 62 tokens, not 64 (the
    # default max_length crashed with "index 66 is out of bounds")
    import torch
    from _tiny_models import build_config, build_tokenizer

    tok = build_tokenizer("roberta")  # model_max_length=64
    cfg = build_config("roberta", len(tok), pad_token_id=3)
    assert cfg.max_position_embeddings == 66
    torch.manual_seed(0)
    model = tf.AutoModelForSequenceClassification.from_config(cfg).eval()
    fe = _extractor(model, tokenizer=tok).fit()
    assert fe.max_length_ == 62
    text = ["the movie was good " * 40]
    X = fe.transform(text)
    enc = tok(text, truncation=True, max_length=62, return_tensors="pt")
    with torch.no_grad():
        ref = model(**enc).logits.numpy()
    np.testing.assert_allclose(X[:, :3], ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="max_length=63 exceeds the 62 tokens"):
        _extractor(model, tokenizer=tok, max_length=63).fit()
    # the usual pad_token_id=1 keeps the usual 64
    cfg1 = build_config("roberta", len(tok), pad_token_id=1)
    model1 = tf.AutoModelForSequenceClassification.from_config(cfg1).eval()
    assert _extractor(model1, tokenizer=tok).fit().max_length_ == 64


def test_random_head_warns(tmp_path, tiny_model_path):
    """A checkpoint without classifier weights gets a clear warning."""
    model, tok = _load(tiny_model_path("bert"))
    model.bert.save_pretrained(tmp_path)  # the encoder only
    tok.save_pretrained(tmp_path)
    with pytest.warns(AlienSkWarning, match="randomly initialised"):
        _extractor(str(tmp_path)).fit()


def test_progress_bar(capsys, tiny_model_path):
    fe = _extractor(tiny_model_path("bert"), progress_bar=True)
    fe.fit_transform(TEXTS)
    assert "FeatureExtractor" in capsys.readouterr().err
    fe = _extractor(tiny_model_path("bert"), progress_bar="auto")  # not a tty here
    fe.fit_transform(TEXTS)
    assert "FeatureExtractor" not in capsys.readouterr().err


def test_build_tiny_model_helper():
    model, tok = build_tiny_model("distilbert", task="token", num_labels=5)
    assert model.config.num_labels == 5 and not model.training
    assert tok.model_max_length == 64
    assert set(ENCODERS) | set(DECODERS) == set(FAMILIES)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tok(["a b c"])


@pytest.mark.gpu
def test_cuda_matches_cpu(tiny_model_path):
    path = tiny_model_path("llama")
    X_cpu = _extractor(path).fit_transform(TEXTS)
    fe = _extractor(path, device="auto").fit()
    assert fe.device_.type == "cuda"
    np.testing.assert_allclose(fe.transform(TEXTS), X_cpu, atol=1e-4)


def test_tokenizer_settings_are_part_of_the_cache_key(tmp_path, tiny_model_path):
    # truncation_side changes the ids of a truncated text: a cached row of the
    # right-truncated text must not be served for the left-truncated one
    path = tiny_model_path("bert")
    model, tok_right = _load(path)
    _, tok_left = _load(path)
    tok_left.truncation_side = "left"
    text = [" ".join(["good", "bad", "movie", "plot"] * 10)]
    kw = dict(max_length=8, cache_dir=tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TruncationWarning)
        right = _extractor(model, tokenizer=tok_right, **kw).fit_transform(text)
        left = _extractor(model, tokenizer=tok_left, **kw).fit_transform(text)
        fresh = _extractor(model, tokenizer=tok_left, max_length=8).fit_transform(text)
    ids = tok_left(text, truncation=True, max_length=8)["input_ids"]
    with torch.no_grad():
        expected = model(input_ids=torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(left[:, :N_LABELS], expected, atol=1e-5)
    np.testing.assert_array_equal(left, fresh)
    assert np.abs(left - right).max() > 1e-3


@pytest.mark.parametrize("change", ["weights", "train_mode", "new_parameter"])
def test_shared_model_changed_after_fit_is_refused(change, tmp_path, tiny_model_path):
    path = tiny_model_path("bert")
    model, tok = _load(path)
    fe = _extractor(model, tokenizer=tok, cache_dir=tmp_path).fit()
    before = fe.transform(TEXTS[:2])
    if change == "weights":
        with torch.no_grad():
            model.classifier.weight.mul_(3.0)
    elif change == "train_mode":
        model.train()
    else:
        model.classifier.weight = torch.nn.Parameter(model.classifier.weight * 3.0)
    with pytest.raises(ValueError, match="changed after fit"):
        fe.transform(TEXTS[:2])
    # a refit keys the new weights apart: rows of the new model, not the cache's
    if change != "train_mode":
        after = fe.fit().transform(TEXTS[:2])
        assert np.abs(after[:, :N_LABELS] - before[:, :N_LABELS]).max() > 1e-3
        with torch.no_grad():
            ref = _single_forward(model.eval(), tok, TEXTS[0])
        np.testing.assert_allclose(after[0, :N_LABELS], ref, atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "llama"])
def test_level_must_match_the_classification_task(family, tiny_model_path):
    # BERT and Llama name the final layer alike for both tasks, and a decoder
    # token classifier would even yield a plausible last-token row
    from alien_sk.deploy import _final_linear

    token_path = tiny_model_path(family, task="token")
    seq_path = tiny_model_path(family)
    with warnings.catch_warnings():
        # loading across tasks leaves weights random (BERT's pooler, Llama's
        # token-head bias): warned about before the error
        warnings.simplefilter("ignore", AlienSkWarning)
        with pytest.raises(ValueError, match="token classification model.*'token'"):
            _extractor(token_path, level="sequence").fit()
        with pytest.raises(ValueError, match="sequence classification model.*'seq"):
            _extractor(seq_path, level="token").fit()
    model, tok = _load(token_path, task="token")
    with pytest.raises(ValueError, match="token classification model"):
        _extractor(model, tokenizer=tok, level="sequence").fit()
    with pytest.raises(ValueError, match="token classification model"):
        _final_linear(model, "sequence")


def test_words_without_tokens_warn_and_get_nan(tiny_model_path):
    # BERT's normaliser deletes a lone soft hyphen: the word never reaches
    # the model; its row is NaN and a warning names it
    fe = _extractor(tiny_model_path("bert", task="token"), level="token")
    sentences = [["the", "movie", "\u00ad", "was", "good"], ["good", "\u00ad"]]
    with pytest.warns(AlienSkWarning, match=r"2 words map to no token.*word 2"):
        X = fe.fit_transform(sentences)
    nan_rows = np.flatnonzero(np.isnan(X).any(axis=1))
    np.testing.assert_array_equal(nan_rows, [2, 6])
    assert np.isfinite(np.delete(X, [2, 6], axis=0)).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _extractor(tiny_model_path("bert", task="token"), level="token").fit_transform(
            [["the", "movie"]]
        )


@pytest.mark.parametrize("family", PREFIX_SPACE)
def test_token_level_byte_bpe_tokenizer_needs_prefix_space(family, tiny_model_path):
    path = tiny_model_path(family, task="token")
    model, _ = _load(path, task="token")
    plain = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)
    with pytest.raises(ValueError, match="needs add_prefix_space=True"):
        _extractor(model, tokenizer=plain, level="token").fit()
    spaced = tf.AutoTokenizer.from_pretrained(
        path, local_files_only=True, add_prefix_space=True
    )
    sentences = [["the", "movie", "was", "good"]]
    from_object = _extractor(model, tokenizer=spaced, level="token")
    from_path = _extractor(path, level="token")
    np.testing.assert_array_equal(
        from_object.fit_transform(sentences), from_path.fit_transform(sentences)
    )


def test_prefix_space_flag_without_effect_is_applied(tiny_model_path):
    # transformers 4's Qwen2 tokenizer stores add_prefix_space=True but its
    # ByteLevel step still drops the space; built here by hand on any version.
    # The extractor must tokenize word lists as running text (" word"), as it
    # does for a tokenizer that applies the flag, and leave the object alone.
    path = tiny_model_path("qwen2", task="token")
    model, _ = _load(path, task="token")
    spaced = tf.AutoTokenizer.from_pretrained(
        path, local_files_only=True, add_prefix_space=True
    )
    # the reference applies the flag (set by hand where transformers 4 does not)
    spaced.backend_tokenizer.pre_tokenizer[1].add_prefix_space = True
    assert (
        spaced(["movie"], is_split_into_words=True)["input_ids"]
        == spaced(" movie")["input_ids"]
    )
    broken = tf.AutoTokenizer.from_pretrained(
        path, local_files_only=True, add_prefix_space=True
    )
    broken.backend_tokenizer.pre_tokenizer[1].add_prefix_space = False
    ids = broken(["movie"], is_split_into_words=True)["input_ids"]
    assert ids != broken(" movie")["input_ids"]
    sentences = [["the", "movie", "was", "good"], ["bad"]]
    expected = _extractor(model, tokenizer=spaced, level="token").fit_transform(
        sentences
    )
    got = _extractor(model, tokenizer=broken, level="token").fit_transform(sentences)
    np.testing.assert_array_equal(got, expected)
    assert broken(["movie"], is_split_into_words=True)["input_ids"] == ids


def test_tokenizer_asserting_on_word_lists_gets_the_prefix_space_error(
    tiny_model_path,
):
    # transformers 4's GPT-2/RoBERTa fast tokenizers raise AssertionError on
    # word lists without add_prefix_space: the user gets the extractor's advice
    path = tiny_model_path("gpt2", task="token")
    model, _ = _load(path, task="token")
    plain = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)

    class Asserting(type(plain)):
        def __call__(self, text, *args, is_split_into_words=False, **kwargs):
            assert not is_split_into_words, "instantiate with add_prefix_space=True"
            return super().__call__(text, *args, **kwargs)

    plain.__class__ = Asserting
    with pytest.raises(ValueError, match="needs add_prefix_space=True"):
        _extractor(model, tokenizer=plain, level="token").fit()


def test_extractor_pickled_with_a_legacy_tokenizer_fingerprint(
    tmp_path, tiny_model_path
):
    # objects fitted by alien_sk 0.1.0 hold a tokenizer fingerprint without
    # the runtime settings: they reload, and keep reading their cache
    from alien_sk.features import _tokenizer_fingerprint

    path = tiny_model_path("bert")
    fe = _extractor(path, cache_dir=tmp_path).fit()
    fe._ensure_model()  # fit may have reused an earlier fit's layout
    fe.tokenizer_fingerprint_ = _tokenizer_fingerprint(fe._tokenizer, legacy=True)
    fe._store = None
    cached = fe.transform(TEXTS[:2])
    again = pickle.loads(pickle.dumps(fe))
    np.testing.assert_array_equal(again.transform(TEXTS[:2]), cached)
    fresh = _extractor(path).fit_transform(TEXTS[:3])
    np.testing.assert_allclose(again.transform(TEXTS[:3]), fresh, atol=1e-6)


def test_model_object_is_judged_by_its_own_class(tiny_model_path):
    # a token classifier built in memory from a sequence checkpoint keeps
    # the checkpoint's architectures in its config; its class decides
    path = tiny_model_path("bert")
    model = tf.AutoModelForTokenClassification.from_pretrained(
        path, local_files_only=True
    ).eval()
    assert model.config.architectures == ["BertForSequenceClassification"]
    tok = tf.AutoTokenizer.from_pretrained(path, local_files_only=True)
    X = _extractor(model, tokenizer=tok, level="token").fit_transform([["a", "b"]])
    assert X.shape == (2, model.config.num_labels + model.config.hidden_size)


def test_shared_model_cast_in_place_is_refused(tiny_model_path):
    path = tiny_model_path("bert")
    model, tok = _load(path)
    fe = _extractor(model, tokenizer=tok).fit()
    fe.transform(TEXTS[:1])
    model.half()  # same parameters, same versions, new dtype and storage
    with pytest.raises(ValueError, match="changed after fit"):
        fe.transform(TEXTS[:1])


# texts ending with the EOS token, one holding it inside, one made of it alone
# and the empty text (fed as one BOS/EOS token): where a decoder pools
EOS_TEXTS = ["the movie was good{eos}", "bad{eos}", "a{eos} b", "{eos}", "", "plot"]


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_decoder_pools_where_the_model_does(family, side, tiny_model_path):
    """Rows equal the model's own unpadded logits, trailing pad_token_id or not.

    transformers' decoders pool at the last token that is not
    ``config.pad_token_id`` (EOS here, as usually set for fine-tuning), and
    at the last token when the config has none.
    """
    path = tiny_model_path(family)
    rows = {}
    for config_pad in (True, False):
        model, tok = _load(path, padding_side=side)
        texts = [t.format(eos=tok.eos_token) for t in EOS_TEXTS]
        if config_pad:
            tok.pad_token = tok.eos_token
            model.config.pad_token_id = tok.pad_token_id
        else:  # Gemma's config has a pad id of its own (<pad>)
            model.config.pad_token_id = None
        fe = _extractor(model, tokenizer=tok, batch_size=3)
        X = fe.fit_transform(texts)
        assert model.config.pad_token_id == (tok.eos_token_id if config_pad else None)
        for i, text in enumerate(texts):
            own = _single_forward(model, tok, text)
            np.testing.assert_allclose(X[i, :N_LABELS], own, atol=1e-5, rtol=0)
        rows[config_pad] = X
    # the two rules differ where a text ends with EOS, not elsewhere
    assert np.abs(rows[True][0] - rows[False][0]).max() > 1e-3
    np.testing.assert_allclose(rows[True][-1], rows[False][-1], atol=1e-5)


def test_set_params_level_or_cache_dir_after_fit_needs_fit(tmp_path, tiny_model_path):
    """transform uses what fit loaded: a level or cache_dir set since is refused."""
    token_path, seq_path = tiny_model_path("bert", "token"), tiny_model_path("bert")
    fe = _extractor(token_path, level="token").fit()
    fe.set_params(level="sequence")
    # (it used to serve the token classifier's [SEP] row for each text)
    with pytest.raises(ValueError, match="fitted with level='token'.*call fit"):
        fe.transform(["the movie", "bad"])
    # a new fit loads the sequence classifier: its own logits
    X = fe.set_params(model=seq_path).fit().transform(["the movie", "bad"])
    model, tok = _load(seq_path)
    for i, text in enumerate(["the movie", "bad"]):
        np.testing.assert_allclose(
            X[i, :N_LABELS], _single_forward(model, tok, text), atol=1e-5
        )
    fe = _extractor(seq_path).fit()
    fe.set_params(level="token")
    # (it used to raise an IndexError from the sequence classifier's output)
    with pytest.raises(ValueError, match="fitted with level='sequence'"):
        fe.transform([["the", "movie"], ["bad"]])

    first, second = tmp_path / "first", tmp_path / "second"
    fe = _extractor(seq_path, cache_dir=first).fit()
    fe.transform(["a"])
    fe.set_params(cache_dir=second)
    for call in (lambda: fe.transform(["b"]), fe.cache_info, fe.clear_cache):
        with pytest.raises(ValueError, match="fitted with cache_dir=.*first"):
            call()
    assert not second.exists() and first.exists()
    X = fe.fit().transform(["b"])
    assert fe.cache_info()["path"].startswith(str(second))
    assert fe.cache_info()["n_entries"] == 1
    np.testing.assert_allclose(
        X[0, :N_LABELS], _single_forward(model, tok, "b"), atol=1e-5
    )
    # the same folder as a path-like object is no change
    fe.set_params(cache_dir=str(second))
    fe.transform(["b"])


@pytest.mark.parametrize("level", ["sequence", "token"])
def test_max_length_must_exceed_the_special_tokens(level, tiny_model_path):
    # BERT adds [CLS] and [SEP]: a limit of 2 leaves no room for text, and the
    # tokenizer then truncated nothing (a long text crashed the model)
    path = tiny_model_path("bert", level)
    for max_length in (1, 2):
        with pytest.raises(ValueError, match=rf"max_length={max_length} .*adds 2 sp"):
            _extractor(path, max_length=max_length, level=level).fit()
    if level == "sequence":
        model, tok = _load(path)
        long = " ".join(["zebras"] * 40)
        with pytest.warns(TruncationWarning, match="1 of 1 texts"):
            X = _extractor(path, max_length=3).fit_transform([long])
        ids = tok(long)["input_ids"]
        with torch.no_grad():  # [CLS], the first token, [SEP]
            ref = model(input_ids=torch.tensor([[ids[0], ids[1], ids[-1]]])).logits
        np.testing.assert_allclose(X[0, :N_LABELS], ref[0].numpy(), atol=1e-5)


@pytest.mark.parametrize("level", ["sequence", "token"])
def test_encoding_the_tokenizer_left_too_long_is_cut_and_counted(
    level, tiny_model_path, monkeypatch
):
    # should a tokenizer return a text longer than max_length (as it does when
    # the special tokens alone fill it), the text is cut and counted as
    # truncated instead of being fed past max_length
    path = tiny_model_path("bert", level)
    fe = _extractor(path, level=level, max_length=3).fit()
    fe._ensure_model()  # fit may have reused an earlier fit's layout
    model, tok = _load(path, task=level)
    original = type(fe._tokenizer).__call__

    def no_truncation(self, *args, **kwargs):
        kwargs["truncation"] = False
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(fe._tokenizer), "__call__", no_truncation)
    text = ["the", "movie", "was"] if level == "token" else "the movie was"
    kw = {"is_split_into_words": True} if level == "token" else {}
    ids = tok(text, **kw)["input_ids"]
    assert len(ids) == 5
    with pytest.warns(TruncationWarning, match="1 of 1"):
        X = fe.transform([text])
    with torch.no_grad():  # [CLS], "the", "movie"
        ref = model(input_ids=torch.tensor([ids[:3]])).logits[0].numpy()
    if level == "sequence":
        np.testing.assert_allclose(X[0, :N_LABELS], ref, atol=1e-5)
    else:  # words read at their tokens; the word cut off is NaN
        np.testing.assert_allclose(X[:2, :N_LABELS], ref[1:3], atol=1e-5)
        assert np.isnan(X[2]).all()


def test_fit_transform_reads_an_iterator_once(tiny_model_path):
    path = tiny_model_path("bert")
    X = _extractor(path).fit_transform(t for t in TEXTS)
    model, tok = _load(path)
    assert X.shape[0] == len(TEXTS)
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(
            X[i, :N_LABELS], _single_forward(model, tok, text), atol=1e-5
        )
    words = iter([["the", "movie"], ["bad"]])
    X = _extractor(tiny_model_path("bert", "token"), level="token").fit_transform(words)
    assert X.shape[0] == 3


@pytest.mark.parametrize("family", ["bert", "llama"])
def test_tokenized_in_chunks_same_rows(family, tiny_model_path, monkeypatch):
    """Chunked tokenization keeps order, dedup, sorting, warnings and rows."""
    import alien_sk.features as features

    monkeypatch.setattr(features, "_TOKENIZE_CHUNK", 3)
    path = tiny_model_path(family)
    model, tok = _load(path)
    calls = []
    original = type(tok).__call__

    def spy(self, text, *args, **kwargs):
        calls.append(len(text) if isinstance(text, list) else 1)
        return original(self, text, *args, **kwargs)

    long = " ".join(["good movie"] * 40)
    texts = TEXTS + [long] + TEXTS[::-1] + [long + " bad"]
    n_long = sum(len(tok(t)["input_ids"]) > 20 for t in set(texts))
    assert n_long >= 2
    fe = _extractor(path, batch_size=4, max_length=20).fit()
    monkeypatch.setattr(type(tok), "__call__", spy)
    with pytest.warns(TruncationWarning, match=rf"^{n_long} of 9 texts") as rec:
        X = fe.transform(texts)
    monkeypatch.undo()
    assert len([w for w in rec if issubclass(w.category, TruncationWarning)]) == 1
    assert calls and max(calls) <= 3  # 9 distinct texts, 3 at a time
    for i, text in enumerate(texts):
        ids = tok(text, truncation=True, max_length=20)["input_ids"]
        if not ids:  # as _single_forward
            ids = [
                tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
            ]
        with torch.no_grad():
            ref = model(input_ids=torch.tensor([ids])).logits[0].numpy()
        np.testing.assert_allclose(X[i, :N_LABELS], ref, atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_transform_from_several_threads(family, tmp_path, tiny_model_path):
    # a run's hooks sit on the shared final layer (and a decoder's pad id on
    # the shared config): runs that overlapped read each other's rows, and
    # stored them in the cache. Reference: one thread, no cache.
    from concurrent.futures import ThreadPoolExecutor

    path = tiny_model_path(family)
    texts = [f"{t} {i}" for i in range(12) for t in TEXTS]
    ref = FeatureExtractor(path, progress_bar=False).fit_transform(texts)
    chunks = [texts[i::4] for i in range(4)]
    for cache_dir in (None, tmp_path / "cache"):
        # unpickled: the model also loads lazily, once, in the threads
        fe = pickle.loads(
            pickle.dumps(
                FeatureExtractor(
                    path, cache_dir=cache_dir, batch_size=1, progress_bar=False
                ).fit()
            )
        )
        with ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(fe.transform, chunks))
        for i, out in enumerate(outs):
            np.testing.assert_allclose(out, ref[i::4], rtol=1e-5, atol=1e-6)
    # and the rows stored in the cache are the right ones
    cached = FeatureExtractor(path, cache_dir=tmp_path / "cache", progress_bar=False)
    np.testing.assert_allclose(cached.fit_transform(texts), ref, rtol=1e-5, atol=1e-6)
    assert cached.cache_info()["n_entries"] == len(texts)


def test_tokenizer_of_another_model_is_refused_at_fit(tiny_model_path):
    # GPT-2's tiny tokenizer has more tokens than the tiny BERT's embedding
    # table: transform used to fail with an IndexError from inside torch
    from transformers import AutoTokenizer

    bert, gpt2 = tiny_model_path("bert"), tiny_model_path("gpt2")
    n_bert = tf.AutoConfig.from_pretrained(bert).vocab_size
    n_gpt2 = len(AutoTokenizer.from_pretrained(gpt2))
    assert n_gpt2 > n_bert
    fe = FeatureExtractor(bert, tokenizer=gpt2, progress_bar=False)
    with pytest.raises(
        ValueError,
        match=f"has {n_gpt2} tokens but the model's input embeddings only {n_bert}",
    ):
        fe.fit()


def test_python_tokenizer_arguments_are_part_of_the_cache_key(
    tmp_path, tiny_model_path
):
    # a python ("slow") tokenizer normalises text by its arguments: with
    # strip_accents=True "café" becomes "cafe" pieces, otherwise [UNK]; the
    # second extractor used to be served the first one's cached rows
    model, fast = _load(tiny_model_path("bert"))
    vocab = tmp_path / "vocab.txt"
    pieces = sorted(fast.get_vocab().items(), key=lambda kv: kv[1])
    vocab.write_text("\n".join(p for p, _ in pieces) + "\n", encoding="utf-8")
    slow = getattr(tf, "BertTokenizerLegacy", None) or tf.BertTokenizer
    keep, strip = (slow(str(vocab), strip_accents=s) for s in (False, True))
    assert not keep.is_fast
    texts = ["café résumé"]
    assert keep(texts)["input_ids"] != strip(texts)["input_ids"]
    cache = tmp_path / "cache"
    rows = {}
    for name, tok in (("keep", keep), ("strip", strip)):
        rows[name] = _extractor(model, tokenizer=tok, cache_dir=cache).fit_transform(
            texts
        )
        # reference: the model's own logits on this tokenizer's ids
        np.testing.assert_allclose(
            rows[name][0, :N_LABELS],
            _single_forward(model, tok, texts[0]),
            atol=1e-5,
        )
    assert np.abs(rows["keep"] - rows["strip"]).max() > 1e-4


def test_refitting_an_unchanged_folder_loads_the_model_only_when_needed(
    tmp_path, tiny_model_path, monkeypatch
):
    # GridSearchCV fits one clone per candidate and fold: each used to load
    # and hash the model again, even with every row already cached
    import gc
    import os
    import shutil
    import weakref

    from sklearn.model_selection import GridSearchCV

    from alien_sk.baselines import Entropy
    from alien_sk.pipeline import UncertaintyPipeline

    path = tmp_path / "model"
    shutil.copytree(tiny_model_path("bert"), path)
    loads = []
    auto = tf.AutoModelForSequenceClassification
    load = auto.from_pretrained
    monkeypatch.setattr(
        auto, "from_pretrained", lambda *a, **k: loads.append(1) or load(*a, **k)
    )
    texts = [f"{t} {i}" for i in range(4) for t in TEXTS]
    fe = _extractor(str(path), cache_dir=tmp_path / "cache")
    X = fe.fit_transform(texts)
    assert len(loads) == 1
    # the model is not kept alive by the memo
    model = weakref.ref(fe._model)
    del fe
    gc.collect()
    assert model() is None
    # an identical extractor: no load while the cache holds every row
    again = _extractor(str(path), cache_dir=tmp_path / "cache").fit()
    assert len(loads) == 1
    np.testing.assert_array_equal(again.transform(texts), X)
    assert len(loads) == 1
    # a new text loads the model, checked against the fingerprint fit reused
    new = again.transform(["an unseen text"])
    assert len(loads) == 2
    reference = _extractor(str(path)).fit_transform(["an unseen text"])
    np.testing.assert_allclose(new, reference, atol=1e-6)
    # a grid search over the cached texts loads nothing
    y = np.arange(len(texts)) % N_LABELS
    pipe = UncertaintyPipeline(
        [
            ("feat", _extractor(str(path), cache_dir=tmp_path / "cache")),
            ("ent", Entropy(n_logits=N_LABELS)),
        ]
    )
    GridSearchCV(pipe, {"ent__n_logits": [N_LABELS, N_LABELS]}, cv=2).fit(texts, y)
    assert len(loads) == 3  # the reference extractor above, without cache
    # another setting, or a file of the folder rewritten, loads again
    _extractor(str(path), cache_dir=tmp_path / "cache", max_length=16).fit()
    assert len(loads) == 4
    config = path / "config.json"
    stat = config.stat()
    os.utime(config, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    _extractor(str(path), cache_dir=tmp_path / "cache").fit()
    assert len(loads) == 5


def test_token_type_ids_only_reach_a_model_that_takes_them(tmp_path):
    # a BERT tokenizer returns token_type_ids; DistilBERT's and ModernBERT's
    # forward has no such argument, and failed with a TypeError on
    # transformers 4. Rows equal the model's own run without them.
    import torch
    from _tiny_models import build_tokenizer, save_tiny_model

    bert_tok = build_tokenizer("bert")
    path = save_tiny_model("distilbert", tmp_path / "d")
    model, _ = _load(path)
    assert "token_type_ids" in bert_tok(["a b"])
    assert len(bert_tok) == model.config.vocab_size  # the same WordPiece vocabulary
    X = _extractor(model, tokenizer=bert_tok, batch_size=3).fit_transform(TEXTS)
    for i, text in enumerate(TEXTS):
        enc = bert_tok([text], return_tensors="pt")
        with torch.no_grad():
            own = model(enc["input_ids"], attention_mask=enc["attention_mask"])
        np.testing.assert_allclose(X[i, :3], own.logits[0].numpy(), atol=1e-5)
