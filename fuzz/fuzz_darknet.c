/*
 * fuzz_darknet.c — libFuzzer target: a darknet .cfg and its .weights. The
 * input is the cfg text, then a NUL byte, then the weights file's bytes (a
 * cfg cannot hold NUL bytes); without a NUL there is no weights file. The
 * weights go to a per-process temporary file, as nn reads them from a path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_run.h"

#define FUZZ_MAX_WEIGHTS (1u << 20)

static char weights_path[64];

static void remove_weights(void)
{
    if (weights_path[0])
        unlink(weights_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t cfg_len = nul ? (size_t)(nul - data) : size;
    nn_load_options o;
    fuzz_load_options(&o);
    o.format = NN_FORMAT_DARKNET;
    if (nul) {
        size_t wlen = size - cfg_len - 1;
        if (wlen > FUZZ_MAX_WEIGHTS)
            return 0;
        if (!weights_path[0]) {
            snprintf(weights_path, sizeof weights_path, "/tmp/nn_fuzz_darknet_%ld.weights", (long)getpid());
            atexit(remove_weights);
        }
        FILE *f = fopen(weights_path, "wb");
        if (!f)
            return 0;
        size_t wrote = fwrite(nul + 1, 1, wlen, f);
        if (fclose(f) != 0 || wrote != wlen)
            return 0;
        o.weights_path = weights_path;
    }
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(data, cfg_len, &o, &m);
    fuzz_check_status(st);
    if (st == NN_OK) {
        fuzz_run_model(m, data, cfg_len);
        nn_model_free(m);
    } else if (m) {
        __builtin_trap();
    }
    return 0;
}
