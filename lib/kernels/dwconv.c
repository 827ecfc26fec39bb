/*
 * dwconv.c — depthwise 2-D convolution, AVX-512 (one output channel per
 * input channel, kernels up to 7x7), with the convolution's epilogue.
 *
 * Depthwise planes are small (7x7 to 112x112) and each output costs only
 * KH*KW multiply-adds, so vectorizing along short rows wastes lanes and
 * loop overhead dominates. Two paths:
 *  - stride 1, "same" size: a plane is treated as one flat array (see
 *    flat_run): 16 outputs at a time, KH*KW masked loads and FMAs; stride 2
 *    the same after splitting each input plane into its four (row, column)
 *    parity planes, where every tap is again a constant offset;
 *  - otherwise, 16-channel blocks: one vector holds one pixel of 16
 *    channels; the window's input rows are transposed into a small ring of
 *    zero-bordered pixel-major rows, every output pixel is KH*KW full-width
 *    FMAs, and each output row is transposed back with the epilogue.
 */
#include <string.h>

#include "kernels/conv.h"

#if defined(__x86_64__)
#include <pthread.h>

#include "kernels/avx512.h"

#define DW_MAX_TAPS 49 /* kernels up to 7x7 */
#define S2_SEGMENT 8     /* stride 2: chunks computed per step of the phase split */

static pthread_once_t g_dwb_once = PTHREAD_ONCE_INIT;
static bool g_dwb_ok;

static void dwb_detect(void)
{
    __builtin_cpu_init();
    g_dwb_ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}

bool nni_dw_blocked_ok(const nni_conv_geom *g, int64_t mult)
{
    pthread_once(&g_dwb_once, dwb_detect);
    return g_dwb_ok && mult == 1 && g->nd == 2 && g->kernel[0] <= 7 && g->kernel[1] <= 7;
}

/*
 * The bordered block covers every tap of every output: Hp x Wp pixels, of
 * which only a ring of R rows (one output row's window) is kept at a time.
 */
static int64_t ring_rows(const nni_conv_geom *g) { return (g->kernel[0] - 1) * g->dil[0] + 1; }

static void dwb_dims(const nni_conv_geom *g, int64_t *Hp, int64_t *Wp, int64_t *OWp)
{
    int64_t need_h = (g->out[0] - 1) * g->stride[0] + (g->kernel[0] - 1) * g->dil[0] + 1;
    int64_t need_w = (g->out[1] - 1) * g->stride[1] + (g->kernel[1] - 1) * g->dil[1] + 1;
    *Hp = need_h > g->in[0] + g->pad[0] ? need_h : g->in[0] + g->pad[0];
    *Wp = need_w > g->in[1] + g->pad[1] ? need_w : g->in[1] + g->pad[1];
    *OWp = (g->out[1] + 15) / 16 * 16;
}

/*
 * Stride 2 with every input column pair inside the output width: phase
 * planes of the output's width. (For the smallest outputs, 7x7, the
 * per-plane split costs more than the blocked path.)
 */
static bool flat_s2(const nni_conv_geom *g)
{
    return g->stride[0] == 2 && g->stride[1] == 2 && g->dil[0] == 1 && g->dil[1] == 1 &&
           (g->in[1] + 1) / 2 <= g->out[1] && g->out[1] >= 14;
}

static bool flat_ok(const nni_conv_geom *g)
{
    return (g->stride[0] == 1 && g->stride[1] == 1 && g->out[0] == g->in[0] && g->out[1] == g->in[1]) || flat_s2(g);
}

static int64_t flat_chunks(const nni_conv_geom *g) { return (g->out[0] * g->out[1] + 15) / 16; }

/* Floats of one thread's phase planes (stride 2): four planes of ceil(H/2) rows of OW. */
static int64_t phase_floats(const nni_conv_geom *g) { return flat_s2(g) ? 4 * ((g->in[0] + 1) / 2) * g->out[1] + 16 : 0; }

static size_t flat_table_bytes(const nni_conv_geom *g)
{
    const int64_t kvol = g->kernel[0] * g->kernel[1];
    return ((size_t)(flat_chunks(g) * kvol) * sizeof(__mmask16) + (size_t)flat_chunks(g) + (size_t)kvol * sizeof(int64_t) +
            127) & ~(size_t)63;
}

static size_t flat_workspace(const nni_conv_geom *g, int32_t threads)
{
    return flat_table_bytes(g) + (size_t)phase_floats(g) * sizeof(float) * (size_t)(threads < 1 ? 1 : threads);
}

/* Floats of one thread's pointwise planes (nni_dw_pointwise): the phase planes of a group of channels. */
#define PW_GROUP 8
static int64_t pw_buffer_floats(const nni_conv_geom *g, int64_t K) { return PW_GROUP * (phase_floats(g) + K); }

size_t nni_dw_blocked_workspace(const nni_conv_geom *g, int32_t threads)
{
    int64_t Hp, Wp, OWp;
    dwb_dims(g, &Hp, &Wp, &OWp);
    size_t each = ((size_t)((ring_rows(g) * Wp + OWp) * 16) * sizeof(float) + 63) & ~(size_t)63;
    size_t bytes = each * (size_t)(threads < 1 ? 1 : threads);
    if (flat_ok(g) && flat_workspace(g, threads) > bytes)
        bytes = flat_workspace(g, threads);
    return bytes;
}

typedef struct {
    const nni_conv_geom *g;
    int64_t M, CB, Hp, Wp, OWp;
    const float *x, *w, *bias;
    const nni_epilogue *e;
    float *y;
    char *ws;
    size_t ws_each;
} dwb_job;

/* Padded row r of planes c0..c0+nc (x = plane c0 of the image) as Wp pixel vectors at dst. */
NNI_AVX512 static void fill_row(const dwb_job *j, const float *x, int64_t nc, int64_t r, float *dst)
{
    const nni_conv_geom *g = j->g;
    const int64_t H = g->in[0], W = g->in[1], plane = H * W, left = g->pad[1];
    const int64_t right = j->Wp - left - W;
    const int64_t ih = r - g->pad[0];
    if (ih < 0 || ih >= H) {
        memset(dst, 0, (size_t)(j->Wp * 16) * sizeof(float));
        return;
    }
    if (left > 0)
        memset(dst, 0, (size_t)(left * 16) * sizeof(float));
    const float *src = x + ih * W;
    for (int64_t x0 = 0; x0 < W; x0 += 16) {
        const __mmask16 m = nni_tail16(W - x0);
        __m512 v[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++)
            v[k] = k < nc ? _mm512_maskz_loadu_ps(m, src + k * plane + x0) : _mm512_setzero_ps();
        nni_tr16(v);
        const int64_t n = W - x0 < 16 ? W - x0 : 16;
        for (int64_t k = 0; k < n; k++)
            _mm512_storeu_ps(dst + (left + x0 + k) * 16, v[k]);
    }
    if (right > 0)
        memset(dst + (left + W) * 16, 0, (size_t)(right * 16) * sizeof(float));
}

/* One output row of the block: orow[ow] = sum over taps of w[tap] * row[kh][pixel]. */
NNI_AVX512 static void block_row(const dwb_job *j, const float *const *rows, const __m512 *wv, float *orow)
{
    const nni_conv_geom *g = j->g;
    const int64_t KH = g->kernel[0], KW = g->kernel[1], sw = g->stride[1], dw = g->dil[1], OW = g->out[1];
    if (KH == 3 && KW == 3) {
        const __m512 w0 = wv[0], w1 = wv[1], w2 = wv[2], w3 = wv[3], w4 = wv[4], w5 = wv[5], w6 = wv[6], w7 = wv[7],
                     w8 = wv[8];
        const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
        const int64_t d1 = dw * 16, d2 = 2 * dw * 16, ps = sw * 16;
        int64_t ow = 0;
        for (; ow + 4 <= OW; ow += 4) {
            __m512 a[4];
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++) {
                const int64_t o = (ow + u) * ps;
                __m512 s = _mm512_mul_ps(w0, _mm512_loadu_ps(r0 + o));
                s = _mm512_fmadd_ps(w1, _mm512_loadu_ps(r0 + o + d1), s);
                s = _mm512_fmadd_ps(w2, _mm512_loadu_ps(r0 + o + d2), s);
                s = _mm512_fmadd_ps(w3, _mm512_loadu_ps(r1 + o), s);
                s = _mm512_fmadd_ps(w4, _mm512_loadu_ps(r1 + o + d1), s);
                s = _mm512_fmadd_ps(w5, _mm512_loadu_ps(r1 + o + d2), s);
                s = _mm512_fmadd_ps(w6, _mm512_loadu_ps(r2 + o), s);
                s = _mm512_fmadd_ps(w7, _mm512_loadu_ps(r2 + o + d1), s);
                a[u] = _mm512_fmadd_ps(w8, _mm512_loadu_ps(r2 + o + d2), s);
            }
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++)
                _mm512_storeu_ps(orow + (ow + u) * 16, a[u]);
        }
        for (; ow < OW; ow++) {
            const int64_t o = ow * ps;
            __m512 s = _mm512_mul_ps(w0, _mm512_loadu_ps(r0 + o));
            s = _mm512_fmadd_ps(w1, _mm512_loadu_ps(r0 + o + d1), s);
            s = _mm512_fmadd_ps(w2, _mm512_loadu_ps(r0 + o + d2), s);
            s = _mm512_fmadd_ps(w3, _mm512_loadu_ps(r1 + o), s);
            s = _mm512_fmadd_ps(w4, _mm512_loadu_ps(r1 + o + d1), s);
            s = _mm512_fmadd_ps(w5, _mm512_loadu_ps(r1 + o + d2), s);
            s = _mm512_fmadd_ps(w6, _mm512_loadu_ps(r2 + o), s);
            s = _mm512_fmadd_ps(w7, _mm512_loadu_ps(r2 + o + d1), s);
            _mm512_storeu_ps(orow + ow * 16, _mm512_fmadd_ps(w8, _mm512_loadu_ps(r2 + o + d2), s));
        }
        return;
    }
    for (int64_t ow = 0; ow < OW; ow++) {
        __m512 s = _mm512_setzero_ps();
        for (int64_t kh = 0; kh < KH; kh++) {
            const float *p = rows[kh] + ow * sw * 16;
            for (int64_t kw = 0; kw < KW; kw++)
                s = _mm512_fmadd_ps(wv[kh * KW + kw], _mm512_loadu_ps(p + kw * dw * 16), s);
        }
        _mm512_storeu_ps(orow + ow * 16, s);
    }
}

/* Row oh of planes c0..c0+nc (image n) from orow, through the epilogue. */
NNI_AVX512 static void store_row(const dwb_job *j, int64_t n, int64_t c0, int64_t nc, int64_t oh, const float *orow)
{
    const nni_conv_geom *g = j->g;
    const nni_epilogue *e = j->e;
    const int64_t OW = g->out[1], ovol = g->out[0] * g->out[1];
    const float *rb = e ? e->row_bias : j->bias;
    const bool vec_act = !e || nni_act16_ok(e->act);
    for (int64_t ow0 = 0; ow0 < OW; ow0 += 16) {
        const __mmask16 m = nni_tail16(OW - ow0);
        __m512 v[16];
#pragma GCC unroll 16
        for (int k = 0; k < 16; k++)
            v[k] = _mm512_loadu_ps(orow + (ow0 + k) * 16);
        nni_tr16(v);
        for (int64_t q = 0; q < nc; q++) {
            const int64_t ch = c0 + q, at = (n * j->M + ch) * ovol + oh * OW + ow0;
            __m512 t = v[q];
            if (e && e->row_scale)
                t = _mm512_mul_ps(t, _mm512_set1_ps(e->row_scale[ch]));
            if (rb)
                t = _mm512_add_ps(t, _mm512_set1_ps(rb[ch]));
            if (e) {
                if (e->residual)
                    t = _mm512_add_ps(t, _mm512_maskz_loadu_ps(m, e->residual + at));
                if (vec_act)
                    t = nni_act16(t, e->act, e->alpha, e->beta);
            }
            _mm512_mask_storeu_ps(j->y + at, m, t);
            if (!vec_act)
                nni_act_apply(e->act, e->alpha, e->beta, j->y + at, OW - ow0 < 16 ? OW - ow0 : 16);
        }
    }
}

NNI_AVX512 static void dwb_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const dwb_job *j = arg;
    const nni_conv_geom *g = j->g;
    const int64_t R = ring_rows(g);
    float *ring = (float *)(j->ws + (size_t)tid * j->ws_each), *orow = ring + R * j->Wp * 16;
    const int64_t kvol = g->kernel[0] * g->kernel[1], plane = g->in[0] * g->in[1];
    /* the row buffer's padding columns are read by the transposes: keep them defined */
    memset(orow + g->out[1] * 16, 0, (size_t)((j->OWp - g->out[1]) * 16) * sizeof(float));
    for (int64_t u = a; u < b; u++) {
        const int64_t n = u / j->CB, cb = u % j->CB, c0 = cb * 16;
        const int64_t nc = j->M - c0 < 16 ? j->M - c0 : 16;
        const float *xc = j->x + (n * j->M + c0) * plane;
        float wt[DW_MAX_TAPS * 16] __attribute__((aligned(64)));
        for (int64_t k = 0; k < kvol; k++)
            for (int64_t q = 0; q < 16; q++)
                wt[k * 16 + q] = q < nc ? j->w[(c0 + q) * kvol + k] : 0.0f;
        __m512 wv[DW_MAX_TAPS];
        for (int64_t k = 0; k < kvol; k++)
            wv[k] = _mm512_load_ps(wt + k * 16);
        int64_t next = 0; /* the next padded row to bring into the ring (row r lives in slot r % R) */
        for (int64_t oh = 0; oh < g->out[0]; oh++) {
            const int64_t r0 = oh * g->stride[0], r1 = r0 + R;
            for (int64_t r = next > r0 ? next : r0; r < r1; r++)
                fill_row(j, xc, nc, r, ring + (r % R) * j->Wp * 16);
            next = r1;
            const float *rows[7];
            for (int64_t kh = 0; kh < g->kernel[0]; kh++)
                rows[kh] = ring + ((r0 + kh * g->dil[0]) % R) * j->Wp * 16;
            block_row(j, rows, wv, orow);
            store_row(j, n, c0, nc, oh, orow);
        }
    }
}

/*
 * Stride 1 with "same" output size (OH = H, OW = W): a plane is one flat
 * array, and tap (kh, kw) of output p reads input p + (kh*dh - pad_t) * W +
 * kw*dw - pad_l, the same offset for every output, when the tap lies inside
 * the image (a per-chunk, per-tap lane mask precomputed once per call). So
 * every 16 outputs of a plane cost KH*KW masked loads and FMAs: no
 * transposes, no padding copies, and short rows waste no lanes.
 */
typedef struct {
    const nni_conv_geom *g;
    int64_t M, kvol, nch;
    const float *x, *w, *bias;
    const nni_epilogue *e;
    float *y;
    const __mmask16 *masks; /* [chunk][tap] */
    const uint8_t *full;    /* [chunk]: every tap's mask is full (plain loads) */
    const int64_t *offs;    /* [tap]: offset from output position p's source element */
    float *phase;           /* stride 2: per-thread phase planes (else NULL) */
    int64_t phase_each, hph; /* floats per thread; rows per phase plane */
    const nni_pw_source *pw; /* the input computed on the fly from a pointwise convolution (else NULL) */
    float *tbuf;                /* pw: per-thread planes of its output */
    int64_t tbuf_each;          /* pw: floats per thread */
    int64_t bands, planes;      /* flat_band_task: bands per plane, planes */
} flat_job;

/* Tap geometry of the flat path on the OH x OW output grid: tap (kh, kw) of output (oh, ow) reads row
 * oh + dr[kh] (valid below hl[kh]) and column ow + dc[kw] (valid below wl[kw]) of its source plane. */
typedef struct {
    int64_t dr[7], hl[7], dc[7], wl[7];
} tap_geom;

/*
 * Per 16-output chunk and tap, the lanes whose tap lies inside its source:
 * the AND of a row test and a column test (see tap_geom), computed with
 * lane vectors of (oh, ow) that advance 16 outputs per chunk.
 */
NNI_AVX512 static void build_masks_range(const nni_conv_geom *g, const tap_geom *tg, int64_t c0, int64_t c1,
                                         __mmask16 *masks, uint8_t *full)
{
    const int64_t OH = g->out[0], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1], kvol = KH * KW;
    /* lanes of chunk c0 start at output c0 * 16 + l */
    const int64_t p0 = c0 * 16;
    __m512i oh = _mm512_set1_epi32((int32_t)(p0 / OW));
    __m512i ow = _mm512_add_epi32(_mm512_set1_epi32((int32_t)(p0 % OW)),
                                  _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0));
    const __m512i vW = _mm512_set1_epi32((int32_t)OW), one = _mm512_set1_epi32(1), step = _mm512_set1_epi32(16);
    /* wrap the lanes into rows first */
    for (__mmask16 m; (m = _mm512_cmpge_epi32_mask(ow, vW)) != 0;) {
        ow = _mm512_mask_sub_epi32(ow, m, ow, vW);
        oh = _mm512_mask_add_epi32(oh, m, oh, one);
    }
    for (int64_t c = c0; c < c1; c++) {
        const __mmask16 live = nni_tail16(OH * OW - c * 16);
        __mmask16 rm[DW_MAX_TAPS], cm[DW_MAX_TAPS];
        for (int64_t kh = 0; kh < KH; kh++) {
            const __m512i i = _mm512_add_epi32(oh, _mm512_set1_epi32((int32_t)tg->dr[kh]));
            rm[kh] = _mm512_cmpge_epi32_mask(i, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(i, _mm512_set1_epi32((int32_t)tg->hl[kh])) & live;
        }
        for (int64_t kw = 0; kw < KW; kw++) {
            const __m512i i = _mm512_add_epi32(ow, _mm512_set1_epi32((int32_t)tg->dc[kw]));
            cm[kw] = _mm512_cmpge_epi32_mask(i, _mm512_setzero_si512()) &
                     _mm512_cmplt_epi32_mask(i, _mm512_set1_epi32((int32_t)tg->wl[kw]));
        }
        bool all = true;
        for (int64_t k = 0; k < kvol; k++) {
            masks[c * kvol + k] = rm[k / KW] & cm[k % KW];
            all &= masks[c * kvol + k] == 0xFFFF;
        }
        full[c] = all;
        ow = _mm512_add_epi32(ow, step);
        for (__mmask16 m; (m = _mm512_cmpge_epi32_mask(ow, vW)) != 0;) {
            ow = _mm512_mask_sub_epi32(ow, m, ow, vW);
            oh = _mm512_mask_add_epi32(oh, m, oh, one);
        }
    }
}

typedef struct {
    const nni_conv_geom *g;
    const tap_geom *tg;
    __mmask16 *masks;
    uint8_t *full;
} mask_job;

static void mask_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const mask_job *m = arg;
    (void)tid;
    build_masks_range(m->g, m->tg, a, b, m->masks, m->full);
}

/* The whole table, a large plane's split over the threads (112x112: ~15 us alone). */
static void build_masks(const nni_conv_geom *g, const tap_geom *tg, int64_t nch, __mmask16 *masks, uint8_t *full,
                        nni_pool *pool)
{
    mask_job mj = {.g = g, .tg = tg, .masks = masks, .full = full};
    nni_parallel_for(nch >= 256 ? pool : NULL, nch, 64, mask_task, &mj);
}

/*
 * Phase planes (stride 2): four planes of hph rows of OW floats, by (row
 * parity, column parity); input row ih's even columns start at
 * phase_row(ih), its odd ones hph * OW further.
 */
static inline int64_t phase_row(int64_t ih, int64_t hph, int64_t OW) { return ((ih & 1) * 2 * hph + (ih >> 1)) * OW; }

/* The even columns of the 32 pixels lo:hi to d (lanes me), the odd ones to d + odd_off (lanes mo). */
NNI_AVX512_INLINE void store_even_odd(float *d, int64_t odd_off, __mmask16 me, __mmask16 mo, __m512 lo, __m512 hi)
{
    const __m512i ev = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i od = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    _mm512_mask_storeu_ps(d, me, _mm512_permutex2var_ps(lo, ev, hi));
    _mm512_mask_storeu_ps(d + odd_off, mo, _mm512_permutex2var_ps(lo, od, hi));
}

/* Split rows [ih0, ih1) of input plane x (H x W) into its phase planes. */
NNI_AVX512 static void deinterleave_rows(const nni_conv_geom *g, const float *x, float *ph, int64_t hph, int64_t ih0,
                                         int64_t ih1)
{
    const int64_t W = g->in[1], OW = g->out[1];
    const int64_t w0 = (W + 1) / 2, w1 = W / 2;
    for (int64_t ih = ih0; ih < ih1; ih++) {
        const float *row = x + ih * W;
        float *p0 = ph + phase_row(ih, hph, OW);
        for (int64_t c0 = 0; c0 < w0; c0 += 16) {
            const int64_t b = 2 * c0;
            store_even_odd(p0 + c0, hph * OW, nni_tail16(w0 - c0), nni_tail16(w1 - c0),
                           _mm512_maskz_loadu_ps(nni_tail16(W - b), row + b),
                           _mm512_maskz_loadu_ps(nni_tail16(W - b - 16), row + b + 16));
        }
    }
}

/* Chunks [cs, ce) of plane q (channel m) from its source x (the input plane or its phase planes), through the epilogue. */
NNI_AVX512_INLINE void flat_plane_chunks(const flat_job *j, int64_t q, const float *x, float *y, const __m512 *wv,
                                         __m512 sc, __m512 bi, int64_t cs, int64_t ce)
{
    const nni_epilogue *e = j->e;
    const int64_t plane = j->g->out[0] * j->g->out[1], kvol = j->kvol;
    const bool vec_act = !e || nni_act16_ok(e->act);
    /* four chunks at a time: independent accumulation chains hide the FMA latency */
    int64_t c = cs;
    if (kvol == 9) {
        const __m512 w0 = wv[0], w1 = wv[1], w2 = wv[2], w3 = wv[3], w4 = wv[4], w5 = wv[5], w6 = wv[6],
                     w7 = wv[7], w8 = wv[8];
        const int64_t o0 = j->offs[0], o1 = j->offs[1], o2 = j->offs[2], o3 = j->offs[3], o4 = j->offs[4],
                      o5 = j->offs[5], o6 = j->offs[6], o7 = j->offs[7], o8 = j->offs[8];
        for (; c + 4 <= ce; c += 4) {
            __m512 acc[4];
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++) {
                const __mmask16 *mk = j->masks + (c + u) * 9;
                const float *xp = x + (c + u) * 16;
                if (j->full[c + u]) {
                    __m512 s0 = _mm512_mul_ps(w0, _mm512_loadu_ps(xp + o0));
                    __m512 s1 = _mm512_mul_ps(w1, _mm512_loadu_ps(xp + o1));
                    __m512 s2 = _mm512_mul_ps(w2, _mm512_loadu_ps(xp + o2));
                    s0 = _mm512_fmadd_ps(w3, _mm512_loadu_ps(xp + o3), s0);
                    s1 = _mm512_fmadd_ps(w4, _mm512_loadu_ps(xp + o4), s1);
                    s2 = _mm512_fmadd_ps(w5, _mm512_loadu_ps(xp + o5), s2);
                    s0 = _mm512_fmadd_ps(w6, _mm512_loadu_ps(xp + o6), s0);
                    s1 = _mm512_fmadd_ps(w7, _mm512_loadu_ps(xp + o7), s1);
                    s2 = _mm512_fmadd_ps(w8, _mm512_loadu_ps(xp + o8), s2);
                    acc[u] = _mm512_add_ps(_mm512_add_ps(s0, s1), s2);
                    continue;
                }
                __m512 s0 = _mm512_mul_ps(w0, _mm512_maskz_loadu_ps(mk[0], xp + o0));
                __m512 s1 = _mm512_mul_ps(w1, _mm512_maskz_loadu_ps(mk[1], xp + o1));
                __m512 s2 = _mm512_mul_ps(w2, _mm512_maskz_loadu_ps(mk[2], xp + o2));
                s0 = _mm512_fmadd_ps(w3, _mm512_maskz_loadu_ps(mk[3], xp + o3), s0);
                s1 = _mm512_fmadd_ps(w4, _mm512_maskz_loadu_ps(mk[4], xp + o4), s1);
                s2 = _mm512_fmadd_ps(w5, _mm512_maskz_loadu_ps(mk[5], xp + o5), s2);
                s0 = _mm512_fmadd_ps(w6, _mm512_maskz_loadu_ps(mk[6], xp + o6), s0);
                s1 = _mm512_fmadd_ps(w7, _mm512_maskz_loadu_ps(mk[7], xp + o7), s1);
                s2 = _mm512_fmadd_ps(w8, _mm512_maskz_loadu_ps(mk[8], xp + o8), s2);
                acc[u] = _mm512_add_ps(_mm512_add_ps(s0, s1), s2);
            }
#pragma GCC unroll 4
            for (int u = 0; u < 4; u++) {
                const int64_t p0 = (c + u) * 16;
                const __mmask16 om = nni_tail16(plane - p0);
                __m512 v = _mm512_fmadd_ps(acc[u], sc, bi);
                if (e && e->residual)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(om, e->residual + q * plane + p0));
                if (e && vec_act)
                    v = nni_act16(v, e->act, e->alpha, e->beta);
                _mm512_mask_storeu_ps(y + p0, om, v);
            }
        }
    }
    for (; c < ce; c++) {
        const __mmask16 *mk = j->masks + c * kvol;
        const int64_t p0 = c * 16;
        __m512 acc = _mm512_setzero_ps();
        for (int64_t k = 0; k < kvol; k++)
            acc = _mm512_fmadd_ps(wv[k], _mm512_maskz_loadu_ps(mk[k], x + p0 + j->offs[k]), acc);
        const __mmask16 om = nni_tail16(plane - p0);
        acc = _mm512_fmadd_ps(acc, sc, bi);
        if (e && e->residual)
            acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(om, e->residual + q * plane + p0));
        if (e && vec_act)
            acc = nni_act16(acc, e->act, e->alpha, e->beta);
        _mm512_mask_storeu_ps(y + p0, om, acc);
    }
}

/*
 * Chunks [c0, c1) of output plane q (channel m) from input plane xin, after
 * its phase split for stride 2 (unless xin already is the phase planes; a
 * split plane is always computed whole).
 */
NNI_AVX512 static void flat_plane(const flat_job *j, int64_t q, const float *xin, bool presplit, int32_t tid,
                                  int64_t c0, int64_t c1)
{
    const nni_epilogue *e = j->e;
    const int64_t plane = j->g->out[0] * j->g->out[1], kvol = j->kvol, m = q % j->M;
    const bool vec_act = !e || nni_act16_ok(e->act);
    const float *wk = j->w + m * kvol;
    float *ph = j->phase && !presplit ? j->phase + tid * j->phase_each : NULL; /* stride 2: the phase planes */
    const float *x = ph ? ph : xin;
    int64_t split_rows = 0; /* input rows already split into the phase planes */
    float *y = j->y + q * plane;
    const float *rb = e ? e->row_bias : j->bias;
    const __m512 sc = _mm512_set1_ps(e && e->row_scale ? e->row_scale[m] : 1.0f);
    const __m512 bi = _mm512_set1_ps(rb ? rb[m] : 0.0f);
    __m512 wv[DW_MAX_TAPS];
    for (int64_t k = 0; k < kvol; k++)
        wv[k] = _mm512_set1_ps(wk[k]);
    /*
     * Stride 2: the phase split goes a few chunks ahead of the convolution
     * instead of a whole plane before it, so that the input streams in
     * while the previous chunks compute (a pass of each cost about as
     * much as both interleaved).
     */
    const int64_t seg = ph ? S2_SEGMENT : c1 - c0;
    for (int64_t cs = c0; cs < c1; cs += seg) {
        const int64_t ce = cs + seg < c1 ? cs + seg : c1;
        if (ph) {
            const nni_conv_geom *g = j->g;
            const int64_t last_oh = (ce * 16 - 1) / g->out[1];
            int64_t need = 2 * last_oh + g->kernel[0] - g->pad[0] + 1;
            need = need < g->in[0] ? need : g->in[0];
            if (need > split_rows) {
                deinterleave_rows(g, xin, ph, j->hph, split_rows, need);
                split_rows = need;
            }
        }
        flat_plane_chunks(j, q, x, y, wv, sc, bi, cs, ce);
    }
    if (e && !vec_act) {
        const int64_t p0 = c0 * 16, p1 = c1 * 16 < plane ? c1 * 16 : plane;
        nni_act_apply(e->act, e->alpha, e->beta, y + p0, p1 - p0);
    }
}

NNI_AVX512 static void flat_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const flat_job *j = arg;
    for (int64_t q = a; q < b; q++)
        flat_plane(j, q, j->x + q * j->g->in[0] * j->g->in[1], false, tid, 0, j->nch);
}

/*
 * Small planes (stride 1, 16x16 and below), where every chunk spans a row
 * border and needs masked loads: four planes at a time, so each tap's lane
 * mask is loaded once for all four, and the weights come from memory as the
 * FMA's broadcast operand. The one-plane loop spent more instructions on
 * masks and setup than on FMAs (MobileNet-v2's 14x14 depthwise layers ran at
 * ~25% of the FMA rate; 14x14 and 7x7 layers 10-30% faster this way; 28x28
 * ones, with some unmasked chunks, 5-15% slower).
 */
#define FLAT_GROUP 4
NNI_AVX512_INLINE void flat4_tap(const flat_job *j, const float *const *x, const float *const *w, int64_t p0, int64_t k,
                                 __mmask16 m, __m512 *a)
{
    const int64_t o = p0 + j->offs[k];
#pragma GCC unroll 4
    for (int i = 0; i < FLAT_GROUP; i++)
        a[i] = _mm512_fmadd_ps(_mm512_set1_ps(w[i][k]), _mm512_maskz_loadu_ps(m, x[i] + o), a[i]);
}

NNI_AVX512 static void flat4_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const flat_job *j = arg;
    const nni_epilogue *e = j->e;
    const int64_t iplane = j->g->in[0] * j->g->in[1], plane = j->g->out[0] * j->g->out[1], kvol = j->kvol;
    const bool vec_act = !e || nni_act16_ok(e->act);
    const float *rb = e ? e->row_bias : j->bias;
    (void)tid;
    for (int64_t u = a; u < b; u++) {
        const int64_t q0 = u * FLAT_GROUP;
        const float *x[FLAT_GROUP], *w[FLAT_GROUP];
        float *y[FLAT_GROUP];
        __m512 sc[FLAT_GROUP], bi[FLAT_GROUP];
        for (int i = 0; i < FLAT_GROUP; i++) {
            const int64_t q = q0 + i, m = q % j->M;
            x[i] = j->x + q * iplane;
            w[i] = j->w + m * kvol;
            y[i] = j->y + q * plane;
            sc[i] = _mm512_set1_ps(e && e->row_scale ? e->row_scale[m] : 1.0f);
            bi[i] = _mm512_set1_ps(rb ? rb[m] : 0.0f);
        }
        for (int64_t c = 0; c < j->nch; c++) {
            const __mmask16 *mk = j->masks + c * kvol;
            const int64_t p0 = c * 16;
            __m512 acc[FLAT_GROUP] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
            if (kvol == 9) {
#pragma GCC unroll 9
                for (int64_t k = 0; k < 9; k++)
                    flat4_tap(j, x, w, p0, k, mk[k], acc);
            } else {
                for (int64_t k = 0; k < kvol; k++)
                    flat4_tap(j, x, w, p0, k, mk[k], acc);
            }
            const __mmask16 om = nni_tail16(plane - p0);
#pragma GCC unroll 4
            for (int i = 0; i < FLAT_GROUP; i++) {
                __m512 v = _mm512_fmadd_ps(acc[i], sc[i], bi[i]);
                if (e && e->residual)
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(om, e->residual + (q0 + i) * plane + p0));
                if (e && vec_act)
                    v = nni_act16(v, e->act, e->alpha, e->beta);
                _mm512_mask_storeu_ps(y[i] + p0, om, v);
            }
        }
        if (e && !vec_act)
            for (int i = 0; i < FLAT_GROUP; i++)
                nni_act_apply(e->act, e->alpha, e->beta, y[i], plane);
    }
}

/* Stride 1 by bands: item u is band u / planes of plane u % planes (band-major). */
NNI_AVX512 static void flat_band_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const flat_job *j = arg;
    for (int64_t u = a; u < b; u++) {
        const int64_t band = u / j->planes, q = u % j->planes;
        flat_plane(j, q, j->x + q * j->g->in[0] * j->g->in[1], false, tid, band * j->nch / j->bands,
                   (band + 1) * j->nch / j->bands);
    }
}

/*
 * The pointwise planes are computed in register tiles of 8 channels x 32
 * pixels: per input channel 2 vector loads and 8 broadcasts feed 16 FMAs;
 * the epilogue (scale, bias, clamp) runs on the registers and the tile is
 * stored split into even and odd columns (the phase planes of stride 2).
 */
typedef struct {
    float bi[PW_GROUP];               /* per channel of the group */
    float lo, hi;                     /* the activation as a clamp (ReLU, Clip, none) */
    bool other_act;                   /* another activation: a pass over the planes afterwards */
} pw_epi;

static void pw_epi_init(const nni_epilogue *e, int64_t m0, int64_t G, pw_epi *pe)
{
    for (int64_t g = 0; g < PW_GROUP; g++) {
        const int64_t m = m0 + (g < G ? g : 0);
        pe->bi[g] = e && e->row_bias ? e->row_bias[m] : 0.0f;
    }
    const int32_t act = e ? e->act : NNI_ACT_NONE;
    pe->lo = act == NNI_ACT_RELU ? 0.0f : act == NNI_ACT_CLIP ? e->alpha : -__builtin_inff();
    pe->hi = act == NNI_ACT_CLIP ? e->beta : __builtin_inff();
    pe->other_act = act != NNI_ACT_NONE && act != NNI_ACT_RELU && act != NNI_ACT_CLIP;
}

/*
 * Tile (channels c0 .. c0 + 8 of the group, pixels p .. p + 32 of a row, or
 * p .. p + 16 when !two; lanes outside m0/m1 unused) through the epilogue
 * into dst (channel c at dst + c * stride): the even columns (mask me) and,
 * odd_off further, the odd ones (mask mo).
 */
NNI_AVX512_INLINE void pw_tile(const float *x, int64_t K, int64_t HW, const float *w, int64_t p, __mmask16 m0,
                               __mmask16 m1, const pw_epi *pe, int64_t c0, float *dst, int64_t stride, int64_t odd_off,
                               __mmask16 me, __mmask16 mo, bool two)
{
    /* the accumulators start at the bias: the weights come scaled (see pw_phase_planes) */
    __m512 a0 = _mm512_set1_ps(pe->bi[c0]), a1 = _mm512_set1_ps(pe->bi[c0 + 1]), a2 = _mm512_set1_ps(pe->bi[c0 + 2]);
    __m512 a3 = _mm512_set1_ps(pe->bi[c0 + 3]), a4 = _mm512_set1_ps(pe->bi[c0 + 4]), a5 = _mm512_set1_ps(pe->bi[c0 + 5]);
    __m512 a6 = _mm512_set1_ps(pe->bi[c0 + 6]), a7 = _mm512_set1_ps(pe->bi[c0 + 7]);
    __m512 b0 = a0, b1 = a1, b2 = a2, b3 = a3, b4 = a4, b5 = a5, b6 = a6, b7 = a7;
    const bool full = m0 == 0xFFFF && (!two || m1 == 0xFFFF);
    for (int64_t k = 0; k < K; k++) {
        const float *xk = x + k * HW + p;
        const __m512 x0 = full ? _mm512_loadu_ps(xk) : _mm512_maskz_loadu_ps(m0, xk);
        const __m512 x1 = !two ? x0 : full ? _mm512_loadu_ps(xk + 16) : _mm512_maskz_loadu_ps(m1, xk + 16);
        const float *wk = w + k;
#define PW_ROW(c, A, B)                                                                                                \
    do {                                                                                                               \
        const __m512 wb = _mm512_set1_ps(wk[(c) * K]);                                                                 \
        A = _mm512_fmadd_ps(wb, x0, A);                                                                                \
        if (two)                                                                                                       \
            B = _mm512_fmadd_ps(wb, x1, B);                                                                            \
    } while (0)
        PW_ROW(0, a0, b0);
        PW_ROW(1, a1, b1);
        PW_ROW(2, a2, b2);
        PW_ROW(3, a3, b3);
        PW_ROW(4, a4, b4);
        PW_ROW(5, a5, b5);
        PW_ROW(6, a6, b6);
        PW_ROW(7, a7, b7);
#undef PW_ROW
    }
    const __m512 lo = _mm512_set1_ps(pe->lo), hi = _mm512_set1_ps(pe->hi);
    /* one vector (!two): its 8 even and 8 odd columns are the first lanes of the split, me/mo cover no more */
#define PW_OUT(c, A, B)                                                                                                \
    do {                                                                                                               \
        const __m512 u = nni_clamp16(A, lo, hi);                                                                       \
        store_even_odd(dst + (c) * stride, odd_off, me, mo, u, two ? nni_clamp16(B, lo, hi) : u);                      \
    } while (0)
    PW_OUT(0, a0, b0);
    PW_OUT(1, a1, b1);
    PW_OUT(2, a2, b2);
    PW_OUT(3, a3, b3);
    PW_OUT(4, a4, b4);
    PW_OUT(5, a5, b5);
    PW_OUT(6, a6, b6);
    PW_OUT(7, a7, b7);
#undef PW_OUT
}

/* The same for one channel c of the group (a group of fewer than 8 channels). */
NNI_AVX512_INLINE void pw_tile1(const float *x, int64_t K, int64_t HW, const float *w, int64_t p, __mmask16 m0,
                                __mmask16 m1, const pw_epi *pe, int64_t c, float *d, int64_t odd_off, __mmask16 me,
                                __mmask16 mo)
{
    __m512 u = _mm512_set1_ps(pe->bi[c]), v = u;
    for (int64_t k = 0; k < K; k++) {
        const float *xk = x + k * HW + p;
        const __m512 wb = _mm512_set1_ps(w[k]);
        u = _mm512_fmadd_ps(wb, _mm512_maskz_loadu_ps(m0, xk), u);
        v = _mm512_fmadd_ps(wb, _mm512_maskz_loadu_ps(m1, xk + 16), v);
    }
    const __m512 lo = _mm512_set1_ps(pe->lo), hi = _mm512_set1_ps(pe->hi);
    store_even_odd(d, odd_off, me, mo, nni_clamp16(u, lo, hi), nni_clamp16(v, lo, hi));
}

/* Pixels p .. p + 32 of a row, every channel of the group (see pw_tile). */
NNI_AVX512_INLINE void pw_tiles(const float *x, int64_t K, int64_t HW, const float *w, int64_t G, int64_t p,
                                __mmask16 m0k, __mmask16 m1k, const pw_epi *pe, float *dst, int64_t stride,
                                int64_t odd_off, __mmask16 me, __mmask16 mo)
{
    if (G == PW_GROUP) {
        /* a last piece of at most 16 pixels: one vector per channel, no FMA on empty lanes */
        if (m1k == 0)
            pw_tile(x, K, HW, w, p, m0k, 0, pe, 0, dst, stride, odd_off, me, mo, false);
        else
            pw_tile(x, K, HW, w, p, m0k, m1k, pe, 0, dst, stride, odd_off, me, mo, true);
        return;
    }
    for (int64_t c = 0; c < G; c++)
        pw_tile1(x, K, HW, w + c * K, p, m0k, m1k, pe, c, dst + c * stride, odd_off, me, mo);
}

/*
 * A pointwise convolution's output planes m0 .. m0 + G of image n (G <=
 * PW_GROUP), through its epilogue, written straight into their phase planes
 * (t: G sets of phase_floats floats, laid out as deinterleave_rows does):
 * each input row in 32-pixel pieces split into even and odd columns in
 * registers.
 */
NNI_AVX512 static void pw_phase_planes(const nni_pw_source *s, const nni_conv_geom *geo, int64_t n, int64_t m0,
                                       int64_t G, int64_t hph, float *t, float *wbuf)
{
    /* the epilogue's scale folded into the group's weights (wbuf: PW_GROUP x K) */
    const int64_t K = s->K;
    const float *w = s->w + m0 * K;
    if (s->e && s->e->row_scale) {
        for (int64_t g = 0; g < G; g++)
            for (int64_t k = 0; k < K; k++)
                wbuf[g * K + k] = w[g * K + k] * s->e->row_scale[m0 + g];
        w = wbuf;
    }
    const int64_t H = geo->in[0], W = geo->in[1], HW = H * W, OW = geo->out[1];
    const int64_t w0 = (W + 1) / 2, w1 = W / 2, each = phase_floats(geo);
    const float *x = s->x + n * s->K * HW;
    pw_epi pe;
    pw_epi_init(s->e, m0, G, &pe);
    for (int64_t ih = 0; ih < H; ih++) {
        const int64_t row = phase_row(ih, hph, OW);
        for (int64_t c = 0; c < W; c += 32)
            pw_tiles(x, K, HW, w, G, ih * W + c, nni_tail16(W - c), nni_tail16(W - c - 16), &pe, t + row + c / 2, each,
                     hph * OW, nni_tail16(w0 - c / 2), nni_tail16(w1 - c / 2));
    }
    if (pe.other_act)
        for (int64_t g = 0; g < G; g++)
            nni_act_apply(s->e->act, s->e->alpha, s->e->beta, t + g * each, 4 * hph * OW);
}

/* Items are (image, group of PW_GROUP channels): the pointwise planes into this thread's buffer, then their convolution. */
NNI_AVX512 static void pw_flat_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const flat_job *j = arg;
    const int64_t groups = (j->M + PW_GROUP - 1) / PW_GROUP;
    float *t = j->tbuf + tid * j->tbuf_each;
    for (int64_t u = a; u < b; u++) {
        const int64_t n = u / groups, m0 = u % groups * PW_GROUP;
        const int64_t G = j->M - m0 < PW_GROUP ? j->M - m0 : PW_GROUP;
        pw_phase_planes(j->pw, j->g, n, m0, G, j->hph, t, t + PW_GROUP * j->phase_each);
        for (int64_t g = 0; g < G; g++)
            flat_plane(j, n * j->M + m0 + g, t + g * j->phase_each, true, tid, 0, j->nch);
    }
}

/*
 * Tap offsets (from an output position's index to its source element) and
 * the tap geometry for the masks; returns the phase planes' rows (stride 2).
 */
static int64_t flat_taps(const nni_conv_geom *g, int64_t *offs, tap_geom *tg)
{
    const int64_t H = g->in[0], W = g->in[1], OW = g->out[1], KH = g->kernel[0], KW = g->kernel[1];
    if (flat_s2(g)) {
        /* tap row 2*oh + kh - pad_t lies in the plane of row parity pr, at its row oh + dr */
        const int64_t hph = (H + 1) / 2;
        int64_t pr[7], pc[7];
        for (int64_t kh = 0; kh < KH; kh++) {
            const int64_t a = kh - g->pad[0];
            pr[kh] = ((a % 2) + 2) % 2;
            tg->dr[kh] = (a - pr[kh]) / 2;
            tg->hl[kh] = (H - pr[kh] + 1) / 2;
        }
        for (int64_t kw = 0; kw < KW; kw++) {
            const int64_t b = kw - g->pad[1];
            pc[kw] = ((b % 2) + 2) % 2;
            tg->dc[kw] = (b - pc[kw]) / 2;
            tg->wl[kw] = (W - pc[kw] + 1) / 2;
        }
        for (int64_t kh = 0; kh < KH; kh++)
            for (int64_t kw = 0; kw < KW; kw++)
                offs[kh * KW + kw] = (pr[kh] * 2 + pc[kw]) * hph * OW + tg->dr[kh] * OW + tg->dc[kw];
        return hph;
    }
    for (int64_t kh = 0; kh < KH; kh++) {
        tg->dr[kh] = kh * g->dil[0] - g->pad[0];
        tg->hl[kh] = H;
    }
    for (int64_t kw = 0; kw < KW; kw++) {
        tg->dc[kw] = kw * g->dil[1] - g->pad[1];
        tg->wl[kw] = W;
    }
    for (int64_t kh = 0; kh < KH; kh++)
        for (int64_t kw = 0; kw < KW; kw++)
            offs[kh * KW + kw] = tg->dr[kh] * W + tg->dc[kw];
    return 0;
}

static void flat_run(const nni_conv_geom *g, int64_t planes, int64_t M, const float *x, const float *w,
                     const float *bias, const nni_epilogue *epi, float *y, void *ws, nni_pool *pool,
                     const nni_pw_source *pw)
{
    const int64_t H = g->in[0], W = g->in[1], KH = g->kernel[0], KW = g->kernel[1], kvol = KH * KW;
    flat_job j = {.g = g, .M = M, .kvol = kvol, .nch = flat_chunks(g), .x = x, .w = w, .bias = bias,
                  .e = nni_epilogue_active(epi) ? epi : NULL, .y = y, .pw = pw};
    int64_t *offs = ws;
    __mmask16 *masks = (__mmask16 *)(offs + kvol);
    uint8_t *full = (uint8_t *)(masks + j.nch * kvol);
    tap_geom tg;
    j.hph = flat_taps(g, offs, &tg);
    if (flat_s2(g)) {
        j.phase_each = phase_floats(g);
        j.phase = (float *)((char *)ws + flat_table_bytes(g));
    }
    build_masks(g, &tg, j.nch, masks, full, pool);
    j.offs = offs;
    j.masks = masks;
    j.full = full;
    if (pw) {
        j.tbuf_each = pw_buffer_floats(g, pw->K);
        j.tbuf = (float *)((char *)ws + flat_workspace(g, nni_pool_threads(pool)));
        nni_parallel_for(pool, planes / M * ((M + PW_GROUP - 1) / PW_GROUP), 1, pw_flat_task, &j);
        return;
    }
    /*
     * Large planes (a network's first depthwise layer, 112x112 in MobileNet)
     * go by bands of rows, band-major: the thread that wrote those rows of
     * every channel (the layer before splits by pixels) computes them, and
     * the 1x1 GEMM after, split by columns, reads them on the same core. By
     * planes, half of the next layer's input came from the other core
     * (MobileNet-v2's 32 -> 16 1x1 at 112x112: 276-306 -> 156-192 us on a
     * busy machine, 105-113 -> 103 us on a quiet one). At 56x56 bands were
     * slower.
     */
    const int32_t threads = nni_pool_threads(pool);
    if (!j.phase && threads > 1 && H * W >= 96 * 96) {
        j.bands = threads;
        j.planes = planes;
        nni_parallel_for(pool, planes * j.bands, 1, flat_band_task, &j);
        return;
    }
    const int64_t grain = (2048 + H * W - 1) / (H * W);
    if (!j.phase && H * W <= 16 * 16) {
        const int64_t groups = planes / FLAT_GROUP, rest = planes - groups * FLAT_GROUP;
        nni_parallel_for(pool, groups, (grain + FLAT_GROUP - 1) / FLAT_GROUP, flat4_task, &j);
        if (rest)
            flat_task(&j, planes - rest, planes, 0);
        return;
    }
    nni_parallel_for(pool, planes, grain, flat_task, &j);
}

/*
 * Stride 2 only, where the pointwise output goes straight into the phase
 * planes and the separate split pass disappears (MobileNet-v2, 2 threads,
 * per layer pair: 112x112 16 -> 96 channels 450 -> 312 us, 56x56 -> 28x28
 * 188 -> 182, 28x28 -> 14x14 91 -> 77). Stride 1 at 56x56 was 5% slower on
 * 2 threads than the GEMM and the depthwise pass, and at 28x28 and below
 * up to 25% slower: re-reading the pointwise input once per group of 8
 * channels costs more than the GEMM it replaces.
 */
bool nni_dw_pointwise_ok(const nni_conv_geom *g)
{
    return nni_dw_blocked_ok(g, 1) && flat_s2(g) && g->in[0] * g->in[1] >= 28 * 28;
}

size_t nni_dw_pointwise_workspace(const nni_conv_geom *g, int64_t K, int32_t threads)
{
    return flat_workspace(g, threads) + (size_t)pw_buffer_floats(g, K) * sizeof(float) * (size_t)(threads < 1 ? 1 : threads);
}

void nni_dw_pointwise(const nni_conv_geom *g, int64_t N, int64_t M, const nni_pw_source *pw, const float *w,
                      const float *bias, const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    flat_run(g, N * M, M, NULL, w, bias, epi, y, ws, pool, pw);
}

/* ---- dense convolution of few input channels (a network's first layer) ---- */

/*
 * On the same flat grid: each 16-output chunk loads every tap of every input
 * channel once (C*KH*KW masked loads) and feeds eight output channels at a
 * time, so the image is read M/8 times instead of im2col'd into K = C*KH*KW
 * rows too short for the GEMM to be efficient.
 */
#define SC_MAX_C 4

bool nni_conv2d_smallc_ok(const nni_conv_geom *g, int64_t C)
{
    pthread_once(&g_dwb_once, dwb_detect);
    return g_dwb_ok && g->nd == 2 && C <= SC_MAX_C && g->kernel[0] <= 7 && g->kernel[1] <= 7 && flat_ok(g);
}

size_t nni_conv2d_smallc_workspace(const nni_conv_geom *g, int64_t C)
{
    return flat_table_bytes(g) + (size_t)(C * phase_floats(g)) * sizeof(float) + 64;
}

typedef struct {
    const nni_conv_geom *g;
    int64_t C, M, kvol, nch, src_plane;
    const float *src, *w;
    const nni_epilogue *e;
    float *y;
    const float *res;
    const __mmask16 *masks;
    const uint8_t *full;
    const int64_t *offs;
} sc_job;

NNI_AVX512 static void sc_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const sc_job *j = arg;
    const nni_epilogue *e = j->e;
    const int64_t oplane = j->g->out[0] * j->g->out[1], kvol = j->kvol, C = j->C, taps = C * kvol;
    const bool vec_act = !e || nni_act16_ok(e->act);
    (void)tid;
    for (int64_t c = a; c < b; c++) {
        const __mmask16 *mk = j->masks + c * kvol;
        const bool full = j->full[c];
        const int64_t p0 = c * 16;
        const __mmask16 om = nni_tail16(oplane - p0);
        __m512 v[SC_MAX_C * DW_MAX_TAPS];
        for (int64_t ci = 0; ci < C; ci++) {
            const float *base = j->src + ci * j->src_plane + p0;
            for (int64_t k = 0; k < kvol; k++)
                v[ci * kvol + k] = full ? _mm512_loadu_ps(base + j->offs[k]) : _mm512_maskz_loadu_ps(mk[k], base + j->offs[k]);
        }
        for (int64_t m0 = 0; m0 < j->M; m0 += 8) {
            const int64_t nm = j->M - m0 < 8 ? j->M - m0 : 8;
            __m512 acc[8];
            if (nm == 8) {
                const float *w = j->w + m0 * taps;
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    acc[i] = _mm512_setzero_ps();
                for (int64_t t = 0; t < taps; t++)
#pragma GCC unroll 8
                    for (int i = 0; i < 8; i++)
                        acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(w[i * taps + t]), v[t], acc[i]);
            } else {
                for (int64_t i = 0; i < nm; i++) {
                    const float *w = j->w + (m0 + i) * taps;
                    acc[i] = _mm512_setzero_ps();
                    for (int64_t t = 0; t < taps; t++)
                        acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(w[t]), v[t], acc[i]);
                }
            }
            for (int64_t i = 0; i < nm; i++) {
                const int64_t m = m0 + i;
                __m512 r = acc[i];
                if (e) {
                    if (e->row_scale)
                        r = _mm512_mul_ps(r, _mm512_set1_ps(e->row_scale[m]));
                    if (e->row_bias)
                        r = _mm512_add_ps(r, _mm512_set1_ps(e->row_bias[m]));
                    if (j->res)
                        r = _mm512_add_ps(r, _mm512_maskz_loadu_ps(om, j->res + m * oplane + p0));
                    if (vec_act)
                        r = nni_act16(r, e->act, e->alpha, e->beta);
                }
                _mm512_mask_storeu_ps(j->y + m * oplane + p0, om, r);
                if (e && !vec_act)
                    nni_act_apply(e->act, e->alpha, e->beta, j->y + m * oplane + p0, oplane - p0 < 16 ? oplane - p0 : 16);
            }
        }
    }
}

typedef struct {
    const nni_conv_geom *g;
    const float *x;
    float *phase;
    int64_t hph, iplane, C;
} sc_split;

/*
 * Items are (input row, channel) pairs, row-major: a thread splits the top or
 * bottom rows of every channel, the rows its share of the output (chunks of
 * output rows, in the same order) reads next, so they stay in its cache.
 */
static void sc_split_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const sc_split *s = arg;
    const int64_t C = s->C;
    (void)tid;
    for (int64_t i = a; i < b; i++) {
        const int64_t ci = i % C, r = i / C;
        deinterleave_rows(s->g, s->x + ci * s->iplane, s->phase + ci * phase_floats(s->g), s->hph, r, r + 1);
    }
}

void nni_conv2d_smallc(const nni_conv_geom *g, int64_t N, int64_t C, int64_t M, const float *x, const float *w,
                       const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    const int64_t kvol = g->kernel[0] * g->kernel[1], iplane = g->in[0] * g->in[1], oplane = g->out[0] * g->out[1];
    sc_job j = {.g = g, .C = C, .M = M, .kvol = kvol, .nch = flat_chunks(g), .w = w,
                .e = nni_epilogue_active(epi) ? epi : NULL};
    int64_t *offs = ws;
    __mmask16 *masks = (__mmask16 *)(offs + kvol);
    uint8_t *full = (uint8_t *)(masks + j.nch * kvol);
    tap_geom tg;
    const int64_t hph = flat_taps(g, offs, &tg);
    build_masks(g, &tg, j.nch, masks, full, pool);
    j.offs = offs, j.masks = masks, j.full = full;
    float *phase = (float *)((char *)ws + flat_table_bytes(g));
    for (int64_t n = 0; n < N; n++) {
        const float *xn = x + n * C * iplane;
        if (flat_s2(g)) {
            /* the image's few planes, split by rows over the threads (a 224x224 RGB image: ~40 us alone) */
            sc_split sp = {.g = g, .x = xn, .phase = phase, .hph = hph, .iplane = iplane, .C = C};
            nni_parallel_for(pool, C * g->in[0], 32, sc_split_task, &sp);
            j.src = phase;
            j.src_plane = phase_floats(g);
        } else {
            j.src = xn;
            j.src_plane = iplane;
        }
        j.y = y + n * M * oplane;
        j.res = j.e && j.e->residual ? j.e->residual + n * M * oplane : NULL;
        nni_parallel_for(pool, j.nch, 16, sc_task, &j);
    }
}

void nni_dw_blocked(const nni_conv_geom *g, int64_t N, int64_t M, const float *x, const float *w, const float *bias,
                    const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    if (flat_ok(g)) {
        flat_run(g, N * M, M, x, w, bias, epi, y, ws, pool, NULL);
        return;
    }
    dwb_job j = {.g = g, .M = M, .CB = (M + 15) / 16, .x = x, .w = w, .bias = bias,
                 .e = nni_epilogue_active(epi) ? epi : NULL, .y = y, .ws = ws};
    dwb_dims(g, &j.Hp, &j.Wp, &j.OWp);
    j.ws_each = nni_dw_blocked_workspace(g, 1);
    nni_parallel_for(pool, N * j.CB, 1, dwb_task, &j);
}

#else

bool nni_conv2d_smallc_ok(const nni_conv_geom *g, int64_t C)
{
    (void)g, (void)C;
    return false;
}

size_t nni_conv2d_smallc_workspace(const nni_conv_geom *g, int64_t C)
{
    (void)g, (void)C;
    return 0;
}

void nni_conv2d_smallc(const nni_conv_geom *g, int64_t N, int64_t C, int64_t M, const float *x, const float *w,
                       const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    (void)g, (void)N, (void)C, (void)M, (void)x, (void)w, (void)epi, (void)y, (void)ws, (void)pool;
}

bool nni_dw_blocked_ok(const nni_conv_geom *g, int64_t mult)
{
    (void)g, (void)mult;
    return false;
}

size_t nni_dw_blocked_workspace(const nni_conv_geom *g, int32_t threads)
{
    (void)g, (void)threads;
    return 0;
}

void nni_dw_blocked(const nni_conv_geom *g, int64_t N, int64_t M, const float *x, const float *w, const float *bias,
                    const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    (void)g, (void)N, (void)M, (void)x, (void)w, (void)bias, (void)epi, (void)y, (void)ws, (void)pool;
}

bool nni_dw_pointwise_ok(const nni_conv_geom *g)
{
    (void)g;
    return false;
}

size_t nni_dw_pointwise_workspace(const nni_conv_geom *g, int64_t K, int32_t threads)
{
    (void)g, (void)K, (void)threads;
    return 0;
}

void nni_dw_pointwise(const nni_conv_geom *g, int64_t N, int64_t M, const nni_pw_source *pw, const float *w,
                      const float *bias, const nni_epilogue *epi, float *y, void *ws, nni_pool *pool)
{
    (void)g, (void)N, (void)M, (void)pw, (void)w, (void)bias, (void)epi, (void)y, (void)ws, (void)pool;
}

#endif
