/*
 * support/arena.c: chunked bump allocator.
 *
 * Chunks form a singly linked list, newest first.  A request larger than
 * a quarter of the default chunk gets a chunk of its own so big arrays do
 * not waste the tail of a shared chunk.
 */
#include "support/arena.h"
#include "support/err.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { CHUNK_BYTES = 64 * 1024, ALIGN = 16 };

struct chunk {
    struct chunk *next;
    size_t size, used;
    _Alignas(ALIGN) unsigned char data[];
};

struct snn_arena {
    struct chunk *head;
    size_t handed_out;
};

/* Atomic: threads allocate too (the simulator's expansion).  A countdown
 * at 0 fails every allocation; fail_once sets it to -1 at the first. */
static _Atomic long fail_countdown = -1;
static atomic_bool fail_once;

void snn_alloc_fail_after(long n)
{
    atomic_store(&fail_once, false);
    atomic_store(&fail_countdown, n);
}

void snn_alloc_fail_once(long n)
{
    atomic_store(&fail_once, true);
    atomic_store(&fail_countdown, n);
}

static int should_fail(void)
{
    long n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (n > 0 && !atomic_compare_exchange_weak(&fail_countdown, &n, n - 1))
        ;
    if (n != 0)
        return 0;
    return !atomic_load(&fail_once) || atomic_compare_exchange_strong(&fail_countdown, &n, -1);
}

void *snn_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }
void *snn_calloc(size_t c, size_t s) { return should_fail() ? NULL : calloc(c ? c : 1, s ? s : 1); }
void *snn_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }
void snn_free(void *p) { free(p); }

struct snn_arena *snn_arena_new(void)
{
    return snn_calloc(1, sizeof(struct snn_arena));
}

void snn_arena_free(struct snn_arena *a)
{
    if (!a)
        return;
    struct chunk *c = a->head;
    while (c) {
        struct chunk *next = c->next;
        snn_free(c);
        c = next;
    }
    snn_free(a);
}

void *snn_arena_alloc(struct snn_arena *a, size_t n)
{
    if (n > SIZE_MAX - ALIGN)
        return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (n == 0)
        n = ALIGN;
    struct chunk *c = a->head;
    if (!c || c->size - c->used < n) {
        size_t size = n > CHUNK_BYTES / 4 ? n : CHUNK_BYTES;
        if (size > SIZE_MAX - sizeof(struct chunk))
            return NULL;
        struct chunk *nc = snn_malloc(sizeof(struct chunk) + size);
        if (!nc)
            return NULL;
        nc->size = size;
        nc->used = 0;
        if (c && size != CHUNK_BYTES) {
            /* A private chunk for a big block: keep the current chunk on top. */
            nc->next = c->next;
            c->next = nc;
        } else {
            nc->next = c;
            a->head = nc;
        }
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    a->handed_out += n;
    memset(p, 0, n);
    return p;
}

void *snn_arena_array(struct snn_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return snn_arena_alloc(a, count * size);
}

char *snn_arena_strndup(struct snn_arena *a, const char *s, size_t n)
{
    char *d = snn_arena_alloc(a, n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

char *snn_arena_strdup(struct snn_arena *a, const char *s)
{
    return snn_arena_strndup(a, s, strlen(s));
}

int snn_arena_grow(struct snn_arena *a, void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return SNN_ENOMEM;
        ncap *= 2;
    }
    void *n = snn_arena_array(a, ncap, size);
    if (!n)
        return SNN_ENOMEM;
    if (*cap)
        memcpy(n, *arr, *cap * size);
    *arr = n;
    *cap = ncap;
    return 0;
}

size_t snn_arena_used(const struct snn_arena *a) { return a->handed_out; }
