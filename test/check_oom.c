/*
 * check_oom.c — allocation failure at every point (SQLite's technique): for
 * N = 0, 1, 2, ... the Nth allocation of a stage fails (nni_alloc_fail_after),
 * until the stage completes without reaching N. Every failure must be a clean
 * NN_E_NOMEM with a message (or the stage's own error where an allocation
 * failure is indistinguishable from it), hand out no object, leak nothing
 * (LeakSanitizer in the sanitizer build fails the test at exit) and leave
 * what existed before usable: after a failed run the same session runs again
 * and produces bit-identical outputs.
 * Stages: ONNX and darknet loads, session creation (1 and 2 threads), runs
 * (static and dynamic shapes), nn_model_macs, TensorProto reads, PNG and JPEG
 * decoding (libpng through nn's allocator, libjpeg's pools wrapped),
 * preprocessing, classification, cloning, trainer creation, training steps
 * (a failed step leaves the parameters as they were and the next step gives
 * exactly an undisturbed step's result) and saving (a failed save leaves the
 * old file byte for byte, and no temporary). The number of failure points is
 * printed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "test_util.h"

static int64_t total_points;

typedef nn_status (*stage_fn)(void *ctx);

/* Sweep one stage; `undo` (may be NULL) releases what a successful call made. */
static int64_t sweep(const char *label, stage_fn fn, void (*undo)(void *ctx), void *ctx)
{
    for (int64_t n = 0;; n++) {
        nni_error_clear();
        nni_alloc_fail_after(n);
        nn_status st = fn(ctx);
        int64_t left = nni_alloc_fail_countdown();
        nni_alloc_fail_after(-1);
        if (left >= 0) {
            /* the stage finished before its Nth allocation: every point is covered */
            ck_assert_msg(st == NN_OK, "%s without a failure: %d %s", label, (int)st, nn_last_error());
            if (undo)
                undo(ctx);
            printf("%-44s %5lld failure points\n", label, (long long)n);
            fflush(stdout);
            total_points += n;
            return n;
        }
        if (st == NN_OK) {
            /* an allocation that only speeds things up may fail silently */
            if (undo)
                undo(ctx);
            continue;
        }
        ck_assert_msg(st == NN_E_NOMEM, "%s, allocation %lld failing: status %d (%s): %s", label, (long long)n, (int)st,
                      nn_status_string(st), nn_last_error());
        ck_assert_msg(nn_last_error()[0] != '\0', "%s, allocation %lld failing: no message", label, (long long)n);
    }
}

/* ---- models ---- */

typedef struct load_ctx {
    const char *path;
    const void *bytes;
    size_t size;
    nn_model *model;
} load_ctx;

static nn_status do_load(void *p)
{
    load_ctx *c = p;
    c->model = (nn_model *)1;
    nn_status st = c->bytes ? nn_model_load_memory(c->bytes, c->size, NULL, &c->model)
                            : nn_model_load(c->path, NULL, &c->model);
    if (st != NN_OK)
        ck_assert_msg(c->model == NULL, "a failed load handed out a model");
    return st;
}

static void undo_load(void *p)
{
    load_ctx *c = p;
    nn_model_free(c->model);
    c->model = NULL;
}

typedef struct run_ctx {
    nn_model *model;
    nn_session *session;
    int threads;
    uint32_t n_in;
    nn_tensor *in[8];
    /* reference outputs */
    uint32_t n_out;
    void *ref[8];
    size_t ref_bytes[8];
} run_ctx;

static nn_status do_session(void *p)
{
    run_ctx *c = p;
    nn_session_options o;
    nn_session_options_init(&o, NN_SESSION_OPTIONS_VERSION);
    o.num_threads = c->threads;
    c->session = (nn_session *)1;
    nn_status st = nn_session_create(c->model, &o, &c->session);
    if (st != NN_OK)
        ck_assert_ptr_null(c->session);
    return st;
}

static void undo_session(void *p)
{
    run_ctx *c = p;
    nn_session_free(c->session);
    c->session = NULL;
}

static void check_outputs(run_ctx *c)
{
    ck_assert_uint_eq(nn_session_output_count(c->session), c->n_out);
    for (uint32_t k = 0; k < c->n_out; k++) {
        const nn_tensor *t = nn_session_output(c->session, k);
        ck_assert_ptr_nonnull(t);
        ck_assert_uint_eq(nn_tensor_nbytes(t), c->ref_bytes[k]);
        ck_assert_msg(memcmp(nn_tensor_data_const(t), c->ref[k], c->ref_bytes[k]) == 0, "output %u differs", k);
    }
}

static nn_status do_run(void *p)
{
    run_ctx *c = p;
    nn_status st = nn_session_run(c->session, c->n_in, NULL, (const nn_tensor *const *)c->in);
    if (st != NN_OK) {
        ck_assert_ptr_null(nn_session_output(c->session, 0));
        /* the session is still usable: a run without failures gives the reference */
        ck_assert_ok(nn_session_run(c->session, c->n_in, NULL, (const nn_tensor *const *)c->in));
        check_outputs(c);
        nni_error(st, "the run failed as asked"); /* keep the first run's status for the sweep */
        return st;
    }
    check_outputs(c);
    return st;
}

/* A fresh session each time: the first run plans and allocates. */
static nn_status do_first_run(void *p)
{
    run_ctx *c = p;
    nn_status st = do_session(c);
    if (st != NN_OK)
        return st;
    st = do_run(c);
    undo_session(c);
    return st;
}

static nn_status do_macs(void *p)
{
    run_ctx *c = p;
    uint64_t macs;
    return nn_model_macs(c->model, &macs);
}

/* Zero inputs of the declared shapes (symbolic dims = 2), or the given ones. */
static void prepare_run(run_ctx *c, nn_model *m, int threads, nn_tensor **inputs, uint32_t n_inputs)
{
    memset(c, 0, sizeof *c);
    c->model = m;
    c->threads = threads;
    c->n_in = nn_model_input_count(m);
    ck_assert_uint_le(c->n_in, 8);
    for (uint32_t i = 0; i < c->n_in; i++) {
        if (i < n_inputs) {
            c->in[i] = inputs[i];
            continue;
        }
        nn_dtype dt;
        int32_t rank;
        ck_assert_ok(nn_model_input_info(m, i, NULL, &dt, &rank));
        int64_t dims[NN_MAX_RANK];
        for (int32_t d = 0; d < rank; d++) {
            ck_assert_ok(nn_model_input_dim(m, i, d, &dims[d], NULL));
            if (dims[d] < 0)
                dims[d] = 2;
        }
        ck_assert_ok(nn_tensor_create(dt, rank, dims, &c->in[i]));
        uint8_t *b = nn_tensor_data(c->in[i]);
        for (size_t k = 0; k < nn_tensor_nbytes(c->in[i]); k++)
            b[k] = dt == NN_DTYPE_BOOL ? (uint8_t)(k % 3 == 0) : (uint8_t)(k * 7 % 61);
    }
    ck_assert_ok(do_session(c));
    ck_assert_ok(nn_session_run(c->session, c->n_in, NULL, (const nn_tensor *const *)c->in));
    c->n_out = nn_session_output_count(c->session);
    ck_assert_uint_le(c->n_out, 8);
    for (uint32_t k = 0; k < c->n_out; k++) {
        const nn_tensor *t = nn_session_output(c->session, k);
        c->ref_bytes[k] = nn_tensor_nbytes(t);
        c->ref[k] = malloc(c->ref_bytes[k] + 1);
        memcpy(c->ref[k], nn_tensor_data_const(t), c->ref_bytes[k]);
    }
}

static void finish_run(run_ctx *c, uint32_t n_given)
{
    undo_session(c);
    for (uint32_t i = n_given; i < c->n_in; i++)
        nn_tensor_free(c->in[i]);
    for (uint32_t k = 0; k < c->n_out; k++)
        free(c->ref[k]);
}

/* Load, session, first run, repeated run and MAC count of one model. */
static void sweep_model(const char *name, const char *path, bool from_memory)
{
    char label[128];
    load_ctx lc = {.path = path};
    snprintf(label, sizeof label, "load %s", name);
    sweep(label, do_load, undo_load, &lc);
    if (from_memory) {
        size_t size;
        uint8_t *bytes = test_read_file(path, &size);
        lc = (load_ctx){.bytes = bytes, .size = size};
        snprintf(label, sizeof label, "load_memory %s", name);
        sweep(label, do_load, undo_load, &lc);
        free(bytes);
    }

    nn_model *m;
    ck_assert_ok(nn_model_load(path, NULL, &m));
    run_ctx rc;
    prepare_run(&rc, m, 1, NULL, 0);
    undo_session(&rc);
    for (int threads = 1; threads <= 2; threads++) {
        rc.threads = threads;
        snprintf(label, sizeof label, "session (%d thread%s) %s", threads, threads > 1 ? "s" : "", name);
        sweep(label, do_session, undo_session, &rc);
    }
    rc.threads = 1;
    snprintf(label, sizeof label, "first run %s", name);
    sweep(label, do_first_run, NULL, &rc);
    ck_assert_ok(do_session(&rc));
    ck_assert_ok(do_run(&rc));
    snprintf(label, sizeof label, "run %s", name);
    sweep(label, do_run, NULL, &rc);
    snprintf(label, sizeof label, "macs %s", name);
    sweep(label, do_macs, NULL, &rc);
    finish_run(&rc, 0);
    nn_model_free(m);
}

START_TEST(test_onnx_models)
{
    static const char *const models[] = {
        "models/mlp.onnx", "models/convnet.onnx", "models/multi_io.onnx", "models/typed_initializer.onnx",
        "models/external_data.onnx", "shape/shape_chain/model.onnx", "shape/nonzero_bool/model.onnx",
        "images/classify_softmax.onnx", "control/if_capture/model.onnx", "control/if_nested/model.onnx",
    };
    for (size_t i = 0; i < sizeof models / sizeof *models; i++)
        sweep_model(models[i], test_data_path(models[i]), strstr(models[i], "external") == NULL);
}
END_TEST

typedef struct detect_ctx {
    nn_model *model;
    nn_session *session;
    nn_image *image;
    nn_detections *result;
} detect_ctx;

static nn_status do_detect(void *p)
{
    detect_ctx *c = p;
    nn_detect_options o;
    nn_detect_options_init(&o, NN_DETECT_OPTIONS_VERSION);
    o.score_threshold = 0.0f; /* keep everything: the most allocations */
    c->result = (nn_detections *)1;
    nn_status st = nn_detect(c->session, c->image, &o, &c->result);
    if (st != NN_OK)
        ck_assert_ptr_null(c->result);
    return st;
}

static void undo_detect(void *p)
{
    detect_ctx *c = p;
    nn_detections_free(c->result);
    c->result = NULL;
}

/* A darknet network with every common layer and a YOLO head, plus labels. */
START_TEST(test_darknet)
{
    char dir[] = "/tmp/nn_oom_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cfg[256], weights[256], names[256];
    snprintf(cfg, sizeof cfg, "%s/net.cfg", dir);
    snprintf(weights, sizeof weights, "%s/net.weights", dir);
    snprintf(names, sizeof names, "%s/net.names", dir);
    FILE *f = fopen(cfg, "w");
    fputs("[net]\nwidth=8\nheight=8\nchannels=3\n"
          "[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
          "[maxpool]\nsize=2\nstride=2\n"
          "[route]\nlayers=-1\n"
          "[convolutional]\nfilters=14\nsize=1\nstride=1\npad=1\nactivation=linear\n"
          "[yolo]\nmask=0,1\nanchors=1,1,2,2,3,3\nclasses=2\nnum=3\n",
          f);
    fclose(f);
    f = fopen(weights, "wb");
    int32_t hdr[5] = {0, 2, 0, 0, 0};
    fwrite(hdr, 4, 5, f);
    for (int i = 0; i < 194; i++) {
        float w = (float)((i * 7) % 13 - 6) / 10.0f;
        fwrite(&w, 4, 1, f);
    }
    fclose(f);
    f = fopen(names, "w");
    fputs("cat\ndog\n", f);
    fclose(f);
    sweep_model("darknet net.cfg", cfg, false);
    /* detection through its YOLO head */
    detect_ctx dc = {0};
    ck_assert_ok(nn_model_load(cfg, NULL, &dc.model));
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = 1;
    ck_assert_ok(nn_session_create(dc.model, &so, &dc.session));
    ck_assert_ok(nn_image_load(test_data_path("images/rgb8.png"), NULL, &dc.image));
    sweep("detect darknet net.cfg", do_detect, undo_detect, &dc);
    nn_image_free(dc.image);
    nn_session_free(dc.session);
    nn_model_free(dc.model);
    unlink(cfg);
    unlink(weights);
    unlink(names);
    rmdir(dir);
}
END_TEST

/* ---- tensors and images ---- */

typedef struct file_ctx {
    const char *path;
    const nn_image_options *opts;
    void *obj;
} file_ctx;

static nn_status do_tensor_read(void *p)
{
    file_ctx *c = p;
    c->obj = (void *)1;
    nn_status st = nn_tensor_read_file(c->path, (nn_tensor **)&c->obj);
    if (st != NN_OK)
        ck_assert_ptr_null(c->obj);
    return st;
}

static void undo_tensor(void *p)
{
    file_ctx *c = p;
    nn_tensor_free(c->obj);
    c->obj = NULL;
}

static nn_status do_image_load(void *p)
{
    file_ctx *c = p;
    c->obj = (void *)1;
    nn_status st = nn_image_load(c->path, c->opts, (nn_image **)&c->obj);
    if (st != NN_OK)
        ck_assert_ptr_null(c->obj);
    return st;
}

static void undo_image(void *p)
{
    file_ctx *c = p;
    nn_image_free(c->obj);
    c->obj = NULL;
}

START_TEST(test_images_and_tensors)
{
    file_ctx fc = {.path = test_data_path("models/mlp_case/test_data_set_0/input_0.pb")};
    sweep("tensor_read_file input_0.pb", do_tensor_read, undo_tensor, &fc);
    static const char *const images[] = {
        "images/rgb8.png", "images/palette4_trns.png", "images/gray16.png", "images/rgba16_interlaced.png",
        "images/gray1.png", "images/baseline420.jpg", "images/progressive.jpg", "images/cmyk.jpg",
        "images/exif6.jpg", "images/gray_progressive.jpg",
    };
    char label[128];
    for (size_t i = 0; i < sizeof images / sizeof *images; i++) {
        fc = (file_ctx){.path = test_data_path(images[i])};
        snprintf(label, sizeof label, "image_load %s", images[i] + 7);
        sweep(label, do_image_load, undo_image, &fc);
    }
}
END_TEST

typedef struct pre_ctx {
    nn_model *model;
    nn_session *session;
    const nn_image *images[2];
    nn_tensor *tensor;
    nn_classification *result;
    nn_image *image;
} pre_ctx;

static nn_status do_to_tensor(void *p)
{
    pre_ctx *c = p;
    nn_preprocess_options o;
    nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION);
    o.resize = NN_RESIZE_LETTERBOX;
    c->tensor = (nn_tensor *)1;
    nn_status st = nn_image_to_tensor(c->model, c->images, 2, &o, &c->tensor);
    if (st != NN_OK)
        ck_assert_ptr_null(c->tensor);
    return st;
}

static void undo_to_tensor(void *p)
{
    pre_ctx *c = p;
    nn_tensor_free(c->tensor);
    c->tensor = NULL;
}

static nn_status do_classify(void *p)
{
    pre_ctx *c = p;
    c->result = (nn_classification *)1;
    nn_status st = nn_classify(c->session, c->images, 2, 3, NULL, &c->result);
    if (st != NN_OK)
        ck_assert_ptr_null(c->result);
    return st;
}

static void undo_classify(void *p)
{
    pre_ctx *c = p;
    nn_classification_free(c->result);
    c->result = NULL;
}

static nn_status do_resize(void *p)
{
    pre_ctx *c = p;
    c->image = (nn_image *)1;
    nn_status st = nn_image_resize(c->images[0], 13, 7, NN_FILTER_BILINEAR, &c->image);
    if (st != NN_OK)
        ck_assert_ptr_null(c->image);
    return st;
}

static void undo_resize(void *p)
{
    pre_ctx *c = p;
    nn_image_free(c->image);
    c->image = NULL;
}

START_TEST(test_preprocess_and_classify)
{
    pre_ctx c = {0};
    nn_image *a, *b;
    ck_assert_ok(nn_image_load(test_data_path("images/rgb8.png"), NULL, &a));
    ck_assert_ok(nn_image_load(test_data_path("images/progressive.jpg"), NULL, &b));
    c.images[0] = a;
    c.images[1] = b;
    ck_assert_ok(nn_model_load(test_data_path("images/classify_softmax.onnx"), NULL, &c.model));
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = 1;
    ck_assert_ok(nn_session_create(c.model, &so, &c.session));
    sweep("image_to_tensor (letterbox)", do_to_tensor, undo_to_tensor, &c);
    sweep("classify 2 images", do_classify, undo_classify, &c);
    sweep("image_resize", do_resize, undo_resize, &c);
    nn_session_free(c.session);
    nn_model_free(c.model);
    nn_image_free(a);
    nn_image_free(b);
}
END_TEST

/* ---- training, cloning, saving ---- */

/* All parameter values of a model, concatenated (malloc'd). */
static uint8_t *snapshot(const nn_model *m, size_t *size)
{
    uint8_t *buf = NULL;
    *size = 0;
    for (uint32_t i = 0; i < nn_model_param_tensor_count(m); i++) {
        const char *name;
        ck_assert_ok(nn_model_param_info(m, i, &name, NULL, NULL, NULL, NULL));
        nn_tensor *t;
        ck_assert_ok(nn_model_get_param(m, name, &t));
        buf = realloc(buf, *size + nn_tensor_nbytes(t) + 1);
        memcpy(buf + *size, nn_tensor_data_const(t), nn_tensor_nbytes(t));
        *size += nn_tensor_nbytes(t);
        nn_tensor_free(t);
    }
    return buf;
}

static bool same_params(const nn_model *m, const uint8_t *want, size_t size)
{
    size_t got_size;
    uint8_t *got = snapshot(m, &got_size);
    bool same = got_size == size && memcmp(got, want, size) == 0;
    free(got);
    return same;
}

/* Float parameters within rounding of `want` (all parameters here are float32). */
static bool close_params(const nn_model *m, const uint8_t *want, size_t size)
{
    size_t got_size;
    uint8_t *got = snapshot(m, &got_size);
    bool close = got_size == size;
    for (size_t i = 0; close && i + 4 <= size; i += 4) {
        float a, b;
        memcpy(&a, got + i, 4);
        memcpy(&b, want + i, 4);
        close = fabsf(a - b) <= 1e-5f + 1e-4f * fabsf(b);
    }
    free(got);
    return close;
}

typedef struct train_ctx {
    nn_model *base;
    nn_trainer_options opts;
    nn_tensor *x, *y;
    uint8_t *before, *after; /* parameters before and after one step */
    size_t n_before, n_after;
    nn_model *copy;
    nn_trainer *trainer;
    const char *save_path;
    uint8_t *saved;          /* the file a failed save must leave as it was */
    size_t n_saved;
} train_ctx;

static nn_status do_clone(void *p)
{
    train_ctx *c = p;
    c->copy = (nn_model *)1;
    nn_status st = nn_model_clone(c->base, &c->copy);
    if (st != NN_OK)
        ck_assert_ptr_null(c->copy);
    return st;
}

static void undo_clone(void *p)
{
    train_ctx *c = p;
    nn_model_free(c->copy);
    c->copy = NULL;
}

static nn_status do_trainer(void *p)
{
    train_ctx *c = p;
    c->trainer = (nn_trainer *)1;
    nn_status st = nn_trainer_create(c->copy, &c->opts, &c->trainer);
    if (st != NN_OK)
        ck_assert_ptr_null(c->trainer);
    return st;
}

static void undo_trainer(void *p)
{
    train_ctx *c = p;
    nn_trainer_free(c->trainer);
    c->trainer = NULL;
}

/* One step on a fresh copy and trainer. A failed step must leave the
 * parameters as they were, and the same trainer's next step must give
 * exactly the parameters of an undisturbed step. */
static nn_status do_step(void *p)
{
    train_ctx *c = p;
    int64_t armed = nni_alloc_fail_countdown();
    nni_alloc_fail_after(-1); /* the setup is not under test here */
    ck_assert_ok(nn_model_clone(c->base, &c->copy));
    ck_assert_ok(nn_trainer_create(c->copy, &c->opts, &c->trainer));
    nni_alloc_fail_after(armed);
    float loss;
    nn_status st = nn_train_step(c->copy, c->trainer, c->x, c->y, &loss);
    int64_t left = nni_alloc_fail_countdown();
    nni_alloc_fail_after(-1);
    char msg[512];
    snprintf(msg, sizeof msg, "%s", nn_last_error());
    if (st != NN_OK) {
        ck_assert_msg(same_params(c->copy, c->before, c->n_before), "a failed step (allocation %lld: %s) changed the parameters",
                      (long long)armed, msg);
        ck_assert_ok(nn_train_step(c->copy, c->trainer, c->x, c->y, &loss));
    }
    if (st == NN_OK && left < 0) {
        /* the failure was absorbed: sgemm falls back to its plain loop without
         * workspace, equal up to rounding */
        ck_assert_msg(close_params(c->copy, c->after, c->n_after),
                      "a step that absorbed allocation %lld's failure is wrong", (long long)armed);
    } else {
        ck_assert_msg(same_params(c->copy, c->after, c->n_after),
                      "parameters differ from an undisturbed step (allocation %lld failed: %s)", (long long)armed, msg);
    }
    if (st != NN_OK)
        nni_error(st, "%s", msg); /* the failed step's message, for the sweep */
    nn_trainer_free(c->trainer);
    nn_model_free(c->copy);
    c->trainer = NULL;
    c->copy = NULL;
    nni_alloc_fail_after(left); /* let the sweep see whether the failure fired */
    return st;
}

static nn_status do_save(void *p)
{
    train_ctx *c = p;
    nn_status st = nn_model_save(c->base, c->save_path);
    if (st != NN_OK) {
        size_t size;
        uint8_t *now = test_read_file(c->save_path, &size);
        ck_assert_msg(size == c->n_saved && memcmp(now, c->saved, size) == 0, "a failed save changed the file");
        free(now);
    }
    return st;
}

static nn_status do_save_memory(void *p)
{
    train_ctx *c = p;
    void *data = (void *)1;
    size_t size;
    nn_status st = nn_model_save_memory(c->base, &data, &size);
    if (st == NN_OK)
        nn_free(data);
    else
        ck_assert_ptr_null(data);
    return st;
}

static void sweep_training(const char *name, const char *dir, int optimizer, int batchnorm)
{
    char rel[256], label[128];
    train_ctx c;
    memset(&c, 0, sizeof c);
    snprintf(rel, sizeof rel, "%s/model.onnx", dir);
    ck_assert_ok(nn_model_load(test_data_path(rel), NULL, &c.base));
    ck_assert_ok(nn_trainer_options_init(&c.opts, NN_TRAINER_OPTIONS_VERSION));
    c.opts.optimizer = optimizer;
    c.opts.batchnorm = batchnorm;
    c.opts.num_threads = 1;
    snprintf(rel, sizeof rel, "%s/input_0.pb", dir);
    ck_assert_ok(nn_tensor_read_file(test_data_path(rel), &c.x));
    snprintf(rel, sizeof rel, "%s/labels_0.pb", dir);
    ck_assert_ok(nn_tensor_read_file(test_data_path(rel), &c.y));
    /* reference: one undisturbed step */
    c.before = snapshot(c.base, &c.n_before);
    nn_model *r;
    nn_trainer *t;
    ck_assert_ok(nn_model_clone(c.base, &r));
    ck_assert_ok(nn_trainer_create(r, &c.opts, &t));
    ck_assert_ok(nn_train_step(r, t, c.x, c.y, NULL));
    c.after = snapshot(r, &c.n_after);
    ck_assert_msg(c.n_after == c.n_before && memcmp(c.after, c.before, c.n_before) != 0, "the step changed nothing");
    nn_trainer_free(t);
    nn_model_free(r);

    snprintf(label, sizeof label, "clone %s", name);
    sweep(label, do_clone, undo_clone, &c);
    ck_assert_ok(do_clone(&c));
    snprintf(label, sizeof label, "trainer_create %s", name);
    sweep(label, do_trainer, undo_trainer, &c);
    undo_clone(&c);
    snprintf(label, sizeof label, "train_step %s", name);
    sweep(label, do_step, NULL, &c);

    /* saving over a good file */
    char dirbuf[] = "/tmp/nn_oom_save_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dirbuf));
    char path[128];
    snprintf(path, sizeof path, "%s/model.onnx", dirbuf);
    c.save_path = path;
    nn_model *other;
    ck_assert_ok(nn_model_load(test_data_path("models/mlp.onnx"), NULL, &other));
    ck_assert_ok(nn_model_save(other, path));
    nn_model_free(other);
    c.saved = test_read_file(path, &c.n_saved);
    snprintf(label, sizeof label, "save %s", name);
    sweep(label, do_save, NULL, &c);
    snprintf(label, sizeof label, "save_memory %s", name);
    sweep(label, do_save_memory, NULL, &c);
    unlink(path);
    ck_assert_int_eq(rmdir(dirbuf), 0); /* no temporary left behind */

    free(c.saved);
    free(c.before);
    free(c.after);
    nn_tensor_free(c.x);
    nn_tensor_free(c.y);
    nn_model_free(c.base);
}

START_TEST(test_training_and_saving)
{
    sweep_training("train/mlp_adam", "train/mlp_adam", NN_OPTIMIZER_ADAM, NN_BN_FROZEN);
    sweep_training("train/conv_bn_train", "train/conv_bn_train", NN_OPTIMIZER_SGD, NN_BN_TRAIN);
}
END_TEST

/* ctest runs this suite with CK_FORK=no, so the total covers every test above. */
START_TEST(test_total)
{
    printf("allocation-failure points exercised: %lld\n", (long long)total_points);
    ck_assert_int_gt(total_points, 1000);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_onnx_models);
    tcase_add_test(tc, test_darknet);
    tcase_add_test(tc, test_images_and_tensors);
    tcase_add_test(tc, test_preprocess_and_classify);
    tcase_add_test(tc, test_training_and_saving);
    tcase_add_test(tc, test_total);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
