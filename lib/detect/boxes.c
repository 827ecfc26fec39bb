/*
 * boxes.c — box geometry: the letterbox rules (darknet's and nn's) and their
 * inverse, from network-input-relative to image-relative boxes.
 */
#include <math.h>

#include "detect/detect.h"

void nni_det_darknet_fit(int32_t img_w, int32_t img_h, int32_t net_w, int32_t net_h, nni_det_fit *f)
{
    f->kind = NNI_FIT_DARKNET;
    f->img_w = img_w;
    f->img_h = img_h;
    f->net_w = net_w;
    f->net_h = net_h;
    /* darknet's letterbox_image: the limiting side fills the input, the
     * other is scaled with integer division */
    if ((float)net_w / img_w < (float)net_h / img_h) {
        f->w = net_w;
        f->h = (int32_t)(((int64_t)img_h * net_w) / img_w);
    } else {
        f->h = net_h;
        f->w = (int32_t)(((int64_t)img_w * net_h) / img_h);
    }
    if (f->w < 1)
        f->w = 1;
    if (f->h < 1)
        f->h = 1;
    f->x = (net_w - f->w) / 2;
    f->y = (net_h - f->h) / 2;
}

void nni_det_letterbox_fit(int32_t img_w, int32_t img_h, int32_t net_w, int32_t net_h, nni_det_fit *f)
{
    /* must match lib/image's letterbox (nn_image_to_tensor) */
    f->kind = NNI_FIT_LETTERBOX;
    f->img_w = img_w;
    f->img_h = img_h;
    f->net_w = net_w;
    f->net_h = net_h;
    double sx = (double)net_w / img_w, sy = (double)net_h / img_h, s = sx < sy ? sx : sy;
    int32_t w = (int32_t)lround(img_w * s), h = (int32_t)lround(img_h * s);
    f->w = w < 1 ? 1 : w > net_w ? net_w : w;
    f->h = h < 1 ? 1 : h > net_h ? net_h : h;
    f->x = (net_w - f->w) / 2;
    f->y = (net_h - f->h) / 2;
}

void nni_det_unfit(const nni_det_fit *f, nni_det_set *s)
{
    if (f->kind == NNI_FIT_STRETCH)
        return; /* input-relative is image-relative */
    for (int32_t i = 0; i < s->n; i++) {
        nni_det_rec *b = &s->recs[i];
        if (f->kind == NNI_FIT_DARKNET) {
            /* darknet's correct_yolo_boxes / correct_region_boxes: note the
             * float half-padding (the paste used integer division) */
            int netw = f->net_w, neth = f->net_h, new_w = f->w, new_h = f->h;
            b->x = (b->x - (netw - new_w) / 2. / netw) / ((float)new_w / netw);
            b->y = (b->y - (neth - new_h) / 2. / neth) / ((float)new_h / neth);
            b->w *= (float)netw / new_w;
            b->h *= (float)neth / new_h;
        } else {
            /* the resized image covers f->w input pixels from f->x */
            double px = (double)b->x * f->net_w, py = (double)b->y * f->net_h;
            b->x = (float)((px - f->x) / f->w);
            b->y = (float)((py - f->y) / f->h);
            b->w = (float)((double)b->w * f->net_w / f->w);
            b->h = (float)((double)b->h * f->net_h / f->h);
        }
    }
}

/* Length of the overlap of two centred segments (negative when apart). */
static float overlap(float c1, float l1, float c2, float l2)
{
    float lo1 = c1 - l1 / 2, lo2 = c2 - l2 / 2, hi1 = c1 + l1 / 2, hi2 = c2 + l2 / 2;
    float lo = lo1 > lo2 ? lo1 : lo2, hi = hi1 < hi2 ? hi1 : hi2;
    return hi - lo;
}

float nni_det_iou(const nni_det_rec *a, const nni_det_rec *b)
{
    float w = overlap(a->x, a->w, b->x, b->w), h = overlap(a->y, a->h, b->y, b->h);
    float inter = (w < 0 || h < 0) ? 0 : w * h;
    float uni = a->w * a->h + b->w * b->h - inter;
    return inter / uni;
}
