/* labels.c — class-name lists (nn.labels metadata, --labels files). */
#include <string.h>

#include "image/labels.h"

nn_status nni_labels_parse(const char *text, nni_labels *out)
{
    memset(out, 0, sizeof *out);
    if (!text)
        return NN_OK;
    size_t len = strlen(text);
    uint32_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n' && i + 1 < len;
    out->text = nni_strdup(text);
    out->names = nni_calloc(lines, sizeof *out->names);
    if (!out->text || !out->names) {
        nni_labels_free(out);
        return nni_error(NN_E_NOMEM, "cannot copy the labels");
    }
    for (char *line = out->text; *line && out->count < lines;) {
        char *nl = strchr(line, '\n');
        char *end = nl ? nl : line + strlen(line);
        if (end > line && end[-1] == '\r')
            end[-1] = '\0';
        *end = '\0';
        out->names[out->count++] = line;
        line = nl ? nl + 1 : end;
    }
    return NN_OK;
}

void nni_labels_free(nni_labels *l)
{
    nni_free(l->text);
    nni_free(l->names);
    memset(l, 0, sizeof *l);
}
