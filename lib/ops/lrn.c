/* lrn.c — LRN: local response normalization across neighbouring channels. */
#include <math.h>

#include "ops/op.h"
#include "ops/resolve.h"

typedef struct {
    float alpha, beta, bias;
    int64_t size;
} lrn_state;

static nn_status lrn_prepare(nni_opctx *c)
{
    lrn_state *s = c->state;
    nn_status st;
    if ((st = nni_attr_float(c->node, "alpha", 1e-4f, &s->alpha)) != NN_OK ||
        (st = nni_attr_float(c->node, "beta", 0.75f, &s->beta)) != NN_OK ||
        (st = nni_attr_float(c->node, "bias", 1.0f, &s->bias)) != NN_OK ||
        (st = nni_attr_int(c->node, "size", 0, &s->size)) != NN_OK)
        return st;
    if (s->size < 1 || s->size > INT32_MAX)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'size' must be a positive integer, not %lld", (long long)s->size);
    if (!isfinite(s->alpha) || !isfinite(s->beta) || !isfinite(s->bias))
        return nni_error(NN_E_INVALID_MODEL, "attributes 'alpha', 'beta' and 'bias' must be finite");
    return NN_OK;
}

static nn_status lrn_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    if (x->dtype != NN_DTYPE_FLOAT32)
        return nni_error(x->dtype == NN_DTYPE_FLOAT16 || x->dtype == NN_DTYPE_FLOAT64 ? NN_E_UNSUPPORTED : NN_E_TYPE,
                         "input type %s is not supported", nn_dtype_name(x->dtype));
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "input must have rank >= 2 (N, C, ...), not %d", (int)x->rank);
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

typedef struct {
    const lrn_state *s;
    const float *x;
    float *y;
    int64_t C, S;
} lrn_job;

static void lrn_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const lrn_job *j = arg;
    const lrn_state *s = j->s;
    const int64_t S = j->S, before = (s->size - 1) / 2, after = s->size - 1 - before;
    const float k = s->alpha / (float)s->size, bias = s->bias, beta = s->beta;
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t ch = pl % j->C, n0 = pl - ch;
        const int64_t c0 = ch - before < 0 ? 0 : ch - before;
        const int64_t c1 = ch + after >= j->C ? j->C - 1 : ch + after;
        float *y = j->y + pl * S;
        const float *x = j->x + pl * S;
        /* square sum over the channel window, accumulated in y */
        for (int64_t i = 0; i < S; i++)
            y[i] = 0.0f;
        for (int64_t cc = c0; cc <= c1; cc++) {
            const float *xc = j->x + (n0 + cc) * S;
            for (int64_t i = 0; i < S; i++)
                y[i] += xc[i] * xc[i];
        }
        if (beta == 0.75f)
            for (int64_t i = 0; i < S; i++) {
                float t = bias + k * y[i], r = sqrtf(t);
                y[i] = x[i] / (r * sqrtf(r));
            }
        else if (beta == 0.5f)
            for (int64_t i = 0; i < S; i++)
                y[i] = x[i] / sqrtf(bias + k * y[i]);
        else
            for (int64_t i = 0; i < S; i++)
                y[i] = x[i] * powf(bias + k * y[i], -beta);
    }
}

static nn_status lrn_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    lrn_job j = {.s = c->state, .x = x->data, .y = c->out[0]->data, .C = x->dims[1], .S = 1};
    for (int32_t d = 2; d < x->rank; d++)
        j.S *= x->dims[d];
    const int64_t planes = x->dims[0] * j.C;
    int64_t work;
    if (nni_mul_overflow_i64(j.S, j.s->size, &work))
        work = INT64_MAX; /* only a work estimate */
    if (planes && j.S)
        nni_parallel_for(c->pool, planes, work >= 16384 ? 1 : 16384 / work, lrn_task, &j);
    return NN_OK;
}

static uint64_t lrn_macs(const nni_opctx *c)
{
    const lrn_state *s = c->state;
    return (uint64_t)nni_tensor_count(c->in[0]) * (uint64_t)(s->size + 1);
}

const nni_op_desc nni_op_lrn = {
    .name = "LRN", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(lrn_state),
    .prepare = lrn_prepare, .infer = lrn_infer, .run = lrn_run, .macs = lrn_macs,
};

void nni_lrn_params(const nni_opctx *c, float *alpha, float *beta, float *bias, int64_t *size)
{
    const lrn_state *s = c->state;
    *alpha = s->alpha;
    *beta = s->beta;
    *bias = s->bias;
    *size = s->size;
}
