/*
 * peak.c — the machine's FP32 FMA peak per core: independent chains of
 * 512-bit (or 256-bit) fused multiply-adds, long enough to hide latency.
 * Prints `peak_gflops_avx512: X` and `peak_gflops_avx2: X` (one thread).
 * Timed in thread CPU time, so other load on a shared machine does not
 * lower it; the chains are unrolled (pragma) so that -O2 keeps
 * every accumulator in a register.
 */
#include <immintrin.h>
#include <stdio.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#define CHAINS 12

__attribute__((target("avx512f"))) static double run512(long iters)
{
    __m512 acc[CHAINS];
    __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm512_set1_ps((float)i);
    double t = now();
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    t = now() - t;
    float sink = 0;
    for (int i = 0; i < CHAINS; i++)
        sink += _mm512_reduce_add_ps(acc[i]);
    if (sink == 12345.f)
        printf("#");
    return (double)iters * CHAINS * 16 * 2 / t / 1e9;
}

__attribute__((target("avx2,fma"))) static double run256(long iters)
{
    __m256 acc[CHAINS];
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++)
        acc[i] = _mm256_set1_ps((float)i);
    double t = now();
    for (long it = 0; it < iters; it++)
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS; i++)
            acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    t = now() - t;
    float buf[8], sink = 0;
    for (int i = 0; i < CHAINS; i++) {
        _mm256_storeu_ps(buf, acc[i]);
        for (int k = 0; k < 8; k++)
            sink += buf[k];
    }
    if (sink == 12345.f)
        printf("#");
    return (double)iters * CHAINS * 8 * 2 / t / 1e9;
}

int main(void)
{
    __builtin_cpu_init();
    double best512 = 0, best256 = 0;
    for (int rep = 0; rep < 5; rep++) {
        if (__builtin_cpu_supports("avx512f")) {
            double g = run512(20000000);
            best512 = g > best512 ? g : best512;
        }
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            double g = run256(20000000);
            best256 = g > best256 ? g : best256;
        }
    }
    printf("peak_gflops_avx512: %.1f\n", best512);
    printf("peak_gflops_avx2: %.1f\n", best256);
    return 0;
}
