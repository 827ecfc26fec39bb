/* scatter.c — ScatterND, ScatterElements (and the older Scatter): write updates at given indices. */
#include <string.h>

#include "ops/movement.h"

enum { RED_NONE, RED_ADD, RED_MUL, RED_MAX, RED_MIN };

typedef struct {
    int64_t axis;
    int32_t reduction;
} scatter_state;

static nn_status scatter_prepare(nni_opctx *c)
{
    scatter_state *s = c->state;
    const char *red;
    nn_status st = nni_attr_int(c->node, "axis", 0, &s->axis);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "reduction", "none", &red);
    if (st != NN_OK)
        return st;
    static const char *const names[] = {"none", "add", "mul", "max", "min"};
    for (int32_t i = 0; i < 5; i++)
        if (strcmp(red, names[i]) == 0) {
            s->reduction = i;
            return NN_OK;
        }
    return nni_error(NN_E_INVALID_MODEL, "%s: unknown 'reduction' \"%s\"", c->node->op_type, red);
}

static nn_status check_types(const nni_opctx *c, const char *op)
{
    const scatter_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    if (idx->dtype != NN_DTYPE_INT64 && idx->dtype != NN_DTYPE_INT32)
        return nni_error(NN_E_TYPE, "%s: indices must be int64 or int32, got %s", op, nn_dtype_name(idx->dtype));
    if (upd->dtype != x->dtype)
        return nni_error(NN_E_TYPE, "%s: updates are %s but data is %s", op, nn_dtype_name(upd->dtype), nn_dtype_name(x->dtype));
    if (s->reduction != RED_NONE && !nni_is_numeric(x->dtype))
        return nni_error(NN_E_UNSUPPORTED, "%s: reduction on %s is not supported", op, nn_dtype_name(x->dtype));
    return NN_OK;
}

#define APPLY(T)                                                                                                       \
    do {                                                                                                               \
        T *dp = d, sv = *(const T *)s;                                                                                 \
        switch (red) {                                                                                                 \
        case RED_ADD: *dp = (T)(*dp + sv); break;                                                                      \
        case RED_MUL: *dp = (T)(*dp * sv); break;                                                                      \
        case RED_MAX: *dp = *dp > sv ? *dp : sv; break;                                                                \
        default: *dp = *dp < sv ? *dp : sv; break;                                                                     \
        }                                                                                                              \
    } while (0)

/* d op= s for one element (red != RED_NONE; dtype checked numeric). Unsigned
 * arithmetic for integers: wrap-around instead of undefined overflow. */
static void apply(void *d, const void *s, nn_dtype dt, int32_t red)
{
    switch (dt) {
    case NN_DTYPE_FLOAT32: APPLY(float); break;
    case NN_DTYPE_FLOAT64: APPLY(double); break;
    case NN_DTYPE_UINT8: APPLY(uint8_t); break;
    case NN_DTYPE_UINT16: APPLY(uint16_t); break;
    case NN_DTYPE_UINT32: APPLY(uint32_t); break;
    case NN_DTYPE_UINT64: APPLY(uint64_t); break;
    case NN_DTYPE_INT8: case NN_DTYPE_INT16: case NN_DTYPE_INT32: case NN_DTYPE_INT64: {
        int64_t a = nni_tensor_get_i64(&(nn_tensor){.dtype = dt, .data = d}, 0);
        int64_t b = nni_tensor_get_i64(&(nn_tensor){.dtype = dt, .data = (void *)s}, 0), r;
        switch (red) {
        case RED_ADD: r = (int64_t)((uint64_t)a + (uint64_t)b); break;
        case RED_MUL: r = (int64_t)((uint64_t)a * (uint64_t)b); break;
        case RED_MAX: r = a > b ? a : b; break;
        default: r = a < b ? a : b; break;
        }
        switch (dt) {
        case NN_DTYPE_INT8: *(int8_t *)d = (int8_t)r; break;
        case NN_DTYPE_INT16: *(int16_t *)d = (int16_t)r; break;
        case NN_DTYPE_INT32: *(int32_t *)d = (int32_t)r; break;
        default: *(int64_t *)d = r; break;
        }
        break;
    }
    default: break;
    }
}

static void put(uint8_t *d, const uint8_t *s, size_t es, nn_dtype dt, int32_t red)
{
    if (red == RED_NONE)
        memcpy(d, s, es);
    else
        apply(d, s, dt, red);
}

static nn_status norm_index(int64_t i, int64_t dim, const char *op, int64_t *out)
{
    int64_t v = i < 0 ? i + dim : i;
    if (v < 0 || v >= dim)
        return nni_error(NN_E_INVALID_ARG, "%s: index %lld is out of range for a dimension of size %lld", op,
                         (long long)i, (long long)dim);
    *out = v;
    return NN_OK;
}

static nn_status same_as_data_infer(nni_opctx *c)
{
    return nni_out_shape(c, 0, c->in[0]->dtype, c->in[0]->rank, c->in[0]->dims);
}

/* ---- ScatterND ---- */

static nn_status scatter_nd_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    nn_status st = check_types(c, "ScatterND");
    if (st != NN_OK)
        return st;
    int64_t k = idx->rank ? idx->dims[idx->rank - 1] : -1;
    char b0[160], b1[160];
    if (idx->rank < 1 || k < 1 || k > x->rank)
        return nni_error(NN_E_SHAPE, "ScatterND: indices %s do not fit data of rank %d",
                         nni_shape_str(idx->rank, idx->dims, b0, sizeof b0), (int)x->rank);
    /* updates = indices.shape[:-1] + data.shape[k:] */
    bool ok = upd->rank == idx->rank - 1 + x->rank - k;
    for (int32_t a = 0; ok && a < idx->rank - 1; a++)
        ok = upd->dims[a] == idx->dims[a];
    for (int32_t a = 0; ok && a < x->rank - k; a++)
        ok = upd->dims[idx->rank - 1 + a] == x->dims[k + a];
    if (!ok)
        return nni_error(NN_E_SHAPE, "ScatterND: updates %s do not fit indices %s and data",
                         nni_shape_str(upd->rank, upd->dims, b0, sizeof b0),
                         nni_shape_str(idx->rank, idx->dims, b1, sizeof b1));
    return same_as_data_infer(c);
}

static nn_status scatter_nd_run(nni_opctx *c)
{
    const scatter_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    uint8_t *dst = c->out[0]->data;
    if (x->nbytes)
        memcpy(dst, x->data, x->nbytes);
    size_t es = nn_dtype_size(x->dtype);
    int64_t k = idx->dims[idx->rank - 1], strides[NN_MAX_RANK];
    nni_row_strides(x->rank, x->dims, strides);
    int64_t tuples = nni_dims_product(idx->dims, 0, idx->rank - 1);
    int64_t slice = nni_dims_product(x->dims, (int32_t)k, x->rank);
    const uint8_t *src = upd->data;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int64_t j = 0; j < k; j++) {
            int64_t v = 0;
            nn_status st = norm_index(nni_tensor_get_i64(idx, t * k + j), x->dims[j], "ScatterND", &v);
            if (st != NN_OK)
                return st;
            off += v * strides[j];
        }
        if (s->reduction == RED_NONE) {
            if (slice)
                memcpy(dst + (size_t)off * es, src + (size_t)(t * slice) * es, (size_t)slice * es);
        } else {
            for (int64_t e = 0; e < slice; e++)
                apply(dst + (size_t)(off + e) * es, src + (size_t)(t * slice + e) * es, x->dtype, s->reduction);
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_scatter_nd = {
    .name = "ScatterND", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(scatter_state),
    .prepare = scatter_prepare, .infer = scatter_nd_infer, .run = scatter_nd_run,
};

/* ---- ScatterElements / Scatter ---- */

static nn_status scatter_elements_infer(nni_opctx *c)
{
    const scatter_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int32_t axis;
    nn_status st = check_types(c, c->node->op_type);
    if (st == NN_OK)
        st = nni_norm_axis(s->axis, x->rank, "'axis'", &axis);
    if (st != NN_OK)
        return st;
    char b0[160], b1[160];
    if (!nni_same_shape(idx, upd))
        return nni_error(NN_E_SHAPE, "%s: indices %s and updates %s differ", c->node->op_type,
                         nni_shape_str(idx->rank, idx->dims, b0, sizeof b0), nni_shape_str(upd->rank, upd->dims, b1, sizeof b1));
    bool ok = idx->rank == x->rank;
    for (int32_t a = 0; ok && a < x->rank; a++)
        if (a != axis && idx->dims[a] > x->dims[a])
            ok = false;
    if (!ok)
        return nni_error(NN_E_SHAPE, "%s: indices %s do not fit data %s", c->node->op_type,
                         nni_shape_str(idx->rank, idx->dims, b0, sizeof b0), nni_shape_str(x->rank, x->dims, b1, sizeof b1));
    return same_as_data_infer(c);
}

static nn_status scatter_elements_run(nni_opctx *c)
{
    const scatter_state *s = c->state;
    const nn_tensor *x = c->in[0], *idx = c->in[1], *upd = c->in[2];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "'axis'", &axis);
    if (st != NN_OK)
        return st;
    uint8_t *dst = c->out[0]->data;
    if (x->nbytes)
        memcpy(dst, x->data, x->nbytes);
    size_t es = nn_dtype_size(x->dtype);
    int64_t strides[NN_MAX_RANK], coord[NN_MAX_RANK] = {0}, n = nni_tensor_count(idx), base = 0;
    nni_row_strides(x->rank, x->dims, strides);
    const uint8_t *src = upd->data;
    for (int64_t i = 0; i < n; i++) {
        int64_t k = 0;
        if ((st = norm_index(nni_tensor_get_i64(idx, i), x->dims[axis], c->node->op_type, &k)) != NN_OK)
            return st;
        put(dst + (size_t)(base + k * strides[axis]) * es, src + (size_t)i * es, es, x->dtype, s->reduction);
        for (int32_t a = idx->rank - 1; a >= 0; a--) {
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

const nni_op_desc nni_op_scatter_elements = {
    .name = "ScatterElements", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(scatter_state),
    .prepare = scatter_prepare, .infer = scatter_elements_infer, .run = scatter_elements_run,
};

const nni_op_desc nni_op_scatter = {
    .name = "Scatter", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(scatter_state),
    .prepare = scatter_prepare, .infer = scatter_elements_infer, .run = scatter_elements_run,
};
