"""Build and load the benchmarks' products-only bound (bench/_bound.pyx), which is not part of the
installed fastnn.

    python bench/setup_bound.py          # build bench/_bound*.so (also done on first use)

``load()`` returns the compiled module, building it first when it is missing or older than its
source; bench/compare.py and bench/bench_epoch.py use it for their "bound" and "ideal" columns.
"""

import importlib
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE / "_bound.pyx"
SOURCES = (SOURCE, HERE.parent / "fastnn" / "_gemm.pxd")  # the core's gemm wrapper, cimported


def _built():
    from importlib.machinery import EXTENSION_SUFFIXES

    for suffix in EXTENSION_SUFFIXES:
        path = HERE / ("_bound" + suffix)
        if path.exists():
            return path
    return None


def build():
    """Compile bench/_bound.pyx into bench/ (the flags of fastnn's core, no csrc/; fastnn/_gemm.pxd
    from the checkout)."""
    import numpy as np
    from Cython.Build import cythonize
    from setuptools import Extension
    from setuptools.dist import Distribution

    with tempfile.TemporaryDirectory() as tmp:
        ext = Extension(
            "_bound",
            [str(SOURCE)],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=[]
            if sys.platform == "win32"
            else ["-O3", "-fno-math-errno", "-Wno-unused-function"],
        )
        modules = cythonize(
            [ext],
            language_level=3,
            build_dir=tmp,
            include_path=[str(HERE.parent)],
            quiet=True,
            compiler_directives={
                "boundscheck": False,
                "wraparound": False,
                "cdivision": True,
                "initializedcheck": False,
            },
        )
        dist = Distribution({"name": "fastnn-bench-bound", "ext_modules": modules})
        cmd = dist.get_command_obj("build_ext")
        cmd.build_lib, cmd.build_temp = str(HERE), tmp
        dist.run_command("build_ext")
    return _built()


def load():
    """The compiled bound module, built first if missing or stale."""
    path = _built()
    if path is None or path.stat().st_mtime < max(p.stat().st_mtime for p in SOURCES):
        path = build()
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module("_bound")


if __name__ == "__main__":
    print(f"built {build()}")
