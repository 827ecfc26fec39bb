/*
 * dn_emit.h — small helpers that append ONNX-typed nodes and constants to an
 * IR graph (the darknet frontend writes its layers through them).
 */
#ifndef NNI_DN_EMIT_H
#define NNI_DN_EMIT_H

#include "ir/graph.h"

/** An attribute to attach to an emitted node. */
typedef struct nni_dn_attr {
    const char *name;
    nni_attr_type type;     /* INT, FLOAT, STRING or INTS */
    int64_t i;
    float f;
    const char *s;
    int64_t ints[8];
    int32_t n;              /* elements of ints */
} nni_dn_attr;

#define NNI_DN_INT(nm, v) ((nni_dn_attr){.name = (nm), .type = NNI_ATTR_INT, .i = (v)})
#define NNI_DN_FLOAT(nm, v) ((nni_dn_attr){.name = (nm), .type = NNI_ATTR_FLOAT, .f = (v)})
#define NNI_DN_STRING(nm, v) ((nni_dn_attr){.name = (nm), .type = NNI_ATTR_STRING, .s = (v)})

/**
 * Append node `name` of type `op_type` reading `in` (value indices, -1 =
 * absent optional input) and producing one new value, also called `name`,
 * whose index goes to *out. The op must be registered (NN_E_UNSUPPORTED
 * otherwise, naming it).
 */
nn_status nni_dn_emit(nni_graph *g, const char *op_type, const char *name, int32_t n_in, const int32_t *in,
                      int32_t n_attr, const nni_dn_attr *attrs, int32_t *out);

/**
 * Add a constant value `name` with a new zeroed tensor of the given shape;
 * *data receives its buffer to fill. Float parameters are marked trainable
 * when `param`.
 */
nn_status nni_dn_const(nni_graph *g, const char *name, nn_dtype dtype, int32_t rank, const int64_t *dims, bool param,
                       int32_t *out, void **data);
/** An int64 vector constant. */
nn_status nni_dn_const_i64(nni_graph *g, const char *name, int32_t n, const int64_t *vals, int32_t *out);
/** A float vector constant (not trainable). */
nn_status nni_dn_const_f32(nni_graph *g, const char *name, int32_t n, const float *vals, int32_t *out);

#endif
