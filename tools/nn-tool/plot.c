/*
 * plot.c — a tiny line plotter for `nn-tool train --plot`: training loss and
 * accuracy per epoch on one chart, written as an RGB PNG with libpng. Loss
 * uses the left scale (0 .. its maximum), accuracy the right one (0 .. 1).
 * Labels use a built-in 3x5 pixel font scaled up.
 */
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

#define W 720
#define H 420
#define LEFT 70
#define RIGHT 70
#define TOP 40
#define BOTTOM 50

typedef struct {
    uint8_t *px;
} canvas;

static const uint8_t LOSS_RGB[3] = {31, 119, 180}, ACC_RGB[3] = {230, 120, 20}, AXIS_RGB[3] = {40, 40, 40},
                     GRID_RGB[3] = {225, 225, 225};

static void dot(canvas *c, int x, int y, const uint8_t *rgb)
{
    if (x < 0 || y < 0 || x >= W || y >= H)
        return;
    memcpy(c->px + ((size_t)y * W + (size_t)x) * 3, rgb, 3);
}

static void rect(canvas *c, int x0, int y0, int x1, int y1, const uint8_t *rgb)
{
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++)
            dot(c, x, y, rgb);
}

/* A line `thick` pixels wide (Bresenham with a square brush). */
static void line(canvas *c, int x0, int y0, int x1, int y1, int thick, const uint8_t *rgb)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1, dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        rect(c, x0 - thick / 2, y0 - thick / 2, x0 + (thick - 1) / 2, y0 + (thick - 1) / 2, rgb);
        if (x0 == x1 && y0 == y1)
            break;
        int e2 = 2 * err;
        if (e2 >= dy)
            err += dy, x0 += sx;
        if (e2 <= dx)
            err += dx, y0 += sy;
    }
}

/* 3x5 glyphs, one row per 3 bits (MSB left). */
static const struct {
    char ch;
    uint8_t rows[5];
} FONT[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'a', {0, 7, 1, 7, 7}},
    {'c', {0, 7, 4, 4, 7}}, {'e', {7, 5, 7, 4, 7}}, {'h', {4, 4, 7, 5, 5}}, {'l', {6, 2, 2, 2, 7}},
    {'o', {0, 7, 5, 5, 7}}, {'p', {0, 7, 5, 7, 4}}, {'r', {0, 7, 4, 4, 4}}, {'s', {0, 7, 6, 1, 7}},
    {'u', {0, 5, 5, 5, 7}}, {'y', {5, 5, 7, 1, 7}}, {'t', {2, 7, 2, 2, 3}}, {'i', {2, 0, 2, 2, 2}},
    {'n', {0, 6, 5, 5, 5}}, {'g', {7, 5, 7, 1, 6}}, {' ', {0, 0, 0, 0, 0}},
};

static void text(canvas *c, int x, int y, const char *s, int scale, const uint8_t *rgb)
{
    for (; *s; s++, x += 4 * scale) {
        for (size_t g = 0; g < sizeof FONT / sizeof *FONT; g++) {
            if (FONT[g].ch != *s)
                continue;
            for (int r = 0; r < 5; r++)
                for (int b = 0; b < 3; b++)
                    if (FONT[g].rows[r] & (4 >> b))
                        rect(c, x + b * scale, y + r * scale, x + b * scale + scale - 1, y + r * scale + scale - 1, rgb);
        }
    }
}

static int text_width(const char *s, int scale) { return (int)strlen(s) * 4 * scale - scale; }

static int write_png(const char *path, const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, info ? &info : NULL);
        fclose(f);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < H; y++)
        png_write_row(png, (png_const_bytep)(px + (size_t)y * W * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return fclose(f) == 0 ? 0 : -1;
}

int plot_training(const char *path, const float *loss, const float *acc, int n)
{
    canvas c = {calloc((size_t)W * H * 3, 1)};
    if (!c.px)
        return -1;
    memset(c.px, 255, (size_t)W * H * 3);
    const int x0 = LEFT, x1 = W - RIGHT, y0 = H - BOTTOM, y1 = TOP;
    float lmax = 0.0f;
    for (int i = 0; i < n; i++)
        if (isfinite(loss[i]) && loss[i] > lmax)
            lmax = loss[i];
    if (lmax <= 0.0f)
        lmax = 1.0f;
    /* grid and scales: 5 divisions */
    char buf[32];
    for (int k = 0; k <= 5; k++) {
        int y = y0 - (y0 - y1) * k / 5;
        line(&c, x0, y, x1, y, 1, GRID_RGB);
        snprintf(buf, sizeof buf, "%.3g", (double)(lmax * (float)k / 5.0f));
        text(&c, x0 - 8 - text_width(buf, 2), y - 5, buf, 2, LOSS_RGB);
        snprintf(buf, sizeof buf, "%.1f", (double)k / 5.0);
        text(&c, x1 + 8, y - 5, buf, 2, ACC_RGB);
    }
    const int ticks = n < 10 ? n : 10;
    for (int k = 1; k <= ticks; k++) {
        int e = (int)lround((double)k * n / ticks);
        int x = n > 1 ? x0 + (x1 - x0) * (e - 1) / (n - 1) : (x0 + x1) / 2;
        line(&c, x, y0, x, y0 + 5, 1, AXIS_RGB);
        snprintf(buf, sizeof buf, "%d", e);
        text(&c, x - text_width(buf, 2) / 2, y0 + 10, buf, 2, AXIS_RGB);
    }
    text(&c, (x0 + x1) / 2 - text_width("epoch", 2) / 2, y0 + 30, "epoch", 2, AXIS_RGB);
    line(&c, x0, y0, x1, y0, 2, AXIS_RGB);
    line(&c, x0, y0, x0, y1, 2, AXIS_RGB);
    line(&c, x1, y0, x1, y1, 2, AXIS_RGB);
    /* legend */
    rect(&c, x0 + 10, 14, x0 + 30, 18, LOSS_RGB);
    text(&c, x0 + 36, 11, "loss", 2, LOSS_RGB);
    rect(&c, x0 + 90, 14, x0 + 110, 18, ACC_RGB);
    text(&c, x0 + 116, 11, "accuracy", 2, ACC_RGB);
    /* curves */
    for (int pass = 0; pass < 2; pass++) {
        const float *v = pass ? acc : loss;
        const float top = pass ? 1.0f : lmax;
        const uint8_t *rgb = pass ? ACC_RGB : LOSS_RGB;
        int px = 0, py = 0;
        for (int i = 0; i < n; i++) {
            float val = isfinite(v[i]) ? v[i] : 0.0f;
            int x = n > 1 ? x0 + (x1 - x0) * i / (n - 1) : (x0 + x1) / 2;
            int y = y0 - (int)lroundf((float)(y0 - y1) * (val < 0 ? 0 : val > top ? top : val) / top);
            if (i > 0)
                line(&c, px, py, x, y, 3, rgb);
            rect(&c, x - 3, y - 3, x + 3, y + 3, rgb);
            px = x, py = y;
        }
    }
    int rc = write_png(path, c.px);
    free(c.px);
    return rc;
}
