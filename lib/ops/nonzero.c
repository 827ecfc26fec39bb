/* nonzero.c — NonZero: coordinates of the non-zero elements (output size depends on the data). */
#include <string.h>

#include "ops/movement.h"

static bool elem_nonzero(const uint8_t *p, nn_dtype dt)
{
    switch (dt) {
    case NN_DTYPE_FLOAT32: return *(const float *)p != 0;
    case NN_DTYPE_FLOAT64: return *(const double *)p != 0;
    case NN_DTYPE_FLOAT16: return (*(const uint16_t *)p & 0x7fff) != 0; /* +-0 are zero */
    default: {
        size_t es = nn_dtype_size(dt);
        for (size_t i = 0; i < es; i++)
            if (p[i])
                return true;
        return false;
    }
    }
}

static int64_t count_nonzero(const nn_tensor *x)
{
    int64_t n = nni_tensor_count(x), k = 0;
    size_t es = nn_dtype_size(x->dtype);
    const uint8_t *p = x->data;
    for (int64_t i = 0; i < n; i++)
        k += elem_nonzero(p + (size_t)i * es, x->dtype);
    return k;
}

static nn_status nonzero_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    if (x->nbytes && !x->data)
        return NNI_DEFER;
    int64_t dims[2] = {x->rank ? x->rank : 1, x->nbytes ? count_nonzero(x) : 0};
    return nni_out_shape(c, 0, NN_DTYPE_INT64, 2, dims);
}

static nn_status nonzero_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int64_t n = nni_tensor_count(x), nnz = c->out[0]->dims[1], k = 0, coord[NN_MAX_RANK] = {0};
    int32_t r = x->rank;
    size_t es = nn_dtype_size(x->dtype);
    const uint8_t *p = x->data;
    int64_t *o = c->out[0]->data;
    for (int64_t i = 0; i < n && k < nnz; i++) {
        if (elem_nonzero(p + (size_t)i * es, x->dtype)) {
            if (r == 0)
                o[k] = 0;
            for (int32_t a = 0; a < r; a++)
                o[a * nnz + k] = coord[a];
            k++;
        }
        for (int32_t a = r - 1; a >= 0; a--) {
            if (++coord[a] < x->dims[a])
                break;
            coord[a] = 0;
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_nonzero = {
    .name = "NonZero", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = nonzero_infer, .run = nonzero_run,
};
