/* cost.c - FLOPs and bytes of each IR node (see cost.h for the conventions). */
#include "cost.h"

#include <math.h>

#include "plan.h"

Size cost_bytes_of(const IrProgram *p, Dtype t)
{
    if (p->cost_float_dtype != DT_COUNT && dtype_is_float(t))
        t = p->cost_float_dtype;
    return size_const((dtype_bits(t) + 7) / 8);
}

static Size product(const Size *dims, int rank, const SizeNames *names)
{
    Size s = size_const(1);
    for (int i = 0; i < rank; i++)
        size_mul(s, dims[i], names, &s); /* the checker bounded every tensor's size */
    return s;
}

/* Operations in a map expression: calls and wheres; casts, constants and
 * loads are free; a contraction's one term (an outer product's) is a
 * multiply-add, 2, as contractions count. */
int cost_expr_ops(const MapExpr *e)
{
    int n = (e->kind == MX_CALL || e->kind == MX_WHERE) + (e->kind == MX_CALL && e->term);
    for (int i = 0; i < e->nargs; i++)
        n += cost_expr_ops(e->args[i]);
    return n;
}

/* Bytes of the distinct elements a view reads: repeated (stride 0) axes once. */
static Size view_read_bytes(const IrProgram *p, const IrFunction *f, const IrNode *n, int k)
{
    View v;
    int base;
    if (!ir_input_view(p->arena, f, n, k, p->names, &v, &base))
        return size_const(0);
    Size s = cost_bytes_of(p, ir_get(f, base)->type.dtype);
    for (int i = 0; i < v.rank; i++)
        if (!poly_is_zero(v.strides[i]))
            size_mul(s, v.dims[i], p->names, &s);
    return s;
}

static Poly sum_inputs(const IrProgram *p, const IrFunction *f, const IrNode *n)
{
    Poly r = poly_zero();
    for (int k = 0; k < n->ninputs; k++)
        poly_add(p->arena, r, poly_of(p->arena, view_read_bytes(p, f, n, k)), p->names, &r);
    return r;
}

static Poly scaled(const IrProgram *p, Size s, int64_t times)
{
    Size r;
    size_mul(s, size_const(times), p->names, &r);
    return poly_of(p->arena, times ? r : size_const(0));
}

Cost cost_node(const IrProgram *p, const IrFunction *f, const IrNode *n)
{
    Cost c = {poly_zero(), poly_zero(), poly_zero()};
    if (n->dead || n->fused || !ir_op_makes_buffer(n->op))
        return c;
    const SizeNames *names = p->names;
    Size out = product(n->type.dims, n->type.rank, names);
    Size out_bytes;
    size_mul(out, cost_bytes_of(p, n->type.dtype), names, &out_bytes);
    c.written = poly_of(p->arena, out_bytes);
    c.read = sum_inputs(p, f, n);
    switch (n->op) {
    case IR_MAP:
        c.flops = scaled(p, out, cost_expr_ops(n->expr));
        break;
    case IR_REDUCE: {
        Size in = product(n->input_dims, n->input_rank, names);
        c.flops = scaled(p, in, 1 + (n->expr ? cost_expr_ops(n->expr) : 0));
        if (n->reduce == RED_MEAN)
            poly_add(p->arena, c.flops, poly_of(p->arena, out), names, &c.flops);
        break;
    }
    case IR_CONTRACT: {
        Size terms = size_const(2);
        bool *seen = arena_array(p->arena, (size_t)n->nlabels + 1, sizeof(bool));
        for (int i = 0; i < n->rank_a + n->rank_b; i++) {
            int l = i < n->rank_a ? n->labels_a[i] : n->labels_b[i - n->rank_a];
            if (!seen[l])
                size_mul(terms, n->label_sizes[l], names, &terms);
            seen[l] = true;
        }
        c.flops = poly_of(p->arena, terms);
        break;
    }
    case IR_SCATTER: /* an addition per element of each input; none where the inputs tile the result */
        if (ir_scatter_tiles(p->arena, n, names)) { /* each input stored, none that was computed in its place */
            c.read = c.written = poly_zero();
            for (int k = 0; k < n->ninputs; k++) {
                if (plan_piece_in_place(p, f, n, k))
                    continue;
                Size in = view_read_bytes(p, f, n, k);
                poly_add(p->arena, c.read, poly_of(p->arena, in), names, &c.read);
                poly_add(p->arena, c.written, poly_of(p->arena, in), names, &c.written);
            }
            break;
        }
        for (int k = 0; k < n->ninputs; k++) {
            const View *to = n->scatter_views ? &n->scatter_views[k] : &n->view;
            poly_add(p->arena, c.flops, poly_of(p->arena, product(to->dims, to->rank, names)), names, &c.flops);
        }
        break;
    case IR_GATHER_GRAD: {
        const IrNode *g = ir_get(f, n->inputs[0]);
        c.flops = poly_of(p->arena, product(g->type.dims, g->type.rank, names));
        break;
    }
    case IR_GATHER: { /* the indices, and the rows picked: as many elements as the result */
        c.read = poly_of(p->arena, view_read_bytes(p, f, n, 1));
        poly_add(p->arena, c.read, c.written, names, &c.read);
        break;
    }
    case IR_RANDOM:
        c.read = poly_zero();
        break;
    default:
        break;
    }
    return c;
}

bool cost_add(Arena *a, Cost *total, Cost c, const SizeNames *names)
{
    return poly_add(a, total->flops, c.flops, names, &total->flops) && poly_add(a, total->read, c.read, names, &total->read) &&
           poly_add(a, total->written, c.written, names, &total->written);
}

/* By the operations of torch's single-tensor update rules, per element. */
int cost_optimizer_flops_per_element(const IrTrainSpec *t)
{
    int wd = t->weight_decay != 0 ? 2 : 0;
    switch (t->optim) {
    case OPT_SGD: /* g += wd w; buf = m buf + (1 - d) g; g = g + m buf (nesterov); w -= lr g */
        return 2 + wd + (t->momentum != 0 ? 3 : 0) + (t->nesterov ? 2 : 0);
    case OPT_ADAGRAD: /* sum += g g; w -= lr g / (sqrt(sum) + eps) */
        return 6 + wd;
    case OPT_RMSPROP: /* sq = a sq + (1 - a) g g; avg for centered; w -= lr g / (sqrt(...) + eps) */
        return 8 + wd + (t->centered ? 4 : 0) + (t->momentum != 0 ? 3 : 0);
    case OPT_ADAM: case OPT_ADAMW: /* m, v updates (7), the step lr m^ / (sqrt(v^) + eps) (5) */
        return 12 + wd + (t->amsgrad ? 1 : 0);
    }
    return 0;
}

int cost_optimizer_slots(const IrTrainSpec *t)
{
    switch (t->optim) {
    case OPT_SGD: return t->momentum != 0;
    case OPT_ADAGRAD: return 1;
    case OPT_RMSPROP: return 1 + (t->momentum != 0) + t->centered;
    case OPT_ADAM: case OPT_ADAMW: return 2 + t->amsgrad;
    }
    return 0;
}

bool cost_eval_size(const IrProgram *p, Size s, const int64_t *values, double *out)
{
    double v = (double)s.num / (double)s.den;
    for (int i = 0; i < s.nfactors; i++) {
        int d = s.factors[i].dim < (uint32_t)p->nfactors ? p->factor_dim[s.factors[i].dim] : -1;
        if (d < 0 || !values || values[d] <= 0)
            return false;
        v *= pow((double)values[d], (double)s.factors[i].exp);
    }
    *out = v;
    return true;
}

bool cost_eval(const IrProgram *p, Poly x, const int64_t *values, double *out)
{
    double total = 0;
    for (int i = 0; i < x.n; i++) {
        double v;
        if (!cost_eval_size(p, x.terms[i], values, &v))
            return false;
        total += v;
    }
    *out = total;
    return true;
}
