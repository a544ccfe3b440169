# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Find every public estimator of alien_sk (scikit-learn project-template style)."""

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator

_SKIP_MODULES = {"alien_sk.cli", "alien_sk.__main__"}


def all_estimators(type_filter=None):
    """List the public estimators defined in alien_sk.

    Parameters
    ----------
    type_filter : {"uncertainty", "transformer"} or None, default=None
        ``"uncertainty"`` keeps estimators with a ``predict_uncertainty``
        method, ``"transformer"`` those with ``transform``; None keeps all.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs sorted by name.

    Examples
    --------
    >>> from alien_sk.utils import all_estimators
    >>> names = [name for name, _ in all_estimators("uncertainty")]
    >>> "AlienUncertaintyEstimator" in names
    True
    """
    import alien_sk

    found = {}
    for info in pkgutil.walk_packages(alien_sk.__path__, prefix="alien_sk."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or info.name in _SKIP_MODULES:
            continue
        if info.name.startswith("alien_sk.utils"):
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseEstimator)
                and cls.__module__.startswith("alien_sk")
                and not name.startswith("_")
                and not name.startswith("Base")
                and not inspect.isabstract(cls)
            ):
                found[name] = cls
    items = sorted(found.items())
    if type_filter == "uncertainty":
        items = [(n, c) for n, c in items if hasattr(c, "predict_uncertainty")]
    elif type_filter == "transformer":
        items = [(n, c) for n, c in items if hasattr(c, "transform")]
    elif type_filter is not None:
        raise ValueError(
            f"type_filter={type_filter!r}; expected 'uncertainty', 'transformer' "
            "or None."
        )
    return items
