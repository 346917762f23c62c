/* opt.h - the simplifying passes over one function's graph (opt.c, fuse.c). */
#ifndef TDC_OPT_H
#define TDC_OPT_H

#include "ir.h"

void pass_cse(const IrProgram *p, IrFunction *f);
/* A contraction whose summed axes all have size 1 (an outer product, a
 * batch of scalings) becomes a map multiplying its operands, each read
 * through a view over the result's axes: elementwise, so fusion takes it. */
void pass_outer_products(const IrProgram *p, IrFunction *f);
/* The backward's contractions of f16 or bf16 read only by a cast to f32
 * give f32 directly (the cast becomes a copy for pass_copies). */
void pass_wide_products(const IrProgram *p, IrFunction *f);
/* A map that reads x only as `x > 0` (relu's gradient) reads relu(x)
 * instead where that is a node: x need not outlive the forward. */
void pass_relu_masks(const IrProgram *p, IrFunction *f);
/* Moves the uses of a map that copies its input unchanged to the input. */
void pass_copies(const IrProgram *p, IrFunction *f);
/* Marks what no result needs dead and counts each node's uses. */
void pass_dce(const IrProgram *p, IrFunction *f);

/* Computes each map read element for element by its only reader inside
 * that reader's loop (fuse.c). */
void pass_fuse(const IrProgram *p, IrFunction *f);

#endif
