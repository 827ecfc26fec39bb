/*
 * gemm.c — nn's SGEMM at the shapes of ResNet-50's convolutions (batch 1):
 * GFLOP/s and percent of the FMA peak per shape, for C = W * X as a 1x1
 * convolution calls it (A = weights M x K, B = activations K x N) and with
 * B pre-packed (as im2col writes it). One thread is timed in thread CPU
 * time (so other load on a shared machine does not lower it); two threads
 * in wall time, best of several runs.
 *
 * Built with -DNN_BENCH_OPENBLAS (bench/gemm_blas.sh) it also times
 * OpenBLAS's cblas_sgemm on the same operands, the same way, and prints the
 * time ratio nn/OpenBLAS: the measurement behind nn keeping its own SGEMM.
 *
 * Build (after a Release build in build/):
 *   cc -O2 -Ilib -Iinclude bench/gemm.c build/lib/libnn.a -lpthread -lm -o build/bench_gemm
 * Run: build/bench_gemm [--peak GFLOPS_PER_CORE] [M N K]...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/sgemm.h"

#ifdef NN_BENCH_OPENBLAS
#include <cblas.h>
extern void openblas_set_num_threads(int);
#endif

static double now(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    int64_t M, N, K;
    const char *what;
} shape;

static const shape g_shapes[] = {
    {64, 3136, 64, "l1 conv1 (first)"},   {64, 3136, 256, "l1 conv1"},       {256, 3136, 64, "l1 conv3/ds"},
    {128, 3136, 256, "l2.0 conv1"},       {128, 784, 1152, "l2.0 conv2 s2"}, {512, 784, 128, "l2 conv3"},
    {128, 784, 512, "l2 conv1"},          {512, 784, 256, "l2.0 ds s2"},     {256, 784, 512, "l3.0 conv1"},
    {256, 196, 2304, "l3.0 conv2 s2"},    {1024, 196, 256, "l3 conv3"},      {256, 196, 1024, "l3 conv1"},
    {512, 196, 1024, "l4.0 conv1"},       {512, 49, 4608, "l4.0 conv2 s2"},  {2048, 49, 512, "l4 conv3"},
    {512, 49, 2048, "l4 conv1"},          {196, 64, 64, "wino l1 (x36)"},    {49, 128, 128, "wino l2 (x36)"},
    {16, 256, 256, "wino l3 (x36)"},
};

static void fill(float *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (float)((seed >> 9) & 0xffff) / 65536.0f - 0.5f;
    }
}

enum { NN_PLAIN, NN_PACKED, OPENBLAS };

/* Best seconds per call over 7 timed batches. */
static double time_gemm(const shape *s, int how, nni_pool *pool, int threads, const float *A, const float *B,
                        const float *Bp, float *C, void *ws)
{
    const double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    int iters = (int)(2e8 / flop) + 1;
    clockid_t clk = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC;
    double best = 1e30;
    for (int r = 0; r < 7; r++) {
        double t = now(clk);
        for (int i = 0; i < iters; i++) {
            if (how == NN_PACKED)
                nni_sgemm_packed_ws(false, s->M, s->N, s->K, 1.0f, A, s->K, Bp, 0.0f, C, s->N, ws, pool);
            else if (how == NN_PLAIN)
                nni_sgemm_ws(false, false, s->M, s->N, s->K, 1.0f, A, s->K, B, s->N, 0.0f, C, s->N, ws, pool);
#ifdef NN_BENCH_OPENBLAS
            else
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)s->M, (int)s->N, (int)s->K, 1.0f, A,
                            (int)s->K, B, (int)s->N, 0.0f, C, (int)s->N);
#endif
        }
        t = (now(clk) - t) / iters;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    double peak = 117.0;
    shape custom[64];
    int ncustom = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--peak") == 0 && i + 1 < argc)
            peak = atof(argv[++i]);
        else if (i + 2 < argc && ncustom < 64) {
            custom[ncustom++] = (shape){atoll(argv[i]), atoll(argv[i + 1]), atoll(argv[i + 2]), "custom"};
            i += 2;
        }
    }
    const shape *shapes = ncustom ? custom : g_shapes;
    int n = ncustom ? ncustom : (int)(sizeof(g_shapes) / sizeof(g_shapes[0]));
    nni_pool *pool = NULL;
    if (nni_pool_create(2, &pool) != NN_OK)
        return 1;
    printf("arch %s, peak %.1f GFLOP/s per core\n", nni_sgemm_arch(), peak);
    printf("%-18s %5s %5s %5s | %8s %5s | %8s %5s | %8s %5s", "shape", "M", "N", "K", "1t", "%pk", "1t pack", "%pk",
           "2t", "%pk");
#ifdef NN_BENCH_OPENBLAS
    printf(" | %8s %5s | %8s %5s", "blas 1t", "nn/bl", "blas 2t", "nn/bl");
#endif
    printf("\n");
    double tot_flop = 0, tot_t1 = 0, tot_t2 = 0;
    for (int i = 0; i < n; i++) {
        const shape *s = &shapes[i];
        const int64_t nr = nni_sgemm_nr();
        size_t na = (size_t)(s->M * s->K), nb = (size_t)(s->K * s->N), nc = (size_t)(s->M * s->N);
        size_t nbp = (size_t)(s->K * ((s->N + nr - 1) / nr * nr));
        float *A = nni_malloc_aligned(na * 4), *B = nni_malloc_aligned(nb * 4), *C = nni_malloc_aligned(nc * 4);
        float *Bp = nni_malloc_aligned(nbp * 4);
        size_t wsb = nni_sgemm_workspace(s->M, s->N, s->K, 2), wsp = nni_sgemm_packed_workspace(s->M, s->N, s->K, 2);
        void *ws = nni_malloc_aligned(wsb > wsp ? wsb : wsp);
        if (!A || !B || !C || !Bp || !ws)
            return 1;
        fill(A, na, 1);
        fill(B, nb, 2);
        nni_sgemm_pack_b(s->N, s->K, B, s->N, Bp);
        const double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
        double t1 = time_gemm(s, NN_PLAIN, NULL, 1, A, B, Bp, C, ws);
        double tp = time_gemm(s, NN_PACKED, NULL, 1, A, B, Bp, C, ws);
        double t2 = time_gemm(s, NN_PLAIN, pool, 2, A, B, Bp, C, ws);
        double g1 = flop / t1 / 1e9, gp = flop / tp / 1e9, g2 = flop / t2 / 1e9;
        printf("%-18s %5lld %5lld %5lld | %8.1f %4.0f%% | %8.1f %4.0f%% | %8.1f %4.0f%%", s->what, (long long)s->M,
               (long long)s->N, (long long)s->K, g1, 100 * g1 / peak, gp, 100 * gp / peak, g2,
               100 * g2 / (2 * peak));
#ifdef NN_BENCH_OPENBLAS
        openblas_set_num_threads(1);
        double b1 = time_gemm(s, OPENBLAS, NULL, 1, A, B, Bp, C, ws);
        openblas_set_num_threads(2);
        double b2 = time_gemm(s, OPENBLAS, NULL, 2, A, B, Bp, C, ws);
        printf(" | %8.1f %5.2f | %8.1f %5.2f", flop / b1 / 1e9, t1 / b1, flop / b2 / 1e9, t2 / b2);
#endif
        printf("\n");
        tot_flop += flop;
        tot_t1 += t1;
        tot_t2 += t2;
        nni_free_aligned(A);
        nni_free_aligned(B);
        nni_free_aligned(C);
        nni_free_aligned(Bp);
        nni_free_aligned(ws);
    }
    printf("all shapes once: 1t %.1f GFLOP/s (%.0f%%), 2t %.1f GFLOP/s (%.0f%% of 2 cores)\n", tot_flop / tot_t1 / 1e9,
           100 * tot_flop / tot_t1 / 1e9 / peak, tot_flop / tot_t2 / 1e9, 100 * tot_flop / tot_t2 / 1e9 / (2 * peak));
    nni_pool_free(pool);
    return 0;
}
