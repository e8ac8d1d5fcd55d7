"""The book's equations in plain numpy: the network that the tests' oracle (:mod:`fastnn.reference`)
is, and that trains a cost class of the user's own (:mod:`fastnn._user_cost_step`) — one copy of the
math for both.

Written to be read next to chapters 2 and 3 of Nielsen's *Neural Networks and Deep Learning*,
like his network2.py, but matrix-based: one product per layer per mini-batch, one example per row
(so zˡ = aˡ⁻¹ Wˡᵀ + bˡ for a batch of rows). Slow, allocates freely, no checks (the callers check).
Pure numpy (and scipy's ``expit``): from fastnn it imports only the cost functions
(:mod:`fastnn.costs`), never the compiled core or the data module.
"""

import numpy as np
from scipy.special import expit

from .costs import resolve_cost


def onehot(y, n_classes, dtype=np.float64):
    """Integer labels (n,) to one-hot rows (n, n_classes); no checks (:func:`fastnn.data.onehot`
    is the checked one for users)."""
    return np.eye(n_classes, dtype=dtype)[np.asarray(y, dtype=np.intp)]


# Neuron functions and their derivatives σ'(z).
def sigmoid(z):
    return expit(z)


def sigmoid_prime(z):
    """σ'(z) = σ(z)(1 − σ(z))."""
    s = expit(z)
    return s * (1 - s)


def softmax(z):
    """a_j = e^{z_j} / Σ_k e^{z_k}  (eq. 78), shifted by the row maximum so it never overflows."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ACTIVATIONS = {
    "sigmoid": (sigmoid, sigmoid_prime),
    "tanh": (np.tanh, lambda z: 1 - np.tanh(z) ** 2),
    "relu": (lambda z: np.maximum(z, 0), lambda z: (z > 0).astype(z.dtype)),
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "softmax": (softmax, None),
}


class NumpyNetwork:
    """A fully-connected network trained by mini-batch SGD exactly as the book describes.

    weights[l] has shape (sizes[l+1], sizes[l]), biases[l] shape (sizes[l+1],).
    """

    def __init__(
        self,
        sizes,
        weights,
        biases,
        cost="cross-entropy",
        output="sigmoid",
        hidden="sigmoid",
        dtype=np.float64,
    ):
        self.sizes = list(sizes)
        self.num_layers = len(sizes)
        self.cost = resolve_cost(cost)
        self.output, self.hidden = output, hidden
        self.dtype = np.dtype(dtype)
        self.weights = [np.array(w, dtype=self.dtype) for w in weights]
        self.biases = [np.array(b, dtype=self.dtype) for b in biases]
        self.velocity_w = [np.zeros_like(w) for w in self.weights]
        self.velocity_b = [np.zeros_like(b) for b in self.biases]

    def _act(self, l):
        return self.output if l == self.num_layers - 2 else self.hidden

    def _targets(self, y):
        y = np.asarray(y)
        if y.ndim == 1:
            return onehot(y, self.sizes[-1], self.dtype)
        return y.astype(self.dtype)

    def feedforward(self, X):
        a = np.asarray(X, dtype=self.dtype)
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            a = ACTIVATIONS[self._act(l)][0](a @ w.T + b)  # aˡ = σ(aˡ⁻¹ Wᵀ + b)  (eq. 25)
        return a

    def backprop(self, X, Y, masks=None, row_weights=None):
        """Σ over the rows of ∂C/∂b and ∂C/∂w, by BP1–BP4. `masks[l]` (optional) is the dropout
        mask of hidden layer l+1: 0 or 1/(1−p) per neuron and row. `row_weights` (optional, (m,))
        weighs each row's gradient: Σ_x w_x ∇C_x (row x's δᴸ scaled by w_x)."""
        activation = X
        activations = [X]  # inputs to each layer (after dropout)
        zs = []
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = activation @ w.T + b
            zs.append(z)
            activation = ACTIVATIONS[self._act(l)][0](z)
            if masks is not None and l < self.num_layers - 2:
                activation = activation * masks[l]  # inverted dropout
            activations.append(activation)
        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        # BP1: δᴸ for this cost and output layer.
        delta = self.cost.delta(zs[-1], activations[-1], Y, self.output)
        if row_weights is not None:
            delta = delta * np.asarray(row_weights, dtype=self.dtype)[:, None]
        nabla_b[-1] = delta.sum(axis=0)  # BP3
        nabla_w[-1] = delta.T @ activations[-2]  # BP4
        for l in range(2, self.num_layers):
            # BP2: δˡ = ((Wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ'(zˡ)
            delta = (delta @ self.weights[-l + 1]) * ACTIVATIONS[self.hidden][1](zs[-l])
            if masks is not None:
                delta = delta * masks[-l + 1]
            nabla_b[-l] = delta.sum(axis=0)
            nabla_w[-l] = delta.T @ activations[-l - 1]
        return nabla_b, nabla_w

    def update_mini_batch(
        self, X, Y, eta, lmbda, n, regularization="l2", momentum=0.0, masks=None, row_weights=None
    ):
        m = len(X)
        nabla_b, nabla_w = self.backprop(X, Y, masks, row_weights)
        for l in range(len(self.weights)):
            w, nw = self.weights[l], nabla_w[l]
            if momentum > 0:
                # v ← μv − η∇C with ∇C = (1/m)Σ∇C_x + (λ/n)(w or sgn w); w ← w + v
                reg = w if regularization == "l2" else np.sign(w)
                if lmbda == 0:
                    reg = 0
                self.velocity_w[l] = momentum * self.velocity_w[l] - (eta / m) * nw - (eta * lmbda / n) * reg
                self.weights[l] = w + self.velocity_w[l]
                self.velocity_b[l] = momentum * self.velocity_b[l] - (eta / m) * nabla_b[l]
                self.biases[l] = self.biases[l] + self.velocity_b[l]
                continue
            if regularization == "l1":
                # w ← w − (ηλ/n) sgn(w) − (η/m) Σ ∂C_x/∂w   (eq. 96)
                self.weights[l] = w - (eta * lmbda / n) * np.sign(w) - (eta / m) * nw
            else:
                # w ← (1 − ηλ/n) w − (η/m) Σ ∂C_x/∂w      (eq. 93)
                self.weights[l] = (1 - eta * lmbda / n) * w - (eta / m) * nw
            # b ← b − (η/m) Σ ∂C_x/∂b                      (eq. 94)
            self.biases[l] = self.biases[l] - (eta / m) * nabla_b[l]

    def SGD(
        self,
        training_data,
        epochs,
        mini_batch_size,
        eta,
        lmbda=0.0,
        regularization="l2",
        momentum=0.0,
        perms=None,
        mask_stream=None,
        sample_weight=None,
    ):
        """Train; mini-batches are consecutive slices of the data in order, or of X[perm] for
        perm in `perms` (one permutation per epoch). `mask_stream.batch(epoch, row0, m,
        hidden_sizes)` supplies the dropout masks of a mini-batch (one per hidden layer: rows
        row0..row0+m of the epoch's order; fastnn._core.MaskStream mirrors the core's stream).
        `sample_weight` (n,) weighs the rows, normalised to mean 1 over the data: the step of a mini-batch is
        −(η/m) Σ_x w_x ∇C_x, so a full-batch step follows ∇ of Σ w_x C_x / Σ w_x."""
        X, y = training_data
        X = np.asarray(X, dtype=self.dtype)
        Y = self._targets(y)
        n = len(X)
        W = None
        if sample_weight is not None:
            W = np.asarray(sample_weight, dtype=np.float64)
            W = W * (n / W.sum())
        for epoch in range(epochs):
            order = np.arange(n) if perms is None else perms[epoch]
            for k in range(0, n, mini_batch_size):
                idx = order[k : k + mini_batch_size]
                masks = None
                if mask_stream is not None:
                    masks = mask_stream.batch(epoch, k, len(idx), self.sizes[1:-1])
                self.update_mini_batch(
                    X[idx],
                    Y[idx],
                    eta,
                    lmbda,
                    n,
                    regularization,
                    momentum,
                    masks,
                    None if W is None else W[idx],
                )

    def total_cost(self, X, y, lmbda=0.0, regularization="l2"):
        """Mean cost over the rows plus the regularization term, with n = len(X) as network2."""
        X = np.asarray(X, dtype=self.dtype)
        a = X
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T + b
            a = ACTIVATIONS[self._act(l)][0](z)
        cost = self.cost.fn_from_z(z.astype(np.float64), self._targets(y), self.output) / len(X)
        if regularization == "l1":
            cost += (lmbda / len(X)) * sum(np.abs(w).sum() for w in self.weights)
        else:
            cost += 0.5 * (lmbda / len(X)) * sum(np.linalg.norm(w) ** 2 for w in self.weights)
        return cost

    def output_z(self, X):
        """The output layer's weighted inputs zᴸ."""
        a = np.asarray(X, dtype=self.dtype)
        for l, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = a @ w.T + b
            a = ACTIVATIONS[self._act(l)][0](z)
        return z

    def predict(self, X):
        """argmax of zᴸ (saturation-proof); one output: z ≥ 0, i.e. a ≥ 0.5."""
        z = self.output_z(X)
        if z.shape[1] == 1 and self.output == "sigmoid":
            return (z[:, 0] >= 0).astype(np.intp)
        return z.argmax(axis=1)

    def accuracy(self, X, y):
        """Rows where predict equals the label, the target row's argmax, or (one output) y ≥ 0.5."""
        y = np.asarray(y)
        if self.sizes[-1] == 1:
            want = (
                (y.reshape(-1) >= 0.5).astype(np.intp)
                if self.output == "sigmoid"
                else np.zeros(len(y), dtype=np.intp)
            )  # argmax of one column
        else:
            want = y if y.ndim == 1 else y.argmax(axis=1)
        return int(np.sum(self.predict(X) == want))
