/*
 * reduce.c — the Reduce* family (Sum, Mean, Max, Min, Prod, L1, L2, LogSum,
 * LogSumExp, SumSquare) and ArgMax/ArgMin.
 *
 * Axes come from the attribute, or from input 1 for ReduceSum from opset 13
 * and the others from opset 18. The input's dims are coalesced into
 * alternating kept/reduced segments (size-1 dims dropped), and the walk takes
 * one of two shapes: the innermost segment is reduced (each output folds
 * contiguous runs) or kept (each output row accumulates whole rows). Floats
 * accumulate in double, integers in wrapping int64.
 */
#include <math.h>
#include <string.h>

#include "ops/op.h"
#include "ops/resolve.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ, R_ARGMAX, R_ARGMIN };

static const struct {
    const char *name;
    int kind;
    int64_t axes_input_opset; /* opset from which axes is an input */
    bool int_ok;              /* defined on integer inputs */
} kinds[] = {
    {"ReduceSum", R_SUM, 13, true},          {"ReduceMean", R_MEAN, 18, true},
    {"ReduceMax", R_MAX, 18, true},          {"ReduceMin", R_MIN, 18, true},
    {"ReduceProd", R_PROD, 18, true},        {"ReduceL1", R_L1, 18, true},
    {"ReduceL2", R_L2, 18, false},           {"ReduceLogSum", R_LOGSUM, 18, false},
    {"ReduceLogSumExp", R_LOGSUMEXP, 18, false}, {"ReduceSumSquare", R_SUMSQ, 18, true},
    {"ArgMax", R_ARGMAX, 0, true},           {"ArgMin", R_ARGMIN, 0, true},
};

typedef struct {
    int kind;
    bool int_ok, axes_input, keepdims, noop, last_index;
    int32_t n_axes;
    int64_t axes[NN_MAX_RANK];
} red_state;

static nn_status red_prepare(nni_opctx *c)
{
    red_state *s = c->state;
    size_t k = 0;
    while (k < sizeof kinds / sizeof kinds[0] && strcmp(kinds[k].name, c->node->op_type) != 0)
        k++;
    if (k == sizeof kinds / sizeof kinds[0])
        return nni_error(NN_E_INTERNAL, "no reduction kernel for %s", c->node->op_type);
    s->kind = kinds[k].kind;
    s->int_ok = kinds[k].int_ok;
    int64_t keep, noop = 0, last = 0;
    nn_status st;
    if ((st = nni_attr_int(c->node, "keepdims", 1, &keep)) != NN_OK)
        return st;
    s->keepdims = keep != 0;
    if (s->kind == R_ARGMAX || s->kind == R_ARGMIN) {
        int64_t axis;
        if ((st = nni_attr_int(c->node, "axis", 0, &axis)) != NN_OK ||
            (st = nni_attr_int(c->node, "select_last_index", 0, &last)) != NN_OK)
            return st;
        s->last_index = last != 0;
        s->n_axes = 1;
        s->axes[0] = axis;
        return NN_OK;
    }
    s->axes_input = c->opset >= kinds[k].axes_input_opset;
    if (s->axes_input) {
        if ((st = nni_attr_int(c->node, "noop_with_empty_axes", 0, &noop)) != NN_OK)
            return st;
        s->noop = noop != 0;
        return NN_OK;
    }
    const int64_t *axes;
    size_t n;
    if ((st = nni_attr_ints(c->node, "axes", &axes, &n)) != NN_OK)
        return st;
    if (n > NN_MAX_RANK)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'axes' has %zu entries, more than the %d dims a tensor may have", n,
                         NN_MAX_RANK);
    s->n_axes = (int32_t)n;
    if (n)
        memcpy(s->axes, axes, n * sizeof *axes);
    return NN_OK;
}

/* Which dims are reduced; *identity when empty axes mean "do nothing". */
static nn_status red_axes(const nni_opctx *c, bool *red, bool *identity)
{
    const red_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t buf[NN_MAX_RANK];
    const int64_t *axes = s->axes;
    int64_t n = s->n_axes;
    *identity = false;
    if (!s->axes_input && c->n_in > 1 && c->in[1])
        return nni_error(NN_E_INVALID_MODEL, "%s takes its axes as an attribute at opset %lld, not as an input",
                         c->node->op_type, (long long)c->opset);
    if (s->axes_input && nni_has_in(c, 1)) {
        const nn_tensor *a = c->in[1];
        if (a->dtype != NN_DTYPE_INT64 && a->dtype != NN_DTYPE_INT32)
            return nni_error(NN_E_TYPE, "axes input is %s, expected int64", nn_dtype_name(a->dtype));
        if (!a->data)
            return NNI_DEFER;
        n = nni_tensor_count(a);
        if (n > NN_MAX_RANK)
            return nni_error(NN_E_SHAPE, "axes input has %lld entries", (long long)n);
        for (int64_t i = 0; i < n; i++)
            buf[i] = nni_tensor_get_i64(a, i);
        axes = buf;
    } else if (s->axes_input) {
        n = 0;
    }
    for (int32_t d = 0; d < NN_MAX_RANK; d++)
        red[d] = false;
    if (n == 0) {
        if (s->noop)
            *identity = true;
        else
            for (int32_t d = 0; d < x->rank; d++)
                red[d] = true;
        return NN_OK;
    }
    for (int64_t i = 0; i < n; i++) {
        int32_t d;
        nn_status st = nni_norm_axis(axes[i], x->rank, "axes entry", &d);
        if (st != NN_OK)
            return st;
        if (red[d])
            return nni_error(NN_E_INVALID_MODEL, "axis %lld appears twice in axes", (long long)axes[i]);
        red[d] = true;
    }
    return NN_OK;
}

static bool red_type_ok(const red_state *s, nn_dtype t)
{
    switch (t) {
    case NN_DTYPE_FLOAT32: case NN_DTYPE_FLOAT64: return true;
    case NN_DTYPE_INT32: case NN_DTYPE_INT64: case NN_DTYPE_INT8: case NN_DTYPE_UINT8: case NN_DTYPE_UINT32:
        return s->int_ok;
    case NN_DTYPE_INT16: case NN_DTYPE_UINT16: case NN_DTYPE_UINT64:
        return s->kind == R_ARGMAX || s->kind == R_ARGMIN;
    default: return false;
    }
}

static nn_status red_infer(nni_opctx *c)
{
    const red_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (!red_type_ok(s, x->dtype))
        return nni_error(NN_E_UNSUPPORTED, "%s on %s is not supported", c->node->op_type, nn_dtype_name(x->dtype));
    bool red[NN_MAX_RANK], identity;
    nn_status st = red_axes(c, red, &identity);
    if (st != NN_OK)
        return st;
    bool arg = s->kind == R_ARGMAX || s->kind == R_ARGMIN;
    nn_dtype t = arg ? NN_DTYPE_INT64 : x->dtype;
    if (identity)
        return nni_out_shape(c, 0, t, x->rank, x->dims);
    int64_t dims[NN_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (red[d] && arg && x->dims[d] == 0)
            return nni_error(NN_E_SHAPE, "%s over an empty axis", c->node->op_type);
        if (!red[d])
            dims[r++] = x->dims[d];
        else if (s->keepdims)
            dims[r++] = 1;
    }
    return nni_out_shape(c, 0, t, r, dims);
}

/* ---- reduction walk ---- */

typedef struct {
    int kind;
    const void *x;
    void *y;
    int32_t nk, nr;                 /* kept / reduced segments, innermost excluded */
    int64_t klen[NN_MAX_RANK], kstr[NN_MAX_RANK];
    int64_t rlen[NN_MAX_RANK], rstr[NN_MAX_RANK];
    int64_t inner;                  /* innermost segment's length */
    bool inner_red;
    int64_t n_combo;                /* product of rlen */
    int64_t n_red;                  /* elements reduced into each output */
    int64_t cols;                   /* columns per block (kept-inner walk) */
    int64_t cblocks;
} red_job;

/* Offset of the combo-th combination of the reduced segments. */
static inline int64_t combo_off(const red_job *j, int64_t combo)
{
    int64_t off = 0;
    for (int32_t r = j->nr - 1; r >= 0; r--) {
        off += (combo % j->rlen[r]) * j->rstr[r];
        combo /= j->rlen[r];
    }
    return off;
}

/* Offset of the row-th combination of the kept segments. */
static inline int64_t kept_off(const red_job *j, int64_t row)
{
    int64_t off = 0;
    for (int32_t k = j->nk - 1; k >= 0; k--) {
        off += (row % j->klen[k]) * j->kstr[k];
        row /= j->klen[k];
    }
    return off;
}

static inline double addd(double a, double v) { return a + v; }
static inline int64_t addi(int64_t a, int64_t v) { return (int64_t)((uint64_t)a + (uint64_t)v); }
static inline double muld(double a, double v) { return a * v; }
static inline int64_t muli(int64_t a, int64_t v) { return (int64_t)((uint64_t)a * (uint64_t)v); }
static inline double absd(double v) { return fabs(v); }
static inline int64_t absi(int64_t v) { return v < 0 ? (int64_t)(0u - (uint64_t)v) : v; }

/* Fold an element v into accumulator a. */
#define FOLD(kind, a, v, A)                                            \
    switch (kind) {                                                    \
    case R_MAX: a = (v) > a ? (v) : a; break;                          \
    case R_MIN: a = (v) < a ? (v) : a; break;                          \
    case R_PROD: a = mul##A(a, v); break;                              \
    case R_L1: a = add##A(a, abs##A(v)); break;                        \
    case R_L2: case R_SUMSQ: a = add##A(a, mul##A(v, v)); break;       \
    case R_LOGSUMEXP: a = add##A(a, (__typeof__(a))exp((double)(v))); break; \
    default: a = add##A(a, v); break;                                  \
    }

static double init_d(int kind)
{
    return kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : kind == R_PROD ? 1.0 : 0.0;
}

static int64_t init_i(int kind)
{
    return kind == R_MAX ? INT64_MIN : kind == R_MIN ? INT64_MAX : kind == R_PROD ? 1 : 0;
}

static double fin_d(int kind, double a, int64_t n)
{
    switch (kind) {
    case R_MEAN: return a / (double)n;
    case R_L2: return sqrt(a);
    case R_LOGSUM: case R_LOGSUMEXP: return log(a);
    default: return a;
    }
}

static int64_t fin_i(int kind, int64_t a, int64_t n)
{
    if (kind == R_MEAN)
        return n ? a / n : 0;
    return a;
}

/*
 * Per element type T with accumulator ACC (A = d or i): the inner-reduced
 * walk over outputs [o0, o1) and the kept-inner walk over (row, column
 * block) items [i0, i1). The switch on the kind sits outside each loop.
 */
#define DEF_RED(T, s, ACC, A)                                                                   \
    static void fold_run_##s(int kind, const T *x, int64_t n, ACC *acc)                          \
    {                                                                                            \
        ACC a = *acc;                                                                            \
        switch (kind) {                                                                          \
        case R_SUM: case R_MEAN: case R_LOGSUM: {                                                \
            ACC p[4] = {0, 0, 0, 0};                                                             \
            int64_t k = 0;                                                                       \
            for (; k + 4 <= n; k += 4)                                                           \
                for (int q = 0; q < 4; q++)                                                      \
                    p[q] = add##A(p[q], (ACC)x[k + q]);                                          \
            for (; k < n; k++)                                                                   \
                a = add##A(a, (ACC)x[k]);                                                        \
            a = add##A(a, add##A(add##A(p[0], p[1]), add##A(p[2], p[3])));                       \
            break;                                                                               \
        }                                                                                        \
        default:                                                                                 \
            for (int64_t k = 0; k < n; k++) {                                                    \
                ACC v = (ACC)x[k];                                                               \
                FOLD(kind, a, v, A)                                                              \
            }                                                                                    \
            break;                                                                               \
        }                                                                                        \
        *acc = a;                                                                                \
    }                                                                                            \
    static void red_inner_##s(void *arg, int64_t o0, int64_t o1, int32_t tid)                     \
    {                                                                                            \
        const red_job *j = arg;                                                                  \
        const T *x = j->x;                                                                       \
        T *y = j->y;                                                                             \
        NNI_UNUSED(tid);                                                                         \
        for (int64_t o = o0; o < o1; o++) {                                                      \
            int64_t base = kept_off(j, o);                                                       \
            ACC a = init_##A(j->kind);                                                           \
            for (int64_t r = 0; r < j->n_combo; r++)                                             \
                fold_run_##s(j->kind, x + base + combo_off(j, r), j->inner, &a);                 \
            y[o] = (T)fin_##A(j->kind, a, j->n_red);                                             \
        }                                                                                        \
    }                                                                                            \
    static void red_outer_##s(void *arg, int64_t i0, int64_t i1, int32_t tid)                     \
    {                                                                                            \
        const red_job *j = arg;                                                                  \
        const T *x = j->x;                                                                       \
        T *y = j->y;                                                                             \
        ACC acc[256];                                                                            \
        NNI_UNUSED(tid);                                                                         \
        for (int64_t it = i0; it < i1; it++) {                                                   \
            int64_t row = it / j->cblocks, c0 = (it % j->cblocks) * j->cols;                     \
            int64_t nc = j->inner - c0 < j->cols ? j->inner - c0 : j->cols;                      \
            int64_t base = kept_off(j, row) + c0;                                                \
            ACC a0 = init_##A(j->kind);                                                          \
            for (int64_t k = 0; k < nc; k++)                                                     \
                acc[k] = a0;                                                                     \
            for (int64_t r = 0; r < j->n_combo; r++) {                                           \
                const T *xr = x + base + combo_off(j, r);                                        \
                switch (j->kind) {                                                               \
                case R_SUM: case R_MEAN: case R_LOGSUM:                                          \
                    for (int64_t k = 0; k < nc; k++)                                             \
                        acc[k] = add##A(acc[k], (ACC)xr[k]);                                     \
                    break;                                                                       \
                default:                                                                         \
                    for (int64_t k = 0; k < nc; k++) {                                           \
                        ACC v = (ACC)xr[k];                                                      \
                        FOLD(j->kind, acc[k], v, A)                                              \
                    }                                                                            \
                    break;                                                                       \
                }                                                                                \
            }                                                                                    \
            T *yr = y + row * j->inner + c0;                                                     \
            for (int64_t k = 0; k < nc; k++)                                                     \
                yr[k] = (T)fin_##A(j->kind, acc[k], j->n_red);                                   \
        }                                                                                        \
    }

DEF_RED(float, f32, double, d)
DEF_RED(double, f64, double, d)
DEF_RED(int8_t, i8, int64_t, i)
DEF_RED(int32_t, i32, int64_t, i)
DEF_RED(int64_t, i64, int64_t, i)
DEF_RED(uint8_t, u8, int64_t, i)
DEF_RED(uint32_t, u32, int64_t, i)

/* ---- ArgMax / ArgMin over [outer][len][inner] ---- */

typedef struct {
    bool is_max, last;
    const void *x;
    int64_t *y;
    int64_t len, inner;
} arg_job;

#define DEF_ARG(T, s)                                                                \
    static void arg_##s(void *arg, int64_t i0, int64_t i1, int32_t tid)                \
    {                                                                                \
        const arg_job *j = arg;                                                      \
        NNI_UNUSED(tid);                                                             \
        for (int64_t it = i0; it < i1; it++) {                                       \
            int64_t o = it / j->inner, i = it % j->inner;                            \
            const T *x = (const T *)j->x + o * j->len * j->inner + i;                \
            T best = x[0];                                                           \
            int64_t at = 0;                                                          \
            for (int64_t k = 1; k < j->len; k++) {                                   \
                T v = x[k * j->inner];                                               \
                bool better = j->is_max ? (v > best || (j->last && v == best))       \
                                        : (v < best || (j->last && v == best));      \
                if (better) {                                                        \
                    best = v;                                                        \
                    at = k;                                                          \
                }                                                                    \
            }                                                                        \
            j->y[it] = at;                                                           \
        }                                                                            \
    }
DEF_ARG(float, f32)
DEF_ARG(double, f64)
DEF_ARG(int8_t, i8)
DEF_ARG(int16_t, i16)
DEF_ARG(int32_t, i32)
DEF_ARG(int64_t, i64)
DEF_ARG(uint8_t, u8)
DEF_ARG(uint16_t, u16)
DEF_ARG(uint32_t, u32)
DEF_ARG(uint64_t, u64)

static nn_status arg_run(nni_opctx *c, const bool *red)
{
    const red_state *s = c->state;
    const nn_tensor *x = c->in[0];
    arg_job j = {s->kind == R_ARGMAX, s->last_index, x->data, c->out[0]->data, 1, 1};
    int64_t outer = 1;
    int32_t d = 0;
    for (; d < x->rank && !red[d]; d++)
        outer *= x->dims[d];
    if (d < x->rank)
        j.len = x->dims[d++];
    for (; d < x->rank; d++)
        j.inner *= x->dims[d];
    nni_task_fn fn;
    switch (x->dtype) {
    case NN_DTYPE_FLOAT32: fn = arg_f32; break;
    case NN_DTYPE_FLOAT64: fn = arg_f64; break;
    case NN_DTYPE_INT8: fn = arg_i8; break;
    case NN_DTYPE_INT16: fn = arg_i16; break;
    case NN_DTYPE_INT32: fn = arg_i32; break;
    case NN_DTYPE_INT64: fn = arg_i64; break;
    case NN_DTYPE_UINT8: fn = arg_u8; break;
    case NN_DTYPE_UINT16: fn = arg_u16; break;
    case NN_DTYPE_UINT32: fn = arg_u32; break;
    default: fn = arg_u64; break;
    }
    int64_t grain = 16384 / (j.len ? j.len : 1);
    nni_parallel_for(c->pool, outer * j.inner, grain > 0 ? grain : 1, fn, &j);
    return NN_OK;
}

static nn_status red_run(nni_opctx *c)
{
    const red_state *s = c->state;
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    bool red[NN_MAX_RANK], identity;
    nn_status st = red_axes(c, red, &identity);
    if (st != NN_OK)
        return st == NNI_DEFER ? nni_error(NN_E_INTERNAL, "axes unknown at run time") : st;
    if (nni_tensor_count(y) == 0)
        return NN_OK;
    if (identity) {
        if (x->nbytes)
            memcpy(y->data, x->data, x->nbytes);
        return NN_OK;
    }
    if (s->kind == R_ARGMAX || s->kind == R_ARGMIN)
        return arg_run(c, red);

    /* coalesce into segments, dropping size-1 dims */
    int64_t len[NN_MAX_RANK];
    bool sred[NN_MAX_RANK];
    int32_t ns = 0;
    red_job j = {.kind = s->kind, .x = x->data, .y = y->data, .n_red = 1, .n_combo = 1};
    for (int32_t d = 0; d < x->rank; d++) {
        if (red[d])
            j.n_red *= x->dims[d];
        if (x->dims[d] == 1)
            continue;
        if (ns > 0 && sred[ns - 1] == red[d]) {
            len[ns - 1] *= x->dims[d];
            continue;
        }
        len[ns] = x->dims[d];
        sred[ns++] = red[d];
    }
    if (ns == 0) { /* a single element */
        len[0] = 1;
        sred[0] = false;
        ns = 1;
    }
    int64_t stride = 1;
    j.inner = len[ns - 1];
    j.inner_red = sred[ns - 1];
    int64_t str[NN_MAX_RANK];
    for (int32_t g = ns - 1; g >= 0; g--) {
        str[g] = stride;
        stride *= len[g];
    }
    for (int32_t g = 0; g < ns - 1; g++) {
        if (sred[g]) {
            j.rlen[j.nr] = len[g];
            j.rstr[j.nr++] = str[g];
            j.n_combo *= len[g];
        } else {
            j.klen[j.nk] = len[g];
            j.kstr[j.nk++] = str[g];
        }
    }
    nni_task_fn fn;
    int64_t items, grain;
    if (j.inner_red) {
        items = nni_tensor_count(y);
        grain = 16384 / (j.n_red ? j.n_red : 1);
        switch (x->dtype) {
        case NN_DTYPE_FLOAT32: fn = red_inner_f32; break;
        case NN_DTYPE_FLOAT64: fn = red_inner_f64; break;
        case NN_DTYPE_INT8: fn = red_inner_i8; break;
        case NN_DTYPE_INT32: fn = red_inner_i32; break;
        case NN_DTYPE_INT64: fn = red_inner_i64; break;
        case NN_DTYPE_UINT8: fn = red_inner_u8; break;
        default: fn = red_inner_u32; break;
        }
    } else {
        j.cols = j.inner < 256 ? j.inner : 256;
        j.cblocks = (j.inner + j.cols - 1) / j.cols;
        items = nni_tensor_count(y) / j.inner * j.cblocks;
        grain = 16384 / ((j.n_red ? j.n_red : 1) * j.cols);
        switch (x->dtype) {
        case NN_DTYPE_FLOAT32: fn = red_outer_f32; break;
        case NN_DTYPE_FLOAT64: fn = red_outer_f64; break;
        case NN_DTYPE_INT8: fn = red_outer_i8; break;
        case NN_DTYPE_INT32: fn = red_outer_i32; break;
        case NN_DTYPE_INT64: fn = red_outer_i64; break;
        case NN_DTYPE_UINT8: fn = red_outer_u8; break;
        default: fn = red_outer_u32; break;
        }
    }
    nni_parallel_for(c->pool, items, grain > 0 ? grain : 1, fn, &j);
    return NN_OK;
}

#define RED_DESC(sym, onnx, hi)                                                                              \
    const nni_op_desc sym = {                                                                                \
        .name = onnx, .min_in = 1, .max_in = hi, .min_out = 1, .max_out = 1, .state_size = sizeof(red_state), \
        .prepare = red_prepare, .infer = red_infer, .run = red_run,                                          \
    };

RED_DESC(nni_op_reduce_sum, "ReduceSum", 2)
RED_DESC(nni_op_reduce_mean, "ReduceMean", 2)
RED_DESC(nni_op_reduce_max, "ReduceMax", 2)
RED_DESC(nni_op_reduce_min, "ReduceMin", 2)
RED_DESC(nni_op_reduce_prod, "ReduceProd", 2)
RED_DESC(nni_op_reduce_l1, "ReduceL1", 2)
RED_DESC(nni_op_reduce_l2, "ReduceL2", 2)
RED_DESC(nni_op_reduce_log_sum, "ReduceLogSum", 2)
RED_DESC(nni_op_reduce_log_sum_exp, "ReduceLogSumExp", 2)
RED_DESC(nni_op_reduce_sum_square, "ReduceSumSquare", 2)
RED_DESC(nni_op_argmax, "ArgMax", 1)
RED_DESC(nni_op_argmin, "ArgMin", 1)

nn_status nni_reduce_axes(const nni_opctx *c, bool *red, bool *identity) { return red_axes(c, red, identity); }
