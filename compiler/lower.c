/* lower.c - the IR of each operation the checker types (see lower.h).
 *
 * Elementwise operations become MAP nodes whose expression reads broadcast
 * views of their inputs; numbers and sizes known at compile time become
 * constants inside the expression. einops' patterns lower to views around
 * plain operations: each side is split into its atomic axes (a group
 * `(h d)` is a split, `...` its own axes, a unit axis dropped), a REDUCE
 * sums what the output lacks, a broadcast adds what `repeat` makes, and the
 * output's groups are merges, with a COPY only where the strides cannot
 * merge. einsum contracts its operands pairwise, smallest result first (as
 * opt_einsum's greedy order), each pair one CONTRACT (a batched GEMM). */
#include "check_internal.h"
#include "grad.h"
#include "lower.h"

#include <string.h>

enum { MAX_MAP_INPUTS = 16 };

int lower_node_of(const Value *v) { return v->node - 1; }

enum { IR_MAX_RANK = 64 }; /* axes of one tensor the compiler takes: loop nests this deep already read badly */

static bool fail(Checker *c, Loc loc, const char *what);

static bool active(Checker *c, const Value *r, Loc loc)
{
    if (!c->lower || c->lower->build.failed || value_is_error(r) || r->kind != VAL_TENSOR || r->known || r->has_size)
        return false;
    if (r->type.rank > IR_MAX_RANK)
        return fail(c, loc, arena_printf(c->arena, "a tensor with %d axes (the compiler takes at most %d)", r->type.rank,
                                         IR_MAX_RANK));
    return true;
}

static IrFunction *fn_of(Checker *c) { return c->lower->build.fn; }
static IrBuild *bld(Checker *c) { return &c->lower->build; }

static bool fail(Checker *c, Loc loc, const char *what) { return irb_fail(bld(c), loc, what); }

/* A weak type's dtype made concrete: f32 for a float literal, i64 for an int. */
static Dtype concrete(Type t)
{
    if (!t.weak)
        return t.dtype;
    return dtype_is_float(t.dtype) ? DT_F32 : t.dtype == DT_BOOL ? DT_BOOL : DT_I64;
}

static Type concrete_type(Type t)
{
    t.dtype = concrete(t);
    t.weak = false;
    return t;
}

static bool view_of(Checker *c, int id, View *v, int *base)
{
    if (!ir_view_of(c->arena, fn_of(c), id, &c->names, v, base))
        return false;
    return true;
}

static int make_view(Checker *c, int base, View v, Loc loc) { return irb_view(bld(c), base, v, loc); }

/* ---- map expressions ---- */

typedef struct MapBuild {
    int inputs[MAX_MAP_INPUTS];
    int n;
    Type result;
} MapBuild;

static MapExpr *mx_cast(Arena *a, MapExpr *e, Dtype to)
{
    if (e->dtype == to)
        return e;
    if (e->kind == MX_CONST) { /* a literal takes the dtype it meets */
        MapExpr *k = arena_alloc(a, sizeof *k);
        *k = *e;
        k->dtype = to;
        if (dtype_is_float(to) && e->is_int)
            k->fval = (double)e->ival, k->is_int = false;
        else if (!dtype_is_float(to) && !e->is_int)
            k->ival = to == DT_BOOL ? e->fval != 0 : (int64_t)e->fval, k->is_int = true;
        return k;
    }
    MapExpr *x = arena_alloc(a, sizeof *x);
    x->kind = MX_CAST;
    x->dtype = to;
    x->args[0] = e;
    x->nargs = 1;
    return x;
}

static MapExpr *mx_const(Arena *a, const Value *v, Dtype t)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_CONST;
    e->dtype = t;
    if (dtype_is_float(t)) {
        e->fval = v->known_is_int ? (double)v->int_value : v->float_value;
    } else {
        e->is_int = true;
        e->ival = v->known_is_int ? v->int_value : (int64_t)v->float_value;
        if (t == DT_BOOL)
            e->ival = e->ival != 0 || (!v->known_is_int && v->float_value != 0);
    }
    return e;
}

static MapExpr *mx_number(Arena *a, double f, int64_t i, bool is_int, Dtype t)
{
    Value v = {.known = true, .known_is_int = is_int, .int_value = i, .float_value = f};
    return mx_const(a, &v, t);
}

/* The node `id` broadcast to the map's result shape. */
static int broadcast_to(Checker *c, int id, Type result, Loc loc)
{
    const IrNode *n = ir_get(fn_of(c), id);
    if (n->type.rank == result.rank && type_same_shape(n->type, result))
        return id;
    View v;
    int base;
    if (!view_of(c, id, &v, &base))
        return -1;
    return make_view(c, base, view_broadcast(c->arena, &v, result.rank, result.dims), loc);
}

static MapExpr *leaf(Checker *c, MapBuild *mb, const Value *v, Dtype want, Loc loc)
{
    Arena *a = c->arena;
    if (v->known)
        return mx_const(a, v, want);
    if (v->has_size) {
        MapExpr *e = arena_alloc(a, sizeof *e);
        e->kind = MX_SIZE;
        e->dtype = DT_I64;
        e->size = v->size;
        return mx_cast(a, e, want);
    }
    int id = broadcast_to(c, lower_node_of(v), mb->result, loc);
    if (id < 0) {
        fail(c, loc, "a stride of this broadcast is too complex");
        return mx_number(a, 0, 0, true, want);
    }
    int k = 0;
    while (k < mb->n && mb->inputs[k] != id)
        k++;
    if (k == mb->n) {
        if (mb->n == MAX_MAP_INPUTS) {
            fail(c, loc, "too many inputs to one elementwise operation");
            return mx_number(a, 0, 0, true, want);
        }
        mb->inputs[mb->n++] = id;
    }
    return mx_cast(a, mx_input(a, k, ir_get(fn_of(c), id)->type.dtype), want);
}

static void finish_map(Checker *c, MapBuild *mb, MapExpr *e, Value *r, Loc loc)
{
    if (c->lower->build.failed)
        return;
    IrNode *n = ir_node(c->arena, fn_of(c), IR_MAP, mb->result, loc, mb->n, mb->inputs);
    n->expr = mx_simplify(c->arena, mx_cast(c->arena, e, mb->result.dtype));
    r->node = n->id + 1;
}

static MapFn binary_fn(int op)
{
    switch (op) {
    case OP_ADD: return MF_ADD;
    case OP_SUB: return MF_SUB;
    case OP_MUL: return MF_MUL;
    case OP_DIV: return MF_DIV;
    case OP_POW: return MF_POW;
    case OP_EQ: return MF_EQ;
    case OP_NE: return MF_NE;
    case OP_LT: return MF_LT;
    case OP_LE: return MF_LE;
    case OP_GT: return MF_GT;
    default: return MF_GE;
    }
}

void lower_binary(Checker *c, int op, const Value *a, const Value *b, Dtype arg_dtype, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    MapBuild mb = {.result = concrete_type(r->type)};
    bool compare = op >= OP_EQ && op <= OP_GE;
    Dtype args = compare ? arg_dtype : mb.result.dtype; /* true division: ints divide as f32 */
    MapExpr *x = leaf(c, &mb, a, args, loc), *y = leaf(c, &mb, b, args, loc);
    finish_map(c, &mb, mx_call(c->arena, binary_fn(op), mb.result.dtype, args, x, y), r, loc);
}

void lower_call1(Checker *c, const char *name, const Value *x, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    static const struct { const char *name; MapFn fn; } fns[] = {
        {"neg", MF_NEG}, {"sqrt", MF_SQRT}, {"rsqrt", MF_RSQRT}, {"exp", MF_EXP}, {"log", MF_LOG}, {"tanh", MF_TANH},
        {"sigmoid", MF_SIGMOID}, {"gelu", MF_GELU}, {"silu", MF_SILU}, {"sin", MF_SIN}, {"cos", MF_COS},
        {"abs", MF_ABS}, {"relu", MF_RELU},
    };
    MapFn fn = MF_NEG;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (strcmp(fns[i].name, name) == 0)
            fn = fns[i].fn;
    MapBuild mb = {.result = concrete_type(r->type)};
    MapExpr *e = leaf(c, &mb, x, mb.result.dtype, loc);
    finish_map(c, &mb, mx_call(c->arena, fn, mb.result.dtype, mb.result.dtype, e, NULL), r, loc);
}

void lower_maxmin(Checker *c, bool max, const Value *a, const Value *b, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    MapBuild mb = {.result = concrete_type(r->type)};
    Dtype t = mb.result.dtype;
    MapExpr *x = leaf(c, &mb, a, t, loc), *y = leaf(c, &mb, b, t, loc);
    finish_map(c, &mb, mx_call(c->arena, max ? MF_MAX : MF_MIN, t, t, x, y), r, loc);
}

void lower_where(Checker *c, const Value *v, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    MapBuild mb = {.result = concrete_type(r->type)};
    Dtype t = mb.result.dtype;
    MapExpr *e = arena_alloc(c->arena, sizeof *e);
    e->kind = MX_WHERE;
    e->dtype = t;
    e->nargs = 3;
    e->args[0] = leaf(c, &mb, &v[0], DT_BOOL, loc);
    e->args[1] = leaf(c, &mb, &v[1], t, loc);
    e->args[2] = leaf(c, &mb, &v[2], t, loc);
    finish_map(c, &mb, e, r, loc);
}

static MapExpr *mx_index(Arena *a, int axis)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_INDEX;
    e->dtype = DT_I64;
    e->axis = axis;
    return e;
}

/* triu keeps x where column - row >= diagonal; tril where column - row <= diagonal. */
void lower_tri(Checker *c, bool upper, const Value *x, int64_t diagonal, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    Arena *a = c->arena;
    MapBuild mb = {.result = concrete_type(r->type)};
    Dtype t = mb.result.dtype;
    int rank = mb.result.rank;
    MapExpr *offset = mx_call(a, MF_SUB, DT_I64, DT_I64, mx_index(a, rank - 1), mx_index(a, rank - 2));
    MapExpr *keep = mx_call(a, upper ? MF_GE : MF_LE, DT_BOOL, DT_I64, offset, mx_number(a, 0, diagonal, true, DT_I64));
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_WHERE;
    e->dtype = t;
    e->nargs = 3;
    e->args[0] = keep;
    e->args[1] = leaf(c, &mb, x, t, loc);
    e->args[2] = mx_number(a, 0, 0, !dtype_is_float(t), t);
    finish_map(c, &mb, e, r, loc);
}

void lower_cast(Checker *c, const Value *x, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    MapBuild mb = {.result = concrete_type(r->type)};
    finish_map(c, &mb, leaf(c, &mb, x, mb.result.dtype, loc), r, loc);
}

void lower_constructor(Checker *c, const char *name, const Value *value, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    Arena *a = c->arena;
    MapBuild mb = {.result = concrete_type(r->type)};
    Dtype t = mb.result.dtype;
    if (!strcmp(name, "randn") || !strcmp(name, "rand")) {
        Type drawn = mb.result;
        if (t != DT_F64)
            drawn.dtype = DT_F32; /* narrow floats are drawn in f32 and rounded */
        IrNode *n = ir_node(a, fn_of(c), IR_RANDOM, drawn, loc, 0, NULL);
        n->index = name[4] == 0 ? 1 : 0; /* "rand": uniform */
        r->node = n->id + 1;
        if (drawn.dtype != t) {
            Value v = {.kind = VAL_TENSOR, .type = drawn, .node = n->id + 1};
            finish_map(c, &mb, leaf(c, &mb, &v, t, loc), r, loc);
        }
        return;
    }
    MapExpr *e;
    if (!strcmp(name, "arange"))
        e = mx_cast(a, mx_index(a, 0), t);
    else if (!strcmp(name, "full"))
        e = mx_const(a, value, t);
    else
        e = mx_number(a, name[0] == 'o', name[0] == 'o', !dtype_is_float(t), t);
    finish_map(c, &mb, e, r, loc);
}

/* ---- params, arguments, results ---- */

void lower_param(Checker *c, Symbol *s, Value *v)
{
    if (!c->lower || c->lower->build.failed || value_is_error(v))
        return;
    Lowering *L = c->lower;
    int *slot = &L->param_nodes[s->param_index];
    if (*slot < 0) {
        IrNode *n = ir_node(c->arena, fn_of(c), IR_PARAM, v->type, s->decl->name.loc, 0, NULL);
        n->index = s->param_index;
        *slot = n->id;
    }
    v->node = *slot + 1;
}

int lower_coerce(Checker *c, const Value *v, Type t, Loc loc)
{
    t = concrete_type(t);
    if (!v->known && !v->has_size && lower_node_of(v) >= 0 && ir_get(fn_of(c), lower_node_of(v))->type.dtype == t.dtype)
        return lower_node_of(v);
    MapBuild mb = {.result = t};
    Value r = {.kind = VAL_TENSOR, .type = t};
    finish_map(c, &mb, leaf(c, &mb, v, t.dtype, loc), &r, loc);
    return lower_node_of(&r);
}

void lower_grad(Checker *c, const Value *vals, int n, Value *results, Loc loc)
{
    if (!c->lower || c->lower->build.failed)
        return;
    int loss = lower_coerce(c, &vals[0], vals[0].type, loc);
    int *wrt = arena_array(c->arena, (size_t)n, sizeof(int)), *grads = arena_array(c->arena, (size_t)n, sizeof(int));
    for (int i = 1; i < n; i++) {
        wrt[i - 1] = lower_node_of(&vals[i]);
        if (wrt[i - 1] < 0) {
            fail(c, loc, "a gradient by a value with no node");
            return;
        }
    }
    if (!grad_build(bld(c), loss, wrt, n - 1, loc, grads, NULL))
        return;
    for (int i = 1; i < n; i++)
        results[i - 1].node = grads[i - 1] + 1;
}

/* ---- indexing ---- */

static int gather(Checker *c, int table, int indices, Type result, Loc loc)
{
    int in[2] = {table, indices};
    IrNode *n = ir_node(c->arena, fn_of(c), IR_GATHER, result, loc, 2, in);
    return n->id;
}

void lower_index(Checker *c, const Value *base, const Value *idx, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    int64_t i;
    if (value_static_int(idx, &i)) {
        View v;
        int b;
        if (!view_of(c, lower_node_of(base), &v, &b))
            return;
        if (i < 0) {
            int64_t n;
            size_is_const(v.dims[0], &n);
            i += n;
        }
        View out;
        if (!view_index(c->arena, &v, i, &c->names, &out)) {
            fail(c, loc, "the offset of this index is too complex");
            return;
        }
        r->node = make_view(c, b, out, loc) + 1;
        return;
    }
    int id = lower_coerce(c, idx, idx->type, loc);
    r->node = gather(c, lower_node_of(base), id, concrete_type(r->type), loc) + 1;
}

/* ---- atoms: a tensor split into the labels of a pattern ---- */

typedef struct LabelTable {
    const char **names; /* NULL for an anonymous axis or an axis of `...` */
    Size *sizes;
    bool *bound;
    int n, cap;
} LabelTable;

static int label_new(Checker *c, LabelTable *t, const char *name, Size size, bool bound)
{
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 16;
        const char **names = arena_array(c->arena, (size_t)cap, sizeof *names);
        Size *sizes = arena_array(c->arena, (size_t)cap, sizeof *sizes);
        bool *b = arena_array(c->arena, (size_t)cap, sizeof *b);
        if (t->n) {
            memcpy(names, t->names, (size_t)t->n * sizeof *names);
            memcpy(sizes, t->sizes, (size_t)t->n * sizeof *sizes);
            memcpy(b, t->bound, (size_t)t->n * sizeof *b);
        }
        t->names = names, t->sizes = sizes, t->bound = b, t->cap = cap;
    }
    t->names[t->n] = name;
    t->sizes[t->n] = size;
    t->bound[t->n] = bound;
    return t->n++;
}

static int label_find(Checker *c, LabelTable *t, const char *name)
{
    for (int i = 0; i < t->n; i++)
        if (t->names[i] && strcmp(t->names[i], name) == 0)
            return i;
    return label_new(c, t, name, size_const(1), false);
}

/* Sizes of the labels of one group on axis of size `axis`; false while two are unknown. */
static bool bind_group(Checker *c, LabelTable *t, const PatGroup *g, Size axis, int *ids)
{
    Size known = size_const(1);
    int unknown = -1;
    for (int i = 0; i < g->naxes; i++) {
        const PatAxis *ax = &g->axes[i];
        ids[i] = ax->kind == PAX_ANON ? label_new(c, t, NULL, size_const(ax->value), true) : label_find(c, t, ax->name);
        if (t->bound[ids[i]])
            size_mul(known, t->sizes[ids[i]], &c->names, &known);
        else if (unknown >= 0)
            return false;
        else
            unknown = i;
    }
    if (unknown >= 0) {
        size_div(axis, known, &c->names, &t->sizes[ids[unknown]]);
        t->bound[ids[unknown]] = true;
    }
    return true;
}

/* Splits operand x (a node) along one pattern side. `ell` holds the labels
 * of `...`, right-aligned to the operand's ellipsis axes (made on first use);
 * nell their count for this operation. */
static bool expand_side(Checker *c, LabelTable *t, const PatSide *side, int x, int **ell, int *nell, bool bind_only,
                        Atoms *out, Loc loc)
{
    View v;
    int base;
    if (!view_of(c, x, &v, &base))
        return fail(c, loc, "a stride is too complex");
    int fixed = side->ngroups - (side->has_ellipsis ? 1 : 0);
    int my_ell = v.rank - fixed;
    if (!*ell) {
        *nell = my_ell;
        *ell = arena_array(c->arena, (size_t)my_ell + 1, sizeof(int));
        for (int i = 0; i < my_ell; i++)
            (*ell)[i] = -1;
    }
    int axis = 0;
    int *labels = arena_array(c->arena, (size_t)v.rank * 4 + 64, sizeof(int)); /* grows below when needed */
    int nlab = 0, cap = v.rank * 4 + 64;
    View cur = v;
    int pos = 0; /* axis of cur being expanded */
    for (int g = 0; g < side->ngroups; g++) {
        const PatGroup *grp = &side->groups[g];
        if (!grp->paren && grp->axes[0].kind == PAX_ELLIPSIS) {
            for (int i = 0; i < my_ell; i++) {
                int *slot = &(*ell)[*nell - my_ell + i];
                if (*slot < 0)
                    *slot = label_new(c, t, NULL, v.dims[axis + i], true);
                if (nlab == cap)
                    return fail(c, loc, "too many axes");
                labels[nlab++] = *slot;
                pos++;
            }
            axis += my_ell;
            continue;
        }
        int *ids = arena_array(c->arena, (size_t)grp->naxes + 1, sizeof(int));
        if (!bind_group(c, t, grp, v.dims[axis], ids)) {
            if (bind_only) {
                axis++;
                pos++;
                continue;
            }
            return fail(c, loc, "a group's sizes are unknown");
        }
        if (bind_only) {
            axis++;
            pos++;
            continue;
        }
        if (grp->naxes == 0) { /* a unit axis */
            cur = view_remove_axis(c->arena, &cur, pos);
            axis++;
            continue;
        }
        if (grp->paren || grp->naxes > 1) {
            Size *parts = arena_array(c->arena, (size_t)grp->naxes, sizeof(Size));
            for (int i = 0; i < grp->naxes; i++)
                parts[i] = t->sizes[ids[i]];
            if (!view_split(c->arena, &cur, pos, grp->naxes, parts, &c->names, &cur))
                return fail(c, loc, "a stride of this split is too complex");
        }
        for (int i = 0; i < grp->naxes; i++) {
            if (nlab == cap)
                return fail(c, loc, "too many axes");
            labels[nlab++] = ids[i];
        }
        pos += grp->naxes;
        axis++;
    }
    if (bind_only)
        return true;
    /* a label twice on one side (einsum's "i i ->"): the diagonal */
    for (int i = 0; i < nlab; i++)
        for (int j = i + 1; j < nlab; j++)
            if (labels[i] == labels[j]) {
                if (!view_diagonal(c->arena, &cur, i, j, &c->names, &cur))
                    return fail(c, loc, "a stride of this diagonal is too complex");
                memmove(labels + j, labels + j + 1, (size_t)(nlab - j - 1) * sizeof(int));
                nlab--;
                j--;
            }
    out->base = base;
    out->view = cur;
    out->labels = labels;
    if (cur.rank != nlab)
        die("expand_side: %d axes, %d labels", cur.rank, nlab);
    return true;
}

/* The output side's labels in order (`...` expanded), with new labels for
 * anonymous axes; groups[g] is the number of labels of output group g, or
 * -1 for a unit axis. */
static int *output_labels(Checker *c, LabelTable *t, const PatSide *side, const int *ell, int nell, int *n, int *groups)
{
    int total = nell + 1;
    for (int g = 0; g < side->ngroups; g++)
        total += side->groups[g].naxes;
    int *labels = arena_array(c->arena, (size_t)total, sizeof(int));
    int k = 0;
    for (int g = 0; g < side->ngroups; g++) {
        const PatGroup *grp = &side->groups[g];
        int before = k;
        for (int i = 0; i < grp->naxes; i++) {
            const PatAxis *ax = &grp->axes[i];
            if (ax->kind == PAX_ELLIPSIS)
                for (int j = 0; j < nell; j++)
                    labels[k++] = ell[j];
            else if (ax->kind == PAX_ANON)
                labels[k++] = label_new(c, t, NULL, size_const(ax->value), true);
            else
                labels[k++] = label_find(c, t, ax->name);
        }
        if (!grp->paren && grp->naxes == 1 && grp->axes[0].kind == PAX_ELLIPSIS)
            groups[g] = -2 - (k - before); /* `...` bare: each of its axes stays an axis */
        else
            groups[g] = grp->naxes == 0 ? -1 : k - before;
    }
    *n = k;
    return labels;
}

/* Arranges atoms (already holding exactly the output's labels, in output
 * order) into the output's groups: merges, copying first if some cannot. */
static int finish_output(Checker *c, Atoms *x, const PatSide *side, const int *groups, Loc loc)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        View v = x->view;
        bool ok = true;
        int pos = 0;
        for (int g = 0; g < side->ngroups && ok; g++) {
            if (groups[g] <= -2) { /* bare `...` */
                pos += -2 - groups[g];
                continue;
            }
            int n = groups[g] < 0 ? 0 : groups[g];
            if (n == 1 && !side->groups[g].paren) {
                pos++;
                continue;
            }
            if (n > 1 && !view_mergeable(c->arena, &v, pos, pos + n, &c->names)) {
                ok = false;
                break;
            }
            if (!view_merge(c->arena, &v, pos, pos + n, &c->names, &v))
                return fail(c, loc, "a stride of this merge is too complex"), -1;
            pos++;
        }
        if (ok)
            return make_view(c, x->base, v, loc);
        /* some group's axes are not evenly spaced in memory: copy, then merge */
        x->base = irb_copy(bld(c), x->base, x->view, loc);
        if (!ir_contiguous_view(c->arena, ir_get(fn_of(c), x->base)->type, &c->names, &x->view))
            return fail(c, loc, "a stride is too complex"), -1;
    }
    die("finish_output: a contiguous tensor did not merge");
}

static ReduceKind reduce_kind(const char *name)
{
    if (!strcmp(name, "sum")) return RED_SUM;
    if (!strcmp(name, "mean")) return RED_MEAN;
    if (!strcmp(name, "max")) return RED_MAX;
    if (!strcmp(name, "min")) return RED_MIN;
    return RED_PROD;
}

void lower_einops(Checker *c, int op, const Pattern *p, const Value *x, const SizeArg *sizes, int nsizes,
                  const char *reduction, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    LabelTable t = {0};
    for (int i = 0; i < nsizes; i++) {
        int l = label_find(c, &t, sizes[i].name);
        t.sizes[l] = sizes[i].size;
        t.bound[l] = true;
    }
    int *ell = NULL, nell = 0;
    Atoms a;
    int src = lower_coerce(c, x, x->type, loc);
    if (c->lower->build.failed || !expand_side(c, &t, &p->inputs[0], src, &ell, &nell, false, &a, loc))
        return;
    int *groups = arena_array(c->arena, (size_t)p->output.ngroups + 1, sizeof(int));
    int nout;
    int *out = output_labels(c, &t, &p->output, ell, nell, &nout, groups);
    bool *keep = arena_array(c->arena, (size_t)a.view.rank + 1, sizeof(bool));
    for (int i = 0; i < a.view.rank; i++)
        keep[i] = irb_has_label(out, nout, a.labels[i]);
    Dtype result = concrete(r->type);
    if (op == PAT_REDUCE)
        irb_reduce_atoms(bld(c), &a, keep, reduce_kind(reduction), result, loc);
    /* repeat: labels the input lacks are new axes, broadcast */
    for (int i = 0; i < nout; i++)
        if (!irb_has_label(a.labels, a.view.rank, out[i])) {
            a.view = view_insert_axis(c->arena, &a.view, a.view.rank, t.sizes[out[i]]);
            int *labels = arena_array(c->arena, (size_t)a.view.rank + 1, sizeof(int));
            memcpy(labels, a.labels, (size_t)(a.view.rank - 1) * sizeof(int));
            labels[a.view.rank - 1] = out[i];
            a.labels = labels;
        }
    irb_permute_to(bld(c), &a, out, nout);
    int id = finish_output(c, &a, &p->output, groups, loc);
    if (id >= 0)
        r->node = id + 1;
}

/* ---- contractions ---- */

/* Estimated elements of a set of labels, run-time dims counted as 1024. */
static double label_volume(const LabelTable *t, const int *labels, int n)
{
    double v = 1;
    for (int i = 0; i < n; i++) {
        const Size *s = &t->sizes[labels[i]];
        double x = (double)s->num / (double)s->den;
        for (int k = 0; k < s->nfactors; k++)
            for (int e = 0; e < (s->factors[k].exp < 0 ? -s->factors[k].exp : s->factors[k].exp); e++)
                x = s->factors[k].exp > 0 ? x * 1024 : x / 1024;
        v *= x;
    }
    return v;
}

/* Contracts operands xs[0..n) (labels already split) into the output labels. */
static Atoms contract_all(Checker *c, LabelTable *t, Atoms *xs, int n, const int *out, int nout, Dtype dt, Loc loc)
{
    bool *live = arena_array(c->arena, (size_t)t->n + 1, sizeof(bool));
    bool *alive = arena_array(c->arena, (size_t)n + 1, sizeof(bool));
    for (int i = 0; i < n; i++)
        alive[i] = true;
    for (int remaining = n;; remaining--) {
        /* a label only one operand has, and the output lacks, is summed first */
        for (int i = 0; i < n; i++) {
            if (!alive[i])
                continue;
            bool *keep = arena_array(c->arena, (size_t)xs[i].view.rank + 1, sizeof(bool));
            for (int d = 0; d < xs[i].view.rank; d++) {
                int l = xs[i].labels[d];
                keep[d] = irb_has_label(out, nout, l);
                for (int j = 0; j < n && !keep[d]; j++)
                    keep[d] = j != i && alive[j] && irb_has_label(xs[j].labels, xs[j].view.rank, l);
            }
            irb_reduce_atoms(bld(c), &xs[i], keep, RED_SUM, dt, loc);
        }
        if (remaining == 1)
            break;
        int best_i = -1, best_j = -1;
        double best = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++) {
                if (!alive[i] || !alive[j])
                    continue;
                int tmp[256], nt = 0;
                for (int d = 0; d < xs[i].view.rank && nt < 256; d++)
                    tmp[nt++] = xs[i].labels[d];
                for (int d = 0; d < xs[j].view.rank && nt < 256; d++)
                    if (!irb_has_label(xs[i].labels, xs[i].view.rank, xs[j].labels[d]))
                        tmp[nt++] = xs[j].labels[d];
                double vol = label_volume(t, tmp, nt);
                if (best_i < 0 || vol < best)
                    best = vol, best_i = i, best_j = j;
            }
        /* what the pair's result must keep: output labels and labels of other operands */
        for (int l = 0; l < t->n; l++) {
            live[l] = irb_has_label(out, nout, l);
            for (int j = 0; j < n && !live[l]; j++)
                live[l] = j != best_i && j != best_j && alive[j] && irb_has_label(xs[j].labels, xs[j].view.rank, l);
        }
        IrLabels labels = {t->n, t->sizes, t->names};
        xs[best_i] = irb_contract(bld(c), &labels, &xs[best_i], &xs[best_j], live, dt, loc);
        alive[best_j] = false;
        if (c->lower->build.failed)
            return xs[best_i];
    }
    for (int i = 0; i < n; i++)
        if (alive[i])
            return xs[i];
    die("contract_all: nothing left");
}

void lower_einsum(Checker *c, const Pattern *p, const Value *vals, int n, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    Dtype dt = concrete(r->type);
    LabelTable t = {0};
    int *ids = arena_array(c->arena, (size_t)n + 1, sizeof(int));
    int nell = 0;
    for (int k = 0; k < n; k++) {
        Type want = vals[k].type;
        want.dtype = dt;
        ids[k] = lower_coerce(c, &vals[k], want, loc);
        if (c->lower->build.failed)
            return;
        int fixed = p->inputs[k].ngroups - (p->inputs[k].has_ellipsis ? 1 : 0);
        int e = ir_get(fn_of(c), ids[k])->type.rank - fixed;
        if (p->inputs[k].has_ellipsis && e > nell)
            nell = e;
    }
    /* `...` broadcasts across operands as numpy does: one label per axis */
    Size *ell_dims = arena_array(c->arena, (size_t)nell + 1, sizeof(Size));
    for (int i = 0; i < nell; i++)
        ell_dims[i] = size_const(1);
    for (int k = 0; k < n; k++) {
        if (!p->inputs[k].has_ellipsis)
            continue;
        const IrNode *x = ir_get(fn_of(c), ids[k]);
        int fixed = p->inputs[k].ngroups - 1, e = x->type.rank - fixed, at = 0;
        while (!(!p->inputs[k].groups[at].paren && p->inputs[k].groups[at].axes[0].kind == PAX_ELLIPSIS))
            at++;
        for (int i = 0; i < e; i++) {
            int64_t one;
            Size d = x->type.dims[at + i];
            if (!(size_is_const(d, &one) && one == 1))
                ell_dims[nell - e + i] = d;
        }
    }
    int *ell = arena_array(c->arena, (size_t)nell + 1, sizeof(int));
    for (int i = 0; i < nell; i++)
        ell[i] = label_new(c, &t, NULL, ell_dims[i], true);
    /* bind label sizes (a group's may come from a later operand), then split */
    for (int pass = 0; pass < n + 1; pass++)
        for (int k = 0; k < n; k++) {
            int *e = ell;
            int ne = nell;
            Atoms unused;
            expand_side(c, &t, &p->inputs[k], ids[k], &e, &ne, true, &unused, loc);
        }
    Atoms *xs = arena_array(c->arena, (size_t)n + 1, sizeof(Atoms));
    for (int k = 0; k < n; k++) {
        int *e = ell;
        int ne = nell;
        if (!expand_side(c, &t, &p->inputs[k], ids[k], &e, &ne, false, &xs[k], loc))
            return;
        /* an operand's unit `...` axes repeat to the broadcast size (in a
         * copy of the view: its arrays may be the node's own type) */
        View *v = &xs[k].view;
        Size *dims = arena_array(c->arena, (size_t)v->rank + 1, sizeof(Size));
        Poly *strides = arena_array(c->arena, (size_t)v->rank + 1, sizeof(Poly));
        memcpy(dims, v->dims, (size_t)v->rank * sizeof(Size));
        memcpy(strides, v->strides, (size_t)v->rank * sizeof(Poly));
        v->dims = dims;
        v->strides = strides;
        for (int d = 0; d < xs[k].view.rank; d++)
            if (!size_eq(xs[k].view.dims[d], t.sizes[xs[k].labels[d]])) {
                xs[k].view.dims[d] = t.sizes[xs[k].labels[d]];
                xs[k].view.strides[d] = poly_zero();
            }
    }
    int *groups = arena_array(c->arena, (size_t)p->output.ngroups + 1, sizeof(int));
    int nout;
    int *out = output_labels(c, &t, &p->output, ell, nell, &nout, groups);
    Atoms res = contract_all(c, &t, xs, n, out, nout, dt, loc);
    if (c->lower->build.failed)
        return;
    irb_permute_to(bld(c), &res, out, nout);
    int id = finish_output(c, &res, &p->output, groups, loc);
    if (id >= 0)
        r->node = id + 1;
}

/* numpy's matmul: batch axes broadcast, a vector is a matrix of one row or column. */
void lower_matmul(Checker *c, const Value *a, const Value *b, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    Dtype dt = concrete(r->type);
    Type ta = a->type, tb = b->type;
    ta.dtype = tb.dtype = dt;
    int ia = lower_coerce(c, a, ta, loc), ib = lower_coerce(c, b, tb, loc);
    if (c->lower->build.failed)
        return;
    LabelTable t = {0};
    int rank = r->type.rank;
    int ra = ta.rank, rb = tb.rank;
    int nbatch = rank - (ra > 1) - (rb > 1);
    int *batch = arena_array(c->arena, (size_t)nbatch + 1, sizeof(int));
    for (int i = 0; i < nbatch; i++)
        batch[i] = label_new(c, &t, NULL, r->type.dims[i], true);
    int lm = ra > 1 ? label_new(c, &t, NULL, ta.dims[ra - 2], true) : -1;
    int lk = label_new(c, &t, NULL, ta.dims[ra - 1], true);
    int ln = rb > 1 ? label_new(c, &t, NULL, tb.dims[rb - 1], true) : -1;
    Atoms xs[2];
    for (int side = 0; side < 2; side++) {
        int id = side ? ib : ia, rk = side ? rb : ra;
        View v;
        int base;
        if (!view_of(c, id, &v, &base)) {
            fail(c, loc, "a stride is too complex");
            return;
        }
        int nb = rk > 2 ? rk - 2 : 0;
        int *labels = arena_array(c->arena, (size_t)(nbatch + 2), sizeof(int));
        /* batch axes: broadcast to the result's */
        View bv = v;
        int mats = rk > 1 ? 2 : 1;
        Size *dims = arena_array(c->arena, (size_t)(nbatch + 2), sizeof(Size));
        for (int i = 0; i < nbatch; i++)
            dims[i] = r->type.dims[i];
        for (int i = 0; i < mats; i++)
            dims[nbatch + i] = v.dims[nb + i];
        bv = view_broadcast(c->arena, &v, nbatch + mats, dims);
        for (int i = 0; i < nbatch; i++)
            labels[i] = batch[i];
        if (side == 0) {
            if (rk > 1)
                labels[nbatch] = lm;
            labels[nbatch + mats - 1] = lk;
        } else {
            labels[nbatch] = lk;
            if (rk > 1)
                labels[nbatch + 1] = ln;
        }
        xs[side] = (Atoms){.base = base, .view = bv, .labels = labels};
    }
    int *out = arena_array(c->arena, (size_t)nbatch + 3, sizeof(int));
    int nout = 0;
    for (int i = 0; i < nbatch; i++)
        out[nout++] = batch[i];
    if (lm >= 0)
        out[nout++] = lm;
    if (ln >= 0)
        out[nout++] = ln;
    Atoms res = contract_all(c, &t, xs, 2, out, nout, dt, loc);
    if (c->lower->build.failed)
        return;
    irb_permute_to(bld(c), &res, out, nout);
    r->node = make_view(c, res.base, res.view, loc) + 1;
}

void lower_take(Checker *c, const Pattern *p, const Value *table, const Value *idx, Value *r, Loc loc)
{
    if (!active(c, r, loc))
        return;
    LabelTable t = {0};
    int ti = lower_coerce(c, table, table->type, loc), ii = lower_coerce(c, idx, idx->type, loc);
    if (c->lower->build.failed)
        return;
    int *ell = NULL, nell = 0, *no_ell = NULL, nno = 0;
    Atoms ta, ia;
    if (!expand_side(c, &t, &p->inputs[0], ti, &no_ell, &nno, false, &ta, loc) ||
        !expand_side(c, &t, &p->inputs[1], ii, &ell, &nell, false, &ia, loc))
        return;
    int *groups = arena_array(c->arena, (size_t)p->output.ngroups + 1, sizeof(int));
    int nout;
    int *out = output_labels(c, &t, &p->output, ell, nell, &nout, groups);
    /* the table's gathered axis first, the rest in table order */
    int *order = arena_array(c->arena, (size_t)ta.view.rank + 1, sizeof(int)), no = 1;
    for (int i = 0; i < ta.view.rank; i++) {
        if (!irb_has_label(out, nout, ta.labels[i]))
            order[0] = ta.labels[i];
        else
            order[no++] = ta.labels[i];
    }
    irb_permute_to(bld(c), &ta, order, ta.view.rank);
    int in_t = make_view(c, ta.base, ta.view, loc), in_i = make_view(c, ia.base, ia.view, loc);
    int rank = ia.view.rank + ta.view.rank - 1;
    Size *dims = arena_array(c->arena, (size_t)rank + 1, sizeof(Size));
    int *labels = arena_array(c->arena, (size_t)rank + 1, sizeof(int));
    for (int i = 0; i < ia.view.rank; i++)
        dims[i] = ia.view.dims[i], labels[i] = ia.labels[i];
    for (int i = 1; i < ta.view.rank; i++)
        dims[ia.view.rank + i - 1] = ta.view.dims[i], labels[ia.view.rank + i - 1] = order[i];
    Type rt = type_tensor(c->arena, concrete(r->type), rank, dims);
    Atoms res = {.base = gather(c, in_t, in_i, rt, loc), .labels = labels};
    ir_contiguous_view(c->arena, rt, &c->names, &res.view);
    irb_permute_to(bld(c), &res, out, nout);
    int id = finish_output(c, &res, &p->output, groups, loc);
    if (id >= 0)
        r->node = id + 1;
}

/* ---- train blocks ---- */

int lower_input(Checker *c, const char *name, Type t, const TypeExpr *written, Loc loc)
{
    IrFunction *f = fn_of(c);
    IrNode *n = ir_node(c->arena, f, IR_INPUT, t, loc, 0, NULL);
    n->index = f->ninputs;
    f->input_names[f->ninputs] = name;
    f->input_types[f->ninputs] = t;
    f->input_shapes[f->ninputs] = written && written->is_tensor ? arena_strndup(c->arena, written->shape, written->shape_len) : NULL;
    f->ninputs++;
    return n->id;
}

/* The loss is the first result; with_grad, the gradient of every param
 * the block reads follows, for each one the loss depends on. */
void lower_minimize(Checker *c, const Value *loss, IrTrainSpec *spec, Loc loc)
{
    if (!c->lower || c->lower->build.failed || !fn_of(c)->is_train)
        return;
    IrFunction *f = fn_of(c);
    Lowering *L = c->lower;
    int l = lower_coerce(c, loss, loss->type, loc);
    if (L->build.failed)
        return;
    f->train = spec;
    int *wrt = arena_array(c->arena, (size_t)L->nparams + 1, sizeof(int)), *params = arena_array(c->arena, (size_t)L->nparams + 1, sizeof(int));
    int nwrt = 0;
    for (int i = 0; i < L->nparams && f->with_grad; i++)
        if (L->param_nodes[i] >= 0)
            params[nwrt] = i, wrt[nwrt++] = L->param_nodes[i];
    int *grads = arena_array(c->arena, (size_t)nwrt + 1, sizeof(int));
    bool *reached = arena_array(c->arena, (size_t)nwrt + 1, sizeof(bool));
    if (nwrt && !grad_build(bld(c), l, wrt, nwrt, loc, grads, reached))
        return;
    f->outputs = arena_array(c->arena, (size_t)nwrt + 2, sizeof(int));
    f->output_types = arena_array(c->arena, (size_t)nwrt + 2, sizeof(Type));
    f->output_shapes = arena_array(c->arena, (size_t)nwrt + 2, sizeof(char *));
    f->grad_params = arena_array(c->arena, (size_t)nwrt + 1, sizeof(int));
    f->outputs[0] = l;
    f->output_types[0] = ir_get(f, l)->type;
    f->noutputs = 1;
    for (int i = 0; i < nwrt; i++) {
        if (!reached[i])
            continue; /* the loss does not depend on it: no gradient, no update (as torch's grad None) */
        const IrParam *pr = L->prog->params.items[params[i]];
        if (dtype_is_narrow(pr->type.dtype)) {
            fail(c, loc, arena_printf(c->arena, "training the %s param '%s': trained params must be f32 or f64 "
                                                "(the values computed from them may be narrower)", dtype_name(pr->type.dtype), pr->name));
            return;
        }
        f->grad_params[f->ngrads++] = params[i];
        f->outputs[f->noutputs] = grads[i];
        f->output_types[f->noutputs++] = ir_get(f, grads[i])->type;
    }
}

static void lower_train(Checker *c, Symbol *s, bool with_grad)
{
    Lowering *L = c->lower;
    IrFunction *f = arena_alloc(c->arena, sizeof *f);
    Decl *d = s->decl;
    L->build = (IrBuild){.arena = c->arena, .fn = f, .names = &c->names};
    f->name = s->name;
    f->loc = d->name.loc;
    f->is_train = true;
    f->with_grad = with_grad;
    f->input_names = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(char *));
    f->input_types = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(Type));
    f->input_shapes = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(char *));
    for (int i = 0; i < L->nparams; i++)
        L->param_nodes[i] = -1;
    check_train(c, s);
    if (!L->build.failed && f->train)
        ptrvec_push(c->arena, &L->prog->trains, f);
}

/* ---- the program ---- */

/* A function is exported when its signature is concrete: no `...`, no size
 * variables, no `float`. */
static bool exported(const Symbol *s)
{
    if (s->kind != SYM_FN || s->generic || !s->sig || !s->sig->ok)
        return false;
    const Decl *d = s->decl;
    for (int i = 0; i < d->nparams; i++)
        if (d->params[i].type->any_float)
            return false;
    for (int i = 0; i < d->nresults; i++)
        if (d->results[i]->any_float)
            return false;
    return true;
}

static void lower_function(Checker *c, Symbol *s)
{
    Lowering *L = c->lower;
    IrFunction *f = arena_alloc(c->arena, sizeof *f);
    L->build = (IrBuild){.arena = c->arena, .fn = f, .names = &c->names};
    Decl *d = s->decl;
    f->name = s->name;
    f->loc = d->name.loc;
    f->ninputs = d->nparams;
    f->input_names = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(char *));
    f->input_types = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(Type));
    f->input_shapes = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(char *));
    for (int i = 0; i < L->nparams; i++)
        L->param_nodes[i] = -1;
    FnInstance *in;
    /* the inputs, then the body as a call with them as arguments */
    Value *args = arena_array(c->arena, (size_t)d->nparams + 1, sizeof(Value));
    Size *none = NULL;
    for (int i = 0; i < d->nparams; i++) {
        Type t;
        const TypeExpr *te = d->params[i].type;
        ShapeSpec *spec = s->sig->params[i];
        int rank = spec ? spec->naxes : 0;
        if (rank > IR_MAX_RANK) {
            fail(c, d->params[i].name.loc, arena_printf(c->arena, "a tensor with %d axes (the compiler takes at most %d)", rank,
                                                        IR_MAX_RANK));
            return;
        }
        Size *dims = arena_array(c->arena, (size_t)rank + 1, sizeof(Size));
        for (int k = 0; k < rank; k++)
            dims[k] = spec->axes[k].size;
        t = type_tensor(c->arena, te->dtype, rank, dims);
        IrNode *n = ir_node(c->arena, f, IR_INPUT, t, d->params[i].name.loc, 0, NULL);
        n->index = i;
        f->input_names[i] = d->params[i].name.text;
        f->input_types[i] = t;
        f->input_shapes[i] = te->is_tensor ? arena_strndup(c->arena, te->shape, te->shape_len) : NULL;
        args[i] = value_tensor(t);
        args[i].node = n->id + 1;
    }
    in = check_instantiate(c, s, DT_F32, none, NULL, 0, (Loc){0}, args);
    if (in->failed || L->build.failed)
        return;
    f->noutputs = in->nresults;
    f->outputs = arena_array(c->arena, (size_t)in->nresults + 1, sizeof(int));
    f->output_types = arena_array(c->arena, (size_t)in->nresults + 1, sizeof(Type));
    f->output_shapes = arena_array(c->arena, (size_t)in->nresults + 1, sizeof(char *));
    for (int i = 0; i < in->nresults; i++) {
        int id = lower_node_of(&in->results[i]);
        if (id < 0) {
            fail(c, d->name.loc, "a result has no value");
            return;
        }
        f->outputs[i] = id;
        f->output_types[i] = ir_get(f, id)->type;
        const TypeExpr *te = i < d->nresults ? d->results[i] : NULL;
        f->output_shapes[i] = te && te->is_tensor ? arena_strndup(c->arena, te->shape, te->shape_len) : NULL;
    }
    ptrvec_push(c->arena, &L->prog->functions, f);
}

IrProgram *lower_program(Checker *c)
{
    IrProgram *p = arena_alloc(c->arena, sizeof *p);
    p->arena = c->arena;
    p->cost_float_dtype = DT_COUNT;
    p->names = &c->names;
    Lowering L = {.prog = p};
    for (size_t i = 0; i < c->decl_order.len; i++) {
        Symbol *s = c->decl_order.items[i];
        if (s->kind != SYM_PARAM)
            continue;
        IrParam *pr = arena_alloc(c->arena, sizeof *pr);
        pr->name = s->name;
        pr->type = s->value.type;
        const TypeExpr *te = s->decl->type;
        pr->shape_text = te->is_tensor ? arena_strndup(c->arena, te->shape, te->shape_len) : "";
        builtin_initializer_args(c, s->decl->value, &pr->init);
        s->param_index = (int)p->params.len;
        ptrvec_push(c->arena, &p->params, pr);
    }
    L.nparams = (int)p->params.len;
    L.param_nodes = arena_array(c->arena, p->params.len + 1, sizeof(int));
    c->lower = &L;
    bool failed = false;
    for (size_t i = 0; i < c->decl_order.len && !failed; i++) {
        Symbol *s = c->decl_order.items[i];
        if (exported(s)) {
            lower_function(c, s);
            failed = L.build.failed;
        } else if (s->kind == SYM_TRAIN) {
            lower_train(c, s, true);
            if (!L.build.failed)
                lower_train(c, s, false);
            failed = L.build.failed;
        }
    }
    c->lower = NULL;
    if (failed || diag_error_count())
        return NULL;
    /* the dims: static ones with their values, free run-time ones bound when the program starts */
    p->nfactors = (int)c->dim_names.len;
    p->factor_dim = arena_array(c->arena, c->dim_names.len + 1, sizeof(int));
    for (int i = 0; i < p->nfactors; i++)
        p->factor_dim[i] = -1;
    size_t ndims = 0;
    for (size_t i = 0; i < c->decl_order.len; i++)
        ndims += ((Symbol *)c->decl_order.items[i])->kind == SYM_DIM;
    p->dim_values = arena_array(c->arena, ndims + 1, sizeof(int64_t));
    for (size_t i = 0; i < c->decl_order.len; i++) {
        Symbol *s = c->decl_order.items[i];
        if (s->kind != SYM_DIM || s->failed)
            continue;
        int64_t v;
        bool free_dim = !s->decl->value && s->size.nfactors == 1 && s->size.factors[0].exp == 1 && s->size.num == 1 &&
                        s->size.den == 1;
        if (!free_dim && !size_is_const(s->size, &v))
            continue; /* derived from run-time dims: not bound on its own */
        if (free_dim) {
            v = 0;
            p->factor_dim[s->size.factors[0].dim] = (int)p->dim_names.len;
        }
        p->dim_values[p->dim_names.len] = v;
        ptrvec_push(c->arena, &p->dim_names, (void *)s->name);
    }
    for (size_t i = 0; i < c->runtime_checks.len; i++) {
        const RuntimeCheck *rc = c->runtime_checks.items[i];
        uint32_t line = 0, col = 0;
        if (rc->loc.file)
            source_line_col(rc->loc.file, rc->loc.off, &line, &col);
        const char *msg = arena_printf(c->arena, "%s:%u:%u: %s (%s)", rc->loc.file ? rc->loc.file->path : "?", line, col,
                                       rc->condition, rc->reason);
        bool seen = false;
        for (size_t k = 0; k < p->checks.len && !seen; k++)
            seen = strcmp(((IrCheck *)p->checks.items[k])->message, msg) == 0;
        if (seen)
            continue;
        IrCheck *ck = arena_alloc(c->arena, sizeof *ck);
        ck->is_index = rc->is_index;
        ck->size = rc->size;
        ck->index = rc->index;
        ck->message = msg;
        ptrvec_push(c->arena, &p->checks, ck);
    }
    return p;
}
