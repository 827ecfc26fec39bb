/* file.h — opening the files nn reads (models, weights, images, labels) safely. */
#ifndef NNI_FILE_H
#define NNI_FILE_H

#include <stdio.h>

#include "core/common.h"

/**
 * Open `path` for reading only if it is a regular file. The open itself
 * never blocks (a FIFO or a device would: the check happens on the opened
 * descriptor, so the answer is about the file actually read). On success
 * *out is the stream and *size the file's size.
 * @return NN_OK; NN_E_IO naming `what` (e.g. "model") and the path when it
 *         cannot be opened or is not a regular file (folder, FIFO, device)
 */
nn_status nni_open_regular(const char *path, const char *what, FILE **out, uint64_t *size);

#endif
