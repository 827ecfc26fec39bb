/* tool.h — shared pieces of nn-tool's subcommands (public API only). */
#ifndef NN_TOOL_H
#define NN_TOOL_H

#include <stdbool.h>
#include <stdio.h>

#include <nn.h>

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_replace_input(int argc, char **argv);
int cmd_replace_head(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_eval_detect(int argc, char **argv);

/** Print "nn-tool: <what>: <nn_last_error()>" to stderr; returns 1. */
int tool_fail(const char *what);
/** Load a model (with the --weights file if given), printing the error on failure. */
nn_model *tool_load(const char *path);
/** A session on m with `threads` threads (0 = nn's default), printing the error on failure (NULL). */
nn_session *tool_session(const nn_model *m, int threads);
/** Print graph input (or output) i's shape as [1,3,H,W] into buf, symbolic dims by name ("?" if unnamed). */
const char *tool_io_shape(const nn_model *m, bool input, uint32_t i, char *buf, size_t cap);
/** Print a tensor's shape as [a,b,c] into buf. */
const char *tool_shape(const nn_tensor *t, char *buf, size_t cap);

#endif
