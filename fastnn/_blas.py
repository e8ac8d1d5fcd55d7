"""Load scipy's BLAS function table (``scipy.linalg.cython_blas``) without importing scipy.linalg.

The compiled core takes its dgemm/sgemm pointers from ``scipy.linalg.cython_blas``. Importing that
module the ordinary way first runs ``scipy/linalg/__init__.py``, which loads all of LAPACK and
the linear-algebra package: ~27 MB of resident memory and a few hundred milliseconds that fastnn
never uses. Loading the one extension module by its file costs ~2 MB. Any surprise falls back to
the ordinary import.
"""
import importlib.util
import sys

_NAME = "scipy.linalg.cython_blas"


def preload():
    if _NAME in sys.modules or "scipy.linalg" in sys.modules:
        return
    try:
        import scipy
        spec = importlib.util.find_spec("scipy")
        roots = list(spec.submodule_search_locations or [])
        from importlib.machinery import EXTENSION_SUFFIXES
        import os
        for root in roots:
            for suffix in EXTENSION_SUFFIXES:
                path = os.path.join(root, "linalg", "cython_blas" + suffix)
                if os.path.exists(path):
                    mod_spec = importlib.util.spec_from_file_location(_NAME, path)
                    module = importlib.util.module_from_spec(mod_spec)
                    sys.modules[_NAME] = module
                    try:
                        mod_spec.loader.exec_module(module)
                    except BaseException:
                        sys.modules.pop(_NAME, None)
                        raise
                    return
    except Exception:  # pragma: no cover - fall back to the ordinary import in _core
        sys.modules.pop(_NAME, None)
