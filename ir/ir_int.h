/*
 * ir/ir_int.h: helpers shared inside ir/ only.
 */
#ifndef SNN_IR_IR_INT_H
#define SNN_IR_IR_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

/*
 * Finds populations whose name repeats an earlier population's name and
 * calls dup(ctx, first, again) for each (first: the earliest population of
 * that name; dup may be NULL).  NULL names never count; empty names count
 * unless skip_empty.  Returns how many repeats there are.  Needs scratch
 * memory for a sort and falls back to a quadratic scan without it, so it
 * cannot fail.
 */
uint32_t snn__pop_name_dups(const struct snn_net *net, bool skip_empty,
                            void (*dup)(void *ctx, uint32_t first, uint32_t again), void *ctx);

#endif
