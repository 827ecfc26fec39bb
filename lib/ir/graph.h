/*
 * graph.h — the intermediate representation: values, nodes and attributes.
 * Frontends (ONNX, darknet) build it; passes and the executor read it. It
 * holds no math.
 */
#ifndef NNI_GRAPH_H
#define NNI_GRAPH_H

#include "tensor/tensor.h"

struct nni_op_desc;

typedef enum nni_attr_type {
    NNI_ATTR_UNDEFINED = 0,
    NNI_ATTR_FLOAT = 1,
    NNI_ATTR_INT = 2,
    NNI_ATTR_STRING = 3,
    NNI_ATTR_TENSOR = 4,
    NNI_ATTR_GRAPH = 5,
    NNI_ATTR_FLOATS = 6,
    NNI_ATTR_INTS = 7,
    NNI_ATTR_STRINGS = 8,
} nni_attr_type;

typedef struct nni_attr {
    char *name;
    nni_attr_type type;
    float f;
    int64_t i;
    char *s;           /* STRING (NUL-terminated copy) */
    size_t n;          /* element count of floats/ints/strings */
    float *floats;
    int64_t *ints;
    char **strings;
    nn_tensor *t;      /* TENSOR */
    struct nni_graph *g; /* GRAPH (If branches), owned */
} nni_attr;

/* A symbolic dimension name is kept per input/output dim for introspection. */
typedef struct nni_value {
    char *name;
    nn_tensor info;    /* dtype + shape; info.data is unused */
    bool shape_known;  /* rank and every dim known (after load-time inference) */
    char *dim_sym[NN_MAX_RANK]; /* symbolic names (graph inputs/outputs), may be NULL */
    nn_tensor *constant; /* initializer or load-time folded value, owned; NULL if computed */
    int32_t producer;  /* index of the producing node, -1 for inputs/constants */
    bool is_input;     /* fed by the caller */
    bool is_output;
    bool is_param;     /* a float initializer: trainable */
    float lr_factor;   /* learn-rate factor of a parameter: 0 = frozen, 1 = normal (nn_freeze) */
    bool shape_folded; /* constant folded at load from input *shapes* (Shape chains): recomputed
                          when an input shape changes; kept set after the constant is freed */
    bool is_new_head;  /* created by nn_replace_head: trainable even under a full freeze */
} nni_value;

typedef struct nni_node {
    char *name;
    char *op_type;
    char *domain;
    const struct nni_op_desc *op;
    int32_t n_in, n_out;
    int32_t *in;       /* value indices, -1 for an absent optional input */
    int32_t *out;
    int32_t n_attr;
    nni_attr *attrs;
    void *state;       /* op's parsed attributes (op->state_size bytes), owned */
    int32_t n_implicit; /* the last n_implicit inputs are the values its subgraphs read from the enclosing
                           scope (their graphs' `captures`, in attribute order): not ONNX inputs */
    bool dead;         /* removed by folding */
} nni_node;

typedef struct nni_graph {
    nni_value *values;
    int32_t n_values, cap_values;
    nni_node *nodes;   /* kept in topological order after nni_graph_toposort */
    int32_t n_nodes, cap_nodes;
    int32_t *inputs;   /* caller-fed graph inputs, in graph order */
    int32_t n_inputs;
    int32_t *outputs;
    int32_t n_outputs;
    int64_t opset;     /* default-domain opset */
    char **meta_keys, **meta_values;
    int32_t n_meta;
    char *name;
    /* A subgraph (an If branch): the values it reads from the enclosing scope, marked is_input and
     * fed by the owning node's implicit inputs in this order. */
    int32_t *captures;
    int32_t n_captures;
    nni_limits limits; /* from the load options; all 0 (none) for graphs built in tests */
    /* name -> value index (open addressing, -1 = empty), kept by nni_graph_value;
     * NULL or stale (index_n != n_values) means lookups scan the values */
    int32_t *index;
    int32_t index_cap, index_n;
    uint64_t index_seed;
} nni_graph;

nn_status nni_graph_init(nni_graph *g);
void nni_graph_free(nni_graph *g);
/** Find a value by name; -1 if absent. */
int32_t nni_graph_find_value(const nni_graph *g, const char *name);
/** Find or create a value by name; returns index or negative status. */
int32_t nni_graph_value(nni_graph *g, const char *name);
/** Append a node (arrays are taken over by the graph); returns its index or a negative status. */
nn_status nni_graph_add_node(nni_graph *g, nni_node *node, int32_t *index);
/** Order nodes topologically; refuses cycles and values used before being produced. */
nn_status nni_graph_toposort(nni_graph *g);
nn_status nni_graph_add_meta(nni_graph *g, const char *key, const char *value);
const char *nni_graph_meta(const nni_graph *g, const char *key);
/** Remove a metadata key (no-op when absent). */
void nni_graph_remove_meta(nni_graph *g, const char *key);
void nni_attr_free(nni_attr *a);
void nni_node_free(nni_node *n);

/* ---- attribute access for ops ---- */
const nni_attr *nni_node_attr(const nni_node *n, const char *name);
/** Integer attribute or `def` when absent; NN_E_INVALID_MODEL when of another type. */
nn_status nni_attr_int(const nni_node *n, const char *name, int64_t def, int64_t *out);
nn_status nni_attr_float(const nni_node *n, const char *name, float def, float *out);
/** String attribute (borrowed) or `def`. */
nn_status nni_attr_string(const nni_node *n, const char *name, const char *def, const char **out);
/** Ints attribute: *out borrowed, *count = 0 and *out = NULL when absent. */
nn_status nni_attr_ints(const nni_node *n, const char *name, const int64_t **out, size_t *count);
nn_status nni_attr_floats(const nni_node *n, const char *name, const float **out, size_t *count);

#endif
