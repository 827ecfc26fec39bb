/* memo.c — the per-model memo of derived constants (see memo.h). */
#include <pthread.h>
#include <string.h>

#include "exec/memo.h"

typedef struct {
    const void *key;   /* the source tensor's data */
    const void *key2;  /* versioned entries: the second source's data; else NULL */
    uint32_t kind;
    bool versioned;    /* no fingerprint: valid until dropped (any weight change drops it) */
    size_t bytes;
    uint64_t print;    /* fingerprint of the source's contents when built (0 for versioned entries) */
    void *data;
} memo_entry;

struct nni_memo {
    pthread_mutex_t mu;
    memo_entry *e;
    int32_t n, cap;
    size_t total;
};

nn_status nni_memo_create(nni_memo **out)
{
    nni_memo *m = nni_calloc(1, sizeof *m);
    if (!m)
        return nni_error(NN_E_NOMEM, "cannot allocate the model's memo");
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return NN_OK;
}

void nni_memo_clear(nni_memo *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    for (int32_t i = 0; i < m->n; i++)
        nni_free_aligned(m->e[i].data);
    m->n = 0;
    m->total = 0;
    pthread_mutex_unlock(&m->mu);
}

/* Drop the entries derived from `data` (NULL: none) and every versioned entry; the caller holds mu. */
static void drop_entries(nni_memo *m, const void *data)
{
    for (int32_t i = 0; i < m->n;) {
        const memo_entry *e = &m->e[i];
        if (e->versioned || (data && e->key == data)) {
            nni_free_aligned(m->e[i].data);
            m->total -= m->e[i].bytes;
            m->e[i] = m->e[--m->n];
        } else {
            i++;
        }
    }
}

void nni_memo_touch(nni_memo *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    drop_entries(m, NULL);
    pthread_mutex_unlock(&m->mu);
}

void nni_memo_forget(nni_memo *m, const void *data)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    drop_entries(m, data); /* and the versioned ones, which may derive from `data` without naming it */
    pthread_mutex_unlock(&m->mu);
}

void nni_memo_free(nni_memo *m)
{
    if (!m)
        return;
    nni_memo_clear(m);
    pthread_mutex_destroy(&m->mu);
    nni_free(m->e);
    nni_free(m);
}

size_t nni_memo_bytes(const nni_memo *m) { return m ? m->total : 0; }

/* 64-bit FNV-1a over 32 words sampled evenly (and the last one): any update that touches
 * most weights (an optimizer step) changes it, and it is cheap per run — each sample of a
 * large tensor is a cache miss (256 samples cost ~10 us per 7x7 layer of MobileNet-v2).
 * Every path that writes weights also forgets or clears their entries explicitly. */
static uint64_t fingerprint(const nn_tensor *t)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)t->nbytes;
    const size_t words = t->nbytes / 4;
    const uint8_t *p = t->data;
    if (!p || words == 0)
        return h;
    const size_t step = words > 32 ? words / 32 : 1;
    for (size_t i = 0; i < words; i += step) {
        uint32_t w;
        memcpy(&w, p + 4 * i, 4);
        h = (h ^ w) * 1099511628211ull;
    }
    uint32_t w;
    memcpy(&w, p + 4 * (words - 1), 4);
    return (h ^ w) * 1099511628211ull;
}

/*
 * Find the entry (key, key2, kind, bytes) and return its data if still valid
 * (fingerprint `print`); else build a new one in its place or
 * appended. NULL when memory runs out (`*oom`: 1 the entry's data, 2 the table).
 */
static void *lookup_or_build(nni_memo *m, const void *key, const void *key2, bool versioned, uint32_t kind,
                             size_t bytes, uint64_t print, void (*build)(void *arg, void *dst), void *arg,
                             int *oom)
{
    memo_entry *e = NULL;
    for (int32_t i = 0; i < m->n; i++)
        if (m->e[i].key == key && m->e[i].key2 == key2 && m->e[i].versioned == versioned && m->e[i].kind == kind &&
            m->e[i].bytes == bytes)
            e = &m->e[i];
    if (e && e->print == print)
        return e->data;
    void *d = nni_malloc_aligned(bytes ? bytes : 64);
    if (!d) {
        *oom = 1;
        return NULL;
    }
    build(arg, d);
    if (!e) {
        if (m->n == m->cap) {
            int32_t cap = m->cap ? 2 * m->cap : 16;
            memo_entry *ne = nni_realloc(m->e, (size_t)cap * sizeof *ne);
            if (!ne) {
                nni_free_aligned(d);
                *oom = 2;
                return NULL;
            }
            m->e = ne;
            m->cap = cap;
        }
        e = &m->e[m->n++];
        *e = (memo_entry){.key = key, .key2 = key2, .kind = kind, .versioned = versioned, .bytes = bytes};
        m->total += bytes;
    } else {
        nni_free_aligned(e->data); /* the weights changed: replace */
    }
    e->print = print;
    e->data = d;
    return d;
}

const void *nni_memo_get(nni_memo *m, const nn_tensor *key, uint32_t kind, size_t bytes,
                         void (*build)(void *arg, void *dst), void *arg)
{
    const uint64_t print = fingerprint(key);
    int oom = 0;
    pthread_mutex_lock(&m->mu);
    void *d = lookup_or_build(m, key->data, NULL, false, kind, bytes, print, build, arg, &oom);
    pthread_mutex_unlock(&m->mu);
    if (!d && oom == 1)
        nni_error(NN_E_NOMEM, "cannot allocate %zu bytes of transformed weights", bytes);
    else if (!d)
        nni_error(NN_E_NOMEM, "cannot grow the model's memo");
    return d;
}

const void *nni_memo_get_versioned(nni_memo *m, const void *key, const void *key2, uint32_t kind, size_t bytes,
                                   void (*build)(void *arg, void *dst), void *arg)
{
    int oom = 0;
    pthread_mutex_lock(&m->mu);
    void *d = lookup_or_build(m, key, key2, true, kind, bytes, 0, build, arg, &oom);
    pthread_mutex_unlock(&m->mu);
    return d;
}
