/* compile.h — load-time passes that turn an imported graph into a runnable one. */
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

#endif
