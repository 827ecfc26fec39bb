/*
 * resize.c — Resize (opsets 10..19) and Upsample (7, 9): nearest, linear and
 * cubic resampling with every coordinate transformation mode. Nearest is an
 * index map (any dtype); linear and cubic are separable passes, last axis
 * first, as the ONNX reference composes them.
 */
#include <math.h>
#include <string.h>

#include "kernels/resample.h"
#include "kernels/strided.h"
#include "ops/movement.h"

enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC };
enum { CT_HALF_PIXEL, CT_ASYMMETRIC, CT_ALIGN_CORNERS, CT_PYTORCH_HALF_PIXEL, CT_TF_HALF_PIXEL_FOR_NN,
       CT_TF_CROP_AND_RESIZE, CT_HALF_PIXEL_SYMMETRIC };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_LEGACY };
enum { POLICY_STRETCH, POLICY_NOT_LARGER, POLICY_NOT_SMALLER };

typedef struct {
    int32_t mode, coord, nearest, policy;
    float cubic_a, extrapolation;
    bool exclude_outside, antialias;
    int32_t n_axes;                  /* -1: all axes */
    int64_t axes[NN_MAX_RANK];
    int32_t roi_in, scales_in, sizes_in; /* input slots, -1 when the opset has none */
    int32_t n_attr_scales;           /* Upsample-7 scales attribute */
    float attr_scales[NN_MAX_RANK];
} resize_state;

typedef struct {
    int32_t rank;
    int64_t out[NN_MAX_RANK];
    double scale[NN_MAX_RANK];
    double roi_start[NN_MAX_RANK], roi_end[NN_MAX_RANK];
} resize_geom;

static nn_status pick(const char *op, const char *attr, const char *v, const char *const *names, int32_t n, int32_t *out)
{
    for (int32_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *out = i;
            return NN_OK;
        }
    return nni_error(NN_E_INVALID_MODEL, "%s: unknown '%s' \"%s\"", op, attr, v);
}

static nn_status resize_prepare(nni_opctx *c)
{
    resize_state *s = c->state;
    const char *op = c->node->op_type;
    bool upsample = strcmp(op, "Upsample") == 0;
    bool legacy = upsample || c->opset < 11;
    const char *mode, *ct, *nm, *policy;
    int64_t excl, anti;
    nn_status st = nni_attr_string(c->node, "mode", "nearest", &mode);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "coordinate_transformation_mode", legacy ? "asymmetric" : "half_pixel", &ct);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "nearest_mode", "round_prefer_floor", &nm);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "keep_aspect_ratio_policy", "stretch", &policy);
    if (st == NN_OK)
        st = nni_attr_float(c->node, "cubic_coeff_a", -0.75f, &s->cubic_a);
    if (st == NN_OK)
        st = nni_attr_float(c->node, "extrapolation_value", 0.0f, &s->extrapolation);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "exclude_outside", 0, &excl);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "antialias", 0, &anti);
    if (st != NN_OK)
        return st;
    s->exclude_outside = excl != 0;
    s->antialias = anti != 0;
    static const char *const modes[] = {"nearest", "linear", "cubic", "bilinear"};
    if ((st = pick(op, "mode", mode, modes, legacy ? 2 : 3, &s->mode)) != NN_OK &&
        !(upsample && strcmp(mode, "bilinear") == 0))
        return st;
    if (strcmp(mode, "bilinear") == 0)
        s->mode = MODE_LINEAR;
    static const char *const cts[] = {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel",
                                      "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
    if ((st = pick(op, "coordinate_transformation_mode", ct, cts, 7, &s->coord)) != NN_OK)
        return st;
    static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    if ((st = pick(op, "nearest_mode", nm, nms, 4, &s->nearest)) != NN_OK)
        return st;
    static const char *const policies[] = {"stretch", "not_larger", "not_smaller"};
    if ((st = pick(op, "keep_aspect_ratio_policy", policy, policies, 3, &s->policy)) != NN_OK)
        return st;
    if (legacy) {
        s->coord = CT_ASYMMETRIC;
        s->nearest = NM_LEGACY;
    }
    const int64_t *axes;
    size_t n_axes;
    if ((st = nni_attr_ints(c->node, "axes", &axes, &n_axes)) != NN_OK)
        return st;
    if (n_axes > NN_MAX_RANK)
        return nni_error(NN_E_INVALID_MODEL, "%s: 'axes' has %zu values, too many", op, n_axes);
    s->n_axes = nni_node_attr(c->node, "axes") ? (int32_t)n_axes : -1;
    if (n_axes)
        memcpy(s->axes, axes, n_axes * sizeof *axes);
    s->roi_in = s->scales_in = s->sizes_in = -1;
    if (upsample && c->opset < 9) {
        const float *sc;
        size_t n;
        if ((st = nni_attr_floats(c->node, "scales", &sc, &n)) != NN_OK)
            return st;
        if (n == 0 || n > NN_MAX_RANK)
            return nni_error(NN_E_INVALID_MODEL, "Upsample: the 'scales' attribute is required (1..%d values)", NN_MAX_RANK);
        memcpy(s->attr_scales, sc, n * sizeof *sc);
        s->n_attr_scales = (int32_t)n;
    } else if (legacy) {
        s->scales_in = 1;
        if (c->n_in < 2)
            return nni_error(NN_E_INVALID_MODEL, "%s needs a scales input", op);
    } else {
        s->roi_in = 1;
        s->scales_in = 2;
        s->sizes_in = 3;
    }
    return NN_OK;
}

/* A present input with at least one element (opset 13 allows empty placeholders). */
static const nn_tensor *given(const nni_opctx *c, int32_t i)
{
    if (i < 0 || !nni_has_in(c, i) || nni_tensor_count(c->in[i]) == 0)
        return NULL;
    return c->in[i];
}

static nn_status read_floats(const nn_tensor *t, const char *what, double *out, int64_t cap, int64_t *n)
{
    if (t->dtype != NN_DTYPE_FLOAT32 && t->dtype != NN_DTYPE_FLOAT64)
        return nni_error(NN_E_TYPE, "%s must be float, got %s", what, nn_dtype_name(t->dtype));
    int64_t count = nni_tensor_count(t);
    if (t->rank != 1 || count > cap)
        return nni_error(NN_E_SHAPE, "%s must be 1-D with at most %lld values", what, (long long)cap);
    if (!t->data)
        return NNI_DEFER;
    for (int64_t i = 0; i < count; i++)
        out[i] = nni_tensor_get_f64(t, i);
    *n = count;
    return NN_OK;
}

static nn_status resize_geometry(const nni_opctx *c, resize_geom *g)
{
    const resize_state *s = c->state;
    const nn_tensor *x = c->in[0];
    const char *op = c->node->op_type;
    int32_t r = x->rank;
    int64_t axes[NN_MAX_RANK], na = s->n_axes < 0 ? r : s->n_axes;
    nn_status st;
    for (int32_t i = 0; i < na; i++) {
        int32_t a = i;
        if (s->n_axes >= 0 && (st = nni_norm_axis(s->axes[i], r, "Resize axis", &a)) != NN_OK)
            return st;
        for (int32_t k = 0; k < i; k++)
            if (axes[k] == a)
                return nni_error(NN_E_INVALID_MODEL, "%s: axis %d is repeated", op, (int)a);
        axes[i] = a;
    }
    g->rank = r;
    for (int32_t a = 0; a < r; a++) {
        g->out[a] = x->dims[a];
        g->scale[a] = 1.0;
        g->roi_start[a] = 0.0;
        g->roi_end[a] = 1.0;
    }
    const nn_tensor *scales = given(c, s->scales_in), *sizes = given(c, s->sizes_in);
    double v[2 * NN_MAX_RANK];
    int64_t n = 0;
    if (scales && sizes)
        return nni_error(NN_E_INVALID_MODEL, "%s: give scales or sizes, not both", op);
    if (s->n_attr_scales) {
        n = s->n_attr_scales;
        for (int64_t i = 0; i < n; i++)
            v[i] = s->attr_scales[i];
    } else if (scales) {
        if ((st = read_floats(scales, "Resize scales", v, NN_MAX_RANK, &n)) != NN_OK)
            return st;
    } else if (sizes) {
        int64_t sz[NN_MAX_RANK];
        if ((st = nni_read_ints(sizes, "Resize sizes", sz, NN_MAX_RANK, &n)) != NN_OK)
            return st;
        if (n != na)
            return nni_error(NN_E_SHAPE, "%s: %lld sizes for %lld axes", op, (long long)n, (long long)na);
        for (int64_t i = 0; i < n; i++) {
            if (sz[i] < 0)
                return nni_error(NN_E_SHAPE, "%s: size %lld is negative", op, (long long)sz[i]);
            if (x->dims[axes[i]] == 0 && sz[i] != 0)
                return nni_error(NN_E_SHAPE, "%s: cannot resize an empty axis to %lld", op, (long long)sz[i]);
            g->out[axes[i]] = sz[i];
            g->scale[axes[i]] = x->dims[axes[i]] ? (double)sz[i] / (double)x->dims[axes[i]] : 1.0;
        }
        if (s->policy != POLICY_STRETCH && n > 0) {
            double k = g->scale[axes[0]];
            for (int64_t i = 1; i < n; i++) {
                double si = g->scale[axes[i]];
                k = s->policy == POLICY_NOT_LARGER ? (si < k ? si : k) : (si > k ? si : k);
            }
            for (int64_t i = 0; i < n; i++) {
                g->scale[axes[i]] = k;
                g->out[axes[i]] = (int64_t)(k * (double)x->dims[axes[i]] + 0.5);
            }
        }
        n = -1; /* done */
    } else {
        return nni_error(NN_E_INVALID_MODEL, "%s needs scales or sizes", op);
    }
    if (n >= 0) {
        if (n != na)
            return nni_error(NN_E_SHAPE, "%s: %lld scales for %lld axes", op, (long long)n, (long long)na);
        for (int64_t i = 0; i < n; i++) {
            double o = floor(v[i] * (double)x->dims[axes[i]]);
            if (!(v[i] > 0) || !(o < 9e15))
                return nni_error(NN_E_SHAPE, "%s: scale %g is invalid", op, v[i]);
            g->scale[axes[i]] = v[i];
            g->out[axes[i]] = (int64_t)o;
        }
    }
    if (s->coord == CT_TF_CROP_AND_RESIZE) {
        const nn_tensor *roi = given(c, s->roi_in);
        if (!roi)
            return nni_error(NN_E_INVALID_MODEL, "%s: tf_crop_and_resize needs a roi input", op);
        if ((st = read_floats(roi, "Resize roi", v, 2 * NN_MAX_RANK, &n)) != NN_OK)
            return st;
        if (n != 2 * na)
            return nni_error(NN_E_SHAPE, "%s: roi has %lld values for %lld axes", op, (long long)n, (long long)na);
        for (int64_t i = 0; i < na; i++) {
            g->roi_start[axes[i]] = v[i];
            g->roi_end[axes[i]] = v[na + i];
        }
    }
    return NN_OK;
}

static nn_status resize_infer(nni_opctx *c)
{
    const resize_state *s = c->state;
    resize_geom g;
    nn_status st = resize_geometry(c, &g);
    if (st != NN_OK)
        return st;
    if (s->mode != MODE_NEAREST && c->in[0]->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "%s: %s interpolation of %s is not supported (float32 only)", c->node->op_type,
                         s->mode == MODE_LINEAR ? "linear" : "cubic", nn_dtype_name(c->in[0]->dtype));
    return nni_out_shape(c, 0, c->in[0]->dtype, g.rank, g.out);
}

/* Input coordinate of output position x on an axis; *outside for tf_crop_and_resize extrapolation. */
static double source_coord(const resize_state *s, const resize_geom *g, int32_t a, int64_t n_in, int64_t x,
                           bool *outside)
{
    double scale = g->scale[a], in = (double)n_in, out = scale * in, xd = (double)x, r;
    *outside = false;
    switch (s->coord) {
    case CT_ALIGN_CORNERS:
        return out == 1 ? 0.0 : xd * (in - 1) / (out - 1);
    case CT_ASYMMETRIC:
        return xd / scale;
    case CT_TF_HALF_PIXEL_FOR_NN:
        return (xd + 0.5) / scale;
    case CT_TF_CROP_AND_RESIZE:
        if (out == 1)
            r = (g->roi_end[a] - g->roi_start[a]) * (in - 1) / 2;
        else
            r = xd * (g->roi_end[a] - g->roi_start[a]) * (in - 1) / (out - 1);
        r += g->roi_start[a] * (in - 1);
        *outside = r < 0 || r > in - 1;
        return r;
    case CT_PYTORCH_HALF_PIXEL:
        return out == 1 ? -0.5 : (xd + 0.5) / scale - 0.5;
    case CT_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)g->out[a] / out, offset = in / 2 * (1 - adjustment);
        return offset + (xd + 0.5) / scale - 0.5;
    }
    default:
        return (xd + 0.5) / scale - 0.5;
    }
}

static int64_t clamp_index(double v, int64_t n)
{
    if (!(v > 0))
        return 0;
    if (v >= (double)(n - 1))
        return n - 1;
    return (int64_t)v;
}

static int64_t nearest_index(const resize_state *s, double xo, double scale, int64_t n)
{
    double f = floor(xo), v;
    if (s->nearest == NM_LEGACY) {
        v = scale < 1 ? ceil(xo) : trunc(xo);
    } else if (xo == f) {
        v = xo;
    } else {
        double ratio = xo - f;
        switch (s->nearest) {
        case NM_ROUND_PREFER_FLOOR: v = ratio <= 0.5 ? f : f + 1; break;
        case NM_ROUND_PREFER_CEIL: v = ratio < 0.5 ? f : f + 1; break;
        case NM_FLOOR: v = f; break;
        default: v = f + 1; break;
        }
    }
    return clamp_index(v, n);
}

static nn_status resize_nearest(nni_opctx *c, const resize_geom *g)
{
    const resize_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    int32_t r = x->rank;
    int64_t total = 0, strides[NN_MAX_RANK], *map[NN_MAX_RANK];
    for (int32_t a = 0; a < r; a++)
        total += y->dims[a];
    int64_t *maps = c->scratch(c, (size_t)(total ? total : 1) * sizeof *maps);
    if (!maps)
        return nni_error(NN_E_NOMEM, "%s: out of memory", c->node->op_type);
    nni_row_strides(r, x->dims, strides);
    int64_t at = 0;
    for (int32_t a = 0; a < r; at += y->dims[a], a++) {
        map[a] = maps + at;
        for (int64_t o = 0; o < y->dims[a]; o++) {
            bool outside;
            double xo = source_coord(s, g, a, x->dims[a], o, &outside);
            map[a][o] = outside ? -1 : nearest_index(s, xo, g->scale[a], x->dims[a]) * strides[a];
        }
    }
    _Alignas(16) uint8_t fill[16] = {0};
    nni_store_f64(fill, x->dtype, s->extrapolation);
    nni_map_copy(y->data, x->data, nn_dtype_size(x->dtype), r, y->dims, (const int64_t *const *)map, fill, c->pool);
    return NN_OK;
}

/* Keys cubic kernel with parameter A at distance d >= 0. */
static double cubic_kernel(double d, double A)
{
    if (d <= 1)
        return ((A + 2) * d - (A + 3)) * d * d + 1;
    if (d < 2)
        return ((A * d - 5 * A) * d + 8 * A) * d - 4 * A;
    return 0;
}

/* Tap count per output position of axis a. */
static int32_t tap_count(const resize_state *s, double scale)
{
    int32_t half = s->mode == MODE_CUBIC ? 2 : 1; /* kernel support radius */
    if (!s->antialias || scale >= 1)
        return 2 * half;
    /* the reference's footprint: 2 - 2 * (floor(-half / scale) + 1) */
    return (int32_t)(2 - 2 * (floor(-half / scale) + 1));
}

/* Taps of every output position of axis a into idx/w (n_out * taps each). */
static void axis_taps(const resize_state *s, const resize_geom *g, int32_t a, int64_t n_in, int64_t n_out, int32_t taps,
                      int64_t *idx, float *w)
{
    double scale = g->scale[a], k = s->antialias && scale < 1 ? scale : 1.0;
    for (int64_t o = 0; o < n_out; o++) {
        bool outside;
        double xo = source_coord(s, g, a, n_in, o, &outside);
        int64_t *ix = idx + o * taps;
        float *wt = w + o * taps;
        if (outside) {
            for (int32_t t = 0; t < taps; t++) {
                ix[t] = -1;
                wt[t] = 0;
            }
            continue;
        }
        /* As the reference: prefer the left pixel, so an integer coordinate has ratio 1. */
        double f = floor(xo), base = xo == f ? xo - 1 : f, ratio = xo - base;
        double wsum = 0, raw[64];
        double first = 1 - taps / 2;
        for (int32_t t = 0; t < taps; t++) {
            double pos = base + first + t, d = fabs((first + t - ratio) * k), v;
            if (s->mode == MODE_CUBIC)
                v = cubic_kernel(d, s->cubic_a);
            else
                v = d < 1 ? 1 - d : 0;
            if (s->exclude_outside && (pos < 0 || pos > (double)(n_in - 1)))
                v = 0;
            raw[t] = v;
            wsum += v;
            ix[t] = clamp_index(pos, n_in);
        }
        bool normalize = s->antialias || s->exclude_outside;
        for (int32_t t = 0; t < taps; t++)
            wt[t] = (float)(normalize && wsum != 0 ? raw[t] / wsum : raw[t]);
    }
}

/* True when every output position of axis a lands exactly on its own input
 * position (most axes kept at scale 1), so the pass can be skipped. */
static bool identity_axis(const resize_state *s, const resize_geom *g, int32_t a, int64_t n_in, int64_t n_out)
{
    if (n_in != n_out)
        return false;
    for (int64_t o = 0; o < n_out; o++) {
        bool outside;
        if (source_coord(s, g, a, n_in, o, &outside) != (double)o || outside)
            return false;
    }
    return true;
}

static nn_status resize_interp(nni_opctx *c, const resize_geom *g)
{
    const resize_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    int32_t r = x->rank;
    /* which axes change, their tap tables, and the largest intermediate */
    int32_t taps[NN_MAX_RANK];
    bool active[NN_MAX_RANK];
    int64_t cur[NN_MAX_RANK], table = 0, biggest = 0, passes = 0;
    memcpy(cur, x->dims, sizeof cur);
    for (int32_t a = r - 1; a >= 0; a--) {
        taps[a] = tap_count(s, g->scale[a]);
        if (taps[a] > 64)
            return nni_error(NN_E_UNSUPPORTED, "%s: antialiasing a %gx downscale is not supported", c->node->op_type,
                             g->scale[a]);
        active[a] = !identity_axis(s, g, a, x->dims[a], y->dims[a]);
        if (!active[a])
            continue;
        table += y->dims[a] * taps[a];
        cur[a] = y->dims[a];
        int64_t n = nni_dims_product(cur, 0, r);
        biggest = n > biggest ? n : biggest;
        passes++;
    }
    if (passes == 0) {
        memcpy(y->data, x->data, x->nbytes);
        return NN_OK;
    }
    size_t bytes = (size_t)table * (sizeof(int64_t) + sizeof(float)) + 2 * (size_t)biggest * sizeof(float) + 64;
    uint8_t *mem = c->scratch(c, bytes);
    if (!mem)
        return nni_error(NN_E_NOMEM, "%s: out of memory", c->node->op_type);
    int64_t *idx = (int64_t *)mem;
    float *w = (float *)(idx + table);
    float *buf[2] = {w + table, w + table + biggest};
    const float *src = x->data;
    memcpy(cur, x->dims, sizeof cur);
    int64_t done = 0;
    for (int32_t a = r - 1; a >= 0; a--) {
        if (!active[a])
            continue;
        axis_taps(s, g, a, x->dims[a], y->dims[a], taps[a], idx, w);
        float *dst = ++done == passes ? (float *)y->data : buf[done & 1];
        nni_resample_axis(src, dst, nni_dims_product(cur, 0, a), cur[a], y->dims[a], nni_dims_product(cur, a + 1, r),
                          taps[a], idx, w, s->extrapolation, c->pool);
        cur[a] = y->dims[a];
        src = dst;
    }
    return NN_OK;
}

static nn_status resize_run(nni_opctx *c)
{
    const resize_state *s = c->state;
    resize_geom g;
    nn_status st = resize_geometry(c, &g);
    if (st != NN_OK || c->out[0]->nbytes == 0)
        return st;
    return s->mode == MODE_NEAREST ? resize_nearest(c, &g) : resize_interp(c, &g);
}

const nni_op_desc nni_op_resize = {
    .name = "Resize", .min_in = 1, .max_in = 4, .min_out = 1, .max_out = 1,
    .state_size = sizeof(resize_state),
    .prepare = resize_prepare, .infer = resize_infer, .run = resize_run,
};

const nni_op_desc nni_op_upsample = {
    .name = "Upsample", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(resize_state),
    .prepare = resize_prepare, .infer = resize_infer, .run = resize_run,
};
