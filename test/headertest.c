/* headertest.c — nn.h compiles alone, pedantic, as C and as C++ (see CMakeLists). */
#include <nn.h>

int nn_headertest_dummy(void);
int nn_headertest_dummy(void) { return NN_OK + (int)sizeof(nn_load_options) + (int)sizeof(nn_session_options); }

/* NN_DEPRECATED expands to something every supported compiler accepts. */
NN_DEPRECATED("use nn_headertest_dummy") int nn_headertest_old(void);
