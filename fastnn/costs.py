"""The three costs of chapter 3, as in Nielsen's network2.py: each class has `fn` (the cost of one
batch of outputs) and `delta` (the output error δᴸ, BP1), plus `fn_from_z`, the same cost computed
stably from the weighted inputs z (finite even when a sigmoid or softmax output saturates).

Arrays hold one example per row: a, z and y have shape (m, n_out); y is one-hot for labels.
"""
import numpy as np


def _softplus(x):
    """ln(1 + eˣ) without overflow."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class QuadraticCost:
    """C = ½‖a − y‖²  (eq. 6)."""

    name = "quadratic"
    outputs = ("sigmoid", "linear")

    @staticmethod
    def fn(a, y):
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    def fn_from_z(z, y, output):
        from scipy.special import expit   # imported lazily: keeps `import fastnn` light
        a = expit(z) if output == "sigmoid" else z
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    def delta(z, a, y, output="sigmoid"):
        """BP1: δᴸ = (a − y) ⊙ σ'(zᴸ) for a sigmoid output, a − y for a linear one."""
        if output == "sigmoid":
            return (a - y) * a * (1 - a)
        return a - y


class CrossEntropyCost:
    """C = −Σⱼ [yⱼ ln aⱼ + (1 − yⱼ) ln(1 − aⱼ)]  (eq. 63)."""

    name = "cross-entropy"
    outputs = ("sigmoid",)

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
    """C = −ln a_y for a softmax output layer (eq. 80)."""

    name = "log-likelihood"
    outputs = ("softmax",)

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
        """δᴸ = a − y for softmax with log-likelihood (eq. 84)."""
        return a - y


COSTS = {c.name: c for c in (QuadraticCost, CrossEntropyCost, LogLikelihoodCost)}
# network2's JSON files store the class name.
COSTS_BY_CLASS_NAME = {c.__name__: c for c in COSTS.values()}
VALID_PAIRINGS = tuple((c.name, o) for c in COSTS.values() for o in c.outputs)
_ALIASES = {"crossentropy": "cross-entropy", "ce": "cross-entropy", "mse": "quadratic",
            "loglikelihood": "log-likelihood", "nll": "log-likelihood",
            **{c.__name__.lower(): c.name for c in COSTS.values()}}


def default_output(cost):
    """The output layer a cost is used with unless told otherwise (softmax for log-likelihood,
    sigmoid otherwise)."""
    return resolve_cost(cost).outputs[0]


def resolve_cost(cost):
    """A cost class from a class or one of the names "quadratic", "cross-entropy", "log-likelihood"
    (also accepted: network2's class names, underscores for hyphens, and a few common aliases)."""
    if isinstance(cost, type) and cost in COSTS.values():
        return cost
    if isinstance(cost, str):
        if cost in COSTS_BY_CLASS_NAME:
            return COSTS_BY_CLASS_NAME[cost]
        key = cost.strip().lower().replace("_", "-")
        key = _ALIASES.get(key, _ALIASES.get(key.replace("-", ""), key))
        if key in COSTS:
            return COSTS[key]
    raise ValueError(f"cost: expected one of {sorted(COSTS)} or a fastnn cost class, got {cost!r}")
