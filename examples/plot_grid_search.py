"""
Tuning alpha, beta and the learning rate
========================================

:meth:`~alien_sk.AlienUncertaintyEstimator.score` is the misclassification
ROC-AUC, so :class:`~sklearn.model_selection.GridSearchCV` tunes the head
with no ``scoring`` argument. Here: the paper's protocol, a head trained on a
training split and chosen on a validation split
(:class:`~sklearn.model_selection.PredefinedSplit`), over the regularisation
weights ``alpha`` (stay close to entropy) and ``beta`` (L2-SP), then several
metrics at once with ``refit=``.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, PredefinedSplit

from alien_sk import AlienUncertaintyEstimator
from alien_sk.metrics import get_uncertainty_scorer

D = 16
W = np.zeros((2, D))
W[:, 0] = [-1.5, 1.5]


def simulate(n, seed):
    """A linear classifier that ignores a label-flipping cue."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((n, D))
    y = (h[:, 0] + 0.3 * rng.standard_normal(n) > 0).astype(int)
    y[h[:, 2] > 1.0] = 0
    return np.hstack([h @ W.T, h]).astype(np.float32), y


X_train, y_train = simulate(2000, seed=0)
X_val, y_val = simulate(1000, seed=1)
X_test, y_test = simulate(4000, seed=2)

# %%
# A predefined split: train on the training part, choose on validation
# -------------------------------------------------------------------------
# ``-1`` marks rows that are always in the training fold.

X = np.vstack([X_train, X_val])
y = np.concatenate([y_train, y_val])
fold = np.r_[np.full(len(y_train), -1), np.zeros(len(y_val))]

grid = {"alpha": [0.01, 0.1, 1.0], "beta": [0.01, 0.1, 1.0]}
search = GridSearchCV(
    AlienUncertaintyEstimator(n_logits=2, learning_rate=1e-2, random_state=0),
    grid,
    cv=PredefinedSplit(fold),
)
search.fit(X, y)
print("best:", search.best_params_, f"validation ROC-AUC {search.best_score_:.3f}")

# %%
# By default ``GridSearchCV`` refits the best head on the training *and*
# validation rows. The paper keeps the head trained on the training split
# only; clone the best estimator and fit it there to follow it exactly.

head = clone(search.best_estimator_).fit(X_train, y_train)
print(
    f"test ROC-AUC, refitted on train + validation: {search.score(X_test, y_test):.3f}"
)
print(f"test ROC-AUC, trained on the training split:  {head.score(X_test, y_test):.3f}")

# %%
# The validation ROC-AUC over the grid:

scores = search.cv_results_["mean_test_score"].reshape(3, 3)
fig, ax = plt.subplots(figsize=(4.5, 3.8), layout="constrained")
im = ax.imshow(scores, cmap="viridis", origin="lower")
ax.set(
    xticks=range(3),
    xticklabels=grid["beta"],
    yticks=range(3),
    yticklabels=grid["alpha"],
    xlabel="beta (L2-SP)",
    ylabel="alpha (alignment to entropy)",
    title="validation ROC-AUC",
)
for (i, j), v in np.ndenumerate(scores):
    ax.text(j, i, f"{v:.3f}", ha="center", va="center", color="w")
fig.colorbar(im, ax=ax)
plt.show()

# %%
# Several metrics, one of them picks
# ----------------------------------
# Named scorers come from :func:`~alien_sk.metrics.get_uncertainty_scorer`;
# metrics where lower is better are negated (``neg_*``), so greater is always
# better. scikit-learn does not know these names: pass the scorer objects.

scoring = {
    "roc_auc": get_uncertainty_scorer("misclassification_roc_auc"),
    "aurc": get_uncertainty_scorer("neg_aurc"),
    "ece": get_uncertainty_scorer("neg_ece"),
}
search = GridSearchCV(
    AlienUncertaintyEstimator(n_logits=2, learning_rate=1e-2, random_state=0),
    grid,
    scoring=scoring,
    refit="aurc",
    cv=PredefinedSplit(fold),
).fit(X, y)
print("best by AURC:", search.best_params_)
for key in ["roc_auc", "aurc", "ece"]:
    best = search.cv_results_[f"mean_test_{key}"][search.best_index_]
    print(f"  validation {key:<8} {best:+.4f}")
