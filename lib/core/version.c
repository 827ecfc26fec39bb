/* version.c — the running library's version. */
#include "core/common.h"

#define NNI_STR2(x) #x
#define NNI_STR(x) NNI_STR2(x)

NN_API const char *nn_version(void)
{
    return NNI_STR(NN_VERSION_MAJOR) "." NNI_STR(NN_VERSION_MINOR) "." NNI_STR(NN_VERSION_PATCH);
}

NN_API uint32_t nn_version_number(void) { return NN_VERSION_NUMBER; }
