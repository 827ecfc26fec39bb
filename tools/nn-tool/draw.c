/*
 * draw.c — annotating an image with detections: a coloured frame per box and
 * its label and score in a tiny built-in 5x7 bitmap font (letters are drawn
 * upper-case). Public API only: the pixels are copied, drawn on, and wrapped
 * in a new nn_image.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "draw.h"

/* 7 rows of 5 columns per glyph, '#' = ink. */
static const struct {
    char ch;
    const char *rows;
} font[] = {
    {'A', ".###.#...##...#######...##...##...#"}, {'B', "####.#...##...#####.#...##...#####."},
    {'C', ".###.#...##....#....#....#...#.###."}, {'D', "####.#...##...##...##...##...#####."},
    {'E', "######....#....####.#....#....#####"}, {'F', "######....#....####.#....#....#...."},
    {'G', ".###.#...##....#.####...##...#.###."}, {'H', "#...##...##...#######...##...##...#"},
    {'I', ".###...#....#....#....#....#...###."}, {'J', "..###...#....#....#....#.#..#..##.."},
    {'K', "#...##..#.#.#..##...#.#..#..#.#...#"}, {'L', "#....#....#....#....#....#....#####"},
    {'M', "#...###.###.#.##.#.##...##...##...#"}, {'N', "#...###..##.#.##..###...##...##...#"},
    {'O', ".###.#...##...##...##...##...#.###."}, {'P', "####.#...##...#####.#....#....#...."},
    {'Q', ".###.#...##...##...##.#.##..#..##.#"}, {'R', "####.#...##...#####.#.#..#..#.#...#"},
    {'S', ".#####....#.....###.....#....#####."}, {'T', "#####..#....#....#....#....#....#.."},
    {'U', "#...##...##...##...##...##...#.###."}, {'V', "#...##...##...##...##...#.#.#...#.."},
    {'W', "#...##...##...##.#.##.#.##.#.#.#.#."}, {'X', "#...##...#.#.#...#...#.#.#...##...#"},
    {'Y', "#...##...#.#.#...#....#....#....#.."}, {'Z', "#####....#...#...#...#...#....#####"},
    {'0', ".###.#...##..###.#.###..##...#.###."}, {'1', "..#...##....#....#....#....#...###."},
    {'2', ".###.#...#....#...#...#...#...#####"}, {'3', "#####...#...#.....#.....##...#.###."},
    {'4', "...#...##..#.#.#..#.#####...#....#."}, {'5', "######....####.....#....##...#.###."},
    {'6', "..##..#...#....####.#...##...#.###."}, {'7', "#####....#...#...#...#....#....#..."},
    {'8', ".###.#...##...#.###.#...##...#.###."}, {'9', ".###.#...##...#.####....#...#..##.."},
    {'-', "...............#####..............."}, {'_', "..............................#####"},
    {'.', "..........................##...##.."}, {':', "......##...##........##...##......."},
    {'%', "##...##..#...#...#...#...#..##...##"}, {'/', ".........#...#...#...#...#........."},
    {'(', "...#...#...#....#....#.....#.....#."}, {')', ".#.....#.....#....#....#...#...#..."},
    {'\'', "..#....#...#......................."}, {',', ".....................##....#...#..."},
    {' ', "..................................."}, {'?', ".###.#...#....#...#...#.........#.."},
};

#define GLYPH_W 5
#define GLYPH_H 7

static const char *glyph(char ch)
{
    ch = (char)toupper((unsigned char)ch);
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].ch == ch)
            return font[i].rows;
    return glyph('?');
}

typedef struct canvas {
    uint8_t *px; /* RGB */
    int w, h;
} canvas;

static void fill(canvas *c, int x0, int y0, int x1, int y1, const uint8_t rgb[3])
{
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > c->w ? c->w : x1;
    y1 = y1 > c->h ? c->h : y1;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            memcpy(c->px + ((size_t)y * (size_t)c->w + (size_t)x) * 3, rgb, 3);
}

static void text(canvas *c, int x, int y, int scale, const char *s, const uint8_t rgb[3])
{
    for (; *s; s++, x += (GLYPH_W + 1) * scale) {
        const char *g = glyph(*s);
        for (int r = 0; r < GLYPH_H; r++)
            for (int k = 0; k < GLYPH_W; k++)
                if (g[r * GLYPH_W + k] == '#')
                    fill(c, x + k * scale, y + r * scale, x + (k + 1) * scale, y + (r + 1) * scale, rgb);
    }
}

static const uint8_t palette[][3] = {{230, 25, 75}, {60, 180, 75},  {255, 225, 25}, {0, 130, 200},
                                     {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                                     {210, 245, 60}, {0, 128, 128},  {170, 110, 40}, {128, 0, 0}};

nn_image *draw_detections(const nn_image *image, const nn_detections *r)
{
    /* an 8-bit RGB copy to draw on */
    nn_image *rgb = NULL;
    if (nn_image_convert(image, 3, &rgb) != NN_OK)
        return NULL;
    canvas c = {NULL, nn_image_width(rgb), nn_image_height(rgb)};
    size_t n = (size_t)c.w * (size_t)c.h * 3;
    c.px = malloc(n);
    if (!c.px) {
        nn_image_free(rgb);
        return NULL;
    }
    if (nn_image_dtype(rgb) == NN_DTYPE_UINT16) {
        const uint16_t *s = nn_image_data(rgb);
        for (size_t i = 0; i < n; i++)
            c.px[i] = (uint8_t)(s[i] >> 8);
    } else {
        memcpy(c.px, nn_image_data(rgb), n);
    }
    nn_image_free(rgb);
    int side = c.w < c.h ? c.w : c.h;
    int thick = side / 300 + 1, scale = side >= 480 ? 2 : 1;
    /* draw the weakest first so the best ends on top */
    for (uint32_t i = nn_detections_count(r); i-- > 0;) {
        float x0, y0, x1, y1, score;
        uint32_t cls;
        const char *label;
        nn_detections_get(r, i, &x0, &y0, &x1, &y1, &score, &cls, &label);
        const uint8_t *col = palette[cls % (sizeof palette / sizeof palette[0])];
        int ix0 = (int)x0, iy0 = (int)y0, ix1 = (int)x1, iy1 = (int)y1;
        fill(&c, ix0, iy0, ix1, iy0 + thick, col);
        fill(&c, ix0, iy1 - thick, ix1, iy1, col);
        fill(&c, ix0, iy0, ix0 + thick, iy1, col);
        fill(&c, ix1 - thick, iy0, ix1, iy1, col);
        char caption[96];
        if (*label)
            snprintf(caption, sizeof caption, "%s %.0f%%", label, (double)score * 100);
        else
            snprintf(caption, sizeof caption, "%u %.0f%%", cls, (double)score * 100);
        int tw = (int)strlen(caption) * (GLYPH_W + 1) * scale + scale, th = (GLYPH_H + 2) * scale;
        int ty = iy0 - th >= 0 ? iy0 - th : iy0; /* above the box, or inside at the top edge */
        /* shifted left when it would run off the right edge (the whole caption stays readable) */
        int tx = ix0 + tw > c.w ? c.w - tw : ix0;
        tx = tx < 0 ? 0 : tx;
        fill(&c, tx, ty, tx + tw, ty + th, col);
        bool light = col[0] * 299 + col[1] * 587 + col[2] * 114 > 150000;
        static const uint8_t black[3] = {0, 0, 0}, white[3] = {255, 255, 255};
        text(&c, tx + scale, ty + scale, scale, caption, light ? black : white);
    }
    nn_image *out = NULL;
    if (nn_image_create(c.w, c.h, 3, NN_DTYPE_UINT8, c.px, &out) != NN_OK)
        out = NULL;
    free(c.px);
    return out;
}
