/* cmd_detect.c — `nn-tool detect MODEL IMAGE...`: boxes per image as text or JSON lines, annotated PNGs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect_args.h"
#include "draw.h"
#include "image_args.h"
#include "tool.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: nn-tool detect MODEL IMAGE... [--weights FILE] [--out FILE.png] [--json] [--conf T] [--iou T]\n"
            "                      [--max N] [--agnostic] [--family F] [options]\n"
            "  --out FILE.png       write the image with boxes and labels (with several images: FILE-K.png)\n"
            "  --json               one line per image: {\"image\": PATH, \"detections\": [{\"index\": CLASS,\n"
            "                       \"label\": L, \"score\": S, \"box\": [x0, y0, x1, y1]}, ...]} (original-image\n"
            "                       pixels; an image that fails: {\"image\": PATH, \"error\": MESSAGE})\n"
            "%s%s",
            detect_args_usage(), image_args_usage());
}

static void print_text(const char *path, const nn_detections *r)
{
    printf("%s: %u detections\n", path, nn_detections_count(r));
    for (uint32_t k = 0; k < nn_detections_count(r); k++) {
        float x0, y0, x1, y1, score;
        uint32_t cls;
        const char *label;
        nn_detections_get(r, k, &x0, &y0, &x1, &y1, &score, &cls, &label);
        printf("  %6.4f  %s%s(%u)  [%.1f, %.1f, %.1f, %.1f]\n", (double)score, label, *label ? " " : "", cls,
               (double)x0, (double)y0, (double)x1, (double)y1);
    }
}

static void print_json(const char *path, const nn_detections *r)
{
    printf("{\"image\": ");
    json_string(stdout, path);
    printf(", \"detections\": [");
    for (uint32_t k = 0; k < nn_detections_count(r); k++) {
        float x0, y0, x1, y1, score;
        uint32_t cls;
        const char *label;
        nn_detections_get(r, k, &x0, &y0, &x1, &y1, &score, &cls, &label);
        printf("%s{\"index\": %u, \"label\": ", k ? ", " : "", cls);
        if (*label)
            json_string(stdout, label);
        else
            printf("null");
        printf(", \"score\": %.4f, \"box\": [%.2f, %.2f, %.2f, %.2f]}", (double)score, (double)x0, (double)y0,
               (double)x1, (double)y1);
    }
    printf("]}\n");
}

/* "out.png" for one image; "out-K.png" for image K of several. */
static void out_name(const char *out, int k, int n, char *buf, size_t cap)
{
    if (n == 1) {
        snprintf(buf, cap, "%s", out);
        return;
    }
    const char *dot = strrchr(out, '.');
    int stem = dot ? (int)(dot - out) : (int)strlen(out);
    snprintf(buf, cap, "%.*s-%d%s", stem, out, k, dot ? dot : "");
}

static int detect_one(nn_session *s, const char *path, const nn_detect_options *o, bool json, const char *out)
{
    nn_image *im = NULL;
    nn_detections *r = NULL;
    nn_status st = nn_image_load(path, NULL, &im);
    if (st == NN_OK)
        st = nn_detect(s, im, o, &r);
    if (st != NN_OK) {
        if (json) {
            printf("{\"image\": ");
            json_string(stdout, path);
            printf(", \"error\": ");
            json_string(stdout, nn_last_error());
            printf("}\n");
        } else {
            fprintf(stderr, "nn-tool detect: %s: %s\n", path, nn_last_error());
        }
        nn_image_free(im);
        return 1;
    }
    json ? print_json(path, r) : print_text(path, r);
    int rc = 0;
    if (out) {
        nn_image *drawn = draw_detections(im, r);
        if (!drawn || nn_image_save(drawn, out) != NN_OK) {
            fprintf(stderr, "nn-tool detect: writing %s: %s\n", out, drawn ? nn_last_error() : "out of memory");
            rc = 1;
        }
        nn_image_free(drawn);
    }
    nn_detections_free(r);
    nn_image_free(im);
    return rc;
}

int cmd_detect(int argc, char **argv)
{
    image_args a;
    image_args_init(&a);
    detect_args d;
    detect_args_init(&d, &a);
    const char *model_path = NULL, *out = NULL;
    bool json = false;
    int n_images = 0, rc = 2;
    const char **images = calloc((size_t)argc, sizeof *images);
    if (!images)
        return 1;
    for (int i = 1; i < argc; i++) {
        int r = detect_args_parse(&d, argc, argv, &i, "detect");
        if (r == 0)
            r = image_args_parse(&a, argc, argv, &i, "detect");
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            rc = 0;
            goto done;
        }
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "nn-tool detect: unexpected argument '%s'\n", argv[i]);
            usage();
            goto done;
        } else if (!model_path) {
            model_path = argv[i];
        } else {
            images[n_images++] = argv[i];
        }
    }
    if (!model_path || n_images == 0) {
        usage();
        goto done;
    }
    d.opts.labels = a.labels_text;
    rc = 1;
    nn_model *m = tool_load(model_path);
    nn_session *s = m ? tool_session(m, a.threads) : NULL;
    if (s) {
        int failed = 0;
        for (int i = 0; i < n_images; i++) {
            char name[4096];
            if (out)
                out_name(out, i, n_images, name, sizeof name);
            failed += detect_one(s, images[i], &d.opts, json, out ? name : NULL);
        }
        rc = failed ? 1 : 0;
    }
    nn_session_free(s);
    nn_model_free(m);
done:
    free(images);
    image_args_free(&a);
    return rc;
}
