/*
 * check_crash.c — nothing lost when the process dies while saving: a child
 * process saving a model over a good file is killed mid-write (by SIGXFSZ
 * when it passes a file-size limit, and by SIGKILL at random moments of a
 * save loop); afterwards the file is, byte for byte, either the old model or
 * the new one, and loads. (Failures the process survives — full disk, no
 * memory — are in check_edit and check_oom.)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

static char path[512];

static void setup(void) { snprintf(path, sizeof path, "%s/model.onnx", test_tmpdir_make("nn_crash")); }

typedef struct image {
    void *bytes;
    size_t size;
} image;

static image serialize(const nn_model *m)
{
    image im;
    ck_assert_ok(nn_model_save_memory(m, &im.bytes, &im.size));
    return im;
}

/* The file is exactly one of the images (index returned), and loads. */
static int file_is_one_of(const image *imgs, int n)
{
    size_t size;
    uint8_t *got = test_read_file(path, &size);
    int which = -1;
    for (int i = 0; i < n && which < 0; i++)
        if (size == imgs[i].size && memcmp(got, imgs[i].bytes, size) == 0)
            which = i;
    free(got);
    ck_assert_msg(which >= 0, "the file is neither the old nor the new model (%zu bytes)", size);
    nn_model *m;
    ck_assert_ok(nn_model_load(path, NULL, &m));
    nn_model_free(m);
    return which;
}

START_TEST(test_killed_at_file_size_limit)
{
    nn_model *small, *big;
    ck_assert_ok(nn_model_load(test_data_path("models/mlp.onnx"), NULL, &small));
    ck_assert_ok(nn_model_load(test_data_path("models/edit/cnn_flat.onnx"), NULL, &big));
    image imgs[2] = {serialize(small), serialize(big)};
    ck_assert_uint_gt(imgs[1].size, 1024);
    ck_assert_uint_lt(imgs[0].size, 1024);
    ck_assert_ok(nn_model_save(small, path));
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the default action of SIGXFSZ kills the process inside write() */
        signal(SIGXFSZ, SIG_DFL);
        struct rlimit lim = {1024, 1024};
        setrlimit(RLIMIT_FSIZE, &lim);
        nn_model_save(big, path);
        _exit(0); /* not reached when the limit bites */
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ, "the child was not killed mid-write");
    ck_assert_int_eq(file_is_one_of(imgs, 2), 0);
    /* a crash may leave its temporary behind (never the target): the next save still works */
    ck_assert_ok(nn_model_save(big, path));
    ck_assert_int_eq(file_is_one_of(imgs, 2), 1);
    printf("killed at the file-size limit: old file intact, %d temporary file(s) left\n", test_tmpdir_count(".tmp-"));
    free(imgs[0].bytes);
    free(imgs[1].bytes);
    nn_model_free(small);
    nn_model_free(big);
}
END_TEST

START_TEST(test_killed_at_random_moments)
{
    nn_model *a, *b;
    ck_assert_ok(nn_model_load(test_data_path("models/edit/cnn_flat.onnx"), NULL, &a));
    ck_assert_ok(nn_model_load(test_data_path("models/edit/cnn_gap.onnx"), NULL, &b));
    image imgs[2] = {serialize(a), serialize(b)};
    ck_assert_ok(nn_model_save(a, path));
    unsigned seed = (unsigned)time(NULL);
    int seen[2] = {0, 0};
    for (int round = 0; round < 25; round++) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            for (int i = 0;; i++)
                nn_model_save(i % 2 ? a : b, path);
        }
        struct timespec ts = {0, (long)(rand_r(&seed) % 20000) * 1000};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        seen[file_is_one_of(imgs, 2)]++;
    }
    printf("killed 25 saving processes: the file was the old/new model %d/%d times, never a mix\n", seen[0], seen[1]);
    free(imgs[0].bytes);
    free(imgs[1].bytes);
    nn_model_free(a);
    nn_model_free(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("crash");
    TCase *tc = tcase_create("save");
    tcase_add_checked_fixture(tc, setup, test_tmpdir_remove);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_killed_at_file_size_limit);
    tcase_add_test(tc, test_killed_at_random_moments);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return test_run_suite(suite()); }
