/* atomic_file.h — write a file so that it is replaced whole or not at all. */
#ifndef NNI_ATOMIC_FILE_H
#define NNI_ATOMIC_FILE_H

#include <stdio.h>

#include "core/common.h"

typedef struct nni_atomic_file {
    FILE *f;        /* the temporary file being written */
    char *path;     /* the target */
    char *tmp_path; /* <path>.tmp-<pid>-<n>, in the same folder so rename() is atomic */
    int err;        /* first write error (errno), 0 if none */
} nni_atomic_file;

/** Create the temporary file next to `path` (NN_E_IO if the folder is not writable). */
nn_status nni_atomic_file_open(nni_atomic_file *af, const char *path);
/** Append bytes; a failure is remembered and reported by commit. */
void nni_atomic_file_write(nni_atomic_file *af, const void *data, size_t size);
/** Flush and sync the temporary, rename it over `path`; on any failure remove it (NN_E_IO). Always closes. */
nn_status nni_atomic_file_commit(nni_atomic_file *af);
/** Discard the temporary file (safe after commit or on a zeroed struct). */
void nni_atomic_file_abort(nni_atomic_file *af);

#endif
