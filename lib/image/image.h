/*
 * image.h — the nn_image object and the pieces of lib/image/ that share it:
 * decoders (png.c, jpeg.c), EXIF (exif.c), geometry (geometry.c), colour
 * (color.c) and resampling (resize.c). libpng and libjpeg headers are included
 * only by the decoder files, never here.
 */
#ifndef NNI_IMAGE_H
#define NNI_IMAGE_H

#include "core/common.h"

struct nn_image {
    int32_t width, height;
    int32_t channels;  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    nn_dtype dtype;    /* NN_DTYPE_UINT8 or NN_DTYPE_UINT16 */
    size_t nbytes;
    uint8_t *data;     /* packed rows, owned */
};

/** What a decoder needs besides the bytes. */
typedef struct nni_decode_opts {
    uint64_t max_pixels;
    bool apply_orientation;
} nni_decode_opts;

/** Allocate an image (zeroed pixels) after checking sizes; errors name no file. */
nn_status nni_image_new(int32_t width, int32_t height, int32_t channels, nn_dtype dtype, nn_image **out);
/** Bytes per sample: 1 or 2. */
static inline size_t nni_image_sample_size(const nn_image *im) { return im->dtype == NN_DTYPE_UINT16 ? 2 : 1; }
/** Bytes per row. */
static inline size_t nni_image_row_bytes(const nn_image *im)
{
    return (size_t)im->width * (size_t)im->channels * nni_image_sample_size(im);
}
/** Refuse width x height over the budget (NN_E_LIMIT) or zero (NN_E_PARSE), before allocating. */
nn_status nni_image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels);

/* Decoders: the message says what is wrong (the caller prefixes the file name). */
bool nni_png_signature(const uint8_t *data, size_t size);
nn_status nni_png_decode(const uint8_t *data, size_t size, const nni_decode_opts *opts, nn_image **out);
bool nni_jpeg_signature(const uint8_t *data, size_t size);
nn_status nni_jpeg_decode(const uint8_t *data, size_t size, const nni_decode_opts *opts, nn_image **out);

/** EXIF orientation (1..8) from an APP1 segment's payload; 1 if absent or malformed. */
int nni_exif_orientation(const uint8_t *app1, size_t size);
/** Replace *image by the upright version for EXIF orientation 1..8. */
nn_status nni_image_orient(nn_image **image, int orientation);

/** Sample `i` of the image as a float on the 0-1 scale. */
static inline float nni_image_sample01(const nn_image *im, size_t i)
{
    if (im->dtype == NN_DTYPE_UINT16)
        return (float)((const uint16_t *)(const void *)im->data)[i] * (1.0f / 65535.0f);
    return (float)im->data[i] * (1.0f / 255.0f);
}

#endif
