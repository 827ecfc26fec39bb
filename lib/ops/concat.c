/* concat.c — Concat: join tensors along one axis. */
#include <string.h>

#include "ops/movement.h"
#include "ops/resolve.h"

typedef struct {
    int64_t axis;
} concat_state;

static nn_status concat_prepare(nni_opctx *c)
{
    concat_state *s = c->state;
    if (!nni_node_attr(c->node, "axis") && c->opset >= 4)
        return nni_error(NN_E_INVALID_MODEL, "Concat: the 'axis' attribute is required");
    return nni_attr_int(c->node, "axis", 1, &s->axis);
}

static nn_status concat_infer(nni_opctx *c)
{
    const concat_state *s = c->state;
    for (int32_t i = 0; i < c->n_in; i++)
        if (!nni_has_in(c, i))
            return nni_error(NN_E_INVALID_MODEL, "Concat: input %d is missing", (int)i);
    const nn_tensor *x0 = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x0->rank, "Concat 'axis'", &axis);
    if (st != NN_OK)
        return st;
    if (x0->rank == 0)
        return nni_error(NN_E_SHAPE, "Concat: inputs must have rank >= 1");
    int64_t dims[NN_MAX_RANK];
    memcpy(dims, x0->dims, sizeof dims);
    for (int32_t i = 1; i < c->n_in; i++) {
        const nn_tensor *x = c->in[i];
        char b0[160], b1[160];
        if (x->dtype != x0->dtype)
            return nni_error(NN_E_TYPE, "Concat: input %d is %s, input 0 is %s", (int)i, nn_dtype_name(x->dtype),
                             nn_dtype_name(x0->dtype));
        bool ok = x->rank == x0->rank;
        for (int32_t a = 0; ok && a < x->rank; a++)
            if (a != axis && x->dims[a] != x0->dims[a])
                ok = false;
        if (!ok)
            return nni_error(NN_E_SHAPE, "Concat: input %d has shape %s, which does not fit input 0's %s on axis %d",
                             (int)i, nni_shape_str(x->rank, x->dims, b0, sizeof b0),
                             nni_shape_str(x0->rank, x0->dims, b1, sizeof b1), (int)axis);
        if (nni_add_overflow_i64(dims[axis], x->dims[axis], &dims[axis]))
            return nni_error(NN_E_LIMIT, "Concat: the output size overflows");
    }
    return nni_out_shape(c, 0, x0->dtype, x0->rank, dims);
}

typedef struct {
    const nni_opctx *c;
    size_t inner_bytes; /* bytes of one step along the axis */
    size_t out_row;     /* bytes of one outer row of the output */
    int32_t axis;
} concat_job;

static void concat_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const concat_job *j = arg;
    const nni_opctx *c = j->c;
    int32_t axis = j->axis;
    for (int64_t o = begin; o < end; o++) {
        uint8_t *d = (uint8_t *)c->out[0]->data + (size_t)o * j->out_row;
        for (int32_t i = 0; i < c->n_in; i++) {
            size_t chunk = (size_t)c->in[i]->dims[axis] * j->inner_bytes;
            if (chunk)
                memcpy(d, (const uint8_t *)c->in[i]->data + (size_t)o * chunk, chunk);
            d += chunk;
        }
    }
}

/*
 * Few outer rows (a channel concatenation at batch 1 has one): split the
 * output's bytes into equal blocks instead, each copying the parts of the
 * inputs' pieces that fall inside it.
 */
#define CONCAT_BLOCK ((size_t)1 << 16)

static void concat_bytes_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const concat_job *j = arg;
    const nni_opctx *c = j->c;
    (void)tid;
    const size_t lo = (size_t)begin * CONCAT_BLOCK, hi0 = (size_t)end * CONCAT_BLOCK;
    const size_t total = c->out[0]->nbytes, hi = hi0 < total ? hi0 : total;
    size_t at = 0; /* output offset of the current piece */
    for (int64_t o = 0; at < hi; o++) {
        for (int32_t i = 0; i < c->n_in && at < hi; i++) {
            const size_t chunk = (size_t)c->in[i]->dims[j->axis] * j->inner_bytes;
            const size_t a = at > lo ? at : lo, b = at + chunk < hi ? at + chunk : hi;
            if (a < b)
                memcpy((uint8_t *)c->out[0]->data + a, (const uint8_t *)c->in[i]->data + (size_t)o * chunk + (a - at),
                       b - a);
            at += chunk;
        }
    }
}

static nn_status concat_run(nni_opctx *c)
{
    const concat_state *s = c->state;
    const nn_tensor *y = c->out[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, y->rank, "Concat 'axis'", &axis);
    if (st != NN_OK || y->nbytes == 0)
        return st;
    concat_job j = {.c = c, .axis = axis};
    j.inner_bytes = (size_t)nni_dims_product(y->dims, axis + 1, y->rank) * nn_dtype_size(y->dtype);
    j.out_row = (size_t)y->dims[axis] * j.inner_bytes;
    int64_t outer = nni_dims_product(y->dims, 0, axis);
    if (outer < 2 * nni_pool_threads(c->pool) && y->nbytes >= 2 * CONCAT_BLOCK) {
        nni_parallel_for(c->pool, (int64_t)((y->nbytes + CONCAT_BLOCK - 1) / CONCAT_BLOCK), 1, concat_bytes_task, &j);
        return NN_OK;
    }
    int64_t grain = j.out_row >= 65536 ? 1 : (int64_t)(65536 / j.out_row);
    nni_parallel_for(y->nbytes >= 131072 ? c->pool : NULL, outer, grain, concat_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_concat = {
    .name = "Concat", .min_in = 1, .max_in = INT32_MAX, .min_out = 1, .max_out = 1,
    .state_size = sizeof(concat_state),
    .prepare = concat_prepare, .infer = concat_infer, .run = concat_run,
};

nn_status nni_concat_axis(const nni_opctx *c, int32_t *axis)
{
    const concat_state *s = c->state;
    return nni_norm_axis(s->axis, c->in[0]->rank, "Concat 'axis'", axis);
}
