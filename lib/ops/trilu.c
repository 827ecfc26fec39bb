/* trilu.c — Trilu: keep the upper or lower triangle of the last two axes. */
#include <string.h>

#include "ops/movement.h"

typedef struct {
    int64_t upper;
} trilu_state;

static nn_status trilu_prepare(nni_opctx *c)
{
    trilu_state *s = c->state;
    return nni_attr_int(c->node, "upper", 1, &s->upper);
}

static nn_status trilu_k(const nni_opctx *c, int64_t *k)
{
    *k = 0;
    if (!nni_has_in(c, 1))
        return NN_OK;
    const nn_tensor *t = c->in[1];
    if (t->dtype != NN_DTYPE_INT64 || nni_tensor_count(t) != 1)
        return nni_error(NN_E_TYPE, "Trilu: k must be an int64 scalar");
    if (!t->data)
        return NNI_DEFER;
    *k = *(const int64_t *)t->data;
    return NN_OK;
}

static nn_status trilu_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "Trilu: the input must have rank >= 2, got %d", (int)x->rank);
    int64_t k;
    nn_status st = trilu_k(c, &k);
    if (st != NN_OK && st != NNI_DEFER)
        return st;
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

static nn_status trilu_run(nni_opctx *c)
{
    const trilu_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    int64_t k;
    nn_status st = trilu_k(c, &k);
    if (st != NN_OK || y->nbytes == 0)
        return st;
    int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1], n = nni_tensor_count(x) / (rows * cols);
    size_t es = nn_dtype_size(x->dtype);
    const uint8_t *src = x->data;
    uint8_t *dst = y->data;
    memset(dst, 0, y->nbytes);
    for (int64_t b = 0; b < n; b++) {
        for (int64_t i = 0; i < rows; i++) {
            /* kept columns: j >= i + k (upper) or j <= i + k (lower), clamped to the row */
            int64_t lo = 0, hi = cols; /* [lo, hi) */
            if (s->upper) {
                lo = i + k;
                lo = lo < 0 ? 0 : lo > cols ? cols : lo;
            } else {
                hi = i + k + 1;
                hi = hi < 0 ? 0 : hi > cols ? cols : hi;
            }
            size_t row = (size_t)((b * rows + i) * cols);
            if (hi > lo)
                memcpy(dst + (row + (size_t)lo) * es, src + (row + (size_t)lo) * es, (size_t)(hi - lo) * es);
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_trilu = {
    .name = "Trilu", .min_in = 1, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(trilu_state),
    .prepare = trilu_prepare, .infer = trilu_infer, .run = trilu_run,
};
