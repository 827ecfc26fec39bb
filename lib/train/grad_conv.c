/*
 * grad_conv.c — backward of Conv and ConvTranspose (any group count,
 * strides, pads, dilations, 1-D to 6-D). Per image and group, with the forward's
 * Y_g = W_g * cols(X_g):
 *   dW_g += dY_g * cols(X_g)^T    (im2col + GEMM)
 *   dX_g += col2im(W_g^T * dY_g)  (GEMM + col2im)
 *   dB   += sum of dY over images and positions.
 * 1x1 stride-1 unpadded convolutions skip the columns; one input channel per
 * group (depthwise) in 1-D/2-D uses direct loops instead of tiny GEMMs.
 */
#include <pthread.h>
#include <string.h>

#include "kernels/conv.h"
#include "kernels/sgemm.h"
#include "ops/resolve.h"
#include "train/grad_helpers.h"

/* Columns per im2col chunk, as in the forward: at most this many floats. */
#define COL_BUDGET ((int64_t)1 << 20)

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* ---- dB ---- */

typedef struct {
    const float *dy;
    float *db;
    int64_t N, M, vol;
} bias_job;

static void bias_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const bias_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t m = begin; m < end; m++) {
        double acc = 0.0;
        for (int64_t n = 0; n < j->N; n++) {
            const float *p = j->dy + (n * j->M + m) * j->vol;
            float part[8] = {0};
            int64_t i = 0;
            for (; i + 8 <= j->vol; i += 8)
                for (int q = 0; q < 8; q++)
                    part[q] += p[i + q];
            for (; i < j->vol; i++)
                acc += p[i];
            for (int q = 0; q < 8; q++)
                acc += part[q];
        }
        j->db[m] += (float)acc;
    }
}

/* ---- depthwise (one input channel per group), 2-D geometry ---- */

/* Output columns [lo, hi) whose input column o*s + off lies in [0, n). */
static inline void valid_range(int64_t n, int64_t s, int64_t off, int64_t olim, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    b = min64(b, olim);
    *lo = min64(a, b);
    *hi = b;
}

/* dX of one input plane from one output channel's dY and kernel; the bodies
 * below are compiled once per ISA so that the row loops vectorize wide. */
static inline __attribute__((always_inline)) void dwb_dx_body(const nni_conv_geom *g, const float *restrict dy,
                                                              const float *restrict w, float *restrict dx)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t dh = g->dil[0], dwl = g->dil[1], ph = g->pad[0], pw = g->pad[1];
    for (int64_t oh = 0; oh < OH; oh++) {
        const float *restrict dyr = dy + oh * OW;
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t ih = oh * sh - ph + kh * dh;
            if (ih < 0 || ih >= H)
                continue;
            float *restrict dxr = dx + ih * W;
            for (int64_t kw = 0; kw < KW; kw++) {
                const float wv = w[kh * KW + kw];
                const int64_t off = kw * dwl - pw;
                int64_t lo, hi;
                valid_range(W, sw, off, OW, &lo, &hi);
                if (sw == 1)
                    for (int64_t ow = lo; ow < hi; ow++)
                        dxr[ow + off] += wv * dyr[ow];
                else
                    for (int64_t ow = lo; ow < hi; ow++)
                        dxr[ow * sw + off] += wv * dyr[ow];
            }
        }
    }
}

/* acc[k] += the dot product of one plane's dY with the input taps of kernel position k. */
static inline __attribute__((always_inline)) void dwb_dw_body(const nni_conv_geom *g, const float *restrict x,
                                                              const float *restrict dy, double *restrict acc)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t dh = g->dil[0], dwl = g->dil[1], ph = g->pad[0], pw = g->pad[1];
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t off = kw * dwl - pw;
            int64_t lo, hi;
            valid_range(W, sw, off, OW, &lo, &hi);
            float lanes[16] = {0}, tail = 0.0f;
            for (int64_t oh = 0; oh < OH; oh++) {
                const int64_t ih = oh * sh - ph + kh * dh;
                if (ih < 0 || ih >= H)
                    continue;
                const float *restrict xr = x + ih * W + off;
                const float *restrict dyr = dy + oh * OW;
                int64_t ow = lo;
                if (sw == 1) {
                    for (; ow + 16 <= hi; ow += 16)
                        for (int q = 0; q < 16; q++)
                            lanes[q] += dyr[ow + q] * xr[ow + q];
                } else {
                    for (; ow + 16 <= hi; ow += 16)
                        for (int q = 0; q < 16; q++)
                            lanes[q] += dyr[ow + q] * xr[(ow + q) * sw];
                }
                for (; ow < hi; ow++)
                    tail += dyr[ow] * xr[ow * sw];
            }
            double sum = tail;
            for (int q = 0; q < 16; q++)
                sum += lanes[q];
            acc[kh * KW + kw] += sum;
        }
}

typedef void (*dwb_dx_fn)(const nni_conv_geom *g, const float *dy, const float *w, float *dx);
typedef void (*dwb_dw_fn)(const nni_conv_geom *g, const float *x, const float *dy, double *acc);

static void dwb_dx_generic(const nni_conv_geom *g, const float *dy, const float *w, float *dx)
{
    dwb_dx_body(g, dy, w, dx);
}
static void dwb_dw_generic(const nni_conv_geom *g, const float *x, const float *dy, double *acc)
{
    dwb_dw_body(g, x, dy, acc);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void dwb_dx_avx2(const nni_conv_geom *g, const float *dy, const float *w,
                                                            float *dx)
{
    dwb_dx_body(g, dy, w, dx);
}
__attribute__((target("avx2,fma"))) static void dwb_dw_avx2(const nni_conv_geom *g, const float *x, const float *dy,
                                                            double *acc)
{
    dwb_dw_body(g, x, dy, acc);
}
__attribute__((target("avx512f"))) static void dwb_dx_avx512(const nni_conv_geom *g, const float *dy, const float *w,
                                                             float *dx)
{
    dwb_dx_body(g, dy, w, dx);
}
__attribute__((target("avx512f"))) static void dwb_dw_avx512(const nni_conv_geom *g, const float *x, const float *dy,
                                                             double *acc)
{
    dwb_dw_body(g, x, dy, acc);
}
#endif

static dwb_dx_fn g_dwb_dx = dwb_dx_generic;
static dwb_dw_fn g_dwb_dw = dwb_dw_generic;
static pthread_once_t g_dwb_once = PTHREAD_ONCE_INIT;

static void dwb_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        g_dwb_dx = dwb_dx_avx512;
        g_dwb_dw = dwb_dw_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_dwb_dx = dwb_dx_avx2;
        g_dwb_dw = dwb_dw_avx2;
    }
#endif
}

typedef struct {
    const nni_conv_geom *g;
    int64_t C, M, mult, N, ivol, ovol, kvol;
    const float *x, *w, *dy;
    float *dx, *dw;
    double *acc; /* kvol doubles per thread */
} dw_job;

/* dX of input plane (n, c): every output channel c*mult + t reads it. */
static void dw_dx_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const dw_job *j = arg;
    NNI_UNUSED(tid);
    for (int64_t q = begin; q < end; q++) {
        const int64_t n = q / j->C, c = q % j->C;
        for (int64_t t = 0; t < j->mult; t++) {
            const int64_t m = c * j->mult + t;
            g_dwb_dx(j->g, j->dy + (n * j->M + m) * j->ovol, j->w + m * j->kvol, j->dx + q * j->ivol);
        }
    }
}

/* dW of output channel m, summed over images. */
static void dw_dw_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const dw_job *j = arg;
    double *acc = j->acc + (size_t)tid * (size_t)j->kvol;
    for (int64_t m = begin; m < end; m++) {
        const int64_t c = m / j->mult;
        for (int64_t k = 0; k < j->kvol; k++)
            acc[k] = 0.0;
        for (int64_t n = 0; n < j->N; n++)
            g_dwb_dw(j->g, j->x + (n * j->C + c) * j->ivol, j->dy + (n * j->M + m) * j->ovol, acc);
        for (int64_t k = 0; k < j->kvol; k++)
            j->dw[m * j->kvol + k] += (float)acc[k];
    }
}

static nn_status depthwise_backward(nni_gradctx *gc, const nni_conv_shape *sh, const float *x, const float *w,
                                    const float *dy, float *dx, float *dwt)
{
    nni_pool *pool = gc->fwd.pool;
    nni_conv_geom g2 = sh->g;
    if (g2.nd == 1) { /* a 1-D convolution is a 2-D one of height 1 */
        g2.nd = 2;
        g2.in[1] = g2.in[0], g2.out[1] = g2.out[0], g2.kernel[1] = g2.kernel[0];
        g2.stride[1] = g2.stride[0], g2.dil[1] = g2.dil[0], g2.pad[1] = g2.pad[0];
        g2.in[0] = g2.out[0] = g2.kernel[0] = g2.stride[0] = g2.dil[0] = 1;
        g2.pad[0] = 0;
    }
    pthread_once(&g_dwb_once, dwb_detect);
    dw_job j = {.g = &g2, .C = sh->C, .M = sh->M, .mult = sh->Mg, .N = sh->N, .ivol = sh->xvol, .ovol = sh->yvol,
                .kvol = sh->kvol, .x = x, .w = w, .dy = dy, .dx = dx, .dw = dwt};
    if (dwt) {
        j.acc = nni_grad_scratch(gc, (size_t)nni_pool_threads(pool) * (size_t)sh->kvol * sizeof(double));
        if (!j.acc)
            return nni_error(NN_E_NOMEM, "cannot allocate convolution backward scratch");
    }
    const int64_t work = max64(1, sh->yvol * sh->kvol);
    if (dx)
        nni_parallel_for(pool, sh->N * sh->C, max64(1, 65536 / (work * sh->Mg)), dw_dx_task, &j);
    if (dwt)
        nni_parallel_for(pool, sh->M, max64(1, 65536 / (work * sh->N)), dw_dw_task, &j);
    return NN_OK;
}

/* ---- the GEMM path ---- */

/*
 * Small images (deep layers: 14x14, 7x7) make thin GEMMs when taken one at a
 * time, so up to `nb` whole images go side by side in the columns (row
 * stride P = nb * yvol): dY is gathered into [Mg x P], the columns of all nb
 * images fill one [Kg x P] matrix, and each product is one wide GEMM.
 * Larger images run one at a time in column chunks, as in the forward.
 */
static nn_status gemm_backward(nni_gradctx *gc, const nni_conv_shape *sh, const float *x, const float *w,
                               const float *dy, float *dx, float *dwt)
{
    nni_pool *pool = gc->fwd.pool;
    const int32_t nd = sh->g.nd;
    bool pointwise = sh->kvol == 1;
    for (int32_t d = 0; d < nd; d++)
        if (sh->g.stride[d] != 1 || sh->g.pad[d] != 0 || sh->g.in[d] != sh->g.out[d])
            pointwise = false;
    const int64_t Mg = sh->Mg, Cg = sh->Cg, Kg = Cg * sh->kvol, yvol = sh->yvol, xvol = sh->xvol, N = sh->N;
    int64_t chunk = yvol;
    if (Kg * chunk > COL_BUDGET)
        chunk = COL_BUDGET / Kg < 256 ? 256 : COL_BUDGET / Kg;
    chunk = min64(chunk, yvol);
    int64_t nb = 1;
    if (chunk == yvol && N > 1)
        nb = max64(1, min64(N, 2 * COL_BUDGET / max64(1, max64(Kg, Mg) * yvol)));
    const int64_t P = nb > 1 ? nb * yvol : chunk; /* widest column block */
    const int32_t threads = nni_pool_threads(pool);
    size_t ws_bytes = 0;
    const int64_t lens[3] = {P, yvol % chunk ? yvol % chunk : chunk, (N % nb ? N % nb : nb) * yvol};
    for (int t = 0; t < 3; t++) {
        size_t a = nni_sgemm_workspace(Mg, Kg, lens[t], threads); /* dW: Mg x Kg over positions */
        size_t b = nni_sgemm_workspace(Kg, lens[t], Mg, threads); /* columns: Kg x positions over Mg */
        ws_bytes = a > ws_bytes ? a : ws_bytes;
        ws_bytes = b > ws_bytes ? b : ws_bytes;
    }
    const bool need_col = !pointwise || nb > 1;
    const size_t col_bytes = need_col ? align64((size_t)Kg * (size_t)P * sizeof(float)) : 0;
    const size_t dyb_bytes = nb > 1 ? align64((size_t)Mg * (size_t)P * sizeof(float)) : 0;
    char *scratch = nni_grad_scratch(gc, col_bytes + dyb_bytes + ws_bytes);
    if (!scratch)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution backward scratch",
                         col_bytes + dyb_bytes + ws_bytes);
    float *col = (float *)scratch, *dyb = (float *)(scratch + col_bytes);
    void *ws = scratch + col_bytes + dyb_bytes;

    for (int64_t gi = 0; gi < sh->group; gi++) {
        const float *wg = w + gi * Mg * Kg;
        float *dwg = dwt ? dwt + gi * Mg * Kg : NULL;
        for (int64_t n0 = 0; n0 < N; n0 += nb) {
            const int64_t cnt = min64(nb, N - n0);
            if (cnt > 1) { /* several whole images side by side */
                const int64_t Pb = cnt * yvol;
                for (int64_t i = 0; i < cnt; i++)
                    for (int64_t m = 0; m < Mg; m++)
                        memcpy(dyb + m * Pb + i * yvol, dy + ((n0 + i) * sh->M + gi * Mg + m) * yvol,
                               (size_t)yvol * sizeof(float));
                if (dwg) {
                    for (int64_t i = 0; i < cnt; i++) {
                        const float *xg = x + ((n0 + i) * sh->C + gi * Cg) * xvol;
                        if (pointwise)
                            for (int64_t c = 0; c < Cg; c++)
                                memcpy(col + c * Pb + i * yvol, xg + c * xvol, (size_t)yvol * sizeof(float));
                        else
                            nni_im2col_ld(&sh->g, Cg, xg, 0, yvol, col + i * yvol, Pb, pool);
                    }
                    nni_sgemm_ws(false, true, Mg, Kg, Pb, 1.0f, dyb, Pb, col, Pb, 1.0f, dwg, Kg, ws, pool);
                }
                if (dx) {
                    nni_sgemm_ws(true, false, Kg, Pb, Mg, 1.0f, wg, Kg, dyb, Pb, 0.0f, col, Pb, ws, pool);
                    for (int64_t i = 0; i < cnt; i++) {
                        float *dxg = dx + ((n0 + i) * sh->C + gi * Cg) * xvol;
                        if (pointwise)
                            for (int64_t c = 0; c < Cg; c++) {
                                float *restrict d = dxg + c * xvol;
                                const float *restrict sp = col + c * Pb + i * yvol;
                                for (int64_t p = 0; p < yvol; p++)
                                    d[p] += sp[p];
                            }
                        else
                            nni_col2im_ld(&sh->g, Cg, col + i * yvol, 0, yvol, Pb, dxg, pool);
                    }
                }
                continue;
            }
            const float *xg = x + (n0 * sh->C + gi * Cg) * xvol;
            const float *dyg = dy + (n0 * sh->M + gi * Mg) * yvol;
            float *dxg = dx ? dx + (n0 * sh->C + gi * Cg) * xvol : NULL;
            if (pointwise) {
                if (dwg)
                    nni_sgemm_ws(false, true, Mg, Cg, yvol, 1.0f, dyg, yvol, xg, xvol, 1.0f, dwg, Cg, ws, pool);
                if (dxg)
                    nni_sgemm_ws(true, false, Cg, yvol, Mg, 1.0f, wg, Cg, dyg, yvol, 1.0f, dxg, xvol, ws, pool);
                continue;
            }
            for (int64_t p0 = 0; p0 < yvol; p0 += chunk) {
                const int64_t p1 = min64(p0 + chunk, yvol), np = p1 - p0;
                if (dwg) {
                    nni_im2col(&sh->g, Cg, xg, p0, p1, col, pool);
                    nni_sgemm_ws(false, true, Mg, Kg, np, 1.0f, dyg + p0, yvol, col, np, 1.0f, dwg, Kg, ws, pool);
                }
                if (dxg) {
                    nni_sgemm_ws(true, false, Kg, np, Mg, 1.0f, wg, Kg, dyg + p0, yvol, 0.0f, col, np, ws, pool);
                    nni_col2im(&sh->g, Cg, col, p0, p1, dxg, pool);
                }
            }
        }
    }
    return NN_OK;
}

/* ---- ConvTranspose: the forward is Y_g = col2im(W_g^T * X_g); its adjoint
 * reads columns of dY with im2col (image = Y, columns = X positions):
 *   dX_g += W_g * cols(dY_g)      dW_g += X_g * cols(dY_g)^T ---- */

static nn_status transpose_backward(nni_gradctx *gc, const nni_conv_shape *sh, const float *x, const float *w,
                                    const float *dy, float *dx, float *dwt)
{
    nni_pool *pool = gc->fwd.pool;
    const int64_t Cg = sh->Cg, Mg = sh->Mg, rows = Mg * sh->kvol, xvol = sh->xvol, yvol = sh->yvol;
    if (xvol == 0 || Cg == 0)
        return NN_OK;
    int64_t chunk = xvol;
    if (rows * chunk > COL_BUDGET)
        chunk = COL_BUDGET / rows < 64 ? 64 : COL_BUDGET / rows;
    chunk = min64(chunk, xvol);
    const int32_t threads = nni_pool_threads(pool);
    size_t ws_bytes = 0;
    const int64_t lens[2] = {chunk, xvol % chunk ? xvol % chunk : chunk};
    for (int t = 0; t < 2; t++) {
        size_t a = nni_sgemm_workspace(Cg, lens[t], rows, threads); /* dX: Cg x positions over rows */
        size_t b = nni_sgemm_workspace(Cg, rows, lens[t], threads); /* dW: Cg x rows over positions */
        ws_bytes = a > ws_bytes ? a : ws_bytes;
        ws_bytes = b > ws_bytes ? b : ws_bytes;
    }
    const size_t col_bytes = align64((size_t)rows * (size_t)chunk * sizeof(float));
    char *scratch = nni_grad_scratch(gc, col_bytes + ws_bytes);
    if (!scratch)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of convolution backward scratch", col_bytes + ws_bytes);
    float *col = (float *)scratch;
    void *ws = scratch + col_bytes;
    for (int64_t n = 0; n < sh->N; n++)
        for (int64_t gi = 0; gi < sh->group; gi++) {
            const float *xg = x + (n * sh->C + gi * Cg) * xvol;
            const float *wg = w + gi * Cg * rows;
            const float *dyg = dy + (n * sh->M + gi * Mg) * yvol;
            for (int64_t p0 = 0; p0 < xvol; p0 += chunk) {
                const int64_t p1 = min64(p0 + chunk, xvol), np = p1 - p0;
                nni_im2col(&sh->g, Mg, dyg, p0, p1, col, pool);
                if (dx)
                    nni_sgemm_ws(false, false, Cg, np, rows, 1.0f, wg, rows, col, np, 1.0f,
                                 dx + (n * sh->C + gi * Cg) * xvol + p0, xvol, ws, pool);
                if (dwt)
                    nni_sgemm_ws(false, true, Cg, rows, np, 1.0f, xg + p0, xvol, col, np, 1.0f, dwt + gi * Cg * rows,
                                 rows, ws, pool);
            }
        }
    return NN_OK;
}

nn_status nni_grad_conv(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *dyt = nni_grad_dout(g, 0);
    nn_tensor *dxt = nni_grad_din(g, 0), *dwt = nni_grad_din(g, 1), *dbt = nni_grad_din(g, 2);
    if (!dyt || (!dxt && !dwt && !dbt))
        return NN_OK;
    nn_status st = nni_grad_check_f32(g);
    if (st != NN_OK)
        return st;
    nni_conv_shape sh;
    if ((st = nni_conv_resolve(c, &sh)) != NN_OK)
        return st;
    if (nni_tensor_count(dyt) != sh.N * sh.M * sh.yvol)
        return nni_error(NN_E_SHAPE, "output gradient has %lld elements, expected %lld", (long long)nni_tensor_count(dyt),
                         (long long)(sh.N * sh.M * sh.yvol));
    if (sh.N == 0 || sh.M == 0 || sh.yvol == 0)
        return NN_OK;
    const float *x = c->in[0]->data, *w = c->in[1]->data, *dy = dyt->data;
    float *dx = dxt ? dxt->data : NULL, *dw = dwt ? dwt->data : NULL;
    if (dbt) {
        bias_job bj = {.dy = dy, .db = dbt->data, .N = sh.N, .M = sh.M, .vol = sh.yvol};
        nni_parallel_for(c->pool, sh.M, max64(1, 16384 / max64(1, sh.N * sh.yvol)), bias_task, &bj);
    }
    if (!dx && !dw)
        return NN_OK;
    if (sh.transpose)
        return transpose_backward(g, &sh, x, w, dy, dx, dw);
    if (sh.Cg == 1 && sh.g.nd <= 2)
        return depthwise_backward(g, &sh, x, w, dy, dx, dw);
    return gemm_backward(g, &sh, x, w, dy, dx, dw);
}
