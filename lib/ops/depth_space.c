/* depth_space.c — DepthToSpace and SpaceToDepth: move channel blocks to and from spatial blocks. */
#include <string.h>

#include "kernels/strided.h"
#include "ops/movement.h"

typedef struct {
    int64_t block;
    bool crd; /* DepthToSpace mode CRD (else DCR) */
} ds_state;

static nn_status ds_prepare(nni_opctx *c)
{
    ds_state *s = c->state;
    const char *mode;
    if (!nni_node_attr(c->node, "blocksize"))
        return nni_error(NN_E_INVALID_MODEL, "%s: the 'blocksize' attribute is required", c->node->op_type);
    nn_status st = nni_attr_int(c->node, "blocksize", 0, &s->block);
    if (st == NN_OK)
        st = nni_attr_string(c->node, "mode", "DCR", &mode);
    if (st != NN_OK)
        return st;
    if (s->block < 1 || s->block > (1 << 20))
        return nni_error(NN_E_INVALID_MODEL, "%s: 'blocksize' %lld is invalid", c->node->op_type, (long long)s->block);
    if (strcmp(mode, "CRD") == 0)
        s->crd = true;
    else if (strcmp(mode, "DCR") != 0)
        return nni_error(NN_E_INVALID_MODEL, "DepthToSpace: unknown 'mode' \"%s\"", mode);
    return NN_OK;
}

static nn_status d2s_infer(nni_opctx *c)
{
    const ds_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t b = s->block, bb = b * b;
    if (x->rank != 4)
        return nni_error(NN_E_SHAPE, "DepthToSpace: the input must be 4-D (NCHW), got rank %d", (int)x->rank);
    if (x->dims[1] % bb != 0)
        return nni_error(NN_E_SHAPE, "DepthToSpace: %lld channels do not divide by blocksize^2 = %lld",
                         (long long)x->dims[1], (long long)bb);
    int64_t dims[4] = {x->dims[0], x->dims[1] / bb, 0, 0};
    if (nni_mul_overflow_i64(x->dims[2], b, &dims[2]) || nni_mul_overflow_i64(x->dims[3], b, &dims[3]))
        return nni_error(NN_E_LIMIT, "DepthToSpace: the output size overflows");
    return nni_out_shape(c, 0, x->dtype, 4, dims);
}

static nn_status d2s_run(nni_opctx *c)
{
    const ds_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (x->nbytes == 0)
        return NN_OK;
    int64_t N = x->dims[0], b = s->block, C = x->dims[1] / (b * b), H = x->dims[2], W = x->dims[3];
    /* output viewed as [N, C, H, b1, W, b2]; input channel = DCR: (b1*b + b2)*C + c, CRD: c*b*b + b1*b + b2 */
    int64_t hw = H * W;
    int64_t dims[6] = {N, C, H, b, W, b};
    int64_t strides[6] = {C * b * b * hw, s->crd ? b * b * hw : hw, W, s->crd ? b * hw : b * C * hw, 1,
                          s->crd ? hw : C * hw};
    nni_strided_copy(c->out[0]->data, x->data, nn_dtype_size(x->dtype), 6, dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_depth_to_space = {
    .name = "DepthToSpace", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(ds_state),
    .prepare = ds_prepare, .infer = d2s_infer, .run = d2s_run,
};

static nn_status s2d_infer(nni_opctx *c)
{
    const ds_state *s = c->state;
    const nn_tensor *x = c->in[0];
    int64_t b = s->block;
    if (x->rank != 4)
        return nni_error(NN_E_SHAPE, "SpaceToDepth: the input must be 4-D (NCHW), got rank %d", (int)x->rank);
    if (x->dims[2] % b != 0 || x->dims[3] % b != 0)
        return nni_error(NN_E_SHAPE, "SpaceToDepth: spatial size %lldx%lld does not divide by blocksize %lld",
                         (long long)x->dims[2], (long long)x->dims[3], (long long)b);
    int64_t dims[4] = {x->dims[0], 0, x->dims[2] / b, x->dims[3] / b};
    if (nni_mul_overflow_i64(x->dims[1], b * b, &dims[1]))
        return nni_error(NN_E_LIMIT, "SpaceToDepth: the output size overflows");
    return nni_out_shape(c, 0, x->dtype, 4, dims);
}

static nn_status s2d_run(nni_opctx *c)
{
    const ds_state *s = c->state;
    const nn_tensor *x = c->in[0];
    if (x->nbytes == 0)
        return NN_OK;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3], b = s->block;
    /* output channel = (b1*b + b2)*C + c: viewed as [N, b1, b2, C, H/b, W/b] */
    int64_t dims[6] = {N, b, b, C, H / b, W / b};
    int64_t strides[6] = {C * H * W, W, 1, H * W, b * W, b};
    nni_strided_copy(c->out[0]->data, x->data, nn_dtype_size(x->dtype), 6, dims, strides, c->pool);
    return NN_OK;
}

const nni_op_desc nni_op_space_to_depth = {
    .name = "SpaceToDepth", .min_in = 1, .max_in = 1, .min_out = 1, .max_out = 1,
    .state_size = sizeof(ds_state),
    .prepare = ds_prepare, .infer = s2d_infer, .run = s2d_run,
};
