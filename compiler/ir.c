/* ir.c - building, composing and printing the IR (see ir.h).
 *
 * Views are affine maps from a result index to an element of a buffer:
 * offset + sum of index[i] * stride[i], with polynomials in the dims for
 * offset and strides. Composing a view with a view substitutes one into the
 * other, which is exact, so a chain of rearranges costs nothing. */
#include "ir.h"

#include <string.h>

/* ---- polynomials ---- */

static bool same_factors(const Size *a, const Size *b)
{
    if (a->nfactors != b->nfactors)
        return false;
    for (int i = 0; i < a->nfactors; i++)
        if (a->factors[i].dim != b->factors[i].dim || a->factors[i].exp != b->factors[i].exp)
            return false;
    return true;
}

Poly poly_zero(void) { return (Poly){0}; }

Poly poly_of(Arena *a, Size s)
{
    if (s.num == 0)
        return poly_zero();
    Poly p = {.n = 1, .terms = arena_array(a, 1, sizeof(Size))};
    p.terms[0] = s;
    return p;
}

bool poly_is_zero(Poly p) { return p.n == 0; }

bool poly_eq(Poly a, Poly b)
{
    if (a.n != b.n)
        return false;
    for (int i = 0; i < a.n; i++) {
        bool found = false;
        for (int j = 0; j < b.n && !found; j++)
            found = size_eq(a.terms[i], b.terms[j]);
        if (!found)
            return false;
    }
    return true;
}

bool poly_add(Arena *a, Poly x, Poly y, const SizeNames *names, Poly *out)
{
    (void)names;
    Poly r = {.n = 0, .terms = arena_array(a, (size_t)(x.n + y.n) + 1, sizeof(Size))};
    for (int i = 0; i < x.n; i++)
        r.terms[r.n++] = x.terms[i];
    for (int j = 0; j < y.n; j++) {
        int k = 0;
        while (k < r.n && !same_factors(&r.terms[k], &y.terms[j]))
            k++;
        if (k == r.n) {
            r.terms[r.n++] = y.terms[j];
            continue;
        }
        /* c1/d1 + c2/d2 with the same factors */
        Size *t = &r.terms[k];
        int64_t n1, n2, d, num;
        if (__builtin_mul_overflow(t->num, y.terms[j].den, &n1) || __builtin_mul_overflow(y.terms[j].num, t->den, &n2) ||
            __builtin_mul_overflow(t->den, y.terms[j].den, &d) || __builtin_add_overflow(n1, n2, &num))
            return false;
        int64_t g1 = num < 0 ? -num : num, g2 = d;
        while (g2) {
            int64_t tmp = g1 % g2;
            g1 = g2;
            g2 = tmp;
        }
        if (num == 0) {
            r.terms[k] = r.terms[--r.n];
            continue;
        }
        t->num = num / g1;
        t->den = d / g1;
    }
    *out = r;
    return true;
}

bool poly_mul_size(Arena *a, Poly x, Size s, const SizeNames *names, Poly *out)
{
    if (s.num == 0) {
        *out = poly_zero();
        return true;
    }
    Poly r = {.n = x.n, .terms = arena_array(a, (size_t)x.n + 1, sizeof(Size))};
    for (int i = 0; i < x.n; i++)
        if (size_mul(x.terms[i], s, names, &r.terms[i]) != SIZE_OK)
            return false;
    *out = r;
    return true;
}

const char *poly_str(Arena *a, Poly p, const SizeNames *names)
{
    if (p.n == 0)
        return "0";
    const char *s = "";
    for (int i = 0; i < p.n; i++) {
        const char *t = size_str(a, p.terms[i], names);
        if (i == 0)
            s = t;
        else if (t[0] == '-')
            s = arena_printf(a, "%s - %s", s, t + 1);
        else
            s = arena_printf(a, "%s + %s", s, t);
    }
    return s;
}

/* ---- nodes ---- */

IrNode *ir_node(Arena *a, IrFunction *f, IrOp op, Type t, Loc loc, int ninputs, const int *inputs)
{
    IrNode *n = arena_alloc(a, sizeof *n);
    n->id = (int)f->nodes.len;
    n->op = op;
    n->type = t;
    n->type.weak = false;
    n->loc = loc;
    n->ninputs = ninputs;
    n->inputs = arena_array(a, (size_t)ninputs + 1, sizeof(int));
    for (int i = 0; i < ninputs; i++) {
        if (inputs[i] < 0 || inputs[i] >= n->id)
            die("node %d: input %d is %d", n->id, i, inputs[i]);
        n->inputs[i] = inputs[i];
    }
    ptrvec_push(a, &f->nodes, n);
    return n;
}

IrNode *ir_get(const IrFunction *f, int id)
{
    if (id < 0 || (size_t)id >= f->nodes.len)
        die("no node %d", id);
    return f->nodes.items[id];
}

bool ir_contiguous_view(Arena *a, Type t, const SizeNames *names, View *out)
{
    View v = {.rank = t.rank, .dims = t.dims, .strides = arena_array(a, (size_t)t.rank + 1, sizeof(Poly))};
    Size stride = size_const(1);
    for (int i = t.rank - 1; i >= 0; i--) {
        v.strides[i] = poly_of(a, stride);
        if (size_mul(stride, t.dims[i], names, &stride) != SIZE_OK)
            return false;
    }
    *out = v;
    return true;
}

bool ir_view_of(Arena *a, const IrFunction *f, int id, const SizeNames *names, View *out, int *base)
{
    const IrNode *n = ir_get(f, id);
    if (n->op == IR_VIEW) {
        *out = n->view;
        *base = n->inputs[0];
        return true;
    }
    *base = id;
    return ir_contiguous_view(a, n->type, names, out);
}

bool ir_input_view(Arena *a, const IrFunction *f, const IrNode *n, int k, const SizeNames *names, View *out, int *base)
{
    if (n->has_input_view && n->has_input_view[k]) {
        *out = n->input_views[k];
        *base = n->inputs[k];
        return true;
    }
    return ir_view_of(a, f, n->inputs[k], names, out, base);
}

bool view_mergeable(Arena *a, const View *v, int from, int to, const SizeNames *names)
{
    for (int i = from; i + 1 < to; i++) {
        Poly want;
        if (!poly_mul_size(a, v->strides[i + 1], v->dims[i + 1], names, &want))
            return false;
        int64_t one;
        if (size_is_const(v->dims[i], &one) && one == 1)
            continue; /* a unit axis' stride never matters */
        if (!poly_eq(want, v->strides[i]))
            return false;
    }
    return true;
}

bool view_is_contiguous(Arena *a, const View *v, const SizeNames *names)
{
    if (!poly_is_zero(v->offset))
        return false;
    if (v->rank == 0)
        return true;
    int64_t one;
    int last = v->rank - 1;
    while (last > 0 && size_is_const(v->dims[last], &one) && one == 1)
        last--;
    Poly unit = poly_of(a, size_const(1));
    if (!(size_is_const(v->dims[last], &one) && one == 1) && !poly_eq(v->strides[last], unit))
        return false;
    return view_mergeable(a, v, 0, v->rank, names);
}

bool ir_scatter_tiles(Arena *a, const IrNode *n, const SizeNames *names)
{
    if (n->op != IR_SCATTER)
        return false;
    Poly *offset = arena_array(a, (size_t)n->ninputs + 1, sizeof(Poly)), *size = arena_array(a, (size_t)n->ninputs + 1, sizeof(Poly));
    for (int k = 0; k < n->ninputs; k++) {
        View to = n->scatter_views ? n->scatter_views[k] : n->view;
        offset[k] = to.offset;
        to.offset = poly_zero();
        size[k] = poly_of(a, size_const(1));
        if (!view_is_contiguous(a, &to, names))
            return false;
        for (int d = 0; d < to.rank; d++)
            if (!poly_mul_size(a, size[k], to.dims[d], names, &size[k]))
                return false;
    }
    Poly total = poly_of(a, size_const(1)), at = poly_zero();
    for (int d = 0; d < n->type.rank; d++)
        if (!poly_mul_size(a, total, n->type.dims[d], names, &total))
            return false;
    bool *used = arena_array(a, (size_t)n->ninputs + 1, sizeof(bool));
    for (int i = 0; i < n->ninputs; i++) { /* the block that starts where the last ended */
        int k = 0;
        while (k < n->ninputs && (used[k] || !poly_eq(offset[k], at)))
            k++;
        if (k == n->ninputs || !poly_add(a, at, size[k], names, &at))
            return false;
        used[k] = true;
    }
    return poly_eq(at, total);
}

int ir_view(Arena *a, IrFunction *f, int src, View v, const SizeNames *names, Loc loc)
{
    const IrNode *s = ir_get(f, src);
    if (s->op == IR_VIEW)
        die("a view over view %d", src);
    if (v.rank == s->type.rank && poly_is_zero(v.offset)) { /* the node itself, read in order */
        View whole;
        bool same = ir_contiguous_view(a, s->type, names, &whole);
        for (int i = 0; same && i < v.rank; i++) {
            int64_t one;
            same = size_eq(v.dims[i], s->type.dims[i]) &&
                   (poly_eq(v.strides[i], whole.strides[i]) || (size_is_const(v.dims[i], &one) && one == 1));
        }
        if (same)
            return src;
    }
    Type t = s->type;
    t.rank = v.rank;
    t.dims = v.dims;
    IrNode *n = ir_node(a, f, IR_VIEW, t, loc, 1, &src);
    n->view = v;
    return n->id;
}

/* ---- view transforms ---- */

static View view_alloc(Arena *a, int rank)
{
    View v = {.rank = rank, .dims = arena_array(a, (size_t)rank + 1, sizeof(Size)),
              .strides = arena_array(a, (size_t)rank + 1, sizeof(Poly))};
    return v;
}

bool view_permute(Arena *a, const View *v, const int *perm, View *out)
{
    View r = view_alloc(a, v->rank);
    r.offset = v->offset;
    for (int i = 0; i < v->rank; i++) {
        r.dims[i] = v->dims[perm[i]];
        r.strides[i] = v->strides[perm[i]];
    }
    *out = r;
    return true;
}

bool view_split(Arena *a, const View *v, int axis, int nparts, const Size *parts, const SizeNames *names, View *out)
{
    View r = view_alloc(a, v->rank + nparts - 1);
    r.offset = v->offset;
    int k = 0;
    for (int i = 0; i < v->rank; i++) {
        if (i != axis) {
            r.dims[k] = v->dims[i];
            r.strides[k++] = v->strides[i];
            continue;
        }
        Poly stride = v->strides[i];
        for (int j = nparts - 1; j >= 0; j--) {
            r.dims[k + j] = parts[j];
            r.strides[k + j] = stride;
            if (!poly_mul_size(a, stride, parts[j], names, &stride))
                return false;
        }
        k += nparts;
    }
    *out = r;
    return true;
}

bool view_merge(Arena *a, const View *v, int from, int to, const SizeNames *names, View *out)
{
    if (from == to) { /* nothing to merge: a unit axis */
        *out = view_insert_axis(a, v, from, size_const(1));
        return true;
    }
    View r = view_alloc(a, v->rank - (to - from) + 1);
    r.offset = v->offset;
    int k = 0;
    for (int i = 0; i < v->rank; i++) {
        if (i < from || i >= to) {
            r.dims[k] = v->dims[i];
            r.strides[k++] = v->strides[i];
            continue;
        }
        if (i > from)
            continue;
        Size n = size_const(1);
        for (int j = from; j < to; j++)
            if (size_mul(n, v->dims[j], names, &n) != SIZE_OK)
                return false;
        /* the innermost non-unit axis' stride is the merged axis' stride */
        int inner = to - 1;
        int64_t one;
        while (inner > from && size_is_const(v->dims[inner], &one) && one == 1)
            inner--;
        r.dims[k] = n;
        r.strides[k++] = v->strides[inner];
    }
    *out = r;
    return true;
}

View view_remove_axis(Arena *a, const View *v, int axis)
{
    View r = view_alloc(a, v->rank - 1);
    r.offset = v->offset;
    for (int i = 0, k = 0; i < v->rank; i++)
        if (i != axis) {
            r.dims[k] = v->dims[i];
            r.strides[k++] = v->strides[i];
        }
    return r;
}

View view_insert_axis(Arena *a, const View *v, int pos, Size s)
{
    View r = view_alloc(a, v->rank + 1);
    r.offset = v->offset;
    for (int i = 0, k = 0; i <= v->rank; i++) {
        if (i == pos) {
            r.dims[k] = s;
            r.strides[k++] = poly_zero();
        }
        if (i < v->rank) {
            r.dims[k] = v->dims[i];
            r.strides[k++] = v->strides[i];
        }
    }
    return r;
}

bool view_index(Arena *a, const View *v, int64_t i, const SizeNames *names, View *out)
{
    View r = view_remove_axis(a, v, 0);
    Poly step;
    if (!poly_mul_size(a, v->strides[0], size_const(i), names, &step) || !poly_add(a, v->offset, step, names, &r.offset))
        return false;
    *out = r;
    return true;
}

bool view_diagonal(Arena *a, const View *v, int keep, int drop, const SizeNames *names, View *out)
{
    View r = view_remove_axis(a, v, drop);
    int k = keep < drop ? keep : keep - 1;
    if (!poly_add(a, v->strides[keep], v->strides[drop], names, &r.strides[k]))
        return false;
    *out = r;
    return true;
}

View view_broadcast(Arena *a, const View *v, int rank, const Size *dims)
{
    View r = view_alloc(a, rank);
    r.offset = v->offset;
    for (int i = 0; i < rank; i++) {
        int j = i - (rank - v->rank);
        r.dims[i] = dims[i];
        if (j < 0 || !size_eq(v->dims[j], dims[i]))
            r.strides[i] = poly_zero(); /* a new or unit axis, repeated */
        else
            r.strides[i] = v->strides[j];
    }
    return r;
}

/* ---- map expressions ---- */

MapExpr *mx_input(Arena *a, int input, Dtype t)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_INPUT;
    e->input = input;
    e->dtype = t;
    return e;
}

MapExpr *mx_call(Arena *a, MapFn fn, Dtype result, Dtype arg_dtype, MapExpr *x, MapExpr *y)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_CALL;
    e->fn = fn;
    e->dtype = result;
    e->arg_dtype = arg_dtype;
    e->args[0] = x;
    e->args[1] = y;
    e->nargs = y ? 2 : 1;
    return e;
}

/* ---- constant folding ---- */

static bool is_const(const MapExpr *e, double v)
{
    if (e->kind != MX_CONST)
        return false;
    return e->is_int ? (double)e->ival == v : e->fval == v;
}

static double const_value(const MapExpr *e) { return e->is_int ? (double)e->ival : e->fval; }

/* Only f64, f32 and i64 results fold: their arithmetic here is the
 * generated code's (f32 correctly rounded from double for + - * /). */
static bool foldable(Dtype t) { return t == DT_F64 || t == DT_F32 || t == DT_I64 || t == DT_BOOL; }

static MapExpr *constant(Arena *a, Dtype t, double v)
{
    MapExpr *k = arena_alloc(a, sizeof *k);
    k->kind = MX_CONST;
    k->dtype = t;
    if (dtype_is_float(t))
        k->fval = t == DT_F32 ? (double)(float)v : v;
    else
        k->is_int = true, k->ival = t == DT_BOOL ? v != 0 : (int64_t)v;
    return k;
}

static MapExpr *fold_call(Arena *a, MapExpr *e)
{
    MapExpr *u = e->args[0], *v = e->nargs > 1 ? e->args[1] : NULL;
    bool ints = !dtype_is_float(e->arg_dtype);
    if (u->kind == MX_CONST && (!v || v->kind == MX_CONST) && foldable(e->dtype) && foldable(e->arg_dtype) &&
        (!ints || (u->is_int && (!v || v->is_int)))) {
        double x = const_value(u), y = v ? const_value(v) : 0;
        switch (e->fn) {
        case MF_NEG: return constant(a, e->dtype, -x);
        case MF_ADD: if (!ints) return constant(a, e->dtype, x + y); break;
        case MF_SUB: if (!ints) return constant(a, e->dtype, x - y); break;
        case MF_MUL: if (!ints) return constant(a, e->dtype, x * y); break;
        case MF_DIV: if (y != 0) return constant(a, e->dtype, x / y); break;
        case MF_EQ: return constant(a, DT_BOOL, x == y);
        case MF_NE: return constant(a, DT_BOOL, x != y);
        case MF_LT: return constant(a, DT_BOOL, x < y);
        case MF_LE: return constant(a, DT_BOOL, x <= y);
        case MF_GT: return constant(a, DT_BOOL, x > y);
        case MF_GE: return constant(a, DT_BOOL, x >= y);
        default: break;
        }
    }
    if (u->dtype != e->dtype || (v && v->dtype != e->dtype))
        return e; /* the identities below keep the operand's dtype */
    switch (e->fn) {
    case MF_MUL:
        if (is_const(v, 1)) return u;
        if (is_const(u, 1)) return v;
        break;
    case MF_ADD:
        if (is_const(v, 0)) return u;
        if (is_const(u, 0)) return v;
        break;
    case MF_SUB:
        if (is_const(v, 0)) return u;
        break;
    case MF_DIV:
        if (is_const(v, 1)) return u;
        break;
    case MF_POW:
        if (is_const(v, 1)) return u;
        if (is_const(v, 2) && !ints && u->kind == MX_INPUT) {
            e->fn = MF_MUL;
            e->args[1] = u;
        }
        break;
    default: break;
    }
    return e;
}

/* Every value of `from` is a value of `to`: a narrow float or f32 widened
 * to a wider float (so narrowing back gives the value again; a NaN stays
 * a NaN, its payload aside). */
static bool widens_exactly(Dtype from, Dtype to)
{
    if (from == DT_F32)
        return to == DT_F64;
    return dtype_is_narrow(from) && (to == DT_F32 || to == DT_F64);
}

MapExpr *mx_simplify(Arena *a, MapExpr *e)
{
    MapExpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    for (int i = 0; i < e->nargs; i++)
        r->args[i] = mx_simplify(a, e->args[i]);
    switch (r->kind) {
    case MX_CAST:
        if (r->args[0]->kind == MX_CONST && foldable(r->dtype) && foldable(r->args[0]->dtype) &&
            !(dtype_is_float(r->args[0]->dtype) && !dtype_is_float(r->dtype)))
            return constant(a, r->dtype, const_value(r->args[0]));
        if (r->args[0]->dtype == r->dtype)
            return r->args[0];
        if (r->args[0]->kind == MX_CAST && r->args[0]->args[0]->dtype == r->dtype &&
            widens_exactly(r->dtype, r->args[0]->dtype)) /* bf16(f32(x)) of a bf16 x: x */
            return r->args[0]->args[0];
        return r;
    case MX_WHERE:
        if (r->args[0]->kind == MX_CONST)
            return const_value(r->args[0]) != 0 ? r->args[1] : r->args[2];
        return r;
    case MX_CALL: return fold_call(a, r);
    default: return r;
    }
}

/* ---- map inputs ---- */

static void mark_inputs(const MapExpr *e, bool *used)
{
    if (e->kind == MX_INPUT)
        used[e->input] = true;
    for (int i = 0; i < e->nargs; i++)
        mark_inputs(e->args[i], used);
}

static MapExpr *renumber_inputs(Arena *a, const MapExpr *e, const int *map)
{
    MapExpr *r = arena_alloc(a, sizeof *r);
    *r = *e;
    if (e->kind == MX_INPUT)
        r->input = map[e->input];
    for (int i = 0; i < e->nargs; i++)
        r->args[i] = renumber_inputs(a, e->args[i], map);
    return r;
}

/* Inputs i and j of the original lists read the same data. */
static bool same_input(const int *inputs, const bool *has_view, const View *views, int i, int j)
{
    if (inputs[i] != inputs[j])
        return false;
    bool vi = has_view && has_view[i], vj = has_view && has_view[j];
    if (vi != vj)
        return false;
    if (!vi)
        return true;
    const View *a = &views[i], *b = &views[j];
    if (a->rank != b->rank || !poly_eq(a->offset, b->offset))
        return false;
    for (int k = 0; k < a->rank; k++)
        if (!size_eq(a->dims[k], b->dims[k]) || !poly_eq(a->strides[k], b->strides[k]))
            return false;
    return true;
}

void ir_prune_inputs(Arena *a, IrNode *n)
{
    if (!n->expr || n->ninputs == 0)
        return;
    bool *used = arena_array(a, (size_t)n->ninputs + 1, sizeof(bool));
    mark_inputs(n->expr, used);
    int *map = arena_array(a, (size_t)n->ninputs + 1, sizeof(int));
    /* the lists as they were: compaction below overwrites them in place */
    int *inputs = arena_array(a, (size_t)n->ninputs + 1, sizeof(int));
    memcpy(inputs, n->inputs, (size_t)n->ninputs * sizeof(int));
    bool *has_view = NULL;
    View *views = NULL;
    if (n->has_input_view) {
        has_view = arena_array(a, (size_t)n->ninputs + 1, sizeof(bool));
        views = arena_array(a, (size_t)n->ninputs + 1, sizeof(View));
        memcpy(has_view, n->has_input_view, (size_t)n->ninputs * sizeof(bool));
        memcpy(views, n->input_views, (size_t)n->ninputs * sizeof(View));
    }
    int m = 0;
    for (int i = 0; i < n->ninputs; i++) {
        map[i] = -1;
        if (!used[i])
            continue;
        for (int j = 0; j < i && map[i] < 0; j++)
            if (used[j] && same_input(inputs, has_view, views, i, j))
                map[i] = map[j]; /* the same data twice: one input */
        if (map[i] >= 0)
            continue;
        map[i] = m;
        n->inputs[m] = inputs[i];
        if (n->has_input_view) {
            n->has_input_view[m] = has_view[i];
            n->input_views[m] = views[i];
        }
        m++;
    }
    if (m == n->ninputs)
        return;
    n->expr = renumber_inputs(a, n->expr, map);
    n->ninputs = m;
}

/* ---- printing ---- */

static const char *const op_names[] = {
#define X(id, name, buffer, elementwise) name,
    TDC_IR_OPS(X)
#undef X
};
static const bool op_buffer[] = {
#define X(id, name, buffer, elementwise) buffer,
    TDC_IR_OPS(X)
#undef X
};
static const char *const fn_names[] = {
#define X(id, name) name,
    TDC_MAP_FNS(X)
#undef X
};

const char *ir_op_name(IrOp op) { return op_names[op]; }
bool ir_op_makes_buffer(IrOp op) { return op_buffer[op]; }
const char *map_fn_name(MapFn fn) { return fn_names[fn]; }

static void print_expr(FILE *out, Arena *a, const MapExpr *e, const SizeNames *names)
{
    switch (e->kind) {
    case MX_INPUT: fprintf(out, "$%d", e->input); return;
    case MX_CONST:
        if (e->is_int)
            fprintf(out, "%lld", (long long)e->ival);
        else
            fprintf(out, "%.9g", e->fval);
        return;
    case MX_SIZE: fprintf(out, "size(%s)", size_str(a, e->size, names)); return;
    case MX_INDEX: fprintf(out, "index(%d)", e->axis); return;
    case MX_CAST:
        fprintf(out, "%s(", dtype_name(e->dtype));
        print_expr(out, a, e->args[0], names);
        fputc(')', out);
        return;
    case MX_WHERE:
    case MX_CALL:
        fprintf(out, "%s(", e->kind == MX_WHERE ? "where" : map_fn_name(e->fn));
        for (int i = 0; i < e->nargs; i++) {
            if (i)
                fputs(", ", out);
            print_expr(out, a, e->args[i], names);
        }
        fputc(')', out);
        return;
    }
}

static void print_view(FILE *out, Arena *a, const View *v, const SizeNames *names)
{
    fputs("strides [", out);
    for (int i = 0; i < v->rank; i++)
        fprintf(out, "%s%s", i ? ", " : "", poly_str(a, v->strides[i], names));
    fputc(']', out);
    if (!poly_is_zero(v->offset))
        fprintf(out, " offset %s", poly_str(a, v->offset, names));
}

/* A contraction's labels: the pattern's names, or l<k> for the axes of
 * `...` and of `@`. */
static void print_labels(FILE *out, const IrNode *n, const int *labels, int count)
{
    for (int k = 0; k < count; k++) {
        const char *name = n->label_names ? n->label_names[labels[k]] : NULL;
        if (name)
            fprintf(out, "%s%s", k ? " " : "", name);
        else
            fprintf(out, "%sl%d", k ? " " : "", labels[k]);
    }
}

static const char *const reduce_names[] = {"sum", "mean", "max", "min", "prod"};

void ir_print_function(FILE *out, const IrProgram *p, const IrFunction *f)
{
    Arena *a = p->arena;
    fprintf(out, "%s %s(", f->is_train ? "train" : "fn", f->name);
    for (int i = 0; i < f->ninputs; i++)
        fprintf(out, "%s%s: %s", i ? ", " : "", f->input_names[i], type_str(a, f->input_types[i], p->names));
    fputs(")", out);
    for (int i = 0; i < f->noutputs; i++)
        fprintf(out, "%s%s", i ? ", " : " -> ", type_str(a, f->output_types[i], p->names));
    fputs(" {\n", out);
    bool in_backward = false;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (n->dead)
            continue;
        if (n->backward && !in_backward)
            fputs("  # backward\n", out);
        in_backward = n->backward;
        fprintf(out, "  %%%d = %s%s", n->id, n->fused ? "(fused) " : "", ir_op_name(n->op));
        switch (n->op) {
        case IR_INPUT: fprintf(out, " %s", f->input_names[n->index]); break;
        case IR_PARAM: fprintf(out, " %s", ((const IrParam *)p->params.items[n->index])->name); break;
        case IR_REDUCE: fprintf(out, ".%s", reduce_names[n->reduce]); break;
        case IR_RANDOM: fputs(n->index ? ".uniform" : ".normal", out); break;
        default: break;
        }
        for (int k = 0; k < n->ninputs; k++) {
            fprintf(out, "%s%%%d", k ? ", " : " ", n->inputs[k]);
            View whole;
            const IrNode *in = ir_get(f, n->inputs[k]);
            bool identity = false;
            if (n->has_input_view && n->has_input_view[k] && n->input_views[k].rank == in->type.rank &&
                poly_is_zero(n->input_views[k].offset) && ir_contiguous_view(a, in->type, p->names, &whole)) {
                identity = true;
                for (int d = 0; d < in->type.rank && identity; d++)
                    identity = size_eq(whole.dims[d], n->input_views[k].dims[d]) &&
                               poly_eq(whole.strides[d], n->input_views[k].strides[d]);
            }
            if (n->has_input_view && n->has_input_view[k] && !identity) {
                fputc('[', out);
                print_view(out, a, &n->input_views[k], p->names);
                fputc(']', out);
            }
        }
        if (n->op == IR_VIEW || (n->op == IR_SCATTER && !n->scatter_views)) {
            fputc(' ', out);
            print_view(out, a, &n->view, p->names);
        }
        for (int k = 0; n->op == IR_SCATTER && n->scatter_views && k < n->ninputs; k++) {
            fprintf(out, "%s$%d at ", k ? "; " : " ", k);
            print_view(out, a, &n->scatter_views[k], p->names);
        }
        if (n->expr) {
            fputs(" { ", out);
            print_expr(out, a, n->expr, p->names);
            fputs(" }", out);
        }
        if (n->op == IR_REDUCE) {
            fputs(" axes [", out);
            bool first = true;
            for (int k = 0; k < n->input_rank; k++)
                if (n->reduced[k]) {
                    fprintf(out, "%s%d", first ? "" : ", ", k);
                    first = false;
                }
            fputc(']', out);
        }
        if (n->op == IR_CONTRACT) {
            fputs(" \"", out);
            print_labels(out, n, n->labels_a, n->rank_a);
            fputs(", ", out);
            print_labels(out, n, n->labels_b, n->rank_b);
            fputs(" -> ", out);
            print_labels(out, n, n->labels_out, n->type.rank);
            fputc('"', out);
        }
        fprintf(out, " : %s", type_str(a, n->type, p->names));
        if (n->loc.file)
            {
            uint32_t line, col;
            source_line_col(n->loc.file, n->loc.off, &line, &col);
            if (n->loc.file == f->loc.file)
                fprintf(out, "  # line %u", line);
            else /* inlined from another file */
                fprintf(out, "  # %s:%u", n->loc.file->path, line);
        }
        fputc('\n', out);
    }
    fputs(f->is_train ? "  minimize" : "  return", out);
    for (int i = 0; i < f->noutputs; i++) {
        fprintf(out, "%s%%%d", i == 1 ? " with gradients " : i ? ", " : " ", f->outputs[i]);
        if (i > 0 && f->is_train)
            fprintf(out, " (%s)", ((const IrParam *)p->params.items[f->grad_params[i - 1]])->name);
    }
    fputs("\n}\n", out);
}

void ir_print(FILE *out, const IrProgram *p)
{
    for (size_t i = 0; i < p->params.len; i++) {
        const IrParam *pr = p->params.items[i];
        fprintf(out, "param %s: %s\n", pr->name, type_str(p->arena, pr->type, p->names));
    }
    for (size_t i = 0; i < p->functions.len; i++) {
        if (i || p->params.len)
            fputc('\n', out);
        ir_print_function(out, p, p->functions.items[i]);
    }
    for (size_t i = 0; i < p->trains.len; i += 2) { /* the step; its loss alone is a part of it */
        if (i || p->functions.len || p->params.len)
            fputc('\n', out);
        ir_print_function(out, p, p->trains.items[i]);
    }
}

bool ir_contract_widens(const IrFunction *f, const IrNode *n)
{
    if (n->op != IR_CONTRACT || n->type.dtype != DT_F32)
        return false;
    Dtype in = ir_get(f, n->inputs[0])->type.dtype;
    return in == DT_BF16 || in == DT_F16;
}

void ir_verify(const IrProgram *p, const IrFunction *f)
{
    (void)p;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (n->id != (int)i)
            die("node %zu has id %d", i, n->id);
        if (n->dead)
            continue;
        for (int k = 0; k < n->ninputs; k++) {
            if (n->inputs[k] < 0 || n->inputs[k] >= n->id)
                die("node %d reads %d", n->id, n->inputs[k]);
            if (ir_get(f, n->inputs[k])->dead)
                die("node %d reads dead node %d", n->id, n->inputs[k]);
        }
        if (n->op == IR_VIEW) {
            if (ir_get(f, n->inputs[0])->op == IR_VIEW)
                die("view %d over view %d", n->id, n->inputs[0]);
            if (n->view.rank != n->type.rank)
                die("view %d: rank %d vs %d", n->id, n->view.rank, n->type.rank);
        }
        for (int k = 0; n->op == IR_CONTRACT && k < n->ninputs; k++) /* td_gemm's: one dtype, or an f32 C of f16 or bf16 */
            if (ir_get(f, n->inputs[k])->type.dtype != ir_get(f, n->inputs[0])->type.dtype ||
                (ir_get(f, n->inputs[k])->type.dtype != n->type.dtype && !ir_contract_widens(f, n)))
                die("contraction %d of %s reads %d of %s", n->id, dtype_name(n->type.dtype), n->inputs[k],
                    dtype_name(ir_get(f, n->inputs[k])->type.dtype));
    }
    for (int i = 0; i < f->noutputs; i++)
        if (ir_get(f, f->outputs[i])->dead)
            die("output %d is dead", i);
}
