/*
 * norm.c — sums, moments and affine maps over contiguous float runs.
 *
 * Reductions keep eight float partial sums so the compiler can use vector
 * registers without reassociating one running sum; blocks of BLOCK elements
 * are then added in double, which bounds the float error for long runs.
 */
#include <math.h>

#include "kernels/norm.h"

#define BLOCK 4096

static float sum_block(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static float sqdev_block(const float *x, int64_t n, float m)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            float d = x[i + j] - m;
            acc[j] += d * d;
        }
    float s = 0.0f;
    for (; i < n; i++) {
        float d = x[i] - m;
        s += d * d;
    }
    return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

static float abs_block(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += fabsf(x[i + j]);
    float s = 0.0f;
    for (; i < n; i++)
        s += fabsf(x[i]);
    return s + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

double nni_norm_sum_f32(const float *x, int64_t n)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i += BLOCK)
        s += sum_block(x + i, n - i < BLOCK ? n - i : BLOCK);
    return s;
}

double nni_norm_sqdev_f32(const float *x, int64_t n, float mean)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i += BLOCK)
        s += sqdev_block(x + i, n - i < BLOCK ? n - i : BLOCK, mean);
    return s;
}

double nni_norm_sumpow_f32(const float *x, int64_t n, int p)
{
    double s = 0.0;
    for (int64_t i = 0; i < n; i += BLOCK)
        s += p == 1 ? abs_block(x + i, n - i < BLOCK ? n - i : BLOCK)
                    : sqdev_block(x + i, n - i < BLOCK ? n - i : BLOCK, 0.0f);
    return s;
}

void nni_norm_affine_f32(const float *x, float *y, int64_t n, float a, float b)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * a + b;
}

void nni_norm_affine_vec_f32(const float *x, float *y, int64_t n, const float *a, const float *b)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = x[i] * a[i] + b[i];
}

void nni_norm_scale_shift_f32(const float *x, float *y, int64_t n, float mean, float inv, const float *scale,
                              const float *bias)
{
    if (bias)
        for (int64_t i = 0; i < n; i++)
            y[i] = (x[i] - mean) * inv * scale[i] + bias[i];
    else
        for (int64_t i = 0; i < n; i++)
            y[i] = (x[i] - mean) * inv * scale[i];
}
