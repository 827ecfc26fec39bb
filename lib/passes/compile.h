/* compile.h — load-time passes that turn an imported graph into a runnable one,
 * and re-inference after an edit. */
#ifndef NNI_COMPILE_H
#define NNI_COMPILE_H

#include "ir/graph.h"

/**
 * Order the nodes, let each op parse its attributes, fold every subgraph whose
 * inputs are all constant (and, when all input shapes are fixed, shape
 * computations), remove dead nodes and unused initializers, and record the
 * static shape of every value that has one.
 */
nn_status nni_graph_compile(nni_graph *g);

/**
 * Check each node's input and output counts and let its op parse its
 * attributes (nodes that have a state already are skipped). Part of
 * nni_graph_compile; If runs it on its branches.
 */
nn_status nni_graph_prepare(nni_graph *g);

#define NNI_EDIT_MAX_TENSORS 4

/** A change to a compiled graph, applied only if the graph still infers with it. */
typedef struct nni_edit {
    int32_t n;                    /* constants replaced */
    int32_t value[NNI_EDIT_MAX_TENSORS]; /* their value indices */
    nn_tensor *tensor[NNI_EDIT_MAX_TENSORS]; /* new constants; owned by the edit until committed */
    int32_t input;                /* graph input whose shape changes, or -1 */
    nn_tensor input_info;         /* its new dtype and shape (-1 = symbolic), no data */
    char *input_sym[NN_MAX_RANK]; /* names of its symbolic dims; owned until committed */
} nni_edit;

/**
 * Apply `e` to a compiled graph: recompute every constant that was folded
 * from input shapes, re-infer all shapes (and, for symbolic inputs, check the
 * graph with the symbols taken as 1 and refresh the outputs' declared shapes),
 * fold again and remove what became dead. On failure (NN_E_SHAPE naming the
 * node that cannot take the change, NN_E_NOMEM...) the graph is unchanged and
 * the edit still owns its tensors; on success it owns nothing.
 */
nn_status nni_graph_reinfer(nni_graph *g, nni_edit *e);
/** Free what an edit still owns and reset it (input = -1). */
void nni_edit_free(nni_edit *e);

#endif
