/* unique.c — Unique: the distinct elements (or slices along an axis), with first indices, inverse and counts. */
#include <math.h>
#include <string.h>

#include "ops/movement.h"

typedef struct {
    bool has_axis;
    int64_t axis, sorted;
} unique_state;

static nn_status unique_prepare(nni_opctx *c)
{
    unique_state *s = c->state;
    s->has_axis = nni_node_attr(c->node, "axis") != NULL;
    nn_status st = nni_attr_int(c->node, "axis", 0, &s->axis);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "sorted", 1, &s->sorted);
    return st;
}

/* The input seen as [outer, n, inner]: n candidates, each outer*inner elements. */
typedef struct {
    const nn_tensor *x;
    int64_t outer, n, inner;
    bool is_float;
} unique_view;

/* Compare candidates a and b element by element (floats by value, NaN last). */
static int cmp_slices(const unique_view *v, int64_t a, int64_t b)
{
    for (int64_t o = 0; o < v->outer; o++)
        for (int64_t i = 0; i < v->inner; i++) {
            int64_t ia = (o * v->n + a) * v->inner + i, ib = (o * v->n + b) * v->inner + i;
            if (v->is_float) {
                double x = nni_tensor_get_f64(v->x, ia), y = nni_tensor_get_f64(v->x, ib);
                bool nx = isnan(x), ny = isnan(y);
                if (nx || ny) {
                    if (nx != ny)
                        return nx ? 1 : -1;
                    continue;
                }
                if (x != y)
                    return x < y ? -1 : 1;
            } else {
                int64_t x = nni_tensor_get_i64(v->x, ia), y = nni_tensor_get_i64(v->x, ib);
                if (x != y)
                    return x < y ? -1 : 1;
            }
        }
    return 0;
}

/* Stable merge sort of candidate indices. */
static void sort_slices(const unique_view *v, int64_t *idx, int64_t *tmp, int64_t n)
{
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = cmp_slices(v, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[o++] = idx[i++];
            while (j < hi)
                tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static nn_status unique_view_of(const nni_opctx *c, unique_view *v, int32_t *axis)
{
    const unique_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (!nni_is_numeric(x->dtype) && x->dtype != NN_DTYPE_BOOL)
        return nni_error(NN_E_TYPE, "Unique: %s input is not supported", nn_dtype_name(x->dtype));
    *axis = -1;
    v->x = x;
    v->is_float = x->dtype == NN_DTYPE_FLOAT32 || x->dtype == NN_DTYPE_FLOAT64;
    v->outer = v->inner = 1;
    v->n = nni_tensor_count(x);
    if (s->has_axis) {
        nn_status st = nni_norm_axis(s->axis, x->rank, "Unique 'axis'", axis);
        if (st != NN_OK)
            return st;
        v->outer = nni_dims_product(x->dims, 0, *axis);
        v->n = x->dims[*axis];
        v->inner = nni_dims_product(x->dims, *axis + 1, x->rank);
    }
    return x->nbytes && !x->data ? NNI_DEFER : NN_OK;
}

/* Group the candidates: order[k] lists the first candidate of each distinct value in output order,
 * group[i] is the output position of candidate i. Returns the number of distinct values. */
static int64_t unique_groups(const unique_state *s, const unique_view *v, int64_t *order, int64_t *group, int64_t *tmp)
{
    int64_t n = v->n, u = 0;
    for (int64_t i = 0; i < n; i++)
        order[i] = i;
    sort_slices(v, order, tmp, n);
    /* sorted groups: the stable sort puts each group's first occurrence first */
    for (int64_t i = 0; i < n; i++) {
        if (i == 0 || cmp_slices(v, order[i - 1], order[i]) != 0)
            tmp[u++] = order[i];
        group[order[i]] = u - 1;
    }
    memcpy(order, tmp, (size_t)u * sizeof *order);
    if (!s->sorted) {
        /* renumber the groups by first occurrence */
        for (int64_t k = 0; k < u; k++)
            tmp[k] = -1;
        int64_t next = 0;
        for (int64_t i = 0; i < n; i++) {
            if (tmp[group[i]] < 0) {
                tmp[group[i]] = next;
                order[next++] = i;
            }
        }
        for (int64_t i = 0; i < n; i++)
            group[i] = tmp[group[i]];
    }
    return u;
}

static nn_status unique_compute(nni_opctx *c, bool write, int64_t *u_out)
{
    const unique_state *s = c->state;
    unique_view v = {0};
    int32_t axis;
    nn_status st = unique_view_of(c, &v, &axis);
    if (st != NN_OK)
        return st;
    int64_t n = v.n;
    int64_t *mem = nni_malloc((size_t)(n ? n : 1) * 3 * sizeof *mem);
    if (!mem)
        return nni_error(NN_E_NOMEM, "Unique: out of memory");
    int64_t *order = mem, *group = mem + n, *tmp = mem + 2 * n;
    int64_t u = unique_groups(s, &v, order, group, tmp);
    *u_out = u;
    if (write) {
        const nn_tensor *x = c->in[0];
        size_t es = nn_dtype_size(x->dtype), inner = (size_t)v.inner * es;
        if (c->out[0]) {
            uint8_t *y = c->out[0]->data;
            for (int64_t o = 0; o < v.outer; o++)
                for (int64_t k = 0; k < u; k++)
                    memcpy(y + (size_t)(o * u + k) * inner, (const uint8_t *)x->data + (size_t)(o * n + order[k]) * inner,
                           inner);
        }
        if (c->n_out > 1 && c->out[1])
            memcpy(c->out[1]->data, order, (size_t)u * sizeof *order);
        if (c->n_out > 2 && c->out[2])
            memcpy(c->out[2]->data, group, (size_t)n * sizeof *group);
        if (c->n_out > 3 && c->out[3]) {
            int64_t *counts = c->out[3]->data;
            memset(counts, 0, (size_t)u * sizeof *counts);
            for (int64_t i = 0; i < n; i++)
                counts[group[i]]++;
        }
    }
    nni_free(mem);
    return NN_OK;
}

static nn_status unique_infer(nni_opctx *c)
{
    int64_t u = 0, dims[NN_MAX_RANK];
    nn_status st = unique_compute(c, false, &u);
    if (st != NN_OK)
        return st;
    const unique_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis = -1;
    if (s->has_axis && (st = nni_norm_axis(s->axis, x->rank, "Unique 'axis'", &axis)) != NN_OK)
        return st;
    int64_t n = axis < 0 ? nni_tensor_count(x) : x->dims[axis];
    if (axis < 0) {
        st = nni_out_shape(c, 0, x->dtype, 1, &u);
    } else {
        memcpy(dims, x->dims, sizeof dims);
        dims[axis] = u;
        st = nni_out_shape(c, 0, x->dtype, x->rank, dims);
    }
    if (st == NN_OK)
        st = nni_out_shape(c, 1, NN_DTYPE_INT64, 1, &u);
    if (st == NN_OK)
        st = nni_out_shape(c, 2, NN_DTYPE_INT64, 1, &n);
    if (st == NN_OK)
        st = nni_out_shape(c, 3, NN_DTYPE_INT64, 1, &u);
    return st;
}

static nn_status unique_run(nni_opctx *c)
{
    int64_t u;
    return unique_compute(c, true, &u);
}

const nni_op_desc nni_op_unique = {
    .name = "Unique", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 4,
    .state_size = sizeof(unique_state),
    .prepare = unique_prepare, .infer = unique_infer, .run = unique_run,
};
