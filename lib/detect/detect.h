/*
 * detect.h — object detection internals: decoding raw YOLO outputs into box
 * records, mapping them back through the letterbox, NMS, and the detection
 * list handed to callers. Kept free of sessions and images so every step is
 * testable on fixed raw tensors.
 */
#ifndef NNI_DETECT_H
#define NNI_DETECT_H

#include "core/common.h"

/* Families (the public NN_DETECT_* values). */
enum {
    NNI_FAMILY_AUTO = 0,
    NNI_FAMILY_YOLOV2 = 1,
    NNI_FAMILY_YOLOV3 = 2,
    NNI_FAMILY_YOLOV5 = 3,
    NNI_FAMILY_YOLOV8 = 4,
    /* final detections (torchvision's Faster R-CNN and friends): boxes [N, 4] as corners in input pixels,
     * labels [N] int64, scores [N]; metadata value faster_rcnn (no public NN_DETECT_* value) */
    NNI_FAMILY_FINAL = 5,
};

#define NNI_DET_MAX_HEADS 8
#define NNI_DET_MAX_ANCHORS 64

/**
 * A candidate box: centre and size relative to the network input (0..1)
 * until mapped back to the image (then relative to the image), objectness
 * and per-class probabilities (0 = not a candidate for that class).
 */
typedef struct nni_det_rec {
    float x, y, w, h;
    float objectness;
    float *prob;        /* `classes` entries in the set's pool */
} nni_det_rec;

typedef struct nni_det_set {
    int32_t classes;
    int32_t n, cap;
    nni_det_rec *recs;
    float *pool;        /* cap * classes */
} nni_det_set;

void nni_det_set_init(nni_det_set *s, int32_t classes);
void nni_det_set_free(nni_det_set *s);
/** Append a record (zeroed probabilities); returns it or NULL on OOM. */
nni_det_rec *nni_det_set_add(nni_det_set *s);

/** One raw output: [1, C, H, W] for YOLO heads, [1, A, B] for flat outputs. */
typedef struct nni_det_head {
    const float *data;
    int32_t rank;
    int64_t dims[4];
} nni_det_head;

/** How to read the heads; filled from metadata (nni_det_params_from_meta) or by hand. */
typedef struct nni_det_params {
    int32_t family;
    int32_t classes;
    int32_t net_w, net_h;               /* network input size in pixels */
    int32_t n_anchors;                  /* anchors (pairs) */
    float anchors[2 * NNI_DET_MAX_ANCHORS]; /* yolov3: input pixels; yolov2: grid cells */
    int32_t n_heads;
    int32_t mask_len[NNI_DET_MAX_HEADS]; /* yolov3: anchors of each head */
    int32_t mask[NNI_DET_MAX_HEADS][NNI_DET_MAX_ANCHORS];
} nni_det_params;

/**
 * Parse nn.detect.* metadata strings (any may be NULL) into params (family
 * and sizes are left to the caller when absent). NN_E_INVALID_MODEL naming
 * the key when malformed.
 */
nn_status nni_det_parse_anchors(const char *s, nni_det_params *p);
nn_status nni_det_parse_masks(const char *s, nni_det_params *p);

/** Family from a metadata name ("yolov3", ...): NNI_FAMILY_AUTO for NULL, -1 if unknown. */
int32_t nni_det_family_from_name(const char *s);

/**
 * Everything needed to decode `heads` (the model's outputs after a run):
 * `family` (NNI_FAMILY_AUTO = the metadata's, else guessed from the output
 * shapes), classes, anchors and masks from nn.detect.* metadata, completed
 * from the shapes and darknet's COCO defaults when absent.
 */
nn_status nni_det_params_resolve(const nn_model *m, int32_t family, const nni_det_head *heads, int32_t n_heads,
                                 int32_t net_w, int32_t net_h, nni_det_params *p);

/**
 * Decode heads into records, darknet's way for YOLOv2/v3 (a record per
 * anchor and cell whose objectness passes `thresh`, class probabilities
 * objectness * class kept where > thresh), and the common way for the flat
 * YOLOv5/v8 layouts (boxes in input pixels; the best class only, kept where
 * its score > thresh). Records are in darknet's order (v3: cell-major then
 * anchor; v2: anchor-major).
 */
nn_status nni_det_decode(const nni_det_params *p, const nni_det_head *heads, int32_t n_heads, float thresh,
                         nni_det_set *out);

/**
 * Final detections (NNI_FAMILY_FINAL): one record per box whose label is in
 * [0, classes) and whose score > thresh, with that class's probability the
 * score. Boxes are corners in input pixels of a net_w x net_h input.
 */
nn_status nni_det_decode_final(const float *boxes, const int64_t *labels, const float *scores, int64_t n,
                               int32_t net_w, int32_t net_h, float thresh, nni_det_set *out);

/** How the image was fitted into the network input. */
typedef struct nni_det_fit {
    int32_t kind;         /* NNI_FIT_* */
    int32_t img_w, img_h; /* original image */
    int32_t net_w, net_h;
    int32_t x, y, w, h;   /* letterbox: where the resized image sits in the input */
} nni_det_fit;

enum { NNI_FIT_STRETCH = 0, NNI_FIT_LETTERBOX = 1, NNI_FIT_DARKNET = 2 };

/** darknet's letterbox size: new_w x new_h (integer division rule). */
void nni_det_darknet_fit(int32_t img_w, int32_t img_h, int32_t net_w, int32_t net_h, nni_det_fit *f);
/**
 * nn's general letterbox (same rule as nn_image_to_tensor: scale =
 * min(W/w, H/h), size rounded, centred with integer offsets).
 */
void nni_det_letterbox_fit(int32_t img_w, int32_t img_h, int32_t net_w, int32_t net_h, nni_det_fit *f);
/** Map every record from input-relative to image-relative coordinates. */
void nni_det_unfit(const nni_det_fit *f, nni_det_set *s);

/** A final detection: corners in image pixels. */
typedef struct nni_det {
    float x0, y0, x1, y1;
    float score;
    int32_t cls;
    int32_t rec;  /* record it came from */
} nni_det;

/** IoU of two centre-size boxes (darknet's box_iou arithmetic, in float). */
float nni_det_iou(const nni_det_rec *a, const nni_det_rec *b);

/**
 * NMS and selection: every (record, class) with prob > 0 becomes a
 * candidate; per class (or across classes when `agnostic`), candidates are
 * taken by decreasing score and each kept one removes later ones whose IoU
 * with it is > iou (strict, as darknet). Keeps at most `max_det` (0 = all),
 * best first, corners in pixels of the img_w x img_h image (clamped to it).
 * *out is nni_malloc'd.
 */
nn_status nni_det_nms(const nni_det_set *s, float iou, bool agnostic, uint32_t max_det, int32_t img_w, int32_t img_h,
                      nni_det **out, int32_t *n_out);

/**
 * darknet's image preprocessing for `detector test`: interleaved 8-bit
 * pixels (1..4 channels; gray replicated, alpha dropped) to planar RGB
 * floats /255, resized by darknet's separable align-corners bilinear into
 * the letterbox and pasted on a 0.5 canvas. `out` holds 3 * net_w * net_h.
 */
nn_status nni_det_darknet_letterbox(const uint8_t *pixels, int32_t w, int32_t h, int32_t channels, int32_t net_w,
                                    int32_t net_h, float *out);

#endif
