/* cli.c - td_main, the command line of a compiled model.
 *
 * A program compiled by tdc is `int main(argc, argv) { return
 * td_main(&model_desc, argc, argv); }`; this file is everything behind it:
 * `info` describes the model (dims, params, functions, train blocks, the
 * memory plan), `run FN` reads each input of FN from a .npy file, binds
 * the run-time dims from the inputs' extents and --dims, builds the model
 * (td_model_new), optionally loads its params from a safetensors
 * checkpoint, calls FN and writes each output to a .npy file, and `params`
 * writes the initialised params as a checkpoint; `train` lives in
 * cli_train.c, `profile` in cli_accounting.c, and cli.h holds what the
 * files share. With the dims bound, `info` also gives the FLOPs of each
 * function's call and each train block's step from their cost
 * descriptions. Options are
 * checked before any file is read, and files before the model is built.
 * Every failure is one line on stderr, `PROG: error: MESSAGE`, through
 * cli_fail(); bad input (flags, numbers, files, dtypes, shapes, the plan's
 * run-time checks) exits 2, a failure inside the function or running out
 * of memory exits 1. Each command owns its allocations in one struct freed
 * on every path. docs/RUNTIME.md "Compiled models and the command line" is
 * the user's description. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum { MSG_BYTES = 8192, HELP = -1 };

/* ---- messages and text ---- */

/* Prints `PROG: error: MESSAGE` on one line and returns `status`. */
int cli_fail(const cli *c, int status, const char *fmt, ...)
{
    char msg[MSG_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fflush(stdout);
    fprintf(stderr, "%s: error: %s\n", c->prog, msg);
    return status;
}

/* Bad input exits 2; the machine failing us (memory, a device) exits 1. */
static int exit_status(td_status st) { return st == TD_ERR_OOM || st == TD_ERR_DEVICE ? 1 : 2; }

int cli_fail_ctx(const cli *c, const td_ctx *ctx, td_status st)
{
    const char *msg = td_ctx_error(ctx);
    return cli_fail(c, exit_status(st), "%s", msg ? msg : "failed without a message");
}

void cli_text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < sizeof t->buf ? t->len + (size_t)n : sizeof t->buf - 1;
}

static const char *dim_name(const td_model_desc *d, int index)
{
    return index >= 0 && index < d->ndims ? d->dims[index].name : "?";
}

/* The compiler's spelling of a size (compiler/size.c size_print): `64`,
 * `batch`, `2*seq`, `3*batch/2`, `model/heads`, `b*b`, `b**4`. */
static void size_text(text *t, const td_size_expr *e, const td_model_desc *d)
{
    bool any_positive = false, wrote = false;
    for (int i = 0; i < e->nfactors; i++)
        any_positive |= e->factor_exp[i] > 0;
    if (e->num != 1 || !any_positive) {
        cli_text_add(t, "%lld", (long long)e->num);
        wrote = true;
    }
    for (int i = 0; i < e->nfactors; i++) {
        int exp = e->factor_exp[i];
        const char *name = dim_name(d, e->factor_dim[i]);
        if (exp <= 0)
            continue;
        if (exp > 3)
            cli_text_add(t, "%s%s**%d", wrote ? "*" : "", name, exp);
        for (int k = 0; exp <= 3 && k < exp; k++)
            cli_text_add(t, "%s%s", wrote || k ? "*" : "", name);
        wrote = true;
    }
    if (e->den != 1)
        cli_text_add(t, "/%lld", (long long)e->den);
    for (int i = 0; i < e->nfactors; i++)
        if (e->factor_exp[i] < 0)
            cli_text_add(t, e->factor_exp[i] < -1 ? "/%s**%d" : "/%s", dim_name(d, e->factor_dim[i]), -e->factor_exp[i]);
}

/* `f32["batch hidden"]`, or `f32` for a scalar. */
void cli_type_text(text *t, const td_tensor_desc *x, const td_model_desc *d)
{
    cli_text_add(t, "%s", td_dtype_name(x->dtype));
    if (x->rank == 0)
        return;
    if (x->shape_text) {
        cli_text_add(t, "[\"%s\"]", x->shape_text);
        return;
    }
    cli_text_add(t, "[\"");
    for (int a = 0; a < x->rank; a++) {
        if (a)
            cli_text_add(t, " ");
        size_text(t, &x->shape[a], d);
    }
    cli_text_add(t, "\"]");
}

static void shape_text(text *t, int rank, const int64_t *shape)
{
    cli_text_add(t, "[");
    for (int a = 0; a < rank; a++)
        cli_text_add(t, "%s%lld", a ? ", " : "", (long long)shape[a]);
    cli_text_add(t, "]");
}

/* `1536 B (1.50 KiB)`; plain bytes below 1 KiB. */
static void bytes_text(text *t, size_t bytes)
{
    static const char *const UNITS[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    cli_text_add(t, "%zu B", bytes);
    if (bytes < 1024)
        return;
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 5)
        v /= 1024, u++;
    cli_text_add(t, " (%.2f %s)", v, UNITS[u]);
}

void cli_tensor_names(text *t, const td_tensor_desc *x, int n)
{
    for (int i = 0; i < n; i++)
        cli_text_add(t, "%s%s", i ? ", " : "", x[i].name);
    if (n == 0)
        cli_text_add(t, "none");
}

static void dim_names(text *t, const td_model_desc *d)
{
    for (int i = 0; i < d->ndims; i++)
        cli_text_add(t, "%s%s", i ? ", " : "", d->dims[i].name);
    if (d->ndims == 0)
        cli_text_add(t, "none");
}

static void fn_names(text *t, const td_model_desc *d)
{
    for (int i = 0; i < d->nfns; i++)
        cli_text_add(t, "%s%s", i ? ", " : "", d->fns[i].name);
    if (d->nfns == 0)
        cli_text_add(t, "none");
}

const char *cli_plural(long long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* ---- shapes under bound dims ---- */

/* The shape and bytes of `x` for the dims; false if an axis overflows or
 * is not whole, the rank is over TD_MAX_RANK, or the bytes overflow. */
bool cli_eval_shape(const td_tensor_desc *x, const int64_t *dims, int64_t shape[TD_MAX_RANK], size_t *bytes)
{
    if (x->rank < 0 || x->rank > TD_MAX_RANK || td_dtype_size(x->dtype) == 0)
        return false;
    size_t n = td_dtype_size(x->dtype);
    for (int a = 0; a < x->rank; a++) {
        shape[a] = td_size_eval(&x->shape[a], dims);
        if (shape[a] < 0 || (uint64_t)shape[a] > SIZE_MAX || !td_mul_size(n, (size_t)shape[a], &n))
            return false;
    }
    *bytes = n;
    return true;
}

/* ---- numbers ---- */

/* A decimal number of `len` characters, at most `max`. */
num_status cli_parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
{
    size_t i = len && s[0] == '-';
    bool too_large = false;
    uint64_t v = 0;
    if (len == 0)
        return NUM_EMPTY;
    if (i == len)
        return NUM_BAD;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return NUM_BAD;
        unsigned digit = (unsigned)(s[i] - '0');
        if (v > (max - digit) / 10)
            too_large = true;
        else
            v = v * 10 + digit;
    }
    if (s[0] == '-')
        return NUM_NEGATIVE;
    *out = v;
    return too_large ? NUM_TOO_LARGE : NUM_OK;
}

int cli_parse_seed(const cli *c, const char *s, uint64_t *seed)
{
    *seed = 0;
    if (!s)
        return 0;
    switch (cli_parse_number(s, strlen(s), UINT64_MAX, seed)) {
    case NUM_OK: return 0;
    case NUM_NEGATIVE: return cli_fail(c, 2, "--seed %s: the seed must not be negative", s);
    case NUM_TOO_LARGE: return cli_fail(c, 2, "--seed %s: too large (at most %llu)", s, (unsigned long long)UINT64_MAX);
    default: return cli_fail(c, 2, "--seed %s: not a whole number", s);
    }
}

/* ---- dims and where their values came from ---- */

bool cli_bindings_new(const td_model_desc *d, bindings *b)
{
    size_t n = d->ndims > 0 ? (size_t)d->ndims : 1;
    b->value = calloc(n, sizeof *b->value);
    b->from = calloc(n, sizeof *b->from);
    if (!b->value || !b->from)
        return false;
    for (int i = 0; i < d->ndims; i++)
        if (d->dims[i].value > 0)
            b->value[i] = d->dims[i].value, b->from[i].kind = FROM_MODEL;
    return true;
}

void cli_bindings_free(bindings *b)
{
    free(b->value);
    free(b->from);
}

static void source_text(text *t, const dim_source *s)
{
    if (s->kind == FROM_INPUT)
        cli_text_add(t, "input '%s' (axis %d)", s->input, s->axis);
    else
        cli_text_add(t, "%s", s->kind == FROM_DIMS ? "--dims" : "the model");
}

static int find_dim(const td_model_desc *d, const char *name, size_t len)
{
    for (int i = 0; i < d->ndims; i++)
        if (strlen(d->dims[i].name) == len && memcmp(d->dims[i].name, name, len) == 0)
            return i;
    return -1;
}

/* One NAME=N of --dims; `len` characters at `item`. */
static int parse_dim_item(const cli *c, const char *item, size_t len, bindings *b)
{
    const char *eq = memchr(item, '=', len);
    int ilen = (int)len;
    if (len == 0)
        return cli_fail(c, 2, "--dims: an empty entry (give NAME=N[,NAME=N...])");
    if (!eq)
        return cli_fail(c, 2, "--dims %.*s: give a value, as %.*s=N", ilen, item, ilen, item);
    size_t nlen = (size_t)(eq - item), vlen = len - nlen - 1;
    int d = find_dim(c->desc, item, nlen);
    if (nlen == 0)
        return cli_fail(c, 2, "--dims %.*s: no dim name before '='", ilen, item);
    if (d < 0) {
        text names = {{0}, 0};
        dim_names(&names, c->desc);
        return cli_fail(c, 2, "--dims %.*s: model %s has no dim '%.*s' (dims: %s)", ilen, item, c->desc->name, (int)nlen,
                        item, names.buf);
    }
    const char *name = c->desc->dims[d].name;
    uint64_t v = 0;
    switch (cli_parse_number(eq + 1, vlen, INT64_MAX, &v)) {
    case NUM_OK: break;
    case NUM_EMPTY: return cli_fail(c, 2, "--dims %.*s: no value after '='", ilen, item);
    case NUM_BAD: return cli_fail(c, 2, "--dims %.*s: '%.*s' is not a whole number", ilen, item, (int)vlen, eq + 1);
    case NUM_NEGATIVE: v = 0; break;
    case NUM_TOO_LARGE: return cli_fail(c, 2, "--dims %.*s: too large (at most %lld)", ilen, item, (long long)INT64_MAX);
    }
    if (v == 0)
        return cli_fail(c, 2, "--dims %.*s: dim '%s' must be at least 1", ilen, item, name);
    if (b->from[d].kind == FROM_DIMS)
        return cli_fail(c, 2, "--dims: dim '%s' is given twice", name);
    if (c->desc->dims[d].value > 0 && (int64_t)v != c->desc->dims[d].value)
        return cli_fail(c, 2, "--dims %.*s: dim '%s' is %lld in model %s", ilen, item, name,
                        (long long)c->desc->dims[d].value, c->desc->name);
    b->value[d] = (int64_t)v;
    b->from[d].kind = FROM_DIMS;
    return 0;
}

/* ---- options ---- */

enum {
    OPT_DIMS = 1 << 0, OPT_IN = 1 << 1, OPT_OUT = 1 << 2, OPT_SEED = 1 << 3, OPT_PARAMS = 1 << 4,
    OPT_STEPS = 1 << 5, OPT_TRAIN = 1 << 6, OPT_DATA = 1 << 7, OPT_SEQUENTIAL = 1 << 8, OPT_VAL = 1 << 9,
    OPT_VAL_EVERY = 1 << 10, OPT_VAL_BATCHES = 1 << 11, OPT_LOG = 1 << 12, OPT_LOG_EVERY = 1 << 13,
    OPT_CKPT = 1 << 14, OPT_CKPT_EVERY = 1 << 15, OPT_RESUME = 1 << 16, OPT_DEVICE = 1 << 17, OPT_PEAK = 1 << 18,
    OPT_PEAK_OF = 1 << 19, OPT_ALLOW_TF32 = 1 << 20,
};
/* Options that may be given several times (each value kept), and flags,
 * which take no value. */
enum { OPT_LISTS = OPT_DIMS | OPT_IN | OPT_DATA | OPT_VAL, OPT_FLAGS = OPT_SEQUENTIAL | OPT_ALLOW_TF32 };

static const struct {
    const char *name;
    unsigned kind;
} OPTIONS[] = {
    {"--dims", OPT_DIMS}, {"--in", OPT_IN}, {"--out", OPT_OUT}, {"--seed", OPT_SEED}, {"--params", OPT_PARAMS},
    {"--steps", OPT_STEPS}, {"--train", OPT_TRAIN}, {"--data", OPT_DATA}, {"--sequential", OPT_SEQUENTIAL},
    {"--val", OPT_VAL}, {"--val-every", OPT_VAL_EVERY}, {"--val-batches", OPT_VAL_BATCHES}, {"--log", OPT_LOG},
    {"--log-every", OPT_LOG_EVERY}, {"--ckpt", OPT_CKPT}, {"--ckpt-every", OPT_CKPT_EVERY}, {"--resume", OPT_RESUME},
    {"--device", OPT_DEVICE}, {"--peak", OPT_PEAK}, {"--peak-of", OPT_PEAK_OF}, {"--allow-tf32", OPT_ALLOW_TF32},
};
enum { NOPTIONS = sizeof OPTIONS / sizeof OPTIONS[0] };

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static void option_list(text *t, unsigned allowed)
{
    bool first = true;
    for (int k = 0; k < NOPTIONS; k++)
        if (OPTIONS[k].kind & allowed)
            cli_text_add(t, "%s%s", first ? "" : ", ", OPTIONS[k].name), first = false;
}

/* Where the value of a single-valued option goes. */
static const char **single_slot(opts *o, unsigned kind)
{
    switch (kind) {
    case OPT_OUT: return &o->out;
    case OPT_SEED: return &o->seed;
    case OPT_PARAMS: return &o->params;
    case OPT_STEPS: return &o->steps;
    case OPT_TRAIN: return &o->train;
    case OPT_VAL_EVERY: return &o->val_every;
    case OPT_VAL_BATCHES: return &o->val_batches;
    case OPT_LOG: return &o->log;
    case OPT_LOG_EVERY: return &o->log_every;
    case OPT_CKPT: return &o->ckpt;
    case OPT_CKPT_EVERY: return &o->ckpt_every;
    case OPT_DEVICE: return &o->device;
    case OPT_PEAK: return &o->peak;
    case OPT_PEAK_OF: return &o->peak_of;
    default: return &o->resume;
    }
}

static int store_option(const cli *c, int k, const char *value, opts *o)
{
    unsigned kind = OPTIONS[k].kind;
    opt_list *list = kind == OPT_DIMS ? &o->dims : kind == OPT_IN ? &o->ins : kind == OPT_DATA ? &o->data : &o->val;
    const char **slot = single_slot(o, kind);
    if (kind & OPT_FLAGS) {
        bool *flag = kind == OPT_SEQUENTIAL ? &o->sequential : &o->allow_tf32;
        if (*flag)
            return cli_fail(c, 2, "option %s is given twice", OPTIONS[k].name);
        *flag = true;
    } else if (kind & OPT_LISTS) {
        list->v[list->n++] = value;
    } else if (*slot) {
        return cli_fail(c, 2, "option %s is given twice", OPTIONS[k].name);
    } else {
        *slot = value;
    }
    return 0;
}

/* `--flag VALUE` or `--flag=VALUE`; a value may not be empty or start with
 * `--` (that is a forgotten value followed by the next flag). Returns 0,
 * 2 after an error, or HELP. */
static int parse_opts(const cli *c, const char *cmd, unsigned allowed, bool wants_fn, int argc, char **argv, opts *o)
{
    text list = {{0}, 0};
    option_list(&list, allowed);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return HELP;
        if (arg[0] != '-' || arg[1] == 0) {
            if (!wants_fn || o->fn)
                return cli_fail(c, 2, "%s: unexpected argument '%s'", cmd, arg);
            o->fn = arg;
            continue;
        }
        size_t nlen = strcspn(arg, "=");
        int k = 0;
        while (k < NOPTIONS && !(strlen(OPTIONS[k].name) == nlen && memcmp(OPTIONS[k].name, arg, nlen) == 0))
            k++;
        if (k == NOPTIONS || !(OPTIONS[k].kind & allowed))
            return cli_fail(c, 2, "%s: unknown option '%.*s' (%s takes %s)", cmd, (int)nlen, arg, cmd,
                            list.len ? list.buf : "no options");
        if ((OPTIONS[k].kind & OPT_FLAGS) && arg[nlen] == '=')
            return cli_fail(c, 2, "option %s takes no value", OPTIONS[k].name);
        const char *value = OPTIONS[k].kind & OPT_FLAGS ? ""
                            : arg[nlen] == '='          ? arg + nlen + 1
                            : i + 1 < argc              ? argv[++i]
                                                        : NULL;
        if (!(OPTIONS[k].kind & OPT_FLAGS) &&
            (!value || !*value || (arg[nlen] != '=' && strncmp(value, "--", 2) == 0)))
            return cli_fail(c, 2, "option %s needs a value", OPTIONS[k].name);
        int status = store_option(c, k, value, o);
        if (status)
            return status;
    }
    return 0;
}

/* Every --dims, each a comma-separated list of NAME=N. */
int cli_parse_all_dims(const cli *c, const opts *o, bindings *b)
{
    for (int i = 0; i < o->dims.n; i++) {
        const char *p = o->dims.v[i];
        for (;;) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            int status = parse_dim_item(c, p, len, b);
            if (status)
                return status;
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    return 0;
}

/* Every run-time dim needs a value before a model can be built. */
int cli_need_all_bound(const cli *c, const bindings *b)
{
    text names = {{0}, 0}, flags = {{0}, 0};
    int missing = 0;
    for (int d = 0; d < c->desc->ndims; d++) {
        if (b->value[d] > 0)
            continue;
        cli_text_add(&names, "%s'%s'", missing ? ", " : "", c->desc->dims[d].name);
        cli_text_add(&flags, "%s%s=N", missing ? "," : "", c->desc->dims[d].name);
        missing++;
    }
    if (missing == 0)
        return 0;
    return cli_fail(c, 2, "%s %s %s not bound: give --dims %s", cli_plural(missing, "dim", "dims"), names.buf,
                    cli_plural(missing, "is", "are"), flags.buf);
}

/* ---- usage ---- */

static void usage(const cli *c, FILE *f)
{
    text fns = {{0}, 0}, trains = {{0}, 0};
    fn_names(&fns, c->desc);
    for (int k = 0; k < c->desc->ntrains; k++)
        cli_text_add(&trains, "%s%s", k ? ", " : "", c->desc->trains[k].name);
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  info [--dims D]                          describe the dims, params, functions and memory plan\n"
            "  run FN --in NAME=PATH ... --out PATHS    run function FN on .npy inputs, write .npy outputs\n"
            "         [--dims D] [--seed S] [--params CKPT]\n"
            "  params --out CKPT [--dims D] [--seed S]  write the initialised params as safetensors\n"
            "  train --steps N [--data FILE | --data NAME=FILE.npy ...] [--train NAME]\n"
            "        [--dims D] [--seed S] [--sequential] [--val ... --val-every K --val-batches M]\n"
            "        [--log FILE --log-every K] [--ckpt CKPT --ckpt-every K] [--resume CKPT]\n"
            "        [--peak-of NAME | --peak FLOPS]    train to step N, logging and saving checkpoints\n"
            "  profile FN [--in NAME=PATH ...] [--dims D] [--seed S] [--steps N]\n"
            "  profile --train NAME [--data ...] [--dims D] [--seed S] [--sequential] [--steps N]\n"
            "                                           time each operation over N calls or steps\n"
            "  help                                     print this\n"
            "\n"
            "options:\n"
            "  --dims D           run-time dims, NAME=N[,NAME=N...]; may be repeated\n"
            "  --in NAME=PATH     input NAME of FN from a .npy file; one for each input (profile:\n"
            "                     inputs not given are drawn from the seed)\n"
            "  --out PATHS        run: a .npy file for each output, comma-separated;\n"
            "                     params: the .safetensors file to write\n"
            "  --seed S           the seed of the params' initialisers and the batches (default 0)\n"
            "  --params CKPT      load every param from a .safetensors file (as `params` or `train` writes)\n"
            "  --steps N          train: the step to stop at, counted from the start of training;\n"
            "                     profile: the calls or steps to time (default 10)\n"
            "  --train NAME       the train block (needed when there are several)\n"
            "  --data FILE        token windows from an llm.c or raw uint16 token file, or\n"
            "  --data NAME=FILE   rows of a .npy for input NAME, one for each input\n"
            "  --sequential       consecutive batches from a cursor instead of random ones\n"
            "  --val ...          validation data, as --data; its mean loss is logged as val_loss\n"
            "  --val-every K      validate every K steps (default: at the end only)\n"
            "  --val-batches M    batches per validation (default 8)\n"
            "  --log FILE         metrics, one JSON object a line (CSV when FILE ends in .csv)\n"
            "  --log-every K      log and print progress every K steps (default 1)\n"
            "  --ckpt CKPT        save the training state to CKPT at the end (and every K steps\n"
            "  --ckpt-every K     with --ckpt-every)\n"
            "  --resume CKPT      continue from a checkpoint `train` wrote\n"
            "  --device DEV       run, params, train, profile: auto (the GPU when there is one; the\n"
            "                     default), cpu or cuda\n"
            "  --allow-tf32       on the GPU, f32 contractions may use TF32 tensor cores (not exact f32)\n"
            "  --peak-of NAME     train: report MFU against this GPU's peak (runtime/td_devices.h)\n"
            "  --peak FLOPS       train: report MFU against this peak FLOP/s (as 312e12 or 312T)\n"
            "\n"
            "functions: %s\n"
            "train blocks: %s\n"
            "exit status: 0 done, 1 the program failed, 2 bad input, 130 interrupted\n",
            c->prog, fns.buf, trains.len ? trains.buf : "none");
}

/* ---- info ---- */

static void print_dims(const cli *c, const bindings *b)
{
    int width = 0;
    for (int d = 0; d < c->desc->ndims; d++)
        if ((int)strlen(c->desc->dims[d].name) > width)
            width = (int)strlen(c->desc->dims[d].name);
    printf("dims\n");
    for (int d = 0; d < c->desc->ndims; d++) {
        const char *name = c->desc->dims[d].name;
        if (c->desc->dims[d].value > 0)
            printf("  %-*s  = %lld\n", width, name, (long long)c->desc->dims[d].value);
        else if (b->value[d] > 0)
            printf("  %-*s  = %lld (bound at run time, from --dims)\n", width, name, (long long)b->value[d]);
        else
            printf("  %-*s  bound at run time\n", width, name);
    }
    if (c->desc->ndims == 0)
        printf("  (none)\n");
}

/* A param's resolved shape and bytes (`[4, 2]`, `32 B`), or `needs batch,
 * seq` in `shape` while dims of the shape are unbound. */
static void param_size_text(text *shape, text *bytes, const cli *c, const td_tensor_desc *p, const bindings *b)
{
    bool first = true;
    for (int d = 0; d < c->desc->ndims; d++) {
        bool used = false;
        for (int a = 0; a < p->rank; a++)
            for (int i = 0; i < p->shape[a].nfactors; i++)
                used = used || p->shape[a].factor_dim[i] == d;
        if (used && b->value[d] == 0)
            cli_text_add(shape, "%s%s", first ? "needs " : ", ", c->desc->dims[d].name), first = false;
    }
    if (!first)
        return;
    int64_t dims[TD_MAX_RANK];
    size_t n;
    if (!cli_eval_shape(p, b->value, dims, &n)) {
        cli_text_add(shape, "(the size overflows)");
        return;
    }
    shape_text(shape, p->rank, dims);
    bytes_text(bytes, n);
}

/* One line per param in aligned columns: name, type, shape, bytes. */
static void print_params(const cli *c, const bindings *b)
{
    int width[3] = {0, 0, 0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            printf("params\n");
        for (int i = 0; i < c->desc->nparams; i++) {
            const td_tensor_desc *p = &c->desc->params[i];
            text type = {{0}, 0}, shape = {{0}, 0}, bytes = {{0}, 0};
            cli_type_text(&type, p, c->desc);
            param_size_text(&shape, &bytes, c, p, b);
            int len[3] = {(int)strlen(p->name), (int)type.len, (int)shape.len};
            for (int k = 0; pass == 0 && k < 3; k++)
                width[k] = len[k] > width[k] ? len[k] : width[k];
            if (pass == 1 && bytes.len)
                printf("  %-*s  %-*s  %-*s  %s\n", width[0], p->name, width[1], type.buf, width[2], shape.buf, bytes.buf);
            else if (pass == 1)
                printf("  %-*s  %-*s  %s\n", width[0], p->name, width[1], type.buf, shape.buf);
        }
    }
    if (c->desc->nparams == 0)
        printf("  (none)\n");
}

/* `forward(x: f32["batch hidden"]) -> f32["batch 2"]`; several results in
 * parentheses, none without the arrow, as the language writes them. */
static void signature_text(text *t, const td_fn_desc *f, const td_model_desc *d)
{
    cli_text_add(t, "%s(", f->name);
    for (int i = 0; i < f->ninputs; i++) {
        cli_text_add(t, "%s%s: ", i ? ", " : "", f->inputs[i].name);
        cli_type_text(t, &f->inputs[i], d);
    }
    cli_text_add(t, ")");
    if (f->noutputs > 0)
        cli_text_add(t, f->noutputs > 1 ? " -> (" : " -> ");
    for (int i = 0; i < f->noutputs; i++) {
        cli_text_add(t, "%s", i ? ", " : "");
        cli_type_text(t, &f->outputs[i], d);
    }
    if (f->noutputs > 1)
        cli_text_add(t, ")");
}

/* `    flops      4800 a call (4.80 kFLOP), 2 operations`, or for a train
 * step `1116 a step (1.12 kFLOP): grad 1068, optimizer 48; 7 operations`:
 * the sums of the cost description's operations under the bound dims.
 * Nothing when the program was compiled without accounting (or the dims
 * are not all bound); false when out of memory. */
static bool print_flops(const td_cost_desc *cost, int ntrained, const int64_t *dims, bool train)
{
    if (!dims || cli_cost_problem(cost, ntrained))
        return true;
    cli_costs k;
    if (!cli_costs_eval(cost, dims, &k))
        return false;
    text t = {{0}, 0};
    cli_count_text(&t, k.total_flops);
    cli_text_add(&t, train ? " a step" : " a call");
    if (k.total_flops >= 1000) {
        cli_text_add(&t, " (");
        cli_rate_text(&t, k.total_flops, "FLOP");
        cli_text_add(&t, ")");
    }
    if (train) {
        double optimizer = 0;
        for (int i = k.nops - ntrained; i < k.nops; i++)
            optimizer += k.flops[i];
        cli_text_add(&t, ": grad ");
        cli_count_text(&t, k.total_flops - optimizer);
        cli_text_add(&t, ", optimizer ");
        cli_count_text(&t, optimizer);
        cli_text_add(&t, ";");
    } else {
        cli_text_add(&t, ",");
    }
    printf("    flops      %s %d %s\n", t.buf, k.nops, cli_plural(k.nops, "operation", "operations"));
    cli_costs_free(&k);
    return true;
}

/* `dims` NULL while some dim is unbound. */
static bool print_fns(const cli *c, const int64_t *dims)
{
    bool ok = true;
    printf("functions\n");
    for (int i = 0; i < c->desc->nfns; i++) {
        text sig = {{0}, 0};
        signature_text(&sig, &c->desc->fns[i], c->desc);
        printf("  %s\n", sig.buf);
        ok = print_flops(c->desc->fns[i].cost, 0, dims, false) && ok;
    }
    if (c->desc->nfns == 0)
        printf("  (none)\n");
    return ok;
}

/* ---- train blocks: how their inputs are fed, and their description ---- */

static bool same_size(const td_size_expr *a, const td_size_expr *b)
{
    if (a->num != b->num || a->den != b->den || a->nfactors != b->nfactors)
        return false;
    for (int i = 0; i < a->nfactors && i < TD_SIZE_MAX_FACTORS; i++)
        if (a->factor_dim[i] != b->factor_dim[i] || a->factor_exp[i] != b->factor_exp[i])
            return false;
    return true;
}

/* Token windows when the inputs are exactly two integer tensors of one
 * dtype and one shape [B, T] (x and y = x shifted by one token); rows of a
 * .npy per input otherwise; nothing without inputs. */
feed_kind cli_feed_of(const td_train_desc *t)
{
    if (t->ninputs == 0)
        return FEED_NONE;
    const td_tensor_desc *x = &t->inputs[0], *y = &t->inputs[t->ninputs > 1 ? 1 : 0];
    bool tokens = t->ninputs == 2 && x->rank == 2 && y->rank == 2 && x->dtype == y->dtype &&
                  (x->dtype == TD_I32 || x->dtype == TD_I64 || x->dtype == TD_U16) && same_size(&x->shape[0], &y->shape[0]) &&
                  same_size(&x->shape[1], &y->shape[1]);
    return tokens ? FEED_TOKENS : FEED_ROWS;
}

static const char *optim_name(td_optim_kind kind)
{
    static const char *const NAMES[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
    return (unsigned)kind < sizeof NAMES / sizeof NAMES[0] ? NAMES[kind] : "unknown";
}

/* `adamw(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01)`: the
 * hyper-parameters each optimizer reads, as torch names them. */
static void optim_text(text *t, const td_optim_hparams *h)
{
    cli_text_add(t, "%s(lr=%g", optim_name(h->kind), h->lr);
    switch (h->kind) {
    case TD_OPTIM_SGD:
        cli_text_add(t, ", momentum=%g, dampening=%g, weight_decay=%g%s)", h->momentum, h->dampening, h->weight_decay,
                     h->nesterov ? ", nesterov" : "");
        break;
    case TD_OPTIM_ADAGRAD:
        cli_text_add(t, ", lr_decay=%g, weight_decay=%g, initial_accumulator_value=%g, eps=%g)", h->lr_decay,
                     h->weight_decay, h->initial_accumulator_value, h->eps);
        break;
    case TD_OPTIM_RMSPROP:
        cli_text_add(t, ", alpha=%g, eps=%g, weight_decay=%g, momentum=%g%s)", h->alpha, h->eps, h->weight_decay,
                     h->momentum, h->centered ? ", centered" : "");
        break;
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW:
        cli_text_add(t, ", betas=(%g, %g), eps=%g, weight_decay=%g%s)", h->beta1, h->beta2, h->eps, h->weight_decay,
                     h->amsgrad ? ", amsgrad" : "");
        break;
    default:
        cli_text_add(t, ")");
    }
}

/* `cosine(warmup=100, total=5000, min_lr=0.0001)`; `constant` alone. */
static void schedule_text(text *t, const td_schedule *s)
{
    switch (s->kind) {
    case TD_LR_CONSTANT:
        cli_text_add(t, s->warmup ? "constant(warmup=%lld)" : "constant", (long long)s->warmup);
        break;
    case TD_LR_COSINE:
    case TD_LR_LINEAR:
        cli_text_add(t, "%s(warmup=%lld, total=%lld, min_lr=%g)", s->kind == TD_LR_COSINE ? "cosine" : "linear",
                     (long long)s->warmup, (long long)s->total, s->min_lr);
        break;
    case TD_LR_STEP:
        cli_text_add(t, "step(warmup=%lld, step_size=%lld, gamma=%g)", (long long)s->warmup, (long long)s->step_size,
                     s->gamma);
        break;
    default:
        cli_text_add(t, "unknown");
    }
}

static void feed_text(text *t, const td_train_desc *tr)
{
    switch (cli_feed_of(tr)) {
    case FEED_NONE: cli_text_add(t, "none"); break;
    case FEED_TOKENS:
        cli_text_add(t, "--data FILE (token windows: %s and %s, shifted by one)", tr->inputs[0].name, tr->inputs[1].name);
        break;
    case FEED_ROWS:
        for (int k = 0; k < tr->ninputs; k++)
            cli_text_add(t, "%s--data %s=FILE.npy", k ? " " : "", tr->inputs[k].name);
        cli_text_add(t, " (rows)");
    }
}

/* `w, b; no weight decay: b; not trained: c` */
static void trained_text(text *t, const td_train_desc *tr, const td_model_desc *d)
{
    const char *const heads[3] = {"", "; no weight decay: ", "; not trained: "};
    for (int part = 0; part < 3; part++) {
        bool first = true;
        for (int i = 0; i < d->nparams; i++) {
            bool in = part == 0 ? tr->trained[i] : part == 1 ? tr->trained[i] && !tr->decay[i] : !tr->trained[i];
            if (in)
                cli_text_add(t, "%s%s", first ? heads[part] : ", ", d->params[i].name), first = false;
        }
        if (part == 0 && first)
            cli_text_add(t, "none");
    }
}

static bool print_trains(const cli *c, const int64_t *dims)
{
    bool ok = true;
    if (c->desc->ntrains == 0)
        return ok;
    printf("train blocks\n");
    for (int k = 0; k < c->desc->ntrains; k++) {
        const td_train_desc *tr = &c->desc->trains[k];
        td_fn_desc as_fn = {tr->name, tr->ninputs, 0, tr->inputs, NULL, NULL, NULL, NULL, NULL};
        text sig = {{0}, 0}, feed = {{0}, 0}, optim = {{0}, 0}, sched = {{0}, 0}, params = {{0}, 0};
        signature_text(&sig, &as_fn, c->desc);
        feed_text(&feed, tr);
        optim_text(&optim, &tr->optim);
        schedule_text(&sched, &tr->schedule);
        if (tr->trained && tr->decay)
            trained_text(&params, tr, c->desc);
        printf("  %s\n    data       %s\n    optimizer  %s\n    schedule   %s\n", sig.buf, feed.buf, optim.buf,
               sched.buf);
        if (tr->clip > 0)
            printf("    clip       %g (max gradient norm)\n", tr->clip);
        else
            printf("    clip       none\n");
        printf("    params     %s\n", params.buf);
        if (tr->trained)
            ok = print_flops(tr->cost, cli_trained_count(c->desc, tr), dims, true) && ok;
    }
    return ok;
}

static void print_plan(const cli *c, const bindings *b, const size_t *regions, bool planned)
{
    static const char *const LABELS[TD_REGION_COUNT] = {"params", "workspace", "grads", "optimizer"};
    printf("memory plan\n");
    if (!planned) {
        text flags = {{0}, 0};
        for (int d = 0; d < c->desc->ndims; d++)
            if (b->value[d] == 0)
                cli_text_add(&flags, "%s%s=N", flags.len ? "," : "", c->desc->dims[d].name);
        printf("  needs --dims %s\n", flags.buf);
        return;
    }
    size_t total = 0;
    bool total_fits = true;
    for (int r = 0; r < TD_REGION_COUNT; r++) {
        text t = {{0}, 0};
        bytes_text(&t, regions[r]);
        printf("  %-9s  %s\n", LABELS[r], t.buf);
        total_fits = total_fits && td_add_size(total, regions[r], &total);
    }
    text t = {{0}, 0};
    bytes_text(&t, total);
    printf("  %-9s  %s\n", "total", total_fits ? t.buf : "(overflows)");
    if (!c->desc->cuda_source)
        return;
    /* on the GPU: the regions again, in device memory, with the staging
     * buffer and the scratch (runtime/model.c) */
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    size_t stage = 0, copies = 0, device = 0;
    bool fits = ctx && td_model_stage_bytes(ctx, c->desc, b->value, &stage) == TD_OK &&
                td_model_copy_bytes(ctx, c->desc, b->value, NULL, &copies) == TD_OK && total_fits &&
                td_add_size(total, stage, &device) && td_add_size(device, copies, &device) &&
                td_add_size(device, TD_SCRATCH_BYTES, &device);
    td_ctx_free(ctx);
    text s = {{0}, 0}, k = {{0}, 0}, d = {{0}, 0}, n = {{0}, 0};
    bytes_text(&s, stage);
    bytes_text(&k, TD_SCRATCH_BYTES);
    bytes_text(&d, device);
    bytes_text(&n, copies);
    printf("on the GPU (one cuMemAlloc each): the regions above, and\n");
    printf("  %-9s  %s\n", "staging", fits ? s.buf : "(overflows)");
    if (copies > 0) /* the params the kernels read cast (td_model_desc.cuda_read_dtypes) */
        printf("  %-9s  %s (the params the kernels read in a narrower dtype, kept by the optimizer)\n", "copies", n.buf);
    printf("  %-9s  %s\n  %-9s  %s\n", "scratch", k.buf, "device", fits ? d.buf : "(overflows)");
    printf("  (staging is made when inputs first come from host memory; train stages its batches ahead instead,\n"
           "  in two buffers of a batch)\n");
}

/* The gradient and optimizer regions, laid out as td_model_new does
 * (runtime/model.c): the gradients as large as the params; per train
 * block and trained param, its optimizer's state slots at a 64-byte
 * boundary. False when a size overflows. */
static bool training_bytes(const cli *c, const int64_t *dims, size_t *regions)
{
    const td_model_desc *d = c->desc;
    size_t end = 0;
    regions[TD_REGION_GRADS] = d->ntrains > 0 ? regions[TD_REGION_PARAMS] : 0;
    for (int t = 0; t < d->ntrains; t++) {
        int slots = td_optim_state_slots(&d->trains[t].optim);
        for (int i = 0; slots > 0 && d->trains[t].trained && i < d->nparams; i++) {
            int64_t shape[TD_MAX_RANK];
            size_t bytes, state, start;
            if (!d->trains[t].trained[i])
                continue;
            if (!cli_eval_shape(&d->params[i], dims, shape, &bytes) || !td_mul_size(bytes, (size_t)slots, &state))
                return false;
            if (state > 0 && (!td_add_size(end, 63, &start) || !td_add_size(start / 64 * 64, state, &end)))
                return false;
        }
    }
    regions[TD_REGION_OPTIM] = end;
    return true;
}

/* The plan's region sizes, which also runs its run-time checks on the dims. */
static int plan_for_info(const cli *c, const bindings *b, size_t *regions)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    size_t *offsets = calloc(c->desc->nparams > 0 ? (size_t)c->desc->nparams : 1, sizeof *offsets);
    int status = 0;
    if (!ctx || !offsets)
        status = cli_fail(c, 1, "out of memory");
    else if (!c->desc->plan)
        status = cli_fail(c, 2, "model %s has no plan", c->desc->name);
    else {
        td_status st = c->desc->plan(ctx, b->value, regions, offsets);
        if (st != TD_OK)
            status = cli_fail_ctx(c, ctx, st);
        else if (!training_bytes(c, b->value, regions))
            status = cli_fail(c, 2, "model %s: the optimizer state needs more bytes than fit in size_t", c->desc->name);
    }
    free(offsets);
    td_ctx_free(ctx);
    return status;
}

static int cmd_info(const cli *c, const opts *o)
{
    bindings b = {0};
    int status = cli_bindings_new(c->desc, &b) ? cli_parse_all_dims(c, o, &b) : cli_fail(c, 1, "out of memory");
    size_t regions[TD_REGION_COUNT] = {0};
    bool planned = false;
    if (status == 0) {
        planned = true;
        for (int d = 0; d < c->desc->ndims; d++)
            planned = planned && b.value[d] > 0;
        if (planned)
            status = plan_for_info(c, &b, regions);
    }
    if (status == 0) {
        printf("model %s\n", c->desc->name);
        print_dims(c, &b);
        print_params(c, &b);
        const int64_t *dims = planned ? b.value : NULL;
        bool ok = print_fns(c, dims);
        ok = print_trains(c, dims) && ok;
        print_plan(c, &b, regions, planned);
        fflush(stdout);
        if (!ok)
            status = cli_fail(c, 1, "out of memory");
    }
    cli_bindings_free(&b);
    return status;
}

/* ---- run: state ---- */

void *cli_calloc_n(int n, size_t size) { return calloc(n > 0 ? (size_t)n : 1, size); }

bool cli_run_state_new(run_state *s, const td_model_desc *d, const td_fn_desc *fn)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    bool ok = cli_bindings_new(d, &s->b);
    s->ctx = td_ctx_new(TD_DEVICE_CPU);
    s->in_paths = cli_calloc_n(fn->ninputs, sizeof *s->in_paths);
    s->inputs = cli_calloc_n(fn->ninputs, sizeof *s->inputs);
    s->in_data = cli_calloc_n(fn->ninputs, sizeof *s->in_data);
    s->out_shapes = cli_calloc_n(fn->noutputs, TD_MAX_RANK * sizeof *s->out_shapes);
    s->outputs = cli_calloc_n(fn->noutputs, sizeof *s->outputs);
    return ok && s->ctx && s->in_paths && s->inputs && s->in_data && s->out_shapes && s->outputs;
}

void cli_run_state_free(run_state *s)
{
    td_model_free(s->model);
    for (int i = 0; s->inputs && i < s->fn->ninputs; i++)
        td_npy_free(&s->inputs[i]);
    for (int i = 0; s->outputs && i < s->fn->noutputs; i++)
        free(s->outputs[i]);
    free(s->inputs);
    free(s->in_paths);
    free(s->in_data);
    free(s->out_list);
    free(s->out_paths);
    free(s->out_shapes);
    free(s->outputs);
    td_ctx_free(s->ctx);
    cli_bindings_free(&s->b);
}

/* ---- run: options ---- */

int cli_find_fn(const cli *c, const char *cmd, const char *name, const td_fn_desc **fn)
{
    text names = {{0}, 0};
    fn_names(&names, c->desc);
    if (!name)
        return cli_fail(c, 2, "%s needs a function name (functions: %s)", cmd, names.buf);
    for (int i = 0; i < c->desc->nfns; i++)
        if (strcmp(c->desc->fns[i].name, name) == 0) {
            *fn = &c->desc->fns[i];
            return 0;
        }
    return cli_fail(c, 2, "model %s has no function '%s' (functions: %s)", c->desc->name, name, names.buf);
}

/* --out: one path per output, comma-separated. */
static int split_outs(const cli *c, const char *out, run_state *s)
{
    const td_fn_desc *fn = s->fn;
    text names = {{0}, 0};
    cli_tensor_names(&names, fn->outputs, fn->noutputs);
    if (!out)
        return fn->noutputs == 0 ? 0
                                 : cli_fail(c, 2, "run needs --out with %s for %s's %d %s (%s)",
                                            cli_plural(fn->noutputs, "a path", "one path each"), fn->name, fn->noutputs,
                                            cli_plural(fn->noutputs, "output", "outputs"), names.buf);
    int n = 1;
    for (const char *p = out; *p; p++)
        n += *p == ',';
    if (n != fn->noutputs)
        return cli_fail(c, 2, "--out gives %d %s but %s has %d %s (%s)", n, cli_plural(n, "path", "paths"), fn->name,
                        fn->noutputs, cli_plural(fn->noutputs, "output", "outputs"), names.buf);
    if (!(s->out_list = strdup(out)) || !(s->out_paths = cli_calloc_n(n, sizeof *s->out_paths)))
        return cli_fail(c, 1, "out of memory");
    char *p = s->out_list;
    for (int i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (!*p)
            return cli_fail(c, 2, "--out %s: an empty path (output '%s')", out, fn->outputs[i].name);
        s->out_paths[s->nout_paths++] = p;
        p = comma ? comma + 1 : p;
    }
    return 0;
}

/* `FLAG NAME=PATH` for inputs of `owner`: each value names an input, each
 * input at most once; paths[k] gets input k's path. Missing inputs are the
 * caller's to judge. */
int cli_match_named(const cli *c, const char *flag, const opt_list *values, const td_tensor_desc *inputs,
                       int ninputs, const char *owner, const char **paths)
{
    text names = {{0}, 0};
    cli_tensor_names(&names, inputs, ninputs);
    for (int i = 0; i < values->n; i++) {
        const char *arg = values->v[i], *eq = strchr(arg, '=');
        if (!eq || eq == arg)
            return cli_fail(c, 2, "%s %s: give the input's name, as %s NAME=PATH (inputs of %s: %s)", flag, arg, flag, owner,
                            names.buf);
        int k = 0;
        while (k < ninputs &&
               !(strlen(inputs[k].name) == (size_t)(eq - arg) && memcmp(inputs[k].name, arg, (size_t)(eq - arg)) == 0))
            k++;
        if (k == ninputs)
            return cli_fail(c, 2, "%s %s: %s has no input '%.*s' (inputs: %s)", flag, arg, owner, (int)(eq - arg), arg,
                            names.buf);
        if (!eq[1])
            return cli_fail(c, 2, "%s %s: no path after '='", flag, arg);
        if (paths[k])
            return cli_fail(c, 2, "%s: input '%s' is given twice", flag, inputs[k].name);
        paths[k] = eq + 1;
    }
    return 0;
}

/* --in NAME=PATH, each input of fn exactly once. */
static int match_inputs(const cli *c, const opts *o, run_state *s)
{
    const td_fn_desc *fn = s->fn;
    int status = cli_match_named(c, "--in", &o->ins, fn->inputs, fn->ninputs, fn->name, s->in_paths);
    for (int k = 0; !status && k < fn->ninputs; k++)
        if (!s->in_paths[k])
            return cli_fail(c, 2, "input '%s' of %s is missing: give --in %s=PATH", fn->inputs[k].name, fn->name,
                            fn->inputs[k].name);
    return status;
}

/* ---- run: inputs and dims ---- */

/* The run-time dim that an axis of size num/den * d binds, or -1. */
static int binding_dim(const td_model_desc *d, const td_size_expr *e)
{
    if (e->nfactors != 1 || e->factor_exp[0] != 1 || e->num <= 0 || e->den <= 0)
        return -1;
    int dim = e->factor_dim[0];
    return dim >= 0 && dim < d->ndims && d->dims[dim].value == 0 ? dim : -1;
}

static int bind_conflict(const cli *c, int d, int64_t v, const char *input, int axis, const bindings *b)
{
    text old = {{0}, 0};
    source_text(&old, &b->from[d]);
    const char *name = c->desc->dims[d].name;
    if (b->from[d].kind == FROM_DIMS)
        return cli_fail(c, 2, "dim '%s' is %lld from input '%s' (axis %d) but %lld from --dims", name, (long long)v, input,
                        axis, (long long)b->value[d]);
    return cli_fail(c, 2, "dim '%s' is %lld from %s but %lld from input '%s' (axis %d)", name, (long long)b->value[d],
                    old.buf, (long long)v, input, axis);
}

/* Binds d from an axis of extent `ext` whose size is num/den * d. */
static int bind_axis(const cli *c, const td_tensor_desc *x, int axis, int64_t ext, bindings *b, const char *fn)
{
    const td_size_expr *e = &x->shape[axis];
    int d = binding_dim(c->desc, e);
    if (d < 0)
        return 0;
    text type = {{0}, 0}, expr = {{0}, 0};
    cli_type_text(&type, x, c->desc);
    size_text(&expr, e, c->desc);
    int64_t scaled;
    if (__builtin_mul_overflow(ext, e->den, &scaled) || scaled % e->num != 0)
        return cli_fail(c, 2, "input '%s' (axis %d) has size %lld, but %s takes %s, whose axis %d is %s: no whole %s makes it %lld",
                        x->name, axis, (long long)ext, fn, type.buf, axis, expr.buf, c->desc->dims[d].name,
                        (long long)ext);
    int64_t v = scaled / e->num;
    if (v == 0)
        return cli_fail(c, 2, "input '%s' (axis %d) has size 0, which makes dim '%s' 0; dims must be at least 1", x->name,
                        axis, c->desc->dims[d].name);
    if (b->value[d] != 0 && b->value[d] != v)
        return bind_conflict(c, d, v, x->name, axis, b);
    if (b->value[d] == 0)
        b->value[d] = v, b->from[d] = (dim_source){FROM_INPUT, x->name, axis};
    return 0;
}

/* Reads input k, checks its dtype and rank and binds dims from its axes. */
int cli_read_input(const cli *c, run_state *s, int k)
{
    const td_tensor_desc *x = &s->fn->inputs[k];
    td_npy *npy = &s->inputs[k];
    td_status st = td_npy_read(s->ctx, s->in_paths[k], npy);
    if (st != TD_OK)
        return cli_fail_ctx(c, s->ctx, st);
    s->in_data[k] = npy->data;
    text type = {{0}, 0};
    cli_type_text(&type, x, c->desc);
    if (npy->dtype != x->dtype)
        return cli_fail(c, 2, "input '%s' is %s but %s takes %s", x->name, td_dtype_name(npy->dtype), s->fn->name,
                        type.buf);
    if (npy->rank != x->rank)
        return cli_fail(c, 2, "input '%s' has rank %d but %s takes %s (rank %d)", x->name, npy->rank, s->fn->name,
                        type.buf, x->rank);
    for (int a = 0; a < x->rank; a++) {
        int status = bind_axis(c, x, a, npy->shape[a], &s->b, s->fn->name);
        if (status)
            return status;
    }
    return 0;
}

/* ` (batch is 3 from input 'x' (axis 0))`: where the run-time dims of an
 * expression got their values. */
static void sources_text(text *t, const td_size_expr *e, const cli *c, const bindings *b)
{
    bool first = true;
    for (int i = 0; i < e->nfactors; i++) {
        int d = e->factor_dim[i];
        if (d < 0 || d >= c->desc->ndims || c->desc->dims[d].value > 0)
            continue;
        cli_text_add(t, "%s%s is %lld from ", first ? " (" : "; ", c->desc->dims[d].name, (long long)b->value[d]);
        source_text(t, &b->from[d]);
        first = false;
    }
    if (!first)
        cli_text_add(t, ")");
}

/* After binding, every axis of every input must equal its size. */
int cli_check_input_shapes(const cli *c, run_state *s)
{
    for (int k = 0; k < s->fn->ninputs; k++) {
        const td_tensor_desc *x = &s->fn->inputs[k];
        for (int a = 0; a < x->rank; a++) {
            int64_t want = td_size_eval(&x->shape[a], s->b.value), got = s->inputs[k].shape[a];
            if (want == got)
                continue;
            text type = {{0}, 0}, expr = {{0}, 0}, from = {{0}, 0};
            cli_type_text(&type, x, c->desc);
            size_text(&expr, &x->shape[a], c->desc);
            sources_text(&from, &x->shape[a], c, &s->b);
            if (want < 0)
                return cli_fail(c, 2, "input '%s' (axis %d): %s overflows or is not whole for these dims%s", x->name, a,
                                expr.buf, from.buf);
            char value[32];
            snprintf(value, sizeof value, "%lld", (long long)want);
            return cli_fail(c, 2, "input '%s' (axis %d) has size %lld, but %s takes %s, whose axis %d is %s%s%s%s", x->name,
                            a, (long long)got, s->fn->name, type.buf, a, expr.buf, strcmp(value, expr.buf) ? " = " : "",
                            strcmp(value, expr.buf) ? value : "", from.buf);
        }
    }
    return 0;
}

/* ---- run: params, outputs, the call ---- */

/* Every param from a checkpoint: present by name, exact dtype and shape,
 * and nothing else in the file (but optimizer state in a checkpoint that
 * `train` wrote for this program). */
static int check_ckpt_param(const cli *c, const char *path, const td_safetensors *st, int i, const int64_t *dims,
                            const td_st_tensor **found)
{
    const td_tensor_desc *p = &c->desc->params[i];
    const td_st_tensor *t = td_safetensors_find(st, p->name);
    text type = {{0}, 0}, want = {{0}, 0}, got = {{0}, 0};
    cli_type_text(&type, p, c->desc);
    if (!t)
        return cli_fail(c, 2, "%s: no tensor '%s' for param %s: %s", path, p->name, p->name, type.buf);
    if (t->dtype != p->dtype)
        return cli_fail(c, 2, "%s: tensor '%s' is %s but param %s is %s", path, p->name, td_dtype_name(t->dtype), p->name,
                        type.buf);
    int64_t shape[TD_MAX_RANK];
    size_t bytes;
    if (!cli_eval_shape(p, dims, shape, &bytes))
        return cli_fail(c, 2, "param %s: its shape %s overflows for these dims", p->name, type.buf);
    bool same = t->rank == p->rank && t->bytes == bytes;
    for (int a = 0; same && a < p->rank; a++)
        same = t->shape[a] == shape[a];
    shape_text(&want, p->rank, shape);
    shape_text(&got, t->rank, t->shape);
    if (!same)
        return cli_fail(c, 2, "%s: tensor '%s' has shape %s but param %s is %s = %s", path, p->name, got.buf, p->name,
                        type.buf, want.buf);
    *found = t;
    return 0;
}

static int load_params(const cli *c, const char *path, run_state *s)
{
    td_safetensors st;
    td_status status = td_safetensors_read(s->ctx, path, &st);
    int rc = status == TD_OK ? 0 : cli_fail_ctx(c, s->ctx, status);
    for (int i = 0; rc == 0 && i < c->desc->nparams; i++) {
        const td_st_tensor *t = NULL;
        rc = check_ckpt_param(c, path, &st, i, s->model->dims, &t);
        if (rc == 0 && t->bytes)
            memcpy(td_model_param(s->model, i), t->data, t->bytes);
    }
    if (rc == 0 && (status = td_model_sync_device(s->model)) != TD_OK) /* on the GPU: the params loaded */
        rc = cli_fail_ctx(c, s->ctx, status);
    /* A training checkpoint of this program (td_model_save) also holds
     * optimizer state, which `run` has no use for. */
    const char *hash = td_safetensors_meta(&st, "program_hash");
    bool own_training_ckpt = hash && c->desc->program_hash && strcmp(hash, c->desc->program_hash) == 0;
    for (int j = 0; rc == 0 && !own_training_ckpt && j < st.ntensors; j++) {
        int i = 0;
        while (i < c->desc->nparams && strcmp(c->desc->params[i].name, st.tensors[j].name) != 0)
            i++;
        text names = {{0}, 0};
        if (i == c->desc->nparams)
            cli_tensor_names(&names, c->desc->params, c->desc->nparams);
        if (i == c->desc->nparams)
            rc = cli_fail(c, 2, "%s: tensor '%s' is not a param of model %s (params: %s)", path, st.tensors[j].name,
                          c->desc->name, names.buf);
    }
    td_safetensors_free(&st);
    return rc;
}

int cli_alloc_outputs(const cli *c, run_state *s)
{
    for (int i = 0; i < s->fn->noutputs; i++) {
        const td_tensor_desc *y = &s->fn->outputs[i];
        size_t bytes;
        if (!cli_eval_shape(y, s->model->dims, &s->out_shapes[i * TD_MAX_RANK], &bytes)) {
            text type = {{0}, 0};
            cli_type_text(&type, y, c->desc);
            return cli_fail(c, 2, "output '%s' of %s: %s overflows or is not whole for these dims", y->name, s->fn->name,
                            type.buf);
        }
        if (!(s->outputs[i] = calloc(bytes ? bytes : 1, 1)))
            return cli_fail(c, 1, "out of memory: %zu bytes for output '%s' of %s", bytes, y->name, s->fn->name);
    }
    return 0;
}

static int call_and_write(const cli *c, run_state *s)
{
    td_status st = td_model_call(s->model, (int)(s->fn - c->desc->fns), s->in_data, s->outputs);
    if (st != TD_OK) {
        const char *msg = td_ctx_error(s->ctx);
        return cli_fail(c, 1, "%s: %s", s->fn->name, msg ? msg : "failed without a message");
    }
    for (int i = 0; i < s->fn->noutputs; i++) {
        const td_tensor_desc *y = &s->fn->outputs[i];
        st = td_npy_write(s->ctx, s->out_paths[i], y->dtype, y->rank, &s->out_shapes[i * TD_MAX_RANK], s->outputs[i]);
        if (st != TD_OK)
            return cli_fail_ctx(c, s->ctx, st);
    }
    return 0;
}

int cli_new_model(const cli *c, const opts *o, td_ctx *ctx, const int64_t *dims, uint64_t seed, td_model **out)
{
    td_device device = TD_DEVICE_AUTO;
    if (o->device && strcmp(o->device, "cpu") == 0)
        device = TD_DEVICE_CPU;
    else if (o->device && strcmp(o->device, "cuda") == 0)
        device = TD_DEVICE_CUDA;
    else if (o->device && strcmp(o->device, "auto") != 0)
        return cli_fail(c, 2, "--device %s: unknown device (auto, cpu or cuda)", o->device);
    td_ctx_set_device(ctx, device);
    td_cuda_allow_tf32(ctx, o->allow_tf32);
    if (!(*out = td_model_new(ctx, c->desc, dims, seed)))
        return cli_fail_ctx(c, ctx, td_ctx_error_status(ctx));
    if (o->device && device == TD_DEVICE_AUTO && td_ctx_note(ctx))
        fprintf(stderr, "%s: note: %s\n", c->prog, td_ctx_note(ctx));
    return 0;
}

int cli_build_model(const cli *c, const opts *o, run_state *s)
{
    return cli_new_model(c, o, s->ctx, s->b.value, s->seed, &s->model);
}

/* Options first, then files, then the model: each step only if the last
 * succeeded. */
static int cmd_run(const cli *c, const opts *o)
{
    const td_fn_desc *fn = NULL;
    int status = cli_find_fn(c, "run", o->fn, &fn);
    if (status)
        return status;
    run_state s;
    if (!cli_run_state_new(&s, c->desc, fn))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = cli_parse_all_dims(c, o, &s.b);
    if (!status)
        status = cli_parse_seed(c, o->seed, &s.seed);
    if (!status)
        status = split_outs(c, o->out, &s);
    if (!status)
        status = match_inputs(c, o, &s);
    for (int k = 0; !status && k < fn->ninputs; k++)
        status = cli_read_input(c, &s, k);
    if (!status)
        status = cli_need_all_bound(c, &s.b);
    if (!status)
        status = cli_check_input_shapes(c, &s);
    if (!status)
        status = cli_build_model(c, o, &s);
    if (!status && o->params)
        status = load_params(c, o->params, &s);
    if (!status)
        status = cli_alloc_outputs(c, &s);
    if (!status)
        status = call_and_write(c, &s);
    cli_run_state_free(&s);
    return status;
}

/* ---- params ---- */

static int write_checkpoint(const cli *c, td_model *m, const char *path, uint64_t seed)
{
    td_st_tensor *tensors = cli_calloc_n(c->desc->nparams, sizeof *tensors);
    if (!tensors)
        return cli_fail(c, 1, "out of memory");
    int status = 0;
    for (int i = 0; !status && i < c->desc->nparams; i++) {
        const td_tensor_desc *p = &c->desc->params[i];
        td_st_tensor *t = &tensors[i];
        *t = (td_st_tensor){.name = p->name, .dtype = p->dtype, .rank = p->rank, .data = td_model_param(m, i)};
        if (!cli_eval_shape(p, m->dims, t->shape, &t->bytes))
            status = cli_fail(c, 2, "param %s: its shape overflows for these dims", p->name);
    }
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    const char *const keys[] = {"tdc_model", "seed"}, *const values[] = {c->desc->name, seed_text};
    if (!status) {
        td_status st = td_safetensors_write(m->ctx, path, c->desc->nparams, tensors, 2, keys, values);
        if (st != TD_OK)
            status = cli_fail_ctx(c, m->ctx, st);
    }
    free(tensors);
    return status;
}

static int cmd_params(const cli *c, const opts *o)
{
    bindings b = {0};
    uint64_t seed = 0;
    td_ctx *ctx = NULL;
    td_model *m = NULL;
    int status = cli_bindings_new(c->desc, &b) ? 0 : cli_fail(c, 1, "out of memory");
    if (!status)
        status = cli_parse_all_dims(c, o, &b);
    if (!status)
        status = cli_parse_seed(c, o->seed, &seed);
    if (!status && !o->out)
        status = cli_fail(c, 2, "params needs --out PATH (the .safetensors file to write)");
    if (!status)
        status = cli_need_all_bound(c, &b);
    if (!status && !(ctx = td_ctx_new(TD_DEVICE_CPU)))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = cli_new_model(c, o, ctx, b.value, seed, &m);
    if (!status)
        status = write_checkpoint(c, m, o->out, seed);
    td_model_free(m);
    td_ctx_free(ctx);
    cli_bindings_free(&b);
    return status;
}

/* ---- main ---- */

static const char *prog_name(int argc, char **argv, const td_model_desc *desc)
{
    if (argc > 0 && argv && argv[0] && argv[0][0]) {
        const char *slash = strrchr(argv[0], '/');
        return slash && slash[1] ? slash + 1 : argv[0];
    }
    return desc && desc->name ? desc->name : "model";
}

static const struct {
    const char *name;
    unsigned options;
    bool wants_fn;
    int (*run)(const cli *, const opts *);
} COMMANDS[] = {
    {"info", OPT_DIMS, false, cmd_info},
    {"run", OPT_DIMS | OPT_IN | OPT_OUT | OPT_SEED | OPT_PARAMS | OPT_DEVICE | OPT_ALLOW_TF32, true, cmd_run},
    {"params", OPT_DIMS | OPT_OUT | OPT_SEED | OPT_DEVICE, false, cmd_params},
    {"train", OPT_DIMS | OPT_SEED | OPT_STEPS | OPT_TRAIN | OPT_DATA | OPT_SEQUENTIAL | OPT_VAL | OPT_VAL_EVERY |
                  OPT_VAL_BATCHES | OPT_LOG | OPT_LOG_EVERY | OPT_CKPT | OPT_CKPT_EVERY | OPT_RESUME | OPT_DEVICE |
                  OPT_ALLOW_TF32 | OPT_PEAK | OPT_PEAK_OF,
     false, cli_train},
    {"profile", OPT_DIMS | OPT_IN | OPT_SEED | OPT_STEPS | OPT_TRAIN | OPT_DATA | OPT_SEQUENTIAL | OPT_DEVICE |
                    OPT_ALLOW_TF32, true,
     cli_profile},
};

int td_main(const td_model_desc *desc, int argc, char **argv)
{
    cli c = {desc, prog_name(argc, argv, desc)};
    if (!desc)
        return cli_fail(&c, 2, "td_main: no model description");
    if (argc < 2) {
        usage(&c, stderr);
        return 2;
    }
    if (is_help(argv[1])) {
        usage(&c, stdout);
        return 0;
    }
    int k = 0, n = (int)(sizeof COMMANDS / sizeof COMMANDS[0]);
    while (k < n && strcmp(COMMANDS[k].name, argv[1]) != 0)
        k++;
    if (k == n)
        return cli_fail(&c, 2, "unknown command '%s' (commands: info, run, params, train, profile, help)", argv[1]);
    opts o = {0};
    opt_list *lists[] = {&o.dims, &o.ins, &o.data, &o.val};
    bool have_lists = true;
    for (int i = 0; i < 4; i++)
        have_lists = (lists[i]->v = cli_calloc_n(argc, sizeof *lists[i]->v)) != NULL && have_lists;
    int status = have_lists ? parse_opts(&c, argv[1], COMMANDS[k].options, COMMANDS[k].wants_fn, argc, argv, &o)
                            : cli_fail(&c, 1, "out of memory");
    if (status == HELP) {
        usage(&c, stdout);
        status = 0;
    } else if (status == 0) {
        status = COMMANDS[k].run(&c, &o);
    }
    for (int i = 0; i < 4; i++)
        free(lists[i]->v);
    return status;
}
