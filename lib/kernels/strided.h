/*
 * strided.h — copy an N-d strided view of a buffer into contiguous memory.
 * One kernel behind Transpose, Slice, Expand, Tile, DepthToSpace and
 * SpaceToDepth: each describes its output as a view of its input.
 */
#ifndef NNI_KERNELS_STRIDED_H
#define NNI_KERNELS_STRIDED_H

#include <stddef.h>
#include <stdint.h>

#include "exec/pool.h"

/* Views may have more axes than a tensor (Tile doubles them). */
#define NNI_STRIDED_MAX_RANK 16

/**
 * dst[i0,...,i(r-1)] = src[i0*strides[0] + ... + i(r-1)*strides[r-1]] for
 * every index of `dims`, dst row-major and contiguous. Strides count elements
 * of `es` bytes and may be zero (broadcast) or negative (reversal); `src`
 * points at the view's first element. rank <= NNI_STRIDED_MAX_RANK.
 */
void nni_strided_copy(void *dst, const void *src, size_t es, int32_t rank, const int64_t *dims,
                      const int64_t *strides, nni_pool *pool);

/**
 * dst[i0,...,i(r-1)] = src[maps[0][i0] + ... + maps[r-1][i(r-1)]] where each
 * per-axis map holds element offsets into src (the axis index times its
 * stride); an offset < 0 on any axis writes `fill` (es bytes) instead.
 * Nearest-neighbour resizing and padding are such maps.
 */
void nni_map_copy(void *dst, const void *src, size_t es, int32_t rank, const int64_t *dims, const int64_t *const *maps,
                  const void *fill, nni_pool *pool);

#endif
