/*
 * memo.h — per-model memo of constants derived from constants (transformed
 * or re-packed weights): computed once, on first use, and shared by every
 * session of the model. Entries are keyed by the source tensor's buffer and
 * a kind; a sampled fingerprint of the source's contents notices weights
 * changed in place (training, editing), and the entry is then rebuilt.
 * Thread-safe. A model's weights must not change while one of its sessions
 * runs (that is already the API's rule).
 */
#ifndef NNI_MEMO_H
#define NNI_MEMO_H

#include "tensor/tensor.h"

typedef struct nni_memo nni_memo;

nn_status nni_memo_create(nni_memo **out);
void nni_memo_free(nni_memo *m);
/** Forget every entry (after weights changed wholesale); see also nni_memo_touch. */
void nni_memo_clear(nni_memo *m);
/** Forget the entries derived from the tensor whose data is `data` (its weights were updated). */
void nni_memo_forget(nni_memo *m, const void *data);
/**
 * Some weight changed in place without its entries being forgotten
 * (BatchNormalization's running statistics, updated by a training step):
 * drops the versioned entries (nni_memo_get_versioned). nni_memo_clear and
 * nni_memo_forget do the same.
 */
void nni_memo_touch(nni_memo *m);
/** Bytes held by the entries. */
size_t nni_memo_bytes(const nni_memo *m);

/**
 * The derivative `kind` of constant tensor `key`: `bytes` bytes (64-byte
 * aligned) that build(arg, dst) fills. Built on first use and whenever
 * key's contents changed since. NULL when memory runs out (error set).
 */
const void *nni_memo_get(nni_memo *m, const nn_tensor *key, uint32_t kind, size_t bytes,
                         void (*build)(void *arg, void *dst), void *arg);

/**
 * A small derivative of several constants (a fused BatchNormalization's
 * per-channel scale and shift), keyed by two of their buffers and a kind,
 * with no fingerprint: valid until any weight of the model changes, which
 * every path that writes weights reports (nni_memo_clear, _forget, _touch).
 * Cheaper to check than nni_memo_get. NULL when memory runs out (no error
 * is set: the caller computes the derivative itself).
 */
const void *nni_memo_get_versioned(nni_memo *m, const void *key, const void *key2, uint32_t kind, size_t bytes,
                                   void (*build)(void *arg, void *dst), void *arg);

#endif
