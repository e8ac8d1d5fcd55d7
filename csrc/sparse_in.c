/* fastnn inference: the first layer's product skipping the input's zeros (see sparse_in.h). */
#include "sparse_in.h"

#include <string.h>

/* columns of x (rows of Wᵀ) per range: Wᵀ's rows of a range (64 x 416 bytes for 100 float outputs
 * or for one of the two passes over 100 double outputs) and the sums of a group stay in L1 while
 * the range serves every row of the group; a multiple of 8 */
#ifndef SP_RANGE
#define SP_RANGE 64
#endif

/* Compiled for AVX-512, AVX2+FMA and baseline x86-64, picked by the loader for the CPU (gcc
 * function multi-versioning, as in kernels.c); the 32-byte vectors below are one ymm register from
 * AVX2 up and two xmm registers on the baseline clone. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__) && \
    !defined(FASTNN_NO_CLONES)
#define FNN_SPARSE_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FNN_SPARSE_HOT
#endif

/* ---- the row lists with AVX2 (x86-64): a chunk of 8 values is compressed by a permutation from a
 * table (the kept lanes first), stored whole, and k advanced by the number kept: no branch per
 * value. The generic lists (sparse_in_impl.h) branch on each chunk and run ~3x slower. ---- */
#if defined(__x86_64__) && defined(__GNUC__)
#define SP_HAVE_AVX2 1
#include <immintrin.h>

/* the byte positions of the set bits of an 8-bit mask, lowest first (then zeros) */
static const uint64_t sp_keep8[256] = {
    0x0000000000000000ULL, 0x0000000000000000ULL, 0x0000000000000001ULL, 0x0000000000000100ULL,
    0x0000000000000002ULL, 0x0000000000000200ULL, 0x0000000000000201ULL, 0x0000000000020100ULL,
    0x0000000000000003ULL, 0x0000000000000300ULL, 0x0000000000000301ULL, 0x0000000000030100ULL,
    0x0000000000000302ULL, 0x0000000000030200ULL, 0x0000000000030201ULL, 0x0000000003020100ULL,
    0x0000000000000004ULL, 0x0000000000000400ULL, 0x0000000000000401ULL, 0x0000000000040100ULL,
    0x0000000000000402ULL, 0x0000000000040200ULL, 0x0000000000040201ULL, 0x0000000004020100ULL,
    0x0000000000000403ULL, 0x0000000000040300ULL, 0x0000000000040301ULL, 0x0000000004030100ULL,
    0x0000000000040302ULL, 0x0000000004030200ULL, 0x0000000004030201ULL, 0x0000000403020100ULL,
    0x0000000000000005ULL, 0x0000000000000500ULL, 0x0000000000000501ULL, 0x0000000000050100ULL,
    0x0000000000000502ULL, 0x0000000000050200ULL, 0x0000000000050201ULL, 0x0000000005020100ULL,
    0x0000000000000503ULL, 0x0000000000050300ULL, 0x0000000000050301ULL, 0x0000000005030100ULL,
    0x0000000000050302ULL, 0x0000000005030200ULL, 0x0000000005030201ULL, 0x0000000503020100ULL,
    0x0000000000000504ULL, 0x0000000000050400ULL, 0x0000000000050401ULL, 0x0000000005040100ULL,
    0x0000000000050402ULL, 0x0000000005040200ULL, 0x0000000005040201ULL, 0x0000000504020100ULL,
    0x0000000000050403ULL, 0x0000000005040300ULL, 0x0000000005040301ULL, 0x0000000504030100ULL,
    0x0000000005040302ULL, 0x0000000504030200ULL, 0x0000000504030201ULL, 0x0000050403020100ULL,
    0x0000000000000006ULL, 0x0000000000000600ULL, 0x0000000000000601ULL, 0x0000000000060100ULL,
    0x0000000000000602ULL, 0x0000000000060200ULL, 0x0000000000060201ULL, 0x0000000006020100ULL,
    0x0000000000000603ULL, 0x0000000000060300ULL, 0x0000000000060301ULL, 0x0000000006030100ULL,
    0x0000000000060302ULL, 0x0000000006030200ULL, 0x0000000006030201ULL, 0x0000000603020100ULL,
    0x0000000000000604ULL, 0x0000000000060400ULL, 0x0000000000060401ULL, 0x0000000006040100ULL,
    0x0000000000060402ULL, 0x0000000006040200ULL, 0x0000000006040201ULL, 0x0000000604020100ULL,
    0x0000000000060403ULL, 0x0000000006040300ULL, 0x0000000006040301ULL, 0x0000000604030100ULL,
    0x0000000006040302ULL, 0x0000000604030200ULL, 0x0000000604030201ULL, 0x0000060403020100ULL,
    0x0000000000000605ULL, 0x0000000000060500ULL, 0x0000000000060501ULL, 0x0000000006050100ULL,
    0x0000000000060502ULL, 0x0000000006050200ULL, 0x0000000006050201ULL, 0x0000000605020100ULL,
    0x0000000000060503ULL, 0x0000000006050300ULL, 0x0000000006050301ULL, 0x0000000605030100ULL,
    0x0000000006050302ULL, 0x0000000605030200ULL, 0x0000000605030201ULL, 0x0000060503020100ULL,
    0x0000000000060504ULL, 0x0000000006050400ULL, 0x0000000006050401ULL, 0x0000000605040100ULL,
    0x0000000006050402ULL, 0x0000000605040200ULL, 0x0000000605040201ULL, 0x0000060504020100ULL,
    0x0000000006050403ULL, 0x0000000605040300ULL, 0x0000000605040301ULL, 0x0000060504030100ULL,
    0x0000000605040302ULL, 0x0000060504030200ULL, 0x0000060504030201ULL, 0x0006050403020100ULL,
    0x0000000000000007ULL, 0x0000000000000700ULL, 0x0000000000000701ULL, 0x0000000000070100ULL,
    0x0000000000000702ULL, 0x0000000000070200ULL, 0x0000000000070201ULL, 0x0000000007020100ULL,
    0x0000000000000703ULL, 0x0000000000070300ULL, 0x0000000000070301ULL, 0x0000000007030100ULL,
    0x0000000000070302ULL, 0x0000000007030200ULL, 0x0000000007030201ULL, 0x0000000703020100ULL,
    0x0000000000000704ULL, 0x0000000000070400ULL, 0x0000000000070401ULL, 0x0000000007040100ULL,
    0x0000000000070402ULL, 0x0000000007040200ULL, 0x0000000007040201ULL, 0x0000000704020100ULL,
    0x0000000000070403ULL, 0x0000000007040300ULL, 0x0000000007040301ULL, 0x0000000704030100ULL,
    0x0000000007040302ULL, 0x0000000704030200ULL, 0x0000000704030201ULL, 0x0000070403020100ULL,
    0x0000000000000705ULL, 0x0000000000070500ULL, 0x0000000000070501ULL, 0x0000000007050100ULL,
    0x0000000000070502ULL, 0x0000000007050200ULL, 0x0000000007050201ULL, 0x0000000705020100ULL,
    0x0000000000070503ULL, 0x0000000007050300ULL, 0x0000000007050301ULL, 0x0000000705030100ULL,
    0x0000000007050302ULL, 0x0000000705030200ULL, 0x0000000705030201ULL, 0x0000070503020100ULL,
    0x0000000000070504ULL, 0x0000000007050400ULL, 0x0000000007050401ULL, 0x0000000705040100ULL,
    0x0000000007050402ULL, 0x0000000705040200ULL, 0x0000000705040201ULL, 0x0000070504020100ULL,
    0x0000000007050403ULL, 0x0000000705040300ULL, 0x0000000705040301ULL, 0x0000070504030100ULL,
    0x0000000705040302ULL, 0x0000070504030200ULL, 0x0000070504030201ULL, 0x0007050403020100ULL,
    0x0000000000000706ULL, 0x0000000000070600ULL, 0x0000000000070601ULL, 0x0000000007060100ULL,
    0x0000000000070602ULL, 0x0000000007060200ULL, 0x0000000007060201ULL, 0x0000000706020100ULL,
    0x0000000000070603ULL, 0x0000000007060300ULL, 0x0000000007060301ULL, 0x0000000706030100ULL,
    0x0000000007060302ULL, 0x0000000706030200ULL, 0x0000000706030201ULL, 0x0000070603020100ULL,
    0x0000000000070604ULL, 0x0000000007060400ULL, 0x0000000007060401ULL, 0x0000000706040100ULL,
    0x0000000007060402ULL, 0x0000000706040200ULL, 0x0000000706040201ULL, 0x0000070604020100ULL,
    0x0000000007060403ULL, 0x0000000706040300ULL, 0x0000000706040301ULL, 0x0000070604030100ULL,
    0x0000000706040302ULL, 0x0000070604030200ULL, 0x0000070604030201ULL, 0x0007060403020100ULL,
    0x0000000000070605ULL, 0x0000000007060500ULL, 0x0000000007060501ULL, 0x0000000706050100ULL,
    0x0000000007060502ULL, 0x0000000706050200ULL, 0x0000000706050201ULL, 0x0000070605020100ULL,
    0x0000000007060503ULL, 0x0000000706050300ULL, 0x0000000706050301ULL, 0x0000070605030100ULL,
    0x0000000706050302ULL, 0x0000070605030200ULL, 0x0000070605030201ULL, 0x0007060503020100ULL,
    0x0000000007060504ULL, 0x0000000706050400ULL, 0x0000000706050401ULL, 0x0000070605040100ULL,
    0x0000000706050402ULL, 0x0000070605040200ULL, 0x0000070605040201ULL, 0x0007060504020100ULL,
    0x0000000706050403ULL, 0x0000070605040300ULL, 0x0000070605040301ULL, 0x0007060504030100ULL,
    0x0000070605040302ULL, 0x0007060504030200ULL, 0x0007060504030201ULL, 0x0706050403020100ULL,
};
/* the same for a 4-bit mask of 64-bit lanes, as pairs of 32-bit lane numbers */
static const uint64_t sp_keep4d[16] = {
    0x0100010001000100ULL, 0x0100010001000100ULL, 0x0100010001000302ULL, 0x0100010003020100ULL,
    0x0100010001000504ULL, 0x0100010005040100ULL, 0x0100010005040302ULL, 0x0100050403020100ULL,
    0x0100010001000706ULL, 0x0100010007060100ULL, 0x0100010007060302ULL, 0x0100070603020100ULL,
    0x0100010007060504ULL, 0x0100070605040100ULL, 0x0100070605040302ULL, 0x0706050403020100ULL,
};

static int sp_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
}

#define SP_SPAN_CHECK(n) ((n) % 8 == 0 && SP_RANGE % 8 == 0)

__attribute__((target("avx2,popcnt"))) static ptrdiff_t sp_lists_avx2_f(
    float *restrict val, int32_t *restrict col, ptrdiff_t *restrict starts, const float *restrict x,
    ptrdiff_t g, ptrdiff_t n, ptrdiff_t r1) {
    const __m256 zero = _mm256_setzero_ps();
    const __m256i exp_mask = _mm256_set1_epi32(0x7F800000);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    ptrdiff_t k = 0;
    for (ptrdiff_t i = 0; i < g; i++) {
        const float *restrict row = x + i * n;
        ptrdiff_t *restrict st = starts + i * r1;
        __m256i bad = _mm256_setzero_si256();
        for (ptrdiff_t j = 0; j < n; j += 8) {
            if (j % SP_RANGE == 0) st[j / SP_RANGE] = k;
            const __m256 v = _mm256_loadu_ps(row + j);
            const unsigned mask = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(v, zero, _CMP_NEQ_UQ));
            const __m256i bits = _mm256_and_si256(_mm256_castps_si256(v), exp_mask);
            bad = _mm256_or_si256(bad, _mm256_cmpeq_epi32(bits, exp_mask));
            const __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sp_keep8[mask]));
            _mm256_storeu_ps(val + k, _mm256_permutevar8x32_ps(v, perm));
            _mm256_storeu_si256((__m256i *)(col + k),
                                _mm256_add_epi32(_mm256_permutevar8x32_epi32(iota, perm),
                                                 _mm256_set1_epi32((int)j)));
            k += _mm_popcnt_u32(mask);
        }
        st[r1 - 1] = k;
        if (!_mm256_testz_si256(bad, bad)) return -1 - i;
    }
    return k;
}

__attribute__((target("avx2,popcnt"))) static ptrdiff_t sp_lists_avx2_d(
    double *restrict val, int32_t *restrict col, ptrdiff_t *restrict starts,
    const double *restrict x, ptrdiff_t g, ptrdiff_t n, ptrdiff_t r1) {
    const __m256d zero = _mm256_setzero_pd();
    const __m256i exp_mask = _mm256_set1_epi64x(0x7FF0000000000000LL);
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    ptrdiff_t k = 0;
    for (ptrdiff_t i = 0; i < g; i++) {
        const double *restrict row = x + i * n;
        ptrdiff_t *restrict st = starts + i * r1;
        __m256i bad = _mm256_setzero_si256();
        for (ptrdiff_t j = 0; j < n; j += 8) {
            if (j % SP_RANGE == 0) st[j / SP_RANGE] = k;
            const __m256d v0 = _mm256_loadu_pd(row + j), v1 = _mm256_loadu_pd(row + j + 4);
            const unsigned m0 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(v0, zero, _CMP_NEQ_UQ));
            const unsigned m1 = (unsigned)_mm256_movemask_pd(_mm256_cmp_pd(v1, zero, _CMP_NEQ_UQ));
            const __m256i b0 = _mm256_and_si256(_mm256_castpd_si256(v0), exp_mask);
            const __m256i b1 = _mm256_and_si256(_mm256_castpd_si256(v1), exp_mask);
            bad = _mm256_or_si256(bad, _mm256_or_si256(_mm256_cmpeq_epi64(b0, exp_mask),
                                                       _mm256_cmpeq_epi64(b1, exp_mask)));
            const __m256i p0 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sp_keep4d[m0]));
            const __m256i p1 = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sp_keep4d[m1]));
            const unsigned c0 = (unsigned)_mm_popcnt_u32(m0);
            _mm256_storeu_pd(val + k, _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v0), p0)));
            _mm256_storeu_pd(val + k + c0,
                             _mm256_castps_pd(_mm256_permutevar8x32_ps(_mm256_castpd_ps(v1), p1)));
            const __m256i perm =
                _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)sp_keep8[m0 | m1 << 4]));
            _mm256_storeu_si256((__m256i *)(col + k),
                                _mm256_add_epi32(_mm256_permutevar8x32_epi32(iota, perm),
                                                 _mm256_set1_epi32((int)j)));
            k += c0 + (unsigned)_mm_popcnt_u32(m1);
        }
        st[r1 - 1] = k;
        if (!_mm256_testz_si256(bad, bad)) return -1 - i;
    }
    return k;
}
#else
#define SP_HAVE_AVX2 0
#endif

#define REAL double
#define SFX _d
#define UINT uint64_t
#define EXP_MASK 0x7FF0000000000000ULL
#define SP_BCAST(v) {(v), (v), (v), (v)}
#include "sparse_in_impl.h"
#undef REAL
#undef SFX
#undef UINT
#undef EXP_MASK
#undef SP_BCAST

#define REAL float
#define SFX _f
#define UINT uint32_t
#define EXP_MASK 0x7F800000U
#define SP_BCAST(v) {(v), (v), (v), (v), (v), (v), (v), (v)}
#include "sparse_in_impl.h"
#undef REAL
#undef SFX
#undef UINT
#undef EXP_MASK
#undef SP_BCAST
