/* check.h - name resolution and shape checking of a whole program.
 *
 * The checker walks the syntax tree of every module as an abstract
 * interpreter whose values are types: it unrolls `for` loops, checks each
 * function once per distinct argument signature (so `...` and size
 * variables in a signature are specialised at each call), and computes a
 * type for every expression. Errors go through diag; `--types` and
 * `--runtime-checks` output goes to `out`. */
#ifndef TDC_CHECK_H
#define TDC_CHECK_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "ast.h"

struct IrProgram;

typedef struct CheckOptions {
    bool print_types;          /* each binding with its type */
    bool print_runtime_checks; /* what must be checked when the dims are bound */
    const char *stdlib_dir;    /* for "import it" hints; may be NULL */
    FILE *out;
    /* After a clean check: lower the program and hand the IR to `backend`
     * (the arena and the checker's tables live until it returns). */
    void (*backend)(void *ctx, struct IrProgram *ir);
    void *backend_ctx;
    int backend_errors; /* set when lowering fails */
} CheckOptions;

/* Returns the number of errors reported. */
int check_program(Arena *a, Module **modules, int nmodules, CheckOptions *opt);

#endif
