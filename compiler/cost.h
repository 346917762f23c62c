/* cost.h - what each IR node costs: FLOPs and bytes, as formulas in the dims.
 *
 * Conventions (docs/ACCOUNTING.md states them with examples):
 *   a contraction is 2 x the product of the sizes of all its labels (one
 *   multiply and one add per term), so a matmul (m, k) @ (k, n) is 2mnk;
 *   an elementwise map is one FLOP per operation of its expression per
 *   element (a cast, a constant or a load is none); a reduction one per
 *   element it reads (plus its fused expression's operations, and for a mean
 *   one division per result); a scatter or a gather's gradient one addition
 *   per element it adds; views, copies, gathers and random numbers none.
 *   Bytes: every input's distinct elements are read once (a broadcast axis
 *   is read once, not per repeat), the result is written once; views move
 *   nothing; a fused map is counted in the loop that computes it.
 * The backward pass is IR like the forward pass, so it is costed by the same
 * rules: each gradient contraction is its own node, and an operand nobody
 * differentiates (an input, an integer) costs nothing. */
#ifndef TDC_COST_H
#define TDC_COST_H

#include "ir.h"

typedef struct Cost {
    Poly flops;
    Poly read;    /* bytes */
    Poly written; /* bytes */
} Cost;

Cost cost_node(const IrProgram *p, const IrFunction *f, const IrNode *n);
/* Bytes of one element of t (of p->cost_float_dtype for a float, when set). */
Size cost_bytes_of(const IrProgram *p, Dtype t);
/* The FLOPs of one evaluation of a map expression. */
int cost_expr_ops(const MapExpr *e);
bool cost_add(Arena *a, Cost *total, Cost c, const SizeNames *names);
/* The optimizer's FLOPs per element of a trained param for one step (the
 * update, weight decay, momentum, ...), by the operations of torch's rule;
 * and the number of state arrays it reads and writes. */
int cost_optimizer_flops_per_element(const IrTrainSpec *t);
/* The state arrays (each as large as the param) the optimizer keeps per
 * trained param, as the runtime's td_optim_state_slots counts them. */
int cost_optimizer_slots(const IrTrainSpec *t);
/* Evaluates a formula at the dims' values (values[d] for the d-th of
 * p->dim_names; 0 for an unbound one); false when a dim it needs is unbound. */
bool cost_eval(const IrProgram *p, Poly x, const int64_t *values, double *out);
bool cost_eval_size(const IrProgram *p, Size s, const int64_t *values, double *out);

#endif
