/* strided.c — strided view to contiguous copy (transposes, slices, broadcasts). */
#include <string.h>

#include "kernels/strided.h"

#define TILE 32            /* transpose tile edge, in elements */
#define MIN_TASK_BYTES 32768 /* below this, splitting over threads costs more than it gains */

typedef struct {
    uint8_t *dst;
    const uint8_t *src;
    size_t es;
    int32_t rank; /* after simplification, >= 1 */
    int64_t dims[NNI_STRIDED_MAX_RANK];
    int64_t strides[NNI_STRIDED_MAX_RANK];
    int64_t a_tiles; /* transpose mode: tiles along dims[rank-2] */
} view_job;

/* One row of n elements at source stride s (elements). */
static void copy_row(uint8_t *d, const uint8_t *s, size_t es, int64_t n, int64_t stride)
{
    if (stride == 1) {
        memcpy(d, s, (size_t)n * es);
        return;
    }
    ptrdiff_t step = (ptrdiff_t)stride * (ptrdiff_t)es;
    switch (es) {
    case 1:
        for (int64_t i = 0; i < n; i++, s += step)
            d[i] = *s;
        break;
    case 2:
        for (int64_t i = 0; i < n; i++, s += step)
            ((uint16_t *)d)[i] = *(const uint16_t *)s;
        break;
    case 4:
        for (int64_t i = 0; i < n; i++, s += step)
            ((uint32_t *)d)[i] = *(const uint32_t *)s;
        break;
    case 8:
        for (int64_t i = 0; i < n; i++, s += step)
            ((uint64_t *)d)[i] = *(const uint64_t *)s;
        break;
    default:
        for (int64_t i = 0; i < n; i++, s += step)
            memcpy(d + (size_t)i * es, s, es);
        break;
    }
}

/* Source offset (elements) of outer index `idx` over dims[0..nd). */
static int64_t outer_offset(const view_job *j, int32_t nd, int64_t idx, int64_t *coord)
{
    int64_t off = 0;
    for (int32_t a = nd - 1; a >= 0; a--) {
        coord[a] = idx % j->dims[a];
        idx /= j->dims[a];
        off += coord[a] * j->strides[a];
    }
    return off;
}

/* Rows mode: items are rows of the last axis. */
static void rows_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const view_job *j = arg;
    int32_t nd = j->rank - 1;
    int64_t coord[NNI_STRIDED_MAX_RANK];
    int64_t n = j->dims[nd], stride = j->strides[nd];
    size_t row_bytes = (size_t)n * j->es;
    int64_t off = outer_offset(j, nd, begin, coord);
    uint8_t *d = j->dst + (size_t)begin * row_bytes;
    for (int64_t r = begin; r < end; r++, d += row_bytes) {
        copy_row(d, j->src + off * (ptrdiff_t)j->es, j->es, n, stride);
        for (int32_t a = nd - 1; a >= 0; a--) { /* odometer */
            off += j->strides[a];
            if (++coord[a] < j->dims[a])
                break;
            off -= coord[a] * j->strides[a];
            coord[a] = 0;
        }
    }
}

/* Gather column `a` of a tile held row-major in buf (rows of TILE elements). */
static void tile_column(uint8_t *d, const uint8_t *buf, size_t es, int64_t a, int64_t nb)
{
    switch (es) {
    case 1:
        for (int64_t b = 0; b < nb; b++)
            d[b] = buf[b * TILE + a];
        break;
    case 2:
        for (int64_t b = 0; b < nb; b++)
            ((uint16_t *)d)[b] = ((const uint16_t *)buf)[b * TILE + a];
        break;
    case 4:
        for (int64_t b = 0; b < nb; b++)
            ((uint32_t *)d)[b] = ((const uint32_t *)buf)[b * TILE + a];
        break;
    case 8:
        for (int64_t b = 0; b < nb; b++)
            ((uint64_t *)d)[b] = ((const uint64_t *)buf)[b * TILE + a];
        break;
    default:
        for (int64_t b = 0; b < nb; b++)
            memcpy(d + (size_t)b * es, buf + (size_t)(b * TILE + a) * es, es);
        break;
    }
}

/* Transpose mode: the last two axes are [A, B] with source strides [1, sb].
 * Each 32x32 tile is read as 32 short contiguous source rows into a local
 * buffer, then written as contiguous output rows: with power-of-two strides,
 * reading or writing columns directly would keep evicting its own cache lines.
 * Items are (batch, tile of A). */
static void tiles_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const view_job *j = arg;
    int32_t nb = j->rank - 2;
    int64_t coord[NNI_STRIDED_MAX_RANK];
    int64_t A = j->dims[nb], B = j->dims[nb + 1], sb = j->strides[nb + 1];
    size_t es = j->es;
    uint64_t buf64[TILE * TILE * 16 / sizeof(uint64_t)]; /* element sizes up to 16 bytes */
    uint8_t *buf = (uint8_t *)buf64;
    for (int64_t it = begin; it < end; it++) {
        int64_t batch = it / j->a_tiles, at = it % j->a_tiles;
        int64_t base = outer_offset(j, nb, batch, coord);
        uint8_t *d = j->dst + (size_t)batch * (size_t)(A * B) * es;
        int64_t a0 = at * TILE, na = a0 + TILE < A ? TILE : A - a0;
        for (int64_t b0 = 0; b0 < B; b0 += TILE) {
            int64_t nbt = b0 + TILE < B ? TILE : B - b0;
            for (int64_t b = 0; b < nbt; b++)
                memcpy(buf + (size_t)(b * TILE) * es, j->src + (base + a0 + (b0 + b) * sb) * (ptrdiff_t)es,
                       (size_t)na * es);
            for (int64_t a = 0; a < na; a++)
                tile_column(d + (size_t)((a0 + a) * B + b0) * es, buf, es, a, nbt);
        }
    }
}

void nni_strided_copy(void *dst, const void *src, size_t es, int32_t rank, const int64_t *dims,
                      const int64_t *strides, nni_pool *pool)
{
    view_job j = {.dst = dst, .src = src, .es = es, .rank = 0};
    /* Drop unit axes, then merge neighbours that are contiguous in the source. */
    for (int32_t a = 0; a < rank; a++) {
        if (dims[a] == 0)
            return;
        if (dims[a] == 1)
            continue;
        if (j.rank > 0 && j.strides[j.rank - 1] == strides[a] * dims[a]) {
            j.dims[j.rank - 1] *= dims[a];
            j.strides[j.rank - 1] = strides[a];
            continue;
        }
        j.dims[j.rank] = dims[a];
        j.strides[j.rank] = strides[a];
        j.rank++;
    }
    if (j.rank == 0) {
        memcpy(dst, src, es);
        return;
    }
    int64_t total = 1;
    for (int32_t a = 0; a < j.rank; a++)
        total *= j.dims[a];
    int64_t total_bytes = total * (int64_t)es;
    if (j.rank >= 2 && es <= 16 && j.strides[j.rank - 1] != 1 && j.strides[j.rank - 2] == 1 &&
        j.dims[j.rank - 2] >= TILE / 4 && j.dims[j.rank - 1] >= TILE / 4) {
        int64_t A = j.dims[j.rank - 2], B = j.dims[j.rank - 1];
        j.a_tiles = (A + TILE - 1) / TILE;
        int64_t items = total / (A * B) * j.a_tiles;
        int64_t item_bytes = (int64_t)TILE * B * (int64_t)es;
        int64_t grain = item_bytes >= MIN_TASK_BYTES ? 1 : MIN_TASK_BYTES / item_bytes;
        nni_parallel_for(total_bytes >= 2 * MIN_TASK_BYTES ? pool : NULL, items, grain, tiles_task, &j);
        return;
    }
    int64_t row_bytes = j.dims[j.rank - 1] * (int64_t)es;
    int64_t rows = total / j.dims[j.rank - 1];
    int64_t grain = row_bytes >= MIN_TASK_BYTES ? 1 : MIN_TASK_BYTES / row_bytes;
    nni_parallel_for(total_bytes >= 2 * MIN_TASK_BYTES ? pool : NULL, rows, grain, rows_task, &j);
}

typedef struct {
    uint8_t *dst;
    const uint8_t *src;
    size_t es;
    int32_t rank;
    const int64_t *dims;
    const int64_t *const *maps;
    const uint8_t *fill;
    bool runs; /* the last axis' map is mostly long consecutive runs */
} map_job;

/* One output row: d[o] = s[m[o]], or fill where m[o] < 0. */
#define GATHER_ROW(T)                                                                                                  \
    do {                                                                                                               \
        T *dd = (T *)d, f = *(const T *)fill;                                                                          \
        for (int64_t o = 0; o < n; o++)                                                                                \
            dd[o] = m[o] < 0 ? f : *(const T *)(s + (size_t)m[o] * sizeof(T));                                        \
    } while (0)

static void map_row(uint8_t *d, const uint8_t *s, size_t es, const int64_t *m, int64_t n, const uint8_t *fill,
                    bool runs)
{
    if (!runs) {
        switch (es) {
        case 1: GATHER_ROW(uint8_t); return;
        case 2: GATHER_ROW(uint16_t); return;
        case 4: GATHER_ROW(uint32_t); return;
        case 8: GATHER_ROW(uint64_t); return;
        default: break;
        }
    }
    /* long runs of consecutive source elements (padding's interior): one memcpy each */
    for (int64_t o = 0; o < n;) {
        int64_t run = 1;
        while (m[o] >= 0 && o + run < n && m[o + run] == m[o] + run)
            run++;
        memcpy(d + (size_t)o * es, m[o] < 0 ? fill : s + (size_t)m[o] * es, m[o] < 0 ? es : (size_t)run * es);
        o += m[o] < 0 ? 1 : run;
    }
}

static void map_task(void *arg, int64_t begin, int64_t end, int32_t tid)
{
    const map_job *j = arg;
    int32_t nd = j->rank - 1;
    int64_t n = j->dims[nd], coord[NNI_STRIDED_MAX_RANK];
    const int64_t *last = j->maps[nd];
    size_t es = j->es;
    int64_t idx = begin;
    for (int32_t a = nd - 1; a >= 0; a--) {
        coord[a] = idx % j->dims[a];
        idx /= j->dims[a];
    }
    for (int64_t r = begin; r < end; r++) {
        uint8_t *d = j->dst + (size_t)(r * n) * es;
        int64_t base = 0;
        bool fill = false;
        for (int32_t a = 0; a < nd; a++) {
            int64_t m = j->maps[a][coord[a]];
            if (m < 0)
                fill = true;
            base += m;
        }
        if (fill) {
            for (int64_t o = 0; o < n; o++)
                memcpy(d + (size_t)o * es, j->fill, es);
        } else {
            map_row(d, j->src + (size_t)base * es, es, last, n, j->fill, j->runs);
        }
        for (int32_t a = nd - 1; a >= 0; a--) {
            if (++coord[a] < j->dims[a])
                break;
            coord[a] = 0;
        }
    }
}

void nni_map_copy(void *dst, const void *src, size_t es, int32_t rank, const int64_t *dims, const int64_t *const *maps,
                  const void *fill, nni_pool *pool)
{
    int64_t total = 1;
    for (int32_t a = 0; a < rank; a++)
        total *= dims[a];
    if (total == 0)
        return;
    if (rank == 0) {
        memcpy(dst, src, es);
        return;
    }
    map_job j = {.dst = dst, .src = src, .es = es, .rank = rank, .dims = dims, .maps = maps, .fill = fill};
    const int64_t *last = maps[rank - 1];
    int64_t breaks = 1;
    for (int64_t o = 1; o < dims[rank - 1]; o++)
        breaks += last[o] < 0 || last[o] != last[o - 1] + 1;
    j.runs = dims[rank - 1] >= 16 * breaks;
    int64_t row_bytes = dims[rank - 1] * (int64_t)es;
    int64_t grain = row_bytes >= MIN_TASK_BYTES ? 1 : MIN_TASK_BYTES / row_bytes;
    nni_parallel_for(total * (int64_t)es >= 2 * MIN_TASK_BYTES ? pool : NULL, total / dims[rank - 1], grain, map_task, &j);
}
