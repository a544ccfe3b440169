# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""A small, offline example gallery for Sphinx (sphinx-gallery's file format).

Every ``examples/plot_*.py`` is a script whose module docstring is RST that
starts with a title. The code after it may be split into cells by ``# %%``
lines; the comment lines right after a ``# %%`` are RST text. At
``builder-inited`` each script is executed cell by cell in one namespace
(matplotlib on Agg, stdout captured), its figures are saved as PNG, and
``auto_examples/<name>.rst`` is written with the text, the code, the printed
output and the figures, plus an index page and, for every public name of
``alien_sk``, a list of the examples that use it (included by the API pages).

An example that raises makes the build fail (a Sphinx warning, an error
under ``-W``). A script whose source did not change since the last build is
not run again. No network, no extra dependency.
"""

import ast
import contextlib
import hashlib
import importlib
import inspect
import io
import pkgutil
import re
import shutil
import time
import traceback
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

_CELL = re.compile(r"^# ?%%")
_HEADER = re.compile(r"^#\s*(Authors:|SPDX-License-Identifier:)")
_DPI = 80


def _write_if_changed(path, text):
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def parse_example(path):
    """Split an example into its docstring and a list of ``(kind, text)`` cells.

    ``kind`` is ``"text"`` (RST) or ``"code"``; the SPDX header is dropped.
    """
    source = Path(path).read_text(encoding="utf-8")
    tree = ast.parse(source)
    docstring = ast.get_docstring(tree, clean=True)
    if not docstring:
        raise ValueError(f"{path} must start with an RST docstring holding a title")
    first = tree.body[0]
    lines = source.splitlines()[first.end_lineno :]
    cells = []
    kind, buf = "code", []

    def flush():
        text = "\n".join(buf).strip("\n")
        if text.strip():
            cells.append((kind, text))

    i = 0
    while i < len(lines):
        line = lines[i]
        if _HEADER.match(line):
            i += 1
            continue
        if _CELL.match(line):
            flush()
            buf = []
            i += 1
            text = []
            while i < len(lines) and lines[i].startswith("#"):
                text.append(lines[i][2:] if lines[i].startswith("# ") else "")
                i += 1
            if text:
                kind, buf = "text", text
                flush()
            kind, buf = "code", []
            continue
        buf.append(line)
        i += 1
    flush()
    return docstring, cells


def _title(docstring):
    lines = [ln for ln in docstring.splitlines()]
    for a, b in zip(lines, lines[1:], strict=False):
        if a.strip() and b.strip() and set(b.strip()) <= set("=-~^*#+"):
            return a.strip()
    raise ValueError("the example's docstring has no RST title")


def _summary(docstring):
    """First paragraph after the title."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", docstring)]
    for p in paras[1:]:
        if p and not p.startswith(".."):
            text = " ".join(p.split())
            match = re.search(r"(?<=[.!?])\s+(?=[A-Z(`:])", text)
            return text[: match.start()] if match else text
    return ""


def run_cells(cells, path, image_stem, image_dir):
    """Execute the code cells; return per-cell ``(stdout, [image names])``."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    import numpy as np

    matplotlib.rcdefaults()
    plt.close("all")
    np.random.seed(0)
    namespace = {"__name__": "__main__", "__file__": str(path)}
    results, n_images = [], 0
    for kind, text in cells:
        if kind != "code":
            results.append(None)
            continue
        out = io.StringIO()
        code = compile(text, str(path), "exec")
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(code, namespace)
        images = []
        for num in plt.get_fignums():
            n_images += 1
            name = f"{image_stem}_{n_images:03d}.png"
            fig = plt.figure(num)
            fig.savefig(Path(image_dir) / name, dpi=_DPI, metadata={"Software": None})
            images.append(name)
        plt.close("all")
        results.append((out.getvalue(), images))
    return results


def _indent(text, n=3):
    pad = " " * n
    return "\n".join(pad + ln if ln.strip() else "" for ln in text.splitlines())


def render_rst(stem, docstring, cells, results, elapsed):
    parts = [f".. _example_{stem}:", "", docstring.strip(), ""]
    for (kind, text), res in zip(cells, results, strict=True):
        if kind == "text":
            parts += [text, ""]
            continue
        parts += [".. code-block:: python", "", _indent(text), ""]
        output, images = res
        if output.strip():
            parts += [
                ".. rst-class:: gallery-output",
                "",
                ".. code-block:: none",
                "",
                _indent(output.rstrip()),
                "",
            ]
        for name in images:
            parts += [
                f".. image:: images/{name}",
                "   :class: gallery-figure",
                f"   :alt: figure {name} of {stem}",
                "",
            ]
    parts += [
        ".. rst-class:: gallery-footer",
        "",
        f":download:`Download the script {stem}.py <{stem}.py>`",
        "",
    ]
    return "\n".join(parts)


def _public_names():
    """``{"module.Name": object}`` for every public name of alien_sk."""
    import alien_sk

    modules = ["alien_sk"]
    for info in pkgutil.walk_packages(alien_sk.__path__, prefix="alien_sk."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]):
            continue
        modules.append(info.name)
    names = {}
    for modname in modules:
        try:
            module = importlib.import_module(modname)
        except Exception as exc:  # a module that does not import is reported
            logger.warning(f"gallery: cannot import {modname}: {exc!r}")
            continue
        for name in getattr(module, "__all__", []):
            if name.startswith("__"):
                continue
            try:
                names[f"{modname}.{name}"] = getattr(module, name)
            except Exception as exc:
                logger.warning(f"gallery: {modname}.{name} does not resolve: {exc!r}")
    return names


def used_objects(path):
    """Objects of alien_sk that an example imports or reaches by attribute."""
    tree = ast.parse(Path(path).read_text(encoding="utf-8"))
    aliases, used = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "alien_sk"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                obj = getattr(module, alias.name, None)
                if obj is None:
                    with contextlib.suppress(ImportError):
                        obj = importlib.import_module(f"{node.module}.{alias.name}")
                if obj is not None:
                    aliases[alias.asname or alias.name] = obj
                    used.append(obj)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("alien_sk"):
                    top = alias.asname or alias.name.split(".")[0]
                    target = alias.name if alias.asname else "alien_sk"
                    aliases[top] = importlib.import_module(target)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = aliases.get(node.value.id)
            if inspect.ismodule(base):
                obj = getattr(base, node.attr, None)
                if obj is not None:
                    used.append(obj)
    return used


def generate_gallery(app):
    src = Path(app.config.gallery_examples_dir)
    out = Path(app.srcdir) / app.config.gallery_output_dir
    images = out / "images"
    images.mkdir(parents=True, exist_ok=True)
    (out / "backrefs").mkdir(parents=True, exist_ok=True)
    order = {stem: i for i, stem in enumerate(app.config.gallery_order)}
    scripts = sorted(
        src.glob("plot_*.py"), key=lambda p: (order.get(p.stem, len(order)), p.stem)
    )

    entries, uses = [], {}
    for path in scripts:
        stem = path.stem
        docstring, cells = parse_example(path)
        title = _title(docstring)
        entries.append((stem, title, _summary(docstring)))
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        stamp = out / f"{stem}.sha256"
        rst = out / f"{stem}.rst"
        shutil.copyfile(path, out / path.name)
        fresh = (
            rst.exists()
            and stamp.exists()
            and stamp.read_text().strip() == digest
            and not app.config.gallery_force_run
        )
        if not fresh:
            for old in images.glob(f"{stem}_*.png"):
                old.unlink()
            start = time.perf_counter()
            try:
                results = run_cells(cells, path, stem, images)
            except Exception:
                stamp.unlink(missing_ok=True)
                logger.warning(
                    f"gallery: example {path.name} failed:\n{traceback.format_exc()}"
                )
                results = [None if k == "text" else ("(failed)", []) for k, _ in cells]
            elapsed = time.perf_counter() - start
            logger.info(f"gallery: ran {path.name} in {elapsed:.1f} s")
            _write_if_changed(rst, render_rst(stem, docstring, cells, results, elapsed))
            if all(r is None or r[0] != "(failed)" for r in results):
                stamp.write_text(digest + "\n")
        for obj in used_objects(path):
            uses.setdefault(id(obj), []).append(stem)

    titles = {stem: title for stem, title, _ in entries}
    for key, obj in _public_names().items():
        stems = sorted(set(uses.get(id(obj), [])))
        text = ""
        if stems:
            name = key.rsplit(".", 1)[1]
            text = f".. rubric:: Examples using ``{name}``\n\n" + "".join(
                f"- :ref:`{titles[s]} <example_{s}>`\n" for s in stems
            )
        _write_if_changed(out / "backrefs" / f"{key}.rst", text + "\n")

    intro = ""
    readme = src / "README.txt"
    if readme.exists():
        intro = readme.read_text(encoding="utf-8").strip() + "\n"
    else:
        intro = "Examples\n========\n"
    index = [".. _examples:", "", intro]
    for stem, title, summary in entries:
        index.append(f"- :ref:`{title} <example_{stem}>`: {summary}")
    index += ["", ".. toctree::", "   :hidden:", ""]
    index += [f"   {stem}" for stem, _, _ in entries]
    _write_if_changed(out / "index.rst", "\n".join(index) + "\n")


def setup(app):
    app.add_config_value("gallery_examples_dir", "../examples", "env")
    app.add_config_value("gallery_output_dir", "auto_examples", "env")
    app.add_config_value("gallery_force_run", False, "env")
    app.add_config_value("gallery_order", [], "env")  # stems first, then the rest
    app.connect("builder-inited", generate_gallery)
    return {"version": "1.0", "parallel_read_safe": True}
