/* fuzz_tensor.c — libFuzzer target: raw bytes as a serialized TensorProto (nn_tensor_read_memory). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_tensor *t = NULL;
    nn_status st = nn_tensor_read_memory(data, size, &t);
    fuzz_check_status(st);
    if (st == NN_OK) {
        int64_t count = nn_tensor_count(t);
        if ((size_t)count * nn_dtype_size(nn_tensor_dtype(t)) != nn_tensor_nbytes(t))
            __builtin_trap();
        volatile uint8_t sink = 0;
        const uint8_t *p = nn_tensor_data_const(t);
        for (size_t i = 0; i < nn_tensor_nbytes(t); i++)
            sink ^= p[i];
        (void)sink;
        nn_tensor_free(t);
    }
    return 0;
}
