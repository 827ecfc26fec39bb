/* grad_util.c — broadcast-gradient reduction and small helpers shared by the backward functions. */
#include <string.h>

#include "ops/broadcast.h"
#include "train/grad_util.h"

/*
 * The source walked as coalesced segments (from nni_bcast_init): each is
 * kept (dst has it) or reduced (dst broadcasts along it). The innermost
 * segment is handled as a contiguous run; the others by decomposition of an
 * item index (kept) or a combination index (reduced).
 */
typedef struct {
    const float *src;
    float *dst;
    int32_t nk, nr;                             /* outer kept / reduced segments */
    int64_t klen[NN_MAX_RANK], kstr[NN_MAX_RANK]; /* source strides */
    int64_t rlen[NN_MAX_RANK], rstr[NN_MAX_RANK];
    int64_t inner;
    bool inner_red;
    int64_t combos;
} unb_job;

static inline int64_t seg_off(int32_t n, const int64_t *len, const int64_t *str, int64_t idx)
{
    int64_t off = 0;
    for (int32_t k = n - 1; k >= 0; k--) {
        off += (idx % len[k]) * str[k];
        idx /= len[k];
    }
    return off;
}

static void unb_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const unb_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t e = begin; e < end; e++) {
        const int64_t base = seg_off(j->nk, j->klen, j->kstr, e);
        if (j->inner_red) {
            double acc = 0.0;
            for (int64_t r = 0; r < j->combos; r++) {
                const float *s = j->src + base + seg_off(j->nr, j->rlen, j->rstr, r);
                float part[8] = {0};
                int64_t i = 0;
                for (; i + 8 <= j->inner; i += 8)
                    for (int q = 0; q < 8; q++)
                        part[q] += s[i + q];
                for (; i < j->inner; i++)
                    acc += s[i];
                for (int q = 0; q < 8; q++)
                    acc += part[q];
            }
            j->dst[e] += (float)acc;
        } else {
            float *d = j->dst + e * j->inner;
            for (int64_t r = 0; r < j->combos; r++) {
                const float *s = j->src + base + seg_off(j->nr, j->rlen, j->rstr, r);
                for (int64_t i = 0; i < j->inner; i++)
                    d[i] += s[i];
            }
        }
    }
}

nn_status nni_grad_unbroadcast(nni_pool *pool, const float *src, int32_t rank, const int64_t *dims, nn_tensor *dst)
{
    nn_status st = nni_grad_require_f32(dst, "gradient");
    if (st != NN_OK)
        return st;
    nni_bcast plan;
    const nn_tensor *ins[1] = {dst};
    if ((st = nni_bcast_init(&plan, rank, dims, sizeof(float), 1, ins)) != NN_OK)
        return st;
    if (plan.count == 0)
        return NN_OK;
    const int64_t dcount = nni_tensor_count(dst);
    if (dcount == plan.count) {
        nni_grad_add(pool, dst->data, src, plan.count);
        return NN_OK;
    }
    unb_job j = {.src = src, .dst = dst->data, .combos = 1};
    int64_t sstr[NN_MAX_RANK], s = 1;
    for (int32_t d = plan.rank - 1; d >= 0; d--) {
        sstr[d] = s;
        s *= plan.dims[d];
    }
    const int32_t last = plan.rank - 1;
    j.inner = plan.dims[last];
    j.inner_red = plan.st[0][last] == 0;
    for (int32_t d = 0; d < last; d++) {
        if (plan.st[0][d] == 0) {
            j.rlen[j.nr] = plan.dims[d];
            j.rstr[j.nr++] = sstr[d];
            j.combos *= plan.dims[d];
        } else {
            j.klen[j.nk] = plan.dims[d];
            j.kstr[j.nk++] = sstr[d];
        }
    }
    const int64_t items = j.inner_red ? dcount : dcount / j.inner;
    const int64_t per_item = plan.count / (items ? items : 1);
    nni_parallel_for(pool, items, per_item >= 16384 ? 1 : 16384 / per_item, unb_task, &j);
    return NN_OK;
}

typedef struct {
    float *dst;
    const float *src;
    float a;
} axpy_job;

static void add_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const axpy_job *j = arg;
    NNI_UNUSED(tid);
    float *restrict d = j->dst;
    const float *restrict s = j->src;
    for (int64_t i = begin; i < end; i++)
        d[i] += s[i];
}

static void axpy_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const axpy_job *j = arg;
    NNI_UNUSED(tid);
    float *restrict d = j->dst;
    const float *restrict s = j->src;
    const float a = j->a;
    for (int64_t i = begin; i < end; i++)
        d[i] += a * s[i];
}

void nni_grad_add(nni_pool *pool, float *dst, const float *src, int64_t n)
{
    axpy_job j = {dst, src, 1.0f};
    if (n > 0)
        nni_parallel_for(pool, n, 65536, add_task, &j);
}

void nni_grad_axpy(nni_pool *pool, float *dst, float a, const float *src, int64_t n)
{
    axpy_job j = {dst, src, a};
    if (n > 0)
        nni_parallel_for(pool, n, 65536, axpy_task, &j);
}

nn_status nni_grad_require_f32(const nn_tensor *t, const char *what)
{
    if (t && t->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "backward on %s %s is not supported (float32 only)", nn_dtype_name(t->dtype),
                         what);
    return NN_OK;
}

nn_status nni_grad_check_f32(const nni_gradctx *g)
{
    nn_status st = NN_OK;
    for (int32_t k = 0; k < g->fwd.n_out && st == NN_OK; k++)
        st = nni_grad_require_f32(nni_grad_dout(g, k), "output gradient");
    for (int32_t i = 0; i < g->fwd.n_in && st == NN_OK; i++)
        st = nni_grad_require_f32(nni_grad_din(g, i), "input gradient");
    if (st == NN_OK)
        st = nni_grad_require_f32(g->fwd.in[0], "input");
    if (st == NN_OK && g->fwd.n_out > 0)
        st = nni_grad_require_f32(g->fwd.out[0], "output");
    return st;
}

void *nni_grad_scratch(nni_gradctx *g, size_t bytes)
{
    if (!g->fwd.scratch)
        return NULL;
    return g->fwd.scratch(&g->fwd, bytes ? bytes : 1);
}
