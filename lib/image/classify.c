/*
 * classify.c — nn_classify: preprocess per the contract, run the session in
 * batches the model accepts, softmax unless the model already ends in one,
 * keep the top k with their labels in an nn_classification.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "api/model.h"
#include "exec/session.h"
#include "image/labels.h"
#include "image/preprocess.h"

struct nn_classification {
    uint32_t images, k, classes;
    uint32_t *index; /* [images * k] */
    float *score;    /* [images * k] */
    nni_labels labels;
};

typedef struct scored {
    float score;
    uint32_t index;
} scored;

NN_API nn_status nn_classify_options_init(nn_classify_options *o, uint32_t version)
{
    nni_error_clear();
    if (!o)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options_init: options is NULL");
    if (version != NN_CLASSIFY_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options_init: version %u is not supported (this library knows %d)",
                         version, NN_CLASSIFY_OPTIONS_VERSION);
    memset(o, 0, sizeof *o);
    o->version = version;
    o->softmax = NN_SOFTMAX_AUTO;
    return NN_OK;
}

static nn_status check_options(const nn_classify_options *o, const nn_model *m)
{
    if (o->version < 1 || o->version > NN_CLASSIFY_OPTIONS_VERSION)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options.version %u is not supported (expected 1..%d)",
                         o->version, NN_CLASSIFY_OPTIONS_VERSION);
    if (o->softmax < NN_SOFTMAX_AUTO || o->softmax > NN_SOFTMAX_NEVER)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options.softmax %d is not an NN_SOFTMAX_* value", (int)o->softmax);
    if (o->reserved_u32)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options.reserved_u32 must be 0");
    if (o->output_index >= (uint32_t)m->graph.n_outputs)
        return nni_error(NN_E_INVALID_ARG, "nn_classify_options.output_index %u is out of range (the model has %d outputs)",
                         o->output_index, (int)m->graph.n_outputs);
    return NN_OK;
}

/* Does the output come straight from a Softmax node (then it already holds probabilities)? */
static bool ends_in_softmax(const nn_model *m, uint32_t output)
{
    const nni_value *v = &m->graph.values[m->graph.outputs[output]];
    return v->producer >= 0 && v->producer < m->graph.n_nodes &&
           strcmp(m->graph.nodes[v->producer].op_type, "Softmax") == 0;
}

static void softmax(float *x, uint32_t n)
{
    float max = -INFINITY;
    for (uint32_t i = 0; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double sum = 0.0;
    for (uint32_t i = 0; i < n; i++)
        sum += x[i] = expf(x[i] - max);
    for (uint32_t i = 0; i < n; i++)
        x[i] = (float)(x[i] / sum);
}

/* Best first; NaN last; ties by lower index. */
static int by_score(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    bool na = isnan(a->score), nb = isnan(b->score);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Score one image's `classes` values (copied to `work`) and keep its top k in r at row `image`. */
static void rank_image(nn_classification *r, uint32_t image, const float *values, bool apply_softmax, float *probs,
                       scored *work)
{
    memcpy(probs, values, (size_t)r->classes * sizeof *probs);
    if (apply_softmax)
        softmax(probs, r->classes);
    for (uint32_t c = 0; c < r->classes; c++)
        work[c] = (scored){probs[c], c};
    qsort(work, r->classes, sizeof *work, by_score);
    for (uint32_t j = 0; j < r->k; j++) {
        r->index[(size_t)image * r->k + j] = work[j].index;
        r->score[(size_t)image * r->k + j] = work[j].score;
    }
}

typedef struct job {
    nn_session *session;
    const nn_model *model;
    const nn_classify_options *opts;
    nni_contract contract;
    uint32_t k_wanted;
    bool softmax;
    float *probs;
    scored *work;
} job;

/* The first output fixes the class count; allocate the result arrays then. */
static nn_status shape_result(job *j, nn_classification *r, int64_t elems, uint32_t n)
{
    if (elems <= 0 || elems % n)
        return nni_error(NN_E_SHAPE, "output #%u has %lld values, not a whole number of classes for %u images",
                         j->opts->output_index, (long long)elems, n);
    int64_t classes = elems / n;
    if (r->classes)
        return classes == r->classes ? NN_OK
                                     : nni_error(NN_E_SHAPE, "output #%u changed from %u to %lld classes between batches",
                                                 j->opts->output_index, r->classes, (long long)classes);
    if (classes > UINT32_MAX / 2)
        return nni_error(NN_E_LIMIT, "%lld classes is too many", (long long)classes);
    r->classes = (uint32_t)classes;
    r->k = j->k_wanted == 0 || j->k_wanted > r->classes ? r->classes : j->k_wanted;
    r->index = nni_calloc((size_t)r->images * r->k, sizeof *r->index);
    r->score = nni_calloc((size_t)r->images * r->k, sizeof *r->score);
    j->probs = nni_malloc((size_t)r->classes * sizeof *j->probs);
    j->work = nni_malloc((size_t)r->classes * sizeof *j->work);
    if (!r->index || !r->score || !j->probs || !j->work)
        return nni_error(NN_E_NOMEM, "cannot allocate the classification result");
    return NN_OK;
}

/* Preprocess and run images [first, first+n) and rank them. */
static nn_status run_batch(job *j, nn_classification *r, const nn_image *const *images, uint32_t first, uint32_t n)
{
    nn_tensor *input;
    nn_status st = nni_images_to_tensor(&j->contract, images + first, n, &input);
    if (st != NN_OK)
        return st;
    st = nn_session_run(j->session, 1, NULL, (const nn_tensor *const *)&input);
    nn_tensor_free(input);
    if (st != NN_OK)
        return st;
    const nn_tensor *out = nn_session_output(j->session, j->opts->output_index);
    if (!out || out->dtype != NN_DTYPE_FLOAT32)
        return nni_error(NN_E_TYPE, "output #%u is %s; class scores must be float32", j->opts->output_index,
                         out ? nn_dtype_name(out->dtype) : "missing");
    if ((st = shape_result(j, r, nni_tensor_count(out), n)) != NN_OK)
        return st;
    for (uint32_t i = 0; i < n; i++)
        rank_image(r, first + i, (const float *)out->data + (size_t)i * r->classes, j->softmax, j->probs, j->work);
    return NN_OK;
}

static nn_status classify(job *j, const nn_image *const *images, uint32_t count, nn_classification *r)
{
    const char *text = j->opts->labels ? j->opts->labels : nn_model_metadata(j->model, NNI_META_LABELS);
    nn_status st = nni_labels_parse(text, &r->labels);
    uint32_t chunk = j->contract.batch > 0 ? (uint32_t)j->contract.batch : count;
    if (st == NN_OK && (j->contract.batch > (int64_t)count || count % chunk))
        st = nni_error(NN_E_SHAPE, "the model takes batches of exactly %u images; %u given", chunk, count);
    for (uint32_t first = 0; st == NN_OK && first < count; first += chunk)
        st = run_batch(j, r, images, first, chunk);
    if (st == NN_OK && r->labels.count && r->labels.count != r->classes)
        st = nni_error(j->opts->labels ? NN_E_INVALID_ARG : NN_E_INVALID_MODEL, "%s has %u labels for %u classes",
                       j->opts->labels ? "nn_classify_options.labels" : "metadata " NNI_META_LABELS, r->labels.count,
                       r->classes);
    return st;
}

static nn_status check_args(nn_session *s, const nn_image *const *images, uint32_t count)
{
    if (!s)
        return nni_error(NN_E_INVALID_ARG, "nn_classify: session is NULL");
    if (!images || count == 0)
        return nni_error(NN_E_INVALID_ARG, "nn_classify: no images given");
    for (uint32_t i = 0; i < count; i++)
        if (!images[i])
            return nni_error(NN_E_INVALID_ARG, "nn_classify: image #%u is NULL", i);
    return NN_OK;
}

NN_API nn_status nn_classify(nn_session *session, const nn_image *const *images, uint32_t count, uint32_t k,
                             const nn_classify_options *options, nn_classification **out)
{
    nni_error_clear();
    if (!out)
        return nni_error(NN_E_INVALID_ARG, "nn_classify: out is NULL");
    *out = NULL;
    nn_status st = check_args(session, images, count);
    if (st != NN_OK)
        return st;
    nn_classify_options defaults;
    nn_classify_options_init(&defaults, NN_CLASSIFY_OPTIONS_VERSION);
    job j = {.session = session, .model = nni_session_model(session), .opts = options ? options : &defaults, .k_wanted = k};
    nn_classification *r = nni_calloc(1, sizeof *r);
    if (!r)
        return nni_error(NN_E_NOMEM, "nn_classify: out of memory");
    r->images = count;
    if ((st = check_options(j.opts, j.model)) == NN_OK &&
        (st = nni_contract_resolve(j.model, j.opts->preprocess, &j.contract)) == NN_OK) {
        j.softmax = j.opts->softmax == NN_SOFTMAX_ALWAYS ||
                    (j.opts->softmax == NN_SOFTMAX_AUTO && !ends_in_softmax(j.model, j.opts->output_index));
        st = classify(&j, images, count, r);
    }
    nni_free(j.probs);
    nni_free(j.work);
    if (st != NN_OK) {
        nn_classification_free(r);
        return nni_error_prefix(st, "nn_classify");
    }
    *out = r;
    return NN_OK;
}

NN_API void nn_classification_free(nn_classification *r)
{
    if (!r)
        return;
    nni_free(r->index);
    nni_free(r->score);
    nni_labels_free(&r->labels);
    nni_free(r);
}

NN_API uint32_t nn_classification_image_count(const nn_classification *r) { return r ? r->images : 0; }
NN_API uint32_t nn_classification_class_count(const nn_classification *r) { return r ? r->classes : 0; }

NN_API uint32_t nn_classification_count(const nn_classification *r, uint32_t image)
{
    return r && image < r->images ? r->k : 0;
}

NN_API nn_status nn_classification_get(const nn_classification *r, uint32_t image, uint32_t rank, uint32_t *index,
                                       float *score, const char **label)
{
    nni_error_clear();
    if (!r)
        return nni_error(NN_E_INVALID_ARG, "nn_classification_get: result is NULL");
    if (image >= r->images || rank >= r->k)
        return nni_error(NN_E_INVALID_ARG, "nn_classification_get: image %u / rank %u is out of range (%u images, %u each)",
                         image, rank, r->images, r->k);
    size_t at = (size_t)image * r->k + rank;
    uint32_t c = r->index[at];
    if (index)
        *index = c;
    if (score)
        *score = r->score[at];
    if (label)
        *label = c < r->labels.count ? r->labels.names[c] : "";
    return NN_OK;
}
