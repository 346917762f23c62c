/* check_fn.c - functions: signatures, calls and instances (see check.h).
 *
 * A function's signature is read once, with every name in its parameter
 * types that is not a dim becoming a size variable (a symbolic dim of its
 * own), `...` a run of axes and `float` a float dtype. Each call binds them
 * from its arguments and checks the body for that binding, once per distinct
 * binding (an instance), like a template. A generic function never called is
 * checked once with its variables left symbolic. */
#include "check_internal.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_CALL_DEPTH = 200 };

/* ---- function signatures ---- */

typedef struct SigResolver {
    Checker *c;
    FnSig *sig;
    bool results; /* in a result type: no new variables */
} SigResolver;


static int find_var(const FnSig *sig, const char *name)
{
    if (!sig->var_index_cap)
        return -1;
    uint32_t mask = sig->var_index_cap - 1;
    for (uint32_t j = hash_string(name) & mask; sig->var_index[j]; j = (j + 1) & mask)
        if (strcmp(sig->var_names[sig->var_index[j] - 1], name) == 0)
            return sig->var_index[j] - 1;
    return -1;
}

static void index_var(FnSig *sig, int v)
{
    uint32_t mask = sig->var_index_cap - 1, j = hash_string(sig->var_names[v]) & mask;
    while (sig->var_index[j])
        j = (j + 1) & mask;
    sig->var_index[j] = v + 1;
}

/* A new size variable: a symbolic dim of its own, found again by name
 * (through the index) and by dim (through the checker's dim_var). */
static void add_var(Checker *c, FnSig *sig, const char *name, Loc loc)
{
    if (sig->nvars == sig->var_cap) {
        int cap = sig->var_cap ? sig->var_cap * 2 : 8;
        uint32_t *ids = arena_array(c->arena, (size_t)cap, sizeof *ids);
        const char **names = arena_array(c->arena, (size_t)cap, sizeof *names);
        Loc *locs = arena_array(c->arena, (size_t)cap, sizeof *locs);
        if (sig->nvars) {
            memcpy(ids, sig->var_ids, (size_t)sig->nvars * sizeof *ids);
            memcpy(names, sig->var_names, (size_t)sig->nvars * sizeof *names);
            memcpy(locs, sig->var_locs, (size_t)sig->nvars * sizeof *locs);
        }
        sig->var_ids = ids, sig->var_names = names, sig->var_locs = locs, sig->var_cap = cap;
        sig->var_index_cap = (uint32_t)cap * 2;
        sig->var_index = arena_array(c->arena, sig->var_index_cap, sizeof *sig->var_index);
        for (int v = 0; v < sig->nvars; v++)
            index_var(sig, v);
    }
    int n = sig->nvars++;
    sig->var_ids[n] = check_new_dim_name(c, arena_strdup(c->arena, name));
    sig->var_names[n] = c->names.names[sig->var_ids[n]];
    sig->var_locs[n] = loc;
    c->dim_var[sig->var_ids[n]] = n;
    index_var(sig, n);
}

/* The size variable an axis is on its own (`n`, not `2*n`), or -1. */
static int bare_var(const Checker *c, const FnSig *sig, const ShapeAxis *ax)
{
    Size s = ax->size;
    if (ax->is_ellipsis || s.num != 1 || s.den != 1 || s.nfactors != 1 || s.factors[0].exp != 1)
        return -1;
    return check_var_of(c, sig, s.factors[0].dim);
}

static bool resolve_sig_name(void *ctx, const char *name, Loc loc, Size *out)
{
    SigResolver *r = ctx;
    Checker *c = r->c;
    if (check_lookup(c, name))
        return check_global_size(c, name, loc, out);
    FnSig *sig = r->sig;
    int v = find_var(sig, name);
    if (v >= 0) {
        *out = size_dim(sig->var_ids[v]);
        return true;
    }
    if (r->results) {
        diag_error(loc, "size '%s' in a result type is neither a dim nor a size of a parameter", name);
        return false;
    }
    add_var(c, sig, name, loc);
    *out = size_dim(sig->var_ids[sig->nvars - 1]);
    return true;
}

static ShapeSpec *parse_sig_type(Checker *c, SigResolver *r, const TypeExpr *t, bool *ok)
{
    if (!t->is_tensor)
        return NULL;
    ShapeSpec *spec = shape_parse(c->arena, t->shape, t->shape_len, t->shape_loc, true, resolve_sig_name, r, &c->names);
    if (!spec)
        *ok = false;
    else if (spec->ellipsis >= 0)
        r->sig->has_ellipsis = true;
    return spec;
}

FnSig *check_read_signature(Checker *c, Symbol *fn)
{
    Decl *d = fn->decl;
    FnSig *sig = arena_alloc(c->arena, sizeof *sig);
    sig->ok = true;
    SigResolver r = {c, sig, false};
    sig->params = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(ShapeSpec *));
    if (check_repeated_params(c, d))
        sig->ok = false;
    for (int i = 0; i < d->nparams; i++)
        sig->params[i] = parse_sig_type(c, &r, d->params[i].type, &sig->ok);
    bool params_have_ellipsis = sig->has_ellipsis;
    sig->any_float_param = -1;
    for (int i = d->nparams - 1; i >= 0; i--)
        if (d->params[i].type->any_float)
            sig->any_float_param = i;
    for (int i = 0; i < d->nresults; i++)
        if (d->results[i]->any_float && sig->any_float_param < 0) {
            diag_error(d->results[i]->loc, "'float' in a result type needs a parameter typed 'float' to say which float dtype it is");
            sig->ok = false;
        }
    r.results = true;
    sig->results = arena_array(c->arena, (size_t)d->nresults + 1, sizeof(ShapeSpec *));
    for (int i = 0; i < d->nresults; i++) {
        sig->results[i] = parse_sig_type(c, &r, d->results[i], &sig->ok);
        if (sig->results[i] && sig->results[i]->ellipsis >= 0 && !params_have_ellipsis) {
            diag_error(sig->results[i]->axes[sig->results[i]->ellipsis].loc,
                       "'...' in a result type needs '...' in a parameter type to say what it stands for");
            sig->ok = false;
        }
    }
    for (int j = 0; j < d->nparams; j++) {
        int i = find_var(sig, d->params[j].name.text);
        if (i >= 0) {
            if (diag_error(sig->var_locs[i], "size '%s' has the name of parameter '%s'", sig->var_names[i], sig->var_names[i]))
                diag_note(d->params[j].name.loc, "parameter declared here");
            sig->ok = false;
        }
    }
    /* a size variable only inside a product (`2*n`) cannot be bound from an argument */
    bool *bare = arena_array(c->arena, (size_t)sig->nvars + 1, sizeof *bare);
    for (int i = 0; i < d->nparams; i++)
        for (int k = 0; sig->params[i] && k < sig->params[i]->naxes; k++) {
            int v = bare_var(c, sig, &sig->params[i]->axes[k]);
            if (v >= 0)
                bare[v] = true;
        }
    for (int v = 0; v < sig->nvars; v++) {
        if (!bare[v]) {
            if (diag_error(sig->var_locs[v], "size '%s' must appear alone as an axis of some parameter, so a call can bind it",
                           sig->var_names[v]))
                diag_note(sig->var_locs[v], "declare it with 'dim %s' if it is a dim of the program", sig->var_names[v]);
            sig->ok = false;
        }
    }
    sig->ellipsis_id = check_new_dim_name(c, "...");
    fn->generic = sig->nvars > 0 || sig->has_ellipsis || sig->any_float_param >= 0;
    return sig;
}

/* Replaces size variables by their bound sizes. */
static bool substitute(Checker *c, Size s, const FnSig *sig, const Size *bound, Loc loc, Size *out)
{
    Size r = s;
    r.nfactors = 0;
    for (int i = 0; i < s.nfactors; i++) {
        int v = check_var_of(c, sig, s.factors[i].dim);
        SizeStatus st = SIZE_OK;
        if (v < 0) {
            Size f = size_dim(s.factors[i].dim);
            for (int k = 0; k < abs(s.factors[i].exp) && st == SIZE_OK; k++)
                st = s.factors[i].exp > 0 ? size_mul(r, f, &c->names, &r) : size_div(r, f, &c->names, &r);
        } else {
            for (int k = 0; k < abs(s.factors[i].exp) && st == SIZE_OK; k++)
                st = s.factors[i].exp > 0 ? size_mul(r, bound[v], &c->names, &r) : size_div(r, bound[v], &c->names, &r);
        }
        if (!size_report(st, loc, "the size"))
            return false;
    }
    *out = r;
    return true;
}

/* The type a ShapeSpec denotes once variables and `...` are bound. */
static bool spec_type(Checker *c, const ShapeSpec *spec, Dtype dt, const FnSig *sig, const Size *bound, const Size *ell,
                      int nell, Loc loc, Type *out)
{
    if (!spec) {
        *out = type_scalar(dt);
        return true;
    }
    int rank = spec->naxes - (spec->ellipsis >= 0 ? 1 : 0) + (spec->ellipsis >= 0 ? nell : 0);
    Size *dims = arena_array(c->arena, (size_t)rank + 1, sizeof(Size));
    int r = 0;
    for (int k = 0; k < spec->naxes; k++) {
        if (spec->axes[k].is_ellipsis) {
            for (int i = 0; i < nell; i++)
                dims[r++] = ell[i];
            continue;
        }
        Size s;
        if (!substitute(c, spec->axes[k].size, sig, bound, loc, &s))
            return false;
        if (size_is_static(s) && s.den != 1) {
            diag_error(loc, "axis '%s' comes out as %s, which is not a whole number", spec->axes[k].spelling,
                       size_str(c->arena, s, &c->names));
            return false;
        }
        if (!size_is_surely_integral(s))
            check_require_integral(c, s, loc, arena_printf(c->arena, "axis '%s'", spec->axes[k].spelling));
        dims[r++] = s;
    }
    Type t = {.dtype = dt, .rank = rank, .dims = dims};
    *out = t;
    return true;
}

/* ---- calls of user functions ---- */

static const char *param_type_text(Checker *c, const Param *p)
{
    if (!p->type->is_tensor)
        return type_expr_dtype(p->type);
    return arena_printf(c->arena, "%s[\"%s\"]", type_expr_dtype(p->type), p->type->shape);
}

/* A written dtype, with `float` standing for the float dtype of this call. */
static Dtype dtype_in_call(const TypeExpr *t, Dtype call_float) { return t->any_float ? call_float : t->dtype; }

bool check_dtype_accepts(Dtype param, const Value *arg)
{
    if (arg->type.dtype == param && !arg->type.weak)
        return true;
    if (!arg->type.weak || arg->type.rank != 0)
        return false;
    /* a literal number: an int fits any numeric dtype, a float any float dtype */
    return dtype_is_float(param) || (!dtype_is_float(arg->type.dtype) && dtype_is_int(param));
}

static Operand call_operand(Checker *c, const Value *arg, const Expr *e, int i)
{
    Operand op = operand_of(c, arg, e, i);
    if (e->kind != EX_NAME)
        op.desc = arena_printf(c->arena, "argument %d", i + 1);
    return op;
}

/* Binds size variables and `...` from one argument; false after an error. */
static bool bind_argument(Checker *c, Symbol *fn, int i, const Value *arg, const Expr *arg_expr, Dtype call_float, Size *bound,
                          bool *is_bound, const Size **ell, int *nell, bool *ell_bound, int *ell_from)
{
    const Param *p = &fn->decl->params[i];
    const ShapeSpec *spec = fn->sig->params[i];
    Operand op = call_operand(c, arg, arg_expr, i);
    bool printed = false;
    if (!check_dtype_accepts(dtype_in_call(p->type, call_float), arg)) {
        int fp = fn->sig->any_float_param;
        if (p->type->any_float)
            printed = diag_error(arg_expr->loc, "argument %d of '%s' is %s, but parameter '%s' is %s, and 'float' is %s in this call (from argument %d)",
                                 i + 1, fn->name, value_desc(c, arg), p->name.text, param_type_text(c, p), dtype_name(call_float), fp + 1);
        else
            printed = diag_error(arg_expr->loc, "argument %d of '%s' is %s, but parameter '%s' is %s", i + 1, fn->name,
                                 value_desc(c, arg), p->name.text, param_type_text(c, p));
        goto fail;
    }
    int fixed = spec ? spec->naxes - (spec->ellipsis >= 0) : 0;
    bool has_ell = spec && spec->ellipsis >= 0;
    if (has_ell ? arg->type.rank < fixed : arg->type.rank != fixed) {
        printed = diag_error(arg_expr->loc, "argument %d of '%s' has %d ax%s, but parameter '%s: %s' needs %s%d", i + 1, fn->name,
                             arg->type.rank, arg->type.rank == 1 ? "is" : "es", p->name.text, param_type_text(c, p),
                             has_ell ? "at least " : "", fixed);
        goto fail;
    }
    int extra = arg->type.rank - fixed;
    if (has_ell) {
        const Size *mine = arg->type.dims ? arg->type.dims + spec->ellipsis : NULL; /* a scalar has no dims */
        if (!*ell_bound) {
            *ell = mine, *nell = extra, *ell_bound = true, *ell_from = i;
        } else if (*nell != extra || !type_same_shape(type_tensor(c->arena, DT_F32, extra, mine),
                                                      type_tensor(c->arena, DT_F32, *nell, *ell))) {
            printed = diag_error(arg_expr->loc, "'...' of '%s' stands for \"%s\" in argument %d but \"%s\" in argument %d", fn->name,
                                 shape_str(c->arena, *ell, *nell, &c->names), *ell_from + 1,
                                 shape_str(c->arena, mine, extra, &c->names), i + 1);
            goto fail;
        }
    }
    for (int k = 0, axis = 0; spec && k < spec->naxes; k++) {
        if (spec->axes[k].is_ellipsis) {
            axis += extra;
            continue;
        }
        int v = bare_var(c, fn->sig, &spec->axes[k]);
        if (v >= 0 && !is_bound[v]) {
            bound[v] = arg->type.dims[axis];
            is_bound[v] = true;
        }
        axis++;
    }
    return true;
fail:
    if (printed) {
        explain_operand(c, &op);
        diag_note(p->name.loc, "parameter '%s' is declared here", p->name.text);
    }
    return false;
}

/* After binding: every axis must equal what the parameter type says. */
static bool match_argument(Checker *c, Symbol *fn, int i, const Value *arg, const Expr *arg_expr, Dtype call_float,
                           const Size *bound, const Size *ell, int nell)
{
    const Param *p = &fn->decl->params[i];
    Type want;
    if (!spec_type(c, fn->sig->params[i], dtype_in_call(p->type, call_float), fn->sig, bound, ell, nell, arg_expr->loc, &want))
        return false;
    for (int k = 0; k < want.rank; k++) {
        if (size_eq(want.dims[k], arg->type.dims[k]))
            continue;
        Operand op = call_operand(c, arg, arg_expr, i);
        if (diag_error(arg_expr->loc, "axis %d of argument %d of '%s' is %s, but parameter '%s' needs %s", k, i + 1, fn->name,
                       size_str(c->arena, arg->type.dims[k], &c->names), p->name.text,
                       size_str(c->arena, want.dims[k], &c->names))) {
            explain_operand(c, &op);
            diag_note(p->name.loc, "parameter '%s: %s' is declared here", p->name.text, param_type_text(c, p));
        }
        return false;
    }
    return true;
}

/* Sizes spelled by dim index, not name: distinct dims may share a name. */
static const char *raw_size(Checker *c, Size s)
{
    const char *out = arena_printf(c->arena, "%lld/%lld", (long long)s.num, (long long)s.den);
    for (int i = 0; i < s.nfactors; i++)
        out = arena_printf(c->arena, "%s*d%u^%d", out, s.factors[i].dim, s.factors[i].exp);
    return out;
}

/* The binding as a string, built in one pass (a signature may bind
 * thousands of sizes). */
static const char *instance_key(Checker *c, const FnSig *sig, Dtype call_float, const Size *bound, const Size *ell, int nell)
{
    int n = nell + sig->nvars + 1;
    const char **parts = arena_array(c->arena, (size_t)n, sizeof *parts);
    size_t total = 1;
    parts[0] = arena_printf(c->arena, "float=%s;", dtype_name(call_float));
    for (int i = 0; i < nell; i++)
        parts[1 + i] = raw_size(c, ell[i]);
    for (int v = 0; v < sig->nvars; v++)
        parts[1 + nell + v] = raw_size(c, bound[v]);
    for (int i = 0; i < n; i++)
        total += strlen(parts[i]) + 1;
    char *key = arena_alloc(c->arena, total), *p = key;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(parts[i]);
        memcpy(p, parts[i], len);
        p += len;
        *p++ = i == nell ? '|' : ' '; /* where `...` ends and the variables begin */
    }
    *p = 0;
    return key;
}

/* Checks the body of `fn` with its variables bound; returns the instance. */
FnInstance *check_instantiate(Checker *c, Symbol *fn, Dtype call_float, const Size *bound, const Size *ell, int nell,
                               Loc call_loc, const Value *args)
{
    const char *key = instance_key(c, fn->sig, call_float, bound, ell, nell);
    FnInstance *in;
    if (!c->lower) {
        for (in = fn->instances; in; in = in->next)
            if (strcmp(in->key, key) == 0)
                return in;
    }
    in = arena_alloc(c->arena, sizeof *in);
    in->key = key;
    if (!c->lower) { /* lowering inlines every call afresh: its values are the call's own nodes */
        in->next = fn->instances;
        fn->instances = in;
    }
    bool context = call_loc.file != NULL;
    bool outermost = context && !c->call_site.file;
    if (context)
        diag_push_context(call_loc, arena_printf(c->arena, "in the call of '%s' here", fn->name));
    if (outermost)
        c->call_site = call_loc, c->call_site_fn = fn->name;
    Decl *d = fn->decl;
    Env env = {.fn = fn, .ellipsis = ell, .nellipsis = nell, .has_ellipsis = fn->sig->has_ellipsis};
    for (int i = 0; i < d->nparams; i++) {
        Type t;
        if (!spec_type(c, fn->sig->params[i], dtype_in_call(d->params[i].type, call_float), fn->sig, bound, ell, nell,
                       d->params[i].name.loc, &t)) {
            in->failed = true;
            goto leave;
        }
        Origin *o = check_new_origin(c, d->params[i].name.text, d->params[i].name.loc, d->params[i].type, t);
        Value pv = value_tensor(t);
        if (c->lower && args)
            pv.node = lower_coerce(c, &args[i], t, d->params[i].name.loc) + 1;
        env_bind(c, &env, d->params[i].name.text, pv, o);
        check_record_type(c, d->params[i].name.loc, d->params[i].name.text, ctype(c, t));
    }
    for (int v = 0; v < fn->sig->nvars; v++)
        env_bind(c, &env, fn->sig->var_names[v], value_size(c, bound[v]), NULL);
    env.nresults = d->nresults;
    env.infer_results = d->nresults == 0;
    env.results = arena_array(c->arena, (size_t)d->nresults + 1, sizeof(Value));
    for (int i = 0; i < d->nresults; i++) {
        Type t;
        if (!spec_type(c, fn->sig->results[i], dtype_in_call(d->results[i], call_float), fn->sig, bound, ell, nell,
                       d->results[i]->loc, &t)) {
            in->failed = true;
            goto leave;
        }
        env.results[i] = value_tensor(t);
    }
    fn->checking = true;
    c->call_depth++;
    check_block(c, &env, &d->body);
    c->call_depth--;
    fn->checking = false;
    if (!env.saw_return && !env.infer_results && !d->broken && !c->budget_reported)
        diag_error(d->body.loc.file ? loc_sub(d->body.loc, d->body.loc.len - 1, 1) : d->loc,
                   "function '%s' ends without returning its result%s", fn->name, d->nresults == 1 ? "" : "s");
    in->results = env.results;
    in->nresults = env.nresults;
leave:
    if (context)
        diag_pop_context();
    if (outermost)
        c->call_site = (Loc){0};
    return in;
}

Value check_call_fn(Checker *c, Env *env, Symbol *fn, const Expr *call)
{
    Decl *d = fn->decl;
    int nargs = call->call.nargs;
    Value *args = arena_array(c->arena, (size_t)nargs + 1, sizeof(Value));
    bool ok = true;
    for (int i = 0; i < nargs; i++) {
        const Arg *a = &call->call.args[i];
        args[i] = check_expr(c, env, a->value);
        if (a->keyword.text) {
            diag_error(a->keyword.loc, "'%s' takes its arguments by position; keyword '%s' is not allowed", fn->name,
                       a->keyword.text);
            ok = false;
        } else if (!value_is_error(&args[i]) && args[i].kind != VAL_TENSOR) {
            diag_error(a->value->loc, "argument %d of '%s' must be a tensor, not %s", i + 1, fn->name, value_desc(c, &args[i]));
            ok = false;
        } else if (value_is_error(&args[i])) {
            ok = false;
        }
    }
    if (nargs != d->nparams) {
        if (diag_error(call->loc, "'%s' takes %d argument%s but %d %s given", fn->name, d->nparams, d->nparams == 1 ? "" : "s",
                       nargs, nargs == 1 ? "was" : "were"))
            diag_note(d->name.loc, "'%s' is declared here", fn->name);
        return value_error();
    }
    if (!ok || !fn->sig->ok)
        return value_error();
    if (fn->checking) {
        if (diag_error(call->call.callee.loc, "'%s' is called recursively; tdc inlines every call, so recursion is not allowed", fn->name))
            diag_note(d->name.loc, "'%s' is declared here", fn->name);
        return value_error();
    }
    if (c->call_depth >= MAX_CALL_DEPTH) {
        diag_error(call->loc, "calls nested more than %d deep", MAX_CALL_DEPTH);
        return value_error();
    }
    Dtype call_float = DT_F32;
    int fp = fn->sig->any_float_param;
    if (fp >= 0) { /* the first `float[...]` argument says which float dtype `float` is in this call */
        const Value *a = &args[fp];
        if (!a->type.weak && !dtype_is_float(a->type.dtype)) {
            if (diag_error(call->call.args[fp].value->loc, "argument %d of '%s' is %s, but parameter '%s' needs a float dtype", fp + 1,
                           fn->name, value_desc(c, a), d->params[fp].name.text))
                diag_note(d->params[fp].name.loc, "parameter '%s: %s' is declared here", d->params[fp].name.text,
                          param_type_text(c, &d->params[fp]));
            return value_error();
        }
        if (!a->type.weak)
            call_float = a->type.dtype;
    }
    Size *bound = arena_array(c->arena, (size_t)fn->sig->nvars + 1, sizeof(Size));
    bool *is_bound = arena_array(c->arena, (size_t)fn->sig->nvars + 1, sizeof(bool));
    const Size *ell = NULL;
    int nell = 0, ell_from = 0;
    bool ell_bound = false;
    for (int i = 0; i < nargs; i++)
        if (!bind_argument(c, fn, i, &args[i], call->call.args[i].value, call_float, bound, is_bound, &ell, &nell, &ell_bound,
                           &ell_from))
            return value_error();
    for (int i = 0; i < nargs; i++)
        if (!match_argument(c, fn, i, &args[i], call->call.args[i].value, call_float, bound, ell, nell))
            return value_error();
    FnInstance *in = check_instantiate(c, fn, call_float, bound, ell, nell, fn->generic ? call->loc : (Loc){0}, args);
    if (in->failed)
        return value_error();
    if (in->nresults == 1) {
        Value v = in->results[0];
        v.origin = NULL;
        v.known = false;
        return v;
    }
    Value t = {.kind = VAL_TUPLE, .items = in->results, .nitems = in->nresults};
    return t;
}

/* A generic function nobody calls is still checked, with its size
 * variables symbolic and `...` standing for one symbolic axis. */
void check_uncalled_generic(Checker *c, Symbol *s)
{
    if (s->kind != SYM_FN || !s->generic || !s->sig->ok || s->instances)
        return;
    Size *bound = arena_array(c->arena, (size_t)s->sig->nvars + 1, sizeof(Size));
    for (int v = 0; v < s->sig->nvars; v++)
        bound[v] = size_dim(s->sig->var_ids[v]);
    Size *ell = arena_alloc(c->arena, sizeof(Size));
    ell[0] = size_dim(s->sig->ellipsis_id);
    c->symbolic_instance = c->shape.symbolic = true;
    check_instantiate(c, s, DT_F32, bound, ell, s->sig->has_ellipsis ? 1 : 0, (Loc){0}, NULL);
    c->symbolic_instance = c->shape.symbolic = false;
}

