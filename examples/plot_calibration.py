"""
Calibration of the uncertainty
==============================

An uncertainty score in [0, 1] can be read as the probability that the
classifier is wrong. :class:`~alien_sk.plotting.ReliabilityDisplay` bins the
confidence ``1 − U`` (15 equal-width, right-closed bins by default) and draws
the accuracy of each bin against its mean confidence; the legend gives the
expected calibration error (ECE). Normalised entropy ranks errors well but is
not a probability of error; ALIEN's head is trained with a binary
cross-entropy on the errors themselves, which moves it towards one.
"""

# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause

import matplotlib.pyplot as plt
import numpy as np

from alien_sk import AlienUncertaintyEstimator
from alien_sk.baselines import Entropy, MaxProb
from alien_sk.plotting import ReliabilityDisplay

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
X_test, y_test = simulate(4000, seed=1)

estimators = {
    "MaxProb": MaxProb(n_logits=2),
    "Entropy": Entropy(n_logits=2),
    "ALIEN": AlienUncertaintyEstimator(
        n_logits=2, learning_rate=1e-2, alpha=0.1, beta=0.01, random_state=0
    ),
}

fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
for name, est in estimators.items():
    est.fit(X_train, y_train)
    disp = ReliabilityDisplay.from_estimator(est, X_test, y_test, name=name, ax=ax)
    print(f"{name:<8} ECE = {100 * disp.ece:.2f} (x100)")
ax.set_title("Reliability of 1 - U as P(correct)")
plt.show()

# %%
# ``1 − max p`` (MaxProb) of a calibrated classifier is itself close to the
# probability of error, so it is well calibrated here; the normalised entropy
# of a binary prediction at 90 % confidence is 0.47, which overstates the
# risk of error almost five-fold. The ALIEN head starts from that entropy and the
# training pulls it towards the observed errors, while ``alpha`` keeps it
# close to the entropy: large ``alpha`` trades calibration for staying near
# the baseline. ECE is computed with
# :func:`~alien_sk.metrics.expected_calibration_error`; tables in the
# benchmark print it multiplied by 100.
