# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
import random

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def seeds_fixed():
    """Fix the global RNGs for every test (skorch style)."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.manual_seed(0)


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``gpu`` when no CUDA device is visible."""
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        has_cuda = False
    if has_cuda:
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory):
    """Factory ``get(family, task="sequence") -> folder`` of tiny saved models.

    Each (family, task) is built once per session, offline, by
    ``tests/_tiny_models.py``; treat the folders as read-only.
    """
    from _tiny_models import save_tiny_model

    root = tmp_path_factory.mktemp("tiny_models")
    built = {}

    def get(family, task="sequence"):
        if (family, task) not in built:
            built[family, task] = save_tiny_model(
                family, root / f"{family}-{task}", task=task
            )
        return built[family, task]

    return get
