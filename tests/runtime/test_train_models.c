/* test_train_models.c - the models, data and helpers of
 * test_train_models.h. */
#include "test_train_models.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* ---- the models ---- */

#define DIM(d) {1, 1, 1, {d}, {1}}
#define CONST(n) {n, 1, 0, {0}, {0}}


static const td_dim_desc LIN_DIMS[] = {{"batch", 0}, {"feat", NFEAT}};
static const td_size_expr SHAPE_W[] = {DIM(FEAT)};
static const td_size_expr SHAPE_2[] = {CONST(2)};
const td_size_expr SHAPE_X[] = {DIM(BATCH), DIM(FEAT)};
static const td_size_expr SHAPE_Y[] = {DIM(BATCH)};
const td_size_expr SHAPE_2B[] = {{2, 1, 1, {BATCH}, {1}}};
static const td_tensor_desc LIN_PARAMS[] = {{"w", TD_F32, 1, SHAPE_W, "feat"},
                                            {"b", TD_F32, 0, NULL, ""},
                                            {"c", TD_F32, 1, SHAPE_2, "2"},
                                            {"k", TD_I32, 1, SHAPE_2, "2"}};
static const td_tensor_desc FIT_IN[] = {{"x", TD_F32, 2, SHAPE_X, "batch feat"}, {"y", TD_F32, 1, SHAPE_Y, "batch"}};
static const td_tensor_desc PREDICT_OUT[] = {{"result", TD_F32, 1, SHAPE_Y, "batch"}};

float *param_f32(td_model *m, int i) { return td_model_param(m, i); }

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
float *grad_f32(td_model *m, int i) { return (float *)(m->region[TD_REGION_GRADS] + m->param_offsets[i]); }

/* pred_i = x_i . w + b */
static double predict_one(td_model *m, const float *x, int64_t i)
{
    const float *w = param_f32(m, W);
    double p = *param_f32(m, B);
    for (int f = 0; f < NFEAT; f++)
        p += (double)x[i * NFEAT + f] * w[f];
    return p;
}

td_status predict(td_model *m, const void *const *in, void *const *out)
{
    double start = op_start(m);
    for (int64_t i = 0; i < m->dims[BATCH]; i++)
        ((float *)out[0])[i] = (float)predict_one(m, in[0], i);
    op_end(m, 0, start);
    return TD_OK;
}

/* The cost descriptions, as tdc would emit them (the numbers are made up
 * but fixed: the tests compute with the same functions). */
const td_op_desc PREDICT_OPS[] = {{4, 3, "contract"}};

void predict_costs(const int64_t *dims, double *flops, double *bytes)
{
    double b = (double)dims[BATCH];
    flops[0] = 2 * b * NFEAT, bytes[0] = 4 * (b * NFEAT + NFEAT + 1 + b);
}

const td_cost_desc PREDICT_COST = {1, PREDICT_OPS, predict_costs};

const td_fn_desc LIN_FNS[] = {{"predict", 1, 1, FIT_IN, PREDICT_OUT, predict, &PREDICT_COST, NULL, NULL}};

/* Forward (0, 1) and backward (2, 3), then AdamW's update of w and b. */
const td_op_desc FIT_OPS[] = {{4, 3, "contract"},          {7, 4, "map"},       {12, 3, "backward contract"},
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

const td_cost_desc FIT_COST = {6, FIT_OPS, fit_costs};

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

td_status fit_grad(td_model *m, const void *const *in, double *loss) { return fit_loss_grad(m, in, loss, true); }
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

const td_cost_desc SHRINK_COST = {2, SHRINK_OPS, shrink_costs};

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

td_optim_hparams sgd(double lr, double weight_decay)
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

const td_train_desc LIN_TRAINS[] = {
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

const td_model_desc LIN = {"lin", 2, NPARAMS, 1, LIN_DIMS, LIN_PARAMS, LIN_FNS, lin_plan, lin_init,
                                  3, LIN_TRAINS, "lin-hash-1", NULL, 0, NULL, false, NULL};

/* A copy of LIN whose fit block is `fit` (the caller's storage). */
td_model_desc lin_with(td_train_desc trains[3], td_train_desc fit)
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

const td_cost_desc LM_COST = {3, LM_OPS, lm_costs};

/* lookup(x: i32["batch seq"]) -> f32["batch seq"]: emb[x], refusing an
 * index outside the vocabulary (profile's integer inputs stay in [0, 16)). */
td_status lookup(td_model *m, const void *const *in, void *const *out)
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

const td_cost_desc LOOKUP_COST = {1, LOOKUP_OPS, lookup_costs};

static td_status lm_grad(td_model *m, const void *const *in, double *loss) { return lm_loss_grad(m, in, loss, true); }
td_status lm_loss(td_model *m, const void *const *in, double *loss) { return lm_loss_grad(m, in, loss, false); }

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

const td_model_desc TOK = {"tok", 3, 1, 1, TOK_DIMS, TOK_PARAMS, TOK_FNS, tok_plan, tok_init,
                                  1, TOK_TRAINS, "tok-hash-1", NULL, 0, NULL, false, NULL};

/* ---- data: rows of y = x . (1, -2, 0.5) + 0.3, and a token file ---- */



void make_rows(rows *r)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_rng rng = {1234, 0};
    td_rng_normal_f32(ctx, &rng, r->x, NROWS * NFEAT);
    for (int i = 0; i < NROWS; i++)
        r->y[i] = r->x[i * 3] - 2 * r->x[i * 3 + 1] + 0.5f * r->x[i * 3 + 2] + 0.3f;
    td_ctx_free(ctx);
}

/* Token t_i = (7 i + i / 5) % 16: mostly predictable from the last one. */
void write_tokens(const char *path, int count)
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

td_model *new_model(td_ctx *ctx, const td_model_desc *d, const int64_t *dims, uint64_t seed)
{
    td_model *m = td_model_new(ctx, d, dims, seed);
    CHECK(m != NULL, "td_model_new(%s): %s", d->name, td_ctx_error(ctx));
    return m;
}


snapshot take(const td_model *m)
{
    snapshot s = {malloc(m->region_bytes[TD_REGION_PARAMS] + 1), malloc(m->region_bytes[TD_REGION_OPTIM] + 1),
                  m->region_bytes[TD_REGION_PARAMS], m->region_bytes[TD_REGION_OPTIM], m->step, m->rng, m->data_cursor};
    memcpy(s.params, m->region[TD_REGION_PARAMS], s.params_bytes);
    if (s.optim_bytes)
        memcpy(s.optim, m->region[TD_REGION_OPTIM], s.optim_bytes);
    return s;
}

bool same_state(const snapshot *a, const snapshot *b)
{
    return a->params_bytes == b->params_bytes && a->optim_bytes == b->optim_bytes &&
           memcmp(a->params, b->params, a->params_bytes) == 0 && memcmp(a->optim, b->optim, a->optim_bytes) == 0 &&
           a->step == b->step && a->rng.seed == b->rng.seed && a->rng.offset == b->rng.offset && a->cursor == b->cursor;
}

void drop(snapshot *s)
{
    free(s->params);
    free(s->optim);
}

/* The batch of rows `first` .. first + n - 1 (wrapping). */
void rows_batch(const rows *r, int first, int n, float *x, float *y)
{
    for (int i = 0; i < n; i++) {
        int k = (first + i) % NROWS;
        memcpy(&x[i * NFEAT], &r->x[k * NFEAT], NFEAT * sizeof(float));
        y[i] = r->y[k];
    }
}

td_status fit_step(td_model *m, const rows *r, int first, td_step_stats *stats)
{
    float x[8 * NFEAT], y[8];
    rows_batch(r, first, (int)m->dims[BATCH], x, y);
    const void *in[] = {x, y};
    return td_train_step(m, 0, in, stats);
}

const float *optim_state(const td_model *m, int train, int param)
{
    return (const float *)(m->region[TD_REGION_OPTIM] + m->optim_offsets[train * NPARAMS + param]);
}

