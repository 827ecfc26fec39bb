/* pad.c — Pad: grow (or crop, with negative pads) each axis; constant, reflect, edge or wrap fill. */
#include <string.h>

#include "kernels/strided.h"
#include "ops/movement.h"
#include "ops/resolve.h"

enum {
    PAD_CONSTANT = NNI_PAD_CONSTANT,
    PAD_REFLECT = NNI_PAD_REFLECT,
    PAD_EDGE = NNI_PAD_EDGE,
    PAD_WRAP = NNI_PAD_WRAP,
};

typedef struct {
    int32_t mode;
    float value; /* before opset 11 */
} pad_state;

static nn_status pad_prepare(nni_opctx *c)
{
    pad_state *s = c->state;
    const char *mode;
    nn_status st = nni_attr_string(c->node, "mode", "constant", &mode);
    if (st == NN_OK)
        st = nni_attr_float(c->node, "value", 0.0f, &s->value);
    if (st != NN_OK)
        return st;
    if (strcmp(mode, "constant") == 0)
        s->mode = PAD_CONSTANT;
    else if (strcmp(mode, "reflect") == 0)
        s->mode = PAD_REFLECT;
    else if (strcmp(mode, "edge") == 0)
        s->mode = PAD_EDGE;
    else if (strcmp(mode, "wrap") == 0)
        s->mode = PAD_WRAP;
    else
        return nni_error(NN_E_INVALID_MODEL, "Pad: unknown 'mode' \"%s\"", mode);
    if (c->opset < 11 && !nni_node_attr(c->node, "pads") && !nni_node_attr(c->node, "paddings"))
        return nni_error(NN_E_INVALID_MODEL, "Pad: the 'pads' attribute is required before opset 11");
    return NN_OK;
}

/* Begin/end pads of every axis. */
static nn_status pad_amounts(const nni_opctx *c, int64_t *pb, int64_t *pe)
{
    const nn_tensor *x = c->in[0];
    int32_t r = x->rank;
    int64_t pads[2 * NN_MAX_RANK], n = 0, axes[NN_MAX_RANK], na = -1;
    nn_status st;
    if (c->opset < 11) {
        const int64_t *v;
        size_t count;
        const char *name = nni_node_attr(c->node, "pads") ? "pads" : "paddings";
        if ((st = nni_attr_ints(c->node, name, &v, &count)) != NN_OK)
            return st;
        if (count > 2 * NN_MAX_RANK)
            return nni_error(NN_E_INVALID_MODEL, "Pad: '%s' has %zu values, too many", name, count);
        if (count)
            memcpy(pads, v, count * sizeof *v);
        n = (int64_t)count;
    } else {
        if (!nni_has_in(c, 1))
            return nni_error(NN_E_INVALID_MODEL, "Pad needs a 'pads' input from opset 11");
        if ((st = nni_read_ints(c->in[1], "Pad 'pads'", pads, 2 * NN_MAX_RANK, &n)) != NN_OK)
            return st;
        if (nni_has_in(c, 3) && (st = nni_read_ints(c->in[3], "Pad 'axes'", axes, NN_MAX_RANK, &na)) != NN_OK)
            return st;
    }
    for (int32_t a = 0; a < r; a++)
        pb[a] = pe[a] = 0;
    int64_t naxes = na >= 0 ? na : r;
    if (n != 2 * naxes)
        return nni_error(NN_E_SHAPE, "Pad: %lld pads given for %lld axes (need 2 per axis)", (long long)n, (long long)naxes);
    bool seen[NN_MAX_RANK] = {false};
    for (int64_t i = 0; i < naxes; i++) {
        int32_t a = (int32_t)i;
        if (na >= 0 && (st = nni_norm_axis(axes[i], r, "Pad axis", &a)) != NN_OK)
            return st;
        if (seen[a])
            return nni_error(NN_E_INVALID_MODEL, "Pad: axis %d is repeated", (int)a);
        seen[a] = true;
        pb[a] = pads[i];
        pe[a] = pads[naxes + i];
    }
    return NN_OK;
}

static nn_status pad_infer(nni_opctx *c)
{
    const pad_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t pb[NN_MAX_RANK], pe[NN_MAX_RANK], dims[NN_MAX_RANK];
    nn_status st = pad_amounts(c, pb, pe);
    if (st != NN_OK)
        return st;
    if (nni_has_in(c, 2) && c->opset >= 11 && c->in[2]->dtype != x->dtype)
        return nni_error(NN_E_TYPE, "Pad: constant_value is %s but data is %s", nn_dtype_name(c->in[2]->dtype),
                         nn_dtype_name(x->dtype));
    for (int32_t a = 0; a < x->rank; a++) {
        if (nni_add_overflow_i64(x->dims[a], pb[a], &dims[a]) || nni_add_overflow_i64(dims[a], pe[a], &dims[a]) ||
            dims[a] < 0 || pb[a] < -x->dims[a] || pe[a] < -x->dims[a])
            return nni_error(NN_E_SHAPE, "Pad: pads %lld/%lld do not fit axis %d of size %lld", (long long)pb[a],
                             (long long)pe[a], (int)a, (long long)x->dims[a]);
        if (s->mode != PAD_CONSTANT && x->dims[a] == 0 && dims[a] > 0)
            return nni_error(NN_E_SHAPE, "Pad: cannot pad the empty axis %d in a non-constant mode", (int)a);
    }
    return nni_out_shape(c, 0, x->dtype, x->rank, dims);
}

/* Source index for output coordinate o (-1: the constant). */
static int64_t source_index(int32_t mode, int64_t o, int64_t before, int64_t n)
{
    int64_t i = o - before;
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case PAD_EDGE:
        return i < 0 ? 0 : n - 1;
    case PAD_WRAP:
        return ((i % n) + n) % n;
    case PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t period = 2 * (n - 1);
        i = ((i % period) + period) % period;
        return i < n ? i : period - i;
    }
    default:
        return -1;
    }
}

static nn_status pad_run(nni_opctx *c)
{
    const pad_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    int32_t r = x->rank;
    size_t es = nn_dtype_size(x->dtype);
    int64_t pb[NN_MAX_RANK], pe[NN_MAX_RANK];
    nn_status st = pad_amounts(c, pb, pe);
    if (st != NN_OK)
        return st;
    if (y->nbytes == 0)
        return NN_OK;
    _Alignas(16) uint8_t value[16] = {0};
    if (c->opset < 11)
        nni_store_f64(value, x->dtype, s->value);
    else if (nni_has_in(c, 2) && c->in[2]->nbytes >= es && c->in[2]->data)
        memcpy(value, c->in[2]->data, es);
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return NN_OK;
    }
    /* per-axis maps from output coordinate to input offset (-1: the constant) */
    int64_t total = 0, *map[NN_MAX_RANK], strides[NN_MAX_RANK];
    for (int32_t a = 0; a < r; a++)
        total += y->dims[a];
    int64_t *maps = c->scratch(c, (size_t)total * sizeof *maps);
    if (!maps)
        return nni_error(NN_E_NOMEM, "Pad: out of memory");
    nni_row_strides(r, x->dims, strides);
    int64_t at = 0;
    for (int32_t a = 0; a < r; at += y->dims[a], a++) {
        map[a] = maps + at;
        for (int64_t o = 0; o < y->dims[a]; o++) {
            int64_t i = source_index(s->mode, o, pb[a], x->dims[a]);
            map[a][o] = i < 0 ? -1 : i * strides[a];
        }
    }
    nni_map_copy(y->data, x->data, es, r, y->dims, (const int64_t *const *)map, value, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_pad = {
    .name = "Pad", .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
    .state_size = sizeof(pad_state),
    .prepare = pad_prepare, .infer = pad_infer, .run = pad_run,
};

nn_status nni_pad_resolve(const nni_opctx *c, int64_t *pb, int64_t *pe, int32_t *mode)
{
    const pad_state *s = c->state;
    *mode = s->mode;
    return pad_amounts(c, pb, pe);
}

int64_t nni_pad_source_index(int32_t mode, int64_t o, int64_t before, int64_t n)
{
    return source_index(mode, o, before, n);
}
