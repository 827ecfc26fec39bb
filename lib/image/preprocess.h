/*
 * preprocess.h — the preprocessing contract: the metadata_props keys a model
 * carries (the one place their names live; docs/metadata.md documents them),
 * the settings resolved from options + metadata + the model's input, and the
 * step that turns images into the input tensor.
 */
#ifndef NNI_IMAGE_PREPROCESS_H
#define NNI_IMAGE_PREPROCESS_H

#include "image/image.h"

#define NNI_META_MEAN "nn.input.mean"     /* per channel, comma-separated, 0-1 pixel scale */
#define NNI_META_STD "nn.input.std"       /* likewise */
#define NNI_META_COLOR "nn.input.color"   /* RGB | BGR | GRAY */
#define NNI_META_RESIZE "nn.input.resize" /* stretch | letterbox | center-crop */
#define NNI_META_LABELS "nn.labels"       /* class names, one per line */

/** Everything needed to turn an image into the model's input, resolved. */
typedef struct nni_contract {
    int32_t color;    /* NN_COLOR_RGB / BGR / GRAY */
    int32_t channels; /* 1 for GRAY, else 3 */
    int32_t resize;   /* NN_RESIZE_STRETCH / LETTERBOX / CENTER_CROP */
    int32_t filter;
    int64_t batch;    /* the model's fixed N, or -1 */
    bool unbatched;   /* the model's input is one [C, H, W] image (batch is then 1) */
    int32_t width, height; /* 0 = take the first image's */
    float mean[3], std[3];
    float pad_value, crop_fraction;
    const nni_limits *limits; /* the model's (its sizes come from the file), or NULL */
} nni_contract;

/**
 * Resolve options (NULL = all AUTO) against the model's metadata and first
 * input (model may be NULL). Messages name the option or metadata key.
 */
nn_status nni_contract_resolve(const nn_model *model, const nn_preprocess_options *options, nni_contract *out);
/** Preprocess `count` images into a new float32 [count, C, H, W] tensor. */
nn_status nni_images_to_tensor(const nni_contract *c, const nn_image *const *images, uint32_t count, nn_tensor **out);

#endif
