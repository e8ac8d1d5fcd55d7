/* A team of POSIX threads for ONE training call (see DESIGN.md, "One training on every core").
 *
 * fnn_team_run(n, fn, ctx) runs fn(ctx, team, tid) on n threads: the caller is tid 0, threads
 * 1..n-1 are created for the call and joined before it returns (no thread outlives it, nothing to
 * re-create after fork()). The workers block every signal, so SIGINT reaches the caller's thread.
 * The team's threads meet at fnn_team_sync: a barrier that spins a little (a mini-batch step is
 * microseconds) and then sleeps on a condition variable (a loaded machine must not burn a core).
 * Any thread may call fnn_team_stop: every thread then leaves its current or next fnn_team_sync
 * with a nonzero result and returns. No heap allocation; no OpenMP runtime.
 * If a thread cannot be created, the threads already started are stopped before they change
 * anything and fn runs on the caller alone (n = 1): a training's results do not depend on n.
 * Windows (no pthreads here): always n = 1. */
#ifndef FASTNN_TEAM_H
#define FASTNN_TEAM_H

#include <stddef.h>

#define FNN_TEAM_MAX 256

typedef struct fnn_team fnn_team;
typedef void (*fnn_team_fn)(void *ctx, fnn_team *team, int tid);

/* Runs the team; returns the number of threads that ran fn to the end (n, or 1 after a failed
 * thread creation). */
int fnn_team_run(int n, fnn_team_fn fn, void *ctx);
/* The barrier: returns 0 when every thread arrived, nonzero when the team was stopped. */
int fnn_team_sync(fnn_team *team);
/* Stop the team: the others leave their barrier, this thread returns from fn without waiting. */
void fnn_team_stop(fnn_team *team);
int fnn_team_size(const fnn_team *team);
/* Nonzero once some thread called fnn_team_stop. */
int fnn_team_stopped(const fnn_team *team);
/* The next value of a counter the team shares (0, 1, 2, ... each to exactly one caller): a team
 * that shares out work items dynamically (inference's row blocks) claims them with it. */
ptrdiff_t fnn_team_claim(ptrdiff_t *counter);
/* A clock for sharing work by measured speed: ticks of the time-stamp counter on x86-64 (constant
 * rate), nanoseconds elsewhere; only ratios of ticks are meaningful. */
unsigned long long fnn_team_ticks(void);
/* The ticks the calling thread has waited in fnn_team_sync since its last call of this (then 0). */
unsigned long long fnn_team_take_wait(void);

#endif
