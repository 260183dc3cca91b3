/*
 * support/barrier.h: how threads that meet every few microseconds (the
 * reference simulator's and the board emulator's timesteps) wait for each
 * other.
 *
 * The primitive is a published word: one thread stores a new value in a
 * word of its own (snn_word_publish), others wait until it holds the value
 * they expect (snn_word_wait).  A thread that publishes what it computed
 * beside the word, in the same cache line, hands both over in the one
 * transfer of that line, which is the least two cores can exchange.
 *
 * A waiter spins for a while (a step takes microseconds, waking a
 * sleeping thread tens of them), then yields the processor a few times
 * (the thread it waits for may be queued behind it on the same core),
 * then sleeps on the word (a futex on Linux).  The spin budget adapts per
 * thread: it halves after a wait that outlasted it and grows back after
 * waits that did not, so a machine busy with other work sees short spins
 * and an idle one long enough.  pthread_barrier_wait sleeps at once, which
 * costs a kernel round trip per step and thread.
 *
 * snn_barrier is the all-meet form, built on the same waiting.
 */
#ifndef SNN_SUPPORT_BARRIER_H
#define SNN_SUPPORT_BARRIER_H

#include <stdatomic.h>

/* Publishes value in *word (sequentially consistent: what the caller wrote
 * before is visible to a thread that sees the value) and wakes the threads
 * asleep on it.  sleepers: the count every waiter on the word keeps. */
void snn_word_publish(atomic_uint *word, unsigned value, atomic_uint *sleepers);

/* Returns when *word == want; what its publisher wrote before publishing
 * want is then visible to the caller. */
void snn_word_wait(atomic_uint *word, unsigned want, atomic_uint *sleepers);

struct snn_barrier {
    /* Each word changes every step: a cache line each, so that fields
     * beside the barrier are not dragged from core to core with them. */
    _Alignas(64) atomic_uint count;
    _Alignas(64) atomic_uint gen;
    atomic_uint sleepers;
    unsigned threads;
};

/* A barrier for `threads` threads (at least 1; with 1 a wait returns at
 * once). */
void snn_barrier_init(struct snn_barrier *b, unsigned threads);

/* Returns when all `threads` threads have called it (once each per round);
 * what each wrote before its call is visible to all after theirs. */
void snn_barrier_wait(struct snn_barrier *b);

#endif
