"""The three costs of chapter 3, as in Nielsen's network2.py: each class has `fn` (the cost of one
batch of outputs) and `delta` (the output error δᴸ, BP1), plus `fn_from_z`, the same cost computed
stably from the weighted inputs z (finite even when a sigmoid or softmax output saturates).

Arrays hold one example per row: a, z and y have shape (m, n_out); y is one-hot for labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._vocabulary import (
    COST_OUTPUTS,
    OUTPUT_COSTS,
    OUTPUTS,
    VALID_PAIRINGS,  # noqa: F401
    cost_name,
    default_output,
)


def _softplus(x):
    """ln(1 + eˣ) without overflow."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class QuadraticCost:
    r"""The quadratic cost :math:`C = \frac{1}{2} \|a - y\|^2` (eq. 6).

    Used with a sigmoid or a linear output layer. Methods take one example per row: ``a``, ``z``
    and ``y`` of shape (m, n_out), ``y`` one-hot for labels; ``fn`` sums over the rows.
    """

    name = "quadratic"
    outputs = COST_OUTPUTS[name]

    @staticmethod
    def fn(a, y):
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    def fn_from_z(z, y, output):
        from scipy.special import expit  # imported lazily: keeps `import fastnn` light

        a = expit(z) if output == "sigmoid" else z
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    def delta(z, a, y, output="sigmoid"):
        """BP1: δᴸ = (a − y) ⊙ σ'(zᴸ) for a sigmoid output, a − y for a linear one."""
        if output == "sigmoid":
            return (a - y) * a * (1 - a)
        return a - y


class CrossEntropyCost:
    r"""The cross-entropy cost :math:`C = -\sum_j [y_j \ln a_j + (1 - y_j) \ln(1 - a_j)]` (eq. 63).

    Used with a sigmoid output layer; its output error :math:`\delta^L = a - y` (eq. 66) has no
    :math:`\sigma'(z)` factor, so learning does not slow down when neurons saturate.
    """

    name = "cross-entropy"
    outputs = COST_OUTPUTS[name]

    @staticmethod
    def fn(a, y):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(np.nan_to_num(-y * np.log(a) - (1 - y) * np.log(1 - a)))

    @staticmethod
    def fn_from_z(z, y, output="sigmoid"):
        """−[y ln σ(z) + (1 − y) ln(1 − σ(z))] = y softplus(−z) + (1 − y) softplus(z)."""
        return np.sum(y * _softplus(-z) + (1 - y) * _softplus(z))

    @staticmethod
    def delta(z, a, y, output="sigmoid"):
        """δᴸ = a − y: the σ'(z) of the quadratic cost cancels (eq. 66)."""
        return a - y


class LogLikelihoodCost:
    r"""The log-likelihood cost :math:`C = -\ln a^L_y` for a softmax output layer (eq. 80).

    Its output error is :math:`\delta^L = a^L - y` (eq. 84).
    """

    name = "log-likelihood"
    outputs = COST_OUTPUTS[name]

    @staticmethod
    def fn(a, y):
        with np.errstate(divide="ignore"):
            return -np.sum(np.nan_to_num(y * np.log(a)))

    @staticmethod
    def fn_from_z(z, y, output="softmax"):
        """−Σⱼ yⱼ ln softmax(z)ⱼ = Σⱼ yⱼ (logsumexp(z) − zⱼ)."""
        from scipy.special import logsumexp

        return np.sum(y * (logsumexp(z, axis=1, keepdims=True) - z))

    @staticmethod
    def delta(z, a, y, output="softmax"):
        """δᴸ = ∂C/∂zᴸ = a·Σⱼyⱼ − y: a − y (eq. 84) when the target row sums to 1, as one-hot
        rows do; also right for soft or multi-label rows (Σy ≠ 1)."""
        return a * np.sum(y, axis=-1, keepdims=True) - y


COSTS = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}


def resolve_cost(cost: str | type[Any]) -> type[Any]:
    """A cost class from a class or one of the names "quadratic", "cross-entropy", "log-likelihood"
    (also accepted: network2's class names, underscores for hyphens, and a few common aliases;
    see ``_vocabulary.cost_name``). A :class:`UserCost` (a cost class of the user's own, see
    :func:`network_cost`) is returned as is."""
    if isinstance(cost, UserCost):
        return cost
    return COSTS[cost_name(cost)]


# ---- cost classes of the user's own (network2's, or the book's exercises) --------------------------
#: The core's layout needs a built-in cost name even for a user cost (it only feeds forward then).
_CORE_COST_FOR_OUTPUT = OUTPUT_COSTS


def is_cost_class(obj):
    """True for an object with network2's cost interface: callable ``fn(a, y)`` and ``delta(z, a, y)``."""
    return callable(getattr(obj, "fn", None)) and callable(getattr(obj, "delta", None))


def _activate(z, output):
    """Output activation of z (one example per column, network2's layout)."""
    from scipy.special import expit, softmax

    if output == "sigmoid":
        return expit(z)
    if output == "softmax":
        return softmax(z, axis=0)
    return z.copy()


def _battery(output, seed=20240611):
    """(z, a, y) column vectors (network2's layout: one example per column) on which a user cost
    must agree with a built-in one: several sizes, small and large |z|, one-hot and soft targets."""
    rng = np.random.default_rng(seed)
    cases = []
    for k in (1, 2, 3, 10):
        for scale in (0.1, 1.0, 4.0):
            z = rng.standard_normal((k, 1)) * scale
            onehot = np.zeros((k, 1))
            onehot[rng.integers(k)] = 1.0
            soft = rng.random((k, 1))
            if output == "softmax":
                soft /= soft.sum()
            for y in (onehot, soft):
                cases.append((z, _activate(z, output), y))
    return cases


def _close(got, want):
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.size != want.size:
        return False
    return bool(np.allclose(got.reshape(want.shape), want, rtol=1e-7, atol=1e-12))


def _agrees(cls, builtin, output):
    """Does ``cls`` compute ``builtin``'s cost and δᴸ (with this output layer) on the battery?"""
    with np.errstate(all="ignore"):
        for z, a, y in _battery(output):
            try:
                f = cls.fn(a, y)
                d = cls.delta(z, a, y)
            except Exception:
                return False
            if not (_close(f, builtin.fn(a.T, y.T)) and _close(d, builtin.delta(z.T, a.T, y.T, output).T)):
                return False
    return True


class UserCost:
    """A cost class of the user's own — ``fn(a, y)`` and ``delta(z, a, y)`` with one example per
    column, as in network2 — adapted to fastnn's one-example-per-row arrays. Runs through the
    reference epoch step (the compiled core only knows the built-in costs).

    Each method is called once on a whole batch (columns = examples) when that gives the same result
    as calling it per example (checked once on a probe batch), else once per example."""

    name = "custom"

    def __init__(self, cls, output):
        self.cls = cls
        self.output = output
        self.outputs = (output,)
        self.__name__ = getattr(cls, "__name__", type(cls).__name__)
        self.core_cost = _CORE_COST_FOR_OUTPUT[output]
        self.vectorized = self._probe()

    def _probe(self):
        rng = np.random.default_rng(7)
        z = rng.standard_normal((3, 4))
        a = _activate(z, self.output)
        y = rng.random((3, 4))
        try:
            with np.errstate(all="ignore"):
                f = float(self.cls.fn(a, y))
                d = np.asarray(self.cls.delta(z, a, y), dtype=np.float64)
                f1 = sum(float(self.cls.fn(a[:, [j]], y[:, [j]])) for j in range(4))
                d1 = np.hstack(
                    [
                        np.asarray(self.cls.delta(z[:, [j]], a[:, [j]], y[:, [j]]), dtype=np.float64).reshape(
                            3, 1
                        )
                        for j in range(4)
                    ]
                )
        except Exception:
            return False
        return d.shape == (3, 4) and _close(f, f1) and _close(d, d1)

    def fn(self, a, y):
        """Summed cost of the rows of a (n, k) against y (n, k)."""
        a, y = np.asarray(a, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if self.vectorized:
            return float(self.cls.fn(a.T, y.T))
        return float(sum(float(self.cls.fn(a[i].reshape(-1, 1), y[i].reshape(-1, 1))) for i in range(len(a))))

    def fn_from_z(self, z, y, output=None):
        return self.fn(_activate(np.asarray(z, dtype=np.float64).T, self.output).T, y)

    def delta(self, z, a, y, output=None):
        """δᴸ of each row (BP1), as the user's class computes it."""
        if self.vectorized:
            return np.asarray(self.cls.delta(z.T, a.T, y.T)).T
        k = z.shape[1]
        return np.vstack(
            [
                np.asarray(
                    self.cls.delta(z[i].reshape(-1, 1), a[i].reshape(-1, 1), y[i].reshape(-1, 1))
                ).reshape(1, k)
                for i in range(len(z))
            ]
        )

    def __reduce__(self):
        return (UserCost, (self.cls, self.output))

    def __repr__(self):
        return f"UserCost({self.__name__}, output={self.output!r})"


class ReferenceCostWarning(UserWarning):
    """A cost class that does not match a built-in cost runs through the (slower) reference step."""


_WARNED: set[Any] = set()

#: Measured: 20,000 MNIST images, [784,30,10], mini-batch 10, λ=5, float64, median of 3 epochs on
#: a shared 2-core machine — compiled core 0.42 s, reference epoch step 1.24 s.
REFERENCE_SLOWDOWN = "about 3x slower than the compiled core ([784,30,10], mini-batch 10)"


def network_cost(cost: Any, output: str | None = None) -> tuple[Any, str]:
    """(cost, output) for ``Network(cost=..., output=...)``.

    Names and fastnn's classes resolve as :func:`resolve_cost`. Any other class (or object) with
    ``fn(a, y)`` and ``delta(z, a, y)`` — network2's ``CrossEntropyCost`` and ``QuadraticCost``, or the
    book's modified versions — is compared numerically with each built-in cost on a battery of
    inputs: if its fn and delta agree with one (for ``output``, or the first output layer that
    agrees), that built-in cost runs in the compiled core. A name match alone is not enough. Any
    other cost class becomes a :class:`UserCost` run by the reference epoch step, with a one-time
    :class:`ReferenceCostWarning`."""
    if isinstance(cost, UserCost):
        return cost, cost.output
    if isinstance(cost, str) or (isinstance(cost, type) and cost in COSTS.values()):
        cost = resolve_cost(cost)
        return cost, output if output is not None else default_output(cost)
    if not is_cost_class(cost):
        raise ValueError(
            f"cost: expected one of {sorted(COSTS)}, a fastnn cost class or a class with "
            f"fn(a, y) and delta(z, a, y) as network2's, got {cost!r}"
        )
    outputs = OUTPUTS if output is None else (output,)
    for out in outputs:
        if out not in _CORE_COST_FOR_OUTPUT:
            break  # an unknown output is reported by Network
        for builtin in COSTS.values():
            if out in builtin.outputs and _agrees(cost, builtin, out):
                return builtin, out
    out = output or "sigmoid"
    if out not in _CORE_COST_FOR_OUTPUT:
        return cost, out  # Network reports the bad output
    user = UserCost(cost, out)
    key = (getattr(cost, "__module__", None), user.__name__)
    if key not in _WARNED:
        _WARNED.add(key)
        import warnings

        how = "" if user.vectorized else " (and more: its fn/delta are called once per example)"
        warnings.warn(
            f"cost {user.__name__}: its fn/delta do not agree with a built-in cost (quadratic, "
            f"cross-entropy, log-likelihood) for a {out} output, so training runs through fastnn's "
            f"numpy reference epoch step instead of the compiled core: {REFERENCE_SLOWDOWN}{how}. "
            f"Monitoring, schedules, early stopping and callbacks work as usual.",
            ReferenceCostWarning,
            stacklevel=3,
        )
    return user, out


def core_cost_name(cost):
    """The cost name the compiled core's layout is built with."""
    return cost.core_cost if isinstance(cost, UserCost) else cost.name
