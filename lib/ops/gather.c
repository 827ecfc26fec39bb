/* gather.c — Gather, GatherElements, GatherND: read elements at given indices. */
#include <string.h>

#include "ops/movement.h"
#include "ops/resolve.h"

static nn_status require_indices(const nn_tensor *t, const char *op)
{
    if (t->dtype != NN_DTYPE_INT64 && t->dtype != NN_DTYPE_INT32)
        return nni_error(NN_E_TYPE, "%s: indices must be int64 or int32, got %s", op, nn_dtype_name(t->dtype));
    return NN_OK;
}

/* Index i of a dimension of size dim (negative counts from the end), or an error. */
static nn_status norm_index(int64_t i, int64_t dim, const char *op, int64_t *out)
{
    int64_t v = i < 0 ? i + dim : i;
    if (v < 0 || v >= dim)
        return nni_error(NN_E_INVALID_ARG, "%s: index %lld is out of range for a dimension of size %lld", op,
                         (long long)i, (long long)dim);
    *out = v;
    return NN_OK;
}

static void copy_elem(uint8_t *d, const uint8_t *s, size_t es)
{
    switch (es) {
    case 1: *d = *s; break;
    case 2: *(uint16_t *)d = *(const uint16_t *)s; break;
    case 4: *(uint32_t *)d = *(const uint32_t *)s; break;
    case 8: *(uint64_t *)d = *(const uint64_t *)s; break;
    default: memcpy(d, s, es); break;
    }
}

/* ---- Gather ---- */

typedef struct {
    int64_t axis;
} axis_state;

static nn_status axis_prepare(nni_opctx *c)
{
    axis_state *s = c->state;
    return nni_attr_int(c->node, "axis", 0, &s->axis);
}

static nn_status gather_infer(nni_opctx *c)
{
    const axis_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t axis;
    nn_status st = require_indices(idx, "Gather");
    if (st == NN_OK && x->rank == 0)
        st = nni_error(NN_E_SHAPE, "Gather: data must have rank >= 1");
    if (st == NN_OK)
        st = nni_norm_axis(s->axis, x->rank, "Gather 'axis'", &axis);
    if (st != NN_OK)
        return st;
    int32_t rank = x->rank - 1 + idx->rank;
    if (rank > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "Gather: output rank %d exceeds %d", (int)rank, NN_MAX_RANK);
    int64_t dims[NN_MAX_RANK];
    int32_t r = 0;
    for (int32_t a = 0; a < axis; a++)
        dims[r++] = x->dims[a];
    for (int32_t a = 0; a < idx->rank; a++)
        dims[r++] = idx->dims[a];
    for (int32_t a = axis + 1; a < x->rank; a++)
        dims[r++] = x->dims[a];
    return nni_out_shape(c, 0, x->dtype, rank, dims);
}

typedef struct {
    const uint8_t *src;
    uint8_t *dst;
    const int64_t *idx; /* normalized */
    int64_t n_idx, dim;
    size_t inner;       /* bytes per index */
} gather_job;

static void gather_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const gather_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t o = t / j->n_idx, k = t % j->n_idx;
        memcpy(j->dst + (size_t)t * j->inner, j->src + (size_t)(o * j->dim + j->idx[k]) * j->inner, j->inner);
    }
}

static nn_status gather_run(nni_opctx *c)
{
    const axis_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "Gather 'axis'", &axis);
    if (st != NN_OK)
        return st;
    int64_t n_idx = nni_tensor_count(idx);
    int64_t *norm = c->scratch(c, (size_t)(n_idx ? n_idx : 1) * sizeof *norm);
    if (!norm)
        return nni_error(NN_E_NOMEM, "Gather: out of memory");
    for (int64_t k = 0; k < n_idx; k++)
        if ((st = norm_index(nni_tensor_get_i64(idx, k), x->dims[axis], "Gather", &norm[k])) != NN_OK)
            return st;
    if (c->out[0]->nbytes == 0)
        return NN_OK;
    gather_job j = {.src = x->data, .dst = c->out[0]->data, .idx = norm, .n_idx = n_idx, .dim = x->dims[axis]};
    j.inner = (size_t)nni_dims_product(x->dims, axis + 1, x->rank) * nn_dtype_size(x->dtype);
    int64_t items = nni_dims_product(x->dims, 0, axis) * n_idx;
    int64_t grain = j.inner >= 16384 ? 1 : (int64_t)(16384 / j.inner);
    nni_parallel_for(c->out[0]->nbytes >= 65536 ? c->pool : NULL, items, grain, gather_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_gather = {
    .name = "Gather", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(axis_state),
    .prepare = axis_prepare, .infer = gather_infer, .run = gather_run,
};

/* ---- GatherElements ---- */

static nn_status gather_elements_infer(nni_opctx *c)
{
    const axis_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t axis;
    nn_status st = require_indices(idx, "GatherElements");
    if (st == NN_OK)
        st = nni_norm_axis(s->axis, x->rank, "GatherElements 'axis'", &axis);
    if (st != NN_OK)
        return st;
    char b0[160], b1[160];
    bool ok = idx->rank == x->rank && x->rank > 0;
    for (int32_t a = 0; ok && a < x->rank; a++)
        if (a != axis && idx->dims[a] > x->dims[a])
            ok = false;
    if (!ok)
        return nni_error(NN_E_SHAPE, "GatherElements: indices %s do not fit data %s",
                         nni_shape_str(idx->rank, idx->dims, b0, sizeof b0), nni_shape_str(x->rank, x->dims, b1, sizeof b1));
    return nni_out_shape(c, 0, x->dtype, idx->rank, idx->dims);
}

static nn_status gather_elements_run(nni_opctx *c)
{
    const axis_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "GatherElements 'axis'", &axis);
    if (st != NN_OK)
        return st;
    int64_t strides[NN_MAX_RANK], coord[NN_MAX_RANK] = {0}, n = nni_tensor_count(idx), base = 0;
    nni_row_strides(x->rank, x->dims, strides);
    size_t es = nn_dtype_size(x->dtype);
    const uint8_t *src = x->data;
    uint8_t *dst = c->out[0]->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = 0;
        if ((st = norm_index(nni_tensor_get_i64(idx, i), x->dims[axis], "GatherElements", &k)) != NN_OK)
            return st;
        copy_elem(dst + (size_t)i * es, src + (size_t)(base + k * strides[axis]) * es, es);
        for (int32_t a = idx->rank - 1; a >= 0; a--) { /* odometer over indices' shape; base skips the axis */
            if (a != axis)
                base += strides[a];
            if (++coord[a] < idx->dims[a])
                break;
            if (a != axis)
                base -= coord[a] * strides[a];
            coord[a] = 0;
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_gather_elements = {
    .name = "GatherElements", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(axis_state),
    .prepare = axis_prepare, .infer = gather_elements_infer, .run = gather_elements_run,
};

/* ---- GatherND ---- */

typedef struct {
    int64_t batch_dims;
} gather_nd_state;

static nn_status gather_nd_prepare(nni_opctx *c)
{
    gather_nd_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "batch_dims", 0, &s->batch_dims);
    if (st == NN_OK && s->batch_dims < 0)
        return nni_error(NN_E_INVALID_MODEL, "GatherND: 'batch_dims' must be >= 0");
    return st;
}

static nn_status gather_nd_infer(nni_opctx *c)
{
    const gather_nd_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    nn_status st = require_indices(idx, "GatherND");
    if (st != NN_OK)
        return st;
    int64_t b = s->batch_dims;
    if (idx->rank < 1 || x->rank < 1 || b >= idx->rank || b >= x->rank)
        return nni_error(NN_E_SHAPE, "GatherND: data rank %d and indices rank %d do not fit batch_dims %lld",
                         (int)x->rank, (int)idx->rank, (long long)b);
    int64_t k = idx->dims[idx->rank - 1];
    if (k < 1 || k > x->rank - b)
        return nni_error(NN_E_SHAPE, "GatherND: the last indices dimension (%lld) must be in 1..%lld", (long long)k,
                         (long long)(x->rank - b));
    for (int64_t a = 0; a < b; a++)
        if (x->dims[a] != idx->dims[a])
            return nni_error(NN_E_SHAPE, "GatherND: batch dimension %d differs between data and indices", (int)a);
    int64_t dims[NN_MAX_RANK];
    int32_t r = 0;
    for (int32_t a = 0; a < idx->rank - 1; a++)
        dims[r++] = idx->dims[a];
    for (int32_t a = (int32_t)(b + k); a < x->rank; a++) {
        if (r >= NN_MAX_RANK)
            return nni_error(NN_E_LIMIT, "GatherND: output rank exceeds %d", NN_MAX_RANK);
        dims[r++] = x->dims[a];
    }
    return nni_out_shape(c, 0, x->dtype, r, dims);
}

static nn_status gather_nd_run(nni_opctx *c)
{
    const gather_nd_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t b = (int32_t)s->batch_dims;
    int64_t k = idx->dims[idx->rank - 1];
    int64_t strides[NN_MAX_RANK];
    nni_row_strides(x->rank, x->dims, strides);
    size_t es = nn_dtype_size(x->dtype);
    int64_t batches = nni_dims_product(x->dims, 0, b);
    int64_t per_batch = nni_dims_product(idx->dims, b, idx->rank - 1); /* index tuples per batch */
    int64_t batch_elems = nni_dims_product(x->dims, b, x->rank);
    size_t slice = (size_t)nni_dims_product(x->dims, (int32_t)(b + k), x->rank) * es;
    const uint8_t *src = x->data;
    uint8_t *dst = c->out[0]->data;
    for (int64_t bi = 0, t = 0; bi < batches; bi++) {
        for (int64_t i = 0; i < per_batch; i++, t++) {
            int64_t off = bi * batch_elems;
            for (int64_t j = 0; j < k; j++) {
                int64_t v = 0;
                nn_status st = norm_index(nni_tensor_get_i64(idx, t * k + j), x->dims[b + j], "GatherND", &v);
                if (st != NN_OK)
                    return st;
                off += v * strides[b + j];
            }
            if (slice)
                memcpy(dst + (size_t)t * slice, src + (size_t)off * es, slice);
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_gather_nd = {
    .name = "GatherND", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(gather_nd_state),
    .prepare = gather_nd_prepare, .infer = gather_nd_infer, .run = gather_nd_run,
};

/* ---- Compress ---- */

typedef struct {
    bool has_axis;
    int64_t axis;
} compress_state;

static nn_status compress_prepare(nni_opctx *c)
{
    compress_state *s = c->state;
    s->has_axis = nni_node_attr(c->node, "axis") != NULL;
    return nni_attr_int(c->node, "axis", 0, &s->axis);
}

/* The axis compressed (-1: the flattened input), its length and how many entries are kept. */
static nn_status compress_params(const nni_opctx *c, int32_t *axis, int64_t *kept)
{
    const compress_state *s = c->state;
    const nn_tensor *x = c->in[0], *cond = c->in[1];
    if (cond->dtype != NN_DTYPE_BOOL || cond->rank != 1)
        return nni_error(NN_E_TYPE, "Compress: the condition must be a 1-D bool tensor");
    *axis = -1;
    if (s->has_axis) {
        nn_status st = nni_norm_axis(s->axis, x->rank, "Compress 'axis'", axis);
        if (st != NN_OK)
            return st;
    }
    int64_t len = *axis < 0 ? nni_tensor_count(x) : x->dims[*axis];
    if (cond->dims[0] > len)
        return nni_error(NN_E_SHAPE, "Compress: the condition has %lld entries for a length of %lld",
                         (long long)cond->dims[0], (long long)len);
    if (cond->dims[0] && !cond->data)
        return NNI_DEFER;
    const uint8_t *m = cond->data;
    *kept = 0;
    for (int64_t i = 0; i < cond->dims[0]; i++)
        *kept += m[i] != 0;
    return NN_OK;
}

static nn_status compress_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int32_t axis;
    int64_t kept, dims[NN_MAX_RANK];
    nn_status st = compress_params(c, &axis, &kept);
    if (st != NN_OK)
        return st;
    if (axis < 0)
        return nni_out_shape(c, 0, x->dtype, 1, &kept);
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = kept;
    return nni_out_shape(c, 0, x->dtype, x->rank, dims);
}

static nn_status compress_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0], *cond = c->in[1];
    int32_t axis;
    int64_t kept;
    nn_status st = compress_params(c, &axis, &kept);
    if (st != NN_OK || c->out[0]->nbytes == 0)
        return st;
    size_t es = nn_dtype_size(x->dtype);
    int64_t outer = axis < 0 ? 1 : nni_dims_product(x->dims, 0, axis);
    int64_t len = axis < 0 ? nni_tensor_count(x) : x->dims[axis];
    size_t inner = (axis < 0 ? 1 : (size_t)nni_dims_product(x->dims, axis + 1, x->rank)) * es;
    const uint8_t *m = cond->data, *src = x->data;
    uint8_t *dst = c->out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < cond->dims[0]; i++)
            if (m[i]) {
                memcpy(dst, src + (size_t)(o * len + i) * inner, inner);
                dst += inner;
            }
    return NN_OK;
}

const nni_op_desc nni_op_compress = {
    .name = "Compress", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(compress_state),
    .prepare = compress_prepare, .infer = compress_infer, .run = compress_run,
};
nn_status nni_gather_axis(const nni_opctx *c, int32_t *axis)
{
    const axis_state *s = c->state;
    return nni_norm_axis(s->axis, c->in[0]->rank, "Gather 'axis'", axis);
}
