/*
 * contract.c — resolving the preprocessing contract: caller options first,
 * then the model's nn.input.* metadata, then its input shape, then the
 * defaults (RGB, stretch, mean 0, std 1).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/model.h"
#include "core/numlist.h"
#include "image/preprocess.h"

#define DEFAULT_PAD_VALUE (114.0f / 255.0f)

NN_API nn_status nn_preprocess_options_init(nn_preprocess_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options_init: options is NULL");
    if (version != NN_PREPROCESS_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options_init: version %u is not supported (this library knows %d)",
                         version, NN_PREPROCESS_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->filter = NN_FILTER_BILINEAR;
    o->pad_value = DEFAULT_PAD_VALUE;
    o->crop_fraction = 1.0f;
    return NN_OK;
}

static int32_t parse_color(const char *s)
{
    if (strcasecmp(s, "RGB") == 0)
        return NN_COLOR_RGB;
    if (strcasecmp(s, "BGR") == 0)
        return NN_COLOR_BGR;
    if (strcasecmp(s, "GRAY") == 0 || strcasecmp(s, "GREY") == 0 || strcasecmp(s, "L") == 0)
        return NN_COLOR_GRAY;
    return NN_COLOR_AUTO;
}

static int32_t parse_resize(const char *s)
{
    if (strcasecmp(s, "stretch") == 0)
        return NN_RESIZE_STRETCH;
    if (strcasecmp(s, "letterbox") == 0)
        return NN_RESIZE_LETTERBOX;
    if (strcasecmp(s, "center-crop") == 0 || strcasecmp(s, "centre-crop") == 0)
        return NN_RESIZE_CENTER_CROP;
    return NN_RESIZE_AUTO;
}

/* Spread 1 value over every channel, or check there is one per channel. */
static bool spread(float *v, int n, int channels)
{
    if (n == 1) {
        v[1] = v[2] = v[0];
        return true;
    }
    return n == channels;
}

static nn_status values_from(const nn_model *m, const char *key, int32_t n_opt, const float *opt, const char *field,
                             int channels, float def, float *out)
{
    float v[4] = {def, def, def, def};
    int n = 1;
    const char *meta = m ? nn_model_metadata(m, key) : NULL;
    if (n_opt > 0) {
        if (n_opt > 4)
            return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.n_%s is %d, at most 4", field, (int)n_opt);
        memcpy(v, opt, (size_t)n_opt * sizeof *v);
        if (!spread(v, (int)n_opt, channels))
            return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options: %d %s values given for %d channels", (int)n_opt,
                             field, channels);
    } else if (meta) {
        n = nni_parse_float_list(meta, v, 4);
        if (n < 0)
            return nni_error(NN_E_INVALID_MODEL, "metadata %s='%s' is not a comma-separated list of numbers", key, meta);
        if (!spread(v, n, channels))
            return nni_error(NN_E_INVALID_MODEL, "metadata %s='%s' has %d values for %d channels", key, meta, n, channels);
    }
    for (int c = 0; c < 3; c++)
        out[c] = v[c < channels ? c : 0];
    return NN_OK;
}

static nn_status check_options(const nn_preprocess_options *o)
{
    if (o->version < 1 || o->version > NN_PREPROCESS_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.version %u is not supported (expected 1..%d)",
                         o->version, NN_PREPROCESS_OPTIONS_VERSION);
    if (o->color < NN_COLOR_AUTO || o->color > NN_COLOR_GRAY)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.color %d is not an NN_COLOR_* value", (int)o->color);
    if (o->resize < NN_RESIZE_AUTO || o->resize > NN_RESIZE_CENTER_CROP)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.resize %d is not an NN_RESIZE_* value", (int)o->resize);
    if (o->filter != NN_FILTER_BILINEAR && o->filter != NN_FILTER_NEAREST)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.filter %d is not an NN_FILTER_* value", (int)o->filter);
    if (o->width < 0 || o->height < 0)
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options: size %dx%d is negative", (int)o->width, (int)o->height);
    if (!(o->crop_fraction > 0.0f && o->crop_fraction <= 1.0f))
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.crop_fraction %g is not in (0, 1]", (double)o->crop_fraction);
    if (!isfinite(o->pad_value))
        return nni_error(NN_E_INVALID_ARG, "nn_preprocess_options.pad_value is not finite");
    return NN_OK;
}

/* The model's first input: float32 [N, C, H, W], or [C, H, W] for one image
 * (N = 1, *unbatched set); -1 for symbolic dims. */
static nn_status input_shape(const nn_model *m, int64_t dims[4], bool *unbatched)
{
    if (m->graph.n_inputs < 1)
        return nni_error(NN_E_SHAPE, "the model has no input to feed an image to");
    const nni_value *v = &m->graph.values[m->graph.inputs[0]];
    if (v->info.dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_TYPE, "input '%s' is %s; images become float32 tensors", v->name,
                         nn_dtype_name(v->info.dtype));
    if (v->info.rank != 4 && v->info.rank != 3)
        return nni_error(NN_E_SHAPE, "input '%s' has rank %d; images become [N,C,H,W] (or [C,H,W]) tensors", v->name,
                         (int)v->info.rank);
    *unbatched = v->info.rank == 3;
    dims[0] = 1;
    for (int i = 0; i < v->info.rank; i++)
        dims[i + 4 - v->info.rank] = v->info.dims[i] > 0 ? v->info.dims[i] : -1;
    return NN_OK;
}

static nn_status resolve_color(const nn_model *m, int32_t opt, int64_t model_c, nni_contract *c)
{
    const char *meta = m ? nn_model_metadata(m, NNI_META_COLOR) : NULL;
    c->color = opt;
    if (c->color == NN_COLOR_AUTO && meta && (c->color = parse_color(meta)) == NN_COLOR_AUTO)
        return nni_error(NN_E_INVALID_MODEL, "metadata %s='%s' is not RGB, BGR or GRAY", NNI_META_COLOR, meta);
    if (c->color == NN_COLOR_AUTO)
        c->color = model_c == 1 ? NN_COLOR_GRAY : NN_COLOR_RGB;
    c->channels = c->color == NN_COLOR_GRAY ? 1 : 3;
    if (model_c > 0 && model_c != c->channels)
        return nni_error(NN_E_SHAPE, "the model's input has %lld channels but colour %s needs %d", (long long)model_c,
                         c->color == NN_COLOR_GRAY ? "GRAY" : c->color == NN_COLOR_BGR ? "BGR" : "RGB", (int)c->channels);
    return NN_OK;
}

static nn_status resolve_resize(const nn_model *m, int32_t opt, nni_contract *c)
{
    const char *meta = m ? nn_model_metadata(m, NNI_META_RESIZE) : NULL;
    c->resize = opt;
    if (c->resize == NN_RESIZE_AUTO && meta && (c->resize = parse_resize(meta)) == NN_RESIZE_AUTO)
        return nni_error(NN_E_INVALID_MODEL, "metadata %s='%s' is not stretch, letterbox or center-crop",
                         NNI_META_RESIZE, meta);
    if (c->resize == NN_RESIZE_AUTO)
        c->resize = NN_RESIZE_STRETCH;
    return NN_OK;
}

/* A fixed model dimension wins; an option may only fill a symbolic one. */
static nn_status resolve_dim(int64_t model_dim, int32_t opt, const char *what, int32_t *out)
{
    if (model_dim > INT32_MAX)
        return nni_error(NN_E_LIMIT, "the model's input %s %lld is too large", what, (long long)model_dim);
    if (model_dim > 0 && opt > 0 && opt != model_dim)
        return nni_error(NN_E_SHAPE, "nn_preprocess_options.%s %d differs from the model's fixed %lld", what, (int)opt,
                         (long long)model_dim);
    *out = model_dim > 0 ? (int32_t)model_dim : opt;
    return NN_OK;
}

nn_status nni_contract_resolve(const nn_model *m, const nn_preprocess_options *options, nni_contract *c)
{
    nn_preprocess_options o;
    nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION);
    nn_status st = options ? check_options(options) : NN_OK;
    if (st != NN_OK)
        return st;
    if (options)
        memcpy(&o, options, sizeof o); /* version 1 is the whole struct */
    int64_t dims[4] = {-1, -1, -1, -1};
    memset(c, 0, sizeof *c);
    if ((m && (st = input_shape(m, dims, &c->unbatched)) != NN_OK) || (st = resolve_color(m, o.color, dims[1], c)) != NN_OK ||
        (st = resolve_resize(m, o.resize, c)) != NN_OK ||
        (st = values_from(m, NNI_META_MEAN, o.n_mean, o.mean, "mean", c->channels, 0.0f, c->mean)) != NN_OK ||
        (st = values_from(m, NNI_META_STD, o.n_std, o.std, "std", c->channels, 1.0f, c->std)) != NN_OK ||
        (st = resolve_dim(dims[2], o.height, "height", &c->height)) != NN_OK ||
        (st = resolve_dim(dims[3], o.width, "width", &c->width)) != NN_OK)
        return st;
    for (int i = 0; i < c->channels; i++)
        if (c->std[i] == 0.0f)
            return nni_error(o.n_std > 0 ? NN_E_INVALID_ARG : NN_E_INVALID_MODEL, "std of channel %d is 0", i);
    c->batch = dims[0];
    c->limits = m ? &m->graph.limits : NULL;
    c->filter = o.filter;
    c->pad_value = o.pad_value;
    c->crop_fraction = o.crop_fraction;
    return NN_OK;
}
