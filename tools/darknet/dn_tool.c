/*
 * dn_tool.c — the darknet side of nn's darknet parity check, linked against
 * Debian's libdarknet (not part of nn).
 *
 *   dn_tool weights CFG IMAGE SEED OUT.weights
 *       seeded random weights for CFG, "sane" on IMAGE: every batch-normalized
 *       convolution gets its rolling mean/variance from the activations the
 *       image actually produces (so activations stay around unit scale), and
 *       the detection heads' objectness and class biases are set so that a
 *       handful of boxes pass a 0.5 threshold.
 *   dn_tool run CFG WEIGHTS IMAGE THRESH OUTDIR
 *       what `darknet detector test` computes, written to OUTDIR:
 *       input.f32 (the letterboxed [C,H,W] network input), head_K.f32 (the
 *       raw tensor feeding detection head K, or the network's output for a
 *       classifier), heads.txt ("K C H W" per head), image.txt ("W H"),
 *       boxes.txt (one line per drawn detection: class prob left right top
 *       bot, then the relative box x y w h), as draw_detections selects them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <darknet.h>

static uint64_t rng_state;

static double rng_uniform(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(void)
{
    double u = rng_uniform(), v = rng_uniform();
    if (u < 1e-12)
        u = 1e-12;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static int is_head(const layer *l) { return l->type == YOLO || l->type == REGION; }

/* pre-activation value from a leaky/linear output */
static float unleak(ACTIVATION a, float y) { return a == LEAKY && y < 0 ? y / 0.1f : y; }

/* run layers 0..last only (the rest are not calibrated yet) */
static void predict_upto(network *net, int last, float *input)
{
    int n = net->n;
    net->n = last + 1;
    network_predict(net, input);
    net->n = n;
}

static int cmd_weights(char *cfg, char *image_path, uint64_t seed, char *out)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    network *net = load_network(cfg, NULL, 0);
    set_batch_network(net, 1);
    image im = load_image_color(image_path, 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    for (int i = 0; i < net->n; i++) {
        layer *l = &net->layers[i];
        if (l->type != CONVOLUTIONAL && l->type != CONNECTED)
            continue;
        int fan_in = l->type == CONVOLUTIONAL ? l->c / l->groups * l->size * l->size : l->inputs;
        int head_next = i + 1 < net->n && is_head(&net->layers[i + 1]);
        double wstd = head_next ? 0.5 / sqrt((double)fan_in) : sqrt(2.0 / fan_in);
        int nw = l->type == CONVOLUTIONAL ? l->nweights : l->inputs * l->outputs;
        for (int k = 0; k < nw; k++)
            l->weights[k] = (float)(rng_normal() * wstd);
        for (int k = 0; k < l->n && l->type == CONVOLUTIONAL; k++)
            l->biases[k] = 0;
        if (l->type == CONNECTED)
            for (int k = 0; k < l->outputs; k++)
                l->biases[k] = 0;
        if (!l->batch_normalize && !head_next) {
            for (int k = 0; k < l->out_c; k++)
                l->biases[k] = (float)(rng_normal() * 0.1);
            continue;
        }
        if (l->batch_normalize) {
            /* calibrate: identity normalisation, run, measure, then set the stats */
            for (int k = 0; k < l->out_c; k++) {
                l->scales[k] = 1;
                l->rolling_mean[k] = 0;
                l->rolling_variance[k] = 1;
                l->biases[k] = 0;
            }
            predict_upto(net, i, sized.data);
            int hw = l->out_h * l->out_w;
            for (int k = 0; k < l->out_c; k++) {
                double s = 0, s2 = 0;
                for (int p = 0; p < hw; p++) {
                    double v = unleak(l->activation, l->output[k * hw + p]) * (1 + 1e-6);
                    s += v;
                    s2 += v * v;
                }
                double mean = s / hw, var = s2 / hw - mean * mean;
                l->rolling_mean[k] = (float)mean;
                l->rolling_variance[k] = (float)(var > 1e-4 ? var : 1e-4);
                l->scales[k] = (float)(0.8 + 0.4 * rng_uniform());
                l->biases[k] = (float)(rng_normal() * 0.2);
            }
            continue;
        }
        /* the conv feeding a head: raw box terms near 0, objectness and
         * classes biased so that a few boxes pass */
        layer *h = &net->layers[i + 1];
        int entries = h->type == YOLO ? 4 + 1 + h->classes : h->coords + 1 + h->classes;
        int anchors = l->out_c / entries;
        for (int a = 0; a < anchors; a++) {
            float *b = l->biases + a * entries;
            b[2] = (float)(rng_normal() * 0.3);
            b[3] = (float)(rng_normal() * 0.3);
            int c1 = (int)(rng_uniform() * h->classes), c2 = (int)(rng_uniform() * h->classes);
            for (int c = 0; c < h->classes; c++)
                b[5 + c] = h->type == YOLO ? -3.0f : 0.0f;
            b[5 + c1] = h->type == YOLO ? 3.0f : 8.0f;
            if (c2 != c1)
                b[5 + c2] = h->type == YOLO ? 0.5f : 7.0f;
            b[4] = 0;
        }
        predict_upto(net, i, sized.data);
        /* objectness: scale and shift the logits so that the best cell of
         * this head scores 0.95 and the 12th best 0.5 */
        int hw = l->out_h * l->out_w;
        enum { K = 12 };
        float top[K];
        for (int t = 0; t < K; t++)
            top[t] = -1e30f;
        for (int a = 0; a < anchors; a++)
            for (int p = 0; p < hw; p++) {
                float v = l->output[(a * entries + 4) * hw + p];
                for (int t = 0; t < K; t++)
                    if (v > top[t]) {
                        memmove(top + t + 1, top + t, (size_t)(K - 1 - t) * sizeof *top);
                        top[t] = v;
                        break;
                    }
            }
        float scale = logf(0.95f / 0.05f) / (top[0] - top[K - 1]);
        for (int a = 0; a < anchors; a++) {
            int ch = a * entries + 4;
            int per = l->c / l->groups * l->size * l->size;
            for (int k = 0; k < per; k++)
                l->weights[ch * per + k] *= scale;
            l->biases[ch] = -scale * top[K - 1];
        }
    }
    save_weights(net, out);
    free_image(im);
    free_image(sized);
    free_network(net);
    return 0;
}

static void write_f32(const char *dir, const char *name, const float *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, sizeof *p, n, f) != n) {
        fprintf(stderr, "dn_tool: cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

static int cmd_run(char *cfg, char *weights, char *image_path, float thresh, const char *dir)
{
    network *net = load_network(cfg, weights, 0);
    set_batch_network(net, 1);
    image im = load_image_color(image_path, 0, 0);
    image sized = letterbox_image(im, net->w, net->h);
    write_f32(dir, "input.f32", sized.data, (size_t)sized.w * sized.h * sized.c);
    network_predict(net, sized.data);
    char path[4096], name[64];
    snprintf(path, sizeof path, "%s/heads.txt", dir);
    FILE *hf = fopen(path, "w");
    int k = 0, classes = 0;
    for (int i = 1; i < net->n; i++) {
        if (!is_head(&net->layers[i]))
            continue;
        layer *src = &net->layers[i - 1];
        snprintf(name, sizeof name, "head_%d.f32", k);
        write_f32(dir, name, src->output, (size_t)src->outputs);
        fprintf(hf, "%d %d %d %d\n", k, src->out_c, src->out_h, src->out_w);
        classes = net->layers[i].classes;
        k++;
    }
    if (k == 0) {
        /* a classifier: the network's output */
        layer *last = &net->layers[net->n - 1];
        for (int i = net->n - 1; i > 0 && last->type == COST; i--)
            last = &net->layers[i - 1];
        write_f32(dir, "head_0.f32", last->output, (size_t)last->outputs);
        fprintf(hf, "0 %d %d %d\n", last->out_c, last->out_h, last->out_w);
    }
    fclose(hf);
    snprintf(path, sizeof path, "%s/image.txt", dir);
    FILE *imf = fopen(path, "w");
    fprintf(imf, "%d %d\n", im.w, im.h);
    fclose(imf);
    if (k == 0) {
        free_image(im);
        free_image(sized);
        free_network(net);
        return 0;
    }
    int nboxes = 0;
    detection *dets = get_network_boxes(net, im.w, im.h, thresh, 0.5f, 0, 1, &nboxes);
    do_nms_sort(dets, nboxes, classes, 0.45f);
    snprintf(path, sizeof path, "%s/boxes.txt", dir);
    FILE *bf = fopen(path, "w");
    for (int i = 0; i < nboxes; i++) {
        box b = dets[i].bbox;
        int left = (int)((b.x - b.w / 2.) * im.w), right = (int)((b.x + b.w / 2.) * im.w);
        int top = (int)((b.y - b.h / 2.) * im.h), bot = (int)((b.y + b.h / 2.) * im.h);
        if (left < 0) left = 0;
        if (right > im.w - 1) right = im.w - 1;
        if (top < 0) top = 0;
        if (bot > im.h - 1) bot = im.h - 1;
        for (int j = 0; j < classes; j++)
            if (dets[i].prob[j] > thresh)
                fprintf(bf, "%d %.9g %d %d %d %d %.9g %.9g %.9g %.9g\n", j, dets[i].prob[j], left, right, top, bot,
                        b.x, b.y, b.w, b.h);
    }
    fclose(bf);
    free_detections(dets, nboxes);
    free_image(im);
    free_image(sized);
    free_network(net);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "weights") == 0)
        return cmd_weights(argv[2], argv[3], strtoull(argv[4], NULL, 10), argv[5]);
    if (argc == 7 && strcmp(argv[1], "run") == 0)
        return cmd_run(argv[2], argv[3], argv[4], strtof(argv[5], NULL), argv[6]);
    fprintf(stderr, "usage: dn_tool weights CFG IMAGE SEED OUT.weights\n"
                    "       dn_tool run CFG WEIGHTS IMAGE THRESH OUTDIR\n");
    return 2;
}
