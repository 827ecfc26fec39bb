/* op_attrs.h — node attributes and scratch memory for tests that drive ops through their descriptors. */
#ifndef NN_TEST_OP_ATTRS_H
#define NN_TEST_OP_ATTRS_H

#include "ops/op.h"

/** Scratch memory behind nni_opctx.scratch (scratch_owner = a test_scratch); the caller frees buf. */
typedef struct {
    void *buf;
    size_t cap;
} test_scratch;

void *test_scratch_fn(nni_opctx *c, size_t bytes);

/** Attributes under construction for one node (at most 16, INTS of at most 16 values). */
typedef struct {
    nni_attr a[16];
    int32_t n;
    int64_t ints[16][16];
} test_attrs;

void test_attr_ints(test_attrs *at, const char *name, int32_t n, const int64_t *v);
void test_attr_int(test_attrs *at, const char *name, int64_t v);
void test_attr_float(test_attrs *at, const char *name, float v);
/** `v` is not copied: it must outlive the node. */
void test_attr_string(test_attrs *at, const char *name, const char *v);

#endif
