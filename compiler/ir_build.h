/* ir_build.h - making IR nodes: what lowering and autodiff share.
 *
 * An IrBuild appends nodes to one function. Atoms are a tensor seen as a
 * view whose axes carry labels (an einsum's letters, the split axes of a
 * pattern); the builders permute, reduce and contract tensors by label,
 * making views where strides suffice and copies where they do not. */
#ifndef TDC_IR_BUILD_H
#define TDC_IR_BUILD_H

#include "ir.h"

typedef struct IrBuild {
    Arena *arena;
    IrFunction *fn;
    const SizeNames *names;
    bool failed; /* an error was reported */
} IrBuild;

/* A tensor as a view whose axes are labels. */
typedef struct Atoms {
    int base; /* the node the view reads */
    View view;
    int *labels;
} Atoms;

/* The labels of one contraction: their sizes and (where they have one) names. */
typedef struct IrLabels {
    int n;
    Size *sizes;
    const char **names;
} IrLabels;

/* Reports "cannot compile this: what" at loc; returns false. */
bool irb_fail(IrBuild *b, Loc loc, const char *what);
int irb_view(IrBuild *b, int base, View v, Loc loc);
/* The contiguous copy of a view of `base`. */
int irb_copy(IrBuild *b, int base, View v, Loc loc);
bool irb_has_label(const int *labels, int n, int l);
/* Permutes x so that its labels are `order` (a permutation of them). */
void irb_permute_to(IrBuild *b, Atoms *x, const int *order, int n);
/* Reduces away the labels of x whose `keep` is false. */
void irb_reduce_atoms(IrBuild *b, Atoms *x, const bool *keep, ReduceKind kind, Dtype out, Loc loc);
/* One CONTRACT of a and b keeping the labels that `live` marks (and that
 * either has); the result is [batch, rows of a, columns of b]. */
Atoms irb_contract(IrBuild *b, const IrLabels *t, Atoms *a, Atoms *bo, const bool *live, Dtype dt, Loc loc);

#endif
