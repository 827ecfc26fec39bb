/* constant.c — Constant: a value given as an attribute (folded at load). */
#include <string.h>

#include "ops/op.h"

typedef struct {
    nn_tensor *value; /* borrowed from the node's attribute, or built here */
    nn_tensor built;  /* for value_float(s)/value_int(s) */
} constant_state;

static nn_status constant_prepare(nni_opctx *c)
{
    constant_state *s = c->state;
    const nni_attr *a = nni_node_attr(c->node, "value");
    if (a && a->type == NNI_ATTR_TENSOR && a->t) {
        s->value = a->t;
        return NN_OK;
    }
    /* opset 12+: scalar and list forms */
    static const char *const forms[] = {"value_float", "value_floats", "value_int", "value_ints"};
    for (int f = 0; f < 4; f++) {
        a = nni_node_attr(c->node, forms[f]);
        if (!a)
            continue;
        nn_status st;
        int64_t n = (int64_t)a->n;
        switch (f) {
        case 0:
            st = nni_tensor_set_shape(&s->built, NN_DTYPE_FLOAT32, 0, NULL);
            if (st == NN_OK && (st = nni_tensor_alloc(&s->built)) == NN_OK)
                *(float *)s->built.data = a->f;
            break;
        case 1:
            st = nni_tensor_set_shape(&s->built, NN_DTYPE_FLOAT32, 1, &n);
            if (st == NN_OK && (st = nni_tensor_alloc(&s->built)) == NN_OK && n)
                memcpy(s->built.data, a->floats, (size_t)n * sizeof(float));
            break;
        case 2:
            st = nni_tensor_set_shape(&s->built, NN_DTYPE_INT64, 0, NULL);
            if (st == NN_OK && (st = nni_tensor_alloc(&s->built)) == NN_OK)
                *(int64_t *)s->built.data = a->i;
            break;
        default:
            st = nni_tensor_set_shape(&s->built, NN_DTYPE_INT64, 1, &n);
            if (st == NN_OK && (st = nni_tensor_alloc(&s->built)) == NN_OK && n)
                memcpy(s->built.data, a->ints, (size_t)n * sizeof(int64_t));
            break;
        }
        if (st != NN_OK) {
            nni_tensor_release(&s->built);
            return st;
        }
        s->value = &s->built;
        return NN_OK;
    }
    return nni_error(NN_E_UNSUPPORTED, "Constant needs a 'value', 'value_float(s)' or 'value_int(s)' attribute");
}

static nn_status constant_infer(nni_opctx *c)
{
    const constant_state *s = c->state;
    return nni_out_shape(c, 0, s->value->dtype, s->value->rank, s->value->dims);
}

static nn_status constant_run(nni_opctx *c)
{
    const constant_state *s = c->state;
    if (s->value->nbytes)
        memcpy(c->out[0]->data, s->value->data, s->value->nbytes);
    return NN_OK;
}

static void constant_release(void *state)
{
    constant_state *s = state;
    nni_tensor_release(&s->built);
}

const nni_op_desc nni_op_constant = {
    .name = "Constant", .min_in = 0, .max_in = 0, .min_out = 1, .max_out = 1,
    .state_size = sizeof(constant_state),
    .prepare = constant_prepare, .infer = constant_infer, .run = constant_run, .release = constant_release,
};
