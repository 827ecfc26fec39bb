/*
 * conv.h — convolution kernels that are not GEMM: im2col (gather image
 * patches into GEMM columns), col2im (the scatter-add back, for transposed
 * convolution) and a direct depthwise 2-D convolution. Float32, NC... layout.
 */
#ifndef NNI_KERNELS_CONV_H
#define NNI_KERNELS_CONV_H

#include "exec/pool.h"
#include "kernels/epilogue.h"

#define NNI_CONV_MAX_DIMS 6

/*
 * Geometry of one convolution over `nd` spatial dims, image -> columns:
 * output position o reads image position o*stride - pad + k*dil.
 * For col2im, `in` is the image scattered into and `out` the column positions.
 */
typedef struct nni_conv_geom {
    int32_t nd;
    int64_t in[NNI_CONV_MAX_DIMS];     /* image spatial dims */
    int64_t out[NNI_CONV_MAX_DIMS];    /* output (column) spatial dims */
    int64_t kernel[NNI_CONV_MAX_DIMS];
    int64_t stride[NNI_CONV_MAX_DIMS];
    int64_t dil[NNI_CONV_MAX_DIMS];
    int64_t pad[NNI_CONV_MAX_DIMS];    /* leading padding */
} nni_conv_geom;

/**
 * Columns [p0, p1) of the im2col matrix of `channels` image planes x:
 * col[r * (p1 - p0) + (p - p0)] for r = c * kvol + kernel offset (row-major
 * over kernel dims), p = flattened output position; zeros where the window
 * is outside the image.
 */
void nni_im2col(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                nni_pool *pool);

/**
 * nni_im2col written straight into nni_sgemm's pre-packed B layout with
 * panel width nr (nni_sgemm_nr()): K = channels * kvol rows, N = p1 - p0
 * columns, K * round_up(N, nr) floats.
 */
void nni_im2col_packed(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, int64_t nr,
                       float *col, nni_pool *pool);

/** The adjoint of nni_im2col: y[c, image position] += col[r, p] for p in [p0, p1). */
void nni_col2im(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, float *y,
                nni_pool *pool);

/** nni_im2col / nni_col2im with a row stride `ld` >= p1 - p0 for col (several images side by side). */
void nni_im2col_ld(const nni_conv_geom *g, int64_t channels, const float *x, int64_t p0, int64_t p1, float *col,
                   int64_t ld, nni_pool *pool);
void nni_col2im_ld(const nni_conv_geom *g, int64_t channels, const float *col, int64_t p0, int64_t p1, int64_t ld,
                   float *y, nni_pool *pool);

/**
 * Depthwise 2-D convolution of `planes` output planes (batch * M): output
 * plane q reads input plane q / mult with kernel plane q % M (M = output
 * channels) and adds bias[q % M] (bias may be NULL). nd == 1 is passed with
 * in[0] = out[0] = kernel[0] = 1. ws: see nni_conv2d_depthwise_workspace.
 * epi (may be NULL) then finishes each plane: its row arrays are indexed by
 * channel q % M, its residual holds whole planes (plane q at residual + q * plane size).
 */
void nni_conv2d_depthwise_epi(const nni_conv_geom *g, int64_t planes, int64_t M, int64_t mult, const float *x,
                              const float *w, const float *bias, const nni_epilogue *epi, float *y, void *ws,
                              nni_pool *pool);
/** The same without an epilogue. */
void nni_conv2d_depthwise(const nni_conv_geom *g, int64_t planes, int64_t M, int64_t mult, const float *x,
                          const float *w, const float *bias, float *y, void *ws, nni_pool *pool);
/*
 * The 16-channel-block path behind nni_conv2d_depthwise (AVX-512, one
 * output channel per input channel, kernels up to 7x7); dwconv.c.
 */
bool nni_dw_blocked_ok(const nni_conv_geom *g, int64_t mult);
size_t nni_dw_blocked_workspace(const nni_conv_geom *g, int32_t threads);
void nni_dw_blocked(const nni_conv_geom *g, int64_t N, int64_t M, const float *x, const float *w, const float *bias,
                    const nni_epilogue *epi, float *y, void *ws, nni_pool *pool);

/*
 * Depthwise convolution of stride 2 (nni_dw_blocked's flat cases) whose
 * input is a pointwise convolution's output, computed on the fly a few
 * channels at a time straight into the phase planes and never stored whole
 * (inference fusion of MobileNet's expand + depthwise pair): input plane m
 * of image n = pe(sum_k pw->w[m * K + k] * pw->x[(n * K + k) * H * W + p]),
 * pe = pw->e without residual. w, bias, epi, y: as nni_dw_blocked. dwconv.c.
 */
typedef struct nni_pw_source {
    int64_t K;             /* input channels of the pointwise convolution */
    const float *x;        /* its input: N x K planes of H x W (the depthwise input's size) */
    const float *w;        /* M x K */
    const nni_epilogue *e; /* its epilogue (row scale/bias, activation) or NULL */
} nni_pw_source;
bool nni_dw_pointwise_ok(const nni_conv_geom *g);
size_t nni_dw_pointwise_workspace(const nni_conv_geom *g, int64_t K, int32_t threads);
void nni_dw_pointwise(const nni_conv_geom *g, int64_t N, int64_t M, const nni_pw_source *pw, const float *w,
                      const float *bias, const nni_epilogue *epi, float *y, void *ws, nni_pool *pool);

/*
 * Dense 2-D convolution of at most 4 input channels (a network's first
 * layer), AVX-512, stride 1 with "same" output or stride 2: y = act(conv +
 * epilogue); epi's row arrays are indexed by output channel, its residual
 * holds the whole output (N x M planes). dwconv.c.
 */
bool nni_conv2d_smallc_ok(const nni_conv_geom *g, int64_t C);
size_t nni_conv2d_smallc_workspace(const nni_conv_geom *g, int64_t C);
void nni_conv2d_smallc(const nni_conv_geom *g, int64_t N, int64_t C, int64_t M, const float *x, const float *w,
                       const nni_epilogue *epi, float *y, void *ws, nni_pool *pool);

/** dst[c * ldd + r] = src[r * lds + c] for a rows x cols block (one thread). */
void nni_transpose_f32(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd);
/**
 * The same, then e applied to the result: dst is the epilogue's output block
 * at (row0, col0) (rows = the cols source columns, columns = the rows source
 * rows), in one pass.
 */
void nni_transpose_epi_f32(const float *src, int64_t rows, int64_t cols, int64_t lds, float *dst, int64_t ldd,
                           const nni_epilogue *e, int64_t row0, int64_t col0);

/** Bytes of 64-byte aligned workspace nni_conv2d_depthwise needs with `threads` threads. */
size_t nni_conv2d_depthwise_workspace(const nni_conv_geom *g, int32_t threads);

#endif
