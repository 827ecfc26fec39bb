/*
 * pbw.h — a tiny protobuf writer for tests that need ONNX models no exporter
 * would produce (subgraphs nested thousands deep, millions of empty nodes,
 * external data pointing anywhere). Messages are byte buffers built inside
 * out; field numbers are onnx.proto's. Allocation failures abort the test.
 */
#ifndef NN_TEST_PBW_H
#define NN_TEST_PBW_H

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pbw {
    uint8_t *p;
    size_t n, cap;
} pbw;

static inline void pbw_raw(pbw *b, const void *data, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        ck_assert_ptr_nonnull(b->p);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
}

static inline void pbw_varint(pbw *b, uint64_t v)
{
    uint8_t t[10];
    size_t k = 0;
    do {
        t[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    pbw_raw(b, t, k);
}

static inline void pbw_int(pbw *b, int field, int64_t v)
{
    pbw_varint(b, (uint64_t)field << 3);
    pbw_varint(b, (uint64_t)v);
}

static inline void pbw_float(pbw *b, int field, float v)
{
    pbw_varint(b, (uint64_t)field << 3 | 5);
    pbw_raw(b, &v, 4);
}

static inline void pbw_bytes(pbw *b, int field, const void *data, size_t n)
{
    pbw_varint(b, (uint64_t)field << 3 | 2);
    pbw_varint(b, n);
    pbw_raw(b, data, n);
}

static inline void pbw_str(pbw *b, int field, const char *s) { pbw_bytes(b, field, s, strlen(s)); }

/* Append `sub` as field `field` and free it. */
static inline void pbw_msg(pbw *b, int field, pbw *sub)
{
    pbw_bytes(b, field, sub->p, sub->n);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

static inline void pbw_free(pbw *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- ONNX messages ---- */

/* TensorProto: dims, data_type, name, raw_data (data may be NULL for none). */
static inline pbw pbw_tensor(const char *name, int32_t dtype, int rank, const int64_t *dims, const void *raw,
                             size_t raw_len)
{
    pbw t = {0};
    for (int i = 0; i < rank; i++)
        pbw_int(&t, 1, dims[i]);
    pbw_int(&t, 2, dtype);
    if (name)
        pbw_str(&t, 8, name);
    if (raw)
        pbw_bytes(&t, 9, raw, raw_len);
    return t;
}

/* An external_data entry of a TensorProto (and data_location EXTERNAL once). */
static inline void pbw_external(pbw *t, const char *key, const char *value)
{
    pbw e = {0};
    pbw_str(&e, 1, key);
    pbw_str(&e, 2, value);
    pbw_msg(t, 13, &e);
}

/* ValueInfoProto of a tensor; dims < 0 are written as the symbol "N". */
static inline pbw pbw_value_info(const char *name, int32_t dtype, int rank, const int64_t *dims)
{
    pbw shape = {0}, tensor = {0}, type = {0}, vi = {0};
    for (int i = 0; i < rank; i++) {
        pbw d = {0};
        if (dims[i] >= 0)
            pbw_int(&d, 1, dims[i]);
        else
            pbw_str(&d, 2, "N");
        pbw_msg(&shape, 1, &d);
    }
    pbw_int(&tensor, 1, dtype);
    if (rank >= 0)
        pbw_msg(&tensor, 2, &shape);
    else
        pbw_free(&shape);
    pbw_msg(&type, 1, &tensor);
    pbw_str(&vi, 1, name);
    pbw_msg(&vi, 2, &type);
    return vi;
}

/* AttributeProto helpers (type codes of AttributeProto.AttributeType). */
static inline pbw pbw_attr_int(const char *name, int64_t v)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_int(&a, 3, v);
    pbw_int(&a, 20, 2);
    return a;
}

static inline pbw pbw_attr_float(const char *name, float v)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_float(&a, 2, v);
    pbw_int(&a, 20, 1);
    return a;
}

static inline pbw pbw_attr_ints(const char *name, int n, const int64_t *v)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    for (int i = 0; i < n; i++)
        pbw_int(&a, 8, v[i]);
    pbw_int(&a, 20, 7);
    return a;
}

static inline pbw pbw_attr_string(const char *name, const char *s)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_str(&a, 4, s);
    pbw_int(&a, 20, 3);
    return a;
}

/* Attribute holding a graph (an If/Loop body); takes `g`. */
static inline pbw pbw_attr_graph(const char *name, pbw *g)
{
    pbw a = {0};
    pbw_str(&a, 1, name);
    pbw_msg(&a, 6, g);
    pbw_int(&a, 20, 5);
    return a;
}

/* NodeProto; `attrs` (n_attrs of them) are taken. Inputs "" are absent ones. */
static inline pbw pbw_node(const char *op, int n_in, const char *const *in, int n_out, const char *const *out,
                           int n_attrs, pbw *attrs)
{
    pbw n = {0};
    for (int i = 0; i < n_in; i++)
        pbw_str(&n, 1, in[i]);
    for (int i = 0; i < n_out; i++)
        pbw_str(&n, 2, out[i]);
    pbw_str(&n, 4, op);
    for (int i = 0; i < n_attrs; i++)
        pbw_msg(&n, 5, &attrs[i]);
    return n;
}

/* Graph parts are appended with pbw_msg(&graph, field, &part):
 * 1 node, 5 initializer, 11 input, 12 output. */
enum { PBW_NODE = 1, PBW_INITIALIZER = 5, PBW_INPUT = 11, PBW_OUTPUT = 12 };

/* ModelProto (IR 8) around `graph` (taken) with a default-domain opset. */
static inline pbw pbw_model(pbw *graph, int64_t opset)
{
    pbw m = {0}, os = {0};
    pbw_int(&m, 1, 8);
    pbw_str(&os, 1, "");
    pbw_int(&os, 2, opset);
    pbw_msg(&m, 8, &os);
    pbw_msg(&m, 7, graph);
    return m;
}

#endif
