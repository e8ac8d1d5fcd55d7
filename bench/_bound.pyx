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

Self-contained: only numpy and scipy.linalg.cython_blas.
"""
import numpy as np

cimport cython
cimport numpy as cnp
from libc.math cimport exp, expf
from libc.stdint cimport int64_t
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemm, sgemm

cnp.import_array()

ctypedef fused real:
    float
    double


cdef inline void _gemm(char ta, char tb, int M, int N, int K, real alpha, real* A, int lda,
                       real* B, int ldb, real beta, real* C, int ldc) noexcept nogil:
    if real is double:
        dgemm(&ta, &tb, &M, &N, &K, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)
    else:
        sgemm(&ta, &tb, &M, &N, &K, &alpha, A, &lda, B, &ldb, &beta, C, &ldc)


cdef inline real _exp(real x) noexcept nogil:
    if real is double:
        return exp(x)
    else:
        return expf(x)


cdef void _bias_sigmoid(real* Z, const real* b, int m, int no) noexcept nogil:
    cdef int i, j
    cdef real* row
    for i in range(m):
        row = Z + <Py_ssize_t>i * no
        for j in range(no):
            row[j] = 1 / (1 + _exp(-(row[j] + b[j])))


cdef void _bias_softmax(real* Z, const real* b, int m, int no) noexcept nogil:
    cdef int i, j
    cdef real* row
    cdef real mx, s
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


cdef void _epoch(real* X, const int64_t* y, const int64_t* perm, Py_ssize_t n, int L, const int* sizes,
                 real* W, const Py_ssize_t* woff, real* B, const Py_ssize_t* boff,
                 real* act, const Py_ssize_t* aoff, real* dlt, const Py_ssize_t* doff, real* fixed,
                 int m, real eta, real shrink, bint ideal, bint softmax) noexcept nogil:
    cdef Py_ssize_t k, i, r
    cdef int l, j, mb, ni, no
    cdef real *A0
    cdef real *Ain
    cdef real *Z
    cdef real *D
    cdef real *Dp
    cdef real *Wl
    cdef real *bl
    cdef real *a
    cdef real s, alpha
    cdef int d = sizes[0]
    k = 0
    while k < n:
        mb = m if k + m <= n else <int>(n - k)
        if ideal:
            A0 = act + aoff[0]
            for i in range(mb):
                r = perm[k + i]
                memcpy(A0 + i * d, X + r * d, d * sizeof(real))
        else:
            A0 = X + k * d
        # forward
        for l in range(L):
            ni = sizes[l]
            no = sizes[l + 1]
            Ain = A0 if l == 0 else act + aoff[l]
            Z = act + aoff[l + 1]
            _gemm(c'T', c'N', no, mb, ni, <real>1, W + woff[l], ni, Ain, ni, <real>0, Z, no)
            if ideal:
                if l == L - 1 and softmax:
                    _bias_softmax(Z, B + boff[l], mb, no)
                else:
                    _bias_sigmoid(Z, B + boff[l], mb, no)
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
                _gemm(c'N', c'N', ni, mb, no, <real>1, Wl, ni, D, no, <real>0, Dp, ni)
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


cdef void _forward(real* X, Py_ssize_t n, int L, const int* sizes, real* W, const Py_ssize_t* woff,
                   real* B, const Py_ssize_t* boff, real* act, const Py_ssize_t* aoff, int chunk,
                   bint ideal, bint softmax) noexcept nogil:
    cdef Py_ssize_t k
    cdef int l, mb, ni, no
    cdef real *Ain
    cdef real *Z
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
            _gemm(c'T', c'N', no, mb, ni, <real>1, W + woff[l], ni, Ain, ni, <real>0, Z, no)
            if ideal:
                if l == L - 1 and softmax:
                    _bias_softmax(Z, B + boff[l], mb, no)
                else:
                    _bias_sigmoid(Z, B + boff[l], mb, no)
        k += mb


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

    @cython.wraparound(True)
    def _init_params(self, sizes, dtype, weights, biases, seed):
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
    cdef readonly bint ideal, softmax
    cdef readonly object act, aoff, dlt, doff, fixed, rng

    @cython.wraparound(True)
    def __init__(self, sizes, int mini_batch_size, dtype=np.float64, variant="products", output="sigmoid",
                 double eta=0.5, double lmbda=5.0, weights=None, biases=None, seed=0):
        if variant not in ("products", "ideal"):
            raise ValueError(f"variant must be 'products' or 'ideal', got {variant!r}")
        if output not in ("sigmoid", "softmax"):
            raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
        if mini_batch_size < 1:
            raise ValueError(f"mini_batch_size must be >= 1, got {mini_batch_size}")
        self._init_params(sizes, dtype, weights, biases, seed)
        self.m = mini_batch_size
        self.eta = eta
        self.lmbda = lmbda
        self.ideal = variant == "ideal"
        self.softmax = output == "softmax"
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
        cdef cnp.ndarray Xa = _check_X(X)
        cdef cnp.ndarray ya
        cdef cnp.ndarray pa
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
        cdef cnp.ndarray cs = self._cs
        cdef cnp.ndarray wo = self.woff
        cdef cnp.ndarray bo = self.boff
        cdef cnp.ndarray ao = self.aoff
        cdef cnp.ndarray do = self.doff
        cdef cnp.ndarray Wf = self._wflat
        cdef cnp.ndarray Bf = self._bflat
        cdef cnp.ndarray Af = self.act
        cdef cnp.ndarray Df = self.dlt
        cdef cnp.ndarray Ff = self.fixed
        cdef int L = len(self.sizes) - 1
        cdef int m = self.m
        cdef bint ideal = self.ideal, softmax = self.softmax
        cdef double eta = self.eta
        cdef double shrink = 1.0 - self.eta * self.lmbda / n if n else 1.0
        if self.dtype == np.float64:
            with nogil:
                _epoch(<double*>cnp.PyArray_DATA(Xa), <int64_t*>cnp.PyArray_DATA(ya),
                       <int64_t*>cnp.PyArray_DATA(pa), n, L, <int*>cnp.PyArray_DATA(cs),
                       <double*>cnp.PyArray_DATA(Wf), <Py_ssize_t*>cnp.PyArray_DATA(wo),
                       <double*>cnp.PyArray_DATA(Bf), <Py_ssize_t*>cnp.PyArray_DATA(bo),
                       <double*>cnp.PyArray_DATA(Af), <Py_ssize_t*>cnp.PyArray_DATA(ao),
                       <double*>cnp.PyArray_DATA(Df), <Py_ssize_t*>cnp.PyArray_DATA(do),
                       <double*>cnp.PyArray_DATA(Ff),
                       m, eta, shrink, ideal, softmax)
        else:
            with nogil:
                _epoch(<float*>cnp.PyArray_DATA(Xa), <int64_t*>cnp.PyArray_DATA(ya),
                       <int64_t*>cnp.PyArray_DATA(pa), n, L, <int*>cnp.PyArray_DATA(cs),
                       <float*>cnp.PyArray_DATA(Wf), <Py_ssize_t*>cnp.PyArray_DATA(wo),
                       <float*>cnp.PyArray_DATA(Bf), <Py_ssize_t*>cnp.PyArray_DATA(bo),
                       <float*>cnp.PyArray_DATA(Af), <Py_ssize_t*>cnp.PyArray_DATA(ao),
                       <float*>cnp.PyArray_DATA(Df), <Py_ssize_t*>cnp.PyArray_DATA(do),
                       <float*>cnp.PyArray_DATA(Ff),
                       m, <float>eta, <float>shrink, ideal, softmax)


cdef class ForwardBound(_Params):
    """Inference over n rows: the forward gemms only ("products") or with bias + activation ("ideal").

    ``ForwardBound(sizes, n_rows, dtype, variant="products", output="sigmoid", chunk=None, weights=None,
    biases=None, seed=0)``; ``run(X)`` returns the (n, sizes[-1]) output buffer (reused between calls).
    ``chunk=None`` processes all rows in one gemm per layer (L gemms in total).
    """
    cdef readonly int n, chunk
    cdef readonly bint ideal, softmax
    cdef readonly object act, aoff, out

    @cython.wraparound(True)
    def __init__(self, sizes, int n_rows, dtype=np.float64, variant="products", output="sigmoid", chunk=None,
                 weights=None, biases=None, seed=0):
        if variant not in ("products", "ideal"):
            raise ValueError(f"variant must be 'products' or 'ideal', got {variant!r}")
        if output not in ("sigmoid", "softmax"):
            raise ValueError(f"output must be 'sigmoid' or 'softmax', got {output!r}")
        if n_rows < 0:
            raise ValueError(f"n_rows must be >= 0, got {n_rows}")
        self._init_params(sizes, dtype, weights, biases, seed)
        self.n = n_rows
        self.chunk = n_rows if chunk is None else max(1, min(int(chunk), n_rows))
        self.ideal = variant == "ideal"
        self.softmax = output == "softmax"
        # slot 0 (the input) is never used: X is read in place
        ashapes = [(0, self.sizes[0])] + [(self.chunk, s) for s in self.sizes[1:-1]] + [(n_rows, self.sizes[-1])]
        self.aoff = _offsets(ashapes)
        self.act = np.zeros(int(self.aoff[-1]), dtype=self.dtype)
        self.out = self.act[self.aoff[-2]:self.aoff[-1]].reshape(n_rows, self.sizes[-1])

    def run(self, X):
        cdef cnp.ndarray Xa = _check_X(X)
        if (X.dtype != self.dtype or not X.flags.c_contiguous or X.ndim != 2 or X.shape[1] != self.sizes[0]
                or X.shape[0] != self.n):
            raise ValueError(f"X must be C-contiguous ({self.n}, {self.sizes[0]}) {self.dtype}, got "
                             f"{X.shape} {X.dtype} c_contiguous={X.flags.c_contiguous}")
        cdef Py_ssize_t n = X.shape[0]
        cdef cnp.ndarray cs = self._cs
        cdef cnp.ndarray wo = self.woff
        cdef cnp.ndarray bo = self.boff
        cdef cnp.ndarray ao = self.aoff
        cdef cnp.ndarray Wf = self._wflat
        cdef cnp.ndarray Bf = self._bflat
        cdef cnp.ndarray Af = self.act
        cdef int L = len(self.sizes) - 1
        cdef int chunk = self.chunk
        cdef bint ideal = self.ideal, softmax = self.softmax
        if self.dtype == np.float64:
            with nogil:
                _forward(<double*>cnp.PyArray_DATA(Xa), n, L, <int*>cnp.PyArray_DATA(cs),
                         <double*>cnp.PyArray_DATA(Wf), <Py_ssize_t*>cnp.PyArray_DATA(wo),
                         <double*>cnp.PyArray_DATA(Bf), <Py_ssize_t*>cnp.PyArray_DATA(bo),
                         <double*>cnp.PyArray_DATA(Af), <Py_ssize_t*>cnp.PyArray_DATA(ao), chunk, ideal, softmax)
        else:
            with nogil:
                _forward(<float*>cnp.PyArray_DATA(Xa), n, L, <int*>cnp.PyArray_DATA(cs),
                         <float*>cnp.PyArray_DATA(Wf), <Py_ssize_t*>cnp.PyArray_DATA(wo),
                         <float*>cnp.PyArray_DATA(Bf), <Py_ssize_t*>cnp.PyArray_DATA(bo),
                         <float*>cnp.PyArray_DATA(Af), <Py_ssize_t*>cnp.PyArray_DATA(ao), chunk, ideal, softmax)
        return self.out
