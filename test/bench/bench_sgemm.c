/* bench_sgemm.c — GFLOP/s of nni_sgemm per micro-kernel and thread count (not a unit test).
 * Build: see test/bench/README.md (links the static library). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/pool.h"
#include "kernels/sgemm.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(getenv("BENCH_WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void fill(float *p, int64_t n, unsigned *seed)
{
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)((*seed = *seed * 1103515245u + 12345u) >> 8 & 0xffff) / 32768.0f - 1.0f;
}

static double check(bool ta, bool tb, int64_t M, int64_t N, int64_t K, nni_pool *pool)
{
    unsigned seed = 7;
    int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 5, ldc = N + 2;
    float *A = malloc(sizeof(float) * (size_t)((ta ? K : M) * lda));
    float *B = malloc(sizeof(float) * (size_t)((tb ? N : K) * ldb));
    float *C = malloc(sizeof(float) * (size_t)(M * ldc));
    float *C0 = malloc(sizeof(float) * (size_t)(M * ldc));
    fill(A, (ta ? K : M) * lda, &seed);
    fill(B, (tb ? N : K) * ldb, &seed);
    fill(C, M * ldc, &seed);
    memcpy(C0, C, sizeof(float) * (size_t)(M * ldc));
    float alpha = 0.75f, beta = 0.5f;
    nni_sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
    double maxerr = 0;
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (double)(tb ? B[j * ldb + k] : B[k * ldb + j]);
            double ref = alpha * s + beta * C0[i * ldc + j];
            double e = fabs(ref - C[i * ldc + j]) / (1.0 + fabs(ref));
            if (e > maxerr)
                maxerr = e;
        }
    free(A), free(B), free(C), free(C0);
    return maxerr;
}

static double bench(bool ta, bool tb, int64_t M, int64_t N, int64_t K, nni_pool *pool)
{
    unsigned seed = 1;
    float *A = malloc(sizeof(float) * (size_t)(M * K));
    float *B = malloc(sizeof(float) * (size_t)(K * N));
    float *C = malloc(sizeof(float) * (size_t)(M * N));
    fill(A, M * K, &seed);
    fill(B, K * N, &seed);
    size_t wsb = nni_sgemm_workspace(M, N, K, nni_pool_threads(pool));
    void *ws = aligned_alloc(64, wsb);
    double flops = 2.0 * (double)M * (double)N * (double)K;
    int reps = (int)(2e9 / flops) + 1;
    nni_sgemm_ws(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N, ws, pool);
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++)
            nni_sgemm_ws(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N, ws, pool);
        double t = (now() - t0) / reps;
        if (t < best)
            best = t;
    }
    free(A), free(B), free(C), free(ws);
    return flops / best * 1e-9;
}

int main(int argc, char **argv)
{
    const char *archs[] = {"generic", "avx2", "avx512"};
    nni_pool *p2 = NULL;
    nni_pool_create(2, &p2);
    bool quick = argc > 1 && strcmp(argv[1], "quick") == 0;
    static const int64_t shapes[][3] = {{1, 1, 1}, {1, 37, 19}, {29, 1, 33}, {7, 5, 3}, {13, 50, 31}, {8, 48, 256},
                                        {9, 49, 257}, {100, 130, 300}, {33, 700, 520}, {600, 70, 40}};
    for (int a = 0; a < 3; a++) {
        if (!nni_sgemm_force_arch(archs[a]))
            continue;
        double worst = 0;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++)
                for (int th = 0; th < 2; th++) {
                    double e = check(t & 1, t >> 1, shapes[s][0], shapes[s][1], shapes[s][2], th ? p2 : NULL);
                    if (e > worst)
                        worst = e;
                    if (e > 1e-4)
                        printf("MISMATCH %s ta=%d tb=%d %lldx%lldx%lld threads=%d err=%g\n", archs[a], t & 1, t >> 1,
                               (long long)shapes[s][0], (long long)shapes[s][1], (long long)shapes[s][2], th + 1, e);
                }
        printf("%-8s max rel err %.2e\n", archs[a], worst);
    }
    /* M, N, K, transB */
    static const int64_t perf[][4] = {{512, 512, 512, 0}, {64, 3136, 576, 0}, {256, 3136, 64, 0},
                                      {1024, 1024, 1024, 0}, {128, 784, 1152, 0}, {512, 49, 4608, 0},
                                      {1, 4096, 4096, 0}, {1, 4096, 4096, 1}, {16, 1000, 2048, 1},
                                      {512, 512, 512, 1}};
    for (int a = quick ? 2 : 0; a < 3; a++) {
        if (!nni_sgemm_force_arch(archs[a]))
            continue;
        for (size_t s = 0; s < sizeof perf / sizeof perf[0]; s++) {
            for (int th = 0; th < 2; th++) {
                double g = bench(false, perf[s][3], perf[s][0], perf[s][1], perf[s][2], th ? p2 : NULL);
                printf("%-8s M=%-5lld N=%-5lld K=%-5lld transB=%d threads=%d  %7.1f GFLOP/s\n", archs[a],
                       (long long)perf[s][0], (long long)perf[s][1], (long long)perf[s][2], (int)perf[s][3], th + 1,
                       g);
            }
        }
    }
    nni_pool_free(p2);
    return 0;
}
