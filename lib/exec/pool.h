/*
 * pool.h — the thread pool kernels split their work over. Kernels never create
 * threads; they call nni_parallel_for with the pool the executor gives them.
 */
#ifndef NNI_POOL_H
#define NNI_POOL_H

#include "core/common.h"

typedef struct nni_pool nni_pool;

/** Work on items [begin, end); `tid` is the worker index in [0, nni_pool_threads). */
typedef void (*nni_task_fn)(void *arg, int64_t begin, int64_t end, int32_t tid);

/** Create a pool of `n` threads in all (the caller counts as one); n <= 0 = all cores. */
nn_status nni_pool_create(int32_t n, nni_pool **out);
void nni_pool_free(nni_pool *pool);
/** Threads that run tasks, including the caller. A NULL pool has 1. */
int32_t nni_pool_threads(const nni_pool *pool);
/**
 * Run fn over [0, n) split into contiguous chunks of at least `grain` items
 * (several per thread; thread t runs the t-th contiguous share of them unless
 * it is late, when the others take over its chunks: a thread may run
 * several, each call with its own tid); returns when all are done. A NULL
 * pool runs inline.
 */
void nni_parallel_for(nni_pool *pool, int64_t n, int64_t grain, nni_task_fn fn, void *arg);
/** Number of online cores. */
int32_t nni_cpu_count(void);

#endif
