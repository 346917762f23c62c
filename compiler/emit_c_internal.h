/* emit_c_internal.h - what emit_c.c (the kernels and functions) and
 * emit_c_model.c (the model's description, the C API) share. */
#ifndef TDC_EMIT_C_INTERNAL_H
#define TDC_EMIT_C_INTERNAL_H

#include "emit_c.h"

typedef struct Emit {
    FILE *out;
    const IrProgram *p;
    Arena *a;
    const IrFunction *f;
    const FnPlan *plan;
    const int *loop_of_axis; /* MX_INDEX k reads loop variable i<loop_of_axis[k]> (NULL: ik) */
    struct Hoisted *hoisted;  /* subexpressions computed once into locals (emit_expr) */
    bool count_flops;         /* tests: count every operation executed into tdg_counted[op] */
    int op;                   /* the operation being emitted, by its index in the cost table */
    int fn_index;             /* emit_cuda: the function's index (kernel names) */
} Emit;

/* Subexpressions an expression has more than once (a backward map's
 * tanh(x), say), by their C text, and the locals that hold them. */
typedef struct Hoisted {
    const char **texts, **names;
    int n;
} Hoisted;

const char *emit_c_ctype(Dtype t);                 /* the C type of an element: "float", "uint16_t" */
const char *emit_c_narrow_name(Dtype t);           /* "f16": td_f32_to_<name> */
const char *emit_c_dtype_enum(Dtype t);            /* "TD_F32" */
const char *emit_c_dim_var(const Emit *e, uint32_t factor); /* "dim_batch" */
const char *emit_c_size(const Emit *e, Size s);    /* a size as a C int64 expression */
const char *emit_c_size_desc(const Emit *e, Size s); /* a td_size_expr initializer */
/* The functions' code: each plan as tdg_plan_fn<index>, each function as tdg_fn<index>. */
void emit_c_plan_function(const Emit *e, int index, const FnPlan *plan);
void emit_c_function(Emit *e, int index, const IrFunction *f, const FnPlan *plan);
extern const char *const emit_c_prelude;

/* What emit_cuda.c shares of the kernels' code. */
const char *emit_c_compute_type(Dtype t);          /* what arithmetic on t happens in: "float", "double", "int64_t" */
const char *emit_c_base_name(const Emit *e, int id); /* the memory node id reads: "b<id>" */
View emit_c_input_view(const Emit *e, const IrNode *n, int k, int *base);
const char *emit_c_load(const Emit *e, Dtype t, const char *ptr, const char *index); /* in emit_c_compute_type(t) */
const char *emit_c_store(const Emit *e, Dtype t, const char *value);
/* An expression of loads, after declaring (at depth) a local per repeated subexpression. */
const char *emit_c_expr(const Emit *e, const MapExpr *x, const char *const *inputs, int depth);
const char *emit_c_loc_text(const Emit *e, Loc loc); /* "model.td:3: the source line" */
/* Element offset of view v at loop indices i0.. (axis_of: loop of each axis; NULL: i<axis>). */
const char *emit_c_offset(const Emit *e, const char *name, const View *v, const int *axis_of);
void emit_c_declare_view(const Emit *e, int depth, const char *name, const View *v); /* <name>_off, <name>_s<k> */
/* Declares each input's view as x<k> at depth; the loads, at loop indices
 * as emit_c_offset reads them (axis_of may be NULL). */
const char **emit_c_declare_inputs(const Emit *e, const IrNode *n, int depth, const int *axis_of);
/* A REDUCE's input axes as loops: the kept axes first, then the reduced;
 * axis_of[k] is the loop of input axis k. */
typedef struct {
    int nkept, nred;
    Size *kept, *red;
    int *axis_of;
} ReduceLoops;
ReduceLoops emit_c_reduce_loops(const Emit *e, const IrNode *n);
void emit_c_indent(const Emit *e, int depth);
const char *emit_c_bytes(const Emit *e, const IrNode *n); /* a node's bytes as a size_t expression */

#endif
