/* expand.c — Expand and Tile: repeat data by broadcasting or tiling (zero-stride views). */
#include "kernels/strided.h"
#include "ops/movement.h"

/* ---- Expand ---- */

static nn_status expand_shape(const nni_opctx *c, int32_t *rank, int64_t *dims)
{
    const nn_tensor *x = c->in[0];
    int64_t shape[NN_MAX_RANK], n;
    nn_status st = nni_read_ints(c->in[1], "Expand shape", shape, NN_MAX_RANK, &n);
    if (st != NN_OK)
        return st;
    int32_t r = x->rank > (int32_t)n ? x->rank : (int32_t)n;
    for (int32_t a = 0; a < r; a++) {
        int32_t ax = a - (r - x->rank), as = a - (r - (int32_t)n);
        int64_t dx = ax >= 0 ? x->dims[ax] : 1, ds = as >= 0 ? shape[as] : 1;
        if (ds < 0)
            return nni_error(NN_E_SHAPE, "Expand: shape value %lld is negative", (long long)ds);
        if (dx != ds && dx != 1 && ds != 1) {
            char buf[160];
            return nni_error(NN_E_SHAPE, "Expand: input %s does not broadcast to the shape (axis %d: %lld vs %lld)",
                             nni_shape_str(x->rank, x->dims, buf, sizeof buf), (int)a, (long long)dx, (long long)ds);
        }
        dims[a] = dx == 1 ? ds : dx;
    }
    *rank = r;
    return NN_OK;
}

static nn_status expand_infer(nni_opctx *c)
{
    int64_t dims[NN_MAX_RANK];
    int32_t r = 0;
    nn_status st = expand_shape(c, &r, dims);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[0]->dtype, r, dims);
}

static nn_status expand_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    if (y->nbytes == 0)
        return NN_OK;
    int64_t in_strides[NN_MAX_RANK], strides[NN_MAX_RANK];
    nni_row_strides(x->rank, x->dims, in_strides);
    for (int32_t a = 0; a < y->rank; a++) {
        int32_t ax = a - (y->rank - x->rank);
        strides[a] = ax >= 0 && x->dims[ax] != 1 ? in_strides[ax] : 0;
    }
    nni_strided_copy(y->data, x->data, nn_dtype_size(x->dtype), y->rank, y->dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_expand = {
    .name = "Expand", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = expand_infer, .run = expand_run,
};

/* ---- Tile ---- */

static nn_status tile_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t reps[NN_MAX_RANK], n, dims[NN_MAX_RANK];
    if (c->opset < 6)
        return nni_error(NN_E_UNSUPPORTED, "Tile before opset 6 is not supported");
    nn_status st = nni_read_ints(c->in[1], "Tile repeats", reps, NN_MAX_RANK, &n);
    if (st != NN_OK)
        return st;
    if (n != x->rank || c->in[1]->rank != 1)
        return nni_error(NN_E_SHAPE, "Tile: %lld repeats for an input of rank %d", (long long)n, (int)x->rank);
    for (int32_t a = 0; a < x->rank; a++) {
        if (reps[a] < 0)
            return nni_error(NN_E_SHAPE, "Tile: repeat %lld on axis %d is negative", (long long)reps[a], (int)a);
        if (nni_mul_overflow_i64(x->dims[a], reps[a], &dims[a]))
            return nni_error(NN_E_LIMIT, "Tile: the output size overflows");
    }
    return nni_out_shape(c, 0, x->dtype, x->rank, dims);
}

static nn_status tile_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    if (y->nbytes == 0)
        return NN_OK;
    /* output axis a of size reps*dim is viewed as [reps, dim] with strides [0, stride] */
    int64_t in_strides[NN_MAX_RANK], dims[2 * NN_MAX_RANK], strides[2 * NN_MAX_RANK];
    nni_row_strides(x->rank, x->dims, in_strides);
    for (int32_t a = 0; a < x->rank; a++) {
        dims[2 * a] = y->dims[a] / x->dims[a];
        strides[2 * a] = 0;
        dims[2 * a + 1] = x->dims[a];
        strides[2 * a + 1] = in_strides[a];
    }
    nni_strided_copy(y->data, x->data, nn_dtype_size(x->dtype), 2 * x->rank, dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_tile = {
    .name = "Tile", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .infer = tile_infer, .run = tile_run,
};
