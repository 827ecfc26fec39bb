/*
 * softmax.c — Softmax, LogSoftmax and Hardmax. Before opset 13 the input is
 * seen as 2D, [prod(dims[:axis]), prod(dims[axis:])], and the op works on
 * whole rows (default axis 1); from 13 it works along the one axis (default -1).
 */
#include <math.h>
#include <string.h>

#include "kernels/softmax.h"
#include "ops/op.h"
#include "ops/resolve.h"

enum { SM_SOFTMAX, SM_LOG, SM_HARD };

typedef struct {
    int kind;
    int64_t axis;
} sm_state;

static nn_status sm_prepare(nni_opctx *c)
{
    sm_state *s = c->state;
    const char *t = c->node->op_type;
    s->kind = strcmp(t, "Softmax") == 0 ? SM_SOFTMAX : strcmp(t, "LogSoftmax") == 0 ? SM_LOG : SM_HARD;
    return nni_attr_int(c->node, "axis", c->opset < 13 ? 1 : -1, &s->axis);
}

/* The [outer][len][inner] view of the input. */
static nn_status sm_layout(const nni_opctx *c, int64_t *outer, int64_t *len, int64_t *inner)
{
    const sm_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "attribute 'axis'", &axis);
    if (st != NN_OK)
        return st;
    *outer = 1;
    *len = 1;
    *inner = 1;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d < axis)
            *outer *= x->dims[d];
        else if (d == axis || c->opset < 13)
            *len *= x->dims[d];
        else
            *inner *= x->dims[d];
    }
    return NN_OK;
}

static nn_status sm_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t o, l, i;
    if (x->dtype != NN_DTYPE_FLOAT32 && x->dtype != NN_DTYPE_FLOAT64)
        return nni_error(NN_E_UNSUPPORTED, "%s on %s is not supported", c->node->op_type, nn_dtype_name(x->dtype));
    nn_status st = sm_layout(c, &o, &l, &i);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

typedef struct {
    const sm_state *s;
    nn_dtype t;
    const void *x;
    void *y;
    int64_t len, inner;
    float *tmp; /* 2*inner floats per thread */
} sm_job;

/* Double precision and Hardmax: plain strided loops (not hot paths). */
#define SM_GENERIC(T, EXP, LOG)                                                              \
    static void sm_generic_##T(const sm_job *j, const T *x, T *y)                            \
    {                                                                                        \
        int64_t len = j->len, in = j->inner;                                                 \
        for (int64_t i = 0; i < in; i++) {                                                   \
            int64_t best = 0;                                                                \
            T m = x[i];                                                                      \
            for (int64_t k = 1; k < len; k++)                                                \
                if (x[k * in + i] > m) {                                                     \
                    m = x[k * in + i];                                                       \
                    best = k;                                                                \
                }                                                                            \
            if (j->s->kind == SM_HARD) {                                                     \
                for (int64_t k = 0; k < len; k++)                                            \
                    y[k * in + i] = k == best ? 1 : 0;                                       \
                continue;                                                                    \
            }                                                                                \
            T sum = 0;                                                                       \
            for (int64_t k = 0; k < len; k++)                                                \
                sum += EXP(x[k * in + i] - m);                                               \
            if (j->s->kind == SM_LOG) {                                                      \
                T l = m + LOG(sum);                                                          \
                for (int64_t k = 0; k < len; k++)                                            \
                    y[k * in + i] = x[k * in + i] - l;                                       \
            } else {                                                                         \
                for (int64_t k = 0; k < len; k++)                                            \
                    y[k * in + i] = EXP(x[k * in + i] - m) / sum;                            \
            }                                                                                \
        }                                                                                    \
    }
SM_GENERIC(float, expf, logf)
SM_GENERIC(double, exp, log)

static void sm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const sm_job *j = arg;
    int64_t block = j->len * j->inner;
    for (int64_t o = begin; o < end; o++) {
        if (j->t == NN_DTYPE_FLOAT64) {
            sm_generic_double(j, (const double *)j->x + o * block, (double *)j->y + o * block);
        } else if (j->s->kind == SM_HARD) {
            sm_generic_float(j, (const float *)j->x + o * block, (float *)j->y + o * block);
        } else {
            nni_softmax_f32((const float *)j->x + o * block, (float *)j->y + o * block, j->len, j->inner,
                            j->s->kind == SM_LOG, j->tmp ? j->tmp + (size_t)tid * 2 * (size_t)j->inner : NULL);
        }
    }
}

static nn_status sm_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t outer, len, inner;
    nn_status st = sm_layout(c, &outer, &len, &inner);
    if (st != NN_OK || outer * len * inner == 0)
        return st;
    sm_job j = {c->state, x->dtype, x->data, c->out[0]->data, len, inner, NULL};
    if (inner > 1 && x->dtype == NN_DTYPE_FLOAT32) {
        size_t bytes = (size_t)nni_pool_threads(c->pool) * 2 * (size_t)inner * sizeof(float);
        if (!(j.tmp = c->scratch(c, bytes)))
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of scratch", bytes);
    }
    int64_t grain = 16384 / (len * inner);
    nni_parallel_for(c->pool, outer, grain > 0 ? grain : 1, sm_task, &j);
    return NN_OK;
}

#define SM_DESC(sym, onnx)                                                                                   \
    const nni_op_desc sym = {                                                                                \
        .name = onnx, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .state_size = sizeof(sm_state), \
        .prepare = sm_prepare, .infer = sm_infer, .run = sm_run,                                             \
    };

SM_DESC(nni_op_softmax, "Softmax")
SM_DESC(nni_op_logsoftmax, "LogSoftmax")
SM_DESC(nni_op_hardmax, "Hardmax")

nn_status nni_softmax_layout(const nni_opctx *c, int64_t *outer, int64_t *len, int64_t *inner)
{
    return sm_layout(c, outer, len, inner);
}
