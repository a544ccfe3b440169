"""
From texts to features, with the cache
======================================

:class:`~alien_sk.FeatureExtractor` runs a ``transformers`` classifier and
returns ``[logits | penultimate embedding]``, one row per text, cached per
text on disk. This example builds a *tiny, randomly initialised* BERT
classifier on the fly (no download, no real weights: its predictions are
meaningless), then shows the layout, the cache and a grid search over the
ALIEN head behind the extractor. With a real fine-tuned classifier, pass its
folder instead.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers

from alien_sk import AlienUncertaintyEstimator, FeatureExtractor

transformers.logging.disable_progress_bar()  # quiet output in the docs
workdir = Path(tempfile.mkdtemp())
words = "the a movie film was is good bad great awful boring fun plot not".split()
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
(workdir / "vocab.txt").write_text("\n".join(vocab))  # a WordPiece vocabulary file
tokenizer = transformers.BertTokenizerFast(str(workdir / "vocab.txt"))
config = transformers.BertConfig(
    vocab_size=len(vocab),
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
    id2label={0: "negative", 1: "positive"},
    label2id={"negative": 0, "positive": 1},
    initializer_range=0.5,  # random weights large enough for O(1) logits
)
torch.manual_seed(0)
transformers.BertForSequenceClassification(config).save_pretrained(workdir / "clf")
tokenizer.save_pretrained(workdir / "clf")

rng = np.random.default_rng(0)
texts = [" ".join(rng.choice(words, size=rng.integers(2, 12))) for _ in range(300)]
labels = rng.integers(0, 2, size=len(texts))
print(texts[:3])

# %%
# The feature layout
# ------------------
# The first ``n_logits_`` columns are the logits in the model's ``id2label``
# order, the rest is the input of the final linear layer (``classifier`` for
# BERT), so ``embedding @ W.T + b`` gives the logits back.

fe = FeatureExtractor(
    workdir / "clf", cache_dir=workdir / "cache", device="cpu", progress_bar=False
)
X = fe.fit_transform(texts)
print(X.shape, X.dtype, "n_logits_ =", fe.n_logits_, "classes_ =", fe.classes_)
print(fe.get_feature_names_out()[:4])

model = transformers.BertForSequenceClassification.from_pretrained(workdir / "clf")
W = model.classifier.weight.detach().numpy()
b = model.classifier.bias.detach().numpy()
logits, embedding = X[:, : fe.n_logits_], X[:, fe.n_logits_ :]
gap = np.abs(embedding @ W.T + b - logits).max()  # float32 rounding, ~1e-7
print("embedding @ W.T + b == logits (to 1e-5):", gap < 1e-5)

# %%
# The per-text cache
# ------------------
# A second ``transform`` of the same texts runs no forward pass; a new text
# runs the model for that text only. The key of a row includes a fingerprint
# of the model's weights, so another model never gets these rows.

X_again = fe.transform(texts)  # every row is a cache hit
print("identical rows from the cache:", np.array_equal(X, X_again))
print(fe.cache_info()["n_entries"], "texts cached")

# %%
# Tuning the head behind the extractor
# ------------------------------------
# In a pipeline inside :class:`~sklearn.model_selection.GridSearchCV`, every
# fold and every grid point transforms the same texts: all of them are cache
# hits, so the language model ran once per distinct text for the whole
# search. :class:`~alien_sk.pipeline.UncertaintyPipeline` is scikit-learn's
# ``Pipeline`` plus ``predict_uncertainty`` (texts in, scores out). (The
# labels here are random, so the scores hover around chance, and the grid
# points tie: the search runs, but has nothing to choose between.)

from sklearn.model_selection import GridSearchCV  # noqa: E402

from alien_sk.pipeline import UncertaintyPipeline  # noqa: E402

pipe = UncertaintyPipeline(
    [
        ("feat", fe),
        ("alien", AlienUncertaintyEstimator(n_logits=2, max_epochs=5, random_state=0)),
    ]
)
search = GridSearchCV(
    pipe, {"alien__alpha": [0.1, 1.0], "alien__beta": [0.1, 1.0]}, cv=3
)
search.fit(texts, labels)
print("mean CV ROC-AUC per grid point:", search.cv_results_["mean_test_score"].round(3))
print("best:", search.best_params_)
u = search.best_estimator_.predict_uncertainty(texts[:5])  # from the cache
print("uncertainty of the first texts:", np.round(u, 3))

# %%
# The cache folder is an ordinary directory; remove it when done.

import shutil  # noqa: E402

shutil.rmtree(workdir)
