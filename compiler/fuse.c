/* fuse.c - elementwise fusion: chains of maps, and a map into the
 * reduction that consumes it, become one loop nest.
 *
 * requires: pass_dce (uses counted). A MAP whose only reader is a MAP or a
 * REDUCE, reading it element for element (directly, or through a view that
 * only permutes or broadcasts its axes), is computed inside that reader's
 * loop: its expression replaces the reader's load of it, and its inputs
 * become the reader's, each read through the composition of the two views.
 * It then needs no buffer (plan.c skips fused nodes). A broadcast repeats
 * the producer's work per repeated element, which for the maps tdc makes is
 * cheaper than the memory traffic it saves. A map read so by several maps
 * and reductions is computed by each of them where that moves no more
 * memory (fuse_shared). */
#include "opt.h"

#include <string.h>

enum { MAX_FUSED_INPUTS = 16 };

/* For each axis of v (a view of a node of type t): the axis of t it walks,
 * or -1 when it repeats (stride 0, or size 1). False when v does anything
 * else: an offset, a split or merge, a diagonal, a slice. */
static bool axis_map(Arena *a, const View *v, Type t, const SizeNames *names, int *map)
{
    View whole;
    if (!poly_is_zero(v->offset) || !ir_contiguous_view(a, t, names, &whole))
        return false;
    bool *used = arena_array(a, (size_t)t.rank + 1, sizeof(bool));
    for (int j = 0; j < v->rank; j++) {
        int64_t one;
        map[j] = -1;
        if (poly_is_zero(v->strides[j]) || (size_is_const(v->dims[j], &one) && one == 1))
            continue;
        for (int p = 0; p < t.rank && map[j] < 0; p++)
            if (!used[p] && size_eq(v->dims[j], t.dims[p]) && poly_eq(v->strides[j], whole.strides[p]))
                map[j] = p, used[p] = true;
        if (map[j] < 0)
            return false;
    }
    for (int p = 0; p < t.rank; p++) {
        int64_t one;
        if (!used[p] && !(size_is_const(t.dims[p], &one) && one == 1))
            return false; /* v reads only part of the producer */
    }
    return true;
}

/* w (over the producer's index space) read at the reader's index through map. */
static View compose(Arena *a, const View *w, const View *reader, const int *map)
{
    View r = {.rank = reader->rank, .dims = reader->dims, .offset = w->offset,
              .strides = arena_array(a, (size_t)reader->rank + 1, sizeof(Poly))};
    for (int j = 0; j < reader->rank; j++)
        r.strides[j] = map[j] >= 0 ? w->strides[map[j]] : poly_zero();
    return r;
}

/* The producer's expression in the reader's terms: its inputs renumbered,
 * and a position along its axis p (triu's row, arange) the position along
 * the reader's axis that walks p, or 0 where none does (a unit axis). */
static MapExpr *renumber(Arena *a, const MapExpr *e, const int *input_map, const int *axis_map, int reader_rank)
{
    MapExpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->kind == MX_INPUT)
        r->input = input_map[e->input];
    if (e->kind == MX_INDEX) {
        int j = 0;
        while (j < reader_rank && axis_map[j] != e->axis)
            j++;
        if (j == reader_rank) {
            r->kind = MX_CONST;
            r->is_int = true;
            r->ival = 0;
        } else {
            r->axis = j;
        }
    }
    for (int i = 0; i < e->nargs; i++)
        r->args[i] = renumber(a, e->args[i], input_map, axis_map, reader_rank);
    return r;
}

/* e with input k replaced by `with`, and inputs after k moved down one. */
static MapExpr *substitute(Arena *a, const MapExpr *e, int k, const MapExpr *with)
{
    if (e->kind == MX_INPUT && e->input == k)
        return (MapExpr *)with;
    MapExpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->kind == MX_INPUT && e->input > k)
        r->input--;
    for (int i = 0; i < e->nargs; i++)
        r->args[i] = substitute(a, e->args[i], k, with);
    return r;
}

/* Tries to compute input k of reader inside it; true when it did, or with
 * apply false, when it could. shared: the producer has other readers, each
 * to compute it too (fuse_shared); else it must have this one alone. */
static bool fuse_input(const IrProgram *p, IrFunction *f, IrNode *reader, int k, bool shared, bool apply)
{
    Arena *a = p->arena;
    IrNode *via = ir_get(f, reader->inputs[k]);
    bool has_view = reader->has_input_view && reader->has_input_view[k];
    IrNode *producer = via->op == IR_VIEW ? ir_get(f, via->inputs[0]) : via;
    /* a slot that came with an earlier fusion has a view, and its producer's
     * uses do not count it: only fuse_shared, on uses counted afresh, takes one */
    if (producer->op != IR_MAP || producer->dead || (!shared && (producer->uses != 1 || has_view)) ||
        (via != producer && (via->uses != 1 || has_view)))
        return false;
    /* how the reader walks the producer: its own view of it, or the view node's */
    View v;
    int base;
    if (has_view)
        v = reader->input_views[k];
    else if (!ir_view_of(a, f, via->id, p->names, &v, &base))
        return false;
    int *map = arena_array(a, (size_t)v.rank + 1, sizeof(int));
    if (!axis_map(a, &v, producer->type, p->names, map))
        return false;
    int n = reader->ninputs - 1 + producer->ninputs;
    if (n > MAX_FUSED_INPUTS)
        return false;
    int *inputs = arena_array(a, (size_t)n + 1, sizeof(int));
    View *views = arena_array(a, (size_t)n + 1, sizeof(View));
    bool *has = arena_array(a, (size_t)n + 1, sizeof(bool));
    int m = 0;
    for (int i = 0; i < reader->ninputs; i++) {
        if (i == k)
            continue;
        inputs[m] = reader->inputs[i];
        has[m] = reader->has_input_view && reader->has_input_view[i];
        if (has[m])
            views[m] = reader->input_views[i];
        m++;
    }
    int *input_map = arena_array(a, (size_t)producer->ninputs + 1, sizeof(int));
    for (int i = 0; i < producer->ninputs; i++) {
        View w;
        int wbase;
        if (!ir_input_view(a, f, producer, i, p->names, &w, &wbase))
            return false;
        inputs[m] = wbase;
        views[m] = compose(a, &w, &v, map);
        has[m] = true;
        input_map[i] = m++;
    }
    if (!apply) /* every check passed: nothing of the reader's changed yet */
        return true;
    /* the reader's expression: a map's own, or a reduce's load of its input */
    const MapExpr *reader_expr = reader->expr ? reader->expr : mx_input(a, 0, producer->type.dtype);
    MapExpr *inner = renumber(a, producer->expr, input_map, map, v.rank);
    /* inner's inputs already have their final numbers; substitute leaves them be */
    reader->expr = mx_simplify(a, substitute(a, reader_expr, k, inner));
    reader->inputs = inputs;
    reader->input_views = views;
    reader->has_input_view = has;
    reader->ninputs = n;
    if (!shared)
        producer->fused = true;
    if (via != producer)
        via->dead = true;
    return true;
}

/* A term of a contraction (pass_outer_products) counts as one: computed
 * by several readers it would be counted several times. */
static bool has_term(const MapExpr *e)
{
    if (e->kind == MX_CALL && e->term)
        return true;
    for (int i = 0; i < e->nargs; i++)
        if (has_term(e->args[i]))
            return true;
    return false;
}

/* Whether e calls a function the GPU computes on its special-function
 * units or in a routine of many instructions (exp, log, tanh, sqrt, pow,
 * the activations): computed once where it is a row group's member (the
 * GPU's row kernel keeps it in registers or its row cache), in every
 * reader when shared. */
static bool has_costly_call(const MapExpr *e)
{
    if (e->kind == MX_CALL) {
        switch (e->fn) {
        case MF_POW: case MF_SQRT: case MF_RSQRT: case MF_EXP: case MF_LOG: case MF_TANH: case MF_SIGMOID:
        case MF_GELU: case MF_SILU: case MF_SIN: case MF_COS: case MF_GELU_GRAD:
            return true;
        default:
            break;
        }
    }
    for (int i = 0; i < e->nargs; i++)
        if (has_costly_call(e->args[i]))
            return true;
    return false;
}

/* Whether the two readers are a reduction of the map and a map that reads
 * that reduction too: the shape of softmax's exp(x - max), read by the sum
 * and the quotient, which the GPU runs as one row group
 * (compiler/emit_cuda_rows.c) computing a member map once, where each
 * reader would compute it again. With a third reader (a backward pass's,
 * in another kernel) the map would be stored, and sharing it saves that. */
static bool row_group_pair(const IrFunction *f, IrNode *const *reader)
{
    for (int r = 0; r < 2; r++) {
        const IrNode *sum = reader[r], *quotient = reader[1 - r];
        if (sum->op != IR_REDUCE || quotient->op != IR_MAP)
            continue;
        for (int k = 0; k < quotient->ninputs; k++) {
            const IrNode *in = ir_get(f, quotient->inputs[k]);
            if (in == sum || (in->op == IR_VIEW && in->inputs[0] == sum->id))
                return true;
        }
    }
    return false;
}

/* A map read by several maps and reductions, each element for element:
 * computed inside each of them instead of stored and loaded, when that
 * moves no more memory (its inputs read by each reader, against its result
 * written once and read by each: readers * inputs <= inputs + 1 +
 * readers). A step of a small model is mostly launches; this is one fewer
 * (the loss's difference, read by the loss and its gradient). Not for a
 * function's result, nor a reader reading it twice, nor a costly map that
 * a row group computes once (row_group_pair). */
static bool fuse_shared(const IrProgram *p, IrFunction *f, IrNode *producer)
{
    int readers = producer->uses;
    if (producer->op != IR_MAP || producer->dead || producer->fused || readers < 2 ||
        (int64_t)readers * producer->ninputs > producer->ninputs + 1 + readers || has_term(producer->expr))
        return false;
    for (int i = 0; i < f->noutputs; i++)
        if (f->outputs[i] == producer->id)
            return false;
    IrNode **reader = arena_array(p->arena, (size_t)readers, sizeof *reader);
    int *slot = arena_array(p->arena, (size_t)readers, sizeof *slot), found = 0;
    for (size_t i = 0; i < f->nodes.len; i++) {
        IrNode *n = f->nodes.items[i];
        if (n->dead || n->fused || n->op == IR_VIEW)
            continue;
        for (int k = 0; k < n->ninputs; k++) {
            IrNode *in = ir_get(f, n->inputs[k]);
            if (in != producer && !(in->op == IR_VIEW && !in->dead && in->inputs[0] == producer->id))
                continue;
            if (found == readers || (n->op != IR_MAP && n->op != IR_REDUCE) || !fuse_input(p, f, n, k, true, false))
                return false;
            for (int j = 0; j < found; j++)
                if (reader[j] == n)
                    return false; /* read twice */
            reader[found] = n, slot[found] = k, found++;
        }
    }
    if (found != readers)
        return false; /* read by something else: a view of several readers */
    if (found == 2 && has_costly_call(producer->expr) && row_group_pair(f, reader))
        return false;
    for (int j = 0; j < found; j++)
        fuse_input(p, f, reader[j], slot[j], true, true);
    producer->fused = true;
    return true;
}

void pass_fuse(const IrProgram *p, IrFunction *f)
{
    for (size_t i = 0; i < f->nodes.len; i++) {
        IrNode *n = f->nodes.items[i];
        if (n->dead || (n->op != IR_MAP && n->op != IR_REDUCE))
            continue;
        for (int k = 0; k < n->ninputs; k++)
            if (fuse_input(p, f, n, k, false, true))
                k = -1; /* the inputs changed: look at them all again */
    }
    /* then the maps several read, first to last (a map that took one in
     * is weighed with its inputs then), each on uses counted afresh */
    pass_dce(p, f);
    for (size_t i = 0; i < f->nodes.len; i++)
        if (fuse_shared(p, f, f->nodes.items[i]))
            pass_dce(p, f);
}
