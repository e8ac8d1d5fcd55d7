"""The elementwise exp, sigmoid and tanh loops are vectorized for every x86-64 clone (issue #23).

A floating-point ternary with a constant arm (exp's clamps) became a branch, and with trapping math
gcc vectorizes a loop holding a branch only with AVX-512's masked instructions: on AVX2 and
baseline CPUs the sigmoid and tanh kernels ran one value at a time. csrc/kernels_impl.h selects by
bit mask instead (``select``); this compiles csrc/kernels.c for each level as the build does (-O3,
no -ffast-math) and reads gcc's vectorization report. (Baseline x86-64 vectorizes the float loops
only: gcc has no 64-bit select for SSE2.)"""

import pathlib
import platform
import re
import shutil
import subprocess
import sys

import pytest

CSRC = pathlib.Path(__file__).resolve().parents[1] / "csrc"
LOOPS = {
    "exp": "out[i] = FN(exp_one)(x[i]);",
    "sigmoid": "FN(exp_one)(-a[i]));",
    "tanh": "a[i] = FN(tanh_one)(a[i]);",
}

pytestmark = [
    pytest.mark.slow,  # a compilation of kernels.c per level
    pytest.mark.skipif(
        not (sys.platform == "linux" and platform.machine() == "x86_64" and shutil.which("gcc")),
        reason="gcc on x86-64 Linux (the clones' compiler)",
    ),
    pytest.mark.skipif(not (CSRC / "kernels.c").exists(), reason="the C sources (a source checkout)"),
]


def _line(text):
    lines = (CSRC / "kernels_impl.h").read_text().splitlines()
    found = [i + 1 for i, line in enumerate(lines) if text in line]
    assert len(found) == 1, (text, found)
    return found[0]


@pytest.mark.parametrize(
    ("arch", "width", "precisions"), [("x86-64-v4", 64, 2), ("x86-64-v3", 32, 2), ("x86-64", 16, 1)]
)  # v4 = AVX-512, v3 = AVX2 + FMA, baseline = SSE2 (float only)
def test_exp_sigmoid_tanh_loops_vectorized(arch, width, precisions, tmp_path):
    gcc = subprocess.run(
        [
            "gcc",
            "-O3",
            "-fno-math-errno",
            "-Wno-unused-function",
            f"-march={arch}",
            "-DFASTNN_NO_CLONES",
            "-fopt-info-vec-optimized",
            "-c",
            str(CSRC / "kernels.c"),
            "-o",
            str(tmp_path / "k.o"),
        ],
        capture_output=True,
        text=True,
    )
    if gcc.returncode != 0 and "march" in gcc.stderr:
        pytest.skip(f"this gcc does not know -march={arch}")
    assert gcc.returncode == 0, gcc.stderr
    for name, text in LOOPS.items():
        line = _line(text)
        # kernels_impl.h is included once per precision: one main loop of the level's full vector
        # width per vectorized precision (epilogues use narrower vectors)
        hits = re.findall(
            rf"kernels_impl\.h:{line}:\d+: optimized: loop vectorized using {width} byte", gcc.stderr
        )
        assert len(hits) >= precisions, f"{name} loop (kernels_impl.h:{line}) not vectorized for {arch}"
