/* model.c — public model calls: load (format dispatch), free, introspection. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "api/model.h"
#include "core/file.h"
#include "exec/plan.h"
#include "frontends/darknet/darknet_import.h"
#include "frontends/onnx/onnx_import.h"
#include "frontends/onnx/onnx_internal.h"
#include "passes/compile.h"

#define DEFAULT_MAX_MODEL_BYTES ((uint64_t)4 << 30)
#define DEFAULT_MAX_TENSOR_BYTES ((uint64_t)4 << 30)
#define DEFAULT_MAX_NODES 1000000u
#define DEFAULT_MAX_TENSOR_ELEMENTS ((uint64_t)INT32_MAX)
#define DEFAULT_MAX_GRAPH_DEPTH 100000u
#define DEFAULT_MAX_SUBGRAPH_DEPTH 16u
#define DEFAULT_MAX_SESSION_BYTES ((uint64_t)16 << 30)

/* Bytes of nn_load_options that exist in each struct version. */
static size_t options_size(uint32_t version)
{
    return version == 1 ? offsetof(nn_load_options, max_tensor_elements) : sizeof(nn_load_options);
}

NN_API nn_status nn_load_options_init(nn_load_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_load_options_init: options is NULL");
    if (version < 1 || version > NN_LOAD_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_load_options_init: version %u is not supported (this library knows 1..%d)",
                         version, NN_LOAD_OPTIONS_VERSION);
    /* a caller built against version 1 has the smaller struct: write only that */
    nn_load_options d;
    memset(&d, 0, sizeof d);
    d.version = version;
    d.format = NN_FORMAT_AUTO;
    d.max_model_bytes = DEFAULT_MAX_MODEL_BYTES;
    d.max_tensor_bytes = DEFAULT_MAX_TENSOR_BYTES;
    d.max_nodes = DEFAULT_MAX_NODES;
    d.max_tensor_elements = DEFAULT_MAX_TENSOR_ELEMENTS;
    d.max_graph_depth = DEFAULT_MAX_GRAPH_DEPTH;
    d.max_subgraph_depth = DEFAULT_MAX_SUBGRAPH_DEPTH;
    d.max_session_bytes = DEFAULT_MAX_SESSION_BYTES;
    memcpy(o, &d, options_size(version));
    return NN_OK;
}

static nn_status resolve_options(const nn_load_options *in, nn_load_options *out)
{
    nn_load_options_init(out, NN_LOAD_OPTIONS_VERSION);
    if (!in)
        return NN_OK;
    if (in->version < 1 || in->version > NN_LOAD_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_load_options.version %u is not supported (expected 1..%d)", in->version,
                         NN_LOAD_OPTIONS_VERSION);
    if (in->format != NN_FORMAT_AUTO && in->format != NN_FORMAT_ONNX && in->format != NN_FORMAT_DARKNET)
        return nni_error(NN_E_INVALID_ARG, "nn_load_options.format %d is not a known format", (int)in->format);
    if (in->reserved_u32 != 0)
        return nni_error(NN_E_INVALID_ARG, "nn_load_options.reserved_u32 must be 0");
    out->format = in->format;
    if (in->max_model_bytes)
        out->max_model_bytes = in->max_model_bytes;
    if (in->max_tensor_bytes)
        out->max_tensor_bytes = in->max_tensor_bytes;
    if (in->max_nodes)
        out->max_nodes = in->max_nodes;
    out->weights_path = in->weights_path;
    if (in->version >= 2) {
        if (in->max_tensor_elements)
            out->max_tensor_elements = in->max_tensor_elements;
        if (in->max_graph_depth)
            out->max_graph_depth = in->max_graph_depth;
        if (in->max_subgraph_depth)
            out->max_subgraph_depth = in->max_subgraph_depth;
        if (in->max_session_bytes)
            out->max_session_bytes = in->max_session_bytes;
    }
    return NN_OK;
}

nn_status nni_model_finish(nn_model *m)
{
    nn_status st = nni_graph_compile(&m->graph);
    return st == NN_OK ? nni_model_index(m) : st;
}

nn_status nni_model_index(nn_model *m)
{
    nn_status st = nni_memo_create(&m->memo);
    if (st != NN_OK)
        return st;
    m->layers = nni_malloc((size_t)(m->graph.n_nodes ? m->graph.n_nodes : 1) * sizeof *m->layers);
    m->params = nni_malloc((size_t)(m->graph.n_values ? m->graph.n_values : 1) * sizeof *m->params);
    if (!m->layers || !m->params)
        return nni_error(NN_E_NOMEM, "cannot allocate the layer list");
    nni_model_refresh(m);
    return NN_OK;
}

void nni_model_refresh(nn_model *m)
{
    nni_memo_clear(m->memo); /* the graph or its weights changed: derived forms are rebuilt on use */
    const nni_graph *g = &m->graph;
    m->n_layers = 0;
    m->n_params = 0;
    for (int32_t i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            m->layers[m->n_layers++] = i;
    /* A parameter is a constant a live node reads. params[] doubles as the
     * per-value mark, compacted in place (index written <= index read). */
    for (int32_t v = 0; v < g->n_values; v++)
        m->params[v] = 0;
    for (int32_t li = 0; li < m->n_layers; li++) {
        const nni_node *n = &g->nodes[m->layers[li]];
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0)
                m->params[n->in[k]] = 1;
    }
    for (int32_t v = 0; v < g->n_values; v++) {
        const nni_value *val = &g->values[v];
        if (m->params[v] && val->constant && !val->shape_folded)
            m->params[m->n_params++] = v;
    }
}

/* "dir/X.cfg" -> "dir/X" + ext (the last extension of the file name replaced). */
static char *sibling_path(const char *path, const char *ext)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    size_t stem = dot && dot != (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
    char *p = nni_malloc(stem + strlen(ext) + 1);
    if (!p)
        return NULL;
    memcpy(p, path, stem);
    strcpy(p + stem, ext);
    return p;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

void nni_model_apply_options(nn_model *m, const nn_load_options *opts)
{
    m->options = *opts;
    m->options.weights_path = NULL; /* not kept: the caller owns it */
    m->graph.limits = (nni_limits){.max_tensor_bytes = opts->max_tensor_bytes,
                                   .max_tensor_elements = opts->max_tensor_elements,
                                   .max_total_bytes = opts->max_model_bytes,
                                   .max_depth = opts->max_graph_depth,
                                   .max_session_bytes = opts->max_session_bytes};
}

/* path: the model file, NULL when loading from memory; fd: the file, when bytes are its mapping (else -1). */
static nn_status load_bytes(const uint8_t *bytes, size_t size, const char *path, const char *base_dir, int fd,
                            const nn_load_options *opts, nn_model **out)
{
    bool darknet = opts->format == NN_FORMAT_DARKNET ||
                   (opts->format == NN_FORMAT_AUTO &&
                    (nni_darknet_sniff(bytes, size) || (path && has_suffix(path, ".cfg"))));
    nn_model *m = nni_calloc(1, sizeof *m);
    if (!m)
        return nni_error(NN_E_NOMEM, "cannot allocate a model");
    nni_graph_init(&m->graph);
    nni_model_apply_options(m, opts);
    nn_status st;
    if (darknet) {
        char *weights = opts->weights_path ? NULL : path ? sibling_path(path, ".weights") : NULL;
        char *labels = path ? sibling_path(path, ".names") : NULL;
        if ((!opts->weights_path && path && !weights) || (path && !labels))
            st = nni_error(NN_E_NOMEM, "out of memory");
        else
            st = nni_darknet_import(bytes, size, opts->weights_path ? opts->weights_path : weights, labels, opts,
                                    &m->graph);
        nni_free(weights);
        nni_free(labels);
    } else {
        st = nni_onnx_import_fd(bytes, size, fd, base_dir, opts, &m->graph);
    }
    if (st == NN_OK)
        st = nni_model_finish(m);
    if (st != NN_OK) {
        nn_model_free(m);
        return st;
    }
    *out = m;
    return NN_OK;
}

NN_API nn_status nn_model_load(const char *path, const nn_load_options *options, nn_model **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_model_load: out is NULL");
    *out = NULL;
    if (!path)
        return nni_error(NN_E_INVALID_ARG, "nn_model_load: path is NULL");
    nn_load_options opts;
    nn_status st = resolve_options(options, &opts);
    if (st != NN_OK)
        return st;
    /* the model's folder, for external data */
    char *dir = nni_strdup(path);
    if (!dir)
        return nni_error(NN_E_NOMEM, "loading '%s': out of memory", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash == dir ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
    else
        strcpy(dir, ".");
    /*
     * The file is mapped, not read: parsing touches only the pages that hold
     * the graph's structure, and the weights are read (pread) straight into
     * their tensors, so they are in memory once. A file that cannot be
     * mapped (empty, over the size limit) goes through nni_read_file.
     */
    uint8_t *bytes = NULL;
    void *mapped = MAP_FAILED;
    size_t size = 0;
    FILE *f = NULL;
    uint64_t len = 0;
    st = nni_open_regular(path, "file", &f, &len);
    if (st == NN_OK && len > 0 && len <= opts.max_model_bytes && len <= SIZE_MAX) {
        size = (size_t)len;
        mapped = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    }
    if (st == NN_OK && mapped == MAP_FAILED) {
        fclose(f);
        f = NULL;
        st = nni_read_file(path, opts.max_model_bytes, &bytes, &size);
    }
    if (st == NN_OK)
        st = load_bytes(bytes ? bytes : mapped, size, path, dir, f ? fileno(f) : -1, &opts, out);
    if (mapped != MAP_FAILED)
        munmap(mapped, size);
    if (f)
        fclose(f);
    nni_free(bytes);
    nni_free(dir);
    if (st != NN_OK)
        return nni_error_prefix(st, "loading '%s'", path);
    return NN_OK;
}

NN_API nn_status nn_model_load_memory(const void *data, size_t size, const nn_load_options *options, nn_model **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_model_load_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return nni_error(NN_E_INVALID_ARG, "nn_model_load_memory: data is NULL");
    nn_load_options opts;
    nn_status st = resolve_options(options, &opts);
    if (st != NN_OK)
        return st;
    if (size > opts.max_model_bytes)
        return nni_error(NN_E_LIMIT, "nn_model_load_memory: %zu bytes is over the limit of %llu", size,
                         (unsigned long long)opts.max_model_bytes);
    st = load_bytes(data, size, NULL, NULL, -1, &opts, out);
    if (st != NN_OK)
        return nni_error_prefix(st, "loading a model from memory");
    return NN_OK;
}

NN_API void nn_model_free(nn_model *m)
{
    if (!m)
        return;
    nni_graph_free(&m->graph);
    nni_free(m->layers);
    nni_free(m->params);
    nni_memo_free(m->memo);
    nni_free(m);
}

/* ---- introspection ---- */

NN_API uint32_t nn_model_input_count(const nn_model *m) { return m ? (uint32_t)m->graph.n_inputs : 0; }
NN_API uint32_t nn_model_output_count(const nn_model *m) { return m ? (uint32_t)m->graph.n_outputs : 0; }

static nn_status io_info(const nn_model *m, bool input, uint32_t index, const char **name, nn_dtype *dtype,
                         int32_t *rank)
{
    nni_error_clear();
    if (!m)
        return nni_error(NN_E_INVALID_ARG, "model is NULL");
    uint32_t count = input ? (uint32_t)m->graph.n_inputs : (uint32_t)m->graph.n_outputs;
    if (index >= count)
        return nni_error(NN_E_INVALID_ARG, "%s index %u is out of range (the model has %u)", input ? "input" : "output",
                         index, count);
    const nni_value *v = &m->graph.values[input ? m->graph.inputs[index] : m->graph.outputs[index]];
    if (name)
        *name = v->name;
    if (dtype)
        *dtype = v->info.dtype;
    if (rank)
        *rank = v->info.rank;
    return NN_OK;
}

NN_API nn_status nn_model_input_info(const nn_model *m, uint32_t index, const char **name, nn_dtype *dtype, int32_t *rank)
{
    return io_info(m, true, index, name, dtype, rank);
}

NN_API nn_status nn_model_output_info(const nn_model *m, uint32_t index, const char **name, nn_dtype *dtype, int32_t *rank)
{
    return io_info(m, false, index, name, dtype, rank);
}

static nn_status io_dim(const nn_model *m, bool input, uint32_t index, int32_t axis, int64_t *dim, const char **symbol)
{
    int32_t rank = 0;
    nn_status st = io_info(m, input, index, NULL, NULL, &rank);
    if (st != NN_OK)
        return st;
    const nni_value *v = &m->graph.values[input ? m->graph.inputs[index] : m->graph.outputs[index]];
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis >= rank)
        return nni_error(NN_E_INVALID_ARG, "axis is out of range for rank %d", (int)rank);
    if (dim)
        *dim = v->info.dims[axis];
    if (symbol)
        *symbol = v->dim_sym[axis] ? v->dim_sym[axis] : "";
    return NN_OK;
}

NN_API nn_status nn_model_input_dim(const nn_model *m, uint32_t index, int32_t axis, int64_t *dim, const char **symbol)
{
    return io_dim(m, true, index, axis, dim, symbol);
}

NN_API nn_status nn_model_output_dim(const nn_model *m, uint32_t index, int32_t axis, int64_t *dim, const char **symbol)
{
    return io_dim(m, false, index, axis, dim, symbol);
}

NN_API uint32_t nn_model_layer_count(const nn_model *m) { return m ? (uint32_t)m->n_layers : 0; }

NN_API nn_status nn_model_layer_info(const nn_model *m, uint32_t index, const char **name, const char **op_type)
{
    nni_error_clear();
    if (!m)
        return nni_error(NN_E_INVALID_ARG, "nn_model_layer_info: model is NULL");
    if (index >= (uint32_t)m->n_layers)
        return nni_error(NN_E_INVALID_ARG, "layer index %u is out of range (the model has %d)", index, (int)m->n_layers);
    const nni_node *n = &m->graph.nodes[m->layers[index]];
    if (name)
        *name = n->name;
    if (op_type)
        *op_type = n->op_type;
    return NN_OK;
}

NN_API uint64_t nn_model_param_count(const nn_model *m)
{
    uint64_t total = 0;
    if (!m)
        return 0;
    for (int32_t v = 0; v < m->graph.n_values; v++) {
        const nni_value *val = &m->graph.values[v];
        if (val->constant && val->is_param)
            total += (uint64_t)nni_tensor_count(val->constant);
    }
    return total;
}

NN_API nn_status nn_model_macs(const nn_model *m, uint64_t *macs)
{
    nni_error_clear();
    if (!m || !macs)
        return nni_error(NN_E_INVALID_ARG, "nn_model_macs: model or macs is NULL");
    const nni_graph *g = &m->graph;
    nn_tensor *shapes = nni_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *shapes);
    const nn_tensor **ptrs = nni_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *ptrs);
    nn_status st = NN_OK;
    if (!shapes || !ptrs) {
        st = nni_error(NN_E_NOMEM, "nn_model_macs: out of memory");
        goto done;
    }
    for (int32_t i = 0; i < g->n_inputs; i++) {
        const nni_value *v = &g->values[g->inputs[i]];
        int64_t dims[NN_MAX_RANK];
        int32_t rank = v->info.rank < 0 ? 0 : v->info.rank;
        for (int32_t d = 0; d < rank; d++)
            dims[d] = v->info.dims[d] < 0 ? 1 : v->info.dims[d];
        if ((st = nni_tensor_set_shape(&shapes[i], v->info.dtype, rank, dims)) != NN_OK)
            goto done;
        ptrs[i] = &shapes[i];
    }
    nni_plan p;
    if ((st = nni_plan_build(g, ptrs, 1 << 16, &p)) != NN_OK)
        goto done;
    *macs = p.macs;
    nni_plan_free(&p);
done:
    nni_free(shapes);
    nni_free(ptrs);
    return st;
}

NN_API const char *nn_model_metadata(const nn_model *m, const char *key)
{
    if (!m || !key)
        return NULL;
    return nni_graph_meta(&m->graph, key);
}
