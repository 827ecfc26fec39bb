/* fuzz_onnx.c — libFuzzer target: raw bytes as an ONNX model (load, and run what loads). */
#include "fuzz_run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_load_options o;
    fuzz_load_options(&o);
    o.format = NN_FORMAT_ONNX;
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(data, size, &o, &m);
    fuzz_check_status(st);
    if (st == NN_OK) {
        uint64_t macs;
        fuzz_check_status(nn_model_macs(m, &macs));
        for (uint32_t i = 0; i < nn_model_layer_count(m); i++)
            fuzz_check_status(nn_model_layer_info(m, i, NULL, NULL));
        fuzz_run_model(m, data, size);
        fuzz_save_round_trip(m, &o);
        nn_model_free(m);
    } else if (m) {
        __builtin_trap(); /* a failed load must not hand out a model */
    }
    return 0;
}
