/* backend.h - after the front end: passes, plan and output, as one call.
 *
 * backend_run is the front end's hook (FrontendOptions.backend): it runs
 * the passes over each function's IR, then prints the IR or the plan,
 * writes the C, or writes the C and runs the C compiler on it. */
#ifndef TDC_BACKEND_H
#define TDC_BACKEND_H

#include <stdbool.h>

struct IrProgram;

typedef enum { EMIT_EXE, EMIT_IR, EMIT_PLAN, EMIT_C, EMIT_REPORT, EMIT_ESTIMATE, EMIT_CUDA } EmitKind;

typedef struct BackendOptions {
    EmitKind emit;
    bool lib;               /* OUT.h and OUT.c for a C application */
    bool no_fuse;
    bool count_flops;       /* --count-flops (tests): the C counts every operation it executes */
    bool debug;             /* -g */
    const char *opt_level;  /* "-O2" */
    const char *output;     /* -o; NULL: the input's name without .td (or stdout for --emit) */
    const char *input;
    const char *tdc_path;   /* argv[0], to find the runtime beside it */
    int status;             /* 0, or 1 when a step failed (the message is printed) */
    /* tdc report */
    int report_format;      /* ReportFormat */
    int report_dtype;       /* --dtype: a Dtype every float is costed as; -1: as they are */
    const char *dims;       /* --dims batch=8,seq=64 (also several --dims, joined by ',') */
    /* tdc estimate FILE.td: the flags for estimate_main */
    int estimate_argc;
    char **estimate_argv;
} BackendOptions;

void backend_run(void *options, struct IrProgram *ir);

#endif
