/* Instantiates the kernels of mm_impl.h for double (suffix _d) and float (_f) under the ISA, VBYTES,
 * MM_LANES_d/_f, MM_LOADN_d/_f and MM_STOREN_d/_f (partial vectors) the including file defined, and
 * defines that path's table fnn_mm<ISA> named NAME (mm_impl.h undefines REAL, SFX and SINT).
 * Included once by each of mm_generic.c, mm_avx2.c and mm_avx512.c (inside their target pragmas). */
#include "mm_reduce.h"

#define REAL double
#define SFX _d
#define SINT int64_t
#include "mm_impl.h"

#define REAL float
#define SFX _f
#define SINT int32_t
#include "mm_impl.h"

#define FNN_MM_CAT3_(a, b, c) a##b##c
#define FNN_MM_CAT3(a, b, c) FNN_MM_CAT3_(a, b, c)
#define FNN_MM_FN(kind, sfx) FNN_MM_CAT3(fnn_mm_##kind, ISA, sfx)

const fnn_mm_table FNN_MM_CAT3(fnn_mm, ISA, ) = {NAME,
                                                FNN_MM_FN(forward, _d), FNN_MM_FN(forward, _f),
                                                FNN_MM_FN(backward, _d), FNN_MM_FN(backward, _f),
                                                FNN_MM_FN(update, _d), FNN_MM_FN(update, _f),
                                                FNN_MM_FN(segs, _d), FNN_MM_FN(segs, _f),
                                                FNN_MM_CAT3(mm_row_block, ISA, _d)};
