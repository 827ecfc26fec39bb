/*
 * winograd.c — F(4x4, 3x3) convolution (see winograd.h), AVX-512.
 *
 * Data flow for one image:
 *   1. the input is copied into a zero-bordered, channel-blocked layout
 *      xb[C/16][Hb][Wb][16], so every 6x6 input tile is 36 aligned vectors
 *      of 16 channels and needs no bounds tests;
 *   2. tiles are processed in blocks of `tb` (sized to stay in L2): the input
 *      transform writes v[36][tb][Kp] (per transform point a tiles x channels
 *      matrix), 36 GEMMs multiply by the transformed filters (pre-packed B
 *      panels, Kp x Np) into o[36][tb][Np], and the output transform turns each
 *      tile's 36 points into 4x4 outputs per channel, applies the epilogue and
 *      stores NCHW.
 * Blocks run in parallel when there are enough of them; otherwise each
 * phase of a block is split over the threads.
 *
 * Matrices (Lavin & Gray, points 0, +-1, +-2, inf):
 *   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
 *   G   = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
 */
#include <pthread.h>
#include <string.h>

#include "kernels/sgemm.h"
#include "kernels/winograd.h"

#if defined(__x86_64__)
#define WG_X86 1
#include <immintrin.h>
#else
#define WG_X86 0
#endif

enum { WG_P = 36, WG_CB = 16 };

/* L2 share for one block's v and o matrices. */
#define WG_BLOCK_BYTES ((int64_t)768 * 1024)

static inline int64_t rup(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

static pthread_once_t g_wg_once = PTHREAD_ONCE_INIT;
static bool g_wg_ok, g_wg_off;

static void wg_detect(void)
{
#if WG_X86
    __builtin_cpu_init();
    g_wg_ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
#endif
}

bool nni_winograd_supported(void)
{
    pthread_once(&g_wg_once, wg_detect);
    return g_wg_ok && !g_wg_off;
}

void nni_winograd_enable(bool on) { g_wg_off = !on; }

/* Filters: Kp x Np per point, in the GEMM's B panels of nr columns. */
static size_t point_floats(int64_t M, int64_t C, int64_t nr) { return (size_t)(rup(C, WG_CB) * rup(rup(M, WG_CB), nr)); }

size_t nni_winograd_weights_size(int64_t M, int64_t C)
{
    return (size_t)WG_P * point_floats(M, C, nni_sgemm_nr()) * sizeof(float);
}

void nni_winograd_transform_weights(int64_t M, int64_t C, const float *w, float *u)
{
    static const double G[6][3] = {{0.25, 0, 0},
                                   {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                   {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                   {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                   {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                   {0, 0, 1}};
    const int64_t nr = nni_sgemm_nr(), Kp = rup(C, WG_CB);
    const size_t per = point_floats(M, C, nr);
    memset(u, 0, (size_t)WG_P * per * sizeof(float));
    for (int64_t m = 0; m < M; m++)
        for (int64_t c = 0; c < C; c++) {
            const float *g = w + (m * C + c) * 9;
            double t[6][3]; /* G g */
            for (int i = 0; i < 6; i++)
                for (int k = 0; k < 3; k++)
                    t[i][k] = G[i][0] * g[k] + G[i][1] * g[3 + k] + G[i][2] * g[6 + k];
            /* element (k = c, column m) of point p, in panel m / nr */
            const size_t at = (size_t)(((m / nr) * Kp + c) * nr + m % nr);
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++)
                    u[(size_t)(i * 6 + j) * per + at] =
                        (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
        }
}

typedef struct {
    nni_winograd_geom g;
    int64_t Kp, Np, CB, NB;     /* padded channels and 16-channel blocks of input / output */
    int64_t nty, ntx, T;        /* tiles */
    int64_t Hb, Wb;             /* bordered input plane */
    int64_t tb, nblk;           /* tiles per block, blocks */
    const float *x, *u;
    const nni_epilogue *e;
    bool act_in_tile;           /* the activation is applied per tile (else in a final pass) */
    float *y, *xb;
    char *tws;                  /* per-thread: v, o, GEMM workspace */
    size_t v_bytes, o_bytes, gemm_bytes, tws_each;
    size_t u_point;             /* floats per transformed filter point */
    /* the block being run in phase-parallel mode */
    int64_t t0, tn;
    float *v, *o;
} wg_job;

static void wg_layout(const nni_winograd_geom *g, int32_t threads, wg_job *j)
{
    memset(j, 0, sizeof *j);
    j->g = *g;
    j->Kp = rup(g->C, WG_CB);
    j->Np = rup(g->M, WG_CB);
    j->CB = j->Kp / WG_CB;
    j->NB = j->Np / WG_CB;
    j->nty = (g->OH + 3) / 4;
    j->ntx = (g->OW + 3) / 4;
    j->T = j->nty * j->ntx;
    j->Hb = 4 * j->nty + 2;
    j->Wb = 4 * j->ntx + 2;
    /*
     * Every block streams all the transformed filters through the GEMMs, so
     * large filter sets (which live in L3 or memory) want few, tall blocks;
     * small ones want blocks whose v and o matrices stay in L2.
     */
    const int64_t u_bytes = WG_P * j->Kp * j->Np * (int64_t)sizeof(float);
    int64_t tb = WG_BLOCK_BYTES / (WG_P * (j->Kp + j->Np) * (int64_t)sizeof(float)) / 8 * 8;
    if (u_bytes > 2 * WG_BLOCK_BYTES)
        tb = 64;
    tb = max64(8, min64(tb, 96));
    tb = min64(tb, rup(j->T, 8));
    /* with several threads, enough blocks to share out (but not tiny ones) */
    if (threads > 1 && u_bytes <= 2 * WG_BLOCK_BYTES && (j->T + tb - 1) / tb < 2 * threads) {
        int64_t want = rup((j->T + 2 * threads - 1) / (2 * threads), 8);
        if (want >= 16)
            tb = min64(tb, want);
    }
    j->tb = tb;
    j->nblk = (j->T + tb - 1) / tb;
    j->v_bytes = (size_t)(WG_P * tb * j->Kp) * sizeof(float);
    j->o_bytes = (size_t)(WG_P * tb * j->Np) * sizeof(float);
    j->gemm_bytes = nni_sgemm_packed_workspace(tb, j->Np, j->Kp, 1);
    j->tws_each = j->v_bytes + j->o_bytes + j->gemm_bytes;
    j->u_point = point_floats(g->M, g->C, nni_sgemm_nr());
}

static size_t xb_bytes(const wg_job *j) { return (size_t)(j->CB * j->Hb * j->Wb * WG_CB) * sizeof(float); }

size_t nni_winograd_workspace(const nni_winograd_geom *g, int32_t threads)
{
    wg_job j;
    if (threads < 1)
        threads = 1;
    wg_layout(g, threads, &j);
    return xb_bytes(&j) + j.tws_each * (size_t)threads + 64;
}

#if WG_X86

#define WG_AVX512 __attribute__((target("avx512f,avx512vl")))
#define WG_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl")))

/* In-register transpose of 16 vectors of 16 floats: r[i][k] -> r[k][i]. */
WG_INLINE void tr16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
#pragma GCC unroll 4
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* r[4i + k], 128-bit lane L: rows 4i..4i+3 of column 4L + k */
#pragma GCC unroll 4
    for (int k = 0; k < 4; k++) {
        __m512 u0 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x44), u1 = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xEE);
        __m512 u2 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x44), u3 = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xEE);
        t[k] = _mm512_shuffle_f32x4(u0, u2, 0x88);
        t[4 + k] = _mm512_shuffle_f32x4(u0, u2, 0xDD);
        t[8 + k] = _mm512_shuffle_f32x4(u1, u3, 0x88);
        t[12 + k] = _mm512_shuffle_f32x4(u1, u3, 0xDD);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

static inline __mmask16 tail16(int64_t n) { return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1u); }

/* Rows [r0, r1) of the bordered, channel-blocked input (r = cb * Hb + row). */
WG_AVX512 static void xb_task(void *arg, int64_t r0, int64_t r1, int32_t tid)
{
    const wg_job *j = arg;
    const nni_winograd_geom *g = &j->g;
    (void)tid;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t cb = r / j->Hb, yb = r % j->Hb, iy = yb - g->pad_t;
        float *dst = j->xb + r * j->Wb * WG_CB;
        if (iy < 0 || iy >= g->H) {
            memset(dst, 0, (size_t)(j->Wb * WG_CB) * sizeof(float));
            continue;
        }
        const int64_t nc = min64(WG_CB, g->C - cb * WG_CB);
        const float *src = j->x + (cb * WG_CB * g->H + iy) * g->W;
        const int64_t plane = g->H * g->W;
        /* left border, image, right border */
        const int64_t left = g->pad_l, right = j->Wb - left - g->W;
        memset(dst, 0, (size_t)(max64(left, 0) * WG_CB) * sizeof(float));
        for (int64_t x0 = 0; x0 < g->W; x0 += 16) {
            const __mmask16 m = tail16(g->W - x0);
            __m512 v[16];
#pragma GCC unroll 16
            for (int k = 0; k < 16; k++)
                v[k] = k < nc ? _mm512_maskz_loadu_ps(m, src + k * plane + x0) : _mm512_setzero_ps();
            tr16(v);
            const int64_t n = min64(16, g->W - x0);
            for (int64_t k = 0; k < n; k++)
                _mm512_storeu_ps(dst + (left + x0 + k) * WG_CB, v[k]);
        }
        if (right > 0)
            memset(dst + (left + g->W) * WG_CB, 0, (size_t)(right * WG_CB) * sizeof(float));
    }
}

/* o = B^T d along one axis: 6 vectors in, 6 out. */
WG_INLINE void bt6(__m512 o[6], const __m512 d[6])
{
    const __m512 four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f), two = _mm512_set1_ps(2.0f);
    o[0] = _mm512_fmadd_ps(four, d[0], _mm512_fnmadd_ps(five, d[2], d[4]));
    __m512 a = _mm512_fnmadd_ps(four, d[2], d[4]), b = _mm512_fnmadd_ps(four, d[1], d[3]);
    o[1] = _mm512_add_ps(a, b);
    o[2] = _mm512_sub_ps(a, b);
    __m512 c = _mm512_sub_ps(d[4], d[2]), e = _mm512_mul_ps(two, _mm512_sub_ps(d[3], d[1]));
    o[3] = _mm512_add_ps(c, e);
    o[4] = _mm512_sub_ps(c, e);
    o[5] = _mm512_fmadd_ps(four, d[1], _mm512_fnmadd_ps(five, d[3], d[5]));
}

/* o = A^T m along one axis: 6 vectors in, 4 out. */
WG_INLINE void at6(__m512 o[4], const __m512 m[6])
{
    __m512 p = _mm512_add_ps(m[1], m[2]), q = _mm512_sub_ps(m[1], m[2]);
    __m512 u = _mm512_add_ps(m[3], m[4]), w = _mm512_sub_ps(m[3], m[4]);
    o[0] = _mm512_add_ps(_mm512_add_ps(m[0], p), u);
    o[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), w, q);
    o[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), u, p);
    o[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), w, q), m[5]);
}

/* Input transform of tiles [t0 + a, t0 + b) of the block into v. */
WG_AVX512 static void in_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const wg_job *j = arg;
    (void)tid;
    const int64_t bstride = j->tb * j->Kp; /* floats between points */
    for (int64_t tl = a; tl < b; tl++) {
        const int64_t t = j->t0 + tl, ty = t / j->ntx, tx = t % j->ntx;
        for (int64_t cb = 0; cb < j->CB; cb++) {
            const float *base = j->xb + ((cb * j->Hb + 4 * ty) * j->Wb + 4 * tx) * WG_CB;
            __m512 tmp[6][6];
#pragma GCC unroll 6
            for (int s = 0; s < 6; s++) {
                __m512 d[6];
#pragma GCC unroll 6
                for (int r = 0; r < 6; r++)
                    d[r] = _mm512_loadu_ps(base + (r * j->Wb + s) * WG_CB);
                __m512 o[6];
                bt6(o, d);
#pragma GCC unroll 6
                for (int r = 0; r < 6; r++)
                    tmp[r][s] = o[r];
            }
            float *dst = j->v + tl * j->Kp + cb * WG_CB;
#pragma GCC unroll 6
            for (int r = 0; r < 6; r++) {
                __m512 o[6];
                bt6(o, tmp[r]);
#pragma GCC unroll 6
                for (int s = 0; s < 6; s++)
                    _mm512_storeu_ps(dst + (r * 6 + s) * bstride, o[s]);
            }
        }
    }
}

/* The 36 GEMMs [a, b) of the block: o_p = v_p * U_p. */
static void gemm_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const wg_job *j = arg;
    void *ws = j->tws + (size_t)tid * j->tws_each + j->v_bytes + j->o_bytes;
    for (int64_t p = a; p < b; p++)
        nni_sgemm_packed_ws(false, j->tn, j->Np, j->Kp, 1.0f, j->v + p * j->tb * j->Kp, j->Kp, j->u + p * j->u_point,
                            0.0f, j->o + p * j->tb * j->Np, j->Np, ws, NULL);
}

WG_INLINE __m512 act16(__m512 x, int32_t act, float alpha, float beta)
{
    const __m512 zero = _mm512_setzero_ps();
    switch (act) {
    case NNI_ACT_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, zero);
    case NNI_ACT_LEAKY_RELU:
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, _mm512_mul_ps(x, _mm512_set1_ps(alpha)));
    case NNI_ACT_CLIP: {
        const __m512 lo = _mm512_set1_ps(alpha), hi = _mm512_set1_ps(beta);
        x = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), x, lo);
        return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ), x, hi);
    }
    default:
        return x;
    }
}

/* Output transform of tiles [t0 + a, t0 + b) of the block, with the epilogue. */
WG_AVX512 static void out_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const wg_job *j = arg;
    const nni_winograd_geom *g = &j->g;
    const nni_epilogue *e = j->e;
    (void)tid;
    const int64_t bstride = j->tb * j->Np, plane = g->OH * g->OW;
    for (int64_t tl = a; tl < b; tl++) {
        const int64_t t = j->t0 + tl, ty = t / j->ntx, tx = t % j->ntx;
        const int64_t vi = min64(4, g->OH - 4 * ty), vj = min64(4, g->OW - 4 * tx);
        const __mmask8 cm = (__mmask8)((1u << vj) - 1u);
        for (int64_t nb = 0; nb < j->NB; nb++) {
            const float *src = j->o + tl * j->Np + nb * WG_CB;
            __m512 tmp[4][6];
#pragma GCC unroll 6
            for (int s = 0; s < 6; s++) {
                __m512 m[6], o[4];
#pragma GCC unroll 6
                for (int r = 0; r < 6; r++)
                    m[r] = _mm512_loadu_ps(src + (r * 6 + s) * bstride);
                at6(o, m);
#pragma GCC unroll 4
                for (int i = 0; i < 4; i++)
                    tmp[i][s] = o[i];
            }
            __m512 y[16];
            const int64_t c0 = nb * WG_CB, nc = min64(WG_CB, g->M - c0);
            const __mmask16 chm = tail16(nc);
            const __m512 sc = e && e->row_scale ? _mm512_maskz_loadu_ps(chm, e->row_scale + c0) : _mm512_set1_ps(1.0f);
            const __m512 bi = e && e->row_bias ? _mm512_maskz_loadu_ps(chm, e->row_bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 4
            for (int i = 0; i < 4; i++) {
                __m512 o[4];
                at6(o, tmp[i]);
#pragma GCC unroll 4
                for (int k = 0; k < 4; k++)
                    y[i * 4 + k] = _mm512_fmadd_ps(o[k], sc, bi);
            }
            tr16(y); /* y[q]: channel c0 + q's 4x4 tile, row-major */
            for (int64_t q = 0; q < nc; q++) {
                const int64_t m = c0 + q;
                float *dst = j->y + m * plane + 4 * ty * g->OW + 4 * tx;
                __m512 v = y[q];
                if (e && e->residual) {
                    const float *res = e->residual + m * e->ldr + 4 * ty * g->OW + 4 * tx;
                    __m512 r = _mm512_setzero_ps();
                    r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(cm, res), 0);
                    if (vi > 1)
                        r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(cm, res + g->OW), 1);
                    if (vi > 2)
                        r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(cm, res + 2 * g->OW), 2);
                    if (vi > 3)
                        r = _mm512_insertf32x4(r, _mm_maskz_loadu_ps(cm, res + 3 * g->OW), 3);
                    v = _mm512_add_ps(v, r);
                }
                if (j->act_in_tile)
                    v = act16(v, e->act, e->alpha, e->beta);
                _mm_mask_storeu_ps(dst, cm, _mm512_castps512_ps128(v));
                if (vi > 1)
                    _mm_mask_storeu_ps(dst + g->OW, cm, _mm512_extractf32x4_ps(v, 1));
                if (vi > 2)
                    _mm_mask_storeu_ps(dst + 2 * g->OW, cm, _mm512_extractf32x4_ps(v, 2));
                if (vi > 3)
                    _mm_mask_storeu_ps(dst + 3 * g->OW, cm, _mm512_extractf32x4_ps(v, 3));
            }
        }
    }
}

/* Whole blocks [a, b), each on one thread with its own v and o. */
static void block_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const wg_job *shared = arg;
    wg_job j = *shared;
    j.v = (float *)(j.tws + (size_t)tid * j.tws_each);
    j.o = (float *)((char *)j.v + j.v_bytes);
    for (int64_t blk = a; blk < b; blk++) {
        j.t0 = blk * j.tb;
        j.tn = min64(j.tb, j.T - j.t0);
        in_task(&j, 0, j.tn, tid);
        gemm_task(&j, 0, WG_P, tid);
        out_task(&j, 0, j.tn, tid);
    }
}

static void act_task(void *arg, int64_t a, int64_t b, int32_t tid)
{
    const wg_job *j = arg;
    (void)tid;
    const int64_t plane = j->g.OH * j->g.OW;
    nni_act_apply(j->e->act, j->e->alpha, j->e->beta, j->y + a * plane, (b - a) * plane);
}

void nni_winograd_conv(const nni_winograd_geom *g, const float *x, const float *u, const nni_epilogue *e, float *y,
                       void *ws, nni_pool *pool)
{
    const int32_t threads = nni_pool_threads(pool);
    wg_job j;
    wg_layout(g, threads, &j);
    j.x = x;
    j.u = u;
    j.e = nni_epilogue_active(e) ? e : NULL;
    j.act_in_tile = j.e && (j.e->act == NNI_ACT_NONE || j.e->act == NNI_ACT_RELU || j.e->act == NNI_ACT_LEAKY_RELU ||
                            j.e->act == NNI_ACT_CLIP);
    j.y = y;
    j.xb = ws;
    j.tws = (char *)ws + xb_bytes(&j);
    nni_parallel_for(pool, j.CB * j.Hb, 4, xb_task, &j);
    if (threads == 1 || j.nblk >= 2 * threads) {
        nni_parallel_for(pool, j.nblk, 1, block_task, &j);
    } else {
        j.v = (float *)j.tws;
        j.o = (float *)((char *)j.v + j.v_bytes);
        for (int64_t blk = 0; blk < j.nblk; blk++) {
            j.t0 = blk * j.tb;
            j.tn = min64(j.tb, j.T - j.t0);
            nni_parallel_for(pool, j.tn, 1, in_task, &j);
            nni_parallel_for(pool, WG_P, 1, gemm_task, &j);
            nni_parallel_for(pool, j.tn, 1, out_task, &j);
        }
    }
    if (j.e && !j.act_in_tile)
        nni_parallel_for(pool, g->M, 1, act_task, &j);
}

#else

void nni_winograd_conv(const nni_winograd_geom *g, const float *x, const float *u, const nni_epilogue *e, float *y,
                       void *ws, nni_pool *pool)
{
    (void)g, (void)x, (void)u, (void)e, (void)y, (void)ws, (void)pool; /* never called: not supported */
}

#endif
