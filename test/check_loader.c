/*
 * check_loader.c — the model loader's weight path (frontends/onnx/
 * onnx_skeleton.c): a model loaded from its file (mapped, weights read with
 * pread) and from memory holds exactly the initializers protobuf-c parses
 * from the whole message; damaged files (truncated, bytes flipped) are
 * errors or loads, never crashes.
 */
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "frontends/onnx/onnx_internal.h"
#include "test_util.h"

/* Every initializer of m equals the one protobuf-c parses from the whole message. */
static void same_initializers(const nn_model *m, const uint8_t *bytes, size_t size)
{
    Onnx__ModelProto *mp = onnx__model_proto__unpack(&nni_pb_allocator, size, bytes);
    ck_assert_ptr_nonnull(mp);
    int32_t checked = 0;
    for (size_t i = 0; i < mp->graph->n_initializer; i++) {
        const Onnx__TensorProto *tp = mp->graph->initializer[i];
        int32_t v = nni_graph_find_value(&m->graph, tp->name);
        if (v < 0 || !m->graph.values[v].constant)
            continue; /* removed as unused at load */
        nn_tensor *want = NULL;
        ck_assert_ok(nni_onnx_tensor_from_proto(tp, NULL, NULL, &want));
        const nn_tensor *got = m->graph.values[v].constant;
        ck_assert_int_eq(got->nbytes, want->nbytes);
        ck_assert_int_eq(got->dtype, want->dtype);
        ck_assert_msg(memcmp(got->data, want->data, want->nbytes) == 0, "initializer '%s' differs", tp->name);
        nn_tensor_free(want);
        checked++;
    }
    ck_assert_int_gt(checked, 0);
    onnx__model_proto__free_unpacked(mp, &nni_pb_allocator);
}

START_TEST(test_weights_file_and_memory)
{
    static const char *const files[] = {"models/convnet.onnx", "models/mlp.onnx", "../../models/fashion_cnn.onnx"};
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        const char *path = test_data_path(files[f]);
        size_t size;
        uint8_t *bytes = test_read_file(path, &size);
        nn_model *a = NULL, *b = NULL;
        ck_assert_ok(nn_model_load(path, NULL, &a));
        ck_assert_ok(nn_model_load_memory(bytes, size, NULL, &b));
        same_initializers(a, bytes, size);
        same_initializers(b, bytes, size);
        nn_model_free(a);
        nn_model_free(b);
        free(bytes);
    }
}
END_TEST

static uint64_t rng = 0x853c49e6748fea9bull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

START_TEST(test_damaged_models)
{
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path("models/convnet.onnx"), &size);
    uint8_t *copy = malloc(size);
    for (int iter = 0; iter < 400; iter++) {
        memcpy(copy, bytes, size);
        size_t n = size;
        if (iter % 2)
            n = rnd() % size; /* truncated */
        else
            for (int k = 0; k < 4; k++) /* a few bytes flipped */
                copy[rnd() % size] ^= (uint8_t)(1u + rnd() % 255);
        nn_model *m = NULL;
        nn_status st = nn_model_load_memory(copy, n, NULL, &m);
        ck_assert(st == NN_OK || m == NULL);
        nn_model_free(m);
    }
    free(copy);
    free(bytes);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("loader");
    TCase *tc = tcase_create("weights");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_weights_file_and_memory);
    tcase_add_test(tc, test_damaged_models);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
