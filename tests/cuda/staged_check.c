/* staged_check.c - batches staged ahead and batches on the device, on the GPU.
 *
 *   staged_check
 * Linked with the --lib C of examples/cruncher.td (prefix cruncher) and of
 * tests/cuda/staged.td (prefix staged: two blocks, batches of two sizes). Three
 * models of one seed train five steps on the same batches: from host
 * memory (td_train_step), staged ahead with the next batch staged before
 * each step (td_train_stage, td_train_step_staged: the two staging buffers
 * in turn, so two graphs), and from device memory at three addresses in
 * turn (td_train_step_device: more addresses than a block keeps graphs
 * for, so graphs are captured again), and staged with the next batch
 * staged while each step runs (td_train_step_staged_while); every model's
 * params after the steps are the first's, bit for bit (the first's steps
 * untimed, with no GPU time; the staged ones timed, td_model_time_steps). A meanwhile that
 * trains a step or takes a loss is refused, and the step it ran beside
 * still counts, as it does when the meanwhile fails. Then the errors: a step with nothing
 * staged, a third staged batch, a NULL input, a second block's batch
 * larger than the one staged before it, a staged step for a block whose
 * batch is not next, a model on the CPU. Prints PASS/FAIL lines
 * and "N passed, N failed"; exit 77 with "skipped: why" where there is no
 * GPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cruncher.h"
#include "staged.h"
#include "verdicts.h"

enum { STEPS = 5, BATCH = 8 };

static int has(const char *s, const char *part) { return s && strstr(s, part) != NULL; }

/* td_train_step_staged_while's work: the next batch staged, a step or a
 * loss tried, or a failure with no message. */
typedef enum { STAGE, TRY_STEP, TRY_LOSS, FAIL } meanwhile_kind;
typedef struct meanwhile_args {
    td_model *m;
    meanwhile_kind kind;
    const void *const *next; /* STAGE: the batch */
    td_status inner;
    char message[256];
} meanwhile_args;

static td_status meanwhile(void *arg)
{
    meanwhile_args *a = arg;
    static float bx[BATCH * CRUNCHER_DIM_HIDDEN], by[BATCH];
    double loss;
    switch (a->kind) {
    case STAGE: return td_train_stage(a->m, 0, a->next);
    case TRY_STEP: a->inner = td_train_step(a->m, 0, (const void *[]){bx, by}, NULL); break;
    case TRY_LOSS: a->inner = td_train_loss(a->m, 0, (const void *[]){bx, by}, &loss); break;
    case FAIL: return TD_ERR_INPUT;
    }
    snprintf(a->message, sizeof a->message, "%s", td_ctx_error(a->m->ctx) ? td_ctx_error(a->m->ctx) : "");
    return a->inner;
}

/* The model's params after its steps, copied from the GPU. */
static unsigned char *params_of(td_model *m)
{
    size_t n = m->region_bytes[TD_REGION_PARAMS];
    unsigned char *p = malloc(n ? n : 1);
    if (p && td_model_sync_host(m) == TD_OK)
        memcpy(p, m->region[TD_REGION_PARAMS], n);
    return p;
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    char why[512];
    if (!ctx || !td_cuda_available(ctx, why, sizeof why)) {
        printf("skipped: %s\n", ctx ? why : "no context");
        td_ctx_free(ctx);
        return 77;
    }
    const int64_t H = CRUNCHER_DIM_HIDDEN;
    static float x[STEPS][BATCH * CRUNCHER_DIM_HIDDEN], y[STEPS][BATCH];
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < BATCH * H; i++)
            x[s][i] = (float)((i * 37 + s * 11) % 29) / 29.0f - 0.5f;
        for (int i = 0; i < BATCH; i++)
            y[s][i] = (float)((i + s) % 5) - 2.0f;
    }
    cruncher_dims dims = {.dim_batch = BATCH};
    td_model *host = cruncher_new(ctx, &dims, 3), *staged = cruncher_new(ctx, &dims, 3), *device = cruncher_new(ctx, &dims, 3),
             *overlapped = cruncher_new(ctx, &dims, 3);
    if (!host || !staged || !device || !overlapped) {
        printf("FAIL models: %s\n0 passed, 1 failed\n", td_ctx_error(ctx));
        return 1;
    }
    td_step_stats stats;
    td_status st = TD_OK;
    for (int s = 0; s < STEPS && st == TD_OK; s++)
        st = td_train_step(host, 0, (const void *[]){x[s], y[s]}, &stats);
    check(st == TD_OK && stats.gpu_ms == 0, "five steps from host memory, untimed (no GPU time)", td_ctx_error(ctx));
    td_model_time_steps(staged, true);
    st = td_train_stage(staged, 0, (const void *[]){x[0], y[0]});
    for (int s = 0; s < STEPS && st == TD_OK; s++) {
        if (s + 1 < STEPS)
            st = td_train_stage(staged, 0, (const void *[]){x[s + 1], y[s + 1]});
        if (st == TD_OK)
            st = td_train_step_staged(staged, 0, &stats);
    }
    check(st == TD_OK && stats.gpu_ms > 0, "five steps on staged batches, the next staged before each, timed (a GPU time)",
          td_ctx_error(ctx));
    td_dptr dx[3] = {0}, dy[3] = {0};
    for (int b = 0; b < 3 && st == TD_OK; b++) {
        st = td_cuda_alloc(ctx, sizeof x[0], "x", &dx[b]);
        if (st == TD_OK)
            st = td_cuda_alloc(ctx, sizeof y[0], "y", &dy[b]);
    }
    for (int s = 0; s < STEPS && st == TD_OK; s++) {
        int b = s % 3;
        st = td_cuda_upload(ctx, dx[b], x[s], sizeof x[s]);
        if (st == TD_OK)
            st = td_cuda_upload(ctx, dy[b], y[s], sizeof y[s]);
        if (st == TD_OK)
            st = td_train_step_device(device, 0, (const td_dptr[]){dx[b], dy[b]}, &stats);
    }
    check(st == TD_OK, "five steps from device memory at three addresses in turn", td_ctx_error(ctx));
    st = td_train_stage(overlapped, 0, (const void *[]){x[0], y[0]});
    for (int s = 0; s < STEPS && st == TD_OK; s++) {
        meanwhile_args a = {overlapped, STAGE, s + 1 < STEPS ? (const void *[]){x[s + 1], y[s + 1]} : NULL, TD_OK, ""};
        st = td_train_step_staged_while(overlapped, 0, s + 1 < STEPS ? meanwhile : NULL, &a, &stats);
    }
    check(st == TD_OK && overlapped->step == STEPS, "five steps on staged batches, the next staged while each runs",
          td_ctx_error(ctx));
    unsigned char *want = params_of(host), *got_staged = params_of(staged), *got_device = params_of(device),
                  *got_overlapped = params_of(overlapped);
    size_t n = host->region_bytes[TD_REGION_PARAMS];
    check(want && got_overlapped && memcmp(want, got_overlapped, n) == 0,
          "steps with the next batch staged meanwhile give the host steps' params bit for bit", "the params differ");
    free(got_overlapped);
    /* work meanwhile that fails: a step or a loss tried (refused, with the message the meanwhile kept), or a
     * failure without a message (the call's own); the step it ran beside counts each time */
    static const struct {
        meanwhile_kind kind;
        const char *message, *label;
    } failing[] = {
        {TRY_STEP, "td_train_step: step: a step is running (called from its meanwhile?): only td_train_stage may be",
         "a step from a meanwhile is refused, and the step beside it counts"},
        {TRY_LOSS, "td_train_loss: step: a step is running (called from its meanwhile?): only td_train_stage may be",
         "a loss from a meanwhile is refused, and the step beside it counts"},
        {FAIL, "step 8: step: the work meanwhile failed",
         "a meanwhile that fails without a message: the call says so, and the step counts"},
    };
    for (int i = 0; i < (int)(sizeof failing / sizeof failing[0]); i++) {
        td_ctx_clear_error(ctx);
        st = td_train_stage(overlapped, 0, (const void *[]){x[0], y[0]});
        meanwhile_args bad = {overlapped, failing[i].kind, NULL, TD_OK, ""};
        td_status outer = st == TD_OK ? td_train_step_staged_while(overlapped, 0, meanwhile, &bad, &stats) : st;
        const char *said = failing[i].kind == FAIL ? td_ctx_error(ctx) : bad.message;
        check(outer == TD_ERR_INPUT && (failing[i].kind == FAIL || bad.inner == TD_ERR_INPUT) &&
                  overlapped->step == STEPS + 1 + i && has(said, failing[i].message),
              failing[i].label, said);
    }
    td_ctx_clear_error(ctx);
    cruncher_free(overlapped);
    check(want && got_staged && memcmp(want, got_staged, n) == 0, "staged steps give the host steps' params bit for bit",
          "the params differ");
    check(want && got_device && memcmp(want, got_device, n) == 0,
          "device-batch steps (graphs captured again for new addresses) give the host steps' params bit for bit",
          "the params differ");
    free(want);
    free(got_staged);
    free(got_device);

    td_ctx_clear_error(ctx);
    st = td_train_step_staged(staged, 0, &stats);
    check(st == TD_ERR_INPUT && has(td_ctx_error(ctx), "td_train_step_staged: step: no batch of it is staged next "
                                                       "(td_train_stage first)"),
          "a staged step with nothing staged is refused", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    st = td_train_stage(staged, 0, (const void *[]){x[0], y[0]});
    if (st == TD_OK)
        st = td_train_stage(staged, 0, (const void *[]){x[1], y[1]});
    td_status third = st == TD_OK ? td_train_stage(staged, 0, (const void *[]){x[2], y[2]}) : st;
    check(st == TD_OK && third == TD_ERR_INPUT &&
              has(td_ctx_error(ctx), "td_train_stage: step: two batches are staged already; train a step on one first"),
          "a third staged batch is refused", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    st = td_train_stage(staged, 0, (const void *[]){x[0], NULL});
    check(st == TD_ERR_INPUT && has(td_ctx_error(ctx), "input 'y' is NULL"), "a staged batch with a NULL input",
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    for (int b = 0; b < 3; b++) {
        td_cuda_free(ctx, dx[b]);
        td_cuda_free(ctx, dy[b]);
    }
    cruncher_free(host); /* a model freed with batches staged (staged's two) is fine too */
    cruncher_free(staged);
    cruncher_free(device);

    /* two blocks: the buffers are sized by the first batch staged */
    staged_dims two_dims = {.dim_batch = 4};
    td_model *two = staged_new(ctx, &two_dims, 1);
    float small[4 * 2] = {1, 2, 3, 4, 5, 6, 7, 8}, big[4 * 8] = {0};
    st = two ? td_train_stage(two, 0, (const void *[]){small}) : TD_ERR_INPUT;
    td_status larger = st == TD_OK ? td_train_stage(two, 1, (const void *[]){big}) : st;
    check(st == TD_OK && larger == TD_ERR_INPUT &&
              has(td_ctx_error(ctx), "td_train_stage: big: its batch (128 bytes) is larger than the one staged before "
                                     "it (32); train a step on that first"),
          "a larger batch of another block behind a staged one is refused", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    st = two ? td_train_step_staged(two, 1, &stats) : TD_ERR_INPUT;
    check(st == TD_ERR_INPUT &&
              has(td_ctx_error(ctx), "td_train_step_staged: big: no batch of it is staged next (another block's is)"),
          "a staged step for a block whose batch is not next is refused", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    st = two ? td_train_step_staged(two, 0, &stats) : TD_ERR_INPUT;
    check(st == TD_OK, "the staged batch of the other block then trains", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    if (two)
        staged_free(two);

    td_ctx *cpu = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = cpu ? cruncher_new(cpu, &dims, 3) : NULL;
    st = m ? td_train_stage(m, 0, (const void *[]){x[0], y[0]}) : TD_ERR_INPUT;
    check(m && st == TD_ERR_INPUT && has(td_ctx_error(cpu), "td_train_stage: model cruncher is not on the GPU"),
          "staging for a model on the CPU is refused", cpu ? td_ctx_error(cpu) : NULL);
    td_ctx_clear_error(cpu);
    st = m ? td_train_step_staged(m, 0, &stats) : TD_ERR_INPUT;
    check(m && st == TD_ERR_INPUT && has(td_ctx_error(cpu), "td_train_step_staged: model cruncher is not on the GPU"),
          "a staged step for a model on the CPU is refused", cpu ? td_ctx_error(cpu) : NULL);
    td_ctx_clear_error(cpu);
    st = m ? td_train_step_staged_while(m, 0, meanwhile, NULL, &stats) : TD_ERR_INPUT;
    check(m && st == TD_ERR_INPUT && has(td_ctx_error(cpu), "td_train_step_staged: model cruncher is not on the GPU"),
          "a staged step with work meanwhile for a model on the CPU is refused", cpu ? td_ctx_error(cpu) : NULL);
    if (m)
        cruncher_free(m);
    td_ctx_free(cpu);
    td_ctx_free(ctx);
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
