"""
One forward pass: label, uncertainty, abstain
=============================================

:mod:`alien_sk.deploy` serves a fitted ALIEN head together with its
classifier: :class:`~alien_sk.deploy.AlienPredictor` takes texts and returns
labels, uncertainties and abstain flags from a single forward pass of the
classifier, saves to a directory and loads back offline.
:func:`~alien_sk.deploy.export_head` exports the head alone with
``torch.export``. The classifier is a tiny, randomly initialised BERT built on
the fly (no download), so the labels themselves mean nothing.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers

from alien_sk import AlienUncertaintyEstimator, FeatureExtractor
from alien_sk.deploy import AlienHead, AlienPredictor, export_head
from alien_sk.selective import select_threshold

transformers.logging.disable_progress_bar()
workdir = Path(tempfile.mkdtemp())
words = "the a movie film was is good bad great awful boring fun plot not".split()
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
config = transformers.BertConfig(
    vocab_size=len(vocab),
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
    id2label={0: "negative", 1: "positive"},
    label2id={"negative": 0, "positive": 1},
    initializer_range=0.5,
)
torch.manual_seed(0)
transformers.BertForSequenceClassification(config).save_pretrained(workdir / "clf")
(workdir / "vocab.txt").write_text("\n".join(vocab))  # a WordPiece vocabulary file
tokenizer = transformers.BertTokenizerFast(str(workdir / "vocab.txt"))
tokenizer.save_pretrained(workdir / "clf")

rng = np.random.default_rng(0)
texts = [" ".join(rng.choice(words, size=rng.integers(2, 12))) for _ in range(600)]
labels = np.where(rng.random(len(texts)) < 0.5, "negative", "positive")

# %%
# Fit the head and choose a threshold, as usual
# ---------------------------------------------

fe = FeatureExtractor(workdir / "clf", device="cpu", progress_bar=False)
X = fe.fit_transform(texts)
alien = AlienUncertaintyEstimator(classes=fe.classes_, random_state=0)
alien.fit(X[:400], labels[:400])
X_cal, y_cal = X[400:], labels[400:]
y_pred_cal = fe.classes_[X_cal[:, :2].argmax(axis=1)]
sel = select_threshold(
    y_cal, y_pred_cal, alien.predict_uncertainty(X_cal), target_risk=0.45
)
print(f"threshold {sel.threshold:.3f}, calibration coverage {sel.coverage:.2f}")

# %%
# Texts in, decisions out
# -----------------------
# The predictor gives the same uncertainties as ``FeatureExtractor`` followed
# by ``predict_uncertainty``, from one forward pass per batch.

predictor = AlienPredictor.from_estimator(
    workdir / "clf", alien, threshold=sel, device="cpu", progress_bar=False
)
new_texts = ["good movie", "the plot was not boring", "awful awful film"]
pred = predictor.predict(new_texts)
for text, label, u, abstain in zip(
    new_texts, pred.labels, pred.uncertainty, pred.abstain, strict=True
):
    print(f"{text!r:30} -> {label:<9} U={u:.3f} {'ABSTAIN' if abstain else ''}")
reference = alien.predict_uncertainty(fe.transform(new_texts))
# float32 forward passes on batches of another composition: equal to ~1e-7
diff = np.abs(pred.uncertainty - reference).max()
print("same as FeatureExtractor + predict_uncertainty (to 1e-6):", diff < 1e-6)

# %%
# Save, load, export
# ------------------
# The directory holds the classifier (``save_pretrained``), the head's tensors
# (safetensors) and its settings (JSON); nothing is pickled.

predictor.save(workdir / "deployed")
print(sorted(p.name for p in (workdir / "deployed").iterdir()))
loaded = AlienPredictor.load(workdir / "deployed", device="cpu", progress_bar=False)
print(
    "same after loading:",
    np.allclose(loaded.predict(new_texts).uncertainty, pred.uncertainty),
)

head = AlienHead.from_estimator(alien)
program = export_head(head)
logits = torch.as_tensor(X[:4, :2])
embedding = torch.as_tensor(X[:4, 2:])
print("exported head:", program.module()(logits, embedding))

# %%
# What the head costs
# -------------------
# The linear head holds ``C × d + C`` numbers and adds one small matrix
# product per batch. Timings belong in a benchmark, not in these pages
# (``benchmarks/bench_inference.py`` measures the wrapper against the bare
# classifier); the sizes are:

n_head = sum(p.numel() for p in head.parameters())
n_model = sum(p.numel() for p in predictor.model.parameters())
print(f"head: {n_head} parameters, classifier: {n_model} parameters")

shutil.rmtree(workdir)
