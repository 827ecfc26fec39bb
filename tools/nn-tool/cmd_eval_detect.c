/*
 * cmd_eval_detect.c — `nn-tool eval-detect MODEL --data DIR`: mean average
 * precision at IoU 0.5 over the PNG/JPEG images of DIR, each with a
 * YOLO-format label file beside it (X.txt for X.jpg: one "class cx cy w h"
 * line per object, relative to the image size; no file = no objects).
 * AP per class is VOC's all-point interpolated AP (area under the precision
 * envelope); a detection is a true positive when its best-overlapping
 * ground truth of its class in its image has IoU >= 0.5 and is not taken yet
 * (best scores first). mAP averages the classes that have ground truth.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect_args.h"
#include "image_args.h"
#include "tool.h"

typedef struct box {
    int image, cls;
    float score;
    float x0, y0, x1, y1;
    int taken;
} box;

typedef struct boxes {
    box *v;
    size_t n, cap;
} boxes;

static int push(boxes *b, box x)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        box *v = realloc(b->v, cap * sizeof *v);
        if (!v)
            return -1;
        b->v = v;
        b->cap = cap;
    }
    b->v[b->n++] = x;
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: nn-tool eval-detect MODEL --data DIR [--weights FILE] [--conf T] [--iou T] [options]\n"
            "  --data DIR           images (.png, .jpg, .jpeg) with YOLO-format X.txt labels beside them\n"
            "  --verbose            print each class's AP and counts\n"
            "  (--conf defaults to 0.001 here, as mAP evaluations do)\n%s%s",
            detect_args_usage(), image_args_usage());
}

static int is_image(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg"));
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int by_score(const void *pa, const void *pb)
{
    const box *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->image - b->image;
}

static float iou(const box *a, const box *b)
{
    float iw = (a->x1 < b->x1 ? a->x1 : b->x1) - (a->x0 > b->x0 ? a->x0 : b->x0);
    float ih = (a->y1 < b->y1 ? a->y1 : b->y1) - (a->y0 > b->y0 ? a->y0 : b->y0);
    if (iw <= 0 || ih <= 0)
        return 0;
    float inter = iw * ih;
    float u = (a->x1 - a->x0) * (a->y1 - a->y0) + (b->x1 - b->x0) * (b->y1 - b->y0) - inter;
    return u > 0 ? inter / u : 0;
}

/* Ground truth of image `k` from its .txt (relative centre/size -> pixels). */
static int read_labels(const char *image_path, int k, int w, int h, boxes *gt)
{
    char path[4096];
    snprintf(path, sizeof path, "%s", image_path);
    char *dot = strrchr(path, '.');
    if (!dot || (size_t)(dot - path) + 5 > sizeof path)
        return 0;
    strcpy(dot, ".txt");
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[512];
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        int cls;
        float cx, cy, bw, bh;
        char extra;
        if (strspn(line, " \t\r\n") == strlen(line))
            continue;
        if (sscanf(line, "%d %f %f %f %f %c", &cls, &cx, &cy, &bw, &bh, &extra) != 5 || cls < 0) {
            fprintf(stderr, "nn-tool eval-detect: %s:%d: not 'class cx cy w h'\n", path, lineno);
            rc = -1;
            break;
        }
        box b = {k, cls, 1, (cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h, 0};
        if (push(gt, b) != 0) {
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* VOC all-point AP of class c. */
static double average_precision(boxes *det, boxes *gt, int c, size_t *n_gt_out, size_t *n_det_out)
{
    size_t n_gt = 0, n_det = 0;
    for (size_t i = 0; i < gt->n; i++)
        if (gt->v[i].cls == c) {
            gt->v[i].taken = 0;
            n_gt++;
        }
    double *prec = malloc((det->n + 2) * sizeof *prec), *rec = malloc((det->n + 2) * sizeof *rec);
    size_t tp = 0, fp = 0, k = 0;
    for (size_t i = 0; prec && rec && i < det->n; i++) {
        const box *d = &det->v[i];
        if (d->cls != c)
            continue;
        n_det++;
        box *best = NULL;
        float best_iou = 0;
        for (size_t j = 0; j < gt->n; j++) {
            box *g = &gt->v[j];
            if (g->cls != c || g->image != d->image)
                continue;
            float v = iou(d, g);
            if (v > best_iou) {
                best_iou = v;
                best = g;
            }
        }
        if (best && best_iou >= 0.5f && !best->taken) {
            best->taken = 1;
            tp++;
        } else {
            fp++;
        }
        rec[k] = n_gt ? (double)tp / (double)n_gt : 0;
        prec[k] = (double)tp / (double)(tp + fp);
        k++;
    }
    double ap = 0;
    if (prec && rec && n_gt) {
        /* precision envelope, then the area under it at each recall step */
        for (size_t i = k; i-- > 1;)
            if (prec[i - 1] < prec[i])
                prec[i - 1] = prec[i];
        double last = 0;
        for (size_t i = 0; i < k; i++) {
            ap += (rec[i] - last) * prec[i];
            last = rec[i];
        }
    }
    free(prec);
    free(rec);
    *n_gt_out = n_gt;
    *n_det_out = n_det;
    return ap;
}

int cmd_eval_detect(int argc, char **argv)
{
    image_args a;
    image_args_init(&a);
    detect_args d;
    detect_args_init(&d, &a);
    d.opts.score_threshold = 0.001f;
    const char *model_path = NULL, *dir = NULL;
    bool verbose = false;
    int rc = 2;
    char **names = NULL;
    size_t n_names = 0;
    boxes det = {0}, gt = {0};
    nn_model *m = NULL;
    nn_session *s = NULL;
    for (int i = 1; i < argc; i++) {
        int r = detect_args_parse(&d, argc, argv, &i, "eval-detect");
        if (r == 0)
            r = image_args_parse(&a, argc, argv, &i, "eval-detect");
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage();
            rc = 0;
            goto done;
        }
        if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(argv[i], "--verbose")) {
            verbose = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "nn-tool eval-detect: unexpected argument '%s'\n", argv[i]);
            usage();
            goto done;
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            fprintf(stderr, "nn-tool eval-detect: unexpected argument '%s'\n", argv[i]);
            goto done;
        }
    }
    if (!model_path || !dir) {
        usage();
        goto done;
    }
    d.opts.labels = a.labels_text;
    rc = 1;
    DIR *dp = opendir(dir);
    if (!dp) {
        fprintf(stderr, "nn-tool eval-detect: cannot open the folder %s\n", dir);
        goto done;
    }
    for (struct dirent *e; (e = readdir(dp));) {
        if (!is_image(e->d_name))
            continue;
        char **more = realloc(names, (n_names + 1) * sizeof *names);
        if (!more)
            break;
        names = more;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        names[n_names] = malloc(len);
        if (!names[n_names])
            break;
        snprintf(names[n_names++], len, "%s/%s", dir, e->d_name);
    }
    closedir(dp);
    if (n_names == 0) {
        fprintf(stderr, "nn-tool eval-detect: no .png/.jpg images in %s\n", dir);
        goto done;
    }
    qsort(names, n_names, sizeof *names, by_name);
    m = tool_load(model_path);
    if (!m || !(s = tool_session(m, a.threads)))
        goto done;
    int max_cls = -1;
    for (size_t k = 0; k < n_names; k++) {
        nn_image *im = NULL;
        nn_detections *r = NULL;
        if (nn_image_load(names[k], NULL, &im) != NN_OK || nn_detect(s, im, &d.opts, &r) != NN_OK) {
            fprintf(stderr, "nn-tool eval-detect: %s: %s\n", names[k], nn_last_error());
            nn_image_free(im);
            goto done;
        }
        if (read_labels(names[k], (int)k, nn_image_width(im), nn_image_height(im), &gt) != 0) {
            nn_image_free(im);
            nn_detections_free(r);
            goto done;
        }
        for (uint32_t i = 0; i < nn_detections_count(r); i++) {
            box b = {(int)k, 0, 0, 0, 0, 0, 0, 0};
            uint32_t cls;
            nn_detections_get(r, i, &b.x0, &b.y0, &b.x1, &b.y1, &b.score, &cls, NULL);
            b.cls = (int)cls;
            if (push(&det, b) != 0)
                goto done;
        }
        nn_detections_free(r);
        nn_image_free(im);
    }
    for (size_t i = 0; i < gt.n; i++)
        max_cls = gt.v[i].cls > max_cls ? gt.v[i].cls : max_cls;
    qsort(det.v, det.n, sizeof *det.v, by_score);
    uint32_t n_labels = 0;
    char **labels = labels_split(a.labels_text ? a.labels_text : nn_model_metadata(m, "nn.labels"), &n_labels);
    double sum = 0;
    int classes = 0;
    for (int c = 0; c <= max_cls; c++) {
        size_t n_gt, n_det;
        double ap = average_precision(&det, &gt, c, &n_gt, &n_det);
        if (!n_gt)
            continue;
        sum += ap;
        classes++;
        if (verbose)
            printf("class %d %-16s AP@0.5 %.4f  (%zu objects, %zu detections)\n", c,
                   (uint32_t)c < n_labels ? labels[c] : "", ap, n_gt, n_det);
    }
    labels_free(labels, n_labels);
    printf("images: %zu, objects: %zu, detections: %zu\n", n_names, gt.n, det.n);
    printf("mAP@0.5: %.4f\n", classes ? sum / classes : 0.0);
    rc = 0;
done:
    nn_session_free(s);
    nn_model_free(m);
    for (size_t k = 0; k < n_names; k++)
        free(names[k]);
    free(names);
    free(det.v);
    free(gt.v);
    image_args_free(&a);
    return rc;
}
