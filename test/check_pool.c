/*
 * check_pool.c — the pooling and normalization kernels against naive loops
 * on random geometries: 1-D to 3-D, strides, dilations, asymmetric pads,
 * windows hanging past the end (ceil_mode), Indices in both storage orders,
 * float and 8-bit types; and the long-run sums behind the normalizations.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "kernels/norm.h"
#include "kernels/pooling.h"
#include "test_util.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int64_t rnd_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1)); }

/* A random valid geometry; ceil_mode-style windows may pass the end padding. */
static void random_geom(nni_pooling_geom *g)
{
    memset(g, 0, sizeof *g);
    g->rank = (int32_t)rnd_in(1, 3);
    g->in_size = g->out_size = 1;
    for (int32_t d = 0; d < g->rank; d++) {
        g->kernel[d] = rnd_in(1, 4);
        g->stride[d] = rnd_in(1, 3);
        g->dilation[d] = rnd_in(1, 2);
        g->pad_begin[d] = rnd_in(0, g->kernel[d] - 1);
        g->pad_end[d] = rnd_in(0, g->kernel[d] - 1);
        const int64_t span = (g->kernel[d] - 1) * g->dilation[d] + 1;
        int64_t in = rnd_in(1, 13);
        if (in + g->pad_begin[d] + g->pad_end[d] < span)
            in = span;
        const int64_t num = in + g->pad_begin[d] + g->pad_end[d] - span;
        int64_t out = num / g->stride[d] + 1;
        if (rnd() % 2 && num % g->stride[d] && out * g->stride[d] < in + g->pad_begin[d])
            out++; /* ceil_mode */
        g->in[d] = in;
        g->out[d] = out;
        g->in_size *= in;
        g->out_size *= out;
    }
}

enum { REF_MAX, REF_AVG, REF_AVG_PAD, REF_LP };

/* One output of the naive reference; *arg gets the row- or column-major argmax. */
static double ref_window(const nni_pooling_geom *g, const double *x, const int64_t *o, int kind, double p,
                         bool col_major, int64_t *arg)
{
    int64_t k[NNI_POOLING_MAX_RANK] = {0};
    double acc = kind == REF_MAX ? -INFINITY : 0.0;
    int64_t count = 0;
    *arg = -1;
    for (;;) {
        bool inside = true, padded = true;
        int64_t off = 0, coff = 0, cs = 1;
        for (int32_t d = 0; d < g->rank; d++) {
            int64_t i = o[d] * g->stride[d] - g->pad_begin[d] + k[d] * g->dilation[d];
            inside &= i >= 0 && i < g->in[d];
            padded &= i >= -g->pad_begin[d] && i < g->in[d] + g->pad_end[d];
            off = off * g->in[d] + i;
            coff += i * cs;
            cs *= g->in[d];
        }
        if (inside) {
            double v = x[off];
            if (kind == REF_MAX) {
                if (v > acc || *arg < 0) {
                    acc = v;
                    *arg = col_major ? coff : off;
                }
            } else {
                acc += kind == REF_LP ? pow(fabs(v), p) : v;
            }
        }
        count += kind == REF_AVG_PAD ? padded : inside;
        int32_t d = g->rank - 1;
        while (d >= 0 && ++k[d] == g->kernel[d])
            k[d--] = 0;
        if (d < 0)
            break;
    }
    if (kind == REF_AVG || kind == REF_AVG_PAD)
        return count ? acc / (double)count : 0.0;
    if (kind == REF_LP)
        return pow(acc, 1.0 / p);
    return acc;
}

/* Visit every output position in row-major order. */
static bool next_pos(const nni_pooling_geom *g, int64_t *o)
{
    int32_t d = g->rank - 1;
    while (d >= 0 && ++o[d] == g->out[d])
        o[d--] = 0;
    return d >= 0;
}

START_TEST(test_pool_float_random)
{
    for (int iter = 0; iter < 600; iter++) {
        nni_pooling_geom g;
        random_geom(&g);
        float *x = malloc((size_t)g.in_size * sizeof *x), *y = malloc((size_t)g.out_size * sizeof *y);
        double *xd = malloc((size_t)g.in_size * sizeof *xd);
        int64_t *idx = malloc((size_t)g.out_size * sizeof *idx);
        float *recips = malloc(nni_pooling_divisor_count(&g) * sizeof *recips);
        for (int64_t i = 0; i < g.in_size; i++)
            xd[i] = x[i] = (float)((int)(rnd() % 2001) - 1000) / 250.0f;
        const int kind = iter % 5; /* max, max+indices (both orders), avg, avg incl. pad, lp */
        const bool col_major = iter % 2;
        const double p = 1.0 + (double)(iter % 3);
        const int64_t base = (int64_t)iter * 1000;
        switch (kind) {
        case 0:
            nni_pooling_max_f32(&g, x, y, NULL, 0, false);
            break;
        case 1:
            nni_pooling_max_f32(&g, x, y, idx, base, col_major);
            break;
        case 2:
        case 3:
            nni_pooling_divisors(&g, kind == 3, recips);
            nni_pooling_avg_f32(&g, x, y, recips);
            break;
        default:
            nni_pooling_lp_f32(&g, x, y, (float)p);
            break;
        }
        const int ref = kind <= 1 ? REF_MAX : kind == 2 ? REF_AVG : kind == 3 ? REF_AVG_PAD : REF_LP;
        int64_t o[NNI_POOLING_MAX_RANK] = {0}, j = 0;
        do {
            int64_t arg;
            double want = ref_window(&g, xd, o, ref, p, col_major, &arg);
            ck_assert_msg(y[j] == want || fabs(y[j] - want) <= 1e-4 + 1e-4 * fabs(want),
                          "iter %d kind %d rank %d: output %lld is %g, expected %g", iter, kind, (int)g.rank,
                          (long long)j, (double)y[j], want);
            if (kind == 1) /* -1 for a window with no tap inside the input */
                ck_assert_msg(idx[j] == (arg < 0 ? -1 : base + arg), "iter %d: index %lld is %lld, expected %lld", iter, (long long)j,
                              (long long)idx[j], (long long)(base + arg));
            j++;
        } while (next_pos(&g, o));
        free(x), free(y), free(xd), free(idx), free(recips);
    }
}
END_TEST

/* The 2-D fast paths (max, average with and without pads) on wider planes
 * than random_geom makes, so vector bodies and tails both run. */
START_TEST(test_pool2d_fast_random)
{
    static const char *const isas[] = {"generic", "avx2", "avx512"};
    for (int iter = 0; iter < 600; iter++) {
        if (!nni_pooling2d_force_isa(isas[iter % 3]))
            continue;
        nni_pooling_geom g;
        memset(&g, 0, sizeof g);
        g.rank = 2;
        g.in_size = g.out_size = 1;
        for (int32_t d = 0; d < 2; d++) {
            g.kernel[d] = rnd_in(1, 5);
            g.stride[d] = rnd_in(1, 3);
            g.dilation[d] = 1;
            g.pad_begin[d] = rnd_in(0, g.kernel[d] - 1);
            g.pad_end[d] = rnd_in(0, g.kernel[d] - 1);
            int64_t in = rnd_in(1, 70);
            if (in + g.pad_begin[d] + g.pad_end[d] < g.kernel[d])
                in = g.kernel[d];
            const int64_t num = in + g.pad_begin[d] + g.pad_end[d] - g.kernel[d];
            int64_t out = num / g.stride[d] + 1;
            if (rnd() % 2 && num % g.stride[d] && out * g.stride[d] < in + g.pad_begin[d])
                out++;
            g.in[d] = in;
            g.out[d] = out;
            g.in_size *= in;
            g.out_size *= out;
        }
        ck_assert(nni_pooling2d_ok(&g));
        float *x = malloc((size_t)g.in_size * sizeof *x), *y = malloc((size_t)g.out_size * sizeof *y);
        double *xd = malloc((size_t)g.in_size * sizeof *xd);
        float *recips = malloc(nni_pooling_divisor_count(&g) * sizeof *recips);
        void *ws = nni_malloc_aligned(nni_pooling2d_workspace(&g));
        for (int64_t i = 0; i < g.in_size; i++)
            xd[i] = x[i] = (float)((int)(rnd() % 2001) - 1000) / 250.0f;
        const int kind = iter / 3 % 3;
        if (kind == 0) {
            nni_pooling2d_max_f32(&g, x, y, ws);
        } else {
            nni_pooling_divisors(&g, kind == 2, recips);
            nni_pooling2d_avg_f32(&g, x, y, recips, ws);
        }
        const int ref = kind == 0 ? REF_MAX : kind == 1 ? REF_AVG : REF_AVG_PAD;
        int64_t o[NNI_POOLING_MAX_RANK] = {0}, j = 0;
        do {
            int64_t arg;
            double want = ref_window(&g, xd, o, ref, 1.0, false, &arg);
            ck_assert_msg(y[j] == want || fabs(y[j] - want) <= 1e-4 + 1e-4 * fabs(want),
                          "iter %d kind %d: output %lld is %g, expected %g", iter, kind, (long long)j, (double)y[j],
                          want);
            j++;
        } while (next_pos(&g, o));
        free(x), free(y), free(xd), free(recips);
        nni_free_aligned(ws);
    }
    nni_pooling2d_force_isa(NULL);
}
END_TEST

START_TEST(test_pool_int8_random)
{
    for (int iter = 0; iter < 200; iter++) {
        nni_pooling_geom g;
        random_geom(&g);
        uint8_t *xu = malloc((size_t)g.in_size), *yu = malloc((size_t)g.out_size);
        int8_t *xi = malloc((size_t)g.in_size), *yi = malloc((size_t)g.out_size);
        double *xdu = malloc((size_t)g.in_size * sizeof(double)), *xdi = malloc((size_t)g.in_size * sizeof(double));
        int64_t *idx = malloc((size_t)g.out_size * sizeof *idx);
        for (int64_t i = 0; i < g.in_size; i++) {
            xu[i] = (uint8_t)rnd();
            xi[i] = (int8_t)rnd();
            xdu[i] = xu[i];
            xdi[i] = xi[i];
        }
        nni_pooling_max_u8(&g, xu, yu, idx, 0, false);
        nni_pooling_max_i8(&g, xi, yi, NULL, 0, false);
        int64_t o[NNI_POOLING_MAX_RANK] = {0}, j = 0;
        do {
            int64_t arg;
            ck_assert_int_eq(yu[j], (int)ref_window(&g, xdu, o, REF_MAX, 0, false, &arg));
            ck_assert_int_eq(idx[j], arg);
            ck_assert_int_eq(yi[j], (int)ref_window(&g, xdi, o, REF_MAX, 0, false, &arg));
            j++;
        } while (next_pos(&g, o));
        free(xu), free(yu), free(xi), free(yi), free(xdu), free(xdi), free(idx);
    }
}
END_TEST

/* Equal maxima: the first in window order wins, as in the reference. */
START_TEST(test_pool_argmax_ties)
{
    nni_pooling_geom g = {.rank = 2, .in = {3, 3}, .out = {2, 2}, .kernel = {2, 2}, .stride = {1, 1},
                          .dilation = {1, 1}, .in_size = 9, .out_size = 4};
    float x[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1}, y[4];
    int64_t idx[4];
    nni_pooling_max_f32(&g, x, y, idx, 0, false);
    ck_assert_int_eq(idx[0], 0);
    ck_assert_int_eq(idx[1], 1);
    ck_assert_int_eq(idx[2], 3);
    ck_assert_int_eq(idx[3], 4);
}
END_TEST

START_TEST(test_plane_reductions)
{
    static const int64_t sizes[] = {0, 1, 7, 8, 9, 31, 4095, 4096, 4097, 100003};
    float *x = malloc(100003 * sizeof *x);
    for (int64_t i = 0; i < 100003; i++)
        x[i] = (float)((int)(rnd() % 2001) - 1000) / 100.0f + 3.0f;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const int64_t n = sizes[s];
        double sum = 0, sq = 0, ab = 0, mx = -INFINITY, p3 = 0;
        for (int64_t i = 0; i < n; i++) {
            sum += x[i];
            sq += (double)x[i] * x[i];
            ab += fabs(x[i]);
            p3 += pow(fabs(x[i]), 3);
            mx = x[i] > mx ? x[i] : mx;
        }
        const double mean = n ? sum / (double)n : 0;
        double dev = 0;
        for (int64_t i = 0; i < n; i++)
            dev += ((double)x[i] - (float)mean) * ((double)x[i] - (float)mean);
        ck_assert_double_eq_tol(nni_norm_sum_f32(x, n), sum, 1e-6 * (ab + 1));
        ck_assert_double_eq_tol(nni_norm_sqdev_f32(x, n, (float)mean), dev, 1e-5 * (dev + 1));
        ck_assert_double_eq_tol(nni_norm_sumpow_f32(x, n, 2), sq, 1e-5 * (sq + 1));
        ck_assert_double_eq_tol(nni_norm_sumpow_f32(x, n, 1), ab, 1e-5 * (ab + 1));
        if (n == 0)
            continue;
        ck_assert_double_eq_tol(nni_pooling_sum_f32(x, n), sum, 1e-4 * (ab + 1));
        ck_assert_double_eq(nni_pooling_maxval_f32(x, n), mx);
        ck_assert_double_eq_tol(nni_pooling_lpnorm_f32(x, n, 2), sqrt(sq), 1e-4 * sqrt(sq));
        ck_assert_double_eq_tol(nni_pooling_lpnorm_f32(x, n, 1), ab, 1e-4 * ab);
        ck_assert_double_eq_tol(nni_pooling_lpnorm_f32(x, n, 3), cbrt(p3), 1e-4 * cbrt(p3));
    }
    free(x);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_pool_float_random);
    tcase_add_test(tc, test_pool2d_fast_random);
    tcase_add_test(tc, test_pool_int8_random);
    tcase_add_test(tc, test_pool_argmax_ties);
    tcase_add_test(tc, test_plane_reductions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
