/*
 * grad_norm.c — backward of BatchNormalization (running statistics, or the
 * batch's own in training mode), LRN and Dropout.
 */
#include <math.h>
#include <string.h>

#include "kernels/norm.h"
#include "ops/resolve.h"
#include "train/grad_helpers.h"

/* ---- BatchNormalization ---- */

typedef struct {
    const float *x, *dy, *scale, *mean, *var;
    float *dx, *dscale, *dbias, *dmean, *dvar;
    int64_t N, C, S;
    double eps;
    bool batch;
} bn_job;

/* Over one channel's N planes: sum(dy) and sum(dy * (x - mean)). Float lanes
 * within blocks of 4096 elements, double across blocks (as kernels/norm.c). */
static void bn_channel_sums(const bn_job *j, int64_t ch, float mean, double *sum_dy, double *sum_dy_xc)
{
    double a = 0.0, b = 0.0;
    for (int64_t n = 0; n < j->N; n++) {
        const float *x = j->x + (n * j->C + ch) * j->S, *dy = j->dy + (n * j->C + ch) * j->S;
        for (int64_t i0 = 0; i0 < j->S; i0 += 4096) {
            const int64_t i1 = j->S - i0 < 4096 ? j->S : i0 + 4096;
            float pa[8] = {0}, pb[8] = {0};
            int64_t i = i0;
            for (; i + 8 <= i1; i += 8)
                for (int q = 0; q < 8; q++) {
                    pa[q] += dy[i + q];
                    pb[q] += dy[i + q] * (x[i + q] - mean);
                }
            for (; i < i1; i++) {
                a += dy[i];
                b += (double)dy[i] * (double)(x[i] - mean);
            }
            for (int q = 0; q < 8; q++) {
                a += pa[q];
                b += pb[q];
            }
        }
    }
    *sum_dy = a;
    *sum_dy_xc = b;
}

/* The batch mean and population variance exactly as the forward computes them. */
static void bn_batch_stats(const bn_job *j, int64_t ch, float *mean, float *var)
{
    const double count = (double)j->N * (double)j->S;
    double sum = 0.0, sq = 0.0;
    for (int64_t n = 0; n < j->N; n++)
        sum += nni_norm_sum_f32(j->x + (n * j->C + ch) * j->S, j->S);
    const float m = count > 0 ? (float)(sum / count) : 0.0f;
    for (int64_t n = 0; n < j->N; n++)
        sq += nni_norm_sqdev_f32(j->x + (n * j->C + ch) * j->S, j->S, m);
    *mean = m;
    *var = count > 0 ? (float)(sq / count) : 0.0f;
}

static void bn_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const bn_job *j = arg;
    NNI_UNUSED(tid);
    const double count = (double)j->N * (double)j->S;
    for (int64_t ch = begin; ch < end; ch++) {
        float mean, var;
        if (j->batch)
            bn_batch_stats(j, ch, &mean, &var);
        else
            mean = j->mean[ch], var = j->var[ch];
        const double inv = 1.0 / sqrt((double)var + j->eps);
        double sum_dy, sum_dy_xc;
        bn_channel_sums(j, ch, mean, &sum_dy, &sum_dy_xc);
        if (j->dbias)
            j->dbias[ch] += (float)sum_dy;
        if (j->dscale)
            j->dscale[ch] += (float)(sum_dy_xc * inv);
        if (!j->batch) {
            if (j->dmean)
                j->dmean[ch] += (float)(-sum_dy * j->scale[ch] * inv);
            if (j->dvar)
                j->dvar[ch] += (float)(-0.5 * sum_dy_xc * j->scale[ch] * inv * inv * inv);
        }
        if (!j->dx)
            continue;
        /* inference: dx = dy * a; training: dx = a * (dy - mean(dy) - xhat * mean(dy * xhat)) */
        const float a = (float)(j->scale[ch] * inv);
        const float mdy = j->batch && count > 0 ? (float)(sum_dy / count) : 0.0f;
        const float k = j->batch && count > 0 ? (float)(sum_dy_xc * inv * inv / count) : 0.0f;
        const float m = mean;
        for (int64_t n = 0; n < j->N; n++) {
            const float *x = j->x + (n * j->C + ch) * j->S, *dy = j->dy + (n * j->C + ch) * j->S;
            float *dx = j->dx + (n * j->C + ch) * j->S;
            if (j->batch)
                for (int64_t i = 0; i < j->S; i++)
                    dx[i] += a * (dy[i] - mdy - (x[i] - m) * k);
            else
                for (int64_t i = 0; i < j->S; i++)
                    dx[i] += a * dy[i];
        }
    }
}

nn_status nni_grad_batchnorm(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    if (!dy)
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    if (st != NN_OK)
        return st;
    for (int32_t k = 1; k < c->n_out; k++)
        if (nni_grad_dout(g, k))
            return nni_error(NN_E_UNSUPPORTED, "no gradient flows through BatchNormalization's statistics outputs");
    nni_bn_params p;
    nni_batchnorm_params(c, &p);
    if (p.per_element)
        return nni_error(NN_E_UNSUPPORTED, "backward of BatchNormalization with spatial = 0 is not supported");
    const nn_tensor *x = c->in[0];
    bn_job j = {.x = x->data, .dy = dy->data, .scale = c->in[1]->data, .mean = c->in[3]->data,
                .var = c->in[4]->data, .N = x->dims[0], .C = x->dims[1], .S = 1, .eps = p.epsilon,
                .batch = p.batch_stats};
    for (int32_t d = 2; d < x->rank; d++)
        j.S *= x->dims[d];
    nn_tensor *t;
    j.dx = (t = nni_grad_din(g, 0)) ? t->data : NULL;
    j.dscale = (t = nni_grad_din(g, 1)) ? t->data : NULL;
    j.dbias = (t = nni_grad_din(g, 2)) ? t->data : NULL;
    j.dmean = (t = nni_grad_din(g, 3)) ? t->data : NULL;
    j.dvar = (t = nni_grad_din(g, 4)) ? t->data : NULL;
    if (!j.dx && !j.dscale && !j.dbias && !j.dmean && !j.dvar)
        return NN_OK;
    if (nni_tensor_count(dy) != nni_tensor_count(x))
        return nni_error(NN_E_SHAPE, "output gradient and input differ in size");
    const int64_t per_ch = j.N * j.S * 3;
    if (j.C > 0)
        nni_parallel_for(c->pool, j.C, per_ch >= 16384 ? 1 : 16384 / (per_ch ? per_ch : 1), bn_task, &j);
    return NN_OK;
}

/* ---- LRN ----
 * y_c = x_c * d_c^-beta with d_c = bias + alpha/size * sum of x^2 over the
 * channel window W(c) = [c - before, c + after]. Then
 *   dx_c = dy_c * d_c^-beta - 2 beta alpha/size * x_c * sum_{j: c in W(j)} dy_j x_j d_j^(-beta-1),
 * and c in W(j) <=> j in [c - after, c + before]. */

typedef struct {
    const float *x, *dy;
    float *dx, *p, *t; /* p = d^-beta, t = dy * x * d^(-beta-1) */
    int64_t C, S, before, after;
    float k, bias, beta;
} lrn_job;

static void lrn_pass1(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const lrn_job *j = arg;
    NNI_UNUSED(tid);
    const int64_t S = j->S;
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t ch = pl % j->C, n0 = pl - ch;
        const int64_t c0 = ch - j->before < 0 ? 0 : ch - j->before;
        const int64_t c1 = ch + j->after >= j->C ? j->C - 1 : ch + j->after;
        float *p = j->p + pl * S, *t = j->t + pl * S;
        const float *x = j->x + pl * S, *dy = j->dy + pl * S;
        for (int64_t i = 0; i < S; i++)
            t[i] = 0.0f;
        for (int64_t cc = c0; cc <= c1; cc++) { /* the square sum, the forward's order */
            const float *xc = j->x + (n0 + cc) * S;
            for (int64_t i = 0; i < S; i++)
                t[i] += xc[i] * xc[i];
        }
        for (int64_t i = 0; i < S; i++) {
            const float d = j->bias + j->k * t[i];
            p[i] = powf(d, -j->beta);
            t[i] = dy[i] * x[i] * p[i] / d;
        }
    }
}

static void lrn_pass2(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const lrn_job *j = arg;
    NNI_UNUSED(tid);
    const int64_t S = j->S;
    const float f = -2.0f * j->beta * j->k;
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t ch = pl % j->C, n0 = pl - ch;
        const int64_t c0 = ch - j->after < 0 ? 0 : ch - j->after;
        const int64_t c1 = ch + j->before >= j->C ? j->C - 1 : ch + j->before;
        const float *x = j->x + pl * S, *dy = j->dy + pl * S, *p = j->p + pl * S;
        float *dx = j->dx + pl * S;
        for (int64_t i = 0; i < S; i++) {
            float sum = 0.0f;
            for (int64_t cc = c0; cc <= c1; cc++)
                sum += j->t[(n0 + cc) * S + i];
            dx[i] += dy[i] * p[i] + f * x[i] * sum;
        }
    }
}

nn_status nni_grad_lrn(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const nn_tensor *x = c->in[0];
    float alpha, beta, bias;
    int64_t size;
    nni_lrn_params(c, &alpha, &beta, &bias, &size);
    lrn_job j = {.x = x->data, .dy = dy->data, .dx = dx->data, .C = x->dims[1], .S = 1, .before = (size - 1) / 2,
                 .k = alpha / (float)size, .bias = bias, .beta = beta};
    j.after = size - 1 - j.before;
    for (int32_t d = 2; d < x->rank; d++)
        j.S *= x->dims[d];
    const int64_t count = nni_tensor_count(x);
    if (count == 0)
        return NN_OK;
    float *buf = nni_grad_scratch(g, (size_t)count * 2 * sizeof(float));
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate LRN backward scratch");
    j.p = buf;
    j.t = buf + count;
    const int64_t planes = x->dims[0] * j.C;
    int64_t work = j.S * (size < 1 ? 1 : size);
    if (work < 1)
        work = 1;
    const int64_t grain = work >= 16384 ? 1 : 16384 / work;
    nni_parallel_for(c->pool, planes, grain, lrn_pass1, &j);
    nni_parallel_for(c->pool, planes, grain, lrn_pass2, &j);
    return NN_OK;
}

/* ---- Dropout: the forward's mask, regenerated from its seed ---- */

typedef struct {
    uint64_t seed;
    double ratio;
    float scale;
    const float *dy;
    float *dx;
} drop_job;

static void drop_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const drop_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t i = begin; i < end; i++)
        if (nni_dropout_keep(j->seed, i, j->ratio))
            j->dx[i] += j->dy[i] * j->scale;
}

nn_status nni_grad_dropout(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    if (g->fwd.n_out > 1 && nni_grad_dout(g, 1))
        return nni_error(NN_E_UNSUPPORTED, "no gradient flows through Dropout's mask");
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    bool drops;
    double ratio;
    if ((st = nni_dropout_resolve(c, &drops, &ratio)) != NN_OK)
        return st;
    const int64_t n = nni_tensor_count(dx);
    if (nni_tensor_count(dy) != n)
        return nni_error(NN_E_SHAPE, "output gradient and input differ in size");
    if (!drops) {
        nni_grad_accumulate(c->pool, dx->data, dy->data, n);
        return NN_OK;
    }
    drop_job j = {.seed = c->seed, .ratio = ratio, .scale = (float)(1.0 / (1.0 - ratio)), .dy = dy->data, .dx = dx->data};
    nni_parallel_for(c->pool, n, 16384, drop_task, &j);
    return NN_OK;
}
