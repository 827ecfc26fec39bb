/*
 * letterbox_darknet.c — darknet's `detector test` preprocessing, reproduced
 * exactly (float for float): pixels / 255 into planar RGB, its separable
 * align-corners bilinear resize (whose last output row keeps only the
 * (1-dy) term), pasted centred on a 0.5 canvas. Any other resampling changes
 * darknet models' detections.
 */
#include <string.h>

#include "detect/detect.h"

/* One channel plane in -> resized plane out (darknet's resize_image). */
static void resize_plane(const float *in, int iw, int ih, float *part, float *out, int w, int h)
{
    /* horizontal pass into part (w x ih) */
    float w_scale = w > 1 ? (float)(iw - 1) / (w - 1) : 0;
    for (int r = 0; r < ih; r++) {
        const float *row = in + (size_t)r * iw;
        for (int c = 0; c < w; c++) {
            float val;
            if (c == w - 1 || iw == 1) {
                val = row[iw - 1];
            } else {
                float sx = c * w_scale;
                int ix = (int)sx;
                float dx = sx - ix;
                val = (1 - dx) * row[ix] + dx * row[ix + 1];
            }
            part[(size_t)r * w + c] = val;
        }
    }
    /* vertical pass: the (1-dy) term, then the dy term except on the last row */
    float h_scale = h > 1 ? (float)(ih - 1) / (h - 1) : 0;
    for (int r = 0; r < h; r++) {
        float sy = r * h_scale;
        int iy = (int)sy;
        float dy = sy - iy;
        float *o = out + (size_t)r * w;
        const float *p0 = part + (size_t)iy * w;
        for (int c = 0; c < w; c++)
            o[c] = (1 - dy) * p0[c];
        if (r == h - 1 || ih == 1)
            continue;
        const float *p1 = p0 + w;
        for (int c = 0; c < w; c++)
            o[c] += dy * p1[c];
    }
}

nn_status nni_det_darknet_letterbox(const uint8_t *pixels, int32_t w, int32_t h, int32_t channels, int32_t net_w,
                                    int32_t net_h, float *out)
{
    if (w < 1 || h < 1 || net_w < 1 || net_h < 1 || channels < 1 || channels > 4)
        return nni_error(NN_E_INVALID_ARG, "darknet letterbox: bad sizes");
    nni_det_fit f;
    nni_det_darknet_fit(w, h, net_w, net_h, &f);
    size_t plane = (size_t)w * (size_t)h;
    float *img = nni_malloc(plane * sizeof(float));
    float *part = nni_malloc((size_t)f.w * (size_t)h * sizeof(float));
    float *res = nni_malloc((size_t)f.w * (size_t)f.h * sizeof(float));
    if (!img || !part || !res) {
        nni_free(img);
        nni_free(part);
        nni_free(res);
        return nni_error(NN_E_NOMEM, "cannot allocate the darknet letterbox buffers");
    }
    size_t net_plane = (size_t)net_w * (size_t)net_h;
    for (size_t i = 0; i < 3 * net_plane; i++)
        out[i] = .5f;
    for (int k = 0; k < 3; k++) {
        /* gray replicated into R, G and B; alpha ignored */
        int src = channels < 3 ? 0 : k;
        for (size_t i = 0; i < plane; i++)
            img[i] = (float)(pixels[i * (size_t)channels + (size_t)src] / 255.);
        resize_plane(img, w, h, part, res, f.w, f.h);
        float *dst = out + (size_t)k * net_plane;
        for (int r = 0; r < f.h; r++)
            memcpy(dst + (size_t)(r + f.y) * (size_t)net_w + (size_t)f.x, res + (size_t)r * (size_t)f.w,
                   (size_t)f.w * sizeof(float));
    }
    nni_free(img);
    nni_free(part);
    nni_free(res);
    return NN_OK;
}
