/*
 * onnx_save.c — IR graph -> ONNX ModelProto: the live nodes with their
 * attributes, every constant they read as a raw_data initializer (load-time
 * folded ones included), typed graph inputs/outputs (symbolic dims by name),
 * the model's opset with the matching IR version, and the metadata.
 * The message points into the graph (names, tensor data): nothing is copied
 * and files are streamed, so saving needs no second copy of the weights.
 */
#include <string.h>

#include "core/atomic_file.h"
#include "frontends/onnx/onnx_export.h"
#include "frontends/onnx/onnx_internal.h"

/* ONNX's release table (docs/Versioning.md): the IR version that shipped with
 * each default-domain opset. Readers accept any IR version at least this. */
static int64_t ir_version_for_opset(int64_t opset)
{
    if (opset <= 8)
        return 3;
    if (opset == 9)
        return 4;
    if (opset == 10)
        return 5;
    if (opset == 11)
        return 6;
    if (opset <= 14)
        return 7;
    if (opset <= 18)
        return 8;
    if (opset <= 20)
        return 9;
    return 10;
}

/* Everything the message points to that the graph does not own. */
typedef struct {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opset_ptr;
    Onnx__NodeProto *nodes, **node_ptrs;
    char **io_names;                 /* node inputs and outputs, pooled */
    Onnx__AttributeProto *attrs, **attr_ptrs;
    ProtobufCBinaryData *strings;    /* STRINGS attributes, pooled */
    Onnx__TensorProto *tensors, **tensor_ptrs; /* initializers, then TENSOR attributes */
    Onnx__ValueInfoProto *vis, **vi_ptrs;      /* inputs (and, for IR 3, initializers), then outputs */
    Onnx__TypeProto *types;
    Onnx__TypeProto__Tensor *ttypes;
    Onnx__TensorShapeProto *shapes;
    Onnx__TensorShapeProto__Dimension *dims, **dim_ptrs;
    Onnx__StringStringEntryProto *meta, **meta_ptrs;
} export_msg;

static void msg_free(export_msg *m)
{
    nni_free(m->nodes);
    nni_free(m->node_ptrs);
    nni_free(m->io_names);
    nni_free(m->attrs);
    nni_free(m->attr_ptrs);
    nni_free(m->strings);
    nni_free(m->tensors);
    nni_free(m->tensor_ptrs);
    nni_free(m->vis);
    nni_free(m->vi_ptrs);
    nni_free(m->types);
    nni_free(m->ttypes);
    nni_free(m->shapes);
    nni_free(m->dims);
    nni_free(m->dim_ptrs);
    nni_free(m->meta);
    nni_free(m->meta_ptrs);
    memset(m, 0, sizeof *m);
}

static uint8_t empty_bytes[1];

static void fill_tensor(Onnx__TensorProto *tp, const nn_tensor *t, char *name)
{
    Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
    *tp = init;
    tp->n_dims = (size_t)t->rank;
    tp->dims = (int64_t *)t->dims;
    tp->has_data_type = 1;
    tp->data_type = t->dtype;
    tp->name = name;
    tp->has_raw_data = 1;
    tp->raw_data.len = t->nbytes;
    tp->raw_data.data = t->nbytes ? t->data : empty_bytes; /* little-endian host, as the loader assumes */
}

/* Fill one ValueInfoProto; *dim_at advances through the pooled dimensions. */
static void fill_value_info(export_msg *m, int32_t k, const nni_value *v, const nn_tensor *info, size_t *dim_at)
{
    Onnx__ValueInfoProto vi = ONNX__VALUE_INFO_PROTO__INIT;
    Onnx__TypeProto tp = ONNX__TYPE_PROTO__INIT;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    Onnx__TensorShapeProto sp = ONNX__TENSOR_SHAPE_PROTO__INIT;
    m->vis[k] = vi;
    m->types[k] = tp;
    m->ttypes[k] = tt;
    m->shapes[k] = sp;
    m->vis[k].name = v->name;
    m->vis[k].type = &m->types[k];
    m->types[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    m->types[k].tensor_type = &m->ttypes[k];
    if (info->dtype != NN_DTYPE_UNDEFINED) {
        m->ttypes[k].has_elem_type = 1;
        m->ttypes[k].elem_type = info->dtype;
    }
    if (info->rank < 0)
        return; /* unknown rank: no shape */
    m->ttypes[k].shape = &m->shapes[k];
    m->shapes[k].n_dim = (size_t)info->rank;
    m->shapes[k].dim = &m->dim_ptrs[*dim_at];
    for (int32_t d = 0; d < info->rank; d++) {
        Onnx__TensorShapeProto__Dimension dim = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        if (info->dims[d] >= 0) {
            dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            dim.dim_value = info->dims[d];
        } else if (v->dim_sym[d]) {
            dim.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            dim.dim_param = v->dim_sym[d];
        }
        m->dims[*dim_at] = dim;
        m->dim_ptrs[*dim_at] = &m->dims[*dim_at];
        (*dim_at)++;
    }
}

static nn_status fill_attr(export_msg *m, const nni_node *n, const nni_attr *a, Onnx__AttributeProto *ap,
                           size_t *string_at, size_t *tensor_at)
{
    Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;
    *ap = init;
    ap->name = a->name;
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case NNI_ATTR_FLOAT:
        ap->has_f = 1;
        ap->f = a->f;
        break;
    case NNI_ATTR_INT:
        ap->has_i = 1;
        ap->i = a->i;
        break;
    case NNI_ATTR_STRING:
        ap->has_s = 1;
        ap->s.len = strlen(a->s);
        ap->s.data = ap->s.len ? (uint8_t *)a->s : empty_bytes;
        break;
    case NNI_ATTR_TENSOR:
        fill_tensor(&m->tensors[*tensor_at], a->t, a->t->name ? a->t->name : "");
        ap->t = &m->tensors[(*tensor_at)++];
        break;
    case NNI_ATTR_FLOATS:
        ap->n_floats = a->n;
        ap->floats = a->floats;
        break;
    case NNI_ATTR_INTS:
        ap->n_ints = a->n;
        ap->ints = a->ints;
        break;
    case NNI_ATTR_STRINGS:
        ap->n_strings = a->n;
        ap->strings = &m->strings[*string_at];
        for (size_t i = 0; i < a->n; i++) {
            m->strings[*string_at].len = strlen(a->strings[i]);
            m->strings[*string_at].data = (uint8_t *)a->strings[i];
            (*string_at)++;
        }
        break;
    default:
        return nni_error(NN_E_UNSUPPORTED, "node '%s' (%s): attribute '%s' of type %d cannot be saved", n->name,
                         n->op_type, a->name, (int)a->type);
    }
    return NN_OK;
}

/* Which values the saved graph stores as initializers: constants that live nodes read, or outputs. */
static nn_status mark_initializers(const nni_graph *g, uint8_t *init)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && g->values[n->in[k]].constant)
                init[n->in[k]] = 1;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && g->values[n->out[k]].constant)
                return nni_error(NN_E_INTERNAL, "node '%s' is live but its output '%s' is a constant", n->name,
                                 g->values[n->out[k]].name);
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->values[g->outputs[i]].constant)
            init[g->outputs[i]] = 1;
    return NN_OK;
}

static nn_status build_msg(const nni_graph *g, export_msg *m)
{
    nn_status st = NN_OK;
    memset(m, 0, sizeof *m);
    uint8_t *init = nni_calloc((size_t)(g->n_values ? g->n_values : 1), 1);
    if (!init)
        return nni_error(NN_E_NOMEM, "cannot allocate the initializer table");
    if ((st = mark_initializers(g, init)) != NN_OK)
        goto done;
    size_t n_nodes = 0, n_io = 0, n_attr = 0, n_strings = 0, n_tensor_attr = 0, n_init = 0, n_dims = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        n_nodes++;
        n_io += (size_t)n->n_in + (size_t)n->n_out;
        n_attr += (size_t)n->n_attr;
        for (int32_t k = 0; k < n->n_attr; k++) {
            if (n->attrs[k].type == NNI_ATTR_STRINGS)
                n_strings += n->attrs[k].n;
            if (n->attrs[k].type == NNI_ATTR_TENSOR)
                n_tensor_attr++;
        }
    }
    for (int32_t v = 0; v < g->n_values; v++)
        if (init[v]) {
            n_init++;
            n_dims += (size_t)g->values[v].constant->rank;
        }
    int64_t ir = ir_version_for_opset(g->opset);
    bool init_as_input = ir < 4; /* before IR 4 every initializer is also a graph input */
    size_t n_vi = (size_t)g->n_inputs + (size_t)g->n_outputs + (init_as_input ? n_init : 0);
    for (int32_t i = 0; i < g->n_inputs; i++)
        n_dims += (size_t)(g->values[g->inputs[i]].info.rank > 0 ? g->values[g->inputs[i]].info.rank : 0);
    for (int32_t i = 0; i < g->n_outputs; i++)
        n_dims += (size_t)(g->values[g->outputs[i]].info.rank > 0 ? g->values[g->outputs[i]].info.rank : 0);
#define POOL(field, count) (m->field = nni_calloc((count) ? (count) : 1, sizeof *m->field))
    if (!POOL(nodes, n_nodes) || !POOL(node_ptrs, n_nodes) || !POOL(io_names, n_io) || !POOL(attrs, n_attr) ||
        !POOL(attr_ptrs, n_attr) || !POOL(strings, n_strings) || !POOL(tensors, n_init + n_tensor_attr) ||
        !POOL(tensor_ptrs, n_init) || !POOL(vis, n_vi) || !POOL(vi_ptrs, n_vi) || !POOL(types, n_vi) ||
        !POOL(ttypes, n_vi) || !POOL(shapes, n_vi) || !POOL(dims, n_dims) || !POOL(dim_ptrs, n_dims) ||
        !POOL(meta, (size_t)g->n_meta) || !POOL(meta_ptrs, (size_t)g->n_meta)) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the ONNX message");
        goto done;
    }
#undef POOL
    /* nodes */
    size_t io_at = 0, attr_at = 0, string_at = 0, tensor_at = n_init, node_at = 0;
    static char empty_name[] = "";
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        Onnx__NodeProto np = ONNX__NODE_PROTO__INIT;
        np.name = n->name;
        np.op_type = n->op_type;
        np.domain = n->domain && *n->domain ? n->domain : NULL;
        np.n_input = (size_t)n->n_in;
        np.input = &m->io_names[io_at];
        for (int32_t k = 0; k < n->n_in; k++)
            m->io_names[io_at++] = n->in[k] >= 0 ? g->values[n->in[k]].name : empty_name;
        np.n_output = (size_t)n->n_out;
        np.output = &m->io_names[io_at];
        for (int32_t k = 0; k < n->n_out; k++)
            m->io_names[io_at++] = n->out[k] >= 0 ? g->values[n->out[k]].name : empty_name;
        np.n_attribute = (size_t)n->n_attr;
        np.attribute = &m->attr_ptrs[attr_at];
        for (int32_t k = 0; k < n->n_attr; k++) {
            if ((st = fill_attr(m, n, &n->attrs[k], &m->attrs[attr_at], &string_at, &tensor_at)) != NN_OK)
                goto done;
            m->attr_ptrs[attr_at] = &m->attrs[attr_at];
            attr_at++;
        }
        m->nodes[node_at] = np;
        m->node_ptrs[node_at] = &m->nodes[node_at];
        node_at++;
    }
    /* initializers */
    size_t init_at = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!init[v])
            continue;
        fill_tensor(&m->tensors[init_at], g->values[v].constant, g->values[v].name);
        m->tensor_ptrs[init_at] = &m->tensors[init_at];
        init_at++;
    }
    /* graph inputs and outputs */
    size_t vi_at = 0, dim_at = 0;
    for (int32_t i = 0; i < g->n_inputs; i++, vi_at++) {
        const nni_value *v = &g->values[g->inputs[i]];
        fill_value_info(m, (int32_t)vi_at, v, &v->info, &dim_at);
        m->vi_ptrs[vi_at] = &m->vis[vi_at];
    }
    if (init_as_input) {
        for (int32_t v = 0; v < g->n_values; v++) {
            if (!init[v])
                continue;
            fill_value_info(m, (int32_t)vi_at, &g->values[v], g->values[v].constant, &dim_at);
            m->vi_ptrs[vi_at] = &m->vis[vi_at];
            vi_at++;
        }
    }
    size_t n_in_vi = vi_at;
    for (int32_t i = 0; i < g->n_outputs; i++, vi_at++) {
        const nni_value *v = &g->values[g->outputs[i]];
        fill_value_info(m, (int32_t)vi_at, v, v->constant ? v->constant : &v->info, &dim_at);
        m->vi_ptrs[vi_at] = &m->vis[vi_at];
    }
    for (int32_t i = 0; i < g->n_meta; i++) {
        Onnx__StringStringEntryProto e = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
        e.key = g->meta_keys[i];
        e.value = g->meta_values[i];
        m->meta[i] = e;
        m->meta_ptrs[i] = &m->meta[i];
    }
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    gp.name = g->name && *g->name ? g->name : "nn";
    gp.n_node = n_nodes;
    gp.node = m->node_ptrs;
    gp.n_initializer = n_init;
    gp.initializer = m->tensor_ptrs;
    gp.n_input = n_in_vi;
    gp.input = m->vi_ptrs;
    gp.n_output = (size_t)g->n_outputs;
    gp.output = m->vi_ptrs + n_in_vi;
    m->graph = gp;
    Onnx__OperatorSetIdProto os = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    os.domain = empty_name;
    os.has_version = 1;
    os.version = g->opset;
    m->opset = os;
    m->opset_ptr = &m->opset;
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    mp.has_ir_version = 1;
    mp.ir_version = ir;
    mp.producer_name = "nn";
    mp.producer_version = (char *)nn_version();
    mp.graph = &m->graph;
    if (g->opset > 0) { /* 0: the model had no default-domain node */
        mp.n_opset_import = 1;
        mp.opset_import = &m->opset_ptr;
    }
    mp.n_metadata_props = (size_t)g->n_meta;
    mp.metadata_props = m->meta_ptrs;
    m->model = mp;
done:
    nni_free(init);
    if (st != NN_OK)
        msg_free(m);
    return st;
}

nn_status nni_onnx_save_memory(const nni_graph *g, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    export_msg m;
    nn_status st = build_msg(g, &m);
    if (st != NN_OK)
        return st;
    size_t len = onnx__model_proto__get_packed_size(&m.model);
    uint8_t *buf = nni_malloc(len ? len : 1);
    if (!buf) {
        msg_free(&m);
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for the model", len);
    }
    onnx__model_proto__pack(&m.model, buf);
    msg_free(&m);
    *data = buf;
    *size = len;
    return NN_OK;
}

/* protobuf-c streams the message through append(): straight into the file. */
typedef struct {
    ProtobufCBuffer base;
    nni_atomic_file *af;
} file_sink;

static void sink_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    file_sink *s = (file_sink *)b;
    nni_atomic_file_write(s->af, data, len);
}

nn_status nni_onnx_save_file(const nni_graph *g, const char *path)
{
    export_msg m;
    nn_status st = build_msg(g, &m);
    if (st != NN_OK)
        return st;
    nni_atomic_file af;
    if ((st = nni_atomic_file_open(&af, path)) != NN_OK) {
        msg_free(&m);
        return st;
    }
    file_sink sink = {{sink_append}, &af};
    onnx__model_proto__pack_to_buffer(&m.model, &sink.base);
    msg_free(&m);
    return nni_atomic_file_commit(&af);
}
