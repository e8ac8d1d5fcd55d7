/* Instantiates the kernels of mm_impl.h for double (suffix _d) and float (_f) under the ISA and
 * VBYTES the including file defined, and defines that path's table fnn_mm<ISA> named NAME.
 * Included once by each of mm_generic.c, mm_avx2.c and mm_avx512.c (inside their target pragmas). */
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

#define FNN_MM_CAT3_(a, b, c) a##b##c
#define FNN_MM_CAT3(a, b, c) FNN_MM_CAT3_(a, b, c)
#define FNN_MM_FN(kind, sfx) FNN_MM_CAT3(fnn_mm_##kind, ISA, sfx)

const fnn_mm_table FNN_MM_CAT3(fnn_mm, ISA, ) = {NAME,
                                                FNN_MM_FN(forward, _d), FNN_MM_FN(forward, _f),
                                                FNN_MM_FN(backward, _d), FNN_MM_FN(backward, _f),
                                                FNN_MM_FN(update, _d), FNN_MM_FN(update, _f)};
