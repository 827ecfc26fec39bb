/*
 * unary.c — elementwise ops of one input: activations (Relu, Sigmoid,
 * Tanh, the Elu family, HardSwish, Mish, Gelu, ...), math functions, Not,
 * IsNaN/IsInf and Clip.
 */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno") /* lets float selects, clamps and sqrt vectorize */
#endif

#include <float.h>
#include <string.h>
#include <tgmath.h>

#include "kernels/vmath.h"
#include "ops/broadcast.h"
#include "ops/fusion.h"
#include "ops/op.h"
#include "ops/resolve.h"

enum {
    U_RELU, U_LEAKYRELU, U_SIGMOID, U_TANH, U_EXP, U_LOG, U_SQRT, U_ABS, U_NEG, U_RECIPROCAL, U_FLOOR, U_CEIL,
    U_ROUND, U_SIGN, U_ERF, U_ELU, U_SELU, U_CELU, U_HARDSIGMOID, U_HARDSWISH, U_SOFTPLUS, U_SOFTSIGN,
    U_THRESHOLDEDRELU, U_MISH, U_GELU, U_GELU_TANH, U_SIN, U_COS, U_TAN, U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH,
    U_ASINH, U_ACOSH, U_ATANH, U_SHRINK, U_ISNAN, U_ISINF, U_NOT, U_CLIP,
};

/* Which element types an op takes. */
enum { T_FLOAT, T_SIGNED, T_NUMERIC, T_BOOL };

typedef struct {
    const char *name;
    uint8_t kind, types;
    bool expensive; /* transcendental: smaller parallel grain */
    const char *a_name, *b_name; /* float attributes read into alpha/beta, with defaults */
    float a_def, b_def;
} un_info;

static const un_info infos[] = {
    {"Relu", U_RELU, T_SIGNED, false, NULL, NULL, 0, 0},
    {"LeakyRelu", U_LEAKYRELU, T_FLOAT, false, "alpha", NULL, 0.01f, 0},
    {"Sigmoid", U_SIGMOID, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Tanh", U_TANH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Exp", U_EXP, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Log", U_LOG, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Sqrt", U_SQRT, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Abs", U_ABS, T_NUMERIC, false, NULL, NULL, 0, 0},
    {"Neg", U_NEG, T_SIGNED, false, NULL, NULL, 0, 0},
    {"Reciprocal", U_RECIPROCAL, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Floor", U_FLOOR, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Ceil", U_CEIL, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Round", U_ROUND, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Sign", U_SIGN, T_NUMERIC, false, NULL, NULL, 0, 0},
    {"Erf", U_ERF, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Elu", U_ELU, T_FLOAT, true, "alpha", NULL, 1.0f, 0},
    {"Selu", U_SELU, T_FLOAT, true, "alpha", "gamma", 1.67326319217681884765625f, 1.05070102214813232421875f},
    {"Celu", U_CELU, T_FLOAT, true, "alpha", NULL, 1.0f, 0},
    {"HardSigmoid", U_HARDSIGMOID, T_FLOAT, false, "alpha", "beta", 0.2f, 0.5f},
    {"HardSwish", U_HARDSWISH, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Softplus", U_SOFTPLUS, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Softsign", U_SOFTSIGN, T_FLOAT, false, NULL, NULL, 0, 0},
    {"ThresholdedRelu", U_THRESHOLDEDRELU, T_FLOAT, false, "alpha", NULL, 1.0f, 0},
    {"Mish", U_MISH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Gelu", U_GELU, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Sin", U_SIN, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Cos", U_COS, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Tan", U_TAN, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Asin", U_ASIN, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Acos", U_ACOS, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Atan", U_ATAN, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Sinh", U_SINH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Cosh", U_COSH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Asinh", U_ASINH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Acosh", U_ACOSH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Atanh", U_ATANH, T_FLOAT, true, NULL, NULL, 0, 0},
    {"Shrink", U_SHRINK, T_FLOAT, false, "bias", "lambd", 0.0f, 0.5f},
    {"IsNaN", U_ISNAN, T_FLOAT, false, NULL, NULL, 0, 0},
    {"IsInf", U_ISINF, T_FLOAT, false, NULL, NULL, 0, 0},
    {"Not", U_NOT, T_BOOL, false, NULL, NULL, 0, 0},
    {"Clip", U_CLIP, T_NUMERIC, false, NULL, NULL, 0, 0},
};

typedef struct {
    const un_info *info;
    uint8_t kind;
    float alpha, beta;
    bool inf_neg, inf_pos;  /* IsInf */
    float clip_lo, clip_hi; /* Clip before opset 11 */
} un_state;

/* ---- float kernels: T is float or double; tgmath picks the function ---- */

/* Kernel bodies declare `typedef T elem;` so that these helpers see T. */
#define LOOP(E)                          \
    for (int64_t i = 0; i < n; i++) {    \
        const elem x = in[i];            \
        o[i] = (elem)(E);                \
    }                                    \
    break

#define C(v) ((elem)(v))

#define DEF_UN_FLOAT(T, s, EXP, SIGMOID, TANH)                                                       \
    static T softplus_##s(T x) { return x > 0 ? x + log1p(EXP(-x)) : log1p(EXP(x)); }              \
    static void un_##s(const un_state *st, const T *in, T *o, int64_t n)                           \
    {                                                                                              \
        typedef T elem;                                                                            \
        const T a = (T)st->alpha, b = (T)st->beta;                                                 \
        switch (st->kind) {                                                                        \
        case U_RELU: LOOP(x < 0 ? C(0) : x);                                                       \
        case U_LEAKYRELU: LOOP(x < 0 ? a * x : x);                                                 \
        case U_SIGMOID: LOOP(SIGMOID(x));                                                          \
        case U_TANH: LOOP(TANH(x));                                                                \
        case U_EXP: LOOP(EXP(x));                                                                  \
        case U_LOG: LOOP(log(x));                                                                  \
        case U_SQRT: LOOP(sqrt(x));                                                                \
        case U_ABS: LOOP(fabs(x));                                                                 \
        case U_NEG: LOOP(-x);                                                                      \
        case U_RECIPROCAL: LOOP(C(1) / x);                                                         \
        case U_FLOOR: LOOP(floor(x));                                                              \
        case U_CEIL: LOOP(ceil(x));                                                                \
        case U_ROUND: LOOP(nearbyint(x)); /* halves to even */                                     \
        case U_SIGN: LOOP(x > 0 ? C(1) : x < 0 ? C(-1) : x);                                       \
        case U_ERF: LOOP(erf(x));                                                                  \
        case U_ELU: LOOP(x < 0 ? a * expm1(x) : x);                                                \
        case U_SELU: LOOP(x > 0 ? b * x : b * (a * EXP(x) - a));                                   \
        case U_CELU: LOOP(x > 0 ? x : a * expm1(x / a));                                           \
        case U_HARDSIGMOID: {                                                                      \
            LOOP(a * x + b < 0 ? C(0) : a * x + b > 1 ? C(1) : a * x + b);                         \
        }                                                                                          \
        case U_HARDSWISH: {                                                                        \
            const T k = C(1) / C(6);                                                               \
            LOOP(x * (k * x + C(0.5) < 0 ? C(0) : k * x + C(0.5) > 1 ? C(1) : k * x + C(0.5)));    \
        }                                                                                          \
        case U_SOFTPLUS: LOOP(softplus_##s(x));                                                    \
        case U_SOFTSIGN: LOOP(x / (C(1) + fabs(x)));                                               \
        case U_THRESHOLDEDRELU: LOOP(x > a ? x : C(0));                                            \
        case U_MISH: LOOP(x * TANH(softplus_##s(x)));                                              \
        case U_GELU: LOOP(C(0.5) * x * (C(1) + erf(x * C(0.70710678118654752440))));               \
        case U_GELU_TANH:                                                                          \
            LOOP(C(0.5) * x * (C(1) + TANH(C(0.79788456080286535588) * (x + C(0.044715) * x * x * x)))); \
        case U_SIN: LOOP(sin(x));                                                                  \
        case U_COS: LOOP(cos(x));                                                                  \
        case U_TAN: LOOP(tan(x));                                                                  \
        case U_ASIN: LOOP(asin(x));                                                                \
        case U_ACOS: LOOP(acos(x));                                                                \
        case U_ATAN: LOOP(atan(x));                                                                \
        case U_SINH: LOOP(sinh(x));                                                                \
        case U_COSH: LOOP(cosh(x));                                                                \
        case U_ASINH: LOOP(asinh(x));                                                              \
        case U_ACOSH: LOOP(acosh(x));                                                              \
        case U_ATANH: LOOP(atanh(x));                                                              \
        case U_SHRINK: LOOP(x < -b ? x + a : x > b ? x - a : C(0)); /* a = bias, b = lambd */      \
        default: break;                                                                            \
        }                                                                                          \
    }                                                                                              \
    static void isx_##s(const un_state *st, const T *in, uint8_t *o, int64_t n)                    \
    {                                                                                              \
        if (st->kind == U_ISNAN) {                                                                 \
            for (int64_t i = 0; i < n; i++)                                                        \
                o[i] = in[i] != in[i];                                                             \
            return;                                                                                \
        }                                                                                          \
        const T inf = (T)INFINITY;                                                                 \
        for (int64_t i = 0; i < n; i++)                                                            \
            o[i] = (st->inf_pos && in[i] == inf) || (st->inf_neg && in[i] == -inf);                \
    }

static double sigmoid_f64(double x) { return 1.0 / (1.0 + exp(-x)); }

DEF_UN_FLOAT(float, f32, nni_expf, nni_sigmoidf, nni_tanhf)
DEF_UN_FLOAT(double, f64, exp, sigmoid_f64, tanh)

/* ---- integer kernels (Relu, Abs, Neg, Sign); U wraps the negation of MIN ---- */

#define DEF_UN_SINT(T, U, s)                                                \
    static void un_##s(const un_state *st, const T *in, T *o, int64_t n)   \
    {                                                                      \
        typedef T elem;                                                    \
        switch (st->kind) {                                                \
        case U_RELU: LOOP(x < 0 ? 0 : x);                                  \
        case U_ABS: LOOP(x < 0 ? (T)(0u - (U)x) : x);                      \
        case U_NEG: LOOP((T)(0u - (U)x));                                  \
        case U_SIGN: LOOP(x > 0 ? 1 : x < 0 ? -1 : 0);                     \
        default: break;                                                    \
        }                                                                  \
    }
#define DEF_UN_UINT(T, s)                                                  \
    static void un_##s(const un_state *st, const T *in, T *o, int64_t n)   \
    {                                                                      \
        typedef T elem;                                                    \
        switch (st->kind) {                                                \
        case U_RELU:                                                       \
        case U_ABS: LOOP(x);                                               \
        case U_SIGN: LOOP(x > 0);                                          \
        default: break;                                                    \
        }                                                                  \
    }

DEF_UN_SINT(int8_t, uint32_t, i8)
DEF_UN_SINT(int16_t, uint32_t, i16)
DEF_UN_SINT(int32_t, uint32_t, i32)
DEF_UN_SINT(int64_t, uint64_t, i64)
DEF_UN_UINT(uint8_t, u8)
DEF_UN_UINT(uint16_t, u16)
DEF_UN_UINT(uint32_t, u32)
DEF_UN_UINT(uint64_t, u64)

/* ---- Clip: lo/hi are elements of the input's type ---- */

typedef union {
    float f32;
    double f64;
    int8_t i8;
    int16_t i16;
    int32_t i32;
    int64_t i64;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
} scalar;

#define DEF_CLIP(T, s)                                                              \
    static void clip_##s(const scalar *lo_, const scalar *hi_, const T *in, T *o, int64_t n) \
    {                                                                               \
        const T lo = lo_->s, hi = hi_->s;                                           \
        for (int64_t i = 0; i < n; i++) {                                           \
            T x = in[i] < lo ? lo : in[i];                                          \
            o[i] = x > hi ? hi : x;                                                 \
        }                                                                           \
    }
DEF_CLIP(float, f32)
DEF_CLIP(double, f64)
DEF_CLIP(int8_t, i8)
DEF_CLIP(int16_t, i16)
DEF_CLIP(int32_t, i32)
DEF_CLIP(int64_t, i64)
DEF_CLIP(uint8_t, u8)
DEF_CLIP(uint16_t, u16)
DEF_CLIP(uint32_t, u32)
DEF_CLIP(uint64_t, u64)

/* Store the lowest and highest value of dtype t into lo and hi. */
static void type_limits(nn_dtype t, scalar *lo, scalar *hi)
{
    switch (t) {
    case NN_DTYPE_FLOAT32: lo->f32 = -INFINITY; hi->f32 = INFINITY; break;
    case NN_DTYPE_FLOAT64: lo->f64 = -INFINITY; hi->f64 = INFINITY; break;
    case NN_DTYPE_INT8: lo->i8 = INT8_MIN; hi->i8 = INT8_MAX; break;
    case NN_DTYPE_INT16: lo->i16 = INT16_MIN; hi->i16 = INT16_MAX; break;
    case NN_DTYPE_INT32: lo->i32 = INT32_MIN; hi->i32 = INT32_MAX; break;
    case NN_DTYPE_INT64: lo->i64 = INT64_MIN; hi->i64 = INT64_MAX; break;
    case NN_DTYPE_UINT8: lo->u8 = 0; hi->u8 = UINT8_MAX; break;
    case NN_DTYPE_UINT16: lo->u16 = 0; hi->u16 = UINT16_MAX; break;
    case NN_DTYPE_UINT32: lo->u32 = 0; hi->u32 = UINT32_MAX; break;
    case NN_DTYPE_UINT64: lo->u64 = 0; hi->u64 = UINT64_MAX; break;
    default: break;
    }
}

/* ---- op ---- */

static nn_status un_prepare(nni_opctx *c)
{
    un_state *s = c->state;
    for (size_t i = 0; i < sizeof infos / sizeof infos[0]; i++)
        if (strcmp(infos[i].name, c->node->op_type) == 0)
            s->info = &infos[i];
    if (!s->info)
        return nni_error(NN_E_INTERNAL, "no elementwise kernel for %s", c->node->op_type);
    s->kind = s->info->kind;
    nn_status st;
    if (s->info->a_name && (st = nni_attr_float(c->node, s->info->a_name, s->info->a_def, &s->alpha)) != NN_OK)
        return st;
    if (s->info->b_name && (st = nni_attr_float(c->node, s->info->b_name, s->info->b_def, &s->beta)) != NN_OK)
        return st;
    if (s->kind == U_CELU && s->alpha == 0.0f)
        return nni_error(NN_E_INVALID_MODEL, "attribute 'alpha' of Celu must not be 0");
    if (s->kind == U_GELU) {
        const char *approx;
        if ((st = nni_attr_string(c->node, "approximate", "none", &approx)) != NN_OK)
            return st;
        if (strcmp(approx, "tanh") == 0)
            s->kind = U_GELU_TANH;
        else if (strcmp(approx, "none") != 0)
            return nni_error(NN_E_INVALID_MODEL, "attribute 'approximate' must be \"none\" or \"tanh\", not \"%s\"", approx);
    }
    if (s->kind == U_ISINF) {
        int64_t neg, pos;
        if ((st = nni_attr_int(c->node, "detect_negative", 1, &neg)) != NN_OK ||
            (st = nni_attr_int(c->node, "detect_positive", 1, &pos)) != NN_OK)
            return st;
        s->inf_neg = neg != 0;
        s->inf_pos = pos != 0;
    }
    if (s->kind == U_CLIP && c->opset < 11) {
        if ((st = nni_attr_float(c->node, "min", -FLT_MAX, &s->clip_lo)) != NN_OK ||
            (st = nni_attr_float(c->node, "max", FLT_MAX, &s->clip_hi)) != NN_OK)
            return st;
    }
    return NN_OK;
}

static bool type_ok(uint8_t types, nn_dtype t)
{
    bool fl = t == NN_DTYPE_FLOAT32 || t == NN_DTYPE_FLOAT64;
    bool si = t == NN_DTYPE_INT8 || t == NN_DTYPE_INT16 || t == NN_DTYPE_INT32 || t == NN_DTYPE_INT64;
    bool ui = t == NN_DTYPE_UINT8 || t == NN_DTYPE_UINT16 || t == NN_DTYPE_UINT32 || t == NN_DTYPE_UINT64;
    switch (types) {
    case T_FLOAT: return fl;
    case T_SIGNED: return fl || si;
    case T_NUMERIC: return fl || si || ui;
    default: return t == NN_DTYPE_BOOL;
    }
}

static nn_status un_infer(nni_opctx *c)
{
    const un_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (!type_ok(s->info->types, x->dtype))
        return nni_error(NN_E_UNSUPPORTED, "%s on %s is not supported", s->info->name, nn_dtype_name(x->dtype));
    for (int32_t i = 1; i < c->n_in; i++) { /* Clip's min and max */
        const nn_tensor *b = c->in[i];
        if (!b)
            continue;
        if (b->dtype != x->dtype)
            return nni_error(NN_E_TYPE, "Clip %s is %s, the input is %s", i == 1 ? "min" : "max", nn_dtype_name(b->dtype),
                             nn_dtype_name(x->dtype));
        int64_t cnt = nni_tensor_count(b);
        if (cnt != 1)
            return nni_error(NN_E_SHAPE, "Clip %s must be a scalar, it has %lld elements", i == 1 ? "min" : "max", (long long)cnt);
    }
    bool to_bool = s->kind == U_ISNAN || s->kind == U_ISINF;
    return nni_out_shape(c, 0, to_bool ? NN_DTYPE_BOOL : x->dtype, x->rank, x->dims);
}

typedef struct {
    const un_state *s;
    nn_dtype t;
    const void *in;
    void *out;
    const scalar *lo, *hi; /* Clip bounds */
} un_job;

#define AT(p, T, i) ((T *)(p) + (i))
#define CAT(p, T, i) ((const T *)(p) + (i))

static void un_task(void *arg, int64_t b, int64_t e)
{
    const un_job *j = arg;
    int64_t n = e - b;
    if (j->s->kind == U_CLIP) {
        switch (j->t) {
        case NN_DTYPE_FLOAT32: clip_f32(j->lo, j->hi, CAT(j->in, float, b), AT(j->out, float, b), n); break;
        case NN_DTYPE_FLOAT64: clip_f64(j->lo, j->hi, CAT(j->in, double, b), AT(j->out, double, b), n); break;
        case NN_DTYPE_INT8: clip_i8(j->lo, j->hi, CAT(j->in, int8_t, b), AT(j->out, int8_t, b), n); break;
        case NN_DTYPE_INT16: clip_i16(j->lo, j->hi, CAT(j->in, int16_t, b), AT(j->out, int16_t, b), n); break;
        case NN_DTYPE_INT32: clip_i32(j->lo, j->hi, CAT(j->in, int32_t, b), AT(j->out, int32_t, b), n); break;
        case NN_DTYPE_INT64: clip_i64(j->lo, j->hi, CAT(j->in, int64_t, b), AT(j->out, int64_t, b), n); break;
        case NN_DTYPE_UINT8: clip_u8(j->lo, j->hi, CAT(j->in, uint8_t, b), AT(j->out, uint8_t, b), n); break;
        case NN_DTYPE_UINT16: clip_u16(j->lo, j->hi, CAT(j->in, uint16_t, b), AT(j->out, uint16_t, b), n); break;
        case NN_DTYPE_UINT32: clip_u32(j->lo, j->hi, CAT(j->in, uint32_t, b), AT(j->out, uint32_t, b), n); break;
        case NN_DTYPE_UINT64: clip_u64(j->lo, j->hi, CAT(j->in, uint64_t, b), AT(j->out, uint64_t, b), n); break;
        default: break;
        }
        return;
    }
    if (j->s->kind == U_ISNAN || j->s->kind == U_ISINF) {
        if (j->t == NN_DTYPE_FLOAT32)
            isx_f32(j->s, CAT(j->in, float, b), AT(j->out, uint8_t, b), n);
        else
            isx_f64(j->s, CAT(j->in, double, b), AT(j->out, uint8_t, b), n);
        return;
    }
    if (j->s->kind == U_NOT) {
        const uint8_t *x = CAT(j->in, uint8_t, b);
        uint8_t *y = AT(j->out, uint8_t, b);
        for (int64_t i = 0; i < n; i++)
            y[i] = !x[i];
        return;
    }
    if (j->t == NN_DTYPE_FLOAT32) { /* the hot activations have 4-lane kernels */
        const float *x = CAT(j->in, float, b);
        float *y = AT(j->out, float, b);
        switch (j->s->kind) {
        case U_SIGMOID: nni_vsigmoid_f32(x, y, n); return;
        case U_TANH: nni_vtanh_f32(x, y, n); return;
        case U_EXP: nni_vexp_f32(x, y, n); return;
        default: break;
        }
    }
    switch (j->t) {
    case NN_DTYPE_FLOAT32: un_f32(j->s, CAT(j->in, float, b), AT(j->out, float, b), n); break;
    case NN_DTYPE_FLOAT64: un_f64(j->s, CAT(j->in, double, b), AT(j->out, double, b), n); break;
    case NN_DTYPE_INT8: un_i8(j->s, CAT(j->in, int8_t, b), AT(j->out, int8_t, b), n); break;
    case NN_DTYPE_INT16: un_i16(j->s, CAT(j->in, int16_t, b), AT(j->out, int16_t, b), n); break;
    case NN_DTYPE_INT32: un_i32(j->s, CAT(j->in, int32_t, b), AT(j->out, int32_t, b), n); break;
    case NN_DTYPE_INT64: un_i64(j->s, CAT(j->in, int64_t, b), AT(j->out, int64_t, b), n); break;
    case NN_DTYPE_UINT8: un_u8(j->s, CAT(j->in, uint8_t, b), AT(j->out, uint8_t, b), n); break;
    case NN_DTYPE_UINT16: un_u16(j->s, CAT(j->in, uint16_t, b), AT(j->out, uint16_t, b), n); break;
    case NN_DTYPE_UINT32: un_u32(j->s, CAT(j->in, uint32_t, b), AT(j->out, uint32_t, b), n); break;
    case NN_DTYPE_UINT64: un_u64(j->s, CAT(j->in, uint64_t, b), AT(j->out, uint64_t, b), n); break;
    default: break;
    }
}

static nn_status un_run(nni_opctx *c)
{
    const un_state *s = c->state;
    const nn_tensor *x = c->in[0];
    un_job j = {s, x->dtype, x->data, c->out[0]->data, NULL, NULL};
    scalar lo, hi;
    if (s->kind == U_CLIP) {
        type_limits(x->dtype, &lo, &hi);
        if (c->opset < 11) {
            if (x->dtype == NN_DTYPE_FLOAT32) {
                lo.f32 = s->clip_lo;
                hi.f32 = s->clip_hi;
            } else if (x->dtype == NN_DTYPE_FLOAT64) {
                lo.f64 = s->clip_lo;
                hi.f64 = s->clip_hi;
            }
        } else {
            size_t es = nn_dtype_size(x->dtype);
            if (nni_has_in(c, 1))
                memcpy(&lo, c->in[1]->data, es);
            if (nni_has_in(c, 2))
                memcpy(&hi, c->in[2]->data, es);
        }
        j.lo = &lo;
        j.hi = &hi;
    }
    nni_flat_run(c->pool, nni_tensor_count(x), s->info->expensive ? 4096 : 0, un_task, &j);
    return NN_OK;
}

bool nni_unary_as_act(const nni_node *n, int64_t opset, nn_tensor *const *in, int32_t *act, float *alpha,
                      float *beta)
{
    /* any op may follow a fusable one: only this family's state is an un_state */
    if (!n->op || n->op->run != un_run)
        return false;
    const un_state *s = n->state;
    if (!s || !s->info || !in[0] || in[0]->dtype != NN_DTYPE_FLOAT32)
        return false;
    *alpha = s->alpha;
    *beta = s->beta;
    switch (s->kind) {
    case U_RELU: *act = NNI_ACT_RELU; return true;
    case U_LEAKYRELU: *act = NNI_ACT_LEAKY_RELU; return true;
    case U_SIGMOID: *act = NNI_ACT_SIGMOID; return true;
    case U_HARDSIGMOID: *act = NNI_ACT_HARD_SIGMOID; return true;
    case U_HARDSWISH: *act = NNI_ACT_HARD_SWISH; return true;
    case U_CLIP:
        *act = NNI_ACT_CLIP;
        *alpha = -INFINITY;
        *beta = INFINITY;
        if (opset < 11) {
            *alpha = s->clip_lo;
            *beta = s->clip_hi;
            return true;
        }
        for (int32_t i = 1; i < n->n_in && i < 3; i++) {
            const nn_tensor *b = in[i];
            if (!b)
                continue;
            if (!b->data || b->dtype != NN_DTYPE_FLOAT32 || nni_tensor_count(b) != 1)
                return false;
            *(i == 1 ? alpha : beta) = *(const float *)b->data;
        }
        return true;
    default: return false;
    }
}

#define UN_DESC(sym, onnx)                                                                                   \
    const nni_op_desc sym = {                                                                                \
        .name = onnx, .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .state_size = sizeof(un_state), \
        .prepare = un_prepare, .infer = un_infer, .run = un_run, .flags = NNI_OP_INPLACE0,                   \
    };

UN_DESC(nni_op_relu, "Relu")
UN_DESC(nni_op_leakyrelu, "LeakyRelu")
UN_DESC(nni_op_sigmoid, "Sigmoid")
UN_DESC(nni_op_tanh, "Tanh")
UN_DESC(nni_op_exp, "Exp")
UN_DESC(nni_op_log, "Log")
UN_DESC(nni_op_sqrt, "Sqrt")
UN_DESC(nni_op_abs, "Abs")
UN_DESC(nni_op_neg, "Neg")
UN_DESC(nni_op_reciprocal, "Reciprocal")
UN_DESC(nni_op_floor, "Floor")
UN_DESC(nni_op_ceil, "Ceil")
UN_DESC(nni_op_round, "Round")
UN_DESC(nni_op_sign, "Sign")
UN_DESC(nni_op_erf, "Erf")
UN_DESC(nni_op_elu, "Elu")
UN_DESC(nni_op_selu, "Selu")
UN_DESC(nni_op_celu, "Celu")
UN_DESC(nni_op_hardsigmoid, "HardSigmoid")
UN_DESC(nni_op_hardswish, "HardSwish")
UN_DESC(nni_op_softplus, "Softplus")
UN_DESC(nni_op_softsign, "Softsign")
UN_DESC(nni_op_thresholdedrelu, "ThresholdedRelu")
UN_DESC(nni_op_mish, "Mish")
UN_DESC(nni_op_gelu, "Gelu")
UN_DESC(nni_op_sin, "Sin")
UN_DESC(nni_op_cos, "Cos")
UN_DESC(nni_op_tan, "Tan")
UN_DESC(nni_op_asin, "Asin")
UN_DESC(nni_op_acos, "Acos")
UN_DESC(nni_op_atan, "Atan")
UN_DESC(nni_op_sinh, "Sinh")
UN_DESC(nni_op_cosh, "Cosh")
UN_DESC(nni_op_asinh, "Asinh")
UN_DESC(nni_op_acosh, "Acosh")
UN_DESC(nni_op_atanh, "Atanh")
UN_DESC(nni_op_shrink, "Shrink")
UN_DESC(nni_op_isnan, "IsNaN")
UN_DESC(nni_op_isinf, "IsInf")
UN_DESC(nni_op_not, "Not")

const nni_op_desc nni_op_clip = {
    .name = "Clip", .min_in = 1, .max_in = 3, .min_out = 1, .max_out = 1, .state_size = sizeof(un_state),
    .prepare = un_prepare, .infer = un_infer, .run = un_run, .flags = NNI_OP_INPLACE0,
};

void nni_unary_params(const nni_opctx *c, float *alpha, float *beta, bool *tanh_gelu)
{
    const un_state *s = c->state;
    *alpha = s->alpha;
    *beta = s->beta;
    *tanh_gelu = s->kind == U_GELU_TANH;
}

void nni_clip_bounds_f32(const nni_opctx *c, float *lo, float *hi)
{
    const un_state *s = c->state;
    *lo = -INFINITY;
    *hi = INFINITY;
    if (c->opset < 11) {
        *lo = s->clip_lo;
        *hi = s->clip_hi;
        return;
    }
    if (nni_has_in(c, 1) && c->in[1]->data && c->in[1]->dtype == NN_DTYPE_FLOAT32)
        *lo = *(const float *)c->in[1]->data;
    if (nni_has_in(c, 2) && c->in[2]->data && c->in[2]->dtype == NN_DTYPE_FLOAT32)
        *hi = *(const float *)c->in[2]->data;
}
