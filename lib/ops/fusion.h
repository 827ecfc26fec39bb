/*
 * fusion.h — what the execution plan needs to know to fuse ops (lib/exec/fuse.c)
 * and what fused ops share to honour it. Inference only: the graph keeps every
 * node; plans for training never fuse.
 */
#ifndef NNI_OPS_FUSION_H
#define NNI_OPS_FUSION_H

#include "kernels/epilogue.h"
#include "ops/op.h"

/**
 * If node n (Relu, LeakyRelu, Clip, Sigmoid, HardSigmoid, HardSwish) is a
 * float activation expressible as nni_act, fill act/alpha/beta. in[] are
 * its inputs as planned (Clip's min/max must have known data).
 */
bool nni_unary_as_act(const nni_node *n, int64_t opset, nn_tensor *const *in, int32_t *act, float *alpha,
                      float *beta);

/** True when BatchNormalization node n uses its running statistics per channel (inference); its epsilon. */
bool nni_batchnorm_is_inference(const nni_node *n, int64_t opset, float *epsilon);

/**
 * The epilogue of a fused op over an output with M channels (rows):
 * per-row scale and bias from c->fusion's BatchNormalization and the op's
 * own per-channel `bias` (may be NULL), the residual base pointer and the
 * activation. buf holds 2 * M floats (used only when needed).
 */
void nni_fusion_epilogue(const nni_opctx *c, const float *bias, int64_t M, float *buf, nni_epilogue *e);
/** The same for fusion f (may be NULL). */
void nni_fusion_epilogue_of(const nni_fusion *f, const float *bias, int64_t M, float *buf, nni_epilogue *e);

/**
 * True when Conv node dw (depthwise) can compute its input 0 on the fly from
 * Conv node pw (1x1, stride 1, no padding, group 1, constant weights) and
 * pw's BatchNormalization/activation: see nni_fusion.pw. *_in are the
 * nodes' inputs as planned (shapes known).
 */
bool nni_conv_pw_dw_fusable(const nni_node *pw, nn_tensor *const *pw_in, const nni_node *dw, nn_tensor *const *dw_in);

/**
 * Test hook: false makes convolutions skip their memo-backed paths
 * (Winograd, transposed small-plane GEMM) and take im2col + GEMM, the
 * reference the fast paths are checked against. Not thread-safe.
 */
void nni_conv_fast_paths(bool on);

#endif
