/*
 * check_load_errors.c — every kind of bad model file returns a clear error
 * and never crashes: missing, empty, truncated at every length, random bytes,
 * files of another type, and models that parse but are inconsistent.
 */
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static void expect_load_error(const char *rel, nn_status want, const char *needle)
{
    nn_model *m = (nn_model *)1;
    nn_status st = nn_model_load(test_data_path(rel), NULL, &m);
    ck_assert_msg(st == want, "%s: got %d (%s), want %d: %s", rel, (int)st, nn_status_string(st), (int)want,
                  nn_last_error());
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(nn_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", rel, nn_last_error(), needle);
}

START_TEST(test_missing_file)
{
    nn_model *m = NULL;
    ck_assert_nn(nn_model_load("/nonexistent/model.onnx", NULL, &m), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "/nonexistent/model.onnx") != NULL);
    ck_assert_nn(nn_model_load(NULL, NULL, &m), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_load("x", NULL, NULL), NN_E_INVALID_ARG);
    ck_assert_nn(nn_model_load("/tmp", NULL, &m), NN_E_IO); /* a folder */
}
END_TEST

START_TEST(test_empty)
{
    nn_model *m = NULL;
    ck_assert_nn(nn_model_load_memory("", 0, NULL, &m), NN_E_PARSE);
    ck_assert(strstr(nn_last_error(), "empty") != NULL);
    ck_assert_ptr_null(m);
}
END_TEST

/* Every prefix of a valid model either loads (protobuf allows some cuts at
 * field boundaries to be valid) or fails with a parse/model error. */
START_TEST(test_truncated_every_length)
{
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path("models/mlp.onnx"), &size);
    int errors = 0;
    for (size_t len = 1; len < size; len++) {
        nn_model *m = NULL;
        nn_status st = nn_model_load_memory(bytes, len, NULL, &m);
        if (st == NN_OK) {
            nn_model_free(m);
            continue;
        }
        ck_assert_ptr_null(m);
        ck_assert_msg(st == NN_E_PARSE || st == NN_E_INVALID_MODEL || st == NN_E_UNSUPPORTED,
                      "truncated to %zu: status %d: %s", len, (int)st, nn_last_error());
        ck_assert(nn_last_error()[0] != '\0');
        errors++;
    }
    ck_assert_int_gt(errors, (int)size / 2);
    free(bytes);
}
END_TEST

START_TEST(test_random_bytes)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    uint8_t buf[4096];
    for (int round = 0; round < 2000; round++) {
        size_t len = 1 + (size_t)(round * 37 % (int)sizeof buf);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        nn_model *m = NULL;
        nn_status st = nn_model_load_memory(buf, len, NULL, &m);
        ck_assert_msg(st != NN_OK, "random bytes loaded as a model (round %d)", round);
        ck_assert_ptr_null(m);
        ck_assert(st == NN_E_PARSE || st == NN_E_INVALID_MODEL || st == NN_E_UNSUPPORTED || st == NN_E_LIMIT);
    }
}
END_TEST

/* Bit flips in a valid model: no crash, and an error names a cause. */
START_TEST(test_bit_flips)
{
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path("models/mlp.onnx"), &size);
    uint8_t *copy = malloc(size);
    for (size_t i = 0; i < size; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, bytes, size);
            copy[i] ^= (uint8_t)(1u << bit);
            nn_model *m = NULL;
            nn_status st = nn_model_load_memory(copy, size, NULL, &m);
            if (st == NN_OK) {
                /* a flip inside a weight or a name can still be a valid model */
                nn_model_free(m);
            } else {
                ck_assert(nn_last_error()[0] != '\0');
            }
        }
    }
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_wrong_type_files)
{
    /* a TensorProto is valid protobuf but not a model */
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path("models/mlp_case/test_data_set_0/input_0.pb"), &size);
    nn_model *m = NULL;
    nn_status st = nn_model_load_memory(bytes, size, NULL, &m);
    ck_assert_msg(st == NN_E_PARSE, "TensorProto as a model: %d %s", (int)st, nn_last_error());
    free(bytes);
    /* a PNG signature + header, a text file */
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    ck_assert_nn(nn_model_load_memory(png, sizeof png, NULL, &m), NN_E_PARSE);
    const char *text = "hello\nworld\n";
    ck_assert_nn(nn_model_load_memory(text, strlen(text), NULL, &m), NN_E_PARSE);
    /* a darknet cfg is recognised; this one lacks its input size */
    text = "[net]\nbatch=1\nwidth=416\n";
    ck_assert_nn(nn_model_load_memory(text, strlen(text), NULL, &m), NN_E_INVALID_MODEL);
}
END_TEST

START_TEST(test_inconsistent_models)
{
    expect_load_error("models/unsupported_op.onnx", NN_E_UNSUPPORTED, "FancyNewOp");
    expect_load_error("models/unsupported_op.onnx", NN_E_UNSUPPORTED, "fancy");
    expect_load_error("models/cycle.onnx", NN_E_INVALID_MODEL, "cycle");
    expect_load_error("models/dangling.onnx", NN_E_INVALID_MODEL, "nowhere");
    expect_load_error("models/short_raw_data.onnx", NN_E_INVALID_MODEL, "raw_data");
    expect_load_error("models/huge_dims.onnx", NN_E_LIMIT, "overflows");
    expect_load_error("models/future_opset.onnx", NN_E_UNSUPPORTED, "opset 99");
    expect_load_error("models/external_escape.onnx", NN_E_INVALID_MODEL, "leaves the model's folder");
}
END_TEST

START_TEST(test_limits)
{
    nn_load_options o;
    nn_load_options_init(&o, NN_LOAD_OPTIONS_VERSION);
    o.max_model_bytes = 16;
    nn_model *m = NULL;
    ck_assert_nn(nn_model_load(test_data_path("models/mlp.onnx"), &o, &m), NN_E_LIMIT);
    nn_load_options_init(&o, NN_LOAD_OPTIONS_VERSION);
    o.max_tensor_bytes = 8;
    ck_assert_nn(nn_model_load(test_data_path("models/typed_initializer.onnx"), &o, &m), NN_E_LIMIT);
}
END_TEST

START_TEST(test_good_encodings)
{
    nn_model *m = NULL;
    nn_session *s = NULL;
    const char *files[] = {"models/typed_initializer.onnx", "models/external_data.onnx"};
    for (int f = 0; f < 2; f++) {
        ck_assert_ok(nn_model_load(test_data_path(files[f]), NULL, &m));
        ck_assert_ok(nn_session_create(m, NULL, &s));
        ck_assert_ok(nn_session_run(s, 0, NULL, NULL));
        const nn_tensor *y = nn_session_output(s, 0);
        ck_assert_ptr_nonnull(y);
        ck_assert_int_eq(nn_tensor_count(y), 6);
        const float *p = nn_tensor_data_const(y);
        for (int i = 0; i < 6; i++)
            ck_assert_float_eq(p[i], (float)i);
        nn_session_free(s);
        nn_model_free(m);
    }
    /* external data cannot be resolved from memory */
    size_t size;
    uint8_t *bytes = test_read_file(test_data_path("models/external_data.onnx"), &size);
    ck_assert_nn(nn_model_load_memory(bytes, size, NULL, &m), NN_E_UNSUPPORTED);
    ck_assert(strstr(nn_last_error(), "external") != NULL);
    free(bytes);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("load_errors");
    TCase *tc = tcase_create("files");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_empty);
    tcase_add_test(tc, test_truncated_every_length);
    tcase_add_test(tc, test_random_bytes);
    tcase_add_test(tc, test_bit_flips);
    tcase_add_test(tc, test_wrong_type_files);
    tcase_add_test(tc, test_inconsistent_models);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_good_encodings);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
