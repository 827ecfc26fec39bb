/*
 * trainer.h — the trainer's internals: which values need gradients (from the
 * learn-rate factors), the backward plan and memory layout for one input
 * shape, and the frozen-prefix cache.
 */
#ifndef NNI_TRAINER_H
#define NNI_TRAINER_H

#include "api/model.h"
#include "exec/plan.h"
#include "train/grad.h"

/* per-value flags of the analysis */
enum {
    TR_V_TRAINABLE = 1u << 0, /* a parameter with a non-zero learn-rate factor that reaches the loss */
    TR_V_GRAD = 1u << 1,      /* float value between a trainable parameter and the loss: has a gradient */
    TR_V_FRONTIER = 1u << 2,  /* output of the frozen prefix read by the rest: what the cache keeps */
};

/* per-node flags */
enum {
    TR_N_BACKWARD = 1u << 0, /* lies between a trainable parameter and the loss */
    TR_N_PREFIX = 1u << 1,   /* frozen, deterministic, fed only by the input and constants */
    TR_N_BN_TRAIN = 1u << 2, /* BatchNormalization using batch statistics */
    TR_N_TRAINS = 1u << 3,   /* reads a trainable parameter: no memo of what was derived from its weights */
    TR_N_BN = 1u << 4,       /* a BatchNormalization (trains only with TR_N_BN_TRAIN) */
};

/** What the learn-rate factors and options imply for the graph (no shapes needed). */
typedef struct tr_analysis {
    int32_t n_values, n_nodes;
    float *factors;     /* lr_factor snapshot per value, to notice changes */
    uint8_t *vflags;
    uint8_t *nflags;
    nni_grad_fn *fns;   /* per backward node */
    int32_t logits;     /* value the loss reads */
    int32_t n_trainable;
    uint32_t n_prefix;  /* prefix nodes */
} tr_analysis;

nn_status nni_tr_analyze(const nni_graph *g, const nn_trainer_options *o, tr_analysis *a);
void nni_tr_analysis_free(tr_analysis *a);
/** True when the model's learn-rate factors or graph size differ from the snapshot. */
bool nni_tr_analysis_stale(const nni_graph *g, const tr_analysis *a);

/** One input shape's forward/backward plan and its memory layout. */
typedef struct tr_plan {
    nni_plan p;           /* shapes, step list, value views (data set into the trainer's arena) */
    int64_t batch;
    bool cached_layout;   /* frontier values live for the whole step (cache hits write them first) */
    bool cache_ok;        /* every frontier value is an arena tensor with the batch as first dimension */
    int32_t *step_of;     /* node -> step, -1 when not run */
    nn_tensor *grads;     /* per value with a gradient: its shape; data in the arena or heap */
    uint8_t *gstate;      /* per value: 0 no gradient, 1 arena, 2 heap (shape known at run time) */
    size_t *goffset;      /* arena offsets of gradients */
    size_t *voffset;      /* arena offsets of activations */
    size_t arena_size;
    uint32_t n_backward, n_grad_buffers;
    uint64_t grad_bytes;
    int32_t max_in;
} tr_plan;

nn_status nni_tr_plan_build(const nni_graph *g, const tr_analysis *a, const nn_tensor *input, bool cached_layout,
                            tr_plan *tp);
void nni_tr_plan_free(tr_plan *tp);

/* ---- frozen-prefix cache (cache.c) ---- */

typedef struct tr_cache tr_cache;

nn_status nni_tr_cache_create(uint64_t mem_cap, const char *path, uint64_t disk_cap, tr_cache **out);
void nni_tr_cache_free(tr_cache *c);
/** Drop every entry; the next store fixes the record size again. */
void nni_tr_cache_clear(tr_cache *c);
/** Drop the entries when `signature` (per-sample layout) differs from the stored one. */
void nni_tr_cache_check_signature(tr_cache *c, uint64_t signature);
/** True when sample `id` is cached. */
bool nni_tr_cache_has(const tr_cache *c, uint64_t id);
/** Copy sample `id`'s record (record_size bytes) into `dst`. */
nn_status nni_tr_cache_get(tr_cache *c, uint64_t id, void *dst, size_t record_size);
/** Keep a record; false (not an error) when both caps are reached. */
nn_status nni_tr_cache_put(tr_cache *c, uint64_t id, const void *src, size_t record_size, bool *stored);
void nni_tr_cache_usage(const tr_cache *c, uint64_t *mem_bytes, uint64_t *disk_bytes);

#endif
