"""Load scipy's BLAS function table (``scipy.linalg.cython_blas``) without importing scipy.linalg.

The compiled core takes its dgemm/sgemm pointers from ``scipy.linalg.cython_blas``. Importing that
module the ordinary way first runs ``scipy/linalg/__init__.py``, which loads all of LAPACK and the
linear-algebra package, which fastnn never uses. Loading the one extension module by its file
instead measured (``import fastnn; fastnn.Network``, median of 5, shared 2-core machine):
0.51 s and 33 MB peak RSS, against 1.21 s and 57 MB with the ordinary import.

When the file is not where scipy's layout puts it today (or loading it fails), :func:`preload`
falls back to the ordinary import: slower, never broken (tested in tests/test_blas_threads.py).
"""

import importlib
import importlib.util
import os
import sys
from importlib.machinery import EXTENSION_SUFFIXES

_NAME = "scipy.linalg.cython_blas"


def _locate():
    """Path of scipy's cython_blas extension module, or None."""
    spec = importlib.util.find_spec("scipy")
    for root in (spec.submodule_search_locations or []) if spec else []:
        for suffix in EXTENSION_SUFFIXES:
            path = os.path.join(root, "linalg", "cython_blas" + suffix)
            if os.path.exists(path):
                return path
    return None


def preload():
    """Make ``scipy.linalg.cython_blas`` importable before the core needs it. Returns how:
    "loaded" (already there), "file" (by its file, light) or "import" (the ordinary import)."""
    if _NAME in sys.modules:
        return "loaded"
    if "scipy.linalg" not in sys.modules:
        try:
            path = _locate()
            if path is not None:
                spec = importlib.util.spec_from_file_location(_NAME, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[_NAME] = module
                spec.loader.exec_module(module)
                return "file"
        except Exception:
            sys.modules.pop(_NAME, None)
    importlib.import_module(_NAME)
    return "import"
