/*
 * onnx_skeleton.c — load ONNX weights without copying them through
 * protobuf-c. A ModelProto is mostly initializer payloads (raw_data). This
 * walks the wire format once and writes a "skeleton": the same message with
 * every graph.initializer[i].raw_data cut to zero bytes, recording where
 * each payload lies in the original bytes. protobuf-c then parses only the
 * small skeleton, and each payload is copied once, straight into its tensor
 * (from the caller's buffer, or read from the file without mapping it).
 * Anything unusual (groups, a repeated graph or raw_data field, bad lengths)
 * makes the walk give up; the caller then parses the whole message as before.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "frontends/onnx/onnx_skeleton.h"
#include "frontends/onnx/onnx_wire.h"

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} obuf;

static bool ob_reserve(obuf *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->n + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = nni_realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

static void ob_put(obuf *b, const void *src, size_t n)
{
    if (n && ob_reserve(b, n)) {
        memcpy(b->p + b->n, src, n);
        b->n += n;
    }
}

static void ob_varint(obuf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        t[n++] = (uint8_t)((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
        v >>= 7;
    } while (v);
    ob_put(b, t, n);
}

typedef struct {
    const uint8_t *base;  /* the whole model, for payload offsets */
    nni_onnx_payload *spans;
    int32_t n, cap;
    bool bad;             /* unusual input: give up */
    bool oom;
} walk;

enum { L_MODEL, L_GRAPH, L_TENSOR };

/*
 * Copy message [p, p + n) at `level` into out, rewriting the fields on the
 * path to raw_data (ModelProto.graph = 7, GraphProto.initializer = 5,
 * TensorProto.raw_data = 9).
 */
static void rewrite(walk *w, const uint8_t *p, size_t n, int level, obuf *out)
{
    size_t at = 0;
    bool seen_graph = false, seen_raw = false;
    if (level == L_TENSOR) {
        if (w->n == w->cap) {
            int32_t cap = w->cap ? 2 * w->cap : 256;
            nni_onnx_payload *s = nni_realloc(w->spans, (size_t)cap * sizeof *s);
            if (!s) {
                w->oom = true;
                return;
            }
            w->spans = s;
            w->cap = cap;
        }
        w->spans[w->n].offset = 0;
        w->spans[w->n].len = 0;
        w->spans[w->n].present = false;
        w->n++;
    }
    while (at < n && !w->bad && !w->oom) {
        const size_t start = at;
        nni_pb_field f;
        if (!nni_pb_field_next(p, n, &at, &f) || (f.tag >> 3) == 0) {
            w->bad = true;
            return;
        }
        const uint64_t tag = f.tag, field = tag >> 3, wt = tag & 7;
        const uint8_t *body = p + f.value;
        bool descend = wt == 2 && ((level == L_MODEL && field == 7) || (level == L_GRAPH && field == 5));
        bool cut = wt == 2 && level == L_TENSOR && field == 9;
        if (level == L_MODEL && field == 7) {
            if (seen_graph || wt != 2) {
                w->bad = true;
                return;
            }
            seen_graph = true;
        }
        if (descend) {
            obuf sub = {0};
            rewrite(w, body, f.len, level + 1, &sub);
            if (sub.oom)
                w->oom = true;
            ob_varint(out, tag);
            ob_varint(out, sub.n);
            ob_put(out, sub.p, sub.n);
            nni_free(sub.p);
        } else if (cut) {
            if (seen_raw) {
                w->bad = true;
                return;
            }
            seen_raw = true;
            nni_onnx_payload *s = &w->spans[w->n - 1];
            s->offset = (uint64_t)(body - w->base);
            s->len = (uint64_t)f.len;
            s->present = true;
            ob_varint(out, tag);
            ob_varint(out, 0);
        } else {
            ob_put(out, p + start, at - start);
        }
    }
    if (out->oom)
        w->oom = true;
}

nn_status nni_onnx_skeleton(const uint8_t *bytes, size_t size, nni_onnx_skeleton_t *sk)
{
    memset(sk, 0, sizeof *sk);
    walk w = {.base = bytes};
    obuf out = {0};
    rewrite(&w, bytes, size, L_MODEL, &out);
    if (w.oom || out.oom) {
        nni_free(out.p);
        nni_free(w.spans);
        return nni_error(NN_E_NOMEM, "cannot allocate the model's skeleton");
    }
    if (w.bad) {
        nni_free(out.p);
        nni_free(w.spans);
        return NN_OK; /* sk->bytes NULL: parse the whole message instead */
    }
    sk->bytes = out.p;
    sk->size = out.n;
    sk->payloads = w.spans;
    sk->n_payloads = w.n;
    return NN_OK;
}

void nni_onnx_skeleton_free(nni_onnx_skeleton_t *sk)
{
    nni_free(sk->bytes);
    nni_free(sk->payloads);
    memset(sk, 0, sizeof *sk);
}

nn_status nni_onnx_payload_read(const nni_onnx_source *src, const nni_onnx_payload *pl, void *dst)
{
    if (src->fd < 0) {
        memcpy(dst, src->bytes + pl->offset, (size_t)pl->len);
        return NN_OK;
    }
    uint8_t *d = dst;
    uint64_t off = pl->offset, left = pl->len;
    while (left > 0) {
        ssize_t got = pread(src->fd, d, left > ((uint64_t)1 << 30) ? (size_t)1 << 30 : (size_t)left, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return nni_error(NN_E_IO, "cannot read %llu bytes of weights at offset %llu: %s",
                             (unsigned long long)left, (unsigned long long)off, got < 0 ? strerror(errno) : "end of file");
        d += got;
        off += (uint64_t)got;
        left -= (uint64_t)got;
    }
    return NN_OK;
}
