"""What importing fastnn loads: light modules stay light, submodules are attributes, and scipy's
BLAS table is loaded by file with a working fallback to the ordinary import."""

import os
import subprocess
import sys

import pytest
from conftest import package_env


def _python(code):
    # cwd: `python -c` puts it first on sys.path; the tests folder holds no fastnn to shadow the
    # one under test (the checkout root would, when testing an installed fastnn)
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=package_env(),
        timeout=120,
        cwd=os.path.dirname(__file__),
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.parametrize(
    "module", ["fastnn", "fastnn.data", pytest.param("fastnn.sklearn", marks=pytest.mark.slow)]
)  # ~1.5 s
def test_light_imports_do_not_load_the_compiled_core(module):
    loaded = _python(
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m in ('fastnn._core', "
        "'fastnn.network')))"
    )
    assert loaded == "[]"


@pytest.mark.slow  # a subprocess importing all submodules (~1.5 s)
def test_submodules_are_attributes_of_a_plain_import():
    out = _python(
        "import sys, fastnn; "
        "assert 'fastnn.data' not in sys.modules; "
        "print(fastnn.data.onehot([1], 2).tolist(), fastnn.sklearn.NetworkClassifier.__name__, "
        "fastnn.Network.__name__, 'data' in dir(fastnn))"
    )
    assert out == "[[0.0, 1.0]] NetworkClassifier Network True"


def test_unknown_attribute_is_an_attribute_error():
    import fastnn

    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        fastnn.nonexistent  # noqa: B018
    assert not hasattr(fastnn, "no_such_submodule")


def test_blas_table_is_loaded_by_file_without_scipy_linalg():
    """The light path: the core gets dgemm from scipy's cython_blas loaded by its file."""
    out = _python(
        "import sys, fastnn._blas as b; how = b.preload(); "
        "import fastnn, numpy as np; net = fastnn.Network([3, 2], seed=0); "
        "net.SGD((np.eye(3), np.array([0, 1, 1])), 1, 1, 0.1); "
        "print(how, 'scipy.linalg' in sys.modules)"
    )
    assert out == "file False"


def test_blas_table_falls_back_to_the_ordinary_import_when_the_file_is_not_found():
    """scipy's layout may change: with the file not found, the ordinary import is used and
    training still gives the same result."""
    code = (
        "import sys, fastnn._blas as b; {patch} how = b.preload(); "
        "import fastnn, numpy as np; net = fastnn.Network([3, 4, 2], seed=0); "
        "net.SGD((np.eye(3), np.array([0, 1, 1])), 2, 1, 0.1); "
        "print(how, 'scipy.linalg' in sys.modules, repr(float(net.weights[0].sum())))"
    )
    fallback = _python(code.format(patch="b._locate = lambda: None;"))
    broken = _python(code.format(patch="b._locate = lambda: '/nonexistent/cython_blas.so';"))
    normal = _python(code.format(patch=""))
    assert fallback.split()[:2] == ["import", "True"]
    assert broken.split()[:2] == ["import", "True"]
    assert normal.split()[:2] == ["file", "False"]
    assert fallback.split()[2] == broken.split()[2] == normal.split()[2]
