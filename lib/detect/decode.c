/*
 * decode.c — raw YOLO outputs to box records, per family. The YOLOv2/v3
 * arithmetic follows darknet's types step by step (float sums, double exp)
 * so that records match `darknet detector test` to the last bit.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/numlist.h"
#include "detect/detect.h"

nn_status nni_det_decode_final(const float *boxes, const int64_t *labels, const float *scores, int64_t n,
                               int32_t net_w, int32_t net_h, float thresh, nni_det_set *out)
{
    for (int64_t i = 0; i < n; i++) {
        if (labels[i] < 0 || labels[i] >= out->classes)
            return nni_error(NN_E_INVALID_MODEL, "detection %lld has label %lld, outside the %d classes", (long long)i,
                             (long long)labels[i], (int)out->classes);
        if (!(scores[i] > thresh))
            continue;
        nni_det_rec *r = nni_det_set_add(out);
        if (!r)
            return nni_error(NN_E_NOMEM, "cannot grow the detection list");
        const float *b = boxes + 4 * i;
        r->x = (b[0] + b[2]) / 2 / (float)net_w;
        r->y = (b[1] + b[3]) / 2 / (float)net_h;
        r->w = (b[2] - b[0]) / (float)net_w;
        r->h = (b[3] - b[1]) / (float)net_h;
        r->objectness = 1.0f;
        r->prob[labels[i]] = scores[i];
    }
    return NN_OK;
}

void nni_det_set_init(nni_det_set *s, int32_t classes)
{
    memset(s, 0, sizeof *s);
    s->classes = classes;
}

void nni_det_set_free(nni_det_set *s)
{
    nni_free(s->recs);
    nni_free(s->pool);
    memset(s, 0, sizeof *s);
}

nni_det_rec *nni_det_set_add(nni_det_set *s)
{
    if (s->n == s->cap) {
        int32_t cap = s->cap ? s->cap * 2 : 64;
        size_t pool_n;
        if (cap < s->cap || nni_mul_overflow_size((size_t)cap, (size_t)s->classes, &pool_n) ||
            nni_mul_overflow_size(pool_n, sizeof(float), &pool_n))
            return NULL;
        nni_det_rec *r = nni_realloc(s->recs, (size_t)cap * sizeof *r);
        if (!r)
            return NULL;
        s->recs = r;
        float *p = nni_realloc(s->pool, pool_n ? pool_n : 1);
        if (!p)
            return NULL;
        s->pool = p;
        s->cap = cap;
        for (int32_t i = 0; i < s->n; i++) /* the pool moved */
            s->recs[i].prob = s->pool + (size_t)i * (size_t)s->classes;
    }
    nni_det_rec *r = &s->recs[s->n];
    memset(r, 0, sizeof *r);
    r->prob = s->pool + (size_t)s->n * (size_t)s->classes;
    memset(r->prob, 0, (size_t)s->classes * sizeof(float));
    s->n++;
    return r;
}

/* ---- metadata ---- */

nn_status nni_det_parse_anchors(const char *s, nni_det_params *p)
{
    if (!s)
        return NN_OK;
    int n = nni_parse_float_list(s, p->anchors, 2 * NNI_DET_MAX_ANCHORS);
    if (n < 2 || n % 2)
        return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.anchors='%.60s' is not a list of width,height pairs "
                         "(at most %d)", s, NNI_DET_MAX_ANCHORS);
    for (int i = 0; i < n; i++)
        if (!(p->anchors[i] > 0))
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.anchors has a non-positive value");
    p->n_anchors = n / 2;
    return NN_OK;
}

nn_status nni_det_parse_masks(const char *s, nni_det_params *p)
{
    if (!s)
        return NN_OK;
    p->n_heads = 0;
    const char *group = s;
    for (;;) {
        const char *semi = strchr(group, ';');
        size_t len = semi ? (size_t)(semi - group) : strlen(group);
        char buf[512];
        float vals[NNI_DET_MAX_ANCHORS];
        if (p->n_heads == NNI_DET_MAX_HEADS || len >= sizeof buf)
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.masks='%.60s' has too many heads or anchors", s);
        memcpy(buf, group, len);
        buf[len] = '\0';
        int n = nni_parse_float_list(buf, vals, NNI_DET_MAX_ANCHORS);
        if (n < 1)
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.masks='%.60s' is not anchor indices per output "
                             "separated by ';'", s);
        for (int i = 0; i < n; i++) {
            if (vals[i] < 0 || vals[i] != floorf(vals[i]) || vals[i] >= NNI_DET_MAX_ANCHORS)
                return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.masks has an invalid anchor index");
            p->mask[p->n_heads][i] = (int32_t)vals[i];
        }
        p->mask_len[p->n_heads++] = n;
        if (!semi)
            return NN_OK;
        group = semi + 1;
    }
}

/* ---- activations, as darknet computes them ---- */

static float logistic(float x) { return (float)(1. / (1. + exp(-x))); }

/* darknet's softmax (temperature 1) over n values `stride` apart. */
static void softmax_strided(const float *in, int64_t n, int64_t stride, float *out)
{
    float sum = 0, largest = -FLT_MAX;
    for (int64_t i = 0; i < n; i++)
        if (in[i * stride] > largest)
            largest = in[i * stride];
    for (int64_t i = 0; i < n; i++) {
        float e = (float)exp(in[i * stride] - largest);
        sum += e;
        out[i] = e;
    }
    for (int64_t i = 0; i < n; i++)
        out[i] /= sum;
}

/* ---- families ---- */

static nn_status check_head4(const nni_det_head *h, int32_t k, int64_t anchors, int32_t classes, int32_t coords)
{
    if (h->rank != 4 || h->dims[0] != 1)
        return nni_error(NN_E_SHAPE, "output %d must be [1, anchors*(5+classes), H, W]", (int)k);
    if (h->dims[1] != anchors * (classes + coords + 1))
        return nni_error(NN_E_SHAPE, "output %d has %lld channels; %lld anchors x (%d classes + 5) need %lld", (int)k,
                         (long long)h->dims[1], (long long)anchors, (int)classes,
                         (long long)(anchors * (classes + coords + 1)));
    if (h->dims[2] < 1 || h->dims[3] < 1)
        return nni_error(NN_E_SHAPE, "output %d is empty", (int)k);
    return NN_OK;
}

static nn_status decode_yolov3(const nni_det_params *p, const nni_det_head *heads, int32_t n_heads, float thresh,
                               nni_det_set *out)
{
    if (p->n_anchors < 1)
        return nni_error(NN_E_INVALID_MODEL, "yolov3 decoding needs anchors (metadata nn.detect.anchors)");
    if (p->n_heads != n_heads)
        return nni_error(NN_E_INVALID_MODEL, "nn.detect.masks lists %d outputs, the model has %d", (int)p->n_heads,
                         (int)n_heads);
    int32_t C = p->classes, entries = 5 + C;
    for (int32_t k = 0; k < n_heads; k++) {
        const nni_det_head *h = &heads[k];
        int32_t A = p->mask_len[k];
        for (int32_t a = 0; a < A; a++)
            if (p->mask[k][a] >= p->n_anchors)
                return nni_error(NN_E_INVALID_MODEL, "nn.detect.masks index %d is past the %d anchors",
                                 (int)p->mask[k][a], (int)p->n_anchors);
        nn_status st = check_head4(h, k, A, C, 4);
        if (st != NN_OK)
            return st;
        int lh = (int)h->dims[2], lw = (int)h->dims[3];
        int64_t hw = (int64_t)lh * lw;
        const float *x = h->data;
        for (int64_t i = 0; i < hw; i++) {
            int row = (int)(i / lw), col = (int)(i % lw);
            for (int32_t n = 0; n < A; n++) {
                const float *e = x + (int64_t)n * entries * hw + i; /* entry j at e[j*hw] */
                float objectness = logistic(e[4 * hw]);
                if (objectness <= thresh)
                    continue;
                nni_det_rec *r = nni_det_set_add(out);
                if (!r)
                    return nni_error(NN_E_NOMEM, "cannot grow the detection list");
                const float *anchor = p->anchors + 2 * p->mask[k][n];
                r->x = (col + logistic(e[0])) / lw;
                r->y = (row + logistic(e[hw])) / lh;
                r->w = (float)(exp(e[2 * hw]) * anchor[0] / p->net_w);
                r->h = (float)(exp(e[3 * hw]) * anchor[1] / p->net_h);
                r->objectness = objectness;
                for (int32_t j = 0; j < C; j++) {
                    float prob = objectness * logistic(e[(5 + j) * hw]);
                    r->prob[j] = prob > thresh ? prob : 0;
                }
            }
        }
    }
    return NN_OK;
}

static nn_status decode_yolov2(const nni_det_params *p, const nni_det_head *heads, int32_t n_heads, float thresh,
                               nni_det_set *out)
{
    if (n_heads != 1)
        return nni_error(NN_E_INVALID_MODEL, "a yolov2 (region) model has one output, this one has %d", (int)n_heads);
    if (p->n_anchors < 1)
        return nni_error(NN_E_INVALID_MODEL, "yolov2 decoding needs anchors (metadata nn.detect.anchors)");
    int32_t C = p->classes, entries = 5 + C, A = p->n_anchors;
    const nni_det_head *h = &heads[0];
    nn_status st = check_head4(h, 0, A, C, 4);
    if (st != NN_OK)
        return st;
    int lh = (int)h->dims[2], lw = (int)h->dims[3];
    int64_t hw = (int64_t)lh * lw;
    float *sm = nni_malloc((size_t)(C ? C : 1) * sizeof *sm);
    if (!sm)
        return nni_error(NN_E_NOMEM, "cannot allocate the class scores");
    /* darknet's record order: anchor-major, then cell */
    for (int32_t n = 0; n < A; n++) {
        for (int64_t i = 0; i < hw; i++) {
            int row = (int)(i / lw), col = (int)(i % lw);
            const float *e = h->data + (int64_t)n * entries * hw + i;
            float scale = logistic(e[4 * hw]);
            if (!(scale > thresh))
                continue; /* darknet zeroes its objectness; NMS drops such records */
            nni_det_rec *r = nni_det_set_add(out);
            if (!r) {
                nni_free(sm);
                return nni_error(NN_E_NOMEM, "cannot grow the detection list");
            }
            r->x = (col + logistic(e[0])) / lw;
            r->y = (row + logistic(e[hw])) / lh;
            r->w = (float)(exp(e[2 * hw]) * p->anchors[2 * n] / lw);
            r->h = (float)(exp(e[3 * hw]) * p->anchors[2 * n + 1] / lh);
            r->objectness = scale;
            softmax_strided(e + 5 * hw, C, hw, sm);
            for (int32_t j = 0; j < C; j++) {
                float prob = scale * sm[j];
                r->prob[j] = prob > thresh ? prob : 0;
            }
        }
    }
    nni_free(sm);
    return NN_OK;
}

/* YOLOv5 [1, N, 5+C] (objectness, class scores) or YOLOv8 [1, 4+C, N]
 * (class scores only): centre and size in input pixels, already activated. */
static nn_status decode_flat(const nni_det_params *p, const nni_det_head *heads, int32_t n_heads, float thresh,
                             nni_det_set *out)
{
    bool v8 = p->family == NNI_FAMILY_YOLOV8;
    if (n_heads != 1)
        return nni_error(NN_E_INVALID_MODEL, "a %s model has one output, this one has %d", v8 ? "yolov8" : "yolov5",
                         (int)n_heads);
    const nni_det_head *h = &heads[0];
    int64_t fixed = v8 ? 4 : 5;
    if (h->rank != 3 || h->dims[0] != 1)
        return nni_error(NN_E_SHAPE, "a %s output must be %s", v8 ? "yolov8" : "yolov5",
                         v8 ? "[1, 4+classes, boxes]" : "[1, boxes, 5+classes]");
    int64_t K = v8 ? h->dims[1] : h->dims[2], N = v8 ? h->dims[2] : h->dims[1];
    if (K - fixed != p->classes)
        return nni_error(NN_E_SHAPE, "the output has %lld values per box; %d classes need %lld", (long long)K,
                         (int)p->classes, (long long)(p->classes + fixed));
    /* element j of box n */
    int64_t sj = v8 ? N : 1, sn = v8 ? 1 : K;
    for (int64_t n = 0; n < N; n++) {
        const float *b = h->data + n * sn;
        float obj = v8 ? 1.0f : b[4 * sj];
        if (!v8 && !(obj > thresh))
            continue;
        int32_t best = 0;
        float bs = -FLT_MAX;
        for (int32_t c = 0; c < p->classes; c++) {
            float v = b[(fixed + c) * sj];
            if (v > bs) {
                bs = v;
                best = c;
            }
        }
        float score = obj * bs;
        if (!(score > thresh))
            continue;
        nni_det_rec *r = nni_det_set_add(out);
        if (!r)
            return nni_error(NN_E_NOMEM, "cannot grow the detection list");
        r->x = b[0] / (float)p->net_w;
        r->y = b[sj] / (float)p->net_h;
        r->w = b[2 * sj] / (float)p->net_w;
        r->h = b[3 * sj] / (float)p->net_h;
        r->objectness = obj;
        r->prob[best] = score;
    }
    return NN_OK;
}

nn_status nni_det_decode(const nni_det_params *p, const nni_det_head *heads, int32_t n_heads, float thresh,
                         nni_det_set *out)
{
    if (p->classes < 1)
        return nni_error(NN_E_INVALID_MODEL, "the number of classes is unknown (metadata nn.detect.classes)");
    if (p->net_w < 1 || p->net_h < 1)
        return nni_error(NN_E_INVALID_ARG, "the network input size is unknown");
    for (int32_t k = 0; k < n_heads; k++)
        if (!heads[k].data)
            return nni_error(NN_E_INVALID_ARG, "output %d has no data", (int)k);
    switch (p->family) {
    case NNI_FAMILY_YOLOV3: return decode_yolov3(p, heads, n_heads, thresh, out);
    case NNI_FAMILY_YOLOV2: return decode_yolov2(p, heads, n_heads, thresh, out);
    case NNI_FAMILY_YOLOV5:
    case NNI_FAMILY_YOLOV8: return decode_flat(p, heads, n_heads, thresh, out);
    default: return nni_error(NN_E_INVALID_ARG, "unknown detection family %d", (int)p->family);
    }
}
