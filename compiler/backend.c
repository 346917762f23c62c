/* backend.c - the passes in order, then the output (see backend.h). */
#include "backend.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emit_c.h"
#include "emit_cuda.h"
#include "opt.h"
#include "plan.h"
#include "estimate.h"
#include "report.h"

#ifndef TDC_SOURCE_RUNTIME
#define TDC_SOURCE_RUNTIME "runtime"
#endif
#ifndef TDC_OPENBLAS_LIB
#define TDC_OPENBLAS_LIB "-lopenblas"
#endif

static int failure(BackendOptions *o, const char *fmt, const char *arg, const char *why)
{
    fprintf(stderr, "tdc: error: ");
    fprintf(stderr, fmt, arg);
    if (why)
        fprintf(stderr, ": %s", why);
    fputc('\n', stderr);
    o->status = 1;
    return 1;
}

/* "examples/cruncher.td" -> "cruncher" */
static char *base_name(const char *path, bool strip_td)
{
    const char *slash = strrchr(path, '/');
    char *name = strdup(slash ? slash + 1 : path);
    size_t n = strlen(name);
    if (strip_td && n > 3 && strcmp(name + n - 3, ".td") == 0)
        name[n - 3] = 0;
    return name;
}

/* A C identifier from a file name: other characters become '_'. */
static char *c_identifier(const char *name)
{
    size_t n = strlen(name);
    char *id = malloc(n + 3);
    size_t k = 0;
    if (!(name[0] == '_' || ((name[0] | 0x20) >= 'a' && (name[0] | 0x20) <= 'z')))
        id[k++] = 'm', id[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = ch == '_' || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || (ch >= '0' && ch <= '9');
        id[k++] = ok ? ch : '_';
    }
    id[k] = 0;
    return id;
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The runtime's header directory and library: installed beside tdc
 * (../include/tdc, ../lib), or the build tree's. */
static bool find_runtime(char *include, char *library, size_t cap)
{
    char exe[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return false;
    *slash = 0;
    snprintf(include, cap, "%s/../include/tdc", exe);
    snprintf(library, cap, "%s/../lib/libtdrt.a", exe);
    char header[PATH_MAX + 8];
    snprintf(header, sizeof header, "%s/td.h", include);
    if (exists(header) && exists(library))
        return true;
    snprintf(include, cap, "%s", TDC_SOURCE_RUNTIME);
    snprintf(library, cap, "%s/libtdrt.a", exe);
    snprintf(header, sizeof header, "%s/td.h", include);
    return exists(header) && exists(library);
}

/* Starts argv; its output goes where ours goes. The child's pid, or -1. */
static pid_t start_command(char **argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "tdc: error: cannot run '%s': %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Waits for pid: its exit status, 128 when a signal ended it, -1 when it
 * could not be waited for. */
static int wait_command(pid_t pid)
{
    if (pid < 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* How many translation units an executable's C is compiled as, at once
 * (emit_c's parts): one a processor, at most MAX_PARTS (the CPU functions,
 * cut into segments of about 24 KB of C, rarely balance over more).
 * $TDC_C_PARTS forces the count; a value that is not 1 to MAX_PARTS is an
 * error (-1, reported). */
enum { MAX_PARTS = 16 };

static int compile_parts(BackendOptions *o)
{
    const char *forced = getenv("TDC_C_PARTS");
    if (forced && *forced) { /* set and empty: as unset */
        char *end;
        errno = 0;
        long n = strtol(forced, &end, 10);
        if (errno || end == forced || *end || n < 1 || n > MAX_PARTS) {
            failure(o, "TDC_C_PARTS is '%s'; it must be a count of parts from 1 to 16", forced, NULL);
            return -1;
        }
        return (int)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n >= MAX_PARTS ? MAX_PARTS : n >= 2 ? (int)n : 1;
}

/* The C compiler's words ($CC, or cc), then the flags every compile takes. */
static int compiler_words(BackendOptions *o, char *cc_words, char **argv, const char *inc_flag)
{
    int n = 0;
    for (char *w = strtok(cc_words, " \t"); w && n < 40; w = strtok(NULL, " \t"))
        argv[n++] = w;
    argv[n++] = "-std=c11";
    argv[n++] = (char *)o->opt_level;
    if (o->debug)
        argv[n++] = "-g";
    argv[n++] = "-fopenmp";
#ifdef TDC_EXTRA_CFLAGS
    argv[n++] = TDC_EXTRA_CFLAGS;
#endif
    if (inc_flag)
        argv[n++] = (char *)inc_flag;
    return n;
}

/* The C at c_path into the executable out: in one compile, or (parts > 1)
 * part k of it compiled with -DTDG_PART=k into an object beside c_path,
 * all parts at once, then linked. */
static void compile_c(BackendOptions *o, const char *c_path, const char *out, int parts)
{
    char include[PATH_MAX], library[PATH_MAX];
    if (!find_runtime(include, library, sizeof include)) {
        failure(o, "cannot find the tdc runtime (td.h and libtdrt.a) beside %s", o->tdc_path, NULL);
        return;
    }
    const char *cc = getenv("CC");
    if (!cc || !*cc)
        cc = "cc";
    char inc_flag[PATH_MAX + 3], objects[MAX_PARTS][PATH_MAX + 16], defines[MAX_PARTS][32];
    snprintf(inc_flag, sizeof inc_flag, "-I%s", include);
    if (parts > MAX_PARTS)
        parts = MAX_PARTS;
    pid_t pids[MAX_PARTS];
    int status = 0;
    for (int k = 0; k < parts && parts > 1; k++) {
        char *cc_words = strdup(cc), *argv[64];
        int n = compiler_words(o, cc_words, argv, inc_flag);
        snprintf(defines[k], sizeof defines[k], "-DTDG_PART=%d", k);
        snprintf(objects[k], sizeof objects[k], "%s.%d.o", c_path, k);
        argv[n++] = defines[k];
        argv[n++] = "-c";
        argv[n++] = (char *)c_path;
        argv[n++] = "-o";
        argv[n++] = objects[k];
        argv[n] = NULL;
        pids[k] = start_command(argv);
        free(cc_words);
    }
    for (int k = 0; k < parts && parts > 1; k++) {
        int st = wait_command(pids[k]);
        if (st != 0 && status == 0)
            status = st;
    }
    if (status == 0) { /* the link, or the one compile */
        char *cc_words = strdup(cc), *argv[64];
        int n = compiler_words(o, cc_words, argv, parts > 1 ? NULL : inc_flag);
        if (parts > 1)
            for (int k = 0; k < parts; k++)
                argv[n++] = objects[k];
        else
            argv[n++] = (char *)c_path;
        argv[n++] = library;
        argv[n++] = TDC_OPENBLAS_LIB;
        argv[n++] = "-lm";
        argv[n++] = "-ldl"; /* the runtime opens the CUDA libraries with dlopen (in libc from glibc 2.34) */
        argv[n++] = "-o";
        argv[n++] = (char *)out;
        argv[n] = NULL;
        status = wait_command(start_command(argv));
        free(cc_words);
    }
    for (int k = 0; k < parts && parts > 1; k++)
        unlink(objects[k]);
    if (status != 0)
        failure(o, "the C compiler (%s) failed", cc, status < 0 ? strerror(errno) : NULL);
}

static FILE *open_output(BackendOptions *o, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        failure(o, "cannot write '%s'", path, strerror(errno));
    return f;
}

static void write_executable(BackendOptions *o, const IrProgram *ir, const EmitOptions *eo)
{
    char *out = o->output ? strdup(o->output) : base_name(o->input, true);
    char tmp[] = "/tmp/tdc-XXXXXX.c";
    int fd = mkstemps(tmp, 2);
    if (fd < 0) {
        failure(o, "cannot create a temporary file in %s", "/tmp", strerror(errno));
        free(out);
        return;
    }
    FILE *f = fdopen(fd, "w");
    EmitOptions parted = *eo;
    parted.parts = compile_parts(o);
    if (parted.parts < 0) {
        fclose(f);
        unlink(tmp);
        free(out);
        return;
    }
    emit_c(f, ir, &parted);
    if (fclose(f) != 0)
        failure(o, "cannot write '%s'", tmp, strerror(errno));
    else
        compile_c(o, tmp, out, parted.count_flops ? 1 : parted.parts);
    unlink(tmp);
    free(out);
}

/* FNV-1a (64 bits) of the program's IR as printed before the passes: the
 * params, functions and train blocks that a checkpoint belongs to. */
static const char *program_hash(IrProgram *ir)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return "";
    ir_print(m, ir);
    fclose(m);
    /* the source locations ("  # line 7", "  # /abs/path/nn.td:7") stay out:
     * the same program in another checkout is the same program */
    uint64_t h = 0xcbf29ce484222325ull;
    bool comment = false;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '#' && i > 0 && text[i - 1] == ' ')
            comment = true;
        if (text[i] == '\n')
            comment = false;
        if (!comment)
            h = (h ^ (unsigned char)text[i]) * 0x100000001b3ull;
    }
    free(text);
    return arena_printf(ir->arena, "%016llx", (unsigned long long)h);
}

/* --dims batch=8,seq=64: each dim's value by position (static ones
 * their own); NULL after reporting a bad one. */
static int64_t *dim_values(BackendOptions *o, const IrProgram *ir)
{
    int64_t *values = arena_array(ir->arena, ir->dim_names.len + 1, sizeof(int64_t));
    for (size_t i = 0; i < ir->dim_names.len; i++)
        values[i] = ir->dim_values[i];
    const char *s = o->dims ? o->dims : "";
    while (*s) {
        const char *comma = strchr(s, ',');
        size_t len = comma ? (size_t)(comma - s) : strlen(s);
        char *item = arena_strndup(ir->arena, s, len);
        s += len + (comma ? 1 : 0);
        char *eq = strchr(item, '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : 0;
        if (!eq || eq == item || !eq[1] || *end || v <= 0) {
            failure(o, "bad --dims item '%s': give NAME=N with N a positive whole number", item, NULL);
            return NULL;
        }
        *eq = 0;
        size_t d = 0;
        while (d < ir->dim_names.len && strcmp(ir->dim_names.items[d], item) != 0)
            d++;
        if (d == ir->dim_names.len) {
            failure(o, "--dims names '%s', which is not a dim of the program bound at run time", item, NULL);
            return NULL;
        }
        if (ir->dim_values[d] != 0 && ir->dim_values[d] != v) {
            failure(o, "--dims gives '%s', a static dim, another value than the program's", item, NULL);
            return NULL;
        }
        values[d] = v;
    }
    return values;
}

void backend_run(void *options, IrProgram *ir)
{
    BackendOptions *o = options;
    ir->hash = program_hash(ir);
    for (size_t i = 0; i < ir->functions.len + ir->trains.len; i++) {
        IrFunction *f = i < ir->functions.len ? ir->functions.items[i] : ir->trains.items[i - ir->functions.len];
        ir_verify(ir, f);
        pass_cse(ir, f);
        pass_outer_products(ir, f);
        pass_relu_masks(ir, f);
        pass_dce(ir, f);
        if (!o->no_fuse) {
            pass_fuse(ir, f);
            pass_copies(ir, f); /* maps fusion simplified to their input */
            pass_dce(ir, f);    /* what fused maps and their views left behind */
        }
        pass_wide_products(ir, f); /* after fusion: a round trip through f32 is gone by then */
        pass_copies(ir, f);        /* the casts it made copies */
        pass_dce(ir, f);
        ir_verify(ir, f);
    }
    char *model = base_name(o->input, true);
    char *output_base = o->lib && o->output ? base_name(o->output, false) : NULL;
    char *symbol_base = c_identifier(output_base ? output_base : model);
    free(output_base);
    if (strncmp(symbol_base, "tdg", 3) == 0) { /* the generated code's own names start with tdg_ */
        char *longer = malloc(strlen(symbol_base) + 8);
        sprintf(longer, "%s_model", symbol_base);
        free(symbol_base);
        symbol_base = longer;
    }
    char *desc = malloc(strlen(symbol_base) + 8);
    sprintf(desc, "%s_desc", symbol_base);
    EmitOptions eo = {.source_name = o->input, .model_name = model, .desc_symbol = desc, .with_main = !o->lib,
                      .count_flops = o->count_flops};
    if (o->emit == EMIT_ESTIMATE) {
        int64_t *values = dim_values(o, ir);
        StepNumbers n;
        if (!values) {
            /* reported */
        } else if (!report_step_numbers(ir, values, &n)) {
            failure(o, "%s has no train block to estimate, or a dim it needs is not given (--dims)", o->input, NULL);
        } else {
            EstimateProgram prog = {.name = o->input, .step_flops = n.flops, .tokens_per_step = n.tokens,
                                    .step_bytes = n.bytes, .param_count = n.params, .dtype = n.dtype};
            o->status = estimate_main(o->estimate_argc, o->estimate_argv, &prog);
        }
    } else if (o->emit == EMIT_REPORT) {
        int64_t *values = dim_values(o, ir);
        if (o->report_dtype >= 0)
            ir->cost_float_dtype = (Dtype)o->report_dtype;
        if (values)
            report_print(stdout, ir, o->input, values, (ReportFormat)o->report_format);
    } else if (o->emit == EMIT_IR) {
        ir_print(stdout, ir);
    } else if (o->emit == EMIT_CUDA) {
        FILE *f = o->output ? open_output(o, o->output) : stdout;
        if (f) {
            emit_cuda(f, ir, o->input);
            if (f != stdout && fclose(f) != 0)
                failure(o, "cannot write '%s'", o->output, strerror(errno));
        }
    } else if (o->emit == EMIT_PLAN) {
        plan_print(stdout, ir);
    } else if (o->emit == EMIT_C) {
        FILE *f = o->output ? open_output(o, o->output) : stdout;
        if (f) {
            const char *forced = getenv("TDC_C_PARTS");
            if (forced && *forced) /* the C of an executable as tdc -o compiles it */
                eo.parts = compile_parts(o);
            if (eo.parts >= 0)
                emit_c(f, ir, &eo);
            if (f != stdout && fclose(f) != 0)
                failure(o, "cannot write '%s'", o->output, strerror(errno));
        }
    } else if (o->lib) {
        const char *out = o->output ? o->output : model;
        char *c_path = malloc(strlen(out) + 3), *h_path = malloc(strlen(out) + 3);
        sprintf(c_path, "%s.c", out);
        sprintf(h_path, "%s.h", out);
        FILE *h = open_output(o, h_path);
        FILE *c = h ? open_output(o, c_path) : NULL;
        if (h && c) {
            char *header = base_name(h_path, false);
            eo.header_name = header;
            eo.api_prefix = symbol_base;
            emit_c_header(h, ir, &eo);
            emit_c(c, ir, &eo);
            free(header);
        }
        if (h && fclose(h) != 0)
            failure(o, "cannot write '%s'", h_path, strerror(errno));
        if (c && fclose(c) != 0)
            failure(o, "cannot write '%s'", c_path, strerror(errno));
        free(c_path);
        free(h_path);
    } else {
        write_executable(o, ir, &eo);
    }
    free(desc);
    free(symbol_base);
    free(model);
}
