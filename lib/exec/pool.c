/*
 * pool.c — a small fork-join thread pool. The caller thread takes part, so a
 * pool of n has n-1 workers. One parallel_for runs at a time per pool (each
 * session owns its pool, and a session is used by one thread at a time).
 */
#include <pthread.h>
#include <unistd.h>

#include "exec/pool.h"

struct nni_pool {
    int32_t n;              /* threads including the caller */
    pthread_t *threads;
    int32_t started;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    uint64_t generation;    /* bumped for each job */
    int32_t remaining;      /* workers still busy with the job */
    bool stop;
    /* the current job */
    nni_task_fn fn;
    void *arg;
    int64_t n_items, chunk;
};

int32_t nni_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int32_t)n : 1;
}

static void run_chunk(nni_pool *p, int32_t tid)
{
    int64_t begin = (int64_t)tid * p->chunk;
    int64_t end = begin + p->chunk;
    if (end > p->n_items)
        end = p->n_items;
    if (begin < end)
        p->fn(p->arg, begin, end, tid);
}

static void *worker(void *arg_)
{
    nni_pool *p = arg_;
    pthread_mutex_lock(&p->mu);
    int32_t tid = 1 + p->started++; /* the caller is thread 0 */
    pthread_mutex_unlock(&p->mu);
    /* Jobs are counted from 0 at creation, so a worker that starts late
     * still sees a job posted before it ran. */
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->stop && p->generation == seen)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->stop) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_chunk(p, tid);
        pthread_mutex_lock(&p->mu);
        if (--p->remaining == 0)
            pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

nn_status nni_pool_create(int32_t n, nni_pool **out)
{
    *out = NULL;
    if (n <= 0)
        n = nni_cpu_count();
    if (n > 256)
        n = 256;
    nni_pool *p = nni_calloc(1, sizeof *p);
    if (!p)
        return nni_error(NN_E_NOMEM, "cannot allocate a thread pool");
    p->n = n;
    if (n > 1) {
        p->threads = nni_calloc((size_t)n - 1, sizeof *p->threads);
        if (!p->threads) {
            nni_free(p);
            return nni_error(NN_E_NOMEM, "cannot allocate a thread pool");
        }
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    int32_t made = 0;
    for (; made < n - 1; made++)
        if (pthread_create(&p->threads[made], NULL, worker, p) != 0)
            break;
    p->n = made + 1; /* run with what we could start */
    *out = p;
    return NN_OK;
}

void nni_pool_free(nni_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n - 1; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    nni_free(p->threads);
    nni_free(p);
}

int32_t nni_pool_threads(const nni_pool *p) { return p ? p->n : 1; }

void nni_parallel_for(nni_pool *p, int64_t n, int64_t grain, nni_task_fn fn, void *arg)
{
    if (n <= 0)
        return;
    if (grain < 1)
        grain = 1;
    int64_t max_tasks = (n + grain - 1) / grain;
    if (!p || p->n == 1 || max_tasks <= 1) {
        fn(arg, 0, n, 0);
        return;
    }
    int32_t nt = p->n;
    if (max_tasks < nt)
        nt = (int32_t)max_tasks;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->n_items = n;
    p->chunk = (n + nt - 1) / nt;
    p->remaining = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->remaining > 0)
        pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
