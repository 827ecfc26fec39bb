/* optim.c — SGD/Adam/AdamW parameter updates and small vector helpers for training. */
#include <math.h>

#include "kernels/optim.h"

void nni_sgd_update_f32(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float wd,
                        bool nesterov, bool first)
{
    for (int64_t i = 0; i < n; i++) {
        float d = g[i];
        if (wd != 0.0f)
            d = d + wd * p[i];
        if (momentum != 0.0f) {
            float b = first ? d : buf[i] * momentum + d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] = p[i] - lr * d;
    }
}

void nni_adam_update_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
                         float eps, float wd, bool decoupled, int64_t step)
{
    const double bc1 = 1.0 - pow((double)beta1, (double)step);
    const double bc2 = 1.0 - pow((double)beta2, (double)step);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float decay = decoupled ? 1.0f - lr * wd : 1.0f;
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i];
        if (decoupled)
            p[i] *= decay;
        else if (wd != 0.0f)
            gi = gi + wd * p[i];
        m[i] = m[i] * beta1 + gi * (1.0f - beta1);
        v[i] = v[i] * beta2 + gi * gi * (1.0f - beta2);
        const float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] - step_size * (m[i] / denom);
    }
}

double nni_sumsq_f32(const float *x, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i++)
        s += (double)x[i] * (double)x[i];
    return s;
}

void nni_scale_f32(float *x, int64_t n, float s)
{
    for (int64_t i = 0; i < n; i++)
        x[i] *= s;
}

void nni_add_inplace_f32(float *y, const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += x[i];
}
