"""The markdown report of a one-process benchmark script (bench/threads.py, bench/offset_x.py): each
line printed as it comes and kept for ``--out``, headed by the machine, the build and the load."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import fastnn


class Report:
    def __init__(self, script: str, source: str, n: int, repeats: int):
        self.lines: list[str] = []
        self.say(
            f"# bench/{script} — {platform.node()}, {os.cpu_count()} CPUs "
            f"(affinity {len(os.sched_getaffinity(0))}), fastnn {fastnn.__version__}, own kernels "
            f"{fastnn._core.KERNELS['isa']}, {source}, {n} rows, {repeats} rounds"
        )
        self.say(f"load average at start: {os.getloadavg()}")
        self.say()

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def finish(self, out: str | None) -> None:
        """The closing load average, and the report written to `out` (if given)."""
        self.say()
        self.say(f"load average at end: {os.getloadavg()}")
        if out:
            Path(out).write_text("\n".join(self.lines) + "\n", encoding="utf-8")
