/* model_clone.c — nn_model_clone: a deep copy of a compiled model (graph, weights, metadata, learn-rate factors). */
#include <string.h>

#include "api/model.h"
#include "passes/compile.h"

static nn_status dup_str(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return NN_OK;
    if (!(*out = nni_strdup(s)))
        return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
    return NN_OK;
}

static nn_status dup_mem(const void *src, size_t n, void **out)
{
    *out = NULL;
    if (!src)
        return NN_OK;
    if (!(*out = nni_malloc(n ? n : 1)))
        return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
    if (n)
        memcpy(*out, src, n);
    return NN_OK;
}

static nn_status clone_graph(const nni_graph *s, nni_graph *d);

static nn_status clone_attr(const nni_attr *s, nni_attr *d)
{
    nn_status st;
    memset(d, 0, sizeof *d);
    d->type = s->type;
    d->f = s->f;
    d->i = s->i;
    d->n = s->n;
    if ((st = dup_str(s->name, &d->name)) != NN_OK || (st = dup_str(s->s, &d->s)) != NN_OK ||
        (st = dup_mem(s->floats, s->n * sizeof(float), (void **)&d->floats)) != NN_OK ||
        (st = dup_mem(s->ints, s->n * sizeof(int64_t), (void **)&d->ints)) != NN_OK)
        return st;
    if (s->strings) {
        if (!(d->strings = nni_calloc(s->n ? s->n : 1, sizeof(char *))))
            return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
        for (size_t i = 0; i < s->n; i++)
            if ((st = dup_str(s->strings[i], &d->strings[i])) != NN_OK)
                return st;
    }
    if (s->t && (st = nni_tensor_clone(s->t, &d->t)) != NN_OK)
        return st;
    if (s->g) {
        /* a subgraph (If branch): If's prepare prepares its nodes */
        if (!(d->g = nni_malloc(sizeof *d->g)))
            return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
        if ((st = clone_graph(s->g, d->g)) != NN_OK)
            return st;
        if ((st = dup_mem(s->g->captures, (size_t)s->g->n_captures * sizeof(int32_t), (void **)&d->g->captures)) != NN_OK)
            return st;
        d->g->n_captures = s->g->n_captures;
    }
    return NN_OK;
}

/* Copy a node's description; its parsed state comes from nni_graph_prepare on the whole copy. */
static nn_status clone_node(const nni_node *s, nni_node *d)
{
    nn_status st;
    memset(d, 0, sizeof *d);
    d->op = s->op;
    d->n_in = s->n_in;
    d->n_out = s->n_out;
    d->n_implicit = s->n_implicit;
    d->dead = s->dead;
    if ((st = dup_str(s->name, &d->name)) != NN_OK || (st = dup_str(s->op_type, &d->op_type)) != NN_OK ||
        (st = dup_str(s->domain, &d->domain)) != NN_OK ||
        (st = dup_mem(s->in, (size_t)s->n_in * sizeof(int32_t), (void **)&d->in)) != NN_OK ||
        (st = dup_mem(s->out, (size_t)s->n_out * sizeof(int32_t), (void **)&d->out)) != NN_OK)
        return st;
    if (s->n_attr) {
        if (!(d->attrs = nni_calloc((size_t)s->n_attr, sizeof *d->attrs)))
            return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
        d->n_attr = s->n_attr;
        for (int32_t i = 0; i < s->n_attr; i++)
            if ((st = clone_attr(&s->attrs[i], &d->attrs[i])) != NN_OK)
                return st;
    }
    return NN_OK;
}

static nn_status clone_value(const nni_value *s, nni_value *d)
{
    nn_status st;
    *d = *s;
    d->name = NULL;
    d->constant = NULL;
    d->info.data = NULL;
    d->info.name = NULL;
    d->info.flags = 0;
    for (int i = 0; i < NN_MAX_RANK; i++)
        d->dim_sym[i] = NULL;
    if ((st = dup_str(s->name, &d->name)) != NN_OK)
        return st;
    for (int i = 0; i < NN_MAX_RANK; i++)
        if ((st = dup_str(s->dim_sym[i], &d->dim_sym[i])) != NN_OK)
            return st;
    if (s->constant && (st = nni_tensor_clone(s->constant, &d->constant)) != NN_OK)
        return st;
    return NN_OK;
}

static nn_status clone_graph(const nni_graph *s, nni_graph *d)
{
    nn_status st;
    nni_graph_init(d);
    d->opset = s->opset;
    d->limits = s->limits; /* the copy keeps the load limits (sessions and edits check them) */
    if ((st = dup_str(s->name, &d->name)) != NN_OK)
        return st;
    if (s->n_values) {
        if (!(d->values = nni_calloc((size_t)s->n_values, sizeof *d->values)))
            return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
        d->cap_values = s->n_values;
        for (int32_t v = 0; v < s->n_values; v++) {
            d->n_values = v + 1; /* what is copied so far is freed on failure */
            if ((st = clone_value(&s->values[v], &d->values[v])) != NN_OK)
                return st;
        }
    }
    if (s->n_nodes) {
        if (!(d->nodes = nni_calloc((size_t)s->n_nodes, sizeof *d->nodes)))
            return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
        d->cap_nodes = s->n_nodes;
        for (int32_t i = 0; i < s->n_nodes; i++) {
            d->n_nodes = i + 1;
            if ((st = clone_node(&s->nodes[i], &d->nodes[i])) != NN_OK)
                return st;
        }
    }
    if ((st = dup_mem(s->inputs, (size_t)s->n_inputs * sizeof(int32_t), (void **)&d->inputs)) != NN_OK)
        return st;
    d->n_inputs = s->n_inputs;
    if ((st = dup_mem(s->outputs, (size_t)s->n_outputs * sizeof(int32_t), (void **)&d->outputs)) != NN_OK)
        return st;
    d->n_outputs = s->n_outputs;
    for (int32_t i = 0; i < s->n_meta; i++)
        if ((st = nni_graph_add_meta(d, s->meta_keys[i], s->meta_values[i])) != NN_OK)
            return st;
    return NN_OK;
}

NN_API nn_status nn_model_clone(const nn_model *model, nn_model **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_model_clone: out is NULL");
    *out = NULL;
    if (!model)
        return nni_error(NN_E_INVALID_ARG, "nn_model_clone: model is NULL");
    nn_model *m = nni_calloc(1, sizeof *m);
    if (!m)
        return nni_error(NN_E_NOMEM, "nn_model_clone: out of memory");
    m->options = model->options;
    nn_status st = clone_graph(&model->graph, &m->graph);
    if (st == NN_OK)
        st = nni_graph_prepare(&m->graph); /* the ops' parsed states, as at load */
    if (st == NN_OK)
        st = nni_model_index(m); /* a memo of its own: derived constants are never shared */
    if (st != NN_OK) {
        nn_model_free(m);
        return st;
    }
    *out = m;
    return NN_OK;
}
