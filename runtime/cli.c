/* cli.c - td_main, the command line of a compiled model.
 *
 * A program compiled by tdc is `int main(argc, argv) { return
 * td_main(&model_desc, argc, argv); }`; this file is everything behind it:
 * `info` describes the model (dims, params, functions, the memory plan),
 * `run FN` reads each input of FN from a .npy file, binds the run-time dims
 * from the inputs' extents and --dims, builds the model (td_model_new),
 * optionally loads its params from a safetensors checkpoint, calls FN and
 * writes each output to a .npy file, and `params` writes the initialised
 * params as a checkpoint. Options are checked before any file is read, and
 * files before the model is built. Every failure is one line on stderr,
 * `PROG: error: MESSAGE`, through fail(); bad input (flags, numbers, files,
 * dtypes, shapes, the plan's run-time checks) exits 2, a failure inside the
 * function or running out of memory exits 1. Each command owns its
 * allocations in one struct freed on every path. docs/RUNTIME.md "Compiled
 * models and the command line" is the user's description. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

enum { MSG_BYTES = 8192, TEXT_BYTES = 2048, HELP = -1 };

typedef struct cli {
    const td_model_desc *desc;
    const char *prog; /* argv[0]'s basename, the prefix of every error */
} cli;

/* ---- messages and text ---- */

static int fail(const cli *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints `PROG: error: MESSAGE` on one line and returns `status`. */
static int fail(const cli *c, int status, const char *fmt, ...)
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

static int fail_ctx(const cli *c, const td_ctx *ctx, td_status st)
{
    const char *msg = td_ctx_error(ctx);
    return fail(c, exit_status(st), "%s", msg ? msg : "failed without a message");
}

/* A string built piece by piece; it is cut, never overrun, when full. */
typedef struct text {
    char buf[TEXT_BYTES];
    size_t len;
} text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
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
        text_add(t, "%lld", (long long)e->num);
        wrote = true;
    }
    for (int i = 0; i < e->nfactors; i++) {
        int exp = e->factor_exp[i];
        const char *name = dim_name(d, e->factor_dim[i]);
        if (exp <= 0)
            continue;
        if (exp > 3)
            text_add(t, "%s%s**%d", wrote ? "*" : "", name, exp);
        for (int k = 0; exp <= 3 && k < exp; k++)
            text_add(t, "%s%s", wrote || k ? "*" : "", name);
        wrote = true;
    }
    if (e->den != 1)
        text_add(t, "/%lld", (long long)e->den);
    for (int i = 0; i < e->nfactors; i++)
        if (e->factor_exp[i] < 0)
            text_add(t, e->factor_exp[i] < -1 ? "/%s**%d" : "/%s", dim_name(d, e->factor_dim[i]), -e->factor_exp[i]);
}

/* `f32["batch hidden"]`, or `f32` for a scalar. */
static void type_text(text *t, const td_tensor_desc *x, const td_model_desc *d)
{
    text_add(t, "%s", td_dtype_name(x->dtype));
    if (x->rank == 0)
        return;
    if (x->shape_text) {
        text_add(t, "[\"%s\"]", x->shape_text);
        return;
    }
    text_add(t, "[\"");
    for (int a = 0; a < x->rank; a++) {
        if (a)
            text_add(t, " ");
        size_text(t, &x->shape[a], d);
    }
    text_add(t, "\"]");
}

static void shape_text(text *t, int rank, const int64_t *shape)
{
    text_add(t, "[");
    for (int a = 0; a < rank; a++)
        text_add(t, "%s%lld", a ? ", " : "", (long long)shape[a]);
    text_add(t, "]");
}

/* `1536 B (1.50 KiB)`; plain bytes below 1 KiB. */
static void bytes_text(text *t, size_t bytes)
{
    static const char *const UNITS[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    text_add(t, "%zu B", bytes);
    if (bytes < 1024)
        return;
    double v = (double)bytes / 1024;
    int u = 0;
    while (v >= 1024 && u < 5)
        v /= 1024, u++;
    text_add(t, " (%.2f %s)", v, UNITS[u]);
}

static void tensor_names(text *t, const td_tensor_desc *x, int n)
{
    for (int i = 0; i < n; i++)
        text_add(t, "%s%s", i ? ", " : "", x[i].name);
    if (n == 0)
        text_add(t, "none");
}

static void dim_names(text *t, const td_model_desc *d)
{
    for (int i = 0; i < d->ndims; i++)
        text_add(t, "%s%s", i ? ", " : "", d->dims[i].name);
    if (d->ndims == 0)
        text_add(t, "none");
}

static void fn_names(text *t, const td_model_desc *d)
{
    for (int i = 0; i < d->nfns; i++)
        text_add(t, "%s%s", i ? ", " : "", d->fns[i].name);
    if (d->nfns == 0)
        text_add(t, "none");
}

static const char *plural(long long n, const char *one, const char *many) { return n == 1 ? one : many; }

/* ---- shapes under bound dims ---- */

/* The shape and bytes of `x` for the dims; false if an axis overflows or
 * is not whole, the rank is over TD_MAX_RANK, or the bytes overflow. */
static bool eval_shape(const td_tensor_desc *x, const int64_t *dims, int64_t shape[TD_MAX_RANK], size_t *bytes)
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

typedef enum { NUM_OK, NUM_EMPTY, NUM_BAD, NUM_NEGATIVE, NUM_TOO_LARGE } num_status;

/* A decimal number of `len` characters, at most `max`. */
static num_status parse_number(const char *s, size_t len, uint64_t max, uint64_t *out)
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

static int parse_seed(const cli *c, const char *s, uint64_t *seed)
{
    *seed = 0;
    if (!s)
        return 0;
    switch (parse_number(s, strlen(s), UINT64_MAX, seed)) {
    case NUM_OK: return 0;
    case NUM_NEGATIVE: return fail(c, 2, "--seed %s: the seed must not be negative", s);
    case NUM_TOO_LARGE: return fail(c, 2, "--seed %s: too large (at most %llu)", s, (unsigned long long)UINT64_MAX);
    default: return fail(c, 2, "--seed %s: not a whole number", s);
    }
}

/* ---- dims and where their values came from ---- */

typedef enum { FROM_NONE, FROM_MODEL, FROM_DIMS, FROM_INPUT } dim_from;

typedef struct dim_source {
    dim_from kind;
    const char *input; /* FROM_INPUT: the input's name and axis */
    int axis;
} dim_source;

typedef struct bindings {
    int64_t *value;   /* per dim; 0 while unbound */
    dim_source *from; /* per dim */
} bindings;

static bool bindings_new(const td_model_desc *d, bindings *b)
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

static void bindings_free(bindings *b)
{
    free(b->value);
    free(b->from);
}

static void source_text(text *t, const dim_source *s)
{
    if (s->kind == FROM_INPUT)
        text_add(t, "input '%s' (axis %d)", s->input, s->axis);
    else
        text_add(t, "%s", s->kind == FROM_DIMS ? "--dims" : "the model");
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
        return fail(c, 2, "--dims: an empty entry (give NAME=N[,NAME=N...])");
    if (!eq)
        return fail(c, 2, "--dims %.*s: give a value, as %.*s=N", ilen, item, ilen, item);
    size_t nlen = (size_t)(eq - item), vlen = len - nlen - 1;
    int d = find_dim(c->desc, item, nlen);
    if (nlen == 0)
        return fail(c, 2, "--dims %.*s: no dim name before '='", ilen, item);
    if (d < 0) {
        text names = {{0}, 0};
        dim_names(&names, c->desc);
        return fail(c, 2, "--dims %.*s: model %s has no dim '%.*s' (dims: %s)", ilen, item, c->desc->name, (int)nlen,
                    item, names.buf);
    }
    const char *name = c->desc->dims[d].name;
    uint64_t v = 0;
    switch (parse_number(eq + 1, vlen, INT64_MAX, &v)) {
    case NUM_OK: break;
    case NUM_EMPTY: return fail(c, 2, "--dims %.*s: no value after '='", ilen, item);
    case NUM_BAD: return fail(c, 2, "--dims %.*s: '%.*s' is not a whole number", ilen, item, (int)vlen, eq + 1);
    case NUM_NEGATIVE: v = 0; break;
    case NUM_TOO_LARGE: return fail(c, 2, "--dims %.*s: too large (at most %lld)", ilen, item, (long long)INT64_MAX);
    }
    if (v == 0)
        return fail(c, 2, "--dims %.*s: dim '%s' must be at least 1", ilen, item, name);
    if (b->from[d].kind == FROM_DIMS)
        return fail(c, 2, "--dims: dim '%s' is given twice", name);
    if (c->desc->dims[d].value > 0 && (int64_t)v != c->desc->dims[d].value)
        return fail(c, 2, "--dims %.*s: dim '%s' is %lld in model %s", ilen, item, name,
                    (long long)c->desc->dims[d].value, c->desc->name);
    b->value[d] = (int64_t)v;
    b->from[d].kind = FROM_DIMS;
    return 0;
}

/* ---- options ---- */

enum { OPT_DIMS = 1, OPT_IN = 2, OPT_OUT = 4, OPT_SEED = 8, OPT_PARAMS = 16 };

static const struct {
    const char *name;
    unsigned kind;
} OPTIONS[] = {
    {"--dims", OPT_DIMS}, {"--in", OPT_IN}, {"--out", OPT_OUT}, {"--seed", OPT_SEED}, {"--params", OPT_PARAMS},
};
enum { NOPTIONS = sizeof OPTIONS / sizeof OPTIONS[0] };

typedef struct opts {
    const char *fn;          /* run: the function */
    const char **dims;       /* each --dims value */
    const char **ins;        /* each --in value */
    int ndims, nins;
    const char *out, *seed, *params;
} opts;

static bool is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static void option_list(text *t, unsigned allowed)
{
    bool first = true;
    for (int k = 0; k < NOPTIONS; k++)
        if (OPTIONS[k].kind & allowed)
            text_add(t, "%s%s", first ? "" : ", ", OPTIONS[k].name), first = false;
}

static int store_option(const cli *c, unsigned kind, const char *value, opts *o)
{
    const char **slot = kind == OPT_OUT ? &o->out : kind == OPT_SEED ? &o->seed : &o->params;
    if (kind == OPT_DIMS)
        o->dims[o->ndims++] = value;
    else if (kind == OPT_IN)
        o->ins[o->nins++] = value;
    else if (*slot)
        return fail(c, 2, "option %s is given twice", kind == OPT_OUT ? "--out" : kind == OPT_SEED ? "--seed" : "--params");
    else
        *slot = value;
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
                return fail(c, 2, "%s: unexpected argument '%s'", cmd, arg);
            o->fn = arg;
            continue;
        }
        size_t nlen = strcspn(arg, "=");
        int k = 0;
        while (k < NOPTIONS && !(strlen(OPTIONS[k].name) == nlen && memcmp(OPTIONS[k].name, arg, nlen) == 0))
            k++;
        if (k == NOPTIONS || !(OPTIONS[k].kind & allowed))
            return fail(c, 2, "%s: unknown option '%.*s' (%s takes %s)", cmd, (int)nlen, arg, cmd,
                        list.len ? list.buf : "no options");
        const char *value = arg[nlen] == '=' ? arg + nlen + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!value || !*value || (arg[nlen] != '=' && strncmp(value, "--", 2) == 0))
            return fail(c, 2, "option %s needs a value", OPTIONS[k].name);
        int status = store_option(c, OPTIONS[k].kind, value, o);
        if (status)
            return status;
    }
    return 0;
}

/* Every --dims, each a comma-separated list of NAME=N. */
static int parse_all_dims(const cli *c, const opts *o, bindings *b)
{
    for (int i = 0; i < o->ndims; i++) {
        const char *p = o->dims[i];
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
static int need_all_bound(const cli *c, const bindings *b)
{
    text names = {{0}, 0}, flags = {{0}, 0};
    int missing = 0;
    for (int d = 0; d < c->desc->ndims; d++) {
        if (b->value[d] > 0)
            continue;
        text_add(&names, "%s'%s'", missing ? ", " : "", c->desc->dims[d].name);
        text_add(&flags, "%s%s=N", missing ? "," : "", c->desc->dims[d].name);
        missing++;
    }
    if (missing == 0)
        return 0;
    return fail(c, 2, "%s %s %s not bound: give --dims %s", plural(missing, "dim", "dims"), names.buf,
                plural(missing, "is", "are"), flags.buf);
}

/* ---- usage ---- */

static void usage(const cli *c, FILE *f)
{
    text fns = {{0}, 0};
    fn_names(&fns, c->desc);
    fprintf(f,
            "usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  info [--dims D]                          describe the dims, params, functions and memory plan\n"
            "  run FN --in NAME=PATH ... --out PATHS    run function FN on .npy inputs, write .npy outputs\n"
            "         [--dims D] [--seed S] [--params CKPT]\n"
            "  params --out CKPT [--dims D] [--seed S]  write the initialised params as safetensors\n"
            "  help                                     print this\n"
            "\n"
            "options:\n"
            "  --dims D        run-time dims, NAME=N[,NAME=N...]; may be repeated\n"
            "  --in NAME=PATH  input NAME of FN from a .npy file; one for each input\n"
            "  --out PATHS     run: a .npy file for each output, comma-separated;\n"
            "                  params: the .safetensors file to write\n"
            "  --seed S        the seed of the params' initialisers (default 0)\n"
            "  --params CKPT   load every param from a .safetensors file (as `params` writes)\n"
            "\n"
            "functions: %s\n"
            "exit status: 0 done, 1 the program failed, 2 bad input\n",
            c->prog, fns.buf);
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
            text_add(shape, "%s%s", first ? "needs " : ", ", c->desc->dims[d].name), first = false;
    }
    if (!first)
        return;
    int64_t dims[TD_MAX_RANK];
    size_t n;
    if (!eval_shape(p, b->value, dims, &n)) {
        text_add(shape, "(the size overflows)");
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
            type_text(&type, p, c->desc);
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
    text_add(t, "%s(", f->name);
    for (int i = 0; i < f->ninputs; i++) {
        text_add(t, "%s%s: ", i ? ", " : "", f->inputs[i].name);
        type_text(t, &f->inputs[i], d);
    }
    text_add(t, ")");
    if (f->noutputs > 0)
        text_add(t, f->noutputs > 1 ? " -> (" : " -> ");
    for (int i = 0; i < f->noutputs; i++) {
        text_add(t, "%s", i ? ", " : "");
        type_text(t, &f->outputs[i], d);
    }
    if (f->noutputs > 1)
        text_add(t, ")");
}

static void print_fns(const cli *c)
{
    printf("functions\n");
    for (int i = 0; i < c->desc->nfns; i++) {
        text sig = {{0}, 0};
        signature_text(&sig, &c->desc->fns[i], c->desc);
        printf("  %s\n", sig.buf);
    }
    if (c->desc->nfns == 0)
        printf("  (none)\n");
}

static void print_plan(const cli *c, const bindings *b, const size_t *regions, bool planned)
{
    static const char *const LABELS[TD_REGION_COUNT] = {"params", "workspace"};
    printf("memory plan\n");
    if (!planned) {
        text flags = {{0}, 0};
        for (int d = 0; d < c->desc->ndims; d++)
            if (b->value[d] == 0)
                text_add(&flags, "%s%s=N", flags.len ? "," : "", c->desc->dims[d].name);
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
}

/* The plan's region sizes, which also runs its run-time checks on the dims. */
static int plan_for_info(const cli *c, const bindings *b, size_t *regions)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    size_t *offsets = calloc(c->desc->nparams > 0 ? (size_t)c->desc->nparams : 1, sizeof *offsets);
    int status = 0;
    if (!ctx || !offsets)
        status = fail(c, 1, "out of memory");
    else if (!c->desc->plan)
        status = fail(c, 2, "model %s has no plan", c->desc->name);
    else {
        td_status st = c->desc->plan(ctx, b->value, regions, offsets);
        if (st != TD_OK)
            status = fail_ctx(c, ctx, st);
    }
    free(offsets);
    td_ctx_free(ctx);
    return status;
}

static int cmd_info(const cli *c, const opts *o)
{
    bindings b = {0};
    int status = bindings_new(c->desc, &b) ? parse_all_dims(c, o, &b) : fail(c, 1, "out of memory");
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
        print_fns(c);
        print_plan(c, &b, regions, planned);
        fflush(stdout);
    }
    bindings_free(&b);
    return status;
}

/* ---- run: state ---- */

typedef struct run_state {
    const td_fn_desc *fn;
    bindings b;
    uint64_t seed;
    td_ctx *ctx;
    const char **in_paths; /* per input of fn, from --in */
    td_npy *inputs;        /* per input */
    const void **in_data;  /* per input */
    char *out_list;        /* a copy of --out, cut at its commas */
    const char **out_paths;
    int nout_paths;
    int64_t *out_shapes;   /* TD_MAX_RANK per output */
    void **outputs;        /* per output */
    td_model *model;
} run_state;

static void *calloc_n(int n, size_t size) { return calloc(n > 0 ? (size_t)n : 1, size); }

static bool run_state_new(run_state *s, const td_model_desc *d, const td_fn_desc *fn)
{
    memset(s, 0, sizeof *s);
    s->fn = fn;
    bool ok = bindings_new(d, &s->b);
    s->ctx = td_ctx_new(TD_DEVICE_CPU);
    s->in_paths = calloc_n(fn->ninputs, sizeof *s->in_paths);
    s->inputs = calloc_n(fn->ninputs, sizeof *s->inputs);
    s->in_data = calloc_n(fn->ninputs, sizeof *s->in_data);
    s->out_shapes = calloc_n(fn->noutputs, TD_MAX_RANK * sizeof *s->out_shapes);
    s->outputs = calloc_n(fn->noutputs, sizeof *s->outputs);
    return ok && s->ctx && s->in_paths && s->inputs && s->in_data && s->out_shapes && s->outputs;
}

static void run_state_free(run_state *s)
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
    bindings_free(&s->b);
}

/* ---- run: options ---- */

static int find_fn(const cli *c, const char *name, const td_fn_desc **fn)
{
    text names = {{0}, 0};
    fn_names(&names, c->desc);
    if (!name)
        return fail(c, 2, "run needs a function name (functions: %s)", names.buf);
    for (int i = 0; i < c->desc->nfns; i++)
        if (strcmp(c->desc->fns[i].name, name) == 0) {
            *fn = &c->desc->fns[i];
            return 0;
        }
    return fail(c, 2, "model %s has no function '%s' (functions: %s)", c->desc->name, name, names.buf);
}

/* --out: one path per output, comma-separated. */
static int split_outs(const cli *c, const char *out, run_state *s)
{
    const td_fn_desc *fn = s->fn;
    text names = {{0}, 0};
    tensor_names(&names, fn->outputs, fn->noutputs);
    if (!out)
        return fn->noutputs == 0 ? 0
                                 : fail(c, 2, "run needs --out with %s for %s's %d %s (%s)",
                                        plural(fn->noutputs, "a path", "one path each"), fn->name, fn->noutputs,
                                        plural(fn->noutputs, "output", "outputs"), names.buf);
    int n = 1;
    for (const char *p = out; *p; p++)
        n += *p == ',';
    if (n != fn->noutputs)
        return fail(c, 2, "--out gives %d %s but %s has %d %s (%s)", n, plural(n, "path", "paths"), fn->name,
                    fn->noutputs, plural(fn->noutputs, "output", "outputs"), names.buf);
    if (!(s->out_list = strdup(out)) || !(s->out_paths = calloc_n(n, sizeof *s->out_paths)))
        return fail(c, 1, "out of memory");
    char *p = s->out_list;
    for (int i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        if (!*p)
            return fail(c, 2, "--out %s: an empty path (output '%s')", out, fn->outputs[i].name);
        s->out_paths[s->nout_paths++] = p;
        p = comma ? comma + 1 : p;
    }
    return 0;
}

/* --in NAME=PATH, each input of fn exactly once. */
static int match_inputs(const cli *c, const opts *o, run_state *s)
{
    const td_fn_desc *fn = s->fn;
    text names = {{0}, 0};
    tensor_names(&names, fn->inputs, fn->ninputs);
    for (int i = 0; i < o->nins; i++) {
        const char *arg = o->ins[i], *eq = strchr(arg, '=');
        if (!eq || eq == arg)
            return fail(c, 2, "--in %s: give the input's name, as --in NAME=PATH (inputs of %s: %s)", arg, fn->name,
                        names.buf);
        int k = 0;
        while (k < fn->ninputs && !(strlen(fn->inputs[k].name) == (size_t)(eq - arg) &&
                                    memcmp(fn->inputs[k].name, arg, (size_t)(eq - arg)) == 0))
            k++;
        if (k == fn->ninputs)
            return fail(c, 2, "--in %s: %s has no input '%.*s' (inputs: %s)", arg, fn->name, (int)(eq - arg), arg,
                        names.buf);
        if (!eq[1])
            return fail(c, 2, "--in %s: no path after '='", arg);
        if (s->in_paths[k])
            return fail(c, 2, "--in: input '%s' is given twice", fn->inputs[k].name);
        s->in_paths[k] = eq + 1;
    }
    for (int k = 0; k < fn->ninputs; k++)
        if (!s->in_paths[k])
            return fail(c, 2, "input '%s' of %s is missing: give --in %s=PATH", fn->inputs[k].name, fn->name,
                        fn->inputs[k].name);
    return 0;
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
        return fail(c, 2, "dim '%s' is %lld from input '%s' (axis %d) but %lld from --dims", name, (long long)v, input,
                    axis, (long long)b->value[d]);
    return fail(c, 2, "dim '%s' is %lld from %s but %lld from input '%s' (axis %d)", name, (long long)b->value[d],
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
    type_text(&type, x, c->desc);
    size_text(&expr, e, c->desc);
    int64_t scaled;
    if (__builtin_mul_overflow(ext, e->den, &scaled) || scaled % e->num != 0)
        return fail(c, 2, "input '%s' (axis %d) has size %lld, but %s takes %s, whose axis %d is %s: no whole %s makes it %lld",
                    x->name, axis, (long long)ext, fn, type.buf, axis, expr.buf, c->desc->dims[d].name,
                    (long long)ext);
    int64_t v = scaled / e->num;
    if (v == 0)
        return fail(c, 2, "input '%s' (axis %d) has size 0, which makes dim '%s' 0; dims must be at least 1", x->name,
                    axis, c->desc->dims[d].name);
    if (b->value[d] != 0 && b->value[d] != v)
        return bind_conflict(c, d, v, x->name, axis, b);
    if (b->value[d] == 0)
        b->value[d] = v, b->from[d] = (dim_source){FROM_INPUT, x->name, axis};
    return 0;
}

/* Reads input k, checks its dtype and rank and binds dims from its axes. */
static int read_input(const cli *c, run_state *s, int k)
{
    const td_tensor_desc *x = &s->fn->inputs[k];
    td_npy *npy = &s->inputs[k];
    td_status st = td_npy_read(s->ctx, s->in_paths[k], npy);
    if (st != TD_OK)
        return fail_ctx(c, s->ctx, st);
    s->in_data[k] = npy->data;
    text type = {{0}, 0};
    type_text(&type, x, c->desc);
    if (npy->dtype != x->dtype)
        return fail(c, 2, "input '%s' is %s but %s takes %s", x->name, td_dtype_name(npy->dtype), s->fn->name,
                    type.buf);
    if (npy->rank != x->rank)
        return fail(c, 2, "input '%s' has rank %d but %s takes %s (rank %d)", x->name, npy->rank, s->fn->name,
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
        text_add(t, "%s%s is %lld from ", first ? " (" : "; ", c->desc->dims[d].name, (long long)b->value[d]);
        source_text(t, &b->from[d]);
        first = false;
    }
    if (!first)
        text_add(t, ")");
}

/* After binding, every axis of every input must equal its size. */
static int check_input_shapes(const cli *c, run_state *s)
{
    for (int k = 0; k < s->fn->ninputs; k++) {
        const td_tensor_desc *x = &s->fn->inputs[k];
        for (int a = 0; a < x->rank; a++) {
            int64_t want = td_size_eval(&x->shape[a], s->b.value), got = s->inputs[k].shape[a];
            if (want == got)
                continue;
            text type = {{0}, 0}, expr = {{0}, 0}, from = {{0}, 0};
            type_text(&type, x, c->desc);
            size_text(&expr, &x->shape[a], c->desc);
            sources_text(&from, &x->shape[a], c, &s->b);
            if (want < 0)
                return fail(c, 2, "input '%s' (axis %d): %s overflows or is not whole for these dims%s", x->name, a,
                            expr.buf, from.buf);
            char value[32];
            snprintf(value, sizeof value, "%lld", (long long)want);
            return fail(c, 2, "input '%s' (axis %d) has size %lld, but %s takes %s, whose axis %d is %s%s%s%s", x->name,
                        a, (long long)got, s->fn->name, type.buf, a, expr.buf, strcmp(value, expr.buf) ? " = " : "",
                        strcmp(value, expr.buf) ? value : "", from.buf);
        }
    }
    return 0;
}

/* ---- run: params, outputs, the call ---- */

/* Every param from a checkpoint: present by name, exact dtype and shape,
 * and nothing else in the file. */
static int check_ckpt_param(const cli *c, const char *path, const td_safetensors *st, int i, const int64_t *dims,
                            const td_st_tensor **found)
{
    const td_tensor_desc *p = &c->desc->params[i];
    const td_st_tensor *t = td_safetensors_find(st, p->name);
    text type = {{0}, 0}, want = {{0}, 0}, got = {{0}, 0};
    type_text(&type, p, c->desc);
    if (!t)
        return fail(c, 2, "%s: no tensor '%s' for param %s: %s", path, p->name, p->name, type.buf);
    if (t->dtype != p->dtype)
        return fail(c, 2, "%s: tensor '%s' is %s but param %s is %s", path, p->name, td_dtype_name(t->dtype), p->name,
                    type.buf);
    int64_t shape[TD_MAX_RANK];
    size_t bytes;
    if (!eval_shape(p, dims, shape, &bytes))
        return fail(c, 2, "param %s: its shape %s overflows for these dims", p->name, type.buf);
    bool same = t->rank == p->rank && t->bytes == bytes;
    for (int a = 0; same && a < p->rank; a++)
        same = t->shape[a] == shape[a];
    shape_text(&want, p->rank, shape);
    shape_text(&got, t->rank, t->shape);
    if (!same)
        return fail(c, 2, "%s: tensor '%s' has shape %s but param %s is %s = %s", path, p->name, got.buf, p->name,
                    type.buf, want.buf);
    *found = t;
    return 0;
}

static int load_params(const cli *c, const char *path, run_state *s)
{
    td_safetensors st;
    td_status status = td_safetensors_read(s->ctx, path, &st);
    int rc = status == TD_OK ? 0 : fail_ctx(c, s->ctx, status);
    for (int i = 0; rc == 0 && i < c->desc->nparams; i++) {
        const td_st_tensor *t = NULL;
        rc = check_ckpt_param(c, path, &st, i, s->model->dims, &t);
        if (rc == 0 && t->bytes)
            memcpy(td_model_param(s->model, i), t->data, t->bytes);
    }
    for (int j = 0; rc == 0 && j < st.ntensors; j++) {
        int i = 0;
        while (i < c->desc->nparams && strcmp(c->desc->params[i].name, st.tensors[j].name) != 0)
            i++;
        text names = {{0}, 0};
        if (i == c->desc->nparams)
            tensor_names(&names, c->desc->params, c->desc->nparams);
        if (i == c->desc->nparams)
            rc = fail(c, 2, "%s: tensor '%s' is not a param of model %s (params: %s)", path, st.tensors[j].name,
                      c->desc->name, names.buf);
    }
    td_safetensors_free(&st);
    return rc;
}

static int alloc_outputs(const cli *c, run_state *s)
{
    for (int i = 0; i < s->fn->noutputs; i++) {
        const td_tensor_desc *y = &s->fn->outputs[i];
        size_t bytes;
        if (!eval_shape(y, s->model->dims, &s->out_shapes[i * TD_MAX_RANK], &bytes)) {
            text type = {{0}, 0};
            type_text(&type, y, c->desc);
            return fail(c, 2, "output '%s' of %s: %s overflows or is not whole for these dims", y->name, s->fn->name,
                        type.buf);
        }
        if (!(s->outputs[i] = calloc(bytes ? bytes : 1, 1)))
            return fail(c, 1, "out of memory: %zu bytes for output '%s' of %s", bytes, y->name, s->fn->name);
    }
    return 0;
}

static int call_and_write(const cli *c, run_state *s)
{
    td_status st = s->fn->call(s->model, s->in_data, s->outputs);
    if (st != TD_OK) {
        const char *msg = td_ctx_error(s->ctx);
        return fail(c, 1, "%s: %s", s->fn->name, msg ? msg : "failed without a message");
    }
    for (int i = 0; i < s->fn->noutputs; i++) {
        const td_tensor_desc *y = &s->fn->outputs[i];
        st = td_npy_write(s->ctx, s->out_paths[i], y->dtype, y->rank, &s->out_shapes[i * TD_MAX_RANK], s->outputs[i]);
        if (st != TD_OK)
            return fail_ctx(c, s->ctx, st);
    }
    return 0;
}

static int build_model(const cli *c, run_state *s)
{
    s->model = td_model_new(s->ctx, c->desc, s->b.value, s->seed);
    return s->model ? 0 : fail_ctx(c, s->ctx, TD_ERR_INPUT);
}

/* Options first, then files, then the model: each step only if the last
 * succeeded. */
static int cmd_run(const cli *c, const opts *o)
{
    const td_fn_desc *fn = NULL;
    int status = find_fn(c, o->fn, &fn);
    if (status)
        return status;
    run_state s;
    if (!run_state_new(&s, c->desc, fn))
        status = fail(c, 1, "out of memory");
    if (!status)
        status = parse_all_dims(c, o, &s.b);
    if (!status)
        status = parse_seed(c, o->seed, &s.seed);
    if (!status)
        status = split_outs(c, o->out, &s);
    if (!status)
        status = match_inputs(c, o, &s);
    for (int k = 0; !status && k < fn->ninputs; k++)
        status = read_input(c, &s, k);
    if (!status)
        status = need_all_bound(c, &s.b);
    if (!status)
        status = check_input_shapes(c, &s);
    if (!status)
        status = build_model(c, &s);
    if (!status && o->params)
        status = load_params(c, o->params, &s);
    if (!status)
        status = alloc_outputs(c, &s);
    if (!status)
        status = call_and_write(c, &s);
    run_state_free(&s);
    return status;
}

/* ---- params ---- */

static int write_checkpoint(const cli *c, td_model *m, const char *path, uint64_t seed)
{
    td_st_tensor *tensors = calloc_n(c->desc->nparams, sizeof *tensors);
    if (!tensors)
        return fail(c, 1, "out of memory");
    int status = 0;
    for (int i = 0; !status && i < c->desc->nparams; i++) {
        const td_tensor_desc *p = &c->desc->params[i];
        td_st_tensor *t = &tensors[i];
        *t = (td_st_tensor){.name = p->name, .dtype = p->dtype, .rank = p->rank, .data = td_model_param(m, i)};
        if (!eval_shape(p, m->dims, t->shape, &t->bytes))
            status = fail(c, 2, "param %s: its shape overflows for these dims", p->name);
    }
    char seed_text[32];
    snprintf(seed_text, sizeof seed_text, "%llu", (unsigned long long)seed);
    const char *const keys[] = {"tdc_model", "seed"}, *const values[] = {c->desc->name, seed_text};
    if (!status) {
        td_status st = td_safetensors_write(m->ctx, path, c->desc->nparams, tensors, 2, keys, values);
        if (st != TD_OK)
            status = fail_ctx(c, m->ctx, st);
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
    int status = bindings_new(c->desc, &b) ? 0 : fail(c, 1, "out of memory");
    if (!status)
        status = parse_all_dims(c, o, &b);
    if (!status)
        status = parse_seed(c, o->seed, &seed);
    if (!status && !o->out)
        status = fail(c, 2, "params needs --out PATH (the .safetensors file to write)");
    if (!status)
        status = need_all_bound(c, &b);
    if (!status && !(ctx = td_ctx_new(TD_DEVICE_CPU)))
        status = fail(c, 1, "out of memory");
    if (!status && !(m = td_model_new(ctx, c->desc, b.value, seed)))
        status = fail_ctx(c, ctx, TD_ERR_INPUT);
    if (!status)
        status = write_checkpoint(c, m, o->out, seed);
    td_model_free(m);
    td_ctx_free(ctx);
    bindings_free(&b);
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
    {"run", OPT_DIMS | OPT_IN | OPT_OUT | OPT_SEED | OPT_PARAMS, true, cmd_run},
    {"params", OPT_DIMS | OPT_OUT | OPT_SEED, false, cmd_params},
};

int td_main(const td_model_desc *desc, int argc, char **argv)
{
    cli c = {desc, prog_name(argc, argv, desc)};
    if (!desc)
        return fail(&c, 2, "td_main: no model description");
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
        return fail(&c, 2, "unknown command '%s' (commands: info, run, params, help)", argv[1]);
    opts o = {.dims = calloc_n(argc, sizeof *o.dims), .ins = calloc_n(argc, sizeof *o.ins)};
    int status = o.dims && o.ins ? parse_opts(&c, argv[1], COMMANDS[k].options, COMMANDS[k].wants_fn, argc, argv, &o)
                                 : fail(&c, 1, "out of memory");
    if (status == HELP) {
        usage(&c, stdout);
        status = 0;
    } else if (status == 0) {
        status = COMMANDS[k].run(&c, &o);
    }
    free(o.dims);
    free(o.ins);
    return status;
}
