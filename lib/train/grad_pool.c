/*
 * grad_pool.c — backward of MaxPool, AveragePool, GlobalAveragePool and
 * GlobalMaxPool. MaxPool recomputes each window's argmax from the forward
 * input (the first maximum in window order wins, as in the forward and in
 * PyTorch); AveragePool spreads dY over the taps inside the input with the
 * forward's divisors (count_include_pad, ceil_mode and pads included).
 * Planes (n, c) run in parallel; AveragePool takes up to 3 spatial dims.
 */
#include <math.h>
#include <string.h>

#include "ops/resolve.h"
#include "train/grad_helpers.h"

/* Geometry as exactly 3 spatial dims (leading dims of size 1 added). */
static nn_status to_3d(const nni_pooling_geom *g, nni_pooling_geom *g3)
{
    if (g->rank > 3)
        return nni_error(NN_E_UNSUPPORTED, "pooling backward supports up to 3 spatial dims, not %d", (int)g->rank);
    memset(g3, 0, sizeof *g3);
    g3->rank = 3;
    const int32_t lead = 3 - g->rank;
    for (int32_t d = 0; d < 3; d++) {
        if (d < lead) {
            g3->in[d] = g3->out[d] = g3->kernel[d] = g3->stride[d] = g3->dilation[d] = 1;
            continue;
        }
        const int32_t s = d - lead;
        g3->in[d] = g->in[s];
        g3->out[d] = g->out[s];
        g3->kernel[d] = g->kernel[s];
        g3->stride[d] = g->stride[s];
        g3->dilation[d] = g->dilation[s];
        g3->pad_begin[d] = g->pad_begin[s];
        g3->pad_end[d] = g->pad_end[s];
    }
    g3->in_size = g->in_size;
    g3->out_size = g->out_size;
    return NN_OK;
}

typedef struct {
    nni_pooling_geom g;  /* 3-D (average) */
    nni_pooling_geom gn; /* as resolved (max) */
    const float *x, *dy;
    float *dx;
    const float *recips; /* average: per-dim reciprocals, 3 arrays */
    float *ybuf;         /* max: per thread, one plane's maxima and their indices */
    int64_t *ibuf;
} pool_job;

/* The forward's own kernel finds each window's argmax (first maximum in
 * window order), so the routing agrees with the forward exactly. */
static void maxpool_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const pool_job *j = arg;
    const nni_pooling_geom *g = &j->gn;
    float *y = j->ybuf + (size_t)tid * (size_t)g->out_size;
    int64_t *idx = j->ibuf + (size_t)tid * (size_t)g->out_size;
    for (int64_t pl = begin; pl < end; pl++) {
        const float *dy = j->dy + pl * g->out_size;
        float *dx = j->dx + pl * g->in_size;
        nni_pooling_max_f32(g, j->x + pl * g->in_size, y, idx, 0, false);
        for (int64_t o = 0; o < g->out_size; o++)
            if (idx[o] >= 0)
                dx[idx[o]] += dy[o];
    }
}

static void avgpool_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const pool_job *j = arg;
    const nni_pooling_geom *g = &j->g;
    NNI_UNUSED(tid);
    const int64_t D = g->in[0], H = g->in[1], W = g->in[2];
    const float *rd = j->recips, *rh = rd + g->out[0], *rw = rh + g->out[1];
    for (int64_t pl = begin; pl < end; pl++) {
        const float *dy = j->dy + pl * g->out_size;
        float *dx = j->dx + pl * g->in_size;
        int64_t o = 0;
        for (int64_t od = 0; od < g->out[0]; od++)
            for (int64_t oh = 0; oh < g->out[1]; oh++)
                for (int64_t ow = 0; ow < g->out[2]; ow++, o++) {
                    const float v = dy[o] * (rd[od] * rh[oh]) * rw[ow];
                    for (int64_t kd = 0; kd < g->kernel[0]; kd++) {
                        const int64_t id = od * g->stride[0] - g->pad_begin[0] + kd * g->dilation[0];
                        if (id < 0 || id >= D)
                            continue;
                        for (int64_t kh = 0; kh < g->kernel[1]; kh++) {
                            const int64_t ih = oh * g->stride[1] - g->pad_begin[1] + kh * g->dilation[1];
                            if (ih < 0 || ih >= H)
                                continue;
                            float *row = dx + (id * H + ih) * W;
                            for (int64_t kw = 0; kw < g->kernel[2]; kw++) {
                                const int64_t iw = ow * g->stride[2] - g->pad_begin[2] + kw * g->dilation[2];
                                if (iw >= 0 && iw < W)
                                    row[iw] += v;
                            }
                        }
                    }
                }
    }
}

static nn_status pool_backward(nni_gradctx *gc, bool is_max)
{
    const nni_opctx *c = &gc->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(gc, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    nni_pooling_geom g;
    bool include_pad;
    if ((st = nni_pool_resolve(c, &g, &include_pad)) != NN_OK)
        return st;
    pool_job j = {.gn = g, .x = c->in[0]->data, .dy = dy->data, .dx = dx->data};
    if (!is_max && (st = to_3d(&g, &j.g)) != NN_OK)
        return st;
    const int64_t planes = c->in[0]->dims[0] * c->in[0]->dims[1];
    if (planes == 0 || g.out_size == 0 || g.in_size == 0)
        return NN_OK;
    if (nni_tensor_count(dy) != planes * g.out_size)
        return nni_error(NN_E_SHAPE, "output gradient has %lld elements, expected %lld", (long long)nni_tensor_count(dy),
                         (long long)(planes * g.out_size));
    if (!is_max) {
        float *r = nni_grad_scratch(gc, nni_pooling_divisor_count(&j.g) * sizeof(float));
        if (!r)
            return nni_error(NN_E_NOMEM, "cannot allocate pooling backward scratch");
        nni_pooling_divisors(&j.g, include_pad, r);
        j.recips = r;
    } else {
        const size_t per = (size_t)g.out_size * (sizeof(float) + sizeof(int64_t));
        char *buf = nni_grad_scratch(gc, (size_t)nni_pool_threads(c->pool) * per);
        if (!buf)
            return nni_error(NN_E_NOMEM, "cannot allocate pooling backward scratch");
        j.ibuf = (int64_t *)buf; /* int64 first: keeps both arrays aligned */
        j.ybuf = (float *)(buf + (size_t)nni_pool_threads(c->pool) * (size_t)g.out_size * sizeof(int64_t));
    }
    int64_t taps = 1;
    for (int32_t d = 0; d < g.rank; d++)
        taps *= g.kernel[d];
    int64_t work = g.out_size * taps;
    if (work < 1)
        work = 1;
    nni_parallel_for(c->pool, planes, work >= 32768 ? 1 : 32768 / work, is_max ? maxpool_task : avgpool_task, &j);
    return NN_OK;
}

nn_status nni_grad_maxpool(nni_gradctx *g)
{
    if (g->fwd.n_out > 1 && nni_grad_dout(g, 1))
        return nni_error(NN_E_UNSUPPORTED, "no gradient flows through MaxPool's Indices output");
    return pool_backward(g, true);
}

nn_status nni_grad_averagepool(nni_gradctx *g) { return pool_backward(g, false); }

/* ---- global pools ---- */

typedef struct {
    const float *x, *dy;
    float *dx;
    int64_t size;
    bool is_max;
} global_job;

static void global_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const global_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t pl = begin; pl < end; pl++) {
        float *dx = j->dx + pl * j->size;
        if (j->is_max) {
            const float *x = j->x + pl * j->size;
            int64_t best = 0;
            for (int64_t i = 1; i < j->size; i++)
                if (x[i] > x[best])
                    best = i;
            dx[best] += j->dy[pl];
        } else {
            const float v = j->dy[pl] / (float)j->size;
            for (int64_t i = 0; i < j->size; i++)
                dx[i] += v;
        }
    }
}

static nn_status global_backward(nni_gradctx *g, bool is_max)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    if (planes == 0)
        return NN_OK;
    global_job j = {.x = x->data, .dy = dy->data, .dx = dx->data, .size = nni_tensor_count(x) / planes, .is_max = is_max};
    if (j.size == 0)
        return NN_OK;
    if (nni_tensor_count(dy) != planes)
        return nni_error(NN_E_SHAPE, "output gradient has %lld elements, expected %lld", (long long)nni_tensor_count(dy),
                         (long long)planes);
    nni_parallel_for(c->pool, planes, j.size >= 16384 ? 1 : 16384 / j.size, global_task, &j);
    return NN_OK;
}

nn_status nni_grad_globalaveragepool(nni_gradctx *g) { return global_backward(g, false); }
nn_status nni_grad_globalmaxpool(nni_gradctx *g) { return global_backward(g, true); }
