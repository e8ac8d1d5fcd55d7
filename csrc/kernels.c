/* fastnn elementwise kernels (see kernels.h). Compiled with -O3; gcc vectorizes the loops. */
#include "kernels.h"

#include <math.h>
#include <string.h>

/* The hot kernels are compiled for AVX-512, AVX2+FMA and baseline x86-64; the loader picks the
 * best one for the CPU at run time (gcc function multi-versioning), so the wheel stays portable. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(FASTNN_NO_CLONES)
#define FNN_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FNN_HOT
#endif

/* ---- random numbers: splitmix64 seeding, xoshiro256** (Blackman & Vigna, public domain) ---- */
static inline uint64_t rotl(const uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

void fnn_rng_seed(uint64_t *s, uint64_t seed) {
    for (int i = 0; i < 4; i++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s[i] = z ^ (z >> 31);
    }
}

/* one xoshiro256** step on a state held in locals (the mask loop keeps it in registers) */
static inline uint64_t rng_step(uint64_t *s0, uint64_t *s1, uint64_t *s2, uint64_t *s3) {
    const uint64_t result = rotl(*s1 * 5, 7) * 9;
    const uint64_t t = *s1 << 17;
    *s2 ^= *s0;
    *s3 ^= *s1;
    *s1 ^= *s2;
    *s0 ^= *s3;
    *s2 ^= t;
    *s3 = rotl(*s3, 45);
    return result;
}

uint64_t fnn_rng_next(uint64_t *s) { return rng_step(&s[0], &s[1], &s[2], &s[3]); }

/* ---- double ---- */
#define REAL double
#define SFX _d
#define UINT uint64_t
#define SINT int64_t
#define EXP_LO (-708.0)
#define EXP_HI 709.0
#define SHIFTER 6755399441055744.0 /* 1.5 * 2^52 */
#define SHIFTER_BITS 0x4338000000000000ULL
#define LN2_HI 6.93147180369123816490e-01
#define LN2_LO 1.90821492927058770002e-10
#define EXP_BIAS 1023
#define MANT_BITS 52
#define EXP_MASK 0x7FF0000000000000ULL
#define SIGN_BIT 0x8000000000000000ULL
#define TINY 1e-300
#define EPS 1.1102230246251565e-16
/* Taylor polynomial of e^r to degree 13: error < 1e-17 on |r| <= ln2/2 */
#define EXP_POLY(r) (1.0 / 1.0 + (r) * (1.0 / 1.0 + (r) * (1.0 / 2.0 + (r) * (1.0 / 6.0 + (r) * (1.0 / 24.0 + (r) * (1.0 / 120.0 + (r) * (1.0 / 720.0 + (r) * (1.0 / 5040.0 + (r) * (1.0 / 40320.0 + (r) * (1.0 / 362880.0 + (r) * (1.0 / 3628800.0 + (r) * (1.0 / 39916800.0 + (r) * (1.0 / 479001600.0 + (r) * 1.0 / 6227020800.0)))))))))))))
/* tanh(x) = x + x^3 P(x^2)/Q(x^2) on |x| < 0.625 (Cephes tanh.c, relative error ~2.5e-16) */
#define TANH_NUM(z) ((-9.64399179425052238628e-1 * (z) - 9.92877231001918586564e1) * (z) - 1.61468768441708447952e3)
#define TANH_DEN(z) ((((z) + 1.12811678491632931402e2) * (z) + 2.23548839060100448583e3) * (z) + 4.84406305325125486048e3)
#include "kernels_impl.h"
#undef REAL
#undef SFX
#undef UINT
#undef SINT
#undef EXP_LO
#undef EXP_HI
#undef SHIFTER
#undef SHIFTER_BITS
#undef LN2_HI
#undef LN2_LO
#undef EXP_BIAS
#undef MANT_BITS
#undef EXP_MASK
#undef SIGN_BIT
#undef TINY
#undef EPS
#undef EXP_POLY
#undef TANH_NUM
#undef TANH_DEN

/* ---- float ---- */
#define REAL float
#define SFX _f
#define UINT uint32_t
#define SINT int32_t
#define EXP_LO (-87.3f)
#define EXP_HI 88.0f
#define SHIFTER 12582912.0f /* 1.5 * 2^23 */
#define SHIFTER_BITS 0x4B400000U
#define LN2_HI 0.693359375f
#define LN2_LO (-2.12194440e-4f)
#define EXP_BIAS 127
#define MANT_BITS 23
#define EXP_MASK 0x7F800000U
#define SIGN_BIT 0x80000000U
#define TINY 1e-37f
#define EPS 5.9604645e-08f
/* Taylor polynomial of e^r to degree 7: error < 6e-9 on |r| <= ln2/2 */
#define EXP_POLY(r) (1.0f / 1.0f + (r) * (1.0f / 1.0f + (r) * (1.0f / 2.0f + (r) * (1.0f / 6.0f + (r) * (1.0f / 24.0f + (r) * (1.0f / 120.0f + (r) * (1.0f / 720.0f + (r) * 1.0f / 5040.0f)))))))
/* tanhf(x) = x + x^3 P(x^2) on |x| < 0.625 (Cephes tanhf.c, relative error ~1e-7) */
#define TANH_NUM(z) ((((-5.70498872745e-3f * (z) + 2.06390887954e-2f) * (z) - 5.37397155531e-2f) * (z) + 1.33314422036e-1f) * (z) - 3.33332819422e-1f)
#define TANH_DEN(z) 1.0f
#include "kernels_impl.h"
