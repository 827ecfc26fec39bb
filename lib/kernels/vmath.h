/*
 * vmath.h — float32 exp, sigmoid and tanh without libm: a scalar form for
 * use inside other loops and 4-lane forms (GCC vector extensions, so SSE2 on
 * x86-64 and NEON on ARM) behind the array kernels. Accurate to a few ulp over
 * the whole float range, with inf, NaN and underflow handled.
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
 * and up to overflow come out right. A NaN flows through the clamps into r
 * (so the result is NaN) while the integer part sees a clamped number. */
static inline float nni_expf(float x)
{
    float xc = x < -104.0f ? -104.0f : x;
    xc = xc > 89.0f ? 89.0f : xc;
    float xs = x > -104.0f ? x : -104.0f;
    xs = xs < 89.0f ? xs : 89.0f;
    /* floor(t + 0.5) by truncating a positive number: t >= -151 here */
    int32_t n = (int32_t)(xs * 1.44269504088896341f + 256.5f) - 256;
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
    return p * nni_f32_from_bits((uint32_t)(n2 + 127) << 23);
}

static inline float nni_sigmoidf(float x) { return 1.0f / (1.0f + nni_expf(-x)); }

/* Cephes tanhf: an odd polynomial near 0 (where 1 - 2/(e^2x + 1) would
 * cancel), the exp form elsewhere. */
static inline float nni_tanhf(float x)
{
    float ax = x < 0.0f ? -x : x;
    if (ax > 0.625f) {
        float t = 1.0f - 2.0f / (nni_expf(2.0f * ax) + 1.0f);
        return x < 0.0f ? -t : t;
    }
    float s = x * x;
    float p = -5.70498872745e-3f;
    p = p * s + 2.06390887954e-2f;
    p = p * s - 5.37397155531e-2f;
    p = p * s + 1.33314422036e-1f;
    p = p * s - 3.33332819422e-1f;
    return p * s * x + x;
}

/* ---- 4 lanes ---- */

typedef float nni_v4f __attribute__((vector_size(16)));
typedef int32_t nni_v4i __attribute__((vector_size(16)));

#define NNI_V4(c) ((nni_v4f){(c), (c), (c), (c)})

static inline nni_v4f nni_v4_select(nni_v4i m, nni_v4f a, nni_v4f b)
{
    return (nni_v4f)((m & (nni_v4i)a) | (~m & (nni_v4i)b));
}

static inline nni_v4f nni_v4_load(const float *p)
{
    nni_v4f v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void nni_v4_store(float *p, nni_v4f v) { memcpy(p, &v, sizeof v); }

static inline nni_v4f nni_expv(nni_v4f x)
{
    nni_v4f xc = nni_v4_select(x < NNI_V4(-104.0f), NNI_V4(-104.0f), x);
    xc = nni_v4_select(xc > NNI_V4(89.0f), NNI_V4(89.0f), xc);
    nni_v4f xs = (nni_v4f)((nni_v4i)xc & (xc == xc)); /* NaN -> 0 for the conversion */
    nni_v4i n = __builtin_convertvector(xs * 1.44269504088896341f + 256.5f, nni_v4i) - 256;
    nni_v4f fn = __builtin_convertvector(n, nni_v4f);
    nni_v4f r = xc - fn * 0.693359375f;
    r = r - fn * -2.12194440e-4f;
    nni_v4f z = r * r;
    nni_v4f p = NNI_V4(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    nni_v4i n1 = n >> 1, n2 = n - n1;
    p *= (nni_v4f)((n1 + 127) << 23);
    return p * (nni_v4f)((n2 + 127) << 23);
}

static inline nni_v4f nni_sigmoidv(nni_v4f x) { return 1.0f / (1.0f + nni_expv(-x)); }

static inline nni_v4f nni_tanhv(nni_v4f x)
{
    nni_v4i neg = x < NNI_V4(0.0f);
    nni_v4f ax = nni_v4_select(neg, -x, x);
    nni_v4f big = 1.0f - 2.0f / (nni_expv(2.0f * ax) + 1.0f);
    big = nni_v4_select(neg, -big, big);
    nni_v4f s = x * x;
    nni_v4f p = NNI_V4(-5.70498872745e-3f);
    p = p * s + 2.06390887954e-2f;
    p = p * s - 5.37397155531e-2f;
    p = p * s + 1.33314422036e-1f;
    p = p * s - 3.33332819422e-1f;
    p = p * s * x + x;
    return nni_v4_select(ax > NNI_V4(0.625f), big, p);
}

/* Array forms (y may equal x). */
void nni_vexp_f32(const float *x, float *y, int64_t n);
void nni_vsigmoid_f32(const float *x, float *y, int64_t n);
void nni_vtanh_f32(const float *x, float *y, int64_t n);

#endif
