/*
 * darknet_parity.c — nn's side of the darknet parity check (run by
 * tools/darknet/parity.sh after tools/darknet/dn_tool.c wrote what Debian's
 * darknet computes into DIR):
 *   darknet_parity CFG WEIGHTS DIR THRESH [IMAGE]
 * 1. runs the nn model on darknet's letterboxed input (DIR/input.f32) and
 *    compares every output with darknet's raw head inputs (DIR/head_K.f32);
 * 2. decodes nn's outputs (nn's decode, darknet letterbox inverse, NMS) and
 *    matches the detections with darknet's drawn boxes (DIR/boxes.txt):
 *    class, probability, relative box, and the integer pixel corners;
 * 3. with IMAGE (when nn was built with image support), also runs the whole
 *    nn_detect() pipeline on the image file and compares its input tensor
 *    and boxes.
 * Prints one line per check and "N passed, N failed"; exits non-zero on any
 * failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "image/image.h"

static int passed, failed;

static void check(bool ok, const char *fmt, ...) NNI_PRINTF(2, 3);
static void check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", ok ? "PASS" : "FAIL");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    ok ? passed++ : failed++;
}

static float *read_f32(const char *dir, const char *name, size_t *n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    float *p = malloc((size_t)size + 4);
    if (!p || fread(p, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    *n = (size_t)size / 4;
    return p;
}

typedef struct dn_box {
    int cls, left, right, top, bot;
    float prob, x, y, w, h;
    bool matched;
} dn_box;

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: darknet_parity CFG WEIGHTS DIR THRESH [IMAGE]\n");
        return 2;
    }
    const char *cfg = argv[1], *dir = argv[3];
    float thresh = strtof(argv[4], NULL);
    nn_load_options lo;
    nn_load_options_init(&lo, NN_LOAD_OPTIONS_VERSION);
    lo.weights_path = argv[2];
    nn_model *m = NULL;
    if (nn_model_load(cfg, &lo, &m) != NN_OK) {
        printf("FAIL: load %s: %s\n0 passed, 1 failed\n", cfg, nn_last_error());
        return 1;
    }
    int64_t dims[4];
    for (int i = 0; i < 4; i++)
        nn_model_input_dim(m, 0, i, &dims[i], NULL);
    size_t n_in;
    float *input = read_f32(dir, "input.f32", &n_in);
    if (!input || (int64_t)n_in != dims[1] * dims[2] * dims[3]) {
        printf("FAIL: %s/input.f32 is missing or not %lldx%lldx%lld\n0 passed, 1 failed\n", dir, (long long)dims[1],
               (long long)dims[2], (long long)dims[3]);
        return 1;
    }
    nn_tensor *t;
    nn_tensor_wrap(NN_DTYPE_FLOAT32, 4, dims, input, &t);
    nn_session *s;
    nn_session_create(m, NULL, &s);
    if (nn_session_run(s, 1, NULL, (const nn_tensor *const *)&t) != NN_OK) {
        printf("FAIL: run: %s\n0 passed, 1 failed\n", nn_last_error());
        return 1;
    }

    /* 1. raw outputs */
    uint32_t n_out = nn_session_output_count(s);
    nni_det_head heads[NNI_DET_MAX_HEADS];
    for (uint32_t k = 0; k < n_out && k < NNI_DET_MAX_HEADS; k++) {
        const nn_tensor *o = nn_session_output(s, k);
        char name[64];
        snprintf(name, sizeof name, "head_%u.f32", k);
        size_t n;
        float *want = read_f32(dir, name, &n);
        const float *got = nn_tensor_data_const(o);
        double maxd = 0, maxv = 0;
        bool same = want && (int64_t)n == nn_tensor_count(o);
        for (size_t i = 0; same && i < n; i++) {
            double d = fabs((double)want[i] - got[i]);
            maxd = d > maxd ? d : maxd;
            maxv = fabs(want[i]) > maxv ? fabs(want[i]) : maxv;
        }
        check(same && maxd <= 1e-4 * (1 + maxv), "output %u (%lld values): max |nn - darknet| = %.3g (max |value| %.3g)",
              k, (long long)nn_tensor_count(o), maxd, maxv);
        free(want);
        heads[k].data = got;
        heads[k].rank = nn_tensor_rank(o);
        for (int32_t d = 0; d < heads[k].rank; d++)
            heads[k].dims[d] = nn_tensor_dim(o, d);
    }

    /* 2. boxes */
    char path[4096];
    snprintf(path, sizeof path, "%s/image.txt", dir);
    FILE *f = fopen(path, "r");
    int img_w = 0, img_h = 0;
    if (f) {
        if (fscanf(f, "%d %d", &img_w, &img_h) != 2)
            img_w = 0;
        fclose(f);
    }
    if (nn_model_metadata(m, "nn.detect.family") && img_w > 0) {
        nni_det_params p;
        nn_status st = nni_det_params_resolve(m, NNI_FAMILY_AUTO, heads, (int32_t)n_out, (int32_t)dims[3],
                                              (int32_t)dims[2], &p);
        nni_det_set set;
        nni_det_set_init(&set, p.classes);
        if (st == NN_OK)
            st = nni_det_decode(&p, heads, (int32_t)n_out, thresh, &set);
        nni_det *d = NULL;
        int32_t n = 0;
        if (st == NN_OK) {
            nni_det_fit fit;
            nni_det_darknet_fit(img_w, img_h, (int32_t)dims[3], (int32_t)dims[2], &fit);
            nni_det_unfit(&fit, &set);
            st = nni_det_nms(&set, 0.45f, false, 0, img_w, img_h, &d, &n);
        }
        check(st == NN_OK, "decode: %s", st == NN_OK ? "ok" : nn_last_error());
        dn_box *want = NULL;
        int n_want = 0, cap = 0;
        snprintf(path, sizeof path, "%s/boxes.txt", dir);
        f = fopen(path, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f)) {
            dn_box b;
            memset(&b, 0, sizeof b);
            if (sscanf(line, "%d %f %d %d %d %d %f %f %f %f", &b.cls, &b.prob, &b.left, &b.right, &b.top, &b.bot, &b.x,
                       &b.y, &b.w, &b.h) != 10)
                continue;
            if (n_want == cap) {
                cap = cap ? cap * 2 : 64;
                want = realloc(want, (size_t)cap * sizeof *want);
            }
            want[n_want++] = b;
        }
        if (f)
            fclose(f);
        int matched = 0, unmatched_nn = 0, borderline = 0, corner_off = 0;
        double max_prob = 0, max_box = 0;
        for (int32_t i = 0; i < n; i++) {
            const nni_det_rec *r = &set.recs[d[i].rec];
            int best = -1;
            double best_err = 1e9;
            for (int j = 0; j < n_want; j++) {
                if (want[j].matched || want[j].cls != d[i].cls)
                    continue;
                double e = fabs(want[j].x - r->x) + fabs(want[j].y - r->y) + fabs(want[j].w - r->w) +
                           fabs(want[j].h - r->h) + fabs(want[j].prob - d[i].score);
                if (e < best_err) {
                    best_err = e;
                    best = j;
                }
            }
            if (best < 0 || best_err > 1e-3) {
                if (fabsf(d[i].score - thresh) < 1e-4f)
                    borderline++;
                else
                    unmatched_nn++;
                continue;
            }
            dn_box *b = &want[best];
            b->matched = true;
            matched++;
            double dp = fabs(b->prob - d[i].score);
            double db = fmax(fmax(fabs(b->x - r->x), fabs(b->y - r->y)), fmax(fabs(b->w - r->w), fabs(b->h - r->h)));
            max_prob = dp > max_prob ? dp : max_prob;
            max_box = db > max_box ? db : max_box;
            /* darknet's drawn corners from nn's relative box */
            int left = clampi((int)((r->x - r->w / 2.) * img_w), 0, img_w - 1);
            int right = clampi((int)((r->x + r->w / 2.) * img_w), 0, img_w - 1);
            int top = clampi((int)((r->y - r->h / 2.) * img_h), 0, img_h - 1);
            int bot = clampi((int)((r->y + r->h / 2.) * img_h), 0, img_h - 1);
            if (left != b->left || right != b->right || top != b->top || bot != b->bot)
                corner_off++;
        }
        int unmatched_dn = 0;
        for (int j = 0; j < n_want; j++)
            if (!want[j].matched) {
                if (fabsf(want[j].prob - thresh) < 1e-4f)
                    borderline++;
                else
                    unmatched_dn++;
            }
        check(n_want > 0 && unmatched_nn == 0 && unmatched_dn == 0,
              "boxes: darknet %d, nn %d, matched %d (unmatched: nn %d, darknet %d; within 1e-4 of the threshold %d); "
              "max |prob diff| %.3g, max |box diff| %.3g (relative)", n_want, (int)n, matched, unmatched_nn,
              unmatched_dn, borderline, max_prob, max_box);
        check(corner_off == 0, "integer pixel corners: %d of %d matched boxes differ", corner_off, matched);
        free(want);
        nni_free(d);
        nni_det_set_free(&set);
    }
    /* 3. the whole pipeline from the image file */
    if (argc > 5) {
        nn_image *im = NULL;
        nn_status st = nn_image_load(argv[5], NULL, &im);
        check(st == NN_OK, "load %s: %s", argv[5], st == NN_OK ? "ok" : nn_last_error());
        if (st == NN_OK) {
            size_t n = (size_t)(dims[1] * dims[2] * dims[3]);
            float *mine = malloc(n * sizeof *mine);
            st = nni_det_darknet_letterbox(im->data, im->width, im->height, im->channels, (int32_t)dims[3],
                                           (int32_t)dims[2], mine);
            size_t differ = 0;
            double maxd = 0;
            for (size_t i = 0; st == NN_OK && i < n; i++)
                if (mine[i] != input[i]) {
                    differ++;
                    maxd = fmax(maxd, fabs((double)mine[i] - input[i]));
                }
            check(st == NN_OK && differ == 0, "letterboxed input from %dx%d: %zu of %zu values differ from darknet's "
                  "(max %.3g)", (int)im->width, (int)im->height, differ, n, maxd);
            free(mine);
            nn_detect_options o;
            nn_detect_options_init(&o, NN_DETECT_OPTIONS_VERSION);
            o.score_threshold = thresh;
            o.max_detections = 0;
            nn_detections *r = NULL;
            st = nn_detect(s, im, &o, &r);
            check(st == NN_OK, "nn_detect: %s", st == NN_OK ? "ok" : nn_last_error());
            /* every darknet line has an nn detection of that class, score and corners */
            snprintf(path, sizeof path, "%s/boxes.txt", dir);
            f = fopen(path, "r");
            char line[512];
            int n_want = 0, found = 0, borderline = 0;
            uint32_t count = nn_detections_count(r);
            bool *used = calloc(count + 1, 1);
            while (f && fgets(line, sizeof line, f)) {
                dn_box b;
                if (sscanf(line, "%d %f %d %d %d %d", &b.cls, &b.prob, &b.left, &b.right, &b.top, &b.bot) != 6)
                    continue;
                n_want++;
                bool ok = false;
                for (uint32_t i = 0; i < count && !ok; i++) {
                    float x0, y0, x1, y1, sc;
                    uint32_t cls;
                    nn_detections_get(r, i, &x0, &y0, &x1, &y1, &sc, &cls, NULL);
                    if (used[i] || (int)cls != b.cls || fabsf(sc - b.prob) > 1e-4f)
                        continue;
                    if (clampi((int)x0, 0, im->width - 1) == b.left && clampi((int)x1, 0, im->width - 1) == b.right &&
                        clampi((int)y0, 0, im->height - 1) == b.top && clampi((int)y1, 0, im->height - 1) == b.bot)
                        ok = used[i] = true;
                }
                if (ok)
                    found++;
                else if (fabsf(b.prob - thresh) < 1e-4f)
                    borderline++;
            }
            if (f)
                fclose(f);
            check(n_want > 0 && found + borderline == n_want && (int)count == found,
                  "nn_detect on %s: %u detections, darknet %d, identical %d (threshold-borderline %d)", argv[5], count,
                  n_want, found, borderline);
            free(used);
            nn_detections_free(r);
            nn_image_free(im);
        }
    }
    nn_session_free(s);
    nn_tensor_free(t);
    nn_model_free(m);
    free(input);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
