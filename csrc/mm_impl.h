/* Template body of fastnn's register-blocked small-matrix kernels (see mm.h for the contract and
 * DESIGN.md for the blocking and its measured speed).
 *
 * Included by mm_generic.c, mm_avx2.c and mm_avx512.c (through mm_instantiate.h), once per
 * precision, with
 *   REAL      double | float          SFX     _d | _f
 *   ISA       the table suffix         VBYTES  bytes per vector register (16, 32, 64)
 *   SINT      the same-width signed integer (for comparison masks)
 * and, per precision (suffix SFX), from the ISA file:
 *   MM_LANES_d/_f                         VBYTES / sizeof(REAL) as a literal (the reduction's lists)
 *   MM_LOADN_d/_f(p, n), MM_STOREN_d/_f(p, v, n)   the first n < LANES lanes only (the others read
 *             as 0 / are not written): masked moves on AVX2/AVX-512, a short loop on the portable path
 * Otherwise no intrinsics: GCC/clang vector extensions, so the same text compiles for SSE2/NEON
 * (generic), AVX2+FMA and AVX-512. Full vectors move as may_alias, element-aligned vector types
 * (unaligned moves; memcpy made GCC emit integer-domain byte moves). Every block
 * is a compile-time (rows x outputs / vectors) instance of an always-inline function, so its
 * accumulators live in registers; the last, partial vector of a row is a masked move, never a
 * scalar loop.
 */

#define MM_CAT_(a, b) a##b
#define MM_CAT(a, b) MM_CAT_(a, b)
#define MM_CAT3(a, b, c) MM_CAT(MM_CAT(a, b), c)
#define MF(name) MM_CAT3(name, ISA, SFX)
#define LANES MM_CAT(MM_LANES, SFX)
#define MM_LOADN MM_CAT(MM_LOADN, SFX)
#define MM_STOREN MM_CAT(MM_STOREN, SFX)
#define VEC MF(mm_vec)
#define IVEC MF(mm_ivec)
#define VW ((ptrdiff_t)LANES)
#define MM_INLINE static inline __attribute__((always_inline))

typedef REAL VEC __attribute__((vector_size(VBYTES)));
typedef SINT IVEC __attribute__((vector_size(VBYTES)));
typedef REAL MF(mm_uvec) __attribute__((vector_size(VBYTES), aligned(sizeof(REAL)), may_alias));

MM_INLINE VEC MF(ld)(const REAL *p) { return *(const MF(mm_uvec) *)p; }
MM_INLINE void MF(st)(REAL *p, VEC v) { *(MF(mm_uvec) *)p = v; }
#ifdef MM_GENERIC_TAILS /* the portable path's partial vectors: through a zeroed buffer */
MM_INLINE VEC MF(ldn_buf)(const REAL *p, int n) {
    REAL t[LANES] = {0};
    for (int j = 0; j < n; j++) t[j] = p[j];
    return MF(ld)(t);
}
MM_INLINE void MF(stn_buf)(REAL *p, VEC v, int n) {
    REAL t[LANES];
    MF(st)(t, v);
    for (int j = 0; j < n; j++) p[j] = t[j];
}
#endif
/* A vector move that is full, or holds only its first n < LANES lanes; "full" is a compile-time
 * constant of the block (a run-time test of n made GCC keep the block's accumulators in memory). */
MM_INLINE VEC MF(ldp)(const REAL *p, const int full, int n) { return full ? MF(ld)(p) : MM_LOADN(p, n); }
MM_INLINE void MF(stp)(REAL *p, VEC v, const int full, int n) {
    if (full)
        MF(st)(p, v);
    else
        MM_STOREN(p, v, n);
}
MM_INLINE VEC MF(bc)(REAL s) { /* broadcast: s - 0 == s exactly, so the compiler drops the op */
    const VEC zero = {0};
    return s - zero;
}
/* c * sgn(x) (sgn(0) = 0) without branches. */
MM_INLINE VEC MF(csgn)(VEC x, REAL c) {
    const VEC zero = {0};
    const IVEC pos = x > zero, neg = x < zero; /* -1 where true */
    const VEC cv = MF(bc)(c);
    return (VEC)((IVEC)cv & pos) - (VEC)((IVEC)cv & neg);
}

/* act'(z) in terms of a = act(z), times the gradient g (BP2's Hadamard factor). */
MM_INLINE VEC MF(dact)(VEC g, VEC a, int act) {
    const VEC one = MF(bc)((REAL)1), zero = {0};
    switch (act) {
    case FNN_SIGMOID: return g * (a * (one - a));
    case FNN_TANH: return g * (one - a * a);
    case FNN_RELU: return (VEC)((IVEC)g & (IVEC)(a > zero));
    default: return g;
    }
}

/* ------------------------------------------------------------------------------------------------
 * Transposing reduction: NA <= LANES accumulators -> one vector whose lane j is the sum of
 * accumulator j's lanes. log2(LANES) levels of pairwise "low halves + high halves" shuffles
 * (mm_reduce.h): LANES - 1 combines for LANES sums instead of one horizontal sum each. A fixed
 * order, so results are reproducible on one ISA path.
 * ---------------------------------------------------------------------------------------------- */
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define MM_SHUF(u, v, s, half)                                                                 \
    __builtin_shufflevector(u, v, MM_CAT(MM_CAT3(MM_RED, LANES, _), MM_CAT(s, half)))
MM_INLINE VEC MF(comb)(VEC u, VEC v, const int s) {
    switch (s) {
#if LANES >= 16
    case 3: return MM_SHUF(u, v, 3, A) + MM_SHUF(u, v, 3, B);
#endif
#if LANES >= 8
    case 2: return MM_SHUF(u, v, 2, A) + MM_SHUF(u, v, 2, B);
#endif
#if LANES >= 4
    case 1: return MM_SHUF(u, v, 1, A) + MM_SHUF(u, v, 1, B);
#endif
    default: return MM_SHUF(u, v, 0, A) + MM_SHUF(u, v, 0, B);
    }
}
MM_INLINE VEC MF(reduce)(const VEC *acc, const int na) {
    /* fully unrolled (na is a compile-time constant of the block): no loop, no switch on s, and
     * no combines of two all-zero vectors when na < LANES */
    const VEC zero = {0};
    VEC t[LANES];
#pragma GCC unroll 16
    for (int j = 0; j < (int)VW; j++) t[j] = j < na ? acc[j] : zero; /* (the zeros are never read) */
    int cnt = na, s = 0;
#pragma GCC unroll 4
    for (int width = (int)VW; width > 1; width /= 2, s++) {
        const int next = (cnt + 1) / 2;
#pragma GCC unroll 16
        for (int j = 0; j < next; j++) t[j] = MF(comb)(t[2 * j], 2 * j + 1 < cnt ? t[2 * j + 1] : zero, s);
        cnt = next;
    }
    return t[0];
}
#undef MM_SHUF
#else /* compilers without __builtin_shufflevector: one horizontal sum by halving per lane */
MM_INLINE VEC MF(reduce)(const VEC *acc, const int na) {
    REAL out[LANES] = {0};
    for (int j = 0; j < na; j++) {
        REAL t[LANES];
        memcpy(t, &acc[j], sizeof t);
        for (int w = (int)(VW / 2); w >= 1; w /= 2)
            for (int q = 0; q < w; q++) t[q] += t[q + w];
        out[j] = t[0];
    }
    return MF(ld)(out);
}
#endif

#define ROW(a, lda, rows, i) ((a) + ((rows) ? (rows)[i] : (i)) * (lda))

/* ------------------------------------------------------------------------------------------------
 * Zero input vectors (DESIGN.md, "Zero input columns"): a vector of VW columns that is zero in every
 * row a block reads adds w·0 = ±0 to each lane of its chains, which changes nothing (a forward chain
 * starts from +0 and never becomes −0; an update chain starts from βW), so the first layer's blocks
 * may leave it out and give the same bits. fnn_mm_segs: the active vectors of A's rows rows[0..m)
 * (or 0..m) — a value's sign ignored: −0 counts as zero, NaN, ±inf and subnormals as active — as
 * segments of columns seg[2s] .. seg[2s+1] (starts multiples of VW, ends multiples of VW or n);
 * their count, or -1 when more than 7/8 of the vectors are active, there would be more than
 * FNN_MM_MAXSEG segments, or the rows exceed mm.h's limits (then the products run whole).
 * ---------------------------------------------------------------------------------------------- */
#ifndef MM_ANY /* the portable path: any lane nonzero, by lanes */
MM_INLINE int MF(any_lane)(IVEC v) {
    SINT o = 0;
    for (int j = 0; j < (int)VW; j++) o |= v[j];
    return o != 0;
}
#define MM_ANY(v) MF(any_lane)(v)
#define MM_ANY_OWN 1
#endif
/* the first index >= v (< nv) whose bit in words is `set`, or nv */
MM_INLINE ptrdiff_t MF(next_bit)(const uint64_t *words, ptrdiff_t v, ptrdiff_t nv, int set) {
    while (v < nv) {
        uint64_t w = words[v >> 6];
        if (!set) w = ~w;
        w >>= (v & 63);
        if (w != 0) {
            v += __builtin_ctzll(w);
            return v < nv ? v : nv;
        }
        v = (v | 63) + 1;
    }
    return nv;
}
ptrdiff_t MF(fnn_mm_segs)(const REAL *a, ptrdiff_t lda, const ptrdiff_t *rows, ptrdiff_t m,
                          ptrdiff_t n, ptrdiff_t *seg) {
    const ptrdiff_t nv = (n + VW - 1) / VW, nfull = n / VW;
    const IVEC mag = (IVEC){0} + (SINT)((((unsigned long long)1) << (sizeof(SINT) * 8 - 1)) - 1);
    const REAL *ar[FNN_MM_SEG_ROWS];
    uint64_t words[FNN_MM_SEG_VECTORS / 64] = {0};
    if (m > FNN_MM_SEG_ROWS || m < 1 || nv > FNN_MM_SEG_VECTORS) return -1;
    for (ptrdiff_t i = 0; i < m; i++) ar[i] = ROW(a, lda, rows, i);
    ptrdiff_t active = 0;
    for (ptrdiff_t v = 0; v < nv; v++) { /* no branch on the data: a bit per vector */
        const ptrdiff_t k = v * VW;
        IVEC o;
        if (v < nfull) {
            o = (IVEC)MF(ld)(ar[0] + k);
            for (ptrdiff_t i = 1; i < m; i++) o |= (IVEC)MF(ld)(ar[i] + k);
        } else {
            o = (IVEC)MM_LOADN(ar[0] + k, (int)(n - k));
            for (ptrdiff_t i = 1; i < m; i++) o |= (IVEC)MM_LOADN(ar[i] + k, (int)(n - k));
        }
        const uint64_t on = (uint64_t)MM_ANY(o & mag);
        words[v >> 6] |= on << (v & 63);
        active += (ptrdiff_t)on;
    }
    if (active * 8 > nv * 7) return -1;
    ptrdiff_t nseg = 0;
    for (ptrdiff_t v = MF(next_bit)(words, 0, nv, 1); v < nv; v = MF(next_bit)(words, v, nv, 1)) {
        const ptrdiff_t e = MF(next_bit)(words, v, nv, 0);
        if (nseg == FNN_MM_MAXSEG) return -1;
        seg[2 * nseg] = v * VW;
        seg[2 * nseg + 1] = e * VW < n ? e * VW : n;
        nseg++;
        v = e;
    }
    return nseg;
}
#ifdef MM_ANY_OWN
#undef MM_ANY
#undef MM_ANY_OWN
#endif

/* ------------------------------------------------------------------------------------------------
 * forward: z (RI rows, RO outputs) = A_rows · W_[o0, o0+RO)ᵀ + b; dot products along n_in,
 * vectorised along n_in (W row-major, the canonical storage), RI*RO accumulators, reduced
 * together at the end (MF(reduce)), the bias added on the way out. The last partial vector of
 * n_in is a masked load (zeros beyond n_in).
 * ---------------------------------------------------------------------------------------------- */
/* Block sizes per register file: AVX-512 has 32 vector registers, AVX2 and SSE2 16; a block's
 * accumulators plus its operands must fit in them, or the compiler keeps the accumulators in memory.
 * forward F_RI x F_RO accumulators (+ F_RO W vectors + 1), backward B_RI x B_CK (+ B_CK + 1),
 * update U_RO x U_CK (+ U_CK + 1). Measured choices: DESIGN.md. -DMM_BLOCK_SMALL gives every path
 * the 16-register sizes (for measuring). */
#if VBYTES == 64 && !defined(MM_BLOCK_SMALL)
#define MM_WIDE 1
#else
#define MM_WIDE 0
#endif
#define F_RI (MM_WIDE ? 5 : 3)
#define F_RO (MM_WIDE ? 4 : 3)
#define B_RI (MM_WIDE ? 4 : 3)
#define B_CK (MM_WIDE ? 4 : 3)
#define U_RO (MM_WIDE ? 4 : 3)
#define U_CK (MM_WIDE ? 4 : 3)
/* switch on a block dimension x (1..5): CALL(A, n) with n a compile-time constant <= MAX */
#define MM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SWITCH_N(x, MAX, CALL, A)                                                              \
    switch (x) {                                                                               \
    case 5: CALL(A, MM_MIN(5, MAX)); break;                                                    \
    case 4: CALL(A, MM_MIN(4, MAX)); break;                                                    \
    case 3: CALL(A, MM_MIN(3, MAX)); break;                                                    \
    case 2: CALL(A, MM_MIN(2, MAX)); break;                                                    \
    default: CALL(A, 1); break;                                                                \
    }
#define F_NA (F_RI * F_RO)
#define F_NG ((F_NA + LANES - 1) / LANES) /* reduced vectors per block */
#define MM_FWD_CHUNK_BYTES 40960 /* a forward block's A and W rows per column chunk (L1d: 48 kB) */
#define MM_PASS_ROWS 128         /* rows per pass of the update (its table of row pointers) */
MM_INLINE void MF(fwd_blk)(REAL *restrict z, ptrdiff_t ldz, const REAL *const *arow, ptrdiff_t k0,
                           const REAL *restrict w, ptrdiff_t ldw, const REAL *restrict b,
                           const ptrdiff_t *seg, ptrdiff_t nseg, int first, const int RI,
                           const int RO) {
    /* the segments [seg[2s], seg[2s+1]) of columns k0 + ... of the rows (the chunk whole, or its
     * active vectors): z = sums + b for the first chunk of a row, z += sums after */
    VEC acc[F_NG * LANES];
    for (int j = 0; j < RI * RO; j++) acc[j] = (VEC){0};
    const REAL *ar[F_RI];
    for (int i = 0; i < RI; i++) ar[i] = arow[i] + k0;
    for (ptrdiff_t s = 0; s < nseg; s++) {
        const ptrdiff_t end = seg[2 * s + 1];
        ptrdiff_t k = seg[2 * s];
        for (; k + VW <= end; k += VW) {
            VEC wv[F_RO];
            for (int o = 0; o < RO; o++) wv[o] = MF(ld)(w + o * ldw + k);
            for (int i = 0; i < RI; i++) {
                const VEC av = MF(ld)(ar[i] + k);
                for (int o = 0; o < RO; o++) acc[i * RO + o] += av * wv[o];
            }
        }
        if (k < end) { /* the row's last, partial vector (last in its chain either way) */
            const int r = (int)(end - k);
            VEC wv[F_RO];
            for (int o = 0; o < RO; o++) wv[o] = MF(ldp)(w + o * ldw + k, 0, r);
            for (int i = 0; i < RI; i++) {
                const VEC av = MF(ldp)(ar[i] + k, 0, r);
                for (int o = 0; o < RO; o++) acc[i * RO + o] += av * wv[o];
            }
        }
    }
    REAL sums[F_NG * LANES];
    for (int g = 0; g * (int)VW < RI * RO; g++) {
        const int na = RI * RO - g * (int)VW < (int)VW ? RI * RO - g * (int)VW : (int)VW;
        MF(st)(sums + g * VW, MF(reduce)(acc + g * VW, na));
    }
    if (first) {
        for (int i = 0; i < RI; i++)
            for (int o = 0; o < RO; o++) z[i * ldz + o] = sums[i * RO + o] + b[o];
    } else {
        for (int i = 0; i < RI; i++)
            for (int o = 0; o < RO; o++) z[i * ldz + o] += sums[i * RO + o];
    }
}

#define FWD_CALL(RI, RO)                                                                       \
    MF(fwd_blk)(zb + o0, ldz, arow, k0, w + o0 * n_in + k0, n_in, b + o0, cs, ncs, k0 == 0, RI, RO)
#define FWD_RO_CASES(RI) SWITCH_N(ro, F_RO, FWD_CALL, RI)

void MF(fnn_mm_forward)(REAL *restrict z, ptrdiff_t ldz, const REAL *a, ptrdiff_t lda,
                        const ptrdiff_t *rows, ptrdiff_t m, const REAL *restrict w,
                        const REAL *restrict b, ptrdiff_t n_out, ptrdiff_t n_in, int act,
                        REAL *drop, REAL *mask, const fnn_drop *dr, const fnn_prefetch *pf,
                        const ptrdiff_t *seg, ptrdiff_t nseg) {
    /* Columns in chunks, so that a block's F_RI rows of A and F_RO rows of W stay in L1 together
     * while the W blocks stream by (AVX-512 f64 784-input rows: two chunks; f32, and AVX2's 3 x 3
     * blocks: one); a chunk's dot products are added to z. */
    const ptrdiff_t nv = (n_in + VW - 1) / VW;
    const ptrdiff_t nchunk =
        ((ptrdiff_t)((F_RI + F_RO) * sizeof(REAL)) * n_in + MM_FWD_CHUNK_BYTES - 1) / MM_FWD_CHUNK_BYTES;
    const ptrdiff_t kc = ((nv + nchunk - 1) / nchunk) * VW;
    fnn_pf_cursor pfc =
        fnn_pf_begin(pf, ((m + F_RI - 1) / F_RI) * ((n_out + F_RO - 1) / F_RO) * nchunk);
    for (ptrdiff_t i0 = 0; i0 < m; i0 += F_RI) {
        const int ri = (int)(m - i0 < F_RI ? m - i0 : F_RI);
        const REAL *arow[F_RI];
        for (int i = 0; i < F_RI; i++) arow[i] = ROW(a, lda, rows, i0 + (i < ri ? i : 0));
        REAL *zb = z + i0 * ldz;
        ptrdiff_t cs[2 * FNN_MM_MAXSEG];
        for (ptrdiff_t k0 = 0; k0 < n_in; k0 += kc) {
            const ptrdiff_t len = n_in - k0 < kc ? n_in - k0 : kc;
            ptrdiff_t ncs = 0; /* this chunk's segments, from k0 */
            if (seg == NULL || nseg < 0) {
                cs[0] = 0;
                cs[1] = len;
                ncs = 1;
            } else {
                for (ptrdiff_t s = 0; s < nseg; s++) {
                    const ptrdiff_t lo = seg[2 * s] > k0 ? seg[2 * s] : k0;
                    const ptrdiff_t hi = seg[2 * s + 1] < k0 + len ? seg[2 * s + 1] : k0 + len;
                    if (lo < hi) {
                        cs[2 * ncs] = lo - k0;
                        cs[2 * ncs + 1] = hi - k0;
                        ncs++;
                    }
                }
            }
            for (ptrdiff_t o0 = 0; o0 < n_out; o0 += F_RO) {
                const int ro = (int)(n_out - o0 < F_RO ? n_out - o0 : F_RO);
                fnn_pf_step(&pfc);
                switch (ri) {
                case 5: FWD_RO_CASES(MM_MIN(5, F_RI)) break;
                case 4: FWD_RO_CASES(MM_MIN(4, F_RI)) break;
                case 3: FWD_RO_CASES(MM_MIN(3, F_RI)) break;
                case 2: FWD_RO_CASES(2) break;
                default: FWD_RO_CASES(1) break;
                }
            }
        }
        /* activation (+ dropout) on this row block while it is in L1; the bias is in already */
        if (ldz == n_out) {
            MM_CAT(fnn_activate, SFX)(zb, NULL, ri, n_out, act);
        } else { /* a block of columns (one thread's neurons): row by row */
            for (int i = 0; i < ri; i++) MM_CAT(fnn_activate, SFX)(zb + i * ldz, NULL, 1, n_out, act);
        }
        if (mask != NULL) {
            fnn_drop blk = *dr;
            blk.row0 += i0;
            MM_CAT(fnn_dropout, SFX)(drop + i0 * ldz, mask + i0 * ldz, zb, ri, n_out, ldz, &blk);
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 * backward (BP2): dp (m, n_in) = (d (m, n_out) · W) ⊙ act'(ap) [⊙ mask]; broadcast δ, vectorise
 * along n_in; RI rows x CK vectors of accumulators; the Hadamard factor fused into the store.
 * The block's last vector holds `last` lanes (LANES but at the end of a row).
 * ---------------------------------------------------------------------------------------------- */
MM_INLINE void MF(bwd_blk)(REAL *restrict dp, const REAL *restrict d, const REAL *restrict w,
                           ptrdiff_t n_out, ptrdiff_t n_in, const REAL *restrict ap,
                           const REAL *restrict mask, int act, const int RI, const int CK,
                           int last, const int FULL) {
    if (FULL) last = (int)VW;
    VEC acc[B_RI][B_CK];
    for (int i = 0; i < RI; i++)
        for (int c = 0; c < CK; c++) acc[i][c] = (VEC){0};
    for (ptrdiff_t o = 0; o < n_out; o++) {
        VEC wv[B_CK];
        for (int c = 0; c < CK; c++)
            wv[c] = MF(ldp)(w + o * n_in + c * VW, FULL || c < CK - 1, last);
        for (int i = 0; i < RI; i++) {
            const VEC dv = MF(bc)(d[i * n_out + o]);
            for (int c = 0; c < CK; c++) acc[i][c] += dv * wv[c];
        }
    }
    for (int i = 0; i < RI; i++)
        for (int c = 0; c < CK; c++) {
            const int full = FULL || c < CK - 1;
            VEC g = MF(dact)(acc[i][c], MF(ldp)(ap + i * n_in + c * VW, full, last), act);
            if (mask != NULL) g *= MF(ldp)(mask + i * n_in + c * VW, full, last);
            MF(stp)(dp + i * n_in + c * VW, g, full, last);
        }
}

#define BWD_ARGS(RI, CK)                                                                       \
    dp + i0 * ld + k, d + i0 * n_out, w + k, n_out, ld, ap + i0 * ld + k,                      \
        mask ? mask + i0 * ld + k : NULL, act, RI, CK, last
#define BWD_FULL(RI, CK) MF(bwd_blk)(BWD_ARGS(RI, CK), 1)
#define BWD_TAIL(RI, CK) MF(bwd_blk)(BWD_ARGS(RI, CK), 0)
#define BWD_CK_CASES(RI)                                                                       \
    if (last == VW) {                                                                          \
        SWITCH_N(ck, B_CK, BWD_FULL, RI)                                                       \
    } else {                                                                                   \
        SWITCH_N(ck, B_CK, BWD_TAIL, RI)                                                       \
    }

void MF(fnn_mm_backward)(REAL *restrict dp, const REAL *restrict d, ptrdiff_t m,
                         const REAL *restrict w, ptrdiff_t n_out, ptrdiff_t n_in, ptrdiff_t ld,
                         const REAL *restrict ap, const REAL *restrict mask, int act) {
    /* columns [0, n_in) of dp, ap, mask and W, whose rows are ld apart (ld > n_in: a block of
     * columns, one thread's share; each column's sums are the same operations either way) */
    const ptrdiff_t nv = (n_in + VW - 1) / VW; /* vectors per row, the last maybe partial */
    for (ptrdiff_t i0 = 0; i0 < m; i0 += B_RI) {
        const int ri = (int)(m - i0 < B_RI ? m - i0 : B_RI);
        for (ptrdiff_t v0 = 0; v0 < nv; v0 += B_CK) {
            const int ck = (int)(nv - v0 < B_CK ? nv - v0 : B_CK);
            const ptrdiff_t k = v0 * VW;
            const int last = (int)(n_in - (k + (ck - 1) * VW) < VW ? n_in - (k + (ck - 1) * VW) : VW);
            switch (ri) {
            case 4: BWD_CK_CASES(MM_MIN(4, B_RI)) break;
            case 3: BWD_CK_CASES(MM_MIN(3, B_RI)) break;
            case 2: BWD_CK_CASES(2) break;
            default: BWD_CK_CASES(1) break;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------------
 * update (BP3/BP4 fused with the step). δ arrives already multiplied by the step α = -η/m (and by
 * each row's sample weight), so G = δᵀ A is the whole gradient step:
 *   plain:     w <- beta w + G                              (L2: beta = 1 - eta lambda / n)
 *   L1:        w <- w - c sgn(w) + G                        (eq. 96)
 *   momentum:  v <- mu v + G - c (w | sgn w);  w <- w + v
 * Without momentum the accumulators start from beta w (or w - c sgn w), so the rows of A are
 * fused straight onto the weights: one load and one store per weight, no arithmetic beyond the
 * products. RO outputs x CK vectors of accumulators; broadcast δ, vectorise along n_in; A rows
 * read through `rows` (the permutation) when given; the block's last vector holds `last` lanes.
 * ---------------------------------------------------------------------------------------------- */
MM_INLINE void MF(upd_blk)(REAL *restrict w, REAL *restrict vw, ptrdiff_t n_in,
                           const REAL *restrict d, ptrdiff_t n_out, const REAL *const *arow,
                           ptrdiff_t k, ptrdiff_t m, REAL beta, REAL mu, REAL c, int reg,
                           const int RO, const int CK, int last, const int FULL, const int MOM) {
    /* FULL, MOM: compile-time instances (full last vector; momentum). With the momentum branch
     * decided at run time, GCC kept the accumulators in memory (a store per FMA). */
    if (FULL) last = (int)VW;
    if (!MOM) vw = NULL;
    VEC acc[U_RO * U_CK]; /* [o * CK + q] */
    for (int o = 0; o < RO; o++)
        for (int q = 0; q < CK; q++) {
            const int full = FULL || q < CK - 1;
            if (MOM) {
                acc[o * CK + q] = (VEC){0};
            } else {
                const VEC wv = MF(ldp)(w + o * n_in + q * VW, full, last);
                acc[o * CK + q] = reg == FNN_REG_L1 ? wv - MF(csgn)(wv, c)
                            : reg == FNN_REG_L2 ? wv * MF(bc)(beta) : wv;
            }
        }
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *ar = arow[i] + k;
        VEC av[U_CK];
        for (int q = 0; q < CK; q++)
            av[q] = MF(ldp)(ar + q * VW, FULL || q < CK - 1, last);
        for (int o = 0; o < RO; o++) {
            const VEC dv = MF(bc)(d[i * n_out + o]);
            for (int q = 0; q < CK; q++) acc[o * CK + q] += dv * av[q];
        }
    }
    for (int o = 0; o < RO; o++)
        for (int q = 0; q < CK; q++) {
            const int full = FULL || q < CK - 1;
            REAL *wp = w + o * n_in + q * VW;
            if (!MOM) {
                MF(stp)(wp, acc[o * CK + q], full, last);
            } else {
                REAL *vp = vw + o * n_in + q * VW;
                VEC wv = MF(ldp)(wp, full, last);
                VEC v = MF(ldp)(vp, full, last) * MF(bc)(mu) + acc[o * CK + q];
                if (reg == FNN_REG_L2)
                    v -= MF(bc)(c) * wv;
                else if (reg == FNN_REG_L1)
                    v -= MF(csgn)(wv, c);
                MF(stp)(vp, v, full, last);
                MF(stp)(wp, wv + v, full, last);
            }
        }
}

#define UPD_ARGS(RO, CK)                                                                       \
    wb, vb_, n_in, d + o0, ldd, arow, k, m, beta, mu, c, reg, RO, CK, last
#define UPD_CALL(RO, CK)                                                                       \
    do {                                                                                       \
        if (last == VW) {                                                                      \
            if (vw) MF(upd_blk)(UPD_ARGS(RO, CK), 1, 1);                                       \
            else MF(upd_blk)(UPD_ARGS(RO, CK), 1, 0);                                          \
        } else {                                                                               \
            if (vw) MF(upd_blk)(UPD_ARGS(RO, CK), 0, 1);                                       \
            else MF(upd_blk)(UPD_ARGS(RO, CK), 0, 0);                                          \
        }                                                                                      \
    } while (0)
#define UPD_CK_CASES(RO) SWITCH_N(ck, U_CK, UPD_CALL, RO)

/* The vector ranges [va, vb) of a row of n_in that an update pass visits, in order, with `on` set
 * for the active segments (seg, nseg; nseg < 0: the whole row), which take their rows, and clear
 * for the inactive vectors between them, which take none (an update chain without its ±0 terms:
 * βW, W − c sgn W, or the velocity's μV) — and are left out when that leaves W as it is (idle).
 * BODY runs once per range. */
#define UPD_RANGES(nv, seg, nseg, idle, BODY)                                                      \
    do {                                                                                       \
        ptrdiff_t v_ = 0, s_ = 0;                                                              \
        while (v_ < (nv)) {                                                                    \
            ptrdiff_t va = v_, vb;                                                             \
            int on;                                                                            \
            if ((nseg) < 0) {                                                                  \
                vb = (nv);                                                                     \
                on = 1;                                                                        \
            } else if (s_ < (nseg) && (seg)[2 * s_] / VW == v_) {                              \
                vb = ((seg)[2 * s_ + 1] + VW - 1) / VW;                                        \
                on = 1;                                                                        \
                s_++;                                                                          \
            } else {                                                                           \
                vb = s_ < (nseg) ? (seg)[2 * s_] / VW : (nv);                                  \
                on = 0;                                                                        \
            }                                                                                  \
            v_ = vb;                                                                           \
            if (!on && (idle)) continue;                                                       \
            BODY                                                                               \
        }                                                                                      \
    } while (0)

/* The U_CK chunks a pass runs (the prefetch cursor's steps, per block row of W). */
static ptrdiff_t MF(upd_steps)(ptrdiff_t nv, const ptrdiff_t *seg, ptrdiff_t nseg, int idle) {
    ptrdiff_t steps = 0;
    UPD_RANGES(nv, seg, nseg, idle, { steps += (vb - va + U_CK - 1) / U_CK; (void)on; });
    return steps;
}

/* One pass over W (and V) for the rows arow[0..m_rows): every block of the visited ranges once. */
static void MF(upd_pass)(REAL *restrict w, REAL *restrict vw, const REAL *restrict d, ptrdiff_t ldd,
                         const REAL *const *arow, ptrdiff_t m_rows, ptrdiff_t n_out, ptrdiff_t n_in,
                         REAL beta, REAL mu, REAL c, int reg, fnn_pf_cursor *pfc,
                         const ptrdiff_t *seg, ptrdiff_t nseg) {
    const ptrdiff_t nv = (n_in + VW - 1) / VW; /* vectors per row, the last maybe partial */
    const int idle = vw == NULL && reg == FNN_REG_NONE && beta == 1;
    UPD_RANGES(nv, seg, nseg, idle, {
        const ptrdiff_t m = on ? m_rows : 0;
        for (ptrdiff_t v0 = va; v0 < vb; v0 += U_CK) {
            const int ck = (int)(vb - v0 < U_CK ? vb - v0 : U_CK);
            const ptrdiff_t k = v0 * VW;
            const int last =
                (int)(n_in - (k + (ck - 1) * VW) < VW ? n_in - (k + (ck - 1) * VW) : VW);
            for (ptrdiff_t o0 = 0; o0 < n_out; o0 += U_RO) {
                const int ro = (int)(n_out - o0 < U_RO ? n_out - o0 : U_RO);
                REAL *wb = w + o0 * n_in + k;
                REAL *vb_ = vw ? vw + o0 * n_in + k : NULL;
                fnn_pf_step(pfc);
                switch (ro) {
                case 4: UPD_CK_CASES(MM_MIN(4, U_RO)) break;
                case 3: UPD_CK_CASES(MM_MIN(3, U_RO)) break;
                case 2: UPD_CK_CASES(2) break;
                default: UPD_CK_CASES(1) break;
                }
            }
        }
    });
}

void MF(fnn_mm_update)(REAL *restrict w, REAL *restrict b, REAL *restrict vw, REAL *restrict vb,
                       const REAL *restrict d, ptrdiff_t ldd, const REAL *a, ptrdiff_t lda,
                       const ptrdiff_t *rows,
                       ptrdiff_t m, ptrdiff_t n_out, ptrdiff_t n_in, REAL beta, REAL mu, REAL c,
                       int reg, REAL *restrict tmp, const fnn_prefetch *pf, const ptrdiff_t *seg,
                       ptrdiff_t nseg) {
    const ptrdiff_t nv = (n_in + VW - 1) / VW;
    if (seg == NULL) nseg = -1;
    const int idle = vw == NULL && reg == FNN_REG_NONE && beta == 1;
    fnn_pf_cursor pfc = fnn_pf_begin(pf, MF(upd_steps)(nv, seg, nseg, idle) * ((n_out + U_RO - 1) / U_RO));
    /* biases (eq. 94, or their velocity): b <- b + Σ_rows δ (δ carries the step) */
    MM_CAT(fnn_bias_step, SFX)(b, vb, d, m, n_out, ldd, mu, tmp);
    /* The blocks read A's rows through a table of row pointers (computed once, not per block
     * and row), MM_PASS_ROWS rows per pass over W. A second pass (m > MM_PASS_ROWS) adds its
     * rows' δᵀA to W as it is (the same operations, in the same order, as one pass) and, with
     * momentum, to V and W both: V' = V + G and W' = W + G give W' = W_0 + V'. */
    const REAL *arow[MM_PASS_ROWS];
    for (ptrdiff_t r0 = 0; r0 < m; r0 += MM_PASS_ROWS) {
        const ptrdiff_t mc = m - r0 < MM_PASS_ROWS ? m - r0 : MM_PASS_ROWS;
        for (ptrdiff_t i = 0; i < mc; i++) arow[i] = ROW(a, lda, rows, r0 + i);
        if (r0 == 0) {
            MF(upd_pass)(w, vw, d, ldd, arow, mc, n_out, n_in, beta, mu, c, reg, &pfc, seg, nseg);
        } else {
            MF(upd_pass)(w, NULL, d + r0 * ldd, ldd, arow, mc, n_out, n_in, 1, 0, 0, FNN_REG_NONE, &pfc,
                         seg, nseg);
            if (vw != NULL)
                MF(upd_pass)(vw, NULL, d + r0 * ldd, ldd, arow, mc, n_out, n_in, 1, 0, 0, FNN_REG_NONE,
                             &pfc, seg, nseg);
        }
    }
}

/* the rows of W one forward/update block computes (a team's shares of neurons are multiples) */
enum { MF(mm_row_block) = F_RO };

#undef F_RI
#undef F_RO
#undef F_NA
#undef MM_PASS_ROWS
#undef UPD_RANGES
#undef MM_FWD_CHUNK_BYTES
#undef F_NG
#undef B_RI
#undef B_CK
#undef U_RO
#undef U_CK
#undef FWD_RO_CASES
#undef BWD_ARGS
#undef BWD_CK_CASES
#undef BWD_FULL
#undef BWD_TAIL
#undef SWITCH_N
#undef MM_MIN
#undef MM_WIDE
#undef FWD_CALL
#undef UPD_ARGS
#undef UPD_CK_CASES
#undef UPD_CALL
#undef ROW
#undef VEC
#undef IVEC
#undef VW
#undef MF
#undef LANES
#undef MM_LOADN
#undef MM_STOREN
#undef REAL
#undef SFX
#undef SINT
