"""fastnn's BLAS thread policy: how many threads the BLAS library may use during a call.

The BLAS thread count is one process-wide setting (threadpoolctl changes it for every thread), so
fastnn calls that overlap in time — SGD in several Python threads, inference inside a callback —
share it. The rule:

- while several calls with a limit overlap, BLAS runs with the *smallest* of their limits (no
  call ever gets more threads than it asked for, whatever the order the calls came in);
- when a call leaves, the limit becomes the smallest of the calls still inside;
- when the last one leaves, the limit the process had before the first one came in is restored.

(Before, the first caller's limit silently held for all of them, and threadpoolctl's own
restore-on-exit left BLAS at 1 thread for good when the calls did not end in reverse order.)
"""

import threading
from collections import Counter
from contextlib import contextmanager

try:  # threadpoolctl is a dependency; keep the core usable without it all the same
    from threadpoolctl import ThreadpoolController
except Exception:  # pragma: no cover
    ThreadpoolController = None


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
            limiter = self.controller.limit(limits=n_threads, user_api="blas")
            if self._original is None:
                self._original = limiter  # remembers the limits from before the first call
            self._applied = n_threads

    @contextmanager
    def limit(self, n_threads):
        """BLAS limited to at most `n_threads` threads inside the block (None: no limit asked)."""
        if n_threads is None or self.controller is None:
            yield
            return
        n_threads = int(n_threads)
        with self._lock:
            self._active[n_threads] += 1
            self._apply(min(self._active))
        try:
            yield
        finally:
            with self._lock:
                self._active[n_threads] -= 1
                if not self._active[n_threads]:
                    del self._active[n_threads]
                if self._active:
                    self._apply(min(self._active))
                else:
                    original, self._original, self._applied = self._original, None, None
                    original.restore_original_limits()


#: the policy every fastnn call goes through
POLICY = BlasThreadPolicy()


def blas_limit(n_threads):
    """``with blas_limit(n):`` — BLAS at most n threads in the block, by the rule above."""
    return POLICY.limit(n_threads)
