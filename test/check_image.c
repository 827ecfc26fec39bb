/*
 * check_image.c — images: decoding every PNG/JPEG mode against Pillow's
 * pixels, EXIF orientation, resizing against Pillow's BILINEAR/NEAREST,
 * the preprocessing fits, bad files, the pixel budget, nn_image_to_tensor,
 * nn_classify, and allocation failures. Data: tools/testdata/make_images.py.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h" /* nni_alloc_fail_after */
#include "test_util.h"

/* libjpeg-turbo is Pillow's decoder too, so JPEG pixels match exactly; 2 levels
 * allows for another IDCT implementation (e.g. a SIMD or float path). */
#define JPEG_TOLERANCE 2
/* Pillow rounds 8-bit results after each of its two passes and uses fixed-point
 * weights; nn keeps floats between the passes and rounds once. */
#define RESIZE_BILINEAR_TOLERANCE 1
#define RESIZE_NEAREST_TOLERANCE 0
/* Against Pillow's float ("F" mode) resize, on the 0-255 scale. */
#define FIT_TOLERANCE 0.001

typedef struct ref {
    int w, h, c;
    char type[4];
    uint8_t *raw;
    uint8_t *data; /* into raw */
} ref;

static void ref_load(const char *name, ref *r)
{
    char rel[256];
    snprintf(rel, sizeof rel, "images/%s.ref", name);
    size_t size;
    r->raw = test_read_file(test_data_path(rel), &size);
    r->raw[size] = 0; /* test_read_file leaves room for this */
    const uint8_t *nl = memchr(r->raw, '\n', size);
    ck_assert_msg(nl && sscanf((char *)r->raw, "nnref %d %d %d %3s", &r->w, &r->h, &r->c, r->type) == 4,
                  "%s: bad header", rel);
    r->data = r->raw + (nl - r->raw) + 1; /* not "\n" in the format: it would also skip binary whitespace */
}

static double ref_sample(const ref *r, size_t i)
{
    if (strcmp(r->type, "u8") == 0)
        return r->data[i];
    if (strcmp(r->type, "u16") == 0)
        return r->data[2 * i] | r->data[2 * i + 1] << 8;
    float f;
    memcpy(&f, r->data + 4 * i, 4);
    return f;
}

static nn_image *load(const char *name)
{
    char rel[256];
    snprintf(rel, sizeof rel, "images/%s", name);
    nn_image *im = NULL;
    ck_assert_ok(nn_image_load(test_data_path(rel), NULL, &im));
    return im;
}

/* Largest |nn - Pillow| over all samples. Pillow keeps 16-bit gray as is but
 * reduces 16-bit colour to its high byte (and 16-bit gray+alpha to RGBA). */
static int max_diff(const nn_image *im, const ref *r)
{
    nn_image *conv = NULL;
    if (nn_image_channels(im) != r->c) {
        ck_assert_ok(nn_image_convert(im, r->c, &conv));
        im = conv;
    }
    ck_assert_int_eq(nn_image_width(im), r->w);
    ck_assert_int_eq(nn_image_height(im), r->h);
    bool wide = nn_image_dtype(im) == NN_DTYPE_UINT16;
    int shift = wide && strcmp(r->type, "u8") == 0 ? 8 : 0;
    size_t n = (size_t)r->w * r->h * r->c;
    int worst = 0;
    for (size_t i = 0; i < n; i++) {
        int v = wide ? ((const uint16_t *)nn_image_data(im))[i] >> shift : ((const uint8_t *)nn_image_data(im))[i];
        int d = abs(v - (int)ref_sample(r, i));
        if (d > worst)
            worst = d;
    }
    nn_image_free(conv);
    return worst;
}

static const struct {
    const char *file;
    int channels, bits;
} decode_cases[] = {
    {"gray8.png", 1, 8}, {"gray_alpha8.png", 2, 8}, {"rgb8.png", 3, 8}, {"rgba8.png", 4, 8},
    {"palette8.png", 3, 8}, {"gray16.png", 1, 16}, {"gray_alpha16.png", 2, 16}, {"rgb16.png", 3, 16},
    {"rgba16.png", 4, 16}, {"gray1.png", 1, 8}, {"gray2.png", 1, 8}, {"gray4.png", 1, 8},
    {"palette4.png", 3, 8}, {"palette4_trns.png", 4, 8}, {"gray8_interlaced.png", 1, 8},
    {"rgb8_interlaced.png", 3, 8}, {"rgba16_interlaced.png", 4, 16}, {"palette4_interlaced.png", 3, 8},
    {"baseline420.jpg", 3, 8}, {"baseline444.jpg", 3, 8}, {"baseline422.jpg", 3, 8}, {"progressive.jpg", 3, 8},
    {"optimized.jpg", 3, 8}, {"gray.jpg", 1, 8}, {"gray_progressive.jpg", 1, 8}, {"cmyk.jpg", 3, 8},
    {"exif1.jpg", 3, 8}, {"exif2.jpg", 3, 8}, {"exif3.jpg", 3, 8}, {"exif4.jpg", 3, 8},
    {"exif5.jpg", 3, 8}, {"exif6.jpg", 3, 8}, {"exif7.jpg", 3, 8}, {"exif8.jpg", 3, 8},
};

START_TEST(test_decode_matches_pillow)
{
    const char *file = decode_cases[_i].file;
    nn_image *im = load(file);
    ck_assert_int_eq(nn_image_channels(im), decode_cases[_i].channels);
    ck_assert_int_eq(nn_image_dtype(im), decode_cases[_i].bits == 16 ? NN_DTYPE_UINT16 : NN_DTYPE_UINT8);
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)(strrchr(file, '.') - file), file);
    ref r;
    ref_load(name, &r);
    int d = max_diff(im, &r);
    int tol = strstr(file, ".jpg") ? JPEG_TOLERANCE : 0;
    printf("decode %-26s %dx%dx%d %2d-bit  max|nn-Pillow| = %d (allowed %d)\n", file, r.w, r.h,
           nn_image_channels(im), decode_cases[_i].bits, d, tol);
    ck_assert_msg(d <= tol, "%s: max difference %d > %d", file, d, tol);
    free(r.raw);
    nn_image_free(im);
}
END_TEST

START_TEST(test_load_memory_equals_file)
{
    const char *files[] = {"rgba16_interlaced.png", "progressive.jpg", "exif6.jpg"};
    for (size_t k = 0; k < sizeof files / sizeof *files; k++) {
        char rel[128];
        snprintf(rel, sizeof rel, "images/%s", files[k]);
        size_t size;
        uint8_t *bytes = test_read_file(test_data_path(rel), &size);
        nn_image *a = load(files[k]), *b = NULL;
        ck_assert_ok(nn_image_load_memory(bytes, size, NULL, &b));
        ck_assert_int_eq(nn_image_width(a), nn_image_width(b));
        ck_assert_int_eq(nn_image_height(a), nn_image_height(b));
        size_t n = (size_t)nn_image_width(a) * nn_image_height(a) * nn_image_channels(a) *
                   (nn_image_dtype(a) == NN_DTYPE_UINT16 ? 2 : 1);
        ck_assert_mem_eq(nn_image_data(a), nn_image_data(b), n);
        nn_image_free(a);
        nn_image_free(b);
        free(bytes);
    }
}
END_TEST

START_TEST(test_exif_orientation_off)
{
    nn_image_options o;
    ck_assert_ok(nn_image_options_init(&o, NN_IMAGE_OPTIONS_VERSION));
    ck_assert_int_eq(o.apply_orientation, 1);
    ck_assert_uint_eq(o.max_pixels, NN_IMAGE_DEFAULT_MAX_PIXELS);
    o.apply_orientation = 0;
    nn_image *im = NULL;
    ck_assert_ok(nn_image_load(test_data_path("images/exif6.jpg"), &o, &im));
    ck_assert_int_eq(nn_image_width(im), 13); /* as stored */
    ck_assert_int_eq(nn_image_height(im), 7);
    nn_image *first = load("exif1.jpg"); /* same pixels stored, orientation 1 */
    ck_assert_mem_eq(nn_image_data(im), nn_image_data(first), 13 * 7 * 3);
    nn_image_free(im);
    nn_image_free(first);
    o.apply_orientation = 2;
    ck_assert_nn(nn_image_load(test_data_path("images/exif6.jpg"), &o, &im), NN_E_INVALID_ARG);
}
END_TEST

/* ---- resize ---- */

static const int resizes[][2] = {{17, 11}, {12, 29}, {80, 61}, {37, 5}, {1, 1}, {64, 48}, {100, 13}};

START_TEST(test_resize_matches_pillow)
{
    const char *srcs[] = {"rgb8", "gray8"};
    const char *filters[] = {"bilinear", "nearest"};
    int worst[2] = {0, 0};
    for (int s = 0; s < 2; s++) {
        char file[64];
        snprintf(file, sizeof file, "%s.png", srcs[s]);
        nn_image *im = load(file);
        for (size_t k = 0; k < sizeof resizes / sizeof *resizes; k++) {
            for (int f = 0; f < 2; f++) {
                int w = resizes[k][0], h = resizes[k][1];
                nn_image *out = NULL;
                ck_assert_ok(nn_image_resize(im, w, h, f == 0 ? NN_FILTER_BILINEAR : NN_FILTER_NEAREST, &out));
                char name[128];
                snprintf(name, sizeof name, "resize_%s_%dx%d_%s", srcs[s], w, h, filters[f]);
                ref r;
                ref_load(name, &r);
                int d = max_diff(out, &r);
                printf("resize %-34s max|nn-Pillow| = %d\n", name, d);
                worst[f] = d > worst[f] ? d : worst[f];
                free(r.raw);
                nn_image_free(out);
            }
        }
        nn_image_free(im);
    }
    ck_assert_int_le(worst[0], RESIZE_BILINEAR_TOLERANCE);
    ck_assert_int_le(worst[1], RESIZE_NEAREST_TOLERANCE);
}
END_TEST

START_TEST(test_resize_16bit_and_args)
{
    nn_image *im = load("rgba16.png"), *out = NULL;
    ck_assert_ok(nn_image_resize(im, 10, 7, NN_FILTER_BILINEAR, &out));
    ck_assert_int_eq(nn_image_dtype(out), NN_DTYPE_UINT16);
    ck_assert_int_eq(nn_image_channels(out), 4);
    nn_image_free(out);
    ck_assert_nn(nn_image_resize(im, 0, 7, NN_FILTER_BILINEAR, &out), NN_E_INVALID_ARG);
    ck_assert_ptr_null(out);
    ck_assert_nn(nn_image_resize(im, 5, 7, 99, &out), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_resize(NULL, 5, 7, NN_FILTER_BILINEAR, &out), NN_E_INVALID_ARG);
    nn_image_free(im);
}
END_TEST

/* ---- preprocessing fits against Pillow's float resize ---- */

/* Not vectorized: Debian 12's aarch64 cross GCC 12 crashes (internal
 * compiler error in vect_transform_reduction) on this fmax reduction. */
__attribute__((optimize("no-tree-vectorize")))
static double fit_max_diff(int32_t resize, float crop_fraction, const char *refname)
{
    nn_image *im = load("gray8.png");
    nn_preprocess_options o;
    ck_assert_ok(nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION));
    o.color = NN_COLOR_GRAY;
    o.resize = resize;
    o.width = 20;
    o.height = 16;
    o.crop_fraction = crop_fraction;
    nn_tensor *t = NULL;
    ck_assert_ok(nn_image_to_tensor(NULL, (const nn_image *const *)&im, 1, &o, &t));
    ck_assert_int_eq(nn_tensor_rank(t), 4);
    ck_assert_int_eq(nn_tensor_dim(t, 1), 1);
    ck_assert_int_eq(nn_tensor_dim(t, 2), 16);
    ck_assert_int_eq(nn_tensor_dim(t, 3), 20);
    ref r;
    ref_load(refname, &r);
    const float *p = nn_tensor_data(t);
    double worst = 0;
    for (int i = 0; i < 20 * 16; i++)
        worst = fmax(worst, fabs(p[i] * 255.0 - ref_sample(&r, (size_t)i)));
    printf("fit %-20s max|nn-Pillow| = %.5f (0-255 scale)\n", refname, worst);
    free(r.raw);
    nn_tensor_free(t);
    nn_image_free(im);
    return worst;
}

START_TEST(test_fits_match_pillow)
{
    ck_assert_double_le(fit_max_diff(NN_RESIZE_STRETCH, 1.0f, "fit_stretch"), FIT_TOLERANCE);
    ck_assert_double_le(fit_max_diff(NN_RESIZE_CENTER_CROP, 1.0f, "fit_center_crop"), FIT_TOLERANCE);
    ck_assert_double_le(fit_max_diff(NN_RESIZE_CENTER_CROP, 0.75f, "fit_center_crop75"), FIT_TOLERANCE);
    ck_assert_double_le(fit_max_diff(NN_RESIZE_LETTERBOX, 1.0f, "fit_letterbox"), FIT_TOLERANCE);
}
END_TEST

/* ---- bad files ---- */

static const struct {
    const char *file;
    nn_status status;
    const char *reason; /* part of the message */
} bad_cases[] = {
    {"bad_truncated.png", NN_E_PARSE, "truncated PNG"},
    {"bad_truncated.jpg", NN_E_PARSE, "truncated JPEG"},
    {"bad_crc.png", NN_E_PARSE, "corrupt PNG"},
    {"bad_marker.jpg", NN_E_PARSE, "corrupt JPEG"},
    {"bad_notimage.txt", NN_E_PARSE, "not a PNG or JPEG"},
    {"bad_fake.png", NN_E_PARSE, "PNG"},
    {"bad_empty.png", NN_E_PARSE, "empty"},
    {"bad_huge.png", NN_E_LIMIT, "100000x100000 pixels is over the budget"},
    {"bad_huge.jpg", NN_E_LIMIT, "60000x60000 pixels is over the budget"},
    {"bad_zero.png", NN_E_PARSE, "width is zero"},
    {"bad_zero.jpg", NN_E_PARSE, "Empty JPEG image"},
    {"bad_precision12.jpg", NN_E_UNSUPPORTED, "unsupported JPEG: Unsupported JPEG data precision 12"},
    {"no_such_file.png", NN_E_IO, "cannot open"},
};

START_TEST(test_bad_images)
{
    char rel[128];
    snprintf(rel, sizeof rel, "images/%s", bad_cases[_i].file);
    nn_image *im = (nn_image *)1;
    nn_status st = nn_image_load(test_data_path(rel), NULL, &im);
    printf("bad %-20s -> %s: %s\n", bad_cases[_i].file, nn_status_string(st), nn_last_error());
    ck_assert_nn(st, bad_cases[_i].status);
    ck_assert_ptr_null(im);
    ck_assert_msg(strstr(nn_last_error(), bad_cases[_i].file) != NULL, "message does not name the file: %s",
                  nn_last_error());
    ck_assert_msg(strstr(nn_last_error(), bad_cases[_i].reason) != NULL, "message lacks '%s': %s",
                  bad_cases[_i].reason, nn_last_error());
    if (bad_cases[_i].status == NN_E_IO)
        return;
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path(rel), &size);
    ck_assert_nn(nn_image_load_memory(bytes, size, NULL, &im), bad_cases[_i].status);
    ck_assert(strstr(nn_last_error(), "from memory") != NULL);
    free(bytes);
}
END_TEST

START_TEST(test_pixel_budget)
{
    nn_image_options o;
    ck_assert_ok(nn_image_options_init(&o, NN_IMAGE_OPTIONS_VERSION));
    nn_image *im = NULL;
    o.max_pixels = 37 * 29 - 1;
    ck_assert_nn(nn_image_load(test_data_path("images/rgb8.png"), &o, &im), NN_E_LIMIT);
    o.max_pixels = 45 * 31 - 1;
    ck_assert_nn(nn_image_load(test_data_path("images/progressive.jpg"), &o, &im), NN_E_LIMIT);
    o.max_pixels = 37 * 29;
    ck_assert_ok(nn_image_load(test_data_path("images/rgb8.png"), &o, &im));
    nn_image_free(im);
    o.max_file_bytes = 10;
    ck_assert_nn(nn_image_load(test_data_path("images/rgb8.png"), &o, &im), NN_E_LIMIT);
    o.version = 99;
    ck_assert_nn(nn_image_load(test_data_path("images/rgb8.png"), &o, &im), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_load(NULL, NULL, &im), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_load("x.png", NULL, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_load_memory(NULL, 3, NULL, &im), NN_E_INVALID_ARG);
}
END_TEST

/* ---- create, convert, crop ---- */

START_TEST(test_create_convert_crop)
{
    const uint8_t px[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
    nn_image *im = NULL, *g = NULL, *rgba = NULL, *c = NULL;
    ck_assert_ok(nn_image_create(2, 2, 3, NN_DTYPE_UINT8, px, &im));
    ck_assert_ok(nn_image_convert(im, 1, &g));
    const uint8_t *gp = nn_image_data(g);
    ck_assert_int_eq(gp[0], 76); /* Pillow's convert("L") of pure red, green, blue */
    ck_assert_int_eq(gp[1], 150);
    ck_assert_int_eq(gp[2], 29);
    ck_assert_ok(nn_image_convert(g, 4, &rgba));
    const uint8_t *ap = nn_image_data(rgba);
    ck_assert_int_eq(ap[4], 150);
    ck_assert_int_eq(ap[6], 150);
    ck_assert_int_eq(ap[7], 255);
    ck_assert_ok(nn_image_crop(im, 1, 1, 1, 1, &c));
    ck_assert_mem_eq(nn_image_data(c), px + 9, 3);
    nn_image_free(c);
    ck_assert_nn(nn_image_crop(im, 1, 1, 2, 1, &c), NN_E_INVALID_ARG);
    ck_assert_ptr_null(c);
    ck_assert_nn(nn_image_create(0, 2, 3, NN_DTYPE_UINT8, NULL, &c), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_create(2, 2, 5, NN_DTYPE_UINT8, NULL, &c), NN_E_INVALID_ARG);
    ck_assert_nn(nn_image_create(2, 2, 3, NN_DTYPE_FLOAT32, NULL, &c), NN_E_TYPE);
    ck_assert_nn(nn_image_create(INT32_MAX, INT32_MAX, 4, NN_DTYPE_UINT16, NULL, &c), NN_E_LIMIT);
    ck_assert_nn(nn_image_convert(im, 0, &c), NN_E_INVALID_ARG);
    nn_image_free(im);
    nn_image_free(g);
    nn_image_free(rgba);
    nn_image_free(NULL);
    ck_assert_int_eq(nn_image_width(NULL), 0);
}
END_TEST

/* ---- nn_image_to_tensor ---- */

START_TEST(test_tensor_color_order_and_norm)
{
    const uint8_t px[3] = {255, 51, 0}; /* one RGB pixel */
    nn_image *im = NULL;
    ck_assert_ok(nn_image_create(1, 1, 3, NN_DTYPE_UINT8, px, &im));
    nn_preprocess_options o;
    ck_assert_ok(nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION));
    o.color = NN_COLOR_BGR;
    o.n_mean = 3;
    o.mean[0] = 0.5f, o.mean[1] = 0.2f, o.mean[2] = 0.0f;
    o.n_std = 1;
    o.std[0] = 0.5f;
    nn_tensor *t = NULL;
    ck_assert_ok(nn_image_to_tensor(NULL, (const nn_image *const *)&im, 1, &o, &t));
    const float *p = nn_tensor_data(t);
    ck_assert_float_eq_tol(p[0], (0.0f - 0.5f) / 0.5f, 1e-6f);  /* B */
    ck_assert_float_eq_tol(p[1], (0.2f - 0.2f) / 0.5f, 1e-6f);  /* G */
    ck_assert_float_eq_tol(p[2], (1.0f - 0.0f) / 0.5f, 1e-6f);  /* R */
    nn_tensor_free(t);
    o.n_std = 2; /* neither 1 nor one per channel */
    ck_assert_nn(nn_image_to_tensor(NULL, (const nn_image *const *)&im, 1, &o, &t), NN_E_INVALID_ARG);
    o.n_std = 1;
    o.std[0] = 0.0f;
    ck_assert_nn(nn_image_to_tensor(NULL, (const nn_image *const *)&im, 1, &o, &t), NN_E_INVALID_ARG);
    nn_image_free(im);
}
END_TEST

START_TEST(test_tensor_gray_rgb_and_batch)
{
    nn_image *imgs[2] = {load("gray8.png"), load("rgb16.png")};
    nn_preprocess_options o;
    ck_assert_ok(nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION));
    nn_tensor *t = NULL;
    /* no model, no size: RGB at the first image's size; gray replicated */
    ck_assert_ok(nn_image_to_tensor(NULL, (const nn_image *const *)imgs, 2, NULL, &t));
    ck_assert_int_eq(nn_tensor_dim(t, 0), 2);
    ck_assert_int_eq(nn_tensor_dim(t, 1), 3);
    ck_assert_int_eq(nn_tensor_dim(t, 2), 29);
    ck_assert_int_eq(nn_tensor_dim(t, 3), 37);
    const float *p = nn_tensor_data(t);
    const uint8_t *g = nn_image_data(imgs[0]);
    size_t plane = 29 * 37;
    for (size_t i = 0; i < plane; i++) {
        ck_assert_float_eq_tol(p[i], g[i] / 255.0f, 1e-6f);
        ck_assert_float_eq(p[plane + i], p[i]);
        ck_assert_float_eq(p[2 * plane + i], p[i]);
    }
    const uint16_t *c = nn_image_data(imgs[1]); /* 16-bit samples keep their precision */
    ck_assert_float_eq_tol(p[3 * plane + 5], c[5 * 3] / 65535.0f, 1e-6f);
    nn_tensor_free(t);
    o.color = NN_COLOR_GRAY;
    o.width = 8;
    o.height = 6;
    ck_assert_ok(nn_image_to_tensor(NULL, (const nn_image *const *)imgs, 2, &o, &t));
    ck_assert_int_eq(nn_tensor_dim(t, 1), 1);
    ck_assert_int_eq(nn_tensor_dim(t, 3), 8);
    nn_tensor_free(t);
    ck_assert_nn(nn_image_to_tensor(NULL, NULL, 0, NULL, &t), NN_E_INVALID_ARG);
    o.crop_fraction = 0.0f;
    ck_assert_nn(nn_image_to_tensor(NULL, (const nn_image *const *)imgs, 2, &o, &t), NN_E_INVALID_ARG);
    nn_image_free(imgs[0]);
    nn_image_free(imgs[1]);
}
END_TEST

/* ---- classification ---- */

static nn_model *load_model(const char *name)
{
    char rel[128];
    snprintf(rel, sizeof rel, "images/%s", name);
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path(rel), NULL, &m));
    return m;
}

START_TEST(test_classify_identity)
{
    nn_model *m = load_model("classify_identity.onnx");
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    const uint8_t px[4] = {0, 255, 128, 64}; /* scores (p/255-0.5)/0.25 = -2, 2, 0.0078, -0.996 */
    nn_image *im = NULL;
    ck_assert_ok(nn_image_create(4, 1, 1, NN_DTYPE_UINT8, px, &im));
    const nn_image *batch[3] = {im, im, im};
    nn_classification *r = NULL;
    ck_assert_ok(nn_classify(s, batch, 3, 2, NULL, &r));
    ck_assert_uint_eq(nn_classification_image_count(r), 3);
    ck_assert_uint_eq(nn_classification_class_count(r), 4);
    ck_assert_uint_eq(nn_classification_count(r, 2), 2);
    ck_assert_uint_eq(nn_classification_count(r, 3), 0);
    double z[4] = {-2, 2, (128 / 255.0 - 0.5) / 0.25, (64 / 255.0 - 0.5) / 0.25}, sum = 0;
    for (int i = 0; i < 4; i++)
        sum += exp(z[i]);
    uint32_t index;
    float score;
    const char *label;
    ck_assert_ok(nn_classification_get(r, 2, 0, &index, &score, &label));
    ck_assert_uint_eq(index, 1);
    ck_assert_str_eq(label, "one");
    ck_assert_double_eq_tol(score, exp(2) / sum, 1e-5);
    ck_assert_ok(nn_classification_get(r, 0, 1, &index, &score, &label));
    ck_assert_uint_eq(index, 2);
    ck_assert_str_eq(label, "two");
    ck_assert_nn(nn_classification_get(r, 0, 2, &index, &score, &label), NN_E_INVALID_ARG);
    nn_classification_free(r);

    /* caller labels, raw scores, all classes, a larger RGB image resized to 4x1 */
    nn_classify_options co;
    ck_assert_ok(nn_classify_options_init(&co, NN_CLASSIFY_OPTIONS_VERSION));
    co.labels = "A\r\nB\r\nC\r\nD";
    co.softmax = NN_SOFTMAX_NEVER;
    ck_assert_ok(nn_classify(s, batch, 1, 0, &co, &r));
    ck_assert_uint_eq(nn_classification_count(r, 0), 4);
    ck_assert_ok(nn_classification_get(r, 0, 3, &index, &score, &label));
    ck_assert_uint_eq(index, 0);
    ck_assert_str_eq(label, "A");
    ck_assert_float_eq_tol(score, -2.0f, 1e-6f);
    nn_classification_free(r);
    nn_image *big = load("rgb8.png");
    ck_assert_ok(nn_classify(s, (const nn_image *const *)&big, 1, 1, NULL, &r));
    nn_classification_free(r);
    co.labels = "A\nB";
    ck_assert_nn(nn_classify(s, batch, 1, 1, &co, &r), NN_E_INVALID_ARG);
    ck_assert_ptr_null(r);
    co.labels = NULL;
    co.output_index = 1;
    ck_assert_nn(nn_classify(s, batch, 1, 1, &co, &r), NN_E_INVALID_ARG);
    ck_assert_nn(nn_classify(NULL, batch, 1, 1, NULL, &r), NN_E_INVALID_ARG);
    nn_classification_free(NULL);
    nn_image_free(big);
    nn_image_free(im);
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

/* A model ending in Softmax: AUTO must not apply a second softmax, ALWAYS does. */
START_TEST(test_classify_softmax_model)
{
    nn_model *m = load_model("classify_softmax.onnx");
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    const uint8_t px[4] = {0, 255, 128, 64};
    nn_image *im = NULL;
    ck_assert_ok(nn_image_create(4, 1, 1, NN_DTYPE_UINT8, px, &im));
    double z[4] = {-2, 2, (128 / 255.0 - 0.5) / 0.25, (64 / 255.0 - 0.5) / 0.25}, sum = 0;
    for (int i = 0; i < 4; i++)
        sum += exp(z[i]);
    nn_classification *r = NULL;
    ck_assert_ok(nn_classify(s, (const nn_image *const *)&im, 1, 1, NULL, &r));
    float score;
    const char *label;
    ck_assert_ok(nn_classification_get(r, 0, 0, NULL, &score, &label));
    ck_assert_str_eq(label, "one");
    ck_assert_double_eq_tol(score, exp(2) / sum, 1e-5);
    nn_classification_free(r);
    nn_classify_options co;
    ck_assert_ok(nn_classify_options_init(&co, NN_CLASSIFY_OPTIONS_VERSION));
    co.softmax = NN_SOFTMAX_ALWAYS;
    ck_assert_ok(nn_classify(s, (const nn_image *const *)&im, 1, 1, &co, &r));
    ck_assert_ok(nn_classification_get(r, 0, 0, NULL, &score, NULL));
    ck_assert_double_lt(score, exp(2) / sum - 0.1); /* softmax of probabilities flattens them */
    nn_classification_free(r);
    nn_image_free(im);
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

/* The bundled model on the bundled samples: each file is named after its class. */
START_TEST(test_fashion_samples)
{
    static const struct {
        const char *file;
        uint32_t index;
    } samples[] = {
        {"tshirt_top.png", 0}, {"trouser.jpg", 1}, {"pullover_rgb_112.png", 2}, {"dress.png", 3},
        {"coat_rgb_84.jpg", 4}, {"sandal_16bit_56.png", 5}, {"shirt.png", 6}, {"sneaker_rgba_64.png", 7},
        {"bag.jpg", 8}, {"ankle_boot_rgb_140.jpg", 9},
    };
    nn_model *m = NULL;
    ck_assert_ok(nn_model_load(test_data_path("../../models/fashion_cnn.onnx"), NULL, &m));
    nn_session *s = NULL;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    const nn_image *images[10];
    for (int i = 0; i < 10; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "../../models/samples/%s", samples[i].file);
        nn_image *im = NULL;
        ck_assert_ok(nn_image_load(test_data_path(rel), NULL, &im));
        images[i] = im;
    }
    nn_classification *r = NULL;
    ck_assert_ok(nn_classify(s, images, 10, 3, NULL, &r)); /* one batch of differently sized images */
    for (uint32_t i = 0; i < 10; i++) {
        uint32_t index;
        float score;
        const char *label;
        ck_assert_ok(nn_classification_get(r, i, 0, &index, &score, &label));
        ck_assert_msg(index == samples[i].index, "%s classified as %s (%u)", samples[i].file, label, index);
        ck_assert_float_gt(score, 0.5f);
        nn_image_free((nn_image *)images[i]);
    }
    nn_classification_free(r);
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

START_TEST(test_classify_bad_metadata)
{
    nn_image *im = NULL;
    ck_assert_ok(nn_image_create(4, 1, 1, NN_DTYPE_UINT8, NULL, &im));
    const char *models[] = {"classify_badlabels.onnx", "classify_badmeta.onnx"};
    const char *why[] = {"nn.labels", "nn.input.mean"};
    for (int k = 0; k < 2; k++) {
        nn_model *m = load_model(models[k]);
        nn_session *s = NULL;
        ck_assert_ok(nn_session_create(m, NULL, &s));
        nn_classification *r = NULL;
        ck_assert_nn(nn_classify(s, (const nn_image *const *)&im, 1, 1, NULL, &r), NN_E_INVALID_MODEL);
        ck_assert_msg(strstr(nn_last_error(), why[k]) != NULL, "%s", nn_last_error());
        nn_session_free(s);
        nn_model_free(m);
    }
    nn_model *m = load_model("classify_identity.onnx");
    nn_preprocess_options o;
    ck_assert_ok(nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION));
    o.color = NN_COLOR_RGB; /* the model takes 1 channel */
    nn_tensor *t = NULL;
    ck_assert_nn(nn_image_to_tensor(m, (const nn_image *const *)&im, 1, &o, &t), NN_E_SHAPE);
    o.color = NN_COLOR_AUTO;
    o.width = 5; /* the model's width is fixed at 4 */
    ck_assert_nn(nn_image_to_tensor(m, (const nn_image *const *)&im, 1, &o, &t), NN_E_SHAPE);
    nn_model_free(m);
    nn_image_free(im);
}
END_TEST

/* ---- every allocation failure is a clean NN_E_NOMEM (ASan checks for leaks) ---- */

static nn_status oom_work(int which)
{
    const char *files[] = {"images/rgba16_interlaced.png", "images/exif6.jpg", "images/cmyk.jpg"};
    nn_image *im = NULL, *r = NULL;
    nn_status st;
    if (which < 3) {
        st = nn_image_load(test_data_path(files[which]), NULL, &im);
        if (st == NN_OK)
            st = nn_image_resize(im, 11, 40, NN_FILTER_BILINEAR, &r);
    } else {
        nn_preprocess_options o;
        nn_preprocess_options_init(&o, NN_PREPROCESS_OPTIONS_VERSION);
        o.resize = NN_RESIZE_LETTERBOX;
        o.width = o.height = 16;
        nn_tensor *t = NULL;
        st = nn_image_create(37, 29, 3, NN_DTYPE_UINT8, NULL, &im);
        if (st == NN_OK)
            st = nn_image_to_tensor(NULL, (const nn_image *const *)&im, 1, &o, &t);
        nn_tensor_free(t);
    }
    nn_image_free(im);
    nn_image_free(r);
    return st;
}

START_TEST(test_out_of_memory)
{
    for (int which = 0; which < 4; which++) {
        int n;
        for (n = 0; n < 1000; n++) {
            nni_alloc_fail_after(n);
            nn_status st = oom_work(which);
            nni_alloc_fail_after(-1);
            if (st == NN_OK)
                break;
            ck_assert_msg(st == NN_E_NOMEM, "case %d, allocation %d: %s: %s", which, n, nn_status_string(st),
                          nn_last_error());
        }
        ck_assert_int_lt(n, 1000);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("image");
    TCase *tc = tcase_create("decode");
    tcase_add_loop_test(tc, test_decode_matches_pillow, 0, sizeof decode_cases / sizeof *decode_cases);
    tcase_add_test(tc, test_load_memory_equals_file);
    tcase_add_test(tc, test_exif_orientation_off);
    tcase_add_loop_test(tc, test_bad_images, 0, sizeof bad_cases / sizeof *bad_cases);
    tcase_add_test(tc, test_pixel_budget);
    suite_add_tcase(s, tc);
    tc = tcase_create("process");
    tcase_add_test(tc, test_resize_matches_pillow);
    tcase_add_test(tc, test_resize_16bit_and_args);
    tcase_add_test(tc, test_fits_match_pillow);
    tcase_add_test(tc, test_create_convert_crop);
    tcase_add_test(tc, test_tensor_color_order_and_norm);
    tcase_add_test(tc, test_tensor_gray_rgb_and_batch);
    suite_add_tcase(s, tc);
    tc = tcase_create("classify");
    tcase_add_test(tc, test_classify_identity);
    tcase_add_test(tc, test_classify_softmax_model);
    tcase_add_test(tc, test_fashion_samples);
    tcase_add_test(tc, test_classify_bad_metadata);
    tcase_add_test(tc, test_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
