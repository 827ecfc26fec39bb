/*
 * binary.c — broadcasting elementwise ops with two or more inputs:
 * arithmetic (Add, Sub, Mul, Div, Mod, Pow), comparisons, logic, BitShift,
 * the variadic Sum/Mean/Max/Min, Where and PRelu.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* lets float selects (Max, PRelu) vectorize */
#endif

#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/op.h"

#define N_DTYPES 17 /* table size: every ONNX dtype number up to bfloat16 */

/* ---- kernels over one inner run ----
 * Integer arithmetic goes through an unsigned type U so that overflow wraps
 * (as in ONNX runtimes) instead of being undefined. */

#define BIN_FN(name, T, R, EXPR)                                                                   \
    static void name(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n) \
    {                                                                                              \
        R *o = out;                                                                                \
        const T *a = in[0], *b = in[1];                                                            \
        NNI_UNUSED(arg);                                                                           \
        if (step[0] && step[1]) {                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i], y = b[i];                                                              \
                o[i] = (R)(EXPR);                                                                  \
            }                                                                                      \
        } else if (step[0]) {                                                                      \
            const T y = b[0];                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T x = a[i];                                                                        \
                o[i] = (R)(EXPR);                                                                  \
            }                                                                                      \
        } else if (step[1]) {                                                                      \
            const T x = a[0];                                                                      \
            for (int64_t i = 0; i < n; i++) {                                                      \
                T y = b[i];                                                                        \
                o[i] = (R)(EXPR);                                                                  \
            }                                                                                      \
        } else {                                                                                   \
            const T x = a[0], y = b[0];                                                            \
            const R v = (R)(EXPR);                                                                 \
            for (int64_t i = 0; i < n; i++)                                                        \
                o[i] = v;                                                                          \
        }                                                                                          \
    }

/* Ops every numeric type has. */
#define DEF_COMMON(T, U, s)                                  \
    BIN_FN(add_##s, T, T, (U)x + (U)y)                       \
    BIN_FN(sub_##s, T, T, (U)x - (U)y)                       \
    BIN_FN(mul_##s, T, T, (U)x * (U)y)                       \
    BIN_FN(eq_##s, T, uint8_t, x == y)                       \
    BIN_FN(lt_##s, T, uint8_t, x < y)                        \
    BIN_FN(gt_##s, T, uint8_t, x > y)                        \
    BIN_FN(le_##s, T, uint8_t, x <= y)                       \
    BIN_FN(ge_##s, T, uint8_t, x >= y)

/* Signed integers: division by zero gives 0 and MIN / -1 wraps, rather than
 * trapping. Mod follows the divisor's sign (Python); FMod the dividend's. */
#define DEF_SINT(T, U, s)                                                                   \
    DEF_COMMON(T, U, s)                                                                     \
    BIN_FN(prelu_##s, T, T, x < 0 ? (T)((U)x * (U)y) : x)                                   \
    static inline T div1_##s(T x, T y)                                                      \
    {                                                                                       \
        if (y == 0)                                                                         \
            return 0;                                                                       \
        if (y == -1)                                                                        \
            return (T)(0u - (U)x);                                                          \
        return (T)(x / y);                                                                  \
    }                                                                                       \
    static inline T fmod1_##s(T x, T y) { return (y == 0 || y == -1) ? 0 : (T)(x % y); }  \
    static inline T mod1_##s(T x, T y)                                                      \
    {                                                                                       \
        T r = fmod1_##s(x, y);                                                              \
        return (r != 0 && ((r < 0) != (y < 0))) ? (T)(r + y) : r;                           \
    }                                                                                       \
    BIN_FN(div_##s, T, T, div1_##s(x, y))                                                   \
    BIN_FN(mod_##s, T, T, mod1_##s(x, y))                                                   \
    BIN_FN(fmod_##s, T, T, fmod1_##s(x, y))                                                 \
    BIN_FN(max_##s, T, T, x > y ? x : y)                                                    \
    BIN_FN(min_##s, T, T, x < y ? x : y)

#define DEF_UINT(T, U, s, BITS)                                              \
    DEF_COMMON(T, U, s)                                                      \
    BIN_FN(prelu_##s, T, T, ((void)y, x))                                    \
    BIN_FN(div_##s, T, T, y == 0 ? 0 : x / y)                                \
    BIN_FN(mod_##s, T, T, y == 0 ? 0 : x % y)                                \
    BIN_FN(max_##s, T, T, x > y ? x : y)                                     \
    BIN_FN(min_##s, T, T, x < y ? x : y)                                     \
    BIN_FN(shl_##s, T, T, y >= (BITS) ? 0 : (U)x << y)                       \
    BIN_FN(shr_##s, T, T, y >= (BITS) ? 0 : x >> y)

/* Floats: Max/Min propagate NaN like numpy; Mod with fmod=0 takes the
 * divisor's sign. */
#define DEF_FLOAT(T, s, FMOD)                                                                  \
    DEF_COMMON(T, T, s)                                                                        \
    BIN_FN(prelu_##s, T, T, x < 0 ? x * y : x)                                                 \
    static inline T mod1_##s(T x, T y)                                                         \
    {                                                                                          \
        T r = FMOD(x, y);                                                                      \
        return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;                                   \
    }                                                                                          \
    BIN_FN(div_##s, T, T, x / y)                                                               \
    BIN_FN(mod_##s, T, T, mod1_##s(x, y))                                                      \
    BIN_FN(fmod_##s, T, T, FMOD(x, y))                                                         \
    BIN_FN(max_##s, T, T, (x > y || x != x) ? x : y)                                           \
    BIN_FN(min_##s, T, T, (x < y || x != x) ? x : y)

DEF_FLOAT(float, f32, fmodf)
DEF_FLOAT(double, f64, fmod)
DEF_SINT(int8_t, uint32_t, i8)
DEF_SINT(int16_t, uint32_t, i16)
DEF_SINT(int32_t, uint32_t, i32)
DEF_SINT(int64_t, uint64_t, i64)
DEF_UINT(uint8_t, uint32_t, u8, 8)
DEF_UINT(uint16_t, uint32_t, u16, 16)
DEF_UINT(uint32_t, uint32_t, u32, 32)
DEF_UINT(uint64_t, uint64_t, u64, 64)

/* bool is stored as one byte holding 0 or 1 */
BIN_FN(and_b, uint8_t, uint8_t, x && y)
BIN_FN(or_b, uint8_t, uint8_t, x || y)
BIN_FN(xor_b, uint8_t, uint8_t, !x != !y)
BIN_FN(eq_b, uint8_t, uint8_t, !x == !y)

#define TAB_ALL(op)                                                                                 \
    {                                                                                               \
        [NN_DTYPE_FLOAT32] = op##_f32, [NN_DTYPE_FLOAT64] = op##_f64, [NN_DTYPE_INT8] = op##_i8,    \
        [NN_DTYPE_INT16] = op##_i16, [NN_DTYPE_INT32] = op##_i32, [NN_DTYPE_INT64] = op##_i64,      \
        [NN_DTYPE_UINT8] = op##_u8, [NN_DTYPE_UINT16] = op##_u16, [NN_DTYPE_UINT32] = op##_u32,     \
        [NN_DTYPE_UINT64] = op##_u64,                                                               \
    }
#define TAB_UNSIGNED(op)                                                                            \
    {                                                                                               \
        [NN_DTYPE_UINT8] = op##_u8, [NN_DTYPE_UINT16] = op##_u16, [NN_DTYPE_UINT32] = op##_u32,     \
        [NN_DTYPE_UINT64] = op##_u64,                                                               \
    }

static const nni_bcast_fn tab_add[N_DTYPES] = TAB_ALL(add);
static const nni_bcast_fn tab_sub[N_DTYPES] = TAB_ALL(sub);
static const nni_bcast_fn tab_mul[N_DTYPES] = TAB_ALL(mul);
static const nni_bcast_fn tab_div[N_DTYPES] = TAB_ALL(div);
static const nni_bcast_fn tab_max[N_DTYPES] = TAB_ALL(max);
static const nni_bcast_fn tab_min[N_DTYPES] = TAB_ALL(min);
static const nni_bcast_fn tab_mod[N_DTYPES] = TAB_ALL(mod);
static const nni_bcast_fn tab_prelu[N_DTYPES] = TAB_ALL(prelu);
static const nni_bcast_fn tab_lt[N_DTYPES] = TAB_ALL(lt);
static const nni_bcast_fn tab_gt[N_DTYPES] = TAB_ALL(gt);
static const nni_bcast_fn tab_le[N_DTYPES] = TAB_ALL(le);
static const nni_bcast_fn tab_ge[N_DTYPES] = TAB_ALL(ge);
static const nni_bcast_fn tab_shl[N_DTYPES] = TAB_UNSIGNED(shl);
static const nni_bcast_fn tab_shr[N_DTYPES] = TAB_UNSIGNED(shr);
static const nni_bcast_fn tab_and[N_DTYPES] = {[NN_DTYPE_BOOL] = and_b};
static const nni_bcast_fn tab_or[N_DTYPES] = {[NN_DTYPE_BOOL] = or_b};
static const nni_bcast_fn tab_xor[N_DTYPES] = {[NN_DTYPE_BOOL] = xor_b};
/* FMod on unsigned types is the same as Mod. */
static const nni_bcast_fn tab_fmod[N_DTYPES] = {
    [NN_DTYPE_FLOAT32] = fmod_f32, [NN_DTYPE_FLOAT64] = fmod_f64, [NN_DTYPE_INT8] = fmod_i8,
    [NN_DTYPE_INT16] = fmod_i16,   [NN_DTYPE_INT32] = fmod_i32,   [NN_DTYPE_INT64] = fmod_i64,
    [NN_DTYPE_UINT8] = mod_u8,     [NN_DTYPE_UINT16] = mod_u16,   [NN_DTYPE_UINT32] = mod_u32,
    [NN_DTYPE_UINT64] = mod_u64,
};
static const nni_bcast_fn tab_eq[N_DTYPES] = {
    [NN_DTYPE_FLOAT32] = eq_f32, [NN_DTYPE_FLOAT64] = eq_f64, [NN_DTYPE_INT8] = eq_i8,
    [NN_DTYPE_INT16] = eq_i16,   [NN_DTYPE_INT32] = eq_i32,   [NN_DTYPE_INT64] = eq_i64,
    [NN_DTYPE_UINT8] = eq_u8,    [NN_DTYPE_UINT16] = eq_u16,  [NN_DTYPE_UINT32] = eq_u32,
    [NN_DTYPE_UINT64] = eq_u64,  [NN_DTYPE_BOOL] = eq_b,
};

/* ---- Pow: the exponent may have another type than the base ---- */

static double load_f64(const void *p, nn_dtype t, int64_t i)
{
    switch (t) {
    case NN_DTYPE_FLOAT32: return ((const float *)p)[i];
    case NN_DTYPE_FLOAT64: return ((const double *)p)[i];
    case NN_DTYPE_INT8: return ((const int8_t *)p)[i];
    case NN_DTYPE_INT16: return ((const int16_t *)p)[i];
    case NN_DTYPE_INT32: return ((const int32_t *)p)[i];
    case NN_DTYPE_INT64: return (double)((const int64_t *)p)[i];
    case NN_DTYPE_UINT8: return ((const uint8_t *)p)[i];
    case NN_DTYPE_UINT16: return ((const uint16_t *)p)[i];
    case NN_DTYPE_UINT32: return ((const uint32_t *)p)[i];
    case NN_DTYPE_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

static void store_pow(void *p, nn_dtype t, int64_t i, double v)
{
    switch (t) {
    case NN_DTYPE_FLOAT64: ((double *)p)[i] = v; break;
    case NN_DTYPE_FLOAT32: ((float *)p)[i] = (float)v; break;
    case NN_DTYPE_INT32: {
        int64_t k = nni_f64_to_i64(v);
        ((int32_t *)p)[i] = k > INT32_MAX ? INT32_MAX : k < INT32_MIN ? INT32_MIN : (int32_t)k;
        break;
    }
    case NN_DTYPE_INT64: ((int64_t *)p)[i] = nni_f64_to_i64(v); break;
    default: break;
    }
}

typedef struct {
    nn_dtype tx, ty;
} pow_args;

static void pow_f32(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)
{
    float *o = out;
    const float *a = in[0], *b = in[1];
    NNI_UNUSED(arg);
    if (!step[1] && b[0] == 2.0f) { /* x^2 (LayerNorm variance, L2 norms): the hot case */
        for (int64_t i = 0; i < n; i++)
            o[i] = a[i * step[0]] * a[i * step[0]];
        return;
    }
    for (int64_t i = 0; i < n; i++)
        o[i] = powf(a[i * step[0]], b[i * step[1]]);
}

static void pow_any(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n)
{
    const pow_args *p = arg;
    for (int64_t i = 0; i < n; i++)
        store_pow(out, p->tx, i, pow(load_f64(in[0], p->tx, i * step[0]), load_f64(in[1], p->ty, i * step[1])));
}

/* ---- Where: select by element size ---- */

#define WHERE_FN(name, T)                                                                          \
    static void name(void *arg, void *out, const void *const *in, const int64_t *step, int64_t n) \
    {                                                                                              \
        T *o = out;                                                                                \
        const uint8_t *c = in[0];                                                                  \
        const T *x = in[1], *y = in[2];                                                            \
        NNI_UNUSED(arg);                                                                           \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = c[i * step[0]] ? x[i * step[1]] : y[i * step[2]];                               \
    }
WHERE_FN(where8, uint8_t)
WHERE_FN(where16, uint16_t)
WHERE_FN(where32, uint32_t)
WHERE_FN(where64, uint64_t)

/* ---- op table ---- */

enum { OUT_SAME, OUT_BOOL };
enum { K_PLAIN, K_POW, K_MOD, K_SHIFT, K_VARIADIC, K_MEAN, K_PRELU };

typedef struct {
    const char *name;
    const nni_bcast_fn *tab;
    uint8_t out, kind;
} bin_info;

static const bin_info infos[] = {
    {"Add", tab_add, OUT_SAME, K_PLAIN},
    {"Sub", tab_sub, OUT_SAME, K_PLAIN},
    {"Mul", tab_mul, OUT_SAME, K_PLAIN},
    {"Div", tab_div, OUT_SAME, K_PLAIN},
    {"Pow", NULL, OUT_SAME, K_POW},
    {"Mod", tab_mod, OUT_SAME, K_MOD},
    {"BitShift", tab_shl, OUT_SAME, K_SHIFT},
    {"Equal", tab_eq, OUT_BOOL, K_PLAIN},
    {"Less", tab_lt, OUT_BOOL, K_PLAIN},
    {"Greater", tab_gt, OUT_BOOL, K_PLAIN},
    {"LessOrEqual", tab_le, OUT_BOOL, K_PLAIN},
    {"GreaterOrEqual", tab_ge, OUT_BOOL, K_PLAIN},
    {"And", tab_and, OUT_BOOL, K_PLAIN},
    {"Or", tab_or, OUT_BOOL, K_PLAIN},
    {"Xor", tab_xor, OUT_BOOL, K_PLAIN},
    {"Sum", tab_add, OUT_SAME, K_VARIADIC},
    {"Mean", tab_add, OUT_SAME, K_MEAN},
    {"Max", tab_max, OUT_SAME, K_VARIADIC},
    {"Min", tab_min, OUT_SAME, K_VARIADIC},
    {"PRelu", tab_prelu, OUT_SAME, K_PRELU},
};

typedef struct {
    const bin_info *info;
    const nni_bcast_fn *tab; /* the info's, or the one an attribute picks (fmod, direction) */
} bin_state;

static nn_status bin_prepare(nni_opctx *c)
{
    bin_state *s = c->state;
    for (size_t i = 0; i < sizeof infos / sizeof infos[0]; i++)
        if (strcmp(infos[i].name, c->node->op_type) == 0)
            s->info = &infos[i];
    if (!s->info)
        return nni_error(NN_E_INTERNAL, "no elementwise kernel for %s", c->node->op_type);
    s->tab = s->info->tab;
    nn_status st;
    if (s->info->kind == K_MOD) {
        int64_t fm;
        if ((st = nni_attr_int(c->node, "fmod", 0, &fm)) != NN_OK)
            return st;
        if (fm != 0 && fm != 1)
            return nni_error(NN_E_INVALID_MODEL, "attribute 'fmod' must be 0 or 1, not %lld", (long long)fm);
        s->tab = fm ? tab_fmod : tab_mod;
    } else if (s->info->kind == K_SHIFT) {
        const char *dir;
        if ((st = nni_attr_string(c->node, "direction", NULL, &dir)) != NN_OK)
            return st;
        if (!dir || (strcmp(dir, "LEFT") != 0 && strcmp(dir, "RIGHT") != 0))
            return nni_error(NN_E_INVALID_MODEL, "attribute 'direction' must be \"LEFT\" or \"RIGHT\"");
        s->tab = strcmp(dir, "LEFT") == 0 ? tab_shl : tab_shr;
    }
    return NN_OK;
}

static bool pow_base_ok(nn_dtype t)
{
    return t == NN_DTYPE_FLOAT32 || t == NN_DTYPE_FLOAT64 || t == NN_DTYPE_INT32 || t == NN_DTYPE_INT64;
}

static bool pow_exp_ok(nn_dtype t) { return t < N_DTYPES && tab_add[t] != NULL; }

static nn_status bin_infer(nni_opctx *c)
{
    const bin_state *s = c->state;
    const char *name = s->info->name;
    nn_dtype t = c->in[0]->dtype;
    for (int32_t i = 0; i < c->n_in; i++)
        if (!c->in[i])
            return nni_error(NN_E_INVALID_MODEL, "%s input %d is missing", name, (int)i);
    if (s->info->kind == K_POW) {
        if (!pow_base_ok(t) || !pow_exp_ok(c->in[1]->dtype))
            return nni_error(NN_E_UNSUPPORTED, "Pow of %s by %s is not supported", nn_dtype_name(t),
                             nn_dtype_name(c->in[1]->dtype));
    } else {
        for (int32_t i = 1; i < c->n_in; i++)
            if (c->in[i]->dtype != t)
                return nni_error(NN_E_TYPE, "%s inputs have different types (%s and %s)", name, nn_dtype_name(t),
                                 nn_dtype_name(c->in[i]->dtype));
        if (t < 0 || t >= N_DTYPES || !s->tab[t])
            return nni_error(NN_E_UNSUPPORTED, "%s on %s is not supported", name, nn_dtype_name(t));
        if (s->info->kind == K_MEAN && t != NN_DTYPE_FLOAT32 && t != NN_DTYPE_FLOAT64)
            return nni_error(NN_E_UNSUPPORTED, "Mean on %s is not supported", nn_dtype_name(t));
    }
    int32_t rank;
    int64_t dims[NN_MAX_RANK];
    nn_status st = nni_bcast_shape(c->n_in, (const nn_tensor *const *)c->in, &rank, dims);
    if (st != NN_OK)
        return st;
    if (s->info->kind == K_PRELU) { /* slope must broadcast to X without growing it */
        const nn_tensor *x = c->in[0];
        bool same = x->rank == rank;
        for (int32_t d = 0; same && d < rank; d++)
            same = x->dims[d] == dims[d];
        if (!same) {
            char sx[128], sw[128];
            return nni_error(NN_E_SHAPE, "PRelu slope %s does not broadcast to X %s",
                             nni_shape_str(c->in[1]->rank, c->in[1]->dims, sw, sizeof sw),
                             nni_shape_str(x->rank, x->dims, sx, sizeof sx));
        }
    }
    return nni_out_shape(c, 0, s->info->out == OUT_BOOL ? NN_DTYPE_BOOL : t, rank, dims);
}

/* out = op(a, b) with both broadcast to out's shape. */
static nn_status bin_apply(nni_opctx *c, nni_bcast_fn fn, void *arg, const nn_tensor *a, const nn_tensor *b)
{
    nn_tensor *out = c->out[0];
    const nn_tensor *ab[2] = {a, b};
    nni_bcast plan;
    nn_status st = nni_bcast_init(&plan, out->rank, out->dims, nn_dtype_size(out->dtype), 2, ab);
    if (st != NN_OK || plan.count == 0)
        return st;
    const void *ptr[2] = {a->data, b->data};
    nni_bcast_run(&plan, c->pool, fn, arg, out->data, ptr);
    return NN_OK;
}

typedef struct {
    void *data;
    nn_dtype dtype;
    int32_t n;
} mean_args;

static void mean_scale(void *arg, int64_t begin, int64_t end)
{
    const mean_args *m = arg;
    if (m->dtype == NN_DTYPE_FLOAT32) {
        float *p = m->data, d = (float)m->n;
        for (int64_t i = begin; i < end; i++)
            p[i] /= d;
    } else {
        double *p = m->data, d = (double)m->n;
        for (int64_t i = begin; i < end; i++)
            p[i] /= d;
    }
}

static nn_status bin_run(nni_opctx *c)
{
    const bin_state *s = c->state;
    nn_tensor *out = c->out[0];
    if (s->info->kind == K_POW) {
        pow_args pa = {c->in[0]->dtype, c->in[1]->dtype};
        bool f32 = pa.tx == NN_DTYPE_FLOAT32 && pa.ty == NN_DTYPE_FLOAT32;
        return bin_apply(c, f32 ? pow_f32 : pow_any, &pa, c->in[0], c->in[1]);
    }
    nni_bcast_fn fn = s->tab[c->in[0]->dtype];
    if (s->info->kind != K_VARIADIC && s->info->kind != K_MEAN)
        return bin_apply(c, fn, NULL, c->in[0], c->in[1]);
    if (c->n_in == 1) {
        if (out->nbytes)
            memcpy(out->data, c->in[0]->data, out->nbytes);
        return NN_OK;
    }
    nn_status st = bin_apply(c, fn, NULL, c->in[0], c->in[1]);
    for (int32_t k = 2; k < c->n_in && st == NN_OK; k++) {
        nn_tensor acc = *out; /* a view: the running result is the next left operand */
        acc.flags = 0;
        st = bin_apply(c, fn, NULL, &acc, c->in[k]);
    }
    if (st == NN_OK && s->info->kind == K_MEAN) {
        mean_args m = {out->data, out->dtype, c->n_in};
        nni_flat_run(c->pool, nni_tensor_count(out), 0, mean_scale, &m);
    }
    return st;
}

static nn_status where_infer(nni_opctx *c)
{
    if (c->in[0]->dtype != NN_DTYPE_BOOL)
        return nni_error(NN_E_TYPE, "Where condition is %s, expected bool", nn_dtype_name(c->in[0]->dtype));
    if (c->in[1]->dtype != c->in[2]->dtype)
        return nni_error(NN_E_TYPE, "Where inputs have different types (%s and %s)", nn_dtype_name(c->in[1]->dtype),
                         nn_dtype_name(c->in[2]->dtype));
    int32_t rank;
    int64_t dims[NN_MAX_RANK];
    nn_status st = nni_bcast_shape(3, (const nn_tensor *const *)c->in, &rank, dims);
    if (st != NN_OK)
        return st;
    return nni_out_shape(c, 0, c->in[1]->dtype, rank, dims);
}

static nn_status where_run(nni_opctx *c)
{
    nn_tensor *out = c->out[0];
    nni_bcast plan;
    size_t es = nn_dtype_size(out->dtype);
    nn_status st = nni_bcast_init(&plan, out->rank, out->dims, es, 3, (const nn_tensor *const *)c->in);
    if (st != NN_OK || plan.count == 0)
        return st;
    nni_bcast_fn fn = es == 1 ? where8 : es == 2 ? where16 : es == 4 ? where32 : where64;
    const void *ptr[3] = {c->in[0]->data, c->in[1]->data, c->in[2]->data};
    nni_bcast_run(&plan, c->pool, fn, NULL, out->data, ptr);
    return NN_OK;
}

#define BIN_DESC(sym, onnx, lo, hi)                                                                     \
    const nni_op_desc sym = {                                                                          \
        .name = onnx, .min_in = lo, .max_in = hi, .min_out = 1, .max_out = 1, .state_size = sizeof(bin_state), \
        .prepare = bin_prepare, .infer = bin_infer, .run = bin_run, .flags = NNI_OP_INPLACE01,         \
    };

BIN_DESC(nni_op_add, "Add", 2, 2)
BIN_DESC(nni_op_sub, "Sub", 2, 2)
BIN_DESC(nni_op_mul, "Mul", 2, 2)
BIN_DESC(nni_op_div, "Div", 2, 2)
BIN_DESC(nni_op_pow, "Pow", 2, 2)
BIN_DESC(nni_op_mod, "Mod", 2, 2)
BIN_DESC(nni_op_bitshift, "BitShift", 2, 2)
BIN_DESC(nni_op_equal, "Equal", 2, 2)
BIN_DESC(nni_op_less, "Less", 2, 2)
BIN_DESC(nni_op_greater, "Greater", 2, 2)
BIN_DESC(nni_op_less_or_equal, "LessOrEqual", 2, 2)
BIN_DESC(nni_op_greater_or_equal, "GreaterOrEqual", 2, 2)
BIN_DESC(nni_op_and, "And", 2, 2)
BIN_DESC(nni_op_or, "Or", 2, 2)
BIN_DESC(nni_op_xor, "Xor", 2, 2)
BIN_DESC(nni_op_sum, "Sum", 1, INT32_MAX)
BIN_DESC(nni_op_mean, "Mean", 1, INT32_MAX)
BIN_DESC(nni_op_max, "Max", 1, INT32_MAX)
BIN_DESC(nni_op_min, "Min", 1, INT32_MAX)
BIN_DESC(nni_op_prelu, "PRelu", 2, 2)

const nni_op_desc nni_op_where = {
    .name = "Where", .min_in = 3, .max_in = 3, .min_out = 1, .max_out = 1,
    .infer = where_infer, .run = where_run,
};
