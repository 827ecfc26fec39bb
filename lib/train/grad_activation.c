/*
 * grad_activation.c — backward of one-input elementwise ops:
 * dX += dY * f'(x), with f' written from x or from the forward output y,
 * whichever is cheaper. Kinks follow PyTorch's choices (LeakyRelu and PRelu
 * take the negative slope at 0, Clip/Relu6 and HardSigmoid pass only strictly
 * inside their range, HardSwish uses x/3 + 1/2 on [-3, 3]).
 */
#include <math.h>
#include <string.h>

#include "ops/resolve.h"
#include "train/grad_helpers.h"

enum {
    A_LEAKYRELU, A_SIGMOID, A_TANH, A_CLIP, A_HARDSIGMOID, A_HARDSWISH, A_ELU, A_SELU, A_CELU, A_SOFTPLUS,
    A_SOFTSIGN, A_THRESHOLDEDRELU, A_ERF, A_GELU, A_MISH, A_EXP, A_LOG, A_SQRT, A_NEG, A_ABS, A_RECIPROCAL,
    A_SIN, A_COS,
};

typedef struct {
    int kind;
    float alpha, beta, lo, hi;
    bool tanh_gelu;
    const float *x, *y, *dy;
    float *dx;
} act_job;

static inline float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

#define LOOP(E)                                   \
    for (int64_t i = begin; i < end; i++) {       \
        const float x = X[i], y = Y[i];           \
        (void)x, (void)y;                         \
        dx[i] += dy[i] * (E);                     \
    }                                             \
    break

static void act_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const act_job *j = arg;
    NNI_UNUSED(tid);
    const float *restrict X = j->x, *restrict Y = j->y, *restrict dy = j->dy;
    float *restrict dx = j->dx;
    const float a = j->alpha, b = j->beta, lo = j->lo, hi = j->hi;
    switch (j->kind) {
    case A_LEAKYRELU: LOOP(x > 0.0f ? 1.0f : a);
    case A_SIGMOID: LOOP(y * (1.0f - y));
    case A_TANH: LOOP(1.0f - y * y);
    case A_CLIP: LOOP(x > lo && x < hi ? 1.0f : 0.0f);
    case A_HARDSIGMOID: LOOP(a * x + b > 0.0f && a * x + b < 1.0f ? a : 0.0f);
    case A_HARDSWISH: LOOP(x < -3.0f ? 0.0f : x <= 3.0f ? x * (1.0f / 3.0f) + 0.5f : 1.0f);
    case A_ELU: LOOP(x > 0.0f ? 1.0f : a * expf(x));
    case A_SELU: LOOP(x > 0.0f ? b : b * a * expf(x)); /* alpha, gamma */
    case A_CELU: LOOP(x > 0.0f ? 1.0f : expf(x / a));
    case A_SOFTPLUS: LOOP(sigmoidf(x));
    case A_SOFTSIGN: LOOP(1.0f / ((1.0f + fabsf(x)) * (1.0f + fabsf(x))));
    case A_THRESHOLDEDRELU: LOOP(x > a ? 1.0f : 0.0f);
    case A_ERF: LOOP(1.12837916709551257390f * expf(-x * x));
    case A_GELU:
        if (j->tanh_gelu) {
            const float k = 0.79788456080286535588f, c = 0.044715f;
            LOOP(0.5f * (1.0f + tanhf(k * (x + c * x * x * x))) +
                 0.5f * x * (1.0f - tanhf(k * (x + c * x * x * x)) * tanhf(k * (x + c * x * x * x))) * k *
                     (1.0f + 3.0f * c * x * x));
        }
        LOOP(0.5f * (1.0f + erff(x * 0.70710678118654752440f)) + x * 0.39894228040143267794f * expf(-0.5f * x * x));
    case A_MISH: {
        for (int64_t i = begin; i < end; i++) {
            const float x = X[i];
            const float sp = x > 0.0f ? x + log1pf(expf(-x)) : log1pf(expf(x));
            const float t = tanhf(sp);
            dx[i] += dy[i] * (t + x * (1.0f - t * t) * sigmoidf(x));
        }
        break;
    }
    case A_EXP: LOOP(y);
    case A_LOG: LOOP(1.0f / x);
    case A_SQRT: LOOP(0.5f / y);
    case A_NEG: LOOP(-1.0f);
    case A_ABS: LOOP(x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : 0.0f);
    case A_RECIPROCAL: LOOP(-y * y);
    case A_SIN: LOOP(cosf(x));
    case A_COS: LOOP(-sinf(x));
    default: break;
    }
}

static nn_status act_backward(nni_gradctx *g, int kind)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy;
    nn_tensor *dx;
    nn_status st = nni_grad_unary(g, &dy, &dx);
    if (st != NN_OK || !dx)
        return st;
    const int64_t n = nni_tensor_count(dx);
    if (nni_tensor_count(dy) != n || nni_tensor_count(c->in[0]) != n || nni_tensor_count(c->out[0]) != n)
        return nni_error(NN_E_SHAPE, "output gradient and input differ in size");
    act_job j = {.kind = kind, .x = c->in[0]->data, .y = c->out[0]->data, .dy = dy->data, .dx = dx->data};
    if (kind == A_CLIP)
        nni_clip_bounds_f32(c, &j.lo, &j.hi);
    else if (c->state)
        nni_unary_params(c, &j.alpha, &j.beta, &j.tanh_gelu);
    if (n > 0)
        nni_parallel_for(c->pool, n, 16384, act_task, &j);
    return NN_OK;
}

#define ACT(fn, kind) \
    nn_status fn(nni_gradctx *g) { return act_backward(g, kind); }

ACT(nni_grad_leakyrelu, A_LEAKYRELU)
ACT(nni_grad_sigmoid, A_SIGMOID)
ACT(nni_grad_tanh, A_TANH)
ACT(nni_grad_clip, A_CLIP)
ACT(nni_grad_hardsigmoid, A_HARDSIGMOID)
ACT(nni_grad_hardswish, A_HARDSWISH)
ACT(nni_grad_elu, A_ELU)
ACT(nni_grad_selu, A_SELU)
ACT(nni_grad_celu, A_CELU)
ACT(nni_grad_softplus, A_SOFTPLUS)
ACT(nni_grad_softsign, A_SOFTSIGN)
ACT(nni_grad_thresholdedrelu, A_THRESHOLDEDRELU)
ACT(nni_grad_erf, A_ERF)
ACT(nni_grad_gelu, A_GELU)
ACT(nni_grad_mish, A_MISH)
ACT(nni_grad_exp, A_EXP)
ACT(nni_grad_log, A_LOG)
ACT(nni_grad_sqrt, A_SQRT)
ACT(nni_grad_neg, A_NEG)
ACT(nni_grad_abs, A_ABS)
ACT(nni_grad_reciprocal, A_RECIPROCAL)
ACT(nni_grad_sin, A_SIN)
ACT(nni_grad_cos, A_COS)
