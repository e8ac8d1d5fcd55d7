"""How many of a training's team threads run each chunk of mini-batches (``n_threads`` > 1).

A team of T threads meets at a barrier every mini-batch (every 20-300 µs on the chapter's shapes),
so it speeds one training up only while its threads have cores to themselves. When another
process takes one of those cores, a thread waits at each barrier for a partner that is not
running, and the team runs several times *slower* than one thread (measured: 0.26-0.55x of one
thread with a test suite on the second core of a 2-core machine; bench/results/threads.md).

Results do not depend on the number of threads (bit-identical for any T), so that number is free
to change between two chunks of mini-batches. :class:`TeamPace` measures the seconds per
mini-batch of the whole team and of one thread, runs the faster, and re-measures the other one
with a short chunk now and then: after ``FIRST_INTERVAL`` chunks, then twice as many each time it
loses again (up to ``MAX_INTERVAL``), and at once when the chosen setting becomes ``SLOWER`` than
the other. A setting's pace is the median of its last ``WINDOW`` chunks, and the other setting
must be ``MARGIN`` faster to be chosen (single chunks on a shared machine swing by ±20 %). A probe
costs at most ``PROBE_SHARE`` of a chunk (~10 ms): on free cores the team keeps ≥ 99 % of its
speed, and on a busy machine ``n_threads=2`` costs little more than ``n_threads=1``. A run starts
from the choice of the last run of the same shape if it ended less than ``REMEMBER_SECONDS`` ago
(a loop of one-epoch ``SGD`` or ``partial_fit`` calls).
"""

from __future__ import annotations

import statistics
import time

ENABLED = True  # False: every chunk on the whole team (tests of the team itself, benchmarks of it)
PROBE_SHARE = 0.1  # a probe chunk: this share of a chunk's mini-batches (at least one)
FIRST_INTERVAL = 4  # chunks of the chosen setting between two probes of the other
MAX_INTERVAL = 64
SLOWER = 1.25  # the chosen setting's pace this much slower than the other's: probe at once
MARGIN = 0.9  # a probe wins when its setting's pace is below this share of the chosen one's
WINDOW = 3  # chunks in a setting's pace (their median)


REMEMBER_SECONDS = 30.0  # a run starts from what a run of the same shape learnt this recently

# (sizes, mini-batch size, dtype, team) -> (time.monotonic(), the state of the last such run's pace):
# a loop of short SGD calls (partial_fit, one epoch per call) does not learn the machine again
_recent: dict[tuple, tuple[float, dict]] = {}


class TeamPace:
    """The thread count of each chunk of one training run on a team of `team` threads; `key`
    (the run's shape) lets a run start from the choice of a recent run of the same shape.

    Each setting's pace is the median of its last ``WINDOW`` chunks (seconds per mini-batch): one
    chunk that a busy moment of the machine slowed down does not flip the choice."""

    def __init__(self, team: int, key: tuple | None = None):
        self.team = int(team)
        self.current = self.team
        self.recent: dict[int, list[float]] = {}
        self.interval = FIRST_INTERVAL
        self.since_probe = 0
        self.key = None if key is None else (*key, self.team)
        last = _recent.get(self.key) if self.key is not None else None
        if last is not None and time.monotonic() - last[0] < REMEMBER_SECONDS:
            state = last[1]
            self.current, self.interval = state["current"], state["interval"]
            self.recent = {t: list(v) for t, v in state["recent"].items()}
            self.since_probe = state["since_probe"]

    def _remember(self) -> None:
        if self.key is not None:
            state = dict(
                current=self.current,
                interval=self.interval,
                since_probe=self.since_probe,
                recent={t: list(v) for t, v in self.recent.items()},
            )
            _recent[self.key] = (time.monotonic(), state)

    def _other(self) -> int:
        return 1 if self.current == self.team else self.team

    def pace(self, threads: int) -> float | None:
        """Seconds per mini-batch of `threads`: the median of its last WINDOW chunks, if any."""
        v = self.recent.get(threads)
        return statistics.median(v) if v else None

    def plan(self, chunk: int) -> tuple[int, int]:
        """(threads, mini-batches) for the next chunk, `chunk` being a normal chunk's size."""
        other = self._other()
        if self.team > 1 and (other not in self.recent or self.since_probe >= self.interval):
            return other, max(1, int(chunk * PROBE_SHARE))
        return self.current, chunk

    def record(self, threads: int, batches: int, seconds: float) -> None:
        """What the chunk planned by :meth:`plan` took."""
        self._record(threads, batches, seconds)
        self._remember()

    def _record(self, threads: int, batches: int, seconds: float) -> None:
        self.recent[threads] = [*self.recent.get(threads, []), seconds / max(batches, 1)][-WINDOW:]
        mine = statistics.median(self.recent[threads])
        other = self.pace(self._other())
        if threads == self.current:
            self.since_probe += 1
            if other is not None and mine > SLOWER * other:
                self.since_probe = max(self.since_probe, self.interval)
            return
        self.since_probe = 0
        current = self.pace(self.current)
        if current is None:  # (the first probe: nothing to compare yet)
            return
        if mine < MARGIN * current:
            self.current, self.interval = threads, FIRST_INTERVAL
        else:
            self.interval = min(MAX_INTERVAL, 2 * self.interval)

    def chunk_seconds_per_batch(self) -> float | None:
        """Seconds per mini-batch of the chosen setting (sizes the next chunk), if measured."""
        return self.pace(self.current)
