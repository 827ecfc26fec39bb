/*
 * check_limits.c — the load limits (docs/limits.md) and the hostile-input
 * classes they and the loaders' checks stop: every case is a clean error
 * (status, message naming the cause, no model handed out), checked before
 * the memory it would take is allocated; ASan/LSan runs prove no crash and
 * no leak. Models are written with test/support/pbw.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pbw.h"
#include "test_util.h"

enum { F32 = 1, I64 = 7 };

/* ---- helpers ---- */

static nn_status load_pb(const pbw *m, const nn_load_options *o, nn_model **out)
{
    *out = (nn_model *)1;
    nn_status st = nn_model_load_memory(m->p, m->n, o, out);
    if (st != NN_OK)
        ck_assert_msg(*out == NULL, "a failed load handed out a model");
    return st;
}

/* Expect status `want` and `needle` in the message; frees the bytes. */
static void expect_pb(pbw *m, const nn_load_options *o, nn_status want, const char *needle)
{
    nn_model *model;
    nn_status st = load_pb(m, o, &model);
    ck_assert_msg(st == want, "got %d (%s), want %d: %s", (int)st, nn_status_string(st), (int)want, nn_last_error());
    if (st == NN_OK)
        nn_model_free(model);
    else
        ck_assert_msg(strstr(nn_last_error(), needle) != NULL, "message '%s' lacks '%s'", nn_last_error(), needle);
    pbw_free(m);
}

static void opts(nn_load_options *o) { ck_assert_ok(nn_load_options_init(o, NN_LOAD_OPTIONS_VERSION)); }

/* Y = op(X) on a float input of shape dims (rank n), with attributes. */
static pbw one_node(const char *op, int rank, const int64_t *dims, int n_attrs, pbw *attrs)
{
    pbw g = {0};
    const char *in[] = {"X"}, *out[] = {"Y"};
    pbw node = pbw_node(op, 1, in, 1, out, n_attrs, attrs);
    pbw_msg(&g, PBW_NODE, &node);
    pbw vi = pbw_value_info("X", F32, rank, dims);
    pbw_msg(&g, PBW_INPUT, &vi);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    return pbw_model(&g, 13);
}

/* ---- options ---- */

START_TEST(test_options_versions)
{
    /* a caller built against version 1 has the smaller struct: init and load
     * must not touch anything past it (ASan checks the exact-size block) */
    typedef struct {
        uint32_t version;
        int32_t format;
        uint64_t max_model_bytes, max_tensor_bytes;
        uint32_t max_nodes, reserved_u32;
        const char *weights_path;
    } load_options_v1;
    ck_assert_uint_eq(sizeof(load_options_v1), offsetof(nn_load_options, max_tensor_elements));
    load_options_v1 *o = malloc(sizeof *o);
    ck_assert_ok(nn_load_options_init((nn_load_options *)(void *)o, 1));
    ck_assert_uint_eq(o->version, 1);
    ck_assert_uint_eq(o->max_nodes, 1000000u);
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path("models/mlp.onnx"), (nn_load_options *)(void *)o, &m));
    nn_model_free(m);
    free(o);
    /* defaults of version 2 */
    nn_load_options d;
    opts(&d);
    ck_assert_uint_eq(d.version, 2);
    ck_assert_uint_eq(d.max_tensor_elements, (uint64_t)INT32_MAX);
    ck_assert_uint_eq(d.max_graph_depth, 100000u);
    ck_assert_uint_eq(d.max_subgraph_depth, 16u);
    ck_assert_uint_eq(d.max_session_bytes, (uint64_t)16 << 30);
    /* unknown versions and reserved fields are refused */
    ck_assert_nn(nn_load_options_init(&d, 3), NN_E_INVALID_ARG);
    ck_assert_nn(nn_load_options_init(&d, 0), NN_E_INVALID_ARG);
    opts(&d);
    d.version = 3;
    ck_assert_nn(nn_model_load(test_data_path("models/mlp.onnx"), &d, &m), NN_E_INVALID_ARG);
    opts(&d);
    d.reserved_u32 = 1;
    ck_assert_nn(nn_model_load(test_data_path("models/mlp.onnx"), &d, &m), NN_E_INVALID_ARG);
}
END_TEST

/* ---- hostile dimensions, tensor limits ---- */

START_TEST(test_initializer_limits)
{
    nn_load_options o;
    float w[64] = {0};
    int64_t d64[] = {64}, huge[] = {(int64_t)1 << 40, (int64_t)1 << 40}, neg[] = {-4};
    int64_t rank9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    struct {
        int rank;
        const int64_t *dims;
        size_t raw;
        uint64_t max_bytes, max_elements;
        nn_status want;
        const char *needle;
    } cases[] = {
        {1, d64, 256, 255, 0, NN_E_LIMIT, "max_tensor_bytes"},
        {1, d64, 256, 0, 63, NN_E_LIMIT, "max_tensor_elements"},
        {1, d64, 256, 256, 64, NN_OK, ""},
        {2, huge, 0, 0, 0, NN_E_LIMIT, "overflows"},
        {1, neg, 0, 0, 0, NN_E_INVALID_MODEL, "negative dimension"},
        {9, rank9, 4, 0, 0, NN_E_LIMIT, "dimensions"},
        {1, d64, 255, 0, 0, NN_E_INVALID_MODEL, "raw_data"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        opts(&o);
        o.max_tensor_bytes = cases[i].max_bytes;
        o.max_tensor_elements = cases[i].max_elements;
        pbw g = {0};
        const char *in[] = {"W"}, *out[] = {"Y"};
        pbw node = pbw_node("Identity", 1, in, 1, out, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
        pbw t = pbw_tensor("W", F32, cases[i].rank, cases[i].dims, w, cases[i].raw);
        pbw_msg(&g, PBW_INITIALIZER, &t);
        pbw vo = pbw_value_info("Y", F32, -1, NULL);
        pbw_msg(&g, PBW_OUTPUT, &vo);
        pbw m = pbw_model(&g, 13);
        expect_pb(&m, &o, cases[i].want, cases[i].needle);
    }
}
END_TEST

/* Activations: a fixed input shape whose product is too big is refused at
 * load (planning); a shape computed at run time is refused at run, and the
 * session stays usable. */
START_TEST(test_activation_limits)
{
    nn_load_options o;
    opts(&o);
    o.max_tensor_bytes = 1 << 20;
    /* ConstantOfShape of an initializer shape: folded at load */
    int64_t shape[] = {100000, 100000}, two[] = {2};
    pbw g = {0};
    const char *in[] = {"S"}, *out[] = {"Y"};
    pbw node = pbw_node("ConstantOfShape", 1, in, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    pbw t = pbw_tensor("S", I64, 1, two, shape, sizeof shape);
    pbw_msg(&g, PBW_INITIALIZER, &t);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    pbw m = pbw_model(&g, 13);
    expect_pb(&m, &o, NN_E_LIMIT, "ConstantOfShape");

    /* Expand(X, S) with S a run-time input */
    g = (pbw){0};
    const char *in2[] = {"X", "S"};
    node = pbw_node("Expand", 2, in2, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    int64_t one[] = {1};
    pbw vi = pbw_value_info("X", F32, 1, one);
    pbw_msg(&g, PBW_INPUT, &vi);
    vi = pbw_value_info("S", I64, 1, two);
    pbw_msg(&g, PBW_INPUT, &vi);
    vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    m = pbw_model(&g, 13);
    nn_model *model;
    ck_assert_ok(load_pb(&m, &o, &model));
    pbw_free(&m);
    nn_session *s;
    ck_assert_ok(nn_session_create(model, NULL, &s));
    float x = 3.0f;
    nn_tensor *tx, *ts;
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 1, one, &x, &tx));
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_INT64, 1, two, shape, &ts));
    const nn_tensor *ins[] = {tx, ts};
    ck_assert_nn(nn_session_run(s, 2, NULL, ins), NN_E_LIMIT);
    ck_assert(strstr(nn_last_error(), "max_tensor_bytes") || strstr(nn_last_error(), "max_tensor_elements"));
    int64_t small[] = {2, 3};
    memcpy(shape, small, sizeof small);
    ck_assert_ok(nn_session_run(s, 2, NULL, ins));
    const nn_tensor *y = nn_session_output(s, 0);
    ck_assert_int_eq(nn_tensor_count(y), 6);
    ck_assert_float_eq(((const float *)nn_tensor_data_const(y))[5], 3.0f);
    nn_tensor_free(tx);
    nn_tensor_free(ts);
    nn_session_free(s);
    nn_model_free(model);

    /* a declared input shape over the limit: refused when the session plans */
    int64_t big[] = {1, 3, 4096, 4096};
    pbw a = pbw_attr_float("alpha", 0.1f);
    m = one_node("LeakyRelu", 4, big, 1, &a);
    o.max_tensor_bytes = 16 << 20;
    expect_pb(&m, &o, NN_E_LIMIT, "max_tensor_bytes");
}
END_TEST

/* Activations alive at once: the session's plan, and values whose shapes are known only at run time. */
START_TEST(test_session_bytes)
{
    int64_t d[] = {256};
    pbw g = {0};
    const char *ops[] = {"Relu", "Sigmoid", "Tanh", "Abs"}, *names[] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) {
        const char *in[] = {"X"}, *out[] = {names[i]};
        pbw node = pbw_node(ops[i], 1, in, 1, out, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
    }
    const char *out[] = {"Y"};
    pbw node = pbw_node("Sum", 4, names, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    pbw vi = pbw_value_info("X", F32, 1, d);
    pbw_msg(&g, PBW_INPUT, &vi);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    pbw m = pbw_model(&g, 13);
    nn_tensor *x;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 1, d, &x));
    for (int k = 0; k < 2; k++) {
        nn_load_options o;
        opts(&o);
        o.max_session_bytes = k ? 8192 : 4000; /* four 1 KiB values alive at once, then the sum */
        nn_model *model;
        ck_assert_ok(load_pb(&m, &o, &model));
        nn_session *s;
        ck_assert_ok(nn_session_create(model, NULL, &s));
        ck_assert_nn(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x), k ? NN_OK : NN_E_LIMIT);
        if (!k)
            ck_assert(strstr(nn_last_error(), "max_session_bytes") != NULL);
        nn_session_free(s);
        nn_model_free(model);
    }
    pbw_free(&m);
    nn_tensor_free(x);

    /* Expand to a shape given at run time: allocated during the run, counted too */
    g = (pbw){0};
    int64_t one[] = {1}, two[] = {2};
    const char *in2[] = {"X", "S"};
    node = pbw_node("Expand", 2, in2, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    vi = pbw_value_info("X", F32, 1, one);
    pbw_msg(&g, PBW_INPUT, &vi);
    vi = pbw_value_info("S", I64, 1, two);
    pbw_msg(&g, PBW_INPUT, &vi);
    vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    m = pbw_model(&g, 13);
    nn_load_options o;
    opts(&o);
    o.max_session_bytes = 2000;
    nn_model *model;
    ck_assert_ok(load_pb(&m, &o, &model));
    pbw_free(&m);
    nn_session *s;
    ck_assert_ok(nn_session_create(model, NULL, &s));
    float xv = 1.0f;
    int64_t shape[2] = {2, 300};
    nn_tensor *tx, *ts;
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 1, one, &xv, &tx));
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_INT64, 1, two, shape, &ts));
    const nn_tensor *ins[] = {tx, ts};
    ck_assert_nn(nn_session_run(s, 2, NULL, ins), NN_E_LIMIT);
    shape[1] = 200;
    ck_assert_ok(nn_session_run(s, 2, NULL, ins));
    nn_tensor_free(tx);
    nn_tensor_free(ts);
    nn_session_free(s);
    nn_model_free(model);
}
END_TEST

/* Tensors folded at load count against the model's total: over it, they are
 * computed per run instead, with the same result. */
START_TEST(test_folding_budget)
{
    int64_t shape[] = {1000}, one[] = {1};
    for (int small = 0; small < 2; small++) {
        pbw g = {0};
        const char *in[] = {"S"}, *out[] = {"C"};
        pbw val = pbw_tensor("value", F32, 1, one, (float[]){2.5f}, 4);
        pbw a = {0};
        pbw_str(&a, 1, "value");
        pbw_msg(&a, 5, &val);
        pbw_int(&a, 20, 4);
        pbw node = pbw_node("ConstantOfShape", 1, in, 1, out, 1, &a);
        pbw_msg(&g, PBW_NODE, &node);
        const char *in2[] = {"X", "C"}, *out2[] = {"Y"};
        node = pbw_node("Add", 2, in2, 1, out2, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
        pbw t = pbw_tensor("S", I64, 1, one, shape, 8);
        pbw_msg(&g, PBW_INITIALIZER, &t);
        pbw vi = pbw_value_info("X", F32, 1, shape);
        pbw_msg(&g, PBW_INPUT, &vi);
        pbw vo = pbw_value_info("Y", F32, -1, NULL);
        pbw_msg(&g, PBW_OUTPUT, &vo);
        pbw m = pbw_model(&g, 13);
        nn_load_options o;
        opts(&o);
        if (small)
            o.max_model_bytes = 1000; /* the file fits, 4000 folded bytes do not */
        nn_model *model;
        ck_assert_ok(load_pb(&m, &o, &model));
        pbw_free(&m);
        ck_assert_str_eq(nn_model_metadata(model, "x") ? "?" : "", "");
        uint32_t layers = nn_model_layer_count(model);
        ck_assert_uint_eq(layers, small ? 2 : 1);
        nn_session *s;
        ck_assert_ok(nn_session_create(model, NULL, &s));
        nn_tensor *x;
        ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 1, shape, &x));
        ((float *)nn_tensor_data(x))[7] = 1.0f;
        ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
        const float *y = nn_tensor_data_const(nn_session_output(s, 0));
        ck_assert_float_eq(y[0], 2.5f);
        ck_assert_float_eq(y[7], 3.5f);
        nn_tensor_free(x);
        nn_session_free(s);
        nn_model_free(model);
    }
}
END_TEST

/* ---- graph structure ---- */

static pbw relu_chain(int n)
{
    pbw g = {0};
    char a[16], b[16];
    for (int i = 0; i < n; i++) {
        snprintf(a, sizeof a, i ? "v%d" : "X", i);
        snprintf(b, sizeof b, i == n - 1 ? "Y" : "v%d", i + 1);
        const char *in[] = {a}, *out[] = {b};
        pbw node = pbw_node("Relu", 1, in, 1, out, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
    }
    int64_t d[] = {4};
    pbw vi = pbw_value_info("X", F32, 1, d);
    pbw_msg(&g, PBW_INPUT, &vi);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    return pbw_model(&g, 13);
}

START_TEST(test_depth_and_nodes)
{
    nn_load_options o;
    opts(&o);
    o.max_graph_depth = 49;
    pbw m = relu_chain(50);
    expect_pb(&m, &o, NN_E_LIMIT, "max_graph_depth");
    o.max_graph_depth = 50;
    m = relu_chain(50);
    expect_pb(&m, &o, NN_OK, "");
    /* node count: refused while scanning, before anything is unpacked */
    opts(&o);
    o.max_nodes = 1000;
    m = relu_chain(1001);
    expect_pb(&m, &o, NN_E_LIMIT, "max_nodes");
    o.max_nodes = 1001;
    m = relu_chain(1001);
    expect_pb(&m, &o, NN_OK, "");
}
END_TEST

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Load time grows linearly with the graph: value names are hashed (a
 * quadratic lookup made a 2 MB chain of 80,000 nodes take a minute), and the
 * metadata entries, looked up by scanning, are bounded. */
START_TEST(test_load_time_linear)
{
    pbw m = relu_chain(80000);
    double t0 = cpu_seconds();
    expect_pb(&m, NULL, NN_OK, "");
    double took = cpu_seconds() - t0;
    ck_assert_msg(took < 10.0, "loading an 80,000-node chain took %.1f s of CPU", took);
    m = relu_chain(2);
    char key[32];
    for (int i = 0; i <= 10000; i++) {
        pbw e = {0};
        snprintf(key, sizeof key, "key%d", i);
        pbw_str(&e, 1, key);
        pbw_str(&e, 2, "v");
        pbw_msg(&m, 14, &e);
    }
    expect_pb(&m, NULL, NN_E_LIMIT, "metadata entries");
}
END_TEST

/* A costly node on constants (a 1024^3 MatMul) is not folded while loading:
 * it runs per inference instead, with the same result. */
START_TEST(test_no_costly_folding)
{
    enum { N = 1024 };
    float *a = malloc(sizeof(float) * N * N), *b = calloc((size_t)N * N, sizeof(float));
    for (int i = 0; i < N * N; i++)
        a[i] = (float)(i % 7);
    for (int i = 0; i < N; i++)
        b[(size_t)i * N + i] = 2.0f;
    int64_t d[] = {N, N};
    pbw g = {0};
    const char *in[] = {"A", "B"}, *out[] = {"Y"};
    pbw node = pbw_node("MatMul", 2, in, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    pbw ta = pbw_tensor("A", F32, 2, d, a, sizeof(float) * N * N);
    pbw_msg(&g, PBW_INITIALIZER, &ta);
    pbw tb = pbw_tensor("B", F32, 2, d, b, sizeof(float) * N * N);
    pbw_msg(&g, PBW_INITIALIZER, &tb);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    pbw m = pbw_model(&g, 13);
    nn_model *model;
    ck_assert_ok(load_pb(&m, NULL, &model));
    pbw_free(&m);
    ck_assert_uint_eq(nn_model_layer_count(model), 1); /* still a layer: not computed at load */
    nn_session *s;
    ck_assert_ok(nn_session_create(model, NULL, &s));
    ck_assert_ok(nn_session_run(s, 0, NULL, NULL));
    const float *y = nn_tensor_data_const(nn_session_output(s, 0));
    for (int i = 0; i < N * N; i += 997)
        ck_assert_float_eq(y[i], 2.0f * a[i]);
    nn_session_free(s);
    nn_model_free(model);
    free(a);
    free(b);
}
END_TEST

/* Subgraphs nested `depth` deep (If bodies), written outside-in in O(depth). */
static pbw nested_model(int depth)
{
    static const char attr_head[] = "\x0a\x0bthen_branch\xa0\x01\x05"; /* name, type = GRAPH */
    static const char node_head[] = "\x22\x02If";                       /* op_type */
    size_t ah = sizeof attr_head - 1, nh = sizeof node_head - 1;
    /* lengths from the inside: graph_k = [node tag, len, node_k]; node_k = head + [attr tag, len, attr_k];
     * attr_k = head + [g tag, len, graph_{k+1}]; the innermost graph is empty */
    size_t *glen = calloc((size_t)depth + 1, sizeof *glen);
    size_t *nlen = calloc((size_t)depth + 1, sizeof *nlen), *alen = calloc((size_t)depth + 1, sizeof *alen);
    ck_assert(glen && nlen && alen);
    pbw tmp = {0};
#define VLEN(x) (tmp.n = 0, pbw_varint(&tmp, (x)), tmp.n)
    for (int k = depth - 1; k >= 0; k--) {
        alen[k] = ah + 1 + VLEN(glen[k + 1]) + glen[k + 1];
        nlen[k] = nh + 1 + VLEN(alen[k]) + alen[k];
        glen[k] = 1 + VLEN(nlen[k]) + nlen[k];
    }
    pbw m = {0};
    pbw_int(&m, 1, 8);
    pbw os = {0};
    pbw_str(&os, 1, "");
    pbw_int(&os, 2, 13);
    pbw_msg(&m, 8, &os);
    pbw_varint(&m, 7 << 3 | 2);
    pbw_varint(&m, glen[0]);
    for (int k = 0; k < depth; k++) {
        pbw_varint(&m, 1 << 3 | 2);
        pbw_varint(&m, nlen[k]);
        pbw_raw(&m, node_head, nh);
        pbw_varint(&m, 5 << 3 | 2);
        pbw_varint(&m, alen[k]);
        pbw_raw(&m, attr_head, ah);
        pbw_varint(&m, 6 << 3 | 2);
        pbw_varint(&m, glen[k + 1]);
    }
#undef VLEN
    pbw_free(&tmp);
    free(glen);
    free(nlen);
    free(alen);
    return m;
}

START_TEST(test_subgraph_nesting)
{
    nn_load_options o;
    opts(&o);
    pbw m = nested_model(17); /* the main graph + 16 nested bodies is the default */
    expect_pb(&m, &o, NN_E_LIMIT, "max_subgraph_depth");
    m = nested_model(16);
    expect_pb(&m, &o, NN_E_INVALID_MODEL, "no outputs"); /* every level converts; the innermost body is empty */
    o.max_subgraph_depth = 2;
    m = nested_model(3);
    expect_pb(&m, &o, NN_E_LIMIT, "max_subgraph_depth");
    /* a million levels: refused without recursing (protobuf-c would overflow the stack) */
    o.max_subgraph_depth = 100000;
    m = nested_model(1000000);
    expect_pb(&m, &o, NN_E_LIMIT, "nests messages");
}
END_TEST

/* Millions of empty sub-messages: few bytes each, a C struct each when parsed. */
START_TEST(test_parse_amplification)
{
    pbw attrs = {0};
    for (int i = 0; i < 1000000; i++)
        pbw_raw(&attrs, "\x2a\x00", 2); /* NodeProto.attribute = {} */
    pbw g = {0};
    pbw node = {0};
    pbw_str(&node, 4, "Relu");
    pbw_raw(&node, attrs.p, attrs.n);
    pbw_free(&attrs);
    pbw_msg(&g, PBW_NODE, &node);
    pbw m = pbw_model(&g, 13);
    nn_load_options o;
    opts(&o);
    expect_pb(&m, &o, NN_E_LIMIT, "memory");
    /* a dimension list of a million empty entries */
    pbw shape = {0};
    for (int i = 0; i < 1000000; i++)
        pbw_raw(&shape, "\x0a\x00", 2);
    pbw tensor = {0}, type = {0}, vi = {0};
    pbw_int(&tensor, 1, F32);
    pbw_msg(&tensor, 2, &shape);
    pbw_msg(&type, 1, &tensor);
    pbw_str(&vi, 1, "X");
    pbw_msg(&vi, 2, &type);
    g = (pbw){0};
    pbw_msg(&g, PBW_INPUT, &vi);
    m = pbw_model(&g, 13);
    expect_pb(&m, &o, NN_E_LIMIT, "memory");
}
END_TEST

/* Cycles, dangling names, duplicates: inconsistent graphs. */
START_TEST(test_inconsistent_graphs)
{
    nn_load_options o;
    opts(&o);
    int64_t d[] = {2};
    struct {
        const char *n1_in, *n1_out, *n2_in, *n2_out, *output;
        bool dup_input, dup_init;
        const char *needle;
    } cases[] = {
        {"X", "A", "A", "A", "A", false, false, "produced more than once"},
        {"B", "A", "A", "B", "B", false, false, "cycle"},
        {"X", "A", "A", "A2", "nowhere", false, false, "not produced"},
        {"X", "A", "ghost", "B", "B", false, false, "ghost"},
        {"X", "X", "X", "B", "B", false, false, "produced more than once"},
        {"X", "A", "A", "B", "B", true, false, "listed twice"},
        {"X", "A", "W", "B", "B", false, true, "given twice"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pbw g = {0};
        const char *i1[] = {cases[i].n1_in}, *o1[] = {cases[i].n1_out};
        const char *i2[] = {cases[i].n2_in}, *o2[] = {cases[i].n2_out};
        pbw node = pbw_node("Relu", 1, i1, 1, o1, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
        node = pbw_node("Relu", 1, i2, 1, o2, 0, NULL);
        pbw_msg(&g, PBW_NODE, &node);
        for (int k = 0; k < (cases[i].dup_input ? 2 : 1); k++) {
            pbw vi = pbw_value_info("X", F32, 1, d);
            pbw_msg(&g, PBW_INPUT, &vi);
        }
        for (int k = 0; k < (cases[i].dup_init ? 2 : 0); k++) {
            pbw t = pbw_tensor("W", F32, 1, d, (float[]){1, 2}, 8);
            pbw_msg(&g, PBW_INITIALIZER, &t);
        }
        pbw vo = pbw_value_info(cases[i].output, F32, -1, NULL);
        pbw_msg(&g, PBW_OUTPUT, &vo);
        pbw m = pbw_model(&g, 13);
        expect_pb(&m, &o, NN_E_INVALID_MODEL, cases[i].needle);
    }
}
END_TEST

/* Bad attribute values and out-of-range indices: a clean error naming the node. */
START_TEST(test_bad_attributes)
{
    nn_load_options o;
    opts(&o);
    int64_t d4[] = {1, 2, 4, 4}, d2[] = {2, 3};
    struct {
        const char *op;
        int rank;
        const int64_t *dims;
        pbw attr;
        const char *needle;
        pbw attr2; /* a second attribute, or none */
    } cases[] = {
        {"Softmax", 2, d2, pbw_attr_float("axis", 1.0f), "axis", {0}},          /* wrong type */
        {"Softmax", 2, d2, pbw_attr_int("axis", 7), "axis", {0}},               /* out of range */
        {"Softmax", 2, d2, pbw_attr_int("axis", INT64_MIN), "axis", {0}},
        {"Transpose", 2, d2, pbw_attr_ints("perm", 2, (int64_t[]){0, 5}), "perm", {0}},
        {"Transpose", 2, d2, pbw_attr_ints("perm", 2, (int64_t[]){1, 1}), "perm", {0}},
        {"Flatten", 2, d2, pbw_attr_int("axis", -9), "axis", {0}},
        {"MaxPool", 4, d4, pbw_attr_ints("kernel_shape", 2, (int64_t[]){0, 2}), "kernel_shape", {0}},
        {"MaxPool", 4, d4, pbw_attr_ints("kernel_shape", 2, (int64_t[]){INT64_MAX, 2}), "kernel", {0}},
        {"AveragePool", 4, d4, pbw_attr_string("auto_pad", "SIDEWAYS"), "auto_pad",
         pbw_attr_ints("kernel_shape", 2, (int64_t[]){2, 2})},
        {"MaxPool", 4, d4, pbw_attr_ints("strides", 2, (int64_t[]){0, 1}), "strides",
         pbw_attr_ints("kernel_shape", 2, (int64_t[]){2, 2})},
        {"MaxPool", 4, d4, pbw_attr_ints("pads", 4, (int64_t[]){-1, 0, 0, 0}), "pads",
         pbw_attr_ints("kernel_shape", 2, (int64_t[]){2, 2})},
        {"LRN", 4, d4, pbw_attr_int("size", -3), "size", {0}},
        {"DepthToSpace", 4, d4, pbw_attr_int("blocksize", 0), "blocksize", {0}},
        {"Split", 2, d2, pbw_attr_int("axis", 2), "axis", {0}},
        {"Cast", 2, d2, pbw_attr_int("to", 99), "to", {0}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        pbw attrs[2] = {cases[i].attr, cases[i].attr2};
        pbw m = one_node(cases[i].op, cases[i].rank, cases[i].dims, attrs[1].p ? 2 : 1, attrs);
        nn_model *model;
        nn_status st = load_pb(&m, &o, &model);
        pbw_free(&m);
        if (st == NN_OK) {
            /* some checks need the input: run it */
            nn_session *s;
            ck_assert_ok(nn_session_create(model, NULL, &s));
            nn_tensor *x;
            ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, cases[i].rank, cases[i].dims, &x));
            st = nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x);
            nn_tensor_free(x);
            nn_session_free(s);
            nn_model_free(model);
        }
        ck_assert_msg(st == NN_E_INVALID_MODEL || st == NN_E_SHAPE || st == NN_E_UNSUPPORTED || st == NN_E_LIMIT ||
                          st == NN_E_TYPE,
                      "case %zu (%s): status %d: %s", i, cases[i].op, (int)st, nn_last_error());
        ck_assert_msg(strstr(nn_last_error(), cases[i].needle) != NULL, "case %zu (%s): '%s' lacks '%s'", i,
                      cases[i].op, nn_last_error(), cases[i].needle);
    }
}
END_TEST

/* ---- external data ---- */

static void tmp_setup(void) { test_tmpdir_make("nn_limits"); }

static void write_file(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(test_tmp_path(name), "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

/* Model with `count` initializers W0.. of 6 floats each, all from external
 * data (location/offset/length as given; NULL = key absent), summed by Sum. */
static void write_external_model(const char *name, int count, const char *location, const char *offset,
                                 const char *length)
{
    pbw g = {0};
    const char *ins[8];
    char names[8][8];
    int64_t d[] = {6};
    for (int i = 0; i < count; i++) {
        snprintf(names[i], sizeof names[i], "W%d", i);
        ins[i] = names[i];
        pbw t = pbw_tensor(names[i], F32, 1, d, NULL, 0);
        if (location)
            pbw_external(&t, "location", location);
        if (offset)
            pbw_external(&t, "offset", offset);
        if (length)
            pbw_external(&t, "length", length);
        pbw_int(&t, 14, 1);
        pbw_msg(&g, PBW_INITIALIZER, &t);
    }
    const char *out[] = {"Y"};
    pbw node = pbw_node("Sum", count, ins, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    pbw m = pbw_model(&g, 13);
    write_file(name, m.p, m.n);
    pbw_free(&m);
}

static void expect_external(const char *location, const char *offset, const char *length, nn_status want,
                            const char *needle)
{
    write_external_model("m.onnx", 1, location, offset, length);
    nn_model *m = (nn_model *)1;
    nn_status st = nn_model_load(test_tmp_path("m.onnx"), NULL, &m);
#define S(x) ((x) ? (x) : "-")
    ck_assert_msg(st == want, "%s/%s/%s: got %d, want %d: %s", S(location), S(offset), S(length), (int)st, (int)want,
                  nn_last_error());
#undef S
    if (st == NN_OK) {
        nn_model_free(m);
        return;
    }
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(nn_last_error(), needle) != NULL, "'%s' lacks '%s'", nn_last_error(), needle);
}

START_TEST(test_external_data)
{
    float w[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    write_file("data.bin", w, sizeof w);
    ck_assert_int_eq(mkdir(test_tmp_path("sub"), 0700), 0);
    ck_assert_int_eq(mkfifo(test_tmp_path("fifo"), 0600), 0);
    ck_assert_int_eq(symlink("/etc/hostname", test_tmp_path("out_link")), 0);
    ck_assert_int_eq(symlink("/dev/zero", test_tmp_path("zero_link")), 0);
    ck_assert_int_eq(symlink("data.bin", test_tmp_path("in_link")), 0);

    expect_external("data.bin", NULL, NULL, NN_OK, "");
    expect_external("data.bin", "8", "24", NN_OK, "");
    expect_external("in_link", NULL, NULL, NN_OK, ""); /* a symlink that stays inside is fine */
    expect_external(NULL, NULL, NULL, NN_E_INVALID_MODEL, "no location");
    expect_external("/etc/passwd", NULL, NULL, NN_E_INVALID_MODEL, "absolute");
    expect_external("../data.bin", NULL, NULL, NN_E_INVALID_MODEL, "leaves the model's folder");
    expect_external("sub/../../x", NULL, NULL, NN_E_INVALID_MODEL, "leaves the model's folder");
    expect_external("out_link", NULL, NULL, NN_E_INVALID_MODEL, "outside the model's folder");
    expect_external("zero_link", NULL, NULL, NN_E_INVALID_MODEL, "outside the model's folder");
    expect_external("sub", NULL, NULL, NN_E_IO, "not a regular file");
    expect_external("fifo", NULL, NULL, NN_E_IO, "not a regular file"); /* and no hang */
    expect_external("missing.bin", NULL, NULL, NN_E_IO, "missing.bin");
    expect_external("data.bin", "9", NULL, NN_E_INVALID_MODEL, "shorter");
    expect_external("data.bin", "9223372036854775807", NULL, NN_E_INVALID_MODEL, "shorter");
    expect_external("data.bin", "99999999999999999999", NULL, NN_E_INVALID_MODEL, "not a number");
    expect_external("data.bin", "-4", NULL, NN_E_INVALID_MODEL, "offset");
    expect_external("data.bin", "4x", NULL, NN_E_INVALID_MODEL, "not a number");
    expect_external("data.bin", "", NULL, NN_E_INVALID_MODEL, "not a number");
    expect_external("data.bin", NULL, "20", NN_E_INVALID_MODEL, "length");
    expect_external("data.bin", NULL, "-2", NN_E_INVALID_MODEL, "length");

    /* the same 24 bytes referenced by many tensors count once each */
    write_external_model("alias.onnx", 8, "data.bin", NULL, NULL);
    nn_load_options o;
    opts(&o);
    o.max_model_bytes = 7 * 24;
    nn_model *m;
    ck_assert_nn(nn_model_load(test_tmp_path("alias.onnx"), &o, &m), NN_E_LIMIT);
    ck_assert(strstr(nn_last_error(), "max_model_bytes") != NULL);
    o.max_model_bytes = 8 * 24 + 4096;
    ck_assert_ok(nn_model_load(test_tmp_path("alias.onnx"), &o, &m));
    nn_model_free(m);
}
END_TEST

/* Model, image and weights paths that are FIFOs or devices: an error, never a hang. */
START_TEST(test_special_files)
{
    ck_assert_int_eq(mkfifo(test_tmp_path("model.onnx"), 0600), 0);
    nn_model *m;
    ck_assert_nn(nn_model_load(test_tmp_path("model.onnx"), NULL, &m), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "not a regular file") != NULL);
    ck_assert_nn(nn_model_load("/dev/zero", NULL, &m), NN_E_IO);
    nn_image *im;
    ck_assert_nn(nn_image_load(test_tmp_path("model.onnx"), NULL, &im), NN_E_IO);
    ck_assert_nn(nn_image_load("/dev/urandom", NULL, &im), NN_E_IO);
    nn_tensor *t;
    ck_assert_nn(nn_tensor_read_file(test_tmp_path("model.onnx"), &t), NN_E_IO);
    /* darknet weights and labels */
    const char *cfg = "[net]\nwidth=2\nheight=2\nchannels=1\n[convolutional]\nfilters=1\nsize=1\nactivation=linear\n";
    write_file("d.cfg", cfg, strlen(cfg));
    ck_assert_int_eq(mkfifo(test_tmp_path("d.weights"), 0600), 0);
    ck_assert_nn(nn_model_load(test_tmp_path("d.cfg"), NULL, &m), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "not a regular file") != NULL);
    unlink(test_tmp_path("d.weights"));
    float w[2] = {0.5f, 2.0f};
    int32_t hdr[5] = {0, 2, 0, 0, 0};
    FILE *f = fopen(test_tmp_path("d.weights"), "wb");
    fwrite(hdr, 4, 5, f);
    fwrite(w, 4, 2, f);
    fclose(f);
    ck_assert_int_eq(mkfifo(test_tmp_path("d.names"), 0600), 0);
    ck_assert_nn(nn_model_load(test_tmp_path("d.cfg"), NULL, &m), NN_E_IO);
    unlink(test_tmp_path("d.names"));
    ck_assert_ok(nn_model_load(test_tmp_path("d.cfg"), NULL, &m));
    nn_model_free(m);
}
END_TEST

/* Darknet: the weights a cfg asks for count against max_model_bytes, checked before the file is read. */
START_TEST(test_darknet_limits)
{
    const char *cfg = "[net]\nwidth=8\nheight=8\nchannels=64\n[convolutional]\nfilters=64\nsize=3\npad=1\nactivation=linear\n";
    nn_load_options o;
    opts(&o);
    o.max_model_bytes = 100000; /* 64*64*9 + 64 floats = 147,712 bytes */
    nn_model *m;
    ck_assert_nn(nn_model_load_memory(cfg, strlen(cfg), &o, &m), NN_E_LIMIT);
    ck_assert(strstr(nn_last_error(), "max_model_bytes") != NULL);
    /* hostile weights header (the version product overflowed int once) */
    const char *hcfg = "[net]\nwidth=1\nheight=1\nchannels=1\n[convolutional]\nfilters=1\nsize=1\n";
    write_file("h.cfg", hcfg, strlen(hcfg));
    int32_t hdr[5] = {INT32_MAX, INT32_MAX, 0, 0, 0};
    write_file("h.weights", hdr, sizeof hdr);
    ck_assert_nn(nn_model_load(test_tmp_path("h.cfg"), NULL, &m), NN_E_INVALID_MODEL);
}
END_TEST

/* An input declared huge but never materialized (only its shape is read)
 * loads; preprocessing an image for it is refused before allocating. */
START_TEST(test_preprocess_limits)
{
    int64_t big[] = {1, 3, 60000, 60000};
    pbw g = {0};
    const char *in[] = {"X"}, *out[] = {"S"};
    pbw node = pbw_node("Shape", 1, in, 1, out, 0, NULL);
    pbw_msg(&g, PBW_NODE, &node);
    pbw vi = pbw_value_info("X", F32, 4, big);
    pbw_msg(&g, PBW_INPUT, &vi);
    pbw vo = pbw_value_info("S", I64, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    /* darknet-style letterboxing, so that nn_detect takes its own path */
    pbw meta = {0};
    pbw_str(&meta, 1, "nn.detect.letterbox");
    pbw_str(&meta, 2, "darknet");
    pbw m = pbw_model(&g, 13);
    pbw_msg(&m, 14, &meta);
    nn_model *model;
    ck_assert_ok(load_pb(&m, NULL, &model));
    pbw_free(&m);
    nn_image *im;
    ck_assert_ok(nn_image_create(4, 4, 3, NN_DTYPE_UINT8, NULL, &im));
    nn_tensor *t;
    ck_assert_nn(nn_image_to_tensor(model, (const nn_image *const *)&im, 1, NULL, &t), NN_E_LIMIT);
    ck_assert_msg(strstr(nn_last_error(), "max_tensor_elements") != NULL, "%s", nn_last_error());
    nn_session *s;
    ck_assert_ok(nn_session_create(model, NULL, &s));
    nn_detections *d;
    ck_assert_nn(nn_detect(s, im, NULL, &d), NN_E_LIMIT);
    nn_session_free(s);
    nn_image_free(im);
    nn_model_free(model);
}
END_TEST

/* ---- models made from loaded ones ---- */

static uint8_t *param_bytes(const nn_model *m, size_t *size)
{
    uint8_t *buf = NULL;
    *size = 0;
    for (uint32_t i = 0; i < nn_model_param_tensor_count(m); i++) {
        const char *name;
        nn_tensor *t;
        ck_assert_ok(nn_model_param_info(m, i, &name, NULL, NULL, NULL, NULL));
        ck_assert_ok(nn_model_get_param(m, name, &t));
        buf = realloc(buf, *size + nn_tensor_nbytes(t) + 1);
        memcpy(buf + *size, nn_tensor_data_const(t), nn_tensor_nbytes(t));
        *size += nn_tensor_nbytes(t);
        nn_tensor_free(t);
    }
    return buf;
}

/* A clone keeps the limits it was loaded with, and its parameter list. */
START_TEST(test_clone_keeps_limits)
{
    nn_load_options o;
    opts(&o);
    o.max_tensor_bytes = 4096;
    nn_model *m, *c;
    ck_assert_ok(nn_model_load(test_data_path("models/convnet.onnx"), &o, &m));
    ck_assert_ok(nn_model_clone(m, &c));
    ck_assert_uint_eq(nn_model_param_tensor_count(c), nn_model_param_tensor_count(m));
    ck_assert_uint_gt(nn_model_param_tensor_count(c), 0);
    size_t na, nb;
    uint8_t *a = param_bytes(m, &na), *b = param_bytes(c, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(memcmp(a, b, na) == 0);
    free(a);
    free(b);
    /* a batch whose activations exceed 4 KiB is refused by both */
    int64_t dims[] = {64, 1, 5, 5};
    nn_tensor *x;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 4, dims, &x));
    for (int k = 0; k < 2; k++) {
        nn_session *s;
        ck_assert_ok(nn_session_create(k ? c : m, NULL, &s));
        ck_assert_nn(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x), NN_E_LIMIT);
        nn_session_free(s);
    }
    nn_tensor_free(x);
    nn_model_free(c);
    nn_model_free(m);
}
END_TEST

/* Weights changed in place (nn_model_set_param) after a session ran: the
 * next run uses the new weights, whichever of them changed, even when
 * derived forms of them (transformed convolution filters) were kept. */
START_TEST(test_set_param_after_run)
{
    enum { C = 16, M = 16, S = 16 };
    int64_t xd[] = {1, C, S, S}, wd[] = {M, C, 3, 3};
    float *w = malloc(sizeof(float) * M * C * 9);
    for (int i = 0; i < M * C * 9; i++)
        w[i] = (float)((i * 37) % 23) / 23.0f - 0.5f;
    pbw g = {0};
    const char *in[] = {"X", "W"}, *out[] = {"Y"};
    pbw a[1] = {pbw_attr_ints("pads", 4, (int64_t[]){1, 1, 1, 1})};
    pbw node = pbw_node("Conv", 2, in, 1, out, 1, a);
    pbw_msg(&g, PBW_NODE, &node);
    pbw t = pbw_tensor("W", F32, 4, wd, w, sizeof(float) * M * C * 9);
    pbw_msg(&g, PBW_INITIALIZER, &t);
    pbw vi = pbw_value_info("X", F32, 4, xd);
    pbw_msg(&g, PBW_INPUT, &vi);
    pbw vo = pbw_value_info("Y", F32, -1, NULL);
    pbw_msg(&g, PBW_OUTPUT, &vo);
    pbw m = pbw_model(&g, 13);
    nn_model *model;
    ck_assert_ok(load_pb(&m, NULL, &model));
    pbw_free(&m);
    nn_tensor *x;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 4, xd, &x));
    float *xp = nn_tensor_data(x);
    for (int i = 0; i < C * S * S; i++)
        xp[i] = (float)(i % 11) / 11.0f;
    nn_session *s;
    ck_assert_ok(nn_session_create(model, NULL, &s));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    /* change one weight of one filter: output channel 0 must follow */
    for (int which = 1; which < M * C * 9; which += 401) {
        nn_tensor *nw;
        ck_assert_ok(nn_model_get_param(model, "W", &nw));
        ((float *)nn_tensor_data(nw))[which] += 3.0f;
        ck_assert_ok(nn_model_set_param(model, "W", nw));
        nn_tensor_free(nw);
        ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
        nn_model *fresh;
        ck_assert_ok(nn_model_clone(model, &fresh));
        nn_session *fs;
        ck_assert_ok(nn_session_create(fresh, NULL, &fs));
        ck_assert_ok(nn_session_run(fs, 1, NULL, (const nn_tensor *const *)&x));
        const nn_tensor *y = nn_session_output(s, 0), *yf = nn_session_output(fs, 0);
        ck_assert_msg(memcmp(nn_tensor_data_const(y), nn_tensor_data_const(yf), nn_tensor_nbytes(y)) == 0,
                      "weight %d changed in place: the session still computes with the old filters", which);
        nn_session_free(fs);
        nn_model_free(fresh);
    }
    nn_session_free(s);
    nn_tensor_free(x);
    nn_model_free(model);
    free(w);
}
END_TEST

/* A training step refused for its labels (found only after the forward pass)
 * leaves every tensor as it was, running statistics included. */
START_TEST(test_train_bad_labels)
{
    nn_model *m;
    ck_assert_ok(nn_model_load(test_data_path("train/conv_bn_train/model.onnx"), NULL, &m));
    nn_trainer_options to;
    ck_assert_ok(nn_trainer_options_init(&to, NN_TRAINER_OPTIONS_VERSION));
    to.batchnorm = NN_BN_TRAIN;
    to.num_threads = 1;
    nn_trainer *t;
    ck_assert_ok(nn_trainer_create(m, &to, &t));
    nn_tensor *x, *y;
    ck_assert_ok(nn_tensor_read_file(test_data_path("train/conv_bn_train/input_0.pb"), &x));
    ck_assert_ok(nn_tensor_read_file(test_data_path("train/conv_bn_train/labels_0.pb"), &y));
    size_t n0, n1;
    uint8_t *before = param_bytes(m, &n0);
    int64_t *labels = nn_tensor_data(y);
    int64_t keep = labels[0];
    const int64_t bad[] = {-1, 1000000, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        labels[0] = bad[i];
        ck_assert_nn(nn_train_step(m, t, x, y, NULL), NN_E_INVALID_ARG);
        uint8_t *after = param_bytes(m, &n1);
        ck_assert_msg(n0 == n1 && memcmp(before, after, n0) == 0, "label %lld changed the model", (long long)bad[i]);
        free(after);
    }
    labels[0] = keep;
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    uint8_t *after = param_bytes(m, &n1);
    ck_assert(memcmp(before, after, n0) != 0);
    free(after);
    free(before);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_trainer_free(t);
    nn_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("limits");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_options_versions);
    tcase_add_test(tc, test_initializer_limits);
    tcase_add_test(tc, test_activation_limits);
    tcase_add_test(tc, test_folding_budget);
    tcase_add_test(tc, test_session_bytes);
    tcase_add_test(tc, test_depth_and_nodes);
    tcase_add_test(tc, test_load_time_linear);
    tcase_add_test(tc, test_no_costly_folding);
    tcase_add_test(tc, test_subgraph_nesting);
    tcase_add_test(tc, test_parse_amplification);
    tcase_add_test(tc, test_inconsistent_graphs);
    tcase_add_test(tc, test_bad_attributes);
    tcase_add_test(tc, test_clone_keeps_limits);
    tcase_add_test(tc, test_preprocess_limits);
    tcase_add_test(tc, test_train_bad_labels);
    tcase_add_test(tc, test_set_param_after_run);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("files");
    tcase_add_checked_fixture(files, tmp_setup, test_tmpdir_remove);
    tcase_add_test(files, test_external_data);
    tcase_add_test(files, test_special_files);
    tcase_add_test(files, test_darknet_limits);
    suite_add_tcase(s, files);
    return s;
}

int main(void) { return test_run_suite(suite()); }
