/* softmax.c — float32 softmax / log-softmax kernels (rows and strided blocks). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* lets the max selects vectorize */
#endif

#include <math.h>

#include "kernels/softmax.h"
#include "kernels/vmath.h"

#define LANES 8 /* independent partial results, so reductions vectorize */

static float row_max(const float *x, int64_t n)
{
    float m[LANES];
    int64_t k = 0;
    for (int j = 0; j < LANES; j++)
        m[j] = -INFINITY;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++)
            m[j] = x[k + j] > m[j] ? x[k + j] : m[j];
    float r = -INFINITY;
    for (int j = 0; j < LANES; j++)
        r = m[j] > r ? m[j] : r;
    for (; k < n; k++)
        r = x[k] > r ? x[k] : r;
    return r;
}

/* y = exp(x - m); returns the sum of y. */
static float row_exp_sum(const float *x, float *y, int64_t n, float m)
{
    for (int64_t k = 0; k < n; k++)
        y[k] = x[k] - m;
    nni_vexp_f32(y, y, n);
    float s[LANES] = {0};
    int64_t k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int j = 0; j < LANES; j++)
            s[j] += y[k + j];
    float r = 0;
    for (int j = 0; j < LANES; j++)
        r += s[j];
    for (; k < n; k++)
        r += y[k];
    return r;
}

static void softmax_row(const float *x, float *y, int64_t n, bool log_mode)
{
    float m = row_max(x, n);
    if (log_mode) {
        /* exp(x - m) only to get the sum: write it into y, then overwrite */
        float s = row_exp_sum(x, y, n, m);
        float l = m + logf(s);
        for (int64_t k = 0; k < n; k++)
            y[k] = x[k] - l;
        return;
    }
    float s = row_exp_sum(x, y, n, m);
    float r = 1.0f / s;
    for (int64_t k = 0; k < n; k++)
        y[k] *= r;
}

static void softmax_strided(const float *x, float *y, int64_t len, int64_t inner, bool log_mode, float *tmp)
{
    float *m = tmp, *s = tmp + inner;
    for (int64_t i = 0; i < inner; i++) {
        m[i] = x[i];
        s[i] = 0;
    }
    for (int64_t k = 1; k < len; k++) {
        const float *xk = x + k * inner;
        for (int64_t i = 0; i < inner; i++)
            m[i] = xk[i] > m[i] ? xk[i] : m[i];
    }
    for (int64_t k = 0; k < len; k++) {
        const float *xk = x + k * inner;
        float *yk = y + k * inner;
        for (int64_t i = 0; i < inner; i++)
            yk[i] = xk[i] - m[i];
        nni_vexp_f32(yk, yk, inner);
        for (int64_t i = 0; i < inner; i++)
            s[i] += yk[i];
    }
    if (log_mode) {
        for (int64_t i = 0; i < inner; i++)
            s[i] = m[i] + logf(s[i]);
        for (int64_t k = 0; k < len; k++)
            for (int64_t i = 0; i < inner; i++)
                y[k * inner + i] = x[k * inner + i] - s[i];
        return;
    }
    for (int64_t i = 0; i < inner; i++)
        s[i] = 1.0f / s[i];
    for (int64_t k = 0; k < len; k++)
        for (int64_t i = 0; i < inner; i++)
            y[k * inner + i] *= s[i];
}

void nni_softmax_f32(const float *x, float *y, int64_t len, int64_t inner, bool log_mode, float *tmp)
{
    if (len <= 0 || inner <= 0)
        return;
    if (inner == 1)
        softmax_row(x, y, len, log_mode);
    else
        softmax_strided(x, y, len, inner, log_mode, tmp);
}
