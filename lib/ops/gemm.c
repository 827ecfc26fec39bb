/*
 * gemm.c — Gemm (Y = alpha * op(A) * op(B) + beta * C, C broadcast) and
 * MatMul (numpy semantics: batched, broadcast batch dims, 1-D operands).
 * Float32 only; the math is nni_sgemm.
 */
#include <string.h>

#include "kernels/sgemm.h"
#include "ops/fusion.h"
#include "ops/op.h"

/* ---- Gemm ---- */

typedef struct {
    float alpha, beta;
    bool trans_a, trans_b;
    bool broadcast; /* opset < 7: C may be broadcast only when set */
} gemm_state;

static nn_status gemm_prepare(nni_opctx *c)
{
    gemm_state *s = c->state;
    int64_t ta, tb, bc;
    nn_status st;
    if ((st = nni_attr_float(c->node, "alpha", 1.0f, &s->alpha)) != NN_OK ||
        (st = nni_attr_float(c->node, "beta", 1.0f, &s->beta)) != NN_OK ||
        (st = nni_attr_int(c->node, "transA", 0, &ta)) != NN_OK ||
        (st = nni_attr_int(c->node, "transB", 0, &tb)) != NN_OK ||
        (st = nni_attr_int(c->node, "broadcast", 0, &bc)) != NN_OK)
        return st;
    if (ta != 0 && ta != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'transA' must be 0 or 1, got %lld", (long long)ta);
    if (tb != 0 && tb != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'transB' must be 0 or 1, got %lld", (long long)tb);
    if (bc != 0 && bc != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'broadcast' must be 0 or 1, got %lld", (long long)bc);
    s->trans_a = ta != 0;
    s->trans_b = tb != 0;
    s->broadcast = c->opset >= 7 || bc != 0;
    return NN_OK;
}

typedef struct {
    int64_t M, N, K;
    int64_t cr, cc; /* C's rows and columns after right-aligning to 2-D (1 = broadcast) */
    bool has_c;
} gemm_shape;

static nn_status gemm_resolve(const nni_opctx *c, gemm_shape *g)
{
    const gemm_state *s = c->state;
    const nn_tensor *a = c->in[0], *b = c->in[1];
    memset(g, 0, sizeof *g);
    if (a->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "input A is %s; only float32 is supported", nn_dtype_name(a->dtype));
    if (b->dtype != a->dtype)
        return nni_error(NN_E_TYPE, "input B is %s but A is %s", nn_dtype_name(b->dtype), nn_dtype_name(a->dtype));
    if (a->rank != 2 || b->rank != 2)
        return nni_error(NN_E_SHAPE, "inputs A and B must be 2-D, got ranks %d and %d", (int)a->rank, (int)b->rank);
    g->M = s->trans_a ? a->dims[1] : a->dims[0];
    g->K = s->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = s->trans_b ? b->dims[1] : b->dims[0];
    g->N = s->trans_b ? b->dims[0] : b->dims[1];
    if (kb != g->K)
        return nni_error(NN_E_SHAPE, "inner dimensions differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                         (long long)g->M, (long long)g->K, (long long)kb, (long long)g->N);
    g->has_c = nni_has_in(c, 2);
    g->cr = g->cc = 1;
    if (g->has_c) {
        const nn_tensor *t = c->in[2];
        if (t->dtype != a->dtype)
            return nni_error(NN_E_TYPE, "input C is %s but A is %s", nn_dtype_name(t->dtype), nn_dtype_name(a->dtype));
        if (t->rank > 2)
            return nni_error(NN_E_SHAPE, "input C must have rank <= 2, got %d", (int)t->rank);
        if (t->rank == 2)
            g->cr = t->dims[0], g->cc = t->dims[1];
        else if (t->rank == 1)
            g->cc = t->dims[0];
        if ((g->cr != 1 && g->cr != g->M) || (g->cc != 1 && g->cc != g->N))
            return nni_error(NN_E_SHAPE, "input C (%lldx%lld) does not broadcast to %lldx%lld", (long long)g->cr,
                             (long long)g->cc, (long long)g->M, (long long)g->N);
        if (!s->broadcast && (t->rank != 2 || g->cr != g->M || g->cc != g->N))
            return nni_error(NN_E_SHAPE, "input C must be %lldx%lld when attribute 'broadcast' is 0", (long long)g->M,
                             (long long)g->N);
    }
    return NN_OK;
}

static nn_status gemm_infer(nni_opctx *c)
{
    gemm_shape g;
    nn_status st = gemm_resolve(c, &g);
    if (st != NN_OK)
        return st;
    int64_t dims[2] = {g.M, g.N};
    return nni_out_shape(c, 0, c->in[0]->dtype, 2, dims);
}

static uint64_t gemm_macs(const nni_opctx *c)
{
    gemm_shape g;
    if (gemm_resolve(c, &g) != NN_OK)
        return 0;
    return (uint64_t)g.M * (uint64_t)g.N * (uint64_t)g.K;
}

static nn_status gemm_run(nni_opctx *c)
{
    const gemm_state *s = c->state;
    gemm_shape g;
    nn_status st = gemm_resolve(c, &g);
    if (st != NN_OK)
        return st;
    float *y = c->out[0]->data;
    if (g.M == 0 || g.N == 0)
        return NN_OK;
    float beta = 0.0f;
    nni_epilogue epi;
    nni_fusion_epilogue(c, NULL, g.M, NULL, &epi); /* residual and activation only (no BatchNormalization) */
    if (g.has_c && s->beta != 0.0f) {
        const float *cv = c->in[2]->data;
        if (g.cr == 1 && g.cc == g.N && s->beta == 1.0f) {
            epi.col_bias = cv; /* a bias row: added as the result is stored */
        } else {
            /* Y starts as beta * C broadcast; the product is then accumulated into it */
            for (int64_t i = 0; i < g.M; i++) {
                const float *crow = cv + (g.cr == 1 ? 0 : i * g.cc);
                float *yrow = y + i * g.N;
                if (g.cc == 1)
                    for (int64_t j = 0; j < g.N; j++)
                        yrow[j] = s->beta * crow[0];
                else
                    for (int64_t j = 0; j < g.N; j++)
                        yrow[j] = s->beta * crow[j];
            }
            beta = 1.0f;
        }
    }
    epi.ldr = g.N;
    size_t bytes = nni_sgemm_workspace(g.M, g.N, g.K, nni_pool_threads(c->pool));
    void *ws = c->scratch(c, bytes);
    if (!ws)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of GEMM scratch", bytes);
    const nn_tensor *a = c->in[0], *b = c->in[1];
    nni_sgemm_ws_epi(s->trans_a, s->trans_b, g.M, g.N, g.K, s->alpha, a->data, a->dims[1], b->data, b->dims[1], beta,
                     y, g.N, &epi, ws, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_gemm = {
    .name = "Gemm", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(gemm_state),
    .prepare = gemm_prepare, .infer = gemm_infer, .run = gemm_run, .macs = gemm_macs,
    .flags = NNI_OP_FUSE_RESIDUAL | NNI_OP_FUSE_ACT,
};

/* ---- MatMul ---- */

typedef struct {
    int64_t M, N, K;
    int32_t nb;                      /* broadcast batch rank */
    int64_t batch[NN_MAX_RANK];      /* output batch dims */
    int64_t astride[NN_MAX_RANK];    /* element strides of A's and B's matrices per batch dim (0 = broadcast) */
    int64_t bstride[NN_MAX_RANK];
    int64_t nbatch;                  /* product of batch */
    bool a_batched, b_batched;       /* has a batch dim > 1 */
    int32_t rank;
    int64_t ydims[NN_MAX_RANK];
} matmul_shape;

static nn_status matmul_resolve(const nni_opctx *c, matmul_shape *m)
{
    const nn_tensor *a = c->in[0], *b = c->in[1];
    memset(m, 0, sizeof *m);
    if (a->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "input A is %s; only float32 is supported", nn_dtype_name(a->dtype));
    if (b->dtype != a->dtype)
        return nni_error(NN_E_TYPE, "input B is %s but A is %s", nn_dtype_name(b->dtype), nn_dtype_name(a->dtype));
    if (a->rank < 1 || b->rank < 1)
        return nni_error(NN_E_SHAPE, "MatMul inputs must have rank >= 1, got %d and %d", (int)a->rank, (int)b->rank);
    /* a 1-D A is a row vector [1, K]; a 1-D B is a column vector [K, 1]; both extra dims are dropped after */
    bool a1 = a->rank == 1, b1 = b->rank == 1;
    m->M = a1 ? 1 : a->dims[a->rank - 2];
    m->K = a->dims[a->rank - 1];
    int64_t kb = b1 ? b->dims[0] : b->dims[b->rank - 2];
    m->N = b1 ? 1 : b->dims[b->rank - 1];
    if (kb != m->K)
        return nni_error(NN_E_SHAPE, "inner dimensions differ: A has K=%lld, B has K=%lld", (long long)m->K,
                         (long long)kb);
    int32_t ab = a1 ? 0 : a->rank - 2, bb = b1 ? 0 : b->rank - 2;
    m->nb = ab > bb ? ab : bb;
    int32_t out_rank = m->nb + (a1 ? 0 : 1) + (b1 ? 0 : 1);
    if (out_rank > NN_MAX_RANK)
        return nni_error(NN_E_SHAPE, "output rank %d exceeds %d", (int)out_rank, NN_MAX_RANK);
    /* right-align batch dims; strides run from the innermost batch dim outwards */
    int64_t sa = m->M * m->K, sb = m->K * m->N;
    m->nbatch = 1;
    for (int32_t i = m->nb - 1; i >= 0; i--) {
        int32_t ia = i - (m->nb - ab), ib = i - (m->nb - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return nni_error(NN_E_SHAPE, "batch dimensions %lld and %lld do not broadcast", (long long)da,
                             (long long)db);
        m->batch[i] = da > db ? da : db;
        if (da == 0 || db == 0)
            m->batch[i] = 0;
        m->astride[i] = da == 1 ? 0 : sa;
        m->bstride[i] = db == 1 ? 0 : sb;
        if (da > 1)
            m->a_batched = true;
        if (db > 1)
            m->b_batched = true;
        sa *= da;
        sb *= db;
        m->nbatch *= m->batch[i];
    }
    m->rank = out_rank;
    for (int32_t i = 0; i < m->nb; i++)
        m->ydims[i] = m->batch[i];
    int32_t r = m->nb;
    if (!a1)
        m->ydims[r++] = m->M;
    if (!b1)
        m->ydims[r++] = m->N;
    return NN_OK;
}

static nn_status matmul_infer(nni_opctx *c)
{
    matmul_shape m;
    nn_status st = matmul_resolve(c, &m);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[0]->dtype, m.rank, m.ydims);
}

static uint64_t matmul_macs(const nni_opctx *c)
{
    matmul_shape m;
    if (matmul_resolve(c, &m) != NN_OK)
        return 0;
    return (uint64_t)m.nbatch * (uint64_t)m.M * (uint64_t)m.N * (uint64_t)m.K;
}

typedef struct {
    const matmul_shape *m;
    const float *a, *b;
    float *y;
    char *ws;
    size_t ws_each;
} matmul_job;

static void matmul_offsets(const matmul_shape *m, int64_t t, int64_t *ao, int64_t *bo)
{
    *ao = *bo = 0;
    for (int32_t i = m->nb - 1; i >= 0; i--) {
        int64_t idx = t % m->batch[i];
        t /= m->batch[i];
        *ao += idx * m->astride[i];
        *bo += idx * m->bstride[i];
    }
}

/* Many small products: one whole product per thread. */
static void matmul_batch_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const matmul_job *j = arg;
    const matmul_shape *m = j->m;
    void *ws = j->ws + (size_t)tid * j->ws_each;
    for (int64_t t = begin; t < end; t++) {
        int64_t ao, bo;
        matmul_offsets(m, t, &ao, &bo);
        nni_sgemm_ws(false, false, m->M, m->N, m->K, 1.0f, j->a + ao, m->K, j->b + bo, m->N, 0.0f,
                     j->y + t * m->M * m->N, m->N, ws, NULL);
    }
}

static nn_status matmul_run(nni_opctx *c)
{
    matmul_shape m;
    nn_status st = matmul_resolve(c, &m);
    if (st != NN_OK)
        return st;
    const float *a = c->in[0]->data, *b = c->in[1]->data;
    float *y = c->out[0]->data;
    if (m.nbatch == 0 || m.M == 0 || m.N == 0)
        return NN_OK;
    int32_t threads = nni_pool_threads(c->pool);
    if (!m.b_batched) {
        /* B is one matrix: A's batch folds into its rows, one GEMM for all (A and Y are dense) */
        int64_t rows = m.a_batched ? m.nbatch * m.M : m.M;
        size_t bytes = nni_sgemm_workspace(rows, m.N, m.K, threads);
        void *ws = c->scratch(c, bytes);
        if (!ws)
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of GEMM scratch", bytes);
        nni_sgemm_ws(false, false, rows, m.N, m.K, 1.0f, a, m.K, b, m.N, 0.0f, y, m.N, ws, c->pool);
        /* a broadcast A with unbatched B: every batch entry is the same product */
        if (!m.a_batched)
            for (int64_t t = 1; t < m.nbatch; t++)
                memcpy(y + t * m.M * m.N, y, (size_t)(m.M * m.N) * sizeof(float));
        return NN_OK;
    }
    bool small = (double)m.M * (double)m.N * (double)m.K < (double)(1 << 20);
    if (small && threads > 1 && m.nbatch > 1) {
        size_t each = nni_sgemm_workspace(m.M, m.N, m.K, 1);
        void *ws = c->scratch(c, each * (size_t)threads);
        if (!ws)
            return nni_error(NN_E_NOMEM, "cannot allocate GEMM scratch");
        matmul_job j = {.m = &m, .a = a, .b = b, .y = y, .ws = ws, .ws_each = each};
        nni_parallel_for(c->pool, m.nbatch, 1, matmul_batch_task, &j);
        return NN_OK;
    }
    size_t bytes = nni_sgemm_workspace(m.M, m.N, m.K, threads);
    void *ws = c->scratch(c, bytes);
    if (!ws)
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of GEMM scratch", bytes);
    for (int64_t t = 0; t < m.nbatch; t++) {
        int64_t ao, bo;
        matmul_offsets(&m, t, &ao, &bo);
        nni_sgemm_ws(false, false, m.M, m.N, m.K, 1.0f, a + ao, m.K, b + bo, m.N, 0.0f, y + t * m.M * m.N, m.N, ws,
                     c->pool);
    }
    return NN_OK;
}

const nni_op_desc nni_op_matmul = {
    .name = "MatMul", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1,
    .infer = matmul_infer, .run = matmul_run, .macs = matmul_macs,
};
