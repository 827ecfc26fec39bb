/*
 * vmath.h — float32 transcendental functions written so that loops over them
 * vectorize (no libm calls, no branches): exp, sigmoid, tanh. Accurate to a
 * few ulp over the whole float range, with inf/NaN/underflow handled.
 */
#ifndef NNI_VMATH_H
#define NNI_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float nni_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* exp(x) = 2^n * exp(r), |r| <= ln2/2, exp(r) by Cephes' minimax polynomial.
 * 2^n is applied as two factors so that results down in the subnormal range
 * and up to overflow come out right. */
static inline float nni_expf(float x)
{
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    xc = x == x ? xc : 0.0f;
    float fx = xc * 1.44269504088896341f;
    int32_t n = (int32_t)(fx + (fx >= 0.0f ? 0.5f : -0.5f));
    float fn = (float)n;
    float r = xc - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    int32_t n1 = n >> 1, n2 = n - n1;
    p *= nni_f32_from_bits((uint32_t)(n1 + 127) << 23);
    p *= nni_f32_from_bits((uint32_t)(n2 + 127) << 23);
    return x == x ? p : x;
}

static inline float nni_sigmoidf(float x) { return 1.0f / (1.0f + nni_expf(-x)); }

/* Cephes tanhf: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would
 * cancel), the exp form elsewhere. */
static inline float nni_tanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    float big = 1.0f - 2.0f / (nni_expf(2.0f * ax) + 1.0f);
    big = x < 0.0f ? -big : big;
    float s = x * x;
    float small = -5.70498872745e-3f;
    small = small * s + 2.06390887954e-2f;
    small = small * s - 5.37397155531e-2f;
    small = small * s + 1.33314422036e-1f;
    small = small * s - 3.33332819422e-1f;
    small = small * s * x + x;
    return ax > 0.625f ? big : small;
}

/* Array forms (y may equal x). */
void nni_vexp_f32(const float *x, float *y, int64_t n);
void nni_vsigmoid_f32(const float *x, float *y, int64_t n);
void nni_vtanh_f32(const float *x, float *y, int64_t n);

#endif
