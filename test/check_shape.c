/*
 * check_shape.c — shape and data-movement ops: the strided-view and index-map
 * copy kernels against naive loops (every element size, zero and negative
 * strides, up to 16 axes, with and without threads), the backend-test cases
 * of test/data/shape (edges the ONNX node tests miss; made by
 * tools/testdata/make_shape_cases.py) with one and three threads, and the
 * cases of test/data/shape_errors, which must fail with the status their
 * `status` file names.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "exec/pool.h"
#include "kernels/strided.h"

/* ---- kernels ---- */

static uint64_t lcg_state = 12345;
static int64_t rand_int(int64_t lo, int64_t hi) /* [lo, hi] */
{
    lcg_state = lcg_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + (int64_t)((lcg_state >> 33) % (uint64_t)(hi - lo + 1));
}

/* A random view over a source buffer: dims, strides and the offset of its first element. */
static void random_view(int32_t rank, int64_t max_total, int64_t *dims, int64_t *strides, int64_t *first,
                        int64_t *src_elems)
{
    int64_t total = 1;
    for (int32_t a = 0; a < rank; a++) {
        int64_t cap = max_total / total;
        dims[a] = cap < 1 ? 1 : rand_int(1, cap < 6 ? cap : 6);
        total *= dims[a];
    }
    /* strides: a permuted row-major layout, some axes broadcast (0) or reversed */
    int64_t perm[NNI_STRIDED_MAX_RANK], s = 1;
    for (int32_t a = 0; a < rank; a++)
        perm[a] = a;
    for (int32_t a = rank - 1; a > 0; a--) {
        int32_t b = (int32_t)rand_int(0, a);
        int64_t t = perm[a];
        perm[a] = perm[b];
        perm[b] = t;
    }
    *first = 0;
    for (int32_t i = rank - 1; i >= 0; i--) {
        int32_t a = (int32_t)perm[i];
        int64_t kind = rand_int(0, 5);
        strides[a] = kind == 0 ? 0 : s;
        if (kind == 1) {
            strides[a] = -s;
            *first += (dims[a] - 1) * s;
        }
        s *= dims[a] + rand_int(0, 1); /* sometimes a gap */
    }
    *src_elems = s;
}

static void naive_copy(uint8_t *dst, const uint8_t *src, size_t es, int32_t rank, const int64_t *dims,
                       const int64_t *strides)
{
    int64_t total = 1, coord[NNI_STRIDED_MAX_RANK] = {0};
    for (int32_t a = 0; a < rank; a++)
        total *= dims[a];
    for (int64_t i = 0; i < total; i++) {
        int64_t off = 0;
        for (int32_t a = 0; a < rank; a++)
            off += coord[a] * strides[a];
        memcpy(dst + (size_t)i * es, src + off * (ptrdiff_t)es, es);
        for (int32_t a = rank - 1; a >= 0; a--) {
            if (++coord[a] < dims[a])
                break;
            coord[a] = 0;
        }
    }
}

START_TEST(test_strided_copy)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(3, &pool));
    static const size_t sizes[] = {1, 2, 4, 8, 3};
    for (int iter = 0; iter < 400; iter++) {
        int32_t rank = (int32_t)rand_int(0, NNI_STRIDED_MAX_RANK);
        size_t es = sizes[iter % 5];
        int64_t dims[NNI_STRIDED_MAX_RANK], strides[NNI_STRIDED_MAX_RANK], first, n_src, total = 1;
        random_view(rank, iter % 7 == 0 ? 200000 : 3000, dims, strides, &first, &n_src);
        /* the transpose tile path: make the last two axes a large transposed pair now and then */
        if (iter % 4 == 0 && rank >= 2) {
            dims[rank - 2] = rand_int(8, 70);
            dims[rank - 1] = rand_int(8, 70);
            int64_t s = 1;
            strides[rank - 2] = 1;
            strides[rank - 1] = dims[rank - 2];
            s = dims[rank - 2] * dims[rank - 1];
            first = 0;
            for (int32_t a = rank - 3; a >= 0; a--) {
                dims[a] = a < rank - 4 ? 1 : 2;
                strides[a] = s;
                s *= dims[a];
            }
            n_src = s;
        }
        for (int32_t a = 0; a < rank; a++)
            total *= dims[a];
        uint8_t *src = malloc((size_t)n_src * es), *want = malloc((size_t)total * es + 1);
        uint8_t *got = malloc((size_t)total * es + 1);
        ck_assert(src && want && got);
        for (int64_t i = 0; i < n_src * (int64_t)es; i++)
            src[i] = (uint8_t)rand_int(0, 255);
        naive_copy(want, src + first * (int64_t)es, es, rank, dims, strides);
        for (int threads = 0; threads < 2; threads++) {
            memset(got, 0xAB, (size_t)total * es + 1);
            nni_strided_copy(got, src + first * (int64_t)es, es, rank, dims, strides, threads ? pool : NULL);
            ck_assert_msg(memcmp(got, want, (size_t)total * es) == 0, "iteration %d (rank %d, es %zu) differs", iter,
                          (int)rank, es);
            ck_assert_int_eq(got[total * (int64_t)es], 0xAB); /* nothing written past the end */
        }
        free(src);
        free(want);
        free(got);
    }
    nni_pool_free(pool);
}
END_TEST

START_TEST(test_map_copy)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(3, &pool));
    for (int iter = 0; iter < 300; iter++) {
        int32_t rank = (int32_t)rand_int(1, 6);
        size_t es = (size_t)1 << rand_int(0, 3);
        int64_t in_dims[8], dims[8], strides[8], total = 1, n_src = 1;
        int64_t *maps[8];
        for (int32_t a = 0; a < rank; a++) {
            in_dims[a] = rand_int(1, 5);
            n_src *= in_dims[a];
        }
        for (int32_t a = rank - 1, s = 1; a >= 0; s *= (int32_t)in_dims[a], a--)
            strides[a] = s;
        for (int32_t a = 0; a < rank; a++) {
            dims[a] = rand_int(1, iter % 5 == 0 && total < 1000 ? 60 : 8);
            total *= dims[a];
            maps[a] = malloc((size_t)dims[a] * sizeof **maps);
            for (int64_t o = 0; o < dims[a]; o++) {
                int64_t i = rand_int(-1, in_dims[a] - 1);
                if (rand_int(0, 2) && o > 0 && maps[a][o - 1] >= 0 && maps[a][o - 1] / strides[a] + 1 < in_dims[a])
                    i = maps[a][o - 1] / strides[a] + 1; /* runs of consecutive elements */
                maps[a][o] = i < 0 ? -1 : i * strides[a];
            }
        }
        uint8_t *src = malloc((size_t)n_src * es), *want = malloc((size_t)total * es), *got = malloc((size_t)total * es);
        uint8_t fill[8];
        for (size_t i = 0; i < es; i++)
            fill[i] = (uint8_t)(0xF0 + i);
        for (int64_t i = 0; i < n_src * (int64_t)es; i++)
            src[i] = (uint8_t)rand_int(0, 255);
        int64_t coord[8] = {0};
        for (int64_t i = 0; i < total; i++) {
            int64_t off = 0;
            bool use_fill = false;
            for (int32_t a = 0; a < rank; a++) {
                use_fill |= maps[a][coord[a]] < 0;
                off += maps[a][coord[a]];
            }
            memcpy(want + (size_t)i * es, use_fill ? fill : src + (size_t)off * es, es);
            for (int32_t a = rank - 1; a >= 0; a--) {
                if (++coord[a] < dims[a])
                    break;
                coord[a] = 0;
            }
        }
        for (int threads = 0; threads < 2; threads++) {
            memset(got, 0, (size_t)total * es);
            nni_map_copy(got, src, es, rank, dims, (const int64_t *const *)maps, fill, threads ? pool : NULL);
            ck_assert_msg(memcmp(got, want, (size_t)total * es) == 0, "iteration %d differs", iter);
        }
        for (int32_t a = 0; a < rank; a++)
            free(maps[a]);
        free(src);
        free(want);
        free(got);
    }
    nni_pool_free(pool);
}
END_TEST

/* ---- backend-test cases ---- */

static bool close_enough(const nn_tensor *got, const nn_tensor *want, char *why, size_t cap)
{
    nn_dtype t = nn_tensor_dtype(want);
    if (nn_tensor_dtype(got) != t || nn_tensor_rank(got) != nn_tensor_rank(want)) {
        snprintf(why, cap, "type or rank mismatch (%s vs %s)", nn_dtype_name(nn_tensor_dtype(got)), nn_dtype_name(t));
        return false;
    }
    for (int32_t d = 0; d < nn_tensor_rank(want); d++)
        if (nn_tensor_dim(got, d) != nn_tensor_dim(want, d)) {
            snprintf(why, cap, "dim %d is %lld, expected %lld", (int)d, (long long)nn_tensor_dim(got, d),
                     (long long)nn_tensor_dim(want, d));
            return false;
        }
    int64_t n = nn_tensor_count(want);
    const void *g = nn_tensor_data_const(got), *w = nn_tensor_data_const(want);
    if (t != NN_DTYPE_FLOAT32) {
        if (n && memcmp(g, w, nn_tensor_nbytes(want)) != 0) {
            snprintf(why, cap, "%s data differs", nn_dtype_name(t));
            return false;
        }
        return true;
    }
    for (int64_t i = 0; i < n; i++) {
        double a = ((const float *)g)[i], b = ((const float *)w)[i];
        if (!(fabs(a - b) <= 1e-5 + 1e-4 * fabs(b)) && !(isnan(a) && isnan(b))) {
            snprintf(why, cap, "element %lld is %.9g, expected %.9g", (long long)i, a, b);
            return false;
        }
    }
    return true;
}

/* Load and run one case; returns the first failing status (the outputs are compared when it succeeds and want_ok). */
static nn_status run_case(const char *dir, int threads, bool want_ok)
{
    char path[1200], why[256];
    nn_model *m = NULL;
    nn_session *s = NULL;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    nn_status st = nn_model_load(path, NULL, &m);
    if (st != NN_OK) {
        ck_assert_msg(!want_ok, "%s: %s", dir, nn_last_error());
        return st;
    }
    nn_session_options so;
    ck_assert_ok(nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION));
    so.num_threads = threads;
    ck_assert_ok(nn_session_create(m, &so, &s));
    uint32_t ni = nn_model_input_count(m);
    nn_tensor *in[8] = {0};
    ck_assert(ni <= 8);
    for (uint32_t i = 0; i < ni; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%u.pb", dir, i);
        ck_assert_ok(nn_tensor_read_file(path, &in[i]));
    }
    st = nn_session_run(s, ni, NULL, (const nn_tensor *const *)in);
    ck_assert_msg(st == NN_OK || !want_ok, "%s: %s", dir, nn_last_error());
    for (uint32_t o = 0; st == NN_OK && want_ok && o < nn_session_output_count(s); o++) {
        nn_tensor *want = NULL;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%u.pb", dir, o);
        ck_assert_ok(nn_tensor_read_file(path, &want));
        bool ok = close_enough(nn_session_output(s, o), want, why, sizeof why);
        nn_tensor_free(want);
        ck_assert_msg(ok, "%s (%d threads) output %u: %s", dir, threads, o, why);
    }
    if (st != NN_OK)
        ck_assert_msg(strlen(nn_last_error()) > 0, "%s failed without a message", dir);
    for (uint32_t i = 0; i < ni; i++)
        nn_tensor_free(in[i]);
    nn_session_free(s);
    nn_model_free(m);
    return st;
}

/* Call fn for every case folder under test/data/<rel>; returns how many. */
static int each_case(const char *rel, void (*fn)(const char *dir))
{
    char root[1024];
    snprintf(root, sizeof root, "%s", test_data_path(rel));
    DIR *d = opendir(root);
    ck_assert_msg(d != NULL, "cannot open %s", root);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        fn(dir);
        n++;
    }
    closedir(d);
    return n;
}

static void good_case(const char *dir)
{
    run_case(dir, 1, true);
    run_case(dir, 3, true);
}

static void error_case(const char *dir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/status", dir);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    int want = 0;
    ck_assert_int_eq(fscanf(f, "%d", &want), 1);
    fclose(f);
    nn_status st = run_case(dir, 1, false);
    ck_assert_msg(st == want, "%s: status %d (%s), expected %d", dir, (int)st, nn_last_error(), want);
}

START_TEST(test_cases) { ck_assert_int_ge(each_case("shape", good_case), 70); }
END_TEST

START_TEST(test_errors) { ck_assert_int_ge(each_case("shape_errors", error_case), 30); }
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("shape");
    TCase *tc = tcase_create("kernels");
    tcase_add_test(tc, test_strided_copy);
    tcase_add_test(tc, test_map_copy);
    suite_add_tcase(s, tc);
    tc = tcase_create("cases");
    tcase_add_test(tc, test_cases);
    tcase_add_test(tc, test_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
