/* slice.c — Slice: a strided window per axis (attributes before opset 10, inputs after). */
#include <stdio.h>
#include <string.h>

#include "kernels/strided.h"
#include "ops/movement.h"
#include "ops/resolve.h"

/* start/step of the window on every axis of x, and the output dims. */
typedef struct {
    int64_t start[NN_MAX_RANK], step[NN_MAX_RANK], dims[NN_MAX_RANK];
} slice_window;

/* One list argument: attribute before opset 10, input `in` after. *n = -1 when absent. */
static nn_status slice_list(const nni_opctx *c, const char *name, int32_t in, int64_t *out, int64_t *n)
{
    *n = -1;
    if (c->opset < 10) {
        const int64_t *v;
        size_t count;
        nn_status st = nni_attr_ints(c->node, name, &v, &count);
        if (st != NN_OK || !nni_node_attr(c->node, name))
            return st;
        if (count > NN_MAX_RANK)
            return nni_error(NN_E_INVALID_MODEL, "Slice: '%s' has %zu values, at most %d", name, count, NN_MAX_RANK);
        if (count)
            memcpy(out, v, count * sizeof *v);
        *n = (int64_t)count;
        return NN_OK;
    }
    if (!nni_has_in(c, in))
        return NN_OK;
    char what[32];
    snprintf(what, sizeof what, "Slice '%s'", name);
    return nni_read_ints(c->in[in], what, out, NN_MAX_RANK, n);
}

static nn_status slice_compute(const nni_opctx *c, slice_window *w)
{
    const nn_tensor *x = c->in[0];
    int64_t starts[NN_MAX_RANK], ends[NN_MAX_RANK], axes[NN_MAX_RANK], steps[NN_MAX_RANK];
    int64_t ns, ne, na, nt;
    nn_status st;
    if (c->opset >= 10 && (!nni_has_in(c, 1) || !nni_has_in(c, 2)))
        return nni_error(NN_E_INVALID_MODEL, "Slice needs 'starts' and 'ends' inputs");
    if ((st = slice_list(c, "starts", 1, starts, &ns)) != NN_OK || (st = slice_list(c, "ends", 2, ends, &ne)) != NN_OK ||
        (st = slice_list(c, "axes", 3, axes, &na)) != NN_OK || (st = slice_list(c, "steps", 4, steps, &nt)) != NN_OK)
        return st;
    if (ns < 0 || ne < 0)
        return nni_error(NN_E_INVALID_MODEL, "Slice needs 'starts' and 'ends'");
    if (ns != ne || (na >= 0 && na != ns) || (nt >= 0 && nt != ns))
        return nni_error(NN_E_SHAPE, "Slice: 'starts', 'ends', 'axes' and 'steps' must have the same length");
    if (ns > x->rank)
        return nni_error(NN_E_SHAPE, "Slice: %lld axes given for an input of rank %d", (long long)ns, (int)x->rank);
    for (int32_t a = 0; a < x->rank; a++) {
        w->start[a] = 0;
        w->step[a] = 1;
        w->dims[a] = x->dims[a];
    }
    bool seen[NN_MAX_RANK] = {false};
    for (int64_t i = 0; i < ns; i++) {
        int32_t a = (int32_t)i;
        if (na >= 0 && (st = nni_norm_axis(axes[i], x->rank, "Slice axis", &a)) != NN_OK)
            return st;
        if (seen[a])
            return nni_error(NN_E_INVALID_MODEL, "Slice: axis %d is repeated", (int)a);
        seen[a] = true;
        int64_t dim = x->dims[a], step = nt >= 0 ? steps[i] : 1, b = starts[i], e = ends[i];
        if (step == 0)
            return nni_error(NN_E_INVALID_MODEL, "Slice: step 0 on axis %d", (int)a);
        if (b < 0)
            b = b < -dim ? -1 : b + dim; /* -1 still below 0 after adding, avoids overflow */
        if (e < 0)
            e = e < -dim ? -1 : e + dim;
        int64_t n;
        if (step > 0) {
            b = b < 0 ? 0 : b > dim ? dim : b;
            e = e < 0 ? 0 : e > dim ? dim : e;
            n = e > b ? (e - b - 1) / step + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > dim - 1 ? dim - 1 : b;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            n = b > e ? (b - e - 1) / (step == INT64_MIN ? INT64_MAX : -step) + 1 : 0;
        }
        w->start[a] = b;
        w->step[a] = step;
        w->dims[a] = n;
    }
    return NN_OK;
}

static nn_status slice_infer(nni_opctx *c)
{
    slice_window w;
    nn_status st = slice_compute(c, &w);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[0]->dtype, c->in[0]->rank, w.dims);
}

static nn_status slice_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    slice_window w;
    nn_status st = slice_compute(c, &w);
    if (st != NN_OK || c->out[0]->nbytes == 0)
        return st;
    int64_t in_strides[NN_MAX_RANK], strides[NN_MAX_RANK], off = 0;
    nni_row_strides(x->rank, x->dims, in_strides);
    for (int32_t a = 0; a < x->rank; a++) {
        off += w.start[a] * in_strides[a];
        strides[a] = w.dims[a] > 1 ? w.step[a] * in_strides[a] : 0; /* |step| < dim here: no overflow */
    }
    size_t es = nn_dtype_size(x->dtype);
    nni_strided_copy(c->out[0]->data, (const uint8_t *)x->data + (size_t)off * es, es, x->rank, w.dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_slice = {
    .name = "Slice", .min_in = 1, .max_in = 5, .min_out = 1, .max_out = 1,
    .infer = slice_infer, .run = slice_run,
};

nn_status nni_slice_resolve(const nni_opctx *c, int64_t *start, int64_t *step, int64_t *dims)
{
    slice_window w;
    nn_status st = slice_compute(c, &w);
    if (st != NN_OK)
        return st;
    for (int32_t a = 0; a < c->in[0]->rank; a++) {
        start[a] = w.start[a];
        step[a] = w.step[a];
        dims[a] = w.dims[a];
    }
    return NN_OK;
}
