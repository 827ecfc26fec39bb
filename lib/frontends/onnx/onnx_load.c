/*
 * onnx_load.c — ONNX ModelProto bytes -> IR graph. Validates everything it
 * reads: a malformed or hostile file is an error, never a crash.
 */
#include <stdio.h>
#include <string.h>

#include "frontends/onnx/onnx_import.h"
#include "frontends/onnx/onnx_internal.h"
#include "frontends/onnx/onnx_scan.h"
#include "ops/op.h"

#define NNI_ONNX_MIN_OPSET 1
#define NNI_ONNX_MAX_OPSET 21
#define NNI_ONNX_MAX_METADATA 10000

static bool is_default_domain(const char *d) { return !d || !*d || strcmp(d, "ai.onnx") == 0; }

/* Tensors of the file (initializers, tensor attributes, external data) count
 * against the model's total: external data could otherwise reference the
 * same large file from any number of tensors. */
static nn_status add_total(const nni_graph *g, uint64_t *total, const nn_tensor *t, const char *what)
{
    *total += t->nbytes;
    if (g->limits.max_total_bytes && *total > g->limits.max_total_bytes)
        return nni_error(NN_E_LIMIT, "the model's tensors total more than %llu bytes at %s "
                         "(nn_load_options.max_model_bytes)", (unsigned long long)g->limits.max_total_bytes, what);
    return NN_OK;
}

static nn_status convert_subgraph(const nni_graph *parent, const Onnx__GraphProto *gp, const char *base_dir,
                                  uint64_t *total, nni_graph **out);

static nn_status convert_attr(const nni_graph *g, const Onnx__AttributeProto *ap, const char *base_dir, uint64_t *total,
                              nni_attr *a)
{
    memset(a, 0, sizeof *a);
    if (!ap->name || !*ap->name)
        return nni_error(NN_E_INVALID_MODEL, "an attribute has no name");
    if (!(a->name = nni_strdup(ap->name)))
        return nni_error(NN_E_NOMEM, "cannot copy attribute name");
    int type = ap->has_type ? (int)ap->type : 0;
    if (type == 0) {
        /* IR version < 2 files omit the type: infer it from what is set */
        if (ap->n_ints) type = NNI_ATTR_INTS;
        else if (ap->n_floats) type = NNI_ATTR_FLOATS;
        else if (ap->n_strings) type = NNI_ATTR_STRINGS;
        else if (ap->t) type = NNI_ATTR_TENSOR;
        else if (ap->has_s) type = NNI_ATTR_STRING;
        else if (ap->has_f) type = NNI_ATTR_FLOAT;
        else if (ap->has_i) type = NNI_ATTR_INT;
    }
    switch (type) {
    case NNI_ATTR_FLOAT: a->f = ap->f; break;
    case NNI_ATTR_INT: a->i = ap->i; break;
    case NNI_ATTR_STRING:
        a->s = nni_malloc(ap->s.len + 1);
        if (!a->s)
            return nni_error(NN_E_NOMEM, "cannot copy attribute '%s'", ap->name);
        if (ap->s.len)
            memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = '\0';
        break;
    case NNI_ATTR_TENSOR: {
        if (!ap->t)
            return nni_error(NN_E_INVALID_MODEL, "tensor attribute '%s' has no tensor", ap->name);
        nn_status st = nni_onnx_tensor_from_proto(ap->t, base_dir, &g->limits, &a->t);
        if (st == NN_OK)
            st = add_total(g, total, a->t, "a tensor attribute");
        if (st != NN_OK)
            return nni_error_prefix(st, "attribute '%s'", ap->name);
        break;
    }
    case NNI_ATTR_FLOATS:
        a->n = ap->n_floats;
        a->floats = nni_malloc((a->n ? a->n : 1) * sizeof(float));
        if (!a->floats)
            return nni_error(NN_E_NOMEM, "cannot copy attribute '%s'", ap->name);
        if (a->n)
            memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case NNI_ATTR_INTS:
        a->n = ap->n_ints;
        a->ints = nni_malloc((a->n ? a->n : 1) * sizeof(int64_t));
        if (!a->ints)
            return nni_error(NN_E_NOMEM, "cannot copy attribute '%s'", ap->name);
        if (a->n)
            memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    case NNI_ATTR_STRINGS:
        a->strings = nni_calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
        if (!a->strings)
            return nni_error(NN_E_NOMEM, "cannot copy attribute '%s'", ap->name);
        a->n = ap->n_strings;
        for (size_t i = 0; i < ap->n_strings; i++) {
            a->strings[i] = nni_malloc(ap->strings[i].len + 1);
            if (!a->strings[i])
                return nni_error(NN_E_NOMEM, "cannot copy attribute '%s'", ap->name);
            if (ap->strings[i].len)
                memcpy(a->strings[i], ap->strings[i].data, ap->strings[i].len);
            a->strings[i][ap->strings[i].len] = '\0';
        }
        break;
    case NNI_ATTR_GRAPH: {
        if (!ap->g)
            return nni_error(NN_E_INVALID_MODEL, "graph attribute '%s' has no graph", ap->name);
        nn_status st = convert_subgraph(g, ap->g, base_dir, total, &a->g);
        if (st != NN_OK)
            return nni_error_prefix(st, "subgraph '%s'", ap->name);
        break;
    }
    default:
        /* Sparse tensors, type protos, lists of tensors/graphs: not used by
         * any supported op; keep the name so "unknown attribute" checks see it. */
        break;
    }
    a->type = (nni_attr_type)type;
    return NN_OK;
}

/* Fill a value's dtype and shape from a ValueInfoProto (graph inputs/outputs). */
static nn_status convert_value_info(const Onnx__ValueInfoProto *vi, nni_value *v)
{
    const Onnx__TypeProto *tp = vi->type;
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return nni_error(NN_E_UNSUPPORTED, "value '%s' is not a tensor (sequences and maps are not supported)", v->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    /* a value listed twice (the same graph output named again) is described anew */
    for (int32_t i = 0; i < NN_MAX_RANK; i++) {
        nni_free(v->dim_sym[i]);
        v->dim_sym[i] = NULL;
    }
    v->info.dtype = tt->has_elem_type ? tt->elem_type : NN_DTYPE_UNDEFINED;
    v->info.rank = -1; /* unknown rank */
    v->shape_known = false;
    if (!tt->shape)
        return NN_OK;
    if (tt->shape->n_dim > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "value '%s' has %zu dimensions (at most %d)", v->name, tt->shape->n_dim, NN_MAX_RANK);
    v->info.rank = (int32_t)tt->shape->n_dim;
    bool known = true;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        v->info.dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0) {
            v->info.dims[i] = d->dim_value;
        } else {
            known = false;
            if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param &&
                !(v->dim_sym[i] = nni_strdup(d->dim_param)))
                return nni_error(NN_E_NOMEM, "cannot copy a dimension name");
        }
    }
    v->shape_known = known;
    return NN_OK;
}

/* The values a node's subgraphs read from the enclosing scope become its
 * implicit inputs (after the ONNX ones), so that ordering, liveness and
 * folding see them like any other input. */
static nn_status add_captures(nni_graph *g, nni_node *n)
{
    int32_t extra = 0;
    for (int32_t i = 0; i < n->n_attr; i++)
        if (n->attrs[i].g)
            extra += n->attrs[i].g->n_captures;
    if (!extra)
        return NN_OK;
    int32_t *in = nni_realloc(n->in, (size_t)(n->n_in + extra) * sizeof *in);
    if (!in)
        return nni_error(NN_E_NOMEM, "cannot allocate the inputs of node '%s'", n->name);
    n->in = in;
    for (int32_t i = 0; i < n->n_attr; i++) {
        const nni_graph *sub = n->attrs[i].g;
        for (int32_t k = 0; sub && k < sub->n_captures; k++) {
            int32_t v = nni_graph_value(g, sub->values[sub->captures[k]].name);
            if (v < 0)
                return v;
            n->in[n->n_in++] = v;
            n->n_implicit++;
        }
    }
    return NN_OK;
}

static nn_status convert_node(nni_graph *g, const Onnx__NodeProto *np, int32_t index, const char *base_dir,
                              uint64_t *total)
{
    nni_node n;
    nn_status st = NN_OK;
    memset(&n, 0, sizeof n);
    char fallback[32];
    snprintf(fallback, sizeof fallback, "#%d", (int)index);
    const char *name = (np->name && *np->name) ? np->name : fallback;
    if (!np->op_type || !*np->op_type)
        return nni_error(NN_E_INVALID_MODEL, "node '%s' has no op_type", name);
    n.name = nni_strdup(name);
    n.op_type = nni_strdup(np->op_type);
    n.domain = nni_strdup(np->domain ? np->domain : "");
    n.n_in = (int32_t)np->n_input;
    n.n_out = (int32_t)np->n_output;
    n.in = nni_malloc((np->n_input ? np->n_input : 1) * sizeof(int32_t));
    n.out = nni_malloc((np->n_output ? np->n_output : 1) * sizeof(int32_t));
    n.attrs = nni_calloc(np->n_attribute ? np->n_attribute : 1, sizeof(nni_attr));
    if (!n.name || !n.op_type || !n.domain || !n.in || !n.out || !n.attrs) {
        st = nni_error(NN_E_NOMEM, "cannot allocate node '%s'", name);
        goto fail;
    }
    for (size_t i = 0; i < np->n_input; i++) {
        const char *vn = np->input[i];
        if (!vn || !*vn) {
            n.in[i] = -1; /* absent optional input */
            continue;
        }
        int32_t v = nni_graph_value(g, vn);
        if (v < 0) {
            st = v;
            goto fail;
        }
        n.in[i] = v;
    }
    for (size_t i = 0; i < np->n_output; i++) {
        const char *vn = np->output[i];
        if (!vn || !*vn) {
            n.out[i] = -1;
            continue;
        }
        int32_t v = nni_graph_value(g, vn);
        if (v < 0) {
            st = v;
            goto fail;
        }
        n.out[i] = v;
    }
    for (size_t i = 0; i < np->n_attribute; i++) {
        st = convert_attr(g, np->attribute[i], base_dir, total, &n.attrs[i]);
        n.n_attr = (int32_t)i + 1;
        if (st != NN_OK) {
            nni_error_prefix(st, "node '%s' (%s)", name, np->op_type);
            goto fail;
        }
    }
    if ((st = add_captures(g, &n)) != NN_OK)
        goto fail;
    if (is_default_domain(np->domain) && g->opset == 0) {
        st = nni_error(NN_E_INVALID_MODEL, "node '%s' (%s) is in the default domain, but the model imports no default-domain (ai.onnx) opset",
                       name, np->op_type);
        goto fail;
    }
    if (!is_default_domain(np->domain)) {
        st = nni_error(NN_E_UNSUPPORTED, "operator '%s' of domain '%s' (node '%s') is not supported", np->op_type,
                       np->domain, name);
        goto fail;
    }
    n.op = nni_op_find(np->op_type);
    if (!n.op) {
        st = nni_error(NN_E_UNSUPPORTED, "operator '%s' (node '%s', opset %lld) is not supported", np->op_type, name,
                       (long long)g->opset);
        goto fail;
    }
    if ((st = nni_graph_add_node(g, &n, NULL)) != NN_OK)
        goto fail; /* the node stays ours */
    return NN_OK;
fail:
    nni_node_free(&n);
    return st;
}

/* A subgraph attribute (an If branch): its own initializers, inputs, nodes and
 * outputs; every name it reads without defining becomes a capture. */
static nn_status subgraph_body(nni_graph *g, const Onnx__GraphProto *gp, const char *base_dir, uint64_t *total)
{
    nn_status st;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return nni_error(NN_E_INVALID_MODEL, "initializer #%zu has no name", i);
        int32_t v = nni_graph_value(g, tp->name);
        if (v < 0)
            return v;
        if (g->values[v].constant)
            return nni_error(NN_E_INVALID_MODEL, "initializer '%s' is given twice", tp->name);
        st = nni_onnx_tensor_from_proto(tp, base_dir, &g->limits, &g->values[v].constant);
        if (st == NN_OK)
            st = add_total(g, total, g->values[v].constant, "an initializer");
        if (st != NN_OK)
            return nni_error_prefix(st, "initializer '%s'", tp->name);
        nn_tensor *c = g->values[v].constant;
        nni_tensor_set_shape(&g->values[v].info, c->dtype, c->rank, c->dims);
        g->values[v].shape_known = true;
    }
    if (!(g->inputs = nni_malloc((gp->n_input ? gp->n_input : 1) * sizeof(int32_t))) ||
        !(g->outputs = nni_malloc((gp->n_output ? gp->n_output : 1) * sizeof(int32_t))))
        return nni_error(NN_E_NOMEM, "cannot allocate a subgraph");
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name)
            return nni_error(NN_E_INVALID_MODEL, "input #%zu has no name", i);
        int32_t v = nni_graph_value(g, vi->name);
        if (v < 0)
            return v;
        if (g->values[v].is_input || g->values[v].constant)
            return nni_error(NN_E_INVALID_MODEL, "input '%s' is listed twice or is an initializer", vi->name);
        g->values[v].is_input = true;
        g->inputs[g->n_inputs++] = v;
    }
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = convert_node(g, gp->node[i], (int32_t)i, base_dir, total)) != NN_OK)
            return st;
    if (gp->n_output == 0)
        return nni_error(NN_E_INVALID_MODEL, "the subgraph has no outputs");
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi->name || !*vi->name)
            return nni_error(NN_E_INVALID_MODEL, "output #%zu has no name", i);
        int32_t v = nni_graph_value(g, vi->name); /* may be an outer value, passed through */
        if (v < 0)
            return v;
        g->values[v].is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    uint8_t *produced = nni_calloc((size_t)g->n_values + 1, 1);
    if (!produced || !(g->captures = nni_malloc(((size_t)g->n_values + 1) * sizeof(int32_t)))) {
        nni_free(produced);
        return nni_error(NN_E_NOMEM, "cannot allocate a subgraph");
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        for (int32_t k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                produced[g->nodes[i].out[k]] = 1;
    for (int32_t v = 0; v < g->n_values; v++) {
        nni_value *val = &g->values[v];
        if (!produced[v] && !val->constant && !val->is_input) {
            val->is_input = true;
            g->captures[g->n_captures++] = v;
        }
    }
    nni_free(produced);
    return nni_graph_toposort(g);
}

static nn_status convert_subgraph(const nni_graph *parent, const Onnx__GraphProto *gp, const char *base_dir,
                                  uint64_t *total, nni_graph **out)
{
    nni_graph *g = nni_malloc(sizeof *g);
    if (!g)
        return nni_error(NN_E_NOMEM, "cannot allocate a subgraph");
    nni_graph_init(g);
    g->opset = parent->opset;
    g->limits = parent->limits;
    nn_status st = NN_OK;
    if (gp->name && !(g->name = nni_strdup(gp->name)))
        st = nni_error(NN_E_NOMEM, "cannot copy the graph name");
    if (st == NN_OK)
        st = subgraph_body(g, gp, base_dir, total);
    if (st != NN_OK) {
        nni_graph_free(g);
        nni_free(g);
        return st;
    }
    *out = g;
    return NN_OK;
}

nn_status nni_onnx_import(const uint8_t *bytes, size_t size, const char *base_dir, const nn_load_options *opts,
                          nni_graph *g)
{
    return nni_onnx_import_fd(bytes, size, -1, base_dir, opts, g);
}

nn_status nni_onnx_import_fd(const uint8_t *bytes, size_t size, int fd, const char *base_dir,
                             const nn_load_options *opts, nni_graph *g)
{
    nn_status st = NN_OK;
    uint64_t total = 0;
    if (size == 0)
        return nni_error(NN_E_PARSE, "the model is empty (0 bytes)");
    if ((st = nni_onnx_prescan(bytes, size, opts)) != NN_OK)
        return st;
    /* parse a skeleton without the initializers' payloads; each payload is then copied once */
    nni_onnx_skeleton_t sk;
    if ((st = nni_onnx_skeleton(bytes, size, &sk)) != NN_OK)
        return st;
    const nni_onnx_source src = {bytes, fd};
    bool pb_oom = false;
    ProtobufCAllocator pa = nni_pb_allocator;
    pa.allocator_data = &pb_oom; /* set when an allocation failed */
    Onnx__ModelProto *mp = sk.bytes ? onnx__model_proto__unpack(&pa, sk.size, sk.bytes)
                                    : onnx__model_proto__unpack(&pa, size, bytes);
    if (!mp) {
        nni_onnx_skeleton_free(&sk);
        if (pb_oom)
            return nni_error(NN_E_NOMEM, "out of memory parsing the %zu-byte model", size);
        return nni_error(NN_E_PARSE, "the %zu bytes are not an ONNX model (protobuf parse failed: truncated or not ONNX)", size);
    }
    if (sk.bytes && (!mp->graph || sk.n_payloads != (int32_t)mp->graph->n_initializer)) {
        /* the walk and protobuf-c disagree on the initializers: parse the original instead */
        onnx__model_proto__free_unpacked(mp, &pa);
        nni_onnx_skeleton_free(&sk);
        if (!(mp = onnx__model_proto__unpack(&pa, size, bytes))) {
            if (pb_oom)
                return nni_error(NN_E_NOMEM, "out of memory parsing the %zu-byte model", size);
            return nni_error(NN_E_PARSE, "the %zu bytes are not an ONNX model (protobuf parse failed)", size);
        }
    }
    const Onnx__GraphProto *gp = mp->graph;
    if (!gp) {
        st = nni_error(NN_E_PARSE, "the file has no graph: not an ONNX model");
        goto done;
    }
    /* opsets */
    g->opset = -1;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *os = mp->opset_import[i];
        if (is_default_domain(os->domain))
            g->opset = os->has_version ? os->version : 1;
    }
    if (g->opset < 0 && mp->n_opset_import == 0 && mp->has_ir_version && mp->ir_version < 3)
        g->opset = 1; /* the oldest files predate opset_import */
    if (g->opset < 0) {
        /* Only an error if a node of the default domain needs it (checked below). */
        g->opset = 0;
    } else if (g->opset < NNI_ONNX_MIN_OPSET || g->opset > NNI_ONNX_MAX_OPSET) {
        st = nni_error(NN_E_UNSUPPORTED, "default-domain opset %lld is outside the supported %d..%d",
                       (long long)g->opset, NNI_ONNX_MIN_OPSET, NNI_ONNX_MAX_OPSET);
        goto done;
    }
    if (gp->n_node > opts->max_nodes) {
        st = nni_error(NN_E_LIMIT, "the graph has %zu nodes, over the limit of %u", gp->n_node, opts->max_nodes);
        goto done;
    }
    if (gp->name && !(g->name = nni_strdup(gp->name))) {
        st = nni_error(NN_E_NOMEM, "cannot copy the graph name");
        goto done;
    }
    /* initializers */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name) {
            st = nni_error(NN_E_INVALID_MODEL, "initializer #%zu has no name", i);
            goto done;
        }
        int32_t v = nni_graph_value(g, tp->name);
        if (v < 0) {
            st = v;
            goto done;
        }
        if (g->values[v].constant) {
            st = nni_error(NN_E_INVALID_MODEL, "initializer '%s' is given twice", tp->name);
            goto done;
        }
        const nni_onnx_payload *pl = sk.bytes && (int64_t)i < sk.n_payloads && sk.payloads[i].present ? &sk.payloads[i] : NULL;
        st = pl ? nni_onnx_tensor_from_payload(tp, &src, pl, &g->limits, &g->values[v].constant)
                : nni_onnx_tensor_from_proto(tp, base_dir, &g->limits, &g->values[v].constant);
        if (st == NN_OK)
            st = add_total(g, &total, g->values[v].constant, "an initializer");
        if (st != NN_OK) {
            nni_error_prefix(st, "initializer '%s'", tp->name);
            goto done;
        }
        nn_tensor *c = g->values[v].constant;
        g->values[v].info.dtype = c->dtype;
        nni_tensor_set_shape(&g->values[v].info, c->dtype, c->rank, c->dims);
        g->values[v].shape_known = true;
        g->values[v].is_param = c->dtype == NN_DTYPE_FLOAT32;
    }
    /* inputs: those with an initializer are constants (opset < 9 lists them) */
    g->inputs = nni_malloc((gp->n_input ? gp->n_input : 1) * sizeof(int32_t));
    if (!g->inputs) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the input list");
        goto done;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi->name || !*vi->name) {
            st = nni_error(NN_E_INVALID_MODEL, "graph input #%zu has no name", i);
            goto done;
        }
        int32_t v = nni_graph_value(g, vi->name);
        if (v < 0) {
            st = v;
            goto done;
        }
        if (g->values[v].constant)
            continue;
        if (g->values[v].is_input) {
            st = nni_error(NN_E_INVALID_MODEL, "graph input '%s' is listed twice", vi->name);
            goto done;
        }
        if ((st = convert_value_info(vi, &g->values[v])) != NN_OK) {
            nni_error_prefix(st, "graph input '%s'", vi->name);
            goto done;
        }
        if (nn_dtype_size(g->values[v].info.dtype) == 0) {
            st = nni_error(NN_E_UNSUPPORTED, "graph input '%s' has unsupported element type %s", vi->name,
                           nn_dtype_name(g->values[v].info.dtype));
            goto done;
        }
        g->values[v].is_input = true;
        g->inputs[g->n_inputs++] = v;
    }
    /* nodes */
    for (size_t i = 0; i < gp->n_node; i++)
        if ((st = convert_node(g, gp->node[i], (int32_t)i, base_dir, &total)) != NN_OK)
            goto done;
    /* outputs */
    if (gp->n_output == 0) {
        st = nni_error(NN_E_INVALID_MODEL, "the graph has no outputs");
        goto done;
    }
    g->outputs = nni_malloc(gp->n_output * sizeof(int32_t));
    if (!g->outputs) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the output list");
        goto done;
    }
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi->name || !*vi->name) {
            st = nni_error(NN_E_INVALID_MODEL, "graph output #%zu has no name", i);
            goto done;
        }
        int32_t v = nni_graph_find_value(g, vi->name);
        if (v < 0) {
            st = nni_error(NN_E_INVALID_MODEL, "graph output '%s' is not produced by any node, input or initializer", vi->name);
            goto done;
        }
        nni_value *val = &g->values[v];
        if (!val->is_input && !val->constant) {
            /* keep declared shape info for introspection; inference refines it */
            nn_status s2 = convert_value_info(vi, val);
            if (s2 == NN_E_NOMEM) {
                st = s2;
                goto done;
            }
            if (s2 != NN_OK)
                nni_error_clear();
        }
        val->is_output = true;
        g->outputs[g->n_outputs++] = v;
    }
    /* metadata: a key is looked up by scanning, so their number is bounded */
    if (mp->n_metadata_props > NNI_ONNX_MAX_METADATA) {
        st = nni_error(NN_E_LIMIT, "the model has %zu metadata entries (at most %d)", mp->n_metadata_props,
                       NNI_ONNX_MAX_METADATA);
        goto done;
    }
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        if (e->key && (st = nni_graph_add_meta(g, e->key, e->value ? e->value : "")) != NN_OK)
            goto done;
    }
done:
    onnx__model_proto__free_unpacked(mp, &pa);
    nni_onnx_skeleton_free(&sk);
    return st;
}
