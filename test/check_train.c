/*
 * check_train.c — training: one nn_train_step against PyTorch 1.13 (cases
 * written by tools/testdata/make_train_cases.py), freezing (no gradient
 * buffers for a frozen prefix, frozen parameters bit-identical, learn-rate
 * factors), determinism, the frozen-prefix cache, cloning, errors and OOM.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/model.h"
#include "test_util.h"

/* ---- helpers ---- */

static nn_model *load(const char *rel)
{
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path(rel), NULL, &m));
    return m;
}

static nn_tensor *read_pb(const char *dir, const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "%s/%s", dir, name);
    nn_tensor *t = NULL;
    ck_assert_ok(nn_tensor_read_file(test_data_path(rel), &t));
    return t;
}

static nn_tensor *param(nn_model *m, const char *name)
{
    int32_t v = nni_graph_find_value(&m->graph, name);
    ck_assert_msg(v >= 0 && m->graph.values[v].constant, "no parameter %s", name);
    return m->graph.values[v].constant;
}

/* max |a-b| / (|b| + 1e-3) and whether every element is within rtol*|b| + atol */
static double compare(const float *a, const float *b, int64_t n, double rtol, double atol, bool *ok)
{
    double worst = 0.0;
    *ok = true;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > rtol * fabs((double)b[i]) + atol)
            *ok = false;
        double r = d / (fabs((double)b[i]) + 1e-3);
        if (r > worst)
            worst = r;
    }
    return worst;
}

typedef struct {
    int steps;
    nn_trainer_options o;
    float weights[64];
    uint32_t n_weights;
} case_config;

static void read_config(nn_model *m, const char *dir, case_config *c)
{
    char rel[512], line[1024];
    snprintf(rel, sizeof rel, "%s/config.txt", dir);
    FILE *f = fopen(test_data_path(rel), "r");
    ck_assert_ptr_nonnull(f);
    memset(c, 0, sizeof *c);
    ck_assert_ok(nn_trainer_options_init(&c->o, NN_TRAINER_OPTIONS_VERSION));
    c->o.momentum = 0.0f; /* torch's default */
    c->o.num_threads = 2;
    while (fgets(line, sizeof line, f)) {
        char key[64], val[512], extra[64];
        int n = sscanf(line, "%63s %511s %63s", key, val, extra);
        if (n < 2)
            continue;
        if (!strcmp(key, "steps"))
            c->steps = atoi(val);
        else if (!strcmp(key, "optimizer"))
            c->o.optimizer = !strcmp(val, "sgd") ? NN_OPTIMIZER_SGD : !strcmp(val, "adam") ? NN_OPTIMIZER_ADAM
                                                                                           : NN_OPTIMIZER_ADAMW;
        else if (!strcmp(key, "lr"))
            c->o.learning_rate = strtof(val, NULL);
        else if (!strcmp(key, "momentum"))
            c->o.momentum = strtof(val, NULL);
        else if (!strcmp(key, "nesterov"))
            c->o.nesterov = atoi(val);
        else if (!strcmp(key, "weight_decay"))
            c->o.weight_decay = strtof(val, NULL);
        else if (!strcmp(key, "beta1"))
            c->o.beta1 = strtof(val, NULL);
        else if (!strcmp(key, "beta2"))
            c->o.beta2 = strtof(val, NULL);
        else if (!strcmp(key, "epsilon"))
            c->o.epsilon = strtof(val, NULL);
        else if (!strcmp(key, "schedule"))
            c->o.lr_schedule = !strcmp(val, "step") ? NN_LR_STEP : !strcmp(val, "cosine") ? NN_LR_COSINE : NN_LR_CONSTANT;
        else if (!strcmp(key, "step_size"))
            c->o.lr_step_size = (uint32_t)atoi(val);
        else if (!strcmp(key, "gamma"))
            c->o.lr_gamma = strtof(val, NULL);
        else if (!strcmp(key, "total_steps"))
            c->o.lr_total_steps = (uint32_t)atoi(val);
        else if (!strcmp(key, "lr_min"))
            c->o.lr_min = strtof(val, NULL);
        else if (!strcmp(key, "clip_norm"))
            c->o.clip_norm = strtof(val, NULL);
        else if (!strcmp(key, "label_smoothing"))
            c->o.label_smoothing = strtof(val, NULL);
        else if (!strcmp(key, "batchnorm"))
            c->o.batchnorm = !strcmp(val, "train") ? NN_BN_TRAIN : NN_BN_FROZEN;
        else if (!strcmp(key, "class_weights")) {
            char *s = val;
            while (*s && c->n_weights < 64) {
                c->weights[c->n_weights++] = strtof(s, &s);
                if (*s == ',')
                    s++;
            }
        } else if (!strcmp(key, "lr_factor") && n == 3)
            ck_assert_ok(nn_set_learn_rate_factor(m, val, strtof(extra, NULL)));
        else
            ck_abort_msg("%s: unknown config key %s", dir, key);
    }
    fclose(f);
}

/* Run a case; returns the worst relative error of losses and parameters. */
static void run_parity_case(const char *name)
{
    char dir[256], rel[512];
    snprintf(dir, sizeof dir, "train/%s", name);
    snprintf(rel, sizeof rel, "%s/model.onnx", dir);
    nn_model *m = load(rel);
    case_config c;
    read_config(m, dir, &c);
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, &c.o, &t));
    if (c.n_weights)
        ck_assert_ok(nn_trainer_set_class_weights(t, c.weights, c.n_weights));
    snprintf(rel, sizeof rel, "%s/loss.txt", dir);
    FILE *lf = fopen(test_data_path(rel), "r");
    ck_assert_ptr_nonnull(lf);
    double worst_loss = 0.0, worst_param = 0.0;
    for (int k = 0; k < c.steps; k++) {
        char in_name[64], lab_name[64];
        snprintf(in_name, sizeof in_name, "input_%d.pb", k);
        snprintf(lab_name, sizeof lab_name, "labels_%d.pb", k);
        nn_tensor *x = read_pb(dir, in_name), *y = read_pb(dir, lab_name);
        float loss = 0.0f;
        ck_assert_ok(nn_train_step(m, t, x, y, &loss));
        double want;
        ck_assert_int_eq(fscanf(lf, "%lf", &want), 1);
        double rel_err = fabs(loss - want) / fabs(want);
        if (rel_err > worst_loss)
            worst_loss = rel_err;
        ck_assert_msg(rel_err <= 1e-4, "%s step %d: loss %.9g, PyTorch %.9g", name, k, (double)loss, want);
        nn_tensor_free(x);
        nn_tensor_free(y);
    }
    fclose(lf);
    /* every parameter and running statistic after the last step */
    int checked = 0;
    for (int32_t v = 0; v < m->graph.n_values; v++) {
        const nni_value *val = &m->graph.values[v];
        if (!val->constant || val->constant->dtype != NN_DTYPE_FLOAT32)
            continue;
        snprintf(rel, sizeof rel, "%s/expected/%s.pb", dir, val->name);
        FILE *probe = fopen(test_data_path(rel), "rb");
        if (!probe)
            continue;
        fclose(probe);
        nn_tensor *want = NULL;
        ck_assert_ok(nn_tensor_read_file(test_data_path(rel), &want));
        ck_assert_int_eq(nn_tensor_count(want), nni_tensor_count(val->constant));
        bool ok;
        double r = compare(val->constant->data, nn_tensor_data(want), nn_tensor_count(want), 1e-4, 1e-6, &ok);
        ck_assert_msg(ok, "%s: parameter %s differs from PyTorch (worst relative %.3g)", name, val->name, r);
        if (r > worst_param)
            worst_param = r;
        nn_tensor_free(want);
        checked++;
    }
    ck_assert_int_gt(checked, 0);
    printf("parity %-28s steps %d  loss rel err %.2e  params (%d) rel err %.2e\n", name, c.steps, worst_loss, checked,
           worst_param);
    nn_trainer_free(t);
    nn_model_free(m);
}

static const char *const parity_cases[] = {
    "mlp_sgd", "mlp_adam", "mlp_adamw_cosine", "mlp_nesterov_weighted", "mlp_clip", "matmul_flatten_reshape",
    "residual_sub_mul", "softmax_head", "freeze_factor", "conv_bn_frozen", "conv_bn_train", "conv_bn_frozen_prefix",
    "grouped_concat_pool", "resnet_block_bn_train", "shape_chain_reshape",
};

START_TEST(test_parity)
{
    run_parity_case(parity_cases[_i]);
}
END_TEST

/* ---- freezing ---- */

static nn_tensor *batch_x(int64_t n, int64_t d, float seed)
{
    int64_t dims[2] = {n, d};
    nn_tensor *x = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 2, dims, &x));
    float *p = nn_tensor_data(x);
    for (int64_t i = 0; i < n * d; i++)
        p[i] = sinf(seed + 0.37f * (float)i);
    return x;
}

static nn_tensor *batch_y(int64_t n, int64_t classes)
{
    nn_tensor *y = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_INT64, 1, &n, &y));
    int64_t *p = nn_tensor_data(y);
    for (int64_t i = 0; i < n; i++)
        p[i] = (i * 3 + 1) % classes;
    return y;
}

static void stats_of(nn_trainer *t, nn_trainer_stats *s)
{
    s->version = NN_TRAINER_STATS_VERSION;
    ck_assert_ok(nn_trainer_get_stats(t, s));
}

START_TEST(test_frozen_prefix_has_no_gradients)
{
    nn_model *m = load("train/mlp_sgd/model.onnx");
    nn_tensor *x = batch_x(4, 8, 0.0f), *y = batch_y(4, 5);
    nn_trainer *t = NULL;
    nn_trainer_stats s;
    /* everything trainable: Gemm, Relu, Gemm run backward; gradients of 4 parameters + 3 activations */
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    stats_of(t, &s);
    ck_assert_uint_eq(s.backward_layers, 3);
    ck_assert_uint_eq(s.gradient_buffers, 7);
    ck_assert_uint_eq(s.backward_calls, 3);
    ck_assert_uint_eq(s.trainable_params, 4);
    const uint64_t full_bytes = s.gradient_bytes;
    nn_trainer_free(t);
    /* first layer frozen: only the head's backward, gradients of its 2 parameters and the logits */
    ck_assert_ok(nn_freeze(m, NN_SELECT_FIRST, NULL, 1));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 16 * 5 + 5);
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    stats_of(t, &s);
    ck_assert_uint_eq(s.backward_layers, 1);
    ck_assert_uint_eq(s.gradient_buffers, 3);
    ck_assert_uint_eq(s.backward_calls, 2);
    ck_assert_uint_eq(s.gradient_bytes, (16 * 5 + 5 + 4 * 5) * sizeof(float));
    ck_assert_uint_lt(s.gradient_bytes, full_bytes);
    /* freezing changes between steps are picked up */
    ck_assert_ok(nn_unfreeze(m, NN_SELECT_ALL, NULL, 0));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    stats_of(t, &s);
    ck_assert_uint_eq(s.backward_layers, 3);
    ck_assert_uint_eq(s.backward_calls, 5);
    nn_trainer_free(t);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

START_TEST(test_frozen_params_unchanged)
{
    nn_model *m = load("train/residual_sub_mul/model.onnx");
    ck_assert_ok(nn_freeze(m, NN_SELECT_LAYER, "/fc1/Gemm", 0));
    ck_assert_ok(nn_set_learn_rate_factor(m, "scale", 0.0f));
    nn_tensor *w0 = NULL, *b0 = NULL, *s0 = NULL, *h0 = NULL;
    ck_assert_ok(nni_tensor_clone(param(m, "fc1.weight"), &w0));
    ck_assert_ok(nni_tensor_clone(param(m, "fc1.bias"), &b0));
    ck_assert_ok(nni_tensor_clone(param(m, "scale"), &s0));
    ck_assert_ok(nni_tensor_clone(param(m, "fc2.weight"), &h0));
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.optimizer = NN_OPTIMIZER_ADAMW;
    o.weight_decay = 0.1f; /* decay must not touch frozen parameters either */
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, &o, &t));
    nn_tensor *x = batch_x(5, 10, 1.0f), *y = batch_y(5, 6);
    for (int i = 0; i < 3; i++)
        ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    ck_assert_mem_eq(nn_tensor_data(param(m, "fc1.weight")), nn_tensor_data(w0), nn_tensor_nbytes(w0));
    ck_assert_mem_eq(nn_tensor_data(param(m, "fc1.bias")), nn_tensor_data(b0), nn_tensor_nbytes(b0));
    ck_assert_mem_eq(nn_tensor_data(param(m, "scale")), nn_tensor_data(s0), nn_tensor_nbytes(s0));
    ck_assert_int_ne(memcmp(nn_tensor_data(param(m, "fc2.weight")), nn_tensor_data(h0), nn_tensor_nbytes(h0)), 0);
    float f = -1.0f;
    ck_assert_ok(nn_get_learn_rate_factor(m, "scale", &f));
    ck_assert_float_eq(f, 0.0f);
    nn_trainer_free(t);
    nn_tensor_free(w0);
    nn_tensor_free(b0);
    nn_tensor_free(s0);
    nn_tensor_free(h0);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

START_TEST(test_lr_factor_halves_sgd_step)
{
    nn_model *a = load("train/mlp_sgd/model.onnx"), *b = NULL;
    ck_assert_ok(nn_model_clone(a, &b));
    ck_assert_ok(nn_set_layer_learn_rate_factors(b, "/fc2/Gemm", 0.5f, 0.5f));
    nn_tensor *w0 = NULL;
    ck_assert_ok(nni_tensor_clone(param(a, "fc2.weight"), &w0));
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.momentum = 0.0f;
    o.learning_rate = 0.1f;
    nn_trainer *ta = NULL, *tb = NULL;
    ck_assert_ok(nn_trainer_create(a, &o, &ta));
    ck_assert_ok(nn_trainer_create(b, &o, &tb));
    nn_tensor *x = batch_x(6, 8, 2.0f), *y = batch_y(6, 5);
    ck_assert_ok(nn_train_step(a, ta, x, y, NULL));
    ck_assert_ok(nn_train_step(b, tb, x, y, NULL));
    const float *pa = nn_tensor_data(param(a, "fc2.weight")), *pb = nn_tensor_data(param(b, "fc2.weight"));
    const float *p0 = nn_tensor_data(w0);
    int moved = 0;
    for (int64_t i = 0; i < nn_tensor_count(w0); i++) {
        float da = pa[i] - p0[i], db = pb[i] - p0[i];
        ck_assert_msg(fabsf(db - 0.5f * da) <= 1e-6f + 1e-3f * fabsf(da), "element %lld: %g vs %g", (long long)i,
                      (double)db, (double)da);
        moved += da != 0.0f;
    }
    ck_assert_int_gt(moved, 0);
    /* fc1 is trained at the full rate in both */
    ck_assert_mem_eq(nn_tensor_data(param(a, "fc1.weight")), nn_tensor_data(param(b, "fc1.weight")),
                     nn_tensor_nbytes(param(a, "fc1.weight")));
    nn_trainer_free(ta);
    nn_trainer_free(tb);
    nn_tensor_free(w0);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

START_TEST(test_freeze_selection)
{
    nn_model *m = load("train/residual_sub_mul/model.onnx");
    const uint64_t all = nn_model_param_count(m);
    ck_assert_uint_eq(nn_model_trainable_param_count(m), all);
    ck_assert_ok(nn_freeze(m, NN_SELECT_ALL, NULL, 0));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 0);
    ck_assert_ok(nn_unfreeze(m, NN_SELECT_PATTERN, "/fc*", 0));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 10 * 10 + 10 + 10 * 6 + 6);
    ck_assert_ok(nn_freeze(m, NN_SELECT_FIRST, NULL, 100));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 0);
    ck_assert_ok(nn_unfreeze(m, NN_SELECT_FIRST, NULL, 2)); /* fc1 Gemm, then the Mul by scale */
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 10 * 10 + 10 + 10);
    ck_assert_nn(nn_freeze(m, NN_SELECT_LAYER, "nope", 0), NN_E_NOT_FOUND);
    ck_assert_nn(nn_freeze(m, NN_SELECT_PATTERN, "zz*", 0), NN_E_NOT_FOUND);
    ck_assert_nn(nn_freeze(m, 42, NULL, 0), NN_E_INVALID_ARG);
    ck_assert_nn(nn_freeze(m, NN_SELECT_LAYER, NULL, 0), NN_E_INVALID_ARG);
    ck_assert_nn(nn_set_learn_rate_factor(m, "nope", 1.0f), NN_E_NOT_FOUND);
    ck_assert_nn(nn_set_learn_rate_factor(m, "scale", -1.0f), NN_E_INVALID_ARG);
    ck_assert_nn(nn_set_learn_rate_factor(m, "scale", NAN), NN_E_INVALID_ARG);
    ck_assert_nn(nn_set_layer_learn_rate_factors(m, "/Relu", 1.0f, 1.0f), NN_E_NOT_FOUND);
    ck_assert_nn(nn_freeze(NULL, NN_SELECT_ALL, NULL, 0), NN_E_INVALID_ARG);
    /* everything frozen: a step has nothing to train */
    ck_assert_ok(nn_freeze(m, NN_SELECT_ALL, NULL, 0));
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    nn_tensor *x = batch_x(2, 10, 0.0f), *y = batch_y(2, 6);
    ck_assert_nn(nn_train_step(m, t, x, y, NULL), NN_E_STATE);
    nn_trainer_free(t);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

START_TEST(test_new_head_stays_trainable)
{
    nn_model *m = load("train/mlp_sgd/model.onnx");
    const char *labels[3] = {"a", "b", "c"};
    /* freeze, then a new head: the head trains, nothing else */
    ck_assert_ok(nn_freeze(m, NN_SELECT_ALL, NULL, 0));
    ck_assert_ok(nn_replace_head(m, 3, labels, 3, 5));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 16 * 3 + 3);
    /* a full freeze after it leaves the new head trainable too */
    ck_assert_ok(nn_unfreeze(m, NN_SELECT_ALL, NULL, 0));
    ck_assert_ok(nn_freeze(m, NN_SELECT_ALL, NULL, 0));
    ck_assert_uint_eq(nn_model_trainable_param_count(m), 16 * 3 + 3);
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    nn_tensor *x = batch_x(4, 8, 0.0f), *y = batch_y(4, 3);
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    nn_trainer_stats s;
    stats_of(t, &s);
    ck_assert_uint_eq(s.backward_layers, 1);
    ck_assert_uint_eq(s.trainable_params, 2);
    nn_trainer_free(t);
    /* a trainer refuses a model whose head was replaced after its creation */
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    ck_assert_ok(nn_replace_head(m, 4, NULL, 0, 6));
    ck_assert_nn(nn_train_step(m, t, x, y, NULL), NN_E_STATE);
    nn_trainer_free(t);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

/* ---- determinism, cache, clone ---- */

static void train_n(nn_model *m, const nn_trainer_options *o, int steps, bool cached)
{
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, o, &t));
    for (int s = 0; s < steps; s++) {
        int64_t which = s % 3;
        nn_tensor *x = batch_x(4, 10, (float)which), *y = batch_y(4, 6);
        uint64_t ids[4];
        for (int i = 0; i < 4; i++)
            ids[i] = (uint64_t)(which * 4 + i);
        float loss;
        if (cached)
            ck_assert_ok(nn_train_step_cached(m, t, x, ids, y, &loss));
        else
            ck_assert_ok(nn_train_step(m, t, x, y, &loss));
        ck_assert(isfinite(loss));
        float acc = nn_trainer_accuracy(t);
        ck_assert(acc >= 0.0f && acc <= 1.0f);
        nn_tensor_free(x);
        nn_tensor_free(y);
    }
    if (cached) {
        nn_trainer_stats s;
        stats_of(t, &s);
        ck_assert_uint_eq(s.cache_misses, 3);
        ck_assert_uint_eq(s.cache_hits, (uint64_t)steps - 3);
        ck_assert_uint_gt(s.prefix_layers, 0);
        ck_assert_uint_gt(s.cache_memory_bytes, 0);
    }
    ck_assert_uint_eq(nn_trainer_step_count(t), (uint64_t)steps);
    nn_trainer_free(t);
}

static void assert_same_params(nn_model *a, nn_model *b)
{
    for (int32_t v = 0; v < a->graph.n_values; v++) {
        const nni_value *va = &a->graph.values[v], *vb = &b->graph.values[v];
        if (!va->constant)
            continue;
        ck_assert_ptr_nonnull(vb->constant);
        ck_assert_mem_eq(va->constant->data, vb->constant->data, va->constant->nbytes);
    }
}

START_TEST(test_seeded_runs_are_identical)
{
    nn_model *a = load("train/residual_sub_mul/model.onnx"), *b = NULL;
    ck_assert_ok(nn_model_clone(a, &b));
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.seed = 99;
    o.optimizer = NN_OPTIMIZER_ADAM;
    o.learning_rate = 0.01f;
    o.num_threads = 2;
    train_n(a, &o, 5, false);
    train_n(b, &o, 5, false);
    assert_same_params(a, b);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

START_TEST(test_cache_matches_uncached)
{
    nn_model *a = load("train/residual_sub_mul/model.onnx"), *b = NULL;
    /* fc1, scale and shift frozen: the prefix is everything up to the last Add */
    ck_assert_ok(nn_freeze(a, NN_SELECT_ALL, NULL, 0));
    ck_assert_ok(nn_unfreeze(a, NN_SELECT_LAYER, "/fc2/Gemm", 0));
    ck_assert_ok(nn_model_clone(a, &b));
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    train_n(a, &o, 9, false);
    train_n(b, &o, 9, true);
    assert_same_params(a, b);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

START_TEST(test_cache_spills_to_disk)
{
    nn_model *a = load("train/residual_sub_mul/model.onnx"), *b = NULL;
    ck_assert_ok(nn_freeze(a, NN_SELECT_FIRST, NULL, 3));
    ck_assert_ok(nn_model_clone(a, &b));
    char path[] = "/tmp/nn_train_cache_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    train_n(a, &o, 7, false);
    o.cache_max_bytes = 5 * 10 * sizeof(float); /* 5 samples in memory, the rest in the file */
    o.cache_path = path;
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(b, &o, &t));
    for (int s = 0; s < 7; s++) {
        int64_t which = s % 3;
        nn_tensor *x = batch_x(4, 10, (float)which), *y = batch_y(4, 6);
        uint64_t ids[4] = {(uint64_t)which * 4, (uint64_t)which * 4 + 1, (uint64_t)which * 4 + 2, (uint64_t)which * 4 + 3};
        ck_assert_ok(nn_train_step_cached(b, t, x, ids, y, NULL));
        nn_tensor_free(x);
        nn_tensor_free(y);
    }
    nn_trainer_stats s;
    stats_of(t, &s);
    ck_assert_uint_eq(s.cache_hits, 4);
    ck_assert_ok(nn_trainer_clear_cache(t));
    nn_trainer_stats cleared;
    stats_of(t, &cleared);
    ck_assert_uint_eq(cleared.cache_memory_bytes + cleared.cache_disk_bytes, 0);
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_uint_eq(s.cache_memory_bytes, 5 * 10 * sizeof(float));
    ck_assert_uint_eq(s.cache_disk_bytes, 7 * 10 * sizeof(float));
    nn_trainer_free(t);
    ck_assert_int_ne(access(path, F_OK), 0); /* removed */
    assert_same_params(a, b);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

typedef struct {
    nn_model *m;
    const float *want;
    int64_t n;
    int failures;
} infer_job;

static void *infer_loop(void *arg)
{
    infer_job *j = arg;
    nn_session *s = NULL;
    if (nn_session_create(j->m, NULL, &s) != NN_OK)
        return (void *)1;
    nn_tensor *x = batch_x(3, 10, 5.0f);
    for (int i = 0; i < 200; i++) {
        if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x) != NN_OK ||
            memcmp(nn_tensor_data_const(nn_session_output(s, 0)), j->want, (size_t)j->n * sizeof(float)) != 0)
            j->failures++;
    }
    nn_tensor_free(x);
    nn_session_free(s);
    return NULL;
}

/*
 * A session created before training sees what training changed, though the
 * fused BatchNormalization's per-channel scale and shift are kept in the
 * model's memo: after steps that update its parameters and running
 * statistics (batchnorm train), after a step with it frozen (its statistics
 * then stay too), and after nn_model_set_param. Reference: a clone (a new
 * memo) of the model.
 */
static void expect_same_as_clone(nn_model *m, nn_session *s, const nn_tensor *x, const char *when)
{
    nn_model *copy = NULL;
    nn_session *cs = NULL;
    ck_assert_ok(nn_model_clone(m, &copy));
    ck_assert_ok(nn_session_create(copy, NULL, &cs));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    ck_assert_ok(nn_session_run(cs, 1, NULL, (const nn_tensor *const *)&x));
    const nn_tensor *a = nn_session_output(s, 0), *b = nn_session_output(cs, 0);
    ck_assert_int_eq(nni_tensor_count(a), nni_tensor_count(b));
    const float *pa = nn_tensor_data_const(a), *pb = nn_tensor_data_const(b);
    for (int64_t i = 0; i < nni_tensor_count(a); i++)
        ck_assert_msg(pa[i] == pb[i], "%s: output %lld is %g, a new model gives %g", when, (long long)i, (double)pa[i],
                      (double)pb[i]);
    nn_session_free(cs);
    nn_model_free(copy);
}

START_TEST(test_inference_follows_training)
{
    nn_model *m = load("train/conv_bn_train/model.onnx");
    nn_tensor *x = read_pb("train/conv_bn_train", "input_0.pb"), *y = read_pb("train/conv_bn_train", "labels_0.pb");
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    float before[64];
    const nn_tensor *out = nn_session_output(s, 0);
    ck_assert_int_le(nni_tensor_count(out), 64);
    memcpy(before, nn_tensor_data_const(out), (size_t)nni_tensor_count(out) * sizeof(float));

    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.batchnorm = NN_BN_TRAIN;
    o.learning_rate = 0.05f;
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, &o, &t));
    for (int k = 0; k < 2; k++)
        ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    ck_assert_int_ne(memcmp(nn_tensor_data_const(nn_session_output(s, 0)), before,
                            (size_t)nni_tensor_count(out) * sizeof(float)), 0);
    expect_same_as_clone(m, s, x, "parameters and running statistics updated");

    ck_assert_ok(nn_freeze(m, NN_SELECT_PATTERN, "/bn*", 0));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    expect_same_as_clone(m, s, x, "BatchNormalization frozen");
    nn_trainer_free(t);

    int32_t bv = -1;
    for (int32_t i = 0; i < m->graph.n_nodes && bv < 0; i++)
        if (!strcmp(m->graph.nodes[i].op_type, "BatchNormalization"))
            bv = m->graph.nodes[i].in[2]; /* its bias */
    ck_assert_int_ge(bv, 0);
    nn_tensor *beta = NULL;
    ck_assert_ok(nn_model_get_param(m, m->graph.values[bv].name, &beta));
    float *pb = nn_tensor_data(beta);
    for (int64_t i = 0; i < nni_tensor_count(beta); i++)
        pb[i] += 0.5f;
    ck_assert_ok(nn_model_set_param(m, m->graph.values[bv].name, beta));
    expect_same_as_clone(m, s, x, "nn_model_set_param");
    nn_tensor_free(beta);
    nn_session_free(s);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

START_TEST(test_train_while_clone_infers)
{
    nn_model *m = load("train/residual_sub_mul/model.onnx"), *copy = NULL;
    ck_assert_ok(nn_model_clone(m, &copy));
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(copy, NULL, &s));
    nn_tensor *x = batch_x(3, 10, 5.0f);
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    float want[18];
    memcpy(want, nn_tensor_data_const(nn_session_output(s, 0)), sizeof want);
    nn_session_free(s);
    infer_job job = {copy, want, 18, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, infer_loop, &job), 0);
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.learning_rate = 0.05f;
    train_n(m, &o, 20, false);
    void *ret;
    pthread_join(th, &ret);
    ck_assert_ptr_null(ret);
    ck_assert_int_eq(job.failures, 0);
    /* the trained original now differs from the copy */
    ck_assert_ok(nn_session_create(m, NULL, &s));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&x));
    ck_assert_int_ne(memcmp(nn_tensor_data_const(nn_session_output(s, 0)), want, sizeof want), 0);
    nn_session_free(s);
    nn_tensor_free(x);
    nn_model_free(m);
    nn_model_free(copy);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_errors)
{
    nn_model *m = load("train/mlp_sgd/model.onnx"), *other = load("train/mlp_adam/model.onnx");
    nn_trainer *t = NULL;
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    ck_assert_nn(nn_trainer_options_init(&o, 99), NN_E_INVALID_ARG);
    o.learning_rate = -1.0f;
    ck_assert_nn(nn_trainer_create(m, &o, &t), NN_E_INVALID_ARG);
    ck_assert_ptr_null(t);
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.lr_schedule = NN_LR_STEP; /* no step size */
    ck_assert_nn(nn_trainer_create(m, &o, &t), NN_E_INVALID_ARG);
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.output_index = 3;
    ck_assert_nn(nn_trainer_create(m, &o, &t), NN_E_INVALID_ARG);
    ck_assert_ok(nn_trainer_create(m, NULL, &t));
    nn_tensor *x = batch_x(4, 8, 0.0f), *y = batch_y(4, 5), *bad_x = batch_x(4, 7, 0.0f), *y6 = batch_y(4, 6);
    ck_assert_nn(nn_train_step(other, t, x, y, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_train_step(m, t, bad_x, y, NULL), NN_E_SHAPE);
    ((int64_t *)nn_tensor_data(y6))[2] = 5;
    ck_assert_nn(nn_train_step(m, t, x, y6, NULL), NN_E_INVALID_ARG); /* label 5 of 5 classes */
    ck_assert(strstr(nn_last_error(), "label") != NULL);
    nn_tensor *y3 = batch_y(3, 5);
    ck_assert_nn(nn_train_step(m, t, x, y3, NULL), NN_E_SHAPE);
    ck_assert_nn(nn_train_step(m, t, x, x, NULL), NN_E_TYPE);
    ck_assert_nn(nn_train_step_cached(m, t, x, NULL, y, NULL), NN_E_INVALID_ARG);
    float w[4] = {1, 1, 1, 1};
    ck_assert_ok(nn_trainer_set_class_weights(t, w, 4));
    ck_assert_nn(nn_train_step(m, t, x, y, NULL), NN_E_SHAPE);
    w[0] = -1.0f;
    ck_assert_nn(nn_trainer_set_class_weights(t, w, 4), NN_E_INVALID_ARG);
    ck_assert_ok(nn_trainer_set_class_weights(t, NULL, 0));
    ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    ck_assert_uint_eq(nn_trainer_step_count(t), 1);
    ck_assert_nn(nn_trainer_set_learning_rate(t, 0.0f), NN_E_INVALID_ARG);
    ck_assert_ok(nn_trainer_set_learning_rate(t, 0.5f));
    ck_assert_float_eq(nn_trainer_learning_rate(t), 0.5f);
    uint64_t counts[3] = {10, 30, 0};
    float cw[3];
    ck_assert_ok(nn_class_weights_from_counts(counts, 3, cw));
    ck_assert_float_eq_tol(cw[0], 40.0f / 30.0f, 1e-6f);
    ck_assert_float_eq_tol(cw[1], 40.0f / 90.0f, 1e-6f);
    ck_assert_float_eq(cw[2], 1.0f);
    nn_trainer_free(t);
    nn_trainer_free(NULL);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_tensor_free(y3);
    nn_tensor_free(y6);
    nn_tensor_free(bad_x);
    nn_model_free(m);
    nn_model_free(other);
}
END_TEST

START_TEST(test_schedules)
{
    nn_model *m = load("train/mlp_sgd/model.onnx");
    nn_trainer_options o;
    ck_assert_ok(nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION));
    o.learning_rate = 0.1f;
    o.lr_schedule = NN_LR_COSINE;
    o.lr_total_steps = 4;
    o.lr_min = 0.02f;
    nn_trainer *t = NULL;
    ck_assert_ok(nn_trainer_create(m, &o, &t));
    nn_tensor *x = batch_x(2, 8, 0.0f), *y = batch_y(2, 5);
    const float want[6] = {0.1f, 0.02f + 0.08f * (1 + cosf((float)M_PI / 4)) / 2, 0.06f,
                           0.02f + 0.08f * (1 + cosf(3 * (float)M_PI / 4)) / 2, 0.02f, 0.02f};
    for (int i = 0; i < 6; i++) {
        ck_assert_float_eq_tol(nn_trainer_learning_rate(t), want[i], 1e-6f);
        ck_assert_ok(nn_train_step(m, t, x, y, NULL));
    }
    nn_trainer_free(t);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

/* Every allocation of create + two steps may fail; each failure is a clean error. */
START_TEST(test_oom)
{
    nn_model *m = load("train/residual_sub_mul/model.onnx");
    ck_assert_ok(nn_freeze(m, NN_SELECT_FIRST, NULL, 1));
    nn_tensor *x = batch_x(4, 10, 0.0f), *y = batch_y(4, 6);
    uint64_t ids[4] = {1, 2, 3, 4};
    bool done = false;
    for (int64_t n = 0; !done && n < 10000; n++) {
        nn_trainer *t = NULL;
        nn_model *c = NULL;
        nni_alloc_fail_after(n);
        nn_status st = nn_model_clone(m, &c);
        if (st == NN_OK)
            st = nn_trainer_create(c, NULL, &t);
        if (st == NN_OK)
            st = nn_train_step_cached(c, t, x, ids, y, NULL);
        if (st == NN_OK)
            st = nn_train_step_cached(c, t, x, ids, y, NULL);
        nni_alloc_fail_after(-1);
        if (st == NN_OK)
            done = true;
        else
            ck_assert_msg(st == NN_E_NOMEM, "failure %lld gave %d: %s", (long long)n, (int)st, nn_last_error());
        nn_trainer_free(t);
        nn_model_free(c);
    }
    ck_assert(done);
    nn_tensor_free(x);
    nn_tensor_free(y);
    nn_model_free(m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("parity");
    tcase_add_loop_test(tc, test_parity, 0, (int)(sizeof parity_cases / sizeof *parity_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("freeze");
    tcase_add_test(tc, test_frozen_prefix_has_no_gradients);
    tcase_add_test(tc, test_frozen_params_unchanged);
    tcase_add_test(tc, test_lr_factor_halves_sgd_step);
    tcase_add_test(tc, test_freeze_selection);
    tcase_add_test(tc, test_new_head_stays_trainable);
    suite_add_tcase(s, tc);
    tc = tcase_create("trainer");
    tcase_add_test(tc, test_seeded_runs_are_identical);
    tcase_add_test(tc, test_cache_matches_uncached);
    tcase_add_test(tc, test_cache_spills_to_disk);
    tcase_add_test(tc, test_train_while_clone_infers);
    tcase_add_test(tc, test_inference_follows_training);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_schedules);
    tcase_add_test(tc, test_oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
