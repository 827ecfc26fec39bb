/* dn_emit.c — appending typed nodes and constants to an IR graph. */
#include <string.h>

#include "frontends/darknet/dn_emit.h"
#include "ops/op.h"

static nn_status fill_attr(nni_attr *a, const nni_dn_attr *spec)
{
    memset(a, 0, sizeof *a);
    if (!(a->name = nni_strdup(spec->name)))
        return nni_error(NN_E_NOMEM, "cannot copy an attribute name");
    a->type = spec->type;
    switch (spec->type) {
    case NNI_ATTR_INT: a->i = spec->i; break;
    case NNI_ATTR_FLOAT: a->f = spec->f; break;
    case NNI_ATTR_STRING:
        if (!(a->s = nni_strdup(spec->s)))
            return nni_error(NN_E_NOMEM, "cannot copy an attribute");
        break;
    case NNI_ATTR_INTS:
        a->n = (size_t)spec->n;
        if (!(a->ints = nni_malloc((a->n ? a->n : 1) * sizeof(int64_t))))
            return nni_error(NN_E_NOMEM, "cannot copy an attribute");
        if (a->n)
            memcpy(a->ints, spec->ints, a->n * sizeof(int64_t));
        break;
    default: return nni_error(NN_E_INTERNAL, "attribute '%s' has an unexpected type", spec->name);
    }
    return NN_OK;
}

nn_status nni_dn_emit(nni_graph *g, const char *op_type, const char *name, int32_t n_in, const int32_t *in,
                      int32_t n_attr, const nni_dn_attr *attrs, int32_t *out)
{
    nni_node n;
    memset(&n, 0, sizeof n);
    nn_status st = NN_OK;
    if (nni_graph_find_value(g, name) >= 0)
        return nni_error(NN_E_INTERNAL, "value name '%s' is used twice", name);
    n.op = nni_op_find(op_type);
    if (!n.op)
        return nni_error(NN_E_UNSUPPORTED, "operator '%s' (needed for '%s') is not supported by this build", op_type,
                         name);
    n.name = nni_strdup(name);
    n.op_type = nni_strdup(op_type);
    n.domain = nni_strdup("");
    n.in = nni_malloc((size_t)(n_in ? n_in : 1) * sizeof(int32_t));
    n.out = nni_malloc(sizeof(int32_t));
    n.attrs = nni_calloc((size_t)(n_attr ? n_attr : 1), sizeof(nni_attr));
    if (!n.name || !n.op_type || !n.domain || !n.in || !n.out || !n.attrs) {
        st = nni_error(NN_E_NOMEM, "cannot allocate node '%s'", name);
        goto fail;
    }
    n.n_in = n_in;
    if (n_in)
        memcpy(n.in, in, (size_t)n_in * sizeof(int32_t));
    for (int32_t i = 0; i < n_attr; i++) {
        n.n_attr = i + 1;
        if ((st = fill_attr(&n.attrs[i], &attrs[i])) != NN_OK)
            goto fail;
    }
    int32_t v = nni_graph_value(g, name);
    if (v < 0) {
        st = v;
        goto fail;
    }
    n.n_out = 1;
    n.out[0] = v;
    if ((st = nni_graph_add_node(g, &n, NULL)) != NN_OK)
        goto fail;
    *out = v;
    return NN_OK;
fail:
    nni_node_free(&n);
    return st;
}

nn_status nni_dn_const(nni_graph *g, const char *name, nn_dtype dtype, int32_t rank, const int64_t *dims, bool param,
                       int32_t *out, void **data)
{
    if (nni_graph_find_value(g, name) >= 0)
        return nni_error(NN_E_INTERNAL, "value name '%s' is used twice", name);
    nn_tensor *t = NULL;
    nn_status st = nni_tensor_new(dtype, rank, dims, &t);
    if (st != NN_OK)
        return nni_error_prefix(st, "constant '%s'", name);
    int32_t v = nni_graph_value(g, name);
    if (v < 0) {
        nn_tensor_free(t);
        return v;
    }
    nni_value *val = &g->values[v];
    val->constant = t;
    if ((st = nni_tensor_set_shape(&val->info, dtype, rank, dims)) != NN_OK)
        return st;
    val->shape_known = true;
    val->is_param = param && dtype == NN_DTYPE_FLOAT32;
    *out = v;
    if (data)
        *data = t->data;
    return NN_OK;
}

nn_status nni_dn_const_i64(nni_graph *g, const char *name, int32_t n, const int64_t *vals, int32_t *out)
{
    void *data = NULL;
    int64_t dims[1] = {n};
    nn_status st = nni_dn_const(g, name, NN_DTYPE_INT64, 1, dims, false, out, &data);
    if (st == NN_OK && n)
        memcpy(data, vals, (size_t)n * sizeof(int64_t));
    return st;
}

nn_status nni_dn_const_f32(nni_graph *g, const char *name, int32_t n, const float *vals, int32_t *out)
{
    void *data = NULL;
    int64_t dims[1] = {n};
    nn_status st = nni_dn_const(g, name, NN_DTYPE_FLOAT32, 1, dims, false, out, &data);
    if (st == NN_OK && n)
        memcpy(data, vals, (size_t)n * sizeof(float));
    return st;
}
