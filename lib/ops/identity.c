/* identity.c — Identity (and the copy used by Dropout in inference). */
#include <string.h>

#include "ops/op.h"

static nn_status identity_infer(nni_opctx *c)
{
    const nn_tensor *x = c->in[0];
    return nni_out_shape(c, 0, x->dtype, x->rank, x->dims);
}

static nn_status identity_run(nni_opctx *c)
{
    if (c->out[0]->data != c->in[0]->data && c->in[0]->nbytes)
        memcpy(c->out[0]->data, c->in[0]->data, c->in[0]->nbytes);
    return NN_OK;
}

const nni_op_desc nni_op_identity = {
    .name = "Identity", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .infer = identity_infer, .run = identity_run,
};
