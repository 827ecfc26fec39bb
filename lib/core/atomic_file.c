/*
 * atomic_file.c — replace a file all at once: write a temporary file in the
 * same folder, flush it to disk, then rename() it over the target. A crash,
 * a full disk or a failed write leaves the old file (if any) untouched and no
 * temporary behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file.h"

static _Atomic uint32_t tmp_counter;

nn_status nni_atomic_file_open(nni_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof *af);
    size_t len = strlen(path);
    if (len == 0)
        return nni_error(NN_E_INVALID_ARG, "the file path is empty");
    if (path[len - 1] == '/')
        return nni_error(NN_E_INVALID_ARG, "'%s' is a folder, not a file path", path);
    af->path = nni_strdup(path);
    af->tmp_path = nni_malloc(len + 48);
    if (!af->path || !af->tmp_path) {
        nni_atomic_file_abort(af);
        return nni_error(NN_E_NOMEM, "cannot allocate the path of '%s'", path);
    }
    /* O_EXCL with a fresh name per attempt: never follows or clobbers another
     * writer's temporary; mode 0666 lets the umask decide, like fopen. */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(af->tmp_path, len + 48, "%s.tmp-%ld-%u", path, (long)getpid(),
                 (unsigned)atomic_fetch_add_explicit(&tmp_counter, 1, memory_order_relaxed));
        fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int err = errno;
        nni_free(af->tmp_path);
        af->tmp_path = NULL;
        nni_atomic_file_abort(af);
        return nni_error(NN_E_IO, "cannot create a temporary file next to '%s': %s", path, strerror(err));
    }
    /* keep the permissions of the file being replaced */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
        (void)fchmod(fd, sb.st_mode & 07777);
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int err = errno;
        close(fd);
        nni_atomic_file_abort(af);
        return nni_error(NN_E_IO, "cannot open a temporary file next to '%s': %s", path, strerror(err));
    }
    return NN_OK;
}

void nni_atomic_file_write(nni_atomic_file *af, const void *data, size_t size)
{
    if (af->err || size == 0)
        return;
    if (fwrite(data, 1, size, af->f) != size)
        af->err = errno ? errno : EIO;
}

nn_status nni_atomic_file_commit(nni_atomic_file *af)
{
    int err = af->err;
    if (!err && fflush(af->f) != 0)
        err = errno ? errno : EIO;
    if (!err && fsync(fileno(af->f)) != 0 && errno != EINVAL && errno != EROFS)
        err = errno;
    int close_rc = fclose(af->f);
    af->f = NULL;
    if (!err && close_rc != 0)
        err = errno ? errno : EIO;
    if (!err && rename(af->tmp_path, af->path) != 0)
        err = errno;
    if (err) {
        nn_status st = nni_error(NN_E_IO, "cannot write '%s': %s (the previous file, if any, is unchanged)", af->path,
                                 strerror(err));
        nni_atomic_file_abort(af);
        return st;
    }
    /* make the rename itself durable (best effort: not every filesystem allows it) */
    char *slash = strrchr(af->path, '/');
    if (slash)
        slash == af->path ? (void)(slash[1] = '\0') : (void)(*slash = '\0');
    int dfd = open(slash ? af->path : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    nni_free(af->tmp_path);
    af->tmp_path = NULL;
    nni_atomic_file_abort(af);
    return NN_OK;
}

void nni_atomic_file_abort(nni_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp_path)
        unlink(af->tmp_path);
    nni_free(af->tmp_path);
    nni_free(af->path);
    memset(af, 0, sizeof *af);
}
