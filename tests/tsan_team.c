/* ThreadSanitizer check of the thread team (csrc/team.c), run by tests/tsan_check.sh.
 * Each member writes its own slot, meets the others, reads every slot, meets again: TSan reports
 * any missing happens-before edge of the barrier. Then one member stops the team mid-run: every
 * member must leave, and no member may see a barrier complete after the stop without all.
 * Last, work items shared out by fnn_team_claim (inference's row blocks): each item claimed by
 * exactly one member, its result written by that member alone and read after the join. */
#include <stdio.h>
#include <stdlib.h>

#include "team.h"

#define ROUNDS 2000

typedef struct {
    long slots[16];
    long sums[16];
    int stop_at, stopper;
    int done[16];
} shared;

static void member(void *ctx, fnn_team *team, int tid) {
    shared *s = (shared *)ctx;
    int n = fnn_team_size(team);
    for (int r = 0; r < ROUNDS; r++) {
        if (r == s->stop_at && tid == s->stopper) {
            fnn_team_stop(team);
            s->done[tid] = r;
            return;
        }
        s->slots[tid] = (long)r * (tid + 1);
        if (fnn_team_sync(team)) { s->done[tid] = r; return; }
        long sum = 0;
        for (int i = 0; i < n; i++) sum += s->slots[i];
        if (sum != (long)r * n * (n + 1) / 2) {
            fprintf(stderr, "member %d round %d: sum %ld\n", tid, r, sum);
            abort();
        }
        s->sums[tid] += sum;
        if (fnn_team_sync(team)) { s->done[tid] = r; return; }
    }
    s->done[tid] = ROUNDS;
}

#define ITEMS 5000

typedef struct {
    ptrdiff_t next;
    int owner[ITEMS];
    long result[ITEMS];
    int stop_item; /* the member that claims this item stops the team (ITEMS: none) */
} items;

static void claimer(void *ctx, fnn_team *team, int tid) {
    items *s = (items *)ctx;
    for (;;) {
        if (fnn_team_stopped(team)) return;
        ptrdiff_t i = fnn_team_claim(&s->next);
        if (i >= ITEMS) return;
        s->owner[i] = tid + 1;
        s->result[i] = (long)i * i;
        if (i == s->stop_item) { fnn_team_stop(team); return; }
    }
}

static int check_claims(int n) {
    static items s;
    for (int stop = 0; stop < 2; stop++) {
        for (int i = 0; i < ITEMS; i++) { s.owner[i] = 0; s.result[i] = -1; }
        s.next = 0;
        s.stop_item = stop ? ITEMS / 3 : ITEMS;
        fnn_team_run(n, claimer, &s);
        int last = stop ? ITEMS / 3 : ITEMS - 1;
        for (int i = 0; i <= last; i++) /* every item up to the stopping one: done exactly once */
            if (s.owner[i] == 0 || s.result[i] != (long)i * i) {
                fprintf(stderr, "n=%d item %d not done (stop=%d)\n", n, i, stop);
                return 1;
            }
    }
    return 0;
}

int main(void) {
    for (int n = 1; n <= 5; n++) {
        shared s = {0};
        s.stop_at = ROUNDS + 1;
        int ran = fnn_team_run(n, member, &s);
        for (int t = 0; t < ran; t++)
            if (s.done[t] != ROUNDS) { fprintf(stderr, "n=%d member %d stopped early\n", n, t); return 1; }
        shared x = {0};
        x.stop_at = 777;
        x.stopper = n - 1;
        ran = fnn_team_run(n, member, &x);
        for (int t = 0; t < ran; t++)
            if (x.done[t] > 778 || x.done[t] < 776) { fprintf(stderr, "n=%d member %d left at %d\n", n, t, x.done[t]); return 1; }
    }
    for (int n = 1; n <= 5; n++)
        if (check_claims(n)) return 1;
    printf("team ok\n");
    return 0;
}
