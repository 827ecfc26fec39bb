/* vmath.c — array forms of the float32 exp, sigmoid and tanh. */
#include "kernels/vmath.h"

#define ARRAY_FN(name, vfn, sfn)                           \
    void name(const float *x, float *y, int64_t n)         \
    {                                                      \
        int64_t i = 0;                                     \
        for (; i + 4 <= n; i += 4)                         \
            nni_v4_store(y + i, vfn(nni_v4_load(x + i)));  \
        for (; i < n; i++)                                 \
            y[i] = sfn(x[i]);                              \
    }

ARRAY_FN(nni_vexp_f32, nni_expv, nni_expf)
ARRAY_FN(nni_vsigmoid_f32, nni_sigmoidv, nni_sigmoidf)
ARRAY_FN(nni_vtanh_f32, nni_tanhv, nni_tanhf)
