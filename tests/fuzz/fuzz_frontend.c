/* fuzz_frontend.c - a libFuzzer target over the whole front end: lexer,
 * parser and checker, through frontend_check_source().
 *
 * The input is passed whole as the program text, so every corpus file is a
 * plain .td program. Its first byte also picks the options, so that one
 * input always runs the same way (a crash reproduces from the file alone):
 *
 *   bit 0  print_types            (--types)
 *   bit 1  print_runtime_checks   (--runtime-checks)
 *   bit 2  diagnostics as JSON rather than text
 *   bit 3  max_errors 0 (no limit) rather than 20
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

#include "frontend.h"

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
    };
    frontend_check_source("/nonexistent-tdc-fuzz/input.td", (const char *)data, size, &opt);
    return 0;
}
