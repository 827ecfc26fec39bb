/* graph.c — building and ordering the IR graph; attribute access. */
#include <string.h>

#include "ir/graph.h"
#include "ops/op.h"

nn_status nni_graph_init(nni_graph *g)
{
    memset(g, 0, sizeof *g);
    return NN_OK;
}

void nni_attr_free(nni_attr *a)
{
    nni_free(a->name);
    nni_free(a->s);
    nni_free(a->floats);
    nni_free(a->ints);
    if (a->strings) {
        for (size_t i = 0; i < a->n; i++)
            nni_free(a->strings[i]);
        nni_free(a->strings);
    }
    nn_tensor_free(a->t);
    if (a->g) {
        nni_graph_free(a->g);
        nni_free(a->g);
    }
    memset(a, 0, sizeof *a);
}

void nni_node_free(nni_node *n)
{
    nni_free(n->name);
    nni_free(n->op_type);
    nni_free(n->domain);
    nni_free(n->in);
    nni_free(n->out);
    for (int32_t i = 0; i < n->n_attr; i++)
        nni_attr_free(&n->attrs[i]);
    nni_free(n->attrs);
    if (n->state && n->op && n->op->release)
        n->op->release(n->state);
    nni_free(n->state);
    memset(n, 0, sizeof *n);
}

static void value_free(nni_value *v)
{
    nni_free(v->name);
    nni_tensor_release(&v->info);
    for (int i = 0; i < NN_MAX_RANK; i++)
        nni_free(v->dim_sym[i]);
    nn_tensor_free(v->constant);
}

void nni_graph_free(nni_graph *g)
{
    if (!g)
        return;
    for (int32_t i = 0; i < g->n_values; i++)
        value_free(&g->values[i]);
    nni_free(g->values);
    for (int32_t i = 0; i < g->n_nodes; i++)
        nni_node_free(&g->nodes[i]);
    nni_free(g->nodes);
    nni_free(g->inputs);
    nni_free(g->outputs);
    nni_free(g->captures);
    for (int32_t i = 0; i < g->n_meta; i++) {
        nni_free(g->meta_keys[i]);
        nni_free(g->meta_values[i]);
    }
    nni_free(g->meta_keys);
    nni_free(g->meta_values);
    nni_free(g->name);
    nni_free(g->index);
    memset(g, 0, sizeof *g);
}

/* ---- the value-name index: loading a graph of N values takes O(N), not
 * O(N^2) (a small file of a million nodes would otherwise take hours). The
 * hash is seeded per graph so that a file cannot be built to collide. ---- */

static uint64_t name_hash(const nni_graph *g, const char *s)
{
    uint64_t h = g->index_seed ^ 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    h ^= h >> 33; /* spread the high bits into the ones the table uses */
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static void index_insert(nni_graph *g, int32_t v)
{
    uint32_t mask = (uint32_t)g->index_cap - 1;
    for (uint32_t i = (uint32_t)name_hash(g, g->values[v].name) & mask;; i = (i + 1) & mask) {
        if (g->index[i] < 0) {
            g->index[i] = v;
            return;
        }
    }
}

/* Make the index cover every value with room for one more (load factor <= 1/2). */
static bool index_update(nni_graph *g)
{
    if (g->index && g->index_n == g->n_values && (int64_t)(g->n_values + 1) * 2 <= g->index_cap)
        return true;
    int64_t cap = 64;
    while (cap < (int64_t)(g->n_values + 1) * 2)
        cap *= 2;
    if (cap > INT32_MAX / 2)
        return false;
    int32_t *t = nni_malloc((size_t)cap * sizeof *t);
    if (!t)
        return false;
    nni_free(g->index);
    g->index = t;
    g->index_cap = (int32_t)cap;
    if (!g->index_seed)
        g->index_seed = (uint64_t)(uintptr_t)g * 0x9e3779b97f4a7c15ull ^ (uint64_t)(uintptr_t)&name_hash;
    for (int32_t i = 0; i < g->index_cap; i++)
        g->index[i] = -1;
    for (int32_t v = 0; v < g->n_values; v++)
        index_insert(g, v);
    g->index_n = g->n_values;
    return true;
}

int32_t nni_graph_find_value(const nni_graph *g, const char *name)
{
    if (g->index && g->index_n == g->n_values) {
        uint32_t mask = (uint32_t)g->index_cap - 1;
        for (uint32_t i = (uint32_t)name_hash(g, name) & mask;; i = (i + 1) & mask) {
            int32_t v = g->index[i];
            if (v < 0)
                return -1;
            if (strcmp(g->values[v].name, name) == 0)
                return v;
        }
    }
    for (int32_t i = 0; i < g->n_values; i++)
        if (strcmp(g->values[i].name, name) == 0)
            return i;
    return -1;
}

int32_t nni_graph_value(nni_graph *g, const char *name)
{
    if (!index_update(g))
        return nni_error(NN_E_NOMEM, "cannot grow the value index");
    int32_t idx = nni_graph_find_value(g, name);
    if (idx >= 0)
        return idx;
    if (g->n_values == g->cap_values) {
        int32_t cap = g->cap_values ? g->cap_values * 2 : 64;
        nni_value *v = nni_realloc(g->values, (size_t)cap * sizeof *v);
        if (!v)
            return nni_error(NN_E_NOMEM, "cannot grow the value table");
        g->values = v;
        g->cap_values = cap;
    }
    nni_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = nni_strdup(name);
    if (!v->name)
        return nni_error(NN_E_NOMEM, "cannot copy a value name");
    v->producer = -1;
    v->lr_factor = 1.0f;
    int32_t added = g->n_values++;
    if (g->index && g->index_n == added) { /* index_update left room for it */
        index_insert(g, added);
        g->index_n = g->n_values;
    }
    return added;
}

nn_status nni_graph_add_node(nni_graph *g, nni_node *node, int32_t *index)
{
    if (g->n_nodes == g->cap_nodes) {
        int32_t cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        nni_node *n = nni_realloc(g->nodes, (size_t)cap * sizeof *n);
        if (!n)
            return nni_error(NN_E_NOMEM, "cannot grow the node table");
        g->nodes = n;
        g->cap_nodes = cap;
    }
    g->nodes[g->n_nodes] = *node;
    memset(node, 0, sizeof *node);
    if (index)
        *index = g->n_nodes;
    g->n_nodes++;
    return NN_OK;
}

nn_status nni_graph_add_meta(nni_graph *g, const char *key, const char *value)
{
    for (int32_t i = 0; i < g->n_meta; i++) {
        if (strcmp(g->meta_keys[i], key) == 0) {
            char *v = nni_strdup(value);
            if (!v)
                return nni_error(NN_E_NOMEM, "cannot copy metadata");
            nni_free(g->meta_values[i]);
            g->meta_values[i] = v;
            return NN_OK;
        }
    }
    char **k = nni_realloc(g->meta_keys, (size_t)(g->n_meta + 1) * sizeof *k);
    if (!k)
        return nni_error(NN_E_NOMEM, "cannot grow metadata");
    g->meta_keys = k;
    char **v = nni_realloc(g->meta_values, (size_t)(g->n_meta + 1) * sizeof *v);
    if (!v)
        return nni_error(NN_E_NOMEM, "cannot grow metadata");
    g->meta_values = v;
    k[g->n_meta] = nni_strdup(key);
    v[g->n_meta] = nni_strdup(value);
    if (!k[g->n_meta] || !v[g->n_meta]) {
        nni_free(k[g->n_meta]);
        nni_free(v[g->n_meta]);
        return nni_error(NN_E_NOMEM, "cannot copy metadata");
    }
    g->n_meta++;
    return NN_OK;
}

const char *nni_graph_meta(const nni_graph *g, const char *key)
{
    for (int32_t i = 0; i < g->n_meta; i++)
        if (strcmp(g->meta_keys[i], key) == 0)
            return g->meta_values[i];
    return NULL;
}

void nni_graph_remove_meta(nni_graph *g, const char *key)
{
    for (int32_t i = 0; i < g->n_meta; i++) {
        if (strcmp(g->meta_keys[i], key) == 0) {
            nni_free(g->meta_keys[i]);
            nni_free(g->meta_values[i]);
            memmove(&g->meta_keys[i], &g->meta_keys[i + 1], (size_t)(g->n_meta - i - 1) * sizeof *g->meta_keys);
            memmove(&g->meta_values[i], &g->meta_values[i + 1], (size_t)(g->n_meta - i - 1) * sizeof *g->meta_values);
            g->n_meta--;
            return;
        }
    }
}

/*
 * Kahn's algorithm over value producers. Values with no producer must be
 * graph inputs or constants; anything else is a dangling reference.
 */
nn_status nni_graph_toposort(nni_graph *g)
{
    nn_status st = NN_OK;
    int32_t n = g->n_nodes;
    int32_t *pending = nni_calloc((size_t)n + 1, sizeof *pending);
    int32_t *order = nni_calloc((size_t)n + 1, sizeof *order);
    int32_t *queue = nni_calloc((size_t)n + 1, sizeof *queue);
    /* consumers as a CSR list */
    int32_t *cons_start = nni_calloc((size_t)g->n_values + 1, sizeof *cons_start);
    int64_t total_in = 0;
    for (int32_t i = 0; i < n; i++)
        total_in += g->nodes[i].n_in;
    int32_t *cons = nni_calloc((size_t)total_in + 1, sizeof *cons);
    int32_t *fill = nni_calloc((size_t)g->n_values + 1, sizeof *fill);
    if (!pending || !order || !queue || !cons_start || !cons || !fill) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the topological sort");
        goto done;
    }
    for (int32_t v = 0; v < g->n_values; v++)
        g->values[v].producer = -1;
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < g->nodes[i].n_out; k++) {
            int32_t v = g->nodes[i].out[k];
            if (v < 0)
                continue;
            if (g->values[v].producer >= 0 || g->values[v].constant || g->values[v].is_input) {
                st = nni_error(NN_E_INVALID_MODEL, "value '%s' is produced more than once (node '%s')",
                               g->values[v].name, g->nodes[i].name);
                goto done;
            }
            g->values[v].producer = i;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
            int32_t v = g->nodes[i].in[k];
            if (v < 0)
                continue;
            const nni_value *val = &g->values[v];
            if (val->producer < 0 && !val->constant && !val->is_input) {
                st = nni_error(NN_E_INVALID_MODEL, "node '%s' (%s) reads '%s', which no node, input or initializer provides",
                               g->nodes[i].name, g->nodes[i].op_type, val->name);
                goto done;
            }
            if (val->producer >= 0) {
                pending[i]++;
                cons_start[v + 1]++;
            }
        }
    }
    for (int32_t v = 0; v < g->n_values; v++)
        cons_start[v + 1] += cons_start[v];
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < g->nodes[i].n_in; k++) {
            int32_t v = g->nodes[i].in[k];
            if (v >= 0 && g->values[v].producer >= 0)
                cons[cons_start[v] + fill[v]++] = i;
        }
    int32_t head = 0, tail = 0, done_n = 0;
    for (int32_t i = 0; i < n; i++)
        if (pending[i] == 0)
            queue[tail++] = i;
    while (head < tail) {
        int32_t i = queue[head++];
        order[done_n++] = i;
        for (int32_t k = 0; k < g->nodes[i].n_out; k++) {
            int32_t v = g->nodes[i].out[k];
            if (v < 0)
                continue;
            for (int32_t c = cons_start[v]; c < cons_start[v + 1]; c++)
                if (--pending[cons[c]] == 0)
                    queue[tail++] = cons[c];
        }
    }
    if (done_n != n) {
        for (int32_t i = 0; i < n; i++)
            if (pending[i] > 0) {
                st = nni_error(NN_E_INVALID_MODEL, "the graph has a cycle through node '%s' (%s)", g->nodes[i].name,
                               g->nodes[i].op_type);
                goto done;
            }
    }
    /* permute nodes into order */
    nni_node *sorted = nni_malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the sorted node table");
        goto done;
    }
    for (int32_t i = 0; i < n; i++)
        sorted[i] = g->nodes[order[i]];
    nni_free(g->nodes);
    g->nodes = sorted;
    g->cap_nodes = n ? n : 1;
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                g->values[g->nodes[i].out[k]].producer = i;
done:
    nni_free(pending);
    nni_free(order);
    nni_free(queue);
    nni_free(cons_start);
    nni_free(cons);
    nni_free(fill);
    return st;
}

/* ---- attributes ---- */

const nni_attr *nni_node_attr(const nni_node *n, const char *name)
{
    for (int32_t i = 0; i < n->n_attr; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

static nn_status wrong_type(const char *name, const char *want)
{
    return nni_error(NN_E_INVALID_MODEL, "attribute '%s' should be %s", name, want);
}

nn_status nni_attr_int(const nni_node *n, const char *name, int64_t def, int64_t *out)
{
    const nni_attr *a = nni_node_attr(n, name);
    if (!a) {
        *out = def;
        return NN_OK;
    }
    if (a->type != NNI_ATTR_INT)
        return wrong_type(name, "an int");
    *out = a->i;
    return NN_OK;
}

nn_status nni_attr_float(const nni_node *n, const char *name, float def, float *out)
{
    const nni_attr *a = nni_node_attr(n, name);
    if (!a) {
        *out = def;
        return NN_OK;
    }
    if (a->type == NNI_ATTR_INT) { /* some exporters write integral floats as ints */
        *out = (float)a->i;
        return NN_OK;
    }
    if (a->type != NNI_ATTR_FLOAT)
        return wrong_type(name, "a float");
    *out = a->f;
    return NN_OK;
}

nn_status nni_attr_string(const nni_node *n, const char *name, const char *def, const char **out)
{
    const nni_attr *a = nni_node_attr(n, name);
    if (!a) {
        *out = def;
        return NN_OK;
    }
    if (a->type != NNI_ATTR_STRING)
        return wrong_type(name, "a string");
    *out = a->s;
    return NN_OK;
}

nn_status nni_attr_ints(const nni_node *n, const char *name, const int64_t **out, size_t *count)
{
    const nni_attr *a = nni_node_attr(n, name);
    *out = NULL;
    *count = 0;
    if (!a)
        return NN_OK;
    if (a->type != NNI_ATTR_INTS)
        return wrong_type(name, "a list of ints");
    *out = a->ints;
    *count = a->n;
    return NN_OK;
}

nn_status nni_attr_floats(const nni_node *n, const char *name, const float **out, size_t *count)
{
    const nni_attr *a = nni_node_attr(n, name);
    *out = NULL;
    *count = 0;
    if (!a)
        return NN_OK;
    if (a->type != NNI_ATTR_FLOATS)
        return wrong_type(name, "a list of floats");
    *out = a->floats;
    *count = a->n;
    return NN_OK;
}
