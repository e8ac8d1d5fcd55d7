"""fastnn's threads: the thread budget of a training's team, and the BLAS thread policy.

``n_threads`` (SGD, ``Network.n_threads``, ``--threads``, the estimators) is the size of the team of
POSIX threads that runs ONE training inside the compiled loop (fastnn/_core.pyx, csrc/team.c); BLAS
layers and inference keep one BLAS thread. :func:`team_threads` applies the process's budget.

The BLAS thread policy: how many threads the BLAS library may use during a call.

The BLAS thread count is one process-wide setting (threadpoolctl changes it for every thread), so
fastnn calls that overlap in time — SGD in several Python threads, inference inside a callback —
share it. The rule:

- while several calls with a limit overlap, BLAS runs with the *smallest* of their limits (no
  call ever gets more threads than it asked for, whatever the order the calls came in);
- when a call leaves, the limit becomes the smallest of the calls still inside;
- when the last one leaves, the limit the process had before the first one came in is restored.

(Before, the first caller's limit silently held for all of them, and threadpoolctl's own
restore-on-exit left BLAS at 1 thread for good when the calls did not end in reverse order.)

The bookkeeping is exception-safe: a limit outside 1..MAX_THREADS is refused with a ValueError
before anything is counted or applied, a call is counted only once its limit is in force, and the
original limits are restored (and the state cleared) when the last call leaves even if applying
or restoring a limit raised. One bad call cannot leave the process with a stale entry that makes
every later call fail.
"""

import numbers
import os
import threading
import warnings
from collections import Counter
from contextlib import contextmanager

try:  # threadpoolctl is a dependency; keep the core usable without it all the same
    from threadpoolctl import ThreadpoolController
except Exception:  # pragma: no cover
    ThreadpoolController = None
try:  # threadpoolctl >= 3.6: only one "controlling" Python thread may set OpenBLAS's limit
    from threadpoolctl import OpenBLASController as _OpenBLASController
except Exception:  # pragma: no cover
    _OpenBLASController = None


def _free_control():
    """Let the calling thread set (and restore) OpenBLAS's process-wide limit.

    threadpoolctl lets only the first thread that set OpenBLAS's limit set it again, and silently
    ignores the others: a restore made by the thread that happened to leave last (say, a thread
    predicting while the main thread trained) did nothing, and BLAS stayed at 1 thread for good.
    fastnn's changes are serialised by the policy's lock, so it clears that claim around each one."""
    clear = getattr(_OpenBLASController, "clear_controlling_thread", None)
    if clear is not None:
        clear(force=True)


#: the largest thread count fastnn accepts anywhere (SGD, Network.n_threads, --threads, tune)
MAX_THREADS = 1024


def check_threads(value, name="n_threads"):
    """`value` as an int in [1, MAX_THREADS]; TypeError/ValueError naming `name` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if not (value == value and abs(value) != float("inf") and float(value).is_integer()):
            raise TypeError(f"{name}: expected an integer, got {value!r}")
    value = int(value)
    if not 1 <= value <= MAX_THREADS:
        raise ValueError(f"{name}: expected a value in [1, {MAX_THREADS}], got {value}")
    return value


def available_cores():
    """The CPUs this process may run on (``os.sched_getaffinity``; ``os.cpu_count`` elsewhere)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _worker_budget():
    """Inside a joblib/loky worker process: the threads it may use (loky sets OMP_NUM_THREADS and
    the BLAS variables to cpu_count // n_jobs in its workers); None elsewhere."""
    import multiprocessing

    if "Loky" not in multiprocessing.current_process().name:
        return None
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        try:
            value = int(os.environ.get(name, ""))
        except ValueError:
            continue
        if value >= 1:
            return value
    return None


_warned: set = set()


def _warn_once(key, message):
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, RuntimeWarning, stacklevel=4)


def team_threads(n_threads):
    """The team size for a training asked to use `n_threads`: capped, with one warning per
    process, by a joblib worker's thread budget."""
    n_threads = check_threads(n_threads)
    budget = _worker_budget()
    if budget is not None and n_threads > budget:
        _warn_once(
            "worker",
            f"n_threads={n_threads} inside a joblib worker whose thread budget is {budget}: "
            f"training on {budget} thread(s) (n_jobs x n_threads would oversubscribe the cores)",
        )
        return budget
    return n_threads


def warn_oversubscription(n_jobs, n_threads):
    """One warning when n_jobs concurrent trainings of n_threads threads each exceed the cores
    this process may use."""
    cores = available_cores()
    if n_jobs * n_threads > cores:
        _warn_once(
            ("jobs", n_jobs, n_threads, cores),
            f"{n_jobs} jobs x {n_threads} threads = {n_jobs * n_threads} threads on the {cores} "
            f"core(s) this process may use: the trainings will slow each other down (lower "
            f"--jobs or --threads)",
        )


class BlasThreadPolicy:
    """The process-wide state of the rule above, around a threadpoolctl controller."""

    def __init__(self, controller=None):
        self._controller = controller
        self._lock = threading.Lock()
        self._active = Counter()  # requested limit -> calls inside with that limit
        self._original = None  # threadpoolctl limiter holding the limits to restore
        self._applied = None  # the limit currently set by this policy

    @property
    def controller(self):
        if self._controller is None and ThreadpoolController is not None:
            self._controller = ThreadpoolController()
        return self._controller

    @property
    def current(self):
        """The limit in force (None: no fastnn call is limiting BLAS)."""
        return self._applied

    def _apply(self, n_threads):
        if n_threads != self._applied:
            _free_control()
            try:
                limiter = self.controller.limit(limits=n_threads, user_api="blas")
            finally:
                _free_control()
            if self._original is None:
                self._original = limiter  # remembers the limits from before the first call
            self._applied = n_threads

    def _restore(self):
        """Back to the limits from before the first call; the state is cleared whatever happens."""
        original, self._original, self._applied = self._original, None, None
        if original is not None:
            _free_control()
            try:
                original.restore_original_limits()
            finally:
                _free_control()

    @contextmanager
    def limit(self, n_threads):
        """BLAS limited to at most `n_threads` threads inside the block (None: no limit asked)."""
        if n_threads is None:
            yield
            return
        n_threads = check_threads(n_threads)  # before anything is counted or applied
        if self.controller is None:
            yield
            return
        with self._lock:
            try:
                self._apply(min(n_threads, min(self._active, default=n_threads)))
            except BaseException:
                # nothing counted; with no other call inside, the process's own limits come back
                if not self._active:
                    self._restore()
                raise
            self._active[n_threads] += 1
        try:
            yield
        finally:
            with self._lock:
                self._active[n_threads] -= 1
                if not self._active[n_threads]:
                    del self._active[n_threads]
                if self._active:
                    try:
                        self._apply(min(self._active))
                    except Exception:  # keep the smaller limit in force rather than fail the call
                        pass
                else:
                    self._restore()


#: the policy every fastnn call goes through
POLICY = BlasThreadPolicy()


def blas_limit(n_threads):
    """``with blas_limit(n):`` — BLAS at most n threads in the block, by the rule above."""
    return POLICY.limit(n_threads)
