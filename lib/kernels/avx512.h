/*
 * avx512.h — small AVX-512 building blocks shared by kernels that work on
 * 16-channel blocks (Winograd, depthwise): a 16x16 in-register transpose and
 * the activations of kernels/epilogue.h on one vector. Include only from
 * x86-64 kernel files; every function is inline with its own target.
 */
#ifndef NNI_KERNELS_AVX512_H
#define NNI_KERNELS_AVX512_H

#include <immintrin.h>

#include "kernels/epilogue.h"

#define NNI_AVX512 __attribute__((target("avx512f,avx512vl")))
#define NNI_AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl")))

/* Transpose 16 vectors of 16 floats: r[i] lane k -> r[k] lane i. */
NNI_AVX512_INLINE void nni_tr16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* r[4i + k], 128-bit lane L: rows 4i..4i+3 of column 4L + k */
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x44), u1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xEE);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x44), u3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xEE);
        t[k] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
        t[8 + k] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

NNI_AVX512_INLINE __mmask16 nni_tail16(int64_t n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* True for the activations nni_act16 computes (the rest need a scalar pass). */
static inline bool nni_act16_ok(int32_t act)
{
    return act == NNI_ACT_NONE || act == NNI_ACT_RELU || act == NNI_ACT_LEAKY_RELU || act == NNI_ACT_CLIP ||
           act == NNI_ACT_HARD_SIGMOID || act == NNI_ACT_HARD_SWISH;
}

/*
 * x < lo ? lo : x, then v > hi ? hi : v — the unfused Relu/Clip selects, so
 * NaN and -0 pass through unchanged. vmaxps/vminps return their second
 * operand when the comparison fails (NaN, equal values), hence x second.
 */
NNI_AVX512_INLINE __m512 nni_clamp16(__m512 x, __m512 lo, __m512 hi)
{
    return _mm512_min_ps(hi, _mm512_max_ps(lo, x));
}

/* The activation on one vector, with the unfused ops' select semantics (NaN passes Relu). */
NNI_AVX512_INLINE __m512 nni_act16(__m512 x, int32_t act, float alpha, float beta)
{
    const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
    switch (act) {
    case NNI_ACT_RELU:
        return _mm512_max_ps(zero, x); /* nni_clamp16 without the upper bound */
    case NNI_ACT_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_mul_ps(x, _mm512_set1_ps(alpha)));
    case NNI_ACT_CLIP:
        return nni_clamp16(x, _mm512_set1_ps(alpha), _mm512_set1_ps(beta));
    case NNI_ACT_HARD_SIGMOID:
    case NNI_ACT_HARD_SWISH: {
        const __m512 v = act == NNI_ACT_HARD_SIGMOID
                             ? _mm512_fmadd_ps(_mm512_set1_ps(alpha), x, _mm512_set1_ps(beta))
                             : _mm512_fmadd_ps(_mm512_set1_ps(1.0f / 6.0f), x, _mm512_set1_ps(0.5f));
        __m512 c = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), v, zero);
        c = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, one, _CMP_GT_OQ), c, one);
        return act == NNI_ACT_HARD_SIGMOID ? c : _mm512_mul_ps(x, c);
    }
    default:
        return x;
    }
}

#endif
