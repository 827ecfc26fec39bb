/*
 * normalization.c — statistics-based normalizations: InstanceNormalization,
 * LayerNormalization, LpNormalization and MeanVarianceNormalization.
 */
#include <math.h>
#include <string.h>

#include "kernels/norm.h"
#include "ops/op.h"

static nn_status require_f32(const nni_opctx *c, int32_t i, const char *name)
{
    if (!nni_has_in(c, i))
        return nni_error(NN_E_INVALID_MODEL, "input '%s' is missing", name);
    nn_dtype t = c->in[i]->dtype;
    if (t == NN_DTYPE_FLOAT32)
        return NN_OK;
    return nni_error(t == NN_DTYPE_FLOAT16 || t == NN_DTYPE_FLOAT64 ? NN_E_UNSUPPORTED : NN_E_TYPE,
                     "input '%s' is %s, expected float32", name, nn_dtype_name(t));
}

static nn_status epsilon_attr(const nni_node *n, float *eps)
{
    nn_status st = nni_attr_float(n, "epsilon", 1e-5f, eps);
    if (st == NN_OK && (!isfinite(*eps) || *eps < 0.0f))
        return nni_error(NN_E_INVALID_MODEL, "attribute 'epsilon' must be a non-negative number");
    return st;
}

static int64_t prod(const int64_t *dims, int32_t from, int32_t to)
{
    int64_t n = 1;
    for (int32_t d = from; d < to; d++)
        n *= dims[d]; /* a sub-product of a valid tensor's count */
    return n;
}

static int64_t grain_for(int64_t per_item)
{
    return per_item >= 16384 ? 1 : 16384 / (per_item ? per_item : 1);
}

/* ================= InstanceNormalization ================= */

typedef struct {
    float epsilon;
} instnorm_state;

static nn_status instnorm_prepare(nni_opctx *c)
{
    instnorm_state *s = c->state;
    return epsilon_attr(c->node, &s->epsilon);
}

static nn_status instnorm_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    nn_status st;
    if ((st = require_f32(c, 0, "input")) != NN_OK || (st = require_f32(c, 1, "scale")) != NN_OK ||
        (st = require_f32(c, 2, "B")) != NN_OK)
        return st;
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "input must have rank >= 2 (N, C, ...), not %d", (int)x->rank);
    for (int32_t i = 1; i < 3; i++)
        if (nni_tensor_count(c->in[i]) != x->dims[1])
            return nni_error(NN_E_SHAPE, "input %s has %lld values, expected C = %lld", i == 1 ? "'scale'" : "'B'",
                             (long long)nni_tensor_count(c->in[i]), (long long)x->dims[1]);
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

typedef struct {
    const float *x, *scale, *bias;
    float *y;
    int64_t C, S;
    float epsilon;
} instnorm_job;

static void instnorm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const instnorm_job *j = arg;
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t ch = pl % j->C;
        const float *x = j->x + pl * j->S;
        const float mean = (float)(nni_norm_sum_f32(x, j->S) / (double)j->S);
        const double var = nni_norm_sqdev_f32(x, j->S, mean) / (double)j->S;
        const float a = (float)(j->scale[ch] / sqrt(var + j->epsilon));
        nni_norm_affine_f32(x, j->y + pl * j->S, j->S, a, j->bias[ch] - mean * a);
    }
}

static nn_status instnorm_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    const instnorm_state *s = c->state;
    instnorm_job j = {.x = x->data, .scale = c->in[1]->data, .bias = c->in[2]->data, .y = c->out[0]->data,
                      .C = x->dims[1], .S = prod(x->dims, 2, x->rank), .epsilon = s->epsilon};
    const int64_t planes = x->dims[0] * j.C;
    if (planes && j.S)
        nni_parallel_for(c->pool, planes, grain_for(j.S), instnorm_task, &j);
    return NN_OK;
}

static uint64_t count_macs(const nni_opctx *c) { return 2 * (uint64_t)nni_tensor_count(c->in[0]); }

const nni_op_desc nni_op_instancenormalization = {
    .name = "InstanceNormalization", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .state_size = sizeof(instnorm_state),
    .prepare = instnorm_prepare, .infer = instnorm_infer, .run = instnorm_run, .macs = count_macs,
};

/* ================= LayerNormalization (opset 17) ================= */

typedef struct {
    int64_t axis;
    float epsilon;
} layernorm_state;

static nn_status layernorm_prepare(nni_opctx *c)
{
    layernorm_state *s = c->state;
    int64_t stash;
    nn_status st;
    if ((st = nni_attr_int(c->node, "axis", -1, &s->axis)) != NN_OK || (st = epsilon_attr(c->node, &s->epsilon)) != NN_OK ||
        (st = nni_attr_int(c->node, "stash_type", 1, &stash)) != NN_OK)
        return st;
    /* statistics are always kept in float (or better) */
    if (stash != 1 && stash != NN_DTYPE_FLOAT64)
        return nni_error(NN_E_UNSUPPORTED, "attribute 'stash_type' %lld is not supported", (long long)stash);
    return NN_OK;
}

/* Scale/B must broadcast to the normalized dims X[axis:] alone (they are the
 * same for every normalized row). */
static nn_status check_affine_param(const nn_tensor *x, int32_t axis, const nn_tensor *p, const char *name)
{
    int32_t r = p->rank;
    while (r > x->rank - axis && p->dims[p->rank - r] == 1)
        r--; /* leading ones are harmless */
    bool ok = r <= x->rank - axis;
    for (int32_t i = 1; ok && i <= r; i++) {
        int64_t pd = p->dims[p->rank - i], xd = x->dims[x->rank - i];
        ok = pd == xd || pd == 1;
    }
    if (!ok) {
        char pb[96], xb[96];
        return nni_error(NN_E_SHAPE, "input '%s' of shape %s does not broadcast to the normalized dims of X %s (axis %d)",
                         name, nni_shape_str(p->rank, p->dims, pb, sizeof pb),
                         nni_shape_str(x->rank, x->dims, xb, sizeof xb), (int)axis);
    }
    return NN_OK;
}

static nn_status layernorm_infer(nni_opctx *c)
{
    const layernorm_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_status st;
    int32_t axis;
    if ((st = require_f32(c, 0, "X")) != NN_OK || (st = require_f32(c, 1, "Scale")) != NN_OK ||
        (nni_has_in(c, 2) && (st = require_f32(c, 2, "B")) != NN_OK))
        return st;
    if (x->rank < 1)
        return nni_error(NN_E_SHAPE, "input X must have rank >= 1");
    if ((st = nni_norm_axis(s->axis, x->rank, "axis", &axis)) != NN_OK)
        return st;
    if ((st = check_affine_param(x, axis, c->in[1], "Scale")) != NN_OK ||
        (nni_has_in(c, 2) && (st = check_affine_param(x, axis, c->in[2], "B")) != NN_OK))
        return st;
    if ((st = nni_out_shape(c, 0, x->dtype, x->rank, x->dims)) != NN_OK)
        return st;
    int64_t dims[NN_MAX_RANK];
    for (int32_t d = 0; d < x->rank; d++)
        dims[d] = d < axis ? x->dims[d] : 1;
    if ((st = nni_out_shape(c, 1, NN_DTYPE_FLOAT32, x->rank, dims)) != NN_OK)
        return st;
    return nni_out_shape(c, 2, NN_DTYPE_FLOAT32, x->rank, dims);
}

/* Expand a broadcastable Scale/B to the M normalized values (dst), or
 * return its data when it already has them all. */
static const float *expand_param(const nn_tensor *x, int32_t axis, const nn_tensor *p, int64_t M, float *dst)
{
    if (nni_tensor_count(p) == M)
        return p->data;
    const float *src = p->data;
    const int32_t nr = x->rank - axis;
    int64_t pos[NN_MAX_RANK] = {0};
    int64_t pstride[NN_MAX_RANK];
    /* strides of p aligned to the normalized dims; 0 where p broadcasts */
    int64_t st = 1;
    for (int32_t i = 1; i <= nr; i++) {
        const int32_t pd = p->rank - i;
        const int64_t dim = pd >= 0 ? p->dims[pd] : 1;
        pstride[nr - i] = dim == 1 ? 0 : st;
        st *= dim;
    }
    for (int64_t m = 0; m < M; m++) {
        int64_t off = 0;
        for (int32_t d = 0; d < nr; d++)
            off += pos[d] * pstride[d];
        dst[m] = src[off];
        for (int32_t d = nr - 1; d >= 0; d--) {
            if (++pos[d] < x->dims[axis + d])
                break;
            pos[d] = 0;
        }
    }
    return dst;
}

typedef struct {
    const float *x, *scale, *bias;
    float *y, *mean, *inv;
    int64_t M;
    float epsilon;
} layernorm_job;

static void layernorm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const layernorm_job *j = arg;
    for (int64_t r = begin; r < end; r++) {
        const float *x = j->x + r * j->M;
        const float mean = (float)(nni_norm_sum_f32(x, j->M) / (double)j->M);
        const double var = nni_norm_sqdev_f32(x, j->M, mean) / (double)j->M;
        const float inv = (float)(1.0 / sqrt(var + j->epsilon));
        nni_norm_scale_shift_f32(x, j->y + r * j->M, j->M, mean, inv, j->scale, j->bias);
        if (j->mean)
            j->mean[r] = mean;
        if (j->inv)
            j->inv[r] = inv;
    }
}

static nn_status layernorm_run(nni_opctx *c)
{
    const layernorm_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "axis", &axis);
    if (st != NN_OK)
        return st;
    const int64_t rows = prod(x->dims, 0, axis), M = prod(x->dims, axis, x->rank);
    if (rows == 0 || M == 0)
        return NN_OK;
    const bool has_b = nni_has_in(c, 2);
    const bool expand_s = nni_tensor_count(c->in[1]) != M, expand_b = has_b && nni_tensor_count(c->in[2]) != M;
    float *buf = NULL;
    if (expand_s || expand_b) {
        size_t n;
        if (nni_mul_overflow_size((size_t)M, 2 * sizeof(float), &n) || !(buf = c->scratch(c, n)))
            return nni_error(NN_E_NOMEM, "cannot allocate LayerNormalization scratch");
    }
    layernorm_job j = {
        .x = x->data, .y = c->out[0]->data, .M = M, .epsilon = s->epsilon,
        .mean = c->n_out > 1 && c->out[1] ? c->out[1]->data : NULL,
        .inv = c->n_out > 2 && c->out[2] ? c->out[2]->data : NULL,
    };
    j.scale = expand_param(x, axis, c->in[1], M, buf);
    j.bias = has_b ? expand_param(x, axis, c->in[2], M, buf ? buf + M : NULL) : NULL;
    nni_parallel_for(c->pool, rows, grain_for(M), layernorm_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_layernormalization = {
    .name = "LayerNormalization", .min_in = 2, .max_in = 3, .min_out = 1, .max_out = 3,
    .state_size = sizeof(layernorm_state),
    .prepare = layernorm_prepare, .infer = layernorm_infer, .run = layernorm_run, .macs = count_macs,
};

/* ================= LpNormalization ================= */

typedef struct {
    int64_t axis;
    int p;
} lpnorm_state;

static nn_status lpnorm_prepare(nni_opctx *c)
{
    lpnorm_state *s = c->state;
    int64_t p;
    nn_status st;
    if ((st = nni_attr_int(c->node, "axis", -1, &s->axis)) != NN_OK || (st = nni_attr_int(c->node, "p", 2, &p)) != NN_OK)
        return st;
    if (p != 1 && p != 2)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'p' must be 1 or 2, not %lld", (long long)p);
    s->p = (int)p;
    return NN_OK;
}

static nn_status lpnorm_infer(nni_opctx *c)
{
    const lpnorm_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = require_f32(c, 0, "input");
    if (st == NN_OK)
        st = nni_norm_axis(s->axis, x->rank, "axis", &axis);
    if (st == NN_OK && x->rank < 1)
        st = nni_error(NN_E_SHAPE, "input must have rank >= 1");
    return st != NN_OK ? st : nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

typedef struct {
    const float *x;
    float *y;
    int64_t L, inner;
    int p;
} lpnorm_job;

static void lpnorm_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const lpnorm_job *j = arg;
    const int64_t L = j->L, in = j->inner;
    for (int64_t o = begin; o < end; o++) {
        const float *x = j->x + o * L * in;
        float *y = j->y + o * L * in;
        if (in == 1) {
            double s = nni_norm_sumpow_f32(x, L, j->p);
            double n = j->p == 2 ? sqrt(s) : s;
            nni_norm_affine_f32(x, y, L, n > 0 ? (float)(1.0 / n) : 0.0f, 0.0f);
            continue;
        }
        /* norms of all `in` columns at once, accumulated in y's first row */
        float *acc = y;
        for (int64_t i = 0; i < in; i++)
            acc[i] = 0.0f;
        for (int64_t a = 0; a < L; a++) {
            const float *xr = x + a * in;
            if (j->p == 2)
                for (int64_t i = 0; i < in; i++)
                    acc[i] += xr[i] * xr[i];
            else
                for (int64_t i = 0; i < in; i++)
                    acc[i] += fabsf(xr[i]);
        }
        for (int64_t i = 0; i < in; i++) {
            float n = j->p == 2 ? sqrtf(acc[i]) : acc[i];
            acc[i] = n > 0.0f ? 1.0f / n : 0.0f;
        }
        for (int64_t a = L - 1; a >= 0; a--) /* row 0 last: it holds the factors */
            for (int64_t i = 0; i < in; i++)
                y[a * in + i] = x[a * in + i] * acc[i];
    }
}

static nn_status lpnorm_run(nni_opctx *c)
{
    const lpnorm_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int32_t axis;
    nn_status st = nni_norm_axis(s->axis, x->rank, "axis", &axis);
    if (st != NN_OK)
        return st;
    lpnorm_job j = {.x = x->data, .y = c->out[0]->data, .L = x->dims[axis], .inner = prod(x->dims, axis + 1, x->rank),
                    .p = s->p};
    const int64_t outer = prod(x->dims, 0, axis);
    if (outer && j.L && j.inner)
        nni_parallel_for(c->pool, outer, grain_for(j.L * j.inner), lpnorm_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_lpnormalization = {
    .name = "LpNormalization", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(lpnorm_state),
    .prepare = lpnorm_prepare, .infer = lpnorm_infer, .run = lpnorm_run, .macs = count_macs,
};

/* ================= MeanVarianceNormalization ================= */

/* y = (x - mean) / (sqrt(var) + 1e-9) over `axes`, as ONNX's function body. */
#define MVN_EPSILON 1e-9

typedef struct {
    int64_t axes[NN_MAX_RANK];
    int32_t n_axes;
} mvn_state;

static nn_status mvn_prepare(nni_opctx *c)
{
    mvn_state *s = c->state;
    const int64_t *axes;
    size_t n;
    nn_status st = nni_attr_ints(c->node, "axes", &axes, &n);
    if (st != NN_OK)
        return st;
    if (!axes) {
        static const int64_t def[] = {0, 2, 3};
        axes = def;
        n = 3;
    }
    if (n > NN_MAX_RANK)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'axes' has %zu values, more than the rank allows", n);
    memcpy(s->axes, axes, n * sizeof *axes);
    s->n_axes = (int32_t)n;
    return NN_OK;
}

/* Which dims are reduced; error on out-of-range or repeated axes. */
static nn_status mvn_mask(const mvn_state *s, int32_t rank, bool *reduced)
{
    for (int32_t d = 0; d < NN_MAX_RANK; d++)
        reduced[d] = false; /* all: a scalar (rank 0) takes axis 0 */
    for (int32_t i = 0; i < s->n_axes; i++) {
        int32_t a;
        nn_status st = nni_norm_axis(s->axes[i], rank, "attribute 'axes' value", &a);
        if (st != NN_OK)
            return st;
        if (reduced[a])
            return nni_error(NN_E_INVALID_MODEL, "attribute 'axes' repeats axis %d", (int)a);
        reduced[a] = true;
    }
    return NN_OK;
}

static nn_status mvn_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool reduced[NN_MAX_RANK];
    nn_status st = require_f32(c, 0, "X");
    if (st == NN_OK)
        st = mvn_mask(c->state, x->rank, reduced);
    return st != NN_OK ? st : nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

/*
 * The reduced elements of one kept position are runs of `run` contiguous
 * values (the trailing reduced dims) at the offsets `roff[0..n_runs)` from
 * the kept position's base offset.
 */
typedef struct {
    const float *x;
    float *y;
    const int64_t *roff;
    int64_t n_runs, run;
    int32_t n_kept;
    int64_t kdims[NN_MAX_RANK], kstride[NN_MAX_RANK]; /* kept dims and their element strides */
} mvn_job;

static void mvn_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const mvn_job *j = arg;
    const double count = (double)j->n_runs * (double)j->run;
    for (int64_t k = begin; k < end; k++) {
        int64_t base = 0, rem = k;
        for (int32_t d = j->n_kept - 1; d >= 0; d--) {
            base += (rem % j->kdims[d]) * j->kstride[d];
            rem /= j->kdims[d];
        }
        double sum = 0.0, sq = 0.0;
        for (int64_t r = 0; r < j->n_runs; r++)
            sum += nni_norm_sum_f32(j->x + base + j->roff[r], j->run);
        const float mean = (float)(sum / count);
        for (int64_t r = 0; r < j->n_runs; r++)
            sq += nni_norm_sqdev_f32(j->x + base + j->roff[r], j->run, mean);
        const float inv = (float)(1.0 / (sqrt(sq / count) + MVN_EPSILON));
        for (int64_t r = 0; r < j->n_runs; r++)
            nni_norm_affine_f32(j->x + base + j->roff[r], j->y + base + j->roff[r], j->run, inv, -mean * inv);
    }
}

static nn_status mvn_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    bool reduced[NN_MAX_RANK];
    nn_status st = mvn_mask(c->state, x->rank, reduced);
    if (st != NN_OK)
        return st;
    if (nni_tensor_count(x) == 0)
        return NN_OK;
    int64_t stride[NN_MAX_RANK], size = 1;
    for (int32_t d = x->rank - 1; d >= 0; d--) {
        stride[d] = size;
        size *= x->dims[d];
    }
    mvn_job j = {.x = x->data, .y = c->out[0]->data, .run = 1, .n_runs = 1};
    int32_t d = x->rank - 1;
    for (; d >= 0 && reduced[d]; d--)
        j.run *= x->dims[d];
    const int32_t run_from = d + 1; /* dims [run_from, rank) form the contiguous run */
    int64_t kept = 1;
    for (int32_t e = 0; e < run_from; e++) {
        if (reduced[e]) {
            j.n_runs *= x->dims[e];
        } else {
            j.kdims[j.n_kept] = x->dims[e];
            j.kstride[j.n_kept++] = stride[e];
            kept *= x->dims[e];
        }
    }
    int64_t *roff = c->scratch(c, (size_t)j.n_runs * sizeof(int64_t));
    if (!roff)
        return nni_error(NN_E_NOMEM, "cannot allocate MeanVarianceNormalization scratch");
    for (int64_t r = 0; r < j.n_runs; r++) {
        int64_t off = 0, rem = r;
        for (int32_t e = run_from - 1; e >= 0; e--)
            if (reduced[e]) {
                off += (rem % x->dims[e]) * stride[e];
                rem /= x->dims[e];
            }
        roff[r] = off;
    }
    j.roff = roff;
    nni_parallel_for(c->pool, kept, grain_for(j.n_runs * j.run), mvn_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_meanvariancenormalization = {
    .name = "MeanVarianceNormalization", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(mvn_state),
    .prepare = mvn_prepare, .infer = mvn_infer, .run = mvn_run, .macs = count_macs,
};
