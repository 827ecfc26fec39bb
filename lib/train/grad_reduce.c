/*
 * grad_reduce.c — backward of ReduceSum, ReduceMean, ReduceSumSquare and
 * ReduceL2: dY (seen with the reduced axes kept as size 1) broadcast back
 * over the input, times the reduction's local derivative.
 */
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/resolve.h"
#include "train/grad_helpers.h"

enum { G_SUM, G_MEAN, G_SUMSQ, G_L2 };

typedef struct {
    int kind;
    float scale;
} red_arg;

/* out = dX (accumulated); in[0] = dY view, in[1] = X, in[2] = Y view. */
static void red_kernel(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)
{
    const red_arg *r = arg;
    float *o = out;
    const float *dy = in[0], *x = in[1], *y = in[2];
    switch (r->kind) {
    case G_SUM:
    case G_MEAN:
        for (int64_t i = 0; i < n; i++)
            o[i] += r->scale * dy[i * step[0]];
        break;
    case G_SUMSQ:
        for (int64_t i = 0; i < n; i++)
            o[i] += 2.0f * x[i * step[1]] * dy[i * step[0]];
        break;
    default: /* L2: x / ||x|| (0 where the norm is 0) */
        for (int64_t i = 0; i < n; i++) {
            const float yv = y[i * step[2]];
            o[i] += yv == 0.0f ? 0.0f : x[i * step[1]] / yv * dy[i * step[0]];
        }
        break;
    }
}

static nn_status reduce_backward(nni_gradctx *g, int kind)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    bool red[NN_MAX_RANK], identity;
    if ((st = nni_reduce_axes(c, red, &identity)) != NN_OK)
        return st;
    /* dY and Y as tensors of X's rank with the reduced axes of size 1 */
    nn_tensor dyv = *dy, yv = *c->out[0];
    int64_t count = 1;
    dyv.rank = yv.rank = x->rank;
    for (int32_t d = 0; d < x->rank; d++) {
        const bool r = red[d] && !identity;
        dyv.dims[d] = yv.dims[d] = r ? 1 : x->dims[d];
        if (r)
            count *= x->dims[d];
    }
    if (nni_tensor_count(dy) != nni_tensor_count(&dyv))
        return nni_error(NN_E_SHAPE, "output gradient has %lld elements, expected %lld", (long long)nni_tensor_count(dy),
                         (long long)nni_tensor_count(&dyv));
    red_arg arg = {.kind = kind, .scale = kind == G_MEAN && count > 0 ? 1.0f / (float)count : 1.0f};
    nni_bcast plan;
    const nn_tensor *in[3] = {&dyv, x, &yv};
    if ((st = nni_bcast_init(&plan, x->rank, x->dims, sizeof(float), 3, in)) != NN_OK || plan.count == 0)
        return st;
    const void *ptr[3] = {dy->data, x->data, c->out[0]->data};
    nni_bcast_run(&plan, c->pool, red_kernel, &arg, dx->data, ptr);
    return NN_OK;
}

nn_status nni_grad_reducesum(nni_gradctx *g) { return reduce_backward(g, G_SUM); }
nn_status nni_grad_reducemean(nni_gradctx *g) { return reduce_backward(g, G_MEAN); }
nn_status nni_grad_reducesumsquare(nni_gradctx *g) { return reduce_backward(g, G_SUMSQ); }
nn_status nni_grad_reducel2(nni_gradctx *g) { return reduce_backward(g, G_L2); }
