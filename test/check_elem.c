/*
 * check_elem.c — elementwise, reduction and softmax ops: the broadcasting walk
 * against a naive reference (split over threads), the float32 exp/sigmoid/tanh
 * kernels against libm, and the backend-test cases of test/data/elem (edges
 * the ONNX node tests miss; made by tools/testdata/make_elem_cases.py), each
 * run with one and with three threads.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

#include "kernels/vmath.h"
#include "ops/broadcast.h"

/* ---- broadcasting ---- */

START_TEST(test_bcast_shape)
{
    int64_t a[4] = {8, 1, 6, 1}, b[3] = {7, 1, 5}, d[NN_MAX_RANK];
    int32_t r;
    ck_assert_ok(nni_bcast_shape2(4, a, 3, b, &r, d));
    ck_assert_int_eq(r, 4);
    ck_assert(d[0] == 8 && d[1] == 7 && d[2] == 6 && d[3] == 5);
    int64_t c[2] = {3, 4}, e[1] = {3};
    ck_assert_nn(nni_bcast_shape2(2, c, 1, e, &r, d), NN_E_SHAPE);
    ck_assert(strstr(nn_last_error(), "[3,4]") != NULL);
    int64_t z[2] = {0, 3}, one[2] = {1, 3};
    ck_assert_ok(nni_bcast_shape2(2, z, 2, one, &r, d));
    ck_assert(d[0] == 0 && d[1] == 3);
}
END_TEST

/* NCHW plus a per-channel bias coalesces to [N, C, H*W] with the bias
 * constant along the inner run; equal shapes become one flat run. */
START_TEST(test_bcast_coalesce)
{
    int64_t xd[4] = {2, 16, 7, 9}, bd[3] = {16, 1, 1};
    nn_tensor x = {.dtype = NN_DTYPE_FLOAT32, .rank = 4}, b = {.dtype = NN_DTYPE_FLOAT32, .rank = 3};
    memcpy(x.dims, xd, sizeof xd);
    memcpy(b.dims, bd, sizeof bd);
    const nn_tensor *in[2] = {&x, &b};
    nni_bcast p;
    ck_assert_ok(nni_bcast_init(&p, 4, xd, 4, 2, in));
    ck_assert_int_eq(p.rank, 3);
    ck_assert(p.dims[0] == 2 && p.dims[1] == 16 && p.dims[2] == 63);
    ck_assert(p.st[1][0] == 0 && p.st[1][1] == 1 && p.st[1][2] == 0);
    ck_assert(p.st[0][2] == 1);
    in[1] = &x;
    ck_assert_ok(nni_bcast_init(&p, 4, xd, 4, 2, in));
    ck_assert_int_eq(p.rank, 1);
    ck_assert(p.dims[0] == 2 * 16 * 63);
    int64_t bad[1] = {5};
    memcpy(b.dims, bad, sizeof bad);
    b.rank = 1;
    in[1] = &b;
    ck_assert_nn(nni_bcast_init(&p, 4, xd, 4, 2, in), NN_E_SHAPE);
}
END_TEST

static void add_run(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)
{
    float *o = out;
    const float *a = in[0], *b = in[1];
    (void)arg;
    for (int64_t i = 0; i < n; i++)
        o[i] = a[i * step[0]] + 10.0f * b[i * step[1]];
}

/* Index of output element `flat` in an input of (rank ri, dims di) broadcast to (ro, dout). */
static int64_t bcast_index(int64_t flat, int32_t ro, const int64_t *dout, int32_t ri, const int64_t *di)
{
    int64_t idx = 0, stride = 1;
    for (int32_t d = ro - 1; d >= 0; d--) {
        int64_t coord = flat % dout[d];
        flat /= dout[d];
        int32_t k = d - (ro - ri);
        if (k >= 0) {
            idx += (di[k] == 1 ? 0 : coord) * stride;
            stride *= di[k];
        }
    }
    return idx;
}

START_TEST(test_bcast_threads)
{
    static const struct {
        int32_t ra, rb;
        int64_t a[5], b[5];
    } pats[] = {
        {4, 3, {2, 8, 30, 31}, {8, 1, 1}},
        {3, 1, {5, 70, 301}, {301}},
        {3, 3, {3, 1, 20000}, {1, 3, 1}}, /* inner runs cut into pieces */
        {1, 2, {1}, {3, 20000}},
        {5, 5, {2, 3, 4, 5, 6}, {1, 3, 1, 5, 1}},
        {2, 2, {30000, 2}, {30000, 1}},
        {0, 1, {0}, {40000}},
    };
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(3, &pool));
    for (size_t t = 0; t < sizeof pats / sizeof pats[0]; t++) {
        nn_tensor a = {.dtype = NN_DTYPE_FLOAT32, .rank = pats[t].ra}, b = {.dtype = NN_DTYPE_FLOAT32, .rank = pats[t].rb};
        memcpy(a.dims, pats[t].a, sizeof pats[t].a);
        memcpy(b.dims, pats[t].b, sizeof pats[t].b);
        const nn_tensor *in[2] = {&a, &b};
        int32_t r;
        int64_t d[NN_MAX_RANK], na = nni_tensor_count(&a), nb = nni_tensor_count(&b), no;
        ck_assert_ok(nni_bcast_shape(2, in, &r, d));
        ck_assert(nni_shape_count(r, d, &no));
        float *xa = malloc((size_t)na * 4), *xb = malloc((size_t)nb * 4), *y = malloc((size_t)no * 4);
        for (int64_t i = 0; i < na; i++)
            xa[i] = (float)(i % 1000);
        for (int64_t i = 0; i < nb; i++)
            xb[i] = (float)(i % 777);
        nni_bcast p;
        ck_assert_ok(nni_bcast_init(&p, r, d, 4, 2, in));
        const void *ptr[2] = {xa, xb};
        for (int pass = 0; pass < 2; pass++) {
            memset(y, 0, (size_t)no * 4);
            nni_bcast_run(&p, pass ? pool : NULL, add_run, NULL, y, ptr);
            for (int64_t i = 0; i < no; i++) {
                float want = xa[bcast_index(i, r, d, a.rank, a.dims)] + 10.0f * xb[bcast_index(i, r, d, b.rank, b.dims)];
                ck_assert_msg(y[i] == want, "pattern %zu element %lld: %g, expected %g", t, (long long)i, y[i], want);
            }
        }
        free(xa);
        free(xb);
        free(y);
    }
    nni_pool_free(pool);
}
END_TEST

/* ---- float32 math kernels ---- */

START_TEST(test_vmath_accuracy)
{
    enum { N = 60000 };
    float *x = malloc(N * sizeof *x), *e = malloc(N * sizeof *e), *s = malloc(N * sizeof *s), *t = malloc(N * sizeof *t);
    for (int i = 0; i < N; i++)
        x[i] = -110.0f + 205.0f * (float)i / N;
    x[0] = NAN;
    x[1] = INFINITY;
    x[2] = -INFINITY;
    nni_vexp_f32(x, e, N);
    nni_vsigmoid_f32(x, s, N);
    nni_vtanh_f32(x, t, N);
    ck_assert(isnan(e[0]) && isnan(s[0]) && isnan(t[0]));
    ck_assert(isinf(e[1]) && e[2] == 0.0f && s[1] == 1.0f && s[2] == 0.0f && t[1] == 1.0f && t[2] == -1.0f);
    for (int i = 3; i < N; i++) {
        double xe = exp((double)x[i]), want = (float)xe;
        if (isinf(want))
            ck_assert_msg(isinf(e[i]), "exp(%g) = %g, expected inf", x[i], e[i]);
        else if (want < 1.2e-38)
            ck_assert_msg(fabs(e[i] - want) <= 2e-45, "exp(%g) = %g, expected %g", x[i], e[i], want);
        else
            ck_assert_msg(fabs(e[i] - want) <= 3e-7 * want, "exp(%g) = %.9g, expected %.9g", x[i], e[i], want);
        double sw = 1.0 / (1.0 + exp(-(double)x[i]));
        ck_assert_msg(fabs(s[i] - sw) <= 3e-7 * sw + 1e-38, "sigmoid(%g) = %.9g, expected %.9g", x[i], s[i], sw);
        double tw = tanh((double)x[i]);
        ck_assert_msg(fabs(t[i] - tw) <= 3e-7 * fabs(tw) + 1e-38, "tanh(%g) = %.9g, expected %.9g", x[i], t[i], tw);
    }
    /* tanh near 0, where the exp form would cancel */
    for (int i = 0; i < N; i++)
        x[i] = -1.0f + 2.0f * (float)i / N;
    nni_vtanh_f32(x, t, N);
    for (int i = 0; i < N; i++) {
        double tw = tanh((double)x[i]);
        ck_assert_msg(fabs(t[i] - tw) <= 3e-7 * fabs(tw), "tanh(%g) = %.9g, expected %.9g", x[i], t[i], tw);
    }
    free(x);
    free(e);
    free(s);
    free(t);
}
END_TEST

/* ---- backend-test cases ---- */

static bool close_enough(const nn_tensor *got, const nn_tensor *want, char *why, size_t cap)
{
    nn_dtype t = nn_tensor_dtype(want);
    if (nn_tensor_dtype(got) != t || nn_tensor_nbytes(got) != nn_tensor_nbytes(want) ||
        nn_tensor_rank(got) != nn_tensor_rank(want)) {
        snprintf(why, cap, "type/size/rank mismatch (%s vs %s)", nn_dtype_name(nn_tensor_dtype(got)), nn_dtype_name(t));
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
    for (int64_t i = 0; i < n; i++) {
        double a, b;
        if (t == NN_DTYPE_FLOAT32) {
            a = ((const float *)g)[i];
            b = ((const float *)w)[i];
        } else if (t == NN_DTYPE_FLOAT64) {
            a = ((const double *)g)[i];
            b = ((const double *)w)[i];
        } else {
            if (memcmp(g, w, nn_tensor_nbytes(want)) != 0) {
                snprintf(why, cap, "%s data differs", nn_dtype_name(t));
                return false;
            }
            return true;
        }
        if ((isnan(a) && isnan(b)) || a == b)
            continue;
        if (!(fabs(a - b) <= 1e-5 + 1e-4 * fabs(b))) {
            snprintf(why, cap, "element %lld is %.9g, expected %.9g", (long long)i, a, b);
            return false;
        }
    }
    return true;
}

static void run_case(const char *dir, int threads)
{
    char path[1024], why[256];
    nn_model *m = NULL;
    nn_session *s = NULL;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ck_assert_msg(nn_model_load(path, NULL, &m) == NN_OK, "%s: %s", dir, nn_last_error());
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
    ck_assert_msg(nn_session_run(s, ni, NULL, (const nn_tensor *const *)in) == NN_OK, "%s: %s", dir, nn_last_error());
    for (uint32_t o = 0; o < nn_session_output_count(s); o++) {
        nn_tensor *want = NULL;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%u.pb", dir, o);
        ck_assert_ok(nn_tensor_read_file(path, &want));
        bool ok = close_enough(nn_session_output(s, o), want, why, sizeof why);
        nn_tensor_free(want);
        ck_assert_msg(ok, "%s (%d threads) output %u: %s", dir, threads, o, why);
    }
    for (uint32_t i = 0; i < ni; i++)
        nn_tensor_free(in[i]);
    nn_session_free(s);
    nn_model_free(m);
}

START_TEST(test_cases)
{
    char root[1024];
    snprintf(root, sizeof root, "%s", test_data_path("elem"));
    DIR *d = opendir(root);
    ck_assert_msg(d != NULL, "cannot open %s", root);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        run_case(dir, 1);
        run_case(dir, 3);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 50);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("elem");
    TCase *tc = tcase_create("broadcast");
    tcase_add_test(tc, test_bcast_shape);
    tcase_add_test(tc, test_bcast_coalesce);
    tcase_add_test(tc, test_bcast_threads);
    suite_add_tcase(s, tc);
    tc = tcase_create("kernels");
    tcase_add_test(tc, test_vmath_accuracy);
    suite_add_tcase(s, tc);
    tc = tcase_create("cases");
    tcase_add_test(tc, test_cases);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
