/*
 * sgemm.h — single-precision matrix multiply on row-major matrices:
 *   C[M x N] = alpha * op(A)[M x K] * op(B)[K x N] + beta * C
 * op(X) is X or its transpose; lda/ldb/ldc are row strides in elements.
 * beta == 0 never reads C (it may hold garbage).
 */
#ifndef NNI_SGEMM_H
#define NNI_SGEMM_H

#include "exec/pool.h"
#include "kernels/epilogue.h"

/**
 * Bytes of workspace nni_sgemm_ws needs for this problem with up to `threads`
 * threads (the pool's thread count). Always > 0; a multiple of 64.
 */
size_t nni_sgemm_workspace(int64_t M, int64_t N, int64_t K, int32_t threads);

/**
 * GEMM with caller-provided workspace (64-byte aligned, at least
 * nni_sgemm_workspace(M, N, K, nni_pool_threads(pool)) bytes). Never fails.
 */
void nni_sgemm_ws(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                  int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc, void *ws,
                  nni_pool *pool);

/**
 * nni_sgemm_ws, then the epilogue (NULL = none) on the result: each panel
 * of C is finished while it is still in cache.
 */
void nni_sgemm_ws_epi(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A,
                      int64_t lda, const float *B, int64_t ldb, float beta, float *C, int64_t ldc,
                      const nni_epilogue *epi, void *ws, nni_pool *pool);

/**
 * GEMM that allocates its own workspace; if that allocation fails it falls
 * back to a slow unblocked loop, so it never fails either.
 */
void nni_sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
               const float *B, int64_t ldb, float beta, float *C, int64_t ldc, nni_pool *pool);

/*
 * Pre-packed B: callers that produce B themselves (im2col) can write it
 * straight into the layout the micro-kernel reads and skip a packing pass.
 * Panel q holds columns [q*nr, q*nr + nr) as K rows of nr floats:
 *   Bp[(q * K + k) * nr + j] = op(B)[k][q * nr + j], zero past column N.
 * Size: K * round_up(N, nr) floats.
 */
/** Columns per B panel of the micro-kernel in use (fixed for the process). */
int64_t nni_sgemm_nr(void);
/** Pack row-major B (K x N, row stride ldb) into Bp. */
void nni_sgemm_pack_b(int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp);
/** Pack the transpose of row-major B (N x K, row stride ldb): op(B) = B^T, K x N. */
void nni_sgemm_pack_bt(int64_t N, int64_t K, const float *B, int64_t ldb, float *Bp);
/** Workspace bytes for nni_sgemm_packed_ws. */
size_t nni_sgemm_packed_workspace(int64_t M, int64_t N, int64_t K, int32_t threads);
/** C = alpha * op(A) * B + beta * C with B given pre-packed. */
void nni_sgemm_packed_ws(bool transA, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                         const float *Bp, float beta, float *C, int64_t ldc, void *ws, nni_pool *pool);

/** nni_sgemm_packed_ws with an epilogue (see nni_sgemm_ws_epi). */
void nni_sgemm_packed_ws_epi(bool transA, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                             const float *Bp, float beta, float *C, int64_t ldc, const nni_epilogue *epi, void *ws,
                             nni_pool *pool);

/**
 * How many depth slices nni_sgemm_ws on `threads` threads splits this
 * product into (0: none, it splits C into tiles instead). A split by depth
 * gives each thread a slice of K, multiplied into a partial C, and then sums
 * the partials; slice t is depth rows [nni_sgemm_depth_row(K, n, t),
 * nni_sgemm_depth_row(K, n, t + 1)). Callers with a GEMM of their own shape
 * (the transposed convolution path) follow the same choice.
 */
int32_t nni_sgemm_depth_slices(int64_t M, int64_t N, int64_t K, bool transB, int32_t threads);
int64_t nni_sgemm_depth_row(int64_t K, int32_t slices, int32_t t);

/** Name of the micro-kernel in use: "avx512", "avx2" or "generic". */
const char *nni_sgemm_arch(void);

/**
 * Test hook: use micro-kernel `name` ("avx512", "avx2", "generic"; NULL =
 * the best the CPU supports). Returns false if the CPU lacks it. Not
 * thread-safe: call only while no GEMM runs.
 */
bool nni_sgemm_force_arch(const char *name);

#endif
