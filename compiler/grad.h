/* grad.h - reverse-mode automatic differentiation on the IR.
 *
 * grad_build appends to a function the nodes that compute the gradient of
 * a scalar node (the loss) with respect to other nodes, by the
 * vector-Jacobian product of every operation, in reverse order from the
 * loss. The backward nodes are ordinary IR: the same passes (CSE, fusion),
 * the same memory plan and the same code generation run over them.
 * docs/AUTODIFF.md states each rule. */
#ifndef TDC_GRAD_H
#define TDC_GRAD_H

#include "ir_build.h"

/* The dtype a gradient of a `t` value is kept in: f32 for the narrow
 * floats (f16, bf16, FP8), t otherwise. */
Dtype grad_dtype(Dtype t);

/* grads[i] receives the node of d loss / d wrt[i] (a zero tensor when
 * the loss does not depend on it; reached[i], when reached is not NULL,
 * says whether it does). loss is a float scalar. False after reporting an
 * error. */
bool grad_build(IrBuild *b, int loss, const int *wrt, int nwrt, Loc loc, int *grads, bool *reached);

#endif
