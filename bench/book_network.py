"""The per-example algorithm of the book's ``network2.py``, for benchmarking (not part of fastnn).

Each training example is a column vector; backpropagation runs once per example and the gradients are
summed over the mini-batch before one update:

    w ← (1 − ηλ/n)·w − (η/m)·Σₓ ∇w Cₓ,     b ← b − (η/m)·Σₓ ∇b Cₓ

Same conventions as fastnn (``W[l]`` of shape ``(sizes[l+1], sizes[l])``; λ divided by the training-set size
n), so with the same initial parameters and the same example order it computes the same parameters as
``fastnn.Network`` and ``fastnn.reference`` (up to rounding).  Independent code written for the benchmark.
"""

from __future__ import annotations

import numpy as np

__all__ = ["BookNetwork", "to_book_format"]


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def to_book_format(X, y, n_out, dtype=np.float64):
    """(X (n, d), int labels y (n,)) → list of (x (d, 1), one-hot (n_out, 1)) pairs, as the book's loader."""
    X = np.ascontiguousarray(X, dtype=dtype)
    y = np.asarray(y, dtype=np.int64)
    eye = np.eye(n_out, dtype=dtype)
    return [(X[i].reshape(-1, 1), eye[y[i]].reshape(-1, 1)) for i in range(X.shape[0])]


class BookNetwork:
    """A network2-style network: per-example backprop with column vectors.

    ``cost``: "cross-entropy" (sigmoid output), "log-likelihood" (softmax output) or "quadratic" (sigmoid).
    """

    def __init__(self, sizes, cost="cross-entropy", weights=None, biases=None, dtype=np.float64, seed=None):
        if cost not in ("cross-entropy", "log-likelihood", "quadratic"):
            raise ValueError(f"cost must be 'cross-entropy', 'log-likelihood' or 'quadratic', got {cost!r}")
        self.sizes = tuple(int(s) for s in sizes)
        self.cost = cost
        self.dtype = np.dtype(dtype)
        rng = np.random.default_rng(seed)
        L = len(self.sizes) - 1
        if weights is None:
            weights = [
                rng.standard_normal((self.sizes[l + 1], self.sizes[l])) / np.sqrt(self.sizes[l])
                for l in range(L)
            ]
        if biases is None:
            biases = [rng.standard_normal(self.sizes[l + 1]) for l in range(L)]
        self.weights = [np.array(w, dtype=self.dtype, order="C") for w in weights]
        self.biases = [np.array(b, dtype=self.dtype).reshape(-1, 1) for b in biases]
        self._rng = np.random.default_rng(seed)

    # -- forward ---------------------------------------------------------------------------------------
    def _output(self, z):
        return _softmax(z) if self.cost == "log-likelihood" else _sigmoid(z)

    def feedforward(self, a):
        """a: column vector (sizes[0], 1) → output column vector."""
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = w @ a + b
            a = self._output(z) if l == last else _sigmoid(z)
        return a

    # -- one example -----------------------------------------------------------------------------------
    def backprop(self, x, y):
        """Gradients (∇b, ∇w) of the cost of one example (x, y column vectors)."""
        activations = [x]
        a = x
        last = len(self.weights) - 1
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = w @ a + b
            a = self._output(z) if l == last else _sigmoid(z)
            activations.append(a)
        delta = a - y
        if self.cost == "quadratic":
            delta = delta * a * (1 - a)
        grad_b = [None] * len(self.weights)
        grad_w = [None] * len(self.weights)
        grad_b[last] = delta
        grad_w[last] = delta @ activations[-2].T
        for l in range(last - 1, -1, -1):
            a_l = activations[l + 1]
            delta = (self.weights[l + 1].T @ delta) * a_l * (1 - a_l)
            grad_b[l] = delta
            grad_w[l] = delta @ activations[l].T
        return grad_b, grad_w

    def update_mini_batch(self, mini_batch, eta, lmbda, n):
        sum_b = [np.zeros_like(b) for b in self.biases]
        sum_w = [np.zeros_like(w) for w in self.weights]
        for x, y in mini_batch:
            gb, gw = self.backprop(x, y)
            for l in range(len(sum_b)):
                sum_b[l] += gb[l]
                sum_w[l] += gw[l]
        step = eta / len(mini_batch)
        shrink = 1 - eta * lmbda / n
        for l in range(len(self.weights)):
            self.weights[l] = shrink * self.weights[l] - step * sum_w[l]
            self.biases[l] = self.biases[l] - step * sum_b[l]

    def SGD(self, training_data, epochs, mini_batch_size, eta, lmbda=0.0, shuffle=True, order=None):
        """training_data: list of (x, y) column-vector pairs (see ``to_book_format``).

        ``order``: optional index permutation used for the (single) epoch instead of a random shuffle.
        """
        data = list(training_data)
        n = len(data)
        eta = self.dtype.type(eta)
        for _ in range(epochs):
            if order is not None:
                data = [training_data[i] for i in order]
            elif shuffle:
                data = [data[i] for i in self._rng.permutation(n)]
            for k in range(0, n, mini_batch_size):
                self.update_mini_batch(data[k : k + mini_batch_size], eta, lmbda, n)
