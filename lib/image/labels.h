/* labels.h — class names: a newline-separated list split into an owned array. */
#ifndef NNI_IMAGE_LABELS_H
#define NNI_IMAGE_LABELS_H

#include "core/common.h"

typedef struct nni_labels {
    char *text;          /* owned copy, lines NUL-terminated in place */
    const char **names;  /* [count] into text */
    uint32_t count;
} nni_labels;

/** Split `text` (NULL = no labels) at newlines; "\r\n" and a final newline are fine. */
nn_status nni_labels_parse(const char *text, nni_labels *out);
void nni_labels_free(nni_labels *labels);

#endif
