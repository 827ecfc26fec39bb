/*
 * check_detect.c — detection post-processing against the numpy reference
 * (tools/detect/make_testdata.py): decoding of each YOLO family, letterbox
 * inverses, per-class and class-agnostic NMS, max detections; plus geometry
 * and NMS edge cases.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "detect/detect.h"
#include "test_util.h"

typedef struct tcase {
    nni_det_params p;
    char fit[32];
    int32_t img_w, img_h;
    float thresh, iou;
    int agnostic;
    uint32_t max_det;
    int32_t n_heads;
    nni_det_head heads[NNI_DET_MAX_HEADS];
    float *data[NNI_DET_MAX_HEADS];
} tcase;

static int family_of(const char *s)
{
    if (!strcmp(s, "yolov2"))
        return NNI_FAMILY_YOLOV2;
    if (!strcmp(s, "yolov3"))
        return NNI_FAMILY_YOLOV3;
    if (!strcmp(s, "yolov5"))
        return NNI_FAMILY_YOLOV5;
    if (!strcmp(s, "yolov8"))
        return NNI_FAMILY_YOLOV8;
    return -1;
}

static void load_case(const char *name, tcase *c)
{
    memset(c, 0, sizeof *c);
    char path[4096], line[4096];
    snprintf(path, sizeof path, "%s/detect/%s/case.txt", NN_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    while (fgets(line, sizeof line, f)) {
        char key[64], val[2048];
        line[strcspn(line, "\n")] = '\0';
        if (sscanf(line, "%63s %2047[^\n]", key, val) != 2)
            continue;
        if (!strcmp(key, "family"))
            c->p.family = family_of(val);
        else if (!strcmp(key, "classes"))
            c->p.classes = atoi(val);
        else if (!strcmp(key, "net"))
            sscanf(val, "%d %d", &c->p.net_w, &c->p.net_h);
        else if (!strcmp(key, "anchors"))
            ck_assert_ok(nni_det_parse_anchors(val, &c->p));
        else if (!strcmp(key, "masks"))
            ck_assert_ok(nni_det_parse_masks(val, &c->p));
        else if (!strcmp(key, "image"))
            sscanf(val, "%d %d", &c->img_w, &c->img_h);
        else if (!strcmp(key, "fit"))
            snprintf(c->fit, sizeof c->fit, "%s", val);
        else if (!strcmp(key, "thresh"))
            c->thresh = strtof(val, NULL);
        else if (!strcmp(key, "iou"))
            c->iou = strtof(val, NULL);
        else if (!strcmp(key, "agnostic"))
            c->agnostic = atoi(val);
        else if (!strcmp(key, "max_det"))
            c->max_det = (uint32_t)atoi(val);
        else if (!strcmp(key, "head")) {
            int k, rank, n = 0;
            char *p = val;
            k = (int)strtol(p, &p, 10);
            rank = (int)strtol(p, &p, 10);
            nni_det_head *h = &c->heads[k];
            h->rank = rank;
            size_t count = 1;
            for (int d = 0; d < rank; d++) {
                h->dims[d] = strtoll(p, &p, 10);
                count *= (size_t)h->dims[d];
            }
            snprintf(path, sizeof path, "%s/detect/%s/head_%d.f32", NN_TEST_DATA_DIR, name, k);
            size_t size;
            c->data[k] = (float *)test_read_file(path, &size);
            ck_assert_uint_eq(size, count * sizeof(float));
            h->data = c->data[k];
            n = k + 1;
            if (n > c->n_heads)
                c->n_heads = n;
        }
    }
    fclose(f);
}

static void free_case(tcase *c)
{
    for (int k = 0; k < c->n_heads; k++)
        free(c->data[k]);
}

static void run_case(const char *name)
{
    tcase c;
    load_case(name, &c);
    if (c.p.family == NNI_FAMILY_YOLOV2)
        c.p.n_heads = 1;
    nni_det_set s;
    nni_det_set_init(&s, c.p.classes);
    ck_assert_ok(nni_det_decode(&c.p, c.heads, c.n_heads, c.thresh, &s));
    nni_det_fit fit = {.kind = NNI_FIT_STRETCH};
    if (!strcmp(c.fit, "darknet"))
        nni_det_darknet_fit(c.img_w, c.img_h, c.p.net_w, c.p.net_h, &fit);
    else if (!strcmp(c.fit, "letterbox"))
        nni_det_letterbox_fit(c.img_w, c.img_h, c.p.net_w, c.p.net_h, &fit);
    nni_det_unfit(&fit, &s);
    nni_det *d;
    int32_t n;
    ck_assert_ok(nni_det_nms(&s, c.iou, c.agnostic != 0, c.max_det, c.img_w, c.img_h, &d, &n));

    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/detect/%s/expected.txt", NN_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int32_t k = 0;
    while (fgets(line, sizeof line, f)) {
        int cls;
        float score, x0, y0, x1, y1;
        ck_assert_int_eq(sscanf(line, "%d %f %f %f %f %f", &cls, &score, &x0, &y0, &x1, &y1), 6);
        ck_assert_msg(k < n, "%s: nn found %d detections, the reference more", name, (int)n);
        ck_assert_msg(d[k].cls == cls, "%s: detection %d class %d, want %d", name, (int)k, (int)d[k].cls, cls);
        ck_assert_msg(fabsf(d[k].score - score) <= 1e-6f, "%s: detection %d score %.9g, want %.9g", name, (int)k,
                      (double)d[k].score, (double)score);
        float got[4] = {d[k].x0, d[k].y0, d[k].x1, d[k].y1}, want[4] = {x0, y0, x1, y1};
        for (int j = 0; j < 4; j++)
            ck_assert_msg(fabsf(got[j] - want[j]) <= 1e-3f, "%s: detection %d corner %d is %.6f, want %.6f", name,
                          (int)k, j, (double)got[j], (double)want[j]);
        k++;
    }
    fclose(f);
    ck_assert_msg(k == n, "%s: nn found %d detections, the reference %d", name, (int)n, (int)k);
    nni_free(d);
    nni_det_set_free(&s);
    free_case(&c);
}

START_TEST(test_reference_cases)
{
    static const char *const cases[] = {"yolov2_darknet", "yolov3_darknet", "yolov3_agnostic", "yolov5_letterbox",
                                        "yolov8_stretch"};
    run_case(cases[_i]);
}
END_TEST

/* darknet's letterbox arithmetic on the sizes its behaviour depends on */
START_TEST(test_darknet_fit)
{
    nni_det_fit f;
    nni_det_darknet_fit(768, 576, 416, 416, &f); /* dog.jpg */
    ck_assert_int_eq(f.w, 416);
    ck_assert_int_eq(f.h, 312);
    ck_assert_int_eq(f.x, 0);
    ck_assert_int_eq(f.y, 52);
    nni_det_darknet_fit(101, 300, 416, 416, &f); /* odd padding, integer division */
    ck_assert_int_eq(f.h, 416);
    ck_assert_int_eq(f.w, 140);
    ck_assert_int_eq(f.x, 138);
    nni_det_darknet_fit(1, 100000, 416, 416, &f); /* never empty */
    ck_assert_int_ge(f.w, 1);
    /* a centred box of the letterboxed image maps to the image centre */
    nni_det_set s;
    nni_det_set_init(&s, 1);
    nni_det_rec *r = nni_det_set_add(&s);
    r->x = 0.5f;
    r->y = 0.5f;
    r->w = 312.0f / 416;
    r->h = 0.5f;
    nni_det_darknet_fit(768, 576, 416, 416, &f);
    nni_det_unfit(&f, &s);
    ck_assert_float_eq_tol(s.recs[0].x, 0.5f, 1e-6f);
    ck_assert_float_eq_tol(s.recs[0].y, 0.5f, 1e-6f);
    ck_assert_float_eq_tol(s.recs[0].h, 416.0f / 312 * 0.5f, 1e-6f);
    nni_det_set_free(&s);
}
END_TEST

START_TEST(test_general_fit_inverse)
{
    /* a box covering the whole resized image covers the whole original */
    nni_det_fit f;
    nni_det_letterbox_fit(640, 480, 320, 320, &f);
    ck_assert_int_eq(f.w, 320);
    ck_assert_int_eq(f.h, 240);
    ck_assert_int_eq(f.y, 40);
    nni_det_set s;
    nni_det_set_init(&s, 1);
    nni_det_rec *r = nni_det_set_add(&s);
    r->x = 0.5f;
    r->y = 0.5f;
    r->w = 1.0f;
    r->h = 240.0f / 320;
    r->prob[0] = 0.9f;
    nni_det_unfit(&f, &s);
    nni_det *d;
    int32_t n;
    ck_assert_ok(nni_det_nms(&s, 0.5f, false, 0, 640, 480, &d, &n));
    ck_assert_int_eq(n, 1);
    ck_assert_float_eq_tol(d[0].x0, 0, 1e-3f);
    ck_assert_float_eq_tol(d[0].y0, 0, 1e-3f);
    ck_assert_float_eq_tol(d[0].x1, 640, 1e-3f);
    ck_assert_float_eq_tol(d[0].y1, 480, 1e-3f);
    nni_free(d);
    nni_det_set_free(&s);
}
END_TEST

static void add_box(nni_det_set *s, float x, float y, float w, float h, int cls, float p)
{
    nni_det_rec *r = nni_det_set_add(s);
    ck_assert_ptr_nonnull(r);
    r->x = x;
    r->y = y;
    r->w = w;
    r->h = h;
    r->objectness = p;
    r->prob[cls] = p;
}

START_TEST(test_nms_semantics)
{
    nni_det_set s;
    nni_det_set_init(&s, 2);
    /* boxes 0 and 1 overlap with IoU exactly 0.5: strict > keeps both */
    add_box(&s, 0.25f, 0.5f, 0.5f, 1.0f, 0, 0.9f);
    add_box(&s, 0.4166666666f, 0.5f, 0.5f, 1.0f, 0, 0.8f);
    float v = nni_det_iou(&s.recs[0], &s.recs[1]);
    ck_assert_float_eq_tol(v, 0.5f, 1e-5f);
    /* the same box in another class survives per-class NMS, not agnostic */
    add_box(&s, 0.25f, 0.5f, 0.5f, 1.0f, 1, 0.7f);
    nni_det *d;
    int32_t n;
    ck_assert_ok(nni_det_nms(&s, 0.6f, false, 0, 100, 100, &d, &n));
    ck_assert_int_eq(n, 3);
    ck_assert_float_eq(d[0].score, 0.9f);
    ck_assert_float_eq(d[2].score, 0.7f);
    ck_assert_int_eq(d[2].cls, 1);
    nni_free(d);
    ck_assert_ok(nni_det_nms(&s, 0.45f, true, 0, 100, 100, &d, &n));
    ck_assert_int_eq(n, 1);
    nni_free(d);
    /* max detections, and the chain rule: a suppressed box suppresses nothing */
    nni_det_set_free(&s);
    nni_det_set_init(&s, 1);
    add_box(&s, 0.30f, 0.5f, 0.2f, 0.2f, 0, 0.9f);
    add_box(&s, 0.40f, 0.5f, 0.2f, 0.2f, 0, 0.8f); /* IoU 1/3 with box 0 */
    add_box(&s, 0.50f, 0.5f, 0.2f, 0.2f, 0, 0.7f); /* IoU 1/3 with box 1, 0 with box 0 */
    ck_assert_ok(nni_det_nms(&s, 0.3f, false, 0, 10, 10, &d, &n));
    ck_assert_int_eq(n, 2);
    ck_assert_float_eq(d[1].score, 0.7f);
    nni_free(d);
    ck_assert_ok(nni_det_nms(&s, 0.9f, false, 2, 10, 10, &d, &n));
    ck_assert_int_eq(n, 2);
    nni_free(d);
    nni_det_set_free(&s);
}
END_TEST

START_TEST(test_bad_inputs)
{
    nni_det_params p;
    memset(&p, 0, sizeof p);
    ck_assert_nn(nni_det_parse_anchors("10,14,23", &p), NN_E_INVALID_MODEL);
    ck_assert_nn(nni_det_parse_anchors("10,-14", &p), NN_E_INVALID_MODEL);
    ck_assert_nn(nni_det_parse_anchors("a,b", &p), NN_E_INVALID_MODEL);
    ck_assert_nn(nni_det_parse_masks("0,1;x", &p), NN_E_INVALID_MODEL);
    ck_assert_nn(nni_det_parse_masks("0,1.5", &p), NN_E_INVALID_MODEL);
    ck_assert_ok(nni_det_parse_anchors("10,14, 23,27", &p));
    ck_assert_ok(nni_det_parse_masks("1;0", &p));
    ck_assert_int_eq(p.n_heads, 2);
    float data[2 * 6 * 2 * 2] = {0};
    nni_det_head h[2] = {{data, 4, {1, 6, 2, 2}}, {data, 4, {1, 7, 2, 2}}};
    p.family = NNI_FAMILY_YOLOV3;
    p.classes = 1;
    p.net_w = p.net_h = 32;
    nni_det_set s;
    nni_det_set_init(&s, 1);
    ck_assert_nn(nni_det_decode(&p, h, 2, 0.5f, &s), NN_E_SHAPE); /* 7 channels for 1 anchor x 6 */
    ck_assert_nn(nni_det_decode(&p, h, 1, 0.5f, &s), NN_E_INVALID_MODEL); /* masks list 2 outputs */
    p.classes = 0;
    ck_assert_nn(nni_det_decode(&p, h, 1, 0.5f, &s), NN_E_INVALID_MODEL);
    p.classes = 1;
    p.family = NNI_FAMILY_YOLOV8;
    nni_det_head flat = {data, 3, {1, 6, 4}};
    ck_assert_nn(nni_det_decode(&p, &flat, 1, 0.5f, &s), NN_E_SHAPE); /* 4+1 != 6 */
    nni_det_set_free(&s);
}
END_TEST

/* darknet's resize: last output column copies the last input column, the
 * last output row keeps only (1-dy) of its source row */
START_TEST(test_darknet_letterbox)
{
    uint8_t px[4 * 3 * 3];
    for (int i = 0; i < 4 * 3; i++)
        px[3 * i] = px[3 * i + 1] = px[3 * i + 2] = (uint8_t)(20 * i);
    float out[3 * 8 * 8];
    ck_assert_ok(nni_det_darknet_letterbox(px, 4, 3, 3, 8, 8, out));
    /* 4x3 into 8x8: new_w 8, new_h 6, pasted at y 1 */
    ck_assert_float_eq(out[0], 0.5f);
    ck_assert_float_eq_tol(out[8 + 0], 0.0f, 1e-7f);
    ck_assert_float_eq_tol(out[8 + 7], (float)(60 / 255.), 1e-6f);
    /* row 6 of the canvas = resized row 5 = the last: (1-dy) * row 2, dy = 0 */
    ck_assert_float_eq_tol(out[6 * 8 + 7], (float)(220 / 255.), 1e-6f);
    ck_assert_float_eq(out[7 * 8], 0.5f);
    ck_assert_nn(nni_det_darknet_letterbox(px, 0, 3, 3, 8, 8, out), NN_E_INVALID_ARG);
}
END_TEST


/* End to end through the public API: a darknet model whose objectness is
 * "the pixel is white" (a 1x1 convolution, 1-pixel anchors), run on a 64x32
 * image (aspect ratio 2:1 into a 32x32 letterbox) with a white 8x8 square:
 * every detection must come back inside the square, in image pixels. */
static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, n, f), n);
    fclose(f);
}

START_TEST(test_api_end_to_end)
{
    char dir[] = "/tmp/nn_detect_XXXXXX", path[512], cmd[2048];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    const char *cfg = "[net]\nwidth=32\nheight=32\nchannels=3\n"
                      "[convolutional]\nfilters=6\nsize=1\nstride=1\nactivation=linear\n"
                      "[yolo]\nmask=0\nanchors=1,1\nclasses=1\nnum=1\n";
    snprintf(path, sizeof path, "%s/white.cfg", dir);
    write_file(path, cfg, strlen(cfg));
    /* header, biases (tx ty tw th obj cls), weights [6][3] */
    struct {
        int32_t ver[3];
        uint64_t seen;
        float b[6], w[18];
    } __attribute__((packed)) wf = {{0, 2, 0}, 0, {0, 0, 0, 0, -10, 5}, {0}};
    wf.w[4 * 3 + 0] = 20; /* objectness = 20 * red - 10 */
    snprintf(path, sizeof path, "%s/white.weights", dir);
    write_file(path, &wf, sizeof wf);
    snprintf(path, sizeof path, "%s/white.names", dir);
    write_file(path, "square\n", 7);

    uint8_t px[64 * 32 * 3] = {0};
    for (int y = 8; y < 16; y++)
        for (int x = 16; x < 24; x++)
            memset(px + (y * 64 + x) * 3, 255, 3);
    nn_image *im;
    ck_assert_ok(nn_image_create(64, 32, 3, NN_DTYPE_UINT8, px, &im));
    nn_model *m;
    snprintf(path, sizeof path, "%s/white.cfg", dir);
    ck_assert_ok(nn_model_load(path, NULL, &m));
    nn_session *s;
    ck_assert_ok(nn_session_create(m, NULL, &s));
    nn_detect_options o;
    ck_assert_ok(nn_detect_options_init(&o, NN_DETECT_OPTIONS_VERSION));
    o.score_threshold = 0.6f;
    nn_detections *r;
    ck_assert_ok(nn_detect(s, im, &o, &r));
    ck_assert_uint_eq(nn_detections_count(r), 16);
    for (uint32_t i = 0; i < 16; i++) {
        float x0, y0, x1, y1, score;
        uint32_t cls;
        const char *label;
        ck_assert_ok(nn_detections_get(r, i, &x0, &y0, &x1, &y1, &score, &cls, &label));
        ck_assert_str_eq(label, "square");
        ck_assert_uint_eq(cls, 0);
        ck_assert_float_gt(score, 0.99f);
        float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
        ck_assert_msg(cx > 16 && cx < 24 && cy > 8 && cy < 16, "detection %u at (%g, %g)", i, (double)cx, (double)cy);
        ck_assert_float_eq_tol(x1 - x0, 2.0f, 1e-4f); /* 1 input pixel = 2 image pixels */
        ck_assert_float_eq_tol(y1 - y0, 2.0f, 1e-4f);
    }
    ck_assert_nn(nn_detections_get(r, 16, NULL, NULL, NULL, NULL, NULL, NULL, NULL), NN_E_INVALID_ARG);
    nn_detections_free(r);
    /* options: bad values are refused, max_detections and labels apply */
    o.iou_threshold = 2;
    ck_assert_nn(nn_detect(s, im, &o, &r), NN_E_INVALID_ARG);
    ck_assert_ptr_null(r);
    o.iou_threshold = 0.45f;
    o.max_detections = 3;
    o.labels = "a\nb\n";
    ck_assert_nn(nn_detect(s, im, &o, &r), NN_E_INVALID_ARG); /* 2 labels, 1 class */
    o.labels = "box";
    ck_assert_ok(nn_detect(s, im, &o, &r));
    ck_assert_uint_eq(nn_detections_count(r), 3);
    const char *label;
    ck_assert_ok(nn_detections_get(r, 0, NULL, NULL, NULL, NULL, NULL, NULL, &label));
    ck_assert_str_eq(label, "box");
    nn_detections_free(r);
    o.family = NN_DETECT_YOLOV8; /* a yolo head is not a flat output */
    ck_assert_nn(nn_detect(s, im, &o, &r), NN_E_SHAPE);
    ck_assert_nn(nn_detect(NULL, im, NULL, &r), NN_E_INVALID_ARG);
    nn_detections_free(NULL);
    ck_assert_uint_eq(nn_detections_count(NULL), 0);

    /* the same through nn-tool: JSON lines and an annotated PNG */
    snprintf(path, sizeof path, "%s/in.png", dir);
    ck_assert_ok(nn_image_save(im, path));
    snprintf(cmd, sizeof cmd, "%s detect %s/white.cfg %s --conf 0.6 --json --out %s/out.png > %s/out.json", NN_TOOL_PATH,
             dir, path, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(path, sizeof path, "%s/out.json", dir);
    size_t n;
    char *json = (char *)test_read_file(path, &n);
    json[n] = '\0';
    ck_assert_msg(strncmp(json, "{\"image\": \"", 11) == 0 && strstr(json, "\"detections\": [{\"index\": 0, "
                  "\"label\": \"square\", \"score\": 0.99") && strstr(json, "\"box\": [") && json[n - 1] == '\n' &&
                  strchr(json, '\n') == json + n - 1, "%s", json);
    free(json);
    nn_image *drawn;
    snprintf(path, sizeof path, "%s/out.png", dir);
    ck_assert_ok(nn_image_load(path, NULL, &drawn));
    ck_assert_int_eq(nn_image_width(drawn), 64);
    nn_image_free(drawn);
    ck_assert_nn(nn_image_save(im, "/nonexistent/x.png"), NN_E_IO);
    ck_assert_nn(nn_image_save(im, "x.jpg"), NN_E_UNSUPPORTED);

    nn_session_free(s);
    nn_model_free(m);
    nn_image_free(im);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* nn's general letterbox (an ONNX model without nn.input.resize): the
 * detections of white.onnx tile the white square of the 2:1 image exactly */
START_TEST(test_general_letterbox_end_to_end)
{
    nn_model *m;
    nn_session *s;
    nn_image *im;
    nn_detections *r;
    ck_assert_ok(nn_model_load(test_data_path("detect/white.onnx"), NULL, &m));
    ck_assert_ok(nn_session_create(m, NULL, &s));
    ck_assert_ok(nn_image_load(test_data_path("detect/white.png"), NULL, &im));
    nn_detect_options o;
    nn_detect_options_init(&o, NN_DETECT_OPTIONS_VERSION);
    o.score_threshold = 0.6f;
    ck_assert_ok(nn_detect(s, im, &o, &r));
    ck_assert_uint_eq(nn_detections_count(r), 16);
    int covered[4][4] = {{0}};
    for (uint32_t i = 0; i < 16; i++) {
        float x0, y0, x1, y1;
        ck_assert_ok(nn_detections_get(r, i, &x0, &y0, &x1, &y1, NULL, NULL, NULL));
        ck_assert_float_eq_tol(x1 - x0, 2, 1e-4f);
        ck_assert_float_eq_tol(y1 - y0, 2, 1e-4f);
        int cx = (int)((x0 - 16) / 2 + 0.5f), cy = (int)((y0 - 8) / 2 + 0.5f);
        ck_assert_msg(cx >= 0 && cx < 4 && cy >= 0 && cy < 4 && fabsf(x0 - (16 + 2 * cx)) < 1e-4f &&
                      fabsf(y0 - (8 + 2 * cy)) < 1e-4f, "box %u at (%g, %g)", i, (double)x0, (double)y0);
        covered[cy][cx]++;
    }
    for (int y = 0; y < 4; y++)
        for (int x = 0; x < 4; x++)
            ck_assert_int_eq(covered[y][x], 1);
    nn_detections_free(r);
    /* stretch instead: a 2:1 image into a square input, still in image pixels */
    nn_preprocess_options pre;
    nn_preprocess_options_init(&pre, NN_PREPROCESS_OPTIONS_VERSION);
    pre.resize = NN_RESIZE_STRETCH;
    o.preprocess = &pre;
    ck_assert_ok(nn_detect(s, im, &o, &r));
    ck_assert_uint_gt(nn_detections_count(r), 0);
    for (uint32_t i = 0; i < nn_detections_count(r); i++) {
        float x0, y0, x1, y1;
        ck_assert_ok(nn_detections_get(r, i, &x0, &y0, &x1, &y1, NULL, NULL, NULL));
        ck_assert_float_eq_tol(x1 - x0, 2, 1e-4f);
        ck_assert_float_eq_tol(y1 - y0, 1, 1e-4f);
        ck_assert(x0 >= 15 && x1 <= 25 && y0 >= 7 && y1 <= 17);
    }
    nn_detections_free(r);
    pre.resize = NN_RESIZE_CENTER_CROP;
    ck_assert_nn(nn_detect(s, im, &o, &r), NN_E_UNSUPPORTED);
    /* each allocation failing in turn: a clean NN_E_NOMEM, nothing leaked (ASan) */
    o.preprocess = NULL;
    for (int64_t k = 0;; k++) {
        nni_alloc_fail_after(k);
        nn_status st = nn_detect(s, im, &o, &r);
        nni_alloc_fail_after(-1);
        if (st == NN_OK) {
            ck_assert_uint_eq(nn_detections_count(r), 16);
            nn_detections_free(r);
            break;
        }
        ck_assert_msg(st == NN_E_NOMEM, "allocation %lld failing: %d %s", (long long)k, (int)st, nn_last_error());
        ck_assert_ptr_null(r);
    }
    nn_image_free(im);
    nn_session_free(s);
    nn_model_free(m);
}
END_TEST

Suite *nn_test_detect_suite(void)
{
    Suite *s = suite_create("detect");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, test_reference_cases, 0, 5);
    tcase_add_test(tc, test_darknet_fit);
    tcase_add_test(tc, test_general_fit_inverse);
    tcase_add_test(tc, test_nms_semantics);
    tcase_add_test(tc, test_bad_inputs);
    tcase_add_test(tc, test_darknet_letterbox);
    tcase_add_test(tc, test_api_end_to_end);
    tcase_add_test(tc, test_general_letterbox_end_to_end);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(nn_test_detect_suite()); }
