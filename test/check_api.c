/* check_api.c — version, status strings, errors, tensors, options structs. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "test_util.h"

START_TEST(test_version)
{
    ck_assert_uint_eq(nn_version_number(), NN_VERSION_NUMBER);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", NN_VERSION_MAJOR, NN_VERSION_MINOR, NN_VERSION_PATCH);
    ck_assert_str_eq(nn_version(), want);
}
END_TEST

START_TEST(test_status_strings)
{
    for (int s = NN_E_INTERNAL; s <= NN_OK; s++) {
        ck_assert_ptr_nonnull(nn_status_string(s));
        ck_assert_str_ne(nn_status_string(s), "unknown status");
    }
    ck_assert_str_eq(nn_status_string(-999), "unknown status");
    ck_assert_ptr_nonnull(nn_last_error());
}
END_TEST

START_TEST(test_tensor_create)
{
    int64_t dims[3] = {2, 3, 4};
    nn_tensor *t = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_FLOAT32, 3, dims, &t));
    ck_assert_int_eq(nn_tensor_rank(t), 3);
    ck_assert_int_eq(nn_tensor_dim(t, 1), 3);
    ck_assert_int_eq(nn_tensor_dim(t, -1), 4);
    ck_assert_int_eq(nn_tensor_dim(t, 3), -1);
    ck_assert_int_eq(nn_tensor_count(t), 24);
    ck_assert_uint_eq(nn_tensor_nbytes(t), 96);
    const float *p = nn_tensor_data(t);
    for (int i = 0; i < 24; i++)
        ck_assert_float_eq(p[i], 0.0f);
    ck_assert_ok(nn_tensor_set_name(t, "hello"));
    ck_assert_str_eq(nn_tensor_name(t), "hello");
    nn_tensor_free(t);
    nn_tensor_free(NULL); /* no-op */
}
END_TEST

START_TEST(test_tensor_bad_args)
{
    int64_t dims[2] = {2, -1};
    nn_tensor *t = (nn_tensor *)1;
    ck_assert_nn(nn_tensor_create(NN_DTYPE_FLOAT32, 2, dims, &t), NN_E_LIMIT);
    ck_assert_ptr_null(t);
    ck_assert(strstr(nn_last_error(), "nn_tensor_create") != NULL);
    int64_t huge[2] = {INT64_C(1) << 40, INT64_C(1) << 40};
    ck_assert_nn(nn_tensor_create(NN_DTYPE_FLOAT32, 2, huge, &t), NN_E_LIMIT);
    ck_assert_nn(nn_tensor_create(NN_DTYPE_FLOAT32, NN_MAX_RANK + 1, huge, &t), NN_E_LIMIT);
    ck_assert_nn(nn_tensor_create(999, 1, dims, &t), NN_E_TYPE);
    ck_assert_nn(nn_tensor_create(NN_DTYPE_FLOAT32, 1, dims, NULL), NN_E_INVALID_ARG);
    int64_t one = 4;
    ck_assert_nn(nn_tensor_wrap(NN_DTYPE_FLOAT32, 1, &one, NULL, &t), NN_E_INVALID_ARG);
    char buf[32];
    ck_assert_nn(nn_tensor_wrap(NN_DTYPE_FLOAT32, 1, &one, buf + 1, &t), NN_E_INVALID_ARG); /* misaligned */
}
END_TEST

START_TEST(test_tensor_wrap_keeps_caller_memory)
{
    float data[6] = {1, 2, 3, 4, 5, 6};
    int64_t dims[2] = {2, 3};
    nn_tensor *t = NULL;
    ck_assert_ok(nn_tensor_wrap(NN_DTYPE_FLOAT32, 2, dims, data, &t));
    ck_assert_ptr_eq(nn_tensor_data(t), data);
    nn_tensor_free(t); /* must not free `data` (ASan would flag a bad free) */
    ck_assert_float_eq(data[5], 6.0f);
}
END_TEST

START_TEST(test_tensor_file_roundtrip)
{
    int64_t dims[2] = {3, 5};
    nn_tensor *t = NULL, *r = NULL;
    ck_assert_ok(nn_tensor_create(NN_DTYPE_INT64, 2, dims, &t));
    int64_t *p = nn_tensor_data(t);
    for (int i = 0; i < 15; i++)
        p[i] = (int64_t)i * 1000000007LL - 7;
    ck_assert_ok(nn_tensor_set_name(t, "ids"));
    char path[] = "/tmp/nn_tensor_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_ok(nn_tensor_write_file(t, path));
    ck_assert_ok(nn_tensor_read_file(path, &r));
    ck_assert_int_eq(nn_tensor_dtype(r), NN_DTYPE_INT64);
    ck_assert_int_eq(nn_tensor_dim(r, 0), 3);
    ck_assert_int_eq(nn_tensor_dim(r, 1), 5);
    ck_assert_str_eq(nn_tensor_name(r), "ids");
    ck_assert_mem_eq(nn_tensor_data(r), p, 15 * sizeof(int64_t));
    nn_tensor_free(t);
    nn_tensor_free(r);
    unlink(path);
}
END_TEST

START_TEST(test_tensor_read_errors)
{
    nn_tensor *t = NULL;
    ck_assert_nn(nn_tensor_read_file("/nonexistent/x.pb", &t), NN_E_IO);
    ck_assert(strstr(nn_last_error(), "/nonexistent/x.pb") != NULL);
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    ck_assert_nn(nn_tensor_read_memory(junk, sizeof junk, &t), NN_E_PARSE);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_options_init)
{
    nn_load_options lo;
    ck_assert_ok(nn_load_options_init(&lo, NN_LOAD_OPTIONS_VERSION));
    ck_assert_uint_eq(lo.version, NN_LOAD_OPTIONS_VERSION);
    ck_assert_nn(nn_load_options_init(&lo, 999), NN_E_INVALID_ARG);
    ck_assert_nn(nn_load_options_init(NULL, NN_LOAD_OPTIONS_VERSION), NN_E_INVALID_ARG);
    nn_session_options so;
    ck_assert_ok(nn_session_options_init(&so, NN_SESSION_OPTIONS_VERSION));
    ck_assert_int_eq(so.num_threads, 0);
    /* a struct from a newer library version is refused with a clear message */
    lo.version = NN_LOAD_OPTIONS_VERSION + 1;
    nn_model *m = NULL;
    ck_assert_nn(nn_model_load(test_data_path("models/identity.onnx"), &lo, &m), NN_E_INVALID_ARG);
    ck_assert(strstr(nn_last_error(), "version") != NULL);
}
END_TEST

START_TEST(test_dtype_info)
{
    ck_assert_str_eq(nn_dtype_name(NN_DTYPE_FLOAT32), "float32");
    ck_assert_uint_eq(nn_dtype_size(NN_DTYPE_INT64), 8);
    ck_assert_uint_eq(nn_dtype_size(NN_DTYPE_BOOL), 1);
    ck_assert_uint_eq(nn_dtype_size(12345), 0);
    ck_assert_str_eq(nn_dtype_name(12345), "unknown");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_tensor_create);
    tcase_add_test(tc, test_tensor_bad_args);
    tcase_add_test(tc, test_tensor_wrap_keeps_caller_memory);
    tcase_add_test(tc, test_tensor_file_roundtrip);
    tcase_add_test(tc, test_tensor_read_errors);
    tcase_add_test(tc, test_options_init);
    tcase_add_test(tc, test_dtype_info);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
