/* emit_c.h - the C backend: one C file from a planned IR program. */
#ifndef TDC_EMIT_C_H
#define TDC_EMIT_C_H

#include <stdio.h>

#include "ir.h"
#include "plan.h"

typedef struct EmitOptions {
    const char *source_name; /* for the header comment */
    const char *model_name;  /* the program's name: the file name without .td */
    const char *desc_symbol; /* the td_model_desc's C name */
    bool with_main;          /* an executable: main() calls td_main */
    const char *header_name; /* --lib: the header the C file includes ("model.h") */
    const char *api_prefix;  /* --lib: the prefix of every entry point ("model") */
    bool count_flops;        /* tests: count the operations executed per op into tdg_counted[] */
    int parts;               /* an executable in parts (emit_c_parts): compiled as that many translation units at once */
} EmitOptions;

void emit_c(FILE *out, const IrProgram *p, const EmitOptions *opt);
/* --lib: the header of the C API (and emit_c then adds the entry points). */
void emit_c_header(FILE *out, const IrProgram *p, const EmitOptions *opt);

#endif
