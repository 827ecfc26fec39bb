/*
 * epilogue.h — what a GEMM-shaped kernel applies to its output while it is
 * still in cache: a per-row scale (a folded BatchNormalization), per-row and
 * per-column biases, a residual matrix and an activation. Fusing these into
 * the producing convolution saves whole passes over the activations.
 *
 *   C[i][j] = act(row_scale[i] * C[i][j] + row_bias[i] + col_bias[j] + residual[i][j])
 *
 * where C[i][j] is the kernel's plain result. Every part is optional.
 */
#ifndef NNI_KERNELS_EPILOGUE_H
#define NNI_KERNELS_EPILOGUE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum nni_act {
    NNI_ACT_NONE = 0,
    NNI_ACT_RELU,         /* x < 0 ? 0 : x */
    NNI_ACT_LEAKY_RELU,   /* x < 0 ? alpha * x : x */
    NNI_ACT_CLIP,         /* min(max(x, alpha), beta), as Clip (alpha = min, beta = max) */
    NNI_ACT_SIGMOID,
    NNI_ACT_HARD_SIGMOID, /* clamp(alpha * x + beta, 0, 1) */
    NNI_ACT_HARD_SWISH,   /* x * clamp(x / 6 + 1/2, 0, 1) */
} nni_act;

typedef struct nni_epilogue {
    const float *row_scale; /* [rows] or NULL */
    const float *row_bias;  /* [rows] or NULL */
    const float *col_bias;  /* [cols] or NULL */
    const float *residual;  /* element (i, j) at residual[i * ldr + j], or NULL */
    int64_t ldr;
    int32_t act;            /* nni_act */
    float alpha, beta;      /* activation parameters */
} nni_epilogue;

/** True when applying e changes anything (e may be NULL). */
bool nni_epilogue_active(const nni_epilogue *e);

/**
 * Apply e to rows [row0, row0 + nrows) x columns [col0, col0 + ncols) of the
 * output; c points at element (row0, col0), rows ldc floats apart. Row and
 * column indices select the biases, scales and residual elements.
 */
void nni_epilogue_apply(const nni_epilogue *e, float *c, int64_t ldc, int64_t row0, int64_t nrows, int64_t col0,
                        int64_t ncols);

/** The activation alone over n contiguous floats. */
void nni_act_apply(int32_t act, float alpha, float beta, float *x, int64_t n);

#endif
