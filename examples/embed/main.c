/* embed: a C program that uses a tdc model as a library.
 *
 * `tdc --lib examples/cruncher.td -o cruncher` writes cruncher.h and
 * cruncher.c; this program makes the model for a batch of 4, runs its
 * `forward` on a batch of inputs, and checks the result against the same
 * computation written out by hand from the model's own params. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
    cruncher_free(m);
    td_ctx_free(ctx);
    puts(status ? "embed: FAILED" : "embed: ok");
    return status;
}
