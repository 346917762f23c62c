/* embed: a C program that uses a tdc model as a library.
 *
 * `tdc --lib examples/cruncher.td -o cruncher` writes cruncher.h and
 * cruncher.c; this program makes the model for a batch of 4, runs its
 * `forward` on a batch of inputs and checks the result against the same
 * computation written out by hand from the model's own params; then it
 * trains a few steps with `cruncher_train_step`, saves a checkpoint, and
 * checks that loading it into a fresh model gives the same predictions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cruncher.h"

enum { BATCH = 4, HIDDEN = CRUNCHER_DIM_HIDDEN, LAYERS = 2 };

/* forward by hand: x @ w[0] @ w[1] @ final, in double */
static double reference(const float *w, const float *final, const float *x_row)
{
    double act[HIDDEN], next[HIDDEN];
    for (int i = 0; i < HIDDEN; i++)
        act[i] = x_row[i];
    for (int l = 0; l < LAYERS; l++) {
        for (int o = 0; o < HIDDEN; o++) {
            next[o] = 0;
            for (int i = 0; i < HIDDEN; i++)
                next[o] += act[i] * w[(l * HIDDEN + i) * HIDDEN + o];
        }
        for (int o = 0; o < HIDDEN; o++)
            act[o] = next[o];
    }
    double y = 0;
    for (int i = 0; i < HIDDEN; i++)
        y += act[i] * final[i];
    return y;
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    cruncher_dims dims = {.dim_batch = BATCH};
    td_model *m = cruncher_new(ctx, &dims, 42);
    if (!m) {
        fprintf(stderr, "embed: %s\n", td_ctx_error(ctx));
        td_ctx_free(ctx);
        return 1;
    }
    float x[BATCH * HIDDEN], y[BATCH];
    for (int i = 0; i < BATCH * HIDDEN; i++)
        x[i] = (float)sin(0.1 * i);
    const int64_t x_shape[2] = {BATCH, HIDDEN};
    int status = 0;
    if (cruncher_forward(m, x, x_shape, y) != TD_OK) {
        fprintf(stderr, "embed: %s\n", td_ctx_error(ctx));
        status = 1;
    }
    const float *w = td_model_param(m, 0), *final = td_model_param(m, 1);
    for (int b = 0; b < BATCH && status == 0; b++) {
        double want = reference(w, final, x + b * HIDDEN);
        printf("y[%d] = %.6f (by hand %.6f)\n", b, y[b], want);
        if (fabs(y[b] - want) > 1e-5 * (1 + fabs(want)))
            status = 1;
    }
    /* a wrong shape is an error with a message, not a crash */
    const int64_t bad_shape[2] = {BATCH + 1, HIDDEN};
    if (status == 0 && cruncher_forward(m, x, bad_shape, y) == TD_OK)
        status = 1;
    else if (status == 0)
        printf("wrong shape: %s\n", td_ctx_error(ctx));
    /* train towards y = sum of x, the loss falling step by step */
    float target[BATCH];
    for (int b = 0; b < BATCH; b++) {
        target[b] = 0;
        for (int i = 0; i < HIDDEN; i++)
            target[b] += x[b * HIDDEN + i] / HIDDEN;
    }
    const int64_t y_shape[1] = {BATCH};
    td_step_stats stats, first = {0};
    for (int step = 0; step < 20 && status == 0; step++) {
        if (cruncher_train_step(m, x, x_shape, target, y_shape, &stats) != TD_OK) {
            fprintf(stderr, "embed: %s\n", td_ctx_error(ctx));
            status = 1;
        }
        if (step == 0)
            first = stats;
    }
    printf("training: loss %.6f after 1 step, %.6f after 20\n", first.loss, stats.loss);
    if (status == 0 && !(stats.loss < first.loss))
        status = 1;
    /* a checkpoint, loaded into a fresh model, predicts the same */
    char path[] = "/tmp/embed-XXXXXX";
    int fd = status == 0 ? mkstemp(path) : -1;
    if (fd >= 0)
        close(fd);
    td_model *copy = status == 0 ? cruncher_new(ctx, &dims, 7) : NULL;
    float y_saved[BATCH], y_loaded[BATCH];
    if (status == 0 && (!copy || cruncher_save(m, path) != TD_OK || cruncher_load(copy, path) != TD_OK ||
                        cruncher_forward(m, x, x_shape, y_saved) != TD_OK || cruncher_forward(copy, x, x_shape, y_loaded) != TD_OK)) {
        fprintf(stderr, "embed: %s\n", td_ctx_error(ctx));
        status = 1;
    }
    if (status == 0 && memcmp(y_saved, y_loaded, sizeof y_saved) != 0)
        status = 1;
    if (fd >= 0)
        unlink(path);
    cruncher_free(copy);
    cruncher_free(m);
    td_ctx_free(ctx);
    puts(status ? "embed: FAILED" : "embed: ok");
    return status;
}
