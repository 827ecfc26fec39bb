/*
 * preprocess.c — images to the model's input tensor: colour planes, fit
 * (stretch, letterbox, center-crop) by one resampling of a source box, then
 * mean/std and channel order into [N, C, H, W].
 */
#include <math.h>
#include <string.h>

#include "api/model.h"
#include "image/color.h"
#include "image/preprocess.h"
#include "image/resize.h"

/* Where the resampled image lands in the W x H canvas, and which source box feeds it. */
typedef struct fit {
    nni_box box;
    int32_t x, y, w, h;
} fit;

static fit fit_image(const nni_contract *c, int32_t iw, int32_t ih, int32_t W, int32_t H)
{
    fit f = {{0, 0, iw, ih}, 0, 0, W, H};
    double sx = (double)W / iw, sy = (double)H / ih;
    if (c->resize == NN_RESIZE_LETTERBOX) {
        double s = sx < sy ? sx : sy;
        f.w = (int32_t)lround(iw * s);
        f.h = (int32_t)lround(ih * s);
        f.w = f.w < 1 ? 1 : f.w > W ? W : f.w;
        f.h = f.h < 1 ? 1 : f.h > H ? H : f.h;
        f.x = (W - f.w) / 2;
        f.y = (H - f.h) / 2;
    } else if (c->resize == NN_RESIZE_CENTER_CROP) {
        double s = (sx > sy ? sx : sy) / c->crop_fraction; /* cover the canvas, then keep the fraction */
        double bw = W / s, bh = H / s;
        f.box = (nni_box){(iw - bw) / 2, (ih - bh) / 2, (iw + bw) / 2, (ih + bh) / 2};
    }
    return f;
}

/* Normalise `np` resampled planes (f.w x f.h) into the C x H x W output, padding outside the fit. */
static void write_output(const nni_contract *c, const float *planes, int np, const fit *f, int32_t W, int32_t H,
                         float *dst)
{
    size_t plane = (size_t)f->w * (size_t)f->h;
    for (int32_t ch = 0; ch < c->channels; ch++) {
        int src = np == 1 ? 0 : c->color == NN_COLOR_BGR ? 2 - ch : ch;
        float mean = c->mean[ch], inv = 1.0f / c->std[ch], pad = (c->pad_value - mean) * inv;
        float *out = dst + (size_t)ch * (size_t)W * (size_t)H;
        for (int32_t y = 0; y < H; y++) {
            for (int32_t x = 0; x < W; x++) {
                int32_t px = x - f->x, py = y - f->y;
                bool inside = px >= 0 && py >= 0 && px < f->w && py < f->h;
                out[(size_t)y * (size_t)W + (size_t)x] =
                    inside ? (planes[(size_t)src * plane + (size_t)py * (size_t)f->w + (size_t)px] - mean) * inv : pad;
            }
        }
    }
}

static nn_status alloc_floats(size_t a, size_t b, size_t c, float **out)
{
    size_t n;
    if (nni_mul_overflow_size(a, b, &n) || nni_mul_overflow_size(n, c, &n) || nni_mul_overflow_size(n, sizeof(float), &n))
        return nni_error(NN_E_LIMIT, "preprocessing buffers do not fit in memory");
    if (!(*out = nni_malloc(n)))
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for preprocessing", n);
    return NN_OK;
}

static bool is_identity(const fit *f, const nn_image *im)
{
    return f->w == im->width && f->h == im->height && f->box.x0 == 0 && f->box.y0 == 0 && f->box.x1 == im->width &&
           f->box.y1 == im->height;
}

static nn_status preprocess_one(const nni_contract *c, const nn_image *im, int32_t W, int32_t H, float *dst)
{
    int np = nni_image_plane_count(im, c->channels == 1);
    fit f = fit_image(c, im->width, im->height, W, H);
    float *planes = NULL, *resized = NULL;
    nn_status st = alloc_floats((size_t)im->width, (size_t)im->height, (size_t)np, &planes);
    if (st != NN_OK)
        return st;
    nni_image_to_planes(im, c->channels == 1, planes);
    if (is_identity(&f, im)) {
        resized = planes;
        planes = NULL;
    } else if ((st = alloc_floats((size_t)f.w, (size_t)f.h, (size_t)np, &resized)) == NN_OK) {
        st = nni_resize_planes(planes, im->width, im->height, np, f.box, resized, f.w, f.h, c->filter);
    }
    if (st == NN_OK)
        write_output(c, resized, np, &f, W, H, dst);
    nni_free(planes);
    nni_free(resized);
    return st;
}

nn_status nni_images_to_tensor(const nni_contract *c, const nn_image *const *images, uint32_t count, nn_tensor **out)
{
    *out = NULL;
    if (c->batch > 0 && c->batch != (int64_t)count)
        return nni_error(NN_E_SHAPE, "the model takes batches of %lld images, %u given", (long long)c->batch, count);
    int32_t W = c->width ? c->width : images[0]->width, H = c->height ? c->height : images[0]->height;
    int64_t dims[4] = {count, c->channels, H, W};
    /* an unbatched [C, H, W] input (torchvision's detectors) takes the one image as it is */
    int32_t rank = c->unbatched ? 3 : 4;
    nn_tensor shape = {0}, *t;
    /* the size may come from the model file: within its limits before allocating */
    nn_status st = nni_tensor_set_shape(&shape, NN_DTYPE_FLOAT32, rank, dims + 4 - rank);
    if (st == NN_OK)
        st = nni_check_tensor_limits(c->limits, &shape, "the input tensor");
    if (st == NN_OK)
        st = nni_tensor_new(NN_DTYPE_FLOAT32, rank, dims + 4 - rank, &t);
    if (st != NN_OK)
        return st;
    size_t per = (size_t)c->channels * (size_t)W * (size_t)H;
    for (uint32_t i = 0; i < count && st == NN_OK; i++)
        if ((st = preprocess_one(c, images[i], W, H, (float *)t->data + i * per)) != NN_OK)
            nni_error_prefix(st, "image #%u (%dx%d)", i, (int)images[i]->width, (int)images[i]->height);
    if (st != NN_OK) {
        nn_tensor_free(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

NN_API nn_status nn_image_to_tensor(const nn_model *model, const nn_image *const *images, uint32_t count,
                                    const nn_preprocess_options *options, nn_tensor **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_to_tensor: out is NULL");
    *out = NULL;
    if (!images || count == 0)
        return nni_error(NN_E_INVALID_ARG, "nn_image_to_tensor: no images given");
    for (uint32_t i = 0; i < count; i++)
        if (!images[i])
            return nni_error(NN_E_INVALID_ARG, "nn_image_to_tensor: image #%u is NULL", i);
    nni_contract c;
    nn_status st = nni_contract_resolve(model, options, &c);
    if (st == NN_OK)
        st = nni_images_to_tensor(&c, images, count, out);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_image_to_tensor");
    return NN_OK;
}
