/* Template body of the elementwise kernels; included by kernels.c once per precision with
 *   REAL        double | float
 *   SFX         _d | _f
 *   UINT/SINT   the same-width unsigned/signed integer types (for the exponent bit trick)
 * The inner loops have no branches and use restrict pointers so that gcc -O3 vectorizes them.
 */

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define FN(name) CAT(name, SFX)

/* c ? a : b by bit masks, the same value as the ternary. Written as a ternary, gcc may make it a
 * branch (it folds a constant arm into what follows: the exp clamps) and, with trapping math (the
 * default), a loop holding that branch is not vectorized where there are no masked instructions:
 * the AVX2 and baseline clones of the sigmoid and tanh loops ran one value at a time (issue #23).
 * (The baseline clone's double loops stay scalar: gcc vectorizes no 64-bit select for SSE2.) */
static inline REAL FN(select)(int c, REAL a, REAL b) {
    UINT ab, bb;
    memcpy(&ab, &a, sizeof ab);
    memcpy(&bb, &b, sizeof bb);
    const UINT m = (UINT)0 - (UINT)c;
    const UINT rb = (ab & m) | (bb & ~m);
    REAL r;
    memcpy(&r, &rb, sizeof r);
    return r;
}

/* exp(x) for one value, written so that a loop of it vectorizes (no libm call, no branch):
 * x = k ln2 + r with |r| <= ln2/2 (Cody-Waite), exp(r) by a Taylor polynomial, 2^k built in the
 * exponent bits. Inputs are clamped to the range where the result is a finite normal number. */
static inline REAL FN(exp_one)(REAL x) {
    x = FN(select)(x < EXP_LO, EXP_LO, x);
    x = FN(select)(x > EXP_HI, EXP_HI, x);
    const REAL t = x * (REAL)1.4426950408889634 + SHIFTER; /* round(x / ln2) in the low bits */
    const REAL kd = t - SHIFTER;
    REAL r = x - kd * LN2_HI;
    r = r - kd * LN2_LO;
    REAL p = EXP_POLY(r);
    UINT tb;
    memcpy(&tb, &t, sizeof tb);
    SINT k = (SINT)(tb - SHIFTER_BITS);
    UINT sb = (UINT)(k + EXP_BIAS) << MANT_BITS;
    REAL scale;
    memcpy(&scale, &sb, sizeof scale);
    return p * scale;
}

/* tanh(z) to a relative error of ~3e-16 (double) / ~1.2e-7 (float) for every finite z, branchless
 * so that the loop vectorizes, one division: 1 - 2 / (e^2x + 1) alone loses every digit as x -> 0
 * (9e-5 relative at 1e-12 in double, exactly 0 below 1e-8 in float), so |z| < 0.625 takes Cephes'
 * approximation x + x^3 P(x^2)/Q(x^2) (float: Q = 1), else (e^2x - 1) / (e^2x + 1) (no cancellation
 * there: e^2x >= 3.49). Odd: computed for |z|, the sign put back. */
static inline REAL FN(tanh_one)(REAL z) {
    const REAL x = FN(select)(z < (REAL)0, -z, z);
    const REAL x2 = x * x;
    const REAL e = FN(exp_one)((REAL)2 * x);
    const REAL q = TANH_DEN(x2);
    const int small = x < (REAL)0.625;
    const REAL num = FN(select)(small, x * q + x * x2 * TANH_NUM(x2), e - (REAL)1);
    const REAL den = FN(select)(small, q, e + (REAL)1);
    const REAL t = num / den;
    return FN(select)(z < (REAL)0, -t, t);
}

FNN_HOT void FN(fnn_exp)(REAL *restrict out, const REAL *restrict x, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) out[i] = FN(exp_one)(x[i]);
}

/* a <- act(a + b), row by row (b may be NULL: no bias). Softmax normalises each row. */
FNN_HOT void FN(fnn_activate)(REAL *restrict a, const REAL *restrict b, ptrdiff_t m, ptrdiff_t n, int act) {
    const ptrdiff_t count = m * n;
    if (b != NULL) {
        for (ptrdiff_t i = 0; i < m; i++) {
            REAL *restrict row = a + i * n;
            for (ptrdiff_t j = 0; j < n; j++) row[j] += b[j];
        }
    }
    switch (act) {
    case FNN_SIGMOID: /* sigma(z) = 1 / (1 + e^-z)  (eq. 3) */
        for (ptrdiff_t i = 0; i < count; i++) a[i] = (REAL)1 / ((REAL)1 + FN(exp_one)(-a[i]));
        break;
    case FNN_TANH: /* tanh (tanh_one): a rational near 0, else (e^2|z| - 1) / (e^2|z| + 1) */
        for (ptrdiff_t i = 0; i < count; i++) a[i] = FN(tanh_one)(a[i]);
        break;
    case FNN_RELU:
        for (ptrdiff_t i = 0; i < count; i++) a[i] = a[i] > (REAL)0 ? a[i] : (REAL)0;
        break;
    case FNN_SOFTMAX: /* a_j = e^(z_j - max) / sum_k e^(z_k - max)  (eq. 78), never overflows */
        for (ptrdiff_t i = 0; i < m; i++) {
            REAL *restrict row = a + i * n;
            REAL mx = row[0];
            for (ptrdiff_t j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
            for (ptrdiff_t j = 0; j < n; j++) row[j] -= mx;
        }
        for (ptrdiff_t i = 0; i < count; i++) a[i] = FN(exp_one)(a[i]);
        for (ptrdiff_t i = 0; i < m; i++) {
            REAL *restrict row = a + i * n;
            REAL s = 0;
            for (ptrdiff_t j = 0; j < n; j++) s += row[j];
            const REAL inv = (REAL)1 / s;
            for (ptrdiff_t j = 0; j < n; j++) row[j] *= inv;
        }
        break;
    default: /* FNN_LINEAR */
        break;
    }
}

/* BP2's Hadamard factor: d <- d * act'(z) (* mask), with act' written in terms of a = act(z). */
FNN_HOT void FN(fnn_backprop_act)(REAL *restrict d, const REAL *restrict a, const REAL *restrict mask,
                          ptrdiff_t count, int act) {
    switch (act) {
    case FNN_SIGMOID: /* sigma' = sigma (1 - sigma) */
        for (ptrdiff_t i = 0; i < count; i++) d[i] *= a[i] * ((REAL)1 - a[i]);
        break;
    case FNN_TANH: /* tanh' = 1 - tanh^2 */
        for (ptrdiff_t i = 0; i < count; i++) d[i] *= (REAL)1 - a[i] * a[i];
        break;
    case FNN_RELU:
        for (ptrdiff_t i = 0; i < count; i++) d[i] = a[i] > (REAL)0 ? d[i] : (REAL)0;
        break;
    default:
        break;
    }
    if (mask != NULL)
        for (ptrdiff_t i = 0; i < count; i++) d[i] *= mask[i];
}

/* Output error delta^L written over the output activations a (BP1 specialised per cost):
 *   quadratic + sigmoid:       (a - y) * sigma'(z) = (a - y) a (1 - a)
 *   cross-entropy + sigmoid:   a - y            (eq. 66)
 *   log-likelihood + softmax:  a - y (eq. 84); a * sum(y) - y for target rows (any sum)
 *   quadratic + linear:        a - y
 * y is one-hot of `labels` when labels != NULL, else the rows of `targets`.
 * Returns the summed cost of the batch when want_loss (clamped logs: a monitor, not the oracle). */
FNN_HOT double FN(fnn_output_delta)(REAL *restrict a, const ptrdiff_t *restrict labels,
                            const REAL *restrict targets, ptrdiff_t m, ptrdiff_t n, int act,
                            int cost, int want_loss) {
    double loss = 0.0;
    const REAL tiny = TINY;
    if (want_loss) {
        for (ptrdiff_t i = 0; i < m; i++) {
            const REAL *row = a + i * n;
            for (ptrdiff_t j = 0; j < n; j++) {
                const REAL y = labels ? (REAL)(j == labels[i]) : targets[i * n + j];
                const REAL aj = row[j];
                if (cost == FNN_QUADRATIC) {
                    loss += 0.5 * (double)(aj - y) * (double)(aj - y);
                } else if (cost == FNN_CROSS_ENTROPY) {
                    const REAL p = aj < tiny ? tiny : (aj > (REAL)1 - EPS ? (REAL)1 - EPS : aj);
                    if (y != 0) loss -= (double)y * log((double)p);
                    if (y != 1) loss -= (double)(1 - y) * log1p(-(double)p);
                } else if (y != 0) {
                    loss -= (double)y * log((double)(aj < tiny ? tiny : aj));
                }
            }
        }
    }
    const int quad_sigmoid = (cost == FNN_QUADRATIC && act == FNN_SIGMOID);
    if (labels != NULL) {
        for (ptrdiff_t i = 0; i < m; i++) {
            REAL *restrict row = a + i * n;
            const ptrdiff_t yi = labels[i];
            if (quad_sigmoid) {
                for (ptrdiff_t j = 0; j < n; j++)
                    row[j] = (row[j] - (REAL)(j == yi)) * row[j] * ((REAL)1 - row[j]);
            } else {
                row[yi] -= (REAL)1;
            }
        }
    } else {
        const ptrdiff_t count = m * n;
        if (quad_sigmoid) {
            for (ptrdiff_t i = 0; i < count; i++)
                a[i] = (a[i] - targets[i]) * a[i] * ((REAL)1 - a[i]);
        } else if (cost == FNN_LOG_LIKELIHOOD) {
            /* dC/dz for C = -sum_j y_j ln softmax(z)_j with any y >= 0: a * sum(y) - y
             * (= a - y when the row sums to 1, eq. 84) */
            for (ptrdiff_t i = 0; i < m; i++) {
                REAL *restrict row = a + i * n;
                const REAL *restrict t = targets + i * n;
                REAL sy = 0;
                for (ptrdiff_t j = 0; j < n; j++) sy += t[j];
                for (ptrdiff_t j = 0; j < n; j++) row[j] = row[j] * sy - t[j];
            }
        } else {
            for (ptrdiff_t i = 0; i < count; i++) a[i] -= targets[i];
        }
    }
    return loss;
}

static inline double FN(softplus)(double x) { /* ln(1 + e^x), exact and overflow-free */
    return (x > 0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* Summed cost of m rows from the output layer's weighted inputs z (bias included), computed
 * in double from z so that saturated outputs still give finite, accurate costs:
 *   cross-entropy: y softplus(-z) + (1 - y) softplus(z)   (= -[y ln a + (1-y) ln(1-a)])
 *   log-likelihood: logsumexp(z) - z_y                    (= -ln a_y)
 *   quadratic: 1/2 (a - y)^2 with a = sigma(z) or z. */
double FN(fnn_cost_z)(const REAL *restrict z, const ptrdiff_t *restrict labels,
                      const REAL *restrict targets, ptrdiff_t m, ptrdiff_t n, int act, int cost) {
    double total = 0.0;
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *row = z + i * n;
        double lse = 0.0;
        if (cost == FNN_LOG_LIKELIHOOD) {
            double mx = row[0], s = 0.0;
            for (ptrdiff_t j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
            for (ptrdiff_t j = 0; j < n; j++) s += exp((double)row[j] - mx);
            lse = mx + log(s);
        }
        for (ptrdiff_t j = 0; j < n; j++) {
            const double y = labels ? (double)(j == labels[i]) : (double)targets[i * n + j];
            const double zj = row[j];
            if (cost == FNN_CROSS_ENTROPY) {
                if (y != 0) total += y * FN(softplus)(-zj);
                if (y != 1) total += (1 - y) * FN(softplus)(zj);
            } else if (cost == FNN_LOG_LIKELIHOOD) {
                if (y != 0) total += y * (lse - zj);
            } else {
                const double aj = act == FNN_SIGMOID ? 1.0 / (1.0 + exp(-zj)) : zj;
                total += 0.5 * (aj - y) * (aj - y);
            }
        }
    }
    return total;
}

/* Number of rows whose argmax matches the label (or the argmax of the target row). */
ptrdiff_t FN(fnn_count_correct)(const REAL *restrict z, const ptrdiff_t *restrict labels,
                                const REAL *restrict targets, ptrdiff_t m, ptrdiff_t n) {
    ptrdiff_t correct = 0;
    if (n == 1) { /* one (sigmoid) output: label = (z >= 0), i.e. a >= 0.5; target y >= 0.5 */
        for (ptrdiff_t i = 0; i < m; i++) {
            const int want = labels ? labels[i] != 0 : targets[i] >= (REAL)0.5;
            correct += (z[i] >= (REAL)0) == want;
        }
        return correct;
    }
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *row = z + i * n;
        ptrdiff_t best = 0;
        for (ptrdiff_t j = 1; j < n; j++) best = row[j] > row[best] ? j : best;
        ptrdiff_t want;
        if (labels) {
            want = labels[i];
        } else {
            const REAL *t = targets + i * n;
            want = 0;
            for (ptrdiff_t j = 1; j < n; j++) want = t[j] > t[want] ? j : want;
        }
        correct += best == want;
    }
    return correct;
}

/* BP3 + update of the biases, d carrying the step -eta/m: b <- b + sum_rows(d), or with momentum
 * vb <- mu vb + sum_rows(d); b <- b + vb. tmp holds n values of scratch. */
FNN_HOT void FN(fnn_bias_step)(REAL *restrict b, REAL *restrict vb, const REAL *restrict d, ptrdiff_t m,
                       ptrdiff_t n, ptrdiff_t ld, REAL mu, REAL *restrict tmp) {
    /* d's rows are ld apart (a block of columns of a wider δ: one thread's neurons) */
    for (ptrdiff_t j = 0; j < n; j++) tmp[j] = d[j];
    for (ptrdiff_t i = 1; i < m; i++) {
        const REAL *restrict row = d + i * ld;
        for (ptrdiff_t j = 0; j < n; j++) tmp[j] += row[j];
    }
    if (vb == NULL) {
        for (ptrdiff_t j = 0; j < n; j++) b[j] += tmp[j];
    } else {
        for (ptrdiff_t j = 0; j < n; j++) {
            vb[j] = mu * vb[j] + tmp[j];
            b[j] += vb[j];
        }
    }
}

/* L1 shrink of eq. (96): w <- w - c sgn(w), c = eta lambda / n, sgn(0) = 0. */
FNN_HOT void FN(fnn_l1_shrink)(REAL *restrict w, ptrdiff_t count, REAL c) {
    for (ptrdiff_t i = 0; i < count; i++)
        w[i] -= c * (REAL)((w[i] > (REAL)0) - (w[i] < (REAL)0));
}

/* Momentum step after v <- mu v - (eta/m) delta^T a has been done by gemm:
 * v <- v - c * (w | sgn(w)) (the regularization part of eta * grad C), then w <- w + v. */
FNN_HOT void FN(fnn_momentum_step)(REAL *restrict w, REAL *restrict v, ptrdiff_t count, REAL c,
                                   int reg) {
    if (reg == FNN_REG_L2) {
        for (ptrdiff_t i = 0; i < count; i++) {
            v[i] -= c * w[i];
            w[i] += v[i];
        }
    } else if (reg == FNN_REG_L1) {
        for (ptrdiff_t i = 0; i < count; i++) {
            v[i] -= c * (REAL)((w[i] > (REAL)0) - (w[i] < (REAL)0));
            w[i] += v[i];
        }
    } else {
        for (ptrdiff_t i = 0; i < count; i++) w[i] += v[i];
    }
}

void FN(fnn_gather_rows)(REAL *restrict dst, const REAL *restrict src, const ptrdiff_t *restrict idx,
                         ptrdiff_t m, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < m; i++) memcpy(dst + i * n, src + idx[i] * n, (size_t)n * sizeof(REAL));
}

/* Per-row weight: row i of a (m, n) is multiplied by w[idx[i]] (w[i] when idx is NULL). */
void FN(fnn_scale_rows)(REAL *restrict a, const REAL *restrict w, const ptrdiff_t *restrict idx,
                        ptrdiff_t m, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL wi = w[idx ? idx[i] : i];
        REAL *restrict row = a + i * n;
        for (ptrdiff_t j = 0; j < n; j++) row[j] *= wi;
    }
}

/* The input columns a mini-batch uses (issue #29): column j of the m rows (x + rows[i] ldx, or
 * x + i ldx when rows is NULL; n values each) is active when any of its values is not ±0 (NaN and
 * ±inf are active). The active columns, in increasing order, as runs: runs[2r] = first column,
 * runs[2r + 1] = length; returns the number of runs and sets *active to the columns they cover.
 * acc: n values of scratch (the OR of each column's bits without the sign). A column of zeros
 * adds only ±0 products to a chain that starts from +0 or from βW, so the packed product may skip
 * it: the same bits for finite weights (DESIGN.md, "Zero input columns"). */
FNN_HOT ptrdiff_t FN(fnn_active_runs)(const REAL *restrict x, ptrdiff_t ldx, const ptrdiff_t *restrict rows,
                                      ptrdiff_t m, ptrdiff_t n, REAL *restrict acc, ptrdiff_t *restrict runs,
                                      ptrdiff_t *restrict active) {
    UINT *restrict bits = (UINT *)acc;
    memset(bits, 0, (size_t)n * sizeof(UINT));
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *restrict row = x + (rows != NULL ? rows[i] : i) * ldx;
        for (ptrdiff_t j = 0; j < n; j++) {
            UINT b;
            memcpy(&b, row + j, sizeof b);
            bits[j] |= b & ~SIGN_BIT;
        }
    }
    ptrdiff_t nruns = 0, count = 0;
    for (ptrdiff_t j = 0; j < n;) {
        if (bits[j] == 0) {
            j++;
            continue;
        }
        const ptrdiff_t j0 = j;
        while (j < n && bits[j] != 0) j++;
        runs[2 * nruns] = j0;
        runs[2 * nruns + 1] = j - j0;
        nruns++;
        count += j - j0;
    }
    *active = count;
    return nruns;
}

/* dst row i (ldd apart) <- the active columns (runs) of src row rows[i] (or i), lds apart. */
void FN(fnn_compact_cols)(REAL *restrict dst, ptrdiff_t ldd, const REAL *restrict src, ptrdiff_t lds,
                          const ptrdiff_t *restrict rows, ptrdiff_t m, const ptrdiff_t *restrict runs,
                          ptrdiff_t nruns) {
    for (ptrdiff_t i = 0; i < m; i++) {
        const REAL *restrict s = src + (rows != NULL ? rows[i] : i) * lds;
        REAL *restrict d = dst + i * ldd;
        for (ptrdiff_t r = 0; r < nruns; r++) {
            memcpy(d, s + runs[2 * r], (size_t)runs[2 * r + 1] * sizeof(REAL));
            d += runs[2 * r + 1];
        }
    }
}

/* The inverse for m rows of n columns (ldd apart): the active columns (runs) from src's rows (lds
 * apart), the others multiplied by beta (what the product's start, βW, makes of a column it
 * skips; nothing when beta is 1). */
void FN(fnn_expand_cols)(REAL *restrict dst, ptrdiff_t ldd, const REAL *restrict src, ptrdiff_t lds,
                         ptrdiff_t m, ptrdiff_t n, const ptrdiff_t *restrict runs, ptrdiff_t nruns,
                         REAL beta) {
    for (ptrdiff_t i = 0; i < m; i++) {
        REAL *restrict d = dst + i * ldd;
        const REAL *restrict s = src + i * lds;
        ptrdiff_t j = 0;
        for (ptrdiff_t r = 0; r < nruns; r++) {
            const ptrdiff_t j0 = runs[2 * r], len = runs[2 * r + 1];
            if (beta != 1)
                for (; j < j0; j++) d[j] *= beta;
            memcpy(d + j0, s, (size_t)len * sizeof(REAL));
            s += len;
            j = j0 + len;
        }
        if (beta != 1)
            for (; j < n; j++) d[j] *= beta;
    }
}

/* 1 when no value is NaN or infinite: an integer test of the exponent bits, so it vectorizes
 * (a floating-point sum would need reassociation). */
FNN_HOT int FN(fnn_all_finite)(const REAL *restrict x, ptrdiff_t count) {
    UINT bad = 0;
    for (ptrdiff_t i = 0; i < count; i++) {
        UINT b;
        memcpy(&b, x + i, sizeof b);
        bad |= (UINT)((b & EXP_MASK) == EXP_MASK);
    }
    return bad == 0;
}

/* Dropout mask of an (m, n) block with rows ld apart: 0 with probability p, else 1/(1-p)
 * (inverted dropout), from the counter-based stream of kernels.h (one 53-bit uniform each). */
void FN(fnn_fill_mask)(REAL *restrict mask, ptrdiff_t m, ptrdiff_t n, ptrdiff_t ld, const fnn_drop *drop) {
    const double p = drop->p;
    const REAL keep = (REAL)(1.0 / (1.0 - p));
    for (ptrdiff_t i = 0; i < m; i++) {
        const uint64_t h = fnn_drop_row(drop, i);
        REAL *restrict row = mask + i * ld;
        for (ptrdiff_t j = 0; j < n; j++) row[j] = fnn_drop_u(drop, h, j) >= p ? keep : (REAL)0;
    }
}

/* out <- a * mask with the block's mask (all three (m, n) with rows ld apart). */
FNN_HOT void FN(fnn_dropout)(REAL *restrict out, REAL *restrict mask, const REAL *restrict a, ptrdiff_t m,
                             ptrdiff_t n, ptrdiff_t ld, const fnn_drop *drop) {
    FN(fnn_fill_mask)(mask, m, n, ld, drop);
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t j = 0; j < n; j++) out[i * ld + j] = a[i * ld + j] * mask[i * ld + j];
}

#undef FN
#undef CAT
#undef CAT_
