/*
 * cmd_test.c — `nn-tool test DIR...`: run ONNX backend-test directories
 * (model.onnx and test_data_set_N/input_K.pb, output_K.pb) and compare outputs.
 * A case whose model uses something nn does not support is skipped; any
 * other failure fails the case. Final line: "N passed, N failed, N skipped".
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

#define MAX_IO 64

typedef struct {
    double rtol, atol;
    double range_tol; /* > 0: pass when max abs error <= range_tol * (max - min) of the expected output */
    int threads;
    bool quiet;
    bool no_skip;     /* unsupported counts as failure */
} test_opts;

/* Largest (max - min) over the float outputs compared in the current case,
 * reported next to the error so tolerances can be read as a fraction. */
static double case_range;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Sorted names in `dir` starting with `prefix`; returns count (<= cap). */
static int list_prefixed(const char *dir, const char *prefix, char **out, int cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            out[n++] = strdup(e->d_name);
    closedir(d);
    qsort(out, (size_t)n, sizeof *out, cmp_str);
    return n;
}

static double elem(const nn_tensor *t, int64_t i)
{
    const void *p = nn_tensor_data_const(t);
    switch (nn_tensor_dtype(t)) {
    case NN_DTYPE_FLOAT32: return ((const float *)p)[i];
    case NN_DTYPE_FLOAT64: return ((const double *)p)[i];
    case NN_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    case NN_DTYPE_INT32: return ((const int32_t *)p)[i];
    case NN_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case NN_DTYPE_INT16: return ((const int16_t *)p)[i];
    case NN_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case NN_DTYPE_INT8: return ((const int8_t *)p)[i];
    case NN_DTYPE_UINT8: case NN_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    case NN_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return NAN;
    }
}

/* Compare got with want; on mismatch write a reason. Returns true if equal within tolerance. */
static bool compare(const nn_tensor *got, const nn_tensor *want, const test_opts *o, double *max_err, char *why, size_t cap)
{
    char a[128], b[128];
    if (nn_tensor_dtype(got) != nn_tensor_dtype(want)) {
        snprintf(why, cap, "type %s, expected %s", nn_dtype_name(nn_tensor_dtype(got)), nn_dtype_name(nn_tensor_dtype(want)));
        return false;
    }
    bool same_shape = nn_tensor_rank(got) == nn_tensor_rank(want);
    for (int32_t i = 0; same_shape && i < nn_tensor_rank(got); i++)
        same_shape = nn_tensor_dim(got, i) == nn_tensor_dim(want, i);
    if (!same_shape) {
        snprintf(why, cap, "shape %s, expected %s", tool_shape(got, a, sizeof a), tool_shape(want, b, sizeof b));
        return false;
    }
    bool exact = nn_tensor_dtype(got) != NN_DTYPE_FLOAT32 && nn_tensor_dtype(got) != NN_DTYPE_FLOAT64;
    int64_t n = nn_tensor_count(got), bad = -1;
    double range_atol = -1;
    if (!exact && n > 0) {
        double lo = INFINITY, hi = -INFINITY;
        for (int64_t i = 0; i < n; i++) {
            double w = elem(want, i);
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        if (isfinite(hi - lo) && hi - lo > case_range)
            case_range = hi - lo;
        if (o->range_tol > 0)
            range_atol = o->range_tol * (hi - lo);
    }
    for (int64_t i = 0; i < n; i++) {
        double g = elem(got, i), w = elem(want, i);
        if (isnan(w) && isnan(g))
            continue;
        if (isinf(w) && g == w)
            continue;
        double err = fabs(g - w);
        if (isnan(err))
            err = INFINITY;
        if (err > *max_err)
            *max_err = err;
        bool ok = exact ? g == w : range_atol >= 0 ? err <= range_atol : err <= o->atol + o->rtol * fabs(w);
        if (!ok && bad < 0)
            bad = i;
    }
    if (bad >= 0) {
        if (range_atol >= 0)
            snprintf(why, cap, "element %lld is %.9g, expected %.9g (max abs error %.3g > %.3g = %g of the range)",
                     (long long)bad, elem(got, bad), elem(want, bad), *max_err, range_atol, o->range_tol);
        else
            snprintf(why, cap, "element %lld is %.9g, expected %.9g (max abs error %.3g)", (long long)bad,
                     elem(got, bad), elem(want, bad), *max_err);
        return false;
    }
    return true;
}

enum { CASE_PASS, CASE_FAIL, CASE_SKIP };


static int run_set(nn_session *s, const nn_model *m, const char *set_dir, const test_opts *o, double *max_err,
                   char *why, size_t cap)
{
    char *in_names[MAX_IO], *out_names[MAX_IO];
    nn_tensor *ins[MAX_IO] = {0}, *wants[MAX_IO] = {0};
    const char *names[MAX_IO];
    int n_in = list_prefixed(set_dir, "input_", in_names, MAX_IO);
    int n_out = list_prefixed(set_dir, "output_", out_names, MAX_IO);
    int result = CASE_FAIL;
    char path[4096];
    bool named = true;
    for (int i = 0; i < n_in; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", set_dir, i);
        if (nn_tensor_read_file(path, &ins[i]) != NN_OK) {
            snprintf(why, cap, "%s", nn_last_error());
            goto done;
        }
        names[i] = nn_tensor_name(ins[i]);
        if (!*names[i])
            named = false;
    }
    /* Name-match when every input file is named after a model input. */
    for (int i = 0; named && i < n_in; i++) {
        bool found = false;
        for (uint32_t k = 0; k < nn_model_input_count(m); k++) {
            const char *mn;
            nn_model_input_info(m, k, &mn, NULL, NULL);
            found |= strcmp(mn, names[i]) == 0;
        }
        named = found;
    }
    nn_status st = nn_session_run(s, (uint32_t)n_in, named ? names : NULL, (const nn_tensor *const *)ins);
    if (st != NN_OK) {
        snprintf(why, cap, "%s", nn_last_error());
        result = st == NN_E_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
        goto done;
    }
    if ((uint32_t)n_out > nn_session_output_count(s)) {
        snprintf(why, cap, "%d expected outputs, the model gives %u", n_out, nn_session_output_count(s));
        goto done;
    }
    for (int k = 0; k < n_out; k++) {
        snprintf(path, sizeof path, "%s/output_%d.pb", set_dir, k);
        if (nn_tensor_read_file(path, &wants[k]) != NN_OK) {
            snprintf(why, cap, "%s", nn_last_error());
            goto done;
        }
        char reason[512];
        if (!compare(nn_session_output(s, (uint32_t)k), wants[k], o, max_err, reason, sizeof reason)) {
            snprintf(why, cap, "output %d: %s", k, reason);
            goto done;
        }
    }
    result = CASE_PASS;
done:
    for (int i = 0; i < n_in; i++) {
        nn_tensor_free(ins[i]);
        free(in_names[i]);
    }
    for (int k = 0; k < n_out; k++) {
        nn_tensor_free(wants[k]);
        free(out_names[k]);
    }
    return result;
}

static int run_case(const char *dir, const test_opts *o, double *max_err, char *why, size_t cap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    nn_model *m = NULL;
    nn_status st = nn_model_load(path, NULL, &m);
    if (st != NN_OK) {
        snprintf(why, cap, "%s", nn_last_error());
        return st == NN_E_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
    }
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = o->threads;
    nn_session *s = NULL;
    if (nn_session_create(m, &so, &s) != NN_OK) {
        snprintf(why, cap, "%s", nn_last_error());
        nn_model_free(m);
        return CASE_FAIL;
    }
    char *sets[256];
    int n_sets = list_prefixed(dir, "test_data_set_", sets, 256);
    int result = n_sets ? CASE_PASS : CASE_FAIL;
    if (!n_sets)
        snprintf(why, cap, "no test_data_set_* folder");
    for (int i = 0; i < n_sets; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, sets[i]);
        if (result == CASE_PASS)
            result = run_set(s, m, path, o, max_err, why, cap);
        free(sets[i]);
    }
    nn_session_free(s);
    nn_model_free(m);
    return result;
}

int cmd_test(int argc, char **argv)
{
    test_opts o = {.rtol = 1e-3, .atol = 1e-5, .range_tol = 0, .threads = 1, .quiet = false, .no_skip = false};
    int passed = 0, failed = 0, skipped = 0, n_dirs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rtol") == 0 && i + 1 < argc)
            o.rtol = atof(argv[++i]);
        else if (strcmp(argv[i], "--atol") == 0 && i + 1 < argc)
            o.atol = atof(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            o.threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--range-tol") == 0 && i + 1 < argc)
            o.range_tol = atof(argv[++i]);
        else if (strcmp(argv[i], "--quiet") == 0)
            o.quiet = true;
        else if (strcmp(argv[i], "--no-skip") == 0)
            o.no_skip = true;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "nn-tool test: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') {
            if (strcmp(argv[i], "--quiet") != 0 && strcmp(argv[i], "--no-skip") != 0)
                i++;
            continue;
        }
        if (!is_dir(argv[i])) {
            fprintf(stderr, "nn-tool test: '%s' is not a directory\n", argv[i]);
            return 2;
        }
        n_dirs++;
        /* the case name: last path component, trailing slashes dropped */
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", argv[i]);
        for (size_t len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
            dir[len - 1] = '\0';
        const char *base = strrchr(dir, '/');
        base = base ? base + 1 : dir;
        double max_err = 0;
        char why[2048] = "";
        case_range = 0;
        int r = run_case(dir, &o, &max_err, why, sizeof why);
        if (r == CASE_SKIP && o.no_skip)
            r = CASE_FAIL;
        if (r == CASE_PASS) {
            passed++;
            if (!o.quiet)
                printf("PASS %s (max abs error %.3g, output range %.3g)\n", base, max_err, case_range);
        } else if (r == CASE_SKIP) {
            skipped++;
            if (!o.quiet)
                printf("SKIP %s: %s\n", base, why);
        } else {
            failed++;
            printf("FAIL %s: %s\n", base, why);
        }
        fflush(stdout);
    }
    if (n_dirs == 0) {
        fprintf(stderr, "usage: nn-tool test DIR... [--threads N] [--rtol R] [--atol A] [--range-tol T] [--no-skip] [--quiet]\n");
        return 2;
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed ? 1 : 0;
}
