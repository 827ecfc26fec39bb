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
    nni_memo *memo;    /* derived constants (transformed weights) shared by sessions */
};

#endif
