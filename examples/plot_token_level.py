"""
Token-level uncertainty (NER) with grouped folds
================================================

For named-entity recognition the unit is a word: ``FeatureExtractor(...,
level="token")`` takes pre-split sentences and returns one
``[logits | embedding]`` row per word (read at its first sub-token). The
uncertainty estimators then work unchanged, with one tag per word. Words of
one sentence are not independent, so the folds of a cross-validation must
keep each sentence whole: :class:`~sklearn.model_selection.GroupKFold` with
the extractor's :meth:`~alien_sk.FeatureExtractor.sentence_index`.

The token classifier here is a tiny, randomly initialised BERT built on the
fly (no download), so its tags are meaningless; the point is the mechanics.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers
from sklearn.model_selection import GroupKFold, cross_val_score

from alien_sk import AlienUncertaintyEstimator, FeatureExtractor
from alien_sk.baselines import Entropy

transformers.logging.disable_progress_bar()
workdir = Path(tempfile.mkdtemp())
words = "paris london obama merkel visited met in the city and yesterday".split()
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
tags = ["O", "B-person", "B-geo-loc"]
config = transformers.BertConfig(
    vocab_size=len(vocab),
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    max_position_embeddings=32,
    id2label=dict(enumerate(tags)),
    label2id={t: i for i, t in enumerate(tags)},
    initializer_range=0.5,
)
torch.manual_seed(0)
transformers.BertForTokenClassification(config).save_pretrained(workdir / "ner")
(workdir / "vocab.txt").write_text("\n".join(vocab))  # a WordPiece vocabulary file
tokenizer = transformers.BertTokenizerFast(str(workdir / "vocab.txt"))
tokenizer.save_pretrained(workdir / "ner")

# sentences as word lists, with one (made-up) gold tag per word
rng = np.random.default_rng(0)
gold = {"paris": "B-geo-loc", "london": "B-geo-loc", "obama": "B-person"}
gold["merkel"] = "B-person"
sentences = [rng.choice(words, size=rng.integers(3, 9)).tolist() for _ in range(120)]
y = np.array([gold.get(w, "O") for s in sentences for w in s])
print(sentences[0], "->", [gold.get(w, "O") for w in sentences[0]])

# %%
# One row per word
# ----------------

fe = FeatureExtractor(workdir / "ner", level="token", device="cpu", progress_bar=False)
X = fe.fit_transform(sentences)
groups = fe.sentence_index(sentences)
print(X.shape, "rows for", sum(len(s) for s in sentences), "words")
print("classes_ (logit order):", fe.classes_)
print("sentence index of the first rows:", groups[:10])

# %%
# Cross-validation by sentence
# ----------------------------
# The tags are strings: ``classes=fe.classes_`` maps them to the logit order.
# ``GroupKFold`` keeps every sentence's words in one fold.

cv = GroupKFold(n_splits=3)
for name, est in {
    "Entropy": Entropy(classes=fe.classes_),
    "ALIEN": AlienUncertaintyEstimator(classes=fe.classes_, random_state=0),
}.items():
    scores = cross_val_score(est, X, y, groups=groups, cv=cv)
    print(f"{name:<8} misclassification ROC-AUC per fold: {np.round(scores, 3)}")

shutil.rmtree(workdir)
