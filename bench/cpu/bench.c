/* bench.c - times one exported function of a compiled model in process.
 *
 *   bench FN REPEATS OUT.json
 * Linked with the C of a program (tdc --lib ... -o model, whose
 * td_model_desc is model_desc): fills the inputs with a fixed pattern,
 * calls FN REPEATS times after two warm-up calls, and writes the median
 * and minimum wall time in seconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static size_t elements(const td_tensor_desc *t, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= (size_t)td_size_eval(&t->shape[k], dims);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench FN REPEATS OUT.json\n");
        return 2;
    }
    const td_model_desc *d = &model_desc;
    const td_fn_desc *fn = NULL;
    for (int i = 0; i < d->nfns; i++)
        if (strcmp(d->fns[i].name, argv[1]) == 0)
            fn = &d->fns[i];
    int repeats = atoi(argv[2]);
    if (!fn || repeats < 1) {
        fprintf(stderr, "bench: no function '%s' or bad repeat count\n", argv[1]);
        return 2;
    }
    int64_t dims[64] = {0};
    for (int i = 0; i < d->ndims; i++)
        dims[i] = d->dims[i].value; /* the bench programs' dims are all static */
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, d, dims, 1);
    if (!m) {
        fprintf(stderr, "bench: %s\n", td_ctx_error(ctx));
        return 1;
    }
    const void *in[16];
    void *out[16];
    for (int i = 0; i < fn->ninputs; i++) {
        size_t n = elements(&fn->inputs[i], m->dims);
        float *x = malloc(n * sizeof(float));
        for (size_t j = 0; j < n; j++)
            x[j] = (float)((j * 7919 % 1000) / 1000.0 - 0.5);
        in[i] = x;
    }
    for (int i = 0; i < fn->noutputs; i++)
        out[i] = malloc(elements(&fn->outputs[i], m->dims) * td_dtype_size(fn->outputs[i].dtype) + 1);
    double *times = malloc(sizeof(double) * (size_t)repeats);
    for (int r = -2; r < repeats; r++) {
        double t0 = now();
        if (fn->call(m, in, out) != TD_OK) {
            fprintf(stderr, "bench: %s\n", td_ctx_error(ctx));
            return 1;
        }
        if (r >= 0)
            times[r] = now() - t0;
    }
    qsort(times, (size_t)repeats, sizeof(double), compare);
    FILE *f = fopen(argv[3], "w");
    if (!f)
        return 1;
    fprintf(f, "{\"median_s\": %.9f, \"min_s\": %.9f, \"repeats\": %d}\n", times[repeats / 2], times[0], repeats);
    fclose(f);
    for (int i = 0; i < fn->ninputs; i++)
        free((void *)in[i]);
    for (int i = 0; i < fn->noutputs; i++)
        free(out[i]);
    free(times);
    td_model_free(m);
    td_ctx_free(ctx);
    return 0;
}
