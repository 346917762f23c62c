/* emit_c_model.c - the rest of the C file: each function's cost table,
 * the model's description for the runtime (dims, params, functions, train
 * blocks, the plan and the initialisers as code), the entry point
 * emit_c(), and for --lib the header and the C API's functions. */
#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "emit_c_internal.h"

static const char *c_string(const Emit *e, const char *s)
{
    char *out = arena_alloc(e->a, strlen(s) * 4 + 3), *q = out;
    *q++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\' || *s == '?' || (unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            q += sprintf(q, "\\%03o", (unsigned char)*s);
        else
            *q++ = *s;
    }
    *q++ = '"';
    *q = 0;
    return out;
}

/* ---- accounting: each function's operations and their costs ---- */

/* A formula as a C double expression of the dims. */
static const char *poly_double_c(const Emit *e, Poly x)
{
    if (x.n == 0)
        return "0.0";
    const char *r = NULL;
    for (int i = 0; i < x.n; i++) {
        Size t = x.terms[i];
        const char *term = arena_printf(e->a, "%.17g", (double)t.num / (double)t.den);
        for (int k = 0; k < t.nfactors; k++)
            for (int j = 0; j < (t.factors[k].exp < 0 ? -t.factors[k].exp : t.factors[k].exp); j++)
                term = arena_printf(e->a, "%s %s (double)%s", term, t.factors[k].exp > 0 ? "*" : "/", emit_c_dim_var(e, t.factors[k].dim));
        r = r ? arena_printf(e->a, "%s + %s", r, term) : term;
    }
    return r;
}

static void emit_costs(const Emit *e, size_t k, const IrFunction *f)
{
    int nops = 0;
    fprintf(e->out, "static const td_op_desc tdg_fn%zu_ops[] = {\n", k);
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n))
            continue;
        uint32_t line = 0, col;
        if (n->loc.file)
            source_line_col(n->loc.file, n->loc.off, &line, &col);
        fprintf(e->out, "    {%d, %u, \"%s%s\"},\n", n->id, line, n->backward ? "backward " : "", ir_op_name(n->op));
        nops++;
    }
    static const char *const optim_names[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
    for (int g = 0; f->is_train && g < f->ngrads; g++) {
        uint32_t line = 0, col;
        if (f->loc.file)
            source_line_col(f->loc.file, f->loc.off, &line, &col);
        fprintf(e->out, "    {-1, %u, %s},\n", line,
                c_string(e, arena_printf(e->a, "%s %s", optim_names[f->train->optim],
                                         ((const IrParam *)e->p->params.items[f->grad_params[g]])->name)));
        nops++;
    }
    if (nops == 0)
        fputs("    {-1, 0, \"\"},\n", e->out); /* C has no empty arrays */
    fprintf(e->out, "};\nstatic void tdg_fn%zu_costs(const int64_t *dims, double *flops, double *bytes)\n{\n", k);
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "    const int64_t dim_%s = dims[%zu];\n    (void)dim_%s;\n", (const char *)e->p->dim_names.items[i], i,
                (const char *)e->p->dim_names.items[i]);
    fputs("    (void)flops;\n    (void)bytes;\n", e->out);
    int op = 0;
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n))
            continue;
        Cost c = cost_node(e->p, f, n);
        Poly moved;
        poly_add(e->a, c.read, c.written, e->p->names, &moved);
        fprintf(e->out, "    flops[%d] = %s;\n    bytes[%d] = %s;\n", op, poly_double_c(e, c.flops), op, poly_double_c(e, moved));
        op++;
    }
    for (int g = 0; f->is_train && g < f->ngrads; g++) {
        const IrParam *pr = e->p->params.items[f->grad_params[g]];
        IrNode fake = {.type = pr->type};
        Size bytes = plan_bytes(e->p, &fake), elements = size_const(1);
        for (int d = 0; d < pr->type.rank; d++)
            size_mul(elements, pr->type.dims[d], e->p->names, &elements);
        int slots = cost_optimizer_slots(f->train);
        fprintf(e->out, "    flops[%d] = %d.0 * (%s);\n    bytes[%d] = %d.0 * (%s);\n", op, cost_optimizer_flops_per_element(f->train),
                poly_double_c(e, poly_of(e->a, elements)), op, 3 + 2 * slots, poly_double_c(e, poly_of(e->a, bytes)));
        op++;
    }
    fprintf(e->out, "}\nstatic const td_cost_desc tdg_fn%zu_cost = {%d, tdg_fn%zu_ops, tdg_fn%zu_costs};\n\n", k, nops, k, k);
}

/* ---- the model's description ---- */

static void emit_shape(const Emit *e, const char *name, Type t)
{
    if (t.rank == 0)
        return;
    fprintf(e->out, "static const td_size_expr %s[] = {", name);
    for (int k = 0; k < t.rank; k++)
        fprintf(e->out, "%s%s", k ? ", " : "", emit_c_size_desc(e, t.dims[k]));
    fputs("};\n", e->out);
}


static void emit_tensor_descs(const Emit *e, const char *name, int n, const char *const *names, const Type *types,
                              const char *const *shapes)
{
    if (n == 0)
        return;
    for (int i = 0; i < n; i++)
        emit_shape(e, arena_printf(e->a, "%s_shape%d", name, i), types[i]);
    fprintf(e->out, "static const td_tensor_desc %s[] = {\n", name);
    for (int i = 0; i < n; i++)
        fprintf(e->out, "    {%s, %s, %d, %s, %s},\n", c_string(e, names[i]), emit_c_dtype_enum(types[i].dtype), types[i].rank,
                types[i].rank ? arena_printf(e->a, "%s_shape%d", name, i) : "NULL", c_string(e, shapes[i] ? shapes[i] : ""));
    fputs("};\n", e->out);
}

static void emit_checks(const Emit *e)
{
    for (size_t i = 0; i < e->p->checks.len; i++) {
        const IrCheck *ck = e->p->checks.items[i];
        fprintf(e->out, "    {\n        static const td_size_expr s = %s;\n", emit_c_size_desc(e, ck->size));
        if (ck->is_index)
            fprintf(e->out, "        if (!(td_size_eval(&s, dims) > INT64_C(%lld)))\n", (long long)ck->index);
        else
            fputs("        if (td_size_eval(&s, dims) < 0)\n", e->out);
        fprintf(e->out, "            return td_fail(ctx, TD_ERR_INPUT, \"the dims break a condition of the program: %%s\", %s);\n    }\n",
                c_string(e, ck->message));
    }
}

static void emit_init(const Emit *e)
{
    fputs("static td_status tdg_init_params(td_model *m)\n{\n", e->out);
    if (e->p->params.len == 0) {
        fputs("    (void)m;\n    return TD_OK;\n}\n\n", e->out);
        return;
    }
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "    const int64_t dim_%s = m->dims[%zu];\n    (void)dim_%s;\n", (const char *)e->p->dim_names.items[i], i,
                (const char *)e->p->dim_names.items[i]);
    for (size_t i = 0; i < e->p->params.len; i++) {
        const IrParam *pr = e->p->params.items[i];
        const IrInit *in = &pr->init;
        Type t = pr->type;
        fprintf(e->out, "    { /* %s */\n", pr->name);
        fprintf(e->out, "        const int64_t shape[] = {");
        for (int k = 0; k < t.rank; k++)
            fprintf(e->out, "%s%s", k ? ", " : "", emit_c_size(e, t.dims[k]));
        fprintf(e->out, "%s};\n", t.rank ? "" : "1");
        bool narrow = dtype_is_narrow(t.dtype);
        fprintf(e->out, "        void *data = td_model_param(m, %zu);\n", i);
        if (narrow) {
            fputs("        size_t count = 1;\n", e->out);
            fprintf(e->out, "        for (int k = 0; k < %d; k++)\n            count *= (size_t)shape[k];\n", t.rank);
            fputs("        float *wide = malloc(count * sizeof(float) + 1);\n", e->out);
            fputs("        if (!wide)\n            return td_fail(m->ctx, TD_ERR_OOM, \"out of memory initialising a param\");\n", e->out);
        }
        const char *dt = narrow ? "TD_F32" : emit_c_dtype_enum(t.dtype);
        const char *dst = narrow ? "wide" : "data";
        const char *call;
        const char *k = in->kind;
        if (!strcmp(k, "zeros") || !strcmp(k, "ones"))
            call = arena_printf(e->a, "td_init_%s(m->ctx, %s, %s, %d, shape)", k, dt, dst, t.rank);
        else if (!strcmp(k, "constant"))
            call = arena_printf(e->a, "td_init_constant(m->ctx, %s, %s, %d, shape, %.17g)", dt, dst, t.rank, in->value);
        else if (!strcmp(k, "normal"))
            call = arena_printf(e->a, "td_init_normal(m->ctx, &m->rng, %s, %s, %d, shape, %.17g, %.17g)", dt, dst, t.rank, in->mean, in->std);
        else if (!strcmp(k, "trunc_normal"))
            call = arena_printf(e->a, "td_init_trunc_normal(m->ctx, &m->rng, %s, %s, %d, shape, %.17g, %.17g, %.17g, %.17g)", dt, dst,
                                t.rank, in->mean, in->std, in->a, in->b);
        else if (!strcmp(k, "uniform"))
            call = arena_printf(e->a, "td_init_uniform(m->ctx, &m->rng, %s, %s, %d, shape, %.17g, %.17g)", dt, dst, t.rank, in->a, in->b);
        else if (!strncmp(k, "xavier", 6))
            call = arena_printf(e->a, "td_init_%s(m->ctx, &m->rng, %s, %s, %d, shape, %.17g)", k, dt, dst, t.rank, in->gain);
        else
            call = arena_printf(e->a, "td_init_%s(m->ctx, &m->rng, %s, %s, %d, shape, %.17g, %s, %s)", k, dt, dst, t.rank, in->a,
                                c_string(e, in->mode), c_string(e, in->nonlinearity));
        fprintf(e->out, "        td_status st = %s;\n", call);
        if (narrow) {
            fprintf(e->out, "        for (size_t k = 0; k < count && st == TD_OK; k++)\n            ((%s *)data)[k] = td_f32_to_%s(wide[k]);\n",
                    emit_c_ctype(t.dtype), emit_c_narrow_name(t.dtype));
            fputs("        free(wide);\n", e->out);
        } else {
            fputs("        (void)data;\n", e->out);
        }
        fputs("        if (st != TD_OK)\n            return st;\n    }\n", e->out);
    }
    fputs("    return TD_OK;\n}\n\n", e->out);
}

static const IrFunction *function_at(const IrProgram *p, size_t i)
{
    return i < p->functions.len ? p->functions.items[i] : p->trains.items[i - p->functions.len];
}

static const char *const optim_enums[] = {"TD_OPTIM_SGD", "TD_OPTIM_ADAGRAD", "TD_OPTIM_RMSPROP", "TD_OPTIM_ADAM", "TD_OPTIM_ADAMW"};
static const char *const schedule_enums[] = {"TD_LR_CONSTANT", "TD_LR_COSINE", "TD_LR_STEP", "TD_LR_LINEAR"};

/* tdg_train<t>_grad or _loss: the train function k, its results put where td_train_desc says. */
static void emit_train_wrapper(const Emit *e, size_t t, size_t k, const IrFunction *f, bool grad)
{
    Dtype lt = f->output_types[0].dtype;
    fprintf(e->out, "static td_status tdg_train%zu_%s(td_model *m, const void *const *in, double *loss)\n{\n", t, grad ? "grad" : "loss");
    fprintf(e->out, "    %s loss_value = 0;\n    void *out[] = {&loss_value", emit_c_ctype(lt));
    for (int i = 0; i < f->ngrads; i++)
        fprintf(e->out, ", m->region[TD_REGION_GRADS] + m->param_offsets[%d]", f->grad_params[i]);
    fprintf(e->out, "};\n    td_status st = tdg_fn%zu(m, in, out);\n", k);
    if (dtype_is_narrow(lt))
        fprintf(e->out, "    *loss = (double)td_%s_to_f32(loss_value);\n", emit_c_narrow_name(lt));
    else
        fputs("    *loss = (double)loss_value;\n", e->out);
    fputs("    return st;\n}\n\n", e->out);
}

static void emit_trains(const Emit *e)
{
    const IrProgram *p = e->p;
    size_t ntrains = p->trains.len / 2, nfns = p->functions.len;
    for (size_t t = 0; t < ntrains; t++) {
        const IrFunction *g = p->trains.items[2 * t], *l = p->trains.items[2 * t + 1];
        emit_train_wrapper(e, t, nfns + 2 * t, g, true);
        emit_train_wrapper(e, t, nfns + 2 * t + 1, l, false);
        if (e->with_cuda) {
            emit_cuda_train_wrapper(e, t, nfns + 2 * t, g, true);
            emit_cuda_train_wrapper(e, t, nfns + 2 * t + 1, l, false);
        }
        emit_tensor_descs(e, arena_printf(e->a, "tdg_train%zu_inputs", t), g->ninputs, g->input_names, g->input_types,
                          g->input_shapes);
        const IrTrainSpec *sp = g->train;
        fprintf(e->out, "static const bool tdg_train%zu_trained[] = {", t);
        for (size_t i = 0; i < p->params.len; i++) {
            bool trained = false;
            for (int k = 0; k < g->ngrads; k++)
                trained |= g->grad_params[k] == (int)i;
            fprintf(e->out, "%s%s", i ? ", " : "", trained ? "true" : "false");
        }
        fprintf(e->out, "%s};\nstatic const bool tdg_train%zu_decay[] = {", p->params.len ? "" : "false", t);
        for (size_t i = 0; i < p->params.len; i++) {
            bool decay = true;
            for (int k = 0; k < sp->nno_decay; k++)
                decay &= strcmp(sp->no_decay[k], ((const IrParam *)p->params.items[i])->name) != 0;
            fprintf(e->out, "%s%s", i ? ", " : "", decay ? "true" : "false");
        }
        fprintf(e->out, "%s};\n", p->params.len ? "" : "false");
    }
    if (!ntrains)
        return;
    fputs("static const td_train_desc tdg_trains[] = {\n", e->out);
    for (size_t t = 0; t < ntrains; t++) {
        const IrFunction *g = p->trains.items[2 * t];
        const IrTrainSpec *sp = g->train;
        fprintf(e->out, "    {%s, %d, %s,\n", c_string(e, g->name), g->ninputs,
                g->ninputs ? arena_printf(e->a, "tdg_train%zu_inputs", t) : "NULL");
        fprintf(e->out, "     {.kind = %s, .lr = %.17g, .weight_decay = %.17g, .momentum = %.17g, .dampening = %.17g,\n"
                        "      .nesterov = %s, .beta1 = %.17g, .beta2 = %.17g, .eps = %.17g, .amsgrad = %s,\n"
                        "      .lr_decay = %.17g, .initial_accumulator_value = %.17g, .alpha = %.17g, .centered = %s},\n",
                optim_enums[sp->optim], sp->lr, sp->weight_decay, sp->momentum, sp->dampening, sp->nesterov ? "true" : "false",
                sp->beta1, sp->beta2, sp->eps, sp->amsgrad ? "true" : "false", sp->lr_decay, sp->initial_accumulator_value,
                sp->alpha, sp->centered ? "true" : "false");
        fprintf(e->out, "     {.kind = %s, .lr = %.17g, .min_lr = %.17g, .gamma = %.17g, .warmup = %lld, .total = %lld, .step_size = %lld},\n",
                schedule_enums[sp->schedule], sp->lr, sp->min_lr, sp->gamma, (long long)sp->warmup, (long long)sp->total,
                (long long)sp->step_size);
        fprintf(e->out, "     %.17g, tdg_train%zu_trained, tdg_train%zu_decay, tdg_train%zu_grad, tdg_train%zu_loss, &tdg_fn%zu_cost,\n",
                sp->clip, t, t, t, t, p->functions.len + 2 * t);
        if (e->with_cuda) {
            size_t kg = p->functions.len + 2 * t, kl = kg + 1;
            const IrFunction *lf = p->trains.items[2 * t + 1];
            fprintf(e->out, "     tdg_train%zu_grad_cuda, tdg_train%zu_loss_cuda, %s, %s, %s, %s},\n", t, t,
                    emit_cuda_has_gathers(g) ? arena_printf(e->a, "tdg_fn%zu_cuda_errors", kg) : "NULL",
                    emit_cuda_has_gathers(lf) ? arena_printf(e->a, "tdg_fn%zu_cuda_errors", kl) : "NULL",
                    emit_c_dtype_enum(g->output_types[0].dtype), emit_cuda_draws_random(g) ? "true" : "false");
        } else {
            fprintf(e->out, "     NULL, NULL, NULL, NULL, %s, false},\n", emit_c_dtype_enum(g->output_types[0].dtype));
        }
    }
    fputs("};\n\n", e->out);
}

static void emit_desc(const Emit *e, const char *model_name, const char *symbol, FnPlan **plans)
{
    const IrProgram *p = e->p;
    size_t nfns = p->functions.len;
    if (p->dim_names.len) {
        fputs("static const td_dim_desc tdg_dims[] = {\n", e->out);
        for (size_t i = 0; i < p->dim_names.len; i++)
            fprintf(e->out, "    {%s, %lld},\n", c_string(e, p->dim_names.items[i]), (long long)p->dim_values[i]);
        fputs("};\n", e->out);
    }
    const char **names = arena_array(e->a, p->params.len + 1, sizeof(char *)), **shapes = arena_array(e->a, p->params.len + 1, sizeof(char *));
    Type *types = arena_array(e->a, p->params.len + 1, sizeof(Type));
    for (size_t i = 0; i < p->params.len; i++) {
        const IrParam *pr = p->params.items[i];
        names[i] = pr->name, types[i] = pr->type, shapes[i] = pr->shape_text;
    }
    emit_tensor_descs(e, "tdg_params", (int)p->params.len, names, types, shapes);
    for (size_t i = 0; i < nfns; i++) {
        const IrFunction *f = p->functions.items[i];
        emit_tensor_descs(e, arena_printf(e->a, "tdg_fn%zu_inputs", i), f->ninputs, f->input_names, f->input_types, f->input_shapes);
        const char **out_names = arena_array(e->a, (size_t)f->noutputs + 1, sizeof(char *));
        for (int k = 0; k < f->noutputs; k++)
            out_names[k] = f->noutputs == 1 ? "result" : arena_printf(e->a, "result%d", k);
        emit_tensor_descs(e, arena_printf(e->a, "tdg_fn%zu_outputs", i), f->noutputs, out_names, f->output_types, f->output_shapes);
    }
    if (nfns) {
        fputs("static const td_fn_desc tdg_fns[] = {\n", e->out);
        for (size_t i = 0; i < nfns; i++) {
            const IrFunction *f = p->functions.items[i];
            fprintf(e->out, "    {%s, %d, %d, %s, %s, tdg_fn%zu, &tdg_fn%zu_cost, %s, %s},\n", c_string(e, f->name), f->ninputs, f->noutputs,
                    f->ninputs ? arena_printf(e->a, "tdg_fn%zu_inputs", i) : "NULL",
                    f->noutputs ? arena_printf(e->a, "tdg_fn%zu_outputs", i) : "NULL", i, i,
                    e->with_cuda ? arena_printf(e->a, "tdg_fn%zu_cuda", i) : "NULL",
                    e->with_cuda && emit_cuda_has_gathers(f) ? arena_printf(e->a, "tdg_fn%zu_cuda_errors", i) : "NULL");
        }
        fputs("};\n", e->out);
    }
    fputs("\nstatic td_status tdg_model_plan(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *param_offsets)\n{\n", e->out);
    emit_checks(e);
    if (p->params.len) {
        fputs("    static const td_size_expr param_bytes[] = {\n", e->out);
        int *slots = arena_array(e->a, p->params.len + 1, sizeof(int));
        for (size_t i = 0; i < p->params.len; i++) {
            const IrParam *pr = p->params.items[i];
            IrNode fake = {.type = pr->type};
            fprintf(e->out, "        %s, /* %s */\n", emit_c_size_desc(e, plan_bytes(p, &fake)), pr->name);
            slots[i] = (int)i;
        }
        fputs("    };\n    static const int param_slot[] = {", e->out);
        for (size_t i = 0; i < p->params.len; i++)
            fprintf(e->out, "%s%zu", i ? ", " : "", i);
        fprintf(e->out, "};\n    td_status st = tdg_plan(ctx, dims, %zu, %zu, param_bytes, param_slot, param_offsets, &region_bytes[TD_REGION_PARAMS]);\n"
                        "    if (st != TD_OK)\n        return st;\n", p->params.len, p->params.len);
    } else {
        fputs("    (void)param_offsets;\n    region_bytes[TD_REGION_PARAMS] = 0;\n", e->out);
    }
    fputs("    region_bytes[TD_REGION_WORKSPACE] = 0;\n", e->out);
    for (size_t i = 0; i < nfns + p->trains.len; i++) {
        fprintf(e->out, "    {\n        size_t offsets[%d], total;\n", plans[i]->nslots ? plans[i]->nslots : 1);
        fprintf(e->out, "        if (tdg_plan_fn%zu(ctx, dims, offsets, &total) != TD_OK)\n            return TD_ERR_OOM;\n", i);
        fputs("        if (total > region_bytes[TD_REGION_WORKSPACE])\n            region_bytes[TD_REGION_WORKSPACE] = total;\n    }\n", e->out);
    }
    if (!nfns && !p->trains.len)
        fputs("    (void)ctx;\n    (void)dims;\n", e->out);
    fputs("    return TD_OK;\n}\n\n", e->out);
    emit_init(e);
    emit_trains(e);
    /* the params the GPU reads as narrow copies (emit_cuda_read_dtypes), if any */
    bool copies = false;
    for (size_t i = 0; e->with_cuda && e->read_dtypes && i < p->params.len; i++)
        copies = copies || e->read_dtypes[i] != ((const IrParam *)p->params.items[i])->type.dtype;
    if (copies) {
        fputs("/* the dtype the GPU reads each param in: a narrow one is a copy the runtime keeps */\n"
              "static const td_dtype tdg_cuda_read_dtypes[] = {", e->out);
        for (size_t i = 0; i < p->params.len; i++)
            fprintf(e->out, "%s%s", i ? ", " : "", emit_c_dtype_enum(e->read_dtypes[i]));
        fputs("};\n\n", e->out);
    }
    fprintf(e->out, "const td_model_desc %s = {\n    %s, %zu, %zu, %zu,\n    %s, %s, %s,\n    tdg_model_plan, tdg_init_params,\n"
                    "    %d, %s, %s,\n    %s, %d, %s, %s,\n    %s,\n};\n", symbol,
            c_string(e, model_name), p->dim_names.len, p->params.len, nfns, p->dim_names.len ? "tdg_dims" : "NULL",
            p->params.len ? "tdg_params" : "NULL", nfns ? "tdg_fns" : "NULL", (int)(p->trains.len / 2),
            p->trains.len ? "tdg_trains" : "NULL", c_string(e, p->hash ? p->hash : ""),
            e->with_cuda ? "tdg_cuda_source" : "NULL", e->with_cuda ? (int)e->kernel_names->len : 0,
            e->with_cuda ? "tdg_cuda_kernels" : "NULL", e->with_cuda ? "true" : "false",
            copies ? "tdg_cuda_read_dtypes" : "NULL");
}

static void emit_api(const Emit *e, const EmitOptions *opt);

static void emit_train_api(const Emit *e, const EmitOptions *opt);

/* ---- a file of parts ----
 *
 * A C compiler takes most of `tdc -o`'s time, and most of that on the
 * CPU functions (a train block's gradient is thousands of lines). An
 * executable's C is therefore written so that it compiles as N
 * translation units at once: `cc -DTDG_PART=k` for k < N compiles part k,
 * and the objects are linked. Part 0 has everything but the CPU functions
 * given to other parts (by their size: the largest first, each to the part
 * with the least); a large function is cut into segments first, functions
 * of their own that it calls in order, so that the parts balance. The
 * functions one part defines and another calls (tdg_plan_fn<k>, tdg_fn<k>,
 * tdg_fn<k>_<s>) are external there (TDG_FN), and declared first. Without
 * TDG_PART the file is one translation unit, as any other. */
static const char *const parts_prelude =
    "\n"
    "/* This file compiles as one translation unit, or (tdc -o) as several at\n"
    " * once: cc -DTDG_PART=k compiles part k, and the objects are linked. */\n"
    "#ifdef TDG_PART\n"
    "#define TDG_IN(part) ((part) == TDG_PART)\n"
    "#define TDG_FN /* defined in one part, called from others */\n"
    "#else\n"
    "#define TDG_IN(part) 1\n"
    "#define TDG_FN static\n"
    "#endif\n";

/* Above this much C, a CPU function is compiled as segments (functions of
 * their own, which different parts compile): a train block's gradient
 * alone would otherwise take most of `tdc -o`'s time in one compile. The
 * more parts, the finer: 192 KB over the parts, from 12 to 24 KB (charlm
 * in 16 parts: its largest part 0.41 s of cc with 24 KB segments, 0.23 s
 * with 12 KB, for 14% more work in all, which 8 parts or fewer do not pay). */
static size_t segment_bytes(int parts)
{
    size_t bytes = (size_t)192 * 1024 / (size_t)(parts > 0 ? parts : 1);
    return bytes < 12 * 1024 ? 12 * 1024 : bytes > 24 * 1024 ? 24 * 1024 : bytes;
}

/* The CPU functions' texts, segments and all (emit_c_function_segments),
 * written apart to weigh them; *count: how many; segments[i]: how many
 * segments function i has (0: none, one function). */
static char **function_texts(Emit *e, FnPlan **plans, size_t nall, int parts, size_t **sizes, size_t *count,
                             int *segments)
{
    PtrVec all = {0};
    for (size_t i = 0; i < nall; i++) {
        char **texts;
        int n = emit_c_function_segments(e, (int)i, function_at(e->p, i), plans[i], segment_bytes(parts), &texts);
        segments[i] = n - 1;
        for (int k = 0; k < n; k++)
            ptrvec_push(e->a, &all, texts[k]);
    }
    *count = all.len;
    *sizes = arena_array(e->a, all.len + 1, sizeof(size_t));
    for (size_t i = 0; i < all.len; i++)
        (*sizes)[i] = strlen(all.items[i]);
    return (char **)all.items;
}

/* part[i] for CPU text i (a function or a segment): the largest first,
 * each to the part with the least so far; part 0 starts with a share for
 * the rest of the file. */
static int *assign_parts(const Emit *e, const size_t *sizes, size_t nall, int parts)
{
    int *part = arena_array(e->a, nall + 1, sizeof(int));
    size_t *load = arena_array(e->a, (size_t)parts, sizeof(size_t)), total = 0;
    bool *done = arena_array(e->a, nall + 1, sizeof(bool));
    for (size_t i = 0; i < nall; i++)
        total += sizes[i];
    load[0] = total / 14; /* the GPU's launch code (at -O0), the tables, the model: a fraction of the CPU's */
    for (size_t n = 0; n < nall; n++) {
        size_t big = nall;
        for (size_t i = 0; i < nall; i++)
            if (!done[i] && (big == nall || sizes[i] > sizes[big]))
                big = i;
        int least = 0;
        for (int k = 1; k < parts; k++)
            if (load[k] < load[least])
                least = k;
        part[big] = least;
        load[least] += sizes[big];
        done[big] = true;
    }
    return part;
}

void emit_c(FILE *out, const IrProgram *p, const EmitOptions *opt)
{
    int parts = opt->parts > 1 && !opt->count_flops && !opt->api_prefix ? opt->parts : 1;
    Emit e = {.out = out, .p = p, .a = p->arena, .linkage = parts > 1 ? "TDG_FN" : "static"};
    fprintf(out, "/* Generated by tdc from %s; do not edit. */\n", opt->source_name);
    fputs(emit_c_prelude, out);
    fputs(parts > 1 ? parts_prelude : emit_c_plan_helper, out);
    e.count_flops = opt->count_flops;
    if (opt->count_flops)
        fputs("\n/* --count-flops: the operations each op executes, for tests of the cost formulas */\n"
              "double tdg_counted[65536];\n", out);
    if (opt->header_name)
        fprintf(out, "#include \"%s\"\n", opt->header_name);
    fputc('\n', out);
    /* the exported functions, then the train blocks' (tdg_fn<k> for the k-th of all) */
    size_t nall = p->functions.len + p->trains.len;
    FnPlan **plans = arena_array(e.a, nall + 1, sizeof(FnPlan *));
    for (size_t i = 0; i < nall; i++)
        plans[i] = plan_function(p, function_at(p, i));
    char **texts = NULL;
    size_t *sizes = NULL, ntexts = 0;
    int *segments = arena_array(e.a, nall + 1, sizeof(int));
    if (parts > 1) {
        texts = function_texts(&e, plans, nall, parts, &sizes, &ntexts, segments);
        fputs("\n/* defined in one part, called from others */\n", out);
        for (size_t i = 0; i < nall; i++)
            fprintf(out, "TDG_FN td_status tdg_plan_fn%zu(td_ctx *ctx, const int64_t *dims, size_t *offsets, size_t *total);\n"
                         "TDG_FN td_status tdg_fn%zu(td_model *m, const void *const *in, void *const *out);\n", i, i);
        for (size_t i = 0; i < nall; i++)
            for (int k = 0; k < segments[i]; k++)
                fprintf(out, "TDG_FN td_status tdg_fn%zu_%d(td_model *m, const void *const *in, void *const *out, const size_t *offsets);\n",
                        i, k);
        fprintf(out, "\n#if TDG_IN(0)%s\n", emit_c_plan_helper);
    }
    for (size_t i = 0; i < nall; i++)
        emit_c_plan_function(&e, (int)i, plans[i]);
    if (parts > 1) {
        int *part = assign_parts(&e, sizes, ntexts, parts);
        fputs("#endif\n\n", out);
        for (size_t i = 0; i < ntexts; i++)
            fprintf(out, "#if TDG_IN(%d)\n%s#endif\n\n", part[i], texts[i]);
        fputs("#if TDG_IN(0)\n", out);
    } else {
        for (size_t i = 0; i < nall; i++)
            emit_c_function(&e, (int)i, function_at(p, i), plans[i]);
    }
    /* the GPU's code (not in a --count-flops build, which counts on the CPU) */
    e.with_cuda = !opt->count_flops;
    if (e.with_cuda) {
        e.read_dtypes = emit_cuda_read_dtypes(&e, plans);
        PtrVec *names = arena_alloc(e.a, sizeof *names), *symbols = arena_alloc(e.a, sizeof *symbols);
        const char *source = emit_cuda_source(&e, plans, names, symbols);
        e.kernel_names = names;
        emit_cuda_tables(&e, source, symbols);
        emit_cuda_host_prelude(&e);
        for (size_t i = 0; i < nall; i++)
            emit_cuda_function(&e, (int)i, function_at(p, i), plans[i], names);
        e.kernel_names = names;
    }
    for (size_t i = 0; i < nall; i++)
        if (i < p->functions.len || (i - p->functions.len) % 2 == 0) /* a train block's loss alone has none */
            emit_costs(&e, i, function_at(p, i));
    emit_desc(&e, opt->model_name, opt->desc_symbol, plans);
    if (opt->with_main)
        fprintf(out, "\nint main(int argc, char **argv) { return td_main(&%s, argc, argv); }\n", opt->desc_symbol);
    if (opt->api_prefix) {
        emit_api(&e, opt);
        emit_train_api(&e, opt);
    }
    if (parts > 1)
        fputs("#endif\n", out);
}

/* ---- --lib: the C API ---- */

static const char *upper(const Emit *e, const char *s)
{
    char *u = arena_strdup(e->a, s);
    for (char *p = u; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return u;
}

/* model_forward(td_model *m, const float *x, const int64_t x_shape[2], float *result) */
static const char *api_signature(const Emit *e, const EmitOptions *opt, const IrFunction *f)
{
    const char *s = arena_printf(e->a, "td_status %s_%s(td_model *m", opt->api_prefix, f->name);
    for (int i = 0; i < f->ninputs; i++) {
        s = arena_printf(e->a, "%s, const %s *in_%s", s, emit_c_ctype(f->input_types[i].dtype), f->input_names[i]);
        if (f->input_types[i].rank)
            s = arena_printf(e->a, "%s, const int64_t in_%s_shape[%d]", s, f->input_names[i], f->input_types[i].rank);
    }
    for (int i = 0; i < f->noutputs; i++)
        s = arena_printf(e->a, "%s, %s *out_%d", s, emit_c_ctype(f->output_types[i].dtype), i);
    return arena_printf(e->a, "%s)", s);
}

static const char *type_text(const Emit *e, Type t, const char *written)
{
    if (t.rank == 0)
        return dtype_name(t.dtype);
    return arena_printf(e->a, "%s[\"%s\"] (%s)", dtype_name(t.dtype), written ? written : "",
                        shape_str(e->a, t.dims, t.rank, e->p->names));
}

/* td_status model_train_step(td_model *m, const int32_t *in_x, const int64_t in_x_shape[2], ..., td_step_stats *stats) */
static const char *train_signature(const Emit *e, const EmitOptions *opt, const IrFunction *f)
{
    const char *s = arena_printf(e->a, "td_status %s_train_%s(td_model *m", opt->api_prefix, f->name);
    for (int i = 0; i < f->ninputs; i++) {
        s = arena_printf(e->a, "%s, const %s *in_%s", s, emit_c_ctype(f->input_types[i].dtype), f->input_names[i]);
        if (f->input_types[i].rank)
            s = arena_printf(e->a, "%s, const int64_t in_%s_shape[%d]", s, f->input_names[i], f->input_types[i].rank);
    }
    return arena_printf(e->a, "%s, td_step_stats *stats)", s);
}

void emit_c_header(FILE *out, const IrProgram *p, const EmitOptions *opt)
{
    Emit e = {.out = out, .p = p, .a = p->arena};
    const char *P = opt->api_prefix, *G = upper(&e, P);
    fprintf(out, "/* %s - the C API of %s, generated by tdc; do not edit.\n *\n", opt->header_name, opt->source_name);
    fprintf(out, " * Use: td_ctx_new(TD_DEVICE_CPU); %s_new(ctx, &dims, seed); then the\n", P);
    fprintf(out, " * functions below, each returning TD_OK or an error code with the message\n");
    fprintf(out, " * in td_ctx_error(ctx); %s_free; td_ctx_free. Tensors are C-order arrays;\n", P);
    fprintf(out, " * each input comes with its shape, checked against the model's dims, and\n");
    fprintf(out, " * each output is written to caller memory of the documented shape. Link\n");
    fprintf(out, " * with libtdrt, OpenBLAS, libm and OpenMP (-fopenmp). */\n");
    fprintf(out, "#ifndef %s_H\n#define %s_H\n\n#include \"td.h\"\n\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n", G, G);
    fprintf(out, "extern const td_model_desc %s;\n\n", opt->desc_symbol);
    bool any_runtime = false;
    for (size_t i = 0; i < p->dim_names.len; i++) {
        const char *name = p->dim_names.items[i];
        if (p->dim_values[i])
            fprintf(out, "#define %s_DIM_%s INT64_C(%lld)\n", G, upper(&e, name), (long long)p->dim_values[i]);
        else
            any_runtime = true;
    }
    fprintf(out, "\n/* The dims bound when the model is made. */\ntypedef struct %s_dims {\n", P);
    for (size_t i = 0; i < p->dim_names.len; i++)
        if (!p->dim_values[i])
            fprintf(out, "    int64_t dim_%s;\n", (const char *)p->dim_names.items[i]);
    if (!any_runtime)
        fputs("    int unused; /* every dim is static */\n", out);
    fprintf(out, "} %s_dims;\n\n", P);
    fprintf(out, "/* Binds the dims, allocates the planned memory and initialises the params\n"
                 " * from `seed`; NULL on failure, with the message on ctx. */\n"
                 "td_model *%s_new(td_ctx *ctx, const %s_dims *dims, uint64_t seed);\n"
                 "void %s_free(td_model *m);\n\n", P, P, P);
    for (size_t i = 0; i < p->functions.len; i++) {
        const IrFunction *f = p->functions.items[i];
        fprintf(out, "/* %s(", f->name);
        for (int k = 0; k < f->ninputs; k++)
            fprintf(out, "%s%s: %s", k ? ", " : "", f->input_names[k], type_text(&e, f->input_types[k], f->input_shapes[k]));
        fputs(")\n", out);
        for (int k = 0; k < f->noutputs; k++)
            fprintf(out, " *   out_%d: %s\n", k, type_text(&e, f->output_types[k], f->output_shapes[k]));
        fprintf(out, " */\n%s;\n\n", api_signature(&e, opt, f));
    }
    for (size_t t = 0; t < p->trains.len / 2; t++) {
        const IrFunction *f = p->trains.items[2 * t];
        fprintf(out, "/* train %s(", f->name);
        for (int k = 0; k < f->ninputs; k++)
            fprintf(out, "%s%s: %s", k ? ", " : "", f->input_names[k], type_text(&e, f->input_types[k], f->input_shapes[k]));
        fprintf(out, "): one training step on this batch (forward, backward,\n * clipping, the learning rate's schedule, the optimizer); stats, when not\n * NULL, gets the loss, the gradient norm and the lr. */\n%s;\n\n",
                train_signature(&e, opt, f));
    }
    fprintf(out, "/* A checkpoint (safetensors): params, optimizer state, step, RNG and data\n"
                 " * position. Loading one of another program is an error that changes nothing. */\n"
                 "td_status %s_save(td_model *m, const char *path);\ntd_status %s_load(td_model *m, const char *path);\n\n", P, P);
    fprintf(out, "#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

/* Each input given, and shaped as the model's dims say (table: the inputs' td_tensor_desc array). */
static void emit_input_checks(const Emit *e, const IrFunction *f, const char *table)
{
    for (int k = 0; k < f->ninputs; k++) {
        const char *n = f->input_names[k];
        fprintf(e->out, "    if (!in_%s)\n        return td_fail(m->ctx, TD_ERR_INPUT, \"%s: input '%s' is NULL\");\n", n, f->name, n);
        int rank = f->input_types[k].rank;
        if (!rank)
            continue;
        fprintf(e->out, "    if (!in_%s_shape)\n        return td_fail(m->ctx, TD_ERR_INPUT, \"%s: the shape of '%s' is NULL\");\n", n, f->name, n);
        const char *words = f->input_shapes[k] ? f->input_shapes[k] : "";
        for (int d = 0; d < rank; d++) {
            /* the axis' word in the written shape: "batch" */
            while (*words == ' ' || *words == '\t' || *words == '\n')
                words++;
            const char *end = words;
            while (*end && *end != ' ' && *end != '\t' && *end != '\n')
                end++;
            const char *word = arena_strndup(e->a, words, (size_t)(end - words));
            words = end;
            fprintf(e->out, "    if (in_%s_shape[%d] != td_size_eval(&%s_shape%d[%d], m->dims))\n", n, d, table, k, d);
            fprintf(e->out, "        return td_fail(m->ctx, TD_ERR_INPUT, \"%s: axis %d of '%s' is %%lld, but %%s is %%lld in this model (%s: %s[\\\"%s\\\"])\", (long long)in_%s_shape[%d], %s, (long long)td_size_eval(&%s_shape%d[%d], m->dims));\n",
                    f->name, d, n, n, dtype_name(f->input_types[k].dtype), f->input_shapes[k] ? f->input_shapes[k] : "", n, d,
                    c_string(e, arena_printf(e->a, "'%s'", word)), table, k, d);
        }
    }
}

static void emit_train_api(const Emit *e, const EmitOptions *opt)
{
    const IrProgram *p = e->p;
    const char *P = opt->api_prefix;
    for (size_t t = 0; t < p->trains.len / 2; t++) {
        const IrFunction *f = p->trains.items[2 * t];
        fprintf(e->out, "%s\n{\n    if (!m)\n        return TD_ERR_INPUT;\n", train_signature(e, opt, f));
        emit_input_checks(e, f, arena_printf(e->a, "tdg_train%zu_inputs", t));
        fputs("    const void *in[] = {", e->out);
        for (int k = 0; k < f->ninputs; k++)
            fprintf(e->out, "%sin_%s", k ? ", " : "", f->input_names[k]);
        fprintf(e->out, "%s};\n    return td_train_step(m, %zu, in, stats);\n}\n\n", f->ninputs ? "" : "NULL", t);
    }
    fprintf(e->out, "td_status %s_save(td_model *m, const char *path) { return m ? td_model_save(m, path) : TD_ERR_INPUT; }\n", P);
    fprintf(e->out, "td_status %s_load(td_model *m, const char *path) { return m ? td_model_load(m, path) : TD_ERR_INPUT; }\n", P);
}

static void emit_api(const Emit *e, const EmitOptions *opt)
{
    const IrProgram *p = e->p;
    const char *P = opt->api_prefix;
    fprintf(e->out, "\n/* ---- the C API (%s) ---- */\n\n", opt->header_name);
    fprintf(e->out, "td_model *%s_new(td_ctx *ctx, const %s_dims *dims, uint64_t seed)\n{\n", P, P);
    fprintf(e->out, "    const int64_t values[] = {");
    for (size_t i = 0; i < p->dim_names.len; i++) {
        if (p->dim_values[i])
            fprintf(e->out, "%sINT64_C(%lld)", i ? ", " : "", (long long)p->dim_values[i]);
        else
            fprintf(e->out, "%sdims->dim_%s", i ? ", " : "", (const char *)p->dim_names.items[i]);
    }
    fprintf(e->out, "%s};\n", p->dim_names.len ? "" : "0");
    fprintf(e->out, "    if (!dims) {\n        td_fail(ctx, TD_ERR_INPUT, \"%s_new: dims is NULL\");\n        return NULL;\n    }\n", P);
    fprintf(e->out, "    return td_model_new(ctx, &%s, values, seed);\n}\n\n", opt->desc_symbol);
    fprintf(e->out, "void %s_free(td_model *m) { td_model_free(m); }\n\n", P);
    for (size_t i = 0; i < p->functions.len; i++) {
        const IrFunction *f = p->functions.items[i];
        fprintf(e->out, "%s\n{\n    if (!m)\n        return TD_ERR_INPUT;\n", api_signature(e, opt, f));
        emit_input_checks(e, f, arena_printf(e->a, "tdg_fn%zu_inputs", i));
        for (int k = 0; k < f->noutputs; k++)
            fprintf(e->out, "    if (!out_%d)\n        return td_fail(m->ctx, TD_ERR_INPUT, \"%s: output %d is NULL\");\n", k, f->name, k);
        fputs("    const void *in[] = {", e->out);
        for (int k = 0; k < f->ninputs; k++)
            fprintf(e->out, "%sin_%s", k ? ", " : "", f->input_names[k]);
        fprintf(e->out, "%s};\n    void *out[] = {", f->ninputs ? "" : "NULL");
        for (int k = 0; k < f->noutputs; k++)
            fprintf(e->out, "%sout_%d", k ? ", " : "", k);
        fprintf(e->out, "%s};\n    return td_model_call(m, %zu, in, out);\n}\n\n", f->noutputs ? "" : "NULL", i);
    }
}
