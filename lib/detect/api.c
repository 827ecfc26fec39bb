/*
 * api.c — nn_detect(): an image in, boxes in the image's own pixels out.
 * Preprocess (darknet's exact letterbox for darknet models, else the model's
 * preprocessing contract, letterbox by default), run, decode per family,
 * undo the fit, NMS.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "detect/detect.h"
#include "exec/session.h"
#include "image/image.h"
#include "image/labels.h"
#include "image/preprocess.h"
#include "tensor/tensor.h"

#define DEFAULT_SCORE 0.25f
#define DEFAULT_IOU 0.45f
#define DEFAULT_MAX_DET 300u
#define DEFAULT_SIZE 640

struct nn_detections {
    uint32_t count;
    nni_det *dets;
    nni_labels labels;
};

NN_API nn_status nn_detect_options_init(nn_detect_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options_init: options is NULL");
    if (version != NN_DETECT_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options_init: version %u is not supported (this library knows %d)",
                         version, NN_DETECT_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->family = NN_DETECT_AUTO;
    o->score_threshold = DEFAULT_SCORE;
    o->iou_threshold = DEFAULT_IOU;
    o->max_detections = DEFAULT_MAX_DET;
    return NN_OK;
}

static nn_status check_options(const nn_detect_options *o)
{
    if (o->version < 1 || o->version > NN_DETECT_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options.version %u is not supported (expected 1..%d)", o->version,
                         NN_DETECT_OPTIONS_VERSION);
    if (o->family < NN_DETECT_AUTO || o->family > NN_DETECT_YOLOV8)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options.family %d is not an NN_DETECT_* value", (int)o->family);
    if (!(o->score_threshold >= 0 && o->score_threshold <= 1))
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options.score_threshold %g is not in [0, 1]",
                         (double)o->score_threshold);
    if (!(o->iou_threshold >= 0 && o->iou_threshold <= 1))
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options.iou_threshold %g is not in [0, 1]", (double)o->iou_threshold);
    if (o->class_agnostic != 0 && o->class_agnostic != 1)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options.class_agnostic must be 0 or 1");
    if (o->input_width < 0 || o->input_height < 0)
        return nni_error(NN_E_INVALID_ARG, "nn_detect_options: input size %dx%d is negative", (int)o->input_width,
                         (int)o->input_height);
    return NN_OK;
}

/* The input size: a fixed model dimension, else the option, else 640. */
static nn_status input_size(const nn_model *m, int32_t axis, int32_t opt, const char *what, int32_t *out)
{
    int64_t d = -1;
    nn_status st = nn_model_input_dim(m, 0, axis, &d, NULL);
    if (st != NN_OK)
        return st;
    if (d > 0 && opt > 0 && opt != d)
        return nni_error(NN_E_SHAPE, "nn_detect_options.input_%s %d differs from the model's fixed %lld", what, (int)opt,
                         (long long)d);
    if (d > 65536)
        return nni_error(NN_E_LIMIT, "the model's input %s %lld is too large", what, (long long)d);
    *out = d > 0 ? (int32_t)d : opt > 0 ? opt : DEFAULT_SIZE;
    return NN_OK;
}

/* darknet's path: 8-bit samples (16-bit ones keep their high byte). */
static nn_status darknet_input(const nn_image *im, int32_t net_w, int32_t net_h, nn_tensor **out)
{
    int64_t dims[4] = {1, 3, net_h, net_w};
    nn_status st = nni_tensor_new(NN_DTYPE_FLOAT32, 4, dims, out);
    if (st != NN_OK)
        return st;
    const uint8_t *px = im->data;
    uint8_t *tmp = NULL;
    if (im->dtype == NN_DTYPE_UINT16) {
        size_t n = (size_t)im->width * (size_t)im->height * (size_t)im->channels;
        if (!(tmp = nni_malloc(n ? n : 1))) {
            nn_tensor_free(*out);
            *out = NULL;
            return nni_error(NN_E_NOMEM, "cannot convert a 16-bit image");
        }
        const uint16_t *s = (const uint16_t *)(const void *)im->data;
        for (size_t i = 0; i < n; i++)
            tmp[i] = (uint8_t)(s[i] >> 8);
        px = tmp;
    }
    st = nni_det_darknet_letterbox(px, im->width, im->height, im->channels, net_w, net_h, (float *)(*out)->data);
    nni_free(tmp);
    if (st != NN_OK) {
        nn_tensor_free(*out);
        *out = NULL;
    }
    return st;
}

static nn_status preprocess(const nn_model *m, const nn_image *im, const nn_detect_options *o, int32_t net_w,
                            int32_t net_h, nn_tensor **input, nni_det_fit *fit)
{
    const char *lb = nn_model_metadata(m, "nn.detect.letterbox");
    if (lb && strcmp(lb, "darknet") != 0)
        return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.letterbox='%.40s' is not 'darknet'", lb);
    bool darknet = lb && (!o->preprocess || o->preprocess->resize == NN_RESIZE_AUTO);
    if (darknet) {
        int64_t c = -1;
        nn_model_input_dim(m, 0, 1, &c, NULL);
        if (c != 3)
            return nni_error(NN_E_SHAPE, "darknet letterboxing feeds 3 channels, the model's input has %lld",
                             (long long)c);
        /* the size comes from the model file: within its limits before allocating */
        int64_t dims[4] = {1, 3, net_h, net_w};
        nn_tensor shape = {0};
        nn_status st = nni_tensor_set_shape(&shape, NN_DTYPE_FLOAT32, 4, dims);
        if (st == NN_OK)
            st = nni_check_tensor_limits(&m->graph.limits, &shape, "the input tensor");
        if (st != NN_OK)
            return st;
        nni_det_darknet_fit(im->width, im->height, net_w, net_h, fit);
        return darknet_input(im, net_w, net_h, input);
    }
    nn_preprocess_options pre;
    if (o->preprocess)
        pre = *o->preprocess;
    else
        nn_preprocess_options_init(&pre, NN_PREPROCESS_OPTIONS_VERSION);
    /* detectors are letterboxed unless the caller or the model says otherwise */
    if (pre.resize == NN_RESIZE_AUTO && !nn_model_metadata(m, NNI_META_RESIZE))
        pre.resize = NN_RESIZE_LETTERBOX;
    int64_t d = -1;
    int32_t rank = 4;
    nn_model_input_info(m, 0, NULL, NULL, &rank);
    if (nn_model_input_dim(m, 0, rank - 1, &d, NULL) == NN_OK && d <= 0 && pre.width == 0)
        pre.width = net_w;
    if (nn_model_input_dim(m, 0, rank - 2, &d, NULL) == NN_OK && d <= 0 && pre.height == 0)
        pre.height = net_h;
    nni_contract c;
    nn_status st = nni_contract_resolve(m, &pre, &c);
    if (st != NN_OK)
        return st;
    if (c.resize == NN_RESIZE_CENTER_CROP)
        return nni_error(NN_E_UNSUPPORTED, "detection with center-crop preprocessing is not supported (boxes outside "
                         "the crop are lost): use letterbox or stretch");
    if (c.width != net_w || c.height != net_h)
        return nni_error(NN_E_SHAPE, "preprocessing gives %dx%d, the detector expects %dx%d", (int)c.width,
                         (int)c.height, (int)net_w, (int)net_h);
    if (c.resize == NN_RESIZE_LETTERBOX)
        nni_det_letterbox_fit(im->width, im->height, net_w, net_h, fit);
    else
        *fit = (nni_det_fit){.kind = NNI_FIT_STRETCH, .img_w = im->width, .img_h = im->height, .net_w = net_w,
                             .net_h = net_h};
    return nni_images_to_tensor(&c, &im, 1, input);
}

/*
 * Final detections (torchvision's Faster R-CNN export): the model's metadata
 * says faster_rcnn, or, with no family given, its three outputs are boxes
 * [N, 4] float, labels [N] int64 and scores [N] float. fin = boxes, labels,
 * scores.
 */
static nn_status find_final(const nn_model *m, const nn_detect_options *o, nn_session *session, const nn_tensor *fin[3],
                            bool *found)
{
    *found = false;
    if (o->family != NN_DETECT_AUTO)
        return NN_OK;
    const char *meta = nn_model_metadata(m, "nn.detect.family");
    int32_t fam = nni_det_family_from_name(meta);
    if (meta && fam != NNI_FAMILY_FINAL)
        return NN_OK;
    uint32_t n_out = nn_session_output_count(session);
    fin[0] = fin[1] = fin[2] = NULL;
    for (uint32_t k = 0; k < n_out; k++) {
        const nn_tensor *t = nn_session_output(session, k);
        if (!fin[0] && t->rank == 2 && t->dims[1] == 4 && t->dtype == NN_DTYPE_FLOAT32)
            fin[0] = t;
        else if (!fin[1] && t->rank == 1 && t->dtype == NN_DTYPE_INT64)
            fin[1] = t;
        else if (!fin[2] && t->rank == 1 && t->dtype == NN_DTYPE_FLOAT32)
            fin[2] = t;
    }
    bool ok = n_out == 3 && fin[0] && fin[1] && fin[2] && fin[1]->dims[0] == fin[0]->dims[0] &&
              fin[2]->dims[0] == fin[0]->dims[0];
    if (!ok && meta)
        return nni_error(NN_E_SHAPE, "a faster_rcnn detector's outputs are boxes [N, 4] float32, labels [N] int64 "
                         "and scores [N] float32");
    *found = ok;
    return NN_OK;
}

/* The model's detections are final (it ran its own NMS): keep those above the
 * score threshold, best first, mapped back to the image. */
static nn_status detect_final(const nn_model *m, const nn_detect_options *o, const nn_image *image,
                              const nni_det_fit *fit, int32_t net_w, int32_t net_h, const nn_tensor *fin[3],
                              nn_detections *r)
{
    const char *labels = o->labels ? o->labels : nn_model_metadata(m, NNI_META_LABELS);
    nn_status st = nni_labels_parse(labels, &r->labels);
    if (st != NN_OK)
        return st;
    int64_t n = fin[0]->dims[0], classes = r->labels.count;
    const int64_t *lab = fin[1]->data;
    const char *meta = nn_model_metadata(m, "nn.detect.classes");
    if (meta) {
        char *end;
        classes = strtoll(meta, &end, 10);
        if (end == meta || *end || classes < 1 || classes > 1000000)
            return nni_error(NN_E_INVALID_MODEL, "metadata nn.detect.classes='%.40s' is not a positive count", meta);
        if (r->labels.count && r->labels.count != (uint32_t)classes)
            return nni_error(o->labels ? NN_E_INVALID_ARG : NN_E_INVALID_MODEL, "%u labels for %lld classes",
                             r->labels.count, (long long)classes);
    } else if (!classes) {
        classes = 1; /* no names: the labels the model gives */
        for (int64_t i = 0; i < n; i++)
            if (lab[i] >= classes && lab[i] < 1000000)
                classes = lab[i] + 1;
    }
    nni_det_set set;
    nni_det_set_init(&set, (int32_t)classes);
    st = nni_det_decode_final(fin[0]->data, lab, fin[2]->data, n, net_w, net_h, o->score_threshold, &set);
    int32_t kept = 0;
    if (st == NN_OK) {
        nni_det_unfit(fit, &set);
        /* no NMS: an IoU above 2 never happens */
        st = nni_det_nms(&set, 2.0f, false, o->max_detections, image->width, image->height, &r->dets, &kept);
    }
    nni_det_set_free(&set);
    r->count = (uint32_t)kept;
    return st;
}

static nn_status detect(nn_session *session, const nn_image *image, const nn_detect_options *o, nn_detections *r)
{
    const nn_model *m = nni_session_model(session);
    int32_t net_w, net_h;
    if (nn_model_input_count(m) != 1)
        return nni_error(NN_E_SHAPE, "a detector takes one image input, the model has %u inputs",
                         nn_model_input_count(m));
    int32_t rank = 0;
    nn_model_input_info(m, 0, NULL, NULL, &rank);
    if (rank != 4 && rank != 3)
        return nni_error(NN_E_SHAPE, "a detector's input is [1, C, H, W] or [C, H, W], the model's has rank %d",
                         (int)rank);
    nn_status st = input_size(m, rank - 1, o->input_width, "width", &net_w);
    if (st == NN_OK)
        st = input_size(m, rank - 2, o->input_height, "height", &net_h);
    if (st != NN_OK)
        return st;
    nn_tensor *input = NULL;
    nni_det_fit fit;
    if ((st = preprocess(m, image, o, net_w, net_h, &input, &fit)) != NN_OK)
        return nni_error_prefix(st, "preprocessing the image");
    st = nn_session_run(session, 1, NULL, (const nn_tensor *const *)&input);
    nn_tensor_free(input);
    if (st != NN_OK)
        return st;
    const nn_tensor *fin[3];
    bool final;
    if ((st = find_final(m, o, session, fin, &final)) != NN_OK)
        return st;
    if (final)
        return detect_final(m, o, image, &fit, net_w, net_h, fin, r);
    uint32_t n_out = nn_session_output_count(session);
    if (n_out > NNI_DET_MAX_HEADS)
        return nni_error(NN_E_UNSUPPORTED, "a detector with %u outputs is not supported", n_out);
    nni_det_head heads[NNI_DET_MAX_HEADS];
    for (uint32_t k = 0; k < n_out; k++) {
        const nn_tensor *t = nn_session_output(session, k);
        if (t->dtype != NN_DTYPE_FLOAT32 || t->rank > 4)
            return nni_error(NN_E_TYPE, "output %u is not a float32 tensor of rank <= 4", k);
        heads[k].data = t->data;
        heads[k].rank = t->rank;
        memcpy(heads[k].dims, t->dims, (size_t)t->rank * sizeof t->dims[0]);
    }
    nni_det_params p;
    if ((st = nni_det_params_resolve(m, o->family, heads, (int32_t)n_out, net_w, net_h, &p)) != NN_OK)
        return st;
    const char *labels = o->labels ? o->labels : nn_model_metadata(m, NNI_META_LABELS);
    if ((st = nni_labels_parse(labels, &r->labels)) != NN_OK)
        return st;
    if (r->labels.count && r->labels.count != (uint32_t)p.classes)
        return nni_error(o->labels ? NN_E_INVALID_ARG : NN_E_INVALID_MODEL, "%u labels for %d classes",
                         r->labels.count, (int)p.classes);
    nni_det_set set;
    nni_det_set_init(&set, p.classes);
    st = nni_det_decode(&p, heads, (int32_t)n_out, o->score_threshold, &set);
    int32_t n = 0;
    if (st == NN_OK) {
        nni_det_unfit(&fit, &set);
        st = nni_det_nms(&set, o->iou_threshold, o->class_agnostic != 0, o->max_detections, image->width,
                         image->height, &r->dets, &n);
    }
    nni_det_set_free(&set);
    r->count = (uint32_t)n;
    return st;
}

NN_API nn_status nn_detect(nn_session *session, const nn_image *image, const nn_detect_options *options,
                           nn_detections **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_detect: out is NULL");
    *out = NULL;
    if (!session || !image)
        return nni_error(NN_E_INVALID_ARG, "nn_detect: session or image is NULL");
    nn_detect_options o;
    nn_detect_options_init(&o, NN_DETECT_OPTIONS_VERSION);
    if (options) {
        nn_status st = check_options(options);
        if (st != NN_OK)
            return st;
        memcpy(&o, options, sizeof o); /* version 1 is the whole struct */
    }
    nn_detections *r = nni_calloc(1, sizeof *r);
    if (!r)
        return nni_error(NN_E_NOMEM, "nn_detect: out of memory");
    nn_status st = detect(session, image, &o, r);
    if (st != NN_OK) {
        nn_detections_free(r);
        return nni_error_prefix(st, "nn_detect");
    }
    *out = r;
    return NN_OK;
}

NN_API void nn_detections_free(nn_detections *r)
{
    if (!r)
        return;
    nni_free(r->dets);
    nni_labels_free(&r->labels);
    nni_free(r);
}

NN_API uint32_t nn_detections_count(const nn_detections *r) { return r ? r->count : 0; }

NN_API nn_status nn_detections_get(const nn_detections *r, uint32_t index, float *x0, float *y0, float *x1, float *y1,
                                   float *score, uint32_t *class_index, const char **label)
{
    nni_error_clear();
    if (!r)
        return nni_error(NN_E_INVALID_ARG, "nn_detections_get: result is NULL");
    if (index >= r->count)
        return nni_error(NN_E_INVALID_ARG, "nn_detections_get: index %u is out of range (%u detections)", index,
                         r->count);
    const nni_det *d = &r->dets[index];
    if (x0)
        *x0 = d->x0;
    if (y0)
        *y0 = d->y0;
    if (x1)
        *x1 = d->x1;
    if (y1)
        *y1 = d->y1;
    if (score)
        *score = d->score;
    if (class_index)
        *class_index = (uint32_t)d->cls;
    if (label)
        *label = (uint32_t)d->cls < r->labels.count ? r->labels.names[d->cls] : "";
    return NN_OK;
}
