/*
 * fuzz_run.h — run a model the fuzzer managed to load: inputs of the declared
 * shapes (symbolic dimensions taken as 2) filled from fuzz bytes, one
 * single-threaded session, two runs (the second reuses the plan). Inputs over
 * FUZZ_MAX_INPUT_ELEMENTS are not run: the point is hostile graphs, not big ones.
 */
#ifndef NN_FUZZ_RUN_H
#define NN_FUZZ_RUN_H

#include "fuzz_common.h"

#define FUZZ_MAX_INPUTS 8
#define FUZZ_MAX_INPUT_ELEMENTS (1 << 16)

static inline void fuzz_run_model(nn_model *m, const uint8_t *fill, size_t fill_len)
{
    uint32_t n = nn_model_input_count(m);
    if (n > FUZZ_MAX_INPUTS)
        return;
    nn_tensor *inputs[FUZZ_MAX_INPUTS] = {0};
    size_t pos = 0;
    for (uint32_t i = 0; i < n; i++) {
        nn_dtype dtype;
        int32_t rank;
        if (nn_model_input_info(m, i, NULL, &dtype, &rank) != NN_OK)
            goto done;
        if (rank < 0)
            rank = 1; /* unknown rank: try a vector */
        int64_t dims[NN_MAX_RANK], count = 1;
        for (int32_t d = 0; d < rank; d++) {
            int64_t v = 2;
            if (nn_model_input_dim(m, i, d, &v, NULL) == NN_OK && v < 0)
                v = 2;
            dims[d] = v;
            if (v > FUZZ_MAX_INPUT_ELEMENTS || (count *= v) > FUZZ_MAX_INPUT_ELEMENTS)
                goto done;
        }
        if (nn_tensor_create(dtype, rank, dims, &inputs[i]) != NN_OK)
            goto done;
        uint8_t *p = nn_tensor_data(inputs[i]);
        size_t nb = nn_tensor_nbytes(inputs[i]);
        for (size_t k = 0; k < nb && fill_len; k++, pos++)
            p[k] = fill[pos % fill_len];
        if (dtype == NN_DTYPE_BOOL)
            for (size_t k = 0; k < nb; k++)
                p[k] &= 1;
    }
    nn_session_options so;
    nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION);
    so.num_threads = 1;
    nn_session *s = NULL;
    nn_status st = nn_session_create(m, &so, &s);
    fuzz_check_status(st);
    if (st == NN_OK) {
        for (int round = 0; round < 2; round++) {
            st = nn_session_run(s, n, NULL, (const nn_tensor *const *)inputs);
            fuzz_check_status(st);
            if (st != NN_OK)
                break;
            /* touch every output byte: a wrong size or a stale pointer shows under ASan */
            volatile uint8_t sink = 0;
            for (uint32_t k = 0; k < nn_session_output_count(s); k++) {
                const nn_tensor *t = nn_session_output(s, k);
                if (!t)
                    __builtin_trap();
                const uint8_t *d = nn_tensor_data_const(t);
                for (size_t b = 0; b < nn_tensor_nbytes(t); b++)
                    sink ^= d[b];
            }
            (void)sink;
        }
        nn_session_free(s);
    }
done:
    for (uint32_t i = 0; i < n; i++)
        nn_tensor_free(inputs[i]);
}

#endif
