/* fastnn small-matrix kernels, generic path: mm_impl.h compiled with 16-byte vectors.
 * Portable: no intrinsics, plain GCC/clang vector extensions (SSE2 on x86-64, NEON on arm64). */
#include <string.h>

#include "mm.h"

#if FNN_MM_HAVE_GENERIC

#define ISA _generic
#define VBYTES 16

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

const fnn_mm_table fnn_mm_generic = {"generic",
                                    fnn_mm_forward_generic_d, fnn_mm_forward_generic_f,
                                    fnn_mm_backward_generic_d, fnn_mm_backward_generic_f,
                                    fnn_mm_update_generic_d, fnn_mm_update_generic_f};
#endif
