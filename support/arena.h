/*
 * support/arena.h: region allocation.
 *
 * An arena hands out memory that lives until the arena is freed; nothing
 * is freed one by one.  The IR of one network lives in one arena, so a
 * failed parse or pass frees everything it built with one call and
 * nothing is left half-written.
 *
 * Allocation failures are values: snn_arena_alloc() returns NULL and the
 * caller returns SNN_ENOMEM.  Tests make the Nth allocation fail
 * (snn_alloc_fail_after) to check that every path handles it.
 */
#ifndef SNN_SUPPORT_ARENA_H
#define SNN_SUPPORT_ARENA_H

#include <stddef.h>

struct snn_arena;

/* A new, empty arena, or NULL when memory is exhausted. */
struct snn_arena *snn_arena_new(void);
/* Frees the arena and everything allocated from it.  NULL is a no-op. */
void snn_arena_free(struct snn_arena *a);

/* Zeroed memory of n bytes aligned for any type, or NULL. */
void *snn_arena_alloc(struct snn_arena *a, size_t n);
/* Zeroed array of count elements of size bytes; NULL on overflow too. */
void *snn_arena_array(struct snn_arena *a, size_t count, size_t size);
/* Copy of the first n bytes of s, NUL-terminated, or NULL. */
char *snn_arena_strndup(struct snn_arena *a, const char *s, size_t n);
char *snn_arena_strdup(struct snn_arena *a, const char *s);
/* Grows *arr (of *cap elements of size bytes) to hold at least need
 * elements, doubling; the old block stays in the arena.  0 or SNN_ENOMEM. */
int snn_arena_grow(struct snn_arena *a, void **arr, size_t *cap, size_t need, size_t size);
/* Bytes handed out so far (for memory reports). */
size_t snn_arena_used(const struct snn_arena *a);

/*
 * Every heap allocation of snnc's libraries goes through snn_malloc /
 * snn_calloc / snn_realloc / snn_free so tests can inject failures.
 */
void *snn_malloc(size_t n);
void *snn_calloc(size_t count, size_t size);
void *snn_realloc(void *p, size_t n);
void snn_free(void *p);

/* Test hooks: after n more successful allocations, every allocation fails
 * until the hook is reset with a negative n; or only that one fails (a
 * caller that goes on after a failure then shows).  Tests only; threads
 * allocating meanwhile count as one. */
void snn_alloc_fail_after(long n);
void snn_alloc_fail_once(long n);

#endif
