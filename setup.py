"""Build the compiled core: fastnn/_core.pyx, cythonized and linked with the C kernels in csrc/.

The units (the Cython module and each C kernel file) compile in parallel, one per core
(``FASTNN_BUILD_JOBS=N`` to choose). Release builds carry no debug information: ``FASTNN_DEBUG=1``
adds ``-g`` (and ``FASTNN_ASAN=1`` builds with AddressSanitizer, see CONTRIBUTING.md). Cython runs at
build time only: making the sdist does not cythonize.

The benchmarks' products-only bound (bench/_bound.pyx) is not part of the package: bench/setup_bound.py
builds it on demand."""

import glob
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
C_KERNELS = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.c")))
C_HEADERS = sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, "csrc", "*.h")))
ASAN = os.environ.get("FASTNN_ASAN") == "1"
DEBUG = os.environ.get("FASTNN_DEBUG") == "1"


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


def compile_args():
    """Compiler flags of the units. The interpreter's own CFLAGS carry ``-g`` (debug information
    doubles the compile time and triples the library): ``-g0`` drops it unless FASTNN_DEBUG=1."""
    if sys.platform == "win32":
        return []
    # -O3 lets gcc vectorize the elementwise kernels; no -ffast-math: NaN checks must keep working.
    args = ["-O3", "-fno-math-errno", "-Wno-unused-function"]
    args.append("-g" if DEBUG or ASAN else "-g0")
    if os.environ.get("FASTNN_NATIVE") == "1":
        args.append("-march=native")
    if ASAN:
        args += ["-fsanitize=address", "-fno-omit-frame-pointer", "-O1"]
    return args


def build_jobs(requested):
    """Parallel compile jobs: ``build_ext -j N``, else $FASTNN_BUILD_JOBS, else one per core."""
    if requested:
        return int(requested)
    env = os.environ.get("FASTNN_BUILD_JOBS", "").strip()
    if env:
        if not env.isdigit() or int(env) < 1:
            raise ValueError(f"FASTNN_BUILD_JOBS must be a positive integer, got {env!r}")
        return int(env)
    return os.cpu_count() or 1


class build_ext(_build_ext):
    """Cythonize at build time, then compile the units of each extension in parallel (setuptools'
    own ``--parallel`` spreads whole extensions over threads, and fastnn has one)."""

    def run(self):
        import numpy as np
        from Cython.Build import cythonize

        render_templates()
        for ext in self.extensions:
            ext.include_dirs.insert(0, np.get_include())
        # the generated C replaces each .pyx in the extensions setuptools has already finalized
        generated = cythonize(
            self.extensions,
            language_level=3,
            compiler_directives={
                "boundscheck": False,
                "wraparound": False,
                "cdivision": True,
                "initializedcheck": False,
                "nonecheck": False,
            },
        )
        for ext, c_ext in zip(self.extensions, generated):
            ext.sources = c_ext.sources
        super().run()

    def build_extensions(self):
        jobs = build_jobs(self.parallel)
        if jobs > 1:
            self.compiler.compile = parallel_compile(self.compiler, jobs)
        super().build_extensions()


def parallel_compile(compiler, jobs):
    """``compiler.compile`` that compiles each source in its own call, ``jobs`` at a time, the
    largest first (the longest unit starts at once rather than last); objects in the sources' order."""
    serial = compiler.compile
    if not getattr(compiler, "initialized", True):
        compiler.initialize()  # MSVC finds its tools on first use: once, before the threads start

    def compile(sources, *args, **kwargs):
        if len(sources) <= 1:
            return serial(sources, *args, **kwargs)
        order = sorted(sources, key=lambda s: -os.path.getsize(s))
        with ThreadPoolExecutor(min(jobs, len(sources))) as pool:
            objects = dict(zip(order, pool.map(lambda s: serial([s], *args, **kwargs), order)))
        return [obj for s in sources for obj in objects[s]]

    return compile


setup(
    ext_modules=[
        Extension(
            "fastnn._core",
            sources=["fastnn/_core.pyx", *C_KERNELS],
            depends=C_HEADERS,
            include_dirs=["csrc"],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
            extra_compile_args=compile_args(),
            extra_link_args=["-fsanitize=address"] if ASAN else [],
        )
    ],
    cmdclass={"build_ext": build_ext},
)
