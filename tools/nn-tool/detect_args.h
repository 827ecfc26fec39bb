/* detect_args.h — flags shared by `detect` and `eval-detect`: thresholds, NMS, family. */
#ifndef NN_TOOL_DETECT_ARGS_H
#define NN_TOOL_DETECT_ARGS_H

#include "image_args.h"

typedef struct detect_args {
    nn_detect_options opts;
} detect_args;

/** Defaults; the preprocessing is a's (the shared image flags). */
void detect_args_init(detect_args *d, image_args *a);
/** As image_args_parse, for --conf, --iou, --max, --agnostic, --family. */
int detect_args_parse(detect_args *d, int argc, char **argv, int *i, const char *cmd);
const char *detect_args_usage(void);

#endif
