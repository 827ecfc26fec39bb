/*
 * softmax.h — softmax and log-softmax over one axis of float32 data laid out
 * as [len][inner] (inner == 1: a contiguous row). Numerically stable: the
 * maximum is subtracted before exponentiating.
 */
#ifndef NNI_KERNEL_SOFTMAX_H
#define NNI_KERNEL_SOFTMAX_H

#include <stdbool.h>
#include <stdint.h>

/**
 * y = softmax(x) (or log-softmax when `log_mode`) along the len axis of one
 * [len][inner] block. `tmp` holds 2*inner floats when inner > 1 (unused
 * otherwise). y must not overlap x.
 */
void nni_softmax_f32(const float *x, float *y, int64_t len, int64_t inner, bool log_mode, float *tmp);

#endif
