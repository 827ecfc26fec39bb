/* conv.c — im2col / col2im patch movement and the direct depthwise convolution. */
#include <pthread.h>
#include <string.h>

#include "kernels/conv.h"

#if defined(__x86_64__) || defined(__i386__)
#define CONV_X86 1
#else
#define CONV_X86 0
#endif

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* Loop bodies compiled once per ISA (see the *_body functions), chosen once at run time. */
typedef struct dw_pad dw_pad;
typedef void (*dw_plane_fn)(const nni_conv_geom *g, const dw_pad *pd, const float *x, const float *w, float bias,
                            float *y, float *buf);
typedef void (*transpose_fn)(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd);
typedef void (*transpose_epi_fn)(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd,
                                 const nni_epilogue *e, int64_t row0, int64_t col0);
typedef struct {
    nni_task_fn im2col;
    dw_plane_fn dw_plane;
    transpose_fn transpose;
    transpose_epi_fn transpose_epi; /* NULL: transpose, then nni_epilogue_apply */
} conv_isa;
static const conv_isa *isa(void);

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
 * The patch loops copy short runs (a kernel row's slice of one output line,
 * split at GEMM panels); calling memmove for each costs more than the copy,
 * so keep GCC from turning those loops back into library calls.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC push_options
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

/* dst[ow - a] for ow in [a, b): the image line at x[ow*s + off] inside [lo, hi), zero outside. */
static inline __attribute__((always_inline)) void gather_line(float *restrict dst, const float *restrict x, int64_t s,
                                                              int64_t off, int64_t a, int64_t b, int64_t lo,
                                                              int64_t hi)
{
    lo = max64(a, min64(lo, b));
    hi = max64(lo, min64(hi, b));
    for (int64_t ow = a; ow < lo; ow++)
        dst[ow - a] = 0.0f;
    if (s == 1) {
        /* a plain loop, not memcpy: the pieces are short and this body is compiled per ISA */
        float *restrict d = dst + (lo - a);
        const float *restrict src = x + lo + off;
        for (int64_t t = 0; t < hi - lo; t++)
            d[t] = src[t];
    } else if (s == 2) { /* a constant stride vectorizes as loads + permutes */
        float *restrict d = dst + (lo - a);
        const float *restrict src = x + 2 * lo + off;
        for (int64_t t = 0; t < hi - lo; t++)
            d[t] = src[2 * t];
    } else {
        for (int64_t ow = lo; ow < hi; ow++)
            dst[ow - a] = x[ow * s + off];
    }
    for (int64_t ow = hi; ow < b; ow++)
        dst[ow - a] = 0.0f;
}

/*
 * Walk columns [p0, p1) of im2col row r (kernel offset koff[d] = k*dil - pad
 * per dim) one output line at a time. Gather (x != NULL) writes the row into
 * colw: plainly (nr == 0: colw[p - p0]) or in GEMM B panels (nr > 0: column
 * t = p - p0 at colw[((t / nr) * K + r) * nr + t % nr]). Scatter (y != NULL)
 * adds the plain row colr into the image.
 */
static inline __attribute__((always_inline)) void walk_row(const nni_conv_geom *g, const int64_t *koff, int64_t p0,
                                                           int64_t p1, const float *restrict x, float *restrict colw,
                                                           int64_t nr, int64_t K, int64_t r, float *restrict y,
                                                           const float *restrict colr)
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
        int64_t lo = line_lo, hi = line_hi;
        if (!inside)
            lo = hi = a;
        if (x) {
            const float *xl = inside ? x + base : x;
            if (nr == 0) {
                gather_line(colw + (p - p0), xl, s, off, a, b, lo, hi);
            } else {
                /* split the line where it crosses B panels */
                for (int64_t u = a; u < b;) {
                    int64_t t = p - p0 + (u - a), j = t % nr, v = min64(b, u + (nr - j));
                    gather_line(colw + ((t / nr) * K + r) * nr + j, xl, s, off, u, v, lo, hi);
                    u = v;
                }
            }
        } else {
            lo = max64(a, lo);
            hi = min64(b, hi);
            int64_t t = p - p0 - a; /* column index of output position ow is t + ow */
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
    int64_t kvol, ivol, p0, p1;
    int64_t nr, rows; /* packed im2col: panel width and K (0 = plain) */
    int64_t ld;       /* plain: row stride of the columns (0 = p1 - p0) */
    const float *x;
    float *col;
    const float *colr;
    float *y;
} patch_job;

static inline __attribute__((always_inline)) void im2col_body(const patch_job *j, int64_t begin, int64_t end)
{
    int64_t n = j->p1 - j->p0;
    for (int64_t r = begin; r < end; r++) {
        int64_t koff[NNI_CONV_MAX_DIMS];
        row_offsets(j->g, r % j->kvol, koff);
        const float *xc = j->x + (r / j->kvol) * j->ivol;
        if (!j->nr) {
            walk_row(j->g, koff, j->p0, j->p1, xc, j->col + r * (j->ld ? j->ld : n), 0, 0, r, NULL, NULL);
            continue;
        }
        walk_row(j->g, koff, j->p0, j->p1, xc, j->col, j->nr, j->rows, r, NULL, NULL);
        if (n % j->nr) { /* zero the last panel past column n */
            float *tail = j->col + ((n / j->nr) * j->rows + r) * j->nr;
            for (int64_t t = n % j->nr; t < j->nr; t++)
                tail[t] = 0.0f;
        }
    }
}

static void im2col_generic(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    (void)tid;
    im2col_body(arg, begin, end);
}

#if CONV_X86
__attribute__((target("avx2,fma"))) static void im2col_avx2(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    (void)tid;
    im2col_body(arg, begin, end);
}

/*
 * 2-D packed im2col with explicit masked vectors: output lines are short
 * (7 to 112 positions, split again at panel edges), where compiled loops
 * spend more in scalar heads and tails than in the copy. Per im2col row
 * (channel, kh, kw) and output line: zeros for a row outside the image,
 * else the line's inputs (contiguous, or every other one for stride 2),
 * zero outside the image's columns.
 */
#include "kernels/avx512.h"

NNI_AVX512_INLINE __mmask16 range16(int64_t lo, int64_t hi)
{
    /* lanes [lo, hi) of 16, clamped */
    lo = lo < 0 ? 0 : lo > 16 ? 16 : lo;
    hi = hi < lo ? lo : hi > 16 ? 16 : hi;
    return (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
}

/* dst[i] = src[i * s] for i in [0, m) where 0 <= iw0 + i * s < W (src = row + iw0), else 0. */
NNI_AVX512 static void line16(float *dst, const float *row, int64_t iw0, int64_t s, int64_t m, int64_t W)
{
    static const int32_t even_idx[16] = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    for (int64_t i = 0; i < m; i += 16) {
        const int64_t n = m - i < 16 ? m - i : 16, base = iw0 + i * s;
        const __mmask16 out = range16(0, n);
        if (s == 1) {
            const __mmask16 in = range16(-base, W - base) & out;
            _mm512_mask_storeu_ps(dst + i, out, _mm512_maskz_loadu_ps(in, row + base));
        } else if (s == 2) {
            /* lanes 2k of a 32-float window; window lane l valid when 0 <= base + l < W */
            const __mmask16 m0 = range16(-base, W - base), m1 = range16(-base - 16, W - base - 16);
            const __m512 v = _mm512_permutex2var_ps(_mm512_maskz_loadu_ps(m0, row + base),
                                                    _mm512_loadu_si512(even_idx),
                                                    _mm512_maskz_loadu_ps(m1, row + base + 16));
            _mm512_mask_storeu_ps(dst + i, out, v);
        } else {
            for (int64_t k = 0; k < n; k++) {
                const int64_t iw = base + k * s;
                dst[i + k] = iw >= 0 && iw < W ? row[iw] : 0.0f;
            }
        }
    }
}

/* A piece of one output line inside one B panel (the same for every im2col row). */
typedef struct {
    int64_t dst;   /* (panel * K) * nr + first lane: add r * nr for row r */
    int64_t m;     /* positions */
    int64_t oh;    /* output row */
    int64_t iw;    /* input column of the first position at kernel column 0 */
} im2col_seg;

#define IM2COL_MAX_SEGS 64

NNI_AVX512 static void im2col2d_rows(const patch_job *j, const im2col_seg *seg, int64_t nseg, int64_t r0, int64_t r1)
{
    const nni_conv_geom *g = j->g;
    const int64_t H = g->in[0], W = g->in[1], KW = g->kernel[1], KH = g->kernel[0], nr = j->nr;
    const int64_t sh = g->stride[0], sw = g->stride[1], dh = g->dil[0], dw = g->dil[1], pt = g->pad[0];
    int64_t c = r0 / j->kvol, kh = r0 % j->kvol / KW, kw = r0 % KW;
    for (int64_t r = r0; r < r1; r++) {
        const float *xc = j->x + c * j->ivol;
        for (int64_t s = 0; s < nseg; s++) {
            const im2col_seg *sg = &seg[s];
            float *dst = j->col + sg->dst + r * nr;
            const int64_t ih = sg->oh * sh + kh * dh - pt;
            if (ih >= 0 && ih < H)
                line16(dst, xc + ih * W, sg->iw + kw * dw, sw, sg->m, W);
            else
                for (int64_t i = 0; i < sg->m; i += 16)
                    _mm512_mask_storeu_ps(dst + i, range16(0, sg->m - i), _mm512_setzero_ps());
        }
        if (++kw == KW) {
            kw = 0;
            if (++kh == KH)
                kh = 0, c++;
        }
    }
}

NNI_AVX512 static void im2col2d_packed(const patch_job *j, int64_t r0, int64_t r1)
{
    const nni_conv_geom *g = j->g;
    const int64_t OW = g->out[1], n = j->p1 - j->p0, nr = j->nr, K = j->rows;
    /* the chunk's line pieces, computed once for every row, in batches */
    im2col_seg seg[IM2COL_MAX_SEGS];
    int64_t nseg = 0, t = 0, oh = j->p0 / OW, ow = j->p0 % OW, q = 0, lane = 0;
    while (t < n) {
        int64_t len = OW - ow < n - t ? OW - ow : n - t;
        while (len > 0) {
            const int64_t m = len < nr - lane ? len : nr - lane;
            seg[nseg++] = (im2col_seg){.dst = q * K * nr + lane, .m = m, .oh = oh, .iw = ow * g->stride[1] - g->pad[1]};
            if (nseg == IM2COL_MAX_SEGS) {
                im2col2d_rows(j, seg, nseg, r0, r1);
                nseg = 0;
            }
            t += m, len -= m, ow += m;
            if ((lane += m) == nr)
                lane = 0, q++;
        }
        ow = 0, oh++;
    }
    if (nseg)
        im2col2d_rows(j, seg, nseg, r0, r1);
    if (lane) /* zero the last panel past column n */
        for (int64_t r = r0; r < r1; r++)
            for (int64_t i = lane; i < nr; i += 16)
                _mm512_mask_storeu_ps(j->col + (q * K + r) * nr + i, range16(0, nr - i), _mm512_setzero_ps());
}

__attribute__((target("avx512f"))) static void im2col_avx512(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const patch_job *j = arg;
    (void)tid;
    if (j->nr && j->g->nd == 2) {
        im2col2d_packed(j, begin, end);
        return;
    }
    im2col_body(arg, begin, end);
}
#endif

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC pop_options
#endif

void nni_im2col(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .x = x, .col = col};
    int64_t rows = channels * j.kvol;
    int64_t grain = max64(1, 32768 / (p1 - p0));
    nni_parallel_for(pool, rows, grain, isa()->im2col, &j);
}

void nni_im2col_ld(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                   int64_t ld, nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .x = x, .col = col,
                   .ld = ld};
    int64_t rows = channels * j.kvol;
    int64_t grain = max64(1, 32768 / (p1 - p0));
    nni_parallel_for(pool, rows, grain, isa()->im2col, &j);
}

void nni_im2col_packed(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, int64_t nr,
                       float *col, nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .x = x, .col = col,
                   .nr = nr};
    j.rows = channels * j.kvol;
    int64_t grain = max64(1, 32768 / (p1 - p0));
    nni_parallel_for(pool, j.rows, grain, isa()->im2col, &j);
}

static void col2im_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const patch_job *j = arg;
    (void)tid;
    int64_t n = j->ld ? j->ld : j->p1 - j->p0;
    for (int64_t c = begin; c < end; c++)
        for (int64_t kidx = 0; kidx < j->kvol; kidx++) {
            int64_t koff[NNI_CONV_MAX_DIMS];
            int64_t r = c * j->kvol + kidx;
            row_offsets(j->g, kidx, koff);
            walk_row(j->g, koff, j->p0, j->p1, NULL, NULL, 0, 0, r, j->y + c * j->ivol, j->colr + r * n);
        }
}

void nni_col2im(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, float *y,
                nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .colr = col, .y = y};
    int64_t grain = max64(1, 32768 / ((p1 - p0) * j.kvol));
    nni_parallel_for(pool, channels, grain, col2im_task, &j);
}

void nni_col2im_ld(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, int64_t ld,
                   float *y, nni_pool *pool)
{
    if (p1 <= p0 || channels <= 0)
        return;
    patch_job j = {.g = g, .kvol = kernel_volume(g), .ivol = image_volume(g), .p0 = p0, .p1 = p1, .colr = col, .y = y,
                   .ld = ld};
    int64_t grain = max64(1, 32768 / ((p1 - p0) * j.kvol));
    nni_parallel_for(pool, channels, grain, col2im_task, &j);
}

/* ---- depthwise ---- */

/*
 * The input plane is first copied into a zero-bordered buffer covering every
 * tap, so the row loops below run without bounds checks (skipped when no
 * tap reaches outside the image).
 */
struct dw_pad {
    int64_t Hp, Wp; /* padded plane; the image sits at (pad[0], pad[1]) */
    bool copy;
};

static void dw_pad_dims(const nni_conv_geom *g, dw_pad *pd)
{
    int64_t need_h = (g->out[0] - 1) * g->stride[0] + (g->kernel[0] - 1) * g->dil[0] + 1;
    int64_t need_w = (g->out[1] - 1) * g->stride[1] + (g->kernel[1] - 1) * g->dil[1] + 1;
    pd->Hp = max64(g->in[0] + g->pad[0], need_h);
    pd->Wp = max64(g->in[1] + g->pad[1], need_w);
    pd->copy = g->pad[0] != 0 || g->pad[1] != 0 || need_h > g->in[0] || need_w > g->in[1];
}

size_t nni_conv2d_depthwise_workspace(const nni_conv_geom *g, int32_t threads)
{
    dw_pad pd;
    dw_pad_dims(g, &pd);
    size_t per = pd.copy ? ((size_t)(pd.Hp * pd.Wp) * sizeof(float) + 63) & ~(size_t)63 : 0;
    size_t bytes = per * (size_t)(threads < 1 ? 1 : threads) + 64;
    if (nni_dw_blocked_ok(g, 1)) {
        size_t b = nni_dw_blocked_workspace(g, threads) + 64;
        bytes = b > bytes ? b : bytes;
    }
    return bytes;
}

/* One output plane; the body is compiled once per ISA below so the row loops vectorize wide. */
static inline __attribute__((always_inline)) void dw_plane_body(const nni_conv_geom *g, const dw_pad *pd,
                                                                const float *restrict x, const float *restrict w,
                                                                float bias, float *restrict y, float *restrict buf)
{
    const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sh = g->stride[0], sw = g->stride[1];
    const int64_t dh = g->dil[0], dw = g->dil[1];
    const float *xp = x;
    int64_t Wp = W;
    if (pd->copy) {
        const int64_t top = g->pad[0], left = g->pad[1];
        Wp = pd->Wp;
        for (int64_t r = 0; r < pd->Hp; r++) {
            float *restrict row = buf + r * Wp;
            int64_t ih = r - top;
            if (ih < 0 || ih >= H) {
                for (int64_t t = 0; t < Wp; t++)
                    row[t] = 0.0f;
                continue;
            }
            const float *restrict src = x + ih * W;
            for (int64_t t = 0; t < left; t++)
                row[t] = 0.0f;
            for (int64_t t = 0; t < W; t++)
                row[left + t] = src[t];
            for (int64_t t = left + W; t < Wp; t++)
                row[t] = 0.0f;
        }
        xp = buf;
    }
    if (KH == 3 && KW == 3) {
        const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8];
        for (int64_t oh = 0; oh < OH; oh++) {
            const float *restrict r0 = xp + oh * sh * Wp, *restrict r1 = r0 + dh * Wp, *restrict r2 = r1 + dh * Wp;
            float *restrict yr = y + oh * OW;
            if (sw == 1 && dw == 1) {
                for (int64_t ow = 0; ow < OW; ow++)
                    yr[ow] = bias + w0 * r0[ow] + w1 * r0[ow + 1] + w2 * r0[ow + 2] + w3 * r1[ow] + w4 * r1[ow + 1] +
                             w5 * r1[ow + 2] + w6 * r2[ow] + w7 * r2[ow + 1] + w8 * r2[ow + 2];
            } else if (sw == 2 && dw == 1) {
                for (int64_t ow = 0; ow < OW; ow++)
                    yr[ow] = bias + w0 * r0[2 * ow] + w1 * r0[2 * ow + 1] + w2 * r0[2 * ow + 2] + w3 * r1[2 * ow] +
                             w4 * r1[2 * ow + 1] + w5 * r1[2 * ow + 2] + w6 * r2[2 * ow] + w7 * r2[2 * ow + 1] +
                             w8 * r2[2 * ow + 2];
            } else {
                for (int64_t ow = 0; ow < OW; ow++) {
                    int64_t i = ow * sw;
                    yr[ow] = bias + w0 * r0[i] + w1 * r0[i + dw] + w2 * r0[i + 2 * dw] + w3 * r1[i] +
                             w4 * r1[i + dw] + w5 * r1[i + 2 * dw] + w6 * r2[i] + w7 * r2[i + dw] +
                             w8 * r2[i + 2 * dw];
                }
            }
        }
        return;
    }
    for (int64_t oh = 0; oh < OH; oh++) {
        float *restrict yr = y + oh * OW;
        for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] = bias;
        for (int64_t kh = 0; kh < KH; kh++) {
            const float *restrict xr = xp + (oh * sh + kh * dh) * Wp;
            for (int64_t kw = 0; kw < KW; kw++) {
                const float wv = w[kh * KW + kw];
                const float *restrict src = xr + kw * dw;
                if (sw == 1)
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] += wv * src[ow];
                else
                    for (int64_t ow = 0; ow < OW; ow++)
                        yr[ow] += wv * src[ow * sw];
            }
        }
    }
}

static void dw_plane_generic(const nni_conv_geom *g, const dw_pad *pd, const float *x, const float *w, float bias,
                             float *y, float *buf)
{
    dw_plane_body(g, pd, x, w, bias, y, buf);
}

#if CONV_X86
__attribute__((target("avx2,fma"))) static void dw_plane_avx2(const nni_conv_geom *g, const dw_pad *pd,
                                                              const float *x, const float *w, float bias, float *y,
                                                              float *buf)
{
    dw_plane_body(g, pd, x, w, bias, y, buf);
}

__attribute__((target("avx512f"))) static void dw_plane_avx512(const nni_conv_geom *g, const dw_pad *pd,
                                                               const float *x, const float *w, float bias, float *y,
                                                               float *buf)
{
    dw_plane_body(g, pd, x, w, bias, y, buf);
}
#endif

typedef struct {
    const nni_conv_geom *g;
    dw_pad pd;
    int64_t M, mult, ivol, ovol, kvol;
    const float *x, *w, *bias;
    const nni_epilogue *epi;
    float *y;
    char *ws;
    size_t ws_each;
    dw_plane_fn fn;
} dw_job;

static void dw_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const dw_job *j = arg;
    float *buf = (float *)(j->ws + (size_t)tid * j->ws_each);
    for (int64_t q = begin; q < end; q++) {
        int64_t m = q % j->M;
        float *y = j->y + q * j->ovol;
        j->fn(j->g, &j->pd, j->x + (q / j->mult) * j->ivol, j->w + m * j->kvol, j->bias ? j->bias[m] : 0.0f, y, buf);
        if (j->epi) { /* finish the plane while it is in cache */
            nni_epilogue e = *j->epi;
            e.residual = e.residual ? e.residual + q * j->ovol : NULL;
            e.ldr = 0;
            nni_epilogue_apply(&e, y, j->ovol, m, 1, 0, j->ovol);
        }
    }
}

void nni_conv2d_depthwise(const nni_conv_geom *g, int64_t planes, int64_t M, int64_t mult, const float *x,
                          const float *w, const float *bias, float *y, void *ws, nni_pool *pool)
{
    nni_conv2d_depthwise_epi(g, planes, M, mult, x, w, bias, NULL, y, ws, pool);
}

void nni_conv2d_depthwise_epi(const nni_conv_geom *g, int64_t planes, int64_t M, int64_t mult, const float *x,
                              const float *w, const float *bias, const nni_epilogue *epi, float *y, void *ws,
                              nni_pool *pool)
{
    if (nni_dw_blocked_ok(g, mult)) {
        nni_dw_blocked(g, planes / M, M, x, w, bias, epi, y, ws, pool);
        return;
    }
    dw_job j = {.g = g, .M = M, .mult = mult, .ivol = g->in[0] * g->in[1], .ovol = g->out[0] * g->out[1],
                .kvol = g->kernel[0] * g->kernel[1], .x = x, .w = w, .bias = bias,
                .epi = nni_epilogue_active(epi) ? epi : NULL, .y = y, .ws = ws,
                .fn = isa()->dw_plane};
    dw_pad_dims(g, &j.pd);
    j.ws_each = j.pd.copy ? ((size_t)(j.pd.Hp * j.pd.Wp) * sizeof(float) + 63) & ~(size_t)63 : 0;
    int64_t grain = max64(1, 65536 / max64(1, j.ovol * j.kvol));
    nni_parallel_for(pool, planes, grain, dw_task, &j);
}

/* ---- transpose ---- */

static void transpose_generic(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd)
{
    for (int64_t r0 = 0; r0 < rows; r0 += 16)
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t r1 = min64(r0 + 16, rows), c1 = min64(c0 + 16, cols);
            for (int64_t c = c0; c < c1; c++)
                for (int64_t r = r0; r < r1; r++)
                    dst[c * ldd + r] = src[r * lds + c];
        }
}

#if CONV_X86
/*
 * 16 x 16 blocks through registers; edge blocks with masked loads and
 * stores. With an epilogue e, each 16-float output row gets it while it is
 * in a register: dst is then the epilogue's block at (row0, col0).
 */
NNI_AVX512 static void transpose_epi_avx512(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                                            int64_t ldd, const nni_epilogue *e, int64_t row0, int64_t col0)
{
    const bool vec_act = !e || nni_act16_ok(e->act);
    for (int64_t r0 = 0; r0 < rows; r0 += 16) {
        const int64_t nr = min64(16, rows - r0);
        const __mmask16 rm = nni_tail16(nr);
        const __m512 cb = e && e->col_bias ? _mm512_maskz_loadu_ps(rm, e->col_bias + col0 + r0) : _mm512_setzero_ps();
        for (int64_t c0 = 0; c0 < cols; c0 += 16) {
            const int64_t nc = min64(16, cols - c0);
            const __mmask16 cm = nni_tail16(nc);
            __m512 v[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                v[i] = i < nr ? _mm512_maskz_loadu_ps(cm, src + (r0 + i) * lds + c0) : _mm512_setzero_ps();
            nni_tr16(v);
            for (int64_t i = 0; i < nc; i++) {
                float *d = dst + (c0 + i) * ldd + r0;
                __m512 t = v[i];
                if (e) {
                    const int64_t row = row0 + c0 + i; /* output row = the epilogue's row */
                    if (e->row_scale)
                        t = _mm512_mul_ps(t, _mm512_set1_ps(e->row_scale[row]));
                    if (e->row_bias)
                        t = _mm512_add_ps(t, _mm512_set1_ps(e->row_bias[row]));
                    t = _mm512_add_ps(t, cb);
                    if (e->residual)
                        t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(rm, e->residual + row * e->ldr + col0 + r0));
                    if (vec_act)
                        t = nni_act16(t, e->act, e->alpha, e->beta);
                }
                _mm512_mask_storeu_ps(d, rm, t);
                if (!vec_act)
                    nni_act_apply(e->act, e->alpha, e->beta, d, nr);
            }
        }
    }
}

NNI_AVX512 static void transpose_avx512(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst,
                                        int64_t ldd)
{
    transpose_epi_avx512(src, rows, cols, lds, dst, ldd, NULL, 0, 0);
}
#endif

void nni_transpose_f32(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd)
{
    if (rows > 0 && cols > 0)
        isa()->transpose(src, rows, cols, lds, dst, ldd);
}

void nni_transpose_epi_f32(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd,
                           const nni_epilogue *e, int64_t row0, int64_t col0)
{
    if (rows <= 0 || cols <= 0)
        return;
    if (nni_epilogue_active(e) && isa()->transpose_epi) {
        isa()->transpose_epi(src, rows, cols, lds, dst, ldd, e, row0, col0);
        return;
    }
    isa()->transpose(src, rows, cols, lds, dst, ldd);
    nni_epilogue_apply(e, dst, ldd, row0, cols, col0, rows);
}

/* ---- ISA selection ---- */

static const conv_isa isa_generic = {im2col_generic, dw_plane_generic, transpose_generic, NULL};
#if CONV_X86
static const conv_isa isa_avx2 = {im2col_avx2, dw_plane_avx2, transpose_generic, NULL};
static const conv_isa isa_avx512 = {im2col_avx512, dw_plane_avx512, transpose_avx512, transpose_epi_avx512};
#endif
static const conv_isa *g_isa = &isa_generic;
static pthread_once_t g_isa_once = PTHREAD_ONCE_INIT;

static void isa_detect(void)
{
#if CONV_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        g_isa = &isa_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        g_isa = &isa_avx2;
#endif
}

static const conv_isa *isa(void)
{
    pthread_once(&g_isa_once, isa_detect);
    return g_isa;
}
