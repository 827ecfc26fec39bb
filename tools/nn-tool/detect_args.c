/* detect_args.c — the detection flags of `detect` and `eval-detect`. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "detect_args.h"

void detect_args_init(detect_args *d, image_args *a)
{
    nn_detect_options_init(&d->opts, NN_DETECT_OPTIONS_VERSION);
    d->opts.preprocess = &a->pre;
}

const char *detect_args_usage(void)
{
    return "  --weights FILE       darknet weights (default: MODEL's name with .weights)\n"
           "  --conf T             score threshold (default 0.25)\n"
           "  --iou T              NMS IoU threshold (default 0.45)\n"
           "  --max N              keep at most N detections per image (default 300; 0 = all)\n"
           "  --agnostic           NMS across classes (default: within each class)\n"
           "  --family yolov2|yolov3|yolov5|yolov8   how to read the outputs (default: the model's)\n";
}

static int parse_unit(const char *v, float *out)
{
    char *end;
    float f = strtof(v, &end);
    if (end == v || *end || !(f >= 0 && f <= 1))
        return -1;
    *out = f;
    return 0;
}

int detect_args_parse(detect_args *d, int argc, char **argv, int *i, const char *cmd)
{
    const char *flag = argv[*i];
    if (strcmp(flag, "--agnostic") == 0) {
        d->opts.class_agnostic = 1;
        return 1;
    }
    bool ours = !strcmp(flag, "--conf") || !strcmp(flag, "--iou") || !strcmp(flag, "--max") || !strcmp(flag, "--family");
    if (!ours)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "nn-tool %s: %s needs a value\n", cmd, flag);
        return -1;
    }
    const char *v = argv[++*i];
    int bad = 0;
    if (!strcmp(flag, "--conf")) {
        bad = parse_unit(v, &d->opts.score_threshold);
    } else if (!strcmp(flag, "--iou")) {
        bad = parse_unit(v, &d->opts.iou_threshold);
    } else if (!strcmp(flag, "--max")) {
        char *end;
        long n = strtol(v, &end, 10);
        bad = end == v || *end || n < 0;
        d->opts.max_detections = (uint32_t)n;
    } else {
        static const char *const names[] = {"yolov2", "yolov3", "yolov5", "yolov8"};
        static const int values[] = {NN_DETECT_YOLOV2, NN_DETECT_YOLOV3, NN_DETECT_YOLOV5, NN_DETECT_YOLOV8};
        bad = 1;
        for (int k = 0; k < 4; k++)
            if (strcasecmp(v, names[k]) == 0) {
                d->opts.family = values[k];
                bad = 0;
            }
    }
    if (bad) {
        fprintf(stderr, "nn-tool %s: bad value for %s: '%s'\n", cmd, flag, v);
        return -1;
    }
    return 1;
}
