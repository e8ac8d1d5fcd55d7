/* The sparse-input kernels of sparse_in.h for one precision: included by sparse_in.c with REAL, SFX,
 * UINT (an unsigned integer of REAL's size) and EXP_MASK (REAL's exponent bits) defined. */

#define FN_(name, sfx) name##sfx
#define FN2(name, sfx) FN_(name, sfx)
#define FN(name) FN2(name, SFX)

/* a 32-byte vector of REAL (GCC/clang vector extension: one ymm register on AVX2, two xmm on the
 * baseline clone); LANES values */
typedef REAL FN(sp_vec) __attribute__((vector_size(32)));
#define VEC FN(sp_vec)
#define LANES ((ptrdiff_t)(32 / sizeof(REAL)))

/* unaligned load into / store from a VEC lvalue (macros: a function returning a 32-byte vector
 * would change the baseline clone's ABI) */
#define SP_LOAD(v, p) memcpy(&(v), (p), sizeof(VEC))
#define SP_STORE(p, v) memcpy((p), &(v), sizeof(VEC))
/* p held in one register: without it gcc gives each of the NV loads its own induction variable
 * and spills them (13 accumulators leave no room) */
#if defined(__GNUC__)
#define SP_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define SP_OPAQUE(p) ((void)0)
#endif

FNN_SPARSE_HOT ptrdiff_t FN(fnn_scan_input)(const REAL *restrict x, ptrdiff_t m, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *restrict row = x + i * n;
        UINT bad = 0;
        for (ptrdiff_t j = 0; j < n; j++) {
            UINT b;
            memcpy(&b, row + j, sizeof b);
            bad |= (UINT)((b & EXP_MASK) == EXP_MASK); /* NaN or infinity */
        }
        if (bad) return i;
    }
    return -1;
}

ptrdiff_t FN(fnn_sparse_ld)(ptrdiff_t n_out) { return (n_out + LANES - 1) / LANES * LANES; }

/* region sizes in REAL values, rounded to 64 bytes */
static inline ptrdiff_t FN(sp_round)(ptrdiff_t values) {
    const ptrdiff_t per = (ptrdiff_t)(64 / sizeof(REAL));
    return (values + per - 1) / per * per;
}

static inline ptrdiff_t FN(sp_packed)(ptrdiff_t n_in, ptrdiff_t n_out) {
    return FN(sp_round)((n_in + 1) * FN(fnn_sparse_ld)(n_out));
}

/* the parts of fnn_sparse_forward's work buffer, in REAL values from its start */
typedef struct {
    ptrdiff_t val, col, starts, acc, end;
} FN(sp_parts);

static inline ptrdiff_t FN(sp_values)(ptrdiff_t bytes) {
    return FN(sp_round)((bytes + (ptrdiff_t)sizeof(REAL) - 1) / (ptrdiff_t)sizeof(REAL));
}

static inline FN(sp_parts) FN(sp_layout)(ptrdiff_t n_in, ptrdiff_t n_out) {
    const ptrdiff_t list = FNN_SPARSE_GROUP * n_in + 8, ranges = (n_in + SP_RANGE - 1) / SP_RANGE + 1;
    FN(sp_parts) p;
    p.val = FN(sp_packed)(n_in, n_out);                                /* the lists' values */
    p.col = p.val + FN(sp_round)(list);                                /* their columns */
    p.starts = p.col + FN(sp_values)(list * (ptrdiff_t)sizeof(int32_t)); /* row i, range r's first */
    p.acc = p.starts + FN(sp_values)(FNN_SPARSE_GROUP * ranges * (ptrdiff_t)sizeof(ptrdiff_t));
    p.end = p.acc + FNN_SPARSE_GROUP * FN(fnn_sparse_ld)(n_out);      /* the rows' sums */
    return p;
}

/* the work buffer is used from its first 64-byte boundary on: Wᵀ's rows and the sums, whole
 * multiples of 32 bytes, then start on 32-byte boundaries (a load that splits two cache lines costs
 * two) */
ptrdiff_t FN(fnn_sparse_work)(ptrdiff_t n_in, ptrdiff_t n_out) {
    return FN(sp_layout)(n_in, n_out).end + (ptrdiff_t)(64 / sizeof(REAL));
}

static inline REAL *FN(sp_aligned)(REAL *work) {
    return (REAL *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
}

void FN(fnn_sparse_pack)(REAL *restrict work, const REAL *restrict w, const REAL *restrict b,
                         ptrdiff_t n_out, ptrdiff_t n_in) {
    const ptrdiff_t ldt = FN(fnn_sparse_ld)(n_out);
    work = FN(sp_aligned)(work);
    REAL *restrict bias = work;
    for (ptrdiff_t o = 0; o < ldt; o++) bias[o] = o < n_out ? b[o] : 0;
    work += ldt; /* Wᵀ's row j at work + (j + 1) ldt */
    /* Wᵀ in tiles of 8 x 8 (w read row by row within a tile, both sides in L1) */
    for (ptrdiff_t j0 = 0; j0 < n_in; j0 += 8) {
        const ptrdiff_t j1 = j0 + 8 < n_in ? j0 + 8 : n_in;
        for (ptrdiff_t o0 = 0; o0 < n_out; o0 += 8) {
            const ptrdiff_t o1 = o0 + 8 < n_out ? o0 + 8 : n_out;
            for (ptrdiff_t o = o0; o < o1; o++)
                for (ptrdiff_t j = j0; j < j1; j++) work[j * ldt + o] = w[o * n_in + j];
        }
        for (ptrdiff_t j = j0; j < j1; j++)
            for (ptrdiff_t o = n_out; o < ldt; o++) work[j * ldt + o] = 0;
    }
}

/* Row lists of rows x[0..g): values and columns of the nonzeros in column order; row i's entries of
 * columns [r SP_RANGE, (r + 1) SP_RANGE) are [starts[i R1 + r], starts[i R1 + r + 1]) (R1: the
 * number of ranges + 1). Chunks of 8 values that are all zero (most of an MNIST row's background)
 * are skipped with one test; inside a chunk the entry is written and kept (k advanced) only for a
 * nonzero, no branch, and the values' exponents are checked. Returns the number of entries, or
 * -1 - i when row i holds a NaN or an infinity (the lists are then incomplete). */
static inline ptrdiff_t FN(sp_lists)(REAL *restrict val, int32_t *restrict col,
                                     ptrdiff_t *restrict starts, const REAL *restrict x, ptrdiff_t g,
                                     ptrdiff_t n, ptrdiff_t r1) {
    ptrdiff_t k = 0;
    for (ptrdiff_t i = 0; i < g; i++) {
        const REAL *restrict row = x + i * n;
        ptrdiff_t *restrict st = starts + i * r1;
        UINT bad = 0;
        for (ptrdiff_t j0 = 0, r = 0; j0 < n; j0 += SP_RANGE, r++) {
            st[r] = k;
            const ptrdiff_t j1 = j0 + SP_RANGE < n ? j0 + SP_RANGE : n;
            ptrdiff_t j = j0;
            for (; j + 8 <= j1; j += 8) {
                UINT any = 0;
                for (int t = 0; t < 8; t++) {
                    UINT b;
                    memcpy(&b, row + j + t, sizeof b);
                    any |= b << 1;
                }
                if (any == 0) continue;
                for (int t = 0; t < 8; t++) {
                    const REAL v = row[j + t];
                    UINT b;
                    memcpy(&b, &v, sizeof b);
                    bad |= (UINT)((b & EXP_MASK) == EXP_MASK);
                    val[k] = v;
                    col[k] = (int32_t)(j + t);
                    k += v != (REAL)0;
                }
            }
            for (; j < j1; j++) {
                const REAL v = row[j];
                UINT b;
                memcpy(&b, &v, sizeof b);
                bad |= (UINT)((b & EXP_MASK) == EXP_MASK);
                val[k] = v;
                col[k] = (int32_t)j;
                k += v != (REAL)0;
            }
        }
        st[r1 - 1] = k;
        if (bad) return -1 - i;
    }
    return k;
}

/* Adds list entries [k0, k1) of one row to its sums acc[0 .. NV LANES) (the packed columns o0...):
 * NV accumulators in registers, Wᵀ's rows from L1 (a range of SP_RANGE rows serves the group). */
#define SP_TILE(NV)                                                                                   \
    static inline __attribute__((always_inline)) void FN(sp_tile##NV)(                              \
        REAL *restrict acc_row, const REAL *restrict wt, ptrdiff_t ldt, const REAL *restrict val,    \
        const int32_t *restrict col, ptrdiff_t k0, ptrdiff_t k1) {                                  \
        VEC acc[NV];                                                                                \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) SP_LOAD(acc[v], acc_row + v * LANES);  \
        for (ptrdiff_t k = k0; k < k1; k++) {                                                        \
            const VEC xv = SP_BCAST(val[k]);                                                         \
            const REAL *restrict wr = wt + (ptrdiff_t)col[k] * ldt;                                  \
            SP_OPAQUE(wr);                                                                          \
            _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) {                                 \
                VEC w;                                                                              \
                SP_LOAD(w, wr + v * LANES);                                                         \
                acc[v] += xv * w;                                                                   \
            }                                                                                       \
        }                                                                                           \
        _Pragma("GCC unroll 16") for (int v = 0; v < NV; v++) SP_STORE(acc_row + v * LANES, acc[v]); \
    }

SP_TILE(1)
SP_TILE(2)
SP_TILE(3)
SP_TILE(4)
SP_TILE(5)
SP_TILE(6)
SP_TILE(7)
SP_TILE(8)
SP_TILE(9)
SP_TILE(10)
SP_TILE(11)
SP_TILE(12)
SP_TILE(13)
#undef SP_TILE

FNN_SPARSE_HOT ptrdiff_t FN(fnn_sparse_forward)(REAL *restrict z, ptrdiff_t ldz,
                                                const REAL *restrict x, ptrdiff_t m, ptrdiff_t n_in,
                                                ptrdiff_t n_out, REAL *restrict work, double below,
                                                ptrdiff_t *bad_row) {
    const ptrdiff_t ldt = FN(fnn_sparse_ld)(n_out);
    const FN(sp_parts) parts = FN(sp_layout)(n_in, n_out);
    work = FN(sp_aligned)(work);
    const REAL *restrict bias = work, *restrict wt = work + ldt; /* fnn_sparse_pack's layout */
    REAL *restrict val = work + parts.val, *restrict sums = work + parts.acc;
    int32_t *restrict col = (int32_t *)(work + parts.col);
    ptrdiff_t *restrict starts = (ptrdiff_t *)(work + parts.starts);
    const ptrdiff_t nvec = ldt / LANES, ranges = (n_in + SP_RANGE - 1) / SP_RANGE;
    const ptrdiff_t passes = (nvec + 12) / 13; /* at most 13 accumulators (16 ymm registers) */
    *bad_row = -1;
#if SP_HAVE_AVX2
    const int avx2 = n_in % 8 == 0 && sp_avx2(); /* whole chunks of 8 (MNIST: 784 = 98 x 8) */
#endif
    for (ptrdiff_t r0 = 0; r0 < m; r0 += FNN_SPARSE_GROUP) {
        const ptrdiff_t g = m - r0 < FNN_SPARSE_GROUP ? m - r0 : FNN_SPARSE_GROUP;
#if SP_HAVE_AVX2
        const ptrdiff_t entries =
            avx2 ? FN(sp_lists_avx2)(val, col, starts, x + r0 * n_in, g, n_in, ranges + 1)
                 : FN(sp_lists)(val, col, starts, x + r0 * n_in, g, n_in, ranges + 1);
#else
        const ptrdiff_t entries = FN(sp_lists)(val, col, starts, x + r0 * n_in, g, n_in, ranges + 1);
#endif
        if (entries < 0) {
            *bad_row = r0 - 1 - entries;
            return r0;
        }
        if ((double)entries >= below * (double)(g * n_in)) return r0; /* too dense: the gemm's */
        for (ptrdiff_t i = 0; i < g; i++) memcpy(sums + i * ldt, bias, (size_t)ldt * sizeof(REAL));
        ptrdiff_t v0 = 0;
        for (ptrdiff_t p = 0; p < passes; p++) {
            const ptrdiff_t nv = (nvec - v0) / (passes - p); /* the vectors split evenly */
            const ptrdiff_t o0 = v0 * LANES;
            for (ptrdiff_t r = 0; r < ranges; r++) {
                for (ptrdiff_t i = 0; i < g; i++) {
                    const ptrdiff_t k0 = starts[i * (ranges + 1) + r], k1 = starts[i * (ranges + 1) + r + 1];
                    if (k0 == k1) continue;
                    REAL *restrict acc_row = sums + i * ldt + o0;
                    switch (nv) {
#define SP_CASE(NV)                                                                                   \
    case NV:                                                                                        \
        FN(sp_tile##NV)(acc_row, wt + o0, ldt, val, col, k0, k1);                                    \
        break;
                        SP_CASE(1)
                        SP_CASE(2)
                        SP_CASE(3)
                        SP_CASE(4)
                        SP_CASE(5)
                        SP_CASE(6)
                        SP_CASE(7)
                        SP_CASE(8)
                        SP_CASE(9)
                        SP_CASE(10)
                        SP_CASE(11)
                        SP_CASE(12)
                        SP_CASE(13)
#undef SP_CASE
                    default:
                        break;
                    }
                }
            }
            v0 += nv;
        }
        for (ptrdiff_t i = 0; i < g; i++)
            memcpy(z + (r0 + i) * ldz, sums + i * ldt, (size_t)n_out * sizeof(REAL));
    }
    return m;
}

#undef VEC
#undef SP_LOAD
#undef SP_STORE
#undef SP_OPAQUE
#undef LANES
#undef FN
#undef FN2
#undef FN_
