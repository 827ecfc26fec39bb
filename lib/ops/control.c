/*
 * control.c — If: run one of two subgraphs, chosen by a boolean input.
 *
 * The branches are graphs of their own (nni_attr.g) whose outer-scope reads
 * arrive as the node's implicit inputs (the loader appends them). A branch
 * runs node by node, each output allocated at its inferred shape, since its
 * outputs' shapes may depend on data (torchvision's "no boxes: empty result,
 * else NMS" branches). The output shapes are those of the branch taken, so
 * infer runs the branch once to learn them and run runs it again to fill the
 * outputs: fine for the small branches exporters emit.
 */
#include <string.h>

#include "exec/plan.h"
#include "ops/op.h"
#include "passes/compile.h"

typedef struct {
    const nni_graph *branch[2]; /* then, else */
    int32_t first[2];           /* node input index of each branch's first capture */
} if_state;

static nn_status if_prepare(nni_opctx *c)
{
    if_state *s = c->state;
    static const char *const names[2] = {"then_branch", "else_branch"};
    const nni_node *n = c->node;
    int32_t at = n->n_in - n->n_implicit;
    if (at != 1)
        return nni_error(NN_E_INVALID_MODEL, "If takes one input (cond), the node has %d", (int)at);
    for (int32_t i = 0; i < n->n_attr; i++) {
        const nni_graph *g = n->attrs[i].g;
        if (!g)
            continue;
        for (int b = 0; b < 2; b++)
            if (strcmp(n->attrs[i].name, names[b]) == 0) {
                s->branch[b] = g;
                s->first[b] = at;
            }
        at += g->n_captures;
    }
    if (at != n->n_in)
        return nni_error(NN_E_INVALID_MODEL, "If: the subgraphs read %d outer values, the node passes %d",
                         (int)(at - 1), (int)n->n_implicit);
    for (int b = 0; b < 2; b++) {
        const nni_graph *g = s->branch[b];
        if (!g)
            return nni_error(NN_E_INVALID_MODEL, "If: attribute '%s' (a graph) is missing", names[b]);
        if (g->n_inputs)
            return nni_error(NN_E_INVALID_MODEL, "If: '%s' declares %d inputs (an If branch takes none)", names[b],
                             (int)g->n_inputs);
        if (g->n_outputs != n->n_out)
            return nni_error(NN_E_INVALID_MODEL, "If: '%s' has %d outputs, the node %d", names[b],
                             (int)g->n_outputs, (int)n->n_out);
        /* the branch belongs to this node: its ops parse their attributes here */
        nn_status st = nni_graph_prepare((nni_graph *)(uintptr_t)g);
        if (st != NN_OK)
            return nni_error_prefix(st, "If '%s'", names[b]);
    }
    return NN_OK;
}

/* Which branch, or -1 when cond is not known yet. */
static nn_status pick(const nni_opctx *c, int *b)
{
    const nn_tensor *cond = c->in[0];
    *b = -1;
    if (nni_tensor_count(cond) != 1)
        return nni_error(NN_E_SHAPE, "If: cond has %lld elements (one expected)", (long long)nni_tensor_count(cond));
    if (!cond->data)
        return NN_OK;
    *b = nni_tensor_get_i64(cond, 0) != 0 ? 0 : 1;
    return NN_OK;
}

typedef struct {
    const nni_graph *g;
    nn_tensor **vals; /* per branch value: borrowed (constants, captures) or owned (node outputs) */
    uint8_t *owned;
} branch_run;

static void branch_free(branch_run *r)
{
    if (r->vals && r->owned)
        for (int32_t v = 0; v < r->g->n_values; v++)
            if (r->owned[v])
                nn_tensor_free(r->vals[v]);
    nni_free(r->vals);
    nni_free(r->owned);
}

/* Evaluate branch b into r (free it with branch_free, success or not). */
static nn_status branch_eval(const nni_opctx *c, const if_state *s, int b, branch_run *r)
{
    const nni_graph *g = s->branch[b];
    memset(r, 0, sizeof *r);
    r->g = g;
    int32_t width = 1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > width)
            width = g->nodes[i].n_in;
        if (g->nodes[i].n_out > width)
            width = g->nodes[i].n_out;
    }
    r->vals = nni_calloc((size_t)g->n_values + 1, sizeof *r->vals);
    r->owned = nni_calloc((size_t)g->n_values + 1, 1);
    nn_tensor **io = nni_calloc(2 * (size_t)width, sizeof *io);
    if (!r->vals || !r->owned || !io) {
        nni_free(io);
        return nni_error(NN_E_NOMEM, "If: cannot allocate the branch's values");
    }
    for (int32_t v = 0; v < g->n_values; v++)
        r->vals[v] = g->values[v].constant;
    for (int32_t k = 0; k < g->n_captures; k++)
        r->vals[g->captures[k]] = c->in[s->first[b] + k];
    nn_status st = NN_OK;
    for (int32_t i = 0; st == NN_OK && i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        nn_tensor **in = io, **out = io + width;
        for (int32_t k = 0; k < n->n_in; k++) {
            in[k] = n->in[k] >= 0 ? r->vals[n->in[k]] : NULL;
            if (n->in[k] >= 0 && !in[k])
                st = nni_error(NN_E_INTERNAL, "value '%s' is not computed", g->values[n->in[k]].name);
        }
        for (int32_t k = 0; st == NN_OK && k < n->n_out; k++) {
            out[k] = NULL;
            int32_t v = n->out[k];
            if (v < 0)
                continue;
            if (!(out[k] = nni_calloc(1, sizeof **out)))
                st = nni_error(NN_E_NOMEM, "If: cannot allocate a tensor");
            else {
                r->vals[v] = out[k];
                r->owned[v] = 1;
            }
        }
        if (st == NN_OK) {
            st = nni_node_infer(g, n, in, out, c->pool);
            if (st == NNI_DEFER)
                st = nni_error(NN_E_INTERNAL, "the output shape is unknown with all inputs present");
        }
        for (int32_t k = 0; st == NN_OK && k < n->n_out; k++)
            if (out[k])
                st = nni_tensor_alloc(out[k]);
        if (st == NN_OK)
            st = nni_node_run(g, n, in, out, c->pool, NULL, NULL);
        if (st != NN_OK)
            st = nni_node_error(n, st);
    }
    nni_free(io);
    for (int32_t k = 0; st == NN_OK && k < g->n_outputs; k++)
        if (!r->vals[g->outputs[k]])
            st = nni_error(NN_E_INVALID_MODEL, "If: branch output '%s' is not computed", g->values[g->outputs[k]].name);
    return st;
}

static nn_status if_infer(nni_opctx *c)
{
    const if_state *s = c->state;
    int b;
    nn_status st = pick(c, &b);
    if (st != NN_OK || b < 0)
        return st != NN_OK ? st : NNI_DEFER;
    for (int32_t k = 0; k < s->branch[b]->n_captures; k++)
        if (!c->in[s->first[b] + k]->data)
            return NNI_DEFER;
    branch_run r;
    st = branch_eval(c, s, b, &r);
    for (int32_t k = 0; st == NN_OK && k < c->n_out; k++) {
        const nn_tensor *t = r.vals[s->branch[b]->outputs[k]];
        if (c->out[k])
            st = nni_out_shape(c, k, t->dtype, t->rank, t->dims);
    }
    branch_free(&r);
    return st;
}

static nn_status if_run(nni_opctx *c)
{
    const if_state *s = c->state;
    int b;
    nn_status st = pick(c, &b);
    if (st != NN_OK)
        return st;
    branch_run r;
    st = branch_eval(c, s, b, &r);
    for (int32_t k = 0; st == NN_OK && k < c->n_out; k++) {
        const nn_tensor *t = r.vals[s->branch[b]->outputs[k]];
        if (!c->out[k])
            continue;
        if (t->dtype != c->out[k]->dtype || t->nbytes != c->out[k]->nbytes)
            st = nni_error(NN_E_INTERNAL, "If: output %d changed shape between infer and run", (int)k);
        else if (t->nbytes)
            memcpy(c->out[k]->data, t->data, t->nbytes);
    }
    branch_free(&r);
    return st;
}

const nni_op_desc nni_op_if = {
    .name = "If", .min_in = 1, .max_in = INT32_MAX, .min_out = 1, .max_out = INT32_MAX,
    .state_size = sizeof(if_state), .prepare = if_prepare, .infer = if_infer, .run = if_run,
};
