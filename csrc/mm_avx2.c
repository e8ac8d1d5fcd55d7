/* fastnn small-matrix kernels, avx2 path: mm_impl.h compiled with 32-byte vectors for avx2,fma.
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

#define ISA _avx2
#define VBYTES 32

#define REAL double
#define SFX _d
#define SINT int64_t
#include "mm_impl.h"
#undef REAL
#undef SFX
#undef SINT

#define REAL float
#define SFX _f
#define SINT int32_t
#include "mm_impl.h"
#undef REAL
#undef SFX
#undef SINT

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

const fnn_mm_table fnn_mm_avx2 = {"avx2",
                                    fnn_mm_forward_avx2_d, fnn_mm_forward_avx2_f,
                                    fnn_mm_backward_avx2_d, fnn_mm_backward_avx2_f,
                                    fnn_mm_update_avx2_d, fnn_mm_update_avx2_f};
#endif
