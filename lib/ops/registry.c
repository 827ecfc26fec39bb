/* registry.c — the table of supported operators, built from ops.def. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

#define NNI_OP(name, sym) extern const nni_op_desc sym;
#include "ops/ops.def"
#undef NNI_OP

static const nni_op_desc *const op_table[] = {
#define NNI_OP(name, sym) &sym,
#include "ops/ops.def"
#undef NNI_OP
};

#define OP_COUNT ((int32_t)(sizeof op_table / sizeof op_table[0]))

const nni_op_desc *nni_op_find(const char *op_type)
{
    if (!op_type)
        return NULL;
    for (int32_t i = 0; i < OP_COUNT; i++)
        if (strcmp(op_table[i]->name, op_type) == 0)
            return op_table[i];
    return NULL;
}

int32_t nni_op_count(void) { return OP_COUNT; }

const nni_op_desc *nni_op_at(int32_t i) { return (i >= 0 && i < OP_COUNT) ? op_table[i] : NULL; }

nn_status nni_out_shape(nni_opctx *c, int32_t k, nn_dtype dtype, int32_t rank, const int64_t *dims)
{
    if (k < 0 || k >= c->n_out || !c->out[k])
        return NN_OK; /* optional output not requested */
    return nni_tensor_set_shape(c->out[k], dtype, rank, dims);
}

nn_status nni_norm_axis(int64_t axis, int32_t rank, const char *what, int32_t *out)
{
    int64_t a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= (rank > 0 ? rank : 1))
        return nni_error(NN_E_INVALID_MODEL, "%s %lld is out of range for rank %d", what, (long long)axis, (int)rank);
    *out = (int32_t)a;
    return NN_OK;
}

nn_status nni_require_dtype(const nni_opctx *c, int32_t i, nn_dtype dtype)
{
    if (!nni_has_in(c, i))
        return nni_error(NN_E_INVALID_MODEL, "input %d is missing", (int)i);
    if (c->in[i]->dtype != dtype)
        return nni_error(NN_E_TYPE, "input %d is %s, expected %s", (int)i, nn_dtype_name(c->in[i]->dtype), nn_dtype_name(dtype));
    return NN_OK;
}

/* ---- public capability listing, sorted by name ---- */

static int cmp_desc(const void *a, const void *b)
{
    return strcmp((*(const nni_op_desc *const *)a)->name, (*(const nni_op_desc *const *)b)->name);
}

NN_API uint32_t nn_supported_op_count(void) { return (uint32_t)OP_COUNT; }

NN_API const char *nn_supported_op_name(uint32_t index)
{
    /* sorted copy built on each call: the table is small and this is not hot */
    const nni_op_desc *sorted[OP_COUNT];
    if (index >= (uint32_t)OP_COUNT)
        return NULL;
    memcpy(sorted, op_table, sizeof sorted);
    qsort(sorted, OP_COUNT, sizeof sorted[0], cmp_desc);
    return sorted[index]->name;
}
