/* fastnn inference: the first layer's product for inputs with many exact zeros (issue #29).
 *
 * MNIST rows are ~80 % zeros. z = x Wᵀ + b computed as, per row, z = b + Σ_{j: x_j != 0} x_j Wᵀ[j, :]
 * over a packed copy of Wᵀ (the bias, then Wᵀ's n_in rows, each of ldt values: zero padded to a
 * whole number of 32-byte vectors), vectorised over the outputs: (nonzeros / n_in) of the gemm's
 * multiply-adds. The sum runs over j in increasing order, one rounding (or FMA) per term: the same
 * values as the gemm up to rounding. A NaN or infinity in x is a nonzero, so it reaches z as in the
 * gemm (the callers use this path only when W is finite, so skipping 0 · W[j] changes no NaN).
 *
 * fnn_sparse_forward lists each group's nonzeros in one pass over its rows that also checks them for
 * NaN and infinity (the input check, folded into the pass) and measures the group's density, which
 * decides between this path and the gemm; fnn_scan_input checks the rows the gemm takes.
 *
 * Every function exists in a double (_d) and a float (_f) version (sparse_in_impl.h). */
#ifndef FASTNN_SPARSE_IN_H
#define FASTNN_SPARSE_IN_H

#include <stddef.h>
#include <stdint.h>

/* rows whose nonzeros are listed at once (the lists stay in L1/L2 while each slice of Wᵀ's columns
 * is applied to all of them) */
#ifndef FNN_SPARSE_GROUP
#define FNN_SPARSE_GROUP 32
#endif

#define FNN_SPARSE_DECLARE(REAL, SFX)                                                                 \
    /* -1 when the m rows of n values are all finite, else the first row holding a NaN or an        \
     * infinity */                                                                                  \
    ptrdiff_t fnn_scan_input##SFX(const REAL *x, ptrdiff_t m, ptrdiff_t n);                          \
    /* the packed row length of Wᵀ for n_out outputs (a whole number of 32-byte vectors) */         \
    ptrdiff_t fnn_sparse_ld##SFX(ptrdiff_t n_out);                                                   \
    /* values of REAL the work buffer of fnn_sparse_forward needs (the packed bias and Wᵀ, the      \
     * lists and sums of FNN_SPARSE_GROUP rows) */                                                  \
    ptrdiff_t fnn_sparse_work##SFX(ptrdiff_t n_in, ptrdiff_t n_out);                                 \
    /* packs b (n_out) and w (n_out, n_in) into work: b, then Wᵀ (n_in + 1 rows of fnn_sparse_ld    \
     * values, zero padded) */                                                                      \
    void fnn_sparse_pack##SFX(REAL *work, const REAL *w, const REAL *b, ptrdiff_t n_out,             \
                              ptrdiff_t n_in);                                                       \
    /* z (rows ldz apart) = x (m, n_in) Wᵀ + b over x's nonzeros, FNN_SPARSE_GROUP rows at a time   \
     * while a group's fraction of nonzeros is below `below`; returns the number of rows done (the  \
     * gemm does the rest). *bad_row: -1, or the first row holding a NaN or an infinity (the rows   \
     * before its group are done). work: packed by fnn_sparse_pack. */                              \
    ptrdiff_t fnn_sparse_forward##SFX(REAL *z, ptrdiff_t ldz, const REAL *x, ptrdiff_t m,            \
                                      ptrdiff_t n_in, ptrdiff_t n_out, REAL *work, double below,     \
                                      ptrdiff_t *bad_row);

FNN_SPARSE_DECLARE(double, _d)
FNN_SPARSE_DECLARE(float, _f)

#endif
