/* check_expr.c - the type of every expression (see check_internal.h).
 *
 * Besides types, the checker folds what is known at compile time: numbers
 * (`1 / sqrt(hidden)`) and size expressions of the dims (`model / heads`),
 * which dims, loop bounds, indices and pattern sizes need. Literal numbers
 * are weakly typed and take the dtype of the tensor they meet. */
#include "check_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

Value value_error(void)
{
    Value v = {.kind = VAL_TENSOR, .type = type_error()};
    return v;
}

bool value_is_error(const Value *v) { return v->kind == VAL_TENSOR && v->type.error; }

bool value_static_int(const Value *v, int64_t *out)
{
    if (v->kind != VAL_TENSOR || v->type.error || v->type.rank != 0)
        return false;
    if (v->known && v->known_is_int) {
        *out = v->int_value;
        return true;
    }
    return v->has_size && size_is_const(v->size, out);
}

Value value_tensor(Type t)
{
    Value v = {.kind = VAL_TENSOR, .type = t};
    return v;
}

Value value_int(int64_t n)
{
    Value v = {.kind = VAL_TENSOR, .type = type_scalar(DT_I64), .known = true, .known_is_int = true, .int_value = n};
    v.type.weak = true;
    v.float_value = (double)n;
    if (n > 0) {
        v.has_size = true;
        v.size = size_const(n);
    }
    return v;
}

Value value_float(double f)
{
    Value v = {.kind = VAL_TENSOR, .type = type_scalar(DT_F32), .known = true, .float_value = f};
    v.type.weak = true;
    return v;
}

Value value_size(Checker *c, Size s)
{
    int64_t n;
    if (size_is_const(s, &n))
        return value_int(n);
    Value v = {.kind = VAL_TENSOR, .type = type_scalar(DT_I64), .has_size = true, .size = s};
    v.type.weak = true;
    (void)c;
    return v;
}

const char *ctype(Checker *c, Type t) { return type_str(c->arena, t, &c->names); }

const char *value_desc(Checker *c, const Value *v)
{
    switch (v->kind) {
    case VAL_STRING: return "a string";
    case VAL_DTYPE: return arena_printf(c->arena, "the dtype %s", dtype_name(v->dtype_value));
    case VAL_TUPLE: return v->nitems == 0 ? "nothing (the call returns no value)"
                                          : arena_printf(c->arena, "%d values (unpack them: a, b = ...)", v->nitems);
    case VAL_TENSOR: break;
    }
    if (v->type.rank == 0)
        return arena_printf(c->arena, "a scalar %s", ctype(c, v->type));
    return arena_printf(c->arena, "a tensor %s", ctype(c, v->type));
}

/* The shortest %g spelling that reads back as the same double. */
static const char *shortest_float(Checker *c, double v)
{
    for (int digits = 6; digits < 17; digits++) {
        const char *s = arena_printf(c->arena, "%.*g", digits, v);
        if (strtod(s, NULL) == v)
            return s;
    }
    return arena_printf(c->arena, "%.17g", v);
}

static const char *quoted(Checker *c, const char *s, uint32_t len)
{
    char *out = arena_alloc(c->arena, (size_t)len * 4 + 3), *p = out;
    *p++ = '"';
    for (uint32_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\')
            p += sprintf(p, "\\%c", ch);
        else if (ch == '\n')
            p += sprintf(p, "\\n");
        else if (ch == '\t')
            p += sprintf(p, "\\t");
        else if (ch < 0x20 || ch >= 0x7f)
            p += sprintf(p, "\\x%02x", ch);
        else
            *p++ = (char)ch;
    }
    *p++ = '"';
    *p = 0;
    return out;
}

const char *value_type_text(Checker *c, const Value *v)
{
    if (v->kind == VAL_STRING)
        return arena_printf(c->arena, "string = %s", quoted(c, v->string->string.text, v->string->string.len));
    if (v->kind == VAL_DTYPE)
        return arena_printf(c->arena, "dtype = %s", dtype_name(v->dtype_value));
    if (v->kind != VAL_TENSOR || v->type.rank > 0 || (!v->known && !v->has_size))
        return ctype(c, v->type);
    const char *dt = dtype_name(v->type.weak ? (v->known && !v->known_is_int ? DT_F32 : DT_I64) : v->type.dtype);
    if (v->type.weak && v->has_size && !v->known)
        dt = "i64";
    if (v->known && v->type.dtype == DT_BOOL && !v->type.weak)
        return arena_printf(c->arena, "bool = %s", v->int_value ? "true" : "false");
    if (v->known && v->known_is_int)
        return arena_printf(c->arena, "%s = %lld", dt, (long long)v->int_value);
    if (v->known && !v->has_size)
        return arena_printf(c->arena, "%s = %s", dt, shortest_float(c, v->float_value));
    return arena_printf(c->arena, "%s = %s", dt, size_str(c->arena, v->size, &c->names));
}

/* ---- sizes and numbers known at compile time ---- */

bool value_to_size(Checker *c, const Value *v, Loc loc, const char *what, Size *out)
{
    if (value_is_error(v))
        return false;
    if (v->kind == VAL_TENSOR && v->known && v->known_is_int && v->int_value <= 0) {
        diag_error(loc, "%s must be a positive size, not %lld", what, (long long)v->int_value);
        return false;
    }
    if (v->kind != VAL_TENSOR || !v->has_size) {
        if (v->kind == VAL_TENSOR && v->known && !v->known_is_int)
            diag_error(loc, "%s must be a whole number, not %g", what, v->float_value);
        else
            diag_error(loc, "%s must be a size: an integer known at compile time or a product of dims, not %s", what,
                       value_desc(c, v));
        return false;
    }
    if (size_is_static(v->size) && v->size.den != 1) {
        diag_error(loc, "%s is %s, which is not a whole number", what, size_str(c->arena, v->size, &c->names));
        return false;
    }
    if (size_is_static(v->size) && v->size.num <= 0) {
        diag_error(loc, "%s must be a positive size, not %s", what, size_str(c->arena, v->size, &c->names));
        return false;
    }
    if (!size_is_surely_integral(v->size))
        check_require_integral(c, v->size, loc, what);
    *out = v->size;
    return true;
}

bool value_to_number(Checker *c, const Value *v, Loc loc, const char *what, double *out)
{
    if (value_is_error(v))
        return false;
    if (v->kind == VAL_TENSOR && v->known && v->type.rank == 0) {
        *out = v->known_is_int ? (double)v->int_value : v->float_value;
        return true;
    }
    diag_error(loc, "%s must be a number known at compile time, not %s", what, value_desc(c, v));
    return false;
}

/* ---- operands and notes ---- */

Operand operand_of(Checker *c, const Value *v, const Expr *e, int index)
{
    Operand op = {.type = v->type, .loc = e->loc, .origin = v->origin};
    if (e->kind == EX_NAME)
        op.desc = arena_printf(c->arena, "'%s'", e->name);
    else
        op.desc = arena_printf(c->arena, "operand %d", index + 1);
    return op;
}

/* "with model = 64, heads = 4" for the static dims a written type names. */
static const char *static_dims_of(Checker *c, const TypeExpr *t, bool *generic)
{
    enum { MAX_LISTED = 8 }; /* a note lists a few dims, not a huge type's all */
    const char *out = "";
    int listed = 0;
    const char *s = t->shape;
    *generic = (s && strstr(s, "...") != NULL) || t->any_float;
    for (uint32_t i = 0; s && i < t->shape_len;) {
        if (!(s[i] == '_' || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))) {
            i++;
            continue;
        }
        uint32_t start = i;
        while (i < t->shape_len && (s[i] == '_' || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z') || (s[i] >= '0' && s[i] <= '9')))
            i++;
        char *name = arena_strndup(c->arena, s + start, i - start);
        if (listed < MAX_LISTED && strstr(out, arena_printf(c->arena, " %s = ", name)))
            continue;
        Symbol *sym = check_lookup(c, name);
        if (!sym || (sym->kind != SYM_DIM && sym->kind != SYM_CONST))
            *generic = true; /* a size variable of a generic function */
        if (sym && sym->kind == SYM_DIM && sym->state == RESOLVE_DONE && !sym->failed && size_is_static(sym->size)) {
            if (listed++ == MAX_LISTED)
                out = arena_printf(c->arena, "%s, ...", out);
            else if (listed <= MAX_LISTED)
                out = arena_printf(c->arena, "%s%s %s = %s", out, *out ? "," : " with", name,
                                   size_str(c->arena, sym->size, &c->names));
        }
    }
    return out;
}

const char *operand_axis_name(void *checker, const Operand *op, int axis)
{
    Checker *c = checker;
    const Origin *o = op->origin;
    if (!o || !o->declared || !o->declared->is_tensor || axis < 0 || axis >= op->type.rank)
        return NULL;
    /* the words of the written shape, lined up with the axes around any `...` */
    const char *words[64];
    uint32_t lens[64];
    int n = 0, ellipsis = -1;
    const char *s = o->declared->shape;
    for (uint32_t i = 0; i < o->declared->shape_len && n < 64;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
            i++;
            continue;
        }
        words[n] = s + i;
        while (i < o->declared->shape_len && s[i] != ' ' && s[i] != '\t' && s[i] != '\n')
            i++;
        lens[n] = (uint32_t)(s + i - words[n]);
        if (lens[n] == 3 && memcmp(words[n], "...", 3) == 0)
            ellipsis = n;
        n++;
    }
    int w;
    if (ellipsis < 0)
        w = n == op->type.rank ? axis : -1;
    else if (axis < ellipsis)
        w = axis;
    else if (axis >= op->type.rank - (n - ellipsis - 1))
        w = n - (op->type.rank - axis);
    else
        w = -1;
    if (w < 0 || w >= n)
        return NULL;
    for (uint32_t i = 0; i < lens[w]; i++)
        if (!(words[w][i] == '_' || ((words[w][i] | 0x20) >= 'a' && (words[w][i] | 0x20) <= 'z') ||
              (i > 0 && words[w][i] >= '0' && words[w][i] <= '9')))
            return NULL; /* only a plain name says something the size does not */
    return arena_strndup(c->arena, words[w], lens[w]);
}

void explain_operand(void *checker, const Operand *op)
{
    Checker *c = checker;
    const Origin *o = op->origin;
    if (o && o->declared && o->declared->is_tensor) {
        bool generic;
        const char *with = static_dims_of(c, o->declared, &generic);
        generic &= !c->symbolic_instance; /* uncalled: no call to show */
        diag_note(o->loc, "%s: %s[\"%s\"]%s%s%s%s", o->name, type_expr_dtype(o->declared), o->declared->shape, with,
                  generic ? " (" : "", generic ? ctype(c, o->type) : "", generic ? " in this call)" : "");
    } else if (o) {
        diag_note(o->loc, "%s: %s", o->name, ctype(c, op->type));
    } else if (op->type.rank > 0) {
        diag_note(op->loc, "%s is %s", op->desc, ctype(c, op->type));
    }
}

/* ---- dtype promotion ---- */

static int int_rank(Dtype t) { return t == DT_I64 ? 3 : t == DT_I32 ? 2 : t == DT_U16 ? 1 : 0; }

/* The dtype of a binary operation's result, PyTorch's way, except that two
 * different float dtypes never mix silently. */
Type promote(Checker *c, const Value *a, const Value *b, Loc loc, const char *op, bool *ok)
{
    Type ta = a->type, tb = b->type, r = {0};
    *ok = true;
    if (ta.weak && tb.weak) {
        r.weak = true;
        r.dtype = dtype_is_float(ta.dtype) || dtype_is_float(tb.dtype) ? DT_F32 : DT_I64;
        return r;
    }
    if (ta.weak || tb.weak) {
        Type strong = ta.weak ? tb : ta, weak = ta.weak ? ta : tb;
        r.dtype = strong.dtype;
        if (dtype_is_float(weak.dtype) && !dtype_is_float(strong.dtype))
            r.dtype = DT_F32;
        else if (strong.dtype == DT_BOOL)
            r.dtype = dtype_is_float(weak.dtype) ? DT_F32 : DT_I64;
        return r;
    }
    if (ta.dtype == tb.dtype) {
        r.dtype = ta.dtype;
        return r;
    }
    if (dtype_is_float(ta.dtype) && dtype_is_float(tb.dtype)) {
        if (diag_error(loc, "'%s' mixes %s and %s; convert one with 'as', e.g. 'x as %s'", op, dtype_name(ta.dtype),
                       dtype_name(tb.dtype), dtype_name(ta.dtype))) {
            Operand oa = {.type = ta, .loc = loc, .desc = "the left operand", .origin = a->origin};
            Operand ob = {.type = tb, .loc = loc, .desc = "the right operand", .origin = b->origin};
            if (a->origin)
                explain_operand(c, &oa);
            if (b->origin)
                explain_operand(c, &ob);
        }
        *ok = false;
        return type_error();
    }
    if (dtype_is_float(ta.dtype) || dtype_is_float(tb.dtype))
        r.dtype = dtype_is_float(ta.dtype) ? ta.dtype : tb.dtype;
    else if (ta.dtype == DT_BOOL || tb.dtype == DT_BOOL)
        r.dtype = ta.dtype == DT_BOOL ? tb.dtype : ta.dtype;
    else
        r.dtype = int_rank(ta.dtype) >= int_rank(tb.dtype) ? ta.dtype : tb.dtype;
    return r;
}

/* ---- names ---- */

static int edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 32 || lb > 32)
        return 99;
    int row[33];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = a[i - 1] != b[j - 1];
            int best = diag + cost;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            if (up + 1 < best)
                best = up + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* A declared name close to a misspelt one; for calls, built-ins too. Names
 * of one or two letters get no suggestion: every other short name is close. */
/* Keeps `candidate` if it is closer to `name` than the best so far. The
 * length test first: most names differ in length by more than 2. */
static void consider(const char *name, size_t len, const char *candidate, const char **best, int *best_d)
{
    size_t clen = strlen(candidate);
    if ((clen > len ? clen - len : len - clen) > (size_t)*best_d)
        return;
    int d = edit_distance(name, candidate);
    if (d <= *best_d && d > 0)
        *best = candidate, *best_d = d - 1;
}

static const char *suggest(Checker *c, Env *env, const char *name, bool calls)
{
    enum { RECENT_BINDINGS = 1024 }; /* bound the work on programs with huge functions */
    size_t len = strlen(name);
    const char *best = NULL;
    int best_d = len < 3 ? 0 : len / 3 > 2 ? 2 : (int)len / 3;
    if (best_d == 0 || diag_limit_reached())
        return NULL;
    if (c->last_unknown && strcmp(c->last_unknown, name) == 0 && c->last_unknown_calls == calls)
        return c->last_suggestion; /* the same misspelling again, as in a loop or a copied line */
    for (int i = 0; calls && builtin_name(i); i++)
        consider(name, len, builtin_name(i), &best, &best_d);
    for (int i = env ? env->n - 1 : -1; i >= 0 && i >= env->n - RECENT_BINDINGS; i--)
        consider(name, len, env->items[i].name, &best, &best_d);
    for (size_t i = 0; i < c->decl_order.len; i++)
        consider(name, len, ((const Symbol *)c->decl_order.items[i])->name, &best, &best_d);
    c->last_unknown = name, c->last_unknown_calls = calls, c->last_suggestion = best;
    return best;
}

static Value check_name(Checker *c, Env *env, const Expr *e)
{
    Binding *b = env_find(env, e->name);
    if (b) {
        Value v = b->value;
        v.origin = b->origin;
        return v;
    }
    Symbol *s = check_lookup(c, e->name);
    if (s) {
        switch (s->kind) {
        case SYM_DIM:
            if (!check_resolve_dim(c, s))
                return value_error();
            return value_size(c, s->size);
        case SYM_CONST:
            if (!check_resolve_const(c, s))
                return value_error();
            return s->value;
        case SYM_PARAM: {
            if (!check_resolve_param(c, s))
                return value_error();
            Value v = s->value;
            lower_param(c, s, &v);
            return v;
        }
        case SYM_FN:
        case SYM_TRAIN:
            diag_error(e->loc, "%s '%s' is not a value%s", s->kind == SYM_FN ? "function" : "train block", e->name,
                       s->kind == SYM_FN ? "; call it with (...)" : "");
            return value_error();
        }
    }
    if (builtin_exists(e->name)) {
        diag_error(e->loc, "built-in function '%s' is not a value; call it with (...)", e->name);
        return value_error();
    }
    if (check_in_broken_statement(c, e->name))
        return value_error(); /* probably declared or bound by a statement with a syntax error */
    const char *hint = suggest(c, env, e->name, false);
    if (hint)
        diag_error(e->loc, "unknown name '%s'; did you mean '%s'?", e->name, hint);
    else
        diag_error(e->loc, "unknown name '%s'", e->name);
    return value_error();
}

/* ---- arithmetic ---- */

static bool is_numeric_tensor(Checker *c, const Value *v, const Expr *e, const char *op)
{
    if (value_is_error(v))
        return false;
    if (v->kind != VAL_TENSOR) {
        diag_error(e->loc, "'%s' needs a number or tensor, not %s", op, value_desc(c, v));
        return false;
    }
    return true;
}

/* Folds an operation on two known scalars; false if it cannot be folded. */
static bool fold(Checker *c, OpKind op, const Value *a, const Value *b, Loc loc, Value *out)
{
    bool ints = a->known_is_int && b->known_is_int;
    int64_t x = a->int_value, y = b->int_value, r = 0;
    double fx = a->known_is_int ? (double)x : a->float_value, fy = b->known_is_int ? (double)y : b->float_value;
    bool overflow = false;
    switch (op) {
    case OP_ADD:
        if (ints) overflow = __builtin_add_overflow(x, y, &r);
        else *out = value_float(fx + fy);
        break;
    case OP_SUB:
        if (ints) overflow = __builtin_sub_overflow(x, y, &r);
        else *out = value_float(fx - fy);
        break;
    case OP_MUL:
        if (ints) overflow = __builtin_mul_overflow(x, y, &r);
        else *out = value_float(fx * fy);
        break;
    case OP_DIV:
        if (fy == 0) {
            diag_error(loc, "division by zero in a constant expression");
            *out = value_error();
            return true;
        }
        *out = value_float(fx / fy);
        return true;
    case OP_POW:
        if (ints && y >= 0) {
            r = 1;
            for (int64_t i = 0; i < y && !overflow; i++)
                overflow = __builtin_mul_overflow(r, x, &r);
            if (x == 0 || x == 1 || x == -1)
                overflow = false, r = y == 0 ? 1 : (x == -1 ? (y % 2 ? -1 : 1) : x);
        } else {
            *out = value_float(pow(fx, fy));
            ints = false;
        }
        break;
    case OP_EQ: case OP_NE: case OP_LT: case OP_LE: case OP_GT: case OP_GE: {
        bool t = op == OP_EQ ? fx == fy : op == OP_NE ? fx != fy : op == OP_LT ? fx < fy : op == OP_LE ? fx <= fy
               : op == OP_GT ? fx > fy : fx >= fy;
        if (ints)
            t = op == OP_EQ ? x == y : op == OP_NE ? x != y : op == OP_LT ? x < y : op == OP_LE ? x <= y : op == OP_GT ? x > y : x >= y;
        Value v = value_tensor(type_scalar(DT_BOOL));
        v.known = v.known_is_int = true;
        v.int_value = t;
        *out = v;
        return true;
    }
    default:
        return false;
    }
    if (overflow) {
        diag_error(loc, "integer overflow in a constant expression");
        *out = value_error();
        return true;
    }
    if (ints)
        *out = value_int(r);
    if (out->known && !out->known_is_int && !isfinite(out->float_value) && isfinite(fx) && isfinite(fy)) {
        diag_error(loc, "constant expression overflows f64");
        *out = value_error();
    }
    return true;
}

/* The size that `a op b` denotes, when both are sizes. */
static void fold_size(Checker *c, OpKind op, const Value *a, const Value *b, Value *r)
{
    if (!a->has_size || !b->has_size)
        return;
    Size s;
    SizeStatus st = SIZE_DIV_ZERO;
    if (op == OP_MUL)
        st = size_mul(a->size, b->size, &c->names, &s);
    else if (op == OP_DIV)
        st = size_div(a->size, b->size, &c->names, &s);
    if (st == SIZE_OK) {
        r->has_size = true;
        r->size = s;
        r->known = false;
        int64_t n;
        if (size_is_const(s, &n))
            *r = value_int(n); /* `n / 2` with n = 64 is the integer 32 */
        else if (op == OP_DIV && size_is_static(s)) {
            r->known = true;
            r->float_value = (double)s.num / (double)s.den;
        }
    }
}

static Value check_binary(Checker *c, Env *env, const Expr *e)
{
    OpKind op = e->op.op;
    const char *spelling = op_spelling(op);
    Value a = check_expr(c, env, e->op.lhs), b = check_expr(c, env, e->op.rhs);
    bool ok_a = is_numeric_tensor(c, &a, e->op.lhs, spelling), ok_b = is_numeric_tensor(c, &b, e->op.rhs, spelling);
    if (!ok_a || !ok_b)
        return value_error();
    bool ok;
    Type dt = promote(c, &a, &b, e->loc, spelling, &ok);
    if (!ok)
        return value_error();
    bool compare = op >= OP_EQ && op <= OP_GE;
    if (!compare && (a.type.dtype == DT_BOOL && !a.type.weak) && (b.type.dtype == DT_BOOL && !b.type.weak)) {
        diag_error(e->loc, "arithmetic '%s' on bool values; convert them with 'as', e.g. 'x as f32'", spelling);
        return value_error();
    }
    Operand ops[2] = {operand_of(c, &a, e->op.lhs, 0), operand_of(c, &b, e->op.rhs, 1)};
    if (op == OP_MATMUL) {
        Type t = shape_matmul(&c->shape, &ops[0], &ops[1], dt.dtype, e->loc);
        if (t.error)
            return value_error();
        Value r = value_tensor(t);
        lower_matmul(c, &a, &b, &r, e->loc);
        return r;
    }
    Dtype result = compare ? DT_BOOL : dt.dtype;
    if (op == OP_DIV && !dtype_is_float(result))
        result = DT_F32; /* true division, as in Python and PyTorch */
    Type t = shape_broadcast(&c->shape, ops, 2, result, e->loc, spelling);
    if (t.error)
        return value_error();
    t.weak = dt.weak && !compare;
    Value r = value_tensor(t);
    if (a.known && b.known && t.rank == 0) {
        if (fold(c, op, &a, &b, e->loc, &r) && !value_is_error(&r)) {
            if (!compare) {
                r.type.weak = t.weak;
                if (!t.weak)
                    r.type.dtype = result;
            }
        }
    }
    if (!value_is_error(&r))
        fold_size(c, op, &a, &b, &r);
    Type args = dt;
    args.dtype = dt.weak ? (dtype_is_float(dt.dtype) ? DT_F32 : DT_I64) : dt.dtype;
    lower_binary(c, op, &a, &b, args.dtype, &r, e->loc);
    return r;
}

static Value check_negate(Checker *c, Env *env, const Expr *e)
{
    Value v = check_expr(c, env, e->op.lhs);
    if (!is_numeric_tensor(c, &v, e->op.lhs, "-"))
        return value_error();
    if (v.type.dtype == DT_BOOL && !v.type.weak) {
        diag_error(e->loc, "cannot negate a bool value");
        return value_error();
    }
    if (v.type.dtype == DT_U16) {
        diag_error(e->loc, "cannot negate an unsigned u16 value");
        return value_error();
    }
    Value r = value_tensor(v.type);
    if (v.known) {
        r.known = true;
        r.known_is_int = v.known_is_int;
        if (v.known_is_int && v.int_value == INT64_MIN) {
            diag_error(e->loc, "integer overflow in a constant expression");
            return value_error();
        }
        r.int_value = -v.int_value;
        r.float_value = -v.float_value;
    }
    lower_call1(c, "neg", &v, &r, e->loc);
    return r;
}

/* ---- indexing and casts ---- */

static Value check_index(Checker *c, Env *env, const Expr *e)
{
    Value base = check_expr(c, env, e->index.base);
    Value idx = check_expr(c, env, e->index.index);
    if (value_is_error(&base) || value_is_error(&idx))
        return value_error();
    if (base.kind != VAL_TENSOR || base.type.rank == 0) {
        diag_error(e->index.base->loc, "only a tensor can be indexed, not %s", value_desc(c, &base));
        return value_error();
    }
    int64_t i, n;
    bool static_index = value_static_int(&idx, &i);
    if (!static_index && (idx.kind != VAL_TENSOR || dtype_kind(idx.type.dtype) != DK_INT)) {
        diag_error(e->index.index->loc, "an index must be an integer, not %s", value_desc(c, &idx));
        return value_error();
    }
    Size lead = base.type.dims[0];
    if (idx.type.rank > 0) { /* a tensor of indices: an embedding look-up, like take */
        int rank = idx.type.rank + base.type.rank - 1;
        Size *dims = arena_array(c->arena, (size_t)rank, sizeof(Size));
        memcpy(dims, idx.type.dims, (size_t)idx.type.rank * sizeof(Size));
        memcpy(dims + idx.type.rank, base.type.dims + 1, (size_t)(base.type.rank - 1) * sizeof(Size));
        Value r = value_tensor(type_tensor(c->arena, base.type.dtype, rank, dims));
        lower_index(c, &base, &idx, &r, e->loc);
        return r;
    }
    if (!static_index) {
        diag_error(e->index.index->loc, "an index must be known at compile time; to look up a tensor of indices use take(...)");
        return value_error();
    }
    if (size_is_const(lead, &n)) {
        if (i < -n || i >= n) {
            Operand op = operand_of(c, &base, e->index.base, 0);
            if (diag_error(e->index.index->loc, "index %lld is out of range for the leading axis of size %lld", (long long)i,
                           (long long)n))
                explain_operand(c, &op);
            return value_error();
        }
    } else if (i < 0) {
        diag_error(e->index.index->loc, "a negative index needs a leading axis of known size, but it is %s",
                   size_str(c->arena, lead, &c->names));
        return value_error();
    } else if (i > 0) { /* every dim is at least 1, so index 0 always exists */
        RuntimeCheck *rc = check_record_runtime(c, e->index.index->loc,
                                                arena_printf(c->arena, "%s > %lld", size_str(c->arena, lead, &c->names), (long long)i),
                                                "index into the leading axis");
        if (rc)
            rc->is_index = true, rc->size = lead, rc->index = i;
    }
    Value r = value_tensor(type_tensor(c->arena, base.type.dtype, base.type.rank - 1, base.type.dims + 1));
    lower_index(c, &base, &idx, &r, e->loc);
    return r;
}

static Value check_cast(Checker *c, Env *env, const Expr *e)
{
    Value v = check_expr(c, env, e->cast.value);
    if (!is_numeric_tensor(c, &v, e->cast.value, "as"))
        return value_error();
    Dtype to = e->cast.dtype;
    Value r = value_tensor(v.type);
    r.type.dtype = to;
    r.type.weak = false;
    if (v.known) {
        r.known = true;
        double f = v.known_is_int ? (double)v.int_value : v.float_value;
        static const struct { Dtype t; double lo, hi; } ranges[] = {
            {DT_I32, -2147483648.0, 2147483647.0}, {DT_U16, 0, 65535}, {DT_F16, -65504, 65504},
            {DT_BF16, -3.3895313892515355e38, 3.3895313892515355e38}, {DT_F32, -3.4028234663852886e38, 3.4028234663852886e38},
            {DT_F8E4M3, -448, 448}, {DT_F8E5M2, -57344, 57344},
        };
        for (size_t k = 0; k < sizeof ranges / sizeof ranges[0]; k++)
            if (ranges[k].t == to && isfinite(f) && (f < ranges[k].lo || f > ranges[k].hi)) {
                diag_error(e->loc, "%.10g does not fit in %s (its range is %.10g to %.10g)", f, dtype_name(to), ranges[k].lo, ranges[k].hi);
                return value_error();
            }
        if (dtype_kind(to) == DK_FLOAT) {
            r.float_value = f;
        } else if (to == DT_BOOL) {
            r.known_is_int = true;
            r.int_value = f != 0;
        } else {
            r.known_is_int = true;
            if (!v.known_is_int && !(f > -9.2e18 && f < 9.2e18)) {
                diag_error(e->loc, "%g does not fit in %s", f, dtype_name(to));
                return value_error();
            }
            r.int_value = v.known_is_int ? v.int_value : (int64_t)f;
            r.float_value = (double)r.int_value;
        }
    }
    lower_cast(c, &v, &r, e->loc);
    return r;
}

/* ---- shape strings in constructors ---- */

typedef struct LocalResolver {
    Checker *c;
    Env *env;
} LocalResolver;

static bool resolve_local_size(void *ctx, const char *name, Loc loc, Size *out)
{
    LocalResolver *r = ctx;
    Binding *b = r->env ? env_find(r->env, name) : NULL;
    if (b)
        return value_to_size(r->c, &b->value, loc, arena_printf(r->c->arena, "'%s'", name), out);
    return check_global_size(r->c, name, loc, out);
}

ShapeSpec *check_shape_string(Checker *c, Env *env, const char *text, uint32_t len, Loc literal, bool allow_ellipsis)
{
    LocalResolver r = {c, env};
    return shape_parse(c->arena, text, len, literal, allow_ellipsis, resolve_local_size, &r, &c->names);
}

/* ---- dispatch ---- */

/* The standard library file that defines function `name` ("nn.td"), for a
 * hint when a program calls it without importing it; NULL if none does. */
static const char *stdlib_file_defining(Checker *c, const char *name)
{
    const char *dir_path = c->opt->stdlib_dir;
    if (!c->stdlib_read && dir_path) { /* once: a program may call many unknown functions */
        c->stdlib_read = true;
        DIR *dir = opendir(dir_path);
        struct dirent *entry;
        while (dir && (entry = readdir(dir))) {
            size_t n = strlen(entry->d_name);
            if (n < 4 || strcmp(entry->d_name + n - 3, ".td") != 0)
                continue;
            SourceFile *f = source_read(c->arena, arena_printf(c->arena, "%s/%s", dir_path, entry->d_name));
            if (f) {
                f->path = arena_strdup(c->arena, entry->d_name);
                ptrvec_push(c->arena, &c->stdlib_files, f);
            }
        }
        if (dir)
            closedir(dir);
    }
    const char *needle = arena_printf(c->arena, "fn %s(", name);
    for (size_t i = 0; i < c->stdlib_files.len; i++) {
        const SourceFile *f = c->stdlib_files.items[i];
        for (const char *p = strstr(f->text, needle); p; p = strstr(p + 1, needle))
            if (p == f->text || p[-1] == '\n')
                return f->path;
    }
    return NULL;
}

static Value check_call(Checker *c, Env *env, const Expr *e)
{
    const char *name = e->call.callee.text;
    Symbol *s = check_lookup(c, name);
    if (s && s->kind == SYM_FN)
        return check_call_fn(c, env, s, e);
    if (env_find(env, name) || s) {
        diag_error(e->call.callee.loc, "'%s' is not a function", name);
        return value_error();
    }
    if (builtin_exists(name))
        return check_builtin(c, env, e);
    const char *hint = suggest(c, env, name, true);
    const char *library = hint ? NULL : stdlib_file_defining(c, name);
    if (hint)
        diag_error(e->call.callee.loc, "unknown function '%s'; did you mean '%s'?", name, hint);
    else if (library)
        diag_error(e->call.callee.loc, "unknown function '%s'; the standard library defines it: add import \"%s\"", name,
                   library);
    else if (!strcmp(name, "sum") || !strcmp(name, "mean") || !strcmp(name, "prod"))
        diag_error(e->call.callee.loc, "unknown function '%s'; reductions are written reduce(x, \"b n -> b\", \"%s\")", name, name);
    else
        diag_error(e->call.callee.loc, "unknown function '%s'", name);
    for (int i = 0; i < e->call.nargs; i++)
        check_expr(c, env, e->call.args[i].value);
    return value_error();
}

/* Every tensor's size in bytes must fit in 64 bits (for static sizes this
 * is exact; for run-time dims the coefficient is checked now and the rest
 * when the dims are bound). */
static Value check_bytes(Checker *c, Value v, const Expr *e)
{
    if (v.kind != VAL_TENSOR || v.type.error || v.type.rank == 0)
        return v;
    Size total = size_const((dtype_bits(v.type.dtype) + 7) / 8);
    for (int i = 0; i < v.type.rank; i++) {
        SizeStatus st = size_mul(total, v.type.dims[i], &c->names, &total);
        if (st != SIZE_OK) {
            if (st == SIZE_OVERFLOW) {
                const char *t = ctype(c, v.type);
                if (strlen(t) > 160) /* a type too long to read in a message */
                    t = arena_printf(c->arena, "a %s tensor with %d axes", dtype_name(v.type.dtype), v.type.rank);
                diag_error(e->loc, "this tensor, %s, would need more than 2^63 bytes", t);
            }
            else
                size_report(st, e->loc, "the size of this tensor");
            return value_error();
        }
    }
    return v;
}

static Value check_expr_kind(Checker *c, Env *env, const Expr *e);

enum { MAX_EXPR_DEPTH = 2000 };

Value check_expr(Checker *c, Env *env, const Expr *e)
{
    if (c->expr_depth >= MAX_EXPR_DEPTH) {
        if (!c->depth_reported)
            diag_error(e->loc, "expression nested more than %d deep", MAX_EXPR_DEPTH);
        c->depth_reported = true;
        return value_error();
    }
    c->expr_depth++;
    Value v = check_bytes(c, check_expr_kind(c, env, e), e);
    c->expr_depth--;
    return v;
}

static Value check_expr_kind(Checker *c, Env *env, const Expr *e)
{
    switch (e->kind) {
    case EX_INT:
        return value_int(e->int_value);
    case EX_BOOL: {
        Value v = value_tensor(type_scalar(DT_BOOL));
        v.known = v.known_is_int = true;
        v.int_value = e->int_value;
        return v;
    }
    case EX_FLOAT:
        return value_float(e->float_value);
    case EX_STRING: {
        Value v = {.kind = VAL_STRING, .string = e};
        return v;
    }
    case EX_DTYPE: {
        Value v = {.kind = VAL_DTYPE, .dtype_value = e->dtype};
        return v;
    }
    case EX_NAME:
        return check_name(c, env, e);
    case EX_UNARY:
        return check_negate(c, env, e);
    case EX_BINARY:
        return check_binary(c, env, e);
    case EX_CALL:
        return check_call(c, env, e);
    case EX_INDEX:
        return check_index(c, env, e);
    case EX_CAST:
        return check_cast(c, env, e);
    }
    die("unknown expression kind %d", e->kind);
}
