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

/* Output positions o0..o1 of one row when the axis is the innermost (inner == 1). */
static void row_inner1(const resample_job *j, const float *s, float *d, int64_t o0, int64_t o1)
{
    int64_t taps = j->taps;
    if (taps == 2) {
        for (int64_t o = o0; o < o1; o++) {
            const int64_t *ix = j->idx + 2 * o;
            const float *w = j->w + 2 * o;
            d[o] = ix[0] < 0 ? j->fill : w[0] * s[ix[0]] + w[1] * s[ix[1]];
        }
        return;
    }
    for (int64_t o = o0; o < o1; o++) {
        const int64_t *ix = j->idx + o * taps;
        const float *w = j->w + o * taps;
        float acc = 0;
        for (int64_t t = 0; t < taps; t++)
            acc += w[t] * s[ix[t]];
        d[o] = ix[0] < 0 ? j->fill : acc;
    }
}

/* Output position o of one row: `inner` contiguous values. */
static void row_position(const resample_job *j, const float *s, float *d, int64_t o)
{
    int64_t inner = j->inner, taps = j->taps;
    const int64_t *ix = j->idx + o * taps;
    const float *w = j->w + o * taps;
    if (ix[0] < 0) {
        for (int64_t i = 0; i < inner; i++)
            d[i] = j->fill;
        return;
    }
    const float *s0 = s + ix[0] * inner;
    float w0 = w[0];
    for (int64_t i = 0; i < inner; i++)
        d[i] = w0 * s0[i];
    for (int64_t t = 1; t < taps; t++) {
        if (w[t] == 0)
            continue;
        const float *st = s + ix[t] * inner;
        float wt = w[t];
        for (int64_t i = 0; i < inner; i++)
            d[i] += wt * st[i];
    }
}

/* Items are (outer, o) pairs: one output row of `inner` values each. */
static void resample_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const resample_job *j = arg;
    for (int64_t it = begin; it < end;) {
        int64_t b = it / j->n_out, o0 = it % j->n_out;
        int64_t o1 = o0 + (end - it) < j->n_out ? o0 + (end - it) : j->n_out;
        const float *s = j->src + b * j->n_in * j->inner;
        float *d = j->dst + b * j->n_out * j->inner;
        if (j->inner == 1)
            row_inner1(j, s, d, o0, o1);
        else
            for (int64_t o = o0; o < o1; o++)
                row_position(j, s, d + o * j->inner, o);
        it += o1 - o0;
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
