/*
 * png_write.c — nn_image_save(): PNG encoding through libpng (gray, gray +
 * alpha, RGB, RGBA; 8 or 16 bits). Errors come back as messages, never
 * printed; libpng's longjmp is kept inside this file.
 */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "image/image.h"

typedef struct wctx {
    char error[160];
    png_bytep *rows;
    FILE *f;
} wctx;

static void on_error(png_structp png, png_const_charp msg)
{
    wctx *c = png_get_error_ptr(png);
    snprintf(c->error, sizeof c->error, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* The libpng part; returns false with c->error set on failure. */
static bool write_png(wctx *c, const nn_image *im)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, on_error, on_warning);
    if (!png) {
        snprintf(c->error, sizeof c->error, "cannot create a PNG writer");
        return false;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(c->error, sizeof c->error, "cannot create a PNG writer");
        return false;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return false;
    }
    static const int color_types[] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                      PNG_COLOR_TYPE_RGB_ALPHA};
    int depth = im->dtype == NN_DTYPE_UINT16 ? 16 : 8;
    png_init_io(png, c->f);
    png_set_IHDR(png, info, (png_uint_32)im->width, (png_uint_32)im->height, depth, color_types[im->channels],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (depth == 16) {
        const uint16_t one = 1;
        if (*(const uint8_t *)&one == 1)
            png_set_swap(png); /* PNG stores big-endian samples */
    }
    png_write_image(png, c->rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return true;
}

NN_API nn_status nn_image_save(const nn_image *image, const char *path)
{
    nni_error_clear();
    if (!image || !path)
        return nni_error(NN_E_INVALID_ARG, "nn_image_save: image or path is NULL");
    if (!has_suffix(path, ".png"))
        return nni_error(NN_E_UNSUPPORTED, "nn_image_save: '%s': only .png files can be written", path);
    wctx c;
    memset(&c, 0, sizeof c);
    c.rows = nni_malloc((size_t)image->height * sizeof *c.rows);
    if (!c.rows)
        return nni_error(NN_E_NOMEM, "nn_image_save: out of memory");
    for (int32_t y = 0; y < image->height; y++)
        c.rows[y] = image->data + (size_t)y * nni_image_row_bytes(image);
    c.f = fopen(path, "wb");
    if (!c.f) {
        nni_free(c.rows);
        return nni_error(NN_E_IO, "nn_image_save: cannot create '%s': %s", path, strerror(errno));
    }
    bool ok = write_png(&c, image);
    bool closed = fclose(c.f) == 0;
    nni_free(c.rows);
    if (!ok || !closed) {
        remove(path);
        return nni_error(NN_E_IO, "nn_image_save: cannot write '%s': %s", path, ok ? strerror(errno) : c.error);
    }
    return NN_OK;
}
