/* fastnn's own register-blocked small-matrix kernels for the three products of a mini-batch step,
 * with the elementwise work around them fused in (see mm_impl.h and DESIGN.md):
 *
 *   forward   z (m, n_out) = act(A · Wᵀ + b), A's row i read at a + rows[i] * lda (rows == NULL:
 *             consecutive rows), z's rows ldz apart (ldz > n_out: one thread's block of neurons),
 *             optionally dropout: mask (m, n_out) from the counter-based stream dr (kernels.h),
 *             drop = z * mask, both with z's layout
 *   backward  dp (m, n_in) = (d · W) ⊙ act'(ap) [⊙ mask]                              (BP2)
 *             dp, ap, mask and W with rows ld apart (ld > n_in: a block of columns)
 *   update    W ← βW + δᵀA (L1: W − c sgn W + δᵀA; momentum: V ← μV + δᵀA − c(W|sgn W),
 *             W ← W + V) and b ← b + Σ_rows δ (δ's rows ldd apart: ldd > n_out, a block of rows of W) (momentum: vb ← μ vb + Σ δ, b ← b + vb), where δ
 *             already carries the step −η/m (the caller scales δᴸ once; BP2 passes it on); the
 *             bias step is fnn_bias_step's, with tmp its n_out values of scratch
 *   segs      the vectors of A's columns (rows[0..m)) that are nonzero in some row, as segments
 *             seg[2s] .. seg[2s+1] of columns; their count, or -1 (too many active to be worth it)
 *   seg, nseg (forward, update; a first layer whose W is finite, or NULL: the whole rows) leave
 *             out the vectors outside the segments, zero in every row: the same bits (mm_impl.h,
 *             "Zero input vectors"), fewer products on sparse input such as MNIST's
 *
 * W is the (n_out, n_in) row-major parameter block itself. No static state, no allocation.
 * One table of kernels per instruction set: generic (GCC/clang vector extensions, 16-byte vectors:
 * SSE2 or NEON), avx2 (AVX2 + FMA), avx512 (AVX-512F); fnn_mm_select picks one.
 */
#ifndef FASTNN_MM_H
#define FASTNN_MM_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

/* Rows to fetch towards L2 while a kernel computes (the next mini-batch's input rows, which the
 * first layer reads in place through the permutation): rows[0..m) of base, row_bytes each. */
typedef struct fnn_prefetch {
    const char *base;
    ptrdiff_t row_bytes;
    const ptrdiff_t *rows;
    ptrdiff_t m;
} fnn_prefetch;

/* A cursor that spreads pf's lines (its rows' 64-byte lines, in order) evenly over a kernel's
 * `steps` blocks: fnn_pf_step issues the next few. Prefetching into L2 (hint 2): a burst of them
 * would stall on the line fill buffers, and a row prefetched to L1 would be evicted before use. */
typedef struct fnn_pf_cursor {
    const fnn_prefetch *pf;
    ptrdiff_t row, line, lines, per_step;
} fnn_pf_cursor;

/* Lines per row: a row that does not start on a 64-byte line (a user's array, 16 bytes off one)
 * touches one line more than its bytes fill; without it, every row's last line was a miss. */
static inline ptrdiff_t fnn_pf_row_lines(const fnn_prefetch *pf) {
    return (pf->row_bytes + 63) / 64 + ((((uintptr_t)pf->base | (uintptr_t)pf->row_bytes) & 63) != 0);
}

/* an address in the q-th 64-byte line of pf's row i (q < fnn_pf_row_lines; the last line of a row
 * that starts off a line is reached through its last byte) */
static inline const char *fnn_pf_line(const fnn_prefetch *pf, ptrdiff_t i, ptrdiff_t q) {
    const ptrdiff_t off = 64 * q < pf->row_bytes ? 64 * q : pf->row_bytes - 1;
    return pf->base + pf->rows[i] * pf->row_bytes + off;
}

static inline fnn_pf_cursor fnn_pf_begin(const fnn_prefetch *pf, ptrdiff_t steps) {
    fnn_pf_cursor c = {pf, 0, 0, 0, 0};
    if (pf != NULL && pf->m > 0 && steps > 0) {
        c.lines = fnn_pf_row_lines(pf);
        c.per_step = (pf->m * c.lines + steps - 1) / steps;
    }
    return c;
}

static inline void fnn_pf_step(fnn_pf_cursor *c) {
#if defined(__GNUC__)
    for (ptrdiff_t q = 0; q < c->per_step && c->row < c->pf->m; q++) {
        __builtin_prefetch(fnn_pf_line(c->pf, c->row, c->line), 0, 2);
        if (++c->line >= c->lines) {
            c->line = 0;
            c->row++;
        }
    }
#else
    (void)c;
#endif
}

/* The first `lines` 64-byte lines of each of pf's rows, at once (a few per row: they start the
 * hardware's stream prefetch of the rest early). */
static inline void fnn_pf_heads(const fnn_prefetch *pf, int lines) {
#if defined(__GNUC__)
    for (ptrdiff_t i = 0; i < pf->m; i++)
        for (int q = 0; q < lines && 64 * q < pf->row_bytes; q++)
            __builtin_prefetch(fnn_pf_line(pf, i, q), 0, 2);
#else
    (void)pf;
    (void)lines;
#endif
}

/* Every 64-byte line of [p, p + bytes) towards L1, at once: what a team's thread reads right after a
 * barrier and another thread wrote just before it (the hidden layer's activations), so the lines
 * come over from the other core in parallel rather than one miss at a time as the kernel reaches
 * them. */
static inline void fnn_pf_block(const void *p, ptrdiff_t bytes) {
#if defined(__GNUC__)
    const char *c = (const char *)((uintptr_t)p & ~(uintptr_t)63);
    for (; c < (const char *)p + bytes; c += 64) __builtin_prefetch(c, 0, 3);
#else
    (void)p;
    (void)bytes;
#endif
}

#define FNN_MM_DECLARE_TYPES(REAL, SFX)                                                           \
    typedef void (*fnn_mm_forward##SFX##_t)(REAL *z, ptrdiff_t ldz, const REAL *a, ptrdiff_t lda, \
                                            const ptrdiff_t *rows, ptrdiff_t m, const REAL *w,    \
                                            const REAL *b, ptrdiff_t n_out, ptrdiff_t n_in,       \
                                            int act, REAL *drop, REAL *mask, const fnn_drop *dr,  \
                                            const fnn_prefetch *pf, const ptrdiff_t *seg,         \
                                            ptrdiff_t nseg);                                      \
    typedef void (*fnn_mm_backward##SFX##_t)(REAL *dp, const REAL *d, ptrdiff_t m, const REAL *w, \
                                             ptrdiff_t n_out, ptrdiff_t n_in, ptrdiff_t ld,       \
                                             const REAL *ap, const REAL *mask, int act);          \
    typedef void (*fnn_mm_update##SFX##_t)(REAL *w, REAL *b, REAL *vw, REAL *vb, const REAL *d,   \
                                           ptrdiff_t ldd, const REAL *a, ptrdiff_t lda,           \
                                           const ptrdiff_t *rows, ptrdiff_t m, ptrdiff_t n_out,   \
                                           ptrdiff_t n_in, REAL beta, REAL mu, REAL c, int reg,   \
                                           REAL *tmp, const fnn_prefetch *pf, const ptrdiff_t *seg, \
                                           ptrdiff_t nseg);                                       \
    typedef ptrdiff_t (*fnn_mm_segs##SFX##_t)(const REAL *a, ptrdiff_t lda, const ptrdiff_t *rows, \
                                              ptrdiff_t m, ptrdiff_t n, ptrdiff_t *seg);

FNN_MM_DECLARE_TYPES(double, _d)
FNN_MM_DECLARE_TYPES(float, _f)

/* segs: at most FNN_MM_MAXSEG segments (seg holds 2 FNN_MM_MAXSEG values), rows m <=
 * FNN_MM_SEG_ROWS, vectors per row <= FNN_MM_SEG_VECTORS; else -1 (the whole rows) */
#define FNN_MM_MAXSEG 96
#define FNN_MM_SEG_ROWS 128
#define FNN_MM_SEG_VECTORS 1024

typedef struct fnn_mm_table {
    const char *name;
    fnn_mm_forward_d_t forward_d;
    fnn_mm_forward_f_t forward_f;
    fnn_mm_backward_d_t backward_d;
    fnn_mm_backward_f_t backward_f;
    fnn_mm_update_d_t update_d;
    fnn_mm_update_f_t update_f;
    fnn_mm_segs_d_t segs_d;
    fnn_mm_segs_f_t segs_f;
    int row_block; /* rows of W (neurons) per register block of forward and update */
} fnn_mm_table;

/* Compiled kernel sets (GCC or clang only; x86-64 for avx2/avx512). */
#if defined(__GNUC__)
#define FNN_MM_HAVE_GENERIC 1
extern const fnn_mm_table fnn_mm_generic;
#else
#define FNN_MM_HAVE_GENERIC 0
#endif
#if defined(__GNUC__) && (defined(__x86_64__) || defined(_M_X64))
#define FNN_MM_HAVE_X86 1
extern const fnn_mm_table fnn_mm_avx2;
extern const fnn_mm_table fnn_mm_avx512;
#else
#define FNN_MM_HAVE_X86 0
#endif

/* The table for `name` ("generic" | "avx2" | "avx512"), or for the best path this CPU supports
 * when name is NULL or "". NULL when that path is not compiled in or the CPU cannot run it. */
const fnn_mm_table *fnn_mm_select(const char *name);

#endif
