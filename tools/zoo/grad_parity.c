/*
 * grad_parity.c — nn's parameter gradients for one batch of a zoo model
 * against PyTorch's float64 ones (written by tools/zoo/grad_parity.py), next
 * to torch's own float32 error on each tensor. One SGD step with
 * a large learning rate and no momentum gives g = (theta0 - theta1) / lr
 * for every trainable parameter; each is compared by name with torch's.
 * With BatchNormalization in training mode the running statistics after the
 * step are compared too.
 *
 * Needs the trainer API (nn_train_step). Build against a static libnn:
 *   cc -O2 -Iinclude -Ilib tools/zoo/grad_parity.c build/lib/libnn.a -lprotobuf-c -lpthread -lm -o grad_parity
 * Run: grad_parity OUTDIR train|frozen
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nn.h>

#include "api/model.h"

#define LR 1000.0f

static nn_tensor *read_pb(const char *dir, const char *sub, const char *name)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s%s%s.pb", dir, sub, sub[0] ? "/" : "", name);
    nn_tensor *t = NULL;
    return nn_tensor_read_file(path, &t) == NN_OK ? t : NULL;
}

/* torch's own float32 error for a parameter, from torch_f32_errors.txt (0 when absent). */
static double torch_f32_error(const char *dir, const char *name)
{
    char path[2048], key[1024];
    double e, found = 0.0;
    snprintf(path, sizeof path, "%s/torch_f32_errors.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0.0;
    while (fscanf(f, "%1023s %lf", key, &e) == 2)
        if (strcmp(key, name) == 0)
            found = e;
    fclose(f);
    return found;
}

static bool is_param(const nni_value *v)
{
    return v->is_param && v->constant && v->constant->dtype == NN_DTYPE_FLOAT32;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR train|frozen\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const bool train_bn = strcmp(argv[2], "train") == 0;
    char path[2048];
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    nn_model *m;
    if (nn_model_load(path, NULL, &m) != NN_OK) {
        fprintf(stderr, "%s: %s\n", path, nn_last_error());
        return 1;
    }
    nn_tensor *x = read_pb(dir, "", "input"), *labels = read_pb(dir, "", "labels");
    if (!x || !labels) {
        fprintf(stderr, "%s: missing input.pb or labels.pb\n", dir);
        return 1;
    }
    nni_graph *g = &m->graph;
    float **before = calloc((size_t)g->n_values, sizeof *before);
    for (int32_t v = 0; v < g->n_values; v++)
        if (is_param(&g->values[v])) {
            before[v] = malloc(g->values[v].constant->nbytes);
            memcpy(before[v], g->values[v].constant->data, g->values[v].constant->nbytes);
        }
    nn_trainer_options o;
    nn_trainer_options_init(&o, NN_TRAINER_OPTIONS_VERSION);
    o.learning_rate = LR;
    o.momentum = 0.0f;
    o.batchnorm = train_bn ? NN_BN_TRAIN : NN_BN_FROZEN;
    nn_trainer *t;
    float loss;
    if (nn_trainer_create(m, &o, &t) != NN_OK || nn_train_step(m, t, x, labels, &loss) != NN_OK) {
        fprintf(stderr, "%s: %s\n", dir, nn_last_error());
        return 1;
    }
    double torch_loss = 0.0;
    snprintf(path, sizeof path, "%s/loss.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%lf", &torch_loss) != 1)
        return 1;
    fclose(f);
    printf("loss: nn %.7f torch %.7f (rel %.2e)\n", loss, torch_loss, fabs(loss - torch_loss) / torch_loss);

    double worst = 0.0, worst_stat = 0.0, worst_ratio = 0.0, torch_worst = 0.0;
    const char *worst_name = "", *worst_stat_name = "", *ratio_name = "";
    int compared = 0, stats = 0;
    for (int32_t v = 0; v < g->n_values; v++) {
        const nni_value *val = &g->values[v];
        if (!val->constant || val->constant->dtype != NN_DTYPE_FLOAT32)
            continue;
        const int64_t n = nni_tensor_count(val->constant);
        const float *now = val->constant->data;
        if (before[v]) {
            nn_tensor *want = read_pb(dir, "grads", val->name);
            if (!want)
                continue;
            double num = 0.0, den = 0.0;
            const float *w = nn_tensor_data(want);
            for (int64_t i = 0; i < n; i++) {
                const double gv = ((double)before[v][i] - (double)now[i]) / LR;
                num += (gv - w[i]) * (gv - w[i]);
                den += (double)w[i] * w[i];
            }
            const double rel = sqrt(num) / (sqrt(den) + 1e-20);
            if (rel > worst)
                worst = rel, worst_name = val->name;
            const double te = torch_f32_error(dir, val->name);
            torch_worst = te > torch_worst ? te : torch_worst;
            /* nn's error in units of torch's float32 error (floored at 1e-6) */
            const double ratio = rel / (te > 1e-6 ? te : 1e-6);
            if (ratio > worst_ratio)
                worst_ratio = ratio, ratio_name = val->name;
            if (getenv("GRAD_PARITY_VERBOSE"))
                printf("  %-50s nn %.3e torch f32 %.3e  |g| %.3e\n", val->name, rel, te, sqrt(den));
            compared++;
            nn_tensor_free(want);
        } else if (train_bn) {
            nn_tensor *want = read_pb(dir, "after", val->name);
            if (!want)
                continue;
            double num = 0.0, den = 0.0;
            const float *w = nn_tensor_data(want);
            for (int64_t i = 0; i < n; i++) {
                num += ((double)now[i] - w[i]) * ((double)now[i] - w[i]);
                den += (double)w[i] * w[i];
            }
            const double rel = sqrt(num) / (sqrt(den) + 1e-20);
            if (rel > worst_stat)
                worst_stat = rel, worst_stat_name = val->name;
            stats++;
            nn_tensor_free(want);
        }
    }
    printf("gradients: %d tensors, worst relative L2 error vs float64 %.2e (%s); torch float32: %.2e\n", compared,
           worst, worst_name, torch_worst);
    printf("worst nn error / torch float32 error: %.2f (%s)\n", worst_ratio, ratio_name);
    if (train_bn)
        printf("running statistics: %d tensors, worst relative L2 error %.2e (%s)\n", stats, worst_stat, worst_stat_name);
    nn_trainer_free(t);
    nn_model_free(m);
    return 0;
}
