"""The benchmark scripts keep working, and the core makes no heap allocation per mini-batch."""

import pathlib
import re
import subprocess
import sys

import pytest
from conftest import package_env

BENCH = pathlib.Path(__file__).resolve().parents[1] / "bench"


def run_script(name, *args, timeout=600, cwd=None, env=None):
    """Run bench/`name` with the tested fastnn importable (`env`: package_env() unless given)."""
    return subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd or BENCH.parent,
        env=env or package_env(),
    )


@pytest.mark.slow
def test_no_heap_allocation_per_mini_batch():
    """bench/alloc_check.py counts every malloc/calloc/realloc in the process (LD_PRELOAD) while
    one compiled call trains 1 and then 5,000 (400) mini-batches: the counts must be equal."""
    if sys.platform != "linux":
        pytest.skip("LD_PRELOAD counting needs Linux")
    r = run_script("alloc_check.py")
    assert r.returncode == 0, r.stderr
    per_batch = [float(x) for x in re.findall(r"=> ([0-9.]+) allocations per mini-batch", r.stdout)]
    # plain and dropout + momentum, each with one thread and on a team of two; the packed product's
    # first layer ([784,800,10] at 100 rows), one thread and a team of two, over dense inputs and
    # over inputs with zero columns (skipped); [784,30,10] over those (own kernels, zero vectors
    # left out), one thread and a team of two
    assert len(per_batch) == 10 and per_batch == [0.0] * 10, r.stdout


@pytest.mark.slow
def test_offset_x_benchmark_runs(tmp_path):
    out = tmp_path / "offset_x.md"
    r = run_script("offset_x.py", "--quick", "--allow-synthetic", "--dtypes", "float32", "--out", str(out))
    assert r.returncode == 0, r.stderr
    table = out.read_text()
    assert "| h30-mb10 | float32 | 1 |" in table and "| h30-mb10 | float32 | 2 |" in table


@pytest.mark.slow
@pytest.mark.parametrize(
    "script, settings",
    [
        ("zero_vectors.py", ("1", "2")),
        ("team_balance.py", ("T=1", "T=2 equal", "T=2 by speed")),
        ("half_network.py", ("T=1 [784,30,10]", "T=1 [784,15,10]", "T=2 [784,30,10]")),
    ],
)
def test_interleaved_benchmarks_run(tmp_path, script, settings):
    out = tmp_path / "table.md"
    r = run_script(
        script,
        *("--rows", "3000", "--repeats", "1", "--chunks", "3", "--allow-synthetic"),
        *("--cases", "h30-mb10", "--dtypes", "float32", "--out", str(out)),
    )
    assert r.returncode == 0, r.stderr
    table = out.read_text()
    for setting in settings:
        assert f"| h30-mb10 | float32 | {setting} |" in table


@pytest.mark.slow
def test_threads_benchmark_runs(tmp_path):
    out = tmp_path / "threads.md"
    r = run_script(
        "threads.py",
        "--quick",
        "--allow-synthetic",
        "--cases",
        "h30-mb10",
        "--dtypes",
        "float32",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    table = out.read_text()
    assert "| h30-mb10 | float32 |" in table and "load average at end" in table
    assert "| [784, 30, 10] | float64 |" in table  # the inference rows (both dtypes)


@pytest.mark.slow
def test_compare_script_runs_and_reports_targets(tmp_path):
    r = run_script(
        "compare.py",
        "--n-train",
        "2000",
        "--repeats",
        "3",
        "--impls",
        "fastnn,bound,ideal,reference,book",
        "--cases",
        "h30-mb10-f64,inference",
        "--markdown",
        "--allow-synthetic",
        "--out",
        str(tmp_path / "compare.md"),
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"\d+ of \d+ target checks met", r.stdout)
    assert (tmp_path / "compare.md").read_text().count("|") > 20


@pytest.mark.slow
@pytest.mark.parametrize("script", ["compare.py", "flop_limit.py"])
def test_benchmarks_refuse_synthetic_data_unless_asked(script, tmp_path):
    """A benchmark that feeds the README must not quietly time synthetic rows when MNIST is missing."""
    env = package_env(FASTNN_DATA=str(tmp_path / "no-mnist"))  # when set, the only place they look
    case = "h30-mb10-f64" if script == "compare.py" else "[784,30,10] b10 f32"
    r = run_script(script, "--cases", case, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode == 2, r.stderr
    assert "MNIST not found in" in r.stderr and "no-mnist" in r.stderr and "--allow-synthetic" in r.stderr


@pytest.mark.slow
def test_flop_limit_script(tmp_path):
    out = tmp_path / "flop_limit.md"
    r = run_script(
        "flop_limit.py",
        "--repeats",
        "5",
        "--cases",
        "[784,30,10] b10 f32",
        "--no-blas",
        "--allow-synthetic",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    row = next(line for line in out.read_text().splitlines() if line.startswith("| [784,30,10] b10 f32"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    epoch, ratio, alone, alone_ratio = (
        float(cells[2]),
        float(cells[3].rstrip("×")),
        float(cells[8]),
        float(cells[9].rstrip("×")),
    )
    assert epoch > 0 and alone > 0 and ratio > 0.5 and alone_ratio > 0.5
    assert "1536² matmul: float64" in out.read_text()


@pytest.mark.slow
@pytest.mark.mnist
def test_memory_script(mnist_dir):
    r = run_script("memory.py", "--epochs", "1", "--data-dir", str(mnist_dir))
    assert r.returncode == 0, r.stderr
    assert re.search(r"peak RSS: [0-9.]+ MB = data \+ [0-9.]+ MB", r.stdout)


def test_compare_builds_reads_compare_output():
    """bench/compare_builds.py collects each epoch and each inference median of compare.py's output
    per case, in seconds (a bare figure is seconds, 'ms' milliseconds)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("compare_builds", BENCH / "compare_builds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = """case [784,30,10] mb 10 f64 ...
  warm-up epoch done (fastnn)
  round 1: fastnn 0.044
  round 2: fastnn 0.043
inference, 10,000 rows, [784,100,10]   fastnn    bound    ideal  reference  fastnn / bound
f64                                   56.6 ms  48.5 ms  55.1 ms    59.9 ms           1.20×
f32                                    0.101  77.0 ms  98.7 ms    95.7 ms           1.31×
f64, dense rows                       47.5 ms  48.5 ms  55.1 ms    59.9 ms           0.98×
| f64 | 56.6 ms | 48.5 ms |
"""
    assert module.parse(text) == {
        "[784,30,10] mb 10 f64": [0.044, 0.043],
        "inference f64": [pytest.approx(0.0566)],
        "inference f32": [0.101],
        "inference f64 dense": [pytest.approx(0.0475)],
    }


@pytest.mark.slow
def test_tanh_epoch_script(tmp_path):
    """bench/tanh_epoch.py, tiny: the same build as OLD and NEW, synthetic rows, one repeat."""
    import fastnn

    build = str(pathlib.Path(fastnn.__file__).resolve().parents[1])
    env = package_env(FASTNN_DATA=str(tmp_path / "no-mnist"))
    args = [
        "--builds",
        build,
        build,
        "--repeats",
        "2",
        "--rows",
        "200",
        "--kernel-calls",
        "3",
        "--clock",
        "cpu",
    ]
    r = run_script("tanh_epoch.py", *args, "--allow-synthetic", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert (
        "SYNTHETIC rows (200; MNIST not found)" in r.stdout
        and "2 runs per build" in r.stdout
        and "cpu clock" in r.stdout
    )
    rows = [line.split() for line in r.stdout.splitlines() if " mb" in line and "float" in line]
    assert len(rows) == 4, r.stdout  # the four cases: medians, ratio, minimums, ratio
    assert all(float(x) > 0 for row in rows for x in row[-6:]), r.stdout
    kernel = re.findall(r"(float64|float32): old ([0-9.]+)  new ([0-9.]+)  new / old ([0-9.]+)", r.stdout)
    assert [k[0] for k in kernel] == ["float64", "float32"] and all(float(k[1]) > 0 for k in kernel)
    # without MNIST and without --allow-synthetic: exit status 2 and the reason, no timing
    r = run_script("tanh_epoch.py", *args, timeout=300, cwd=tmp_path, env=env)
    assert r.returncode == 2, r.stderr
    assert "MNIST not found" in r.stderr and "--allow-synthetic" in r.stderr and "no-mnist" in r.stderr
    assert "runs per build" not in r.stdout
