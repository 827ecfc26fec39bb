/*
 * fuzz_onnx_graph.c — structure-aware libFuzzer target: the fuzz bytes
 * choose a small ONNX graph (opset, typed inputs of small or hostile shapes,
 * initializers, up to a dozen nodes of the operators nn supports, wired to
 * earlier values, with attributes drawn from the names and values operators
 * read, extreme ones included); the graph is serialized with protobuf-c,
 * loaded and, when it loads, run on inputs filled from the remaining bytes.
 * Raw-byte fuzzing rarely gets past the protobuf layer into shape inference
 * and kernels; this target starts there.
 * With NN_FUZZ_DUMP=path in the environment the generated model is written
 * to that file (to turn a crashing input into a test/data/regress model).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_run.h"
#include "onnx.pb-c.h"

/* ---- reading choices from the fuzz bytes (zeros once exhausted) ---- */

typedef struct reader {
    const uint8_t *p;
    size_t n, pos;
} reader;

static uint8_t u8(reader *r) { return r->pos < r->n ? r->p[r->pos++] : 0; }
static uint32_t below(reader *r, uint32_t bound) /* in [0, bound) */
{
    if (bound <= 1)
        return 0;
    uint32_t v = u8(r);
    if (bound > 256)
        v = v << 8 | u8(r);
    return v % bound;
}
static bool chance(reader *r, uint32_t in256) { return u8(r) < in256; }

static const int64_t interesting_ints[] = {
    0, 1, 2, 3, -1, -2, 4, 5, 1, 2, 0, 1, -3, 6, 8, 16, 7, -4, 255, 256, 65536, -65536, INT32_MAX, INT32_MIN,
    (int64_t)1 << 31, (int64_t)1 << 40, -((int64_t)1 << 40), INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, 1000000,
};

static int64_t pick_int(reader *r)
{
    uint8_t k = u8(r);
    if (k < 200)
        return interesting_ints[k % (sizeof interesting_ints / sizeof *interesting_ints)];
    int64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (int64_t)((uint64_t)v << 8 | u8(r));
    return v;
}

static float pick_float(reader *r)
{
    static const float vals[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 1e-5f, 3.0f, 0.1f, -0.5f, 10.0f, 1e30f, -1e30f,
                                 1e-40f, 0.0f, 6.0f, 0.75f};
    uint8_t k = u8(r);
    if (k < 230)
        return vals[k % (sizeof vals / sizeof *vals)];
    if (k < 240)
        return k & 1 ? INFINITY : -INFINITY;
    if (k < 245)
        return NAN;
    uint32_t bits = (uint32_t)u8(r) | (uint32_t)u8(r) << 8 | (uint32_t)u8(r) << 16 | (uint32_t)u8(r) << 24;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* ---- allocation pool: everything built for one input, freed at the end ---- */

#define POOL_MAX 4096

typedef struct pool {
    void *ptrs[POOL_MAX];
    int n;
} pool;

static void *pz(pool *p, size_t size)
{
    if (p->n == POOL_MAX)
        return NULL;
    void *q = calloc(1, size ? size : 1);
    if (q)
        p->ptrs[p->n++] = q;
    return q;
}

static char *pstr(pool *p, const char *s)
{
    char *d = pz(p, strlen(s) + 1);
    if (d)
        strcpy(d, s);
    return d;
}

static void pool_free(pool *p)
{
    for (int i = 0; i < p->n; i++)
        free(p->ptrs[i]);
    p->n = 0;
}

/* ---- dictionaries ---- */

static const char *const attr_names[] = {
    "axis", "axes", "keepdims", "perm", "kernel_shape", "strides", "pads", "dilations", "group", "auto_pad",
    "ceil_mode", "count_include_pad", "storage_order", "alpha", "beta", "gamma", "epsilon", "momentum", "mode", "to",
    "value", "starts", "ends", "steps", "split", "num_outputs", "k", "largest", "sorted", "transA", "transB",
    "blocksize", "exclusive", "reverse", "select_last_index", "noop_with_empty_axes", "coordinate_transformation_mode",
    "nearest_mode", "cubic_coeff_a", "exclude_outside", "extrapolation_value", "scales", "sizes", "size", "bias",
    "lambd", "min", "max", "p", "seed", "dtype", "high", "low", "mean", "scale", "shape", "allowzero", "batch_dims",
    "depth", "center_point_box", "output_height", "output_width", "sampling_ratio", "spatial_scale", "upper", "fmod",
    "training_mode", "output_padding", "output_shape", "value_float", "value_int", "value_floats", "value_ints",
    "across_channels", "normalize_variance", "reduction", "stash_type", "ratio", "antialias",
    "keep_aspect_ratio_policy", "direction", "detect_positive", "detect_negative", "spatial", "consumed_inputs",
    "is_test", "broadcast", "pooled_shape", "count_include_pad", "output_dtype", "sample_size", "delta",
};

static const char *const string_values[] = {
    "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "constant", "reflect", "edge", "wrap", "nearest", "linear", "cubic",
    "bilinear", "DCR", "CRD", "half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_crop_and_resize",
    "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "LEFT", "RIGHT", "avg", "max", "", "none", "sum",
    "mean", "add", "mul", "stretch", "not_larger", "not_smaller", "half_pixel_symmetric", "output_half_pixel",
};

/* element types graph inputs and initializers use, float32 most often */
static const int32_t dtypes[] = {
    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
    ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, ONNX__TENSOR_PROTO__DATA_TYPE__INT32,
    ONNX__TENSOR_PROTO__DATA_TYPE__BOOL, ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, ONNX__TENSOR_PROTO__DATA_TYPE__INT8,
    ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16, ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
    ONNX__TENSOR_PROTO__DATA_TYPE__UINT16, ONNX__TENSOR_PROTO__DATA_TYPE__INT16,
    ONNX__TENSOR_PROTO__DATA_TYPE__UINT32, ONNX__TENSOR_PROTO__DATA_TYPE__UINT64,
    ONNX__TENSOR_PROTO__DATA_TYPE__STRING,
};

static const int64_t opsets[] = {13, 13, 11, 17, 7, 9, 10, 12, 14, 15, 16, 18, 6, 1, 21, 8};

#define MAX_VALUES 64

typedef struct gen {
    reader r;
    pool p;
    char *values[MAX_VALUES]; /* names of the values so far */
    int n_values;
    int next_name;
} gen;

static char *new_value(gen *g)
{
    char buf[24];
    snprintf(buf, sizeof buf, "v%d", g->next_name++);
    char *s = pstr(&g->p, buf);
    if (s && g->n_values < MAX_VALUES)
        g->values[g->n_values++] = s;
    return s;
}

static size_t dtype_size(int32_t t)
{
    switch (t) {
    case 1: case 6: case 12: return 4;
    case 2: case 3: case 9: return 1;
    case 4: case 5: case 10: return 2;
    case 7: case 11: case 13: return 8;
    default: return 0;
    }
}

/* A small dimension, sometimes zero or hostile. */
static int64_t pick_dim(reader *r)
{
    uint8_t k = u8(r);
    if (k < 240)
        return k % 6;
    return pick_int(r);
}

/* A tensor: usually consistent (raw_data or the right typed field), sometimes not. */
static Onnx__TensorProto *make_tensor(gen *g, const char *name)
{
    reader *r = &g->r;
    Onnx__TensorProto *t = pz(&g->p, sizeof *t);
    if (!t)
        return NULL;
    onnx__tensor_proto__init(t);
    t->name = name ? (char *)name : NULL;
    t->has_data_type = 1;
    t->data_type = dtypes[below(r, sizeof dtypes / sizeof *dtypes)];
    if (chance(r, 4))
        t->data_type = (int32_t)pick_int(r);
    size_t rank = below(r, 4);
    if (chance(r, 2))
        rank = below(r, 12);
    t->n_dims = rank;
    t->dims = pz(&g->p, rank * sizeof *t->dims);
    if (!t->dims)
        return NULL;
    int64_t count = 1;
    bool hostile = false;
    for (size_t i = 0; i < rank; i++) {
        t->dims[i] = pick_dim(r);
        if (t->dims[i] < 0 || t->dims[i] > 64 || (count *= t->dims[i]) > 256)
            hostile = true;
    }
    if (hostile || count < 0)
        count = 4;
    size_t es = dtype_size(t->data_type);
    uint8_t how = u8(r);
    if (how < 160 && es) {
        /* raw_data, values from interesting ints for integer types so shapes/axes make sense */
        size_t nb = (size_t)count * es;
        if (chance(r, 4))
            nb = below(r, 64);
        uint8_t *d = pz(&g->p, nb);
        if (!d)
            return NULL;
        for (size_t i = 0; i < nb / (es ? es : 1); i++) {
            if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
                int64_t v = pick_int(r);
                memcpy(d + i * 8, &v, 8);
            } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT32) {
                int32_t v = (int32_t)pick_int(r);
                memcpy(d + i * 4, &v, 4);
            } else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
                float v = pick_float(r);
                memcpy(d + i * 4, &v, 4);
            } else {
                for (size_t b = 0; b < es; b++)
                    d[i * es + b] = u8(r);
            }
        }
        t->has_raw_data = 1;
        t->raw_data.len = nb;
        t->raw_data.data = d;
    } else if (how < 240) {
        /* typed field matching the type (or not) */
        size_t n = (size_t)count;
        if (chance(r, 4))
            n = below(r, 16);
        switch (u8(r) % 5) {
        case 0:
            t->n_float_data = n;
            t->float_data = pz(&g->p, n * sizeof(float));
            for (size_t i = 0; t->float_data && i < n; i++)
                t->float_data[i] = pick_float(r);
            break;
        case 1:
            t->n_int64_data = n;
            t->int64_data = pz(&g->p, n * sizeof(int64_t));
            for (size_t i = 0; t->int64_data && i < n; i++)
                t->int64_data[i] = pick_int(r);
            break;
        case 2:
            t->n_int32_data = n;
            t->int32_data = pz(&g->p, n * sizeof(int32_t));
            for (size_t i = 0; t->int32_data && i < n; i++)
                t->int32_data[i] = (int32_t)pick_int(r);
            break;
        case 3:
            t->n_double_data = n;
            t->double_data = pz(&g->p, n * sizeof(double));
            for (size_t i = 0; t->double_data && i < n; i++)
                t->double_data[i] = pick_float(r);
            break;
        default:
            t->n_uint64_data = n;
            t->uint64_data = pz(&g->p, n * sizeof(uint64_t));
            for (size_t i = 0; t->uint64_data && i < n; i++)
                t->uint64_data[i] = (uint64_t)pick_int(r);
            break;
        }
    } else {
        /* external data from memory: must be refused */
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        Onnx__StringStringEntryProto *e = pz(&g->p, sizeof *e);
        Onnx__StringStringEntryProto **list = pz(&g->p, sizeof *list);
        if (!e || !list)
            return NULL;
        onnx__string_string_entry_proto__init(e);
        e->key = "location";
        e->value = u8(r) & 1 ? "../../etc/passwd" : "/dev/zero";
        list[0] = e;
        t->n_external_data = 1;
        t->external_data = list;
    }
    return t;
}

static Onnx__ValueInfoProto *make_value_info(gen *g, const char *name, int32_t dtype, bool with_shape)
{
    reader *r = &g->r;
    Onnx__ValueInfoProto *vi = pz(&g->p, sizeof *vi);
    Onnx__TypeProto *tp = pz(&g->p, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = pz(&g->p, sizeof *tt);
    if (!vi || !tp || !tt)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    vi->name = (char *)name;
    vi->type = tp;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
    if (!with_shape)
        return vi;
    Onnx__TensorShapeProto *sh = pz(&g->p, sizeof *sh);
    if (!sh)
        return NULL;
    onnx__tensor_shape_proto__init(sh);
    tt->shape = sh;
    size_t rank = below(r, 5);
    if (chance(r, 3))
        rank = below(r, 12);
    sh->n_dim = rank;
    sh->dim = pz(&g->p, rank * sizeof *sh->dim);
    for (size_t i = 0; sh->dim && i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = pz(&g->p, sizeof *d);
        if (!d)
            return NULL;
        onnx__tensor_shape_proto__dimension__init(d);
        if (chance(r, 40)) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = u8(r) & 1 ? "N" : "batch";
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = pick_dim(r);
        }
        sh->dim[i] = d;
    }
    return vi;
}

static Onnx__AttributeProto *make_attr(gen *g)
{
    reader *r = &g->r;
    Onnx__AttributeProto *a = pz(&g->p, sizeof *a);
    if (!a)
        return NULL;
    onnx__attribute_proto__init(a);
    a->name = (char *)attr_names[below(r, sizeof attr_names / sizeof *attr_names)];
    a->has_type = 1;
    uint8_t kind = u8(r) % 8;
    switch (kind) {
    case 0: case 1:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = pick_int(r);
        break;
    case 2: {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        size_t n = below(r, 9);
        a->n_ints = n;
        a->ints = pz(&g->p, n * sizeof *a->ints);
        for (size_t i = 0; a->ints && i < n; i++)
            a->ints[i] = pick_int(r);
        break;
    }
    case 3:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = pick_float(r);
        break;
    case 4: {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        size_t n = below(r, 9);
        a->n_floats = n;
        a->floats = pz(&g->p, n * sizeof *a->floats);
        for (size_t i = 0; a->floats && i < n; i++)
            a->floats[i] = pick_float(r);
        break;
    }
    case 5: {
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        const char *s = string_values[below(r, sizeof string_values / sizeof *string_values)];
        a->has_s = 1;
        a->s.len = strlen(s);
        a->s.data = (uint8_t *)s;
        break;
    }
    case 6:
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
        a->t = make_tensor(g, NULL);
        break;
    default:
        /* an empty subgraph or an unused kind */
        if (u8(r) & 1) {
            Onnx__GraphProto *sub = pz(&g->p, sizeof *sub);
            if (sub) {
                onnx__graph_proto__init(sub);
                a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
                a->g = sub;
            }
        } else {
            a->has_type = u8(r) & 1;
            a->type = (Onnx__AttributeProto__AttributeType)(u8(r) % 16);
        }
        break;
    }
    return a;
}

/* Pick an existing value name (or an empty / dangling one, rarely). */
static char *pick_input(gen *g)
{
    reader *r = &g->r;
    uint8_t k = u8(r);
    if (k < 8)
        return "";
    if (k < 10 || g->n_values == 0)
        return "nowhere";
    /* favour recent values so chains form */
    uint32_t back = below(r, (uint32_t)g->n_values);
    if (k < 160)
        back = back % 3;
    if (back >= (uint32_t)g->n_values)
        back = (uint32_t)g->n_values - 1;
    return g->values[g->n_values - 1 - back];
}

static Onnx__NodeProto *make_node(gen *g, int index)
{
    reader *r = &g->r;
    Onnx__NodeProto *n = pz(&g->p, sizeof *n);
    if (!n)
        return NULL;
    onnx__node_proto__init(n);
    uint32_t n_ops = nn_supported_op_count();
    n->op_type = (char *)nn_supported_op_name(below(r, n_ops ? n_ops : 1));
    if (!n->op_type)
        n->op_type = "Identity";
    char name[24];
    snprintf(name, sizeof name, "n%d", index);
    n->name = pstr(&g->p, name);
    uint8_t k = u8(r);
    n->n_input = k < 100 ? 1 : k < 200 ? 2 : k < 240 ? 3 : k % 7;
    n->input = pz(&g->p, n->n_input * sizeof *n->input);
    for (size_t i = 0; n->input && i < n->n_input; i++)
        n->input[i] = pick_input(g);
    k = u8(r);
    n->n_output = k < 220 ? 1 : k % 4;
    n->output = pz(&g->p, n->n_output * sizeof *n->output);
    for (size_t i = 0; n->output && i < n->n_output; i++) {
        /* an empty optional output, a reused name (produced twice) or a new value */
        uint8_t o = u8(r);
        n->output[i] = o < 4 ? "" : (o < 6 && g->n_values) ? g->values[0] : new_value(g);
        if (!n->output[i])
            n->output[i] = "";
    }
    n->n_attribute = below(r, 5);
    n->attribute = pz(&g->p, n->n_attribute * sizeof *n->attribute);
    for (size_t i = 0; n->attribute && i < n->n_attribute; i++)
        if (!(n->attribute[i] = make_attr(g)))
            return NULL;
    if (!n->input || !n->output || !n->attribute)
        return NULL;
    return n;
}

/* Build the model and serialize it; returns malloc'd bytes or NULL. */
static uint8_t *build_model(gen *g, size_t *size)
{
    reader *r = &g->r;
    Onnx__ModelProto model = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto graph = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto opset = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *opsets_list[1] = {&opset};
    model.has_ir_version = 1;
    model.ir_version = 8;
    opset.domain = "";
    opset.has_version = 1;
    opset.version = opsets[below(r, sizeof opsets / sizeof *opsets)];
    model.n_opset_import = 1;
    model.opset_import = opsets_list;
    model.graph = &graph;
    graph.name = "fuzz";

    /* inputs */
    Onnx__ValueInfoProto *inputs[4];
    graph.n_input = 1 + below(r, 3);
    graph.input = inputs;
    for (size_t i = 0; i < graph.n_input; i++) {
        int32_t dt = dtypes[below(r, 8)];
        if (!(inputs[i] = make_value_info(g, new_value(g), dt, !chance(r, 8))))
            return NULL;
    }
    /* initializers */
    Onnx__TensorProto *inits[6];
    graph.n_initializer = below(r, 6);
    graph.initializer = inits;
    for (size_t i = 0; i < graph.n_initializer; i++)
        if (!(inits[i] = make_tensor(g, new_value(g))))
            return NULL;
    /* nodes */
    Onnx__NodeProto *nodes[12];
    graph.n_node = 1 + below(r, 12);
    graph.node = nodes;
    for (size_t i = 0; i < graph.n_node; i++)
        if (!(nodes[i] = make_node(g, (int)i)))
            return NULL;
    /* outputs: the last value, sometimes more */
    Onnx__ValueInfoProto *outputs[3];
    graph.n_output = 1 + (chance(r, 40) ? below(r, 3) : 0);
    graph.output = outputs;
    for (size_t i = 0; i < graph.n_output; i++) {
        const char *name = i == 0 ? g->values[g->n_values - 1] : pick_input(g);
        if (!(outputs[i] = make_value_info(g, name, ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, false)))
            return NULL;
    }
    *size = onnx__model_proto__get_packed_size(&model);
    uint8_t *bytes = malloc(*size ? *size : 1);
    if (bytes)
        onnx__model_proto__pack(&model, bytes);
    return bytes;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gen g; /* large: keep it off the stack */
    memset(&g, 0, sizeof g);
    g.r.p = data;
    g.r.n = size;
    size_t model_size = 0;
    uint8_t *model = build_model(&g, &model_size);
    size_t used = g.r.pos;
    pool_free(&g.p);
    if (!model)
        return 0;
    const char *dump = getenv("NN_FUZZ_DUMP");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (f) {
            fwrite(model, 1, model_size, f);
            fclose(f);
        }
    }
    nn_load_options o;
    fuzz_load_options(&o);
    o.format = NN_FORMAT_ONNX;
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(model, model_size, &o, &m);
    fuzz_check_status(st);
    if (st == NN_OK) {
        fuzz_run_model(m, data + used, size - used);
        fuzz_save_round_trip(m, &o);
        nn_model_free(m);
    }
    free(model);
    return 0;
}
