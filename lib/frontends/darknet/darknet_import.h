/* darknet_import.h — the darknet frontend's entry points (.cfg + .weights). */
#ifndef NNI_DARKNET_IMPORT_H
#define NNI_DARKNET_IMPORT_H

#include "ir/graph.h"

/** The default-domain opset the darknet frontend's graphs use. */
#define NNI_DARKNET_OPSET 13

/** True when the bytes look like a darknet cfg ("[net]"/"[network]" first). */
bool nni_darknet_sniff(const uint8_t *bytes, size_t size);

/**
 * Build `g` (initialised, empty) from darknet cfg text and its weights file.
 * @param weights_path the .weights file (may be NULL when the cfg has no weights)
 * @param labels_path  class names, one per line (becomes nn.labels); NULL or
 *                     a missing file = none
 */
nn_status nni_darknet_import(const uint8_t *cfg, size_t size, const char *weights_path, const char *labels_path,
                             const nn_load_options *opts, nni_graph *g);

#endif
