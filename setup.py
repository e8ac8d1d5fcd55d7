"""Build the compiled core: fastnn/_core.pyx, cythonized and linked with the C kernels in csrc/.

The benchmarks' products-only bound (bench/_bound.pyx) is not part of the package: bench/setup_bound.py
builds it on demand."""

import glob
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
C_KERNELS = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.c")))
C_HEADERS = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.h")))


def render_templates():
    """fastnn/*.pxi.tp -> fastnn/*.pxi with Tempita (part of Cython): the C kernels' declarations
    and fused wrappers, one line per kernel (fastnn/_kernels.pxi.tp). Rewritten only when changed,
    so an unchanged template does not trigger a rebuild."""
    from Cython import Tempita

    for template in sorted(glob.glob(os.path.join(HERE, "fastnn", "*.pxi.tp"))):
        with open(template, encoding="utf-8") as f:
            text = Tempita.sub(f.read())
        target = template[: -len(".tp")]
        if os.path.exists(target):
            with open(target, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)


render_templates()

extra_compile_args = []
if sys.platform != "win32":
    # -O3 lets gcc vectorize the elementwise kernels; no -ffast-math: NaN checks must keep working.
    extra_compile_args = ["-O3", "-fno-math-errno", "-Wno-unused-function"]
if os.environ.get("FASTNN_NATIVE") == "1":
    extra_compile_args.append("-march=native")
if os.environ.get("FASTNN_ASAN") == "1":
    extra_compile_args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1", "-g"]

extensions = [
    Extension(
        "fastnn._core",
        sources=["fastnn/_core.pyx", *C_KERNELS],
        depends=C_HEADERS,
        include_dirs=[np.get_include(), "csrc"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
        extra_link_args=["-fsanitize=address"] if os.environ.get("FASTNN_ASAN") == "1" else [],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "nonecheck": False,
        },
    ),
)
