/* onnx_skeleton.h — ModelProto without its initializer payloads (see onnx_skeleton.c). */
#ifndef NNI_ONNX_SKELETON_H
#define NNI_ONNX_SKELETON_H

#include "core/common.h"

/** Where initializer i's raw_data lies in the original bytes. */
typedef struct nni_onnx_payload {
    uint64_t offset, len;
    bool present; /* the initializer had raw_data */
} nni_onnx_payload;

typedef struct nni_onnx_skeleton_t {
    uint8_t *bytes;            /* NULL: the walk gave up; parse the original */
    size_t size;
    nni_onnx_payload *payloads; /* per graph initializer, in order */
    int32_t n_payloads;
} nni_onnx_skeleton_t;

/** The original bytes, and the file they came from (fd >= 0: payloads are read with pread). */
typedef struct nni_onnx_source {
    const uint8_t *bytes;
    int fd;
} nni_onnx_source;

nn_status nni_onnx_skeleton(const uint8_t *bytes, size_t size, nni_onnx_skeleton_t *sk);
void nni_onnx_skeleton_free(nni_onnx_skeleton_t *sk);
/** Copy one payload into dst (pl->len bytes). */
nn_status nni_onnx_payload_read(const nni_onnx_source *src, const nni_onnx_payload *pl, void *dst);

#endif
