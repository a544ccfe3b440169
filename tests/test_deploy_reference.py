# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Behaviour of deploy, _utils and the contract checks found unpinned by mutation.

Every test compares with an independent reference: the tiny model's own
unbatched logits, the tokenizer's own token counts, a numpy re-implementation
written here, hand-computed values, or a stub estimator whose defect is known
(for the contract checks of :mod:`alien_sk.utils.estimator_checks`, which must
reject it).
"""

import pickle
import warnings

import numpy as np
import pytest
from _tiny_models import TEXTS, build_tiny_model
from sklearn.base import BaseEstimator
from sklearn.metrics import roc_auc_score

from alien_sk._utils import normalized_entropy
from alien_sk.baselines import Entropy
from alien_sk.exceptions import TruncationWarning
from alien_sk.utils import estimator_checks as checks

torch = pytest.importorskip("torch")

from alien_sk.deploy import (  # noqa: E402
    AlienClassifier,
    AlienHead,
    AlienPredictor,
    export_head,
)

CLASSES = np.array(["neg", "neu", "pos"])


def _entropy(z):
    """Normalised entropy of softmax(z), written out in float64."""
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    return -(p * np.log(p)).sum(axis=1) / np.log(z.shape[1])


def _own_logits(model, tok, texts):
    """The model's own logits, one unpadded text at a time."""
    rows = []
    for text in texts:
        ids = torch.tensor([tok(text)["input_ids"]])
        with torch.no_grad():
            rows.append(model(input_ids=ids).logits[0].double().numpy())
    return np.stack(rows)


@pytest.fixture(scope="module")
def bert():
    return build_tiny_model("bert")


@pytest.fixture
def gpt2():
    return build_tiny_model("gpt2")


def _predictor(model, tok, **kw):
    kw = {"device": "cpu", "progress_bar": False, **kw}
    head = AlienHead(3, model.config.hidden_size, dtype="float64")
    return AlienPredictor(model, head, tokenizer=tok, **kw)


# -- AlienHead / export_head ---------------------------------------------------------
def test_float64_head_computes_in_float64():
    """float64 inputs are not rounded to float32 on their way through the head."""
    rng = np.random.default_rng(0)
    logits, emb = rng.standard_normal((20, 3)), rng.standard_normal((20, 4))
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    head = AlienHead(3, 4, dtype="float64")
    head.load_state_dict(
        {"residual.weight": torch.as_tensor(W), "residual.bias": torch.as_tensor(b)}
    )
    u = head(torch.as_tensor(logits), torch.as_tensor(emb))
    assert u.dtype == torch.float64
    expected = _entropy(logits + emb @ W.T + b)
    np.testing.assert_allclose(u.numpy(), expected, rtol=0, atol=1e-12)


def test_export_head_takes_the_requested_input_dtype():
    head = AlienHead(3, 4, dtype="float64")
    with torch.no_grad():
        head.residual.weight.normal_()
    program = export_head(head, input_dtype="float64").module()
    rng = np.random.default_rng(1)
    logits = torch.as_tensor(rng.standard_normal((5, 3)))
    emb = torch.as_tensor(rng.standard_normal((5, 4)))
    assert torch.equal(program(logits, emb), head(logits, emb))
    # the program checks the dtype it was exported for
    with pytest.raises(Exception, match="(?i)dtype"):
        program(logits.float(), emb.float())
    with pytest.raises(ValueError, match="input_dtype='int64' is not a floating"):
        export_head(head, input_dtype="int64")


# -- AlienClassifier: decoder without a config pad token ------------------------------
def test_decoder_without_pad_token_pools_the_last_attended_token(gpt2):
    """A config with no pad token pools the last token, EOS included, and the
    temporary pad id set for the call is removed afterwards."""
    model, tok = gpt2
    assert model.config.pad_token_id is None
    tok.pad_token = tok.eos_token
    tok.padding_side = "right"
    eos = tok.eos_token
    texts = [f"the movie was good{eos}", "bad", f"a{eos} b{eos}", "plot twist"]
    own = _own_logits(model, tok, texts)
    clf = AlienClassifier(model, AlienHead(3, 16, dtype="float64")).eval()
    enc = tok(texts, padding=True, return_tensors="pt")
    for _ in range(2):  # a second call must not see the first one's pad id
        with torch.inference_mode():
            out = clf(**enc)
        assert model.config.pad_token_id is None
        np.testing.assert_allclose(out.logits.numpy(), own, rtol=0, atol=1e-5)
        np.testing.assert_allclose(
            out.uncertainty.numpy(), _entropy(own), rtol=0, atol=1e-5
        )


def test_token_type_ids_reach_the_model(bert):
    """token_type_ids given to AlienClassifier are the model's, not the default 0."""
    model, tok = bert
    enc = tok(TEXTS[:3], padding=True, return_tensors="pt")
    types = torch.ones_like(enc["input_ids"])
    with torch.no_grad():
        own = model(**{**enc, "token_type_ids": types}).logits.double().numpy()
        default = model(**{**enc, "token_type_ids": 0 * types}).logits.double()
    assert not np.allclose(own, default.numpy(), atol=1e-3)
    clf = AlienClassifier(model, AlienHead(3, 16, dtype="float64")).eval()
    with torch.inference_mode():
        out = clf(**{**enc, "token_type_ids": types})
    np.testing.assert_allclose(out.logits.numpy(), own, rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.uncertainty.numpy(), _entropy(own), atol=1e-6)


# -- AlienPredictor -----------------------------------------------------------------
def test_predicted_labels_are_the_classes_of_the_argmax(bert):
    model, tok = bert
    predictor = _predictor(model, tok, classes=CLASSES, batch_size=2)
    pred = predictor.predict(TEXTS)
    own = _own_logits(model, tok, TEXTS)
    top2 = np.sort(own, axis=1)[:, -2:]
    assert (top2[:, 1] - top2[:, 0] > 1e-4).all()  # no near-tie
    np.testing.assert_array_equal(pred.labels, CLASSES[own.argmax(axis=1)])
    np.testing.assert_allclose(pred.uncertainty, _entropy(own), rtol=0, atol=1e-5)
    # default classes: the model's id2label, in logit order
    default = _predictor(model, tok, batch_size=2).predict(TEXTS)
    names = np.array([model.config.id2label[i] for i in range(3)])
    np.testing.assert_array_equal(default.labels, names[own.argmax(axis=1)])


def test_abstain_is_strictly_above_the_threshold(bert):
    model, tok = bert
    predictor = _predictor(model, tok)
    u = predictor.predict(TEXTS).uncertainty
    k = int(np.argsort(u)[len(u) // 2])
    pred = predictor.predict(TEXTS, threshold=float(u[k]))
    np.testing.assert_array_equal(pred.uncertainty, u)
    assert not pred.abstain[k]  # equal to the threshold: kept
    np.testing.assert_array_equal(pred.abstain, u > u[k])


def test_predict_runs_in_eval_mode_and_refuses_a_bool_threshold(bert):
    """A module left in training mode still predicts without dropout."""
    model, tok = bert
    predictor = _predictor(model, tok)
    own = _own_logits(model, tok, TEXTS)  # eval mode: no dropout
    predictor.module.train()
    try:
        pred = predictor.predict(TEXTS)
    finally:
        predictor.module.eval()
    np.testing.assert_allclose(pred.logits, own, rtol=0, atol=1e-5)
    with pytest.raises(TypeError, match="threshold must be"):
        predictor.predict(TEXTS, threshold=True)


def test_a_single_truncated_text_warns_with_the_count_at_the_caller(bert):
    model, tok = bert
    lengths = [len(tok(t)["input_ids"]) for t in TEXTS]
    longest = int(np.argmax(lengths))
    max_length = sorted(lengths)[-2]  # only the longest text is cut
    assert sum(n > max_length for n in lengths) == 1
    predictor = _predictor(model, tok, max_length=max_length)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        predictor.predict(TEXTS)
    hits = [w for w in record if issubclass(w.category, TruncationWarning)]
    assert len(hits) == 1
    assert str(hits[0].message).startswith(
        f"1 of {len(TEXTS)} texts were longer than max_length={max_length} tokens"
    )
    assert hits[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", TruncationWarning)
        predictor.predict([t for i, t in enumerate(TEXTS) if i != longest])


# -- _utils -------------------------------------------------------------------------
@pytest.mark.parametrize("n_classes", [5, 7, 39])
def test_entropy_of_uniform_logits_is_exactly_one(n_classes):
    # unclipped, -sum p log p / log C rounds to 1 + 2e-16 for these C with
    # numpy 2 (numpy 1.24 rounds C=7 to 1 - 1e-16): never above 1
    X = np.zeros((2, n_classes))
    u = normalized_entropy(X)
    assert u.max() <= 1.0
    np.testing.assert_allclose(u, 1.0, rtol=0, atol=4 * np.finfo(float).eps)
    u = Entropy().fit(X, [0, 1]).predict_uncertainty(X)
    assert u.max() <= 1.0


# -- utils.estimator_checks ---------------------------------------------------------
class _Stub(BaseEstimator):
    """Normalised entropy of the 3 logits, with one known defect per ``defect``."""

    def __init__(self, defect=None):
        self.defect = defect

    def fit(self, X, y):
        self.n_features_in_ = X.shape[1]
        self.offset_ = 1e-3 if self.defect == "lost_in_pickle" else 0.0
        return self

    def predict_uncertainty(self, X):
        u = _entropy(X[:, :3]) + getattr(self, "offset_", 0.0)
        if self.defect == "out_of_range":
            u = 2.0 * u - 0.5
        elif self.defect == "nan":
            u[0] = np.nan
        elif self.defect == "column":
            u = u[:, None]
        elif self.defect == "integer":
            u = (u > 0.5).astype(np.int64)
        elif self.defect == "random":
            u = np.random.default_rng(0).random(len(X))
        return u

    def score(self, X, y):
        auc = roc_auc_score(X[:, :3].argmax(axis=1) != y, self.predict_uncertainty(X))
        return auc + 0.01 if self.defect == "score" else auc

    def __getstate__(self):
        state = dict(self.__dict__)
        if self.defect == "lost_in_pickle":
            del state["offset_"]
        return state


class _Unbounded(_Stub):
    _bounded_uncertainty = False


@pytest.mark.parametrize(
    "check", list(checks.yield_uncertainty_checks(_Stub())), ids=lambda c: c.__name__
)
def test_contract_checks_pass_a_correct_estimator(check):
    check("stub", _Stub())


@pytest.mark.parametrize(
    "defect, check, match",
    [
        ("out_of_range", "check_uncertainty_shape_and_range", "outside"),
        ("nan", "check_uncertainty_shape_and_range", "non-finite"),
        ("column", "check_uncertainty_shape_and_range", "shape"),
        ("integer", "check_uncertainty_shape_and_range", "not float"),
        ("random", "check_uncertainty_detects_errors", "ROC-AUC"),
        ("score", "check_uncertainty_score_is_roc_auc", "score"),
        ("lost_in_pickle", "check_uncertainty_pickle_round_trip", "pickle"),
    ],
)
def test_contract_checks_reject_a_defect(defect, check, match):
    with pytest.raises(AssertionError, match=match):
        getattr(checks, check)("stub", _Stub(defect=defect))


def test_range_check_skips_unbounded_estimators():
    est = _Unbounded(defect="out_of_range")
    checks.check_uncertainty_shape_and_range("stub", est)
    assert pickle.loads(pickle.dumps(est)).defect == "out_of_range"


def test_yield_uncertainty_checks_yields_each_check_once():
    names = [c.__name__ for c in checks.yield_uncertainty_checks(_Stub())]
    assert sorted(names) == sorted(
        [
            "check_uncertainty_shape_and_range",
            "check_uncertainty_detects_errors",
            "check_uncertainty_score_is_roc_auc",
            "check_uncertainty_pickle_round_trip",
        ]
    )
