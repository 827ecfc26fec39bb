/* shape.c — Shape and Size: values computed from an input's shape alone (folded while planning). */
#include "ops/movement.h"

typedef struct {
    int64_t start, end; /* opset 15 slice of the shape; end INT64_MAX = to the end */
} shape_state;

static nn_status shape_prepare(nni_opctx *c)
{
    shape_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "start", 0, &s->start);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "end", INT64_MAX, &s->end);
    return st;
}

/* Clamp start/end to [0, rank] after resolving negatives. */
static void shape_range(const shape_state *s, int32_t rank, int64_t *b, int64_t *e)
{
    int64_t start = s->start < 0 ? s->start + rank : s->start;
    int64_t end = s->end < 0 ? s->end + rank : s->end;
    start = start < 0 ? 0 : start > rank ? rank : start;
    end = end < 0 ? 0 : end > rank ? rank : end;
    *b = start;
    *e = end > start ? end : start;
}

static nn_status shape_infer(nni_opctx *c)
{
    int64_t b, e;
    shape_range(c->state, c->in[0]->rank, &b, &e);
    int64_t n = e - b;
    return nni_out_shape(c, 0, NN_DTYPE_INT64, 1, &n);
}

static nn_status shape_run(nni_opctx *c)
{
    int64_t b, e;
    shape_range(c->state, c->in[0]->rank, &b, &e);
    int64_t *o = c->out[0]->data;
    for (int64_t i = b; i < e; i++)
        o[i - b] = c->in[0]->dims[i];
    return NN_OK;
}

const nni_op_desc nni_op_shape = {
    .name = "Shape", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(shape_state),
    .prepare = shape_prepare, .infer = shape_infer, .run = shape_run,
    .flags = NNI_OP_SHAPE_ONLY,
};

static nn_status size_infer(nni_opctx *c) { return nni_out_shape(c, 0, NN_DTYPE_INT64, 0, NULL); }

static nn_status size_run(nni_opctx *c)
{
    *(int64_t *)c->out[0]->data = nni_tensor_count(c->in[0]);
    return NN_OK;
}

const nni_op_desc nni_op_size = {
    .name = "Size", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = size_infer, .run = size_run,
    .flags = NNI_OP_SHAPE_ONLY,
};
