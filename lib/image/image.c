/* image.c — the nn_image object: load options, format dispatch, creation, getters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "image/image.h"

#define DEFAULT_MAX_FILE_BYTES ((uint64_t)1 << 30)

NN_API nn_status nn_image_options_init(nn_image_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_image_options_init: options is NULL");
    if (version != NN_IMAGE_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_image_options_init: version %u is not supported (this library knows %d)",
                         version, NN_IMAGE_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->apply_orientation = 1;
    o->max_pixels = NN_IMAGE_DEFAULT_MAX_PIXELS;
    o->max_file_bytes = DEFAULT_MAX_FILE_BYTES;
    return NN_OK;
}

static nn_status resolve_options(const nn_image_options *in, nn_image_options *out)
{
    nn_image_options_init(out, NN_IMAGE_OPTIONS_VERSION);
    if (!in)
        return NN_OK;
    if (in->version < 1 || in->version > NN_IMAGE_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_image_options.version %u is not supported (expected 1..%d)", in->version,
                         NN_IMAGE_OPTIONS_VERSION);
    if (in->apply_orientation != 0 && in->apply_orientation != 1)
        return nni_error(NN_E_INVALID_ARG, "nn_image_options.apply_orientation must be 0 or 1, not %d",
                         (int)in->apply_orientation);
    out->apply_orientation = in->apply_orientation;
    if (in->max_pixels)
        out->max_pixels = in->max_pixels;
    if (in->max_file_bytes)
        out->max_file_bytes = in->max_file_bytes;
    return NN_OK;
}

nn_status nni_image_check_size(uint64_t width, uint64_t height, uint64_t max_pixels)
{
    if (width == 0 || height == 0)
        return nni_error(NN_E_PARSE, "the image is empty (%llux%llu pixels)", (unsigned long long)width,
                         (unsigned long long)height);
    if (width > INT32_MAX || height > INT32_MAX || width * height > max_pixels) /* both < 2^31: no overflow */
        return nni_error(NN_E_LIMIT, "%llux%llu pixels is over the budget of %llu pixels", (unsigned long long)width,
                         (unsigned long long)height, (unsigned long long)max_pixels);
    return NN_OK;
}

nn_status nni_image_new(int32_t width, int32_t height, int32_t channels, nn_dtype dtype, nn_image **out)
{
    *out = NULL;
    if (width <= 0 || height <= 0)
        return nni_error(NN_E_INVALID_ARG, "image size %dx%d is not positive", (int)width, (int)height);
    if (channels < 1 || channels > 4)
        return nni_error(NN_E_INVALID_ARG, "an image has 1 to 4 channels, not %d", (int)channels);
    if (dtype != NN_DTYPE_UINT8 && dtype != NN_DTYPE_UINT16)
        return nni_error(NN_E_TYPE, "image samples are uint8 or uint16, not %s", nn_dtype_name(dtype));
    size_t n;
    if (nni_mul_overflow_size((size_t)width, (size_t)height, &n) ||
        nni_mul_overflow_size(n, (size_t)channels * nn_dtype_size(dtype), &n))
        return nni_error(NN_E_LIMIT, "a %dx%d image does not fit in memory", (int)width, (int)height);
    nn_image *im = nni_calloc(1, sizeof *im);
    uint8_t *data = im ? nni_calloc(1, n) : NULL;
    if (!data) {
        nni_free(im);
        return nni_error(NN_E_NOMEM, "cannot allocate a %dx%d image (%zu bytes)", (int)width, (int)height, n);
    }
    im->width = width;
    im->height = height;
    im->channels = channels;
    im->dtype = dtype;
    im->nbytes = n;
    im->data = data;
    *out = im;
    return NN_OK;
}

static nn_status decode(const uint8_t *data, size_t size, const nn_image_options *o, nn_image **out)
{
    nni_decode_opts d = {.max_pixels = o->max_pixels, .apply_orientation = o->apply_orientation != 0};
    if (size == 0)
        return nni_error(NN_E_PARSE, "the file is empty");
    if (nni_png_signature(data, size))
        return nni_png_decode(data, size, &d, out);
    if (nni_jpeg_signature(data, size))
        return nni_jpeg_decode(data, size, &d, out);
    return nni_error(NN_E_PARSE, "not a PNG or JPEG file (unknown signature)");
}

static nn_status read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size)
{
    FILE *f;
    uint64_t len;
    nn_status st = nni_open_regular(path, "image", &f, &len);
    if (st != NN_OK)
        return st;
    if (len > max_bytes || len >= SIZE_MAX)
        st = nni_error(NN_E_LIMIT, "%llu bytes is over the file-size limit of %llu", (unsigned long long)len,
                       (unsigned long long)max_bytes);
    else if (!(*data = nni_malloc(len ? (size_t)len : 1)))
        st = nni_error(NN_E_NOMEM, "cannot allocate %llu bytes to read it", (unsigned long long)len);
    else if (fread(*data, 1, (size_t)len, f) != (size_t)len || ferror(f))
        st = nni_error(NN_E_IO, "read error");
    fclose(f);
    if (st != NN_OK) {
        nni_free(*data);
        *data = NULL;
        return st;
    }
    *size = (size_t)len;
    return NN_OK;
}

NN_API nn_status nn_image_load(const char *path, const nn_image_options *options, nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_load: out is NULL");
    *out = NULL;
    if (!path)
        return nni_error(NN_E_INVALID_ARG, "nn_image_load: path is NULL");
    nn_image_options o;
    nn_status st = resolve_options(options, &o);
    if (st != NN_OK)
        return st;
    uint8_t *data = NULL;
    size_t size = 0;
    st = read_file(path, o.max_file_bytes, &data, &size);
    if (st == NN_OK)
        st = decode(data, size, &o, out);
    nni_free(data);
    if (st != NN_OK)
        return nni_error_prefix(st, "loading image '%s'", path);
    return NN_OK;
}

NN_API nn_status nn_image_load_memory(const void *data, size_t size, const nn_image_options *options, nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_load_memory: out is NULL");
    *out = NULL;
    if (!data && size)
        return nni_error(NN_E_INVALID_ARG, "nn_image_load_memory: data is NULL");
    nn_image_options o;
    nn_status st = resolve_options(options, &o);
    if (st != NN_OK)
        return st;
    if (size > o.max_file_bytes)
        st = nni_error(NN_E_LIMIT, "%zu bytes is over the file-size limit of %llu", size,
                       (unsigned long long)o.max_file_bytes);
    else
        st = decode(data, size, &o, out);
    if (st != NN_OK)
        return nni_error_prefix(st, "loading an image from memory");
    return NN_OK;
}

NN_API nn_status nn_image_create(int32_t width, int32_t height, int32_t channels, nn_dtype dtype, const void *pixels,
                                 nn_image **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_image_create: out is NULL");
    nn_status st = nni_image_new(width, height, channels, dtype, out);
    if (st != NN_OK)
        return nni_error_prefix(st, "nn_image_create");
    if (pixels)
        memcpy((*out)->data, pixels, (*out)->nbytes);
    return NN_OK;
}

NN_API void nn_image_free(nn_image *im)
{
    if (!im)
        return;
    nni_free(im->data);
    nni_free(im);
}

NN_API int32_t nn_image_width(const nn_image *im) { return im ? im->width : 0; }
NN_API int32_t nn_image_height(const nn_image *im) { return im ? im->height : 0; }
NN_API int32_t nn_image_channels(const nn_image *im) { return im ? im->channels : 0; }
NN_API nn_dtype nn_image_dtype(const nn_image *im) { return im ? im->dtype : NN_DTYPE_UNDEFINED; }
NN_API const void *nn_image_data(const nn_image *im) { return im ? im->data : NULL; }
