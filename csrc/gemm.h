/* fastnn's own packed matrix product for the wide layers and large mini-batches (issue #29), where
 * the small-matrix kernels (mm.h) stream W from L3 and the vendor BLAS was the choice:
 *
 *   C (M, N) <- beta C + op(A) op(B)        (column-major, as BLAS' ?gemm with alpha = 1)
 *
 * op(A) is A (M, K) with ta = 0 or Aᵀ with ta = 1, op(B) is B (K, N) with tb = 0 or Bᵀ with tb = 1,
 * leading dimensions as BLAS'. beta == 0 does not read C (it may hold NaN). acols / bcols (used only
 * with ta = 0 / tb = 0, else NULL) list where A's / B's columns are: column c at A + acols[c] lda
 * (NULL: A + c lda) — a mini-batch's rows of X read in place through the permutation, not gathered.
 * pf (or NULL): rows to prefetch towards L2 meanwhile, a few lines after each tile (the next
 * mini-batch's input rows, as the own kernels do). b_nonfinite (or NULL): set to 1 when op(B) holds a
 * NaN or an infinity, checked while it is packed (inference's input check), else 0.
 *
 * Blocked as BLIS/GotoBLAS: A in blocks of MC × KC and B in KC × NC copied ("packed") into a
 * caller's work buffer in the order the micro-kernel reads them; the micro-kernel keeps an
 * MR × NR tile of C in 12 vector registers (AVX2 + FMA: 16 × 6 floats, 8 × 6 doubles) and adds one
 * rank-1 product per k with 2 vector loads of A, 6 broadcasts of B and 12 FMAs.
 *
 * Order of the sums: each element of C is ONE chain of fused multiply-adds over k = 0 .. K-1 in
 * increasing order, starting from beta·C (from C itself when beta == 1, from 0 when beta == 0);
 * between K blocks the chain is stored into C and reloaded, which is exact. So the result does not
 * depend on the blocking, on the operands' layouts or on which thread computes a tile — only on
 * the values: the same bits as the plain loop `c = fma(a[i,k], b[k,j], c)` over k.
 *
 * x86-64 with AVX2 + FMA only (fnn_gemm_available() says whether this build and CPU have it); the
 * callers use the vendor BLAS otherwise. No static state, no allocation.
 */
#ifndef FASTNN_GEMM_H
#define FASTNN_GEMM_H

#include <stddef.h>

#include "mm.h" /* fnn_prefetch */

/* 1 when this build has the kernels and the CPU runs AVX2 and FMA */
int fnn_gemm_available(void);

/* values of the precision the work buffer must hold (packed A and B blocks, 64-byte aligned) */
ptrdiff_t fnn_gemm_work_d(void);
ptrdiff_t fnn_gemm_work_f(void);

void fnn_gemm_d(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A, ptrdiff_t lda,
                const ptrdiff_t *acols, const double *B, ptrdiff_t ldb, const ptrdiff_t *bcols, double beta,
                double *C, ptrdiff_t ldc, double *work, const fnn_prefetch *pf,
                int *b_nonfinite);
void fnn_gemm_f(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                const ptrdiff_t *acols, const float *B, ptrdiff_t ldb, const ptrdiff_t *bcols, float beta,
                float *C, ptrdiff_t ldc, float *work, const fnn_prefetch *pf,
                int *b_nonfinite);

#endif
