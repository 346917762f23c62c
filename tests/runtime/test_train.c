/* test_train.c - training: td_train_step, checkpoints (td_model_save and
 * td_model_load) and the `train` command, on two hand-written model
 * descriptions of the kind tdc generates.
 *
 * "lin" is linear regression, pred = x . w + b with x: f32["batch feat"],
 * feat = 3, and three train blocks: fit (rows of x and y from .npy files;
 * AdamW with a cosine schedule, clipping and b in the no-decay group, or
 * SGD in local copies), shrink (no inputs; pulls w to 0) and halt (no
 * inputs; raises SIGINT in its third step). Params c (f32) and k (i32) are
 * never trained. "tok" learns one number per token from llm.c token
 * windows (x, y: i32["batch seq"]). The grad functions compute by hand, in
 * double, and write f32 gradients into TD_REGION_GRADS. Checked: the
 * regions td_model_new lays out; one SGD step against a computation by
 * hand (weight decay, the no-decay group, clipping, the schedule's lr);
 * untrained params untouched; the loss going down; refusals that change
 * nothing (a NaN loss, bad arguments); save and load bit for bit and a
 * resumed run identical to a straight one; every refusal of td_model_load
 * leaving the model as it was; and `train` end to end (token windows, rows,
 * no inputs, JSONL and CSV logs checked against a direct loop, validation,
 * checkpoints, --resume byte for byte, Ctrl-C) with the exit status and
 * exact message of every error path. */
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

#include "cli.h"
#include "test_fixture.h"

#include "td.h"
#include "td_devices.h"
#include "test.h"

void test_train(void);

/* ---- the models ---- */

#define DIM(d) {1, 1, 1, {d}, {1}}
#define CONST(n) {n, 1, 0, {0}, {0}}

enum { BATCH, FEAT, SEQ = 1, VOCAB = 2, NFEAT = 3, NVOCAB = 16, MAX_BATCH = 1000 };
enum { W, B, C, K, NPARAMS };

static const td_dim_desc LIN_DIMS[] = {{"batch", 0}, {"feat", NFEAT}};
static const td_size_expr SHAPE_W[] = {DIM(FEAT)};
static const td_size_expr SHAPE_2[] = {CONST(2)};
static const td_size_expr SHAPE_X[] = {DIM(BATCH), DIM(FEAT)};
static const td_size_expr SHAPE_Y[] = {DIM(BATCH)};
static const td_size_expr SHAPE_2B[] = {{2, 1, 1, {BATCH}, {1}}};
static const td_tensor_desc LIN_PARAMS[] = {{"w", TD_F32, 1, SHAPE_W, "feat"},
                                            {"b", TD_F32, 0, NULL, ""},
                                            {"c", TD_F32, 1, SHAPE_2, "2"},
                                            {"k", TD_I32, 1, SHAPE_2, "2"}};
static const td_tensor_desc FIT_IN[] = {{"x", TD_F32, 2, SHAPE_X, "batch feat"}, {"y", TD_F32, 1, SHAPE_Y, "batch"}};
static const td_tensor_desc PREDICT_OUT[] = {{"result", TD_F32, 1, SHAPE_Y, "batch"}};

static float *param_f32(td_model *m, int i) { return td_model_param(m, i); }

/* What the generated code does around operation `op` of its cost
 * description while m->profile is set. */
static double op_start(const td_model *m) { return m->profile ? td_now() : 0; }

static void op_end(td_model *m, int op, double start)
{
    if (m->profile && op < m->profile->nops) {
        m->profile->seconds[op] += td_now() - start;
        m->profile->calls[op]++;
    }
}
static float *grad_f32(td_model *m, int i) { return (float *)(m->region[TD_REGION_GRADS] + m->param_offsets[i]); }

/* pred_i = x_i . w + b */
static double predict_one(td_model *m, const float *x, int64_t i)
{
    const float *w = param_f32(m, W);
    double p = *param_f32(m, B);
    for (int f = 0; f < NFEAT; f++)
        p += (double)x[i * NFEAT + f] * w[f];
    return p;
}

static td_status predict(td_model *m, const void *const *in, void *const *out)
{
    double start = op_start(m);
    for (int64_t i = 0; i < m->dims[BATCH]; i++)
        ((float *)out[0])[i] = (float)predict_one(m, in[0], i);
    op_end(m, 0, start);
    return TD_OK;
}

/* The cost descriptions, as tdc would emit them (the numbers are made up
 * but fixed: the tests compute with the same functions). */
static const td_op_desc PREDICT_OPS[] = {{4, 3, "contract"}};

static void predict_costs(const int64_t *dims, double *flops, double *bytes)
{
    double b = (double)dims[BATCH];
    flops[0] = 2 * b * NFEAT, bytes[0] = 4 * (b * NFEAT + NFEAT + 1 + b);
}

static const td_cost_desc PREDICT_COST = {1, PREDICT_OPS, predict_costs};

static const td_fn_desc LIN_FNS[] = {{"predict", 1, 1, FIT_IN, PREDICT_OUT, predict, &PREDICT_COST, NULL, NULL}};

/* Forward (0, 1) and backward (2, 3), then AdamW's update of w and b. */
static const td_op_desc FIT_OPS[] = {{4, 3, "contract"},          {7, 4, "map"},       {12, 3, "backward contract"},
                                     {13, 3, "backward reduce"}, {-1, 6, "adamw w"}, {-1, 6, "adamw b"}};

static void fit_costs(const int64_t *dims, double *flops, double *bytes)
{
    double b = (double)dims[BATCH], f = NFEAT;
    flops[0] = 2 * b * f, bytes[0] = 4 * (b * f + f + 1 + b);
    flops[1] = 3 * b, bytes[1] = 4 * (3 * b + 1);
    flops[2] = 3 * b * f, bytes[2] = 4 * (b * f + b + f);
    flops[3] = 2 * b, bytes[3] = 4 * (b + 1);
    flops[4] = 16 * f, bytes[4] = 4 * 7 * f;
    flops[5] = 16, bytes[5] = 4 * 7;
}

static const td_cost_desc FIT_COST = {6, FIT_OPS, fit_costs};

/* loss = mean (pred - y)^2; dw = 2/B sum r x, db = 2/B sum r, in four
 * operations (timed when profiling). A NaN in x fails the loss function
 * (validation) but only poisons the gradient's loss (training), to test
 * both refusals. */
static td_status fit_loss_grad(td_model *m, const void *const *in, double *loss, bool grads)
{
    const float *x = in[0], *y = in[1];
    int64_t n = m->dims[BATCH];
    double sum = 0, dw[NFEAT] = {0}, db = 0, r[MAX_BATCH];
    for (int64_t i = 0; !grads && i < n; i++)
        if (isnan(x[i * NFEAT]))
            return td_fail(m->ctx, TD_ERR_INPUT, "x holds a NaN in row %lld", (long long)i);
    double start = op_start(m);
    for (int64_t i = 0; i < n; i++)
        r[i] = predict_one(m, x, i);
    op_end(m, 0, start), start = op_start(m);
    for (int64_t i = 0; i < n; i++) {
        r[i] -= y[i];
        sum += r[i] * r[i];
    }
    op_end(m, 1, start);
    *loss = sum / (double)n;
    if (!grads)
        return TD_OK;
    start = op_start(m);
    for (int f = 0; f < NFEAT; f++)
        for (int64_t i = 0; i < n; i++)
            dw[f] += 2 * r[i] * x[i * NFEAT + f] / (double)n;
    for (int f = 0; f < NFEAT; f++)
        grad_f32(m, W)[f] = (float)dw[f];
    op_end(m, 2, start), start = op_start(m);
    for (int64_t i = 0; i < n; i++)
        db += 2 * r[i] / (double)n;
    *grad_f32(m, B) = (float)db;
    op_end(m, 3, start);
    return TD_OK;
}

static td_status fit_grad(td_model *m, const void *const *in, double *loss) { return fit_loss_grad(m, in, loss, true); }
static td_status fit_loss(td_model *m, const void *const *in, double *loss) { return fit_loss_grad(m, in, loss, false); }

/* loss = 0.5 |w|^2, grad = w */
static td_status shrink_grad(td_model *m, const void *const *in, double *loss)
{
    double sum = 0, start = op_start(m);
    for (int f = 0; f < NFEAT; f++) {
        sum += 0.5 * (double)param_f32(m, W)[f] * param_f32(m, W)[f];
        grad_f32(m, W)[f] = param_f32(m, W)[f];
    }
    *loss = sum;
    op_end(m, 0, start);
    return TD_OK;
}

static const td_op_desc SHRINK_OPS[] = {{3, 9, "map"}, {-1, 8, "sgd w"}};

static void shrink_costs(const int64_t *dims, double *flops, double *bytes)
{
    flops[0] = 3 * NFEAT, bytes[0] = 4 * 2 * NFEAT;
    flops[1] = 2 * NFEAT, bytes[1] = 4 * 3 * NFEAT;
}

static const td_cost_desc SHRINK_COST = {2, SHRINK_OPS, shrink_costs};

/* loss = b^2; the third step's gradient is interrupted by a Ctrl-C */
static td_status halt_grad(td_model *m, const void *const *in, double *loss)
{
    float b = *param_f32(m, B);
    if (m->step == 2)
        raise(SIGINT);
    *loss = (double)b * b;
    *grad_f32(m, B) = 2 * b;
    return TD_OK;
}

static const bool FIT_TRAINED[NPARAMS] = {true, true, false, false}, FIT_DECAY[NPARAMS] = {true, false, true, false};
static const bool W_ONLY[NPARAMS] = {true, false, false, false}, B_ONLY[NPARAMS] = {false, true, false, false};
static const bool ALL_DECAY[NPARAMS] = {true, true, true, true};

static td_optim_hparams sgd(double lr, double weight_decay)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_SGD);
    h.lr = lr, h.weight_decay = weight_decay;
    return h;
}

#define FIT_ADAMW                                                                                                     \
    {"fit", 2, FIT_IN, adamw_const, {TD_LR_COSINE, 0.2, 0.02, 0, 2, 40, 0}, 1.0, FIT_TRAINED, FIT_DECAY, fit_grad, \
     fit_loss, &FIT_COST, NULL, NULL, NULL, NULL, TD_F32, false}

/* td_optim_defaults is a function, so the static descs spell AdamW out. */
#define adamw_const {TD_OPTIM_ADAMW, 0.2, 0.1, 0, 0, false, 0.9, 0.999, 1e-8, false, 0, 0, 0, false}
#define sgd_const(lr) {TD_OPTIM_SGD, lr, 0, 0, 0, false, 0, 0, 0, false, 0, 0, 0, false}

static const td_train_desc LIN_TRAINS[] = {
    FIT_ADAMW,
    {"shrink", 0, NULL, sgd_const(0.5), {TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0}, 0, W_ONLY, ALL_DECAY, shrink_grad, NULL,
     &SHRINK_COST, NULL, NULL, NULL, NULL, TD_F32, false},
    /* compiled without accounting */
    {"halt", 0, NULL, sgd_const(0.1), {TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0}, 0, B_ONLY, ALL_DECAY, halt_grad, NULL, NULL, NULL, NULL, NULL, NULL, TD_F32, false},
};

/* w at 0, b at 64, c at 128, k at 192; no workspace. */
static td_status lin_plan(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *offsets)
{
    if (dims[BATCH] > MAX_BATCH)
        return td_fail(ctx, TD_ERR_INPUT, "batch is %lld but lin needs batch <= %d", (long long)dims[BATCH], MAX_BATCH);
    region_bytes[TD_REGION_PARAMS] = 200;
    region_bytes[TD_REGION_WORKSPACE] = 0;
    offsets[W] = 0, offsets[B] = 64, offsets[C] = 128, offsets[K] = 192;
    return TD_OK;
}

static td_status lin_init(td_model *m)
{
    td_status st = td_init_normal(m->ctx, &m->rng, TD_F32, param_f32(m, W), 1, (int64_t[]){NFEAT}, 0, 1);
    if (st == TD_OK)
        st = td_init_constant(m->ctx, TD_F32, param_f32(m, B), 0, NULL, 0.5);
    if (st == TD_OK)
        st = td_init_ones(m->ctx, TD_F32, param_f32(m, C), 1, (int64_t[]){2});
    if (st == TD_OK)
        st = td_init_constant(m->ctx, TD_I32, td_model_param(m, K), 1, (int64_t[]){2}, 7);
    return st;
}

static const td_model_desc LIN = {"lin", 2, NPARAMS, 1, LIN_DIMS, LIN_PARAMS, LIN_FNS, lin_plan, lin_init,
                                  3, LIN_TRAINS, "lin-hash-1", NULL, 0, NULL};

/* A copy of LIN whose fit block is `fit` (the caller's storage). */
static td_model_desc lin_with(td_train_desc trains[3], td_train_desc fit)
{
    memcpy(trains, LIN_TRAINS, sizeof LIN_TRAINS);
    trains[0] = fit;
    td_model_desc d = LIN;
    d.trains = trains;
    return d;
}

/* "tok": emb[v] learns the mean of y / 16 after token v. */
static const td_dim_desc TOK_DIMS[] = {{"batch", 0}, {"seq", 0}, {"vocab", NVOCAB}};
static const td_size_expr SHAPE_EMB[] = {DIM(VOCAB)};
static const td_size_expr SHAPE_BT[] = {DIM(BATCH), DIM(SEQ)};
static const td_tensor_desc TOK_PARAMS[] = {{"emb", TD_F32, 1, SHAPE_EMB, "vocab"}};
static const td_tensor_desc LM_IN[] = {{"x", TD_I32, 2, SHAPE_BT, "batch seq"}, {"y", TD_I32, 2, SHAPE_BT, "batch seq"}};
static const td_tensor_desc LOOKUP_OUT[] = {{"result", TD_F32, 2, SHAPE_BT, "batch seq"}};

static td_status lm_loss_grad(td_model *m, const void *const *in, double *loss, bool grads)
{
    const int32_t *x = in[0], *y = in[1];
    const float *emb = param_f32(m, 0);
    int64_t n = m->dims[BATCH] * m->dims[SEQ];
    double sum = 0, g[NVOCAB] = {0}, start = op_start(m);
    for (int64_t i = 0; i < n; i++) /* op 0: the indices (a gather reads them) */
        if (x[i] < 0)
            return td_fail(m->ctx, TD_ERR_INPUT, "x[%lld] = %d is negative", (long long)i, x[i]);
    op_end(m, 0, start), start = op_start(m);
    for (int64_t i = 0; i < n; i++) {
        double r = emb[x[i] % NVOCAB] - y[i] / 16.0;
        sum += r * r;
        g[x[i] % NVOCAB] += 2 * r / (double)n;
    }
    *loss = sum / (double)n;
    for (int v = 0; grads && v < NVOCAB; v++)
        grad_f32(m, 0)[v] = (float)g[v];
    op_end(m, 1, start);
    return TD_OK;
}

static const td_op_desc LM_OPS[] = {{2, 4, "gather"}, {5, 4, "map"}, {-1, 2, "adamw emb"}};

static void lm_costs(const int64_t *dims, double *flops, double *bytes)
{
    double n = (double)dims[BATCH] * (double)dims[SEQ];
    flops[0] = 0, bytes[0] = 4 * 2 * n;
    flops[1] = 6 * n, bytes[1] = 4 * (3 * n + NVOCAB);
    flops[2] = 16 * NVOCAB, bytes[2] = 4 * 7 * NVOCAB;
}

static const td_cost_desc LM_COST = {3, LM_OPS, lm_costs};

/* lookup(x: i32["batch seq"]) -> f32["batch seq"]: emb[x], refusing an
 * index outside the vocabulary (profile's integer inputs stay in [0, 16)). */
static td_status lookup(td_model *m, const void *const *in, void *const *out)
{
    const int32_t *x = in[0];
    int64_t n = m->dims[BATCH] * m->dims[SEQ];
    double start = op_start(m);
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < 0 || x[i] >= NVOCAB)
            return td_fail(m->ctx, TD_ERR_INPUT, "x[%lld] = %d is outside the vocabulary", (long long)i, x[i]);
        ((float *)out[0])[i] = param_f32(m, 0)[x[i]];
    }
    op_end(m, 0, start);
    return TD_OK;
}

static const td_op_desc LOOKUP_OPS[] = {{2, 11, "gather"}};

static void lookup_costs(const int64_t *dims, double *flops, double *bytes)
{
    flops[0] = 0, bytes[0] = 4 * 2 * (double)dims[BATCH] * (double)dims[SEQ];
}

static const td_cost_desc LOOKUP_COST = {1, LOOKUP_OPS, lookup_costs};

static td_status lm_grad(td_model *m, const void *const *in, double *loss) { return lm_loss_grad(m, in, loss, true); }
static td_status lm_loss(td_model *m, const void *const *in, double *loss) { return lm_loss_grad(m, in, loss, false); }

static const bool ONE_TRUE[1] = {true};
static const td_train_desc TOK_TRAINS[] = {
    {"lm", 2, LM_IN, adamw_const, {TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0}, 0, ONE_TRUE, ONE_TRUE, lm_grad, lm_loss, &LM_COST, NULL, NULL, NULL, NULL, TD_F32, false},
};
static const td_fn_desc TOK_FNS[] = {{"lookup", 1, 1, LM_IN, LOOKUP_OUT, lookup, &LOOKUP_COST, NULL, NULL}};

static td_status tok_plan(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *offsets)
{
    region_bytes[TD_REGION_PARAMS] = NVOCAB * sizeof(float);
    region_bytes[TD_REGION_WORKSPACE] = 0;
    offsets[0] = 0;
    return TD_OK;
}

static td_status tok_init(td_model *m)
{
    return td_init_normal(m->ctx, &m->rng, TD_F32, param_f32(m, 0), 1, (int64_t[]){NVOCAB}, 0, 0.5);
}

static const td_model_desc TOK = {"tok", 3, 1, 1, TOK_DIMS, TOK_PARAMS, TOK_FNS, tok_plan, tok_init,
                                  1, TOK_TRAINS, "tok-hash-1", NULL, 0, NULL};

/* ---- data: rows of y = x . (1, -2, 0.5) + 0.3, and a token file ---- */

enum { NROWS = 64, NTOKENS = 500 };

typedef struct rows {
    float x[NROWS * NFEAT], y[NROWS];
} rows;

static void make_rows(rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_rng rng = {1234, 0};
    td_rng_normal_f32(ctx, &rng, r->x, NROWS * NFEAT);
    for (int i = 0; i < NROWS; i++)
        r->y[i] = r->x[i * 3] - 2 * r->x[i * 3 + 1] + 0.5f * r->x[i * 3 + 2] + 0.3f;
    td_ctx_free(ctx);
}

/* Token t_i = (7 i + i / 5) % 16: mostly predictable from the last one. */
static void write_tokens(const char *path, int count)
{
    int32_t header[256] = {20240520, 1, count};
    uint16_t *tok = malloc((size_t)count * sizeof *tok);
    for (int i = 0; i < count; i++)
        tok[i] = (uint16_t)((7 * i + i / 5) % NVOCAB);
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(header, sizeof header, 1, f) == 1 && fwrite(tok, sizeof *tok, (size_t)count, f) == (size_t)count,
          "writing %s", path);
    if (f)
        fclose(f);
    free(tok);
}

/* ---- helpers ---- */

static td_model *new_model(td_ctx *ctx, const td_model_desc *d, const int64_t *dims, uint64_t seed)
{
    td_model *m = td_model_new(ctx, d, dims, seed);
    CHECK(m != NULL, "td_model_new(%s): %s", d->name, td_ctx_error(ctx));
    return m;
}

/* The whole training state, to compare two models or one before and after. */
typedef struct snapshot {
    unsigned char *params, *optim;
    size_t params_bytes, optim_bytes;
    int64_t step;
    td_rng rng;
    uint64_t cursor;
} snapshot;

static snapshot take(const td_model *m)
{
    snapshot s = {malloc(m->region_bytes[TD_REGION_PARAMS] + 1), malloc(m->region_bytes[TD_REGION_OPTIM] + 1),
                  m->region_bytes[TD_REGION_PARAMS], m->region_bytes[TD_REGION_OPTIM], m->step, m->rng, m->data_cursor};
    memcpy(s.params, m->region[TD_REGION_PARAMS], s.params_bytes);
    if (s.optim_bytes)
        memcpy(s.optim, m->region[TD_REGION_OPTIM], s.optim_bytes);
    return s;
}

static bool same_state(const snapshot *a, const snapshot *b)
{
    return a->params_bytes == b->params_bytes && a->optim_bytes == b->optim_bytes &&
           memcmp(a->params, b->params, a->params_bytes) == 0 && memcmp(a->optim, b->optim, a->optim_bytes) == 0 &&
           a->step == b->step && a->rng.seed == b->rng.seed && a->rng.offset == b->rng.offset && a->cursor == b->cursor;
}

static void drop(snapshot *s)
{
    free(s->params);
    free(s->optim);
}

/* The batch of rows `first` .. first + n - 1 (wrapping). */
static void rows_batch(const rows *r, int first, int n, float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        int k = (first + i) % NROWS;
        memcpy(&x[i * NFEAT], &r->x[k * NFEAT], NFEAT * sizeof(float));
        y[i] = r->y[k];
    }
}

static td_status fit_step(td_model *m, const rows *r, int first, td_step_stats *stats)
{
    float x[8 * NFEAT], y[8];
    rows_batch(r, first, (int)m->dims[BATCH], x, y);
    const void *in[] = {x, y};
    return td_train_step(m, 0, in, stats);
}

static const float *optim_state(const td_model *m, int train, int param)
{
    return (const float *)(m->region[TD_REGION_OPTIM] + m->optim_offsets[train * NPARAMS + param]);
}

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

/* ---- the command line ---- */

/* The number after `"key": ` in a JSON line, or after the key's column in
 * a CSV line (given the header); NAN when absent or empty. */
static double json_number(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    return p && strncmp(p + strlen(pat), "null", 4) != 0 ? strtod(p + strlen(pat), NULL) : NAN;
}

static double csv_number(const char *header, const char *line, const char *key)
{
    int col = 0;
    for (const char *h = header; *h; h++) {
        if (strncmp(h, key, strlen(key)) == 0 && (h == header || h[-1] == ',') &&
            (h[strlen(key)] == ',' || h[strlen(key)] == 0))
            break;
        col += *h == ',';
    }
    const char *p = line;
    for (int c = 0; c < col && p; c++)
        p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL;
    return p && *p && *p != ',' ? strtod(p, NULL) : NAN;
}

/* The lines of a file into the caller's buffer, each cut at its newline:
 * lines[i] is line i. */
static int read_lines(const char *path, char *buf, size_t cap, const char **lines, int max)
{
    slurp_text(path, buf, cap);
    int n = 0;
    for (char *p = buf; *p && n < max; n++) {
        lines[n] = p;
        char *nl = strchr(p, '\n');
        if (!nl)
            return n + 1;
        *nl = 0;
        p = nl + 1;
    }
    return n;
}

static bool same_file(const char *a, const char *b)
{
    static char x[65536], y[65536];
    size_t n = slurp_text(a, x, sizeof x), k = slurp_text(b, y, sizeof y);
    return n > 0 && n == k && memcmp(x, y, n) == 0;
}

static const char LIN_INFO[] =
    "model lin\n"
    "dims\n"
    "  batch  = 8 (bound at run time, from --dims)\n"
    "  feat   = 3\n"
    "params\n"
    "  w  f32[\"feat\"]  [3]  12 B\n"
    "  b  f32          []   4 B\n"
    "  c  f32[\"2\"]     [2]  8 B\n"
    "  k  i32[\"2\"]     [2]  8 B\n"
    "functions\n"
    "  predict(x: f32[\"batch feat\"]) -> f32[\"batch\"]\n"
    "    flops      48 a call, 1 operation\n"
    "train blocks\n"
    "  fit(x: f32[\"batch feat\"], y: f32[\"batch\"])\n"
    "    data       --data x=FILE.npy --data y=FILE.npy (rows)\n"
    "    optimizer  adamw(lr=0.2, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.1)\n"
    "    schedule   cosine(warmup=2, total=40, min_lr=0.02)\n"
    "    clip       1 (max gradient norm)\n"
    "    params     w, b; no weight decay: b; not trained: c, k\n"
    "    flops      224 a step: grad 160, optimizer 64; 6 operations\n"
    "  shrink()\n"
    "    data       none\n"
    "    optimizer  sgd(lr=0.5, momentum=0, dampening=0, weight_decay=0)\n"
    "    schedule   constant\n"
    "    clip       none\n"
    "    params     w; not trained: b, c, k\n"
    "    flops      15 a step: grad 9, optimizer 6; 2 operations\n"
    "  halt()\n"
    "    data       none\n"
    "    optimizer  sgd(lr=0.1, momentum=0, dampening=0, weight_decay=0)\n"
    "    schedule   constant\n"
    "    clip       none\n"
    "    params     b; not trained: w, c, k\n"
    "memory plan\n"
    "  params     200 B\n"
    "  workspace  0 B\n"
    "  grads      200 B\n"
    "  optimizer  72 B\n"
    "  total      472 B\n";

static void cli_info(fixture *fx)
{
    fx->desc = &LIN;
    EXPECT_OK(fx, "info", "--dims", "batch=8");
    CHECK(strcmp(fx->out, LIN_INFO) == 0, "info\n--- got:\n%s--- want:\n%s", fx->out, LIN_INFO);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){8, 0}, 0);
    CHECK(m && m->region_bytes[TD_REGION_OPTIM] == 72 && m->region_bytes[TD_REGION_GRADS] == 200,
          "info's sizes are the model's");
    td_model_free(m);
    td_ctx_free(ctx);
    EXPECT_OK(fx, "help");
    CHECK(strstr(fx->out, "train blocks: fit, shrink, halt\n") != NULL, "usage lists the train blocks");
}

static const uint64_t VAL_SEED_OFFSET = 0x9E3779B97F4A7C15u; /* cli_train.c's */

/* `train` on token windows: the JSONL log against a direct loop of
 * td_data_random_batch and td_train_step, the checkpoint against its
 * state, progress lines, validation that leaves training alone, and
 * --resume byte for byte (random and sequential batches). */
static void cli_tokens(fixture *fx)
{
    fx->desc = &TOK;
    const char *data = arg(fx, "%s/tok.bin", fx->dir), *log = arg(fx, "%s/m.jsonl", fx->dir);
    const char *ck = arg(fx, "%s/ck.safetensors", fx->dir);
    write_tokens(data, NTOKENS);
    EXPECT_OK(fx, "train", "--steps", "6", "--data", data, "--dims", "batch=2,seq=4", "--seed", "11", "--log", log,
              "--ckpt", ck);
    CHECK(fx->out[0] == 0, "no progress lines when --log takes the metrics and stdout is no terminal: %s", fx->out);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &TOK, (int64_t[]){2, 4, 0}, 11), *loaded = new_model(ctx, &TOK, (int64_t[]){2, 4, 0}, 0);
    td_data *d = NULL;
    CHECK(td_data_open(ctx, data, &d) == TD_OK, "open %s: %s", data, td_ctx_error(ctx));
    static char buf[65536];
    const char *lines[64];
    int n = read_lines(log, buf, sizeof buf, lines, 64);
    CHECK(n == 6, "6 log lines, not %d", n);
    for (int s = 0; m && d && s < 6 && s < n; s++) {
        int32_t x[8], y[8];
        const void *in[] = {x, y};
        td_step_stats st;
        td_data_random_batch(ctx, d, &m->rng, 2, 4, TD_I32, x, y);
        td_train_step(m, 0, in, &st);
        CHECK(json_number(lines[s], "step") == s + 1 && json_number(lines[s], "loss") == st.loss &&
                  json_number(lines[s], "lr") == st.lr && json_number(lines[s], "grad_norm") == st.grad_norm,
              "log line %d is the direct loop's step (loss %.17g lr %g norm %.17g): %.200s", s, st.loss, st.lr,
              st.grad_norm, lines[s]);
        CHECK(json_number(lines[s], "ms") >= 0 && json_number(lines[s], "tokens_per_s") >= 0 &&
                  !strstr(lines[s], "val_loss") && strncmp(lines[s], "{\"step\": ", 9) == 0,
              "log line %d has ms and tokens_per_s and no val_loss: %.200s", s, lines[s]);
    }
    if (m && loaded) {
        CHECK(td_model_load(loaded, ck) == TD_OK, "load %s: %s", ck, td_ctx_error(ctx));
        snapshot a = take(m), b = take(loaded);
        CHECK(same_state(&a, &b), "the checkpoint holds the direct loop's state");
        drop(&a), drop(&b);
    }
    /* validation: the same training losses, and at the end the mean loss of
     * 3 batches of the validation stream under the final state */
    const char *vlog = arg(fx, "%s/v.jsonl", fx->dir);
    EXPECT_OK(fx, "train", "--steps", "6", "--data", data, "--dims", "batch=2,seq=4", "--seed", "11", "--log", vlog,
              "--val", data, "--val-every", "2", "--val-batches", "3");
    static char vbuf[65536];
    const char *vlines[64];
    int vn = read_lines(vlog, vbuf, sizeof vbuf, vlines, 64);
    bool same_losses = vn == 6 && n == 6;
    for (int s = 0; same_losses && s < 6; s++)
        same_losses = json_number(vlines[s], "loss") == json_number(lines[s], "loss") &&
                      isnan(json_number(vlines[s], "val_loss")) == (s % 2 == 0);
    CHECK(same_losses, "validation at steps 2, 4, 6 leaves the training losses as they were");
    if (m && d && vn == 6) {
        td_rng rng = {11 + VAL_SEED_OFFSET, 0};
        double sum = 0, loss;
        for (int k = 0; k < 3; k++) {
            int32_t x[8], y[8];
            const void *in[] = {x, y};
            td_data_random_batch(ctx, d, &rng, 2, 4, TD_I32, x, y);
            lm_loss(m, in, &loss);
            sum += loss;
        }
        CHECK(json_number(vlines[5], "val_loss") == sum / 3, "val_loss %.17g, direct %.17g",
              json_number(vlines[5], "val_loss"), sum / 3);
    }
    td_data_close(d);
    td_model_free(m), td_model_free(loaded);
    td_ctx_free(ctx);
    /* progress lines on stdout without --log */
    EXPECT_OK(fx, "train", "--steps", "3", "--data", data, "--dims", "batch=2,seq=4", "--log-every", "2");
    CHECK(strncmp(fx->out, "step 2/3  loss ", 15) == 0 && strstr(fx->out, "\nstep 3/3  loss ") &&
              strstr(fx->out, " tok/s  ") && strstr(fx->out, "FLOP/s\n") && !strstr(fx->out, "MFU") &&
              !strstr(fx->out, "step 1/3"),
          "progress lines at steps 2 and 3:\n%s", fx->out);
    /* resume: 10 straight = 5, then --resume to 10; random and sequential */
    for (int seq = 0; seq < 2; seq++) {
        const char *a = arg(fx, "%s/a.safetensors", fx->dir), *b = arg(fx, "%s/b.safetensors", fx->dir);
        const char *alog = arg(fx, "%s/a.jsonl", fx->dir), *blog = arg(fx, "%s/b.jsonl", fx->dir);
        const char *mode = seq ? "--sequential" : "--seed=5";
        EXPECT_OK(fx, "train", "--steps", "10", "--data", data, "--dims", "batch=2,seq=4", mode, "--ckpt", a, "--log",
                  alog);
        EXPECT_OK(fx, "train", "--steps", "5", "--data", data, "--dims", "batch=2,seq=4", mode, "--ckpt", b, "--log",
                  blog, "--ckpt-every", "2");
        EXPECT_OK(fx, "train", "--steps", "10", "--data", data, "--dims", "batch=2,seq=4", mode, "--resume", b,
                  "--ckpt", b, "--log", blog);
        CHECK(same_file(a, b), "%s: 10 steps straight and 5 + --resume 5 write byte-identical checkpoints", mode);
        static char abuf[65536], bbuf[65536];
        const char *al[64], *bl[64];
        int an = read_lines(alog, abuf, sizeof abuf, al, 64), bn = read_lines(blog, bbuf, sizeof bbuf, bl, 64);
        bool same = an == 10 && bn == 10;
        for (int s = 0; same && s < 10; s++)
            same = json_number(al[s], "step") == json_number(bl[s], "step") &&
                   json_number(al[s], "loss") == json_number(bl[s], "loss");
        CHECK(same, "%s: the resumed log appends steps 6..10 with the straight run's losses (%d, %d lines)", mode, an,
              bn);
        remove(a), remove(b), remove(alog), remove(blog);
    }
    /* --resume at --steps already: nothing to do, the checkpoint written */
    EXPECT_OK(fx, "train", "--steps", "6", "--data", data, "--dims", "batch=2,seq=4", "--resume", ck, "--ckpt", ck,
              "--log", log);
    remove(log), remove(vlog), remove(ck);
}

static const char *write_npy(fixture *fx, const char *name, td_dtype dtype, int rank, const int64_t *shape,
                             const void *data)
{
    const char *path = arg(fx, "%s/%s", fx->dir, name);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(td_npy_write(ctx, path, dtype, rank, shape, data) == TD_OK, "writing %s: %s", path, td_ctx_error(ctx));
    td_ctx_free(ctx);
    return path;
}

static int64_t ckpt_step(const char *path)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_safetensors st;
    const char *v = td_safetensors_read(ctx, path, &st) == TD_OK ? td_safetensors_meta(&st, "step") : NULL;
    int64_t step = v ? atoll(v) : -1;
    td_safetensors_free(&st);
    td_ctx_free(ctx);
    return step;
}

/* `train` on rows of .npy files, a block without inputs, and the failures
 * while training: a NaN loss, a failing validation, Ctrl-C, a checkpoint
 * that cannot be written. */
static void cli_rows(fixture *fx, const rows *r)
{
    fx->desc = &LIN;
    const char *x = arg(fx, "x=%s", write_npy(fx, "x.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, r->x));
    const char *y = arg(fx, "y=%s", write_npy(fx, "y.npy", TD_F32, 1, (int64_t[]){NROWS}, r->y));
    const char *csv = arg(fx, "%s/m.csv", fx->dir), *ck = arg(fx, "%s/ck.safetensors", fx->dir);
    EXPECT_OK(fx, "train", "--train", "fit", "--steps", "40", "--data", x, "--data", y, "--dims", "batch=8", "--log", csv,
              "--log-every", "10", "--ckpt", ck);
    static char buf[65536];
    const char *lines[64];
    int n = read_lines(csv, buf, sizeof buf, lines, 64);
    CHECK(n == 5 && strcmp(lines[0], "step,loss,lr,grad_norm,ms,rows_per_s,flops_per_s,mfu,val_loss") == 0,
          "CSV: a header and steps 10, 20, 30, 40 (%d lines): %.60s", n, n ? lines[0] : "");
    if (n == 5) {
        double first = csv_number(lines[0], lines[1], "loss"), last = csv_number(lines[0], lines[4], "loss");
        CHECK(csv_number(lines[0], lines[4], "step") == 40 && last < first / 10, "the loss falls: %g at 10, %g at 40",
              first, last);
        CHECK(csv_number(lines[0], lines[2], "lr") == td_schedule_lr(&LIN_TRAINS[0].schedule, 19) &&
                  isnan(csv_number(lines[0], lines[2], "val_loss")) && csv_number(lines[0], lines[2], "rows_per_s") > 0,
              "CSV line of step 20: %.100s", lines[2]);
    }
    CHECK(ckpt_step(ck) == 40, "the checkpoint is at step 40");
    /* run takes a training checkpoint's params */
    EXPECT_OK(fx, "run", "predict", "--params", ck, "--in", arg(fx, "x=%s/x.npy", fx->dir), "--out",
              arg(fx, "%s/p.npy", fx->dir));
    /* sequential rows resume byte for byte */
    const char *a = arg(fx, "%s/a.safetensors", fx->dir), *b = arg(fx, "%s/b.safetensors", fx->dir);
    EXPECT_OK(fx, "train", "--train=fit", "--steps", "9", "--data", x, "--data", y, "--dims", "batch=8", "--sequential",
              "--ckpt", a, "--log", csv);
    EXPECT_OK(fx, "train", "--train=fit", "--steps", "4", "--data", x, "--data", y, "--dims", "batch=8", "--sequential",
              "--ckpt", b, "--log", csv);
    EXPECT_OK(fx, "train", "--train=fit", "--steps", "9", "--data", x, "--data", y, "--dims", "batch=8", "--sequential",
              "--ckpt", b, "--resume", b, "--log", csv);
    CHECK(same_file(a, b), "sequential rows: 9 straight and 4 + --resume 5 write byte-identical checkpoints");
    /* a block without inputs: progress lines without --log */
    EXPECT_OK(fx, "train", "--train", "shrink", "--steps", "3", "--ckpt", a, "--dims", "batch=1");
    CHECK(strncmp(fx->out, "step 1/3  loss ", 15) == 0 && strstr(fx->out, "\nstep 3/3  loss ") &&
              !strstr(fx->out, "tok/s") && !strstr(fx->out, "rows/s") && strstr(fx->out, "FLOP/s\n"),
          "three progress lines without a rate of items, with FLOP/s:\n%s", fx->out);
    /* failures while training exit 1 */
    float xnan[NROWS * NFEAT];
    for (int i = 0; i < NROWS * NFEAT; i++)
        xnan[i] = NAN;
    const char *xn = arg(fx, "x=%s", write_npy(fx, "xnan.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, xnan));
    EXPECT_FAIL(fx, 1, "step 1: fit: the loss is nan; nothing was updated", "train", "--train", "fit", "--steps", "5",
                "--data", xn, "--data", y, "--dims", "batch=8");
    EXPECT_FAIL(fx, 1, "validation at step 2: x holds a NaN in row 0", "train", "--train", "fit", "--steps", "5",
                "--data", x, "--data", y, "--dims", "batch=8", "--val", xn, "--val", y, "--val-every", "2", "--log", csv);
    const char *h = arg(fx, "%s/h.safetensors", fx->dir);
    EXPECT_FAIL(fx, 130, arg(fx, "interrupted at step 3; checkpoint saved to %s", h), "train", "--train", "halt",
                "--steps", "10", "--ckpt", h, "--log", csv, "--dims", "batch=1");
    CHECK(ckpt_step(h) == 3, "Ctrl-C: the step finishes and the checkpoint is at step 3");
    EXPECT_FAIL(fx, 130, "interrupted at step 3", "train", "--train", "halt", "--steps", "10", "--log", csv, "--dims", "batch=1");
    const char *subdir = arg(fx, "%s/sub", fx->dir);
    mkdir(subdir, 0755);
    run_cli(fx, "train", "--train", "shrink", "--steps", "4", "--ckpt", subdir, "--ckpt-every", "2", "--log", csv,
            "--dims", "batch=1", (const char *)NULL);
    CHECK(fx->status == 1 && strncmp(fx->err, "lin: error: step 2: saving the checkpoint: ", 43) == 0 &&
              strchr(fx->err, '\n') == fx->err + strlen(fx->err) - 1,
          "a checkpoint that cannot be written (a directory in the way) exits 1: %d %s", fx->status, fx->err);
    rmdir(subdir);
    remove(csv), remove(ck), remove(a), remove(b), remove(h);
}

static void cli_errors_tokens(fixture *fx, const char *lin_ckpt)
{
    fx->desc = &TOK;
    const char *data = arg(fx, "%s/tok.bin", fx->dir), *dims = "batch=2,seq=4";
    write_tokens(data, NTOKENS);
    EXPECT_FAIL(fx, 2, "train needs --steps N (the step to stop at, counted from the start of training)", "train",
                "--data", data);
    EXPECT_FAIL(fx, 2, "--steps 0: must be at least 1", "train", "--steps", "0");
    EXPECT_FAIL(fx, 2, "--steps -3: must be at least 1", "train", "--steps", "-3");
    EXPECT_FAIL(fx, 2, "--steps abc: not a whole number", "train", "--steps", "abc");
    EXPECT_FAIL(fx, 2, "--steps 9223372036854775808: too large (at most 9223372036854775807)", "train", "--steps",
                "9223372036854775808");
    EXPECT_FAIL(fx, 2, "--log-every 0: must be at least 1", "train", "--steps", "1", "--log-every", "0");
    EXPECT_FAIL(fx, 2, "--val-every 1x: not a whole number", "train", "--steps", "1", "--val-every", "1x");
    EXPECT_FAIL(fx, 2, "--val-every needs --val (the validation data)", "train", "--steps", "1", "--val-every", "2");
    EXPECT_FAIL(fx, 2, "--val-batches needs --val (the validation data)", "train", "--steps", "1", "--val-batches", "2");
    EXPECT_FAIL(fx, 2, "--ckpt-every needs --ckpt PATH (the checkpoint to write)", "train", "--steps", "1",
                "--ckpt-every", "2");
    EXPECT_FAIL(fx, 2, "train block 'lm' needs --data FILE: a token file for its windows x and y", "train", "--steps",
                "1");
    EXPECT_FAIL(fx, 2, "option --data is given twice (train block 'lm' reads its windows from one token file)", "train",
                "--steps", "1", "--data", data, "--data", data);
    EXPECT_FAIL(fx, 2, "option --val is given twice (train block 'lm' reads its windows from one token file)", "train",
                "--steps", "1", "--data", data, "--val", data, "--val", data);
    EXPECT_FAIL(fx, 2, "dims 'batch', 'seq' are not bound: give --dims batch=N,seq=N", "train", "--steps", "1", "--data",
                data);
    EXPECT_FAIL(fx, 2, "input 'x' of train block 'lm': i32[\"batch seq\"] overflows or is not whole for these dims",
                "train", "--steps", "1", "--data", data, "--dims", "batch=9223372036854775807,seq=2");
    EXPECT_FAIL(fx, 2, "option --sequential takes no value", "train", "--sequential=1");
    EXPECT_FAIL(fx, 2, "option --sequential is given twice", "train", "--sequential", "--sequential");
    EXPECT_FAIL(fx, 2,
                "train: unknown option '--in' (train takes --dims, --seed, --steps, --train, --data, --sequential, "
                "--val, --val-every, --val-batches, --log, --log-every, --ckpt, --ckpt-every, --resume, --device, --peak, "
                "--peak-of, --allow-tf32)",
                "train", "--in", "x=a");
    EXPECT_FAIL(fx, 2, "train: unexpected argument 'extra'", "train", "extra");
    EXPECT_FAIL(fx, 2, "model tok has no train block 'nope' (train blocks: lm)", "train", "--train", "nope");
    const char *npy = write_npy(fx, "rows.npy", TD_F32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    EXPECT_FAIL(fx, 2,
                arg(fx, "--data %s: a .npy of rows, but train block 'lm' takes token windows (x, y) from a token file "
                        "(llm.c's format or raw uint16)", npy),
                "train", "--steps", "1", "--data", npy, "--dims", dims);
    EXPECT_FAIL(fx, 2,
                arg(fx, "--val %s: a .npy of rows, but train block 'lm' takes token windows (x, y) from a token file "
                        "(llm.c's format or raw uint16)", npy),
                "train", "--steps", "1", "--data", data, "--val", npy, "--dims", dims);
    const char *shorter = arg(fx, "%s/short.bin", fx->dir);
    write_tokens(shorter, 8);
    EXPECT_FAIL(fx, 2, arg(fx, "%s: 8 tokens are too few for a batch of B = 2 windows of T = 4: it needs B * T + 1 = 9",
                           shorter),
                "train", "--steps", "1", "--data", shorter, "--dims", dims, "--sequential");
    write_tokens(shorter, 4);
    EXPECT_FAIL(fx, 2, arg(fx, "%s: 4 tokens are too few for windows of T = 4: a window needs T + 1 = 5", shorter),
                "train", "--steps", "1", "--data", data, "--val", shorter, "--dims", dims);
    EXPECT_FAIL(fx, 2, arg(fx, "%s/none.bin: cannot open: No such file or directory", fx->dir), "train", "--steps", "1",
                "--data", arg(fx, "%s/none.bin", fx->dir), "--dims", dims);
    EXPECT_FAIL(fx, 2, "--ckpt /no/such/dir/ck: cannot write in directory /no/such/dir: No such file or directory",
                "train", "--steps", "1", "--data", data, "--dims", dims, "--ckpt", "/no/such/dir/ck");
    EXPECT_FAIL(fx, 2, "--log /no/such/dir/m.jsonl: cannot open: No such file or directory", "train", "--steps", "1",
                "--data", data, "--dims", dims, "--log", "/no/such/dir/m.jsonl");
    EXPECT_FAIL(fx, 2,
                arg(fx, "%s: a checkpoint of another program (program_hash lin-hash-1), not of model tok (program_hash "
                        "tok-hash-1)", lin_ckpt),
                "train", "--steps", "1", "--data", data, "--dims", dims, "--resume", lin_ckpt);
    EXPECT_FAIL(fx, 2, arg(fx, "%s/none.safetensors: cannot open: No such file or directory", fx->dir), "train",
                "--steps", "1", "--data", data, "--dims", dims, "--resume", arg(fx, "%s/none.safetensors", fx->dir));
    remove(shorter), remove(npy);
}

static void cli_errors_rows(fixture *fx, const rows *r)
{
    fx->desc = &LIN;
    const char *xp = write_npy(fx, "x.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, r->x);
    const char *x = arg(fx, "x=%s", xp), *y = arg(fx, "y=%s", write_npy(fx, "y.npy", TD_F32, 1, (int64_t[]){NROWS}, r->y));
    EXPECT_FAIL(fx, 2, "model lin has 3 train blocks (fit, shrink, halt): choose one with --train NAME", "train",
                "--steps", "1");
    EXPECT_FAIL(fx, 2, "model lin has no train block 'nope' (train blocks: fit, shrink, halt)", "train", "--train",
                "nope");
    EXPECT_FAIL(fx, 2, "--data: train block 'shrink' has no inputs, so it reads no data", "train", "--train", "shrink",
                "--steps", "1", "--data", x);
    EXPECT_FAIL(fx, 2, "--sequential: train block 'shrink' has no inputs, so it reads no data", "train", "--train",
                "shrink", "--steps", "1", "--sequential");
    EXPECT_FAIL(fx, 2, "--val: train block 'halt' has no loss function to validate with", "train", "--train", "halt",
                "--steps", "1", "--val", x);
    EXPECT_FAIL(fx, 2, "input 'y' of fit is missing: give --data y=FILE.npy", "train", "--train", "fit", "--steps", "1",
                "--data", x);
    EXPECT_FAIL(fx, 2, "input 'y' of fit is missing: give --val y=FILE.npy", "train", "--train", "fit", "--steps", "1",
                "--data", x, "--data", y, "--val", x);
    EXPECT_FAIL(fx, 2, "--data z=a.npy: fit has no input 'z' (inputs: x, y)", "train", "--train", "fit", "--steps", "1",
                "--data", "z=a.npy");
    EXPECT_FAIL(fx, 2, "--data x.npy: give the input's name, as --data NAME=PATH (inputs of fit: x, y)", "train",
                "--train", "fit", "--steps", "1", "--data", "x.npy");
    EXPECT_FAIL(fx, 2, "--data: input 'x' is given twice", "train", "--train", "fit", "--steps", "1", "--data", x,
                "--data", x);
    EXPECT_FAIL(fx, 2, "--data x=: no path after '='", "train", "--train", "fit", "--steps", "1", "--data", "x=");
    const char *tokens = arg(fx, "%s/tok.bin", fx->dir);
    write_tokens(tokens, NTOKENS);
    EXPECT_FAIL(fx, 2, arg(fx, "--data x=%s: a token file, but input 'x' takes rows of a .npy", tokens), "train",
                "--train", "fit", "--steps", "1", "--data", arg(fx, "x=%s", tokens), "--data", y, "--dims", "batch=8");
    const char *y32 = write_npy(fx, "y32.npy", TD_F32, 1, (int64_t[]){32}, r->y);
    EXPECT_FAIL(fx, 2,
                arg(fx, "--data y=%s: 32 rows, but x=%s has 64: the files of one data set must have as many rows", y32,
                    xp),
                "train", "--train", "fit", "--steps", "1", "--data", x, "--data", arg(fx, "y=%s", y32), "--dims",
                "batch=8");
    double x64[NROWS * NFEAT] = {0};
    const char *x64p = write_npy(fx, "x64.npy", TD_F64, 2, (int64_t[]){NROWS, NFEAT}, x64);
    EXPECT_FAIL(fx, 2, arg(fx, "td_data_rows: %s: the rows are f64[3], but the caller asks for f32[3]", x64p), "train",
                "--train", "fit", "--steps", "1", "--data", arg(fx, "x=%s", x64p), "--data", y, "--dims", "batch=8");
    EXPECT_FAIL(fx, 2, "batch is 1001 but lin needs batch <= 1000", "train", "--train", "fit", "--steps", "1", "--data",
                x, "--data", y, "--dims", "batch=1001");
    td_model_desc none = LIN;
    none.ntrains = 0;
    fx->desc = &none;
    EXPECT_FAIL(fx, 2, "model lin has no train block", "train", "--steps", "1");
    /* inputs that rows cannot feed */
    static const td_tensor_desc WIDE_Y[] = {{"x", TD_F32, 2, SHAPE_X, "batch feat"}, {"y", TD_F32, 1, SHAPE_2B, "2*batch"}};
    static const td_tensor_desc SCALAR_Y[] = {{"x", TD_F32, 2, SHAPE_X, "batch feat"}, {"y", TD_F32, 0, NULL, ""}};
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    fit.inputs = WIDE_Y;
    td_model_desc wide = lin_with(trains, fit);
    fx->desc = &wide;
    EXPECT_FAIL(fx, 2,
                "inputs 'x' and 'y' of train block 'fit' take 8 and 16 rows a batch: inputs fed with rows must agree on "
                "their first axis",
                "train", "--train", "fit", "--steps", "1", "--data", x, "--data", y, "--dims", "batch=8");
    trains[0].inputs = SCALAR_Y;
    EXPECT_FAIL(fx, 2, "input 'y' of train block 'fit' is a scalar (f32): rows of a .npy cannot feed it", "train",
                "--train", "fit", "--steps", "1", "--data", x, "--data", y, "--dims", "batch=8");
    remove(tokens), remove(y32), remove(x64p);
}

/* ---- accounting: FLOP/s and MFU in the logs, profile ---- */

/* The logged ms is rounded to 0.001, so a rate of `flops` a step lies
 * between flops / (ms + 0.0005) and flops / (ms - 0.0005) in seconds
 * (1e-12 relative slack for the divisions). */
static bool rate_fits(double flops, double ms, double rate)
{
    double lo = flops / ((ms + 0.0005) / 1e3), hi = ms > 0.0005 ? flops / ((ms - 0.0005) / 1e3) : INFINITY;
    return rate >= lo * (1 - 1e-12) && rate <= hi * (1 + 1e-12);
}

static double step_flops_of(const td_cost_desc *cost, const int64_t *dims)
{
    double flops[16], bytes[16], sum = 0;
    cost->costs(dims, flops, bytes);
    for (int i = 0; i < cost->nops; i++)
        sum += flops[i];
    return sum;
}

static double fp32_peak(const char *device)
{
    const td_device_spec *d = td_device_spec_find(device);
    CHECK(d != NULL, "td_devices.h has %s", device);
    return d ? d->peak[TD_PEAK_FP32] : NAN;
}

/* `train` with --peak and --peak-of (lin's params are f32: the fp32
 * column): every logged step has flops_per_s = FLOPs / its time and mfu =
 * flops_per_s / peak, in JSONL and CSV; without a peak there is no mfu;
 * without accounting flops_per_s is null; and every bad --peak and
 * --peak-of is refused. */
static void cli_mfu(fixture *fx, const rows *r)
{
    fx->desc = &LIN;
    const char *x = arg(fx, "x=%s", write_npy(fx, "x.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, r->x));
    const char *y = arg(fx, "y=%s", write_npy(fx, "y.npy", TD_F32, 1, (int64_t[]){NROWS}, r->y));
    const char *log = arg(fx, "%s/mfu.jsonl", fx->dir), *csv = arg(fx, "%s/mfu.csv", fx->dir);
    double step = step_flops_of(&FIT_COST, (int64_t[]){8, NFEAT});
    CHECK(step == 224, "fit's step at batch 8 is 224 FLOPs, not %g", step);
    static char buf[65536];
    const char *lines[64];
    const struct {
        const char *flag, *value;
        double peak;
    } peaks[] = {{"--peak", "2e9", 2e9}, {"--peak", "312T", 312e12}, {"--peak", "1.5 G", 1.5e9}, {"--peak", "7k", 7e3},
                 {"--peak-of", "h100", fp32_peak("h100")}, {"--peak-of", "A100-SXM", fp32_peak("a100-sxm")}};
    for (size_t k = 0; k < sizeof peaks / sizeof peaks[0]; k++) {
        EXPECT_OK(fx, "train", "--train", "fit", "--steps", "3", "--data", x, "--data", y, "--dims", "batch=8", "--log",
                  log, peaks[k].flag, peaks[k].value);
        int n = read_lines(log, buf, sizeof buf, lines, 64);
        bool ok = n == 3;
        for (int i = 0; ok && i < n; i++) {
            double ms = json_number(lines[i], "ms"), rate = json_number(lines[i], "flops_per_s");
            double mfu = json_number(lines[i], "mfu");
            ok = rate_fits(step, ms, rate) && fabs(mfu - rate / peaks[k].peak) <= 1e-12 * mfu &&
                 strstr(lines[i], "\"rows_per_s\": ") < strstr(lines[i], "\"flops_per_s\": ") &&
                 strstr(lines[i], "\"flops_per_s\": ") < strstr(lines[i], "\"mfu\": ");
        }
        CHECK(ok, "%s %s: flops_per_s = %g FLOPs / ms and mfu = flops_per_s / %g (%d lines): %.200s", peaks[k].flag,
              peaks[k].value, step, peaks[k].peak, n, n ? lines[0] : "");
    }
    EXPECT_OK(fx, "train", "--train", "fit", "--steps", "3", "--data", x, "--data", y, "--dims", "batch=8", "--log", csv,
              "--peak", "2e9");
    int n = read_lines(csv, buf, sizeof buf, lines, 64);
    bool ok = n == 4 && strcmp(lines[0], "step,loss,lr,grad_norm,ms,rows_per_s,flops_per_s,mfu,val_loss") == 0;
    for (int i = 1; ok && i < n; i++) {
        double ms = csv_number(lines[0], lines[i], "ms"), rate = csv_number(lines[0], lines[i], "flops_per_s");
        double mfu = csv_number(lines[0], lines[i], "mfu");
        ok = rate_fits(step, ms, rate) && fabs(mfu - rate / 2e9) <= 1e-12 * mfu;
    }
    CHECK(ok, "CSV with --peak: flops_per_s and mfu columns (%d lines): %.200s", n, n > 1 ? lines[1] : "");
    /* no peak: flops_per_s alone (the CSV's mfu column empty) */
    EXPECT_OK(fx, "train", "--train", "fit", "--steps", "2", "--data", x, "--data", y, "--dims", "batch=8", "--log", log);
    n = read_lines(log, buf, sizeof buf, lines, 64);
    CHECK(n == 2 && rate_fits(step, json_number(lines[1], "ms"), json_number(lines[1], "flops_per_s")) &&
              !strstr(lines[1], "mfu"),
          "JSONL without a peak: flops_per_s and no mfu: %.200s", n ? lines[n - 1] : "");
    EXPECT_OK(fx, "train", "--train", "fit", "--steps", "2", "--data", x, "--data", y, "--dims", "batch=8", "--log", csv);
    n = read_lines(csv, buf, sizeof buf, lines, 64);
    CHECK(n == 3 && isnan(csv_number(lines[0], lines[2], "mfu")) &&
              rate_fits(step, csv_number(lines[0], lines[2], "ms"), csv_number(lines[0], lines[2], "flops_per_s")),
          "CSV without a peak: flops_per_s, an empty mfu: %.200s", n > 2 ? lines[2] : "");
    /* progress lines: FLOP/s, and MFU with a peak */
    EXPECT_OK(fx, "train", "--train", "fit", "--steps", "2", "--data", x, "--data", y, "--dims", "batch=8", "--peak", "1e9");
    CHECK(strncmp(fx->out, "step 1/2  loss ", 15) == 0 && strstr(fx->out, " rows/s  ") && strstr(fx->out, "FLOP/s  MFU ") &&
              strstr(fx->out, "%\nstep 2/2"),
          "progress lines with FLOP/s and MFU:\n%s", fx->out);
    /* a block compiled without accounting: flops_per_s is null */
    EXPECT_OK(fx, "train", "--train", "halt", "--steps", "2", "--dims", "batch=1", "--log", log);
    n = read_lines(log, buf, sizeof buf, lines, 64);
    CHECK(n == 2 && strstr(lines[0], ", \"flops_per_s\": null}") && !strstr(lines[0], "mfu"),
          "without accounting: flops_per_s null: %.200s", n ? lines[0] : "");
    EXPECT_OK(fx, "train", "--train", "halt", "--steps", "2", "--dims", "batch=1");
    CHECK(!strstr(fx->out, "FLOP/s"), "without accounting the progress line has no FLOP/s:\n%s", fx->out);
    /* refusals */
    char devices[512] = "";
    for (int i = 0; i < TD_SPEC_COUNT; i++) {
        const td_device_spec *d = td_device_spec_at(i);
        snprintf(devices + strlen(devices), sizeof devices - strlen(devices), "%s%.*s", i ? ", " : "",
                 td_device_spec_name_len(d), d->names);
    }
    EXPECT_FAIL(fx, 2, arg(fx, "--peak-of tpu9: unknown device (devices: %s)", devices), "train", "--train", "fit",
                "--steps", "1", "--peak-of", "tpu9");
    static const char *const bad_numbers[] = {"abc", "5X", "5TT", "", "T"};
    for (int i = 0; i < 5; i++)
        if (bad_numbers[i][0])
            EXPECT_FAIL(fx, 2, arg(fx, "--peak %s: not a number of FLOP/s (as 312e12 or 312T)", bad_numbers[i]), "train",
                        "--train", "fit", "--steps", "1", "--peak", bad_numbers[i]);
    EXPECT_FAIL(fx, 2, "option --peak needs a value", "train", "--train", "fit", "--steps", "1", "--peak=");
    static const char *const not_positive[] = {"0", "-3e9", "inf", "nan", "1e999", "-0"};
    for (int i = 0; i < 6; i++)
        EXPECT_FAIL(fx, 2, arg(fx, "--peak %s: must be a positive, finite number of FLOP/s", not_positive[i]), "train",
                    "--train", "fit", "--steps", "1", "--peak", not_positive[i]);
    EXPECT_FAIL(fx, 2, "--peak: train block 'halt' was compiled without accounting, so its FLOPs are unknown", "train",
                "--train", "halt", "--steps", "1", "--peak", "1e9");
    EXPECT_FAIL(fx, 2, "--peak-of: train block 'halt' was compiled without accounting, so its FLOPs are unknown", "train",
                "--train", "halt", "--steps", "1", "--peak-of", "h100");
    EXPECT_FAIL(fx, 2, "option --peak-of is given twice", "train", "--train", "fit", "--steps", "1", "--peak-of", "h100",
                "--peak-of", "h200");
    EXPECT_FAIL(fx, 2, "run: unknown option '--peak' (run takes --dims, --in, --out, --seed, --params, --device, --allow-tf32)", "run", "predict",
                "--peak", "1e9");
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    static const bool NONE[NPARAMS] = {false, false, false, false}, ONLY_K[NPARAMS] = {false, false, false, true};
    fit.trained = NONE;
    td_model_desc d = lin_with(trains, fit);
    fx->desc = &d;
    EXPECT_FAIL(fx, 2, "--peak-of h100: train block 'fit' trains no param, so no dtype picks the peak: give --peak", "train",
                "--train", "fit", "--steps", "1", "--peak-of", "h100");
    trains[0].trained = ONLY_K;
    EXPECT_FAIL(fx, 2, "--peak-of h100: train block 'fit' trains i32 params, for which the table has no peak: give --peak",
                "train", "--train", "fit", "--steps", "1", "--peak-of", "h100");
    remove(log), remove(csv);
}

/* A profile's output, parsed: the title, the rows, the totals. */
typedef struct prof_row {
    int op;
    unsigned line;
    char node[16], kind[48];
    double flops, bytes, ms, pct;
    long long calls;
} prof_row;

typedef struct prof {
    char title[200];
    int nrows;
    prof_row rows[16];
    double total_flops, ops_ms;         /* the `operations` row */
    long long count;                    /* `steps N in X ms` or `calls N in X ms` */
    double wall_ms, sum_ms, rest_ms;    /* ... and `operations X ms (...); the rest Y ms` */
} prof;

/* Splits a row at its spaces: op, node, line, the kind (which may hold
 * spaces), then FLOPs, bytes, calls, ms, %, GFLOP/s, GB/s. */
static bool parse_row(char *line, prof_row *r)
{
    char *tok[24], *save = NULL;
    int n = 0;
    for (char *w = strtok_r(line, " ", &save); w && n < 24; w = strtok_r(NULL, " ", &save))
        tok[n++] = w;
    if (n < 11)
        return false;
    r->op = atoi(tok[0]);
    snprintf(r->node, sizeof r->node, "%s", tok[1]);
    r->line = (unsigned)atoi(tok[2]);
    r->kind[0] = 0;
    for (int i = 3; i < n - 7; i++)
        snprintf(r->kind + strlen(r->kind), sizeof r->kind - strlen(r->kind), "%s%s", i > 3 ? " " : "", tok[i]);
    r->flops = strtod(tok[n - 7], NULL), r->bytes = strtod(tok[n - 6], NULL), r->calls = atoll(tok[n - 5]);
    r->ms = strtod(tok[n - 4], NULL), r->pct = strtod(tok[n - 3], NULL);
    return true;
}

static bool parse_profile(const char *out, prof *p)
{
    static char buf[FIXTURE_OUT_BYTES];
    snprintf(buf, sizeof buf, "%s", out);
    memset(p, 0, sizeof *p);
    char *save = NULL, *line = strtok_r(buf, "\n", &save);
    if (!line)
        return false;
    snprintf(p->title, sizeof p->title, "%s", line);
    line = strtok_r(NULL, "\n", &save);
    if (!line || !strstr(line, "op  node  line  kind"))
        return false;
    while ((line = strtok_r(NULL, "\n", &save)) && strncmp(line, "  operations ", 13) != 0)
        if (p->nrows == 16 || !parse_row(line, &p->rows[p->nrows++]))
            return false;
    if (!line || sscanf(line, " operations %lf %*f %lf", &p->total_flops, &p->ops_ms) != 2)
        return false;
    line = strtok_r(NULL, "\n", &save);
    if (!line || sscanf(line, "%*s %lld in %lf ms", &p->count, &p->wall_ms) != 2)
        return false;
    line = strtok_r(NULL, "\n", &save);
    return line && sscanf(line, "operations %lf ms (%*f%%); the rest %lf ms", &p->sum_ms, &p->rest_ms) == 2 &&
           !strtok_r(NULL, "\n", &save);
}

/* The table of `profile`: a row per operation of `cost` with its node,
 * line, kind and planned FLOPs and bytes (printed to 4 digits), n calls
 * each, sorted by time, percentages summing to 100 (each rounded to 0.1),
 * the operations' total the sum of the rows (each rounded to 0.001 ms),
 * and the whole calls or steps no shorter than their operations. */
static void check_profile(int line, const char *out, const char *title, const td_cost_desc *cost, const int64_t *dims,
                          long long n)
{
    prof *p = calloc(1, sizeof *p);
    bool parsed = parse_profile(out, p);
    CHECK(parsed, "line %d: the profile does not parse:\n%s", line, out);
    if (!parsed) {
        free(p);
        return;
    }
    CHECK(strcmp(p->title, title) == 0, "line %d: title\n  got:  %s\n  want: %s", line, p->title, title);
    CHECK(p->nrows == cost->nops, "line %d: %d rows for %d operations", line, p->nrows, cost->nops);
    double flops[16], bytes[16], pct = 0, ms = 0, total = 0;
    cost->costs(dims, flops, bytes);
    bool seen[16] = {false}, planned = true, counted = true, sorted = true;
    for (int i = 0; i < p->nrows && i < cost->nops; i++) {
        const prof_row *r = &p->rows[i];
        if (r->op < 0 || r->op >= cost->nops || seen[r->op]) {
            planned = false;
            continue;
        }
        seen[r->op] = true;
        const td_op_desc *op = &cost->ops[r->op];
        char node[16];
        snprintf(node, sizeof node, op->node >= 0 ? "%%%d" : "-", op->node);
        planned = planned && strcmp(node, r->node) == 0 && r->line == op->line && strcmp(r->kind, op->kind) == 0 &&
                  fabs(r->flops - flops[r->op]) <= 5e-4 * flops[r->op] && fabs(r->bytes - bytes[r->op]) <= 5e-4 * bytes[r->op];
        counted = counted && r->calls == n;
        sorted = sorted && (i == 0 || r->ms <= p->rows[i - 1].ms);
        pct += r->pct, ms += r->ms, total += flops[r->op];
    }
    CHECK(planned, "line %d: every operation once, with its node, line, kind, FLOPs and bytes:\n%s", line, out);
    CHECK(counted, "line %d: every operation called %lld times:\n%s", line, n, out);
    CHECK(sorted, "line %d: the rows are sorted by time:\n%s", line, out);
    CHECK(fabs(pct - 100) <= 0.05 * p->nrows + 1e-9 || (pct == 0 && p->ops_ms == 0),
          "line %d: the percentages sum to %g:\n%s", line, pct, out);
    CHECK(fabs(ms - p->ops_ms) <= 0.0005 * (p->nrows + 1) + 1e-9 && p->ops_ms == p->sum_ms,
          "line %d: the operations' total %g ms is the rows' sum %g:\n%s", line, p->ops_ms, ms, out);
    CHECK(fabs(p->total_flops - total) <= 5e-4 * total, "line %d: total FLOPs %g, planned %g", line, p->total_flops,
          total);
    CHECK(p->count == n && p->wall_ms + 0.001 >= p->sum_ms && fabs(p->wall_ms - p->sum_ms - p->rest_ms) <= 0.0015,
          "line %d: %lld in %g ms, of which the operations %g and the rest %g:\n%s", line, p->count, p->wall_ms,
          p->sum_ms, p->rest_ms, out);
    free(p);
}

/* `profile` of train blocks (rows, token windows, none) and functions
 * (inputs from --in or drawn from the seed, integer ones in [0, 16)). */
static void profile_cli(fixture *fx, const rows *r)
{
    fx->desc = &LIN;
    const char *xp = write_npy(fx, "x.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, r->x);
    const char *x = arg(fx, "x=%s", xp), *y = arg(fx, "y=%s", write_npy(fx, "y.npy", TD_F32, 1, (int64_t[]){NROWS}, r->y));
    EXPECT_OK(fx, "profile", "--train", "fit", "--steps", "7", "--data", x, "--data", y, "--dims", "batch=8");
    check_profile(__LINE__, fx->out, "profile of train block fit: 7 steps (batch = 8, feat = 3)", &FIT_COST,
                  (int64_t[]){8, NFEAT}, 7);
    EXPECT_OK(fx, "profile", "--train=shrink", "--dims", "batch=1");
    check_profile(__LINE__, fx->out, "profile of train block shrink: 10 steps (batch = 1, feat = 3)", &SHRINK_COST,
                  (int64_t[]){1, NFEAT}, 10);
    EXPECT_OK(fx, "profile", "predict", "--steps", "5", "--dims", "batch=6", "--seed", "3");
    check_profile(__LINE__, fx->out, "profile of function predict: 5 calls (batch = 6, feat = 3)", &PREDICT_COST,
                  (int64_t[]){6, NFEAT}, 5);
    EXPECT_OK(fx, "profile", "predict", "--steps", "1", "--in", x);
    check_profile(__LINE__, fx->out, "profile of function predict: 1 call (batch = 64, feat = 3)", &PREDICT_COST,
                  (int64_t[]){NROWS, NFEAT}, 1);
    CHECK(strstr(fx->out, "\ncalls      1 in ") && strstr(fx->out, "the function's code outside its operations\n"),
          "a function's profile ends with its calls:\n%s", fx->out);
    fx->desc = &TOK;
    const char *data = arg(fx, "%s/tok.bin", fx->dir);
    write_tokens(data, NTOKENS);
    EXPECT_OK(fx, "profile", "--train", "lm", "--steps", "4", "--data", data, "--dims", "batch=2,seq=4", "--sequential");
    check_profile(__LINE__, fx->out, "profile of train block lm: 4 steps (batch = 2, seq = 4, vocab = 16)", &LM_COST,
                  (int64_t[]){2, 4, NVOCAB}, 4);
    CHECK(strstr(fx->out, "\nsteps      4 in ") && strstr(fx->out, "the gradient norm and clipping, the batches\n") &&
              strstr(fx->out, "  adamw emb  "),
          "a train block's profile has the optimizer's row and ends with its steps:\n%s", fx->out);
    /* drawn integers stay in [0, 16): lookup refuses any other */
    EXPECT_OK(fx, "profile", "lookup", "--steps", "3", "--dims", "batch=3,seq=5", "--seed", "9");
    check_profile(__LINE__, fx->out, "profile of function lookup: 3 calls (batch = 3, seq = 5, vocab = 16)",
                  &LOOKUP_COST, (int64_t[]){3, 5, NVOCAB}, 3);
    remove(data);
}

static void cli_profile_errors(fixture *fx, const rows *r)
{
    fx->desc = &LIN;
    const char *x = arg(fx, "x=%s/x.npy", fx->dir), *y = arg(fx, "y=%s/y.npy", fx->dir);
    EXPECT_FAIL(fx, 2, "profile needs a function name or --train NAME (functions: predict; train blocks: fit, shrink, halt)",
                "profile");
    EXPECT_FAIL(fx, 2, "profile takes a function or --train NAME, not both", "profile", "predict", "--train", "fit");
    EXPECT_FAIL(fx, 2, "--in: profile --train draws its batches from --data", "profile", "--train", "fit", "--in", x);
    EXPECT_FAIL(fx, 2, "--data: profile FN takes its inputs from --in (--data is for profile --train NAME)", "profile",
                "predict", "--data", x);
    EXPECT_FAIL(fx, 2, "--sequential: profile FN takes its inputs from --in (--data is for profile --train NAME)",
                "profile", "predict", "--sequential");
    EXPECT_FAIL(fx, 2, "model lin has no function 'nope' (functions: predict)", "profile", "nope");
    EXPECT_FAIL(fx, 2, "model lin has no train block 'nope' (train blocks: fit, shrink, halt)", "profile", "--train",
                "nope");
    EXPECT_FAIL(fx, 2, "option --train needs a value", "profile", "--train");
    EXPECT_FAIL(fx, 2, "this program was compiled without accounting", "profile", "--train", "halt");
    EXPECT_FAIL(fx, 2, "--steps 0: must be at least 1", "profile", "predict", "--steps", "0");
    EXPECT_FAIL(fx, 2, "--steps x: not a whole number", "profile", "--train", "shrink", "--steps", "x");
    EXPECT_FAIL(fx, 2, "dim 'batch' is not bound: give --dims batch=N", "profile", "predict");
    EXPECT_FAIL(fx, 2, "dim 'batch' is not bound: give --dims batch=N", "profile", "--train", "fit", "--data", x, "--data",
                y);
    EXPECT_FAIL(fx, 2,
                "profile: unknown option '--log' (profile takes --dims, --in, --seed, --steps, --train, --data, "
                "--sequential, --device, --allow-tf32)",
                "profile", "predict", "--log", "m.jsonl");
    EXPECT_FAIL(fx, 2, "input 'y' of fit is missing: give --data y=FILE.npy", "profile", "--train", "fit", "--data", x,
                "--dims", "batch=8");
    EXPECT_FAIL(fx, 2, "--in z=a.npy: predict has no input 'z' (inputs: x)", "profile", "predict", "--in", "z=a.npy");
    EXPECT_FAIL(fx, 2, "batch is 1001 but lin needs batch <= 1000", "profile", "predict", "--dims", "batch=1001");
    EXPECT_FAIL(fx, 2, "input 'x' of predict: f32[\"batch feat\"] overflows or is not whole for these dims", "profile",
                "predict", "--dims", "batch=9223372036854775807");
    double x64[NROWS * NFEAT] = {0};
    const char *x64p = write_npy(fx, "x64.npy", TD_F64, 2, (int64_t[]){NROWS, NFEAT}, x64);
    EXPECT_FAIL(fx, 2, "input 'x' is f64 but predict takes f32[\"batch feat\"]", "profile", "predict", "--in",
                arg(fx, "x=%s", x64p));
    EXPECT_FAIL(fx, 2, "dim 'batch' is 64 from input 'x' (axis 0) but 8 from --dims", "profile", "predict", "--in", x,
                "--dims", "batch=8");
    float xnan[NROWS * NFEAT];
    for (int i = 0; i < NROWS * NFEAT; i++)
        xnan[i] = NAN;
    const char *xn = arg(fx, "x=%s", write_npy(fx, "xnan.npy", TD_F32, 2, (int64_t[]){NROWS, NFEAT}, xnan));
    EXPECT_FAIL(fx, 1, "step 1: fit: the loss is nan; nothing was updated", "profile", "--train", "fit", "--data", xn,
                "--data", y, "--dims", "batch=8");
    /* malformed cost descriptions */
    static const td_cost_desc ONE_OP = {1, FIT_OPS, predict_costs}, NO_COSTS = {1, PREDICT_OPS, NULL};
    td_train_desc trains[3], fit = LIN_TRAINS[0];
    fit.cost = &ONE_OP;
    td_model_desc d = lin_with(trains, fit);
    td_fn_desc fns[1] = {LIN_FNS[0]};
    fns[0].cost = &NO_COSTS;
    d.fns = fns;
    fx->desc = &d;
    EXPECT_FAIL(fx, 2, "train block 'fit': its cost description has fewer operations than the block trains params",
                "profile", "--train", "fit", "--data", x, "--data", y, "--dims", "batch=8");
    EXPECT_FAIL(fx, 2,
                "function 'predict': its cost description is malformed (a negative count, or no operations or costs)",
                "profile", "predict", "--dims", "batch=8");
    EXPECT_OK(fx, "info", "--dims", "batch=8");
    CHECK(strstr(fx->out, "  predict(x: f32[\"batch feat\"]) -> f32[\"batch\"]\ntrain blocks\n") &&
              !strstr(fx->out, "224 a step") && strstr(fx->out, "15 a step"),
          "info leaves out the FLOPs of malformed cost descriptions:\n%s", fx->out);
    fns[0].cost = NULL;
    EXPECT_FAIL(fx, 2, "this program was compiled without accounting", "profile", "predict", "--dims", "batch=8");
    d.ntrains = 0;
    EXPECT_FAIL(fx, 2, "model lin has no train block", "profile", "--train", "fit");
    /* a function that fails while profiled exits 1 */
    fx->desc = &TOK;
    int32_t bad[6] = {1, 2, 99, 3, 4, 5};
    const char *bp = write_npy(fx, "bad.npy", TD_I32, 2, (int64_t[]){2, 3}, bad);
    EXPECT_FAIL(fx, 1, "lookup: x[2] = 99 is outside the vocabulary", "profile", "lookup", "--in", arg(fx, "x=%s", bp),
                "--dims", "seq=3");
    remove(x64p), remove(bp);
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"stdout.txt", "stderr.txt", "tok.bin", "x.npy", "y.npy", "xnan.npy", "p.npy",
                                        "lin.safetensors"};
    char path[128];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    CHECK(rmdir(dir) == 0, "the temp dir %s holds only the files the test made", dir);
}

/* Without --peak on the GPU, the MFU's peak is the table's row of the
 * CUDA device's name, in the column of fit's params (f32). */
static void gpu_peak(void)
{
    cli c = {&LIN, "lin"};
    const td_train_desc *fit = &LIN.trains[0];
    struct { const char *name; double peak; } cases[] = {
        {"NVIDIA H100 80GB HBM3", 67e12}, {"NVIDIA H100 PCIe", 51e12}, {"NVIDIA H200", 67e12},
        {"NVIDIA A100-SXM4-80GB", 19.5e12}, {"NVIDIA GeForce RTX 4090", 82.6e12}, {"Tesla V100-SXM2-16GB", 0}, {"", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double got = cli_gpu_peak(&c, fit, cases[i].name);
        CHECK(got == cases[i].peak, "the fp32 peak of '%s': %g, not %g", cases[i].name, got, cases[i].peak);
    }
}

void test_train(void)
{
    gpu_peak();
    rows *r = malloc(sizeof *r);
    make_rows(r);
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/td_train_XXXXXX");
    CHECK(mkdtemp(fx->dir) != NULL, "mkdtemp %s", fx->dir);
    layout();
    bad_train_descs();
    sgd_by_hand(r);
    clipping(r);
    adamw_schedule(r);
    step_refusals(r);
    step_profile(r);
    resume_exact(r, fx->dir);
    load_refusals(r, fx->dir);
    checkpoint_contents(fx->dir);
    cli_info(fx);
    cli_tokens(fx);
    cli_rows(fx, r);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = new_model(ctx, &LIN, (int64_t[]){4, 0}, 0);
    const char *lin_ckpt = arg(fx, "%s/lin.safetensors", fx->dir);
    CHECK(m && td_model_save(m, lin_ckpt) == TD_OK, "save lin: %s", td_ctx_error(ctx));
    td_model_free(m);
    td_ctx_free(ctx);
    cli_errors_tokens(fx, lin_ckpt);
    cli_errors_rows(fx, r);
    cli_mfu(fx, r);
    profile_cli(fx, r);
    cli_profile_errors(fx, r);
    remove_dir(fx->dir);
    free(fx);
    free(r);
}
