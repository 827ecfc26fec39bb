/*
 * trainer.c — nn_trainer and nn_train_step: forward in training mode with
 * the values backward needs kept, softmax cross-entropy on the logits,
 * backward over the nodes between the trainable parameters and the loss
 * (gradients summed where a value feeds several nodes), gradient clipping
 * and the optimizer update of the model's parameters in place.
 */
#include <math.h>
#include <string.h>

#include "api/model.h"
#include "kernels/optim.h"
#include "train/loss.h"
#include "train/trainer.h"

#define DEFAULT_CACHE_BYTES ((uint64_t)1 << 30)
#define DEFAULT_CACHE_DISK_BYTES ((uint64_t)16 << 30)

struct nn_trainer {
    nn_model *model;
    nn_trainer_options o;
    char *cache_path;
    nni_pool *pool;
    float *class_weights;
    uint32_t n_class_weights;
    uint64_t steps;
    float accuracy;
    tr_analysis an;
    tr_plan plan;
    bool planned;
    uint8_t *arena;
    size_t arena_cap;
    void *scratch;
    size_t scratch_cap;
    int32_t max_io;
    nn_tensor **in_ptrs, **out_ptrs, **dout_ptrs, **din_ptrs;
    nn_tensor *tmp;        /* per input slot: where a second contribution to a gradient is written */
    void **tmp_buf;
    size_t *tmp_cap;
    uint8_t *fresh;        /* per value: its gradient holds a contribution this step */
    uint8_t *direct;       /* per input slot: din is the value's gradient itself (first contribution) */
    float **opt_m, **opt_v;/* per parameter value: momentum / Adam moments */
    int64_t *opt_steps;
    int64_t *const_count;  /* per value: element count of its constant at creation (-1: none) */
    double *prob;
    int64_t prob_cap;
    int64_t *labels;
    int64_t labels_cap;
    uint8_t *record;
    size_t record_cap;
    tr_cache *cache;
    uint64_t backward_calls, cache_hits, cache_misses;
    uint8_t *bn_saved;     /* running statistics before the step's forward pass (see bn_stats_save) */
    size_t bn_saved_cap;
};

/* ---- options ---- */

NN_API nn_status nn_trainer_options_init(nn_trainer_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_options_init: options is NULL");
    if (version != NN_TRAINER_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_options_init: version %u is not supported (this library knows %d)",
                         version, NN_TRAINER_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->optimizer = NN_OPTIMIZER_SGD;
    o->learning_rate = 0.01f;
    o->momentum = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->epsilon = 1e-8f;
    o->lr_gamma = 0.1f;
    o->lr_schedule = NN_LR_CONSTANT;
    o->batchnorm = NN_BN_FROZEN;
    return NN_OK;
}

static bool finite_in(float x, float lo, float hi) { return isfinite(x) && x >= lo && x <= hi; }

static nn_status check_options(const nn_trainer_options *o)
{
#define BAD(...) return nni_error(NN_E_INVALID_ARG, "nn_trainer_options: " __VA_ARGS__)
    if (o->optimizer < NN_OPTIMIZER_SGD || o->optimizer > NN_OPTIMIZER_ADAMW)
        BAD("optimizer %d is not one of NN_OPTIMIZER_*", (int)o->optimizer);
    if (!(isfinite(o->learning_rate) && o->learning_rate > 0.0f))
        BAD("learning_rate %g must be a positive number", (double)o->learning_rate);
    if (!finite_in(o->momentum, 0.0f, 1.0f) || o->momentum == 1.0f)
        BAD("momentum %g must be in [0, 1)", (double)o->momentum);
    if (o->nesterov && (o->optimizer != NN_OPTIMIZER_SGD || o->momentum == 0.0f))
        BAD("nesterov needs the SGD optimizer with a non-zero momentum");
    if (!finite_in(o->beta1, 0.0f, 1.0f) || o->beta1 == 1.0f || !finite_in(o->beta2, 0.0f, 1.0f) || o->beta2 == 1.0f)
        BAD("beta1 and beta2 must be in [0, 1)");
    if (!(isfinite(o->epsilon) && o->epsilon > 0.0f))
        BAD("epsilon %g must be a positive number", (double)o->epsilon);
    if (!finite_in(o->weight_decay, 0.0f, INFINITY))
        BAD("weight_decay %g must be >= 0", (double)o->weight_decay);
    if (o->lr_schedule < NN_LR_CONSTANT || o->lr_schedule > NN_LR_COSINE)
        BAD("lr_schedule %d is not one of NN_LR_*", (int)o->lr_schedule);
    if (o->lr_schedule == NN_LR_STEP && (o->lr_step_size == 0 || !finite_in(o->lr_gamma, 0.0f, INFINITY)))
        BAD("the step schedule needs lr_step_size >= 1 and lr_gamma >= 0");
    if (o->lr_schedule == NN_LR_COSINE && (o->lr_total_steps == 0 || !finite_in(o->lr_min, 0.0f, INFINITY)))
        BAD("the cosine schedule needs lr_total_steps >= 1 and lr_min >= 0");
    if (!finite_in(o->clip_norm, 0.0f, INFINITY))
        BAD("clip_norm %g must be >= 0", (double)o->clip_norm);
    if (!finite_in(o->label_smoothing, 0.0f, 1.0f) || o->label_smoothing == 1.0f)
        BAD("label_smoothing %g must be in [0, 1)", (double)o->label_smoothing);
    if (o->batchnorm != NN_BN_FROZEN && o->batchnorm != NN_BN_TRAIN)
        BAD("batchnorm %d is not one of NN_BN_*", (int)o->batchnorm);
    if (o->num_threads < 0)
        BAD("num_threads is negative (%d)", (int)o->num_threads);
#undef BAD
    return NN_OK;
}

/* ---- create / free ---- */

NN_API void nn_trainer_free(nn_trainer *t)
{
    if (!t)
        return;
    nni_tr_plan_free(&t->plan);
    nni_tr_analysis_free(&t->an);
    nni_tr_cache_free(t->cache);
    nni_pool_free(t->pool);
    nni_free_aligned(t->arena);
    nni_free_aligned(t->scratch);
    if (t->tmp_buf)
        for (int32_t i = 0; i < t->max_io; i++)
            nni_free_aligned(t->tmp_buf[i]);
    for (int32_t v = 0; v < t->model->graph.n_values; v++) {
        if (t->opt_m)
            nni_free(t->opt_m[v]);
        if (t->opt_v)
            nni_free(t->opt_v[v]);
    }
    nni_free(t->opt_m);
    nni_free(t->opt_v);
    nni_free(t->bn_saved);
    nni_free(t->opt_steps);
    nni_free(t->const_count);
    nni_free(t->tmp_buf);
    nni_free(t->tmp_cap);
    nni_free(t->tmp);
    nni_free(t->in_ptrs);
    nni_free(t->out_ptrs);
    nni_free(t->dout_ptrs);
    nni_free(t->din_ptrs);
    nni_free(t->fresh);
    nni_free(t->direct);
    nni_free(t->prob);
    nni_free(t->labels);
    nni_free(t->record);
    nni_free(t->class_weights);
    nni_free(t->cache_path);
    nni_free(t);
}

NN_API nn_status nn_trainer_create(nn_model *model, const nn_trainer_options *options, nn_trainer **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_create: out is NULL");
    *out = NULL;
    if (!model)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_create: model is NULL");
    nn_trainer_options o;
    nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION);
    if (options) {
        if (options->version < 1 || options->version > NN_TRAINER_OPTIONS_VERSION)
            return nni_error(NN_E_INVALID_ARG, "nn_trainer_options.version %u is not supported (expected 1..%d)",
                             options->version, NN_TRAINER_OPTIONS_VERSION);
        o = *options;
    }
    nn_status st = check_options(&o);
    if (st != NN_OK)
        return st;
    const nni_graph *g = &model->graph;
    if (g->n_inputs != 1)
        return nni_error(NN_E_UNSUPPORTED, "nn_trainer_create: the model has %d inputs; training needs exactly one",
                         (int)g->n_inputs);
    nn_trainer *t = nni_calloc(1, sizeof *t);
    if (!t)
        return nni_error(NN_E_NOMEM, "nn_trainer_create: out of memory");
    t->model = model;
    t->o = o;
    t->accuracy = -1.0f;
    if (!t->o.cache_max_bytes)
        t->o.cache_max_bytes = DEFAULT_CACHE_BYTES;
    if (!t->o.cache_disk_max_bytes)
        t->o.cache_disk_max_bytes = DEFAULT_CACHE_DISK_BYTES;
    t->max_io = 1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > t->max_io)
            t->max_io = g->nodes[i].n_in;
        if (g->nodes[i].n_out > t->max_io)
            t->max_io = g->nodes[i].n_out;
    }
    const size_t io = (size_t)t->max_io, nv = (size_t)(g->n_values ? g->n_values : 1);
    t->in_ptrs = nni_calloc(io, sizeof *t->in_ptrs);
    t->out_ptrs = nni_calloc(io, sizeof *t->out_ptrs);
    t->dout_ptrs = nni_calloc(io, sizeof *t->dout_ptrs);
    t->din_ptrs = nni_calloc(io, sizeof *t->din_ptrs);
    t->tmp = nni_calloc(io, sizeof *t->tmp);
    t->tmp_buf = nni_calloc(io, sizeof *t->tmp_buf);
    t->tmp_cap = nni_calloc(io, sizeof *t->tmp_cap);
    t->fresh = nni_calloc(nv, 1);
    t->direct = nni_calloc(io, 1);
    t->opt_m = nni_calloc(nv, sizeof *t->opt_m);
    t->opt_v = nni_calloc(nv, sizeof *t->opt_v);
    t->opt_steps = nni_calloc(nv, sizeof *t->opt_steps);
    t->const_count = nni_malloc(nv * sizeof *t->const_count);
    for (int32_t v = 0; t->const_count && v < g->n_values; v++)
        t->const_count[v] = g->values[v].constant ? nni_tensor_count(g->values[v].constant) : -1;
    if (o.cache_path && !(t->cache_path = nni_strdup(o.cache_path)))
        st = nni_error(NN_E_NOMEM, "nn_trainer_create: out of memory");
    t->o.cache_path = t->cache_path;
    if (st == NN_OK && (!t->in_ptrs || !t->out_ptrs || !t->dout_ptrs || !t->din_ptrs || !t->tmp || !t->tmp_buf ||
                        !t->tmp_cap || !t->fresh || !t->direct || !t->opt_m || !t->opt_v || !t->opt_steps || !t->const_count))
        st = nni_error(NN_E_NOMEM, "nn_trainer_create: out of memory");
    if (st == NN_OK)
        st = nni_tr_analyze(g, &t->o, &t->an);
    if (st == NN_OK)
        st = nni_pool_create(o.num_threads, &t->pool);
    if (st != NN_OK) {
        nn_trainer_free(t);
        return nni_error_prefix(st, "nn_trainer_create");
    }
    *out = t;
    return NN_OK;
}

/* ---- small setters and getters ---- */

NN_API nn_status nn_trainer_set_class_weights(nn_trainer *t, const float *weights, uint32_t count)
{
    nni_error_clear();
    if (!t)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_set_class_weights: trainer is NULL");
    if (!weights || count == 0) {
        nni_free(t->class_weights);
        t->class_weights = NULL;
        t->n_class_weights = 0;
        return NN_OK;
    }
    for (uint32_t k = 0; k < count; k++)
        if (!finite_in(weights[k], 0.0f, INFINITY))
            return nni_error(NN_E_INVALID_ARG, "nn_trainer_set_class_weights: weight %u (%g) must be >= 0", k,
                             (double)weights[k]);
    float *w = nni_malloc((size_t)count * sizeof *w);
    if (!w)
        return nni_error(NN_E_NOMEM, "nn_trainer_set_class_weights: out of memory");
    memcpy(w, weights, (size_t)count * sizeof *w);
    nni_free(t->class_weights);
    t->class_weights = w;
    t->n_class_weights = count;
    return NN_OK;
}

NN_API nn_status nn_class_weights_from_counts(const uint64_t *counts, uint32_t classes, float *weights)
{
    nni_error_clear();
    if (!counts || !weights || classes == 0)
        return nni_error(NN_E_INVALID_ARG, "nn_class_weights_from_counts: NULL array or no classes");
    double total = 0.0;
    for (uint32_t k = 0; k < classes; k++)
        total += (double)counts[k];
    for (uint32_t k = 0; k < classes; k++)
        weights[k] = counts[k] ? (float)(total / ((double)classes * (double)counts[k])) : 1.0f;
    return NN_OK;
}

NN_API nn_status nn_trainer_set_learning_rate(nn_trainer *t, float lr)
{
    nni_error_clear();
    if (!t)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_set_learning_rate: trainer is NULL");
    if (!(isfinite(lr) && lr > 0.0f))
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_set_learning_rate: %g must be a positive number", (double)lr);
    t->o.learning_rate = lr;
    return NN_OK;
}

static float current_lr(const nn_trainer *t)
{
    const nn_trainer_options *o = &t->o;
    const double base = o->learning_rate;
    switch (o->lr_schedule) {
    case NN_LR_STEP:
        return (float)(base * pow((double)o->lr_gamma, (double)(t->steps / o->lr_step_size)));
    case NN_LR_COSINE: {
        const double T = o->lr_total_steps, s = t->steps < o->lr_total_steps ? (double)t->steps : T;
        return (float)(o->lr_min + (base - o->lr_min) * (1.0 + cos(M_PI * s / T)) / 2.0);
    }
    default:
        return (float)base;
    }
}

NN_API float nn_trainer_learning_rate(const nn_trainer *t) { return t ? current_lr(t) : 0.0f; }
NN_API uint64_t nn_trainer_step_count(const nn_trainer *t) { return t ? t->steps : 0; }
NN_API float nn_trainer_accuracy(const nn_trainer *t) { return t ? t->accuracy : -1.0f; }

NN_API nn_status nn_trainer_clear_cache(nn_trainer *t)
{
    nni_error_clear();
    if (!t)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_clear_cache: trainer is NULL");
    nni_tr_cache_clear(t->cache);
    return NN_OK;
}

NN_API nn_status nn_trainer_get_stats(const nn_trainer *t, nn_trainer_stats *s)
{
    nni_error_clear();
    if (!t || !s)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_get_stats: trainer or stats is NULL");
    if (s->version < 1 || s->version > NN_TRAINER_STATS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_trainer_stats.version %u is not supported", s->version);
    memset(s, 0, sizeof *s);
    s->version = NN_TRAINER_STATS_VERSION;
    s->trainable_params = (uint32_t)t->an.n_trainable;
    if (t->planned) {
        s->backward_layers = t->plan.n_backward;
        s->gradient_buffers = t->plan.n_grad_buffers;
        s->gradient_bytes = t->plan.grad_bytes;
        s->arena_bytes = t->plan.arena_size;
        for (int32_t i = 0; i < t->plan.p.n_steps; i++)
            if (t->an.nflags[t->plan.p.steps[i]] & TR_N_PREFIX)
                s->prefix_layers++;
    }
    s->backward_calls = t->backward_calls;
    s->cache_hits = t->cache_hits;
    s->cache_misses = t->cache_misses;
    nni_tr_cache_usage(t->cache, &s->cache_memory_bytes, &s->cache_disk_bytes);
    return NN_OK;
}

/* ---- one step ---- */

static void *trainer_scratch(nni_opctx *c, size_t bytes)
{
    nn_trainer *t = c->scratch_owner;
    if (bytes <= t->scratch_cap)
        return t->scratch;
    void *p = nni_malloc_aligned(bytes);
    if (!p)
        return NULL;
    nni_free_aligned(t->scratch);
    t->scratch = p;
    t->scratch_cap = bytes;
    return p;
}

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void fill_ctx(nn_trainer *t, int32_t ni, nni_opctx *c)
{
    const nni_graph *g = &t->model->graph;
    const nni_node *n = &g->nodes[ni];
    memset(c, 0, sizeof *c);
    c->node = n;
    c->state = n->state;
    c->n_in = n->n_in;
    c->n_out = n->n_out;
    c->in = t->in_ptrs;
    c->out = t->out_ptrs;
    c->pool = t->pool;
    c->opset = g->opset;
    /* a frozen BatchNormalization runs as in inference, everything else in training mode */
    const uint8_t nf = t->an.nflags[ni];
    const bool bn = (nf & TR_N_BN) != 0;
    c->training = !bn || (nf & TR_N_BN_TRAIN);
    c->update_stats = bn && c->training;
    c->seed = splitmix(splitmix(t->o.seed ^ splitmix(t->steps)) + (uint64_t)ni);
    c->scratch = trainer_scratch;
    c->scratch_owner = t;
    /* a layer whose weights this trainer never changes uses what the model's
     * sessions derived from them (Winograd filters, packed weights) */
    c->memo = (nf & TR_N_TRAINS) ? NULL : t->model->memo;
    if (c->memo)
        c->varying_in = nni_varying_inputs(g, n, t->in_ptrs); /* the memo keys only constant weights */
}

static void bind_views(nn_trainer *t, const nni_node *n)
{
    const nni_plan *p = &t->plan.p;
    for (int32_t k = 0; k < n->n_in; k++)
        t->in_ptrs[k] = n->in[k] >= 0 ? &p->vals[n->in[k]] : NULL;
    for (int32_t k = 0; k < n->n_out; k++)
        t->out_ptrs[k] = n->out[k] >= 0 ? &p->vals[n->out[k]] : NULL;
}

static nn_status forward(nn_trainer *t, bool skip_prefix)
{
    const nni_graph *g = &t->model->graph;
    nni_plan *p = &t->plan.p;
    for (int32_t si = 0; si < p->n_steps; si++) {
        const int32_t ni = p->steps[si];
        if (skip_prefix && (t->an.nflags[ni] & TR_N_PREFIX))
            continue;
        const nni_node *n = &g->nodes[ni];
        bind_views(t, n);
        nn_status st;
        if (p->dynamic[si]) {
            st = nni_node_infer(g, n, t->in_ptrs, t->out_ptrs, t->pool);
            if (st == NNI_DEFER)
                st = nni_error(NN_E_INTERNAL, "the output shape is still unknown with all inputs present");
            for (int32_t k = 0; st == NN_OK && k < n->n_out; k++)
                if (t->out_ptrs[k])
                    st = nni_tensor_alloc(t->out_ptrs[k]);
            if (st != NN_OK)
                return nni_node_error(n, st);
        }
        nni_opctx c;
        fill_ctx(t, ni, &c);
        if ((st = n->op->run(&c)) != NN_OK)
            return nni_node_error(n, st);
    }
    return NN_OK;
}

/* The gradient tensor of value v, with storage (heap for run-time shapes). */
static nn_status grad_storage(nn_trainer *t, int32_t v, nn_tensor **out)
{
    tr_plan *tp = &t->plan;
    nn_tensor *gt = &tp->grads[v];
    if (tp->gstate[v] == 2 && !gt->data) {
        const nn_tensor *val = &tp->p.vals[v];
        if (val->dtype != NN_DTYPE_FLOAT32)
            return nni_error(NN_E_UNSUPPORTED, "value '%s' is %s: gradients need float32",
                             t->model->graph.values[v].name, nn_dtype_name(val->dtype));
        nn_status st = nni_tensor_set_shape(gt, NN_DTYPE_FLOAT32, val->rank, val->dims);
        if (st == NN_OK)
            st = nni_tensor_alloc(gt);
        if (st != NN_OK)
            return st;
    }
    *out = gt;
    return NN_OK;
}

static nn_status tmp_slot(nn_trainer *t, int32_t i, const nn_tensor *like, nn_tensor **out)
{
    nn_tensor *x = &t->tmp[i];
    nn_status st = nni_tensor_set_shape(x, NN_DTYPE_FLOAT32, like->rank, like->dims);
    if (st != NN_OK)
        return st;
    if (x->nbytes > t->tmp_cap[i]) {
        void *b = nni_malloc_aligned(x->nbytes);
        if (!b)
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for a gradient", x->nbytes);
        nni_free_aligned(t->tmp_buf[i]);
        t->tmp_buf[i] = b;
        t->tmp_cap[i] = x->nbytes;
    }
    x->data = t->tmp_buf[i];
    x->flags = 0;
    if (x->nbytes)
        memset(x->data, 0, x->nbytes);
    *out = x;
    return NN_OK;
}

static nn_status backward(nn_trainer *t)
{
    const nni_graph *g = &t->model->graph;
    tr_plan *tp = &t->plan;
    const nni_plan *p = &tp->p;
    for (int32_t si = p->n_steps - 1; si >= 0; si--) {
        const int32_t ni = p->steps[si];
        if (!(t->an.nflags[ni] & TR_N_BACKWARD))
            continue;
        const nni_node *n = &g->nodes[ni];
        bool any = false;
        for (int32_t k = 0; k < n->n_out; k++) {
            const int32_t v = n->out[k];
            t->dout_ptrs[k] = v >= 0 && tp->gstate[v] && t->fresh[v] ? &tp->grads[v] : NULL;
            any = any || t->dout_ptrs[k];
        }
        if (!any)
            continue; /* no gradient reached this node's outputs */
        uint8_t *dir = t->direct;
        memset(dir, 0, (size_t)n->n_in);
        nn_status st = NN_OK;
        for (int32_t i = 0; i < n->n_in && st == NN_OK; i++) {
            const int32_t v = n->in[i];
            t->din_ptrs[i] = NULL;
            if (v < 0 || !tp->gstate[v])
                continue;
            if (!t->fresh[v]) {
                nn_tensor *gt;
                if ((st = grad_storage(t, v, &gt)) != NN_OK)
                    break;
                if (gt->nbytes)
                    memset(gt->data, 0, gt->nbytes);
                t->din_ptrs[i] = gt;
                t->fresh[v] = 1;
                dir[i] = 1;
            } else {
                st = tmp_slot(t, i, &p->vals[v], &t->din_ptrs[i]);
            }
        }
        if (st != NN_OK)
            return nni_node_error(n, st);
        bind_views(t, n);
        nni_gradctx gc;
        fill_ctx(t, ni, &gc.fwd);
        gc.fwd.update_stats = false;
        gc.dout = t->dout_ptrs;
        gc.din = t->din_ptrs;
        t->backward_calls++;
        if ((st = t->an.fns[ni](&gc)) != NN_OK)
            return nni_error_prefix(nni_node_error(n, st), "backward");
        for (int32_t i = 0; i < n->n_in; i++) {
            const int32_t v = n->in[i];
            if (!t->din_ptrs[i] || dir[i])
                continue;
            nn_tensor *gt;
            if ((st = grad_storage(t, v, &gt)) != NN_OK)
                return nni_node_error(n, st);
            if (!t->fresh[v]) {
                if (gt->nbytes)
                    memcpy(gt->data, t->din_ptrs[i]->data, gt->nbytes);
                t->fresh[v] = 1;
            } else {
                nni_add_inplace_f32(gt->data, t->din_ptrs[i]->data, nni_tensor_count(gt));
            }
        }
    }
    return NN_OK;
}

static nn_status update(nn_trainer *t)
{
    const nni_graph *g = &t->model->graph;
    tr_plan *tp = &t->plan;
    const nn_trainer_options *o = &t->o;
    const float lr = current_lr(t);
    if (o->clip_norm > 0.0f) {
        double sq = 0.0;
        for (int32_t v = 0; v < g->n_values; v++)
            if ((t->an.vflags[v] & TR_V_TRAINABLE) && tp->gstate[v] && t->fresh[v])
                sq += nni_sumsq_f32(tp->grads[v].data, nni_tensor_count(&tp->grads[v]));
        const double coef = o->clip_norm / (sqrt(sq) + 1e-6);
        if (coef < 1.0)
            for (int32_t v = 0; v < g->n_values; v++)
                if ((t->an.vflags[v] & TR_V_TRAINABLE) && tp->gstate[v] && t->fresh[v])
                    nni_scale_f32(tp->grads[v].data, nni_tensor_count(&tp->grads[v]), (float)coef);
    }
    /* Every missing optimizer buffer first: an allocation failure then leaves
     * every parameter as it was (no step is half applied). */
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!(t->an.vflags[v] & TR_V_TRAINABLE) || !tp->gstate[v] || !t->fresh[v] || t->opt_m[v])
            continue;
        const int64_t n = nni_tensor_count(g->values[v].constant);
        if (o->optimizer == NN_OPTIMIZER_SGD) {
            if (o->momentum != 0.0f && !(t->opt_m[v] = nni_malloc((size_t)n * sizeof(float) + 1)))
                return nni_error(NN_E_NOMEM, "cannot allocate the momentum of '%s'", g->values[v].name);
        } else {
            t->opt_m[v] = nni_calloc((size_t)n + 1, sizeof(float));
            t->opt_v[v] = nni_calloc((size_t)n + 1, sizeof(float));
            if (!t->opt_m[v] || !t->opt_v[v]) {
                nni_free(t->opt_m[v]);
                nni_free(t->opt_v[v]);
                t->opt_m[v] = t->opt_v[v] = NULL;
                return nni_error(NN_E_NOMEM, "cannot allocate the Adam moments of '%s'", g->values[v].name);
            }
        }
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        if (!(t->an.vflags[v] & TR_V_TRAINABLE) || !tp->gstate[v] || !t->fresh[v])
            continue;
        nn_tensor *param = g->values[v].constant;
        const int64_t n = nni_tensor_count(param);
        const float lr_v = lr * g->values[v].lr_factor;
        const float *grad = tp->grads[v].data;
        if (o->optimizer == NN_OPTIMIZER_SGD) {
            /* the momentum buffer starts as the first gradient (torch.optim.SGD) */
            const bool first = t->opt_steps[v]++ == 0;
            nni_sgd_update_f32(param->data, grad, t->opt_m[v], n, lr_v, o->momentum, o->weight_decay, o->nesterov != 0,
                               first);
        } else {
            nni_adam_update_f32(param->data, grad, t->opt_m[v], t->opt_v[v], n, lr_v, o->beta1, o->beta2, o->epsilon,
                                o->weight_decay, o->optimizer == NN_OPTIMIZER_ADAMW, ++t->opt_steps[v]);
        }
        /* sessions of the model rebuild what they derived from the old weights
         * (a sampled fingerprint misses updates that leave most weights alone);
         * what frozen layers derived stays */
        nni_memo_forget(t->model->memo, param->data);
    }
    return NN_OK;
}

/* Check the batch against the model's input: dtype, rank, every fixed dimension but the batch. */
static nn_status check_input(const nn_trainer *t, const nn_tensor *x)
{
    const nni_graph *g = &t->model->graph;
    const nni_value *v = &g->values[g->inputs[0]];
    if (x->dtype != v->info.dtype)
        return nni_error(NN_E_TYPE, "input '%s' must be %s, got %s", v->name, nn_dtype_name(v->info.dtype),
                         nn_dtype_name(x->dtype));
    if (x->rank < 1)
        return nni_error(NN_E_SHAPE, "input '%s' needs a batch dimension", v->name);
    if (v->info.rank > 0) {
        bool ok = v->info.rank == x->rank;
        for (int32_t d = 1; ok && d < x->rank; d++)
            if (v->info.dims[d] >= 0 && v->info.dims[d] != x->dims[d])
                ok = false;
        if (!ok) {
            char want[160], got[160];
            return nni_error(NN_E_SHAPE, "input '%s' must have shape %s (any batch size; -1 = any), got %s", v->name,
                             nni_shape_str(v->info.rank, v->info.dims, want, sizeof want),
                             nni_shape_str(x->rank, x->dims, got, sizeof got));
        }
    }
    if (x->dims[0] < 1)
        return nni_error(NN_E_SHAPE, "input '%s' has an empty batch", v->name);
    if (x->nbytes && !x->data)
        return nni_error(NN_E_INVALID_ARG, "input '%s' has no data", v->name);
    return NN_OK;
}

static nn_status read_labels(nn_trainer *t, const nn_tensor *labels, int64_t N)
{
    if (labels->dtype != NN_DTYPE_INT64 && labels->dtype != NN_DTYPE_INT32)
        return nni_error(NN_E_TYPE, "labels must be int64 or int32, got %s", nn_dtype_name(labels->dtype));
    if (nni_tensor_count(labels) != N || labels->rank > 1)
        return nni_error(NN_E_SHAPE, "labels must be [%lld] (one per batch row)", (long long)N);
    if (N > t->labels_cap) {
        int64_t *l = nni_malloc((size_t)N * sizeof *l);
        if (!l)
            return nni_error(NN_E_NOMEM, "cannot copy the labels");
        nni_free(t->labels);
        t->labels = l;
        t->labels_cap = N;
    }
    for (int64_t i = 0; i < N; i++)
        t->labels[i] = nni_tensor_get_i64(labels, i);
    return NN_OK;
}

/* Rebuild the plan when the input shape or the cache layout changed. */
static nn_status ensure_plan(nn_trainer *t, const nn_tensor *x, bool cached_layout)
{
    tr_plan *tp = &t->plan;
    if (t->planned && tp->cached_layout == cached_layout) {
        const nn_tensor *pv = &tp->p.vals[t->model->graph.inputs[0]];
        if (nni_same_shape(pv, x))
            return NN_OK;
    }
    nni_tr_plan_free(tp);
    t->planned = false;
    nn_status st = nni_tr_plan_build(&t->model->graph, &t->an, x, cached_layout, tp);
    if (st != NN_OK)
        return st;
    if (tp->arena_size > t->arena_cap) {
        nni_free_aligned(t->arena);
        t->arena_cap = 0;
        if (!(t->arena = nni_malloc_aligned(tp->arena_size))) {
            nni_tr_plan_free(tp);
            return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of activations and gradients", tp->arena_size);
        }
        t->arena_cap = tp->arena_size;
    }
    for (int32_t v = 0; v < tp->p.n_values; v++) {
        if (tp->p.state[v] == NNI_VAL_ARENA)
            tp->p.vals[v].data = t->arena + tp->voffset[v];
        if (tp->gstate[v] == 1)
            tp->grads[v].data = t->arena + tp->goffset[v];
    }
    t->planned = true;
    return NN_OK;
}

/* After a step: free run-time allocations, forget the caller's memory. */
/* Training-mode BatchNormalization updates its running statistics in place
 * during the forward pass. They are saved before it and put back when the
 * step fails afterwards (a bad label, an allocation), so that a failed step
 * leaves every tensor of the model as it was. */
static bool bn_updates(const nn_trainer *t, int32_t ni, const nn_tensor **mean, const nn_tensor **var)
{
    const nni_graph *g = &t->model->graph;
    const nni_node *n = &g->nodes[ni];
    if (n->dead || !(t->an.nflags[ni] & TR_N_BN_TRAIN) || n->n_in < 5 || n->in[3] < 0 || n->in[4] < 0)
        return false;
    *mean = g->values[n->in[3]].constant;
    *var = g->values[n->in[4]].constant;
    return *mean && *var;
}

static nn_status bn_stats_save(nn_trainer *t)
{
    const nni_graph *g = &t->model->graph;
    const nn_tensor *mean, *var;
    size_t total = 0;
    for (int32_t ni = 0; ni < g->n_nodes; ni++)
        if (bn_updates(t, ni, &mean, &var))
            total += mean->nbytes + var->nbytes;
    if (total > t->bn_saved_cap) {
        uint8_t *b = nni_malloc(total);
        if (!b)
            return nni_error(NN_E_NOMEM, "cannot save the running statistics");
        nni_free(t->bn_saved);
        t->bn_saved = b;
        t->bn_saved_cap = total;
    }
    size_t off = 0;
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        if (!bn_updates(t, ni, &mean, &var))
            continue;
        memcpy(t->bn_saved + off, mean->data, mean->nbytes);
        off += mean->nbytes;
        memcpy(t->bn_saved + off, var->data, var->nbytes);
        off += var->nbytes;
    }
    return NN_OK;
}

static void bn_stats_restore(nn_trainer *t)
{
    const nni_graph *g = &t->model->graph;
    const nn_tensor *mean, *var;
    size_t off = 0;
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        if (!bn_updates(t, ni, &mean, &var))
            continue;
        memcpy(mean->data, t->bn_saved + off, mean->nbytes);
        off += mean->nbytes;
        memcpy(var->data, t->bn_saved + off, var->nbytes);
        off += var->nbytes;
    }
}

static void end_step(nn_trainer *t)
{
    tr_plan *tp = &t->plan;
    if (!t->planned)
        return;
    for (int32_t v = 0; v < tp->p.n_values; v++) {
        if (tp->p.state[v] == NNI_VAL_DYNAMIC && (tp->p.vals[v].flags & NNI_TENSOR_OWNS_DATA))
            nni_tensor_release(&tp->p.vals[v]);
        if (tp->gstate[v] == 2 && (tp->grads[v].flags & NNI_TENSOR_OWNS_DATA)) {
            nni_tensor_release(&tp->grads[v]);
            tp->grads[v].data = NULL;
        }
    }
    tp->p.vals[t->model->graph.inputs[0]].data = NULL;
}

static uint64_t frontier_signature(const nn_trainer *t, size_t *record)
{
    const tr_plan *tp = &t->plan;
    uint64_t h = 0x243f6a8885a308d3ull;
    *record = 0;
    for (int32_t v = 0; v < tp->p.n_values; v++) {
        if (!(t->an.vflags[v] & TR_V_FRONTIER))
            continue;
        const nn_tensor *x = &tp->p.vals[v];
        h = splitmix(h ^ (uint64_t)v);
        h = splitmix(h ^ (uint64_t)x->dtype);
        for (int32_t d = 1; d < x->rank; d++)
            h = splitmix(h ^ (uint64_t)x->dims[d]);
        *record += x->nbytes / (size_t)tp->batch;
    }
    return h;
}

/* Copy batch row `row` of every frontier value to or from a record. */
static void frontier_row(nn_trainer *t, int64_t row, uint8_t *record, bool to_record)
{
    const tr_plan *tp = &t->plan;
    size_t off = 0;
    for (int32_t v = 0; v < tp->p.n_values; v++) {
        if (!(t->an.vflags[v] & TR_V_FRONTIER))
            continue;
        const nn_tensor *x = &tp->p.vals[v];
        const size_t row_bytes = x->nbytes / (size_t)tp->batch;
        uint8_t *data = (uint8_t *)x->data + (size_t)row * row_bytes;
        if (to_record)
            memcpy(record + off, data, row_bytes);
        else
            memcpy(data, record + off, row_bytes);
        off += row_bytes;
    }
}

static nn_status step(nn_model *model, nn_trainer *t, const nn_tensor *input, const uint64_t *ids,
                      const nn_tensor *labels, float *loss_out)
{
    if (!t || !model || !input || !labels)
        return nni_error(NN_E_INVALID_ARG, "trainer, model, input or labels is NULL");
    if (t->model != model)
        return nni_error(NN_E_INVALID_ARG, "the trainer was created for another model");
    const nni_graph *g = &model->graph;
    nn_status st;
    if (g->n_values != t->an.n_values || g->n_nodes != t->an.n_nodes)
        return nni_error(NN_E_STATE, "the model's graph changed since the trainer was created; create a new trainer");
    /* optimizer state and plans are sized by the parameters the trainer saw */
    for (int32_t v = 0; v < g->n_values; v++)
        if ((g->values[v].constant ? nni_tensor_count(g->values[v].constant) : -1) != t->const_count[v])
            return nni_error(NN_E_STATE, "tensor '%s' changed since the trainer was created; create a new trainer",
                             g->values[v].name);
    if (nni_tr_analysis_stale(g, &t->an)) {
        /* the learn-rate factors changed: new backward set, new plan, nothing cached is valid */
        tr_analysis an;
        if ((st = nni_tr_analyze(g, &t->o, &an)) != NN_OK)
            return st;
        nni_tr_analysis_free(&t->an);
        t->an = an;
        nni_tr_plan_free(&t->plan);
        t->planned = false;
        nni_tr_cache_clear(t->cache);
    }
    if (t->an.n_trainable == 0)
        return nni_error(NN_E_STATE, "every parameter the loss depends on is frozen: nothing to train");
    if ((st = check_input(t, input)) != NN_OK)
        return st;
    const int64_t N = input->dims[0];
    if ((st = read_labels(t, labels, N)) != NN_OK)
        return st;
    const bool want_cache = ids && t->an.n_prefix > 0;
    if ((st = ensure_plan(t, input, want_cache)) != NN_OK)
        return st;
    tr_plan *tp = &t->plan;
    nni_plan *p = &tp->p;
    /* parameters may have been replaced since planning (nn_model_set_param):
     * view the current ones; a changed shape means the graph was edited */
    for (int32_t v = 0; v < g->n_values; v++) {
        if (p->state[v] != NNI_VAL_CONST)
            continue;
        const nn_tensor *c = g->values[v].constant;
        if (!c || c->dtype != p->vals[v].dtype || !nni_same_shape(c, &p->vals[v]))
            return nni_error(NN_E_STATE, "the model's graph changed since the trainer was created (tensor '%s'); "
                                         "create a new trainer", g->values[v].name);
        p->vals[v].data = c->data;
    }
    const nn_tensor *logits = &p->vals[t->an.logits];
    if (p->state[t->an.logits] != NNI_VAL_DYNAMIC) {
        if (logits->rank < 1 || logits->dims[0] != N || logits->dtype != NN_DTYPE_FLOAT32)
            return nni_error(NN_E_SHAPE, "the class scores '%s' must be float32 [N=%lld, classes]",
                             g->values[t->an.logits].name, (long long)N);
    }
    bool hit = false;
    size_t record = 0;
    if (want_cache && tp->cache_ok) {
        if (!t->cache &&
            (st = nni_tr_cache_create(t->o.cache_max_bytes, t->cache_path, t->o.cache_disk_max_bytes, &t->cache)) != NN_OK)
            return st;
        nni_tr_cache_check_signature(t->cache, frontier_signature(t, &record));
        hit = true;
        for (int64_t i = 0; i < N && hit; i++)
            hit = nni_tr_cache_has(t->cache, ids[i]);
        if (record > t->record_cap) {
            uint8_t *r = nni_malloc(record);
            if (!r)
                return nni_error(NN_E_NOMEM, "cannot allocate a cache record");
            nni_free(t->record);
            t->record = r;
            t->record_cap = record;
        }
    }
    memset(t->fresh, 0, (size_t)g->n_values);
    p->vals[g->inputs[0]].data = input->data;
    if (hit) {
        for (int64_t i = 0; i < N && st == NN_OK; i++) {
            if ((st = nni_tr_cache_get(t->cache, ids[i], t->record, record)) == NN_OK)
                frontier_row(t, i, t->record, false);
        }
        t->cache_hits++;
    }
    bool saved = false;
    if (st == NN_OK && (st = bn_stats_save(t)) == NN_OK)
        saved = true;
    if (st == NN_OK)
        st = forward(t, hit);
    if (st == NN_OK && want_cache && tp->cache_ok && !hit) {
        t->cache_misses++;
        for (int64_t i = 0; i < N && st == NN_OK; i++) {
            if (nni_tr_cache_has(t->cache, ids[i]))
                continue;
            bool stored;
            frontier_row(t, i, t->record, true);
            st = nni_tr_cache_put(t->cache, ids[i], t->record, record, &stored);
        }
    }
    /* loss on the logits */
    int64_t K = 0;
    if (st == NN_OK) {
        logits = &p->vals[t->an.logits];
        K = logits->dims[0] == N ? nni_tensor_count(logits) / N : 0;
        if (logits->dtype != NN_DTYPE_FLOAT32 || K < 1)
            st = nni_error(NN_E_SHAPE, "the class scores '%s' must be float32 [N=%lld, classes]",
                           g->values[t->an.logits].name, (long long)N);
    }
    for (int64_t i = 0; st == NN_OK && i < N; i++)
        if (t->labels[i] < 0 || t->labels[i] >= K)
            st = nni_error(NN_E_INVALID_ARG, "label %lld of row %lld is not a class index (the model has %lld classes)",
                           (long long)t->labels[i], (long long)i, (long long)K);
    if (st == NN_OK && t->class_weights && (int64_t)t->n_class_weights != K)
        st = nni_error(NN_E_SHAPE, "%u class weights for a model with %lld classes", t->n_class_weights, (long long)K);
    if (st == NN_OK && K > t->prob_cap) {
        double *pr = nni_malloc((size_t)K * sizeof *pr);
        if (!pr)
            st = nni_error(NN_E_NOMEM, "cannot allocate the loss buffer");
        else {
            nni_free(t->prob);
            t->prob = pr;
            t->prob_cap = K;
        }
    }
    nni_ce_result ce = {0};
    nn_tensor *dlogits = NULL;
    if (st == NN_OK && (st = grad_storage(t, t->an.logits, &dlogits)) == NN_OK) {
        if (!tp->gstate[t->an.logits])
            st = nni_error(NN_E_INTERNAL, "the class scores have no gradient");
        else {
            nni_softmax_ce(logits->data, t->labels, t->class_weights, N, K, t->o.label_smoothing, dlogits->data,
                           t->prob, &ce);
            t->fresh[t->an.logits] = 1;
        }
    }
    if (st == NN_OK)
        st = backward(t);
    if (st == NN_OK)
        st = update(t);
    end_step(t);
    /* the forward pass may have updated BatchNormalization's running statistics in place:
     * inference sessions recompute what they derived from them */
    nni_memo_touch(t->model->memo);
    if (st != NN_OK) {
        if (saved)
            bn_stats_restore(t);
        return st;
    }
    t->steps++;
    t->accuracy = (float)((double)ce.correct / (double)N);
    if (loss_out)
        *loss_out = (float)ce.loss;
    return NN_OK;
}

NN_API nn_status nn_train_step(nn_model *model, nn_trainer *trainer, const nn_tensor *input, const nn_tensor *labels,
                               float *loss)
{
    nni_error_clear();
    nn_status st = step(model, trainer, input, NULL, labels, loss);
    return st == NN_OK ? NN_OK : nni_error_prefix(st, "nn_train_step");
}

NN_API nn_status nn_train_step_cached(nn_model *model, nn_trainer *trainer, const nn_tensor *input,
                                      const uint64_t *sample_ids, const nn_tensor *labels, float *loss)
{
    nni_error_clear();
    if (!sample_ids)
        return nni_error(NN_E_INVALID_ARG, "nn_train_step_cached: sample_ids is NULL");
    nn_status st = step(model, trainer, input, sample_ids, labels, loss);
    return st == NN_OK ? NN_OK : nni_error_prefix(st, "nn_train_step_cached");
}
