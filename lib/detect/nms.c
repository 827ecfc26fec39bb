/*
 * nms.c — non-maximum suppression and the final detection list. Per-class
 * NMS gives exactly darknet's do_nms_sort result (greedy by decreasing
 * probability, IoU strictly above the threshold suppresses) without its
 * O(classes x boxes²) scan: each class only looks at its own candidates.
 */
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"

typedef struct cand {
    float score;
    int32_t rec, cls;
} cand;

/* Best first; ties by record then class, so results do not depend on qsort. */
static int by_score(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->rec != b->rec)
        return a->rec < b->rec ? -1 : 1;
    return (a->cls > b->cls) - (a->cls < b->cls);
}

static int by_class_score(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    return by_score(pa, pb);
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

nn_status nni_det_nms(const nni_det_set *s, float iou, bool agnostic, uint32_t max_det, int32_t img_w, int32_t img_h,
                      nni_det **out, int32_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    /* candidates: every (record, class) with a probability */
    size_t n = 0;
    for (int32_t i = 0; i < s->n; i++)
        for (int32_t c = 0; c < s->classes; c++)
            n += s->recs[i].prob[c] > 0;
    if (n > INT32_MAX / 2)
        return nni_error(NN_E_LIMIT, "too many detection candidates (%zu)", n);
    cand *cs = nni_malloc((n ? n : 1) * sizeof *cs);
    uint8_t *dead = nni_calloc(n ? n : 1, 1);
    if (!cs || !dead) {
        nni_free(cs);
        nni_free(dead);
        return nni_error(NN_E_NOMEM, "cannot allocate %zu detection candidates", n);
    }
    size_t k = 0;
    for (int32_t i = 0; i < s->n; i++)
        for (int32_t c = 0; c < s->classes; c++)
            if (s->recs[i].prob[c] > 0)
                cs[k++] = (cand){s->recs[i].prob[c], i, c};
    qsort(cs, n, sizeof *cs, agnostic ? by_score : by_class_score);
    /* greedy within each run of one class (or over everything) */
    size_t start = 0;
    while (start < n) {
        size_t end = start + 1;
        while (!agnostic && end < n && cs[end].cls == cs[start].cls)
            end++;
        if (agnostic)
            end = n;
        for (size_t i = start; i < end; i++) {
            if (dead[i])
                continue;
            const nni_det_rec *a = &s->recs[cs[i].rec];
            for (size_t j = i + 1; j < end; j++)
                if (!dead[j] && nni_det_iou(a, &s->recs[cs[j].rec]) > iou)
                    dead[j] = 1;
        }
        start = end;
    }
    /* survivors, best first */
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!dead[i])
            cs[kept++] = cs[i];
    nni_free(dead);
    if (!agnostic)
        qsort(cs, kept, sizeof *cs, by_score);
    if (max_det && kept > max_det)
        kept = max_det;
    nni_det *d = nni_malloc((kept ? kept : 1) * sizeof *d);
    if (!d) {
        nni_free(cs);
        return nni_error(NN_E_NOMEM, "cannot allocate %zu detections", kept);
    }
    for (size_t i = 0; i < kept; i++) {
        const nni_det_rec *b = &s->recs[cs[i].rec];
        /* corners as darknet draws them: (x - w/2) * W in double */
        d[i].x0 = clampf((float)((b->x - b->w / 2.) * img_w), 0, (float)img_w);
        d[i].x1 = clampf((float)((b->x + b->w / 2.) * img_w), 0, (float)img_w);
        d[i].y0 = clampf((float)((b->y - b->h / 2.) * img_h), 0, (float)img_h);
        d[i].y1 = clampf((float)((b->y + b->h / 2.) * img_h), 0, (float)img_h);
        d[i].score = cs[i].score;
        d[i].cls = cs[i].cls;
        d[i].rec = cs[i].rec;
    }
    nni_free(cs);
    *out = d;
    *n_out = (int32_t)kept;
    return NN_OK;
}
