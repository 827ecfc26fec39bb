/*
 * train_plan.c — what one training step computes and where it keeps it.
 *
 * The analysis marks, from the learn-rate factors alone, the values that
 * need a gradient (float values lying between a trainable parameter and the
 * loss), the nodes whose backward runs (those producing such values), and
 * the frozen prefix (deterministic nodes fed only by the input and
 * constants) whose outputs can be cached per sample.
 *
 * The plan then lays activations and gradients out in one arena over a
 * timeline: forward steps, the loss, backward steps in reverse order and the
 * optimizer. An activation lives until the last forward reader or the
 * earliest backward pass that reads it; a gradient from its first
 * contribution until its producer's backward (parameters: until the update).
 * Nothing is kept for a frozen prefix beyond what the first trainable layer
 * reads, and no gradient exists there at all.
 */
#include <string.h>

#include "train/trainer.h"

void nni_tr_analysis_free(tr_analysis *a)
{
    nni_free(a->factors);
    nni_free(a->vflags);
    nni_free(a->nflags);
    nni_free(a->fns);
    memset(a, 0, sizeof *a);
}

bool nni_tr_analysis_stale(const nni_graph *g, const tr_analysis *a)
{
    if (g->n_values != a->n_values || g->n_nodes != a->n_nodes)
        return true;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].lr_factor != a->factors[v])
            return true;
    return false;
}

static bool is_trainable_param(const nni_value *v) { return v->is_param && v->constant && v->lr_factor != 0.0f; }

/* The loss reads the scores before a final Softmax/LogSoftmax. */
static int32_t find_logits(const nni_graph *g, int32_t out)
{
    int32_t p = g->values[out].producer;
    if (p >= 0 && !g->nodes[p].dead &&
        (strcmp(g->nodes[p].op_type, "Softmax") == 0 || strcmp(g->nodes[p].op_type, "LogSoftmax") == 0) &&
        g->nodes[p].n_in >= 1 && g->nodes[p].in[0] >= 0)
        return g->nodes[p].in[0];
    return out;
}

nn_status nni_tr_analyze(const nni_graph *g, const nn_trainer_options *o, tr_analysis *a)
{
    memset(a, 0, sizeof *a);
    const size_t nv = (size_t)(g->n_values ? g->n_values : 1), nn = (size_t)(g->n_nodes ? g->n_nodes : 1);
    if (o->output_index >= (uint32_t)g->n_outputs)
        return nni_error(NN_E_INVALID_ARG, "output_index %u is out of range (the model has %d outputs)",
                         o->output_index, (int)g->n_outputs);
    a->n_values = g->n_values;
    a->n_nodes = g->n_nodes;
    a->factors = nni_malloc(nv * sizeof *a->factors);
    a->vflags = nni_calloc(nv, 1);
    a->nflags = nni_calloc(nn, 1);
    a->fns = nni_calloc(nn, sizeof *a->fns);
    uint8_t *anc = nni_calloc(nv, 1), *reach = nni_calloc(nv, 1), *ok = nni_calloc(nv, 1);
    nn_status st = NN_OK;
    if (!a->factors || !a->vflags || !a->nflags || !a->fns || !anc || !reach || !ok) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the training analysis");
        goto done;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        a->factors[v] = g->values[v].lr_factor;
        anc[v] = is_trainable_param(&g->values[v]);
        ok[v] = g->values[v].constant != NULL || g->values[v].is_input;
    }
    a->logits = find_logits(g, g->outputs[o->output_index]);
    /* values downstream of a trainable parameter */
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        /* Shape and Size read only their input's shape: no gradient flows
         * through them, and their integer outputs start shape chains. */
        if (n->op->flags & NNI_OP_SHAPE_ONLY)
            continue;
        bool any = false;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && anc[n->in[k]])
                any = true;
        for (int32_t k = 0; any && k < n->n_out; k++)
            if (n->out[k] >= 0)
                anc[n->out[k]] = 1;
    }
    /* values the loss depends on */
    reach[a->logits] = 1;
    for (int32_t i = g->n_nodes - 1; i >= 0; i--) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool any = false;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && reach[n->out[k]])
                any = true;
        for (int32_t k = 0; any && k < n->n_in; k++)
            if (n->in[k] >= 0)
                reach[n->in[k]] = 1;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        const nni_value *val = &g->values[v];
        const bool is_float = val->info.dtype == NN_DTYPE_FLOAT32 || val->info.dtype == NN_DTYPE_UNDEFINED ||
                              (val->constant && val->constant->dtype == NN_DTYPE_FLOAT32);
        if (anc[v] && reach[v] && is_float)
            a->vflags[v] |= TR_V_GRAD;
        if (is_trainable_param(val) && reach[v]) {
            a->vflags[v] |= TR_V_TRAINABLE;
            a->n_trainable++;
        }
    }
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        if (strcmp(n->op_type, "BatchNormalization") == 0)
            a->nflags[i] |= TR_N_BN;
        if ((a->nflags[i] & TR_N_BN) && o->batchnorm == NN_BN_TRAIN) {
            bool frozen = true;
            for (int32_t k = 1; k < 3 && k < n->n_in; k++)
                if (n->in[k] >= 0 && is_trainable_param(&g->values[n->in[k]]))
                    frozen = false;
            if (!frozen)
                a->nflags[i] |= TR_N_BN_TRAIN;
        }
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && (a->vflags[n->in[k]] & TR_V_TRAINABLE))
                a->nflags[i] |= TR_N_TRAINS;
        bool bwd = false;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0 && (a->vflags[n->out[k]] & TR_V_GRAD))
                bwd = true;
        if (bwd) {
            a->nflags[i] |= TR_N_BACKWARD;
            a->fns[i] = nni_grad_find(n->op_type);
            if (!a->fns[i])
                st = nni_error(NN_E_UNSUPPORTED,
                               "cannot train through node '%s' (%s): nn has no backward pass for %s; freeze the "
                               "layers before it",
                               n->name, n->op_type, n->op_type);
        }
    }
    /* the frozen prefix: deterministic nodes computing only from the input and constants */
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead || (a->nflags[i] & (TR_N_BACKWARD | TR_N_BN_TRAIN)))
            continue;
        if ((n->op->flags & NNI_OP_NONDETERMINISTIC) || strcmp(n->op_type, "Dropout") == 0)
            continue;
        bool fed = true;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0 && (!ok[n->in[k]] || anc[n->in[k]]))
                fed = false;
        if (!fed)
            continue;
        a->nflags[i] |= TR_N_PREFIX;
        a->n_prefix++;
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                ok[n->out[k]] = 1;
    }
    for (int32_t i = 0; i < g->n_nodes && st == NN_OK; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead || (a->nflags[i] & TR_N_PREFIX))
            continue;
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t v = n->in[k];
            if (v >= 0 && g->values[v].producer >= 0 && (a->nflags[g->values[v].producer] & TR_N_PREFIX))
                a->vflags[v] |= TR_V_FRONTIER;
        }
    }
    if (st == NN_OK && g->values[a->logits].producer >= 0 && (a->nflags[g->values[a->logits].producer] & TR_N_PREFIX))
        a->vflags[a->logits] |= TR_V_FRONTIER;
done:
    nni_free(anc);
    nni_free(reach);
    nni_free(ok);
    if (st != NN_OK)
        nni_tr_analysis_free(a);
    return st;
}

void nni_tr_plan_free(tr_plan *tp)
{
    if (!tp)
        return;
    if (tp->grads)
        for (int32_t v = 0; v < tp->p.n_values; v++)
            if (tp->grads[v].flags & NNI_TENSOR_OWNS_DATA)
                nni_tensor_release(&tp->grads[v]);
    nni_plan_free(&tp->p);
    nni_free(tp->step_of);
    nni_free(tp->grads);
    nni_free(tp->gstate);
    nni_free(tp->goffset);
    nni_free(tp->voffset);
    memset(tp, 0, sizeof *tp);
}

static void extend(int32_t *last, int32_t t)
{
    if (*last < t)
        *last = t;
}

/* Sweep the timeline: at each time, place what starts, then free what ends. */
static nn_status layout(int32_t n_items, int32_t T, const int32_t *def, const int32_t *last, const size_t *size,
                        size_t *offset, size_t *total)
{
    nn_status st = NN_OK;
    nni_arena arena = {0};
    int32_t *start_at = nni_calloc((size_t)T + 1, sizeof *start_at), *end_at = nni_calloc((size_t)T + 1, sizeof *end_at);
    int32_t *by_start = nni_malloc((size_t)(n_items ? n_items : 1) * sizeof *by_start);
    int32_t *by_end = nni_malloc((size_t)(n_items ? n_items : 1) * sizeof *by_end);
    if (!start_at || !end_at || !by_start || !by_end) {
        st = nni_error(NN_E_NOMEM, "cannot lay out the training memory");
        goto done;
    }
    /* bucket the items by start and end time (counting sort) */
    for (int32_t i = 0; i < n_items; i++)
        if (def[i] >= 0)
            start_at[def[i] + 1]++, end_at[last[i] + 1]++;
    for (int32_t t = 0; t < T; t++)
        start_at[t + 1] += start_at[t], end_at[t + 1] += end_at[t];
    for (int32_t i = 0; i < n_items; i++)
        if (def[i] >= 0)
            by_start[start_at[def[i]]++] = i, by_end[end_at[last[i]]++] = i;
    int32_t si = 0, ei = 0;
    for (int32_t t = 0; t < T && st == NN_OK; t++) {
        /* start_at[t] now marks the end of bucket t */
        for (; si < start_at[t]; si++) {
            int32_t i = by_start[si];
            offset[i] = nni_arena_take(&arena, nni_arena_align(size[i] ? size[i] : 1));
        }
        for (; ei < end_at[t] && st == NN_OK; ei++) {
            int32_t i = by_end[ei];
            if (!nni_arena_give(&arena, offset[i], nni_arena_align(size[i] ? size[i] : 1)))
                st = nni_error(NN_E_NOMEM, "cannot lay out the training memory");
        }
    }
    *total = arena.end;
done:
    nni_arena_done(&arena);
    nni_free(start_at);
    nni_free(end_at);
    nni_free(by_start);
    nni_free(by_end);
    return st;
}

nn_status nni_tr_plan_build(const nni_graph *g, const tr_analysis *a, const nn_tensor *input, bool cached_layout,
                            tr_plan *tp)
{
    memset(tp, 0, sizeof *tp);
    const nn_tensor *shapes[1] = {input};
    nn_status st = nni_plan_build(g, shapes, 1 << 16, &tp->p);
    if (st != NN_OK)
        return st;
    const nni_plan *p = &tp->p;
    const int32_t nv = g->n_values, S = p->n_steps;
    const size_t nvs = (size_t)(nv ? nv : 1);
    tp->batch = input->rank > 0 ? input->dims[0] : 1;
    tp->cached_layout = cached_layout;
    tp->step_of = nni_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *tp->step_of);
    tp->grads = nni_calloc(nvs, sizeof *tp->grads);
    tp->gstate = nni_calloc(nvs, 1);
    tp->goffset = nni_calloc(nvs, sizeof *tp->goffset);
    tp->voffset = nni_calloc(nvs, sizeof *tp->voffset);
    int32_t *def = nni_malloc(2 * nvs * sizeof *def), *last = nni_malloc(2 * nvs * sizeof *last);
    size_t *size = nni_calloc(2 * nvs, sizeof *size), *off = nni_calloc(2 * nvs, sizeof *off);
    if (!tp->step_of || !tp->grads || !tp->gstate || !tp->goffset || !tp->voffset || !def || !last || !size || !off) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the training plan");
        goto done;
    }
    for (int32_t i = 0; i < g->n_nodes; i++)
        tp->step_of[i] = -1;
    tp->max_in = 1;
    for (int32_t s = 0; s < S; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        tp->step_of[p->steps[s]] = s;
        if (n->n_in > tp->max_in)
            tp->max_in = n->n_in;
        if (n->n_out > tp->max_in)
            tp->max_in = n->n_out;
    }
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if ((a->nflags[i] & TR_N_BACKWARD) && tp->step_of[i] < 0) {
            st = nni_error(NN_E_UNSUPPORTED, "node '%s' (%s) was evaluated while planning and cannot be trained",
                           g->nodes[i].name, g->nodes[i].op_type);
            goto done;
        }
        if (a->nflags[i] & TR_N_BACKWARD)
            tp->n_backward++;
    }
    /* timeline: forward s -> 1+s, loss -> S+1, backward of s -> 2S+1-s, update -> 2S+2 */
    const int32_t T = 2 * S + 3, t_loss = S + 1, t_opt = 2 * S + 2;
    for (size_t i = 0; i < 2 * nvs; i++)
        def[i] = -1, last[i] = -1;
    for (int32_t s = 0; s < S; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        const bool bwd = (a->nflags[p->steps[s]] & TR_N_BACKWARD) != 0;
        for (int32_t k = 0; k < n->n_in + n->n_out; k++) {
            const bool is_out = k >= n->n_in;
            const int32_t v = is_out ? n->out[k - n->n_in] : n->in[k];
            if (v < 0 || p->state[v] != NNI_VAL_ARENA)
                continue;
            if (is_out)
                def[v] = 1 + s;
            extend(&last[v], 1 + s);
            if (bwd)
                extend(&last[v], 2 * S + 1 - s);
        }
    }
    if (p->state[a->logits] == NNI_VAL_ARENA)
        extend(&last[a->logits], t_loss);
    tp->cache_ok = a->n_prefix > 0;
    bool prefix_runs = false;
    for (int32_t s = 0; s < S; s++)
        if (a->nflags[p->steps[s]] & TR_N_PREFIX)
            prefix_runs = true;
    if (!prefix_runs)
        tp->cache_ok = false;
    for (int32_t v = 0; v < nv; v++) {
        if (!(a->vflags[v] & TR_V_FRONTIER))
            continue;
        const nn_tensor *t = &p->vals[v];
        if (p->state[v] != NNI_VAL_ARENA || t->rank < 1 || t->dims[0] != tp->batch)
            tp->cache_ok = false;
        else if (cached_layout && def[v] >= 0)
            def[v] = 0; /* a cache hit writes it before anything runs */
    }
    for (int32_t v = 0; v < nv; v++) {
        if (def[v] >= 0)
            size[v] = p->vals[v].nbytes;
        if (!(a->vflags[v] & TR_V_GRAD))
            continue;
        const nni_value *val = &g->values[v];
        const bool param = val->producer < 0;
        if (param && !(a->vflags[v] & TR_V_TRAINABLE))
            continue;
        if (!param && p->state[v] != NNI_VAL_ARENA && p->state[v] != NNI_VAL_DYNAMIC)
            continue;
        if (p->state[v] != NNI_VAL_DYNAMIC && p->vals[v].dtype != NN_DTYPE_FLOAT32)
            continue; /* integer values carry no gradient */
        tp->n_grad_buffers++;
        if (p->state[v] == NNI_VAL_DYNAMIC) {
            tp->gstate[v] = 2;
            continue;
        }
        tp->gstate[v] = 1;
        const nn_tensor *t = &p->vals[v];
        if ((st = nni_tensor_set_shape(&tp->grads[v], NN_DTYPE_FLOAT32, t->rank, t->dims)) != NN_OK)
            goto done;
        tp->grad_bytes += tp->grads[v].nbytes;
        const size_t gi = (size_t)nv + (size_t)v;
        size[gi] = tp->grads[v].nbytes;
        int32_t first = v == a->logits ? t_loss : INT32_MAX;
        for (int32_t s = 0; s < S; s++) {
            const nni_node *n = &g->nodes[p->steps[s]];
            if (!(a->nflags[p->steps[s]] & TR_N_BACKWARD))
                continue;
            for (int32_t k = 0; k < n->n_in; k++)
                if (n->in[k] == v && 2 * S + 1 - s < first)
                    first = 2 * S + 1 - s;
        }
        if (first == INT32_MAX)
            first = t_opt; /* nothing contributes: stays zero */
        def[gi] = first;
        last[gi] = param ? t_opt : (tp->step_of[val->producer] >= 0 ? 2 * S + 1 - tp->step_of[val->producer] : t_opt);
        if (last[gi] < first)
            last[gi] = first;
    }
    if ((st = layout(2 * nv, T, def, last, size, off, &tp->arena_size)) != NN_OK)
        goto done;
    for (int32_t v = 0; v < nv; v++) {
        tp->voffset[v] = off[v];
        tp->goffset[v] = off[(size_t)nv + (size_t)v];
    }
done:
    nni_free(def);
    nni_free(last);
    nni_free(size);
    nni_free(off);
    if (st != NN_OK)
        nni_tr_plan_free(tp);
    return st;
}
