/*
 * frontend/frontend_int.h: limits shared by the front end and its tests.
 *
 * Every limit keeps a hostile or mistaken input from hanging snnc or
 * exhausting memory; each is justified beside its value.
 */
#ifndef SNN_FRONTEND_FRONTEND_INT_H
#define SNN_FRONTEND_FRONTEND_INT_H

#include <stddef.h>
#include <stdint.h>

/* Largest input file: far above any hand-written network (the examples are
 * a few kilobytes), small enough that reading it whole is harmless. */
#define SNN_FE_MAX_FILE_BYTES ((size_t)256 << 20)

/* Largest number of YAML nodes in one document.  The parsed tree costs
 * about 40 bytes a node, so this bounds it near 350 MiB; it still holds a
 * from_list of 2.5 million synapses or a 2800 x 2800 matrix.  Bigger
 * explicit connectivity belongs in a connector rule. */
#define SNN_FE_MAX_NODES ((size_t)1 << 23)

/* Largest number of node visits while reading the document, aliases
 * expanded.  Twice the node cap leaves room for sharing parameter lists
 * through anchors; an alias bomb (billion laughs) needs far more and is
 * refused instead of being expanded. */
#define SNN_FE_MAX_VISITS ((size_t)1 << 25)

/* Deepest nesting of collections (and of chained merge keys).  The format
 * itself nests at most seven levels deep; the cap bounds the recursion of
 * the reader. */
#define SNN_FE_MAX_DEPTH 64

/* Largest single array the front end builds from the text (spike times
 * repeated for every neuron, a connection matrix, a list). */
#define SNN_FE_MAX_ARRAY_BYTES ((size_t)1 << 30)

/* Errors reported before the reader gives up, as compilers do. */
#define SNN_FE_MAX_ERRORS 50

/* Largest population: neuron indices are uint32_t in the IR and signed
 * 32-bit in some targets' tables. */
#define SNN_FE_MAX_POP_SIZE ((uint32_t)INT32_MAX)

#endif
