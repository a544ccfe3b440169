# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""ALIEN uncertainty estimation for language-model classifiers.

``alien_sk`` turns a fine-tuned ``transformers`` classifier into features
(:class:`FeatureExtractor`) and fits an entropy-initialised uncertainty head on
them (:class:`AlienUncertaintyEstimator`), with the usual scikit-learn
interface. torch and transformers are imported lazily: ``import alien_sk``
stays fast, and the metrics and baselines never load torch.
"""

import importlib

__version__ = "0.1.0"

# public name -> module that defines it; resolved on first attribute access
_LAZY_IMPORTS = {
    "FeatureExtractor": "alien_sk.features",
    "AlienUncertaintyEstimator": "alien_sk.estimator",
}

__all__ = [
    "AlienUncertaintyEstimator",
    "FeatureExtractor",
    "__version__",
]


def __getattr__(name):
    if name in _LAZY_IMPORTS:
        module = importlib.import_module(_LAZY_IMPORTS[name])
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'alien_sk' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
