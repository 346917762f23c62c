/* report.h - `tdc report`: FLOPs, bytes and memory of a program (report.c). */
#ifndef TDC_REPORT_H
#define TDC_REPORT_H

#include <stdio.h>

#include "ir.h"

typedef enum { REPORT_TABLE, REPORT_JSON, REPORT_CSV } ReportFormat;

/* values[d]: the value of the d-th dim of p->dim_names (static ones
 * included; 0 for a run-time dim not given), or NULL. */
void report_print(FILE *out, const IrProgram *p, const char *source, const int64_t *values, ReportFormat format);

/* The numbers `tdc estimate FILE.td` needs, at the dims: one step of the
 * first train block (FLOPs of forward, backward and optimizer; the tokens
 * it consumes; the bytes of params, gradients, optimizer state and
 * workspace; trained params; the params' dtype). False when the program
 * has no train block or a dim is unbound. */
typedef struct StepNumbers {
    double flops, tokens, bytes, params;
    const char *dtype;
} StepNumbers;
bool report_step_numbers(const IrProgram *p, const int64_t *values, StepNumbers *out);

#endif
