/* fastnn small-matrix kernels, generic path: mm_impl.h compiled with 16-byte vectors.
 * Portable: no intrinsics, plain GCC/clang vector extensions (SSE2 on x86-64, NEON on arm64). */
#include <string.h>

#include "mm.h"

#if FNN_MM_HAVE_GENERIC

#define ISA _generic
#define VBYTES 16

#define NAME "generic"
#include "mm_instantiate.h"

#endif
