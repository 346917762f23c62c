/* cli_train.c - `MODEL train`, the training loop of a compiled model's
 * command line.
 *
 * It picks a train block (--train, or the only one), checks every option,
 * matches the data to the block's inputs (one token file for a block
 * whose inputs are token windows x and y, a .npy of rows per input
 * otherwise, nothing for a block without inputs), binds the dims from
 * --dims, opens the data and draws one batch of each data set as a dry
 * run (so a file too short for the batch is refused before anything is
 * built), builds the model, loads --resume, and then runs td_train_step
 * until the step count reaches --steps: batches from the model's RNG or
 * its data cursor, a progress line on stdout (when it is a terminal or no
 * --log takes the metrics), a JSONL or CSV row per logged step (with the
 * achieved FLOP/s of the step's compile-time FLOPs over its wall time, and
 * the MFU against --peak or --device's peak), the mean
 * validation loss over --val-batches batches of a stream of its own, and
 * checkpoints (td_model_save) every --ckpt-every steps and at the end. Bad
 * input exits 2 before the first step; a failure while training (a
 * non-finite loss, a checkpoint that cannot be written) exits 1; Ctrl-C
 * finishes the step, saves the checkpoint and exits 130. `profile --train`
 * shares the batches: N steps with m->profile set, then the table of
 * cli_profile_report. docs/RUNTIME.md "The command line" describes both
 * for users. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* The runtime's one piece of global mutable state, because a signal
 * handler can reach nothing else: set by SIGINT while `train` runs, read
 * by the loop after each step. */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Validation draws its batches from the stream of the training seed plus
 * this constant (2^64 / the golden ratio), from offset 0 each time: the same
 * batches at every evaluation, and the training stream is never touched. */
static const uint64_t VAL_SEED_OFFSET = 0x9E3779B97F4A7C15u;

enum { DEFAULT_VAL_BATCHES = 8, EXIT_INTERRUPTED = 130, NUMBER_BYTES = 32, DIR_BYTES = 4096 };

/* One data set (training or validation): a file per fed input. */
typedef struct source {
    const char **paths; /* per input (tokens: [0] only); NULL where not given */
    td_data **files;
} source;

typedef struct train_state {
    const td_train_desc *train;
    int index;  /* of train in desc->trains */
    feed_kind feed;
    int nfiles; /* files of a data set: 1 for tokens, ninputs for rows, 0 */
    bindings b;
    uint64_t seed;
    int64_t steps, log_every, val_every, val_batches, ckpt_every;
    td_ctx *ctx;
    td_model *model;
    source data, val;
    bool has_val;
    int64_t (*shapes)[TD_MAX_RANK]; /* per input, under the bound dims */
    void **batch;                   /* per input: the batch buffers */
    int64_t items;                  /* tokens (B T) or rows (B) in a batch */
    int64_t saved_step; /* the step of the last checkpoint written, or -1 */
    FILE *log;
    bool csv, progress;
    double step_flops; /* of the cost description under the dims; NAN without accounting */
    double peak;       /* FLOP/s of --peak or --device; 0 when neither is given */
    /* staged batches (staged_feed): how many are staged, and the model's
     * RNG and data cursor as they were after the current step's batch was
     * drawn (what a checkpoint records while the next one is staged) */
    int nstaged;
    td_rng ckpt_rng;
    uint64_t ckpt_cursor;
} train_state;

/* A logged step. */
typedef struct step_row {
    int64_t step;
    td_step_stats stats;
    double ms, val_loss;
    bool has_val;
} step_row;

/* ---- state ---- */

static bool state_new(train_state *s, const cli *c, int index)
{
    memset(s, 0, sizeof *s);
    s->train = &c->desc->trains[index];
    s->index = index;
    s->feed = cli_feed_of(s->train);
    s->nfiles = s->feed == FEED_TOKENS ? 1 : s->feed == FEED_ROWS ? s->train->ninputs : 0;
    s->saved_step = -1;
    s->step_flops = NAN;
    int n = s->train->ninputs;
    bool ok = cli_bindings_new(c->desc, &s->b);
    s->ctx = td_ctx_new(TD_DEVICE_CPU);
    s->data.paths = cli_calloc_n(n, sizeof *s->data.paths);
    s->data.files = cli_calloc_n(n, sizeof *s->data.files);
    s->val.paths = cli_calloc_n(n, sizeof *s->val.paths);
    s->val.files = cli_calloc_n(n, sizeof *s->val.files);
    s->shapes = cli_calloc_n(n, sizeof *s->shapes);
    s->batch = cli_calloc_n(n, sizeof *s->batch);
    return ok && s->ctx && s->data.paths && s->data.files && s->val.paths && s->val.files && s->shapes && s->batch;
}

static void state_free(train_state *s)
{
    int n = s->train->ninputs;
    for (int k = 0; k < n; k++) {
        if (s->data.files)
            td_data_close(s->data.files[k]);
        if (s->val.files)
            td_data_close(s->val.files[k]);
        if (s->batch)
            free(s->batch[k]);
    }
    free(s->data.paths), free(s->data.files), free(s->val.paths), free(s->val.files);
    free(s->shapes), free(s->batch);
    if (s->log)
        fclose(s->log);
    td_model_free(s->model);
    td_ctx_free(s->ctx);
    cli_bindings_free(&s->b);
}

/* ---- options ---- */

static int find_train(const cli *c, const char *name, int *index)
{
    const td_model_desc *d = c->desc;
    text names = {{0}, 0};
    for (int k = 0; k < d->ntrains; k++)
        cli_text_add(&names, "%s%s", k ? ", " : "", d->trains[k].name);
    if (d->ntrains <= 0)
        return cli_fail(c, 2, "model %s has no train block", d->name);
    if (!name && d->ntrains > 1)
        return cli_fail(c, 2, "model %s has %d train blocks (%s): choose one with --train NAME", d->name, d->ntrains,
                        names.buf);
    for (int k = 0; k < d->ntrains; k++)
        if (!name || strcmp(d->trains[k].name, name) == 0) {
            *index = k;
            return 0;
        }
    return cli_fail(c, 2, "model %s has no train block '%s' (train blocks: %s)", d->name, name, names.buf);
}

int cli_parse_count(const cli *c, const char *flag, const char *value, int64_t absent, int64_t *out)
{
    uint64_t v = 0;
    *out = absent;
    if (!value)
        return 0;
    switch (cli_parse_number(value, strlen(value), INT64_MAX, &v)) {
    case NUM_OK: break;
    case NUM_NEGATIVE: v = 0; break;
    case NUM_TOO_LARGE: return cli_fail(c, 2, "%s %s: too large (at most %lld)", flag, value, (long long)INT64_MAX);
    default: return cli_fail(c, 2, "%s %s: not a whole number", flag, value);
    }
    if (v == 0)
        return cli_fail(c, 2, "%s %s: must be at least 1", flag, value);
    *out = (int64_t)v;
    return 0;
}

/* `profile` takes only --dims, --seed and --steps (default 10) of these. */
static int check_options(const cli *c, const opts *o, train_state *s, bool profile)
{
    int status = cli_parse_all_dims(c, o, &s->b);
    if (!status)
        status = cli_parse_seed(c, o->seed, &s->seed);
    if (!status && !o->steps && !profile)
        status = cli_fail(c, 2, "train needs --steps N (the step to stop at, counted from the start of training)");
    if (!status)
        status = cli_parse_count(c, "--steps", o->steps, profile ? CLI_PROFILE_STEPS : 0, &s->steps);
    if (!status)
        status = cli_parse_count(c, "--log-every", o->log_every, 1, &s->log_every);
    if (!status)
        status = cli_parse_count(c, "--val-every", o->val_every, 0, &s->val_every);
    if (!status)
        status = cli_parse_count(c, "--val-batches", o->val_batches, DEFAULT_VAL_BATCHES, &s->val_batches);
    if (!status)
        status = cli_parse_count(c, "--ckpt-every", o->ckpt_every, 0, &s->ckpt_every);
    if (!status)
        status = cli_parse_peak(c, o, s->train, &s->peak);
    if (status)
        return status;
    if ((o->val_every || o->val_batches) && o->val.n == 0)
        return cli_fail(c, 2, "%s needs --val (the validation data)", o->val_every ? "--val-every" : "--val-batches");
    if (o->ckpt_every && !o->ckpt)
        return cli_fail(c, 2, "--ckpt-every needs --ckpt PATH (the checkpoint to write)");
    if (o->val.n && !s->train->loss)
        return cli_fail(c, 2, "--val: train block '%s' has no loss function to validate with", s->train->name);
    if (o->sequential && s->feed == FEED_NONE)
        return cli_fail(c, 2, "--sequential: train block '%s' has no inputs, so it reads no data", s->train->name);
    return 0;
}

/* The paths of one data set: `flag` FILE for token windows, `flag`
 * NAME=FILE.npy for each input otherwise (all of them, when `required` or
 * when any is given), nothing for a block without inputs. */
static int match_source(const cli *c, const train_state *s, const char *flag, const opt_list *values, bool required,
                        const char **paths)
{
    const td_train_desc *t = s->train;
    if (s->feed == FEED_NONE)
        return values->n ? cli_fail(c, 2, "%s: train block '%s' has no inputs, so it reads no data", flag, t->name) : 0;
    if (s->feed == FEED_TOKENS) {
        if (values->n > 1)
            return cli_fail(c, 2, "option %s is given twice (train block '%s' reads its windows from one token file)",
                            flag, t->name);
        if (values->n == 0 && required)
            return cli_fail(c, 2, "train block '%s' needs %s FILE: a token file for its windows %s and %s", t->name,
                            flag, t->inputs[0].name, t->inputs[1].name);
        paths[0] = values->n ? values->v[0] : NULL;
        return 0;
    }
    int status = cli_match_named(c, flag, values, t->inputs, t->ninputs, t->name, paths);
    for (int k = 0; !status && (required || values->n) && k < t->ninputs; k++)
        if (!paths[k])
            return cli_fail(c, 2, "input '%s' of %s is missing: give %s %s=FILE.npy", t->inputs[k].name, t->name, flag,
                            t->inputs[k].name);
    return status;
}

/* --ckpt's directory must take new files: found now, not after hours of training. */
static int check_writable(const cli *c, const char *flag, const char *path)
{
    char dir[DIR_BYTES];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return 0; /* too long to check here; the save will say */
    if (access(dir, W_OK) != 0)
        return cli_fail(c, 2, "%s %s: cannot write in directory %s: %s", flag, path, dir, strerror(errno));
    return 0;
}

/* ---- batches ---- */

/* The batch buffers, from each input's shape under the bound dims. Rows
 * need a first axis, the same in every input (B examples a batch). */
static int batch_buffers(const cli *c, train_state *s)
{
    const td_train_desc *t = s->train;
    for (int k = 0; k < t->ninputs; k++) {
        const td_tensor_desc *x = &t->inputs[k];
        size_t bytes;
        text type = {{0}, 0};
        cli_type_text(&type, x, c->desc);
        if (!cli_eval_shape(x, s->b.value, s->shapes[k], &bytes))
            return cli_fail(c, 2, "input '%s' of train block '%s': %s overflows or is not whole for these dims", x->name,
                            t->name, type.buf);
        if (s->feed == FEED_ROWS && x->rank == 0)
            return cli_fail(c, 2, "input '%s' of train block '%s' is a scalar (%s): rows of a .npy cannot feed it",
                            x->name, t->name, type.buf);
        if (s->feed == FEED_ROWS && s->shapes[k][0] != s->shapes[0][0])
            return cli_fail(c, 2,
                            "inputs '%s' and '%s' of train block '%s' take %lld and %lld rows a batch: inputs fed "
                            "with rows must agree on their first axis",
                            t->inputs[0].name, x->name, t->name, (long long)s->shapes[0][0],
                            (long long)s->shapes[k][0]);
        if (!(s->batch[k] = calloc(bytes ? bytes : 1, 1)))
            return cli_fail(c, 1, "out of memory: %zu bytes for a batch of input '%s'", bytes, x->name);
    }
    s->items = s->feed == FEED_TOKENS ? s->shapes[0][0] * s->shapes[0][1] : s->feed == FEED_ROWS ? s->shapes[0][0] : 0;
    return 0;
}

/* One batch of `src` into the buffers: random windows or rows from *rng,
 * or consecutive ones from *cursor. Every input of rows takes the same
 * draws (a copy of the rng or cursor each), so row i of x goes with row i
 * of y; *rng and *cursor move only when all succeed. */
static td_status fetch(train_state *s, const source *src, td_rng *rng, uint64_t *cursor, bool sequential)
{
    const td_train_desc *t = s->train;
    if (s->feed == FEED_TOKENS) {
        int64_t B = s->shapes[0][0], T = s->shapes[0][1];
        td_dtype dtype = t->inputs[0].dtype;
        return sequential ? td_data_sequential_batch(s->ctx, src->files[0], cursor, B, T, dtype, s->batch[0], s->batch[1])
                          : td_data_random_batch(s->ctx, src->files[0], rng, B, T, dtype, s->batch[0], s->batch[1]);
    }
    td_rng moved_rng = *rng;
    uint64_t moved_cursor = *cursor;
    for (int k = 0; k < t->ninputs; k++) {
        moved_rng = *rng, moved_cursor = *cursor;
        td_status st = td_data_rows(s->ctx, src->files[k], sequential ? NULL : &moved_rng, &moved_cursor,
                                    s->shapes[k][0], t->inputs[k].dtype, t->inputs[k].rank - 1, &s->shapes[k][1],
                                    s->batch[k]);
        if (st != TD_OK)
            return st;
    }
    *rng = moved_rng, *cursor = moved_cursor;
    return TD_OK;
}

/* Opens the files of a data set, checks that each holds what its input
 * takes (token windows or rows, one row count for all), and draws one
 * batch as a dry run on copies of the stream, so every fault of the data
 * (too few tokens or rows, the rows' dtype or shape) shows now. */
static int open_source(const cli *c, train_state *s, source *src, const char *flag, bool sequential)
{
    const td_train_desc *t = s->train;
    for (int k = 0; k < s->nfiles; k++) {
        td_status st = td_data_open(s->ctx, src->paths[k], &src->files[k]);
        if (st != TD_OK)
            return cli_fail_ctx(c, s->ctx, st);
        bool rows = td_data_format_of(src->files[k]) == TD_DATA_NPY_ROWS;
        if (s->feed == FEED_TOKENS && rows)
            return cli_fail(c, 2, "%s %s: a .npy of rows, but train block '%s' takes token windows (%s, %s) from a token "
                            "file (llm.c's format or raw uint16)", flag, src->paths[k], t->name, t->inputs[0].name,
                            t->inputs[1].name);
        if (s->feed == FEED_ROWS && !rows)
            return cli_fail(c, 2, "%s %s=%s: a token file, but input '%s' takes rows of a .npy", flag, t->inputs[k].name,
                            src->paths[k], t->inputs[k].name);
        if (k > 0 && td_data_count(src->files[k]) != td_data_count(src->files[0]))
            return cli_fail(c, 2, "%s %s=%s: %lld rows, but %s=%s has %lld: the files of one data set must have as many "
                            "rows", flag, t->inputs[k].name, src->paths[k], (long long)td_data_count(src->files[k]),
                            t->inputs[0].name, src->paths[0], (long long)td_data_count(src->files[0]));
    }
    td_rng rng = {s->seed, 0};
    uint64_t cursor = 0;
    td_status st = s->nfiles ? fetch(s, src, &rng, &cursor, sequential) : TD_OK;
    return st == TD_OK ? 0 : cli_fail_ctx(c, s->ctx, st);
}

/* ---- metrics ---- */

/* The shortest decimal that reads back as the same double; `null` (JSON)
 * or nothing (CSV) when it is not finite. */
static void number_text(char *buf, size_t size, double v, bool csv)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "%s", csv ? "" : "null");
        return;
    }
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static const char *rate_name(const train_state *s)
{
    return s->feed == FEED_TOKENS ? "tokens_per_s" : s->feed == FEED_ROWS ? "rows_per_s" : NULL;
}

/* A JSONL file, or CSV when the name ends in .csv; appended to when
 * resuming (the CSV header only into an empty file), else truncated. */
static int open_log(const cli *c, train_state *s, const char *path, bool append)
{
    size_t len = strlen(path);
    s->csv = len >= 4 && strcmp(path + len - 4, ".csv") == 0;
    if (!(s->log = fopen(path, append ? "a" : "w")))
        return cli_fail(c, 2, "--log %s: cannot open: %s", path, strerror(errno));
    if (s->csv && fseek(s->log, 0, SEEK_END) == 0 && ftell(s->log) == 0)
        fprintf(s->log, "step,loss,lr,grad_norm,ms%s%s,flops_per_s,mfu,val_loss\n", rate_name(s) ? "," : "",
                rate_name(s) ? rate_name(s) : "");
    return 0;
}

/* The step's FLOPs over its time (NAN without accounting or time): on
 * the GPU its time there (CUDA events), else its wall time. */
static double flops_per_s(const train_state *s, const step_row *r)
{
    double ms = r->stats.gpu_ms > 0 ? r->stats.gpu_ms : r->ms;
    return ms > 0 ? s->step_flops / (ms / 1e3) : NAN;
}

static void write_row(train_state *s, const step_row *r)
{
    char loss[NUMBER_BYTES], lr[NUMBER_BYTES], norm[NUMBER_BYTES], val[NUMBER_BYTES], flops[NUMBER_BYTES],
        mfu[NUMBER_BYTES];
    number_text(loss, sizeof loss, r->stats.loss, s->csv);
    number_text(lr, sizeof lr, r->stats.lr, s->csv);
    number_text(norm, sizeof norm, r->stats.grad_norm, s->csv);
    number_text(val, sizeof val, r->has_val ? r->val_loss : NAN, s->csv);
    number_text(flops, sizeof flops, flops_per_s(s, r), s->csv);
    number_text(mfu, sizeof mfu, s->peak > 0 ? flops_per_s(s, r) / s->peak : NAN, s->csv);
    double rate = r->ms > 0 ? (double)s->items / (r->ms / 1e3) : 0;
    if (s->csv) {
        fprintf(s->log, "%lld,%s,%s,%s,%.3f", (long long)r->step, loss, lr, norm, r->ms);
        if (rate_name(s))
            fprintf(s->log, ",%.1f", rate);
        fprintf(s->log, ",%s,%s,%s\n", flops, mfu, r->has_val ? val : "");
    } else {
        fprintf(s->log, "{\"step\": %lld, \"loss\": %s, \"lr\": %s, \"grad_norm\": %s, \"ms\": %.3f", (long long)r->step,
                loss, lr, norm, r->ms);
        if (r->stats.gpu_ms > 0)
            fprintf(s->log, ", \"gpu_ms\": %.3f", r->stats.gpu_ms);
        if (rate_name(s))
            fprintf(s->log, ", \"%s\": %.1f", rate_name(s), rate);
        fprintf(s->log, ", \"flops_per_s\": %s", flops);
        if (s->peak > 0)
            fprintf(s->log, ", \"mfu\": %s", mfu);
        if (r->has_val)
            fprintf(s->log, ", \"val_loss\": %s", val);
        fprintf(s->log, "}\n");
    }
    fflush(s->log);
}

/* `step 20/100  loss 2.31  lr 0.0006  grad_norm 1.2  4.10 ms  31220 tok/s
 * 1.23 GFLOP/s  MFU 41.2%  val_loss 2.4`, and on the GPU `(GPU 3.95 ms)`
 * after the wall time, the FLOP/s and MFU over the GPU time. */
static void progress_line(const train_state *s, const step_row *r)
{
    printf("step %lld/%lld  loss %.6g  lr %.4g  grad_norm %.4g  %.2f ms", (long long)r->step, (long long)s->steps,
           r->stats.loss, r->stats.lr, r->stats.grad_norm, r->ms);
    if (r->stats.gpu_ms > 0)
        printf(" (GPU %.2f ms)", r->stats.gpu_ms);
    if (s->feed != FEED_NONE)
        printf("  %.0f %s", r->ms > 0 ? (double)s->items / (r->ms / 1e3) : 0.0,
               s->feed == FEED_TOKENS ? "tok/s" : "rows/s");
    double flops = flops_per_s(s, r);
    if (isfinite(flops)) {
        text rate = {{0}, 0};
        cli_rate_text(&rate, flops, "FLOP/s");
        printf("  %s", rate.buf);
        if (s->peak > 0)
            printf("  MFU %.3g%%", 100 * flops / s->peak);
    }
    if (r->has_val)
        printf("  val_loss %.6g", r->val_loss);
    printf("\n");
    fflush(stdout);
}

/* ---- the loop ---- */

/* The mean loss of --val-batches batches of the validation data, drawn
 * from a stream of its own (random) or from its start (sequential). The
 * model's RNG is put back afterwards, in case the loss function draws
 * from it. */
static int validate(const cli *c, train_state *s, bool sequential, double *mean)
{
    td_model *m = s->model;
    td_rng saved = m->rng, rng = {m->rng.seed + VAL_SEED_OFFSET, 0};
    uint64_t cursor = 0;
    double sum = 0;
    td_status st = TD_OK;
    for (int64_t k = 0; st == TD_OK && k < s->val_batches; k++) {
        double loss = NAN;
        st = fetch(s, &s->val, &rng, &cursor, sequential);
        if (st == TD_OK)
            st = td_train_loss(m, s->index, (const void *const *)s->batch, &loss);
        sum += loss;
    }
    m->rng = saved;
    if (st != TD_OK) {
        const char *msg = td_ctx_error(s->ctx);
        return cli_fail(c, 1, "validation at step %lld: %s", (long long)m->step, msg ? msg : "the loss failed");
    }
    *mean = sum / (double)s->val_batches;
    return 0;
}

static int save(const cli *c, train_state *s, const char *path)
{
    td_model *m = s->model;
    td_rng rng = m->rng;
    uint64_t cursor = m->data_cursor;
    if (s->nstaged > 0) { /* the next step's batch is drawn already: record the state before it */
        m->rng = s->ckpt_rng;
        m->data_cursor = s->ckpt_cursor;
    }
    td_status st = td_model_save(m, path);
    m->rng = rng;
    m->data_cursor = cursor;
    if (st == TD_OK) {
        s->saved_step = s->model->step;
        return 0;
    }
    const char *msg = td_ctx_error(s->ctx);
    return cli_fail(c, 1, "step %lld: saving the checkpoint: %s", (long long)s->model->step, msg ? msg : "failed");
}

/* On the GPU, a block with inputs whose step draws no random numbers
 * trains from staged batches (td_train_stage): the next step's batch is
 * drawn and its copy up queued while this step runs
 * (td_train_step_staged_while), so that both overlap the step. The
 * batches are drawn in the same order as without (the step draws nothing
 * from the model's RNG), and a checkpoint records the RNG and the cursor
 * as they were after this step's batch, so a resumed run draws the next
 * batch again. */
static bool staged_feed(const train_state *s)
{
    return s->model->on_gpu && s->feed != FEED_NONE && !s->train->draws;
}

/* The next batch, drawn and staged. */
static td_status stage_next(train_state *s, bool sequential)
{
    td_model *m = s->model;
    td_status st = fetch(s, &s->data, &m->rng, &m->data_cursor, sequential);
    if (st == TD_OK)
        st = td_train_stage(m, s->index, (const void *const *)s->batch);
    if (st == TD_OK)
        s->nstaged++;
    return st;
}

/* The next batch drawn and staged while a step runs (td_train_step_staged_while). */
typedef struct next_batch {
    train_state *s;
    bool sequential;
} next_batch;

static td_status stage_meanwhile(void *arg)
{
    next_batch *n = arg;
    return stage_next(n->s, n->sequential);
}

/* One step's batch and the step: drawn, then td_train_step; or staged
 * (staged_feed), the next one drawn and staged while the step runs. */
static td_status train_one(const opts *o, train_state *s, td_step_stats *stats)
{
    td_model *m = s->model;
    if (!staged_feed(s)) {
        td_status st = s->feed == FEED_NONE ? TD_OK : fetch(s, &s->data, &m->rng, &m->data_cursor, o->sequential);
        return st == TD_OK ? td_train_step(m, s->index, (const void *const *)s->batch, stats) : st;
    }
    td_status st = s->nstaged == 0 ? stage_next(s, o->sequential) : TD_OK;
    s->ckpt_rng = m->rng;
    s->ckpt_cursor = m->data_cursor;
    if (st != TD_OK)
        return st;
    next_batch next = {s, o->sequential};
    bool more = m->step + 1 < s->steps;
    s->nstaged--; /* the step takes the oldest */
    return td_train_step_staged_while(m, s->index, more ? stage_meanwhile : NULL, &next, stats);
}

/* Whether step `step` (from 1) is validated; whether it is logged (a row
 * and a progress line). */
static bool validated(const train_state *s, int64_t step)
{
    return s->has_val && (step >= s->steps || (s->val_every && step % s->val_every == 0));
}

static bool logged(const train_state *s, int64_t step)
{
    return step >= s->steps || validated(s, step) || step % s->log_every == 0;
}

/* One step: a batch, td_train_step, then what the options ask at its
 * count: validation, a log row and progress line, a checkpoint. A logged
 * step on the GPU measures its time there (td_model_time_steps), the rest
 * do not (a few us a step). */
static int one_step(const cli *c, const opts *o, train_state *s)
{
    td_model *m = s->model;
    double start = td_now();
    step_row r = {.step = m->step + 1};
    td_model_time_steps(m, logged(s, r.step));
    td_status st = train_one(o, s, &r.stats);
    if (st != TD_OK) {
        const char *msg = td_ctx_error(s->ctx);
        return cli_fail(c, 1, "%s", msg ? msg : "the step failed without a message");
    }
    r.ms = (td_now() - start) * 1e3;
    bool last = m->step >= s->steps;
    int status = 0;
    if (validated(s, m->step)) {
        status = validate(c, s, o->sequential, &r.val_loss);
        r.has_val = true;
    }
    if (!status && logged(s, m->step)) {
        if (s->log)
            write_row(s, &r);
        if (s->progress)
            progress_line(s, &r);
    }
    if (!status && o->ckpt && (last || (s->ckpt_every && m->step % s->ckpt_every == 0) || interrupted))
        status = save(c, s, o->ckpt);
    return status;
}

static int train_loop(const cli *c, const opts *o, train_state *s)
{
    struct sigaction on_int, old;
    memset(&on_int, 0, sizeof on_int);
    on_int.sa_handler = on_sigint;
    on_int.sa_flags = SA_RESETHAND; /* a second Ctrl-C ends the process at once */
    sigemptyset(&on_int.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &on_int, &old);
    int status = 0;
    while (!status && s->model->step < s->steps && !interrupted)
        status = one_step(c, o, s);
    sigaction(SIGINT, &old, NULL);
    if (!status && interrupted)
        status = cli_fail(c, EXIT_INTERRUPTED, "interrupted at step %lld%s%s", (long long)s->model->step,
                          o->ckpt ? "; checkpoint saved to " : "", o->ckpt ? o->ckpt : "");
    else if (!status && o->ckpt && s->saved_step != s->model->step)
        status = save(c, s, o->ckpt); /* when --resume was already at --steps */
    if (s->log && (ferror(s->log) || fclose(s->log) != 0) && !status)
        status = cli_fail(c, 1, "--log %s: writing failed", o->log);
    s->log = NULL;
    interrupted = 0;
    return status;
}

/* The FLOPs of a step under the model's dims, when the block was compiled
 * with accounting. */
static int step_flops(const cli *c, train_state *s)
{
    cli_costs k;
    if (cli_cost_problem(s->train->cost, cli_trained_count(c->desc, s->train)))
        return 0;
    if (!cli_costs_eval(s->train->cost, s->model->dims, &k))
        return cli_fail(c, 1, "out of memory");
    s->step_flops = k.total_flops;
    cli_costs_free(&k);
    if (s->peak == 0 && s->model->on_gpu) /* no --peak: the peak of the GPU it runs on, if the table knows it */
        s->peak = cli_gpu_peak(c, s->train, td_cuda_device_name(s->ctx));
    return 0;
}

/* Options, then the data, then the model; each only if the last succeeded. */
int cli_train(const cli *c, const opts *o)
{
    int index = 0;
    int status = find_train(c, o->train, &index);
    if (status)
        return status;
    train_state s;
    if (!state_new(&s, c, index))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = check_options(c, o, &s, false);
    if (!status)
        status = match_source(c, &s, "--data", &o->data, true, s.data.paths);
    if (!status)
        status = match_source(c, &s, "--val", &o->val, false, s.val.paths);
    s.has_val = !status && s.nfiles > 0 && s.val.paths[0] != NULL;
    if (!status)
        status = cli_need_all_bound(c, &s.b);
    if (!status)
        status = batch_buffers(c, &s);
    if (!status)
        status = open_source(c, &s, &s.data, "--data", o->sequential);
    if (!status && s.has_val)
        status = open_source(c, &s, &s.val, "--val", o->sequential);
    if (!status && o->ckpt)
        status = check_writable(c, "--ckpt", o->ckpt);
    if (!status)
        status = cli_new_model(c, o, s.ctx, s.b.value, s.seed, &s.model);
    if (!status)
        status = step_flops(c, &s);
    if (!status && o->resume && td_model_load(s.model, o->resume) != TD_OK)
        status = cli_fail_ctx(c, s.ctx, TD_ERR_INPUT);
    if (!status && o->log)
        status = open_log(c, &s, o->log, o->resume != NULL);
    s.progress = isatty(STDOUT_FILENO) || !o->log;
    if (!status)
        status = train_loop(c, o, &s);
    state_free(&s);
    return status;
}

/* N steps with the profile set, each timed whole (its batch included); a
 * step that fails exits 1. */
static int time_steps(const cli *c, const opts *o, train_state *s, td_profile *p, double *wall)
{
    td_model *m = s->model;
    *wall = 0;
    m->profile = p;
    for (int64_t n = 0; n < s->steps; n++) {
        double start = td_now();
        td_status st = s->feed == FEED_NONE ? TD_OK : fetch(s, &s->data, &m->rng, &m->data_cursor, o->sequential);
        if (st == TD_OK)
            st = td_train_step(m, s->index, (const void *const *)s->batch, NULL);
        *wall += td_now() - start;
        if (st != TD_OK) {
            const char *msg = td_ctx_error(s->ctx);
            m->profile = NULL;
            return cli_fail(c, 1, "%s", msg ? msg : "the step failed without a message");
        }
    }
    m->profile = NULL;
    return 0;
}

/* As `train` until the model is built; then time the steps and report. */
int cli_profile_train(const cli *c, const opts *o)
{
    int index = 0;
    int status = find_train(c, o->train, &index);
    if (status)
        return status;
    const td_train_desc *t = &c->desc->trains[index];
    const char *problem = cli_cost_problem(t->cost, cli_trained_count(c->desc, t));
    if (problem)
        return t->cost ? cli_fail(c, 2, "train block '%s': %s", t->name, problem) : cli_fail(c, 2, "%s", problem);
    train_state s;
    td_profile p = {0};
    cli_costs k = {0};
    double wall = 0;
    if (!state_new(&s, c, index))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = check_options(c, o, &s, true);
    if (!status)
        status = match_source(c, &s, "--data", &o->data, true, s.data.paths);
    if (!status)
        status = cli_need_all_bound(c, &s.b);
    if (!status)
        status = batch_buffers(c, &s);
    if (!status)
        status = open_source(c, &s, &s.data, "--data", o->sequential);
    if (!status)
        status = cli_new_model(c, o, s.ctx, s.b.value, s.seed, &s.model);
    if (!status && (!cli_costs_eval(t->cost, s.model->dims, &k) || !cli_profile_new(&p, t->cost->nops)))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = time_steps(c, o, &s, &p, &wall);
    if (!status) {
        text what = {{0}, 0};
        cli_text_add(&what, "train block %s", t->name);
        cli_profile_report(c, what.buf, t->cost, &k, &p, s.model->dims, s.steps, wall, true);
    }
    cli_profile_free(&p);
    cli_costs_free(&k);
    state_free(&s);
    return status;
}
