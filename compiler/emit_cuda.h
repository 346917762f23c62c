/* emit_cuda.h - CUDA C kernels for NVRTC from a planned IR program
 * (emit_cuda.c); `tdc --emit=cuda` prints them. */
#ifndef TDC_EMIT_CUDA_H
#define TDC_EMIT_CUDA_H

#include <stdio.h>

#include "ir.h"

void emit_cuda(FILE *out, const IrProgram *p, const char *source_name);

#endif
