/*
 * alloc.c — the library's allocator. A countdown hook lets tests fail the Nth
 * allocation (SQLite's and ncnn's OOM-testing technique). The countdown is
 * process-wide and atomic; it is only set by tests.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

static _Atomic int64_t fail_countdown = -1;

void nni_alloc_fail_after(int64_t n) { fail_countdown = n; }

int64_t nni_alloc_fail_countdown(void) { return fail_countdown; }

static bool should_fail(void)
{
    int64_t n = fail_countdown;
    if (NNI_LIKELY(n < 0))
        return false;
    /* decrement; the allocation that finds 0 fails and disarms the hook */
    n = atomic_fetch_sub(&fail_countdown, 1) - 1;
    if (n == -1)
        return true;
    if (n < -1)
        fail_countdown = -1;
    return false;
}

bool nni_alloc_inject_failure(void) { return should_fail(); }

void *nni_malloc(size_t size)
{
    if (should_fail())
        return NULL;
    return malloc(size ? size : 1);
}

void *nni_calloc(size_t count, size_t size)
{
    if (should_fail())
        return NULL;
    if (count == 0 || size == 0)
        count = size = 1;
    return calloc(count, size);
}

void *nni_realloc(void *ptr, size_t size)
{
    if (should_fail())
        return NULL;
    return realloc(ptr, size ? size : 1);
}

void nni_free(void *ptr) { free(ptr); }

char *nni_strdup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = nni_malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void *nni_malloc_aligned(size_t size)
{
    if (should_fail())
        return NULL;
    void *p = NULL;
    size = (size + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, size ? size : 64) != 0)
        return NULL;
    return p;
}

void nni_free_aligned(void *ptr) { free(ptr); }

NN_API void nn_free(void *ptr) { free(ptr); }
