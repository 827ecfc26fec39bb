/*
 * compile.c — load-time passes: prepare, constant folding, dead-code removal,
 * and re-inference after an edit (a new input shape, new weights).
 *
 * Folding with fixed input shapes turns Shape->Gather->Concat chains into
 * constants. Those constants are marked `shape_folded`, and the dead nodes
 * that computed them (with the small constants they read) are kept, so that a
 * later edit can unfold them, revive the chain and fold again for the new
 * shapes: the graph always stays equivalent to the imported one.
 */
#include <string.h>

#include "exec/plan.h"
#include "passes/compile.h"

nn_status nni_graph_prepare(nni_graph *g)
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
        if (op->state_size && n->state)
            continue; /* a cloned subgraph's node, prepared already */
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

/*
 * Dead nodes that must be kept to recompute the shape-folded constants live
 * nodes read: a reverse sweep (nodes are in topological order) from those
 * constants through every input that is not a plain constant. `keep_const`
 * (may be NULL) receives the plain constants the kept nodes read.
 */
static void mark_retained(const nni_graph *g, uint8_t *needed, uint8_t *keep_node, uint8_t *keep_const)
{
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && g->values[n->in[k]].shape_folded)
                needed[n->in[k]] = 1;
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        if (g->values[g->outputs[i]].shape_folded)
            needed[g->outputs[i]] = 1;
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        const nni_node *n = &g->nodes[i];
        if (!n->dead)
            continue;
        bool keep = false;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && needed[n->out[k]])
                keep = true;
        if (!keep)
            continue;
        keep_node[i] = 1;
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t v = n->in[k];
            if (v < 0)
                continue;
            const nni_value *val = &g->values[v];
            if (val->shape_folded || !val->constant)
                needed[v] = 1;
            else if (keep_const)
                keep_const[v] = 1;
        }
    }
}

/* Nodes whose outputs nobody reads are dead; initializers only dead nodes read are freed
 * (except those a shape chain needs to be recomputed). */
static void remove_dead(nni_graph *g)
{
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    int32_t *uses = nni_calloc(nv, sizeof *uses);
    uint8_t *needed = nni_calloc(nv, 1), *keep_const = nni_calloc(nv, 1), *keep_node = nni_calloc(nn, 1);
    if (!uses || !needed || !keep_const || !keep_node)
        goto done; /* an optimisation only */
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
    mark_retained(g, needed, keep_node, keep_const);
    for (int32_t v = 0; v < g->n_values; v++) {
        nni_value *val = &g->values[v];
        if (val->constant && uses[v] == 0 && !val->is_output && !keep_const[v]) {
            nn_tensor_free(val->constant);
            val->constant = NULL;
            val->is_param = false;
        }
    }
done:
    nni_free(uses);
    nni_free(needed);
    nni_free(keep_const);
    nni_free(keep_node);
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

/* ---- folding, split into a fallible compute and an infallible apply ---- */

typedef struct {
    nn_tensor **folded;  /* per value: newly folded constant (owned until applied) */
    uint8_t *shape_dep;  /* per value: folded from input shapes */
    uint8_t *dead;       /* per node: every output folded */
    uint8_t *state;      /* per value: nni_val_state in the plan */
    nn_tensor *shape;    /* per value: planned dtype and shape (no data) */
    int32_t n_values;
} fold_result;

static void fold_free(fold_result *f)
{
    if (f->folded)
        for (int32_t v = 0; v < f->n_values; v++)
            nn_tensor_free(f->folded[v]);
    nni_free(f->folded);
    nni_free(f->shape_dep);
    nni_free(f->dead);
    nni_free(f->state);
    nni_free(f->shape);
    memset(f, 0, sizeof *f);
}

/* Plan `g` with its inputs' declared shapes (fixed ones only) and collect what folds. */
static nn_status fold_compute(const nni_graph *g, fold_result *f)
{
    memset(f, 0, sizeof *f);
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    f->n_values = g->n_values;
    f->folded = nni_calloc(nv, sizeof *f->folded);
    f->shape_dep = nni_calloc(nv, 1);
    f->dead = nni_calloc(nn, 1);
    f->state = nni_calloc(nv, 1);
    f->shape = nni_calloc(nv, sizeof *f->shape);
    const nn_tensor **shapes = nni_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *shapes);
    if (!f->folded || !f->shape_dep || !f->dead || !f->state || !f->shape || !shapes) {
        nni_free(shapes);
        fold_free(f);
        return nni_error(NN_E_NOMEM, "cannot allocate the folding tables");
    }
    /* Plan with the declared input shapes where all are fixed (so Shape
     * chains fold too); otherwise with unknown inputs (only constants fold). */
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        shapes[i] = v->shape_known ? &v->info : NULL;
    }
    nni_plan p;
    nn_status st = nni_plan_build(g, shapes, (size_t)-1, &p);
    nni_free(shapes);
    if (st != NN_OK) {
        fold_free(f);
        return st;
    }
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool folded = n->n_out > 0;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && p.state[n->out[k]] != NNI_VAL_FOLDED)
                folded = false;
        if (!folded)
            continue;
        /* computed from a runtime value's shape, or from such a constant */
        bool dep = false;
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t v = n->in[k];
            if (v >= 0 && ((p.state[v] != NNI_VAL_CONST && p.state[v] != NNI_VAL_FOLDED) || f->shape_dep[v]))
                dep = true;
        }
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
            f->folded[v] = t;
            f->shape_dep[v] = dep;
        }
        f->dead[i] = 1;
    }
    for (int32_t v = 0; v < g->n_values && st == NN_OK; v++) {
        f->state[v] = p.state[v];
        const nn_tensor *src = f->folded[v] ? f->folded[v] : &p.vals[v];
        if (p.state[v] != NNI_VAL_UNSET && p.state[v] != NNI_VAL_DYNAMIC && p.state[v] != NNI_VAL_INPUT)
            st = nni_tensor_set_shape(&f->shape[v], src->dtype, src->rank, src->dims);
    }
    nni_plan_free(&p);
    if (st != NN_OK)
        fold_free(f);
    return st;
}

/* Adopt folded values as constants (their producers become dead) and record
 * static shapes for introspection and MAC counts. Cannot fail. */
static void fold_apply(nni_graph *g, fold_result *f)
{
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!f->folded[v])
            continue;
        nn_tensor_free(g->values[v].constant);
        g->values[v].constant = f->folded[v];
        g->values[v].shape_folded = f->shape_dep[v] != 0;
        f->folded[v] = NULL;
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (f->dead[i])
            g->nodes[i].dead = true;
    for (int32_t v = 0; v < g->n_values; v++) {
        nni_value *val = &g->values[v];
        if (val->is_input)
            continue;
        if (val->constant || f->state[v] == NNI_VAL_ARENA) {
            const nn_tensor *src = val->constant ? val->constant : &f->shape[v];
            nni_tensor_set_shape(&val->info, src->dtype, src->rank, src->dims); /* validated when planned */
            val->shape_known = true;
        } else if (!val->is_output) {
            val->shape_known = false; /* outputs keep their declared (or probed) shape */
        }
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
        st = nni_graph_prepare(g);
    if (st != NN_OK)
        return st;
    fold_result f;
    if ((st = fold_compute(g, &f)) != NN_OK)
        return st;
    fold_apply(g, &f);
    fold_free(&f);
    remove_dead(g);
    mark_non_params(g);
    return NN_OK;
}

/* ---- re-inference after an edit ---- */

/* Output shapes when some input dimension is symbolic: plan twice with the
 * symbols taken as 1 and as 2; a dimension that agrees is fixed. */
typedef struct {
    bool have;          /* probed */
    nn_dtype dtype;
    int32_t rank;       /* -1: unknown */
    int64_t dims[NN_MAX_RANK];
    bool varies[NN_MAX_RANK];
} out_probe;

static nn_status probe_plan(const nni_graph *t, int64_t sym_value, nni_plan *p, nn_tensor *tmp, const nn_tensor **ptrs)
{
    for (int32_t i = 0; i < t->n_inputs; i++) {
        const nni_value *v = &t->values[t->inputs[i]];
        ptrs[i] = NULL;
        if (v->info.rank < 0)
            continue;
        int64_t dims[NN_MAX_RANK];
        for (int32_t d = 0; d < v->info.rank; d++)
            dims[d] = v->info.dims[d] < 0 ? sym_value : v->info.dims[d];
        nn_status st = nni_tensor_set_shape(&tmp[i], v->info.dtype, v->info.rank, dims);
        if (st != NN_OK)
            return st;
        ptrs[i] = &tmp[i];
    }
    return nni_plan_build(t, ptrs, 1 << 16, p);
}

static nn_status probe_outputs(const nni_graph *t, out_probe *probe)
{
    size_t ni = (size_t)(t->n_inputs ? t->n_inputs : 1);
    nn_tensor *tmp = nni_calloc(ni, sizeof *tmp);
    const nn_tensor **ptrs = nni_calloc(ni, sizeof *ptrs);
    nn_status st = NN_OK;
    if (!tmp || !ptrs) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the shape probe");
        goto done;
    }
    nni_plan p1, p2;
    if ((st = probe_plan(t, 1, &p1, tmp, ptrs)) != NN_OK) {
        nni_error_prefix(st, "with symbolic dimensions taken as 1");
        goto done;
    }
    bool ok2 = probe_plan(t, 2, &p2, tmp, ptrs) == NN_OK;
    if (!ok2)
        nni_error_clear();
    for (int32_t i = 0; i < t->n_outputs; i++) {
        int32_t v = t->outputs[i];
        probe[i].have = true;
        probe[i].rank = -1;
        if (p1.state[v] == NNI_VAL_UNSET || p1.state[v] == NNI_VAL_DYNAMIC)
            continue;
        probe[i].rank = p1.vals[v].rank;
        probe[i].dtype = p1.vals[v].dtype;
        bool known2 = ok2 && p2.state[v] != NNI_VAL_UNSET && p2.state[v] != NNI_VAL_DYNAMIC &&
                      p2.vals[v].rank == p1.vals[v].rank;
        for (int32_t d = 0; d < p1.vals[v].rank; d++) {
            probe[i].dims[d] = p1.vals[v].dims[d];
            probe[i].varies[d] = !known2 || p2.vals[v].dims[d] != p1.vals[v].dims[d];
        }
    }
    nni_plan_free(&p1);
    if (ok2)
        nni_plan_free(&p2);
done:
    nni_free(tmp);
    nni_free(ptrs);
    return st;
}

/* The first symbolic input dimension's name, to label output dims that follow it. */
static const char *first_input_symbol(const nni_graph *g)
{
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        for (int32_t d = 0; d < v->info.rank; d++)
            if (v->info.dims[d] < 0 && v->dim_sym[d])
                return v->dim_sym[d];
    }
    return NULL;
}

nn_status nni_graph_reinfer(nni_graph *g, nni_edit *e)
{
    nn_status st = NN_OK;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    nni_graph t = *g; /* trial view: shallow copies, the edit applied */
    t.values = nni_malloc(nv * sizeof *t.values);
    t.nodes = nni_malloc(nn * sizeof *t.nodes);
    uint8_t *needed = nni_calloc(nv, 1), *revive = nni_calloc(nn, 1);
    out_probe *probe = nni_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *probe);
    char **syms = nni_calloc((size_t)(g->n_outputs ? g->n_outputs : 1) * NN_MAX_RANK, sizeof *syms);
    fold_result f;
    memset(&f, 0, sizeof f);
    if (!t.values || !t.nodes || !needed || !revive || !probe || !syms) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the re-inference tables");
        goto done;
    }
    memcpy(t.values, g->values, (size_t)g->n_values * sizeof *t.values);
    memcpy(t.nodes, g->nodes, (size_t)g->n_nodes * sizeof *t.nodes);
    /* unfold what came from input shapes and revive the chains computing it */
    mark_retained(g, needed, revive, NULL);
    for (int32_t v = 0; v < g->n_values; v++)
        if (t.values[v].shape_folded)
            t.values[v].constant = NULL;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (revive[i])
            t.nodes[i].dead = false;
    for (int32_t k = 0; k < e->n; k++)
        t.values[e->value[k]].constant = e->tensor[k];
    if (e->input >= 0) {
        nni_value *in = &t.values[e->input];
        in->info = e->input_info;
        in->info.name = NULL;
        in->info.data = NULL;
        in->info.flags = 0;
        in->shape_known = in->info.rank >= 0;
        for (int32_t d = 0; d < in->info.rank; d++) {
            if (in->info.dims[d] < 0)
                in->shape_known = false;
            in->dim_sym[d] = e->input_sym[d];
        }
    }
    if ((st = fold_compute(&t, &f)) != NN_OK)
        goto done;
    bool symbolic = false;
    for (int32_t i = 0; i < t.n_inputs; i++)
        if (!t.values[t.inputs[i]].shape_known)
            symbolic = true;
    if (symbolic && (st = probe_outputs(&t, probe)) != NN_OK)
        goto done;
    /* new symbolic names for outputs, allocated before anything is committed */
    const char *sym0 = first_input_symbol(&t);
    for (int32_t i = 0; i < g->n_outputs; i++) {
        const nni_value *ov = &g->values[g->outputs[i]];
        if (!probe[i].have || probe[i].rank < 0 || f.state[g->outputs[i]] == NNI_VAL_ARENA || ov->constant)
            continue;
        for (int32_t d = 0; d < probe[i].rank; d++) {
            if (!probe[i].varies[d])
                continue;
            const char *s = d < ov->info.rank && ov->dim_sym[d] ? ov->dim_sym[d]
                            : probe[i].dims[d] == 1 ? sym0 : NULL;
            if (s && !(syms[i * NN_MAX_RANK + d] = nni_strdup(s))) {
                st = nni_error(NN_E_NOMEM, "cannot copy a dimension name");
                goto done;
            }
        }
    }
    /* ---- commit: nothing below fails ---- */
    for (int32_t v = 0; v < g->n_values; v++) {
        nni_value *val = &g->values[v];
        if (val->shape_folded) {
            nn_tensor_free(val->constant);
            val->constant = NULL;
            val->shape_folded = false;
        }
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (revive[i])
            g->nodes[i].dead = false;
    for (int32_t k = 0; k < e->n; k++) {
        nni_value *val = &g->values[e->value[k]];
        nn_tensor_free(val->constant);
        val->constant = e->tensor[k];
        e->tensor[k] = NULL;
        nni_tensor_set_shape(&val->info, val->constant->dtype, val->constant->rank, val->constant->dims);
        val->shape_known = true;
    }
    if (e->input >= 0) {
        nni_value *in = &g->values[e->input];
        nni_value *tin = &t.values[e->input];
        in->info.dtype = tin->info.dtype;
        in->info.rank = tin->info.rank;
        memcpy(in->info.dims, tin->info.dims, sizeof in->info.dims);
        in->shape_known = tin->shape_known;
        for (int32_t d = 0; d < NN_MAX_RANK; d++) {
            nni_free(in->dim_sym[d]);
            in->dim_sym[d] = NULL;
            if (d < in->info.rank)
                in->dim_sym[d] = e->input_sym[d];
            else
                nni_free(e->input_sym[d]);
            e->input_sym[d] = NULL;
        }
    }
    fold_apply(g, &f);
    for (int32_t i = 0; i < g->n_outputs; i++) {
        nni_value *ov = &g->values[g->outputs[i]];
        if (ov->constant || f.state[g->outputs[i]] == NNI_VAL_ARENA) {
            for (int32_t d = 0; d < NN_MAX_RANK; d++) {
                nni_free(ov->dim_sym[d]);
                ov->dim_sym[d] = NULL;
            }
            continue;
        }
        if (!probe[i].have || probe[i].rank < 0)
            continue; /* keep the declared shape */
        ov->info.rank = probe[i].rank;
        ov->info.dtype = probe[i].dtype;
        for (int32_t d = 0; d < NN_MAX_RANK; d++) {
            nni_free(ov->dim_sym[d]);
            ov->dim_sym[d] = NULL;
            if (d < probe[i].rank) {
                ov->info.dims[d] = probe[i].varies[d] ? -1 : probe[i].dims[d];
                ov->dim_sym[d] = syms[i * NN_MAX_RANK + d];
                syms[i * NN_MAX_RANK + d] = NULL;
            }
        }
        ov->shape_known = false;
    }
    remove_dead(g);
    mark_non_params(g);
done:
    fold_free(&f);
    if (syms)
        for (int32_t i = 0; i < g->n_outputs * NN_MAX_RANK; i++)
            nni_free(syms[i]);
    nni_free(syms);
    nni_free(t.values);
    nni_free(t.nodes);
    nni_free(needed);
    nni_free(revive);
    nni_free(probe);
    return st;
}

void nni_edit_free(nni_edit *e)
{
    for (int32_t k = 0; k < e->n; k++)
        nn_tensor_free(e->tensor[k]);
    for (int32_t d = 0; d < NN_MAX_RANK; d++)
        nni_free(e->input_sym[d]);
    memset(e, 0, sizeof *e);
    e->input = -1;
}
