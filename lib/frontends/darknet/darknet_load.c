/*
 * darknet_load.c — darknet .cfg + .weights -> IR graph of standard ONNX ops.
 *
 * Two passes: the first reads every section, validates its options and
 * computes shapes and the number of weights it takes from the file (so a
 * hostile cfg is refused before anything big is allocated, and the weights
 * file's size is checked against the exact total); the second emits nodes and
 * reads the weights into constants. Detection heads ([yolo], [region]) are not
 * computed in the graph: the raw tensors that feed them are the graph's
 * outputs, and their anchors/masks/classes become nn.detect.* metadata that
 * lib/detect decodes (see docs/metadata.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"
#include "frontends/darknet/darknet_import.h"
#include "frontends/darknet/dn_cfg.h"
#include "frontends/darknet/dn_emit.h"

/* Bounds on cfg values: far beyond real networks, small enough that every
 * product below fits in int64 before the byte limits are checked. */
#define DN_MAX_DIM 65536       /* width, height, channels, filters, outputs */
#define DN_MAX_KERNEL 1024     /* size, stride, padding */
#define DN_MAX_LIST 4096       /* route inputs, anchors, masks */
#define DN_MAX_LABELS_BYTES (16u << 20)

typedef enum dn_kind {
    DN_CONV, DN_CONNECTED, DN_MAXPOOL, DN_AVGPOOL, DN_ROUTE, DN_SHORTCUT, DN_UPSAMPLE, DN_REORG,
    DN_YOLO, DN_REGION, DN_SOFTMAX, DN_DROPOUT, DN_COST, DN_BATCHNORM, DN_ACTIVATION,
} dn_kind;

static const struct {
    const char *name;
    dn_kind kind;
} section_kinds[] = {
    {"convolutional", DN_CONV}, {"conv", DN_CONV},         {"connected", DN_CONNECTED}, {"conn", DN_CONNECTED},
    {"maxpool", DN_MAXPOOL},    {"max", DN_MAXPOOL},       {"avgpool", DN_AVGPOOL},     {"avg", DN_AVGPOOL},
    {"route", DN_ROUTE},        {"shortcut", DN_SHORTCUT}, {"upsample", DN_UPSAMPLE},   {"reorg", DN_REORG},
    {"yolo", DN_YOLO},          {"region", DN_REGION},     {"softmax", DN_SOFTMAX},     {"soft", DN_SOFTMAX},
    {"dropout", DN_DROPOUT},    {"cost", DN_COST},         {"batchnorm", DN_BATCHNORM}, {"activation", DN_ACTIVATION},
};

typedef enum dn_act {
    ACT_LINEAR, ACT_LEAKY, ACT_LOGISTIC, ACT_RELU, ACT_TANH, ACT_ELU, ACT_SELU, ACT_RELIE, ACT_HARDTAN, ACT_MISH,
    ACT_SWISH,
} dn_act;

static const struct {
    const char *name;
    dn_act act;
} act_names[] = {
    {"linear", ACT_LINEAR}, {"leaky", ACT_LEAKY}, {"logistic", ACT_LOGISTIC}, {"relu", ACT_RELU},
    {"tanh", ACT_TANH},     {"elu", ACT_ELU},     {"selu", ACT_SELU},         {"relie", ACT_RELIE},
    {"hardtan", ACT_HARDTAN}, {"mish", ACT_MISH}, {"swish", ACT_SWISH},
};

typedef struct dn_layer {
    dn_kind kind;
    const nni_dn_section *sec;
    int64_t c, h, w;         /* input */
    int64_t oc, oh, ow;      /* output */
    int64_t n, size, stride, pad, groups; /* conv: filters; maxpool: pad = total padding */
    bool bn, flipped;
    dn_act act;
    int64_t *refs;           /* route inputs / shortcut source (absolute indices) */
    int32_t n_refs;
    int64_t group_id;        /* route groups */
    float alpha, beta;       /* shortcut weights; upsample scale; softmax temperature (alpha) */
    bool reverse;            /* reorg */
    float *anchors;          /* heads */
    int32_t n_anchors;       /* values (2 per anchor) */
    int64_t *mask;
    int32_t n_mask;
    int64_t classes;
    int64_t n_weights;       /* floats read from the weights file */
    bool activated;          /* output is a head's activated tensor: not computed in the graph */
    int32_t value;           /* graph value of the output (build pass) */
} dn_layer;

typedef struct dn_ctx {
    const nn_load_options *opts;
    nni_dn_cfg cfg;
    dn_layer *layers;
    int32_t n_layers;
    int64_t net_c, net_h, net_w;
    nni_graph *g;
    /* weights */
    FILE *wf;
    const char *wpath;
    bool transpose;          /* header says connected weights are stored transposed */
    uint64_t header_bytes;
    int64_t total_weights;
} dn_ctx;

/* "layer 5 [maxpool] (line 40): " prefix for messages about a layer. */
static nn_status layer_error(const dn_ctx *x, int32_t i, nn_status st)
{
    const dn_layer *l = &x->layers[i];
    return nni_error_prefix(st, "layer %d [%s] (line %d)", (int)i, l->sec->type, (int)l->sec->line);
}

static nn_status parse_act(const nni_dn_section *s, const char *def, dn_act *out)
{
    const char *name = nni_dn_str(s, "activation", def);
    for (size_t i = 0; i < sizeof act_names / sizeof act_names[0]; i++)
        if (strcmp(name, act_names[i].name) == 0) {
            *out = act_names[i].act;
            return NN_OK;
        }
    const nni_dn_option *o = nni_dn_find(s, "activation");
    return nni_error(NN_E_UNSUPPORTED, "line %d: activation '%.40s' is not supported", o ? (int)o->line : (int)s->line,
                     name);
}

/* Options that change what a layer computes and that nn does not implement:
 * refusing them beats silently computing something else. */
static nn_status refuse_options(const nni_dn_section *s, const char *const *keys)
{
    for (int i = 0; keys[i]; i++) {
        const nni_dn_option *o = nni_dn_find(s, keys[i]);
        if (!o)
            continue;
        char *end;
        double v = strtod(o->val, &end);
        if (end != o->val && *end == '\0' && v == 0)
            continue; /* explicitly off */
        return nni_error(NN_E_UNSUPPORTED, "line %d: option %s=%.40s of [%s] is not supported", (int)o->line, keys[i],
                         o->val, s->type);
    }
    return NN_OK;
}

static bool mul_ok(int64_t a, int64_t b, int64_t *out) { return !nni_mul_overflow_i64(a, b, out); }

/* Output volume of a layer must stay within the tensor byte limit. */
static nn_status check_volume(const dn_ctx *x, int64_t c, int64_t h, int64_t w)
{
    int64_t v;
    if (c < 1 || h < 1 || w < 1)
        return nni_error(NN_E_INVALID_MODEL, "the output would be %lldx%lldx%lld (empty)", (long long)c, (long long)h,
                         (long long)w);
    if (!mul_ok(c, h, &v) || !mul_ok(v, w, &v) || !mul_ok(v, 4, &v) || (uint64_t)v > x->opts->max_tensor_bytes)
        return nni_error(NN_E_LIMIT, "the output %lldx%lldx%lld is over the tensor limit of %llu bytes", (long long)c,
                         (long long)h, (long long)w, (unsigned long long)x->opts->max_tensor_bytes);
    return NN_OK;
}

/* ---- pass 1: shapes, validation, weight counts ---- */

static nn_status plan_conv(dn_ctx *x, dn_layer *l)
{
    const nni_dn_section *s = l->sec;
    static const char *const refused[] = {"binary", "xnor", "dontload", "dontloadscales", "numload", "share_index",
                                          "antialiasing", "deform", NULL};
    nn_status st = refuse_options(s, refused);
    int64_t dilation;
    bool pad;
    if (st == NN_OK)
        st = nni_dn_int(s, "filters", 1, 1, DN_MAX_DIM, &l->n);
    if (st == NN_OK)
        st = nni_dn_int(s, "size", 1, 1, DN_MAX_KERNEL, &l->size);
    if (st == NN_OK)
        st = nni_dn_int(s, "stride", 1, 1, DN_MAX_KERNEL, &l->stride);
    if (st == NN_OK)
        st = nni_dn_bool(s, "pad", false, &pad);
    if (st == NN_OK)
        st = nni_dn_int(s, "padding", 0, 0, DN_MAX_KERNEL, &l->pad);
    if (st == NN_OK)
        st = nni_dn_int(s, "groups", 1, 1, DN_MAX_DIM, &l->groups);
    if (st == NN_OK)
        st = nni_dn_int(s, "dilation", 1, 1, 1, &dilation);
    if (st == NN_OK)
        st = nni_dn_bool(s, "batch_normalize", false, &l->bn);
    if (st == NN_OK)
        st = nni_dn_bool(s, "flipped", false, &l->flipped);
    if (st == NN_OK)
        st = parse_act(s, "logistic", &l->act);
    if (st != NN_OK)
        return st;
    if (pad)
        l->pad = l->size / 2;
    if (l->c % l->groups || l->n % l->groups)
        return nni_error(NN_E_INVALID_MODEL, "groups=%lld must divide the %lld input channels and filters=%lld",
                         (long long)l->groups, (long long)l->c, (long long)l->n);
    int64_t span = l->h + 2 * l->pad - l->size, wspan = l->w + 2 * l->pad - l->size;
    if (span < 0 || wspan < 0)
        return nni_error(NN_E_INVALID_MODEL, "size=%lld is larger than the padded %lldx%lld input", (long long)l->size,
                         (long long)l->h, (long long)l->w);
    l->oc = l->n;
    l->oh = span / l->stride + 1;
    l->ow = wspan / l->stride + 1;
    int64_t wcount;
    if (!mul_ok(l->c / l->groups, l->n, &wcount) || !mul_ok(wcount, l->size * l->size, &wcount) ||
        (uint64_t)wcount > x->opts->max_tensor_bytes / 4)
        return nni_error(NN_E_LIMIT, "its weights are over the tensor limit of %llu bytes",
                         (unsigned long long)x->opts->max_tensor_bytes);
    l->n_weights = wcount + l->n * (l->bn ? 4 : 1);
    return NN_OK;
}

static nn_status plan_connected(dn_ctx *x, dn_layer *l)
{
    const nni_dn_section *s = l->sec;
    nn_status st = nni_dn_int(s, "output", 1, 1, DN_MAX_DIM, &l->n);
    if (st == NN_OK)
        st = nni_dn_bool(s, "batch_normalize", false, &l->bn);
    if (st == NN_OK)
        st = parse_act(s, "logistic", &l->act);
    if (st != NN_OK)
        return st;
    int64_t inputs, wcount;
    if (!mul_ok(l->c, l->h, &inputs) || !mul_ok(inputs, l->w, &inputs) || !mul_ok(inputs, l->n, &wcount) ||
        (uint64_t)wcount > x->opts->max_tensor_bytes / 4)
        return nni_error(NN_E_LIMIT, "its weights are over the tensor limit of %llu bytes",
                         (unsigned long long)x->opts->max_tensor_bytes);
    l->oc = l->n;
    l->oh = l->ow = 1;
    l->n_weights = wcount + l->n * (l->bn ? 4 : 1);
    return NN_OK;
}

static nn_status plan_maxpool(dn_ctx *x, dn_layer *l)
{
    (void)x;
    const nni_dn_section *s = l->sec;
    static const char *const refused[] = {"maxpool_depth", "stride_x", "stride_y", "antialiasing", NULL};
    nn_status st = refuse_options(s, refused);
    if (st == NN_OK)
        st = nni_dn_int(s, "stride", 1, 1, DN_MAX_KERNEL, &l->stride);
    if (st == NN_OK)
        st = nni_dn_int(s, "size", l->stride, 1, DN_MAX_KERNEL, &l->size);
    if (st == NN_OK)
        st = nni_dn_int(s, "padding", l->size - 1, 0, DN_MAX_KERNEL, &l->pad);
    if (st != NN_OK)
        return st;
    /* darknet: window origin -padding/2, output (h + padding - size)/stride + 1;
     * as ONNX pads that is padding/2 before and the rest after */
    int64_t before = l->pad / 2, after = l->pad - before;
    if (before >= l->size || after >= l->size)
        return nni_error(NN_E_UNSUPPORTED, "padding=%lld is not smaller than twice size=%lld", (long long)l->pad,
                         (long long)l->size);
    if (l->h + l->pad < l->size || l->w + l->pad < l->size)
        return nni_error(NN_E_INVALID_MODEL, "size=%lld is larger than the padded %lldx%lld input", (long long)l->size,
                         (long long)l->h, (long long)l->w);
    l->oc = l->c;
    l->oh = (l->h + l->pad - l->size) / l->stride + 1;
    l->ow = (l->w + l->pad - l->size) / l->stride + 1;
    return NN_OK;
}

/* Resolve a darknet layer reference: negative = relative to layer i. */
static nn_status layer_ref(const dn_ctx *x, int32_t i, int64_t ref, const char *what, int64_t *out)
{
    int64_t abs_i = ref < 0 ? i + ref : ref;
    if (abs_i < 0 || abs_i >= i)
        return nni_error(NN_E_INVALID_MODEL, "%s %lld does not name an earlier layer (this is layer %d)", what,
                         (long long)ref, (int)i);
    if (x->layers[abs_i].activated)
        return nni_error(NN_E_UNSUPPORTED, "%s %lld is the activated output of [%s] layer %lld, which nn does not compute",
                         what, (long long)ref, x->layers[abs_i].sec->type, (long long)abs_i);
    *out = abs_i;
    return NN_OK;
}

static nn_status plan_route(dn_ctx *x, int32_t i, dn_layer *l)
{
    const nni_dn_section *s = l->sec;
    if (!nni_dn_find(s, "layers"))
        return nni_error(NN_E_INVALID_MODEL, "a [route] needs layers=");
    nn_status st = nni_dn_ints(s, "layers", DN_MAX_LIST, &l->refs, &l->n_refs);
    if (st == NN_OK)
        st = nni_dn_int(s, "groups", 1, 1, DN_MAX_DIM, &l->groups);
    if (st == NN_OK)
        st = nni_dn_int(s, "group_id", 0, 0, l->groups - 1, &l->group_id);
    if (st != NN_OK)
        return st;
    if (l->n_refs == 0)
        return nni_error(NN_E_INVALID_MODEL, "a [route] needs layers=");
    l->oc = 0;
    for (int32_t k = 0; k < l->n_refs; k++) {
        if ((st = layer_ref(x, i, l->refs[k], "layers", &l->refs[k])) != NN_OK)
            return st;
        const dn_layer *r = &x->layers[l->refs[k]];
        if (k == 0) {
            l->oh = r->oh;
            l->ow = r->ow;
        } else if (r->oh != l->oh || r->ow != l->ow) {
            return nni_error(NN_E_INVALID_MODEL, "layer %lld is %lldx%lld, layer %lld is %lldx%lld: cannot concatenate",
                             (long long)l->refs[0], (long long)l->oh, (long long)l->ow, (long long)l->refs[k],
                             (long long)r->oh, (long long)r->ow);
        }
        if (r->oc % l->groups)
            return nni_error(NN_E_INVALID_MODEL, "groups=%lld does not divide the %lld channels of layer %lld",
                             (long long)l->groups, (long long)r->oc, (long long)l->refs[k]);
        l->oc += r->oc / l->groups;
    }
    return NN_OK;
}

static nn_status plan_shortcut(dn_ctx *x, int32_t i, dn_layer *l)
{
    const nni_dn_section *s = l->sec;
    if (!nni_dn_find(s, "from"))
        return nni_error(NN_E_INVALID_MODEL, "a [shortcut] needs from=");
    int64_t *from = NULL;
    int32_t n_from = 0;
    nn_status st = nni_dn_ints(s, "from", DN_MAX_LIST, &from, &n_from);
    if (st != NN_OK)
        return st;
    l->refs = from;
    l->n_refs = n_from;
    if (n_from != 1)
        return nni_error(NN_E_UNSUPPORTED, "a [shortcut] from %d layers is not supported (only one)", (int)n_from);
    if ((st = layer_ref(x, i, from[0], "from", &l->refs[0])) != NN_OK)
        return st;
    if ((st = nni_dn_float(s, "alpha", 1.0f, &l->alpha)) != NN_OK || (st = nni_dn_float(s, "beta", 1.0f, &l->beta)) != NN_OK ||
        (st = parse_act(s, "linear", &l->act)) != NN_OK)
        return st;
    static const char *const refused[] = {"weights_type", "weights_normalization", NULL};
    if ((st = refuse_options(s, refused)) != NN_OK)
        return st;
    const dn_layer *r = &x->layers[l->refs[0]];
    if (r->oc != l->c || r->oh != l->h || r->ow != l->w)
        return nni_error(NN_E_UNSUPPORTED,
                         "adding layer %lld (%lldx%lldx%lld) to a %lldx%lldx%lld input of another shape is not supported",
                         (long long)l->refs[0], (long long)r->oc, (long long)r->oh, (long long)r->ow, (long long)l->c,
                         (long long)l->h, (long long)l->w);
    l->oc = l->c;
    l->oh = l->h;
    l->ow = l->w;
    return NN_OK;
}

static nn_status plan_upsample(dn_ctx *x, dn_layer *l)
{
    (void)x;
    nn_status st = nni_dn_int(l->sec, "stride", 2, INT32_MIN, DN_MAX_KERNEL, &l->stride);
    if (st == NN_OK)
        st = nni_dn_float(l->sec, "scale", 1.0f, &l->alpha);
    if (st != NN_OK)
        return st;
    if (l->stride < 1)
        return nni_error(NN_E_UNSUPPORTED, "stride=%lld (downsampling) is not supported", (long long)l->stride);
    l->oc = l->c;
    if (!mul_ok(l->h, l->stride, &l->oh) || !mul_ok(l->w, l->stride, &l->ow))
        return nni_error(NN_E_LIMIT, "the output is too large");
    return NN_OK;
}

static nn_status plan_reorg(dn_ctx *x, dn_layer *l)
{
    (void)x;
    static const char *const refused[] = {"flatten", "extra", NULL};
    nn_status st = refuse_options(l->sec, refused);
    if (st == NN_OK)
        st = nni_dn_int(l->sec, "stride", 1, 1, DN_MAX_KERNEL, &l->stride);
    if (st == NN_OK)
        st = nni_dn_bool(l->sec, "reverse", false, &l->reverse);
    if (st != NN_OK)
        return st;
    int64_t s = l->stride, s2 = s * s;
    /* darknet reads the input as [c/s², h*s, w*s] (forward) whatever the
     * exact divisibility; nn supports the consistent case only */
    if (l->reverse) {
        if (l->c % s2)
            return nni_error(NN_E_UNSUPPORTED, "reverse reorg of %lld channels by stride %lld", (long long)l->c,
                             (long long)s);
        l->oc = l->c / s2;
        if (!mul_ok(l->h, s, &l->oh) || !mul_ok(l->w, s, &l->ow))
            return nni_error(NN_E_LIMIT, "the output is too large");
    } else {
        if (l->c % s2 || l->h % s || l->w % s)
            return nni_error(NN_E_UNSUPPORTED, "reorg of %lldx%lldx%lld by stride %lld (channels must divide by stride², "
                             "height and width by stride)", (long long)l->c, (long long)l->h, (long long)l->w,
                             (long long)s);
        l->oc = l->c * s2;
        l->oh = l->h / s;
        l->ow = l->w / s;
    }
    return NN_OK;
}

static nn_status plan_head(dn_ctx *x, dn_layer *l)
{
    (void)x;
    const nni_dn_section *s = l->sec;
    int64_t num, coords = 4;
    nn_status st = nni_dn_int(s, "classes", 20, 1, DN_MAX_DIM, &l->classes);
    if (st == NN_OK)
        st = nni_dn_int(s, "num", 1, 1, DN_MAX_LIST, &num);
    if (st == NN_OK)
        st = nni_dn_floats(s, "anchors", DN_MAX_LIST, &l->anchors, &l->n_anchors);
    if (st != NN_OK)
        return st;
    if (l->kind == DN_YOLO) {
        static const char *const refused[] = {"new_coords", NULL};
        if ((st = refuse_options(s, refused)) != NN_OK)
            return st;
        float sxy;
        if ((st = nni_dn_float(s, "scale_x_y", 1.0f, &sxy)) != NN_OK)
            return st;
        if (sxy != 1.0f)
            return nni_error(NN_E_UNSUPPORTED, "scale_x_y=%g is not supported", (double)sxy);
        if ((st = nni_dn_ints(s, "mask", DN_MAX_LIST, &l->mask, &l->n_mask)) != NN_OK)
            return st;
        if (!l->mask) {
            /* no mask: every anchor, in order */
            if (!(l->mask = nni_malloc((size_t)num * sizeof *l->mask)))
                return nni_error(NN_E_NOMEM, "cannot allocate a mask");
            for (int64_t k = 0; k < num; k++)
                l->mask[k] = k;
            l->n_mask = (int32_t)num;
        }
        for (int32_t k = 0; k < l->n_mask; k++)
            if (l->mask[k] < 0 || l->mask[k] >= num)
                return nni_error(NN_E_INVALID_MODEL, "mask value %lld is not an anchor index below num=%lld",
                                 (long long)l->mask[k], (long long)num);
    } else {
        static const char *const refused[] = {"tree", "map", "background", NULL};
        if ((st = refuse_options(s, refused)) != NN_OK)
            return st;
        bool softmax;
        if ((st = nni_dn_int(s, "coords", 4, 4, 4, &coords)) != NN_OK ||
            (st = nni_dn_bool(s, "softmax", false, &softmax)) != NN_OK)
            return st;
        if (!softmax)
            return nni_error(NN_E_UNSUPPORTED, "a [region] without softmax=1 is not supported");
        l->n_mask = (int32_t)num; /* every anchor */
    }
    if (l->n_anchors != 2 * num)
        return nni_error(NN_E_INVALID_MODEL, "anchors= has %d values, num=%lld needs %lld", (int)l->n_anchors,
                         (long long)num, (long long)(2 * num));
    for (int32_t k = 0; k < l->n_anchors; k++)
        if (!(l->anchors[k] > 0))
            return nni_error(NN_E_INVALID_MODEL, "anchor value %g is not positive", (double)l->anchors[k]);
    l->n = num;
    int64_t want = (int64_t)l->n_mask * (l->classes + coords + 1);
    if (l->c != want)
        return nni_error(NN_E_INVALID_MODEL, "its input has %lld channels; %d anchors x (%lld classes + 5) needs %lld",
                         (long long)l->c, (int)l->n_mask, (long long)l->classes, (long long)want);
    l->oc = l->c;
    l->oh = l->h;
    l->ow = l->w;
    l->activated = true;
    return NN_OK;
}

static nn_status plan_layer(dn_ctx *x, int32_t i)
{
    dn_layer *l = &x->layers[i];
    const nni_dn_section *s = l->sec;
    bool found = false;
    for (size_t k = 0; k < sizeof section_kinds / sizeof section_kinds[0]; k++)
        if (strcmp(s->type, section_kinds[k].name) == 0) {
            l->kind = section_kinds[k].kind;
            found = true;
        }
    if (!found) {
        if (strcmp(s->type, "net") == 0 || strcmp(s->type, "network") == 0)
            return nni_error(NN_E_INVALID_MODEL, "line %d: a second [%s] section", (int)s->line, s->type);
        return nni_error(NN_E_UNSUPPORTED, "line %d: section [%.40s] is not supported", (int)s->line, s->type);
    }
    if (i == 0) {
        l->c = x->net_c;
        l->h = x->net_h;
        l->w = x->net_w;
    } else {
        const dn_layer *p = &x->layers[i - 1];
        l->c = p->oc;
        l->h = p->oh;
        l->w = p->ow;
    }
    /* layers that read the previous layer's output need it computed */
    bool reads_prev = l->kind != DN_ROUTE;
    if (reads_prev && i > 0 && x->layers[i - 1].activated && l->kind != DN_DROPOUT && l->kind != DN_COST)
        return layer_error(x, i, nni_error(NN_E_UNSUPPORTED, "it reads the activated output of the [%s] layer before it, "
                                           "which nn does not compute", x->layers[i - 1].sec->type));
    nn_status st = NN_OK;
    switch (l->kind) {
    case DN_CONV: st = plan_conv(x, l); break;
    case DN_CONNECTED: st = plan_connected(x, l); break;
    case DN_MAXPOOL: st = plan_maxpool(x, l); break;
    case DN_AVGPOOL:
        l->oc = l->c;
        l->oh = l->ow = 1;
        break;
    case DN_ROUTE: st = plan_route(x, i, l); break;
    case DN_SHORTCUT: st = plan_shortcut(x, i, l); break;
    case DN_UPSAMPLE: st = plan_upsample(x, l); break;
    case DN_REORG: st = plan_reorg(x, l); break;
    case DN_YOLO:
    case DN_REGION: st = plan_head(x, l); break;
    case DN_SOFTMAX: {
        static const char *const refused[] = {"tree", "spatial", NULL};
        st = refuse_options(s, refused);
        if (st == NN_OK)
            st = nni_dn_int(s, "groups", 1, 1, DN_MAX_DIM, &l->groups);
        if (st == NN_OK)
            st = nni_dn_float(s, "temperature", 1.0f, &l->alpha);
        if (st == NN_OK && !(l->alpha > 0))
            st = nni_error(NN_E_INVALID_MODEL, "temperature=%g must be positive", (double)l->alpha);
        int64_t inputs = l->c * l->h * l->w; /* bounded by check_volume of the previous layer */
        if (st == NN_OK && inputs % l->groups)
            st = nni_error(NN_E_INVALID_MODEL, "groups=%lld does not divide the %lld inputs", (long long)l->groups,
                           (long long)inputs);
        l->oc = l->c;
        l->oh = l->h;
        l->ow = l->w;
        break;
    }
    case DN_DROPOUT:
    case DN_COST:
        /* identity at inference (darknet's [cost] output is never read) */
        l->oc = l->c;
        l->oh = l->h;
        l->ow = l->w;
        l->activated = i > 0 && x->layers[i - 1].activated;
        break;
    case DN_BATCHNORM:
        l->oc = l->c;
        l->oh = l->h;
        l->ow = l->w;
        l->n_weights = 3 * l->c;
        break;
    case DN_ACTIVATION:
        st = parse_act(s, "linear", &l->act);
        l->oc = l->c;
        l->oh = l->h;
        l->ow = l->w;
        break;
    }
    if (st == NN_OK)
        st = check_volume(x, l->oc, l->oh, l->ow);
    if (st != NN_OK)
        return layer_error(x, i, st);
    return NN_OK;
}

static nn_status plan_net(dn_ctx *x)
{
    const nni_dn_section *net = &x->cfg.secs[0];
    if (strcmp(net->type, "net") != 0 && strcmp(net->type, "network") != 0)
        return nni_error(NN_E_INVALID_MODEL, "line %d: the first section is [%s]; a darknet cfg starts with [net]",
                         (int)net->line, net->type);
    nn_status st = nni_dn_int(net, "width", 0, 0, DN_MAX_DIM, &x->net_w);
    if (st == NN_OK)
        st = nni_dn_int(net, "height", 0, 0, DN_MAX_DIM, &x->net_h);
    if (st == NN_OK)
        st = nni_dn_int(net, "channels", 0, 0, DN_MAX_DIM, &x->net_c);
    if (st != NN_OK)
        return st;
    if (x->net_w == 0 || x->net_h == 0 || x->net_c == 0) {
        if (nni_dn_find(net, "inputs"))
            return nni_error(NN_E_UNSUPPORTED, "line %d: networks without an image input (inputs=) are not supported",
                             (int)net->line);
        return nni_error(NN_E_INVALID_MODEL, "line %d: [net] needs width, height and channels", (int)net->line);
    }
    return check_volume(x, x->net_c, x->net_h, x->net_w);
}

/* ---- weights file ---- */

static bool host_big_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 0;
}

static void swap32(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++, b += 4) {
        uint8_t t = b[0];
        b[0] = b[3];
        b[3] = t;
        t = b[1];
        b[1] = b[2];
        b[2] = t;
    }
}

/* Open the weights, read the header and check that the size is exactly what
 * the cfg needs. */
static nn_status open_weights(dn_ctx *x)
{
    if (!x->wpath) {
        if (x->total_weights == 0)
            return NN_OK;
        return nni_error(NN_E_INVALID_ARG, "the cfg needs a weights file: set nn_load_options.weights_path");
    }
    if (x->total_weights == 0 && access(x->wpath, F_OK) != 0 && errno == ENOENT)
        return NN_OK; /* nothing to read */
    uint64_t size;
    nn_status st = nni_open_regular(x->wpath, "weights", &x->wf, &size);
    if (st != NN_OK)
        return st;
    int32_t ver[3];
    if (size < 12 || fread(ver, 4, 3, x->wf) != 3)
        return nni_error(NN_E_PARSE, "the weights '%s' (%llu bytes) are too short to hold a darknet header", x->wpath,
                         (unsigned long long)size);
    if (host_big_endian())
        swap32(ver, 3);
    int32_t major = ver[0], minor = ver[1];
    /* darknet: a 64-bit "seen" counter from version 0.2 on */
    x->header_bytes = ((int64_t)major * 10 + minor >= 2 && major < 1000 && minor < 1000) ? 20 : 16; /* int64: no overflow */
    x->transpose = major > 1000 || minor > 1000;
    uint64_t want = x->header_bytes + 4 * (uint64_t)x->total_weights;
    if (size == want) {
        if (fseek(x->wf, (long)x->header_bytes, SEEK_SET) != 0)
            return nni_error(NN_E_IO, "cannot seek in the weights '%s'", x->wpath);
        return NN_OK;
    }
    if (size > want)
        return nni_error(NN_E_INVALID_MODEL,
                         "the weights '%s' have %llu bytes, %llu more than the cfg's %lld weights need (%llu bytes with "
                         "the header): they belong to another cfg", x->wpath, (unsigned long long)size,
                         (unsigned long long)(size - want), (long long)x->total_weights, (unsigned long long)want);
    /* too short: say where the data ends */
    uint64_t have = size < x->header_bytes ? 0 : (size - x->header_bytes) / 4;
    int32_t at = 0;
    uint64_t acc = 0;
    for (int32_t i = 0; i < x->n_layers; i++) {
        acc += (uint64_t)x->layers[i].n_weights;
        if (x->layers[i].n_weights && acc > have) {
            at = i;
            break;
        }
    }
    return nni_error(NN_E_INVALID_MODEL,
                     "the weights '%s' have %llu bytes, the cfg needs %llu (%lld weights + a %llu-byte header): the "
                     "data ends inside layer %d [%s] (line %d)", x->wpath, (unsigned long long)size,
                     (unsigned long long)want, (long long)x->total_weights, (unsigned long long)x->header_bytes,
                     (int)at, x->layers[at].sec->type, (int)x->layers[at].sec->line);
}

static nn_status read_floats(dn_ctx *x, float *dst, int64_t n)
{
    if (n == 0)
        return NN_OK;
    if (fread(dst, sizeof(float), (size_t)n, x->wf) != (size_t)n)
        return nni_error(NN_E_IO, "cannot read the weights '%s' (changed while loading?)", x->wpath);
    if (host_big_endian())
        swap32(dst, (size_t)n);
    return NN_OK;
}

/* Read `n` floats from the file into a new constant. */
static nn_status weight_const(dn_ctx *x, const char *name, int32_t rank, const int64_t *dims, int32_t *out,
                              float **data)
{
    void *p;
    nn_status st = nni_dn_const(x->g, name, NN_DTYPE_FLOAT32, rank, dims, true, out, &p);
    if (st != NN_OK)
        return st;
    int64_t n = 1;
    for (int32_t k = 0; k < rank; k++)
        n *= dims[k];
    *data = p;
    return read_floats(x, p, n);
}

/* In-place transpose of a rows x cols float matrix (weights stored flipped). */
static nn_status transpose_in_place(float *m, int64_t rows, int64_t cols)
{
    float *tmp = nni_malloc((size_t)(rows * cols) * sizeof *tmp);
    if (!tmp)
        return nni_error(NN_E_NOMEM, "cannot transpose weights");
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            tmp[c * rows + r] = m[r * cols + c];
    memcpy(m, tmp, (size_t)(rows * cols) * sizeof *tmp);
    nni_free(tmp);
    return NN_OK;
}

/* ---- pass 2: emit nodes ---- */

static nn_status emit_act(dn_ctx *x, dn_act act, const char *base, int32_t in, int32_t *out)
{
    char name[96];
    nni_dn_attr a[2];
    int32_t v, ins[2];
    switch (act) {
    case ACT_LINEAR: *out = in; return NN_OK;
    case ACT_LEAKY:
    case ACT_RELIE:
        snprintf(name, sizeof name, "%s_%s", base, act == ACT_LEAKY ? "leaky" : "relie");
        a[0] = NNI_DN_FLOAT("alpha", act == ACT_LEAKY ? 0.1f : 0.01f);
        return nni_dn_emit(x->g, "LeakyRelu", name, 1, &in, 1, a, out);
    case ACT_LOGISTIC:
        snprintf(name, sizeof name, "%s_logistic", base);
        return nni_dn_emit(x->g, "Sigmoid", name, 1, &in, 0, NULL, out);
    case ACT_RELU:
        snprintf(name, sizeof name, "%s_relu", base);
        return nni_dn_emit(x->g, "Relu", name, 1, &in, 0, NULL, out);
    case ACT_TANH:
        snprintf(name, sizeof name, "%s_tanh", base);
        return nni_dn_emit(x->g, "Tanh", name, 1, &in, 0, NULL, out);
    case ACT_ELU:
        snprintf(name, sizeof name, "%s_elu", base);
        a[0] = NNI_DN_FLOAT("alpha", 1.0f);
        return nni_dn_emit(x->g, "Elu", name, 1, &in, 1, a, out);
    case ACT_SELU:
        /* darknet's constants, rounded as it writes them */
        snprintf(name, sizeof name, "%s_selu", base);
        a[0] = NNI_DN_FLOAT("alpha", 1.6732f);
        a[1] = NNI_DN_FLOAT("gamma", 1.0507f);
        return nni_dn_emit(x->g, "Selu", name, 1, &in, 2, a, out);
    case ACT_HARDTAN: {
        int32_t lo, hi;
        void *p;
        nn_status st;
        snprintf(name, sizeof name, "%s_hardtan.min", base);
        if ((st = nni_dn_const(x->g, name, NN_DTYPE_FLOAT32, 0, NULL, false, &lo, &p)) != NN_OK)
            return st;
        *(float *)p = -1.0f;
        snprintf(name, sizeof name, "%s_hardtan.max", base);
        if ((st = nni_dn_const(x->g, name, NN_DTYPE_FLOAT32, 0, NULL, false, &hi, &p)) != NN_OK)
            return st;
        *(float *)p = 1.0f;
        int32_t cin[3] = {in, lo, hi};
        snprintf(name, sizeof name, "%s_hardtan", base);
        return nni_dn_emit(x->g, "Clip", name, 3, cin, 0, NULL, out);
    }
    case ACT_MISH: {
        nn_status st;
        snprintf(name, sizeof name, "%s_softplus", base);
        if ((st = nni_dn_emit(x->g, "Softplus", name, 1, &in, 0, NULL, &v)) != NN_OK)
            return st;
        snprintf(name, sizeof name, "%s_tanh", base);
        if ((st = nni_dn_emit(x->g, "Tanh", name, 1, &v, 0, NULL, &v)) != NN_OK)
            return st;
        ins[0] = in;
        ins[1] = v;
        snprintf(name, sizeof name, "%s_mish", base);
        return nni_dn_emit(x->g, "Mul", name, 2, ins, 0, NULL, out);
    }
    case ACT_SWISH: {
        nn_status st;
        snprintf(name, sizeof name, "%s_sigmoid", base);
        if ((st = nni_dn_emit(x->g, "Sigmoid", name, 1, &in, 0, NULL, &v)) != NN_OK)
            return st;
        ins[0] = in;
        ins[1] = v;
        snprintf(name, sizeof name, "%s_swish", base);
        return nni_dn_emit(x->g, "Mul", name, 2, ins, 0, NULL, out);
    }
    }
    return nni_error(NN_E_INTERNAL, "unknown activation");
}

/* Darknet's batch norm divides by sqrt(var) + 1e-6 (epsilon on the standard
 * deviation); ONNX divides by sqrt(var + epsilon). With epsilon = 0 the
 * variance (sqrt(var) + 1e-6)^2 gives darknet's divisor. */
static void darknet_variance(float *var, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        double sd = sqrt((double)var[k]) + 1e-6;
        var[k] = (float)(sd * sd);
    }
}

static nn_status emit_bn(dn_ctx *x, const char *base, int32_t in, int32_t scale, int32_t bias, int32_t mean,
                         int32_t var, int32_t *out)
{
    char name[96];
    snprintf(name, sizeof name, "%s_bn", base);
    int32_t ins[5] = {in, scale, bias, mean, var};
    nni_dn_attr a[1] = {NNI_DN_FLOAT("epsilon", 0.0f)};
    return nni_dn_emit(x->g, "BatchNormalization", name, 5, ins, 1, a, out);
}

static nn_status emit_reshape(dn_ctx *x, const char *name, int32_t in, int32_t rank, const int64_t *dims, int32_t *out)
{
    char cname[112];
    snprintf(cname, sizeof cname, "%s.shape", name);
    int32_t shape;
    nn_status st = nni_dn_const_i64(x->g, cname, rank, dims, &shape);
    if (st != NN_OK)
        return st;
    int32_t ins[2] = {in, shape};
    return nni_dn_emit(x->g, "Reshape", name, 2, ins, 0, NULL, out);
}

static nn_status build_conv(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "conv_%d", (int)i);
    int32_t bias, scale = -1, mean = -1, var = -1, weight, v;
    float *data;
    int64_t nd[1] = {l->n};
    nn_status st;
    /* file order: biases, [scales, rolling mean, rolling variance], weights */
    snprintf(name, sizeof name, "%s.bias", base);
    if ((st = weight_const(x, name, 1, nd, &bias, &data)) != NN_OK)
        return st;
    if (l->bn) {
        snprintf(name, sizeof name, "%s.bn_scale", base);
        if ((st = weight_const(x, name, 1, nd, &scale, &data)) != NN_OK)
            return st;
        snprintf(name, sizeof name, "%s.bn_mean", base);
        if ((st = weight_const(x, name, 1, nd, &mean, &data)) != NN_OK)
            return st;
        snprintf(name, sizeof name, "%s.bn_var", base);
        if ((st = weight_const(x, name, 1, nd, &var, &data)) != NN_OK)
            return st;
        darknet_variance(data, l->n);
    }
    int64_t wd[4] = {l->n, l->c / l->groups, l->size, l->size};
    snprintf(name, sizeof name, "%s.weight", base);
    if ((st = weight_const(x, name, 4, wd, &weight, &data)) != NN_OK)
        return st;
    if (l->flipped && (st = transpose_in_place(data, wd[1] * wd[2] * wd[3], l->n)) != NN_OK)
        return st;
    nni_dn_attr a[5] = {
        {.name = "kernel_shape", .type = NNI_ATTR_INTS, .ints = {l->size, l->size}, .n = 2},
        {.name = "strides", .type = NNI_ATTR_INTS, .ints = {l->stride, l->stride}, .n = 2},
        {.name = "pads", .type = NNI_ATTR_INTS, .ints = {l->pad, l->pad, l->pad, l->pad}, .n = 4},
        {.name = "dilations", .type = NNI_ATTR_INTS, .ints = {1, 1}, .n = 2},
        NNI_DN_INT("group", l->groups),
    };
    int32_t ins[3] = {in, weight, bias};
    if ((st = nni_dn_emit(x->g, "Conv", base, l->bn ? 2 : 3, ins, 5, a, &v)) != NN_OK)
        return st;
    if (l->bn && (st = emit_bn(x, base, v, scale, bias, mean, var, &v)) != NN_OK)
        return st;
    return emit_act(x, l->act, base, v, &l->value);
}

static nn_status build_connected(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "fc_%d", (int)i);
    int64_t inputs = l->c * l->h * l->w;
    int32_t bias, weight, scale = -1, mean = -1, var = -1, v;
    float *data;
    int64_t nd[1] = {l->n}, wd[2] = {l->n, inputs};
    nn_status st;
    /* file order: biases, weights, [scales, rolling mean, rolling variance] */
    snprintf(name, sizeof name, "%s.bias", base);
    if ((st = weight_const(x, name, 1, nd, &bias, &data)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s.weight", base);
    if ((st = weight_const(x, name, 2, wd, &weight, &data)) != NN_OK)
        return st;
    if (x->transpose && (st = transpose_in_place(data, inputs, l->n)) != NN_OK)
        return st;
    if (l->bn) {
        snprintf(name, sizeof name, "%s.bn_scale", base);
        if ((st = weight_const(x, name, 1, nd, &scale, &data)) != NN_OK)
            return st;
        snprintf(name, sizeof name, "%s.bn_mean", base);
        if ((st = weight_const(x, name, 1, nd, &mean, &data)) != NN_OK)
            return st;
        snprintf(name, sizeof name, "%s.bn_var", base);
        if ((st = weight_const(x, name, 1, nd, &var, &data)) != NN_OK)
            return st;
        darknet_variance(data, l->n);
    }
    snprintf(name, sizeof name, "%s_flatten", base);
    int64_t flat[2] = {1, inputs};
    if ((st = emit_reshape(x, name, in, 2, flat, &v)) != NN_OK)
        return st;
    nni_dn_attr a[1] = {NNI_DN_INT("transB", 1)};
    int32_t ins[3] = {v, weight, bias};
    if ((st = nni_dn_emit(x->g, "Gemm", base, l->bn ? 2 : 3, ins, 1, a, &v)) != NN_OK)
        return st;
    if (l->bn && (st = emit_bn(x, base, v, scale, bias, mean, var, &v)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s_4d", base);
    int64_t four[4] = {1, l->n, 1, 1};
    if ((st = emit_reshape(x, name, v, 4, four, &v)) != NN_OK)
        return st;
    return emit_act(x, l->act, base, v, &l->value);
}

static nn_status build_batchnorm(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "batchnorm_%d", (int)i);
    int32_t scale, mean, var, bias;
    float *data;
    int64_t nd[1] = {l->c};
    nn_status st;
    snprintf(name, sizeof name, "%s.scale", base);
    if ((st = weight_const(x, name, 1, nd, &scale, &data)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s.mean", base);
    if ((st = weight_const(x, name, 1, nd, &mean, &data)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s.var", base);
    if ((st = weight_const(x, name, 1, nd, &var, &data)) != NN_OK)
        return st;
    darknet_variance(data, l->c);
    snprintf(name, sizeof name, "%s.bias", base); /* darknet never loads it: zeros */
    if ((st = nni_dn_const(x->g, name, NN_DTYPE_FLOAT32, 1, nd, true, &bias, NULL)) != NN_OK)
        return st;
    return emit_bn(x, base, in, scale, bias, mean, var, &l->value);
}

static nn_status build_route(dn_ctx *x, int32_t i, dn_layer *l)
{
    char name[96];
    nn_status st;
    int32_t *parts = nni_malloc((size_t)l->n_refs * sizeof *parts);
    if (!parts)
        return nni_error(NN_E_NOMEM, "cannot allocate a route");
    for (int32_t k = 0; k < l->n_refs; k++) {
        const dn_layer *r = &x->layers[l->refs[k]];
        parts[k] = r->value;
        if (l->groups > 1) {
            /* darknet (AlexeyAB): channel block group_id of `groups` */
            int64_t part = r->oc / l->groups;
            int64_t starts[1] = {part * l->group_id}, ends[1] = {part * (l->group_id + 1)}, axes[1] = {1};
            int32_t cs, ce, ca;
            snprintf(name, sizeof name, "route_%d_slice%d.starts", (int)i, (int)k);
            if ((st = nni_dn_const_i64(x->g, name, 1, starts, &cs)) != NN_OK)
                goto done;
            snprintf(name, sizeof name, "route_%d_slice%d.ends", (int)i, (int)k);
            if ((st = nni_dn_const_i64(x->g, name, 1, ends, &ce)) != NN_OK)
                goto done;
            snprintf(name, sizeof name, "route_%d_slice%d.axes", (int)i, (int)k);
            if ((st = nni_dn_const_i64(x->g, name, 1, axes, &ca)) != NN_OK)
                goto done;
            int32_t ins[4] = {r->value, cs, ce, ca};
            snprintf(name, sizeof name, "route_%d_slice%d", (int)i, (int)k);
            if ((st = nni_dn_emit(x->g, "Slice", name, 4, ins, 0, NULL, &parts[k])) != NN_OK)
                goto done;
        }
    }
    if (l->n_refs == 1) {
        l->value = parts[0];
        st = NN_OK;
    } else {
        snprintf(name, sizeof name, "route_%d", (int)i);
        nni_dn_attr a[1] = {NNI_DN_INT("axis", 1)};
        st = nni_dn_emit(x->g, "Concat", name, l->n_refs, parts, 1, a, &l->value);
    }
done:
    nni_free(parts);
    return st;
}

/* x * s as a Mul by a scalar constant (skipped when s == 1). */
static nn_status emit_scale(dn_ctx *x, const char *name, int32_t in, float s, int32_t *out)
{
    if (s == 1.0f) {
        *out = in;
        return NN_OK;
    }
    char cname[112];
    snprintf(cname, sizeof cname, "%s.factor", name);
    int32_t c;
    nn_status st = nni_dn_const_f32(x->g, cname, 1, &s, &c);
    if (st != NN_OK)
        return st;
    int32_t ins[2] = {in, c};
    return nni_dn_emit(x->g, "Mul", name, 2, ins, 0, NULL, out);
}

static nn_status build_shortcut(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "shortcut_%d", (int)i);
    int32_t a, b, v;
    nn_status st;
    /* darknet: out = alpha * previous + beta * from */
    snprintf(name, sizeof name, "%s_alpha", base);
    if ((st = emit_scale(x, name, in, l->alpha, &a)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s_beta", base);
    if ((st = emit_scale(x, name, x->layers[l->refs[0]].value, l->beta, &b)) != NN_OK)
        return st;
    int32_t ins[2] = {a, b};
    if ((st = nni_dn_emit(x->g, "Add", base, 2, ins, 0, NULL, &v)) != NN_OK)
        return st;
    return emit_act(x, l->act, base, v, &l->value);
}

static nn_status build_upsample(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "upsample_%d", (int)i);
    float scales[4] = {1, 1, (float)l->stride, (float)l->stride};
    int32_t sc, v;
    snprintf(name, sizeof name, "%s.scales", base);
    nn_status st = nni_dn_const_f32(x->g, name, 4, scales, &sc);
    if (st != NN_OK)
        return st;
    /* integer nearest upsampling: asymmetric + floor repeats each pixel */
    nni_dn_attr a[3] = {NNI_DN_STRING("mode", "nearest"),
                        NNI_DN_STRING("coordinate_transformation_mode", "asymmetric"),
                        NNI_DN_STRING("nearest_mode", "floor")};
    int32_t ins[3] = {in, -1, sc};
    if ((st = nni_dn_emit(x->g, "Resize", base, 3, ins, 3, a, &v)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s_scale", base);
    return emit_scale(x, name, v, l->alpha, &l->value);
}

/*
 * darknet's reorg (reorg_cpu with forward = 0 for a normal [reorg]) is not
 * ONNX's SpaceToDepth: it reads the c x h x w input as a (c/s²) x (h·s) x
 * (w·s) image and writes output channel (dy·s + dx)·(c/s²) + k at (y, x) from
 * that image's (k, y·s + dy, x·s + dx), then the buffer is read as
 * (c·s²) x (h/s) x (w/s). As tensors: reshape [c/s², h, s, w, s], transpose to
 * [s(dy), s(dx), c/s², h, w], reshape to the output. reverse=1 is the inverse.
 */
static nn_status build_reorg(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "reorg_%d", (int)i);
    int64_t s = l->stride, c = l->c, h = l->h, w = l->w, k = c / (s * s);
    int32_t v;
    nn_status st;
    int64_t shape1[6], perm[6];
    if (!l->reverse) {
        int64_t a[6] = {1, k, h, s, w, s}, p[6] = {0, 3, 5, 1, 2, 4};
        memcpy(shape1, a, sizeof a);
        memcpy(perm, p, sizeof p);
    } else {
        /* inverse: input channel (dy·s + dx)·k + kk at (y, x) -> (kk, y·s + dy, x·s + dx) */
        int64_t a[6] = {1, s, s, k, h, w}, p[6] = {0, 3, 4, 1, 5, 2};
        memcpy(shape1, a, sizeof a);
        memcpy(perm, p, sizeof p);
    }
    snprintf(name, sizeof name, "%s_split", base);
    if ((st = emit_reshape(x, name, in, 6, shape1, &v)) != NN_OK)
        return st;
    snprintf(name, sizeof name, "%s_transpose", base);
    nni_dn_attr a[1] = {{.name = "perm", .type = NNI_ATTR_INTS, .n = 6}};
    memcpy(a[0].ints, perm, sizeof perm);
    if ((st = nni_dn_emit(x->g, "Transpose", name, 1, &v, 1, a, &v)) != NN_OK)
        return st;
    int64_t out[4] = {1, l->oc, l->oh, l->ow};
    return emit_reshape(x, base, v, 4, out, &l->value);
}

static nn_status build_softmax(dn_ctx *x, int32_t i, dn_layer *l, int32_t in)
{
    char base[48], name[96];
    snprintf(base, sizeof base, "softmax_%d", (int)i);
    int64_t inputs = l->c * l->h * l->w;
    int32_t v;
    nn_status st;
    int64_t grouped[3] = {1, l->groups, inputs / l->groups};
    snprintf(name, sizeof name, "%s_groups", base);
    if ((st = emit_reshape(x, name, in, 3, grouped, &v)) != NN_OK)
        return st;
    if (l->alpha != 1.0f) {
        snprintf(name, sizeof name, "%s_temperature", base);
        if ((st = emit_scale(x, name, v, 1.0f / l->alpha, &v)) != NN_OK)
            return st;
    }
    snprintf(name, sizeof name, "%s_softmax", base);
    nni_dn_attr a[1] = {NNI_DN_INT("axis", 2)};
    if ((st = nni_dn_emit(x->g, "Softmax", name, 1, &v, 1, a, &v)) != NN_OK)
        return st;
    int64_t out[4] = {1, l->c, l->h, l->w};
    return emit_reshape(x, base, v, 4, out, &l->value);
}

static nn_status build_layer(dn_ctx *x, int32_t i, int32_t input)
{
    dn_layer *l = &x->layers[i];
    int32_t in = i == 0 ? input : x->layers[i - 1].value;
    char name[48];
    switch (l->kind) {
    case DN_CONV: return build_conv(x, i, l, in);
    case DN_CONNECTED: return build_connected(x, i, l, in);
    case DN_BATCHNORM: return build_batchnorm(x, i, l, in);
    case DN_MAXPOOL: {
        snprintf(name, sizeof name, "maxpool_%d", (int)i);
        int64_t b = l->pad / 2, e = l->pad - b;
        nni_dn_attr a[3] = {
            {.name = "kernel_shape", .type = NNI_ATTR_INTS, .ints = {l->size, l->size}, .n = 2},
            {.name = "strides", .type = NNI_ATTR_INTS, .ints = {l->stride, l->stride}, .n = 2},
            {.name = "pads", .type = NNI_ATTR_INTS, .ints = {b, b, e, e}, .n = 4},
        };
        return nni_dn_emit(x->g, "MaxPool", name, 1, &in, 3, a, &l->value);
    }
    case DN_AVGPOOL:
        snprintf(name, sizeof name, "avgpool_%d", (int)i);
        return nni_dn_emit(x->g, "GlobalAveragePool", name, 1, &in, 0, NULL, &l->value);
    case DN_ROUTE: return build_route(x, i, l);
    case DN_SHORTCUT: return build_shortcut(x, i, l, in);
    case DN_UPSAMPLE: return build_upsample(x, i, l, in);
    case DN_REORG: return build_reorg(x, i, l, in);
    case DN_SOFTMAX: return build_softmax(x, i, l, in);
    case DN_ACTIVATION:
        snprintf(name, sizeof name, "activation_%d", (int)i);
        return emit_act(x, l->act, name, in, &l->value);
    case DN_YOLO:
    case DN_REGION:
    case DN_DROPOUT:
    case DN_COST: l->value = in; return NN_OK;
    }
    return nni_error(NN_E_INTERNAL, "unknown layer kind");
}

/* ---- metadata ---- */

typedef struct dn_str {
    char *p;
    size_t len, cap;
    bool oom;
} dn_str;

static void str_add(dn_str *s, const char *fmt, ...) NNI_PRINTF(2, 3);
static void str_add(dn_str *s, const char *fmt, ...)
{
    if (s->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? s->cap - s->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            s->oom = true;
            return;
        }
        if (s->p && s->len + (size_t)n < s->cap) {
            s->len += (size_t)n;
            return;
        }
        size_t cap = (s->cap ? s->cap * 2 : 128) + (size_t)n;
        char *q = nni_realloc(s->p, cap);
        if (!q) {
            s->oom = true;
            return;
        }
        s->p = q;
        s->cap = cap;
    }
}

/* Shortest decimal that reads back as the same float. */
static void str_float(dn_str *s, float v)
{
    char buf[48];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    str_add(s, "%s", buf);
}

static nn_status add_meta_str(nni_graph *g, const char *key, dn_str *s)
{
    if (s->oom) {
        nni_free(s->p);
        return nni_error(NN_E_NOMEM, "cannot format metadata %s", key);
    }
    nn_status st = nni_graph_add_meta(g, key, s->p ? s->p : "");
    nni_free(s->p);
    memset(s, 0, sizeof *s);
    return st;
}

/* Anchors of all heads as one list, masks per output indexing into it. */
static nn_status head_metadata(dn_ctx *x, const int32_t *heads, int32_t n_heads)
{
    const dn_layer *first = &x->layers[heads[0]];
    bool yolo = first->kind == DN_YOLO;
    int64_t classes = first->classes;
    for (int32_t k = 1; k < n_heads; k++) {
        const dn_layer *h = &x->layers[heads[k]];
        if ((h->kind == DN_YOLO) != yolo)
            return nni_error(NN_E_UNSUPPORTED, "a network with both [yolo] and [region] heads is not supported");
        if (h->classes != classes)
            return layer_error(x, heads[k], nni_error(NN_E_INVALID_MODEL, "classes=%lld differs from the first head's %lld",
                                                      (long long)h->classes, (long long)classes));
    }
    nn_status st = nni_graph_add_meta(x->g, "nn.detect.family", yolo ? "yolov3" : "yolov2");
    dn_str anchors = {0}, masks = {0};
    int32_t base = 0;
    for (int32_t k = 0; k < n_heads && st == NN_OK; k++) {
        const dn_layer *h = &x->layers[heads[k]];
        /* heads sharing the previous head's anchor list index into it */
        bool shared = k > 0 && h->n_anchors == x->layers[heads[k - 1]].n_anchors &&
                      memcmp(h->anchors, x->layers[heads[k - 1]].anchors, (size_t)h->n_anchors * sizeof(float)) == 0;
        if (k > 0 && !shared)
            base += x->layers[heads[k - 1]].n_anchors / 2;
        if (k == 0 || !shared)
            for (int32_t a = 0; a < h->n_anchors; a++) {
                if (anchors.len)
                    str_add(&anchors, ",");
                str_float(&anchors, h->anchors[a]);
            }
        if (k)
            str_add(&masks, ";");
        for (int32_t m = 0; m < h->n_mask; m++)
            str_add(&masks, m ? ",%lld" : "%lld", (long long)(base + (h->mask ? h->mask[m] : m)));
    }
    if (st == NN_OK)
        st = add_meta_str(x->g, "nn.detect.anchors", &anchors);
    if (st == NN_OK)
        st = add_meta_str(x->g, "nn.detect.masks", &masks);
    nni_free(anchors.p);
    nni_free(masks.p);
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)classes);
    if (st == NN_OK)
        st = nni_graph_add_meta(x->g, "nn.detect.classes", buf);
    /* darknet's detector letterboxes (gray 0.5 borders) with its own resampling */
    if (st == NN_OK)
        st = nni_graph_add_meta(x->g, "nn.detect.letterbox", "darknet");
    if (st == NN_OK)
        st = nni_graph_add_meta(x->g, "nn.input.resize", "letterbox");
    return st;
}

static nn_status load_labels(nni_graph *g, const char *path)
{
    FILE *f;
    uint64_t size;
    if (access(path, F_OK) != 0)
        return NN_OK; /* optional */
    nn_status st = nni_open_regular(path, "labels", &f, &size);
    if (st != NN_OK)
        return st;
    dn_str s = {0};
    char buf[4096];
    size_t total = 0, n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        total += n;
        if (total > DN_MAX_LABELS_BYTES) {
            fclose(f);
            nni_free(s.p);
            return nni_error(NN_E_LIMIT, "the labels '%s' are over %u bytes", path, DN_MAX_LABELS_BYTES);
        }
        for (size_t i = 0; i < n; i++)
            if (buf[i] != '\r')
                str_add(&s, "%c", buf[i] ? buf[i] : ' ');
    }
    fclose(f);
    while (s.len && s.p[s.len - 1] == '\n')
        s.p[--s.len] = '\0';
    return add_meta_str(g, "nn.labels", &s);
}

/* ---- entry ---- */

bool nni_darknet_sniff(const uint8_t *bytes, size_t size) { return nni_dn_cfg_sniff(bytes, size); }

static void ctx_free(dn_ctx *x)
{
    for (int32_t i = 0; x->layers && i < x->n_layers; i++) {
        nni_free(x->layers[i].refs);
        nni_free(x->layers[i].anchors);
        nni_free(x->layers[i].mask);
    }
    nni_free(x->layers);
    nni_dn_cfg_free(&x->cfg);
    if (x->wf)
        fclose(x->wf);
}

static nn_status import(dn_ctx *x, const uint8_t *cfg, size_t size, const char *labels_path)
{
    nn_status st = nni_dn_cfg_parse((const char *)cfg, size, &x->cfg);
    if (st != NN_OK)
        return st;
    if ((st = plan_net(x)) != NN_OK)
        return st;
    x->n_layers = x->cfg.n_secs - 1;
    if (x->n_layers == 0)
        return nni_error(NN_E_INVALID_MODEL, "the cfg has a [net] section but no layers");
    if ((uint64_t)x->n_layers > x->opts->max_nodes)
        return nni_error(NN_E_LIMIT, "the cfg has %d layers, over the limit of %u nodes", (int)x->n_layers,
                         x->opts->max_nodes);
    if (!(x->layers = nni_calloc((size_t)x->n_layers, sizeof *x->layers)))
        return nni_error(NN_E_NOMEM, "cannot allocate %d layers", (int)x->n_layers);
    x->total_weights = 0;
    for (int32_t i = 0; i < x->n_layers; i++) {
        x->layers[i].sec = &x->cfg.secs[i + 1];
        x->layers[i].value = -1;
        if ((st = plan_layer(x, i)) != NN_OK)
            return st;
        if (nni_add_overflow_i64(x->total_weights, x->layers[i].n_weights, &x->total_weights) ||
            x->total_weights > INT64_MAX / 8)
            return nni_error(NN_E_LIMIT, "the cfg needs too many weights");
    }
    if ((uint64_t)x->total_weights * 4 > x->opts->max_model_bytes)
        return nni_error(NN_E_LIMIT, "the cfg needs %lld weights, over the limit of %llu bytes (nn_load_options.max_model_bytes)",
                         (long long)x->total_weights, (unsigned long long)x->opts->max_model_bytes);
    if ((st = open_weights(x)) != NN_OK)
        return st;

    nni_graph *g = x->g;
    g->opset = NNI_DARKNET_OPSET;
    /* the image input */
    int32_t input = nni_graph_value(g, "input");
    if (input < 0)
        return input;
    int64_t dims[4] = {1, x->net_c, x->net_h, x->net_w};
    if ((st = nni_tensor_set_shape(&g->values[input].info, NN_DTYPE_FLOAT32, 4, dims)) != NN_OK)
        return st;
    g->values[input].shape_known = true;
    g->values[input].is_input = true;
    if (!(g->inputs = nni_malloc(sizeof *g->inputs)))
        return nni_error(NN_E_NOMEM, "cannot allocate the input list");
    g->inputs[g->n_inputs++] = input;

    int32_t *heads = nni_malloc((size_t)x->n_layers * sizeof *heads);
    if (!heads)
        return nni_error(NN_E_NOMEM, "cannot allocate the head list");
    int32_t n_heads = 0;
    for (int32_t i = 0; i < x->n_layers && st == NN_OK; i++) {
        if ((st = build_layer(x, i, input)) != NN_OK)
            st = layer_error(x, i, st);
        else if (x->layers[i].kind == DN_YOLO || x->layers[i].kind == DN_REGION)
            heads[n_heads++] = i;
    }
    /* outputs: the raw tensors feeding the heads, or the last layer */
    int32_t n_out = n_heads ? n_heads : 1;
    if (st == NN_OK && !(g->outputs = nni_malloc((size_t)n_out * sizeof *g->outputs)))
        st = nni_error(NN_E_NOMEM, "cannot allocate the output list");
    for (int32_t k = 0; k < n_out && st == NN_OK; k++) {
        int32_t v = n_heads ? x->layers[heads[k]].value : x->layers[x->n_layers - 1].value;
        if (g->values[v].is_input || g->values[v].is_output) {
            /* a graph output must be a node's own value */
            char name[48];
            snprintf(name, sizeof name, "output_%d", (int)k);
            if ((st = nni_dn_emit(g, "Identity", name, 1, &v, 0, NULL, &v)) != NN_OK)
                break;
        }
        g->values[v].is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    if (st == NN_OK && n_heads)
        st = head_metadata(x, heads, n_heads);
    nni_free(heads);
    if (st == NN_OK && labels_path)
        st = load_labels(g, labels_path);
    return st;
}

nn_status nni_darknet_import(const uint8_t *cfg, size_t size, const char *weights_path, const char *labels_path,
                             const nn_load_options *opts, nni_graph *g)
{
    if (size == 0)
        return nni_error(NN_E_PARSE, "the cfg is empty (0 bytes)");
    dn_ctx x;
    memset(&x, 0, sizeof x);
    x.opts = opts;
    x.g = g;
    x.wpath = weights_path;
    nn_status st = import(&x, cfg, size, labels_path);
    ctx_free(&x);
    return st;
}
