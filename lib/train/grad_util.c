/* grad_util.c — reductions over broadcast dimensions for backward functions. */
#include <string.h>

#include "train/grad_util.h"

nn_status nni_grad_require_f32(const nn_tensor *t, const char *what)
{
    if (t->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "training needs float32 %s, got %s", what, nn_dtype_name(t->dtype));
    return NN_OK;
}

nn_status nni_grad_reduce_to(const nn_tensor *src, nn_tensor *dst, float scale)
{
    const int32_t R = src->rank, r = dst->rank;
    char a[128], b[128];
    if (r > R)
        goto bad;
    if (nni_same_shape(src, dst)) {
        const float *s = src->data;
        float *d = dst->data;
        const int64_t n = nni_tensor_count(src);
        for (int64_t i = 0; i < n; i++)
            d[i] += scale * s[i];
        return NN_OK;
    }
    /* Coalesce runs of dimensions that are all kept or all reduced; size-1
     * dimensions of the source drop out. */
    int64_t size[NN_MAX_RANK];
    bool red[NN_MAX_RANK];
    int32_t n = 0;
    for (int32_t d = 0; d < R; d++) {
        const int64_t sd = src->dims[d];
        const int64_t dd = d >= R - r ? dst->dims[d - (R - r)] : 1;
        if (dd != sd && dd != 1)
            goto bad;
        if (sd == 1)
            continue;
        const bool reduce = dd == 1;
        if (n > 0 && red[n - 1] == reduce)
            size[n - 1] *= sd;
        else
            size[n] = sd, red[n] = reduce, n++;
    }
    int64_t dst_st[NN_MAX_RANK];
    int64_t s_acc = 1, d_acc = 1;
    for (int32_t d = n - 1; d >= 0; d--) {
        s_acc *= size[d];
        dst_st[d] = red[d] ? 0 : d_acc;
        if (!red[d])
            d_acc *= size[d];
    }
    const float *s = src->data;
    float *out = dst->data;
    if (s_acc == 0)
        return NN_OK;
    if (n == 0) {
        out[0] += scale * s[0];
        return NN_OK;
    }
    /* walk all source elements in order; the innermost run is either summed
     * into one element or added element-wise */
    int64_t idx[NN_MAX_RANK] = {0};
    const int64_t inner = size[n - 1];
    const bool inner_red = red[n - 1];
    for (int64_t base = 0; base < s_acc; base += inner) {
        int64_t doff = 0;
        for (int32_t d = 0; d < n - 1; d++)
            doff += idx[d] * dst_st[d];
        const float *sp = s + base;
        if (inner_red) {
            double acc = 0.0;
            for (int64_t i = 0; i < inner; i++)
                acc += sp[i];
            out[doff] += scale * (float)acc;
        } else {
            float *dp = out + doff;
            for (int64_t i = 0; i < inner; i++)
                dp[i] += scale * sp[i];
        }
        for (int32_t d = n - 2; d >= 0; d--) {
            if (++idx[d] < size[d])
                break;
            idx[d] = 0;
        }
    }
    return NN_OK;
bad:
    return nni_error(NN_E_SHAPE, "cannot reduce a gradient of shape %s to shape %s",
                     nni_shape_str(src->rank, src->dims, a, sizeof a), nni_shape_str(dst->rank, dst->dims, b, sizeof b));
}
