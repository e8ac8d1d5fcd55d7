/* fastnn small-matrix kernels, avx512 path: mm_impl.h compiled with 64-byte vectors for
 * avx512f,avx512vl,avx512dq,avx2,fma; the partial last vector of a row is an AVX-512 masked move.
 * x86-64 only; the target is enabled for this file's functions alone (the rest of the package
 * stays baseline), and the dispatcher only hands this table out when the CPU has it. */
#include <string.h>

#include "mm.h"

#if FNN_MM_HAVE_X86
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512dq,avx2,fma")
#endif
#include <immintrin.h>

#define ISA _avx512
#define VBYTES 64
#define MM_LANES_d 8
#define MM_LANES_f 16
#define MM_LOADN_d(p, n) ((VEC)_mm512_maskz_loadu_pd((__mmask8)((1u << (n)) - 1u), (p)))
#define MM_LOADN_f(p, n) ((VEC)_mm512_maskz_loadu_ps((__mmask16)((1u << (n)) - 1u), (p)))
#define MM_STOREN_d(p, v, n) _mm512_mask_storeu_pd((p), (__mmask8)((1u << (n)) - 1u), (__m512d)(v))
#define MM_STOREN_f(p, v, n) _mm512_mask_storeu_ps((p), (__mmask16)((1u << (n)) - 1u), (__m512)(v))

/* any bit of an integer vector set (the zero-vector test of mm_impl.h "active_segs") */
#define MM_ANY(v) (_mm512_test_epi32_mask((__m512i)(v), (__m512i)(v)) != 0)

#define NAME "avx512"
#include "mm_instantiate.h"
#include "mm_target_end.h"
#endif
