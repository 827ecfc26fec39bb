/*
 * grad_linear.c — backward of Gemm and MatMul: the input gradients are
 * products of the output gradient with the other operand (transposed), and
 * a broadcast operand's gradient is summed over its broadcast dimensions.
 */
#include <string.h>

#include "kernels/sgemm.h"
#include "train/grad_util.h"

/* ---- Gemm: Y = alpha * op(A) op(B) + beta * C ---- */

nn_status nni_grad_gemm(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *a = c->in[0], *b = c->in[1], *dy = g->dout[0];
    float alpha, beta;
    int64_t ta, tb;
    nn_status st;
    if ((st = nni_attr_float(c->node, "alpha", 1.0f, &alpha)) != NN_OK ||
        (st = nni_attr_float(c->node, "beta", 1.0f, &beta)) != NN_OK ||
        (st = nni_attr_int(c->node, "transA", 0, &ta)) != NN_OK || (st = nni_attr_int(c->node, "transB", 0, &tb)) != NN_OK)
        return st;
    if (!dy)
        return NN_OK;
    if ((st = nni_grad_require_f32(a, "Gemm input A")) != NN_OK)
        return st;
    const int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    const int64_t N = tb ? b->dims[0] : b->dims[1];
    const int64_t lda = a->dims[1], ldb = b->dims[1];
    const float *A = a->data, *B = b->data, *dY = dy->data;
    if (M == 0 || N == 0 || K == 0)
        goto bias;
    if (nni_grad_wants(g, 0)) {
        float *dA = g->din[0]->data;
        if (!ta) /* dA[M,K] = alpha dY op(B)^T */
            nni_sgemm(false, !tb, M, K, N, alpha, dY, N, B, ldb, 0.0f, dA, K, c->pool);
        else /* dA[K,M] = alpha op(B) dY^T */
            nni_sgemm(tb != 0, true, K, M, N, alpha, B, ldb, dY, N, 0.0f, dA, M, c->pool);
    }
    if (nni_grad_wants(g, 1)) {
        float *dB = g->din[1]->data;
        if (!tb) /* dB[K,N] = alpha op(A)^T dY */
            nni_sgemm(!ta, false, K, N, M, alpha, A, lda, dY, N, 0.0f, dB, N, c->pool);
        else /* dB[N,K] = alpha dY^T op(A) */
            nni_sgemm(true, ta != 0, N, K, M, alpha, dY, N, A, lda, 0.0f, dB, K, c->pool);
    }
bias:
    if (nni_grad_wants(g, 2) && beta != 0.0f)
        return nni_grad_reduce_to(dy, g->din[2], beta);
    return NN_OK;
}

/* ---- MatMul (numpy semantics) ---- */

nn_status nni_grad_matmul(nni_gradctx *g)
{
    const nni_opctx *c = &g->fwd;
    const nn_tensor *a = c->in[0], *b = c->in[1], *dy = g->dout[0];
    if (!dy)
        return NN_OK;
    nn_status st = nni_grad_require_f32(a, "MatMul input A");
    if (st != NN_OK)
        return st;
    const bool a1 = a->rank == 1, b1 = b->rank == 1;
    const int64_t M = a1 ? 1 : a->dims[a->rank - 2], K = a->dims[a->rank - 1];
    const int64_t N = b1 ? 1 : b->dims[b->rank - 1];
    const int32_t ab = a1 ? 0 : a->rank - 2, bb = b1 ? 0 : b->rank - 2;
    const int32_t nb = ab > bb ? ab : bb;
    /* batch dims right-aligned; per dim the matrix stride of A and B (0 = broadcast) */
    int64_t batch[NN_MAX_RANK], ast[NN_MAX_RANK], bst[NN_MAX_RANK];
    int64_t sa = M * K, sb = K * N, nbatch = 1;
    for (int32_t i = nb - 1; i >= 0; i--) {
        const int32_t ia = i - (nb - ab), ib = i - (nb - bb);
        const int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        batch[i] = da > db ? da : db;
        ast[i] = da == 1 ? 0 : sa;
        bst[i] = db == 1 ? 0 : sb;
        if (da > 1)
            sa *= da;
        if (db > 1)
            sb *= db;
        nbatch *= batch[i];
    }
    if (M == 0 || N == 0 || K == 0 || nbatch == 0)
        return NN_OK;
    const float *A = a->data, *B = b->data, *dY = dy->data;
    float *dA = nni_grad_wants(g, 0) ? g->din[0]->data : NULL;
    float *dB = nni_grad_wants(g, 1) ? g->din[1]->data : NULL;
    int64_t idx[NN_MAX_RANK] = {0};
    for (int64_t t = 0; t < nbatch; t++) {
        int64_t oa = 0, ob = 0;
        for (int32_t i = 0; i < nb; i++)
            oa += idx[i] * ast[i], ob += idx[i] * bst[i];
        const float *dYt = dY + t * M * N;
        /* accumulate (beta 1): broadcast operands collect every batch's share */
        if (dA) /* dA[M,K] += dY[M,N] B[K,N]^T */
            nni_sgemm(false, true, M, K, N, 1.0f, dYt, N, B + ob, N, 1.0f, dA + oa, K, c->pool);
        if (dB) /* dB[K,N] += A[M,K]^T dY[M,N] */
            nni_sgemm(true, false, K, N, M, 1.0f, A + oa, K, dYt, N, 1.0f, dB + ob, N, c->pool);
        for (int32_t i = nb - 1; i >= 0; i--) {
            if (++idx[i] < batch[i])
                break;
            idx[i] = 0;
        }
    }
    return NN_OK;
}
