/* fuzz_frontend.c - a libFuzzer target over the whole front end: lexer,
 * parser and checker, through frontend_check_source(), and for a program
 * that checks, the back end too: lowering, the passes, the plan and the C.
 *
 * The input is passed whole as the program text, so every corpus file is a
 * plain .td program. Its first byte also picks the options, so that one
 * input always runs the same way (a crash reproduces from the file alone):
 *
 *   bit 0  print_types            (--types)
 *   bit 1  print_runtime_checks   (--runtime-checks)
 *   bit 2  diagnostics as JSON rather than text
 *   bit 3  max_errors 0 (no limit) rather than 20
 *   bit 4 or 6  lower a program that checks: the IR, its passes, the
 *          memory plan and the C are all made and printed (bit 6 is set in
 *          most letters, so a program that starts with a declaration does);
 *          only for inputs up to 64 KiB: the 1 MB inputs of tests/fuzz/run.sh
 *          time the front end, and their C would be tens of megabytes
 *
 * Over a corpus that makes the two diagnostic formats alternate and runs
 * the --types and --runtime-checks printers on about half the inputs.
 * Everything is written to one FILE* on /dev/null, opened once.
 *
 * The program's name sits in a directory that does not exist and there is
 * no standard library or -I directory, so a relative import never reads a
 * real file; it is reported as not found.
 *
 * Build: cmake -DTDC_FUZZ=ON with CC=clang (target fuzz_frontend), or run
 * tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "emit_c.h"
#include "frontend.h"
#include "opt.h"
#include "plan.h"

static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    devnull = fopen("/dev/null", "w");
    if (!devnull) {
        perror("fuzz_frontend: /dev/null");
        abort();
    }
    return 0;
}

static void backend(void *ctx, IrProgram *ir)
{
    (void)ctx;
    for (size_t i = 0; i < ir->functions.len; i++) {
        IrFunction *f = ir->functions.items[i];
        ir_verify(ir, f);
        pass_cse(ir, f);
        pass_dce(ir, f);
        pass_fuse(ir, f);
        pass_dce(ir, f);
        ir_verify(ir, f);
    }
    ir_print(devnull, ir);
    plan_print(devnull, ir);
    EmitOptions eo = {.source_name = "input.td", .model_name = "input", .desc_symbol = "input_desc", .with_main = true};
    emit_c(devnull, ir, &eo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned flags = size ? data[0] : 0;
    FrontendOptions opt = {
        .include_dirs = NULL,
        .ninclude_dirs = 0,
        .stdlib_dir = NULL,
        .print_types = (flags & 1) != 0,
        .print_runtime_checks = (flags & 2) != 0,
        .format = (flags & 4) ? DIAG_JSON : DIAG_TEXT,
        .max_errors = (flags & 8) ? 0 : 20,
        .out = devnull,
        .err = devnull,
        .backend = (flags & 0x50) && size <= 65536 ? backend : NULL,
    };
    frontend_check_source("/nonexistent-tdc-fuzz/input.td", (const char *)data, size, &opt);
    return 0;
}
