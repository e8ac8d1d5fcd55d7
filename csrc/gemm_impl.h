/* The packed product of gemm.h for one precision, AVX2 + FMA. Included by gemm_avx2.c once per
 * precision with REAL, SFX, VEC, VL (lanes), the vector macros and the block sizes defined. */

#define MR (2 * VL) /* rows of a C tile: two vectors */
#define NR 6        /* columns of a C tile: six broadcasts, 12 accumulators */

#define GEMM_CAT_(a, b) a##b
#define GEMM_CAT(a, b) GEMM_CAT_(a, b)
#define F(name) GEMM_CAT(name, SFX)

/* How a tile's chain starts: from 0 (beta == 0 in the first K block), from C (beta == 1, or a
 * later K block), from beta·C (the first K block otherwise). */
enum { F(START_ZERO) = 0, F(START_C) = 1, F(START_BETA_C) = 2 };

/* C tile (MR × NR, columns ldc apart) <- its start + Σ_k a[k] b[k]ᵀ: a is kc packed columns of MR
 * values, b kc packed rows of NR values. */
static inline void F(gemm_kernel)(ptrdiff_t kc, const REAL *restrict a, const REAL *restrict b,
                                  REAL *restrict c, ptrdiff_t ldc, int start, REAL beta) {
    VEC c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
    if (start == F(START_ZERO)) {
        c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = VZERO();
    } else {
        c00 = VLOADU(c + 0 * ldc), c01 = VLOADU(c + 0 * ldc + VL);
        c10 = VLOADU(c + 1 * ldc), c11 = VLOADU(c + 1 * ldc + VL);
        c20 = VLOADU(c + 2 * ldc), c21 = VLOADU(c + 2 * ldc + VL);
        c30 = VLOADU(c + 3 * ldc), c31 = VLOADU(c + 3 * ldc + VL);
        c40 = VLOADU(c + 4 * ldc), c41 = VLOADU(c + 4 * ldc + VL);
        c50 = VLOADU(c + 5 * ldc), c51 = VLOADU(c + 5 * ldc + VL);
        if (start == F(START_BETA_C)) {
            const VEC vb = VSET1(beta);
            c00 = VMUL(vb, c00), c01 = VMUL(vb, c01), c10 = VMUL(vb, c10), c11 = VMUL(vb, c11);
            c20 = VMUL(vb, c20), c21 = VMUL(vb, c21), c30 = VMUL(vb, c30), c31 = VMUL(vb, c31);
            c40 = VMUL(vb, c40), c41 = VMUL(vb, c41), c50 = VMUL(vb, c50), c51 = VMUL(vb, c51);
        }
    }
#pragma GCC unroll 4
    for (ptrdiff_t k = 0; k < kc; k++) {
        const VEC a0 = VLOAD(a), a1 = VLOAD(a + VL);
        VEC bj;
        bj = VSET1(b[0]), c00 = VFMA(a0, bj, c00), c01 = VFMA(a1, bj, c01);
        bj = VSET1(b[1]), c10 = VFMA(a0, bj, c10), c11 = VFMA(a1, bj, c11);
        bj = VSET1(b[2]), c20 = VFMA(a0, bj, c20), c21 = VFMA(a1, bj, c21);
        bj = VSET1(b[3]), c30 = VFMA(a0, bj, c30), c31 = VFMA(a1, bj, c31);
        bj = VSET1(b[4]), c40 = VFMA(a0, bj, c40), c41 = VFMA(a1, bj, c41);
        bj = VSET1(b[5]), c50 = VFMA(a0, bj, c50), c51 = VFMA(a1, bj, c51);
        a += MR;
        b += NR;
    }
    VSTOREU(c + 0 * ldc, c00), VSTOREU(c + 0 * ldc + VL, c01);
    VSTOREU(c + 1 * ldc, c10), VSTOREU(c + 1 * ldc + VL, c11);
    VSTOREU(c + 2 * ldc, c20), VSTOREU(c + 2 * ldc + VL, c21);
    VSTOREU(c + 3 * ldc, c30), VSTOREU(c + 3 * ldc + VL, c31);
    VSTOREU(c + 4 * ldc, c40), VSTOREU(c + 4 * ldc + VL, c41);
    VSTOREU(c + 5 * ldc, c50), VSTOREU(c + 5 * ldc + VL, c51);
}

/* The last rows of C when they fit one vector (mr <= VL): a VL × 2NR tile over two B panels (b0,
 * b1), 12 accumulators as the full tile; t (VL × 2NR, columns VL apart) holds its start and gets
 * the result. (One B panel alone would be 6 dependent chains: latency-bound at 2/3 of the rate.) */
static inline void F(gemm_kernel_narrow)(ptrdiff_t kc, const REAL *restrict a, const REAL *restrict b0,
                                         const REAL *restrict b1, REAL *restrict t, int start,
                                         REAL beta) {
    VEC c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11;
    if (start == F(START_ZERO)) {
        c0 = c1 = c2 = c3 = c4 = c5 = c6 = c7 = c8 = c9 = c10 = c11 = VZERO();
    } else {
        const VEC vb = VSET1(start == F(START_BETA_C) ? beta : 1);
        c0 = VMUL(vb, VLOAD(t + 0 * VL)), c1 = VMUL(vb, VLOAD(t + 1 * VL));
        c2 = VMUL(vb, VLOAD(t + 2 * VL)), c3 = VMUL(vb, VLOAD(t + 3 * VL));
        c4 = VMUL(vb, VLOAD(t + 4 * VL)), c5 = VMUL(vb, VLOAD(t + 5 * VL));
        c6 = VMUL(vb, VLOAD(t + 6 * VL)), c7 = VMUL(vb, VLOAD(t + 7 * VL));
        c8 = VMUL(vb, VLOAD(t + 8 * VL)), c9 = VMUL(vb, VLOAD(t + 9 * VL));
        c10 = VMUL(vb, VLOAD(t + 10 * VL)), c11 = VMUL(vb, VLOAD(t + 11 * VL));
    }
#pragma GCC unroll 4
    for (ptrdiff_t k = 0; k < kc; k++) {
        const VEC a0 = VLOAD(a);
        c0 = VFMA(a0, VSET1(b0[0]), c0), c1 = VFMA(a0, VSET1(b0[1]), c1);
        c2 = VFMA(a0, VSET1(b0[2]), c2), c3 = VFMA(a0, VSET1(b0[3]), c3);
        c4 = VFMA(a0, VSET1(b0[4]), c4), c5 = VFMA(a0, VSET1(b0[5]), c5);
        c6 = VFMA(a0, VSET1(b1[0]), c6), c7 = VFMA(a0, VSET1(b1[1]), c7);
        c8 = VFMA(a0, VSET1(b1[2]), c8), c9 = VFMA(a0, VSET1(b1[3]), c9);
        c10 = VFMA(a0, VSET1(b1[4]), c10), c11 = VFMA(a0, VSET1(b1[5]), c11);
        a += MR;
        b0 += NR;
        b1 += NR;
    }
    VSTORE(t + 0 * VL, c0), VSTORE(t + 1 * VL, c1), VSTORE(t + 2 * VL, c2), VSTORE(t + 3 * VL, c3);
    VSTORE(t + 4 * VL, c4), VSTORE(t + 5 * VL, c5), VSTORE(t + 6 * VL, c6), VSTORE(t + 7 * VL, c7);
    VSTORE(t + 8 * VL, c8), VSTORE(t + 9 * VL, c9), VSTORE(t + 10 * VL, c10), VSTORE(t + 11 * VL, c11);
}

/* rows [0, mr) of C's 2NR columns at c (mr <= VL) by the narrow kernel, through its buffer */
static void F(gemm_narrow)(ptrdiff_t kc, const REAL *a, const REAL *b0, const REAL *b1, REAL *c,
                           ptrdiff_t ldc, ptrdiff_t mr, int start, REAL beta) {
    REAL t[VL * 2 * NR] __attribute__((aligned(64)));
    if (start != F(START_ZERO))
        for (ptrdiff_t j = 0; j < 2 * NR; j++)
            for (ptrdiff_t i = 0; i < VL; i++) t[j * VL + i] = i < mr ? c[j * ldc + i] : 0;
    F(gemm_kernel_narrow)(kc, a, b0, b1, t, start, beta);
    for (ptrdiff_t j = 0; j < 2 * NR; j++)
        for (ptrdiff_t i = 0; i < mr; i++) c[j * ldc + i] = t[j * VL + i];
}

/* A tile of all MR rows and nr < NR columns (C's last columns), straight into C: the kernel with
 * nr columns, nr fixed at compile time (each case below), so its accumulators stay in registers
 * and no multiply-adds go to the zero padding of the B panel. */
static inline __attribute__((always_inline)) void F(gemm_kernel_nr)(
    ptrdiff_t kc, const REAL *restrict a, const REAL *restrict b, REAL *restrict c, ptrdiff_t ldc,
    int start, REAL beta, const int nr) {
    VEC x0[NR], x1[NR];
    const VEC vb = VSET1(start == F(START_BETA_C) ? beta : 1);
#pragma GCC unroll 6
    for (int j = 0; j < NR; j++)
        if (j < nr) {
            if (start == F(START_ZERO)) {
                x0[j] = x1[j] = VZERO();
            } else {
                x0[j] = VMUL(vb, VLOADU(c + j * ldc));
                x1[j] = VMUL(vb, VLOADU(c + j * ldc + VL));
            }
        }
#pragma GCC unroll 2
    for (ptrdiff_t k = 0; k < kc; k++) {
        const VEC a0 = VLOAD(a), a1 = VLOAD(a + VL);
#pragma GCC unroll 6
        for (int j = 0; j < NR; j++)
            if (j < nr) {
                const VEC bj = VSET1(b[j]);
                x0[j] = VFMA(a0, bj, x0[j]);
                x1[j] = VFMA(a1, bj, x1[j]);
            }
        a += MR;
        b += NR;
    }
#pragma GCC unroll 6
    for (int j = 0; j < NR; j++)
        if (j < nr) {
            VSTOREU(c + j * ldc, x0[j]);
            VSTOREU(c + j * ldc + VL, x1[j]);
        }
}

static void F(gemm_cols)(ptrdiff_t kc, const REAL *a, const REAL *b, REAL *c, ptrdiff_t ldc,
                         ptrdiff_t nr, int start, REAL beta) {
    switch (nr) {
    case 1: F(gemm_kernel_nr)(kc, a, b, c, ldc, start, beta, 1); break;
    case 2: F(gemm_kernel_nr)(kc, a, b, c, ldc, start, beta, 2); break;
    case 3: F(gemm_kernel_nr)(kc, a, b, c, ldc, start, beta, 3); break;
    case 4: F(gemm_kernel_nr)(kc, a, b, c, ldc, start, beta, 4); break;
    default: F(gemm_kernel_nr)(kc, a, b, c, ldc, start, beta, 5); break;
    }
}

/* A tile at C's edge (mr < MR or nr < NR): through an MR × NR buffer. */
static void F(gemm_edge)(ptrdiff_t kc, const REAL *a, const REAL *b, REAL *c, ptrdiff_t ldc,
                         ptrdiff_t mr, ptrdiff_t nr, int start, REAL beta) {
    REAL t[MR * NR] __attribute__((aligned(64)));
    if (start != F(START_ZERO))
        for (ptrdiff_t j = 0; j < NR; j++)
            for (ptrdiff_t i = 0; i < MR; i++) t[j * MR + i] = i < mr && j < nr ? c[j * ldc + i] : 0;
    F(gemm_kernel)(kc, a, b, t, MR, start, beta);
    for (ptrdiff_t j = 0; j < nr; j++)
        for (ptrdiff_t i = 0; i < mr; i++) c[j * ldc + i] = t[j * MR + i];
}

/* op(A)[ic : ic+mc, pc : pc+kc] -> ap: micro-panels of MR rows (zero padded), each kc columns of
 * MR values. ta = 0: op(A)[i, k] = A[i + col(k) lda] (a column is contiguous: vector copies), with
 * col(k) = cols[k] (a table of columns: a mini-batch's rows of X in place) or k; ta = 1:
 * op(A)[i, k] = A[k + i lda] (a row is contiguous: VL × VL transposes). */
static void F(gemm_pack_a)(int ta, const REAL *A, ptrdiff_t lda, const ptrdiff_t *cols, ptrdiff_t ic,
                           ptrdiff_t pc, ptrdiff_t mc, ptrdiff_t kc, REAL *restrict ap) {
    for (ptrdiff_t ir = 0; ir < mc; ir += MR, ap += MR * kc) {
        const ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
        ptrdiff_t k = 0;
        if (!ta) {
#define COL_A(k) (A + (ic + ir) + (cols != NULL ? cols[pc + (k)] : pc + (k)) * lda)
            if (mr == MR)
                for (; k < kc; k++) {
                    const REAL *src = COL_A(k);
                    VSTORE(ap + k * MR, VLOADU(src));
                    VSTORE(ap + k * MR + VL, VLOADU(src + VL));
                }
            for (; k < kc; k++) {
                const REAL *src = COL_A(k);
                for (ptrdiff_t r = 0; r < MR; r++) ap[k * MR + r] = r < mr ? src[r] : 0;
            }
#undef COL_A
        } else {
            const REAL *src = A + pc + (ic + ir) * lda;
            if (mr == MR)
                for (; k + VL <= kc; k += VL)
                    for (ptrdiff_t g = 0; g < MR; g += VL) TRANSPOSE_STORE(src + g * lda + k, lda, ap + k * MR + g, MR);
            for (; k < kc; k++)
                for (ptrdiff_t r = 0; r < MR; r++) ap[k * MR + r] = r < mr ? src[r * lda + k] : 0;
        }
    }
}

/* op(B)[pc : pc+kc, jc : jc+nc] -> bp: micro-panels of NR columns (zero padded), each kc rows of
 * NR values. tb = 0: op(B)[k, j] = B[k + col(j) ldb] (col(j) = cols[j] or j, as for A); tb = 1:
 * op(B)[k, j] = B[j + col(k) ldb] (the same table, indexing op(B)'s rows). Returns NaN when check is set and a value copied is NaN or ±inf
 * (and may when it is not set), 0 otherwise: the input check of inference, in the same pass. */
static REAL F(gemm_pack_b)(int tb, const REAL *B, ptrdiff_t ldb, const ptrdiff_t *cols, ptrdiff_t pc,
                           ptrdiff_t jc, ptrdiff_t kc, ptrdiff_t nc, REAL *restrict bp, int check) {
    REAL probe = 0; /* with check: Σ (x − x), 0 unless some x is NaN or ±inf */
    if (tb && !check && nc >= NR) {
        /* rows of op(B) contiguous: each row read once, left to right, its NR-value pieces
         * written to the panels (the row's address looked up once, not once per panel) */
        const ptrdiff_t full = nc / NR * NR;
        for (ptrdiff_t k = 0; k < kc; k++) {
            const REAL *src = B + jc + (cols != NULL ? cols[pc + k] : pc + k) * ldb;
            REAL *dst = bp + k * NR;
            for (ptrdiff_t jr = 0; jr < full; jr += NR, dst += NR * kc)
                memcpy(dst, src + jr, NR * sizeof(REAL));
        }
        if (full == nc)
            return 0;
        bp += full * kc; /* the last, partial panel: below */
        jc += full;
        nc -= full;
    }
    for (ptrdiff_t jr = 0; jr < nc; jr += NR, bp += NR * kc) {
        const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
        if (!tb) {
            const REAL *src[NR];
            for (ptrdiff_t j = 0; j < NR; j++)
                src[j] = j < nr ? B + pc + (cols != NULL ? cols[jc + jr + j] : jc + jr + j) * ldb : NULL;
            if (nr == NR) { /* vector transposes (gemm_avx2.c), prefetching the next panel's columns */
                const REAL *next[NR];
                const int more = jr + 2 * NR <= nc;
                for (ptrdiff_t j = 0; j < NR && more; j++)
                    next[j] = B + pc + (cols != NULL ? cols[jc + jr + NR + j] : jc + jr + NR + j) * ldb;
                probe += PACK_B6(src, kc, bp, check, more ? next : NULL);
            }
            else {
                REAL pj[NR] = {0};
                for (ptrdiff_t k = 0; k < kc; k++)
                    for (ptrdiff_t j = 0; j < NR; j++) {
                        const REAL x = j < nr ? src[j][k] : 0;
                        bp[k * NR + j] = x;
                        pj[j] += x - x;
                    }
                for (ptrdiff_t j = 0; j < NR; j++) probe += pj[j];
            }
        } else { /* a row of op(B) is contiguous: row k at B + row(k) ldb, row(k) = cols[k] or k */
            REAL pj[NR] = {0}; /* (the check: one chain per column, as pack_b6) */
            for (ptrdiff_t k = 0; k < kc; k++) {
                const REAL *src = B + (jc + jr) + (cols != NULL ? cols[pc + k] : pc + k) * ldb;
                if (nr == NR && !check) {
                    for (ptrdiff_t j = 0; j < NR; j++) bp[k * NR + j] = src[j];
                } else {
                    for (ptrdiff_t j = 0; j < NR; j++) {
                        const REAL x = j < nr ? src[j] : 0;
                        bp[k * NR + j] = x;
                        pj[j] += x - x;
                    }
                }
            }
            for (ptrdiff_t j = 0; j < NR; j++) probe += pj[j];
        }
    }
    return probe;
}

/* blocks of n split evenly into pieces of at most `most` (multiples of `unit` but the last) */
static inline ptrdiff_t F(gemm_block)(ptrdiff_t n, ptrdiff_t most, ptrdiff_t unit) {
    const ptrdiff_t pieces = (n + most - 1) / most;
    const ptrdiff_t each = (n + pieces - 1) / pieces;
    return (each + unit - 1) / unit * unit;
}

/* (+ 64 bytes of slack after the B block: pack_b6_f's last spare lanes) */
ptrdiff_t F(fnn_gemm_work)(void) { return GEMM_MC * GEMM_KC + GEMM_KC * GEMM_NC + 128 / sizeof(REAL); }
ptrdiff_t F(fnn_gemm_work_deep)(void) {
    return GEMM_MC * GEMM_KC_DEEP + GEMM_KC_DEEP * GEMM_NC + 128 / sizeof(REAL);
}

/* The blocked product. With a_panels, A is already in packed panels (fnn_panels_pack: MR rows of
 * op(A) = A, K columns each, k-major) and is read in place; with c_panels, C is in that layout too
 * (N columns per panel: element (i, j) at C + (i / MR) MR N + j MR + i % MR) and every tile is MR
 * rows high (the panels' padding rows stay 0: their rows of A are packed as 0). Not both. */
static void F(gemm_driver)(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A,
                           ptrdiff_t lda, const ptrdiff_t *acols, const REAL *B, ptrdiff_t ldb,
                           const ptrdiff_t *bcols, REAL beta, REAL *C, ptrdiff_t ldc, REAL *work,
                           const fnn_prefetch *pf, int *b_nonfinite, int a_panels, int c_panels,
                           int deep) {
    REAL probe = 0;
    if (b_nonfinite != NULL)
        *b_nonfinite = 0;
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) { /* C <- beta C */
        for (ptrdiff_t j = 0; j < N; j++)
            for (ptrdiff_t i = 0; i < M; i++) C[i + j * ldc] = beta == 0 ? 0 : beta * C[i + j * ldc];
        return;
    }
    REAL *ap = (REAL *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    /* deep (a work buffer of fnn_gemm_work_deep): K blocks of up to GEMM_KC_DEEP */
    const ptrdiff_t kc_most = deep ? GEMM_KC_DEEP : GEMM_KC;
    REAL *bp = ap + GEMM_MC * kc_most;
    const ptrdiff_t nb = F(gemm_block)(N, GEMM_NC, NR), kb = F(gemm_block)(K, kc_most, 1),
                    mb = F(gemm_block)(M, GEMM_MC, MR);
    /* pf's lines spread over the tiles (NR columns of C each, per K block) */
    fnn_pf_cursor pfc = fnn_pf_begin(pf, (N + NR - 1) / NR * ((M + MR - 1) / MR) * ((K + kb - 1) / kb));
    for (ptrdiff_t jc = 0; jc < N; jc += nb) {
        const ptrdiff_t nc = N - jc < nb ? N - jc : nb;
        for (ptrdiff_t pc = 0; pc < K; pc += kb) {
            const ptrdiff_t kc = K - pc < kb ? K - pc : kb;
            const int start = pc > 0 || beta == 1 ? F(START_C) : beta == 0 ? F(START_ZERO) : F(START_BETA_C);
            probe += F(gemm_pack_b)(tb, B, ldb, bcols, pc, jc, kc, nc, bp, b_nonfinite != NULL);
            for (ptrdiff_t ic = 0; ic < M; ic += mb) {
                const ptrdiff_t mc = M - ic < mb ? M - ic : mb;
                if (!a_panels) /* (else the micro-panels in place: panel p's columns pc.. at p MR K + pc MR) */
                    F(gemm_pack_a)(ta, A, lda, ta ? NULL : acols, ic, pc, mc, kc, ap);
                const REAL *apc = a_panels ? A + ic * K + pc * MR : ap; /* ic is a multiple of MR */
                const ptrdiff_t astep = a_panels ? K : kc; /* between micro-panels, per row of A */
                if (c_panels) { /* MR-high tiles, each contiguous in C's panel; a last panel of at
                                 * most VL real rows by the narrow kernel (not the padding) */
                    const ptrdiff_t p_last = mc % MR, p_narrow = p_last > 0 && p_last <= VL;
                    const ptrdiff_t p_full = p_narrow ? mc - p_last : mc;
                    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                        const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                        for (ptrdiff_t ir = 0; ir < p_full; ir += MR) {
                            REAL *c = C + (ic + ir) * N + (jc + jr) * MR;
                            if (nr == NR)
                                F(gemm_kernel)(kc, apc + ir * astep, bp + jr * kc, c, MR, start, beta);
                            else
                                F(gemm_cols)(kc, apc + ir * astep, bp + jr * kc, c, MR, nr, start, beta);
                            if (pf != NULL)
                                fnn_pf_step(&pfc);
                        }
                    }
                    if (p_narrow) {
                        REAL *c = C + (ic + p_full) * N + jc * MR;
                        ptrdiff_t jr = 0;
                        for (; jr + 2 * NR <= nc; jr += 2 * NR)
                            F(gemm_narrow)(kc, apc + p_full * astep, bp + jr * kc, bp + (jr + NR) * kc,
                                           c + jr * MR, MR, p_last, start, beta);
                        for (; jr < nc; jr += NR)
                            F(gemm_edge)(kc, apc + p_full * astep, bp + jr * kc, c + jr * MR, MR, p_last,
                                         nc - jr < NR ? nc - jr : NR, start, beta);
                    }
                    continue;
                }
                /* the last micro-panel of A when it is one vector or less: by the narrow
                 * kernel, two B panels at a time (the MR × NR edge tile for an odd last one) */
                const ptrdiff_t m_last = mc % MR, narrow = m_last > 0 && m_last <= VL;
                const ptrdiff_t m_full = narrow ? mc - m_last : mc;
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                    for (ptrdiff_t ir = 0; ir < m_full; ir += MR) {
                        const ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
                        REAL *c = C + (ic + ir) + (jc + jr) * ldc;
                        if (mr == MR && nr == NR)
                            F(gemm_kernel)(kc, apc + ir * astep, bp + jr * kc, c, ldc, start, beta);
                        else if (mr == MR)
                            F(gemm_cols)(kc, apc + ir * astep, bp + jr * kc, c, ldc, nr, start, beta);
                        else
                            F(gemm_edge)(kc, apc + ir * astep, bp + jr * kc, c, ldc, mr, nr, start, beta);
                        if (pf != NULL)
                            fnn_pf_step(&pfc);
                    }
                    if (pf != NULL && narrow)
                        fnn_pf_step(&pfc);
                }
                if (narrow) {
                    ptrdiff_t jr = 0;
                    for (; jr + 2 * NR <= nc; jr += 2 * NR)
                        F(gemm_narrow)(kc, apc + m_full * astep, bp + jr * kc, bp + (jr + NR) * kc,
                                       C + (ic + m_full) + (jc + jr) * ldc, ldc, m_last, start, beta);
                    for (; jr < nc; jr += NR)
                        F(gemm_edge)(kc, apc + m_full * astep, bp + jr * kc, C + (ic + m_full) + (jc + jr) * ldc,
                                     ldc, m_last, nc - jr < NR ? nc - jr : NR, start, beta);
                }
            }
        }
    }
    if (b_nonfinite != NULL)
        *b_nonfinite = probe != 0; /* NaN != 0 */
}

void F(fnn_gemm)(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A, ptrdiff_t lda,
                 const ptrdiff_t *acols, const REAL *B, ptrdiff_t ldb, const ptrdiff_t *bcols, REAL beta,
                 REAL *C, ptrdiff_t ldc, REAL *work, const fnn_prefetch *pf, int *b_nonfinite) {
    F(gemm_driver)(ta, tb, M, N, K, A, lda, acols, B, ldb, bcols, beta, C, ldc, work, pf, b_nonfinite, 0, 0, 0);
}

void F(fnn_gemm_deep)(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A, ptrdiff_t lda,
                      const ptrdiff_t *acols, const REAL *B, ptrdiff_t ldb, const ptrdiff_t *bcols, REAL beta,
                      REAL *C, ptrdiff_t ldc, REAL *work, const fnn_prefetch *pf, int *b_nonfinite) {
    F(gemm_driver)(ta, tb, M, N, K, A, lda, acols, B, ldb, bcols, beta, C, ldc, work, pf, b_nonfinite, 0, 0, 1);
}

ptrdiff_t F(fnn_panels_rows)(void) { return MR; }

ptrdiff_t F(fnn_panels_size)(ptrdiff_t n_out, ptrdiff_t n_in) { return (n_out + MR - 1) / MR * MR * n_in; }

void F(fnn_panels_pack)(REAL *restrict wp, const REAL *restrict w, ptrdiff_t n_out, ptrdiff_t n_in) {
    for (ptrdiff_t p = 0; p < n_out; p += MR, wp += MR * n_in)
        for (ptrdiff_t k = 0; k < n_in; k++)
            for (ptrdiff_t r = 0; r < MR; r++) wp[k * MR + r] = p + r < n_out ? w[(p + r) * n_in + k] : 0;
}

void F(fnn_panels_unpack)(REAL *restrict w, const REAL *restrict wp, ptrdiff_t n_out, ptrdiff_t n_in) {
    for (ptrdiff_t p = 0; p < n_out; p += MR, wp += MR * n_in)
        for (ptrdiff_t r = 0; r < MR && p + r < n_out; r++)
            for (ptrdiff_t k = 0; k < n_in; k++) w[(p + r) * n_in + k] = wp[k * MR + r];
}

void F(fnn_gemm_panels_forward)(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const REAL *wp, const REAL *x,
                                ptrdiff_t ldx, const ptrdiff_t *rows, REAL *z, ptrdiff_t ldz, REAL *work,
                                const fnn_prefetch *pf) {
    F(gemm_driver)(1, 0, n_out, m, n_in, wp, n_in, NULL, x, ldx, rows, 0, z, ldz, work, pf, NULL, 1, 0, 0);
}

void F(fnn_gemm_panels_update)(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const REAL *d, ptrdiff_t ldd,
                               const REAL *x, ptrdiff_t ldx, const ptrdiff_t *rows, REAL beta, REAL *wp,
                               REAL *work, const fnn_prefetch *pf) {
    F(gemm_driver)(0, 1, n_out, n_in, m, d, ldd, NULL, x, ldx, rows, beta, wp, n_out, work, pf, NULL, 0, 1, 0);
}

#undef MR
#undef NR
#undef F
