/* grad_helpers.c — accumulation, type checks and scratch for the backward functions. */
#include "train/grad_helpers.h"

typedef struct {
    float *dst;
    const float *src;
    float a;
} axpy_job;

static void add_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const axpy_job *j = arg;
    NNI_UNUSED(tid);
    float *restrict d = j->dst;
    const float *restrict s = j->src;
    for (int64_t i = begin; i < end; i++)
        d[i] += s[i];
}

static void axpy_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const axpy_job *j = arg;
    NNI_UNUSED(tid);
    float *restrict d = j->dst;
    const float *restrict s = j->src;
    const float a = j->a;
    for (int64_t i = begin; i < end; i++)
        d[i] += a * s[i];
}

void nni_grad_accumulate(nni_pool *pool, float *dst, const float *src, int64_t n)
{
    axpy_job j = {dst, src, 1.0f};
    if (n > 0)
        nni_parallel_for(pool, n, 65536, add_task, &j);
}

void nni_grad_axpy(nni_pool *pool, float *dst, float a, const float *src, int64_t n)
{
    axpy_job j = {dst, src, a};
    if (n > 0)
        nni_parallel_for(pool, n, 65536, axpy_task, &j);
}

nn_status nni_grad_check_f32(const nni_gradctx *g)
{
    nn_status st = NN_OK;
    for (int32_t k = 0; k < g->fwd.n_out && st == NN_OK; k++)
        if (nni_grad_dout(g, k))
            st = nni_grad_require_f32(nni_grad_dout(g, k), "output gradients");
    for (int32_t i = 0; i < g->fwd.n_in && st == NN_OK; i++)
        if (nni_grad_din(g, i))
            st = nni_grad_require_f32(nni_grad_din(g, i), "input gradients");
    if (st == NN_OK)
        st = nni_grad_require_f32(g->fwd.in[0], "inputs");
    if (st == NN_OK && g->fwd.n_out > 0 && g->fwd.out[0])
        st = nni_grad_require_f32(g->fwd.out[0], "outputs");
    return st;
}

nn_status nni_grad_unary(nni_gradctx *g, const nn_tensor **dy, nn_tensor **dx)
{
    *dy = nni_grad_dout(g, 0);
    *dx = *dy ? nni_grad_din(g, 0) : NULL;
    return *dx ? nni_grad_check_f32(g) : NN_OK;
}

void *nni_grad_scratch(nni_gradctx *g, size_t bytes)
{
    if (!g->fwd.scratch)
        return NULL;
    return g->fwd.scratch(&g->fwd, bytes ? bytes : 1);
}
