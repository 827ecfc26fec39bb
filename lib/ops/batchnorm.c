/* batchnorm.c — BatchNormalization: per-channel affine from running or batch statistics. */
#include <math.h>
#include <string.h>

#include "kernels/norm.h"
#include "ops/fusion.h"
#include "ops/op.h"
#include "ops/resolve.h"

typedef struct {
    float epsilon, momentum;
    bool training_attr; /* training_mode (opset 14+) */
    bool per_element;   /* spatial = 0 (opset < 9): parameters of shape C x D1 x ... */
} bn_state;

static nn_status bn_prepare(nni_opctx *c)
{
    bn_state *s = c->state;
    int64_t v;
    nn_status st;
    if ((st = nni_attr_float(c->node, "epsilon", 1e-5f, &s->epsilon)) != NN_OK ||
        (st = nni_attr_float(c->node, "momentum", 0.9f, &s->momentum)) != NN_OK)
        return st;
    if (!isfinite(s->epsilon) || s->epsilon < 0.0f)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'epsilon' must be a non-negative number");
    if (!isfinite(s->momentum))
        return nni_error(NN_E_INVALID_MODEL, "attribute 'momentum' must be a finite number");
    if ((st = nni_attr_int(c->node, "training_mode", 0, &v)) != NN_OK)
        return st;
    if (v != 0 && v != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'training_mode' must be 0 or 1, not %lld", (long long)v);
    s->training_attr = c->opset >= 14 && v == 1;
    if ((st = nni_attr_int(c->node, "spatial", 1, &v)) != NN_OK)
        return st;
    if (v != 0 && v != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'spatial' must be 0 or 1, not %lld", (long long)v);
    s->per_element = c->opset < 9 && v == 0;
    return NN_OK;
}

/* Batch statistics are used when the trainer runs the forward in training
 * mode, with training_mode = 1 (opset 14+) or, before opset 14, when the
 * model asks for the mean/var outputs. */
static bool bn_training(const nni_opctx *c)
{
    const bn_state *s = c->state;
    if (c->training)
        return true;
    if (c->opset >= 14)
        return s->training_attr;
    for (int32_t k = 1; k < c->n_out; k++)
        if (c->out[k])
            return true;
    return false;
}

bool nni_batchnorm_is_inference(const nni_node *n, int64_t opset, float *epsilon)
{
    const bn_state *s = n->state;
    if (!s || s->per_element || n->n_in < 5)
        return false;
    if (opset >= 14 ? s->training_attr : false)
        return false;
    for (int32_t k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0)
            return false; /* statistics outputs: training (opset < 14) or not plain inference */
    *epsilon = s->epsilon;
    return true;
}

static int64_t plane_size(const nn_tensor *x)
{
    int64_t n = 1;
    for (int32_t d = 2; d < x->rank; d++)
        n *= x->dims[d]; /* bounded by the tensor's element count */
    return n;
}

static nn_status bn_infer(nni_opctx *c)
{
    const bn_state *s = c->state;
    const nn_tensor *x = c->in[0];
    static const char *const names[] = {"X", "scale", "B", "mean", "var"};
    if (x->dtype == NN_DTYPE_FLOAT16 || x->dtype == NN_DTYPE_FLOAT64)
        return nni_error(NN_E_UNSUPPORTED, "input type %s is not supported", nn_dtype_name(x->dtype));
    for (int32_t i = 0; i < 5; i++) {
        if (!nni_has_in(c, i))
            return nni_error(NN_E_INVALID_MODEL, "input '%s' is missing", names[i]);
        if (c->in[i]->dtype != NN_DTYPE_FLOAT32)
            return nni_error(c->in[i]->dtype == NN_DTYPE_FLOAT16 ? NN_E_UNSUPPORTED : NN_E_TYPE,
                             "input '%s' is %s, expected float32", names[i], nn_dtype_name(c->in[i]->dtype));
    }
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "input X must have rank >= 2 (N, C, ...), not %d", (int)x->rank);
    const int64_t C = x->dims[1];
    const int64_t P = s->per_element ? C * plane_size(x) : C;
    for (int32_t i = 1; i < 5; i++)
        if (nni_tensor_count(c->in[i]) != P) {
            char buf[96], xbuf[96];
            return nni_error(NN_E_SHAPE, "input '%s' has shape %s, expected %lld values for X of shape %s", names[i],
                             nni_shape_str(c->in[i]->rank, c->in[i]->dims, buf, sizeof buf), (long long)P,
                             nni_shape_str(x->rank, x->dims, xbuf, sizeof xbuf));
        }
    const bool training = bn_training(c);
    if (training && s->per_element)
        return nni_error(NN_E_UNSUPPORTED, "batch statistics with spatial = 0 are not supported");
    if (c->opset < 14 && ((c->n_out > 3 && c->out[3]) || (c->n_out > 4 && c->out[4])))
        return nni_error(NN_E_UNSUPPORTED, "the saved_mean/saved_var training outputs are not supported");
    nn_status st = nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
    for (int32_t k = 1; k < 3 && st == NN_OK; k++)
        st = nni_out_shape(c, k, NN_DTYPE_FLOAT32, c->in[3]->rank, c->in[3]->dims);
    return st;
}

typedef struct {
    const float *x;
    float *y;
    const float *a, *b;   /* per channel, or per channel element when per_element */
    float *mean, *var;    /* batch statistics (training) */
    int64_t N, C, S;
    bool per_element;
    const nni_fusion *fusion; /* a fused activation (inference plans) */
} bn_job;

static void affine_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const bn_job *j = arg;
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t ch = pl % j->C;
        const float *x = j->x + pl * j->S;
        float *y = j->y + pl * j->S;
        if (j->per_element)
            nni_norm_affine_vec_f32(x, y, j->S, j->a + ch * j->S, j->b + ch * j->S);
        else
            nni_norm_affine_f32(x, y, j->S, j->a[ch], j->b[ch]);
        if (j->fusion)
            nni_act_apply(j->fusion->act, j->fusion->act_alpha, j->fusion->act_beta, y, j->S);
    }
}

/* Mean and (population) variance of each channel over N and the spatial dims. */
static void stats_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const bn_job *j = arg;
    const double count = (double)j->N * (double)j->S;
    for (int64_t ch = begin; ch < end; ch++) {
        double sum = 0.0, sq = 0.0;
        for (int64_t n = 0; n < j->N; n++)
            sum += nni_norm_sum_f32(j->x + (n * j->C + ch) * j->S, j->S);
        const float mean = count > 0 ? (float)(sum / count) : 0.0f;
        for (int64_t n = 0; n < j->N; n++)
            sq += nni_norm_sqdev_f32(j->x + (n * j->C + ch) * j->S, j->S, mean);
        j->mean[ch] = mean;
        j->var[ch] = count > 0 ? (float)(sq / count) : 0.0f;
    }
}

static nn_status bn_run(nni_opctx *c)
{
    const bn_state *s = c->state;
    const nn_tensor *x = c->in[0];
    const float *scale = c->in[1]->data, *bias = c->in[2]->data;
    const float *in_mean = c->in[3]->data, *in_var = c->in[4]->data;
    bn_job j = {.x = x->data, .y = c->out[0]->data, .N = x->dims[0], .C = x->dims[1], .S = plane_size(x),
                .per_element = s->per_element, .fusion = c->fusion};
    const int64_t P = s->per_element ? j.C * j.S : j.C;
    const bool training = bn_training(c);
    float *buf = c->scratch(c, (size_t)(P * 2 + (training ? j.C * 2 : 0)) * sizeof(float));
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate BatchNormalization scratch");
    float *a = buf, *b = buf + P;
    const float *mean = in_mean, *var = in_var;
    if (training) {
        j.mean = buf + 2 * P;
        j.var = j.mean + j.C;
        const int64_t per_ch = j.N * j.S;
        nni_parallel_for(c->pool, j.C, per_ch >= 16384 ? 1 : 16384 / (per_ch ? per_ch : 1), stats_task, &j);
        mean = j.mean;
        var = j.var;
    }
    for (int64_t k = 0; k < P; k++) {
        a[k] = (float)(scale[k] / sqrt((double)var[k] + s->epsilon));
        b[k] = bias[k] - mean[k] * a[k];
    }
    j.a = a;
    j.b = b;
    const int64_t planes = j.N * j.C;
    if (planes && j.S)
        nni_parallel_for(c->pool, planes, j.S >= 16384 ? 1 : 16384 / j.S, affine_task, &j);

    /* running statistics: input * momentum + batch * (1 - momentum), with
     * the population variance as ONNX's reference computes it */
    float *run_mean = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL;
    float *run_var = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL;
    const float m = s->momentum;
    for (int64_t k = 0; k < P; k++) {
        if (run_mean)
            run_mean[k] = training ? in_mean[k] * m + mean[k] * (1.0f - m) : in_mean[k];
        if (run_var)
            run_var[k] = training ? in_var[k] * m + var[k] * (1.0f - m) : in_var[k];
    }
    /* The trainer's in-place update of the running statistics follows
     * PyTorch (BatchNorm's momentum is 1 - ONNX's): the variance folded in is
     * the unbiased one, var * n / (n - 1). Done last: the outputs above read
     * the inputs' old values. */
    if (training && c->update_stats) {
        float *rm = c->in[3]->data, *rv = c->in[4]->data;
        const double count = (double)j.N * (double)j.S;
        const double unbias = count > 1 ? count / (count - 1) : 1.0;
        for (int64_t k = 0; k < P; k++) {
            rm[k] = (float)((double)rm[k] * m + (double)mean[k] * (1.0 - m));
            rv[k] = (float)((double)rv[k] * m + (double)var[k] * unbias * (1.0 - m));
        }
    }
    return NN_OK;
}

static uint64_t bn_macs(const nni_opctx *c) { return (uint64_t)nni_tensor_count(c->in[0]); }

const nni_op_desc nni_op_batchnormalization = {
    .name = "BatchNormalization", .min_in = 5, .max_in = 5, .min_out = 1, .max_out = 5,
    .state_size = sizeof(bn_state),
    .prepare = bn_prepare, .infer = bn_infer, .run = bn_run, .macs = bn_macs, .flags = NNI_OP_FUSE_ACT,
};

void nni_batchnorm_params(const nni_opctx *c, nni_bn_params *p)
{
    const bn_state *s = c->state;
    p->epsilon = s->epsilon;
    p->momentum = s->momentum;
    p->batch_stats = bn_training(c);
    p->per_element = s->per_element;
}
