/* error.c — thread-local error messages and status strings. */
#include <stdio.h>
#include <string.h>

#include "core/common.h"

#define NNI_ERROR_CAP 1024

static _Thread_local char tls_message[NNI_ERROR_CAP];

nn_status nni_error(nn_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tls_message, sizeof tls_message, fmt, ap);
    va_end(ap);
    return status;
}

nn_status nni_error_prefix(nn_status status, const char *fmt, ...)
{
    char prefix[512];
    char old[NNI_ERROR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_message, sizeof old);
    snprintf(tls_message, sizeof tls_message, "%s: %s", prefix, old[0] ? old : nn_status_string(status));
    return status;
}

void nni_error_clear(void) { tls_message[0] = '\0'; }

NN_API const char *nn_last_error(void) { return tls_message; }

NN_API const char *nn_status_string(nn_status status)
{
    switch (status) {
    case NN_OK: return "success";
    case NN_E_INVALID_ARG: return "invalid argument";
    case NN_E_NOMEM: return "out of memory";
    case NN_E_IO: return "input/output error";
    case NN_E_PARSE: return "malformed file";
    case NN_E_INVALID_MODEL: return "invalid model";
    case NN_E_UNSUPPORTED: return "unsupported";
    case NN_E_SHAPE: return "shape mismatch";
    case NN_E_TYPE: return "type mismatch";
    case NN_E_LIMIT: return "limit exceeded";
    case NN_E_NOT_FOUND: return "not found";
    case NN_E_STATE: return "invalid state";
    case NN_E_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}
