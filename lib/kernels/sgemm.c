/*
 * sgemm.c — single-precision GEMM: cache blocking over K/M/N, operands
 * packed into MR-row and NR-column panels, a register-tiled micro-kernel
 * per ISA (portable C, AVX2+FMA, AVX-512) chosen once at run time, and
 * matrix-vector paths for M == 1 or N == 1 where packing would not pay.
 *
 * Blocking (names as in the loops below): the A micro-panel (kc x MR)
 * stays in L1 while the micro-kernel sweeps the packed B block (kc x nc,
 * sized for L2) one NR-column panel at a time. A is packed for wide tiles
 * and read in place for narrow ones (where packing would be a whole extra
 * pass over it); B may arrive pre-packed (im2col writes that layout).
 * Threads split C into MR/NR-aligned tiles, each with its own workspace.
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
    DIRECT_A_MAX = 16384, /* floats of a tile's A that is read in place however wide the tile */
    DIRECT_B_MAX_K = 256, /* deepest product whose B is read in place (kc x 48 floats in L1) */
};

/* c[MR x NR] (row stride ldc) = a-panel * b-panel + beta * c; beta == 0 never reads c. */
typedef void (*ukernel_fn)(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float beta);
/* The same reading MR rows of A in place (row stride lda) instead of a packed panel. */
typedef void (*ukernel_rows_fn)(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                                float beta);
/* MR rows of A in place times an NR-column block of row-major B in place (row stride ldb). */
typedef void (*ukernel_rr_fn)(int64_t kc, const float *a, int64_t lda, const float *b, int64_t ldb, float *c,
                              int64_t ldc, float beta);
typedef float (*dot_fn)(int64_t n, const float *x, const float *y);
/* y[0:n] += a * x[0:n] */
typedef void (*axpy_fn)(int64_t n, float a, const float *x, float *y);

/* Pack depth klen x columns nlen of row-major B (row stride ldb) into NR-column panels. */
typedef void (*pack_b_fn)(const float *B, int64_t ldb, int64_t nlen, int64_t klen, float *dst);

typedef struct {
    const char *name;
    int64_t mr, nr, vl;     /* tile rows, tile columns, floats per vector */
    ukernel_fn kernel;      /* the full MR x NR tile */
    /* edge[r][v - 1]: tile of 1, 2, 4 or MR rows (r = 0..3) by v vectors; NULL = use kernel */
    ukernel_fn edge[4][3];
    /* rows[v - 1]: MR rows of unpacked A by v vectors; NULL = always pack A */
    ukernel_rows_fn rows[3];
    /* MR rows by 8 columns (half a 512-bit vector: half the cost on a narrow edge); NULL = none */
    ukernel_fn half;
    ukernel_rows_fn rows_half;
    /* MR x NR with both operands in place; NULL = always pack B */
    ukernel_rr_fn rows_b;
    pack_b_fn pack_b;
    pack_b_fn pack_bt; /* the same from a transposed B (B[n][k]); NULL = scalar */
    /* alpha * rows [0, 8) x depth [0, klen) of row-major A into one 8-row panel; NULL = scalar */
    void (*pack_a8)(const float *A, int64_t lda, int64_t klen, float alpha, float *dst);
    dot_fn dot;
    axpy_fn axpy;
} sg_arch;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static inline int64_t round_up(int64_t a, int64_t b) { return cdiv(a, b) * b; }

/* ------------------------------------------------------------------ */
/* Micro-kernels                                                       */
/*                                                                     */
/* Each ISA has one templated body (rows R <= MR, vectors V <= NR/VL,  */
/* compile-time constants after inlining): the full MR x NR tile plus  */
/* narrower variants for edge tiles, so a 49-column or 4-row problem   */
/* does not pay for a whole 48-column or 8-row tile of zeros.          */
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

/*
 * Copy depth klen x columns nlen of a row-major B into NR-column panels,
 * zero-padded. Row by row, so the source is read sequentially (walking one
 * panel down the rows would touch a new page per row). Each piece is short
 * (NR floats): keep GCC from turning the copy into a memmove call per piece.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_MEMCPY_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_MEMCPY_IDIOM
#endif
static inline __attribute__((always_inline)) NO_MEMCPY_IDIOM void pack_b_body(const float *restrict B, int64_t ldb,
                                                                              int64_t nlen, int64_t klen,
                                                                              float *restrict dst, const int64_t NR)
{
    const int64_t full = nlen / NR, rest = nlen - full * NR, pstride = NR * klen;
    for (int64_t k = 0; k < klen; k++) {
        const float *restrict src = B + k * ldb;
        float *restrict d = dst + k * NR;
        for (int64_t q = 0; q < full; q++, src += NR, d += pstride)
            for (int64_t j = 0; j < NR; j++)
                d[j] = src[j];
        if (rest) {
            for (int64_t j = 0; j < rest; j++)
                d[j] = src[j];
            for (int64_t j = rest; j < NR; j++)
                d[j] = 0.0f;
        }
    }
}

NO_MEMCPY_IDIOM static void pack_b_generic(const float *B, int64_t ldb, int64_t nlen, int64_t klen, float *dst)
{
    pack_b_body(B, ldb, nlen, klen, dst, GEN_NR);
}

static const sg_arch arch_generic = {
    .name = "generic", .mr = GEN_MR, .nr = GEN_NR, .vl = GEN_NR, .kernel = uk_generic,
    .pack_b = pack_b_generic, .dot = dot_generic, .axpy = axpy_generic,
};

#if SG_X86

#define AVX2 __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))
#define AVX512 __attribute__((target("avx512f")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f")))

/* ---- AVX2 + FMA: up to 6 x 16 (12 ymm accumulators) ---- */

AVX2_INLINE void st8(float *p, __m256 v, float beta)
{
    if (beta == 0.0f)
        _mm256_storeu_ps(p, v);
    else if (beta == 1.0f)
        _mm256_storeu_ps(p, _mm256_add_ps(_mm256_loadu_ps(p), v));
    else
        _mm256_storeu_ps(p, _mm256_fmadd_ps(_mm256_set1_ps(beta), _mm256_loadu_ps(p), v));
}

AVX2_INLINE void uk_avx2_body(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                              int64_t ldc, float beta, const int R, const int V)
{
    __m256 acc[6][2];
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[i][v] = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < R; i++) {
            __m256 av = _mm256_broadcast_ss(a + i);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += 6;
        b += 16;
    }
#pragma GCC unroll 6
    for (int i = 0; i < R; i++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            st8(c + i * ldc + 8 * v, acc[i][v], beta);
}

/* 6 rows of A read in place: packing A (often the weights) costs a pass over it per call. */
AVX2_INLINE void uk_avx2_rows_body(int64_t kc, const float *restrict a, int64_t lda, const float *restrict b,
                                   float *restrict c, int64_t ldc, float beta, const int V)
{
    __m256 acc[6][2];
    const float *ap[6];
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++) {
        ap[i] = a + i * lda;
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            acc[i][v] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv[2];
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            bv[v] = _mm256_loadu_ps(b + 8 * v);
#pragma GCC unroll 6
        for (int i = 0; i < 6; i++) {
            __m256 av = _mm256_broadcast_ss(ap[i] + k);
#pragma GCC unroll 2
            for (int v = 0; v < V; v++)
                acc[i][v] = _mm256_fmadd_ps(av, bv[v], acc[i][v]);
        }
        b += 16;
    }
#pragma GCC unroll 6
    for (int i = 0; i < 6; i++)
#pragma GCC unroll 2
        for (int v = 0; v < V; v++)
            st8(c + i * ldc + 8 * v, acc[i][v], beta);
}

AVX2 static void uk_avx2_rows1(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float beta)
{
    uk_avx2_rows_body(kc, a, lda, b, c, ldc, beta, 1);
}

AVX2 static void uk_avx2_rows2(int64_t kc, const float *a, int64_t lda, const float *b, float *c, int64_t ldc,
                               float beta)
{
    uk_avx2_rows_body(kc, a, lda, b, c, ldc, beta, 2);
}

#define UK_AVX2(R, V)                                                                                                  \
    AVX2 static void uk_avx2_##R##x##V(int64_t kc, const float *restrict a, const float *restrict b,                  \
                                       float *restrict c, int64_t ldc, float beta)                                    \
    {                                                                                                                  \
        uk_avx2_body(kc, a, b, c, ldc, beta, R, V);                                                                    \
    }
UK_AVX2(1, 1)
UK_AVX2(1, 2)
UK_AVX2(2, 1)
UK_AVX2(2, 2)
UK_AVX2(4, 1)
UK_AVX2(4, 2)
UK_AVX2(6, 1)
UK_AVX2(6, 2)

AVX2 NO_MEMCPY_IDIOM static void pack_b_avx2(const float *B, int64_t ldb, int64_t nlen, int64_t klen, float *dst)
{
    pack_b_body(B, ldb, nlen, klen, dst, 16);
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

static const sg_arch arch_avx2 = {
    .name = "avx2", .mr = 6, .nr = 16, .vl = 8, .kernel = uk_avx2_6x2,
    .edge = {{uk_avx2_1x1, uk_avx2_1x2}, {uk_avx2_2x1, uk_avx2_2x2}, {uk_avx2_4x1, uk_avx2_4x2},
             {uk_avx2_6x1, uk_avx2_6x2}},
    .rows = {uk_avx2_rows1, uk_avx2_rows2},
    .pack_b = pack_b_avx2, .dot = dot_avx2, .axpy = axpy_avx2,
};

/* ---- AVX-512: up to 8 x 48 (24 zmm accumulators) ---- */

AVX512_INLINE void st16(float *p, __m512 v, float beta)
{
    if (beta == 0.0f)
        _mm512_storeu_ps(p, v);
    else if (beta == 1.0f)
        _mm512_storeu_ps(p, _mm512_add_ps(_mm512_loadu_ps(p), v));
    else
        _mm512_storeu_ps(p, _mm512_fmadd_ps(_mm512_set1_ps(beta), _mm512_loadu_ps(p), v));
}

AVX512_INLINE void uk_avx512_body(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
                                  int64_t ldc, float beta, const int R, const int V)
{
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            acc[i][v] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; k++) {
        __m512 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            bv[v] = _mm512_loadu_ps(b + 16 * v);
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            __m512 av = _mm512_set1_ps(a[i]);
#pragma GCC unroll 3
            for (int v = 0; v < V; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
        a += 8;
        b += 48;
    }
#pragma GCC unroll 8
    for (int i = 0; i < R; i++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            st16(c + i * ldc + 16 * v, acc[i][v], beta);
}

/*
 * 8 rows of A read in place (see uk_avx2_rows_body), times 48 columns of B
 * whose rows are ldb floats apart: a packed panel (ldb = 48), or, for a
 * shallow product (a 1x1 convolution with few input channels), row-major B
 * in place, whose rows of a tile stay in L1 across all row panels, where
 * packing B would be a pass over the activations per call (per tile when
 * threads split the rows).
 */
AVX512_INLINE void uk_avx512_rows_body(int64_t kc, const float *restrict a, int64_t lda, const float *restrict b,
                                       int64_t ldb, float *restrict c, int64_t ldc, float beta, const int V)
{
    __m512 acc[8][3];
    const float *ap[8];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        ap[i] = a + i * lda;
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            acc[i][v] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const float *bk = b + k * ldb;
        __m512 bv[3];
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            bv[v] = _mm512_loadu_ps(bk + 16 * v);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++) {
            __m512 av = _mm512_set1_ps(ap[i][k]);
#pragma GCC unroll 3
            for (int v = 0; v < V; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
#pragma GCC unroll 3
        for (int v = 0; v < V; v++)
            st16(c + i * ldc + 16 * v, acc[i][v], beta);
}

AVX512 static void uk_avx512_rr(int64_t kc, const float *restrict a, int64_t lda, const float *restrict b,
                                int64_t ldb, float *restrict c, int64_t ldc, float beta)
{
    uk_avx512_rows_body(kc, a, lda, b, ldb, c, ldc, beta, 3);
}

#define UK_AVX512_ROWS(V)                                                                                              \
    AVX512 static void uk_avx512_rows##V(int64_t kc, const float *a, int64_t lda, const float *b, float *c,           \
                                         int64_t ldc, float beta)                                                      \
    {                                                                                                                  \
        uk_avx512_rows_body(kc, a, lda, b, 48, c, ldc, beta, V);                                                       \
    }
UK_AVX512_ROWS(1)
UK_AVX512_ROWS(2)
UK_AVX512_ROWS(3)

/* MR x 8 tiles for edges of at most 8 columns (packed A, or rows of A in place when lda > 0). */
#define AVX512_FMA __attribute__((target("avx512f,fma")))
AVX512_FMA static void uk_avx512_half_any(int64_t kc, const float *restrict a, int64_t lda, const float *restrict b,
                                          float *restrict c, int64_t ldc, float beta)
{
    __m256 acc[8];
    const float *ap[8];
    const int64_t step = lda ? 1 : 8;
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        ap[i] = lda ? a + i * lda : a + i;
        acc[i] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        __m256 bv = _mm256_loadu_ps(b);
#pragma GCC unroll 8
        for (int i = 0; i < 8; i++)
            acc[i] = _mm256_fmadd_ps(_mm256_broadcast_ss(ap[i] + k * step), bv, acc[i]);
        b += 48;
    }
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        st8(c + i * ldc, acc[i], beta);
}

AVX512_FMA static void uk_avx512_half(int64_t kc, const float *a, const float *b, float *c, int64_t ldc, float beta)
{
    uk_avx512_half_any(kc, a, 0, b, c, ldc, beta);
}

#define UK_AVX512(R, V)                                                                                                \
    AVX512 static void uk_avx512_##R##x##V(int64_t kc, const float *restrict a, const float *restrict b,              \
                                           float *restrict c, int64_t ldc, float beta)                                \
    {                                                                                                                  \
        uk_avx512_body(kc, a, b, c, ldc, beta, R, V);                                                                  \
    }
UK_AVX512(1, 1)
UK_AVX512(1, 2)
UK_AVX512(1, 3)
UK_AVX512(2, 1)
UK_AVX512(2, 2)
UK_AVX512(2, 3)
UK_AVX512(4, 1)
UK_AVX512(4, 2)
UK_AVX512(4, 3)
UK_AVX512(8, 1)
UK_AVX512(8, 2)
UK_AVX512(8, 3)

AVX512 NO_MEMCPY_IDIOM static void pack_b_avx512(const float *B, int64_t ldb, int64_t nlen, int64_t klen, float *dst)
{
    pack_b_body(B, ldb, nlen, klen, dst, 48);
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

/* dst[j * ldd + i] = alpha * src[i * lds + j] for an 8 x 8 block, with AVX shuffles. */
AVX512_INLINE void transpose8x8(const float *src, int64_t lds, float *dst, int64_t ldd, __m256 va)
{
    __m256 r0 = _mm256_loadu_ps(src + 0 * lds), r1 = _mm256_loadu_ps(src + 1 * lds);
    __m256 r2 = _mm256_loadu_ps(src + 2 * lds), r3 = _mm256_loadu_ps(src + 3 * lds);
    __m256 r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds);
    __m256 r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
    __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
    __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
    __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(dst + 0 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s0, s4, 0x20)));
    _mm256_storeu_ps(dst + 1 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s1, s5, 0x20)));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s2, s6, 0x20)));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s3, s7, 0x20)));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s0, s4, 0x31)));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s1, s5, 0x31)));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s2, s6, 0x31)));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_mul_ps(va, _mm256_permute2f128_ps(s3, s7, 0x31)));
}

AVX512 static void pack_a8_avx(const float *A, int64_t lda, int64_t klen, float alpha, float *dst)
{
    const __m256 va = _mm256_set1_ps(alpha);
    int64_t k = 0;
    for (; k + 8 <= klen; k += 8, dst += 64)
        transpose8x8(A + k, lda, dst, 8, va);
    for (; k < klen; k++, dst += 8)
        for (int i = 0; i < 8; i++)
            dst[i] = alpha * A[i * lda + k];
}

/* Transposed B (op(B)[k][n] = B[n * ldb + k]) into 48-column panels, 8 x 8 blocks at a time. */
AVX512 static void pack_bt_avx512(const float *B, int64_t ldb, int64_t nlen, int64_t klen, float *dst)
{
    const int64_t NR = 48;
    const __m256 one = _mm256_set1_ps(1.0f);
    for (int64_t q = 0; q < nlen; q += NR, dst += NR * klen) {
        int64_t nr = min64(NR, nlen - q), c = 0;
        for (; c + 8 <= nr; c += 8) {
            const float *s = B + (q + c) * ldb;
            int64_t k = 0;
            for (; k + 8 <= klen; k += 8)
                transpose8x8(s + k, ldb, dst + k * NR + c, NR, one);
            for (; k < klen; k++)
                for (int64_t t = 0; t < 8; t++)
                    dst[k * NR + c + t] = s[t * ldb + k];
        }
        for (; c < nr; c++)
            for (int64_t k = 0; k < klen; k++)
                dst[k * NR + c] = B[(q + c) * ldb + k];
        for (c = nr; c < NR; c++)
            for (int64_t k = 0; k < klen; k++)
                dst[k * NR + c] = 0.0f;
    }
}

static const sg_arch arch_avx512 = {
    .name = "avx512", .mr = 8, .nr = 48, .vl = 16, .kernel = uk_avx512_8x3,
    .edge = {{uk_avx512_1x1, uk_avx512_1x2, uk_avx512_1x3}, {uk_avx512_2x1, uk_avx512_2x2, uk_avx512_2x3},
             {uk_avx512_4x1, uk_avx512_4x2, uk_avx512_4x3}, {uk_avx512_8x1, uk_avx512_8x2, uk_avx512_8x3}},
    .rows = {uk_avx512_rows1, uk_avx512_rows2, uk_avx512_rows3},
    .half = uk_avx512_half, .rows_half = uk_avx512_half_any, .rows_b = uk_avx512_rr,
    .pack_b = pack_b_avx512, .pack_bt = pack_bt_avx512, .pack_a8 = pack_a8_avx, .dot = dot_avx512, .axpy = axpy_avx512,
};

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
    const float *Bp;    /* B already in panels of NR over all of K (nni_sgemm_packed_ws), else NULL */
    int64_t lda, ldb, ldc;
    float *C;
    const nni_epilogue *epi; /* applied to each finished row panel, or NULL */
    int64_t kc;         /* depth of a K block (K split evenly into blocks <= KC_MAX) */
    int64_t mc, nc;     /* rows of an A block, columns of a B block */
    int64_t tile_m, tile_n; /* rows/columns of one thread's tile */
    int64_t tiles_n;
    char *ws;
    size_t ws_stride;   /* bytes per tile */
} sg_job;

/* Row class of an edge tile: 1, 2, 4 or MR rows. */
static inline int row_class(int64_t mr) { return mr <= 1 ? 0 : mr <= 2 ? 1 : mr <= 4 ? 2 : 3; }
static inline int64_t class_rows(int r, int64_t MR) { return r == 3 ? MR : (int64_t)1 << r; }

/* Pack rows [m0, m0+mlen) x depth [k0, k0+klen) of alpha*op(A) into MR-row panels, zero-padded. */
static void pack_a(const sg_job *j, int64_t m0, int64_t mlen, int64_t k0, int64_t klen, float *dst)
{
    const int64_t MR = j->ar->mr;
    const float alpha = j->alpha;
    for (int64_t p = 0; p < mlen; p += MR, dst += MR * klen) {
        int64_t mr = min64(MR, mlen - p);
        if (!j->ta && mr == 8 && MR == 8 && j->ar->pack_a8) {
            j->ar->pack_a8(j->A + (m0 + p) * j->lda + k0, j->lda, klen, alpha, dst);
            continue;
        }
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
        /* zero the rows the edge kernel for mr rows reads beyond them (a 1-row kernel reads none) */
        const int r = row_class(mr);
        int64_t rows_read = class_rows(r, MR);
        for (int64_t v = 0; v < j->ar->nr / j->ar->vl; v++)
            if (!j->ar->edge[r][v])
                rows_read = MR; /* edge_tile falls back to the full kernel */
        if (mr < rows_read)
            for (int64_t k = 0; k < klen; k++)
                for (int64_t i = mr; i < rows_read; i++)
                    dst[k * MR + i] = 0.0f;
    }
}

/* Pack depth [k0, k0+klen) x columns [n0, n0+nlen) of op(B) into NR-column panels, zero-padded. */
static void pack_b(const sg_job *j, int64_t n0, int64_t nlen, int64_t k0, int64_t klen, float *dst)
{
    const int64_t NR = j->ar->nr;
    if (!j->tb) {
        j->ar->pack_b(j->B + k0 * j->ldb + n0, j->ldb, nlen, klen, dst);
        return;
    }
    if (j->ar->pack_bt) {
        j->ar->pack_bt(j->B + n0 * j->ldb + k0, j->ldb, nlen, klen, dst);
        return;
    }
    for (int64_t q = 0; q < nlen; q += NR, dst += NR * klen) {
        int64_t nr = min64(NR, nlen - q);
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

/* One micro-tile that is not a full MR x NR: the narrowest kernel that covers it. */
static void edge_tile(const sg_arch *ar, int64_t kc, const float *a, const float *b, float *c, int64_t ldc,
                      float beta, int64_t mr, int64_t nr)
{
    const int64_t NR = ar->nr;
    int r = row_class(mr);
    int64_t nv = cdiv(nr, ar->vl);
    ukernel_fn f = ar->edge[r][nv - 1];
    if (r == 3 && nr <= 8 && ar->half) {
        if (mr == ar->mr && nr == 8) {
            ar->half(kc, a, b, c, ldc, beta);
            return;
        }
        f = ar->half;
        nv = 0; /* never an exact cover below: through tmp */
    }
    if (!f) {
        f = ar->kernel;
        r = 3;
        nv = NR / ar->vl;
    }
    if (class_rows(r, ar->mr) == mr && nv * ar->vl == nr) {
        f(kc, a, b, c, ldc, beta); /* covers the tile exactly: store in place */
        return;
    }
    float tmp[MR_MAX * NR_MAX] __attribute__((aligned(64)));
    f(kc, a, b, tmp, NR, 0.0f);
    for (int64_t i = 0; i < mr; i++) {
        float *cp = c + i * ldc;
        const float *tp = tmp + i * NR;
        if (beta == 0.0f)
            for (int64_t t = 0; t < nr; t++)
                cp[t] = tp[t];
        else
            for (int64_t t = 0; t < nr; t++)
                cp[t] = tp[t] + beta * cp[t];
    }
}

/*
 * Rows of B read in place, ldb floats apart, stay in a 64-set, 8-way L1
 * unless the stride maps them onto few sets: a row is ldb/16 lines long, so
 * with ldb a multiple of 256 floats the rows fall on only 64/gcd(ldb/16 mod
 * 64, 64) = 4, 2 or 1 distinct set offsets (a 112x112 plane: 4), and the rows
 * sharing one must fit the 8 ways (K = 32 at 112x112 measured 85 -> 67 us in
 * place against packed; deeper products at such strides are packed).
 */
static bool b_rows_fit_l1(int64_t ldb, int64_t K)
{
    if (ldb & 255)
        return true;
    const int64_t step = (ldb / 16) & 63; /* 0, 16, 32 or 48 */
    const int64_t offsets = step ? 64 / (step & -step) : 1;
    return K <= 8 * offsets;
}

/* One thread's share: rows [m0, m1) x columns [n0, n1) of C. */
static void gemm_tile(const sg_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1, float *ap, float *bp)
{
    const sg_arch *ar = j->ar;
    const int64_t MR = ar->mr, NR = ar->nr;
    /*
     * A narrow tile would pay a whole pass over A to pack it (A is often
     * the weights): read whole MR-row panels of a plain A in place and
     * pack only a ragged last panel. Wide tiles amortize packing, unless
     * A is small enough to stay in cache anyway.
     */
    const bool direct = !j->ta && j->alpha == 1.0f && ar->rows[0] != NULL &&
                        (n1 - n0 <= 1024 || (m1 - m0) * j->K <= DIRECT_A_MAX);
    /* B in place too when every row panel is whole and the product is shallow (a tile's B rows fit in L1) */
    const bool direct_b = direct && ar->rows_b && !j->Bp && !j->tb && j->M % MR == 0 && j->K <= DIRECT_B_MAX_K &&
                          b_rows_fit_l1(j->ldb, j->K);
    for (int64_t pc = 0; pc < j->K; pc += j->kc) {
        int64_t kc = min64(j->kc, j->K - pc);
        float beta = pc == 0 ? j->beta : 1.0f;
        for (int64_t mc0 = m0; mc0 < m1; mc0 += j->mc) {
            int64_t mc = min64(j->mc, m1 - mc0);
            int64_t mfull = direct ? mc / MR * MR : 0;
            if (mfull < mc)
                pack_a(j, mc0 + mfull, mc - mfull, pc, kc, ap + mfull * kc);
            for (int64_t nc0 = n0; nc0 < n1; nc0 += j->nc) {
                int64_t nc = min64(j->nc, n1 - nc0);
                const float *bblock;
                int64_t bstride; /* floats between consecutive NR-column panels */
                if (j->Bp) {
                    bblock = j->Bp + ((nc0 / NR) * j->K + pc) * NR;
                    bstride = j->K * NR;
                } else if (direct_b) {
                    /* only a ragged last panel is packed, into bp */
                    if (nc % NR)
                        pack_b(j, nc0 + nc / NR * NR, nc % NR, pc, kc, bp);
                    bblock = bp;
                    bstride = 0;
                } else {
                    pack_b(j, nc0, nc, pc, kc, bp);
                    bblock = bp;
                    bstride = kc * NR;
                }
                for (int64_t ir = 0; ir < mc; ir += MR) {
                    int64_t mr = min64(MR, mc - ir);
                    float *crow = j->C + (mc0 + ir) * j->ldc + nc0;
                    if (ir < mfull) {
                        const float *a = j->A + (mc0 + ir) * j->lda + pc;
                        for (int64_t jr = 0; jr < nc; jr += NR) {
                            int64_t nr = min64(NR, nc - jr), nv = cdiv(nr, ar->vl);
                            if (direct_b && nr == NR) {
                                ar->rows_b(kc, a, j->lda, j->B + pc * j->ldb + nc0 + jr, j->ldb, crow + jr, j->ldc,
                                           beta);
                                continue;
                            }
                            const float *b = bblock + (jr / NR) * bstride;
                            ukernel_rows_fn f = ar->rows[nv - 1];
                            if (nr <= 8 && ar->rows_half) {
                                f = ar->rows_half;
                                nv = nr == 8 ? -1 : 0; /* -1: covers exactly */
                            }
                            if (nv < 0 || nv * ar->vl == nr) {
                                f(kc, a, j->lda, b, crow + jr, j->ldc, beta);
                                continue;
                            }
                            float tmp[MR_MAX * NR_MAX] __attribute__((aligned(64)));
                            f(kc, a, j->lda, b, tmp, NR, 0.0f);
                            for (int64_t i = 0; i < MR; i++) {
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
                    } else {
                        const float *a = ap + ir * kc;
                        for (int64_t jr = 0; jr < nc; jr += NR) {
                            int64_t nr = min64(NR, nc - jr);
                            const float *b = bblock + (jr / NR) * bstride;
                            if (mr == MR && nr == NR)
                                ar->kernel(kc, a, b, crow + jr, j->ldc, beta);
                            else
                                edge_tile(ar, kc, a, b, crow + jr, j->ldc, beta, mr, nr);
                        }
                    }
                    /* the panel is final after the last depth block: finish it while it is in cache */
                    if (j->epi && pc + kc == j->K)
                        nni_epilogue_apply(j->epi, crow, j->ldc, mc0 + ir, mr, nc0, nc);
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

/*
 * Threads worth using: ~256K multiply-adds each at least (~5 us of work
 * against ~1-2 us to hand a loop to the pool; at 1M, the 13x13 1x1 layers of
 * SqueezeNet ran on one thread: the model 2% slower, MnasNet 4%).
 */
static int32_t useful_threads(int64_t M, int64_t N, int64_t K, int32_t threads)
{
    double work = (double)M * (double)N * (double)K;
    int64_t t = (int64_t)(work / (1 << 18));
    if (t < 1)
        t = 1;
    return threads < t ? threads : (int32_t)t;
}

/*
 * Split C into at most nt tiles, MR/NR-aligned. Cost of a split is its
 * largest tile's multiply-adds per unit depth plus its packing (both
 * operands' panels are re-packed by every tile that needs them).
 */
static void split_tiles(sg_job *j, int32_t nt)
{
    const int64_t MR = j->ar->mr, NR = j->ar->nr;
    int64_t mu = cdiv(j->M, MR), nu = cdiv(j->N, NR);
    int64_t best_tm = 1;
    double best_cost = -1;
    for (int64_t tm = 1; tm <= nt; tm++) {
        int64_t tn = nt / tm;
        if (tm > mu || tn > nu)
            continue;
        double rows = (double)min64(j->M, cdiv(mu, tm) * MR), cols = (double)min64(j->N, cdiv(nu, tn) * NR);
        double cost = rows * cols + 4.0 * (rows + cols);
        if (best_cost < 0 || cost < best_cost)
            best_cost = cost, best_tm = tm;
    }
    int64_t tm = best_tm, tn = max64(1, nt / best_tm);
    j->tile_m = cdiv(mu, tm) * MR;
    j->tile_n = cdiv(nu, tn) * NR;
    j->tiles_n = cdiv(j->N, j->tile_n);
}

/*
 * Split over K. A deep, narrow-output product (a 1x1 convolution that
 * shrinks the channels, M <= K/2) whose B is the activations in channel rows
 * is split by depth instead of by tiles of C: thread t multiplies the rows of
 * B that its own share of the producing layer wrote (layers split their
 * channels the same way), into a partial C of its own; then each thread sums
 * the partials over a band of C's rows and applies the epilogue. A split of
 * C would have each thread read every channel, half of them from the other
 * core's cache, and the producer then rewrite lines the other core had read:
 * on this kind of VM each such line costs ~30 ns, more than the multiply.
 * The partials move only M*N floats between the cores instead of K*N.
 */
static bool use_split_k(int64_t M, int64_t N, int64_t K, bool tb, int32_t nt)
{
    return nt > 1 && !tb && K >= 2 * M && K / nt >= 32 && N >= 16 && N <= 1024 && M >= 8;
}

/* First depth row of thread t's slice (a multiple of 8 but for the end). */
static int64_t split_k_row(int64_t K, int32_t nt, int32_t t)
{
    return t >= nt ? K : K * t / nt / 8 * 8;
}

/* Bytes per slice: its partial C (M x N) and packing workspace for the deepest (last) slice. */
static size_t split_k_stride(int64_t M, int64_t N, int64_t K, int32_t nt)
{
    return (size_t)round_up(M * N * (int64_t)sizeof(float), 64) + pack_bytes(M, N, K - split_k_row(K, nt, nt - 1));
}

typedef struct {
    const sg_job *j;
    int32_t nt;
    size_t stride;
} splitk_job;

static void splitk_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const splitk_job *s = arg;
    (void)tid;
    for (int64_t t = begin; t < end; t++) {
        const int64_t k0 = split_k_row(s->j->K, s->nt, (int32_t)t), k1 = split_k_row(s->j->K, s->nt, (int32_t)t + 1);
        sg_job j = *s->j;
        char *w = j.ws + (size_t)t * s->stride;
        j.K = k1 - k0;
        j.A += j.ta ? k0 * j.lda : k0;
        j.B += k0 * j.ldb;
        j.beta = 0.0f;
        j.C = (float *)w;
        j.ldc = j.N;
        j.epi = NULL;
        block_sizes(j.M, j.N, j.K, j.ar->mr, j.ar->nr, &j.kc, &j.mc, &j.nc);
        float *ap = (float *)(w + round_up(j.M * j.N * (int64_t)sizeof(float), 64));
        gemm_tile(&j, 0, j.M, 0, j.N, ap, ap + round_up(j.mc, MR_LCM) * j.kc);
    }
}

static void splitk_sum_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const splitk_job *s = arg;
    const sg_job *j = s->j;
    (void)tid;
    for (int64_t r = begin; r < end; r++) {
        float *c = j->C + r * j->ldc;
        const float *p = (const float *)j->ws + r * j->N;
        if (j->beta == 0.0f) {
            memcpy(c, p, (size_t)j->N * sizeof(float));
        } else {
            for (int64_t x = 0; x < j->N; x++)
                c[x] *= j->beta;
            j->ar->axpy(j->N, 1.0f, p, c);
        }
        for (int32_t t = 1; t < s->nt; t++)
            j->ar->axpy(j->N, 1.0f, (const float *)(j->ws + (size_t)t * s->stride) + r * j->N, c);
    }
    if (j->epi)
        nni_epilogue_apply(j->epi, j->C + begin * j->ldc, j->ldc, begin, end - begin, 0, j->N);
}

int32_t nni_sgemm_depth_slices(int64_t M, int64_t N, int64_t K, bool transB, int32_t threads)
{
    if (M <= 1 || N <= 1 || K <= 0)
        return 0;
    int32_t nt = useful_threads(M, N, K, threads);
    return use_split_k(M, N, K, transB, nt) ? nt : 0;
}

int64_t nni_sgemm_depth_row(int64_t K, int32_t slices, int32_t t) { return split_k_row(K, slices, t); }

static void run_blocked(sg_job *j, nni_pool *pool)
{
    int32_t nt = useful_threads(j->M, j->N, j->K, nni_pool_threads(pool));
    if (!j->Bp && use_split_k(j->M, j->N, j->K, j->tb, nt)) {
        splitk_job s = {.j = j, .nt = nt, .stride = split_k_stride(j->M, j->N, j->K, nt)};
        nni_parallel_for(pool, nt, 1, splitk_task, &s);
        nni_parallel_for(pool, j->M, 1, splitk_sum_task, &s);
        return;
    }
    block_sizes(j->M, j->N, j->K, j->ar->mr, j->ar->nr, &j->kc, &j->mc, &j->nc);
    j->ws_stride = pack_bytes(j->M, j->N, j->K);
    split_tiles(j, nt);
    int64_t tiles = cdiv(j->M, j->tile_m) * j->tiles_n;
    if (tiles <= 1)
        gemm_task(j, 0, tiles, 0);
    else
        nni_parallel_for(pool, tiles, 1, gemm_task, j);
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

/* Threads for a matrix-vector product: it streams the matrix once, so a thread pays from 256K elements. */
static int32_t gemv_threads(const gv_job *g, nni_pool *pool)
{
    return useful_threads(g->n * 4, 1, g->k, nni_pool_threads(pool));
}

static void run_gemv_dot(gv_job *g, nni_pool *pool)
{
    int32_t nt = gemv_threads(g, pool);
    if (nt <= 1)
        gemv_dot_task(g, 0, g->n, 0);
    else
        /* several chunks per thread: the matrix streams from memory, and a thread
         * slowed by the other core's traffic leaves the rest to it */
        nni_parallel_for(pool, g->n, max64(16, cdiv(g->n, 8 * (int64_t)nt)), gemv_dot_task, g);
}

static void run_gemv_axpy(gv_job *g, nni_pool *pool)
{
    int32_t nt = gemv_threads(g, pool);
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
    const size_t tiles = pack_bytes(M, N, K) * (size_t)nt;
    if (!use_split_k(M, N, K, false, nt))
        return tiles;
    /* split by depth unless B is transposed, which the query does not know: room for either */
    const size_t split = split_k_stride(M, N, K, nt) * (size_t)nt;
    return split > tiles ? split : tiles;
}

void nni_sgemm_ws_epi(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                      const nni_epilogue *epi, void *ws, nni_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    if (!nni_epilogue_active(epi))
        epi = NULL;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        nni_epilogue_apply(epi, C, ldc, 0, M, 0, N);
        return;
    }
    const sg_arch *ar = get_arch();
    if (M == 1 || N == 1) {
        gemv(ar, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, ws, pool);
        nni_epilogue_apply(epi, C, ldc, 0, M, 0, N);
        return;
    }
    sg_job j = {.ar = ar, .ta = transA, .tb = transB, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                .A = A, .B = B, .lda = lda, .ldb = ldb, .ldc = ldc, .C = C, .epi = epi, .ws = ws};
    run_blocked(&j, pool);
}

void nni_sgemm_ws(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, void *ws,
                  nni_pool *pool)
{
    nni_sgemm_ws_epi(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, NULL, ws, pool);
}

int64_t nni_sgemm_nr(void) { return get_arch()->nr; }

size_t nni_sgemm_packed_workspace(int64_t M, int64_t N, int64_t K, int32_t threads)
{
    if (M <= 0 || N <= 0 || K <= 0)
        return 64;
    return pack_bytes(M, N, K) * (size_t)useful_threads(M, N, K, threads < 1 ? 1 : threads);
}

void nni_sgemm_pack_b(int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp)
{
    const sg_arch *ar = get_arch();
    if (N > 0 && K > 0)
        ar->pack_b(B, ldb, N, K, Bp);
}

void nni_sgemm_pack_bt(int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp)
{
    const sg_arch *ar = get_arch();
    if (N <= 0 || K <= 0)
        return;
    if (ar->pack_bt) {
        ar->pack_bt(B, ldb, N, K, Bp);
        return;
    }
    const int64_t NR = ar->nr;
    for (int64_t q = 0; q < N; q += NR, Bp += NR * K)
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < NR; j++)
                Bp[k * NR + j] = q + j < N ? B[(q + j) * ldb + k] : 0.0f;
}

void nni_sgemm_packed_ws_epi(bool transA, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                             const float *Bp, float beta, float *C, int64_t ldc, const nni_epilogue *epi, void *ws,
                             nni_pool *pool)
{
    if (M <= 0 || N <= 0)
        return;
    if (!nni_epilogue_active(epi))
        epi = NULL;
    if (K <= 0 || alpha == 0.0f) {
        scale_c(M, N, beta, C, ldc);
        nni_epilogue_apply(epi, C, ldc, 0, M, 0, N);
        return;
    }
    sg_job j = {.ar = get_arch(), .ta = transA, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta, .A = A,
                .Bp = Bp, .lda = lda, .ldc = ldc, .C = C, .epi = epi, .ws = ws};
    run_blocked(&j, pool);
}

void nni_sgemm_packed_ws(bool transA, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                         const float *Bp, float beta, float *C, int64_t ldc, void *ws, nni_pool *pool)
{
    nni_sgemm_packed_ws_epi(transA, M, N, K, alpha, A, lda, Bp, beta, C, ldc, NULL, ws, pool);
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
