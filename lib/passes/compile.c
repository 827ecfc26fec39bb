/* compile.c — load-time passes: prepare, constant folding, dead-code removal. */
#include <string.h>

#include "exec/plan.h"
#include "passes/compile.h"

static nn_status prepare_nodes(nni_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        nni_node *n = &g->nodes[i];
        const nni_op_desc *op = n->op;
        if (n->n_in < op->min_in || n->n_in > op->max_in)
            return nni_node_error(n, nni_error(NN_E_INVALID_MODEL, "has %d inputs, expected %d..%d", (int)n->n_in,
                                               (int)op->min_in, (int)op->max_in));
        if (n->n_out < op->min_out || n->n_out > op->max_out)
            return nni_node_error(n, nni_error(NN_E_INVALID_MODEL, "has %d outputs, expected %d..%d", (int)n->n_out,
                                               (int)op->min_out, (int)op->max_out));
        /* ONNX puts optional inputs/outputs after the required ones: the
         * first min_in/min_out must be present, so ops may rely on them. */
        for (int32_t k = 0; k < op->min_in; k++)
            if (n->in[k] < 0)
                return nni_node_error(n, nni_error(NN_E_INVALID_MODEL, "required input %d is empty", (int)k));
        for (int32_t k = 0; k < op->min_out; k++)
            if (n->out[k] < 0)
                return nni_node_error(n, nni_error(NN_E_INVALID_MODEL, "required output %d is empty", (int)k));
        if (op->state_size && !(n->state = nni_calloc(1, op->state_size)))
            return nni_error(NN_E_NOMEM, "cannot allocate the state of node '%s'", n->name);
        if (op->prepare) {
            nni_opctx c;
            memset(&c, 0, sizeof c);
            c.node = n;
            c.state = n->state;
            c.n_in = n->n_in;
            c.n_out = n->n_out;
            c.opset = g->opset;
            nn_status st = op->prepare(&c);
            if (st != NN_OK)
                return nni_node_error(n, st);
        }
    }
    return NN_OK;
}

/* Nodes whose outputs nobody reads are dead; initializers only dead nodes read are freed. */
static void remove_dead(nni_graph *g)
{
    int32_t *uses = nni_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *uses);
    if (!uses)
        return; /* an optimisation only */
    for (int32_t i = 0; i < g->n_outputs; i++)
        uses[g->outputs[i]]++;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            for (int32_t k = 0; k < g->nodes[i].n_in; k++)
                if (g->nodes[i].in[k] >= 0)
                    uses[g->nodes[i].in[k]]++;
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool used = false;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && uses[n->out[k]] > 0)
                used = true;
        if (used)
            continue;
        n->dead = true;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                uses[n->in[k]]--;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        if (g->values[v].constant && uses[v] == 0 && !g->values[v].is_output) {
            nn_tensor_free(g->values[v].constant);
            g->values[v].constant = NULL;
            g->values[v].is_param = false;
        }
    }
    nni_free(uses);
}

/* Running statistics are initializers but not trainable parameters. */
static void mark_non_params(nni_graph *g)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "BatchNormalization") == 0)
            for (int32_t k = 3; k < n->n_in && k < 5; k++)
                if (n->in[k] >= 0)
                    g->values[n->in[k]].is_param = false;
    }
}

/* The longest chain of nodes (nodes are in topological order), against the depth limit. */
static nn_status check_depth(const nni_graph *g)
{
    if (!g->limits.max_depth || g->n_nodes <= (int32_t)g->limits.max_depth)
        return NN_OK; /* cannot be deeper than it has nodes */
    int32_t *depth = nni_calloc((size_t)g->n_nodes, sizeof *depth);
    if (!depth)
        return nni_error(NN_E_NOMEM, "cannot allocate the graph depth table");
    nn_status st = NN_OK;
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        const nni_node *n = &g->nodes[i];
        int32_t d = 1;
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t v = n->in[k];
            int32_t p = v >= 0 ? g->values[v].producer : -1;
            if (p >= 0 && depth[p] + 1 > d)
                d = depth[p] + 1;
        }
        depth[i] = d;
        if ((uint32_t)d > g->limits.max_depth)
            st = nni_error(NN_E_LIMIT, "the graph is deeper than %u nodes at node '%s' (nn_load_options.max_graph_depth)",
                           g->limits.max_depth, n->name);
    }
    nni_free(depth);
    return st;
}

nn_status nni_graph_compile(nni_graph *g)
{
    nn_status st = nni_graph_toposort(g);
    if (st == NN_OK)
        st = check_depth(g);
    if (st == NN_OK)
        st = prepare_nodes(g);
    if (st != NN_OK)
        return st;
    /* Plan with the declared input shapes where all are fixed (so Shape
     * chains fold too); otherwise with unknown inputs (only constants fold). */
    const nn_tensor **shapes = nni_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *shapes);
    if (!shapes)
        return nni_error(NN_E_NOMEM, "cannot allocate the input shapes");
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        shapes[i] = v->shape_known ? &v->info : NULL;
    }
    nni_plan p;
    st = nni_plan_build(g, shapes, (size_t)-1, &p);
    nni_free(shapes);
    if (st != NN_OK)
        return st;
    /* adopt folded values as constants; their producers become dead */
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        nni_node *n = &g->nodes[i];
        bool folded = n->n_out > 0;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && p.state[n->out[k]] != NNI_VAL_FOLDED)
                folded = false;
        if (!folded)
            continue;
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t v = n->out[k];
            if (v < 0)
                continue;
            nn_tensor *t = nni_calloc(1, sizeof *t);
            if (!t) {
                st = nni_error(NN_E_NOMEM, "cannot keep a folded constant");
                break;
            }
            *t = p.vals[v]; /* take over the owned buffer */
            memset(&p.vals[v], 0, sizeof p.vals[v]);
            g->values[v].constant = t;
        }
        n->dead = true;
    }
    /* record static shapes for introspection and MAC counts */
    for (int32_t v = 0; v < g->n_values && st == NN_OK; v++) {
        nni_value *val = &g->values[v];
        if (val->is_input)
            continue;
        const nn_tensor *src = val->constant ? val->constant : &p.vals[v];
        if (val->constant || p.state[v] == NNI_VAL_ARENA) {
            nni_tensor_set_shape(&val->info, src->dtype, src->rank, src->dims);
            val->shape_known = true;
        }
    }
    nni_plan_free(&p);
    if (st == NN_OK) {
        remove_dead(g);
        mark_non_params(g);
    }
    return st;
}
