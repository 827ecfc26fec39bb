/*
 * grad_softmax.c — backward of Softmax and LogSoftmax from the forward
 * output y, along the normalized axis (the trailing block before opset 13):
 *   Softmax:    dx = y * (dy - sum(dy * y))
 *   LogSoftmax: dx = dy - exp(y) * sum(dy)
 */
#include <math.h>
#include <string.h>

#include "ops/resolve.h"
#include "train/grad_helpers.h"

typedef struct {
    const float *y, *dy;
    float *dx;
    int64_t len, inner;
    bool log_mode;
    double *sums; /* inner doubles per thread */
} sm_job;

static void sm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const sm_job *j = arg;
    const int64_t len = j->len, in = j->inner;
    double *s = j->sums + (size_t)tid * (size_t)in;
    for (int64_t o = begin; o < end; o++) {
        const float *y = j->y + o * len * in, *dy = j->dy + o * len * in;
        float *dx = j->dx + o * len * in;
        for (int64_t i = 0; i < in; i++)
            s[i] = 0.0;
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < in; i++)
                s[i] += j->log_mode ? (double)dy[k * in + i] : (double)dy[k * in + i] * (double)y[k * in + i];
        if (j->log_mode) {
            for (int64_t k = 0; k < len; k++)
                for (int64_t i = 0; i < in; i++)
                    dx[k * in + i] += dy[k * in + i] - expf(y[k * in + i]) * (float)s[i];
        } else {
            for (int64_t k = 0; k < len; k++)
                for (int64_t i = 0; i < in; i++)
                    dx[k * in + i] += y[k * in + i] * (dy[k * in + i] - (float)s[i]);
        }
    }
}

static nn_status softmax_backward(nni_gradctx *g, bool log_mode)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    int64_t outer, len, inner;
    if ((st = nni_softmax_layout(c, &outer, &len, &inner)) != NN_OK)
        return st;
    if (nni_tensor_count(dy) != outer * len * inner || nni_tensor_count(dx) != outer * len * inner)
        return nni_error(NN_E_SHAPE, "gradient sizes do not match the input");
    if (outer * len * inner == 0)
        return NN_OK;
    sm_job j = {.y = c->out[0]->data, .dy = dy->data, .dx = dx->data, .len = len, .inner = inner, .log_mode = log_mode};
    j.sums = nni_grad_scratch(g, (size_t)nni_pool_threads(c->pool) * (size_t)inner * sizeof(double));
    if (!j.sums)
        return nni_error(NN_E_NOMEM, "cannot allocate softmax backward scratch");
    const int64_t grain = 16384 / (len * inner);
    nni_parallel_for(c->pool, outer, grain > 0 ? grain : 1, sm_task, &j);
    return NN_OK;
}

nn_status nni_grad_softmax(nni_gradctx *g) { return softmax_backward(g, false); }
nn_status nni_grad_logsoftmax(nni_gradctx *g) { return softmax_backward(g, true); }
