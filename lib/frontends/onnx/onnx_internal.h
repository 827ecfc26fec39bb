/*
 * onnx_internal.h — shared by the ONNX frontend's files. The only place
 * protobuf-c headers are included.
 */
#ifndef NNI_ONNX_INTERNAL_H
#define NNI_ONNX_INTERNAL_H

#include <protobuf-c/protobuf-c.h>

#include "frontends/onnx/onnx_skeleton.h"
#include "ir/graph.h"
#include "onnx.pb-c.h"

/** protobuf-c allocator routed through nni_malloc (so OOM tests reach it).
 *  Copies with allocator_data pointing to a bool get it set when an
 *  allocation fails (so a failed unpack is NN_E_NOMEM, not NN_E_PARSE). */
extern ProtobufCAllocator nni_pb_allocator;

/**
 * Convert a TensorProto to an owned nn_tensor.
 * @param base_dir folder for external data (NULL: external data refused)
 * @param limits   refuse larger tensors (NULL: no limits)
 */
nn_status nni_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, const nni_limits *limits,
                                     nn_tensor **out);
/** The same with raw_data given by a payload of the original bytes (a skeleton's initializer). */
nn_status nni_onnx_tensor_from_payload(const Onnx__TensorProto *tp, const nni_onnx_source *src,
                                       const nni_onnx_payload *pl, const nni_limits *limits, nn_tensor **out);
/** Read a whole file into memory (nni_malloc'd), refusing files over max_bytes. */
nn_status nni_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size);

#endif
