/* cmd_edit.c — `nn-tool save`, `replace-input`, `replace-head`: change a model and write ONNX, no code needed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tool.h"

static void print_outputs(const nn_model *m)
{
    for (uint32_t i = 0; i < nn_model_output_count(m); i++) {
        const char *name;
        char s[256];
        nn_model_output_info(m, i, &name, NULL, NULL);
        printf("output '%s': %s\n", name, tool_io_shape(m, false, i, s, sizeof s));
    }
}

static int save(nn_model *m, const char *out)
{
    if (nn_model_save(m, out) != NN_OK)
        return tool_fail("save");
    printf("saved %s\n", out);
    return 0;
}

int cmd_save(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--meta") == 0 && i + 1 < argc)
            i++; /* applied after loading */
        else if (argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else {
            fprintf(stderr, "nn-tool save: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model_path || !out) {
        fprintf(stderr, "usage: nn-tool save MODEL --out OUT.onnx [--meta KEY=VALUE | --meta KEY]...\n");
        return 2;
    }
    nn_model *m = tool_load(model_path);
    if (!m)
        return 1;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "--meta") != 0)
            continue;
        const char *kv = argv[++i];
        const char *eq = strchr(kv, '=');
        char key[256];
        size_t klen = eq ? (size_t)(eq - kv) : strlen(kv);
        if (klen == 0 || klen >= sizeof key) {
            fprintf(stderr, "nn-tool save: bad --meta '%s' (KEY=VALUE sets, KEY removes)\n", kv);
            rc = 2;
            break;
        }
        memcpy(key, kv, klen);
        key[klen] = '\0';
        if (nn_model_set_metadata(m, key, eq ? eq + 1 : NULL) != NN_OK)
            rc = tool_fail("--meta");
    }
    if (rc == 0)
        rc = save(m, out);
    nn_model_free(m);
    return rc;
}

/* Which graph input: --input NAME, else the first. */
static int pick_input(const nn_model *m, const char *want, uint32_t *index)
{
    for (uint32_t i = 0; i < nn_model_input_count(m); i++) {
        const char *name;
        nn_model_input_info(m, i, &name, NULL, NULL);
        if (!want || strcmp(name, want) == 0) {
            *index = i;
            return 0;
        }
    }
    fprintf(stderr, want ? "nn-tool: the model has no input named '%s'\n" : "nn-tool: the model has no inputs%s\n",
            want ? want : "");
    return 1;
}

int cmd_replace_input(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *size = NULL, *input = NULL;
    long channels = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc)
            size = argv[++i];
        else if (strcmp(argv[i], "--channels") == 0 && i + 1 < argc) {
            char *end;
            channels = strtol(argv[++i], &end, 10);
            if (*end || channels < 1) {
                fprintf(stderr, "nn-tool replace-input: --channels needs a count >= 1, got '%s'\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--input") == 0 && i + 1 < argc)
            input = argv[++i];
        else if (argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else {
            fprintf(stderr, "nn-tool replace-input: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model_path || !out || (!size && channels < 0)) {
        fprintf(stderr, "usage: nn-tool replace-input MODEL --size HxW [--channels C] [--input NAME] --out OUT.onnx\n");
        return 2;
    }
    long h = -1, w = -1;
    if (size) {
        char *end;
        h = strtol(size, &end, 10);
        if (*end == 'x' || *end == 'X')
            w = strtol(end + 1, &end, 10);
        if (*end || h < 1 || w < 1) {
            fprintf(stderr, "nn-tool replace-input: --size must be HxW (e.g. 320x320), got '%s'\n", size);
            return 2;
        }
    }
    nn_model *m = tool_load(model_path);
    if (!m)
        return 1;
    int rc = 1;
    uint32_t idx;
    const char *name;
    int32_t rank;
    char before[256], after[256];
    if (pick_input(m, input, &idx) != 0)
        goto done;
    nn_model_input_info(m, idx, &name, NULL, &rank);
    if (rank < 3) {
        fprintf(stderr, "nn-tool replace-input: input '%s' has rank %d; an image input is N,C,H,W (or C,H,W)\n", name,
                (int)rank);
        goto done;
    }
    tool_io_shape(m, true, idx, before, sizeof before);
    int64_t dims[NN_MAX_RANK];
    for (int32_t a = 0; a < rank; a++)
        dims[a] = -1;
    if (size) {
        dims[rank - 2] = h;
        dims[rank - 1] = w;
    }
    nn_replace_input_options ro;
    nn_replace_input_options_init(&ro, NN_REPLACE_INPUT_OPTIONS_VERSION);
    ro.channel_axis = rank - 3; /* N,C,H,W -> 1; C,H,W -> 0 */
    if (channels > 0)
        dims[ro.channel_axis] = channels;
    if (nn_replace_input(m, name, rank, dims, &ro) != NN_OK) {
        tool_fail("replace-input");
        goto done;
    }
    printf("input '%s': %s -> %s\n", name, before, tool_io_shape(m, true, idx, after, sizeof after));
    print_outputs(m);
    rc = save(m, out);
done:
    nn_model_free(m);
    return rc;
}

/* Labels from a file (one per line) or a comma-separated list. */
static char **read_labels(const char *spec, uint32_t *count)
{
    *count = 0;
    char *text = NULL;
    FILE *f = fopen(spec, "rb");
    if (f) {
        size_t cap = 0, len = 0;
        int c;
        while ((c = fgetc(f)) != EOF) {
            if (len + 2 > cap) {
                cap = cap ? cap * 2 : 256;
                char *t = realloc(text, cap);
                if (!t) {
                    free(text);
                    fclose(f);
                    return NULL;
                }
                text = t;
            }
            text[len++] = (char)c;
        }
        fclose(f);
        if (!text)
            text = calloc(1, 1);
        else
            text[len] = '\0';
    } else {
        text = strdup(spec);
        for (char *p = text; p && *p; p++)
            if (*p == ',')
                *p = '\n';
    }
    if (!text)
        return NULL;
    uint32_t n = 0;
    char **labels = NULL;
    for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
        char **l = realloc(labels, (n + 1) * sizeof *l);
        if (!l)
            break;
        labels = l;
        labels[n++] = strdup(line);
    }
    free(text);
    *count = n;
    return labels;
}

int cmd_replace_head(int argc, char **argv)
{
    const char *model_path = NULL, *out = NULL, *labels_spec = NULL;
    long classes = -1;
    unsigned long long seed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--classes") == 0 && i + 1 < argc)
            classes = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--labels") == 0 && i + 1 < argc)
            labels_spec = argv[++i];
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !model_path)
            model_path = argv[i];
        else {
            fprintf(stderr, "nn-tool replace-head: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    uint32_t n_labels = 0;
    char **labels = labels_spec ? read_labels(labels_spec, &n_labels) : NULL;
    if (classes < 0 && n_labels)
        classes = (long)n_labels;
    if (!model_path || !out || classes < 1) {
        fprintf(stderr, "usage: nn-tool replace-head MODEL (--classes N | --labels FILE|a,b,c) [--seed S] --out OUT.onnx\n"
                        "  FILE has one label per line\n");
        for (uint32_t i = 0; i < n_labels; i++)
            free(labels[i]);
        free(labels);
        return 2;
    }
    int rc = 1;
    nn_model *m = tool_load(model_path);
    if (m) {
        if (nn_replace_head(m, (int32_t)classes, (const char *const *)labels, n_labels, seed) != NN_OK)
            tool_fail("replace-head");
        else {
            print_outputs(m);
            rc = save(m, out);
        }
        nn_model_free(m);
    }
    for (uint32_t i = 0; i < n_labels; i++)
        free(labels[i]);
    free(labels);
    return rc;
}
