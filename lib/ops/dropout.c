/* dropout.c — Dropout in inference: the identity, with an all-kept mask. */
#include <string.h>

#include "ops/op.h"

typedef struct {
    float ratio; /* the attribute (opset < 12) */
} dropout_state;

static nn_status dropout_prepare(nni_opctx *c)
{
    dropout_state *s = c->state;
    nn_status st = nni_attr_float(c->node, "ratio", 0.5f, &s->ratio);
    if (st == NN_OK && !(s->ratio >= 0.0f && s->ratio < 1.0f))
        return nni_error(NN_E_INVALID_MODEL, "attribute 'ratio' must be in [0, 1), not %g", (double)s->ratio);
    return st;
}

/* Opset 12+: training_mode and ratio are inputs. Random dropping is not
 * supported; training with ratio 0 is still the identity. */
static nn_status check_training(const nni_opctx *c, bool *unknown)
{
    *unknown = false;
    if (c->opset < 12 || !nni_has_in(c, 2))
        return NN_OK;
    const nn_tensor *t = c->in[2];
    if (t->dtype != NN_DTYPE_BOOL || nni_tensor_count(t) != 1)
        return nni_error(NN_E_TYPE, "input 'training_mode' must be a bool scalar");
    if (nni_has_in(c, 1) && (!(c->in[1]->dtype == NN_DTYPE_FLOAT32 || c->in[1]->dtype == NN_DTYPE_FLOAT64) ||
                             nni_tensor_count(c->in[1]) != 1))
        return nni_error(NN_E_TYPE, "input 'ratio' must be a float scalar");
    if (!t->data || (nni_has_in(c, 1) && !c->in[1]->data)) {
        *unknown = true;
        return NN_OK;
    }
    if (!nni_tensor_get_i64(t, 0))
        return NN_OK;
    double ratio = nni_has_in(c, 1) ? nni_tensor_get_f64(c->in[1], 0) : 0.5;
    if (ratio != 0.0)
        return nni_error(NN_E_UNSUPPORTED, "training-mode Dropout (random dropping, ratio %g) is not supported", ratio);
    return NN_OK;
}

static nn_status dropout_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool unknown;
    nn_status st = check_training(c, &unknown);
    if (st != NN_OK)
        return st;
    if ((st = nni_out_shape(c, 0, x->dtype, x->rank, x->dims)) != NN_OK)
        return st;
    /* the mask is bool since opset 10, the input's type before */
    return nni_out_shape(c, 1, c->opset >= 10 ? NN_DTYPE_BOOL : x->dtype, x->rank, x->dims);
}

static nn_status dropout_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool unknown;
    nn_status st = check_training(c, &unknown);
    if (st != NN_OK)
        return st;
    if (c->out[0]->data != x->data && x->nbytes)
        memcpy(c->out[0]->data, x->data, x->nbytes);
    nn_tensor *m = c->n_out > 1 ? c->out[1] : NULL;
    if (!m)
        return NN_OK;
    const int64_t n = nni_tensor_count(m);
    switch (m->dtype) {
    case NN_DTYPE_BOOL:
        memset(m->data, 1, (size_t)n);
        break;
    case NN_DTYPE_FLOAT32:
        for (int64_t i = 0; i < n; i++)
            ((float *)m->data)[i] = 1.0f;
        break;
    case NN_DTYPE_FLOAT64:
        for (int64_t i = 0; i < n; i++)
            ((double *)m->data)[i] = 1.0;
        break;
    case NN_DTYPE_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)m->data)[i] = 0x3c00; /* 1.0 */
        break;
    default:
        return nni_error(NN_E_TYPE, "mask type %s is not supported", nn_dtype_name(m->dtype));
    }
    return NN_OK;
}

const nni_op_desc nni_op_dropout = {
    .name = "Dropout", .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 2,
    .state_size = sizeof(dropout_state),
    .prepare = dropout_prepare, .infer = dropout_infer, .run = dropout_run,
};
