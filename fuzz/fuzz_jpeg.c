/* fuzz_jpeg.c — libFuzzer target: JPEG decoding from memory (libjpeg-turbo, EXIF orientation). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_image_input(data, size, 2); }
