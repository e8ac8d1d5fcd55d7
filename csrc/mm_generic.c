/* fastnn small-matrix kernels, generic path: mm_impl.h compiled with 16-byte vectors.
 * Portable: no intrinsics, plain GCC/clang vector extensions (SSE2 on x86-64, NEON on arm64); the
 * partial last vector of a row goes through a small zeroed buffer. */
#include <string.h>

#include "mm.h"

#if FNN_MM_HAVE_GENERIC

#define ISA _generic
#define VBYTES 16
#define MM_LANES_d 2
#define MM_LANES_f 4
#define MM_LOADN_d(p, n) MF(ldn_buf)((p), (n))
#define MM_LOADN_f(p, n) MF(ldn_buf)((p), (n))
#define MM_STOREN_d(p, v, n) MF(stn_buf)((p), (v), (n))
#define MM_STOREN_f(p, v, n) MF(stn_buf)((p), (v), (n))
#define MM_GENERIC_TAILS 1

#define NAME "generic"
#include "mm_instantiate.h"

#endif
