/*
 * tensor.h — the tensor type shared by the public API, the IR and kernels.
 * A tensor is a dtype, a shape and a buffer that it owns or borrows.
 */
#ifndef NNI_TENSOR_H
#define NNI_TENSOR_H

#include "core/common.h"

enum {
    NNI_TENSOR_OWNS_DATA = 1u << 0, /* data was allocated by nn and is freed with the tensor */
};

struct nn_tensor {
    nn_dtype dtype;
    int32_t rank;
    int64_t dims[NN_MAX_RANK];
    void *data;      /* NULL while only the shape is known (shape inference) */
    size_t nbytes;   /* count * element size */
    uint32_t flags;
    char *name;      /* optional, owned */
};

/*
 * Size limits of one model (from nn_load_options; 0 = unlimited), checked
 * wherever a size comes from the model before memory is allocated for it.
 */
typedef struct nni_limits {
    uint64_t max_tensor_bytes;
    uint64_t max_tensor_elements;
    uint64_t max_total_bytes; /* all constants of the model together, folded ones included */
    uint32_t max_depth;       /* longest chain of nodes */
    uint64_t max_session_bytes; /* activations of one run alive at once */
} nni_limits;

/**
 * NN_E_LIMIT when tensor `t` (shape set) is over the element or byte limit;
 * the message names `what` (e.g. "initializer 'w'") and the option to raise.
 * `limits` may be NULL (no limits).
 */
nn_status nni_check_tensor_limits(const nni_limits *limits, const nn_tensor *t, const char *what);

/** Product of dims with overflow check; false on overflow or negative dims. */
bool nni_shape_count(int32_t rank, const int64_t *dims, int64_t *count);
int64_t nni_tensor_count(const nn_tensor *t);
/** Set dtype and shape (no allocation); validates rank and size. */
nn_status nni_tensor_set_shape(nn_tensor *t, nn_dtype dtype, int32_t rank, const int64_t *dims);
/** Allocate owned data for the current shape (zeroed). */
nn_status nni_tensor_alloc(nn_tensor *t);
/** Release owned data and name; leaves a shape-only tensor. */
void nni_tensor_release(nn_tensor *t);
/** Heap-allocate a tensor with owned zeroed data. */
nn_status nni_tensor_new(nn_dtype dtype, int32_t rank, const int64_t *dims, nn_tensor **out);
/** Deep copy (data owned by the copy). */
nn_status nni_tensor_clone(const nn_tensor *src, nn_tensor **out);
bool nni_same_shape(const nn_tensor *a, const nn_tensor *b);
/** "[1,3,224,224]" into buf. */
const char *nni_shape_str(int32_t rank, const int64_t *dims, char *buf, size_t cap);
/** Read element i of an integer tensor (int32/int64/uint8/bool...) as int64. */
int64_t nni_tensor_get_i64(const nn_tensor *t, int64_t i);
double nni_tensor_get_f64(const nn_tensor *t, int64_t i);

/** A double as int64 without C's undefined out-of-range conversion: saturating, NaN -> 0. */
static inline int64_t nni_f64_to_i64(double v)
{
    if (!(v == v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* TensorProto reading/writing lives in frontends/onnx (needs protobuf-c). */

#endif
