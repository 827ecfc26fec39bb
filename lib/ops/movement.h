/*
 * movement.h — helpers shared by the shape and data-movement ops: reading
 * shape-like integer inputs, strides, and writing a scalar of any dtype.
 */
#ifndef NNI_OPS_MOVEMENT_H
#define NNI_OPS_MOVEMENT_H

#include "ops/op.h"

/**
 * Values of a 0-d or 1-d int32/int64 input `t` (named `what` in messages)
 * into out[0..cap). NNI_DEFER when its data is not known yet.
 */
nn_status nni_read_ints(const nn_tensor *t, const char *what, int64_t *out, int64_t cap, int64_t *n);
/** Row-major element strides of a shape. */
void nni_row_strides(int32_t rank, const int64_t *dims, int64_t *strides);
/** Store v into one element of dtype dt (as a C conversion would). */
void nni_store_f64(void *dst, nn_dtype dt, double v);
/** True for the dtypes nn computes arithmetic on (float32/64, int8..int64, uint8..uint64). */
bool nni_is_numeric(nn_dtype dt);
/** Product of dims[from..to) (no overflow possible: the tensor already exists). */
int64_t nni_dims_product(const int64_t *dims, int32_t from, int32_t to);

#endif
