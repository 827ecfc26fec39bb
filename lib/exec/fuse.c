/*
 * fuse.c — inference-only fusion inside an execution plan. The graph keeps
 * every node (training, editing and saving see the model as loaded); a plan
 * built with NNI_PLAN_FUSE runs these chains as one step:
 *   Conv [-> BatchNormalization] [-> Add(residual)] [-> activation]
 *   Gemm [-> Add(residual)] [-> activation]
 *   BatchNormalization -> activation
 * (what each op accepts is in its NNI_OP_FUSE_* flags) when every
 * intermediate value feeds only the next node of the chain and is not a graph
 * output. The fused step runs where the chain's last node ran (the residual
 * may be computed in between) and writes that node's output; the
 * intermediates are never materialized. Then a 1x1 Conv step read only by a
 * depthwise Conv step that can compute it (see fuse_pointwise_depthwise) is
 * absorbed by that step.
 */
#include <string.h>

#include "exec/plan.h"
#include "ops/fusion.h"

/* A value the fused step can read at run time: computed, fed or constant. */
static bool materialized(const nni_plan *p, int32_t v)
{
    uint8_t s = p->state[v];
    return s == NNI_VAL_CONST || s == NNI_VAL_FOLDED || s == NNI_VAL_INPUT || s == NNI_VAL_ARENA;
}

/* Outputs 1.. of node n are absent or unread. */
static bool extra_outputs_unused(const nni_node *n, const int32_t *uses)
{
    for (int32_t k = 1; k < n->n_out; k++)
        if (n->out[k] >= 0 && uses[n->out[k]] > 0)
            return false;
    return true;
}

/* BatchNormalization node bn over value v (N, C, ...): its parameters are C floats each. */
static bool bn_params_ok(const nni_plan *p, const nni_node *bn, int32_t v)
{
    const nn_tensor *x = &p->vals[v];
    if (x->rank < 2)
        return false;
    for (int32_t k = 1; k < 5; k++) {
        int32_t pv = bn->in[k];
        if (pv < 0 || !materialized(p, pv) || p->vals[pv].dtype != NN_DTYPE_FLOAT32 ||
            nni_tensor_count(&p->vals[pv]) != x->dims[1])
            return false;
    }
    return true;
}

static bool constant(const nni_plan *p, int32_t v)
{
    return v >= 0 && (p->state[v] == NNI_VAL_CONST || p->state[v] == NNI_VAL_FOLDED);
}

/*
 * A 1x1 Conv step (with its BatchNormalization and activation, no residual)
 * whose output only a depthwise Conv reads is absorbed by that step, which
 * computes the output a few channels at a time (MobileNet's expand +
 * depthwise: the expanded activations, 6x the block's width, are never
 * written out whole and read back). uses: readers of each value, as counted by
 * nni_plan_fuse (fusing moves reads between steps, it does not add any).
 */
static nn_status fuse_pointwise_depthwise(const nni_graph *g, nni_plan *p, const int32_t *uses)
{
    const int32_t ns = p->n_steps;
    size_t nv = (size_t)(p->n_values ? p->n_values : 1);
    int32_t *producer = nni_malloc(nv * sizeof *producer);
    uint8_t *drop = nni_calloc((size_t)ns, 1);
    nni_step_fusion *fu = p->fusion ? p->fusion : nni_malloc((size_t)ns * sizeof *fu);
    nn_status st = NN_OK;
    if (!producer || !drop || !fu) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the fusion plan");
        goto done;
    }
    if (!p->fusion)
        for (int32_t s = 0; s < ns; s++)
            fu[s] = (nni_step_fusion){.out = -1, .bn = -1, .residual = -1, .pw = -1, .pw_bn = -1};
    for (size_t v = 0; v < nv; v++)
        producer[v] = -1;
    for (int32_t s = 0; s < ns; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        const int32_t w = fu[s].out >= 0 ? fu[s].out : n->n_out > 0 ? n->out[0] : -1;
        if (w >= 0)
            producer[w] = s;
    }
    bool any = false;
    for (int32_t t = 0; t < ns; t++) {
        const nni_node *dw = &g->nodes[p->steps[t]];
        const int32_t v = dw->n_in > 0 ? dw->in[0] : -1;
        if (strcmp(dw->op_type, "Conv") != 0 || p->dynamic[t] || v < 0 || p->state[v] != NNI_VAL_ARENA ||
            uses[v] != 1 || producer[v] < 0 || producer[v] >= t)
            continue;
        const int32_t s = producer[v];
        const nni_node *pw = &g->nodes[p->steps[s]];
        if (strcmp(pw->op_type, "Conv") != 0 || p->dynamic[s] || drop[s] || fu[s].residual >= 0 || fu[s].pw >= 0 ||
            pw->n_in < 2 || !materialized(p, pw->in[0]) || !constant(p, pw->in[1]) ||
            (pw->n_in > 2 && pw->in[2] >= 0 && !constant(p, pw->in[2])))
            continue;
        nn_tensor *pw_in[3] = {NULL, NULL, NULL}, *dw_in[3] = {NULL, NULL, NULL};
        for (int32_t k = 0; k < 3; k++) {
            pw_in[k] = k < pw->n_in && pw->in[k] >= 0 ? &p->vals[pw->in[k]] : NULL;
            dw_in[k] = k < dw->n_in && dw->in[k] >= 0 ? &p->vals[dw->in[k]] : NULL;
        }
        if (!nni_conv_pw_dw_fusable(pw, pw_in, dw, dw_in))
            continue;
        if (fu[t].out < 0)
            fu[t].out = dw->out[0];
        fu[t].pw = p->steps[s];
        fu[t].pw_bn = fu[s].out >= 0 ? fu[s].bn : -1;
        fu[t].pw_act = fu[s].out >= 0 ? fu[s].act : 0;
        fu[t].pw_alpha = fu[s].alpha;
        fu[t].pw_beta = fu[s].beta;
        p->state[v] = NNI_VAL_FUSED;
        drop[s] = 1;
        any = true;
    }
    if (any) {
        int32_t m = 0;
        for (int32_t s = 0; s < ns; s++) {
            if (drop[s])
                continue;
            p->steps[m] = p->steps[s];
            p->dynamic[m] = p->dynamic[s];
            fu[m] = fu[s];
            m++;
        }
        p->n_steps = m;
        p->fusion = fu;
        fu = NULL;
    }
done:
    if (fu != p->fusion)
        nni_free(fu);
    nni_free(producer);
    nni_free(drop);
    return st;
}

nn_status nni_plan_fuse(const nni_graph *g, nni_plan *p)
{
    const int32_t ns = p->n_steps;
    if (ns == 0)
        return NN_OK;
    size_t nv = (size_t)(p->n_values ? p->n_values : 1);
    int32_t *uses = nni_calloc(nv, sizeof *uses), *user = nni_malloc(nv * sizeof *user);
    int32_t *absorbed_by = nni_malloc((size_t)ns * sizeof *absorbed_by), *emit_at = nni_malloc((size_t)ns * sizeof *emit_at);
    nni_step_fusion *fu = nni_malloc((size_t)ns * sizeof *fu), *out_fu = nni_malloc((size_t)ns * sizeof *out_fu);
    int32_t *steps = nni_malloc((size_t)ns * sizeof *steps);
    uint8_t *dyn = nni_malloc((size_t)ns);
    nn_status st = NN_OK;
    if (!uses || !user || !absorbed_by || !emit_at || !fu || !out_fu || !steps || !dyn) {
        st = nni_error(NN_E_NOMEM, "cannot allocate the fusion plan");
        goto done;
    }
    for (int32_t i = 0; i < g->n_outputs; i++)
        uses[g->outputs[i]] += 2; /* graph outputs are always materialized */
    for (int32_t s = 0; s < ns; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        for (int32_t k = 0; k < n->n_in; k++)
            if (n->in[k] >= 0) {
                uses[n->in[k]]++;
                user[n->in[k]] = s;
            }
        absorbed_by[s] = emit_at[s] = -1;
        fu[s] = (nni_step_fusion){.out = -1, .bn = -1, .residual = -1, .pw = -1, .pw_bn = -1};
    }
    for (int32_t s = 0; s < ns; s++) {
        const nni_node *n = &g->nodes[p->steps[s]];
        const uint32_t flags = n->op->flags & (NNI_OP_FUSE_BN | NNI_OP_FUSE_RESIDUAL | NNI_OP_FUSE_ACT);
        if (!flags || p->dynamic[s] || absorbed_by[s] >= 0 || n->n_out < 1 || n->out[0] < 0 ||
            !extra_outputs_unused(n, uses))
            continue;
        int32_t v = n->out[0];
        if (p->state[v] != NNI_VAL_ARENA || p->vals[v].dtype != NN_DTYPE_FLOAT32)
            continue;
        float eps;
        if (strcmp(n->op_type, "BatchNormalization") == 0 && !nni_batchnorm_is_inference(n, g->opset, &eps))
            continue;
        nni_step_fusion f = {.out = -1, .bn = -1, .residual = -1, .pw = -1, .pw_bn = -1};
        int32_t chain[3], nch = 0, stage = 0; /* stage: 0 BN, 1 residual, 2 activation, 3 done */
        while (stage < 3 && uses[v] == 1) {
            const int32_t fs = user[v];
            const nni_node *fn = &g->nodes[p->steps[fs]];
            if (fs <= s || p->dynamic[fs] || absorbed_by[fs] >= 0 || fn->n_out < 1 || fn->out[0] < 0 ||
                !extra_outputs_unused(fn, uses))
                break;
            const int32_t w = fn->out[0];
            if (p->state[w] != NNI_VAL_ARENA || p->vals[w].dtype != NN_DTYPE_FLOAT32 ||
                !nni_same_shape(&p->vals[w], &p->vals[v]))
                break;
            if (stage == 0 && (flags & NNI_OP_FUSE_BN) && strcmp(fn->op_type, "BatchNormalization") == 0 &&
                fn->in[0] == v && nni_batchnorm_is_inference(fn, g->opset, &eps) && bn_params_ok(p, fn, v)) {
                f.bn = p->steps[fs];
                stage = 1;
            } else if (stage <= 1 && (flags & NNI_OP_FUSE_RESIDUAL) && strcmp(fn->op_type, "Add") == 0 &&
                       fn->n_in == 2) {
                int32_t r = fn->in[0] == v ? fn->in[1] : fn->in[1] == v ? fn->in[0] : -1;
                if (r < 0 || r == v || !materialized(p, r) || p->vals[r].dtype != NN_DTYPE_FLOAT32 ||
                    !nni_same_shape(&p->vals[r], &p->vals[v]))
                    break;
                f.residual = r;
                stage = 2;
            } else if (stage <= 2 && (flags & NNI_OP_FUSE_ACT) && fn->n_in >= 1 && fn->in[0] == v) {
                nn_tensor *ins[3] = {NULL, NULL, NULL};
                for (int32_t k = 0; k < fn->n_in && k < 3; k++)
                    ins[k] = fn->in[k] >= 0 ? &p->vals[fn->in[k]] : NULL;
                for (int32_t k = 1; k < fn->n_in && k < 3; k++)
                    if (ins[k] && !(p->state[fn->in[k]] == NNI_VAL_CONST || p->state[fn->in[k]] == NNI_VAL_FOLDED))
                        ins[k] = NULL, stage = 4; /* Clip bounds known only at run time */
                if (stage == 4 || fn->n_in > 3 || !nni_unary_as_act(fn, g->opset, ins, &f.act, &f.alpha, &f.beta))
                    break;
                stage = 3;
            } else {
                break;
            }
            chain[nch++] = fs;
            v = w;
        }
        if (nch == 0)
            continue;
        f.out = v;
        /* the primary's output and every follower's but the last are never materialized */
        p->state[n->out[0]] = NNI_VAL_FUSED;
        for (int32_t i = 0; i < nch; i++) {
            absorbed_by[chain[i]] = s;
            if (i + 1 < nch)
                p->state[g->nodes[p->steps[chain[i]]].out[0]] = NNI_VAL_FUSED;
        }
        emit_at[chain[nch - 1]] = s;
        fu[s] = f;
    }
    /* the new step order: a fused step where its chain's last node was */
    int32_t m = 0;
    bool any = false;
    for (int32_t s = 0; s < ns; s++) {
        int32_t src = s;
        if (emit_at[s] >= 0) {
            src = emit_at[s];
            any = true;
        } else if (absorbed_by[s] >= 0 || fu[s].out >= 0) {
            continue;
        }
        steps[m] = p->steps[src];
        dyn[m] = p->dynamic[src];
        out_fu[m] = fu[src];
        m++;
    }
    if (any) {
        memcpy(p->steps, steps, (size_t)m * sizeof *steps);
        memcpy(p->dynamic, dyn, (size_t)m);
        p->n_steps = m;
        p->fusion = out_fu;
        out_fu = NULL;
    }
    st = fuse_pointwise_depthwise(g, p, uses);
done:
    nni_free(uses);
    nni_free(user);
    nni_free(absorbed_by);
    nni_free(emit_at);
    nni_free(fu);
    nni_free(out_fu);
    nni_free(steps);
    nni_free(dyn);
    return st;
}
