/*
 * cmd_eval.c — `nn-tool eval MODEL --data DIR`: accuracy and confusion matrix
 * over a folder with one subfolder of images per class. Folders map to the
 * model's classes by label name (exact, then ignoring case and punctuation),
 * else by number ("0", "1", ...), else by sorted order. Worker threads each
 * run their own nn_session; progress goes to stderr.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "class_folders.h"
#include "image_args.h"
#include "tool.h"

#define MATRIX_MAX_CLASSES 40

typedef struct item {
    char *path;
    int truth;
    int pred; /* -1 = failed */
} item;

typedef struct eval {
    const nn_model *model;
    const image_args *args;
    item *items;
    size_t n;
    atomic_size_t next, done, errors;
    atomic_uint classes;
    atomic_int finished; /* workers done */
    pthread_mutex_t lock;
    char first_error[1024];
} eval;

/* Append the files of folder `f` (class `truth`) to e->items. */
static int add_files(eval *e, const char *dir, const char *folder, int truth, size_t *cap)
{
    char *sub = folder_join(dir, folder), **files = NULL;
    int n = sub ? folder_list(sub, false, &files) : -1, rc = n < 0 ? -1 : 0;
    for (int i = 0; i < n && rc == 0; i++) {
        if (e->n == *cap) {
            *cap = *cap ? *cap * 2 : 1024;
            e->items = realloc(e->items, *cap * sizeof *e->items);
            if (!e->items)
                rc = -1;
        }
        char *p = rc ? NULL : folder_join(sub, files[i]);
        if (p)
            e->items[e->n++] = (item){p, truth, -1};
        else
            rc = -1;
    }
    folder_list_free(files, n);
    free(sub);
    return rc;
}

static void record_error(eval *e)
{
    atomic_fetch_add(&e->errors, 1);
    pthread_mutex_lock(&e->lock);
    if (!e->first_error[0])
        snprintf(e->first_error, sizeof e->first_error, "%s", nn_last_error());
    pthread_mutex_unlock(&e->lock);
}

static int classify_item(eval *e, nn_session *s, item *it)
{
    nn_image *im = NULL;
    nn_classification *r = NULL;
    uint32_t index = 0;
    int pred = -1;
    if (nn_image_load(it->path, NULL, &im) == NN_OK &&
        nn_classify(s, (const nn_image *const *)&im, 1, 1, &e->args->cls, &r) == NN_OK &&
        nn_classification_get(r, 0, 0, &index, NULL, NULL) == NN_OK) {
        pred = (int)index;
        atomic_store(&e->classes, nn_classification_class_count(r));
    } else {
        record_error(e);
    }
    nn_classification_free(r);
    nn_image_free(im);
    return pred;
}

static void *worker(void *arg)
{
    eval *e = arg;
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = 1; /* parallel over images, not inside one */
    nn_session *s = NULL;
    if (nn_session_create(e->model, &so, &s) != NN_OK)
        record_error(e);
    for (size_t i; s && (i = atomic_fetch_add(&e->next, 1)) < e->n;) {
        e->items[i].pred = classify_item(e, s, &e->items[i]);
        atomic_fetch_add(&e->done, 1);
    }
    nn_session_free(s);
    atomic_fetch_add(&e->finished, 1);
    return NULL;
}

static void progress(eval *e, size_t *last_decile, bool tty)
{
    size_t done = atomic_load(&e->done);
    if (tty) {
        fprintf(stderr, "\reval: %zu/%zu images", done, e->n);
    } else if (done * 10 / e->n > *last_decile) {
        *last_decile = done * 10 / e->n;
        fprintf(stderr, "eval: %zu/%zu images\n", done, e->n);
    }
}

static int run_threads(eval *e, int threads)
{
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    int started = 0;
    for (int t = 0; tid && t < threads; t++)
        started += pthread_create(&tid[started], NULL, worker, e) == 0;
    if (!started) {
        free(tid);
        fprintf(stderr, "nn-tool eval: cannot start threads\n");
        return 1;
    }
    bool tty = isatty(STDERR_FILENO);
    size_t decile = 0;
    while (atomic_load(&e->finished) < started) {
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
        if (e->n >= 200)
            progress(e, &decile, tty);
    }
    for (int t = 0; t < started; t++)
        pthread_join(tid[t], NULL);
    if (e->n >= 200 && tty)
        fprintf(stderr, "\n");
    free(tid);
    return 0;
}

static void print_matrix(const eval *e, uint32_t classes, char **labels, uint32_t nl)
{
    size_t *m = calloc((size_t)classes * classes, sizeof *m);
    bool *row_used = calloc(classes, sizeof *row_used);
    if (!m || !row_used)
        goto done;
    for (size_t i = 0; i < e->n; i++)
        if (e->items[i].pred >= 0 && e->items[i].truth < (int)classes && e->items[i].pred < (int)classes) {
            m[(size_t)e->items[i].truth * classes + (size_t)e->items[i].pred]++;
            row_used[e->items[i].truth] = true;
        }
    printf("confusion matrix (rows: true class, columns: predicted class)\n%-18s", "");
    for (uint32_t c = 0; c < classes; c++)
        printf(" %5u", c);
    printf("\n");
    for (uint32_t r = 0; r < classes; r++) {
        if (!row_used[r])
            continue;
        printf("%3u %-14.14s", r, r < nl ? labels[r] : "");
        for (uint32_t c = 0; c < classes; c++)
            printf(" %5zu", m[(size_t)r * classes + c]);
        printf("\n");
    }
done:
    free(m);
    free(row_used);
}

static void report(const eval *e, char **labels, uint32_t nl, const char *how, int nf, bool matrix)
{
    size_t correct = 0;
    for (size_t i = 0; i < e->n; i++)
        correct += e->items[i].pred == e->items[i].truth;
    uint32_t classes = atomic_load(&e->classes);
    printf("images: %zu in %d folders (mapped to classes by %s), correct: %zu, errors: %zu\n", e->n, nf, how, correct,
           atomic_load(&e->errors));
    if (e->first_error[0])
        fprintf(stderr, "nn-tool eval: first error: %s\n", e->first_error);
    if (classes && (classes <= MATRIX_MAX_CLASSES || matrix))
        print_matrix(e, classes, labels, nl);
    printf("accuracy: %.4f\n", e->n ? (double)correct / (double)e->n : 0.0);
}

static int collect(eval *e, const char *dir, char **labels, uint32_t nl, const char **how, int *nf)
{
    char **folders = NULL;
    *nf = folder_list(dir, true, &folders);
    if (*nf <= 0) {
        fprintf(stderr, "nn-tool eval: '%s' has no class subfolders\n", dir);
        free(folders);
        return 1;
    }
    int *cls = calloc((size_t)*nf, sizeof *cls);
    *how = cls ? folder_classes(folders, *nf, labels, nl, cls) : "sorted order";
    if (strcmp(*how, "name") != 0)
        fprintf(stderr, "nn-tool eval: folders mapped to classes by %s\n", *how);
    size_t cap = 0;
    int rc = cls ? 0 : 1;
    for (int f = 0; f < *nf && rc == 0; f++)
        if (add_files(e, dir, folders[f], cls[f], &cap) != 0) {
            fprintf(stderr, "nn-tool eval: cannot list '%s/%s'\n", dir, folders[f]);
            rc = 1;
        }
    folder_list_free(folders, *nf);
    free(cls);
    if (rc == 0 && e->n == 0) {
        fprintf(stderr, "nn-tool eval: no images under '%s'\n", dir);
        rc = 1;
    }
    return rc;
}

static void usage(void)
{
    fprintf(stderr, "usage: nn-tool eval MODEL --data DIR [--matrix] [options]\n"
                    "  --data DIR           one subfolder of images per class\n"
                    "  --matrix             print the confusion matrix even for more than %d classes\n%s",
            MATRIX_MAX_CLASSES, image_args_usage());
}

int cmd_eval(int argc, char **argv)
{
    image_args a;
    image_args_init(&a);
    const char *model_path = NULL, *dir = NULL;
    bool matrix = false;
    for (int i = 1; i < argc; i++) {
        int r = image_args_parse(&a, argc, argv, &i, "eval");
        if (r < 0) {
            image_args_free(&a);
            return 2;
        }
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            image_args_free(&a);
            return 0;
        }
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else if (strcmp(argv[i], "--matrix") == 0) {
            matrix = true;
        } else if (argv[i][0] != '-' && !model_path) {
            model_path = argv[i];
        } else {
            fprintf(stderr, "nn-tool eval: unexpected argument '%s'\n", argv[i]);
            model_path = NULL;
            break;
        }
    }
    if (!model_path || !dir) {
        usage();
        image_args_free(&a);
        return 2;
    }
    eval e = {.args = &a};
    pthread_mutex_init(&e.lock, NULL);
    nn_model *m = tool_load(model_path);
    e.model = m;
    uint32_t nl = 0;
    char **labels = m ? labels_split(a.labels_text ? a.labels_text : nn_model_metadata(m, "nn.labels"), &nl) : NULL;
    const char *how = "";
    int nf = 0, threads = a.threads > 0 ? a.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int rc = !m || collect(&e, dir, labels, nl, &how, &nf) || run_threads(&e, threads < 1 ? 1 : threads);
    if (!rc) {
        report(&e, labels, nl, how, nf, matrix);
        rc = atomic_load(&e.errors) ? 1 : 0;
    }
    for (size_t i = 0; i < e.n; i++)
        free(e.items[i].path);
    free(e.items);
    labels_free(labels, nl);
    nn_model_free(m);
    pthread_mutex_destroy(&e.lock);
    image_args_free(&a);
    return rc;
}
