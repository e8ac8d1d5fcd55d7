"""Build the compiled core: every fastnn/*.pyx is cythonized and linked with the C kernels in csrc/."""
import glob
import os
import sys

import shutil

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_KERNELS = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.c")))

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
        "fastnn." + os.path.splitext(os.path.basename(pyx))[0],
        sources=[os.path.relpath(pyx, HERE)] + C_KERNELS,
        include_dirs=[np.get_include(), "csrc"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
        extra_link_args=["-fsanitize=address"] if os.environ.get("FASTNN_ASAN") == "1" else [],
    )
    for pyx in sorted(glob.glob(os.path.join(HERE, "fastnn", "*.pyx")))
]

class build_ext_also_in_place(build_ext):
    """Build as usual, then also copy the compiled modules next to their sources in fastnn/.

    `pip install .` installs into site-packages; without this, running Python from the checkout
    (`python -m fastnn`, `import fastnn` in the repository root) would find the source package,
    which has no compiled core. Best effort: a read-only checkout only loses the convenience."""

    def run(self):
        super().run()
        if self.inplace:
            return
        for ext in self.extensions:
            built = self.get_ext_fullpath(ext.name)
            target = os.path.join(HERE, *ext.name.split(".")[:-1], os.path.basename(built))
            try:
                if os.path.abspath(built) != os.path.abspath(target):
                    shutil.copyfile(built, target + ".tmp")
                    os.replace(target + ".tmp", target)
            except OSError:
                pass


setup(
    cmdclass={"build_ext": build_ext_also_in_place},
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
