# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Deployment: head module, wrapped classifier, predictor, save/load, export.

References: a numpy re-implementation of the head (``alien_sk._utils``'s
normalised entropy of ``logits + f(embedding)``), the model's own logits, and
``FeatureExtractor`` + ``predict_uncertainty`` (the issue's reference).

Tolerances: the classifier runs in float32. Rows of the reference and of the
predictor come from batches of different composition (``FeatureExtractor``
deduplicates texts), hence different padding lengths and float32 summation
orders: logits differ by a few float32 ulps (measured ~1e-6 on these tiny
models, logits O(1)), and the uncertainty, whose derivative in the logits is
O(1), by as much; 1e-5 leaves a margin of ~10x. A float32 head adds rounding
of the same order. Where the inputs are the same tensors, equality is exact
(float64 head vs float64 numpy: 1e-12).
"""

import inspect
import json
import os
import re
from unittest import mock

import numpy as np
import pytest
import torch
from _tiny_models import DECODERS, FAMILIES, TEXTS

from alien_sk import AlienUncertaintyEstimator, FeatureExtractor
from alien_sk._utils import normalized_entropy
from alien_sk.datasets import make_classifier_outputs
from alien_sk.deploy import (
    AlienClassifier,
    AlienHead,
    AlienOutput,
    AlienPrediction,
    AlienPredictor,
    export_head,
)
from alien_sk.exceptions import TruncationWarning
from alien_sk.selective import select_threshold

ATOL_F32 = 1e-5  # see the module docstring

# texts of various lengths, with duplicates (the extractor deduplicates them)
CORPUS = TEXTS + [t + " ok" for t in TEXTS] + TEXTS[:3]


def _fit(X, y, **params):
    params = {"max_epochs": 5, "learning_rate": 0.1, "random_state": 0, **params}
    return AlienUncertaintyEstimator(**params).fit(X, y)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """``get(family) -> (path, X, estimator)`` on the tiny model of ``family``."""
    from _tiny_models import save_tiny_model

    root = tmp_path_factory.mktemp("deploy_models")
    cache = {}

    def get(family):
        if family not in cache:
            path = save_tiny_model(family, root / family)
            fe = FeatureExtractor(path, batch_size=4, device="cpu", progress_bar=False)
            X = fe.fit_transform(CORPUS)
            y = np.random.default_rng(0).integers(0, 3, X.shape[0])
            est = _fit(X, y)
            # the trained head must differ from the entropy init, else the
            # comparisons below would not test the head's parameters
            assert est.module_.weight.abs().max() > 1e-3
            cache[family] = (path, X, est)
        return cache[family]

    return get


def _numpy_head(est, X):
    """Independent numpy re-implementation of the fitted head."""
    C = est.n_logits_
    state = {k: v.double().numpy() for k, v in est.module_.state_dict().items()}
    logits, emb = X[:, :C].astype(np.float64), X[:, C:].astype(np.float64)
    if est.head == "linear":
        delta = emb @ state["weight"].T + state["bias"]
    else:
        hidden = np.tanh(emb @ state["hidden.weight"].T + state["hidden.bias"])
        delta = hidden @ state["output.weight"].T + state["output.bias"]
    z = logits + delta
    if est.score_function == "entropy":
        return normalized_entropy(z)
    lam = est.smoothmax_lambda
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    m = (lam * p).max(1, keepdims=True)
    smooth = (np.log(np.exp(lam * p - m).sum(1)) + m[:, 0]) / lam
    return np.clip((1 - smooth) / (1 - 1 / C), 0, 1)


# -- AlienHead ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {"head": "linear"},
        {"head": "mlp", "hidden_size": 8},
        {"head": "linear", "score_function": "smoothmax"},
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_head_matches_numpy_reference(params, dtype):
    X, y = make_classifier_outputs(
        n_samples=400, n_classes=3, n_embedding=6, random_state=0
    )
    est = _fit(X, y, **params)
    head = AlienHead.from_estimator(est, dtype=dtype)
    assert isinstance(head, torch.nn.Module) and not head.training
    assert all(p.dtype == getattr(torch, dtype) for p in head.parameters())
    assert all(p.device.type == "cpu" for p in head.parameters())
    Xt = torch.as_tensor(X, dtype=torch.float32)  # model outputs are float32
    u = head(Xt[:, :3], Xt[:, 3:])
    assert u.dtype == getattr(torch, dtype) and u.shape == (400,)
    expected = _numpy_head(est, X.astype(np.float32))
    atol = 1e-12 if dtype == "float64" else ATOL_F32
    np.testing.assert_allclose(u.double().numpy(), expected, rtol=0, atol=atol)
    np.testing.assert_allclose(
        u.double().numpy(),
        est.predict_uncertainty(X.astype(np.float32)),
        rtol=0,
        atol=atol,
    )


def test_head_does_not_alias_estimator():
    X, y = make_classifier_outputs(n_samples=200, n_embedding=4, random_state=0)
    est = _fit(X, y)
    before = est.predict_uncertainty(X)
    head = AlienHead.from_estimator(est, dtype="float64")
    with torch.no_grad():
        head.residual.weight.add_(1.0)
    np.testing.assert_array_equal(est.predict_uncertainty(X), before)
    assert head.config()["dtype"] == "float64"
    assert AlienHead(**head.config()).residual.weight.abs().sum() == 0


def test_untrained_head_is_entropy():
    logits = torch.tensor([[0.0, 0.0], [3.0, -1.0]])
    u = AlienHead(2, 5)(logits, torch.randn(2, 5))
    np.testing.assert_allclose(u.numpy(), normalized_entropy(logits.numpy()), atol=1e-7)


def test_head_errors():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        AlienHead.from_estimator(AlienUncertaintyEstimator())
    with pytest.raises(ValueError, match="dtype='float16'"):
        AlienHead(2, 3, dtype="float16")
    with pytest.raises(ValueError, match="hidden_size"):
        AlienHead(2, 3, kind="mlp")
    with pytest.raises(ValueError, match="kind='conv'"):
        AlienHead(2, 3, kind="conv")


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_head_forward_names_wrong_shapes(kind):
    head = AlienHead(2, 3, kind=kind, hidden_size=4 if kind == "mlp" else None)
    z, h = torch.zeros(5, 2), torch.zeros(5, 3)
    assert head(z, h).shape == (5,)
    with pytest.raises(ValueError, match=r"logits has shape \(5, 3\).*\(batch, 2\)"):
        head(torch.zeros(5, 3), h)
    with pytest.raises(ValueError, match=r"embedding has shape \(5, 4\).*\(batch, 3\)"):
        head(z, torch.zeros(5, 4))
    with pytest.raises(ValueError, match=r"embedding has shape \(3,\)"):
        head(z, torch.zeros(3))
    with pytest.raises(ValueError, match="logits has 5 rows but embedding has 4"):
        head(z, torch.zeros(4, 3))


@pytest.mark.parametrize(
    "params, match",
    [
        ({"score_function": "bogus"}, "score_function='bogus'"),
        ({"score_function": "Entropy"}, "score_function='Entropy'"),
        ({"n_logits": 1}, "n_logits=1"),
        ({"n_logits": 2.5}, "n_logits=2.5"),
        ({"embedding_dim": -1}, "embedding_dim=-1"),
        ({"kind": "mlp", "hidden_size": 0}, "hidden_size=0"),
        ({"smoothmax_lambda": 0}, "smoothmax_lambda=0"),
        ({"smoothmax_lambda": -1.0}, "smoothmax_lambda=-1.0"),
        ({"smoothmax_lambda": float("nan")}, "smoothmax_lambda=nan"),
        ({"smoothmax_lambda": float("inf")}, "smoothmax_lambda=inf"),
        (
            {"score_function": "smoothmax", "smoothmax_lambda": 1.3},
            "smoothmax_lambda=1.3 is too small for 2 classes",
        ),
        (
            {"score_function": "smoothmax", "n_logits": 3, "smoothmax_lambda": 1.6},
            "smoothmax_lambda=1.6 is too small for 3 classes",
        ),
    ],
)
def test_head_rejects_invalid_parameters(params, match):
    """Invalid settings raise instead of scoring NaN, 0 or the wrong score."""
    params = {"n_logits": 2, "embedding_dim": 3, **params}
    with pytest.raises(ValueError, match=re.escape(match)):
        AlienHead(**params)


def test_head_valid_edge_parameters():
    """Smallest valid settings give finite numbers in [0, 1], as the estimator."""
    X, y = make_classifier_outputs(n_samples=200, n_embedding=2, random_state=0)
    # 1.4 is just above 2 log 2 = 1.386, the smallest lambda that can score > 0
    est = _fit(X, y, score_function="smoothmax", smoothmax_lambda=1.4)
    assert np.unique(est.predict_uncertainty(X)).size > 10  # not all clamped to 0
    head = AlienHead.from_estimator(est, dtype="float64")
    Xt = torch.as_tensor(X)
    np.testing.assert_allclose(
        head(Xt[:, :2], Xt[:, 2:]).numpy(), est.predict_uncertainty(X), atol=1e-12
    )
    u = AlienHead(2, 0, kind="mlp", hidden_size=1)(torch.zeros(3, 2), torch.zeros(3, 0))
    np.testing.assert_allclose(u.numpy(), 1.0)  # entropy of equal logits


def test_load_rejects_invalid_head_config(tmp_path, fitted):
    path, _, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, device="cpu", progress_bar=False
    )
    predictor.save(tmp_path / "d")
    settings_path = tmp_path / "d" / "alien_config.json"
    settings = json.loads(settings_path.read_text())
    settings["head"]["score_function"] = "bogus"
    settings_path.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="score_function='bogus'"):
        AlienPredictor.load(tmp_path / "d", device="cpu", progress_bar=False)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_export_head_identical(kind, dtype):
    X, y = make_classifier_outputs(
        n_samples=300, n_classes=3, n_embedding=5, random_state=1
    )
    est = _fit(X, y, head=kind, hidden_size=4)
    head = AlienHead.from_estimator(est, dtype=dtype)
    program = export_head(head)  # float32 inputs, like the classifier's outputs
    assert isinstance(program, torch.export.ExportedProgram)
    exported = program.module()
    for n in (1, 7, 300):  # dynamic batch, other sizes than the example's
        Xt = torch.as_tensor(X[:n], dtype=torch.float32)
        assert torch.equal(exported(Xt[:, :3], Xt[:, 3:]), head(Xt[:, :3], Xt[:, 3:]))


# -- AlienClassifier / AlienPredictor vs FeatureExtractor --------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_predictor_matches_feature_extractor(family, fitted):
    path, X, est = fitted(family)
    for head_dtype in ("float64", "float32"):
        predictor = AlienPredictor.from_estimator(
            path,
            est,
            head_dtype=head_dtype,
            batch_size=3,
            device="cpu",
            progress_bar=False,
        )
        pred = predictor.predict(CORPUS)
        assert isinstance(pred, AlienPrediction) and pred.abstain is None
        assert pred.uncertainty.dtype == np.float64
        assert pred.logits.dtype == np.float32
        np.testing.assert_allclose(pred.logits, X[:, :3], rtol=0, atol=ATOL_F32)
        np.testing.assert_allclose(
            pred.uncertainty, est.predict_uncertainty(X), rtol=0, atol=ATOL_F32
        )
        # labels: argmax of the reference logits (where no near-tie)
        top2 = np.sort(X[:, :3], axis=1)[:, -2:]
        clear = top2[:, 1] - top2[:, 0] > 1e-4
        assert clear.sum() > len(CORPUS) // 2
        np.testing.assert_array_equal(
            pred.labels[clear], est.classes_[X[clear, :3].argmax(1)]
        )


def _own_rows(model, layer, batch):
    """``[logits | embedding]`` of each row of ``batch``, from the model alone.

    Each text is run by itself, unpadded (its attended tokens only, no
    attention mask, default positions); the logits are ``outputs.logits``
    and the embedding the input of the final linear layer, read with a
    forward pre-hook (for a decoder, at the last token: the texts hold no
    ``config.pad_token_id``, so that is the token the model pools).
    """
    captured = {}
    linear = model.get_submodule(layer)
    handle = linear.register_forward_pre_hook(
        lambda m, a: captured.__setitem__("emb", a[0])
    )
    pad = getattr(model.config, "pad_token_id", None)
    rows = []
    try:
        for i in range(batch["input_ids"].shape[0]):
            keep = batch["attention_mask"][i].bool()
            inputs = {
                k: batch[k][i][keep][None]
                for k in ("input_ids", "token_type_ids")
                if k in batch
            }
            assert pad is None or not bool((inputs["input_ids"] == pad).any())
            with torch.inference_mode():
                logits = model(**inputs).logits
                emb = captured["emb"]
                if emb.dim() == 3:
                    emb = emb[:, -1]
                # the embedding read is the one behind the logits
                torch.testing.assert_close(linear(emb), logits, rtol=0, atol=1e-6)
            rows.append(torch.cat([logits, emb], 1)[0].numpy())
    finally:
        handle.remove()
    return np.stack(rows)


@pytest.mark.parametrize("family", FAMILIES)
def test_classifier_forward_equals_model_and_head(family, fitted):
    """A padded batch: each text's logits are the model's own on that text
    alone and unpadded, its uncertainty the head's on them."""
    path, _, est = fitted(family)
    predictor = AlienPredictor.from_estimator(
        path, est, head_dtype="float64", device="cpu", progress_bar=False
    )
    module = predictor.module
    assert isinstance(module, AlienClassifier)
    _, batch = next(predictor._batches(CORPUS[:6]))
    assert not bool(batch["attention_mask"].all())  # the batch is padded
    with torch.inference_mode():
        out = module(**batch)
    assert isinstance(out, AlienOutput)
    X = _own_rows(module.model, module.layer, batch)
    np.testing.assert_allclose(out.logits.numpy(), X[:, :3], rtol=0, atol=ATOL_F32)
    top2 = np.sort(X[:, :3], axis=1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > 1e-4
    assert torch.equal(out.labels[clear], torch.as_tensor(X[clear, :3].argmax(1)))
    np.testing.assert_allclose(
        out.uncertainty.numpy(), _numpy_head(est, X), rtol=0, atol=ATOL_F32
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_classifier_left_padding_matches_feature_extractor(family, fitted):
    """A batch left-padded by the tokenizer, without position_ids:
    FeatureExtractor's rows and each text's own unpadded numbers. Encoders
    read their first token and most number positions from the first column,
    so their texts are moved to the start of the rows; decoders need positions
    that count the real tokens."""
    import transformers

    path, _, est = fitted(family)
    tok = transformers.AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = "left"
    texts = [TEXTS[0], TEXTS[1], TEXTS[2]]
    fe = FeatureExtractor(path, tokenizer=tok, device="cpu", progress_bar=False)
    X = fe.fit_transform(texts)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path)
    clf = AlienClassifier(
        model.eval(), AlienHead.from_estimator(est, dtype="float64")
    ).eval()
    enc = dict(tok(texts, padding=True, return_tensors="pt"))
    mask = enc["attention_mask"]
    assert not bool(mask[:, 0].all())  # left padding
    with torch.inference_mode():
        out = clf(**enc)
    np.testing.assert_allclose(out.logits.numpy(), X[:, :3], rtol=0, atol=ATOL_F32)
    np.testing.assert_allclose(
        out.uncertainty.numpy(), est.predict_uncertainty(X), rtol=0, atol=ATOL_F32
    )
    if "token_type_ids" not in inspect.signature(model.forward).parameters:
        enc.pop("token_type_ids", None)  # the model would ignore or refuse them
    own = _own_rows(model, clf.layer, enc)
    np.testing.assert_allclose(X, own, rtol=0, atol=ATOL_F32)


@pytest.mark.parametrize("family", ["distilbert", "mpnet", "modernbert"])
def test_classifier_drops_token_type_ids_the_model_does_not_take(family, fitted):
    # a BERT-style tokenizer returns token_type_ids; on transformers 4
    # DistilBERT and MPNet refused them with a TypeError
    import transformers

    path, X, est = fitted(family)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path)
    clf = AlienClassifier(model.eval(), AlienHead.from_estimator(est)).eval()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    enc = tok(TEXTS[:3], padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    with torch.inference_mode():
        out = clf(ids, mask)
        typed = clf(ids, mask, token_type_ids=torch.ones_like(ids))
    for a, b in zip(typed, out, strict=True):
        assert torch.equal(a, b)
    np.testing.assert_allclose(out.logits.numpy(), X[:3, :3], rtol=0, atol=ATOL_F32)


def test_predict_order_batching_and_duplicates(fitted):
    path, _, est = fitted("gpt2")
    kwargs = {"device": "cpu", "progress_bar": False}
    p3 = AlienPredictor.from_estimator(path, est, batch_size=3, **kwargs)
    p1 = AlienPredictor.from_estimator(path, est, batch_size=1, **kwargs)
    a = p3.predict(CORPUS)
    b = p3.predict(CORPUS[::-1])
    c = p1.predict(CORPUS)
    np.testing.assert_allclose(b.uncertainty[::-1], a.uncertainty, atol=ATOL_F32)
    np.testing.assert_allclose(c.uncertainty, a.uncertainty, atol=ATOL_F32)
    np.testing.assert_allclose(c.logits, a.logits, atol=ATOL_F32)
    # duplicated texts get the same row
    np.testing.assert_allclose(a.uncertainty[-3:], a.uncertainty[:3], atol=ATOL_F32)
    assert a.labels.shape == (len(CORPUS),)


def test_threshold_and_abstain(fitted):
    path, X, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, device="cpu", progress_bar=False
    )
    pred = predictor.predict(CORPUS)
    u = pred.uncertainty
    t = float(np.median(u))
    with_t = predictor.predict(CORPUS, threshold=t)
    np.testing.assert_array_equal(with_t.abstain, u > t)
    assert with_t.abstain.any() and not with_t.abstain.all()
    # a SelectiveThreshold from alien_sk.selective
    y_pred = est.classes_[X[:, :3].argmax(1)]
    sel = select_threshold(y_pred, y_pred, est.predict_uncertainty(X), target_risk=0)
    p2 = AlienPredictor.from_estimator(
        path, est, threshold=sel, device="cpu", progress_bar=False
    )
    assert p2.threshold == sel.threshold
    np.testing.assert_array_equal(p2.predict(CORPUS).abstain, u > sel.threshold)
    # a fitted SelectiveClassifier (its threshold_)
    from sklearn.frozen import FrozenEstimator

    from alien_sk.selective import SelectiveClassifier

    y = np.random.default_rng(0).integers(0, 3, X.shape[0])
    clf = SelectiveClassifier(FrozenEstimator(est), target_risk=1.0).fit(X, y)
    p3 = predictor.predict(CORPUS, threshold=clf)
    np.testing.assert_array_equal(p3.abstain, u > clf.threshold_)
    with pytest.raises(TypeError, match="threshold must be"):
        predictor.predict(CORPUS, threshold="high")
    with pytest.raises(ValueError, match="threshold is NaN"):
        predictor.predict(CORPUS, threshold=float("nan"))


@pytest.mark.parametrize("family", FAMILIES)
def test_save_load_roundtrip(family, tmp_path, fitted):
    path, X, est = fitted(family)
    predictor = AlienPredictor.from_estimator(
        path,
        est,
        threshold=0.5,
        classes=np.array(["neg", "neu", "pos"]),
        device="cpu",
        progress_bar=False,
    )
    before = predictor.predict(CORPUS)
    out = tmp_path / "deployed"
    predictor.save(out, export=True)
    files = set(os.listdir(out))
    assert {
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "alien_head.safetensors",
        "alien_config.json",
        "alien_head.pt2",
    } <= files
    assert not any(f.endswith((".pkl", ".bin", ".pt", ".pth")) for f in files)
    settings = json.loads((out / "alien_config.json").read_text())
    assert settings["threshold"] == 0.5
    assert settings["classes"]["values"] == ["neg", "neu", "pos"]
    assert settings["head"]["n_logits"] == 3

    # a CPU-only machine, offline
    with (
        mock.patch("torch.cuda.is_available", return_value=False),
        mock.patch.dict(os.environ, {"HF_HUB_OFFLINE": "1"}),
    ):
        loaded = AlienPredictor.load(out, device="auto", progress_bar=False)
    assert loaded.device.type == "cpu"
    after = loaded.predict(CORPUS)
    np.testing.assert_array_equal(after.uncertainty, before.uncertainty)
    np.testing.assert_array_equal(after.logits, before.logits)
    np.testing.assert_array_equal(after.labels, before.labels)
    np.testing.assert_array_equal(after.abstain, before.abstain)
    assert after.labels.dtype == before.labels.dtype
    assert loaded.max_length == predictor.max_length

    # the exported head, loaded with torch only, gives the head's numbers
    program = torch.export.load(out / "alien_head.pt2")
    logits = torch.as_tensor(X[:9, :3])
    emb = torch.as_tensor(X[:9, 3:])
    assert torch.equal(program.module()(logits, emb), loaded.head(logits, emb))

    # saved settings can be overridden
    other = AlienPredictor.load(out, device="cpu", threshold=0.9, progress_bar=False)
    assert other.threshold == 0.9
    with pytest.raises(ValueError, match="not a directory written by"):
        AlienPredictor.load(path)

    # weights changed beside the head: refused
    import transformers

    model = transformers.AutoModelForSequenceClassification.from_pretrained(out)
    with torch.no_grad():
        model.get_submodule(loaded.module.layer).weight.add_(0.01)
    model.save_pretrained(out)
    with pytest.raises(ValueError, match="fingerprint mismatch"):
        AlienPredictor.load(out, device="cpu", progress_bar=False)


def test_int_classes_roundtrip(tmp_path, fitted):
    path, _, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, device="cpu", progress_bar=False
    )
    assert predictor.classes.dtype.kind == "i"  # est.classes_ = arange(3)
    predictor.save(tmp_path / "d")
    loaded = AlienPredictor.load(tmp_path / "d", device="cpu", progress_bar=False)
    np.testing.assert_array_equal(loaded.classes, predictor.classes)
    assert loaded.classes.dtype == predictor.classes.dtype
    assert loaded.threshold is None


# families whose transformers implementation torch.export cannot trace:
# family -> (first transformers major version that traces it, why)
NOT_EXPORTABLE = {
    "mistral": (5, "its sliding-window causal mask branches on tensor data"),
}


@pytest.mark.parametrize("family", FAMILIES)
def test_export_whole_classifier(family, fitted):
    import transformers

    path, _, est = fitted(family)
    predictor = AlienPredictor.from_estimator(
        path, est, device="cpu", progress_bar=False
    )
    major = int(transformers.__version__.split(".")[0])
    if family in NOT_EXPORTABLE and major < NOT_EXPORTABLE[family][0]:
        match = f"torch.export cannot trace this {family} classifier"
        with pytest.raises(RuntimeError, match=match) as info:
            predictor.export(CORPUS[:4])
        assert type(predictor.model).__name__ in str(info.value)
        assert isinstance(info.value.__cause__, RuntimeError)
        return
    program = predictor.export(CORPUS[:4])
    _, batch = next(predictor._batches(CORPUS[4:11]))  # other batch and length
    with torch.inference_mode():
        expected = predictor.module(**batch)
    got = program.module()(**batch)
    for a, b in zip(got, expected, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_export_with_batch_size_one(family, fitted):
    """A batch_size=1 predictor exports; the program takes batches of 1 and 3."""
    path, X, est = fitted(family)
    predictor = AlienPredictor.from_estimator(
        path, est, head_dtype="float64", batch_size=1, device="cpu", progress_bar=False
    )
    program = predictor.export(CORPUS[:4]).module()
    texts = CORPUS[4:8]
    for batch_size in (1, 3):
        for idx, batch in predictor._batches(texts, batch_size):
            assert batch["input_ids"].shape[0] == len(idx)
            with torch.no_grad():
                logits, labels, u = program(**batch)
            rows = [4 + i for i in idx]
            np.testing.assert_allclose(
                logits.numpy(), X[rows, :3], rtol=0, atol=ATOL_F32
            )
            np.testing.assert_allclose(
                u.numpy(), est.predict_uncertainty(X[rows]), rtol=0, atol=ATOL_F32
            )
            assert torch.equal(labels, logits.argmax(1))
    with pytest.raises(ValueError, match="at least 2 example texts"):
        predictor.export(CORPUS[:1])
    # GPT-2 adds no special token: two empty or one-token texts make a batch
    # one token long, which torch.export specialised with an obscure error
    if family == "gpt2":
        with pytest.raises(ValueError, match="example text of at least 2 tokens"):
            predictor.export(["", "a"])


def test_export_failure_names_the_family(fitted):
    """A tracing error names the model type and class, with the cause chained."""
    path, _, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, device="cpu", progress_bar=False
    )
    cause = RuntimeError("Could not guard on data-dependent expression\nsecond line")
    with mock.patch("torch.export.export", side_effect=cause):
        with pytest.raises(RuntimeError) as info:
            predictor.export(CORPUS[:4])
    message = str(info.value)
    assert "cannot trace this bert classifier (BertForSequenceClassification" in message
    assert "Could not guard on data-dependent expression" in message
    assert "second line" not in message and "export_head" in message
    assert info.value.__cause__ is cause


def test_export_head_batch_size_one():
    head = AlienHead(2, 3)
    with pytest.raises(ValueError, match="batch_size=1 is too small"):
        export_head(head, batch_size=1)
    exported = export_head(head, batch_size=3).module()
    logits, emb = torch.randn(1, 2), torch.randn(1, 3)
    assert torch.equal(exported(logits, emb), head(logits, emb))


def test_save_without_export_removes_stale_exported_head(tmp_path, fitted):
    path, X, est = fitted("bert")
    out = tmp_path / "d"
    kwargs = {"device": "cpu", "progress_bar": False}
    AlienPredictor(path, AlienHead(3, 16), **kwargs).save(out, export=True)
    assert (out / "alien_head.pt2").is_file()
    trained = AlienPredictor.from_estimator(path, est, head_dtype="float64", **kwargs)
    trained.save(out)  # no export: the untrained head's program must go
    assert not (out / "alien_head.pt2").exists()
    loaded = AlienPredictor.load(out, **kwargs)
    Xt = torch.as_tensor(X)
    np.testing.assert_allclose(
        loaded.head(Xt[:, :3], Xt[:, 3:]).numpy(),
        est.predict_uncertainty(X),
        rtol=0,
        atol=1e-12,
    )
    trained.save(out, export=True)  # exported again: the trained head
    program = torch.export.load(out / "alien_head.pt2").module()
    np.testing.assert_allclose(
        program(Xt[:, :3].float(), Xt[:, 3:].float()).numpy(),
        est.predict_uncertainty(X),
        rtol=0,
        atol=1e-12,
    )


def test_errors(fitted):
    path, _, est = fitted("bert")
    with pytest.raises(TypeError, match="head must be an AlienHead"):
        AlienPredictor(path, est, device="cpu")
    with pytest.raises(ValueError, match="was the estimator fitted"):
        AlienPredictor(path, AlienHead(3, 7), device="cpu")
    with pytest.raises(ValueError, match="one label per logit"):
        AlienPredictor(path, AlienHead(3, 16), classes=["a", "b"], device="cpu")
    predictor = AlienPredictor(path, AlienHead(3, 16), device="cpu")
    with pytest.raises(ValueError, match="Iterable over raw text documents"):
        predictor.predict("one text")
    with pytest.raises(ValueError, match="was the estimator fitted"):
        AlienClassifier(predictor.model, AlienHead(2, 16))


def test_truncation_warning_and_progress_bar(capsys, fitted):
    path, _, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, max_length=5, device="cpu", progress_bar=True
    )
    with pytest.warns(TruncationWarning, match="texts were longer than max_length=5"):
        pred = predictor.predict(CORPUS)
    assert pred.uncertainty.shape == (len(CORPUS),)
    assert "AlienPredictor" in capsys.readouterr().err


@pytest.mark.gpu
def test_cuda_fitted_loads_on_cpu(tmp_path, fitted):
    path, X, _ = fitted("bert")
    y = np.random.default_rng(0).integers(0, 3, X.shape[0])
    est = _fit(X, y, device="cuda", head="mlp", hidden_size=8)
    predictor = AlienPredictor.from_estimator(
        path, est, head_dtype="float64", device="cuda", progress_bar=False
    )
    before = predictor.predict(CORPUS)
    np.testing.assert_allclose(
        before.uncertainty, est.predict_uncertainty(X), atol=ATOL_F32
    )
    predictor.save(tmp_path / "d")
    with mock.patch("torch.cuda.is_available", return_value=False):
        loaded = AlienPredictor.load(tmp_path / "d", device="auto", progress_bar=False)
    assert loaded.device.type == "cpu"
    after = loaded.predict(CORPUS)
    np.testing.assert_allclose(after.uncertainty, before.uncertainty, atol=ATOL_F32)


def test_predictor_saved_with_a_legacy_tokenizer_fingerprint_loads(tmp_path, fitted):
    # alien_sk 0.1.0 fingerprinted tokenizers without their runtime settings;
    # a predictor saved then must still load (and a different tokenizer not)
    import json

    from alien_sk.features import _tokenizer_fingerprint

    path, X, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(path, est, device="cpu")
    out = tmp_path / "old"
    predictor.save(out)
    config = out / "alien_config.json"
    settings = json.loads(config.read_text())
    tok = predictor._extractor._tokenizer
    settings["tokenizer_fingerprint"] = _tokenizer_fingerprint(tok, legacy=True)
    config.write_text(json.dumps(settings))
    loaded = AlienPredictor.load(out, device="cpu")
    np.testing.assert_allclose(
        loaded.predict(CORPUS).uncertainty, predictor.predict(CORPUS).uncertainty
    )
    settings["tokenizer_fingerprint"] = "0" * 64
    config.write_text(json.dumps(settings))
    with pytest.raises(ValueError, match="tokenizer fingerprint mismatch"):
        AlienPredictor.load(out, device="cpu")


@pytest.mark.parametrize("family", DECODERS)
@pytest.mark.parametrize("side", ["left", "right"])
def test_decoder_with_a_config_pad_token_reads_where_the_model_pools(
    family, side, fitted
):
    """Texts ending with config.pad_token_id (EOS, as set for fine-tuning): the
    logits are the model's own unbatched ones, for the module and predictor."""
    import transformers

    path, _, est = fitted(family)
    model = transformers.AutoModelForSequenceClassification.from_pretrained(path)
    model = model.eval()
    tok = transformers.AutoTokenizer.from_pretrained(path)
    tok.pad_token = tok.eos_token
    tok.padding_side = side
    model.config.pad_token_id = tok.pad_token_id
    eos = tok.eos_token
    texts = [f"the movie was good{eos}", f"bad{eos}", f"a{eos} b", eos, "plot"]
    own = []
    for text in texts:
        with torch.no_grad():
            ids = torch.tensor([tok(text)["input_ids"]])
            own.append(model(input_ids=ids).logits[0].numpy())
    own = np.stack(own)
    head = AlienHead.from_estimator(est, dtype="float64")
    clf = AlienClassifier(model, head).eval()
    enc = tok(texts, padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = clf(**enc)
    np.testing.assert_allclose(out.logits.numpy(), own, rtol=0, atol=ATOL_F32)
    predictor = AlienPredictor(
        model, head, tokenizer=tok, batch_size=2, device="cpu", progress_bar=False
    )
    pred = predictor.predict(texts)
    np.testing.assert_allclose(pred.logits, own, rtol=0, atol=ATOL_F32)
    # and FeatureExtractor's rows, as AlienClassifier documents
    fe = FeatureExtractor(model, tokenizer=tok, device="cpu", progress_bar=False)
    X = fe.fit_transform(texts)
    np.testing.assert_allclose(X[:, :3], own, rtol=0, atol=ATOL_F32)
    np.testing.assert_allclose(
        pred.uncertainty, est.predict_uncertainty(X), rtol=0, atol=ATOL_F32
    )


def test_token_classifiers_are_refused_with_a_deploy_message(tmp_path):
    from _tiny_models import build_tiny_model, save_tiny_model

    match = "token classification model; AlienClassifier and AlienPredictor serve"
    model, _ = build_tiny_model("bert", task="token")
    with pytest.raises(ValueError, match=match):
        AlienClassifier(model, AlienHead(3, model.config.hidden_size))
    path = save_tiny_model("bert", tmp_path / "tok", task="token")
    with pytest.raises(ValueError, match=match):
        AlienPredictor(path, AlienHead(3, model.config.hidden_size), device="cpu")


@pytest.mark.parametrize("family", ["bert", "gpt2"])
def test_predict_from_several_threads(family, fitted):
    # forward hooks the shared final layer (and sets a decoder's pad id):
    # overlapping calls read each other's rows. Reference: the two-step
    # features -> estimator path, one call at a time.
    from concurrent.futures import ThreadPoolExecutor

    path, X, est = fitted(family)
    predictor = AlienPredictor.from_estimator(
        path, est, batch_size=1, device="cpu", progress_bar=False
    )
    expected = est.predict_uncertainty(X)
    chunks = [list(range(i, len(CORPUS), 4)) for i in range(4)]
    for _ in range(5):
        with ThreadPoolExecutor(4) as pool:
            outs = list(
                pool.map(
                    lambda rows: predictor.predict([CORPUS[i] for i in rows]), chunks
                )
            )
        for rows, out in zip(chunks, outs, strict=True):
            np.testing.assert_allclose(out.uncertainty, expected[rows], atol=1e-6)


def test_unreachable_threshold_is_saved_as_strict_json(tmp_path, fitted):
    # an unreachable target's threshold is -inf; json wrote -Infinity, which
    # strict parsers (jq, JavaScript, Go) reject
    path, _, est = fitted("bert")
    predictor = AlienPredictor.from_estimator(
        path, est, threshold=-np.inf, device="cpu", progress_bar=False
    )
    predictor.save(tmp_path / "deployed")
    text = (tmp_path / "deployed" / "alien_config.json").read_text()

    def strict(constant):
        raise ValueError(f"not strict JSON: {constant}")

    assert json.loads(text, parse_constant=strict)["threshold"] == "-inf"
    loaded = AlienPredictor.load(tmp_path / "deployed", device="cpu")
    assert loaded.threshold == -np.inf
    assert loaded.predict(CORPUS[:3]).abstain.all()


def test_predictor_batches_never_mix_longrope_lengths():
    # a long-context Phi-3 switches a whole batch to its long rotary factors
    # once its longest text exceeds original_max_position_embeddings; the
    # predictor batched on its own, and a short text batched with a long
    # one got other logits than alone (the extractor's batching avoided it)
    from test_features_reference import _longrope_phi3

    model, tok = _longrope_phi3(original=8)
    texts = ["bad", "the movie was good", "it is", "the plot was awful , awful"]
    lengths = [len(tok(t)["input_ids"]) for t in texts]
    assert min(lengths) <= 8 < max(lengths)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3 + model.config.hidden_size))
    est = _fit(X, np.arange(40) % 3)
    predictor = AlienPredictor.from_estimator(
        model, est, tokenizer=tok, batch_size=4, device="cpu", progress_bar=False
    )
    logits = predictor.predict(texts).logits
    for i, text in enumerate(texts):
        with torch.no_grad():
            own = model(**tok([text], return_tensors="pt")).logits.numpy()
        np.testing.assert_allclose(logits[i], own[0], rtol=0, atol=ATOL_F32)


def test_bfloat16_predictor_built_from_an_object_saves_and_loads(tmp_path):
    # the object is cast with .to(bf16), which casts rotary inv_freq too;
    # load() reads the folder with from_pretrained(dtype=bf16), which keeps
    # it in float32. The weights are the same: load must accept them (it
    # refused when the buffer dtypes entered the weights fingerprint).
    from _tiny_models import build_tiny_model

    model, tok = build_tiny_model("llama")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3 + model.config.hidden_size))
    est = _fit(X, np.arange(40) % 3)
    predictor = AlienPredictor.from_estimator(
        model, est, tokenizer=tok, dtype="bfloat16", device="cpu", progress_bar=False
    )
    predictor.save(tmp_path / "dep")
    loaded = AlienPredictor.load(tmp_path / "dep", device="cpu", progress_bar=False)
    a, b = predictor.predict(TEXTS).logits, loaded.predict(TEXTS).logits
    np.testing.assert_allclose(a, b, atol=0.1)  # bf16, inv_freq's rounding


def test_classifier_called_with_a_bert_tokenizers_output(tmp_path):
    # module(**tokenizer(texts, ...)), the documented direct use: a BERT
    # tokenizer's token_type_ids failed DistilBERT's forward (transformers 4)
    from _tiny_models import build_tokenizer, save_tiny_model

    path = save_tiny_model("distilbert", tmp_path / "m")
    bert_tok = build_tokenizer("bert")
    X = FeatureExtractor(path, device="cpu", progress_bar=False).fit_transform(CORPUS)
    est = _fit(X, np.arange(len(CORPUS)) % 3)
    predictor = AlienPredictor.from_estimator(
        path, est, tokenizer=bert_tok, device="cpu", progress_bar=False
    )
    enc = bert_tok(TEXTS[:3], padding=True, return_tensors="pt")
    assert "token_type_ids" in enc
    with torch.no_grad():
        out = predictor.module(**enc)
        own = predictor.model(enc["input_ids"], attention_mask=enc["attention_mask"])
    np.testing.assert_allclose(out.logits.numpy(), own.logits.numpy(), atol=1e-5)


def test_export_with_a_long_longrope_example(tmp_path):
    # predict's batching splits texts longer than a long-context Phi-3's
    # original_max_position_embeddings from the others: export took its
    # example batch from it and got one row (torch.export's constraint error)
    import transformers
    from test_features_reference import _longrope_phi3

    if transformers.__version__.startswith("4."):
        pytest.skip("transformers 4's longrope update guards on data: no export")
    model, tok = _longrope_phi3(original=8)
    texts = ["the plot was awful , awful", "bad"]
    assert [len(tok(t)["input_ids"]) > 8 for t in texts] == [True, False]
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3 + model.config.hidden_size))
    predictor = AlienPredictor.from_estimator(
        model,
        _fit(X, np.arange(40) % 3),
        tokenizer=tok,
        device="cpu",
        progress_bar=False,
    )
    program = predictor.export(texts)
    _, batch = next(predictor._batches(texts[:1]))  # the inputs predict makes
    with torch.no_grad():
        out = program.module()(**batch)
        own = model(**tok(texts[:1], return_tensors="pt")).logits
    np.testing.assert_allclose(out[0].numpy(), own.numpy(), atol=1e-5)
