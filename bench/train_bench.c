/*
 * train_bench.c — training speed on a model, through the public API only.
 *
 *   train_bench MODEL step  [--batch 8] [--steps 3] [--threads 0]
 *       median time of one nn_train_step fine-tuning everything vs with the
 *       backbone frozen (only the last Gemm/MatMul/Conv layer trained), and
 *       the gradient buffers each keeps;
 *   train_bench MODEL cache [--batch 8] [--samples 64] [--epochs 10] [--threads 0]
 *       one inference pass over a fixed set of samples (nn_session, same
 *       batch) vs `epochs` epochs of head-only training with the frozen-prefix
 *       cache (nn_train_step_cached) and without it (one epoch, extrapolated).
 *
 * Lines are "key: value" for bench/train.py. Inputs are seeded noise; only
 * the time matters.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nn.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what)
{
    fprintf(stderr, "train_bench: %s: %s\n", what, nn_last_error());
    exit(1);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f;
}

/* A batch of the model's input shape with `batch` rows. */
static nn_tensor *make_input(const nn_model *m, int64_t batch)
{
    int32_t rank;
    if (nn_model_input_info(m, 0, NULL, NULL, &rank) != NN_OK)
        die("input");
    int64_t dims[NN_MAX_RANK];
    for (int32_t d = 0; d < rank; d++) {
        if (nn_model_input_dim(m, 0, d, &dims[d], NULL) != NN_OK)
            die("input dim");
        if (dims[d] < 0)
            dims[d] = d == 0 ? 1 : 224;
    }
    dims[0] = batch;
    nn_tensor *x = NULL;
    if (nn_tensor_create(NN_DTYPE_FLOAT32, rank, dims, &x) != NN_OK)
        die("tensor");
    float *p = nn_tensor_data(x);
    for (int64_t i = 0; i < nn_tensor_count(x); i++)
        p[i] = frand();
    return x;
}

static int64_t class_count(const nn_model *m)
{
    int64_t k = 0;
    int32_t rank;
    if (nn_model_output_info(m, 0, NULL, NULL, &rank) != NN_OK || rank < 2 || nn_model_output_dim(m, 0, 1, &k, NULL) != NN_OK)
        die("output");
    return k > 0 ? k : 10;
}

static nn_tensor *make_labels(int64_t batch, int64_t classes)
{
    nn_tensor *y = NULL;
    if (nn_tensor_create(NN_DTYPE_INT64, 1, &batch, &y) != NN_OK)
        die("labels");
    int64_t *p = nn_tensor_data(y);
    for (int64_t i = 0; i < batch; i++)
        p[i] = (int64_t)((frand() + 1.0f) * 0.5f * (float)classes) % classes;
    return y;
}

/* Freeze everything but the last layer that holds parameters (the classifier). */
static const char *freeze_backbone(nn_model *m)
{
    static char head[512];
    const char *name = NULL, *op = NULL;
    for (uint32_t i = nn_model_layer_count(m); i-- > 0;) {
        if (nn_model_layer_info(m, i, &name, &op) != NN_OK)
            die("layer");
        if (!strcmp(op, "Gemm") || !strcmp(op, "MatMul") || !strcmp(op, "Conv"))
            break;
        name = NULL;
    }
    if (!name)
        die("no classifier layer");
    snprintf(head, sizeof head, "%s", name);
    if (nn_freeze(m, NN_SELECT_ALL, NULL, 0) != NN_OK || nn_unfreeze(m, NN_SELECT_LAYER, head, 0) != NN_OK)
        die("freeze");
    return head;
}

static double median_step_ms(nn_model *m, const nn_trainer_options *o, const nn_tensor *x, const nn_tensor *y,
                             int steps, nn_trainer_stats *stats)
{
    nn_trainer *t = NULL;
    if (nn_trainer_create(m, o, &t) != NN_OK)
        die("nn_trainer_create");
    float loss;
    if (nn_train_step(m, t, x, y, &loss) != NN_OK) /* warm-up: plan and buffers */
        die("nn_train_step");
    double *ms = calloc((size_t)steps, sizeof *ms);
    for (int s = 0; s < steps; s++) {
        double t0 = now_ms();
        if (nn_train_step(m, t, x, y, &loss) != NN_OK)
            die("nn_train_step");
        ms[s] = now_ms() - t0;
    }
    qsort(ms, (size_t)steps, sizeof *ms, cmp_double);
    double med = ms[steps / 2];
    free(ms);
    stats->version = NN_TRAINER_STATS_VERSION;
    nn_trainer_get_stats(t, stats);
    nn_trainer_free(t);
    return med;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: train_bench MODEL step|cache [--batch B] [--steps S] [--samples N] [--epochs E] "
                        "[--threads T]\n");
        return 2;
    }
    const char *path = argv[1], *mode = argv[2];
    int64_t batch = 8, samples = 64;
    int steps = 3, epochs = 10, threads = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--batch"))
            batch = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--steps"))
            steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--samples"))
            samples = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--epochs"))
            epochs = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads"))
            threads = atoi(argv[i + 1]);
    }
    nn_model *m = NULL;
    if (nn_model_load(path, NULL, &m) != NN_OK)
        die("load");
    /* a model with a fixed batch of another size gets this batch (sessions check it; trainers do not) */
    int64_t b0 = -1;
    const char *in_name = NULL;
    int32_t in_rank = 0;
    if (nn_model_input_info(m, 0, &in_name, NULL, &in_rank) != NN_OK || nn_model_input_dim(m, 0, 0, &b0, NULL) != NN_OK)
        die("input");
    if (b0 > 0 && b0 != batch) {
        int64_t dims[NN_MAX_RANK];
        for (int32_t d = 0; d < in_rank; d++)
            dims[d] = d == 0 ? batch : -1;
        if (nn_replace_input(m, in_name, in_rank, dims, NULL) != NN_OK)
            die("nn_replace_input");
    }
    nn_trainer_options o;
    nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION);
    o.num_threads = threads;
    o.learning_rate = 1e-4f;
    const int64_t classes = class_count(m);
    printf("model: %s\nbatch: %lld\nthreads: %d\n", path, (long long)batch, threads);
    if (!strcmp(mode, "step")) {
        nn_tensor *x = make_input(m, batch), *y = make_labels(batch, classes);
        nn_trainer_stats full, frozen;
        double t_full = median_step_ms(m, &o, x, y, steps, &full);
        const char *head = freeze_backbone(m);
        double t_frozen = median_step_ms(m, &o, x, y, steps, &frozen);
        printf("head_layer: %s\n", head);
        printf("full_step_ms: %.1f\nfull_backward_layers: %u\nfull_gradient_buffers: %u\nfull_gradient_mb: %.1f\n"
               "full_arena_mb: %.1f\n",
               t_full, full.backward_layers, full.gradient_buffers, (double)full.gradient_bytes / 1048576.0,
               (double)full.arena_bytes / 1048576.0);
        printf("frozen_step_ms: %.1f\nfrozen_backward_layers: %u\nfrozen_gradient_buffers: %u\nfrozen_gradient_mb: %.3f\n"
               "frozen_arena_mb: %.1f\n",
               t_frozen, frozen.backward_layers, frozen.gradient_buffers, (double)frozen.gradient_bytes / 1048576.0,
               (double)frozen.arena_bytes / 1048576.0);
        printf("full_over_frozen: %.2f\n", t_full / t_frozen);
        nn_tensor_free(x);
        nn_tensor_free(y);
    } else if (!strcmp(mode, "cache")) {
        const int64_t nb = (samples + batch - 1) / batch;
        nn_tensor **xs = calloc((size_t)nb, sizeof *xs), **ys = calloc((size_t)nb, sizeof *ys);
        for (int64_t b = 0; b < nb; b++)
            xs[b] = make_input(m, batch), ys[b] = make_labels(batch, classes);
        /* one inference pass over the data */
        nn_session_options so;
        nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
        so.num_threads = threads;
        nn_session *s = NULL;
        if (nn_session_create(m, &so, &s) != NN_OK)
            die("session");
        if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&xs[0]) != NN_OK) /* warm-up */
            die("run");
        double t0 = now_ms();
        for (int64_t b = 0; b < nb; b++)
            if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&xs[b]) != NN_OK)
                die("run");
        const double t_forward = now_ms() - t0;
        nn_session_free(s);
        freeze_backbone(m);
        /* epochs with the cache (sample ids = row numbers; batches in a rotating order) */
        nn_trainer *t = NULL;
        if (nn_trainer_create(m, &o, &t) != NN_OK)
            die("nn_trainer_create");
        uint64_t *ids = calloc((size_t)batch, sizeof *ids);
        double t_first = 0;
        t0 = now_ms();
        for (int e = 0; e < epochs; e++) {
            for (int64_t k = 0; k < nb; k++) {
                int64_t b = (k + e) % nb;
                for (int64_t i = 0; i < batch; i++)
                    ids[i] = (uint64_t)(b * batch + i);
                float loss;
                if (nn_train_step_cached(m, t, xs[b], ids, ys[b], &loss) != NN_OK)
                    die("nn_train_step_cached");
            }
            if (e == 0)
                t_first = now_ms() - t0;
        }
        const double t_cached = now_ms() - t0;
        nn_trainer_stats st = {.version = NN_TRAINER_STATS_VERSION};
        nn_trainer_get_stats(t, &st);
        nn_trainer_free(t);
        /* one epoch without the cache */
        if (nn_trainer_create(m, &o, &t) != NN_OK)
            die("nn_trainer_create");
        t0 = now_ms();
        for (int64_t b = 0; b < nb; b++) {
            float loss;
            if (nn_train_step(m, t, xs[b], ys[b], &loss) != NN_OK)
                die("nn_train_step");
        }
        const double t_uncached_epoch = now_ms() - t0;
        nn_trainer_free(t);
        printf("samples: %lld\nepochs: %d\n", (long long)(nb * batch), epochs);
        printf("forward_pass_ms: %.1f\n", t_forward);
        printf("cached_first_epoch_ms: %.1f\n", t_first);
        printf("cached_total_ms: %.1f\n", t_cached);
        printf("uncached_epoch_ms: %.1f\n", t_uncached_epoch);
        printf("uncached_total_est_ms: %.1f\n", t_uncached_epoch * epochs);
        printf("cache_hits: %llu\ncache_misses: %llu\ncache_mb: %.1f\nprefix_layers: %u\n",
               (unsigned long long)st.cache_hits, (unsigned long long)st.cache_misses,
               (double)(st.cache_memory_bytes + st.cache_disk_bytes) / 1048576.0, st.prefix_layers);
        printf("cached_over_forward: %.3f\n", t_cached / t_forward);
        printf("speedup_vs_uncached: %.2f\n", t_uncached_epoch * epochs / t_cached);
        for (int64_t b = 0; b < nb; b++)
            nn_tensor_free(xs[b]), nn_tensor_free(ys[b]);
        free(xs);
        free(ys);
        free(ids);
    } else {
        fprintf(stderr, "train_bench: unknown mode '%s'\n", mode);
        return 2;
    }
    nn_model_free(m);
    return 0;
}
