/* fuzz_png.c — libFuzzer target: PNG decoding from memory (libpng behind nn_image_load_memory). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_image_input(data, size, 1); }
