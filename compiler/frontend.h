/* frontend.h - the front end as one call: read a program and its imports,
 * parse every file, check the whole program.
 *
 * Imports are searched in the importing file's directory, then each -I
 * directory, then the standard library; each file is read once however
 * often it is imported. */
#ifndef TDC_FRONTEND_H
#define TDC_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"

struct IrProgram;

typedef struct FrontendOptions {
    const char *const *include_dirs;
    int ninclude_dirs;
    const char *stdlib_dir; /* may be NULL */
    bool print_types;
    bool print_runtime_checks;
    DiagFormat format;
    int max_errors;         /* 0: no limit */
    FILE *out;              /* --types and --runtime-checks */
    FILE *err;              /* diagnostics */
    /* When set, a program that checks is lowered and its IR handed to
     * backend, on the checker's thread, before the front end's memory goes. */
    void (*backend)(void *ctx, struct IrProgram *ir);
    void *backend_ctx;
} FrontendOptions;

/* Each returns the number of errors (a file that cannot be read is one). */
int frontend_check_file(const char *path, const FrontendOptions *opt);
int frontend_check_source(const char *name, const char *text, size_t len, const FrontendOptions *opt);

#endif
