/*
 * fuzz_run.h — run a model the fuzzer managed to load: inputs of the declared
 * shapes (symbolic dimensions taken as 2) filled from fuzz bytes, one
 * single-threaded session, two runs (the second reuses the plan), then two
 * training steps on a clone when nn can train the graph. Inputs over
 * FUZZ_MAX_INPUT_ELEMENTS are not run: the point is hostile graphs, not big
 * ones. fuzz_save_round_trip: a loaded model saves, and the saved bytes load.
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
    /* a model that runs can be trained, when nn has the backward passes:
     * one step on a clone, labels from the bytes */
    if (n == 1 && inputs[0] && nn_tensor_dtype(inputs[0]) == NN_DTYPE_FLOAT32 && nn_tensor_rank(inputs[0]) >= 1 &&
        nn_tensor_dim(inputs[0], 0) >= 1 && nn_tensor_dim(inputs[0], 0) <= 64) {
        nn_model *copy = NULL;
        nn_status cst = nn_model_clone(m, &copy);
        fuzz_check_status(cst);
        nn_trainer_options to;
        nn_trainer_options_init(&to, NN_TRAINER_OPTIONS_VERSION);
        to.num_threads = 1;
        nn_trainer *t = NULL;
        if (cst == NN_OK && nn_trainer_create(copy, &to, &t) == NN_OK) {
            int64_t rows = nn_tensor_dim(inputs[0], 0);
            int64_t labels[64];
            for (int64_t r = 0; r < rows; r++)
                labels[r] = fill_len ? fill[(size_t)r % fill_len] % 4 : 0;
            nn_tensor *y = NULL;
            if (nn_tensor_wrap(NN_DTYPE_INT64, 1, &rows, labels, &y) == NN_OK) {
                for (int step = 0; step < 2; step++)
                    fuzz_check_status(nn_train_step(copy, t, inputs[0], y, NULL));
                nn_tensor_free(y);
            }
        }
        nn_trainer_free(t);
        nn_model_free(copy);
    }
done:
    for (uint32_t i = 0; i < n; i++)
        nn_tensor_free(inputs[i]);
}

/* What loads saves, and what nn saves loads again with the same interface. */
static inline void fuzz_save_round_trip(const nn_model *m, const nn_load_options *o)
{
    void *bytes = NULL;
    size_t size = 0;
    nn_status st = nn_model_save_memory(m, &bytes, &size);
    fuzz_check_status(st);
    if (st != NN_OK)
        return;
    nn_load_options o2 = *o;
    o2.format = NN_FORMAT_ONNX;
    nn_model *r = NULL;
    st = nn_model_load_memory(bytes, size, &o2, &r);
    fuzz_check_status(st);
    if (st != NN_OK && st != NN_E_LIMIT && st != NN_E_UNSUPPORTED && st != NN_E_NOMEM)
        __builtin_trap(); /* nn wrote a model it refuses */
    if (st == NN_OK && (nn_model_input_count(r) != nn_model_input_count(m) ||
                        nn_model_output_count(r) != nn_model_output_count(m)))
        __builtin_trap();
    nn_model_free(r);
    nn_free(bytes);
}

#endif
