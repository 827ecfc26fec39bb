/* loss.c — softmax cross-entropy on logits: loss value, gradient and batch accuracy. */
#include <math.h>

#include "train/loss.h"

void nni_softmax_ce(const float *logits, const int64_t *labels, const float *weights, int64_t N, int64_t K,
                    float smoothing, float *grad, double *p, nni_ce_result *out)
{
    const double eps = smoothing;
    double W = 0.0, wsum = 0.0;
    for (int64_t i = 0; i < N; i++)
        W += weights ? weights[labels[i]] : 1.0;
    for (int64_t k = 0; k < K; k++)
        wsum += weights ? weights[k] : 1.0;
    double nll = 0.0, smooth = 0.0;
    int64_t correct = 0;
    for (int64_t i = 0; i < N; i++) {
        const float *z = logits + i * K;
        const int64_t y = labels[i];
        int64_t best = 0;
        double mx = z[0];
        for (int64_t k = 1; k < K; k++)
            if (z[k] > mx)
                mx = z[k], best = k;
        correct += best == y;
        double sum = 0.0;
        for (int64_t k = 0; k < K; k++)
            sum += exp((double)z[k] - mx);
        const double lse = mx + log(sum);
        const double wy = weights ? weights[y] : 1.0;
        nll += wy * (lse - z[y]);
        if (eps != 0.0)
            for (int64_t k = 0; k < K; k++)
                smooth += (weights ? weights[k] : 1.0) * (lse - z[k]);
        for (int64_t k = 0; k < K; k++)
            p[k] = exp((double)z[k] - lse);
        float *g = grad + i * K;
        for (int64_t k = 0; k < K; k++) {
            /* d/dz_k of (1-eps) w_y (-log p_y) + (eps/K) sum_j w_j (-log p_j) */
            double d = (1.0 - eps) * wy * (p[k] - (k == y ? 1.0 : 0.0));
            if (eps != 0.0)
                d += eps / (double)K * (p[k] * wsum - (weights ? weights[k] : 1.0));
            g[k] = W > 0.0 ? (float)(d / W) : 0.0f;
        }
    }
    out->loss = W > 0.0 ? ((1.0 - eps) * nll + eps / (double)K * smooth) / W : 0.0;
    out->correct = correct;
}
