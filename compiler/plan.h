/* plan.h - where every intermediate lives: the memory plan.
 *
 * Liveness over a function's schedule (its node order) gives each buffer
 * the span from the node that writes it to its last reader; buffers whose
 * spans do not overlap share a slot. A slot is as large as its largest
 * buffer, slots are laid end to end at 64-byte boundaries, and the
 * workspace is the largest function's total. A scatter's inputs that tile
 * it are computed in their blocks of its buffer (plan_piece_in_place),
 * which is then live from the first of them; a contraction whose only
 * reader is its epilogue (plan_epilogue) is computed in that map's
 * buffer, live from the contraction. Sizes are symbolic, so a
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
    int *placed_in; /* by node id: the scatter in whose buffer it is computed (its block there), the map
                     * whose epilogue it is (plan_epilogue: the map's whole buffer), or -1 */
} FnPlan;

/* Plans function f of p. */
FnPlan *plan_function(const IrProgram *p, const IrFunction *f);
/* Whether input k of scatter s is computed in place, in its block of the
 * scatter's buffer: the scatter's inputs tile it (ir_scatter_tiles), the
 * input is a buffer of the same dtype read by the scatter alone, whole
 * and in order, and not itself a scatter. The scatter then copies
 * nothing of it. Structural, so cost.c counts it as plan.c plans it. */
bool plan_piece_in_place(const IrProgram *p, const IrFunction *f, const IrNode *s, int k);
/* Whether contraction c is a matrix-vector product A[..., s] B[s, o] into
 * f32 (o of size 1) whose A is a map that only widens a bf16 or f16 input:
 * the
 * GPU computes the two in one kernel (emit_cuda_head_cast), reading the
 * map's input at the product's turn, so the plan keeps that input alive
 * until then. */
bool plan_reads_narrow(const IrFunction *f, const IrNode *c);
/* A contraction's epilogue: the map that is the product's only reader,
 * computing relu(P), P + bias or relu(P + bias) of its element P, the
 * bias a vector along the last axis. */
typedef struct PlanEpilogue {
    const IrNode *map;
    int bias; /* the map's input read as the bias, or -1 */
    bool relu;
} PlanEpilogue;
/* Whether contraction c has an epilogue: its only reader is a map of c's
 * dtype (f64, f32, f16 or bf16, the operands' too) and shape computing
 * one of the forms above, reading c as it is and the bias (computed
 * before c, a whole contiguous vector) broadcast along every axis but
 * the last. The plan then computes c in the map's buffer: the CPU
 * finishes the map there in place; the GPU runs the two as one call
 * (td_cuda_gemm_epilogue_run: cuBLASLt's epilogue). Structural. */
bool plan_epilogue(const IrProgram *p, const IrFunction *f, const IrNode *c, PlanEpilogue *ep);
/* The map in whose buffer the plan computes node id as its epilogue's
 * product, or -1 (not placed, or a piece of a scatter). */
int plan_epilogue_map(const FnPlan *plan, const IrFunction *f, int id);
/* Whether node n gets a buffer in the workspace. */
bool plan_has_buffer(const IrNode *n);
/* The bytes of a node's result: elements times the dtype's size. */
Size plan_bytes(const IrProgram *p, const IrNode *n);
/* `tdc --emit=plan`: every buffer's slot, its offset and size formulas. */
void plan_print(FILE *out, const IrProgram *p);

#endif
