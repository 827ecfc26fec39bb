/*
 * fuzz_common.h — what every fuzz target shares: the libFuzzer entry point
 * declaration and the tight limits the targets load with (small enough that
 * a well-behaved nn never asks for more than a few MiB, so an allocation
 * over libFuzzer's -malloc_limit_mb is a limit nn failed to enforce).
 */
#ifndef NN_FUZZ_COMMON_H
#define NN_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <nn.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_TENSOR_BYTES (4u << 20)
#define FUZZ_MAX_NODES 2000u

static inline void fuzz_load_options(nn_load_options *o)
{
    nn_load_options_init(o, NN_LOAD_OPTIONS_VERSION);
    o->max_tensor_bytes = FUZZ_MAX_TENSOR_BYTES;
    o->max_nodes = FUZZ_MAX_NODES;
}

/* A failure must say why; a success must not leave a stale message behind. */
static inline void fuzz_check_status(nn_status st)
{
    if (st != NN_OK && nn_last_error()[0] == '\0')
        __builtin_trap();
    if (st > 0 || st < -64)
        __builtin_trap(); /* not an nn_status */
}

#endif
