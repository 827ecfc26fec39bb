/*
 * pooling.c — sliding-window pooling over one N-D plane.
 *
 * Every kernel works row by row along the last spatial dimension: for one
 * output row and one valid tap of the outer (all but last) window dims, each
 * tap kw of the last window dim touches a contiguous range of output columns
 * whose inputs are all inside the plane. That range is computed once, so the
 * inner loops carry no bounds tests and vectorize (stride 1 especially).
 */
#include <math.h>
#include <string.h>

#include "kernels/pooling.h"

/* Walks the output rows of a plane and, per row, the valid outer taps. */
typedef struct {
    const nni_pooling_geom *g;
    int32_t outer;                      /* rank - 1 */
    int64_t o[NNI_POOLING_MAX_RANK];    /* output position in the outer dims */
    int64_t k[NNI_POOLING_MAX_RANK];    /* window position in the outer dims */
    int64_t cstride[NNI_POOLING_MAX_RANK]; /* column-major strides of the input */
    bool k_started;
    int64_t y_off;                      /* offset of the current output row */
} walker;

static void walk_init(walker *w, const nni_pooling_geom *g)
{
    memset(w, 0, sizeof *w);
    w->g = g;
    w->outer = g->rank - 1;
    int64_t s = 1;
    for (int32_t d = 0; d < g->rank; d++) {
        w->cstride[d] = s;
        s *= g->in[d];
    }
}

/* Next valid outer tap of the current row: its row-major offset of the
 * input row and the column-major offset of the outer coordinates. */
static bool walk_next_tap(walker *w, int64_t *x_off, int64_t *x_coff)
{
    const nni_pooling_geom *g = w->g;
    const int32_t n = w->outer;
    for (;;) {
        if (!w->k_started) {
            w->k_started = true;
            for (int32_t d = 0; d < n; d++)
                w->k[d] = 0;
        } else {
            int32_t d = n - 1;
            while (d >= 0 && ++w->k[d] == g->kernel[d]) {
                w->k[d] = 0;
                d--;
            }
            if (d < 0)
                return false;
        }
        int64_t off = 0, coff = 0;
        bool ok = true;
        for (int32_t d = 0; d < n; d++) {
            int64_t i = w->o[d] * g->stride[d] - g->pad_begin[d] + w->k[d] * g->dilation[d];
            if (i < 0 || i >= g->in[d]) {
                ok = false;
                break;
            }
            off = off * g->in[d] + i;
            coff += i * w->cstride[d];
        }
        if (ok) {
            *x_off = off * g->in[n];
            *x_coff = coff;
            return true;
        }
    }
}

static bool walk_next_row(walker *w)
{
    const nni_pooling_geom *g = w->g;
    w->k_started = false;
    w->y_off += g->out[w->outer];
    int32_t d = w->outer - 1;
    while (d >= 0 && ++w->o[d] == g->out[d]) {
        w->o[d] = 0;
        d--;
    }
    return d >= 0;
}

/* Output columns [lo, hi) whose tap kw of the last window dim lands inside
 * the input, and the input column of output column lo. */
static inline void tap_range(const nni_pooling_geom *g, int64_t kw, int64_t *lo, int64_t *hi, int64_t *x0)
{
    const int32_t L = g->rank - 1;
    const int64_t s = g->stride[L], in = g->in[L];
    const int64_t off = kw * g->dilation[L] - g->pad_begin[L];
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = off > in - 1 ? 0 : (in - 1 - off) / s + 1;
    if (h > g->out[L])
        h = g->out[L];
    if (l > h)
        l = h;
    *lo = l;
    *hi = h;
    *x0 = l * s + off;
}

/* ---- max ---- */

#define DEFINE_MAX(T, SUFFIX, LOWEST)                                                                       \
    void nni_pooling_max_##SUFFIX(const nni_pooling_geom *g, const T *x, T *y, int64_t *idx, int64_t idx_base, \
                                  bool col_major)                                                          \
    {                                                                                                      \
        const int32_t L = g->rank - 1;                                                                     \
        const int64_t OW = g->out[L], KW = g->kernel[L], s = g->stride[L];                                 \
        walker w;                                                                                          \
        walk_init(&w, g);                                                                                  \
        do {                                                                                               \
            T *yr = y + w.y_off;                                                                           \
            int64_t *ir = idx ? idx + w.y_off : NULL;                                                      \
            for (int64_t ow = 0; ow < OW; ow++)                                                            \
                yr[ow] = (LOWEST);                                                                         \
            if (ir)                                                                                        \
                for (int64_t ow = 0; ow < OW; ow++)                                                        \
                    ir[ow] = -1;                                                                           \
            int64_t xo, xc;                                                                                \
            while (walk_next_tap(&w, &xo, &xc)) {                                                          \
                for (int64_t kw = 0; kw < KW; kw++) {                                                      \
                    int64_t lo, hi, x0;                                                                    \
                    tap_range(g, kw, &lo, &hi, &x0);                                                       \
                    if (hi <= lo)                                                                          \
                        continue;                                                                          \
                    const T *xp = x + xo + x0;                                                             \
                    T *yp = yr + lo;                                                                       \
                    const int64_t n = hi - lo;                                                             \
                    if (ir) {                                                                              \
                        /* first maximum in window order wins, like the reference */                      \
                        int64_t *ip = ir + lo;                                                             \
                        for (int64_t i = 0; i < n; i++) {                                                  \
                            T v = xp[i * s];                                                               \
                            if (v > yp[i] || ip[i] < 0) {                                                  \
                                int64_t col = x0 + i * s;                                                  \
                                yp[i] = v;                                                                 \
                                ip[i] = idx_base + (col_major ? xc + col * w.cstride[L] : xo + col);      \
                            }                                                                              \
                        }                                                                                  \
                    } else if (s == 1) {                                                                   \
                        for (int64_t i = 0; i < n; i++) {                                                  \
                            T v = xp[i];                                                                   \
                            yp[i] = v > yp[i] ? v : yp[i];                                                 \
                        }                                                                                  \
                    } else {                                                                               \
                        for (int64_t i = 0; i < n; i++) {                                                  \
                            T v = xp[i * s];                                                               \
                            yp[i] = v > yp[i] ? v : yp[i];                                                 \
                        }                                                                                  \
                    }                                                                                      \
                }                                                                                          \
            }                                                                                              \
        } while (walk_next_row(&w));                                                                       \
    }

DEFINE_MAX(float, f32, -INFINITY)
DEFINE_MAX(double, f64, -INFINITY)
DEFINE_MAX(uint8_t, u8, 0)
DEFINE_MAX(int8_t, i8, INT8_MIN)

/* ---- average ---- */

size_t nni_pooling_divisor_count(const nni_pooling_geom *g)
{
    size_t n = 0;
    for (int32_t d = 0; d < g->rank; d++)
        n += (size_t)g->out[d];
    return n;
}

void nni_pooling_divisors(const nni_pooling_geom *g, bool include_pad, float *recips)
{
    for (int32_t d = 0; d < g->rank; d++) {
        const int64_t lo = include_pad ? -g->pad_begin[d] : 0;
        const int64_t hi = include_pad ? g->in[d] + g->pad_end[d] : g->in[d];
        for (int64_t o = 0; o < g->out[d]; o++) {
            int64_t count = 0;
            for (int64_t k = 0; k < g->kernel[d]; k++) {
                int64_t i = o * g->stride[d] - g->pad_begin[d] + k * g->dilation[d];
                count += i >= lo && i < hi;
            }
            *recips++ = count ? 1.0f / (float)count : 0.0f;
        }
    }
}

/* Product of the outer dims' reciprocals for the walker's current row. */
static float outer_recip(const walker *w, const float *recips)
{
    float r = 1.0f;
    for (int32_t d = 0; d < w->outer; d++) {
        r *= recips[w->o[d]];
        recips += w->g->out[d];
    }
    return r;
}

void nni_pooling_avg_f32(const nni_pooling_geom *g, const float *x, float *y, const float *recips)
{
    const int32_t L = g->rank - 1;
    const int64_t OW = g->out[L], KW = g->kernel[L], s = g->stride[L];
    const float *last = recips;
    for (int32_t d = 0; d < L; d++)
        last += g->out[d];
    walker w;
    walk_init(&w, g);
    do {
        float *yr = y + w.y_off;
        for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] = 0.0f;
        int64_t xo, xc;
        while (walk_next_tap(&w, &xo, &xc)) {
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t lo, hi, x0;
                tap_range(g, kw, &lo, &hi, &x0);
                if (hi <= lo)
                    continue;
                const float *xp = x + xo + x0;
                float *yp = yr + lo;
                const int64_t n = hi - lo;
                if (s == 1)
                    for (int64_t i = 0; i < n; i++)
                        yp[i] += xp[i];
                else
                    for (int64_t i = 0; i < n; i++)
                        yp[i] += xp[i * s];
            }
        }
        const float r = outer_recip(&w, recips);
        for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] *= r * last[ow];
    } while (walk_next_row(&w));
}

/* ---- Lp ---- */

void nni_pooling_lp_f32(const nni_pooling_geom *g, const float *x, float *y, float p)
{
    const int32_t L = g->rank - 1;
    const int64_t OW = g->out[L], KW = g->kernel[L], s = g->stride[L];
    walker w;
    walk_init(&w, g);
    do {
        float *yr = y + w.y_off;
        for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] = 0.0f;
        int64_t xo, xc;
        while (walk_next_tap(&w, &xo, &xc)) {
            for (int64_t kw = 0; kw < KW; kw++) {
                int64_t lo, hi, x0;
                tap_range(g, kw, &lo, &hi, &x0);
                if (hi <= lo)
                    continue;
                const float *xp = x + xo + x0;
                float *yp = yr + lo;
                const int64_t n = hi - lo;
                if (p == 2.0f)
                    for (int64_t i = 0; i < n; i++)
                        yp[i] += xp[i * s] * xp[i * s];
                else if (p == 1.0f)
                    for (int64_t i = 0; i < n; i++)
                        yp[i] += fabsf(xp[i * s]);
                else
                    for (int64_t i = 0; i < n; i++)
                        yp[i] += powf(fabsf(xp[i * s]), p);
            }
        }
        if (p == 2.0f)
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = sqrtf(yr[ow]);
        else if (p != 1.0f)
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = powf(yr[ow], 1.0f / p);
    } while (walk_next_row(&w));
}

/* ---- whole-plane reductions ---- */

/* Eight independent partial results let the compiler use vector registers
 * without reassociating a single running sum (no -ffast-math needed). */
float nni_pooling_sum_f32(const float *x, int64_t n)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[i + j];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i];
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return s;
}

float nni_pooling_maxval_f32(const float *x, int64_t n)
{
    float acc[8];
    for (int j = 0; j < 8; j++)
        acc[j] = -INFINITY;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
    float m = -INFINITY;
    for (; i < n; i++)
        m = x[i] > m ? x[i] : m;
    for (int j = 0; j < 8; j++)
        m = acc[j] > m ? acc[j] : m;
    return m;
}

float nni_pooling_lpnorm_f32(const float *x, int64_t n, float p)
{
    float acc[8] = {0};
    float s = 0.0f;
    int64_t i = 0;
    if (p == 2.0f) {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += x[i + j] * x[i + j];
        for (; i < n; i++)
            s += x[i] * x[i];
    } else if (p == 1.0f) {
        for (; i + 8 <= n; i += 8)
            for (int j = 0; j < 8; j++)
                acc[j] += fabsf(x[i + j]);
        for (; i < n; i++)
            s += fabsf(x[i]);
    } else {
        for (; i < n; i++)
            s += powf(fabsf(x[i]), p);
    }
    for (int j = 0; j < 8; j++)
        s += acc[j];
    return p == 2.0f ? sqrtf(s) : p == 1.0f ? s : powf(s, 1.0f / p);
}
