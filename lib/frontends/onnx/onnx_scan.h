/* onnx_scan.h — bounds checked on a model's protobuf bytes before they are unpacked. */
#ifndef NNI_ONNX_SCAN_H
#define NNI_ONNX_SCAN_H

#include "core/common.h"

/**
 * Walk the wire format of an ONNX ModelProto: NN_E_LIMIT when messages nest
 * too deep (stack), subgraphs nest deeper than opts->max_subgraph_depth,
 * there are more than opts->max_nodes nodes (subgraphs included), or
 * unpacking would take far more memory than the file's size; NN_E_PARSE
 * when the bytes are not protobuf. Allocates nothing.
 */
nn_status nni_onnx_prescan(const uint8_t *bytes, size_t size, const nn_load_options *opts);

#endif
