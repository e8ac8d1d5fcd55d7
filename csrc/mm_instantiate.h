/* Instantiates the kernels of mm_impl.h for double (suffix _d) and float (_f) under the ISA, VBYTES,
 * MM_LANES_D/_F and MM_LOADN_D/_F, MM_STOREN_D/_F (partial vectors) the including file defined, and defines that path's table fnn_mm<ISA> named NAME.
 * Included once by each of mm_generic.c, mm_avx2.c and mm_avx512.c (inside their target pragmas). */
#include "mm_reduce.h"

#define REAL double
#define SFX _d
#define SINT int64_t
#define LANES MM_LANES_D
#define MM_LOADN MM_LOADN_D
#define MM_STOREN MM_STOREN_D
#include "mm_impl.h"
#undef REAL
#undef SFX
#undef SINT
#undef LANES
#undef MM_LOADN
#undef MM_STOREN

#define REAL float
#define SFX _f
#define SINT int32_t
#define LANES MM_LANES_F
#define MM_LOADN MM_LOADN_F
#define MM_STOREN MM_STOREN_F
#include "mm_impl.h"
#undef REAL
#undef SFX
#undef SINT
#undef LANES
#undef MM_LOADN
#undef MM_STOREN

#define FNN_MM_CAT3_(a, b, c) a##b##c
#define FNN_MM_CAT3(a, b, c) FNN_MM_CAT3_(a, b, c)
#define FNN_MM_FN(kind, sfx) FNN_MM_CAT3(fnn_mm_##kind, ISA, sfx)

const fnn_mm_table FNN_MM_CAT3(fnn_mm, ISA, ) = {NAME,
                                                FNN_MM_FN(forward, _d), FNN_MM_FN(forward, _f),
                                                FNN_MM_FN(backward, _d), FNN_MM_FN(backward, _f),
                                                FNN_MM_FN(update, _d), FNN_MM_FN(update, _f)};
