/* onnx_wire.h — reading protobuf's wire format field by field (the load-time walks over a model's bytes). */
#ifndef NNI_ONNX_WIRE_H
#define NNI_ONNX_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** A base-128 varint at *pos (advanced past it); false when it runs off the end or past 64 bits. */
static inline bool nni_pb_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *pos < n; shift += 7) {
        uint8_t b = p[(*pos)++];
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/** One field: its tag (number << 3 | wire type) and where its value lies. */
typedef struct nni_pb_field {
    uint64_t tag;
    size_t value;  /* offset of the value (after a length-delimited field's length) */
    size_t len;    /* bytes of the value */
} nni_pb_field;

/**
 * The field at *pos, with *pos advanced past it. False on a truncated or
 * malformed field, and on groups (wire types 3, 4) and invalid wire types,
 * which protobuf-c refuses too.
 */
static inline bool nni_pb_field_next(const uint8_t *p, size_t n, size_t *pos, nni_pb_field *f)
{
    uint64_t v;
    if (!nni_pb_varint(p, n, pos, &f->tag))
        return false;
    f->value = *pos;
    switch (f->tag & 7) {
    case 0:
        if (!nni_pb_varint(p, n, pos, &v))
            return false;
        break;
    case 1:
        if (n - *pos < 8)
            return false;
        *pos += 8;
        break;
    case 5:
        if (n - *pos < 4)
            return false;
        *pos += 4;
        break;
    case 2:
        if (!nni_pb_varint(p, n, pos, &v) || v > n - *pos)
            return false;
        f->value = *pos;
        *pos += (size_t)v;
        break;
    default:
        return false;
    }
    f->len = *pos - f->value;
    return true;
}

#endif
