/* model.h — the nn_model handle: an imported, compiled graph. */
#ifndef NNI_MODEL_H
#define NNI_MODEL_H

#include "exec/memo.h"
#include "ir/graph.h"

struct nn_model {
    nni_graph graph;
    nn_load_options options;
    int32_t *layers;   /* indices of live nodes, for introspection */
    int32_t n_layers;
    int32_t *params;   /* indices of parameter values (constants live nodes read) */
    int32_t n_params;
    nni_memo *memo;    /* derived constants (transformed weights) shared by sessions */
};

/** Compile an imported graph and build the layer and parameter lists. */
nn_status nni_model_finish(nn_model *m);
/** Keep the load options (not the caller's weights path) and the graph limits they set: loaded and built models alike. */
void nni_model_apply_options(nn_model *m, const nn_load_options *opts);
/** The memo and the layer and parameter lists of a model whose graph is compiled (nni_model_finish's second half). */
nn_status nni_model_index(nn_model *m);
/**
 * Rebuild the layer and parameter lists after the graph changed. The arrays
 * are sized for every node and value at load, so this cannot fail as long
 * as edits add neither.
 */
void nni_model_refresh(nn_model *m);

#endif
