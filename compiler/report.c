/* report.c - `tdc report`: the cost of every operation, per pass and per
 * step, and the memory of a program, from its planned IR.
 *
 * Each exported function and each train block's step gets a table of its
 * operations (after fusion: a fused map is part of its reader's row) with
 * the FLOPs as a formula in the dims and as a number, the bytes read and
 * written and the arithmetic intensity; a step's rows are split into the
 * forward pass, the backward pass and the optimizer. Then the totals, the
 * parameter count and the memory: params, gradients, optimizer state, the
 * activations the backward pass keeps, the workspace's peak. Numbers need
 * every run-time dim (--dims); formulas are printed either way. */
#include "report.h"

#include <math.h>
#include <string.h>

#include "cost.h"
#include "plan.h"

typedef enum { PASS_FORWARD, PASS_BACKWARD, PASS_OPTIMIZER } Pass;
static const char *const pass_names[] = {"forward", "backward", "optimizer"};

typedef struct Row {
    const char *function;
    Pass pass;
    int node;        /* -1 for an optimizer row */
    unsigned line;
    const char *op;  /* "contract", "adagrad update of w" */
    Cost cost;
} Row;

typedef struct Report {
    const IrProgram *p;
    Arena *a;
    const int64_t *values; /* by dim position; 0 unbound */
    ReportFormat format;
    FILE *out;
    Row *rows;
    int nrows, cap;
} Report;

static void add_row(Report *r, Row row)
{
    if (r->nrows == r->cap) {
        int cap = r->cap ? r->cap * 2 : 64;
        Row *grown = arena_array(r->a, (size_t)cap, sizeof(Row));
        if (r->nrows)
            memcpy(grown, r->rows, (size_t)r->nrows * sizeof(Row));
        r->rows = grown;
        r->cap = cap;
    }
    r->rows[r->nrows++] = row;
}

static unsigned line_of(Loc loc)
{
    uint32_t line = 0, col;
    if (loc.file)
        source_line_col(loc.file, loc.off, &line, &col);
    return line;
}

/* "8.39e+06", or "-" when a dim is unbound */
static const char *number(Report *r, Poly x)
{
    double v;
    if (!cost_eval(r->p, x, r->values, &v))
        return "-";
    return arena_printf(r->a, "%.4g", v);
}

/* the same, every digit: for JSON and CSV */
static const char *exact(Report *r, Poly x)
{
    double v;
    if (!cost_eval(r->p, x, r->values, &v))
        return NULL;
    return arena_printf(r->a, "%.17g", v);
}

static const char *json_number(Report *r, Poly x)
{
    const char *s = exact(r, x);
    return s ? s : "null";
}

static double value(Report *r, Poly x, bool *ok)
{
    double v = 0;
    if (!cost_eval(r->p, x, r->values, &v))
        *ok = false;
    return v;
}

static Poly param_elements(const IrProgram *p, const IrParam *pr)
{
    Size s = size_const(1);
    for (int i = 0; i < pr->type.rank; i++)
        size_mul(s, pr->type.dims[i], p->names, &s);
    return poly_of(p->arena, s);
}

/* A tensor's bytes, at --dtype's size for a float when it is given. */
static Size type_bytes(const IrProgram *p, Type t)
{
    Size s = cost_bytes_of(p, t.dtype);
    for (int i = 0; i < t.rank; i++)
        size_mul(s, t.dims[i], p->names, &s);
    return s;
}

static Poly param_bytes(const IrProgram *p, const IrParam *pr) { return poly_of(p->arena, type_bytes(p, pr->type)); }

static void collect_function(Report *r, const IrFunction *f)
{
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        Cost c = cost_node(r->p, f, n);
        if (poly_is_zero(c.flops) && poly_is_zero(c.read) && poly_is_zero(c.written))
            continue;
        add_row(r, (Row){f->name, n->backward ? PASS_BACKWARD : PASS_FORWARD, n->id, line_of(n->loc), n->outer_product ? "contract" : ir_op_name(n->op), c});
    }
    if (!f->is_train)
        return;
    static const char *const optim_names[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
    int per = cost_optimizer_flops_per_element(f->train);
    for (int k = 0; k < f->ngrads; k++) {
        const IrParam *pr = r->p->params.items[f->grad_params[k]];
        Poly elements = param_elements(r->p, pr), bytes = param_bytes(r->p, pr), flops;
        poly_mul_size(r->a, elements, size_const(per), r->p->names, &flops);
        /* reads the param, its gradient and its state; writes the param and its state */
        int slots = cost_optimizer_slots(f->train);
        Poly read, written;
        poly_mul_size(r->a, bytes, size_const(2 + slots), r->p->names, &read);
        poly_mul_size(r->a, bytes, size_const(1 + slots), r->p->names, &written);
        add_row(r, (Row){f->name, PASS_OPTIMIZER, -1, line_of(f->loc), arena_printf(r->a, "%s %s", optim_names[f->train->optim], pr->name),
                         (Cost){flops, read, written}});
    }
}

/* ---- the table ---- */

static void print_rows(Report *r, const char *function, Pass pass, Cost *total)
{
    const SizeNames *names = r->p->names;
    for (int i = 0; i < r->nrows; i++) {
        const Row *row = &r->rows[i];
        if (strcmp(row->function, function) != 0 || row->pass != pass)
            continue;
        cost_add(r->a, total, row->cost, names);
        bool ok = true;
        double flops = value(r, row->cost.flops, &ok), bytes = value(r, row->cost.read, &ok) + value(r, row->cost.written, &ok);
        const char *intensity = ok && bytes > 0 ? arena_printf(r->a, "%.3g", flops / bytes) : "-";
        fprintf(r->out, "    %-6s %5u  %-22s %-26s %11s %11s %11s %9s\n", row->node >= 0 ? arena_printf(r->a, "%%%d", row->node) : "",
                row->line, row->op, poly_str(r->a, row->cost.flops, names), number(r, row->cost.flops), number(r, row->cost.read),
                number(r, row->cost.written), intensity);
    }
}

static void print_total(Report *r, const char *label, Cost c)
{
    fprintf(r->out, "    %-35s %-26s %11s %11s %11s\n", label, poly_str(r->a, c.flops, r->p->names), number(r, c.flops),
            number(r, c.read), number(r, c.written));
}

static void print_header(Report *r)
{
    fprintf(r->out, "    %-6s %5s  %-22s %-26s %11s %11s %11s %9s\n", "node", "line", "operation", "FLOPs", "FLOPs", "read B",
            "written B", "FLOP/B");
}

/* Contractions' FLOPs of a pass, for the 6 x tokens x params check. */
static Poly contraction_flops(Report *r, const char *function, Pass pass)
{
    Poly t = poly_zero();
    for (int i = 0; i < r->nrows; i++)
        if (!strcmp(r->rows[i].function, function) && r->rows[i].pass == pass && !strcmp(r->rows[i].op, "contract"))
            poly_add(r->a, t, r->rows[i].cost.flops, r->p->names, &t);
    return t;
}

static Poly total_params(Report *r)
{
    Poly t = poly_zero();
    for (size_t i = 0; i < r->p->params.len; i++)
        poly_add(r->a, t, param_elements(r->p, r->p->params.items[i]), r->p->names, &t);
    return t;
}

/* Tokens a step sees: every element of an integer input (token ids), all
 * axes but the last of a float one (its rows); the first input decides. */
static Poly tokens_per_step(Report *r, const IrFunction *f)
{
    if (f->ninputs == 0)
        return poly_zero();
    Type t = f->input_types[0];
    int rank = dtype_is_float(t.dtype) && t.rank > 0 ? t.rank - 1 : t.rank;
    Size s = size_const(1);
    for (int i = 0; i < rank; i++)
        size_mul(s, t.dims[i], r->p->names, &s);
    return poly_of(r->a, s);
}

/* FLOPs of the gradients a step skips: for each forward contraction
 * reading a float input of the step, the contraction that would give the
 * input's gradient, which costs as much as the forward one. */
static Poly input_gradient_flops(Report *r, const IrFunction *f)
{
    Poly t = poly_zero();
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (n->dead || n->backward || n->op != IR_CONTRACT)
            continue;
        for (int k = 0; k < 2; k++) {
            View v;
            int base;
            ir_input_view(r->a, f, n, k, r->p->names, &v, &base);
            const IrNode *b = ir_get(f, base);
            if (b->op == IR_INPUT && dtype_is_float(b->type.dtype))
                poly_add(r->a, t, cost_node(r->p, f, n).flops, r->p->names, &t);
        }
    }
    return t;
}

static void print_check(Report *r, const IrFunction *f)
{
    Poly fwd = contraction_flops(r, f->name, PASS_FORWARD), bwd = contraction_flops(r, f->name, PASS_BACKWARD);
    Poly both, six, tokens = tokens_per_step(r, f);
    poly_add(r->a, fwd, bwd, r->p->names, &both);
    Poly params_trained = poly_zero();
    for (int k = 0; k < f->ngrads; k++)
        poly_add(r->a, params_trained, param_elements(r->p, r->p->params.items[f->grad_params[k]]), r->p->names, &params_trained);
    fprintf(r->out, "  check: contractions forward %s, backward %s, together %s FLOPs\n", poly_str(r->a, fwd, r->p->names),
            poly_str(r->a, bwd, r->p->names), poly_str(r->a, both, r->p->names));
    if (tokens.n != 1 || params_trained.n == 0) {
        fputs("         (no 6 x tokens x params comparison: the step has no batch input or no trained param)\n", r->out);
        return;
    }
    Poly n6;
    poly_mul_size(r->a, params_trained, size_const(6), r->p->names, &n6);
    poly_mul_size(r->a, n6, tokens.terms[0], r->p->names, &six);
    Poly diff, neg, inputs = input_gradient_flops(r, f), with_inputs;
    poly_mul_size(r->a, six, size_const(-1), r->p->names, &neg);
    poly_add(r->a, both, neg, r->p->names, &diff);
    poly_add(r->a, both, inputs, r->p->names, &with_inputs);
    fprintf(r->out, "         6 x tokens x params = 6 x %s x %s = %s", poly_str(r->a, tokens, r->p->names),
            poly_str(r->a, params_trained, r->p->names), poly_str(r->a, six, r->p->names));
    if (poly_is_zero(diff))
        fputs(": equal\n", r->out);
    else if (poly_eq(with_inputs, six))
        fprintf(r->out, ":\n         equal once the gradient by the inputs is counted (%s, which a step does not compute), "
                        "as the rule of thumb counts it\n", poly_str(r->a, inputs, r->p->names));
    else
        fprintf(r->out, ":\n         differs by %s: the rule counts 6 FLOPs per param per token, and this program has params used "
                        "without a matmul (an embedding, a gain) or matmuls between activations (attention); the gradient by the "
                        "inputs, which a step does not compute, would be %s\n",
                poly_str(r->a, diff, r->p->names), poly_str(r->a, inputs, r->p->names));
}

/* Bytes the backward pass keeps of the forward pass: forward buffers read by a backward node. */
static Poly saved_activations(Report *r, const IrFunction *f)
{
    FnPlan *plan = plan_function(r->p, f);
    Poly t = poly_zero();
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (n->backward || !plan_has_buffer(n) || plan->output_of[i] >= 0)
            continue;
        int last = plan->last_use[i];
        if (last < (int)f->nodes.len && ((const IrNode *)f->nodes.items[last])->backward)
            poly_add(r->a, t, poly_of(r->a, type_bytes(r->p, n->type)), r->p->names, &t);
    }
    return t;
}

/* The workspace at the dims: each slot its largest member, at 64-byte boundaries. */
static bool workspace_bytes(Report *r, const IrFunction *f, double *out)
{
    FnPlan *plan = plan_function(r->p, f);
    double total = 0;
    for (int s = 0; s < plan->nslots; s++) {
        double largest = 0;
        for (int m = 0; m < plan->slots[s].nmembers; m++) {
            double v;
            if (!cost_eval_size(r->p, type_bytes(r->p, ir_get(f, plan->slots[s].members[m])->type), r->values, &v))
                return false;
            largest = v > largest ? v : largest;
        }
        total += ceil(largest / PLAN_ALIGN) * PLAN_ALIGN;
    }
    *out = total;
    return true;
}

static const char *bytes_text(Report *r, double v)
{
    if (v >= 1024.0 * 1024 * 1024)
        return arena_printf(r->a, "%.0f B (%.2f GiB)", v, v / (1024.0 * 1024 * 1024));
    if (v >= 1024.0 * 1024)
        return arena_printf(r->a, "%.0f B (%.2f MiB)", v, v / (1024.0 * 1024));
    if (v >= 1024)
        return arena_printf(r->a, "%.0f B (%.2f KiB)", v, v / 1024);
    return arena_printf(r->a, "%.0f B", v);
}

/* The regions' bytes as the runtime allocates them (docs/RUNTIME.md):
 * params each at a 64-byte boundary; gradients the same; each trained
 * param's optimizer state at a 64-byte boundary; the largest workspace. */
typedef struct Memory {
    double params, grads, optimizer, workspace;
    bool known;
} Memory;

static Memory memory_numbers(Report *r)
{
    Memory m = {.known = true};
    for (size_t i = 0; i < r->p->params.len; i++) {
        double b;
        if (!cost_eval(r->p, param_bytes(r->p, r->p->params.items[i]), r->values, &b))
            m.known = false;
        m.params += ceil(b / PLAN_ALIGN) * PLAN_ALIGN;
    }
    if (r->p->trains.len)
        m.grads = m.params;
    for (size_t t = 0; t < r->p->trains.len; t += 2) {
        const IrFunction *f = r->p->trains.items[t];
        int slots = cost_optimizer_slots(f->train);
        for (size_t i = 0; i < r->p->params.len; i++) {
            bool trained = false;
            for (int k = 0; k < f->ngrads; k++)
                trained |= f->grad_params[k] == (int)i;
            double b = 0;
            if (!trained || !cost_eval(r->p, param_bytes(r->p, r->p->params.items[i]), r->values, &b) || b * slots == 0)
                continue;
            m.optimizer = ceil(m.optimizer / PLAN_ALIGN) * PLAN_ALIGN + b * slots;
        }
    }
    for (size_t i = 0; i < r->p->functions.len + r->p->trains.len; i++) {
        const IrFunction *f = i < r->p->functions.len ? r->p->functions.items[i] : r->p->trains.items[i - r->p->functions.len];
        double w;
        if (!workspace_bytes(r, f, &w))
            m.known = false;
        else if (w > m.workspace)
            m.workspace = w;
    }
    return m;
}

static void print_memory(Report *r, const IrFunction *step)
{
    Poly params = poly_zero(), state = poly_zero();
    for (size_t i = 0; i < r->p->params.len; i++)
        poly_add(r->a, params, param_bytes(r->p, r->p->params.items[i]), r->p->names, &params);
    int slots = 0;
    if (step) {
        slots = cost_optimizer_slots(step->train);
        for (int k = 0; k < step->ngrads; k++)
            poly_add(r->a, state, param_bytes(r->p, r->p->params.items[step->grad_params[k]]), r->p->names, &state);
        poly_mul_size(r->a, state, size_const(slots), r->p->names, &state);
    }
    fputs("\nmemory (bytes; each region's parts at 64-byte boundaries at run time):\n", r->out);
    bool ok = true;
    double vp = value(r, params, &ok);
    fprintf(r->out, "  %-34s %-28s %s\n", "params", poly_str(r->a, params, r->p->names), ok ? bytes_text(r, vp) : "-");
    if (step) {
        ok = true;
        double vs = value(r, state, &ok);
        fprintf(r->out, "  %-34s %-28s %s\n", "gradients", poly_str(r->a, params, r->p->names), ok ? bytes_text(r, vp) : "-");
        fprintf(r->out, "  %-34s %-28s %s\n", arena_printf(r->a, "optimizer state (%d per param)", slots),
                poly_str(r->a, state, r->p->names), ok ? bytes_text(r, vs) : "-");
        Poly saved = saved_activations(r, step);
        ok = true;
        double va = value(r, saved, &ok);
        fprintf(r->out, "  %-34s %-28s %s\n", "activations saved for backward", poly_str(r->a, saved, r->p->names),
                ok ? bytes_text(r, va) : "-");
    }
    double peak = 0, w;
    bool all = true;
    for (size_t i = 0; i < r->p->functions.len + r->p->trains.len; i += 1) {
        const IrFunction *f = i < r->p->functions.len ? r->p->functions.items[i] : r->p->trains.items[i - r->p->functions.len];
        if (workspace_bytes(r, f, &w))
            peak = w > peak ? w : peak;
        else
            all = false;
    }
    fprintf(r->out, "  %-34s %-28s %s\n", "workspace peak (the largest plan)", "(tdc --emit=plan)",
            all ? bytes_text(r, peak) : "- (needs --dims)");
    Memory m = memory_numbers(r);
    if (m.known)
        fprintf(r->out, "  the regions the program allocates%s: params %s, workspace %s, gradients %s, optimizer %s; total %s\n",
                r->p->cost_float_dtype != DT_COUNT ? arena_printf(r->a, " (were every float %s)", dtype_name(r->p->cost_float_dtype)) : "",
                bytes_text(r, m.params), bytes_text(r, m.workspace), bytes_text(r, m.grads), bytes_text(r, m.optimizer),
                bytes_text(r, m.params + m.workspace + m.grads + m.optimizer));
}

static void print_table(Report *r, const char *source)
{
    const IrProgram *p = r->p;
    fprintf(r->out, "tdc report of %s", source);
    const char *sep = " (";
    for (size_t i = 0; i < p->dim_names.len; i++)
        if (p->dim_values[i] == 0 && r->values && r->values[i] > 0) {
            fprintf(r->out, "%s%s = %lld", sep, (const char *)p->dim_names.items[i], (long long)r->values[i]);
            sep = ", ";
        }
    fputs(strcmp(sep, ", ") == 0 ? ")\n\n" : "\n\n", r->out);
    fputs("FLOPs: a contraction 2 per term (2mnk for an (m, k) @ (k, n) matmul); a map one per operation per element;\n"
          "a reduction one per element read; views, copies and gathers none. Bytes: each input's distinct elements read\n"
          "once, each result written once, after fusion. Backward contractions are costed as the forward ones: one per\n"
          "operand that needs a gradient. Optimizers: torch's update, per element of a trained param (docs/ACCOUNTING.md).\n",
          r->out);
    for (size_t i = 0; i < p->functions.len; i++) {
        const IrFunction *f = p->functions.items[i];
        fprintf(r->out, "\nfn %s\n", f->name);
        print_header(r);
        Cost fwd = {0}, bwd = {0};
        print_rows(r, f->name, PASS_FORWARD, &fwd);
        bool has_backward = false;
        for (int k = 0; k < r->nrows; k++)
            has_backward |= !strcmp(r->rows[k].function, f->name) && r->rows[k].pass == PASS_BACKWARD;
        if (has_backward) {
            print_total(r, "forward", fwd);
            print_rows(r, f->name, PASS_BACKWARD, &bwd);
            print_total(r, "backward (grad)", bwd);
            cost_add(r->a, &fwd, bwd, p->names);
        }
        print_total(r, "total", fwd);
    }
    for (size_t i = 0; i < p->trains.len; i += 2) {
        const IrFunction *f = p->trains.items[i];
        fprintf(r->out, "\ntrain %s (one step)\n", f->name);
        print_header(r);
        Cost step = {0};
        for (int pass = PASS_FORWARD; pass <= PASS_OPTIMIZER; pass++) {
            Cost c = {0};
            print_rows(r, f->name, (Pass)pass, &c);
            print_total(r, pass_names[pass], c);
            cost_add(r->a, &step, c, p->names);
        }
        print_total(r, "per step", step);
        print_check(r, f);
    }
    Poly params = total_params(r);
    fprintf(r->out, "\nparams: %s = %s\n", poly_str(r->a, params, p->names), number(r, params));
    print_memory(r, p->trains.len ? p->trains.items[0] : NULL);
}

/* ---- JSON and CSV: one record per operation ---- */

static void print_json(Report *r, const char *source)
{
    fputs("{\"program\": \"", r->out);
    for (const char *c = source; *c; c++) /* a file name, escaped for JSON */
        if (*c == '"' || *c == '\\')
            fprintf(r->out, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            fprintf(r->out, "\\u%04x", (unsigned char)*c);
        else
            fputc(*c, r->out);
    fputs("\", \"operations\": [", r->out);
    for (int i = 0; i < r->nrows; i++) {
        const Row *row = &r->rows[i];
        fprintf(r->out, "%s\n  {\"function\": \"%s\", \"pass\": \"%s\", \"node\": %d, \"line\": %u, \"op\": \"%s\", "
                        "\"flops_formula\": \"%s\", \"flops\": %s, \"read_bytes\": %s, \"written_bytes\": %s}",
                i ? "," : "", row->function, pass_names[row->pass], row->node, row->line, row->op,
                poly_str(r->a, row->cost.flops, r->p->names), json_number(r, row->cost.flops), json_number(r, row->cost.read),
                json_number(r, row->cost.written));
    }
    Poly params = total_params(r);
    fprintf(r->out, "\n], \"params_formula\": \"%s\", \"params\": %s", poly_str(r->a, params, r->p->names),
            json_number(r, params));
    Memory m = memory_numbers(r);
    if (m.known)
        fprintf(r->out, ", \"memory\": {\"params\": %.17g, \"grads\": %.17g, \"optimizer\": %.17g, \"workspace\": %.17g}", m.params,
                m.grads, m.optimizer, m.workspace);
    fputs("}\n", r->out);
}

static void print_csv(Report *r)
{
    fputs("function,pass,node,line,op,flops_formula,flops,read_bytes,written_bytes\n", r->out);
    for (int i = 0; i < r->nrows; i++) {
        const Row *row = &r->rows[i];
        const char *f = exact(r, row->cost.flops), *rd = exact(r, row->cost.read), *w = exact(r, row->cost.written);
        fprintf(r->out, "%s,%s,%d,%u,%s,%s,%s,%s,%s\n", row->function, pass_names[row->pass], row->node, row->line, row->op,
                poly_str(r->a, row->cost.flops, r->p->names), f ? f : "", rd ? rd : "", w ? w : "");
    }
}

void report_print(FILE *out, const IrProgram *p, const char *source, const int64_t *values, ReportFormat format)
{
    Report r = {.p = p, .a = p->arena, .values = values, .format = format, .out = out};
    for (size_t i = 0; i < p->functions.len; i++)
        collect_function(&r, p->functions.items[i]);
    for (size_t i = 0; i < p->trains.len; i += 2)
        collect_function(&r, p->trains.items[i]);
    if (format == REPORT_JSON)
        print_json(&r, source);
    else if (format == REPORT_CSV)
        print_csv(&r);
    else
        print_table(&r, source);
}

bool report_step_numbers(const IrProgram *p, const int64_t *values, StepNumbers *out)
{
    if (!p->trains.len)
        return false;
    Report r = {.p = p, .a = p->arena, .values = values};
    const IrFunction *f = p->trains.items[0];
    collect_function(&r, f);
    Cost total = {0};
    for (int i = 0; i < r.nrows; i++)
        cost_add(r.a, &total, r.rows[i].cost, p->names);
    Poly trained = poly_zero();
    for (int k = 0; k < f->ngrads; k++)
        poly_add(r.a, trained, param_elements(p, p->params.items[f->grad_params[k]]), p->names, &trained);
    Memory m = memory_numbers(&r);
    bool ok = m.known;
    out->flops = value(&r, total.flops, &ok);
    out->tokens = value(&r, tokens_per_step(&r, f), &ok);
    out->params = value(&r, trained, &ok);
    out->bytes = m.params + m.grads + m.optimizer + m.workspace;
    out->dtype = f->ngrads ? dtype_name(((const IrParam *)p->params.items[f->grad_params[0]])->type.dtype) : NULL;
    return ok;
}
