/*
 * edit.c — public calls that change or write a model: saving, metadata,
 * parameters, input replacement and head replacement. Structural edits go
 * through nni_graph_reinfer, so a model either takes the whole change or is
 * left as it was.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "frontends/onnx/onnx_export.h"
#include "ops/op.h"
#include "passes/compile.h"

/* ---- saving ---- */

NN_API nn_status nn_model_save(const nn_model *m, const char *path)
{
    nni_error_clear();
    if (!m || !path)
        return nni_error(NN_E_INVALID_ARG, "nn_model_save: model or path is NULL");
    nn_status st = nni_onnx_save_file(&m->graph, path);
    if (st != NN_OK)
        return nni_error_prefix(st, "saving '%s'", path);
    return NN_OK;
}

NN_API nn_status nn_model_save_memory(const nn_model *m, void **data, size_t *size)
{
    nni_error_clear();
    if (data)
        *data = NULL;
    if (size)
        *size = 0;
    if (!m || !data || !size)
        return nni_error(NN_E_INVALID_ARG, "nn_model_save_memory: model, data or size is NULL");
    uint8_t *buf;
    nn_status st = nni_onnx_save_memory(&m->graph, &buf, size);
    if (st != NN_OK)
        return nni_error_prefix(st, "saving a model to memory");
    *data = buf;
    return NN_OK;
}

/* ---- metadata ---- */

NN_API nn_status nn_model_set_metadata(nn_model *m, const char *key, const char *value)
{
    nni_error_clear();
    if (!m || !key || !*key)
        return nni_error(NN_E_INVALID_ARG, "nn_model_set_metadata: model or key is NULL or empty");
    if (!value) {
        nni_graph_remove_meta(&m->graph, key);
        return NN_OK;
    }
    return nni_graph_add_meta(&m->graph, key, value);
}

NN_API uint32_t nn_model_metadata_count(const nn_model *m) { return m ? (uint32_t)m->graph.n_meta : 0; }

NN_API nn_status nn_model_metadata_at(const nn_model *m, uint32_t index, const char **key, const char **value)
{
    nni_error_clear();
    if (!m)
        return nni_error(NN_E_INVALID_ARG, "nn_model_metadata_at: model is NULL");
    if (index >= (uint32_t)m->graph.n_meta)
        return nni_error(NN_E_INVALID_ARG, "metadata index %u is out of range (the model has %d)", index,
                         (int)m->graph.n_meta);
    if (key)
        *key = m->graph.meta_keys[index];
    if (value)
        *value = m->graph.meta_values[index];
    return NN_OK;
}

/*
 * Metadata changes that must land together with a structural edit: strings
 * and array room are allocated before the edit, so applying cannot fail.
 */
#define META_TXN_MAX 4
typedef struct {
    int32_t n;
    char *key[META_TXN_MAX];
    char *value[META_TXN_MAX]; /* NULL: remove the key */
} meta_txn;

static void meta_txn_free(meta_txn *t)
{
    for (int32_t i = 0; i < t->n; i++) {
        nni_free(t->key[i]);
        nni_free(t->value[i]);
    }
    memset(t, 0, sizeof *t);
}

/* Queue key=value (value taken over, NULL = remove). */
static nn_status meta_txn_add(meta_txn *t, const char *key, char *value)
{
    if (t->n == META_TXN_MAX || !(t->key[t->n] = nni_strdup(key))) {
        nni_free(value);
        return nni_error(NN_E_NOMEM, "cannot queue metadata '%s'", key);
    }
    t->value[t->n++] = value;
    return NN_OK;
}

/* Make room for every key the transaction may append. */
static nn_status meta_txn_reserve(nni_graph *g, const meta_txn *t)
{
    size_t cap = (size_t)g->n_meta + (size_t)t->n;
    char **k = nni_realloc(g->meta_keys, (cap ? cap : 1) * sizeof *k);
    if (!k)
        return nni_error(NN_E_NOMEM, "cannot grow metadata");
    g->meta_keys = k;
    char **v = nni_realloc(g->meta_values, (cap ? cap : 1) * sizeof *v);
    if (!v)
        return nni_error(NN_E_NOMEM, "cannot grow metadata");
    g->meta_values = v;
    return NN_OK;
}

static void meta_txn_apply(nni_graph *g, meta_txn *t)
{
    for (int32_t i = 0; i < t->n; i++) {
        int32_t at = -1;
        for (int32_t j = 0; j < g->n_meta; j++)
            if (strcmp(g->meta_keys[j], t->key[i]) == 0)
                at = j;
        if (!t->value[i]) {
            if (at >= 0)
                nni_graph_remove_meta(g, t->key[i]);
            continue;
        }
        if (at >= 0) {
            nni_free(g->meta_values[at]);
            g->meta_values[at] = t->value[i];
        } else {
            g->meta_keys[g->n_meta] = t->key[i];
            g->meta_values[g->n_meta++] = t->value[i];
            t->key[i] = NULL;
        }
        t->value[i] = NULL;
    }
    meta_txn_free(t);
}

/* ---- parameters ---- */

NN_API uint32_t nn_model_param_tensor_count(const nn_model *m) { return m ? (uint32_t)m->n_params : 0; }

NN_API nn_status nn_model_param_info(const nn_model *m, uint32_t index, const char **name, nn_dtype *dtype,
                                     int32_t *rank, int64_t *dims, uint32_t *flags)
{
    nni_error_clear();
    if (!m)
        return nni_error(NN_E_INVALID_ARG, "nn_model_param_info: model is NULL");
    if (index >= (uint32_t)m->n_params)
        return nni_error(NN_E_INVALID_ARG, "parameter index %u is out of range (the model has %d)", index,
                         (int)m->n_params);
    const nni_value *v = &m->graph.values[m->params[index]];
    const nn_tensor *t = v->constant;
    if (name)
        *name = v->name;
    if (dtype)
        *dtype = t->dtype;
    if (rank)
        *rank = t->rank;
    if (dims)
        for (int32_t d = 0; d < t->rank; d++)
            dims[d] = t->dims[d];
    if (flags)
        *flags = (v->is_param ? NN_PARAM_TRAINABLE : 0u) | (v->is_new_head ? NN_PARAM_NEW_HEAD : 0u);
    return NN_OK;
}

static nni_value *find_param(const nn_model *m, const char *name)
{
    for (int32_t i = 0; i < m->n_params; i++) {
        nni_value *v = &m->graph.values[m->params[i]];
        if (strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

static nn_status no_param(const nn_model *m, const char *fn, const char *name)
{
    int32_t v = nni_graph_find_value(&m->graph, name);
    if (v >= 0 && m->graph.values[v].is_input)
        return nni_error(NN_E_NOT_FOUND, "%s: '%s' is a graph input, not a parameter", fn, name);
    if (v >= 0 && m->graph.values[v].shape_folded)
        return nni_error(NN_E_NOT_FOUND, "%s: '%s' is computed from the input shapes, not a parameter", fn, name);
    if (v >= 0)
        return nni_error(NN_E_NOT_FOUND, "%s: '%s' is computed by the model, not a parameter", fn, name);
    return nni_error(NN_E_NOT_FOUND, "%s: the model has no parameter named '%s'", fn, name);
}

NN_API nn_status nn_model_get_param(const nn_model *m, const char *name, nn_tensor **out)
{
    nni_error_clear();
    if (out)
        *out = NULL;
    if (!m || !name || !out)
        return nni_error(NN_E_INVALID_ARG, "nn_model_get_param: model, name or out is NULL");
    const nni_value *v = find_param(m, name);
    if (!v)
        return no_param(m, "nn_model_get_param", name);
    nn_tensor *t;
    nn_status st = nni_tensor_clone(v->constant, &t);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_model_get_param '%s'", name);
    nni_free(t->name);
    if (!(t->name = nni_strdup(v->name))) {
        nn_tensor_free(t);
        return nni_error(NN_E_NOMEM, "nn_model_get_param: out of memory");
    }
    *out = t;
    return NN_OK;
}

NN_API nn_status nn_model_set_param(nn_model *m, const char *name, const nn_tensor *t)
{
    nni_error_clear();
    if (!m || !name || !t)
        return nni_error(NN_E_INVALID_ARG, "nn_model_set_param: model, name or tensor is NULL");
    nni_value *v = find_param(m, name);
    if (!v)
        return no_param(m, "nn_model_set_param", name);
    nn_tensor *dst = v->constant;
    if (t->dtype != dst->dtype)
        return nni_error(NN_E_TYPE, "nn_model_set_param: '%s' is %s, the tensor is %s", name, nn_dtype_name(dst->dtype),
                         nn_dtype_name(t->dtype));
    if (!nni_same_shape(t, dst)) {
        char a[128], b[128];
        return nni_error(NN_E_SHAPE, "nn_model_set_param: '%s' has shape %s, the tensor has %s", name,
                         nni_shape_str(dst->rank, dst->dims, a, sizeof a), nni_shape_str(t->rank, t->dims, b, sizeof b));
    }
    if (dst->nbytes && !t->data)
        return nni_error(NN_E_INVALID_ARG, "nn_model_set_param: the tensor for '%s' has no data", name);
    if (dst->nbytes)
        memmove(dst->data, t->data, dst->nbytes);
    nni_memo_clear(m->memo); /* forms derived from the old values (transformed filters) are stale */
    return NN_OK;
}

/* ---- helpers for structural edits ---- */

/* Live nodes reading value v's data (Shape and Size read only its shape and
 * are not counted); *first receives one of them (-1 if none). */
static int32_t count_readers(const nni_graph *g, int32_t v, int32_t *first)
{
    int32_t count = 0;
    *first = -1;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead || (n->op && (n->op->flags & NNI_OP_SHAPE_ONLY)))
            continue;
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] == v) {
                if (*first < 0)
                    *first = i;
                count++;
                break;
            }
    }
    return count;
}

static const char *shape_text(int32_t rank, const int64_t *dims, char *const *sym, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "[");
    for (int32_t i = 0; i < rank && n < cap; i++) {
        if (dims[i] >= 0)
            n += (size_t)snprintf(buf + n, cap - n, i ? ",%lld" : "%lld", (long long)dims[i]);
        else
            n += (size_t)snprintf(buf + n, cap - n, i ? ",%s" : "%s", sym && sym[i] ? sym[i] : "?");
    }
    if (n < cap)
        snprintf(buf + n, cap - n, "]");
    return buf;
}

/* Parse "a,b,c" floats; returns the count (0 if malformed or more than max). */
static int32_t parse_floats(const char *s, double *out, int32_t max)
{
    int32_t n = 0;
    while (s && *s) {
        char *end;
        double x = strtod(s, &end);
        if (end == s || n == max)
            return 0;
        out[n++] = x;
        while (*end == ' ')
            end++;
        if (*end == ',')
            end++;
        else if (*end)
            return 0;
        s = end;
    }
    return n;
}

static char *format_floats(const double *v, int32_t n)
{
    size_t cap = (size_t)n * 32 + 1;
    char *s = nni_malloc(cap);
    if (!s)
        return NULL;
    size_t at = 0;
    s[0] = '\0';
    for (int32_t i = 0; i < n; i++)
        at += (size_t)snprintf(s + at, cap - at, i ? ",%.9g" : "%.9g", v[i]);
    return s;
}

/* Queue the nn.input.* changes of a channel change old_c -> new_c. */
static nn_status channel_metadata(const nni_graph *g, int64_t old_c, int64_t new_c, meta_txn *t)
{
    char *color = NULL;
    if ((new_c == 1 || new_c == 3) && !(color = nni_strdup(new_c == 1 ? "GRAY" : "RGB")))
        return nni_error(NN_E_NOMEM, "cannot copy metadata");
    nn_status st = meta_txn_add(t, "nn.input.color", color); /* NULL: no color name fits, remove it */
    if (st != NN_OK)
        return st;
    static const char *const keys[2] = {"nn.input.mean", "nn.input.std"};
    for (int k = 0; k < 2; k++) {
        const char *cur = nni_graph_meta(g, keys[k]);
        double v[64];
        int32_t n = cur ? parse_floats(cur, v, 64) : 0;
        if (n == 0)
            continue;
        double out[64];
        int32_t n_out = 0;
        if (new_c == 1 && n == old_c) {
            double sum = 0;
            for (int32_t i = 0; i < n; i++)
                sum += v[i];
            out[0] = sum / n;
            n_out = 1;
        } else if (old_c == 1 && n == 1 && new_c <= 64) {
            for (int32_t i = 0; i < new_c; i++)
                out[i] = v[0];
            n_out = (int32_t)new_c;
        } else {
            continue;
        }
        char *s = format_floats(out, n_out);
        if (!s)
            return nni_error(NN_E_NOMEM, "cannot format metadata");
        if ((st = meta_txn_add(t, keys[k], s)) != NN_OK)
            return st;
    }
    return NN_OK;
}

/*
 * New first-layer weights for a channel change: C -> 1 sums over the input
 * channels (a gray image then gives exactly its replicated version's output,
 * up to float rounding), 1 -> C divides the single channel's weights by C.
 */
static nn_status adapt_conv_weight(const nn_tensor *w, int64_t old_c, int64_t new_c, nn_tensor **out)
{
    int64_t dims[NN_MAX_RANK];
    memcpy(dims, w->dims, sizeof dims);
    dims[1] = new_c;
    nn_tensor *t;
    nn_status st = nni_tensor_new(NN_DTYPE_FLOAT32, w->rank, dims, &t);
    if (st != NN_OK)
        return st;
    int64_t outer = w->dims[0], inner = 1;
    for (int32_t d = 2; d < w->rank; d++)
        inner *= w->dims[d];
    const float *src = w->data;
    float *dst = t->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t k = 0; k < inner; k++) {
            if (new_c == 1) {
                double sum = 0;
                for (int64_t c = 0; c < old_c; c++)
                    sum += src[(o * old_c + c) * inner + k];
                dst[o * inner + k] = (float)sum;
            } else {
                float x = src[o * inner + k] / (float)new_c;
                for (int64_t c = 0; c < new_c; c++)
                    dst[(o * new_c + c) * inner + k] = x;
            }
        }
    }
    *out = t;
    return NN_OK;
}

/* Queue weight changes for every Conv reading input `v` (channels old_c -> new_c). */
static nn_status plan_channel_change(const nni_graph *g, int32_t v, int64_t old_c, int64_t new_c, nni_edit *e)
{
    const char *name = g->values[v].name;
    if (old_c != 1 && new_c != 1)
        return nni_error(NN_E_UNSUPPORTED, "channels can change from C to 1 or from 1 to C, not from %lld to %lld",
                         (long long)old_c, (long long)new_c);
    int32_t readers = 0;
    for (int32_t i = 0; i < g->n_nodes; i++) {
        const nni_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        bool reads = false;
        for (int32_t k = 0; k < n->n_in; k++)
            reads |= n->in[k] == v;
        if (!reads)
            continue;
        readers++;
        if (strcmp(n->op_type, "Conv") != 0 || n->in[0] != v || n->in[1] == v)
            return nni_error(NN_E_UNSUPPORTED, "input '%s' is read by node '%s' (%s); a channel change needs every "
                             "layer reading the input to be a Conv", name, n->name, n->op_type);
        int64_t group = 1;
        nn_status st = nni_attr_int(n, "group", 1, &group);
        if (st != NN_OK || group != 1)
            return nni_error(NN_E_UNSUPPORTED, "node '%s' (Conv) reading input '%s' is grouped (group %lld); "
                             "a channel change needs group 1", n->name, name, (long long)group);
        int32_t wv = n->in[1];
        const nn_tensor *w = g->values[wv].constant;
        if (!w || g->values[wv].shape_folded || w->dtype != NN_DTYPE_FLOAT32 || w->rank < 3)
            return nni_error(NN_E_UNSUPPORTED, "node '%s' (Conv) reading input '%s' has no constant float weights",
                             n->name, name);
        if (w->dims[1] != old_c)
            return nni_error(NN_E_SHAPE, "node '%s' (Conv) has weights for %lld input channels, the input has %lld",
                             n->name, (long long)w->dims[1], (long long)old_c);
        bool seen = false;
        for (int32_t k = 0; k < e->n; k++)
            seen |= e->value[k] == wv;
        if (seen)
            continue; /* the same weights feed two convolutions of the input */
        for (int32_t j = 0; j < g->n_nodes; j++) {
            const nni_node *o = &g->nodes[j];
            if (o->dead)
                continue;
            for (int32_t k = 0; k < o->n_in; k++)
                if (o->in[k] == wv && (strcmp(o->op_type, "Conv") != 0 || o->in[0] != v || k != 1))
                    return nni_error(NN_E_UNSUPPORTED, "the weights '%s' of node '%s' are also read by node '%s' (%s)",
                                     g->values[wv].name, n->name, o->name, o->op_type);
        }
        if (e->n == NNI_EDIT_MAX_TENSORS)
            return nni_error(NN_E_UNSUPPORTED, "input '%s' feeds more than %d convolutions", name, NNI_EDIT_MAX_TENSORS);
        if ((st = adapt_conv_weight(w, old_c, new_c, &e->tensor[e->n])) != NN_OK)
            return st;
        e->value[e->n++] = wv;
    }
    if (readers == 0)
        return nni_error(NN_E_UNSUPPORTED, "input '%s' is read by no layer; there are no weights to adapt to %lld channels",
                         name, (long long)new_c);
    return NN_OK;
}

NN_API nn_status nn_replace_input_options_init(nn_replace_input_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_input_options_init: options is NULL");
    if (version != NN_REPLACE_INPUT_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_input_options_init: version %u is not supported (this library knows %d)",
                         version, NN_REPLACE_INPUT_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->channel_axis = 1;
    return NN_OK;
}

NN_API nn_status nn_replace_input(nn_model *m, const char *input_name, int32_t rank, const int64_t *dims,
                                  const nn_replace_input_options *options)
{
    nni_error_clear();
    if (!m || !input_name || (rank > 0 && !dims))
        return nni_error(NN_E_INVALID_ARG, "nn_replace_input: model, input_name or dims is NULL");
    nn_replace_input_options opts;
    nn_replace_input_options_init(&opts, NN_REPLACE_INPUT_OPTIONS_VERSION);
    if (options) {
        if (options->version < 1 || options->version > NN_REPLACE_INPUT_OPTIONS_VERSION)
            return nni_error(NN_E_INVALID_ARG, "nn_replace_input_options.version %u is not supported (expected 1..%d)",
                             options->version, NN_REPLACE_INPUT_OPTIONS_VERSION);
        opts = *options;
    }
    nni_graph *g = &m->graph;
    int32_t v = -1;
    for (int32_t i = 0; i < g->n_inputs; i++)
        if (strcmp(g->values[g->inputs[i]].name, input_name) == 0)
            v = g->inputs[i];
    if (v < 0)
        return nni_error(NN_E_NOT_FOUND, "nn_replace_input: the model has no input named '%s'", input_name);
    const nni_value *in = &g->values[v];
    if (rank < 0 || rank > NN_MAX_RANK)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_input: rank %d is out of range", (int)rank);
    if (in->info.rank >= 0 && rank != in->info.rank)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_input: input '%s' has rank %d, not %d (changing the rank is not "
                         "supported)", input_name, (int)in->info.rank, (int)rank);
    nni_edit e;
    memset(&e, 0, sizeof e);
    e.input = v;
    e.input_info.dtype = in->info.dtype;
    e.input_info.rank = rank;
    meta_txn meta;
    memset(&meta, 0, sizeof meta);
    nn_status st = NN_OK;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] == -1 && in->info.rank >= 0) {
            e.input_info.dims[d] = in->info.dims[d];
            if (in->info.dims[d] < 0 && in->dim_sym[d] && !(e.input_sym[d] = nni_strdup(in->dim_sym[d]))) {
                st = nni_error(NN_E_NOMEM, "nn_replace_input: out of memory");
                goto fail;
            }
        } else if (dims[d] > 0) {
            e.input_info.dims[d] = dims[d];
        } else {
            st = nni_error(NN_E_INVALID_ARG, "nn_replace_input: dims[%d] is %lld; use a size > 0, or -1 to keep the "
                           "input's dimension", (int)d, (long long)dims[d]);
            goto fail;
        }
    }
    char want[256];
    shape_text(rank, e.input_info.dims, e.input_sym, want, sizeof want);
    /* channels */
    int32_t axis = opts.channel_axis < 0 ? opts.channel_axis + rank : opts.channel_axis;
    if (axis >= 0 && axis < rank && in->info.rank == rank) {
        int64_t old_c = in->info.dims[axis], new_c = e.input_info.dims[axis];
        if (old_c != new_c) {
            if (old_c < 0) {
                st = nni_error(NN_E_UNSUPPORTED, "the channel dimension of input '%s' is symbolic: there is no channel "
                               "count to adapt from", input_name);
                goto fail;
            }
            if ((st = plan_channel_change(g, v, old_c, new_c, &e)) != NN_OK ||
                (st = channel_metadata(g, old_c, new_c, &meta)) != NN_OK || (st = meta_txn_reserve(g, &meta)) != NN_OK)
                goto fail;
        }
    }
    if ((st = nni_graph_reinfer(g, &e)) != NN_OK)
        goto fail;
    meta_txn_apply(g, &meta);
    nni_model_refresh(m);
    return NN_OK;
fail:
    nni_edit_free(&e);
    meta_txn_free(&meta);
    return nni_error_prefix(st, "nn_replace_input: input '%s' cannot become %s", input_name, want);
}

/* ---- head replacement ---- */

static bool is_tail_op(const char *op)
{
    static const char *const tail[] = {"Softmax", "LogSoftmax", "Flatten", "Reshape", "Squeeze", "Identity",
                                       "Dropout", "Relu", "GlobalAveragePool", "AveragePool", "ReduceMean"};
    for (size_t i = 0; i < sizeof tail / sizeof *tail; i++)
        if (strcmp(op, tail[i]) == 0)
            return true;
    return false;
}

/* splitmix64: a tiny, well-mixed generator; plenty for initial weights. */
static uint64_t next_u64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Xavier/Glorot uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)). */
static void glorot_fill(nn_tensor *t, int64_t fan_in, int64_t fan_out, uint64_t *rng)
{
    float a = (float)sqrt(6.0 / (double)(fan_in + fan_out));
    float *p = t->data;
    int64_t n = nni_tensor_count(t);
    for (int64_t i = 0; i < n; i++) {
        float u = (float)((double)(next_u64(rng) >> 40) * 0x1.0p-24); /* [0, 1) */
        p[i] = a * (2.0f * u - 1.0f);
    }
}

/* A new float tensor shaped like `like` with dimension `axis` set to k. */
static nn_status resized(const nn_tensor *like, int32_t axis, int64_t k, nn_tensor **out)
{
    int64_t dims[NN_MAX_RANK];
    memcpy(dims, like->dims, sizeof dims);
    if (axis >= 0)
        dims[axis] = k;
    return nni_tensor_new(NN_DTYPE_FLOAT32, like->rank, dims, out);
}

typedef struct {
    int32_t node;       /* Gemm, MatMul or Conv */
    int32_t bias_node;  /* the Add after a MatMul, or -1 */
    int32_t w, b;       /* weight and bias values (b -1 when none) */
    int32_t w_axis;     /* class axis of the weight */
    int32_t b_axis;     /* class axis of the bias, -1 if it broadcasts (one element) */
    int64_t classes;    /* current class count */
    int64_t fan_in;
} head_info;

/* A weight or bias must be a float constant only this head reads. */
static nn_status check_head_tensor(const nni_graph *g, int32_t v, int32_t node, int32_t node2, const char *what)
{
    const nni_node *n = &g->nodes[node];
    const nni_value *val = &g->values[v];
    if (!val->constant || val->shape_folded || val->constant->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_UNSUPPORTED, "the classifier '%s' (%s) has a %s '%s' that is not a float32 constant",
                         n->name, n->op_type, what, val->name);
    for (int32_t i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead || i == node || i == node2)
            continue;
        for (int32_t k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == v)
                return nni_error(NN_E_UNSUPPORTED, "the %s '%s' of the classifier '%s' is shared with node '%s'", what,
                                 val->name, n->name, g->nodes[i].name);
    }
    return NN_OK;
}

/* Class axis of a bias of `classes` elements: its last axis, or -1 for a broadcast scalar. */
static nn_status bias_axis(const nni_graph *g, int32_t b, int64_t classes, const char *head, int32_t *axis)
{
    const nn_tensor *t = g->values[b].constant;
    int64_t count = nni_tensor_count(t);
    if (count == 1 && classes != 1) {
        *axis = -1;
        return NN_OK;
    }
    if (t->rank >= 1 && t->dims[t->rank - 1] == classes && count == classes) {
        *axis = t->rank - 1;
        return NN_OK;
    }
    char s[128];
    return nni_error(NN_E_UNSUPPORTED, "the bias '%s' of the classifier '%s' has shape %s, not %lld classes",
                     g->values[b].name, head, nni_shape_str(t->rank, t->dims, s, sizeof s), (long long)classes);
}

static nn_status find_head(const nni_graph *g, head_info *h, int32_t *tail, int32_t *n_tail)
{
    memset(h, 0, sizeof *h);
    h->bias_node = -1;
    h->b = -1;
    *n_tail = 0;
    if (g->n_outputs < 1)
        return nni_error(NN_E_UNSUPPORTED, "the model has no output");
    int32_t cur = g->outputs[0];
    for (;;) {
        const nni_value *val = &g->values[cur];
        int32_t p = val->producer;
        if (p < 0 || g->nodes[p].dead || val->constant)
            return nni_error(NN_E_UNSUPPORTED, "no classifier found: walking back from output '%s' reached '%s', "
                             "which no layer computes", g->values[g->outputs[0]].name, val->name);
        const nni_node *n = &g->nodes[p];
        int32_t first;
        int32_t readers = count_readers(g, cur, &first);
        if (readers + (val->is_output ? 1 : 0) > 1)
            return nni_error(NN_E_UNSUPPORTED, "no classifier found: '%s' (output of node '%s') has several readers",
                             val->name, n->name);
        const char *op = n->op_type;
        if (strcmp(op, "Gemm") == 0) {
            int64_t tb = 0;
            if (nni_attr_int(n, "transB", 0, &tb) != NN_OK)
                return NN_E_INVALID_MODEL;
            h->node = p;
            h->w = n->in[1];
            h->b = n->n_in > 2 ? n->in[2] : -1;
            if (!g->values[h->w].constant || g->values[h->w].constant->rank != 2)
                return nni_error(NN_E_UNSUPPORTED, "the classifier '%s' (Gemm) has no constant 2-D weight", n->name);
            h->w_axis = tb ? 0 : 1;
            break;
        }
        if (strcmp(op, "MatMul") == 0 || strcmp(op, "Add") == 0) {
            int32_t mm = p, add = -1, bias = -1;
            if (strcmp(op, "Add") == 0) {
                /* bias add: one side a constant, the other a MatMul */
                for (int32_t k = 0; k < 2 && k < n->n_in; k++) {
                    int32_t x = n->in[k], y = n->in[1 - k];
                    int32_t px = g->values[x].producer;
                    if (g->values[y].constant && !g->values[x].constant && px >= 0 && !g->nodes[px].dead &&
                        strcmp(g->nodes[px].op_type, "MatMul") == 0) {
                        mm = px;
                        bias = y;
                    }
                }
                if (bias < 0)
                    return nni_error(NN_E_UNSUPPORTED, "no classifier found: walking back from output '%s' reached "
                                     "node '%s' (Add), which is not a MatMul's bias", g->values[g->outputs[0]].name,
                                     n->name);
                add = p;
                int32_t mo = g->nodes[mm].out[0];
                if (count_readers(g, mo, &first) != 1 || g->values[mo].is_output)
                    return nni_error(NN_E_UNSUPPORTED, "the MatMul '%s' before the bias has other readers",
                                     g->nodes[mm].name);
            }
            const nni_node *mn = &g->nodes[mm];
            int32_t w = mn->in[1];
            if (!g->values[w].constant || g->values[w].constant->rank != 2)
                return nni_error(NN_E_UNSUPPORTED, "the classifier '%s' (MatMul) has no constant 2-D weight", mn->name);
            h->node = mm;
            h->bias_node = add;
            h->w = w;
            h->b = bias;
            h->w_axis = 1;
            break;
        }
        if (strcmp(op, "Conv") == 0) {
            int64_t group = 1;
            if (nni_attr_int(n, "group", 1, &group) != NN_OK || group != 1)
                return nni_error(NN_E_UNSUPPORTED, "the final convolution '%s' is grouped", n->name);
            h->node = p;
            h->w = n->in[1];
            h->b = n->n_in > 2 ? n->in[2] : -1;
            if (!g->values[h->w].constant || g->values[h->w].constant->rank < 3)
                return nni_error(NN_E_UNSUPPORTED, "the classifier '%s' (Conv) has no constant weight", n->name);
            h->w_axis = 0;
            break;
        }
        if (!is_tail_op(op))
            return nni_error(NN_E_UNSUPPORTED, "no classifier found: walking back from output '%s' reached node "
                             "'%s' (%s); expected Gemm, MatMul(+Add) or Conv, after which only Softmax, Flatten, "
                             "Reshape, pooling and similar may follow", g->values[g->outputs[0]].name, n->name, op);
        if (*n_tail == 16)
            return nni_error(NN_E_UNSUPPORTED, "no classifier found within 16 layers of the output");
        tail[(*n_tail)++] = p;
        cur = n->in[0];
    }
    const nn_tensor *w = g->values[h->w].constant;
    h->classes = w->dims[h->w_axis];
    int64_t total = nni_tensor_count(w);
    h->fan_in = total / (h->classes ? h->classes : 1);
    const char *hn = g->nodes[h->node].name;
    nn_status st = check_head_tensor(g, h->w, h->node, h->bias_node, "weight");
    if (st == NN_OK && h->b >= 0)
        st = check_head_tensor(g, h->b, h->node, h->bias_node, "bias");
    if (st == NN_OK && h->b >= 0)
        st = bias_axis(g, h->b, h->classes, hn, &h->b_axis);
    return st;
}

NN_API nn_status nn_replace_head(nn_model *m, int32_t num_classes, const char *const *labels, uint32_t n_labels,
                                 uint64_t seed)
{
    nni_error_clear();
    if (!m)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_head: model is NULL");
    if (num_classes < 1)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_head: num_classes is %d; it must be >= 1", (int)num_classes);
    if (n_labels && !labels)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_head: labels is NULL with n_labels %u", n_labels);
    if (n_labels && n_labels != (uint32_t)num_classes)
        return nni_error(NN_E_INVALID_ARG, "nn_replace_head: %u labels for %d classes", n_labels, (int)num_classes);
    size_t label_bytes = 1;
    for (uint32_t i = 0; i < n_labels; i++) {
        if (!labels[i] || strchr(labels[i], '\n'))
            return nni_error(NN_E_INVALID_ARG, "nn_replace_head: label %u is NULL or contains a newline", i);
        label_bytes += strlen(labels[i]) + 1;
    }
    nni_graph *g = &m->graph;
    if (nni_graph_meta(g, "nn.detect.family"))
        return nni_error(NN_E_UNSUPPORTED, "nn_replace_head: the model is a detector (nn.detect.family is '%s'); its "
                         "output layers encode anchors and boxes, not one score per class",
                         nni_graph_meta(g, "nn.detect.family"));
    head_info h;
    int32_t tail[16], n_tail;
    nni_edit e;
    memset(&e, 0, sizeof e);
    e.input = -1;
    meta_txn meta;
    memset(&meta, 0, sizeof meta);
    nn_status st = find_head(g, &h, tail, &n_tail);
    if (st != NN_OK)
        goto fail;
    /* new weight and bias */
    uint64_t rng = seed;
    const nn_tensor *w = g->values[h.w].constant;
    if ((st = resized(w, h.w_axis, num_classes, &e.tensor[0])) != NN_OK)
        goto fail;
    e.value[e.n++] = h.w;
    glorot_fill(e.tensor[0], h.fan_in, num_classes, &rng);
    if (h.b >= 0) {
        if ((st = resized(g->values[h.b].constant, h.b_axis, num_classes, &e.tensor[1])) != NN_OK)
            goto fail;
        e.value[e.n++] = h.b; /* zero-filled */
    }
    /* a Reshape after the head to a literal shape holding the class count */
    for (int32_t i = 0; i < n_tail && h.classes > 1 && h.classes != num_classes; i++) {
        const nni_node *n = &g->nodes[tail[i]];
        if (strcmp(n->op_type, "Reshape") != 0 || n->n_in < 2)
            continue;
        const nni_value *sv = &g->values[n->in[1]];
        int32_t first;
        if (!sv->constant || sv->shape_folded || count_readers(g, n->in[1], &first) != 1 || e.n == NNI_EDIT_MAX_TENSORS)
            continue;
        int32_t hits = 0;
        for (int64_t k = 0; k < nni_tensor_count(sv->constant); k++)
            hits += nni_tensor_get_i64(sv->constant, k) == h.classes;
        if (hits != 1 || (sv->constant->dtype != NN_DTYPE_INT64))
            continue;
        if ((st = nni_tensor_clone(sv->constant, &e.tensor[e.n])) != NN_OK)
            goto fail;
        int64_t *p = e.tensor[e.n]->data;
        for (int64_t k = 0; k < nni_tensor_count(sv->constant); k++)
            if (p[k] == h.classes)
                p[k] = num_classes;
        e.value[e.n++] = n->in[1];
    }
    /* labels */
    char *joined = NULL;
    if (n_labels) {
        if (!(joined = nni_malloc(label_bytes))) {
            st = nni_error(NN_E_NOMEM, "nn_replace_head: out of memory");
            goto fail;
        }
        size_t at = 0;
        for (uint32_t i = 0; i < n_labels; i++) {
            size_t len = strlen(labels[i]);
            memcpy(joined + at, labels[i], len);
            at += len;
            joined[at++] = i + 1 < n_labels ? '\n' : '\0';
        }
        joined[at] = '\0';
    }
    if ((st = meta_txn_add(&meta, "nn.labels", joined)) != NN_OK || (st = meta_txn_reserve(g, &meta)) != NN_OK)
        goto fail;
    int32_t w_value = h.w, b_value = h.b;
    if ((st = nni_graph_reinfer(g, &e)) != NN_OK)
        goto fail;
    g->values[w_value].is_param = true;
    g->values[w_value].is_new_head = true;
    g->values[w_value].lr_factor = 1.0f; /* a fresh head learns even if the old one was frozen */
    if (b_value >= 0) {
        g->values[b_value].is_param = true;
        g->values[b_value].is_new_head = true;
        g->values[b_value].lr_factor = 1.0f;
    }
    meta_txn_apply(g, &meta);
    nni_model_refresh(m);
    return NN_OK;
fail:
    nni_edit_free(&e);
    meta_txn_free(&meta);
    return nni_error_prefix(st, "nn_replace_head");
}
