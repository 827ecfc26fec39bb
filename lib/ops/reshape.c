/* reshape.c — Reshape, Flatten, Squeeze, Unsqueeze: new shape, same row-major bytes. */
#include <string.h>

#include "ops/movement.h"

static nn_status copy_run(nni_opctx *c)
{
    if (c->out[0]->data != c->in[0]->data && c->in[0]->nbytes)
        memmove(c->out[0]->data, c->in[0]->data, c->in[0]->nbytes);
    return NN_OK;
}

/* Axes from the attribute (before `input_opset`) or from input 1, into out[]. */
static nn_status axes_arg(nni_opctx *c, int64_t input_opset, const char *op, int64_t *out, int64_t cap, int64_t *n)
{
    *n = 0;
    if (c->opset < input_opset) {
        const int64_t *v;
        size_t count;
        nn_status st = nni_attr_ints(c->node, "axes", &v, &count);
        if (st != NN_OK)
            return st;
        if ((int64_t)count > cap)
            return nni_error(NN_E_INVALID_MODEL, "%s: 'axes' has %zu values, too many", op, count);
        for (size_t i = 0; i < count; i++)
            out[i] = v[i];
        *n = (int64_t)count;
        return NN_OK;
    }
    if (!nni_has_in(c, 1))
        return NN_OK;
    return nni_read_ints(c->in[1], "axes", out, cap, n);
}

/* ---- Reshape ---- */

typedef struct {
    int64_t allowzero;
} reshape_state;

static nn_status reshape_prepare(nni_opctx *c)
{
    reshape_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "allowzero", 0, &s->allowzero);
    if (st == NN_OK && s->allowzero != 0 && s->allowzero != 1)
        return nni_error(NN_E_INVALID_MODEL, "Reshape: 'allowzero' must be 0 or 1, got %lld", (long long)s->allowzero);
    if (st == NN_OK && c->n_in < 2 && !nni_node_attr(c->node, "shape"))
        return nni_error(NN_E_INVALID_MODEL, "Reshape needs a shape input (or a 'shape' attribute before opset 5)");
    return st;
}

static nn_status reshape_infer(nni_opctx *c)
{
    const reshape_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t shape[NN_MAX_RANK], n = 0;
    nn_status st;
    if (nni_has_in(c, 1)) {
        st = nni_read_ints(c->in[1], "Reshape shape", shape, NN_MAX_RANK, &n);
        if (st != NN_OK)
            return st;
        if (c->in[1]->rank != 1)
            return nni_error(NN_E_SHAPE, "Reshape shape must be 1-D, got rank %d", (int)c->in[1]->rank);
    } else {
        const int64_t *v;
        size_t count;
        if ((st = nni_attr_ints(c->node, "shape", &v, &count)) != NN_OK)
            return st;
        if (count > NN_MAX_RANK)
            return nni_error(NN_E_LIMIT, "Reshape to rank %zu exceeds %d", count, NN_MAX_RANK);
        if (count)
            memcpy(shape, v, count * sizeof *v);
        n = (int64_t)count;
    }
    int64_t count = nni_tensor_count(x), known = 1;
    int32_t infer_at = -1;
    bool has_zero = false;
    char buf[160];
    for (int32_t i = 0; i < (int32_t)n; i++) {
        int64_t v = shape[i];
        if (v == 0 && !s->allowzero) {
            if (i >= x->rank)
                return nni_error(NN_E_SHAPE, "Reshape: shape[%d] = 0 copies a dimension the input %s does not have",
                                 (int)i, nni_shape_str(x->rank, x->dims, buf, sizeof buf));
            v = shape[i] = x->dims[i];
        } else if (v == 0) {
            has_zero = true;
        }
        if (v == -1) {
            if (infer_at >= 0)
                return nni_error(NN_E_SHAPE, "Reshape: more than one -1 in the shape");
            infer_at = i;
            continue;
        }
        if (v < -1)
            return nni_error(NN_E_SHAPE, "Reshape: shape[%d] = %lld is invalid", (int)i, (long long)v);
        if (nni_mul_overflow_i64(known, v, &known))
            return nni_error(NN_E_LIMIT, "Reshape: the target shape's size overflows");
    }
    if (infer_at >= 0) {
        if (has_zero)
            return nni_error(NN_E_SHAPE, "Reshape: -1 cannot be combined with a 0 dimension when allowzero is set");
        if (known == 0 || count % known != 0)
            return nni_error(NN_E_SHAPE, "Reshape: cannot infer the -1 dimension: %lld elements do not divide by %lld",
                             (long long)count, (long long)known);
        shape[infer_at] = count / known;
    } else if (known != count) {
        char buf2[160];
        return nni_error(NN_E_SHAPE, "Reshape: cannot reshape %s (%lld elements) to %s (%lld elements)",
                         nni_shape_str(x->rank, x->dims, buf, sizeof buf), (long long)count,
                         nni_shape_str((int32_t)n, shape, buf2, sizeof buf2), (long long)known);
    }
    return nni_out_shape(c, 0, x->dtype, (int32_t)n, shape);
}

const nni_op_desc nni_op_reshape = {
    .name = "Reshape", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(reshape_state),
    .prepare = reshape_prepare, .infer = reshape_infer, .run = copy_run,
};

/* ---- Flatten ---- */

typedef struct {
    int64_t axis;
} flatten_state;

static nn_status flatten_prepare(nni_opctx *c)
{
    flatten_state *s = c->state;
    return nni_attr_int(c->node, "axis", 1, &s->axis);
}

static nn_status flatten_infer(nni_opctx *c)
{
    const flatten_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t axis = s->axis < 0 ? s->axis + x->rank : s->axis;
    if (axis < 0 || axis > x->rank)
        return nni_error(NN_E_INVALID_MODEL, "Flatten: 'axis' %lld is out of range for rank %d", (long long)s->axis,
                         (int)x->rank);
    int64_t dims[2] = {nni_dims_product(x->dims, 0, (int32_t)axis), nni_dims_product(x->dims, (int32_t)axis, x->rank)};
    return nni_out_shape(c, 0, x->dtype, 2, dims);
}

const nni_op_desc nni_op_flatten = {
    .name = "Flatten", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(flatten_state),
    .prepare = flatten_prepare, .infer = flatten_infer, .run = copy_run,
};

/* ---- Squeeze ---- */

static nn_status squeeze_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t axes[NN_MAX_RANK], n;
    nn_status st = axes_arg(c, 13, "Squeeze", axes, NN_MAX_RANK, &n);
    if (st != NN_OK)
        return st;
    bool drop[NN_MAX_RANK] = {false};
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        if ((st = nni_norm_axis(axes[i], x->rank, "Squeeze axis", &a)) != NN_OK)
            return st;
        if (x->dims[a] != 1)
            return nni_error(NN_E_SHAPE, "Squeeze: dimension %d has size %lld, not 1", (int)a, (long long)x->dims[a]);
        drop[a] = true;
    }
    if (n == 0)
        for (int32_t a = 0; a < x->rank; a++)
            drop[a] = x->dims[a] == 1;
    int64_t dims[NN_MAX_RANK];
    int32_t r = 0;
    for (int32_t a = 0; a < x->rank; a++)
        if (!drop[a])
            dims[r++] = x->dims[a];
    return nni_out_shape(c, 0, x->dtype, r, dims);
}

const nni_op_desc nni_op_squeeze = {
    .name = "Squeeze", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = squeeze_infer, .run = copy_run,
};

/* ---- Unsqueeze ---- */

static nn_status unsqueeze_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t axes[NN_MAX_RANK], n;
    if (c->opset >= 13 && !nni_has_in(c, 1))
        return nni_error(NN_E_INVALID_MODEL, "Unsqueeze needs its axes input from opset 13");
    nn_status st = axes_arg(c, 13, "Unsqueeze", axes, NN_MAX_RANK, &n);
    if (st != NN_OK)
        return st;
    int32_t rank = x->rank + (int32_t)n;
    if (rank > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "Unsqueeze: rank %d exceeds %d", (int)rank, NN_MAX_RANK);
    bool ins[NN_MAX_RANK] = {false};
    for (int64_t i = 0; i < n; i++) {
        int32_t a;
        if ((st = nni_norm_axis(axes[i], rank, "Unsqueeze axis", &a)) != NN_OK)
            return st;
        if (ins[a])
            return nni_error(NN_E_INVALID_MODEL, "Unsqueeze: axis %lld is repeated", (long long)axes[i]);
        ins[a] = true;
    }
    int64_t dims[NN_MAX_RANK];
    for (int32_t a = 0, k = 0; a < rank; a++)
        dims[a] = ins[a] ? 1 : x->dims[k++];
    return nni_out_shape(c, 0, x->dtype, rank, dims);
}

const nni_op_desc nni_op_unsqueeze = {
    .name = "Unsqueeze", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = unsqueeze_infer, .run = copy_run,
};
