/*
 * common.h — what every file of the library includes: the public header,
 * internal error reporting and the allocator hook. Internal cross-file
 * symbols are prefixed nni_ and never exported.
 */
#ifndef NNI_COMMON_H
#define NNI_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#define NNI_UNUSED(x) ((void)(x))

#if defined(__GNUC__)
#define NNI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define NNI_LIKELY(x) __builtin_expect(!!(x), 1)
#define NNI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NNI_PRINTF(f, a)
#define NNI_LIKELY(x) (x)
#define NNI_UNLIKELY(x) (x)
#endif

/* ---- errors (core/error.c) ---- */

/** Record `status` with a printf-style message in the thread-local slot; returns status. */
nn_status nni_error(nn_status status, const char *fmt, ...) NNI_PRINTF(2, 3);
/** Prefix the current message with context ("loading 'x.onnx': ..."); returns status. */
nn_status nni_error_prefix(nn_status status, const char *fmt, ...) NNI_PRINTF(2, 3);
/** Clear the thread-local message (called at the start of public calls). */
void nni_error_clear(void);

/* ---- allocation (core/alloc.c) ----
 * Every allocation goes through these so that tests can make the Nth one
 * fail (see nni_alloc_fail_after) and prove that each failure is clean. */
void *nni_malloc(size_t size);
void *nni_calloc(size_t count, size_t size);
void *nni_realloc(void *ptr, size_t size);
void nni_free(void *ptr);
char *nni_strdup(const char *s);
/** Aligned allocation (64 bytes) for tensor data; free with nni_free_aligned. */
void *nni_malloc_aligned(size_t size);
void nni_free_aligned(void *ptr);
/** Test hook: make the allocation after `n` more succeed fail (-1 = never). */
void nni_alloc_fail_after(int64_t n);
/** Test hook: allocations left before the armed failure; -1 once it fired (or when disarmed). */
int64_t nni_alloc_fail_countdown(void);
/** For memory nn does not allocate itself (libjpeg's pools): counts as one
 *  allocation for the hook and says whether it must fail. */
bool nni_alloc_inject_failure(void);

/* ---- checked arithmetic ---- */
static inline bool nni_mul_overflow_size(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }
static inline bool nni_mul_overflow_i64(int64_t a, int64_t b, int64_t *out) { return __builtin_mul_overflow(a, b, out); }
static inline bool nni_add_overflow_i64(int64_t a, int64_t b, int64_t *out) { return __builtin_add_overflow(a, b, out); }

#endif
