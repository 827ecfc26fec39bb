/*
 * png.c — PNG decoding through libpng. libpng reports errors by longjmp: the
 * error, warning and read callbacks below keep every message in our context
 * (nothing is printed) and all memory goes through nni_malloc.
 */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "image/image.h"

/* What libpng may allocate at once: a chunk's declared length is allocated
 * before the chunk is read (a 43-byte file asked for 1.2 GB, and libpng's
 * own chunk cap does not cover every chunk type), so no allocation may
 * exceed the file's size (or this floor, for decompressed text and ICC
 * profiles) until the header passed the pixel budget; then rows of the
 * image are allowed too. */
#define PNG_ALLOC_FLOOR ((size_t)8 << 20)

/* Heap-allocated, so its fields keep their values across the longjmp (automatic
 * variables changed after setjmp would be indeterminate). */
typedef struct png_ctx {
    const uint8_t *data;
    size_t size, pos;
    bool truncated, oom, over_cap;
    size_t alloc_cap;   /* largest single allocation libpng may make now */
    size_t refused;     /* the allocation refused for being over it */
    char error[160];   /* libpng's error message */
    char warning[160]; /* its last warning: often the detail behind a generic error */
    nn_image *image;
    png_bytep *rows;
} png_ctx;

bool nni_png_signature(const uint8_t *data, size_t size) { return size >= 8 && png_sig_cmp(data, 0, 8) == 0; }

static void on_error(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->error, sizeof c->error, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    png_ctx *c = png_get_error_ptr(png);
    snprintf(c->warning, sizeof c->warning, "%s", msg);
}

static void on_read(png_structp png, png_bytep out, size_t n)
{
    png_ctx *c = png_get_io_ptr(png);
    if (n > c->size - c->pos) {
        c->truncated = true;
        png_error(png, "read past the end of the data");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t n)
{
    png_ctx *c = png_get_mem_ptr(png);
    if (n > c->alloc_cap) {
        c->over_cap = true;
        c->refused = n;
        return NULL;
    }
    void *p = nni_malloc(n);
    if (!p)
        c->oom = true;
    return p;
}

static void on_free(png_structp png, png_voidp p)
{
    NNI_UNUSED(png);
    nni_free(p);
}

/* Ask libpng for 8-bit gray/GA/RGB/RGBA or the same at 16 bits in native order. */
static void set_transforms(png_structp png, png_infop info)
{
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
        if (png_get_valid(png, info, PNG_INFO_tRNS))
            png_set_tRNS_to_alpha(png); /* palette transparency becomes RGBA, as Pillow's convert("RGBA") */
    }
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (depth == 16)
        png_set_swap(png);
#endif
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
}

static nn_status error_status(const png_ctx *c)
{
    if (c->over_cap && c->refused > c->size)
        return nni_error(NN_E_PARSE, "corrupt PNG: a chunk claims %zu bytes, more than the %zu-byte file holds",
                         c->refused, c->size);
    if (c->over_cap)
        return nni_error(NN_E_LIMIT, "the PNG asks for %zu bytes at once, over the limit of %zu", c->refused,
                         c->alloc_cap);
    if (c->oom)
        return nni_error(NN_E_NOMEM, "out of memory while decoding the PNG");
    if (c->truncated)
        return nni_error(NN_E_PARSE, "truncated PNG: the data ends before the image is complete");
    if (c->warning[0])
        return nni_error(NN_E_PARSE, "corrupt PNG: %s (%s)", c->error, c->warning);
    return nni_error(NN_E_PARSE, "corrupt PNG: %s", c->error);
}

/* The part between setjmp and the end; any libpng error longjmps out of it. */
static nn_status read_png(png_structp png, png_infop info, const nni_decode_opts *opts, png_ctx *c)
{
    nn_image **im = &c->image;
    png_bytep **rows = &c->rows;
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff); /* our pixel budget decides, not libpng's default */
    /* A chunk's declared length is allocated before its bytes are read
     * (found by fuzz_png: a 1.6 GB claim, a 1.2 GB sPLT): libpng may allocate
     * no more than the cap, which grows only once the header passed the budget. */
    png_set_chunk_malloc_max(png, c->alloc_cap);
    png_set_chunk_cache_max(png, 128); /* ancillary chunks kept (sPLT, text, unknown) */
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    nn_status st = nni_image_check_size(w, h, opts->max_pixels);
    if (st != NN_OK)
        return st;
    /* within the budget: libpng's row buffers (up to 8 bytes a pixel, a few rows) may come */
    c->alloc_cap += (size_t)w * 8 * 4 + 4096;
    set_transforms(png, info);
    int channels = png_get_channels(png, info);
    nn_dtype dtype = png_get_bit_depth(png, info) == 16 ? NN_DTYPE_UINT16 : NN_DTYPE_UINT8;
    if ((st = nni_image_new((int32_t)w, (int32_t)h, channels, dtype, im)) != NN_OK)
        return st;
    size_t stride = nni_image_row_bytes(*im);
    if (png_get_rowbytes(png, info) != stride)
        return nni_error(NN_E_INTERNAL, "libpng rows are %zu bytes, expected %zu", (size_t)png_get_rowbytes(png, info),
                         stride);
    if (!(*rows = nni_malloc((size_t)h * sizeof **rows)))
        return nni_error(NN_E_NOMEM, "cannot allocate the PNG row table");
    for (png_uint_32 y = 0; y < h; y++)
        (*rows)[y] = (*im)->data + (size_t)y * stride;
    png_read_image(png, *rows);
    png_read_end(png, NULL); /* checks the rest of the stream: trailing chunks, CRCs */
    return NN_OK;
}

nn_status nni_png_decode(const uint8_t *data, size_t size, const nni_decode_opts *opts, nn_image **out)
{
    png_ctx *c = nni_calloc(1, sizeof *c);
    if (!c)
        return nni_error(NN_E_NOMEM, "cannot allocate a PNG decoder");
    c->data = data;
    c->size = size;
    c->alloc_cap = size > PNG_ALLOC_FLOOR ? size : PNG_ALLOC_FLOOR;
    png_structp png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, c, on_error, on_warning, c, on_malloc, on_free);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    nn_status st;
    if (!info) {
        st = nni_error(NN_E_NOMEM, "cannot allocate a PNG decoder");
    } else if (setjmp(png_jmpbuf(png))) {
        st = error_status(c);
    } else {
        png_set_read_fn(png, c, on_read);
        st = read_png(png, info, opts, c);
    }
    png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
    nni_free(c->rows);
    if (st == NN_OK)
        *out = c->image;
    else
        nn_image_free(c->image);
    nni_free(c);
    return st;
}
