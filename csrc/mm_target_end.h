/* Closes the target region an x86 kernel file (mm_avx2.c, mm_avx512.c) opened before including
 * mm_instantiate.h. */
#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
