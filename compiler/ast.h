/* ast.h - the syntax tree the parser builds and the checker reads.
 *
 * Nodes live in the module's arena and carry the Loc of their source text.
 * The tree is untyped: the checker computes types without writing them back,
 * so the same tree can be walked again (per loop iteration, per call). */
#ifndef TDC_AST_H
#define TDC_AST_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "dtype.h"
#include "source.h"

typedef struct Expr Expr;
typedef struct Stmt Stmt;

typedef struct Name {
    const char *text;
    Loc loc;
} Name;

typedef enum {
    EX_INT,
    EX_BOOL,  /* true, false; int_value 1 or 0 */
    EX_FLOAT,
    EX_STRING,
    EX_NAME,
    EX_DTYPE, /* a dtype used as a value: zeros("n", dtype = bf16) */
    EX_UNARY,
    EX_BINARY,
    EX_CALL,
    EX_INDEX,
    EX_CAST,
} ExprKind;

typedef enum {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_POW, OP_MATMUL,
    OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
    OP_NEG,
} OpKind;

const char *op_spelling(OpKind op);
typedef struct TypeExpr TypeExpr;
/* The dtype as written: `f32`, or `float` for any float dtype. */
const char *type_expr_dtype(const TypeExpr *t);

typedef struct Arg {
    Name keyword; /* keyword.text NULL for a positional argument */
    Expr *value;
} Arg;

struct Expr {
    ExprKind kind;
    Loc loc;
    union {
        int64_t int_value;
        double float_value;
        struct {
            const char *text; /* decoded, NUL-terminated */
            uint32_t len;
        } string;
        const char *name;
        Dtype dtype;
        struct {
            OpKind op;
            Expr *lhs, *rhs; /* rhs NULL for unary */
        } op;
        struct {
            Name callee;
            Arg *args;
            int nargs;
        } call;
        struct {
            Expr *base, *index;
        } index;
        struct {
            Expr *value;
            Dtype dtype;
            Loc dtype_loc;
        } cast;
    };
};

/* A type as written: `f32` or `f32["batch seq"]`. */
struct TypeExpr {
    Dtype dtype;
    bool is_tensor;    /* has a shape string, even an empty one */
    bool any_float;    /* `float`: any float dtype, bound per call (in fn signatures) */
    const char *shape; /* decoded shape string */
    uint32_t shape_len;
    Loc loc;           /* the whole type */
    Loc shape_loc;     /* the string literal, quotes included */
};

typedef struct Param {
    Name name;
    TypeExpr *type;
} Param;

typedef struct Block {
    Stmt **stmts;
    int nstmts;
    Loc loc;
} Block;

typedef enum { ST_ASSIGN, ST_RETURN, ST_FOR, ST_MINIMIZE } StmtKind;

struct Stmt {
    StmtKind kind;
    Loc loc;
    union {
        struct {
            Name *targets;
            int ntargets;
            Expr *value;
        } assign;
        struct {
            Expr **values;
            int nvalues;
        } ret;
        struct {
            Name var;
            Expr *lo, *hi;
            Block body;
        } loop;
        struct {
            Expr *loss;
            Name optimizer;
            Arg *args;
            int nargs;
        } minimize;
    };
};

typedef enum { DECL_IMPORT, DECL_DIM, DECL_CONST, DECL_PARAM, DECL_FN, DECL_TRAIN } DeclKind;

typedef struct Decl {
    DeclKind kind;
    Loc loc;
    Name name;         /* import: the path, as written */
    Expr *value;       /* dim size (may be NULL), const value, param initialiser (may be NULL) */
    TypeExpr *type;    /* param */
    Param *params;     /* fn, train */
    int nparams;
    TypeExpr **results; /* fn */
    int nresults;
    bool has_param_list; /* train step(...) rather than train step */
    bool broken;         /* had syntax errors: skip checks that they would make spurious */
    Block body;
} Decl;

typedef struct Module {
    const SourceFile *file;
    Decl **decls;
    int ndecls;
    int syntax_errors;
    PtrVec broken_names; /* identifiers in statements with syntax errors (const char *) */
} Module;

/* Builders, called from the grammar's actions. Lists are collected in PtrVecs
 * and frozen into arrays when the enclosing node is built. */
Expr *ast_int(Arena *a, Loc loc, int64_t v);
Expr *ast_bool(Arena *a, Loc loc, bool v);
Expr *ast_float(Arena *a, Loc loc, double v);
Expr *ast_string(Arena *a, Loc loc, const char *text, uint32_t len);
Expr *ast_name(Arena *a, Name n);
Expr *ast_dtype(Arena *a, Loc loc, Dtype t);
Expr *ast_unary(Arena *a, Loc op_loc, OpKind op, Expr *operand);
Expr *ast_binary(Arena *a, OpKind op, Expr *lhs, Expr *rhs);
Expr *ast_call(Arena *a, Name callee, PtrVec *args, Loc close_paren);
Expr *ast_index(Arena *a, Expr *base, Expr *index, Loc close_bracket);
Expr *ast_cast(Arena *a, Expr *value, Dtype t, Loc dtype_loc);
Expr *ast_paren(Expr *inner, Loc open, Loc close);
Arg *ast_arg(Arena *a, Name keyword, Expr *value); /* keyword.text NULL: positional */

TypeExpr *ast_type(Arena *a, Loc dtype_loc, Dtype t, const Expr *shape_string, Loc close);
Param *ast_param(Arena *a, Name name, TypeExpr *type);

Stmt *ast_assign(Arena *a, PtrVec *targets, Expr *value);
Stmt *ast_return(Arena *a, Loc kw, PtrVec *values);
Stmt *ast_for(Arena *a, Loc kw, Name var, Expr *lo, Expr *hi, Block body);
Stmt *ast_minimize(Arena *a, Loc kw, Expr *loss, Name optimizer, PtrVec *args, Loc close);
Block ast_block(Arena *a, Loc open, PtrVec *stmts, Loc close);

Decl *ast_import(Arena *a, Loc kw, const Expr *path);
Decl *ast_dim(Arena *a, Loc kw, Name name, Expr *size);
Decl *ast_const(Arena *a, Loc kw, Name name, Expr *value);
Decl *ast_param_decl(Arena *a, Loc kw, Name name, TypeExpr *type, Expr *init);
Decl *ast_fn(Arena *a, Loc kw, Name name, PtrVec *params, PtrVec *results, Block body);
Decl *ast_train(Arena *a, Loc kw, Name name, PtrVec *params, bool has_param_list, Block body);

#endif
