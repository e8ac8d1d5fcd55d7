"""`fastnn reproduce`: the chapter's table and figures, checked against the chapter's claims."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import package_env, run_fastnn, run_python

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("learning-slowdown", "overfitting", "regularization", "weight-init", "training-size", "softmax")


def run_cli(*args, cwd, env_extra=None, timeout=600):
    """`python -m fastnn ...` in ``cwd``, importing the tested fastnn, no MNIST unless given."""
    return run_fastnn(cwd, *args, timeout=timeout, **(env_extra or {}))


def series(directory, name):
    return json.loads((Path(directory) / f"{name}.json").read_text())["series"]


def check_slowdown(s):
    """The quadratic cost from (2.0, 2.0) stays within 10 % of its start for ≥ 50 epochs while the
    cross-entropy's falls (from both starts); the quadratic cost from (0.6, 0.9) learns at once."""
    quad = np.array(s["quadratic (2.0, 2.0)"]["data_cost"])
    assert len(quad) == 301
    assert np.all(np.abs(quad[:51] - quad[0]) <= 0.1 * quad[0])
    assert quad[-1] < 0.5 * quad[0]  # ... it does learn later
    for start in ("(0.6, 0.9)", "(2.0, 2.0)"):
        ce = np.array(s[f"cross-entropy {start}"]["data_cost"])
        assert np.all(np.diff(ce) < 0)
        assert ce[50] < 0.9 * ce[0]
    fast = np.array(s["quadratic (0.6, 0.9)"]["data_cost"])
    assert fast[50] < 0.5 * fast[0]


def check_softmax(s):
    for key in ("sum", "sum_c", "sum_tie"):
        np.testing.assert_allclose(s[key], 1.0, atol=1e-12)
    a = np.array(s["a"])  # rows: a_j as z4 sweeps upwards
    assert np.all(np.diff(a[3]) > 0) and np.all(np.diff(a[:3], axis=1) < 0)  # monotonic, non-local
    a_c, a_tie = np.array(s["a_c"]), np.array(s["a_tie"])
    assert a_c[2, -1] > 0.999 and a_c[2, 0] < 0.3  # maximum's share → 1
    np.testing.assert_allclose(a_tie[2:, -1], 0.5, atol=1e-3)  # tie → 1/2 each


def check_mnist_figures(d):
    over = series(d, "overfitting")
    test_cost, train_cost = np.array(over["evaluation_cost"]), np.array(over["training_cost"])
    epochs = len(test_cost)
    assert int(np.argmin(test_cost)) + 1 <= epochs // 2  # well before the last epoch
    assert test_cost[-1] > test_cost.min() * 1.05
    assert train_cost[-1] < train_cost[epochs // 2] < train_cost[0]  # training cost keeps falling
    assert max(over["training_accuracy"]) > 99.0
    reg = series(d, "regularization")
    assert reg["lambda=0.1"]["evaluation_accuracy"][-1] > reg["lambda=0"]["evaluation_accuracy"][-1]
    init = series(d, "weight-init")
    new, large = init["default"]["validation_accuracy"], init["large"]["validation_accuracy"]
    assert new[0] > large[0] + 5
    assert all(a > b for a, b in zip(new, large))
    size = series(d, "training-size")
    assert size["n"] == sorted(size["n"]) and len(size["n"]) >= 3
    assert np.all(np.diff(size["accuracy"]) > 0)


@pytest.mark.slow  # a reproduce subprocess (~2 s); test_reproduce_bad_arguments stays fast
def test_reproduce_without_mnist_makes_the_no_data_figures(tmp_path):
    """No MNIST: one line says so, the two figures that need no data are made, exit status 0."""
    pytest.importorskip("matplotlib")
    r = run_cli("reproduce", "--quick", "--figures", "figs", "--json", "all.json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    notes = [ln for ln in r.stderr.splitlines() if "MNIST not found" in ln]
    assert len(notes) == 1, r.stderr
    made = sorted(p.name for p in (tmp_path / "figs").iterdir())
    assert made == ["learning-slowdown.json", "learning-slowdown.png", "softmax.json", "softmax.png"]
    for name in ("learning-slowdown", "softmax"):
        assert (tmp_path / "figs" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    check_slowdown(series(tmp_path / "figs", "learning-slowdown"))
    check_softmax(series(tmp_path / "figs", "softmax"))
    payload = json.loads((tmp_path / "all.json").read_text())
    assert payload["runs"] == [] and set(payload["figures"]) == {"learning-slowdown", "softmax"}


def test_reproduce_bad_arguments(tmp_path):
    r = run_cli("reproduce", "--seeds", "0", cwd=tmp_path)
    assert r.returncode == 2 and "--seeds" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("reproduce", "--quick", "--data-dir", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert r.returncode == 1 and "MNIST" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "file").write_text("x")
    r = run_cli("reproduce", "--quick", "--figures", "file", cwd=tmp_path)
    assert r.returncode == 1 and "not a directory" in r.stderr
    r = run_cli("reproduce", "--quick", "--json", str(tmp_path / "no" / "x.json"), cwd=tmp_path)
    assert r.returncode == 1 and "does not exist" in r.stderr


def test_reproduce_does_not_import_matplotlib_without_figures():
    code = (
        "import sys, fastnn.reproduce as r; d = r.softmax_series(); "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    out = run_python(code, ROOT)
    assert out.returncode == 0, out.stderr


@pytest.mark.slow
@pytest.mark.mnist
def test_reproduce_quick_writes_six_figures_that_show_the_chapter(tmp_path, mnist_dir):
    """`fastnn reproduce --quick --figures DIR` from another directory: the table, six PNGs and their
    series, which show the chapter's effects (see the check_* functions)."""
    pytest.importorskip("matplotlib")
    r = run_cli(
        "reproduce",
        "--quick",
        "--figures",
        "figs",
        "--json",
        "all.json",
        "--markdown",
        "report.md",
        "--data-dir",
        str(mnist_dir),
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    figs = tmp_path / "figs"
    for name in FIGURES:
        png = (figs / f"{name}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000, name
        assert json.loads((figs / f"{name}.json").read_text())["quick"] is True
    check_slowdown(series(figs, "learning-slowdown"))
    check_softmax(series(figs, "softmax"))
    check_mnist_figures(figs)
    # the table: every experiment, one line per experiment on stderr
    for key in (
        "ce30",
        "ce100",
        "overfit",
        "overfit-l2",
        "l2-30",
        "l2-100",
        "l2-100-60",
        "init-new",
        "init-large",
        "softmax",
    ):
        assert f"] {key} seed 0:" in r.stderr
    assert "82.27 %" in r.stdout and "QUICK" in r.stdout
    # quick numbers are said to be not comparable; names whole; Δ says why it is empty (#24)
    assert "NOT comparable to the book's" in r.stdout and "n/a (quick)" in r.stdout
    assert "…" not in r.stdout and "(?)" not in r.stdout
    assert "NOT comparable to the book's" in (tmp_path / "report.md").read_text()
    payload = json.loads((tmp_path / "all.json").read_text())
    assert len(payload["runs"]) == 10 and set(payload["figures"]) >= set(FIGURES) - {"regularization"}
    assert "| Experiment" in (tmp_path / "report.md").read_text()


@pytest.mark.slow
@pytest.mark.mnist
def test_bench_wrapper_keeps_its_table(tmp_path, mnist_dir):
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "reproduce_chapter3.py"),
            "--quick",
            "--rows",
            "init-new,init-large,softmax",
            "--markdown",
            "--out",
            str(tmp_path / "r.md"),
            "--data-dir",
            str(mnist_dir),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env=package_env(),
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "| [784,30,10], η=0.1, λ=5.0: validation accuracy after epoch 1" in r.stdout
    assert "softmax + log-likelihood" in (tmp_path / "r.md").read_text()


def test_text_table_wraps_long_names_and_footer_without_unknown_commit():
    from fastnn.reproduce import HEADER, commit_text, text_table

    name = "an experiment with a very long name " * 3
    row = (name.strip(), "95.49 %", "81.10 %", "n/a (quick)", "QUICK: 1 epoch", "0.4 s", "1")
    text = text_table([row])
    assert "…" not in text
    assert " ".join(text.split()).count("very long name") == 3  # every word kept, wrapped
    assert text.splitlines()[0].startswith(HEADER[0])
    assert commit_text({"fastnn": "0.2.0", "commit": "?"}) == "fastnn 0.2.0"
    assert commit_text({"fastnn": "0.2.0", "commit": "abc1234"}) == "fastnn 0.2.0 (abc1234)"
