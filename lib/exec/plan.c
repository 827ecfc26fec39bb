/*
 * plan.c — shape inference, plan-time evaluation and the liveness-based
 * arena layout for one set of input shapes.
 *
 * Walking the nodes in topological order, each node is either
 *  - evaluated now, when every input is known (constants, or values computed
 *    while planning, such as Shape->Gather->Concat chains feeding a Reshape),
 *  - planned: its outputs get arena slots that are reused once dead, or
 *  - dynamic: its output shape depends on run-time data (NNI_DEFER), so it and
 *    everything after it infer and allocate at run time.
 */
#include <stdio.h>
#include <string.h>

#include "exec/plan.h"

#define ARENA_ALIGN 64
#define FOLD_MAX_MACS ((uint64_t)1 << 28)

nn_status nni_node_error(const nni_node *n, nn_status st)
{
    return nni_error_prefix(st, "node '%s' (%s)", n->name, n->op_type);
}

static void fill_ctx(nni_opctx *c, const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                     nni_pool *pool)
{
    memset(c, 0, sizeof *c);
    c->node = n;
    c->state = n->state;
    c->n_in = n->n_in;
    c->n_out = n->n_out;
    c->in = in;
    c->out = out;
    c->pool = pool;
    c->opset = g->opset;
}

nn_status nni_node_infer(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                         nni_pool *pool)
{
    nni_opctx c;
    fill_ctx(&c, g, n, in, out, pool);
    nn_status st = n->op->infer(&c);
    if (st != NN_OK)
        return st;
    /* every activation within the model's limits, before anything is allocated for it */
    for (int32_t k = 0; k < n->n_out; k++) {
        if (!out[k])
            continue;
        char what[96];
        snprintf(what, sizeof what, "output %d", (int)k);
        if ((st = nni_check_tensor_limits(&g->limits, out[k], what)) != NN_OK)
            return st;
    }
    return NN_OK;
}

/* Fallback scratch when the caller has no arena: a per-call heap block
 * owned through scratch_owner (a void** slot). */
static void *heap_scratch(nni_opctx *c, size_t bytes)
{
    void **slot = c->scratch_owner;
    nni_free_aligned(*slot);
    *slot = nni_malloc_aligned(bytes ? bytes : 1);
    return *slot;
}

nn_status nni_node_run(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                       nni_pool *pool, void *(*scratch)(nni_opctx *, size_t), void *scratch_owner)
{
    return nni_node_run_fused(g, n, in, out, pool, scratch, scratch_owner, NULL, NULL);
}

uint32_t nni_varying_inputs(const nni_graph *g, const nni_node *n, nn_tensor *const *in)
{
    uint32_t mask = 0;
    for (int32_t k = 0; k < n->n_in && k < 32; k++) {
        const nn_tensor *w = n->in[k] >= 0 ? g->values[n->in[k]].constant : NULL;
        if (!w || !in[k] || in[k]->data != w->data)
            mask |= 1u << k;
    }
    return mask;
}

nn_status nni_node_run_fused(const nni_graph *g, const nni_node *n, nn_tensor *const *in, nn_tensor *const *out,
                             nni_pool *pool, void *(*scratch)(nni_opctx *, size_t), void *scratch_owner,
                             const nni_fusion *fusion, nni_memo *memo)
{
    nni_opctx c;
    void *own = NULL;
    fill_ctx(&c, g, n, in, out, pool);
    c.fusion = fusion;
    c.memo = memo;
    if (memo)
        c.varying_in = nni_varying_inputs(g, n, in);
    if (scratch) {
        c.scratch = scratch;
        c.scratch_owner = scratch_owner;
    } else {
        c.scratch = heap_scratch;
        c.scratch_owner = &own;
    }
    nn_status st = n->op->run(&c);
    nni_free_aligned(own);
    return st;
}

void nni_plan_free(nni_plan *p)
{
    if (!p)
        return;
    if (p->vals) {
        for (int32_t v = 0; v < p->n_values; v++)
            if (p->vals[v].flags & NNI_TENSOR_OWNS_DATA)
                nni_tensor_release(&p->vals[v]);
    }
    nni_free(p->vals);
    nni_free(p->state);
    nni_free(p->offset);
    nni_free(p->steps);
    nni_free(p->dynamic);
    nni_free(p->fusion);
    memset(p, 0, sizeof *p);
}

/* ---- arena allocation: best fit over a sorted free list ---- */

size_t nni_arena_align(size_t x) { return (x + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1); }

size_t nni_arena_take(nni_arena *a, size_t size)
{
    int32_t best = -1;
    for (int32_t i = 0; i < a->n; i++)
        if (a->free[i].size >= size && (best < 0 || a->free[i].size < a->free[best].size))
            best = i;
    if (best >= 0) {
        size_t off = a->free[best].off;
        a->free[best].off += size;
        a->free[best].size -= size;
        if (a->free[best].size == 0) {
            memmove(&a->free[best], &a->free[best + 1], (size_t)(a->n - best - 1) * sizeof(nni_arena_block));
            a->n--;
        }
        return off;
    }
    /* grow: extend a free block that touches the end, if any */
    if (a->n > 0 && a->free[a->n - 1].off + a->free[a->n - 1].size == a->end) {
        size_t off = a->free[a->n - 1].off;
        a->end = off + size;
        a->n--;
        return off;
    }
    size_t off = a->end;
    a->end += size;
    return off;
}

bool nni_arena_give(nni_arena *a, size_t off, size_t size)
{
    if (a->n == a->cap) {
        int32_t cap = a->cap ? a->cap * 2 : 32;
        nni_arena_block *b = nni_realloc(a->free, (size_t)cap * sizeof *b);
        if (!b)
            return false;
        a->free = b;
        a->cap = cap;
    }
    int32_t i = 0;
    while (i < a->n && a->free[i].off < off)
        i++;
    memmove(&a->free[i + 1], &a->free[i], (size_t)(a->n - i) * sizeof(nni_arena_block));
    a->free[i] = (nni_arena_block){off, size};
    a->n++;
    /* coalesce with neighbours */
    if (i + 1 < a->n && a->free[i].off + a->free[i].size == a->free[i + 1].off) {
        a->free[i].size += a->free[i + 1].size;
        memmove(&a->free[i + 1], &a->free[i + 2], (size_t)(a->n - i - 2) * sizeof(nni_arena_block));
        a->n--;
    }
    if (i > 0 && a->free[i - 1].off + a->free[i - 1].size == a->free[i].off) {
        a->free[i - 1].size += a->free[i].size;
        memmove(&a->free[i], &a->free[i + 1], (size_t)(a->n - i - 1) * sizeof(nni_arena_block));
        a->n--;
    }
    return true;
}

void nni_arena_done(nni_arena *a)
{
    nni_free(a->free);
    a->free = NULL;
    a->n = a->cap = 0;
}

/*
 * The values step s reads and writes. A fused step also reads its residual
 * and the input of a pointwise convolution it computes (BatchNormalization
 * parameters and weights are constants) and writes the fused output instead
 * of its node's output 0.
 */
static int32_t step_reads(const nni_graph *g, const nni_plan *p, int32_t s, int32_t k)
{
    const nni_node *n = &g->nodes[p->steps[s]];
    if (k < n->n_in)
        return n->in[k];
    if (!p->fusion)
        return -1;
    if (k == n->n_in)
        return p->fusion[s].residual;
    return p->fusion[s].pw >= 0 ? g->nodes[p->fusion[s].pw].in[0] : -1;
}

static int32_t step_n_reads(const nni_graph *g, const nni_plan *p, int32_t s)
{
    return g->nodes[p->steps[s]].n_in + (p->fusion && p->fusion[s].out >= 0 ? 2 : 0);
}

static int32_t step_writes(const nni_graph *g, const nni_plan *p, int32_t s, int32_t k)
{
    const nni_node *n = &g->nodes[p->steps[s]];
    if (k == 0 && p->fusion && p->fusion[s].out >= 0)
        return p->fusion[s].out;
    return n->out[k];
}

/*
 * An input of step s whose buffer output 0 may reuse: in the arena, read
 * last here, same dtype and size, and not also given at a later input index
 * (variadic ops make several passes: a later operand must not be overwritten
 * by the first).
 */
static int32_t inplace_input(const nni_graph *g, const nni_plan *p, int32_t s, const int32_t *last_use)
{
    const nni_node *n = &g->nodes[p->steps[s]];
    const uint32_t f = n->op->flags;
    if (!(f & (NNI_OP_INPLACE0 | NNI_OP_INPLACE01)) || p->dynamic[s])
        return -1;
    const int32_t v = step_writes(g, p, s, 0);
    for (int32_t k = 0; k < n->n_in && k < ((f & NNI_OP_INPLACE01) ? 2 : 1); k++) {
        const int32_t u = n->in[k];
        if (u < 0 || p->state[u] != NNI_VAL_ARENA || last_use[u] != s || p->vals[u].dtype != p->vals[v].dtype ||
            p->vals[u].nbytes != p->vals[v].nbytes)
            continue;
        bool later = false;
        for (int32_t i = 2; i < n->n_in; i++)
            later |= n->in[i] == u;
        if (!later)
            return u;
    }
    return -1;
}

static nn_status assign_arena(const nni_graph *g, nni_plan *p, bool inplace)
{
    nn_status st = NN_OK;
    int32_t *last_use = nni_malloc((size_t)(p->n_values ? p->n_values : 1) * sizeof *last_use);
    nni_arena a = {0};
    if (!last_use)
        return nni_error(NN_E_NOMEM, "cannot allocate the memory plan");
    for (int32_t v = 0; v < p->n_values; v++)
        last_use[v] = -1;
    for (int32_t s = 0; s < p->n_steps; s++) {
        for (int32_t k = 0; k < step_n_reads(g, p, s); k++) {
            int32_t v = step_reads(g, p, s, k);
            if (v >= 0)
                last_use[v] = s;
        }
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        last_use[g->outputs[i]] = INT32_MAX;
    for (int32_t s = 0; s < p->n_steps && st == NN_OK; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        for (int32_t k = 0; k < n->n_out; k++) {
            int32_t v = step_writes(g, p, s, k);
            if (v < 0 || p->state[v] != NNI_VAL_ARENA)
                continue;
            /* an output nobody reads still needs room while the node runs */
            if (last_use[v] < s)
                last_use[v] = s;
            int32_t u = k == 0 && inplace ? inplace_input(g, p, s, last_use) : -1;
            if (u >= 0) {
                /* the output takes over the buffer of an input that dies here */
                p->offset[v] = p->offset[u];
                last_use[u] = -2;
                continue;
            }
            p->offset[v] = nni_arena_take(&a, nni_arena_align(p->vals[v].nbytes ? p->vals[v].nbytes : 1));
        }
        const int32_t nr = step_n_reads(g, p, s);
        for (int32_t k = 0; k < nr + n->n_out; k++) {
            int32_t v = k < nr ? step_reads(g, p, s, k) : step_writes(g, p, s, k - nr);
            if (v < 0 || p->state[v] != NNI_VAL_ARENA || last_use[v] != s)
                continue;
            last_use[v] = -2; /* give back once */
            if (!nni_arena_give(&a, p->offset[v], nni_arena_align(p->vals[v].nbytes ? p->vals[v].nbytes : 1)))
                st = nni_error(NN_E_NOMEM, "cannot grow the memory plan");
        }
    }
    p->arena_size = a.end;
    nni_arena_done(&a);
    nni_free(last_use);
    return st;
}

static bool value_known(const nni_plan *p, int32_t v) { return p->state[v] == NNI_VAL_CONST || p->state[v] == NNI_VAL_FOLDED; }

static bool shape_known(const nni_plan *p, int32_t v)
{
    return p->state[v] != NNI_VAL_UNSET && p->state[v] != NNI_VAL_DYNAMIC;
}

nn_status nni_plan_build(const nni_graph *g, const nn_tensor *const *input_shapes, size_t fold_limit, nni_plan *p)
{
    return nni_plan_build_ex(g, input_shapes, fold_limit, 0, p);
}

nn_status nni_plan_build_ex(const nni_graph *g, const nn_tensor *const *input_shapes, size_t fold_limit,
                            uint32_t flags, nni_plan *p)
{
    nn_status st = NN_OK;
    memset(p, 0, sizeof *p);
    p->g = g;
    p->n_values = g->n_values;
    size_t nv = (size_t)(g->n_values ? g->n_values : 1);
    p->vals = nni_calloc(nv, sizeof *p->vals);
    p->state = nni_calloc(nv, 1);
    p->offset = nni_calloc(nv, sizeof *p->offset);
    p->steps = nni_malloc((size_t)(g->n_nodes ? g->n_nodes : 1) * sizeof *p->steps);
    p->dynamic = nni_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
    int32_t max_io = 1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].n_in > max_io)
            max_io = g->nodes[i].n_in;
        if (g->nodes[i].n_out > max_io)
            max_io = g->nodes[i].n_out;
    }
    /* constants already count against the model's total */
    uint64_t folded_bytes = 0;
    for (int32_t v = 0; v < g->n_values; v++)
        if (g->values[v].constant)
            folded_bytes += g->values[v].constant->nbytes;
    if (g->limits.max_total_bytes && folded_bytes > g->limits.max_total_bytes)
        folded_bytes = g->limits.max_total_bytes;
    nn_tensor **in = nni_calloc((size_t)max_io, sizeof *in);
    nn_tensor **out = nni_calloc((size_t)max_io, sizeof *out);
    if (!p->vals || !p->state || !p->offset || !p->steps || !p->dynamic || !in || !out) {
        st = nni_error(NN_E_NOMEM, "cannot allocate an execution plan");
        goto done;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        const nn_tensor *c = g->values[v].constant;
        if (!c)
            continue;
        p->vals[v] = *c;
        p->vals[v].flags = 0; /* borrowed */
        p->vals[v].name = NULL;
        p->state[v] = NNI_VAL_CONST;
    }
    for (int32_t i = 0; i < g->n_inputs; i++) {
        int32_t v = g->inputs[i];
        const nn_tensor *s = input_shapes[i];
        if (!s)
            continue; /* unknown until run time: everything downstream is dynamic */
        if ((st = nni_tensor_set_shape(&p->vals[v], s->dtype, s->rank, s->dims)) != NN_OK)
            goto done;
        p->vals[v].data = NULL;
        p->state[v] = NNI_VAL_INPUT;
    }
    for (int32_t ni = 0; ni < g->n_nodes; ni++) {
        const nni_node *n = &g->nodes[ni];
        if (n->dead)
            continue;
        bool dynamic = false, all_known = true, shapes_ok = true;
        for (int32_t k = 0; k < n->n_in; k++) {
            int32_t v = n->in[k];
            in[k] = v >= 0 ? &p->vals[v] : NULL;
            if (v < 0)
                continue;
            if (!shape_known(p, v))
                dynamic = true, shapes_ok = false;
            if (!value_known(p, v))
                all_known = false;
        }
        for (int32_t k = 0; k < n->n_out; k++)
            out[k] = n->out[k] >= 0 ? &p->vals[n->out[k]] : NULL;
        if (!dynamic) {
            st = nni_node_infer(g, n, in, out, NULL);
            if (st == NNI_DEFER) {
                dynamic = true;
                st = NN_OK;
            } else if (st != NN_OK) {
                nni_node_error(n, st);
                goto done;
            }
        }
        if (dynamic) {
            for (int32_t k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0)
                    p->state[n->out[k]] = NNI_VAL_DYNAMIC;
            p->dynamic[p->n_steps] = 1;
            p->steps[p->n_steps++] = ni;
            continue;
        }
        bool shape_only = (n->op->flags & NNI_OP_SHAPE_ONLY) && shapes_ok;
        bool foldable = (all_known || shape_only) && !(n->op->flags & NNI_OP_NONDETERMINISTIC);
        if (foldable && fold_limit != (size_t)-1) {
            for (int32_t k = 0; k < n->n_out; k++)
                if (out[k] && out[k]->nbytes > fold_limit)
                    foldable = false;
        }
        if (foldable && !shape_only && n->op->macs) {
            /* folding runs while loading: a costly node on constants is left to the runs instead
             * (same result), so that loading a model stays quick whatever its constants ask for */
            nni_opctx mc;
            fill_ctx(&mc, g, n, in, out, NULL);
            if (n->op->macs(&mc) > FOLD_MAX_MACS)
                foldable = false;
        }
        if (foldable && g->limits.max_total_bytes) {
            /* values folded at load become part of the model: keep within its total (else compute them per run) */
            uint64_t add = 0;
            for (int32_t k = 0; k < n->n_out; k++)
                if (out[k])
                    add += out[k]->nbytes;
            if (add > g->limits.max_total_bytes - folded_bytes)
                foldable = false;
            else
                folded_bytes += add;
        }
        if (foldable) {
            for (int32_t k = 0; k < n->n_out; k++) {
                if (!out[k])
                    continue;
                if ((st = nni_tensor_alloc(out[k])) != NN_OK)
                    goto done;
                p->state[n->out[k]] = NNI_VAL_FOLDED;
            }
            if ((st = nni_node_run(g, n, in, out, NULL, NULL, NULL)) != NN_OK) {
                nni_node_error(n, st);
                goto done;
            }
            continue;
        }
        for (int32_t k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                p->state[n->out[k]] = NNI_VAL_ARENA;
        if (n->op->macs) {
            nni_opctx c;
            fill_ctx(&c, g, n, in, out, NULL);
            p->macs += n->op->macs(&c);
        }
        p->steps[p->n_steps++] = ni;
    }
    if (flags & NNI_PLAN_FUSE)
        st = nni_plan_fuse(g, p);
    if (st == NN_OK)
        st = assign_arena(g, p, (flags & NNI_PLAN_INPLACE) != 0);
done:
    nni_free(in);
    nni_free(out);
    if (st != NN_OK)
        nni_plan_free(p);
    return st;
}
