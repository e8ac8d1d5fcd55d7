/* fastnn small-matrix kernels, avx2 path: mm_impl.h compiled with 32-byte vectors for avx2,fma;
 * the partial last vector of a row is an AVX2 masked move (vmaskmov).
 * x86-64 only; the target is enabled for this file's functions alone (the rest of the package
 * stays baseline), and the dispatcher only hands this table out when the CPU has it. */
#include <string.h>

#include "mm.h"

#if FNN_MM_HAVE_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
#include <immintrin.h>

/* lanes [0, n) of a 4 x 64-bit / 8 x 32-bit mask: all ones (the sign bit vmaskmov reads) */
#define MM_MASK4(n) _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3))
#define MM_MASK8(n) _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7))

#define ISA _avx2
#define VBYTES 32
#define MM_LANES_d 4
#define MM_LANES_f 8
#define MM_LOADN_d(p, n) ((VEC)_mm256_maskload_pd((p), MM_MASK4(n)))
#define MM_LOADN_f(p, n) ((VEC)_mm256_maskload_ps((p), MM_MASK8(n)))
#define MM_STOREN_d(p, v, n) _mm256_maskstore_pd((p), MM_MASK4(n), (__m256d)(v))
#define MM_STOREN_f(p, v, n) _mm256_maskstore_ps((p), MM_MASK8(n), (__m256)(v))

/* any bit of an integer vector set (the zero-vector test of mm_impl.h "active_segs") */
#define MM_ANY(v) (!_mm256_testz_si256((__m256i)(v), (__m256i)(v))) /* vptest */

#define NAME "avx2"
#include "mm_instantiate.h"
#include "mm_target_end.h"
#endif
