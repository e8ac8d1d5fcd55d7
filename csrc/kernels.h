/* fastnn elementwise kernels: plain C, no Python headers.
 *
 * Every kernel exists in a double (_d) and a float (_f) version, generated from kernels_impl.h.
 * Matrices are row-major and C-contiguous: m rows (examples) by n columns (neurons).
 * Labels are ptrdiff_t (numpy's intp).
 */
#ifndef FASTNN_KERNELS_H
#define FASTNN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* activations */
#define FNN_SIGMOID 0
#define FNN_TANH 1
#define FNN_RELU 2
#define FNN_LINEAR 3
#define FNN_SOFTMAX 4

/* costs */
#define FNN_QUADRATIC 0
#define FNN_CROSS_ENTROPY 1
#define FNN_LOG_LIKELIHOOD 2

/* regularization */
#define FNN_REG_NONE 0
#define FNN_REG_L2 1
#define FNN_REG_L1 2

/* Dropout decisions from a counter-based stream: the mask of (row, neuron) is a hash of
 * (key, row, neuron) alone, so it does not depend on which thread or in what order it is drawn.
 * key: one per epoch of a run (drawn from the run's xoshiro generator); row: the example's position
 * in the epoch's order; neuron: the neuron's index among all hidden neurons of the network. A
 * block of z whose element (i, j) is (row0 + i, col0 + j); p: the drop probability. */
typedef struct fnn_drop {
    uint64_t key;
    ptrdiff_t row0, col0;
    double p;
} fnn_drop;

static inline uint64_t fnn_mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
/* the hash of a row (computed once per row) */
static inline uint64_t fnn_drop_row(const fnn_drop *d, ptrdiff_t i) {
    return fnn_mix64(d->key + (uint64_t)(d->row0 + i) * 0x9e3779b97f4a7c15ULL);
}
/* a uniform in [0, 1) for (row hash h, neuron col0 + j), 53 bits */
static inline double fnn_drop_u(const fnn_drop *d, uint64_t h, ptrdiff_t j) {
    return (double)(fnn_mix64(h ^ ((uint64_t)(d->col0 + j) * 0xd1b54a32d192ed03ULL)) >> 11) * 0x1.0p-53;
}

#define FNN_DECLARE(REAL, SFX)                                                                       \
    void fnn_exp##SFX(REAL *out, const REAL *x, ptrdiff_t count);                                    \
    void fnn_activate##SFX(REAL *a, const REAL *b, ptrdiff_t m, ptrdiff_t n, int act);               \
    void fnn_backprop_act##SFX(REAL *d, const REAL *a, const REAL *mask, ptrdiff_t count, int act);  \
    double fnn_output_delta##SFX(REAL *a, const ptrdiff_t *labels, const REAL *targets, ptrdiff_t m, \
                                 ptrdiff_t n, int act, int cost, int want_loss);                     \
    double fnn_cost_z##SFX(const REAL *z, const ptrdiff_t *labels, const REAL *targets, ptrdiff_t m, \
                           ptrdiff_t n, int act, int cost);                                          \
    ptrdiff_t fnn_count_correct##SFX(const REAL *z, const ptrdiff_t *labels, const REAL *targets,    \
                                     ptrdiff_t m, ptrdiff_t n);                                      \
    void fnn_bias_step##SFX(REAL *b, REAL *vb, const REAL *d, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ld,\
                            REAL mu, REAL *tmp);                                                     \
    void fnn_l1_shrink##SFX(REAL *w, ptrdiff_t count, REAL c);                                       \
    void fnn_momentum_step##SFX(REAL *w, REAL *v, ptrdiff_t count, REAL c, int reg);                 \
    void fnn_gather_rows##SFX(REAL *dst, const REAL *src, const ptrdiff_t *idx, ptrdiff_t m,         \
                              ptrdiff_t n);                                                          \
    void fnn_dropout##SFX(REAL *out, REAL *mask, const REAL *a, ptrdiff_t m, ptrdiff_t n,            \
                          ptrdiff_t ld, const fnn_drop *drop);                                       \
    void fnn_scale_rows##SFX(REAL *a, const REAL *w, const ptrdiff_t *idx, ptrdiff_t m, ptrdiff_t n);\
    void fnn_fill_mask##SFX(REAL *mask, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ld, const fnn_drop *drop);\
    int fnn_all_finite##SFX(const REAL *x, ptrdiff_t count);                                         \
    ptrdiff_t fnn_active_runs##SFX(const REAL *x, ptrdiff_t ldx, const ptrdiff_t *rows, ptrdiff_t m, \
                                   ptrdiff_t n, REAL *acc, ptrdiff_t *runs, ptrdiff_t *active);      \
    void fnn_compact_cols##SFX(REAL *dst, ptrdiff_t ldd, const REAL *src, ptrdiff_t lds,            \
                               const ptrdiff_t *rows, ptrdiff_t m, const ptrdiff_t *runs,           \
                               ptrdiff_t nruns);                                                    \
    void fnn_expand_cols##SFX(REAL *dst, ptrdiff_t ldd, const REAL *src, ptrdiff_t lds, ptrdiff_t m, \
                              ptrdiff_t n, const ptrdiff_t *runs, ptrdiff_t nruns, REAL beta);

FNN_DECLARE(double, _d)
FNN_DECLARE(float, _f)

/* xoshiro256** pseudo-random generator (the dropout stream's per-epoch keys); state is 4 words,
 * seeded by splitmix64. fnn_rng_next: the next 64-bit output. */
void fnn_rng_seed(uint64_t *state, uint64_t seed);
uint64_t fnn_rng_next(uint64_t *state);

#endif
