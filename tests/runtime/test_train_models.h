/* test_train_models.h - the hand-written models of the training tests
 * (test_train_models.c), their data and helpers: what test_train.c (steps,
 * checkpoints) and test_train_cli.c (the `train` and `profile` commands)
 * share.
 *
 * "lin" is linear regression, pred = x . w + b with x: f32["batch feat"],
 * feat = 3, and three train blocks: fit (rows of x and y from .npy files;
 * AdamW with a cosine schedule, clipping and b in the no-decay group, or
 * SGD in local copies), shrink (no inputs; pulls w to 0) and halt (no
 * inputs; raises SIGINT in its third step). Params c (f32) and k (i32) are
 * never trained. "tok" learns one number per token from llm.c token
 * windows (x, y: i32["batch seq"]). The grad functions compute by hand, in
 * double, and write f32 gradients into TD_REGION_GRADS. */
#ifndef TD_TEST_TRAIN_MODELS_H
#define TD_TEST_TRAIN_MODELS_H

#include <stdbool.h>
#include <stdint.h>

#include "td.h"

enum { BATCH, FEAT, SEQ = 1, VOCAB = 2, NFEAT = 3, NVOCAB = 16, MAX_BATCH = 1000 };
enum { W, B, C, K, NPARAMS };
enum { NROWS = 64, NTOKENS = 500 };

typedef struct rows {
    float x[NROWS * NFEAT], y[NROWS];
} rows;

/* The whole training state, to compare two models or one before and after. */
typedef struct snapshot {
    unsigned char *params, *optim;
    size_t params_bytes, optim_bytes;
    int64_t step;
    td_rng rng;
    uint64_t cursor;
} snapshot;

extern const td_size_expr SHAPE_X[];
extern const td_size_expr SHAPE_2B[];
float *param_f32(td_model *m, int i);
float *grad_f32(td_model *m, int i);
td_status predict(td_model *m, const void *const *in, void *const *out);
extern const td_op_desc PREDICT_OPS[];
void predict_costs(const int64_t *dims, double *flops, double *bytes);
extern const td_fn_desc LIN_FNS[];
extern const td_op_desc FIT_OPS[];
td_status fit_grad(td_model *m, const void *const *in, double *loss);
td_optim_hparams sgd(double lr, double weight_decay);
extern const td_train_desc LIN_TRAINS[];
td_model_desc lin_with(td_train_desc trains[3], td_train_desc fit);
td_status lookup(td_model *m, const void *const *in, void *const *out);
td_status lm_loss(td_model *m, const void *const *in, double *loss);
void make_rows(rows *r);
void write_tokens(const char *path, int count);
td_model *new_model(td_ctx *ctx, const td_model_desc *d, const int64_t *dims, uint64_t seed);
snapshot take(const td_model *m);
bool same_state(const snapshot *a, const snapshot *b);
void drop(snapshot *s);
void rows_batch(const rows *r, int first, int n, float *x, float *y);
td_status fit_step(td_model *m, const rows *r, int first, td_step_stats *stats);
const float *optim_state(const td_model *m, int train, int param);
extern const td_cost_desc FIT_COST;
extern const td_cost_desc LM_COST;
extern const td_cost_desc LOOKUP_COST;
extern const td_cost_desc PREDICT_COST;
extern const td_cost_desc SHRINK_COST;
extern const td_model_desc LIN;
extern const td_model_desc TOK;

#endif
