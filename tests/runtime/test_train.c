/* test_train.c - training on the hand-written models of
 * test_train_models.h: the regions td_model_new lays out; one SGD step
 * against a computation by hand (weight decay, the no-decay group,
 * clipping, the schedule's lr); untrained params untouched; the loss going
 * down; refusals that change nothing (a NaN loss, bad arguments); save and
 * load bit for bit and a resumed run identical to a straight one; every
 * refusal of td_model_load leaving the model as it was. The command line
 * is test_train_cli.c's. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "td.h"
#include "test.h"
#include "test_fixture.h"
#include "test_train_models.h"

void test_train(void);

/* ---- td_model_new: the gradient and optimizer regions ---- */

static void layout(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){4, 0}, 1);
    if (m) {
        /* AdamW keeps 2 slots: w's 2 x 12 bytes at 0, b's 2 x 4 at 64; shrink and halt (plain SGD) keep none */
        CHECK(m->region_bytes[TD_REGION_GRADS] == 200 && m->region_bytes[TD_REGION_OPTIM] == 72,
              "grads 200 B (as the params), optimizer 72 B: %zu %zu", m->region_bytes[TD_REGION_GRADS],
              m->region_bytes[TD_REGION_OPTIM]);
        CHECK(m->optim_offsets[W] == 0 && m->optim_offsets[B] == 64, "fit's state of w at 0, of b at 64");
        CHECK((uintptr_t)m->region[TD_REGION_GRADS] % 64 == 0 && (uintptr_t)m->region[TD_REGION_OPTIM] % 64 == 0,
              "the new regions are 64-byte aligned");
        bool zero = true;
        for (size_t i = 0; i < 200; i++)
            zero = zero && m->region[TD_REGION_GRADS][i] == 0;
        for (size_t i = 0; i < 72; i++)
            zero = zero && m->region[TD_REGION_OPTIM][i] == 0;
        CHECK(zero && m->step == 0 && m->data_cursor == 0, "grads and state start at zero, step 0, cursor 0");
    }
    td_model_free(m);
    /* adagrad's state starts at initial_accumulator_value */
    td_train_desc trains[3];
    td_train_desc fit = LIN_TRAINS[0];
    fit.optim = td_optim_defaults(TD_OPTIM_ADAGRAD);
    fit.optim.initial_accumulator_value = 0.25;
    td_model_desc d = lin_with(trains, fit);
    m = new_model(ctx, &d, (int64_t[]){4, 0}, 1);
    if (m)
        CHECK(optim_state(m, 0, W)[2] == 0.25f && optim_state(m, 0, B)[0] == 0.25f, "adagrad's sum starts at 0.25");
    td_model_free(m);
    td_ctx_free(ctx);
}

static void expect_new_fails(const td_model_desc *d, const char *want, int line)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, d, (int64_t[]){4, 0}, 0);
    const char *msg = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(no message)";
    CHECK(m == NULL && strcmp(msg, want) == 0, "line %d: td_model_new\n  got:  %s\n  want: %s", line, msg, want);
    td_model_free(m);
    td_ctx_free(ctx);
}

static void bad_train_descs(void)
{
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    static const bool TRAINS_K[NPARAMS] = {true, true, false, true};
    fit.trained = TRAINS_K;
    td_model_desc d = lin_with(trains, fit);
    expect_new_fails(&d, "model lin: train block 'fit' trains param 'k' of dtype i32, but optimizers update f32 or f64",
                     __LINE__);
    fit = LIN_TRAINS[0], fit.optim.kind = (td_optim_kind)9, d = lin_with(trains, fit);
    expect_new_fails(&d, "model lin: train block 'fit' has an unknown optimizer kind 9", __LINE__);
    fit = LIN_TRAINS[0], fit.clip = -1, d = lin_with(trains, fit);
    expect_new_fails(&d, "model lin: train block 'fit': clip -1, lr 0.2 and weight_decay 0.1 must be >= 0", __LINE__);
    fit = LIN_TRAINS[0], fit.schedule = (td_schedule){TD_LR_STEP, 0, 0, 0.5, 0, 0, 0}, d = lin_with(trains, fit);
    expect_new_fails(&d, "model lin: train block 'fit': its schedule gives the learning rate nan at step 0", __LINE__);
    fit = LIN_TRAINS[0], fit.optim.beta1 = 1, d = lin_with(trains, fit);
    expect_new_fails(&d, "td_optim_init_state: adamw: invalid beta1 1: must be in [0, 1)", __LINE__);
    fit = LIN_TRAINS[0], fit.grad = NULL, d = lin_with(trains, fit);
    expect_new_fails(&d,
                     "model lin: train block 0 ('fit') lacks a name, its grad function, its trained or decay flags, or "
                     "its inputs",
                     __LINE__);
    d = LIN, d.trains = NULL;
    expect_new_fails(&d, "model lin: 3 train blocks but no array of them", __LINE__);
}

/* ---- td_train_step ---- */

/* One SGD step (lr 0.1, weight decay 0.1 for w but not b) by hand: the
 * gradient of the mean squared error in double, rounded to f32 as the
 * grad function writes it, then p - lr (g + wd p). Tolerance 1e-6: f32
 * arithmetic on numbers of order 1. */
static void sgd_by_hand(const rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    fit.optim = sgd(0.1, 0.1);
    fit.schedule = (td_schedule){TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0};
    fit.clip = 0;
    td_model_desc d = lin_with(trains, fit);
    td_model *m = new_model(ctx, &d, (int64_t[]){4, 0}, 5);
    if (!m) {
        td_ctx_free(ctx);
        return;
    }
    float w0[NFEAT], b0 = *param_f32(m, B), c0[2], gw[NFEAT];
    int32_t k0[2];
    memcpy(w0, param_f32(m, W), sizeof w0);
    memcpy(c0, param_f32(m, C), sizeof c0);
    memcpy(k0, td_model_param(m, K), sizeof k0);
    double dw[NFEAT] = {0}, db = 0, loss = 0;
    for (int i = 0; i < 4; i++) {
        double res = b0 - r->y[i];
        for (int f = 0; f < NFEAT; f++)
            res += (double)r->x[i * 3 + f] * w0[f];
        loss += res * res / 4;
        for (int f = 0; f < NFEAT; f++)
            dw[f] += res * r->x[i * 3 + f] / 2;
        db += res / 2;
    }
    double norm2 = 0;
    for (int f = 0; f < NFEAT; f++)
        gw[f] = (float)dw[f], norm2 += (double)gw[f] * gw[f];
    norm2 += (double)(float)db * (float)db;
    td_step_stats stats;
    td_status st = fit_step(m, r, 0, &stats);
    CHECK(st == TD_OK, "sgd step: %s", td_ctx_error(ctx));
    CHECK(fabs(stats.loss - loss) <= 1e-12 * loss, "loss %.17g, by hand %.17g", stats.loss, loss);
    CHECK(stats.lr == 0.1, "lr %g", stats.lr);
    CHECK(fabs(stats.grad_norm - sqrt(norm2)) <= 1e-12 * sqrt(norm2), "grad norm %.17g, by hand %.17g", stats.grad_norm,
          sqrt(norm2));
    for (int f = 0; f < NFEAT; f++) {
        double want = w0[f] - 0.1 * (gw[f] + 0.1 * w0[f]);
        CHECK(fabs(param_f32(m, W)[f] - want) <= 1e-6, "w[%d] = %.9g, by hand %.9g", f, param_f32(m, W)[f], want);
    }
    double want_b = b0 - 0.1 * (float)db;
    CHECK(fabs(*param_f32(m, B) - want_b) <= 1e-6, "b = %.9g, by hand %.9g (no weight decay)", *param_f32(m, B), want_b);
    CHECK(memcmp(c0, param_f32(m, C), sizeof c0) == 0 && memcmp(k0, td_model_param(m, K), sizeof k0) == 0,
          "untrained params c and k are untouched");
    CHECK(m->step == 1, "one step counted");
    td_model_free(m);
    td_ctx_free(ctx);
}

/* With clip 0.01, SGD moves the params by lr x 0.01 / (norm + 1e-6) x the
 * gradient: an update of norm lr x 0.01 (to f32 rounding, 1e-4 relative). */
static void clipping(const rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    fit.optim = sgd(0.1, 0);
    fit.schedule = (td_schedule){TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0};
    fit.clip = 0.01;
    td_model_desc d = lin_with(trains, fit);
    td_model *m = new_model(ctx, &d, (int64_t[]){4, 0}, 5);
    if (m) {
        float w0[NFEAT], b0 = *param_f32(m, B);
        memcpy(w0, param_f32(m, W), sizeof w0);
        td_step_stats stats;
        CHECK(fit_step(m, r, 0, &stats) == TD_OK, "clipped step: %s", td_ctx_error(ctx));
        double moved = (*param_f32(m, B) - (double)b0) * (*param_f32(m, B) - (double)b0);
        for (int f = 0; f < NFEAT; f++)
            moved += (param_f32(m, W)[f] - (double)w0[f]) * (param_f32(m, W)[f] - (double)w0[f]);
        CHECK(stats.grad_norm > 0.1, "the gradient (norm %g) is far above the clip", stats.grad_norm);
        CHECK(fabs(sqrt(moved) / 0.1 - 0.01) <= 1e-4 * 0.01, "the update's norm / lr is %.9g, not 0.01", sqrt(moved) / 0.1);
    }
    td_model_free(m);
    td_ctx_free(ctx);
}

/* The default fit block: AdamW, cosine from 0.2 to 0.02 over steps 2..40
 * after a warmup of 2, clip 1, b without weight decay. Each step must be
 * what td_optim_update does to copies with the clipped gradient, the
 * schedule's lr, the step count and the param's weight decay (bit for
 * bit); the lr follows the formula; the loss falls. */
static void adamw_schedule(const rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){8, 0}, 2);
    if (!m) {
        td_ctx_free(ctx);
        return;
    }
    float c0[2];
    memcpy(c0, param_f32(m, C), sizeof c0);
    double first = 0, last = 0;
    bool lr_ok = true, same = true;
    for (int s = 0; s < 60; s++) {
        float x[8 * NFEAT], y[8], w[NFEAT], b = *param_f32(m, B), sw[2 * NFEAT], sb[2];
        memcpy(w, param_f32(m, W), sizeof w);
        memcpy(sw, optim_state(m, 0, W), sizeof sw);
        memcpy(sb, optim_state(m, 0, B), sizeof sb);
        rows_batch(r, 8 * s, 8, x, y);
        const void *in[] = {x, y};
        double loss;
        fit_grad(m, in, &loss); /* the gradient the step will see, in the grads region */
        float gw[NFEAT], gb = *grad_f32(m, B);
        memcpy(gw, grad_f32(m, W), sizeof gw);
        td_step_stats stats;
        CHECK(td_train_step(m, 0, in, &stats) == TD_OK, "adamw step %d: %s", s, td_ctx_error(ctx));
        double lr = s < 2 ? 0.2 * (s + 1) / 2 : 0.02 + 0.5 * (0.2 - 0.02) * (1 + cos(M_PI * (s - 2) / 38.0));
        lr = s >= 40 ? 0.02 : lr;
        lr_ok = lr_ok && fabs(stats.lr - lr) <= 1e-15;
        double coef = 1.0 / (stats.grad_norm + 1e-6);
        if (coef < 1) {
            for (int f = 0; f < NFEAT; f++)
                gw[f] = gw[f] * (float)coef;
            gb = gb * (float)coef;
        }
        td_optim_update(ctx, &LIN_TRAINS[0].optim, TD_F32, NFEAT, w, gw, sw, s + 1, stats.lr, 0.1);
        td_optim_update(ctx, &LIN_TRAINS[0].optim, TD_F32, 1, &b, &gb, sb, s + 1, stats.lr, 0);
        same = same && memcmp(w, param_f32(m, W), sizeof w) == 0 && b == *param_f32(m, B) &&
               memcmp(sw, optim_state(m, 0, W), sizeof sw) == 0 && memcmp(sb, optim_state(m, 0, B), sizeof sb) == 0;
        first = s == 0 ? stats.loss : first;
        last = stats.loss;
    }
    CHECK(lr_ok, "the lr follows the warmup and the cosine");
    CHECK(same, "each step is td_optim_update with the clipped gradient, the lr, the step and the group's decay");
    CHECK(last < first / 100, "the loss falls: %g at the first step, %g at the 60th", first, last);
    CHECK(memcmp(c0, param_f32(m, C), sizeof c0) == 0, "c is untouched");
    CHECK(m->step == 60, "60 steps");
    td_model_free(m);
    td_ctx_free(ctx);
}

static void step_refusals(const rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){4, 0}, 2);
    if (!m) {
        td_ctx_free(ctx);
        return;
    }
    fit_step(m, r, 0, NULL);
    snapshot before = take(m);
    float x[4 * NFEAT], y[4];
    rows_batch(r, 0, 4, x, y);
    x[5] = NAN;
    const void *in[] = {x, y}, *half[] = {x, NULL};
    td_step_stats stats;
    CHECK(td_train_step(m, 0, in, &stats) == TD_ERR_INPUT && isnan(stats.loss), "a NaN loss is refused");
    CHECK(strcmp(td_ctx_error(ctx), "step 2: fit: the loss is nan; nothing was updated") == 0, "message: %s",
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_step(m, 3, in, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step: model lin has no train block 3 (it has 3)") == 0,
          "train index out of range: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_step(m, 0, half, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step: fit: input 'y' is NULL") == 0,
          "a NULL input: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_step(m, 0, NULL, NULL) == TD_ERR_INPUT, "no inputs");
    td_ctx_clear_error(ctx);
    CHECK(td_train_step(NULL, 0, in, NULL) == TD_ERR_INPUT, "no model");
    td_dptr device_in[2] = {1, 2};
    CHECK(td_train_step_device(m, 0, device_in, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step_device: model lin is not on the GPU") == 0,
          "a device batch for a model on the CPU: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_step_device(NULL, 0, device_in, NULL) == TD_ERR_INPUT, "no model (device batch)");
    CHECK(td_train_stage(m, 0, in) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_stage: model lin is not on the GPU") == 0,
          "staging a batch for a model on the CPU: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_step_staged(m, 0, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step_staged: model lin is not on the GPU") == 0,
          "a staged step for a model on the CPU: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_train_stage(NULL, 0, in) == TD_ERR_INPUT && td_train_step_staged(NULL, 0, NULL) == TD_ERR_INPUT,
          "no model (staged)");
    CHECK(td_train_stage(m, 1, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_stage: shrink has no inputs to stage") == 0,
          "staging for a block without inputs: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    snapshot after = take(m);
    CHECK(same_state(&before, &after), "refused steps change nothing");
    drop(&before), drop(&after);
    /* a block without inputs takes NULL */
    CHECK(td_train_step(m, 1, NULL, &stats) == TD_OK && m->step == 2, "shrink: %s", td_ctx_error(ctx));
    td_model_free(m);
    td_ctx_free(ctx);
}

/* td_train_step while m->profile is set: the grad function's rows and the
 * optimizer's rows after them (in the order of the trained params) each
 * get one call a step; a profile of the wrong size, one for a block
 * compiled without accounting, and a cost description with fewer
 * operations than trained params are refused before anything changes. */
static void step_profile(const rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){4, 0}, 2);
    if (!m) {
        td_ctx_free(ctx);
        return;
    }
    double seconds[6] = {0};
    int64_t calls[6] = {0};
    td_profile whole = {6, seconds, calls}, two = {2, seconds, calls}, three = {3, seconds, calls};
    m->profile = &whole;
    for (int s = 0; s < 3; s++)
        CHECK(fit_step(m, r, 4 * s, NULL) == TD_OK, "profiled step %d: %s", s, td_ctx_error(ctx));
    bool timed = true;
    for (int i = 0; i < 6; i++)
        timed = timed && calls[i] == 3 && seconds[i] >= 0;
    CHECK(timed, "fit's six rows (grad's four, adamw w, adamw b) are timed once a step: %lld %lld %lld %lld %lld %lld",
          (long long)calls[0], (long long)calls[1], (long long)calls[2], (long long)calls[3], (long long)calls[4],
          (long long)calls[5]);
    memset(calls, 0, sizeof calls);
    m->profile = &two;
    CHECK(td_train_step(m, 1, NULL, NULL) == TD_OK && calls[0] == 1 && calls[1] == 1 && calls[2] == 0,
          "shrink: its map in row 0, sgd w in row 1: %lld %lld", (long long)calls[0], (long long)calls[1]);
    snapshot before = take(m);
    m->profile = &three;
    CHECK(fit_step(m, r, 0, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step: fit: the profile has 3 rows but the step has 6 operations") == 0,
          "a profile of the wrong size: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    m->profile = &two;
    CHECK(td_train_step(m, 2, NULL, NULL) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "td_train_step: halt: profiling a step compiled without accounting") == 0,
          "profiling halt: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    snapshot after = take(m);
    CHECK(same_state(&before, &after), "refused profiled steps change nothing");
    drop(&before), drop(&after);
    m->profile = NULL;
    CHECK(td_train_step(m, 2, NULL, NULL) == TD_OK, "halt without a profile: %s", td_ctx_error(ctx));
    td_model_free(m);
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    static const td_cost_desc ONE_OP = {1, FIT_OPS, predict_costs};
    fit.cost = &ONE_OP;
    td_model_desc d = lin_with(trains, fit);
    m = new_model(ctx, &d, (int64_t[]){4, 0}, 2);
    td_profile one = {1, seconds, calls};
    if (m) {
        m->profile = &one;
        CHECK(fit_step(m, r, 0, NULL) == TD_ERR_INPUT &&
                  strcmp(td_ctx_error(ctx),
                         "td_train_step: fit: the cost description has 1 operation, fewer than the 2 trained params") == 0,
              "a cost description without the optimizer's rows: %s", td_ctx_error(ctx));
        CHECK(m->step == 0, "nothing was done");
    }
    td_model_free(m);
    td_ctx_free(ctx);
}

/* ---- checkpoints ---- */

/* Edits of a checkpoint: each field, when set, changes one thing. */
typedef struct edit {
    const char *drop;          /* a tensor left out */
    const char *reshape;       /* a tensor given one more element on axis 0 */
    const char *retype;        /* a tensor turned into f32 of its bytes / 4 elements */
    const char *extra;         /* a tensor added */
    const char *meta_key;      /* a metadata value replaced (or dropped, with meta_value NULL) */
    const char *meta_value;
} edit;

static void rewrite(const char *src, const char *dst, edit e)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_safetensors st;
    CHECK(td_safetensors_read(ctx, src, &st) == TD_OK, "reading %s: %s", src, td_ctx_error(ctx));
    td_st_tensor tensors[32];
    const char *keys[32], *values[32];
    static const float zeros[64];
    int n = 0, nmeta = 0;
    for (int i = 0; i < st.ntensors && n < 30; i++) {
        td_st_tensor t = st.tensors[i];
        if (e.drop && strcmp(t.name, e.drop) == 0)
            continue;
        if (e.reshape && strcmp(t.name, e.reshape) == 0)
            t.shape[0]++, t.bytes += t.bytes / (size_t)(t.shape[0] - 1), t.data = zeros;
        if (e.retype && strcmp(t.name, e.retype) == 0)
            t.dtype = TD_F32, t.shape[0] = (int64_t)(t.bytes / 4);
        tensors[n++] = t;
    }
    if (e.extra)
        tensors[n++] = (td_st_tensor){e.extra, TD_F32, 1, {2}, zeros, 8};
    for (int i = 0; i < st.nmeta && nmeta < 32; i++) {
        bool edited = e.meta_key && strcmp(st.meta_keys[i], e.meta_key) == 0;
        if (edited && !e.meta_value)
            continue;
        keys[nmeta] = st.meta_keys[i];
        values[nmeta++] = edited ? e.meta_value : st.meta_values[i];
    }
    CHECK(td_safetensors_write(ctx, dst, n, tensors, nmeta, keys, values) == TD_OK, "writing %s: %s", dst,
          td_ctx_error(ctx));
    td_safetensors_free(&st);
    td_ctx_free(ctx);
}

static void expect_load_fails(td_model *m, const char *path, const char *want, int line)
{
    snapshot before = take(m);
    td_ctx_clear_error(m->ctx);
    td_status st = td_model_load(m, path);
    const char *msg = td_ctx_error(m->ctx) ? td_ctx_error(m->ctx) : "(no message)";
    char full[512];
    snprintf(full, sizeof full, "%s: %s", path, want);
    CHECK(st != TD_OK && (want[0] ? strcmp(msg, full) == 0 : strstr(msg, path) != NULL),
          "line %d: td_model_load\n  got:  %s\n  want: %s", line, msg, full);
    snapshot after = take(m);
    CHECK(same_state(&before, &after), "line %d: a refused checkpoint changes nothing", line);
    drop(&before), drop(&after);
    td_ctx_clear_error(m->ctx);
}

static char *tmp_path(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    sprintf(p, "%s/%s", dir, name);
    return p;
}

/* Straight: 10 steps. Resumed: 5 steps, save, a model of another seed
 * loads it, 5 more. Both end in the same bytes. */
static void resume_exact(const rows *r, const char *dir)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char *ck = tmp_path(dir, "half.safetensors");
    td_model *straight = new_model(ctx, &LIN, (int64_t[]){8, 0}, 3), *half = new_model(ctx, &LIN, (int64_t[]){8, 0}, 3),
             *resumed = new_model(ctx, &LIN, (int64_t[]){8, 0}, 99);
    if (straight && half && resumed) {
        for (int s = 0; s < 10; s++)
            fit_step(straight, r, 8 * s, NULL);
        for (int s = 0; s < 5; s++)
            fit_step(half, r, 8 * s, NULL);
        half->rng.offset = 4242, half->data_cursor = 777; /* as a loader would have moved them */
        straight->rng.offset = 4242, straight->data_cursor = 777;
        CHECK(td_model_save(half, ck) == TD_OK, "save: %s", td_ctx_error(ctx));
        CHECK(td_model_load(resumed, ck) == TD_OK, "load: %s", td_ctx_error(ctx));
        snapshot a = take(half), b = take(resumed);
        CHECK(same_state(&a, &b), "load restores params, state, step, rng and cursor bit for bit");
        drop(&a), drop(&b);
        CHECK(resumed->rng.seed == 3, "the seed comes from the checkpoint");
        for (int s = 5; s < 10; s++)
            fit_step(resumed, r, 8 * s, NULL);
        a = take(straight), b = take(resumed);
        CHECK(same_state(&a, &b), "10 steps straight = 5 + resume + 5, bit for bit");
        drop(&a), drop(&b);
    }
    td_model_free(straight), td_model_free(half), td_model_free(resumed);
    remove(ck);
    free(ck);
    td_ctx_free(ctx);
}

static void load_refusals(const rows *r, const char *dir)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){4, 0}, 3), *t = new_model(ctx, &TOK, (int64_t[]){2, 4, 0}, 1);
    char *good = tmp_path(dir, "good.safetensors"), *bad = tmp_path(dir, "bad.safetensors");
    char *tok = tmp_path(dir, "tok.safetensors");
    if (m && t) {
        fit_step(m, r, 0, NULL);
        CHECK(td_model_save(m, good) == TD_OK && td_model_save(t, tok) == TD_OK, "save: %s", td_ctx_error(ctx));
        fit_step(m, r, 4, NULL); /* the model now differs from the file */
        expect_load_fails(m, tok, "a checkpoint of another program (program_hash tok-hash-1), not of model lin "
                                  "(program_hash lin-hash-1)", __LINE__);
        struct {
            edit e;
            const char *want;
        } cases[] = {
            {{.drop = "fit.adamw.exp_avg_sq.b"}, "no tensor 'fit.adamw.exp_avg_sq.b' for the optimizer state of param b"},
            {{.drop = "c"}, "no tensor 'c' for param c"},
            {{.reshape = "w"}, "tensor 'w' is f32[4], but the model's is f32[3]"},
            {{.retype = "k"}, "tensor 'k' is f32[2], but the model's is i32[2]"},
            {{.extra = "zzz"}, "tensor 'zzz' is neither a param nor optimizer state of model lin"},
            {{.meta_key = "step"}, "no 'step' in the checkpoint's metadata"},
            {{.meta_key = "step", .meta_value = "-1"},
             "metadata 'step' is '-1', not a whole number from 0 to 9223372036854775807"},
            {{.meta_key = "seed", .meta_value = "12x"},
             "metadata 'seed' is '12x', not a whole number from 0 to 18446744073709551615"},
            {{.meta_key = "rng_offset", .meta_value = "18446744073709551616"},
             "metadata 'rng_offset' is '18446744073709551616', not a whole number from 0 to 18446744073709551615"},
            {{.meta_key = "data_cursor", .meta_value = ""},
             "metadata 'data_cursor' is '', not a whole number from 0 to 18446744073709551615"},
            {{.meta_key = "program_hash"}, "not a training checkpoint (no 'program_hash' in its metadata)"},
            {{.meta_key = "program_hash", .meta_value = "lin-hash-2"},
             "a checkpoint of another program (program_hash lin-hash-2), not of model lin (program_hash lin-hash-1)"},
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            rewrite(good, bad, cases[i].e);
            expect_load_fails(m, bad, cases[i].want, __LINE__ + (int)i * 1000);
        }
        /* every cut of the file */
        FILE *f = fopen(good, "rb");
        unsigned char buf[4096];
        size_t len = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        bool all_refused = len > 100;
        for (size_t cut = 0; cut < len; cut += 7) {
            FILE *g = fopen(bad, "wb");
            fwrite(buf, 1, cut, g);
            fclose(g);
            snapshot before = take(m);
            all_refused = all_refused && td_model_load(m, bad) != TD_OK;
            snapshot after = take(m);
            all_refused = all_refused && same_state(&before, &after);
            drop(&before), drop(&after);
            td_ctx_clear_error(m->ctx);
        }
        CHECK(all_refused, "every truncation of the checkpoint is refused and changes nothing");
        expect_load_fails(m, "/no/such/ck.safetensors", "", __LINE__);
        CHECK(td_model_load(m, good) == TD_OK && m->step == 1, "the good file still loads: %s", td_ctx_error(ctx));
        CHECK(td_model_load(m, NULL) == TD_ERR_INPUT && td_model_save(m, NULL) == TD_ERR_INPUT &&
                  td_model_load(NULL, good) == TD_ERR_INPUT && td_model_save(NULL, good) == TD_ERR_INPUT,
              "NULL arguments");
        td_ctx_clear_error(ctx);
    }
    td_model_free(m), td_model_free(t);
    remove(good), remove(bad), remove(tok);
    free(good), free(bad), free(tok);
    td_ctx_free(ctx);
}

/* The names, shapes and metadata of a checkpoint of one train block. */
static void checkpoint_contents(const char *dir)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &TOK, (int64_t[]){2, 4, 0}, 7);
    char *ck = tmp_path(dir, "tok.safetensors");
    td_safetensors st = {0};
    if (m && td_model_save(m, ck) == TD_OK && td_safetensors_read(ctx, ck, &st) == TD_OK) {
        const char *names[] = {"emb", "adamw.exp_avg.emb", "adamw.exp_avg_sq.emb"};
        for (int i = 0; i < 3; i++) {
            const td_st_tensor *t = td_safetensors_find(&st, names[i]);
            CHECK(t && t->dtype == TD_F32 && t->rank == 1 && t->shape[0] == NVOCAB, "tensor %s: f32[16]", names[i]);
        }
        CHECK(st.ntensors == 3, "3 tensors, not %d", st.ntensors);
        struct {
            const char *key, *value;
        } meta[] = {
            {"format", "tdc checkpoint 1"},
            {"tdc_model", "tok"},
            {"program_hash", "tok-hash-1"},
            {"step", "0"},
            {"seed", "7"},
            {"rng_offset", "16"},
            {"data_cursor", "0"},
            {"dims", "{\"batch\": 2, \"seq\": 4, \"vocab\": 16}"},
            {"hparams.lm", "{\"optimizer\": \"adamw\", \"lr\": 0.2, \"weight_decay\": 0.1, \"beta1\": 0.9, \"beta2\": "
                           "0.999, \"eps\": 1e-08, \"amsgrad\": false, \"schedule\": \"constant\", \"warmup\": 0, "
                           "\"clip\": 0}"},
        };
        for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
            const char *v = td_safetensors_meta(&st, meta[i].key);
            CHECK(v && strcmp(v, meta[i].value) == 0, "metadata %s: '%s', expected '%s'", meta[i].key, v ? v : "(none)",
                  meta[i].value);
        }
        CHECK(st.nmeta == 9, "9 metadata keys, not %d", st.nmeta);
    } else {
        CHECK(false, "saving and reading back %s: %s", ck, td_ctx_error(ctx));
    }
    td_safetensors_free(&st);
    td_model_free(m);
    remove(ck);
    free(ck);
    td_ctx_free(ctx);
}


void test_train(void)
{
    rows *r = malloc(sizeof *r);
    make_rows(r);
    char dir[] = "/tmp/td_train_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp %s", dir);
    layout();
    bad_train_descs();
    sgd_by_hand(r);
    clipping(r);
    adamw_schedule(r);
    step_refusals(r);
    step_profile(r);
    resume_exact(r, dir);
    load_refusals(r, dir);
    checkpoint_contents(dir);
    test_remove_all(dir);
    free(r);
}
