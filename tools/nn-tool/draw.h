/* draw.h — annotated copies of images (boxes and labels of detections). */
#ifndef NN_TOOL_DRAW_H
#define NN_TOOL_DRAW_H

#include <nn.h>

/** A new 8-bit RGB copy of `image` with each detection's frame and caption; NULL on failure. */
nn_image *draw_detections(const nn_image *image, const nn_detections *detections);

#endif
