# Authors: The alien_sk developers
# SPDX-License-Identifier: BSD-3-Clause
"""Sphinx configuration of the alien_sk documentation.

The build is offline and deterministic: no intersphinx, no remote images, and
the examples in ``examples/plot_*.py`` run on tiny synthetic data or tiny
random models (see ``sphinxext/gallery.py``). Build it with
``bash scripts/docs.sh``.
"""

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))
sys.path.insert(0, str(HERE.parent))

# examples and autodoc must never reach a model hub, nor open a window
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

import alien_sk  # noqa: E402

project = "alien_sk"
author = "The alien_sk developers"
copyright = "The alien_sk developers (BSD-3-Clause)"
version = alien_sk.__version__
release = alien_sk.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "gallery",
]

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "README.md",
    "Thumbs.db",
    ".DS_Store",
    # included by other pages, not pages of their own
    "auto_examples/backrefs",
    "deploy.rst",  # included by user_guide/deploy.rst
]
root_doc = "index"
language = "en"
today_fmt = "%Y"  # no build date in the pages: the build is reproducible

# -- autodoc / autosummary / numpydoc ---------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"
add_module_names = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# MathJax is served from a CDN by default; the pages still build offline and
# the formulas fall back to their TeX source when the page is read offline.

# -- examples (sphinxext/gallery.py) -----------------------------------------
gallery_examples_dir = str(HERE.parent / "examples")
gallery_output_dir = "auto_examples"
gallery_order = [  # reading order of the examples page; others follow by name
    "plot_synthetic_data",
    "plot_alien_vs_baselines",
    "plot_entropy_initialisation",
    "plot_grid_search",
    "plot_calibration",
    "plot_selective_prediction",
    "plot_feature_extraction",
    "plot_token_level",
    "plot_deployment",
]

# -- HTML ---------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"alien_sk {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_theme_options = {
    "description": "ALIEN uncertainty for language-model classifiers, "
    "the scikit-learn way.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
    "show_relbars": True,
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]
}
html_last_updated_fmt = None
html_show_sourcelink = False
html_copy_source = False


# scikit-learn's metadata-routing methods (set_fit_request, ...) are generated
# on every estimator; their docstrings point into scikit-learn's own docs.
_SKIPPED_INHERITED = re.compile(r"^(set_\w+_request|get_metadata_routing)$")


def _skip_member(app, what, name, obj, skip, options):
    if _SKIPPED_INHERITED.match(name):
        return True
    # torch.nn.Module's own API (hooks, buffers, ...) on the deploy modules,
    # and tuple methods/field aliases on NamedTuples (their fields are in the
    # numpydoc Attributes section)
    module = getattr(obj, "__module__", None) or ""
    if module.startswith("torch."):
        return True
    if getattr(obj, "__objclass__", None) is tuple:
        return True
    if type(obj).__name__ == "_tuplegetter":
        return True
    return None


# In a numpydoc type such as "ndarray of shape (n_logits_,)", RST reads the
# trailing underscore of a fitted attribute as a hyperlink reference. Escape
# it inside parentheses (where it can only be a shape) before numpydoc runs.
_SHAPE = re.compile(r"\(([^()`]*)\)")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*?[A-Za-z0-9])_(?=\W|$)")


def _escape_shapes(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if " of shape (" in line or " shape (" in line:
            lines[i] = _SHAPE.sub(
                lambda m: "(" + _TRAILING_UNDERSCORE.sub(r"\1\\_", m.group(1)) + ")",
                line,
            )


# Methods inherited from scikit-learn (get_params, set_output, ...) keep their
# docstrings, but their :ref:/:term: roles point into scikit-learn's own docs,
# which this offline build cannot link to: keep the text, drop the link.
_ROLE_WITH_TARGET = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*<[^>]*>`")
_ROLE = re.compile(r":(?:ref|term|doc):`([^`]*)`")


def _unlink_sklearn_refs(app, what, name, obj, options, lines):
    module = getattr(obj, "__module__", None) or ""
    if not module.startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _ROLE.sub(r"\1", _ROLE_WITH_TARGET.sub(r"\1", line))


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_refs, priority=100)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _escape_shapes, priority=100)
