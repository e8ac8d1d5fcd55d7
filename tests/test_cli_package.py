"""The command line is the package fastnn/cli/: a module per command (its parser next to its handler)
over shared modules, shipped whole in the wheel. Its options are compared in test_cli_options.py."""

import ast
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import package_env

import fastnn
from fastnn import cli

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(cli.__file__).resolve().parent
COMMANDS = ("train", "tune", "evaluate", "predict", "export", "download", "reproduce")


def _module_files(directory):
    return sorted(p.name for p in directory.glob("*.py"))


def _cli_imports(path):
    """The fastnn.cli modules a file of the package imports (function-local imports included), by
    their name in the package ('' for the package itself)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from . import x / from .x import y
                found |= {a.name for a in node.names} if node.module is None else {node.module}
            elif node.level == 0 and node.module and node.module.startswith("fastnn.cli"):
                rest = node.module[len("fastnn.cli") :].lstrip(".")
                found |= {rest} if rest else {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fastnn.cli"):
                    found.add(alias.name[len("fastnn.cli") :].lstrip("."))
    return {name.split(".")[0] for name in found}


def test_every_command_is_a_module_with_its_parser_and_handler():
    assert tuple(cli._COMMANDS) == COMMANDS  # the order of 'fastnn --help'
    for name, module in cli._COMMANDS.items():
        assert module.__name__ == f"fastnn.cli.{name}"
        assert module.NAME == name and module.HELP and module.DESCRIPTION
        assert callable(module.add_parser) and callable(module.run)
    public = {p.stem for p in PACKAGE.glob("*.py") if not p.stem.startswith("_")}
    assert public == set(COMMANDS), "a module of fastnn/cli/ that is not a command starts with '_'"


def test_commands_import_only_the_shared_modules():
    """Command modules import the shared (underscore) modules, never each other nor the package;
    shared modules import no command; the package imports the commands. No cycle inside fastnn.cli."""
    for path in sorted(PACKAGE.glob("*.py")):
        imported = _cli_imports(path)
        if path.stem == "__init__":
            assert set(COMMANDS) <= imported
        elif path.stem != "__main__":  # __main__: 'from . import main'
            wrong = {m for m in imported if not m.startswith("_")}
            assert not wrong, f"fastnn/cli/{path.name} imports {sorted(wrong)}: only shared modules"


def test_python_dash_m_fastnn_cli_runs_the_command_line(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "fastnn.cli", "--version"],
        capture_output=True,
        text=True,
        env=package_env(),
        cwd=tmp_path,
        timeout=120,
    )
    assert r.returncode == 0 and r.stdout.strip() == f"fastnn {fastnn.__version__}", r.stderr


def _installed():
    """fastnn is imported from an installation (pip install . or the wheel), not from this checkout."""
    return ROOT not in Path(fastnn.__file__).resolve().parents


@pytest.mark.skipif(not _installed(), reason="fastnn is imported from the checkout (built in place)")
def test_the_installed_package_has_every_command_module(tmp_path):
    """Installed (CI's `pip install .`, .ci/wheel's wheel): fastnn/cli/ is there with every module of
    the checkout's, each imported from the installation, and `fastnn --help` lists every command."""
    checkout = ROOT / "fastnn" / "cli"
    assert PACKAGE != checkout.resolve()
    assert _module_files(PACKAGE) == _module_files(checkout)
    for path in sorted(checkout.glob("*.py")):
        if path.stem == "__main__":
            continue
        name = "fastnn.cli" if path.stem == "__init__" else f"fastnn.cli.{path.stem}"
        module = importlib.import_module(name)
        assert Path(module.__file__).resolve().parent == PACKAGE, module.__file__
    exe = shutil.which("fastnn")
    command = [exe] if exe else [sys.executable, "-m", "fastnn"]
    r = subprocess.run(
        [*command, "--help"], capture_output=True, text=True, env=package_env(), cwd=tmp_path, timeout=120
    )
    assert r.returncode == 0, r.stderr
    # the sub-command lines: four spaces, the name, its help (on the same line or the next ones)
    listed = {ln.split()[0] for ln in r.stdout.splitlines() if ln.startswith("    ") and ln[4] != " "}
    missing = [name for name in COMMANDS if name not in listed]
    assert not missing, f"'fastnn --help' does not list {missing}:\n{r.stdout}"


@pytest.mark.slow
def test_the_wheel_build_takes_every_module_of_the_package(tmp_path):
    """setuptools' build_py (the step of `python -m build --wheel` that picks the Python files, with
    pyproject.toml's package discovery) copies all of fastnn/cli/; nothing is compiled or written
    into the checkout."""
    if not (ROOT / "setup.py").exists():
        pytest.skip("no setup.py next to the tests (not a checkout)")
    # setup.py runs on this environment's setuptools, not on the build's isolated one (>= 77, as
    # pyproject.toml requires; a fresh venv's bundled setuptools is older and rejects the license)
    setuptools = pytest.importorskip("setuptools")
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip(f"setuptools >= 77 is not installed (found {setuptools.__version__})")
    lib, egg = tmp_path / "lib", tmp_path / "egg"
    egg.mkdir()
    r = subprocess.run(
        [
            sys.executable,
            "setup.py",
            "-q",
            "egg_info",
            "--egg-base",
            str(egg),
            "build_py",
            "--build-lib",
            str(lib),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    for package in sorted(p.parent for p in (ROOT / "fastnn").rglob("__init__.py")):
        relative = package.relative_to(ROOT)
        assert _module_files(lib / relative) == _module_files(package), relative
    assert (lib / "fastnn" / "cli" / "train.py").is_file()
