/*
 * check_fuse.c — inference-plan fusion (lib/exec/fuse.c): every fusable
 * chain (Conv/Gemm/depthwise + BatchNormalization + residual Add +
 * activation, BatchNormalization + activation) gives the same outputs as
 * the unfused graph, and the plan really fused it. The unfused reference is
 * the same graph with every intermediate also a graph output (outputs are
 * always materialized, so nothing fuses).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "exec/plan.h"
#include "ir/graph.h"
#include "ops/fusion.h"
#include "ops/op.h"
#include "passes/compile.h"
#include "test_util.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((double)(rng >> 11) / 9007199254740992.0) * 2.0f - 1.0f;
}

/* ---- a tiny graph builder ---- */

typedef struct {
    nni_graph *g;
    int32_t n_out;
    int32_t outs[16];
} gb;

static int32_t gb_input(gb *b, const char *name, int32_t rank, const int64_t *dims)
{
    nni_graph *g = b->g;
    int32_t v = nni_graph_value(g, name);
    g->values[v].is_input = true;
    nni_tensor_set_shape(&g->values[v].info, NN_DTYPE_FLOAT32, rank, dims);
    g->values[v].shape_known = true;
    g->inputs = nni_realloc(g->inputs, (size_t)(g->n_inputs + 1) * sizeof(int32_t));
    g->inputs[g->n_inputs++] = v;
    return v;
}

/* A constant; values uniform in [lo, hi). */
static void gb_const(gb *b, const char *name, int32_t rank, const int64_t *dims, float lo, float hi)
{
    nn_tensor *t = NULL;
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, rank, dims, &t));
    float *d = t->data;
    for (int64_t i = 0; i < nni_tensor_count(t); i++)
        d[i] = lo + (hi - lo) * (frand() + 1.0f) / 2.0f;
    int32_t v = nni_graph_value(b->g, name);
    b->g->values[v].constant = t;
}

static void gb_scalar(gb *b, const char *name, float x)
{
    nn_tensor *t = NULL;
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, 0, NULL, &t));
    *(float *)t->data = x;
    b->g->values[nni_graph_value(b->g, name)].constant = t;
}

typedef struct {
    const char *name;
    nni_attr_type type;
    int64_t i;
    float f;
    int32_t n;
    int64_t ints[4];
} gattr;

/* ins/outs: comma-free arrays of names ("" = absent); attributes may be NULL. */
static void gb_node(gb *b, const char *op, const char *const *ins, int32_t n_in, const char *out, const gattr *at,
                    int32_t n_at)
{
    nni_node n;
    memset(&n, 0, sizeof n);
    n.name = nni_strdup(out);
    n.op_type = nni_strdup(op);
    n.domain = nni_strdup("");
    n.op = nni_op_find(op);
    ck_assert_ptr_nonnull(n.op);
    n.n_in = n_in;
    n.n_out = 1;
    n.in = nni_malloc(sizeof(int32_t) * (size_t)(n_in ? n_in : 1));
    n.out = nni_malloc(sizeof(int32_t));
    for (int32_t k = 0; k < n_in; k++)
        n.in[k] = ins[k][0] ? nni_graph_value(b->g, ins[k]) : -1;
    n.out[0] = nni_graph_value(b->g, out);
    n.n_attr = n_at;
    n.attrs = nni_calloc((size_t)(n_at ? n_at : 1), sizeof(nni_attr));
    for (int32_t k = 0; k < n_at; k++) {
        nni_attr *a = &n.attrs[k];
        a->name = nni_strdup(at[k].name);
        a->type = at[k].type;
        a->i = at[k].i;
        a->f = at[k].f;
        if (at[k].type == NNI_ATTR_INTS) {
            a->n = (size_t)at[k].n;
            a->ints = nni_malloc(sizeof(int64_t) * (size_t)at[k].n);
            memcpy(a->ints, at[k].ints, sizeof(int64_t) * (size_t)at[k].n);
        }
    }
    ck_assert_ok(nni_graph_add_node(b->g, &n, NULL));
}

static void gb_output(gb *b, const char *name)
{
    nni_graph *g = b->g;
    int32_t v = nni_graph_find_value(g, name);
    ck_assert_int_ge(v, 0);
    g->outputs = nni_realloc(g->outputs, (size_t)(g->n_outputs + 1) * sizeof(int32_t));
    g->outputs[g->n_outputs++] = v;
    g->values[v].is_output = true;
}

/* ---- the cases: each builds one graph; `all_outputs` makes every node's output a graph output ---- */

typedef void (*build_fn)(gb *b, int variant);

static const char *const *S(const char *a, const char *b_, const char *c, const char *d, const char *e)
{
    static const char *v[5];
    v[0] = a, v[1] = b_, v[2] = c, v[3] = d, v[4] = e;
    return v;
}

static void add_bn(gb *b, const char *x, const char *y, int64_t C, const char *pre)
{
    char s[5][32];
    const char *suffix[] = {"scale", "bias", "mean", "var"};
    for (int k = 0; k < 4; k++) {
        snprintf(s[k], sizeof s[k], "%s_%s", pre, suffix[k]);
        gb_const(b, s[k], 1, &C, k == 3 ? 0.2f : -1.0f, k == 3 ? 2.0f : 1.0f);
    }
    gattr eps = {.name = "epsilon", .type = NNI_ATTR_FLOAT, .f = 1e-3f};
    gb_node(b, "BatchNormalization", S(x, s[0], s[1], s[2], s[3]), 5, y, &eps, 1);
}

static bool expect_fused; /* set by build_conv_chain: anything after the Conv to fuse */
static int64_t chain_batch = 1; /* images per input of build_conv_chain */

/* Conv k x k (group, stride) [+ bias] -> BN -> Add(r) -> act; variant picks the activation. */
static void build_conv_chain(gb *b, int64_t C, int64_t M, int64_t k, int64_t group, int64_t stride, int64_t H,
                             int variant, bool bn, bool residual, bool bias)
{
    int64_t xd[4] = {chain_batch, C, H, H + 3};
    gb_input(b, "x", 4, xd);
    int64_t pad = k / 2;
    expect_fused = bn || residual || variant % 7 != 6;
    int64_t OH = (H + 2 * pad - k) / stride + 1, OW = (H + 3 + 2 * pad - k) / stride + 1;
    int64_t wd[4] = {M, C / group, k, k};
    gb_const(b, "w", 4, wd, -0.5f, 0.5f);
    gb_const(b, "b", 1, &M, -0.5f, 0.5f);
    gattr at[4] = {{.name = "kernel_shape", .type = NNI_ATTR_INTS, .n = 2, .ints = {k, k}},
                   {.name = "pads", .type = NNI_ATTR_INTS, .n = 4, .ints = {pad, pad, pad, pad}},
                   {.name = "strides", .type = NNI_ATTR_INTS, .n = 2, .ints = {stride, stride}},
                   {.name = "group", .type = NNI_ATTR_INT, .i = group}};
    gb_node(b, "Conv", S("x", "w", bias ? "b" : "", "", ""), bias ? 3 : 2, "conv", at, 4);
    const char *cur = "conv";
    if (bn) {
        add_bn(b, cur, "bn", M, "bn");
        cur = "bn";
    }
    if (residual) {
        int64_t rd[4] = {chain_batch, M, OH, OW};
        gb_input(b, "r", 4, rd);
        gb_node(b, "Add", S(variant % 2 ? "r" : cur, variant % 2 ? cur : "r", "", "", ""), 2, "add", NULL, 0);
        cur = "add";
    }
    switch (variant % 7) {
    case 0:
        gb_node(b, "Relu", S(cur, "", "", "", ""), 1, "y", NULL, 0);
        break;
    case 1: {
        gattr a = {.name = "alpha", .type = NNI_ATTR_FLOAT, .f = 0.1f};
        gb_node(b, "LeakyRelu", S(cur, "", "", "", ""), 1, "y", &a, 1);
        break;
    }
    case 2:
        gb_scalar(b, "lo", 0.0f);
        gb_scalar(b, "hi", 0.5f);
        gb_node(b, "Clip", S(cur, "lo", "hi", "", ""), 3, "y", NULL, 0);
        break;
    case 3:
        gb_node(b, "Sigmoid", S(cur, "", "", "", ""), 1, "y", NULL, 0);
        break;
    case 4:
        gb_node(b, "HardSwish", S(cur, "", "", "", ""), 1, "y", NULL, 0);
        break;
    case 5: {
        gattr a[2] = {{.name = "alpha", .type = NNI_ATTR_FLOAT, .f = 0.3f},
                      {.name = "beta", .type = NNI_ATTR_FLOAT, .f = 0.4f}};
        gb_node(b, "HardSigmoid", S(cur, "", "", "", ""), 1, "y", a, 2);
        break;
    }
    default:
        gb_node(b, "Identity", S(cur, "", "", "", ""), 1, "y", NULL, 0); /* no activation */
        break;
    }
}

/* Build, compile and wrap a graph as a model; `all_outputs` exposes every node output. */
static nn_model *make_model(void (*build)(gb *, int), int variant, bool all_outputs)
{
    nn_model *m = nni_calloc(1, sizeof *m);
    rng = 0x9e3779b97f4a7c15ull + (uint64_t)variant; /* both models get the same constants */
    nni_graph_init(&m->graph);
    m->graph.opset = 13;
    gb b = {.g = &m->graph};
    build(&b, variant);
    gb_output(&b, "y");
    if (all_outputs)
        for (int32_t i = 0; i < m->graph.n_nodes; i++)
            if (strcmp(m->graph.values[m->graph.nodes[i].out[0]].name, "y") != 0)
                gb_output(&b, m->graph.values[m->graph.nodes[i].out[0]].name);
    ck_assert_ok(nni_model_finish(m)); /* compiled, with the memo the Winograd and transposed paths need */
    return m;
}

/* Steps of the fused plan that carry a fusion; with `pw`, only those that compute a 1x1 convolution inside. */
static int fused_steps(const nn_model *m, nn_tensor **inputs, bool pw)
{
    const nni_graph *g = &m->graph;
    const nn_tensor *shapes[4];
    for (int32_t i = 0; i < g->n_inputs; i++)
        shapes[i] = inputs[i];
    nni_plan p;
    ck_assert_ok(nni_plan_build_ex(g, shapes, 1 << 16, NNI_PLAN_FUSE, &p));
    int n = 0;
    for (int32_t s = 0; s < p.n_steps; s++)
        n += p.fusion && p.fusion[s].out >= 0 && (!pw || p.fusion[s].pw >= 0);
    nni_plan_free(&p);
    return n;
}

static bool fused_slow_paths; /* run the fused model without the fast kernels too (their fallbacks) */
static bool with_nans;        /* some input elements NaN: fused activations must pass them as the unfused ops do */
static int last_pw_fused;     /* fused_steps(..., true) of the last check_same */
static float same_tol = 2e-5f; /* relative; Winograd chains 5e-5: its transforms round more (one element needs 2.1e-5) */

/* Run y with fusion and without; compare; return the fused step count. */
static int check_same(void (*build)(gb *, int), int variant, int threads)
{
    nn_model *fused = make_model(build, variant, false), *plain = make_model(build, variant, true);
    const nni_graph *g = &fused->graph;
    nn_tensor *in[4];
    rng ^= 0x1234567ull;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, v->info.rank, v->info.dims, &in[i]));
        float *d = nn_tensor_data(in[i]);
        for (int64_t t = 0; t < nni_tensor_count(in[i]); t++)
            d[t] = with_nans && t % 97 == 5 ? NAN : frand();
    }
    nn_session_options o;
    nn_session_options_init(&o, NN_SESSION_OPTIONS_VERSION);
    o.num_threads = threads;
    nn_session *s1 = NULL, *s2 = NULL;
    ck_assert_ok(nn_session_create(fused, &o, &s1));
    ck_assert_ok(nn_session_create(plain, &o, &s2));
    for (int rep = 0; rep < 2; rep++) { /* the second run reuses the plan and arena */
        nni_conv_fast_paths(!fused_slow_paths);
        nn_status st1 = nn_session_run(s1, (uint32_t)g->n_inputs, NULL, (const nn_tensor *const *)in);
        nni_conv_fast_paths(true);
        ck_assert_ok(st1);
        nni_conv_fast_paths(false); /* the reference: unfused, im2col + GEMM */
        nn_status st2 = nn_session_run(s2, (uint32_t)g->n_inputs, NULL, (const nn_tensor *const *)in);
        nni_conv_fast_paths(true);
        ck_assert_ok(st2);
        const nn_tensor *a = nn_session_output(s1, 0), *b = nn_session_output(s2, 0);
        ck_assert_int_eq(nni_tensor_count(a), nni_tensor_count(b));
        const float *x = a->data, *y = b->data;
        for (int64_t t = 0; t < nni_tensor_count(a); t++)
            ck_assert_msg(isnan(x[t]) == isnan(y[t]) && (isnan(y[t]) || fabsf(x[t] - y[t]) <= same_tol * (1.0f + fabsf(y[t]))),
                          "variant %d element %lld: fused %g, plain %g", variant, (long long)t, (double)x[t], (double)y[t]);
    }
    int n = fused_steps(fused, in, false);
    last_pw_fused = fused_steps(fused, in, true);
    ck_assert_int_eq(fused_steps(plain, in, false), 0);
    nn_session_free(s1);
    nn_session_free(s2);
    for (int32_t i = 0; i < g->n_inputs; i++)
        nn_tensor_free(in[i]);
    nn_model_free(fused);
    nn_model_free(plain);
    return n;
}

/* variant: activation (mod 7) and, in the higher digits, which parts are present */
static void conv3x3(gb *b, int v) { build_conv_chain(b, 8, 24, 3, 1, 1, 13, v, v / 7 % 2 == 0, v / 14 % 2 == 0, v / 28 % 2 == 0); }
static void conv1x1(gb *b, int v) { build_conv_chain(b, 16, 20, 1, 1, 1, 9, v, v / 7 % 2 == 0, v / 14 % 2 == 0, v / 28 % 2 == 0); }
static void conv_s2(gb *b, int v) { build_conv_chain(b, 6, 10, 3, 1, 2, 15, v, v / 7 % 2 == 0, false, v / 28 % 2 == 0); }
static void depthwise(gb *b, int v) { build_conv_chain(b, 12, 12, 3, 12, 1 + v % 2, 17, v, v / 7 % 2 == 0, v % 2 == 0 && v / 14 % 2 == 0, v / 28 % 2 == 0); }
static void depthwise_big(gb *b, int v) { build_conv_chain(b, 20, 20, 3, 20, 1 + v % 2, 29, v, v / 7 % 2 == 0, v % 2 == 0 && v / 14 % 2 == 0, v / 28 % 2 == 0); }
/* planes of 16x16 and below: four at a time, and the planes left over */
static void depthwise_small(gb *b, int v) { build_conv_chain(b, 10, 10, 3, 10, 1, 9, v, v / 7 % 2 == 0, v / 14 % 2 == 0, v / 28 % 2 == 0); }
/* planes of 96x96 and up: split by bands of rows over the threads */
static void depthwise_huge(gb *b, int v) { build_conv_chain(b, 4, 4, 3, 4, 1, 97, v, v / 7 % 2 == 0, v / 14 % 2 == 0, v / 28 % 2 == 0); }
static void first_layer(gb *b, int v) { build_conv_chain(b, 3, 20, 3, 1, 2, 31, v, v / 7 % 2 == 0, false, v / 28 % 2 == 0); }
static void grouped(gb *b, int v) { build_conv_chain(b, 8, 12, 3, 4, 1, 11, v, true, v / 14 % 2 == 0, true); }
/* the memo-backed paths: Winograd (many and few tiles), transposed GEMM for 7x7 planes (pointwise and im2col) */
static void wino(gb *b, int v) { build_conv_chain(b, 32, 40, 3, 1, 1, 19, v, v / 7 % 2 == 0, v / 14 % 2 == 0, v / 28 % 2 == 0); }
static void wino_small(gb *b, int v) { build_conv_chain(b, 24, 20, 3, 1, 1, 6, v, v / 7 % 2 == 0, v / 14 % 2 == 0, true); }
static void transposed1x1(gb *b, int v) { build_conv_chain(b, 64, 112, 1, 1, 1, 5, v, v / 7 % 2 == 0, v / 14 % 2 == 0, true); }
/* a 1x1 that shrinks the channels (576 -> 96): split by depth on two threads */
static void transposed1x1_shrink(gb *b, int v) { build_conv_chain(b, 576, 96, 1, 1, 1, 5, v, v / 7 % 2 == 0, v / 14 % 2 == 0, true); }
static void transposed3x3(gb *b, int v) { build_conv_chain(b, 16, 100, 3, 1, 2, 11, v, v / 7 % 2 == 0, false, true); }

START_TEST(test_fuse_conv_chains)
{
    void (*builds[])(gb *, int) = {conv3x3,     conv1x1,        conv_s2,     depthwise, depthwise_small, depthwise_big,
                                   depthwise_huge, first_layer, grouped,   wino,       wino_small,      transposed1x1,
                                   transposed1x1_shrink, transposed3x3};
    for (size_t i = 0; i < sizeof builds / sizeof builds[0]; i++)
        for (int v = 0; v < 56; v++) {
            same_tol = builds[i] == wino || builds[i] == wino_small ? 5e-5f : 2e-5f;
            int n = check_same(builds[i], v, 1 + v % 2);
            ck_assert_int_eq(n, expect_fused ? 1 : 0);
        }
}
END_TEST

/* The memo-backed paths with two images: each image's epilogue reads its own residual rows. */
START_TEST(test_fuse_conv_chains_batch2)
{
    void (*builds[])(gb *, int) = {wino, wino_small, transposed1x1, transposed1x1_shrink, transposed3x3};
    chain_batch = 2;
    for (size_t i = 0; i < sizeof builds / sizeof builds[0]; i++)
        for (int v = 0; v < 28; v++) {
            same_tol = builds[i] == wino || builds[i] == wino_small ? 5e-5f : 2e-5f;
            int n = check_same(builds[i], v, 1 + v % 2);
            ck_assert_int_eq(n, expect_fused ? 1 : 0);
        }
    chain_batch = 1;
}
END_TEST

/* Gemm (bias row) -> Add -> activation; and the residual produced between the Gemm and the Add. */
static void gemm_chain(gb *b, int v)
{
    int64_t ad[2] = {5, 33}, bd[2] = {33, 40}, cd[1] = {40}, rd[2] = {5, 40};
    gb_input(b, "x", 2, ad);
    gb_const(b, "B", 2, bd, -0.5f, 0.5f);
    gb_const(b, "C", 1, cd, -0.5f, 0.5f);
    gb_node(b, "Gemm", S("x", "B", "C", "", ""), 3, "gemm", NULL, 0);
    gb_input(b, "r0", 2, rd);
    gb_node(b, "Sigmoid", S("r0", "", "", "", ""), 1, "r", NULL, 0); /* the residual, computed after the Gemm */
    gb_node(b, "Add", S("gemm", "r", "", "", ""), 2, "add", NULL, 0);
    if (v % 2)
        gb_node(b, "Relu", S("add", "", "", "", ""), 1, "y", NULL, 0);
    else
        gb_node(b, "Tanh", S("add", "", "", "", ""), 1, "y", NULL, 0); /* not fusable: Gemm + Add only */
}

/* BatchNormalization -> Relu (DenseNet's pre-activation). */
static void bn_relu(gb *b, int v)
{
    int64_t xd[4] = {2, 7, 5, 6}, C = 7;
    (void)v;
    gb_input(b, "x", 4, xd);
    add_bn(b, "x", "bn", C, "bn");
    gb_node(b, "Relu", S("bn", "", "", "", ""), 1, "y", NULL, 0);
}

START_TEST(test_fuse_gemm_and_bn)
{
    for (int v = 0; v < 4; v++)
        ck_assert_int_eq(check_same(gemm_chain, v, 1 + v / 2), 1);
    ck_assert_int_eq(check_same(bn_relu, 0, 1), 1);
    ck_assert_int_eq(check_same(bn_relu, 0, 2), 1);
}
END_TEST

/*
 * 1x1 Conv K -> M [+ bias] [-> BN] [-> act] -> depthwise 3x3 stride 2 + bias -> BN -> Relu (MobileNet's
 * expand + depthwise): the 1x1 is computed inside the depthwise step. variant: shape (mod 5), the 1x1's
 * bias, its BN and its activation (Relu, Clip, none, HardSwish: not a clamp, a pass of its own).
 */
static const int64_t pw_dw_shapes[5][5] = {/* N, K, M, H, W */
                                           {1, 5, 20, 28, 28}, {2, 3, 16, 29, 33}, {1, 16, 24, 56, 56},
                                           {1, 7, 9, 31, 48},  {1, 4, 8, 14, 14}};

static void pw_dw_chain(gb *b, int v)
{
    const int64_t *sh = pw_dw_shapes[v % 5], M = sh[2];
    int64_t xd[4] = {sh[0], sh[1], sh[3], sh[4]}, pwd[4] = {M, sh[1], 1, 1}, dwd[4] = {M, 1, 3, 3};
    gb_input(b, "x", 4, xd);
    gb_const(b, "pw_w", 4, pwd, -0.5f, 0.5f);
    gb_const(b, "pw_b", 1, &M, -0.5f, 0.5f);
    gb_const(b, "dw_w", 4, dwd, -0.5f, 0.5f);
    gb_const(b, "dw_b", 1, &M, -0.5f, 0.5f);
    gattr one = {.name = "kernel_shape", .type = NNI_ATTR_INTS, .n = 2, .ints = {1, 1}};
    gb_node(b, "Conv", S("x", "pw_w", v / 5 % 2 ? "pw_b" : "", "", ""), v / 5 % 2 ? 3 : 2, "pw", &one, 1);
    const char *cur = "pw";
    if (v / 10 % 2 == 0) {
        add_bn(b, cur, "pw_bn", M, "pwbn");
        cur = "pw_bn";
    }
    switch (v / 20 % 4) {
    case 0:
        gb_node(b, "Relu", S(cur, "", "", "", ""), 1, "pw_act", NULL, 0);
        cur = "pw_act";
        break;
    case 1:
        gb_scalar(b, "lo", 0.0f);
        gb_scalar(b, "hi", 0.6f);
        gb_node(b, "Clip", S(cur, "lo", "hi", "", ""), 3, "pw_act", NULL, 0);
        cur = "pw_act";
        break;
    case 3:
        gb_node(b, "HardSwish", S(cur, "", "", "", ""), 1, "pw_act", NULL, 0);
        cur = "pw_act";
        break;
    default:
        break;
    }
    gattr at[4] = {{.name = "kernel_shape", .type = NNI_ATTR_INTS, .n = 2, .ints = {3, 3}},
                   {.name = "pads", .type = NNI_ATTR_INTS, .n = 4, .ints = {1, 1, 1, 1}},
                   {.name = "strides", .type = NNI_ATTR_INTS, .n = 2, .ints = {2, 2}},
                   {.name = "group", .type = NNI_ATTR_INT, .i = M}};
    gb_node(b, "Conv", S(cur, "dw_w", "dw_b", "", ""), 3, "dw", at, 4);
    add_bn(b, "dw", "dw_bn", M, "dwbn");
    gb_node(b, "Relu", S("dw_bn", "", "", "", ""), 1, "y", NULL, 0);
}

START_TEST(test_fuse_pointwise_depthwise)
{
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
    for (int slow = 0; slow < 2; slow++) {
        fused_slow_paths = slow; /* the fused step's fallback: the 1x1 into scratch, then the depthwise */
        for (int v = 0; v < 80; v++) {
            const int64_t *sh = pw_dw_shapes[v % 5];
            const bool pw_fuses = avx512 && sh[3] * sh[4] >= 28 * 28;
            const bool pw_chain = v / 10 % 2 == 0 || v / 20 % 4 != 2; /* the 1x1 has a BN or an activation */
            int n = check_same(pw_dw_chain, v, 1 + v % 2);
            ck_assert_msg(last_pw_fused == (pw_fuses ? 1 : 0), "variant %d: %d steps compute a 1x1 inside", v,
                          last_pw_fused);
            ck_assert_int_eq(n, pw_fuses || !pw_chain ? 1 : 2);
        }
    }
    fused_slow_paths = false;
    /* NaN through the 1x1's Relu/Clip computed in registers, as through the unfused ops */
    with_nans = true;
    for (int v = 0; v < 40; v++)
        check_same(pw_dw_chain, v, 1 + v % 2);
    with_nans = false;
}
END_TEST

/* A conv output read twice, or a graph output, is never fused away. */
static void shared(gb *b, int v)
{
    int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {4, 4, 1, 1};
    gb_input(b, "x", 4, xd);
    gb_const(b, "w", 4, wd, -1.0f, 1.0f);
    gb_node(b, "Conv", S("x", "w", "", "", ""), 2, "conv", NULL, 0);
    gb_node(b, "Relu", S("conv", "", "", "", ""), 1, "relu", NULL, 0);
    if (v == 0)
        gb_node(b, "Add", S("relu", "conv", "", "", ""), 2, "y", NULL, 0);
    else
        gb_node(b, "Add", S("relu", "relu", "", "", ""), 2, "y", NULL, 0);
}

START_TEST(test_fuse_only_private_values)
{
    ck_assert_int_eq(check_same(shared, 0, 1), 0); /* conv feeds Relu and Add */
    ck_assert_int_eq(check_same(shared, 1, 1), 1); /* Conv+Relu fuse; Add(relu, relu) is not a residual */
}
END_TEST

/* Elementwise ops writing over a dying input (arena sharing), including a variadic Sum that reads the
 * shared input again in a later pass, and a BatchNormalization + Relu fused step. */
static void elementwise_chain(gb *b, int v)
{
    int64_t xd[4] = {1, 6, 9, 11}, C = 6;
    (void)v;
    gb_input(b, "x", 4, xd);
    gb_const(b, "k", 4, xd, -1.0f, 1.0f);
    gb_node(b, "Sigmoid", S("x", "", "", "", ""), 1, "a", NULL, 0);      /* a: arena */
    gb_node(b, "Mul", S("a", "k", "", "", ""), 2, "b", NULL, 0);         /* over a */
    gb_node(b, "Tanh", S("b", "", "", "", ""), 1, "c", NULL, 0);         /* over b */
    gb_node(b, "Exp", S("c", "", "", "", ""), 1, "d", NULL, 0);
    gb_node(b, "Sum", S("d", "a2", "d", "", ""), 3, "e", NULL, 0);       /* d given twice: not shared */
    gb_node(b, "Neg", S("x", "", "", "", ""), 1, "a2", NULL, 0);
    add_bn(b, "e", "bn", C, "bn");                                       /* BN over e */
    gb_node(b, "Relu", S("bn", "", "", "", ""), 1, "f", NULL, 0);
    gb_node(b, "Add", S("f", "f", "", "", ""), 2, "y", NULL, 0);         /* over f */
}

START_TEST(test_inplace_elementwise)
{
    ck_assert_int_eq(check_same(elementwise_chain, 0, 1), 1); /* BN + Relu fused */
    ck_assert_int_eq(check_same(elementwise_chain, 0, 2), 1);
    /* the chain needs few buffers: outputs write over their dying inputs */
    nn_model *m = make_model(elementwise_chain, 0, false);
    const nn_tensor *shapes[1] = {&m->graph.values[m->graph.inputs[0]].info};
    nni_plan p;
    ck_assert_ok(nni_plan_build_ex(&m->graph, shapes, 1 << 16, NNI_PLAN_FUSE | NNI_PLAN_INPLACE, &p));
    const size_t one = (6 * 9 * 11 * sizeof(float) + 63) & ~(size_t)63;
    ck_assert_msg(p.arena_size <= 2 * one, "arena %zu bytes for buffers of %zu", p.arena_size, one);
    nni_plan_free(&p);
    nn_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fuse");
    TCase *tc = tcase_create("plan");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_fuse_conv_chains);
    tcase_add_test(tc, test_fuse_conv_chains_batch2);
    tcase_add_test(tc, test_fuse_gemm_and_bn);
    tcase_add_test(tc, test_fuse_pointwise_depthwise);
    tcase_add_test(tc, test_fuse_only_private_values);
    tcase_add_test(tc, test_inplace_elementwise);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
