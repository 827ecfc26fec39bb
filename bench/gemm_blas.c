/*
 * gemm_blas.c — nn's SGEMM against OpenBLAS's cblas_sgemm on the GEMM shapes
 * of ResNet-50's convolutions at batch 1 (M output channels, N positions,
 * K = input channels x kernel area), 1 and 2 threads, alternating, best of
 * several runs each. This is the measurement behind "hand-written SGEMM, no
 * BLAS dependency" (docs/performance.md). Not a test; build and run with
 *   bench/gemm_blas.sh [BUILD_DIR]
 * (links the static libnn.a for the internal nni_sgemm; needs libopenblas-dev).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/pool.h"
#include "kernels/sgemm.h"

extern void openblas_set_num_threads(int);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    const char *what;
    int M, N, K;
} shape;

static const shape shapes[] = {
    {"conv2 1x1 64<-256 @56x56", 64, 3136, 256},  {"conv2 1x1 256<-64 @56x56", 256, 3136, 64},
    {"conv3 3x3 128 @28x28 (im2col)", 128, 784, 1152}, {"conv3 1x1 512<-128 @28x28", 512, 784, 128},
    {"conv4 3x3 256 @14x14 (im2col)", 256, 196, 2304}, {"conv4 1x1 1024<-256 @14x14", 1024, 196, 256},
    {"conv5 3x3 512 @7x7 (im2col)", 512, 49, 4608},    {"conv5 1x1 2048<-512 @7x7", 2048, 49, 512},
};

static float *rand_buf(size_t n)
{
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

int main(void)
{
    printf("| shape | M | N | K | threads | nn GFLOP/s | OpenBLAS GFLOP/s | nn/OpenBLAS time |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (int threads = 1; threads <= 2; threads++) {
        nni_pool *pool = NULL;
        if (threads > 1 && nni_pool_create(threads, &pool) != NN_OK)
            return 1;
        openblas_set_num_threads(threads);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
            const shape *sh = &shapes[s];
            float *A = rand_buf((size_t)sh->M * sh->K), *B = rand_buf((size_t)sh->K * sh->N);
            float *C1 = rand_buf((size_t)sh->M * sh->N), *C2 = rand_buf((size_t)sh->M * sh->N);
            size_t wsb = nni_sgemm_workspace(sh->M, sh->N, sh->K, threads);
            void *ws = aligned_alloc(64, wsb);
            const double flops = 2.0 * sh->M * sh->N * sh->K;
            double best_nn = 1e9, best_bl = 1e9;
            const int reps = (int)(2e9 / flops) + 3;
            for (int round = 0; round < 5; round++) {
                double t = now();
                for (int r = 0; r < reps; r++)
                    nni_sgemm_ws(false, false, sh->M, sh->N, sh->K, 1.0f, A, sh->K, B, sh->N, 0.0f, C1, sh->N, ws,
                                 pool);
                t = (now() - t) / reps;
                best_nn = t < best_nn ? t : best_nn;
                t = now();
                for (int r = 0; r < reps; r++)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, sh->M, sh->N, sh->K, 1.0f, A, sh->K, B,
                                sh->N, 0.0f, C2, sh->N);
                t = (now() - t) / reps;
                best_bl = t < best_bl ? t : best_bl;
            }
            double maxdiff = 0;
            for (size_t i = 0; i < (size_t)sh->M * sh->N; i++) {
                double d = C1[i] - C2[i];
                d = d < 0 ? -d : d;
                maxdiff = d > maxdiff ? d : maxdiff;
            }
            if (maxdiff > 1e-3) {
                fprintf(stderr, "%s: results differ by %g\n", sh->what, maxdiff);
                return 1;
            }
            printf("| %s | %d | %d | %d | %d | %.1f | %.1f | %.2f |\n", sh->what, sh->M, sh->N, sh->K, threads,
                   flops / best_nn / 1e9, flops / best_bl / 1e9, best_nn / best_bl);
            fflush(stdout);
            free(A);
            free(B);
            free(C1);
            free(C2);
            free(ws);
        }
        nni_pool_free(pool);
    }
    return 0;
}
