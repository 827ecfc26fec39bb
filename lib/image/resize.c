/*
 * resize.c — resampling: per-axis filter taps (start, count, normalised
 * weights), a horizontal pass over the rows the vertical taps need, then a
 * vertical pass; and nn_image_resize on top of it.
 */
#include <math.h>
#include <string.h>

#include "image/image.h"
#include "image/resize.h"

typedef struct axis {
    int32_t taps;    /* widest window */
    int32_t *start;  /* [out] first source index */
    int32_t *count;  /* [out] taps used */
    float *weight;   /* [out * taps] */
} axis;

static void axis_free(axis *a)
{
    nni_free(a->start);
    nni_free(a->count);
    nni_free(a->weight);
}

static float triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? (float)(1.0 - x) : 0.0f;
}

static void bilinear_taps(axis *a, int32_t i, double center, double filterscale, int32_t in)
{
    double support = filterscale; /* the triangle's support (1) widened by the shrink factor */
    int32_t lo = (int32_t)floor(center - support + 0.5), hi = (int32_t)floor(center + support + 0.5);
    if (lo < 0)
        lo = 0;
    if (hi > in)
        hi = in;
    if (hi - lo > a->taps)
        hi = lo + a->taps;
    float *w = a->weight + (size_t)i * (size_t)a->taps, sum = 0.0f;
    for (int32_t k = 0; k < hi - lo; k++)
        sum += w[k] = triangle(((double)(lo + k) - center + 0.5) / filterscale);
    for (int32_t k = 0; sum != 0.0f && k < hi - lo; k++)
        w[k] /= sum;
    a->start[i] = lo;
    a->count[i] = hi > lo ? hi - lo : 0;
}

/* Taps of `out` output pixels over source [b0, b1) of an axis of `in` pixels. */
static nn_status axis_init(axis *a, int32_t in, double b0, double b1, int32_t out, int32_t filter)
{
    memset(a, 0, sizeof *a);
    double scale = (b1 - b0) / out, filterscale = scale > 1.0 ? scale : 1.0;
    a->taps = filter == NN_FILTER_NEAREST ? 1 : (int32_t)ceil(filterscale) * 2 + 1;
    size_t nw;
    if (nni_mul_overflow_size((size_t)out, (size_t)a->taps, &nw))
        return nni_error(NN_E_LIMIT, "resize: too many filter taps");
    a->start = nni_malloc((size_t)out * sizeof *a->start);
    a->count = nni_malloc((size_t)out * sizeof *a->count);
    a->weight = nni_calloc(nw, sizeof *a->weight);
    if (!a->start || !a->count || !a->weight) {
        axis_free(a);
        return nni_error(NN_E_NOMEM, "resize: cannot allocate filter weights");
    }
    for (int32_t i = 0; i < out; i++) {
        double center = b0 + (i + 0.5) * scale;
        if (filter == NN_FILTER_NEAREST) {
            int32_t s = (int32_t)floor(center);
            a->start[i] = s < 0 ? 0 : s >= in ? in - 1 : s;
            a->count[i] = 1;
            a->weight[i] = 1.0f;
        } else {
            bilinear_taps(a, i, center, filterscale, in);
        }
    }
    return NN_OK;
}

static void horizontal(const float *src, int32_t sw, const axis *ax, int32_t dw, int32_t y0, int32_t y1, float *tmp)
{
    for (int32_t y = y0; y < y1; y++) {
        const float *row = src + (size_t)y * (size_t)sw;
        float *out = tmp + (size_t)(y - y0) * (size_t)dw;
        for (int32_t x = 0; x < dw; x++) {
            const float *w = ax->weight + (size_t)x * (size_t)ax->taps;
            const float *s = row + ax->start[x];
            float v = 0.0f;
            for (int32_t k = 0; k < ax->count[x]; k++)
                v += w[k] * s[k];
            out[x] = v;
        }
    }
}

static void vertical(const float *tmp, int32_t y0, const axis *ay, int32_t dw, int32_t dh, float *dst)
{
    for (int32_t y = 0; y < dh; y++) {
        const float *w = ay->weight + (size_t)y * (size_t)ay->taps;
        float *out = dst + (size_t)y * (size_t)dw;
        for (int32_t x = 0; x < dw; x++)
            out[x] = 0.0f;
        for (int32_t k = 0; k < ay->count[y]; k++) {
            const float *s = tmp + (size_t)(ay->start[y] + k - y0) * (size_t)dw;
            for (int32_t x = 0; x < dw; x++)
                out[x] += w[k] * s[x];
        }
    }
}

/* Source rows the vertical taps touch: [*y0, *y1). */
static void row_span(const axis *ay, int32_t dh, int32_t *y0, int32_t *y1)
{
    *y0 = INT32_MAX;
    *y1 = 0;
    for (int32_t y = 0; y < dh; y++) {
        if (ay->count[y] == 0)
            continue;
        if (ay->start[y] < *y0)
            *y0 = ay->start[y];
        if (ay->start[y] + ay->count[y] > *y1)
            *y1 = ay->start[y] + ay->count[y];
    }
    if (*y0 > *y1)
        *y0 = *y1 = 0;
}

nn_status nni_resize_planes(const float *src, int32_t sw, int32_t sh, int32_t planes, nni_box box, float *dst,
                            int32_t dw, int32_t dh, int32_t filter)
{
    axis ax, ay;
    nn_status st = axis_init(&ax, sw, box.x0, box.x1, dw, filter);
    if (st != NN_OK)
        return st;
    if ((st = axis_init(&ay, sh, box.y0, box.y1, dh, filter)) != NN_OK) {
        axis_free(&ax);
        return st;
    }
    int32_t y0, y1;
    row_span(&ay, dh, &y0, &y1);
    size_t n;
    float *tmp = NULL;
    if (nni_mul_overflow_size((size_t)(y1 - y0 + 1), (size_t)dw, &n) || nni_mul_overflow_size(n, sizeof *tmp, &n))
        st = nni_error(NN_E_LIMIT, "resize: the intermediate image is too large");
    else if (!(tmp = nni_malloc(n)))
        st = nni_error(NN_E_NOMEM, "resize: cannot allocate %zu bytes", n);
    for (int32_t p = 0; st == NN_OK && p < planes; p++) {
        horizontal(src + (size_t)p * (size_t)sw * (size_t)sh, sw, &ax, dw, y0, y1, tmp);
        vertical(tmp, y0, &ay, dw, dh, dst + (size_t)p * (size_t)dw * (size_t)dh);
    }
    nni_free(tmp);
    axis_free(&ax);
    axis_free(&ay);
    return st;
}

/* ---- nn_image_resize: interleaved samples <-> float planes ---- */

static void to_planes(const nn_image *im, float *planes)
{
    size_t n = (size_t)im->width * (size_t)im->height, c = (size_t)im->channels;
    float max = im->dtype == NN_DTYPE_UINT16 ? 65535.0f : 255.0f;
    for (size_t p = 0; p < n; p++)
        for (size_t k = 0; k < c; k++)
            planes[k * n + p] = nni_image_sample01(im, p * c + k) * max;
}

static void from_planes(const float *planes, nn_image *im)
{
    size_t n = (size_t)im->width * (size_t)im->height, c = (size_t)im->channels;
    float max = im->dtype == NN_DTYPE_UINT16 ? 65535.0f : 255.0f;
    for (size_t p = 0; p < n; p++) {
        for (size_t k = 0; k < c; k++) {
            float v = planes[k * n + p];
            v = v < 0.0f ? 0.0f : v > max ? max : v;
            uint32_t q = (uint32_t)(v + 0.5f);
            if (im->dtype == NN_DTYPE_UINT16)
                ((uint16_t *)(void *)im->data)[p * c + k] = (uint16_t)q;
            else
                im->data[p * c + k] = (uint8_t)q;
        }
    }
}

static nn_status resize_image(const nn_image *im, int32_t width, int32_t height, int32_t filter, nn_image **out)
{
    nn_image *dst;
    nn_status st = nni_image_new(width, height, im->channels, im->dtype, &dst);
    if (st != NN_OK)
        return st;
    size_t ns = im->nbytes / nni_image_sample_size(im), nd = dst->nbytes / nni_image_sample_size(dst);
    float *a = NULL, *b = NULL;
    if (nni_mul_overflow_size(ns, sizeof *a, &ns) || nni_mul_overflow_size(nd, sizeof *b, &nd)) {
        st = nni_error(NN_E_LIMIT, "the resize buffers do not fit in memory");
    } else if (!(a = nni_malloc(ns)) || !(b = nni_malloc(nd))) {
        st = nni_error(NN_E_NOMEM, "cannot allocate resize buffers");
    } else {
        to_planes(im, a);
        nni_box box = {0, 0, im->width, im->height};
        st = nni_resize_planes(a, im->width, im->height, im->channels, box, b, width, height, filter);
    }
    if (st == NN_OK)
        from_planes(b, dst);
    nni_free(a);
    nni_free(b);
    if (st != NN_OK) {
        nn_image_free(dst);
        return st;
    }
    *out = dst;
    return NN_OK;
}

NN_API nn_status nn_image_resize(const nn_image *im, int32_t width, int32_t height, int32_t filter, nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_resize: out is NULL");
    *out = NULL;
    if (!im)
        return nni_error(NN_E_INVALID_ARG, "nn_image_resize: image is NULL");
    if (width <= 0 || height <= 0)
        return nni_error(NN_E_INVALID_ARG, "nn_image_resize: size %dx%d is not positive", (int)width, (int)height);
    if (filter != NN_FILTER_BILINEAR && filter != NN_FILTER_NEAREST)
        return nni_error(NN_E_INVALID_ARG, "nn_image_resize: unknown filter %d", (int)filter);
    nn_status st = resize_image(im, width, height, filter, out);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_image_resize %dx%d -> %dx%d", (int)im->width, (int)im->height, (int)width,
                                (int)height);
    return NN_OK;
}
