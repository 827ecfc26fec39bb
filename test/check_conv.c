/*
 * check_conv.c — SGEMM (every micro-kernel), Conv, ConvTranspose, Gemm and
 * MatMul against naive reference loops on random shapes: odd sizes, groups,
 * depthwise, dilations, asymmetric padding, strides, auto_pad, 1-D to 3-D,
 * column chunking, one and two threads. The ops are driven through their
 * descriptors (prepare, infer, run) as the executor does.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/pool.h"
#include "kernels/sgemm.h"
#include "kernels/winograd.h"
#include "ops/op.h"
#include "op_attrs.h"
#include "test_util.h"

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 11);
}

static int64_t rnd_in(int64_t lo, int64_t hi) { return lo + (int64_t)(rnd() % (uint32_t)(hi - lo + 1)); }

static void fill_random(float *p, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)(rnd() % 2001) / 1000.0f - 1.0f;
}

static nn_tensor *new_tensor(int32_t rank, const int64_t *dims, bool random)
{
    nn_tensor *t = NULL;
    ck_assert_ok(nni_tensor_new(NN_DTYPE_FLOAT32, rank, dims, &t));
    if (random)
        fill_random(t->data, nni_tensor_count(t));
    return t;
}

/* prepare + infer + run one op; *out gets a new tensor on success. */
static nn_status run_op(const char *op, test_attrs *at, nn_tensor **in, int32_t n_in, nni_pool *pool, int64_t opset,
                        nn_tensor **out)
{
    const nni_op_desc *d = nni_op_find(op);
    ck_assert_ptr_nonnull(d);
    nni_node node;
    memset(&node, 0, sizeof node);
    node.name = (char *)"test";
    node.op_type = (char *)op;
    node.op = d;
    node.n_attr = at->n;
    node.attrs = at->a;
    nn_tensor *y = calloc(1, sizeof *y);
    test_scratch sc = {0};
    nni_opctx c = {.node = &node, .n_in = n_in, .n_out = 1, .in = in, .out = &y, .pool = pool, .opset = opset,
                   .scratch = test_scratch_fn, .scratch_owner = &sc};
    c.state = calloc(1, d->state_size ? d->state_size : 1);
    nn_status st = d->prepare ? d->prepare(&c) : NN_OK;
    if (st == NN_OK)
        st = d->infer(&c);
    if (st == NN_OK)
        st = nni_tensor_alloc(y);
    if (st == NN_OK) {
        /* poison: run must write every output element */
        float *p = y->data;
        for (int64_t i = 0; i < nni_tensor_count(y); i++)
            p[i] = NAN;
        st = d->run(&c);
    }
    if (d->release)
        d->release(c.state);
    free(c.state);
    nni_free_aligned(sc.buf);
    if (st != NN_OK) {
        nni_tensor_release(y);
        free(y);
        y = NULL;
    }
    *out = y;
    return st;
}

static void free_tensor(nn_tensor *t)
{
    if (t) {
        nni_tensor_release(t);
        free(t);
    }
}

static void expect_close(const nn_tensor *got, const double *want, int64_t n, const char *what)
{
    ck_assert_int_eq(nni_tensor_count(got), n);
    const float *g = got->data;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)g[i] - want[i]);
        ck_assert_msg(err <= 1e-4 + 1e-4 * fabs(want[i]), "%s: element %lld is %g, expected %g", what, (long long)i,
                      (double)g[i], want[i]);
    }
}

/* ---- SGEMM ---- */

/* The activations the epilogue tests use, in double precision. */
static double act_ref(int act, double x, double a, double b)
{
    switch (act) {
    case NNI_ACT_RELU: return x < 0 ? 0 : x;
    case NNI_ACT_LEAKY_RELU: return x < 0 ? a * x : x;
    case NNI_ACT_CLIP: return x < a ? a : x > b ? b : x;
    case NNI_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    default: return x;
    }
}


/* ldb0 > 0: B's row stride (else a random one just over its width) */
static void check_sgemm_case(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, float beta,
                             nni_pool *pool, int64_t ldb0)
{
    int64_t lda = (ta ? M : K) + rnd_in(0, 3), ldb = ldb0 ? ldb0 : (tb ? K : N) + rnd_in(0, 3), ldc = N + rnd_in(0, 3);
    int64_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float *A = malloc(sizeof(float) * (size_t)(na + 1)), *B = malloc(sizeof(float) * (size_t)(nb + 1));
    float *C = malloc(sizeof(float) * (size_t)(nc + 1));
    double *want = malloc(sizeof(double) * (size_t)(M * N + 1));
    fill_random(A, na);
    fill_random(B, nb);
    fill_random(C, nc);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (double)(tb ? B[j * ldb + k] : B[k * ldb + j]);
            want[i * N + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)C[i * ldc + j]);
        }
    if (beta == 0.0f) /* beta == 0 must not read C */
        for (int64_t i = 0; i < nc; i++)
            C[i] = NAN;
    nni_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double w = want[i * N + j], g = C[i * ldc + j];
            ck_assert_msg(fabs(g - w) <= 1e-4 * (1.0 + fabs(w)) * (1.0 + (double)K / 64),
                          "sgemm[%s] ta=%d tb=%d %lldx%lldx%lld: C[%lld][%lld] = %g, expected %g", nni_sgemm_arch(),
                          ta, tb, (long long)M, (long long)N, (long long)K, (long long)i, (long long)j, g, w);
        }
    free(A), free(B), free(C), free(want);
}

START_TEST(test_sgemm_all_kernels)
{
    static const char *const archs[] = {"generic", "avx2", "avx512"};
    static const int64_t shapes[][3] = {{1, 1, 1},   {1, 37, 19},   {29, 1, 33},  {7, 5, 3},    {13, 50, 31},
                                        {8, 48, 256}, {9, 49, 257}, {100, 130, 300}, {33, 700, 520}, {600, 70, 40},
                                        {2, 2, 0},   {17, 97, 1},
                                        /* odd places run on 2 threads: depth 256-512 with few outputs splits by depth
                                           without transB and by tiles with it, in one workspace size */
                                        {3, 3, 3},   {16, 128, 300}, {5, 4, 3}, {64, 100, 300}};
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int a = 0; a < 3; a++) {
        if (!nni_sgemm_force_arch(archs[a]))
            continue;
        ck_assert_str_eq(nni_sgemm_arch(), archs[a]);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++) {
                float alpha = (t & 1) ? 0.75f : 1.0f;
                float beta = s % 3 == 0 ? 0.0f : s % 3 == 1 ? 1.0f : -0.5f;
                check_sgemm_case(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], alpha, beta,
                                 s % 2 ? pool : NULL, 0);
        /* B rows whose stride is a multiple of 256 floats (few L1 sets): read in place when shallow, else packed */
        for (int64_t ldb = 512; ldb <= 1024; ldb += 256)
            for (int64_t K = 8; K <= 64; K *= 2)
                check_sgemm_case(false, false, 16, 200, K, 1.0f, K == 16 ? 0.0f : 0.5f, K == 32 ? pool : NULL, ldb);
            }
    }
    nni_sgemm_force_arch(NULL);
    nni_pool_free(pool);
}
END_TEST

/*
 * Products split by depth on two threads (a 1x1 convolution that shrinks the
 * channels), with every epilogue part and beta, against a double reference.
 */
START_TEST(test_sgemm_split_depth)
{
    static const int64_t shapes[][3] = {{8, 256, 1024}, {17, 500, 300}, {24, 784, 144}, {64, 196, 384}, {96, 49, 577}};
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 0; t < 6; t++) {
            const int64_t M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
            const bool ta = t & 1;
            ck_assert_msg(nni_sgemm_depth_slices(M, N, K, false, 2) == 2, "%lldx%lldx%lld does not split by depth",
                          (long long)M, (long long)N, (long long)K);
            const int64_t lda = (ta ? M : K) + 1, ldc = N + 2;
            const float alpha = t & 1 ? 0.75f : 1.0f, beta = t / 2 == 0 ? 0.0f : t / 2 == 1 ? 1.0f : -0.5f;
            float *A = malloc(sizeof(float) * (size_t)((ta ? K : M) * lda)), *B = malloc(sizeof(float) * (size_t)(K * N));
            float *C = malloc(sizeof(float) * (size_t)(M * ldc)), *C0 = malloc(sizeof(float) * (size_t)(M * ldc));
            float *res = malloc(sizeof(float) * (size_t)(M * N)), *sc = malloc(sizeof(float) * (size_t)M);
            float *bi = malloc(sizeof(float) * (size_t)M);
            fill_random(A, (ta ? K : M) * lda), fill_random(B, K * N), fill_random(C0, M * ldc);
            fill_random(res, M * N), fill_random(sc, M), fill_random(bi, M);
            for (int64_t i = 0; i < M * ldc; i++)
                C[i] = beta == 0.0f ? NAN : C0[i]; /* beta == 0 must not read C */
            nni_epilogue e = {.act = t % 3 == 0 ? NNI_ACT_CLIP : NNI_ACT_NONE, .alpha = -0.5f, .beta = 0.5f, .ldr = N};
            if (t % 2 == 0)
                e.row_scale = sc;
            if (t != 3)
                e.row_bias = bi;
            if (t % 3 != 1)
                e.residual = res;
            void *ws = nni_malloc_aligned(nni_sgemm_workspace(M, N, K, 2));
            nni_sgemm_ws_epi(ta, false, M, N, K, alpha, A, lda, B, N, beta, C, ldc, &e, ws, pool);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double sum = 0, mag = 0;
                    for (int64_t k = 0; k < K; k++) {
                        double p = (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (double)B[k * N + j];
                        sum += p, mag += fabs(p);
                    }
                    double want = alpha * sum + (beta == 0.0f ? 0.0 : beta * (double)C0[i * ldc + j]);
                    want = want * (e.row_scale ? sc[i] : 1.0) + (e.row_bias ? bi[i] : 0.0) +
                           (e.residual ? res[i * N + j] : 0.0);
                    want = act_ref(e.act, want, e.alpha, e.beta);
                    ck_assert_msg(fabs(C[i * ldc + j] - want) <= 1e-5 * (mag + 1.0) * 4,
                                  "split %lldx%lldx%lld case %d: C[%lld][%lld] = %g, expected %g", (long long)M,
                                  (long long)N, (long long)K, t, (long long)i, (long long)j, (double)C[i * ldc + j],
                                  want);
                }
            nni_free_aligned(ws);
            free(A), free(B), free(C), free(C0), free(res), free(sc), free(bi);
        }
    nni_pool_free(pool);
}
END_TEST

/* Pre-packed B (the layout im2col writes) against the plain entry point. */
START_TEST(test_sgemm_packed_b)
{
    static const char *const archs[] = {"generic", "avx2", "avx512"};
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 50, 7}, {9, 1, 30}, {13, 97, 300}, {64, 200, 576}, {5, 49, 3}};
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int a = 0; a < 3; a++) {
        if (!nni_sgemm_force_arch(archs[a]))
            continue;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
            int64_t M = shapes[i][0], N = shapes[i][1], K = shapes[i][2], nr = nni_sgemm_nr();
            int64_t np = (N + nr - 1) / nr * nr;
            float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
            float *Bp = nni_malloc_aligned(sizeof(float) * (size_t)(K * np));
            float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
            fill_random(A, M * K);
            fill_random(B, K * N);
            fill_random(C1, M * N);
            memcpy(C2, C1, sizeof(float) * (size_t)(M * N));
            nni_sgemm_pack_b(N, K, B, N, Bp);
            nni_pool *p = i % 2 ? pool : NULL;
            size_t wsb = nni_sgemm_packed_workspace(M, N, K, nni_pool_threads(p));
            void *ws = nni_malloc_aligned(wsb);
            nni_sgemm_packed_ws(false, M, N, K, 0.5f, A, K, Bp, 0.25f, C1, N, ws, p);
            nni_sgemm(false, false, M, N, K, 0.5f, A, K, B, N, 0.25f, C2, N, p);
            for (int64_t t = 0; t < M * N; t++)
                ck_assert_msg(fabsf(C1[t] - C2[t]) <= 1e-4f * (1.0f + fabsf(C2[t])) * (1.0f + (float)K / 64),
                              "packed sgemm[%s] %lldx%lldx%lld element %lld: %g vs %g", archs[a], (long long)M,
                              (long long)N, (long long)K, (long long)t, (double)C1[t], (double)C2[t]);
            nni_free_aligned(ws);
            nni_free_aligned(Bp);
            free(A), free(B), free(C1), free(C2);
        }
    }
    nni_sgemm_force_arch(NULL);
    nni_pool_free(pool);
}
END_TEST

/* ---- Conv ---- */

typedef struct {
    int32_t nd;
    int64_t N, C, M, group;
    int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3];
    int auto_pad; /* 0 NOTSET (explicit pads), 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    bool bias;
} conv_case;

static const char *const pad_names[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};

/* Output size and resolved leading pad of one dim, straight from the ONNX definition. */
static int64_t conv_out_dim(const conv_case *cc, int d, int64_t *lead)
{
    int64_t ek = (cc->k[d] - 1) * cc->dil[d] + 1, in = cc->in[d], s = cc->stride[d];
    if (cc->auto_pad == 1 || cc->auto_pad == 2) {
        int64_t out = (in + s - 1) / s;
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0)
            total = 0;
        *lead = cc->auto_pad == 1 ? total / 2 : total - total / 2;
        return out;
    }
    int64_t pb = cc->auto_pad == 3 ? 0 : cc->pb[d], pe = cc->auto_pad == 3 ? 0 : cc->pe[d];
    *lead = pb;
    return (in + pb + pe - ek) / s + 1;
}

static void conv_reference(const conv_case *cc, const float *x, const float *w, const float *b, double *y,
                           int64_t *ydims)
{
    int64_t lead[3] = {0, 0, 0}, out[3] = {1, 1, 1}, in[3] = {1, 1, 1}, k[3] = {1, 1, 1};
    int64_t st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
    /* right-align the dims into 3-D so one loop nest serves 1-D to 3-D */
    for (int d = 0; d < cc->nd; d++) {
        int e = 3 - cc->nd + d;
        out[e] = conv_out_dim(cc, d, &lead[e]);
        in[e] = cc->in[d], k[e] = cc->k[d], st[e] = cc->stride[d], dl[e] = cc->dil[d];
        ydims[2 + d] = out[e];
    }
    ydims[0] = cc->N, ydims[1] = cc->M;
    int64_t Cg = cc->C / cc->group, Mg = cc->M / cc->group;
    int64_t ivol = in[0] * in[1] * in[2], ovol = out[0] * out[1] * out[2], kvol = k[0] * k[1] * k[2];
    for (int64_t n = 0; n < cc->N; n++)
        for (int64_t m = 0; m < cc->M; m++) {
            int64_t g = m / Mg;
            for (int64_t o0 = 0; o0 < out[0]; o0++)
                for (int64_t o1 = 0; o1 < out[1]; o1++)
                    for (int64_t o2 = 0; o2 < out[2]; o2++) {
                        double s = b ? b[m] : 0.0;
                        for (int64_t c = 0; c < Cg; c++)
                            for (int64_t k0 = 0; k0 < k[0]; k0++)
                                for (int64_t k1 = 0; k1 < k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t i0 = o0 * st[0] - lead[0] + k0 * dl[0];
                                        int64_t i1 = o1 * st[1] - lead[1] + k1 * dl[1];
                                        int64_t i2 = o2 * st[2] - lead[2] + k2 * dl[2];
                                        if (i0 < 0 || i0 >= in[0] || i1 < 0 || i1 >= in[1] || i2 < 0 || i2 >= in[2])
                                            continue;
                                        double xv = x[(n * cc->C + g * Cg + c) * ivol + (i0 * in[1] + i1) * in[2] + i2];
                                        double wv = w[(m * Cg + c) * kvol + (k0 * k[1] + k1) * k[2] + k2];
                                        s += xv * wv;
                                    }
                        y[(n * cc->M + m) * ovol + (o0 * out[1] + o1) * out[2] + o2] = s;
                    }
        }
}

static void check_conv_case(const conv_case *cc, nni_pool *pool)
{
    int64_t xd[5] = {cc->N, cc->C}, wd[5] = {cc->M, cc->C / cc->group}, bd[1] = {cc->M};
    for (int d = 0; d < cc->nd; d++)
        xd[2 + d] = cc->in[d], wd[2 + d] = cc->k[d];
    nn_tensor *x = new_tensor(cc->nd + 2, xd, true), *w = new_tensor(cc->nd + 2, wd, true);
    nn_tensor *b = cc->bias ? new_tensor(1, bd, true) : NULL;
    test_attrs at = {.n = 0};
    int64_t v[6];
    if (rnd() % 2) {
        for (int d = 0; d < cc->nd; d++)
            v[d] = cc->k[d];
        test_attr_ints(&at, "kernel_shape", cc->nd, v);
    }
    for (int d = 0; d < cc->nd; d++)
        v[d] = cc->stride[d];
    test_attr_ints(&at, "strides", cc->nd, v);
    for (int d = 0; d < cc->nd; d++)
        v[d] = cc->dil[d];
    test_attr_ints(&at, "dilations", cc->nd, v);
    if (cc->auto_pad == 0) {
        for (int d = 0; d < cc->nd; d++)
            v[d] = cc->pb[d], v[cc->nd + d] = cc->pe[d];
        test_attr_ints(&at, "pads", 2 * cc->nd, v);
    } else {
        test_attr_string(&at, "auto_pad", pad_names[cc->auto_pad]);
    }
    test_attr_int(&at, "group", cc->group);
    nn_tensor *in[3] = {x, w, b};
    nn_tensor *y = NULL;
    ck_assert_ok(run_op("Conv", &at, in, cc->bias ? 3 : 2, pool, 13, &y));
    int64_t ydims[5];
    int64_t count = cc->N * cc->M;
    double *want = NULL;
    /* reference output size first, to allocate */
    for (int d = 0; d < cc->nd; d++) {
        int64_t lead;
        count *= conv_out_dim(cc, d, &lead);
    }
    want = malloc(sizeof(double) * (size_t)(count + 1));
    conv_reference(cc, x->data, w->data, b ? b->data : NULL, want, ydims);
    ck_assert_int_eq(y->rank, cc->nd + 2);
    for (int d = 0; d < cc->nd + 2; d++)
        ck_assert_int_eq(y->dims[d], ydims[d]);
    expect_close(y, want, count, "Conv");
    free(want);
    free_tensor(x), free_tensor(w), free_tensor(b), free_tensor(y);
}

static void random_conv_case(conv_case *cc, int32_t nd, int kind)
{
    memset(cc, 0, sizeof *cc);
    cc->nd = nd;
    cc->N = rnd_in(1, 2);
    cc->group = kind == 1 ? rnd_in(1, 4) : 1;
    cc->C = cc->group * rnd_in(1, 5);
    cc->M = cc->group * rnd_in(1, 6);
    if (kind == 2) { /* depthwise, possibly with a channel multiplier */
        cc->C = cc->group = rnd_in(1, 6);
        cc->M = cc->C * rnd_in(1, 2);
    }
    for (int d = 0; d < nd; d++) {
        cc->k[d] = kind == 3 ? 1 : rnd_in(1, 4);
        cc->stride[d] = kind == 3 ? 1 : rnd_in(1, 3);
        cc->dil[d] = kind == 3 ? 1 : rnd_in(1, 2);
        int64_t ek = (cc->k[d] - 1) * cc->dil[d] + 1;
        cc->in[d] = rnd_in(ek, ek + (nd == 3 ? 5 : 11));
        cc->pb[d] = kind == 3 ? 0 : rnd_in(0, 2);
        cc->pe[d] = kind == 3 ? 0 : rnd_in(0, 2);
    }
    cc->auto_pad = kind == 3 ? 0 : (int)(rnd() % 6 < 3 ? 0 : rnd() % 4);
    cc->bias = rnd() % 2;
}

START_TEST(test_conv_random)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    /* every GEMM micro-kernel (panel widths differ), the best one most */
    static const char *const archs[] = {"generic", "avx2", "avx512", NULL};
    for (int a = 0; a < 4; a++) {
        if (!nni_sgemm_force_arch(archs[a]))
            continue;
        for (int iter = 0; iter < (a == 3 ? 400 : 100); iter++) {
            conv_case cc;
            random_conv_case(&cc, (int32_t)(1 + iter % 3), iter / 3 % 4);
            check_conv_case(&cc, iter % 2 ? pool : NULL);
        }
    }
    nni_sgemm_force_arch(NULL);
    nni_pool_free(pool);
}
END_TEST

/* Shapes large enough for the multi-threaded GEMM and the chunked im2col. */
START_TEST(test_conv_large)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    static const conv_case cases[] = {
        /* 3x3 pad 1, Kg = 576, 48*48 outputs: im2col in chunks */
        {.nd = 2, .N = 1, .C = 64, .M = 24, .group = 1, .in = {48, 48}, .k = {3, 3}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        /* pointwise */
        {.nd = 2, .N = 2, .C = 40, .M = 36, .group = 1, .in = {23, 29}, .k = {1, 1}, .stride = {1, 1},
         .dil = {1, 1}, .bias = true},
        /* grouped, strided */
        {.nd = 2, .N = 1, .C = 32, .M = 64, .group = 4, .in = {31, 27}, .k = {3, 5}, .stride = {2, 1},
         .dil = {1, 2}, .pb = {1, 2}, .pe = {0, 3}},
        /* depthwise 3x3 stride 2 */
        {.nd = 2, .N = 1, .C = 32, .M = 32, .group = 32, .in = {57, 33}, .k = {3, 3}, .stride = {2, 2},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        /* planes of over 256 16-output chunks: their mask tables are built over the threads */
        {.nd = 2, .N = 1, .C = 8, .M = 8, .group = 8, .in = {70, 64}, .k = {3, 3}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.nd = 2, .N = 1, .C = 8, .M = 8, .group = 8, .in = {131, 127}, .k = {3, 3}, .stride = {2, 2},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}},
        {.nd = 2, .N = 2, .C = 3, .M = 9, .group = 1, .in = {150, 130}, .k = {3, 3}, .stride = {2, 2},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        /* depthwise planes of 16x16 and below: four at a time, then the ones left over */
        {.nd = 2, .N = 2, .C = 7, .M = 7, .group = 7, .in = {13, 11}, .k = {3, 3}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.nd = 2, .N = 1, .C = 9, .M = 9, .group = 9, .in = {7, 7}, .k = {5, 5}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {2, 2}, .pe = {2, 2}},
        /* depthwise planes of 96x96 and up: bands of rows over the threads */
        {.nd = 2, .N = 2, .C = 6, .M = 6, .group = 6, .in = {97, 101}, .k = {3, 3}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.nd = 2, .N = 1, .C = 3, .M = 3, .group = 3, .in = {100, 96}, .k = {5, 5}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {2, 2}, .pe = {2, 2}},
        /* one output channel: matrix-vector columns, chunked */
        {.nd = 2, .N = 1, .C = 64, .M = 1, .group = 1, .in = {48, 50}, .k = {3, 3}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {1, 0}, .pe = {1, 2}, .bias = true},
        /* 3-D, batch 2 */
        {.nd = 3, .N = 2, .C = 6, .M = 10, .group = 2, .in = {9, 10, 11}, .k = {3, 2, 3}, .stride = {1, 2, 1},
         .dil = {2, 1, 1}, .pb = {1, 0, 1}, .pe = {2, 1, 0}, .bias = true},
        /* first layers (few input channels, direct path): 3x3 and 7x7 stride 2, 5x5 stride 1 same-size */
        {.nd = 2, .N = 2, .C = 3, .M = 20, .group = 1, .in = {57, 61}, .k = {3, 3}, .stride = {2, 2},
         .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true},
        {.nd = 2, .N = 1, .C = 3, .M = 9, .group = 1, .in = {40, 37}, .k = {7, 7}, .stride = {2, 2},
         .dil = {1, 1}, .pb = {3, 3}, .pe = {3, 3}},
        {.nd = 2, .N = 1, .C = 2, .M = 11, .group = 1, .in = {23, 30}, .k = {5, 5}, .stride = {1, 1},
         .dil = {1, 1}, .pb = {2, 2}, .pe = {2, 2}, .bias = true},
        /* 1-D, long */
        {.nd = 1, .N = 1, .C = 16, .M = 20, .group = 1, .in = {3001}, .k = {5}, .stride = {1}, .dil = {3},
         .pb = {6}, .pe = {6}, .bias = true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        check_conv_case(&cases[i], NULL);
        check_conv_case(&cases[i], pool);
    }
    nni_pool_free(pool);
}
END_TEST

START_TEST(test_conv_bad_attributes)
{
    int64_t xd[4] = {1, 2, 5, 5}, wd[4] = {3, 2, 3, 3};
    nn_tensor *x = new_tensor(4, xd, true), *w = new_tensor(4, wd, true);
    nn_tensor *in[2] = {x, w}, *y = NULL;
    test_attrs at = {.n = 0};
    int64_t zero[2] = {0, 1};
    test_attr_ints(&at, "strides", 2, zero);
    ck_assert_nn(run_op("Conv", &at, in, 2, NULL, 13, &y), NN_E_INVALID_MODEL);
    at.n = 0;
    test_attr_string(&at, "auto_pad", "SAME");
    ck_assert_nn(run_op("Conv", &at, in, 2, NULL, 13, &y), NN_E_INVALID_MODEL);
    at.n = 0;
    test_attr_int(&at, "group", 2); /* W has 2 input channels, X/group has 1 */
    ck_assert_nn(run_op("Conv", &at, in, 2, NULL, 13, &y), NN_E_SHAPE);
    at.n = 0;
    int64_t big[2] = {4, 4};
    test_attr_ints(&at, "kernel_shape", 2, big);
    ck_assert_nn(run_op("Conv", &at, in, 2, NULL, 13, &y), NN_E_SHAPE);
    at.n = 0;
    int64_t dil[2] = {3, 3}; /* effective kernel 7 > 5 */
    test_attr_ints(&at, "dilations", 2, dil);
    ck_assert_nn(run_op("Conv", &at, in, 2, NULL, 13, &y), NN_E_SHAPE);
    free_tensor(x), free_tensor(w);
}
END_TEST

/* ---- ConvTranspose ---- */

typedef struct {
    int32_t nd;
    int64_t N, C, M, group;
    int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3], outpad[3], outshape[3];
    int mode; /* 0 explicit pads, 1 output_shape, 2 SAME_UPPER, 3 SAME_LOWER, 4 VALID */
    bool bias;
} convt_case;

static int64_t floor_half(int64_t t) { return t >= 0 ? t / 2 : -((-t + 1) / 2); }

static int64_t convt_out_dim(const convt_case *tc, int d, int64_t *lead)
{
    int64_t full = tc->stride[d] * (tc->in[d] - 1) + tc->outpad[d] + (tc->k[d] - 1) * tc->dil[d] + 1;
    if (tc->mode == 1 || tc->mode == 2 || tc->mode == 3) {
        int64_t out = tc->mode == 1 ? tc->outshape[d] : tc->in[d] * tc->stride[d];
        int64_t total = full - out;
        *lead = tc->mode == 2 ? floor_half(total) : total - floor_half(total);
        return out;
    }
    int64_t pb = tc->mode == 4 ? 0 : tc->pb[d], pe = tc->mode == 4 ? 0 : tc->pe[d];
    *lead = pb;
    return full - pb - pe;
}

static void check_convt_case(const convt_case *tc, nni_pool *pool)
{
    int64_t Cg = tc->C / tc->group, Mg = tc->M / tc->group;
    int64_t xd[5] = {tc->N, tc->C}, wd[5] = {tc->C, Mg}, bd[1] = {tc->M};
    int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1};
    int64_t lead[3] = {0, 0, 0};
    for (int d = 0; d < tc->nd; d++) {
        int e = 3 - tc->nd + d;
        xd[2 + d] = tc->in[d], wd[2 + d] = tc->k[d];
        in[e] = tc->in[d], k[e] = tc->k[d], st[e] = tc->stride[d], dl[e] = tc->dil[d];
        out[e] = convt_out_dim(tc, d, &lead[e]);
    }
    nn_tensor *x = new_tensor(tc->nd + 2, xd, true), *w = new_tensor(tc->nd + 2, wd, true);
    nn_tensor *b = tc->bias ? new_tensor(1, bd, true) : NULL;
    test_attrs at = {.n = 0};
    int64_t v[6];
    for (int d = 0; d < tc->nd; d++)
        v[d] = tc->stride[d];
    test_attr_ints(&at, "strides", tc->nd, v);
    for (int d = 0; d < tc->nd; d++)
        v[d] = tc->dil[d];
    test_attr_ints(&at, "dilations", tc->nd, v);
    for (int d = 0; d < tc->nd; d++)
        v[d] = tc->outpad[d];
    test_attr_ints(&at, "output_padding", tc->nd, v);
    if (tc->mode == 0) {
        for (int d = 0; d < tc->nd; d++)
            v[d] = tc->pb[d], v[tc->nd + d] = tc->pe[d];
        test_attr_ints(&at, "pads", 2 * tc->nd, v);
    } else if (tc->mode == 1) {
        for (int d = 0; d < tc->nd; d++)
            v[d] = tc->outshape[d];
        test_attr_ints(&at, "output_shape", tc->nd, v);
    } else {
        test_attr_string(&at, "auto_pad", tc->mode == 2 ? "SAME_UPPER" : tc->mode == 3 ? "SAME_LOWER" : "VALID");
    }
    test_attr_int(&at, "group", tc->group);
    nn_tensor *ins[3] = {x, w, b}, *y = NULL;
    ck_assert_ok(run_op("ConvTranspose", &at, ins, tc->bias ? 3 : 2, pool, 13, &y));
    int64_t ivol = in[0] * in[1] * in[2], ovol = out[0] * out[1] * out[2], kvol = k[0] * k[1] * k[2];
    int64_t count = tc->N * tc->M * ovol;
    double *want = malloc(sizeof(double) * (size_t)(count + 1));
    const float *xv = x->data, *wv = w->data, *bv = b ? b->data : NULL;
    for (int64_t i = 0; i < count; i++)
        want[i] = bv ? bv[(i / ovol) % tc->M] : 0.0;
    for (int64_t n = 0; n < tc->N; n++)
        for (int64_t c = 0; c < tc->C; c++) {
            int64_t g = c / Cg;
            for (int64_t i0 = 0; i0 < in[0]; i0++)
                for (int64_t i1 = 0; i1 < in[1]; i1++)
                    for (int64_t i2 = 0; i2 < in[2]; i2++) {
                        double xe = xv[(n * tc->C + c) * ivol + (i0 * in[1] + i1) * in[2] + i2];
                        for (int64_t m = 0; m < Mg; m++)
                            for (int64_t k0 = 0; k0 < k[0]; k0++)
                                for (int64_t k1 = 0; k1 < k[1]; k1++)
                                    for (int64_t k2 = 0; k2 < k[2]; k2++) {
                                        int64_t o0 = i0 * st[0] - lead[0] + k0 * dl[0];
                                        int64_t o1 = i1 * st[1] - lead[1] + k1 * dl[1];
                                        int64_t o2 = i2 * st[2] - lead[2] + k2 * dl[2];
                                        if (o0 < 0 || o0 >= out[0] || o1 < 0 || o1 >= out[1] || o2 < 0 || o2 >= out[2])
                                            continue;
                                        double we = wv[(c * Mg + m) * kvol + (k0 * k[1] + k1) * k[2] + k2];
                                        want[(n * tc->M + g * Mg + m) * ovol + (o0 * out[1] + o1) * out[2] + o2] +=
                                            xe * we;
                                    }
                    }
        }
    ck_assert_int_eq(y->rank, tc->nd + 2);
    ck_assert_int_eq(y->dims[1], tc->M);
    for (int d = 0; d < tc->nd; d++)
        ck_assert_int_eq(y->dims[2 + d], out[3 - tc->nd + d]);
    expect_close(y, want, count, "ConvTranspose");
    free(want);
    free_tensor(x), free_tensor(w), free_tensor(b), free_tensor(y);
}

START_TEST(test_convtranspose_random)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int iter = 0; iter < 300; iter++) {
        convt_case tc;
        memset(&tc, 0, sizeof tc);
        tc.nd = 1 + iter % 3;
        tc.N = rnd_in(1, 2);
        tc.group = rnd_in(1, 3);
        tc.C = tc.group * rnd_in(1, 4);
        tc.M = tc.group * rnd_in(1, 4);
        tc.mode = (int)(iter / 3 % 5);
        for (int d = 0; d < tc.nd; d++) {
            tc.k[d] = rnd_in(1, 4);
            tc.stride[d] = rnd_in(1, 3);
            tc.dil[d] = rnd_in(1, 2);
            tc.in[d] = rnd_in(1, tc.nd == 3 ? 4 : 9);
            tc.outpad[d] = rnd_in(0, tc.stride[d] - 1);
            int64_t full = tc.stride[d] * (tc.in[d] - 1) + tc.outpad[d] + (tc.k[d] - 1) * tc.dil[d] + 1;
            tc.pb[d] = rnd_in(0, (full - 1) / 2 < 2 ? (full - 1) / 2 : 2);
            tc.pe[d] = rnd_in(0, (full - 1) / 2 < 2 ? (full - 1) / 2 : 2);
            tc.outshape[d] = rnd_in(full > 3 ? full - 3 : 1, full + 2);
        }
        tc.bias = rnd() % 2;
        check_convt_case(&tc, iter % 2 ? pool : NULL);
    }
    /* large enough for threads and chunked columns */
    convt_case big = {.nd = 2, .N = 1, .C = 48, .M = 32, .group = 2, .in = {40, 35}, .k = {4, 4}, .stride = {2, 2},
                      .dil = {1, 1}, .pb = {1, 1}, .pe = {1, 1}, .bias = true};
    check_convt_case(&big, NULL);
    check_convt_case(&big, pool);
    nni_pool_free(pool);
}
END_TEST

/* ---- Gemm and MatMul ---- */

START_TEST(test_gemm_broadcast_c)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int iter = 0; iter < 120; iter++) {
        int64_t M = rnd_in(1, 70), N = rnd_in(1, 70), K = rnd_in(1, 90);
        bool ta = rnd() % 2, tb = rnd() % 2;
        float alpha = (float)rnd_in(-4, 4) / 2, beta = (float)rnd_in(-4, 4) / 2;
        int64_t ad[2] = {ta ? K : M, ta ? M : K}, bd[2] = {tb ? N : K, tb ? K : N};
        int crank = (int)(rnd() % 4); /* 0: scalar, 1: [N], 2: [M,N] / [M,1] / [1,N], 3: absent */
        int64_t cd[2] = {rnd() % 2 ? M : 1, rnd() % 2 ? N : 1};
        if (crank == 1)
            cd[0] = rnd() % 2 ? N : 1;
        nn_tensor *a = new_tensor(2, ad, true), *b = new_tensor(2, bd, true);
        nn_tensor *cc = crank == 3 ? NULL : new_tensor(crank, cd, true);
        test_attrs at = {.n = 0};
        test_attr_float(&at, "alpha", alpha);
        test_attr_float(&at, "beta", beta);
        test_attr_int(&at, "transA", ta);
        test_attr_int(&at, "transB", tb);
        nn_tensor *in[3] = {a, b, cc}, *y = NULL;
        ck_assert_ok(run_op("Gemm", &at, in, cc ? 3 : 2, iter % 2 ? pool : NULL, 13, &y));
        double *want = malloc(sizeof(double) * (size_t)(M * N));
        const float *av = a->data, *bv = b->data, *cv = cc ? cc->data : NULL;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double s = 0;
                for (int64_t k = 0; k < K; k++)
                    s += (double)(ta ? av[k * M + i] : av[i * K + k]) * (double)(tb ? bv[j * K + k] : bv[k * N + j]);
                double cval = 0;
                if (cv) {
                    int64_t ci = crank == 2 ? (cd[0] == 1 ? 0 : i) * cd[1] + (cd[1] == 1 ? 0 : j)
                                 : crank == 1 ? (cd[0] == 1 ? 0 : j) : 0;
                    cval = cv[ci];
                }
                want[i * N + j] = alpha * s + beta * cval;
            }
        expect_close(y, want, M * N, "Gemm");
        free(want);
        free_tensor(a), free_tensor(b), free_tensor(cc), free_tensor(y);
    }
    /* opset 6 without broadcast: C must be the full MxN */
    int64_t ad[2] = {3, 4}, bd[2] = {4, 5}, cd[1] = {5};
    nn_tensor *a = new_tensor(2, ad, true), *b = new_tensor(2, bd, true), *cc = new_tensor(1, cd, true);
    nn_tensor *in[3] = {a, b, cc}, *y = NULL;
    test_attrs at = {.n = 0};
    ck_assert_nn(run_op("Gemm", &at, in, 3, NULL, 6, &y), NN_E_SHAPE);
    test_attr_int(&at, "broadcast", 1);
    ck_assert_ok(run_op("Gemm", &at, in, 3, NULL, 6, &y));
    free_tensor(y);
    free_tensor(a), free_tensor(b), free_tensor(cc);
    nni_pool_free(pool);
}
END_TEST

START_TEST(test_matmul_broadcast)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    for (int iter = 0; iter < 200; iter++) {
        int32_t ra = (int32_t)rnd_in(1, 4), rb = (int32_t)rnd_in(1, 4);
        int64_t M = rnd_in(1, 40), N = rnd_in(1, 40), K = rnd_in(1, 60);
        if (iter % 10 == 0)
            M = 70, N = 130, K = 150; /* large enough for the threaded paths */
        int64_t ad[4], bd[4];
        int32_t nba = ra >= 2 ? ra - 2 : 0, nbb = rb >= 2 ? rb - 2 : 0, nb = nba > nbb ? nba : nbb;
        int64_t batch[2];
        for (int i = 0; i < nb; i++)
            batch[i] = rnd_in(1, 3);
        /* each operand's batch dim is either the common size or 1 */
        for (int i = 0; i < nba; i++)
            ad[i] = rnd() % 3 ? batch[nb - nba + i] : 1;
        for (int i = 0; i < nbb; i++)
            bd[i] = rnd() % 3 ? batch[nb - nbb + i] : 1;
        if (ra == 1)
            ad[0] = K;
        else
            ad[ra - 2] = M, ad[ra - 1] = K;
        if (rb == 1)
            bd[0] = K;
        else
            bd[rb - 2] = K, bd[rb - 1] = N;
        nn_tensor *a = new_tensor(ra, ad, true), *b = new_tensor(rb, bd, true);
        nn_tensor *in[2] = {a, b}, *y = NULL;
        test_attrs at = {.n = 0};
        ck_assert_ok(run_op("MatMul", &at, in, 2, iter % 2 ? pool : NULL, 13, &y));
        /* reference: walk output batch index, map to operand batch index with broadcasting */
        int64_t ob[2] = {1, 1}, abd[2] = {1, 1}, bbd[2] = {1, 1};
        for (int i = 0; i < nba; i++)
            abd[2 - nba + i] = ad[i];
        for (int i = 0; i < nbb; i++)
            bbd[2 - nbb + i] = bd[i];
        for (int i = 0; i < 2; i++)
            ob[i] = abd[i] > bbd[i] ? abd[i] : bbd[i];
        int64_t Me = ra == 1 ? 1 : M, Ne = rb == 1 ? 1 : N;
        int64_t count = ob[0] * ob[1] * Me * Ne;
        double *want = malloc(sizeof(double) * (size_t)count);
        const float *av = a->data, *bv = b->data;
        for (int64_t b0 = 0; b0 < ob[0]; b0++)
            for (int64_t b1 = 0; b1 < ob[1]; b1++) {
                int64_t ai = ((abd[0] == 1 ? 0 : b0) * abd[1] + (abd[1] == 1 ? 0 : b1)) * Me * K;
                int64_t bi = ((bbd[0] == 1 ? 0 : b0) * bbd[1] + (bbd[1] == 1 ? 0 : b1)) * K * Ne;
                for (int64_t i = 0; i < Me; i++)
                    for (int64_t j = 0; j < Ne; j++) {
                        double s = 0;
                        for (int64_t k = 0; k < K; k++)
                            s += (double)av[ai + i * K + k] * (double)bv[bi + k * Ne + j];
                        want[((b0 * ob[1] + b1) * Me + i) * Ne + j] = s;
                    }
            }
        int32_t want_rank = nb + (ra > 1) + (rb > 1);
        ck_assert_int_eq(y->rank, want_rank);
        expect_close(y, want, count, "MatMul");
        free(want);
        free_tensor(a), free_tensor(b), free_tensor(y);
    }
    int64_t ad[2] = {3, 4}, bd[2] = {5, 6};
    nn_tensor *a = new_tensor(2, ad, true), *b = new_tensor(2, bd, true), *in[2] = {a, b}, *y = NULL;
    test_attrs at = {.n = 0};
    ck_assert_nn(run_op("MatMul", &at, in, 2, NULL, 13, &y), NN_E_SHAPE);
    free_tensor(a), free_tensor(b);
    nni_pool_free(pool);
}
END_TEST

/* ---- Winograd F(4x4, 3x3) against a double reference, with every epilogue part ---- */

START_TEST(test_winograd_random)
{
    if (!nni_winograd_supported())
        return;
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(2, &pool));
    static const int acts[] = {NNI_ACT_NONE, NNI_ACT_RELU, NNI_ACT_LEAKY_RELU, NNI_ACT_CLIP, NNI_ACT_SIGMOID};
    for (int iter = 0; iter < 60; iter++) {
        nni_winograd_geom g = {.C = rnd_in(1, 70), .M = rnd_in(1, 70), .H = rnd_in(1, 40), .W = rnd_in(1, 40),
                               .pad_t = rnd_in(0, 2), .pad_l = rnd_in(0, 2)};
        if (iter < 4) /* sizes of real layers: many tiles, several blocks */
            g.C = 64 << (iter % 2), g.M = 64, g.H = g.W = 56 >> (iter / 2), g.pad_t = g.pad_l = 1;
        int64_t pb = iter < 4 ? 1 : rnd_in(0, 2), pr = iter < 4 ? 1 : rnd_in(0, 2);
        g.OH = g.H + g.pad_t + pb - 2;
        g.OW = g.W + g.pad_l + pr - 2;
        if (g.OH < 1 || g.OW < 1)
            continue;
        const int64_t xn = g.C * g.H * g.W, wn = g.M * g.C * 9, yn = g.M * g.OH * g.OW;
        float *x = malloc(sizeof(float) * (size_t)xn), *w = malloc(sizeof(float) * (size_t)wn);
        float *y = malloc(sizeof(float) * (size_t)yn), *res = malloc(sizeof(float) * (size_t)yn);
        float *sc = malloc(sizeof(float) * (size_t)g.M), *bi = malloc(sizeof(float) * (size_t)g.M);
        fill_random(x, xn), fill_random(w, wn), fill_random(res, yn), fill_random(sc, g.M), fill_random(bi, g.M);
        nni_epilogue e = {.act = acts[iter % 5], .alpha = -0.25f, .beta = 0.5f, .ldr = g.OH * g.OW};
        if (e.act == NNI_ACT_LEAKY_RELU)
            e.alpha = 0.1f;
        if (iter % 3 == 0)
            e.row_scale = sc;
        if (iter % 2 == 0)
            e.row_bias = bi;
        if (iter % 4 < 2)
            e.residual = res;
        float *u = nni_malloc_aligned(nni_winograd_weights_size(g.M, g.C));
        nni_winograd_transform_weights(g.M, g.C, w, u);
        nni_pool *p = iter % 2 ? pool : NULL;
        void *ws = nni_malloc_aligned(nni_winograd_workspace(&g, nni_pool_threads(p)));
        nni_winograd_conv(&g, x, u, &e, y, ws, p);
        for (int64_t m = 0; m < g.M; m++)
            for (int64_t oy = 0; oy < g.OH; oy++)
                for (int64_t ox = 0; ox < g.OW; ox++) {
                    double sum = 0, mag = 0;
                    for (int64_t c = 0; c < g.C; c++)
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) {
                                int64_t iy = oy - g.pad_t + ky, ix = ox - g.pad_l + kx;
                                if (iy < 0 || ix < 0 || iy >= g.H || ix >= g.W)
                                    continue;
                                double t = (double)x[(c * g.H + iy) * g.W + ix] * w[(m * g.C + c) * 9 + ky * 3 + kx];
                                sum += t;
                                mag += fabs(t);
                            }
                    const int64_t at = (m * g.OH + oy) * g.OW + ox;
                    double want = sum * (e.row_scale ? sc[m] : 1.0) + (e.row_bias ? bi[m] : 0.0) +
                                  (e.residual ? res[at] : 0.0);
                    want = act_ref(e.act, want, e.alpha, e.beta);
                    ck_assert_msg(fabs(y[at] - want) <= 1e-5 * (mag + 1.0) * 4,
                                  "case %d (C%lld M%lld %lldx%lld): y[%lld,%lld,%lld] = %g, expected %g", iter,
                                  (long long)g.C, (long long)g.M, (long long)g.H, (long long)g.W, (long long)m,
                                  (long long)oy, (long long)ox, (double)y[at], want);
                }
        nni_free_aligned(u), nni_free_aligned(ws);
        free(x), free(w), free(y), free(res), free(sc), free(bi);
    }
    nni_pool_free(pool);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("conv");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sgemm_all_kernels);
    tcase_add_test(tc, test_sgemm_split_depth);
    tcase_add_test(tc, test_sgemm_packed_b);
    tcase_add_test(tc, test_conv_random);
    tcase_add_test(tc, test_conv_large);
    tcase_add_test(tc, test_winograd_random);
    tcase_add_test(tc, test_conv_bad_attributes);
    tcase_add_test(tc, test_convtranspose_random);
    tcase_add_test(tc, test_gemm_broadcast_c);
    tcase_add_test(tc, test_matmul_broadcast);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
