/* op_attrs.c — node attributes and scratch memory for tests that drive ops through their descriptors. */
#include <string.h>

#include "op_attrs.h"

void *test_scratch_fn(nni_opctx *c, size_t bytes)
{
    test_scratch *s = c->scratch_owner;
    if (bytes > s->cap) {
        nni_free_aligned(s->buf);
        s->buf = nni_malloc_aligned(bytes);
        s->cap = s->buf ? bytes : 0;
    }
    return s->buf;
}

void test_attr_ints(test_attrs *at, const char *name, int32_t n, const int64_t *v)
{
    nni_attr *a = &at->a[at->n];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = NNI_ATTR_INTS;
    memcpy(at->ints[at->n], v, (size_t)n * sizeof(int64_t));
    a->ints = at->ints[at->n];
    a->n = (size_t)n;
    at->n++;
}

void test_attr_int(test_attrs *at, const char *name, int64_t v)
{
    nni_attr *a = &at->a[at->n++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = NNI_ATTR_INT;
    a->i = v;
}

void test_attr_float(test_attrs *at, const char *name, float v)
{
    nni_attr *a = &at->a[at->n++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = NNI_ATTR_FLOAT;
    a->f = v;
}

void test_attr_string(test_attrs *at, const char *name, const char *v)
{
    nni_attr *a = &at->a[at->n++];
    memset(a, 0, sizeof *a);
    a->name = (char *)name;
    a->type = NNI_ATTR_STRING;
    a->s = (char *)v;
}
