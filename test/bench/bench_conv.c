/* bench_conv.c — GFLOP/s of the Conv/ConvTranspose ops on typical CNN layers (not a unit test). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "exec/pool.h"
#include "ops/op.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(getenv("BENCH_WALL") ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    void *buf;
    size_t cap;
} scr;

static void *scratch_fn(nni_opctx *c, size_t bytes)
{
    scr *s = c->scratch_owner;
    if (bytes > s->cap) {
        nni_free_aligned(s->buf);
        s->buf = nni_malloc_aligned(bytes);
        s->cap = bytes;
    }
    return s->buf;
}

typedef struct {
    const char *name, *op;
    int64_t N, C, H, W, M, k, stride, pad, group;
} layer;

static void run(const layer *l, nni_pool *pool)
{
    int64_t xd[4] = {l->N, l->C, l->H, l->W};
    int64_t wd[4] = {strcmp(l->op, "Conv") == 0 ? l->M : l->C,
                     strcmp(l->op, "Conv") == 0 ? l->C / l->group : l->M / l->group, l->k, l->k};
    int64_t bd[1] = {l->M};
    nn_tensor *x, *w, *b, *y = calloc(1, sizeof *y);
    nni_tensor_new(NN_DTYPE_FLOAT32, 4, xd, &x);
    nni_tensor_new(NN_DTYPE_FLOAT32, 4, wd, &w);
    nni_tensor_new(NN_DTYPE_FLOAT32, 1, bd, &b);
    for (int64_t i = 0; i < nni_tensor_count(x); i++)
        ((float *)x->data)[i] = (float)(i % 7) * 0.1f;
    for (int64_t i = 0; i < nni_tensor_count(w); i++)
        ((float *)w->data)[i] = (float)(i % 5) * 0.1f;
    int64_t s2[2] = {l->stride, l->stride}, p4[4] = {l->pad, l->pad, l->pad, l->pad};
    nni_attr attrs[3] = {{.name = "strides", .type = NNI_ATTR_INTS, .n = 2, .ints = s2},
                         {.name = "pads", .type = NNI_ATTR_INTS, .n = 4, .ints = p4},
                         {.name = "group", .type = NNI_ATTR_INT, .i = l->group}};
    nni_node node = {.name = "b", .op_type = (char *)l->op, .n_attr = 3, .attrs = attrs};
    const nni_op_desc *d = nni_op_find(l->op);
    nn_tensor *in[3] = {x, w, b};
    scr sc = {0};
    nni_opctx c = {.node = &node, .n_in = 3, .n_out = 1, .in = in, .out = &y, .pool = pool, .opset = 13,
                   .scratch = scratch_fn, .scratch_owner = &sc};
    c.state = calloc(1, d->state_size);
    if (d->prepare(&c) || d->infer(&c) || nni_tensor_alloc(y)) {
        printf("%s: setup failed: %s\n", l->name, nn_last_error());
        return;
    }
    double flops = 2.0 * (double)d->macs(&c);
    d->run(&c);
    int reps = (int)(1e9 / flops) + 1;
    double best = 1e30;
    for (int r = 0; r < 5; r++) {
        double t0 = now();
        for (int i = 0; i < reps; i++)
            d->run(&c);
        double t = (now() - t0) / reps;
        if (t < best)
            best = t;
    }
    printf("%-28s threads=%d %8.3f ms %7.1f GFLOP/s\n", l->name, nni_pool_threads(pool), best * 1e3,
           flops / best * 1e-9);
    nni_free_aligned(sc.buf);
    free(c.state);
    nni_tensor_release(y);
    free(y);
    nn_tensor_free(x), nn_tensor_free(w), nn_tensor_free(b);
}

int main(void)
{
    static const layer layers[] = {
        {"conv1 7x7/2 3->64 224", "Conv", 1, 3, 224, 224, 64, 7, 2, 3, 1},
        {"3x3 64->64 56", "Conv", 1, 64, 56, 56, 64, 3, 1, 1, 1},
        {"1x1 64->256 56", "Conv", 1, 64, 56, 56, 256, 1, 1, 0, 1},
        {"1x1 256->64 56", "Conv", 1, 256, 56, 56, 64, 1, 1, 0, 1},
        {"3x3/2 128->128 56", "Conv", 1, 128, 56, 56, 128, 3, 2, 1, 1},
        {"3x3 256->256 14", "Conv", 1, 256, 14, 14, 256, 3, 1, 1, 1},
        {"3x3 512->512 7", "Conv", 1, 512, 7, 7, 512, 3, 1, 1, 1},
        {"3x3 g32 128->128 56", "Conv", 1, 128, 56, 56, 128, 3, 1, 1, 32},
        {"dw3x3 32 112", "Conv", 1, 32, 112, 112, 32, 3, 1, 1, 32},
        {"dw3x3/2 144 56", "Conv", 1, 144, 56, 56, 144, 3, 2, 1, 144},
        {"dw3x3 512 14", "Conv", 1, 512, 14, 14, 512, 3, 1, 1, 512},
        {"convT 4x4/2 256->128 16", "ConvTranspose", 1, 256, 16, 16, 128, 4, 2, 1, 1},
        {"3x3 64->64 56 batch 8", "Conv", 8, 64, 56, 56, 64, 3, 1, 1, 1},
    };
    nni_pool *p2;
    nni_pool_create(2, &p2);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        run(&layers[i], NULL);
        run(&layers[i], p2);
    }
    nni_pool_free(p2);
    return 0;
}
