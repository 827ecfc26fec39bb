/*
 * grad_shape.c — backward of the data-movement ops: Concat, Split, Slice,
 * Transpose, Pad (every mode), Squeeze, Unsqueeze, Expand and Gather. Each
 * routes dY back to the input elements it was read from, adding where the
 * forward read an element more than once (Pad's reflect/edge/wrap, Expand,
 * Gather with repeated indices).
 */
#include <string.h>

#include "kernels/strided.h"
#include "ops/movement.h"
#include "ops/resolve.h"
#include "train/grad_helpers.h"

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- same elements, new shape ---- */

nn_status nni_grad_passthrough(nni_gradctx *g)
{
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    if (nni_tensor_count(dy) != nni_tensor_count(dx))
        return nni_error(NN_E_SHAPE, "output gradient and input differ in size");
    nni_grad_accumulate(g->fwd.pool, dx->data, dy->data, nni_tensor_count(dx));
    return NN_OK;
}

nn_status nni_grad_expand(nni_gradctx *g)
{
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    return nni_grad_reduce_to(dy, dx, 1.0f);
}

/* ---- Concat and Split: blocks of the axis ---- */

typedef struct {
    float *big;         /* the concatenated side (Concat's dY, Split's dX) */
    int64_t big_row;    /* floats per outer row of it */
    int32_t n;          /* pieces */
    float *const *part; /* per piece (NULL: skip) */
    const int64_t *off, *len; /* per piece: offset and length in floats within a row */
    bool to_parts;      /* Concat: parts += big; Split: big += parts */
} blocks_job;

static void blocks_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const blocks_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t o = begin; o < end; o++)
        for (int32_t k = 0; k < j->n; k++) {
            if (!j->part[k])
                continue;
            float *p = j->part[k] + o * j->len[k], *b = j->big + o * j->big_row + j->off[k];
            if (j->to_parts)
                for (int64_t i = 0; i < j->len[k]; i++)
                    p[i] += b[i];
            else
                for (int64_t i = 0; i < j->len[k]; i++)
                    b[i] += p[i];
        }
}

/* Scratch for per-piece pointers and lengths. */
static nn_status blocks_scratch(nni_gradctx *g, int32_t n, float ***part, int64_t **off, int64_t **len)
{
    char *buf = nni_grad_scratch(g, (size_t)n * (sizeof(float *) + 2 * sizeof(int64_t)));
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate backward scratch");
    *part = (float **)buf;
    *off = (int64_t *)(buf + (size_t)n * sizeof(float *));
    *len = *off + n;
    return NN_OK;
}

nn_status nni_grad_concat(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    if (!dy)
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    int32_t axis;
    if (st != NN_OK || (st = nni_concat_axis(c, &axis)) != NN_OK)
        return st;
    float **part = NULL;
    int64_t *off = NULL, *len = NULL;
    if ((st = blocks_scratch(g, c->n_in, &part, &off, &len)) != NN_OK)
        return st;
    const int64_t inner = nni_dims_product(dy->dims, axis + 1, dy->rank);
    int64_t at = 0;
    for (int32_t i = 0; i < c->n_in; i++) {
        nn_tensor *d = nni_grad_din(g, i);
        part[i] = d ? d->data : NULL;
        off[i] = at;
        len[i] = c->in[i]->dims[axis] * inner;
        at += len[i];
    }
    blocks_job j = {.big = dy->data, .big_row = at, .n = c->n_in, .part = part, .off = off, .len = len,
                    .to_parts = true};
    const int64_t outer = nni_dims_product(dy->dims, 0, axis);
    if (at > 0 && outer > 0)
        nni_parallel_for(c->pool, outer, max64(1, 65536 / at), blocks_task, &j);
    return NN_OK;
}

nn_status nni_grad_split(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    nn_tensor *dx = nni_grad_din(g, 0);
    if (!dx)
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    if (st != NN_OK)
        return st;
    float **part = NULL;
    int64_t *off = NULL, *len = NULL, *sizes;
    /* sizes share the len array: read them first, then turn them into lengths */
    if ((st = blocks_scratch(g, c->n_out, &part, &off, &len)) != NN_OK)
        return st;
    sizes = len;
    int32_t axis;
    if ((st = nni_split_resolve(c, &axis, sizes)) != NN_OK)
        return st;
    const nn_tensor *x = c->in[0];
    const int64_t inner = nni_dims_product(x->dims, axis + 1, x->rank);
    int64_t at = 0;
    for (int32_t k = 0; k < c->n_out; k++) {
        const nn_tensor *d = nni_grad_dout(g, k);
        part[k] = d ? (float *)d->data : NULL; /* read only: Split adds parts into the big side */
        off[k] = at;
        len[k] = sizes[k] * inner;
        at += len[k];
        if (d && nni_tensor_count(d) != nni_dims_product(x->dims, 0, axis) * len[k])
            return nni_error(NN_E_SHAPE, "output gradient %d has the wrong size", (int)k);
    }
    blocks_job j = {.big = dx->data, .big_row = at, .n = c->n_out, .part = part, .off = off, .len = len,
                    .to_parts = false};
    const int64_t outer = nni_dims_product(x->dims, 0, axis);
    if (at > 0 && outer > 0)
        nni_parallel_for(c->pool, outer, max64(1, 65536 / at), blocks_task, &j);
    return NN_OK;
}

/* ---- Slice: scatter dY into the strided window ---- */

typedef struct {
    const float *dy;
    float *dx;
    int32_t rank;
    int64_t dims[NN_MAX_RANK], str[NN_MAX_RANK]; /* output dims, dX strides per output step */
    int64_t base;
} slice_job;

static void slice_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const slice_job *j = arg;
    NNI_UNUSED(tid);
    const int32_t last = j->rank - 1;
    const int64_t W = j->dims[last], s = j->str[last];
    for (int64_t row = begin; row < end; row++) {
        int64_t off = j->base, rem = row;
        for (int32_t a = last - 1; a >= 0; a--) {
            off += (rem % j->dims[a]) * j->str[a];
            rem /= j->dims[a];
        }
        const float *dy = j->dy + row * W;
        float *dx = j->dx + off;
        for (int64_t i = 0; i < W; i++)
            dx[i * s] += dy[i];
    }
}

nn_status nni_grad_slice(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    int64_t start[NN_MAX_RANK], step[NN_MAX_RANK], in_str[NN_MAX_RANK];
    slice_job j = {.dy = dy->data, .dx = dx->data, .rank = x->rank};
    if ((st = nni_slice_resolve(c, start, step, j.dims)) != NN_OK)
        return st;
    if (nni_tensor_count(dy) == 0)
        return NN_OK;
    if (x->rank == 0)
        return nni_grad_passthrough(g);
    nni_row_strides(x->rank, x->dims, in_str);
    for (int32_t a = 0; a < x->rank; a++) {
        j.base += start[a] * in_str[a];
        j.str[a] = step[a] * in_str[a];
    }
    const int64_t W = j.dims[x->rank - 1], rows = nni_tensor_count(dy) / W;
    nni_parallel_for(c->pool, rows, max64(1, 32768 / W), slice_task, &j);
    return NN_OK;
}

/* ---- Transpose: dX is dY transposed back ---- */

nn_status nni_grad_transpose(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    int64_t perm[NN_MAX_RANK], dy_str[NN_MAX_RANK], str[NN_MAX_RANK];
    if ((st = nni_transpose_perm(c, perm)) != NN_OK)
        return st;
    const int64_t n = nni_tensor_count(x);
    if (n == 0)
        return NN_OK;
    nni_row_strides(dy->rank, dy->dims, dy_str);
    for (int32_t i = 0; i < x->rank; i++)
        str[perm[i]] = dy_str[i]; /* input axis perm[i] is output axis i */
    float *tmp = nni_grad_scratch(g, (size_t)n * sizeof(float));
    if (!tmp)
        return nni_error(NN_E_NOMEM, "cannot allocate Transpose backward scratch");
    nni_strided_copy(tmp, dy->data, sizeof(float), x->rank, x->dims, str, c->pool);
    nni_grad_accumulate(c->pool, dx->data, tmp, n);
    return NN_OK;
}

/* ---- Pad: each output element adds into the input element it copied ---- */

typedef struct {
    const float *dy;
    float *dx;
    int32_t rank;
    const int64_t *dims;  /* output dims */
    int64_t *const *map;  /* per axis: output coordinate -> input offset, -1 for the constant */
} pad_job;

static void pad_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const pad_job *j = arg;
    NNI_UNUSED(tid);
    const int32_t last = j->rank - 1;
    const int64_t W = j->dims[last];
    const int64_t *ml = j->map[last];
    for (int64_t row = begin; row < end; row++) {
        int64_t off = 0, rem = row;
        bool inside = true;
        for (int32_t a = last - 1; a >= 0; a--) {
            const int64_t m = j->map[a][rem % j->dims[a]];
            rem /= j->dims[a];
            if (m < 0)
                inside = false;
            off += m;
        }
        if (!inside)
            continue;
        const float *dy = j->dy + row * W;
        for (int64_t o = 0; o < W; o++)
            if (ml[o] >= 0)
                j->dx[off + ml[o]] += dy[o];
    }
}

nn_status nni_grad_pad(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    int64_t pb[NN_MAX_RANK], pe[NN_MAX_RANK], strides[NN_MAX_RANK];
    int32_t mode;
    if ((st = nni_pad_resolve(c, pb, pe, &mode)) != NN_OK)
        return st;
    if (nni_tensor_count(dy) == 0 || nni_tensor_count(x) == 0)
        return NN_OK;
    if (x->rank == 0)
        return nni_grad_passthrough(g);
    int64_t total = 0, *map[NN_MAX_RANK];
    for (int32_t a = 0; a < x->rank; a++)
        total += dy->dims[a];
    int64_t *maps = nni_grad_scratch(g, (size_t)total * sizeof *maps);
    if (!maps)
        return nni_error(NN_E_NOMEM, "cannot allocate Pad backward scratch");
    nni_row_strides(x->rank, x->dims, strides);
    int64_t at = 0;
    for (int32_t a = 0; a < x->rank; at += dy->dims[a], a++) {
        map[a] = maps + at;
        for (int64_t o = 0; o < dy->dims[a]; o++) {
            const int64_t i = nni_pad_source_index(mode, o, pb[a], x->dims[a]);
            map[a][o] = i < 0 ? -1 : i * strides[a];
        }
    }
    pad_job j = {.dy = dy->data, .dx = dx->data, .rank = x->rank, .dims = dy->dims, .map = map};
    const int64_t W = dy->dims[x->rank - 1], rows = nni_tensor_count(dy) / W;
    /* constant padding maps outputs one-to-one onto inputs: rows run in parallel;
     * the other modes read some inputs more than once */
    nni_parallel_for(mode == NNI_PAD_CONSTANT ? c->pool : NULL, rows, max64(1, 32768 / W), pad_task, &j);
    return NN_OK;
}

/* ---- Gather: scatter-add into the data's gradient ---- */

typedef struct {
    const float *dy;
    float *dx;
    const int64_t *idx;
    int64_t n_idx, dim, inner;
} gather_job;

static void gather_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const gather_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t o = begin; o < end; o++)
        for (int64_t k = 0; k < j->n_idx; k++) {
            const float *s = j->dy + (o * j->n_idx + k) * j->inner;
            float *d = j->dx + (o * j->dim + j->idx[k]) * j->inner;
            for (int64_t i = 0; i < j->inner; i++)
                d[i] += s[i];
        }
}

nn_status nni_grad_gather(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0], *idx = c->in[1];
    int32_t axis;
    if ((st = nni_gather_axis(c, &axis)) != NN_OK)
        return st;
    const int64_t n_idx = nni_tensor_count(idx), dim = x->dims[axis];
    int64_t *norm = nni_grad_scratch(g, (size_t)(n_idx ? n_idx : 1) * sizeof *norm);
    if (!norm)
        return nni_error(NN_E_NOMEM, "cannot allocate Gather backward scratch");
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t v = nni_tensor_get_i64(idx, k);
        if (v < 0)
            v += dim;
        if (v < 0 || v >= dim)
            return nni_error(NN_E_INVALID_ARG, "Gather index %lld is out of range for a dimension of size %lld",
                             (long long)nni_tensor_get_i64(idx, k), (long long)dim);
        norm[k] = v;
    }
    gather_job j = {.dy = dy->data, .dx = dx->data, .idx = norm, .n_idx = n_idx, .dim = dim,
                    .inner = nni_dims_product(x->dims, axis + 1, x->rank)};
    const int64_t outer = nni_dims_product(x->dims, 0, axis);
    if (nni_tensor_count(dy) != outer * n_idx * j.inner)
        return nni_error(NN_E_SHAPE, "output gradient has the wrong size");
    if (outer * n_idx * j.inner == 0)
        return NN_OK;
    /* rows of the outer dims are disjoint in dX; indices within one may repeat */
    nni_parallel_for(c->pool, outer, max64(1, 32768 / max64(1, n_idx * j.inner)), gather_task, &j);
    return NN_OK;
}
