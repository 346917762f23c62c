/* estimate.c - `tdc estimate`: the napkin math of training, printed with its
 * arithmetic so that a reader can redo it by hand.
 *
 * It takes the arguments after `estimate` (and, for `tdc estimate FILE.td`,
 * the FLOPs and bytes the compiler counted in the program) and prints a
 * report: the FLOPs (6ND, or the program's own), the cluster's throughput
 * at the given MFU and the time that makes; or the bytes each parameter
 * costs in training and the largest model that fits. The device peaks come
 * from runtime/td_devices.h, the one table the runtime's MFU also uses.
 * Nothing here reads a file or keeps state; a bad command line is one
 * `tdc: error:` line and exit status 2 (estimate.h). */
#include "estimate.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_devices.h"

/* ---- the one error printer ---- */

static int estimate_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints `tdc: error: MESSAGE` on one line and returns status. */
static int estimate_fail(int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tdc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return status;
}

#define estimate_error(...) estimate_fail(2, __VA_ARGS__)

/* ---- numbers as the report prints them ---- */

typedef struct Num {
    char s[96];
} Num;

static Num num_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The one way a Num is written: a report's numbers are short, and one
 * that is not is cut rather than overflowing. */
static Num num_printf(const char *fmt, ...)
{
    Num n;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n.s, sizeof n.s, fmt, ap);
    va_end(ap);
    return n;
}

/* x to sig significant figures: plainly between 1e-3 and 1e4 (0.162, 143.9,
 * 7200), otherwise as 6.30e24 (no '+', no leading zeros in the exponent). */
static Num num_sig(double x, int sig)
{
    double ax = fabs(x);
    if (x == 0)
        return num_printf("0");
    if (ax >= 1e-3 && ax < 1e4) {
        int decimals = sig - 1 - (int)floor(log10(ax));
        return num_printf("%.*f", decimals > 0 ? decimals : 0, x);
    }
    char mantissa[64];
    snprintf(mantissa, sizeof mantissa, "%.*e", sig - 1, x);
    char *e = strchr(mantissa, 'e');
    int exponent = atoi(e + 1);
    *e = 0;
    return num_printf("%se%d", mantissa, exponent);
}

/* A number the user gave, as short as it can be and still read back the
 * same: whole numbers under a million as they are (1024), others with at
 * least two figures (7.0e10, 1.5e13, 1.75e11). */
static Num num_given(double x)
{
    if (x == floor(x) && fabs(x) < 1e6)
        return num_printf("%.0f", x);
    int sig = 2;
    for (; sig < 17; sig++) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*e", sig - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    if (fabs(x) >= 1e-3 && fabs(x) < 1e6)
        return num_printf("%.*g", sig, x);
    return num_sig(x, sig);
}

/* A count the report computed (steps): whole under a billion (1220704),
 * else to three figures. */
static Num num_count(double x)
{
    return x < 1e9 ? num_printf("%.0f", x) : num_sig(x, 3);
}

/* One GPU's FLOP/s: 989.5 TFLOP/s. */
static Num num_rate(double flops)
{
    if (flops >= 1e12)
        return num_printf("%.6g TFLOP/s", flops / 1e12);
    if (flops >= 1e9)
        return num_printf("%.6g GFLOP/s", flops / 1e9);
    return num_printf("%.6g FLOP/s", flops);
}

/* Bytes in decimal units, as datasheets count them: 80 GB, 1.229 GB. */
static Num num_bytes(double bytes)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1e15, "PB"}, {1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (bytes >= units[i].scale)
            return num_printf("%.4g %s", bytes / units[i].scale, units[i].unit);
    return num_printf("%.0f bytes", bytes);
}

/* A parameter count in words: 40.0 billion. */
static Num num_words(double count)
{
    static const struct {
        double scale;
        const char *word;
    } words[] = {{1e12, "trillion"}, {1e9, "billion"}, {1e6, "million"}, {1e3, "thousand"}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (count >= words[i].scale)
            return num_printf("%.1f %s", count / words[i].scale, words[i].word);
    return num_printf("%.0f", count);
}

/* A time: 162 ms, 41.3 s, or the seconds and a larger unit (1.24e7 s =
 * 143.9 days; past two years, years). */
static Num num_duration(double s)
{
    static const struct {
        double below, unit;
        const char *name;
    } units[] = {{7200, 60, "minutes"}, {2 * 86400, 3600, "hours"}, {2 * 365.25 * 86400, 86400, "days"}};
    if (s < 1e-3)
        return num_printf("%s us", num_sig(s * 1e6, 3).s);
    if (s < 1)
        return num_printf("%s ms", num_sig(s * 1e3, 3).s);
    if (s < 120)
        return num_printf("%s s", num_sig(s, 3).s);
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (s < units[i].below)
            return num_printf("%s s = %.1f %s", num_sig(s, 3).s, s / units[i].unit, units[i].name);
    return num_printf("%s s = %s years", num_sig(s, 3).s, num_sig(s / (365.25 * 86400), 3).s);
}

/* ---- what a parameter costs: dtypes and optimizers ---- */

/* Columns: --dtype name, bytes of a parameter (a gradient has the same),
 * bytes of its f32 master copy, bytes of one optimizer state element, the
 * device peak its matrix products run at, the storage of the parameters
 * and of the optimizer state. The -mixed rows are the usual mixed-precision
 * accounting (ZeRO, Rajbhandari et al. 2020): 16-bit parameters and
 * gradients, f32 master weights, f32 optimizer state. */
#define ESTIMATE_DTYPES(X)                                               \
    X("f64", 8, 0, 8, TD_PEAK_FP64, "f64", "f64")                        \
    X("f32", 4, 0, 4, TD_PEAK_FP32, "f32", "f32")                        \
    X("tf32", 4, 0, 4, TD_PEAK_TF32, "f32", "f32")                       \
    X("bf16", 2, 0, 2, TD_PEAK_BF16, "bf16", "bf16")                     \
    X("f16", 2, 0, 2, TD_PEAK_FP16, "f16", "f16")                        \
    X("bf16-mixed", 2, 4, 4, TD_PEAK_BF16, "bf16", "f32")                \
    X("f16-mixed", 2, 4, 4, TD_PEAK_FP16, "f16", "f32")

typedef struct DtypeRule {
    const char *name;
    int param_bytes, master_bytes, state_bytes;
    td_peak peak;
    const char *storage, *state_storage;
} DtypeRule;

static const DtypeRule dtype_rules[] = {
#define X(name, param, master, state, peak, storage, state_storage) {name, param, master, state, peak, storage, state_storage},
    ESTIMATE_DTYPES(X)
#undef X
};

#define DEFAULT_DTYPE "bf16-mixed"

/* Columns: --optimizer name, its name in print, optimizer state elements
 * per parameter (as torch.optim keeps them), what they are; whether
 * --momentum adds one (a momentum buffer) and what they are then. */
#define ESTIMATE_OPTIMIZERS(X)                                                                       \
    X("sgd", "SGD", 0, "none", true, "the momentum buffer")                                          \
    X("adam", "Adam", 2, "m and v", false, "")                                                       \
    X("adamw", "AdamW", 2, "m and v", false, "")                                                     \
    X("adagrad", "Adagrad", 1, "the sum of squared gradients", false, "")                            \
    X("rmsprop", "RMSprop", 1, "the mean of squared gradients", true,                                \
      "the mean of squared gradients and the momentum buffer")

typedef struct OptimizerRule {
    const char *name, *title;
    int states;
    const char *what;
    bool has_momentum;
    const char *what_with_momentum;
} OptimizerRule;

static const OptimizerRule optimizer_rules[] = {
#define X(name, title, states, what, momentum, with_momentum) {name, title, states, what, momentum, with_momentum},
    ESTIMATE_OPTIMIZERS(X)
#undef X
};

#define DEFAULT_OPTIMIZER "adamw"

static const DtypeRule *dtype_find(const char *name)
{
    for (size_t i = 0; i < sizeof dtype_rules / sizeof dtype_rules[0]; i++)
        if (strcmp(dtype_rules[i].name, name) == 0)
            return &dtype_rules[i];
    return NULL;
}

static const OptimizerRule *optimizer_find(const char *name)
{
    for (size_t i = 0; i < sizeof optimizer_rules / sizeof optimizer_rules[0]; i++)
        if (strcmp(optimizer_rules[i].name, name) == 0)
            return &optimizer_rules[i];
    return NULL;
}

/* "f64, f32, ..." and "sgd, adam, ..." for error messages. */
static void list_dtypes(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof dtype_rules / sizeof dtype_rules[0] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", dtype_rules[i].name);
}

static void list_optimizers(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof optimizer_rules / sizeof optimizer_rules[0] && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", optimizer_rules[i].name);
}

/* "h100-sxm (h100), h100-pcie, ...": each device's names, aliases in
 * parentheses. */
static void list_devices(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < TD_SPEC_COUNT && used < size; i++) {
        const td_device_spec *d = td_device_spec_at(i);
        int len = td_device_spec_name_len(d);
        const char *aliases = d->names[len] ? d->names + len + 1 : NULL;
        used += (size_t)snprintf(buf + used, size - used, "%s%.*s", i ? ", " : "", len, d->names);
        if (aliases && used < size) {
            used += (size_t)snprintf(buf + used, size - used, " (");
            for (const char *p = aliases; *p && used < size; p++)
                used += (size_t)snprintf(buf + used, size - used, *p == ' ' ? ", " : "%c", *p);
            if (used < size)
                used += (size_t)snprintf(buf + used, size - used, ")");
        }
    }
}

/* ---- the command line ---- */

enum { FORM_TRAIN = 1, FORM_FIT = 2, FORM_PROGRAM = 4, FORM_ALL = 7 };

typedef enum { VALUE_POSITIVE, VALUE_COUNT, VALUE_FRACTION, VALUE_WORD, VALUE_SWITCH } ValueKind;

/* Columns: id, spelling, the value it takes, the forms that take it, its
 * value's name and help in --help. */
#define ESTIMATE_FLAGS(X)                                                                                        \
    X(PARAMS, "--params", VALUE_POSITIVE, FORM_TRAIN, "N", "the model's parameter count (70e9)")                \
    X(TOKENS, "--tokens", VALUE_POSITIVE, FORM_TRAIN | FORM_PROGRAM, "D", "the tokens to train on (15e12)")     \
    X(GPUS, "--gpus", VALUE_COUNT, FORM_ALL, "G", "how many GPUs, data parallel (default 1)")                   \
    X(DEVICE, "--device", VALUE_WORD, FORM_ALL, "NAME", "the GPU: h100, h200, a100, ... (tdc estimate devices)") \
    X(PEAK, "--peak", VALUE_POSITIVE, FORM_TRAIN | FORM_PROGRAM, "FLOPS", "one GPU's peak FLOP/s, for the device's") \
    X(MEMORY, "--memory", VALUE_POSITIVE, FORM_FIT | FORM_PROGRAM, "BYTES", "one GPU's memory in bytes, for the device's") \
    X(MFU, "--mfu", VALUE_FRACTION, FORM_TRAIN | FORM_PROGRAM, "F", "the model FLOPs utilization, in (0, 1]")  \
    X(DTYPE, "--dtype", VALUE_WORD, FORM_ALL, "T", "f64, f32, tf32, bf16, f16, bf16-mixed (default), f16-mixed") \
    X(OPTIMIZER, "--optimizer", VALUE_WORD, FORM_FIT, "O", "sgd, adam, adamw (default), adagrad, rmsprop")     \
    X(MOMENTUM, "--momentum", VALUE_SWITCH, FORM_FIT, "", "sgd or rmsprop keeps a momentum buffer")

typedef enum {
#define X(id, spelling, kind, forms, value, help) FLAG_##id,
    ESTIMATE_FLAGS(X)
#undef X
    FLAG_COUNT
} FlagId;

typedef struct FlagRule {
    const char *spelling;
    ValueKind kind;
    unsigned forms;
    const char *value, *help;
} FlagRule;

static const FlagRule flag_rules[FLAG_COUNT] = {
#define X(id, spelling, kind, forms, value, help) {spelling, kind, forms, value, help},
    ESTIMATE_FLAGS(X)
#undef X
};

typedef struct Flags {
    unsigned seen; /* bit FLAG_x: given */
    double number[FLAG_COUNT];
    const char *word[FLAG_COUNT];
} Flags;

static bool given(const Flags *f, FlagId id) { return f->seen & (1u << id); }

static const char usage[] =
    "usage: tdc estimate train --params N --tokens D --mfu F (--device NAME | --peak FLOPS) [--gpus G] [--dtype T]\n"
    "       tdc estimate fit (--device NAME | --memory BYTES) [--gpus G] [--optimizer O] [--momentum] [--dtype T]\n"
    "       tdc estimate FILE.td --dims ... --tokens D --mfu F (--device NAME | --peak FLOPS) [--gpus G] [--memory BYTES] [--dtype T]\n"
    "       tdc estimate devices\n"
    "\n"
    "train: the FLOPs of 6ND and the time they take; fit: the largest model whose parameters,\n"
    "gradients and optimizer state fit; FILE.td: the time from the program's own FLOPs, and\n"
    "whether a step fits one GPU's memory; devices: the table of peaks. Numbers may be written\n"
    "70e9 or 70000000000. docs/ACCOUNTING.md explains the arithmetic.\n"
    "\n";

static void print_usage(void)
{
    fputs(usage, stdout);
    for (int i = 0; i < FLAG_COUNT; i++) {
        char left[32];
        snprintf(left, sizeof left, "%s %s", flag_rules[i].spelling, flag_rules[i].value);
        printf("  %-19s%s\n", left, flag_rules[i].help);
    }
}

static int flag_find(const char *name, size_t len)
{
    for (int i = 0; i < FLAG_COUNT; i++)
        if (strlen(flag_rules[i].spelling) == len && strncmp(flag_rules[i].spelling, name, len) == 0)
            return i;
    return -1;
}

/* A finite number that is all of text: 70e9, 0.5, 1024. */
static bool parse_number(const char *text, double *out)
{
    if (!*text || *text == ' ' || *text == '\t')
        return false;
    char *end;
    *out = strtod(text, &end);
    return *end == 0 && isfinite(*out);
}

static int parse_value(const FlagRule *r, const char *value, double *out)
{
    double x = 0;
    bool ok = parse_number(value, &x);
    switch (r->kind) {
    case VALUE_POSITIVE:
        if (!ok || x <= 0)
            return estimate_error("%s takes a positive number, not '%s'", r->spelling, value);
        break;
    case VALUE_COUNT:
        if (!ok || x < 1 || x != floor(x) || x > 1e9)
            return estimate_error("%s takes a whole number, 1 or more, not '%s'", r->spelling, value);
        break;
    case VALUE_FRACTION:
        if (ok && x > 1 && x <= 100)
            return estimate_error("%s takes a fraction in (0, 1], not '%s' (for %s%% write %s %g)", r->spelling,
                                  value, value, r->spelling, x / 100);
        if (!ok || x <= 0 || x > 1)
            return estimate_error("%s takes a fraction in (0, 1], not '%s'", r->spelling, value);
        break;
    case VALUE_WORD:
    case VALUE_SWITCH:
        break;
    }
    *out = x;
    return 0;
}

/* Reads argv into f. command names the form in messages ("tdc estimate
 * train"); a program's form (FORM_PROGRAM) explains why --params is no
 * use to it. */
static int parse_flags(int argc, char **argv, unsigned form, const char *command, Flags *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        size_t len = strcspn(a, "=");
        int id = a[0] == '-' ? flag_find(a, len) : -1;
        if (a[0] != '-' || !a[1])
            return estimate_error("unexpected argument '%s' to '%s'", a, command);
        if (id < 0)
            return estimate_error("unknown option '%.*s' for '%s'", (int)len, a, command);
        const FlagRule *r = &flag_rules[id];
        if (!(r->forms & form)) {
            if (form == FORM_PROGRAM && id == FLAG_PARAMS)
                return estimate_error("--params is not used with a program: its parameters are counted from it");
            if (form == FORM_PROGRAM && (id == FLAG_OPTIMIZER || id == FLAG_MOMENTUM))
                return estimate_error("%s is not used with a program: its train block names its optimizer",
                                      r->spelling);
            return estimate_error("%s is not used by '%s'", r->spelling, command);
        }
        if (f->seen & (1u << id))
            return estimate_error("%s is given twice", r->spelling);
        f->seen |= 1u << id;
        if (r->kind == VALUE_SWITCH) {
            if (a[len])
                return estimate_error("%s takes no value", r->spelling);
            continue;
        }
        const char *value = NULL;
        if (a[len] == '=')
            value = a + len + 1;
        else if (i + 1 < argc && !(argv[i + 1][0] == '-' && argv[i + 1][1] == '-'))
            value = argv[++i];
        if (!value || !*value)
            return estimate_error("%s needs a value: %s %s", r->spelling, r->spelling, r->value);
        if (r->kind == VALUE_WORD) {
            f->word[id] = value;
            continue;
        }
        int status = parse_value(r, value, &f->number[id]);
        if (status)
            return status;
    }
    return 0;
}

static int require(const Flags *f, FlagId id, const char *command)
{
    if (given(f, id))
        return 0;
    const FlagRule *r = &flag_rules[id];
    return estimate_error("'%s' needs %s %s: %s", command, r->spelling, r->value, r->help);
}

/* ---- the machine: device, peak, memory ---- */

typedef struct Machine {
    const td_device_spec *device; /* NULL with --peak and --memory alone */
    double gpus;
    double peak;      /* FLOP/s of one GPU; 0: not needed */
    double memory;    /* bytes of one GPU; 0: unknown */
    char peak_from[64]; /* "h100-sxm, dense bf16" or "--peak" */
    char memory_from[64];
} Machine;

enum { NEED_PEAK = 1, NEED_MEMORY = 2 };

/* Resolves --device, --peak, --memory and --gpus into m: the peak in the
 * dtype's column, unless --peak; the memory, unless --memory. */
static int machine_resolve(const Flags *f, const DtypeRule *dtype, unsigned needs, const char *command, Machine *m)
{
    char known[512];
    memset(m, 0, sizeof *m);
    m->gpus = given(f, FLAG_GPUS) ? f->number[FLAG_GPUS] : 1;
    if (given(f, FLAG_DEVICE)) {
        m->device = td_device_spec_find(f->word[FLAG_DEVICE]);
        if (!m->device) {
            list_devices(known, sizeof known);
            return estimate_error("unknown device '%s'; known: %s", f->word[FLAG_DEVICE], known);
        }
    }
    const td_device_spec *d = m->device;
    int len = d ? td_device_spec_name_len(d) : 0;
    if (given(f, FLAG_PEAK)) {
        m->peak = f->number[FLAG_PEAK];
        snprintf(m->peak_from, sizeof m->peak_from, "--peak");
    } else if (d && (needs & NEED_PEAK)) {
        m->peak = d->peak[dtype->peak];
        if (m->peak <= 0)
            return estimate_error("%.*s has no %s peak in the table; give --peak", len, d->names,
                                  td_peak_name(dtype->peak));
        snprintf(m->peak_from, sizeof m->peak_from, "%.*s, dense %s", len, d->names, td_peak_name(dtype->peak));
    } else if (needs & NEED_PEAK) {
        list_devices(known, sizeof known);
        return estimate_error("'%s' needs --device NAME or --peak FLOPS; devices: %s", command, known);
    }
    if (given(f, FLAG_MEMORY)) {
        m->memory = f->number[FLAG_MEMORY];
        snprintf(m->memory_from, sizeof m->memory_from, "--memory");
    } else if (d) {
        m->memory = d->memory;
        snprintf(m->memory_from, sizeof m->memory_from, "%.*s", len, d->names);
    } else if (needs & NEED_MEMORY) {
        list_devices(known, sizeof known);
        return estimate_error("'%s' needs --device NAME or --memory BYTES; devices: %s", command, known);
    }
    return 0;
}

static int dtype_resolve(const Flags *f, const char *fallback, const DtypeRule **out)
{
    const char *name = given(f, FLAG_DTYPE) ? f->word[FLAG_DTYPE] : fallback;
    *out = dtype_find(name);
    if (!*out) {
        char known[256];
        list_dtypes(known, sizeof known);
        return estimate_error("unknown dtype '%s'; known: %s", name, known);
    }
    return 0;
}

/* ---- the report ---- */

/* The peak and throughput lines; returns the cluster's FLOP/s. */
static double print_throughput(const Machine *m, double mfu)
{
    double rate = m->gpus * m->peak * mfu;
    printf("  peak        %s per GPU (%s)\n", num_rate(m->peak).s, m->peak_from);
    printf("  throughput  %s GPU%s x %s x %g MFU = %s FLOP/s\n", num_given(m->gpus).s, m->gpus == 1 ? "" : "s",
           num_rate(m->peak).s, mfu, num_sig(rate, 3).s);
    return rate;
}

/* tdc estimate train: 6ND over the cluster's rate. */
static int estimate_train(int argc, char **argv)
{
    const char *command = "tdc estimate train";
    Flags f;
    const DtypeRule *dtype = NULL;
    Machine m;
    int status = parse_flags(argc, argv, FORM_TRAIN, command, &f);
    if (!status)
        status = require(&f, FLAG_PARAMS, command);
    if (!status)
        status = require(&f, FLAG_TOKENS, command);
    if (!status)
        status = require(&f, FLAG_MFU, command);
    if (!status)
        status = dtype_resolve(&f, DEFAULT_DTYPE, &dtype);
    if (!status)
        status = machine_resolve(&f, dtype, NEED_PEAK, command, &m);
    if (status)
        return status;
    double n = f.number[FLAG_PARAMS], d = f.number[FLAG_TOKENS], mfu = f.number[FLAG_MFU];
    double flops = 6 * n * d;
    printf("training time from 6ND\n");
    printf("  compute     6 x %s params x %s tokens = %s FLOP\n", num_given(n).s, num_given(d).s, num_sig(flops, 3).s);
    double rate = print_throughput(&m, mfu);
    printf("  time        %s FLOP / %s FLOP/s = %s\n", num_sig(flops, 3).s, num_sig(rate, 3).s,
           num_duration(flops / rate).s);
    /* The napkin version: the cluster's rate to one figure, as one would
     * carry it in one's head (1024 x 989.5e12 x 0.5 = 5.07e17 ~ 5e17). */
    double one_figure = strtod(num_sig(rate, 1).s, NULL);
    if (fabs(one_figure - rate) > 1e-9 * rate)
        printf("  rounded     at %s FLOP/s (one figure): %s / %s = %s\n", num_sig(one_figure, 1).s,
               num_sig(flops, 3).s, num_sig(one_figure, 1).s, num_duration(flops / one_figure).s);
    return 0;
}

static int optimizer_resolve(const Flags *f, const OptimizerRule **out)
{
    const char *name = given(f, FLAG_OPTIMIZER) ? f->word[FLAG_OPTIMIZER] : DEFAULT_OPTIMIZER;
    const OptimizerRule *opt = optimizer_find(name);
    if (!opt) {
        char known[256];
        list_optimizers(known, sizeof known);
        return estimate_error("unknown optimizer '%s'; known: %s", name, known);
    }
    if (given(f, FLAG_MOMENTUM) && !opt->has_momentum)
        return estimate_error("--momentum is for sgd and rmsprop; %s keeps its own state (%s)", opt->name, opt->what);
    *out = opt;
    return 0;
}

/* The bytes one parameter costs in training, one line each; returns the
 * total. Gradients are stored like the parameters; the optimizer state is
 * f32 under mixed precision, else like the parameters. */
static int print_bytes_per_param(const DtypeRule *dtype, const OptimizerRule *opt, bool momentum)
{
    int states = opt->states + (momentum ? 1 : 0);
    int state = states * dtype->state_bytes;
    int total = 2 * dtype->param_bytes + dtype->master_bytes + state;
    printf("  bytes per parameter\n");
    printf("    parameters      %2d  %s\n", dtype->param_bytes, dtype->storage);
    printf("    gradients       %2d  %s\n", dtype->param_bytes, dtype->storage);
    if (dtype->master_bytes)
        printf("    master weights  %2d  an f32 copy of the parameters, which the optimizer updates\n",
               dtype->master_bytes);
    else
        printf("    master weights   0  none: the optimizer updates the %s parameters\n", dtype->storage);
    if (states)
        printf("    optimizer state %2d  %s: %d x %d bytes (%s)\n", state,
               momentum ? opt->what_with_momentum : opt->what, states, dtype->state_bytes, dtype->state_storage);
    else
        printf("    optimizer state  0  none (%s without momentum)\n", opt->title);
    printf("    total           %2d\n", total);
    return total;
}

/* tdc estimate fit: the memory over the bytes a parameter costs. */
static int estimate_fit(int argc, char **argv)
{
    const char *command = "tdc estimate fit";
    Flags f;
    const DtypeRule *dtype = NULL;
    const OptimizerRule *opt = NULL;
    Machine m;
    int status = parse_flags(argc, argv, FORM_FIT, command, &f);
    if (!status)
        status = dtype_resolve(&f, DEFAULT_DTYPE, &dtype);
    if (!status)
        status = optimizer_resolve(&f, &opt);
    if (!status)
        status = machine_resolve(&f, dtype, NEED_MEMORY, command, &m);
    if (status)
        return status;
    bool momentum = given(&f, FLAG_MOMENTUM);
    double memory = m.gpus * m.memory;
    printf("largest model whose training state fits: %s%s, %s\n", opt->title, momentum ? " with momentum" : "",
           dtype->name);
    printf("  memory      %s GPU%s x %s (%s) = %s\n", num_given(m.gpus).s, m.gpus == 1 ? "" : "s",
           num_bytes(m.memory).s, m.memory_from, num_bytes(memory).s);
    int total = print_bytes_per_param(dtype, opt, momentum);
    double largest = floor(memory / total);
    printf("  largest     %s / %d bytes = %s params (%s)", num_bytes(memory).s, total, num_sig(largest, 3).s,
           num_words(largest).s);
    if (m.gpus > 1) {
        /* 40B in 8 x 80 GB only if the state is split across the GPUs; a
         * full replica on each (plain DDP) holds an eighth of that. */
        double replica = floor(m.memory / total);
        printf(", the state sharded over the %s GPUs (ZeRO-3, FSDP)\n", num_given(m.gpus).s);
        printf("  replicated  %s / %d bytes = %s params (%s) if each GPU holds all of it (plain data parallel)\n",
               num_bytes(m.memory).s, total, num_sig(replica, 3).s, num_words(replica).s);
    } else {
        printf("\n");
    }
    printf("  not counted activations, temporaries and the CUDA context: leave room for them\n");
    return 0;
}

/* tdc estimate devices: the table, as td_devices.h holds it. */
static int estimate_devices(int argc, char **argv)
{
    if (argc > 0)
        return estimate_error("unexpected argument '%s' to 'tdc estimate devices'", argv[0]);
    printf("%-10s %-18s", "device", "aliases");
    for (int p = 0; p < TD_PEAK_COUNT; p++)
        printf(" %7s", td_peak_name((td_peak)p));
    printf(" %7s %7s\n", "TB/s", "GB");
    for (int i = 0; i < TD_SPEC_COUNT; i++) {
        const td_device_spec *d = td_device_spec_at(i);
        int len = td_device_spec_name_len(d);
        printf("%-10.*s %-18s", len, d->names, d->names[len] ? d->names + len + 1 : "");
        for (int p = 0; p < TD_PEAK_COUNT; p++) {
            if (d->peak[p] > 0)
                printf(" %7.6g", d->peak[p] / 1e12);
            else
                printf(" %7s", "-");
        }
        printf(" %7.6g %7.6g\n", d->bandwidth / 1e12, d->memory / 1e9);
    }
    printf("peaks in TFLOP/s of one GPU, dense (no sparsity); sources in runtime/td_devices.h\n");
    return 0;
}

/* tdc estimate FILE.td: the program's own FLOPs per step, beside 6ND. */
static int estimate_program(int argc, char **argv, const EstimateProgram *p)
{
    char command[256];
    snprintf(command, sizeof command, "tdc estimate %s", p->name ? p->name : "FILE.td");
    if (!(p->step_flops > 0 && isfinite(p->step_flops)) || !(p->tokens_per_step > 0 && isfinite(p->tokens_per_step)))
        return estimate_fail(1, "%s: no training step to estimate (%s FLOP for %s tokens a step)",
                             p->name ? p->name : "the program", num_sig(p->step_flops, 3).s,
                             num_sig(p->tokens_per_step, 3).s);
    Flags f;
    const DtypeRule *dtype = NULL;
    Machine m;
    int status = parse_flags(argc, argv, FORM_PROGRAM, command, &f);
    if (!status)
        status = require(&f, FLAG_TOKENS, command);
    if (!status)
        status = require(&f, FLAG_MFU, command);
    if (!status)
        status = dtype_resolve(&f, p->dtype && dtype_find(p->dtype) ? p->dtype : DEFAULT_DTYPE, &dtype);
    if (!status)
        status = machine_resolve(&f, dtype, NEED_PEAK, command, &m);
    if (status)
        return status;

    double d = f.number[FLAG_TOKENS], mfu = f.number[FLAG_MFU];
    double steps = ceil(d / p->tokens_per_step);
    double flops = steps * p->step_flops;
    printf("training time of %s from its own FLOPs\n", p->name ? p->name : "the program");
    printf("  per step    %s FLOP for %s tokens (counted in the program)\n", num_sig(p->step_flops, 3).s,
           num_given(p->tokens_per_step).s);
    printf("  steps       %s tokens / %s tokens per step = %s steps", num_given(d).s, num_given(p->tokens_per_step).s,
           num_count(steps).s);
    if (m.gpus > 1)
        printf(", %s on each of %s GPUs\n", num_count(ceil(steps / m.gpus)).s, num_given(m.gpus).s);
    else
        printf("\n");
    printf("  compute     %s steps x %s FLOP = %s FLOP\n", num_count(steps).s, num_sig(p->step_flops, 3).s,
           num_sig(flops, 3).s);
    double rate = print_throughput(&m, mfu);
    printf("  time        %s FLOP / %s FLOP/s = %s (%s a step)\n", num_sig(flops, 3).s, num_sig(rate, 3).s,
           num_duration(flops / rate).s, num_duration(p->step_flops / (m.peak * mfu)).s);
    if (p->param_count > 0) {
        double six_nd = 6 * p->param_count * d;
        printf("  6ND         6 x %s params x %s tokens = %s FLOP: the program counts %s x 6ND\n",
               num_given(p->param_count).s, num_given(d).s, num_sig(six_nd, 3).s, num_sig(flops / six_nd, 3).s);
    } else {
        printf("  6ND         none: the program trains no parameters\n");
    }
    printf("  memory      %s a step, on each GPU (each holds a replica)", num_bytes(p->step_bytes).s);
    if (m.memory > 0)
        printf(", of %s (%s): %s, %s%%\n", num_bytes(m.memory).s, m.memory_from,
               p->step_bytes <= m.memory ? "fits" : "does not fit", num_sig(100 * p->step_bytes / m.memory, 3).s);
    else
        printf("; no --device or --memory to compare it with\n");
    return 0;
}

int estimate_main(int argc, char **argv, const EstimateProgram *program)
{
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            print_usage();
            return 0;
        }
    }
    if (program)
        return estimate_program(argc, argv, program);
    if (argc < 1)
        return estimate_error("'tdc estimate' needs what to estimate: train, fit, devices or FILE.td");
    if (strcmp(argv[0], "train") == 0)
        return estimate_train(argc - 1, argv + 1);
    if (strcmp(argv[0], "fit") == 0)
        return estimate_fit(argc - 1, argv + 1);
    if (strcmp(argv[0], "devices") == 0)
        return estimate_devices(argc - 1, argv + 1);
    return estimate_error("unknown estimate '%s': use train, fit, devices or FILE.td", argv[0]);
}
