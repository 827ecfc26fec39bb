/* conv.c — im2col / col2im patch movement and the direct depthwise convolution. */
#include <pthread.h>
#include <string.h>

#include "kernels/conv.h"

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Output positions [lo, hi) within [0, olim) whose image index o*s + off lies in [0, n). */
static inline void valid_range(int64_t n, int64_t s, int64_t off, int64_t olim, int64_t *lo, int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t b = n - 1 - off < 0 ? 0 : (n - 1 - off) / s + 1;
    b = min64(b, olim);
    *lo = min64(a, b);
    *hi = b;
}

static int64_t kernel_volume(const nni_conv_geom *g)
{
    int64_t v = 1;
    for (int32_t d = 0; d < g->nd; d++)
        v *= g->kernel[d];
    return v;
}

static int64_t image_volume(const nni_conv_geom *g)
{
    int64_t v = 1;
    for (int32_t d = 0; d < g->nd; d++)
        v *= g->in[d];
    return v;
}

/*
 * Walk columns [p0, p1) of one im2col row (kernel offset koff[d] = k*dil - pad
 * per dim) one output line at a time. Gather (x != NULL) writes the row into
 * colw; scatter (y != NULL) adds colr into the image.
 */
static inline __attribute__((always_inline)) void walk_row(const nni_conv_geom *g, const int64_t *koff, int64_t p0,
                                                           int64_t p1, const float *restrict x, float *restrict colw,
                                                           float *restrict y, const float *restrict colr)
{
    const int32_t last = g->nd - 1;
    const int64_t W = g->in[last], s = g->stride[last], off = koff[last], OW = g->out[last];
    int64_t o[NNI_CONV_MAX_DIMS];
    int64_t rem = p0;
    for (int32_t d = last; d >= 0; d--) {
        o[d] = rem % g->out[d];
        rem /= g->out[d];
    }
    int64_t line_lo, line_hi;
    valid_range(W, s, off, OW, &line_lo, &line_hi);
    for (int64_t p = p0; p < p1;) {
        int64_t a = o[last], seg = min64(OW - a, p1 - p), b = a + seg;
        bool inside = true;
        int64_t base = 0;
        for (int32_t d = 0; d < last; d++) {
            int64_t i = o[d] * g->stride[d] + koff[d];
            if (i < 0 || i >= g->in[d])
                inside = false;
            base = base * g->in[d] + i;
        }
        base *= W;
        int64_t lo = max64(a, line_lo), hi = min64(b, line_hi);
        if (!inside || hi < lo)
            hi = lo = a;
        int64_t t = p - p0 - a; /* column index of output position ow is t + ow */
        if (x) {
            for (int64_t ow = a; ow < lo; ow++)
                colw[t + ow] = 0.0f;
            if (s == 1) {
                if (hi > lo)
                    memcpy(colw + t + lo, x + base + lo + off, (size_t)(hi - lo) * sizeof(float));
            } else {
                for (int64_t ow = lo; ow < hi; ow++)
                    colw[t + ow] = x[base + ow * s + off];
            }
            for (int64_t ow = hi; ow < b; ow++)
                colw[t + ow] = 0.0f;
        } else {
            for (int64_t ow = lo; ow < hi; ow++)
                y[base + ow * s + off] += colr[t + ow];
        }
        p += seg;
        o[last] += seg;
        if (o[last] == OW) {
            o[last] = 0;
            for (int32_t d = last - 1; d >= 0; d--) {
                if (++o[d] < g->out[d])
                    break;
                o[d] = 0;
            }
        }
    }
}

/* Kernel offsets k*dil - pad of im2col row r's kernel index. */
static void row_offsets(const nni_conv_geom *g, int64_t kidx, int64_t *koff)
{
    for (int32_t d = g->nd - 1; d >= 0; d--) {
        int64_t k = kidx % g->kernel[d];
        kidx /= g->kernel[d];
        koff[d] = k * g->dil[d] - g->pad[d];
    }
}

typedef struct {
    const nni_conv_geom *g;
    int64_t kvol, ivol, p0, p1, ld;
    const float *x;
    float *col;
    const float *colr;
    float *y;
} patch_job;

static void im2col_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const patch_job *j = arg;
    (void)tid;
    for (int64_t r = begin; r < end; r++) {
        int64_t koff[NNI_CONV_MAX_DIMS];
        row_offsets(j->g, r % j->kvol, koff);
        walk_row(j->g, koff, j->p0, j->p1, j->x + (r / j->kvol) * j->ivol, j->col + r * j->ld, NULL, NULL);
    }
}

void nni_im2col(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                nni_pool *pool)
{
    nni_im2col_ld(g, channels, x, p0, p1, col, p1 - p0, pool);
}

void nni_im2col_ld(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                   int64_t ld, nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .ld = ld, .x = x,
                   .col = col};
    int64_t rows = channels * j.kvol;
    int64_t grain = max64(1, 32768 / (p1 - p0));
    nni_parallel_for(pool, rows, grain, im2col_task, &j);
}

static void col2im_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const patch_job *j = arg;
    (void)tid;
    for (int64_t c = begin; c < end; c++)
        for (int64_t kidx = 0; kidx < j->kvol; kidx++) {
            int64_t koff[NNI_CONV_MAX_DIMS];
            int64_t r = c * j->kvol + kidx;
            row_offsets(j->g, kidx, koff);
            walk_row(j->g, koff, j->p0, j->p1, NULL, NULL, j->y + c * j->ivol, j->colr + r * j->ld);
        }
}

void nni_col2im(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, float *y,
                nni_pool *pool)
{
    nni_col2im_ld(g, channels, col, p0, p1, p1 - p0, y, pool);
}

void nni_col2im_ld(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, int64_t ld,
                   float *y, nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .ld = ld, .colr = col,
                   .y = y};
    int64_t grain = max64(1, 32768 / ((p1 - p0) * j.kvol));
    nni_parallel_for(pool, channels, grain, col2im_task, &j);
}

/* ---- depthwise ---- */

/* One output plane; the body is compiled once per ISA below so the row loops vectorize wide. */
static inline __attribute__((always_inline)) void dw_plane_body(const nni_conv_geom *g, const float *restrict x,
                                                                const float *restrict w, float bias,
                                                                float *restrict y)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t dh = g->dil[0], dw = g->dil[1], ph = g->pad[0], pw = g->pad[1];
    for (int64_t oh = 0; oh < OH; oh++) {
        float *restrict yr = y + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] = bias;
        for (int64_t kh = 0; kh < KH; kh++) {
            int64_t ih = oh * sh - ph + kh * dh;
            if (ih < 0 || ih >= H)
                continue;
            const float *restrict xr = x + ih * W;
            for (int64_t kw = 0; kw < KW; kw++) {
                float wv = w[kh * KW + kw];
                int64_t off = kw * dw - pw, lo, hi;
                valid_range(W, sw, off, OW, &lo, &hi);
                if (sw == 1)
                    for (int64_t ow = lo; ow < hi; ow++)
                        yr[ow] += wv * xr[ow + off];
                else
                    for (int64_t ow = lo; ow < hi; ow++)
                        yr[ow] += wv * xr[ow * sw + off];
            }
        }
    }
}

typedef void (*dw_plane_fn)(const nni_conv_geom *g, const float *x, const float *w, float bias, float *y);

static void dw_plane_generic(const nni_conv_geom *g, const float *x, const float *w, float bias, float *y)
{
    dw_plane_body(g, x, w, bias, y);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void dw_plane_avx2(const nni_conv_geom *g, const float *x, const float *w,
                                                              float bias, float *y)
{
    dw_plane_body(g, x, w, bias, y);
}

__attribute__((target("avx512f"))) static void dw_plane_avx512(const nni_conv_geom *g, const float *x,
                                                               const float *w, float bias, float *y)
{
    dw_plane_body(g, x, w, bias, y);
}
#endif

static dw_plane_fn g_dw_plane = dw_plane_generic;
static pthread_once_t g_dw_once = PTHREAD_ONCE_INIT;

static void dw_detect(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        g_dw_plane = dw_plane_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        g_dw_plane = dw_plane_avx2;
#endif
}

typedef struct {
    const nni_conv_geom *g;
    int64_t M, mult, ivol, ovol, kvol;
    const float *x, *w, *bias;
    float *y;
    dw_plane_fn fn;
} dw_job;

static void dw_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const dw_job *j = arg;
    (void)tid;
    for (int64_t q = begin; q < end; q++) {
        int64_t m = q % j->M;
        j->fn(j->g, j->x + (q / j->mult) * j->ivol, j->w + m * j->kvol, j->bias ? j->bias[m] : 0.0f,
              j->y + q * j->ovol);
    }
}

void nni_conv2d_depthwise(const nni_conv_geom *g, int64_t planes, int64_t M, int64_t mult, const float *x,
                          const float *w, const float *bias, float *y, nni_pool *pool)
{
    pthread_once(&g_dw_once, dw_detect);
    dw_job j = {.g = g, .M = M, .mult = mult, .ivol = g->in[0] * g->in[1], .ovol = g->out[0] * g->out[1],
                .kvol = g->kernel[0] * g->kernel[1], .x = x, .w = w, .bias = bias, .y = y, .fn = g_dw_plane};
    int64_t grain = max64(1, 65536 / max64(1, j.ovol * j.kvol));
    nni_parallel_for(pool, planes, grain, dw_task, &j);
}
