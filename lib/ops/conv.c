/*
 * conv.c — Conv and ConvTranspose (float32, 1-D to 6-D spatial).
 * Conv: 1x1 stride-1 unpadded as one GEMM per group, one input channel per
 * group (depthwise) as a direct loop for 1-D/2-D, otherwise im2col + GEMM in
 * column chunks. ConvTranspose: GEMM into columns, then col2im.
 */
#include <string.h>

#include "kernels/conv.h"
#include "kernels/optim.h"
#include "kernels/sgemm.h"
#include "kernels/winograd.h"
#include "ops/fusion.h"
#include "ops/op.h"
#include "ops/resolve.h"

#define MAX_ND NNI_CONV_MAX_DIMS
/* im2col columns are produced in chunks of at most this many floats (512 KiB: stays in L2). */
#define COL_BUDGET ((int64_t)1 << 17)
/* the same when one chunk is split over all threads (floats) */
#define COL_BUDGET_SHARED ((int64_t)1 << 20)
/* ConvTranspose columns are scattered back by col2im: larger chunks keep its GEMM wide. */
#define COLT_BUDGET ((int64_t)1 << 20)

typedef enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID } pad_mode;

typedef struct {
    bool transpose;
    int64_t group;
    pad_mode auto_pad;
    int32_t n_kernel, n_strides, n_dil, n_pads, n_outpad, n_outshape; /* 0 = attribute absent */
    int64_t kernel[MAX_ND], strides[MAX_ND], dil[MAX_ND], pads[2 * MAX_ND], outpad[MAX_ND];
    int64_t outshape[MAX_ND + 2];
} conv_state;

typedef nni_conv_shape conv_shape;

static nn_status read_ints(const nni_node *n, const char *name, int32_t max, int64_t *dst, int32_t *count,
                           int64_t min_value)
{
    const int64_t max_value = (int64_t)1 << 30; /* keeps every size computation far from overflow */
    const int64_t *v;
    size_t cnt;
    nn_status st = nni_attr_ints(n, name, &v, &cnt);
    if (st != NN_OK)
        return st;
    if (cnt > (size_t)max)
        return nni_error(NN_E_UNSUPPORTED, "attribute '%s' has %zu values; at most %d are supported", name, cnt,
                         (int)max);
    for (size_t i = 0; i < cnt; i++) {
        if (v[i] < min_value || (v[i] > max_value && strcmp(name, "output_shape") != 0))
            return nni_error(NN_E_INVALID_MODEL, "attribute '%s' value %lld is out of range [%lld, %lld]", name,
                             (long long)v[i], (long long)min_value, (long long)max_value);
        dst[i] = v[i];
    }
    *count = (int32_t)cnt;
    return NN_OK;
}

static nn_status conv_prepare_common(nni_opctx *c, bool transpose)
{
    conv_state *s = c->state;
    const nni_node *n = c->node;
    nn_status st;
    s->transpose = transpose;
    if ((st = nni_attr_int(n, "group", 1, &s->group)) != NN_OK)
        return st;
    if (s->group < 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'group' must be >= 1, got %lld", (long long)s->group);
    const char *ap;
    if ((st = nni_attr_string(n, "auto_pad", "NOTSET", &ap)) != NN_OK)
        return st;
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0')
        s->auto_pad = PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        s->auto_pad = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        s->auto_pad = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        s->auto_pad = PAD_VALID;
    else
        return nni_error(NN_E_INVALID_MODEL, "attribute 'auto_pad' has unknown value '%s'", ap);
    if ((st = read_ints(n, "kernel_shape", MAX_ND, s->kernel, &s->n_kernel, 1)) != NN_OK ||
        (st = read_ints(n, "strides", MAX_ND, s->strides, &s->n_strides, 1)) != NN_OK ||
        (st = read_ints(n, "dilations", MAX_ND, s->dil, &s->n_dil, 1)) != NN_OK ||
        (st = read_ints(n, "pads", 2 * MAX_ND, s->pads, &s->n_pads, 0)) != NN_OK)
        return st;
    if (s->n_pads % 2)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'pads' needs an even number of values, got %d", (int)s->n_pads);
    if (transpose) {
        if ((st = read_ints(n, "output_padding", MAX_ND, s->outpad, &s->n_outpad, 0)) != NN_OK ||
            (st = read_ints(n, "output_shape", MAX_ND + 2, s->outshape, &s->n_outshape, 1)) != NN_OK)
            return st;
    }
    /* lengths that must agree with each other (the spatial rank is checked in infer) */
    int32_t nd = s->n_kernel ? s->n_kernel : s->n_strides ? s->n_strides : s->n_dil ? s->n_dil : s->n_pads / 2;
    if ((s->n_strides && s->n_strides != nd) || (s->n_dil && s->n_dil != nd) || (s->n_pads && s->n_pads != 2 * nd))
        return nni_error(NN_E_INVALID_MODEL,
                         "attributes 'kernel_shape', 'strides', 'dilations' and 'pads' disagree on the number of "
                         "spatial dimensions");
    return NN_OK;
}

static nn_status conv_prepare(nni_opctx *c) { return conv_prepare_common(c, false); }
static nn_status convt_prepare(nni_opctx *c) { return conv_prepare_common(c, true); }

/*
 * Leading share of `total` padding (SAME_UPPER puts the odd one at the end).
 * Floor division, as in ONNX's definition: a transposed convolution asked for
 * an output larger than its natural size has negative total padding.
 */
static int64_t lead_pad(pad_mode m, int64_t total)
{
    int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
    return m == PAD_SAME_UPPER ? half : total - half;
}

static nn_status conv_resolve(const nni_opctx *c, conv_shape *sh)
{
    const conv_state *s = c->state;
    const nn_tensor *x = c->in[0], *w = c->in[1];
    memset(sh, 0, sizeof *sh);
    if (x->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "input X is %s; only float32 is supported", nn_dtype_name(x->dtype));
    if (w->dtype != x->dtype)
        return nni_error(NN_E_TYPE, "input W is %s but X is %s", nn_dtype_name(w->dtype), nn_dtype_name(x->dtype));
    if (x->rank < 3 || x->rank > MAX_ND + 2)
        return nni_error(NN_E_SHAPE, "input X must have rank 3 to %d (N, C, spatial...), got rank %d", MAX_ND + 2,
                         (int)x->rank);
    if (w->rank != x->rank)
        return nni_error(NN_E_SHAPE, "input W has rank %d, expected %d like X", (int)w->rank, (int)x->rank);
    const int32_t nd = x->rank - 2;
    if ((s->n_kernel && s->n_kernel != nd) || (s->n_strides && s->n_strides != nd) || (s->n_dil && s->n_dil != nd) ||
        (s->n_pads && s->n_pads != 2 * nd) || (s->n_outpad && s->n_outpad != nd))
        return nni_error(NN_E_INVALID_MODEL, "attributes do not match the %d spatial dimensions of X", (int)nd);
    const int64_t group = s->group;
    sh->rank = x->rank;
    sh->N = x->dims[0];
    sh->C = x->dims[1];
    if (sh->C % group)
        return nni_error(NN_E_SHAPE, "X has %lld channels, not a multiple of group %lld", (long long)sh->C,
                         (long long)group);
    sh->Cg = sh->C / group;
    if (sh->Cg == 0) /* nothing to sum over (found by fuzz_onnx_graph: the kernels divide by it) */
        return nni_error(NN_E_SHAPE, "X has no channels");
    if (!s->transpose) {
        sh->M = w->dims[0];
        if (w->dims[1] != sh->Cg)
            return nni_error(NN_E_SHAPE, "W has %lld input channels, expected %lld (X channels / group)",
                             (long long)w->dims[1], (long long)sh->Cg);
        if (sh->M % group)
            return nni_error(NN_E_SHAPE, "W has %lld output channels, not a multiple of group %lld", (long long)sh->M,
                             (long long)group);
        sh->Mg = sh->M / group;
    } else {
        if (w->dims[0] != sh->C)
            return nni_error(NN_E_SHAPE, "W has %lld input channels, expected %lld like X", (long long)w->dims[0],
                             (long long)sh->C);
        sh->Mg = w->dims[1];
        if (nni_mul_overflow_i64(sh->Mg, group, &sh->M))
            return nni_error(NN_E_LIMIT, "output channel count overflows");
    }
    if (nni_has_in(c, 2)) {
        const nn_tensor *b = c->in[2];
        if (b->dtype != x->dtype)
            return nni_error(NN_E_TYPE, "input B is %s but X is %s", nn_dtype_name(b->dtype), nn_dtype_name(x->dtype));
        if (b->rank != 1 || b->dims[0] != sh->M)
            return nni_error(NN_E_SHAPE, "input B must be 1-D of %lld elements", (long long)sh->M);
    }
    nni_conv_geom *g = &sh->g;
    g->nd = nd;
    sh->kvol = 1;
    sh->xvol = sh->yvol = 1;
    sh->ydims[0] = sh->N;
    sh->ydims[1] = sh->M;
    for (int32_t d = 0; d < nd; d++) {
        int64_t k = w->dims[2 + d];
        if (s->n_kernel && s->kernel[d] != k)
            return nni_error(NN_E_SHAPE, "attribute 'kernel_shape' (%lld in dim %d) does not match W (%lld)",
                             (long long)s->kernel[d], (int)d, (long long)k);
        if (k < 1)
            return nni_error(NN_E_SHAPE, "W has an empty kernel dimension");
        int64_t stride = s->n_strides ? s->strides[d] : 1, dil = s->n_dil ? s->dil[d] : 1;
        int64_t in = x->dims[2 + d], ek, out, pb, pe;
        if (in < 1) /* an empty plane (found by fuzz_onnx: the depthwise kernels divide by its size) */
            return nni_error(NN_E_SHAPE, "X has an empty spatial dimension %d", (int)d);
        if (nni_mul_overflow_i64(k - 1, dil, &ek) || nni_add_overflow_i64(ek, 1, &ek) || ek > ((int64_t)1 << 40) ||
            stride > ((int64_t)1 << 40) || in > ((int64_t)1 << 40))
            return nni_error(NN_E_LIMIT, "kernel, stride or dilation too large in dim %d", (int)d);
        pb = s->n_pads ? s->pads[d] : 0;
        pe = s->n_pads ? s->pads[d + nd] : 0;
        if (!s->transpose) {
            if (s->auto_pad == PAD_SAME_UPPER || s->auto_pad == PAD_SAME_LOWER) {
                out = (in + stride - 1) / stride;
                int64_t total = (out - 1) * stride + ek - in;
                if (total < 0)
                    total = 0;
                pb = lead_pad(s->auto_pad, total);
                pe = total - pb;
            } else {
                if (s->auto_pad == PAD_VALID)
                    pb = pe = 0;
                if (in + pb + pe < ek)
                    return nni_error(NN_E_SHAPE, "kernel (%lld with dilation) is larger than padded input (%lld) in dim %d",
                                     (long long)ek, (long long)(in + pb + pe), (int)d);
                out = (in + pb + pe - ek) / stride + 1;
            }
            g->in[d] = in;
            g->out[d] = out;
        } else {
            int64_t op = s->n_outpad ? s->outpad[d] : 0;
            int64_t full, same; /* output size with no padding; input size * stride */
            if (nni_mul_overflow_i64(stride, in - 1, &full) || nni_add_overflow_i64(full, op + ek, &full) ||
                nni_mul_overflow_i64(stride, in, &same))
                return nni_error(NN_E_LIMIT, "output size overflows in dim %d", (int)d);
            if (s->n_outshape || s->auto_pad == PAD_SAME_UPPER || s->auto_pad == PAD_SAME_LOWER) {
                if (s->n_outshape && s->n_outshape != nd && s->n_outshape != nd + 2)
                    return nni_error(NN_E_INVALID_MODEL, "attribute 'output_shape' has %d values for %d spatial dims",
                                     (int)s->n_outshape, (int)nd);
                out = s->n_outshape ? s->outshape[s->n_outshape - nd + d] : same;
                int64_t total = full - out;
                pb = lead_pad(s->auto_pad == PAD_SAME_UPPER ? PAD_SAME_UPPER : PAD_SAME_LOWER, total);
                pe = total - pb;
            } else {
                if (s->auto_pad == PAD_VALID)
                    pb = pe = 0;
                out = full - pb - pe;
            }
            if (out < 1)
                return nni_error(NN_E_SHAPE, "output spatial dim %d would be %lld", (int)d, (long long)out);
            g->in[d] = out;
            g->out[d] = in;
        }
        g->kernel[d] = k;
        g->stride[d] = stride;
        g->dil[d] = dil;
        g->pad[d] = pb;
        sh->ydims[2 + d] = out;
        if (nni_mul_overflow_i64(sh->kvol, k, &sh->kvol) || nni_mul_overflow_i64(sh->xvol, in, &sh->xvol) ||
            nni_mul_overflow_i64(sh->yvol, out, &sh->yvol))
            return nni_error(NN_E_LIMIT, "convolution sizes overflow");
    }
    int64_t kg;
    if (nni_mul_overflow_i64(s->transpose ? sh->Mg : sh->Cg, sh->kvol, &kg) || kg > ((int64_t)1 << 40))
        return nni_error(NN_E_LIMIT, "convolution sizes overflow");
    return NN_OK;
}

static nn_status conv_infer(nni_opctx *c)
{
    conv_shape sh;
    nn_status st = conv_resolve(c, &sh);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[0]->dtype, sh.rank, sh.ydims);
}

static uint64_t conv_macs(const nni_opctx *c)
{
    conv_shape sh;
    if (conv_resolve(c, &sh) != NN_OK)
        return 0;
    const conv_state *s = c->state;
    /* Conv: each output element sums Cg*kvol products; ConvTranspose: each input element feeds Mg*kvol outputs */
    if (!s->transpose)
        return (uint64_t)sh.N * (uint64_t)sh.M * (uint64_t)sh.yvol * (uint64_t)sh.Cg * (uint64_t)sh.kvol;
    return (uint64_t)sh.N * (uint64_t)sh.C * (uint64_t)sh.xvol * (uint64_t)sh.Mg * (uint64_t)sh.kvol;
}

static void fill_bias(float *y, int64_t planes, int64_t vol, const float *bias)
{
    for (int64_t m = 0; m < planes; m++) {
        float v = bias ? bias[m] : 0.0f;
        float *p = y + m * vol;
        if (v == 0.0f)
            memset(p, 0, (size_t)vol * sizeof(float));
        else
            for (int64_t i = 0; i < vol; i++)
                p[i] = v;
    }
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/*
 * A Conv is split into units: (batch, group, column chunk). A unit fills
 * Y_g[:, p0:p1] = W_g * im2col(X_g)[:, p0:p1] (+ bias). Columns are chunked
 * so a unit's im2col panels stay in L2 until its GEMM reads them; with
 * several threads, whole units run in parallel when there are enough of
 * them, otherwise the units run in turn and each GEMM is split.
 */
typedef struct {
    const conv_shape *sh;
    const float *x, *w;
    nni_epilogue epi; /* bias, fused BatchNormalization/residual/activation; rows = output channels */
    float *y;
    int64_t group;
    enum { CONV_POINTWISE, CONV_PACKED, CONV_PLAIN } mode;
    int64_t Kg, nr;
    int64_t chunk, n_chunks;     /* columns per unit, units per (batch, group) */
    size_t col_bytes, ws_bytes;  /* scratch per unit in flight */
    char *scratch;
} conv_plan;

static void conv_unit(const conv_plan *p, int64_t u, char *scratch, nni_pool *pool)
{
    const conv_shape *sh = p->sh;
    int64_t ci = u % p->n_chunks, gi = u / p->n_chunks % p->group, n = u / p->n_chunks / p->group;
    int64_t p0 = ci * p->chunk, p1 = p0 + p->chunk < sh->yvol ? p0 + p->chunk : sh->yvol;
    const float *xg = p->x + (n * sh->C + gi * sh->Cg) * sh->xvol;
    const float *wg = p->w + gi * sh->Mg * p->Kg;
    float *yg = p->y + (n * sh->M + gi * sh->Mg) * sh->yvol + p0;
    float *col = (float *)scratch;
    void *ws = scratch + p->col_bytes;
    const float beta = 0.0f;
    /* the epilogue of this unit's block of Y: rows are its group's channels, columns start at p0 */
    nni_epilogue e = p->epi;
    if (e.row_scale)
        e.row_scale += gi * sh->Mg;
    if (e.row_bias)
        e.row_bias += gi * sh->Mg;
    if (e.residual)
        e.residual += (n * sh->M + gi * sh->Mg) * sh->yvol + p0;
    e.ldr = sh->yvol;
    switch (p->mode) {
    case CONV_POINTWISE:
        nni_sgemm_ws_epi(false, false, sh->Mg, p1 - p0, sh->Cg, 1.0f, wg, sh->Cg, xg + p0, sh->xvol, beta, yg,
                         sh->yvol, &e, ws, pool);
        break;
    case CONV_PACKED:
        nni_im2col_packed(&sh->g, sh->Cg, xg, p0, p1, p->nr, col, pool);
        nni_sgemm_packed_ws_epi(false, sh->Mg, p1 - p0, p->Kg, 1.0f, wg, p->Kg, col, beta, yg, sh->yvol, &e, ws,
                                pool);
        break;
    case CONV_PLAIN:
        nni_im2col(&sh->g, sh->Cg, xg, p0, p1, col, pool);
        nni_sgemm_ws_epi(false, false, sh->Mg, p1 - p0, p->Kg, 1.0f, wg, p->Kg, col, p1 - p0, beta, yg, sh->yvol,
                         &e, ws, pool);
        break;
    }
}

static void conv_unit_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const conv_plan *p = arg;
    char *scratch = p->scratch + (size_t)tid * (p->col_bytes + p->ws_bytes);
    for (int64_t u = begin; u < end; u++)
        conv_unit(p, u, scratch, NULL);
}

/* Split columns into n chunks of whole panels. */
static void set_chunks(conv_plan *p, int64_t n)
{
    int64_t yvol = p->sh->yvol;
    p->chunk = (yvol + n - 1) / n;
    p->chunk = (p->chunk + p->nr - 1) / p->nr * p->nr;
    if (p->chunk > yvol)
        p->chunk = yvol;
    p->n_chunks = (yvol + p->chunk - 1) / p->chunk;
}

/*
 * Winograd F(4x4, 3x3) for 3x3 stride-1 undilated single-group convolutions
 * with enough channels and tiles to keep its GEMMs efficient (below that,
 * im2col wins). Needs the model's memo for the transformed filters, so W must be a model constant.
 */
static bool g_no_fast_paths; /* test hook */

void nni_conv_fast_paths(bool on) { g_no_fast_paths = !on; }

static bool use_winograd(const nni_opctx *c, const conv_shape *sh)
{
    const conv_state *s = c->state;
    const nni_conv_geom *g = &sh->g;
    if (!c->memo || (c->varying_in & 2) || g_no_fast_paths || s->group != 1 || g->nd != 2 ||
        !nni_winograd_supported())
        return false;
    for (int32_t d = 0; d < 2; d++)
        if (g->kernel[d] != 3 || g->stride[d] != 1 || g->dil[d] != 1)
            return false;
    const int64_t tiles = ((g->out[0] + 3) / 4) * ((g->out[1] + 3) / 4);
    if (sh->C < 16 || sh->M < 16)
        return false;
    /* few tiles: the transformed filters (4x the filters) are streamed for little work; only small sets pay */
    const double u_bytes = 36.0 * (double)((sh->C + 15) / 16 * 16) * (double)((sh->M + 15) / 16 * 16) * 4.0;
    return tiles >= 16 || (tiles >= 4 && u_bytes <= 2.0 * 1024 * 1024);
}

typedef struct {
    int64_t M, C;
    const float *w;
} wino_build_arg;

static void wino_build(void *arg, void *dst)
{
    const wino_build_arg *a = arg;
    nni_winograd_transform_weights(a->M, a->C, a->w, dst);
}

/* The epilogue for image n of the batch: its residual rows start n * M * yvol further, yvol apart. */
static nni_epilogue image_epilogue(const nni_epilogue *epi, const conv_shape *sh, int64_t n)
{
    nni_epilogue e = *epi;
    if (e.residual)
        e.residual += n * sh->M * sh->yvol;
    e.ldr = sh->yvol;
    return e;
}

static nn_status winograd_run(nni_opctx *c, const conv_shape *sh, const float *bias, size_t epi_bytes)
{
    const nni_conv_geom *g = &sh->g;
    nni_winograd_geom wg = {.C = sh->C, .M = sh->M, .H = g->in[0], .W = g->in[1], .OH = g->out[0], .OW = g->out[1],
                            .pad_t = g->pad[0], .pad_l = g->pad[1]};
    /* the transformed filters' layout follows the GEMM kernel's panel width: part of the key */
    wino_build_arg arg = {sh->M, sh->C, c->in[1]->data};
    const uint32_t kind = (1u << 16) | (uint32_t)nni_sgemm_nr();
    const void *u = nni_memo_get(c->memo, c->in[1], kind, nni_winograd_weights_size(sh->M, sh->C), wino_build, &arg);
    if (!u)
        return NN_E_NOMEM;
    size_t bytes = epi_bytes + nni_winograd_workspace(&wg, nni_pool_threads(c->pool));
    char *buf = c->scratch(c, bytes);
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", bytes);
    nni_epilogue epi;
    nni_fusion_epilogue(c, bias, sh->M, (float *)buf, &epi);
    const float *x = c->in[0]->data;
    float *y = c->out[0]->data;
    for (int64_t n = 0; n < sh->N; n++) {
        const nni_epilogue e = image_epilogue(&epi, sh, n);
        nni_winograd_conv(&wg, x + n * sh->C * sh->xvol, u, &e, y + n * sh->M * sh->yvol, buf + epi_bytes, c->pool);
    }
    return NN_OK;
}

/*
 * A convolution over few positions (7x7 planes: 49 columns) and many
 * channels wastes most of the GEMM's last 48-column panel. Computed
 * transposed instead, Y^T = col^T W^T, the positions become GEMM rows (tiles
 * of 8) and the channels columns; W^T is packed once into the model's memo.
 * col is X itself for a pointwise convolution, else its im2col. The result
 * is transposed back into Y with the epilogue applied.
 */
static bool use_transposed(const nni_opctx *c, const conv_shape *sh)
{
    const conv_state *s = c->state;
    return c->memo && !(c->varying_in & 2) && !g_no_fast_paths && s->group == 1 && sh->yvol <= 64 && sh->yvol % 48 != 0 && sh->M >= 96 && sh->C * sh->kvol >= 64;
}

typedef struct {
    int64_t M, K;
    const float *w;
} packt_arg;

static void packt_build(void *arg, void *dst)
{
    const packt_arg *a = arg;
    nni_sgemm_pack_bt(a->M, a->K, a->w, a->K, dst);
}

/*
 * Units are (row block, B panel) pairs: the output positions are split into
 * one block of rows per thread (MR-aligned), so each thread builds only its
 * block's A = im2col(X)^T (rows read in place by the GEMM, no packing), and
 * consecutive such layers read what the same thread wrote; within a block,
 * whole B panels of output channels are untransposed into Y with the
 * epilogue. A panel split alone left threads unbalanced when there are few
 * panels (160 channels = 3 1/3 panels of 48) and had every thread build the
 * whole A.
 */
typedef struct {
    const conv_shape *sh;
    const float *x, *wp;
    float *y;
    const nni_epilogue *e;
    bool pointwise;
    int64_t nr, Kx, img, panels, blocks;
    char *tws;
    size_t tws_each, col_bytes, at_bytes, yt_bytes;
    int64_t *ready; /* per thread: image * blocks + row block + 1 whose A is built */
} tpanel_job;

/* First output position of row block r (MR-aligned so that only the last block has a ragged row tile). */
static int64_t tpanel_row(const tpanel_job *j, int64_t r)
{
    const int64_t P = j->sh->yvol;
    return r >= j->blocks ? P : r * P / j->blocks / 8 * 8;
}

static void tpanel_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const tpanel_job *j = arg;
    const conv_shape *sh = j->sh;
    const int64_t P = sh->yvol, M = sh->M, nr = j->nr, Kx = j->Kx;
    char *t = j->tws + (size_t)tid * j->tws_each;
    float *col = (float *)t, *at = (float *)(t + j->col_bytes), *yt = (float *)(t + j->col_bytes + j->at_bytes);
    void *ws = t + j->col_bytes + j->at_bytes + j->yt_bytes;
    for (int64_t u = a; u < b; u++) {
        const int64_t r = u / j->panels, q = u % j->panels;
        const int64_t p0 = tpanel_row(j, r), rows = tpanel_row(j, r + 1) - p0;
        if (j->ready[tid] != j->img * j->blocks + r + 1) {
            if (j->pointwise) {
                nni_transpose_f32(j->x + p0, Kx, rows, P, at, Kx);
            } else {
                nni_im2col(&sh->g, sh->C, j->x, p0, p0 + rows, col, NULL);
                nni_transpose_f32(col, Kx, rows, rows, at, Kx);
            }
            j->ready[tid] = j->img * j->blocks + r + 1;
        }
        const int64_t m0 = q * nr, mw = m0 + nr < M ? nr : M - m0;
        nni_sgemm_packed_ws(false, rows, mw, Kx, 1.0f, at, Kx, j->wp + q * Kx * nr, 0.0f, yt, nr, ws, NULL);
        nni_transpose_epi_f32(yt, rows, mw, nr, j->y + m0 * P + p0, P, j->e, m0, p0);
    }
}

/*
 * A pointwise convolution that shrinks the channels splits by depth as
 * nni_sgemm does (see sgemm.c, use_split_k): slice t transposes and
 * multiplies the input channels its thread's share of the producing layer
 * wrote, into a partial Y^T of its own (P rows, the channels of every panel);
 * then each panel's partials are summed into the first slice's and
 * transposed into Y with the epilogue.
 */
typedef struct {
    const float *x, *wp;
    float *y;
    const nni_epilogue *e;
    int64_t P, M, K, nr, panels, mp; /* mp = panels * nr: the partials' row length */
    int32_t slices;
    char *tws;
    size_t tws_each, part_bytes, at_bytes;
} tsplit_job;

static void tsplit_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const tsplit_job *j = arg;
    (void)tid;
    for (int64_t t = a; t < b; t++) {
        const int64_t k0 = nni_sgemm_depth_row(j->K, j->slices, (int32_t)t);
        const int64_t ks = nni_sgemm_depth_row(j->K, j->slices, (int32_t)t + 1) - k0;
        char *w = j->tws + (size_t)t * j->tws_each;
        float *part = (float *)w, *at = (float *)(w + j->part_bytes);
        void *ws = w + j->part_bytes + j->at_bytes;
        nni_transpose_f32(j->x + k0 * j->P, ks, j->P, j->P, at, ks);
        for (int64_t q = 0; q < j->panels; q++) {
            const int64_t m0 = q * j->nr, mw = m0 + j->nr < j->M ? j->nr : j->M - m0;
            nni_sgemm_packed_ws(false, j->P, mw, ks, 1.0f, at, ks, j->wp + (q * j->K + k0) * j->nr, 0.0f, part + m0,
                                j->mp, ws, NULL);
        }
    }
}

static void tsplit_sum_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const tsplit_job *j = arg;
    (void)tid;
    float *sum = (float *)j->tws;
    for (int64_t q = a; q < b; q++) {
        const int64_t m0 = q * j->nr, mw = m0 + j->nr < j->M ? j->nr : j->M - m0;
        for (int32_t t = 1; t < j->slices; t++) {
            const float *part = (const float *)(j->tws + (size_t)t * j->tws_each);
            for (int64_t p = 0; p < j->P; p++)
                nni_add_inplace_f32(sum + p * j->mp + m0, part + p * j->mp + m0, mw);
        }
        nni_transpose_epi_f32(sum + m0, j->P, mw, j->mp, j->y + m0 * j->P, j->P, j->e, m0, 0);
    }
}

static nn_status transposed_split_run(nni_opctx *c, const conv_shape *sh, const float *wp, const float *bias,
                                      size_t epi_bytes, int32_t slices)
{
    const int64_t nr = nni_sgemm_nr(), P = sh->yvol, M = sh->M, K = sh->C;
    tsplit_job j = {.wp = wp, .P = P, .M = M, .K = K, .nr = nr, .panels = (M + nr - 1) / nr, .slices = slices};
    j.mp = j.panels * nr;
    const int64_t ks_max = K - nni_sgemm_depth_row(K, slices, slices - 1); /* the last slice is the deepest */
    j.part_bytes = align64((size_t)(P * j.mp) * sizeof(float));
    j.at_bytes = align64((size_t)(P * ks_max) * sizeof(float));
    j.tws_each = j.part_bytes + j.at_bytes + align64(nni_sgemm_packed_workspace(P, nr, ks_max, 1));
    char *buf = c->scratch(c, epi_bytes + j.tws_each * (size_t)slices);
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate convolution scratch");
    nni_epilogue epi;
    nni_fusion_epilogue(c, bias, M, (float *)buf, &epi);
    j.tws = buf + epi_bytes;
    for (int64_t n = 0; n < sh->N; n++) {
        j.x = (const float *)c->in[0]->data + n * K * P;
        j.y = (float *)c->out[0]->data + n * M * P;
        const nni_epilogue e = image_epilogue(&epi, sh, n);
        j.e = &e;
        nni_parallel_for(c->pool, slices, 1, tsplit_task, &j);
        nni_parallel_for(c->pool, j.panels, 1, tsplit_sum_task, &j);
    }
    return NN_OK;
}

static nn_status transposed_run(nni_opctx *c, const conv_shape *sh, const float *bias, size_t epi_bytes, bool pointwise)
{
    const int64_t nr = nni_sgemm_nr(), P = sh->yvol, M = sh->M, K = sh->C;
    const int64_t Kx = sh->C * sh->kvol; /* im2col rows */
    packt_arg arg = {M, Kx, c->in[1]->data};
    const uint32_t kind = (2u << 16) | (uint32_t)nr;
    const size_t wbytes = (size_t)(Kx * ((M + nr - 1) / nr * nr)) * sizeof(float);
    const float *wp = nni_memo_get(c->memo, c->in[1], kind, wbytes, packt_build, &arg);
    if (!wp)
        return NN_E_NOMEM;
    const int32_t threads = nni_pool_threads(c->pool);
    const int32_t slices = pointwise ? nni_sgemm_depth_slices(M, P, K, false, threads) : 0;
    if (slices > 1)
        return transposed_split_run(c, sh, wp, bias, epi_bytes, slices);
    tpanel_job j = {.sh = sh, .wp = wp, .pointwise = pointwise, .nr = nr, .Kx = Kx, .panels = (M + nr - 1) / nr};
    /*
     * Row blocks only when whole panels would leave a thread over 10% more
     * than its share: writing Y by row blocks shares a cache line between
     * the threads at every block edge of every channel row.
     */
    j.blocks = 1;
    if (threads > 1 && (j.panels + threads - 1) / threads * nr * 10 > M * 11 / threads)
        j.blocks = P / 8 < threads ? P / 8 : threads; /* blocks of at least one full row tile */
    if (j.blocks < 1)
        j.blocks = 1;
    j.col_bytes = pointwise ? 0 : align64((size_t)(Kx * P) * sizeof(float));
    j.at_bytes = align64((size_t)(Kx * P) * sizeof(float));
    j.yt_bytes = align64((size_t)(P * nr) * sizeof(float));
    j.tws_each = j.col_bytes + j.at_bytes + j.yt_bytes + align64(nni_sgemm_packed_workspace(P, nr, Kx, 1));
    const size_t ready_bytes = align64((size_t)threads * sizeof(int64_t));
    char *buf = c->scratch(c, epi_bytes + ready_bytes + j.tws_each * (size_t)threads);
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate convolution scratch");
    nni_epilogue epi;
    nni_fusion_epilogue(c, bias, M, (float *)buf, &epi);
    j.ready = (int64_t *)(buf + epi_bytes);
    memset(j.ready, 0, (size_t)threads * sizeof(int64_t));
    j.tws = buf + epi_bytes + ready_bytes;
    for (int64_t n = 0; n < sh->N; n++) {
        j.x = (const float *)c->in[0]->data + n * K * sh->xvol;
        j.y = (float *)c->out[0]->data + n * M * P;
        j.img = n;
        const nni_epilogue e = image_epilogue(&epi, sh, n);
        j.e = &e;
        nni_parallel_for(c->pool, j.blocks * j.panels, 1, tpanel_task, &j);
    }
    return NN_OK;
}

/*
 * A depthwise convolution whose input is a 1x1 convolution computed on the
 * fly (nni_fusion.pw, inference): the fused kernel where it applies, else
 * the pointwise output in scratch (a GEMM and its epilogue) and the plain
 * depthwise path.
 */
static nn_status pw_depthwise_run(nni_opctx *c, const conv_shape *sh, const nni_conv_geom *g2, const float *bias,
                                  size_t epi_bytes)
{
    const nni_fusion_pw *pw = c->fusion->pw;
    const int64_t N = sh->N, M = sh->M, K = pw->x->dims[1], HW = sh->xvol;
    const size_t pe_bytes = pw->f.bn_scale ? align64((size_t)M * 2 * sizeof(float)) : 0;
    const int32_t threads = nni_pool_threads(c->pool);
    const bool fast = !g_no_fast_paths && nni_dw_pointwise_ok(g2);
    size_t t_bytes = 0, ws_bytes;
    if (fast) {
        ws_bytes = nni_dw_pointwise_workspace(g2, K, threads);
    } else {
        t_bytes = align64((size_t)(N * M * HW) * sizeof(float));
        size_t a = nni_sgemm_workspace(M, HW, K, threads), b = nni_conv2d_depthwise_workspace(g2, threads);
        ws_bytes = a > b ? a : b;
    }
    const size_t bytes = epi_bytes + pe_bytes + t_bytes + ws_bytes;
    char *buf = c->scratch(c, bytes);
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", bytes);
    nni_epilogue epi, pe;
    nni_fusion_epilogue(c, bias, M, (float *)buf, &epi);
    nni_fusion_epilogue_of(&pw->f, pw->b ? pw->b->data : NULL, M, (float *)(buf + epi_bytes), &pe);
    char *ws = buf + epi_bytes + pe_bytes + t_bytes;
    if (fast) {
        const nni_pw_source src = {.K = K, .x = pw->x->data, .w = pw->w->data,
                                   .e = nni_epilogue_active(&pe) ? &pe : NULL};
        nni_dw_pointwise(g2, N, M, &src, c->in[1]->data, NULL, &epi, c->out[0]->data, ws, c->pool);
        return NN_OK;
    }
    float *t = (float *)(buf + epi_bytes + pe_bytes);
    for (int64_t n = 0; n < N; n++)
        nni_sgemm_ws_epi(false, false, M, HW, K, 1.0f, pw->w->data, K, (const float *)pw->x->data + n * K * HW, HW,
                         0.0f, t + n * M * HW, HW, &pe, ws, c->pool);
    nni_conv2d_depthwise_epi(g2, N * M, M, 1, t, c->in[1]->data, NULL, &epi, c->out[0]->data, ws, c->pool);
    return NN_OK;
}

/* A 1x1 convolution (per group): stride 1, no padding, the output the input's size. */
static bool is_pointwise(const conv_shape *sh)
{
    if (sh->kvol != 1)
        return false;
    for (int32_t d = 0; d < sh->g.nd; d++)
        if (sh->g.stride[d] != 1 || sh->g.pad[d] != 0 || sh->g.in[d] != sh->g.out[d])
            return false;
    return true;
}

/* conv_resolve for node n with inputs `in` at plan time (shapes only). */
static bool resolve_planned(const nni_node *n, nn_tensor *const *in, conv_shape *sh)
{
    nni_opctx c;
    memset(&c, 0, sizeof c);
    c.node = n;
    c.state = n->state;
    c.n_in = n->n_in;
    c.in = in;
    return n->state && n->n_in >= 2 && in[0] && in[1] && (n->n_in < 3 || in[2]) && conv_resolve(&c, sh) == NN_OK;
}

bool nni_conv_pw_dw_fusable(const nni_node *pw, nn_tensor *const *pw_in, const nni_node *dw, nn_tensor *const *dw_in)
{
    conv_shape a, b;
    if (strcmp(pw->op_type, "Conv") != 0 || strcmp(dw->op_type, "Conv") != 0 || !resolve_planned(pw, pw_in, &a) ||
        !resolve_planned(dw, dw_in, &b))
        return false;
    const conv_state *ps = pw->state;
    if (a.g.nd != 2 || ps->group != 1 || !is_pointwise(&a) || a.N != b.N || a.M != b.C || b.g.nd != 2 ||
        a.g.out[0] != b.g.in[0] || a.g.out[1] != b.g.in[1])
        return false;
    return b.Cg == 1 && b.Mg == 1 && nni_dw_pointwise_ok(&b.g);
}

static nn_status conv_run(nni_opctx *c)
{
    conv_shape sh;
    nn_status st = conv_resolve(c, &sh);
    if (st != NN_OK)
        return st;
    const conv_state *s = c->state;
    const float *bias = nni_has_in(c, 2) ? c->in[2]->data : NULL;
    const int32_t nd = sh.g.nd;
    if (sh.yvol == 0 || sh.N == 0 || sh.M == 0)
        return NN_OK;

    /* fused BatchNormalization: per-channel scale and shift, first in scratch */
    const size_t epi_bytes = c->fusion && c->fusion->bn_scale ? align64((size_t)sh.M * 2 * sizeof(float)) : 0;
    nni_epilogue epi;

    if (sh.Cg == 1 && nd <= 2) {
        nni_conv_geom g2 = sh.g;
        if (nd == 1) { /* a 1-D convolution is a 2-D one of height 1 */
            g2.nd = 2;
            g2.in[1] = g2.in[0], g2.out[1] = g2.out[0], g2.kernel[1] = g2.kernel[0];
            g2.stride[1] = g2.stride[0], g2.dil[1] = g2.dil[0], g2.pad[1] = g2.pad[0];
            g2.in[0] = g2.out[0] = g2.kernel[0] = g2.stride[0] = g2.dil[0] = 1;
            g2.pad[0] = 0;
        }
        if (c->fusion && c->fusion->pw)
            return pw_depthwise_run(c, &sh, &g2, bias, epi_bytes);
        size_t bytes = epi_bytes + nni_conv2d_depthwise_workspace(&g2, nni_pool_threads(c->pool));
        char *ws = c->scratch(c, bytes);
        if (!ws)
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", bytes);
        nni_fusion_epilogue(c, bias, sh.M, (float *)ws, &epi);
        const bool fused = c->fusion != NULL;
        nni_conv2d_depthwise_epi(&g2, sh.N * sh.M, sh.M, sh.Mg, c->in[0]->data, c->in[1]->data,
                                 fused ? NULL : bias, fused ? &epi : NULL, c->out[0]->data, ws + epi_bytes, c->pool);
        return NN_OK;
    }

    if (use_winograd(c, &sh))
        return winograd_run(c, &sh, bias, epi_bytes);

    if (s->group == 1 && nd == 2 && !g_no_fast_paths && nni_conv2d_smallc_ok(&sh.g, sh.C)) {
        /* a first layer (RGB input): direct, no im2col */
        size_t bytes = epi_bytes + nni_conv2d_smallc_workspace(&sh.g, sh.C);
        char *buf = c->scratch(c, bytes);
        if (!buf)
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", bytes);
        nni_fusion_epilogue(c, bias, sh.M, (float *)buf, &epi);
        nni_conv2d_smallc(&sh.g, sh.N, sh.C, sh.M, c->in[0]->data, c->in[1]->data, &epi, c->out[0]->data,
                          buf + epi_bytes, c->pool);
        return NN_OK;
    }

    conv_plan p = {.sh = &sh, .x = c->in[0]->data, .w = c->in[1]->data, .y = c->out[0]->data,
                   .group = s->group, .Kg = sh.Cg * sh.kvol, .nr = nni_sgemm_nr()};
    const bool pointwise = is_pointwise(&sh);
    if (use_transposed(c, &sh))
        return transposed_run(c, &sh, bias, epi_bytes, pointwise);
    /* a single output channel per group is a matrix-vector product: plain columns suit it */
    p.mode = pointwise ? CONV_POINTWISE : sh.Mg > 1 ? CONV_PACKED : CONV_PLAIN;
    int64_t n_chunks = 1;
    if (p.mode != CONV_POINTWISE) {
        int64_t cols = COL_BUDGET / p.Kg / p.nr * p.nr;
        if (cols < 2 * p.nr)
            cols = 2 * p.nr;
        n_chunks = (sh.yvol + cols - 1) / cols;
    }
    set_chunks(&p, n_chunks);
    int32_t threads = nni_pool_threads(c->pool);
    int64_t per_chunk = sh.N * s->group, units = per_chunk * p.n_chunks;
    bool by_unit = false;
    if (threads > 1) {
        /*
         * Whole units per thread when they balance: try a few more chunks
         * until the unit count divides evenly (or is large), as long as
         * chunks stay at least two panels wide.
         */
        const int64_t base = p.n_chunks;
        for (int64_t n = base; n <= base + threads && !by_unit; n++) {
            if (n > base && (sh.yvol + n - 1) / n < 2 * p.nr)
                break;
            set_chunks(&p, n);
            int64_t u = per_chunk * p.n_chunks;
            by_unit = u >= 2 * threads;
        }
        if (!by_unit && p.mode != CONV_POINTWISE) {
            /*
             * Each chunk's im2col and GEMM are split over the threads, so
             * every chunk moves its columns between cores and costs two
             * joins: take few, large chunks (the GEMM blocks for cache itself).
             */
            int64_t cols = COL_BUDGET_SHARED / p.Kg / p.nr * p.nr;
            if (cols < 2 * p.nr)
                cols = 2 * p.nr;
            set_chunks(&p, (sh.yvol + cols - 1) / cols);
        } else if (!by_unit) {
            set_chunks(&p, base);
        }
        units = per_chunk * p.n_chunks;
    }
    int32_t gemm_threads = by_unit ? 1 : threads;
    int64_t cols = p.mode == CONV_PACKED ? (p.chunk + p.nr - 1) / p.nr * p.nr : p.chunk;
    if (p.mode != CONV_POINTWISE)
        p.col_bytes = align64((size_t)p.Kg * (size_t)cols * sizeof(float));
    int64_t tail = sh.yvol - (p.n_chunks - 1) * p.chunk;
    for (int k = 0; k < 2; k++) {
        int64_t n = k == 0 ? p.chunk : tail;
        size_t b = p.mode == CONV_PACKED ? nni_sgemm_packed_workspace(sh.Mg, n, p.Kg, gemm_threads)
                                         : nni_sgemm_workspace(sh.Mg, n, p.mode == CONV_POINTWISE ? sh.Cg : p.Kg,
                                                               gemm_threads);
        if (b > p.ws_bytes)
            p.ws_bytes = b;
    }
    p.ws_bytes = align64(p.ws_bytes);
    size_t per = p.col_bytes + p.ws_bytes, total = epi_bytes + per * (size_t)(by_unit ? threads : 1);
    char *buf = c->scratch(c, total);
    if (!buf)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", total);
    nni_fusion_epilogue(c, bias, sh.M, (float *)buf, &p.epi);
    p.scratch = buf + epi_bytes;
    if (by_unit)
        nni_parallel_for(c->pool, units, 1, conv_unit_task, &p);
    else
        for (int64_t u = 0; u < units; u++)
            conv_unit(&p, u, p.scratch, c->pool);
    return NN_OK;
}

static nn_status convt_run(nni_opctx *c)
{
    conv_shape sh;
    nn_status st = conv_resolve(c, &sh);
    if (st != NN_OK)
        return st;
    const conv_state *s = c->state;
    const float *x = c->in[0]->data, *w = c->in[1]->data;
    const float *bias = nni_has_in(c, 2) ? c->in[2]->data : NULL;
    float *y = c->out[0]->data;
    const int64_t group = s->group;
    if (sh.yvol == 0 || sh.N == 0 || sh.M == 0)
        return NN_OK;
    for (int64_t n = 0; n < sh.N; n++)
        fill_bias(y + n * sh.M * sh.yvol, sh.M, sh.yvol, bias);
    if (sh.xvol == 0 || sh.Cg == 0)
        return NN_OK;

    const int64_t rows = sh.Mg * sh.kvol;
    int64_t chunk = sh.xvol;
    if (rows * chunk > COLT_BUDGET)
        chunk = COLT_BUDGET / rows < 64 ? 64 : COLT_BUDGET / rows;
    if (chunk > sh.xvol)
        chunk = sh.xvol;
    int32_t threads = nni_pool_threads(c->pool);
    size_t ws_bytes = nni_sgemm_workspace(rows, chunk, sh.Cg, threads);
    int64_t tail = sh.xvol % chunk;
    if (tail) {
        size_t t = nni_sgemm_workspace(rows, tail, sh.Cg, threads);
        if (t > ws_bytes)
            ws_bytes = t;
    }
    size_t col_bytes = align64((size_t)rows * (size_t)chunk * sizeof(float));
    char *scratch = c->scratch(c, col_bytes + ws_bytes);
    if (!scratch)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution scratch", col_bytes + ws_bytes);
    float *col = (float *)scratch;
    void *ws = scratch + col_bytes;

    for (int64_t n = 0; n < sh.N; n++)
        for (int64_t gi = 0; gi < group; gi++) {
            const float *xg = x + (n * sh.C + gi * sh.Cg) * sh.xvol;
            const float *wg = w + gi * sh.Cg * rows;
            float *yg = y + (n * sh.M + gi * sh.Mg) * sh.yvol;
            for (int64_t p0 = 0; p0 < sh.xvol; p0 += chunk) {
                int64_t p1 = p0 + chunk < sh.xvol ? p0 + chunk : sh.xvol;
                /* columns = W_g^T (rows x Cg) * X_g[:, p0:p1] */
                nni_sgemm_ws(true, false, rows, p1 - p0, sh.Cg, 1.0f, wg, rows, xg + p0, sh.xvol, 0.0f, col, p1 - p0,
                             ws, c->pool);
                nni_col2im(&sh.g, sh.Mg, col, p0, p1, yg, c->pool);
            }
        }
    return NN_OK;
}

const nni_op_desc nni_op_conv = {
    .name = "Conv", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(conv_state),
    .prepare = conv_prepare, .infer = conv_infer, .run = conv_run, .macs = conv_macs,
    .flags = NNI_OP_FUSE_BN | NNI_OP_FUSE_RESIDUAL | NNI_OP_FUSE_ACT,
};

const nni_op_desc nni_op_conv_transpose = {
    .name = "ConvTranspose", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(conv_state),
    .prepare = convt_prepare, .infer = conv_infer, .run = convt_run, .macs = conv_macs,
};

nn_status nni_conv_resolve(const nni_opctx *c, nni_conv_shape *sh)
{
    nn_status st = conv_resolve(c, sh);
    if (st == NN_OK) {
        const conv_state *s = c->state;
        sh->group = s->group;
        sh->transpose = s->transpose;
    }
    return st;
}
