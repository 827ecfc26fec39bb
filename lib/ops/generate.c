/* generate.c — ConstantOfShape, Range, OneHot: tensors built from shapes and scalars. */
#include <math.h>
#include <string.h>

#include "ops/movement.h"

/* Fill n elements of es bytes with the element at dst[0]: doubling copies. */
static void fill_from_first(uint8_t *dst, size_t es, int64_t n)
{
    size_t done = es, total = (size_t)n * es;
    while (done < total) {
        size_t k = done < total - done ? done : total - done;
        memcpy(dst + done, dst, k);
        done += k;
    }
}

/* ---- ConstantOfShape ---- */

typedef struct {
    nn_dtype dtype;
    uint8_t value[16];
} cos_state;

static nn_status cos_prepare(nni_opctx *c)
{
    cos_state *s = c->state;
    const nni_attr *a = nni_node_attr(c->node, "value");
    s->dtype = NN_DTYPE_FLOAT32;
    if (!a)
        return NN_OK;
    if (a->type != NNI_ATTR_TENSOR || !a->t)
        return nni_error(NN_E_INVALID_MODEL, "ConstantOfShape: 'value' must be a tensor");
    size_t es = nn_dtype_size(a->t->dtype);
    if (es == 0 || es > sizeof s->value)
        return nni_error(NN_E_UNSUPPORTED, "ConstantOfShape: 'value' of type %s is not supported", nn_dtype_name(a->t->dtype));
    if (nni_tensor_count(a->t) != 1 || !a->t->data)
        return nni_error(NN_E_INVALID_MODEL, "ConstantOfShape: 'value' must hold exactly one element");
    s->dtype = a->t->dtype;
    memcpy(s->value, a->t->data, es);
    return NN_OK;
}

static nn_status cos_infer(nni_opctx *c)
{
    const cos_state *s = c->state;
    int64_t dims[NN_MAX_RANK], n;
    nn_status st = nni_read_ints(c->in[0], "ConstantOfShape shape", dims, NN_MAX_RANK, &n);
    if (st != NN_OK)
        return st;
    if (c->in[0]->rank != 1)
        return nni_error(NN_E_SHAPE, "ConstantOfShape: the shape input must be 1-D");
    for (int64_t i = 0; i < n; i++)
        if (dims[i] < 0)
            return nni_error(NN_E_SHAPE, "ConstantOfShape: dimension %lld is negative", (long long)dims[i]);
    return nni_out_shape(c, 0, s->dtype, (int32_t)n, dims);
}

static nn_status cos_run(nni_opctx *c)
{
    const cos_state *s = c->state;
    nn_tensor *y = c->out[0];
    size_t es = nn_dtype_size(y->dtype);
    if (y->nbytes == 0)
        return NN_OK;
    memcpy(y->data, s->value, es);
    fill_from_first(y->data, es, nni_tensor_count(y));
    return NN_OK;
}

const nni_op_desc nni_op_constant_of_shape = {
    .name = "ConstantOfShape", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(cos_state),
    .prepare = cos_prepare, .infer = cos_infer, .run = cos_run,
};

/* ---- Range ---- */

static bool is_float(nn_dtype dt) { return dt == NN_DTYPE_FLOAT32 || dt == NN_DTYPE_FLOAT64; }

static nn_status range_count(const nni_opctx *c, int64_t *n)
{
    nn_dtype dt = c->in[0]->dtype;
    for (int32_t i = 0; i < 3; i++) {
        const nn_tensor *t = c->in[i];
        if (t->dtype != dt || !nni_is_numeric(dt))
            return nni_error(NN_E_TYPE, "Range: start, limit and delta must share one numeric type");
        if (nni_tensor_count(t) != 1 || t->rank > 1)
            return nni_error(NN_E_SHAPE, "Range: start, limit and delta must be scalars");
        if (!t->data)
            return NNI_DEFER;
    }
    if (is_float(dt)) {
        double start = nni_tensor_get_f64(c->in[0], 0), limit = nni_tensor_get_f64(c->in[1], 0);
        double delta = nni_tensor_get_f64(c->in[2], 0);
        if (delta == 0 || !isfinite(delta) || !isfinite(start) || !isfinite(limit))
            return nni_error(NN_E_INVALID_ARG, "Range: delta must be finite and non-zero, start and limit finite");
        double k = ceil((limit - start) / delta);
        if (k > 9e15)
            return nni_error(NN_E_LIMIT, "Range: %g elements are too many", k);
        *n = k > 0 ? (int64_t)k : 0;
        return NN_OK;
    }
    int64_t start = nni_tensor_get_i64(c->in[0], 0), limit = nni_tensor_get_i64(c->in[1], 0);
    int64_t delta = nni_tensor_get_i64(c->in[2], 0);
    if (delta == 0)
        return nni_error(NN_E_INVALID_ARG, "Range: delta must be non-zero");
    /* exact integer ceil((limit - start) / delta) in 128 bits: no overflow */
    __int128 span = (__int128)limit - start, d = delta, k;
    if ((span > 0) != (d > 0) || span == 0)
        k = 0;
    else
        k = span > 0 ? (span + d - 1) / d : (span + d + 1) / d;
    if (k > (__int128)INT64_MAX)
        return nni_error(NN_E_LIMIT, "Range: too many elements");
    *n = (int64_t)k;
    return NN_OK;
}

static nn_status range_infer(nni_opctx *c)
{
    int64_t n;
    nn_status st = range_count(c, &n);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[0]->dtype, 1, &n);
}

static nn_status range_run(nni_opctx *c)
{
    int64_t n;
    nn_status st = range_count(c, &n);
    if (st != NN_OK)
        return st;
    nn_tensor *y = c->out[0];
    size_t es = nn_dtype_size(y->dtype);
    uint8_t *d = y->data;
    if (is_float(y->dtype)) {
        double start = nni_tensor_get_f64(c->in[0], 0), delta = nni_tensor_get_f64(c->in[2], 0);
        for (int64_t i = 0; i < n; i++)
            nni_store_f64(d + (size_t)i * es, y->dtype, start + (double)i * delta);
    } else {
        int64_t v = nni_tensor_get_i64(c->in[0], 0), delta = nni_tensor_get_i64(c->in[2], 0);
        for (int64_t i = 0; i < n; i++, v = (int64_t)((uint64_t)v + (uint64_t)delta)) {
            switch (es) {
            case 1: d[i] = (uint8_t)v; break;
            case 2: ((uint16_t *)d)[i] = (uint16_t)v; break;
            case 4: ((uint32_t *)d)[i] = (uint32_t)v; break;
            default: ((uint64_t *)d)[i] = (uint64_t)v; break;
            }
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_range = {
    .name = "Range", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .infer = range_infer, .run = range_run,
};

/* ---- OneHot ---- */

typedef struct {
    int64_t axis;
} onehot_state;

static nn_status onehot_prepare(nni_opctx *c)
{
    onehot_state *s = c->state;
    return nni_attr_int(c->node, "axis", -1, &s->axis);
}

static nn_status onehot_params(const nni_opctx *c, int32_t *axis, int64_t *depth)
{
    const onehot_state *s = c->state;
    const nn_tensor *idx = c->in[0], *dep = c->in[1], *val = c->in[2];
    if (!nni_is_numeric(idx->dtype) || !nni_is_numeric(dep->dtype))
        return nni_error(NN_E_TYPE, "OneHot: indices and depth must be numeric");
    if (nni_tensor_count(val) != 2 || val->rank != 1)
        return nni_error(NN_E_SHAPE, "OneHot: values must hold 2 elements [off, on]");
    if (nni_tensor_count(dep) != 1 || dep->rank > 1)
        return nni_error(NN_E_SHAPE, "OneHot: depth must be a scalar");
    int32_t rank = idx->rank + 1;
    if (rank > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "OneHot: output rank %d exceeds %d", (int)rank, NN_MAX_RANK);
    nn_status st = nni_norm_axis(s->axis, rank, "OneHot 'axis'", axis);
    if (st != NN_OK)
        return st;
    if (!dep->data)
        return NNI_DEFER;
    double d = nni_tensor_get_f64(dep, 0);
    if (!(d >= 1) || d > 9e15)
        return nni_error(NN_E_INVALID_ARG, "OneHot: depth %g must be positive", d);
    *depth = (int64_t)d;
    return NN_OK;
}

static nn_status onehot_infer(nni_opctx *c)
{
    const nn_tensor *idx = c->in[0];
    int32_t axis;
    int64_t depth, dims[NN_MAX_RANK];
    nn_status st = onehot_params(c, &axis, &depth);
    if (st != NN_OK)
        return st;
    for (int32_t a = 0, k = 0; a <= idx->rank; a++)
        dims[a] = a == axis ? depth : idx->dims[k++];
    return nni_out_shape(c, 0, c->in[2]->dtype, idx->rank + 1, dims);
}

static nn_status onehot_run(nni_opctx *c)
{
    const nn_tensor *idx = c->in[0], *val = c->in[2];
    nn_tensor *y = c->out[0];
    int32_t axis;
    int64_t depth;
    nn_status st = onehot_params(c, &axis, &depth);
    if (st != NN_OK || y->nbytes == 0)
        return st;
    size_t es = nn_dtype_size(y->dtype);
    uint8_t *d = y->data;
    const uint8_t *off = val->data, *on = off + es;
    memcpy(d, off, es);
    fill_from_first(d, es, nni_tensor_count(y));
    int64_t inner = nni_dims_product(idx->dims, axis, idx->rank), n = nni_tensor_count(idx);
    for (int64_t t = 0; t < n; t++) {
        double v = nni_tensor_get_f64(idx, t);
        if (v < 0)
            v += (double)depth;
        if (!(v >= 0 && v < (double)depth))
            continue; /* out of range: the row stays all "off" */
        int64_t k = (int64_t)v, o = t / inner, i = t % inner;
        memcpy(d + (size_t)((o * depth + k) * inner + i) * es, on, es);
    }
    return NN_OK;
}

const nni_op_desc nni_op_onehot = {
    .name = "OneHot", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(onehot_state),
    .prepare = onehot_prepare, .infer = onehot_infer, .run = onehot_run,
};

/* ---- EyeLike ---- */

typedef struct {
    nn_dtype dtype; /* 0: the input's */
    int64_t k;
} eyelike_state;

static nn_status eyelike_prepare(nni_opctx *c)
{
    eyelike_state *s = c->state;
    int64_t dt;
    nn_status st = nni_attr_int(c->node, "dtype", 0, &dt);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "k", 0, &s->k);
    if (st != NN_OK)
        return st;
    if (dt != 0 && (nn_dtype_size((nn_dtype)dt) == 0 || dt == NN_DTYPE_FLOAT16))
        return nni_error(NN_E_UNSUPPORTED, "EyeLike: 'dtype' %lld is not supported", (long long)dt);
    s->dtype = (nn_dtype)dt;
    /* beyond any dimension the diagonal misses the matrix either way; clamped, k - cols cannot overflow */
    const int64_t far = (int64_t)1 << 62;
    s->k = s->k > far ? far : s->k < -far ? -far : s->k;
    return NN_OK;
}

static nn_status eyelike_infer(nni_opctx *c)
{
    const eyelike_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (x->rank != 2)
        return nni_error(NN_E_SHAPE, "EyeLike: the input must be 2-D, got rank %d", (int)x->rank);
    nn_dtype dt = s->dtype ? s->dtype : x->dtype;
    if (dt == NN_DTYPE_FLOAT16)
        return nni_error(NN_E_UNSUPPORTED, "EyeLike: float16 output is not supported");
    return nni_out_shape(c, 0, dt, 2, x->dims);
}

static nn_status eyelike_run(nni_opctx *c)
{
    const eyelike_state *s = c->state;
    nn_tensor *y = c->out[0];
    size_t es = nn_dtype_size(y->dtype);
    int64_t rows = y->dims[0], cols = y->dims[1];
    memset(y->data, 0, y->nbytes);
    /* only the rows the diagonal crosses: an empty [2^31, 0] output takes no time (fuzz_onnx_graph) */
    int64_t i0 = s->k < 0 ? -s->k : 0, i1 = cols - s->k < rows ? cols - s->k : rows;
    for (int64_t i = i0; i < i1; i++)
        nni_store_f64((uint8_t *)y->data + (size_t)(i * cols + i + s->k) * es, y->dtype, 1.0);
    return NN_OK;
}

const nni_op_desc nni_op_eyelike = {
    .name = "EyeLike", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(eyelike_state),
    .prepare = eyelike_prepare, .infer = eyelike_infer, .run = eyelike_run,
    .flags = NNI_OP_SHAPE_ONLY,
};
