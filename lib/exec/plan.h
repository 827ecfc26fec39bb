/*
 * plan.h — an execution plan: every value's shape for one set of input
 * shapes, which nodes still run (the rest were evaluated while planning), and
 * where each intermediate lives in one arena (offsets assigned by liveness).
 */
#ifndef NNI_PLAN_H
#define NNI_PLAN_H

#include "ir/graph.h"
#include "ops/op.h"

typedef enum nni_val_state {
    NNI_VAL_UNSET = 0,  /* not computed yet / unknown shape */
    NNI_VAL_CONST,      /* graph constant (borrowed from the model) */
    NNI_VAL_FOLDED,     /* evaluated while planning (owned by the plan) */
    NNI_VAL_INPUT,      /* fed by the caller at run time */
    NNI_VAL_ARENA,      /* computed at run time into the arena */
    NNI_VAL_DYNAMIC,    /* shape known only at run time; heap-allocated then */
    NNI_VAL_FUSED,      /* an intermediate inside a fused step: never materialized */
} nni_val_state;

/*
 * A step that runs its node with followers fused into its output (see
 * exec/fuse.c): a BatchNormalization, a residual Add and an activation, in
 * that order. The followers' nodes do not run; the step writes the last
 * one's output value.
 */
typedef struct nni_step_fusion {
    int32_t out;        /* value written instead of the node's output 0; -1 = the step is not fused */
    int32_t bn;         /* BatchNormalization node or -1 */
    int32_t residual;   /* value added or -1 */
    int32_t act;        /* nni_act, 0 = none */
    float alpha, beta;
    /* a depthwise Conv step: the 1x1 Conv node whose output is its input 0, computed on the fly
     * (nni_fusion.pw), with that node's BatchNormalization and activation; pw = -1: none */
    int32_t pw, pw_bn, pw_act;
    float pw_alpha, pw_beta;
} nni_step_fusion;

typedef struct nni_plan {
    const nni_graph *g;
    int32_t n_values;
    nn_tensor *vals;         /* per value: dtype, shape, data (borrowed or owned) */
    uint8_t *state;          /* nni_val_state per value */
    size_t *offset;          /* arena offset for NNI_VAL_ARENA values */
    int32_t n_steps;
    int32_t *steps;          /* node indices run at run time, in order */
    uint8_t *dynamic;        /* per step: infer and allocate at run time */
    nni_step_fusion *fusion; /* per step, or NULL when nothing is fused */
    size_t arena_size;
    uint64_t macs;           /* multiply-adds of the run-time steps */
} nni_plan;

/**
 * Build a plan for the given input shapes (one tensor per graph input, in
 * graph order; only dtype and shape are read; NULL = unknown until run
 * time). `fold_limit` caps the bytes of
 * a value computed while planning (values over it run at run time).
 */
nn_status nni_plan_build(const nni_graph *g, const nn_tensor *const *input_shapes, size_t fold_limit, nni_plan *p);

/* nni_plan_build_ex flags */
#define NNI_PLAN_FUSE (1u << 0)    /* inference only: fuse followers into convolutions (exec/fuse.c) */
#define NNI_PLAN_INPLACE (1u << 1) /* elementwise outputs may take over their dying input's buffer *during* the
                                      step (ops' NNI_OP_INPLACE* flags): inputs do not survive their last reader */

nn_status nni_plan_build_ex(const nni_graph *g, const nn_tensor *const *input_shapes, size_t fold_limit,
                            uint32_t flags, nni_plan *p);

/** Fuse followers into the planned steps (before the arena is laid out). */
nn_status nni_plan_fuse(const nni_graph *g, nni_plan *p);
void nni_plan_free(nni_plan *p);

/* A best-fit offset allocator: lays buffers out in one block by lifetime. */
typedef struct nni_arena_block {
    size_t off, size;
} nni_arena_block;
typedef struct nni_arena {
    nni_arena_block *free; /* free blocks below `end`, sorted by offset */
    int32_t n, cap;
    size_t end;            /* size of the block so far */
} nni_arena;

/** Round a buffer size up to the arena alignment (64 bytes). */
size_t nni_arena_align(size_t x);
/** Offset of a new buffer of `size` (aligned) bytes. */
size_t nni_arena_take(nni_arena *a, size_t size);
/** Give a buffer back; false when the free list cannot grow (out of memory). */
bool nni_arena_give(nni_arena *a, size_t off, size_t size);
void nni_arena_done(nni_arena *a);

/** Run one node with the given tensor views (used by planning, folding and sessions). */
nn_status nni_node_infer(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                         nni_pool *pool);
nn_status nni_node_run(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                       nni_pool *pool, void *(*scratch)(nni_opctx *, size_t), void *scratch_owner);
/** Inputs of n (bit k) that are not the model's own constant buffers: what the memo must not key on. */
uint32_t nni_varying_inputs(const nni_graph *g, const nni_node *n, nn_tensor *const *in);
/** nni_node_run with fused followers (NULL = none) and the model's memo (NULL = none). */
nn_status nni_node_run_fused(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                             nni_pool *pool, void *(*scratch)(nni_opctx *, size_t), void *scratch_owner,
                             const nni_fusion *fusion, nni_memo *memo);
/** Prefix the current error with the node's name and type. */
nn_status nni_node_error(const nni_node *n, nn_status st);

#endif
