/* grad_registry.c — lookup of backward functions by ONNX op type, from grad.def. */
#include <string.h>

#include "train/grad.h"

#define NNI_GRAD(name, fn) nn_status fn(nni_gradctx *g);
#include "train/grad.def"
#undef NNI_GRAD

typedef struct {
    const char *name;
    nni_grad_fn fn;
} grad_entry;

static const grad_entry grad_table[] = {
#define NNI_GRAD(name, fn) {#name, fn},
#include "train/grad.def"
#undef NNI_GRAD
    {NULL, NULL},
};

nni_grad_fn nni_grad_find(const char *op_type)
{
    for (const grad_entry *e = grad_table; e->name; e++)
        if (strcmp(e->name, op_type) == 0)
            return e->fn;
    return NULL;
}
