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
    void fnn_bias_step##SFX(REAL *b, REAL *vb, const REAL *d, ptrdiff_t m, ptrdiff_t n, REAL mu,     \
                            REAL *tmp);                                                              \
    void fnn_l1_shrink##SFX(REAL *w, ptrdiff_t count, REAL c);                                       \
    void fnn_momentum_step##SFX(REAL *w, REAL *v, ptrdiff_t count, REAL c, int reg);                 \
    void fnn_gather_rows##SFX(REAL *dst, const REAL *src, const ptrdiff_t *idx, ptrdiff_t m,         \
                              ptrdiff_t n);                                                          \
    void fnn_dropout##SFX(REAL *out, REAL *mask, const REAL *a, ptrdiff_t count, uint64_t *rng,      \
                          double p);                                                                 \
    void fnn_scale_rows##SFX(REAL *a, const REAL *w, const ptrdiff_t *idx, ptrdiff_t m, ptrdiff_t n);\
    void fnn_fill_mask##SFX(REAL *mask, ptrdiff_t count, uint64_t *rng, double p);               \
    int fnn_all_finite##SFX(const REAL *x, ptrdiff_t count);

FNN_DECLARE(double, _d)
FNN_DECLARE(float, _f)

/* xoshiro256** pseudo-random generator (dropout masks); state is 4 words, seeded by splitmix64. */
void fnn_rng_seed(uint64_t *state, uint64_t seed);

#endif
