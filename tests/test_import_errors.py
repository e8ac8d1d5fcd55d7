"""Python started inside the source checkout after `pip install .` (issue #24): the checkout's
uncompiled fastnn/ shadows the installed package. The ImportError says so and gives the two fixes
(run elsewhere, or build in place) instead of "cannot import name '_core' from 'fastnn'"."""

import os
import shutil
import subprocess
import sys

import pytest
from conftest import package_env

import fastnn


def _checkout(tmp_path):
    """A copy of the package's sources without the compiled core, as in a fresh checkout."""
    src = os.path.dirname(os.path.abspath(fastnn.__file__))
    dst = tmp_path / "checkout" / "fastnn"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("_core*.so", "_core*.pyd", "__pycache__"))
    (dst / "_core.pyx").touch()  # an installed copy may not ship the .pyx
    return dst.parent, src


@pytest.mark.slow
@pytest.mark.parametrize(
    "code", ["import fastnn; fastnn.Network", "import fastnn.network", "from fastnn import softmax"]
)
def test_shadowed_checkout_says_what_to_do(tmp_path, code):
    checkout, installed = _checkout(tmp_path)
    env = package_env()
    env.pop("PYTHONSAFEPATH")  # the current directory first on sys.path, as for a user
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=checkout, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: fastnn's compiled core (fastnn._core) is not built in"), last
    assert "shadows the installed fastnn in " + installed in last, last
    assert "run Python outside the checkout" in last and "build_ext --inplace" in last, last
