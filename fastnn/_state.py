"""The one home of a :class:`~fastnn.Network`'s training state.

Training changes five things on a network: the flat parameter buffer (every ``weights[l]`` and
``biases[l]`` is a view of it), the momentum velocity (a buffer of the same layout, or None), the
random generator (initialisation, shuffling, the dropout streams' seeds), ``history``, and the
run a later ``SGD(resume=True)`` continues (epoch, η schedule, shuffling order, early-stopping
watch; written by ``save(path, state=True)``). :class:`TrainingState` is a copy of all five taken at
one moment, put back by :func:`restore`: the training run (an erroneous or refused call leaves the
network as it was, a diverged epoch is undone), the estimators (a failed ``fit`` on a reused
network) and the tests all use it.

The live pieces — the buffers the compiled core trains in place, the generator, the run state a
checkpoint reads and writes, and the network's internal data conversion and evaluation pass that
the training run calls — are reached through the functions below. This module and network.py are
the only ones that touch ``Network``'s private attributes (tests/test_private_attributes.py
checks it), so a change of the network's internals is made in these two files.

Imports: numpy and fastnn._validation only (no cycle: network.py imports this module).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import aligned_zeros

if TYPE_CHECKING:
    from .history import History
    from .network import Network


class TrainingState:
    """A copy of everything training changes on a network, taken by :func:`snapshot`.

    Attributes
    ----------
    params : ndarray
        A copy of the flat parameter buffer (all layers' weights and biases).
    velocity : ndarray or None
        A copy of the momentum velocity's values (None: the network had no velocity).
    rng : dict
        The network generator's ``bit_generator.state``.
    history : History or None
        The network's history object (the object itself: a later call replaces it, never
        changes a finished one).
    run : dict or None
        The run ``SGD(resume=True)`` would continue (the object itself, as for ``history``).
    """

    __slots__ = ("_velocity_buffer", "history", "params", "rng", "run", "velocity")

    def __init__(self, net: Network) -> None:
        self.params: np.ndarray = net._params.copy()
        self._velocity_buffer = net._velocity  # restored as the same array: trainers may hold it
        self.velocity: np.ndarray | None = None if net._velocity is None else net._velocity.copy()
        self.rng: dict[str, Any] = copy.deepcopy(dict(net._rng.bit_generator.state))
        self.history: History | None = net.history
        self.run: dict[str, Any] | None = run_state(net)

    def same_as(self, other: TrainingState) -> str | None:
        """None if ``other`` holds the same state (equal bytes, the same history and run objects),
        else which part differs."""
        if self.params.tobytes() != other.params.tobytes():
            return "parameters"
        mine = None if self.velocity is None else self.velocity.tobytes()
        theirs = None if other.velocity is None else other.velocity.tobytes()
        if mine != theirs:
            return "velocity"
        if self.rng != other.rng:
            return "random generator state"
        if self.history is not other.history:
            return "history"
        if self.run is not other.run:
            return "training run state"
        return None


def snapshot(net: Network) -> TrainingState:
    """A copy of ``net``'s training state now (see :class:`TrainingState`)."""
    return TrainingState(net)


def restore(net: Network, state: TrainingState, parameters_only: bool = False) -> None:
    """Put ``state`` back on ``net``: everything, as if the calls since the snapshot had not
    happened; with ``parameters_only``, only the parameter and velocity values (a diverged epoch
    is undone, the run goes on)."""
    net._params[...] = state.params
    if parameters_only:
        if state.velocity is not None and net._velocity is not None:
            net._velocity[...] = state.velocity
        return
    buffer = state._velocity_buffer
    if buffer is not None:
        buffer[...] = state.velocity
    net._velocity = buffer
    net._rng.bit_generator.state = copy.deepcopy(state.rng)
    net.history = state.history
    net._train_state = state.run


# ---- the live state (the training run, the epoch steps, checkpoints) ----------------------------
def parameters(net: Network) -> np.ndarray:
    """The network's flat parameter buffer itself (the compiled core trains it in place)."""
    return net._params


def layout(net: Network) -> Any:
    """The compiled core's ``Layout`` of the network (sizes, activations, cost, dtype)."""
    return net._layout


def velocity(net: Network) -> np.ndarray | None:
    """The momentum velocity buffer itself, or None (no momentum run since the parameters were set)."""
    return net._velocity


def ensure_velocity(net: Network) -> np.ndarray:
    """The velocity buffer, created (zeros, aligned as the parameters) when there is none."""
    if net._velocity is None:
        net._velocity = aligned_zeros(net._params.shape, net.dtype)
    return net._velocity


def set_velocity(net: Network, values: np.ndarray | None) -> None:
    """Replace the velocity buffer (``values``: an aligned array of the parameters' layout, or None)."""
    net._velocity = values


def generator(net: Network) -> np.random.Generator:
    """The network's random generator itself (initialisation, shuffling, the dropout seeds)."""
    return net._rng


def run_state(net: Network) -> dict[str, Any] | None:
    """The run ``SGD(resume=True)`` continues, or None (no run since the parameters were set)."""
    return getattr(net, "_train_state", None)


def set_run_state(net: Network, state: dict[str, Any] | None) -> None:
    """Record the run a later ``SGD(resume=True)`` continues (None: nothing to continue)."""
    net._train_state = state


# ---- the network's internal passes the training run and tune use -------------------------------
def dataset(net: Network, data: Any, name: str, check_finite: bool = True) -> tuple[np.ndarray, Any]:
    """(X, Targets) for the compiled core, checked against the network (see Network.SGD's data)."""
    return net._dataset(data, name, check_finite)


def evaluate(
    net: Network,
    X: np.ndarray,
    t: Any,
    want_cost: bool = False,
    want_correct: bool = False,
    n_threads: int | None = None,
) -> tuple[float, int]:
    """(summed cost, number correct) of the rows X against the prepared targets t, on `n_threads`
    threads (None: the network's n_threads; the same numbers for any count)."""
    return net._evaluate(X, t, want_cost=want_cost, want_correct=want_correct, n_threads=n_threads)


def regularized_cost(net: Network, cost_sum: float, n: int, lmbda: float, regularization: str) -> float:
    """network2's total cost from the summed cost of n rows (mean + the regularization term)."""
    return net._regularized_cost(cost_sum, n, lmbda, regularization)
