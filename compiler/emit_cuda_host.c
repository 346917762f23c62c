/* emit_cuda_host.c - the host side of the CUDA backend: for each function,
 * C that runs it on the GPU (tdg_fn<k>_cuda), launching the kernels of
 * emit_cuda.c in program order on the runtime's stream.
 *
 * The function has the C backend's shape: the same plan (tdg_plan_fn<k>),
 * the same buffers at the same workspace offsets, only in the model's
 * device regions (m->dregion) and with inputs and outputs in device memory.
 * Each operation becomes one launch (a scatter one per input, after zeroing
 * its result), whose grid the generated code computes from the dims: a
 * grid-stride kernel gets td_cuda_blocks(work, 256) blocks of 256 threads,
 * a reduction one block per kept element (capped, grid-striding) of up to
 * 256 threads. Contractions are td_cuda_gemm_run with the C backend's
 * td_gemm descriptor; random numbers are drawn by a kernel from the same
 * Philox stream as on the CPU, so the two devices agree (in a train step
 * the stream's position is read from the device, TD_SCRATCH_RNG, so that
 * the step's graph replays with each step's). A gather reports a bad
 * index through an error word in the model's scratch, read once at the
 * end of the function. Every launch names its kernel and its .td line for
 * the runtime's error message. The kernel source itself is a string in
 * the generated C (emit_cuda_tables), which the runtime compiles with
 * NVRTC when a model is made on the GPU. A map that only casts an f32
 * param (or a contiguous block of one) to bf16 or f16 launches nothing:
 * its buffer is the param's narrow copy, which the runtime keeps
 * (emit_cuda_copy_param; td_model_desc.cuda_read_dtypes). */
#include <string.h>

#include "emit_cuda_internal.h"

/* Kernel `name`'s index in the source's table, or -1. */
static int kernel_find(const PtrVec *names, const char *name)
{
    for (size_t i = 0; i < names->len; i++)
        if (strcmp(names->items[i], name) == 0)
            return (int)i;
    return -1;
}

static int kernel_index(const PtrVec *names, const char *name)
{
    int k = kernel_find(names, name);
    if (k < 0)
        die("emit_cuda_host: no kernel %s", name);
    return k;
}

/* ---- the params' narrow copies ---- */

/* Node n of e->f, e->plan as a cast of an f32 param (or a contiguous
 * block of one) to bf16 or f16, in a buffer of its own: the param, or -1;
 * the cast's dtype and the block's first element. */
/* Whether node n of e->f reads input k as a contiguous block of its base,
 * in order, of these dims; the base into *base, the block's first element
 * into *offset. */
static bool reads_block(const Emit *e, const IrNode *n, int k, int rank, const Size *dims, int *base, Poly *offset)
{
    View v = emit_c_input_view(e, n, k, base);
    *offset = v.offset;
    v.offset = poly_zero();
    if (v.rank != rank || !view_is_contiguous(e->a, &v, e->p->names))
        return false;
    for (int q = 0; q < rank; q++)
        if (!size_eq(v.dims[q], dims[q]))
            return false;
    return true;
}

static int copy_candidate(const Emit *e, const IrNode *n, Dtype *dtype, Poly *offset)
{
    const MapExpr *x = n->expr;
    if (n->op != IR_MAP || n->dead || n->ninputs != 1 || !x || x->kind != MX_CAST ||
        (x->dtype != DT_BF16 && x->dtype != DT_F16) || x->args[0]->kind != MX_INPUT || x->args[0]->dtype != DT_F32 ||
        e->plan->slot_of[n->id] < 0 || e->plan->output_of[n->id] >= 0 || e->plan->placed_in[n->id] >= 0)
        return -1;
    int base;
    if (!reads_block(e, n, 0, n->type.rank, n->type.dims, &base, offset))
        return -1;
    const IrNode *b = ir_get(e->f, base);
    if (b->op != IR_PARAM || b->type.dtype != DT_F32)
        return -1;
    *dtype = x->dtype;
    return b->index;
}

Dtype *emit_cuda_read_dtypes(const Emit *outer, FnPlan **plans)
{
    const IrProgram *p = outer->p;
    Dtype *read = arena_array(outer->a, p->params.len + 1, sizeof *read);
    for (size_t i = 0; i < p->params.len; i++)
        read[i] = ((const IrParam *)p->params.items[i])->type.dtype;
    Emit e = *outer;
    for (size_t i = 0; i < p->functions.len + p->trains.len; i++) {
        e.f = i < p->functions.len ? p->functions.items[i] : p->trains.items[i - p->functions.len];
        e.plan = plans[i];
        for (size_t j = 0; j < e.f->nodes.len; j++) {
            Dtype t;
            Poly offset;
            int param = copy_candidate(&e, e.f->nodes.items[j], &t, &offset);
            if (param >= 0 && read[param] == DT_F32)
                read[param] = t;
        }
    }
    return read;
}

int emit_cuda_copy_param(const Emit *e, const IrNode *n, Poly *offset)
{
    Dtype t;
    int param = e->read_dtypes ? copy_candidate(e, n, &t, offset) : -1;
    return param >= 0 && e->read_dtypes[param] == t ? param : -1;
}

/* ---- a widening cast feeding a matrix-vector product ---- */

/* Whether node n of e->f reads input k whole and in order (a block of
 * these dims from offset 0); the base into *base. */
static bool reads_whole(const Emit *e, const IrNode *n, int k, int rank, const Size *dims, int *base)
{
    Poly offset;
    return reads_block(e, n, k, rank, dims, base, &offset) && poly_is_zero(offset);
}

/* The node after n in e->f with a buffer of its own that launches
 * something (copy reads launch nothing), or NULL. */
static const IrNode *next_launch(const Emit *e, const IrNode *n)
{
    for (size_t i = (size_t)n->id + 1; i < e->f->nodes.len; i++) { /* nodes are by id */
        const IrNode *x = e->f->nodes.items[i];
        Poly offset;
        if (plan_has_buffer(x) && emit_cuda_copy_param(e, x, &offset) < 0)
            return x;
    }
    return NULL;
}

const IrNode *emit_cuda_head_cast(const Emit *e, const IrNode *n)
{
    /* the shape and the map's cast: plan_reads_narrow's, which also keeps
     * the narrow rows alive until n, where the kernel reads them */
    const FnPlan *plan = e->plan;
    if (!plan_reads_narrow(e->f, n) || !plan_has_buffer(n) || plan->placed_in[n->id] >= 0)
        return NULL;
    int mb, hb, bb;
    emit_c_input_view(e, n, 0, &mb);
    const IrNode *m = ir_get(e->f, mb); /* the widening map plan_reads_narrow found */
    if (m->op != IR_MAP || m->expr->kind != MX_CAST || !reads_whole(e, n, 0, m->type.rank, m->type.dims, &mb) ||
        !plan_has_buffer(m) ||
        plan->placed_in[m->id] >= 0 || !reads_whole(e, m, 0, m->type.rank, m->type.dims, &hb) ||
        ir_get(e->f, hb)->type.dtype != m->expr->args[0]->dtype || next_launch(e, m) != n)
        return NULL;
    View b = emit_c_input_view(e, n, 1, &bb);
    Poly unit = poly_of(e->a, size_const(1));
    if (b.rank != 2 || !poly_eq(b.strides[0], unit) || ir_get(e->f, bb)->type.dtype != DT_F32)
        return NULL;
    return m;
}

const IrNode *emit_cuda_head_of(const Emit *e, const IrNode *m)
{
    if (m->op != IR_MAP)
        return NULL;
    const IrNode *n = next_launch(e, m);
    return n && emit_cuda_head_cast(e, n) == m ? n : NULL;
}

const IrNode *emit_cuda_epilogue_of(const Emit *e, const IrNode *m)
{
    for (int k = 0; m->op == IR_MAP && k < m->ninputs; k++) /* the product is one of its inputs */
        if (e->plan->placed_in[m->inputs[k]] == m->id)
            return ir_get(e->f, m->inputs[k]);
    return NULL;
}

/* "1 * (int64_t)dim_a * (int64_t)4" */
static const char *product(const Emit *e, int rank, const Size *dims)
{
    const char *r = "(int64_t)1";
    for (int k = 0; k < rank; k++)
        r = arena_printf(e->a, "%s * (int64_t)%s", r, emit_c_size(e, dims[k]));
    return r;
}

static const char *place(const Emit *e, const IrNode *n)
{
    return arena_printf(e->a, "%s (%%%d %s%s)", emit_c_where(e, n->loc, false), n->id, n->backward ? "backward " : "",
                        ir_op_name(n->op));
}

/* One launch of kernel `name` over its buffers (then `last`, the address
 * of one more argument, if any), `shared` bytes of shared memory a block;
 * with `cached`, of that kernel instead when use_cache. */
static void launch(const Emit *e, const PtrVec *names, const char *name, const IrNode *n, const int *buffers, int nbuf,
                   const char *last, const char *blocks, const char *threads, const char *shared, const char *cached)
{
    const char *kernel = cached ? arena_printf(e->a, "use_cache ? %d : %d", kernel_index(names, cached), kernel_index(names, name))
                                : arena_printf(e->a, "%d", kernel_index(names, name));
    fputs("        {\n            void *args[] = {&D", e->out);
    for (int j = 0; j < nbuf; j++)
        fprintf(e->out, ", &b%d", buffers[j]);
    if (last)
        fprintf(e->out, ", %s", last);
    if (shared)
        fprintf(e->out, "};\n            if (td_cuda_launch_shared(ctx, m->kernels, %s, %s, %s, %s, args, \"%s\") != TD_OK)\n",
                kernel, blocks, threads, shared, place(e, n));
    else
        fprintf(e->out, "};\n            if (td_cuda_launch(ctx, m->kernels, %s, %s, %s, args, \"%s\") != TD_OK)\n", kernel,
                blocks, threads, place(e, n));
    fputs("                return TD_ERR_DEVICE;\n        }\n", e->out);
}

static void launch_node(const Emit *e, const PtrVec *names, const IrNode *n, int *ngathers)
{
    int nbuf, *buf = emit_cuda_kernel_buffers(e, n, &nbuf);
    const char *name = emit_cuda_kernel_name(e, e->fn_index, n->id, -1);
    switch (n->op) {
    case IR_MAP: case IR_COPY:
        fprintf(e->out, "        const int64_t work = %s;\n", product(e, n->type.rank, n->type.dims));
        launch(e, names, name, n, buf, nbuf, NULL, "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
        break;
    case IR_REDUCE: {
        ReduceLoops loops = emit_c_reduce_loops(e, n);
        fprintf(e->out, "        const int64_t kept = %s, reduced = %s;\n", product(e, loops.nkept, loops.kept),
                product(e, loops.nred, loops.red));
        launch(e, names, name, n, buf, nbuf, NULL, "td_cuda_blocks(ctx, kept, 1)", "tdg_reduce_threads(reduced)", NULL, NULL);
        break;
    }
    case IR_SCATTER:
        if (ir_scatter_tiles(e->a, n, e->p->names)) /* each element is one input's: no zeros first */
            fputs("        /* the inputs tile the result: each stored at its places */\n", e->out);
        else
            fprintf(e->out, "        if (td_cuda_zero(ctx, (td_dptr)(uintptr_t)b%d, %s) != TD_OK)\n            return TD_ERR_DEVICE;\n",
                    n->id, emit_c_bytes(e, n));
        for (int k = 0; k < n->ninputs; k++) {
            if (e->plan->placed_in[n->inputs[k]] == n->id) {
                fprintf(e->out, "        /* input %d, %%%d, was computed in its place */\n", k, n->inputs[k]);
                continue;
            }
            IrNode one = *n;
            one.ninputs = 1;
            one.inputs = &n->inputs[k];
            one.has_input_view = n->has_input_view ? &n->has_input_view[k] : NULL;
            one.input_views = n->input_views ? &n->input_views[k] : NULL;
            const View *to = n->scatter_views ? &n->scatter_views[k] : &n->view;
            int nb, *b = emit_cuda_kernel_buffers(e, &one, &nb);
            fprintf(e->out, "        {\n            const int64_t work = %s;\n", product(e, to->rank, to->dims));
            launch(e, names, emit_cuda_kernel_name(e, e->fn_index, n->id, k), n, b, nb, NULL,
                   "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
            fputs("        }\n", e->out);
        }
        break;
    case IR_GATHER:
        fprintf(e->out, "        int64_t *error = errors + 2 * %d;\n", *ngathers < TD_SCRATCH_NERRORS_C ? *ngathers : TD_SCRATCH_NERRORS_C - 1);
        (*ngathers)++;
        fprintf(e->out, "        const int64_t work = %s;\n", product(e, n->type.rank, n->type.dims));
        launch(e, names, name, n, buf, nbuf, "&error", "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
        break;
    case IR_GATHER_GRAD: {
        fprintf(e->out, "        if (td_cuda_zero(ctx, (td_dptr)(uintptr_t)b%d, %s) != TD_OK)\n            return TD_ERR_DEVICE;\n",
                n->id, emit_c_bytes(e, n));
        fprintf(e->out, "        const int64_t work = %s; /* the table's columns */\n", product(e, n->type.rank - 1, n->type.dims + 1));
        launch(e, names, name, n, buf, nbuf, NULL, "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
        break;
    }
    case IR_CONTRACT: {
        const IrNode *cast = emit_cuda_head_cast(e, n);
        if (cast) { /* with the cast before it, a warp a row (emit_cuda.c kernel_head_product) */
            int hb, bb;
            emit_c_input_view(e, cast, 0, &hb);
            emit_c_input_view(e, n, 1, &bb);
            int bufs[4] = {n->id, cast->id, hb, bb};
            fprintf(e->out, "        const int64_t work = %s * 32; /* a warp a row */\n",
                    product(e, cast->type.rank - 1, cast->type.dims));
            launch(e, names, name, n, bufs, 4, NULL, "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
            break;
        }
        const char *pa, *pb;
        emit_c_gemm_desc(e, n, &pa, &pb);
        PlanEpilogue ep;
        /* and its map, in one call */
        if (plan_epilogue_map(e->plan, e->f, n->id) >= 0 && plan_epilogue(e->p, e->f, n, &ep)) {
            const char *bias = "0";
            if (ep.bias >= 0) {
                int base;
                emit_c_input_view(e, ep.map, ep.bias, &base);
                bias = arena_printf(e->a, "(td_dptr)(uintptr_t)b%d", base);
            }
            fprintf(e->out, "        /* and %%%d, %s: the product's epilogue */\n", ep.map->id,
                    ep.relu && ep.bias >= 0 ? "relu(product + bias)" : ep.bias >= 0 ? "product + bias" : "relu(product)");
            fprintf(e->out, "        if (td_cuda_gemm_epilogue_run(ctx, &g, (td_dptr)(uintptr_t)(%s), (td_dptr)(uintptr_t)(%s), "
                            "(td_dptr)(uintptr_t)b%d, %s, %s) != TD_OK)\n            return TD_ERR_DEVICE;\n",
                    pa, pb, n->id, bias,
                    ep.bias >= 0 && ep.relu ? "TD_EPILOGUE_BIAS | TD_EPILOGUE_RELU" : ep.bias >= 0 ? "TD_EPILOGUE_BIAS" : "TD_EPILOGUE_RELU");
            break;
        }
        fprintf(e->out, "        if (td_cuda_gemm_run(ctx, &g, (td_dptr)(uintptr_t)(%s), (td_dptr)(uintptr_t)(%s), (td_dptr)(uintptr_t)b%d) != TD_OK)\n"
                        "            return TD_ERR_DEVICE;\n", pa, pb, n->id);
        break;
    }
    case IR_RANDOM: { /* on the GPU from the model's stream, as the CPU draws them (kernel_random) */
        const int per = n->type.dtype == DT_F64 ? 2 : 1;
        fprintf(e->out, "        const uint64_t count = (uint64_t)(%s);\n        uint64_t words, end;\n", product(e, n->type.rank, n->type.dims));
        fprintf(e->out, "        if (__builtin_mul_overflow(count, (uint64_t)%d, &words) || __builtin_add_overflow(m->rng.offset, words, &end))\n"
                        "            return td_fail(ctx, TD_ERR_INPUT, \"%%s: %%llu random numbers would carry the random stream's offset past 2^64\",\n"
                        "                           \"%s\", (unsigned long long)count);\n", per, place(e, n));
        if (e->f->is_train) /* the stream's position from the step's copy on the device: a graph replays with each step's */
            fputs("        td_dptr rng = m->dscratch + TD_SCRATCH_RNG;\n"
                  "        unsigned long long seed = 0, first = m->rng.offset - rng_start;\n", e->out);
        else
            fputs("        td_dptr rng = 0;\n        unsigned long long seed = m->rng.seed, first = m->rng.offset;\n", e->out);
        fputs("        const int64_t work = (int64_t)count;\n", e->out);
        launch(e, names, name, n, buf, nbuf, "&rng, &seed, &first", "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
        fputs("        m->rng.offset = end;\n", e->out);
        break;
    }
    default: die("emit_cuda_host: op %s", ir_op_name(n->op));
    }
}

static void declare_buffers(const Emit *e, const IrFunction *f, const FnPlan *plan)
{
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        int param;
        Poly offset;
        if (n->dead || plan->placed_in[n->id] >= 0) /* placed: emit_c_declare_placed */
            continue;
        const char *t = emit_c_ctype(n->type.dtype);
        if (n->op == IR_INPUT)
            fprintf(e->out, "    const %s *b%d = (const %s *)(uintptr_t)in[%d]; /* %s */\n", t, n->id, t, n->index,
                    f->input_names[n->index]);
        else if (n->op == IR_PARAM)
            fprintf(e->out, "    const %s *b%d = (const %s *)(uintptr_t)(m->dregion[TD_REGION_PARAMS] + m->param_offsets[%d]); /* %s */\n",
                    t, n->id, t, n->index, ((const IrParam *)e->p->params.items[n->index])->name);
        else if ((param = emit_cuda_copy_param(e, n, &offset)) >= 0)
            fprintf(e->out, "    %s *b%d = (%s *)(uintptr_t)(m->dcopies + m->copy_offsets[%d]) + %s; /* %s's %s copy, kept by the runtime */\n",
                    t, n->id, t, param, emit_c_poly(e, offset), ((const IrParam *)e->p->params.items[param])->name,
                    dtype_name(n->type.dtype));
        else if (plan_has_buffer(n) && plan->output_of[n->id] >= 0)
            fprintf(e->out, "    %s *b%d = (%s *)(uintptr_t)out[%d]; /* result %d, in place */\n", t, n->id, t,
                    plan->output_of[n->id], plan->output_of[n->id]);
        else if (plan_has_buffer(n))
            fprintf(e->out, "    %s *b%d = (%s *)(ws + offsets[%d]);\n", t, n->id, t, plan->slot_of[n->id]);
        else
            continue;
        fprintf(e->out, "    (void)b%d;\n", n->id);
    }
    emit_c_declare_placed(e, f, plan);
}

/* Whether offset, in elements of `bytes` each, is a multiple of `align` bytes: zero, or a sum of constants. */
static bool offset_aligned(Poly offset, int bytes, int align)
{
    int64_t sum = 0, term;
    for (int i = 0; i < offset.n; i++) {
        if (!size_is_const(offset.terms[i], &term) || __builtin_add_overflow(sum, term % align, &sum))
            return false;
    }
    return sum * bytes % align == 0;
}

bool emit_cuda_view_aligned(const Emit *e, int id, Poly offset, int align)
{
    return offset_aligned(offset, emit_cuda_element_bytes(ir_get(e->f, id)->type.dtype), align) && emit_cuda_aligned(e, id, align);
}

bool emit_cuda_aligned(const Emit *e, int id, int align)
{
    const IrFunction *f = e->f;
    const FnPlan *plan = e->plan;
    if ((size_t)id >= f->nodes.len) /* a result's copy (kernel_output_copy): into the result */
        return f->is_train && align <= PLAN_ALIGN;
    const IrNode *n = ir_get(f, id);
    int at = plan->placed_in[id];
    Poly offset;
    if (at >= 0) { /* emit_c_declare_placed: in its scatter's block, or its epilogue's buffer */
        if (plan_epilogue_map(plan, f, id) >= 0)
            return emit_cuda_aligned(e, at, align);
        const IrNode *sc = ir_get(f, at);
        int k = 0;
        while (sc->inputs[k] != id)
            k++;
        const View *to = sc->scatter_views ? &sc->scatter_views[k] : &sc->view;
        return emit_cuda_view_aligned(e, at, to->offset, align);
    }
    if (n->op == IR_INPUT) /* the caller's (td_train_step_device takes any device pointer) */
        return false;
    if (n->op == IR_PARAM) /* the params' region: cuMemAlloc'd, each param at a multiple of 64 bytes (tdg_plan) */
        return align <= PLAN_ALIGN;
    if (emit_cuda_copy_param(e, n, &offset) >= 0) /* the copies: each at a multiple of 64 bytes */
        return align <= PLAN_ALIGN && offset_aligned(offset, emit_cuda_element_bytes(n->type.dtype), align);
    if (plan->output_of[id] >= 0) /* a train block's results are the step's scratch and the grads; a call's, the caller's */
        return f->is_train && align <= PLAN_ALIGN; /* (emit_cuda_train_wrapper) */
    return plan_has_buffer(n) && align <= PLAN_ALIGN; /* the workspace: each slot at a multiple of 64 bytes */
}

static int count_gathers(const IrFunction *f)
{
    int n = 0;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *x = f->nodes.items[i];
        n += plan_has_buffer(x) && x->op == IR_GATHER;
    }
    return n;
}

/* tdg_fn<k>_cuda_errors: a bad index found by a gather, as the CPU's message. */
static void emit_errors(const Emit *e, int index, const IrFunction *f, int ngathers)
{
    if (ngathers == 0)
        return;
    int nwords = ngathers < TD_SCRATCH_NERRORS_C ? ngathers : TD_SCRATCH_NERRORS_C;
    fprintf(e->out, "/* %s on the GPU: the gathers' error words, read back */\n"
                    "static td_status tdg_fn%d_cuda_errors(td_model *m, const int64_t *found)\n{\n", f->name, index);
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "    const int64_t dim_%s = m->dims[%zu];\n    (void)dim_%s;\n", (const char *)e->p->dim_names.items[i], i,
                (const char *)e->p->dim_names.items[i]);
    int g = 0;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n) || n->op != IR_GATHER)
            continue;
        int bt;
        View vt = emit_c_input_view(e, n, 0, &bt);
        int word = g < nwords ? g : nwords - 1;
        fprintf(e->out, "    if (found[%d])\n        return td_fail(m->ctx, TD_ERR_INPUT, \"%s: index %%lld is out of range for an axis of size %%lld\", (long long)found[%d], (long long)(%s));\n",
                2 * word, emit_c_where(e, n->loc, true), 2 * word + 1, emit_c_size(e, vt.dims[0]));
        g++;
    }
    fputs("    return TD_OK;\n}\n\n", e->out);
}

bool emit_cuda_has_gathers(const IrFunction *f) { return count_gathers(f) > 0; }

/* The contractions from node i on with nothing launched between them. */
static int products_in_a_row(const Emit *e, const IrFunction *f, size_t i)
{
    int run = 0;
    for (; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        Poly offset;
        if (!plan_has_buffer(n) || emit_cuda_copy_param(e, n, &offset) >= 0)
            continue;
        /* an epilogue's product: a call of its own */
        if (n->op != IR_CONTRACT || emit_cuda_head_cast(e, n) || plan_epilogue_map(e->plan, f, n->id) >= 0)
            break;
        run++;
    }
    return run;
}

void emit_cuda_function(Emit *e, int index, const IrFunction *f, const FnPlan *plan, const PtrVec *names)
{
    e->f = f;
    e->plan = plan;
    e->fn_index = index;
    fprintf(e->out, "/* %s, on the GPU */\nstatic td_status tdg_fn%d_cuda(td_model *m, const td_dptr *in, const td_dptr *out)\n{\n", f->name, index);
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "    const int64_t dim_%s = m->dims[%zu];\n    (void)dim_%s;\n", (const char *)e->p->dim_names.items[i], i,
                (const char *)e->p->dim_names.items[i]);
    fprintf(e->out, "    size_t offsets[%d], total;\n", plan->nslots ? plan->nslots : 1);
    fprintf(e->out, "    if (tdg_plan_fn%d(m->ctx, m->dims, offsets, &total) != TD_OK)\n        return TD_ERR_OOM;\n", index);
    fputs("    td_ctx *ctx = m->ctx;\n    unsigned char *ws = (unsigned char *)(uintptr_t)m->dregion[TD_REGION_WORKSPACE];\n", e->out);
    fputs("    tdg_dim_values D = {{", e->out);
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "%sdim_%s", i ? ", " : "", (const char *)e->p->dim_names.items[i]);
    fprintf(e->out, "%s}};\n    (void)ws;\n    (void)in;\n    (void)out;\n    (void)D;\n", e->p->dim_names.len ? "" : "0");
    int ngathers = count_gathers(f);
    if (ngathers)
        fputs("    int64_t *errors = (int64_t *)(uintptr_t)(m->dscratch + TD_SCRATCH_ERRORS);\n"
              "    if (td_cuda_zero(ctx, (td_dptr)(uintptr_t)errors, TD_SCRATCH_NERRORS * 2 * sizeof(int64_t)) != TD_OK)\n"
              "        return TD_ERR_DEVICE;\n", e->out);
    declare_buffers(e, f, plan);
    if (f->is_train && emit_cuda_draws_random(f)) /* where the step's draws begin in the stream */
        fputs("    const uint64_t rng_start = m->rng.offset;\n", e->out);
    int op = 0, g = 0, grouped = 0, products_left = 0;
    const IrNode **members = arena_array(e->a, f->nodes.len + 1, sizeof(IrNode *));
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n))
            continue;
        Emit here = *e;
        here.op = op;
        if (n->op == IR_CONTRACT && products_left == 0) {
            int run = products_in_a_row(e, f, i);
            if (run >= 2) {
                fprintf(e->out, "    /* %d contractions in a row: the small ones share launches where independent */\n"
                                "    if (!m->profile && td_cuda_gemm_group_begin(ctx) != TD_OK)\n"
                                "        return TD_ERR_DEVICE;\n", run);
                products_left = run;
            }
        }
        if (grouped > 0) { /* ran in its row group's kernel: timed there */
            fprintf(e->out, "    /* %%%d %s: %s: in the row group above */\n", n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc));
            grouped--;
            op++;
            continue;
        }
        Poly offset;
        int param = emit_cuda_copy_param(e, n, &offset);
        const IrNode *head = emit_cuda_head_of(e, n), *product_of = emit_cuda_epilogue_of(e, n);
        if (product_of) { /* run by the product's call */
            fprintf(e->out, "    /* %%%d %s: %s: the epilogue of %%%d's product, in its call */\n", n->id, ir_op_name(n->op),
                    emit_c_loc_text(e, n->loc), product_of->id);
            op++;
            continue;
        }
        if (head) { /* computed by the product's kernel, next */
            fprintf(e->out, "    /* %%%d %s: %s: written by %%%d's kernel, which reads each row once for both */\n", n->id,
                    ir_op_name(n->op), emit_c_loc_text(e, n->loc), head->id);
            op++;
            continue;
        }
        if (param >= 0) { /* nothing runs: b<id> is the copy */
            fprintf(e->out, "    /* %%%d %s: %s: read from %s's %s copy (kept by the runtime: written by each update and by td_model_sync_device) */\n",
                    n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc), ((const IrParam *)e->p->params.items[param])->name,
                    dtype_name(n->type.dtype));
            op++;
            continue;
        }
        fprintf(e->out, "    /* %%%d %s: %s */\n    {\n", n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc));
        fprintf(e->out, "        if (m->profile && td_cuda_profile_mark(m, %d, false) != TD_OK)\n            return TD_ERR_DEVICE;\n", op);
        int count = emit_cuda_row_group(e, f, i, members);
        if (count > 0) {
            ReduceLoops loops = emit_c_reduce_loops(e, n);
            int nbuf, *buf = emit_cuda_group_buffers(e, members, count, &nbuf);
            fprintf(e->out, "        const int64_t kept = %s, reduced = %s; /* a row group of %d operations */\n",
                    product(e, loops.nkept, loops.kept), product(e, loops.nred, loops.red), count);
            /* the kernel with the row cache when there is one and it fits, else the plain one */
            const char *name = emit_cuda_kernel_name(e, index, n->id, -1), *cached = arena_printf(e->a, "%s_cached", name);
            bool has_cache = kernel_find(names, cached) >= 0, has_plain = kernel_find(names, name) >= 0;
            if (!has_plain) { /* the row's length is a number and its cache fits: the one kernel (emit_cuda_row_kernels) */
                fprintf(e->out, "        const size_t cache = %s; /* the row cache, which fits */\n",
                        emit_cuda_row_cache_bytes(e, members, count, "reduced"));
                launch(&here, names, cached, n, buf, nbuf, NULL, "td_cuda_blocks(ctx, kept, 1)", "tdg_group_threads(reduced, 1)",
                       "cache", NULL);
            } else {
                /* the cache and the kernel's static shared memory (its combines) within the limit */
                fprintf(e->out, "        const size_t cache = %s;\n"
                                "        const int use_cache = cache > 0 && cache <= TD_CUDA_SHARED_MAX - %d;\n",
                        has_cache ? emit_cuda_row_cache_bytes(e, members, count, "reduced") : "0",
                        emit_cuda_group_static_bytes(e, members, count));
                launch(&here, names, name, n, buf, nbuf, NULL, "td_cuda_blocks(ctx, kept, 1)",
                       "tdg_group_threads(reduced, use_cache)", "use_cache ? cache : 0", has_cache ? cached : NULL);
            }
            grouped = count - 1;
        } else {
            launch_node(&here, names, n, &g);
        }
        fprintf(e->out, "        if (m->profile && td_cuda_profile_mark(m, %d, true) != TD_OK)\n            return TD_ERR_DEVICE;\n    }\n", op);
        if (products_left > 0 && --products_left == 0)
            fputs("    if (td_cuda_gemm_group_end(ctx) != TD_OK)\n        return TD_ERR_DEVICE;\n", e->out);
        op++;
    }
    for (int i = 0; i < f->noutputs; i++) {
        if (!plan->copy_output[i])
            continue;
        const IrNode *src = ir_get(f, f->outputs[i]);
        IrNode copy = {.op = IR_COPY, .id = (int)f->nodes.len + i, .type = src->type, .loc = src->loc, .ninputs = 1,
                       .inputs = &f->outputs[i]};
        int nbuf, *buf = emit_cuda_kernel_buffers(e, &copy, &nbuf);
        fprintf(e->out, "    /* result %d */\n    {\n        %s *b%d = (%s *)(uintptr_t)out[%d];\n", i, emit_c_ctype(src->type.dtype),
                copy.id, emit_c_ctype(src->type.dtype), i);
        fprintf(e->out, "        const int64_t work = %s;\n", product(e, src->type.rank, src->type.dims));
        launch(e, names, emit_cuda_kernel_name(e, index, copy.id, -1), &copy, buf, nbuf, NULL,
               "td_cuda_blocks(ctx, work, 256)", "256", NULL, NULL);
        fputs("    }\n", e->out);
    }
    fputs("    if (m->profile && td_cuda_profile_flush(m) != TD_OK) /* the operations' GPU times, into the profile */\n"
          "        return TD_ERR_DEVICE;\n    return TD_OK;\n}\n\n", e->out);
    emit_errors(e, index, f, ngathers);
}

/* The source as a C string, a line a literal. */
void emit_cuda_tables(const Emit *e, const char *source, const PtrVec *symbols)
{
    fputs("/* The GPU's half of the file is launch code, straight lines of calls:\n"
          " * GCC compiles it without optimisation, in a quarter of the time. */\n"
          "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC optimize(\"O0\")\n#endif\n\n"
          "/* The kernels, compiled by NVRTC when the model is made on the GPU (tdc --emit=cuda prints them). */\n"
          "static const char tdg_cuda_source[] =\n", e->out);
    const char *p = source;
    while (*p) {
        fputs("    \"", e->out);
        for (; *p && *p != '\n'; p++) {
            if (*p == '"' || *p == '\\')
                fprintf(e->out, "\\%c", *p);
            else if (*p == '?' && p[1] == '?')
                fputs("?\\?", e->out), p++; /* no trigraphs */
            else if ((unsigned char)*p < 0x20)
                fprintf(e->out, "\\%03o", (unsigned char)*p);
            else
                fputc(*p, e->out);
        }
        if (*p == '\n')
            p++;
        fputs("\\n\"\n", e->out);
    }
    fputs("    \"\";\n", e->out);
    fputs("static const char *const tdg_cuda_kernels[] = {\n", e->out);
    for (size_t i = 0; i < symbols->len; i++)
        fprintf(e->out, "    \"%s\",\n", (const char *)symbols->items[i]);
    if (symbols->len == 0)
        fputs("    \"\",\n", e->out);
    fputs("};\n\n", e->out);
}

void emit_cuda_host_prelude(const Emit *e)
{
    fprintf(e->out, "/* ---- on the GPU ---- */\n\n/* The dims, as every kernel takes them (by value). */\n"
                    "typedef struct tdg_dims {\n    int64_t d[%zu];\n} tdg_dim_values;\n", e->p->dim_names.len ? e->p->dim_names.len : 1);
    fputs("/* A reduction's block: a warp at least, 256 threads at most. */\n"
          "static inline unsigned tdg_reduce_threads(int64_t reduced)\n{\n"
          "    return reduced >= 256 ? 256u : reduced <= 32 ? 32u : (unsigned)((reduced + 31) / 32 * 32);\n}\n"
          "/* A row group's block: with the row cache (use_cache), about 16\n"
          " * elements a thread, so that a few rows share an SM and each phase has\n"
          " * work between its barriers; without, up to 1024 threads, so that fewer\n"
          " * rows share an SM and a row's re-reads hit its L1 cache. */\n"
          "static inline unsigned tdg_group_threads(int64_t reduced, int use_cache)\n{\n", e->out);
    fprintf(e->out, "    const int64_t per_thread = use_cache ? %d : 1;\n"
                    "    const int64_t want = (reduced + per_thread - 1) / per_thread;\n"
                    "    return want >= %d ? %du : want <= 32 ? 32u : (unsigned)((want + 31) / 32 * 32);\n}\n\n",
            GROUP_CACHE_ELEMENTS, GROUP_THREADS_MAX, GROUP_THREADS_MAX);
}

int64_t emit_cuda_group_threads(int64_t reduced, bool use_cache)
{
    const int64_t per_thread = use_cache ? GROUP_CACHE_ELEMENTS : 1;
    const int64_t want = reduced / per_thread + (reduced % per_thread != 0);
    return want >= GROUP_THREADS_MAX ? GROUP_THREADS_MAX : want <= 32 ? 32 : (want + 31) / 32 * 32;
}

void emit_cuda_train_wrapper(const Emit *e, size_t t, size_t k, const IrFunction *f, bool grad)
{
    fprintf(e->out, "static td_status tdg_train%zu_%s_cuda(td_model *m, const td_dptr *in)\n{\n", t, grad ? "grad" : "loss");
    fputs("    const td_dptr out[] = {m->dscratch", e->out);
    for (int i = 0; i < f->ngrads; i++)
        fprintf(e->out, ", m->dregion[TD_REGION_GRADS] + m->param_offsets[%d]", f->grad_params[i]);
    fprintf(e->out, "};\n    return tdg_fn%zu_cuda(m, in, out);\n}\n\n", k);
}

bool emit_cuda_draws_random(const IrFunction *f)
{
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (plan_has_buffer(n) && n->op == IR_RANDOM)
            return true;
    }
    return false;
}
