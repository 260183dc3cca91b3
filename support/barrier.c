/*
 * support/barrier.c: published words and the step barrier
 * (support/barrier.h).
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

/* Tells the core it is in a spin loop: it then neither floods the memory
 * system with reads nor mispredicts the loop's exit. */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static void wake(atomic_uint *word, atomic_uint *sleepers)
{
#ifdef __linux__
    if (atomic_load(sleepers))
        syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
#else
    (void)word;
    (void)sleepers;
#endif
}

/* Waits until *word == v (equal) or *word != v (!equal). */
static void wait_for(atomic_uint *word, unsigned v, bool equal, atomic_uint *sleepers)
{
    double deadline = 0;
    bool outlasted = false;
    for (unsigned spin = 1;; spin++) {
        unsigned x = atomic_load(word);
        if ((x == v) == equal)
            break;
        relax();
        if (spin % 64)
            continue;
        double now = now_s();
        if (deadline == 0)
            deadline = now + spin_budget;
        if (now < deadline)
            continue;
        outlasted = true;
        for (int y = 0; y < 16 && atomic_load(word) == x; y++)
            sched_yield();
#ifdef __linux__
        /* The publisher stores, then reads sleepers; this thread counts
         * itself, then reads the word: one of the two sees the other. */
        atomic_fetch_add(sleepers, 1);
        if (atomic_load(word) == x)
            syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, x, NULL, NULL, 0);
        atomic_fetch_sub(sleepers, 1);
#endif
    }
    if (outlasted)
        spin_budget = spin_budget / 2 > SPIN_MIN_S ? spin_budget / 2 : SPIN_MIN_S;
    else if (spin_budget < SPIN_MAX_S)
        spin_budget *= 1.125;
}

void snn_word_publish(atomic_uint *word, unsigned value, atomic_uint *sleepers)
{
    atomic_store(word, value);
    wake(word, sleepers);
}

void snn_word_wait(atomic_uint *word, unsigned want, atomic_uint *sleepers)
{
    wait_for(word, want, true, sleepers);
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
        snn_word_publish(&b->gen, gen + 1, &b->sleepers);
        return;
    }
    wait_for(&b->gen, gen, false, &b->sleepers);
}
