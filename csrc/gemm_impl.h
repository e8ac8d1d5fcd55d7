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
 * MR values. ta = 0: op(A)[i, k] = A[i + k lda] (a column is contiguous: vector copies); ta = 1:
 * op(A)[i, k] = A[k + i lda] (a row is contiguous: VL × VL transposes). */
static void F(gemm_pack_a)(int ta, const REAL *A, ptrdiff_t lda, ptrdiff_t ic, ptrdiff_t pc,
                           ptrdiff_t mc, ptrdiff_t kc, REAL *restrict ap) {
    for (ptrdiff_t ir = 0; ir < mc; ir += MR, ap += MR * kc) {
        const ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
        ptrdiff_t k = 0;
        if (!ta) {
            const REAL *src = A + (ic + ir) + pc * lda;
            if (mr == MR)
                for (; k < kc; k++) {
                    VSTORE(ap + k * MR, VLOADU(src + k * lda));
                    VSTORE(ap + k * MR + VL, VLOADU(src + k * lda + VL));
                }
            for (; k < kc; k++)
                for (ptrdiff_t r = 0; r < MR; r++) ap[k * MR + r] = r < mr ? src[k * lda + r] : 0;
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
 * NR values. tb = 0: op(B)[k, j] = B[k + j ldb]; tb = 1: op(B)[k, j] = B[j + k ldb]. */
static void F(gemm_pack_b)(int tb, const REAL *B, ptrdiff_t ldb, ptrdiff_t pc, ptrdiff_t jc,
                           ptrdiff_t kc, ptrdiff_t nc, REAL *restrict bp) {
    for (ptrdiff_t jr = 0; jr < nc; jr += NR, bp += NR * kc) {
        const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
        if (!tb) {
            const REAL *src = B + pc + (jc + jr) * ldb;
            if (nr == NR)
                for (ptrdiff_t k = 0; k < kc; k++)
                    for (ptrdiff_t j = 0; j < NR; j++) bp[k * NR + j] = src[j * ldb + k];
            else
                for (ptrdiff_t k = 0; k < kc; k++)
                    for (ptrdiff_t j = 0; j < NR; j++) bp[k * NR + j] = j < nr ? src[j * ldb + k] : 0;
        } else {
            const REAL *src = B + (jc + jr) + pc * ldb;
            for (ptrdiff_t k = 0; k < kc; k++)
                for (ptrdiff_t j = 0; j < NR; j++) bp[k * NR + j] = j < nr ? src[k * ldb + j] : 0;
        }
    }
}

/* blocks of n split evenly into pieces of at most `most` (multiples of `unit` but the last) */
static inline ptrdiff_t F(gemm_block)(ptrdiff_t n, ptrdiff_t most, ptrdiff_t unit) {
    const ptrdiff_t pieces = (n + most - 1) / most;
    const ptrdiff_t each = (n + pieces - 1) / pieces;
    return (each + unit - 1) / unit * unit;
}

ptrdiff_t F(fnn_gemm_work)(void) { return GEMM_MC * GEMM_KC + GEMM_KC * GEMM_NC + 64 / sizeof(REAL); }

void F(fnn_gemm)(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const REAL *A, ptrdiff_t lda,
                 const REAL *B, ptrdiff_t ldb, REAL beta, REAL *C, ptrdiff_t ldc, REAL *work) {
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) { /* C <- beta C */
        for (ptrdiff_t j = 0; j < N; j++)
            for (ptrdiff_t i = 0; i < M; i++) C[i + j * ldc] = beta == 0 ? 0 : beta * C[i + j * ldc];
        return;
    }
    REAL *ap = (REAL *)(((uintptr_t)work + 63) & ~(uintptr_t)63);
    REAL *bp = ap + GEMM_MC * GEMM_KC;
    const ptrdiff_t nb = F(gemm_block)(N, GEMM_NC, NR), kb = F(gemm_block)(K, GEMM_KC, 1),
                    mb = F(gemm_block)(M, GEMM_MC, MR);
    for (ptrdiff_t jc = 0; jc < N; jc += nb) {
        const ptrdiff_t nc = N - jc < nb ? N - jc : nb;
        for (ptrdiff_t pc = 0; pc < K; pc += kb) {
            const ptrdiff_t kc = K - pc < kb ? K - pc : kb;
            const int start = pc > 0 || beta == 1 ? F(START_C) : beta == 0 ? F(START_ZERO) : F(START_BETA_C);
            F(gemm_pack_b)(tb, B, ldb, pc, jc, kc, nc, bp);
            for (ptrdiff_t ic = 0; ic < M; ic += mb) {
                const ptrdiff_t mc = M - ic < mb ? M - ic : mb;
                F(gemm_pack_a)(ta, A, lda, ic, pc, mc, kc, ap);
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    const ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
                    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
                        const ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
                        REAL *c = C + (ic + ir) + (jc + jr) * ldc;
                        if (mr == MR && nr == NR)
                            F(gemm_kernel)(kc, ap + ir * kc, bp + jr * kc, c, ldc, start, beta);
                        else
                            F(gemm_edge)(kc, ap + ir * kc, bp + jr * kc, c, ldc, mr, nr, start, beta);
                    }
                }
            }
        }
    }
}

#undef MR
#undef NR
#undef F
