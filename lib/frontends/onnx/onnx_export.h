/* onnx_export.h — the ONNX writer's entry points (no protobuf types here). */
#ifndef NNI_ONNX_EXPORT_H
#define NNI_ONNX_EXPORT_H

#include "ir/graph.h"

/** Serialize `g` as an ONNX ModelProto into a new nni_malloc'd buffer. */
nn_status nni_onnx_save_memory(const nni_graph *g, uint8_t **data, size_t *size);
/** Write `g` to `path`, replacing any existing file atomically (temporary + rename). */
nn_status nni_onnx_save_file(const nni_graph *g, const char *path);

#endif
