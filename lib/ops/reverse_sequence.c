/* reverse_sequence.c — ReverseSequence: reverse the first len[b] steps of every batch entry along time. */
#include <string.h>

#include "ops/movement.h"

typedef struct {
    int64_t batch_axis, time_axis;
} revseq_state;

static nn_status revseq_prepare(nni_opctx *c)
{
    revseq_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "batch_axis", 1, &s->batch_axis);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "time_axis", 0, &s->time_axis);
    if (st == NN_OK && !((s->batch_axis == 0 && s->time_axis == 1) || (s->batch_axis == 1 && s->time_axis == 0)))
        return nni_error(NN_E_INVALID_MODEL, "ReverseSequence: 'batch_axis' and 'time_axis' must be 0 and 1 in some order");
    return st;
}

static nn_status revseq_infer(nni_opctx *c)
{
    const revseq_state *s = c->state;
    const nn_tensor *x = c->in[0], *len = c->in[1];
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "ReverseSequence: the input must have rank >= 2");
    if (len->dtype != NN_DTYPE_INT64 || len->rank != 1 || len->dims[0] != x->dims[s->batch_axis])
        return nni_error(NN_E_SHAPE, "ReverseSequence: sequence_lens must be int64 [%lld]", (long long)x->dims[s->batch_axis]);
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

static nn_status revseq_run(nni_opctx *c)
{
    const revseq_state *s = c->state;
    const nn_tensor *x = c->in[0];
    const int64_t *lens = c->in[1]->data;
    int64_t T = x->dims[s->time_axis], B = x->dims[s->batch_axis];
    size_t inner = (size_t)nni_dims_product(x->dims, 2, x->rank) * nn_dtype_size(x->dtype);
    /* element (t, b) of the first two axes starts at row t*B + b (time first) or b*T + t */
    int64_t st_t = s->time_axis == 0 ? B : 1, st_b = s->time_axis == 0 ? 1 : T;
    const uint8_t *src = x->data;
    uint8_t *dst = c->out[0]->data;
    for (int64_t b = 0; b < B; b++) {
        int64_t n = lens[b];
        if (n < 0 || n > T)
            return nni_error(NN_E_INVALID_ARG, "ReverseSequence: sequence length %lld is outside 0..%lld", (long long)n,
                             (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t from = t < n ? n - 1 - t : t;
            memcpy(dst + (size_t)(t * st_t + b * st_b) * inner, src + (size_t)(from * st_t + b * st_b) * inner, inner);
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_reverse_sequence = {
    .name = "ReverseSequence", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .state_size = sizeof(revseq_state),
    .prepare = revseq_prepare, .infer = revseq_infer, .run = revseq_run,
};
