/* test_train_cli.c - the `train` and `profile` commands end to end on
 * the models of test_train_models.h: token windows, rows, no inputs,
 * JSONL and CSV logs checked against a direct loop, validation,
 * checkpoints, --resume byte for byte, Ctrl-C, FLOP/s and MFU, profiles,
 * with the exit status and exact message of every error path. */
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
#include "td.h"
#include "td_devices.h"
#include "test.h"
#include "test_fixture.h"
#include "test_train_models.h"

void test_train_cli(void);

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

void test_train_cli(void)
{
    gpu_peak();
    rows *r = malloc(sizeof *r);
    make_rows(r);
    fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/td_train_cli_XXXXXX");
    CHECK(mkdtemp(fx->dir) != NULL, "mkdtemp %s", fx->dir);
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
