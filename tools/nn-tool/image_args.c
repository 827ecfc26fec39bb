/* image_args.c — the preprocessing/label/thread flags of `classify` and `eval`, JSON strings, label lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image_args.h"

void image_args_init(image_args *a)
{
    memset(a, 0, sizeof *a);
    nn_preprocess_options_init(&a->pre, NN_PREPROCESS_OPTIONS_VERSION);
    nn_classify_options_init(&a->cls, NN_CLASSIFY_OPTIONS_VERSION);
    a->cls.preprocess = &a->pre;
}

void image_args_free(image_args *a)
{
    free(a->labels_text);
    a->labels_text = NULL;
}

const char *image_args_usage(void)
{
    return "  --labels FILE        class names, one per line (overrides the model's nn.labels)\n"
           "  --color RGB|BGR|GRAY channel layout the model takes (overrides nn.input.color)\n"
           "  --resize stretch|letterbox|center-crop   how images fit the input (nn.input.resize)\n"
           "  --mean M[,M,M]       per-channel mean on the 0-1 scale (nn.input.mean)\n"
           "  --std S[,S,S]        per-channel std (nn.input.std)\n"
           "  --size WxH           input size where the model's is symbolic\n"
           "  --filter bilinear|nearest\n"
           "  --crop-fraction F    center-crop keeps this fraction, (0,1]\n"
           "  --pad V              letterbox padding on the 0-1 scale\n"
           "  --softmax auto|always|never\n"
           "  --threads N          threads (0 = all cores)\n";
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

static int parse_floats(const char *s, float *out, int32_t *n)
{
    *n = 0;
    for (;;) {
        char *end;
        errno = 0;
        float v = strtof(s, &end);
        if (end == s || errno || *n == 4)
            return -1;
        out[(*n)++] = v;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -1;
        s = end + 1;
    }
}

static int pick(const char *v, const char *const *names, const int *values, int n, int *out)
{
    for (int k = 0; k < n; k++)
        if (strcasecmp(v, names[k]) == 0) {
            *out = values[k];
            return 0;
        }
    return -1;
}

static int parse_value(image_args *a, const char *flag, const char *v)
{
    static const char *const colors[] = {"RGB", "BGR", "GRAY"}, *const fits[] = {"stretch", "letterbox", "center-crop"},
                             *const filters[] = {"bilinear", "nearest"}, *const softmax[] = {"auto", "always", "never"};
    static const int color_v[] = {NN_COLOR_RGB, NN_COLOR_BGR, NN_COLOR_GRAY},
                     fit_v[] = {NN_RESIZE_STRETCH, NN_RESIZE_LETTERBOX, NN_RESIZE_CENTER_CROP},
                     filter_v[] = {NN_FILTER_BILINEAR, NN_FILTER_NEAREST},
                     softmax_v[] = {NN_SOFTMAX_AUTO, NN_SOFTMAX_ALWAYS, NN_SOFTMAX_NEVER};
    char *end;
    if (strcmp(flag, "--color") == 0)
        return pick(v, colors, color_v, 3, &a->pre.color);
    if (strcmp(flag, "--resize") == 0)
        return pick(v, fits, fit_v, 3, &a->pre.resize);
    if (strcmp(flag, "--filter") == 0)
        return pick(v, filters, filter_v, 2, &a->pre.filter);
    if (strcmp(flag, "--softmax") == 0)
        return pick(v, softmax, softmax_v, 3, &a->cls.softmax);
    if (strcmp(flag, "--mean") == 0)
        return parse_floats(v, a->pre.mean, &a->pre.n_mean);
    if (strcmp(flag, "--std") == 0)
        return parse_floats(v, a->pre.std, &a->pre.n_std);
    if (strcmp(flag, "--size") == 0)
        return sscanf(v, "%dx%d", &a->pre.width, &a->pre.height) == 2 && a->pre.width > 0 && a->pre.height > 0 ? 0 : -1;
    if (strcmp(flag, "--crop-fraction") == 0)
        return (a->pre.crop_fraction = strtof(v, &end)) > 0 && *end == '\0' ? 0 : -1;
    if (strcmp(flag, "--pad") == 0) {
        a->pre.pad_value = strtof(v, &end);
        return *end == '\0' && end != v ? 0 : -1;
    }
    if (strcmp(flag, "--threads") == 0)
        return (a->threads = (int)strtol(v, &end, 10)) >= 0 && *end == '\0' && end != v ? 0 : -1;
    if (strcmp(flag, "--labels") == 0) {
        free(a->labels_text);
        a->cls.labels = a->labels_text = read_text(v);
        return a->labels_text ? 0 : -1;
    }
    return 1;
}

int image_args_parse(image_args *a, int argc, char **argv, int *i, const char *cmd)
{
    const char *flag = argv[*i];
    if (strncmp(flag, "--", 2) != 0)
        return 0;
    if (*i + 1 >= argc) {
        int known = parse_value(a, flag, "") != 1; /* only to learn whether the flag is ours */
        if (known)
            fprintf(stderr, "nn-tool %s: %s needs a value\n", cmd, flag);
        return known ? -1 : 0;
    }
    int r = parse_value(a, flag, argv[*i + 1]);
    if (r == 1)
        return 0;
    if (r < 0) {
        fprintf(stderr, "nn-tool %s: bad value for %s: '%s'%s\n", cmd, flag, argv[*i + 1],
                strcmp(flag, "--labels") == 0 ? " (cannot read the file)" : "");
        return -1;
    }
    *i += 1;
    return 1;
}

/* Length of the valid UTF-8 sequence at s, or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 2 && s[0] < 0xC2)
        return 0; /* overlong */
    for (int k = 1; k < n; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return n;
}

void json_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        int n = utf8_len(s);
        if (n == 0) {
            fputs("\\ufffd", f);
            s++;
            continue;
        }
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (*s == '\r')
            fputs("\\r", f);
        else if (*s == '\t')
            fputs("\\t", f);
        else if (*s < 0x20 || *s == 0x7F)
            fprintf(f, "\\u%04x", *s);
        else
            fwrite(s, 1, (size_t)n, f);
        s += n;
    }
    fputc('"', f);
}

char **labels_split(const char *text, uint32_t *count)
{
    *count = 0;
    if (!text || !*text)
        return NULL;
    uint32_t cap = 1;
    for (const char *p = text; *p; p++)
        cap += *p == '\n';
    char **out = calloc(cap, sizeof *out);
    for (const char *p = text; out && *p;) {
        const char *nl = strchr(p, '\n'), *end = nl ? nl : p + strlen(p);
        size_t len = (size_t)(end - p);
        if (len && p[len - 1] == '\r')
            len--;
        if ((out[*count] = strndup(p, len)) == NULL)
            break;
        (*count)++;
        p = nl ? nl + 1 : end;
    }
    return out;
}

void labels_free(char **labels, uint32_t count)
{
    for (uint32_t i = 0; labels && i < count; i++)
        free(labels[i]);
    free(labels);
}
