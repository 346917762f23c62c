/* cli_accounting.c - what a compiled model's command line measures against
 * what the compiler planned: the FLOPs and bytes of the cost descriptions
 * (td_cost_desc) under the bound dims, the peak FLOP/s that `train` takes
 * its MFU against (--peak, or a row of td_devices.h by --peak-of, in the
 * column of the trained params' dtype), and `MODEL profile`.
 *
 * `profile FN` calls an exported function N times (--steps, default 10)
 * with m->profile set, so the generated code adds each operation's wall
 * time and call count to its row; inputs come from --in as `run` reads
 * them, and those not given are drawn from the seed (floats normal(0, 1),
 * integers uniform in [0, 16), bools 0 or 1, each input in turn from the
 * stream {seed, 0}). `profile --train NAME` lives in cli_train.c, which
 * has the batches. Both end in cli_profile_report's table: one row per
 * operation sorted by time, with its planned FLOPs and bytes a call, its
 * calls, time, share and achieved rates; the totals; and the whole call or
 * step against the sum of the operations. A program compiled without
 * accounting (cost == NULL) cannot be profiled: exit 2. docs/RUNTIME.md
 * "The command line" describes it for users; the FLOPs are counted as
 * `tdc report` counts them (docs/ACCOUNTING.md). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "td_devices.h"

enum { INT_INPUT_RANGE = 16 }; /* drawn integer inputs lie in [0, 16) */

/* ---- cost descriptions ---- */

const char *cli_cost_problem(const td_cost_desc *cost, int ntrained)
{
    if (!cost)
        return "this program was compiled without accounting";
    if (cost->nops < 0 || (cost->nops > 0 && !cost->ops) || !cost->costs)
        return "its cost description is malformed (a negative count, or no operations or costs)";
    if (cost->nops < ntrained)
        return "its cost description has fewer operations than the block trains params";
    return NULL;
}

bool cli_costs_eval(const td_cost_desc *cost, const int64_t *dims, cli_costs *out)
{
    memset(out, 0, sizeof *out);
    out->nops = cost->nops;
    out->flops = cli_calloc_n(cost->nops, sizeof *out->flops);
    out->bytes = cli_calloc_n(cost->nops, sizeof *out->bytes);
    if (!out->flops || !out->bytes) {
        cli_costs_free(out);
        return false;
    }
    cost->costs(dims, out->flops, out->bytes);
    for (int i = 0; i < cost->nops; i++) {
        out->total_flops += out->flops[i];
        out->total_bytes += out->bytes[i];
    }
    return true;
}

void cli_costs_free(cli_costs *k)
{
    free(k->flops);
    free(k->bytes);
    k->flops = k->bytes = NULL;
}

void cli_rate_text(text *t, double value, const char *unit)
{
    static const char PREFIXES[] = "kMGTPEZY";
    if (!isfinite(value) || fabs(value) < 999.5) {
        cli_text_add(t, "%.3g %s", value, unit);
        return;
    }
    int p = -1;
    while (fabs(value) >= 999.995 && p < (int)sizeof PREFIXES - 2)
        value /= 1000, p++;
    cli_text_add(t, "%.2f %c%s", value, PREFIXES[p], unit);
}

void cli_count_text(text *t, double count)
{
    if (count == floor(count) && fabs(count) < 9007199254740992.0) /* 2^53 */
        cli_text_add(t, "%.0f", count);
    else
        cli_text_add(t, "%.4g", count);
}

int cli_trained_count(const td_model_desc *d, const td_train_desc *t)
{
    int n = 0;
    for (int i = 0; t->trained && i < d->nparams; i++)
        n += t->trained[i];
    return n;
}

/* ---- peaks ---- */

/* The column of td_devices.h for a dtype, or -1. */
static int peak_column(td_dtype dtype)
{
    switch (dtype) {
    case TD_F64: return TD_PEAK_FP64;
    case TD_F32: return TD_PEAK_FP32;
    case TD_BF16: return TD_PEAK_BF16;
    case TD_F16: return TD_PEAK_FP16;
    case TD_F8E4M3:
    case TD_F8E5M2: return TD_PEAK_FP8;
    default: return -1;
    }
}

static int device_peak(const cli *c, const char *name, const td_train_desc *t, double *peak)
{
    const td_device_spec *spec = td_device_spec_find(name);
    if (!spec) {
        text names = {{0}, 0};
        for (int i = 0; i < TD_SPEC_COUNT; i++) {
            const td_device_spec *d = td_device_spec_at(i);
            cli_text_add(&names, "%s%.*s", i ? ", " : "", td_device_spec_name_len(d), d->names);
        }
        return cli_fail(c, 2, "--peak-of %s: unknown device (devices: %s)", name, names.buf);
    }
    int first = -1;
    for (int i = 0; first < 0 && i < c->desc->nparams; i++)
        if (t->trained[i])
            first = i;
    if (first < 0)
        return cli_fail(c, 2, "--peak-of %s: train block '%s' trains no param, so no dtype picks the peak: give --peak",
                        name, t->name);
    td_dtype dtype = c->desc->params[first].dtype;
    int column = peak_column(dtype);
    if (column < 0)
        return cli_fail(c, 2, "--peak-of %s: train block '%s' trains %s params, for which the table has no peak: give --peak",
                        name, t->name, td_dtype_name(dtype));
    if (spec->peak[column] <= 0)
        return cli_fail(c, 2, "--peak-of %s: the table has no %s peak for it (train block '%s' trains %s params): give --peak",
                        name, td_peak_name((td_peak)column), t->name, td_dtype_name(dtype));
    *peak = spec->peak[column];
    return 0;
}

double cli_gpu_peak(const cli *c, const td_train_desc *t, const char *cuda_name)
{
    char lower[128];
    size_t n = 0;
    for (; cuda_name && cuda_name[n] && n + 1 < sizeof lower; n++)
        lower[n] = (char)(cuda_name[n] >= 'A' && cuda_name[n] <= 'Z' ? cuda_name[n] - 'A' + 'a' : cuda_name[n]);
    lower[n] = 0;
    /* "NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H200", "NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 4090" */
    const char *row = strstr(lower, "h100") ? (strstr(lower, "pcie") ? "h100-pcie" : "h100-sxm")
                      : strstr(lower, "h200") ? "h200-sxm"
                      : strstr(lower, "a100") ? "a100-sxm"
                      : strstr(lower, "4090") ? "rtx4090"
                                              : NULL;
    const td_device_spec *spec = row ? td_device_spec_find(row) : NULL;
    int first = -1;
    for (int i = 0; first < 0 && i < c->desc->nparams; i++)
        if (t->trained[i])
            first = i;
    int column = first >= 0 ? peak_column(c->desc->params[first].dtype) : -1;
    return spec && column >= 0 && spec->peak[column] > 0 ? spec->peak[column] : 0;
}

/* `312e12`, `312T`, `989.5 T`: a number, then at most one SI prefix. */
static int parse_peak_value(const cli *c, const char *s, double *peak)
{
    static const char PREFIXES[] = "kMGTPE";
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return cli_fail(c, 2, "--peak %s: not a number of FLOP/s (as 312e12 or 312T)", s);
    while (*end == ' ')
        end++;
    const char *prefix = *end ? strchr(PREFIXES, *end == 'K' ? 'k' : *end) : NULL;
    if (*end && (!prefix || end[1]))
        return cli_fail(c, 2, "--peak %s: not a number of FLOP/s (as 312e12 or 312T)", s);
    for (const char *p = PREFIXES; prefix && p <= prefix; p++)
        v *= 1000;
    if (!(v > 0) || !isfinite(v))
        return cli_fail(c, 2, "--peak %s: must be a positive, finite number of FLOP/s", s);
    *peak = v;
    return 0;
}

int cli_parse_peak(const cli *c, const opts *o, const td_train_desc *t, double *peak)
{
    *peak = 0;
    if (!o->peak_of && !o->peak)
        return 0;
    if (cli_cost_problem(t->cost, cli_trained_count(c->desc, t)))
        return cli_fail(c, 2, "%s: train block '%s' was compiled without accounting, so its FLOPs are unknown",
                        o->peak ? "--peak" : "--peak-of", t->name);
    int status = o->peak_of ? device_peak(c, o->peak_of, t, peak) : 0;
    if (!status && o->peak)
        status = parse_peak_value(c, o->peak, peak);
    return status;
}

/* ---- profiles ---- */

bool cli_profile_new(td_profile *p, int nops)
{
    p->nops = nops;
    p->seconds = cli_calloc_n(nops, sizeof *p->seconds);
    p->calls = cli_calloc_n(nops, sizeof *p->calls);
    if (p->seconds && p->calls)
        return true;
    cli_profile_free(p);
    return false;
}

void cli_profile_free(td_profile *p)
{
    free(p->seconds);
    free(p->calls);
    p->seconds = NULL;
    p->calls = NULL;
}

typedef struct ranked {
    double seconds;
    int op;
} ranked;

/* Most time first; ties in the order of the operations. */
static int by_time(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->seconds != y->seconds)
        return x->seconds > y->seconds ? -1 : 1;
    return (x->op > y->op) - (x->op < y->op);
}

/* A rate in units of 1e9, or `-` when nothing was timed. */
static void giga_text(char *buf, size_t size, double amount, double seconds)
{
    if (seconds > 0)
        snprintf(buf, size, "%.3g", amount / seconds / 1e9);
    else
        snprintf(buf, size, "-");
}

static int digits(long long v)
{
    char buf[32];
    return snprintf(buf, sizeof buf, "%lld", v);
}

/* Column widths of the text columns: op, node, line, kind, calls. */
typedef struct widths {
    int op, node, line, kind, calls;
} widths;

static widths column_widths(const td_cost_desc *cost, const td_profile *p)
{
    widths w = {2, 4, 4, 4, 5};
    for (int i = 0; i < cost->nops; i++) {
        const td_op_desc *op = &cost->ops[i];
        int kind = op->kind ? (int)strlen(op->kind) : 1;
        w.op = digits(i) > w.op ? digits(i) : w.op;
        w.node = op->node >= 0 && digits(op->node) + 1 > w.node ? digits(op->node) + 1 : w.node;
        w.line = digits(op->line) > w.line ? digits(op->line) : w.line;
        w.kind = kind > w.kind ? kind : w.kind;
        w.calls = digits(p->calls[i]) > w.calls ? digits(p->calls[i]) : w.calls;
    }
    return w;
}

static void print_row(const widths *w, const td_cost_desc *cost, const cli_costs *k, const td_profile *p, int i,
                      double total)
{
    const td_op_desc *op = &cost->ops[i];
    char node[32], gflops[32], gbytes[32];
    double seconds = p->seconds[i], calls = (double)p->calls[i];
    if (op->node >= 0)
        snprintf(node, sizeof node, "%%%d", op->node);
    else
        snprintf(node, sizeof node, "-");
    giga_text(gflops, sizeof gflops, k->flops[i] * calls, seconds);
    giga_text(gbytes, sizeof gbytes, k->bytes[i] * calls, seconds);
    printf("  %*d  %*s  %*u  %-*s  %10.4g  %10.4g  %*lld  %10.3f  %6.1f  %9s  %9s\n", w->op, i, w->node, node, w->line,
           op->line, w->kind, op->kind ? op->kind : "?", k->flops[i], k->bytes[i], w->calls, (long long)p->calls[i],
           seconds * 1e3, total > 0 ? 100 * seconds / total : 0.0, gflops, gbytes);
}

/* The whole calls or steps against the sum of their operations. */
static void print_whole(const cli_costs *k, int64_t count, double wall, double total, bool train)
{
    text rate = {{0}, 0};
    cli_rate_text(&rate, wall > 0 ? k->total_flops * (double)count / wall : 0, "FLOP/s");
    double rest = wall - total;
    printf("%s %lld in %.3f ms (%.3f ms each, %s)\n", train ? "steps     " : "calls     ", (long long)count, wall * 1e3,
           count > 0 ? wall * 1e3 / (double)count : 0.0, rate.buf);
    printf("operations %.3f ms (%.1f%%); the rest %.3f ms (%.1f%%): %s\n", total * 1e3,
           wall > 0 ? 100 * total / wall : 0.0, rest * 1e3, wall > 0 ? 100 * rest / wall : 0.0,
           train ? "the optimizer's loop outside its updates, the gradient norm and clipping, the batches"
                 : "the function's code outside its operations");
    fflush(stdout);
}

void cli_profile_report(const cli *c, const char *what, const td_cost_desc *cost, const cli_costs *k,
                        const td_profile *p, const int64_t *dims, int64_t count, double wall, bool train)
{
    const td_model_desc *d = c->desc;
    const char *unit = train ? cli_plural(count, "step", "steps") : cli_plural(count, "call", "calls");
    printf("profile of %s: %lld %s", what, (long long)count, unit);
    for (int i = 0; i < d->ndims; i++)
        printf("%s%s = %lld", i ? ", " : " (", d->dims[i].name, (long long)dims[i]);
    printf("%s\n", d->ndims ? ")" : "");
    ranked *order = cli_calloc_n(cost->nops, sizeof *order);
    double total = 0, flops = 0, bytes = 0;
    for (int i = 0; i < cost->nops; i++) {
        total += p->seconds[i];
        flops += k->flops[i] * (double)p->calls[i];
        bytes += k->bytes[i] * (double)p->calls[i];
        if (order)
            order[i] = (ranked){p->seconds[i], i};
    }
    if (order)
        qsort(order, (size_t)cost->nops, sizeof *order, by_time);
    widths w = column_widths(cost, p);
    printf("  %*s  %*s  %*s  %-*s  %10s  %10s  %*s  %10s  %6s  %9s  %9s\n", w.op, "op", w.node, "node", w.line, "line",
           w.kind, "kind", train ? "FLOPs/step" : "FLOPs/call", train ? "bytes/step" : "bytes/call", w.calls, "calls",
           "total ms", "%", "GFLOP/s", "GB/s");
    for (int r = 0; r < cost->nops; r++)
        print_row(&w, cost, k, p, order ? order[r].op : r, total);
    free(order);
    char gflops[32], gbytes[32];
    giga_text(gflops, sizeof gflops, flops, total);
    giga_text(gbytes, sizeof gbytes, bytes, total);
    int label = w.op + w.node + w.line + w.kind + 6;
    printf("  %-*s  %10.4g  %10.4g  %*s  %10.3f  %6.1f  %9s  %9s\n", label, "operations", k->total_flops,
           k->total_bytes, w.calls, "", total * 1e3, total > 0 ? 100.0 : 0.0, gflops, gbytes);
    print_whole(k, count, wall, total, train);
}

/* ---- profile FN ---- */

/* Input k, not given by --in, drawn from *rng under the bound dims. */
static int draw_input(const cli *c, run_state *s, int k, td_rng *rng)
{
    const td_tensor_desc *x = &s->fn->inputs[k];
    td_npy *npy = &s->inputs[k];
    size_t bytes;
    if (!cli_eval_shape(x, s->b.value, npy->shape, &bytes)) {
        text type = {{0}, 0};
        cli_type_text(&type, x, c->desc);
        return cli_fail(c, 2, "input '%s' of %s: %s overflows or is not whole for these dims", x->name, s->fn->name,
                        type.buf);
    }
    size_t n = bytes / td_dtype_size(x->dtype), draw_bytes;
    bool direct = x->dtype == TD_F64 || x->dtype == TD_F32; /* drawn in place; others through f32 draws */
    float *draws = NULL;
    npy->dtype = x->dtype, npy->rank = x->rank, npy->elements = n, npy->bytes = bytes, npy->version = 1;
    npy->data = malloc(bytes ? bytes : 1);
    if (!direct && td_mul_size(n, sizeof *draws, &draw_bytes))
        draws = malloc(draw_bytes ? draw_bytes : 1);
    if (!npy->data || (!direct && !draws)) {
        free(draws);
        return cli_fail(c, 1, "out of memory: %zu bytes for input '%s'", bytes, x->name);
    }
    s->in_data[k] = npy->data;
    bool integer = !td_dtype_is_float(x->dtype);
    td_status st = x->dtype == TD_F64 ? td_rng_normal_f64(s->ctx, rng, npy->data, n)
                   : x->dtype == TD_F32 ? td_rng_normal_f32(s->ctx, rng, npy->data, n)
                   : integer          ? td_rng_uniform_f32(s->ctx, rng, draws, n)
                                      : td_rng_normal_f32(s->ctx, rng, draws, n);
    for (size_t i = 0; st == TD_OK && draws && i < n; i++) {
        int64_t v = (int64_t)(draws[i] * INT_INPUT_RANGE); /* [0, 16) */
        switch (x->dtype) {
        case TD_F16: ((uint16_t *)npy->data)[i] = td_f32_to_f16(draws[i]); break;
        case TD_BF16: ((uint16_t *)npy->data)[i] = td_f32_to_bf16(draws[i]); break;
        case TD_F8E4M3: ((uint8_t *)npy->data)[i] = td_f32_to_f8e4m3(draws[i]); break;
        case TD_F8E5M2: ((uint8_t *)npy->data)[i] = td_f32_to_f8e5m2(draws[i]); break;
        case TD_I64: ((int64_t *)npy->data)[i] = v; break;
        case TD_I32: ((int32_t *)npy->data)[i] = (int32_t)v; break;
        case TD_U16: ((uint16_t *)npy->data)[i] = (uint16_t)v; break;
        default: ((uint8_t *)npy->data)[i] = draws[i] < 0.5f; break; /* bool */
        }
    }
    free(draws);
    return st == TD_OK ? 0 : cli_fail_ctx(c, s->ctx, st);
}

/* N calls of the function with the profile set; a failing call exits 1. */
static int time_calls(const cli *c, run_state *s, int64_t steps, td_profile *p, double *wall)
{
    s->model->profile = p;
    *wall = 0;
    for (int64_t n = 0; n < steps; n++) {
        double start = td_now();
        td_status st = td_model_call(s->model, (int)(s->fn - c->desc->fns), s->in_data, s->outputs);
        *wall += td_now() - start;
        if (st != TD_OK) {
            const char *msg = td_ctx_error(s->ctx);
            s->model->profile = NULL;
            return cli_fail(c, 1, "%s: %s", s->fn->name, msg ? msg : "failed without a message");
        }
    }
    s->model->profile = NULL;
    return 0;
}

static int profile_fn(const cli *c, const opts *o)
{
    const td_fn_desc *fn = NULL;
    int status = cli_find_fn(c, "profile", o->fn, &fn);
    if (status)
        return status;
    const char *problem = cli_cost_problem(fn->cost, 0);
    if (problem && fn->cost)
        return cli_fail(c, 2, "function '%s': %s", fn->name, problem);
    if (problem)
        return cli_fail(c, 2, "%s", problem);
    int64_t steps = 0;
    run_state s;
    td_profile p = {0};
    cli_costs k = {0};
    double wall = 0;
    if (!cli_run_state_new(&s, c->desc, fn))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = cli_parse_count(c, "--steps", o->steps, CLI_PROFILE_STEPS, &steps);
    if (!status)
        status = cli_parse_all_dims(c, o, &s.b);
    if (!status)
        status = cli_parse_seed(c, o->seed, &s.seed);
    if (!status)
        status = cli_match_named(c, "--in", &o->ins, fn->inputs, fn->ninputs, fn->name, s.in_paths);
    for (int i = 0; !status && i < fn->ninputs; i++)
        if (s.in_paths[i])
            status = cli_read_input(c, &s, i);
    if (!status)
        status = cli_need_all_bound(c, &s.b);
    td_rng rng = {s.seed, 0};
    for (int i = 0; !status && i < fn->ninputs; i++)
        if (!s.in_paths[i])
            status = draw_input(c, &s, i, &rng);
    if (!status)
        status = cli_check_input_shapes(c, &s);
    if (!status)
        status = cli_build_model(c, o, &s);
    if (!status)
        status = cli_alloc_outputs(c, &s);
    if (!status && (!cli_costs_eval(fn->cost, s.model->dims, &k) || !cli_profile_new(&p, fn->cost->nops)))
        status = cli_fail(c, 1, "out of memory");
    if (!status)
        status = time_calls(c, &s, steps, &p, &wall);
    if (!status) {
        text what = {{0}, 0};
        cli_text_add(&what, "function %s", fn->name);
        cli_profile_report(c, what.buf, fn->cost, &k, &p, s.model->dims, steps, wall, false);
    }
    cli_profile_free(&p);
    cli_costs_free(&k);
    cli_run_state_free(&s);
    return status;
}

int cli_profile(const cli *c, const opts *o)
{
    const td_model_desc *d = c->desc;
    if (o->fn && o->train)
        return cli_fail(c, 2, "profile takes a function or --train NAME, not both");
    if (o->train)
        return o->ins.n ? cli_fail(c, 2, "--in: profile --train draws its batches from --data")
                        : cli_profile_train(c, o);
    if (o->data.n || o->sequential)
        return cli_fail(c, 2, "%s: profile FN takes its inputs from --in (--data is for profile --train NAME)",
                        o->data.n ? "--data" : "--sequential");
    if (!o->fn) {
        text fns = {{0}, 0}, trains = {{0}, 0};
        for (int i = 0; i < d->nfns; i++)
            cli_text_add(&fns, "%s%s", i ? ", " : "", d->fns[i].name);
        for (int i = 0; i < d->ntrains; i++)
            cli_text_add(&trains, "%s%s", i ? ", " : "", d->trains[i].name);
        return cli_fail(c, 2, "profile needs a function name or --train NAME (functions: %s; train blocks: %s)",
                        fns.len ? fns.buf : "none", trains.len ? trains.buf : "none");
    }
    return profile_fn(c, o);
}
