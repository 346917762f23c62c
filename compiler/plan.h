/* plan.h - where every intermediate lives: the memory plan.
 *
 * Liveness over a function's schedule (its node order) gives each buffer
 * the span from the node that writes it to its last reader; buffers whose
 * spans do not overlap share a slot. A slot is as large as its largest
 * buffer, slots are laid end to end at 64-byte boundaries, and the
 * workspace is the largest function's total. Sizes are symbolic, so a
 * slot's size is a max of sizes and an offset a sum of them: formulas in
 * the dims, evaluated when the program binds them. */
#ifndef TDC_PLAN_H
#define TDC_PLAN_H

#include "ir.h"

enum { PLAN_ALIGN = 64 };

typedef struct PlanSlot {
    int nmembers;
    int *members;    /* node ids */
    Size *bytes;     /* each member's bytes */
} PlanSlot;

typedef struct FnPlan {
    int nslots;
    PlanSlot *slots;
    int *slot_of;   /* by node id: its slot, or -1 (no buffer of its own) */
    int *last_use;  /* by node id */
    int *output_of; /* by node id: the result it is written to directly, or -1 */
    bool *copy_output; /* by result: whether it is copied at the end (else written in place) */
} FnPlan;

/* Plans function f of p. */
FnPlan *plan_function(const IrProgram *p, const IrFunction *f);
/* Whether node n gets a buffer in the workspace. */
bool plan_has_buffer(const IrNode *n);
/* The bytes of a node's result: elements times the dtype's size. */
Size plan_bytes(const IrProgram *p, const IrNode *n);
/* `tdc --emit=plan`: every buffer's slot, its offset and size formulas. */
void plan_print(FILE *out, const IrProgram *p);

#endif
