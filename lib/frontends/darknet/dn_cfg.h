/*
 * dn_cfg.h — darknet .cfg text: ini-like sections of key=value options, with
 * the line numbers kept for error messages, and strict typed getters.
 */
#ifndef NNI_DN_CFG_H
#define NNI_DN_CFG_H

#include "core/common.h"

typedef struct nni_dn_option {
    char *key;
    char *val;
    int32_t line;
} nni_dn_option;

typedef struct nni_dn_section {
    char *type;        /* the name between the brackets, e.g. "convolutional" */
    int32_t line;      /* line of the "[type]" header */
    nni_dn_option *opts;
    int32_t n_opts, cap_opts;
} nni_dn_section;

typedef struct nni_dn_cfg {
    nni_dn_section *secs;
    int32_t n_secs, cap_secs;
} nni_dn_cfg;

/**
 * Parse cfg text the way darknet reads it: blanks (spaces, tabs, CR) are
 * removed from every line, lines starting with '#' or ';' are comments, a
 * "[name]" line opens a section and other lines are key=value. Refuses
 * options outside a section, lines without '=', and binary data.
 */
nn_status nni_dn_cfg_parse(const char *text, size_t size, nni_dn_cfg *cfg);
void nni_dn_cfg_free(nni_dn_cfg *cfg);

/** True when the text's first non-comment line is "[net]" or "[network]". */
bool nni_dn_cfg_sniff(const uint8_t *text, size_t size);

/** The option (first occurrence wins, as in darknet) or NULL. */
const nni_dn_option *nni_dn_find(const nni_dn_section *s, const char *key);

/**
 * Integer option in [lo, hi] or `def` when absent. A malformed value is
 * NN_E_PARSE, one below lo NN_E_INVALID_MODEL, one above hi NN_E_LIMIT; the
 * messages name section, key, value and line.
 */
nn_status nni_dn_int(const nni_dn_section *s, const char *key, int64_t def, int64_t lo, int64_t hi, int64_t *out);
/** 0/1 option (darknet reads any integer; nonzero is true). */
nn_status nni_dn_bool(const nni_dn_section *s, const char *key, bool def, bool *out);
/** Float option (finite) or `def`. */
nn_status nni_dn_float(const nni_dn_section *s, const char *key, float def, float *out);
/** String option (borrowed) or `def`. */
const char *nni_dn_str(const nni_dn_section *s, const char *key, const char *def);
/**
 * Comma-separated list of numbers; *out is nni_malloc'd (free with nni_free),
 * *n = 0 and *out = NULL when absent. At most `max_n` elements.
 */
nn_status nni_dn_floats(const nni_dn_section *s, const char *key, int32_t max_n, float **out, int32_t *n);
nn_status nni_dn_ints(const nni_dn_section *s, const char *key, int32_t max_n, int64_t **out, int32_t *n);

#endif
