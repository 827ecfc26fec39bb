/*
 * fuzz_darknet.c — libFuzzer target: a darknet .cfg and its .weights. The
 * input is the cfg text, then a NUL byte, then the weights file's bytes (a
 * cfg cannot hold NUL bytes); without a NUL there is no weights file.
 */
#define _GNU_SOURCE /* memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_run.h"

#define FUZZ_MAX_WEIGHTS (1u << 20)

/* The weights live in a memfd (no disk I/O per input), read back through
 * /proc/self/fd/N: a regular file as far as nn can tell. */
static int weights_fd = -1;
static char weights_path[64];

static bool write_weights(const uint8_t *data, size_t len)
{
    if (weights_fd < 0) {
        weights_fd = memfd_create("nn_fuzz_weights", MFD_CLOEXEC);
        if (weights_fd < 0)
            return false;
        snprintf(weights_path, sizeof weights_path, "/proc/self/fd/%d", weights_fd);
    }
    if (ftruncate(weights_fd, 0) != 0)
        return false;
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(weights_fd, data + done, len - done, (off_t)done);
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return true;
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
        if (wlen > FUZZ_MAX_WEIGHTS || !write_weights(nul + 1, wlen))
            return 0;
        o.weights_path = weights_path;
    }
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(data, cfg_len, &o, &m);
    fuzz_check_status(st);
    if (st == NN_OK) {
        fuzz_run_model(m, data, cfg_len);
        fuzz_save_round_trip(m, &o);
        nn_model_free(m);
    } else if (m) {
        __builtin_trap();
    }
    return 0;
}
