/*
 * cmd_train.c — `nn-tool train MODEL --data DIR --out OUT.onnx`: fine-tune a
 * model on a folder with one subfolder of images per class. Images are fitted
 * to the model's input per its metadata (nn_image_to_tensor) once and kept
 * in memory; each epoch visits them in a seeded random order. With
 * --replace-head the classifier gets one output per subfolder, labelled with
 * the sorted subfolder names; without it, folders map to the model's classes
 * by nn.labels name, then by number, then by sorted order. The frozen-prefix
 * cache is used unless --no-cache (there is no random augmentation here).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "class_folders.h"
#include "image_args.h"
#include "plot.h"
#include "tool.h"

typedef struct sample {
    float *data; /* preprocessed, C*H*W floats */
    int64_t label;
} sample;

typedef struct opts {
    const char *model, *data, *out, *plot, *class_weights, *optimizer, *schedule, *bn;
    bool replace_head, no_cache, freeze_all, nesterov;
    long freeze_n;
    int epochs, batch;
    double lr, momentum, weight_decay, smoothing, clip;
    uint64_t seed;
    bool have_momentum;
} opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: nn-tool train MODEL --data DIR --out OUT.onnx [options]\n"
            "  --data DIR              one subfolder of images per class\n"
            "  --out OUT.onnx          where the fine-tuned model is saved\n"
            "  --replace-head          new classifier: one output per subfolder (sorted names become nn.labels)\n"
            "  --freeze N|all          freeze the first N layers with parameters, or all (a replaced head stays trainable)\n"
            "  --epochs E              default 10\n"
            "  --batch B               default 16\n"
            "  --lr LR                 default 0.01 (sgd), 0.001 (adam)\n"
            "  --optimizer sgd|adam|adamw   default sgd\n"
            "  --momentum M            sgd momentum, default 0.9\n"
            "  --nesterov              Nesterov momentum\n"
            "  --weight-decay W        default 0\n"
            "  --schedule none|step|cosine  learning-rate schedule over the run (step: x0.1 every third of it)\n"
            "  --label-smoothing S     default 0\n"
            "  --clip NORM             clip the global gradient norm\n"
            "  --bn frozen|train       BatchNormalization statistics, default frozen\n"
            "  --class-weights auto|W1,W2,...   weight the loss per class (auto = inverse class frequency)\n"
            "  --seed S                shuffling, new head and Dropout (default 1)\n"
            "  --plot loss.png         draw the loss and accuracy per epoch\n"
            "  --no-cache              recompute the frozen layers every epoch\n"
            "%s",
            image_args_usage());
}

static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void fmt_time(double s, char *buf, size_t cap)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

static void progress(bool tty, int epoch, int epochs, size_t done, size_t n, double loss, double acc, double eta,
                     bool end)
{
    char eta_s[32];
    fmt_time(eta, eta_s, sizeof eta_s);
    if (!tty) {
        if (end)
            fprintf(stderr, "epoch %d/%d  loss %.4f  accuracy %.4f  ETA %s\n", epoch, epochs, loss, acc, eta_s);
        return;
    }
    char bar[31];
    int filled = n ? (int)(30 * done / n) : 30;
    for (int i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\repoch %d/%d [%s] %zu/%zu  loss %.4f  accuracy %.4f  ETA %s ", epoch, epochs, bar, done, n,
            loss, acc, eta_s);
    if (end)
        fprintf(stderr, "\n");
}

static int parse_args(int argc, char **argv, opts *o, image_args *ia)
{
    memset(o, 0, sizeof *o);
    o->epochs = 10;
    o->batch = 16;
    o->lr = -1.0;
    o->seed = 1;
    o->freeze_n = -1;
    o->optimizer = "sgd";
    o->schedule = "none";
    o->bn = "frozen";
    for (int i = 1; i < argc; i++) {
        int r = image_args_parse(ia, argc, argv, &i, "train");
        if (r < 0)
            return -1;
        if (r > 0)
            continue;
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define VALUE() (v ? (i++, v) : (fprintf(stderr, "nn-tool train: %s needs a value\n", a), (const char *)NULL))
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage();
            exit(0);
        } else if (!strcmp(a, "--data")) {
            if (!(o->data = VALUE()))
                return -1;
        } else if (!strcmp(a, "--out")) {
            if (!(o->out = VALUE()))
                return -1;
        } else if (!strcmp(a, "--plot")) {
            if (!(o->plot = VALUE()))
                return -1;
        } else if (!strcmp(a, "--replace-head")) {
            o->replace_head = true;
        } else if (!strcmp(a, "--no-cache")) {
            o->no_cache = true;
        } else if (!strcmp(a, "--nesterov")) {
            o->nesterov = true;
        } else if (!strcmp(a, "--freeze")) {
            const char *s = VALUE();
            char *end;
            if (!s)
                return -1;
            if (!strcmp(s, "all"))
                o->freeze_all = true;
            else if ((o->freeze_n = strtol(s, &end, 10)) < 0 || *end) {
                fprintf(stderr, "nn-tool train: --freeze takes a layer count or 'all', not '%s'\n", s);
                return -1;
            }
        } else if (!strcmp(a, "--epochs") || !strcmp(a, "--batch")) {
            const char *s = VALUE();
            char *end;
            long n = s ? strtol(s, &end, 10) : 0;
            if (!s || *end || n < 1 || n > 1000000) {
                fprintf(stderr, "nn-tool train: %s takes a positive number\n", a);
                return -1;
            }
            *(!strcmp(a, "--epochs") ? &o->epochs : &o->batch) = (int)n;
        } else if (!strcmp(a, "--lr") || !strcmp(a, "--momentum") || !strcmp(a, "--weight-decay") ||
                   !strcmp(a, "--label-smoothing") || !strcmp(a, "--clip")) {
            const char *s = VALUE();
            char *end;
            double x = s ? strtod(s, &end) : NAN;
            if (!s || *end || !isfinite(x) || x < 0) {
                fprintf(stderr, "nn-tool train: %s takes a number >= 0\n", a);
                return -1;
            }
            if (!strcmp(a, "--lr"))
                o->lr = x;
            else if (!strcmp(a, "--momentum"))
                o->momentum = x, o->have_momentum = true;
            else if (!strcmp(a, "--weight-decay"))
                o->weight_decay = x;
            else if (!strcmp(a, "--label-smoothing"))
                o->smoothing = x;
            else
                o->clip = x;
        } else if (!strcmp(a, "--optimizer")) {
            if (!(o->optimizer = VALUE()))
                return -1;
        } else if (!strcmp(a, "--schedule")) {
            if (!(o->schedule = VALUE()))
                return -1;
        } else if (!strcmp(a, "--bn")) {
            if (!(o->bn = VALUE()))
                return -1;
        } else if (!strcmp(a, "--class-weights")) {
            if (!(o->class_weights = VALUE()))
                return -1;
        } else if (!strcmp(a, "--seed")) {
            const char *s = VALUE();
            char *end;
            if (!s)
                return -1;
            errno = 0;
            o->seed = strtoull(s, &end, 10);
            if (*end || errno) {
                fprintf(stderr, "nn-tool train: --seed takes a number\n");
                return -1;
            }
        } else if (a[0] != '-' && !o->model) {
            o->model = a;
        } else {
            fprintf(stderr, "nn-tool train: unexpected argument '%s'\n", a);
            return -1;
        }
#undef VALUE
    }
    if (!o->model || !o->data || !o->out) {
        usage();
        return -1;
    }
    return 0;
}

/* Load and preprocess every image; one sample per file. */
static int load_samples(nn_model *m, const opts *o, const image_args *ia, char **folders, int nf, const int *cls,
                        sample **out, size_t *count, size_t *per_sample, int64_t *dims, int32_t *rank)
{
    size_t n = 0, cap = 0;
    sample *s = NULL;
    bool tty = isatty(STDERR_FILENO);
    for (int f = 0; f < nf; f++) {
        char *sub = folder_join(o->data, folders[f]), **files = NULL;
        int nfiles = sub ? folder_list(sub, false, &files) : -1;
        if (nfiles < 0) {
            fprintf(stderr, "nn-tool train: cannot list '%s'\n", sub ? sub : o->data);
            free(sub);
            goto fail;
        }
        for (int k = 0; k < nfiles; k++) {
            char *path = folder_join(sub, files[k]);
            nn_image *im = NULL;
            nn_tensor *t = NULL;
            if (!path || nn_image_load(path, NULL, &im) != NN_OK ||
                nn_image_to_tensor(m, (const nn_image *const *)&im, 1, &ia->pre, &t) != NN_OK) {
                fprintf(stderr, "nn-tool train: %s: %s\n", path ? path : files[k], nn_last_error());
                nn_image_free(im);
                free(path);
                folder_list_free(files, nfiles);
                free(sub);
                goto fail;
            }
            nn_image_free(im);
            free(path);
            if (n == 0) {
                *rank = nn_tensor_rank(t);
                for (int32_t d = 0; d < *rank; d++)
                    dims[d] = nn_tensor_dim(t, d);
                *per_sample = nn_tensor_nbytes(t);
            } else if (nn_tensor_nbytes(t) != *per_sample) {
                fprintf(stderr, "nn-tool train: %s/%s has another input size than the first image\n", sub, files[k]);
                nn_tensor_free(t);
                folder_list_free(files, nfiles);
                free(sub);
                goto fail;
            }
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                sample *b = realloc(s, cap * sizeof *s);
                if (!b) {
                    nn_tensor_free(t);
                    folder_list_free(files, nfiles);
                    free(sub);
                    goto fail;
                }
                s = b;
            }
            s[n].data = malloc(*per_sample);
            if (!s[n].data) {
                nn_tensor_free(t);
                folder_list_free(files, nfiles);
                free(sub);
                goto fail;
            }
            memcpy(s[n].data, nn_tensor_data(t), *per_sample);
            s[n].label = cls[f];
            n++;
            nn_tensor_free(t);
            if (tty && n % 50 == 0)
                fprintf(stderr, "\rloading images: %zu", n);
        }
        folder_list_free(files, nfiles);
        free(sub);
    }
    if (tty && n >= 50)
        fprintf(stderr, "\rloading images: %zu\n", n);
    if (n == 0) {
        fprintf(stderr, "nn-tool train: no images under '%s'\n", o->data);
        goto fail;
    }
    *out = s;
    *count = n;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        free(s[i].data);
    free(s);
    return -1;
}

static int setup_class_weights(nn_trainer *t, const opts *o, const sample *s, size_t n, int64_t classes)
{
    if (!o->class_weights)
        return 0;
    float *w = calloc((size_t)classes, sizeof *w);
    uint64_t *counts = calloc((size_t)classes, sizeof *counts);
    int rc = -1;
    if (!w || !counts)
        goto done;
    if (!strcmp(o->class_weights, "auto")) {
        for (size_t i = 0; i < n; i++)
            if (s[i].label >= 0 && s[i].label < classes)
                counts[s[i].label]++;
        if (nn_class_weights_from_counts(counts, (uint32_t)classes, w) != NN_OK) {
            tool_fail("class weights");
            goto done;
        }
    } else {
        const char *p = o->class_weights;
        for (int64_t k = 0; k < classes; k++) {
            char *end;
            w[k] = strtof(p, &end);
            if (end == p || (k + 1 < classes ? *end != ',' : *end != '\0')) {
                fprintf(stderr, "nn-tool train: --class-weights needs 'auto' or %lld comma-separated numbers\n",
                        (long long)classes);
                goto done;
            }
            p = end + 1;
        }
    }
    fprintf(stderr, "class weights:");
    for (int64_t k = 0; k < classes; k++)
        fprintf(stderr, " %.3g", (double)w[k]);
    fprintf(stderr, "\n");
    if (nn_trainer_set_class_weights(t, w, (uint32_t)classes) != NN_OK)
        tool_fail("class weights");
    else
        rc = 0;
done:
    free(w);
    free(counts);
    return rc;
}

static int trainer_options(const opts *o, const image_args *ia, int64_t steps, nn_trainer_options *to)
{
    nn_trainer_options_init(to, NN_TRAINER_OPTIONS_VERSION);
    if (!strcmp(o->optimizer, "sgd"))
        to->optimizer = NN_OPTIMIZER_SGD;
    else if (!strcmp(o->optimizer, "adam"))
        to->optimizer = NN_OPTIMIZER_ADAM;
    else if (!strcmp(o->optimizer, "adamw"))
        to->optimizer = NN_OPTIMIZER_ADAMW;
    else {
        fprintf(stderr, "nn-tool train: --optimizer takes sgd, adam or adamw\n");
        return -1;
    }
    to->learning_rate = (float)(o->lr > 0 ? o->lr : to->optimizer == NN_OPTIMIZER_SGD ? 0.01 : 0.001);
    if (o->have_momentum)
        to->momentum = (float)o->momentum;
    to->nesterov = o->nesterov;
    to->weight_decay = (float)o->weight_decay;
    to->label_smoothing = (float)o->smoothing;
    to->clip_norm = (float)o->clip;
    to->seed = o->seed;
    to->num_threads = ia->threads;
    if (!strcmp(o->schedule, "step")) {
        to->lr_schedule = NN_LR_STEP;
        to->lr_step_size = (uint32_t)(steps / 3 > 0 ? steps / 3 : 1);
    } else if (!strcmp(o->schedule, "cosine")) {
        to->lr_schedule = NN_LR_COSINE;
        to->lr_total_steps = (uint32_t)(steps > 0 ? steps : 1);
    } else if (strcmp(o->schedule, "none") != 0) {
        fprintf(stderr, "nn-tool train: --schedule takes none, step or cosine\n");
        return -1;
    }
    if (!strcmp(o->bn, "train"))
        to->batchnorm = NN_BN_TRAIN;
    else if (strcmp(o->bn, "frozen") != 0) {
        fprintf(stderr, "nn-tool train: --bn takes frozen or train\n");
        return -1;
    }
    return 0;
}

int cmd_train(int argc, char **argv)
{
    image_args ia;
    image_args_init(&ia);
    opts o;
    nn_model *m = NULL;
    nn_trainer *t = NULL;
    char **folders = NULL;
    int nf = 0, rc = 1;
    sample *s = NULL;
    size_t n = 0, per_sample = 0;
    int *cls = NULL;
    int64_t *order = NULL, dims[NN_MAX_RANK];
    int32_t rank = 0;
    nn_tensor *x = NULL, *y = NULL;
    uint64_t *ids = NULL;
    float *curve_loss = NULL, *curve_acc = NULL;
    if (parse_args(argc, argv, &o, &ia) != 0) {
        image_args_free(&ia);
        return 2;
    }
    if (!(m = tool_load(o.model)))
        goto done;
    nf = folder_list(o.data, true, &folders);
    if (nf <= 0) {
        fprintf(stderr, "nn-tool train: '%s' has no class subfolders\n", o.data);
        goto done;
    }
    cls = calloc((size_t)nf, sizeof *cls);
    if (!cls)
        goto done;
    /* freeze first: a head replaced afterwards stays trainable */
    if (o.freeze_all && nn_freeze(m, NN_SELECT_ALL, NULL, 0) != NN_OK) {
        tool_fail("--freeze");
        goto done;
    }
    if (o.freeze_n > 0 && nn_freeze(m, NN_SELECT_FIRST, NULL, (uint32_t)o.freeze_n) != NN_OK) {
        tool_fail("--freeze");
        goto done;
    }
    if (o.replace_head) {
        if (nn_replace_head(m, nf, (const char *const *)folders, (uint32_t)nf, o.seed) != NN_OK) {
            tool_fail("--replace-head");
            goto done;
        }
        for (int f = 0; f < nf; f++)
            cls[f] = f;
    } else {
        uint32_t nl = 0;
        char **labels = labels_split(ia.labels_text ? ia.labels_text : nn_model_metadata(m, "nn.labels"), &nl);
        fprintf(stderr, "folders mapped to the model's classes by %s\n", folder_classes(folders, nf, labels, nl, cls));
        labels_free(labels, nl);
    }
    if (load_samples(m, &o, &ia, folders, nf, cls, &s, &n, &per_sample, dims, &rank) != 0)
        goto done;
    int64_t classes = 0;
    if (nn_model_output_dim(m, 0, -1, &classes, NULL) != NN_OK || classes < 1) {
        classes = 0;
        for (int f = 0; f < nf; f++)
            if (cls[f] + 1 > classes)
                classes = cls[f] + 1;
    }
    const int64_t batches = (int64_t)((n + (size_t)o.batch - 1) / (size_t)o.batch);
    nn_trainer_options to;
    if (trainer_options(&o, &ia, batches * o.epochs, &to) != 0)
        goto done;
    if (nn_trainer_create(m, &to, &t) != NN_OK) {
        tool_fail("nn_trainer_create");
        goto done;
    }
    if (setup_class_weights(t, &o, s, n, classes) != 0)
        goto done;
    fprintf(stderr, "training on %zu images in %d classes, %lld trainable of %llu parameters, %d epochs of %lld batches\n",
            n, nf, (long long)nn_model_trainable_param_count(m), (unsigned long long)nn_model_param_count(m), o.epochs,
            (long long)batches);
    order = malloc(n * sizeof *order);
    ids = malloc((size_t)o.batch * sizeof *ids);
    curve_loss = calloc((size_t)o.epochs, sizeof *curve_loss);
    curve_acc = calloc((size_t)o.epochs, sizeof *curve_acc);
    if (!order || !ids || !curve_loss || !curve_acc)
        goto done;
    for (size_t i = 0; i < n; i++)
        order[i] = (int64_t)i;
    uint64_t rng = o.seed;
    const bool tty = isatty(STDERR_FILENO);
    const double t_start = now_s();
    int64_t steps_done = 0;
    for (int e = 0; e < o.epochs; e++) {
        for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
            size_t j = (size_t)(rng_next(&rng) % i);
            int64_t tmp = order[i - 1];
            order[i - 1] = order[j];
            order[j] = tmp;
        }
        double loss_sum = 0, correct = 0;
        size_t seen = 0;
        for (size_t b0 = 0; b0 < n; b0 += (size_t)o.batch) {
            const int64_t bn = (int64_t)(n - b0 < (size_t)o.batch ? n - b0 : (size_t)o.batch);
            if (!x || nn_tensor_dim(x, 0) != bn) {
                nn_tensor_free(x);
                nn_tensor_free(y);
                x = y = NULL;
                dims[0] = bn;
                if (nn_tensor_create(NN_DTYPE_FLOAT32, rank, dims, &x) != NN_OK ||
                    nn_tensor_create(NN_DTYPE_INT64, 1, &bn, &y) != NN_OK) {
                    tool_fail("batch");
                    goto done;
                }
            }
            uint8_t *xd = nn_tensor_data(x);
            int64_t *yd = nn_tensor_data(y);
            for (int64_t i = 0; i < bn; i++) {
                const sample *sp = &s[order[b0 + (size_t)i]];
                memcpy(xd + (size_t)i * per_sample, sp->data, per_sample);
                yd[i] = sp->label;
                ids[i] = (uint64_t)order[b0 + (size_t)i];
            }
            float loss = 0;
            nn_status st = o.no_cache ? nn_train_step(m, t, x, y, &loss) : nn_train_step_cached(m, t, x, ids, y, &loss);
            if (st != NN_OK) {
                if (tty)
                    fprintf(stderr, "\n");
                tool_fail("nn_train_step");
                goto done;
            }
            steps_done++;
            loss_sum += (double)loss * (double)bn;
            correct += (double)nn_trainer_accuracy(t) * (double)bn;
            seen += (size_t)bn;
            const double elapsed = now_s() - t_start;
            const double eta = elapsed / (double)steps_done * (double)(batches * o.epochs - steps_done);
            progress(tty, e + 1, o.epochs, seen, n, loss_sum / (double)seen, correct / (double)seen, eta, seen == n);
        }
        curve_loss[e] = (float)(loss_sum / (double)n);
        curve_acc[e] = (float)(correct / (double)n);
    }
    nn_trainer_stats stats = {.version = NN_TRAINER_STATS_VERSION};
    if (nn_trainer_get_stats(t, &stats) == NN_OK && stats.cache_hits)
        fprintf(stderr, "frozen-prefix cache: %llu of %llu batches skipped %u frozen layers\n",
                (unsigned long long)stats.cache_hits, (unsigned long long)(stats.cache_hits + stats.cache_misses),
                stats.prefix_layers);
    fprintf(stderr, "trained in %.1f s; final epoch loss %.4f, accuracy %.4f\n", now_s() - t_start,
            (double)curve_loss[o.epochs - 1], (double)curve_acc[o.epochs - 1]);
    if (nn_model_save(m, o.out) != NN_OK) {
        tool_fail("saving");
        goto done;
    }
    fprintf(stderr, "saved %s\n", o.out);
    if (o.plot) {
        if (plot_training(o.plot, curve_loss, curve_acc, o.epochs) != 0) {
            fprintf(stderr, "nn-tool train: cannot write the plot '%s'\n", o.plot);
            goto done;
        }
        fprintf(stderr, "plotted %s\n", o.plot);
    }
    rc = 0;
done:
    for (size_t i = 0; i < n; i++)
        free(s[i].data);
    free(s);
    free(cls);
    free(order);
    free(ids);
    free(curve_loss);
    free(curve_acc);
    nn_tensor_free(x);
    nn_tensor_free(y);
    folder_list_free(folders, nf > 0 ? nf : 0);
    nn_trainer_free(t);
    nn_model_free(m);
    image_args_free(&ia);
    return rc;
}
