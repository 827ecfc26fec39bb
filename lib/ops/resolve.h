/*
 * resolve.h — the resolved attributes and geometry of forward ops, for code
 * outside the op's file that must agree with it exactly: the backward passes
 * in lib/train. Each function is defined in its op's file and reads the
 * state that op's prepare filled (c->state) plus the current inputs.
 */
#ifndef NNI_OPS_RESOLVE_H
#define NNI_OPS_RESOLVE_H

#include "kernels/conv.h"
#include "kernels/pooling.h"
#include "ops/op.h"

/* ---- Conv / ConvTranspose (conv.c) ---- */

/* Conv: image = X, columns = Y. ConvTranspose: image = Y, columns = X. */
typedef struct nni_conv_shape {
    nni_conv_geom g;
    int64_t N, C, M, Cg, Mg, kvol;
    int64_t xvol, yvol; /* spatial element counts of X and Y */
    int32_t rank;
    int64_t ydims[NNI_CONV_MAX_DIMS + 2];
    int64_t group;      /* set by nni_conv_resolve */
    bool transpose;
} nni_conv_shape;

nn_status nni_conv_resolve(const nni_opctx *c, nni_conv_shape *sh);

/* ---- MaxPool / AveragePool / LpPool (pool.c) ---- */

/** Plane geometry for input 0; *include_pad is AveragePool's count_include_pad. */
nn_status nni_pool_resolve(const nni_opctx *c, nni_pooling_geom *g, bool *include_pad);

/* ---- BatchNormalization (batchnorm.c) ---- */

typedef struct nni_bn_params {
    float epsilon, momentum;
    bool batch_stats; /* normalizes with the batch's statistics (training) */
    bool per_element; /* spatial = 0 */
} nni_bn_params;

void nni_batchnorm_params(const nni_opctx *c, nni_bn_params *p);

/* ---- Dropout (dropout.c) ---- */

/**
 * Whether this run drops elements and with which ratio. Element i is kept
 * when nni_dropout_keep(c->seed, i, ratio); kept elements are scaled by
 * 1 / (1 - ratio).
 */
nn_status nni_dropout_resolve(const nni_opctx *c, bool *drops, double *ratio);
bool nni_dropout_keep(uint64_t seed, int64_t i, double ratio);

/* ---- LRN (lrn.c) ---- */

void nni_lrn_params(const nni_opctx *c, float *alpha, float *beta, float *bias, int64_t *size);

/* ---- elementwise (unary.c) ---- */

/** The float attributes of an activation (alpha/gamma, beta); *tanh_gelu for Gelu's approximate="tanh". */
void nni_unary_params(const nni_opctx *c, float *alpha, float *beta, bool *tanh_gelu);
/** Clip's bounds for a float32 input (attributes before opset 11, inputs after; +-inf when absent). */
void nni_clip_bounds_f32(const nni_opctx *c, float *lo, float *hi);

/* ---- Softmax / LogSoftmax (softmax.c) ---- */

/** The [outer][len][inner] view of the input the op normalizes over len. */
nn_status nni_softmax_layout(const nni_opctx *c, int64_t *outer, int64_t *len, int64_t *inner);

/* ---- shape and data movement ---- */

nn_status nni_concat_axis(const nni_opctx *c, int32_t *axis);
/** Split's axis and the sizes of its c->n_out pieces (sizes holds n_out entries). */
nn_status nni_split_resolve(const nni_opctx *c, int32_t *axis, int64_t *sizes);
/** Slice's window: start and step on every axis of the input, and the output dims. */
nn_status nni_slice_resolve(const nni_opctx *c, int64_t *start, int64_t *step, int64_t *dims);
/** Transpose's permutation: output axis i is input axis perm[i]. */
nn_status nni_transpose_perm(const nni_opctx *c, int64_t *perm);

enum { NNI_PAD_CONSTANT, NNI_PAD_REFLECT, NNI_PAD_EDGE, NNI_PAD_WRAP };
/** Pad's begin/end amounts per axis and its mode (NNI_PAD_*). */
nn_status nni_pad_resolve(const nni_opctx *c, int64_t *pb, int64_t *pe, int32_t *mode);
/** Input index read by output coordinate o on an axis of n elements padded by `before` (-1: the constant). */
int64_t nni_pad_source_index(int32_t mode, int64_t o, int64_t before, int64_t n);

nn_status nni_gather_axis(const nni_opctx *c, int32_t *axis);

/* ---- Reduce* (reduce.c) ---- */

/** Which input dims are reduced; *identity when the op copies its input (empty axes with noop). */
nn_status nni_reduce_axes(const nni_opctx *c, bool *red, bool *identity);

#endif
