/* epilogue.c — fused output stage (scale, biases, residual, activation), one body per ISA. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* lets the activation selects vectorize */
#endif

#include <pthread.h>
#include <stddef.h>

#include "kernels/epilogue.h"
#include "kernels/vmath.h"

#if defined(__x86_64__) || defined(__i386__)
#define EPI_X86 1
#else
#define EPI_X86 0
#endif

bool nni_epilogue_active(const nni_epilogue *e)
{
    return e && (e->row_scale || e->row_bias || e->col_bias || e->residual || e->act != NNI_ACT_NONE);
}

/* ReLU and Clip of one value: the same expressions as the unfused ops (unary.c). */
static inline float relu1(float x) { return x < 0.0f ? 0.0f : x; }
static inline float clip1(float x, float lo, float hi)
{
    float v = x < lo ? lo : x;
    return v > hi ? hi : v;
}

/* The activation over one row; the same expressions as the unfused ops (unary.c). */
static inline __attribute__((always_inline)) void act_row(int32_t act, float a, float b, float *restrict x,
                                                          int64_t n)
{
    switch (act) {
    case NNI_ACT_RELU:
        for (int64_t j = 0; j < n; j++)
            x[j] = relu1(x[j]);
        break;
    case NNI_ACT_LEAKY_RELU:
        for (int64_t j = 0; j < n; j++)
            x[j] = x[j] < 0.0f ? a * x[j] : x[j];
        break;
    case NNI_ACT_CLIP:
        for (int64_t j = 0; j < n; j++)
            x[j] = clip1(x[j], a, b);
        break;
    case NNI_ACT_SIGMOID:
        for (int64_t j = 0; j < n; j++)
            x[j] = nni_sigmoidf(x[j]);
        break;
    case NNI_ACT_HARD_SIGMOID:
        for (int64_t j = 0; j < n; j++) {
            float v = a * x[j] + b;
            x[j] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        break;
    case NNI_ACT_HARD_SWISH: {
        const float k = 1.0f / 6.0f;
        for (int64_t j = 0; j < n; j++) {
            float v = k * x[j] + 0.5f;
            x[j] = x[j] * (v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v);
        }
        break;
    }
    default:
        break;
    }
}

/*
 * One pass over a row: act(s * x + rb [+ residual]) for the activations
 * that are a select or two (the common conv epilogues: BatchNormalization
 * folded in, then ReLU or Clip, with or without a residual). The general
 * body below makes a pass per part, which for a shallow GEMM (K = 16..32)
 * cost as much as the product itself.
 */
#define EPI_ROW_LOOP(EXPR)                                                                                           \
    do {                                                                                                             \
        if (res)                                                                                                     \
            for (int64_t j = 0; j < ncols; j++) {                                                                    \
                float v = s * x[j] + rb + res[j];                                                                    \
                x[j] = (EXPR);                                                                                       \
            }                                                                                                        \
        else                                                                                                         \
            for (int64_t j = 0; j < ncols; j++) {                                                                    \
                float v = s * x[j] + rb;                                                                             \
                x[j] = (EXPR);                                                                                       \
            }                                                                                                        \
    } while (0)

static inline __attribute__((always_inline)) bool epi_one_pass(const nni_epilogue *e, float *c, int64_t ldc,
                                                               int64_t row0, int64_t nrows, int64_t col0,
                                                               int64_t ncols)
{
    if (e->col_bias || (e->act != NNI_ACT_NONE && e->act != NNI_ACT_RELU && e->act != NNI_ACT_CLIP))
        return false;
    const float a = e->alpha, b = e->beta;
    for (int64_t i = 0; i < nrows; i++) {
        float *restrict x = c + i * ldc;
        const int64_t r = row0 + i;
        const float s = e->row_scale ? e->row_scale[r] : 1.0f, rb = e->row_bias ? e->row_bias[r] : 0.0f;
        const float *restrict res = e->residual ? e->residual + r * e->ldr + col0 : NULL;
        if (e->act == NNI_ACT_RELU)
            EPI_ROW_LOOP(relu1(v));
        else if (e->act == NNI_ACT_CLIP)
            EPI_ROW_LOOP(clip1(v, a, b));
        else
            EPI_ROW_LOOP(v);
    }
    return true;
}

static inline __attribute__((always_inline)) void epi_body(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0,
                                                           int64_t nrows, int64_t col0, int64_t ncols)
{
    if (epi_one_pass(e, c, ldc, row0, nrows, col0, ncols))
        return;
    const float *cb = e->col_bias ? e->col_bias + col0 : NULL;
    for (int64_t i = 0; i < nrows; i++) {
        float *restrict x = c + i * ldc;
        const int64_t r = row0 + i;
        const float s = e->row_scale ? e->row_scale[r] : 1.0f, rb = e->row_bias ? e->row_bias[r] : 0.0f;
        if (e->row_scale || e->row_bias)
            for (int64_t j = 0; j < ncols; j++)
                x[j] = s * x[j] + rb;
        if (cb)
            for (int64_t j = 0; j < ncols; j++)
                x[j] += cb[j];
        if (e->residual) {
            const float *restrict res = e->residual + r * e->ldr + col0;
            for (int64_t j = 0; j < ncols; j++)
                x[j] += res[j];
        }
        act_row(e->act, e->alpha, e->beta, x, ncols);
    }
}

typedef void (*epi_fn)(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0, int64_t nrows, int64_t col0,
                       int64_t ncols);

static void epi_generic(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0, int64_t nrows, int64_t col0,
                        int64_t ncols)
{
    epi_body(e, c, ldc, row0, nrows, col0, ncols);
}

#if EPI_X86
__attribute__((target("avx2,fma"))) static void epi_avx2(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0,
                                                         int64_t nrows, int64_t col0, int64_t ncols)
{
    epi_body(e, c, ldc, row0, nrows, col0, ncols);
}

__attribute__((target("avx512f"))) static void epi_avx512(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0,
                                                          int64_t nrows, int64_t col0, int64_t ncols)
{
    epi_body(e, c, ldc, row0, nrows, col0, ncols);
}
#endif

static epi_fn g_epi = epi_generic;
static pthread_once_t g_epi_once = PTHREAD_ONCE_INIT;

static void epi_detect(void)
{
#if EPI_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        g_epi = epi_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        g_epi = epi_avx2;
#endif
}

void nni_epilogue_apply(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0, int64_t nrows, int64_t col0,
                        int64_t ncols)
{
    if (!nni_epilogue_active(e) || nrows <= 0 || ncols <= 0)
        return;
    pthread_once(&g_epi_once, epi_detect);
    g_epi(e, c, ldc, row0, nrows, col0, ncols);
}

void nni_act_apply(int32_t act, float alpha, float beta, float *x, int64_t n)
{
    if (act == NNI_ACT_NONE || n <= 0)
        return;
    nni_epilogue e = {.act = act, .alpha = alpha, .beta = beta};
    nni_epilogue_apply(&e, x, n, 0, 1, 0, n);
}
