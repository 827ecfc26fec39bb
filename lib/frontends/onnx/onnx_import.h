/* onnx_import.h — the ONNX frontend's entry point (no protobuf types here). */
#ifndef NNI_ONNX_IMPORT_H
#define NNI_ONNX_IMPORT_H

#include "ir/graph.h"

/**
 * Build `g` (initialised, empty) from serialized ONNX bytes.
 * @param base_dir folder for external data, NULL when loading from memory
 */
nn_status nni_onnx_import(const uint8_t *bytes, size_t size, const char *base_dir, const nn_load_options *opts,
                          nni_graph *g);
/** The same for bytes mapped from file descriptor fd (weights are then read with pread, not through the mapping). */
nn_status nni_onnx_import_fd(const uint8_t *bytes, size_t size, int fd, const char *base_dir,
                             const nn_load_options *opts, nni_graph *g);

#endif
