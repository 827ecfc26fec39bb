/*
 * op.h — the contract between the executor and an operator.
 *
 * Each ONNX op family lives in lib/ops/<family>.c and defines one
 * `const nni_op_desc` listed in lib/ops/ops.def. An op has three steps:
 *   prepare  once at load: parse and validate attributes into `state`;
 *   infer    set every output's dtype and shape from the inputs' dtypes and
 *            shapes (and values, where an input's data is known: constants,
 *            shape-computing chains). Return NNI_DEFER when the shape depends
 *            on input data that is not known yet; the executor then infers
 *            again at run time with all data present;
 *   run      compute. Outputs arrive allocated with the inferred shapes.
 * Ops report failures with nni_error(status, "...") naming what is wrong;
 * the executor adds the node's name and type.
 */
#ifndef NNI_OP_H
#define NNI_OP_H

#include "exec/memo.h"
#include "exec/pool.h"
#include "ir/graph.h"
#include "tensor/tensor.h"

/** infer's "shape depends on data not known yet" (positive: not an error). */
#define NNI_DEFER 1

/* Op flags. */
#define NNI_OP_SHAPE_ONLY (1u << 0)    /* run reads only input shapes (Shape, Size): evaluated while planning */
#define NNI_OP_NONDETERMINISTIC (1u << 1) /* never folded (random ops) */
/* run honours c->fusion (inference plans fuse followers into the op's output): */
#define NNI_OP_FUSE_BN (1u << 2)       /* a BatchNormalization over output 0's dim 1 */
#define NNI_OP_FUSE_RESIDUAL (1u << 3) /* an Add of a tensor of output 0's shape */
#define NNI_OP_FUSE_ACT (1u << 4)      /* an activation (nni_act) */
/* run may write output 0 over input 0 (INPLACE0) or input 0 or 1 (INPLACE01) when that input has the
 * output's dtype and element count: each output element is computed from the same-index input elements
 * (and broadcast ones) before anything at that index is written. The plan shares a dying input's buffer. */
#define NNI_OP_INPLACE0 (1u << 5)
#define NNI_OP_INPLACE01 (1u << 6)

/*
 * Followers of an op that the execution plan fused into it (inference only;
 * the graph itself is never changed): the op computes
 *   output 0 = act(BN(result) + residual)
 * Each part is optional; the op's flags say which it accepts.
 */
typedef struct nni_fusion {
    const nn_tensor *bn_scale, *bn_bias, *bn_mean, *bn_var; /* bn_scale NULL = no BatchNormalization */
    float bn_epsilon;
    bool bn_constant;             /* all four are the model's constants (the memo may derive from them) */
    const nn_tensor *residual;    /* NULL = none */
    int32_t act;                  /* nni_act (kernels/epilogue.h); 0 = none */
    float act_alpha, act_beta;
    /* Depthwise Conv only: input 0 is not stored but is the output of this
     * 1x1 convolution (with its own BatchNormalization and activation),
     * computed on the fly; NULL = none. */
    const struct nni_fusion_pw *pw;
} nni_fusion;

typedef struct nni_fusion_pw {
    const nn_tensor *x, *w, *b;   /* its input (N x K x H x W), weights (M x K x 1 x 1), bias or NULL */
    nni_fusion f;                 /* its BatchNormalization and activation (no residual, no pw) */
} nni_fusion_pw;

typedef struct nni_opctx {
    const nni_node *node;         /* attributes, name (for messages) */
    void *state;                  /* the op's parsed attributes */
    int32_t n_in, n_out;
    nn_tensor *const *in;         /* in[i] NULL when an optional input is absent;
                                     in[i]->data NULL at infer time when unknown */
    nn_tensor *const *out;        /* set dtype/shape in infer; filled by run. out[k] is
                                     NULL when the model does not use optional output k */
    nni_pool *pool;               /* may be NULL: run single-threaded */
    int64_t opset;                /* the model's default-domain opset */
    /* Training (set by the trainer; false/0 for inference). In training mode
     * BatchNormalization uses batch statistics and, when update_stats is set,
     * updates its running mean/var inputs in place (the trainer has exclusive
     * access to the model); Dropout draws its mask from `seed`. */
    bool training;
    bool update_stats;
    uint64_t seed;
    /* Set by inference plans on ops with NNI_OP_FUSE_* flags; NULL otherwise. */
    const nni_fusion *fusion;
    /* The model's memo of derived constants (exec/memo.h), for ops that keep
     * transformed weights; NULL when there is none (planning, training). */
    nni_memo *memo;
    /* Bit k: input k is not one of the model's constants (it is fed or
     * computed per run, so its buffer's contents change): the memo, keyed by
     * buffer, must not derive from it. */
    uint32_t varying_in;
    /* Scratch memory valid during run; grows on demand. NULL on failure. */
    void *(*scratch)(struct nni_opctx *c, size_t bytes);
    void *scratch_owner;
} nni_opctx;

typedef struct nni_op_desc {
    const char *name;             /* ONNX op_type */
    int32_t min_in, max_in;       /* accepted input counts */
    int32_t min_out, max_out;
    size_t state_size;            /* bytes of parsed attributes (0: none) */
    nn_status (*prepare)(nni_opctx *c);  /* may be NULL */
    nn_status (*infer)(nni_opctx *c);
    nn_status (*run)(nni_opctx *c);
    /* Multiply-adds of one run, for nn_model_macs (may be NULL = 0). */
    uint64_t (*macs)(const nni_opctx *c);
    /* Free what prepare put in state beyond the struct itself (may be NULL). */
    void (*release)(void *state);
    uint32_t flags;               /* NNI_OP_* */
} nni_op_desc;

/** Look up an op by ONNX type in the default domain; NULL if unsupported. */
const nni_op_desc *nni_op_find(const char *op_type);
/** All supported ops, for `nn-tool` listings. */
int32_t nni_op_count(void);
const nni_op_desc *nni_op_at(int32_t i);

/* ---- helpers shared by ops ---- */

/** Set output k's dtype and shape (infer). */
nn_status nni_out_shape(nni_opctx *c, int32_t k, nn_dtype dtype, int32_t rank, const int64_t *dims);
/** Normalize a possibly negative axis against rank; error naming the attribute if out of range. */
nn_status nni_norm_axis(int64_t axis, int32_t rank, const char *what, int32_t *out);
/** Error unless input i is present and of dtype. */
nn_status nni_require_dtype(const nni_opctx *c, int32_t i, nn_dtype dtype);
/** True when the input is present (optional inputs may be absent). */
static inline bool nni_has_in(const nni_opctx *c, int32_t i) { return i < c->n_in && c->in[i] != NULL; }

#endif
