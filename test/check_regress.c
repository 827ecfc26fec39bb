/*
 * check_regress.c — every input that once crashed, hung or over-allocated
 * in nn (found by fuzzing or reported) is a file in test/data/regress/<kind>/
 * named NAME.STATUS[.ext]: loading it (and running it, for models that load)
 * must end with exactly that status (OK, PARSE, INVALID_MODEL, LIMIT, ...),
 * with a message when it fails and no object handed out. Kinds:
 *   onnx    a model file (nn_model_load_memory, then a run on zeros)
 *   darknet cfg text, a NUL byte, the weights file (as fuzz/fuzz_darknet.c)
 *   tensor  a TensorProto (nn_tensor_read_memory)
 *   png, jpeg  an image (nn_image_load_memory)
 * The loads use the fuzz targets' limits (fuzz/fuzz_common.h). The same files
 * are also replayed through the fuzz targets themselves (ctest fuzz_replay_*).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "test_util.h"

static const struct {
    const char *name;
    nn_status status;
} statuses[] = {
    {"OK", NN_OK}, {"INVALID_ARG", NN_E_INVALID_ARG}, {"NOMEM", NN_E_NOMEM}, {"IO", NN_E_IO}, {"PARSE", NN_E_PARSE},
    {"INVALID_MODEL", NN_E_INVALID_MODEL}, {"UNSUPPORTED", NN_E_UNSUPPORTED}, {"SHAPE", NN_E_SHAPE},
    {"TYPE", NN_E_TYPE}, {"LIMIT", NN_E_LIMIT}, {"NOT_FOUND", NN_E_NOT_FOUND}, {"STATE", NN_E_STATE},
};

/* NAME.STATUS[.ext] -> the status; fails the test for a malformed name. */
static nn_status expected_status(const char *file)
{
    const char *dot = strchr(file, '.');
    ck_assert_msg(dot != NULL, "%s: name it NAME.STATUS[.ext]", file);
    char word[32];
    size_t n = strcspn(dot + 1, ".");
    ck_assert_msg(n < sizeof word, "%s: bad status", file);
    memcpy(word, dot + 1, n);
    word[n] = '\0';
    for (size_t i = 0; i < sizeof statuses / sizeof *statuses; i++)
        if (strcmp(word, statuses[i].name) == 0)
            return statuses[i].status;
    ck_abort_msg("%s: unknown status '%s'", file, word);
    return NN_E_INTERNAL;
}

/* Run on zero inputs of the declared shapes (symbolic dims = 2); the run's status. */
static nn_status run_zeros(nn_model *m)
{
    uint32_t n = nn_model_input_count(m);
    nn_tensor **in = calloc(n ? n : 1, sizeof *in);
    nn_status st = NN_OK;
    for (uint32_t i = 0; i < n && st == NN_OK; i++) {
        nn_dtype dtype;
        int32_t rank;
        ck_assert_ok(nn_model_input_info(m, i, NULL, &dtype, &rank));
        int64_t dims[NN_MAX_RANK] = {2}; /* unknown rank: a vector of 2 */
        for (int32_t d = 0; d < rank; d++) {
            ck_assert_ok(nn_model_input_dim(m, i, d, &dims[d], NULL));
            if (dims[d] < 0)
                dims[d] = 2;
        }
        st = nn_tensor_create(dtype, rank < 0 ? 1 : rank, dims, &in[i]);
    }
    nn_session *s = NULL;
    if (st == NN_OK)
        st = nn_session_create(m, NULL, &s);
    if (st == NN_OK)
        st = nn_session_run(s, n, NULL, (const nn_tensor *const *)in);
    nn_session_free(s);
    for (uint32_t i = 0; i < n; i++)
        nn_tensor_free(in[i]);
    free(in);
    return st;
}

/* Load with `o` (no model handed out on failure), then run on zeros. */
static nn_status load_and_run(const uint8_t *data, size_t size, const nn_load_options *o)
{
    nn_model *m = (nn_model *)1;
    nn_status st = nn_model_load_memory(data, size, o, &m);
    if (st != NN_OK) {
        ck_assert_ptr_null(m);
        return st;
    }
    st = run_zeros(m);
    nn_model_free(m);
    return st;
}

static nn_status try_onnx(const uint8_t *data, size_t size)
{
    nn_load_options o;
    fuzz_load_options(&o);
    return load_and_run(data, size, &o);
}

static nn_status try_darknet(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t cfg_len = nul ? (size_t)(nul - data) : size;
    nn_load_options o;
    fuzz_load_options(&o);
    o.format = NN_FORMAT_DARKNET;
    char path[] = "/tmp/nn_regress_XXXXXX";
    if (nul) {
        int fd = mkstemp(path);
        ck_assert_int_ge(fd, 0);
        size_t wlen = size - cfg_len - 1;
        ck_assert_int_eq(write(fd, nul + 1, wlen), (ssize_t)wlen);
        close(fd);
        o.weights_path = path;
    }
    nn_status st = load_and_run(data, cfg_len, &o);
    if (nul)
        unlink(path);
    return st;
}

static nn_status try_tensor(const uint8_t *data, size_t size)
{
    nn_tensor *t = (nn_tensor *)1;
    nn_status st = nn_tensor_read_memory(data, size, &t);
    if (st != NN_OK)
        ck_assert_ptr_null(t);
    nn_tensor_free(st == NN_OK ? t : NULL);
    return st;
}

static nn_status try_image(const uint8_t *data, size_t size)
{
    nn_image *im = (nn_image *)1;
    nn_status st = nn_image_load_memory(data, size, NULL, &im);
    if (st != NN_OK)
        ck_assert_ptr_null(im);
    nn_image_free(st == NN_OK ? im : NULL);
    return st;
}

static int replay_kind(const char *kind, nn_status (*fn)(const uint8_t *, size_t))
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", test_data_path("regress"));
    size_t dl = strlen(dir);
    snprintf(dir + dl, sizeof dir - dl, "/%s", kind);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no regressions of this kind (yet) */
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        nn_status want = expected_status(e->d_name);
        size_t size;
        uint8_t *bytes = test_read_file(path, &size);
        nn_status st = fn(bytes, size);
        free(bytes);
        ck_assert_msg(st == want, "%s/%s: got %d (%s), want %d: %s", kind, e->d_name, (int)st, nn_status_string(st),
                      (int)want, nn_last_error());
        if (st != NN_OK)
            ck_assert_msg(nn_last_error()[0] != '\0', "%s/%s: failed without a message", kind, e->d_name);
        count++;
    }
    closedir(d);
    return count;
}

START_TEST(test_regressions)
{
    int n = replay_kind("onnx", try_onnx);
    n += replay_kind("darknet", try_darknet);
    n += replay_kind("tensor", try_tensor);
    n += replay_kind("png", try_image);
    n += replay_kind("jpeg", try_image);
    ck_assert_int_gt(n, 0);
    printf("%d regression inputs replayed\n", n);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("regress");
    TCase *tc = tcase_create("regress");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_regressions);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
