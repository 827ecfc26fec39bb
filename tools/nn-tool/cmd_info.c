/* cmd_info.c — `nn-tool info MODEL`: what a model takes, gives and contains. */
#include <stdio.h>
#include <string.h>

#include "tool.h"

static void print_io(const nn_model *m, bool input, uint32_t i)
{
    const char *name;
    nn_dtype dt;
    int32_t rank;
    if (input)
        nn_model_input_info(m, i, &name, &dt, &rank);
    else
        nn_model_output_info(m, i, &name, &dt, &rank);
    char shape[1024];
    printf("  %s: %s %s\n", name, nn_dtype_name(dt), tool_io_shape(m, input, i, shape, sizeof shape));
}

int cmd_info(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: nn-tool info MODEL\n");
        return 2;
    }
    nn_model *m = tool_load(argv[1]);
    if (!m)
        return 1;
    printf("model: %s\n", argv[1]);
    printf("inputs: %u\n", nn_model_input_count(m));
    for (uint32_t i = 0; i < nn_model_input_count(m); i++)
        print_io(m, true, i);
    printf("outputs: %u\n", nn_model_output_count(m));
    for (uint32_t i = 0; i < nn_model_output_count(m); i++)
        print_io(m, false, i);
    uint32_t nl = nn_model_layer_count(m);
    printf("layers: %u\n", nl);
    for (uint32_t i = 0; i < nl; i++) {
        const char *name, *op;
        nn_model_layer_info(m, i, &name, &op);
        printf("  %-6u %-22s %s\n", i, op, name);
    }
    printf("parameters: %llu\n", (unsigned long long)nn_model_param_count(m));
    uint64_t macs = 0;
    if (nn_model_macs(m, &macs) == NN_OK)
        printf("multiply-adds: %llu\n", (unsigned long long)macs);
    else
        printf("multiply-adds: unknown (%s)\n", nn_last_error());
    nn_model_free(m);
    return 0;
}
