/*
 * onnx_scan.c — a pass over the protobuf wire format before protobuf-c
 * unpacks a model. protobuf-c recurses once per nested message and allocates
 * a whole C struct for every sub-message however few bytes encode it, so a
 * small hostile file could overflow the stack (subgraphs nested a million
 * deep) or ask for a hundred times its size in memory (millions of empty
 * nodes or attributes). This pass walks the bytes iteratively per level,
 * guided by the generated descriptors, and bounds the nesting depth, the
 * subgraph depth, the number of nodes and the memory the unpacked model will
 * take, before protobuf-c allocates anything.
 */
#include <string.h>

#include "frontends/onnx/onnx_scan.h"
#include "frontends/onnx/onnx_internal.h"
#include "frontends/onnx/onnx_wire.h"

/* protobuf's own default recursion limit; ONNX needs 6 levels plus 3 per subgraph */
#define MAX_MESSAGE_DEPTH 100
/* Unpacked size allowed per file byte, plus a floor for tiny files: real
 * models stay far below (their bytes are mostly weights). */
#define MEMORY_PER_BYTE 16
#define MEMORY_FLOOR ((uint64_t)1 << 20)
/* What protobuf-c keeps per unknown field, besides its bytes. */
#define UNKNOWN_FIELD_COST 32

typedef struct scan {
    const nn_load_options *opts;
    uint64_t memory;       /* estimate of protobuf-c's allocations */
    uint64_t nodes;        /* in every graph, subgraphs included */
    int max_graph_depth;   /* deepest subgraph nesting seen */
} scan;

static size_t scalar_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 4; /* int32, enums, floats, bools (protobuf_c_boolean is an int) */
    }
}

static nn_status parse_error(void)
{
    return nni_error(NN_E_PARSE, "not an ONNX model (protobuf parse failed: malformed or truncated)");
}

/* One message's bytes at nesting `depth`; `graph_depth` counts GraphProtos above (0 in the main graph). */
static nn_status scan_message(scan *s, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n, int depth,
                              int graph_depth)
{
    if (depth > MAX_MESSAGE_DEPTH)
        return nni_error(NN_E_LIMIT, "the model nests messages more than %d deep", MAX_MESSAGE_DEPTH);
    if (d == &onnx__graph_proto__descriptor) {
        if (graph_depth > s->max_graph_depth)
            s->max_graph_depth = graph_depth;
        if ((uint32_t)graph_depth > s->opts->max_subgraph_depth)
            return nni_error(NN_E_LIMIT, "the model nests subgraphs more than %u deep "
                             "(nn_load_options.max_subgraph_depth)", s->opts->max_subgraph_depth);
    }
    if (d == &onnx__node_proto__descriptor && ++s->nodes > s->opts->max_nodes)
        return nni_error(NN_E_LIMIT, "the model has more than %u nodes (nn_load_options.max_nodes)",
                         s->opts->max_nodes);
    size_t pos = 0;
    while (pos < n) {
        nni_pb_field fld;
        if (!nni_pb_field_next(p, n, &pos, &fld))
            return parse_error();
        uint32_t wire = (uint32_t)(fld.tag & 7);
        uint64_t number = fld.tag >> 3;
        const ProtobufCFieldDescriptor *f =
            number && number <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)number) : NULL;
        size_t start = fld.value, len = fld.len;
        if (!f) {
            s->memory += UNKNOWN_FIELD_COST + (pos - start);
            continue;
        }
        bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (wire != 2)
                return parse_error();
            const ProtobufCMessageDescriptor *sub = f->descriptor;
            s->memory += sub->sizeof_message + (repeated ? sizeof(void *) : 0);
            nn_status st = scan_message(s, sub, p + start, len, depth + 1,
                                        graph_depth + (sub == &onnx__graph_proto__descriptor &&
                                                       d != &onnx__model_proto__descriptor));
            if (st != NN_OK)
                return st;
        } else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
            s->memory += (pos - start) + 1 + (repeated ? sizeof(ProtobufCBinaryData) : 0);
        } else if (repeated) {
            uint64_t count = 1;
            if (wire == 2) { /* packed: count the elements */
                size_t es = scalar_size(f->type);
                if (f->type == PROTOBUF_C_TYPE_FLOAT || f->type == PROTOBUF_C_TYPE_FIXED32 ||
                    f->type == PROTOBUF_C_TYPE_SFIXED32)
                    count = len / 4;
                else if (f->type == PROTOBUF_C_TYPE_DOUBLE || f->type == PROTOBUF_C_TYPE_FIXED64 ||
                         f->type == PROTOBUF_C_TYPE_SFIXED64)
                    count = len / 8;
                else
                    for (count = 0; start < pos; start++)
                        count += !(p[start] & 0x80);
                s->memory += count * es;
            } else {
                s->memory += scalar_size(f->type);
            }
        }
    }
    return NN_OK;
}

nn_status nni_onnx_prescan(const uint8_t *bytes, size_t size, const nn_load_options *opts)
{
    scan s;
    memset(&s, 0, sizeof s);
    s.opts = opts;
    s.memory = onnx__model_proto__descriptor.sizeof_message;
    nn_status st = scan_message(&s, &onnx__model_proto__descriptor, bytes, size, 0, 0);
    if (st != NN_OK)
        return st;
    uint64_t budget = (uint64_t)size * MEMORY_PER_BYTE + MEMORY_FLOOR;
    if (s.memory > budget)
        return nni_error(NN_E_LIMIT, "parsing the %zu-byte model would take %llu bytes of memory: its structure is "
                         "far larger than its content (millions of empty nodes, attributes or dimensions)",
                         size, (unsigned long long)s.memory);
    return NN_OK;
}
