"""
Synthetic classifier outputs
============================

:func:`~alien_sk.datasets.make_classifier_outputs` fabricates what
:class:`~alien_sk.FeatureExtractor` returns for a real classifier: one row
``[logits | embedding]`` per text, and the true labels. The classifier errs
with a probability that rises along the first embedding direction, while the
logit margin, hence the entropy, carries no information about the errors
(``entropy_signal=0``). Entropy alone cannot see the errors; a direction of
the embedding can, which an error probe learns. ALIEN cannot: its head
changes the logits by a function of the embedding, and since these logits
do not depend on the embedding (unlike a real classifier's), no such change
raises the entropy of the errors of both predicted classes at once. The
example :ref:`example_plot_alien_vs_baselines` simulates a classifier whose
logits read its embedding, where ALIEN does gain.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from sklearn.metrics import roc_auc_score

from alien_sk.datasets import make_classifier_outputs

X, y = make_classifier_outputs(n_samples=2000, n_embedding=16, random_state=0)
logits, embedding = X[:, :2], X[:, 2:]
errors = logits.argmax(axis=1) != y
print(f"X: {X.shape}, error rate: {errors.mean():.3f}")

# %%
# How well does each column rank the errors?
# ------------------------------------------
# The misclassification ROC-AUC of a score is ``roc_auc_score(errors, score)``:
# 0.5 means the score knows nothing about the errors.

p = np.exp(logits - logits.max(axis=1, keepdims=True))
p /= p.sum(axis=1, keepdims=True)
entropy = -(p * np.log(p)).sum(axis=1) / np.log(2)
print(f"ROC-AUC of the entropy:           {roc_auc_score(errors, entropy):.3f}")
print(f"ROC-AUC of embedding column 0:    {roc_auc_score(errors, embedding[:, 0]):.3f}")

fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), layout="constrained")
bins = np.linspace(0, 1, 21)
axes[0].hist(
    [entropy[~errors], entropy[errors]],
    bins=bins,
    density=True,
    label=["correct", "wrong"],
)
axes[0].set(xlabel="normalised entropy", ylabel="density", title="entropy")
axes[0].legend()
bins = np.linspace(-4, 4, 21)
axes[1].hist(
    [embedding[~errors, 0], embedding[errors, 0]],
    bins=bins,
    density=True,
    label=["correct", "wrong"],
)
axes[1].set(xlabel="embedding column 0", title="embedding")
plt.show()

# %%
# What an error probe and ALIEN learn from these rows
# ---------------------------------------------------
# Fitted on half of the rows and scored on the other half: the probe finds
# the embedding direction; ALIEN stays at the entropy's level.

from sklearn.model_selection import train_test_split  # noqa: E402

from alien_sk import AlienUncertaintyEstimator  # noqa: E402
from alien_sk.baselines import Entropy, ErrorProbe  # noqa: E402

X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.5, random_state=0)
errors_te = X_te[:, :2].argmax(axis=1) != y_te
for name, est in [
    ("entropy", Entropy(n_logits=2)),
    ("error probe", ErrorProbe(random_state=0)),
    ("ALIEN", AlienUncertaintyEstimator(n_logits=2, random_state=0)),
]:
    u = est.fit(X_tr, y_tr).predict_uncertainty(X_te)
    print(f"held-out ROC-AUC, {name + ':':<13}{roc_auc_score(errors_te, u):.3f}")
