/* freeze.c — learn-rate factors of parameters: freezing layers by position, name or pattern. */
#include <fnmatch.h>
#include <math.h>
#include <string.h>

#include "api/model.h"

/* A parameter input of a live node: a float initializer still in the graph. */
static bool is_param_value(const nni_graph *g, int32_t v)
{
    return v >= 0 && g->values[v].is_param && g->values[v].constant;
}

static bool node_has_params(const nni_graph *g, const nni_node *n)
{
    for (int32_t k = 0; k < n->n_in; k++)
        if (is_param_value(g, n->in[k]))
            return true;
    return false;
}

static void set_node_factor(nni_graph *g, const nni_node *n, float factor)
{
    for (int32_t k = 0; k < n->n_in; k++)
        if (is_param_value(g, n->in[k]))
            g->values[n->in[k]].lr_factor = factor;
}

static nn_status select_layers(nn_model *m, int32_t select, const char *name, uint32_t count, float factor,
                               const char *fn)
{
    nni_graph *g = &m->graph;
    uint32_t done = 0;
    bool found = false;
    switch (select) {
    case NN_SELECT_ALL:
        /* "freeze all" leaves a head made by nn_replace_head trainable: that
         * is the transfer-learning recipe (frozen backbone, new head). */
        for (int32_t v = 0; v < g->n_values; v++)
            if (is_param_value(g, v) && !(factor == 0.0f && g->values[v].is_new_head))
                g->values[v].lr_factor = factor;
        return NN_OK;
    case NN_SELECT_FIRST:
        for (int32_t i = 0; i < m->n_layers && done < count; i++) {
            const nni_node *n = &g->nodes[m->layers[i]];
            if (!node_has_params(g, n))
                continue;
            set_node_factor(g, n, factor);
            done++;
        }
        return NN_OK;
    case NN_SELECT_LAYER:
    case NN_SELECT_PATTERN:
        if (!name)
            return nni_error(NN_E_INVALID_ARG, "%s: name is NULL", fn);
        for (int32_t i = 0; i < m->n_layers; i++) {
            const nni_node *n = &g->nodes[m->layers[i]];
            bool match = select == NN_SELECT_LAYER ? strcmp(n->name, name) == 0 : fnmatch(name, n->name, 0) == 0;
            if (!match)
                continue;
            found = found || select == NN_SELECT_LAYER || node_has_params(g, n);
            set_node_factor(g, n, factor);
        }
        if (!found)
            return nni_error(NN_E_NOT_FOUND,
                             select == NN_SELECT_LAYER ? "%s: the model has no layer named '%s'"
                                                       : "%s: no layer with parameters matches '%s'",
                             fn, name);
        return NN_OK;
    default:
        return nni_error(NN_E_INVALID_ARG, "%s: select %d is not one of NN_SELECT_*", fn, (int)select);
    }
}

NN_API nn_status nn_freeze(nn_model *model, int32_t select, const char *name, uint32_t count)
{
    nni_error_clear();
    if (!model)
        return nni_error(NN_E_INVALID_ARG, "nn_freeze: model is NULL");
    return select_layers(model, select, name, count, 0.0f, "nn_freeze");
}

NN_API nn_status nn_unfreeze(nn_model *model, int32_t select, const char *name, uint32_t count)
{
    nni_error_clear();
    if (!model)
        return nni_error(NN_E_INVALID_ARG, "nn_unfreeze: model is NULL");
    return select_layers(model, select, name, count, 1.0f, "nn_unfreeze");
}

static nn_status find_param(const nn_model *m, const char *param, const char *fn, int32_t *out)
{
    if (!m || !param)
        return nni_error(NN_E_INVALID_ARG, "%s: model or parameter name is NULL", fn);
    int32_t v = nni_graph_find_value(&m->graph, param);
    if (v < 0 || !is_param_value(&m->graph, v))
        return nni_error(NN_E_NOT_FOUND, "%s: the model has no parameter named '%s'", fn, param);
    *out = v;
    return NN_OK;
}

static bool valid_factor(float f) { return isfinite(f) && f >= 0.0f; }

NN_API nn_status nn_set_learn_rate_factor(nn_model *model, const char *param, float factor)
{
    nni_error_clear();
    int32_t v = -1;
    nn_status st = find_param(model, param, "nn_set_learn_rate_factor", &v);
    if (st != NN_OK)
        return st;
    if (!valid_factor(factor))
        return nni_error(NN_E_INVALID_ARG, "nn_set_learn_rate_factor: factor %g must be finite and >= 0",
                         (double)factor);
    model->graph.values[v].lr_factor = factor;
    return NN_OK;
}

NN_API nn_status nn_get_learn_rate_factor(const nn_model *model, const char *param, float *factor)
{
    nni_error_clear();
    int32_t v = -1;
    if (!factor)
        return nni_error(NN_E_INVALID_ARG, "nn_get_learn_rate_factor: factor is NULL");
    nn_status st = find_param(model, param, "nn_get_learn_rate_factor", &v);
    if (st != NN_OK)
        return st;
    *factor = model->graph.values[v].lr_factor;
    return NN_OK;
}

NN_API nn_status nn_set_layer_learn_rate_factors(nn_model *model, const char *layer, float weight_factor,
                                                 float bias_factor)
{
    nni_error_clear();
    if (!model || !layer)
        return nni_error(NN_E_INVALID_ARG, "nn_set_layer_learn_rate_factors: model or layer is NULL");
    if (!valid_factor(weight_factor) || !valid_factor(bias_factor))
        return nni_error(NN_E_INVALID_ARG, "nn_set_layer_learn_rate_factors: factors must be finite and >= 0");
    nni_graph *g = &model->graph;
    for (int32_t i = 0; i < model->n_layers; i++) {
        const nni_node *n = &g->nodes[model->layers[i]];
        if (strcmp(n->name, layer) != 0)
            continue;
        bool first = true;
        for (int32_t k = 0; k < n->n_in; k++) {
            if (!is_param_value(g, n->in[k]))
                continue;
            g->values[n->in[k]].lr_factor = first ? weight_factor : bias_factor;
            first = false;
        }
        if (first)
            return nni_error(NN_E_NOT_FOUND, "nn_set_layer_learn_rate_factors: layer '%s' has no parameters", layer);
        return NN_OK;
    }
    return nni_error(NN_E_NOT_FOUND, "nn_set_layer_learn_rate_factors: the model has no layer named '%s'", layer);
}

NN_API uint64_t nn_model_trainable_param_count(const nn_model *model)
{
    uint64_t total = 0;
    if (!model)
        return 0;
    const nni_graph *g = &model->graph;
    for (int32_t v = 0; v < g->n_values; v++)
        if (is_param_value(g, v) && g->values[v].lr_factor != 0.0f)
            total += (uint64_t)nni_tensor_count(g->values[v].constant);
    return total;
}
