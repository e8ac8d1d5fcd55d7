/* Template body of fastnn's register-blocked small-matrix kernels (see mm.h for the contract).
 *
 * Included by mm_generic.c, mm_avx2.c and mm_avx512.c, once per precision, with
 *   REAL      double | float          SFX     _d | _f
 *   ISA       the table suffix         VBYTES  bytes per vector register (16, 32, 64)
 *   SINT      the same-width signed integer (for comparison masks)
 * No intrinsics: GCC/clang vector extensions, so the same text compiles for SSE2/NEON (generic),
 * AVX2+FMA and AVX-512 depending on the target the including file enables. Loads and stores go
 * through memcpy (unaligned moves). Every block is a compile-time (RI, RO/CK) instance of an
 * always-inline function, so its accumulators live in registers.
 */

#define MM_CAT_(a, b) a##b
#define MM_CAT(a, b) MM_CAT_(a, b)
#define MM_CAT3(a, b, c) MM_CAT(MM_CAT(a, b), c)
#define MF(name) MM_CAT3(name, ISA, SFX)
#define VEC MF(mm_vec)
#define IVEC MF(mm_ivec)
#define VW ((ptrdiff_t)(VBYTES / sizeof(REAL)))
#define MM_INLINE static inline __attribute__((always_inline))

typedef REAL VEC __attribute__((vector_size(VBYTES)));
typedef SINT IVEC __attribute__((vector_size(VBYTES)));

MM_INLINE VEC MF(ld)(const REAL *p) {
    VEC v;
    memcpy(&v, p, sizeof v);
    return v;
}
MM_INLINE void MF(st)(REAL *p, VEC v) { memcpy(p, &v, sizeof v); }
MM_INLINE VEC MF(bc)(REAL s) { /* broadcast: s - 0 == s exactly, so the compiler drops the op */
    const VEC zero = {0};
    return s - zero;
}
/* Horizontal sum by halving (a fixed order: results are reproducible on one ISA path). */
MM_INLINE REAL MF(hsum)(VEC v) {
    REAL t[VBYTES / sizeof(REAL)];
    memcpy(t, &v, sizeof v);
    for (int w = (int)(VW / 2); w >= 1; w /= 2)
        for (int j = 0; j < w; j++) t[j] += t[j + w];
    return t[0];
}
/* c * sgn(x) (sgn(0) = 0) without branches. */
MM_INLINE VEC MF(csgn)(VEC x, REAL c) {
    const VEC zero = {0};
    const IVEC pos = x > zero, neg = x < zero; /* -1 where true */
    const VEC cv = MF(bc)(c);
    return (VEC)((IVEC)cv & pos) - (VEC)((IVEC)cv & neg);
}
MM_INLINE REAL MF(csgn1)(REAL x, REAL c) { return c * (REAL)((x > 0) - (x < 0)); }

/* act'(z) in terms of a = act(z), times the gradient g (BP2's Hadamard factor). */
MM_INLINE VEC MF(dact)(VEC g, VEC a, int act) {
    const VEC one = MF(bc)((REAL)1), zero = {0};
    switch (act) {
    case FNN_SIGMOID: return g * (a * (one - a));
    case FNN_TANH: return g * (one - a * a);
    case FNN_RELU: return (VEC)((IVEC)g & (IVEC)(a > zero));
    default: return g;
    }
}
MM_INLINE REAL MF(dact1)(REAL g, REAL a, int act) {
    switch (act) {
    case FNN_SIGMOID: return g * (a * ((REAL)1 - a));
    case FNN_TANH: return g * ((REAL)1 - a * a);
    case FNN_RELU: return a > (REAL)0 ? g : (REAL)0;
    default: return g;
    }
}

#define ROW(a, lda, rows, i) ((a) + ((rows) ? (rows)[i] : (i)) * (lda))

/* ------------------------------------------------------------------------------------------------
 * forward: z (RI rows, RO outputs) = A_rows · W_[o0, o0+RO)ᵀ ; dot products along n_in, vectorised
 * along n_in (W row-major), horizontal sums at the end; RI*RO accumulators.
 * ---------------------------------------------------------------------------------------------- */
#define F_RI 5
#define F_RO 4
MM_INLINE void MF(fwd_blk)(REAL *restrict z, ptrdiff_t ldz, const REAL *const *arow,
                           const REAL *restrict w, ptrdiff_t n_in, const int RI, const int RO) {
    VEC acc[F_RI][F_RO];
    for (int i = 0; i < RI; i++)
        for (int o = 0; o < RO; o++) acc[i][o] = (VEC){0};
    ptrdiff_t k = 0;
    for (; k + VW <= n_in; k += VW) {
        VEC wv[F_RO];
        for (int o = 0; o < RO; o++) wv[o] = MF(ld)(w + o * n_in + k);
        for (int i = 0; i < RI; i++) {
            const VEC av = MF(ld)(arow[i] + k);
            for (int o = 0; o < RO; o++) acc[i][o] += av * wv[o];
        }
    }
    for (int i = 0; i < RI; i++)
        for (int o = 0; o < RO; o++) {
            REAL s = MF(hsum)(acc[i][o]);
            for (ptrdiff_t kk = k; kk < n_in; kk++) s += arow[i][kk] * w[o * n_in + kk];
            z[i * ldz + o] = s;
        }
}

#define FWD_RO_CASES(RI)                                                                     \
    switch (ro) {                                                                            \
    case 4: MF(fwd_blk)(zb + o0, n_out, arow, w + o0 * n_in, n_in, RI, 4); break;            \
    case 3: MF(fwd_blk)(zb + o0, n_out, arow, w + o0 * n_in, n_in, RI, 3); break;            \
    case 2: MF(fwd_blk)(zb + o0, n_out, arow, w + o0 * n_in, n_in, RI, 2); break;            \
    default: MF(fwd_blk)(zb + o0, n_out, arow, w + o0 * n_in, n_in, RI, 1); break;           \
    }

void MF(fnn_mm_forward)(REAL *restrict z, const REAL *a, ptrdiff_t lda, const ptrdiff_t *rows,
                        ptrdiff_t m, const REAL *restrict w, const REAL *restrict b,
                        ptrdiff_t n_out, ptrdiff_t n_in, int act, REAL *drop, REAL *mask,
                        uint64_t *rng, double p) {
    for (ptrdiff_t i0 = 0; i0 < m; i0 += F_RI) {
        const int ri = (int)(m - i0 < F_RI ? m - i0 : F_RI);
        const REAL *arow[F_RI];
        for (int i = 0; i < F_RI; i++) arow[i] = ROW(a, lda, rows, i0 + (i < ri ? i : 0));
        REAL *zb = z + i0 * n_out;
        for (ptrdiff_t o0 = 0; o0 < n_out; o0 += F_RO) {
            const int ro = (int)(n_out - o0 < F_RO ? n_out - o0 : F_RO);
            switch (ri) {
            case 5: FWD_RO_CASES(5) break;
            case 4: FWD_RO_CASES(4) break;
            case 3: FWD_RO_CASES(3) break;
            case 2: FWD_RO_CASES(2) break;
            default: FWD_RO_CASES(1) break;
            }
        }
        /* bias + activation (+ dropout) on this row block while it is in L1 */
        MM_CAT(fnn_activate, SFX)(zb, b, ri, n_out, act);
        if (mask != NULL)
            MM_CAT(fnn_dropout, SFX)(drop + i0 * n_out, mask + i0 * n_out, zb, ri * n_out, rng, p);
    }
}

/* ------------------------------------------------------------------------------------------------
 * backward (BP2): dp (m, n_in) = (d (m, n_out) · W) ⊙ act'(ap) [⊙ mask]; broadcast δ, vectorise
 * along n_in; RI rows x CK vectors of accumulators; the Hadamard factor fused into the store.
 * ---------------------------------------------------------------------------------------------- */
#define B_RI 4
#define B_CK 4
MM_INLINE void MF(bwd_blk)(REAL *restrict dp, const REAL *restrict d, const REAL *restrict w,
                           ptrdiff_t n_out, ptrdiff_t n_in, const REAL *restrict ap,
                           const REAL *restrict mask, int act, const int RI, const int CK) {
    VEC acc[B_RI][B_CK];
    for (int i = 0; i < RI; i++)
        for (int c = 0; c < CK; c++) acc[i][c] = (VEC){0};
    for (ptrdiff_t o = 0; o < n_out; o++) {
        VEC wv[B_CK];
        for (int c = 0; c < CK; c++) wv[c] = MF(ld)(w + o * n_in + c * VW);
        for (int i = 0; i < RI; i++) {
            const VEC dv = MF(bc)(d[i * n_out + o]);
            for (int c = 0; c < CK; c++) acc[i][c] += dv * wv[c];
        }
    }
    for (int i = 0; i < RI; i++)
        for (int c = 0; c < CK; c++) {
            VEC g = MF(dact)(acc[i][c], MF(ld)(ap + i * n_in + c * VW), act);
            if (mask != NULL) g *= MF(ld)(mask + i * n_in + c * VW);
            MF(st)(dp + i * n_in + c * VW, g);
        }
}

#define BWD_CK_CASES(RI)                                                                      \
    switch (ck) {                                                                             \
    case 4: MF(bwd_blk)(dp + i0 * n_in + k, d + i0 * n_out, w + k, n_out, n_in,               \
                        ap + i0 * n_in + k, mask ? mask + i0 * n_in + k : NULL, act, RI, 4); break; \
    case 3: MF(bwd_blk)(dp + i0 * n_in + k, d + i0 * n_out, w + k, n_out, n_in,               \
                        ap + i0 * n_in + k, mask ? mask + i0 * n_in + k : NULL, act, RI, 3); break; \
    case 2: MF(bwd_blk)(dp + i0 * n_in + k, d + i0 * n_out, w + k, n_out, n_in,               \
                        ap + i0 * n_in + k, mask ? mask + i0 * n_in + k : NULL, act, RI, 2); break; \
    default: MF(bwd_blk)(dp + i0 * n_in + k, d + i0 * n_out, w + k, n_out, n_in,              \
                         ap + i0 * n_in + k, mask ? mask + i0 * n_in + k : NULL, act, RI, 1); break; \
    }

void MF(fnn_mm_backward)(REAL *restrict dp, const REAL *restrict d, ptrdiff_t m,
                         const REAL *restrict w, ptrdiff_t n_out, ptrdiff_t n_in,
                         const REAL *restrict ap, const REAL *restrict mask, int act) {
    const ptrdiff_t kv = n_in - n_in % VW; /* columns done with full vectors */
    for (ptrdiff_t i0 = 0; i0 < m; i0 += B_RI) {
        const int ri = (int)(m - i0 < B_RI ? m - i0 : B_RI);
        for (ptrdiff_t k = 0; k < kv; k += B_CK * VW) {
            const int ck = (int)((kv - k) / VW < B_CK ? (kv - k) / VW : B_CK);
            switch (ri) {
            case 4: BWD_CK_CASES(4) break;
            case 3: BWD_CK_CASES(3) break;
            case 2: BWD_CK_CASES(2) break;
            default: BWD_CK_CASES(1) break;
            }
        }
        for (int i = 0; i < ri; i++) /* scalar tail columns */
            for (ptrdiff_t k = kv; k < n_in; k++) {
                REAL s = 0;
                for (ptrdiff_t o = 0; o < n_out; o++) s += d[(i0 + i) * n_out + o] * w[o * n_in + k];
                s = MF(dact1)(s, ap[(i0 + i) * n_in + k], act);
                if (mask != NULL) s *= mask[(i0 + i) * n_in + k];
                dp[(i0 + i) * n_in + k] = s;
            }
    }
}

/* ------------------------------------------------------------------------------------------------
 * update (BP3/BP4 fused with the step): G = δᵀ A (never stored), then per element
 *   plain:     w <- beta w + alpha g                        (L2: beta = 1 - eta lambda / n)
 *   L1:        w <- w - c sgn(w) + alpha g                  (eq. 96)
 *   momentum:  v <- mu v + alpha g - c (w | sgn w);  w <- w + v
 * RO outputs x CK vectors of accumulators; broadcast δ, vectorise along n_in; A rows read through
 * `rows` (the permutation) when given.
 * ---------------------------------------------------------------------------------------------- */
#define U_RO 4
#define U_CK 4
MM_INLINE void MF(upd_store)(REAL *restrict wp, REAL *restrict vp, VEC g, REAL alpha, REAL beta,
                             REAL mu, REAL c, int reg) {
    VEC wv = MF(ld)(wp);
    if (vp == NULL) {
        if (reg == FNN_REG_L1)
            wv = (wv - MF(csgn)(wv, c)) + g * MF(bc)(alpha);
        else
            wv = wv * MF(bc)(beta) + g * MF(bc)(alpha);
    } else {
        VEC v = MF(ld)(vp) * MF(bc)(mu) + g * MF(bc)(alpha);
        if (reg == FNN_REG_L2)
            v -= MF(bc)(c) * wv;
        else if (reg == FNN_REG_L1)
            v -= MF(csgn)(wv, c);
        wv += v;
        MF(st)(vp, v);
    }
    MF(st)(wp, wv);
}

MM_INLINE void MF(upd_store1)(REAL *restrict wp, REAL *restrict vp, REAL g, REAL alpha, REAL beta,
                              REAL mu, REAL c, int reg) {
    REAL wv = *wp;
    if (vp == NULL) {
        if (reg == FNN_REG_L1)
            wv = (wv - MF(csgn1)(wv, c)) + g * alpha;
        else
            wv = wv * beta + g * alpha;
    } else {
        REAL v = *vp * mu + g * alpha;
        if (reg == FNN_REG_L2)
            v -= c * wv;
        else if (reg == FNN_REG_L1)
            v -= MF(csgn1)(wv, c);
        wv += v;
        *vp = v;
    }
    *wp = wv;
}

MM_INLINE void MF(upd_blk)(REAL *restrict w, REAL *restrict vw, ptrdiff_t n_in,
                           const REAL *restrict d, ptrdiff_t n_out, const REAL *a, ptrdiff_t lda,
                           const ptrdiff_t *rows, ptrdiff_t m, REAL alpha, REAL beta, REAL mu,
                           REAL c, int reg, const int RO, const int CK) {
    VEC acc[U_RO][U_CK];
    for (int o = 0; o < RO; o++)
        for (int q = 0; q < CK; q++) acc[o][q] = (VEC){0};
    /* the next block of W (and V) rows, same columns: fetched while this block computes */
    for (int o = 0; o < RO; o++)
        for (int q = 0; q < CK * (int)VBYTES; q += 64) {
            __builtin_prefetch((const char *)(w + (RO + o) * n_in) + q, 1, 3);
            if (vw) __builtin_prefetch((const char *)(vw + (RO + o) * n_in) + q, 1, 3);
        }
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *ar = ROW(a, lda, rows, i);
        VEC av[U_CK];
        for (int q = 0; q < CK; q++) av[q] = MF(ld)(ar + q * VW);
        for (int o = 0; o < RO; o++) {
            const VEC dv = MF(bc)(d[i * n_out + o]);
            for (int q = 0; q < CK; q++) acc[o][q] += dv * av[q];
        }
    }
    for (int o = 0; o < RO; o++)
        for (int q = 0; q < CK; q++)
            MF(upd_store)(w + o * n_in + q * VW, vw ? vw + o * n_in + q * VW : NULL, acc[o][q],
                          alpha, beta, mu, c, reg);
}

#define UPD_CK_CASES(RO)                                                                          \
    switch (ck) {                                                                                 \
    case 4: MF(upd_blk)(wb, vb_, n_in, d + o0, n_out, a + k, lda, rows, m, alpha, beta, mu, c, reg, RO, 4); break; \
    case 3: MF(upd_blk)(wb, vb_, n_in, d + o0, n_out, a + k, lda, rows, m, alpha, beta, mu, c, reg, RO, 3); break; \
    case 2: MF(upd_blk)(wb, vb_, n_in, d + o0, n_out, a + k, lda, rows, m, alpha, beta, mu, c, reg, RO, 2); break; \
    default: MF(upd_blk)(wb, vb_, n_in, d + o0, n_out, a + k, lda, rows, m, alpha, beta, mu, c, reg, RO, 1); break; \
    }

void MF(fnn_mm_update)(REAL *restrict w, REAL *restrict b, REAL *restrict vw, REAL *restrict vb,
                       const REAL *restrict d, const REAL *a, ptrdiff_t lda, const ptrdiff_t *rows,
                       ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, REAL alpha, REAL beta,
                       REAL mu, REAL c, int reg, const fnn_prefetch *pf) {
    /* prefetches spread evenly over the blocks (a burst would stall on the fill buffers) */
    ptrdiff_t pf_row = 0, pf_off = 0, pf_per_blk = 0;
    if (pf != NULL && pf->m > 0) {
        const ptrdiff_t lines = pf->m * ((pf->row_bytes + 63) / 64);
        const ptrdiff_t blocks = ((n_in + U_CK * VW - 1) / (U_CK * VW)) * ((n_out + U_RO - 1) / U_RO);
        pf_per_blk = (lines + blocks - 1) / (blocks > 0 ? blocks : 1);
    }
    /* biases (eq. 94, or their velocity): b <- b + alpha Σ_rows δ */
    for (ptrdiff_t o = 0; o < n_out; o++) {
        REAL s = 0;
        for (ptrdiff_t i = 0; i < m; i++) s += d[i * n_out + o];
        if (vb == NULL) {
            b[o] += alpha * s;
        } else {
            vb[o] = mu * vb[o] + alpha * s;
            b[o] += vb[o];
        }
    }
    const ptrdiff_t kv = n_in - n_in % VW;
    for (ptrdiff_t k = 0; k < kv; k += U_CK * VW) {
        const int ck = (int)((kv - k) / VW < U_CK ? (kv - k) / VW : U_CK);
        for (ptrdiff_t o0 = 0; o0 < n_out; o0 += U_RO) {
            const int ro = (int)(n_out - o0 < U_RO ? n_out - o0 : U_RO);
            REAL *wb = w + o0 * n_in + k;
            REAL *vb_ = vw ? vw + o0 * n_in + k : NULL;
            for (ptrdiff_t q = 0; q < pf_per_blk && pf_row < pf->m; q++) {
                __builtin_prefetch(pf->base + pf->rows[pf_row] * pf->row_bytes + pf_off, 0, 2);
                pf_off += 64;
                if (pf_off >= pf->row_bytes) {
                    pf_off = 0;
                    pf_row++;
                }
            }
            switch (ro) {
            case 4: UPD_CK_CASES(4) break;
            case 3: UPD_CK_CASES(3) break;
            case 2: UPD_CK_CASES(2) break;
            default: UPD_CK_CASES(1) break;
            }
        }
    }
    for (ptrdiff_t k = kv; k < n_in; k++) /* scalar tail columns */
        for (ptrdiff_t o = 0; o < n_out; o++) {
            REAL s = 0;
            for (ptrdiff_t i = 0; i < m; i++) s += d[i * n_out + o] * ROW(a, lda, rows, i)[k];
            MF(upd_store1)(w + o * n_in + k, vw ? vw + o * n_in + k : NULL, s, alpha, beta, mu, c,
                           reg);
        }
}

#undef F_RI
#undef F_RO
#undef B_RI
#undef B_CK
#undef U_RO
#undef U_CK
#undef FWD_RO_CASES
#undef BWD_CK_CASES
#undef UPD_CK_CASES
#undef ROW
#undef VEC
#undef IVEC
#undef VW
#undef MF
