/*
 * color.c — channel layouts: gray <-> RGB, alpha added or dropped, and the
 * float planes preprocessing starts from. Gray from colour uses ITU-R 601
 * luma, L = 0.299 R + 0.587 G + 0.114 B (Pillow's convert("L") weights).
 */
#include "image/color.h"

/* Luma weights scaled to 2^16 (they sum to 65536). */
#define LUMA_R 19595u
#define LUMA_G 38470u
#define LUMA_B 7471u

static inline uint32_t get(const nn_image *im, size_t i)
{
    return im->dtype == NN_DTYPE_UINT16 ? ((const uint16_t *)(const void *)im->data)[i] : im->data[i];
}

static inline void put(nn_image *im, size_t i, uint32_t v)
{
    if (im->dtype == NN_DTYPE_UINT16)
        ((uint16_t *)(void *)im->data)[i] = (uint16_t)v;
    else
        im->data[i] = (uint8_t)v;
}

static void convert_pixel(const nn_image *src, nn_image *dst, size_t p, uint32_t opaque)
{
    size_t s = p * (size_t)src->channels, d = p * (size_t)dst->channels;
    bool src_color = src->channels >= 3, src_alpha = src->channels == 2 || src->channels == 4;
    uint32_t r = get(src, s), g = src_color ? get(src, s + 1) : r, b = src_color ? get(src, s + 2) : r;
    uint32_t a = src_alpha ? get(src, s + (size_t)src->channels - 1) : opaque;
    if (dst->channels <= 2) {
        uint32_t l = src_color ? (uint32_t)(((uint64_t)r * LUMA_R + (uint64_t)g * LUMA_G + (uint64_t)b * LUMA_B + 0x8000u) >> 16) : r;
        put(dst, d, l);
    } else {
        put(dst, d, r);
        put(dst, d + 1, g);
        put(dst, d + 2, b);
    }
    if (dst->channels == 2 || dst->channels == 4)
        put(dst, d + (size_t)dst->channels - 1, a);
}

NN_API nn_status nn_image_convert(const nn_image *im, int32_t channels, nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_convert: out is NULL");
    *out = NULL;
    if (!im)
        return nni_error(NN_E_INVALID_ARG, "nn_image_convert: image is NULL");
    if (channels < 1 || channels > 4)
        return nni_error(NN_E_INVALID_ARG, "nn_image_convert: channels must be 1..4, not %d", (int)channels);
    nn_image *dst;
    nn_status st = nni_image_new(im->width, im->height, channels, im->dtype, &dst);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_image_convert");
    uint32_t opaque = im->dtype == NN_DTYPE_UINT16 ? 65535u : 255u;
    size_t n = (size_t)im->width * (size_t)im->height;
    for (size_t p = 0; p < n; p++)
        convert_pixel(im, dst, p, opaque);
    *out = dst;
    return NN_OK;
}

int nni_image_plane_count(const nn_image *im, bool want_gray) { return want_gray || im->channels <= 2 ? 1 : 3; }

void nni_image_to_planes(const nn_image *im, bool want_gray, float *planes)
{
    size_t n = (size_t)im->width * (size_t)im->height;
    size_t c = (size_t)im->channels;
    if (im->channels <= 2) {
        for (size_t p = 0; p < n; p++)
            planes[p] = nni_image_sample01(im, p * c);
        return;
    }
    for (size_t p = 0; p < n; p++) {
        float r = nni_image_sample01(im, p * c), g = nni_image_sample01(im, p * c + 1),
              b = nni_image_sample01(im, p * c + 2);
        if (want_gray) {
            planes[p] = 0.299f * r + 0.587f * g + 0.114f * b;
        } else {
            planes[p] = r;
            planes[n + p] = g;
            planes[2 * n + p] = b;
        }
    }
}
