/* nms.c — NonMaxSuppression: greedy per-class box selection by score and overlap. */
#include <math.h>
#include <string.h>

#include "ops/movement.h"

typedef struct {
    int64_t center_point_box;
} nms_state;

static nn_status nms_prepare(nni_opctx *c)
{
    nms_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "center_point_box", 0, &s->center_point_box);
    if (st == NN_OK && s->center_point_box != 0 && s->center_point_box != 1)
        return nni_error(NN_E_INVALID_MODEL, "NonMaxSuppression: 'center_point_box' must be 0 or 1");
    return st;
}

typedef struct {
    int64_t max_out;
    float iou, score;
    bool has_score;
} nms_params;

static nn_status scalar_f(const nni_opctx *c, int32_t i, float *v, bool *present)
{
    *present = false;
    if (!nni_has_in(c, i) || nni_tensor_count(c->in[i]) == 0)
        return NN_OK;
    const nn_tensor *t = c->in[i];
    if (t->dtype != NN_DTYPE_FLOAT32 || nni_tensor_count(t) != 1)
        return nni_error(NN_E_TYPE, "NonMaxSuppression: input %d must be a float32 scalar", (int)i);
    if (!t->data)
        return NNI_DEFER;
    *v = *(const float *)t->data;
    *present = true;
    return NN_OK;
}

static nn_status nms_check(const nni_opctx *c, nms_params *p)
{
    const nn_tensor *boxes = c->in[0], *scores = c->in[1];
    if (boxes->dtype != NN_DTYPE_FLOAT32 || scores->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_TYPE, "NonMaxSuppression: boxes and scores must be float32");
    if (boxes->rank != 3 || boxes->dims[2] != 4 || scores->rank != 3 || scores->dims[0] != boxes->dims[0] ||
        scores->dims[2] != boxes->dims[1]) {
        char b0[160], b1[160];
        return nni_error(NN_E_SHAPE, "NonMaxSuppression: boxes %s must be [B,N,4] and scores %s [B,C,N]",
                         nni_shape_str(boxes->rank, boxes->dims, b0, sizeof b0),
                         nni_shape_str(scores->rank, scores->dims, b1, sizeof b1));
    }
    p->max_out = 0;
    if (nni_has_in(c, 2) && nni_tensor_count(c->in[2]) > 0) {
        int64_t n;
        nn_status st = nni_read_ints(c->in[2], "NonMaxSuppression max_output_boxes_per_class", &p->max_out, 1, &n);
        if (st != NN_OK)
            return st;
        if (p->max_out < 0)
            p->max_out = 0;
    }
    bool present;
    nn_status st = scalar_f(c, 3, &p->iou, &present);
    if (st != NN_OK)
        return st;
    if (!present)
        p->iou = 0;
    if (present && !(p->iou >= 0 && p->iou <= 1))
        return nni_error(NN_E_INVALID_ARG, "NonMaxSuppression: iou_threshold %g is outside [0, 1]", p->iou);
    if ((st = scalar_f(c, 4, &p->score, &p->has_score)) != NN_OK)
        return st;
    if (!boxes->data || !scores->data)
        return NNI_DEFER;
    return NN_OK;
}

/* Box as (y1, x1, y2, x2) with y1 <= y2, x1 <= x2. */
static void corners(const float *b, bool center, float *o)
{
    if (center) {
        o[0] = b[1] - b[3] / 2;
        o[1] = b[0] - b[2] / 2;
        o[2] = b[1] + b[3] / 2;
        o[3] = b[0] + b[2] / 2;
        return;
    }
    o[0] = fminf(b[0], b[2]);
    o[1] = fminf(b[1], b[3]);
    o[2] = fmaxf(b[0], b[2]);
    o[3] = fmaxf(b[1], b[3]);
}

static bool overlaps(const float *a, const float *b, float threshold)
{
    float area_a = (a[2] - a[0]) * (a[3] - a[1]), area_b = (b[2] - b[0]) * (b[3] - b[1]);
    if (area_a <= 0 || area_b <= 0)
        return false;
    float ih = fminf(a[2], b[2]) - fmaxf(a[0], b[0]), iw = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
    if (ih <= 0 || iw <= 0)
        return false;
    float inter = ih * iw, uni = area_a + area_b - inter;
    if (uni <= 0)
        return false;
    return inter / uni > threshold;
}

/* Run the selection; writes up to `cap` triples into out (may be NULL) and returns the total count. */
/* Stable merge sort of candidate indices by descending score: ties keep index order. */
static void sort_by_score(int64_t *idx, int64_t *tmp, int64_t n, const float *score)
{
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = score[idx[j]] > score[idx[i]] ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[o++] = idx[i++];
            while (j < hi)
                tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static int64_t nms_select(const nni_opctx *c, const nms_params *p, int64_t *cand, int64_t *tmp, float *sel_box,
                          int64_t *out, int64_t cap)
{
    const nms_state *s = c->state;
    const nn_tensor *boxes = c->in[0], *scores = c->in[1];
    int64_t B = boxes->dims[0], N = boxes->dims[1], C = scores->dims[1], total = 0;
    const float *bx = boxes->data, *sc = scores->data;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t k = 0; k < C; k++) {
            const float *cs = sc + (b * C + k) * N;
            int64_t nc = 0;
            for (int64_t i = 0; i < N; i++)
                if (!p->has_score || cs[i] > p->score)
                    cand[nc++] = i;
            sort_by_score(cand, tmp, nc, cs);
            int64_t picked = 0;
            for (int64_t i = 0; i < nc && picked < p->max_out; i++) {
                float box[4];
                corners(bx + (b * N + cand[i]) * 4, s->center_point_box != 0, box);
                bool keep = true;
                for (int64_t j = 0; j < picked && keep; j++)
                    keep = !overlaps(sel_box + 4 * j, box, p->iou);
                if (!keep)
                    continue;
                memcpy(sel_box + 4 * picked, box, sizeof box);
                picked++;
                if (out && total < cap) {
                    out[3 * total] = b;
                    out[3 * total + 1] = k;
                    out[3 * total + 2] = cand[i];
                }
                total++;
            }
        }
    }
    return total;
}

static nn_status nms_count(nni_opctx *c, const nms_params *p, int64_t *out, int64_t cap, int64_t *count)
{
    int64_t N = c->in[0]->dims[1];
    int64_t *cand = nni_malloc((size_t)(N ? N : 1) * (2 * sizeof(int64_t) + 4 * sizeof(float)));
    if (!cand)
        return nni_error(NN_E_NOMEM, "NonMaxSuppression: out of memory");
    *count = nms_select(c, p, cand, cand + N, (float *)(cand + 2 * N), out, cap);
    nni_free(cand);
    return NN_OK;
}

static nn_status nms_infer(nni_opctx *c)
{
    nms_params p;
    int64_t n = 0;
    nn_status st = nms_check(c, &p);
    if (st == NN_OK)
        st = nms_count(c, &p, NULL, 0, &n);
    if (st != NN_OK)
        return st;
    int64_t dims[2] = {n, 3};
    return nni_out_shape(c, 0, NN_DTYPE_INT64, 2, dims);
}

static nn_status nms_run(nni_opctx *c)
{
    nms_params p;
    int64_t n = 0;
    nn_status st = nms_check(c, &p);
    if (st != NN_OK)
        return st;
    return nms_count(c, &p, c->out[0]->data, c->out[0]->dims[0], &n);
}

const nni_op_desc nni_op_non_max_suppression = {
    .name = "NonMaxSuppression", .min_in = 2, .max_in = 5, .min_out = 1, .max_out = 1,
    .state_size = sizeof(nms_state),
    .prepare = nms_prepare, .infer = nms_infer, .run = nms_run,
};
