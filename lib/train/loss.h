/* loss.h — softmax cross-entropy with class weights and label smoothing (PyTorch's CrossEntropyLoss, mean). */
#ifndef NNI_TRAIN_LOSS_H
#define NNI_TRAIN_LOSS_H

#include "core/common.h"

typedef struct nni_ce_result {
    double loss;       /* mean loss of the batch */
    int64_t correct;   /* rows whose arg-max is the label */
} nni_ce_result;

/**
 * Loss over N rows of K logits and dL/dlogits into `grad` (N x K):
 *   loss = (1-eps) * sum_i w[y_i] nll_i / W + (eps/K) * sum_i sum_k w[k] (-log p_ik) / W,
 *   W = sum_i w[y_i]  (w = 1 without weights, so W = N).
 * `weights` may be NULL. Labels must be in [0, K) (checked by the caller).
 */
void nni_softmax_ce(const float *logits, const int64_t *labels, const float *weights, int64_t N, int64_t K,
                    float smoothing, float *grad, double *prob_row, nni_ce_result *out);

#endif
