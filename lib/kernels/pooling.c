/*
 * pooling.c — sliding-window pooling over one N-D plane.
 *
 * Every kernel works row by row along the last spatial dimension: for one
 * output row and one valid tap of the outer (all but last) window dims, each
 * tap kw of the last window dim touches a contiguous range of output columns
 * whose inputs are all inside the plane. That range is computed once, so the
 * inner loops carry no bounds tests and vectorize (stride 1 especially).
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* lets the max selects vectorize */
#endif

#include <math.h>
#include <pthread.h>
#include <string.h>

#include "kernels/pooling.h"

#if defined(__x86_64__) || defined(__i386__)
#define POOL_X86 1
#else
#define POOL_X86 0
#endif

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

/* ---- 2-D fast paths ---- */

bool nni_pooling2d_ok(const nni_pooling_geom *g)
{
    return g->rank == 2 && g->dilation[0] == 1 && g->dilation[1] == 1 && g->out[0] > 0 && g->out[1] > 0;
}

/* Row buffer length: input columns [-pad, need - pad) where need covers every window. */
static int64_t row_len(const nni_pooling_geom *g)
{
    int64_t need = (g->out[1] - 1) * g->stride[1] + g->kernel[1];
    int64_t have = g->pad_begin[1] + g->in[1];
    return need > have ? need : have;
}

/* Slack past the row lets the vector paths read whole vectors at the edges. */
#define ROW_SLACK 64

size_t nni_pooling2d_workspace(const nni_pooling_geom *g)
{
    return ((size_t)(row_len(g) + g->kernel[1] + ROW_SLACK) * sizeof(float) + 63) & ~(size_t)63;
}

/*
 * One plane. For output row oh, row[pw + c] = reduce over the window's
 * input rows of x[ih][c], with `border` outside the image; then
 * y[oh][ow] = reduce over kw of row[ow * sw + kw].
 */
static inline __attribute__((always_inline)) void pool2d_body(const nni_pooling_geom *g, const float *restrict x,
                                                              float *restrict y, const float *recips,
                                                              float *restrict row, const bool is_max)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t ph = g->pad_begin[0], pw = g->pad_begin[1], L = row_len(g);
    const float border = is_max ? -INFINITY : 0.0f;
    for (int64_t t = 0; t < pw; t++)
        row[t] = border;
    for (int64_t t = pw + W; t < L; t++)
        row[t] = border;
    float *restrict mid = row + pw;
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t i0 = oh * sh - ph, i1 = i0 + KH;
        if (i0 < 0)
            i0 = 0;
        if (i1 > H)
            i1 = H;
        if (i0 >= i1) {
            for (int64_t c = 0; c < W; c++)
                mid[c] = border;
        } else {
            const float *restrict r = x + i0 * W;
            for (int64_t c = 0; c < W; c++)
                mid[c] = r[c];
            for (int64_t ih = i0 + 1; ih < i1; ih++) {
                r = x + ih * W;
                if (is_max)
                    for (int64_t c = 0; c < W; c++)
                        mid[c] = r[c] > mid[c] ? r[c] : mid[c];
                else
                    for (int64_t c = 0; c < W; c++)
                        mid[c] += r[c];
            }
        }
        float *restrict yr = y + oh * OW;
        if (sw == 1) {
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = row[ow];
            for (int64_t kw = 1; kw < KW; kw++) {
                const float *restrict src = row + kw;
                if (is_max)
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] = src[ow] > yr[ow] ? src[ow] : yr[ow];
                else
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] += src[ow];
            }
        } else if (sw == 2) {
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = row[2 * ow];
            for (int64_t kw = 1; kw < KW; kw++) {
                const float *restrict src = row + kw;
                if (is_max)
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] = src[2 * ow] > yr[ow] ? src[2 * ow] : yr[ow];
                else
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] += src[2 * ow];
            }
        } else {
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] = row[ow * sw];
            for (int64_t kw = 1; kw < KW; kw++) {
                const float *restrict src = row + kw;
                if (is_max)
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] = src[ow * sw] > yr[ow] ? src[ow * sw] : yr[ow];
                else
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] += src[ow * sw];
            }
        }
        if (!is_max) {
            const float rh = recips[oh], *rw = recips + OH;
            for (int64_t ow = 0; ow < OW; ow++)
                yr[ow] *= rh * rw[ow];
        }
    }
}

typedef void (*pool2d_fn)(const nni_pooling_geom *g, const float *x, float *y, const float *recips, float *row);

#define POOL2D_VARIANTS(SUFFIX, ATTR)                                                                          \
    ATTR static void max2d_##SUFFIX(const nni_pooling_geom *g, const float *x, float *y, const float *recips,  \
                                    float *row)                                                                \
    {                                                                                                          \
        pool2d_body(g, x, y, recips, row, true);                                                               \
    }                                                                                                          \
    ATTR static void avg2d_##SUFFIX(const nni_pooling_geom *g, const float *x, float *y, const float *recips,  \
                                    float *row)                                                                \
    {                                                                                                          \
        pool2d_body(g, x, y, recips, row, false);                                                              \
    }

POOL2D_VARIANTS(generic, )
#if POOL_X86
POOL2D_VARIANTS(avx2, __attribute__((target("avx2,fma"))))

#include <immintrin.h>
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

AVX512_INLINE __m512 red16(__m512 a, __m512 b, const bool is_max)
{
    return is_max ? _mm512_max_ps(b, a) : _mm512_add_ps(a, b); /* max(b, a): a when b is NaN, as the scalar code */
}

/* The same with explicit masked vectors: rows here are short (7..112), so
 * the scalar remainders of auto-vectorized loops would dominate. */
AVX512_INLINE void pool2d_avx512_body(const nni_pooling_geom *g, const float *restrict x, float *restrict y,
                                      const float *recips, float *restrict row, const bool is_max)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t ph = g->pad_begin[0], pw = g->pad_begin[1], L = row_len(g);
    if (sw > 2) {
        pool2d_body(g, x, y, recips, row, is_max);
        return;
    }
    const float border = is_max ? -INFINITY : 0.0f;
    for (int64_t t = 0; t < pw; t++)
        row[t] = border;
    for (int64_t t = pw + W; t < L + KW + ROW_SLACK; t++)
        row[t] = border;
    float *restrict mid = row + pw;
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int64_t oh = 0; oh < OH; oh++) {
        int64_t i0 = oh * sh - ph, i1 = i0 + KH;
        if (i0 < 0)
            i0 = 0;
        if (i1 > H)
            i1 = H;
        for (int64_t c = 0; c < W; c += 16) {
            __mmask16 m = W - c >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (W - c)) - 1u);
            __m512 acc = _mm512_set1_ps(border);
            if (i0 < i1) {
                acc = _mm512_maskz_loadu_ps(m, x + i0 * W + c);
                for (int64_t ih = i0 + 1; ih < i1; ih++)
                    acc = red16(acc, _mm512_maskz_loadu_ps(m, x + ih * W + c), is_max);
            }
            _mm512_mask_storeu_ps(mid + c, m, acc);
        }
        float *restrict yr = y + oh * OW;
        const __m512 rh = is_max ? _mm512_setzero_ps() : _mm512_set1_ps(recips[oh]);
        for (int64_t ow = 0; ow < OW; ow += 16) {
            __mmask16 m = OW - ow >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (OW - ow)) - 1u);
            __m512 acc;
            if (sw == 1) {
                acc = _mm512_loadu_ps(row + ow);
                for (int64_t kw = 1; kw < KW; kw++)
                    acc = red16(acc, _mm512_loadu_ps(row + ow + kw), is_max);
            } else {
                const float *r = row + 2 * ow;
                acc = _mm512_permutex2var_ps(_mm512_loadu_ps(r), even, _mm512_loadu_ps(r + 16));
                for (int64_t kw = 1; kw < KW; kw++)
                    acc = red16(acc, _mm512_permutex2var_ps(_mm512_loadu_ps(r + kw), even, _mm512_loadu_ps(r + kw + 16)),
                                is_max);
            }
            if (!is_max)
                acc = _mm512_mul_ps(acc, _mm512_mul_ps(rh, _mm512_maskz_loadu_ps(m, recips + OH + ow)));
            _mm512_mask_storeu_ps(yr + ow, m, acc);
        }
    }
}

__attribute__((target("avx512f"))) static void max2d_avx512(const nni_pooling_geom *g, const float *x, float *y,
                                                            const float *recips, float *row)
{
    pool2d_avx512_body(g, x, y, recips, row, true);
}

__attribute__((target("avx512f"))) static void avg2d_avx512(const nni_pooling_geom *g, const float *x, float *y,
                                                            const float *recips, float *row)
{
    pool2d_avx512_body(g, x, y, recips, row, false);
}
#endif

static pool2d_fn g_max2d = max2d_generic, g_avg2d = avg2d_generic;
static pthread_once_t g_pool_once = PTHREAD_ONCE_INIT;

static void pool_isa_detect(void)
{
#if POOL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        g_max2d = max2d_avx512;
        g_avg2d = avg2d_avx512;
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_max2d = max2d_avx2;
        g_avg2d = avg2d_avx2;
    }
#endif
}

bool nni_pooling2d_force_isa(const char *name)
{
    pthread_once(&g_pool_once, pool_isa_detect);
    if (!name) {
        pool_isa_detect();
        return true;
    }
    if (strcmp(name, "generic") == 0) {
        g_max2d = max2d_generic;
        g_avg2d = avg2d_generic;
        return true;
    }
#if POOL_X86
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_max2d = max2d_avx2;
        g_avg2d = avg2d_avx2;
        return true;
    }
    if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f")) {
        g_max2d = max2d_avx512;
        g_avg2d = avg2d_avx512;
        return true;
    }
#endif
    return false;
}

void nni_pooling2d_max_f32(const nni_pooling_geom *g, const float *x, float *y, void *ws)
{
    pthread_once(&g_pool_once, pool_isa_detect);
    g_max2d(g, x, y, NULL, ws);
}

void nni_pooling2d_avg_f32(const nni_pooling_geom *g, const float *x, float *y, const float *recips, void *ws)
{
    pthread_once(&g_pool_once, pool_isa_detect);
    g_avg2d(g, x, y, recips, ws);
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
