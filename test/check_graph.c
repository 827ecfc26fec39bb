/* check_graph.c — the IR and planner internals: ordering, liveness arena reuse, the pool. */
#include <stdio.h>
#include <string.h>

#include "exec/plan.h"
#include "exec/pool.h"
#include "ir/graph.h"
#include "test_util.h"

/* Build a chain x -> Identity -> v1 -> ... -> vN (nodes added in reverse). */
static void build_chain(nni_graph *g, int n)
{
    nni_graph_init(g);
    int32_t x = nni_graph_value(g, "x");
    g->values[x].is_input = true;
    int64_t dims[2] = {4, 256};
    nni_tensor_set_shape(&g->values[x].info, NN_DTYPE_FLOAT32, 2, dims);
    g->values[x].shape_known = true;
    g->inputs = nni_malloc(sizeof(int32_t));
    g->inputs[g->n_inputs++] = x;
    for (int i = n; i >= 1; i--) {
        char in[16], out[16];
        snprintf(in, sizeof in, i == 1 ? "x" : "v%d", i - 1);
        snprintf(out, sizeof out, "v%d", i);
        nni_node node;
        memset(&node, 0, sizeof node);
        node.name = nni_strdup(out);
        node.op_type = nni_strdup("Identity");
        node.domain = nni_strdup("");
        node.op = nni_op_find("Identity");
        node.n_in = node.n_out = 1;
        node.in = nni_malloc(sizeof(int32_t));
        node.out = nni_malloc(sizeof(int32_t));
        node.in[0] = nni_graph_value(g, in);
        node.out[0] = nni_graph_value(g, out);
        ck_assert_ok(nni_graph_add_node(g, &node, NULL));
    }
    char last[16];
    snprintf(last, sizeof last, "v%d", n);
    g->outputs = nni_malloc(sizeof(int32_t));
    g->outputs[g->n_outputs++] = nni_graph_find_value(g, last);
    g->values[g->outputs[0]].is_output = true;
    g->opset = 13;
}

START_TEST(test_toposort_orders_reversed_chain)
{
    nni_graph g;
    build_chain(&g, 20);
    ck_assert_ok(nni_graph_toposort(&g));
    for (int i = 0; i < 20; i++) {
        char want[16];
        snprintf(want, sizeof want, "v%d", i + 1);
        ck_assert_str_eq(g.nodes[i].name, want);
    }
    nni_graph_free(&g);
}
END_TEST

/* A chain of 20 copies needs only two live buffers at once plus the output. */
START_TEST(test_arena_reuses_dead_buffers)
{
    nni_graph g;
    build_chain(&g, 20);
    ck_assert_ok(nni_graph_toposort(&g));
    nni_plan p;
    const nn_tensor *shapes[1] = {&g.values[g.inputs[0]].info};
    ck_assert_ok(nni_plan_build(&g, shapes, 0, &p));
    ck_assert_int_eq(p.n_steps, 20);
    size_t one = 4 * 256 * sizeof(float);
    ck_assert_msg(p.arena_size <= 3 * one, "arena %zu bytes for buffers of %zu", p.arena_size, one);
    nni_plan_free(&p);
    nni_graph_free(&g);
}
END_TEST

static void add_range(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    int64_t *sums = arg;
    for (int64_t i = begin; i < end; i++)
        __atomic_add_fetch(&sums[0], i, __ATOMIC_RELAXED);
    __atomic_add_fetch(&sums[1 + tid], 1, __ATOMIC_RELAXED);
}

START_TEST(test_pool_covers_range_once)
{
    nni_pool *pool = NULL;
    ck_assert_ok(nni_pool_create(4, &pool));
    for (int64_t n = 0; n < 1000; n += 37) {
        int64_t sums[1 + 256] = {0};
        nni_parallel_for(pool, n, 1, add_range, sums);
        ck_assert_int_eq(sums[0], n * (n - 1) / 2);
    }
    nni_pool_free(pool);
    nni_pool_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("ir");
    tcase_add_test(tc, test_toposort_orders_reversed_chain);
    tcase_add_test(tc, test_arena_reuses_dead_buffers);
    tcase_add_test(tc, test_pool_covers_range_once);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
