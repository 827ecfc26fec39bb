/* cumsum.c — CumSum: running sums along one axis (exclusive and reverse variants). */
#include <string.h>

#include "ops/op.h"

typedef struct {
    bool exclusive, reverse;
} cumsum_state;

static nn_status cumsum_prepare(nni_opctx *c)
{
    cumsum_state *s = c->state;
    int64_t ex, rev;
    nn_status st;
    if ((st = nni_attr_int(c->node, "exclusive", 0, &ex)) != NN_OK ||
        (st = nni_attr_int(c->node, "reverse", 0, &rev)) != NN_OK)
        return st;
    s->exclusive = ex != 0;
    s->reverse = rev != 0;
    return NN_OK;
}

static bool cumsum_type_ok(nn_dtype t)
{
    return t == NN_DTYPE_FLOAT32 || t == NN_DTYPE_FLOAT64 || t == NN_DTYPE_INT32 || t == NN_DTYPE_INT64 ||
           t == NN_DTYPE_UINT32 || t == NN_DTYPE_UINT64;
}

static nn_status cumsum_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0], *a = c->in[1];
    if (!cumsum_type_ok(x->dtype))
        return nni_error(NN_E_UNSUPPORTED, "CumSum on %s is not supported", nn_dtype_name(x->dtype));
    if (a->dtype != NN_DTYPE_INT32 && a->dtype != NN_DTYPE_INT64)
        return nni_error(NN_E_TYPE, "CumSum axis is %s, expected int32 or int64", nn_dtype_name(a->dtype));
    if (nni_tensor_count(a) != 1 || a->rank > 1)
        return nni_error(NN_E_SHAPE, "CumSum axis must be a scalar");
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

/* y[k] = y[k-1] + x[k] (or x[k-1] when exclusive) along k, a vector of
 * `inner` columns at a time; k runs backwards when reversed. */
#define DEF_CUMSUM(T, U, s)                                                                          \
    static void cumsum_##s(const cumsum_state *st, const T *x, T *y, int64_t outer, int64_t len,      \
                           int64_t inner)                                                            \
    {                                                                                                \
        for (int64_t o = 0; o < outer; o++) {                                                        \
            const T *xo = x + o * len * inner;                                                       \
            T *yo = y + o * len * inner;                                                             \
            for (int64_t step = 0; step < len; step++) {                                             \
                int64_t k = st->reverse ? len - 1 - step : step;                                     \
                int64_t prev = st->reverse ? k + 1 : k - 1;                                          \
                T *yk = yo + k * inner;                                                              \
                if (step == 0) {                                                                     \
                    for (int64_t i = 0; i < inner; i++)                                              \
                        yk[i] = st->exclusive ? 0 : xo[k * inner + i];                               \
                    continue;                                                                        \
                }                                                                                    \
                const T *yp = yo + prev * inner;                                                     \
                const T *xs = xo + (st->exclusive ? prev : k) * inner;                               \
                for (int64_t i = 0; i < inner; i++)                                                  \
                    yk[i] = (T)((U)yp[i] + (U)xs[i]);                                                \
            }                                                                                        \
        }                                                                                            \
    }
DEF_CUMSUM(float, float, f32)
DEF_CUMSUM(double, double, f64)
DEF_CUMSUM(int32_t, uint32_t, i32)
DEF_CUMSUM(int64_t, uint64_t, i64)
DEF_CUMSUM(uint32_t, uint32_t, u32)
DEF_CUMSUM(uint64_t, uint64_t, u64)

static nn_status cumsum_run(nni_opctx *c)
{
    const cumsum_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(nni_tensor_get_i64(c->in[1], 0), x->rank, "CumSum axis", &axis);
    if (st != NN_OK)
        return st;
    int64_t outer = 1, len = x->rank ? x->dims[axis] : 1, inner = 1;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d < axis)
            outer *= x->dims[d];
        else if (d > axis)
            inner *= x->dims[d];
    }
    void *y = c->out[0]->data;
    if (outer * len * inner == 0)
        return NN_OK;
    switch (x->dtype) {
    case NN_DTYPE_FLOAT32: cumsum_f32(s, x->data, y, outer, len, inner); break;
    case NN_DTYPE_FLOAT64: cumsum_f64(s, x->data, y, outer, len, inner); break;
    case NN_DTYPE_INT32: cumsum_i32(s, x->data, y, outer, len, inner); break;
    case NN_DTYPE_INT64: cumsum_i64(s, x->data, y, outer, len, inner); break;
    case NN_DTYPE_UINT32: cumsum_u32(s, x->data, y, outer, len, inner); break;
    default: cumsum_u64(s, x->data, y, outer, len, inner); break;
    }
    return NN_OK;
}

const nni_op_desc nni_op_cumsum = {
    .name = "CumSum", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .state_size = sizeof(cumsum_state),
    .prepare = cumsum_prepare, .infer = cumsum_infer, .run = cumsum_run,
};
