/* topk.c — TopK: the k largest (or smallest) elements along an axis, with their indices. */
#include <string.h>

#include "ops/movement.h"

typedef struct {
    int64_t axis, largest, sorted, k_attr; /* k_attr: opset 1 */
} topk_state;

static nn_status topk_prepare(nni_opctx *c)
{
    topk_state *s = c->state;
    nn_status st = nni_attr_int(c->node, "axis", -1, &s->axis);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "largest", 1, &s->largest);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "sorted", 1, &s->sorted);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "k", -1, &s->k_attr);
    if (st == NN_OK && c->opset < 10 && s->k_attr < 0)
        return nni_error(NN_E_INVALID_MODEL, "TopK: the 'k' attribute is required before opset 10");
    return st;
}

static nn_status topk_params(const nni_opctx *c, int32_t *axis, int64_t *k)
{
    const topk_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (!nni_is_numeric(x->dtype))
        return nni_error(NN_E_TYPE, "TopK: %s input is not supported", nn_dtype_name(x->dtype));
    nn_status st = nni_norm_axis(s->axis, x->rank, "TopK 'axis'", axis);
    if (st != NN_OK)
        return st;
    if (x->rank == 0)
        return nni_error(NN_E_SHAPE, "TopK: the input must have rank >= 1");
    if (c->opset < 10) {
        *k = s->k_attr;
    } else {
        if (!nni_has_in(c, 1))
            return nni_error(NN_E_INVALID_MODEL, "TopK needs its K input");
        int64_t n;
        if ((st = nni_read_ints(c->in[1], "TopK K", k, 1, &n)) != NN_OK)
            return st;
        if (n != 1)
            return nni_error(NN_E_SHAPE, "TopK: K must hold one value");
    }
    if (*k < 0 || *k > x->dims[*axis])
        return nni_error(NN_E_INVALID_ARG, "TopK: k = %lld is outside 0..%lld", (long long)*k, (long long)x->dims[*axis]);
    return NN_OK;
}

static nn_status topk_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    int32_t axis;
    int64_t k, dims[NN_MAX_RANK];
    nn_status st = topk_params(c, &axis, &k);
    if (st != NN_OK)
        return st;
    memcpy(dims, x->dims, sizeof dims);
    dims[axis] = k;
    st = nni_out_shape(c, 0, x->dtype, x->rank, dims);
    if (st == NN_OK)
        st = nni_out_shape(c, 1, NN_DTYPE_INT64, x->rank, dims);
    return st;
}

/* Keys of one slice: doubles for all types but 64-bit integers, which keep exact int64 keys. */
typedef struct {
    const double *fk;
    const int64_t *ik;
    bool largest;
} key_set;

/* a ranks before b; equal keys keep index order because the merge sort is stable */
static bool before(const key_set *k, int64_t a, int64_t b)
{
    if (k->ik)
        return k->largest ? k->ik[a] > k->ik[b] : k->ik[a] < k->ik[b];
    double x = k->fk[a], y = k->fk[b];
    if (x != x || y != y) /* NaN ranks above every number */
        return k->largest ? (x != x && y == y) : (x == x && y != y);
    return k->largest ? x > y : x < y;
}

static void merge_sort(int64_t *idx, int64_t *tmp, int64_t n, const key_set *k)
{
    for (int64_t width = 1; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                tmp[o++] = before(k, idx[j], idx[i]) ? idx[j++] : idx[i++];
            while (i < mid)
                tmp[o++] = idx[i++];
            while (j < hi)
                tmp[o++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

static nn_status topk_run(nni_opctx *c)
{
    const topk_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    int64_t k;
    nn_status st = topk_params(c, &axis, &k);
    if (st != NN_OK || k == 0)
        return st;
    int64_t n = x->dims[axis], inner = nni_dims_product(x->dims, axis + 1, x->rank);
    int64_t outer = nni_dims_product(x->dims, 0, axis);
    bool wide = x->dtype == NN_DTYPE_INT64 || x->dtype == NN_DTYPE_UINT64;
    uint8_t *mem = c->scratch(c, (size_t)n * (3 * sizeof(int64_t)));
    if (!mem)
        return nni_error(NN_E_NOMEM, "TopK: out of memory");
    int64_t *idx = (int64_t *)mem, *tmp = idx + n;
    double *fk = (double *)(tmp + n);
    int64_t *ik = (int64_t *)(tmp + n);
    key_set keys = {wide ? NULL : fk, wide ? ik : NULL, s->largest != 0};
    size_t es = nn_dtype_size(x->dtype);
    const uint8_t *src = x->data;
    uint8_t *vals = c->out[0] ? c->out[0]->data : NULL;
    int64_t *inds = c->out[1] ? c->out[1]->data : NULL;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * n * inner + i;
            for (int64_t j = 0; j < n; j++) {
                idx[j] = j;
                if (wide) /* uint64: flipping the top bit keeps the order in int64 */
                    ik[j] = (int64_t)((uint64_t)nni_tensor_get_i64(x, base + j * inner) ^
                                      (x->dtype == NN_DTYPE_UINT64 ? UINT64_C(1) << 63 : 0));
                else
                    fk[j] = nni_tensor_get_f64(x, base + j * inner);
            }
            merge_sort(idx, tmp, n, &keys);
            int64_t out_base = o * k * inner + i;
            for (int64_t j = 0; j < k; j++) {
                if (vals)
                    memcpy(vals + (size_t)(out_base + j * inner) * es, src + (size_t)(base + idx[j] * inner) * es, es);
                if (inds)
                    inds[out_base + j * inner] = idx[j];
            }
        }
    }
    return NN_OK;
}

const nni_op_desc nni_op_topk = {
    .name = "TopK", .min_in = 1, .max_in = 2, .min_out = 2, .max_out = 2,
    .state_size = sizeof(topk_state),
    .prepare = topk_prepare, .infer = topk_infer, .run = topk_run,
};
