/*
 * cmd_bench.c — `nn-tool bench MODEL [--threads N] [--batch B] [--repeat R]`:
 * load time, median run time over R runs on seeded inputs of the model's
 * shape, and the process's peak resident memory. Lines are parsed by
 * bench/ scripts: keep their spelling.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tool.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double peak_rss_mb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atof(line + 6);
    fclose(f);
    return kb / 1024.0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Seeded standard-normal-ish values (sum of uniforms) or small integers. */
static void fill_seeded(nn_tensor *t, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ULL + 1;
    int64_t n = nn_tensor_count(t);
    void *p = nn_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        double u = 0;
        for (int k = 0; k < 4; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            u += (double)(x >> 11) / 9007199254740992.0;
        }
        u = (u - 2.0) * 1.7320508;
        switch (nn_tensor_dtype(t)) {
        case NN_DTYPE_FLOAT32: ((float *)p)[i] = (float)u; break;
        case NN_DTYPE_FLOAT64: ((double *)p)[i] = u; break;
        case NN_DTYPE_INT64: ((int64_t *)p)[i] = (int64_t)fabs(u * 4); break;
        case NN_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)fabs(u * 4); break;
        default: break; /* zeros */
        }
    }
}

int cmd_bench(int argc, char **argv)
{
    const char *path = NULL;
    int threads = 0, batch = 1, repeat = 20;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else {
            fprintf(stderr, "nn-tool bench: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!path || batch < 1 || repeat < 1) {
        fprintf(stderr, "usage: nn-tool bench MODEL [--threads N] [--batch B] [--repeat R]\n");
        return 2;
    }
    double t0 = now_ms();
    nn_model *m = tool_load(path);
    if (!m)
        return 1;
    double load_ms = now_ms() - t0;
    uint32_t n_in = nn_model_input_count(m);
    nn_tensor **ins = calloc(n_in ? n_in : 1, sizeof *ins);
    int rc = 1;
    nn_session *s = NULL;
    double *times = calloc((size_t)repeat, sizeof *times);
    for (uint32_t i = 0; i < n_in; i++) {
        nn_dtype dt;
        int32_t rank;
        const char *name;
        int64_t dims[NN_MAX_RANK];
        nn_model_input_info(m, i, &name, &dt, &rank);
        for (int32_t a = 0; a < rank; a++) {
            nn_model_input_dim(m, i, a, &dims[a], NULL);
            if (dims[a] < 0)
                dims[a] = a == 0 ? batch : 1;
        }
        if (rank > 0 && dims[0] != batch) {
            fprintf(stderr, "nn-tool bench: input '%s' has a fixed batch of %lld; --batch %d needs a symbolic batch "
                            "dimension (nn-tool replace-input can change it)\n", name, (long long)dims[0], batch);
            goto done;
        }
        if (nn_tensor_create(dt, rank, dims, &ins[i]) != NN_OK) {
            tool_fail(name);
            goto done;
        }
        fill_seeded(ins[i], i + 1);
    }
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = threads;
    if (nn_session_create(m, &so, &s) != NN_OK) {
        tool_fail("session");
        goto done;
    }
    /* one warm-up run plans memory and touches every page */
    for (int r = -1; r < repeat; r++) {
        double a = now_ms();
        if (nn_session_run(s, n_in, NULL, (const nn_tensor *const *)ins) != NN_OK) {
            tool_fail("run");
            goto done;
        }
        if (r >= 0)
            times[r] = now_ms() - a;
    }
    qsort(times, (size_t)repeat, sizeof *times, cmp_double);
    double median = repeat % 2 ? times[repeat / 2] : (times[repeat / 2 - 1] + times[repeat / 2]) / 2;
    uint64_t macs = 0;
    nn_model_macs(m, &macs);
    printf("model: %s\n", path);
    printf("threads: %d\n", threads);
    printf("batch: %d\n", batch);
    printf("load_ms: %.2f\n", load_ms);
    printf("median_ms: %.3f\n", median);
    printf("min_ms: %.3f\n", times[0]);
    printf("gflops: %.2f\n", median > 0 ? 2.0 * (double)macs * batch / (median * 1e6) : 0.0);
    printf("peak_rss_mb: %.1f\n", peak_rss_mb());
    rc = 0;
done:
    for (uint32_t i = 0; i < n_in; i++)
        nn_tensor_free(ins[i]);
    free(ins);
    free(times);
    nn_session_free(s);
    nn_model_free(m);
    return rc;
}
