# The BLAS product of fastnn's compiled code, fused over the precision: cimported by the core
# (fastnn/_core.pyx) and by the benchmarks' bound (bench/_bound.pyx), which make the same calls.
from cython cimport floating
from scipy.linalg.cython_blas cimport dgemm, sgemm


cdef inline void gemm(char ta, char tb, int M, int N, int K, floating alpha, const floating *A,
                      int lda, const floating *B, int ldb, floating beta, floating *C,
                      int ldc) noexcept nogil:
    """Column-major C <- alpha op(A) op(B) + beta C."""
    if floating is double:
        dgemm(&ta, &tb, &M, &N, &K, &alpha, <double*>A, &lda, <double*>B, &ldb, &beta, C, &ldc)
    else:
        sgemm(&ta, &tb, &M, &N, &K, &alpha, <float*>A, &lda, <float*>B, &ldb, &beta, C, &ldc)
