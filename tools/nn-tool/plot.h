/* plot.h — loss/accuracy curves as a PNG (tools only; libpng). */
#ifndef NN_TOOL_PLOT_H
#define NN_TOOL_PLOT_H

/** Draw `n` epochs of loss (left scale) and accuracy (right scale, 0..1) into a PNG; 0 or -1. */
int plot_training(const char *path, const float *loss, const float *acc, int n);

#endif
