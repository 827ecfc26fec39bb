/*
 * jpeg.c — JPEG decoding through libjpeg(-turbo). A custom error manager turns
 * fatal errors into a longjmp back here and keeps every message (nothing is
 * printed, nothing exits); warnings that mean lost image data (premature end,
 * corrupt entropy data) are fatal too, others are ignored. A progress hook
 * caps the number of progressive scans (a CPU-time bomb otherwise).
 */
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h> /* jpeglib.h needs size_t and FILE first */
#include <string.h>

#include <jpeglib.h>
#include <jerror.h> /* after jpeglib.h: its message list depends on jconfig.h */

#include "image/image.h"

#define MAX_SCANS 500

/* Heap-allocated, so its fields keep their values across the longjmp. */
typedef struct jpeg_ctx {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr err;
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    nn_status status; /* of the failure that longjmp'd */
    char message[JMSG_LENGTH_MAX + 64];
    nn_image *image;
    uint8_t *row; /* CMYK scanline before conversion */
    /* libjpeg's own allocators, wrapped so that the OOM tests reach them */
    void *(*alloc_small)(j_common_ptr, int, size_t);
    void *(*alloc_large)(j_common_ptr, int, size_t);
    JSAMPARRAY (*alloc_sarray)(j_common_ptr, int, JDIMENSION, JDIMENSION);
} jpeg_ctx;

bool nni_jpeg_signature(const uint8_t *data, size_t size)
{
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

static jpeg_ctx *ctx_of(j_common_ptr cinfo) { return (jpeg_ctx *)(void *)cinfo; /* cinfo is the first member */ }

static void fail(j_common_ptr cinfo, nn_status status, const char *what)
{
    jpeg_ctx *c = ctx_of(cinfo);
    char text[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, text);
    c->status = status;
    snprintf(c->message, sizeof c->message, "%s: %s", what, text);
    longjmp(c->jump, 1);
}

static void on_error_exit(j_common_ptr cinfo)
{
    int code = cinfo->err->msg_code;
    if (code == JERR_OUT_OF_MEMORY)
        fail(cinfo, NN_E_NOMEM, "out of memory decoding the JPEG");
    if (code == JERR_INPUT_EOF)
        fail(cinfo, NN_E_PARSE, "truncated JPEG");
    if (code == JERR_BAD_PRECISION || code == JERR_SOF_UNSUPPORTED || code == JERR_CONVERSION_NOTIMPL)
        fail(cinfo, NN_E_UNSUPPORTED, "unsupported JPEG"); /* 12-bit, lossless, odd colour spaces */
    fail(cinfo, NN_E_PARSE, "corrupt JPEG");
}

/* Warnings that mean the pixels are not what the file meant. */
static bool fatal_warning(int code)
{
#if JPEG_LIB_VERSION >= 70 || defined(C_ARITH_CODING_SUPPORTED) || defined(D_ARITH_CODING_SUPPORTED)
    if (code == JWRN_ARITH_BAD_CODE)
        return true;
#endif
    return code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE || code == JWRN_MUST_RESYNC ||
           code == JWRN_NOT_SEQUENTIAL;
}

static void on_emit_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return; /* trace messages */
    int code = cinfo->err->msg_code;
    if (code == JWRN_JPEG_EOF)
        fail(cinfo, NN_E_PARSE, "truncated JPEG");
    if (fatal_warning(code))
        fail(cinfo, NN_E_PARSE, "corrupt JPEG");
    cinfo->err->num_warnings++;
}

static void on_output_message(j_common_ptr cinfo) { NNI_UNUSED(cinfo); }

static void on_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        jpeg_ctx *c = ctx_of(cinfo);
        c->status = NN_E_LIMIT;
        snprintf(c->message, sizeof c->message, "the JPEG has more than %d scans", MAX_SCANS);
        longjmp(c->jump, 1);
    }
}

static int orientation_of(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return nni_exif_orientation(m->data + 6, m->data_length - 6);
    return 1;
}

/* Ink to light, as Pillow's CMYK -> RGB: R = (255-C)(255-K)/255. Adobe files store inverted ink. */
static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, int32_t width, bool inverted)
{
    for (int32_t x = 0; x < width; x++, in += 4, out += 3) {
        unsigned k = inverted ? in[3] : 255u - in[3];
        for (int i = 0; i < 3; i++) {
            unsigned v = inverted ? in[i] : 255u - in[i];
            out[i] = (uint8_t)((v * k + 127) / 255);
        }
    }
}

/* Pick the output colour space: gray stays gray, CMYK/YCCK come out as CMYK (converted per row), the rest RGB. */
static nn_status choose_color(j_decompress_ptr cinfo, int *channels)
{
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        *channels = 1;
        return NN_OK;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        *channels = 3;
        return NN_OK;
    case JCS_RGB:
    case JCS_YCbCr:
        cinfo->out_color_space = JCS_RGB;
        *channels = 3;
        return NN_OK;
    default:
        return nni_error(NN_E_UNSUPPORTED, "JPEG colour space %d with %d components is not supported",
                         (int)cinfo->jpeg_color_space, cinfo->num_components);
    }
}

static nn_status read_rows(jpeg_ctx *c)
{
    j_decompress_ptr cinfo = &c->cinfo;
    nn_image *im = c->image;
    bool cmyk = cinfo->out_color_space == JCS_CMYK;
    if (cmyk && !(c->row = nni_malloc((size_t)im->width * 4)))
        return nni_error(NN_E_NOMEM, "cannot allocate a JPEG scanline");
    size_t stride = nni_image_row_bytes(im);
    while (cinfo->output_scanline < cinfo->output_height) {
        uint8_t *dst = im->data + (size_t)cinfo->output_scanline * stride;
        JSAMPROW row = cmyk ? c->row : dst;
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return nni_error(NN_E_PARSE, "truncated JPEG: no data for row %u", cinfo->output_scanline);
        if (cmyk)
            cmyk_to_rgb(c->row, dst, im->width, cinfo->saw_Adobe_marker);
    }
    jpeg_finish_decompress(cinfo);
    return NN_OK;
}

/* Everything that may longjmp. */
static nn_status decode(jpeg_ctx *c, const uint8_t *data, size_t size, const nni_decode_opts *opts, int *orientation)
{
    j_decompress_ptr cinfo = &c->cinfo;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    *orientation = opts->apply_orientation ? orientation_of(cinfo) : 1; /* saved markers die with the image pool */
    nn_status st = nni_image_check_size(cinfo->image_width, cinfo->image_height, opts->max_pixels);
    int channels = 0;
    if (st == NN_OK)
        st = choose_color(cinfo, &channels);
    if (st != NN_OK)
        return st;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width != cinfo->image_width || cinfo->output_height != cinfo->image_height)
        return nni_error(NN_E_INTERNAL, "libjpeg scaled the image");
    if ((st = nni_image_new((int32_t)cinfo->output_width, (int32_t)cinfo->output_height, channels, NN_DTYPE_UINT8,
                            &c->image)) != NN_OK)
        return st;
    return read_rows(c);
}

/* libjpeg takes its memory from malloc (jmemnobs.c) with no hook to replace
 * it; its pool methods are wrapped instead, so that nni_alloc_fail_after()
 * can fail them like nn's own allocations (a failure is JERR_OUT_OF_MEMORY). */
static void *wrap_alloc_small(j_common_ptr cinfo, int pool, size_t n)
{
    if (nni_alloc_inject_failure())
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    return ctx_of(cinfo)->alloc_small(cinfo, pool, n);
}

static void *wrap_alloc_large(j_common_ptr cinfo, int pool, size_t n)
{
    if (nni_alloc_inject_failure())
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    return ctx_of(cinfo)->alloc_large(cinfo, pool, n);
}

static JSAMPARRAY wrap_alloc_sarray(j_common_ptr cinfo, int pool, JDIMENSION width, JDIMENSION rows)
{
    if (nni_alloc_inject_failure())
        ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    return ctx_of(cinfo)->alloc_sarray(cinfo, pool, width, rows);
}

static void wrap_allocators(jpeg_ctx *c)
{
    struct jpeg_memory_mgr *mem = c->cinfo.mem;
    c->alloc_small = mem->alloc_small;
    c->alloc_large = mem->alloc_large;
    c->alloc_sarray = mem->alloc_sarray;
    mem->alloc_small = wrap_alloc_small;
    mem->alloc_large = wrap_alloc_large;
    mem->alloc_sarray = wrap_alloc_sarray;
}

static void init_ctx(jpeg_ctx *c)
{
    c->cinfo.err = jpeg_std_error(&c->err);
    c->err.error_exit = on_error_exit;
    c->err.emit_message = on_emit_message;
    c->err.output_message = on_output_message;
    c->progress.progress_monitor = on_progress;
}

nn_status nni_jpeg_decode(const uint8_t *data, size_t size, const nni_decode_opts *opts, nn_image **out)
{
    if ((unsigned long)size != size)
        return nni_error(NN_E_LIMIT, "%zu bytes is too large for libjpeg", size);
    jpeg_ctx *c = nni_calloc(1, sizeof *c);
    if (!c)
        return nni_error(NN_E_NOMEM, "cannot allocate a JPEG decoder");
    init_ctx(c);
    nn_status st;
    int orientation = 1;
    if (setjmp(c->jump)) {
        st = nni_error(c->status, "%s", c->message);
    } else {
        jpeg_create_decompress(&c->cinfo);
        wrap_allocators(c);
        c->cinfo.progress = &c->progress;
        st = decode(c, data, size, opts, &orientation);
    }
    jpeg_destroy_decompress(&c->cinfo); /* safe if creation failed: the zeroed struct has no memory manager */
    nni_free(c->row);
    nn_image *im = c->image;
    nni_free(c);
    if (st == NN_OK && orientation != 1)
        st = nni_image_orient(&im, orientation);
    if (st != NN_OK) {
        nn_image_free(im);
        return st;
    }
    *out = im;
    return NN_OK;
}
