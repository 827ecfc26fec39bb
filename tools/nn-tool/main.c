/* main.c — nn-tool: the command line over the public nn API. */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: nn-tool COMMAND [ARGS]\n"
            "\n"
            "commands:\n"
            "  info MODEL                       inputs, outputs, layers, parameters, multiply-adds\n"
            "  run MODEL --input FILE.pb [--input FILE.pb ...] --output-dir DIR [--threads N]\n"
            "                                   run a model on TensorProto files; writes output_K.pb\n"
            "  test DIR... [--threads N] [--rtol R] [--atol A] [--range-tol T] [--no-skip] [--quiet]\n"
            "                                   run ONNX backend-test directories (model.onnx +\n"
            "                                   test_data_set_*/input_*.pb, output_*.pb); a case\n"
            "                                   passes when |got-want| <= atol + rtol*|want| for every\n"
            "                                   element (or <= T*(max-min of want) with --range-tol);\n"
            "                                   unsupported ops skip the case unless --no-skip\n"
            "  save MODEL --out OUT.onnx [--meta KEY=VALUE | --meta KEY]...\n"
            "                                   write the model as ONNX (setting or removing metadata)\n"
            "  replace-input MODEL --size HxW [--channels C] [--input NAME] --out OUT.onnx\n"
            "                                   give the model a new input size / channel count\n"
            "  replace-head MODEL (--classes N | --labels FILE|a,b,c) [--seed S] --out OUT.onnx\n"
            "                                   a fresh classifier head with N classes\n"
            "  bench MODEL [--threads N] [--batch B] [--repeat R]\n"
            "                                   time load and run on seeded inputs; prints load_ms,\n"
            "                                   median_ms, peak_rss_mb\n"
            "  classify MODEL IMAGE... [--top K] [--json] [--labels FILE] [--color C] [--resize R]\n"
            "           [--mean M,..] [--std S,..] [--size WxH] [--threads N]\n"
            "                                   top-K classes of PNG/JPEG images (see classify --help)\n"
            "  eval MODEL --data DIR [--threads N] [same overrides]\n"
            "                                   accuracy and confusion matrix over DIR/<class>/<images>\n"
            "  train MODEL --data DIR --out OUT.onnx [--replace-head] [--freeze N|all] [--epochs E]\n"
            "        [--batch B] [--lr LR] [--optimizer sgd|adam] [--momentum M] [--class-weights auto|LIST]\n"
            "        [--seed S] [--plot loss.png] [--no-cache]\n"
            "                                   fine-tune on DIR/<class>/<images> (see train --help)\n"
            "  detect MODEL IMAGE... [--out FILE.png] [--json] [--conf T] [--iou T] [--max N] [--agnostic]\n"
            "                                   objects in PNG/JPEG images: boxes in image pixels, labels,\n"
            "                                   scores; --out draws them (see detect --help)\n"
            "  eval-detect MODEL --data DIR [--conf T] [--iou T] [...]\n"
            "                                   mAP@0.5 (VOC all-point AP) over DIR's images with YOLO-format\n"
            "                                   .txt labels beside them\n"
            "  ops                              list the ONNX operators nn supports\n"
            "  version                          print the library version\n"
            "\n"
            "Every MODEL may be ONNX or a darknet .cfg; --weights FILE names its .weights (default: the\n"
            "cfg's name with .weights).\n");
}

int tool_fail(const char *what)
{
    fprintf(stderr, "nn-tool: %s: %s\n", what, nn_last_error());
    return 1;
}

/* --weights FILE, taken out of argv by main() for every command */
static const char *weights_path;

nn_model *tool_load(const char *path)
{
    nn_model *m = NULL;
    nn_load_options o;
    nn_load_options_init(&o, NN_LOAD_OPTIONS_VERSION);
    o.weights_path = weights_path;
    if (nn_model_load(path, &o, &m) != NN_OK) {
        fprintf(stderr, "nn-tool: %s\n", nn_last_error());
        return NULL;
    }
    return m;
}

nn_session *tool_session(const nn_model *m, int threads)
{
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = threads;
    nn_session *s = NULL;
    if (nn_session_create(m, &so, &s) != NN_OK)
        tool_fail("creating a session");
    return s;
}

const char *tool_io_shape(const nn_model *m, bool input, uint32_t i, char *buf, size_t cap)
{
    int32_t rank = 0;
    if (input)
        nn_model_input_info(m, i, NULL, NULL, &rank);
    else
        nn_model_output_info(m, i, NULL, NULL, &rank);
    size_t n = (size_t)snprintf(buf, cap, "[");
    if (rank < 0 && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, "?");
    for (int32_t a = 0; a < rank && n < cap; a++) {
        int64_t d;
        const char *sym;
        if (input)
            nn_model_input_dim(m, i, a, &d, &sym);
        else
            nn_model_output_dim(m, i, a, &d, &sym);
        if (d >= 0)
            n += (size_t)snprintf(buf + n, cap - n, a ? ",%lld" : "%lld", (long long)d);
        else
            n += (size_t)snprintf(buf + n, cap - n, a ? ",%s" : "%s", sym && *sym ? sym : "?");
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

const char *tool_shape(const nn_tensor *t, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < nn_tensor_rank(t) && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)nn_tensor_dim(t, i));
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* --weights FILE applies to every command's model */
    int kept = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--weights") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "nn-tool: --weights needs a file\n");
                return 2;
            }
            weights_path = argv[++i];
            continue;
        }
        argv[kept++] = argv[i];
    }
    argc = kept;
    argv[argc] = NULL;
    const char *cmd = argv[1];
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "test") == 0)
        return cmd_test(argc - 1, argv + 1);
    if (strcmp(cmd, "save") == 0)
        return cmd_save(argc - 1, argv + 1);
    if (strcmp(cmd, "replace-input") == 0)
        return cmd_replace_input(argc - 1, argv + 1);
    if (strcmp(cmd, "replace-head") == 0)
        return cmd_replace_head(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "classify") == 0)
        return cmd_classify(argc - 1, argv + 1);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc - 1, argv + 1);
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "detect") == 0)
        return cmd_detect(argc - 1, argv + 1);
    if (strcmp(cmd, "eval-detect") == 0)
        return cmd_eval_detect(argc - 1, argv + 1);
    if (strcmp(cmd, "ops") == 0) {
        for (uint32_t i = 0; i < nn_supported_op_count(); i++)
            printf("%s\n", nn_supported_op_name(i));
        return 0;
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("nn-tool %s\n", nn_version());
        return 0;
    }
    fprintf(stderr, "nn-tool: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
