/* consumer.c — a minimal program built against an installed nn (CI checks
 * that pkg-config and find_package(nn) both work). Prints the version and
 * loads the model given on the command line, if any. */
#include <stdio.h>

#include <nn.h>

int main(int argc, char **argv)
{
    printf("nn %s\n", nn_version());
    if (argc < 2)
        return 0;
    nn_model *m = NULL;
    if (nn_model_load(argv[1], NULL, &m) != NN_OK) {
        fprintf(stderr, "%s\n", nn_last_error());
        return 1;
    }
    printf("%u inputs, %u outputs, %u layers\n", nn_model_input_count(m), nn_model_output_count(m), nn_model_layer_count(m));
    nn_model_free(m);
    return 0;
}
