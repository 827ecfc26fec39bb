/* resize.h — separable resampling of float planes (bilinear with antialiasing, nearest). */
#ifndef NNI_IMAGE_RESIZE_H
#define NNI_IMAGE_RESIZE_H

#include "core/common.h"

/** A source rectangle in pixel-edge coordinates: (0,0,w,h) is the whole image. */
typedef struct nni_box {
    double x0, y0, x1, y1;
} nni_box;

/**
 * Resample the `box` of `planes` source planes (sw x sh floats each, packed)
 * to dw x dh per plane. Bilinear: a triangle filter whose support grows with
 * the shrink factor (so shrinking averages every source pixel: antialiasing),
 * output pixel centres mapped to box coordinates, weights normalised: the
 * definition Pillow's Image.resize(BILINEAR, box=...) uses. Nearest: the
 * source pixel under each output pixel's centre.
 * @return NN_OK, NN_E_NOMEM, NN_E_LIMIT
 */
nn_status nni_resize_planes(const float *src, int32_t sw, int32_t sh, int32_t planes, nni_box box, float *dst,
                            int32_t dw, int32_t dh, int32_t filter);

#endif
