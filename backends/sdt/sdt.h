/*
 * backends/sdt/sdt.h: the sdt backend: a verified, quantized layer graph
 * (ir/layer.h, ir/lquant.h) lowered to a program of the sdt accelerator
 * (docs/sdt-accelerator.md, section "Lowering") and written as an image of
 * family sdt (docs/image-format.md, "sdt sections").
 *
 * snn_sdt_lower fuses nodes into descriptors (conv -> LIF, conv -> add ->
 * LIF, a LIF on a materialised tensor with the identity requantization),
 * allocates DMEM, WMEM, QMEM and EVT once for the whole run, assigns the
 * event lists to list registers by liveness within the step, lays out
 * weights and requantization pairs as the contract says, and checks every
 * descriptor as the sequencer will (abi/sdt.h, snn_sdt_check_desc).  What
 * does not fit or is not supported is an error naming the layer and the
 * limit.  snn_sdt_image_write then writes the program, the memories' images,
 * the list registers, the input of every step and the table of outputs.
 *
 * The program is plain data so tests can hold it to the layouts field by
 * field.  The same graph, quantization and target give the same program
 * and the same image bytes.
 *
 * Memory: a program owns one arena (snn_sdt_program_free); the names it
 * holds are copies.
 */
#ifndef SNN_BACKENDS_SDT_SDT_H
#define SNN_BACKENDS_SDT_SDT_H

#include <stdint.h>
#include <stdio.h>

#include "abi/sdt.h"
#include "ir/layer.h"
#include "ir/lquant.h"
#include "support/diag.h"
#include "target/sdt.h"

/* A DMEM or EVT region the backend allocated, for reports and tests. */
struct snn_sdt_region {
    const char *what;   /* "out", "acc", "state", "kv", "scratch", "input", "list" */
    uint32_t node;      /* the layer it belongs to (lists: the register) */
    uint32_t base, words;
};

/* What the backend did with one node of the graph (NONE: not used). */
struct snn_sdt_node_info {
    uint32_t dense;       /* DMEM: the dense output tensor, or NONE (not materialised) */
    uint32_t acc;         /* DMEM: the accumulator (conv, sumpool, SDSA v2) */
    uint32_t state;       /* DMEM: neuron state (LIF, I-LIF: V then S; SDSA v1: its V) */
    uint32_t wmem, wmem_words;
    uint32_t qmem;        /* QMEM: its requantization pairs (conv, sumpool, SDSA v2) */
    uint32_t list;        /* the list register of its events, or NONE */
    uint32_t list_first, list_last; /* the descriptors that write and last read it */
    uint32_t fused_into;  /* the node whose NEURON consumes it, or NONE */
    uint32_t first_desc, n_desc;    /* its descriptors (in the program) */
};

struct snn_sdt_program {
    struct snn_arena *arena;
    /* the target it was built for */
    char name[32];
    struct snn_sdt_hw hw;
    uint32_t fifo_log2, clock_mhz;
    struct snn_sdt_energy energy;   /* source: a copy */
    uint32_t timesteps;
    uint64_t seed;

    uint32_t n_desc;                /* END included */
    uint32_t (*desc)[SNN_SDT_DESC_WORDS];
    uint32_t wmem_words;
    uint8_t *wmem;                  /* wmem_words * lanes bytes */
    uint32_t qmem_words;
    int32_t *qmem;                  /* qmem_words * lanes * 2: lane l's m then b */
    uint32_t dmem_words, evt_words; /* used, from word 0 */
    uint32_t list_base[SNN_SDT_LISTS], list_cap[SNN_SDT_LISTS];

    /* the input and its events, every step */
    struct snn_sdt_image_input input;
    uint32_t *in_off;               /* [steps + 1] */
    uint32_t *in_events;            /* [input.n_events] */

    /* the outputs to read back */
    uint32_t n_out;
    struct snn_sdt_image_output *out;
    const char **out_name;          /* [n_out] */

    /* per node, and every region allocated */
    uint32_t n_nodes;
    struct snn_sdt_node_info *node;
    uint32_t n_regions;
    struct snn_sdt_region *regions;
};

/*
 * Lowers net's layer graph (verified; lq its quantization) for target t.
 * 0 and *out, or SNN_ETOOBIG (a memory, PMEM or the list registers
 * overflow), SNN_EUNSUPPORTED (a graph the accelerator cannot run), each
 * reported to d with the layer's name and location, or SNN_EINVAL (a net
 * without a layer graph, a bug in the caller), SNN_ENOMEM.  Nothing is
 * returned on failure.
 */
int snn_sdt_lower(const struct snn_net *net, const struct snn_lquant *lq,
                  const struct snn_sdt_target *t, struct snn_diag *d,
                  struct snn_sdt_program **out);
void snn_sdt_program_free(struct snn_sdt_program *p);

/* Writes p's image to out (binary, from its current position).  0,
 * SNN_ENOMEM or SNN_EIO (a failed write, reported).  On failure out holds
 * a partial image: write to a temporary file and rename it into place. */
int snn_sdt_image_write(const struct snn_sdt_program *p, FILE *out, struct snn_diag *d);

#endif
