/*
 * support/barrier.c: the step barrier (support/barrier.h).
 */
#define _DEFAULT_SOURCE /* syscall() for the futex */
#include "support/barrier.h"

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#endif

#define SPIN_MAX_S 200e-6
#define SPIN_MIN_S 2e-6

static _Thread_local double spin_budget = SPIN_MAX_S;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void snn_barrier_init(struct snn_barrier *b, unsigned threads)
{
    atomic_init(&b->count, 0);
    atomic_init(&b->gen, 0);
    atomic_init(&b->sleepers, 0);
    b->threads = threads ? threads : 1;
}

void snn_barrier_wait(struct snn_barrier *b)
{
    if (b->threads == 1)
        return;
    unsigned gen = atomic_load(&b->gen);
    if (atomic_fetch_add(&b->count, 1) == b->threads - 1) {
        atomic_store(&b->count, 0);
        atomic_fetch_add(&b->gen, 1);
#ifdef __linux__
        if (atomic_load(&b->sleepers))
            syscall(SYS_futex, &b->gen, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
#endif
        return;
    }
    double deadline = 0;
    bool outlasted = false;
    for (unsigned spin = 1; atomic_load(&b->gen) == gen; spin++) {
        if (spin % 64)
            continue;
        double now = now_s();
        if (deadline == 0)
            deadline = now + spin_budget;
        if (now < deadline)
            continue;
        outlasted = true;
        for (int y = 0; y < 16 && atomic_load(&b->gen) == gen; y++)
            sched_yield();
#ifdef __linux__
        atomic_fetch_add(&b->sleepers, 1);
        if (atomic_load(&b->gen) == gen)
            syscall(SYS_futex, &b->gen, FUTEX_WAIT_PRIVATE, gen, NULL, NULL, 0);
        atomic_fetch_sub(&b->sleepers, 1);
#endif
    }
    if (outlasted)
        spin_budget = spin_budget / 2 > SPIN_MIN_S ? spin_budget / 2 : SPIN_MIN_S;
    else if (spin_budget < SPIN_MAX_S)
        spin_budget *= 1.125;
}
