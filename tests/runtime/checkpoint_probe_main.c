/* checkpoint_probe_main.c - td_model_save and td_model_load driven from
 * standard input, for tests/runtime/checkpoint_oracle.py, which compiles it
 * with the runtime sources it needs and reads what it writes with a
 * safetensors reader of its own.
 *
 * The model "probe": dims batch (run time) and feat = 3; params w:
 * f32["feat"] = (0.1, -0.2, 0.3), b: f64 (a scalar) = 0.05 and d:
 * f32["2"] = (1, -1); train block "fit" (x: f32["batch feat"], y:
 * f32["batch"]; loss mean (x . w + b - y)^2; SGD lr 0.1, momentum 0.9,
 * weight decay 0.01 on w only) and "aux" (no inputs; loss |d|^2; Adam lr
 * 0.1). Batches are fixed: x[i][f] = (3 i + f + 1) / 10 - 0.5, y[i] =
 * i / 4 - 0.3. One command a line, one answer a line:
 *   train BATCH STEPS PATH  -> ok STEP              (fit, STEPS steps from a fresh model of seed 7, then save)
 *   load BATCH PATH         -> ok STEP SEED OFFSET CURSOR HEX...  (every param and state element's bits, in checkpoint order)
 * or `error MESSAGE`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

enum { BATCH, FEAT, NFEAT = 3, MAX_BATCH = 64 };

static const td_dim_desc DIMS[] = {{"batch", 0}, {"feat", NFEAT}};
static const td_size_expr SHAPE_W[] = {{1, 1, 1, {FEAT}, {1}}};
static const td_size_expr SHAPE_D[] = {{2, 1, 0, {0}, {0}}};
static const td_size_expr SHAPE_X[] = {{1, 1, 1, {BATCH}, {1}}, {1, 1, 1, {FEAT}, {1}}};
static const td_tensor_desc PARAMS[] = {
    {"w", TD_F32, 1, SHAPE_W, "feat"}, {"b", TD_F64, 0, NULL, ""}, {"d", TD_F32, 1, SHAPE_D, "2"}};
static const td_tensor_desc FIT_IN[] = {{"x", TD_F32, 2, SHAPE_X, "batch feat"}, {"y", TD_F32, 1, SHAPE_X, "batch"}};

static void *grad(td_model *m, int i) { return m->region[TD_REGION_GRADS] + m->param_offsets[i]; }

static td_status fit_grad(td_model *m, const void *const *in, double *loss)
{
    const float *x = in[0], *y = in[1], *w = td_model_param(m, 0);
    double b = *(double *)td_model_param(m, 1), sum = 0, gw[NFEAT] = {0}, gb = 0;
    int64_t n = m->dims[BATCH];
    for (int64_t i = 0; i < n; i++) {
        double r = b - y[i];
        for (int f = 0; f < NFEAT; f++)
            r += (double)x[i * NFEAT + f] * w[f];
        sum += r * r;
        for (int f = 0; f < NFEAT; f++)
            gw[f] += 2 * r * x[i * NFEAT + f] / (double)n;
        gb += 2 * r / (double)n;
    }
    for (int f = 0; f < NFEAT; f++)
        ((float *)grad(m, 0))[f] = (float)gw[f];
    *(double *)grad(m, 1) = gb;
    *loss = sum / (double)n;
    return TD_OK;
}

static td_status aux_grad(td_model *m, const void *const *in, double *loss)
{
    (void)in;
    const float *d = td_model_param(m, 2);
    ((float *)grad(m, 2))[0] = 2 * d[0], ((float *)grad(m, 2))[1] = 2 * d[1];
    *loss = (double)d[0] * d[0] + (double)d[1] * d[1];
    return TD_OK;
}

static const bool FIT_TRAINED[] = {true, true, false}, FIT_DECAY[] = {true, false, false};
static const bool AUX_TRAINED[] = {false, false, true}, AUX_DECAY[] = {true, true, true};
static const td_train_desc TRAINS[] = {
    {"fit", 2, FIT_IN, {TD_OPTIM_SGD, 0.1, 0.01, 0.9, 0, false, 0, 0, 0, false, 0, 0, 0, false},
     {TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0}, 0, FIT_TRAINED, FIT_DECAY, fit_grad, NULL, NULL, NULL, NULL, NULL, NULL, TD_F32, false},
    {"aux", 0, NULL, {TD_OPTIM_ADAM, 0.1, 0, 0, 0, false, 0.9, 0.999, 1e-8, false, 0, 0, 0, false},
     {TD_LR_CONSTANT, 0, 0, 0, 0, 0, 0}, 0, AUX_TRAINED, AUX_DECAY, aux_grad, NULL, NULL, NULL, NULL, NULL, NULL, TD_F32, false},
};

static td_status plan(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *offsets)
{
    (void)ctx, (void)dims;
    region_bytes[TD_REGION_PARAMS] = 136;
    region_bytes[TD_REGION_WORKSPACE] = 0;
    offsets[0] = 0, offsets[1] = 64, offsets[2] = 128;
    return TD_OK;
}

static td_status init_params(td_model *m)
{
    float *w = td_model_param(m, 0), *d = td_model_param(m, 2);
    w[0] = 0.1f, w[1] = -0.2f, w[2] = 0.3f;
    *(double *)td_model_param(m, 1) = 0.05;
    d[0] = 1, d[1] = -1;
    return TD_OK;
}

static const td_model_desc PROBE = {"probe", 2, 3, 0, DIMS, PARAMS, NULL, plan, init_params, 2, TRAINS, "probe-hash-1",
                                   NULL, 0, NULL, false, NULL};

static void answer_error(td_ctx *ctx)
{
    printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : "failed without a message");
    td_ctx_clear_error(ctx);
}

static void train(td_ctx *ctx, int64_t batch, int steps, const char *path)
{
    float x[MAX_BATCH * NFEAT], y[MAX_BATCH];
    for (int i = 0; i < batch; i++) {
        for (int f = 0; f < NFEAT; f++)
            x[i * NFEAT + f] = (float)((3 * i + f + 1) / 10.0 - 0.5);
        y[i] = (float)(i / 4.0 - 0.3);
    }
    const void *in[] = {x, y};
    td_model *m = td_model_new(ctx, &PROBE, (int64_t[]){batch, 0}, 7);
    td_status st = m ? TD_OK : TD_ERR_INPUT;
    for (int s = 0; st == TD_OK && s < steps; s++)
        st = td_train_step(m, 0, in, NULL);
    if (st == TD_OK)
        st = td_model_save(m, path);
    if (st == TD_OK)
        printf("ok %lld\n", (long long)m->step);
    else
        answer_error(ctx);
    td_model_free(m);
}

static void print_bits(const void *data, td_dtype dtype, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (dtype == TD_F64) {
            uint64_t u;
            memcpy(&u, (const double *)data + i, 8);
            printf(" %016" PRIx64, u);
        } else {
            uint32_t u;
            memcpy(&u, (const float *)data + i, 4);
            printf(" %08" PRIx32, u);
        }
    }
}

/* Every param, then each block's state slot by slot, as the checkpoint orders them. */
static void load(td_ctx *ctx, int64_t batch, const char *path)
{
    td_model *m = td_model_new(ctx, &PROBE, (int64_t[]){batch, 0}, 0);
    if (!m || td_model_load(m, path) != TD_OK) {
        answer_error(ctx);
        td_model_free(m);
        return;
    }
    static const size_t counts[] = {3, 1, 2};
    printf("ok %lld %" PRIu64 " %" PRIu64 " %" PRIu64, (long long)m->step, m->rng.seed, m->rng.offset, m->data_cursor);
    for (int i = 0; i < 3; i++)
        print_bits(td_model_param(m, i), PARAMS[i].dtype, counts[i]);
    for (int t = 0; t < 2; t++)
        for (int s = 0; s < td_optim_state_slots(&TRAINS[t].optim); s++)
            for (int i = 0; i < 3; i++)
                if (TRAINS[t].trained[i])
                    print_bits(m->region[TD_REGION_OPTIM] + m->optim_offsets[t * 3 + i] +
                                   (size_t)s * counts[i] * td_dtype_size(PARAMS[i].dtype),
                               PARAMS[i].dtype, counts[i]);
    printf("\n");
    td_model_free(m);
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char line[4096], path[4000];
    long long batch;
    int steps;
    while (fgets(line, sizeof line, stdin)) {
        if (sscanf(line, "train %lld %d %3999s", &batch, &steps, path) == 3 && batch >= 1 && batch <= MAX_BATCH)
            train(ctx, batch, steps, path);
        else if (sscanf(line, "load %lld %3999s", &batch, path) == 2 && batch >= 1 && batch <= MAX_BATCH)
            load(ctx, batch, path);
        else
            printf("error probe: bad command\n");
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}
