/* ir_build.c - the builders lowering and autodiff share (see ir_build.h). */
#include "ir_build.h"

#include <string.h>

#include "diag.h"

bool irb_fail(IrBuild *b, Loc loc, const char *what)
{
    diag_error(loc, "cannot compile this: %s", what);
    b->failed = true;
    return false;
}

int irb_view(IrBuild *b, int base, View v, Loc loc) { return ir_view(b->arena, b->fn, base, v, b->names, loc); }



bool irb_has_label(const int *labels, int n, int l)
{
    for (int i = 0; i < n; i++)
        if (labels[i] == l)
            return true;
    return false;
}


int irb_copy(IrBuild *b, int base, View v, Loc loc)
{
    int id = irb_view(b, base, v, loc);
    Type t = ir_get(b->fn, id)->type;
    IrNode *n = ir_node(b->arena, b->fn, IR_COPY, t, loc, 1, &id);
    return n->id;
}


/* Permutes atoms so that their labels are `order` (a permutation of them). */
void irb_permute_to(IrBuild *b, Atoms *x, const int *order, int n)
{
    int *perm = arena_array(b->arena, (size_t)n + 1, sizeof(int));
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (x->labels[j] == order[i])
                perm[i] = j;
    view_permute(b->arena, &x->view, perm, &x->view);
    int *labels = arena_array(b->arena, (size_t)n + 1, sizeof(int));
    memcpy(labels, order, (size_t)n * sizeof(int));
    x->labels = labels;
}


/* Reduces away the labels of x that `keep` says go. */
void irb_reduce_atoms(IrBuild *b, Atoms *x, const bool *keep, ReduceKind kind, Dtype out, Loc loc)
{
    int rank = x->view.rank, kept = 0;
    bool *reduced = arena_array(b->arena, (size_t)rank + 1, sizeof(bool));
    Size *dims = arena_array(b->arena, (size_t)rank + 1, sizeof(Size));
    int *labels = arena_array(b->arena, (size_t)rank + 1, sizeof(int));
    for (int i = 0; i < rank; i++) {
        reduced[i] = !keep[i];
        if (keep[i]) {
            dims[kept] = x->view.dims[i];
            labels[kept++] = x->labels[i];
        }
    }
    if (kept == rank && ir_get(b->fn, x->base)->type.dtype == out)
        return; /* nothing to reduce */
    int in = irb_view(b, x->base, x->view, loc);
    Type t = type_tensor(b->arena, out, kept, dims);
    IrNode *n = ir_node(b->arena, b->fn, IR_REDUCE, t, loc, 1, &in);
    n->reduce = kind;
    n->reduced = reduced;
    n->input_rank = rank;
    n->input_dims = x->view.dims;
    x->base = n->id;
    ir_contiguous_view(b->arena, t, b->names, &x->view);
    x->labels = labels;
}


/* Operand x permuted to `order`, copied when `groups` (pairs [from, to)) do not merge. */
static void arrange_for_gemm(IrBuild *b, Atoms *x, const int *order, int n, const int *ranges, int nranges, Loc loc)
{
    irb_permute_to(b, x, order, n);
    for (int i = 0; i < nranges; i++)
        if (!view_mergeable(b->arena, &x->view, ranges[2 * i], ranges[2 * i + 1], b->names)) {
            x->base = irb_copy(b, x->base, x->view, loc);
            Type t = ir_get(b->fn, x->base)->type;
            ir_contiguous_view(b->arena, t, b->names, &x->view);
            return;
        }
}


/* One CONTRACT of a and b keeping the labels in `live` (labels needed later). */
Atoms irb_contract(IrBuild *b, const IrLabels *t, Atoms *a, Atoms *bo, const bool *live, Dtype dt, Loc loc)
{
    int ra = a->view.rank, rb = bo->view.rank;
    int *batch = arena_array(b->arena, (size_t)(ra + rb) + 1, sizeof(int)), nb = 0;
    int *m = arena_array(b->arena, (size_t)ra + 1, sizeof(int)), nm = 0;
    int *n = arena_array(b->arena, (size_t)rb + 1, sizeof(int)), nn = 0;
    int *k = arena_array(b->arena, (size_t)ra + 1, sizeof(int)), nk = 0;
    for (int i = 0; i < ra; i++) {
        int l = a->labels[i];
        bool in_b = irb_has_label(bo->labels, rb, l);
        if (in_b && live[l])
            batch[nb++] = l;
        else if (in_b)
            k[nk++] = l;
        else
            m[nm++] = l;
    }
    for (int i = 0; i < rb; i++)
        if (!irb_has_label(a->labels, ra, bo->labels[i]))
            n[nn++] = bo->labels[i];
    if (nb > 8) { /* td_gemm takes 8 batch axes: make the rest rows of A and C */
        irb_fail(b, loc, "an einsum with more than 8 batch axes");
        return *a;
    }
    int *order_a = arena_array(b->arena, (size_t)ra + 1, sizeof(int)), *order_b = arena_array(b->arena, (size_t)rb + 1, sizeof(int));
    memcpy(order_a, batch, (size_t)nb * sizeof(int));
    memcpy(order_a + nb, m, (size_t)nm * sizeof(int));
    memcpy(order_a + nb + nm, k, (size_t)nk * sizeof(int));
    memcpy(order_b, batch, (size_t)nb * sizeof(int));
    memcpy(order_b + nb, k, (size_t)nk * sizeof(int));
    memcpy(order_b + nb + nk, n, (size_t)nn * sizeof(int));
    int ranges_a[4] = {nb, nb + nm, nb + nm, ra}, ranges_b[4] = {nb, nb + nk, nb + nk, rb};
    arrange_for_gemm(b, a, order_a, ra, ranges_a, 2, loc);
    arrange_for_gemm(b, bo, order_b, rb, ranges_b, 2, loc);
    int in[2] = {irb_view(b, a->base, a->view, loc), irb_view(b, bo->base, bo->view, loc)};
    int rank = nb + nm + nn;
    int *out = arena_array(b->arena, (size_t)rank + 1, sizeof(int));
    memcpy(out, batch, (size_t)nb * sizeof(int));
    memcpy(out + nb, m, (size_t)nm * sizeof(int));
    memcpy(out + nb + nm, n, (size_t)nn * sizeof(int));
    Size *dims = arena_array(b->arena, (size_t)rank + 1, sizeof(Size));
    for (int i = 0; i < rank; i++)
        dims[i] = t->sizes[out[i]];
    Type rt = type_tensor(b->arena, dt, rank, dims);
    IrNode *node = ir_node(b->arena, b->fn, IR_CONTRACT, rt, loc, 2, in);
    node->labels_a = order_a, node->rank_a = ra;
    node->labels_b = order_b, node->rank_b = rb;
    node->labels_out = out;
    node->nlabels = t->n;
    node->label_sizes = t->sizes;
    node->label_names = t->names;
    Atoms res = {.base = node->id, .labels = out};
    ir_contiguous_view(b->arena, rt, b->names, &res.view);
    return res;
}

