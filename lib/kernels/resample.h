/*
 * resample.h — one separable pass of linear/cubic interpolation along one
 * axis: [outer, n_in, inner] -> [outer, n_out, inner], each output position
 * a weighted sum of a few input positions (its taps).
 */
#ifndef NNI_KERNELS_RESAMPLE_H
#define NNI_KERNELS_RESAMPLE_H

#include <stdint.h>

#include "exec/pool.h"

/**
 * dst[b, o, i] = sum_t w[o*taps + t] * src[b, idx[o*taps + t], i], or `fill`
 * where idx[o*taps] < 0 (extrapolated positions). Indices are in [0, n_in).
 */
void nni_resample_axis(const float *src, float *dst, int64_t outer, int64_t n_in, int64_t n_out, int64_t inner,
                       int32_t taps, const int64_t *idx, const float *w, float fill, nni_pool *pool);

#endif
