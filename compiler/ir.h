/* ir.h - the tensor IR: one graph of operations per exported function.
 *
 * lower.c builds the graph while the checker walks the program a second
 * time (loops unrolled, calls inlined, generic functions specialised), so a
 * node's shape is the checker's type: a dtype and a list of symbolic sizes.
 * Nodes are numbered in the order they are made, which is a valid schedule
 * (every input comes first). A node that makes a buffer writes it contiguous
 * in C order; a VIEW reads the buffer of another node through strides and an
 * offset, polynomials in the dims (a transpose, a split, a merge, a
 * broadcast, an index into the leading axis, a diagonal). Views always look
 * at a node with memory of its own (a buffer, an input or a param), never at
 * another view: making a view of a view composes the two.
 *
 * The passes (opt.c, fuse.c) rewrite the graph in place; plan.c gives each
 * buffer its place in memory; emit_c.c writes the C. */
#ifndef TDC_IR_H
#define TDC_IR_H

#include <stdbool.h>
#include <stdio.h>

#include "arena.h"
#include "ir_ops.h"
#include "size.h"
#include "source.h"
#include "type.h"

/* A sum of sizes: an offset or a stride in elements (2*seq + 1, 0). */
typedef struct Poly {
    int n;
    Size *terms; /* no two with the same factors; none zero */
} Poly;

typedef struct View {
    int rank;
    Size *dims;
    Poly *strides; /* rank entries; 0 broadcasts */
    Poly offset;
} View;

typedef enum { MX_INPUT, MX_CONST, MX_SIZE, MX_INDEX, MX_CALL, MX_WHERE, MX_CAST } MapExprKind;

/* An elementwise expression; every node computes a value of `dtype`. */
typedef struct MapExpr MapExpr;
struct MapExpr {
    MapExprKind kind;
    Dtype dtype;
    int input;       /* MX_INPUT: which input of the node */
    bool is_int;     /* MX_CONST */
    int64_t ival;    /* MX_CONST */
    double fval;     /* MX_CONST */
    Size size;       /* MX_SIZE: a size of the dims, as a number */
    int axis;        /* MX_INDEX: the position along this axis of the result */
    MapFn fn;        /* MX_CALL */
    Dtype arg_dtype; /* MX_CALL: the dtype the arguments are computed in */
    bool term;       /* MX_CALL mul: a contraction's one term (pass_outer_products), 2 FLOPs as 2 m n k counts */
    MapExpr *args[3];
    int nargs;
};

typedef enum { RED_SUM, RED_MEAN, RED_MAX, RED_MIN, RED_PROD } ReduceKind;

typedef struct IrNode {
    int id;
    IrOp op;
    Type type; /* dtype and shape of the result */
    Loc loc;   /* the source expression it came from */
    int ninputs;
    int *inputs; /* node ids */
    /* fusion: input k read through input_views[k] over node inputs[k]
     * (never a VIEW) when has_input_view[k]; otherwise as inputs[k] is */
    View *input_views;
    bool *has_input_view;
    /* VIEW: over inputs[0], which is never a VIEW; SCATTER: where its input goes in the result */
    View view;
    View *scatter_views; /* SCATTER with several inputs: where input k goes (scatter_views[0] is view) */
    /* MAP; also a REDUCE whose input map was fused into it */
    MapExpr *expr;
    /* REDUCE: the input's axes, reduced or kept; the kept ones in order make the result */
    ReduceKind reduce;
    bool *reduced;
    int input_rank;
    Size *input_dims; /* a fused reduce's loop nest (its map's shape) */
    /* CONTRACT: labels of A (inputs[0]), B (inputs[1]) and the result, sizes by label */
    int *labels_a, *labels_b, *labels_out;
    int rank_a, rank_b, nlabels;
    Size *label_sizes;
    const char **label_names; /* the pattern's names; NULL for `...` and matmul's axes */
    /* INPUT: argument index; PARAM: param index; RANDOM: 0 normal, 1 uniform */
    int index;
    /* GATHER: inputs[0] the table [rows, rest...], inputs[1] the indices; result [indices..., rest...] */
    /* bookkeeping for the passes */
    int uses;
    bool dead;
    bool fused; /* computed inside its only consumer's loop */
    bool backward; /* made by autodiff (grad.c) */
    bool outer_product; /* a MAP that computes a contraction (pass_outer_products): reported as one */
} IrNode;

/* A param's initialiser with every argument known (torch's defaults filled in). */
typedef struct IrInit {
    const char *kind; /* "normal", "zeros", ... as the runtime's td_init_<kind> */
    double mean, std, a, b, value, gain;
    const char *mode, *nonlinearity;
} IrInit;

/* A train block's optimizer, schedule and clipping, every value known. */
typedef enum { OPT_SGD, OPT_ADAGRAD, OPT_RMSPROP, OPT_ADAM, OPT_ADAMW } OptimKind;
typedef enum { SCHED_CONSTANT, SCHED_COSINE, SCHED_STEP, SCHED_LINEAR } ScheduleKind;

typedef struct IrTrainSpec {
    OptimKind optim;
    double lr, weight_decay, momentum, dampening, beta1, beta2, eps, lr_decay, initial_accumulator_value, alpha;
    bool nesterov, amsgrad, centered;
    ScheduleKind schedule;
    int64_t warmup, total, step_size;
    double min_lr, gamma;
    double clip;             /* 0: none */
    const char **no_decay;   /* param names without weight decay */
    int nno_decay;
} IrTrainSpec;

typedef struct IrParam {
    const char *name;
    Type type;
    const char *shape_text; /* as declared */
    IrInit init;
} IrParam;

typedef struct IrFunction {
    const char *name;
    Loc loc;
    PtrVec nodes; /* IrNode *, by id */
    int ninputs, noutputs;
    const char **input_names;
    Type *input_types;
    const char **input_shapes; /* the shape strings as written */
    int *outputs;              /* node ids */
    Type *output_types;
    const char **output_shapes;
    /* a train block: outputs are the loss, then with_grad the gradient of
     * each param in grad_params (each trained one, in param order) */
    bool is_train, with_grad;
    IrTrainSpec *train;
    int ngrads;
    int *grad_params;
} IrFunction;

/* A condition on the run-time dims, checked when they are bound. */
typedef struct IrCheck {
    bool is_index;   /* size > index; otherwise size is a whole number */
    Size size;
    int64_t index;
    const char *message; /* "model.td:3:9: batch divisible by 2 (size of 'd' in (h d))" */
} IrCheck;

typedef struct IrProgram {
    Arena *arena;
    const SizeNames *names; /* dims by factor index, for printing */
    PtrVec params;          /* IrParam * */
    PtrVec functions;       /* IrFunction *: the exported functions */
    PtrVec trains;          /* IrFunction *: each train block twice, the step (with_grad) then its loss alone */
    PtrVec checks;          /* IrCheck *, each once */
    PtrVec dim_names;       /* const char *: every dim, static or run-time, in declaration order */
    int64_t *dim_values;    /* each one's value, or 0 for a run-time dim */
    int *factor_dim;        /* for each Size factor index: its dim's position in dim_names */
    int nfactors;
    const char *module_name;
    const char *hash;       /* of the program's IR as printed: what a checkpoint belongs to */
    Dtype cost_float_dtype; /* tdc report --dtype: costs as if every float were this; DT_COUNT: as they are */
} IrProgram;

/* ---- polynomials ---- */
Poly poly_zero(void);
Poly poly_of(Arena *a, Size s);
bool poly_is_zero(Poly p);
bool poly_eq(Poly a, Poly b);
/* Checked: false when a term cannot be formed (overflow, too many dims). */
bool poly_add(Arena *a, Poly x, Poly y, const SizeNames *names, Poly *out);
bool poly_mul_size(Arena *a, Poly x, Size s, const SizeNames *names, Poly *out);
const char *poly_str(Arena *a, Poly p, const SizeNames *names);

/* ---- building ---- */
IrNode *ir_node(Arena *a, IrFunction *f, IrOp op, Type t, Loc loc, int ninputs, const int *inputs);
IrNode *ir_get(const IrFunction *f, int id);
/* The contiguous view of a node of type t (C order strides). */
bool ir_contiguous_view(Arena *a, Type t, const SizeNames *names, View *out);
/* A view of node `src` (any node; a VIEW is composed with its own view). */
int ir_view(Arena *a, IrFunction *f, int src, View v, const SizeNames *names, Loc loc);
/* What a node reads as a view: its own view for a VIEW, else contiguous. */
bool ir_view_of(Arena *a, const IrFunction *f, int id, const SizeNames *names, View *out, int *base);
/* How node n reads its input k: the view and the node with the memory. */
bool ir_input_view(Arena *a, const IrFunction *f, const IrNode *n, int k, const SizeNames *names, View *out, int *base);
/* Whether axes [from, to) of a view merge into one axis: each stride is the
 * next one times the next size. */
bool view_mergeable(Arena *a, const View *v, int from, int to, const SizeNames *names);
/* Whether the view reads its base's buffer in order, from offset 0. */
bool view_is_contiguous(Arena *a, const View *v, const SizeNames *names);
/* Whether a scatter's inputs tile its result: each input's places one
 * contiguous block, the blocks end to end from 0 to the end, so every
 * element gets exactly one input's (no zeros first, no additions). */
bool ir_scatter_tiles(Arena *a, const IrNode *n, const SizeNames *names);

/* View transforms; each returns false only when a stride cannot be formed
 * (a size too complex or too large), which the caller reports. */
bool view_permute(Arena *a, const View *v, const int *perm, View *out);   /* out axis i = v axis perm[i] */
bool view_split(Arena *a, const View *v, int axis, int nparts, const Size *parts, const SizeNames *names, View *out);
bool view_merge(Arena *a, const View *v, int from, int to, const SizeNames *names, View *out); /* needs view_mergeable */
View view_remove_axis(Arena *a, const View *v, int axis);        /* an axis of size 1 */
View view_insert_axis(Arena *a, const View *v, int pos, Size s); /* broadcast: stride 0 */
bool view_index(Arena *a, const View *v, int64_t i, const SizeNames *names, View *out); /* drops axis 0 */
bool view_diagonal(Arena *a, const View *v, int keep, int drop, const SizeNames *names, View *out);
/* numpy broadcasting of v to `dims` (right-aligned). */
View view_broadcast(Arena *a, const View *v, int rank, const Size *dims);

MapExpr *mx_input(Arena *a, int input, Dtype t);
/* Constant folding and identities (x * 1, x + 0, pow(x, 1), a where with a
 * known condition) that leave every result bit for bit as it was. */
MapExpr *mx_simplify(Arena *a, MapExpr *e);
/* Drops the inputs a map's (or a fused reduce's) expression does not read,
 * and merges inputs that read the same data. */
void ir_prune_inputs(Arena *a, IrNode *n);
MapExpr *mx_call(Arena *a, MapFn fn, Dtype result, Dtype arg_dtype, MapExpr *x, MapExpr *y);

/* ---- output ---- */
const char *map_fn_name(MapFn fn);
const char *ir_op_name(IrOp op);
bool ir_op_makes_buffer(IrOp op);
void ir_print(FILE *out, const IrProgram *p);
void ir_print_function(FILE *out, const IrProgram *p, const IrFunction *f);
/* Whether contraction n has an f32 result of f16 or bf16 operands (the
 * adjoint of a widening cast, pass_wide_products): td_gemm's c_f32. */
bool ir_contract_widens(const IrFunction *f, const IrNode *n);

/* Checks the graph's invariants (inputs before uses, views over non-views,
 * ranks agree); dies on a violation, which is a compiler bug. */
void ir_verify(const IrProgram *p, const IrFunction *f);

#endif
