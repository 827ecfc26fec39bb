/* split.c — Split: cut a tensor into pieces along one axis. */
#include <string.h>

#include "ops/movement.h"
#include "ops/resolve.h"

typedef struct {
    int64_t axis;
    int64_t num_outputs; /* opset 18; 0 when absent */
} split_state;

static nn_status split_prepare(nni_opctx *c)
{
    split_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "axis", 0, &s->axis);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "num_outputs", 0, &s->num_outputs);
    if (st == NN_OK && nni_node_attr(c->node, "num_outputs") && s->num_outputs != c->n_out)
        return nni_error(NN_E_INVALID_MODEL, "Split: 'num_outputs' is %lld but the node has %d outputs",
                         (long long)s->num_outputs, (int)c->n_out);
    return st;
}

/* Sizes of the n_out pieces into sizes[] (caller-allocated, n_out entries). */
static nn_status split_sizes(const nni_opctx *c, int32_t axis, int64_t *sizes)
{
    const split_state *s = c->state;
    int64_t dim = c->in[0]->dims[axis], n = 0;
    nn_status st = NN_OK;
    const int64_t *attr = NULL;
    size_t n_attr = 0;
    if (c->opset < 13 && (st = nni_attr_ints(c->node, "split", &attr, &n_attr)) != NN_OK)
        return st;
    if (n_attr) {
        for (size_t i = 0; i < n_attr && (int64_t)i < c->n_out; i++)
            sizes[i] = attr[i];
        n = (int64_t)n_attr;
    } else if (c->opset >= 13 && nni_has_in(c, 1)) {
        if ((st = nni_read_ints(c->in[1], "Split 'split'", sizes, c->n_out, &n)) != NN_OK)
            return st;
    } else {
        int64_t k = c->n_out;
        if (s->num_outputs == 0 && dim % k != 0)
            return nni_error(NN_E_SHAPE, "Split: dimension %d of size %lld does not split into %lld equal parts",
                             (int)axis, (long long)dim, (long long)k);
        int64_t chunk = (dim + k - 1) / k;
        for (int64_t i = 0; i < k; i++) {
            int64_t left = dim - i * chunk;
            sizes[i] = left < 0 ? 0 : left < chunk ? left : chunk;
        }
        return NN_OK;
    }
    if (n != c->n_out)
        return nni_error(NN_E_SHAPE, "Split: 'split' has %lld values for %d outputs", (long long)n, (int)c->n_out);
    int64_t sum = 0;
    for (int64_t i = 0; i < n; i++) {
        if (sizes[i] < 0 || nni_add_overflow_i64(sum, sizes[i], &sum))
            return nni_error(NN_E_SHAPE, "Split: 'split' value %lld is invalid", (long long)sizes[i]);
    }
    if (sum != dim)
        return nni_error(NN_E_SHAPE, "Split: 'split' sums to %lld but dimension %d has size %lld", (long long)sum,
                         (int)axis, (long long)dim);
    return NN_OK;
}

static nn_status split_infer(nni_opctx *c)
{
    const split_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "Split 'axis'", &axis);
    if (st != NN_OK)
        return st;
    int64_t *sizes = nni_malloc((size_t)c->n_out * sizeof *sizes);
    if (!sizes)
        return nni_error(NN_E_NOMEM, "Split: out of memory");
    st = split_sizes(c, axis, sizes);
    for (int32_t k = 0; st == NN_OK && k < c->n_out; k++) {
        int64_t dims[NN_MAX_RANK];
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = sizes[k];
        st = nni_out_shape(c, k, x->dtype, x->rank, dims);
    }
    nni_free(sizes);
    return st;
}

static nn_status split_run(nni_opctx *c)
{
    const split_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "Split 'axis'", &axis);
    if (st != NN_OK)
        return st;
    int64_t *sizes = c->scratch(c, (size_t)c->n_out * sizeof *sizes);
    if (!sizes)
        return nni_error(NN_E_NOMEM, "Split: out of memory");
    if ((st = split_sizes(c, axis, sizes)) != NN_OK)
        return st;
    size_t inner = (size_t)nni_dims_product(x->dims, axis + 1, x->rank) * nn_dtype_size(x->dtype);
    int64_t outer = nni_dims_product(x->dims, 0, axis), dim = x->dims[axis], off = 0;
    for (int32_t k = 0; k < c->n_out; k++) {
        size_t chunk = (size_t)sizes[k] * inner;
        if (c->out[k] && chunk)
            for (int64_t o = 0; o < outer; o++)
                memcpy((uint8_t *)c->out[k]->data + (size_t)o * chunk,
                       (const uint8_t *)x->data + ((size_t)(o * dim + off)) * inner, chunk);
        off += sizes[k];
    }
    return NN_OK;
}

const nni_op_desc nni_op_split = {
    .name = "Split", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = INT32_MAX,
    .state_size = sizeof(split_state),
    .prepare = split_prepare, .infer = split_infer, .run = split_run,
};

nn_status nni_split_resolve(const nni_opctx *c, int32_t *axis, int64_t *sizes)
{
    const split_state *s = c->state;
    nn_status st = nni_norm_axis(s->axis, c->in[0]->rank, "Split 'axis'", axis);
    return st != NN_OK ? st : split_sizes(c, *axis, sizes);
}
