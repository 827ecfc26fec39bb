/* vmath.c — array forms of the vectorizable float32 functions. */

/* Float compares in selects must not count as trapping, or GCC will not
 * if-convert (and so not vectorize) the clamps and blends. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include "kernels/vmath.h"

void nni_vexp_f32(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = nni_expf(x[i]);
}

void nni_vsigmoid_f32(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = nni_sigmoidf(x[i]);
}

void nni_vtanh_f32(const float *x, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] = nni_tanhf(x[i]);
}
