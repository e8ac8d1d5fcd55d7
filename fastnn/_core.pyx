# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""The compiled core of fastnn: mini-batch SGD and inference over C-contiguous buffers.

Everything here runs without the GIL. A training layer's products run on fastnn's own fused kernels
(``csrc/mm_*.c``) or on BLAS (``scipy.linalg.cython_blas``), chosen per layer by the mini-batch size and
the layer's size (``uses_own_kernels``, "Kernel choice" below); inference uses BLAS, but for a first layer
over mostly-zero inputs (``csrc/sparse_in.c``, "Inference" below). The
elementwise work is done by the C kernels in ``csrc/``.

Storage conventions (shared with ``fastnn.network``):

* rows are examples: a batch of activations is an (m, n) C-contiguous array;
* all parameters of a network live in ONE flat buffer: layer l's weights (sizes[l+1], sizes[l]) at
  ``w_off[l]``, its biases (sizes[l+1],) at ``b_off[l]``; the momentum velocity uses the same layout;
* the forward product of a layer is z = a Wᵀ + b, done as a column-major gemm by swapping operands.

The Python entry points check shapes, dtypes and contiguity themselves (cheaply), so a wrong call
raises instead of reading or writing out of bounds.
"""
from cython cimport floating
from libc.stdint cimport uint64_t, uintptr_t
from libc.string cimport memcpy

from ._gemm cimport gemm as _blas_gemm

import numpy as np

from . import _vocabulary as _v

cdef extern from "kernels.h" nogil:
    int FNN_SIGMOID, FNN_TANH, FNN_RELU, FNN_LINEAR, FNN_SOFTMAX
    int FNN_QUADRATIC, FNN_CROSS_ENTROPY, FNN_LOG_LIKELIHOOD
    int FNN_REG_NONE, FNN_REG_L2, FNN_REG_L1

    ctypedef struct fnn_drop:
        uint64_t key
        Py_ssize_t row0
        Py_ssize_t col0
        double p
    void fnn_rng_seed(uint64_t *state, uint64_t seed)
    uint64_t fnn_rng_next(uint64_t *state)

cdef extern from "team.h" nogil:
    ctypedef struct fnn_team:
        pass
    ctypedef void (*fnn_team_fn)(void *ctx, fnn_team *team, int tid) noexcept nogil
    enum: FNN_TEAM_MAX
    int fnn_team_run(int n, fnn_team_fn fn, void *ctx)
    int fnn_team_sync(fnn_team *team)
    void fnn_team_stop(fnn_team *team)
    int fnn_team_size(const fnn_team *team)
    int fnn_team_stopped(const fnn_team *team)
    Py_ssize_t fnn_team_claim(Py_ssize_t *counter)
    unsigned long long fnn_team_ticks()
    unsigned long long fnn_team_take_wait()

cdef extern from "mm.h" nogil:
    ctypedef struct fnn_prefetch:
        const char *base
        Py_ssize_t row_bytes
        const Py_ssize_t *rows
        Py_ssize_t m
    ctypedef struct fnn_mm_table:
        const char *name
        void (*forward_d)(double *z, Py_ssize_t ldz, const double *a, Py_ssize_t lda,
                          const Py_ssize_t *rows, Py_ssize_t m, const double *w, const double *b,
                          Py_ssize_t n_out, Py_ssize_t n_in, int act, double *drop, double *mask,
                          const fnn_drop *dr, const fnn_prefetch *pf, const Py_ssize_t *seg,
                          Py_ssize_t nseg) noexcept nogil
        void (*forward_f)(float *z, Py_ssize_t ldz, const float *a, Py_ssize_t lda,
                          const Py_ssize_t *rows, Py_ssize_t m, const float *w, const float *b,
                          Py_ssize_t n_out, Py_ssize_t n_in, int act, float *drop, float *mask,
                          const fnn_drop *dr, const fnn_prefetch *pf, const Py_ssize_t *seg,
                          Py_ssize_t nseg) noexcept nogil
        void (*backward_d)(double *dp, const double *d, Py_ssize_t m, const double *w,
                           Py_ssize_t n_out, Py_ssize_t n_in, Py_ssize_t ld, const double *ap,
                           const double *mask, int act) noexcept nogil
        void (*backward_f)(float *dp, const float *d, Py_ssize_t m, const float *w, Py_ssize_t n_out,
                           Py_ssize_t n_in, Py_ssize_t ld, const float *ap, const float *mask,
                           int act) noexcept nogil
        void (*update_d)(double *w, double *b, double *vw, double *vb, const double *d,
                         Py_ssize_t ldd, const double *a, Py_ssize_t lda, const Py_ssize_t *rows,
                         Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in, double beta, double mu,
                         double c, int reg, double *tmp, const fnn_prefetch *pf,
                         const Py_ssize_t *seg, Py_ssize_t nseg) noexcept nogil
        void (*update_f)(float *w, float *b, float *vw, float *vb, const float *d, Py_ssize_t ldd,
                         const float *a, Py_ssize_t lda, const Py_ssize_t *rows, Py_ssize_t m,
                         Py_ssize_t n_out, Py_ssize_t n_in, float beta, float mu, float c,
                         int reg, float *tmp, const fnn_prefetch *pf, const Py_ssize_t *seg,
                         Py_ssize_t nseg) noexcept nogil
        Py_ssize_t (*segs_d)(const double *a, Py_ssize_t lda, const Py_ssize_t *rows, Py_ssize_t m,
                             Py_ssize_t n, Py_ssize_t *seg) noexcept nogil
        Py_ssize_t (*segs_f)(const float *a, Py_ssize_t lda, const Py_ssize_t *rows, Py_ssize_t m,
                             Py_ssize_t n, Py_ssize_t *seg) noexcept nogil
        int row_block
    const fnn_mm_table *fnn_mm_select(const char *name)
    enum: FNN_MM_MAXSEG
    void fnn_pf_heads(const fnn_prefetch *pf, int lines)
    void fnn_pf_block(const void *p, Py_ssize_t bytes)


cdef extern from "gemm.h" nogil:
    int fnn_gemm_available()
    Py_ssize_t fnn_gemm_work_d()
    Py_ssize_t fnn_gemm_work_f()
    Py_ssize_t fnn_gemm_work_deep_d()
    Py_ssize_t fnn_gemm_work_deep_f()
    Py_ssize_t fnn_panels_size_d(Py_ssize_t n_out, Py_ssize_t n_in)
    Py_ssize_t fnn_panels_size_f(Py_ssize_t n_out, Py_ssize_t n_in)
    # (the functions of both precisions: declared with their fused wrappers, _kernels.pxi.tp)

# fastnn's names (_vocabulary.py) -> the C constants, in the vocabulary's order
ACTIVATIONS = {**dict(zip(_v.HIDDEN, (FNN_SIGMOID, FNN_TANH, FNN_RELU))),
               **dict(zip(_v.OUTPUTS, (FNN_SIGMOID, FNN_SOFTMAX, FNN_LINEAR)))}
COSTS = dict(zip(_v.COSTS, (FNN_QUADRATIC, FNN_CROSS_ENTROPY, FNN_LOG_LIKELIHOOD)))
REGULARIZATIONS = {None: FNN_REG_NONE, **dict(zip(_v.REGULARIZATIONS, (FNN_REG_L2, FNN_REG_L1)))}

# Per-mini-batch bounds checks of labels and perm indices in the training kernel (on by default;
# switched off only by bench/index_checks.py to measure what they cost).
cdef bint _CHECK_INDICES = True


def _set_index_checks(bint on):
    """Turn the training kernel's label/perm bounds checks on or off (benchmarks only); returns
    the previous setting."""
    global _CHECK_INDICES
    cdef bint before = _CHECK_INDICES
    _CHECK_INDICES = on
    return bool(before)


# Rows of X off 64-byte lines copied to rows on lines per mini-batch (Trainer.begin; on by default;
# switched off only by bench/threads.py and bench/compare.py to measure what it saves).
cdef bint _STAGE_INPUT = True


# Layer 0's W kept as packed panels during a train() call when it is on the packed product (on by
# default; switched off only by benchmarks, to measure what it saves: the forward then packs W per
# mini-batch). The same bits either way.
cdef bint _W_PANELS = True


# Layer 0 on the packed product skips the input columns that are zero in a whole mini-batch (on by
# default; off only for benchmarks and tests, which compare the two: the same bits).
cdef bint _SKIP_ZERO_COLUMNS = True
_SKIPPING_CALLS = [0]  # train() calls that skipped zero columns (tests: the path was taken)


def _active_runs(const double[:, ::1] X, rows=None):
    """The active columns of X's rows (all, or those listed in rows) as [(first, length), ...] and
    their count: fnn_active_runs, for tests."""
    cdef Py_ssize_t n = X.shape[1], active = 0, nruns
    cdef double[::1] acc = np.empty(max(n, 1))
    cdef Py_ssize_t[::1] runs = np.empty(n + 2, dtype=np.intp)
    cdef Py_ssize_t[::1] rv = np.ascontiguousarray(rows if rows is not None else [], dtype=np.intp)
    if rows is not None and rv.shape[0] and (np.min(rv) < 0 or np.max(rv) >= X.shape[0]):
        raise ValueError(f"rows: expected indices in [0, {X.shape[0]})")
    cdef Py_ssize_t m = rv.shape[0] if rows is not None else X.shape[0]
    if m == 0 or n == 0:
        return [], 0
    nruns = active_runs(&X[0, 0], n, &rv[0] if rows is not None else NULL, m, n, &acc[0], &runs[0],
                        &active)
    return [(runs[2 * i], runs[2 * i + 1]) for i in range(nruns)], active


# A team shares hidden neurons by its threads' measured speed (Trainer._rebalance); off: equal shares
# (benchmarks). Calls shorter than _BALANCE_MIN mini-batches do not move the shares. The unit of
# Run.cut: a team's thread t owns the fraction (cut[t+1] - cut[t]) / CUT_ONE.
cdef enum:
    CUT_ONE = 1 << 20
cdef bint _BALANCE = True
cdef Py_ssize_t _BALANCE_MIN = 16


def _cut_of(fractions):
    """Run.cut (T + 1 values in units of CUT_ONE) for shares `fractions` (summing to 1)."""
    cut = np.concatenate([[0], np.round(np.cumsum(fractions) * CUT_ONE)]).astype(np.intp)
    cut[-1] = CUT_ONE
    return cut


cdef bint cut_update(Py_ssize_t *cut, const double *busy, Py_ssize_t T, Py_ssize_t n1,
                     Py_ssize_t grain) noexcept nogil:
    """balanced_cut in place (no allocation: it runs after every whole-team call); 0 when a thread
    measured no time (then cut is left as it is)."""
    cdef double speed[FNN_TEAM_MAX]
    cdef double frac[FNN_TEAM_MAX]
    cdef double total = 0.0, owned, acc = 0.0
    cdef Py_ssize_t nb = (n1 + grain - 1) // grain, t, lo, hi
    if T < 2 or T > FNN_TEAM_MAX:
        return 0
    for t in range(T):
        if busy[t] <= 0:
            return 0
        lo = min(n1, (nb * cut[t] // CUT_ONE) * grain)
        hi = min(n1, (nb * cut[t + 1] // CUT_ONE) * grain)
        owned = max(<double>(hi - lo), 0.5)  # (a thread with no rows still measured its fixed work)
        speed[t] = owned / busy[t]
        total += speed[t]
    acc = 0.0
    for t in range(T):
        frac[t] = 0.5 * (cut[t + 1] - cut[t]) / <double>CUT_ONE + 0.5 * speed[t] / total
        frac[t] = min(max(frac[t], 0.25 / T), 1.75 / T)
        acc += frac[t]
    total = 0.0
    for t in range(T):
        cut[t] = <Py_ssize_t>(total / acc * CUT_ONE + 0.5)
        total += frac[t]
    cut[0] = 0
    cut[T] = CUT_ONE
    return 1


def balanced_cut(cut, busy, Py_ssize_t n1, Py_ssize_t grain):
    """A team's next shares (Run.cut) from this call's: each thread's measured speed is the
    first hidden layer's neurons it owned (n1 in blocks of `grain`, as `share` gives them) per
    tick it spent outside the barriers (`busy`); the shares move halfway towards those speeds'
    proportions, each kept within [1/(4T), 7/(4T)] — a core that another process slows down (this
    host: for seconds at a time) gets less of the next call's work instead of holding every
    barrier up. Unchanged when a thread measured no time."""
    cdef Py_ssize_t[::1] out = np.array(cut, dtype=np.intp)
    cdef const double[::1] b = np.ascontiguousarray(busy, dtype=float)
    cdef Py_ssize_t T = out.shape[0] - 1
    if b.shape[0] != T:
        raise ValueError(f"busy: expected {T} values, got {b.shape[0]}")
    if T >= 2:
        cut_update(&out[0], &b[0], T, n1, grain)
    return np.asarray(out)


def _set_team_balance(bint on):
    """Let Trainers built after the call share a team's work by measured speed (on) or equally
    (off; benchmarks); returns the previous setting."""
    global _BALANCE
    cdef bint before = _BALANCE
    _BALANCE = on
    return bool(before)


def _set_skip_zero_columns(bint on):
    """Let Trainers built after the call skip a mini-batch's zero input columns in a first layer on
    the packed product (on) or not (off; benchmarks and tests); returns the previous setting."""
    global _SKIP_ZERO_COLUMNS
    cdef bint before = _SKIP_ZERO_COLUMNS
    _SKIP_ZERO_COLUMNS = on
    return bool(before)


def _set_w_panels(bint on):
    """Keep a packed-product first layer's W as panels for Trainers built after the call (on) or
    pack it per mini-batch (off; benchmarks only); returns the previous setting."""
    global _W_PANELS
    cdef bint before = _W_PANELS
    _W_PANELS = on
    return bool(before)


def _set_input_staging(bint on):
    """Turn the copy of off-line input rows on or off for Trainers bound after the call
    (benchmarks only); returns the previous setting."""
    global _STAGE_INPUT
    cdef bint before = _STAGE_INPUT
    _STAGE_INPUT = on
    return bool(before)


# A cache line: the staged rows start on one (as _validation.aligned_empty's arrays do; not
# imported from there, which imports this module).
cdef Py_ssize_t _SIMD_ALIGN = 64


cdef object _aligned_empty(Py_ssize_t count, object dtype, Py_ssize_t align=_SIMD_ALIGN):
    raw = np.empty(count * np.dtype(dtype).itemsize + align, dtype=np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + count * np.dtype(dtype).itemsize].view(dtype)


cdef inline Py_ssize_t _lines_up(Py_ssize_t count) noexcept nogil:
    """count rounded up to a whole number of 16 values (64 bytes or more in either dtype): regions
    that many values apart, in a buffer on a 64-byte line, share no line."""
    return (count + 15) // 16 * 16


# a thread's segments of layer 0's active input vectors (Run.segs), on lines of their own
cdef Py_ssize_t SEGS_STRIDE = _lines_up(2 * FNN_MM_MAXSEG)


# Rows per block for inference: big enough for efficient gemms, small enough to stay in cache.
EVAL_BLOCK = 1024


# ---------------------------------------------------------------------------------------------
# Kernel choice, made once at import (see DESIGN.md, "Own small-matrix kernels"):
#   FASTNN_ISA=generic|avx2|avx512   the instruction set of fastnn's own kernels (default: the best
#                                    this CPU runs); FASTNN_KERNELS=auto|own|blas (default auto).
#   auto: a training layer uses fastnn's own kernels when the mini-batch has at most OWN_ANY_ROWS
#   rows (any layer), or at most OWN_MAX_ROWS rows and the layer at most OWN_MAX_WEIGHTS weights;
#   BLAS otherwise, and always on the portable "generic" path (arm64, or x86 without AVX2), where
#   the vendor BLAS has the better kernels. The choice is per layer: [784,800,10] at mini-batch 32
#   runs its first layer (627,200 weights) on BLAS and its output layer on the own kernels.
#   Inference (many rows per block) uses BLAS (or, for sparse inputs, the first layer of
#   csrc/sparse_in.c: see "Inference"). "own" uses them for every training layer,
#   "blas" never. On the AVX2 path (3x3 blocks) a layer whose W is over OWN_AVX2_MAX_BYTES takes
#   BLAS above OWN_ANY_ROWS rows: its forward streams W once per 3-row block, from L3 once W
#   outgrows L2 (Zen 3: 512 kB). With fastnn's packed product (KERNELS["gemm"] == "own", not BLAS)
#   for the other layers, the AVX2 path also gives it a layer of at least GEMM_AVX2_MIN_BYTES at
#   GEMM_AVX2_MIN_ROWS rows or more ([784,100,10] f32 and [784,30,10] f64 at mini-batch 100: 4-11 %
#   / 6 % faster one-thread epochs, measured in one process). The measurements behind the
#   thresholds: DESIGN.md and
#   bench/results/kernels.md, compare.md, compare_wide.md.
# ---------------------------------------------------------------------------------------------
OWN_ANY_ROWS = 16
OWN_MAX_ROWS = 128
OWN_MAX_WEIGHTS = 200_000
OWN_AVX2_MAX_BYTES = 524_288
GEMM_AVX2_MIN_ROWS = 64
GEMM_AVX2_MIN_BYTES = 131_072
# A first layer on the packed product keeps its W as panels during a train() call (no packing of W
# per mini-batch) from this size: [784,800,10] 2-4 % faster epochs (f32); at [784,100,10] (313 /
# 627 kB) it measured level or 2 % slower (one process, interleaved; DESIGN.md, "The packed product").
PANELS_MIN_BYTES = 1 << 20
# the packed product's tile rows (csrc/gemm_impl.h's MR): a team's share of a layer on it
cdef enum:
    GEMM_ROWS_F = 16
    GEMM_ROWS_D = 8
ISA_NAMES = ("avx512", "avx2", "generic")
cdef const fnn_mm_table *_MM = NULL


def _choose_kernels():
    global _MM
    import os
    mode = os.environ.get("FASTNN_KERNELS", "auto").strip().lower() or "auto"
    if mode not in ("auto", "own", "blas"):
        raise ImportError(f"FASTNN_KERNELS: expected 'auto', 'own' or 'blas', got {mode!r}")
    isa = os.environ.get("FASTNN_ISA", "").strip().lower()
    available = tuple(name for name in ISA_NAMES if fnn_mm_select(name.encode()) != NULL)
    if isa and isa not in ISA_NAMES:
        raise ImportError(f"FASTNN_ISA: expected one of {', '.join(ISA_NAMES)}, got {isa!r}")
    if isa and isa not in available:
        raise ImportError(f"FASTNN_ISA={isa}: this CPU or build cannot run it (available: "
                          f"{', '.join(available) or 'none'})")
    _MM = fnn_mm_select(isa.encode())
    if _MM == NULL and mode == "own":
        raise ImportError("FASTNN_KERNELS=own: no kernel set of fastnn's own is available here")
    if _MM == NULL:
        mode = "blas"
    gemm = os.environ.get("FASTNN_GEMM", "auto").strip().lower() or "auto"
    if gemm not in ("auto", "own", "blas"):
        raise ImportError(f"FASTNN_GEMM: expected 'auto', 'own' or 'blas', got {gemm!r}")
    if gemm == "own" and not fnn_gemm_available():
        raise ImportError("FASTNN_GEMM=own: fastnn's packed product needs x86-64 with AVX2 and FMA")
    if gemm == "auto":
        # the packed product wherever the own kernels run on AVX2 or AVX-512 (it is AVX2 code);
        # the vendor BLAS on the portable path and under FASTNN_KERNELS=blas (the comparison)
        gemm = ("own" if fnn_gemm_available() and mode != "blas" and _MM.name.decode() != "generic"
                else "blas")
    return dict(mode=mode, isa=None if mode == "blas" else _MM.name.decode(), gemm=gemm,
                available=available, own_any_rows=OWN_ANY_ROWS, own_max_rows=OWN_MAX_ROWS,
                own_max_weights=OWN_MAX_WEIGHTS, own_avx2_max_bytes=OWN_AVX2_MAX_BYTES)


#: How this process computes its products: mode ("auto" | "own" | "blas"), isa (the own kernels'
#: instruction set, None for BLAS only), gemm (the large products of layers not on the own kernels
#: and of inference: "own" = fastnn's packed product, csrc/gemm_avx2.c, or "blas"), available (the
#: ISA paths this CPU and build can run).
KERNELS = _choose_kernels()


def uses_own_kernels(Py_ssize_t batch_size, Py_ssize_t n_in, Py_ssize_t n_out,
                     Py_ssize_t itemsize=8, Py_ssize_t threads=1):
    """True when a training layer (n_in -> n_out) with mini-batches of `batch_size` rows runs
    fastnn's own kernels in this process (the rule above); itemsize: 8 (float64) or 4 (float32).
    threads: the training's threads (the choice does not depend on them: results must not)."""
    mode = KERNELS["mode"]
    if KERNELS["isa"] is None or mode == "blas":
        return False
    if mode == "own":
        return True
    if KERNELS["isa"] == "generic":
        return False
    if batch_size <= OWN_ANY_ROWS:
        return True
    if batch_size > OWN_MAX_ROWS or n_in * n_out > OWN_MAX_WEIGHTS:
        return False
    if KERNELS["isa"] != "avx2":
        return True
    cdef Py_ssize_t nbytes = n_in * n_out * itemsize
    if nbytes > OWN_AVX2_MAX_BYTES:
        return False
    # the packed product available: it takes the larger layers at larger mini-batches (whatever
    # the threads: results must not depend on them; a team splits a first layer on it)
    return not (KERNELS.get("gemm") == "own" and batch_size >= GEMM_AVX2_MIN_ROWS
                and nbytes >= GEMM_AVX2_MIN_BYTES)


# The C kernels' declarations and their fused wrappers (activate, backprop_act, output_delta, cost_z,
# count_correct, bias_step, l1_shrink, momentum_step, gather_rows, scale_rows, dropout, draw_mask,
# all_finite, exp_values, mm_forward, mm_backward, mm_update; the packed product's packed_gemm,
# panels_pack, panels_unpack, panels_forward, panels_update): generated by setup.py from ONE line
# per kernel in fastnn/_kernels.pxi.tp.
include "_kernels.pxi"


# ---------------------------------------------------------------------------------------------
# Thin typed wrappers: one name per operation, dispatching on the precision at compile time.
# ---------------------------------------------------------------------------------------------

cdef inline void gemm(bint ta, bint tb, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const floating *A,
                      Py_ssize_t lda, const floating *B, Py_ssize_t ldb, floating beta, floating *C,
                      Py_ssize_t ldc, floating *gw) noexcept nogil:
    """Column-major C <- beta C + op(A) op(B) (op: transposed when ta/tb): fastnn's packed product
    (csrc/gemm.h: each element one chain of FMAs over k in order, the same bits on any machine with
    AVX2) when gw, its work buffer, is given; the vendor BLAS otherwise."""
    gemm_cols(ta, tb, M, N, K, A, lda, NULL, B, ldb, NULL, beta, C, ldc, gw, NULL)


cdef inline void gemm_cols(bint ta, bint tb, Py_ssize_t M, Py_ssize_t N, Py_ssize_t K,
                           const floating *A, Py_ssize_t lda, const Py_ssize_t *acols,
                           const floating *B, Py_ssize_t ldb, const Py_ssize_t *bcols, floating beta,
                           floating *C, Py_ssize_t ldc, floating *gw,
                           const fnn_prefetch *pf) noexcept nogil:
    """gemm with A's / B's columns at A + acols[c] lda / B + bcols[c] ldb, prefetching pf's rows
    meanwhile (the packed product only: the callers pass tables only with gw)."""
    if gw != NULL:
        packed_gemm(ta, tb, M, N, K, A, lda, acols, B, ldb, bcols, beta, C, ldc, gw, pf, NULL)
    else:
        _blas_gemm(c'T' if ta else c'N', c'T' if tb else c'N', <int>M, <int>N, <int>K,
                   <floating>1, A, <int>lda, B, <int>ldb, beta, C, <int>ldc)


cdef inline void forward_product(Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in, const floating *a,
                                 const floating *w, floating *z, floating *gw) noexcept nogil:
    """z (m, n_out) = a (m, n_in) · wᵀ — row-major, as a column-major gemm zᵀ = w aᵀ."""
    gemm(True, False, n_out, m, n_in, w, n_in, a, n_in, 0, z, n_out, gw)


cdef inline bint forward_product_deep(Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in,
                                      const floating *a, const floating *w, floating *z,
                                      floating *gw, bint check) noexcept nogil:
    """forward_product by the packed product in deep K blocks (gw: fnn_gemm_work_deep values; the
    whole of MNIST's rows per block: inference), which with check tests a for NaN/inf while it packs
    it (inference's input check in the same pass over a); True when a holds one (z is then
    meaningless)."""
    cdef int bad = 0
    packed_gemm_deep(True, False, n_out, m, n_in, w, n_in, NULL, a, n_in, NULL, 0, z, n_out, gw, NULL,
                     &bad if check else NULL)
    return bad != 0


cdef inline void backward_product(Py_ssize_t m, Py_ssize_t n_out, Py_ssize_t n_in, const floating *d,
                                  const floating *w, floating *d_prev, floating *gw) noexcept nogil:
    """BP2's product: d_prev (m, n_in) = d (m, n_out) · w (n_out, n_in)."""
    gemm(False, False, n_in, m, n_out, w, n_in, d, n_out, 0, d_prev, n_in, gw)


cdef inline fnn_prefetch input_rows(const floating *X, Py_ssize_t d0, const Py_ssize_t *perm,
                                    Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    """Rows perm[start:start+count] of X, to prefetch (none without perm: consecutive rows stream)."""
    cdef fnn_prefetch pf
    pf.base = <const char*>X
    pf.row_bytes = d0 * sizeof(floating)
    pf.rows = perm + start if perm != NULL else NULL
    pf.m = count if perm != NULL else 0
    return pf


# ---------------------------------------------------------------------------------------------
# Network layout
# ---------------------------------------------------------------------------------------------

def parameter_layout(sizes):
    """Offsets of each layer's weights and biases in the flat parameter buffer, and its length."""
    sizes = [int(s) for s in sizes]
    w_off, b_off = [], []
    pos = 0
    for n_in, n_out in zip(sizes[:len(sizes) - 1], sizes[1:]):
        w_off.append(pos)
        pos += n_in * n_out
        b_off.append(pos)
        pos += n_out
    return np.asarray(w_off, dtype=np.intp), np.asarray(b_off, dtype=np.intp), pos


cdef class Layout:
    """Sizes, activations and parameter offsets of a network: what the core needs to walk it."""
    cdef readonly int n_layers              # number of weight layers L
    cdef readonly Py_ssize_t n_params
    cdef readonly object dtype
    cdef Py_ssize_t[::1] sizes, w_off, b_off
    cdef readonly int hidden_act, output_act, cost

    def __init__(self, sizes, hidden, output, cost, dtype):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes: expected at least 2 layers of >= 1 neurons, got {sizes}")
        self.sizes = np.asarray(sizes, dtype=np.intp)
        w_off, b_off, n_params = parameter_layout(sizes)
        self.w_off = w_off
        self.b_off = b_off
        self.n_params = n_params
        self.n_layers = len(sizes) - 1
        self.hidden_act = ACTIVATIONS[_v.check_choice("hidden", hidden, _v.HIDDEN)]
        self.output_act = ACTIVATIONS[_v.check_pairing(cost, output)[1]]
        self.cost = COSTS[_v.cost_name(cost)]
        self.dtype = _v.resolve_dtype(dtype)


cdef object _check_array(object arr, str name, object dtype, Py_ssize_t rows, Py_ssize_t cols):
    """Cheap guard for direct callers of the core: right dtype, C-contiguous, expected shape."""
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array, got {type(arr).__name__}")
    if arr.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {np.dtype(dtype)}, got {arr.dtype}")
    if not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected a C-contiguous array")
    if cols < 0:
        if arr.ndim != 1 or (rows >= 0 and arr.shape[0] != rows):
            raise ValueError(f"{name}: expected shape ({rows},), got {arr.shape}")
    elif arr.ndim != 2 or (rows >= 0 and arr.shape[0] != rows) or arr.shape[1] != cols:
        want = f"({rows if rows >= 0 else 'n'}, {cols})"
        raise ValueError(f"{name}: expected shape {want}, got {arr.shape}")
    return arr


cdef class Targets:
    """The y of a data set as the core reads it, of one explicit kind: ``kind == "labels"``, int
    class indices ``labels`` (n,); or ``kind == "targets"``, float rows ``targets`` (n, k). The
    other attribute is None. Made for one layout: ``n_outputs`` and ``dtype`` are its output width
    and dtype, which the entry points compare with theirs.
    Labels are copied (and the copy checked and made read-only); the training kernel also checks
    each mini-batch's labels, so even a copy made writeable again cannot make it write out of
    bounds."""
    cdef readonly str kind
    cdef readonly object labels, targets, dtype
    cdef readonly Py_ssize_t n, n_outputs

    def __init__(self, Layout layout not None, object labels, object targets, Py_ssize_t n):
        k = layout.sizes[layout.n_layers]
        if n < 0:
            raise ValueError(f"n: expected >= 0, got {n}")
        if labels is not None and targets is not None:
            raise ValueError("labels, targets: expected one of them, got both")
        if labels is not None:
            _check_array(labels, "labels", np.intp, n, -1)
            # Our own read-only copy (n x 8 bytes), checked AFTER copying: labels changed later
            # (by a callback, another thread) can no longer reach the kernels.
            labels = np.array(labels, dtype=np.intp, copy=True)
            if n and (labels.min() < 0 or labels.max() >= k):
                raise ValueError(f"labels: expected integers in [0, {k}), got values in "
                                 f"[{labels.min()}, {labels.max()}]")
            labels.flags.writeable = False
            self.kind = "labels"
        else:
            _check_array(targets, "targets", layout.dtype, n, k)
            self.kind = "targets"
        self.labels, self.targets = labels, targets
        self.n, self.n_outputs, self.dtype = n, k, layout.dtype


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

# The stages of one mini-batch (DESIGN.md, "One training on every core"). A Run holds what a
# compiled ``train`` call needs; each thread of the team walks the chunk's mini-batches with its own
# Batch and calls the stages on its share. Thread t owns the neurons [part(n, t), part(n, t + 1)) of
# every hidden layer (n its width, in blocks of the kernels' row block): their activations and δ,
# and their rows of the W that computes them. The output layer is small: every thread computes all
# of it (forward, δᴸ, its update) on a copy of its own of the output layer's W and b (and velocity;
# thread 0's copy is the parameters themselves, the others' are made at the start of the call) —
# the same operations on the same values, so every copy stays the same — and this thread's
# columns of BP2's δᴸ⁻¹ (its neurons). Each neuron's sums are the same operations in the same order
# whatever thread computes them, so results do not depend on the number of threads. With one
# thread every stage is the whole layer, as it always was.
#
# Barriers per mini-batch: one before each layer's forward after the first (it reads every neuron
# of the layer below) and, for each hidden layer but the first, two in its backward step (BP2
# reads every column of the δ above; every thread has read the old W before its rows are
# updated). One hidden layer: ONE barrier per mini-batch. What makes that safe without the
# others: mini-batch k's activations, δ and masks live in buffer k % 2 (a thread that runs ahead
# into mini-batch k + 1 writes the other one while the others still read k's), and no thread reads
# a weight another thread writes (hidden layers: its own rows; the output layer: its own copy).
# No line is written by two threads either: each thread has its own hidden buffers and, after the
# barrier, copies the other threads' columns of the one it must read whole (gather_cols).
cdef struct Run:
    const void *X
    const Py_ssize_t *cut       # shares by measured speed: thread t owns [cut[t], cut[t+1]) /
    int cut_T                   # CUT_ONE of each hidden layer's blocks with cut_T threads; or NULL
    unsigned long long *busy    # per thread (8 apart): ticks outside barriers in this call, or NULL
    Py_ssize_t n
    void *P
    void *V
    void *work
    const Py_ssize_t *labels
    const void *T
    const Py_ssize_t *perm
    Py_ssize_t *lab             # per thread: B labels
    const void *sw
    Py_ssize_t start, stop, n_total
    double eta, lmbda, momentum, dropout_p
    int reg
    bint track_loss, check_input, check_indices
    int L, hidden_act, output_act, cost
    Py_ssize_t B, tmp_off, tmp_stride, grain, itemsize, lab_stride
    const Py_ssize_t *sizes
    const Py_ssize_t *w_off
    const Py_ssize_t *b_off
    # [2 T, L + 1] each: row 2 t + parity, thread t's buffers for the mini-batches of that parity
    # (a team's threads write hidden layers' buffers of their own, on lines of their own, and copy
    # the other threads' columns after a barrier: gather_cols)
    const Py_ssize_t *act_off
    const Py_ssize_t *delta_off
    const Py_ssize_t *drop_off
    const Py_ssize_t *mask_off
    const Py_ssize_t *hid_off
    Py_ssize_t *out_off         # per thread: its aᴸ/δᴸ (thread 0: act_off[0, L])
    Py_ssize_t *target_off      # per thread: its mini-batch's gathered targets
    Py_ssize_t *copy_off        # a team, per thread: its copy of the output layer's W, b, VW, Vb
    Py_ssize_t *hb_off          # a team, per thread: its hidden layers' biases and their velocity
    void *w0                    # a team with layer 0 on the own kernels: per thread (w0_off[t]
    const Py_ssize_t *w0_off    # values in), its rows of W¹ (and then V¹) for the call; or NULL
    const unsigned char *own
    const fnn_mm_table *mm
    uint64_t drop_key
    double loss                 # thread 0's summed loss
    Py_ssize_t *bad             # per thread: [2 tid] first bad input batch, [2 tid + 1] bad index
    void *stage                 # X's rows off a 64-byte line, a one-thread call: the mini-batch's
    Py_ssize_t stage_ld         # rows copied to rows stage_ld apart (64-byte lines); else NULL
    void *gemm_work             # the packed product's buffers (one per thread, gemm_stride values
    Py_ssize_t gemm_stride      # apart), or NULL: BLAS (KERNELS["gemm"])
    Py_ssize_t gemm_grain       # a team's share of a packed layer's neurons: whole tiles (MR)
    void *wp                    # layer 0 on the packed product: its W (and V: vp) as panels for
    void *vp                    # this call (packed at its start, unpacked at its end), or NULL
    void *cx                    # layer 0 on the packed product, its zero input columns skipped:
    Py_ssize_t cx_stride        # per thread, the mini-batch's rows compacted to their active
    void *cw                    # columns (and scratch); cw: W¹'s (or V¹'s) rows compacted so,
    Py_ssize_t *runs            # n0 apart (each thread its rows); runs: per thread, the active
    Py_ssize_t runs_stride      # columns as runs (fnn_active_runs); or all NULL
    Py_ssize_t *segs            # layer 0 on the own kernels without its zero input vectors in
    Py_ssize_t segs_stride      # this call: per thread, the mini-batch's segments; or NULL


cdef struct Batch:
    Py_ssize_t k, r0, m
    const Py_ssize_t *rows      # perm + r0, or NULL (consecutive rows)
    const Py_ssize_t *batch_labels
    const void *batch_targets
    bint gathered               # layer 0 on BLAS with a perm: the rows gathered into act[0]
    const void *a0              # layer 0 on the own kernels: its input rows a0 + rows0[i] * lda0
    const Py_ssize_t *rows0     # (X and perm in place, or this thread's staged copy, rows0 NULL)
    Py_ssize_t lda0
    fnn_prefetch pf_fwd, pf_upd
    Py_ssize_t kc, nruns        # layer 0 skips its zero input columns: kc active ones (0: none
    const Py_ssize_t *runs      # skipped), as nruns runs; xc: the rows compacted to them
    const void *xc
    const Py_ssize_t *seg       # layer 0 on the own kernels: the mini-batch's active vectors as
    Py_ssize_t nseg             # nseg segments (mm.h "segs"); NULL: the whole rows
    double step, shrink, beta
    int par                     # the mini-batch's parity
    const Py_ssize_t *act_off   # this thread's buffers for this mini-batch (its parity's)
    const Py_ssize_t *delta_off
    const Py_ssize_t *drop_off
    const Py_ssize_t *mask_off
    void *out                   # this thread's aᴸ, then δᴸ
    void *w0                    # a team: this thread's rows [o0, o1) of W¹ (v0: of V¹), copied
    void *v0                    # for the call (see copy_first_rows); or NULL
    void *hb                    # a team: this thread's copy of the hidden layers' biases (layer
    void *hvb                   # l's at hid_off[l], its share of them used), and velocity; or NULL
    void *w_out                 # this thread's output layer: W, b and their velocity
    void *b_out
    void *vw_out
    void *vb_out


cdef inline Py_ssize_t part(Py_ssize_t n, int t, int T, Py_ssize_t grain) noexcept nogil:
    """Start of thread t's share of n items in blocks of `grain` (t = T: n)."""
    cdef Py_ssize_t nb = (n + grain - 1) // grain
    return min(n, (nb * t // T) * grain)


cdef inline Py_ssize_t share(const Run *r, Py_ssize_t n, int t, int T, Py_ssize_t grain) noexcept nogil:
    """Start of thread t's share of a hidden layer's n neurons in blocks of `grain` (t = T: n):
    equal shares (part), or by the call's cut (Trainer: shares by measured speed). Every thread
    of a call sees the same cut; which thread computes a neuron does not change its bits."""
    cdef Py_ssize_t nb
    if r.cut == NULL or T != r.cut_T:
        return part(n, t, T, grain)
    nb = (n + grain - 1) // grain
    return min(n, (nb * r.cut[t] // CUT_ONE) * grain)


def _most_rows(Py_ssize_t n, int t, int T, Py_ssize_t grain):
    """The most of n rows (in blocks of grain) thread t owns on any team of 2..T threads."""
    return max(part(n, t + 1, k, grain) - part(n, t, k, grain) for k in range(max(2, t + 1), T + 1))


cdef inline void gather_cols(Run *r, Batch *b, floating *work, const Py_ssize_t *offs, Py_ssize_t l,
                             int tid, int T, Py_ssize_t grain) noexcept nogil:
    """After a barrier, into this thread's buffer offs[·][l] (act, drop or δ of hidden layer l, m
    rows of n): the other threads' columns, each from its own buffer, where it wrote its share of
    the neurons (part(n, t, T, grain)). The values, not recomputed: the same bits for any T."""
    cdef Py_ssize_t n = r.sizes[l], m = b.m, L1 = r.L + 1, i, c0, c1
    cdef floating *dst = work + offs[(2 * tid + b.par) * L1 + l]
    cdef const floating *src
    cdef int t
    for t in range(T):
        if t == tid:
            continue
        c0 = share(r, n, t, T, grain)
        c1 = share(r, n, t + 1, T, grain)
        if c1 <= c0:
            continue
        src = work + offs[(2 * t + b.par) * L1 + l]
        for i in range(m):
            memcpy(dst + i * n + c0, src + i * n + c0, (c1 - c0) * sizeof(floating))


cdef inline Py_ssize_t share_grain(Run *r, Py_ssize_t l) noexcept nogil:
    """The unit in which a team shares weight layer l's neurons: the own kernels' row block, or
    the packed product's tile."""
    return r.grain if r.own[l] else r.gemm_grain


cdef inline void output_layer(Run *r, Batch *b, int tid, int T) noexcept nogil:
    """This thread's output layer: the parameters (and velocity) themselves with one thread, each
    thread's own copy of them in a team (see Run)."""
    cdef Py_ssize_t l = r.L - 1, nw = r.sizes[r.L - 1] * r.sizes[r.L]
    if T == 1:
        b.w_out = <char*>r.P + r.w_off[l] * r.itemsize
        b.b_out = <char*>r.P + r.b_off[l] * r.itemsize
        b.vw_out = <char*>r.V + r.w_off[l] * r.itemsize
        b.vb_out = <char*>r.V + r.b_off[l] * r.itemsize
    else:
        b.w_out = <char*>r.work + r.copy_off[tid] * r.itemsize
        b.b_out = <char*>b.w_out + nw * r.itemsize
        b.vw_out = <char*>b.b_out + r.sizes[r.L] * r.itemsize
        b.vb_out = <char*>b.vw_out + nw * r.itemsize


cdef inline void copy_output_layer(Run *r, Batch *b, bint back) noexcept nogil:
    """This thread's copy (b's) of the output layer's W, b (and velocity), from the parameters
    (back: the parameters from the copy)."""
    cdef Py_ssize_t l = r.L - 1, nw = r.sizes[r.L - 1] * r.sizes[r.L], K = r.sizes[r.L]
    copy_values(b.w_out, <char*>r.P + r.w_off[l] * r.itemsize, nw * r.itemsize, back)
    copy_values(b.b_out, <char*>r.P + r.b_off[l] * r.itemsize, K * r.itemsize, back)
    if r.momentum > 0:
        copy_values(b.vw_out, <char*>r.V + r.w_off[l] * r.itemsize, nw * r.itemsize, back)
        copy_values(b.vb_out, <char*>r.V + r.b_off[l] * r.itemsize, K * r.itemsize, back)


cdef inline void copy_values(void *copy, void *orig, size_t nbytes, bint back) noexcept nogil:
    if back:
        memcpy(orig, copy, nbytes)
    else:
        memcpy(copy, orig, nbytes)


cdef inline void copy_hidden_biases(Run *r, Batch *b, int tid, int T, bint back) noexcept nogil:
    """A team: this thread's share of each hidden layer's biases (and velocity) into its copy of
    them (back: from it), on lines no other thread writes; the parameters' biases of neighbouring
    shares (and the output layer's W beside them) share lines."""
    cdef Py_ssize_t l, o0, o1, isz = r.itemsize
    for l in range(r.L - 1):
        o0 = share(r, r.sizes[l + 1], tid, T, share_grain(r, l))
        o1 = share(r, r.sizes[l + 1], tid + 1, T, share_grain(r, l))
        if o1 <= o0:
            continue
        copy_values(<char*>b.hb + (r.hid_off[l] + o0) * isz, <char*>r.P + (r.b_off[l] + o0) * isz,
                    (o1 - o0) * isz, back)
        if r.momentum > 0:
            copy_values(<char*>b.hvb + (r.hid_off[l] + o0) * isz,
                        <char*>r.V + (r.b_off[l] + o0) * isz, (o1 - o0) * isz, back)


cdef inline void copy_first_rows(Run *r, Batch *b, int tid, int T, bint back) noexcept nogil:
    """A team with layer 0 on the own kernels: this thread's rows of W¹ (and V¹) into its copy of
    them (back: from it), in pages of its own: no line or page of the parameters shared with another
    thread's rows (P need not start on a line) — bench/results/threads.md, session 11."""
    cdef Py_ssize_t n0 = r.sizes[0], n1 = r.sizes[1], isz = r.itemsize
    cdef Py_ssize_t o0 = share(r, n1, tid, T, r.grain), o1 = share(r, n1, tid + 1, T, r.grain)
    if o1 <= o0:
        return
    copy_values(b.w0, <char*>r.P + (r.w_off[0] + o0 * n0) * isz, (o1 - o0) * n0 * isz, back)
    if r.momentum > 0:
        copy_values(b.v0, <char*>r.V + (r.w_off[0] + o0 * n0) * isz, (o1 - o0) * n0 * isz, back)


cdef inline floating *hidden_bias(Run *r, Batch *b, int l, floating *P) noexcept nogil:
    """Hidden layer l's biases as this thread uses them: its copy in a team, else the parameters."""
    return <floating*>b.hb + r.hid_off[l] if b.hb != NULL else P + r.b_off[l]


cdef inline floating *hidden_vbias(Run *r, Batch *b, int l, floating *V) noexcept nogil:
    return <floating*>b.hvb + r.hid_off[l] if b.hb != NULL else V + r.b_off[l]


cdef inline int stage_begin(Run *r, Batch *b, Py_ssize_t k, int tid, int T,
                            const floating *X) noexcept nogil:
    """The mini-batch's rows, buffers and y, and the checks that must pass before it changes
    anything: 0 = go, 1 = an index out of range, 2 = input rows not finite (this thread's share of
    them). Every thread checks the perm indices and gathers (and checks) its own copy of y."""
    cdef Py_ssize_t B = r.B, n = r.n, d0 = r.sizes[0], K = r.sizes[r.L], i, lo, hi
    cdef const Py_ssize_t *perm = r.perm
    cdef const floating *T_ = <const floating*>r.T
    cdef floating *work = <floating*>r.work
    cdef const floating *a_in
    cdef floating *st
    cdef int par = (k - r.start) & 1
    b.k = k
    b.r0 = k * B
    b.m = min(B, n - b.r0)
    cdef Py_ssize_t r0 = b.r0, m = b.m
    b.rows = perm + r0 if perm != NULL else NULL
    # (the packed product reads the rows in place, through perm, as the own kernels do)
    b.gathered = perm != NULL and not r.own[0] and r.gemm_work == NULL
    b.step = -r.eta / m
    b.shrink = r.eta * r.lmbda / r.n_total
    b.beta = 1 - r.eta * r.lmbda / r.n_total if r.reg == FNN_REG_L2 else 1.0
    cdef Py_ssize_t row = (2 * tid + par) * (r.L + 1)
    b.par = par
    b.act_off, b.delta_off = r.act_off + row, r.delta_off + row
    b.drop_off, b.mask_off = r.drop_off + row, r.mask_off + row
    b.out = work + r.out_off[tid]
    # Indices checked per mini-batch (m compares; see bench/index_checks.py for the cost): the
    # labels and perm were validated on entry, but the kernel never trusts them to stay so.
    if r.check_indices and perm != NULL:
        for i in range(m):
            if <size_t>perm[r0 + i] >= <size_t>n:
                return 1
    b.batch_labels = NULL
    b.batch_targets = NULL
    if perm != NULL:
        if r.labels != NULL:
            for i in range(m):
                r.lab[tid * r.lab_stride + i] = r.labels[perm[r0 + i]]
            b.batch_labels = r.lab + tid * r.lab_stride
        else:
            gather_rows(work + r.target_off[tid], T_, perm + r0, m, K)
            b.batch_targets = work + r.target_off[tid]
    else:
        if r.labels != NULL:
            b.batch_labels = r.labels + r0
        else:
            b.batch_targets = T_ + r0 * K
    # Prefetch towards L2 of the input rows that the next mini-batches read in place through
    # perm: the next one's rows whole, a third of them spread over the first layer's forward
    # and the rest over its update, and the first lines of each row of the one after that
    # (measured: bench/results/flop_limit.md, DESIGN.md). Every thread reads every input row, but
    # a team's thread prefetches only its share of them (part(·, tid, T, 1)), all of it during
    # the forward (its kernels are shorter): the others' rows then come from the other cores'
    # caches rather than from memory once per core (bench/results/threads.md, session 14: T=2
    # mini-batches 1-6 % shorter for the share, 1-7 % more for the share in the forward).
    cdef Py_ssize_t n_next = max(0, min(B, n - r0 - B)), n_later = max(0, min(B, n - r0 - 2 * B))
    cdef Py_ssize_t p0 = part(n_next, tid, T, 1), q0 = part(n_later, tid, T, 1)
    n_next = part(n_next, tid + 1, T, 1) - p0
    n_later = part(n_later, tid + 1, T, 1) - q0
    cdef Py_ssize_t n_fwd = n_next // 3 if T == 1 else n_next
    b.pf_fwd = input_rows(X, d0, perm, r0 + B + p0, n_fwd)
    b.pf_upd = input_rows(X, d0, perm, r0 + B + p0 + n_fwd, n_next - n_fwd)
    cdef fnn_prefetch pf_later = input_rows(X, d0, perm, r0 + 2 * B + q0, n_later)
    if r.own[0]:
        fnn_pf_heads(&pf_later, 2)
    b.a0 = X if b.rows != NULL else X + r0 * d0
    b.rows0 = b.rows
    b.lda0 = d0
    if b.gathered:  # (one thread: the team runs only when every layer is on the own kernels)
        gather_rows(work + b.act_off[0], X, perm + r0, m, d0)
        a_in = work + b.act_off[0]
    elif r.stage != NULL:
        # X's rows do not start on 64-byte lines (a user's array, 16 bytes off one): half the
        # kernels' vector loads would straddle two lines, in the forward and again in the update.
        # Copy the mini-batch's rows (prefetched towards L2 during the previous one) to rows on
        # lines; the same values, so the same results. (One thread: a team reads them in place.)
        st = <floating*>r.stage
        for i in range(m):
            memcpy(st + i * r.stage_ld, X + (perm[r0 + i] if perm != NULL else r0 + i) * d0,
                   d0 * sizeof(floating))
        b.a0 = st
        b.rows0 = NULL
        b.lda0 = r.stage_ld
        a_in = st
    else:
        a_in = X + r0 * d0
    # Layer 0 on the packed product: the input columns that are zero in every row of the
    # mini-batch (MNIST's borders: a third of them at 100 rows) add only ±0 to each product's
    # chains, so the products run over the active columns alone, from the rows compacted to them
    # (DESIGN.md, "Zero input columns"); a mini-batch with fewer than 1/8 zero columns runs whole.
    b.kc = 0
    b.seg = NULL
    b.nseg = -1
    if r.segs != NULL:  # layer 0 on the own kernels: the mini-batch's active input vectors
        b.nseg = mm_segs(r.mm, <const floating*>b.a0, b.lda0, b.rows0, m, d0,
                         r.segs + tid * r.segs_stride)
        if b.nseg >= 0:
            b.seg = r.segs + tid * r.segs_stride
    cdef floating *xc
    cdef Py_ssize_t *runs
    cdef Py_ssize_t active = 0
    if r.cx != NULL:
        xc = <floating*>r.cx + tid * r.cx_stride
        runs = r.runs + tid * r.runs_stride
        b.nruns = active_runs(<const floating*>b.a0, b.lda0, b.rows0, m, d0, xc + B * d0, runs,
                              &active)
        if 0 < active and active * 8 <= d0 * 7:
            compact_cols(xc, active, <const floating*>b.a0, b.lda0, b.rows0, m, runs, b.nruns)
            b.kc, b.runs, b.xc = active, runs, xc
    if r.check_indices and b.batch_labels != NULL:
        for i in range(m):
            if <size_t>b.batch_labels[i] >= <size_t>K:
                return 1
    if r.check_input:
        lo = part(m, tid, T, 1)
        hi = part(m, tid + 1, T, 1)
        if r.stage != NULL and not b.gathered:
            for i in range(lo, hi):
                if not all_finite(a_in + i * r.stage_ld, d0):
                    return 2
        elif perm == NULL or b.gathered:
            if not all_finite(a_in + lo * d0, (hi - lo) * d0):
                return 2
        else:
            for i in range(lo, hi):
                if not all_finite(X + perm[r0 + i] * d0, d0):
                    return 2
    return 0


cdef inline void stage_forward(Run *r, Batch *b, int l, int tid, int T, const floating *X) noexcept nogil:
    """a^{l+1} = act(a^l W^lᵀ + b^l) [dropped out]: this thread's neurons of a hidden layer (all
    of them with one thread), or the whole output layer into this thread's aᴸ."""
    cdef floating *P = <floating*>r.P
    cdef floating *work = <floating*>r.work
    cdef Py_ssize_t n_in = r.sizes[l], n_out = r.sizes[l + 1], d0 = r.sizes[0], m = b.m
    cdef Py_ssize_t o0 = 0, o1 = n_out, i
    cdef bint hidden = l < r.L - 1
    cdef bint in_place
    cdef const floating *src
    cdef floating *gw
    cdef floating *cw
    cdef bint drop = r.dropout_p > 0 and hidden
    cdef int act = r.hidden_act if hidden else r.output_act
    cdef floating *a = work + b.act_off[l + 1] if hidden else <floating*>b.out
    cdef const floating *w = P + r.w_off[l] if hidden else <const floating*>b.w_out
    cdef const floating *bias = hidden_bias(r, b, l, P) if hidden else <const floating*>b.b_out
    cdef const floating *a_in
    cdef fnn_drop dr
    dr.key = r.drop_key
    dr.row0 = b.r0
    dr.col0 = r.hid_off[l]
    dr.p = r.dropout_p
    if l > 0:
        a_in = work + b.drop_off[l] if r.dropout_p > 0 else work + b.act_off[l]
    elif b.gathered:
        a_in = work + b.act_off[0]
    else:
        a_in = X + b.r0 * d0
    if T > 1 and hidden:
        o0 = share(r, n_out, tid, T, r.grain if r.own[l] else r.gemm_grain)
        o1 = share(r, n_out, tid + 1, T, r.grain if r.own[l] else r.gemm_grain)
        if o1 <= o0:
            return
    dr.col0 += o0
    if r.own[l]:
        # bias, activation and dropout fused into the kernel (per row block, in L1); layer 0 reads
        # X's rows in place through perm (or this thread's copy of them on 64-byte lines)
        mm_forward(r.mm, a + o0, n_out, <const floating*>b.a0 if l == 0 else a_in,
                   b.lda0 if l == 0 else n_in, b.rows0 if l == 0 else NULL, m,
                   <const floating*>b.w0 if l == 0 and b.w0 != NULL else w + o0 * n_in,
                   bias + o0, o1 - o0, n_in, act,
                   work + b.drop_off[l + 1] + o0 if drop else NULL,
                   work + b.mask_off[l + 1] + o0 if drop else NULL, &dr,
                   &b.pf_fwd if l == 0 else NULL, b.seg if l == 0 else NULL,
                   b.nseg if l == 0 else -1)
    else:
        # a gemm (the packed product, or BLAS on the portable path) for this thread's neurons
        # [o0, o1) (a team splits only a first layer on the packed product, in whole tiles: each
        # element the same chain of FMAs whatever thread computes it); layer 0 reads X's rows in
        # place (b.a0, b.rows0; gathered for BLAS), from W¹'s panels when they are kept (r.wp)
        in_place = l == 0 and not b.gathered
        src = <const floating*>b.a0 if in_place else a_in
        gw = <floating*>r.gemm_work + tid * r.gemm_stride if r.gemm_work != NULL else NULL
        if l == 0 and b.kc > 0:
            # over the active input columns only: this thread's rows of W¹ compacted to them
            # (rows n_in apart whatever kc is: each thread's rows stay its own while another is
            # still on the previous mini-batch, whose kc may differ)
            cw = <floating*>r.cw + o0 * n_in
            compact_cols(cw, n_in, w + o0 * n_in, n_in, NULL, o1 - o0, b.runs, b.nruns)
            gemm_cols(True, False, o1 - o0, m, b.kc, cw, n_in, NULL, <const floating*>b.xc, b.kc,
                      NULL, 0, a + o0, n_out, gw, &b.pf_fwd)
        elif l == 0 and r.wp != NULL:
            panels_forward(m, o1 - o0, n_in, <const floating*>r.wp + o0 * n_in, src, b.lda0,
                           b.rows0 if in_place else NULL, a + o0, n_out, gw, &b.pf_fwd)
        else:
            gemm_cols(True, False, o1 - o0, m, n_in, w + o0 * n_in, n_in, NULL, src,
                      b.lda0 if in_place else n_in, b.rows0 if in_place else NULL, 0, a + o0, n_out,
                      gw, &b.pf_fwd if l == 0 else NULL)
        if o1 - o0 == n_out:
            activate(a, bias, m, n_out, act)
        else:
            for i in range(m):
                activate(a + i * n_out + o0, bias + o0, 1, o1 - o0, act)
        if drop:
            dropout(work + b.drop_off[l + 1] + o0, work + b.mask_off[l + 1] + o0, a + o0, m,
                    o1 - o0, n_out, &dr)


cdef inline double stage_output_delta(Run *r, Batch *b, const floating *X) noexcept nogil:
    """BP1: δᴸ overwrites this thread's aᴸ (rows scaled by their sample weight), then the step
    −η/m folded in once (BP2 carries it to every δˡ); returns the mini-batch's loss (if tracked)."""
    cdef const floating *sw = <const floating*>r.sw
    cdef Py_ssize_t K = r.sizes[r.L], m = b.m, r0 = b.r0, i
    cdef const Py_ssize_t *perm = r.perm
    cdef const floating *targets = <const floating*>b.batch_targets
    cdef floating *dl = <floating*>b.out
    cdef floating step = <floating>b.step
    cdef double loss
    if sw == NULL or not r.track_loss:
        loss = output_delta(dl, b.batch_labels, targets, m, K, r.output_act, r.cost, r.track_loss)
    else:
        # Weighted loss Σ w_i C_i: one row at a time (the cost of a row is a sum over K outputs).
        loss = 0.0
        for i in range(m):
            loss += <double>sw[perm[r0 + i] if perm != NULL else r0 + i] * output_delta(
                dl + i * K, b.batch_labels + i if b.batch_labels != NULL else NULL,
                targets + i * K if targets != NULL else NULL, 1, K, r.output_act, r.cost, 1)
    if sw != NULL:
        # Per-row weight: δᴸ_i <- w_i δᴸ_i, so BP2-BP4 give Σ_i w_i ∇C_i.
        if perm != NULL:
            scale_rows(dl, sw, perm + r0, m, K)
        else:
            scale_rows(dl, sw + r0, NULL, m, K)
    # The step: δᴸ <- (−η/m) δᴸ once; BP2 carries the factor to every δˡ, so the updates below
    # add δᵀa and Σ δ as they are (eqs. 20-21 with the step folded in).
    for i in range(m * K):
        dl[i] *= step
    return loss


cdef inline void update_rows(Run *r, Batch *b, int l, int tid, Py_ssize_t o0, Py_ssize_t o1,
                             const floating *dl, const floating *a_in, const Py_ssize_t *rows_in,
                             floating beta, floating *target, bint fresh) noexcept nogil:
    """BP4 fused with the update, by a gemm, for rows [o0, o1) of Wˡ or of its velocity (target: the
    first of those rows, in place or in W¹'s panels): target <- beta target + δᵀa (δ carries −η/m).
    Layer 0 skipping zero input columns: over the active ones, on target's rows compacted to them
    (fresh: r.cw holds them already, W¹ as the forward compacted it), the others scaled by beta."""
    cdef Py_ssize_t n_in = r.sizes[l], n_out = r.sizes[l + 1]
    cdef floating *gw = <floating*>r.gemm_work + tid * r.gemm_stride if r.gemm_work != NULL else NULL
    cdef floating *cw
    if l == 0 and b.kc > 0:
        cw = <floating*>r.cw + o0 * n_in
        if not fresh:
            compact_cols(cw, n_in, target, n_in, NULL, o1 - o0, b.runs, b.nruns)
        gemm_cols(False, True, b.kc, o1 - o0, b.m, <const floating*>b.xc, b.kc, NULL, dl + o0, n_out,
                  NULL, beta, cw, n_in, gw, &b.pf_upd)
        expand_cols(target, n_in, cw, n_in, o1 - o0, n_in, b.runs, b.nruns, beta)
    elif l == 0 and r.wp != NULL:
        panels_update(b.m, o1 - o0, n_in, dl + o0, n_out, a_in, n_in, rows_in, beta, target, gw,
                      &b.pf_upd)
    else:
        gemm_cols(False, True, n_in, o1 - o0, b.m, a_in, n_in, rows_in, dl + o0, n_out, NULL, beta,
                  target, n_in, gw, &b.pf_upd if l == 0 else NULL)


cdef inline int stage_backward(Run *r, Batch *b, int l, int tid, int T, fnn_team *team,
                               const floating *X) noexcept nogil:
    """Layer l backwards: BP2 for δˡ (with the old Wˡ), then the fused update of Wˡ, bˡ (and their
    velocity). With a team: the output layer gives this thread's columns of δᴸ⁻¹ and of Wᴸ⁻¹
    (from the copy it read into the other; thread 0 the biases); a hidden layer this thread's
    columns of δˡ, a barrier (every thread has read the old Wˡ), then this thread's rows of Wˡ.
    Returns nonzero when the team was stopped."""
    cdef floating *P = <floating*>r.P
    cdef floating *V = <floating*>r.V
    cdef floating *work = <floating*>r.work
    cdef Py_ssize_t n_in = r.sizes[l], n_out = r.sizes[l + 1], d0 = r.sizes[0], m = b.m
    cdef Py_ssize_t o0 = 0, o1 = n_out, c0 = 0, c1 = n_in
    cdef bint drop = r.dropout_p > 0
    cdef bint output = l == r.L - 1
    cdef bint mom = r.momentum > 0
    cdef floating *w = <floating*>b.w_out if output else P + r.w_off[l]
    cdef floating *bias = <floating*>b.b_out if output else hidden_bias(r, b, l, P)
    cdef floating *dl = <floating*>b.out if output else work + b.delta_off[l + 1]
    cdef floating *tmp = work + r.tmp_off + tid * r.tmp_stride
    cdef floating *wt
    cdef floating *vt
    cdef Py_ssize_t count
    cdef bint panels, first_rows
    cdef const floating *a_in
    cdef const Py_ssize_t *rows_in = NULL   # layer 0 on the packed product: X's rows in place
    if l == 0 and not r.own[0] and not b.gathered:
        a_in = <const floating*>b.a0
        rows_in = b.rows0
    elif l == 0:
        a_in = work + b.act_off[0] if b.gathered else X + b.r0 * d0
    elif drop:
        a_in = work + b.drop_off[l]
    else:
        a_in = work + b.act_off[l]
    if T > 1 and l > 0:
        # this thread's neurons of layer l: the share the forward gave it (layer l − 1's grain)
        c0 = share(r, n_in, tid, T, r.grain if r.own[l - 1] else r.gemm_grain)
        c1 = share(r, n_in, tid + 1, T, r.grain if r.own[l - 1] else r.gemm_grain)
    if l > 0 and c1 > c0:
        if r.own[l]:
            mm_backward(r.mm, work + b.delta_off[l] + c0, dl, m, w + c0, n_out, c1 - c0, n_in,
                        work + b.act_off[l] + c0, work + b.mask_off[l] + c0 if drop else NULL,
                        r.hidden_act)
        else:  # (one thread)
            backward_product(m, n_out, n_in, dl, w, work + b.delta_off[l], <floating*>r.gemm_work)
            backprop_act(work + b.delta_off[l], work + b.act_off[l],
                         work + b.mask_off[l] if drop else NULL, m * n_in, r.hidden_act)
    if T > 1 and not output:
        if l > 0 and fnn_team_sync(team):
            return 1
        o0 = share(r, n_out, tid, T, r.grain if r.own[l] else r.gemm_grain)
        o1 = share(r, n_out, tid + 1, T, r.grain if r.own[l] else r.gemm_grain)
        if o1 <= o0:
            return 0
    if r.own[l]:
        # W and b (and their velocity) in one pass; layer 0 reads X through perm
        first_rows = l == 0 and b.w0 != NULL
        mm_update(r.mm, <floating*>b.w0 if first_rows else w + o0 * n_in, bias + o0,
                  (<floating*>b.vw_out if output else <floating*>b.v0 if first_rows
                   else V + r.w_off[l] + o0 * n_in) if mom else NULL,
                  (<floating*>b.vb_out if output else hidden_vbias(r, b, l, V) + o0) if mom else NULL,
                  dl + o0, n_out,
                  <const floating*>b.a0 if l == 0 else a_in,
                  b.lda0 if l == 0 else n_in, b.rows0 if l == 0 else NULL,
                  m, o1 - o0, n_in, <floating>b.beta, <floating>r.momentum, <floating>b.shrink,
                  r.reg, tmp, &b.pf_upd if l == 0 else NULL, b.seg if l == 0 else NULL,
                  b.nseg if l == 0 else -1)
    else:
        # a gemm for this thread's rows [o0, o1) of W (one thread, or a team on a first layer on
        # the packed product); W¹ (and V¹) as panels when kept so: the elementwise steps then run
        # over whole panels (their padding rows stay 0)
        panels = l == 0 and r.wp != NULL
        wt = (<floating*>r.wp if panels else w) + o0 * n_in
        count = ((o1 - o0 + r.gemm_grain - 1) // r.gemm_grain * r.gemm_grain if panels
                 else o1 - o0) * n_in
        if mom:
            # v <- μ v − (η/m) δᵀa − (ηλ/n) (w | sgn w);  w <- w + v   (δ carries −η/m)
            vt = (<floating*>r.vp if panels else V + r.w_off[l]) + o0 * n_in
            update_rows(r, b, l, tid, o0, o1, dl, a_in, rows_in, <floating>r.momentum, vt, False)
            momentum_step(wt, vt, count, <floating>b.shrink, r.reg)
            bias_step(bias + o0, hidden_vbias(r, b, l, V) + o0, dl + o0, m, o1 - o0, n_out,
                      <floating>r.momentum, tmp)
        else:
            if r.reg == FNN_REG_L1:
                # w <- w − (ηλ/n) sgn(w) − (η/m) δᵀa   (eq. 96)
                l1_shrink(wt, count, <floating>b.shrink)
            # w <- (1 − ηλ/n) w − (η/m) δᵀa  (eq. 93; β = 1 without L2; δ carries −η/m)
            update_rows(r, b, l, tid, o0, o1, dl, a_in, rows_in, <floating>b.beta, wt,
                        r.reg != FNN_REG_L1)
            # b <- b − (η/m) Σ δ                       (eq. 94)
            bias_step(bias + o0, <floating*>NULL, dl + o0, m, o1 - o0, n_out, <floating>0, tmp)
    return 0


cdef inline int run_batch(Run *r, Batch *b, Py_ssize_t k, int tid, int T, fnn_team *team,
                          const floating *X, double *loss) noexcept nogil:
    """Mini-batch k on this thread (the barriers: see Run); nonzero: the team stopped."""
    cdef int L = r.L, l, status = stage_begin(r, b, k, tid, T, X)
    if status:
        r.bad[2 * tid + (status == 1)] = k
        fnn_team_stop(team)
        return 1
    for l in range(L):
        if l > 0 and T > 1:
            if fnn_team_sync(team):
                return 1
            # layer l's forward (and its update) reads every neuron of layer l's input
            gather_cols(r, b, <floating*>r.work, r.drop_off if r.dropout_p > 0 else r.act_off, l,
                        tid, T, share_grain(r, l - 1))
        stage_forward(r, b, l, tid, T, X)
    loss[0] += stage_output_delta(r, b, X)
    for l in range(L - 1, -1, -1):
        # BP2 of a hidden layer l > 0 reads every column of δ^{l+1}; layer 0's update reads only
        # this thread's columns of δ¹ (its neurons), which it computed itself
        if 0 < l < L - 1 and T > 1:
            if fnn_team_sync(team):
                return 1
            gather_cols(r, b, <floating*>r.work, r.delta_off, l + 1, tid, T, share_grain(r, l))
        if stage_backward(r, b, l, tid, T, team, X):
            return 1
    return 0


cdef void run_batches(Run *r, fnn_team *team, int tid, const floating *X) noexcept nogil:
    """One thread's walk over mini-batches [r.start, r.stop). Nothing changes a parameter before
    the first barrier of a mini-batch, so a check that fails on any thread stops the team before
    that mini-batch changes anything. The loss is summed here and stored once (thread 0's): the
    shared Run's lines are read by every thread every mini-batch."""
    cdef int T = fnn_team_size(team)
    cdef Py_ssize_t k
    cdef double loss = 0.0
    cdef Batch b
    cdef unsigned long long t0 = fnn_team_ticks()
    fnn_team_take_wait()  # (from zero)
    output_layer(r, &b, tid, T)  # (the same for the whole call: set once, kept by every mini-batch)
    b.hb = b.hvb = b.w0 = b.v0 = NULL
    if T > 1:
        # a team: every line a thread writes is its own (see Run); the parameters written back below
        copy_output_layer(r, &b, False)
        b.hb = <char*>r.work + r.hb_off[tid] * r.itemsize
        b.hvb = <char*>b.hb + r.hid_off[r.L - 1] * r.itemsize
        copy_hidden_biases(r, &b, tid, T, False)
        if r.w0 != NULL:
            b.w0 = <char*>r.w0 + r.w0_off[2 * tid] * r.itemsize
            b.v0 = <char*>r.w0 + r.w0_off[2 * tid + 1] * r.itemsize
            copy_first_rows(r, &b, tid, T, False)
    for k in range(r.start, r.stop):
        if run_batch(r, &b, k, tid, T, team, X, &loss):
            break
    if T > 1:
        # every thread its share of the hidden biases, thread 0 the output layer (the copies are
        # the same values: every thread made the same updates to its own)
        copy_hidden_biases(r, &b, tid, T, True)
        if b.w0 != NULL:
            copy_first_rows(r, &b, tid, T, True)
        if tid == 0:
            copy_output_layer(r, &b, True)
    if tid == 0:
        r.loss = loss
    if r.busy != NULL and T > 1:
        r.busy[8 * tid] = fnn_team_ticks() - t0 - fnn_team_take_wait()


cdef void _team_member_d(void *ctx, fnn_team *team, int tid) noexcept nogil:
    run_batches(<Run*>ctx, team, tid, <const double*>(<Run*>ctx).X)


cdef void _team_member_f(void *ctx, fnn_team *team, int tid) noexcept nogil:
    run_batches(<Run*>ctx, team, tid, <const float*>(<Run*>ctx).X)


def useful_threads(sizes, Py_ssize_t batch_size, Py_ssize_t n_threads, Py_ssize_t itemsize=8):
    """The threads a training of `sizes` with mini-batches of `batch_size` runs on when asked for
    `n_threads`: 1 without a hidden layer or with a layer on BLAS (the team splits the own
    kernels' work, and the packed product's of the first layer), else at most one per row block
    of the own kernels (``row_block()``: 3 neurons on AVX2, 4 on AVX-512; a first layer on the
    packed product: its tiles, 16 / 8 neurons in f32 / f64) of the widest hidden layer (and
    FNN_TEAM_MAX)."""
    sizes = [int(s) for s in sizes]
    if n_threads <= 1 or len(sizes) < 3 or _MM == NULL:
        return 1
    own = [uses_own_kernels(batch_size, sizes[l], sizes[l + 1], itemsize, n_threads)
           for l in range(len(sizes) - 1)]
    # a layer off the own kernels splits only on the packed product, and only the first (its
    # rows in whole tiles; no BP2 below it)
    if not all(own[1:]) or (not own[0] and KERNELS.get("gemm") != "own"):
        return 1
    # at most one thread per share unit (row block, or tile) of the widest hidden layer
    grains = [row_block() if own[h - 1] else GEMM_ROWS_D if itemsize == 8 else GEMM_ROWS_F
              for h in range(1, len(sizes) - 1)]
    units = max((sizes[h] + g - 1) // g for h, g in zip(range(1, len(sizes) - 1), grains))
    return int(max(1, min(n_threads, units, FNN_TEAM_MAX)))


def row_block():
    """Rows of W (neurons) per register block of the own forward and update kernels in this
    process (3 on the AVX2 and generic paths, 4 on AVX-512): a thread's share of a layer's neurons
    is a multiple of it (a share that ends inside a block would run a part-empty block)."""
    return int(_MM.row_block) if _MM != NULL else 4


cdef class Trainer:
    """Every buffer one SGD call needs, allocated once; ``train`` runs mini-batches in nogil code,
    on a team of ``threads`` threads (see ``useful_threads``) that lives for that call.

    A run: ``begin(X, y, perm, ...)`` checks and binds what stays the same for the whole run (the
    data, the shuffling order array, λ, n, regularization, momentum, loss tracking, sample
    weights), once; then ``train(start, stop, eta, check_input)`` per chunk of mini-batches checks
    only what a chunk changes. The caller may shuffle ``perm`` in place between chunks; the kernel
    checks each mini-batch's perm and label indices anyway.

    Work buffers per weight layer l (1-based in comments as in the book):
      act[l]   (B, sizes[l])  activations a^l (act[0] is the gathered input batch; act[L] becomes δ^L)
      delta[l] (B, sizes[l])  δ^l of hidden layers
      drop[l], mask[l]        dropped activations and the mask (hidden layers, only with dropout)

    Dropout masks come from a counter-based stream (csrc/kernels.h): each epoch (a ``train`` call
    with start 0) draws one key from the trainer's generator, and the decision for (row, neuron)
    is a hash of (key, the row's position in the epoch, the neuron), whatever thread draws it.
    """
    cdef readonly Layout layout
    cdef readonly Py_ssize_t batch_size
    cdef readonly double dropout_p
    cdef readonly Py_ssize_t bad_batch   # first mini-batch whose input rows were not finite, or -1
    cdef readonly Py_ssize_t bad_index   # first mini-batch with a label/perm index out of range, or -1
    cdef readonly int threads            # the team's size (1: this thread alone)
    cdef readonly bint staged            # X's rows copied to 64-byte lines per mini-batch (one thread)
    cdef object params, velocity, work, label_buf, bad_buf, hid_off_arr
    # the run bound by begin(): data, order, settings
    cdef object X, perm, sample_weight
    cdef object stage                             # see Run.stage (None: X's rows are on lines)
    cdef Py_ssize_t stage_ld
    cdef Targets y
    cdef Py_ssize_t n_total, n_batches
    cdef double lmbda, momentum
    cdef int reg
    cdef bint track_loss
    cdef Py_ssize_t[:, ::1] act_off, delta_off, drop_off, mask_off   # [2 thread + parity, layer] (Run)
    cdef Py_ssize_t[::1] hid_off, out_off, target_off, copy_off, hb_off   # hid: per layer; others per thread
    cdef Py_ssize_t tmp_off, tmp_stride, lab_stride
    cdef Py_ssize_t[::1] sizes, w_off, b_off      # copies of the layout's, readable without the GIL
    cdef int L, hidden_act, output_act, cost
    cdef uint64_t rng[4]
    cdef uint64_t drop_key
    cdef const fnn_mm_table *mm                   # fastnn's own kernels (the import-time choice)
    cdef unsigned char[::1] own                   # per weight layer: 1 = own kernels, 0 = BLAS
    # per weight layer: "avx512", "avx2", "generic" (own kernels), "gemm" (packed product) or "blas"
    cdef readonly tuple kernels
    cdef object gemm_buf                          # the packed product's buffers, or None
    cdef Py_ssize_t gemm_stride                   # (one per thread, this many values apart)
    cdef object panels                            # layer 0's W (and V) as panels, or None
    cdef object cx_buf, cw_buf, runs_buf          # skipping layer 0's zero input columns, or None
    cdef object skip_bits, skip_runs              # a call's first mini-batch's columns, or None
    cdef object segs_buf                          # Run.segs (own kernels' layer 0), or None
    cdef object cut_buf, busy_buf                 # Run.cut and Run.busy (a team), or None
    cdef Py_ssize_t grain0                        # the unit of the first hidden layer's shares
    cdef object w0_buf                            # a team's rows of W¹ (and V¹): Run.w0, or None
    cdef Py_ssize_t[::1] w0_off
    cdef Py_ssize_t cx_stride, runs_stride        # (see Run.cx)

    def __init__(self, Layout layout not None, object params, Py_ssize_t batch_size, object velocity=None,
                 double dropout=0.0, uint64_t seed=0, Py_ssize_t n_threads=1):
        cdef int L = layout.n_layers, l
        # only the guards of memory (buffer sizes, the team's arrays): the values of the options
        # (dropout, lmbda, momentum, eta) are checked by Network.SGD, by the spec (_vocabulary.py)
        if batch_size < 1:
            raise ValueError(f"batch_size: expected >= 1, got {batch_size}")
        if not 1 <= n_threads <= 1024:
            raise ValueError(f"n_threads: expected a value in [1, 1024], got {n_threads}")
        self.layout = layout
        self.sizes, self.w_off, self.b_off = layout.sizes, layout.w_off, layout.b_off
        self.L, self.hidden_act, self.output_act, self.cost = (layout.n_layers, layout.hidden_act,
                                                               layout.output_act, layout.cost)
        self.params = _check_array(params, "params", layout.dtype, layout.n_params, -1)
        if velocity is not None:
            _check_array(velocity, "velocity", layout.dtype, layout.n_params, -1)
        self.velocity = velocity
        self.batch_size = batch_size
        self.dropout_p = dropout
        sizes = layout.sizes
        self.threads = useful_threads(list(sizes), batch_size, n_threads, layout.dtype.itemsize)
        T = self.threads
        act_off = np.zeros((2 * T, L + 1), dtype=np.intp)
        delta_off = np.zeros((2 * T, L + 1), dtype=np.intp)
        drop_off = np.zeros((2 * T, L + 1), dtype=np.intp)
        mask_off = np.zeros((2 * T, L + 1), dtype=np.intp)
        hid_off = np.zeros(L + 1, dtype=np.intp)
        out_off = np.zeros(T, dtype=np.intp)
        target_off = np.zeros(T, dtype=np.intp)
        copy_off = np.zeros(T, dtype=np.intp)
        hb_off = np.zeros(T, dtype=np.intp)
        pos = 0
        for l in range(L + 1):
            act_off[0, l] = pos
            pos += batch_size * sizes[l]
        for l in range(1, L):
            delta_off[0, l] = pos
            pos += batch_size * sizes[l]
            if dropout > 0:
                drop_off[0, l] = pos
                pos += batch_size * sizes[l]
                mask_off[0, l] = pos
                pos += batch_size * sizes[l]
            hid_off[l] = hid_off[l - 1] + sizes[l]
        pos = _lines_up(pos)
        self.tmp_off = pos
        self.tmp_stride = _lines_up(max(sizes))   # one bias scratch per thread, on lines
        pos += self.tmp_stride * T
        target_off[0] = pos
        pos += batch_size * sizes[L]
        out_off[0] = act_off[0, L]
        # A team (see Run): each thread's own aᴸ, gathered targets, copy of the output layer (W, b,
        # VW, Vb) and of the hidden biases, on lines of their own.
        if T > 1:
            for t in range(T):
                pos = _lines_up(pos)
                if t > 0:
                    out_off[t] = pos
                    pos += batch_size * sizes[L]
                    target_off[t] = pos
                    pos += batch_size * sizes[L]
                copy_off[t] = pos
                pos += 2 * (sizes[L - 1] * sizes[L] + sizes[L])
                pos = _lines_up(pos)
                hb_off[t] = pos
                pos += 2 * int(hid_off[L - 1])
            pos = _lines_up(pos)
        for offs in (act_off, delta_off, drop_off, mask_off):
            offs[1:] = offs[0]  # (one thread: both parities in the same buffers)
        # A team: each thread's hidden layers' a, δ (and dropout's) in buffers of its own, per
        # parity, each on lines of its own. Shared ones had every line of a 30-neuron row written
        # by both threads (false sharing: the line crosses cores at every write); each thread now
        # writes its neurons' columns in its own buffer and copies the others' after the barrier
        # that makes them ready (gather_cols).
        if T > 1:
            for row in range(2 * T):
                for l in range(1, L):
                    for offs in ((act_off, delta_off, drop_off, mask_off) if dropout > 0
                                 else (act_off, delta_off)):
                        pos = _lines_up(pos)
                        offs[row, l] = pos
                        pos += batch_size * sizes[l]
            pos = _lines_up(pos)
        self.act_off, self.delta_off, self.drop_off, self.mask_off = act_off, delta_off, drop_off, mask_off
        self.hid_off_arr = hid_off
        self.hid_off = hid_off
        self.out_off, self.target_off, self.copy_off, self.hb_off = out_off, target_off, copy_off, hb_off
        # on 64-byte lines: a team's threads' regions (16 values apart) share none
        self.work = _aligned_empty(pos, layout.dtype)
        self.work[:] = 0
        self.lab_stride = _lines_up(batch_size)  # per thread, on lines of its own
        self.label_buf = _aligned_empty(self.lab_stride * T, np.intp)
        self.label_buf[:] = 0
        self.bad_buf = np.full(2 * self.threads, -1, dtype=np.intp)
        fnn_rng_seed(self.rng, seed)
        self.drop_key = 0
        self.bad_batch = -1
        self.bad_index = -1
        # Own kernels or BLAS, per layer (the rule: uses_own_kernels).
        self.mm = _MM
        own = np.zeros(L, dtype=np.uint8)
        for l in range(L):
            own[l] = _MM != NULL and uses_own_kernels(batch_size, sizes[l], sizes[l + 1],
                                                      layout.dtype.itemsize, T)
        self.own = own
        # the other layers' products: fastnn's packed product (its buffer made here, once) or BLAS
        packed = KERNELS.get("gemm") == "own"
        self.gemm_buf = None
        self.gemm_stride = 0
        if packed and not all(own):
            # one per thread, each on 64-byte lines
            self.gemm_stride = _lines_up(fnn_gemm_work_d() if layout.dtype == np.float64
                                         else fnn_gemm_work_f())
            self.gemm_buf = _aligned_empty(self.gemm_stride * T, layout.dtype)
        # layer 0 on the packed product: its W (and velocity) as panels during a train() call
        self.panels = None
        if (packed and not own[0] and _W_PANELS
                and sizes[0] * sizes[1] * layout.dtype.itemsize >= PANELS_MIN_BYTES):
            size = (fnn_panels_size_d(sizes[1], sizes[0]) if layout.dtype == np.float64
                    else fnn_panels_size_f(sizes[1], sizes[0]))
            self.panels = _aligned_empty(size * (2 if velocity is not None else 1), layout.dtype)
        # layer 0 on the packed product: the buffers for skipping its zero input columns (per
        # thread the compacted rows, their scratch and runs; W¹'s rows compacted, shared)
        self.cx_buf = self.cw_buf = self.runs_buf = None
        self.cx_stride = self.runs_stride = 0
        if packed and not own[0] and _SKIP_ZERO_COLUMNS:
            self.cx_stride = _lines_up(batch_size * sizes[0] + sizes[0])
            self.cx_buf = _aligned_empty(self.cx_stride * T, layout.dtype)
            self.cw_buf = _aligned_empty(sizes[0] * sizes[1], layout.dtype)
            self.runs_stride = sizes[0] + 2
            self.runs_buf = np.zeros(self.runs_stride * T, dtype=np.intp)
        # whether a call skips layer 0's zero input columns: its first mini-batch's, looked at once
        self.skip_bits = self.skip_runs = None
        if _SKIP_ZERO_COLUMNS and (own[0] or self.cx_buf is not None):
            self.skip_bits = np.empty(sizes[0], dtype=layout.dtype)
            self.skip_runs = np.zeros(sizes[0] + 2, dtype=np.intp)
        self.segs_buf = None
        if _SKIP_ZERO_COLUMNS and own[0]:  # per thread, on lines of its own
            self.segs_buf = _aligned_empty(SEGS_STRIDE * T, np.intp)
        self.kernels = tuple(KERNELS["isa"] if o else "gemm" if packed else "blas" for o in own)
        # a team shares the hidden neurons by its threads' measured speed (Run.cut; equal shares
        # to begin with, then after each whole-team call: _rebalance)
        self.cut_buf = self.busy_buf = None
        self.grain0 = (row_block() if own[0] else
                       GEMM_ROWS_F if layout.dtype == np.float32 else GEMM_ROWS_D)
        if T > 1 and _BALANCE:
            self.cut_buf = np.array([t * CUT_ONE // T for t in range(T + 1)], dtype=np.intp)
            self.cut_buf[T] = CUT_ONE
            self.busy_buf = np.zeros(8 * T, dtype=np.ulonglong)
        # a team on own-kernel first layer: each thread's rows of W¹ (and V¹) in pages of its own
        # (copy_first_rows), a page apart; room for all of them when the shares move
        self.w0_buf = None
        w0_off = np.zeros(2 * T, dtype=np.intp)
        page = 4096 // layout.dtype.itemsize
        if T > 1 and own[0]:
            pos = 0
            for t in range(T):
                rows = self._w0_rows(t)
                for v in range(2 if velocity is not None else 1):
                    w0_off[2 * t + v] = pos
                    pos += (rows * sizes[0] + page - 1) // page * page + page
            self.w0_buf = _aligned_empty(pos, layout.dtype, 4096)
        self.w0_off = w0_off

    def _w0_rows(self, int t):
        """The most rows of W¹ thread t owns in a call (its copy's room): all of them when the
        shares move with measured speed, else its most on any team of 2..T (a call may run on
        fewer threads)."""
        if self.cut_buf is not None:
            return self.sizes[1]
        return _most_rows(self.sizes[1], t, self.threads, row_block())

    def team_regions(self):
        """The memory each thread of the team writes during a ``train`` call, as (thread, what,
        first byte address, end address) — for tests of the rule that no two threads write the
        same 64-byte line (the parameters' own rows and biases are read and written back once
        per call, outside the mini-batches)."""
        cdef Py_ssize_t T = self.threads, L = self.L, B = self.batch_size, t, p, l, v
        cdef Py_ssize_t isz = self.layout.dtype.itemsize, K = self.sizes[L]
        work = self.work.ctypes.data
        regions = []

        def add(t, what, base, start, count, size):
            regions.append((int(t), what, base + start * size, base + (start + count) * size))

        for t in range(T):
            for p in range(2 if T > 1 else 1):
                for l in range(1, L):
                    n = B * self.sizes[l]
                    add(t, f"a[{l}] parity {p}", work, self.act_off[2 * t + p, l], n, isz)
                    add(t, f"delta[{l}] parity {p}", work, self.delta_off[2 * t + p, l], n, isz)
                    if self.dropout_p > 0:
                        add(t, f"drop[{l}] parity {p}", work, self.drop_off[2 * t + p, l], n, isz)
                        add(t, f"mask[{l}] parity {p}", work, self.mask_off[2 * t + p, l], n, isz)
            add(t, "out", work, self.out_off[t], B * K, isz)
            add(t, "targets", work, self.target_off[t], B * K, isz)
            add(t, "tmp", work, self.tmp_off + t * self.tmp_stride, self.tmp_stride, isz)
            add(t, "labels", self.label_buf.ctypes.data, t * self.lab_stride, B, 8)
            if T > 1:
                nw = self.sizes[L - 1] * K
                add(t, "output layer", work, self.copy_off[t], 2 * (nw + K), isz)
                add(t, "hidden biases", work, self.hb_off[t], 2 * self.hid_off[L - 1], isz)
            if self.segs_buf is not None:
                add(t, "layer 0's segments", self.segs_buf.ctypes.data, t * SEGS_STRIDE,
                    2 * FNN_MM_MAXSEG, 8)
            if self.w0_buf is not None:
                rows = self._w0_rows(t)
                for v in range(2 if self.velocity is not None else 1):
                    add(t, "W1 rows" if v == 0 else "V1 rows", self.w0_buf.ctypes.data,
                        self.w0_off[2 * t + v], rows * self.sizes[0], isz)
        return regions

    @property
    def rng_state(self):
        """The dropout generator's state (4 unsigned 64-bit words); assign it to continue a
        stream exactly (checkpoints: Network.save(path, state=True))."""
        return tuple(int(self.rng[i]) for i in range(4))

    @rng_state.setter
    def rng_state(self, value):
        words = [int(v) for v in value]
        if len(words) != 4 or any(not 0 <= w < 2**64 for w in words) or not any(words):
            raise ValueError("rng_state: expected 4 unsigned 64-bit integers, not all zero")
        for i in range(4):
            self.rng[i] = words[i]

    def begin(self, X, Targets y not None, perm=None, double lmbda=0.0, Py_ssize_t n_total=-1,
              str regularization="l2", double momentum=0.0, bint track_loss=False,
              sample_weight=None):
        """Check and bind a run's data and settings (nothing is bound when a check fails).

        Mini-batch k takes rows perm[k*B : (k+1)*B] of X (the last one may be shorter), or the
        consecutive rows when perm is None; perm may be shuffled in place between ``train`` calls.
        n_total is the n of λ/n (default: len(X)).

        sample_weight: None, or one weight per row of X (the dtype of the network, finite, >= 0;
        SGD passes them normalised to mean 1): row i's δᴸ (and so its whole gradient) is scaled by
        sample_weight[i], and its loss too. Row i's weight follows row i through perm."""
        cdef Layout lay = self.layout
        cdef Py_ssize_t n = X.shape[0] if isinstance(X, np.ndarray) and X.ndim == 2 else -1
        _check_array(X, "X", lay.dtype, -1, lay.sizes[0])
        if y.n != n:
            raise ValueError(f"y: expected {n} rows to match X, got {y.n}")
        if y.n_outputs != lay.sizes[lay.n_layers]:
            raise ValueError("y: targets do not match the output layer")
        if y.dtype != lay.dtype:
            raise TypeError(f"y: expected targets of dtype {lay.dtype}, got {y.dtype}")
        if perm is not None:
            _check_array(perm, "perm", np.intp, n, -1)
            if n and (perm.min() < 0 or perm.max() >= n):
                raise ValueError(f"perm: expected indices in [0, {n})")
        if momentum > 0 and self.velocity is None:
            raise ValueError("momentum: this Trainer was built without a velocity buffer")
        if regularization is not None:
            _v.check_choice("regularization", regularization, _v.REGULARIZATIONS)
        if n_total < 0:
            n_total = n
        if n_total == 0 and n > 0:
            raise ValueError("n_total: expected >= 1 (the n of lambda/n)")
        if sample_weight is not None:
            _check_array(sample_weight, "sample_weight", lay.dtype, n, -1)
        self.X, self.y, self.perm, self.sample_weight = X, y, perm, sample_weight
        # Rows of X off 64-byte lines (numpy's allocator gives 16-byte alignment): a call on one
        # thread copies its mini-batch's rows to rows on lines (measured: DESIGN.md, "Users'
        # arrays"); a team's call reads them in place.
        cdef Py_ssize_t isz = lay.dtype.itemsize, d0 = lay.sizes[0]
        self.stage = None
        self.staged = False
        if _STAGE_INPUT and self.own[0] and n > 0 and (X.ctypes.data | d0 * isz) % _SIMD_ALIGN:
            self.stage_ld = (d0 * isz + _SIMD_ALIGN - 1) // _SIMD_ALIGN * _SIMD_ALIGN // isz
            self.stage = _aligned_empty(self.batch_size * self.stage_ld, lay.dtype)
            self.staged = True
        self.n_total, self.n_batches = n_total, (n + self.batch_size - 1) // self.batch_size
        self.lmbda, self.momentum, self.track_loss = lmbda, momentum, track_loss
        self.reg = REGULARIZATIONS[regularization] if lmbda > 0 else FNN_REG_NONE

    def train(self, Py_ssize_t start, Py_ssize_t stop, double eta, bint check_input=False,
              Py_ssize_t threads=0):
        """Run mini-batches [start, stop) of the run bound by ``begin``, with learning rate eta;
        returns their summed training loss (0.0 unless the run tracks the loss).

        threads: run this call on that many of the team's threads (0: all ``self.threads``); the
        results do not depend on it (fastnn/_team_pace.py chooses it per chunk).

        check_input: test each mini-batch's input rows for NaN/inf while they are in cache (this
        is how SGD validates X without an extra pass over it); on a bad batch, training stops
        before that batch changes anything and ``bad_batch`` holds its index.

        A call with start 0 begins an epoch: it draws the epoch's dropout key."""
        if self.y is None:
            raise ValueError("train: no run bound; call begin(X, y, ...) first")
        if not 0 <= start <= stop <= self.n_batches:
            raise ValueError(f"start/stop: expected 0 <= start <= stop <= {self.n_batches}, "
                             f"got {start}, {stop}")
        if not 0 <= threads <= self.threads:
            raise ValueError(f"threads: expected 0 (all) to {self.threads}, got {threads}")
        if start == 0 and self.dropout_p > 0:
            self.drop_key = fnn_rng_next(self.rng)
        threads = threads or self.threads
        if self.layout.dtype == np.float64:
            return self._train[double](self.X, self.y, self.perm, start, stop, eta, check_input,
                                       threads)
        return self._train[float](self.X, self.y, self.perm, start, stop, eta, check_input, threads)

    cdef double _train(self, const floating[:, ::1] X, Targets y, object perm, Py_ssize_t start,
                       Py_ssize_t stop, double eta, bint check_input, int threads):
        cdef floating[::1] P = self.params
        cdef floating[::1] V = self.velocity if self.velocity is not None else self.params
        cdef floating[::1] work = self.work
        cdef const floating[:, ::1] T = y.targets
        cdef const Py_ssize_t[::1] labels = y.labels
        cdef const Py_ssize_t[::1] perm_v = perm if perm is not None else np.empty(0, dtype=np.intp)
        cdef Py_ssize_t[::1] lab = self.label_buf
        cdef Py_ssize_t[::1] bad = self.bad_buf
        cdef const floating[::1] sw = (self.sample_weight if self.sample_weight is not None
                                       else np.empty(0, dtype=self.layout.dtype))
        cdef bint use_labels = y.kind == "labels"
        cdef Py_ssize_t n = X.shape[0], i
        cdef int ran
        cdef Run r
        cdef floating[::1] gemm_v
        cdef floating[::1] panels_v
        self.bad_batch = -1
        self.bad_index = -1
        if n == 0 or stop <= start:
            return 0.0
        bad[:] = -1
        r.X = &X[0, 0]
        r.n = n
        r.cut = NULL
        r.cut_T = 0
        r.busy = NULL
        cdef Py_ssize_t[::1] cut_v
        cdef unsigned long long[::1] busy_v
        if self.cut_buf is not None and threads == self.threads:
            cut_v, busy_v = self.cut_buf, self.busy_buf
            busy_v[:] = 0
            r.cut, r.cut_T, r.busy = &cut_v[0], threads, &busy_v[0]
        r.P = &P[0]
        r.V = &V[0]
        r.work = &work[0]
        r.labels = &labels[0] if use_labels else NULL
        r.T = NULL if use_labels else &T[0, 0]
        r.perm = &perm_v[0] if perm_v.shape[0] > 0 else NULL
        r.lab = &lab[0]
        r.sw = &sw[0] if sw.shape[0] > 0 else NULL
        r.start, r.stop, r.n_total = start, stop, self.n_total
        r.eta, r.lmbda, r.momentum, r.dropout_p = eta, self.lmbda, self.momentum, self.dropout_p
        r.reg = self.reg
        r.track_loss, r.check_input, r.check_indices = self.track_loss, check_input, _CHECK_INDICES
        r.L, r.hidden_act, r.output_act, r.cost = self.L, self.hidden_act, self.output_act, self.cost
        r.B, r.tmp_off, r.tmp_stride, r.lab_stride = (self.batch_size, self.tmp_off, self.tmp_stride,
                                                      self.lab_stride)
        r.grain = _MM.row_block if _MM != NULL else 4
        r.sizes, r.w_off, r.b_off = &self.sizes[0], &self.w_off[0], &self.b_off[0]
        r.act_off, r.delta_off = &self.act_off[0, 0], &self.delta_off[0, 0]
        r.drop_off, r.mask_off = &self.drop_off[0, 0], &self.mask_off[0, 0]
        r.hid_off = &self.hid_off[0]
        r.out_off, r.target_off, r.copy_off = &self.out_off[0], &self.target_off[0], &self.copy_off[0]
        r.hb_off = &self.hb_off[0]
        r.w0 = NULL
        r.w0_off = &self.w0_off[0]
        cdef floating[::1] w0_v
        if self.w0_buf is not None and threads > 1:
            w0_v = self.w0_buf
            r.w0 = &w0_v[0]
        r.itemsize = sizeof(floating)
        r.own = &self.own[0]
        r.mm = self.mm
        r.drop_key = self.drop_key
        r.loss = 0.0
        r.bad = &bad[0]
        r.stage = NULL
        r.stage_ld = 0
        r.gemm_work = NULL
        r.gemm_stride = self.gemm_stride
        r.gemm_grain = GEMM_ROWS_F if floating is float else GEMM_ROWS_D
        if self.gemm_buf is not None:
            gemm_v = self.gemm_buf
            r.gemm_work = &gemm_v[0]
        if self.stage is not None and threads == 1:
            # (a team reads X's rows in place: each of its threads would copy every row of the
            # mini-batch for half the products — measured slower than the straddling loads)
            r.stage = <void*><uintptr_t>self.stage.ctypes.data
            r.stage_ld = self.stage_ld
        r.wp = r.vp = NULL
        cdef Py_ssize_t n0 = self.sizes[0], n1 = self.sizes[1], psize
        r.cx = r.cw = NULL
        r.runs = NULL
        r.cx_stride, r.runs_stride = self.cx_stride, self.runs_stride
        r.segs = NULL
        r.segs_stride = SEGS_STRIDE
        cdef Py_ssize_t[::1] segs_v
        cdef floating[::1] cx_v
        cdef floating[::1] cw_v
        cdef floating[::1] bits_v
        cdef Py_ssize_t[::1] runs_v
        cdef Py_ssize_t active = 0, m0
        if self.skip_bits is not None and all_finite(&P[0] + self.w_off[0], n0 * n1):
            # skip zero input columns in this call when its first mini-batch has enough of them
            # (MNIST-like data; dense data neither pays a scan per mini-batch nor loses W¹'s
            # panels). Not with a non-finite W¹: 0 · inf is the NaN the whole product gives, which
            # skipping the zero would hide.
            bits_v, runs_v = self.skip_bits, self.skip_runs
            m0 = min(self.batch_size, n - start * self.batch_size)
            active_runs(&X[0, 0] if r.perm != NULL else &X[0, 0] + start * self.batch_size * n0, n0,
                        r.perm + start * self.batch_size if r.perm != NULL else NULL, m0, n0,
                        &bits_v[0], &runs_v[0], &active)
            if active * 8 <= n0 * 7:
                if self.cx_buf is not None:  # the packed product: on the compacted columns
                    cx_v, cw_v, runs_v = self.cx_buf, self.cw_buf, self.runs_buf
                    r.cx, r.cw, r.runs = &cx_v[0], &cw_v[0], &runs_v[0]
                else:  # the own kernels: without the mini-batch's zero input vectors (mm.h segs)
                    segs_v = self.segs_buf
                    r.segs = &segs_v[0]
                _SKIPPING_CALLS[0] += 1
        if self.panels is not None and r.cx == NULL:
            panels_v = self.panels
            psize = panels_v.shape[0] // (2 if self.momentum > 0 else 1)
            r.wp = &panels_v[0]
            if self.momentum > 0:
                r.vp = &panels_v[psize]
        with nogil:
            if r.wp != NULL:  # W¹ (and V¹) as panels for this call
                panels_pack(<floating*>r.wp, &P[0] + self.w_off[0], n1, n0)
                if r.vp != NULL:
                    panels_pack(<floating*>r.vp, &V[0] + self.w_off[0], n1, n0)
            if floating is double:
                ran = fnn_team_run(threads, _team_member_d, &r)
            else:
                ran = fnn_team_run(threads, _team_member_f, &r)
            if r.wp != NULL:  # (every path: the team has returned, stopped early or not)
                panels_unpack(&P[0] + self.w_off[0], <const floating*>r.wp, n1, n0)
                if r.vp != NULL:
                    panels_unpack(&V[0] + self.w_off[0], <const floating*>r.vp, n1, n0)
        # the first bad mini-batch any thread saw (every thread stops in the same mini-batch)
        for i in range(ran):
            if bad[2 * i] >= 0 and (self.bad_batch < 0 or bad[2 * i] < self.bad_batch):
                self.bad_batch = bad[2 * i]
            if bad[2 * i + 1] >= 0 and (self.bad_index < 0 or bad[2 * i + 1] < self.bad_index):
                self.bad_index = bad[2 * i + 1]
        if self.bad_index >= 0:
            raise ValueError(f"labels/perm: mini-batch {self.bad_index} holds an index out of range "
                             f"(changed after validation?); training stopped before that mini-batch")
        if r.busy != NULL and ran == threads and self.bad_batch < 0 and stop - start >= _BALANCE_MIN:
            self._rebalance(<Py_ssize_t*>r.cut, r.busy)
        return r.loss

    cdef void _rebalance(self, Py_ssize_t *cut, const unsigned long long *busy):
        """After a whole-team call: the next call's shares by the threads' measured speeds
        (balanced_cut), in place in cut_buf (the call's Run.cut; busy: its Run.busy), without an
        allocation. Results do not depend on the shares."""
        cdef double ticks[FNN_TEAM_MAX]
        cdef Py_ssize_t t, T = self.threads
        for t in range(T):
            ticks[t] = <double>busy[8 * t]
        cut_update(cut, ticks, T, self.sizes[1], self.grain0)

    @property
    def shares(self):
        """A team's shares of the hidden neurons as fractions (equal, unless measured speeds moved
        them: Trainer._rebalance); None with one thread or with the balancing off."""
        if self.cut_buf is None:
            return None
        return [float(v) / CUT_ONE for v in np.diff(self.cut_buf)]

    @shares.setter
    def shares(self, fractions):
        """Set the shares (tests: results must not depend on them): T positive fractions, summing
        to 1."""
        if self.cut_buf is None:
            raise ValueError("shares: this trainer's team does not share by speed")
        f = np.asarray(fractions, dtype=float)
        if f.shape != (self.threads,) or (f <= 0).any() or abs(f.sum() - 1) > 1e-9:
            raise ValueError(f"shares: expected {self.threads} positive fractions summing to 1, "
                             f"got {list(fractions)}")
        self.cut_buf[:] = _cut_of(f)


def fill_mask(uint64_t key, Py_ssize_t rows, Py_ssize_t cols, double p, dtype=np.float64,
              Py_ssize_t row0=0, Py_ssize_t col0=0):
    """The dropout mask of the counter-based stream (for tests): (rows, cols) values, each 0 or
    1/(1-p), element (i, j) being the decision for row row0 + i and hidden neuron col0 + j under
    `key` (csrc/kernels.h)."""
    if rows < 0 or cols < 0:
        raise ValueError(f"rows, cols: expected >= 0, got {rows}, {cols}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"p: expected a probability in [0, 1), got {p}")
    if np.dtype(dtype) not in (np.float64, np.float32):
        raise TypeError(f"dtype: expected float64 or float32, got {np.dtype(dtype)}")
    out = np.empty((rows, cols), dtype=dtype)
    if out.dtype == np.float64:
        _fill_mask[double](out, key, row0, col0, p)
    else:
        _fill_mask[float](out, key, row0, col0, p)
    return out


cdef void _fill_mask(floating[:, ::1] out, uint64_t key, Py_ssize_t row0, Py_ssize_t col0, double p):
    cdef fnn_drop dr
    dr.key, dr.row0, dr.col0, dr.p = key, row0, col0, p
    if out.shape[0] and out.shape[1]:
        draw_mask(&out[0, 0], out.shape[0], out.shape[1], out.shape[1], &dr)


def epoch_keys(uint64_t seed, Py_ssize_t count):
    """The dropout keys of a Trainer seeded with `seed`, one per epoch, in order (for tests)."""
    cdef uint64_t state[4]
    fnn_rng_seed(state, seed)
    return [int(fnn_rng_next(state)) for _ in range(count)]


class MaskStream:
    """Python mirror of a Trainer's dropout masks (for tests against the reference): the masks
    of epoch e (0, 1, ... of the Trainer seeded with `seed`), rows row0..row0+m of the epoch's
    order, for the hidden layers of the given sizes."""

    def __init__(self, seed, p, dtype=np.float64):
        self.seed, self.p, self.dtype, self.keys = seed, p, np.dtype(dtype), []

    def batch(self, epoch, row0, m, hidden_sizes):
        while len(self.keys) <= epoch:
            self.keys = epoch_keys(self.seed, epoch + 1)
        col0, masks = 0, []
        for size in hidden_sizes:
            masks.append(fill_mask(self.keys[epoch], m, size, self.p, self.dtype, row0, col0))
            col0 += size
        return masks


# ---------------------------------------------------------------------------------------------
# Inference
# ---------------------------------------------------------------------------------------------

# The first layer's product skipping the input's zeros (csrc/sparse_in.h; issue #29).
cdef extern from "sparse_in.h" nogil:
    Py_ssize_t fnn_scan_input_d(const double *x, Py_ssize_t m, Py_ssize_t n)
    Py_ssize_t fnn_scan_input_f(const float *x, Py_ssize_t m, Py_ssize_t n)
    Py_ssize_t fnn_sparse_work_d(Py_ssize_t n_in, Py_ssize_t n_out)
    Py_ssize_t fnn_sparse_work_f(Py_ssize_t n_in, Py_ssize_t n_out)
    void fnn_sparse_pack_d(double *work, const double *w, const double *b, Py_ssize_t n_out,
                           Py_ssize_t n_in)
    void fnn_sparse_pack_f(float *work, const float *w, const float *b, Py_ssize_t n_out,
                           Py_ssize_t n_in)
    Py_ssize_t fnn_sparse_forward_d(double *z, Py_ssize_t ldz, const double *x, Py_ssize_t m,
                                    Py_ssize_t n_in, Py_ssize_t n_out, double *work, double below,
                                    Py_ssize_t *bad_row)
    Py_ssize_t fnn_sparse_forward_f(float *z, Py_ssize_t ldz, const float *x, Py_ssize_t m,
                                    Py_ssize_t n_in, Py_ssize_t n_out, float *work, double below,
                                    Py_ssize_t *bad_row)


cdef inline Py_ssize_t scan_input(const floating *x, Py_ssize_t m, Py_ssize_t n) noexcept nogil:
    if floating is double:
        return fnn_scan_input_d(x, m, n)
    else:
        return fnn_scan_input_f(x, m, n)


cdef inline void sparse_pack(floating *work, const floating *w, const floating *b, Py_ssize_t n_out,
                             Py_ssize_t n_in) noexcept nogil:
    if floating is double:
        fnn_sparse_pack_d(work, w, b, n_out, n_in)
    else:
        fnn_sparse_pack_f(work, w, b, n_out, n_in)


cdef inline Py_ssize_t sparse_forward(floating *z, Py_ssize_t ldz, const floating *x, Py_ssize_t m,
                                      Py_ssize_t n_in, Py_ssize_t n_out, floating *work, double below,
                                      Py_ssize_t *bad_row) noexcept nogil:
    if floating is double:
        return fnn_sparse_forward_d(z, ldz, x, m, n_in, n_out, work, below, bad_row)
    else:
        return fnn_sparse_forward_f(z, ldz, x, m, n_in, n_out, work, below, bad_row)


# A row block whose fraction of nonzero inputs is below this takes the sparse first-layer product
# (measured on this host: see DESIGN.md, "Inference"); denser blocks take the gemm.
SPARSE_BELOW = 0.45
# ... and the call has at least this many rows: packing Wᵀ costs about a few rows' gemm (one 784-wide
# float64 row: 40 µs by the gemm, 65 µs with the packing; even at 16 rows).
SPARSE_MIN_ROWS = 16


def evaluate(Layout layout not None, params, X, Targets y=None, out=None, bint want_cost=False,
             bint want_correct=False, Py_ssize_t block=EVAL_BLOCK, bint raw=False, str check=None,
             double sparse_below=SPARSE_BELOW, Py_ssize_t first_row=0, Py_ssize_t n_threads=1):
    """Feed X forward in row blocks. Returns (summed cost, number correct); writes the output
    activations into `out` (n, sizes[-1]) when given (raw=True: the output layer's weighted
    inputs z instead). Costs are computed from z (exact, finite); "correct" is the argmax of z
    (one output: z >= 0) against the label or the argmax of the target row (one output: y >= 0.5).

    Each block's first-layer product skips X's zeros when fewer than `sparse_below` of its values
    are nonzero (0: never; the same values up to rounding), counted in one pass over the block that
    also checks X when `check` names it: ValueError "<check>: contains NaN or infinity (first at
    row r)" at the first such row (the message of `_network_data.check_finite`; r counts from
    `first_row`, the number of X's first row in the caller's data)."""
    _check_array(params, "params", layout.dtype, layout.n_params, -1)
    _check_array(X, "X", layout.dtype, -1, layout.sizes[0])
    cdef Py_ssize_t n = X.shape[0]
    cdef Py_ssize_t K = layout.sizes[layout.n_layers]
    if out is not None:
        _check_array(out, "out", layout.dtype, n, K)
    if (want_cost or want_correct) and (y is None or y.n != n):
        raise ValueError(f"y: expected {n} rows to match X")
    if y is not None and (y.n_outputs != K or y.dtype != layout.dtype):
        raise ValueError(f"y: expected targets/labels made for this layout ({K} outputs, "
                         f"{layout.dtype}), got {y.n_outputs} outputs, {y.dtype}")
    if block < 1:
        raise ValueError("block: expected >= 1")
    if not 1 <= n_threads <= 1024:
        raise ValueError(f"n_threads: expected a value in [1, 1024], got {n_threads}")
    cdef int threads = <int>n_threads
    if layout.dtype == np.float64:
        total, correct, bad_row = _evaluate[double](layout, params, X, y, out, want_cost, want_correct,
                                                    block, raw, check is not None, sparse_below, threads)
    else:
        total, correct, bad_row = _evaluate[float](layout, params, X, y, out, want_cost, want_correct,
                                                   block, raw, check is not None, sparse_below, threads)
    if bad_row >= 0:
        raise ValueError(f"{check}: contains NaN or infinity (first at row {first_row + bad_row})")
    return total, correct


cdef struct Eval:
    # one inference call (see _evaluate), shared by its team: read-only but for the per-block
    # results (each block's written by the one thread that claimed it) and the block counter
    int L, hidden_act, output_act, cost
    const Py_ssize_t *sizes
    const Py_ssize_t *w_off
    const Py_ssize_t *b_off
    const void *P
    const void *X
    Py_ssize_t n, block, widest, n_blocks
    const Py_ssize_t *labels     # labels, or NULL
    const void *T                # target rows, or NULL
    void *out                    # (n, K) outputs, or NULL
    bint raw, want_cost, want_correct, check, sparse_ok
    double sparse_below
    void *work                   # per thread: work_stride values (two activation buffers, a z block,
    Py_ssize_t work_stride       # then from sparse_at the sparse first layer's packed Wᵀ and scratch)
    Py_ssize_t sparse_at
    void *gemm                   # per thread: gemm_stride values of the own gemm's work, or NULL
    Py_ssize_t gemm_stride
    double *block_cost
    Py_ssize_t *block_correct
    Py_ssize_t *block_bad        # per block: its first row that is not finite (checked), or -1
    Py_ssize_t next_block        # the next block to claim (fnn_team_claim)


cdef inline void eval_blocks(Eval *e, fnn_team *team, int tid, const floating *Xp) noexcept nogil:
    """One thread's share of an inference call: the row blocks it claims, each fed forward whole
    (the same operations whatever thread runs it), its cost and count stored under its index."""
    cdef int L = e.L, l
    cdef const floating *P = <const floating*>e.P
    cdef const Py_ssize_t *sizes = e.sizes
    cdef Py_ssize_t n = e.n, block = e.block, K = sizes[L], n0 = sizes[0], n1 = sizes[1]
    cdef Py_ssize_t b, r0, m, done, bad, n_in, n_out
    cdef floating *work = <floating*>e.work + tid * e.work_stride
    cdef floating *gw = <floating*>e.gemm + tid * e.gemm_stride if e.gemm != NULL else NULL
    cdef floating *bufs[2]
    cdef floating *zbuf = work + 2 * block * e.widest
    cdef floating *sparse_work = work + e.sparse_at
    cdef floating *out = <floating*>e.out
    cdef const floating *targets = <const floating*>e.T
    cdef const floating *a_in
    cdef floating *a
    cdef floating *z_out
    cdef bint packed = False
    bufs[0] = work
    bufs[1] = work + block * e.widest
    while True:
        # blocks are claimed in increasing order: when a thread stops on a bad row, every block
        # before its own was claimed already and runs to its end (the first bad row is found)
        if fnn_team_stopped(team):
            return
        b = fnn_team_claim(&e.next_block)
        if b >= e.n_blocks:
            return
        r0 = b * block
        m = min(block, n - r0)
        a_in = Xp + r0 * n0
        # Layer 0 (hidden or output): z = a Wᵀ + b over X's nonzeros while the groups of rows
        # are sparse, checking them for NaN/inf in the same pass; the gemm for the rest.
        a = bufs[0] if L > 1 else (out + r0 * K if out != NULL else zbuf)
        done = 0
        if e.sparse_ok:
            if not packed:
                sparse_pack(sparse_work, P + e.w_off[0], P + e.b_off[0], n1, n0)
                packed = True
            done = sparse_forward(a, n1, a_in, m, n0, n1, sparse_work, e.sparse_below, &bad)
            if bad >= 0 and e.check:
                e.block_bad[b] = r0 + bad
                fnn_team_stop(team)
                return
        if done < m:
            # the input check: by the packed product while it packs the rows (the row found
            # by a scan only when it saw one), else a pass of its own before the gemm
            if gw != NULL:
                bad = -1
                if forward_product_deep(m - done, n1, n0, a_in + done * n0, P + e.w_off[0],
                                        a + done * n1, gw, e.check):
                    bad = scan_input(a_in + done * n0, m - done, n0)
            elif e.check:
                bad = scan_input(a_in + done * n0, m - done, n0)
            if e.check and bad >= 0:
                e.block_bad[b] = r0 + done + bad
                fnn_team_stop(team)
                return
            if gw == NULL:
                forward_product(m - done, n1, n0, a_in + done * n0, P + e.w_off[0], a + done * n1, gw)
            activate(a + done * n1, P + e.b_off[0], m - done, n1, e.hidden_act if L > 1 else FNN_LINEAR)
        if done > 0 and L > 1:
            activate(a, <floating*>NULL, done, n1, e.hidden_act)
        a_in = a
        for l in range(1, L - 1):
            n_in = sizes[l]
            n_out = sizes[l + 1]
            a = bufs[l % 2]
            forward_product(m, n_out, n_in, a_in, P + e.w_off[l], a, gw)
            activate(a, P + e.b_off[l], m, n_out, e.hidden_act)
            a_in = a
        # Output layer: z^L = a^{L-1} W^Lᵀ + b^L, kept as z for exact costs and argmax.
        z_out = out + r0 * K if out != NULL else zbuf
        if L > 1:
            forward_product(m, K, sizes[L - 1], a_in, P + e.w_off[L - 1], z_out, gw)
            activate(z_out, P + e.b_off[L - 1], m, K, FNN_LINEAR)
        if e.want_cost:
            e.block_cost[b] = cost_z(z_out, e.labels + r0 if e.labels != NULL else NULL,
                                     targets + r0 * K if targets != NULL else NULL, m, K,
                                     e.output_act, e.cost)
        if e.want_correct:
            if K == 1 and e.output_act != FNN_SIGMOID:
                e.block_correct[b] = m        # one softmax/linear output: the argmax is always 0
            else:
                e.block_correct[b] = count_correct(z_out, e.labels + r0 if e.labels != NULL else NULL,
                                                   targets + r0 * K if targets != NULL else NULL, m, K)
        if out != NULL and not e.raw:
            activate(z_out, <floating*>NULL, m, K, e.output_act)


cdef void _eval_member_d(void *ctx, fnn_team *team, int tid) noexcept nogil:
    eval_blocks(<Eval*>ctx, team, tid, <const double*>(<Eval*>ctx).X)


cdef void _eval_member_f(void *ctx, fnn_team *team, int tid) noexcept nogil:
    eval_blocks(<Eval*>ctx, team, tid, <const float*>(<Eval*>ctx).X)


cdef tuple _evaluate(Layout lay, const floating[::1] P, const floating[:, ::1] X, Targets y, object out,
                     bint want_cost, bint want_correct, Py_ssize_t block, bint raw, bint check,
                     double sparse_below, int n_threads):
    """X's row blocks fed forward by a team of up to n_threads threads, each block whole by the
    thread that claims it; the blocks' costs are then summed in block order (the same sum as one
    thread's, for any n_threads)."""
    cdef int L = lay.n_layers, l, threads
    cdef Py_ssize_t n = X.shape[0], K = lay.sizes[L], b
    cdef Py_ssize_t widest = 1
    for l in range(1, L):
        widest = max(widest, lay.sizes[l])
    if n == 0:
        return 0.0, 0, -1
    block = min(block, n)
    cdef Py_ssize_t n_blocks = (n + block - 1) // block
    threads = <int>max(1, min(n_threads, n_blocks, FNN_TEAM_MAX))
    # The sparse first layer needs a finite W (0 · inf would be a NaN the gemm keeps); its work
    # buffer (the packed bias and Wᵀ, a group's row lists and sums) rides on each thread's work.
    cdef Py_ssize_t n0 = lay.sizes[0], n1 = lay.sizes[1], bad_row = -1
    cdef bint sparse_ok = (n >= SPARSE_MIN_ROWS and sparse_below > 0
                           and all_finite(&P[0] + lay.w_off[0], n0 * n1))
    cdef Py_ssize_t sparse_at = 2 * block * widest + block * K
    cdef Py_ssize_t sparse_len = 0
    if sparse_ok:
        sparse_len = fnn_sparse_work_d(n0, n1) if floating is double else fnn_sparse_work_f(n0, n1)
    cdef Py_ssize_t work_stride = _lines_up(sparse_at + sparse_len)   # each thread's on its own lines
    work_arr = _aligned_empty(work_stride * threads, lay.dtype)
    cdef floating[::1] work = work_arr
    cdef floating[::1] gemm_v
    cdef Py_ssize_t gemm_stride = 0
    cdef Eval e
    e.gemm = NULL
    if KERNELS.get("gemm") == "own":
        # (deep K blocks: layer 0 streams whole input rows while it packs them; DESIGN.md)
        gemm_stride = _lines_up(fnn_gemm_work_deep_d() if floating is double else fnn_gemm_work_deep_f())
        gemm_v = _aligned_empty(gemm_stride * threads, lay.dtype)
        e.gemm = &gemm_v[0]
    cdef double[::1] block_cost = np.zeros(n_blocks, dtype=np.float64)
    cdef Py_ssize_t[::1] block_correct = np.zeros(n_blocks, dtype=np.intp)
    cdef Py_ssize_t[::1] block_bad = np.full(n_blocks, -1, dtype=np.intp)
    cdef floating[:, ::1] out_v
    cdef bint use_labels = y is not None and y.kind == "labels"
    cdef bint use_targets = y is not None and not use_labels
    cdef const floating[:, ::1] T
    cdef const Py_ssize_t[::1] labels
    e.L, e.hidden_act, e.output_act, e.cost = L, lay.hidden_act, lay.output_act, lay.cost
    e.sizes, e.w_off, e.b_off = &lay.sizes[0], &lay.w_off[0], &lay.b_off[0]
    e.P, e.X = &P[0], &X[0, 0]
    e.n, e.block, e.widest, e.n_blocks = n, block, widest, n_blocks
    e.labels, e.T, e.out = NULL, NULL, NULL
    if use_labels:
        labels = y.labels
        e.labels = &labels[0]
    elif use_targets:
        T = y.targets
        e.T = &T[0, 0]
    if out is not None:
        out_v = out
        e.out = &out_v[0, 0]
    e.raw, e.want_cost, e.want_correct, e.check = raw, want_cost, want_correct, check
    e.sparse_ok, e.sparse_below = sparse_ok, sparse_below
    e.work, e.work_stride, e.sparse_at = &work[0], work_stride, sparse_at
    e.gemm_stride = gemm_stride
    e.block_cost, e.block_correct, e.block_bad = &block_cost[0], &block_correct[0], &block_bad[0]
    e.next_block = 0
    cdef double total = 0.0
    cdef Py_ssize_t correct = 0
    with nogil:
        if floating is double:
            fnn_team_run(threads, _eval_member_d, &e)
        else:
            fnn_team_run(threads, _eval_member_f, &e)
        for b in range(n_blocks):
            if block_bad[b] >= 0:
                bad_row = block_bad[b]
                break
            total += block_cost[b]
            correct += block_correct[b]
    return total, correct, bad_row


# ---------------------------------------------------------------------------------------------
# Kernel entry points for tests
# ---------------------------------------------------------------------------------------------

def all_finite_array(const floating[::1] x):
    """True when no value of x is NaN or infinite (vectorized bit test, no temporaries, no GIL)."""
    cdef bint ok = True
    if x.shape[0]:
        with nogil:
            ok = all_finite(&x[0], x.shape[0])
    return bool(ok)


def kernel_activate(floating[:, ::1] z, floating[::1] b, str act):
    """a = act(z + b) computed by the C kernel (a copy; for tests)."""
    if b.shape[0] != z.shape[1]:
        raise ValueError("b: expected one bias per column of z")
    a = np.array(z, copy=True)
    cdef floating[:, ::1] av = a
    if a.size:
        activate(&av[0, 0], &b[0], av.shape[0], av.shape[1], <int>ACTIVATIONS[act])
    return a


def kernel_exp(floating[::1] x):
    out = np.empty_like(np.asarray(x))
    cdef floating[::1] ov = out
    if x.shape[0]:
        exp_values(&ov[0], &x[0], x.shape[0])
    return out


# ---------------------------------------------------------------------------------------------
# Public helper: the output layer's softmax kernel, with a scale c (chapter 3, Problem 6)
# ---------------------------------------------------------------------------------------------

def softmax(z, c=1.0):
    """Softmax of each row of z with a scale c: aⱼ = e^{c zⱼ} / Σₖ e^{c zₖ} (eq. 78; c = 1 is the
    output layer of a softmax network, as c → ∞ it tends to the "hard" max).

    Computed by the compiled kernel fastnn's softmax output layer uses (max subtracted first, so it
    never overflows). z: a vector or an (m, n) matrix of weighted inputs, float32 kept, other
    numbers as float64; c: a finite number > 0. Returns a new array of z's shape whose rows sum to 1.
    """
    if isinstance(c, bool) or not isinstance(c, (int, float, np.integer, np.floating)):
        raise TypeError(f"c: expected a number > 0, got {type(c).__name__}")
    if not (np.isfinite(c) and c > 0):
        raise ValueError(f"c: expected a finite number > 0, got {c!r}")
    arr = np.asarray(z)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"z: expected numbers, got dtype {arr.dtype}")
    if arr.ndim not in (1, 2):
        raise ValueError(f"z: expected a vector or an (m, n) matrix, got shape {arr.shape}")
    if arr.shape[arr.ndim - 1] == 0:
        raise ValueError(f"z: expected at least one value per row, got shape {arr.shape}")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.array(arr, dtype=dtype, order="C", ndmin=2, copy=True)
        if c != 1:
            a *= dtype(c)
    if not np.all(np.isfinite(a)):
        if not np.all(np.isfinite(arr)):
            raise ValueError("z: expected finite values, got NaN or infinity")
        raise ValueError(f"c: c·z leaves the {np.dtype(dtype).name} range for c={c!r} "
                         f"(largest |z| is {float(np.max(np.abs(arr)))!r})")
    if dtype == np.float64:
        _softmax_rows[double](a)
    else:
        _softmax_rows[float](a)
    return a.reshape(arr.shape)


cdef void _softmax_rows(floating[:, ::1] a):
    if a.shape[0]:
        with nogil:
            activate(&a[0, 0], <floating*>NULL, a.shape[0], a.shape[1], FNN_SOFTMAX)


# ---------------------------------------------------------------------------------------------
# fastnn's own small-matrix kernels, callable directly (for tests and bench/kernels.py)
# ---------------------------------------------------------------------------------------------

cdef const fnn_mm_table *_table(object isa) except NULL:
    cdef const fnn_mm_table *t
    if isa is None:
        if _MM == NULL:
            raise ValueError("isa: no kernel set of fastnn's own is available in this process")
        return _MM
    if isa not in ISA_NAMES:
        raise ValueError(f"isa: expected one of {', '.join(ISA_NAMES)} or None, got {isa!r}")
    t = fnn_mm_select(isa.encode())
    if t == NULL:
        raise ValueError(f"isa: {isa} is not available on this CPU/build "
                         f"(available: {', '.join(KERNELS['available'])})")
    return t


def _rows_arg(rows, Py_ssize_t m, Py_ssize_t n):
    if rows is None:
        if m > n:
            raise ValueError(f"m: expected at most {n} rows, got {m}")
        return np.empty(0, dtype=np.intp)
    _check_array(rows, "rows", np.intp, m, -1)
    if m and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"rows: expected indices in [0, {n})")
    return rows


def kernel_forward(const floating[:, ::1] A, const floating[:, ::1] W, const floating[::1] b,
                   rows=None, Py_ssize_t m=-1, str act="sigmoid", isa=None, double dropout=0.0,
                   uint64_t seed=0, Py_ssize_t repeat=1, bint skip=False):
    """z = act(A[rows] Wᵀ + b) by the own forward kernel (rows None: the first m rows of A).
    With dropout: returns (z, dropped, mask), the mask of the stream keyed by `seed` (rows 0..m,
    neurons 0..n_out: ``fill_mask(seed, m, n_out, dropout)``). skip: leave out the vectors of A's
    columns that are zero in a whole row block (csrc/mm.h; the same bits for a finite W)."""
    cdef const fnn_mm_table *t = _table(isa)
    if m < 0:
        m = A.shape[0] if rows is None else len(rows)
    if rows is not None and m != len(rows):
        raise ValueError(f"m: expected len(rows) = {len(rows)}, got {m}")
    rows = _rows_arg(rows, m, A.shape[0])
    cdef const Py_ssize_t[::1] rv = rows
    cdef Py_ssize_t n_out = W.shape[0], n_in = W.shape[1], _r
    if A.shape[1] != n_in or b.shape[0] != n_out:
        raise ValueError(f"A, W, b: expected shapes (n, {n_in}), ({n_out}, {n_in}), ({n_out},), got "
                         f"({A.shape[0]}, {A.shape[1]}), ({W.shape[0]}, {W.shape[1]}), ({b.shape[0]},)")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout: expected a probability in [0, 1), got {dropout}")
    if repeat < 1:
        raise ValueError(f"repeat: expected >= 1, got {repeat}")
    dt = np.float64 if floating is double else np.float32
    z = np.zeros((m, n_out), dtype=dt)
    drop = np.zeros((m, n_out), dtype=dt)
    mask = np.zeros((m, n_out), dtype=dt)
    cdef floating[:, ::1] zv = z, dv = drop, mv = mask
    cdef fnn_drop dr
    dr.key, dr.row0, dr.col0, dr.p = seed, 0, 0, dropout
    cdef int a = ACTIVATIONS[act]
    cdef bint has_rows = rows.shape[0] > 0
    if m == 0:
        return (z, drop, mask) if dropout > 0 else z
    cdef Py_ssize_t[::1] sv = np.zeros(2 * FNN_MM_MAXSEG, dtype=np.intp)
    cdef Py_ssize_t nseg = _kernel_segs(t, A, rv, m, sv) if skip else -1
    with nogil:
        for _r in range(repeat):
            mm_forward(t, &zv[0, 0], n_out, &A[0, 0], n_in, &rv[0] if has_rows else NULL, m,
                       &W[0, 0], &b[0], n_out, n_in, a, &dv[0, 0] if dropout > 0 else NULL,
                       &mv[0, 0] if dropout > 0 else NULL, &dr, NULL, &sv[0] if skip else NULL,
                       nseg)
    return (z, drop, mask) if dropout > 0 else z


cdef Py_ssize_t _kernel_segs(const fnn_mm_table *t, const floating[:, ::1] A, const Py_ssize_t[::1] rv,
                             Py_ssize_t m, Py_ssize_t[::1] sv):
    """mm.h segs of A's rows rv (all, when empty) into sv: their count, or -1."""
    return mm_segs(t, &A[0, 0], A.shape[1], &rv[0] if rv.shape[0] > 0 else NULL, m, A.shape[1],
                   &sv[0])


def kernel_segs(const floating[:, ::1] A, rows=None, isa=None):
    """The vectors of the own kernels' path `isa` that are nonzero in some row of A[rows] (all rows
    when None) as [(first column, end column), ...] (mm.h "segs"), or None when the kernels would
    run the rows whole (more than 7/8 of the vectors active, or too many segments)."""
    cdef const fnn_mm_table *t = _table(isa)
    cdef Py_ssize_t m = A.shape[0] if rows is None else len(rows), n = A.shape[1], nseg, s
    rows = _rows_arg(rows, m, A.shape[0])
    cdef const Py_ssize_t[::1] rv = rows
    cdef Py_ssize_t[::1] sv = np.zeros(2 * FNN_MM_MAXSEG, dtype=np.intp)
    if m == 0 or n == 0:
        return None
    nseg = _kernel_segs(t, A, rv, m, sv)
    return None if nseg < 0 else [(sv[2 * s], sv[2 * s + 1]) for s in range(nseg)]


def kernel_backward(const floating[:, ::1] D, const floating[:, ::1] W, const floating[:, ::1] Ap,
                    mask=None, str act="sigmoid", isa=None, Py_ssize_t repeat=1):
    """(D W) ⊙ act'(z) [⊙ mask], act' written from Ap = act(z), by the own backward kernel."""
    cdef const fnn_mm_table *t = _table(isa)
    cdef Py_ssize_t m = D.shape[0], n_out = W.shape[0], n_in = W.shape[1], _r
    if D.shape[1] != n_out or Ap.shape[0] != m or Ap.shape[1] != n_in:
        raise ValueError("D, W, Ap: expected shapes (m, n_out), (n_out, n_in), (m, n_in)")
    dt = np.float64 if floating is double else np.float32
    if mask is not None:
        _check_array(mask, "mask", dt, m, n_in)
    if repeat < 1:
        raise ValueError(f"repeat: expected >= 1, got {repeat}")
    cdef const floating[:, ::1] mv = mask if mask is not None else np.ones((1, 1), dtype=dt)
    out = np.zeros((m, n_in), dtype=dt)
    cdef floating[:, ::1] ov = out
    cdef int a = ACTIVATIONS[act]
    cdef bint has_mask = mask is not None
    if m == 0:
        return out
    with nogil:
        for _r in range(repeat):
            mm_backward(t, &ov[0, 0], &D[0, 0], m, &W[0, 0], n_out, n_in, n_in, &Ap[0, 0],
                        &mv[0, 0] if has_mask else NULL, a)
    return out


def kernel_update(floating[:, ::1] W, floating[::1] b, const floating[:, ::1] D,
                  const floating[:, ::1] A, rows=None, VW=None, Vb=None, double alpha=-0.1,
                  double beta=1.0, double mu=0.0, double c=0.0, regularization=None, isa=None,
                  Py_ssize_t repeat=1, bint skip=False):
    """In place, by the own update kernel: W ← βW + α Dᵀ A[rows] and b ← b + α Σ D (L1, momentum
    with VW/Vb: see csrc/mm.h). The kernel takes δ with the step folded in: it is given α D.
    skip: the vectors of A's columns that are zero in every row without their ±0 products."""
    cdef const fnn_mm_table *t = _table(isa)
    cdef Py_ssize_t m = D.shape[0], n_out = W.shape[0], n_in = W.shape[1], _r
    rows = _rows_arg(rows, m, A.shape[0])
    cdef const Py_ssize_t[::1] rv = rows
    if D.shape[1] != n_out or A.shape[1] != n_in or b.shape[0] != n_out:
        raise ValueError("W, b, D, A: expected shapes (n_out, n_in), (n_out,), (m, n_out), (n, n_in)")
    dt = np.float64 if floating is double else np.float32
    if (VW is None) != (Vb is None):
        raise ValueError("VW, Vb: give both velocities or neither")
    if VW is not None:
        _check_array(VW, "VW", dt, n_out, n_in)
        _check_array(Vb, "Vb", dt, n_out, -1)
    if regularization not in REGULARIZATIONS:
        raise ValueError(f"regularization: expected 'l2', 'l1' or None, got {regularization!r}")
    if repeat < 1:
        raise ValueError(f"repeat: expected >= 1, got {repeat}")
    cdef floating[:, ::1] vw = VW if VW is not None else np.zeros((1, 1), dtype=dt)
    cdef floating[::1] vb = Vb if Vb is not None else np.zeros(1, dtype=dt)
    cdef bint mom = VW is not None, has_rows = rows.shape[0] > 0
    cdef int reg = REGULARIZATIONS[regularization]
    if m == 0:
        return
    cdef const floating[:, ::1] Ds = np.multiply(D, <floating>alpha)
    cdef floating[::1] tmp = np.empty(n_out, dtype=dt)
    cdef Py_ssize_t[::1] sv = np.zeros(2 * FNN_MM_MAXSEG, dtype=np.intp)
    cdef Py_ssize_t nseg = _kernel_segs(t, A, rv, m, sv) if skip else -1
    with nogil:
        for _r in range(repeat):
            mm_update(t, &W[0, 0], &b[0], &vw[0, 0] if mom else NULL, &vb[0] if mom else NULL,
                      &Ds[0, 0], n_out, &A[0, 0], n_in, &rv[0] if has_rows else NULL, m, n_out,
                      n_in, <floating>beta, <floating>mu, <floating>c, reg, &tmp[0], NULL,
                      &sv[0] if skip else NULL, nseg)


def kernel_gemm(a, b, c, double beta=0.0, Py_ssize_t repeat=1, bint deep=False):
    """c (M, N) <- beta c + a (M, K) @ b (K, N) by fastnn's packed product (csrc/gemm.h), in place;
    a and b C- or Fortran-contiguous (the packed product reads either layout), c C-contiguous,
    all of one dtype (float64 or float32); `repeat` runs the call that many times (benchmarks);
    deep: in K blocks of up to 784 (fnn_gemm_deep, inference's) instead of 256.
    For tests and benchmarks; raises RuntimeError where the
    packed product is not available (KERNELS["gemm"] is then "blas")."""
    if not fnn_gemm_available():
        raise RuntimeError("kernel_gemm: fastnn's packed product needs x86-64 with AVX2 and FMA")
    for name, x in (("a", a), ("b", b), ("c", c)):
        if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype not in (np.float64, np.float32):
            raise TypeError(f"{name}: expected a 2-d float64 or float32 array")
        if x.dtype != c.dtype:
            raise TypeError(f"{name}: expected dtype {c.dtype}, got {x.dtype}")
        if not (x.flags.c_contiguous or x.flags.f_contiguous):
            raise ValueError(f"{name}: expected a C- or Fortran-contiguous array")
    if not c.flags.c_contiguous or not c.flags.writeable:
        raise ValueError("c: expected a writeable C-contiguous array")
    if a.shape[1] != b.shape[0] or c.shape[0] != a.shape[0] or c.shape[1] != b.shape[1]:
        raise ValueError(f"a, b, c: expected shapes (M, K), (K, N), (M, N), got {a.shape}, {b.shape}, "
                         f"{c.shape}")
    if repeat < 1:
        raise ValueError(f"repeat: expected >= 1, got {repeat}")
    if c.dtype == np.float64:
        _kernel_gemm[double](a, b, c, beta, repeat, deep)
    else:
        _kernel_gemm[float](a, b, c, beta, repeat, deep)


cdef void _kernel_gemm(object a, object b, floating[:, ::1] c, double beta, Py_ssize_t repeat,
                       bint deep):
    # row-major c (M, N) is column-major cᵀ (N, M) = bᵀ aᵀ: A' = bᵀ, B' = aᵀ
    cdef Py_ssize_t M = c.shape[0], N = c.shape[1], K = a.shape[1], _r
    cdef bint ta = not b.flags.c_contiguous, tb = not a.flags.c_contiguous
    cdef Py_ssize_t lda = (K if ta else N) if K and N else 1, ldb = (M if tb else K) if K and M else 1
    cdef floating[::1] av = a.reshape(-1, order="A"), bv = b.reshape(-1, order="A")
    cdef Py_ssize_t size = ((fnn_gemm_work_deep_d() if floating is double else fnn_gemm_work_deep_f())
                            if deep else (fnn_gemm_work_d() if floating is double else fnn_gemm_work_f()))
    cdef floating[::1] w = _aligned_empty(size, np.float64 if floating is double else np.float32)
    if M == 0 or N == 0:
        return
    with nogil:
        for _r in range(repeat):
            if deep:
                packed_gemm_deep(ta, tb, N, M, K, &bv[0] if K else NULL, lda, NULL,
                                 &av[0] if K else NULL, ldb, NULL, <floating>beta, &c[0, 0], N, &w[0],
                                 NULL, NULL)
            else:
                packed_gemm(ta, tb, N, M, K, &bv[0] if K else NULL, lda, NULL, &av[0] if K else NULL,
                            ldb, NULL, <floating>beta, &c[0, 0], N, &w[0], NULL, NULL)
