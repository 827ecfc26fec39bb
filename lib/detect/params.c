/*
 * params.c — how to read a detector's outputs: family, classes, anchors and
 * masks from the model's nn.detect.* metadata, completed from the output
 * shapes (and, for the classic COCO darknet layouts, darknet's default
 * anchors when a model carries no metadata).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect/detect.h"

static const float coco_v3[] = {10, 13, 16, 30, 33, 23, 30, 61, 62, 45, 59, 119, 116, 90, 156, 198, 373, 326};
static const float coco_v3_tiny[] = {10, 14, 23, 27, 37, 58, 81, 82, 135, 169, 344, 319};
static const float coco_v2[] = {0.57273f, 0.677385f, 1.87446f, 2.06253f, 3.33843f, 5.47434f, 7.88282f, 3.52778f,
                                9.77052f, 9.16828f};

int32_t nni_det_family_from_name(const char *s)
{
    if (!s)
        return NNI_FAMILY_AUTO;
    if (!strcasecmp(s, "yolov2") || !strcasecmp(s, "region"))
        return NNI_FAMILY_YOLOV2;
    if (!strcasecmp(s, "yolov3") || !strcasecmp(s, "yolo"))
        return NNI_FAMILY_YOLOV3;
    if (!strcasecmp(s, "yolov5"))
        return NNI_FAMILY_YOLOV5;
    if (!strcasecmp(s, "yolov8"))
        return NNI_FAMILY_YOLOV8;
    if (!strcasecmp(s, "faster_rcnn") || !strcasecmp(s, "boxes"))
        return NNI_FAMILY_FINAL;
    return -1;
}

static void set_anchors(nni_det_params *p, const float *a, int32_t n)
{
    memcpy(p->anchors, a, (size_t)n * sizeof *a);
    p->n_anchors = n / 2;
}

/* Without masks: anchors go to heads in order of grid size, the coarsest
 * grid taking the largest anchors (darknet's convention). */
static nn_status default_masks(nni_det_params *p, const nni_det_head *heads, int32_t n_heads)
{
    int32_t order[NNI_DET_MAX_HEADS];
    for (int32_t k = 0; k < n_heads; k++)
        order[k] = k;
    for (int32_t i = 1; i < n_heads; i++) /* insertion sort by grid area, descending */
        for (int32_t j = i; j > 0; j--) {
            int64_t a = heads[order[j]].dims[2] * heads[order[j]].dims[3];
            int64_t b = heads[order[j - 1]].dims[2] * heads[order[j - 1]].dims[3];
            if (a <= b)
                break;
            int32_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    int32_t next = 0;
    for (int32_t i = 0; i < n_heads; i++) {
        int32_t k = order[i];
        int64_t A = heads[k].dims[1] / (5 + p->classes);
        if (A < 1 || A > NNI_DET_MAX_ANCHORS || next + A > p->n_anchors)
            return nni_error(NN_E_INVALID_MODEL, "the outputs need more anchors than the %d given (set nn.detect.masks)",
                             (int)p->n_anchors);
        for (int64_t a = 0; a < A; a++)
            p->mask[k][a] = next + (int32_t)a;
        p->mask_len[k] = (int32_t)A;
        next += (int32_t)A;
    }
    p->n_heads = n_heads;
    return NN_OK;
}

nn_status nni_det_params_resolve(const nn_model *m, int32_t family, const nni_det_head *heads, int32_t n_heads,
                                 int32_t net_w, int32_t net_h, nni_det_params *p)
{
    memset(p, 0, sizeof *p);
    p->net_w = net_w;
    p->net_h = net_h;
    if (n_heads < 1 || n_heads > NNI_DET_MAX_HEADS)
        return nni_error(NN_E_UNSUPPORTED, "a detector with %d outputs is not supported (1..%d)", (int)n_heads,
                         NNI_DET_MAX_HEADS);
    const char *meta_family = nn_model_metadata(m, "nn.detect.family");
    if (family == NNI_FAMILY_AUTO && meta_family) {
        family = nni_det_family_from_name(meta_family);
        if (family < 0)
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.family='%.40s' is not yolov2, yolov3, yolov5, "
                             "yolov8 or faster_rcnn", meta_family);
    }
    bool rank4 = true;
    for (int32_t k = 0; k < n_heads; k++)
        rank4 = rank4 && heads[k].rank == 4;
    if (family == NNI_FAMILY_AUTO) {
        if (n_heads == 1 && heads[0].rank == 3)
            family = heads[0].dims[1] > heads[0].dims[2] ? NNI_FAMILY_YOLOV5 : NNI_FAMILY_YOLOV8;
        else if (rank4 && n_heads == 1 && heads[0].dims[1] == 425)
            family = NNI_FAMILY_YOLOV2;
        else if (rank4 && (n_heads == 2 || n_heads == 3))
            family = NNI_FAMILY_YOLOV3;
        else
            return nni_error(NN_E_INVALID_MODEL, "cannot tell the detector family from the %d outputs: set metadata "
                             "nn.detect.family (or the family option)", (int)n_heads);
    }
    p->family = family;
    nn_status st = nni_det_parse_anchors(nn_model_metadata(m, "nn.detect.anchors"), p);
    if (st == NN_OK)
        st = nni_det_parse_masks(nn_model_metadata(m, "nn.detect.masks"), p);
    if (st != NN_OK)
        return st;
    const char *cls = nn_model_metadata(m, "nn.detect.classes");
    if (cls) {
        char *end;
        long v = strtol(cls, &end, 10);
        if (end == cls || *end || v < 1 || v > 1000000)
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.classes='%.40s' is not a positive count", cls);
        p->classes = (int32_t)v;
    }
    switch (family) {
    case NNI_FAMILY_YOLOV5:
    case NNI_FAMILY_YOLOV8:
        if (!p->classes && heads[0].rank == 3)
            p->classes = (int32_t)((family == NNI_FAMILY_YOLOV8 ? heads[0].dims[1] : heads[0].dims[2]) -
                                   (family == NNI_FAMILY_YOLOV8 ? 4 : 5));
        break;
    case NNI_FAMILY_YOLOV2:
        if (!p->n_anchors && rank4 && heads[0].dims[1] == 425)
            set_anchors(p, coco_v2, 10);
        if (!p->classes && p->n_anchors && rank4)
            p->classes = (int32_t)(heads[0].dims[1] / p->n_anchors - 5);
        break;
    case NNI_FAMILY_YOLOV3:
        if (!p->n_anchors && rank4 && heads[0].dims[1] == 255 && (n_heads == 2 || n_heads == 3))
            set_anchors(p, n_heads == 3 ? coco_v3 : coco_v3_tiny, n_heads == 3 ? 18 : 12);
        if (!p->classes && p->n_heads && rank4 && p->mask_len[0] > 0)
            p->classes = (int32_t)(heads[0].dims[1] / p->mask_len[0] - 5);
        /* anchors split evenly over the heads (at least one each) */
        if (!p->classes && !p->n_heads && rank4 && p->n_anchors >= n_heads && p->n_anchors % n_heads == 0)
            p->classes = (int32_t)(heads[0].dims[1] / (p->n_anchors / n_heads) - 5);
        if (!p->n_heads && p->classes > 0 && rank4 && (st = default_masks(p, heads, n_heads)) != NN_OK)
            return st;
        break;
    }
    if (p->classes < 1)
        return nni_error(NN_E_INVALID_MODEL, "cannot tell the number of classes: set metadata nn.detect.classes");
    return NN_OK;
}
