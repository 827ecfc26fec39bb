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

#endif
