/*
 * check_darknet.c — the darknet frontend on small cfgs written by the tests:
 * layer semantics that differ from the "usual" ones (reorg, maxpool padding,
 * batch-norm epsilon, route groups, shortcut weights), detection metadata,
 * file discovery, and hostile cfg / weights files (every one a clean error).
 * Parity with Debian's darknet itself is tools/darknet/parity.sh.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/common.h"
#include "test_util.h"

static void setup(void) { test_tmpdir_make("nn_darknet"); }

static void write_text(const char *name, const char *text)
{
    FILE *f = fopen(test_tmp_path(name), "wb");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

/* darknet 0.2 header (64-bit seen) + the given floats */
static void write_weights(const char *name, const float *w, size_t n)
{
    FILE *f = fopen(test_tmp_path(name), "wb");
    ck_assert_ptr_nonnull(f);
    int32_t ver[3] = {0, 2, 0};
    uint64_t seen = 0;
    fwrite(ver, 4, 3, f);
    fwrite(&seen, 8, 1, f);
    if (n)
        fwrite(w, 4, n, f);
    fclose(f);
}

static nn_model *load_ok(const char *cfg)
{
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_tmp_path(cfg), NULL, &m));
    return m;
}

/* Run a one-input model on `in`; returns a malloc'd copy of output k. */
static float *run1(nn_model *m, const float *in, int64_t *count, uint32_t k)
{
    int64_t dims[4];
    for (int i = 0; i < 4; i++)
        ck_assert_ok(nn_model_input_dim(m, 0, i, &dims[i], NULL));
    nn_tensor *t;
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 4, dims, (void *)in, &t));
    nn_session *s;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    ck_assert_ok(nn_session_run(s, 1, NULL, (const nn_tensor *const *)&t));
    const nn_tensor *o = nn_session_output(s, k);
    *count = nn_tensor_count(o);
    float *copy = malloc((size_t)*count * sizeof *copy);
    memcpy(copy, nn_tensor_data_const(o), (size_t)*count * sizeof *copy);
    nn_session_free(s);
    nn_tensor_free(t);
    return copy;
}

/* darknet's reorg_cpu, written out from its definition */
static void reorg_ref(const float *x, int w, int h, int c, int stride, int forward, float *out)
{
    int out_c = c / (stride * stride);
    for (int k = 0; k < c; ++k)
        for (int j = 0; j < h; ++j)
            for (int i = 0; i < w; ++i) {
                int in_index = i + w * (j + h * k);
                int c2 = k % out_c, offset = k / out_c;
                int w2 = i * stride + offset % stride, h2 = j * stride + offset / stride;
                int out_index = w2 + w * stride * (h2 + h * stride * c2);
                if (forward)
                    out[out_index] = x[in_index];
                else
                    out[in_index] = x[out_index];
            }
}

START_TEST(test_reorg)
{
    /* [reorg] is darknet's permutation, not SpaceToDepth; reverse=1 is reorg_cpu(forward=1) */
    for (int reverse = 0; reverse <= 1; reverse++) {
        char cfg[256];
        int w = reverse ? 3 : 6, h = reverse ? 2 : 4, c = 8;
        snprintf(cfg, sizeof cfg, "[net]\nwidth=%d\nheight=%d\nchannels=%d\n\n[reorg]\nstride=2\nreverse=%d\n", w, h, c,
                 reverse);
        write_text("reorg.cfg", cfg);
        nn_model *m = load_ok("reorg.cfg"); /* no weights needed: none exist */
        int64_t d;
        ck_assert_ok(nn_model_output_dim(m, 0, 1, &d, NULL));
        ck_assert_int_eq(d, reverse ? 2 : 32);
        int n = w * h * c;
        float *in = malloc((size_t)n * sizeof *in), *want = malloc((size_t)n * sizeof *want);
        for (int i = 0; i < n; i++)
            in[i] = (float)i;
        reorg_ref(in, w, h, c, 2, reverse, want);
        int64_t count;
        float *got = run1(m, in, &count, 0);
        ck_assert_int_eq(count, n);
        for (int i = 0; i < n; i++)
            ck_assert_msg(got[i] == want[i], "reverse=%d: element %d is %g, darknet %g", reverse, i, (double)got[i],
                          (double)want[i]);
        free(in);
        free(want);
        free(got);
        nn_model_free(m);
    }
}
END_TEST

/* darknet's maxpool: padding defaults to size-1, window origin -padding/2,
 * taps outside the input ignored */
static float maxpool_ref(const float *x, int w, int h, int size, int stride, int pad, int oy, int ox)
{
    float best = -INFINITY;
    for (int n = 0; n < size; n++)
        for (int mm = 0; mm < size; mm++) {
            int y = -pad / 2 + oy * stride + n, xx = -pad / 2 + ox * stride + mm;
            if (y >= 0 && y < h && xx >= 0 && xx < w && x[y * w + xx] > best)
                best = x[y * w + xx];
        }
    return best;
}

START_TEST(test_maxpool)
{
    static const int cases[][4] = {{2, 1, -1, 0}, {2, 2, -1, 0}, {3, 2, -1, 0}, {3, 1, 0, 0}, {3, 2, 3, 0}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        int size = cases[k][0], stride = cases[k][1], pad = cases[k][2] < 0 ? size - 1 : cases[k][2];
        int w = 7, h = 5;
        char cfg[256];
        snprintf(cfg, sizeof cfg, "[net]\nwidth=%d\nheight=%d\nchannels=1\n[maxpool]\nsize=%d\nstride=%d\n%s%d\n", w, h,
                 size, stride, cases[k][2] < 0 ? "#padding=" : "padding=", pad);
        write_text("pool.cfg", cfg);
        nn_model *m = load_ok("pool.cfg");
        float in[35];
        for (int i = 0; i < 35; i++)
            in[i] = (float)((i * 37) % 23) - 11;
        int64_t count;
        float *got = run1(m, in, &count, 0);
        int ow = (w + pad - size) / stride + 1, oh = (h + pad - size) / stride + 1;
        ck_assert_int_eq(count, ow * oh);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                ck_assert_msg(got[y * ow + x] == maxpool_ref(in, w, h, size, stride, pad, y, x),
                              "size %d stride %d pad %d at (%d,%d)", size, stride, pad, y, x);
        free(got);
        nn_model_free(m);
    }
}
END_TEST

/* Batch norm with darknet's epsilon on the standard deviation, leaky, a 1x1
 * convolution, route with groups, shortcut with weights, upsample. */
START_TEST(test_layer_math)
{
    write_text("m.cfg", "[net]\nwidth=2\nheight=2\nchannels=2\n"
                        "[convolutional]\nbatch_normalize=1\nfilters=2\nsize=1\nstride=1\npad=1\nactivation=leaky\n"
                        "[route]\nlayers=-1,0\ngroups=2\ngroup_id=1\n"
                        "[shortcut]\nfrom=-2\nalpha=0.5\nbeta=2\nactivation=linear\n"
                        "[upsample]\nstride=2\n");
    /* biases(beta) 2, scales 2, mean 2, variance 2, weights 2x2 */
    float w[] = {0.1f, -0.2f, 1.5f, 0.5f, 0.25f, -1.0f, 1e-10f, 4.0f, 1, 2, -3, 0.5f};
    write_weights("m.weights", w, sizeof w / sizeof *w);
    nn_model *m = load_ok("m.cfg");
    float in[8] = {1, 2, 3, 4, -1, 0.5f, 2, -2};
    int64_t count;
    float *got = run1(m, in, &count, 0);
    ck_assert_int_eq(count, 2 * 4 * 4);
    float conv[2][4];
    for (int o = 0; o < 2; o++)
        for (int p = 0; p < 4; p++) {
            float v = w[8 + 2 * o] * in[p] + w[8 + 2 * o + 1] * in[4 + p];
            v = (v - w[4 + o]) / (sqrtf(w[6 + o]) + .000001f) * w[2 + o] + w[o];
            conv[o][p] = v > 0 ? v : 0.1f * v;
        }
    /* route: second half of each input's channels: conv ch 1, then layer 0 (conv) ch 1 */
    for (int c = 0; c < 2; c++)
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) {
                float route = conv[1][(y / 2) * 2 + x / 2];
                float want = 0.5f * route + 2.0f * conv[c][(y / 2) * 2 + x / 2];
                float g = got[c * 16 + y * 4 + x];
                ck_assert_msg(fabsf(g - want) <= 1e-4f * (1 + fabsf(want)), "c%d (%d,%d): %g, want %g", c, y, x,
                              (double)g, (double)want);
            }
    free(got);
    nn_model_free(m);
}
END_TEST

START_TEST(test_connected_softmax)
{
    write_text("c.cfg", "[net]\nwidth=2\nheight=1\nchannels=2\n"
                        "[connected]\noutput=3\nactivation=relu\n"
                        "[softmax]\ngroups=1\n[cost]\n");
    /* biases 3, weights 3x4 (row per output) */
    float w[] = {0.5f, -1, 0, 1, 2, 3, 4, -1, -2, -3, -4, 0.1f, 0.2f, 0.3f, 0.4f};
    write_weights("c.weights", w, sizeof w / sizeof *w);
    nn_model *m = load_ok("c.cfg");
    float in[4] = {0.5f, -1, 2, 1};
    int64_t count;
    float *got = run1(m, in, &count, 0);
    ck_assert_int_eq(count, 3);
    float z[3], sum = 0;
    for (int o = 0; o < 3; o++) {
        z[o] = w[o];
        for (int i = 0; i < 4; i++)
            z[o] += w[3 + o * 4 + i] * in[i];
        z[o] = z[o] > 0 ? z[o] : 0;
        sum += expf(z[o]);
    }
    for (int o = 0; o < 3; o++)
        ck_assert_float_eq_tol(got[o], expf(z[o]) / sum, 1e-5f);
    free(got);
    nn_model_free(m);
}
END_TEST

static const char *yolo_cfg = "# a tiny detector\n\n[net]\nwidth=32\nheight=32\nchannels=3\n"
                              "[convolutional]\nfilters=18\nsize=1\nstride=1\npad=1\nactivation=linear\n"
                              "[yolo]\nmask=1,2,3\nanchors=10,14, 23,27, 37,58, 81,82\nclasses=1\nnum=4\n"
                              "[route]\nlayers=-2\n"
                              "[convolutional]\nfilters=12\nsize=3\nstride=2\npad=1\nactivation=linear\n"
                              "[yolo]\nmask=0,1\nanchors=10,14, 23,27, 37,58, 81,82\nclasses=1\nnum=4\n";

START_TEST(test_yolo_metadata)
{
    write_text("det.txt", yolo_cfg); /* detected by content, not extension */
    size_t n = 18 + 18 * 3 + 12 + 12 * 18 * 9;
    float *w = calloc(n, sizeof *w);
    write_weights("det.weights", w, n);
    write_text("det.names", "thing\r\n");
    nn_model *m = load_ok("det.txt");
    ck_assert_uint_eq(nn_model_output_count(m), 2);
    ck_assert_str_eq(nn_model_metadata(m, "nn.detect.family"), "yolov3");
    ck_assert_str_eq(nn_model_metadata(m, "nn.detect.anchors"), "10,14,23,27,37,58,81,82");
    ck_assert_str_eq(nn_model_metadata(m, "nn.detect.masks"), "1,2,3;0,1");
    ck_assert_str_eq(nn_model_metadata(m, "nn.detect.classes"), "1");
    ck_assert_str_eq(nn_model_metadata(m, "nn.detect.letterbox"), "darknet");
    ck_assert_str_eq(nn_model_metadata(m, "nn.labels"), "thing");
    int64_t d;
    ck_assert_ok(nn_model_output_dim(m, 1, 2, &d, NULL));
    ck_assert_int_eq(d, 16);
    nn_model_free(m);
    /* weights named by the options */
    rename(test_tmp_path("det.weights"), test_tmp_path("other.bin"));
    nn_load_options o;
    nn_load_options_init(&o, NN_LOAD_OPTIONS_VERSION);
    ck_assert_nn(nn_model_load(test_tmp_path("det.txt"), &o, &m), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "det.weights") != NULL);
    o.weights_path = test_tmp_path("other.bin");
    ck_assert_ok(nn_model_load(test_tmp_path("det.txt"), &o, &m));
    nn_model_free(m);
    /* from memory, with the weights path */
    size_t size;
    uint8_t *bytes = test_read_file(test_tmp_path("det.txt"), &size);
    ck_assert_ok(nn_model_load_memory(bytes, size, &o, &m));
    ck_assert_ptr_null(nn_model_metadata(m, "nn.labels"));
    nn_model_free(m);
    ck_assert_nn(nn_model_load_memory(bytes, size, NULL, &m), NN_E_INVALID_ARG);
    ck_assert(strstr(nn_last_error(), "weights_path") != NULL);
    /* every prefix of the cfg: a clean error or a model, never a crash */
    for (size_t len = 1; len < size; len++) {
        nn_status st = nn_model_load_memory(bytes, len, &o, &m);
        if (st == NN_OK) {
            nn_model_free(m);
            continue;
        }
        ck_assert_msg(st == NN_E_PARSE || st == NN_E_INVALID_MODEL || st == NN_E_UNSUPPORTED || st == NN_E_INVALID_ARG,
                      "prefix %zu: %d %s", len, (int)st, nn_last_error());
    }
    free(bytes);
    free(w);
}
END_TEST

/* Each allocation failing in turn gives NN_E_NOMEM and leaks nothing (ASan). */
START_TEST(test_oom)
{
    write_text("det.cfg", yolo_cfg);
    size_t n = 18 + 18 * 3 + 12 + 12 * 18 * 9;
    float *w = calloc(n, sizeof *w);
    write_weights("det.weights", w, n);
    free(w);
    for (int64_t k = 0;; k++) {
        nn_model *m = NULL;
        nni_alloc_fail_after(k);
        nn_status st = nn_model_load(test_tmp_path("det.cfg"), NULL, &m);
        nni_alloc_fail_after(-1);
        if (st == NN_OK) {
            nn_model_free(m);
            ck_assert_int_gt(k, 10);
            break;
        }
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld failing gave %d: %s", (long long)k, (int)st, nn_last_error());
        ck_assert_ptr_null(m);
    }
}
END_TEST

typedef struct bad_cfg {
    const char *text;
    nn_status status;
    const char *needle;
} bad_cfg;

START_TEST(test_bad_cfgs)
{
    static const bad_cfg cases[] = {
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[fancy]\nx=1\n", NN_E_UNSUPPORTED, "[fancy] is not supported"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[fancy]\nx=1\n", NN_E_UNSUPPORTED, "line 5"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nsize=-3\n", NN_E_INVALID_MODEL, "size=-3"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=99999999\n", NN_E_LIMIT, "filters"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nsize=abc\n", NN_E_PARSE, "line 6"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nsize=9\n", NN_E_INVALID_MODEL, "larger than"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\ngroups=2\n", NN_E_INVALID_MODEL, "groups"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nactivation=sparkle\n", NN_E_UNSUPPORTED, "sparkle"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nbinary=1\n", NN_E_UNSUPPORTED, "binary"},
        {"[net]\nwidth=0\nheight=8\nchannels=3\n[maxpool]\n", NN_E_INVALID_MODEL, "width"},
        {"[net]\ninputs=8\n[connected]\n", NN_E_UNSUPPORTED, "inputs="},
        {"[net]\nwidth=100000\nheight=8\nchannels=3\n[maxpool]\n", NN_E_LIMIT, "width"},
        {"[net]\nwidth=65536\nheight=65536\nchannels=65536\n[maxpool]\n", NN_E_LIMIT, "limit"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[route]\nlayers=3\n", NN_E_INVALID_MODEL, "earlier layer"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[maxpool]\n[route]\nlayers=-5\n", NN_E_INVALID_MODEL, "earlier"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[route]\n", NN_E_INVALID_MODEL, "layers="},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[maxpool]\n[maxpool]\nstride=2\n[route]\nlayers=-1,-2\n", NN_E_INVALID_MODEL,
         "cannot concatenate"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[maxpool]\n[shortcut]\nfrom=-9\n", NN_E_INVALID_MODEL, "from"},
        {"[net]\nwidth=8\nheight=8\nchannels=4\n[reorg]\nstride=3\n", NN_E_UNSUPPORTED, "reorg"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[yolo]\nclasses=1\nnum=1\nanchors=1,1\n", NN_E_INVALID_MODEL,
         "channels"},
        {"[net]\nwidth=8\nheight=8\nchannels=6\n[yolo]\nclasses=1\nnum=1\nmask=3\nanchors=1,1\n", NN_E_INVALID_MODEL,
         "mask"},
        {"[net]\nwidth=8\nheight=8\nchannels=6\n[yolo]\nclasses=1\nnum=2\nanchors=1,1\n", NN_E_INVALID_MODEL,
         "anchors"},
        {"[net]\nwidth=8\nheight=8\nchannels=6\n[yolo]\nclasses=1\nnum=1\nanchors=1,1\n[maxpool]\n", NN_E_UNSUPPORTED,
         "activated"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[maxpool]\nsize=2\npadding=9\n", NN_E_UNSUPPORTED, "padding"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[upsample]\nstride=-2\n", NN_E_UNSUPPORTED, "stride"},
        {"[convolutional]\nsize=1\n", NN_E_INVALID_MODEL, "[net]"},
        {"size=1\n[net]\n", NN_E_PARSE, "before any [section]"},
        {"[net]\nwidth\n", NN_E_PARSE, "line 2"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n", NN_E_INVALID_MODEL, "no layers"},
        {"[net]\nwidth=8\nheight=8\nchannels=3\n[net]\n", NN_E_INVALID_MODEL, "second"},
        {"[net\nwidth=8\n", NN_E_PARSE, "section header"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_text("bad.cfg", cases[i].text);
        nn_model *m = (nn_model *)1;
        nn_status st = nn_model_load(test_tmp_path("bad.cfg"), NULL, &m);
        ck_assert_msg(st == cases[i].status, "case %zu: got %d (%s), want %d", i, (int)st, nn_last_error(),
                      (int)cases[i].status);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(nn_last_error(), cases[i].needle) != NULL, "case %zu: '%s' lacks '%s'", i, nn_last_error(),
                      cases[i].needle);
        ck_assert_msg(strstr(nn_last_error(), "bad.cfg") != NULL, "case %zu: '%s' lacks the file", i, nn_last_error());
    }
}
END_TEST

START_TEST(test_bad_weights)
{
    write_text("w.cfg", "[net]\nwidth=4\nheight=4\nchannels=1\n[convolutional]\nfilters=2\nsize=3\npad=1\n"
                        "[convolutional]\nbatch_normalize=1\nfilters=1\nsize=1\n");
    float w[2 + 18 + 4 + 2] = {0};
    nn_model *m = NULL;
    /* exact: 26 floats */
    write_weights("w.weights", w, 26);
    ck_assert_ok(nn_model_load(test_tmp_path("w.cfg"), NULL, &m));
    nn_model_free(m);
    write_weights("w.weights", w, 25);
    ck_assert_nn(nn_model_load(test_tmp_path("w.cfg"), NULL, &m), NN_E_INVALID_MODEL);
    ck_assert_msg(strstr(nn_last_error(), "inside layer 1 [convolutional] (line 9)") != NULL, "%s", nn_last_error());
    write_weights("w.weights", w, 10);
    ck_assert_nn(nn_model_load(test_tmp_path("w.cfg"), NULL, &m), NN_E_INVALID_MODEL);
    ck_assert_msg(strstr(nn_last_error(), "inside layer 0") != NULL, "%s", nn_last_error());
    float more[27] = {0};
    write_weights("w.weights", more, 27);
    ck_assert_nn(nn_model_load(test_tmp_path("w.cfg"), NULL, &m), NN_E_INVALID_MODEL);
    ck_assert_msg(strstr(nn_last_error(), "4 more") != NULL, "%s", nn_last_error());
    write_text("w.weights", "abc");
    ck_assert_nn(nn_model_load(test_tmp_path("w.cfg"), NULL, &m), NN_E_PARSE);
    ck_assert_msg(strstr(nn_last_error(), "header") != NULL, "%s", nn_last_error());
    unlink(test_tmp_path("w.weights"));
    ck_assert_nn(nn_model_load(test_tmp_path("w.cfg"), NULL, &m), NN_E_IO);
    /* an old (0.1) header has a 32-bit "seen": 16 bytes */
    FILE *f = fopen(test_tmp_path("w.weights"), "wb");
    int32_t hdr[4] = {0, 1, 0, 0};
    fwrite(hdr, 4, 4, f);
    fwrite(w, 4, 26, f);
    fclose(f);
    ck_assert_ok(nn_model_load(test_tmp_path("w.cfg"), NULL, &m));
    nn_model_free(m);
}
END_TEST

Suite *nn_test_darknet_suite(void)
{
    Suite *s = suite_create("darknet");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, test_tmpdir_remove);
    tcase_add_test(tc, test_reorg);
    tcase_add_test(tc, test_maxpool);
    tcase_add_test(tc, test_layer_math);
    tcase_add_test(tc, test_connected_softmax);
    tcase_add_test(tc, test_yolo_metadata);
    tcase_add_test(tc, test_oom);
    tcase_add_test(tc, test_bad_cfgs);
    tcase_add_test(tc, test_bad_weights);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(nn_test_darknet_suite()); }
