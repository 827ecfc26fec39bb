/*
 * grad_util.h — helpers shared by the backward functions: summing a
 * broadcast gradient back to an input's shape, accumulation, checks.
 *
 * Convention of every backward in lib/train: results are ADDED into din[i]
 * (which the engine zero-fills), never stored, so that a node that reads the
 * same value twice (Mul(x, x)) may be given one buffer for both inputs.
 */
#ifndef NNI_GRAD_UTIL_H
#define NNI_GRAD_UTIL_H

#include "train/grad.h"

/**
 * dst += src summed over the axes along which dst's shape broadcasts to
 * src's shape (rank, dims): the gradient of a broadcasting elementwise op
 * with respect to an input of dst's shape. float32. NN_E_SHAPE when dst's
 * shape does not broadcast to (rank, dims).
 */
nn_status nni_grad_unbroadcast(nni_pool *pool, const float *src, int32_t rank, const int64_t *dims, nn_tensor *dst);

/** dst[i] += src[i] for i < n, split over the pool. */
void nni_grad_add(nni_pool *pool, float *dst, const float *src, int64_t n);

/** dst[i] += a * src[i]. */
void nni_grad_axpy(nni_pool *pool, float *dst, float a, const float *src, int64_t n);

/** Error unless t (input, output or gradient `what`) is float32; NULL tensors pass. */
nn_status nni_grad_require_f32(const nn_tensor *t, const char *what);

/** Error unless every present dout/din of g and input 0 and output 0 are float32. */
nn_status nni_grad_check_f32(const nni_gradctx *g);

/** Scratch memory through the forward context (once per backward call); NULL on failure. */
void *nni_grad_scratch(nni_gradctx *g, size_t bytes);

/** Gradient tensor helpers: din[i] / dout[k], NULL when absent. */
static inline nn_tensor *nni_grad_din(const nni_gradctx *g, int32_t i)
{
    return i < g->fwd.n_in && g->din ? g->din[i] : NULL;
}
static inline const nn_tensor *nni_grad_dout(const nni_gradctx *g, int32_t k)
{
    return k < g->fwd.n_out && g->dout ? g->dout[k] : NULL;
}

#endif
