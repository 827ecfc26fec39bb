/*
 * grad_helpers.h — small helpers of the backward functions in
 * grad_conv/pool/norm/activation/elementwise/reduce/softmax/shape.c (the
 * broadcast reduction shared with the engine's backward is in grad_util.h).
 *
 * Convention of these backward functions: results are ADDED into din[i]
 * (which the engine zero-fills), never stored, so that a caller may also
 * hand the same buffer for two inputs that are the same value.
 */
#ifndef NNI_GRAD_HELPERS_H
#define NNI_GRAD_HELPERS_H

#include "train/grad_util.h"

/** dst[i] += src[i] for i < n, split over the pool. */
void nni_grad_accumulate(nni_pool *pool, float *dst, const float *src, int64_t n);

/** dst[i] += a * src[i]. */
void nni_grad_axpy(nni_pool *pool, float *dst, float a, const float *src, int64_t n);

/** Error unless every present dout/din of g, input 0 and output 0 are float32. */
nn_status nni_grad_check_f32(const nni_gradctx *g);

/**
 * The start of a backward with one input and one output: *dy = dout[0] and
 * *dx = din[0] after nni_grad_check_f32; *dx is NULL (and the result NN_OK)
 * when either is absent, i.e. there is nothing to do.
 */
nn_status nni_grad_unary(nni_gradctx *g, const nn_tensor **dy, nn_tensor **dx);

/** dX += dY for ops that keep the elements and change only the shape or the type (Identity, Reshape, Squeeze...). */
nn_status nni_grad_passthrough(nni_gradctx *g);

/** Scratch memory through the forward context (once per backward call); NULL on failure. */
void *nni_grad_scratch(nni_gradctx *g, size_t bytes);

/** din[i] / dout[k], NULL when absent or out of range. */
static inline nn_tensor *nni_grad_din(const nni_gradctx *g, int32_t i)
{
    return i < g->fwd.n_in && g->din ? g->din[i] : NULL;
}
static inline const nn_tensor *nni_grad_dout(const nni_gradctx *g, int32_t k)
{
    return k < g->fwd.n_out && g->dout ? g->dout[k] : NULL;
}

#endif
