/* resample.c — separable interpolation pass along one axis (Resize linear/cubic). */
#include "kernels/resample.h"

typedef struct {
    const float *src;
    float *dst;
    int64_t n_in, n_out, inner;
    int32_t taps;
    const int64_t *idx;
    const float *w;
    float fill;
} resample_job;

/* Items are (outer, o) pairs: one output row of `inner` values each. */
static void resample_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const resample_job *j = arg;
    int64_t inner = j->inner;
    for (int64_t it = begin; it < end; it++) {
        int64_t b = it / j->n_out, o = it % j->n_out;
        float *d = j->dst + it * inner;
        const int64_t *ix = j->idx + o * j->taps;
        const float *w = j->w + o * j->taps;
        const float *s = j->src + b * j->n_in * inner;
        if (ix[0] < 0) {
            for (int64_t i = 0; i < inner; i++)
                d[i] = j->fill;
            continue;
        }
        if (inner == 1) {
            float acc = 0;
            for (int32_t t = 0; t < j->taps; t++)
                acc += w[t] * s[ix[t]];
            d[0] = acc;
            continue;
        }
        const float *s0 = s + ix[0] * inner;
        for (int64_t i = 0; i < inner; i++)
            d[i] = w[0] * s0[i];
        for (int32_t t = 1; t < j->taps; t++) {
            if (w[t] == 0)
                continue;
            const float *st = s + ix[t] * inner;
            float wt = w[t];
            for (int64_t i = 0; i < inner; i++)
                d[i] += wt * st[i];
        }
    }
}

void nni_resample_axis(const float *src, float *dst, int64_t outer, int64_t n_in, int64_t n_out, int64_t inner,
                       int32_t taps, const int64_t *idx, const float *w, float fill, nni_pool *pool)
{
    resample_job j = {src, dst, n_in, n_out, inner, taps, idx, w, fill};
    int64_t items = outer * n_out;
    int64_t work = inner * taps;
    int64_t grain = work >= 8192 ? 1 : 8192 / work;
    nni_parallel_for(items * work >= 65536 ? pool : NULL, items, grain, resample_task, &j);
}
