"""Two builds of fastnn side by side: ``bench/compare.py --quick --impls fastnn`` run alternately on each.

Usage::

    env -u OPENBLAS_CORETYPE python bench/compare_builds.py OLD_CHECKOUT NEW_CHECKOUT [--runs 4]

Each checkout must hold an in-place build (``python setup.py build_ext --inplace``). The script runs
``compare.py`` (the NEW checkout's copy, so both builds meet the same cases and timing loop) in a
child process per run with ``PYTHONPATH`` set to one checkout, alternating OLD, NEW, OLD, NEW, ... so
that the machine's load drifts over both alike. Every epoch a child times ("round k: fastnn S") and
every inference median is collected per case; the table gives each build's median and the ratio
NEW / OLD of the medians (above 1: NEW is slower). The structure issue's acceptance (#25) is every
ratio within 1.03.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

_CASE = re.compile(r"^case (.+) \.\.\.$")
_ROUND = re.compile(r"^\s+round \d+: fastnn ([0-9.]+)")
_INFERENCE = re.compile(r"^(f64|f32)(, dense rows)?\s+([0-9.]+)( ms| s)?\s")


def parse(text: str) -> dict[str, list[float]]:
    """Seconds per case ('[784,30,10] mb 10 f64', 'inference f32', ...) from one compare.py output."""
    times: dict[str, list[float]] = {}
    case = None
    for line in text.splitlines():
        if m := _CASE.match(line):
            case = m.group(1)
        elif case and (m := _ROUND.match(line)):
            times.setdefault(case, []).append(float(m.group(1)))
        elif m := _INFERENCE.match(line):
            value = float(m.group(3)) / (1000.0 if m.group(4) == " ms" else 1.0)
            times.setdefault("inference " + m.group(1) + (" dense" if m.group(2) else ""), []).append(value)
    return times


def run_once(checkout: Path, script: Path, extra: list[str]) -> dict[str, list[float]]:
    env = dict(os.environ, PYTHONPATH=str(checkout))
    command = [sys.executable, str(script), "--quick", "--impls", "fastnn", *extra]
    done = subprocess.run(command, env=env, cwd=checkout, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"compare.py failed under {checkout}:\n{done.stdout}\n{done.stderr}")
    return parse(done.stdout + "\n" + done.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("old", type=Path, help="checkout of the old build (in-place extension)")
    ap.add_argument("new", type=Path, help="checkout of the new build (in-place extension)")
    ap.add_argument("--runs", type=int, default=4, help="compare.py runs per build (default 4)")
    ap.add_argument("--cases", default="all", help="passed to compare.py --cases")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error(f"--runs must be at least 1, got {args.runs}")
    script = args.new.resolve() / "bench" / "compare.py"
    builds = {"old": args.old.resolve(), "new": args.new.resolve()}
    times: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for k in range(args.runs):
        for name in ("old", "new") if k % 2 == 0 else ("new", "old"):
            for case, values in run_once(builds[name], script, ["--cases", args.cases]).items():
                times[name].setdefault(case, []).extend(values)
            print(f"run {k + 1}/{args.runs} {name} done", flush=True)
    print(f"load average at end: {os.getloadavg()}")
    print(f"old: {builds['old']}\nnew: {builds['new']}\n")
    print(f"{'case':<28} {'old median s':>13} {'new median s':>13} {'new / old':>10} {'n':>4}")
    worst = 0.0
    for case in times["old"]:
        old, new = times["old"][case], times["new"].get(case)
        if not new:
            continue
        ratio = statistics.median(new) / statistics.median(old)
        worst = max(worst, ratio)
        print(
            f"{case:<28} {statistics.median(old):13.4f} {statistics.median(new):13.4f} "
            f"{ratio:10.3f} {len(new):4d}"
        )
    print(f"\nlargest new / old: {worst:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
