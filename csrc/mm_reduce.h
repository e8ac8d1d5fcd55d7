/* Index lists for the transposing reduction in mm_impl.h (MF(reduce)): at level s, a vector holds
 * 2^s accumulators' partial sums in groups of G = VW >> s lanes; combining two such vectors u, v
 * gives 2^(s+1) groups of G/2: lanes A + lanes B, where A takes the low half of every group (u's
 * groups first, then v's) and B the high half. After log2(VW) levels lane j holds accumulator j's
 * sum. Generated (lanes VW = 2, 4, 8, 16) by:
 *   for s in range(log2(VW)): G = VW >> s; h = G // 2
 *     A = [(n * G if n < 2**s else VW + (n - 2**s) * G) + e for n in range(2**(s+1)) for e in range(h)]
 *     B = [i + h for i in A]
 */
#ifndef FASTNN_MM_REDUCE_H
#define FASTNN_MM_REDUCE_H

#define MM_RED2_0A 0, 2
#define MM_RED2_0B 1, 3
#define MM_RED4_0A 0, 1, 4, 5
#define MM_RED4_0B 2, 3, 6, 7
#define MM_RED4_1A 0, 2, 4, 6
#define MM_RED4_1B 1, 3, 5, 7
#define MM_RED8_0A 0, 1, 2, 3, 8, 9, 10, 11
#define MM_RED8_0B 4, 5, 6, 7, 12, 13, 14, 15
#define MM_RED8_1A 0, 1, 4, 5, 8, 9, 12, 13
#define MM_RED8_1B 2, 3, 6, 7, 10, 11, 14, 15
#define MM_RED8_2A 0, 2, 4, 6, 8, 10, 12, 14
#define MM_RED8_2B 1, 3, 5, 7, 9, 11, 13, 15
#define MM_RED16_0A 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define MM_RED16_0B 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define MM_RED16_1A 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27
#define MM_RED16_1B 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31
#define MM_RED16_2A 0, 1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24, 25, 28, 29
#define MM_RED16_2B 2, 3, 6, 7, 10, 11, 14, 15, 18, 19, 22, 23, 26, 27, 30, 31
#define MM_RED16_3A 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define MM_RED16_3B 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31

#endif
