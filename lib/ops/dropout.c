/* dropout.c — Dropout: the identity in inference; random dropping from a seed in training. */
#include <string.h>

#include "ops/op.h"
#include "ops/resolve.h"

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

/* The ratio in effect: the attribute before opset 12, input 1 after (0.5 when absent). */
static nn_status dropout_ratio(const nni_opctx *c, double *ratio, bool *unknown)
{
    const dropout_state *s = c->state;
    *unknown = false;
    *ratio = c->opset < 12 ? s->ratio : 0.5;
    if (c->opset < 12 || !nni_has_in(c, 1))
        return NN_OK;
    const nn_tensor *r = c->in[1];
    if (!(r->dtype == NN_DTYPE_FLOAT32 || r->dtype == NN_DTYPE_FLOAT64) || nni_tensor_count(r) != 1)
        return nni_error(NN_E_TYPE, "input 'ratio' must be a float scalar");
    if (!r->data) {
        *unknown = true;
        return NN_OK;
    }
    *ratio = nni_tensor_get_f64(r, 0);
    return NN_OK;
}

/*
 * Whether this run drops elements. The trainer's training mode (c->training)
 * drops with the model's ratio whatever the training_mode input says (models
 * exported for inference omit it). Otherwise opset 12+'s training_mode input
 * asks for dropping, which inference does not support unless the ratio is 0
 * (then it is still the identity).
 */
static nn_status check_training(const nni_opctx *c, bool *drops, double *ratio, bool *unknown)
{
    *drops = false;
    nn_status st = dropout_ratio(c, ratio, unknown);
    if (st != NN_OK)
        return st;
    bool mode = c->training;
    if (!mode && c->opset >= 12 && nni_has_in(c, 2)) {
        const nn_tensor *t = c->in[2];
        if (t->dtype != NN_DTYPE_BOOL || nni_tensor_count(t) != 1)
            return nni_error(NN_E_TYPE, "input 'training_mode' must be a bool scalar");
        if (!t->data) {
            *unknown = true;
            return NN_OK;
        }
        mode = nni_tensor_get_i64(t, 0) != 0;
        if (mode && !*unknown && *ratio != 0.0)
            return nni_error(NN_E_UNSUPPORTED,
                             "training-mode Dropout (random dropping, ratio %g) is not supported in inference", *ratio);
    }
    *drops = mode && !*unknown && *ratio > 0.0;
    if (*drops && !(*ratio < 1.0))
        return nni_error(NN_E_INVALID_ARG, "Dropout ratio must be in [0, 1), not %g", *ratio);
    return NN_OK;
}

/* splitmix64: a counter-based generator, so that the backward pass can
 * regenerate any element's draw from the seed alone. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

bool nni_dropout_keep(uint64_t seed, int64_t i, double ratio)
{
    uint64_t z = mix64(seed + 0x9e3779b97f4a7c15ull * ((uint64_t)i + 1));
    double u = (double)(z >> 11) * 0x1.0p-53; /* uniform in [0, 1) */
    return u >= ratio;
}

nn_status nni_dropout_resolve(const nni_opctx *c, bool *drops, double *ratio)
{
    bool unknown;
    return check_training(c, drops, ratio, &unknown);
}

static nn_status dropout_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool drops, unknown;
    double ratio;
    nn_status st = check_training(c, &drops, &ratio, &unknown);
    if (st != NN_OK)
        return st;
    if (drops && x->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "training-mode Dropout on %s is not supported", nn_dtype_name(x->dtype));
    if ((st = nni_out_shape(c, 0, x->dtype, x->rank, x->dims)) != NN_OK)
        return st;
    /* the mask is bool since opset 10, the input's type before */
    return nni_out_shape(c, 1, c->opset >= 10 ? NN_DTYPE_BOOL : x->dtype, x->rank, x->dims);
}

typedef struct {
    uint64_t seed;
    double ratio;
    float scale;
    const float *x;
    float *y;
    nn_tensor *mask;
} drop_job;

static void drop_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const drop_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t i = begin; i < end; i++) {
        bool keep = nni_dropout_keep(j->seed, i, j->ratio);
        j->y[i] = keep ? j->x[i] * j->scale : 0.0f;
        if (j->mask) {
            if (j->mask->dtype == NN_DTYPE_BOOL)
                ((uint8_t *)j->mask->data)[i] = keep;
            else if (j->mask->dtype == NN_DTYPE_FLOAT32)
                ((float *)j->mask->data)[i] = keep;
        }
    }
}

static nn_status dropout_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool drops, unknown;
    double ratio;
    nn_status st = check_training(c, &drops, &ratio, &unknown);
    if (st != NN_OK)
        return st;
    nn_tensor *m = c->n_out > 1 ? c->out[1] : NULL;
    if (drops) {
        if (x->dtype != NN_DTYPE_FLOAT32)
            return nni_error(NN_E_UNSUPPORTED, "training-mode Dropout on %s is not supported", nn_dtype_name(x->dtype));
        if (m && m->dtype != NN_DTYPE_BOOL && m->dtype != NN_DTYPE_FLOAT32)
            return nni_error(NN_E_TYPE, "mask type %s is not supported", nn_dtype_name(m->dtype));
        drop_job j = {.seed = c->seed, .ratio = ratio, .scale = (float)(1.0 / (1.0 - ratio)), .x = x->data,
                      .y = c->out[0]->data, .mask = m};
        nni_parallel_for(c->pool, nni_tensor_count(x), 16384, drop_task, &j);
        return NN_OK;
    }
    if (c->out[0]->data != x->data && x->nbytes)
        memcpy(c->out[0]->data, x->data, x->nbytes);
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
