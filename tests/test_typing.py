"""Types users' checkers see: mypy flags mistyped calls through fastnn's annotations and the stub of
the compiled core, accepts the documented uses, and the stub lists exactly the core's public names."""

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "typing_fixtures"

needs_mypy = pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")


def _expected_errors(path):
    """{line: error code} from the ``# E: <code>`` markers of a fixture file."""
    expected = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        m = re.search(r"#\s*E:\s*([a-z-]+)\s*$", line)
        if m:
            expected[lineno] = m.group(1)
    return expected


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory):
    """mypy's errors on the fixture files, {(file name, line): [codes]} (one run for both files)."""
    cache = tmp_path_factory.mktemp("mypy-cache")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(cache),
            "--no-pretty",
            "--show-error-codes",
            "--hide-error-context",
            str(FIXTURES / "bad_sgd.py"),
            str(FIXTURES / "good_usage.py"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        pytest.fail(f"mypy failed to run (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    errors = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"(.+?):(\d+): error: .*\[([a-z-]+)\]$", line)
        if m:
            errors.setdefault((Path(m.group(1)).name, int(m.group(2))), []).append(m.group(3))
    return errors, proc.stdout


@pytest.mark.slow  # runs mypy (seconds to minutes); the stub tests below are the fast representatives
@needs_mypy
def test_mypy_rejects_mistyped_calls(mypy_report):
    errors, output = mypy_report
    expected = _expected_errors(FIXTURES / "bad_sgd.py")
    assert len(expected) >= 10
    got = {line: codes for (name, line), codes in errors.items() if name == "bad_sgd.py"}
    missed = {line: code for line, code in expected.items() if code not in got.get(line, [])}
    unexpected = {line: codes for line, codes in got.items() if line not in expected}
    assert not missed, f"mypy did not flag these lines of bad_sgd.py: {missed}\n{output}"
    assert not unexpected, f"mypy flagged unmarked lines of bad_sgd.py: {unexpected}\n{output}"


@pytest.mark.slow  # runs mypy (seconds to minutes); the stub tests below are the fast representatives
@needs_mypy
def test_mypy_accepts_documented_uses(mypy_report):
    errors, output = mypy_report
    got = {k: v for k, v in errors.items() if k[0] == "good_usage.py"}
    assert not got, f"mypy rejects correct uses in good_usage.py:\n{output}"


def _stub_names(path):
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if not n.startswith("_")}


def test_core_stub_lists_the_compiled_names():
    """fastnn/_core.pyi declares every public name of the compiled core, and nothing it lacks: a
    kernel added to _core.pyx needs its line in the stub."""
    core = pytest.importorskip("fastnn._core")
    public = {n for n in dir(core) if not n.startswith("_") and n != "np"}
    stub = _stub_names(ROOT / "fastnn" / "_core.pyi")
    assert public - stub == set(), f"add these names of fastnn._core to fastnn/_core.pyi: {public - stub}"
    assert stub - public == set(), f"fastnn/_core.pyi declares names _core lacks: {stub - public}"


def test_marker_and_stub_are_packaged():
    """py.typed and the stub sit in the package and are declared as package data (PEP 561)."""
    tomllib = pytest.importorskip("tomllib")
    assert (ROOT / "fastnn" / "py.typed").is_file()
    assert (ROOT / "fastnn" / "_core.pyi").is_file()
    with open(ROOT / "pyproject.toml", "rb") as f:
        config = tomllib.load(f)
    package_data = config["tool"]["setuptools"]["package-data"]["fastnn"]
    assert "py.typed" in package_data and "*.pyi" in package_data
    assert config["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
