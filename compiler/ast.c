/* ast.c - builders for the syntax tree (see ast.h). Each takes the pieces the
 * grammar rule matched and computes the node's source range from them. */
#include "ast.h"

#include <string.h>

const char *op_spelling(OpKind op)
{
    static const char *spelling[] = {
        [OP_ADD] = "+", [OP_SUB] = "-", [OP_MUL] = "*", [OP_DIV] = "/", [OP_POW] = "**",
        [OP_MATMUL] = "@", [OP_EQ] = "==", [OP_NE] = "!=", [OP_LT] = "<", [OP_LE] = "<=",
        [OP_GT] = ">", [OP_GE] = ">=", [OP_NEG] = "-",
    };
    return spelling[op];
}

const char *type_expr_dtype(const TypeExpr *t) { return t->any_float ? "float" : dtype_name(t->dtype); }

static Expr *new_expr(Arena *a, ExprKind kind, Loc loc)
{
    Expr *e = arena_alloc(a, sizeof *e);
    e->kind = kind;
    e->loc = loc;
    return e;
}

Expr *ast_int(Arena *a, Loc loc, int64_t v)
{
    Expr *e = new_expr(a, EX_INT, loc);
    e->int_value = v;
    return e;
}

Expr *ast_bool(Arena *a, Loc loc, bool v)
{
    Expr *e = new_expr(a, EX_BOOL, loc);
    e->int_value = v;
    return e;
}

Expr *ast_float(Arena *a, Loc loc, double v)
{
    Expr *e = new_expr(a, EX_FLOAT, loc);
    e->float_value = v;
    return e;
}

Expr *ast_string(Arena *a, Loc loc, const char *text, uint32_t len)
{
    Expr *e = new_expr(a, EX_STRING, loc);
    e->string.text = text;
    e->string.len = len;
    return e;
}

Expr *ast_name(Arena *a, Name n)
{
    Expr *e = new_expr(a, EX_NAME, n.loc);
    e->name = n.text;
    return e;
}

Expr *ast_dtype(Arena *a, Loc loc, Dtype t)
{
    Expr *e = new_expr(a, EX_DTYPE, loc);
    e->dtype = t;
    return e;
}

Expr *ast_unary(Arena *a, Loc op_loc, OpKind op, Expr *operand)
{
    Expr *e = new_expr(a, EX_UNARY, loc_span(op_loc, operand->loc));
    e->op.op = op;
    e->op.lhs = operand;
    return e;
}

Expr *ast_binary(Arena *a, OpKind op, Expr *lhs, Expr *rhs)
{
    Expr *e = new_expr(a, EX_BINARY, loc_span(lhs->loc, rhs->loc));
    e->op.op = op;
    e->op.lhs = lhs;
    e->op.rhs = rhs;
    return e;
}

static Arg *freeze_args(Arena *a, PtrVec *args, int *n)
{
    *n = args ? (int)args->len : 0;
    Arg *out = arena_array(a, *n ? (size_t)*n : 1, sizeof *out);
    for (int i = 0; i < *n; i++)
        out[i] = *(Arg *)args->items[i];
    return out;
}

Expr *ast_call(Arena *a, Name callee, PtrVec *args, Loc close_paren)
{
    Expr *e = new_expr(a, EX_CALL, loc_span(callee.loc, close_paren));
    e->call.callee = callee;
    e->call.args = freeze_args(a, args, &e->call.nargs);
    return e;
}

Expr *ast_index(Arena *a, Expr *base, Expr *index, Loc close_bracket)
{
    Expr *e = new_expr(a, EX_INDEX, loc_span(base->loc, close_bracket));
    e->index.base = base;
    e->index.index = index;
    return e;
}

Expr *ast_cast(Arena *a, Expr *value, Dtype t, Loc dtype_loc)
{
    Expr *e = new_expr(a, EX_CAST, loc_span(value->loc, dtype_loc));
    e->cast.value = value;
    e->cast.dtype = t;
    e->cast.dtype_loc = dtype_loc;
    return e;
}

Expr *ast_paren(Expr *inner, Loc open, Loc close)
{
    inner->loc = loc_span(open, close); /* so `(x - w) ** 2` underlines whole */
    return inner;
}

Arg *ast_arg(Arena *a, Name keyword, Expr *value)
{
    Arg *arg = arena_alloc(a, sizeof *arg);
    arg->keyword = keyword;
    arg->value = value;
    return arg;
}

TypeExpr *ast_type(Arena *a, Loc dtype_loc, Dtype t, const Expr *shape_string, Loc close)
{
    TypeExpr *ty = arena_alloc(a, sizeof *ty);
    ty->dtype = t;
    ty->loc = dtype_loc;
    if (shape_string) {
        ty->is_tensor = true;
        ty->shape = shape_string->string.text;
        ty->shape_len = shape_string->string.len;
        ty->shape_loc = shape_string->loc;
        ty->loc = loc_span(dtype_loc, close);
    }
    return ty;
}

Param *ast_param(Arena *a, Name name, TypeExpr *type)
{
    Param *p = arena_alloc(a, sizeof *p);
    p->name = name;
    p->type = type;
    return p;
}

Stmt *ast_assign(Arena *a, PtrVec *targets, Expr *value)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = ST_ASSIGN;
    s->assign.ntargets = (int)targets->len;
    s->assign.targets = arena_array(a, targets->len, sizeof(Name));
    for (size_t i = 0; i < targets->len; i++)
        s->assign.targets[i] = *(Name *)targets->items[i];
    s->assign.value = value;
    s->loc = loc_span(s->assign.targets[0].loc, value->loc);
    return s;
}

Stmt *ast_return(Arena *a, Loc kw, PtrVec *values)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = ST_RETURN;
    s->ret.nvalues = (int)values->len;
    s->ret.values = arena_array(a, values->len, sizeof(Expr *));
    memcpy(s->ret.values, values->items, values->len * sizeof(Expr *));
    s->loc = loc_span(kw, s->ret.values[values->len - 1]->loc);
    return s;
}

Stmt *ast_for(Arena *a, Loc kw, Name var, Expr *lo, Expr *hi, Block body)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = ST_FOR;
    s->loc = loc_span(kw, hi->loc);
    s->loop.var = var;
    s->loop.lo = lo;
    s->loop.hi = hi;
    s->loop.body = body;
    return s;
}

Stmt *ast_minimize(Arena *a, Loc kw, Expr *loss, Name optimizer, PtrVec *args, Loc close)
{
    Stmt *s = arena_alloc(a, sizeof *s);
    s->kind = ST_MINIMIZE;
    s->loc = loc_span(kw, close);
    s->minimize.loss = loss;
    s->minimize.optimizer = optimizer;
    s->minimize.args = freeze_args(a, args, &s->minimize.nargs);
    return s;
}

Block ast_block(Arena *a, Loc open, PtrVec *stmts, Loc close)
{
    Block b = {.loc = loc_span(open, close)};
    b.nstmts = stmts ? (int)stmts->len : 0;
    b.stmts = arena_array(a, b.nstmts ? (size_t)b.nstmts : 1, sizeof(Stmt *));
    if (b.nstmts)
        memcpy(b.stmts, stmts->items, (size_t)b.nstmts * sizeof(Stmt *));
    return b;
}

static Decl *new_decl(Arena *a, DeclKind kind, Loc loc, Name name)
{
    Decl *d = arena_alloc(a, sizeof *d);
    d->kind = kind;
    d->loc = loc;
    d->name = name;
    return d;
}

Decl *ast_import(Arena *a, Loc kw, const Expr *path)
{
    Name n = {path->string.text, path->loc};
    Decl *d = new_decl(a, DECL_IMPORT, loc_span(kw, path->loc), n);
    d->broken = strlen(path->string.text) != path->string.len; /* a NUL inside the path */
    return d;
}

Decl *ast_dim(Arena *a, Loc kw, Name name, Expr *size)
{
    Decl *d = new_decl(a, DECL_DIM, loc_span(kw, size ? size->loc : name.loc), name);
    d->value = size;
    return d;
}

Decl *ast_const(Arena *a, Loc kw, Name name, Expr *value)
{
    Decl *d = new_decl(a, DECL_CONST, loc_span(kw, value->loc), name);
    d->value = value;
    return d;
}

Decl *ast_param_decl(Arena *a, Loc kw, Name name, TypeExpr *type, Expr *init)
{
    Decl *d = new_decl(a, DECL_PARAM, loc_span(kw, init ? init->loc : type->loc), name);
    d->type = type;
    d->value = init;
    return d;
}

static Param *freeze_params(Arena *a, PtrVec *params, int *n)
{
    *n = params ? (int)params->len : 0;
    Param *out = arena_array(a, *n ? (size_t)*n : 1, sizeof *out);
    for (int i = 0; i < *n; i++)
        out[i] = *(Param *)params->items[i];
    return out;
}

Decl *ast_fn(Arena *a, Loc kw, Name name, PtrVec *params, PtrVec *results, Block body)
{
    Decl *d = new_decl(a, DECL_FN, loc_span(kw, name.loc), name);
    d->params = freeze_params(a, params, &d->nparams);
    d->nresults = results ? (int)results->len : 0;
    d->results = arena_array(a, d->nresults ? (size_t)d->nresults : 1, sizeof(TypeExpr *));
    if (d->nresults)
        memcpy(d->results, results->items, (size_t)d->nresults * sizeof(TypeExpr *));
    d->body = body;
    return d;
}

Decl *ast_train(Arena *a, Loc kw, Name name, PtrVec *params, bool has_param_list, Block body)
{
    Decl *d = new_decl(a, DECL_TRAIN, loc_span(kw, name.loc), name);
    d->params = freeze_params(a, params, &d->nparams);
    d->has_param_list = has_param_list;
    d->body = body;
    return d;
}
