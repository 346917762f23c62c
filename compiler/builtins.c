/* builtins.c - the built-in functions: einops operations, elementwise math,
 * constructors, param initialisers and optimizers.
 *
 * Each built-in names its parameters (positional, then by keyword) in one
 * table; bind_args() matches a call against it and reports unknown,
 * repeated and missing arguments the same way for all of them. */
#include "check_internal.h"

#include <math.h>
#include <string.h>

typedef enum {
    B_EINSUM, B_REDUCE, B_REARRANGE, B_REPEAT, B_TAKE,
    B_UNARY_FLOAT, B_UNARY_ANY, B_MAXMIN, B_WHERE, B_TRI,
    B_FILL, B_RANDOM, B_FULL, B_ARANGE,
    B_INIT, B_OPTIM, B_GRAD,
} BuiltinKind;

typedef struct Builtin {
    const char *name;
    BuiltinKind kind;
    const char *params[8]; /* parameter names in positional order; "" ends */
    int required;          /* how many of them must be given */
} Builtin;

static const Builtin builtins[] = {
    {"einsum", B_EINSUM, {""}, 0},
    {"grad", B_GRAD, {""}, 0},
    {"reduce", B_REDUCE, {"x", "pattern", "reduction"}, 3},
    {"rearrange", B_REARRANGE, {"x", "pattern"}, 2},
    {"repeat", B_REPEAT, {"x", "pattern"}, 2},
    {"take", B_TAKE, {"table", "indices", "pattern"}, 3},
    {"sqrt", B_UNARY_FLOAT, {"x"}, 1}, {"rsqrt", B_UNARY_FLOAT, {"x"}, 1}, {"exp", B_UNARY_FLOAT, {"x"}, 1},
    {"log", B_UNARY_FLOAT, {"x"}, 1}, {"tanh", B_UNARY_FLOAT, {"x"}, 1}, {"sigmoid", B_UNARY_FLOAT, {"x"}, 1},
    {"gelu", B_UNARY_FLOAT, {"x"}, 1}, {"silu", B_UNARY_FLOAT, {"x"}, 1}, {"sin", B_UNARY_FLOAT, {"x"}, 1},
    {"cos", B_UNARY_FLOAT, {"x"}, 1},
    {"abs", B_UNARY_ANY, {"x"}, 1}, {"relu", B_UNARY_ANY, {"x"}, 1},
    {"max", B_MAXMIN, {"a", "b"}, 2}, {"min", B_MAXMIN, {"a", "b"}, 2},
    {"where", B_WHERE, {"condition", "a", "b"}, 3},
    {"triu", B_TRI, {"x", "diagonal"}, 1}, {"tril", B_TRI, {"x", "diagonal"}, 1},
    {"zeros", B_FILL, {"shape", "dtype"}, 1}, {"ones", B_FILL, {"shape", "dtype"}, 1},
    {"randn", B_RANDOM, {"shape", "dtype"}, 1}, {"rand", B_RANDOM, {"shape", "dtype"}, 1},
    {"full", B_FULL, {"shape", "value", "dtype"}, 2},
    {"arange", B_ARANGE, {"shape", "dtype"}, 1},
    /* initialisers: only after `param NAME: TYPE =` */
    {"normal", B_INIT, {"mean", "std"}, 0},
    {"trunc_normal", B_INIT, {"mean", "std", "a", "b"}, 0},
    {"uniform", B_INIT, {"a", "b"}, 0},
    {"constant", B_INIT, {"value"}, 1},
    {"xavier_uniform", B_INIT, {"gain"}, 0}, {"xavier_normal", B_INIT, {"gain"}, 0},
    {"kaiming_uniform", B_INIT, {"a", "mode", "nonlinearity"}, 0},
    {"kaiming_normal", B_INIT, {"a", "mode", "nonlinearity"}, 0},
    /* optimizers: only after `minimize LOSS with` */
    {"sgd", B_OPTIM, {"lr", "momentum", "dampening", "weight_decay", "nesterov"}, 0},
    {"adam", B_OPTIM, {"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"}, 0},
    {"adamw", B_OPTIM, {"lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad"}, 0},
    {"adagrad", B_OPTIM, {"lr", "lr_decay", "weight_decay", "eps", "initial_accumulator_value"}, 0},
    {"rmsprop", B_OPTIM, {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}, 0},
};

static const Builtin *find_builtin(const char *name, BuiltinKind only, bool any)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0 && (any || builtins[i].kind == only || (only == B_INIT && builtins[i].kind == B_FILL)))
            return &builtins[i];
    return NULL;
}

bool builtin_exists(const char *name) { return find_builtin(name, 0, true) != NULL; }

const char *builtin_name(int i) { return i >= 0 && (size_t)i < sizeof builtins / sizeof builtins[0] ? builtins[i].name : NULL; }

static int nparams(const Builtin *b)
{
    int n = 0;
    while (n < 8 && b->params[n] && b->params[n][0])
        n++;
    return n;
}

/* Matches a call's arguments to the built-in's parameters. With `extra`,
 * keywords that are not parameters are collected there (einops sizes). */
static bool bind_args(Checker *c, const Builtin *b, const Name *callee, const Arg *args, int nargs, const Arg **out,
                      PtrVec *extra, Loc call_loc)
{
    int np = nparams(b);
    bool ok = true, seen_keyword = false;
    int positional = 0;
    for (int i = 0; i < np; i++)
        out[i] = NULL;
    for (int i = 0; i < nargs; i++) {
        const Arg *a = &args[i];
        if (!a->keyword.text) {
            if (seen_keyword) {
                diag_error(a->value->loc, "positional argument after a keyword argument");
                ok = false;
            } else if (positional >= np) {
                diag_error(a->value->loc, "'%s' takes %s%d positional argument%s", callee->text, np == b->required ? "" : "at most ",
                           np, np == 1 ? "" : "s");
                ok = false;
            } else {
                out[positional++] = a;
            }
            continue;
        }
        seen_keyword = true;
        int k = -1;
        for (int j = 0; j < np && !extra; j++) /* with sizes by keyword, the parameters are positional only */
            if (strcmp(b->params[j], a->keyword.text) == 0)
                k = j;
        if (k < 0) {
            if (extra) {
                ptrvec_push(c->arena, extra, (void *)a); /* repeats are found below, all at once */
                continue;
            }
            const char *list = "";
            for (int j = 0; j < np; j++)
                list = arena_printf(c->arena, "%s%s%s", list, j ? ", " : "", b->params[j]);
            diag_error(a->keyword.loc, "'%s' has no parameter '%s'%s%s", callee->text, a->keyword.text,
                       np ? "; it takes " : "", list);
            ok = false;
        } else if (out[k]) {
            diag_error(a->keyword.loc, "argument '%s' of '%s' is given twice", b->params[k], callee->text);
            ok = false;
        } else {
            out[k] = a;
        }
    }
    if (extra && extra->len > 1) {
        NamedLoc *sizes = arena_array(c->arena, extra->len, sizeof *sizes);
        for (size_t j = 0; j < extra->len; j++)
            sizes[j] = (NamedLoc){.text = ((const Arg *)extra->items[j])->keyword.text,
                                  .loc = ((const Arg *)extra->items[j])->keyword.loc};
        if (check_repeated_names(c, sizes, (int)extra->len, "size of '%s' is given twice", NULL))
            ok = false;
    }
    for (int i = 0; i < b->required && ok; i++)
        if (!out[i]) {
            const Arg *named = NULL;
            for (size_t j = 0; extra && j < extra->len; j++)
                if (strcmp(((const Arg *)extra->items[j])->keyword.text, b->params[i]) == 0)
                    named = extra->items[j];
            if (named)
                diag_error(named->keyword.loc, "give the %s of '%s' by position, before any axis sizes", b->params[i], callee->text);
            else
                diag_error(call_loc, "'%s' needs its argument '%s'", callee->text, b->params[i]);
            ok = false;
        }
    return ok;
}

static const char *string_of(const Value *v) { return v->string->string.text; }

static bool want_tensor(Checker *c, const Value *v, const Expr *e, const char *fn, const char *what)
{
    if (value_is_error(v))
        return false;
    if (v->kind != VAL_TENSOR) {
        diag_error(e->loc, "%s of '%s' must be a tensor, not %s", what, fn, value_desc(c, v));
        return false;
    }
    return true;
}

static bool want_string(Checker *c, const Value *v, const Expr *e, const char *fn, const char *what)
{
    if (value_is_error(v))
        return false;
    if (v->kind != VAL_STRING) {
        diag_error(e->loc, "%s of '%s' must be a string, not %s", what, fn, value_desc(c, v));
        return false;
    }
    return true;
}

/* ---- einops operations ---- */

static Pattern *parse_pattern_arg(Checker *c, const Value *v, PatternOp op, int ninputs)
{
    const Expr *s = v->string;
    return pattern_parse(c->arena, s->string.text, s->string.len, s->loc, op, ninputs);
}

static Value check_einsum(Checker *c, Env *env, const Expr *call)
{
    int n = call->call.nargs;
    const Arg *args = call->call.args;
    for (int i = 0; i < n; i++)
        if (args[i].keyword.text) {
            diag_error(args[i].keyword.loc, "einsum takes tensors and a pattern, by position");
            return value_error();
        }
    if (n < 2) {
        diag_error(call->loc, "einsum needs at least one tensor and a pattern: einsum(a, b, \"i j, j k -> i k\")");
        return value_error();
    }
    Value *vals = arena_array(c->arena, (size_t)n, sizeof(Value));
    bool ok = true;
    for (int i = 0; i < n; i++)
        vals[i] = check_expr(c, env, args[i].value);
    if (!want_string(c, &vals[n - 1], args[n - 1].value, "einsum", "the last argument"))
        return value_error();
    Operand *ops = arena_array(c->arena, (size_t)n, sizeof(Operand));
    Value acc = {0};
    for (int i = 0; i < n - 1; i++) {
        if (!want_tensor(c, &vals[i], args[i].value, "einsum", arena_printf(c->arena, "operand %d", i + 1))) {
            ok = false;
            continue;
        }
        if (vals[i].type.dtype == DT_BOOL && !vals[i].type.weak) {
            diag_error(args[i].value->loc, "einsum of bool values; convert them with 'as'");
            ok = false;
        }
        if (i == 0) {
            acc = vals[0];
        } else if (ok) {
            bool pok;
            Type t = promote(c, &acc, &vals[i], args[i].value->loc, "einsum", &pok);
            if (!pok)
                ok = false;
            acc.type.dtype = t.dtype;
            acc.type.weak = t.weak;
        }
        ops[i] = operand_of(c, &vals[i], args[i].value, i);
    }
    if (!ok)
        return value_error();
    Pattern *p = parse_pattern_arg(c, &vals[n - 1], PAT_EINSUM, n - 1);
    if (!p)
        return value_error();
    Type t = shape_einsum(&c->shape, p, ops, n - 1);
    if (t.error)
        return value_error();
    t.dtype = acc.type.weak ? DT_F32 : acc.type.dtype;
    Value r = value_tensor(t);
    lower_einsum(c, p, vals, n - 1, &r, call->loc);
    return r;
}

static bool size_args(Checker *c, Env *env, PtrVec *extra, SizeArg **out, int *n)
{
    *n = (int)extra->len;
    *out = arena_array(c->arena, extra->len + 1, sizeof(SizeArg));
    bool ok = true;
    for (size_t i = 0; i < extra->len; i++) {
        const Arg *a = extra->items[i];
        Value v = check_expr(c, env, a->value);
        (*out)[i].name = a->keyword.text;
        (*out)[i].loc = a->keyword.loc;
        if (!value_to_size(c, &v, a->value->loc, arena_printf(c->arena, "the size of axis '%s'", a->keyword.text), &(*out)[i].size))
            ok = false;
    }
    return ok;
}

static Value check_einops(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[3];
    PtrVec extra = {0};
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, &extra, call->loc))
        return value_error();
    const char *fn = b->name;
    Value x = check_expr(c, env, args[0]->value);
    Value pat = check_expr(c, env, args[1]->value);
    bool ok = want_tensor(c, &x, args[0]->value, fn, "the first argument");
    ok = want_string(c, &pat, args[1]->value, fn, "the pattern") && ok;
    PatternOp op = b->kind == B_REDUCE ? PAT_REDUCE : b->kind == B_REARRANGE ? PAT_REARRANGE : PAT_REPEAT;
    Dtype result = x.type.dtype;
    const char *reduction = NULL;
    if (b->kind == B_REDUCE) {
        Value how = check_expr(c, env, args[2]->value);
        if (!want_string(c, &how, args[2]->value, fn, "the reduction")) {
            ok = false;
        } else {
            const char *r = string_of(&how);
            reduction = r;
            static const char *const kinds[] = {"sum", "mean", "max", "min", "prod"};
            bool known = false;
            for (int i = 0; i < 5; i++)
                known |= strcmp(r, kinds[i]) == 0;
            if (!known) {
                diag_error(args[2]->value->loc, "unknown reduction \"%s\"; use \"sum\", \"mean\", \"max\", \"min\" or \"prod\"", r);
                ok = false;
            } else if (ok && strcmp(r, "mean") == 0 && !dtype_is_float(x.type.dtype) && !x.type.weak) {
                diag_error(args[2]->value->loc, "\"mean\" of %s values; convert them to a float dtype with 'as' first",
                           dtype_name(x.type.dtype));
                ok = false;
            } else if (x.type.dtype == DT_BOOL && (strcmp(r, "sum") == 0 || strcmp(r, "prod") == 0)) {
                result = DT_I64;
            }
        }
    }
    SizeArg *sizes;
    int nsizes;
    ok = size_args(c, env, &extra, &sizes, &nsizes) && ok;
    if (!ok)
        return value_error();
    Pattern *p = parse_pattern_arg(c, &pat, op, 1);
    if (!p)
        return value_error();
    Operand opnd = operand_of(c, &x, args[0]->value, 0);
    Type t = shape_einops(&c->shape, op, p, &opnd, sizes, nsizes);
    if (t.error)
        return value_error();
    t.dtype = result;
    t.weak = false;
    Value r = value_tensor(t);
    lower_einops(c, op, p, &x, sizes, nsizes, reduction, &r, call->loc);
    return r;
}

static Value check_take(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[3];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Value table = check_expr(c, env, args[0]->value), idx = check_expr(c, env, args[1]->value);
    Value pat = check_expr(c, env, args[2]->value);
    bool ok = want_tensor(c, &table, args[0]->value, "take", "the table");
    ok = want_tensor(c, &idx, args[1]->value, "take", "the indices") && ok;
    ok = want_string(c, &pat, args[2]->value, "take", "the pattern") && ok;
    if (!ok)
        return value_error();
    if (dtype_kind(idx.type.dtype) != DK_INT || idx.type.weak) {
        diag_error(args[1]->value->loc, "the indices of take must be an integer tensor (i64, i32 or u16), not %s",
                   value_desc(c, &idx));
        return value_error();
    }
    Pattern *p = parse_pattern_arg(c, &pat, PAT_TAKE, 2);
    if (!p)
        return value_error();
    Operand t = operand_of(c, &table, args[0]->value, 0), i = operand_of(c, &idx, args[1]->value, 1);
    Type r = shape_take(&c->shape, p, &t, &i);
    if (r.error)
        return value_error();
    Value v = value_tensor(r);
    lower_take(c, p, &table, &idx, &v, call->loc);
    return v;
}

/* ---- elementwise ---- */

static double fold_unary(const char *fn, double x)
{
    if (!strcmp(fn, "sqrt")) return sqrt(x);
    if (!strcmp(fn, "rsqrt")) return 1 / sqrt(x);
    if (!strcmp(fn, "exp")) return exp(x);
    if (!strcmp(fn, "log")) return log(x);
    if (!strcmp(fn, "tanh")) return tanh(x);
    if (!strcmp(fn, "sigmoid")) return 1 / (1 + exp(-x));
    if (!strcmp(fn, "gelu")) return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (!strcmp(fn, "silu")) return x / (1 + exp(-x));
    if (!strcmp(fn, "sin")) return sin(x);
    if (!strcmp(fn, "cos")) return cos(x);
    if (!strcmp(fn, "abs")) return fabs(x);
    if (!strcmp(fn, "relu")) return x > 0 ? x : 0;
    return NAN;
}

static Value check_unary(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[1];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Value x = check_expr(c, env, args[0]->value);
    if (!want_tensor(c, &x, args[0]->value, b->name, "the argument"))
        return value_error();
    if (b->kind == B_UNARY_FLOAT && !dtype_is_float(x.type.dtype) && !x.type.weak) {
        diag_error(args[0]->value->loc, "'%s' needs a floating-point tensor, but this is %s; convert it with 'as f32'", b->name,
                   value_desc(c, &x));
        return value_error();
    }
    if (x.type.dtype == DT_BOOL && !x.type.weak) {
        diag_error(args[0]->value->loc, "'%s' of a bool value; convert it with 'as'", b->name);
        return value_error();
    }
    Value r = value_tensor(x.type);
    if (b->kind == B_UNARY_FLOAT && x.type.weak)
        r.type.dtype = DT_F32;
    if (x.known) {
        double f = x.known_is_int ? (double)x.int_value : x.float_value;
        double y = fold_unary(b->name, f);
        if (isnan(y) && !isnan(f)) {
            diag_error(call->loc, "'%s' of %g is not a number", b->name, f);
            return value_error();
        }
        if (b->kind == B_UNARY_ANY && x.known_is_int) {
            r = value_int(x.int_value < 0 ? (strcmp(b->name, "abs") == 0 ? -x.int_value : 0) : x.int_value);
            r.type = x.type;
        } else {
            r.known = true;
            r.float_value = y;
        }
    }
    lower_call1(c, b->name, &x, &r, call->loc);
    return r;
}

static Value check_maxmin(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    if (call->call.nargs == 1 && !call->call.args[0].keyword.text) {
        diag_error(call->loc, "'%s' of one tensor is a reduction: write reduce(x, \"... n -> ...\", \"%s\")", b->name, b->name);
        return value_error();
    }
    const Arg *args[2];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Value x = check_expr(c, env, args[0]->value), y = check_expr(c, env, args[1]->value);
    bool ok = want_tensor(c, &x, args[0]->value, b->name, "the first argument");
    ok = want_tensor(c, &y, args[1]->value, b->name, "the second argument") && ok;
    if (!ok)
        return value_error();
    bool pok;
    Type dt = promote(c, &x, &y, call->loc, b->name, &pok);
    if (!pok)
        return value_error();
    Operand ops[2] = {operand_of(c, &x, args[0]->value, 0), operand_of(c, &y, args[1]->value, 1)};
    Type t = shape_broadcast(&c->shape, ops, 2, dt.dtype, call->loc, b->name);
    if (t.error)
        return value_error();
    t.weak = dt.weak;
    Value r = value_tensor(t);
    if (x.known && y.known) {
        bool take_x = strcmp(b->name, "max") == 0 ? x.float_value >= y.float_value : x.float_value <= y.float_value;
        if (x.known_is_int && y.known_is_int)
            take_x = strcmp(b->name, "max") == 0 ? x.int_value >= y.int_value : x.int_value <= y.int_value;
        r = take_x ? x : y;
        r.type = t;
        r.origin = NULL;
    }
    lower_maxmin(c, strcmp(b->name, "max") == 0, &x, &y, &r, call->loc);
    return r;
}

static Value check_where(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[3];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Value v[3];
    bool ok = true;
    for (int i = 0; i < 3; i++) {
        v[i] = check_expr(c, env, args[i]->value);
        ok = want_tensor(c, &v[i], args[i]->value, "where", i == 0 ? "the condition" : i == 1 ? "the second argument" : "the third argument") && ok;
    }
    if (!ok)
        return value_error();
    if (v[0].type.dtype != DT_BOOL) {
        diag_error(args[0]->value->loc, "the condition of where must be bool, not %s; compare it, e.g. x > 0", value_desc(c, &v[0]));
        return value_error();
    }
    bool pok;
    Type dt = promote(c, &v[1], &v[2], call->loc, "where", &pok);
    if (!pok)
        return value_error();
    Operand ops[3];
    for (int i = 0; i < 3; i++)
        ops[i] = operand_of(c, &v[i], args[i]->value, i);
    Type t = shape_broadcast(&c->shape, ops, 3, dt.weak ? (dtype_is_float(dt.dtype) ? DT_F32 : DT_I64) : dt.dtype, call->loc, "where");
    if (t.error)
        return value_error();
    Value r = value_tensor(t);
    lower_where(c, v, &r, call->loc);
    return r;
}

static Value check_tri(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[2];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Value x = check_expr(c, env, args[0]->value);
    if (!want_tensor(c, &x, args[0]->value, b->name, "the argument"))
        return value_error();
    int64_t k = 0;
    if (args[1]) {
        Value d = check_expr(c, env, args[1]->value);
        if (!value_is_error(&d) && !value_static_int(&d, &k)) {
            diag_error(args[1]->value->loc, "the diagonal of '%s' must be an integer known at compile time", b->name);
            return value_error();
        }
    }
    if (x.type.rank < 2) {
        Operand op = operand_of(c, &x, args[0]->value, 0);
        if (diag_error(args[0]->value->loc, "'%s' needs a tensor with at least 2 axes, but this has %d", b->name, x.type.rank))
            explain_operand(c, &op);
        return value_error();
    }
    Value r = value_tensor(x.type);
    lower_tri(c, b->name[3] == 'u', &x, k, &r, call->loc);
    return r;
}

/* ---- constructors ---- */

static bool shape_arg(Checker *c, Env *env, const Arg *a, const char *fn, Type *out, Dtype dt)
{
    Value s = check_expr(c, env, a->value);
    if (!want_string(c, &s, a->value, fn, "the shape"))
        return false;
    const Expr *lit = s.string;
    ShapeSpec *spec = check_shape_string(c, env, lit->string.text, lit->string.len, lit->loc, env && env->has_ellipsis);
    if (!spec)
        return false;
    int rank = 0;
    Size *dims = arena_array(c->arena, (size_t)spec->naxes + (size_t)(env ? env->nellipsis : 0) + 1, sizeof(Size));
    for (int i = 0; i < spec->naxes; i++) {
        if (spec->axes[i].is_ellipsis) {
            for (int k = 0; k < env->nellipsis; k++)
                dims[rank++] = env->ellipsis[k];
        } else {
            if (!size_is_surely_integral(spec->axes[i].size))
                check_require_integral(c, spec->axes[i].size, spec->axes[i].loc,
                                       arena_printf(c->arena, "axis '%s'", spec->axes[i].spelling));
            dims[rank++] = spec->axes[i].size;
        }
    }
    *out = type_tensor(c->arena, dt, rank, dims);
    return true;
}

static bool dtype_arg(Checker *c, Env *env, const Arg *a, Dtype *out)
{
    if (!a)
        return true;
    Value v = check_expr(c, env, a->value);
    if (value_is_error(&v))
        return false;
    if (v.kind != VAL_DTYPE) {
        diag_error(a->value->loc, "dtype must be a dtype such as f32 or bf16, not %s", value_desc(c, &v));
        return false;
    }
    *out = v.dtype_value;
    return true;
}

static Value check_constructor(Checker *c, Env *env, const Expr *call, const Builtin *b)
{
    const Arg *args[3];
    if (!bind_args(c, b, &call->call.callee, call->call.args, call->call.nargs, args, NULL, call->loc))
        return value_error();
    Dtype dt = b->kind == B_ARANGE ? DT_I64 : DT_F32;
    const Arg *dtype_a = b->kind == B_FULL ? args[2] : args[1];
    Value v = {0};
    if (b->kind == B_FULL) {
        v = check_expr(c, env, args[1]->value);
        if (value_is_error(&v))
            return value_error();
        if (v.kind != VAL_TENSOR || v.type.rank != 0 || !v.known) {
            diag_error(args[1]->value->loc, "the value of full must be a number known at compile time, not %s", value_desc(c, &v));
            return value_error();
        }
        dt = v.type.weak ? (v.known_is_int ? DT_I64 : DT_F32) : v.type.dtype;
    }
    if (!dtype_arg(c, env, dtype_a, &dt))
        return value_error();
    if (b->kind == B_RANDOM && !dtype_is_float(dt)) {
        diag_error(dtype_a->value->loc, "'%s' makes floating-point numbers; %s is not a float dtype", b->name, dtype_name(dt));
        return value_error();
    }
    Type t;
    if (!shape_arg(c, env, args[0], b->name, &t, dt))
        return value_error();
    if (b->kind == B_ARANGE && t.rank != 1) {
        diag_error(args[0]->value->loc, "arange makes a tensor with one axis, but the shape has %d", t.rank);
        return value_error();
    }
    Value r = value_tensor(t);
    lower_constructor(c, b->name, &v, &r, call->loc);
    return r;
}

/* grad(loss, x, ...): the gradient of a float scalar with respect to
 * tensors it was computed from, one result per tensor. */
static Value check_grad(Checker *c, Env *env, const Expr *call)
{
    int n = call->call.nargs;
    const Arg *args = call->call.args;
    for (int i = 0; i < n; i++)
        if (args[i].keyword.text) {
            diag_error(args[i].keyword.loc, "grad takes a loss and the tensors to differentiate by, by position");
            return value_error();
        }
    if (n < 2) {
        diag_error(call->loc, "grad needs a loss and at least one tensor: grad(loss, w)");
        return value_error();
    }
    Value *vals = arena_array(c->arena, (size_t)n, sizeof(Value));
    bool ok = true;
    for (int i = 0; i < n; i++) {
        vals[i] = check_expr(c, env, args[i].value);
        if (value_is_error(&vals[i])) {
            ok = false;
            continue;
        }
        const Value *v = &vals[i];
        bool is_float = v->kind == VAL_TENSOR && dtype_is_float(v->type.dtype) && !v->type.weak;
        if (i == 0 && (!is_float || v->type.rank != 0)) {
            if (diag_error(args[0].value->loc, "grad needs a floating-point scalar loss, but this is %s", value_desc(c, v)) &&
                v->kind == VAL_TENSOR && v->type.rank > 0)
                diag_note(args[0].value->loc, "reduce it first, e.g. reduce(loss, \"... ->\", \"mean\")");
            ok = false;
        } else if (i > 0 && (!is_float || v->known || v->has_size)) {
            diag_error(args[i].value->loc, "grad differentiates by floating-point tensors computed when the program runs, not %s",
                       value_desc(c, v));
            ok = false;
        }
    }
    if (!ok)
        return value_error();
    Value *items = arena_array(c->arena, (size_t)n, sizeof(Value));
    for (int i = 1; i < n; i++) {
        Type t = vals[i].type;
        if (dtype_is_narrow(t.dtype))
            t.dtype = DT_F32; /* gradients of narrow floats are kept in f32 */
        items[i - 1] = value_tensor(t);
    }
    lower_grad(c, vals, n, items, call->loc);
    if (n == 2)
        return items[0];
    Value r = {.kind = VAL_TUPLE, .items = items, .nitems = n - 1};
    return r;
}

Value check_builtin(Checker *c, Env *env, const Expr *call)
{
    const Builtin *b = find_builtin(call->call.callee.text, 0, true);
    switch (b->kind) {
    case B_EINSUM: return check_einsum(c, env, call);
    case B_GRAD: return check_grad(c, env, call);
    case B_REDUCE: case B_REARRANGE: case B_REPEAT: return check_einops(c, env, call, b);
    case B_TAKE: return check_take(c, env, call, b);
    case B_UNARY_FLOAT: case B_UNARY_ANY: return check_unary(c, env, call, b);
    case B_MAXMIN: return check_maxmin(c, env, call, b);
    case B_WHERE: return check_where(c, env, call, b);
    case B_TRI: return check_tri(c, env, call, b);
    case B_FILL: case B_RANDOM: case B_FULL: case B_ARANGE: return check_constructor(c, env, call, b);
    case B_INIT:
        diag_error(call->call.callee.loc, "'%s' is a param initialiser; use it as 'param w: f32[\"...\"] = %s(...)'", b->name, b->name);
        return value_error();
    case B_OPTIM:
        diag_error(call->call.callee.loc, "'%s' is an optimizer; use it as 'minimize loss with %s(...)' in a train block", b->name,
                   b->name);
        return value_error();
    }
    return value_error();
}

/* ---- param initialisers ---- */

static bool known_number(Checker *c, Env *env, const Arg *a, const char *what, double *out)
{
    Value v = check_expr(c, env, a->value);
    if (value_is_error(&v))
        return false;
    if (v.kind == VAL_TENSOR && v.type.dtype == DT_BOOL && !v.type.weak) {
        diag_error(a->value->loc, "%s must be a number, not a bool", what);
        return false;
    }
    return value_to_number(c, &v, a->value->loc, what, out);
}

static bool known_choice(Checker *c, Env *env, const Arg *a, const char *what, const char *const *choices, const char **out)
{
    Value v = check_expr(c, env, a->value);
    if (value_is_error(&v))
        return false;
    const char *list = "";
    for (int i = 0; choices[i]; i++)
        list = arena_printf(c->arena, "%s%s\"%s\"", list, i ? ", " : "", choices[i]);
    if (v.kind != VAL_STRING) {
        diag_error(a->value->loc, "%s must be one of %s, not %s", what, list, value_desc(c, &v));
        return false;
    }
    for (int i = 0; choices[i]; i++)
        if (strcmp(choices[i], string_of(&v)) == 0) {
            *out = choices[i];
            return true;
        }
    diag_error(a->value->loc, "%s must be one of %s, not \"%s\"", what, list, string_of(&v));
    return false;
}

static bool known_flag(Checker *c, Env *env, const Arg *a, const char *what)
{
    Value v = check_expr(c, env, a->value);
    if (value_is_error(&v))
        return false;
    if (v.kind == VAL_TENSOR && v.known && v.type.dtype == DT_BOOL && !v.type.weak)
        return v.int_value != 0;
    diag_error(a->value->loc, "%s must be true or false, not %s", what, value_desc(c, &v));
    return false;
}

void check_initializer(Checker *c, const Expr *init, Type t, const char *param_name)
{
    const Builtin *b = init->kind == EX_CALL ? find_builtin(init->call.callee.text, B_INIT, false) : NULL;
    if (!b) {
        diag_error(init->loc, "the initialiser of param '%s' must be one of normal, trunc_normal, uniform, constant, "
                              "xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, zeros() or ones()", param_name);
        return;
    }
    if (b->kind == B_FILL) {
        if (init->call.nargs > 0)
            diag_error(init->call.args[0].value->loc, "'%s()' as an initialiser takes no arguments; the param's type gives its shape",
                       b->name);
        return;
    }
    const Arg *args[8];
    if (!bind_args(c, b, &init->call.callee, init->call.args, init->call.nargs, args, NULL, init->loc))
        return;
    Env env = {0};
    bool fan = strncmp(b->name, "xavier", 6) == 0 || strncmp(b->name, "kaiming", 7) == 0;
    if (!t.error && strcmp(b->name, "constant") != 0 && !dtype_is_float(t.dtype)) {
        diag_error(init->loc, "'%s' makes floating-point values, but param '%s' is %s", b->name, param_name, dtype_name(t.dtype));
        return;
    }
    if (!t.error && fan && t.rank < 2) {
        diag_error(init->loc, "'%s' needs a param with at least 2 axes to compute fan-in and fan-out, but '%s' has %d", b->name,
                   param_name, t.rank);
        return;
    }
    double v[8] = {0};
    bool have[8] = {0};
    for (int i = 0; i < nparams(b); i++) {
        if (!args[i])
            continue;
        const char *pname = b->params[i];
        if (strcmp(pname, "mode") == 0) {
            static const char *const modes[] = {"fan_in", "fan_out", NULL};
            const char *m;
            known_choice(c, &env, args[i], "mode", modes, &m);
        } else if (strcmp(pname, "nonlinearity") == 0) {
            static const char *const gains[] = {"linear", "sigmoid", "tanh", "relu", "leaky_relu", "selu", NULL};
            const char *m;
            known_choice(c, &env, args[i], "nonlinearity", gains, &m);
        } else {
            have[i] = known_number(c, &env, args[i], arena_printf(c->arena, "'%s' of %s", pname, b->name), &v[i]);
        }
    }
    for (int i = 0; i < nparams(b); i++) {
        const char *pname = b->params[i];
        if (have[i] && (strcmp(pname, "std") == 0 || strcmp(pname, "gain") == 0) && !(v[i] > 0))
            diag_error(args[i]->value->loc, "'%s' of %s must be positive, not %g", pname, b->name, v[i]);
    }
    if ((strcmp(b->name, "uniform") == 0 || strcmp(b->name, "trunc_normal") == 0)) {
        int ia = strcmp(b->name, "uniform") == 0 ? 0 : 2;
        double lo = have[ia] ? v[ia] : ia ? -2 : 0, hi = have[ia + 1] ? v[ia + 1] : ia ? 2 : 1;
        if (!(lo < hi))
            diag_error(init->loc, "%s needs a < b, but a = %g and b = %g", b->name, lo, hi);
    }
}

/* ---- optimizers ---- */

/* The settings every optimizer takes besides its own hyper-parameters:
 * the learning-rate schedule, clipping and the params without weight decay. */
static const char *const train_settings[] = {"schedule", "warmup", "total", "min_lr", "step_size", "gamma", "clip",
                                             "no_decay", NULL};

static bool is_train_setting(const char *name)
{
    for (int i = 0; train_settings[i]; i++)
        if (!strcmp(train_settings[i], name))
            return true;
    return false;
}

static void spec_defaults(IrTrainSpec *t, const char *optimizer)
{
    static const struct { const char *name; OptimKind kind; double lr, wd; } table[] = {
        {"sgd", OPT_SGD, 1e-3, 0}, {"adagrad", OPT_ADAGRAD, 1e-2, 0}, {"rmsprop", OPT_RMSPROP, 1e-2, 0},
        {"adam", OPT_ADAM, 1e-3, 0}, {"adamw", OPT_ADAMW, 1e-3, 1e-2},
    };
    *t = (IrTrainSpec){.beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .alpha = 0.99, .gamma = 0.1, .step_size = 1};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, optimizer))
            t->optim = table[i].kind, t->lr = table[i].lr, t->weight_decay = table[i].wd;
    if (t->optim == OPT_ADAGRAD)
        t->eps = 1e-10;
}

static void set_hyper(IrTrainSpec *t, const char *p, double v)
{
    if (!strcmp(p, "lr")) t->lr = v;
    else if (!strcmp(p, "weight_decay")) t->weight_decay = v;
    else if (!strcmp(p, "momentum")) t->momentum = v;
    else if (!strcmp(p, "dampening")) t->dampening = v;
    else if (!strcmp(p, "beta1")) t->beta1 = v;
    else if (!strcmp(p, "beta2")) t->beta2 = v;
    else if (!strcmp(p, "eps")) t->eps = v;
    else if (!strcmp(p, "lr_decay")) t->lr_decay = v;
    else if (!strcmp(p, "initial_accumulator_value")) t->initial_accumulator_value = v;
    else if (!strcmp(p, "alpha")) t->alpha = v;
}

static bool whole_steps(Checker *c, Env *env, const Arg *a, const char *what, bool positive, int64_t *out)
{
    double v;
    if (!known_number(c, env, a, what, &v))
        return false;
    if (v != (double)(int64_t)v || v < (positive ? 1 : 0) || v > 1e15) {
        diag_error(a->value->loc, "%s must be a whole number of steps, %s, not %g", what, positive ? "at least 1" : "0 or more", v);
        return false;
    }
    *out = (int64_t)v;
    return true;
}

/* no_decay = "b1 b2 gain": names of params. */
static void no_decay_names(Checker *c, Env *env, const Arg *a, IrTrainSpec *t)
{
    Value v = check_expr(c, env, a->value);
    if (value_is_error(&v))
        return;
    if (v.kind != VAL_STRING) {
        diag_error(a->value->loc, "no_decay must be a string of param names, e.g. no_decay = \"b1 b2\", not %s", value_desc(c, &v));
        return;
    }
    const char *s = v.string->string.text;
    uint32_t len = v.string->string.len;
    t->no_decay = arena_array(c->arena, (size_t)len / 2 + 2, sizeof(char *));
    for (uint32_t i = 0; i < len;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
            i++;
            continue;
        }
        uint32_t start = i;
        while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
            i++;
        const char *name = arena_strndup(c->arena, s + start, i - start);
        Symbol *sym = check_lookup(c, name);
        if (!sym || sym->kind != SYM_PARAM) {
            diag_error(loc_sub(v.string->loc, start + 1, i - start), "'%s' in no_decay is not a param", name);
            continue;
        }
        t->no_decay[t->nno_decay++] = name;
    }
}

static void check_train_settings(Checker *c, Env *env, const Stmt *s, IrTrainSpec *t)
{
    const Arg *schedule = NULL;
    for (int i = 0; i < s->minimize.nargs; i++) {
        const Arg *a = &s->minimize.args[i];
        const char *k = a->keyword.text;
        if (!k || !is_train_setting(k))
            continue;
        for (int j = 0; j < i; j++)
            if (s->minimize.args[j].keyword.text && !strcmp(s->minimize.args[j].keyword.text, k))
                diag_error(a->keyword.loc, "'%s' is given twice", k);
        const char *what = arena_printf(c->arena, "'%s'", k);
        double v;
        if (!strcmp(k, "schedule")) {
            static const char *const kinds[] = {"constant", "cosine", "step", "linear", NULL};
            const char *kind;
            if (known_choice(c, env, a, "schedule", kinds, &kind)) {
                for (int j = 0; kinds[j]; j++)
                    if (!strcmp(kinds[j], kind))
                        t->schedule = (ScheduleKind)j;
                schedule = a;
            }
        } else if (!strcmp(k, "warmup")) {
            whole_steps(c, env, a, what, false, &t->warmup);
        } else if (!strcmp(k, "total")) {
            whole_steps(c, env, a, what, true, &t->total);
        } else if (!strcmp(k, "step_size")) {
            whole_steps(c, env, a, what, true, &t->step_size);
        } else if (!strcmp(k, "no_decay")) {
            no_decay_names(c, env, a, t);
        } else if (known_number(c, env, a, what, &v)) {
            if (!strcmp(k, "clip") ? !(v > 0) : !strcmp(k, "gamma") ? !(v > 0 && v <= 1) : !(v >= 0))
                diag_error(a->value->loc, "%s must be %s, not %g", what,
                           !strcmp(k, "clip") ? "positive" : !strcmp(k, "gamma") ? "in (0, 1]" : "0 or more", v);
            else if (!strcmp(k, "clip"))
                t->clip = v;
            else if (!strcmp(k, "gamma"))
                t->gamma = v;
            else
                t->min_lr = v;
        }
    }
    if (schedule && (t->schedule == SCHED_COSINE || t->schedule == SCHED_LINEAR) && t->total <= t->warmup)
        diag_error(schedule->value->loc, "a %s schedule needs total = the step it ends at, after the warmup of %lld steps",
                   t->schedule == SCHED_COSINE ? "cosine" : "linear", (long long)t->warmup);
}

void check_optimizer(Checker *c, Env *env, const Stmt *s, IrTrainSpec *spec)
{
    const Name *opt = &s->minimize.optimizer;
    const Builtin *b = find_builtin(opt->text, B_OPTIM, false);
    if (!b) {
        diag_error(opt->loc, "unknown optimizer '%s'; tdc has sgd, adam, adamw, adagrad and rmsprop", opt->text);
        return;
    }
    spec_defaults(spec, b->name);
    check_train_settings(c, env, s, spec);
    /* the optimizer's own hyper-parameters: the arguments that are not settings */
    Arg *own = arena_array(c->arena, (size_t)s->minimize.nargs + 1, sizeof(Arg));
    int nown = 0;
    for (int i = 0; i < s->minimize.nargs; i++)
        if (!s->minimize.args[i].keyword.text || !is_train_setting(s->minimize.args[i].keyword.text))
            own[nown++] = s->minimize.args[i];
    const Arg *args[8];
    if (!bind_args(c, b, opt, own, nown, args, NULL, s->loc))
        return;
    for (int i = 0; i < nparams(b); i++) {
        if (!args[i])
            continue;
        const char *p = b->params[i];
        const char *what = arena_printf(c->arena, "'%s' of %s", p, b->name);
        if (!strcmp(p, "nesterov") || !strcmp(p, "amsgrad") || !strcmp(p, "centered")) {
            bool f = known_flag(c, env, args[i], what);
            if (!strcmp(p, "nesterov"))
                spec->nesterov = f;
            else if (!strcmp(p, "amsgrad"))
                spec->amsgrad = f;
            else
                spec->centered = f;
            continue;
        }
        double v;
        if (!known_number(c, env, args[i], what, &v))
            continue;
        Loc at = args[i]->value->loc;
        if (!strcmp(p, "beta1") || !strcmp(p, "beta2")) {
            if (!(v >= 0 && v < 1))
                diag_error(at, "%s must be in [0, 1), not %g", what, v);
        } else if (!(v >= 0)) {
            diag_error(at, "%s must not be negative, not %g", what, v);
        }
        set_hyper(spec, p, v);
    }
    if (spec->nesterov && (spec->momentum <= 0 || spec->dampening != 0))
        diag_error(opt->loc, "Nesterov momentum needs a positive momentum and zero dampening");
}

/* The initialiser's arguments as numbers, with torch.nn.init's defaults;
 * the initialiser was checked, so every argument is known. */
void builtin_initializer_args(Checker *c, const Expr *init, IrInit *out)
{
    *out = (IrInit){.kind = init->call.callee.text, .std = 1, .b = 1, .gain = 1, .mode = "fan_in",
                    .nonlinearity = "leaky_relu"};
    if (!strcmp(out->kind, "trunc_normal"))
        out->a = -2, out->b = 2;
    const Builtin *b = find_builtin(init->call.callee.text, 0, true);
    const Arg *args[8] = {0};
    if (b->kind != B_INIT || !bind_args(c, b, &init->call.callee, init->call.args, init->call.nargs, args, NULL, init->loc))
        return;
    Env env = {0};
    for (int i = 0; i < nparams(b); i++) {
        if (!args[i])
            continue;
        const char *name = b->params[i];
        Value v = check_expr(c, &env, args[i]->value);
        if (v.kind == VAL_STRING) {
            if (!strcmp(name, "mode"))
                out->mode = string_of(&v);
            else
                out->nonlinearity = string_of(&v);
            continue;
        }
        double x = v.known_is_int ? (double)v.int_value : v.float_value;
        if (!strcmp(name, "mean")) out->mean = x;
        else if (!strcmp(name, "std")) out->std = x;
        else if (!strcmp(name, "a")) out->a = x;
        else if (!strcmp(name, "b")) out->b = x;
        else if (!strcmp(name, "value")) out->value = x;
        else if (!strcmp(name, "gain")) out->gain = x;
    }
}
