/* geometry.c — pixel rearrangements: crop and the eight EXIF orientations. */
#include <string.h>

#include "image/image.h"

/* Source pixel of output (x, y) for an orientation; w, h are the source's size. */
static void oriented_source(int orientation, int32_t w, int32_t h, int32_t x, int32_t y, int32_t *sx, int32_t *sy)
{
    switch (orientation) {
    case 2: *sx = w - 1 - x; *sy = y; break;             /* mirrored */
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;     /* rotated 180 */
    case 4: *sx = x; *sy = h - 1 - y; break;             /* flipped */
    case 5: *sx = y; *sy = x; break;                     /* transposed */
    case 6: *sx = y; *sy = h - 1 - x; break;             /* needs 90 degrees clockwise */
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;     /* transversed */
    case 8: *sx = w - 1 - y; *sy = x; break;             /* needs 90 degrees counter-clockwise */
    default: *sx = x; *sy = y; break;
    }
}

nn_status nni_image_orient(nn_image **image, int orientation)
{
    nn_image *src = *image;
    if (orientation <= 1 || orientation > 8)
        return NN_OK;
    bool swap = orientation >= 5;
    nn_image *dst;
    nn_status st = nni_image_new(swap ? src->height : src->width, swap ? src->width : src->height, src->channels,
                                 src->dtype, &dst);
    if (st != NN_OK)
        return st;
    size_t px = (size_t)src->channels * nni_image_sample_size(src);
    size_t src_stride = nni_image_row_bytes(src);
    uint8_t *out = dst->data;
    for (int32_t y = 0; y < dst->height; y++) {
        for (int32_t x = 0; x < dst->width; x++, out += px) {
            int32_t sx, sy;
            oriented_source(orientation, src->width, src->height, x, y, &sx, &sy);
            memcpy(out, src->data + (size_t)sy * src_stride + (size_t)sx * px, px);
        }
    }
    nn_image_free(src);
    *image = dst;
    return NN_OK;
}

NN_API nn_status nn_image_crop(const nn_image *im, int32_t x, int32_t y, int32_t width, int32_t height, nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_crop: out is NULL");
    *out = NULL;
    if (!im)
        return nni_error(NN_E_INVALID_ARG, "nn_image_crop: image is NULL");
    if (x < 0 || y < 0 || width <= 0 || height <= 0 || width > im->width - x || height > im->height - y)
        return nni_error(NN_E_INVALID_ARG, "nn_image_crop: the %dx%d rectangle at (%d,%d) is not inside the %dx%d image",
                         (int)width, (int)height, (int)x, (int)y, (int)im->width, (int)im->height);
    nn_image *dst;
    nn_status st = nni_image_new(width, height, im->channels, im->dtype, &dst);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_image_crop");
    size_t px = (size_t)im->channels * nni_image_sample_size(im);
    for (int32_t r = 0; r < height; r++)
        memcpy(dst->data + (size_t)r * nni_image_row_bytes(dst),
               im->data + (size_t)(y + r) * nni_image_row_bytes(im) + (size_t)x * px, nni_image_row_bytes(dst));
    *out = dst;
    return NN_OK;
}
