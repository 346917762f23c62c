/* shape.c - shape rules for patterns, broadcasting and matmul (see shape.h).
 *
 * Pattern rules bind each label of a pattern to a size by walking an
 * operand's axes: a bare label takes the axis' size (or must equal the size
 * it already has), a group `(h d)` must multiply to the axis' size with at
 * most one unknown label, which gets the quotient. The result's shape is then
 * read off the output side. */
#include "shape.h"

#include <string.h>

#include "diag.h"

typedef struct Label {
    const char *name;
    Size size;
    bool bound;
    int operand; /* index of the operand that bound it; -1: given by name */
    int axis;    /* and the operand's axis */
    Loc loc;     /* where it was bound: the pattern axis or the size argument */
} Label;

/* The labels of one operation, found by name through an open-addressing
 * index (patterns may have thousands of labels); each Label is allocated on
 * its own, so a pointer to one stays valid as more are added. */
typedef struct Labels {
    Label **index;
    uint32_t cap, n;
    bool sizes_by_name; /* the operation takes sizes as keywords (not einsum, take) */
    bool defer;         /* leave groups with two unknowns for a later pass */
    bool deferred;      /* some group was left */
} Labels;


static Label *label_get(ShapeCtx *c, Labels *ls, const char *name)
{
    uint32_t mask = ls->cap - 1, j = 0;
    if (ls->cap)
        for (j = hash_string(name) & mask; ls->index[j]; j = (j + 1) & mask)
            if (strcmp(ls->index[j]->name, name) == 0)
                return ls->index[j];
    if ((ls->n + 1) * 2 > ls->cap) {
        uint32_t cap = ls->cap ? ls->cap * 2 : 32;
        Label **t = arena_array(c->arena, cap, sizeof *t);
        for (uint32_t i = 0; i < ls->cap; i++) {
            if (!ls->index[i])
                continue;
            uint32_t k = hash_string(ls->index[i]->name) & (cap - 1);
            while (t[k])
                k = (k + 1) & (cap - 1);
            t[k] = ls->index[i];
        }
        ls->index = t;
        ls->cap = cap;
        for (j = hash_string(name) & (cap - 1); t[j]; j = (j + 1) & (cap - 1))
            ;
    }
    Label *l = arena_alloc(c->arena, sizeof *l);
    l->name = name;
    l->operand = -2;
    ls->index[j] = l;
    ls->n++;
    return l;
}

static const char *sz(ShapeCtx *c, Size s) { return size_str(c->arena, s, c->names); }

/* "64 (model)": a size, and the dim the operand's type named it by. */
static const char *sz_named(ShapeCtx *c, Size s, const Operand *op, int axis)
{
    const char *name = c->axis_name && axis >= 0 ? c->axis_name(c->checker, op, axis) : NULL;
    const char *text = sz(c, s);
    return name && strcmp(name, text) != 0 ? arena_printf(c->arena, "%s (%s)", text, name) : text;
}

/* Two sizes that differ only in which run-time dims they name may well be
 * equal when the program runs; say why tdc still calls them different. */
static void note_distinct_dims(ShapeCtx *c, Size a, Size b, Loc loc)
{
    if (c->symbolic || size_is_static(a) || size_is_static(b))
        return;
    diag_note(loc, "%s and %s are different run-time sizes, which tdc does not assume equal; if they always are, "
                   "use one dim for both",
              sz(c, a), sz(c, b));
}

static void explain(ShapeCtx *c, const Operand *op)
{
    if (c->explain)
        c->explain(c->checker, op);
}

/* The sides of a group, as written, for messages: "(h d)". */
static const char *group_text(const PatGroup *g)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = 0;
    if (g->paren && n + 1 < sizeof buf)
        buf[n++] = '(';
    for (int i = 0; i < g->naxes; i++) {
        const PatAxis *ax = &g->axes[i];
        char word[64];
        if (ax->kind == PAX_NAME)
            snprintf(word, sizeof word, "%s%s", i ? " " : "", ax->name);
        else if (ax->kind == PAX_ANON)
            snprintf(word, sizeof word, "%s%lld", i ? " " : "", (long long)ax->value);
        else
            snprintf(word, sizeof word, "%s...", i ? " " : "");
        size_t w = strlen(word);
        if (n + w + 2 < sizeof buf) {
            memcpy(buf + n, word, w);
            n += w;
        }
    }
    if (g->paren)
        buf[n++] = ')';
    buf[n] = 0;
    return buf;
}

static bool mul(ShapeCtx *c, Size a, Size b, Size *out, Loc loc)
{
    return size_report(size_mul(a, b, c->names, out), loc, "the size");
}

/* Binds the labels of one group to one axis of operand `k`. */
static bool bind_group(ShapeCtx *c, Labels *ls, const PatGroup *g, Size axis, const Operand *ops, int k, int axis_index)
{
    const Operand *x = &ops[k];
    Size known = size_const(1);
    Label *unknown = NULL;
    const PatAxis *unknown_ax = NULL;
    for (int i = 0; i < g->naxes; i++) {
        const PatAxis *ax = &g->axes[i];
        if (ax->kind == PAX_ANON) {
            if (!mul(c, known, size_const(ax->value), &known, ax->loc))
                return false;
            continue;
        }
        Label *l = label_get(c, ls, ax->name);
        if (l->bound) {
            if (!mul(c, known, l->size, &known, ax->loc))
                return false;
            continue;
        }
        if (unknown) {
            if (ls->defer) {
                ls->deferred = true;
                return true;
            }
            if (diag_error(g->loc, "cannot infer the sizes of both '%s' and '%s' in %s", unknown->name, ax->name, group_text(g))) {
                if (ls->sizes_by_name)
                    diag_note(g->loc, "give one of them by name, e.g. %s = 2", ax->name);
                else
                    diag_note(g->loc, "split the axis with rearrange(x, \"... (%s %s) -> ... %s %s\", %s = ...) first", unknown->name,
                              ax->name, unknown->name, ax->name, ax->name);
            }
            return false;
        }
        unknown = l;
        unknown_ax = ax;
    }
    if (!unknown) {
        if (size_eq(known, axis))
            return true;
        if (g->naxes == 1 && !g->paren && g->axes[0].kind == PAX_NAME) {
            Label *l = label_get(c, ls, g->axes[0].name);
            bool printed;
            if (l->operand >= 0 && l->operand != k)
                printed = diag_error(g->axes[0].loc, "axis '%s' is %s in %s but %s in %s", l->name,
                                     sz_named(c, l->size, &ops[l->operand], l->axis), ops[l->operand].desc,
                                     sz_named(c, axis, x, axis_index), x->desc);
            else if (l->operand >= 0)
                printed = diag_error(g->axes[0].loc, "axis '%s' appears twice in %s with different sizes, %s and %s", l->name,
                                     x->desc, sz(c, l->size), sz(c, axis));
            else
                printed = diag_error(g->axes[0].loc, "axis '%s' is given as %s but is %s in %s", l->name, sz(c, l->size),
                                     sz_named(c, axis, x, axis_index), x->desc);
            if (printed) {
                if (l->operand >= 0 && l->operand != k)
                    explain(c, &ops[l->operand]);
                else if (l->operand < 0)
                    diag_note(l->loc, "%s = %s given here", l->name, sz(c, l->size));
                explain(c, x);
                note_distinct_dims(c, l->size, axis, g->axes[0].loc);
            }
            return false;
        }
        if (g->naxes == 0) {
            bool one = g->loc.file && g->loc.len == 1 && g->loc.file->text[g->loc.off] == '1';
            if (diag_error(g->loc, "unit axis %s needs size 1, but axis %d of %s is %s", one ? "1" : "()",
                           axis_index, x->desc, sz(c, axis)))
                explain(c, x);
            return false;
        }
        if (diag_error(g->loc, "%s is %s but axis %d of %s is %s", group_text(g), sz(c, known), axis_index, x->desc,
                       sz_named(c, axis, x, axis_index)))
            explain(c, x);
        return false;
    }
    Size q;
    if (!size_report(size_div(axis, known, c->names, &q), g->loc, "the size"))
        return false;
    if (size_is_static(q) && q.den != 1) {
        if (diag_error(g->loc, "axis %d of %s has size %s, which is not divisible by %s for %s", axis_index, x->desc,
                       sz_named(c, axis, x, axis_index), sz(c, known), group_text(g)))
            explain(c, x);
        return false;
    }
    int64_t one;
    bool split = !(size_is_const(known, &one) && one == 1); /* a bare axis was checked where its size was made */
    if (split && !size_is_surely_integral(q) && c->need_integral) {
        char why[160];
        snprintf(why, sizeof why, "size of '%s' in %s", unknown->name, group_text(g));
        c->need_integral(c->checker, q, unknown_ax->loc, why);
    }
    unknown->size = q;
    unknown->bound = true;
    unknown->operand = k;
    unknown->axis = axis_index;
    unknown->loc = unknown_ax->loc;
    return true;
}

/* Binds one pattern side to operand k; the axes matched by `...` are
 * returned in ell/nell. */
static bool bind_side(ShapeCtx *c, Labels *ls, const PatSide *side, const Operand *ops, int k, Size **ell, int *nell)
{
    const Operand *x = &ops[k];
    int fixed = side->ngroups - (side->has_ellipsis ? 1 : 0);
    int rank = x->type.rank;
    if (side->has_ellipsis ? rank < fixed : rank != fixed) {
        if (diag_error(side->loc, "'%.*s' expects %s%d ax%s but %s has %d", (int)side->loc.len,
                       side->loc.file ? side->loc.file->text + side->loc.off : "", side->has_ellipsis ? "at least " : "",
                       fixed, fixed == 1 ? "is" : "es", x->desc, rank))
            explain(c, x);
        return false;
    }
    int axis = 0;
    bool ok = true;
    for (int g = 0; g < side->ngroups; g++) {
        const PatGroup *grp = &side->groups[g];
        if (!grp->paren && grp->axes[0].kind == PAX_ELLIPSIS) {
            *nell = rank - fixed;
            *ell = *nell ? x->type.dims + axis : NULL;
            axis += *nell;
            continue;
        }
        ok = bind_group(c, ls, grp, x->type.dims[axis], ops, k, axis) && ok;
        axis++;
    }
    return ok;
}

/* Builds the output shape from bound labels. */
static bool build_output(ShapeCtx *c, Labels *ls, const PatSide *out, const Size *ell, int nell, Size *dims, int *rank)
{
    int r = 0;
    for (int g = 0; g < out->ngroups; g++) {
        const PatGroup *grp = &out->groups[g];
        if (!grp->paren && grp->axes[0].kind == PAX_ELLIPSIS) {
            for (int i = 0; i < nell; i++)
                dims[r++] = ell[i];
            continue;
        }
        Size s = size_const(1);
        for (int i = 0; i < grp->naxes; i++) {
            const PatAxis *ax = &grp->axes[i];
            if (ax->kind == PAX_ANON) {
                if (!mul(c, s, size_const(ax->value), &s, ax->loc))
                    return false;
            } else if (ax->kind == PAX_ELLIPSIS) {
                for (int j = 0; j < nell; j++)
                    if (!mul(c, s, ell[j], &s, ax->loc))
                        return false;
            } else {
                Label *l = label_get(c, ls, ax->name);
                if (!l->bound) {
                    if (diag_error(ax->loc, "new axis '%s' needs a size", ax->name))
                        diag_note(ax->loc, "give it by name, e.g. repeat(x, \"...\", %s = 3)", ax->name);
                    return false;
                }
                if (!mul(c, s, l->size, &s, ax->loc))
                    return false;
            }
        }
        dims[r++] = s;
    }
    *rank = r;
    return true;
}

static int output_capacity(const PatSide *out, int nell) { return out->ngroups + nell + 1; }

Type shape_einops(ShapeCtx *c, PatternOp op, const Pattern *p, const Operand *x, const SizeArg *sizes, int nsizes)
{
    Labels ls = {.sizes_by_name = true};
    bool ok = true;
    for (int i = 0; i < nsizes; i++) {
        const PatAxis *in = pattern_find(&p->inputs[0], sizes[i].name);
        const PatAxis *out = pattern_find(&p->output, sizes[i].name);
        if (!in && !out) {
            diag_error(sizes[i].loc, "axis '%s' is given a size but does not appear in the pattern", sizes[i].name);
            ok = false;
            continue;
        }
        if (op == PAT_REDUCE && !in) { /* already reported by the pattern checks */
            ok = false;
            continue;
        }
        Label *l = label_get(c, &ls, sizes[i].name);
        l->size = sizes[i].size;
        l->bound = true;
        l->operand = -1;
        l->loc = sizes[i].loc;
    }
    if (!ok)
        return type_error();
    Size *ell = NULL;
    int nell = 0;
    if (!bind_side(c, &ls, &p->inputs[0], x, 0, &ell, &nell))
        return type_error();
    Size *dims = arena_array(c->arena, (size_t)output_capacity(&p->output, nell), sizeof(Size));
    int rank;
    if (!build_output(c, &ls, &p->output, ell, nell, dims, &rank))
        return type_error();
    return type_tensor(c->arena, x->type.dtype, rank, dims);
}

/* numpy broadcasting of the `...` axes of einsum's operands. */
/* `part` names what is being broadcast when it is not the whole shape
 * ("the '...' axes", "the batch axes"); NULL for whole shapes. */
static bool broadcast_dims(ShapeCtx *c, Size **shapes, const int *ranks, const Operand *ops, int n, Loc loc, const char *part,
                           Size **out,
                           int *out_rank)
{
    int rank = 0;
    for (int k = 0; k < n; k++)
        if (ranks[k] > rank)
            rank = ranks[k];
    Size *dims = arena_array(c->arena, (size_t)rank + 1, sizeof(Size));
    int *from = arena_array(c->arena, (size_t)rank + 1, sizeof(int));
    for (int i = 0; i < rank; i++) {
        dims[i] = size_const(1);
        from[i] = -1;
    }
    for (int k = 0; k < n; k++) {
        for (int j = 0; j < ranks[k]; j++) {
            int i = rank - ranks[k] + j;
            Size d = shapes[k][j];
            int64_t v;
            if (size_is_const(d, &v) && v == 1)
                continue;
            if (from[i] < 0) {
                dims[i] = d;
                from[i] = k;
                continue;
            }
            if (!size_eq(dims[i], d)) {
                bool printed;
                int f = from[i];
                if (part)
                    printed = diag_error(loc, "cannot broadcast %s of %s (\"%s\") with those of %s (\"%s\")", part, ops[f].desc,
                                         shape_str(c->arena, shapes[f], ranks[f], c->names), ops[k].desc,
                                         shape_str(c->arena, shapes[k], ranks[k], c->names));
                else
                    printed = diag_error(loc, "cannot broadcast %s with %s: axis %d from the right is %s in %s but %s in %s", ops[f].desc,
                                         ops[k].desc, rank - i, sz(c, dims[i]), ops[f].desc, sz(c, d), ops[k].desc);
                if (printed) {
                    explain(c, &ops[from[i]]);
                    explain(c, &ops[k]);
                    note_distinct_dims(c, dims[i], d, loc);
                }
                return false;
            }
        }
    }
    *out = dims;
    *out_rank = rank;
    return true;
}

Type shape_einsum(ShapeCtx *c, const Pattern *p, const Operand *ops, int n)
{
    Labels ls = {0};
    Size **ells = arena_array(c->arena, (size_t)n, sizeof(Size *));
    int *nells = arena_array(c->arena, (size_t)n, sizeof(int));
    bool ok = true;
    /* A group's sizes may come from a later operand: bind what can be bound,
     * then go over the operands again (binding again only re-checks). */
    ls.defer = true;
    for (int k = 0; k < n; k++)
        ok = bind_side(c, &ls, &p->inputs[k], ops, k, &ells[k], &nells[k]) && ok;
    for (int pass = 0; ok && ls.deferred && pass < n; pass++) {
        ls.deferred = false;
        ls.defer = pass + 1 < n;
        for (int k = 0; k < n && ok; k++)
            ok = bind_side(c, &ls, &p->inputs[k], ops, k, &ells[k], &nells[k]);
    }
    if (!ok)
        return type_error();
    Size *ell = NULL;
    int nell = 0;
    if (!broadcast_dims(c, ells, nells, ops, n, p->output.loc, "the '...' axes", &ell, &nell))
        return type_error();
    Size *dims = arena_array(c->arena, (size_t)output_capacity(&p->output, nell), sizeof(Size));
    int rank;
    if (!build_output(c, &ls, &p->output, ell, nell, dims, &rank))
        return type_error();
    return type_tensor(c->arena, ops[0].type.dtype, rank, dims);
}

Type shape_take(ShapeCtx *c, const Pattern *p, const Operand *table, const Operand *indices)
{
    const PatSide *tab = &p->inputs[0], *idx = &p->inputs[1], *out = &p->output;
    if (tab->has_ellipsis) {
        diag_error(tab->loc, "'...' may stand for the indices' axes in take, not the table's");
        return type_error();
    }
    const PatAxis *gathered = NULL;
    bool ok = true;
    for (int g = 0; g < tab->ngroups; g++)
        for (int i = 0; i < tab->groups[g].naxes; i++) {
            const PatAxis *ax = &tab->groups[g].axes[i];
            if (pattern_find(idx, ax->name)) {
                diag_error(ax->loc, "axis '%s' is in both the table and the indices of take", ax->name);
                ok = false;
            } else if (!pattern_find(out, ax->name)) {
                if (tab->groups[g].paren) {
                    diag_error(ax->loc, "the axis take indexes along cannot be part of a group");
                    ok = false;
                } else if (gathered) {
                    if (diag_error(ax->loc, "take indexes along one axis of the table, but both '%s' and '%s' are missing from the output",
                                   gathered->name, ax->name))
                        diag_note(gathered->loc, "the table axis being indexed is the one left out of the output");
                    ok = false;
                } else {
                    gathered = ax;
                }
            }
        }
    for (int g = 0; g < idx->ngroups; g++)
        for (int i = 0; i < idx->groups[g].naxes; i++) {
            const PatAxis *ax = &idx->groups[g].axes[i];
            if (ax->kind == PAX_NAME && !pattern_find(out, ax->name)) {
                diag_error(ax->loc, "index axis '%s' must appear in the output of take", ax->name);
                ok = false;
            }
        }
    if (ok && !gathered) {
        diag_error(tab->loc, "take needs one table axis to index along: leave it out of the output, as in \"vocab d, b s -> b s d\"");
        ok = false;
    }
    if (!ok)
        return type_error();
    Operand ops[2] = {*table, *indices};
    Labels ls = {0};
    Size *ell_t = NULL, *ell_i = NULL;
    int nell_t = 0, nell_i = 0;
    if (!bind_side(c, &ls, tab, ops, 0, &ell_t, &nell_t) || !bind_side(c, &ls, idx, ops, 1, &ell_i, &nell_i))
        return type_error();
    Size *dims = arena_array(c->arena, (size_t)output_capacity(out, nell_i), sizeof(Size));
    int rank;
    if (!build_output(c, &ls, out, ell_i, nell_i, dims, &rank))
        return type_error();
    return type_tensor(c->arena, table->type.dtype, rank, dims);
}

Type shape_broadcast(ShapeCtx *c, const Operand *ops, int n, Dtype dtype, Loc op_loc, const char *op_name)
{
    Size **shapes = arena_array(c->arena, (size_t)n, sizeof(Size *));
    int *ranks = arena_array(c->arena, (size_t)n, sizeof(int));
    for (int k = 0; k < n; k++) {
        shapes[k] = ops[k].type.dims;
        ranks[k] = ops[k].type.rank;
    }
    Size *dims;
    int rank;
    (void)op_name;
    if (!broadcast_dims(c, shapes, ranks, ops, n, op_loc, NULL, &dims, &rank))
        return type_error();
    Type t = {.dtype = dtype, .rank = rank, .dims = dims};
    return t;
}

Type shape_matmul(ShapeCtx *c, const Operand *a, const Operand *b, Dtype dtype, Loc op_loc)
{
    const Operand *ops[2] = {a, b};
    for (int k = 0; k < 2; k++)
        if (ops[k]->type.rank == 0) {
            if (diag_error(ops[k]->loc, "'@' needs tensors of rank 1 or more, but %s is a scalar (use '*')", ops[k]->desc))
                explain(c, ops[k]);
            return type_error();
        }
    Type ta = a->type, tb = b->type;
    Size inner_a = ta.dims[ta.rank - 1];
    Size inner_b = tb.rank == 1 ? tb.dims[0] : tb.dims[tb.rank - 2];
    if (!size_eq(inner_a, inner_b)) {
        if (diag_error(op_loc, "'@' contracts the last axis of %s (%s) with the %s axis of %s (%s)", a->desc, sz(c, inner_a),
                       tb.rank == 1 ? "only" : "second-to-last", b->desc, sz(c, inner_b))) {
            explain(c, a);
            explain(c, b);
        }
        return type_error();
    }
    int batch_a = ta.rank > 2 ? ta.rank - 2 : 0, batch_b = tb.rank > 2 ? tb.rank - 2 : 0;
    Size *batch_shapes[2] = {ta.dims, tb.dims};
    int batch_ranks[2] = {batch_a, batch_b};
    Operand bops[2] = {*a, *b};
    Size *batch;
    int nbatch;
    if (!broadcast_dims(c, batch_shapes, batch_ranks, bops, 2, op_loc, "the batch axes", &batch, &nbatch))
        return type_error();
    Size *dims = arena_array(c->arena, (size_t)nbatch + 2, sizeof(Size));
    memcpy(dims, batch, (size_t)nbatch * sizeof(Size));
    int rank = nbatch;
    if (ta.rank >= 2)
        dims[rank++] = ta.dims[ta.rank - 2];
    if (tb.rank >= 2)
        dims[rank++] = tb.dims[tb.rank - 1];
    return type_tensor(c->arena, dtype, rank, dims);
}
