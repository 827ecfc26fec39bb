/* check_session.c — sessions: inputs by name/position, shape checks, replanning, threads. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static nn_model *load(const char *rel)
{
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path(rel), NULL, &m));
    return m;
}

START_TEST(test_introspection)
{
    nn_model *m = load("models/identity.onnx");
    ck_assert_uint_eq(nn_model_input_count(m), 1);
    ck_assert_uint_eq(nn_model_output_count(m), 1);
    const char *name;
    nn_dtype dt;
    int32_t rank;
    ck_assert_ok(nn_model_input_info(m, 0, &name, &dt, &rank));
    ck_assert_str_eq(name, "x");
    ck_assert_int_eq(dt, NN_DTYPE_FLOAT32);
    ck_assert_int_eq(rank, 2);
    int64_t d;
    const char *sym;
    ck_assert_ok(nn_model_input_dim(m, 0, 0, &d, &sym));
    ck_assert_int_eq(d, -1);
    ck_assert_str_eq(sym, "batch");
    ck_assert_ok(nn_model_input_dim(m, 0, 1, &d, &sym));
    ck_assert_int_eq(d, 3);
    ck_assert_str_eq(sym, "");
    ck_assert_nn(nn_model_input_info(m, 1, &name, &dt, &rank), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_input_dim(m, 0, 2, &d, &sym), NN_E_INVALID_ARG);
    ck_assert_uint_eq(nn_model_layer_count(m), 1);
    const char *op;
    ck_assert_ok(nn_model_layer_info(m, 0, &name, &op));
    ck_assert_str_eq(op, "Identity");
    ck_assert_str_eq(name, "id");
    ck_assert_str_eq(nn_model_metadata(m, "author"), "nn tests");
    ck_assert_ptr_null(nn_model_metadata(m, "missing"));
    nn_model_free(m);
}
END_TEST

START_TEST(test_run_and_replan)
{
    nn_model *m = load("models/identity.onnx");
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    for (int64_t batch = 1; batch <= 4; batch++) {
        float data[12];
        for (int i = 0; i < 12; i++)
            data[i] = (float)(i * batch);
        int64_t dims[2] = {batch, 3};
        nn_tensor *x = NULL;
        ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 2, dims, data, &x));
        const char *names[1] = {"x"};
        ck_assert_ok(nn_session_run(s, 1, (batch % 2) ? names : NULL, (const nn_tensor *const *)&x));
        const nn_tensor *y = nn_session_output(s, 0);
        ck_assert_int_eq(nn_tensor_dim(y, 0), batch);
        ck_assert_mem_eq(nn_tensor_data_const(y), data, (size_t)batch * 3 * sizeof(float));
        ck_assert_str_eq(nn_tensor_name(y), "y");
        nn_tensor_free(x);
    }
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

/* A Conv whose W is fed per run (not a model constant) computes with this
 * run's W: the fast paths' per-model memo of transformed filters must not key
 * on a caller's buffer whose contents change between runs (here one weight
 * that a sampled fingerprint of W would skip). Reference: a direct loop. */
static float conv3x3_at(const float *x, const float *w, int C, int H, int W, int m, int i, int j)
{
    double acc = 0;
    for (int c = 0; c < C; c++)
        for (int di = -1; di <= 1; di++)
            for (int dj = -1; dj <= 1; dj++)
                if (i + di >= 0 && i + di < H && j + dj >= 0 && j + dj < W)
                    acc += (double)x[(c * H + i + di) * W + j + dj] * w[((m * C + c) * 3 + di + 1) * 3 + dj + 1];
    return (float)acc;
}

START_TEST(test_fed_weights_change_between_runs)
{
    enum { C = 16, H = 16, W = 16 };
    nn_builder *b = NULL;
    ck_assert_ok(nn_builder_create(13, &b));
    const int64_t xd[4] = {1, C, H, W}, wd[4] = {C, C, 3, 3};
    ck_assert_ok(nn_builder_add_input(b, "x", NN_DTYPE_FLOAT32, 4, xd, NULL));
    ck_assert_ok(nn_builder_add_input(b, "w", NN_DTYPE_FLOAT32, 4, wd, NULL));
    const char *ins[2] = {"x", "w"}, *outs[1] = {"y"}, *attrs[1] = {"pads=1,1,1,1"};
    ck_assert_ok(nn_builder_add_node(b, "Conv", "conv", 2, ins, 1, outs, 1, attrs));
    ck_assert_ok(nn_builder_add_output(b, "y"));
    nn_model *m = NULL;
    ck_assert_ok(nn_builder_finish(b, &m));
    nn_builder_free(b);
    static float x[C * H * W], w[C * C * 9];
    unsigned seed = 7;
    for (int i = 0; i < C * H * W; i++)
        x[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0xff) / 256.0f;
    for (int i = 0; i < C * C * 9; i++)
        w[i] = (float)((seed = seed * 1103515245u + 12345u) >> 16 & 0xff) / 256.0f - 0.5f;
    nn_tensor *tx = NULL, *tw = NULL;
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 4, xd, x, &tx));
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 4, wd, w, &tw));
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    const nn_tensor *in[2] = {tx, tw};
    for (int run = 0; run < 2; run++) {
        if (run == 1)
            w[1] += 40.0f; /* filter 0, channel 0, tap (0, 1): off a 1-in-9 sample of W's words */
        ck_assert_ok(nn_session_run(s, 2, NULL, in));
        const float *y = nn_tensor_data_const(nn_session_output(s, 0));
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                float want = conv3x3_at(x, w, C, H, W, 0, i, j);
                ck_assert_msg(fabsf(y[i * W + j] - want) <= 1e-3f * (1.0f + fabsf(want)),
                              "run %d, y[0,0,%d,%d] = %g, want %g", run, i, j, (double)y[i * W + j], (double)want);
            }
    }
    nn_session_free(s);
    nn_tensor_free(tx);
    nn_tensor_free(tw);
    nn_model_free(m);
}
END_TEST

/* If: a clone runs its branches like the original (the subgraphs are copied
 * and prepared with it); the branch taken changes the output shape per run. */
START_TEST(test_if_clone)
{
    nn_model *m = load("control/if_capture/model.onnx"), *c = NULL;
    ck_assert_ok(nn_model_clone(m, &c));
    nn_model_free(m);
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(c, NULL, &s));
    static const float xs[2][6] = {{1, -2, 3, -4, 5, 0.5f}, {1, -2, 3, -4, 0.5f, -9}};
    static const float want0[6] = {1, -1, 7, -11, 21, 3.5f}, want1[3] = {2, 4, 1.5f};
    for (int k = 0; k < 2; k++) {
        int64_t dims[1] = {6};
        nn_tensor *x = NULL;
        ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 1, dims, (void *)xs[k], &x));
        ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
        const nn_tensor *y = nn_session_output(s, 0);
        ck_assert_int_eq(nn_tensor_dim(y, 0), k ? 3 : 6);
        ck_assert_mem_eq(nn_tensor_data_const(y), k ? want1 : want0, (k ? 3 : 6) * sizeof(float));
        nn_tensor_free(x);
    }
    nn_session_free(s);
    nn_model_free(c);
}
END_TEST

START_TEST(test_bad_inputs)
{
    nn_model *m = load("models/identity.onnx");
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    int64_t dims[2] = {2, 4};
    nn_tensor *x = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 2, dims, &x));
    ck_assert_nn(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x), NN_E_SHAPE);
    ck_assert(strstr(nn_last_error(), "[2,4]") != NULL);
    ck_assert_ptr_null(nn_session_output(s, 0));
    nn_tensor_free(x);
    dims[1] = 3;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_INT64, 2, dims, &x));
    ck_assert_nn(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x), NN_E_TYPE);
    const char *wrong[1] = {"nope"};
    ck_assert_nn(nn_session_run(s, 1, wrong, (const nn_tensor *const *)&x), NN_E_NOT_FOUND);
    ck_assert(strstr(nn_last_error(), "nope") != NULL);
    ck_assert_nn(nn_session_run(s, 0, NULL, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_session_run(s, 2, NULL, (const nn_tensor *const *)&x), NN_E_INVALID_ARG);
    nn_tensor_free(x);
    ck_assert_nn(nn_session_run(NULL, 0, NULL, NULL), NN_E_INVALID_ARG);
    nn_session *none = (nn_session *)1;
    ck_assert_nn(nn_session_create(NULL, NULL, &none), NN_E_INVALID_ARG);
    ck_assert_ptr_null(none);
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

typedef struct {
    const nn_model *m;
    int id;
    int ok;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    nn_session *s = NULL;
    nn_session_options o;
    nn_session_options_init(&o, NN_SESSION_OPTIONS_VERSION);
    o.num_threads = 1;
    if (nn_session_create(a->m, &o, &s) != NN_OK)
        return NULL;
    a->ok = 1;
    for (int it = 0; it < 200 && a->ok; it++) {
        float data[6];
        for (int i = 0; i < 6; i++)
            data[i] = (float)(a->id * 1000 + it * 10 + i);
        int64_t dims[2] = {1 + it % 2, 3};
        nn_tensor *x = NULL;
        nn_tensor_wrap(NN_DTYPE_FLOAT32, 2, dims, data, &x);
        if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x) != NN_OK ||
            memcmp(nn_tensor_data_const(nn_session_output(s, 0)), data, (size_t)dims[0] * 3 * sizeof(float)) != 0)
            a->ok = 0;
        nn_tensor_free(x);
    }
    nn_session_free(s);
    return NULL;
}

START_TEST(test_threads_share_model)
{
    nn_model *m = load("models/identity.onnx");
    pthread_t th[8];
    worker_arg args[8];
    for (int i = 0; i < 8; i++) {
        args[i] = (worker_arg){m, i, 0};
        pthread_create(&th[i], NULL, worker, &args[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(args[i].ok, "thread %d saw a wrong result", i);
    }
    nn_model_free(m);
}
END_TEST

START_TEST(test_error_is_thread_local)
{
    nn_model *m = NULL;
    ck_assert_nn(nn_model_load("/nonexistent/a.onnx", NULL, &m), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "a.onnx") != NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("run");
    tcase_add_test(tc, test_introspection);
    tcase_add_test(tc, test_run_and_replan);
    tcase_add_test(tc, test_fed_weights_change_between_runs);
    tcase_add_test(tc, test_bad_inputs);
    tcase_add_test(tc, test_if_clone);
    tcase_add_test(tc, test_threads_share_model);
    tcase_add_test(tc, test_error_is_thread_local);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
