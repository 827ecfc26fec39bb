/* roi_align.c — RoiAlign: bilinear-sampled average or max pooling of regions of a feature map. */
#include <math.h>
#include <string.h>

#include "ops/movement.h"

#define MAX_GRID 4096 /* samples per bin side; more means a nonsensical region */

typedef struct {
    bool max_mode, half_pixel;
    int64_t out_h, out_w, sampling_ratio;
    float spatial_scale;
} roi_state;

static nn_status roi_prepare(nni_opctx *c)
{
    roi_state *s = c->state;
    const char *mode, *ct;
    nn_status st = nni_attr_string(c->node, "mode", "avg", &mode);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "coordinate_transformation_mode", c->opset >= 16 ? "half_pixel" : "output_half_pixel",
                             &ct);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "output_height", 1, &s->out_h);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "output_width", 1, &s->out_w);
    if (st == NN_OK)
        st = nni_attr_int(c->node, "sampling_ratio", 0, &s->sampling_ratio);
    if (st == NN_OK)
        st = nni_attr_float(c->node, "spatial_scale", 1.0f, &s->spatial_scale);
    if (st != NN_OK)
        return st;
    if (strcmp(mode, "max") == 0)
        s->max_mode = true;
    else if (strcmp(mode, "avg") != 0)
        return nni_error(NN_E_INVALID_MODEL, "RoiAlign: unknown 'mode' \"%s\"", mode);
    if (strcmp(ct, "half_pixel") == 0)
        s->half_pixel = true;
    else if (strcmp(ct, "output_half_pixel") != 0)
        return nni_error(NN_E_INVALID_MODEL, "RoiAlign: unknown 'coordinate_transformation_mode' \"%s\"", ct);
    if (s->out_h < 1 || s->out_w < 1 || s->out_h > 65536 || s->out_w > 65536)
        return nni_error(NN_E_INVALID_MODEL, "RoiAlign: output size %lldx%lld is invalid", (long long)s->out_h,
                         (long long)s->out_w);
    if (s->sampling_ratio < 0 || s->sampling_ratio > MAX_GRID)
        return nni_error(NN_E_INVALID_MODEL, "RoiAlign: 'sampling_ratio' %lld is invalid", (long long)s->sampling_ratio);
    return NN_OK;
}

static nn_status roi_infer(nni_opctx *c)
{
    const roi_state *s = c->state;
    const nn_tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    if (x->dtype != NN_DTYPE_FLOAT32 || rois->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_TYPE, "RoiAlign: X and rois must be float32");
    if (bi->dtype != NN_DTYPE_INT64 && bi->dtype != NN_DTYPE_INT32)
        return nni_error(NN_E_TYPE, "RoiAlign: batch_indices must be int64");
    if (x->rank != 4 || rois->rank != 2 || rois->dims[1] != 4 || bi->rank != 1 || bi->dims[0] != rois->dims[0]) {
        char b0[160], b1[160];
        return nni_error(NN_E_SHAPE, "RoiAlign: X %s must be NCHW, rois %s [R,4], batch_indices [R]",
                         nni_shape_str(x->rank, x->dims, b0, sizeof b0), nni_shape_str(rois->rank, rois->dims, b1, sizeof b1));
    }
    int64_t dims[4] = {rois->dims[0], x->dims[1], s->out_h, s->out_w};
    return nni_out_shape(c, 0, x->dtype, 4, dims);
}

typedef struct {
    int64_t pos[4];
    float w[4];
} sample;

static nn_status roi_run(nni_opctx *c)
{
    const roi_state *s = c->state;
    const nn_tensor *x = c->in[0], *rois = c->in[1], *bi = c->in[2];
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], R = rois->dims[0];
    int64_t oh = s->out_h, ow = s->out_w;
    const float *rd = rois->data, *xd = x->data;
    float *y = c->out[0]->data;
    sample *buf = NULL;
    size_t cap = 0;
    nn_status st = NN_OK;
    for (int64_t r = 0; r < R && st == NN_OK; r++) {
        int64_t b = nni_tensor_get_i64(bi, r);
        if (b < 0 || b >= N) {
            st = nni_error(NN_E_INVALID_ARG, "RoiAlign: batch index %lld is outside 0..%lld", (long long)b, (long long)N - 1);
            break;
        }
        float off = s->half_pixel ? 0.5f : 0.0f;
        float sw = rd[4 * r] * s->spatial_scale - off, sh = rd[4 * r + 1] * s->spatial_scale - off;
        float ew = rd[4 * r + 2] * s->spatial_scale - off, eh = rd[4 * r + 3] * s->spatial_scale - off;
        float rw = ew - sw, rh = eh - sh;
        if (!s->half_pixel) {
            rw = fmaxf(rw, 1.0f);
            rh = fmaxf(rh, 1.0f);
        }
        float bh = rh / (float)oh, bw = rw / (float)ow;
        double gh_d = s->sampling_ratio > 0 ? (double)s->sampling_ratio : ceil((double)rh / (double)oh);
        double gw_d = s->sampling_ratio > 0 ? (double)s->sampling_ratio : ceil((double)rw / (double)ow);
        if (!(gh_d <= MAX_GRID && gw_d <= MAX_GRID && isfinite(sw) && isfinite(sh))) {
            st = nni_error(NN_E_INVALID_ARG, "RoiAlign: region %lld is invalid or too large", (long long)r);
            break;
        }
        int64_t gh = gh_d > 0 ? (int64_t)gh_d : 0, gw = gw_d > 0 ? (int64_t)gw_d : 0;
        float count = (float)(gh * gw > 1 ? gh * gw : 1);
        size_t need = (size_t)(oh * ow * gh * gw);
        if (need > cap) {
            nni_free(buf);
            cap = need;
            if (!(buf = nni_malloc(cap * sizeof *buf))) {
                st = nni_error(NN_E_NOMEM, "RoiAlign: out of memory");
                break;
            }
        }
        /* sample positions and weights, shared by all channels */
        sample *sp = buf;
        for (int64_t ph = 0; ph < oh; ph++)
            for (int64_t pw = 0; pw < ow; pw++)
                for (int64_t iy = 0; iy < gh; iy++) {
                    float yy = sh + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)gh;
                    for (int64_t ix = 0; ix < gw; ix++, sp++) {
                        float xx = sw + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)gw;
                        memset(sp, 0, sizeof *sp);
                        if (yy < -1.0f || yy > (float)H || xx < -1.0f || xx > (float)W)
                            continue;
                        float fy = fmaxf(yy, 0), fx = fmaxf(xx, 0);
                        int64_t yl = (int64_t)fy, xl = (int64_t)fx, yh, xh;
                        if (yl >= H - 1) {
                            yh = yl = H - 1;
                            fy = (float)yl;
                        } else {
                            yh = yl + 1;
                        }
                        if (xl >= W - 1) {
                            xh = xl = W - 1;
                            fx = (float)xl;
                        } else {
                            xh = xl + 1;
                        }
                        float ly = fy - (float)yl, lx = fx - (float)xl, hy = 1 - ly, hx = 1 - lx;
                        sp->pos[0] = yl * W + xl;
                        sp->pos[1] = yl * W + xh;
                        sp->pos[2] = yh * W + xl;
                        sp->pos[3] = yh * W + xh;
                        sp->w[0] = hy * hx;
                        sp->w[1] = hy * lx;
                        sp->w[2] = ly * hx;
                        sp->w[3] = ly * lx;
                    }
                }
        for (int64_t ch = 0; ch < C; ch++) {
            const float *plane = xd + (b * C + ch) * H * W;
            float *o = y + ((r * C + ch) * oh) * ow;
            sp = buf;
            for (int64_t p = 0; p < oh * ow; p++) {
                float acc = 0;
                for (int64_t g = 0; g < gh * gw; g++, sp++) {
                    if (s->max_mode) {
                        float v = fmaxf(fmaxf(sp->w[0] * plane[sp->pos[0]], sp->w[1] * plane[sp->pos[1]]),
                                        fmaxf(sp->w[2] * plane[sp->pos[2]], sp->w[3] * plane[sp->pos[3]]));
                        acc = g == 0 ? v : fmaxf(acc, v);
                    } else {
                        acc += sp->w[0] * plane[sp->pos[0]] + sp->w[1] * plane[sp->pos[1]] +
                               sp->w[2] * plane[sp->pos[2]] + sp->w[3] * plane[sp->pos[3]];
                    }
                }
                o[p] = s->max_mode ? acc : acc / count;
            }
        }
    }
    nni_free(buf);
    return st;
}

const nni_op_desc nni_op_roi_align = {
    .name = "RoiAlign", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(roi_state),
    .prepare = roi_prepare, .infer = roi_infer, .run = roi_run,
};
