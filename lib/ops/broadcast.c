/* broadcast.c — multidirectional broadcasting and the coalesced walk over it. */
#include <string.h>

#include "ops/broadcast.h"

/* Elements a worker should get at least, and the longest inner run handed to
 * a kernel at once (long runs are cut so that single rows split over threads). */
#define BCAST_GRAIN 32768
#define BCAST_PIECE 16384

nn_status nni_bcast_shape2(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *rank, int64_t *dims)
{
    int32_t r = ra > rb ? ra : rb;
    int64_t tmp[NN_MAX_RANK];
    if (r > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "rank %d exceeds %d", (int)r, NN_MAX_RANK);
    for (int32_t d = 0; d < r; d++) {
        int32_t ia = d - (r - ra), ib = d - (r - rb);
        int64_t x = ia >= 0 ? da[ia] : 1, y = ib >= 0 ? db[ib] : 1;
        if (x == y || y == 1)
            tmp[d] = x;
        else if (x == 1)
            tmp[d] = y;
        else {
            char sa[128], sb[128];
            return nni_error(NN_E_SHAPE, "shapes %s and %s cannot be broadcast together", nni_shape_str(ra, da, sa, sizeof sa),
                             nni_shape_str(rb, db, sb, sizeof sb));
        }
    }
    *rank = r;
    memcpy(dims, tmp, (size_t)r * sizeof *dims);
    return NN_OK;
}

nn_status nni_bcast_shape(int32_t n, const nn_tensor *const *t, int32_t *rank, int64_t *dims)
{
    int32_t r = 0;
    int64_t d[NN_MAX_RANK];
    for (int32_t i = 0; i < n; i++) {
        if (!t[i])
            continue;
        nn_status st = nni_bcast_shape2(r, d, t[i]->rank, t[i]->dims, &r, d);
        if (st != NN_OK)
            return st;
    }
    *rank = r;
    memcpy(dims, d, (size_t)r * sizeof *dims);
    return NN_OK;
}

nn_status nni_bcast_init(nni_bcast *b, int32_t rank, const int64_t *dims, size_t es_out, int32_t n,
                         const nn_tensor *const *in)
{
    int64_t st[NNI_BCAST_MAX_IN][NN_MAX_RANK];
    memset(b, 0, sizeof *b);
    if (n < 1 || n > NNI_BCAST_MAX_IN || rank > NN_MAX_RANK)
        return nni_error(NN_E_INTERNAL, "broadcast plan of %d inputs, rank %d", (int)n, (int)rank);
    b->n_in = n;
    b->es_out = es_out;
    if (!nni_shape_count(rank, dims, &b->count))
        return nni_error(NN_E_LIMIT, "output size overflows");
    for (int32_t i = 0; i < n; i++) {
        const nn_tensor *t = in[i];
        b->es_in[i] = nn_dtype_size(t->dtype);
        if (t->rank > rank)
            goto bad;
        int64_t s = 1;
        for (int32_t d = rank - 1; d >= 0; d--) {
            int32_t k = d - (rank - t->rank);
            int64_t x = k >= 0 ? t->dims[k] : 1;
            if (x != dims[d] && x != 1)
                goto bad;
            st[i][d] = x == 1 ? 0 : s;
            s *= x;
        }
        continue;
    bad:;
        char so[128], si[128];
        return nni_error(NN_E_SHAPE, "input of shape %s does not broadcast to %s", nni_shape_str(t->rank, t->dims, si, sizeof si),
                         nni_shape_str(rank, dims, so, sizeof so));
    }
    /* Coalesce from the innermost dim out, dropping size-1 dims and merging a
     * dim into the group inside it when every input continues contiguously
     * (or stays broadcast) across the boundary. Groups are built reversed. */
    int32_t g = 0;
    for (int32_t d = rank - 1; d >= 0; d--) {
        if (dims[d] == 1)
            continue;
        bool merge = g > 0;
        for (int32_t i = 0; i < n && merge; i++)
            merge = st[i][d] == b->st[i][g - 1] * b->dims[g - 1];
        if (merge) {
            b->dims[g - 1] *= dims[d];
            continue;
        }
        b->dims[g] = dims[d];
        for (int32_t i = 0; i < n; i++)
            b->st[i][g] = st[i][d];
        g++;
    }
    if (g == 0) { /* all dims 1 (or scalar) */
        b->dims[0] = 1;
        for (int32_t i = 0; i < n; i++)
            b->st[i][0] = 0;
        g = 1;
    }
    b->rank = g;
    for (int32_t lo = 0, hi = g - 1; lo < hi; lo++, hi--) {
        int64_t t = b->dims[lo];
        b->dims[lo] = b->dims[hi];
        b->dims[hi] = t;
        for (int32_t i = 0; i < n; i++) {
            t = b->st[i][lo];
            b->st[i][lo] = b->st[i][hi];
            b->st[i][hi] = t;
        }
    }
    return NN_OK;
}

typedef struct {
    const nni_bcast *b;
    nni_bcast_fn fn;
    void *arg;
    char *out;
    const char *in[NNI_BCAST_MAX_IN];
    int64_t piece, pieces; /* inner runs are cut into `pieces` of `piece` elements */
} walk;

static void walk_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const walk *w = arg;
    const nni_bcast *b = w->b;
    int32_t r = b->rank, n = b->n_in;
    int64_t inner = b->dims[r - 1];
    int64_t idx[NN_MAX_RANK] = {0}, off[NNI_BCAST_MAX_IN] = {0}, step[NNI_BCAST_MAX_IN];
    int64_t row = begin / w->pieces, p = begin % w->pieces;
    int64_t rem = row;
    for (int32_t d = r - 2; d >= 0; d--) {
        idx[d] = rem % b->dims[d];
        rem /= b->dims[d];
        for (int32_t i = 0; i < n; i++)
            off[i] += idx[d] * b->st[i][d];
    }
    for (int32_t i = 0; i < n; i++)
        step[i] = b->st[i][r - 1];
    for (int64_t it = begin; it < end; it++) {
        int64_t start = p * w->piece, len = inner - start < w->piece ? inner - start : w->piece;
        const void *ptr[NNI_BCAST_MAX_IN];
        for (int32_t i = 0; i < n; i++)
            ptr[i] = w->in[i] + (size_t)(off[i] + start * step[i]) * b->es_in[i];
        w->fn(w->arg, w->out + (size_t)(row * inner + start) * b->es_out, ptr, step, len);
        if (++p < w->pieces)
            continue;
        p = 0;
        row++;
        for (int32_t d = r - 2; d >= 0; d--) { /* odometer over the outer dims */
            for (int32_t i = 0; i < n; i++)
                off[i] += b->st[i][d];
            if (++idx[d] < b->dims[d])
                break;
            for (int32_t i = 0; i < n; i++)
                off[i] -= idx[d] * b->st[i][d];
            idx[d] = 0;
        }
    }
    NNI_UNUSED(tid);
}

void nni_bcast_run(const nni_bcast *b, nni_pool *pool, nni_bcast_fn fn, void *arg, void *out, const void *const *in)
{
    if (b->count == 0)
        return;
    walk w = {.b = b, .fn = fn, .arg = arg, .out = out};
    for (int32_t i = 0; i < b->n_in; i++)
        w.in[i] = in[i];
    int64_t inner = b->dims[b->rank - 1];
    w.piece = inner > BCAST_PIECE ? BCAST_PIECE : inner;
    w.pieces = (inner + w.piece - 1) / w.piece;
    int64_t items = b->count / inner * w.pieces;
    int64_t grain = BCAST_GRAIN / w.piece;
    nni_parallel_for(pool, items, grain > 0 ? grain : 1, walk_task, &w);
}

typedef struct {
    nni_flat_fn fn;
    void *arg;
} flat;

static void flat_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const flat *f = arg;
    NNI_UNUSED(tid);
    f->fn(f->arg, begin, end);
}

void nni_flat_run(nni_pool *pool, int64_t n, int64_t grain, nni_flat_fn fn, void *arg)
{
    flat f = {fn, arg};
    nni_parallel_for(pool, n, grain > 0 ? grain : BCAST_GRAIN, flat_task, &f);
}
