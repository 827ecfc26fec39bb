/*
 * cache.c — the frozen-prefix cache: one fixed-size record of activations
 * per sample id, in memory up to a cap, then in a file up to a second cap.
 * Records are found through an open-addressing hash table on the id.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "train/trainer.h"

#define RECORDS_PER_CHUNK 64

typedef struct {
    uint64_t id;
    int64_t slot; /* >= 0: memory record index; < 0: file record -(slot + 1) */
    bool used;
} entry;

struct tr_cache {
    uint64_t mem_cap, disk_cap;
    char *path;
    int fd;
    size_t record;          /* bytes per record, 0 until the first store */
    uint64_t signature;
    bool have_signature;
    uint8_t **chunks;       /* memory records, RECORDS_PER_CHUNK per chunk */
    int64_t n_chunks, mem_records, disk_records;
    entry *table;
    int64_t table_cap, count;
};

nn_status nni_tr_cache_create(uint64_t mem_cap, const char *path, uint64_t disk_cap, tr_cache **out)
{
    tr_cache *c = nni_calloc(1, sizeof *c);
    if (!c)
        return nni_error(NN_E_NOMEM, "cannot allocate the activation cache");
    c->mem_cap = mem_cap;
    c->disk_cap = disk_cap;
    c->fd = -1;
    if (path && !(c->path = nni_strdup(path))) {
        nni_free(c);
        return nni_error(NN_E_NOMEM, "cannot allocate the activation cache");
    }
    *out = c;
    return NN_OK;
}

void nni_tr_cache_clear(tr_cache *c)
{
    if (!c)
        return;
    for (int64_t i = 0; i < c->n_chunks; i++)
        nni_free(c->chunks[i]);
    nni_free(c->chunks);
    nni_free(c->table);
    c->chunks = NULL;
    c->table = NULL;
    c->n_chunks = c->mem_records = c->disk_records = c->table_cap = c->count = 0;
    c->record = 0;
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        unlink(c->path);
    }
}

void nni_tr_cache_free(tr_cache *c)
{
    if (!c)
        return;
    nni_tr_cache_clear(c);
    nni_free(c->path);
    nni_free(c);
}

void nni_tr_cache_check_signature(tr_cache *c, uint64_t signature)
{
    if (c->have_signature && c->signature == signature)
        return;
    nni_tr_cache_clear(c);
    c->signature = signature;
    c->have_signature = true;
}

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static const entry *lookup(const tr_cache *c, uint64_t id)
{
    if (!c->table_cap)
        return NULL;
    for (int64_t i = (int64_t)(mix(id) & (uint64_t)(c->table_cap - 1));; i = (i + 1) & (c->table_cap - 1)) {
        const entry *e = &c->table[i];
        if (!e->used)
            return NULL;
        if (e->id == id)
            return e;
    }
}

bool nni_tr_cache_has(const tr_cache *c, uint64_t id) { return lookup(c, id) != NULL; }

static bool insert(tr_cache *c, uint64_t id, int64_t slot)
{
    if ((c->count + 1) * 2 > c->table_cap) {
        int64_t cap = c->table_cap ? c->table_cap * 2 : 1024;
        entry *t = nni_calloc((size_t)cap, sizeof *t);
        if (!t)
            return false;
        for (int64_t i = 0; i < c->table_cap; i++) {
            if (!c->table[i].used)
                continue;
            int64_t j = (int64_t)(mix(c->table[i].id) & (uint64_t)(cap - 1));
            while (t[j].used)
                j = (j + 1) & (cap - 1);
            t[j] = c->table[i];
        }
        nni_free(c->table);
        c->table = t;
        c->table_cap = cap;
    }
    int64_t j = (int64_t)(mix(id) & (uint64_t)(c->table_cap - 1));
    while (c->table[j].used)
        j = (j + 1) & (c->table_cap - 1);
    c->table[j] = (entry){id, slot, true};
    c->count++;
    return true;
}

static nn_status io_all(int fd, void *buf, size_t n, off_t off, bool writing, const char *path)
{
    uint8_t *b = buf;
    while (n > 0) {
        ssize_t r = writing ? pwrite(fd, b, n, off) : pread(fd, b, n, off);
        if (r <= 0)
            return nni_error(NN_E_IO, "cannot %s the activation cache file '%s'", writing ? "write" : "read", path);
        b += r;
        n -= (size_t)r;
        off += r;
    }
    return NN_OK;
}

nn_status nni_tr_cache_get(tr_cache *c, uint64_t id, void *dst, size_t record)
{
    const entry *e = lookup(c, id);
    if (!e || record != c->record)
        return nni_error(NN_E_INTERNAL, "sample %llu is not in the activation cache", (unsigned long long)id);
    if (e->slot >= 0) {
        memcpy(dst, c->chunks[e->slot / RECORDS_PER_CHUNK] + (size_t)(e->slot % RECORDS_PER_CHUNK) * record, record);
        return NN_OK;
    }
    return io_all(c->fd, dst, record, (off_t)((uint64_t)(-(e->slot + 1)) * record), false, c->path);
}

nn_status nni_tr_cache_put(tr_cache *c, uint64_t id, const void *src, size_t record, bool *stored)
{
    *stored = false;
    if (lookup(c, id))
        return NN_OK;
    if (c->record && c->record != record)
        nni_tr_cache_clear(c);
    c->record = record;
    if ((uint64_t)(c->mem_records + 1) * record <= c->mem_cap) {
        int64_t slot = c->mem_records;
        if (slot % RECORDS_PER_CHUNK == 0) {
            uint8_t **ch = nni_realloc(c->chunks, (size_t)(c->n_chunks + 1) * sizeof *ch);
            if (!ch)
                return NN_OK; /* caching is an optimisation: out of memory just stops it */
            c->chunks = ch;
            if (!(ch[c->n_chunks] = nni_malloc(RECORDS_PER_CHUNK * record)))
                return NN_OK;
            c->n_chunks++;
        }
        if (!insert(c, id, slot))
            return NN_OK;
        memcpy(c->chunks[slot / RECORDS_PER_CHUNK] + (size_t)(slot % RECORDS_PER_CHUNK) * record, src, record);
        c->mem_records++;
        *stored = true;
        return NN_OK;
    }
    if (!c->path || (uint64_t)(c->disk_records + 1) * record > c->disk_cap)
        return NN_OK;
    if (c->fd < 0) {
        c->fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (c->fd < 0)
            return nni_error(NN_E_IO, "cannot create the activation cache file '%s'", c->path);
    }
    nn_status st = io_all(c->fd, (void *)src, record, (off_t)((uint64_t)c->disk_records * record), true, c->path);
    if (st != NN_OK)
        return st;
    if (!insert(c, id, -(c->disk_records + 1)))
        return NN_OK;
    c->disk_records++;
    *stored = true;
    return NN_OK;
}

void nni_tr_cache_usage(const tr_cache *c, uint64_t *mem_bytes, uint64_t *disk_bytes)
{
    *mem_bytes = c ? (uint64_t)c->mem_records * c->record : 0;
    *disk_bytes = c ? (uint64_t)c->disk_records * c->record : 0;
}
