/* dn_cfg.c — reading darknet .cfg text into sections and typed options. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "frontends/darknet/dn_cfg.h"

#define DN_MAX_SECTIONS 100000
#define DN_MAX_OPTIONS 1000

static bool is_blank(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

/* Copy [p, p+len) without blanks (darknet's strip()) into a new string. */
static char *strip_copy(const char *p, size_t len)
{
    char *s = nni_malloc(len + 1);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (!is_blank(p[i]))
            s[k++] = p[i];
    s[k] = '\0';
    return s;
}

void nni_dn_cfg_free(nni_dn_cfg *cfg)
{
    if (!cfg)
        return;
    for (int32_t i = 0; i < cfg->n_secs; i++) {
        nni_dn_section *s = &cfg->secs[i];
        for (int32_t k = 0; k < s->n_opts; k++) {
            nni_free(s->opts[k].key);
            nni_free(s->opts[k].val);
        }
        nni_free(s->opts);
        nni_free(s->type);
    }
    nni_free(cfg->secs);
    memset(cfg, 0, sizeof *cfg);
}

static nn_status add_section(nni_dn_cfg *cfg, char *type, int32_t line)
{
    if (cfg->n_secs >= DN_MAX_SECTIONS) {
        nni_free(type);
        return nni_error(NN_E_LIMIT, "line %d: more than %d sections", (int)line, DN_MAX_SECTIONS);
    }
    if (cfg->n_secs == cfg->cap_secs) {
        int32_t cap = cfg->cap_secs ? cfg->cap_secs * 2 : 32;
        nni_dn_section *p = nni_realloc(cfg->secs, (size_t)cap * sizeof *p);
        if (!p) {
            nni_free(type);
            return nni_error(NN_E_NOMEM, "cannot grow the cfg section list");
        }
        cfg->secs = p;
        cfg->cap_secs = cap;
    }
    nni_dn_section *s = &cfg->secs[cfg->n_secs++];
    memset(s, 0, sizeof *s);
    s->type = type;
    s->line = line;
    return NN_OK;
}

static nn_status add_option(nni_dn_section *s, char *key, char *val, int32_t line)
{
    if (s->n_opts >= DN_MAX_OPTIONS) {
        nni_free(key);
        nni_free(val);
        return nni_error(NN_E_LIMIT, "line %d: more than %d options in section [%s]", (int)line, DN_MAX_OPTIONS,
                         s->type);
    }
    if (s->n_opts == s->cap_opts) {
        int32_t cap = s->cap_opts ? s->cap_opts * 2 : 8;
        nni_dn_option *p = nni_realloc(s->opts, (size_t)cap * sizeof *p);
        if (!p) {
            nni_free(key);
            nni_free(val);
            return nni_error(NN_E_NOMEM, "cannot grow the cfg option list");
        }
        s->opts = p;
        s->cap_opts = cap;
    }
    s->opts[s->n_opts].key = key;
    s->opts[s->n_opts].val = val;
    s->opts[s->n_opts].line = line;
    s->n_opts++;
    return NN_OK;
}

/* One stripped line: section header, option, or nothing. */
static nn_status parse_line(nni_dn_cfg *cfg, char *line, int32_t lineno)
{
    size_t len = strlen(line);
    if (len == 0 || line[0] == '#' || line[0] == ';')
        return NN_OK;
    if (line[0] == '[') {
        if (line[len - 1] != ']' || len < 3)
            return nni_error(NN_E_PARSE, "line %d: '%s' is not a section header like [convolutional]", (int)lineno,
                             line);
        char *type = nni_malloc(len - 1);
        if (!type)
            return nni_error(NN_E_NOMEM, "cannot copy a section name");
        memcpy(type, line + 1, len - 2);
        type[len - 2] = '\0';
        if (strchr(type, '[') || strchr(type, ']')) {
            nni_free(type);
            return nni_error(NN_E_PARSE, "line %d: '%s' is not a section header like [convolutional]", (int)lineno,
                             line);
        }
        return add_section(cfg, type, lineno);
    }
    char *eq = strchr(line, '=');
    if (!eq)
        return nni_error(NN_E_PARSE, "line %d: '%.60s' is neither a [section] nor key=value", (int)lineno, line);
    if (eq == line)
        return nni_error(NN_E_PARSE, "line %d: option '%.60s' has no key", (int)lineno, line);
    if (cfg->n_secs == 0)
        return nni_error(NN_E_PARSE, "line %d: option '%.60s' comes before any [section]", (int)lineno, line);
    *eq = '\0';
    char *key = nni_strdup(line);
    char *val = nni_strdup(eq + 1);
    *eq = '=';
    if (!key || !val) {
        nni_free(key);
        nni_free(val);
        return nni_error(NN_E_NOMEM, "cannot copy a cfg option");
    }
    return add_option(&cfg->secs[cfg->n_secs - 1], key, val, lineno);
}

nn_status nni_dn_cfg_parse(const char *text, size_t size, nni_dn_cfg *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    if (memchr(text, '\0', size))
        return nni_error(NN_E_PARSE, "the cfg contains NUL bytes: not a darknet cfg text file");
    size_t pos = 0;
    int32_t lineno = 0;
    nn_status st = NN_OK;
    while (pos < size && st == NN_OK) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - start) : size - pos;
        pos += len + (nl ? 1 : 0);
        if (lineno == INT32_MAX) {
            st = nni_error(NN_E_LIMIT, "the cfg has too many lines");
            break;
        }
        lineno++;
        char *line = strip_copy(start, len);
        if (!line) {
            st = nni_error(NN_E_NOMEM, "cannot copy a cfg line");
            break;
        }
        st = parse_line(cfg, line, lineno);
        nni_free(line);
    }
    if (st == NN_OK && cfg->n_secs == 0)
        st = nni_error(NN_E_PARSE, "the cfg has no [section]");
    if (st != NN_OK)
        nni_dn_cfg_free(cfg);
    return st;
}

bool nni_dn_cfg_sniff(const uint8_t *bytes, size_t size)
{
    const char *text = (const char *)bytes;
    size_t pos = 0;
    while (pos < size) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - start) : size - pos;
        pos += len + (nl ? 1 : 0);
        char buf[16];
        size_t k = 0;
        bool comment = false, empty = true;
        for (size_t i = 0; i < len; i++) {
            char ch = start[i];
            if (ch == '\0')
                return false;
            if (is_blank(ch))
                continue;
            if (empty && (ch == '#' || ch == ';')) {
                comment = true;
                break;
            }
            empty = false;
            if (k + 1 >= sizeof buf)
                return false;
            buf[k++] = ch;
        }
        if (comment || empty)
            continue;
        buf[k] = '\0';
        return strcmp(buf, "[net]") == 0 || strcmp(buf, "[network]") == 0;
    }
    return false;
}

const nni_dn_option *nni_dn_find(const nni_dn_section *s, const char *key)
{
    for (int32_t i = 0; i < s->n_opts; i++)
        if (strcmp(s->opts[i].key, key) == 0)
            return &s->opts[i];
    return NULL;
}

/* A trailing darknet-style comment after a value is tolerated. */
static bool rest_ok(const char *end) { return *end == '\0' || *end == '#' || *end == ';'; }

static nn_status parse_i64(const nni_dn_section *s, const nni_dn_option *o, const char *p, const char **end,
                           int64_t *out)
{
    char *e;
    errno = 0;
    long long v = strtoll(p, &e, 10);
    if (e == p)
        return nni_error(NN_E_PARSE, "line %d: [%s] %s=%.40s is not an integer", (int)o->line, s->type, o->key, o->val);
    if (errno == ERANGE)
        return nni_error(NN_E_LIMIT, "line %d: [%s] %s=%.40s is out of range", (int)o->line, s->type, o->key, o->val);
    *end = e;
    *out = v;
    return NN_OK;
}

static nn_status parse_f32(const nni_dn_section *s, const nni_dn_option *o, const char *p, const char **end,
                           float *out)
{
    char *e;
    errno = 0;
    double v = strtod(p, &e);
    if (e == p)
        return nni_error(NN_E_PARSE, "line %d: [%s] %s=%.40s is not a number", (int)o->line, s->type, o->key, o->val);
    if (!isfinite(v) || fabs(v) > 3.0e38)
        return nni_error(NN_E_INVALID_MODEL, "line %d: [%s] %s=%.40s is not a finite float", (int)o->line, s->type,
                         o->key, o->val);
    *end = e;
    *out = (float)v;
    return NN_OK;
}

nn_status nni_dn_int(const nni_dn_section *s, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out)
{
    const nni_dn_option *o = nni_dn_find(s, key);
    if (!o) {
        *out = def;
        return NN_OK;
    }
    const char *end = NULL;
    int64_t v = 0;
    nn_status st = parse_i64(s, o, o->val, &end, &v);
    if (st != NN_OK)
        return st;
    if (!rest_ok(end))
        return nni_error(NN_E_PARSE, "line %d: [%s] %s=%.40s is not an integer", (int)o->line, s->type, key, o->val);
    if (v < lo)
        return nni_error(NN_E_INVALID_MODEL, "line %d: [%s] %s=%lld is out of range (at least %lld)", (int)o->line,
                         s->type, key, (long long)v, (long long)lo);
    if (v > hi)
        return nni_error(NN_E_LIMIT, "line %d: [%s] %s=%lld is over the limit of %lld", (int)o->line, s->type, key,
                         (long long)v, (long long)hi);
    *out = v;
    return NN_OK;
}

nn_status nni_dn_bool(const nni_dn_section *s, const char *key, bool def, bool *out)
{
    int64_t v = 0;
    nn_status st = nni_dn_int(s, key, def ? 1 : 0, INT32_MIN, INT32_MAX, &v);
    if (st == NN_OK)
        *out = v != 0;
    return st;
}

nn_status nni_dn_float(const nni_dn_section *s, const char *key, float def, float *out)
{
    const nni_dn_option *o = nni_dn_find(s, key);
    if (!o) {
        *out = def;
        return NN_OK;
    }
    const char *end = NULL;
    nn_status st = parse_f32(s, o, o->val, &end, out);
    if (st == NN_OK && !rest_ok(end))
        st = nni_error(NN_E_PARSE, "line %d: [%s] %s=%.40s is not a number", (int)o->line, s->type, key, o->val);
    return st;
}

const char *nni_dn_str(const nni_dn_section *s, const char *key, const char *def)
{
    const nni_dn_option *o = nni_dn_find(s, key);
    return o ? o->val : def;
}

/* Shared list walker: `ints` selects the element parser. */
static nn_status parse_list(const nni_dn_section *s, const char *key, int32_t max_n, bool ints, void **out,
                            int32_t *n)
{
    *out = NULL;
    *n = 0;
    const nni_dn_option *o = nni_dn_find(s, key);
    if (!o)
        return NN_OK;
    /* count elements: commas + 1, a single trailing comma tolerated */
    size_t len = strlen(o->val);
    size_t commas = 0;
    for (size_t i = 0; i < len; i++)
        commas += o->val[i] == ',';
    if (len && o->val[len - 1] == ',')
        commas--;
    if (commas + 1 > (size_t)max_n)
        return nni_error(NN_E_LIMIT, "line %d: [%s] %s has %zu values, over the limit of %d", (int)o->line, s->type,
                         key, commas + 1, (int)max_n);
    size_t elem = ints ? sizeof(int64_t) : sizeof(float);
    void *arr = nni_malloc((commas + 1) * elem);
    if (!arr)
        return nni_error(NN_E_NOMEM, "cannot allocate the list %s", key);
    const char *p = o->val;
    int32_t count = 0;
    nn_status st = NN_OK;
    while (st == NN_OK) {
        const char *end = NULL;
        if (ints)
            st = parse_i64(s, o, p, &end, &((int64_t *)arr)[count]);
        else
            st = parse_f32(s, o, p, &end, &((float *)arr)[count]);
        if (st != NN_OK)
            break;
        count++;
        if (*end == ',' && end[1] != '\0' && !rest_ok(end + 1)) {
            p = end + 1;
            continue;
        }
        if (*end == ',')
            end++;
        if (!rest_ok(end))
            st = nni_error(NN_E_PARSE, "line %d: [%s] %s=%.40s is not a comma-separated list of numbers",
                           (int)o->line, s->type, key, o->val);
        break;
    }
    if (st != NN_OK) {
        nni_free(arr);
        return st;
    }
    *out = arr;
    *n = count;
    return NN_OK;
}

nn_status nni_dn_floats(const nni_dn_section *s, const char *key, int32_t max_n, float **out, int32_t *n)
{
    return parse_list(s, key, max_n, false, (void **)out, n);
}

nn_status nni_dn_ints(const nni_dn_section *s, const char *key, int32_t max_n, int64_t **out, int32_t *n)
{
    return parse_list(s, key, max_n, true, (void **)out, n);
}
