/*
 * cast.c — Cast and CastLike between the numeric types, bool and float16.
 * Float to integer conversions never hit undefined behaviour: NaN gives 0,
 * values go through a saturating int64 and then wrap to narrower types.
 */
#include <math.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/op.h"

/* ---- float16 ---- */

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, bits;
    if (e == 0x1f) {
        bits = sign | 0x7f800000u | (m << 13); /* inf, NaN (payload kept) */
    } else if (e != 0) {
        bits = sign | ((e + 112u) << 23) | (m << 13);
    } else if (m == 0) {
        bits = sign;
    } else { /* subnormal: m * 2^-24 is exact in float */
        float f = (float)m * 5.9604644775390625e-8f;
        memcpy(&bits, &f, sizeof bits);
        bits |= sign;
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Round to nearest even, directly from double (no double rounding). */
static uint16_t f64_to_f16(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    uint16_t sign = (uint16_t)((bits >> 48) & 0x8000u);
    int32_t e = (int32_t)((bits >> 52) & 0x7ff);
    uint64_t m = bits & 0xfffffffffffffull;
    if (e == 0x7ff)
        return (uint16_t)(sign | 0x7c00u | (m ? 0x200u | (uint16_t)(m >> 42) : 0u));
    double a = fabs(d);
    if (a >= 65520.0)
        return (uint16_t)(sign | 0x7c00u);
    if (a <= 2.98023223876953125e-8) /* at most half the smallest subnormal: ties go to even (0) */
        return sign;
    e -= 1023;
    m |= 1ull << 52;
    int32_t shift = e >= -14 ? 42 : 42 + (-14 - e);
    uint64_t q = m >> shift, rem = m & ((1ull << shift) - 1), half = 1ull << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    /* normal: (e+15)<<10 plus the 11-bit significand less its implicit bit;
     * a carry out of the significand moves into the exponent on its own */
    uint32_t h = e >= -14 ? ((uint32_t)(e + 15) << 10) + (uint32_t)q - 1024u : (uint32_t)q;
    return (uint16_t)(sign | h);
}

/* ---- float -> integer without undefined behaviour ---- */

static inline uint64_t f2u64(double v)
{
    if (!(v >= 0))
        return (uint64_t)nni_f64_to_i64(v);
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

/* How each target converts a value of an integer source (FI) or a float
 * source (FF). */
#define FI_NUM(TO, x) ((TO)(x))
#define FF_INT(TO, x) ((TO)nni_f64_to_i64(x))
#define FF_U64(TO, x) f2u64(x)
#define FF_FLT(TO, x) ((TO)(x))
#define F_BOOL(TO, x) ((x) != 0)
#define F_HALF(TO, x) f64_to_f16((double)(x))

#define LOOP(TI, E)                         \
    {                                       \
        const TI *s = in;                   \
        for (int64_t i = 0; i < n; i++) {   \
            const TI x = s[i];              \
            d[i] = (E);                     \
        }                                   \
        break;                              \
    }

#define DEF_CAST_TO(TO, sfx, FI, FF)                                                  \
    static void cast_to_##sfx(nn_dtype from, const void *in, void *out, int64_t n)     \
    {                                                                                 \
        TO *d = out;                                                                  \
        switch (from) {                                                               \
        case NN_DTYPE_FLOAT32: LOOP(float, FF(TO, x))                                 \
        case NN_DTYPE_FLOAT64: LOOP(double, FF(TO, x))                                \
        case NN_DTYPE_FLOAT16: LOOP(uint16_t, FF(TO, f16_to_f32(x)))                  \
        case NN_DTYPE_INT8: LOOP(int8_t, FI(TO, x))                                   \
        case NN_DTYPE_INT16: LOOP(int16_t, FI(TO, x))                                 \
        case NN_DTYPE_INT32: LOOP(int32_t, FI(TO, x))                                 \
        case NN_DTYPE_INT64: LOOP(int64_t, FI(TO, x))                                 \
        case NN_DTYPE_UINT8: LOOP(uint8_t, FI(TO, x))                                 \
        case NN_DTYPE_UINT16: LOOP(uint16_t, FI(TO, x))                               \
        case NN_DTYPE_UINT32: LOOP(uint32_t, FI(TO, x))                               \
        case NN_DTYPE_UINT64: LOOP(uint64_t, FI(TO, x))                               \
        case NN_DTYPE_BOOL: LOOP(uint8_t, FI(TO, x))                                  \
        default: break;                                                               \
        }                                                                             \
    }

DEF_CAST_TO(float, f32, FI_NUM, FF_FLT)
DEF_CAST_TO(double, f64, FI_NUM, FF_FLT)
DEF_CAST_TO(int8_t, i8, FI_NUM, FF_INT)
DEF_CAST_TO(int16_t, i16, FI_NUM, FF_INT)
DEF_CAST_TO(int32_t, i32, FI_NUM, FF_INT)
DEF_CAST_TO(int64_t, i64, FI_NUM, FF_INT)
DEF_CAST_TO(uint8_t, u8, FI_NUM, FF_INT)
DEF_CAST_TO(uint16_t, u16, FI_NUM, FF_INT)
DEF_CAST_TO(uint32_t, u32, FI_NUM, FF_INT)
DEF_CAST_TO(uint64_t, u64, FI_NUM, FF_U64)
DEF_CAST_TO(uint8_t, b, F_BOOL, F_BOOL)
DEF_CAST_TO(uint16_t, f16, F_HALF, F_HALF)

static bool castable(nn_dtype t)
{
    switch (t) {
    case NN_DTYPE_FLOAT32: case NN_DTYPE_FLOAT64: case NN_DTYPE_FLOAT16: case NN_DTYPE_INT8: case NN_DTYPE_INT16:
    case NN_DTYPE_INT32: case NN_DTYPE_INT64: case NN_DTYPE_UINT8: case NN_DTYPE_UINT16: case NN_DTYPE_UINT32:
    case NN_DTYPE_UINT64: case NN_DTYPE_BOOL:
        return true;
    default:
        return false;
    }
}

typedef struct {
    nn_dtype to; /* Cast's 'to'; CastLike takes its target from input 1 */
} cast_state;

static nn_status cast_prepare(nni_opctx *c)
{
    cast_state *s = c->state;
    if (strcmp(c->node->op_type, "CastLike") == 0)
        return NN_OK;
    int64_t to;
    nn_status st = nni_attr_int(c->node, "to", -1, &to);
    if (st != NN_OK)
        return st;
    if (to < 0 || to > 64)
        return nni_error(NN_E_INVALID_MODEL, "Cast needs a valid 'to' attribute (got %lld)", (long long)to);
    if (!castable((nn_dtype)to))
        return nni_error(NN_E_UNSUPPORTED, "Cast to %s (%lld) is not supported", nn_dtype_name((nn_dtype)to), (long long)to);
    s->to = (nn_dtype)to;
    return NN_OK;
}

static nn_dtype cast_target(const nni_opctx *c)
{
    const cast_state *s = c->state;
    return c->n_in > 1 ? c->in[1]->dtype : s->to;
}

static nn_status cast_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    nn_dtype to = cast_target(c);
    if (!castable(x->dtype))
        return nni_error(NN_E_UNSUPPORTED, "%s from %s is not supported", c->node->op_type, nn_dtype_name(x->dtype));
    if (!castable(to))
        return nni_error(NN_E_UNSUPPORTED, "%s to %s is not supported", c->node->op_type, nn_dtype_name(to));
    return nni_out_shape(c, 0, to, x->rank, x->dims);
}

typedef struct {
    nn_dtype from, to;
    const char *in;
    char *out;
    size_t es_in, es_out;
} cast_job;

static void cast_task(void *arg, int64_t b, int64_t e)
{
    const cast_job *j = arg;
    const void *in = j->in + (size_t)b * j->es_in;
    void *out = j->out + (size_t)b * j->es_out;
    int64_t n = e - b;
    switch (j->to) {
    case NN_DTYPE_FLOAT32: cast_to_f32(j->from, in, out, n); break;
    case NN_DTYPE_FLOAT64: cast_to_f64(j->from, in, out, n); break;
    case NN_DTYPE_INT8: cast_to_i8(j->from, in, out, n); break;
    case NN_DTYPE_INT16: cast_to_i16(j->from, in, out, n); break;
    case NN_DTYPE_INT32: cast_to_i32(j->from, in, out, n); break;
    case NN_DTYPE_INT64: cast_to_i64(j->from, in, out, n); break;
    case NN_DTYPE_UINT8: cast_to_u8(j->from, in, out, n); break;
    case NN_DTYPE_UINT16: cast_to_u16(j->from, in, out, n); break;
    case NN_DTYPE_UINT32: cast_to_u32(j->from, in, out, n); break;
    case NN_DTYPE_UINT64: cast_to_u64(j->from, in, out, n); break;
    case NN_DTYPE_BOOL: cast_to_b(j->from, in, out, n); break;
    case NN_DTYPE_FLOAT16: cast_to_f16(j->from, in, out, n); break;
    default: break;
    }
}

static nn_status cast_run(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    nn_tensor *y = c->out[0];
    if (x->dtype == y->dtype) {
        if (x->nbytes)
            memcpy(y->data, x->data, x->nbytes);
        return NN_OK;
    }
    cast_job j = {x->dtype, y->dtype, x->data, y->data, nn_dtype_size(x->dtype), nn_dtype_size(y->dtype)};
    nni_flat_run(c->pool, nni_tensor_count(x), 0, cast_task, &j);
    return NN_OK;
}

const nni_op_desc nni_op_cast = {
    .name = "Cast", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1, .state_size = sizeof(cast_state),
    .prepare = cast_prepare, .infer = cast_infer, .run = cast_run,
};

const nni_op_desc nni_op_castlike = {
    .name = "CastLike", .min_in = 2, .max_in = 2, .min_out = 1, .max_out = 1, .state_size = sizeof(cast_state),
    .prepare = cast_prepare, .infer = cast_infer, .run = cast_run,
};
