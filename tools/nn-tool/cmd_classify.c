/* cmd_classify.c — `nn-tool classify MODEL IMAGE...`: top-k labels per image, as text or JSON lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_args.h"
#include "tool.h"

#define DEFAULT_TOP 3

static void usage(void)
{
    fprintf(stderr,
            "usage: nn-tool classify MODEL IMAGE... [--top K] [--json] [options]\n"
            "  --top K              classes per image (default %d; 0 = all)\n"
            "  --json               one line per image: {\"image\": PATH, \"top\": [{\"index\": I, \"label\": L,"
            " \"score\": S}, ...]}\n"
            "                       (an image that fails: {\"image\": PATH, \"error\": MESSAGE})\n%s",
            DEFAULT_TOP, image_args_usage());
}

static void print_text(const char *path, const nn_classification *r)
{
    printf("%s\n", path);
    for (uint32_t k = 0; k < nn_classification_count(r, 0); k++) {
        uint32_t index;
        float score;
        const char *label;
        nn_classification_get(r, 0, k, &index, &score, &label);
        printf("  %8.4f  %s%s(%u)\n", score, label, *label ? " " : "", index);
    }
}

static void print_json(const char *path, const nn_classification *r)
{
    printf("{\"image\": ");
    json_string(stdout, path);
    printf(", \"top\": [");
    for (uint32_t k = 0; k < nn_classification_count(r, 0); k++) {
        uint32_t index;
        float score;
        const char *label;
        nn_classification_get(r, 0, k, &index, &score, &label);
        printf("%s{\"index\": %u, \"label\": ", k ? ", " : "", index);
        if (*label)
            json_string(stdout, label);
        else
            printf("null");
        printf(", \"score\": %.6g}", (double)score);
    }
    printf("]}\n");
}

static void report_error(const char *path, bool json)
{
    if (json) {
        printf("{\"image\": ");
        json_string(stdout, path);
        printf(", \"error\": ");
        json_string(stdout, nn_last_error());
        printf("}\n");
    }
    fprintf(stderr, "nn-tool classify: %s\n", nn_last_error());
}

/* Classify one image; returns 0 or 1 (failure reported). */
static int classify_one(nn_session *s, const char *path, uint32_t top, const image_args *a, bool json)
{
    nn_image *im = NULL;
    nn_classification *r = NULL;
    if (nn_image_load(path, NULL, &im) != NN_OK ||
        nn_classify(s, (const nn_image *const *)&im, 1, top, &a->cls, &r) != NN_OK) {
        report_error(path, json);
        nn_image_free(im);
        return 1;
    }
    if (json)
        print_json(path, r);
    else
        print_text(path, r);
    fflush(stdout);
    nn_classification_free(r);
    nn_image_free(im);
    return 0;
}

int cmd_classify(int argc, char **argv)
{
    image_args a;
    image_args_init(&a);
    const char *model_path = NULL;
    char **images = calloc((size_t)argc, sizeof *images);
    int n_images = 0, top = DEFAULT_TOP, rc = 2;
    bool json = false;
    for (int i = 1; images && i < argc; i++) {
        int r = image_args_parse(&a, argc, argv, &i, "classify");
        if (r < 0)
            goto done;
        if (r > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage();
            rc = 0;
            goto done;
        }
        if (strcmp(argv[i], "--top") == 0 && i + 1 < argc) {
            char *end;
            top = (int)strtol(argv[++i], &end, 10);
            if (*end || top < 0) {
                fprintf(stderr, "nn-tool classify: bad value for --top: '%s'\n", argv[i]);
                goto done;
            }
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "nn-tool classify: unexpected argument '%s'\n", argv[i]);
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
    rc = 1;
    nn_model *m = tool_load(model_path);
    nn_session *s = m ? tool_session(m, a.threads) : NULL;
    if (s) {
        int failed = 0;
        for (int i = 0; i < n_images; i++)
            failed += classify_one(s, images[i], (uint32_t)top, &a, json);
        rc = failed ? 1 : 0;
    }
    nn_session_free(s);
    nn_model_free(m);
done:
    free(images);
    image_args_free(&a);
    return rc;
}
