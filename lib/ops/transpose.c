/* transpose.c — Transpose: permute axes (a strided view copy; tiled for 2-D and NCHW<->NHWC). */
#include "kernels/strided.h"
#include "ops/movement.h"
#include "ops/resolve.h"

typedef struct {
    int32_t n;               /* 0: reverse the axes */
    int64_t perm[NN_MAX_RANK];
} transpose_state;

static nn_status transpose_prepare(nni_opctx *c)
{
    transpose_state *s = c->state;
    const int64_t *p;
    size_t n;
    nn_status st = nni_attr_ints(c->node, "perm", &p, &n);
    if (st != NN_OK)
        return st;
    if (n > NN_MAX_RANK)
        return nni_error(NN_E_INVALID_MODEL, "Transpose: 'perm' has %zu entries, at most %d", n, NN_MAX_RANK);
    bool seen[NN_MAX_RANK] = {false};
    for (size_t i = 0; i < n; i++) {
        if (p[i] < 0 || p[i] >= (int64_t)n || seen[p[i]])
            return nni_error(NN_E_INVALID_MODEL, "Transpose: 'perm' is not a permutation of 0..%zu", n - 1);
        seen[p[i]] = true;
        s->perm[i] = p[i];
    }
    s->n = (int32_t)n;
    if (!nni_node_attr(c->node, "perm"))
        s->n = -1;
    return NN_OK;
}

static nn_status get_perm(const nni_opctx *c, int64_t *perm)
{
    const transpose_state *s = c->state;
    int32_t r = c->in[0]->rank;
    if (s->n < 0) {
        for (int32_t i = 0; i < r; i++)
            perm[i] = r - 1 - i;
        return NN_OK;
    }
    if (s->n != r)
        return nni_error(NN_E_SHAPE, "Transpose: 'perm' has %d entries but the input has rank %d", (int)s->n, (int)r);
    for (int32_t i = 0; i < r; i++)
        perm[i] = s->perm[i];
    return NN_OK;
}

static nn_status transpose_infer(nni_opctx *c)
{
    int64_t perm[NN_MAX_RANK], dims[NN_MAX_RANK];
    nn_status st = get_perm(c, perm);
    if (st != NN_OK)
        return st;
    for (int32_t i = 0; i < c->in[0]->rank; i++)
        dims[i] = c->in[0]->dims[perm[i]];
    return nni_out_shape(c, 0, c->in[0]->dtype, c->in[0]->rank, dims);
}

static nn_status transpose_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t perm[NN_MAX_RANK], dims[NN_MAX_RANK], in_strides[NN_MAX_RANK], strides[NN_MAX_RANK];
    nn_status st = get_perm(c, perm);
    if (st != NN_OK)
        return st;
    if (x->nbytes == 0)
        return NN_OK;
    nni_row_strides(x->rank, x->dims, in_strides);
    for (int32_t i = 0; i < x->rank; i++) {
        dims[i] = x->dims[perm[i]];
        strides[i] = in_strides[perm[i]];
    }
    nni_strided_copy(c->out[0]->data, x->data, nn_dtype_size(x->dtype), x->rank, dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_transpose = {
    .name = "Transpose", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(transpose_state),
    .prepare = transpose_prepare, .infer = transpose_infer, .run = transpose_run,
};

nn_status nni_transpose_perm(const nni_opctx *c, int64_t *perm) { return get_perm(c, perm); }
