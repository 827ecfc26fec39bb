/*
 * winograd.h — 3x3 stride-1 convolution by Winograd's minimal filtering
 * F(4x4, 3x3): each 4x4 block of outputs ("tile") costs 36 multiplies per
 * input/output channel pair instead of 144. Input tiles (6x6) and filters
 * are transformed into 36 matrices each, the products become 36 GEMMs
 * (tiles x input channels times input x output channels), and the output
 * transform finishes each tile with the convolution's epilogue.
 *
 * The filters' transform is a per-model constant: callers make it once
 * (nni_winograd_transform_weights) and keep it. It is laid out for the GEMM
 * micro-kernel in use, so it records that kernel's panel width.
 * AVX-512 only (nni_winograd_supported); other machines use im2col.
 */
#ifndef NNI_KERNELS_WINOGRAD_H
#define NNI_KERNELS_WINOGRAD_H

#include "exec/pool.h"
#include "kernels/epilogue.h"

typedef struct nni_winograd_geom {
    int64_t C, M;         /* input and output channels (group 1) */
    int64_t H, W;         /* input plane */
    int64_t OH, OW;       /* output plane */
    int64_t pad_t, pad_l; /* leading padding; trailing padding is implied by OH/OW */
} nni_winograd_geom;

/** True when this CPU runs the Winograd kernels (and the test hook below allows them). */
bool nni_winograd_supported(void);
/** Test hook: false turns Winograd off (convolutions then take the im2col path). Not thread-safe. */
void nni_winograd_enable(bool on);

/** Bytes of transformed filters for M x C 3x3 filters (with the current GEMM kernel). */
size_t nni_winograd_weights_size(int64_t M, int64_t C);

/** Transform filters w[M][C][3][3] into u (nni_winograd_weights_size bytes, 64-byte aligned). */
void nni_winograd_transform_weights(int64_t M, int64_t C, const float *w, float *u);

/** Bytes of 64-byte aligned workspace nni_winograd_conv needs with `threads` threads. */
size_t nni_winograd_workspace(const nni_winograd_geom *g, int32_t threads);

/**
 * One image: y[M][OH][OW] = conv(x[C][H][W], filters) with the epilogue e
 * (may be NULL): its row arrays are indexed by output channel and its
 * residual holds this image's output planes (channel m at residual + m * ldr).
 */
void nni_winograd_conv(const nni_winograd_geom *g, const float *x, const float *u, const nni_epilogue *e, float *y,
                       void *ws, nni_pool *pool);

#endif
