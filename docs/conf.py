"""Sphinx configuration of fastnn's documentation.

Build (from the repository root, after building the extension in place)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Warnings are errors. The API reference (docs/api/) is generated from each public module's ``__all__``
by docs/_apigen.py at every build, and so is the command-line reference (docs/api/cli.rst: every
command's ``--help``, from ``fastnn.cli.build_parser()``); the guides are the Markdown pages of docs/
(listed in docs/index.md), the changelog and the contributing guide.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The checkout's fastnn when its core is built in place (python setup.py build_ext --inplace); else
# the installed one: the checkout's sources without the compiled core cannot be imported, so the
# checkout is taken off sys.path (python -m sphinx run from the root puts it first).
if any(p.suffix in (".so", ".pyd") for p in (ROOT / "fastnn").glob("_core.*")):
    sys.path.insert(0, str(ROOT))
else:
    sys.path[:] = [p for p in sys.path if Path(p or os.getcwd()).resolve() != ROOT]
sys.path.insert(0, str(DOCS))

import _apigen  # noqa: E402

import fastnn  # noqa: E402

project = "fastnn"
author = "The fastnn developers"
copyright = "2026, The fastnn developers"
release = fastnn.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "README.md"]

# ---- API reference -------------------------------------------------------------------------------
PUBLIC_MODULES = _apigen.write_pages(DOCS / "api")
# the generated pages, named explicitly: a module that appeared since the last build gets its stubs too
autosummary_generate = [f"api/{m}.rst" for m in PUBLIC_MODULES]
templates_path = ["_templates"]
autosummary_imported_members = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
numpydoc_show_class_members = True
numpydoc_class_members_toctree = False
# scikit-learn's inherited methods (score, get_params, ...) are documented by scikit-learn
numpydoc_show_inherited_class_members = False
numpydoc_xref_param_type = False

# ---- pages written in Markdown (the guides, chapter 3, changelog) -------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
}
# Offline builds (CI without network) must not fail on the inventories: fetch only when asked.
if os.environ.get("FASTNN_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

html_theme = "alabaster"
html_title = f"fastnn {release}"
html_static_path: list = []


def _skip_member(app, what, name, obj, skip, options):
    """scikit-learn generates set_<method>_request for metadata routing; it documents them itself."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)
