/* pool.c — pooling: MaxPool, AveragePool, LpPool and their Global forms. */
#include <math.h>
#include <string.h>

#include "kernels/pooling.h"
#include "ops/op.h"
#include "ops/resolve.h"

enum { POOL_MAX, POOL_AVG, POOL_LP };
enum { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

/* Largest window/stride/dilation/pad value accepted: keeps every geometry
 * product of two attribute values far from int64 overflow. */
#define ATTR_MAX INT32_MAX

typedef struct {
    int kind;
    int32_t rank; /* spatial dims from kernel_shape */
    int64_t kernel[NNI_POOLING_MAX_RANK];
    int64_t stride[NNI_POOLING_MAX_RANK];
    int64_t dilation[NNI_POOLING_MAX_RANK];
    int64_t pads[2 * NNI_POOLING_MAX_RANK]; /* begins then ends */
    int auto_pad;
    bool ceil_mode, include_pad, col_major;
    float p;
} pool_state;

/* ---- attributes ---- */

/* An ints attribute of exactly `want` values in [lo, ATTR_MAX], or `def` everywhere. */
static nn_status ints_attr(const nni_node *n, const char *name, size_t want, int64_t def, int64_t lo, int64_t *dst)
{
    const int64_t *v;
    size_t count;
    nn_status st = nni_attr_ints(n, name, &v, &count);
    if (st != NN_OK)
        return st;
    if (!v) {
        for (size_t i = 0; i < want; i++)
            dst[i] = def;
        return NN_OK;
    }
    if (count != want)
        return nni_error(NN_E_INVALID_MODEL, "attribute '%s' has %zu values, expected %zu", name, count, want);
    for (size_t i = 0; i < want; i++) {
        if (v[i] < lo || v[i] > ATTR_MAX)
            return nni_error(NN_E_INVALID_MODEL, "attribute '%s' value %lld is out of range", name, (long long)v[i]);
        dst[i] = v[i];
    }
    return NN_OK;
}

static nn_status flag_attr(const nni_node *n, const char *name, bool *out)
{
    int64_t v;
    nn_status st = nni_attr_int(n, name, 0, &v);
    if (st != NN_OK)
        return st;
    if (v != 0 && v != 1)
        return nni_error(NN_E_INVALID_MODEL, "attribute '%s' must be 0 or 1, not %lld", name, (long long)v);
    *out = v != 0;
    return NN_OK;
}

/* LpPool's p: a float at opset 1, an int since opset 2; accept either. */
static nn_status p_attr(const nni_node *n, float *p)
{
    const nni_attr *a = nni_node_attr(n, "p");
    *p = 2.0f;
    if (a && a->type == NNI_ATTR_INT)
        *p = (float)a->i;
    else if (a && a->type == NNI_ATTR_FLOAT)
        *p = a->f;
    else if (a)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'p' must be a number");
    if (!(*p > 0.0f) || !isfinite(*p))
        return nni_error(NN_E_INVALID_MODEL, "attribute 'p' must be positive, not %g", (double)*p);
    return NN_OK;
}

static nn_status pool_prepare(nni_opctx *c, int kind)
{
    pool_state *s = c->state;
    const nni_node *n = c->node;
    s->kind = kind;
    const int64_t *ks;
    size_t rank;
    nn_status st = nni_attr_ints(n, "kernel_shape", &ks, &rank);
    if (st != NN_OK)
        return st;
    if (!ks || rank == 0)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'kernel_shape' is required");
    if (rank > NNI_POOLING_MAX_RANK)
        return nni_error(NN_E_UNSUPPORTED, "attribute 'kernel_shape' has %zu dims, at most %d are supported", rank,
                         NNI_POOLING_MAX_RANK);
    s->rank = (int32_t)rank;
    if ((st = ints_attr(n, "kernel_shape", rank, 1, 1, s->kernel)) != NN_OK ||
        (st = ints_attr(n, "strides", rank, 1, 1, s->stride)) != NN_OK ||
        (st = ints_attr(n, "dilations", rank, 1, 1, s->dilation)) != NN_OK ||
        (st = ints_attr(n, "pads", 2 * rank, 0, 0, s->pads)) != NN_OK)
        return st;

    const char *ap;
    if ((st = nni_attr_string(n, "auto_pad", "NOTSET", &ap)) != NN_OK)
        return st;
    if (strcmp(ap, "NOTSET") == 0 || ap[0] == '\0')
        s->auto_pad = PAD_NOTSET;
    else if (strcmp(ap, "SAME_UPPER") == 0)
        s->auto_pad = PAD_SAME_UPPER;
    else if (strcmp(ap, "SAME_LOWER") == 0)
        s->auto_pad = PAD_SAME_LOWER;
    else if (strcmp(ap, "VALID") == 0)
        s->auto_pad = PAD_VALID;
    else
        return nni_error(NN_E_INVALID_MODEL, "attribute 'auto_pad' has unknown value '%s'", ap);

    if ((st = flag_attr(n, "ceil_mode", &s->ceil_mode)) != NN_OK)
        return st;
    if (kind == POOL_AVG && (st = flag_attr(n, "count_include_pad", &s->include_pad)) != NN_OK)
        return st;
    if (kind == POOL_MAX && (st = flag_attr(n, "storage_order", &s->col_major)) != NN_OK)
        return st;
    if (kind == POOL_LP && (st = p_attr(n, &s->p)) != NN_OK)
        return st;
    return NN_OK;
}

static nn_status maxpool_prepare(nni_opctx *c) { return pool_prepare(c, POOL_MAX); }
static nn_status avgpool_prepare(nni_opctx *c) { return pool_prepare(c, POOL_AVG); }
static nn_status lppool_prepare(nni_opctx *c) { return pool_prepare(c, POOL_LP); }

/* ---- geometry ---- */

/* The plane geometry and the output shape for input x. */
static nn_status pool_geometry(const pool_state *s, const nn_tensor *x, nni_pooling_geom *g, int64_t *out_dims)
{
    if (x->rank != s->rank + 2) {
        char buf[96];
        return nni_error(NN_E_SHAPE, "input shape %s does not fit a %d-D kernel (expected rank %d)",
                         nni_shape_str(x->rank, x->dims, buf, sizeof buf), (int)s->rank, (int)s->rank + 2);
    }
    memset(g, 0, sizeof *g);
    g->rank = s->rank;
    out_dims[0] = x->dims[0];
    out_dims[1] = x->dims[1];
    g->in_size = g->out_size = 1;
    for (int32_t d = 0; d < s->rank; d++) {
        const int64_t in = x->dims[d + 2], k = s->kernel[d], st = s->stride[d];
        const int64_t span = (k - 1) * s->dilation[d] + 1; /* both <= INT32_MAX: no overflow */
        int64_t pb = s->pads[d], pe = s->pads[d + s->rank], out;
        if (s->auto_pad == PAD_SAME_UPPER || s->auto_pad == PAD_SAME_LOWER) {
            out = in / st + (in % st != 0);
            int64_t total;
            if (out == 0)
                total = 0;
            else if (nni_mul_overflow_i64(out - 1, st, &total) || nni_add_overflow_i64(total, span - in, &total))
                return nni_error(NN_E_LIMIT, "padding of spatial dim %d overflows", (int)d);
            if (total < 0)
                total = 0;
            pb = s->auto_pad == PAD_SAME_UPPER ? total / 2 : total - total / 2;
            pe = total - pb;
        } else {
            if (s->auto_pad == PAD_VALID)
                pb = pe = 0;
            int64_t padded;
            if (nni_add_overflow_i64(in, pb + pe, &padded))
                return nni_error(NN_E_LIMIT, "padded input size overflows");
            if (padded < span)
                return nni_error(NN_E_SHAPE, "window of %lld exceeds the padded input (%lld) in spatial dim %d",
                                 (long long)span, (long long)padded, (int)d);
            const int64_t num = padded - span;
            out = (s->ceil_mode ? num / st + (num % st != 0) : num / st) + 1;
            /* ceil_mode: a window may not start in the end padding */
            if (s->ceil_mode && (out - 1) * st >= in + pb)
                out--;
        }
        g->in[d] = in;
        g->out[d] = out;
        g->kernel[d] = k;
        g->stride[d] = st;
        g->dilation[d] = s->dilation[d];
        g->pad_begin[d] = pb;
        g->pad_end[d] = pe;
        g->in_size *= in; /* bounded by the tensor's own element count */
        g->out_size *= out;
        out_dims[d + 2] = out;
    }
    return NN_OK;
}

static nn_status check_float(const nn_tensor *x, bool allow_int8)
{
    switch (x->dtype) {
    case NN_DTYPE_FLOAT32:
    case NN_DTYPE_FLOAT64:
        return NN_OK;
    case NN_DTYPE_UINT8:
    case NN_DTYPE_INT8:
        if (allow_int8)
            return NN_OK;
        break;
    case NN_DTYPE_FLOAT16:
        return nni_error(NN_E_UNSUPPORTED, "float16 input is not supported");
    default:
        break;
    }
    return nni_error(NN_E_TYPE, "input type %s is not supported", nn_dtype_name(x->dtype));
}

static nn_status pool_infer(nni_opctx *c)
{
    const pool_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_status st = check_float(x, s->kind == POOL_MAX);
    if (st != NN_OK)
        return st;
    if (s->kind != POOL_MAX && x->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "input type %s is not supported", nn_dtype_name(x->dtype));
    nni_pooling_geom g;
    int64_t dims[NN_MAX_RANK];
    if ((st = pool_geometry(s, x, &g, dims)) != NN_OK)
        return st;
    if ((st = nni_out_shape(c, 0, x->dtype, x->rank, dims)) != NN_OK)
        return st;
    if (s->kind == POOL_MAX)
        st = nni_out_shape(c, 1, NN_DTYPE_INT64, x->rank, dims);
    return st;
}

/* ---- run ---- */

typedef struct {
    const pool_state *s;
    nni_pooling_geom g;
    nn_dtype dtype;
    const void *x;
    void *y;
    int64_t *idx;
    const float *recips;
    char *ws; /* per-thread row buffers of the 2-D path (NULL: general path) */
    size_t ws_each;
} pool_job;

static void pool_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const pool_job *j = arg;
    const nni_pooling_geom *g = &j->g;
    if (j->ws) {
        void *row = j->ws + (size_t)tid * j->ws_each;
        for (int64_t pl = begin; pl < end; pl++) {
            const float *x = (const float *)j->x + pl * g->in_size;
            float *y = (float *)j->y + pl * g->out_size;
            if (j->s->kind == POOL_MAX)
                nni_pooling2d_max_f32(g, x, y, row);
            else
                nni_pooling2d_avg_f32(g, x, y, j->recips, row);
        }
        return;
    }
    for (int64_t pl = begin; pl < end; pl++) {
        const int64_t xo = pl * g->in_size, yo = pl * g->out_size;
        int64_t *idx = j->idx ? j->idx + yo : NULL;
        switch (j->s->kind) {
        case POOL_AVG:
            nni_pooling_avg_f32(g, (const float *)j->x + xo, (float *)j->y + yo, j->recips);
            break;
        case POOL_LP:
            nni_pooling_lp_f32(g, (const float *)j->x + xo, (float *)j->y + yo, j->s->p);
            break;
        default:
            switch (j->dtype) {
            case NN_DTYPE_FLOAT64:
                nni_pooling_max_f64(g, (const double *)j->x + xo, (double *)j->y + yo, idx, xo, j->s->col_major);
                break;
            case NN_DTYPE_UINT8:
                nni_pooling_max_u8(g, (const uint8_t *)j->x + xo, (uint8_t *)j->y + yo, idx, xo, j->s->col_major);
                break;
            case NN_DTYPE_INT8:
                nni_pooling_max_i8(g, (const int8_t *)j->x + xo, (int8_t *)j->y + yo, idx, xo, j->s->col_major);
                break;
            default:
                nni_pooling_max_f32(g, (const float *)j->x + xo, (float *)j->y + yo, idx, xo, j->s->col_major);
                break;
            }
            break;
        }
    }
}

static int64_t kernel_taps(const pool_state *s)
{
    int64_t t = 1;
    for (int32_t d = 0; d < s->rank; d++)
        if (nni_mul_overflow_i64(t, s->kernel[d], &t))
            return INT64_MAX; /* only a work estimate */
    return t;
}

static nn_status pool_run(nni_opctx *c)
{
    const pool_state *s = c->state;
    const nn_tensor *x = c->in[0];
    pool_job j = {.s = s, .dtype = x->dtype, .x = x->data, .y = c->out[0]->data};
    int64_t dims[NN_MAX_RANK];
    nn_status st = pool_geometry(s, x, &j.g, dims);
    if (st != NN_OK)
        return st;
    const int64_t planes = x->dims[0] * x->dims[1];
    if (planes == 0 || j.g.out_size == 0)
        return NN_OK;
    if (s->kind == POOL_MAX && c->n_out > 1 && c->out[1])
        j.idx = c->out[1]->data;
    /* float max without indices, and average: the 2-D path */
    bool fast = j.dtype == NN_DTYPE_FLOAT32 && !j.idx && s->kind != POOL_LP && nni_pooling2d_ok(&j.g);
    size_t rbytes = s->kind == POOL_AVG ? (nni_pooling_divisor_count(&j.g) * sizeof(float) + 63) & ~(size_t)63 : 0;
    int32_t threads = nni_pool_threads(c->pool);
    if (fast)
        j.ws_each = nni_pooling2d_workspace(&j.g);
    if (rbytes || fast) {
        char *buf = c->scratch(c, rbytes + j.ws_each * (size_t)threads);
        if (!buf)
            return nni_error(NN_E_NOMEM, "cannot allocate pooling scratch");
        if (fast)
            j.ws = buf + rbytes;
        if (rbytes) {
            nni_pooling_divisors(&j.g, s->include_pad, (float *)buf);
            j.recips = (const float *)buf;
        }
    }
    int64_t work;
    if (nni_mul_overflow_i64(j.g.out_size, kernel_taps(s), &work))
        work = INT64_MAX;
    const int64_t grain = work >= 32768 ? 1 : 32768 / work;
    nni_parallel_for(c->pool, planes, grain, pool_task, &j);
    return NN_OK;
}

static uint64_t pool_macs(const nni_opctx *c)
{
    if (!c->out[0])
        return 0;
    return (uint64_t)nni_tensor_count(c->out[0]) * (uint64_t)kernel_taps(c->state);
}

const nni_op_desc nni_op_maxpool = {
    .name = "MaxPool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 2,
    .state_size = sizeof(pool_state),
    .prepare = maxpool_prepare, .infer = pool_infer, .run = pool_run, .macs = pool_macs,
};

const nni_op_desc nni_op_averagepool = {
    .name = "AveragePool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(pool_state),
    .prepare = avgpool_prepare, .infer = pool_infer, .run = pool_run, .macs = pool_macs,
};

const nni_op_desc nni_op_lppool = {
    .name = "LpPool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(pool_state),
    .prepare = lppool_prepare, .infer = pool_infer, .run = pool_run, .macs = pool_macs,
};

/* ---- global pools: one output per (n, c) plane ---- */

typedef struct {
    int kind;
    float p;
} global_state;

static nn_status global_prepare(nni_opctx *c, int kind)
{
    global_state *s = c->state;
    s->kind = kind;
    return kind == POOL_LP ? p_attr(c->node, &s->p) : NN_OK;
}

static nn_status gmaxpool_prepare(nni_opctx *c) { return global_prepare(c, POOL_MAX); }
static nn_status gavgpool_prepare(nni_opctx *c) { return global_prepare(c, POOL_AVG); }
static nn_status glppool_prepare(nni_opctx *c) { return global_prepare(c, POOL_LP); }

static nn_status global_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    if (x->dtype != NN_DTYPE_FLOAT32)
        return x->dtype == NN_DTYPE_FLOAT16 || x->dtype == NN_DTYPE_FLOAT64
                   ? nni_error(NN_E_UNSUPPORTED, "input type %s is not supported", nn_dtype_name(x->dtype))
                   : nni_error(NN_E_TYPE, "input type %s is not supported", nn_dtype_name(x->dtype));
    if (x->rank < 2)
        return nni_error(NN_E_SHAPE, "input must have rank >= 2 (N, C, ...), not %d", (int)x->rank);
    int64_t dims[NN_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (int32_t d = 2; d < x->rank; d++)
        dims[d] = 1;
    return nni_out_shape(c, 0, x->dtype, x->rank, dims);
}

typedef struct {
    const global_state *s;
    const float *x;
    float *y;
    int64_t size;
} global_job;

static void global_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const global_job *j = arg;
    for (int64_t pl = begin; pl < end; pl++) {
        const float *x = j->x + pl * j->size;
        switch (j->s->kind) {
        case POOL_MAX:
            j->y[pl] = nni_pooling_maxval_f32(x, j->size);
            break;
        case POOL_AVG:
            j->y[pl] = nni_pooling_sum_f32(x, j->size) / (float)j->size;
            break;
        default:
            j->y[pl] = nni_pooling_lpnorm_f32(x, j->size, j->s->p);
            break;
        }
    }
}

static nn_status global_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    const int64_t planes = x->dims[0] * x->dims[1];
    global_job j = {.s = c->state, .x = x->data, .y = c->out[0]->data};
    if (planes == 0)
        return NN_OK;
    j.size = nni_tensor_count(x) / planes;
    if (j.size == 0) /* nothing to pool: leave the zeroed output */
        return NN_OK;
    const int64_t grain = j.size >= 16384 ? 1 : 16384 / j.size;
    nni_parallel_for(c->pool, planes, grain, global_task, &j);
    return NN_OK;
}

static uint64_t global_macs(const nni_opctx *c) { return (uint64_t)nni_tensor_count(c->in[0]); }

const nni_op_desc nni_op_globalaveragepool = {
    .name = "GlobalAveragePool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(global_state),
    .prepare = gavgpool_prepare, .infer = global_infer, .run = global_run, .macs = global_macs,
};

const nni_op_desc nni_op_globallppool = {
    .name = "GlobalLpPool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(global_state),
    .prepare = glppool_prepare, .infer = global_infer, .run = global_run, .macs = global_macs,
};

const nni_op_desc nni_op_globalmaxpool = {
    .name = "GlobalMaxPool", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(global_state),
    .prepare = gmaxpool_prepare, .infer = global_infer, .run = global_run, .macs = global_macs,
};

nn_status nni_pool_resolve(const nni_opctx *c, nni_pooling_geom *g, bool *include_pad)
{
    const pool_state *s = c->state;
    int64_t dims[NN_MAX_RANK];
    *include_pad = s->include_pad;
    return pool_geometry(s, c->in[0], g, dims);
}
