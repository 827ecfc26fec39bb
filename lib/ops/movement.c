/* movement.c — shared helpers of the shape and data-movement ops. */
#include <string.h>

#include "ops/movement.h"

nn_status nni_read_ints(const nn_tensor *t, const char *what, int64_t *out, int64_t cap, int64_t *n)
{
    if (t->dtype != NN_DTYPE_INT64 && t->dtype != NN_DTYPE_INT32)
        return nni_error(NN_E_TYPE, "%s must be int64 (or int32), got %s", what, nn_dtype_name(t->dtype));
    if (t->rank > 1)
        return nni_error(NN_E_SHAPE, "%s must be 1-D, got rank %d", what, (int)t->rank);
    int64_t count = t->rank == 0 ? 1 : t->dims[0];
    if (count > cap)
        return nni_error(NN_E_SHAPE, "%s has %lld values, at most %lld allowed", what, (long long)count, (long long)cap);
    if (count > 0 && !t->data)
        return NNI_DEFER;
    for (int64_t i = 0; i < count; i++)
        out[i] = nni_tensor_get_i64(t, i);
    *n = count;
    return NN_OK;
}

void nni_row_strides(int32_t rank, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int32_t a = rank - 1; a >= 0; a--) {
        strides[a] = s;
        s *= dims[a];
    }
}

int64_t nni_dims_product(const int64_t *dims, int32_t from, int32_t to)
{
    int64_t p = 1;
    for (int32_t a = from; a < to; a++)
        p *= dims[a];
    return p;
}

bool nni_is_numeric(nn_dtype dt)
{
    switch (dt) {
    case NN_DTYPE_FLOAT32: case NN_DTYPE_FLOAT64: case NN_DTYPE_INT8: case NN_DTYPE_INT16: case NN_DTYPE_INT32:
    case NN_DTYPE_INT64: case NN_DTYPE_UINT8: case NN_DTYPE_UINT16: case NN_DTYPE_UINT32: case NN_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

/* Float to integer conversion saturates instead of being undefined out of range. */
static int64_t sat_i64(double v, double lo, double hi)
{
    if (v != v)
        return 0;
    if (v <= lo)
        return (int64_t)lo;
    if (v >= hi)
        return (int64_t)hi;
    return (int64_t)v;
}

void nni_store_f64(void *dst, nn_dtype dt, double v)
{
    switch (dt) {
    case NN_DTYPE_FLOAT32: *(float *)dst = (float)v; break;
    case NN_DTYPE_FLOAT64: *(double *)dst = v; break;
    case NN_DTYPE_INT8: *(int8_t *)dst = (int8_t)sat_i64(v, -128, 127); break;
    case NN_DTYPE_INT16: *(int16_t *)dst = (int16_t)sat_i64(v, -32768, 32767); break;
    case NN_DTYPE_INT32: *(int32_t *)dst = (int32_t)sat_i64(v, -2147483648.0, 2147483647.0); break;
    case NN_DTYPE_INT64: *(int64_t *)dst = v != v ? 0 : v >= 9.2233720368547758e18 ? INT64_MAX
                                                    : v <= -9.2233720368547758e18 ? INT64_MIN : (int64_t)v; break;
    case NN_DTYPE_UINT8: *(uint8_t *)dst = (uint8_t)sat_i64(v, 0, 255); break;
    case NN_DTYPE_UINT16: *(uint16_t *)dst = (uint16_t)sat_i64(v, 0, 65535); break;
    case NN_DTYPE_UINT32: *(uint32_t *)dst = (uint32_t)sat_i64(v, 0, 4294967295.0); break;
    case NN_DTYPE_UINT64: *(uint64_t *)dst = v != v || v <= 0 ? 0 : v >= 1.8446744073709552e19 ? UINT64_MAX : (uint64_t)v; break;
    case NN_DTYPE_BOOL: *(uint8_t *)dst = v != 0; break;
    default: memset(dst, 0, nn_dtype_size(dt)); break;
    }
}
