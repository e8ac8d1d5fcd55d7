/* Choice of the small-matrix kernel table from the CPU's features (see mm.h). */
#include <string.h>

#include "mm.h"

static int cpu_has(const char *isa) {
#if FNN_MM_HAVE_X86
    __builtin_cpu_init();
    if (strcmp(isa, "avx512") == 0)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
    if (strcmp(isa, "avx2") == 0)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return strcmp(isa, "generic") == 0 && FNN_MM_HAVE_GENERIC;
}

const fnn_mm_table *fnn_mm_select(const char *name) {
    const fnn_mm_table *all[3] = {NULL, NULL, NULL}; /* best first */
#if FNN_MM_HAVE_X86
    all[0] = &fnn_mm_avx512;
    all[1] = &fnn_mm_avx2;
#endif
#if FNN_MM_HAVE_GENERIC
    all[2] = &fnn_mm_generic;
#endif
    for (int i = 0; i < 3; i++) {
        if (all[i] == NULL) continue;
        if (name != NULL && name[0] != '\0' && strcmp(name, all[i]->name) != 0) continue;
        if (cpu_has(all[i]->name)) return all[i];
        if (name != NULL && name[0] != '\0') return NULL;
    }
    return NULL;
}

