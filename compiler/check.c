/* check.c - the program, its declarations and statements (see check.h).
 *
 * Globals are resolved lazily, so declarations may come in any order; a dim
 * or const defined in terms of itself is an error. Statements are checked
 * as an abstract interpreter runs them: loops unrolled, bindings replaced.
 * Functions and their calls are check_fn.c; expressions check_expr.c. The
 * --types and --runtime-checks listings are collected here and printed in
 * source order at the end. */
#include "check_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_LOOP_TRIPS = 65536, CHECK_BUDGET = 200 * 1000 };

/* ---- the symbol table ---- */


Symbol *check_lookup(Checker *c, const char *name)
{
    if (!c->nsymbols_cap)
        return NULL;
    size_t mask = c->nsymbols_cap - 1;
    for (size_t i = hash_string(name) & mask;; i = (i + 1) & mask) {
        Symbol *s = c->symbols[i];
        if (!s)
            return NULL;
        if (strcmp(s->name, name) == 0)
            return s;
    }
}

static void symbol_insert(Checker *c, Symbol *sym)
{
    if ((c->nsymbols + 1) * 2 > c->nsymbols_cap) {
        size_t cap = c->nsymbols_cap ? c->nsymbols_cap * 2 : 64;
        Symbol **t = arena_array(c->arena, cap, sizeof *t);
        for (size_t i = 0; i < c->nsymbols_cap; i++) {
            Symbol *s = c->symbols[i];
            if (!s)
                continue;
            size_t j = hash_string(s->name) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = s;
        }
        c->symbols = t;
        c->nsymbols_cap = cap;
    }
    size_t j = hash_string(sym->name) & (c->nsymbols_cap - 1);
    while (c->symbols[j])
        j = (j + 1) & (c->nsymbols_cap - 1);
    c->symbols[j] = sym;
    c->nsymbols++;
}

const char *check_kind_word(SymKind k)
{
    static const char *words[] = {"dim", "const", "param", "fn", "train"};
    return words[k];
}

uint32_t check_new_dim_name(Checker *c, const char *name)
{
    ptrvec_push(c->arena, &c->dim_names, (void *)name);
    c->names.names = (const char *const *)c->dim_names.items;
    c->names.count = c->dim_names.len;
    if (c->dim_names.len > c->dim_var_cap) {
        size_t cap = c->dim_var_cap ? c->dim_var_cap * 2 : 64;
        int32_t *t = arena_array(c->arena, cap, sizeof *t);
        if (c->dim_var_cap)
            memcpy(t, c->dim_var, c->dim_var_cap * sizeof *t);
        c->dim_var = t;
        c->dim_var_cap = cap;
    }
    c->dim_var[c->dim_names.len - 1] = -1;
    return (uint32_t)(c->dim_names.len - 1);
}

int check_var_of(const Checker *c, const FnSig *sig, uint32_t dim)
{
    if (dim >= c->dim_names.len)
        return -1;
    int v = c->dim_var[dim];
    return v >= 0 && v < sig->nvars && sig->var_ids[v] == dim ? v : -1;
}

/* ---- repeated names ---- */

static int compare_named(const void *pa, const void *pb)
{
    const NamedLoc *a = pa, *b = pb;
    int c = strcmp(a->text, b->text);
    return c ? c : (a->order > b->order) - (a->order < b->order);
}

static int compare_order(const void *pa, const void *pb)
{
    const NamedLoc *a = *(const NamedLoc *const *)pa, *b = *(const NamedLoc *const *)pb;
    return (a->order > b->order) - (a->order < b->order);
}

/* Sorting, not comparing every pair: a list may have thousands of names. */
int check_repeated_names(Checker *c, NamedLoc *items, int n, const char *error_fmt, const char *note)
{
    if (n < 2)
        return 0;
    for (int i = 0; i < n; i++)
        items[i].order = i;
    qsort(items, (size_t)n, sizeof *items, compare_named);
    const NamedLoc **repeats = arena_array(c->arena, (size_t)n, sizeof *repeats);
    const NamedLoc **firsts = arena_array(c->arena, (size_t)n, sizeof *firsts);
    int nrep = 0;
    for (int i = 1, first = 0; i < n; i++) {
        if (strcmp(items[i].text, items[first].text) != 0) {
            first = i;
            continue;
        }
        repeats[nrep] = &items[i];
        firsts[nrep++] = &items[first];
    }
    /* report in source order */
    for (int i = 0; i < nrep; i++)
        ((NamedLoc *)repeats[i])->first = firsts[i];
    qsort(repeats, (size_t)nrep, sizeof *repeats, compare_order);
    for (int i = 0; i < nrep; i++)
        if (diag_error(repeats[i]->loc, error_fmt, repeats[i]->text) && note)
            diag_note(repeats[i]->first->loc, "%s", note);
    return nrep;
}

int check_repeated_params(Checker *c, const Decl *d)
{
    NamedLoc *names = arena_array(c->arena, (size_t)d->nparams + 1, sizeof *names);
    for (int i = 0; i < d->nparams; i++)
        names[i] = (NamedLoc){.text = d->params[i].name.text, .loc = d->params[i].name.loc};
    return check_repeated_names(c, names, d->nparams, "parameter '%s' appears twice", "first declared here");
}

/* ---- recorded output: --types lines and run-time checks ---- */

void check_record_type(Checker *c, Loc loc, const char *name, const char *type_text)
{
    if (!c->opt->print_types)
        return;
    TypeLine *t = arena_alloc(c->arena, sizeof *t);
    t->loc = loc;
    t->text = arena_printf(c->arena, "%s: %s", name, type_text);
    ptrvec_push(c->arena, &c->type_lines, t);
}

RuntimeCheck *check_record_runtime(Checker *c, Loc loc, const char *condition, const char *reason)
{
    if (c->symbolic_instance)
        return NULL; /* its sizes are placeholders, not run-time dims */
    if (c->call_site.file) { /* inside a generic function: the call made these sizes */
        loc = c->call_site;
        reason = arena_printf(c->arena, "%s, in '%s'", reason, c->call_site_fn);
    }
    RuntimeCheck *r = arena_alloc(c->arena, sizeof *r);
    r->loc = loc;
    r->condition = condition;
    r->reason = reason;
    ptrvec_push(c->arena, &c->runtime_checks, r);
    return r;
}

/* `s` must be a whole number: split it into numerator and denominator and
 * record "N divisible by D". */
void check_require_integral(Checker *c, Size s, Loc loc, const char *why)
{
    Size num = size_const(s.num), den = size_const(s.den);
    for (int i = 0; i < s.nfactors; i++) {
        Size f = size_dim(s.factors[i].dim);
        for (int k = 0; k < abs(s.factors[i].exp); k++)
            size_mul(s.factors[i].exp > 0 ? num : den, f, &c->names, s.factors[i].exp > 0 ? &num : &den);
    }
    RuntimeCheck *r = check_record_runtime(c, loc,
                                           arena_printf(c->arena, "%s divisible by %s", size_str(c->arena, num, &c->names),
                                                        size_str(c->arena, den, &c->names)),
                                           arena_strdup(c->arena, why));
    if (r)
        r->size = s;
}

static void shape_need_integral(void *checker, Size s, Loc loc, const char *why)
{
    check_require_integral(checker, s, loc, why);
}

/* ---- dims and consts ---- */

bool check_global_size(Checker *c, const char *name, Loc loc, Size *out)
{
    Symbol *s = check_lookup(c, name);
    if (s && s->kind == SYM_DIM) {
        if (!check_resolve_dim(c, s))
            return false;
        *out = s->size;
        return true;
    }
    if (s && s->kind == SYM_CONST) {
        if (!check_resolve_const(c, s))
            return false;
        return value_to_size(c, &s->value, loc, arena_printf(c->arena, "const '%s'", name), out);
    }
    if (s) {
        if (diag_error(loc, "'%s' is a %s, not a size", name, check_kind_word(s->kind)))
            diag_note(s->decl->name.loc, "'%s' is declared here", name);
    } else if (diag_error(loc, "unknown dim '%s'", name)) {
        diag_note(loc, "declare it with 'dim %s = SIZE', or 'dim %s' to bind it when the program starts", name, name);
    }
    return false;
}

static Env global_env(void)
{
    Env e = {0};
    return e;
}

bool check_resolve_dim(Checker *c, Symbol *s)
{
    if (s->state == RESOLVE_DONE)
        return !s->failed;
    if (s->state == RESOLVE_IN_PROGRESS) {
        diag_error(s->decl->name.loc, "dim '%s' is defined in terms of itself", s->name);
        s->failed = true;
        return false;
    }
    s->state = RESOLVE_IN_PROGRESS;
    Decl *d = s->decl;
    if (!d->value) {
        s->size = size_dim(check_new_dim_name(c, s->name));
        s->runtime = true;
    } else {
        Env env = global_env();
        Value v = check_expr(c, &env, d->value);
        Size size;
        if (value_is_error(&v) || !value_to_size(c, &v, d->value->loc, arena_printf(c->arena, "dim '%s'", s->name), &size)) {
            s->failed = true;
        } else {
            s->size = size;
            s->runtime = !size_is_static(size); /* value_to_size recorded any divisibility check */
        }
    }
    s->state = RESOLVE_DONE;
    return !s->failed;
}

bool check_resolve_const(Checker *c, Symbol *s)
{
    if (s->state == RESOLVE_DONE)
        return !s->failed;
    if (s->state == RESOLVE_IN_PROGRESS) {
        diag_error(s->decl->name.loc, "const '%s' is defined in terms of itself", s->name);
        s->failed = true;
        return false;
    }
    s->state = RESOLVE_IN_PROGRESS;
    Env env = global_env();
    Value v = check_expr(c, &env, s->decl->value);
    if (value_is_error(&v)) {
        s->failed = true;
    } else if (v.kind == VAL_TENSOR && !v.known && !v.has_size) {
        diag_error(s->decl->value->loc, "const '%s' must be known at compile time, but its value is a %s", s->name,
                   ctype(c, v.type));
        s->failed = true;
    } else if (v.kind == VAL_TUPLE) {
        diag_error(s->decl->value->loc, "const '%s' must be one value", s->name);
        s->failed = true;
    }
    s->value = s->failed ? value_error() : v;
    s->state = RESOLVE_DONE;
    return !s->failed;
}

/* ---- local bindings ---- */

static void env_index_insert(Env *env, int pos)
{
    int mask = env->index_cap - 1;
    int j = (int)(hash_string(env->items[pos].name) & (uint64_t)mask);
    while (env->index[j])
        j = (j + 1) & mask;
    env->index[j] = pos + 1;
}

static void env_reindex(Checker *c, Env *env)
{
    int cap = 16;
    while (cap < env->cap * 2)
        cap *= 2;
    env->index = arena_array(c->arena, (size_t)cap, sizeof *env->index);
    env->index_cap = cap;
    for (int i = 0; i < env->n; i++)
        env_index_insert(env, i);
}

Binding *env_find(Env *env, const char *name)
{
    if (!env->index_cap)
        return NULL;
    int mask = env->index_cap - 1;
    for (int j = (int)(hash_string(name) & (uint64_t)mask); env->index[j]; j = (j + 1) & mask)
        if (strcmp(env->items[env->index[j] - 1].name, name) == 0)
            return &env->items[env->index[j] - 1];
    return NULL;
}

void env_bind(Checker *c, Env *env, const char *name, Value v, Origin *origin)
{
    Binding *b = env_find(env, name);
    if (!b) {
        if (env->n == env->cap) {
            int cap = env->cap ? env->cap * 2 : 16;
            Binding *items = arena_array(c->arena, (size_t)cap, sizeof *items);
            if (env->n)
                memcpy(items, env->items, (size_t)env->n * sizeof *items);
            env->items = items;
            env->cap = cap;
            env_reindex(c, env);
        }
        b = &env->items[env->n++];
        b->name = name;
        env_index_insert(env, env->n - 1);
    }
    b->value = v;
    b->value.origin = origin;
    b->origin = origin;
}

static void env_unbind(Checker *c, Env *env, const char *name)
{
    Binding *b = env_find(env, name);
    if (!b)
        return;
    int i = (int)(b - env->items);
    memmove(&env->items[i], &env->items[i + 1], (size_t)(env->n - i - 1) * sizeof env->items[0]);
    env->n--;
    env_reindex(c, env);
}

Origin *check_new_origin(Checker *c, const char *name, Loc loc, const TypeExpr *declared, Type t)
{
    Origin *o = arena_alloc(c->arena, sizeof *o);
    o->name = name;
    o->loc = loc;
    o->declared = declared;
    o->type = t;
    return o;
}

/* ---- statements ---- */

static bool spend_budget(Checker *c, Loc loc)
{
    if (c->budget-- > 0)
        return true;
    if (!c->budget_reported)
        diag_error(loc, "the program is too large to check after unrolling loops and inlining calls (over %d statements)",
                   CHECK_BUDGET);
    c->budget_reported = true;
    return false;
}

static void check_assign(Checker *c, Env *env, const Stmt *s)
{
    Value v = check_expr(c, env, s->assign.value);
    int n = s->assign.ntargets;
    NamedLoc *targets = arena_array(c->arena, (size_t)n, sizeof *targets);
    for (int i = 0; i < n; i++)
        targets[i] = (NamedLoc){.text = s->assign.targets[i].text, .loc = s->assign.targets[i].loc};
    if (check_repeated_names(c, targets, n, "'%s' is assigned twice in one statement", NULL))
        return;
    for (int i = 0; i < n; i++) {
        const Name *t = &s->assign.targets[i];
        Symbol *g = env_find(env, t->text) ? NULL : check_lookup(c, t->text); /* locals shadow globals */
        if (g) {
            if (diag_error(t->loc, "cannot assign to %s '%s'", check_kind_word(g->kind), t->text))
                diag_note(g->decl->name.loc, "'%s' is declared here", t->text);
            return;
        }
        Binding *b = env_find(env, t->text);
        if (b && b->origin && b->origin->loop_var) {
            diag_error(t->loc, "cannot assign to loop variable '%s'", t->text);
            return;
        }
    }
    Value *vals = &v;
    if (!value_is_error(&v) && v.kind == VAL_TUPLE) {
        if (v.nitems != n) {
            if (v.nitems == 0)
                diag_error(s->assign.value->loc, "the call returns no value");
            else
                diag_error(s->assign.value->loc, "the call returns %d values but %d name%s %s given", v.nitems, n, n == 1 ? "" : "s",
                           n == 1 ? "is" : "are");
            v = value_error();
        } else {
            vals = v.items;
        }
    } else if (n > 1 && !value_is_error(&v)) {
        diag_error(s->assign.targets[1].loc, "%d names but the right side is one value", n);
        v = value_error();
    }
    for (int i = 0; i < n; i++) {
        const Name *t = &s->assign.targets[i];
        Value vi = value_is_error(&v) ? v : vals[i];
        Origin *o = check_new_origin(c, t->text, t->loc, NULL, vi.type);
        env_bind(c, env, t->text, vi, o);
        if (vi.kind == VAL_TENSOR && !vi.type.error)
            check_record_type(c, t->loc, t->text, value_type_text(c, &vi));
        else if (vi.kind == VAL_STRING)
            check_record_type(c, t->loc, t->text, "string");
    }
}

static bool same_result_type(const Value *want, const Value *got)
{
    if (!got->type.weak && got->type.dtype != want->type.dtype)
        return false;
    if (got->type.weak && !check_dtype_accepts(want->type.dtype, got))
        return false;
    return type_same_shape(want->type, got->type);
}

static void check_return(Checker *c, Env *env, const Stmt *s)
{
    if (!env->fn) {
        diag_error(s->loc, "'return' outside a function (a train block ends with 'minimize')");
        return;
    }
    if (env->loop_depth > 0)
        diag_error(s->loc, "'return' inside a for loop; loops are unrolled, so return after the loop");
    int n = s->ret.nvalues;
    Value *vals = arena_array(c->arena, (size_t)n, sizeof(Value));
    for (int i = 0; i < n; i++) {
        vals[i] = check_expr(c, env, s->ret.values[i]);
        if (!value_is_error(&vals[i]) && vals[i].kind != VAL_TENSOR) {
            diag_error(s->ret.values[i]->loc, "a function can only return tensors, not %s", value_desc(c, &vals[i]));
            vals[i] = value_error();
        }
    }
    env->returned = env->loop_depth == 0; /* in a loop it was reported; do not also report what follows */
    env->saw_return = true;
    if (env->infer_results) {
        env->results = vals;
        env->nresults = n;
        env->infer_results = false;
        for (int i = 0; i < n; i++) {
            Type t = env->results[i].type;
            if (c->lower && !value_is_error(&vals[i]))
                env->results[i].node = lower_coerce(c, &vals[i], t, s->ret.values[i]->loc) + 1;
            env->results[i].type.weak = false;
        }
        return;
    }
    if (n != env->nresults) {
        if (diag_error(s->loc, "'%s' returns %d value%s but is declared to return %d", env->fn->name, n, n == 1 ? "" : "s",
                       env->nresults))
            diag_note(env->fn->decl->name.loc, "'%s' is declared here", env->fn->name);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (c->lower && !value_is_error(&vals[i]) && !value_is_error(&env->results[i]))
            env->results[i].node = lower_coerce(c, &vals[i], env->results[i].type, s->ret.values[i]->loc) + 1;
        if (value_is_error(&vals[i]) || value_is_error(&env->results[i]) || same_result_type(&env->results[i], &vals[i]))
            continue;
        if (diag_error(s->ret.values[i]->loc, "returns %s, but result %d of '%s' is declared %s", ctype(c, vals[i].type), i + 1,
                       env->fn->name, ctype(c, env->results[i].type))) {
            Operand op = operand_of(c, &vals[i], s->ret.values[i], i);
            if (s->ret.values[i]->kind == EX_NAME)
                explain_operand(c, &op);
            diag_note(env->fn->decl->results[i]->loc, "result type declared here");
        }
    }
}

static bool static_int(Checker *c, Env *env, const Expr *e, const char *what, int64_t *out)
{
    Value v = check_expr(c, env, e);
    if (value_is_error(&v))
        return false;
    if (value_static_int(&v, out))
        return true;
    if (v.kind == VAL_TENSOR && v.has_size && !size_is_static(v.size))
        diag_error(e->loc, "%s must be known at compile time, but %s depends on a dim bound at run time", what,
                   size_str(c->arena, v.size, &c->names));
    else
        diag_error(e->loc, "%s must be an integer known at compile time, not %s", what, value_desc(c, &v));
    return false;
}

static void check_for(Checker *c, Env *env, const Stmt *s)
{
    int64_t lo, hi;
    bool ok_lo = static_int(c, env, s->loop.lo, "the start of a for loop", &lo);
    bool ok_hi = static_int(c, env, s->loop.hi, "the end of a for loop", &hi);
    if (!ok_lo || !ok_hi)
        return;
    const char *var = s->loop.var.text;
    Symbol *g = check_lookup(c, var);
    if (g || env_find(env, var)) {
        if (diag_error(s->loop.var.loc, "loop variable '%s' hides another name", var) && g)
            diag_note(g->decl->name.loc, "'%s' is declared here", var);
        return;
    }
    if (hi > lo && (uint64_t)hi - (uint64_t)lo > MAX_LOOP_TRIPS) {
        diag_error(loc_span(s->loop.lo->loc, s->loop.hi->loc), "loop runs %llu times; loops are unrolled, at most %d times",
                   (unsigned long long)((uint64_t)hi - (uint64_t)lo), MAX_LOOP_TRIPS);
        return;
    }
    env->loop_depth++;
    for (int64_t i = lo; i < hi; i++) {
        Origin *o = check_new_origin(c, var, s->loop.var.loc, NULL, type_scalar(DT_I64));
        o->loop_var = true;
        env_bind(c, env, var, value_int(i), o);
        check_block(c, env, &s->loop.body);
        if (c->budget_reported)
            break;
    }
    env->loop_depth--;
    env_unbind(c, env, var); /* the loop variable is local to the loop */
}

static void check_minimize(Checker *c, Env *env, const Stmt *s)
{
    if (!env->in_train) {
        diag_error(s->loc, "'minimize' is only allowed in a train block");
        return;
    }
    if (env->loop_depth > 0)
        diag_error(s->loc, "'minimize' inside a for loop; it must be the last statement of the train block");
    if (++env->minimizes > 1)
        diag_error(s->loc, "a train block minimizes one loss; this is its second 'minimize'");
    Value loss = check_expr(c, env, s->minimize.loss);
    if (!value_is_error(&loss)) {
        if (loss.kind != VAL_TENSOR || loss.type.rank != 0 || !dtype_is_float(loss.type.dtype) || loss.type.weak) {
            if (diag_error(s->minimize.loss->loc, "minimize needs a floating-point scalar loss, but this is %s",
                           value_desc(c, &loss)) &&
                loss.kind == VAL_TENSOR && loss.type.rank > 0)
                diag_note(s->minimize.loss->loc, "reduce it first, e.g. reduce(loss, \"... ->\", \"mean\")");
        }
    }
    IrTrainSpec *spec = arena_alloc(c->arena, sizeof *spec);
    check_optimizer(c, env, s, spec);
    lower_minimize(c, &loss, spec, s->loc);
    env->returned = env->loop_depth == 0; /* nothing may follow */
}

void check_block(Checker *c, Env *env, const Block *b)
{
    for (int i = 0; i < b->nstmts; i++) {
        const Stmt *s = b->stmts[i];
        if (!spend_budget(c, s->loc))
            return;
        if (env->returned && !(s->kind == ST_MINIMIZE && env->minimizes > 0)) {
            diag_error(s->loc, "statement after %s is never reached", env->in_train ? "'minimize'" : "'return'");
            return;
        }
        switch (s->kind) {
        case ST_ASSIGN: check_assign(c, env, s); break;
        case ST_RETURN: check_return(c, env, s); break;
        case ST_FOR: check_for(c, env, s); break;
        case ST_MINIMIZE: check_minimize(c, env, s); break;
        }
    }
}

/* ---- declarations ---- */

typedef struct GlobalResolver {
    Checker *c;
} GlobalResolver;

/* Names in a param's or a train block's types must be dims. */
static bool resolve_dim_name(void *ctx, const char *name, Loc loc, Size *out)
{
    return check_global_size(((GlobalResolver *)ctx)->c, name, loc, out);
}

static bool declared_type(Checker *c, const TypeExpr *t, Type *out)
{
    if (t->any_float) {
        diag_error(t->loc, "'float' (any float dtype) is only allowed in a function's signature; name the dtype here, e.g. f32");
        return false;
    }
    if (!t->is_tensor) {
        *out = type_scalar(t->dtype);
        return true;
    }
    GlobalResolver r = {c};
    ShapeSpec *spec = shape_parse(c->arena, t->shape, t->shape_len, t->shape_loc, false, resolve_dim_name, &r, &c->names);
    if (!spec)
        return false;
    Size *dims = arena_array(c->arena, (size_t)spec->naxes + 1, sizeof(Size));
    Size bytes = size_const((dtype_bits(t->dtype) + 7) / 8);
    for (int i = 0; i < spec->naxes; i++) {
        dims[i] = spec->axes[i].size;
        if (!size_is_surely_integral(dims[i]))
            check_require_integral(c, dims[i], spec->axes[i].loc, arena_printf(c->arena, "axis '%s'", spec->axes[i].spelling));
        if (size_mul(bytes, dims[i], &c->names, &bytes) != SIZE_OK) {
            diag_error(t->loc, "a tensor of this type would need more than 2^63 bytes");
            return false;
        }
    }
    *out = type_tensor(c->arena, t->dtype, spec->naxes, dims);
    return true;
}

bool check_resolve_param(Checker *c, Symbol *s)
{
    if (s->state == RESOLVE_DONE)
        return !s->failed;
    s->state = RESOLVE_DONE; /* a param's type names only dims: no cycle through params */
    Decl *d = s->decl;
    Type t;
    if (!declared_type(c, d->type, &t)) {
        s->failed = true;
        s->value = value_error();
        return false;
    }
    s->value = value_tensor(t);
    s->origin = (Origin){.name = s->name, .loc = d->name.loc, .declared = d->type, .type = t};
    s->value.origin = &s->origin;
    return true;
}

static void check_param(Checker *c, Symbol *s)
{
    Decl *d = s->decl;
    bool ok = check_resolve_param(c, s);
    if (ok)
        check_record_type(c, d->name.loc, s->name, ctype(c, s->value.type));
    if (!d->value) {
        if (diag_error(d->name.loc, "param '%s' has no initialiser", s->name))
            diag_note(d->type->loc, "add one, e.g. '= normal(std = 0.02)' or '= zeros()'");
        return;
    }
    check_initializer(c, d->value, ok ? s->value.type : type_error(), s->name);
}

void check_train(Checker *c, Symbol *s)
{
    Decl *d = s->decl;
    Env env = {.in_train = true};
    check_repeated_params(c, d);
    for (int i = 0; i < d->nparams; i++) {
        Symbol *g = check_lookup(c, d->params[i].name.text);
        if (g && diag_error(d->params[i].name.loc, "input '%s' has the name of a %s", d->params[i].name.text, check_kind_word(g->kind)))
            diag_note(g->decl->name.loc, "'%s' is declared here", g->name);
        Type t;
        Value v = value_error();
        if (declared_type(c, d->params[i].type, &t)) {
            v = value_tensor(t);
            check_record_type(c, d->params[i].name.loc, d->params[i].name.text, ctype(c, t));
        }
        Origin *o = check_new_origin(c, d->params[i].name.text, d->params[i].name.loc, d->params[i].type, v.type);
        if (c->lower && !value_is_error(&v))
            v.node = lower_input(c, d->params[i].name.text, v.type, d->params[i].type, d->params[i].name.loc) + 1;
        env_bind(c, &env, d->params[i].name.text, v, o);
    }
    check_block(c, &env, &d->body);
    if (env.minimizes == 0 && !d->broken && !c->budget_reported)
        diag_error(d->name.loc, "train block '%s' has no 'minimize LOSS with OPTIMIZER(...)'", s->name);
}

static void declare(Checker *c, Decl *d)
{
    static const SymKind kinds[] = {[DECL_DIM] = SYM_DIM, [DECL_CONST] = SYM_CONST, [DECL_PARAM] = SYM_PARAM,
                                    [DECL_FN] = SYM_FN, [DECL_TRAIN] = SYM_TRAIN};
    if (d->kind == DECL_IMPORT)
        return;
    const char *name = d->name.text;
    Symbol *prev = check_lookup(c, name);
    if (prev) {
        if (diag_error(d->name.loc, "'%s' is already declared", name))
            diag_note(prev->decl->name.loc, "previous declaration of '%s' as a %s", name, check_kind_word(prev->kind));
        return;
    }
    if (builtin_exists(name) && (d->kind == DECL_FN || d->kind == DECL_TRAIN)) {
        diag_error(d->name.loc, "'%s' is a built-in function and cannot be redefined", name);
        return;
    }
    Symbol *s = arena_alloc(c->arena, sizeof *s);
    s->kind = kinds[d->kind];
    s->name = name;
    s->decl = d;
    symbol_insert(c, s);
    ptrvec_push(c->arena, &c->decl_order, s);
}

static void check_symbol(Checker *c, Symbol *s)
{
    switch (s->kind) {
    case SYM_DIM:
        if (check_resolve_dim(c, s))
            check_record_type(c, s->decl->name.loc, s->name,
                              s->decl->value ? arena_printf(c->arena, "dim = %s", size_str(c->arena, s->size, &c->names))
                                             : "dim (bound at run time)");
        break;
    case SYM_CONST:
        if (check_resolve_const(c, s)) {
            check_record_type(c, s->decl->name.loc, s->name, arena_printf(c->arena, "const %s", value_type_text(c, &s->value)));
        }
        break;
    case SYM_PARAM:
        check_param(c, s);
        break;
    case SYM_FN:
        if (!s->generic && s->sig->ok && !s->instances)
            check_instantiate(c, s, DT_F32, NULL, NULL, 0, (Loc){0}, NULL);
        break;
    case SYM_TRAIN:
        check_train(c, s);
        break;
    }
}

/* ---- output ---- */

static int file_rank(Module **modules, int n, const SourceFile *f)
{
    for (int i = 0; i < n; i++)
        if (modules[i]->file == f)
            return i;
    return n;
}

static Module **sort_modules;
static int sort_nmodules;

static int compare_lines(const void *pa, const void *pb)
{
    const TypeLine *a = *(TypeLine *const *)pa, *b = *(TypeLine *const *)pb;
    int fa = file_rank(sort_modules, sort_nmodules, a->loc.file), fb = file_rank(sort_modules, sort_nmodules, b->loc.file);
    if (fa != fb)
        return fa < fb ? -1 : 1;
    if (a->loc.off != b->loc.off)
        return a->loc.off < b->loc.off ? -1 : 1;
    return strcmp(a->text, b->text);
}

static void print_lines(Checker *c, PtrVec *v, Module **modules, int n, bool with_col, const char *prefix)
{
    sort_modules = modules, sort_nmodules = n;
    if (v->len)
        qsort(v->items, v->len, sizeof(void *), compare_lines);
    const TypeLine *prev = NULL;
    for (size_t i = 0; i < v->len; i++) {
        const TypeLine *t = v->items[i];
        if (prev && prev->loc.file == t->loc.file && prev->loc.off == t->loc.off && strcmp(prev->text, t->text) == 0)
            continue;
        prev = t;
        uint32_t line, col;
        source_line_col(t->loc.file, t->loc.off, &line, &col);
        if (with_col)
            fprintf(c->opt->out, "%s:%u:%u: %s%s\n", t->loc.file->path, line, col, prefix, t->text);
        else
            fprintf(c->opt->out, "%s:%u: %s%s\n", t->loc.file->path, line, prefix, t->text);
    }
}

static int compare_conditions(const void *pa, const void *pb)
{
    const TypeLine *a = *(TypeLine *const *)pa, *b = *(TypeLine *const *)pb;
    int c = strcmp(a->text, b->text);
    return c ? c : compare_lines(pa, pb);
}

static void print_runtime_checks(Checker *c, Module **modules, int n)
{
    /* one line per distinct condition, at its first place in the source */
    PtrVec all = {0}, first = {0};
    for (size_t i = 0; i < c->runtime_checks.len; i++) {
        RuntimeCheck *r = c->runtime_checks.items[i];
        TypeLine *t = arena_alloc(c->arena, sizeof *t);
        t->loc = r->loc;
        t->text = r->condition;
        t->reason = r->reason;
        ptrvec_push(c->arena, &all, t);
    }
    sort_modules = modules, sort_nmodules = n;
    if (all.len)
        qsort(all.items, all.len, sizeof(void *), compare_conditions);
    for (size_t i = 0; i < all.len; i++)
        if (i == 0 || strcmp(((TypeLine *)all.items[i])->text, ((TypeLine *)all.items[i - 1])->text) != 0)
            ptrvec_push(c->arena, &first, all.items[i]);
    for (size_t i = 0; i < first.len; i++) {
        TypeLine *t = first.items[i];
        t->text = arena_printf(c->arena, "%s (%s)", t->text, t->reason);
    }
    print_lines(c, &first, modules, n, true, "runtime check: ");
}

static int compare_names(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

bool check_in_broken_statement(Checker *c, const char *name)
{
    return c->broken_names.len &&
           bsearch(&name, c->broken_names.items, c->broken_names.len, sizeof(void *), compare_names) != NULL;
}

int check_program(Arena *a, Module **modules, int nmodules, CheckOptions *opt)
{
    Checker c = {.arena = a, .opt = opt, .budget = CHECK_BUDGET};
    c.shape = (ShapeCtx){.arena = a, .names = &c.names, .checker = &c, .explain = explain_operand,
                         .axis_name = operand_axis_name, .need_integral = shape_need_integral};
    for (int m = 0; m < nmodules; m++)
        for (size_t i = 0; i < modules[m]->broken_names.len; i++)
            ptrvec_push(a, &c.broken_names, modules[m]->broken_names.items[i]);
    if (c.broken_names.len)
        qsort(c.broken_names.items, c.broken_names.len, sizeof(void *), compare_names);
    for (int m = nmodules - 1; m >= 0; m--) /* imported files first, so a clash is reported in the importer */
        for (int i = 0; i < modules[m]->ndecls; i++)
            declare(&c, modules[m]->decls[i]);
    for (size_t i = 0; i < c.decl_order.len; i++) {
        Symbol *s = c.decl_order.items[i];
        if (s->kind == SYM_FN)
            s->sig = check_read_signature(&c, s);
    }
    for (size_t i = 0; i < c.decl_order.len; i++)
        check_symbol(&c, c.decl_order.items[i]);
    for (size_t i = 0; i < c.decl_order.len; i++)
        check_uncalled_generic(&c, c.decl_order.items[i]);
    diag_finish();
    if (opt->print_types)
        print_lines(&c, &c.type_lines, modules, nmodules, false, "");
    if (opt->print_runtime_checks)
        print_runtime_checks(&c, modules, nmodules);
    if (opt->backend && diag_error_count() == 0) {
        IrProgram *ir = lower_program(&c);
        diag_finish();
        if (ir)
            opt->backend(opt->backend_ctx, ir);
        return diag_error_count();
    }
    return diag_error_count();
}
