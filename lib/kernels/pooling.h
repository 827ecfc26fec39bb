/*
 * pooling.h — sliding-window pooling (max, average, Lp) over one N-D plane.
 * Kernels take raw pointers and a window geometry; callers split the work
 * over N*C planes.
 */
#ifndef NNI_KERNELS_POOLING_H
#define NNI_KERNELS_POOLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NNI_POOLING_MAX_RANK 6

/* Geometry of one spatial plane: input/output extents, window and padding. */
typedef struct nni_pooling_geom {
    int32_t rank;                            /* spatial dims, 1..NNI_POOLING_MAX_RANK */
    int64_t in[NNI_POOLING_MAX_RANK];
    int64_t out[NNI_POOLING_MAX_RANK];
    int64_t kernel[NNI_POOLING_MAX_RANK];
    int64_t stride[NNI_POOLING_MAX_RANK];
    int64_t dilation[NNI_POOLING_MAX_RANK];
    int64_t pad_begin[NNI_POOLING_MAX_RANK];
    int64_t pad_end[NNI_POOLING_MAX_RANK];
    int64_t in_size, out_size;               /* elements of one plane */
} nni_pooling_geom;

/*
 * Max pooling of one plane. When idx is not NULL it receives the flat index of
 * each maximum: idx_base + the spatial offset in row-major order, or in
 * column-major order when col_major (MaxPool's storage_order = 1).
 */
void nni_pooling_max_f32(const nni_pooling_geom *g, const float *x, float *y, int64_t *idx, int64_t idx_base,
                         bool col_major);
void nni_pooling_max_f64(const nni_pooling_geom *g, const double *x, double *y, int64_t *idx, int64_t idx_base,
                         bool col_major);
void nni_pooling_max_u8(const nni_pooling_geom *g, const uint8_t *x, uint8_t *y, int64_t *idx, int64_t idx_base,
                        bool col_major);
void nni_pooling_max_i8(const nni_pooling_geom *g, const int8_t *x, int8_t *y, int64_t *idx, int64_t idx_base,
                        bool col_major);

/* Floats needed by nni_pooling_divisors: the sum of the output extents. */
size_t nni_pooling_divisor_count(const nni_pooling_geom *g);
/*
 * Per-dimension reciprocal window sizes for average pooling: the number of
 * window taps inside the input, or inside input + pads when include_pad.
 * Fill once per geometry; the result is shared by every plane.
 */
void nni_pooling_divisors(const nni_pooling_geom *g, bool include_pad, float *recips);
/* Average pooling of one plane with recips from nni_pooling_divisors. */
void nni_pooling_avg_f32(const nni_pooling_geom *g, const float *x, float *y, const float *recips);
/* Lp pooling of one plane: (sum |x|^p)^(1/p) over the taps inside the input. */
void nni_pooling_lp_f32(const nni_pooling_geom *g, const float *x, float *y, float p);

/*
 * Fast 2-D paths (rank 2, no dilation) for float max and average pooling:
 * each output row is one vertical reduction over the window's input rows
 * into a bordered row buffer, then one horizontal pass; both vectorize.
 * ws: nni_pooling2d_workspace bytes (per thread), 64-byte aligned.
 */
bool nni_pooling2d_ok(const nni_pooling_geom *g);
size_t nni_pooling2d_workspace(const nni_pooling_geom *g);
void nni_pooling2d_max_f32(const nni_pooling_geom *g, const float *x, float *y, void *ws);
/* recips as from nni_pooling_divisors. */
void nni_pooling2d_avg_f32(const nni_pooling_geom *g, const float *x, float *y, const float *recips, void *ws);

/* Test hook: use the "generic", "avx2" or "avx512" 2-D bodies (NULL = best); false if unsupported. */
bool nni_pooling2d_force_isa(const char *name);

/* Whole-plane reductions for the global pools (n > 0). */
float nni_pooling_sum_f32(const float *x, int64_t n);
float nni_pooling_maxval_f32(const float *x, int64_t n);
/* (sum |x|^p)^(1/p). */
float nni_pooling_lpnorm_f32(const float *x, int64_t n, float p);

#endif
