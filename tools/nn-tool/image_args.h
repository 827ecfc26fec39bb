/* image_args.h — flags shared by `classify` and `eval`: preprocessing overrides, labels, threads. */
#ifndef NN_TOOL_IMAGE_ARGS_H
#define NN_TOOL_IMAGE_ARGS_H

#include <stdio.h>

#include <nn.h>

typedef struct image_args {
    nn_preprocess_options pre;
    nn_classify_options cls;
    char *labels_text; /* contents of --labels FILE, or NULL */
    int threads;       /* --threads N; 0 = all cores */
} image_args;

void image_args_init(image_args *a);
void image_args_free(image_args *a);
/**
 * If argv[*i] is one of the shared flags, consume it (and its value, moving
 * *i) and return 1; return 0 if it is not ours; -1 on a bad value (printed).
 */
int image_args_parse(image_args *a, int argc, char **argv, int *i, const char *cmd);
/** Usage lines for the shared flags. */
const char *image_args_usage(void);
/** Print `s` as a JSON string (quoted, escaped; invalid UTF-8 becomes U+FFFD). */
void json_string(FILE *f, const char *s);
/** The model's class names: --labels text if given, else nn.labels; split at newlines. Free with labels_free. */
char **labels_split(const char *text, uint32_t *count);
void labels_free(char **labels, uint32_t count);

#endif
