/* The thread team of team.h: pthreads, C11 atomics, a spin-then-sleep barrier. */
#include "team.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
unsigned long long fnn_team_ticks(void) { return __rdtsc(); }
#elif defined(_WIN32)
#include <windows.h>
unsigned long long fnn_team_ticks(void) {
    LARGE_INTEGER c;
    QueryPerformanceCounter(&c);
    return (unsigned long long)c.QuadPart;
}
#else
#include <time.h>
unsigned long long fnn_team_ticks(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec;
}
#endif

#if defined(_WIN32)

struct fnn_team {
    int n, stop;
};
int fnn_team_run(int n, fnn_team_fn fn, void *ctx) {
    (void)n;
    struct fnn_team team = {1, 0};
    fn(ctx, &team, 0);
    return 1;
}
int fnn_team_sync(fnn_team *team) { return team->stop; }
void fnn_team_stop(fnn_team *team) { team->stop = 1; }
int fnn_team_size(const fnn_team *team) { return team->n; }
int fnn_team_stopped(const fnn_team *team) { return team->stop; }
ptrdiff_t fnn_team_claim(ptrdiff_t *counter) { return (*counter)++; }
unsigned long long fnn_team_take_wait(void) { return 0; }

#else

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

/* Bind the pthread calls to their oldest symbol versions. glibc 2.34 moved them from libpthread into
 * libc under new versions (GLIBC_2.34; pthread_sigmask GLIBC_2.32), so a build on a newer glibc
 * would otherwise need glibc >= 2.34; bound to the old versions, which every glibc since keeps, the
 * extension needs only glibc 2.17 symbols (manylinux2014) wherever it is built. */
#if defined(__linux__) && defined(__GLIBC__) && !defined(FASTNN_NO_SYMVER)
#if defined(__x86_64__)
#define FNN_GLIBC_BASE "GLIBC_2.2.5"
#elif defined(__aarch64__)
#define FNN_GLIBC_BASE "GLIBC_2.17"
#endif
#ifdef FNN_GLIBC_BASE
__asm__(".symver pthread_create,pthread_create@" FNN_GLIBC_BASE);
__asm__(".symver pthread_join,pthread_join@" FNN_GLIBC_BASE);
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@" FNN_GLIBC_BASE);
__asm__(".symver pthread_sigmask,pthread_sigmask@" FNN_GLIBC_BASE);
#endif
#endif

/* Spins before sleeping: ~20 µs on a 3 GHz core, longer than a barrier's wait when the threads
 * have cores of their own, short enough that a thread without one soon gives it back. */
#define FNN_SPINS 4000

struct fnn_team {
    int n;
    atomic_int arrived;
    atomic_uint generation;
    atomic_int sleepers;
    atomic_int stop;
    pthread_mutex_t mutex;
    pthread_cond_t cond;
    fnn_team_fn fn;
    void *ctx;
};

typedef struct {
    fnn_team *team;
    int tid;
} fnn_member;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void wake_all(fnn_team *t) {
    if (atomic_load(&t->sleepers) > 0) {
        pthread_mutex_lock(&t->mutex);
        pthread_cond_broadcast(&t->cond);
        pthread_mutex_unlock(&t->mutex);
    }
}

/* this thread's ticks spent waiting at barriers (fnn_team_take_wait) */
static _Thread_local unsigned long long waited;

unsigned long long fnn_team_take_wait(void) {
    const unsigned long long w = waited;
    waited = 0;
    return w;
}

static int sync_wait(fnn_team *t);

int fnn_team_sync(fnn_team *t) {
    /* A barrier that completed (every thread arrived) returns 0 even if a thread that ran ahead
     * has since stopped the team: the stop is for a later barrier, which it will never reach. A
     * barrier returns 1 only when the team was stopped before it completed. */
    if (t->n == 1) return atomic_load_explicit(&t->stop, memory_order_relaxed);
    const unsigned long long t0 = fnn_team_ticks();
    const int r = sync_wait(t);
    waited += fnn_team_ticks() - t0;
    return r;
}

static int sync_wait(fnn_team *t) {
    const unsigned gen = atomic_load(&t->generation);
    if (atomic_load(&t->stop)) return 1;
    if (atomic_fetch_add(&t->arrived, 1) == t->n - 1) { /* the last one in releases the others */
        atomic_store(&t->arrived, 0);
        atomic_fetch_add(&t->generation, 1); /* seq_cst: pairs with sleepers below */
        wake_all(t);
        return 0;
    }
    for (int i = 0; i < FNN_SPINS; i++) {
        if (atomic_load_explicit(&t->generation, memory_order_acquire) != gen) return 0;
        if (atomic_load(&t->stop)) return atomic_load(&t->generation) == gen;
        cpu_relax();
    }
    pthread_mutex_lock(&t->mutex);
    atomic_fetch_add(&t->sleepers, 1);
    while (atomic_load(&t->generation) == gen && !atomic_load(&t->stop))
        pthread_cond_wait(&t->cond, &t->mutex);
    atomic_fetch_sub(&t->sleepers, 1);
    pthread_mutex_unlock(&t->mutex);
    return atomic_load(&t->generation) == gen;
}

void fnn_team_stop(fnn_team *t) {
    atomic_store(&t->stop, 1);
    if (t->n == 1) return; /* (a team of one has no mutex: nobody to wake) */
    pthread_mutex_lock(&t->mutex); /* a thread between its check and its wait holds the mutex */
    pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->mutex);
}

int fnn_team_size(const fnn_team *t) { return t->n; }
int fnn_team_stopped(const fnn_team *t) { return atomic_load((atomic_int *)&t->stop); }
ptrdiff_t fnn_team_claim(ptrdiff_t *counter) {
    return __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static void *member_main(void *arg) {
    fnn_member *m = (fnn_member *)arg;
    m->team->fn(m->team->ctx, m->team, m->tid);
    return NULL;
}

static void team_init(fnn_team *t, int n, fnn_team_fn fn, void *ctx) {
    t->n = n;
    atomic_init(&t->arrived, 0);
    atomic_init(&t->generation, 0);
    atomic_init(&t->sleepers, 0);
    atomic_init(&t->stop, 0);
    t->fn = fn;
    t->ctx = ctx;
}

int fnn_team_run(int n, fnn_team_fn fn, void *ctx) {
    if (n > FNN_TEAM_MAX) n = FNN_TEAM_MAX;
    fnn_team team;
    if (n <= 1) {
        team_init(&team, 1, fn, ctx);
        fn(ctx, &team, 0);
        return 1;
    }
    pthread_t threads[FNN_TEAM_MAX];
    fnn_member members[FNN_TEAM_MAX];
    team_init(&team, n, fn, ctx);
    pthread_mutex_init(&team.mutex, NULL);
    pthread_cond_init(&team.cond, NULL);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited by the workers */
    int started = 1;
    for (; started < n; started++) {
        members[started].team = &team;
        members[started].tid = started;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 256 * 1024);
        int err = pthread_create(&threads[started], &attr, member_main, &members[started]);
        pthread_attr_destroy(&attr);
        if (err != 0) break;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int ran = n;
    if (started < n) {
        /* The started members wait at their first barrier for tid 0 (which has not run): stop
         * them there, before any of them changed a parameter, and run on the caller alone. */
        fnn_team_stop(&team);
        for (int i = 1; i < started; i++) pthread_join(threads[i], NULL);
        fnn_team alone;
        team_init(&alone, 1, fn, ctx);
        fn(ctx, &alone, 0);
        ran = 1;
    } else {
        fn(ctx, &team, 0);
        for (int i = 1; i < n; i++) pthread_join(threads[i], NULL);
    }
    pthread_cond_destroy(&team.cond);
    pthread_mutex_destroy(&team.mutex);
    return ran;
}

#endif
