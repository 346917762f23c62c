/* check_internal.h - what check.c, check_expr.c and builtins.c share.
 *
 * Value is the checker's abstract value: a type, plus what is known at
 * compile time (a number, a size expression in the dims, a string, a dtype).
 * Env holds the local bindings of one function instance. */
#ifndef TDC_CHECK_INTERNAL_H
#define TDC_CHECK_INTERNAL_H

#include "check.h"
#include "diag.h"
#include "pattern.h"
#include "shape.h"
#include "type.h"
#include "lower.h"

typedef enum { VAL_TENSOR, VAL_STRING, VAL_DTYPE, VAL_TUPLE } ValueKind;

/* Where a value was bound, for notes: `x: f32["batch seq model"] with model = 64`. */
typedef struct Origin {
    const char *name;
    Loc loc;
    const TypeExpr *declared; /* the type as written, when it was written */
    Type type;
    bool loop_var;
} Origin;

typedef struct Value Value;
struct Value {
    ValueKind kind;
    Type type;             /* VAL_TENSOR; type.error marks a failed value */
    bool known;            /* a scalar whose value is known at compile time */
    bool known_is_int;
    int64_t int_value;
    double float_value;
    bool has_size;         /* an integer scalar that is a size expression of the dims */
    Size size;
    const Expr *string;    /* VAL_STRING: the literal */
    Dtype dtype_value;     /* VAL_DTYPE */
    Value *items;          /* VAL_TUPLE: the results of a call */
    int nitems;
    const Origin *origin;
    int32_t node;          /* lowering: the IR node's id + 1; 0 for none */
};

typedef enum { SYM_DIM, SYM_CONST, SYM_PARAM, SYM_FN, SYM_TRAIN } SymKind;
typedef enum { RESOLVE_NOT_STARTED, RESOLVE_IN_PROGRESS, RESOLVE_DONE } ResolveState;

typedef struct FnInstance FnInstance;

/* A function's signature, read once: names that are not dims are size
 * variables, represented as symbolic dims of their own (var_ids). */
typedef struct FnSig {
    ShapeSpec **params;  /* NULL for a scalar parameter */
    ShapeSpec **results; /* NULL for a scalar result */
    bool ok;
    int nvars, var_cap;
    uint32_t *var_ids;
    const char **var_names;
    Loc *var_locs;
    int *var_index;       /* open-addressing table of var positions + 1, by name */
    uint32_t var_index_cap;
    uint32_t ellipsis_id; /* the symbolic axis `...` stands for when uncalled */
    bool has_ellipsis;
    int any_float_param;  /* the first parameter typed `float[...]`, or -1 */
} FnSig;

typedef struct Symbol {
    SymKind kind;
    const char *name;
    Decl *decl;
    ResolveState state;
    bool failed;
    /* dims */
    Size size;
    bool runtime;  /* depends on a dim bound at run time */
    /* consts and params */
    Value value;
    Origin origin;
    /* fns */
    bool generic;  /* has `...` or size variables in its parameter types */
    FnSig *sig;
    FnInstance *instances;
    bool checking; /* on the call stack: calling it again is recursion */
    int param_index; /* params: position among the program's params */
} Symbol;

struct FnInstance {
    FnInstance *next;
    const char *key;   /* the argument signature */
    Value *results;
    int nresults;
    bool failed;
};

typedef struct Binding {
    const char *name;
    Value value;
    Origin *origin;
} Binding;

typedef struct Env {
    Binding *items;
    int n, cap;
    int *index;          /* open-addressing table of binding positions + 1, by name */
    int index_cap;
    const Symbol *fn;    /* the function being checked, or NULL for a train block / global */
    Value *results;      /* the declared results, substituted for this instance (may be NULL) */
    int nresults;
    bool infer_results;  /* no `->`: the return statement decides */
    bool returned;       /* statements after this point are unreachable */
    bool saw_return;
    bool in_train;
    int minimizes;
    int loop_depth;
    const Size *ellipsis; /* what `...` stands for in this instance */
    int nellipsis;
    bool has_ellipsis;
} Env;

typedef struct RuntimeCheck {
    Loc loc;
    const char *condition; /* "batch divisible by 2" */
    const char *reason;    /* "size of 'd' in (h d)" */
    bool is_index;         /* size > index; otherwise size is a whole number */
    Size size;
    int64_t index;
} RuntimeCheck;

typedef struct TypeLine {
    Loc loc;
    const char *text;   /* "name: type", or a run-time condition */
    const char *reason; /* run-time checks only */
} TypeLine;

typedef struct Checker {
    Arena *arena;
    const CheckOptions *opt;
    Symbol **symbols; /* open-addressing hash table by name */
    size_t nsymbols_cap, nsymbols;
    PtrVec decl_order; /* Symbol *, in declaration order */
    /* run-time dims and opaque sizes, for Size factors */
    PtrVec dim_names; /* const char * */
    int32_t *dim_var; /* for each dim: its position among its signature's size variables, or -1 */
    size_t dim_var_cap;
    SizeNames names;
    PtrVec runtime_checks; /* RuntimeCheck * */
    PtrVec type_lines;     /* TypeLine * */
    ShapeCtx shape;
    long budget;           /* statements left to check, against unrolling blow-up */
    bool budget_reported;
    int call_depth;
    int expr_depth;
    bool depth_reported;
    bool symbolic_instance; /* checking an uncalled generic function */
    const char *last_unknown, *last_suggestion; /* suggest()'s last answer */
    bool last_unknown_calls;
    PtrVec stdlib_files;    /* the standard library's files, read on the first hint that needs them */
    bool stdlib_read;
    Loc call_site;          /* the outermost call of a generic function being checked */
    const char *call_site_fn;
    PtrVec broken_names;    /* sorted names in statements with syntax errors: not reported as unknown */
    struct Lowering *lower; /* the second walk, which makes the IR (lower.h); NULL while checking */
} Checker;

/* A name and where it stands, for finding repeats. */
typedef struct NamedLoc NamedLoc;
struct NamedLoc {
    const char *text;
    Loc loc;
    int order;
    const NamedLoc *first; /* the earlier occurrence, once found */
};

/* check.c */
/* Reports every name in `items` that repeats an earlier one (error_fmt has
 * one %s for the name; `note`, if any, goes at the first occurrence);
 * returns how many. Reorders `items`. */
int check_repeated_names(Checker *c, NamedLoc *items, int n, const char *error_fmt, const char *note);
int check_repeated_params(Checker *c, const Decl *d); /* of a fn or train block */
Symbol *check_lookup(Checker *c, const char *name);
bool check_resolve_dim(Checker *c, Symbol *s);
bool check_resolve_const(Checker *c, Symbol *s);
bool check_resolve_param(Checker *c, Symbol *s);
/* Whether `name` appears in a statement that had a syntax error. */
bool check_in_broken_statement(Checker *c, const char *name);
/* A dim or const named in a shape string, as a size; reports why not. */
bool check_global_size(Checker *c, const char *name, Loc loc, Size *out); /* its type; the initialiser is checked later */
uint32_t check_new_dim_name(Checker *c, const char *name);
/* The size variable of `sig` that dim `dim` is, or -1. */
int check_var_of(const Checker *c, const FnSig *sig, uint32_t dim);
void check_require_integral(Checker *c, Size s, Loc loc, const char *why);
RuntimeCheck *check_record_runtime(Checker *c, Loc loc, const char *condition, const char *reason); /* NULL: not recorded */
void check_record_type(Checker *c, Loc loc, const char *name, const char *type_text);
void check_block(Checker *c, Env *env, const Block *b);
void check_train(Checker *c, Symbol *s);
const char *check_kind_word(SymKind k); /* "dim", "param", ... */
Origin *check_new_origin(Checker *c, const char *name, Loc loc, const TypeExpr *declared, Type t);

/* check_fn.c */
FnSig *check_read_signature(Checker *c, Symbol *fn);
/* Whether an argument of this value fits a parameter of dtype `param`. */
bool check_dtype_accepts(Dtype param, const Value *arg);
/* The instance of `fn` for one binding (call_loc: where, for notes; none for
 * a function checked at its declaration). */
FnInstance *check_instantiate(Checker *c, Symbol *fn, Dtype call_float, const Size *bound, const Size *ell, int nell,
                              Loc call_loc, const Value *args);
void check_uncalled_generic(Checker *c, Symbol *s);
Value check_call_fn(Checker *c, Env *env, Symbol *fn, const Expr *call);
Binding *env_find(Env *env, const char *name);
void env_bind(Checker *c, Env *env, const char *name, Value v, Origin *origin);

/* check_expr.c */
Value check_expr(Checker *c, Env *env, const Expr *e);
Value value_error(void);
Value value_tensor(Type t);
Value value_int(int64_t v);
Value value_float(double v);
Value value_size(Checker *c, Size s);
bool value_is_error(const Value *v);
/* An integer known at compile time: a literal, a const, a static size. */
bool value_static_int(const Value *v, int64_t *out);
/* The value as a size (a positive whole number, or a size expression of the dims). */
bool value_to_size(Checker *c, const Value *v, Loc loc, const char *what, Size *out);
bool value_to_number(Checker *c, const Value *v, Loc loc, const char *what, double *out);
Operand operand_of(Checker *c, const Value *v, const Expr *e, int index);
const char *value_desc(Checker *c, const Value *v);
/* For --types: the type, and the value when it is known (`i64 = 2*n`). */
const char *value_type_text(Checker *c, const Value *v);
Type promote(Checker *c, const Value *a, const Value *b, Loc loc, const char *op, bool *ok);
ShapeSpec *check_shape_string(Checker *c, Env *env, const char *text, uint32_t len, Loc literal, bool allow_ellipsis);
const char *ctype(Checker *c, Type t);
void explain_operand(void *checker, const Operand *op);
const char *operand_axis_name(void *checker, const Operand *op, int axis);

/* builtins.c */
bool builtin_exists(const char *name);
const char *builtin_name(int i); /* the i-th built-in's name; NULL past the last */
Value check_builtin(Checker *c, Env *env, const Expr *call);
/* A param's initialiser; checks its arguments against the param's type. */
void check_initializer(Checker *c, const Expr *init, Type param_type, const char *param_name);
void check_optimizer(Checker *c, Env *env, const Stmt *minimize, IrTrainSpec *spec);
void builtin_initializer_args(Checker *c, const Expr *init, IrInit *out);

#endif
