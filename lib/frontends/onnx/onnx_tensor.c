/*
 * onnx_tensor.c — TensorProto <-> nn_tensor: typed fields, raw_data
 * (little-endian), external data files, and the public .pb file calls.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/file.h"
#include "frontends/onnx/onnx_internal.h"

static void *pb_alloc(void *data, size_t size)
{
    void *p = nni_malloc(size);
    if (!p && data)
        *(bool *)data = true; /* tell a failed unpack from malformed bytes */
    return p;
}

static void pb_free(void *data, void *ptr)
{
    (void)data;
    nni_free(ptr);
}

ProtobufCAllocator nni_pb_allocator = {pb_alloc, pb_free, NULL};

nn_status nni_read_file(const char *path, uint64_t max_bytes, uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    FILE *f;
    uint64_t len;
    nn_status st = nni_open_regular(path, "file", &f, &len);
    if (st != NN_OK)
        return st;
    if (len > max_bytes || len >= SIZE_MAX) {
        fclose(f);
        return nni_error(NN_E_LIMIT, "'%s' is %llu bytes, over the limit of %llu (nn_load_options.max_model_bytes)",
                         path, (unsigned long long)len, (unsigned long long)max_bytes);
    }
    uint8_t *buf = nni_malloc((size_t)len + 1);
    if (!buf) {
        fclose(f);
        return nni_error(NN_E_NOMEM, "cannot allocate %llu bytes to read '%s'", (unsigned long long)len, path);
    }
    size_t got = fread(buf, 1, (size_t)len, f);
    int err = ferror(f);
    fclose(f);
    if (got != (size_t)len || err) {
        nni_free(buf);
        return nni_error(NN_E_IO, "cannot read '%s' (%zu of %llu bytes)", path, got, (unsigned long long)len);
    }
    *data = buf;
    *size = (size_t)len;
    return NN_OK;
}

/* A location is accepted only if it stays inside base_dir: relative, no
 * "..", and it resolves (realpath) to a file under base_dir. */
static nn_status external_path(const char *base_dir, const char *location, char *out, size_t cap)
{
    if (!location || !*location)
        return nni_error(NN_E_INVALID_MODEL, "external data has no location");
    if (location[0] == '/')
        return nni_error(NN_E_INVALID_MODEL, "external data location '%s' is absolute; it must be inside the model's folder", location);
    for (const char *p = location; *p; p++) {
        if (p[0] == '.' && p[1] == '.' && (p == location || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
            return nni_error(NN_E_INVALID_MODEL, "external data location '%s' leaves the model's folder", location);
    }
    char joined[PATH_MAX];
    if ((size_t)snprintf(joined, sizeof joined, "%s/%s", base_dir, location) >= sizeof joined)
        return nni_error(NN_E_INVALID_MODEL, "external data path is too long");
    char real_base[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(base_dir, real_base))
        return nni_error(NN_E_IO, "cannot resolve the model's folder '%s'", base_dir);
    if (!realpath(joined, real_file))
        return nni_error(NN_E_IO, "external data file '%s' cannot be opened: %s", joined, strerror(errno));
    size_t bl = strlen(real_base);
    if (strncmp(real_file, real_base, bl) != 0 || (real_file[bl] != '/' && real_base[bl - 1] != '/'))
        return nni_error(NN_E_INVALID_MODEL, "external data location '%s' resolves outside the model's folder", location);
    if (strlen(real_file) >= cap)
        return nni_error(NN_E_INVALID_MODEL, "external data path is too long");
    strcpy(out, real_file);
    return NN_OK;
}

/* External data: where the bytes are. Everything is checked, and the file
 * opened, before the tensor's memory is allocated: a location outside the
 * model's folder (absolute, "..", a symlink leading out), a file that is not
 * a regular file (/dev/zero, a FIFO, a folder), a negative or non-numeric
 * offset or length, a length that is not the tensor's size, or a range past
 * the end of the file are errors. */
static nn_status open_external(const Onnx__TensorProto *tp, const char *base_dir, size_t nbytes, FILE **out,
                               off_t *at)
{
    const char *name = tp->name ? tp->name : "";
    const char *location = NULL;
    int64_t offset = 0, length = -1;
    *out = NULL;
    if (!base_dir)
        return nni_error(NN_E_UNSUPPORTED, "tensor '%s' has external data, which needs a model file path (not memory)",
                         name);
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = tp->external_data[i];
        if (!e->key || !e->value)
            continue;
        char *end = NULL;
        errno = 0;
        if (strcmp(e->key, "location") == 0)
            location = e->value;
        else if (strcmp(e->key, "offset") == 0)
            offset = strtoll(e->value, &end, 10);
        else if (strcmp(e->key, "length") == 0)
            length = strtoll(e->value, &end, 10);
        if (end && (*end || end == e->value || errno == ERANGE))
            return nni_error(NN_E_INVALID_MODEL, "external data %s '%.40s' of tensor '%s' is not a number", e->key,
                             e->value, name);
    }
    if (offset < 0 || length < -1 || (length >= 0 && (uint64_t)length != nbytes))
        return nni_error(NN_E_INVALID_MODEL, "external data of '%s': offset %lld/length %lld do not fit %zu bytes", name,
                         (long long)offset, (long long)length, nbytes);
    char path[PATH_MAX];
    nn_status st = external_path(base_dir, location, path, sizeof path);
    if (st != NN_OK)
        return st;
    FILE *f;
    uint64_t fsize;
    if ((st = nni_open_regular(path, "external data file", &f, &fsize)) != NN_OK)
        return nni_error_prefix(st, "tensor '%s'", name);
    if ((uint64_t)offset > fsize || nbytes > fsize - (uint64_t)offset) {
        fclose(f);
        return nni_error(NN_E_INVALID_MODEL, "external data file '%s' (%llu bytes) is shorter than offset %lld + %zu bytes "
                         "of tensor '%s'", location, (unsigned long long)fsize, (long long)offset, nbytes, name);
    }
    *out = f;
    *at = (off_t)offset;
    return NN_OK;
}

static nn_status read_external(FILE *f, off_t offset, const Onnx__TensorProto *tp, nn_tensor *t)
{
    if (fseeko(f, offset, SEEK_SET) != 0 || fread(t->data, 1, t->nbytes, f) != t->nbytes)
        return nni_error(NN_E_IO, "cannot read the external data of tensor '%s'", tp->name ? tp->name : "");
    return NN_OK;
}

/* Typed fields: which repeated field holds which dtype (per onnx.proto). */
static nn_status copy_typed(const Onnx__TensorProto *tp, nn_tensor *t, int64_t count)
{
    const char *name = tp->name ? tp->name : "";
#define NEED(n_have)                                                                                               \
    if ((int64_t)(n_have) != count)                                                                                \
        return nni_error(NN_E_INVALID_MODEL, "tensor '%s' has %zu values for %lld elements", name, (size_t)(n_have), \
                         (long long)count);
    switch (t->dtype) {
    case NN_DTYPE_FLOAT32:
        NEED(tp->n_float_data);
        if (count)
            memcpy(t->data, tp->float_data, (size_t)count * 4);
        break;
    case NN_DTYPE_FLOAT64:
        NEED(tp->n_double_data);
        if (count)
            memcpy(t->data, tp->double_data, (size_t)count * 8);
        break;
    case NN_DTYPE_INT64:
        NEED(tp->n_int64_data);
        if (count)
            memcpy(t->data, tp->int64_data, (size_t)count * 8);
        break;
    case NN_DTYPE_UINT64: case NN_DTYPE_UINT32:
        NEED(tp->n_uint64_data);
        for (int64_t i = 0; i < count; i++) {
            if (t->dtype == NN_DTYPE_UINT64)
                ((uint64_t *)t->data)[i] = tp->uint64_data[i];
            else
                ((uint32_t *)t->data)[i] = (uint32_t)tp->uint64_data[i];
        }
        break;
    case NN_DTYPE_INT32: case NN_DTYPE_INT16: case NN_DTYPE_INT8: case NN_DTYPE_UINT16: case NN_DTYPE_UINT8:
    case NN_DTYPE_BOOL: case NN_DTYPE_FLOAT16:
        NEED(tp->n_int32_data);
        for (int64_t i = 0; i < count; i++) {
            int32_t v = tp->int32_data[i];
            switch (t->dtype) {
            case NN_DTYPE_INT32: ((int32_t *)t->data)[i] = v; break;
            case NN_DTYPE_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
            case NN_DTYPE_UINT16: case NN_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
            case NN_DTYPE_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
            case NN_DTYPE_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
            default: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
            }
        }
        break;
    default:
        return nni_error(NN_E_UNSUPPORTED, "tensor '%s' has unsupported type %s", name, nn_dtype_name(t->dtype));
    }
#undef NEED
    return NN_OK;
}

static nn_status tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, const nni_limits *limits,
                                   const nni_onnx_source *src, const nni_onnx_payload *pl, nn_tensor **out)
{
    const char *name = tp->name ? tp->name : "";
    *out = NULL;
    if (tp->n_dims > NN_MAX_RANK)
        return nni_error(NN_E_LIMIT, "tensor '%s' has %zu dimensions (at most %d)", name, tp->n_dims, NN_MAX_RANK);
    if (!tp->has_data_type || tp->data_type == NN_DTYPE_UNDEFINED)
        return nni_error(NN_E_INVALID_MODEL, "tensor '%s' has no data type", name);
    if (nn_dtype_size(tp->data_type) == 0)
        return nni_error(NN_E_UNSUPPORTED, "tensor '%s' has unsupported element type %d (%s)", name, (int)tp->data_type,
                         nn_dtype_name(tp->data_type));
    if (tp->segment)
        return nni_error(NN_E_UNSUPPORTED, "tensor '%s' is segmented", name);
    int64_t dims[NN_MAX_RANK];
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return nni_error(NN_E_INVALID_MODEL, "tensor '%s' has negative dimension %lld", name, (long long)tp->dims[i]);
        dims[i] = tp->dims[i];
    }
    /* Validate the shape against the limits and the data present before
     * allocating, so a hostile header cannot make us allocate. */
    nn_tensor shape;
    memset(&shape, 0, sizeof shape);
    nn_status st = nni_tensor_set_shape(&shape, tp->data_type, (int32_t)tp->n_dims, dims);
    if (st != NN_OK)
        return nni_error_prefix(st, "tensor '%s'", name);
    char what[96];
    snprintf(what, sizeof what, "tensor '%.60s'", name);
    if ((st = nni_check_tensor_limits(limits, &shape, what)) != NN_OK)
        return st;
    int64_t count = nni_tensor_count(&shape);
    bool external = tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    const uint64_t raw_len = pl ? pl->len : tp->raw_data.len;
    if (!external && tp->has_raw_data && raw_len != shape.nbytes)
        return nni_error(NN_E_INVALID_MODEL, "tensor '%s' has %llu bytes of raw_data for shape needing %zu", name,
                         (unsigned long long)raw_len, shape.nbytes);
    if (!external && !tp->has_raw_data) {
        size_t have = tp->n_float_data + tp->n_double_data + tp->n_int64_data + tp->n_int32_data + tp->n_uint64_data;
        if ((int64_t)have != count)
            return nni_error(NN_E_INVALID_MODEL, "tensor '%s' has %zu values for %lld elements", name, have,
                             (long long)count);
    }
    FILE *ext = NULL;
    off_t ext_offset = 0;
    if (external && (st = open_external(tp, base_dir, shape.nbytes, &ext, &ext_offset)) != NN_OK)
        return st;
    nn_tensor *t = nni_calloc(1, sizeof *t);
    if (!t) {
        if (ext)
            fclose(ext);
        return nni_error(NN_E_NOMEM, "cannot allocate tensor '%s'", name);
    }
    *t = shape;
    /* every byte is written below: no zeroing */
    if (!(t->data = nni_malloc_aligned(t->nbytes ? t->nbytes : 1))) {
        if (ext)
            fclose(ext);
        nni_free(t);
        return nni_error(NN_E_NOMEM, "cannot allocate %zu bytes for tensor '%s'", shape.nbytes, name);
    }
    t->flags |= NNI_TENSOR_OWNS_DATA;
    if (external) {
        st = read_external(ext, ext_offset, tp, t);
        fclose(ext);
    } else if (tp->has_raw_data && pl) {
        if (t->nbytes)
            st = nni_onnx_payload_read(src, pl, t->data);
    } else if (tp->has_raw_data) {
        if (t->nbytes)
            memcpy(t->data, tp->raw_data.data, t->nbytes); /* little-endian host assumed (x86-64, aarch64) */
    } else {
        st = copy_typed(tp, t, nni_tensor_count(t));
    }
    if (st == NN_OK && tp->name && !(t->name = nni_strdup(tp->name)))
        st = nni_error(NN_E_NOMEM, "cannot copy tensor name");
    if (st != NN_OK) {
        nn_tensor_free(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

nn_status nni_onnx_tensor_from_proto(const Onnx__TensorProto *tp, const char *base_dir, const nni_limits *limits,
                                     nn_tensor **out)
{
    return tensor_from_proto(tp, base_dir, limits, NULL, NULL, out);
}

nn_status nni_onnx_tensor_from_payload(const Onnx__TensorProto *tp, const nni_onnx_source *src,
                                       const nni_onnx_payload *pl, const nni_limits *limits, nn_tensor **out)
{
    return tensor_from_proto(tp, NULL, limits, src, pl, out);
}

/* ---- public .pb calls ---- */

#define PB_MAX_BYTES ((uint64_t)1 << 32)
static const nni_limits pb_limits = {.max_tensor_bytes = PB_MAX_BYTES};

NN_API nn_status nn_tensor_read_memory(const void *data, size_t size, nn_tensor **out)
{
    nni_error_clear();
    if (!out || (!data && size))
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_read_memory: data or out is NULL");
    *out = NULL;
    bool oom = false;
    ProtobufCAllocator pa = nni_pb_allocator;
    pa.allocator_data = &oom;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa, size, data);
    if (!tp && oom)
        return nni_error(NN_E_NOMEM, "nn_tensor_read_memory: out of memory parsing %zu bytes", size);
    if (!tp)
        return nni_error(NN_E_PARSE, "nn_tensor_read_memory: the %zu bytes are not a TensorProto", size);
    nn_status st = nni_onnx_tensor_from_proto(tp, NULL, &pb_limits, out);
    onnx__tensor_proto__free_unpacked(tp, &pa);
    return st;
}

NN_API nn_status nn_tensor_read_file(const char *path, nn_tensor **out)
{
    nni_error_clear();
    if (!path || !out)
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_read_file: path or out is NULL");
    *out = NULL;
    uint8_t *buf;
    size_t size;
    nn_status st = nni_read_file(path, PB_MAX_BYTES, &buf, &size);
    if (st != NN_OK)
        return st;
    bool oom = false;
    ProtobufCAllocator pa = nni_pb_allocator;
    pa.allocator_data = &oom;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&pa, size, buf);
    nni_free(buf);
    if (!tp && oom)
        return nni_error(NN_E_NOMEM, "out of memory parsing '%s'", path);
    if (!tp)
        return nni_error(NN_E_PARSE, "'%s' is not a TensorProto file", path);
    st = nni_onnx_tensor_from_proto(tp, NULL, &pb_limits, out);
    onnx__tensor_proto__free_unpacked(tp, &pa);
    if (st != NN_OK)
        return nni_error_prefix(st, "reading '%s'", path);
    return NN_OK;
}

NN_API nn_status nn_tensor_write_file(const nn_tensor *t, const char *path)
{
    nni_error_clear();
    if (!t || !path)
        return nni_error(NN_E_INVALID_ARG, "nn_tensor_write_file: tensor or path is NULL");
    Onnx__TensorProto tp = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[NN_MAX_RANK];
    for (int32_t i = 0; i < t->rank; i++)
        dims[i] = t->dims[i];
    tp.n_dims = (size_t)t->rank;
    tp.dims = dims;
    tp.has_data_type = 1;
    tp.data_type = t->dtype;
    tp.name = t->name;
    tp.has_raw_data = 1;
    tp.raw_data.len = t->nbytes;
    tp.raw_data.data = t->data;
    size_t len = onnx__tensor_proto__get_packed_size(&tp);
    uint8_t *buf = nni_malloc(len);
    if (!buf)
        return nni_error(NN_E_NOMEM, "nn_tensor_write_file: cannot allocate %zu bytes", len);
    onnx__tensor_proto__pack(&tp, buf);
    FILE *f = fopen(path, "wb");
    if (!f) {
        nni_free(buf);
        return nni_error(NN_E_IO, "cannot create '%s': %s", path, strerror(errno));
    }
    size_t wrote = fwrite(buf, 1, len, f);
    int close_err = fclose(f);
    nni_free(buf);
    if (wrote != len || close_err != 0)
        return nni_error(NN_E_IO, "cannot write '%s'", path);
    return NN_OK;
}
