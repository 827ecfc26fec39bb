/* tensor.c — nn_tensor: shapes, ownership and the public tensor calls. */
#include <stdio.h>
#include <string.h>

#include "tensor/tensor.h"

NN_API const char *nn_dtype_name(nn_dtype dtype)
{
    switch (dtype) {
    case NN_DTYPE_FLOAT32: return "float32";
    case NN_DTYPE_UINT8: return "uint8";
    case NN_DTYPE_INT8: return "int8";
    case NN_DTYPE_UINT16: return "uint16";
    case NN_DTYPE_INT16: return "int16";
    case NN_DTYPE_INT32: return "int32";
    case NN_DTYPE_INT64: return "int64";
    case NN_DTYPE_STRING: return "string";
    case NN_DTYPE_BOOL: return "bool";
    case NN_DTYPE_FLOAT16: return "float16";
    case NN_DTYPE_FLOAT64: return "float64";
    case NN_DTYPE_UINT32: return "uint32";
    case NN_DTYPE_UINT64: return "uint64";
    default: return "unknown";
    }
}

NN_API size_t nn_dtype_size(nn_dtype dtype)
{
    switch (dtype) {
    case NN_DTYPE_FLOAT32: case NN_DTYPE_INT32: case NN_DTYPE_UINT32: return 4;
    case NN_DTYPE_UINT8: case NN_DTYPE_INT8: case NN_DTYPE_BOOL: return 1;
    case NN_DTYPE_UINT16: case NN_DTYPE_INT16: case NN_DTYPE_FLOAT16: return 2;
    case NN_DTYPE_INT64: case NN_DTYPE_FLOAT64: case NN_DTYPE_UINT64: return 8;
    default: return 0;
    }
}

bool nni_shape_count(int32_t rank, const int64_t *dims, int64_t *count)
{
    int64_t n = 1;
    if (rank < 0 || rank > NN_MAX_RANK)
        return false;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || nni_mul_overflow_i64(n, dims[i], &n))
            return false;
    }
    *count = n;
    return true;
}

int64_t nni_tensor_count(const nn_tensor *t)
{
    int64_t n = 1;
    for (int32_t i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

nn_status nni_tensor_set_shape(nn_tensor *t, nn_dtype dtype, int32_t rank, const int64_t *dims)
{
    int64_t count;
    size_t es = nn_dtype_size(dtype);
    if (es == 0)
        return nni_error(NN_E_TYPE, "element type %d (%s) is not supported", (int)dtype, nn_dtype_name(dtype));
    if (rank < 0 || rank > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "rank %d is outside 0..%d", (int)rank, NN_MAX_RANK);
    if (rank > 0 && !dims)
        return nni_error(NN_E_INVALID_ARG, "dims is NULL for rank %d", (int)rank);
    if (!nni_shape_count(rank, dims, &count))
        return nni_error(NN_E_LIMIT, "tensor shape has a negative dimension or its size overflows");
    size_t nbytes;
    if (nni_mul_overflow_size((size_t)count, es, &nbytes) || (uint64_t)count > (uint64_t)SIZE_MAX)
        return nni_error(NN_E_LIMIT, "tensor of %lld elements is too large", (long long)count);
    t->dtype = dtype;
    t->rank = rank;
    for (int32_t i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    for (int32_t i = rank; i < NN_MAX_RANK; i++)
        t->dims[i] = 0;
    t->nbytes = nbytes;
    return NN_OK;
}

nn_status nni_check_tensor_limits(const nni_limits *l, const nn_tensor *t, const char *what)
{
    if (!l)
        return NN_OK;
    char shape[160];
    int64_t count = nni_tensor_count(t);
    if (l->max_tensor_elements && (uint64_t)count > l->max_tensor_elements)
        return nni_error(NN_E_LIMIT, "%s %s has %lld elements, over the limit of %llu (nn_load_options.max_tensor_elements)",
                         what, nni_shape_str(t->rank, t->dims, shape, sizeof shape), (long long)count,
                         (unsigned long long)l->max_tensor_elements);
    if (l->max_tensor_bytes && (uint64_t)t->nbytes > l->max_tensor_bytes)
        return nni_error(NN_E_LIMIT, "%s %s needs %zu bytes, over the limit of %llu (nn_load_options.max_tensor_bytes)",
                         what, nni_shape_str(t->rank, t->dims, shape, sizeof shape), t->nbytes,
                         (unsigned long long)l->max_tensor_bytes);
    return NN_OK;
}

nn_status nni_tensor_alloc(nn_tensor *t)
{
    if (t->flags & NNI_TENSOR_OWNS_DATA)
        nni_free_aligned(t->data);
    t->data = NULL;
    t->flags &= ~NNI_TENSOR_OWNS_DATA;
    void *p = nni_malloc_aligned(t->nbytes);
    if (!p)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for a tensor", t->nbytes);
    memset(p, 0, t->nbytes);
    t->data = p;
    t->flags |= NNI_TENSOR_OWNS_DATA;
    return NN_OK;
}

void nni_tensor_release(nn_tensor *t)
{
    if (!t)
        return;
    if (t->flags & NNI_TENSOR_OWNS_DATA)
        nni_free_aligned(t->data);
    t->data = NULL;
    t->flags &= ~NNI_TENSOR_OWNS_DATA;
    nni_free(t->name);
    t->name = NULL;
}

nn_status nni_tensor_new(nn_dtype dtype, int32_t rank, const int64_t *dims, nn_tensor **out)
{
    nn_tensor *t = nni_calloc(1, sizeof *t);
    if (!t)
        return nni_error(NN_E_NOMEM, "cannot allocate a tensor");
    nn_status st = nni_tensor_set_shape(t, dtype, rank, dims);
    if (st == NN_OK)
        st = nni_tensor_alloc(t);
    if (st != NN_OK) {
        nni_free(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

nn_status nni_tensor_clone(const nn_tensor *src, nn_tensor **out)
{
    nn_tensor *t = NULL;
    nn_status st = nni_tensor_new(src->dtype, src->rank, src->dims, &t);
    if (st != NN_OK)
        return st;
    if (src->nbytes && src->data)
        memcpy(t->data, src->data, src->nbytes);
    if (src->name && !(t->name = nni_strdup(src->name))) {
        nn_tensor_free(t);
        return nni_error(NN_E_NOMEM, "cannot copy a tensor name");
    }
    *out = t;
    return NN_OK;
}

bool nni_same_shape(const nn_tensor *a, const nn_tensor *b)
{
    if (a->rank != b->rank)
        return false;
    for (int32_t i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

const char *nni_shape_str(int32_t rank, const int64_t *dims, char *buf, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    n += (size_t)snprintf(buf + n, cap - n, "[");
    for (int32_t i = 0; i < rank && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)dims[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

int64_t nni_tensor_get_i64(const nn_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case NN_DTYPE_INT64: return ((const int64_t *)t->data)[i];
    case NN_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case NN_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
    case NN_DTYPE_INT16: return ((const int16_t *)t->data)[i];
    case NN_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
    case NN_DTYPE_INT8: return ((const int8_t *)t->data)[i];
    case NN_DTYPE_UINT8: case NN_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    case NN_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case NN_DTYPE_FLOAT32: return nni_f64_to_i64(((const float *)t->data)[i]);
    case NN_DTYPE_FLOAT64: return nni_f64_to_i64(((const double *)t->data)[i]);
    default: return 0;
    }
}

double nni_tensor_get_f64(const nn_tensor *t, int64_t i)
{
    switch (t->dtype) {
    case NN_DTYPE_FLOAT32: return ((const float *)t->data)[i];
    case NN_DTYPE_FLOAT64: return ((const double *)t->data)[i];
    default: return (double)nni_tensor_get_i64(t, i);
    }
}

/* ---- public API ---- */

NN_API nn_status nn_tensor_create(nn_dtype dtype, int32_t rank, const int64_t *dims, nn_tensor **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_create: out is NULL");
    *out = NULL;
    nn_status st = nni_tensor_new(dtype, rank, dims, out);
    return st == NN_OK ? st : nni_error_prefix(st, "nn_tensor_create");
}

NN_API nn_status nn_tensor_wrap(nn_dtype dtype, int32_t rank, const int64_t *dims, void *data, nn_tensor **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_wrap: out is NULL");
    *out = NULL;
    nn_tensor *t = nni_calloc(1, sizeof *t);
    if (!t)
        return nni_error(NN_E_NOMEM, "nn_tensor_wrap: cannot allocate a tensor");
    nn_status st = nni_tensor_set_shape(t, dtype, rank, dims);
    if (st == NN_OK && !data && t->nbytes > 0)
        st = nni_error(NN_E_INVALID_ARG, "data is NULL for a non-empty tensor");
    if (st == NN_OK && data && ((uintptr_t)data % nn_dtype_size(dtype)) != 0)
        st = nni_error(NN_E_INVALID_ARG, "data is not aligned to the %zu-byte element size", nn_dtype_size(dtype));
    if (st != NN_OK) {
        nni_free(t);
        return nni_error_prefix(st, "nn_tensor_wrap");
    }
    t->data = data;
    *out = t;
    return NN_OK;
}

NN_API void nn_tensor_free(nn_tensor *tensor)
{
    if (!tensor)
        return;
    nni_tensor_release(tensor);
    nni_free(tensor);
}

NN_API nn_dtype nn_tensor_dtype(const nn_tensor *t) { return t ? t->dtype : NN_DTYPE_UNDEFINED; }
NN_API int32_t nn_tensor_rank(const nn_tensor *t) { return t ? t->rank : 0; }

NN_API int64_t nn_tensor_dim(const nn_tensor *t, int32_t axis)
{
    if (!t)
        return -1;
    if (axis < 0)
        axis += t->rank;
    if (axis < 0 || axis >= t->rank)
        return -1;
    return t->dims[axis];
}

NN_API int64_t nn_tensor_count(const nn_tensor *t) { return t ? nni_tensor_count(t) : 0; }
NN_API size_t nn_tensor_nbytes(const nn_tensor *t) { return t ? t->nbytes : 0; }
NN_API void *nn_tensor_data(nn_tensor *t) { return t ? t->data : NULL; }
NN_API const void *nn_tensor_data_const(const nn_tensor *t) { return t ? t->data : NULL; }
NN_API const char *nn_tensor_name(const nn_tensor *t) { return (t && t->name) ? t->name : ""; }

NN_API nn_status nn_tensor_set_name(nn_tensor *t, const char *name)
{
    nni_error_clear();
    if (!t || !name)
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_set_name: tensor or name is NULL");
    char *copy = nni_strdup(name);
    if (!copy)
        return nni_error(NN_E_NOMEM, "nn_tensor_set_name: out of memory");
    nni_free(t->name);
    t->name = copy;
    return NN_OK;
}
