/* test_optim.c - runtime/optim.c: optimizer defaults, state slots and
 * their initial values, single updates worked out by hand, every error,
 * the learning-rate schedules and gradient clipping.
 *
 * The hand-worked steps use values whose arithmetic is exact in binary
 * (halves, quarters), so most expectations are exact; where a result goes
 * through a rounding (Adam's 0.1 * g, a square root) the tolerance is
 * stated beside it. Agreement with torch over whole trajectories is
 * tests/runtime/optim_oracle.py's job. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "td.h"
#include "test.h"

/* The call fails with TD_ERR_INPUT and a message holding `want`; clears it. */
static void expect_error(td_ctx *ctx, td_status st, const char *want, const char *what)
{
    const char *msg = td_ctx_error(ctx);
    CHECK(st == TD_ERR_INPUT && msg && strstr(msg, want), "%s: status %d, message '%s' should contain '%s'", what,
          (int)st, msg ? msg : "(none)", want);
    td_ctx_clear_error(ctx);
}

static void defaults(void)
{
    td_optim_hparams s = td_optim_defaults(TD_OPTIM_SGD);
    CHECK(s.kind == TD_OPTIM_SGD && s.lr == 1e-3 && s.momentum == 0 && s.dampening == 0 && !s.nesterov &&
          s.weight_decay == 0, "sgd defaults");
    td_optim_hparams a = td_optim_defaults(TD_OPTIM_ADAGRAD);
    CHECK(a.lr == 1e-2 && a.lr_decay == 0 && a.initial_accumulator_value == 0 && a.eps == 1e-10 &&
          a.weight_decay == 0, "adagrad defaults");
    td_optim_hparams r = td_optim_defaults(TD_OPTIM_RMSPROP);
    CHECK(r.lr == 1e-2 && r.alpha == 0.99 && r.eps == 1e-8 && r.momentum == 0 && !r.centered && r.weight_decay == 0,
          "rmsprop defaults");
    td_optim_hparams m = td_optim_defaults(TD_OPTIM_ADAM);
    CHECK(m.lr == 1e-3 && m.beta1 == 0.9 && m.beta2 == 0.999 && m.eps == 1e-8 && !m.amsgrad && m.weight_decay == 0,
          "adam defaults");
    td_optim_hparams w = td_optim_defaults(TD_OPTIM_ADAMW);
    CHECK(w.kind == TD_OPTIM_ADAMW && w.lr == 1e-3 && w.beta1 == 0.9 && w.beta2 == 0.999 && w.eps == 1e-8 &&
          w.weight_decay == 1e-2, "adamw defaults: weight_decay 1e-2");
}

static void slots_and_names(void)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_SGD);
    CHECK(td_optim_state_slots(&h) == 0 && td_optim_slot_name(&h, 0) == NULL, "sgd without momentum: no state");
    h.momentum = 0.9;
    CHECK(td_optim_state_slots(&h) == 1 && strcmp(td_optim_slot_name(&h, 0), "momentum_buffer") == 0,
          "sgd with momentum: momentum_buffer");
    h = td_optim_defaults(TD_OPTIM_ADAGRAD);
    CHECK(td_optim_state_slots(&h) == 1 && strcmp(td_optim_slot_name(&h, 0), "sum") == 0, "adagrad: sum");
    h = td_optim_defaults(TD_OPTIM_RMSPROP);
    CHECK(td_optim_state_slots(&h) == 1 && strcmp(td_optim_slot_name(&h, 0), "square_avg") == 0, "rmsprop: 1 slot");
    h.centered = true;
    CHECK(td_optim_state_slots(&h) == 2 && strcmp(td_optim_slot_name(&h, 1), "grad_avg") == 0, "centered: grad_avg");
    h.momentum = 0.5;
    CHECK(td_optim_state_slots(&h) == 3 && strcmp(td_optim_slot_name(&h, 1), "momentum_buffer") == 0 &&
          strcmp(td_optim_slot_name(&h, 2), "grad_avg") == 0, "rmsprop: square_avg, momentum_buffer, grad_avg");
    h.centered = false;
    CHECK(td_optim_state_slots(&h) == 2 && strcmp(td_optim_slot_name(&h, 1), "momentum_buffer") == 0,
          "rmsprop momentum: momentum_buffer second");
    for (int k = TD_OPTIM_ADAM; k <= TD_OPTIM_ADAMW; k++) {
        h = td_optim_defaults((td_optim_kind)k);
        CHECK(td_optim_state_slots(&h) == 2 && strcmp(td_optim_slot_name(&h, 0), "exp_avg") == 0 &&
              strcmp(td_optim_slot_name(&h, 1), "exp_avg_sq") == 0 && !td_optim_slot_name(&h, 2),
              "adam(w) kind %d: exp_avg, exp_avg_sq", k);
        h.amsgrad = true;
        CHECK(td_optim_state_slots(&h) == 3 && strcmp(td_optim_slot_name(&h, 2), "max_exp_avg_sq") == 0,
              "amsgrad: max_exp_avg_sq");
    }
    CHECK(td_optim_slot_name(&h, -1) == NULL && td_optim_slot_name(&h, 3) == NULL, "slots out of range: NULL");
    CHECK(td_optim_state_slots(NULL) == -1 && td_optim_slot_name(NULL, 0) == NULL, "NULL hyper-parameters");
    h.kind = (td_optim_kind)42;
    CHECK(td_optim_state_slots(&h) == -1 && td_optim_slot_name(&h, 0) == NULL, "unknown kind: -1");
}

static void init_state(td_ctx *ctx)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAM);
    h.amsgrad = true;
    double d[9];
    memset(d, 0xff, sizeof d);
    CHECK(td_optim_init_state(ctx, &h, TD_F64, 3, d) == TD_OK, "adam init");
    bool zeros = true;
    for (int i = 0; i < 9; i++)
        zeros &= d[i] == 0 && !signbit(d[i]);
    CHECK(zeros, "adam's three slots are +0.0");
    h = td_optim_defaults(TD_OPTIM_ADAGRAD);
    h.initial_accumulator_value = 0.1;
    float f[4];
    CHECK(td_optim_init_state(ctx, &h, TD_F32, 4, f) == TD_OK && f[0] == 0.1f && f[3] == 0.1f,
          "adagrad f32: initial_accumulator_value rounded to f32");
    CHECK(td_optim_init_state(ctx, &h, TD_F64, 4, d) == TD_OK && d[0] == 0.1 && d[3] == 0.1 && d[4] == 0,
          "adagrad f64: initial_accumulator_value, and no more than n elements");
    h = td_optim_defaults(TD_OPTIM_SGD);
    CHECK(td_optim_init_state(ctx, &h, TD_F32, 4, NULL) == TD_OK, "sgd without momentum: no state, NULL is fine");

    expect_error(ctx, td_optim_init_state(ctx, NULL, TD_F32, 4, f), "td_optim_init_state: the hyper-parameters are NULL",
                 "init NULL h");
    h.kind = (td_optim_kind)-1;
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_F32, 4, f), "unknown optimizer kind -1", "init bad kind");
    h = td_optim_defaults(TD_OPTIM_RMSPROP);
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_BF16, 4, f), "dtype bf16 is not supported (f32 or f64)",
                 "init bf16");
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_F32, 0, f), "no elements (n = 0)", "init n 0");
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_F32, 4, NULL), "rmsprop: the state is NULL but needs 1 array of n elements",
                 "init NULL state");
    h.momentum = 0.5;
    h.centered = true;
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_F64, SIZE_MAX / 16, d), "overflow the address space",
                 "init: 3 x n x 8 bytes overflow");
    h = td_optim_defaults(TD_OPTIM_ADAGRAD);
    h.initial_accumulator_value = -1;
    d[0] = 7;
    expect_error(ctx, td_optim_init_state(ctx, &h, TD_F64, 1, d), "adagrad: invalid initial_accumulator_value -1",
                 "init adagrad negative accumulator");
    CHECK(d[0] == 7, "a failed init leaves the state alone");
}

/* One f64 update of a single element; returns the new param. */
static double step1(td_ctx *ctx, const td_optim_hparams *h, double p, double g, double *state, int64_t step, double lr,
                    double wd)
{
    td_status st = td_optim_update(ctx, h, TD_F64, 1, &p, &g, state, step, lr, wd);
    CHECK(st == TD_OK, "update: %s", td_ctx_error(ctx) ? td_ctx_error(ctx) : "");
    td_ctx_clear_error(ctx);
    return p;
}

static void sgd_steps(td_ctx *ctx)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_SGD);
    double buf[1] = {99};
    CHECK(step1(ctx, &h, 1, 2, NULL, 1, 0.25, 0) == 0.5, "sgd: p - lr g");
    CHECK(step1(ctx, &h, 1, 2, NULL, 1, 0.25, 0.5) == 0.375, "sgd weight decay: g + wd p");
    h.momentum = 0.5;
    double p = step1(ctx, &h, 1, 2, buf, 1, 0.25, 0);
    CHECK(buf[0] == 2 && p == 0.5, "sgd momentum step 1: the buffer is the gradient (not 99, not scaled)");
    p = step1(ctx, &h, p, 2, buf, 2, 0.25, 0);
    CHECK(buf[0] == 3 && p == -0.25, "sgd momentum step 2: buf = 0.5 buf + g");
    h.dampening = 0.5;
    buf[0] = 2;
    step1(ctx, &h, 0, 2, buf, 2, 0.25, 0);
    CHECK(buf[0] == 2, "sgd dampening: buf = 0.5 buf + (1 - 0.5) g");
    step1(ctx, &h, 0, 2, buf, 1, 0.25, 0);
    CHECK(buf[0] == 2, "sgd dampening: not on step 1 (torch clones the gradient)");
    h.dampening = 0;
    h.nesterov = true;
    p = step1(ctx, &h, 1, 2, buf, 1, 0.25, 0);
    CHECK(buf[0] == 2 && p == 0.25, "nesterov: g + momentum buf");
    h.nesterov = false;
    p = step1(ctx, &h, 1, 2, buf, 1, 0.25, 0.5);
    CHECK(buf[0] == 2.5 && p == 0.375, "sgd momentum: the buffer takes the decayed gradient");
    float pf = 1, gf = 2, buff = 0;
    CHECK(td_optim_update(ctx, &h, TD_F32, 1, &pf, &gf, &buff, 1, 0.25, 0) == TD_OK && pf == 0.5f && buff == 2,
          "sgd f32");
}

static void adagrad_rmsprop_steps(td_ctx *ctx)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAGRAD);
    h.eps = 0;
    double s[3] = {0, 0, 0};
    double p = step1(ctx, &h, 1, 2, s, 1, 0.5, 0);
    CHECK(s[0] == 4 && p == 0.5, "adagrad: sum += g^2, p -= lr g / sqrt(sum)");
    h.lr_decay = 1;
    s[0] = 12;
    p = step1(ctx, &h, 1, 2, s, 2, 0.5, 0);
    CHECK(s[0] == 16 && p == 0.875, "adagrad lr_decay: clr = lr / (1 + (step - 1) lr_decay)");

    h = td_optim_defaults(TD_OPTIM_RMSPROP);
    h.alpha = 0.75;
    h.eps = 0;
    s[0] = 0;
    p = step1(ctx, &h, 1, 2, s, 1, 0.25, 0);
    CHECK(s[0] == 1 && p == 0.5, "rmsprop: square_avg = alpha sq + (1 - alpha) g^2");
    h.centered = true;
    s[0] = s[1] = 0;
    p = step1(ctx, &h, 1, 2, s, 1, 0.25, 0);
    CHECK(s[0] == 1 && s[1] == 0.5 && fabs(p - (1 - 0.5 / sqrt(0.75))) < 1e-15,
          "centered: grad_avg = lerp(0, g, 0.25), avg = sqrt(sq - grad_avg^2) (1e-15)");
    h.centered = false;
    h.momentum = 0.5;
    s[0] = 0;
    s[1] = 4;
    p = step1(ctx, &h, 1, 2, s, 1, 0.25, 0);
    CHECK(s[1] == 4 && p == 0, "rmsprop momentum: buf = 0.5 buf + g / avg; p -= lr buf");
}

static void adam_steps(td_ctx *ctx)
{
    /* On step 1, Adam moves every element by lr against the gradient's
     * sign: m / (1 - beta1) = g and sqrt(v / (1 - beta2)) = |g|, up to
     * roundings of 0.1 and 0.001 (1e-15) and eps. */
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAM);
    h.eps = 0;
    double s[3] = {0, 0, 0};
    double p = step1(ctx, &h, 1, -3, s, 1, 0.1, 0);
    CHECK(fabs(p - 1.1) < 1e-15 && fabs(s[0] + 0.3) < 1e-15 && fabs(s[1] - 0.009) < 1e-17,
          "adam step 1: p + lr, exp_avg 0.1 g, exp_avg_sq 0.001 g^2 (1e-15)");
    /* With a zero gradient only weight decay moves p: Adam's L2 goes
     * through the moments (a full lr step), AdamW's multiplies p. */
    memset(s, 0, sizeof s);
    p = step1(ctx, &h, 1, 0, s, 1, 0.1, 0.5);
    CHECK(fabs(p - 0.9) < 1e-15, "adam weight decay is L2 in the gradient (1e-15)");
    h = td_optim_defaults(TD_OPTIM_ADAMW);
    memset(s, 0, sizeof s);
    p = step1(ctx, &h, 1, 0, s, 1, 0.1, 0.5);
    CHECK(p == 0.95 && s[0] == 0 && s[1] == 0, "adamw: p *= 1 - lr wd, the moments untouched");
    h.amsgrad = true;
    memset(s, 0, sizeof s);
    step1(ctx, &h, 1, 2, s, 1, 0.1, 0);
    double v1 = s[1];
    step1(ctx, &h, 1, 0, s, 2, 0.1, 0);
    CHECK(s[2] == v1 && s[1] < v1, "amsgrad: max_exp_avg_sq keeps the largest exp_avg_sq");
    float pf = 1, gf = -3, sf[2] = {0, 0};
    h.amsgrad = false;
    CHECK(td_optim_update(ctx, &h, TD_F32, 1, &pf, &gf, sf, 1, 0.1, 0) == TD_OK && fabsf(pf - 1.1f) < 1e-6f,
          "adamw f32 step 1: p + lr (1e-6)");
}

/* Every check of td_optim_update, and the outputs left alone. */
static void update_errors(td_ctx *ctx)
{
    double p[2] = {1, 2}, g[2] = {3, 4}, s[6] = {5, 6, 7, 8, 9, 10};
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAM);
    expect_error(ctx, td_optim_update(ctx, NULL, TD_F64, 2, p, g, s, 1, 0.1, 0), "the hyper-parameters are NULL",
                 "NULL h");
    h.kind = (td_optim_kind)5;
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, 0.1, 0),
                 "td_optim_update: unknown optimizer kind 5", "bad kind");
    h = td_optim_defaults(TD_OPTIM_ADAM);
    expect_error(ctx, td_optim_update(ctx, &h, TD_I32, 2, p, g, s, 1, 0.1, 0), "adam: dtype i32 is not supported",
                 "i32");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 0, p, g, s, 1, 0.1, 0), "the param has no elements (n = 0)",
                 "n 0");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, NULL, g, s, 1, 0.1, 0), "adam: the param is NULL",
                 "NULL param");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, NULL, s, 1, 0.1, 0), "adam: the gradient is NULL",
                 "NULL grad");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, NULL, 1, 0.1, 0),
                 "adam: the state is NULL but needs 2 arrays of n elements", "NULL state");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, SIZE_MAX / 8, p, g, s, 1, 0.1, 0),
                 "2 state arrays of", "state bytes overflow");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 0, 0.1, 0), "invalid step 0: must be >= 1",
                 "step 0");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, -0.1, 0),
                 "adam: invalid learning rate (lr) -0.1: must be >= 0", "lr < 0");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, NAN, 0), "invalid learning rate (lr) nan",
                 "lr NaN");
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, 0.1, -1), "invalid weight_decay -1: must be >= 0",
                 "weight_decay < 0");
    struct {
        td_optim_kind kind;
        const char *field, *want;
        double value;
    } bad[] = {
        {TD_OPTIM_SGD, "momentum", "sgd: invalid momentum -0.5: must be >= 0", -0.5},
        {TD_OPTIM_ADAGRAD, "lr_decay", "adagrad: invalid lr_decay -1: must be >= 0", -1},
        {TD_OPTIM_ADAGRAD, "initial_accumulator_value", "adagrad: invalid initial_accumulator_value -2", -2},
        {TD_OPTIM_ADAGRAD, "eps", "adagrad: invalid eps -1e-10: must be >= 0", -1e-10},
        {TD_OPTIM_RMSPROP, "eps", "rmsprop: invalid eps -1: must be >= 0", -1},
        {TD_OPTIM_RMSPROP, "momentum", "rmsprop: invalid momentum -0.1", -0.1},
        {TD_OPTIM_RMSPROP, "alpha", "rmsprop: invalid alpha -0.99: must be >= 0", -0.99},
        {TD_OPTIM_ADAM, "eps", "adam: invalid eps -1e-08: must be >= 0", -1e-8},
        {TD_OPTIM_ADAM, "beta1", "adam: invalid beta1 1: must be in [0, 1)", 1},
        {TD_OPTIM_ADAM, "beta1", "adam: invalid beta1 -0.1: must be in [0, 1)", -0.1},
        {TD_OPTIM_ADAMW, "beta2", "adamw: invalid beta2 1.5: must be in [0, 1)", 1.5},
        {TD_OPTIM_ADAMW, "beta2", "adamw: invalid beta2 nan", NAN},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        h = td_optim_defaults(bad[i].kind);
        double *field = strcmp(bad[i].field, "momentum") == 0 ? &h.momentum
                        : strcmp(bad[i].field, "lr_decay") == 0 ? &h.lr_decay
                        : strcmp(bad[i].field, "initial_accumulator_value") == 0 ? &h.initial_accumulator_value
                        : strcmp(bad[i].field, "eps") == 0 ? &h.eps
                        : strcmp(bad[i].field, "alpha") == 0 ? &h.alpha
                        : strcmp(bad[i].field, "beta1") == 0 ? &h.beta1 : &h.beta2;
        *field = bad[i].value;
        expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, 0.1, 0), bad[i].want, bad[i].field);
    }
    h = td_optim_defaults(TD_OPTIM_SGD);
    h.nesterov = true;
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, 0.1, 0),
                 "sgd: nesterov momentum needs momentum > 0 and dampening 0, not momentum 0", "nesterov, no momentum");
    h.momentum = 0.9;
    h.dampening = 0.1;
    expect_error(ctx, td_optim_update(ctx, &h, TD_F64, 2, p, g, s, 1, 0.1, 0), "and dampening 0.1",
                 "nesterov with dampening");
    CHECK(p[0] == 1 && p[1] == 2 && g[0] == 3 && g[1] == 4 && s[0] == 5 && s[5] == 10,
          "failed updates leave param, gradient and state alone");
}

static void schedules(void)
{
    td_schedule s = {TD_LR_CONSTANT, 0.1, 0.01, 0.5, 0, 100, 10};
    CHECK(td_schedule_lr(&s, 0) == 0.1 && td_schedule_lr(&s, 1000) == 0.1, "constant, no warmup");
    s.warmup = 4;
    CHECK(td_schedule_lr(&s, 0) == 0.025 && td_schedule_lr(&s, 1) == 0.05 && td_schedule_lr(&s, 3) == 0.1 &&
          td_schedule_lr(&s, 4) == 0.1, "warmup: lr (step + 1) / warmup, then lr");
    s.kind = TD_LR_COSINE;
    s.warmup = 10;
    s.total = 110;
    CHECK(td_schedule_lr(&s, 9) == 0.1 && td_schedule_lr(&s, 10) == 0.1, "cosine starts at lr after warmup");
    CHECK(fabs(td_schedule_lr(&s, 60) - 0.055) < 1e-15, "cosine halfway: (lr + min_lr) / 2 (1e-15)");
    CHECK(fabs(td_schedule_lr(&s, 35) - (0.01 + 0.045 * (1 + cos(3.141592653589793 / 4)))) < 1e-15,
          "cosine a quarter in (1e-15)");
    CHECK(td_schedule_lr(&s, 110) == 0.01 && td_schedule_lr(&s, 5000) == 0.01, "cosine: min_lr at total and past it");
    s.total = 5;
    CHECK(td_schedule_lr(&s, 4) == 0.05 && td_schedule_lr(&s, 10) == 0.01,
          "cosine with total <= warmup: warmup, then min_lr");
    s.warmup = 0;
    s.total = 0;
    CHECK(td_schedule_lr(&s, 0) == 0.01, "cosine with warmup 0 and total 0: min_lr from the start");
    s.kind = TD_LR_LINEAR;
    s.total = 100;
    CHECK(td_schedule_lr(&s, 0) == 0.1 && fabs(td_schedule_lr(&s, 50) - 0.055) < 1e-15 &&
          td_schedule_lr(&s, 100) == 0.01 && td_schedule_lr(&s, 101) == 0.01, "linear from lr to min_lr (1e-15)");
    s.kind = TD_LR_STEP;
    s.warmup = 2;
    CHECK(td_schedule_lr(&s, 1) == 0.1 && td_schedule_lr(&s, 2) == 0.1 && td_schedule_lr(&s, 11) == 0.1 &&
          td_schedule_lr(&s, 12) == 0.05 && td_schedule_lr(&s, 32) == 0.0125, "step: lr gamma^floor((t - warmup) / 10)");
    s.step_size = 0;
    CHECK(isnan(td_schedule_lr(&s, 5)), "step with step_size 0: NaN");
    CHECK(!isnan(td_schedule_lr(&s, 1)), "... but the warmup still ramps");
    s.step_size = 10;
    CHECK(isnan(td_schedule_lr(&s, -1)) && isnan(td_schedule_lr(NULL, 0)), "negative step, NULL schedule: NaN");
    s.warmup = -1;
    CHECK(isnan(td_schedule_lr(&s, 3)), "negative warmup: NaN");
    s.warmup = 0;
    s.kind = (td_schedule_kind)9;
    CHECK(isnan(td_schedule_lr(&s, 3)), "unknown kind: NaN");
}

static void clipping(td_ctx *ctx)
{
    double a[2] = {3, 4}, b[1] = {12}, total = -1;
    void *grads[3] = {a, NULL, b};
    size_t counts[3] = {2, 0, 1};
    CHECK(td_clip_grad_norm(ctx, TD_F64, 3, grads, counts, 20, &total) == TD_OK && total == 13 && a[0] == 3 &&
          b[0] == 12, "below max_norm: the norm, gradients unchanged (a NULL gradient of 0 elements is fine)");
    CHECK(td_clip_grad_norm(ctx, TD_F64, 3, grads, counts, 1.3, NULL) == TD_OK, "total_norm may be NULL");
    double c = 1.3 / (13 + 1e-6);
    CHECK(a[0] == 3 * c && a[1] == 4 * c && b[0] == 12 * c, "clipped: every gradient times max_norm / (total + 1e-6)");
    float f[3] = {3, 4, 12};
    void *fg[1] = {f};
    size_t fc[1] = {3};
    CHECK(td_clip_grad_norm(ctx, TD_F32, 1, fg, fc, 1, &total) == TD_OK && total == 13 &&
          f[2] == 12 * (float)(1 / (13 + 1e-6)), "f32: norm in double, scaled by the f32 coefficient");
    CHECK(td_clip_grad_norm(ctx, TD_F32, 0, NULL, NULL, 1, &total) == TD_OK && total == 0, "no gradients: norm 0");
    double big[2] = {1e200, -1e200};
    void *bg[1] = {big};
    size_t bc[1] = {2};
    CHECK(td_clip_grad_norm(ctx, TD_F64, 1, bg, bc, 1, &total) == TD_OK && fabs(total / (sqrt(2) * 1e200) - 1) < 1e-15 &&
          fabs(big[0] - sqrt(0.5)) < 1e-15, "f64 squares that overflow: the norm is still finite (1e-15)");
    double nan_g[2] = {NAN, 1};
    bg[0] = nan_g;
    CHECK(td_clip_grad_norm(ctx, TD_F64, 1, bg, bc, 1, &total) == TD_OK && isnan(total) && nan_g[1] == 1,
          "a NaN norm: reported, gradients left alone");
    double inf_g[2] = {INFINITY, 1};
    bg[0] = inf_g;
    CHECK(td_clip_grad_norm(ctx, TD_F64, 1, bg, bc, 1, &total) == TD_OK && isinf(total) && inf_g[1] == 0,
          "an infinite norm: scaled by 0, as torch does");

    expect_error(ctx, td_clip_grad_norm(ctx, TD_F16, 1, fg, fc, 1, &total), "td_clip_grad_norm: dtype f16", "clip f16");
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, -1, fg, fc, 1, &total), "invalid ntensors -1", "clip ntensors");
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, NULL, fc, 1, &total), "the grads array is NULL", "clip grads");
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, fg, NULL, 1, &total), "the counts array is NULL",
                 "clip counts");
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, fg, fc, -1, &total), "invalid max_norm -1: must be >= 0",
                 "clip max_norm");
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, fg, fc, NAN, &total), "invalid max_norm nan", "clip NaN");
    void *nulls[1] = {NULL};
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, nulls, fc, 1, &total), "gradient 0 is NULL but has 3 elements",
                 "clip NULL gradient");
    size_t huge[1] = {SIZE_MAX / 2};
    expect_error(ctx, td_clip_grad_norm(ctx, TD_F32, 1, fg, huge, 1, &total), "gradient 0:", "clip overflow");
}

void test_optim(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(ctx != NULL, "context");
    if (!ctx)
        return;
    defaults();
    slots_and_names();
    init_state(ctx);
    sgd_steps(ctx);
    adagrad_rmsprop_steps(ctx);
    adam_steps(ctx);
    update_errors(ctx);
    schedules();
    clipping(ctx);
    td_ctx_free(ctx);
}
