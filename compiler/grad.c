/* grad.c - the vector-Jacobian product of every IR operation (see grad.h).
 *
 * The sweep visits the nodes from the loss down (node order is a
 * topological order), and each node with an adjoint adds its inputs'
 * contributions to theirs. Adjoints are nodes of their node's shape in
 * grad_dtype (f32 for narrow floats). The rules:
 *   map       the derivative of its expression, by the chain rule, times
 *             the adjoint: a new map over the same inputs and the adjoint
 *   view      the adjoint of a permutation is the inverse permutation (a
 *             view again); otherwise the adjoint's broadcast axes are
 *             summed and the rest scattered into zeros of the base's shape
 *   reduce    sum: the adjoint broadcast back; mean: divided by the count;
 *             max and min: to the elements equal to the result, ties
 *             sharing it evenly (as torch.amax); prod: the product of the
 *             others, exact where elements are zero
 *   contract  a contraction of the adjoint with the other operand per
 *             operand, labelled back to that operand's axes
 *   copy      the adjoint itself
 *   gather    the adjoint's rows added into zeros of the table's shape
 * Integer and bool values have no gradient; an operation reading them
 * passes none back. */
#include "grad.h"

#include <string.h>

Dtype grad_dtype(Dtype t)
{
    return dtype_is_narrow(t) ? DT_F32 : t;
}

typedef struct Sweep {
    IrBuild *b;
    int *adj; /* by node id: its adjoint's node, or -1 */
    Loc loc;
} Sweep;

static Arena *arena(Sweep *s) { return s->b->arena; }

/* ---- expressions ---- */

static MapExpr *mx_k(Arena *a, double v, Dtype t)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_CONST;
    e->dtype = t;
    if (dtype_is_float(t))
        e->fval = v;
    else
        e->is_int = true, e->ival = (int64_t)v;
    return e;
}

static MapExpr *mx_to(Arena *a, MapExpr *e, Dtype t)
{
    if (e->dtype == t)
        return e;
    MapExpr *x = arena_alloc(a, sizeof *x);
    x->kind = MX_CAST;
    x->dtype = t;
    x->args[0] = e;
    x->nargs = 1;
    return x;
}

static MapExpr *mx2(Arena *a, MapFn fn, MapExpr *x, MapExpr *y)
{
    return mx_call(a, fn, x->dtype, x->dtype, x, y ? mx_to(a, y, x->dtype) : NULL);
}

static MapExpr *mx_cmp(Arena *a, MapFn fn, MapExpr *x, MapExpr *y)
{
    return mx_call(a, fn, DT_BOOL, x->dtype, x, mx_to(a, y, x->dtype));
}

static MapExpr *mx_where(Arena *a, MapExpr *c, MapExpr *x, MapExpr *y)
{
    MapExpr *e = arena_alloc(a, sizeof *e);
    e->kind = MX_WHERE;
    e->dtype = x->dtype;
    e->args[0] = c;
    e->args[1] = x;
    e->args[2] = mx_to(a, y, x->dtype);
    e->nargs = 3;
    return e;
}

/* x + y where either may be absent (a zero). */
static MapExpr *plus(Arena *a, MapExpr *x, MapExpr *y)
{
    if (!x)
        return y;
    if (!y)
        return x;
    return mx2(a, MF_ADD, x, y);
}

static MapExpr *times(Arena *a, MapExpr *d, MapExpr *coef) { return d ? mx2(a, MF_MUL, d, coef) : NULL; }

/* The derivative of a call with respect to its arguments, given their
 * values u, v (in the gradient's dtype) and derivatives du, dv. */
static MapExpr *d_call(Arena *a, const MapExpr *e, MapExpr *u, MapExpr *v, MapExpr *du, MapExpr *dv)
{
    Dtype t = u->dtype;
    MapExpr *one = mx_k(a, 1, t), *zero = mx_k(a, 0, t), *half = mx_k(a, 0.5, t);
    switch (e->fn) {
    case MF_NEG: return du ? mx2(a, MF_NEG, du, NULL) : NULL;
    case MF_ADD: return plus(a, du, dv);
    case MF_SUB: return plus(a, du, dv ? mx2(a, MF_NEG, dv, NULL) : NULL);
    case MF_MUL: return plus(a, times(a, du, v), times(a, dv, u));
    case MF_DIV:
        return plus(a, du ? mx2(a, MF_DIV, du, v) : NULL,
                    times(a, dv, mx2(a, MF_NEG, mx2(a, MF_DIV, u, mx2(a, MF_MUL, v, v)), NULL)));
    case MF_POW: {
        /* torch: exponent 0 gives 0 (not 0 * u^-1); base 0 gives no exponent gradient */
        MapExpr *dbase = mx_where(a, mx_cmp(a, MF_EQ, v, zero), zero,
                                  mx2(a, MF_MUL, v, mx2(a, MF_POW, u, mx2(a, MF_SUB, v, one))));
        MapExpr *dexp = mx_where(a, mx_cmp(a, MF_EQ, u, zero), zero, mx2(a, MF_MUL, mx2(a, MF_POW, u, v), mx2(a, MF_LOG, u, NULL)));
        return plus(a, times(a, du, dbase), times(a, dv, dexp));
    }
    case MF_MAX: case MF_MIN: {
        MapFn wins = e->fn == MF_MAX ? MF_GT : MF_LT;
        MapExpr *tie = mx_where(a, mx_cmp(a, MF_EQ, u, v), half, zero);
        return plus(a, times(a, du, mx_where(a, mx_cmp(a, wins, u, v), one, tie)),
                    times(a, dv, mx_where(a, mx_cmp(a, wins, v, u), one, tie)));
    }
    default: break;
    }
    if (!du)
        return NULL;
    MapExpr *f;
    switch (e->fn) {
    case MF_SQRT: f = mx2(a, MF_DIV, half, mx2(a, MF_SQRT, u, NULL)); break;
    case MF_RSQRT: {
        MapExpr *r = mx2(a, MF_RSQRT, u, NULL);
        f = mx2(a, MF_MUL, mx_k(a, -0.5, t), mx2(a, MF_MUL, r, mx2(a, MF_MUL, r, r)));
        break;
    }
    case MF_EXP: f = mx2(a, MF_EXP, u, NULL); break;
    case MF_LOG: return mx2(a, MF_DIV, du, u);
    case MF_TANH: {
        MapExpr *th = mx2(a, MF_TANH, u, NULL);
        f = mx2(a, MF_SUB, one, mx2(a, MF_MUL, th, th));
        break;
    }
    case MF_SIGMOID: {
        MapExpr *s = mx2(a, MF_SIGMOID, u, NULL);
        f = mx2(a, MF_MUL, s, mx2(a, MF_SUB, one, s));
        break;
    }
    case MF_GELU: f = mx2(a, MF_GELU_GRAD, u, NULL); break;
    case MF_SILU: {
        MapExpr *s = mx2(a, MF_SIGMOID, u, NULL);
        f = mx2(a, MF_MUL, s, mx2(a, MF_ADD, one, mx2(a, MF_MUL, u, mx2(a, MF_SUB, one, s))));
        break;
    }
    case MF_SIN: f = mx2(a, MF_COS, u, NULL); break;
    case MF_COS: f = mx2(a, MF_NEG, mx2(a, MF_SIN, u, NULL), NULL); break;
    case MF_ABS:
        f = mx_where(a, mx_cmp(a, MF_GT, u, zero), one, mx_where(a, mx_cmp(a, MF_LT, u, zero), mx_k(a, -1, t), zero));
        break;
    case MF_RELU: f = mx_where(a, mx_cmp(a, MF_GT, u, zero), one, zero); break;
    default: return NULL; /* comparisons: no gradient */
    }
    return mx2(a, MF_MUL, du, f);
}

/* d e / d $k, in grad_dtype(e->dtype), or NULL for zero. */
static MapExpr *d_expr(Arena *a, const MapExpr *e, int k)
{
    Dtype t = grad_dtype(e->dtype);
    switch (e->kind) {
    case MX_INPUT: return e->input == k && dtype_is_float(e->dtype) ? mx_k(a, 1, t) : NULL;
    case MX_CONST: case MX_SIZE: case MX_INDEX: return NULL;
    case MX_CAST: {
        if (!dtype_is_float(e->dtype) || !dtype_is_float(e->args[0]->dtype))
            return NULL;
        MapExpr *d = d_expr(a, e->args[0], k);
        return d ? mx_to(a, d, t) : NULL;
    }
    case MX_WHERE: {
        MapExpr *da = d_expr(a, e->args[1], k), *db = d_expr(a, e->args[2], k);
        if (!da && !db)
            return NULL;
        MapExpr *zero = mx_k(a, 0, t);
        return mx_where(a, e->args[0], da ? mx_to(a, da, t) : zero, db ? mx_to(a, db, t) : zero);
    }
    case MX_CALL: break;
    }
    if (!dtype_is_float(e->arg_dtype))
        return NULL;
    Dtype at = grad_dtype(e->arg_dtype);
    MapExpr *u = mx_to(a, (MapExpr *)e->args[0], at), *v = e->nargs > 1 ? mx_to(a, (MapExpr *)e->args[1], at) : NULL;
    MapExpr *du = d_expr(a, e->args[0], k), *dv = e->nargs > 1 ? d_expr(a, e->args[1], k) : NULL;
    if (du)
        du = mx_to(a, du, at);
    if (dv)
        dv = mx_to(a, dv, at);
    MapExpr *d = d_call(a, e, u, v, du, dv);
    return d ? mx_to(a, d, t) : NULL;
}

/* ---- nodes ---- */

static int map_node(Sweep *s, Type t, int n, const int *inputs, MapExpr *e)
{
    IrNode *node = ir_node(arena(s), s->b->fn, IR_MAP, t, s->loc, n, inputs);
    node->expr = mx_simplify(arena(s), mx_to(arena(s), e, t.dtype));
    node->backward = true;
    return node->id;
}

static Type grad_type(const IrNode *n)
{
    Type t = n->type;
    t.dtype = grad_dtype(t.dtype);
    return t;
}

/* Two scatters into zeros of one shape (the gradients of w[0] and w[1],
 * say) become one: the newer takes the older's inputs, which come before
 * it, so one buffer is zeroed and each slice added in place. */
static bool merge_scatters(Sweep *s, int older, int newer)
{
    IrNode *a = ir_get(s->b->fn, older), *b = ir_get(s->b->fn, newer);
    if (a->op != IR_SCATTER || b->op != IR_SCATTER || !type_same_shape(a->type, b->type) || a->type.dtype != b->type.dtype)
        return false;
    Arena *ar = arena(s);
    int n = a->ninputs + b->ninputs;
    int *inputs = arena_array(ar, (size_t)n + 1, sizeof(int));
    View *views = arena_array(ar, (size_t)n + 1, sizeof(View));
    for (int k = 0; k < a->ninputs; k++)
        inputs[k] = a->inputs[k], views[k] = a->scatter_views ? a->scatter_views[k] : a->view;
    for (int k = 0; k < b->ninputs; k++)
        inputs[a->ninputs + k] = b->inputs[k], views[a->ninputs + k] = b->scatter_views ? b->scatter_views[k] : b->view;
    b->inputs = inputs;
    b->ninputs = n;
    b->scatter_views = views;
    b->view = views[0];
    a->dead = true; /* nothing reads it: it was only the adjoint so far */
    return true;
}

static void accumulate(Sweep *s, int x, int contribution)
{
    int *slot = &s->adj[x];
    if (*slot < 0) {
        *slot = contribution;
        return;
    }
    if (merge_scatters(s, *slot, contribution)) {
        *slot = contribution;
        return;
    }
    int in[2] = {*slot, contribution};
    Type t = grad_type(ir_get(s->b->fn, x));
    *slot = map_node(s, t, 2, in, mx2(arena(s), MF_ADD, mx_input(arena(s), 0, t.dtype), mx_input(arena(s), 1, t.dtype)));
}

static bool is_float_node(const IrFunction *f, int id) { return dtype_is_float(ir_get(f, id)->type.dtype); }

static void vjp_map(Sweep *s, const IrNode *n, int g)
{
    Arena *a = arena(s);
    int *inputs = arena_array(a, (size_t)n->ninputs + 2, sizeof(int));
    memcpy(inputs, n->inputs, (size_t)n->ninputs * sizeof(int));
    inputs[n->ninputs] = g;
    Dtype gt = ir_get(s->b->fn, g)->type.dtype;
    for (int k = 0; k < n->ninputs; k++) {
        if (!is_float_node(s->b->fn, n->inputs[k]))
            continue;
        MapExpr *d = d_expr(a, n->expr, k);
        if (!d)
            continue;
        Type t = grad_type(ir_get(s->b->fn, n->inputs[k]));
        t.rank = n->type.rank; /* the map's shape: its inputs are broadcast views of it */
        t.dims = n->type.dims;
        if (d->kind == MX_CONST && d->fval == 1.0 && gt == t.dtype) {
            accumulate(s, n->inputs[k], g);
            continue;
        }
        MapExpr *e = mx2(a, MF_MUL, mx_to(a, mx_input(a, n->ninputs, gt), t.dtype), mx_to(a, d, t.dtype));
        accumulate(s, n->inputs[k], map_node(s, t, n->ninputs + 1, inputs, e));
    }
}

/* A view of node g (any node) as `v` says, v built over g's own view. */
static int view_over(Sweep *s, int g, View *gv)
{
    int base;
    if (!ir_view_of(arena(s), s->b->fn, g, s->b->names, gv, &base))
        die("no view of %d", g);
    return base;
}

static bool is_one(Size d)
{
    int64_t v;
    return size_is_const(d, &v) && v == 1;
}

static void vjp_view(Sweep *s, const IrNode *n, int g)
{
    Arena *a = arena(s);
    int base = n->inputs[0];
    const IrNode *b = ir_get(s->b->fn, base);
    if (!dtype_is_float(b->type.dtype))
        return;
    View v = n->view;
    /* the adjoint's broadcast axes sum first */
    bool *reduced = arena_array(a, (size_t)v.rank + 1, sizeof(bool));
    bool any = false;
    for (int i = 0; i < v.rank; i++)
        any |= reduced[i] = poly_is_zero(v.strides[i]) && !is_one(v.dims[i]);
    if (any) {
        Atoms x = {.labels = arena_array(a, (size_t)v.rank + 1, sizeof(int))};
        x.base = view_over(s, g, &x.view);
        bool *keep = arena_array(a, (size_t)v.rank + 1, sizeof(bool));
        for (int i = 0; i < v.rank; i++)
            keep[i] = !reduced[i], x.labels[i] = i;
        irb_reduce_atoms(s->b, &x, keep, RED_SUM, grad_dtype(b->type.dtype), s->loc);
        g = x.base;
        for (int i = v.rank - 1; i >= 0; i--)
            if (reduced[i])
                v = view_remove_axis(a, &v, i);
    }
    /* a permutation of the base's axes goes back as the inverse permutation */
    View whole;
    ir_contiguous_view(a, b->type, s->b->names, &whole);
    int *source = arena_array(a, (size_t)b->type.rank + 1, sizeof(int));
    bool permutation = poly_is_zero(v.offset);
    for (int p = 0; p < b->type.rank; p++)
        source[p] = -1;
    for (int j = 0; j < v.rank && permutation; j++) {
        if (is_one(v.dims[j]))
            continue;
        int found = -1;
        for (int p = 0; p < b->type.rank && found < 0; p++)
            if (source[p] < 0 && size_eq(v.dims[j], b->type.dims[p]) && poly_eq(v.strides[j], whole.strides[p]))
                found = p;
        if (found < 0)
            permutation = false;
        else
            source[found] = j;
    }
    for (int p = 0; p < b->type.rank && permutation; p++)
        permutation = source[p] >= 0 || is_one(b->type.dims[p]);
    if (permutation) {
        View gv;
        int gbase = view_over(s, g, &gv);
        View back = {.rank = b->type.rank, .dims = b->type.dims, .offset = gv.offset,
                     .strides = arena_array(a, (size_t)b->type.rank + 1, sizeof(Poly))};
        for (int p = 0; p < b->type.rank; p++)
            back.strides[p] = source[p] >= 0 ? gv.strides[source[p]] : poly_zero();
        accumulate(s, base, irb_view(s->b, gbase, back, s->loc));
        return;
    }
    IrNode *sc = ir_node(a, s->b->fn, IR_SCATTER, grad_type(b), s->loc, 1, &g);
    sc->view = v;
    sc->backward = true;
    accumulate(s, base, sc->id);
}

/* g (the result's shape) broadcast to a reduce's input shape. */
static int broadcast_back(Sweep *s, const IrNode *n, int g)
{
    Arena *a = arena(s);
    View gv;
    int gbase = view_over(s, g, &gv);
    View v = {.rank = n->input_rank, .dims = n->input_dims, .offset = gv.offset,
              .strides = arena_array(a, (size_t)n->input_rank + 1, sizeof(Poly))};
    for (int i = 0, k = 0; i < n->input_rank; i++)
        v.strides[i] = n->reduced[i] ? poly_zero() : gv.strides[k++];
    return irb_view(s->b, gbase, v, s->loc);
}

/* A reduce with the same axes as n over node x. */
static int reduce_like(Sweep *s, const IrNode *n, int x, ReduceKind kind, Dtype t)
{
    Type rt = n->type;
    rt.dtype = t;
    IrNode *r = ir_node(arena(s), s->b->fn, IR_REDUCE, rt, s->loc, 1, &x);
    r->reduce = kind;
    r->reduced = n->reduced;
    r->input_rank = n->input_rank;
    r->input_dims = n->input_dims;
    r->backward = true;
    return r->id;
}

static void vjp_reduce(Sweep *s, const IrNode *n, int g)
{
    Arena *a = arena(s);
    int x = n->inputs[0];
    if (!is_float_node(s->b->fn, x))
        return;
    Dtype t = grad_dtype(ir_get(s->b->fn, x)->type.dtype);
    Type xt = {.dtype = t, .rank = n->input_rank, .dims = n->input_dims};
    int gb = broadcast_back(s, n, g);
    MapExpr *G = mx_to(a, mx_input(a, 0, ir_get(s->b->fn, g)->type.dtype), t);
    if (n->reduce == RED_SUM) {
        accumulate(s, x, gb);
        return;
    }
    if (n->reduce == RED_MEAN) {
        Size count = size_const(1);
        for (int i = 0; i < n->input_rank; i++)
            if (n->reduced[i])
                size_mul(count, n->input_dims[i], s->b->names, &count);
        MapExpr *c = arena_alloc(a, sizeof *c);
        c->kind = MX_SIZE;
        c->dtype = DT_I64;
        c->size = count;
        accumulate(s, x, map_node(s, xt, 1, &gb, mx2(a, MF_DIV, G, mx_to(a, c, t))));
        return;
    }
    int outb = broadcast_back(s, n, n->id);
    MapExpr *X = mx_to(a, mx_input(a, 1, ir_get(s->b->fn, x)->type.dtype), t);
    MapExpr *OUT = mx_to(a, mx_input(a, 2, n->type.dtype), t);
    MapExpr *zero = mx_k(a, 0, t);
    if (n->reduce == RED_MAX || n->reduce == RED_MIN) {
        int in_mask[2] = {x, outb};
        MapExpr *eq = mx_cmp(a, MF_EQ, mx_to(a, mx_input(a, 0, ir_get(s->b->fn, x)->type.dtype), t),
                             mx_to(a, mx_input(a, 1, n->type.dtype), t));
        int mask = map_node(s, xt, 2, in_mask, mx_to(a, eq, t));
        int count = broadcast_back(s, n, reduce_like(s, n, mask, RED_SUM, t));
        int in[4] = {gb, x, outb, count};
        MapExpr *share = mx2(a, MF_DIV, G, mx_input(a, 3, t));
        accumulate(s, x, map_node(s, xt, 4, in, mx_where(a, mx_cmp(a, MF_EQ, X, OUT), share, zero)));
        return;
    }
    /* prod: out / x where no element is zero; the product of the others where one is */
    int in_nz[1] = {x};
    MapExpr *x0 = mx_to(a, mx_input(a, 0, ir_get(s->b->fn, x)->type.dtype), t);
    MapExpr *is_zero = mx_cmp(a, MF_EQ, x0, zero);
    int nonzero = map_node(s, xt, 1, in_nz, mx_where(a, is_zero, mx_k(a, 1, t), x0));
    int zeros = map_node(s, xt, 1, in_nz, mx_to(a, is_zero, t));
    int nz_prod = broadcast_back(s, n, reduce_like(s, n, nonzero, RED_PROD, t));
    int nzeros = broadcast_back(s, n, reduce_like(s, n, zeros, RED_SUM, t));
    int in[5] = {gb, x, outb, nz_prod, nzeros};
    MapExpr *P = mx_input(a, 3, t), *Z = mx_input(a, 4, t);
    MapExpr *when_zero = mx_where(a, mx_cmp(a, MF_EQ, Z, mx_k(a, 1, t)), P, zero);
    MapExpr *other = mx_where(a, mx_cmp(a, MF_EQ, Z, zero), mx2(a, MF_DIV, OUT, X), zero);
    MapExpr *d = mx_where(a, mx_cmp(a, MF_EQ, X, zero), when_zero, other);
    accumulate(s, x, map_node(s, xt, 5, in, mx2(a, MF_MUL, G, d)));
}

static Atoms atoms_of(Sweep *s, int id, int *labels)
{
    Atoms x = {.labels = labels};
    x.base = view_over(s, id, &x.view);
    return x;
}

/* d/d(operand) of a contraction: the adjoint contracted with the other
 * operand, kept to the operand's labels, in its order. */
static int contract_back(Sweep *s, const IrNode *n, Atoms *first, Atoms *second, const int *labels, int rank, Dtype t)
{
    Arena *a = arena(s);
    bool *live = arena_array(a, (size_t)n->nlabels + 1, sizeof(bool));
    for (int i = 0; i < rank; i++)
        live[labels[i]] = true;
    IrLabels lt = {n->nlabels, n->label_sizes, n->label_names};
    Atoms r = irb_contract(s->b, &lt, first, second, live, t, s->loc);
    irb_permute_to(s->b, &r, labels, rank);
    return irb_view(s->b, r.base, r.view, s->loc);
}

/* Node x as dtype d: x when it is d, else a map casting it. */
static int cast_node(Sweep *s, int x, Dtype d)
{
    Type t = ir_get(s->b->fn, x)->type, to = t;
    if (t.dtype == d)
        return x;
    to.dtype = d;
    return map_node(s, to, 1, &x, mx_input(arena(s), 0, t.dtype));
}

/* A contraction's operands and result have one dtype, so its gradients are
 * contractions in that dtype, as autocast's backward: a narrow float's
 * adjoint (f32) rounded to it, the products on its tensor cores with f32
 * accumulation, each result widened back to the adjoint's dtype. */
static void vjp_contract(Sweep *s, const IrNode *n, int g)
{
    Dtype op = n->type.dtype, t = grad_dtype(op);
    if (!dtype_is_float(op))
        return;
    int *la = (int *)n->labels_a, *lb = (int *)n->labels_b, *lo = (int *)n->labels_out;
    int gn = cast_node(s, g, op);
    Atoms ga = atoms_of(s, gn, lo), bb = atoms_of(s, n->inputs[1], lb);
    accumulate(s, n->inputs[0], cast_node(s, contract_back(s, n, &ga, &bb, la, n->rank_a, op), t));
    Atoms aa = atoms_of(s, n->inputs[0], la), gb = atoms_of(s, gn, lo);
    accumulate(s, n->inputs[1], cast_node(s, contract_back(s, n, &aa, &gb, lb, n->rank_b, op), t));
}

static void vjp(Sweep *s, const IrNode *n, int g)
{
    switch (n->op) {
    case IR_MAP: vjp_map(s, n, g); return;
    case IR_VIEW: vjp_view(s, n, g); return;
    case IR_REDUCE: vjp_reduce(s, n, g); return;
    case IR_CONTRACT: vjp_contract(s, n, g); return;
    case IR_COPY:
        if (is_float_node(s->b->fn, n->inputs[0]))
            accumulate(s, n->inputs[0], g);
        return;
    case IR_GATHER: {
        if (!is_float_node(s->b->fn, n->inputs[0]))
            return;
        int in[2] = {g, n->inputs[1]};
        IrNode *gg = ir_node(arena(s), s->b->fn, IR_GATHER_GRAD, grad_type(ir_get(s->b->fn, n->inputs[0])), s->loc, 2, in);
        gg->backward = true;
        accumulate(s, n->inputs[0], gg->id);
        return;
    }
    case IR_INPUT: case IR_PARAM: case IR_RANDOM: return;
    case IR_SCATTER: case IR_GATHER_GRAD:
        irb_fail(s->b, s->loc, "a gradient of a gradient");
        return;
    case IR_OP_COUNT: break;
    }
    die("vjp: op %d", n->op);
}

bool grad_build(IrBuild *b, int loss, const int *wrt, int nwrt, Loc loc, int *grads, bool *reached)
{
    Arena *a = b->arena;
    int n = (int)b->fn->nodes.len;
    Sweep s = {.b = b, .adj = arena_array(a, (size_t)n + 1, sizeof(int)), .loc = loc};
    for (int i = 0; i < n; i++)
        s.adj[i] = -1;
    const IrNode *l = ir_get(b->fn, loss);
    s.adj[loss] = map_node(&s, grad_type(l), 0, NULL, mx_k(a, 1, grad_dtype(l->type.dtype)));
    for (int id = loss; id >= 0 && !b->failed; id--)
        if (s.adj[id] >= 0)
            vjp(&s, ir_get(b->fn, id), s.adj[id]);
    for (int i = 0; i < nwrt; i++) {
        grads[i] = wrt[i] <= loss ? s.adj[wrt[i]] : -1;
        if (reached)
            reached[i] = grads[i] >= 0;
        if (grads[i] < 0) /* the loss does not depend on it */
            grads[i] = map_node(&s, grad_type(ir_get(b->fn, wrt[i])), 0, NULL, mx_k(a, 0, grad_dtype(ir_get(b->fn, wrt[i])->type.dtype)));
    }
    for (size_t id = (size_t)n; id < b->fn->nodes.len; id++) /* the builders' views and contractions too */
        ((IrNode *)b->fn->nodes.items[id])->backward = true;
    return !b->failed;
}
