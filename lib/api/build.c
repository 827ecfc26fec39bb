/*
 * build.c — nn_builder: a model assembled from ONNX nodes and caller weights
 * instead of read from a file. It fills the same IR graph the ONNX importer
 * does, then compiles it the same way, so a built model behaves (runs,
 * trains, saves) exactly like a loaded one.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "ops/op.h"
#include "passes/compile.h"

#define BUILDER_MAX_OPSET 21

struct nn_builder {
    nni_graph graph;
    int32_t cap_inputs, cap_outputs;
    bool spent; /* finished (successfully or not) */
};

NN_API nn_status nn_builder_create(int64_t opset, nn_builder **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_create: out is NULL");
    *out = NULL;
    if (opset < 1 || opset > BUILDER_MAX_OPSET)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_create: opset %lld is outside 1..%d", (long long)opset,
                         BUILDER_MAX_OPSET);
    nn_builder *b = nni_calloc(1, sizeof *b);
    if (!b)
        return nni_error(NN_E_NOMEM, "nn_builder_create: out of memory");
    nni_graph_init(&b->graph);
    b->graph.opset = opset;
    *out = b;
    return NN_OK;
}

NN_API void nn_builder_free(nn_builder *b)
{
    if (!b)
        return;
    nni_graph_free(&b->graph);
    nni_free(b);
}

static nn_status usable(const nn_builder *b, const char *fn)
{
    if (!b)
        return nni_error(NN_E_INVALID_ARG, "%s: builder is NULL", fn);
    if (b->spent)
        return nni_error(NN_E_STATE, "%s: the builder was finished; only nn_builder_free() remains", fn);
    return NN_OK;
}

/* A fresh value named `name`; NN_E_INVALID_ARG if the name is taken. */
static nn_status new_value(nni_graph *g, const char *fn, const char *name, int32_t *out)
{
    if (!name || !*name)
        return nni_error(NN_E_INVALID_ARG, "%s: a name is NULL or empty", fn);
    if (nni_graph_find_value(g, name) >= 0)
        return nni_error(NN_E_INVALID_ARG, "%s: the name '%s' is already used", fn, name);
    int32_t v = nni_graph_value(g, name);
    if (v < 0)
        return v;
    *out = v;
    return NN_OK;
}

static nn_status grow(int32_t **arr, int32_t *cap, int32_t n)
{
    if (n < *cap)
        return NN_OK;
    int32_t c = *cap ? *cap * 2 : 8;
    int32_t *p = nni_realloc(*arr, (size_t)c * sizeof *p);
    if (!p)
        return nni_error(NN_E_NOMEM, "cannot grow a list");
    *arr = p;
    *cap = c;
    return NN_OK;
}

NN_API nn_status nn_builder_add_input(nn_builder *b, const char *name, nn_dtype dtype, int32_t rank,
                                      const int64_t *dims, const char *const *dim_names)
{
    nni_error_clear();
    nn_status st = usable(b, "nn_builder_add_input");
    if (st != NN_OK)
        return st;
    if (nn_dtype_size(dtype) == 0)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_input: '%s' has unsupported element type %d", name ? name : "",
                         (int)dtype);
    if (rank < 0 || rank > NN_MAX_RANK || (rank > 0 && !dims))
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_input: rank %d or dims is invalid", (int)rank);
    for (int32_t d = 0; d < rank; d++)
        if (dims[d] < -1)
            return nni_error(NN_E_INVALID_ARG, "nn_builder_add_input: dims[%d] is %lld (use >= 0, or -1 for symbolic)",
                             (int)d, (long long)dims[d]);
    nni_graph *g = &b->graph;
    if ((st = grow(&g->inputs, &b->cap_inputs, g->n_inputs)) != NN_OK)
        return st;
    char *sym[NN_MAX_RANK] = {0};
    for (int32_t d = 0; d < rank; d++)
        if (dims[d] < 0 && dim_names && dim_names[d] && *dim_names[d] && !(sym[d] = nni_strdup(dim_names[d]))) {
            for (int32_t k = 0; k < d; k++)
                nni_free(sym[k]);
            return nni_error(NN_E_NOMEM, "nn_builder_add_input: out of memory");
        }
    int32_t v = -1;
    if ((st = new_value(g, "nn_builder_add_input", name, &v)) != NN_OK) {
        for (int32_t d = 0; d < rank; d++)
            nni_free(sym[d]);
        return st;
    }
    nni_value *val = &g->values[v];
    val->info.dtype = dtype;
    val->info.rank = rank;
    val->shape_known = true;
    for (int32_t d = 0; d < rank; d++) {
        val->info.dims[d] = dims[d];
        val->dim_sym[d] = sym[d];
        if (dims[d] < 0)
            val->shape_known = false;
    }
    val->is_input = true;
    g->inputs[g->n_inputs++] = v;
    return NN_OK;
}

NN_API nn_status nn_builder_add_param(nn_builder *b, const char *name, const nn_tensor *t)
{
    nni_error_clear();
    nn_status st = usable(b, "nn_builder_add_param");
    if (st != NN_OK)
        return st;
    if (!t)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_param: tensor is NULL");
    if (t->nbytes && !t->data)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_param: the tensor for '%s' has no data", name ? name : "");
    nn_tensor *copy;
    if ((st = nni_tensor_clone(t, &copy)) != NN_OK)
        return st;
    nni_free(copy->name);
    copy->name = NULL;
    int32_t v = -1;
    if ((st = new_value(&b->graph, "nn_builder_add_param", name, &v)) != NN_OK) {
        nn_tensor_free(copy);
        return st;
    }
    nni_value *val = &b->graph.values[v];
    val->constant = copy;
    nni_tensor_set_shape(&val->info, copy->dtype, copy->rank, copy->dims);
    val->shape_known = true;
    val->is_param = copy->dtype == NN_DTYPE_FLOAT32;
    return NN_OK;
}

/* ---- attributes from "name[:type]=value" ---- */

static bool parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return false;
    *out = x;
    return true;
}

static bool parse_f32(const char *s, float *out)
{
    char *end;
    errno = 0;
    float x = strtof(s, &end);
    if (end == s || *end || errno)
        return false;
    *out = x;
    return true;
}

/* Split `s` at commas into a NUL-separated copy; returns the item count, -1 on NOMEM. */
static int32_t split(const char *s, char **buf, char ***items)
{
    *items = NULL;
    *buf = nni_strdup(s);
    if (!*buf)
        return -1;
    if (!**buf)
        return 0;
    int32_t n = 1;
    for (const char *p = s; *p; p++)
        n += *p == ',';
    *items = nni_malloc((size_t)n * sizeof **items);
    if (!*items) {
        nni_free(*buf);
        *buf = NULL;
        return -1;
    }
    int32_t k = 0;
    (*items)[k++] = *buf;
    for (char *p = *buf; *p; p++)
        if (*p == ',') {
            *p = '\0';
            (*items)[k++] = p + 1;
        }
    return n;
}

static nn_status parse_attr(const char *spec, nni_attr *a)
{
    memset(a, 0, sizeof *a);
    const char *eq = strchr(spec, '=');
    if (!eq || eq == spec)
        return nni_error(NN_E_INVALID_ARG, "attribute '%s' is not name=value or name:type=value", spec);
    const char *colon = memchr(spec, ':', (size_t)(eq - spec));
    size_t name_len = (size_t)((colon ? colon : eq) - spec);
    char type[16] = "";
    if (colon) {
        size_t tl = (size_t)(eq - colon - 1);
        if (tl >= sizeof type)
            return nni_error(NN_E_INVALID_ARG, "attribute '%s' has an unknown type", spec);
        memcpy(type, colon + 1, tl);
        type[tl] = '\0';
    }
    if (name_len == 0 || !(a->name = nni_malloc(name_len + 1)))
        return name_len ? nni_error(NN_E_NOMEM, "out of memory")
                        : nni_error(NN_E_INVALID_ARG, "attribute '%s' has no name", spec);
    memcpy(a->name, spec, name_len);
    a->name[name_len] = '\0';
    const char *value = eq + 1;
    char *buf;
    char **items;
    int32_t n = split(value, &buf, &items);
    if (n < 0)
        return nni_error(NN_E_NOMEM, "out of memory");
    nn_status st = NN_OK;
    /* infer the type when not given */
    if (!*type) {
        bool all_int = n > 0, all_num = n > 0;
        for (int32_t i = 0; i < n; i++) {
            int64_t iv;
            float fv;
            all_int &= parse_i64(items[i], &iv);
            all_num &= parse_f32(items[i], &fv);
        }
        if (n > 1)
            strcpy(type, all_int ? "ints" : all_num ? "floats" : "s");
        else
            strcpy(type, all_int ? "i" : all_num ? "f" : "s");
    }
    if (strcmp(type, "i") == 0 || strcmp(type, "int") == 0) {
        a->type = NNI_ATTR_INT;
        if (!parse_i64(value, &a->i))
            st = nni_error(NN_E_INVALID_ARG, "attribute '%s': '%s' is not an integer", a->name, value);
    } else if (strcmp(type, "f") == 0 || strcmp(type, "float") == 0) {
        a->type = NNI_ATTR_FLOAT;
        if (!parse_f32(value, &a->f))
            st = nni_error(NN_E_INVALID_ARG, "attribute '%s': '%s' is not a number", a->name, value);
    } else if (strcmp(type, "s") == 0 || strcmp(type, "string") == 0) {
        a->type = NNI_ATTR_STRING;
        if (!(a->s = nni_strdup(value)))
            st = nni_error(NN_E_NOMEM, "out of memory");
    } else if (strcmp(type, "ints") == 0) {
        a->type = NNI_ATTR_INTS;
        a->n = (size_t)n;
        if (!(a->ints = nni_malloc((size_t)(n ? n : 1) * sizeof *a->ints)))
            st = nni_error(NN_E_NOMEM, "out of memory");
        for (int32_t i = 0; i < n && st == NN_OK; i++)
            if (!parse_i64(items[i], &a->ints[i]))
                st = nni_error(NN_E_INVALID_ARG, "attribute '%s': '%s' is not an integer", a->name, items[i]);
    } else if (strcmp(type, "floats") == 0) {
        a->type = NNI_ATTR_FLOATS;
        a->n = (size_t)n;
        if (!(a->floats = nni_malloc((size_t)(n ? n : 1) * sizeof *a->floats)))
            st = nni_error(NN_E_NOMEM, "out of memory");
        for (int32_t i = 0; i < n && st == NN_OK; i++)
            if (!parse_f32(items[i], &a->floats[i]))
                st = nni_error(NN_E_INVALID_ARG, "attribute '%s': '%s' is not a number", a->name, items[i]);
    } else if (strcmp(type, "strings") == 0) {
        a->type = NNI_ATTR_STRINGS;
        if (!(a->strings = nni_calloc((size_t)(n ? n : 1), sizeof *a->strings)))
            st = nni_error(NN_E_NOMEM, "out of memory");
        for (int32_t i = 0; i < n && st == NN_OK; i++) {
            if (!(a->strings[i] = nni_strdup(items[i])))
                st = nni_error(NN_E_NOMEM, "out of memory");
            a->n = (size_t)i + 1;
        }
    } else {
        st = nni_error(NN_E_INVALID_ARG, "attribute '%s': unknown type '%s' (i, f, s, ints, floats, strings)", a->name,
                       type);
    }
    nni_free(buf);
    nni_free(items);
    return st;
}

NN_API nn_status nn_builder_add_node(nn_builder *b, const char *op_type, const char *name, uint32_t n_inputs,
                                     const char *const *inputs, uint32_t n_outputs, const char *const *outputs,
                                     uint32_t n_attrs, const char *const *attrs)
{
    nni_error_clear();
    nn_status st = usable(b, "nn_builder_add_node");
    if (st != NN_OK)
        return st;
    if (!op_type || (n_inputs && !inputs) || (n_outputs && !outputs) || (n_attrs && !attrs) || n_outputs == 0 ||
        n_inputs > 1024 || n_outputs > 1024 || n_attrs > 1024)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_node: op_type, inputs, outputs or attrs is NULL or empty");
    const nni_op_desc *op = nni_op_find(op_type);
    if (!op)
        return nni_error(NN_E_UNSUPPORTED, "nn_builder_add_node: operator '%s' is not supported", op_type);
    nni_graph *g = &b->graph;
    /* check every name before changing the graph */
    for (uint32_t i = 0; i < n_inputs; i++) {
        if (!inputs[i])
            return nni_error(NN_E_INVALID_ARG, "nn_builder_add_node: input %u is NULL (use \"\" for an absent one)", i);
        if (*inputs[i] && nni_graph_find_value(g, inputs[i]) < 0)
            return nni_error(NN_E_NOT_FOUND, "nn_builder_add_node: %s input '%s' is not an input, a parameter or an "
                             "earlier node's output", op_type, inputs[i]);
    }
    for (uint32_t i = 0; i < n_outputs; i++) {
        if (!outputs[i])
            return nni_error(NN_E_INVALID_ARG, "nn_builder_add_node: output %u is NULL", i);
        if (*outputs[i] && nni_graph_find_value(g, outputs[i]) >= 0)
            return nni_error(NN_E_INVALID_ARG, "nn_builder_add_node: output name '%s' is already used", outputs[i]);
        for (uint32_t j = 0; j < i; j++)
            if (*outputs[i] && strcmp(outputs[i], outputs[j]) == 0)
                return nni_error(NN_E_INVALID_ARG, "nn_builder_add_node: output name '%s' is given twice", outputs[i]);
    }
    nni_node n;
    memset(&n, 0, sizeof n);
    char fallback[64];
    snprintf(fallback, sizeof fallback, "%s_%d", op_type, (int)g->n_nodes);
    n.name = nni_strdup(name && *name ? name : fallback);
    n.op_type = nni_strdup(op_type);
    n.domain = nni_strdup("");
    n.in = nni_malloc((n_inputs ? n_inputs : 1) * sizeof *n.in);
    n.out = nni_malloc(n_outputs * sizeof *n.out);
    n.attrs = nni_calloc(n_attrs ? n_attrs : 1, sizeof *n.attrs);
    n.op = op;
    n.n_in = (int32_t)n_inputs;
    n.n_out = (int32_t)n_outputs;
    if (!n.name || !n.op_type || !n.domain || !n.in || !n.out || !n.attrs) {
        st = nni_error(NN_E_NOMEM, "nn_builder_add_node: out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < n_attrs; i++) {
        st = parse_attr(attrs[i], &n.attrs[i]);
        n.n_attr = (int32_t)i + 1;
        if (st != NN_OK) {
            nni_error_prefix(st, "nn_builder_add_node %s", op_type);
            goto fail;
        }
        for (uint32_t j = 0; j < i; j++)
            if (strcmp(n.attrs[j].name, n.attrs[i].name) == 0) {
                st = nni_error(NN_E_INVALID_ARG, "nn_builder_add_node %s: attribute '%s' is given twice", op_type,
                               n.attrs[i].name);
                goto fail;
            }
    }
    for (uint32_t i = 0; i < n_inputs; i++)
        n.in[i] = *inputs[i] ? nni_graph_find_value(g, inputs[i]) : -1;
    /* values for the outputs; on failure the new names would stay behind, so
     * reserve the table first (nni_graph_value only grows when full) */
    int32_t before = g->n_values;
    for (uint32_t i = 0; i < n_outputs; i++) {
        if (!*outputs[i]) {
            n.out[i] = -1;
            continue;
        }
        int32_t v = nni_graph_value(g, outputs[i]);
        if (v < 0) {
            st = v;
            goto undo;
        }
        n.out[i] = v;
    }
    if ((st = nni_graph_add_node(g, &n, NULL)) != NN_OK)
        goto undo;
    return NN_OK;
undo:
    while (g->n_values > before) {
        nni_value *v = &g->values[--g->n_values];
        nni_free(v->name);
        memset(v, 0, sizeof *v);
    }
fail:
    nni_node_free(&n);
    return st;
}

NN_API nn_status nn_builder_add_output(nn_builder *b, const char *name)
{
    nni_error_clear();
    nn_status st = usable(b, "nn_builder_add_output");
    if (st != NN_OK)
        return st;
    if (!name)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_output: name is NULL");
    nni_graph *g = &b->graph;
    int32_t v = nni_graph_find_value(g, name);
    if (v < 0)
        return nni_error(NN_E_NOT_FOUND, "nn_builder_add_output: no value is named '%s'", name);
    if (g->values[v].is_output)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_add_output: '%s' is already an output", name);
    if ((st = grow(&g->outputs, &b->cap_outputs, g->n_outputs)) != NN_OK)
        return st;
    nni_value *val = &g->values[v];
    val->is_output = true;
    if (!val->is_input && !val->constant)
        val->info.rank = -1; /* unknown until compiled */
    g->outputs[g->n_outputs++] = v;
    return NN_OK;
}

NN_API nn_status nn_builder_finish(nn_builder *b, nn_model **out)
{
    nni_error_clear();
    if (out)
        *out = NULL;
    nn_status st = usable(b, "nn_builder_finish");
    if (st != NN_OK)
        return st;
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_builder_finish: out is NULL");
    b->spent = true;
    if (b->graph.n_outputs == 0)
        return nni_error(NN_E_INVALID_MODEL, "nn_builder_finish: the model has no outputs");
    nn_model *m = nni_calloc(1, sizeof *m);
    if (!m)
        return nni_error(NN_E_NOMEM, "nn_builder_finish: out of memory");
    m->graph = b->graph; /* moved */
    memset(&b->graph, 0, sizeof b->graph);
    nn_load_options defaults;
    nn_load_options_init(&defaults, NN_LOAD_OPTIONS_VERSION);
    nni_model_apply_options(m, &defaults); /* the limits a model loaded with default options has */
    if (!m->graph.inputs && !(m->graph.inputs = nni_malloc(sizeof *m->graph.inputs))) {
        st = nni_error(NN_E_NOMEM, "nn_builder_finish: out of memory");
        goto fail;
    }
    if ((st = nni_model_finish(m)) != NN_OK)
        goto fail;
    /* with a symbolic input, output shapes come from probing the graph */
    bool symbolic = false;
    for (int32_t i = 0; i < m->graph.n_inputs; i++)
        symbolic |= !m->graph.values[m->graph.inputs[i]].shape_known;
    if (symbolic) {
        nni_edit e;
        memset(&e, 0, sizeof e);
        e.input = -1;
        if ((st = nni_graph_reinfer(&m->graph, &e)) != NN_OK)
            goto fail;
        nni_model_refresh(m);
    }
    *out = m;
    return NN_OK;
fail:
    nn_model_free(m);
    return nni_error_prefix(st, "nn_builder_finish");
}
