# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""The documentation covers the public API, and the gallery examples run.

Every name in the ``__all__`` of ``alien_sk`` and of its public modules must be
listed in ``docs/api.rst`` (MAPIE's ``test_doc_api_reference`` idea), and every
``examples/plot_*.py`` must have an RST title and run without error. Sphinx is
not needed here: the HTML build itself is ``bash scripts/docs.sh``.
"""

import ast
import importlib
import inspect
import pkgutil
import re
import runpy
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
API_RST = ROOT / "docs" / "api.rst"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))

# modules whose __all__ is the public API; the root exports the main classes
PUBLIC_MODULES = [
    "alien_sk",
    "alien_sk.baselines",
    "alien_sk.cli",
    "alien_sk.datasets",
    "alien_sk.demo",
    "alien_sk.deploy",
    "alien_sk.estimator",
    "alien_sk.exceptions",
    "alien_sk.features",
    "alien_sk.finetune",
    "alien_sk.head",
    "alien_sk.metrics",
    "alien_sk.pipeline",
    "alien_sk.plotting",
    "alien_sk.selective",
    "alien_sk.utils",
    "alien_sk.utils.estimator_checks",
]
# names in __all__ that are not objects to document
NOT_DOCUMENTED = {"__version__"}
# public callables whose docstring may lack an Examples section, with the reason
NO_EXAMPLE = {
    "alien_sk.cli.main": "runs the command line (the demo); tested in the demo tests",
    "alien_sk.demo.run_benchmark": "fine-tunes a model and runs the whole benchmark",
    "alien_sk.demo.run_finetune_seeds": "fine-tunes several models, runs the benchmark "
    "on each",
}


def _api_entries():
    """``[(currentmodule, name)]`` of every autosummary entry in docs/api.rst."""
    entries, current, in_summary = [], None, False
    for line in API_RST.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\.\.\s+currentmodule::\s+(\S+)", line)
        if match:
            current, in_summary = match.group(1), False
            continue
        if re.match(r"\.\.\s+autosummary::", line):
            in_summary = True
            continue
        if in_summary:
            stripped = line.strip()
            if not stripped or stripped.startswith(":"):
                continue
            if not line.startswith("   "):
                in_summary = False
                continue
            entries.append((current, stripped))
    return entries


def _resolve(module, name):
    obj = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def test_api_rst_entries_resolve():
    entries = _api_entries()
    assert entries, "docs/api.rst lists no autosummary entry"
    for module, name in entries:
        try:
            _resolve(module, name)
        except (ImportError, AttributeError) as exc:
            pytest.fail(
                f"docs/api.rst lists {module}.{name}, which does not import: {exc}"
            )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_names_in_api_reference(module_name):
    module = importlib.import_module(module_name)
    public = [n for n in getattr(module, "__all__", []) if n not in NOT_DOCUMENTED]
    documented = {id(_resolve(m, n)) for m, n in _api_entries()}
    missing = [n for n in public if id(getattr(module, n)) not in documented]
    assert not missing, (
        f"public names of {module_name} missing from docs/api.rst: {missing}; "
        "add them to the matching section"
    )


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_public_callables_have_examples(module_name):
    """numpydoc docstrings with a (doctested) Examples section on public names."""
    module = importlib.import_module(module_name)
    missing = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if name in NOT_DOCUMENTED or not callable(obj):
            continue
        qualified = f"{obj.__module__}.{name}"
        doc = inspect.getdoc(obj) or ""
        examples = doc.partition("\nExamples\n--------")[2]
        if ">>> " not in examples and qualified not in NO_EXAMPLE:
            missing.append(qualified)
    assert not missing, (
        f"public names without a runnable (>>>) Examples section: {missing}"
    )


def test_examples_exist():
    assert EXAMPLES, "no examples/plot_*.py"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_has_title_and_header(path):
    source = path.read_text(encoding="utf-8")
    assert "# SPDX-License-Identifier: BSD-3-Clause" in source
    doc = ast.get_docstring(ast.parse(source))
    assert doc, f"{path.name} must start with an RST docstring"
    lines = doc.splitlines()
    assert len(lines) >= 2 and lines[1].strip() and set(lines[1].strip()) == {"="}, (
        f"{path.name}: the docstring must open with a title underlined with '='"
    )
    assert len(lines[1].strip()) >= len(lines[0].strip())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(path, monkeypatch, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        plt.close("all")


def test_every_public_module_is_checked():
    """A new public module with an ``__all__`` must join PUBLIC_MODULES."""
    import alien_sk

    found = set()
    for info in pkgutil.walk_packages(alien_sk.__path__, prefix="alien_sk."):
        if any(part.startswith("_") for part in info.name.split(".")[1:]):
            continue
        if hasattr(importlib.import_module(info.name), "__all__"):
            found.add(info.name)
    missing = sorted(found - set(PUBLIC_MODULES))
    assert not missing, f"add {missing} to PUBLIC_MODULES and to docs/api.rst"


def test_estimators_and_displays_link_the_user_guide():
    """As in scikit-learn: 'Read more in the User Guide' on every estimator."""
    from sklearn.base import BaseEstimator

    missing = []
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if not inspect.isclass(obj):
                continue
            if issubclass(obj, BaseEstimator) or name.endswith("Display"):
                if ":ref:`User Guide <" not in (inspect.getdoc(obj) or ""):
                    missing.append(f"{module_name}.{name}")
    assert not missing, f"no 'Read more in the :ref:`User Guide <...>`': {missing}"


def _rst_python_blocks(path):
    """The ``.. code-block:: python`` blocks of an RST file, dedented."""
    blocks, lines = [], path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() != ".. code-block:: python":
            continue
        body = []
        for nxt in lines[i + 1 :]:
            if nxt.strip() and not nxt.startswith("   "):
                break
            body.append(nxt[3:])
        blocks.append("\n".join(body).strip("\n") + "\n")
    return blocks


def test_getting_started_first_example_prints_what_it_says(capsys):
    """The synthetic-data walk-through runs and prints its commented scores."""
    guide = ROOT / "docs" / "getting_started.rst"
    (block,) = [b for b in _rst_python_blocks(guide) if "def simulate(" in b]
    expected = re.findall(r"^print\(.*\)\s*#\s*([0-9.]+)$", block, flags=re.M)
    assert len(expected) == 2, "the block's print lines lost their # result"
    exec(compile(block, str(guide), "exec"), {"__name__": "getting_started"})
    printed = [line.split()[-1] for line in capsys.readouterr().out.splitlines()]
    # to the printed digits; a training run's last digits follow the
    # platform's floating point (numpy's exp and log differ between releases)
    np.testing.assert_allclose(
        np.array(printed, float), np.array(expected, float), atol=0.004
    )
