/* grad_util.h — helpers shared by backward functions (lib/train/grad_*.c). */
#ifndef NNI_GRAD_UTIL_H
#define NNI_GRAD_UTIL_H

#include "train/grad.h"

/**
 * dst += scale * (src summed over the dimensions dst is broadcast along):
 * the gradient of a broadcast operand. dst's shape must broadcast to src's
 * (right-aligned, size-1 or missing dimensions); NN_E_SHAPE otherwise.
 */
nn_status nni_grad_reduce_to(const nn_tensor *src, nn_tensor *dst, float scale);

/** True when din[i] is wanted (the engine passes NULL for inputs needing no gradient). */
static inline bool nni_grad_wants(const nni_gradctx *g, int32_t i) { return i < g->fwd.n_in && g->din[i] != NULL; }

/** Check that a tensor is float32 (backward functions work on float32 only). */
nn_status nni_grad_require_f32(const nn_tensor *t, const char *what);

#endif
