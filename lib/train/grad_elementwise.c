/*
 * grad_elementwise.c — backward of broadcasting elementwise ops beyond the
 * engine's Add/Sub/Mul: Div, Pow, PRelu (with the slope's gradient), the
 * variadic Sum/Mean/Max/Min, and Cast between float32 tensors. Each input's
 * gradient is formed at the output's shape, then summed over the axes the
 * input was broadcast along (nni_grad_reduce_to).
 */
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "train/grad_helpers.h"

/* ---- broadcast kernels: o[i] = f(in0[i*s0], in1[i*s1], ...) ---- */

#define KERNEL2(name, EXPR)                                                                          \
    static void name(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)   \
    {                                                                                                \
        float *o = out;                                                                              \
        const float *p0 = in[0], *p1 = in[1];                                                        \
        NNI_UNUSED(arg);                                                                             \
        for (int64_t i = 0; i < n; i++) {                                                            \
            const float a = p0[i * step[0]], b = p1[i * step[1]];                                    \
            o[i] = (EXPR);                                                                           \
        }                                                                                            \
    }
#define KERNEL3(name, EXPR)                                                                          \
    static void name(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)   \
    {                                                                                                \
        float *o = out;                                                                              \
        const float *p0 = in[0], *p1 = in[1], *p2 = in[2];                                           \
        NNI_UNUSED(arg);                                                                             \
        for (int64_t i = 0; i < n; i++) {                                                            \
            const float a = p0[i * step[0]], b = p1[i * step[1]], c = p2[i * step[2]];               \
            o[i] = (EXPR);                                                                           \
        }                                                                                            \
    }

/* a = dY, b = divisor */
KERNEL2(div_da, a / b)
/* a = dY, b = Y, c = divisor: d(A/B)/dB = -Y / B */
KERNEL3(div_db, -a * b / c)
/* a = dY, b = base, c = exponent */
KERNEL3(pow_da, c == 0.0f ? 0.0f : a * c * powf(b, c - 1.0f))
/* a = dY, b = Y, c = base (0^e contributes nothing, as in PyTorch) */
KERNEL3(pow_db, c == 0.0f ? 0.0f : a * b * logf(c))
/* a = dY, b = X, c = slope */
KERNEL3(prelu_dx, b > 0.0f ? a : a * c)
/* a = dY, b = X */
KERNEL2(prelu_dslope, b > 0.0f ? 0.0f : a * b)
/* a = dY / ties, b = Y, c = X_i */
KERNEL3(select_eq, c == b ? a : 0.0f)
/* a = running tie count, b = Y, c = X_i */
KERNEL3(count_eq, a + (c == b ? 1.0f : 0.0f))
KERNEL2(div_by, a / b)

/* out (shape of the forward output) = fn(inputs broadcast to it). */
static nn_status full_shape(const nni_opctx *c, nni_bcast_fn fn, int32_t n, const nn_tensor *const *in, float *out)
{
    const nn_tensor *y = c->out[0];
    nni_bcast plan;
    nn_status st = nni_bcast_init(&plan, y->rank, y->dims, sizeof(float), n, in);
    if (st != NN_OK || plan.count == 0)
        return st;
    const void *ptr[NNI_BCAST_MAX_IN];
    for (int32_t i = 0; i < n; i++)
        ptr[i] = in[i]->data;
    nni_bcast_run(&plan, c->pool, fn, NULL, out, ptr);
    return NN_OK;
}

/* A float32 view of buf with the forward output's shape. */
static nn_tensor out_view(const nni_opctx *c, float *buf)
{
    nn_tensor v = *c->out[0];
    v.data = buf;
    v.flags = 0;
    v.name = NULL;
    return v;
}

/* Common checks; *tmp = scratch for `bufs` arrays of the output's size (NULL when nothing to do). */
static nn_status begin(nni_gradctx *g, int32_t bufs, float **tmp)
{
    *tmp = NULL;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    bool any = false;
    for (int32_t i = 0; i < g->fwd.n_in; i++)
        any = any || nni_grad_din(g, i);
    if (!dy || !any)
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    for (int32_t i = 1; i < g->fwd.n_in && st == NN_OK; i++)
        if (nni_grad_din(g, i) || g->fwd.in[i]->dtype != NN_DTYPE_FLOAT32)
            st = nni_grad_require_f32(g->fwd.in[i], "input");
    if (st != NN_OK)
        return st;
    if (!nni_same_shape(dy, g->fwd.out[0]))
        return nni_error(NN_E_SHAPE, "output gradient and output differ in shape");
    const size_t n = (size_t)nni_tensor_count(dy);
    *tmp = nni_grad_scratch(g, (n ? n : 1) * sizeof(float) * (size_t)bufs);
    if (!*tmp)
        return nni_error(NN_E_NOMEM, "cannot allocate elementwise backward scratch");
    return NN_OK;
}

static nn_status unbroadcast(const nni_gradctx *g, float *full, nn_tensor *din)
{
    nn_tensor v = out_view(&g->fwd, full);
    return nni_grad_reduce_to(&v, din, 1.0f);
}

nn_status nni_grad_div(nni_gradctx *g)
{
    float *tmp;
    nn_status st = begin(g, 1, &tmp);
    if (st != NN_OK || !tmp)
        return st;
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    nn_tensor *da = nni_grad_din(g, 0), *db = nni_grad_din(g, 1);
    if (da) {
        const nn_tensor *in[2] = {dy, c->in[1]};
        if ((st = full_shape(c, div_da, 2, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, da)) != NN_OK)
            return st;
    }
    if (db) {
        const nn_tensor *in[3] = {dy, c->out[0], c->in[1]};
        if ((st = full_shape(c, div_db, 3, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, db)) != NN_OK)
            return st;
    }
    return NN_OK;
}

nn_status nni_grad_pow(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    if (nni_grad_dout(g, 0) && nni_grad_din(g, 0) && c->in[1]->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "backward of Pow with a %s exponent is not supported",
                         nn_dtype_name(c->in[1]->dtype));
    float *tmp;
    nn_status st = begin(g, 1, &tmp);
    if (st != NN_OK || !tmp)
        return st;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    nn_tensor *da = nni_grad_din(g, 0), *db = nni_grad_din(g, 1);
    if (da) {
        const nn_tensor *in[3] = {dy, c->in[0], c->in[1]};
        if ((st = full_shape(c, pow_da, 3, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, da)) != NN_OK)
            return st;
    }
    if (db) {
        const nn_tensor *in[3] = {dy, c->out[0], c->in[0]};
        if ((st = full_shape(c, pow_db, 3, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, db)) != NN_OK)
            return st;
    }
    return NN_OK;
}

nn_status nni_grad_prelu(nni_gradctx *g)
{
    float *tmp;
    nn_status st = begin(g, 1, &tmp);
    if (st != NN_OK || !tmp)
        return st;
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    nn_tensor *dx = nni_grad_din(g, 0), *dslope = nni_grad_din(g, 1);
    if (dx) {
        const nn_tensor *in[3] = {dy, c->in[0], c->in[1]};
        if ((st = full_shape(c, prelu_dx, 3, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, dx)) != NN_OK)
            return st;
    }
    if (dslope) {
        const nn_tensor *in[2] = {dy, c->in[0]};
        if ((st = full_shape(c, prelu_dslope, 2, in, tmp)) != NN_OK || (st = unbroadcast(g, tmp, dslope)) != NN_OK)
            return st;
    }
    return NN_OK;
}

/* Sum and Mean: every input gets dY (Mean: dY / n), summed to its shape. */
static nn_status sum_backward(nni_gradctx *g, bool mean)
{
    const nn_tensor *dy = nni_grad_dout(g, 0);
    bool any = false;
    for (int32_t i = 0; i < g->fwd.n_in; i++)
        any = any || nni_grad_din(g, i);
    if (!dy || !any)
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    if (st != NN_OK)
        return st;
    const float scale = mean ? 1.0f / (float)g->fwd.n_in : 1.0f;
    for (int32_t i = 0; i < g->fwd.n_in && st == NN_OK; i++)
        if (nni_grad_din(g, i))
            st = nni_grad_reduce_to(dy, nni_grad_din(g, i), scale);
    return st;
}

nn_status nni_grad_sum(nni_gradctx *g) { return sum_backward(g, false); }
nn_status nni_grad_mean(nni_gradctx *g) { return sum_backward(g, true); }

/* Max and Min: dY goes to the inputs equal to the output, split evenly
 * between ties (PyTorch's maximum/minimum do the same for two inputs). */
nn_status nni_grad_maxmin(nni_gradctx *g)
{
    float *tmp;
    nn_status st = begin(g, 2, &tmp);
    if (st != NN_OK || !tmp)
        return st;
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dy = nni_grad_dout(g, 0);
    const int64_t n = nni_tensor_count(dy);
    if (c->n_in == 1) {
        if (nni_grad_din(g, 0))
            nni_grad_accumulate(c->pool, nni_grad_din(g, 0)->data, dy->data, n);
        return NN_OK;
    }
    float *cnt = tmp, *full = tmp + n;
    memset(cnt, 0, (size_t)n * sizeof(float));
    nn_tensor cv = out_view(c, cnt);
    for (int32_t i = 0; i < c->n_in; i++) {
        const nn_tensor *in[3] = {&cv, c->out[0], c->in[i]};
        if ((st = full_shape(c, count_eq, 3, in, cnt)) != NN_OK)
            return st;
    }
    {
        const nn_tensor *in[2] = {dy, &cv};
        if ((st = full_shape(c, div_by, 2, in, cnt)) != NN_OK) /* cnt = dY / ties */
            return st;
    }
    for (int32_t i = 0; i < c->n_in; i++) {
        nn_tensor *d = nni_grad_din(g, i);
        if (!d)
            continue;
        const nn_tensor *in[3] = {&cv, c->out[0], c->in[i]};
        if ((st = full_shape(c, select_eq, 3, in, full)) != NN_OK || (st = unbroadcast(g, full, d)) != NN_OK)
            return st;
    }
    return NN_OK;
}

/* Cast: the identity on the gradient between float32 tensors. */
nn_status nni_grad_cast(nni_gradctx *g)
{
    if (!nni_grad_dout(g, 0) || !nni_grad_din(g, 0))
        return NN_OK;
    if (g->fwd.in[0]->dtype != NN_DTYPE_FLOAT32 || g->fwd.out[0]->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "backward of Cast from %s to %s is not supported (float32 to float32 only)",
                         nn_dtype_name(g->fwd.in[0]->dtype), nn_dtype_name(g->fwd.out[0]->dtype));
    return nni_grad_passthrough(g);
}
