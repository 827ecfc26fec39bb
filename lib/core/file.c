/* file.c — opening the files nn reads, refusing anything but regular files without blocking on them. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

nn_status nni_open_regular(const char *path, const char *what, FILE **out, uint64_t *size)
{
    *out = NULL;
    *size = 0;
    /* O_NONBLOCK: opening a FIFO with no writer would otherwise wait forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return nni_error(NN_E_IO, "cannot open the %s '%s': %s", what, path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return nni_error(NN_E_IO, "the %s '%s' is not a regular file", what, path);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int err = errno;
        close(fd);
        return nni_error(err == ENOMEM ? NN_E_NOMEM : NN_E_IO, "cannot open the %s '%s': %s", what, path,
                         strerror(err));
    }
    *out = f;
    *size = (uint64_t)sb.st_size;
    return NN_OK;
}
