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

#define NAME "avx2"
#include "mm_instantiate.h"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#endif
