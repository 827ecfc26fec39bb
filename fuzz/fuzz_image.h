/*
 * fuzz_image.h — shared body of the PNG and JPEG targets: decode from
 * memory (both orientations), then push the image through convert, resize,
 * crop and the tensor preprocessing so that whatever a decoder hands out is
 * consistent (size, channels, sample type).
 */
#ifndef NN_FUZZ_IMAGE_H
#define NN_FUZZ_IMAGE_H

#include "fuzz_common.h"

#define FUZZ_MAX_PIXELS (1u << 22)

static inline void fuzz_use_image(const nn_image *im)
{
    int32_t w = nn_image_width(im), h = nn_image_height(im), c = nn_image_channels(im);
    nn_dtype dt = nn_image_dtype(im);
    if (w < 1 || h < 1 || c < 1 || c > 4 || (dt != NN_DTYPE_UINT8 && dt != NN_DTYPE_UINT16))
        __builtin_trap();
    /* every sample readable */
    size_t nb = (size_t)w * (size_t)h * (size_t)c * nn_dtype_size(dt);
    const uint8_t *p = nn_image_data(im);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < nb; i++)
        sink ^= p[i];
    (void)sink;
    nn_image *rgb = NULL, *small = NULL, *crop = NULL;
    fuzz_check_status(nn_image_convert(im, 3, &rgb));
    fuzz_check_status(nn_image_resize(rgb ? rgb : im, 7, 5, NN_FILTER_BILINEAR, &small));
    fuzz_check_status(nn_image_crop(im, w / 3, h / 3, w - w / 3, h - h / 3, &crop));
    nn_preprocess_options po;
    nn_preprocess_options_init(&po, NN_PREPROCESS_OPTIONS_VERSION);
    po.width = 6;
    po.height = 4;
    po.resize = NN_RESIZE_LETTERBOX;
    nn_tensor *t = NULL;
    const nn_image *one[1] = {im};
    fuzz_check_status(nn_image_to_tensor(NULL, one, 1, &po, &t));
    nn_tensor_free(t);
    nn_image_free(rgb);
    nn_image_free(small);
    nn_image_free(crop);
}

/* orientations: 2 for JPEG (EXIF applied and not), 1 for PNG (no EXIF) */
static inline int fuzz_image_input(const uint8_t *data, size_t size, int orientations)
{
    for (int orient = 0; orient < orientations; orient++) {
        nn_image_options o;
        nn_image_options_init(&o, NN_IMAGE_OPTIONS_VERSION);
        o.max_pixels = FUZZ_MAX_PIXELS;
        o.apply_orientation = orient;
        nn_image *im = NULL;
        nn_status st = nn_image_load_memory(data, size, &o, &im);
        fuzz_check_status(st);
        if (st == NN_OK) {
            fuzz_use_image(im);
            nn_image_free(im);
        } else if (im) {
            __builtin_trap();
        }
    }
    return 0;
}

#endif
