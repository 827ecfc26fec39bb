/*
 * check_threads.c — many threads on one model (docs/threading.md): 8 threads
 * share each loaded model, each with its own session (some sessions with
 * their own worker pools), and run it for a bounded time on inputs of
 * changing batch sizes (so sessions re-plan while others run); every output
 * must be bit-identical to the single-threaded reference. Other threads load
 * models, decode images and fail calls meanwhile: nn_last_error() stays
 * per thread. A trainer thread fine-tunes a clone of a model while 8 threads
 * run the original, whose outputs must not move. Built with -DNN_TSAN=ON
 * this suite is the ThreadSanitizer run.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

#define N_THREADS 8
#define MAX_BATCH 3
#define RUN_SECONDS 2.0

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char tmpdir[256];

/* A darknet network with real work per run: convolutions (with batch norm),
 * pooling, upsampling, a route and a softmax over a 32x32x3 input. */
static void write_darknet(const char *cfg_path, const char *weights_path)
{
    FILE *f = fopen(cfg_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("[net]\nwidth=32\nheight=32\nchannels=3\n"
          "[convolutional]\nbatch_normalize=1\nfilters=16\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
          "[maxpool]\nsize=2\nstride=2\n"
          "[convolutional]\nfilters=32\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
          "[convolutional]\nfilters=8\nsize=1\nstride=1\npad=1\nactivation=linear\n"
          "[upsample]\nstride=2\n"
          "[route]\nlayers=-1,-5\n"
          "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=logistic\n"
          "[avgpool]\n"
          "[softmax]\n",
          f);
    fclose(f);
    f = fopen(weights_path, "wb");
    ck_assert_ptr_nonnull(f);
    int32_t hdr[5] = {0, 2, 0, 0, 0};
    fwrite(hdr, 4, 5, f);
    uint32_t x = 12345;
    for (int i = 0; i < 6268; i++) {
        x = x * 1664525u + 1013904223u;
        float w = (float)(x >> 8) / (float)(1u << 24) - 0.5f;
        fwrite(&w, 4, 1, f);
    }
    fclose(f);
}

typedef struct model_case {
    const char *name;
    nn_model *model;
    bool batched;          /* input dim 0 is symbolic */
    int threads;           /* session pool size used by the workers and the reference */
    nn_tensor *in[MAX_BATCH];      /* input for batch b+1 */
    void *ref[MAX_BATCH];          /* reference output 0 for batch b+1 */
    size_t ref_bytes[MAX_BATCH];
} model_case;

static void make_input(model_case *mc, int batch)
{
    int32_t rank;
    nn_dtype dt;
    ck_assert_ok(nn_model_input_info(mc->model, 0, NULL, &dt, &rank));
    int64_t dims[NN_MAX_RANK];
    for (int32_t d = 0; d < rank; d++) {
        ck_assert_ok(nn_model_input_dim(mc->model, 0, d, &dims[d], NULL));
        if (dims[d] < 0)
            dims[d] = d == 0 ? batch : 2;
    }
    nn_tensor *t;
    ck_assert_ok(nn_tensor_create(dt, rank, dims, &t));
    float *p = nn_tensor_data(t);
    for (int64_t i = 0; i < nn_tensor_count(t); i++)
        p[i] = (float)((i * 37 + batch * 11) % 101) / 50.0f - 1.0f;
    mc->in[batch - 1] = t;
}

static nn_session *new_session(const nn_model *m, int threads)
{
    nn_session_options o;
    nn_session_options_init(&o, NN_SESSION_OPTIONS_VERSION);
    o.num_threads = threads;
    nn_session *s;
    ck_assert_ok(nn_session_create(m, &o, &s));
    return s;
}

static void prepare(model_case *mc)
{
    int batches = mc->batched ? MAX_BATCH : 1;
    nn_session *s = new_session(mc->model, mc->threads);
    for (int b = 1; b <= batches; b++) {
        make_input(mc, b);
        ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&mc->in[b - 1]));
        const nn_tensor *y = nn_session_output(s, 0);
        mc->ref_bytes[b - 1] = nn_tensor_nbytes(y);
        mc->ref[b - 1] = malloc(mc->ref_bytes[b - 1]);
        memcpy(mc->ref[b - 1], nn_tensor_data_const(y), mc->ref_bytes[b - 1]);
    }
    nn_session_free(s);
}

static void release(model_case *mc)
{
    for (int b = 0; b < MAX_BATCH; b++) {
        nn_tensor_free(mc->in[b]);
        free(mc->ref[b]);
    }
    nn_model_free(mc->model);
}

typedef struct worker {
    model_case *mc;
    int id;
    double until;
    long runs;
    char failure[256];
} worker;

static void *run_worker(void *arg)
{
    worker *w = arg;
    model_case *mc = w->mc;
    nn_session_options o;
    nn_session_options_init(&o, NN_SESSION_OPTIONS_VERSION);
    o.num_threads = mc->threads;
    nn_session *s = NULL;
    if (nn_session_create(mc->model, &o, &s) != NN_OK) {
        snprintf(w->failure, sizeof w->failure, "session: %s", nn_last_error());
        return NULL;
    }
    int batches = mc->batched ? MAX_BATCH : 1;
    for (long i = 0; now() < w->until || i < 3; i++) {
        int b = (int)((i + w->id) % batches);
        if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&mc->in[b]) != NN_OK) {
            snprintf(w->failure, sizeof w->failure, "run %ld: %s", i, nn_last_error());
            break;
        }
        const nn_tensor *y = nn_session_output(s, 0);
        if (!y || nn_tensor_nbytes(y) != mc->ref_bytes[b] || memcmp(nn_tensor_data_const(y), mc->ref[b], mc->ref_bytes[b])) {
            snprintf(w->failure, sizeof w->failure, "run %ld (batch %d): output differs from the reference", i, b + 1);
            break;
        }
        w->runs++;
    }
    nn_session_free(s);
    return NULL;
}

/* Meanwhile: loads, image decoding and failing calls, each checking its own error message. */
static void *run_other(void *arg)
{
    worker *w = arg;
    for (long i = 0; now() < w->until || i < 3; i++) {
        nn_model *m = NULL;
        if (nn_model_load(test_data_path("models/mlp.onnx"), NULL, &m) != NN_OK) {
            snprintf(w->failure, sizeof w->failure, "load: %s", nn_last_error());
            break;
        }
        nn_model_free(m);
        nn_image *im = NULL;
        if (nn_image_load(test_data_path(i % 2 ? "images/progressive.jpg" : "images/rgba16.png"), NULL, &im) != NN_OK) {
            snprintf(w->failure, sizeof w->failure, "image: %s", nn_last_error());
            break;
        }
        nn_image_free(im);
        char path[64];
        snprintf(path, sizeof path, "/nonexistent/thread%d/%ld.onnx", w->id, i);
        if (nn_model_load(path, NULL, &m) != NN_E_IO || !strstr(nn_last_error(), path)) {
            snprintf(w->failure, sizeof w->failure, "error message of another thread: '%s'", nn_last_error());
            break;
        }
        w->runs++;
    }
    return NULL;
}

/* 8 workers on one model (the first ones with 2-thread pools when `pools`), plus 2 others. */
static void stress(model_case *mc, double seconds)
{
    pthread_t th[N_THREADS + 2];
    worker w[N_THREADS + 2];
    double until = now() + seconds;
    for (int i = 0; i < N_THREADS + 2; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].mc = mc;
        w[i].id = i;
        w[i].until = until;
        ck_assert_int_eq(pthread_create(&th[i], NULL, i < N_THREADS ? run_worker : run_other, &w[i]), 0);
    }
    long runs = 0, others = 0;
    for (int i = 0; i < N_THREADS + 2; i++) {
        pthread_join(th[i], NULL);
        ck_assert_msg(w[i].failure[0] == '\0', "%s thread %d: %s", mc->name, i, w[i].failure);
        if (i < N_THREADS)
            runs += w[i].runs;
        else
            others += w[i].runs;
    }
    printf("%-28s %d threads: %ld runs, all bit-identical; %ld load/decode/error rounds beside\n", mc->name,
           N_THREADS, runs, others);
    fflush(stdout);
}

static double seconds(void);

/* Training on a clone while 8 threads run the original: the original's
 * outputs stay bit-identical throughout, the clone learns. */
typedef struct trainer_job {
    nn_model *model;
    nn_tensor *x, *y;
    double until;
    long steps;
    float first_loss, last_loss;
    char failure[256];
} trainer_job;

static void *run_trainer(void *arg)
{
    trainer_job *j = arg;
    nn_trainer_options o;
    nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION);
    o.optimizer = NN_OPTIMIZER_ADAM;
    o.batchnorm = NN_BN_TRAIN;
    o.num_threads = 2;
    nn_trainer *t = NULL;
    if (nn_trainer_create(j->model, &o, &t) != NN_OK) {
        snprintf(j->failure, sizeof j->failure, "trainer: %s", nn_last_error());
        return NULL;
    }
    for (long i = 0; now() < j->until || i < 3; i++) {
        float loss;
        if (nn_train_step(j->model, t, j->x, j->y, &loss) != NN_OK) {
            snprintf(j->failure, sizeof j->failure, "step %ld: %s", i, nn_last_error());
            break;
        }
        if (i == 0)
            j->first_loss = loss;
        j->last_loss = loss;
        j->steps++;
    }
    nn_trainer_free(t);
    return NULL;
}

START_TEST(test_training_beside_inference)
{
    model_case mc = {.name = "train/conv_bn_train", .batched = true, .threads = 1};
    ck_assert_ok(nn_model_load(test_data_path("train/conv_bn_train/model.onnx"), NULL, &mc.model));
    prepare(&mc);
    trainer_job j = {0};
    ck_assert_ok(nn_model_clone(mc.model, &j.model));
    ck_assert_ok(nn_tensor_read_file(test_data_path("train/conv_bn_train/input_0.pb"), &j.x));
    ck_assert_ok(nn_tensor_read_file(test_data_path("train/conv_bn_train/labels_0.pb"), &j.y));
    double secs = seconds();
    j.until = now() + secs;
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, run_trainer, &j), 0);
    stress(&mc, secs);
    pthread_join(th, NULL);
    ck_assert_msg(j.failure[0] == '\0', "trainer: %s", j.failure);
    ck_assert_msg(j.last_loss < j.first_loss, "the clone did not learn (loss %g -> %g)", (double)j.first_loss,
                  (double)j.last_loss);
    printf("%-28s beside it, %ld training steps on a clone (loss %.4f -> %.4f)\n", "", j.steps,
           (double)j.first_loss, (double)j.last_loss);
    /* the original still gives the reference */
    nn_session *s = new_session(mc.model, 1);
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&mc.in[0]));
    ck_assert(memcmp(nn_tensor_data_const(nn_session_output(s, 0)), mc.ref[0], mc.ref_bytes[0]) == 0);
    nn_session_free(s);
    nn_tensor_free(j.x);
    nn_tensor_free(j.y);
    nn_model_free(j.model);
    release(&mc);
}
END_TEST

static double seconds(void)
{
    const char *e = getenv("NN_STRESS_SECONDS");
    return e ? atof(e) : RUN_SECONDS;
}

START_TEST(test_shared_models)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/nn_threads_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char cfg[300], weights[300];
    snprintf(cfg, sizeof cfg, "%s/net.cfg", tmpdir);
    snprintf(weights, sizeof weights, "%s/net.weights", tmpdir);
    write_darknet(cfg, weights);
    model_case cases[] = {
        {.name = "darknet conv net", .threads = 1},
        {.name = "darknet conv net (pools)", .threads = 2},
        {.name = "convnet.onnx", .batched = true, .threads = 1},
        {.name = "convnet.onnx (pools)", .batched = true, .threads = 2},
        {.name = "shape_chain (dynamic)", .batched = true, .threads = 1},
    };
    const char *paths[] = {cfg, cfg, test_data_path("models/convnet.onnx"), test_data_path("models/convnet.onnx"),
                           test_data_path("shape/shape_chain/model.onnx")};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        /* the reference from its own copy of the model: the shared one starts cold,
         * so what sessions derive on first use (transformed filters) is built under contention */
        ck_assert_ok(nn_model_load(paths[i], NULL, &cases[i].model));
        prepare(&cases[i]);
        nn_model_free(cases[i].model);
        ck_assert_ok(nn_model_load(paths[i], NULL, &cases[i].model));
        stress(&cases[i], seconds());
        release(&cases[i]);
    }
    unlink(cfg);
    unlink(weights);
    rmdir(tmpdir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_shared_models);
    tcase_add_test(tc, test_training_beside_inference);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
