/*
 * norm.h — building blocks of the normalization ops: sums and moments of
 * contiguous runs, and the affine maps y = x * a + b they end with.
 */
#ifndef NNI_KERNELS_NORM_H
#define NNI_KERNELS_NORM_H

#include <stdint.h>

/* Sum of x[0..n), accurate for long runs (float lanes per block, double across blocks). */
double nni_norm_sum_f32(const float *x, int64_t n);
/* Sum of (x - mean)^2 over x[0..n). */
double nni_norm_sqdev_f32(const float *x, int64_t n, float mean);
/* Sum of squares, or of |x| when p == 1. */
double nni_norm_sumpow_f32(const float *x, int64_t n, int p);
/* y = x * a + b with scalar a, b (y may alias x). */
void nni_norm_affine_f32(const float *x, float *y, int64_t n, float a, float b);
/* y[i] = x[i] * a[i] + b[i] (y may alias x). */
void nni_norm_affine_vec_f32(const float *x, float *y, int64_t n, const float *a, const float *b);
/* y[i] = (x[i] - mean) * inv * scale[i] + (bias ? bias[i] : 0): LayerNormalization's row. */
void nni_norm_scale_shift_f32(const float *x, float *y, int64_t n, float mean, float inv, const float *scale,
                              const float *bias);

#endif
