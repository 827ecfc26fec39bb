/* color.h — float planes from an image (the start of preprocessing). */
#ifndef NNI_IMAGE_COLOR_H
#define NNI_IMAGE_COLOR_H

#include "image/image.h"

/** Planes nni_image_to_planes writes: 1 for gray images or a gray target, else 3 (R, G, B). */
int nni_image_plane_count(const nn_image *im, bool want_gray);
/** Write the image as planar floats on the 0-1 scale (alpha dropped; colour to luma if want_gray). */
void nni_image_to_planes(const nn_image *im, bool want_gray, float *planes);

#endif
