/*
 * broadcast.h — numpy-style multidirectional broadcasting: the output shape
 * of N operands, and an iteration plan that walks the output in contiguous
 * inner runs. Dimensions are coalesced first so that the common cases become
 * one flat run (same shapes), a run against a scalar (NCHW + per-channel
 * bias: [N,C,H*W] with the bias constant along H*W) or a run against a row.
 */
#ifndef NNI_BROADCAST_H
#define NNI_BROADCAST_H

#include "exec/pool.h"
#include "tensor/tensor.h"

/** Operands of one plan: up to 3 inputs (Where) besides the output. */
#define NNI_BCAST_MAX_IN 3

typedef struct nni_bcast {
    int32_t n_in;
    int32_t rank;                                 /* coalesced rank, >= 1 */
    int64_t dims[NN_MAX_RANK];                    /* coalesced output dims */
    int64_t st[NNI_BCAST_MAX_IN][NN_MAX_RANK];    /* element strides of each input (0 = broadcast) */
    size_t es_out, es_in[NNI_BCAST_MAX_IN];       /* element sizes */
    int64_t count;                                /* output elements */
} nni_bcast;

/**
 * Kernel over one inner run of n output elements. in[i] points at input i's
 * first element; step[i] is 0 (the same element repeats) or 1 (contiguous).
 */
typedef void (*nni_bcast_fn)(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n);

/**
 * The broadcast shape of n tensors' shapes; NN_E_SHAPE naming both shapes when
 * two dimensions differ and neither is 1.
 */
nn_status nni_bcast_shape(int32_t n, const nn_tensor *const *t, int32_t *rank, int64_t *dims);
/** Same for shapes given as rank/dims pairs. */
nn_status nni_bcast_shape2(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *rank, int64_t *dims);

/**
 * Plan the walk of an output of shape (rank, dims) fed by n inputs whose
 * shapes broadcast to it (checked: NN_E_SHAPE otherwise).
 */
nn_status nni_bcast_init(nni_bcast *b, int32_t rank, const int64_t *dims, size_t es_out, int32_t n,
                         const nn_tensor *const *in);

/** Walk the plan, splitting it over the pool; fn sees inner runs. */
void nni_bcast_run(const nni_bcast *b, nni_pool *pool, nni_bcast_fn fn, void *arg, void *out,
                   const void *const *in);

/**
 * Split a flat loop of n elements over the pool, each worker getting at least
 * `grain` elements (0 = the default for cheap arithmetic).
 */
typedef void (*nni_flat_fn)(void *arg, int64_t begin, int64_t end);
void nni_flat_run(nni_pool *pool, int64_t n, int64_t grain, nni_flat_fn fn, void *arg);

#endif
