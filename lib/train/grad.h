/*
 * grad.h — the contract between the training engine and an operator's
 * backward pass. Backward functions live in lib/train/grad_<family>.c and
 * are listed in lib/train/grad.def (kept apart from the forward ops so that
 * inference-only builds and op files stay independent of training).
 *
 * The engine runs the forward pass with every value kept, then walks the
 * nodes in reverse topological order, calling backward only for nodes that
 * lie between a trainable parameter and the loss (a frozen prefix is never
 * visited). For each such node:
 *   g->fwd   the forward context: inputs and outputs exactly as computed
 *            (fwd.training is true when the forward ran in training mode);
 *   g->dout  dL/d(output k), or NULL when no gradient reaches output k;
 *   g->din   where to WRITE dL/d(input i) — zero-filled, same shape as the
 *            input — or NULL when input i needs no gradient (frozen
 *            parameter, constant, or a value with no trainable ancestor).
 * The engine sums contributions when a value feeds several nodes.
 * Backward recomputes what it needs from inputs/outputs (batch statistics,
 * max-pool argmax, dropout masks from fwd.seed) rather than saving state.
 */
#ifndef NNI_GRAD_H
#define NNI_GRAD_H

#include "ops/op.h"

typedef struct nni_gradctx {
    nni_opctx fwd;
    nn_tensor *const *dout;
    nn_tensor *const *din;
} nni_gradctx;

typedef nn_status (*nni_grad_fn)(nni_gradctx *g);

/** Backward of an ONNX op type; NULL if nn cannot train through it. */
nni_grad_fn nni_grad_find(const char *op_type);

#endif
