"""The README's and the docs' examples run as shown (issue #24).

Every page (README.md and each docs/*.md guide) is read for its fenced blocks:

- ```python blocks run in order, one child process per page (later blocks use the names of earlier
  ones, as a reader in one session would), in a temporary directory, on the real MNIST;
- ```bash blocks run as a bash script each (``set -e``), in the page's temporary directory (files
  written by one block are there for the next), with ``fastnn`` the tested package and ``$HOME`` the
  temporary directory (``~/.fastnn/mnist`` is empty: MNIST comes from ``$FASTNN_DATA``);
- other fences (``console``, ``text``, ...) are output samples and never run.

What needs something outside the project runs against a local stand-in, and only there (the tables
below, each entry checked to still occur in the docs): the book's ``mnist_loader``/``network2``
modules (built from the same MNIST and tests/network2_standin.py), a Dask cluster (a local one),
the PostgreSQL server (the tests' own throw-away server), the public MNIST mirrors (the local MNIST
directory), the user's own files (CSV files made from scikit-learn's digits). Set-up commands
(``pip install``, ``createdb``, ``dask scheduler``/``dask worker``) are not run: the test environment
is that set-up (CI installs every extra; the database and the cluster are the fixtures).

A block that must not run is marked in the Markdown, on the line before its fence:
``<!-- example: not run: WHY -->``; ``<!-- example: run with: FLAGS -->`` appends FLAGS to each
``fastnn`` command of a bash block, except a flag the command gives as 0 (a search on all of MNIST run
with fewer trials and epochs: the override is in the page, next to the command; see ``override``).
``test_marked_blocks`` lists every block not run, with its reason.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import package_env

ROOT = Path(__file__).resolve().parents[1]

#: Pages whose examples run: the README and the guides. docs/changelog.md and docs/contributing.md
#: only include CHANGELOG.md / CONTRIBUTING.md, whose blocks are developer commands (builds, the full
#: suite, benchmarks) that CI itself runs.
INCLUDES_ONLY = ("changelog.md", "contributing.md")
GUIDES = sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md") if p.name not in INCLUDES_ONLY)
PAGES = ["README.md", *GUIDES]

MARKER = re.compile(r"<!-- example: (not run|run with): (.+?) -->")
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.M | re.S)


class Block:
    def __init__(self, page, line, lang, code, marker):
        self.page, self.line, self.lang, self.code = page, line, lang, code
        self.skip = marker.group(2) if marker and marker.group(1) == "not run" else None
        self.flags = marker.group(2) if marker and marker.group(1) == "run with" else ""

    @property
    def where(self):
        return f"{self.page}:{self.line}"


def page_blocks(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = []
    for m in FENCE.finditer(text):
        before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        line = text[: m.start()].count("\n") + 1
        blocks.append(Block(page, line, m.group(1), m.group(2), MARKER.search(before)))
    return blocks


ALL = [b for page in PAGES for b in page_blocks(page)]

MNIST_LOADER = '''
"""mnist_loader.load_data_wrapper() as the book's: lists of (x (784, 1), y) pairs, training y
one-hot (10, 1), validation and test y ints (built from the IDX files by fastnn.data)."""
import numpy as np
from fastnn.data import load_mnist


def load_data_wrapper():
    (X, y), (Xv, yv), (Xt, yt) = load_mnist()

    def onehot(k):
        e = np.zeros((10, 1))
        e[k] = 1.0
        return e

    training = [(x.reshape(784, 1), onehot(k)) for x, k in zip(X, y)]
    validation = [(x.reshape(784, 1), int(k)) for x, k in zip(Xv, yv)]
    test = [(x.reshape(784, 1), int(k)) for x, k in zip(Xt, yt)]
    return training, validation, test
'''

#: Python: what runs against a local stand-in instead of a service (text in the docs -> replacement)
PYTHON_SUBSTITUTIONS = {
    'Client("tcp://scheduler-address:8786")': "Client(processes=False, n_workers=1, threads_per_worker=2)",
}

#: Python: what a block needs beyond fastnn's own dependencies: {text in the block: module}
OPTIONAL = {
    "torch": "torch",
    "dask": "distributed",
    "fastnn.tune": "optuna",
    "fastnn.export": "onnx",
    "onnxruntime": "onnxruntime",
}

#: bash: a command's text -> what the test needs for it ({marker: module})
BASH_OPTIONAL = {
    "fastnn tune": "optuna",
    "fastnn export": "onnx",
    "--plot": "matplotlib",
    "--dask": "distributed",
    "postgresql": "psycopg",
}

#: bash: set-up commands, not run (their first words), and why
SETUP = {
    "pip install": "set-up: the test environment has the packages (CI installs every extra)",
    "createdb": "set-up: the tests' PostgreSQL server gives the database (postgres_url fixture)",
    "dask scheduler": "set-up: a local Dask cluster stands in (LocalCluster)",
    "dask worker": "set-up: a local Dask cluster stands in (LocalCluster)",
    "pytest": "the test suite itself: CI runs the README's test command (tests/test_packaging.py)",
}

#: bash: user-provided things replaced by local ones (text in the docs -> a format string; {mnist},
#: {postgres} and {dask} are the fixtures' values)
BASH_SUBSTITUTIONS = {
    "fastnn download mnist": "fastnn download mnist --mirror {mnist}",  # the public mirrors: a local dir
    "postgresql+psycopg://fastnn:$PGPASSWORD@db-host/fastnn": "{postgres}",
    "tcp://scheduler-host:8786": "{dask}",
}


def test_pages_have_examples_and_every_stand_in_is_used():
    langs = {(b.page, b.lang) for b in ALL}
    for page in PAGES:
        if page not in ("docs/index.md", "docs/guarantees.md"):  # prose only
            assert any(p == page for p, _ in langs), f"{page}: no code block at all"
    python_code = "".join(b.code for b in ALL if b.lang == "python")
    bash_code = "".join(b.code for b in ALL if b.lang == "bash")
    for original in PYTHON_SUBSTITUTIONS:
        assert original in python_code, f"the docs no longer have {original!r}: drop its stand-in"
    for original in BASH_SUBSTITUTIONS:
        assert original in bash_code, f"the docs no longer have {original!r}: drop its stand-in"
    assert sum(b.lang == "python" for b in ALL) >= 20
    assert sum(b.lang == "bash" for b in ALL) >= 8


def test_marked_blocks():
    """Every block not run says why; no marker is left dangling on a non-code line."""
    not_run = [b for b in ALL if b.skip]
    for b in not_run:
        assert len(b.skip) > 15, f"{b.where}: say why the block is not run"
        print(f"not run: {b.where} ({b.lang}): {b.skip}")
    for page in PAGES:
        text = (ROOT / page).read_text(encoding="utf-8")
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if MARKER.search(line):
                assert i + 1 < len(lines) and lines[i + 1].startswith("```"), (
                    f"{page}:{i + 1}: an example marker must be on the line before a fence"
                )
    assert len(not_run) <= 12, "most examples must run: make them fast instead of marking them"


def _python_script(blocks):
    """(the script, how many blocks it runs)."""
    parts, runs = [], 0
    for b in blocks:
        if b.skip:
            note = f"{b.where}: not run ({b.skip})"
            parts.append(f"print({note!r})\n")
            continue
        missing = [m for mark, m in OPTIONAL.items() if mark in b.code and not importlib.util.find_spec(m)]
        if missing:  # the lean test extra (pip install ".[test]"); CI installs them all
            note = f"{b.where}: skipped (no {', '.join(missing)})"
            parts.append(f"print({note!r})\n")
            continue
        code = b.code
        for original, local in PYTHON_SUBSTITUTIONS.items():
            code = code.replace(original, local)
        parts.append(f"print('== {b.where}', flush=True)\n" + code)
        runs += 1
    return "\n".join(parts), runs


def _stand_ins(directory):
    shutil.copy(ROOT / "tests" / "network2_standin.py", directory / "network2.py")
    (directory / "mnist_loader.py").write_text(MNIST_LOADER)


def _run(args, directory, env, timeout):
    result = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result


PYTHON_PAGES = sorted({b.page for b in ALL if b.lang == "python"}, key=PAGES.index)


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("page", PYTHON_PAGES)
def test_python_examples_run_as_shown(page, tmp_path, mnist_dir):
    _stand_ins(tmp_path)
    blocks = [b for b in ALL if b.page == page and b.lang == "python"]
    script = tmp_path / "examples.py"
    code, runs = _python_script(blocks)
    script.write_text(code)
    env = package_env(FASTNN_DATA=str(mnist_dir), MPLBACKEND="Agg")
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env["PYTHONPATH"]
    result = _run([sys.executable, str(script)], tmp_path, env, timeout=1200)
    assert result.stdout.count("\n== ") + result.stdout.startswith("== ") == runs, result.stdout
    if page == "README.md":
        accuracy = float(re.search(r"^(0\.\d+)$", result.stdout, re.M).group(1))
        assert 0.94 < accuracy < 0.98  # the example's "≈ 0.96"


# ---- bash ------------------------------------------------------------------------------------------
def commands(code):
    """The block's commands: continuation lines joined, comments and blank lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", code)
    out = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#.*$", "", line.strip())
        if line and not line.startswith("#"):
            out.append(line)
    return out


def plan(block):
    """[(command to run or None, why not)] for a bash block; fails on a command it does not know."""
    steps = []
    for command in commands(block.code):
        for part in [p.strip() for p in command.split("&&")]:
            setup = next((why for start, why in SETUP.items() if part.startswith(start)), None)
            if setup:
                steps.append((None, f"{part!r}: {setup}"))
            elif part.startswith("fastnn"):
                steps.append((part, None))
            else:
                raise AssertionError(
                    f"{block.where}: {part!r} is neither a fastnn command nor a known set-up step: make it "
                    "runnable or mark the block <!-- example: not run: WHY -->"
                )
    return steps


BASH = [b for b in ALL if b.lang == "bash"]


def test_every_bash_block_is_runnable_or_marked():
    """plan() fails on a command that is neither fastnn nor a known set-up step; blocks made only of
    set-up steps (the README's `pip install ".[test]" && pytest`) are listed with the reasons."""
    for b in BASH:
        if not b.skip:
            steps = plan(b)
            if not any(cmd for cmd, _ in steps):
                print(f"set-up only, not run: {b.where}: " + "; ".join(why for _, why in steps))


RUNNABLE_BASH = [b for b in BASH if not b.skip and any(cmd for cmd, _ in plan(b))]


def override(cmd, flags):
    """``cmd`` with a ``run with:`` marker's FLAG VALUE pairs appended (argparse: the last value wins),
    except a flag the command gives as 0 (``--trials 0``: only report the study), which stays."""
    pairs = re.findall(r"(--[\w-]+)\s+(\S+)", flags)
    extra = " ".join(f"{flag} {value}" for flag, value in pairs if not re.search(rf"{flag}\s+0\b", cmd))
    if not extra:
        return cmd
    m = re.match(r"^(.*?)(\s*[>|].*)?$", cmd)
    return f"{m.group(1)} {extra}{m.group(2) or ''}"


def test_override_keeps_a_zero_and_redirections():
    flags = "--trials 4 --epochs 2"
    assert override("fastnn tune --trials 50", flags) == "fastnn tune --trials 50 --trials 4 --epochs 2"
    assert (
        override("fastnn tune --trials 0 --json t.json", flags)
        == "fastnn tune --trials 0 --json t.json --epochs 2"
    )
    assert override("fastnn train > log", flags) == "fastnn train --trials 4 --epochs 2 > log"
    assert override("fastnn train", "") == "fastnn train"


def _digits_csv(directory):
    """The user's own files the CLI page names: mine.csv (label column "digit", first) and new.csv."""
    import numpy as np
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    header = ",".join(["digit"] + [f"p{i}" for i in range(64)])
    np.savetxt(
        directory / "mine.csv",
        np.column_stack([y, X / 16]),
        delimiter=",",
        fmt="%.6g",
        header=header,
        comments="",
    )
    np.savetxt(
        directory / "new.csv",
        np.column_stack([y[:20], X[:20] / 16]),
        delimiter=",",
        fmt="%.6g",
        header=header,
        comments="",
    )


@pytest.fixture
def dask_address():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None)
    with cluster:
        yield cluster.scheduler_address


@pytest.mark.slow
@pytest.mark.mnist
@pytest.mark.parametrize("block", RUNNABLE_BASH, ids=lambda b: b.where)
def test_bash_examples_run_as_shown(block, tmp_path, mnist_dir, request):
    steps = plan(block)
    for cmd, _ in steps:
        for marker, module in BASH_OPTIONAL.items():
            if cmd and marker in cmd and not importlib.util.find_spec(module):
                pytest.skip(f"{block.where}: needs {module}")  # the lean test extra; CI installs it
    values = {"mnist": str(mnist_dir)}
    if "postgresql" in block.code:
        values["postgres"] = request.getfixturevalue("postgres_url")
    if "tcp://scheduler-host" in block.code:
        values["dask"] = request.getfixturevalue("dask_address")
    _digits_csv(tmp_path)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "fastnn"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fastnn "$@"\n')
    shim.chmod(0o755)
    lines = ["set -euo pipefail"]
    for cmd, why in steps:
        if cmd is None:
            lines.append(f"# not run: {why}")
            continue
        for original, local in BASH_SUBSTITUTIONS.items():
            if original in cmd:
                cmd = cmd.replace(original, local.format(**values))
        cmd = override(cmd, block.flags)
        lines.append(cmd)
    script = "\n".join(lines) + "\n"
    env = package_env(FASTNN_DATA=str(mnist_dir), HOME=str(tmp_path), MPLBACKEND="Agg")
    env["PATH"] = str(bin_dir) + os.pathsep + env["PATH"]
    _run(["bash", "-c", script], tmp_path, env, timeout=900)
