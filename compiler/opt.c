/* opt.c - the IR passes that simplify: common subexpressions, copies and
 * dead code.
 *
 * requires: a graph straight from lower.c or an earlier pass.
 * CSE: two nodes with the same operation, inputs, type and attributes
 * compute the same value (RANDOM draws excepted), so the later one's uses
 * move to the earlier. Copies: a map that gives its one input back
 * unchanged (`$0`, same type, read as it is: what a cast to the dtype a
 * value has, or a round trip through a wider float, simplifies to) is
 * no node of its own; its uses move to the input. Wide products: in the
 * backward (the compiler's own arithmetic), a contraction of f16 or bf16
 * read only by a cast to f32 stores its f32 sums as they are (td_gemm's
 * c_f32): one rounding fewer, and no pass over the product, where the
 * adjoint of a cast to a narrow float (`w as bf16` of an f32 param) is
 * otherwise a bf16 product widened. Relu's masks: a map that reads x
 * only as `x > 0` (the gradient of relu(x), from grad.c) reads relu(x)
 * instead where relu(x) is a node (relu(x) > 0 exactly when x > 0, NaN
 * included), so x, often a product plus a bias, need not be kept for the
 * backward: one activation fewer held, and x may be fused into the relu
 * (a product's epilogue on the GPU). DCE: what no result
 * needs is marked dead. Constant folding of scalars happened in the
 * checker, which knows every number known at compile time; a MAP of
 * constants alone stays a fill loop. */
#include "opt.h"

#include <stdlib.h>
#include <string.h>

/* A node's identity as text: op, inputs, type and attributes. */
static char *signature(const IrProgram *p, const IrFunction *f, const IrNode *n, const int *repl)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    if (!m)
        die("out of memory");
    fprintf(m, "%d|%s|%d", n->op, type_str(p->arena, n->type, p->names), n->index);
    for (int k = 0; k < n->ninputs; k++)
        fprintf(m, "|%d", repl[n->inputs[k]]);
    /* the printer's text of the node covers views, expressions, reductions and labels */
    IrNode copy = *n;
    copy.id = 0;
    copy.loc = (Loc){0};
    copy.ninputs = 0;
    IrFunction one = {.name = "", .nodes = {0}};
    (void)f;
    void *items[1] = {&copy};
    one.nodes.items = items;
    one.nodes.len = 1;
    ir_print_function(m, p, &one);
    if (n->op == IR_CONTRACT)
        for (int l = 0; l < n->nlabels; l++)
            fprintf(m, "|%s", size_str(p->arena, n->label_sizes[l], p->names));
    fclose(m);
    return buf;
}

void pass_cse(const IrProgram *p, IrFunction *f)
{
    int n = (int)f->nodes.len;
    int *repl = arena_array(p->arena, (size_t)n + 1, sizeof(int));
    char **sigs = calloc((size_t)n + 1, sizeof *sigs);
    uint32_t cap = 16;
    while (cap < (uint32_t)n * 2)
        cap *= 2;
    int *table = malloc(cap * sizeof *table);
    if (!sigs || !table)
        die("out of memory");
    for (uint32_t i = 0; i < cap; i++)
        table[i] = -1;
    for (int i = 0; i < n; i++) {
        IrNode *node = f->nodes.items[i];
        for (int k = 0; k < node->ninputs; k++)
            node->inputs[k] = repl[node->inputs[k]];
        repl[i] = i;
        if (node->dead || node->op == IR_RANDOM || node->op == IR_INPUT || node->op == IR_SCATTER)
            continue; /* a scatter's several destination views are not in its printed signature */
        sigs[i] = signature(p, f, node, repl);
        uint32_t h = hash_string(sigs[i]) & (cap - 1);
        while (table[h] >= 0 && strcmp(sigs[table[h]], sigs[i]) != 0)
            h = (h + 1) & (cap - 1);
        if (table[h] >= 0) {
            repl[i] = table[h];
            node->dead = true;
        } else {
            table[h] = i;
        }
    }
    for (int i = 0; i < f->noutputs; i++)
        f->outputs[i] = repl[f->outputs[i]];
    for (int i = 0; i < n; i++)
        free(sigs[i]);
    free(sigs);
    free(table);
}

void pass_outer_products(const IrProgram *p, IrFunction *f)
{
    Arena *a = p->arena;
    for (size_t i = 0; i < f->nodes.len; i++) {
        IrNode *n = f->nodes.items[i];
        if (n->dead || n->op != IR_CONTRACT || ir_contract_widens(f, n))
            continue;
        bool single = true; /* every summed axis of size 1: one term per element */
        for (int j = 0; j < n->rank_a + n->rank_b && single; j++) {
            int l = j < n->rank_a ? n->labels_a[j] : n->labels_b[j - n->rank_a];
            bool kept = false;
            for (int q = 0; q < n->type.rank; q++)
                kept |= n->labels_out[q] == l;
            int64_t size;
            single = kept || (size_is_const(n->label_sizes[l], &size) && size == 1);
        }
        View in[2];
        int base[2];
        for (int k = 0; k < 2 && single; k++)
            single = ir_input_view(a, f, n, k, p->names, &in[k], &base[k]);
        if (!single)
            continue;
        View *over = arena_array(a, 2, sizeof(View)); /* each operand over the result's axes */
        bool *has = arena_array(a, 2, sizeof(bool));
        for (int k = 0; k < 2; k++) {
            const int *labels = k ? n->labels_b : n->labels_a;
            over[k] = (View){.rank = n->type.rank, .dims = n->type.dims, .offset = in[k].offset,
                             .strides = arena_array(a, (size_t)n->type.rank + 1, sizeof(Poly))};
            for (int q = 0; q < n->type.rank; q++)
                over[k].strides[q] = poly_zero();
            for (int j = 0; j < in[k].rank; j++) /* a summed axis (size 1) is at 0; a repeated label's strides add */
                for (int q = 0; q < n->type.rank; q++)
                    if (n->labels_out[q] == labels[j] &&
                        !poly_add(a, over[k].strides[q], in[k].strides[j], p->names, &over[k].strides[q]))
                        single = false;
            has[k] = true;
        }
        if (!single)
            continue;
        Dtype t = n->type.dtype;
        n->op = IR_MAP;
        n->expr = mx_call(a, MF_MUL, t, t, mx_input(a, 0, t), mx_input(a, 1, t));
        n->expr->term = true;
        n->outer_product = true;
        n->inputs[0] = base[0], n->inputs[1] = base[1];
        n->has_input_view = has;
        n->input_views = over;
    }
}

void pass_wide_products(const IrProgram *p, IrFunction *f)
{
    for (size_t i = 0; i < f->nodes.len; i++) {
        IrNode *node = f->nodes.items[i];
        if (node->dead || node->fused || node->op != IR_MAP || node->ninputs != 1 || !node->expr || node->type.dtype != DT_F32 ||
            node->expr->kind != MX_CAST || node->expr->args[0]->kind != MX_INPUT ||
            (node->has_input_view && node->has_input_view[0]))
            continue;
        IrNode *c = f->nodes.items[node->inputs[0]];
        if (c->op != IR_CONTRACT || !c->backward || c->uses != 1 || (c->type.dtype != DT_BF16 && c->type.dtype != DT_F16))
            continue;
        bool narrowed = false; /* read by a cast back (--no-fuse keeps the round trip): the product stays narrow */
        for (size_t j = i + 1; j < f->nodes.len && !narrowed; j++) {
            const IrNode *r = f->nodes.items[j];
            for (int k = 0; !r->dead && r->op == IR_MAP && k < r->ninputs; k++)
                narrowed |= r->inputs[k] == node->id && r->type.dtype == c->type.dtype;
        }
        if (narrowed)
            continue;
        c->type.dtype = DT_F32;
        MapExpr *in = arena_alloc(p->arena, sizeof *in); /* $0, now f32 */
        *in = *node->expr->args[0];
        in->dtype = DT_F32;
        node->expr = in;
        for (int k = 0; k < f->noutputs; k++) /* a result: the product is (pass_copies keeps results) */
            if (f->outputs[k] == node->id) {
                f->outputs[k] = c->id;
                node->dead = true;
            }
    }
}

/* Whether x reads input k only as `$k > 0`. */
static bool reads_only_sign(const MapExpr *x, int k)
{
    if (x->kind == MX_INPUT)
        return x->input != k;
    if (x->kind == MX_CALL && x->fn == MF_GT && x->args[0]->kind == MX_INPUT && x->args[0]->input == k &&
        x->args[1]->kind == MX_CONST && (x->args[1]->is_int ? x->args[1]->ival == 0 : x->args[1]->fval == 0))
        return true;
    for (int i = 0; i < x->nargs; i++)
        if (!reads_only_sign(x->args[i], k))
            return false;
    return true;
}

static bool reads_as_it_is(const IrNode *n, int k) { return !n->has_input_view || !n->has_input_view[k]; }

void pass_relu_masks(const IrProgram *p, IrFunction *f)
{
    (void)p;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *r = f->nodes.items[i]; /* r = relu(x), x a node of r's type */
        if (r->dead || r->op != IR_MAP || r->ninputs != 1 || !r->expr || r->expr->kind != MX_CALL ||
            r->expr->fn != MF_RELU || r->expr->args[0]->kind != MX_INPUT || !reads_as_it_is(r, 0))
            continue;
        const IrNode *x = f->nodes.items[r->inputs[0]];
        if (x->type.dtype != r->type.dtype || !type_same_shape(x->type, r->type))
            continue;
        for (size_t j = i + 1; j < f->nodes.len; j++) {
            IrNode *m = f->nodes.items[j];
            if (m->dead || m->op != IR_MAP || !m->expr)
                continue;
            for (int k = 0; k < m->ninputs; k++)
                if (m->inputs[k] == x->id && reads_as_it_is(m, k) && reads_only_sign(m->expr, k))
                    m->inputs[k] = r->id;
        }
    }
}

void pass_copies(const IrProgram *p, IrFunction *f)
{
    int n = (int)f->nodes.len;
    int *repl = arena_array(p->arena, (size_t)n + 1, sizeof(int));
    bool *output = arena_array(p->arena, (size_t)n + 1, sizeof(bool));
    for (int i = 0; i < f->noutputs; i++)
        output[f->outputs[i]] = true;
    for (int i = 0; i < n; i++) {
        IrNode *node = f->nodes.items[i];
        repl[i] = i;
        if (node->dead)
            continue;
        for (int k = 0; k < node->ninputs; k++)
            node->inputs[k] = repl[node->inputs[k]];
        if (node->op != IR_MAP || node->ninputs != 1 || !node->expr || node->expr->kind != MX_INPUT || output[i] ||
            (node->has_input_view && node->has_input_view[0] &&
             !view_is_contiguous(p->arena, &node->input_views[0], p->names))) /* read through itself */
            continue;
        const IrNode *in = f->nodes.items[node->inputs[0]];
        if (in->op == IR_VIEW || in->type.dtype != node->type.dtype || !type_same_shape(in->type, node->type))
            continue;
        repl[i] = in->id;
        node->dead = true;
    }
}

void pass_dce(const IrProgram *p, IrFunction *f)
{
    int n = (int)f->nodes.len;
    for (int i = 0; i < n; i++) {
        IrNode *node = f->nodes.items[i];
        if (!node->dead && (node->op == IR_MAP || (node->op == IR_REDUCE && node->expr)))
            ir_prune_inputs(p->arena, node);
    }
    bool *live = arena_array(p->arena, (size_t)n + 1, sizeof(bool));
    for (int i = 0; i < f->noutputs; i++)
        live[f->outputs[i]] = true;
    for (int i = n - 1; i >= 0; i--) {
        IrNode *node = f->nodes.items[i];
        if (!live[i]) {
            node->dead = true;
            continue;
        }
        for (int k = 0; k < node->ninputs; k++)
            live[node->inputs[k]] = true;
    }
    for (int i = 0; i < n; i++) {
        IrNode *node = f->nodes.items[i];
        node->uses = 0;
    }
    for (int i = 0; i < n; i++) {
        IrNode *node = f->nodes.items[i];
        if (node->dead)
            continue;
        for (int k = 0; k < node->ninputs; k++)
            ((IrNode *)f->nodes.items[node->inputs[k]])->uses++;
    }
    for (int i = 0; i < f->noutputs; i++)
        ((IrNode *)f->nodes.items[f->outputs[i]])->uses++;
}
