/* check_edit.c — saving models, metadata, parameters, input and head replacement. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "test_util.h"

void nni_alloc_fail_after(int64_t n); /* internal test hook (lib/core/alloc.c) */

static nn_model *load(const char *rel)
{
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path(rel), NULL, &m));
    return m;
}

/* A seeded N(0,1)-ish float tensor. */
static nn_tensor *random_input(int32_t rank, const int64_t *dims, uint32_t seed)
{
    nn_tensor *t = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, rank, dims, &t));
    float *p = nn_tensor_data(t);
    uint32_t s = seed * 2654435761u + 1;
    for (int64_t i = 0; i < nn_tensor_count(t); i++) {
        float u = 0;
        for (int k = 0; k < 4; k++) {
            s = s * 1664525u + 1013904223u;
            u += (float)(s >> 8) / 16777216.0f;
        }
        p[i] = (u - 2.0f) * 1.7f;
    }
    return t;
}

/* Run with one input; returns a copy of output 0 (free with nn_tensor_free). */
static nn_tensor *run1(const nn_model *m, const nn_tensor *x)
{
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    ck_assert_ok(nn_session_run(s, 1, NULL, &x));
    const nn_tensor *y = nn_session_output(s, 0);
    nn_tensor *copy = NULL;
    int64_t dims[NN_MAX_RANK];
    for (int32_t d = 0; d < nn_tensor_rank(y); d++)
        dims[d] = nn_tensor_dim(y, d);
    ck_assert_ok(nn_tensor_create(nn_tensor_dtype(y), nn_tensor_rank(y), dims, &copy));
    memcpy(nn_tensor_data(copy), nn_tensor_data_const(y), nn_tensor_nbytes(y));
    nn_session_free(s);
    return copy;
}

static float max_diff(const nn_tensor *a, const nn_tensor *b)
{
    ck_assert_int_eq(nn_tensor_rank(a), nn_tensor_rank(b));
    ck_assert_int_eq(nn_tensor_count(a), nn_tensor_count(b));
    const float *p = nn_tensor_data_const(a), *q = nn_tensor_data_const(b);
    float worst = 0;
    for (int64_t i = 0; i < nn_tensor_count(a); i++)
        worst = fmaxf(worst, fabsf(p[i] - q[i]));
    return worst;
}

static void input_dims(const nn_model *m, int64_t *dims, int32_t *rank)
{
    ck_assert_ok(nn_model_input_info(m, 0, NULL, NULL, rank));
    for (int32_t a = 0; a < *rank; a++) {
        ck_assert_ok(nn_model_input_dim(m, 0, a, &dims[a], NULL));
        if (dims[a] < 0)
            dims[a] = 1;
    }
}

/* nn on the model vs nn on the model saved and reloaded (file and memory): identical bits. */
static void check_roundtrip(nn_model *m, const char *path)
{
    int64_t dims[NN_MAX_RANK];
    int32_t rank;
    input_dims(m, dims, &rank);
    nn_tensor *x = random_input(rank, dims, 7);
    nn_tensor *want = run1(m, x);
    ck_assert_ok(nn_model_save(m, path));
    nn_model *r = NULL;
    ck_assert_ok(nn_model_load(path, NULL, &r));
    nn_tensor *got = run1(r, x);
    ck_assert_int_eq(nn_tensor_nbytes(got), nn_tensor_nbytes(want));
    ck_assert(memcmp(nn_tensor_data(got), nn_tensor_data(want), nn_tensor_nbytes(want)) == 0);
    /* the memory twin writes the same bytes */
    void *buf = NULL;
    size_t size = 0;
    ck_assert_ok(nn_model_save_memory(m, &buf, &size));
    size_t fsize;
    uint8_t *file = test_read_file(path, &fsize);
    ck_assert_uint_eq(fsize, size);
    ck_assert(memcmp(file, buf, size) == 0);
    free(file);
    nn_model *r2 = NULL;
    ck_assert_ok(nn_model_load_memory(buf, size, NULL, &r2));
    nn_free(buf);
    nn_tensor *got2 = run1(r2, x);
    ck_assert(memcmp(nn_tensor_data(got2), nn_tensor_data(want), nn_tensor_nbytes(want)) == 0);
    ck_assert_uint_eq(nn_model_layer_count(r), nn_model_layer_count(m));
    ck_assert_uint_eq(nn_model_param_count(r), nn_model_param_count(m));
    nn_tensor_free(got2);
    nn_model_free(r2);
    nn_tensor_free(got);
    nn_model_free(r);
    nn_tensor_free(want);
    nn_tensor_free(x);
}

/* ---- saving ---- */

START_TEST(test_save_roundtrip)
{
    static const char *const models[] = {"models/mlp.onnx", "models/identity.onnx", "models/edit/cnn_gap.onnx",
                                         "models/edit/cnn_flat.onnx", "models/edit/cnn_chain.onnx",
                                         "models/edit/cnn_chain_dyn.onnx", "models/edit/squeeze_head.onnx",
                                         "models/edit/gray.onnx", "models/typed_initializer.onnx"};
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        nn_model *m = load(models[i]);
        if (nn_model_input_count(m) > 0)
            check_roundtrip(m, test_tmp_path("rt.onnx"));
        else {
            ck_assert_ok(nn_model_save(m, test_tmp_path("rt.onnx")));
            nn_model *r = NULL;
            ck_assert_ok(nn_model_load(test_tmp_path("rt.onnx"), NULL, &r));
            nn_model_free(r);
        }
        nn_model_free(m);
    }
    ck_assert_int_eq(test_tmpdir_count(""), 1); /* no temporaries left behind */
}
END_TEST

START_TEST(test_save_keeps_symbols_and_metadata)
{
    nn_model *m = load("models/edit/cnn_chain_dyn.onnx");
    ck_assert_ok(nn_model_set_metadata(m, "nn.labels", "p\nq\nr"));
    ck_assert_ok(nn_model_set_metadata(m, "author", "me"));
    ck_assert_ok(nn_model_set_metadata(m, "author", "you"));
    ck_assert_ok(nn_model_set_metadata(m, "gone", "x"));
    ck_assert_ok(nn_model_set_metadata(m, "gone", NULL));
    ck_assert_ok(nn_model_set_metadata(m, "never-there", NULL));
    ck_assert_nn(nn_model_set_metadata(m, "", "x"), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_set_metadata(NULL, "k", "x"), NN_E_INVALID_ARG);
    ck_assert_uint_eq(nn_model_metadata_count(m), 2);
    const char *k, *v;
    ck_assert_ok(nn_model_metadata_at(m, 1, &k, &v));
    ck_assert_str_eq(k, "author");
    ck_assert_str_eq(v, "you");
    ck_assert_nn(nn_model_metadata_at(m, 2, &k, &v), NN_E_INVALID_ARG);
    ck_assert_ok(nn_model_save(m, test_tmp_path("meta.onnx")));
    nn_model *r = NULL;
    ck_assert_ok(nn_model_load(test_tmp_path("meta.onnx"), NULL, &r));
    ck_assert_str_eq(nn_model_metadata(r, "nn.labels"), "p\nq\nr");
    ck_assert_str_eq(nn_model_metadata(r, "author"), "you");
    ck_assert_ptr_null(nn_model_metadata(r, "gone"));
    const char *sym;
    int64_t d;
    ck_assert_ok(nn_model_input_dim(r, 0, 0, &d, &sym));
    ck_assert_int_eq(d, -1);
    ck_assert_str_eq(sym, "N");
    ck_assert_ok(nn_model_input_dim(r, 0, 3, &d, &sym));
    ck_assert_str_eq(sym, "W");
    ck_assert_ok(nn_model_output_dim(r, 0, 0, &d, &sym));
    ck_assert_str_eq(sym, "N");
    nn_model_free(r);
    nn_model_free(m);
}
END_TEST

START_TEST(test_save_bad_args)
{
    nn_model *m = load("models/mlp.onnx");
    ck_assert_nn(nn_model_save(NULL, test_tmp_path("x.onnx")), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_save(m, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_save(m, "/nonexistent-dir/sub/x.onnx"), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "x.onnx") != NULL);
    ck_assert_nn(nn_model_save(m, test_tmp_path("")), NN_E_INVALID_ARG); /* a folder */
    void *buf = (void *)1;
    size_t size = 1;
    ck_assert_nn(nn_model_save_memory(m, NULL, &size), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_save_memory(NULL, &buf, &size), NN_E_INVALID_ARG);
    ck_assert_ptr_null(buf);
    nn_model_free(m);
    ck_assert_int_eq(test_tmpdir_count(""), 0);
}
END_TEST

/* The old file must survive any failed save byte for byte, with no temporary left. */
static void assert_file_is(const char *path, const uint8_t *want, size_t size)
{
    size_t got_size;
    uint8_t *got = test_read_file(path, &got_size);
    ck_assert_uint_eq(got_size, size);
    ck_assert(memcmp(got, want, size) == 0);
    free(got);
}

START_TEST(test_save_atomic_full_disk)
{
    /* a good small file first */
    nn_model *small = load("models/mlp.onnx");
    nn_model *big = load("models/edit/cnn_flat.onnx");
    ck_assert_ok(nn_model_save(small, test_tmp_path("model.onnx")));
    size_t size;
    uint8_t *old = test_read_file(test_tmp_path("model.onnx"), &size);
    /* a "disk" that takes 1 KB per file: the bigger model cannot be written */
    struct rlimit saved, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    lim = saved;
    lim.rlim_cur = 1024;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    nn_status st = nn_model_save(big, test_tmp_path("model.onnx"));
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, prev);
    ck_assert_nn(st, NN_E_IO);
    ck_assert(strstr(nn_last_error(), "unchanged") != NULL);
    assert_file_is(test_tmp_path("model.onnx"), old, size);
    ck_assert_int_eq(test_tmpdir_count(""), 1);
    /* and with room again it goes through */
    ck_assert_ok(nn_model_save(big, test_tmp_path("model.onnx")));
    nn_model *r = NULL;
    ck_assert_ok(nn_model_load(test_tmp_path("model.onnx"), NULL, &r));
    ck_assert_uint_eq(nn_model_param_count(r), nn_model_param_count(big));
    nn_model_free(r);
    free(old);
    nn_model_free(small);
    nn_model_free(big);
}
END_TEST

START_TEST(test_save_atomic_oom)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    nn_model *other = load("models/mlp.onnx");
    ck_assert_ok(nn_model_save(other, test_tmp_path("model.onnx")));
    size_t size;
    uint8_t *old = test_read_file(test_tmp_path("model.onnx"), &size);
    int failures = 0;
    for (int64_t n = 0; n < 10000; n++) {
        nni_alloc_fail_after(n);
        nn_status st = nn_model_save(m, test_tmp_path("model.onnx"));
        nni_alloc_fail_after(-1);
        if (st == NN_OK)
            break;
        failures++;
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld: status %d (%s)", (long long)n, (int)st, nn_last_error());
        assert_file_is(test_tmp_path("model.onnx"), old, size);
        ck_assert_int_eq(test_tmpdir_count(""), 1);
        /* and the memory twin */
        void *buf = (void *)1;
        size_t bsize;
        nni_alloc_fail_after(n);
        st = nn_model_save_memory(m, &buf, &bsize);
        nni_alloc_fail_after(-1);
        if (st == NN_OK)
            nn_free(buf);
        else
            ck_assert_ptr_null(buf);
    }
    ck_assert_int_gt(failures, 5);
    nn_model *r = NULL;
    ck_assert_ok(nn_model_load(test_tmp_path("model.onnx"), NULL, &r));
    ck_assert_str_eq(nn_model_metadata(r, "nn.input.color"), "RGB");
    nn_model_free(r);
    free(old);
    nn_model_free(m);
    nn_model_free(other);
}
END_TEST

/* ---- parameters ---- */

static int32_t param_index(const nn_model *m, const char *name)
{
    for (uint32_t i = 0; i < nn_model_param_tensor_count(m); i++) {
        const char *n;
        ck_assert_ok(nn_model_param_info(m, i, &n, NULL, NULL, NULL, NULL));
        if (strcmp(n, name) == 0)
            return (int32_t)i;
    }
    return -1;
}

START_TEST(test_params_list_get_set)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    ck_assert_uint_eq(nn_model_param_tensor_count(m), 4);
    int32_t i = param_index(m, "fc.w");
    ck_assert_int_ge(i, 0);
    const char *name;
    nn_dtype dt;
    int32_t rank;
    int64_t dims[NN_MAX_RANK];
    uint32_t flags;
    ck_assert_ok(nn_model_param_info(m, (uint32_t)i, &name, &dt, &rank, dims, &flags));
    ck_assert_int_eq(dt, NN_DTYPE_FLOAT32);
    ck_assert_int_eq(rank, 2);
    ck_assert_int_eq(dims[0], 5);
    ck_assert_int_eq(dims[1], 4);
    ck_assert_uint_eq(flags, NN_PARAM_TRAINABLE);
    ck_assert_nn(nn_model_param_info(m, 99, &name, NULL, NULL, NULL, NULL), NN_E_INVALID_ARG);
    /* get is a copy */
    nn_tensor *w = NULL;
    ck_assert_ok(nn_model_get_param(m, "fc.w", &w));
    ck_assert_str_eq(nn_tensor_name(w), "fc.w");
    ck_assert_int_eq(nn_tensor_count(w), 20);
    float first = ((float *)nn_tensor_data(w))[0];
    ((float *)nn_tensor_data(w))[0] = 1000.0f;
    nn_tensor *again = NULL;
    ck_assert_ok(nn_model_get_param(m, "fc.w", &again));
    ck_assert_float_eq(((float *)nn_tensor_data(again))[0], first);
    nn_tensor_free(again);
    /* set: zero weights and bias -> the softmax is uniform */
    int64_t xd[4] = {1, 3, 8, 8};
    nn_tensor *x = random_input(4, xd, 3);
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s)); /* made before the change: sees it */
    memset(nn_tensor_data(w), 0, nn_tensor_nbytes(w));
    ck_assert_ok(nn_model_set_param(m, "fc.w", w));
    nn_tensor *b = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 1, (int64_t[]){5}, &b));
    ck_assert_ok(nn_model_set_param(m, "fc.b", b));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    const float *y = nn_tensor_data_const(nn_session_output(s, 0));
    for (int k = 0; k < 5; k++)
        ck_assert_float_eq_tol(y[k], 0.2f, 1e-6f);
    nn_session_free(s);
    /* errors */
    nn_tensor *wrong = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 2, (int64_t[]){4, 5}, &wrong));
    ck_assert_nn(nn_model_set_param(m, "fc.w", wrong), NN_E_SHAPE);
    ck_assert(strstr(nn_last_error(), "[5,4]") != NULL);
    nn_tensor_free(wrong);
    ck_assert_ok(nn_tensor_create(NN_DTYPE_INT64, 2, (int64_t[]){5, 4}, &wrong));
    ck_assert_nn(nn_model_set_param(m, "fc.w", wrong), NN_E_TYPE);
    nn_tensor_free(wrong);
    ck_assert_nn(nn_model_set_param(m, "nope", b), NN_E_NOT_FOUND);
    ck_assert_nn(nn_model_set_param(m, "x", b), NN_E_NOT_FOUND);
    ck_assert(strstr(nn_last_error(), "input") != NULL);
    ck_assert_nn(nn_model_set_param(m, "logits", b), NN_E_NOT_FOUND);
    ck_assert(strstr(nn_last_error(), "computed") != NULL);
    ck_assert_nn(nn_model_get_param(m, "nope", &again), NN_E_NOT_FOUND);
    ck_assert_ptr_null(again);
    ck_assert_nn(nn_model_set_param(m, "fc.w", NULL), NN_E_INVALID_ARG);
    /* assembling: the saved file carries the weights that were set */
    ck_assert_ok(nn_model_save(m, test_tmp_path("assembled.onnx")));
    nn_model *r = NULL;
    ck_assert_ok(nn_model_load(test_tmp_path("assembled.onnx"), NULL, &r));
    nn_tensor *got = NULL;
    ck_assert_ok(nn_model_get_param(r, "fc.w", &got));
    for (int k = 0; k < 20; k++)
        ck_assert_float_eq(((float *)nn_tensor_data(got))[k], 0.0f);
    nn_tensor_free(got);
    nn_model_free(r);
    nn_tensor_free(b);
    nn_tensor_free(w);
    nn_tensor_free(x);
    nn_model_free(m);
}
END_TEST

START_TEST(test_params_exclude_shape_constants)
{
    nn_model *m = load("models/edit/cnn_chain.onnx");
    /* conv.w, conv.b, fc.w, fc.b; the folded shape [1,4,64] is not a parameter */
    ck_assert_uint_eq(nn_model_param_tensor_count(m), 4);
    ck_assert_nn(nn_model_get_param(m, "shp", &(nn_tensor *){NULL}), NN_E_NOT_FOUND);
    ck_assert(strstr(nn_last_error(), "input shapes") != NULL);
    nn_model_free(m);
    /* BatchNorm-free model: every float initializer is trainable */
    m = load("models/mlp.onnx");
    for (uint32_t i = 0; i < nn_model_param_tensor_count(m); i++) {
        uint32_t flags;
        ck_assert_ok(nn_model_param_info(m, i, NULL, NULL, NULL, NULL, &flags));
        ck_assert_uint_eq(flags, NN_PARAM_TRAINABLE);
    }
    nn_model_free(m);
}
END_TEST

/* ---- input replacement ---- */

static void check_input_shape(const nn_model *m, const int64_t *want, int32_t rank)
{
    int32_t r;
    ck_assert_ok(nn_model_input_info(m, 0, NULL, NULL, &r));
    ck_assert_int_eq(r, rank);
    for (int32_t a = 0; a < rank; a++) {
        int64_t d;
        ck_assert_ok(nn_model_input_dim(m, 0, a, &d, NULL));
        ck_assert_int_eq(d, want[a]);
    }
}

START_TEST(test_replace_input_size)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    int64_t dims[4] = {-1, -1, 16, 12};
    ck_assert_ok(nn_replace_input(m, "x", 4, dims, NULL));
    check_input_shape(m, (int64_t[]){1, 3, 16, 12}, 4);
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
    ck_assert_int_eq(d, 5);
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 16, 12}, 5);
    nn_tensor *y = run1(m, x);
    float sum = 0;
    for (int k = 0; k < 5; k++)
        sum += ((float *)nn_tensor_data(y))[k];
    ck_assert_float_eq_tol(sum, 1.0f, 1e-5f);
    check_roundtrip(m, test_tmp_path("resized.onnx"));
    /* the batch too */
    ck_assert_ok(nn_replace_input(m, "x", 4, (int64_t[]){4, -1, -1, -1}, NULL));
    check_input_shape(m, (int64_t[]){4, 3, 16, 12}, 4);
    ck_assert_ok(nn_model_output_dim(m, 0, 0, &d, NULL));
    ck_assert_int_eq(d, 4);
    nn_tensor_free(y);
    nn_tensor_free(x);
    nn_model_free(m);
}
END_TEST

/* A shape chain folded at load must be recomputed for the new size: the
 * edited fixed model must match its symbolic twin, which never folded. */
START_TEST(test_replace_input_refolds_shape_chain)
{
    nn_model *fixed = load("models/edit/cnn_chain.onnx");
    nn_model *dyn = load("models/edit/cnn_chain_dyn.onnx");
    uint32_t layers_before = nn_model_layer_count(fixed);
    ck_assert_ok(nn_replace_input(fixed, "x", 4, (int64_t[]){-1, -1, 16, 12}, NULL));
    ck_assert_uint_eq(nn_model_layer_count(fixed), layers_before); /* folded again */
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 16, 12}, 11);
    nn_tensor *a = run1(fixed, x), *b = run1(dyn, x);
    ck_assert_float_eq(max_diff(a, b), 0.0f);
    check_roundtrip(fixed, test_tmp_path("chain.onnx"));
    /* and back to the original size */
    ck_assert_ok(nn_replace_input(fixed, "x", 4, (int64_t[]){-1, -1, 8, 8}, NULL));
    nn_tensor *x8 = random_input(4, (int64_t[]){1, 3, 8, 8}, 12);
    nn_tensor *c = run1(fixed, x8), *d = run1(dyn, x8);
    ck_assert_float_eq(max_diff(c, d), 0.0f);
    /* a symbolic input keeps its chain and its symbol */
    ck_assert_ok(nn_replace_input(dyn, "x", 4, (int64_t[]){-1, -1, 16, -1}, NULL));
    const char *sym;
    int64_t dim;
    ck_assert_ok(nn_model_input_dim(dyn, 0, 0, &dim, &sym));
    ck_assert_int_eq(dim, -1);
    ck_assert_str_eq(sym, "N");
    ck_assert_ok(nn_model_input_dim(dyn, 0, 2, &dim, &sym));
    ck_assert_int_eq(dim, 16);
    ck_assert_str_eq(sym, "");
    ck_assert_ok(nn_model_input_dim(dyn, 0, 3, &dim, &sym));
    ck_assert_str_eq(sym, "W");
    ck_assert_ok(nn_model_output_dim(dyn, 0, 0, &dim, &sym));
    ck_assert_int_eq(dim, -1);
    ck_assert_str_eq(sym, "N");
    ck_assert_ok(nn_model_output_dim(dyn, 0, 1, &dim, &sym));
    ck_assert_int_eq(dim, 3);
    nn_tensor *x2 = random_input(4, (int64_t[]){2, 3, 16, 5}, 13);
    nn_tensor *e = run1(dyn, x2);
    ck_assert_int_eq(nn_tensor_dim(e, 0), 2);
    check_roundtrip(dyn, test_tmp_path("dyn.onnx"));
    nn_tensor_free(e);
    nn_tensor_free(x2);
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(c);
    nn_tensor_free(d);
    nn_tensor_free(x);
    nn_tensor_free(x8);
    nn_model_free(fixed);
    nn_model_free(dyn);
}
END_TEST

START_TEST(test_replace_input_fixed_width_fails)
{
    nn_model *m = load("models/edit/cnn_flat.onnx");
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 2);
    nn_tensor *before = run1(m, x);
    ck_assert_nn(nn_replace_input(m, "x", 4, (int64_t[]){-1, -1, 16, 16}, NULL), NN_E_SHAPE);
    const char *msg = nn_last_error();
    ck_assert_msg(strstr(msg, "classifier") && strstr(msg, "Gemm") && strstr(msg, "[1,3,16,16]"), "message: %s", msg);
    /* unchanged */
    check_input_shape(m, (int64_t[]){1, 3, 8, 8}, 4);
    nn_tensor *after = run1(m, x);
    ck_assert_float_eq(max_diff(before, after), 0.0f);
    nn_tensor_free(after);
    /* a Reshape to a literal shape names itself */
    nn_model *sq = load("models/edit/squeeze_head.onnx");
    ck_assert_ok(nn_replace_input(sq, "x", 4, (int64_t[]){-1, -1, 4, 20}, NULL)); /* pooled: fine */
    ck_assert_nn(nn_replace_input(sq, "x", 4, (int64_t[]){2, -1, -1, -1}, NULL), NN_E_SHAPE);
    ck_assert_msg(strstr(nn_last_error(), "reshape") != NULL, "message: %s", nn_last_error());
    nn_model_free(sq);
    nn_tensor_free(before);
    nn_tensor_free(x);
    nn_model_free(m);
}
END_TEST

/* 3 -> 1: a gray image gives its replicated RGB version's output. */
START_TEST(test_replace_input_gray_equals_rgb)
{
    nn_model *rgb = load("models/edit/cnn_gap.onnx");
    nn_model *gray = load("models/edit/cnn_gap.onnx");
    ck_assert_ok(nn_replace_input(gray, "x", 4, (int64_t[]){-1, 1, -1, -1}, NULL));
    check_input_shape(gray, (int64_t[]){1, 1, 8, 8}, 4);
    nn_tensor *g = random_input(4, (int64_t[]){1, 1, 8, 8}, 21);
    nn_tensor *r = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 4, (int64_t[]){1, 3, 8, 8}, &r));
    for (int c = 0; c < 3; c++)
        memcpy((float *)nn_tensor_data(r) + c * 64, nn_tensor_data(g), 64 * sizeof(float));
    nn_tensor *a = run1(gray, g), *b = run1(rgb, r);
    ck_assert_float_le(max_diff(a, b), 1e-6f);
    ck_assert_str_eq(nn_model_metadata(gray, "nn.input.color"), "GRAY");
    ck_assert_float_eq_tol(strtod(nn_model_metadata(gray, "nn.input.mean"), NULL), (0.485 + 0.456 + 0.406) / 3, 1e-6);
    ck_assert(strchr(nn_model_metadata(gray, "nn.input.std"), ',') == NULL);
    ck_assert_str_eq(nn_model_metadata(gray, "nn.labels"), "a\nb\nc\nd\ne");
    nn_tensor *w = NULL;
    ck_assert_ok(nn_model_get_param(gray, "conv.w", &w));
    ck_assert_int_eq(nn_tensor_dim(w, 1), 1);
    nn_tensor_free(w);
    check_roundtrip(gray, test_tmp_path("gray.onnx"));
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(g);
    nn_tensor_free(r);
    nn_model_free(rgb);
    nn_model_free(gray);
}
END_TEST

/* 1 -> 3: the replicated gray image gives the gray model's output. */
START_TEST(test_replace_input_rgb_from_gray)
{
    nn_model *gray = load("models/edit/gray.onnx");
    nn_model *rgb = load("models/edit/gray.onnx");
    ck_assert_ok(nn_replace_input(rgb, "x", 4, (int64_t[]){-1, 3, 12, 12}, NULL));
    ck_assert_ok(nn_replace_input(gray, "x", 4, (int64_t[]){-1, -1, 12, 12}, NULL));
    nn_tensor *g = random_input(4, (int64_t[]){1, 1, 12, 12}, 22);
    nn_tensor *r = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 4, (int64_t[]){1, 3, 12, 12}, &r));
    for (int c = 0; c < 3; c++)
        memcpy((float *)nn_tensor_data(r) + c * 144, nn_tensor_data(g), 144 * sizeof(float));
    nn_tensor *a = run1(gray, g), *b = run1(rgb, r);
    ck_assert_float_le(max_diff(a, b), 1e-5f);
    ck_assert_str_eq(nn_model_metadata(rgb, "nn.input.color"), "RGB");
    ck_assert_str_eq(nn_model_metadata(rgb, "nn.input.mean"), "0.5,0.5,0.5");
    ck_assert_str_eq(nn_model_metadata(rgb, "nn.input.std"), "0.25,0.25,0.25");
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(g);
    nn_tensor_free(r);
    nn_model_free(rgb);
    nn_model_free(gray);
}
END_TEST

START_TEST(test_replace_input_errors)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    int64_t dims[4] = {-1, -1, 16, 16};
    ck_assert_nn(nn_replace_input(NULL, "x", 4, dims, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_input(m, NULL, 4, dims, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_input(m, "nope", 4, dims, NULL), NN_E_NOT_FOUND);
    ck_assert_nn(nn_replace_input(m, "x", 3, dims, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_input(m, "x", 4, (int64_t[]){-1, -1, 0, 16}, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_input(m, "x", 4, (int64_t[]){-1, 2, -1, -1}, NULL), NN_E_UNSUPPORTED); /* 3 -> 2 */
    nn_replace_input_options o;
    ck_assert_nn(nn_replace_input_options_init(&o, 99), NN_E_INVALID_ARG);
    ck_assert_ok(nn_replace_input_options_init(&o, NN_REPLACE_INPUT_OPTIONS_VERSION));
    ck_assert_int_eq(o.channel_axis, 1);
    o.version = 99;
    ck_assert_nn(nn_replace_input(m, "x", 4, dims, &o), NN_E_INVALID_ARG);
    check_input_shape(m, (int64_t[]){1, 3, 8, 8}, 4);
    nn_model_free(m);
    /* the input feeds a MatMul, not a Conv: no channel change */
    m = load("models/mlp.onnx");
    ck_assert_nn(nn_replace_input(m, "x", 2, (int64_t[]){-1, 1}, NULL), NN_E_UNSUPPORTED);
    ck_assert_msg(strstr(nn_last_error(), "MatMul") != NULL, "%s", nn_last_error());
    nn_model_free(m);
}
END_TEST

/* Every allocation failure leaves the model exactly as it was. */
START_TEST(test_replace_input_oom_is_atomic)
{
    nn_model *m = load("models/edit/cnn_chain.onnx");
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 9);
    nn_tensor *want = run1(m, x);
    int failures = 0;
    for (int64_t n = 0; n < 10000; n++) {
        nni_alloc_fail_after(n);
        nn_status st = nn_replace_input(m, "x", 4, (int64_t[]){-1, 1, 10, 10}, NULL);
        nni_alloc_fail_after(-1);
        if (st == NN_OK)
            break;
        failures++;
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld: %s", (long long)n, nn_last_error());
        check_input_shape(m, (int64_t[]){1, 3, 8, 8}, 4);
        ck_assert_ptr_null(nn_model_metadata(m, "nn.input.color"));
        nn_tensor *got = run1(m, x);
        ck_assert_float_eq(max_diff(got, want), 0.0f);
        nn_tensor_free(got);
    }
    ck_assert_int_gt(failures, 5);
    check_input_shape(m, (int64_t[]){1, 1, 10, 10}, 4);
    ck_assert_str_eq(nn_model_metadata(m, "nn.input.color"), "GRAY");
    nn_tensor_free(want);
    nn_tensor_free(x);
    nn_model_free(m);
}
END_TEST

/* ---- head replacement ---- */

START_TEST(test_replace_head_gemm)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    uint64_t before = nn_model_param_count(m);
    const char *labels[3] = {"cat", "dog", "fox"};
    ck_assert_ok(nn_replace_head(m, 3, labels, 3, 42));
    ck_assert_str_eq(nn_model_metadata(m, "nn.labels"), "cat\ndog\nfox");
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
    ck_assert_int_eq(d, 3);
    ck_assert_uint_eq(nn_model_param_count(m), before - 2 * 4 - 2);
    /* weights: Glorot-uniform within sqrt(6/(4+3)), bias zero, flagged new */
    nn_tensor *w = NULL, *b = NULL;
    ck_assert_ok(nn_model_get_param(m, "fc.w", &w));
    ck_assert_ok(nn_model_get_param(m, "fc.b", &b));
    ck_assert_int_eq(nn_tensor_dim(w, 0), 3);
    ck_assert_int_eq(nn_tensor_dim(w, 1), 4);
    float bound = sqrtf(6.0f / 7.0f), maxabs = 0;
    for (int k = 0; k < 12; k++) {
        float v = ((float *)nn_tensor_data(w))[k];
        ck_assert(fabsf(v) <= bound);
        maxabs = fmaxf(maxabs, fabsf(v));
    }
    ck_assert_float_gt(maxabs, 0.1f);
    for (int k = 0; k < 3; k++)
        ck_assert_float_eq(((float *)nn_tensor_data(b))[k], 0.0f);
    uint32_t flags;
    ck_assert_ok(nn_model_param_info(m, (uint32_t)param_index(m, "fc.w"), NULL, NULL, NULL, NULL, &flags));
    ck_assert_uint_eq(flags, NN_PARAM_TRAINABLE | NN_PARAM_NEW_HEAD);
    ck_assert_ok(nn_model_param_info(m, (uint32_t)param_index(m, "fc.b"), NULL, NULL, NULL, NULL, &flags));
    ck_assert_uint_eq(flags, NN_PARAM_TRAINABLE | NN_PARAM_NEW_HEAD);
    ck_assert_ok(nn_model_param_info(m, (uint32_t)param_index(m, "conv.w"), NULL, NULL, NULL, NULL, &flags));
    ck_assert_uint_eq(flags, NN_PARAM_TRAINABLE);
    /* determinism: the same seed gives the same head, another seed another */
    nn_model *m2 = load("models/edit/cnn_gap.onnx"), *m3 = load("models/edit/cnn_gap.onnx");
    ck_assert_ok(nn_replace_head(m2, 3, NULL, 0, 42));
    ck_assert_ok(nn_replace_head(m3, 3, NULL, 0, 43));
    ck_assert_ptr_null(nn_model_metadata(m2, "nn.labels"));
    nn_tensor *w2 = NULL, *w3 = NULL;
    ck_assert_ok(nn_model_get_param(m2, "fc.w", &w2));
    ck_assert_ok(nn_model_get_param(m3, "fc.w", &w3));
    ck_assert(memcmp(nn_tensor_data(w), nn_tensor_data(w2), 48) == 0);
    ck_assert(memcmp(nn_tensor_data(w), nn_tensor_data(w3), 48) != 0);
    /* it runs, and saves */
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 1);
    nn_tensor *y = run1(m, x);
    ck_assert_int_eq(nn_tensor_count(y), 3);
    check_roundtrip(m, test_tmp_path("head.onnx"));
    nn_tensor_free(y);
    nn_tensor_free(x);
    nn_tensor_free(w);
    nn_tensor_free(w2);
    nn_tensor_free(w3);
    nn_tensor_free(b);
    nn_model_free(m);
    nn_model_free(m2);
    nn_model_free(m3);
}
END_TEST

START_TEST(test_replace_head_matmul_add)
{
    nn_model *m = load("models/mlp.onnx");
    const char *labels[2] = {"yes", "no"};
    ck_assert_ok(nn_replace_head(m, 2, labels, 2, 1));
    nn_tensor *w = NULL, *b = NULL;
    ck_assert_ok(nn_model_get_param(m, "w", &w));
    ck_assert_ok(nn_model_get_param(m, "b", &b));
    ck_assert_int_eq(nn_tensor_dim(w, 0), 4);
    ck_assert_int_eq(nn_tensor_dim(w, 1), 2);
    ck_assert_int_eq(nn_tensor_count(b), 2);
    const char *sym;
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 0, &d, &sym));
    ck_assert_str_eq(sym, "N");
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, &sym));
    ck_assert_int_eq(d, 2);
    nn_tensor *x = random_input(2, (int64_t[]){5, 4}, 1);
    nn_tensor *y = run1(m, x);
    ck_assert_int_eq(nn_tensor_dim(y, 0), 5);
    ck_assert_int_eq(nn_tensor_dim(y, 1), 2);
    check_roundtrip(m, test_tmp_path("mlp.onnx"));
    nn_tensor_free(y);
    nn_tensor_free(x);
    nn_tensor_free(w);
    nn_tensor_free(b);
    nn_model_free(m);
}
END_TEST

START_TEST(test_replace_head_conv)
{
    nn_model *m = load("models/edit/squeeze_head.onnx");
    ck_assert_ok(nn_replace_head(m, 6, NULL, 0, 7));
    nn_tensor *w = NULL;
    ck_assert_ok(nn_model_get_param(m, "cls.w", &w));
    ck_assert_int_eq(nn_tensor_dim(w, 0), 6);
    ck_assert_int_eq(nn_tensor_dim(w, 1), 4);
    float bound = sqrtf(6.0f / (4 + 6));
    for (int k = 0; k < 24; k++)
        ck_assert(fabsf(((float *)nn_tensor_data(w))[k]) <= bound);
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
    ck_assert_int_eq(d, 6); /* the Reshape's literal [1,5] became [1,6] */
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 1);
    nn_tensor *y = run1(m, x);
    ck_assert_int_eq(nn_tensor_count(y), 6);
    check_roundtrip(m, test_tmp_path("sq.onnx"));
    /* head then input: both edits compose */
    ck_assert_ok(nn_replace_input(m, "x", 4, (int64_t[]){-1, 1, 20, 20}, NULL));
    check_roundtrip(m, test_tmp_path("sq2.onnx"));
    nn_tensor_free(y);
    nn_tensor_free(x);
    nn_tensor_free(w);
    nn_model_free(m);
}
END_TEST

START_TEST(test_replace_head_errors)
{
    nn_model *m = load("models/edit/cnn_gap.onnx");
    const char *two[2] = {"a", "b"}, *bad[2] = {"a", "b\nc"};
    ck_assert_nn(nn_replace_head(NULL, 2, NULL, 0, 1), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_head(m, 0, NULL, 0, 1), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_head(m, 3, two, 2, 1), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_head(m, 2, bad, 2, 1), NN_E_INVALID_ARG);
    ck_assert_nn(nn_replace_head(m, 2, NULL, 2, 1), NN_E_INVALID_ARG);
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
    ck_assert_int_eq(d, 5);
    ck_assert_str_eq(nn_model_metadata(m, "nn.labels"), "a\nb\nc\nd\ne");
    ck_assert_ok(nn_model_set_metadata(m, "nn.detect.family", "yolov3"));
    ck_assert_nn(nn_replace_head(m, 2, NULL, 0, 1), NN_E_UNSUPPORTED);
    ck_assert_msg(strstr(nn_last_error(), "detector") != NULL, "%s", nn_last_error());
    nn_model_free(m);
    m = load("models/identity.onnx");
    ck_assert_nn(nn_replace_head(m, 2, NULL, 0, 1), NN_E_UNSUPPORTED);
    ck_assert_msg(strstr(nn_last_error(), "no classifier") != NULL, "%s", nn_last_error());
    nn_model_free(m);
}
END_TEST

START_TEST(test_replace_head_oom_is_atomic)
{
    nn_model *m = load("models/edit/squeeze_head.onnx");
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 9);
    nn_tensor *want = run1(m, x);
    const char *labels[3] = {"x", "y", "z"};
    int failures = 0;
    for (int64_t n = 0; n < 10000; n++) {
        nni_alloc_fail_after(n);
        nn_status st = nn_replace_head(m, 3, labels, 3, 5);
        nni_alloc_fail_after(-1);
        if (st == NN_OK)
            break;
        failures++;
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld: %s", (long long)n, nn_last_error());
        nn_tensor *got = run1(m, x);
        ck_assert_float_eq(max_diff(got, want), 0.0f);
        nn_tensor_free(got);
        ck_assert_ptr_null(nn_model_metadata(m, "nn.labels"));
    }
    ck_assert_int_gt(failures, 3);
    ck_assert_str_eq(nn_model_metadata(m, "nn.labels"), "x\ny\nz");
    nn_tensor_free(want);
    nn_tensor_free(x);
    nn_model_free(m);
}
END_TEST


/* ---- builder ---- */

/* cnn_gap.onnx rebuilt node by node from its own weights. */
static nn_status build_cnn_gap(const nn_model *src, const int64_t *xdims, const char *const *dim_names, nn_model **out)
{
    nn_builder *b = NULL;
    nn_status st = nn_builder_create(13, &b);
    if (st != NN_OK)
        return st;
    static const char *const params[4] = {"conv.w", "conv.b", "fc.w", "fc.b"};
    if ((st = nn_builder_add_input(b, "x", NN_DTYPE_FLOAT32, 4, xdims, dim_names)) != NN_OK)
        goto done;
    for (int i = 0; i < 4; i++) {
        nn_tensor *t = NULL;
        if ((st = nn_model_get_param(src, params[i], &t)) != NN_OK)
            goto done;
        st = nn_builder_add_param(b, params[i], t);
        nn_tensor_free(t);
        if (st != NN_OK)
            goto done;
    }
    const char *conv_in[3] = {"x", "conv.w", "conv.b"}, *conv_attr[2] = {"kernel_shape=3,3", "pads:ints=1,1,1,1"};
    const char *gemm_in[3] = {"f", "fc.w", "fc.b"}, *one_axis[1] = {"axis=1"}, *transb[1] = {"transB=1"};
    if ((st = nn_builder_add_node(b, "Conv", "conv", 3, conv_in, 1, (const char *[]){"c"}, 2, conv_attr)) ||
        (st = nn_builder_add_node(b, "Relu", NULL, 1, (const char *[]){"c"}, 1, (const char *[]){"r"}, 0, NULL)) ||
        (st = nn_builder_add_node(b, "GlobalAveragePool", "pool", 1, (const char *[]){"r"}, 1, (const char *[]){"p"}, 0,
                                  NULL)) ||
        (st = nn_builder_add_node(b, "Flatten", "flatten", 1, (const char *[]){"p"}, 1, (const char *[]){"f"}, 1,
                                  one_axis)) ||
        (st = nn_builder_add_node(b, "Gemm", "fc", 3, gemm_in, 1, (const char *[]){"logits"}, 1, transb)) ||
        (st = nn_builder_add_node(b, "Softmax", "softmax", 1, (const char *[]){"logits"}, 1, (const char *[]){"y"}, 1,
                                  one_axis)) ||
        (st = nn_builder_add_output(b, "y")))
        goto done;
    st = nn_builder_finish(b, out);
done:
    nn_builder_free(b);
    return st;
}

START_TEST(test_builder_matches_loaded_model)
{
    nn_model *src = load("models/edit/cnn_gap.onnx");
    nn_model *m = NULL;
    ck_assert_ok(build_cnn_gap(src, (int64_t[]){1, 3, 8, 8}, NULL, &m));
    ck_assert_uint_eq(nn_model_layer_count(m), 6);
    ck_assert_uint_eq(nn_model_param_count(m), nn_model_param_count(src));
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
    ck_assert_int_eq(d, 5);
    nn_tensor *x = random_input(4, (int64_t[]){1, 3, 8, 8}, 4);
    nn_tensor *a = run1(src, x), *b = run1(m, x);
    ck_assert_float_eq(max_diff(a, b), 0.0f);
    ck_assert_ok(nn_model_set_metadata(m, "nn.labels", "a\nb\nc\nd\ne"));
    check_roundtrip(m, test_tmp_path("built.onnx"));
    /* the built model edits like a loaded one */
    ck_assert_ok(nn_replace_head(m, 2, NULL, 0, 3));
    ck_assert_ok(nn_replace_input(m, "x", 4, (int64_t[]){-1, 1, 12, 12}, NULL));
    check_roundtrip(m, test_tmp_path("built2.onnx"));
    nn_model_free(m);
    /* symbolic batch: the output gets its shape, dtype and symbol */
    ck_assert_ok(build_cnn_gap(src, (int64_t[]){-1, 3, 8, 8}, (const char *[]){"batch", NULL, NULL, NULL}, &m));
    nn_dtype dt;
    int32_t rank;
    const char *sym;
    ck_assert_ok(nn_model_output_info(m, 0, NULL, &dt, &rank));
    ck_assert_int_eq(dt, NN_DTYPE_FLOAT32);
    ck_assert_int_eq(rank, 2);
    ck_assert_ok(nn_model_output_dim(m, 0, 0, &d, &sym));
    ck_assert_int_eq(d, -1);
    ck_assert_str_eq(sym, "batch");
    ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, &sym));
    ck_assert_int_eq(d, 5);
    nn_tensor *x3 = random_input(4, (int64_t[]){3, 3, 8, 8}, 4);
    nn_tensor *c = run1(m, x3);
    ck_assert_int_eq(nn_tensor_dim(c, 0), 3);
    check_roundtrip(m, test_tmp_path("built3.onnx"));
    nn_tensor_free(c);
    nn_tensor_free(x3);
    nn_tensor_free(a);
    nn_tensor_free(b);
    nn_tensor_free(x);
    nn_model_free(m);
    nn_model_free(src);
}
END_TEST

START_TEST(test_builder_errors)
{
    nn_builder *b = NULL;
    nn_model *m = (nn_model *)1;
    ck_assert_nn(nn_builder_create(0, &b), NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_create(22, &b), NN_E_INVALID_ARG);
    ck_assert_ok(nn_builder_create(13, &b));
    ck_assert_ok(nn_builder_add_input(b, "x", NN_DTYPE_FLOAT32, 2, (int64_t[]){1, 4}, NULL));
    ck_assert_nn(nn_builder_add_input(b, "x", NN_DTYPE_FLOAT32, 2, (int64_t[]){1, 4}, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_add_input(b, "z", NN_DTYPE_FLOAT32, 2, (int64_t[]){1, -2}, NULL), NN_E_INVALID_ARG);
    nn_tensor *w = random_input(2, (int64_t[]){4, 3}, 1);
    ck_assert_ok(nn_builder_add_param(b, "w", w));
    ck_assert_nn(nn_builder_add_param(b, "x", w), NN_E_INVALID_ARG);
    const char *in[2] = {"x", "w"}, *out[1] = {"h"};
    ck_assert_nn(nn_builder_add_node(b, "NoSuchOp", NULL, 2, in, 1, out, 0, NULL), NN_E_UNSUPPORTED);
    ck_assert_nn(nn_builder_add_node(b, "MatMul", NULL, 2, (const char *[]){"x", "nope"}, 1, out, 0, NULL),
                 NN_E_NOT_FOUND);
    ck_assert_nn(nn_builder_add_node(b, "MatMul", NULL, 2, in, 1, (const char *[]){"w"}, 0, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_add_node(b, "Softmax", NULL, 1, in, 1, out, 1, (const char *[]){"axis:ints=a"}),
                 NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_add_node(b, "Softmax", NULL, 1, in, 1, out, 1, (const char *[]){"=3"}), NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_add_node(b, "Softmax", NULL, 1, in, 1, out, 2, (const char *[]){"axis=1", "axis=0"}),
                 NN_E_INVALID_ARG);
    ck_assert_nn(nn_builder_add_output(b, "h"), NN_E_NOT_FOUND); /* nothing added "h" */
    ck_assert_ok(nn_builder_add_node(b, "MatMul", "fc", 2, in, 1, out, 0, NULL));
    ck_assert_ok(nn_builder_add_node(b, "LeakyRelu", "act", 1, out, 1, (const char *[]){"y"}, 1,
                                     (const char *[]){"alpha:f=2"}));
    ck_assert_ok(nn_builder_add_output(b, "y"));
    ck_assert_nn(nn_builder_add_output(b, "y"), NN_E_INVALID_ARG);
    ck_assert_ok(nn_builder_finish(b, &m));
    ck_assert_nn(nn_builder_add_output(b, "h"), NN_E_STATE);
    nn_model *again = (nn_model *)1;
    ck_assert_nn(nn_builder_finish(b, &again), NN_E_STATE);
    ck_assert_ptr_null(again);
    nn_builder_free(b);
    /* the float attribute stays a float through a save */
    ck_assert_ok(nn_model_save(m, test_tmp_path("leaky.onnx")));
    nn_model_free(m);
    /* an attribute the op refuses fails finish, naming the node */
    ck_assert_ok(nn_builder_create(13, &b));
    ck_assert_ok(nn_builder_add_input(b, "x", NN_DTYPE_FLOAT32, 2, (int64_t[]){1, 4}, NULL));
    ck_assert_ok(nn_builder_add_node(b, "Gemm", "g", 2, (const char *[]){"x", "x"}, 1, out, 1,
                                     (const char *[]){"transA=7"}));
    ck_assert_ok(nn_builder_add_output(b, "h"));
    ck_assert_nn(nn_builder_finish(b, &m), NN_E_INVALID_MODEL);
    ck_assert_msg(strstr(nn_last_error(), "'g'") && strstr(nn_last_error(), "transA"), "%s", nn_last_error());
    ck_assert_ptr_null(m);
    nn_builder_free(b);
    /* no outputs */
    ck_assert_ok(nn_builder_create(13, &b));
    ck_assert_nn(nn_builder_finish(b, &m), NN_E_INVALID_MODEL);
    nn_builder_free(b);
    /* a built model has a loaded one's default limits: a 2^32-element value is refused, not allocated */
    ck_assert_ok(nn_builder_create(13, &b));
    nn_tensor *shape = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_INT64, 1, (int64_t[]){2}, &shape));
    ((int64_t *)nn_tensor_data(shape))[0] = 65536;
    ((int64_t *)nn_tensor_data(shape))[1] = 65536;
    ck_assert_ok(nn_builder_add_param(b, "shape", shape));
    ck_assert_ok(nn_builder_add_node(b, "ConstantOfShape", "big", 1, (const char *[]){"shape"}, 1, out, 0, NULL));
    ck_assert_ok(nn_builder_add_output(b, "h"));
    nn_status st = nn_builder_finish(b, &m);
    nn_session *s = NULL;
    if (st == NN_OK && (st = nn_session_create(m, NULL, &s)) == NN_OK)
        st = nn_session_run(s, 0, NULL, NULL);
    ck_assert_msg(st == NN_E_LIMIT && strstr(nn_last_error(), "max_tensor_elements"), "%d: %s", (int)st,
                  nn_last_error());
    nn_session_free(s);
    nn_model_free(m);
    nn_builder_free(b);
    nn_tensor_free(shape);
    nn_builder_free(NULL);
    nn_tensor_free(w);
}
END_TEST

START_TEST(test_builder_oom)
{
    nn_model *src = load("models/edit/cnn_gap.onnx");
    int failures = 0;
    for (int64_t n = 0; n < 10000; n++) {
        nn_model *m = NULL;
        nni_alloc_fail_after(n);
        nn_status st = build_cnn_gap(src, (int64_t[]){-1, 3, 8, 8}, NULL, &m);
        nni_alloc_fail_after(-1);
        if (st == NN_OK) {
            nn_model_free(m);
            break;
        }
        failures++;
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld: %s", (long long)n, nn_last_error());
        ck_assert_ptr_null(m);
    }
    ck_assert_int_gt(failures, 20);
    nn_model_free(src);
}
END_TEST

static void setup(void) { test_tmpdir_make("nn_check_edit"); }

static Suite *suite(void)
{
    Suite *s = suite_create("edit");
    TCase *save = tcase_create("save");
    tcase_add_checked_fixture(save, setup, test_tmpdir_remove);
    tcase_add_test(save, test_save_roundtrip);
    tcase_add_test(save, test_save_keeps_symbols_and_metadata);
    tcase_add_test(save, test_save_bad_args);
    tcase_add_test(save, test_save_atomic_full_disk);
    tcase_add_test(save, test_save_atomic_oom);
    suite_add_tcase(s, save);
    TCase *params = tcase_create("params");
    tcase_add_checked_fixture(params, setup, test_tmpdir_remove);
    tcase_add_test(params, test_params_list_get_set);
    tcase_add_test(params, test_params_exclude_shape_constants);
    suite_add_tcase(s, params);
    TCase *input = tcase_create("replace_input");
    tcase_add_checked_fixture(input, setup, test_tmpdir_remove);
    tcase_add_test(input, test_replace_input_size);
    tcase_add_test(input, test_replace_input_refolds_shape_chain);
    tcase_add_test(input, test_replace_input_fixed_width_fails);
    tcase_add_test(input, test_replace_input_gray_equals_rgb);
    tcase_add_test(input, test_replace_input_rgb_from_gray);
    tcase_add_test(input, test_replace_input_errors);
    tcase_add_test(input, test_replace_input_oom_is_atomic);
    suite_add_tcase(s, input);
    TCase *head = tcase_create("replace_head");
    tcase_add_checked_fixture(head, setup, test_tmpdir_remove);
    tcase_add_test(head, test_replace_head_gemm);
    tcase_add_test(head, test_replace_head_matmul_add);
    tcase_add_test(head, test_replace_head_conv);
    tcase_add_test(head, test_replace_head_errors);
    tcase_add_test(head, test_replace_head_oom_is_atomic);
    suite_add_tcase(s, head);
    TCase *build = tcase_create("builder");
    tcase_add_checked_fixture(build, setup, test_tmpdir_remove);
    tcase_add_test(build, test_builder_matches_loaded_model);
    tcase_add_test(build, test_builder_errors);
    tcase_add_test(build, test_builder_oom);
    suite_add_tcase(s, build);
    return s;
}

int main(void) { return test_run_suite(suite()); }
