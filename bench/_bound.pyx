# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Benchmark tooling: lower bounds for the cost of one training epoch / one inference pass.

Not part of the public API; used by ``bench/compare.py`` and ``bench/bench_epoch.py``.

Conventions are those of the core (rows are examples, ``z = a·Wᵀ + b``, ``W`` of shape ``(n_out, n_in)``
row-major).  In column-major BLAS terms a row-major ``(r, c)`` matrix is a column-major ``(c, r)`` one, so:

* forward, per layer:   ``Z (m×no) = A (m×ni) · Wᵀ``          → ``gemm('T','N', no, m, ni, 1, W, ni, A, ni, 0, Z, no)``
* backward δ, per layer except the first:
                        ``Δₚ (m×ni) = Δ (m×no) · W``           → ``gemm('N','N', ni, m, no, 1, W, ni, Δ, no, 0, Δₚ, ni)``
* update, per layer:    ``W ← (1−ηλ/n)·W − (η/m)·Δᵀ·A``        → ``gemm('N','T', ni, no, m, −η/m, A, ni, Δ, no, 1−ηλ/n, W, ni)``

For sizes ``[784, 30, 10]`` that is 2 + 1 + 2 = 5 gemms per mini-batch.

Two variants of the epoch:

* ``"products"``: exactly those gemms with those shapes, reading the mini-batch straight from ``X`` (rows
  ``k..k+m`` in order), and nothing else: no gather, no bias, no activation, no δᴸ (the output δ buffer holds
  fixed small values).  This is the products-only bound.
* ``"ideal"``: a complete, minimal, single-pass SGD epoch: gather of the mini-batch rows from ``X`` by a
  permutation, bias + activation (sigmoid hidden, sigmoid or softmax output), δᴸ = a − y (cross-entropy with
  sigmoid output, or log-likelihood with softmax output), δ ← (δ·W) ∘ σ'(z), bias update, and the same gemms.
  It is a real trainer (plain loops, no buffer allocation), useful as an "ideal" reference point.

Needs only numpy and scipy.linalg.cython_blas (and, to build, the core's gemm wrapper
fastnn/_gemm.pxd). One code path for both precisions: the loops are fused over ``floating``; the
typed-view entry points (``_epoch_views``, ``_forward_views``) pick the float or double version from
the arrays they are given.
"""
import numpy as np

cimport cython
from cython cimport floating
from libc.math cimport exp, expf
from libc.stdint cimport int64_t
from libc.string cimport memcpy

from fastnn._gemm cimport gemm as _gemm


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is double:
        return exp(x)
    else:
        return expf(x)


cdef void _bias_sigmoid(floating* Z, const floating* b, int m, int no) noexcept nogil:
    cdef int i, j
    cdef floating* row
    for i in range(m):
        row = Z + <Py_ssize_t>i * no
        for j in range(no):
            row[j] = 1 / (1 + _exp(-(row[j] + b[j])))


cdef void _bias_softmax(floating* Z, const floating* b, int m, int no) noexcept nogil:
    cdef int i, j
    cdef floating* row
    cdef floating mx, s
    for i in range(m):
        row = Z + <Py_ssize_t>i * no
        for j in range(no):
            row[j] = row[j] + b[j]
        mx = row[0]
        for j in range(1, no):
            if row[j] > mx:
                mx = row[j]
        s = 0
        for j in range(no):
            row[j] = _exp(row[j] - mx)
            s = s + row[j]
        s = 1 / s
        for j in range(no):
            row[j] = row[j] * s


cdef inline void _layer_forward(const floating* Ain, const floating* W, const floating* b, floating* Z,
                                int mb, int ni, int no, bint ideal, bint softmax) noexcept nogil:
    """Z = A Wᵀ (the core's forward gemm); ideal: + b and the activation (softmax or sigmoid)."""
    _gemm(c'T', c'N', no, mb, ni, <floating>1, W, ni, Ain, ni, <floating>0, Z, no)
    if ideal:
        if softmax:
            _bias_softmax(Z, b, mb, no)
        else:
            _bias_sigmoid(Z, b, mb, no)


cdef void _epoch(const floating* X, const int64_t* y, const int64_t* perm, Py_ssize_t n, int L,
                 const int* sizes, floating* W, const Py_ssize_t* woff, floating* B,
                 const Py_ssize_t* boff, floating* act, const Py_ssize_t* aoff, floating* dlt,
                 const Py_ssize_t* doff, const floating* fixed, int m, floating eta, floating shrink,
                 bint ideal, bint softmax) noexcept nogil:
    cdef Py_ssize_t k, i, r
    cdef int l, j, mb, ni, no
    cdef const floating *A0
    cdef const floating *Ain
    cdef floating *Z
    cdef floating *D
    cdef floating *Dp
    cdef floating *Wl
    cdef floating *bl
    cdef floating *a
    cdef floating alpha
    cdef int d = sizes[0]
    k = 0
    while k < n:
        mb = m if k + m <= n else <int>(n - k)
        if ideal:
            A0 = act + aoff[0]
            for i in range(mb):
                r = perm[k + i]
                memcpy(act + aoff[0] + i * d, X + r * d, d * sizeof(floating))
        else:
            A0 = X + k * d
        # forward
        for l in range(L):
            ni = sizes[l]
            no = sizes[l + 1]
            Ain = A0 if l == 0 else act + aoff[l]
            Z = act + aoff[l + 1]
            _layer_forward(Ain, W + woff[l], B + boff[l], Z, mb, ni, no, ideal, softmax and l == L - 1)
        # output delta: a - onehot(y)
        if ideal:
            no = sizes[L]
            D = dlt + doff[L - 1]
            a = act + aoff[L]
            for i in range(mb):
                for j in range(no):
                    D[i * no + j] = a[i * no + j]
                D[i * no + y[perm[k + i]]] -= 1
        # backward
        alpha = -eta / mb
        for l in range(L - 1, -1, -1):
            ni = sizes[l]
            no = sizes[l + 1]
            D = dlt + doff[l]
            Wl = W + woff[l]
            # products: the update reads fixed activations (same shape, cache-resident like the real ones),
            # so that the parameters stay bounded without any elementwise work
            Ain = A0 if l == 0 else (act + aoff[l] if ideal else fixed + aoff[l])
            if l > 0:
                Dp = dlt + doff[l - 1]
                _gemm(c'N', c'N', ni, mb, no, <floating>1, Wl, ni, D, no, <floating>0, Dp, ni)
                if ideal:
                    for i in range(<Py_ssize_t>mb * ni):
                        Dp[i] = Dp[i] * Ain[i] * (1 - Ain[i])
            if ideal:
                bl = B + boff[l]
                for i in range(mb):
                    for j in range(no):
                        bl[j] += alpha * D[i * no + j]
            _gemm(c'N', c'T', ni, no, mb, alpha, Ain, ni, D, no, shrink, Wl, ni)
        k += mb


cdef void _forward(const floating* X, Py_ssize_t n, int L, const int* sizes, const floating* W,
                   const Py_ssize_t* woff, const floating* B, const Py_ssize_t* boff, floating* act,
                   const Py_ssize_t* aoff, int chunk, bint ideal, bint softmax) noexcept nogil:
    cdef Py_ssize_t k
    cdef int l, mb, ni, no
    cdef const floating *Ain
    cdef floating *Z
    k = 0
    while k < n:
        mb = chunk if k + chunk <= n else <int>(n - k)
        for l in range(L):
            ni = sizes[l]
            no = sizes[l + 1]
            Ain = X + k * sizes[0] if l == 0 else act + aoff[l]
            Z = act + aoff[l + 1]
            if l == L - 1:
                Z = Z + k * no      # the output buffer holds all n rows
            _layer_forward(Ain, W + woff[l], B + boff[l], Z, mb, ni, no, ideal, softmax and l == L - 1)
        k += mb


def _epoch_views(const floating[:, ::1] X, const int64_t[::1] y, const int64_t[::1] perm,
                 const int[::1] sizes, floating[::1] W, const Py_ssize_t[::1] woff, floating[::1] B,
                 const Py_ssize_t[::1] boff, floating[::1] act, const Py_ssize_t[::1] aoff,
                 floating[::1] dlt, const Py_ssize_t[::1] doff, const floating[::1] fixed, int m,
                 double eta, double shrink, bint ideal, bint softmax):
    """_epoch on checked, typed views; the precision is that of the arrays."""
    if X.shape[0] == 0:
        return
    with nogil:
        _epoch(&X[0, 0], &y[0], &perm[0], X.shape[0], <int>sizes.shape[0] - 1, &sizes[0], &W[0],
               &woff[0], &B[0], &boff[0], &act[0], &aoff[0], &dlt[0], &doff[0], &fixed[0], m,
               <floating>eta, <floating>shrink, ideal, softmax)


def _forward_views(const floating[:, ::1] X, const int[::1] sizes, const floating[::1] W,
                   const Py_ssize_t[::1] woff, const floating[::1] B, const Py_ssize_t[::1] boff,
                   floating[::1] act, const Py_ssize_t[::1] aoff, int chunk, bint ideal,
                   bint softmax):
    """_forward on checked, typed views; the precision is that of the arrays."""
    if X.shape[0] == 0:
        return
    with nogil:
        _forward(&X[0, 0], X.shape[0], <int>sizes.shape[0] - 1, &sizes[0], &W[0], &woff[0], &B[0],
                 &boff[0], &act[0], &aoff[0], chunk, ideal, softmax)


_INT_MAX = 2 ** 31 - 1     # BLAS dimensions are C ints


cdef object _check_X(object X):
    if not isinstance(X, np.ndarray):
        raise TypeError(f"X must be a numpy array, got {type(X).__name__}")
    return X


@cython.wraparound(True)
def _offsets(shapes):
    offs = np.zeros(len(shapes) + 1, dtype=np.intp)
    for i, s in enumerate(shapes):
        offs[i + 1] = offs[i] + int(np.prod(s))
    return offs


cdef class _Params:
    """Flat parameter buffer with weights/biases views (same layout idea as the core)."""
    # read-only from Python: the compiled loops trust these buffers and sizes (no out-of-bounds
    # access through a reassigned attribute)
    cdef readonly object sizes, dtype, params, weights, biases, woff, boff, _cs
    cdef readonly object _wflat, _bflat
    cdef readonly bint ideal, softmax

    @cython.wraparound(True)
    def _init_params(self, sizes, dtype, weights, biases, seed, variant, output):
        if variant not in ("products", "ideal"):
            raise ValueError(f"variant must be 'products' or 'ideal', got {variant!r}")
        if output not in ("sigmoid", "softmax"):
            raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
        self.ideal = variant == "ideal"
        self.softmax = output == "softmax"
        self.sizes = tuple(int(s) for s in sizes)
        if len(self.sizes) < 2 or min(self.sizes) < 1 or max(self.sizes) > _INT_MAX:
            raise ValueError(f"sizes must be >= 2 positive ints (at most {_INT_MAX}), got {sizes!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise TypeError(f"dtype must be float64 or float32, got {self.dtype}")
        L = len(self.sizes) - 1
        wshapes = [(self.sizes[l + 1], self.sizes[l]) for l in range(L)]
        bshapes = [(self.sizes[l + 1],) for l in range(L)]
        self.woff = _offsets(wshapes)
        self.boff = _offsets(bshapes)
        self._wflat = np.empty(int(self.woff[-1]), dtype=self.dtype)
        self._bflat = np.empty(int(self.boff[-1]), dtype=self.dtype)
        self.weights = [self._wflat[self.woff[l]:self.woff[l + 1]].reshape(wshapes[l]) for l in range(L)]
        self.biases = [self._bflat[self.boff[l]:self.boff[l + 1]] for l in range(L)]
        rng = np.random.default_rng(seed)
        for l in range(L):
            if weights is None:
                self.weights[l][...] = rng.standard_normal(wshapes[l]) / np.sqrt(wshapes[l][1])
            else:
                self.weights[l][...] = weights[l]
            if biases is None:
                self.biases[l][...] = rng.standard_normal(bshapes[l])
            else:
                self.biases[l][...] = np.asarray(biases[l]).reshape(bshapes[l])
        self._cs = np.asarray(self.sizes, dtype=np.intc)


cdef class EpochBound(_Params):
    """One SGD epoch with the core's BLAS calls ("products") or a minimal complete trainer ("ideal").

    ``EpochBound(sizes, mini_batch_size, dtype, variant="products"|"ideal", output="sigmoid"|"softmax",
    eta=0.5, lmbda=5.0, weights=None, biases=None, seed=0)``; ``run_epoch(X, y=None, perm=None)``.
    All buffers are allocated in the constructor; ``run_epoch`` releases the GIL and allocates nothing
    (except, for the ideal variant without ``perm``, one permutation drawn per epoch, as a shuffling trainer).
    """
    cdef readonly int m
    cdef public double eta, lmbda
    cdef readonly object act, aoff, dlt, doff, fixed, rng

    @cython.wraparound(True)
    def __init__(self, sizes, int mini_batch_size, dtype=np.float64, variant="products", output="sigmoid",
                 double eta=0.5, double lmbda=5.0, weights=None, biases=None, seed=0):
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, got {mini_batch_size}")
        self._init_params(sizes, dtype, weights, biases, seed, variant, output)
        self.m = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.rng = np.random.default_rng(seed)
        m = self.m
        ashapes = [(m, s) for s in self.sizes]
        dshapes = [(m, s) for s in self.sizes[1:]]
        self.aoff = _offsets(ashapes)
        self.doff = _offsets(dshapes)
        self.act = np.zeros(int(self.aoff[-1]), dtype=self.dtype)
        self.dlt = np.zeros(int(self.doff[-1]), dtype=self.dtype)
        # products variant: the output delta is never computed and the updates read fixed activations
        # (`fixed`): small fixed values keep every parameter bounded (W → a fixed point of
        # W ← βW − αΔᵀA), away from overflow and from subnormals
        L = len(self.sizes) - 1
        self.dlt[self.doff[L - 1]:self.doff[L]] = (
            1e-3 * self.rng.standard_normal(int(self.doff[L] - self.doff[L - 1])))
        self.fixed = self.rng.random(int(self.aoff[-1])).astype(self.dtype)

    @cython.wraparound(True)
    def run_epoch(self, X, y=None, perm=None):
        """One epoch over X (n, sizes[0]) C-contiguous of this dtype. Returns None."""
        _check_X(X)
        if X.dtype != self.dtype or not X.flags.c_contiguous or X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must be C-contiguous ({'n'}, {self.sizes[0]}) {self.dtype}, got "
                             f"{X.shape} {X.dtype} c_contiguous={X.flags.c_contiguous}")
        cdef Py_ssize_t n = X.shape[0]
        if self.ideal:
            if y is None:
                raise ValueError("the ideal variant needs int labels y")
            ya = np.array(y, dtype=np.int64, copy=True)     # own copies, checked after copying
            if ya.ndim != 1 or ya.shape[0] != n or (n and (ya.min() < 0 or ya.max() >= self.sizes[-1])):
                raise ValueError("y must be n int labels in [0, sizes[-1])")
            pa = np.array(self.rng.permutation(n) if perm is None else perm, dtype=np.int64, copy=True)
            if pa.ndim != 1 or pa.shape[0] != n or (n and (pa.min() < 0 or pa.max() >= n)):
                raise ValueError(f"perm must be {n} row indices in [0, {n})")
        else:
            ya = np.zeros(1, dtype=np.int64)
            pa = np.zeros(1, dtype=np.int64)
        cdef double shrink = 1.0 - self.eta * self.lmbda / n if n else 1.0
        _epoch_views(X, ya, pa, self._cs, self._wflat, self.woff, self._bflat, self.boff, self.act,
                     self.aoff, self.dlt, self.doff, self.fixed, self.m, self.eta, shrink, self.ideal,
                     self.softmax)


cdef class ForwardBound(_Params):
    """Inference over n rows: the forward gemms only ("products") or with bias + activation ("ideal").

    ``ForwardBound(sizes, n_rows, dtype, variant="products", output="sigmoid", chunk=None, weights=None,
    biases=None, seed=0)``; ``run(X)`` returns the (n, sizes[-1]) output buffer (reused between calls).
    ``chunk=None`` processes all rows in one gemm per layer (L gemms in total).
    """
    cdef readonly int n, chunk
    cdef readonly object act, aoff, out

    @cython.wraparound(True)
    def __init__(self, sizes, int n_rows, dtype=np.float64, variant="products", output="sigmoid", chunk=None,
                 weights=None, biases=None, seed=0):
        if n_rows < 0:
            raise ValueError(f"n_rows must be >= 0, got {n_rows}")
        self._init_params(sizes, dtype, weights, biases, seed, variant, output)
        self.n = n_rows
        self.chunk = n_rows if chunk is None else max(1, min(int(chunk), n_rows))
        # slot 0 (the input) is never used: X is read in place
        ashapes = [(0, self.sizes[0])] + [(self.chunk, s) for s in self.sizes[1:-1]] + [(n_rows, self.sizes[-1])]
        self.aoff = _offsets(ashapes)
        self.act = np.zeros(int(self.aoff[-1]), dtype=self.dtype)
        self.out = self.act[self.aoff[-2]:self.aoff[-1]].reshape(n_rows, self.sizes[-1])

    def run(self, X):
        _check_X(X)
        if (X.dtype != self.dtype or not X.flags.c_contiguous or X.ndim != 2 or X.shape[1] != self.sizes[0]
                or X.shape[0] != self.n):
            raise ValueError(f"X must be C-contiguous ({self.n}, {self.sizes[0]}) {self.dtype}, got "
                             f"{X.shape} {X.dtype} c_contiguous={X.flags.c_contiguous}")
        _forward_views(X, self._cs, self._wflat, self.woff, self._bflat, self.boff, self.act,
                       self.aoff, self.chunk, self.ideal, self.softmax)
        return self.out
