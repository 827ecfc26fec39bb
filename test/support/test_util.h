/* test_util.h — helpers shared by the Check suites. */
#ifndef NN_TEST_UTIL_H
#define NN_TEST_UTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include <nn.h>

/** Path of a file under test/data (static buffer per call site is fine: copied). */
const char *test_data_path(const char *rel);
/** Read a whole file into malloc'd memory; aborts the test on failure. */
uint8_t *test_read_file(const char *path, size_t *size);
/**
 * Make a fresh folder /tmp/<prefix>_XXXXXX for the running test (call it in
 * a Check fixture's setup); aborts the test on failure. Returns its path.
 */
const char *test_tmpdir_make(const char *prefix);
/** Remove the folder test_tmpdir_make made, with everything in it. */
void test_tmpdir_remove(void);
/** "<that folder>/<name>"; each thread uses 4 buffers in turn, so 4 paths can be held at once. */
const char *test_tmp_path(const char *name);
/** Entries of that folder whose name contains `needle` ("" counts them all). */
int test_tmpdir_count(const char *needle);
/** Run a suite; returns the number of failures (main's exit code). */
int test_run_suite(Suite *s);
/** Assert a status, showing nn_last_error() on mismatch. */
#define ck_assert_nn(expr, want)                                                                            \
    do {                                                                                                    \
        nn_status st_ = (expr);                                                                             \
        ck_assert_msg(st_ == (want), "%s returned %d (%s), expected %d: %s", #expr, (int)st_,              \
                      nn_status_string(st_), (int)(want), nn_last_error());                                 \
    } while (0)
#define ck_assert_ok(expr) ck_assert_nn(expr, NN_OK)

#endif
