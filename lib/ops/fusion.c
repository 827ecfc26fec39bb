/* fusion.c — the epilogue a fused op applies (see ops/fusion.h). */
#include <math.h>
#include <string.h>

#include "ops/fusion.h"

void nni_fusion_epilogue(const nni_opctx *c, const float *bias, int64_t M, float *buf, nni_epilogue *e)
{
    const nni_fusion *f = c->fusion;
    memset(e, 0, sizeof *e);
    e->row_bias = bias;
    if (!f)
        return;
    if (f->bn_scale && buf) {
        /* y = (x + bias - mean) * a + b, a = scale / sqrt(var + eps), in double like BatchNormalization */
        const float *sc = f->bn_scale->data, *bb = f->bn_bias->data, *mean = f->bn_mean->data, *var = f->bn_var->data;
        float *scale = buf, *shift = buf + M;
        for (int64_t m = 0; m < M; m++) {
            double a = (double)sc[m] / sqrt((double)var[m] + (double)f->bn_epsilon);
            scale[m] = (float)a;
            shift[m] = (float)((double)bb[m] + ((bias ? (double)bias[m] : 0.0) - (double)mean[m]) * a);
        }
        e->row_scale = scale;
        e->row_bias = shift;
    }
    e->residual = f->residual ? f->residual->data : NULL;
    e->act = f->act;
    e->alpha = f->act_alpha;
    e->beta = f->act_beta;
}
