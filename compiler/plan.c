/* plan.c - liveness and slots (see plan.h). */
#include "plan.h"

#include <string.h>

bool plan_has_buffer(const IrNode *n) { return !n->dead && !n->fused && ir_op_makes_buffer(n->op); }

Size plan_bytes(const IrProgram *p, const IrNode *n)
{
    Size s = size_const((dtype_bits(n->type.dtype) + 7) / 8);
    for (int i = 0; i < n->type.rank; i++)
        size_mul(s, n->type.dims[i], p->names, &s); /* the checker bounded every tensor's bytes */
    return s;
}

bool plan_piece_in_place(const IrProgram *p, const IrFunction *f, const IrNode *s, int k)
{
    if (s->op != IR_SCATTER || !plan_has_buffer(s))
        return false;
    const IrNode *in = ir_get(f, s->inputs[k]);
    if (!plan_has_buffer(in) || in->op == IR_SCATTER || in->uses != 1 || in->type.dtype != s->type.dtype)
        return false;
    if (s->has_input_view && s->has_input_view[k]) { /* read through a view: only one that reads it in order */
        const View *v = &s->input_views[k];
        View whole;
        if (!ir_contiguous_view(p->arena, in->type, p->names, &whole) || v->rank != whole.rank ||
            !poly_is_zero(v->offset))
            return false;
        for (int d = 0; d < v->rank; d++)
            if (!size_eq(v->dims[d], whole.dims[d]) || !poly_eq(v->strides[d], whole.strides[d]))
                return false;
    }
    return ir_scatter_tiles(p->arena, s, p->names);
}

/* The node whose memory a read of `id` touches. */
static int base_of(const IrFunction *f, int id)
{
    const IrNode *n = ir_get(f, id);
    return n->op == IR_VIEW ? n->inputs[0] : id;
}

bool plan_reads_narrow(const IrFunction *f, const IrNode *c)
{
    if (c->op != IR_CONTRACT || c->dead || c->type.dtype != DT_F32 || c->rank_b != 2 || c->rank_a < 1 ||
        c->type.rank != c->rank_a)
        return false;
    int r = c->rank_a, s = c->labels_a[r - 1], o = c->labels_b[1];
    int64_t one;
    if (c->labels_b[0] != s || s == o || !size_is_const(c->label_sizes[o], &one) || one != 1 || c->labels_out[r - 1] != o)
        return false;
    for (int q = 0; q < r - 1; q++) /* A[..., s] B[s, o] -> [..., o] */
        if (c->labels_out[q] != c->labels_a[q] || c->labels_a[q] == s || c->labels_a[q] == o)
            return false;
    const IrNode *m = ir_get(f, base_of(f, c->inputs[0]));
    const MapExpr *x = m->expr;
    return m->op == IR_MAP && m->ninputs == 1 && x && x->kind == MX_CAST && x->dtype == DT_F32 &&
           x->args[0]->kind == MX_INPUT && (x->args[0]->dtype == DT_BF16 || x->args[0]->dtype == DT_F16);
}

static bool epilogue_dtype(Dtype t) { return t == DT_F64 || t == DT_F32 || t == DT_F16 || t == DT_BF16; }

/* Whether map m reads input k through a view that broadcasts a whole
 * contiguous vector of its last axis's size along the other axes. */
static bool reads_bias(const IrProgram *p, const IrFunction *f, const IrNode *m, int k, int before)
{
    View v;
    int base;
    if (!ir_input_view(p->arena, f, m, k, p->names, &v, &base) || v.rank != m->type.rank || v.rank < 1 ||
        !poly_is_zero(v.offset))
        return false;
    const IrNode *b = ir_get(f, base);
    if (base >= before && b->op != IR_PARAM && b->op != IR_INPUT) /* computed after the product */
        return false;
    Size elements = size_const(1);
    for (int d = 0; d < b->type.rank; d++)
        size_mul(elements, b->type.dims[d], p->names, &elements);
    for (int d = 0; d + 1 < v.rank; d++)
        if (!poly_is_zero(v.strides[d]))
            return false;
    return b->type.dtype == m->type.dtype && size_eq(v.dims[v.rank - 1], elements) &&
           poly_eq(v.strides[v.rank - 1], poly_of(p->arena, size_const(1)));
}

static int count_label(const int *labels, int n, int l)
{
    int count = 0;
    for (int i = 0; i < n; i++)
        count += labels[i] == l;
    return count;
}

/* Whether the result's last axis is td_gemm's n, alone: a label of B's
 * (once) that A lacks, every other axis of the result one of A's. A bias
 * along that axis is then bias[j] of C[i][j]. */
static bool last_axis_is_n(const IrNode *c)
{
    if (c->type.rank < 1)
        return false;
    int o = c->labels_out[c->type.rank - 1];
    if (count_label(c->labels_b, c->rank_b, o) != 1 || count_label(c->labels_a, c->rank_a, o) != 0)
        return false;
    for (int q = 0; q + 1 < c->type.rank; q++)
        if (count_label(c->labels_a, c->rank_a, c->labels_out[q]) == 0)
            return false;
    return true;
}

static bool input_of(const MapExpr *x, int k, Dtype t) { return x->kind == MX_INPUT && x->input == k && x->dtype == t; }

bool plan_epilogue(const IrProgram *p, const IrFunction *f, const IrNode *c, PlanEpilogue *ep)
{
    if (c->op != IR_CONTRACT || !plan_has_buffer(c) || c->uses != 1 || !epilogue_dtype(c->type.dtype) ||
        ir_contract_widens(f, c))
        return false;
    for (int k = 0; k < f->noutputs; k++)
        if (base_of(f, f->outputs[k]) == c->id)
            return false;
    if (!last_axis_is_n(c))
        return false;
    const IrNode *m = NULL;
    for (size_t i = (size_t)c->id + 1; i < f->nodes.len && !m; i++) {
        const IrNode *r = f->nodes.items[i];
        for (int k = 0; !r->dead && k < r->ninputs; k++)
            if (r->inputs[k] == c->id)
                m = r;
    }
    if (!m || m->op != IR_MAP || !plan_has_buffer(m) || !m->expr || m->type.dtype != c->type.dtype ||
        !type_same_shape(m->type, c->type))
        return false;
    int kc = -1;
    for (int k = 0; k < m->ninputs; k++)
        if (m->inputs[k] == c->id) {
            View v;
            int base;
            if (kc >= 0 || !ir_input_view(p->arena, f, m, k, p->names, &v, &base) || !view_is_contiguous(p->arena, &v, p->names))
                return false;
            kc = k;
        }
    const Dtype t = c->type.dtype;
    const MapExpr *x = m->expr;
    *ep = (PlanEpilogue){.map = m, .bias = -1};
    if (x->kind == MX_CALL && x->fn == MF_RELU && x->dtype == t) {
        ep->relu = true;
        x = x->args[0];
    }
    if (input_of(x, kc, t))
        return ep->relu;
    if (x->kind != MX_CALL || x->fn != MF_ADD || x->dtype != t || x->arg_dtype != t)
        return false;
    const MapExpr *other = input_of(x->args[0], kc, t) ? x->args[1] : input_of(x->args[1], kc, t) ? x->args[0] : NULL;
    if (!other || other->kind != MX_INPUT || other->input == kc || other->dtype != t ||
        !reads_bias(p, f, m, other->input, c->id))
        return false;
    ep->bias = other->input;
    return true;
}

int plan_epilogue_map(const FnPlan *plan, const IrFunction *f, int id)
{
    int at = plan->placed_in[id];
    return at >= 0 && ir_get(f, at)->op == IR_MAP ? at : -1;
}

/* Two sizes of the same dims (4*batch and 256*batch): the larger is known. */
static bool same_dims(Size a, Size b)
{
    if (a.nfactors != b.nfactors)
        return false;
    for (int i = 0; i < a.nfactors; i++)
        if (a.factors[i].dim != b.factors[i].dim || a.factors[i].exp != b.factors[i].exp)
            return false;
    return true;
}

FnPlan *plan_function(const IrProgram *p, const IrFunction *f)
{
    Arena *a = p->arena;
    int n = (int)f->nodes.len;
    FnPlan *plan = arena_alloc(a, sizeof *plan);
    plan->slot_of = arena_array(a, (size_t)n + 1, sizeof(int));
    plan->last_use = arena_array(a, (size_t)n + 1, sizeof(int));
    plan->output_of = arena_array(a, (size_t)n + 1, sizeof(int));
    plan->copy_output = arena_array(a, (size_t)f->noutputs + 1, sizeof(bool));
    plan->placed_in = arena_array(a, (size_t)n + 1, sizeof(int));
    int *first_piece = arena_array(a, (size_t)n + 1, sizeof(int)); /* by node id: its scatter, when it is the first piece placed */
    for (int i = 0; i < n; i++) {
        plan->slot_of[i] = -1;
        plan->last_use[i] = i;
        plan->output_of[i] = -1;
        plan->placed_in[i] = -1;
        first_piece[i] = -1;
    }
    for (int i = 0; i < n; i++) {
        const IrNode *s = f->nodes.items[i];
        int first = i;
        for (int k = 0; s->op == IR_SCATTER && k < s->ninputs; k++)
            if (plan_piece_in_place(p, f, s, k)) {
                plan->placed_in[s->inputs[k]] = i;
                first = s->inputs[k] < first ? s->inputs[k] : first;
            }
        if (first < i)
            first_piece[first] = i;
    }
    /* a result that is a buffer read in order, whole, is computed in the
     * caller's memory: no slot, no copy at the end */
    for (int i = 0; i < f->noutputs; i++) {
        plan->copy_output[i] = true;
        View v;
        int b;
        if (!ir_view_of(a, f, f->outputs[i], p->names, &v, &b) || !plan_has_buffer(ir_get(f, b)) || plan->output_of[b] >= 0)
            continue;
        if (!view_is_contiguous(a, &v, p->names))
            continue;
        Size whole = size_const(1);
        const IrNode *base = ir_get(f, b);
        for (int k = 0; k < v.rank; k++)
            size_mul(whole, v.dims[k], p->names, &whole);
        Size all = size_const(1);
        for (int k = 0; k < base->type.rank; k++)
            size_mul(all, base->type.dims[k], p->names, &all);
        if (!size_eq(whole, all))
            continue;
        plan->output_of[b] = i;
        plan->copy_output[i] = false;
    }
    /* a contraction with an epilogue is computed in the map's buffer,
     * which is taken where the contraction runs */
    for (int i = 0; i < n; i++) {
        const IrNode *c = f->nodes.items[i];
        PlanEpilogue ep;
        if (c->op == IR_CONTRACT && plan->placed_in[i] < 0 && plan_epilogue(p, f, c, &ep) &&
            plan->placed_in[ep.map->id] < 0) {
            plan->placed_in[i] = ep.map->id;
            if (plan->output_of[ep.map->id] < 0)
                first_piece[i] = ep.map->id;
        }
    }
    for (int i = 0; i < n; i++) {
        const IrNode *node = f->nodes.items[i];
        if (node->dead)
            continue;
        for (int k = 0; k < node->ninputs; k++) {
            int b = base_of(f, node->inputs[k]);
            if (plan->last_use[b] < i)
                plan->last_use[b] = i;
        }
    }
    for (int i = 0; i < f->noutputs; i++)
        plan->last_use[base_of(f, f->outputs[i])] = n; /* read by the copy to the caller, after the last node */
    /* a matrix-vector product of a widening cast reads the cast's narrow
     * input too: the GPU computes the two in the product's kernel
     * (emit_cuda_head_cast), so that input lives until the product */
    for (int i = 0; i < n; i++) {
        const IrNode *c = f->nodes.items[i];
        if (c->dead || !plan_reads_narrow(f, c))
            continue;
        int h = base_of(f, ir_get(f, base_of(f, c->inputs[0]))->inputs[0]);
        if (plan->last_use[h] < i)
            plan->last_use[h] = i;
    }
    int cap = 8;
    plan->slots = arena_array(a, (size_t)cap, sizeof(PlanSlot));
    int *slot_free_after = arena_array(a, (size_t)n + 1, sizeof(int)); /* by slot: when its last member dies */
    for (int at = 0; at < n; at++) {
        /* a scatter's slot is taken where its first piece placed in it is
         * computed (then it has one at its own index); the pieces have none */
        int i = first_piece[at] >= 0 ? first_piece[at] : at;
        const IrNode *node = f->nodes.items[i];
        if (!plan_has_buffer(node) || plan->output_of[i] >= 0 || plan->placed_in[i] >= 0 || plan->slot_of[i] >= 0)
            continue;
        Size bytes = plan_bytes(p, node);
        /* a free slot: one of the same size if any, else one whose sizes
         * grow with the same dims, else the first free one (a max never
         * costs more than a new slot) */
        int pick = -1, pick_rank = 0;
        for (int s = 0; s < plan->nslots; s++) {
            if (slot_free_after[s] >= at)
                continue;
            int rank = 1;
            for (int m = 0; m < plan->slots[s].nmembers; m++) {
                if (size_eq(plan->slots[s].bytes[m], bytes))
                    rank = 3;
                else if (rank < 2 && same_dims(plan->slots[s].bytes[m], bytes))
                    rank = 2;
            }
            if (rank > pick_rank)
                pick = s, pick_rank = rank;
        }
        if (pick < 0) {
            if (plan->nslots == cap) {
                PlanSlot *grown = arena_array(a, (size_t)cap * 2, sizeof(PlanSlot));
                memcpy(grown, plan->slots, (size_t)cap * sizeof(PlanSlot));
                plan->slots = grown;
                cap *= 2;
            }
            pick = plan->nslots++;
            plan->slots[pick] = (PlanSlot){.members = arena_array(a, (size_t)n + 1, sizeof(int)),
                                           .bytes = arena_array(a, (size_t)n + 1, sizeof(Size))};
        }
        PlanSlot *slot = &plan->slots[pick];
        slot->members[slot->nmembers] = i;
        slot->bytes[slot->nmembers++] = bytes;
        slot_free_after[pick] = plan->last_use[i];
        plan->slot_of[i] = pick;
    }
    return plan;
}

/* "max(4*batch, 256)" */
static const char *slot_size_text(Arena *a, const PlanSlot *s, const SizeNames *names)
{
    /* of sizes with the same dims only the largest counts: 256*batch, not max(4*batch, 256*batch) */
    Size *kept = arena_array(a, (size_t)s->nmembers + 1, sizeof(Size));
    int nk = 0;
    for (int m = 0; m < s->nmembers; m++) {
        Size b = s->bytes[m];
        int k = 0;
        while (k < nk && !same_dims(kept[k], b))
            k++;
        if (k == nk)
            kept[nk++] = b;
        else if ((double)b.num / (double)b.den > (double)kept[k].num / (double)kept[k].den)
            kept[k] = b;
    }
    const char **distinct = arena_array(a, (size_t)nk + 1, sizeof(char *));
    int nd = 0;
    for (int m = 0; m < nk; m++)
        distinct[nd++] = size_str(a, kept[m], names);
    if (nd == 1)
        return distinct[0];
    const char *r = "max(";
    for (int k = 0; k < nd; k++)
        r = arena_printf(a, "%s%s%s", r, k ? ", " : "", distinct[k]);
    return arena_printf(a, "%s)", r);
}

/* Adds align64(s) to a total that stays a number while every size is one. */
static void add_static(int64_t *total, bool *all_static, Size s)
{
    int64_t v;
    if (!*all_static || !size_is_const(s, &v)) {
        *all_static = false;
        return;
    }
    *total += (v + PLAN_ALIGN - 1) / PLAN_ALIGN * PLAN_ALIGN;
}

static void print_total(FILE *out, const char *formula, int64_t total, bool all_static)
{
    if (all_static)
        fprintf(out, "  total: %lld bytes\n", (long long)total);
    else
        fprintf(out, "  total: %s bytes\n", formula);
}

void plan_print(FILE *out, const IrProgram *p)
{
    Arena *a = p->arena;
    fputs("params:\n", out);
    const char *offset = "0";
    int64_t static_total = 0;
    bool all_static = true;
    for (size_t i = 0; i < p->params.len; i++) {
        const IrParam *pr = p->params.items[i];
        IrNode fake = {.type = pr->type};
        fprintf(out, "  %-12s %-28s offset %s, %s bytes\n", pr->name, type_str(a, pr->type, p->names), offset,
                size_str(a, plan_bytes(p, &fake), p->names));
        add_static(&static_total, &all_static, plan_bytes(p, &fake));
        offset = all_static ? arena_printf(a, "%lld", (long long)static_total)
                            : arena_printf(a, "%s%salign%d(%s)", strcmp(offset, "0") ? offset : "", strcmp(offset, "0") ? " + " : "",
                                           PLAN_ALIGN, size_str(a, plan_bytes(p, &fake), p->names));
    }
    print_total(out, offset, static_total, all_static);
    for (size_t i = 0; i < p->functions.len + p->trains.len; i++) {
        if (i >= p->functions.len && (i - p->functions.len) % 2 == 1)
            continue; /* a train block's loss alone: its step's plan covers it */
        const IrFunction *f = i < p->functions.len ? p->functions.items[i] : p->trains.items[i - p->functions.len];
        FnPlan *plan = plan_function(p, f);
        fprintf(out, "\nworkspace of %s: %d slot%s\n", f->name, plan->nslots, plan->nslots == 1 ? "" : "s");
        const char *off = "0";
        int64_t ws_total = 0;
        bool ws_static = true;
        for (int s = 0; s < plan->nslots; s++) {
            const PlanSlot *slot = &plan->slots[s];
            const char *size = slot_size_text(a, slot, p->names);
            Size largest = size_const(0);
            for (int m = 0; m < slot->nmembers; m++) {
                int64_t v, w;
                if (size_is_const(slot->bytes[m], &v) && size_is_const(largest, &w) && v > w)
                    largest = slot->bytes[m];
                else if (!size_is_const(slot->bytes[m], &v))
                    largest = slot->bytes[m]; /* run-time: the total stays a formula */
            }
            add_static(&ws_total, &ws_static, largest);
            fprintf(out, "  slot %d at %s, %s bytes:", s, off, size);
            for (int m = 0; m < slot->nmembers; m++) {
                const IrNode *n = ir_get(f, slot->members[m]);
                fprintf(out, " %%%d %s", n->id, ir_op_name(n->op));
                fprintf(out, m + 1 < slot->nmembers ? "," : "");
            }
            fputc('\n', out);
            off = ws_static ? arena_printf(a, "%lld", (long long)ws_total)
                            : arena_printf(a, "%s%salign%d(%s)", strcmp(off, "0") ? off : "", strcmp(off, "0") ? " + " : "",
                                           PLAN_ALIGN, size);
        }
        for (size_t k = 0; k < f->nodes.len; k++) {
            int at = plan->placed_in[k];
            if (at >= 0 && plan_epilogue_map(plan, f, (int)k) < 0)
                fprintf(out, "  %%%zu %s: in its block of %%%d scatter\n", k, ir_op_name(ir_get(f, (int)k)->op), at);
            else if (at >= 0)
                fprintf(out, "  %%%zu %s: in the buffer of %%%d map, its epilogue\n", k, ir_op_name(ir_get(f, (int)k)->op), at);
        }
        for (int k = 0; k < f->noutputs; k++) {
            int id = f->outputs[k], b = id;
            if (ir_get(f, id)->op == IR_VIEW)
                b = ir_get(f, id)->inputs[0];
            if (!plan->copy_output[k])
                fprintf(out, "  result %d: %%%d %s, written in place\n", k, b, ir_op_name(ir_get(f, b)->op));
            else
                fprintf(out, "  result %d: copied from %%%d\n", k, id);
        }
        print_total(out, off, ws_total, ws_static);
        int copies = 0;
        for (size_t k = 0; k < f->nodes.len; k++)
            copies += ((const IrNode *)f->nodes.items[k])->op == IR_COPY && !((const IrNode *)f->nodes.items[k])->dead;
        fprintf(out, "  copies: %d\n", copies);
    }
}
