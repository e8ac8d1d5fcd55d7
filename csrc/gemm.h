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

/* The same product in K blocks of up to 784 (one block for MNIST's rows) instead of 256, with a
 * work buffer of fnn_gemm_work_deep values (4.7 MB f32 / 8.9 MB f64): inference's products over
 * many rows, whose inputs the packing then streams whole rows at a time (1.06x in a C harness at
 * [784 -> 100] over 10,000 rows). Same chains, same bits. */
ptrdiff_t fnn_gemm_work_deep_d(void);
ptrdiff_t fnn_gemm_work_deep_f(void);
void fnn_gemm_deep_d(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A, ptrdiff_t lda,
                     const ptrdiff_t *acols, const double *B, ptrdiff_t ldb, const ptrdiff_t *bcols,
                     double beta, double *C, ptrdiff_t ldc, double *work, const fnn_prefetch *pf,
                     int *b_nonfinite);
void fnn_gemm_deep_f(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     const ptrdiff_t *acols, const float *B, ptrdiff_t ldb, const ptrdiff_t *bcols,
                     float beta, float *C, ptrdiff_t ldc, float *work, const fnn_prefetch *pf,
                     int *b_nonfinite);


/* The first layer's W kept as packed panels for the length of a training call (issue #29): MR rows
 * (16 floats / 8 doubles: the tile height) of W, each as n_in columns of MR values (k-major), the last
 * panel zero padded; the forward reads its micro-panels in place (no packing of W per mini-batch)
 * and the update writes W's tiles there (MR × 6 contiguous values each). Same chains, same bits. */
ptrdiff_t fnn_panels_rows_d(void);
ptrdiff_t fnn_panels_rows_f(void);
ptrdiff_t fnn_panels_size_d(ptrdiff_t n_out, ptrdiff_t n_in);
ptrdiff_t fnn_panels_size_f(ptrdiff_t n_out, ptrdiff_t n_in);
void fnn_panels_pack_d(double *wp, const double *w, ptrdiff_t n_out, ptrdiff_t n_in);
void fnn_panels_pack_f(float *wp, const float *w, ptrdiff_t n_out, ptrdiff_t n_in);
void fnn_panels_unpack_d(double *w, const double *wp, ptrdiff_t n_out, ptrdiff_t n_in);
void fnn_panels_unpack_f(float *w, const float *wp, ptrdiff_t n_out, ptrdiff_t n_in);
/* z (m, n_out; rows ldz apart) = x[rows] (m, n_in) · Wᵀ, W as panels (rows: NULL = consecutive) */
void fnn_gemm_panels_forward_d(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const double *wp,
                               const double *x, ptrdiff_t ldx, const ptrdiff_t *rows, double *z,
                               ptrdiff_t ldz, double *work, const fnn_prefetch *pf);
void fnn_gemm_panels_forward_f(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const float *wp,
                               const float *x, ptrdiff_t ldx, const ptrdiff_t *rows, float *z,
                               ptrdiff_t ldz, float *work, const fnn_prefetch *pf);
/* W (panels) <- beta W + dᵀ x[rows]: d (m, n_out; rows ldd apart), x's rows n_in wide */
void fnn_gemm_panels_update_d(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const double *d, ptrdiff_t ldd,
                              const double *x, ptrdiff_t ldx, const ptrdiff_t *rows, double beta,
                              double *wp, double *work, const fnn_prefetch *pf);
void fnn_gemm_panels_update_f(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const float *d, ptrdiff_t ldd,
                              const float *x, ptrdiff_t ldx, const ptrdiff_t *rows, float beta, float *wp,
                              float *work, const fnn_prefetch *pf);

#endif
