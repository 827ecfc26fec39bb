/*
 * check_grad.c — the backward functions of lib/train against central finite
 * differences, and against PyTorch 1.13 (test/data/grad, made by
 * tools/testdata/make_grad_cases.py).
 *
 * Finite differences: each op is driven through its descriptor (prepare,
 * infer, run) as the executor does; the loss is a random projection
 * L = sum(w * y) evaluated in double from the float32 outputs, so dL/dy = w
 * is handed to the backward as dY. For each input element (or a random
 * subset of at most `max_checks`), dL/dx = (L(x + h) - L(x - h)) / 2h with
 * h ~ 1e-2 (the float32-rounded step actually taken). Inputs are drawn away
 * from kinks (ReLU-like thresholds, max-pool ties) by more than h, so
 * piecewise-linear ops are exact and smooth ones have O(h^2) truncation
 * error. Pass: |analytic - fd| <= atol + rtol * max(|analytic|, |fd|), with
 * atol 1e-3 and rtol 1e-2 by default (float32 forward noise divided by 2h).
 *
 * Each backward also runs (a) with din pre-filled, checking it adds rather
 * than stores, (b) with each input gradient requested alone, checking the
 * NULL-din paths, and (c) with and without a thread pool.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "exec/pool.h"
#include "frontends/onnx/onnx_import.h"
#include "ops/op.h"
#include "op_attrs.h"
#include "test_util.h"
#include "train/grad.h"

#define MAX_IO 8

/* ---- helpers ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static float rnd_unit(void) { return (float)(rnd() % 2000001) / 1000000.0f - 1.0f; } /* [-1, 1] */

#define INTS(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), ((int64_t[]){__VA_ARGS__})

/* ---- one op under test ---- */

typedef struct {
    const char *op, *label;
    int64_t opset;
    test_attrs at;
    const nni_node *node; /* a loaded node instead of op/at (the PyTorch cases) */
    int32_t n_in, n_out;
    int32_t n_loss; /* outputs in the loss: the first n_loss float ones (0: all) */
    nn_tensor *in[MAX_IO];
    bool diff[MAX_IO];
    bool training;
    uint64_t seed;
    double eps, atol, rtol;
    int64_t max_checks;
    nni_pool *pool;
} gcase;

static void gc_init(gcase *g, const char *op, int64_t opset, const char *label)
{
    memset(g, 0, sizeof *g);
    g->op = op;
    g->opset = opset;
    g->label = label;
    g->n_out = 1;
    g->eps = 1e-2;
    g->atol = 1e-3;
    g->rtol = 1e-2;
    g->max_checks = 160;
}

static nn_tensor *gc_add(gcase *g, nn_dtype t, bool diff, int32_t rank, const int64_t *dims)
{
    nn_tensor *x = NULL;
    static const int64_t scalar_dims[1] = {1};
    ck_assert_ok(nni_tensor_new(t, rank, dims ? dims : scalar_dims, &x));
    ck_assert_int_lt(g->n_in, MAX_IO);
    g->diff[g->n_in] = diff;
    g->in[g->n_in++] = x;
    return x;
}

/* Uniform in [lo, hi]. */
static nn_tensor *gc_range(gcase *g, bool diff, float lo, float hi, int32_t rank, const int64_t *dims)
{
    nn_tensor *x = gc_add(g, NN_DTYPE_FLOAT32, diff, rank, dims);
    float *p = x->data;
    for (int64_t i = 0; i < nni_tensor_count(x); i++)
        p[i] = lo + (hi - lo) * (rnd_unit() + 1.0f) * 0.5f;
    return x;
}

static nn_tensor *gc_rand(gcase *g, bool diff, int32_t rank, const int64_t *dims)
{
    return gc_range(g, diff, -1.0f, 1.0f, rank, dims);
}

/* Distinct values `spacing` apart plus `offset`, shuffled: no ties within
 * finite-difference steps. */
static nn_tensor *gc_distinct_grid(gcase *g, bool diff, int32_t rank, const int64_t *dims, float spacing, float offset)
{
    nn_tensor *x = gc_add(g, NN_DTYPE_FLOAT32, diff, rank, dims);
    float *p = x->data;
    int64_t n = nni_tensor_count(x);
    for (int64_t i = 0; i < n; i++)
        p[i] = spacing * (float)(i - n / 2) + offset;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = rnd() % (uint32_t)(i + 1);
        float t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    return x;
}

static nn_tensor *gc_distinct(gcase *g, bool diff, int32_t rank, const int64_t *dims)
{
    return gc_distinct_grid(g, diff, rank, dims, 0.05f, 0.0f);
}

static nn_tensor *gc_ints(gcase *g, int32_t n, const int64_t *v)
{
    int64_t d = n;
    nn_tensor *x = gc_add(g, NN_DTYPE_INT64, false, 1, &d);
    memcpy(x->data, v, (size_t)n * sizeof *v);
    return x;
}

static nn_tensor *gc_scalar(gcase *g, float v)
{
    nn_tensor *x = gc_add(g, NN_DTYPE_FLOAT32, false, 0, NULL);
    *(float *)x->data = v;
    return x;
}

static void gc_none(gcase *g)
{
    g->diff[g->n_in] = false;
    g->in[g->n_in++] = NULL;
}

/* Move values of t closer than `gap` to any kink to a distance of `gap`. */
static void avoid(nn_tensor *t, int n, const float *kinks, float gap)
{
    float *p = t->data;
    for (int64_t i = 0; i < nni_tensor_count(t); i++)
        for (int k = 0; k < n; k++)
            if (fabsf(p[i] - kinks[k]) < gap)
                p[i] = kinks[k] + (p[i] >= kinks[k] ? gap : -gap);
}

/* The op's context, outputs and state across forward runs. */
typedef struct {
    gcase *g;
    nni_node node;
    const nni_op_desc *d;
    nn_tensor *out[MAX_IO];
    test_scratch sc;
    nni_opctx c;
} runner;

static void runner_init(runner *r, gcase *g)
{
    memset(r, 0, sizeof *r);
    r->g = g;
    const char *op = g->node ? g->node->op_type : g->op;
    r->d = nni_op_find(op);
    ck_assert_msg(r->d != NULL, "op %s not found", op);
    if (g->node) {
        r->node = *g->node;
    } else {
        r->node.name = (char *)"test";
        r->node.op_type = (char *)op;
        r->node.op = r->d;
        r->node.n_attr = g->at.n;
        r->node.attrs = g->at.a;
    }
    r->node.n_in = g->n_in;
    r->node.n_out = g->n_out;
    for (int32_t k = 0; k < g->n_out; k++)
        r->out[k] = calloc(1, sizeof(nn_tensor));
    r->c = (nni_opctx){.node = &r->node, .n_in = g->n_in, .n_out = g->n_out, .in = g->in, .out = r->out,
                       .pool = g->pool, .opset = g->opset, .training = g->training, .seed = g->seed,
                       .scratch = test_scratch_fn, .scratch_owner = &r->sc};
    r->c.state = calloc(1, r->d->state_size ? r->d->state_size : 1);
    nn_status st = r->d->prepare ? r->d->prepare(&r->c) : NN_OK;
    ck_assert_msg(st == NN_OK, "%s: prepare failed: %s", g->label, nn_last_error());
}

static void runner_forward(runner *r)
{
    for (int32_t k = 0; k < r->g->n_out; k++)
        nni_tensor_release(r->out[k]);
    nn_status st = r->d->infer(&r->c);
    ck_assert_msg(st == NN_OK, "%s: infer failed: %s", r->g->label, nn_last_error());
    for (int32_t k = 0; k < r->g->n_out; k++) {
        ck_assert_ok(nni_tensor_alloc(r->out[k]));
        if (r->out[k]->dtype == NN_DTYPE_FLOAT32) /* poison: run must write every element */
            for (int64_t i = 0; i < nni_tensor_count(r->out[k]); i++)
                ((float *)r->out[k]->data)[i] = NAN;
    }
    st = r->d->run(&r->c);
    ck_assert_msg(st == NN_OK, "%s: run failed: %s", r->g->label, nn_last_error());
}

static void runner_free(runner *r)
{
    for (int32_t k = 0; k < r->g->n_out; k++) {
        nni_tensor_release(r->out[k]);
        free(r->out[k]);
    }
    if (r->d->release)
        r->d->release(r->c.state);
    free(r->c.state);
    nni_free_aligned(r->sc.buf);
}

static double loss(const runner *r, nn_tensor *const *w)
{
    double l = 0.0;
    for (int32_t k = 0; k < r->g->n_out; k++) {
        if (!w[k])
            continue;
        const float *y = r->out[k]->data, *wk = w[k]->data;
        for (int64_t i = 0; i < nni_tensor_count(w[k]); i++)
            l += (double)wk[i] * (double)y[i];
    }
    return l;
}

static nn_status runner_backward(runner *r, nn_tensor *const *dout, nn_tensor *const *din)
{
    nni_grad_fn fn = nni_grad_find(r->node.op_type);
    ck_assert_msg(fn != NULL, "no backward for %s", r->node.op_type);
    nni_gradctx gc = {.fwd = r->c, .dout = dout, .din = din};
    return fn(&gc);
}

static nn_tensor *clone(const nn_tensor *t)
{
    nn_tensor *c = NULL;
    ck_assert_ok(nni_tensor_clone(t, &c));
    return c;
}

/* Statistics over all finite-difference checks (printed at the end). */
static int64_t g_cases, g_checked;
static double g_max_abs;

static void gc_free(gcase *g)
{
    for (int32_t i = 0; i < g->n_in; i++)
        nn_tensor_free(g->in[i]);
    g->n_in = 0;
}

/* The whole check of one case; frees its inputs. */
static void check_case(gcase *g)
{
    runner r;
    runner_init(&r, g);
    runner_forward(&r);
    nn_tensor *w[MAX_IO] = {NULL}, *din[MAX_IO] = {NULL}, *pre[MAX_IO] = {NULL};
    for (int32_t k = 0; k < (g->n_loss ? g->n_loss : g->n_out); k++)
        if (r.out[k]->dtype == NN_DTYPE_FLOAT32) {
            ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, r.out[k]->rank, r.out[k]->dims, &w[k]));
            for (int64_t i = 0; i < nni_tensor_count(w[k]); i++)
                ((float *)w[k]->data)[i] = rnd_unit();
        }
    int32_t n_diff = 0;
    for (int32_t i = 0; i < g->n_in; i++) {
        if (!g->diff[i])
            continue;
        n_diff++;
        ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, g->in[i]->rank, g->in[i]->dims, &din[i]));
        for (int64_t e = 0; e < nni_tensor_count(din[i]); e++)
            ((float *)din[i]->data)[e] = rnd_unit();
        pre[i] = clone(din[i]);
    }
    nn_status st = runner_backward(&r, w, din);
    ck_assert_msg(st == NN_OK, "%s: backward failed: %s", g->label, nn_last_error());
    for (int32_t i = 0; i < g->n_in; i++) /* the gradient alone */
        if (din[i])
            for (int64_t e = 0; e < nni_tensor_count(din[i]); e++)
                ((float *)din[i]->data)[e] -= ((float *)pre[i]->data)[e];

    /* each input gradient requested alone matches (and the others stay NULL) */
    if (n_diff > 1)
        for (int32_t i = 0; i < g->n_in; i++) {
            if (!din[i])
                continue;
            nn_tensor *only[MAX_IO] = {NULL};
            ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, din[i]->rank, din[i]->dims, &only[i]));
            ck_assert_ok(runner_backward(&r, w, only));
            for (int64_t e = 0; e < nni_tensor_count(din[i]); e++) {
                float a = ((float *)only[i]->data)[e], b = ((float *)din[i]->data)[e];
                ck_assert_msg(fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b)),
                              "%s: input %d alone: gradient[%lld] = %g, with all: %g", g->label, (int)i, (long long)e,
                              (double)a, (double)b);
            }
            nn_tensor_free(only[i]);
        }

    /* central differences */
    double max_abs = 0.0;
    for (int32_t i = 0; i < g->n_in; i++) {
        if (!din[i])
            continue;
        float *x = g->in[i]->data;
        const float *an = din[i]->data;
        const int64_t n = nni_tensor_count(g->in[i]);
        const int64_t checks = n < g->max_checks ? n : g->max_checks;
        for (int64_t t = 0; t < checks; t++) {
            const int64_t e = checks == n ? t : (int64_t)(rnd() % (uint32_t)n);
            const float v = x[e];
            const float xp = v + (float)g->eps, xm = v - (float)g->eps;
            x[e] = xp;
            runner_forward(&r);
            const double lp = loss(&r, w);
            x[e] = xm;
            runner_forward(&r);
            const double lm = loss(&r, w);
            x[e] = v;
            const double fd = (lp - lm) / ((double)xp - (double)xm);
            const double err = fabs((double)an[e] - fd);
            const double tol = g->atol + g->rtol * fmax(fabs((double)an[e]), fabs(fd));
            ck_assert_msg(err <= tol, "%s: d/d input %d [%lld]: backward %.6g, finite difference %.6g (err %.3g > %.3g)",
                          g->label, (int)i, (long long)e, (double)an[e], fd, err, tol);
            if (err > max_abs)
                max_abs = err;
            g_checked++;
        }
    }
    g_cases++;
    if (max_abs > g_max_abs)
        g_max_abs = max_abs;
    for (int32_t k = 0; k < MAX_IO; k++) {
        nn_tensor_free(w[k]);
        nn_tensor_free(din[k]);
        nn_tensor_free(pre[k]);
    }
    runner_free(&r);
    gc_free(g);
}

/* Run the same case builder with and without a pool. */
typedef void (*case_fn)(gcase *g, int variant);

static void run_variants(const char *op, int64_t opset, case_fn build, int n_variants)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    const int64_t cases0 = g_cases, checked0 = g_checked;
    g_max_abs = 0.0;
    for (int v = 0; v < n_variants; v++) {
        gcase g;
        char label[96];
        gc_init(&g, op, opset, op);
        g.pool = v % 2 ? pool : NULL;
        build(&g, v);
        snprintf(label, sizeof label, "%s (variant %d)", g.op, v);
        g.label = label;
        check_case(&g);
    }
    nni_pool_free(pool);
    printf("  %-20s %3lld cases %6lld gradient elements  max |backward - finite difference| %.2e\n", op,
           (long long)(g_cases - cases0), (long long)(g_checked - checked0), g_max_abs);
}

/* ---- Conv ---- */

typedef struct {
    int32_t nd;
    int64_t N, C, M, group, in[3], k[3], stride[3], dil[3], pb[3], pe[3];
    const char *auto_pad;
    bool bias;
} conv_cfg;

static const conv_cfg conv_cfgs[] = {
    /* nd N C M grp  in          k          stride     dil        pb         pe        auto bias */
    {2, 2, 3, 4, 1, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, true},
    {2, 1, 3, 2, 1, {7, 6}, {3, 2}, {2, 2}, {1, 1}, {1, 0}, {0, 1}, NULL, false},
    {2, 2, 4, 6, 2, {6, 5}, {3, 3}, {1, 2}, {1, 1}, {1, 1}, {1, 1}, NULL, true},   /* grouped */
    {2, 2, 3, 3, 3, {6, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, true},   /* depthwise */
    {2, 1, 2, 4, 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, NULL, true},   /* depthwise x2, strided */
    {2, 1, 3, 3, 3, {9, 8}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 1}, NULL, false},  /* depthwise dilated */
    {2, 2, 3, 2, 1, {9, 9}, {3, 3}, {1, 1}, {2, 3}, {0, 0}, {0, 0}, NULL, true},   /* dilated */
    {2, 2, 5, 3, 1, {4, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, NULL, true},   /* pointwise */
    {2, 1, 4, 4, 2, {5, 5}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, NULL, false},  /* grouped pointwise */
    {2, 1, 3, 2, 1, {7, 7}, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, NULL, true},   /* strided 1x1 */
    {2, 1, 2, 3, 1, {7, 6}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, "SAME_UPPER", true},
    {2, 1, 2, 3, 1, {6, 7}, {4, 3}, {2, 1}, {1, 1}, {0, 0}, {0, 0}, "SAME_LOWER", false},
    {1, 2, 3, 4, 1, {11}, {3}, {2}, {1}, {1}, {2}, NULL, true},                   /* 1-D */
    {1, 2, 4, 4, 4, {10}, {5}, {1}, {2}, {2}, {2}, NULL, true},                    /* 1-D depthwise */
    {3, 1, 2, 3, 1, {4, 5, 3}, {2, 3, 2}, {1, 2, 1}, {1, 1, 1}, {1, 1, 0}, {0, 1, 1}, NULL, true}, /* 3-D */
    {3, 1, 4, 2, 2, {3, 4, 4}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, NULL, false},
};

static void build_conv(gcase *g, int v)
{
    const conv_cfg *cc = &conv_cfgs[v / 2];
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->group}, pads[6];
    for (int d = 0; d < cc->nd; d++) {
        xd[2 + d] = cc->in[d];
        wd[2 + d] = cc->k[d];
        pads[d] = cc->pb[d];
        pads[cc->nd + d] = cc->pe[d];
    }
    gc_rand(g, true, cc->nd + 2, xd);
    gc_rand(g, true, cc->nd + 2, wd);
    if (cc->bias)
        gc_rand(g, true, 1, &cc->M);
    test_attr_int(&g->at, "group", cc->group);
    test_attr_ints(&g->at, "kernel_shape", cc->nd, cc->k);
    test_attr_ints(&g->at, "strides", cc->nd, cc->stride);
    test_attr_ints(&g->at, "dilations", cc->nd, cc->dil);
    if (cc->auto_pad)
        test_attr_string(&g->at, "auto_pad", cc->auto_pad);
    else
        test_attr_ints(&g->at, "pads", 2 * cc->nd, pads);
    if (v % 4 == 3) /* sometimes only the weights' gradient (frozen input) */
        g->diff[0] = false;
}

START_TEST(test_grad_conv)
{
    run_variants("Conv", 13, build_conv, 2 * (int)(sizeof conv_cfgs / sizeof conv_cfgs[0]));
}
END_TEST

typedef struct {
    int32_t nd;
    int64_t N, C, Mg, group, in[3], k[3], stride[3], dil[3], pb[3], pe[3], outpad[3];
    bool bias;
} convt_cfg;

static const convt_cfg convt_cfgs[] = {
    {2, 2, 3, 2, 1, {4, 5}, {3, 3}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, true},
    {2, 1, 4, 3, 1, {3, 4}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, {1, 0}, true},  /* upsampling */
    {2, 2, 4, 2, 2, {4, 3}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, {0, 0}, false}, /* grouped */
    {2, 1, 3, 1, 3, {5, 4}, {3, 3}, {1, 2}, {2, 1}, {1, 0}, {2, 1}, {0, 1}, true},  /* depthwise, dilated */
    {1, 2, 3, 2, 1, {6}, {4}, {2}, {1}, {1}, {1}, {0}, true},
    {3, 1, 2, 2, 1, {2, 3, 3}, {2, 2, 3}, {2, 1, 2}, {1, 1, 1}, {0, 1, 1}, {0, 0, 1}, {1, 0, 0}, true},
};

static void build_convt(gcase *g, int v)
{
    const convt_cfg *cc = &convt_cfgs[v / 2];
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->C, cc->Mg}, pads[6], M = cc->Mg * cc->group;
    for (int d = 0; d < cc->nd; d++) {
        xd[2 + d] = cc->in[d];
        wd[2 + d] = cc->k[d];
        pads[d] = cc->pb[d];
        pads[cc->nd + d] = cc->pe[d];
    }
    gc_rand(g, true, cc->nd + 2, xd);
    gc_rand(g, v % 4 != 3, cc->nd + 2, wd);
    if (cc->bias)
        gc_rand(g, true, 1, &M);
    test_attr_int(&g->at, "group", cc->group);
    test_attr_ints(&g->at, "strides", cc->nd, cc->stride);
    test_attr_ints(&g->at, "dilations", cc->nd, cc->dil);
    test_attr_ints(&g->at, "pads", 2 * cc->nd, pads);
    test_attr_ints(&g->at, "output_padding", cc->nd, cc->outpad);
}

START_TEST(test_grad_convtranspose)
{
    run_variants("ConvTranspose", 13, build_convt, 2 * (int)(sizeof convt_cfgs / sizeof convt_cfgs[0]));
}
END_TEST

/* Naive double-precision reference for a 2-D grouped convolution's gradients. */
static void conv_ref_grads(const conv_cfg *cc, const float *x, const float *w, const float *dy, int64_t OH, int64_t OW,
                           double *dx, double *dw, double *db)
{
    const int64_t Cg = cc->C / cc->group, Mg = cc->M / cc->group, H = cc->in[0], W = cc->in[1];
    const int64_t KH = cc->k[0], KW = cc->k[1];
    for (int64_t n = 0; n < cc->N; n++)
        for (int64_t m = 0; m < cc->M; m++) {
            const int64_t gi = m / Mg;
            for (int64_t oh = 0; oh < OH; oh++)
                for (int64_t ow = 0; ow < OW; ow++) {
                    const double gy = dy[((n * cc->M + m) * OH + oh) * OW + ow];
                    db[m] += gy;
                    for (int64_t c = 0; c < Cg; c++)
                        for (int64_t kh = 0; kh < KH; kh++) {
                            const int64_t ih = oh * cc->stride[0] - cc->pb[0] + kh * cc->dil[0];
                            if (ih < 0 || ih >= H)
                                continue;
                            for (int64_t kw = 0; kw < KW; kw++) {
                                const int64_t iw = ow * cc->stride[1] - cc->pb[1] + kw * cc->dil[1];
                                if (iw < 0 || iw >= W)
                                    continue;
                                const int64_t xi = ((n * cc->C + gi * Cg + c) * H + ih) * W + iw;
                                const int64_t wi = ((m * Cg + c) * KH + kh) * KW + kw;
                                dx[xi] += gy * w[wi];
                                dw[wi] += gy * x[xi];
                            }
                        }
                }
        }
}

static void expect_grad(const char *what, const nn_tensor *got, const double *want)
{
    double scale = 0.0;
    const int64_t n = nni_tensor_count(got);
    for (int64_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (int64_t i = 0; i < n; i++) {
        const double g = ((const float *)got->data)[i];
        ck_assert_msg(fabs(g - want[i]) <= 1e-5 * (scale + 1.0), "%s[%lld] = %.7g, expected %.7g", what, (long long)i,
                      g, want[i]);
    }
}

/* Sizes past the im2col chunk budget, bigger depthwise planes and batches of
 * small images (gathered side by side) against the naive loops. */
START_TEST(test_grad_conv_large)
{
    static const conv_cfg cfgs[] = {
        {2, 1, 4, 3, 1, {300, 290}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, true}, /* chunked columns */
        {2, 2, 8, 8, 8, {64, 61}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, NULL, true},   /* depthwise */
        {2, 2, 16, 12, 4, {23, 29}, {3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, NULL, true}, /* grouped dilated */
        {2, 3, 32, 24, 1, {14, 14}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, NULL, true}, /* pointwise */
        {2, 5, 64, 16, 1, {40, 40}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, true}, /* images 2+2+1 side by side */
        {2, 6, 128, 128, 1, {64, 64}, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, NULL, false}, /* pointwise 4+2 */
        {2, 7, 24, 36, 3, {7, 7}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, NULL, true},   /* grouped, all 7 at once */
    };
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (size_t t = 0; t < sizeof cfgs / sizeof cfgs[0]; t++) {
        const conv_cfg *cc = &cfgs[t];
        gcase g;
        gc_init(&g, "Conv", 13, "Conv large");
        g.pool = t % 2 ? NULL : pool;
        int64_t xd[4] = {cc->N, cc->C, cc->in[0], cc->in[1]}, wd[4] = {cc->M, cc->C / cc->group, cc->k[0], cc->k[1]};
        int64_t pads[4] = {cc->pb[0], cc->pb[1], cc->pe[0], cc->pe[1]};
        gc_rand(&g, true, 4, xd);
        gc_rand(&g, true, 4, wd);
        if (cc->bias)
            gc_rand(&g, true, 1, &cc->M);
        else
            gc_range(&g, true, 0, 0, 1, &cc->M);
        test_attr_int(&g.at, "group", cc->group);
        test_attr_ints(&g.at, "strides", 2, cc->stride);
        test_attr_ints(&g.at, "dilations", 2, cc->dil);
        test_attr_ints(&g.at, "pads", 4, pads);
        runner r;
        runner_init(&r, &g);
        runner_forward(&r);
        const nn_tensor *y = r.out[0];
        nn_tensor *dy = NULL, *din[3] = {NULL};
        ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, y->rank, y->dims, &dy));
        for (int64_t i = 0; i < nni_tensor_count(dy); i++)
            ((float *)dy->data)[i] = rnd_unit();
        for (int i = 0; i < 3; i++)
            ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, g.in[i]->rank, g.in[i]->dims, &din[i]));
        nn_tensor *douts[1] = {dy};
        ck_assert_ok(runner_backward(&r, douts, din));
        double *dx = calloc((size_t)nni_tensor_count(g.in[0]), sizeof(double));
        double *dw = calloc((size_t)nni_tensor_count(g.in[1]), sizeof(double));
        double *db = calloc((size_t)cc->M, sizeof(double));
        conv_ref_grads(cc, g.in[0]->data, g.in[1]->data, dy->data, y->dims[2], y->dims[3], dx, dw, db);
        expect_grad("Conv large dX", din[0], dx);
        expect_grad("Conv large dW", din[1], dw);
        expect_grad("Conv large dB", din[2], db);
        free(dx), free(dw), free(db);
        for (int i = 0; i < 3; i++)
            nn_tensor_free(din[i]);
        nn_tensor_free(dy);
        runner_free(&r);
        gc_free(&g);
    }
    nni_pool_free(pool);
}
END_TEST

/* ---- pools ---- */

typedef struct {
    const char *op;
    int32_t nd;
    int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3];
    int ceil, include_pad;
    const char *auto_pad;
} pool_cfg;

static const pool_cfg pool_cfgs[] = {
    {"MaxPool", 2, {6, 6}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0, 0, NULL},
    {"MaxPool", 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0, NULL},
    {"MaxPool", 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 1, 0, NULL},     /* ceil_mode */
    {"MaxPool", 2, {8, 7}, {2, 3}, {1, 2}, {2, 1}, {1, 0}, {0, 1}, 0, 0, NULL},     /* dilation, asymmetric pads */
    {"MaxPool", 2, {5, 5}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 0, NULL},     /* stride 1, overlapping */
    {"MaxPool", 2, {6, 5}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 0, 0, "SAME_UPPER"},
    {"MaxPool", 1, {11}, {3}, {2}, {1}, {1}, {1}, 1, 0, NULL},
    {"MaxPool", 3, {4, 5, 4}, {2, 2, 2}, {2, 1, 2}, {1, 1, 1}, {0, 1, 0}, {1, 0, 1}, 0, 0, NULL},
    {"AveragePool", 2, {6, 6}, {2, 2}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 0, 0, NULL},
    {"AveragePool", 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0, NULL},
    {"AveragePool", 2, {7, 8}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 1, NULL}, /* count_include_pad */
    {"AveragePool", 2, {7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1, 1, NULL}, /* ceil_mode + include pad */
    {"AveragePool", 2, {8, 7}, {3, 2}, {2, 3}, {1, 1}, {0, 1}, {1, 0}, 1, 0, NULL},
    {"AveragePool", 2, {5, 6}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 1, NULL},
    {"AveragePool", 1, {10}, {4}, {3}, {1}, {2}, {1}, 1, 1, NULL},
    {"AveragePool", 3, {4, 4, 5}, {2, 3, 2}, {2, 1, 2}, {1, 1, 1}, {1, 1, 0}, {0, 1, 1}, 0, 0, NULL},
};

static void build_pool(gcase *g, int v)
{
    const pool_cfg *pc = &pool_cfgs[v / 2];
    g->op = pc->op;
    int64_t xd[5] = {2, 3}, pads[6];
    for (int d = 0; d < pc->nd; d++) {
        xd[2 + d] = pc->in[d];
        pads[d] = pc->pb[d];
        pads[pc->nd + d] = pc->pe[d];
    }
    if (strcmp(pc->op, "MaxPool") == 0)
        gc_distinct(g, true, pc->nd + 2, xd);
    else
        gc_rand(g, true, pc->nd + 2, xd);
    test_attr_ints(&g->at, "kernel_shape", pc->nd, pc->k);
    test_attr_ints(&g->at, "strides", pc->nd, pc->stride);
    if (strcmp(pc->op, "MaxPool") == 0)
        test_attr_ints(&g->at, "dilations", pc->nd, pc->dil);
    if (pc->auto_pad)
        test_attr_string(&g->at, "auto_pad", pc->auto_pad);
    else
        test_attr_ints(&g->at, "pads", 2 * pc->nd, pads);
    test_attr_int(&g->at, "ceil_mode", pc->ceil);
    if (pc->include_pad)
        test_attr_int(&g->at, "count_include_pad", 1);
}

START_TEST(test_grad_pool)
{
    run_variants("pool", 12, build_pool, 2 * (int)(sizeof pool_cfgs / sizeof pool_cfgs[0]));
}
END_TEST

static void build_global(gcase *g, int v)
{
    g->op = v < 4 ? "GlobalAveragePool" : "GlobalMaxPool";
    if (v % 4 < 2)
        gc_distinct(g, true, 4, (int64_t[]){2, 3, 4, 5});
    else
        gc_distinct(g, true, 3, (int64_t[]){3, 2, 7});
}

START_TEST(test_grad_global_pool) { run_variants("global pool", 13, build_global, 8); }
END_TEST

/* ---- BatchNormalization, LRN, Dropout ---- */

static void build_bn(gcase *g, int v)
{
    const int64_t C = 3;
    if (v < 4)
        gc_rand(g, true, 4, (int64_t[]){2, C, 3, 4});
    else
        gc_rand(g, true, 3, (int64_t[]){4, C, 5});
    gc_range(g, true, 0.5f, 1.5f, 1, &C); /* scale */
    gc_rand(g, true, 1, &C);              /* bias */
    gc_rand(g, false, 1, &C);             /* mean */
    gc_range(g, false, 0.5f, 1.5f, 1, &C); /* var */
    test_attr_float(&g->at, "epsilon", 1e-3f);
    switch (v % 4) {
    case 0: /* inference: running statistics, every gradient */
    case 1:
        g->diff[3] = g->diff[4] = true;
        g->opset = v % 2 ? 9 : 15;
        break;
    case 2: /* the trainer's training mode */
        g->training = true;
        g->opset = 15;
        g->rtol = 2e-2;
        break;
    default: /* training_mode = 1, with the running-statistics outputs */
        g->opset = 15;
        test_attr_int(&g->at, "training_mode", 1);
        g->n_out = 3;
        g->n_loss = 1;
        g->rtol = 2e-2;
        break;
    }
}

START_TEST(test_grad_batchnorm) { run_variants("BatchNormalization", 15, build_bn, 8); }
END_TEST

static void build_lrn(gcase *g, int v)
{
    static const int64_t sizes[] = {3, 5, 2, 4};
    static const float betas[] = {0.75f, 0.5f, 0.8f, 1.0f};
    gc_rand(g, true, 4, (int64_t[]){2, 6, 3, 2});
    test_attr_int(&g->at, "size", sizes[v / 2]);
    test_attr_float(&g->at, "alpha", 0.5f); /* large, so that the normalization matters */
    test_attr_float(&g->at, "beta", betas[v / 2]);
    test_attr_float(&g->at, "bias", 1.5f);
}

START_TEST(test_grad_lrn) { run_variants("LRN", 13, build_lrn, 8); }
END_TEST

static void build_dropout(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){3, 4, 5});
    g->seed = 12345 + (uint64_t)v;
    switch (v) {
    case 0: case 1: /* training, ratio input, mask output */
        g->opset = 13;
        g->training = true;
        gc_scalar(g, 0.3f);
        g->n_out = 2;
        break;
    case 2: case 3: /* training, ratio attribute */
        g->opset = 10;
        g->training = true;
        test_attr_float(&g->at, "ratio", 0.6f);
        break;
    default: /* inference: the identity */
        g->opset = 13;
        break;
    }
}

START_TEST(test_grad_dropout) { run_variants("Dropout", 13, build_dropout, 6); }
END_TEST

/* The mask is reproducible, drops about `ratio` and keeps the expectation. */
START_TEST(test_dropout_mask)
{
    gcase g;
    gc_init(&g, "Dropout", 13, "Dropout mask");
    nn_tensor *x = gc_range(&g, true, 1.0f, 1.0f, 1, (int64_t[]){100000});
    gc_scalar(&g, 0.25f);
    g.n_out = 2;
    g.training = true;
    g.seed = 99;
    runner r;
    runner_init(&r, &g);
    runner_forward(&r);
    const float *y = r.out[0]->data;
    uint8_t *m = malloc(100000);
    memcpy(m, r.out[1]->data, 100000);
    int64_t kept = 0;
    double sum = 0.0;
    for (int64_t i = 0; i < 100000; i++) {
        kept += m[i];
        sum += y[i];
        ck_assert(m[i] ? fabsf(y[i] - 1.0f / 0.75f) < 1e-6f : y[i] == 0.0f);
    }
    ck_assert_msg(labs((long)kept - 75000) < 600, "kept %lld of 100000", (long long)kept);
    ck_assert(fabs(sum / 100000 - 1.0) < 0.01);
    /* another seed, another mask */
    r.c.seed = 100;
    runner_forward(&r);
    int64_t same = 0;
    for (int64_t i = 0; i < 100000; i++)
        same += ((const uint8_t *)r.out[1]->data)[i] == m[i];
    ck_assert_msg(same > 60000 && same < 65000, "%lld equal", (long long)same); /* 0.75^2 + 0.25^2 */
    free(m);
    (void)x;
    runner_free(&r);
    gc_free(&g);
}
END_TEST

/* ---- activations ---- */

typedef struct {
    const char *op;
    float lo, hi;
    int n_kinks;
    float kinks[2];
    const char *a_name;
    float a;
    const char *b_name;
    float b;
} act_cfg;

static const act_cfg act_cfgs[] = {
    {"LeakyRelu", -2, 2, 1, {0}, "alpha", 0.1f, NULL, 0},
    {"LeakyRelu", -2, 2, 1, {0}, NULL, 0, NULL, 0},
    {"Sigmoid", -4, 4, 0, {0}, NULL, 0, NULL, 0},
    {"Tanh", -3, 3, 0, {0}, NULL, 0, NULL, 0},
    {"HardSigmoid", -5, 5, 2, {-2.5f, 2.5f}, NULL, 0, NULL, 0},
    {"HardSigmoid", -4, 4, 2, {-3, 3}, "alpha", 1.0f / 6, "beta", 0.5f},
    {"HardSwish", -5, 5, 2, {-3, 3}, NULL, 0, NULL, 0},
    {"Elu", -3, 2, 1, {0}, "alpha", 0.7f, NULL, 0},
    {"Selu", -3, 2, 1, {0}, NULL, 0, NULL, 0},
    {"Celu", -3, 2, 1, {0}, "alpha", 1.5f, NULL, 0},
    {"Softplus", -4, 4, 0, {0}, NULL, 0, NULL, 0},
    {"Softsign", -3, 3, 1, {0}, NULL, 0, NULL, 0},
    {"ThresholdedRelu", -2, 3, 1, {1}, "alpha", 1.0f, NULL, 0},
    {"Erf", -2, 2, 0, {0}, NULL, 0, NULL, 0},
    {"Mish", -3, 3, 0, {0}, NULL, 0, NULL, 0},
    {"Exp", -2, 2, 0, {0}, NULL, 0, NULL, 0},
    {"Log", 0.5f, 3, 0, {0}, NULL, 0, NULL, 0},
    {"Sqrt", 0.5f, 3, 0, {0}, NULL, 0, NULL, 0},
    {"Neg", -2, 2, 0, {0}, NULL, 0, NULL, 0},
    {"Abs", -2, 2, 1, {0}, NULL, 0, NULL, 0},
    {"Reciprocal", 0.5f, 2, 0, {0}, NULL, 0, NULL, 0},
    {"Sin", -3, 3, 0, {0}, NULL, 0, NULL, 0},
    {"Cos", -3, 3, 0, {0}, NULL, 0, NULL, 0},
};

static void build_act(gcase *g, int v)
{
    const act_cfg *ac = &act_cfgs[v / 2];
    g->op = ac->op;
    nn_tensor *x = gc_range(g, true, ac->lo, ac->hi, 3, (int64_t[]){2, 5, 7});
    avoid(x, ac->n_kinks, ac->kinks, 2.5f * (float)g->eps);
    if (ac->a_name)
        test_attr_float(&g->at, ac->a_name, ac->a);
    if (ac->b_name)
        test_attr_float(&g->at, ac->b_name, ac->b);
}

START_TEST(test_grad_activations)
{
    run_variants("activation", 17, build_act, 2 * (int)(sizeof act_cfgs / sizeof act_cfgs[0]));
}
END_TEST

static void build_gelu(gcase *g, int v)
{
    gc_range(g, true, -3, 3, 2, (int64_t[]){6, 7});
    if (v >= 2)
        test_attr_string(&g->at, "approximate", "tanh");
}

START_TEST(test_grad_gelu) { run_variants("Gelu", 20, build_gelu, 4); }
END_TEST

static void build_clip(gcase *g, int v)
{
    nn_tensor *x = gc_range(g, true, -2, 8, 3, (int64_t[]){2, 4, 6});
    if (v < 2) { /* Relu6 at opset 11+: bounds as inputs */
        float k[2] = {0, 6};
        avoid(x, 2, k, 0.025f);
        gc_scalar(g, 0.0f);
        gc_scalar(g, 6.0f);
    } else if (v < 4) { /* only a maximum */
        float k[1] = {1.5f};
        avoid(x, 1, k, 0.025f);
        gc_none(g);
        gc_scalar(g, 1.5f);
    } else { /* attributes before opset 11 */
        float k[2] = {-0.5f, 2.0f};
        avoid(x, 2, k, 0.025f);
        g->opset = 6;
        test_attr_float(&g->at, "min", -0.5f);
        test_attr_float(&g->at, "max", 2.0f);
    }
}

START_TEST(test_grad_clip) { run_variants("Clip", 13, build_clip, 6); }
END_TEST

/* ---- broadcasting elementwise ---- */

static void build_div(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){2, 3, 4});
    nn_tensor *b = v < 2 ? gc_range(g, true, 0.5f, 2.0f, 2, (int64_t[]){3, 1})
                         : gc_range(g, true, 0.5f, 2.0f, 3, (int64_t[]){2, 3, 4});
    float *p = b->data;
    for (int64_t i = 0; i < nni_tensor_count(b); i++)
        if (rnd() % 2)
            p[i] = -p[i];
}

START_TEST(test_grad_div) { run_variants("Div", 13, build_div, 4); }
END_TEST

static void build_pow(gcase *g, int v)
{
    gc_range(g, true, 0.5f, 2.0f, 3, (int64_t[]){2, 3, 4});
    if (v < 2)
        gc_range(g, true, -1.5f, 2.5f, 1, (int64_t[]){4});
    else
        gc_range(g, false, 2.0f, 2.0f, 0, NULL);
}

START_TEST(test_grad_pow) { run_variants("Pow", 13, build_pow, 4); }
END_TEST

static void build_prelu(gcase *g, int v)
{
    nn_tensor *x = gc_rand(g, true, 4, (int64_t[]){2, 3, 4, 5});
    float k[1] = {0};
    avoid(x, 1, k, 0.025f);
    if (v < 2)
        gc_range(g, true, 0.05f, 0.5f, 3, (int64_t[]){3, 1, 1});
    else if (v < 4)
        gc_range(g, true, 0.05f, 0.5f, 1, (int64_t[]){1});
    else
        gc_range(g, true, -0.5f, 0.5f, 4, (int64_t[]){2, 3, 4, 5});
}

START_TEST(test_grad_prelu) { run_variants("PRelu", 9, build_prelu, 6); }
END_TEST

static void build_variadic(gcase *g, int v)
{
    static const char *const ops[] = {"Sum", "Mean", "Max", "Min"};
    g->op = ops[v / 4];
    bool distinct = v >= 8;
    if (v % 4 < 2) { /* broadcasting */
        if (distinct) { /* grids apart from each other too */
            gc_distinct_grid(g, true, 3, (int64_t[]){2, 3, 4}, 0.15f, 0.0f);
            gc_distinct_grid(g, true, 2, (int64_t[]){3, 1}, 0.15f, 0.05f);
            gc_distinct_grid(g, true, 1, (int64_t[]){4}, 0.15f, 0.1f);
        } else {
            gc_rand(g, true, 3, (int64_t[]){2, 3, 4});
            gc_rand(g, true, 2, (int64_t[]){3, 1});
            gc_rand(g, true, 1, (int64_t[]){4});
        }
    } else {
        for (int i = 0; i < (v % 2 ? 2 : 4); i++)
            if (distinct)
                gc_distinct_grid(g, true, 2, (int64_t[]){3, 5}, 0.2f, 0.05f * (float)i);
            else
                gc_rand(g, true, 2, (int64_t[]){3, 5});
    }
}

START_TEST(test_grad_variadic) { run_variants("variadic", 13, build_variadic, 16); }
END_TEST

/* Max/Min ties split dY evenly, like PyTorch's maximum/minimum. */
START_TEST(test_grad_max_ties)
{
    gcase g;
    gc_init(&g, "Max", 13, "Max ties");
    nn_tensor *a = gc_range(&g, true, 1, 1, 1, (int64_t[]){3}), *b = gc_range(&g, true, 1, 1, 1, (int64_t[]){3});
    ((float *)b->data)[1] = 0.0f;
    ((float *)b->data)[2] = 2.0f;
    runner r;
    runner_init(&r, &g);
    runner_forward(&r);
    nn_tensor *dy = NULL, *din[2] = {NULL};
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, 1, (int64_t[]){3}, &dy));
    for (int i = 0; i < 3; i++)
        ((float *)dy->data)[i] = 1.0f;
    for (int i = 0; i < 2; i++)
        ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, 1, (int64_t[]){3}, &din[i]));
    nn_tensor *douts[1] = {dy};
    ck_assert_ok(runner_backward(&r, douts, din));
    const float *da = din[0]->data, *db = din[1]->data;
    ck_assert(da[0] == 0.5f && db[0] == 0.5f && da[1] == 1.0f && db[1] == 0.0f && da[2] == 0.0f && db[2] == 1.0f);
    (void)a;
    nn_tensor_free(dy);
    nn_tensor_free(din[0]);
    nn_tensor_free(din[1]);
    runner_free(&r);
    gc_free(&g);
}
END_TEST

static void build_cast(gcase *g, int v)
{
    (void)v;
    gc_rand(g, true, 2, (int64_t[]){4, 5});
    test_attr_int(&g->at, "to", NN_DTYPE_FLOAT32);
}

START_TEST(test_grad_cast) { run_variants("Cast", 13, build_cast, 2); }
END_TEST

/* ---- reductions and softmax ---- */

static void build_reduce(gcase *g, int v)
{
    static const char *const ops[] = {"ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2"};
    g->op = ops[v / 6];
    gc_range(g, true, 0.2f, 1.0f, 4, (int64_t[]){2, 3, 4, 5});
    const int k = v % 6;
    const bool axes_input = strcmp(g->op, "ReduceSum") == 0 && k % 2;
    g->opset = axes_input ? 13 : 11;
    static const int64_t axes[][2] = {{2, 3}, {1, -1}, {0, 0}};
    const int n = k / 2 == 2 ? 1 : 2;
    if (axes_input)
        gc_ints(g, n, axes[k / 2]);
    else
        test_attr_ints(&g->at, "axes", n, axes[k / 2]);
    test_attr_int(&g->at, "keepdims", k % 3 != 1);
}

START_TEST(test_grad_reduce) { run_variants("Reduce", 13, build_reduce, 24); }
END_TEST

START_TEST(test_grad_reduce_all)
{
    gcase g;
    gc_init(&g, "ReduceMean", 13, "ReduceMean all axes");
    gc_rand(&g, true, 3, (int64_t[]){2, 3, 4});
    test_attr_int(&g.at, "keepdims", 0);
    check_case(&g);
    gc_init(&g, "ReduceSum", 13, "ReduceSum noop");
    gc_rand(&g, true, 3, (int64_t[]){2, 3, 4});
    test_attr_int(&g.at, "noop_with_empty_axes", 1);
    check_case(&g);
}
END_TEST

static void build_softmax(gcase *g, int v)
{
    g->op = v % 2 ? "LogSoftmax" : "Softmax";
    const int k = v / 2;
    gc_range(g, true, -3, 3, 4, (int64_t[]){2, 3, 4, 5});
    g->opset = k < 3 ? 13 : 11;
    static const int64_t axes[] = {-1, 1, 2, 1, -2, 3};
    test_attr_int(&g->at, "axis", axes[k]);
}

START_TEST(test_grad_softmax) { run_variants("Softmax", 13, build_softmax, 12); }
END_TEST

/* ---- shape ops ---- */

static void build_concat(gcase *g, int v)
{
    const int64_t axis = v < 2 ? 1 : v < 4 ? -1 : 0;
    int64_t d0[3] = {2, 3, 4}, d1[3] = {2, 3, 4}, d2[3] = {2, 3, 4};
    const int a = axis < 0 ? 2 : (int)axis;
    d1[a] = 2;
    d2[a] = 1;
    gc_rand(g, true, 3, d0);
    gc_rand(g, v % 2 == 0, 3, d1);
    gc_rand(g, true, 3, d2);
    test_attr_int(&g->at, "axis", axis);
}

START_TEST(test_grad_concat) { run_variants("Concat", 13, build_concat, 6); }
END_TEST

static void build_split(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){2, 6, 5});
    g->n_out = 3;
    if (v < 2) {
        test_attr_int(&g->at, "axis", 1);
        gc_ints(g, 3, (int64_t[]){1, 3, 2});
    } else if (v < 4) {
        g->opset = 11;
        test_attr_int(&g->at, "axis", -1);
        test_attr_ints(&g->at, "split", INTS(2, 2, 1));
    } else {
        test_attr_int(&g->at, "axis", 1); /* equal parts */
    }
}

START_TEST(test_grad_split) { run_variants("Split", 13, build_split, 6); }
END_TEST

static void build_slice(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){4, 6, 7});
    switch (v / 2) {
    case 0:
        gc_ints(g, 2, (int64_t[]){1, 1});
        gc_ints(g, 2, (int64_t[]){3, 6});
        gc_ints(g, 2, (int64_t[]){1, 2});
        gc_ints(g, 2, (int64_t[]){1, 2});
        break;
    case 1: /* negative steps and indices */
        gc_ints(g, 2, (int64_t[]){-1, 5});
        gc_ints(g, 2, (int64_t[]){-100, 0});
        gc_ints(g, 2, (int64_t[]){2, 0});
        gc_ints(g, 2, (int64_t[]){-2, -1});
        break;
    default: /* attributes (opset 9) */
        g->opset = 9;
        test_attr_ints(&g->at, "starts", INTS(0, 2));
        test_attr_ints(&g->at, "ends", INTS(2, 100));
        test_attr_ints(&g->at, "axes", INTS(0, 2));
        break;
    }
}

START_TEST(test_grad_slice) { run_variants("Slice", 13, build_slice, 6); }
END_TEST

static void build_transpose(gcase *g, int v)
{
    gc_rand(g, true, 4, (int64_t[]){2, 3, 4, 5});
    if (v < 2)
        test_attr_ints(&g->at, "perm", INTS(0, 2, 3, 1));
    else if (v < 4)
        test_attr_ints(&g->at, "perm", INTS(3, 1, 0, 2));
    /* else: reversed axes */
}

START_TEST(test_grad_transpose) { run_variants("Transpose", 13, build_transpose, 6); }
END_TEST

static void build_pad(gcase *g, int v)
{
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    gc_rand(g, true, 3, (int64_t[]){2, 4, 5});
    const int k = v / 2;
    if (k < 4) {
        test_attr_string(&g->at, "mode", modes[k]);
        gc_ints(g, 6, (int64_t[]){0, 2, 1, 1, 3, 2});
        if (k == 0)
            gc_scalar(g, 0.5f);
    } else if (k == 4) { /* cropping (negative pads) */
        gc_ints(g, 6, (int64_t[]){0, -1, 2, 1, 1, -2});
    } else { /* attribute pads (opset 2) */
        g->opset = 2;
        test_attr_ints(&g->at, "pads", INTS(1, 0, 1, 0, 2, 2));
        test_attr_float(&g->at, "value", 1.0f);
    }
}

START_TEST(test_grad_pad) { run_variants("Pad", 13, build_pad, 12); }
END_TEST

static void build_squeeze(gcase *g, int v)
{
    g->op = v < 4 ? "Squeeze" : "Unsqueeze";
    if (v < 4) {
        gc_rand(g, true, 4, (int64_t[]){2, 1, 3, 1});
        if (v < 2)
            gc_ints(g, 1, (int64_t[]){1});
    } else {
        gc_rand(g, true, 2, (int64_t[]){2, 3});
        gc_ints(g, 2, (int64_t[]){0, -1});
    }
}

START_TEST(test_grad_squeeze) { run_variants("Squeeze", 13, build_squeeze, 6); }
END_TEST

static void build_expand(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){3, 1, 2});
    if (v < 2)
        gc_ints(g, 4, (int64_t[]){2, 3, 4, 2});
    else
        gc_ints(g, 3, (int64_t[]){3, 5, 1});
}

START_TEST(test_grad_expand) { run_variants("Expand", 13, build_expand, 4); }
END_TEST

static void build_gather(gcase *g, int v)
{
    gc_rand(g, true, 3, (int64_t[]){4, 5, 3});
    if (v < 2) {
        gc_ints(g, 4, (int64_t[]){2, 0, -1, 2}); /* repeated and negative */
    } else if (v < 4) {
        test_attr_int(&g->at, "axis", 1);
        int64_t d[2] = {2, 2};
        nn_tensor *idx = gc_add(g, NN_DTYPE_INT64, false, 2, d);
        memcpy(idx->data, (int64_t[]){4, 1, 1, 0}, 4 * sizeof(int64_t));
    } else {
        test_attr_int(&g->at, "axis", -1);
        nn_tensor *idx = gc_add(g, NN_DTYPE_INT64, false, 0, NULL);
        *(int64_t *)idx->data = 2;
    }
}

START_TEST(test_grad_gather) { run_variants("Gather", 13, build_gather, 6); }
END_TEST

/* The backward functions report, rather than crash on, what they do not cover. */
START_TEST(test_grad_unsupported)
{
    gcase g;
    gc_init(&g, "Cast", 13, "Cast to int");
    gc_rand(&g, true, 1, (int64_t[]){3});
    test_attr_int(&g.at, "to", NN_DTYPE_INT32);
    runner r;
    runner_init(&r, &g);
    runner_forward(&r);
    nn_tensor *dy = NULL, *din[1] = {NULL};
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, 1, (int64_t[]){3}, &dy));
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, 1, (int64_t[]){3}, &din[0]));
    nn_tensor *douts[1] = {dy};
    ck_assert_nn(runner_backward(&r, douts, din), NN_E_UNSUPPORTED);
    /* no dY or no dX: nothing to do */
    nn_tensor *none[1] = {NULL};
    ck_assert_ok(runner_backward(&r, none, din));
    ck_assert_ok(runner_backward(&r, douts, none));
    nn_tensor_free(dy);
    nn_tensor_free(din[0]);
    runner_free(&r);
    gc_free(&g);
    ck_assert_ptr_null(nni_grad_find("NonMaxSuppression"));
    ck_assert_ptr_nonnull(nni_grad_find("Conv"));
}
END_TEST

/* BatchNormalization in the trainer's training mode updates the running
 * statistics in place like PyTorch: momentum blend with the unbiased variance. */
START_TEST(test_batchnorm_update_stats)
{
    gcase g;
    gc_init(&g, "BatchNormalization", 15, "BN update");
    const int64_t C = 2;
    nn_tensor *x = gc_rand(&g, false, 3, (int64_t[]){3, C, 4});
    gc_range(&g, false, 1, 1, 1, &C);
    gc_range(&g, false, 0, 0, 1, &C);
    nn_tensor *mean = gc_range(&g, false, 0.1f, 0.1f, 1, &C), *var = gc_range(&g, false, 2, 2, 1, &C);
    test_attr_float(&g.at, "momentum", 0.9f);
    g.training = true;
    runner r;
    runner_init(&r, &g);
    r.c.update_stats = true;
    runner_forward(&r);
    for (int64_t ch = 0; ch < C; ch++) {
        double s = 0, sq = 0;
        for (int64_t n = 0; n < 3; n++)
            for (int64_t i = 0; i < 4; i++)
                s += ((float *)x->data)[(n * C + ch) * 4 + i];
        const double m = s / 12;
        for (int64_t n = 0; n < 3; n++)
            for (int64_t i = 0; i < 4; i++) {
                const double d = ((float *)x->data)[(n * C + ch) * 4 + i] - m;
                sq += d * d;
            }
        ck_assert(fabs(((float *)mean->data)[ch] - (0.9 * 0.1 + 0.1 * m)) < 1e-6);
        ck_assert(fabs(((float *)var->data)[ch] - (0.9 * 2 + 0.1 * sq / 11)) < 1e-6);
        /* the output is normalized with the biased batch variance */
        for (int64_t n = 0; n < 3; n++) {
            const int64_t i = (n * C + ch) * 4;
            const double want = (((float *)x->data)[i] - m) / sqrt(sq / 12 + 1e-5);
            ck_assert(fabs(((float *)r.out[0]->data)[i] - want) < 1e-4);
        }
    }
    runner_free(&r);
    gc_free(&g);
}
END_TEST

/* ---- PyTorch parity: test/data/grad/<case>/ ----
 * model.onnx: one node, every input a graph input; input_<i>.pb: inputs;
 * dy_<k>.pb: dL/d output k; grad_<i>.pb: torch's dL/d input i (absent: no
 * gradient wanted); output_<k>.pb: torch's forward output; meta.txt:
 * "training 0|1", "update_stats 0|1"; after_<i>.pb: input i after the
 * forward (BatchNorm's running statistics updated in place). */

static nn_tensor *read_pb(const char *dir, const char *name, bool required)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        ck_assert_msg(!required, "missing %s", path);
        return NULL;
    }
    nn_tensor *t = NULL;
    ck_assert_msg(nn_tensor_read_file(path, &t) == NN_OK, "cannot read %s: %s", path, nn_last_error());
    return t;
}

/* max |got - want| / max(max |want|, 1e-3) over a tensor. */
static double rel_err(const nn_tensor *got, const nn_tensor *want)
{
    ck_assert_int_eq(nni_tensor_count(got), nni_tensor_count(want));
    double scale = 1e-3, err = 0.0;
    const float *a = got->data, *b = want->data;
    for (int64_t i = 0; i < nni_tensor_count(want); i++) {
        scale = fmax(scale, fabs((double)b[i]));
        err = fmax(err, fabs((double)a[i] - (double)b[i]));
    }
    return err / scale;
}

static double g_torch_max;
static int g_torch_cases;

static void torch_case(const char *dir, nni_pool *pool)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    size_t size;
    uint8_t *bytes = test_read_file(path, &size);
    nn_load_options opts;
    ck_assert_ok(nn_load_options_init(&opts, NN_LOAD_OPTIONS_VERSION));
    nni_graph graph;
    ck_assert_ok(nni_graph_init(&graph));
    ck_assert_msg(nni_onnx_import(bytes, size, NULL, &opts, &graph) == NN_OK, "%s: %s", path, nn_last_error());
    free(bytes);
    ck_assert_int_eq(graph.n_nodes, 1);
    const nni_node *node = &graph.nodes[0];

    gcase g;
    gc_init(&g, node->op_type, graph.opset, dir);
    g.node = node;
    g.pool = pool;
    g.n_out = node->n_out;
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "r");
    int training = 0, update = 0;
    if (f) {
        char key[64];
        int val;
        while (fscanf(f, "%63s %d", key, &val) == 2) {
            if (strcmp(key, "training") == 0)
                training = val;
            else if (strcmp(key, "update_stats") == 0)
                update = val;
        }
        fclose(f);
    }
    g.training = training != 0;
    nn_tensor *want_grad[MAX_IO] = {NULL}, *din[MAX_IO] = {NULL}, *dy[MAX_IO] = {NULL};
    for (int32_t i = 0; i < node->n_in; i++) {
        char name[64];
        snprintf(name, sizeof name, "input_%d.pb", (int)i);
        g.in[i] = read_pb(dir, name, node->in[i] >= 0);
        snprintf(name, sizeof name, "grad_%d.pb", (int)i);
        want_grad[i] = read_pb(dir, name, false);
        g.diff[i] = want_grad[i] != NULL;
    }
    g.n_in = node->n_in;
    runner r;
    runner_init(&r, &g);
    r.c.update_stats = update != 0;
    runner_forward(&r);
    double worst = 0.0;
    for (int32_t k = 0; k < g.n_out; k++) {
        char name[64];
        snprintf(name, sizeof name, "output_%d.pb", (int)k);
        nn_tensor *want = read_pb(dir, name, false);
        if (want) {
            double e = rel_err(r.out[k], want);
            ck_assert_msg(e <= 1e-4, "%s: output %d differs from torch by %.3g (relative)", dir, (int)k, e);
            nn_tensor_free(want);
        }
        snprintf(name, sizeof name, "dy_%d.pb", (int)k);
        dy[k] = read_pb(dir, name, false);
    }
    for (int32_t i = 0; i < g.n_in; i++) {
        char name[64];
        snprintf(name, sizeof name, "after_%d.pb", (int)i);
        nn_tensor *want = read_pb(dir, name, false);
        if (want) {
            double e = rel_err(g.in[i], want);
            ck_assert_msg(e <= 1e-5, "%s: input %d after the forward differs from torch by %.3g", dir, (int)i, e);
            nn_tensor_free(want);
        }
        if (want_grad[i])
            ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, g.in[i]->rank, g.in[i]->dims, &din[i]));
    }
    nn_status st = runner_backward(&r, dy, din);
    ck_assert_msg(st == NN_OK, "%s: backward failed: %s", dir, nn_last_error());
    for (int32_t i = 0; i < g.n_in; i++) {
        if (!want_grad[i])
            continue;
        double e = rel_err(din[i], want_grad[i]);
        ck_assert_msg(e <= 1e-4, "%s: gradient of input %d differs from torch by %.3g (relative)", dir, (int)i, e);
        worst = fmax(worst, e);
        nn_tensor_free(want_grad[i]);
        nn_tensor_free(din[i]);
    }
    for (int32_t k = 0; k < g.n_out; k++)
        nn_tensor_free(dy[k]);
    printf("  torch %-40s max relative error %.2e\n", strrchr(dir, '/') + 1, worst);
    g_torch_max = fmax(g_torch_max, worst);
    g_torch_cases++;
    runner_free(&r);
    gc_free(&g);
    nni_graph_free(&graph);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

START_TEST(test_grad_torch_parity)
{
    const char *root = test_data_path("grad");
    char rootbuf[1024];
    snprintf(rootbuf, sizeof rootbuf, "%s", root);
    DIR *d = opendir(rootbuf);
    ck_assert_msg(d != NULL, "missing %s (tools/testdata/make_grad_cases.py)", rootbuf);
    char *names[512];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 512)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int i = 0; i < n; i++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", rootbuf, names[i]);
        torch_case(dir, i % 2 ? pool : NULL);
        free(names[i]);
    }
    nni_pool_free(pool);
    ck_assert_int_gt(g_torch_cases, 0);
    printf("torch parity: %d cases, max relative error %.2e\n", g_torch_cases, g_torch_max);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("grad");
    TCase *tc = tcase_create("grad");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_grad_conv);
    tcase_add_test(tc, test_grad_conv_large);
    tcase_add_test(tc, test_grad_convtranspose);
    tcase_add_test(tc, test_grad_pool);
    tcase_add_test(tc, test_grad_global_pool);
    tcase_add_test(tc, test_grad_batchnorm);
    tcase_add_test(tc, test_grad_lrn);
    tcase_add_test(tc, test_grad_dropout);
    tcase_add_test(tc, test_dropout_mask);
    tcase_add_test(tc, test_grad_activations);
    tcase_add_test(tc, test_grad_gelu);
    tcase_add_test(tc, test_grad_clip);
    tcase_add_test(tc, test_grad_div);
    tcase_add_test(tc, test_grad_pow);
    tcase_add_test(tc, test_grad_prelu);
    tcase_add_test(tc, test_grad_variadic);
    tcase_add_test(tc, test_grad_max_ties);
    tcase_add_test(tc, test_grad_cast);
    tcase_add_test(tc, test_grad_reduce);
    tcase_add_test(tc, test_grad_reduce_all);
    tcase_add_test(tc, test_grad_softmax);
    tcase_add_test(tc, test_grad_concat);
    tcase_add_test(tc, test_grad_split);
    tcase_add_test(tc, test_grad_slice);
    tcase_add_test(tc, test_grad_transpose);
    tcase_add_test(tc, test_grad_pad);
    tcase_add_test(tc, test_grad_squeeze);
    tcase_add_test(tc, test_grad_expand);
    tcase_add_test(tc, test_grad_gather);
    tcase_add_test(tc, test_grad_unsupported);
    tcase_add_test(tc, test_batchnorm_update_stats);
    tcase_add_test(tc, test_grad_torch_parity);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
