/*
 * session.c — nn_session: runs a model for one thread at a time. It keeps the
 * plan for the last input shapes (rebuilt when they change), the arena the
 * plan lays intermediates out in, scratch memory and a thread pool.
 */
#include <string.h>

#include "api/model.h"
#include "exec/plan.h"
#include "exec/session.h"
#include "ops/fusion.h"

struct nn_session {
    const nn_model *model;
    nni_pool *pool;
    nni_plan plan;
    bool planned;
    uint8_t *arena;
    size_t arena_cap;
    void *scratch;
    size_t scratch_cap;
    nn_tensor **in_ptrs, **out_ptrs; /* per-node views, sized for the widest node */
    const nn_tensor **bound;         /* the caller's inputs of the current run, in graph order */
    nn_tensor *outputs;              /* what nn_session_output hands out (names kept across runs) */
    bool have_outputs;
};

NN_API nn_status nn_session_options_init(nn_session_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_session_options_init: options is NULL");
    if (version != NN_SESSION_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_session_options_init: version %u is not supported", version);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->num_threads = 0;
    return NN_OK;
}

NN_API nn_status nn_session_create(const nn_model *model, const nn_session_options *options, nn_session **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_session_create: out is NULL");
    *out = NULL;
    if (!model)
        return nni_error(NN_E_INVALID_ARG, "nn_session_create: model is NULL");
    int32_t threads = 0;
    if (options) {
        if (options->version < 1 || options->version > NN_SESSION_OPTIONS_VERSION)
            return nni_error(NN_E_INVALID_ARG, "nn_session_options.version %u is not supported", options->version);
        if (options->num_threads < 0)
            return nni_error(NN_E_INVALID_ARG, "nn_session_options.num_threads is negative (%d)", (int)options->num_threads);
        threads = options->num_threads;
    }
    nn_session *s = nni_calloc(1, sizeof *s);
    if (!s)
        return nni_error(NN_E_NOMEM, "nn_session_create: out of memory");
    s->model = model;
    const nni_graph *g = &model->graph;
    int32_t max_io = 1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > max_io)
            max_io = g->nodes[i].n_in;
        if (g->nodes[i].n_out > max_io)
            max_io = g->nodes[i].n_out;
    }
    s->in_ptrs = nni_calloc((size_t)max_io, sizeof *s->in_ptrs);
    s->out_ptrs = nni_calloc((size_t)max_io, sizeof *s->out_ptrs);
    s->outputs = nni_calloc((size_t)(g->n_outputs ? g->n_outputs : 1), sizeof *s->outputs);
    s->bound = nni_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *s->bound);
    nn_status st = (!s->in_ptrs || !s->out_ptrs || !s->outputs || !s->bound)
                       ? nni_error(NN_E_NOMEM, "nn_session_create: out of memory")
                       : nni_pool_create(threads, &s->pool);
    if (st != NN_OK) {
        nn_session_free(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

/* Outputs' data (owned copies only); names stay for the next run. */
static void release_outputs(nn_session *s)
{
    for (int32_t i = 0; i < s->model->graph.n_outputs; i++) {
        nn_tensor *t = &s->outputs[i];
        if (t->flags & NNI_TENSOR_OWNS_DATA)
            nni_free_aligned(t->data);
        t->data = NULL;
        t->flags &= ~NNI_TENSOR_OWNS_DATA;
    }
    s->have_outputs = false;
}

/* Values allocated at run time (dynamic shapes) are freed before the next run. */
static void release_dynamic(nn_session *s)
{
    if (!s->planned)
        return;
    for (int32_t v = 0; v < s->plan.n_values; v++)
        if (s->plan.state[v] == NNI_VAL_DYNAMIC && (s->plan.vals[v].flags & NNI_TENSOR_OWNS_DATA))
            nni_tensor_release(&s->plan.vals[v]);
}

NN_API void nn_session_free(nn_session *s)
{
    if (!s)
        return;
    release_dynamic(s);
    if (s->outputs) {
        release_outputs(s);
        for (int32_t i = 0; i < s->model->graph.n_outputs; i++)
            nni_tensor_release(&s->outputs[i]);
    }
    nni_plan_free(&s->plan);
    nni_pool_free(s->pool);
    nni_free_aligned(s->arena);
    nni_free_aligned(s->scratch);
    nni_free(s->in_ptrs);
    nni_free(s->out_ptrs);
    nni_free(s->bound);
    nni_free(s->outputs);
    nni_free(s);
}

static void *session_scratch(nni_opctx *c, size_t bytes)
{
    nn_session *s = c->scratch_owner;
    if (bytes <= s->scratch_cap)
        return s->scratch;
    void *p = nni_malloc_aligned(bytes);
    if (!p)
        return NULL;
    nni_free_aligned(s->scratch);
    s->scratch = p;
    s->scratch_cap = bytes;
    return p;
}

/* Match the caller's tensors to graph inputs; check dtype and fixed dims. */
static nn_status bind_inputs(nn_session *s, uint32_t n, const char *const *names, const nn_tensor *const *inputs,
                             const nn_tensor **bound)
{
    const nni_graph *g = &s->model->graph;
    for (int32_t i = 0; i < g->n_inputs; i++)
        bound[i] = NULL;
    for (uint32_t k = 0; k < n; k++) {
        int32_t slot = -1;
        if (names) {
            if (!names[k])
                return nni_error(NN_E_INVALID_ARG, "input name #%u is NULL", k);
            for (int32_t i = 0; i < g->n_inputs; i++)
                if (strcmp(g->values[g->inputs[i]].name, names[k]) == 0)
                    slot = i;
            if (slot < 0)
                return nni_error(NN_E_NOT_FOUND, "the model has no input named '%s'", names[k]);
        } else {
            if (k >= (uint32_t)g->n_inputs)
                return nni_error(NN_E_INVALID_ARG, "%u inputs given, the model has %d", n, (int)g->n_inputs);
            slot = (int32_t)k;
        }
        if (!inputs || !inputs[k])
            return nni_error(NN_E_INVALID_ARG, "input tensor #%u is NULL", k);
        if (bound[slot])
            return nni_error(NN_E_INVALID_ARG, "input '%s' is given twice", g->values[g->inputs[slot]].name);
        bound[slot] = inputs[k];
    }
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        const nn_tensor *t = bound[i];
        if (!t)
            return nni_error(NN_E_INVALID_ARG, "input '%s' is not given", v->name);
        if (v->info.dtype != t->dtype)
            return nni_error(NN_E_TYPE, "input '%s' must be %s, got %s", v->name, nn_dtype_name(v->info.dtype),
                             nn_dtype_name(t->dtype));
        if (v->info.rank >= 0) {
            char want[160], got[160];
            bool ok = v->info.rank == t->rank;
            for (int32_t d = 0; ok && d < t->rank; d++)
                if (v->info.dims[d] >= 0 && v->info.dims[d] != t->dims[d])
                    ok = false;
            if (!ok)
                return nni_error(NN_E_SHAPE, "input '%s' must have shape %s (-1 = any), got %s", v->name,
                                 nni_shape_str(v->info.rank, v->info.dims, want, sizeof want),
                                 nni_shape_str(t->rank, t->dims, got, sizeof got));
        }
        if (t->nbytes && !t->data)
            return nni_error(NN_E_INVALID_ARG, "input '%s' has no data", v->name);
    }
    return NN_OK;
}

static bool plan_matches(const nn_session *s, const nn_tensor *const *bound)
{
    if (!s->planned)
        return false;
    const nni_graph *g = &s->model->graph;
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nn_tensor *p = &s->plan.vals[g->inputs[i]];
        if (p->dtype != bound[i]->dtype || !nni_same_shape(p, bound[i]))
            return false;
    }
    return true;
}

static nn_status replan(nn_session *s, const nn_tensor *const *bound)
{
    release_dynamic(s);
    nni_plan_free(&s->plan);
    s->planned = false;
    nn_status st = nni_plan_build_ex(&s->model->graph, bound, 1 << 16, NNI_PLAN_FUSE | NNI_PLAN_INPLACE, &s->plan);
    if (st != NN_OK)
        return st;
    uint64_t limit = s->model->graph.limits.max_session_bytes;
    if (limit && s->plan.arena_size > limit) {
        st = nni_error(NN_E_LIMIT, "the activations alive at once need %zu bytes, over the limit of %llu "
                       "(nn_load_options.max_session_bytes)", s->plan.arena_size, (unsigned long long)limit);
        nni_plan_free(&s->plan);
        return st;
    }
    if (s->plan.arena_size > s->arena_cap) {
        nni_free_aligned(s->arena);
        s->arena_cap = 0;
        s->arena = nni_malloc_aligned(s->plan.arena_size);
        if (!s->arena) {
            nni_plan_free(&s->plan);
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of activations", s->plan.arena_size);
        }
        s->arena_cap = s->plan.arena_size;
    }
    for (int32_t v = 0; v < s->plan.n_values; v++)
        if (s->plan.state[v] == NNI_VAL_ARENA)
            s->plan.vals[v].data = s->arena + s->plan.offset[v];
    s->planned = true;
    return NN_OK;
}

static void bn_fusion(const nni_graph *g, nni_plan *p, int32_t node, nni_fusion *f)
{
    const nni_node *bn = &g->nodes[node];
    f->bn_scale = &p->vals[bn->in[1]];
    f->bn_bias = &p->vals[bn->in[2]];
    f->bn_mean = &p->vals[bn->in[3]];
    f->bn_var = &p->vals[bn->in[4]];
    nni_batchnorm_is_inference(bn, g->opset, &f->bn_epsilon);
    nn_tensor *in[5] = {NULL, &p->vals[bn->in[1]], &p->vals[bn->in[2]], &p->vals[bn->in[3]], &p->vals[bn->in[4]]};
    f->bn_constant = (nni_varying_inputs(g, bn, in) & 0x1e) == 0; /* inputs 1-4 */
}

/* The tensors a fused step's op needs besides its own inputs (pw: room for a computed input 0). */
static void step_fusion(const nni_graph *g, nni_plan *p, const nni_step_fusion *sf, nni_fusion *f, nni_fusion_pw *pw)
{
    memset(f, 0, sizeof *f);
    if (sf->bn >= 0)
        bn_fusion(g, p, sf->bn, f);
    f->residual = sf->residual >= 0 ? &p->vals[sf->residual] : NULL;
    f->act = sf->act;
    f->act_alpha = sf->alpha;
    f->act_beta = sf->beta;
    if (sf->pw >= 0) {
        const nni_node *n = &g->nodes[sf->pw];
        memset(pw, 0, sizeof *pw);
        pw->x = &p->vals[n->in[0]];
        pw->w = &p->vals[n->in[1]];
        pw->b = n->n_in > 2 && n->in[2] >= 0 ? &p->vals[n->in[2]] : NULL;
        if (sf->pw_bn >= 0)
            bn_fusion(g, p, sf->pw_bn, &pw->f);
        pw->f.act = sf->pw_act;
        pw->f.act_alpha = sf->pw_alpha;
        pw->f.act_beta = sf->pw_beta;
        f->pw = pw;
    }
}

static nn_status run_steps(nn_session *s)
{
    const nni_graph *g = &s->model->graph;
    nni_plan *p = &s->plan;
    /* values of shapes known only now are allocated as they come, beside the arena */
    uint64_t used = p->arena_size, limit = g->limits.max_session_bytes;
    for (int32_t si = 0; si < p->n_steps; si++) {
        const nni_node *n = &g->nodes[p->steps[si]];
        const nni_step_fusion *sf = p->fusion && p->fusion[si].out >= 0 ? &p->fusion[si] : NULL;
        for (int32_t k = 0; k < n->n_in; k++)
            s->in_ptrs[k] = n->in[k] >= 0 ? &p->vals[n->in[k]] : NULL;
        for (int32_t k = 0; k < n->n_out; k++)
            s->out_ptrs[k] = n->out[k] >= 0 ? &p->vals[n->out[k]] : NULL;
        nn_status st;
        if (p->dynamic[si]) {
            st = nni_node_infer(g, n, s->in_ptrs, s->out_ptrs, s->pool);
            if (st == NNI_DEFER)
                st = nni_error(NN_E_INTERNAL, "the output shape is still unknown with all inputs present");
            for (int32_t k = 0; st == NN_OK && k < n->n_out; k++) {
                if (!s->out_ptrs[k])
                    continue;
                used += s->out_ptrs[k]->nbytes;
                if (limit && used > limit)
                    st = nni_error(NN_E_LIMIT, "the activations of this run need more than %llu bytes "
                                   "(nn_load_options.max_session_bytes)", (unsigned long long)limit);
                else
                    st = nni_tensor_alloc(s->out_ptrs[k]);
            }
            if (st != NN_OK)
                return nni_node_error(n, st);
        }
        if (sf) {
            nni_fusion f;
            nni_fusion_pw pw;
            step_fusion(g, p, sf, &f, &pw);
            s->out_ptrs[0] = &p->vals[sf->out];
            st = nni_node_run_fused(g, n, s->in_ptrs, s->out_ptrs, s->pool, session_scratch, s, &f, s->model->memo);
        } else {
            st = nni_node_run_fused(g, n, s->in_ptrs, s->out_ptrs, s->pool, session_scratch, s, NULL, s->model->memo);
        }
        if (st != NN_OK)
            return nni_node_error(n, st);
    }
    return NN_OK;
}

/* Graph outputs are handed out as views; ones not computed in the arena
 * (constants, inputs passed through) are copied so they outlive the call. */
static nn_status collect_outputs(nn_session *s)
{
    const nni_graph *g = &s->model->graph;
    for (int32_t i = 0; i < g->n_outputs; i++) {
        int32_t v = g->outputs[i];
        const nn_tensor *src = &s->plan.vals[v];
        nn_tensor *dst = &s->outputs[i];
        uint8_t state = s->plan.state[v];
        nn_status st = nni_tensor_set_shape(dst, src->dtype, src->rank, src->dims);
        if (st != NN_OK)
            return st;
        if (state == NNI_VAL_ARENA || state == NNI_VAL_DYNAMIC) {
            dst->data = src->data;
        } else {
            if ((st = nni_tensor_alloc(dst)) != NN_OK)
                return st;
            if (src->nbytes)
                memcpy(dst->data, src->data, src->nbytes);
        }
        if (!dst->name && !(dst->name = nni_strdup(g->values[v].name)))
            return nni_error(NN_E_NOMEM, "cannot copy an output name");
    }
    s->have_outputs = true;
    return NN_OK;
}

NN_API nn_status nn_session_run(nn_session *s, uint32_t n_inputs, const char *const *names, const nn_tensor *const *inputs)
{
    nni_error_clear();
    if (!s)
        return nni_error(NN_E_INVALID_ARG, "nn_session_run: session is NULL");
    const nni_graph *g = &s->model->graph;
    release_outputs(s);
    const nn_tensor **bound = s->bound;
    nn_status st = bind_inputs(s, n_inputs, names, inputs, bound);
    if (st == NN_OK && !plan_matches(s, bound))
        st = replan(s, bound);
    if (st == NN_OK) {
        release_dynamic(s);
        for (int32_t i = 0; i < g->n_inputs; i++)
            s->plan.vals[g->inputs[i]].data = bound[i]->data;
        st = run_steps(s);
        if (st == NN_OK)
            st = collect_outputs(s);
        for (int32_t i = 0; i < g->n_inputs; i++)
            s->plan.vals[g->inputs[i]].data = NULL; /* never keep the caller's memory */
    }
    if (st != NN_OK) {
        release_outputs(s);
        return nni_error_prefix(st, "nn_session_run");
    }
    return NN_OK;
}

NN_API uint32_t nn_session_output_count(const nn_session *s) { return s ? (uint32_t)s->model->graph.n_outputs : 0; }

NN_API const nn_tensor *nn_session_output(const nn_session *s, uint32_t index)
{
    if (!s || !s->have_outputs || index >= (uint32_t)s->model->graph.n_outputs)
        return NULL;
    return &s->outputs[index];
}

const nn_model *nni_session_model(const nn_session *s) { return s->model; }
