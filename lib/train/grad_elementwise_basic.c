/*
 * grad_elementwise_basic.c — backward of Add, Sub, Mul (with broadcasting)
 * and Relu (Identity, Flatten and Reshape share nni_grad_passthrough).
 */
#include "ops/broadcast.h"
#include "train/grad_util.h"

/* ---- Add / Sub ---- */

static nn_status add_sub(nni_gradctx *g, float sign_b)
{
    const nn_tensor *dy = g->dout[0];
    if (!dy)
        return NN_OK;
    nn_status st = nni_grad_require_f32(dy, "Add/Sub operands");
    if (st == NN_OK && nni_grad_wants(g, 0))
        st = nni_grad_reduce_to(dy, g->din[0], 1.0f);
    if (st == NN_OK && nni_grad_wants(g, 1))
        st = nni_grad_reduce_to(dy, g->din[1], sign_b);
    return st;
}

nn_status nni_grad_add(nni_gradctx *g) { return add_sub(g, 1.0f); }
nn_status nni_grad_sub(nni_gradctx *g) { return add_sub(g, -1.0f); }

/* ---- Mul: dA = reduce(dY * B), dB = reduce(dY * A) ---- */

static void mul_run(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)
{
    (void)arg;
    float *y = out;
    const float *a = in[0], *b = in[1];
    if (step[0] && step[1]) {
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i] * b[i];
    } else {
        for (int64_t i = 0; i < n; i++)
            y[i] = a[i * step[0]] * b[i * step[1]];
    }
}

static nn_status mul_one(nni_gradctx *g, int32_t i, float *tmp)
{
    const nn_tensor *dy = g->dout[0], *other = g->fwd.in[1 - i];
    nn_tensor *din = g->din[i];
    const bool direct = nni_same_shape(din, dy);
    float *dst = direct ? din->data : tmp;
    const nn_tensor *ops[2] = {dy, other};
    nni_bcast plan;
    nn_status st = nni_bcast_init(&plan, dy->rank, dy->dims, sizeof(float), 2, ops);
    if (st != NN_OK)
        return st;
    const void *ptr[2] = {dy->data, other->data};
    nni_bcast_run(&plan, g->fwd.pool, mul_run, NULL, dst, ptr);
    if (direct)
        return NN_OK;
    nn_tensor t = *dy;
    t.data = tmp;
    t.flags = 0;
    t.name = NULL;
    return nni_grad_reduce_to(&t, din, 1.0f);
}

nn_status nni_grad_mul(nni_gradctx *g)
{
    const nn_tensor *dy = g->dout[0];
    if (!dy)
        return NN_OK;
    nn_status st = nni_grad_require_f32(dy, "Mul operands");
    if (st != NN_OK)
        return st;
    float *tmp = NULL;
    if ((nni_grad_wants(g, 0) && !nni_same_shape(g->din[0], dy)) ||
        (nni_grad_wants(g, 1) && !nni_same_shape(g->din[1], dy))) {
        tmp = g->fwd.scratch(&g->fwd, dy->nbytes ? dy->nbytes : 1);
        if (!tmp)
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for the Mul gradient", dy->nbytes);
    }
    for (int32_t i = 0; i < 2 && st == NN_OK; i++)
        if (nni_grad_wants(g, i))
            st = mul_one(g, i, tmp);
    return st;
}

/* ---- Relu: the gradient passes where the output is positive ---- */

nn_status nni_grad_relu(nni_gradctx *g)
{
    const nn_tensor *dy = g->dout[0], *y = g->fwd.out[0];
    if (!dy || !nni_grad_wants(g, 0))
        return NN_OK;
    nn_status st = nni_grad_require_f32(y, "Relu input");
    if (st != NN_OK)
        return st;
    const float *d = dy->data, *yv = y->data;
    float *dx = g->din[0]->data;
    const int64_t n = nni_tensor_count(y);
    for (int64_t i = 0; i < n; i++)
        dx[i] = yv[i] > 0.0f ? d[i] : 0.0f;
    return NN_OK;
}
