/* report.h - `tdc report`: FLOPs, bytes and memory of a program (report.c). */
#ifndef TDC_REPORT_H
#define TDC_REPORT_H

#include <stdio.h>

#include "ir.h"

typedef enum { REPORT_TABLE, REPORT_JSON, REPORT_CSV } ReportFormat;

/* values[d]: the value of the d-th dim of p->dim_names (static ones
 * included; 0 for a run-time dim not given), or NULL. */
void report_print(FILE *out, const IrProgram *p, const char *source, const int64_t *values, ReportFormat format);

#endif
