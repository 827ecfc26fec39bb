/*
 * exif.c — the EXIF orientation tag, read from a JPEG's APP1 payload (after
 * "Exif\0\0"): a TIFF header (byte order, 42, offset of IFD0) and IFD0's
 * 12-byte entries, where tag 0x0112 (SHORT) holds 1..8. Every offset is
 * bounds-checked; anything malformed means "no orientation" (1).
 */
#include "image/image.h"

#define TAG_ORIENTATION 0x0112
#define TYPE_SHORT 3

typedef struct tiff {
    const uint8_t *p;
    size_t size;
    bool big_endian;
} tiff;

static bool get16(const tiff *t, size_t off, uint32_t *v)
{
    if (off > t->size || t->size - off < 2)
        return false;
    const uint8_t *b = t->p + off;
    *v = t->big_endian ? (uint32_t)(b[0] << 8 | b[1]) : (uint32_t)(b[1] << 8 | b[0]);
    return true;
}

static bool get32(const tiff *t, size_t off, uint32_t *v)
{
    uint32_t hi, lo;
    if (!get16(t, off, t->big_endian ? &hi : &lo) || !get16(t, off + 2, t->big_endian ? &lo : &hi))
        return false;
    *v = hi << 16 | lo;
    return true;
}

int nni_exif_orientation(const uint8_t *p, size_t size)
{
    tiff t = {.p = p, .size = size};
    uint32_t magic, ifd, count;
    if (size < 8 || !((p[0] == 'I' && p[1] == 'I') || (p[0] == 'M' && p[1] == 'M')))
        return 1;
    t.big_endian = p[0] == 'M';
    if (!get16(&t, 2, &magic) || magic != 42 || !get32(&t, 4, &ifd) || !get16(&t, ifd, &count))
        return 1;
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        uint32_t tag, type, n, value;
        if (!get16(&t, e, &tag) || !get16(&t, e + 2, &type) || !get32(&t, e + 4, &n))
            return 1;
        if (tag != TAG_ORIENTATION)
            continue;
        if (type != TYPE_SHORT || n != 1 || !get16(&t, e + 8, &value) || value < 1 || value > 8)
            return 1;
        return (int)value;
    }
    return 1;
}
