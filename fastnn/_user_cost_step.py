"""The epoch step of a cost class of the user's own (:class:`fastnn.costs.UserCost`), which the
compiled core cannot run: the core ``Trainer``'s interface over :class:`~fastnn._numpy_network.NumpyNetwork`
(the book's equations in numpy, the same code as the tests' oracle :mod:`fastnn.reference`)."""

import numpy as np

from ._numpy_network import NumpyNetwork, onehot


class UserCostStep:
    """SGD's epoch step in plain numpy, for a cost the compiled core cannot run (a cost class of the
    user's own). Same interface as the compiled ``_core.Trainer``, so
    ``Network.SGD`` drives either one the same way (monitoring, schedules, early stopping,
    callbacks, history)::

        step.begin(X, y, perm, lmbda=..., n_total=..., regularization=..., momentum=...,
                   track_loss=..., sample_weight=...)          # once per run
        loss_sum = step.train(start, stop, eta, check_input)    # per chunk of mini-batches

    runs mini-batches [start, stop) of one epoch (mini-batch k = rows perm[k*B:(k+1)*B], or
    consecutive rows when perm is None; perm may be shuffled in place between calls) with
    :meth:`NumpyNetwork.update_mini_batch` (BP1–BP4, eq. 93–96), on the network's own
    parameters and momentum velocity; on a mini-batch holding NaN/inf input (check_input) it stops
    before that batch and sets ``bad_batch`` to its index.
    Dropout masks come from ``rng`` (a numpy Generator)."""

    def __init__(self, net, batch_size, velocity, dropout, rng):
        self.net, self.batch_size, self.velocity = net, int(batch_size), velocity
        self.dropout_p, self.rng = float(dropout), rng
        self.bad_batch = -1
        self.ref = NumpyNetwork(
            net.sizes,
            net.weights,
            net.biases,
            cost=net.cost,
            output=net.output,
            hidden=net.hidden,
            dtype=net.dtype,
        )
        if velocity is not None:
            from ._core import parameter_layout

            w_off, b_off, _ = parameter_layout(net.sizes)
            sizes = net.sizes
            self._vw = [
                velocity[o : o + a * b].reshape(b, a) for o, a, b in zip(w_off, sizes[:-1], sizes[1:])
            ]
            self._vb = [velocity[o : o + b] for o, b in zip(b_off, sizes[1:])]

    @property
    def rng_state(self):
        """The dropout generator's state (the Trainer's interface, for checkpoints)."""
        return self.rng.bit_generator.state

    @rng_state.setter
    def rng_state(self, value):
        self.rng.bit_generator.state = value

    def _load(self):
        ref, net = self.ref, self.net
        ref.weights = [np.array(w, dtype=ref.dtype) for w in net.weights]
        ref.biases = [np.array(b, dtype=ref.dtype) for b in net.biases]
        if self.velocity is not None:
            ref.velocity_w = [v.copy() for v in self._vw]
            ref.velocity_b = [v.copy() for v in self._vb]

    def _store(self):
        ref, net = self.ref, self.net
        for dst, src in zip(net.weights + net.biases, ref.weights + ref.biases):  # views of its buffer
            dst[...] = src
        if self.velocity is not None:
            for dst, src in zip(self._vw + self._vb, ref.velocity_w + ref.velocity_b):
                dst[...] = src

    def begin(
        self,
        X,
        y,
        perm=None,
        lmbda=0.0,
        n_total=-1,
        regularization="l2",
        momentum=0.0,
        track_loss=False,
        sample_weight=None,
    ):
        """Bind the run (arguments already checked by Network.SGD)."""
        self.X, self.y, self.perm, self.sample_weight = X, y, perm, sample_weight
        self.lmbda, self.regularization, self.momentum = lmbda, regularization, momentum
        self.n_total = len(X) if n_total < 0 else n_total
        self.track_loss = track_loss

    def train(self, start, stop, eta, check_input=False):
        ref, B = self.ref, self.batch_size
        X, y, perm, sample_weight, n = self.X, self.y, self.perm, self.sample_weight, len(self.X)
        loss = 0.0
        self._load()
        try:
            for k in range(start, stop):
                rows = np.arange(k * B, min(n, (k + 1) * B))
                idx = rows if perm is None else perm[rows]
                Xb = X[idx]
                if check_input and not np.all(np.isfinite(Xb)):
                    self.bad_batch = k
                    break
                Yb = (
                    onehot(y.labels[idx], ref.sizes[-1]).astype(ref.dtype)
                    if y.kind == "labels"
                    else y.targets[idx]
                )
                masks = None
                if self.dropout_p > 0:
                    keep = 1.0 - self.dropout_p
                    masks = [(self.rng.random((len(idx), s)) < keep) / keep for s in ref.sizes[1:-1]]
                wb = None if sample_weight is None else sample_weight[idx]
                if self.track_loss:
                    A = ref.feedforward(Xb)
                    if wb is None:
                        loss += float(ref.cost.fn(A, Yb))
                    else:
                        loss += sum(
                            float(w) * float(ref.cost.fn(A[i : i + 1], Yb[i : i + 1]))
                            for i, w in enumerate(wb)
                        )
                ref.update_mini_batch(
                    Xb, Yb, eta, self.lmbda, self.n_total, self.regularization, self.momentum, masks, wb
                )
        finally:
            self._store()
        return loss
