/*
 * ir/layer.c: building and checking layer graphs (ir/layer.h).
 *
 * snn_layers_verify walks the nodes in order (inputs come first, so one
 * pass suffices), infers each output's shape and kind from its inputs and
 * parameters, and reports every rule a node breaks, at the node's
 * location.  The limits that are not the numeric contract's are the sdt
 * formats' own (docs/sdt-accelerator.md: an event names a channel in 10
 * bits and a position in 7 + 7), so a graph that verifies can be encoded.
 */
#include "ir/layer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "support/arena.h"
#include "support/err.h"

#define MAX_CHANNELS 1024u
#define MAX_SIDE 128u
#define MAX_TIMESTEPS 65535u

const char *snn_lop_name(enum snn_lop op)
{
    switch (op) {
    case SNN_L_INPUT: return "input";
    case SNN_L_CONV: return "conv";
    case SNN_L_LIF: return "lif";
    case SNN_L_ILIF: return "ilif";
    case SNN_L_ADD: return "add";
    case SNN_L_MAXPOOL: return "maxpool";
    case SNN_L_SUMPOOL: return "sumpool";
    case SNN_L_SDSA1: return "sdsa1";
    case SNN_L_SDSA2: return "sdsa2";
    case SNN_L_TOKENS: return "tokens";
    case SNN_L_FLATTEN: return "flatten";
    }
    return "?";
}

const char *snn_tkind_name(enum snn_tkind k)
{
    switch (k) {
    case SNN_T_SPIKES: return "spikes";
    case SNN_T_COUNTS: return "counts";
    case SNN_T_Q16: return "q16";
    }
    return "?";
}

struct snn_layer_graph *snn_net_layers(struct snn_net *net)
{
    if (!net->layers) {
        net->layers = snn_arena_alloc(net->arena, sizeof *net->layers);
        if (!net->layers)
            return NULL;
        memset(net->layers, 0, sizeof *net->layers);
        net->layers->timesteps = 1;
    }
    return net->layers;
}

struct snn_lnode *snn_layers_add(struct snn_net *net, const char *name, enum snn_lop op)
{
    struct snn_layer_graph *g = snn_net_layers(net);
    if (!g)
        return NULL;
    void *arr = g->nodes;
    if (snn_arena_grow(net->arena, &arr, &g->nodes_cap, (size_t)g->n_nodes + 1,
                       sizeof(struct snn_lnode)))
        return NULL;
    g->nodes = arr;
    struct snn_lnode n;
    memset(&n, 0, sizeof n);
    n.name = snn_arena_strdup(net->arena, name);
    if (!n.name)
        return NULL;
    n.op = op;
    switch (op) {
    case SNN_L_CONV:
        n.u.conv.kernel = 1;
        n.u.conv.stride = 1;
        n.u.conv.pad = UINT32_MAX; /* (kernel - 1) / 2, once the kernel is known */
        n.u.conv.bits = 8;
        n.u.conv.bn_eps = 1e-5;
        break;
    case SNN_L_LIF:
        n.u.lif.tau_shift = 1;
        n.u.lif.threshold = 1.0;
        break;
    case SNN_L_ILIF:
        n.u.ilif.decay_shift = 2;
        n.u.ilif.d_max = 4;
        break;
    case SNN_L_MAXPOOL:
        n.u.pool.kernel = 3;
        n.u.pool.stride = 2;
        n.u.pool.pad = UINT32_MAX; /* kernel / 2 */
        break;
    case SNN_L_SDSA1:
        n.u.sdsa1.tau_shift = 1;
        n.u.sdsa1.threshold = 0.5;
        break;
    case SNN_L_SDSA2:
        n.u.sdsa2.heads = 1;
        n.u.sdsa2.scale = 1.0;
        break;
    default: break;
    }
    g->nodes[g->n_nodes] = n;
    return &g->nodes[g->n_nodes++];
}

int snn_layers_find(const struct snn_layer_graph *g, const char *name)
{
    for (uint32_t i = 0; g && i < g->n_nodes; i++)
        if (!strcmp(g->nodes[i].name, name))
            return (int)i;
    return -1;
}

/* ---- verification ------------------------------------------------------------ */

struct check {
    struct snn_diag *d;
    const struct snn_lnode *n;
    int bad;
};

#define FAIL(k, ...)                                                                          \
    do {                                                                                      \
        snn_diag_report((k)->d, SNN_SEV_ERROR, &(k)->n->loc, __VA_ARGS__);                     \
        (k)->bad = 1;                                                                         \
    } while (0)

static bool shape_ok(struct check *k, struct snn_shape s, const char *what)
{
    if (s.c == 0 || s.h == 0 || s.w == 0) {
        FAIL(k, "layer '%s': %s has an empty dimension [%u, %u, %u]", k->n->name, what, s.c, s.h,
             s.w);
        return false;
    }
    if (s.c > MAX_CHANNELS || s.h > MAX_SIDE || s.w > MAX_SIDE) {
        FAIL(k, "layer '%s': %s [%u, %u, %u] is too large: at most %u channels and %u rows and "
                "columns (an sdt event names a channel in 10 bits, a row and a column in 7)",
             k->n->name, what, s.c, s.h, s.w, MAX_CHANNELS, MAX_SIDE);
        return false;
    }
    return true;
}

/* An array must have exactly these dimensions, or be absent when allowed. */
static void array_ok(struct check *k, const struct snn_array *a, const char *what, bool required,
                     uint32_t ndim, const uint32_t *dims)
{
    if (!a->v) {
        if (required)
            FAIL(k, "layer '%s': no %s given", k->n->name, what);
        return;
    }
    bool same = a->ndim == ndim;
    for (uint32_t i = 0; same && i < ndim; i++)
        same = a->dims[i] == dims[i];
    if (!same) {
        char want[64] = "", got[64] = "";
        for (uint32_t i = 0; i < ndim; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%u", i ? ", " : "",
                     dims[i]);
        for (uint32_t i = 0; i < a->ndim && i < 4; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%u", i ? ", " : "",
                     a->dims[i]);
        FAIL(k, "layer '%s': %s (%s) has shape [%s], not [%s]", k->n->name, what,
             a->src ? a->src : "?", got, want);
        return;
    }
    size_t n = 1;
    for (uint32_t i = 0; i < ndim; i++)
        n *= dims[i];
    for (size_t i = 0; i < n; i++)
        if (!isfinite(a->v[i])) {
            FAIL(k, "layer '%s': %s (%s) holds a value that is not a finite number, at index %zu",
                 k->n->name, what, a->src ? a->src : "?", i);
            return;
        }
}

/* The output side of a k x k window, stride s, padding p over n. */
static uint32_t out_side(uint32_t n, uint32_t kk, uint32_t s, uint32_t p)
{
    uint64_t span = (uint64_t)n + 2ull * p;
    return span < kk ? 0 : (uint32_t)((span - kk) / s + 1);
}

static bool window_ok(struct check *k, uint32_t kernel, uint32_t stride, uint32_t pad)
{
    bool ok = true;
    if (kernel == 0 || kernel > 7 || kernel % 2 == 0) {
        FAIL(k, "layer '%s': kernel %u: it must be 1, 3, 5 or 7", k->n->name, kernel);
        ok = false;
    }
    if (stride != 1 && stride != 2) {
        FAIL(k, "layer '%s': stride %u: it must be 1 or 2", k->n->name, stride);
        ok = false;
    }
    if (ok && pad > kernel / 2) {
        FAIL(k, "layer '%s': padding %u is more than half the kernel (%u)", k->n->name, pad,
             kernel / 2);
        ok = false;
    }
    return ok;
}

static bool is_pow2_shift(uint32_t s) { return s >= 1 && s <= 8; }

static void verify_node(struct check *k, struct snn_layer_graph *g, uint32_t i)
{
    struct snn_lnode *n = &g->nodes[i];
    static const uint32_t want_in[] = {
        [SNN_L_INPUT] = 0, [SNN_L_CONV] = 1,    [SNN_L_LIF] = 1,     [SNN_L_ILIF] = 1,
        [SNN_L_ADD] = 2,   [SNN_L_MAXPOOL] = 1, [SNN_L_SUMPOOL] = 1, [SNN_L_SDSA1] = 3,
        [SNN_L_SDSA2] = 3, [SNN_L_TOKENS] = 1,  [SNN_L_FLATTEN] = 1};
    if (n->n_in != want_in[n->op]) {
        FAIL(k, "layer '%s': a %s layer takes %u input%s, not %u", n->name, snn_lop_name(n->op),
             want_in[n->op], want_in[n->op] == 1 ? "" : "s", n->n_in);
        return;
    }
    const struct snn_lnode *a = NULL, *b = NULL, *c = NULL;
    for (uint32_t j = 0; j < n->n_in; j++)
        if (n->in[j] >= i) {
            FAIL(k, "layer '%s': input %u is not an earlier layer", n->name, j + 1);
            return;
        }
    if (n->n_in > 0)
        a = &g->nodes[n->in[0]];
    if (n->n_in > 1)
        b = &g->nodes[n->in[1]];
    if (n->n_in > 2)
        c = &g->nodes[n->in[2]];
    /* an input that failed has shape 0: its errors are reported already */
    for (uint32_t j = 0; j < n->n_in; j++)
        if (g->nodes[n->in[j]].shape.c == 0)
            return;
    struct snn_shape s = a ? a->shape : (struct snn_shape){0, 0, 0};
    switch (n->op) {
    case SNN_L_INPUT: {
        s = n->u.input.shape;
        if (!shape_ok(k, s, "the input"))
            return;
        if (n->u.input.kind == SNN_T_Q16) {
            FAIL(k, "layer '%s': an input is spikes or counts (pixels), not q16", n->name);
            return;
        }
        uint32_t d3[3] = {s.c, s.h, s.w}, d4[4] = {g->timesteps, s.c, s.h, s.w};
        if (n->u.input.data.v)
            array_ok(k, &n->u.input.data, "input data", true, n->u.input.data.ndim == 4 ? 4 : 3,
                     n->u.input.data.ndim == 4 ? d4 : d3);
        else if (!n->u.input.gen.on)
            FAIL(k, "layer '%s': no input data: give a .npy file or say how to generate it",
                 n->name);
        else if (n->u.input.kind == SNN_T_SPIKES &&
                 !(n->u.input.gen.density >= 0 && n->u.input.gen.density <= 1))
            FAIL(k, "layer '%s': a spike density must be in [0, 1], not %g", n->name,
                 n->u.input.gen.density);
        n->kind = n->u.input.kind;
        break;
    }
    case SNN_L_CONV: {
        struct snn_lconv *cv = &n->u.conv;
        if (a->kind == SNN_T_Q16) {
            FAIL(k, "layer '%s': a convolution takes spikes or counts, and '%s' gives q16 "
                    "(put a spiking layer between)",
                 n->name, a->name);
            return;
        }
        if (cv->pad == UINT32_MAX)
            cv->pad = cv->kernel / 2;
        if (!window_ok(k, cv->kernel, cv->stride, cv->pad))
            return;
        if (cv->bits != 8 && cv->bits != 4) {
            FAIL(k, "layer '%s': weights of %u bits: they must be 8 or 4", n->name, cv->bits);
            return;
        }
        if (cv->depthwise && cv->out_channels && cv->out_channels != s.c) {
            FAIL(k, "layer '%s': a depthwise convolution has as many outputs as inputs (%u), "
                    "not %u",
                 n->name, s.c, cv->out_channels);
            return;
        }
        if (cv->depthwise)
            cv->out_channels = s.c;
        struct snn_shape o = {cv->out_channels, out_side(s.h, cv->kernel, cv->stride, cv->pad),
                              out_side(s.w, cv->kernel, cv->stride, cv->pad)};
        if (!shape_ok(k, o, "the output"))
            return;
        uint32_t wd[4] = {o.c, cv->depthwise ? 1 : s.c, cv->kernel, cv->kernel};
        if (cv->weight.v)
            array_ok(k, &cv->weight, "weight", true, 4, wd);
        else if (!cv->weight_gen.on)
            FAIL(k, "layer '%s': no weights: give a .npy file or say how to generate them",
                 n->name);
        else if (!(cv->weight_gen.lo < cv->weight_gen.hi))
            FAIL(k, "layer '%s': generated weights need lo < hi", n->name);
        uint32_t od[1] = {o.c};
        array_ok(k, &cv->scale, "scale", false, 1, od);
        array_ok(k, &cv->bias, "bias", false, 1, od);
        if (cv->bn) {
            array_ok(k, &cv->bn_gamma, "batch-norm weight (gamma)", true, 1, od);
            array_ok(k, &cv->bn_beta, "batch-norm bias (beta)", true, 1, od);
            array_ok(k, &cv->bn_mean, "batch-norm running mean", true, 1, od);
            array_ok(k, &cv->bn_var, "batch-norm running variance", true, 1, od);
            for (uint32_t j = 0; cv->bn_var.v && cv->bn_var.ndim == 1 && j < o.c &&
                                 cv->bn_var.dims[0] == o.c;
                 j++)
                if (!(cv->bn_var.v[j] + cv->bn_eps > 0)) {
                    FAIL(k, "layer '%s': batch-norm variance + eps of channel %u is not "
                            "positive",
                         n->name, j);
                    break;
                }
        }
        s = o;
        n->kind = SNN_T_Q16;
        break;
    }
    case SNN_L_LIF:
    case SNN_L_ILIF:
        if (a->kind != SNN_T_Q16) {
            FAIL(k, "layer '%s': a spiking layer takes q16 (a layer's output), and '%s' gives %s",
                 n->name, a->name, snn_tkind_name(a->kind));
            return;
        }
        if (n->op == SNN_L_LIF) {
            if (!is_pow2_shift(n->u.lif.tau_shift))
                FAIL(k, "layer '%s': tau must be a power of two from 2 to 256", n->name);
            if (!(n->u.lif.threshold > 0 && n->u.lif.threshold < 32768))
                FAIL(k, "layer '%s': threshold %g: it must be positive and below 32768", n->name,
                     n->u.lif.threshold);
            n->kind = SNN_T_SPIKES;
        } else {
            if (n->u.ilif.decay_shift > 8)
                FAIL(k, "layer '%s': the decay must be 2^-k for k from 0 to 8", n->name);
            if (n->u.ilif.d_max < 1 || n->u.ilif.d_max > 15)
                FAIL(k, "layer '%s': D %u: it must be from 1 to 15", n->name, n->u.ilif.d_max);
            n->kind = SNN_T_COUNTS;
        }
        break;
    case SNN_L_ADD:
        if (a->kind != SNN_T_Q16 || b->kind != SNN_T_Q16) {
            FAIL(k, "layer '%s': an add takes two q16 tensors (layer outputs), not %s and %s",
                 n->name, snn_tkind_name(a->kind), snn_tkind_name(b->kind));
            return;
        }
        if (a->shape.c != b->shape.c || a->shape.h != b->shape.h || a->shape.w != b->shape.w) {
            FAIL(k, "layer '%s': '%s' is [%u, %u, %u] and '%s' is [%u, %u, %u]: an add needs "
                    "equal shapes",
                 n->name, a->name, a->shape.c, a->shape.h, a->shape.w, b->name, b->shape.c,
                 b->shape.h, b->shape.w);
            return;
        }
        n->kind = SNN_T_Q16;
        break;
    case SNN_L_MAXPOOL: {
        struct snn_lpool *p = &n->u.pool;
        if (p->pad == UINT32_MAX)
            p->pad = p->kernel / 2;
        if (!window_ok(k, p->kernel, p->stride, p->pad))
            return;
        s = (struct snn_shape){s.c, out_side(s.h, p->kernel, p->stride, p->pad),
                               out_side(s.w, p->kernel, p->stride, p->pad)};
        if (!shape_ok(k, s, "the output"))
            return;
        n->kind = a->kind;
        break;
    }
    case SNN_L_SUMPOOL:
        if (a->kind == SNN_T_Q16) {
            FAIL(k, "layer '%s': a sum pool takes spikes or counts, and '%s' gives q16", n->name,
                 a->name);
            return;
        }
        s = (struct snn_shape){s.c, 1, 1};
        n->kind = SNN_T_Q16;
        break;
    case SNN_L_SDSA1:
    case SNN_L_SDSA2: {
        const struct snn_lnode *qkv[3] = {a, b, c};
        for (int j = 0; j < 3; j++) {
            if (qkv[j]->kind != SNN_T_SPIKES) {
                FAIL(k, "layer '%s': attention takes spikes for Q, K and V; '%s' gives %s",
                     n->name, qkv[j]->name, snn_tkind_name(qkv[j]->kind));
                return;
            }
            if (qkv[j]->shape.c != s.c || qkv[j]->shape.h != s.h || qkv[j]->shape.w != s.w ||
                s.w != 1) {
                FAIL(k, "layer '%s': Q, K and V must be the same tokens [channels, n, 1]; '%s' "
                        "is [%u, %u, %u]",
                     n->name, qkv[j]->name, qkv[j]->shape.c, qkv[j]->shape.h, qkv[j]->shape.w);
                return;
            }
        }
        if (n->op == SNN_L_SDSA1) {
            if (!is_pow2_shift(n->u.sdsa1.tau_shift))
                FAIL(k, "layer '%s': tau must be a power of two from 2 to 256", n->name);
            if (!(n->u.sdsa1.threshold > 0 && n->u.sdsa1.threshold < 32768))
                FAIL(k, "layer '%s': threshold %g: it must be positive and below 32768", n->name,
                     n->u.sdsa1.threshold);
            n->kind = SNN_T_SPIKES;
        } else {
            if (n->u.sdsa2.heads == 0 || s.c % n->u.sdsa2.heads)
                FAIL(k, "layer '%s': %u heads do not divide %u channels", n->name,
                     n->u.sdsa2.heads, s.c);
            if (!(n->u.sdsa2.scale > 0 && isfinite(n->u.sdsa2.scale)))
                FAIL(k, "layer '%s': the attention scale must be positive", n->name);
            n->kind = SNN_T_Q16;
        }
        break;
    }
    case SNN_L_TOKENS:
        s = (struct snn_shape){s.c, s.h * s.w, 1};
        if (!shape_ok(k, s, "the tokens"))
            return;
        n->kind = a->kind;
        break;
    case SNN_L_FLATTEN:
        if ((uint64_t)s.c * s.h * s.w > MAX_CHANNELS) {
            FAIL(k, "layer '%s': flattening [%u, %u, %u] gives more than %u features", n->name,
                 s.c, s.h, s.w, MAX_CHANNELS);
            return;
        }
        s = (struct snn_shape){s.c * s.h * s.w, 1, 1};
        n->kind = a->kind;
        break;
    }
    if (!k->bad)
        n->shape = s;
}

int snn_layers_verify(struct snn_net *net, struct snn_diag *d)
{
    struct snn_layer_graph *g = net->layers;
    if (!g)
        return 0;
    struct check k = {d, NULL, 0};
    struct snn_lnode none = {.name = ""};
    k.n = &none;
    if (net->n_pops) {
        FAIL(&k, "a network has populations or layers, not both");
        return SNN_ESEMA;
    }
    if (g->timesteps == 0 || g->timesteps > MAX_TIMESTEPS) {
        FAIL(&k, "timesteps %u: it must be from 1 to %u", g->timesteps, MAX_TIMESTEPS);
        return SNN_ESEMA;
    }
    if (g->n_nodes == 0) {
        FAIL(&k, "the layer graph has no layers");
        return SNN_ESEMA;
    }
    int bad = 0;
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        k.n = &g->nodes[i];
        k.bad = 0;
        g->nodes[i].shape = (struct snn_shape){0, 0, 0};
        for (uint32_t j = 0; j < i; j++)
            if (!strcmp(g->nodes[j].name, g->nodes[i].name)) {
                FAIL(&k, "layer '%s' is defined twice", g->nodes[i].name);
                break;
            }
        if (!k.bad)
            verify_node(&k, g, i);
        bad |= k.bad;
    }
    if (g->has_output && g->output >= g->n_nodes) {
        k.n = &none;
        FAIL(&k, "the output is not a layer of the graph");
        bad = 1;
    }
    if (!g->has_output) {
        g->output = g->n_nodes - 1;
        g->has_output = true;
    }
    if (!bad && g->nodes[0].op != SNN_L_INPUT) {
        k.n = &g->nodes[0];
        FAIL(&k, "the first layer, '%s', must be the input", g->nodes[0].name);
        bad = 1;
    }
    return bad ? SNN_ESEMA : 0;
}
