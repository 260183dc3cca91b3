/*
 * abi/monitor.h: the command protocol between a host and a chip's
 * monitor core (firmware/monitor.c; docs/monitor.md is the byte-level
 * description with every op, state and status).
 *
 * The monitor is the one core of a chip that takes commands: it writes
 * what they carry into the application cores' DTCM, the chip's SDRAM and
 * the router's staging table, commits the routing table, binds the core
 * kernel (firmware/core.h) to each core's images, starts and stops the
 * cores, and answers reads of memories and counters.  The board
 * controller (later a USB transport) and the emulator both speak it, so
 * what runs on a board is what the emulator runs.
 *
 * A message is 32-bit little-endian words, no pointers: a fixed 8-word
 * header, then n_words payload words.  Requests and responses have the
 * same shape (word 3 is the payload's length in both), so a transport
 * frames them the same way: 8 + word 3 words.  Every field of a request is
 * outside data: the monitor checks each before use and answers every
 * request, a malformed one with an error status.
 *
 * Freestanding: includes only stdint.h and other abi/ headers.
 */
#ifndef SNN_ABI_MONITOR_H
#define SNN_ABI_MONITOR_H

#include <stdint.h>

#include "abi/image.h"

/* The protocol's version (INFO); changes whenever anything here does. */
#define SNN_MON_VERSION 1u

/* The most payload words of one message: 256 words = 1 KiB.  It bounds
 * the monitor's buffers (one request, one response: about 2 KiB of its
 * 64 KiB DTCM), keeps a command inside one USB bulk transfer of a few
 * 512-byte packets, and is a whole number of router entries (64); a
 * 64 KiB DTCM image is still loaded in 64 commands. */
#define SNN_MON_MAX_PAYLOAD_WORDS 256u

/* The most cores a chip may have: a route word (abi/image.h) holds six
 * link bits and one bit per core in 64 bits, so no chip can be routed to
 * more than 58 cores.  Core masks are therefore two words (lo: cores
 * 0 .. 31, hi: cores 32 .. 57). */
#define SNN_MON_MAX_CORES 58u

/* ---- the request header: 32 bytes ----------------------------------------
 *
 *   OFFSET SIZE  FIELD
 *        0    4  op        enum snn_mon_op
 *        4    4  seq       any value; echoed in the response
 *        8    4  core      the core an op on one core acts on (else 0)
 *       12    4  n_words   payload words after the header, <= 256
 *       16   16  arg[4]    the op's arguments (unused ones: 0)
 *       32  4 n  payload
 */
struct snn_mon_req {
    uint32_t op;
    uint32_t seq;
    uint32_t core;
    uint32_t n_words;
    uint32_t arg[4];
};

/* ---- the response header: 32 bytes ---------------------------------------
 *
 *   OFFSET SIZE  FIELD
 *        0    4  status    enum snn_mon_status
 *        4    4  seq       the request's (0 if the request was too short to hold it)
 *        8    4  op        the request's (likewise)
 *       12    4  n_words   payload words after the header
 *       16   16  value[4]  the op's results, or an error's details
 *       32  4 n  payload
 */
struct snn_mon_resp {
    uint32_t status;
    uint32_t seq;
    uint32_t op;
    uint32_t n_words;
    uint32_t value[4];
};

#define SNN_MON_HEADER_WORDS 8u
/* The longest message, header included: the buffer a transport needs. */
#define SNN_MON_MAX_WORDS (SNN_MON_HEADER_WORDS + SNN_MON_MAX_PAYLOAD_WORDS)

/* The ops.  0 is none, so a zeroed buffer is never a command.
 *
 *   op      core   arg[0]      arg[1]       arg[2]        payload   result
 *   INFO    -      -           -            -             -         payload struct snn_mon_info
 *   WRITE   core*  space       byte offset  -             words     value[0] words written
 *   READ    core*  space       byte offset  words         -         payload the words
 *   ROUTES  -      n entries   -            -             -         value[0] n
 *   LOAD    core   block off   block bytes  stored bytes  -         value[0] ring offset, [1] ring words
 *   START   -      mask lo     mask hi      -             -         value[0..1] running mask
 *   STOP    -      mask lo     mask hi      -             -         value[0..1] running mask
 *   STATUS  core   -           -            -             -         payload struct snn_mon_core_status
 *   RESET   -      mask lo     mask hi      -             -         value[0..1] running mask
 *   INJECT  core   -           -            -             neurons   value[0] neurons given
 *
 * core*: the DTCM space's core; ignored for the chip's spaces. */
enum snn_mon_op {
    SNN_MON_INFO = 1,   /* the chip: versions, cores, memories, router */
    SNN_MON_WRITE = 2,  /* words into a space (an EMPTY core's DTCM, SDRAM, router staging) */
    SNN_MON_READ = 3,   /* words out of a space */
    SNN_MON_ROUTES = 4, /* check and commit the first n staged router entries */
    SNN_MON_LOAD = 5,   /* bind the kernel of an EMPTY core to its DTCM image and SDRAM block */
    SNN_MON_START = 6,  /* LOADED or STOPPED cores start running */
    SNN_MON_STOP = 7,   /* RUNNING cores stop */
    SNN_MON_STATUS = 8, /* a core's state, last step, memories and counters */
    SNN_MON_RESET = 9,  /* cores back to EMPTY (their DTCM writable again) */
    SNN_MON_INJECT = 10 /* spike-source neurons of a bound core fire at its next tick */
};
#define SNN_MON_OP_LAST SNN_MON_INJECT

/* The memories WRITE and READ address, by byte offset (a multiple of 4). */
enum snn_mon_space {
    SNN_MON_DTCM = 1,   /* the core's DTCM buffer: the image, then its ring buffers */
    SNN_MON_SDRAM = 2,  /* the chip's SDRAM */
    SNN_MON_ROUTER = 3, /* the router's staging table: struct snn_image_route entries */
    SNN_MON_TABLE = 4   /* the committed table (read only): committed x 16 bytes */
};

/* A core's state.  EMPTY --LOAD--> LOADED --START--> RUNNING --STOP-->
 * STOPPED --START--> RUNNING; RESET takes any state to EMPTY.  Only an
 * EMPTY core's DTCM is written, and only a RUNNING core is ticked (by
 * the platform). */
enum snn_mon_state {
    SNN_MON_EMPTY = 0,
    SNN_MON_LOADED = 1,
    SNN_MON_RUNNING = 2,
    SNN_MON_STOPPED = 3
};

/* Every response's status; value[] gives the details of an error. */
enum snn_mon_status {
    SNN_MON_OK = 0,
    SNN_MON_BAD_OP = 1,       /* no such op */
    SNN_MON_BAD_LENGTH = 2,   /* header and n_words disagree with the words given or the op;
                               * value[0] the words the header says, value[1] those given */
    SNN_MON_BAD_CORE = 3,     /* no such core, a dead one, or the monitor's own; value[0] it */
    SNN_MON_BAD_SPACE = 4,    /* no such space, or a write to a read-only one; value[0] it */
    SNN_MON_OUT_OF_RANGE = 5, /* offset + length outside the memory, or n above the router's
                               * capacity; value[0] the memory's bytes (entries for ROUTES) */
    SNN_MON_BAD_ALIGN = 6,    /* a byte offset or size not a multiple of 4; value[0] it */
    SNN_MON_BAD_STATE = 7,    /* the core's state forbids the op; value[0] the state,
                               * value[1] the core */
    SNN_MON_REFUSED = 8,      /* the kernel refused the image; value[0] its enum
                               * snn_core_error */
    SNN_MON_TOO_BIG = 9,      /* a payload above 256 words asked or given, or a response
                               * that does not fit the platform's buffer; value[0] the limit */
    SNN_MON_BAD_ROUTE = 10,   /* a staged entry can never match (a key bit outside its
                               * mask) or routes to no core of the chip; value[0] its index */
    SNN_MON_OVERLAP = 11      /* the SDRAM block overlaps a bound core's block, or a write
                               * into a RUNNING core's block; value[0] that core */
};
#define SNN_MON_STATUS_LAST SNN_MON_OVERLAP

/* INFO's payload: 48 bytes.  A host checks these against the image's
 * machine (struct snn_image_machine) before it loads anything. */
struct snn_mon_info {
    uint32_t version;            /* SNN_MON_VERSION */
    uint32_t core_image_version; /* the kernel's SNN_CORE_IMAGE_VERSION */
    uint32_t n_cores;            /* the chip's cores, the monitor's included */
    uint32_t monitor_core;       /* the monitor's own core */
    uint32_t cores_lo, cores_hi; /* the application cores present (not dead, not the monitor) */
    uint32_t dtcm_bytes;         /* the smallest DTCM buffer of a present core */
    uint32_t sdram_bytes;        /* the chip's SDRAM the monitor manages */
    uint32_t router_entries;     /* the router's capacity */
    uint32_t routes_committed;   /* entries of the committed table */
    uint32_t max_payload_words;  /* SNN_MON_MAX_PAYLOAD_WORDS */
    uint32_t reserved;           /* 0 */
};

/* STATUS's payload: 72 bytes. */
struct snn_mon_core_status {
    uint32_t state;              /* enum snn_mon_state */
    uint32_t now;                /* the last step ticked; 0xFFFFFFFF before the first */
    uint32_t dtcm_bytes;         /* the core's DTCM buffer */
    uint32_t ring_off;           /* where its ring buffers start (bound cores) */
    uint32_t ring_words;         /* ... and the words they may take */
    uint32_t block_off;          /* its SDRAM block (bound cores) */
    uint32_t block_bytes;
    uint32_t reserved;           /* 0 */
    /* the kernel's counters (struct snn_core_counters, in its order) */
    uint32_t packets, unknown, empty, rows, synapses, spikes, steps, queue_max, saturations;
    uint32_t reserved2;          /* 0 */
};

_Static_assert(sizeof(struct snn_mon_req) == 4 * SNN_MON_HEADER_WORDS, "a request header is 32 bytes");
_Static_assert(sizeof(struct snn_mon_resp) == 4 * SNN_MON_HEADER_WORDS,
               "a response header is 32 bytes");
_Static_assert(sizeof(struct snn_mon_info) == 48, "INFO's payload is 48 bytes");
_Static_assert(sizeof(struct snn_mon_core_status) == 72, "STATUS's payload is 72 bytes");
_Static_assert(SNN_MON_MAX_PAYLOAD_WORDS * 4 % sizeof(struct snn_image_route) == 0,
               "a full payload is whole router entries");

#endif
