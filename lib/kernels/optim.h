/*
 * optim.h — optimizer updates on raw parameter/gradient arrays, with the
 * arithmetic in the order torch.optim uses (SGD, Adam, AdamW) so that one
 * step agrees with PyTorch to float rounding.
 */
#ifndef NNI_KERNEL_OPTIM_H
#define NNI_KERNEL_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

/**
 * SGD: d = g + wd * p; with momentum, buf = d on the first step (`first`),
 * else buf = momentum * buf + d; d = nesterov ? d + momentum * buf : buf;
 * p -= lr * d. `buf` is unused when momentum is 0.
 */
void nni_sgd_update_f32(float *p, const float *g, float *buf, int64_t n, float lr, float momentum, float wd,
                        bool nesterov, bool first);

/**
 * Adam step `step` (1-based). Adam adds wd * p to the gradient; AdamW
 * (`decoupled`) first scales p by (1 - lr * wd).
 */
void nni_adam_update_f32(float *p, const float *g, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
                         float eps, float wd, bool decoupled, int64_t step);

/** Sum of squares, accumulated in double. */
double nni_sumsq_f32(const float *x, int64_t n);
/** x *= s */
void nni_scale_f32(float *x, int64_t n, float s);
/** y += x */
void nni_add_inplace_f32(float *y, const float *x, int64_t n);

#endif
