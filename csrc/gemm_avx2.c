/* fastnn's packed matrix product (gemm.h), AVX2 + FMA: gemm_impl.h compiled for doubles (8 × 6
 * tiles) and floats (16 × 6 tiles). x86-64 only; the target is enabled for this file's functions
 * alone, and fnn_gemm_available() tells the callers whether the CPU runs them. */
#include <stdint.h>
#include <string.h>

#include "gemm.h"
#include "mm.h"

#if FNN_MM_HAVE_X86

int fnn_gemm_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

/* ---- doubles: 4 lanes, 8 × 6 tiles ---- */
#define REAL double
#define SFX _d
#define VEC __m256d
#define VL 4
#define VZERO() _mm256_setzero_pd()
#define VSET1(x) _mm256_set1_pd(x)
#define VLOAD(p) _mm256_load_pd(p)
#define VLOADU(p) _mm256_loadu_pd(p)
#define VSTORE(p, v) _mm256_store_pd((p), (v))
#define VSTOREU(p, v) _mm256_storeu_pd((p), (v))
#define VMUL(a, b) _mm256_mul_pd((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_pd((a), (b), (c))
#define GEMM_MC 72
#define GEMM_KC 256
#define GEMM_KC_DEEP 784
#define GEMM_NC 1032

/* rows src, src + ld, ... (4 of 4 values) -> columns: dst[q * ldd + r] = src[r * ld + q] */
static inline void transpose_store_d(const double *src, ptrdiff_t ld, double *dst, ptrdiff_t ldd) {
    const __m256d r0 = _mm256_loadu_pd(src), r1 = _mm256_loadu_pd(src + ld),
                  r2 = _mm256_loadu_pd(src + 2 * ld), r3 = _mm256_loadu_pd(src + 3 * ld);
    const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
                  t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
    _mm256_store_pd(dst, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_store_pd(dst + ldd, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_store_pd(dst + 2 * ldd, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_store_pd(dst + 3 * ldd, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#define TRANSPOSE_STORE transpose_store_d

/* bp[k * 6 + j] = src[j][k] for k < kc, j < 6 (a B panel of 6 columns, each contiguous in k):
 * 4 × 4 transposes; returns Σ (x − x) over the values when check is set (NaN iff one is NaN or
 * ±inf), else 0. */
static inline double pack_b6_d(const double *const *src, ptrdiff_t kc, double *restrict bp, int check,
                               const double *const *next) {
    __m256d pr = _mm256_setzero_pd();
    ptrdiff_t k = 0;
    for (; k + 4 <= kc; k += 4) {
        if (next != NULL && (k & 7) == 0) /* the next panel's rows, a line each per line here */
            for (int j = 0; j < 6; j++) __builtin_prefetch(next[j] + k, 0, 3);
        const __m256d r0 = _mm256_loadu_pd(src[0] + k), r1 = _mm256_loadu_pd(src[1] + k),
                      r2 = _mm256_loadu_pd(src[2] + k), r3 = _mm256_loadu_pd(src[3] + k),
                      r4 = _mm256_loadu_pd(src[4] + k), r5 = _mm256_loadu_pd(src[5] + k);
        if (check)
            pr = _mm256_add_pd(pr, _mm256_add_pd(_mm256_add_pd(_mm256_sub_pd(r0, r0), _mm256_sub_pd(r1, r1)),
                                                 _mm256_add_pd(_mm256_add_pd(_mm256_sub_pd(r2, r2), _mm256_sub_pd(r3, r3)),
                                                               _mm256_add_pd(_mm256_sub_pd(r4, r4), _mm256_sub_pd(r5, r5)))));
        const __m256d t0 = _mm256_unpacklo_pd(r0, r1), t1 = _mm256_unpackhi_pd(r0, r1),
                      t2 = _mm256_unpacklo_pd(r2, r3), t3 = _mm256_unpackhi_pd(r2, r3);
        const __m256d u0 = _mm256_unpacklo_pd(r4, r5), u1 = _mm256_unpackhi_pd(r4, r5); /* k, k+1 | k+2, k+3 */
        double *d = bp + k * 6;
        _mm256_storeu_pd(d + 0, _mm256_permute2f128_pd(t0, t2, 0x20));
        _mm_storeu_pd(d + 4, _mm256_castpd256_pd128(u0));
        _mm256_storeu_pd(d + 6, _mm256_permute2f128_pd(t1, t3, 0x20));
        _mm_storeu_pd(d + 10, _mm256_castpd256_pd128(u1));
        _mm256_storeu_pd(d + 12, _mm256_permute2f128_pd(t0, t2, 0x31));
        _mm_storeu_pd(d + 16, _mm256_extractf128_pd(u0, 1));
        _mm256_storeu_pd(d + 18, _mm256_permute2f128_pd(t1, t3, 0x31));
        _mm_storeu_pd(d + 22, _mm256_extractf128_pd(u1, 1));
    }
    double probe = 0;
    for (; k < kc; k++)
        for (int j = 0; j < 6; j++) {
            const double x = src[j][k];
            bp[k * 6 + j] = x;
            probe += x - x;
        }
    if (check) {
        double v[4];
        _mm256_storeu_pd(v, pr);
        probe += (v[0] + v[1]) + (v[2] + v[3]);
    }
    return probe;
}
#define PACK_B6 pack_b6_d

#include "gemm_impl.h"

#undef REAL
#undef SFX
#undef VEC
#undef VL
#undef VZERO
#undef VSET1
#undef VLOAD
#undef VLOADU
#undef VSTORE
#undef VSTOREU
#undef VMUL
#undef VFMA
#undef GEMM_MC
#undef GEMM_KC
#undef GEMM_KC_DEEP
#undef GEMM_NC
#undef TRANSPOSE_STORE
#undef PACK_B6

/* ---- floats: 8 lanes, 16 × 6 tiles ---- */
#define REAL float
#define SFX _f
#define VEC __m256
#define VL 8
#define VZERO() _mm256_setzero_ps()
#define VSET1(x) _mm256_set1_ps(x)
#define VLOAD(p) _mm256_load_ps(p)
#define VLOADU(p) _mm256_loadu_ps(p)
#define VSTORE(p, v) _mm256_store_ps((p), (v))
#define VSTOREU(p, v) _mm256_storeu_ps((p), (v))
#define VMUL(a, b) _mm256_mul_ps((a), (b))
#define VFMA(a, b, c) _mm256_fmadd_ps((a), (b), (c))
#ifndef GEMM_MC_F
#define GEMM_MC_F 144
#endif
#ifndef GEMM_KC_F
#define GEMM_KC_F 256
#endif
#define GEMM_MC GEMM_MC_F
#define GEMM_KC GEMM_KC_F
#define GEMM_KC_DEEP 784
#define GEMM_NC 1032

/* rows src, src + ld, ... (8 of 8 values) -> columns: dst[q * ldd + r] = src[r * ld + q] */
static inline void transpose_store_f(const float *src, ptrdiff_t ld, float *dst, ptrdiff_t ldd) {
    const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld),
                 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld),
                 r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld),
                 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
    const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
                 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
                 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_store_ps(dst + 0 * ldd, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_store_ps(dst + 1 * ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_store_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_store_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_store_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_store_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_store_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_store_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}
#define TRANSPOSE_STORE transpose_store_f

/* pack_b6_d for floats: 8 × 8 transposes of the 6 rows and 2 copies of the last, each result (6
 * values and 2 spare) stored 6 values apart in increasing k, so the spare lanes are overwritten
 * by the next store — except the last one's, which land on the first two values of the next
 * panel (packed after this one) or on the slack at the end of the work buffer. */
static inline float pack_b6_f(const float *const *src, ptrdiff_t kc, float *restrict bp, int check,
                              const float *const *next) {
    __m256 pr = _mm256_setzero_ps();
    ptrdiff_t k = 0;
    for (; k + 8 <= kc; k += 8) {
        if (next != NULL && (k & 15) == 0) /* the next panel's rows, a line each per line here */
            for (int j = 0; j < 6; j++) __builtin_prefetch(next[j] + k, 0, 3);
        const __m256 r0 = _mm256_loadu_ps(src[0] + k), r1 = _mm256_loadu_ps(src[1] + k),
                     r2 = _mm256_loadu_ps(src[2] + k), r3 = _mm256_loadu_ps(src[3] + k),
                     r4 = _mm256_loadu_ps(src[4] + k), r5 = _mm256_loadu_ps(src[5] + k);
        if (check)
            pr = _mm256_add_ps(pr, _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(r0, r0), _mm256_sub_ps(r1, r1)),
                                                 _mm256_add_ps(_mm256_add_ps(_mm256_sub_ps(r2, r2), _mm256_sub_ps(r3, r3)),
                                                               _mm256_add_ps(_mm256_sub_ps(r4, r4), _mm256_sub_ps(r5, r5)))));
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1),
                     t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3),
                     t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
                     s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
                     s4 = _mm256_shuffle_ps(t4, t4, 0x44), s5 = _mm256_shuffle_ps(t4, t4, 0xEE),
                     s6 = _mm256_shuffle_ps(t5, t5, 0x44), s7 = _mm256_shuffle_ps(t5, t5, 0xEE);
        float *d = bp + k * 6;
        _mm256_storeu_ps(d + 0 * 6, _mm256_permute2f128_ps(s0, s4, 0x20));
        _mm256_storeu_ps(d + 1 * 6, _mm256_permute2f128_ps(s1, s5, 0x20));
        _mm256_storeu_ps(d + 2 * 6, _mm256_permute2f128_ps(s2, s6, 0x20));
        _mm256_storeu_ps(d + 3 * 6, _mm256_permute2f128_ps(s3, s7, 0x20));
        _mm256_storeu_ps(d + 4 * 6, _mm256_permute2f128_ps(s0, s4, 0x31));
        _mm256_storeu_ps(d + 5 * 6, _mm256_permute2f128_ps(s1, s5, 0x31));
        _mm256_storeu_ps(d + 6 * 6, _mm256_permute2f128_ps(s2, s6, 0x31));
        _mm256_storeu_ps(d + 7 * 6, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
    float probe = 0;
    for (; k < kc; k++)
        for (int j = 0; j < 6; j++) {
            const float x = src[j][k];
            bp[k * 6 + j] = x;
            probe += x - x;
        }
    if (check) {
        float v[8];
        _mm256_storeu_ps(v, pr);
        probe += ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
    }
    return probe;
}
#define PACK_B6 pack_b6_f

#include "gemm_impl.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#else /* not x86-64 with GCC/clang: no kernels; the callers use the vendor BLAS */

int fnn_gemm_available(void) { return 0; }
ptrdiff_t fnn_gemm_work_d(void) { return 0; }
ptrdiff_t fnn_gemm_work_f(void) { return 0; }
ptrdiff_t fnn_gemm_work_deep_d(void) { return 0; }
ptrdiff_t fnn_gemm_work_deep_f(void) { return 0; }
void fnn_gemm_d(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A, ptrdiff_t lda,
                const ptrdiff_t *acols, const double *B, ptrdiff_t ldb, const ptrdiff_t *bcols, double beta,
                double *C, ptrdiff_t ldc, double *work, const fnn_prefetch *pf,
                int *b_nonfinite) {
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb;
    (void)acols, (void)bcols, (void)pf, (void)b_nonfinite;
    (void)beta, (void)C, (void)ldc, (void)work;
}
void fnn_gemm_f(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                const ptrdiff_t *acols, const float *B, ptrdiff_t ldb, const ptrdiff_t *bcols, float beta,
                float *C, ptrdiff_t ldc, float *work, const fnn_prefetch *pf,
                int *b_nonfinite) {
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb;
    (void)acols, (void)bcols, (void)pf, (void)b_nonfinite;
    (void)beta, (void)C, (void)ldc, (void)work;
}
/* (no deep blocks without the kernels: the same as fnn_gemm, never called) */
void fnn_gemm_deep_d(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const double *A, ptrdiff_t lda,
                     const ptrdiff_t *acols, const double *B, ptrdiff_t ldb, const ptrdiff_t *bcols,
                     double beta, double *C, ptrdiff_t ldc, double *work, const fnn_prefetch *pf,
                     int *b_nonfinite) {
    fnn_gemm_d(ta, tb, M, N, K, A, lda, acols, B, ldb, bcols, beta, C, ldc, work, pf, b_nonfinite);
}
void fnn_gemm_deep_f(int ta, int tb, ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *A, ptrdiff_t lda,
                     const ptrdiff_t *acols, const float *B, ptrdiff_t ldb, const ptrdiff_t *bcols,
                     float beta, float *C, ptrdiff_t ldc, float *work, const fnn_prefetch *pf,
                     int *b_nonfinite) {
    fnn_gemm_f(ta, tb, M, N, K, A, lda, acols, B, ldb, bcols, beta, C, ldc, work, pf, b_nonfinite);
}
/* (the panels: never used without the kernels; defined so that the module links) */
#define FNN_PANELS_STUBS(REAL, SFX)                                                                   \
    ptrdiff_t fnn_panels_rows##SFX(void) { return 1; }                                              \
    ptrdiff_t fnn_panels_size##SFX(ptrdiff_t n_out, ptrdiff_t n_in) { return n_out * n_in; }        \
    void fnn_panels_pack##SFX(REAL *wp, const REAL *w, ptrdiff_t n_out, ptrdiff_t n_in) {           \
        (void)wp, (void)w, (void)n_out, (void)n_in;                                                 \
    }                                                                                               \
    void fnn_panels_unpack##SFX(REAL *w, const REAL *wp, ptrdiff_t n_out, ptrdiff_t n_in) {         \
        (void)wp, (void)w, (void)n_out, (void)n_in;                                                 \
    }                                                                                               \
    void fnn_gemm_panels_forward##SFX(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const REAL *wp,  \
                                      const REAL *x, ptrdiff_t ldx, const ptrdiff_t *rows, REAL *z,  \
                                      ptrdiff_t ldz, REAL *work, const fnn_prefetch *pf) {           \
        (void)m, (void)n_out, (void)n_in, (void)wp, (void)x, (void)ldx, (void)rows, (void)z;        \
        (void)ldz, (void)work, (void)pf;                                                            \
    }                                                                                               \
    void fnn_gemm_panels_update##SFX(ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, const REAL *d,    \
                                     ptrdiff_t ldd, const REAL *x, ptrdiff_t ldx,                   \
                                     const ptrdiff_t *rows, REAL beta, REAL *wp, REAL *work,         \
                                     const fnn_prefetch *pf) {                                       \
        (void)m, (void)n_out, (void)n_in, (void)d, (void)ldd, (void)x, (void)ldx, (void)rows;       \
        (void)beta, (void)wp, (void)work, (void)pf;                                                 \
    }
FNN_PANELS_STUBS(double, _d)
FNN_PANELS_STUBS(float, _f)

#endif
