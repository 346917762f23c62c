/* main.c - the tdc driver: reads the command line and runs the phases.
 *
 *   tdc check [--types] [--runtime-checks] [--diagnostics=text|json]
 *             [--max-errors=N] [-I DIR]... FILE...
 *
 * Each FILE is a program of its own. Exit status: 0 when every program
 * checks, 1 when any has an error, 2 for a bad command line. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "frontend.h"
#include "ir.h"
#include "backend.h"
#include "estimate.h"
#include "dtype.h"

#ifndef TDC_SOURCE_STDLIB
#define TDC_SOURCE_STDLIB "stdlib"
#endif

static const char usage[] =
    "usage: tdc [options] FILE.td [-o OUT]   compile a program to an executable (or, with --lib, OUT.h and OUT.c)\n"
    "       tdc check [options] FILE...      check programs\n"
    "       tdc report [--dims a=1,b=2] [--dtype=bf16] [--format=table|json|csv] [--no-fuse] FILE.td\n"
    "                                        FLOPs, bytes and memory of every operation, pass and step\n"
    "       tdc estimate train|fit|devices|FILE.td ...   napkin math (tdc estimate --help)\n"
    "\n"
    "compile options:\n"
    "  -o OUT                  the executable (default: FILE without .td); with --lib, OUT.h and OUT.c\n"
    "  --lib                   a library for a C application: OUT.h and OUT.c\n"
    "  --emit=ir|plan|c|cuda   print the IR, the memory plan, the C code or the CUDA kernels, and stop\n"
    "  --no-fuse               keep every elementwise operation a loop of its own\n"
    "  -O0 -O1 -O2 -O3 -g      passed to the C compiler ($CC, default cc); -O2 by default\n"
    "  -I DIR                  search DIR for imports\n"
    "\n"
    "check options:\n"
    "  --types                 print each binding with its inferred type\n"
    "  --runtime-checks        print what must be checked when the run-time dims are bound\n"
    "  --diagnostics=text|json diagnostics as text (default) or one JSON object per line\n"
    "  --max-errors=N          stop printing after N errors (default 20; 0: no limit)\n"
    "  -I DIR                  search DIR for imports (after the importing file's directory)\n"
    "  --help, --version\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tdc: error: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(run 'tdc --help' for usage)\n");
    return 2;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The standard library: installed beside the binary (../share/tdc/stdlib),
 * or the source tree's when tdc runs from its build directory. */
static const char *find_stdlib(void)
{
    static char path[PATH_MAX];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            if (snprintf(path, sizeof path, "%s/../share/tdc/stdlib", exe) < (int)sizeof path && is_dir(path))
                return path;
        }
    }
    return is_dir(TDC_SOURCE_STDLIB) ? TDC_SOURCE_STDLIB : NULL;
}

static int check_files(int argc, char **argv, const char **includes, const char **files);

/* tdc [--emit=ir|plan|c] [--lib] [-o OUT] [-O0|-O1|-O2|-O3] [-g] [-I DIR]... FILE.td */
static int cmd_compile(int argc, char **argv, EmitKind kind)
{
    BackendOptions bo = {.emit = kind, .opt_level = "-O2", .report_dtype = -1};
    bool report = kind == EMIT_REPORT || kind == EMIT_ESTIMATE;
    char *dims = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest); /* estimate FILE.td: the flags estimate_main reads */
    int nrest = 0;
    const char **includes = calloc((size_t)argc + 1, sizeof *includes);
    int nincludes = 0;
    const char *file = NULL;
    int status = 0;
    for (int i = 0; i < argc && !status; i++) {
        const char *a = argv[i];
        if (report && (strcmp(a, "--dims") == 0 || strncmp(a, "--dims=", 7) == 0)) {
            const char *v = a[6] == '=' ? a + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !*v) {
                status = usage_error("%s needs NAME=N[,NAME=N...]", "--dims");
                continue;
            }
            size_t old = dims ? strlen(dims) : 0;
            char *joined = malloc(old + strlen(v) + 2);
            sprintf(joined, "%s%s%s", dims ? dims : "", dims ? "," : "", v);
            free(dims);
            dims = joined;
        } else if (kind == EMIT_ESTIMATE && strcmp(a, "-I") != 0 && strncmp(a, "-I", 2) != 0 && !(a[0] != '-' && !file)) {
            rest[nrest++] = argv[i]; /* a flag of estimate's, or its value */
        } else if (report && strncmp(a, "--format=", 9) == 0) {
            if (!strcmp(a + 9, "table")) bo.report_format = 0;
            else if (!strcmp(a + 9, "json")) bo.report_format = 1;
            else if (!strcmp(a + 9, "csv")) bo.report_format = 2;
            else status = usage_error("bad option '%s': use --format=table, --format=json or --format=csv", a);
        } else if (kind == EMIT_REPORT && strncmp(a, "--dtype=", 8) == 0) {
            int t = dtype_lookup(a + 8, strlen(a + 8));
            if (t < 0 || !dtype_is_float((Dtype)t))
                status = usage_error("bad option '%s': --dtype takes a float dtype: f64, f32, f16, bf16, f8e4m3 or f8e5m2", a);
            else
                bo.report_dtype = t;
        } else if (report && strcmp(a, "--format") == 0) {
            status = usage_error("%s takes its value after '=': --format=table, --format=json or --format=csv", a);
        } else if (strcmp(a, "--emit=ir") == 0) bo.emit = EMIT_IR;
        else if (strcmp(a, "--emit=plan") == 0) bo.emit = EMIT_PLAN;
        else if (strcmp(a, "--emit=c") == 0) bo.emit = EMIT_C;
        else if (strcmp(a, "--emit=cuda") == 0) bo.emit = EMIT_CUDA;
        else if (strncmp(a, "--emit", 6) == 0) status = usage_error("bad option '%s': use --emit=ir, --emit=plan, --emit=c or --emit=cuda", a);
        else if (strcmp(a, "--lib") == 0) bo.lib = true;
        else if (strcmp(a, "--no-fuse") == 0) bo.no_fuse = true;
        else if (strcmp(a, "--count-flops") == 0) bo.count_flops = true; /* tests of the cost formulas */
        else if (strcmp(a, "-g") == 0) bo.debug = true;
        else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2") || !strcmp(a, "-O3")) bo.opt_level = a;
        else if (strcmp(a, "-o") == 0) {
            if (i + 1 >= argc)
                status = usage_error("%s needs a file name", a);
            else
                bo.output = argv[++i];
        } else if (strcmp(a, "-I") == 0) {
            if (i + 1 >= argc)
                status = usage_error("%s needs a directory", a);
            else
                includes[nincludes++] = argv[++i];
        } else if (strncmp(a, "-I", 2) == 0) includes[nincludes++] = a + 2;
        else if (a[0] == '-' && a[1]) status = usage_error("unknown option '%s'", a);
        else if (file) status = usage_error("one program at a time; '%s' is a second", a);
        else file = a;
    }
    if (!status && !file)
        status = usage_error("%sno input file", "");
    if (status) {
        free(includes);
        free(dims);
        free(rest);
        return status;
    }
    FrontendOptions opt = {.format = DIAG_TEXT, .max_errors = 20, .out = stdout, .err = stderr,
                           .include_dirs = includes, .ninclude_dirs = nincludes, .stdlib_dir = find_stdlib(),
                           .backend = backend_run, .backend_ctx = &bo};
    bo.input = file;
    bo.tdc_path = argv[-1];
    bo.dims = dims;
    bo.estimate_argc = nrest;
    bo.estimate_argv = rest;
    int errors = frontend_check_file(file, &opt);
    free(includes);
    free(dims);
    free(rest);
    if (errors)
        return 1;
    return bo.status;
}

static int cmd_check(int argc, char **argv)
{
    const char **includes = calloc((size_t)argc + 1, sizeof *includes);
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    int status = includes && files ? check_files(argc, argv, includes, files) : 2;
    free(includes);
    free(files);
    return status;
}

static int check_files(int argc, char **argv, const char **includes, const char **files)
{
    FrontendOptions opt = {.format = DIAG_TEXT, .max_errors = 20, .out = stdout, .err = stderr};
    int nfiles = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--types") == 0) {
            opt.print_types = true;
        } else if (strcmp(a, "--runtime-checks") == 0) {
            opt.print_runtime_checks = true;
        } else if (strcmp(a, "--diagnostics=json") == 0) {
            opt.format = DIAG_JSON;
        } else if (strcmp(a, "--diagnostics=text") == 0) {
            opt.format = DIAG_TEXT;
        } else if (strncmp(a, "--diagnostics", 13) == 0) {
            return usage_error("bad option '%s': use --diagnostics=text or --diagnostics=json", a);
        } else if (strncmp(a, "--max-errors=", 13) == 0) {
            char *end;
            long n = strtol(a + 13, &end, 10);
            if (!a[13] || *end || n < 0 || n > INT_MAX)
                return usage_error("bad option '%s': --max-errors takes a number, 0 or more", a);
            opt.max_errors = (int)n;
        } else if (strcmp(a, "-I") == 0) {
            if (i + 1 >= argc)
                return usage_error("%s needs a directory", a);
            includes[opt.ninclude_dirs++] = argv[++i];
        } else if (strncmp(a, "-I", 2) == 0) {
            includes[opt.ninclude_dirs++] = a + 2;
        } else if (a[0] == '-' && a[1]) {
            return usage_error("unknown option '%s'", a);
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 0)
        return usage_error("%sno input files", "");
    opt.include_dirs = includes;
    opt.stdlib_dir = find_stdlib();
    int failed = 0;
    for (int i = 0; i < nfiles; i++)
        failed += frontend_check_file(files[i], &opt) > 0;
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("tdc 0.1.0 (front end)\n");
        return 0;
    }
    if (strcmp(argv[1], "check") == 0)
        return cmd_check(argc - 2, argv + 2);
    if (strcmp(argv[1], "report") == 0)
        return cmd_compile(argc - 2, argv + 2, EMIT_REPORT);
    if (strcmp(argv[1], "estimate") == 0) {
        size_t n = argc > 2 ? strlen(argv[2]) : 0;
        if (n > 3 && strcmp(argv[2] + n - 3, ".td") == 0) /* estimate FILE.td: from the program's own numbers */
            return cmd_compile(argc - 2, argv + 2, EMIT_ESTIMATE);
        return estimate_main(argc - 2, argv + 2, NULL);
    }
    return cmd_compile(argc - 1, argv + 1, EMIT_EXE);
}
