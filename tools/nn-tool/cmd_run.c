/* cmd_run.c — `nn-tool run`: TensorProto files in, output_K.pb files out. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tool.h"

#define MAX_INPUTS 64

int cmd_run(int argc, char **argv)
{
    const char *model_path = NULL, *out_dir = NULL;
    const char *inputs[MAX_INPUTS];
    int n_inputs = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--input") == 0 && i + 1 < argc) {
            if (n_inputs == MAX_INPUTS) {
                fprintf(stderr, "nn-tool run: at most %d inputs\n", MAX_INPUTS);
                return 2;
            }
            inputs[n_inputs++] = argv[++i];
        } else if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc) {
            out_dir = argv[++i];
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (argv[i][0] != '-' && !model_path) {
            model_path = argv[i];
        } else {
            fprintf(stderr, "nn-tool run: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (!model_path || !out_dir) {
        fprintf(stderr, "usage: nn-tool run MODEL --input FILE.pb [--input FILE.pb ...] --output-dir DIR [--threads N]\n");
        return 2;
    }
    int rc = 1;
    nn_model *m = tool_load(model_path);
    nn_session *s = NULL;
    nn_tensor *tensors[MAX_INPUTS] = {0};
    const char *names[MAX_INPUTS];
    bool named = n_inputs > 0;
    if (!m)
        return 1;
    for (int i = 0; i < n_inputs; i++) {
        if (nn_tensor_read_file(inputs[i], &tensors[i]) != NN_OK) {
            tool_fail(inputs[i]);
            goto done;
        }
        names[i] = nn_tensor_name(tensors[i]);
        if (!*names[i])
            named = false;
    }
    if (!(s = tool_session(m, threads)))
        goto done;
    if (nn_session_run(s, (uint32_t)n_inputs, named ? names : NULL, (const nn_tensor *const *)tensors) != NN_OK) {
        tool_fail("run");
        goto done;
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "nn-tool run: cannot create '%s': %s\n", out_dir, strerror(errno));
        goto done;
    }
    for (uint32_t k = 0; k < nn_session_output_count(s); k++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/output_%u.pb", out_dir, k);
        if (nn_tensor_write_file(nn_session_output(s, k), path) != NN_OK) {
            tool_fail(path);
            goto done;
        }
        char shape[128];
        printf("%s %s %s\n", path, nn_tensor_name(nn_session_output(s, k)), tool_shape(nn_session_output(s, k), shape, sizeof shape));
    }
    rc = 0;
done:
    for (int i = 0; i < n_inputs; i++)
        nn_tensor_free(tensors[i]);
    nn_session_free(s);
    nn_model_free(m);
    return rc;
}
