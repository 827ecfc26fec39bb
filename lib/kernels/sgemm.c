/*
 * sgemm.c — single-precision GEMM: cache blocking over K/M/N, operands
 * packed into MR-row and NR-column panels, a register-tiled micro-kernel
 * per ISA (portable C, AVX2+FMA, AVX-512) chosen once at run time, and
 * matrix-vector paths for M == 1 or N == 1 where packing would not pay.
 *
 * Blocking (names as in the loops below): the packed A micro-panel
 * (kc x MR) stays in L1 while the micro-kernel sweeps the packed B block
 * (kc x nc, sized for L2) one NR-column panel at a time.
 */
#include <pthread.h>
#include <string.h>

#include "kernels/sgemm.h"

#if defined(__x86_64__) || defined(__i386__)
#define SG_X86 1
#include <immintrin.h>
#else
#define SG_X86 0
#endif

enum {
    KC_MAX = 256,    /* depth of a packed block */
    NC_TARGET = 576, /* columns of a packed B block: kc*nc floats ~ 576 KiB, in L2 */
    MC_TARGET = 480, /* rows of a packed A block */
    MR_MAX = 8,
    NR_MAX = 48,
    MR_LCM = 24, /* lcm of every MR: workspace sizes round to it */
};

/* c[MR x NR] (row stride ldc) = a-panel * b-panel + beta * c; beta == 0 never reads c. */
typedef void (*ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float beta);
typedef float (*dot_fn)(int64_t n, const float *x, const float *y);
/* y[0:n] += a * x[0:n] */
typedef void (*axpy_fn)(int64_t n, float a, const float *x, float *y);

typedef struct {
    const char *name;
    int64_t mr, nr;
    ukernel_fn kernel;
    dot_fn dot;
    axpy_fn axpy;
} sg_arch;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t round_up(int64_t a, int64_t b) { return cdiv(a, b) * b; }

/* ------------------------------------------------------------------ */
/* Portable kernels                                                    */
/* ------------------------------------------------------------------ */

#define GEN_MR 4
#define GEN_NR 8

static void uk_generic(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c, int64_t ldc,
                       float beta)
{
    float acc[GEN_MR][GEN_NR] = {{0}};
    for (int64_t k = 0; k < kc; k++) {
        for (int i = 0; i < GEN_MR; i++) {
            float ai = a[i];
            for (int j = 0; j < GEN_NR; j++)
                acc[i][j] += ai * b[j];
        }
        a += GEN_MR;
        b += GEN_NR;
    }
    for (int i = 0; i < GEN_MR; i++) {
        float *ci = c + i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < GEN_NR; j++)
                ci[j] = acc[i][j];
        else
            for (int j = 0; j < GEN_NR; j++)
                ci[j] = acc[i][j] + beta * ci[j];
    }
}

static float dot_generic(int64_t n, const float *x, const float *y)
{
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++)
            acc[l] += x[i + l] * y[i + l];
    float s = 0.0f;
    for (; i < n; i++)
        s += x[i] * y[i];
    for (int l = 0; l < 8; l++)
        s += acc[l];
    return s;
}

static void axpy_generic(int64_t n, float a, const float *x, float *y)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

static const sg_arch arch_generic = {"generic", GEN_MR, GEN_NR, uk_generic, dot_generic, axpy_generic};

#if SG_X86

/* ------------------------------------------------------------------ */
/* AVX2 + FMA: 6 x 16 tile, 12 accumulators in ymm registers           */
/* ------------------------------------------------------------------ */

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

AVX2_INLINE void st8(float *p, __m256 v, float beta)
{
    if (beta == 0.0f)
        _mm256_storeu_ps(p, v);
    else if (beta == 1.0f)
        _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), v));
    else
        _mm256_storeu_ps(p, _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(p), v));
}

AVX2 static void uk_avx2(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c, int64_t ldc,
                         float beta)
{
    __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
#define ROW2(i)                                                                                                        \
    do {                                                                                                               \
        __m256 av = _mm256_broadcast_ss(a + i);                                                                        \
        c##i##0 = _mm256_fmadd_ps(av, b0, c##i##0);                                                                    \
        c##i##1 = _mm256_fmadd_ps(av, b1, c##i##1);                                                                    \
    } while (0)
    for (int64_t k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        ROW2(0);
        ROW2(1);
        ROW2(2);
        ROW2(3);
        ROW2(4);
        ROW2(5);
        a += 6;
        b += 16;
    }
#undef ROW2
#define STORE2(i)                                                                                                      \
    do {                                                                                                               \
        st8(c + i * ldc, c##i##0, beta);                                                                               \
        st8(c + i * ldc + 8, c##i##1, beta);                                                                           \
    } while (0)
    STORE2(0);
    STORE2(1);
    STORE2(2);
    STORE2(3);
    STORE2(4);
    STORE2(5);
#undef STORE2
}

AVX2 static float dot_avx2(int64_t n, const float *x, const float *y)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), _mm256_loadu_ps(y + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), _mm256_loadu_ps(y + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float r = _mm_cvtss_f32(h);
    for (; i < n; i++)
        r += x[i] * y[i];
    return r;
}

AVX2 static void axpy_avx2(int64_t n, float a, const float *x, float *y)
{
    __m256 av = _mm256_set1_ps(a);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8, _mm256_fmadd_ps(av, _mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i < n; i++)
        y[i] += a * x[i];
}

static const sg_arch arch_avx2 = {"avx2", 6, 16, uk_avx2, dot_avx2, axpy_avx2};

/* ------------------------------------------------------------------ */
/* AVX-512: 8 x 48 tile, 24 accumulators in zmm registers              */
/* ------------------------------------------------------------------ */

#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

AVX512_INLINE void st16(float *p, __m512 v, float beta)
{
    if (beta == 0.0f)
        _mm512_storeu_ps(p, v);
    else if (beta == 1.0f)
        _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), v));
    else
        _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(p), v));
}

AVX512 static void uk_avx512(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                             int64_t ldc, float beta)
{
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    __m512 c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    __m512 c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    __m512 c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
#define ROW3(i)                                                                                                        \
    do {                                                                                                               \
        __m512 av = _mm512_set1_ps(a[i]);                                                                              \
        c##i##0 = _mm512_fmadd_ps(av, b0, c##i##0);                                                                    \
        c##i##1 = _mm512_fmadd_ps(av, b1, c##i##1);                                                                    \
        c##i##2 = _mm512_fmadd_ps(av, b2, c##i##2);                                                                    \
    } while (0)
    for (int64_t k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16), b2 = _mm512_loadu_ps(b + 32);
        ROW3(0);
        ROW3(1);
        ROW3(2);
        ROW3(3);
        ROW3(4);
        ROW3(5);
        ROW3(6);
        ROW3(7);
        a += 8;
        b += 48;
    }
#undef ROW3
#define STORE3(i)                                                                                                      \
    do {                                                                                                               \
        st16(c + i * ldc, c##i##0, beta);                                                                              \
        st16(c + i * ldc + 16, c##i##1, beta);                                                                         \
        st16(c + i * ldc + 32, c##i##2, beta);                                                                         \
    } while (0)
    STORE3(0);
    STORE3(1);
    STORE3(2);
    STORE3(3);
    STORE3(4);
    STORE3(5);
    STORE3(6);
    STORE3(7);
#undef STORE3
}

AVX512 static float dot_avx512(int64_t n, const float *x, const float *y)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16), s1);
        s2 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 32), _mm512_loadu_ps(y + i + 32), s2);
        s3 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i + 48), _mm512_loadu_ps(y + i + 48), s3);
    }
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i), s0);
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

AVX512 static void axpy_avx512(int64_t n, float a, const float *x, float *y)
{
    __m512 av = _mm512_set1_ps(a);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(y + i + 16)));
    }
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(av, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
    if (i < n) {
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(y + i, m,
                              _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
    }
}

static const sg_arch arch_avx512 = {"avx512", 8, 48, uk_avx512, dot_avx512, axpy_avx512};

#endif /* SG_X86 */

/* ------------------------------------------------------------------ */
/* Run-time selection                                                  */
/* ------------------------------------------------------------------ */

static const sg_arch *g_arch = &arch_generic;
static pthread_once_t g_arch_once = PTHREAD_ONCE_INIT;

static const sg_arch *best_arch(void)
{
#if SG_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return &arch_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &arch_avx2;
#endif
    return &arch_generic;
}

static void detect_arch(void) { g_arch = best_arch(); }

static const sg_arch *get_arch(void)
{
    pthread_once(&g_arch_once, detect_arch);
    return g_arch;
}

const char *nni_sgemm_arch(void) { return get_arch()->name; }

bool nni_sgemm_force_arch(const char *name)
{
    get_arch();
    if (!name) {
        g_arch = best_arch();
        return true;
    }
    if (strcmp(name, "generic") == 0) {
        g_arch = &arch_generic;
        return true;
    }
#if SG_X86
    __builtin_cpu_init();
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        g_arch = &arch_avx2;
        return true;
    }
    if (strcmp(name, "avx512") == 0 && __builtin_cpu_supports("avx512f")) {
        g_arch = &arch_avx512;
        return true;
    }
#endif
    return false;
}

/* ------------------------------------------------------------------ */
/* Blocked GEMM                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    const sg_arch *ar;
    bool ta, tb;
    int64_t M, N, K;
    float alpha, beta;
    const float *A, *B;
    int64_t lda, ldb, ldc;
    float *C;
    int64_t kc;         /* depth of a K block (K split evenly into blocks <= KC_MAX) */
    int64_t mc, nc;     /* rows of an A block, columns of a B block */
    int64_t tile_m, tile_n; /* rows/columns of one thread's tile */
    int64_t tiles_n;
    char *ws;
    size_t ws_stride;   /* bytes per tile */
} sg_job;

/* Pack rows [m0, m0+mlen) x depth [k0, k0+klen) of alpha*op(A) into MR-row panels, zero-padded. */
static void pack_a(const sg_job *j, int64_t m0, int64_t mlen, int64_t k0, int64_t klen, float *dst)
{
    const int64_t MR = j->ar->mr;
    const float alpha = j->alpha;
    for (int64_t p = 0; p < mlen; p += MR, dst += MR * klen) {
        int64_t mr = min64(MR, mlen - p);
        if (!j->ta) {
            for (int64_t i = 0; i < mr; i++) {
                const float *src = j->A + (m0 + p + i) * j->lda + k0;
                for (int64_t k = 0; k < klen; k++)
                    dst[k * MR + i] = alpha * src[k];
            }
        } else {
            for (int64_t k = 0; k < klen; k++) {
                const float *src = j->A + (k0 + k) * j->lda + m0 + p;
                for (int64_t i = 0; i < mr; i++)
                    dst[k * MR + i] = alpha * src[i];
            }
        }
        if (mr < MR)
            for (int64_t k = 0; k < klen; k++)
                for (int64_t i = mr; i < MR; i++)
                    dst[k * MR + i] = 0.0f;
    }
}

/* Pack depth [k0, k0+klen) x columns [n0, n0+nlen) of op(B) into NR-column panels, zero-padded. */
static void pack_b(const sg_job *j, int64_t n0, int64_t nlen, int64_t k0, int64_t klen, float *dst)
{
    const int64_t NR = j->ar->nr;
    for (int64_t q = 0; q < nlen; q += NR, dst += NR * klen) {
        int64_t nr = min64(NR, nlen - q);
        if (!j->tb) {
            const float *src = j->B + k0 * j->ldb + n0 + q;
            for (int64_t k = 0; k < klen; k++, src += j->ldb) {
                memcpy(dst + k * NR, src, (size_t)nr * sizeof(float));
                for (int64_t c = nr; c < NR; c++)
                    dst[k * NR + c] = 0.0f;
            }
        } else {
            /* op(B)[k][n] = B[n][k]: walk 8 source rows at once so reads stay sequential */
            int64_t c = 0;
            for (; c + 8 <= nr; c += 8) {
                const float *s = j->B + (n0 + q + c) * j->ldb + k0;
                const int64_t ld = j->ldb;
                for (int64_t k = 0; k < klen; k++)
                    for (int64_t t = 0; t < 8; t++)
                        dst[k * NR + c + t] = s[t * ld + k];
            }
            for (; c < nr; c++) {
                const float *s = j->B + (n0 + q + c) * j->ldb + k0;
                for (int64_t k = 0; k < klen; k++)
                    dst[k * NR + c] = s[k];
            }
            for (c = nr; c < NR; c++)
                for (int64_t k = 0; k < klen; k++)
                    dst[k * NR + c] = 0.0f;
        }
    }
}

/* One thread's share: rows [m0, m1) x columns [n0, n1) of C. */
static void gemm_tile(const sg_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *ap, float *bp)
{
    const sg_arch *ar = j->ar;
    const int64_t MR = ar->mr, NR = ar->nr;
    float tmp[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    for (int64_t pc = 0; pc < j->K; pc += j->kc) {
        int64_t kc = min64(j->kc, j->K - pc);
        float beta = pc == 0 ? j->beta : 1.0f;
        for (int64_t mc0 = m0; mc0 < m1; mc0 += j->mc) {
            int64_t mc = min64(j->mc, m1 - mc0);
            pack_a(j, mc0, mc, pc, kc, ap);
            for (int64_t nc0 = n0; nc0 < n1; nc0 += j->nc) {
                int64_t nc = min64(j->nc, n1 - nc0);
                pack_b(j, nc0, nc, pc, kc, bp);
                for (int64_t ir = 0; ir < mc; ir += MR) {
                    int64_t mr = min64(MR, mc - ir);
                    const float *a = ap + ir * kc;
                    float *crow = j->C + (mc0 + ir) * j->ldc + nc0;
                    for (int64_t jr = 0; jr < nc; jr += NR) {
                        int64_t nr = min64(NR, nc - jr);
                        const float *b = bp + jr * kc;
                        if (mr == MR && nr == NR) {
                            ar->kernel(kc, a, b, crow + jr, j->ldc, beta);
                            continue;
                        }
                        ar->kernel(kc, a, b, tmp, NR, 0.0f);
                        for (int64_t i = 0; i < mr; i++) {
                            float *cp = crow + i * j->ldc + jr;
                            const float *tp = tmp + i * NR;
                            if (beta == 0.0f)
                                for (int64_t t = 0; t < nr; t++)
                                    cp[t] = tp[t];
                            else
                                for (int64_t t = 0; t < nr; t++)
                                    cp[t] = tp[t] + beta * cp[t];
                        }
                    }
                }
            }
        }
    }
}

static void gemm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const sg_job *j = arg;
    (void)tid;
    for (int64_t t = begin; t < end; t++) {
        /* workspace by tile, not by thread: there are at most as many tiles as slices */
        float *ap = (float *)(j->ws + (size_t)t * j->ws_stride);
        float *bp = ap + round_up(j->mc, MR_LCM) * j->kc;
        int64_t tm = t / j->tiles_n, tn = t % j->tiles_n;
        int64_t m0 = tm * j->tile_m, n0 = tn * j->tile_n;
        gemm_tile(j, m0, min64(m0 + j->tile_m, j->M), n0, min64(n0 + j->tile_n, j->N), ap, bp);
    }
}

/* Blocking sizes, shared by the workspace query and the run so they agree. */
static void block_sizes(int64_t M, int64_t N, int64_t K, int64_t mr, int64_t nr, int64_t *kc, int64_t *mc, int64_t *nc)
{
    int64_t kb = cdiv(K, KC_MAX);
    *kc = cdiv(K, kb);
    int64_t mcmax = MC_TARGET / mr * mr;
    *mc = min64(mcmax, round_up(M, mr));
    int64_t ncmax = max64(nr, NC_TARGET / nr * nr);
    int64_t nb = cdiv(N, ncmax);
    *nc = min64(ncmax, round_up(cdiv(N, nb), nr));
}

/* Bytes of A and B panels for one thread (upper bound over every arch). */
static size_t pack_bytes(int64_t M, int64_t N, int64_t K)
{
    int64_t kc = min64(K, KC_MAX);
    int64_t mc = round_up(min64(M, MC_TARGET), MR_LCM);
    int64_t nc = round_up(min64(N, NC_TARGET), NR_MAX);
    return (size_t)round_up((mc + nc) * kc * (int64_t)sizeof(float), 64);
}

/* Threads worth using: ~1M multiply-adds each at least. */
static int32_t useful_threads(int64_t M, int64_t N, int64_t K, int32_t threads)
{
    double work = (double)M * (double)N * (double)K;
    int64_t t = (int64_t)(work / (1 << 20));
    if (t < 1)
        t = 1;
    return threads < t ? threads : (int32_t)t;
}

/* ------------------------------------------------------------------ */
/* Matrix-vector paths                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    const sg_arch *ar;
    int64_t n, k;       /* outputs, depth */
    float alpha, beta;
    const float *mat;   /* rows: n rows of k (dot form) or k rows of n (axpy form) */
    int64_t ldm;
    const float *x;     /* contiguous, length k */
    int64_t incx;       /* axpy form only */
    float *y;
    int64_t incy;
} gv_job;

/* y[i] = alpha * dot(mat row i, x) + beta * y[i]: rows contiguous over k. */
static void gemv_dot_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const gv_job *g = arg;
    (void)tid;
    for (int64_t i = begin; i < end; i++) {
        float s = g->alpha * g->ar->dot(g->k, g->mat + i * g->ldm, g->x);
        float *yp = g->y + i * g->incy;
        *yp = g->beta == 0.0f ? s : s + g->beta * *yp;
    }
}

/* y[begin:end] = beta*y + alpha * sum_k x[k] * mat[k][begin:end]: y contiguous. */
static void gemv_axpy_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const gv_job *g = arg;
    (void)tid;
    const int64_t chunk = 1024; /* keep this slice of y in L1 across the k sweep */
    for (int64_t b = begin; b < end; b += chunk) {
        int64_t n = min64(chunk, end - b);
        float *y = g->y + b;
        if (g->beta == 0.0f)
            memset(y, 0, (size_t)n * sizeof(float));
        else if (g->beta != 1.0f)
            for (int64_t i = 0; i < n; i++)
                y[i] *= g->beta;
        for (int64_t k = 0; k < g->k; k++) {
            float xk = g->alpha * g->x[k * g->incx];
            if (xk != 0.0f)
                g->ar->axpy(n, xk, g->mat + k * g->ldm + b, y);
        }
    }
}

static void run_gemv_dot(gv_job *g, nni_pool *pool)
{
    int32_t nt = useful_threads(g->n, 1, g->k, nni_pool_threads(pool));
    if (nt <= 1)
        gemv_dot_task(g, 0, g->n, 0);
    else
        nni_parallel_for(pool, g->n, cdiv(g->n, nt), gemv_dot_task, g);
}

static void run_gemv_axpy(gv_job *g, nni_pool *pool)
{
    int32_t nt = useful_threads(g->n, 1, g->k, nni_pool_threads(pool));
    int64_t per = round_up(cdiv(g->n, nt), 64);
    if (nt <= 1 || per >= g->n)
        gemv_axpy_task(g, 0, g->n, 0);
    else
        nni_parallel_for(pool, g->n, per, gemv_axpy_task, g);
}

/* Contiguous copy of a strided vector into ws (or the vector itself). */
static const float *contiguous(const float *v, int64_t inc, int64_t n, float *ws)
{
    if (inc == 1)
        return v;
    for (int64_t i = 0; i < n; i++)
        ws[i] = v[i * inc];
    return ws;
}

static void gemv(const sg_arch *ar, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                 int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, float *ws,
                 nni_pool *pool)
{
    gv_job g = {.ar = ar, .k = K, .alpha = alpha, .beta = beta};
    if (M == 1) {
        /* row vector a (stride ta ? lda : 1) times op(B) */
        int64_t inca = ta ? lda : 1;
        g.n = N;
        g.y = C;
        g.incy = 1;
        if (!tb) {
            g.mat = B, g.ldm = ldb, g.x = A, g.incx = inca;
            run_gemv_axpy(&g, pool);
        } else {
            g.mat = B, g.ldm = ldb, g.x = contiguous(A, inca, K, ws);
            run_gemv_dot(&g, pool);
        }
        return;
    }
    /* N == 1: op(A) times column vector b (stride tb ? 1 : ldb) */
    int64_t incb = tb ? 1 : ldb;
    g.n = M;
    if (!ta) {
        g.mat = A, g.ldm = lda, g.x = contiguous(B, incb, K, ws);
        g.y = C, g.incy = ldc;
        run_gemv_dot(&g, pool);
        return;
    }
    g.mat = A, g.ldm = lda, g.x = B, g.incx = incb;
    if (ldc == 1) {
        g.y = C;
        run_gemv_axpy(&g, pool);
        return;
    }
    float *y = ws + K;
    if (beta != 0.0f)
        for (int64_t i = 0; i < M; i++)
            y[i] = C[i * ldc];
    g.y = y;
    run_gemv_axpy(&g, pool);
    for (int64_t i = 0; i < M; i++)
        C[i * ldc] = y[i];
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc)
{
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f)
            memset(c, 0, (size_t)N * sizeof(float));
        else if (beta != 1.0f)
            for (int64_t t = 0; t < N; t++)
                c[t] *= beta;
    }
}

size_t nni_sgemm_workspace(int64_t M, int64_t N, int64_t K, int32_t threads)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 64;
    if (M == 1 || N == 1)
        return (size_t)round_up((K + max64(M, N)) * (int64_t)sizeof(float), 64);
    if (threads < 1)
        threads = 1;
    int32_t nt = useful_threads(M, N, K, threads);
    return pack_bytes(M, N, K) * (size_t)nt;
}

/* Split C into at most nt tiles (MR/NR-aligned) of about equal work. */
static void split_tiles(sg_job *j, int32_t nt)
{
    int64_t mu = cdiv(j->M, j->ar->mr), nu = cdiv(j->N, j->ar->nr);
    int64_t best_tm = 1, best_cost = -1;
    for (int64_t tm = 1; tm <= nt; tm++) {
        int64_t tn = nt / tm;
        int64_t cost = cdiv(mu, tm) * cdiv(nu, tn);
        if (best_cost < 0 || cost < best_cost)
            best_cost = cost, best_tm = tm;
    }
    int64_t tm = best_tm, tn = nt / best_tm;
    j->tile_m = cdiv(mu, tm) * j->ar->mr;
    j->tile_n = cdiv(nu, tn) * j->ar->nr;
    j->tiles_n = cdiv(j->N, j->tile_n);
}

void nni_sgemm_ws(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, void *ws,
                  nni_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        return;
    }
    const sg_arch *ar = get_arch();
    if (M == 1 || N == 1) {
        gemv(ar, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws, pool);
        return;
    }
    sg_job j = {.ar = ar, .ta = transA, .tb = transB, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C, .ws = ws};
    block_sizes(M, N, K, ar->mr, ar->nr, &j.kc, &j.mc, &j.nc);
    j.ws_stride = pack_bytes(M, N, K);
    int32_t nt = useful_threads(M, N, K, nni_pool_threads(pool));
    split_tiles(&j, nt);
    int64_t tiles = cdiv(M, j.tile_m) * j.tiles_n;
    if (tiles <= 1)
        gemm_task(&j, 0, tiles, 0);
    else
        nni_parallel_for(pool, tiles, 1, gemm_task, &j);
}

/* Unblocked fallback for when no workspace can be had. */
static void sgemm_naive(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                        const float *B, int64_t ldb, float beta, float *C, int64_t ldc)
{
    scale_c(M, N, beta, C, ldc);
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        for (int64_t k = 0; k < K; k++) {
            float a = alpha * (ta ? A[k * lda + i] : A[i * lda + k]);
            if (!tb) {
                const float *b = B + k * ldb;
                for (int64_t t = 0; t < N; t++)
                    c[t] += a * b[t];
            } else {
                for (int64_t t = 0; t < N; t++)
                    c[t] += a * B[t * ldb + k];
            }
        }
    }
}

void nni_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc, nni_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    size_t bytes = nni_sgemm_workspace(M, N, K, nni_pool_threads(pool));
    void *ws = nni_malloc_aligned(bytes);
    if (!ws) {
        sgemm_naive(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    nni_sgemm_ws(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws, pool);
    nni_free_aligned(ws);
}
