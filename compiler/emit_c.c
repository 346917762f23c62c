/* emit_c.c - C for the CPU from the planned IR.
 *
 * One C file per program: a description of the model for the runtime
 * (td_model_desc: dims, params, functions, the plan as code), and one C
 * function per exported function that runs its nodes in order. Views are
 * strides in the loops that read them; a MAP or COPY is a loop nest over
 * its result (the outer axis parallel with OpenMP), a REDUCE a loop nest
 * with the reduced axes inside, a CONTRACT one td_gemm_run (CBLAS), a
 * GATHER a loop over its indices. Narrow floats (f16, bf16, f8) are
 * computed in f32 and rounded to their dtype after every operation, as if
 * each operation ran on its own; f64 stays f64; integers compute in 64 bits
 * with wrap-around and are cut to their width when stored. Names from the
 * program appear in the C only behind a prefix (`dim_batch`) or in strings
 * and comments. */
#include "emit_c_internal.h"

#include "cost.h"

#include <stdlib.h>
#include <string.h>



const char * emit_c_ctype(Dtype t)
{
    switch (t) {
    case DT_F64: return "double";
    case DT_F32: return "float";
    case DT_F16: case DT_BF16: case DT_U16: return "uint16_t";
    case DT_F8E4M3: case DT_F8E5M2: case DT_BOOL: return "uint8_t";
    case DT_I64: return "int64_t";
    case DT_I32: return "int32_t";
    default: return "void";
    }
}

/* The C type arithmetic happens in. */
const char * emit_c_compute_type(Dtype t)
{
    if (t == DT_F64)
        return "double";
    if (dtype_is_float(t))
        return "float";
    return "int64_t";
}


const char * emit_c_narrow_name(Dtype t)
{
    return t == DT_F16 ? "f16" : t == DT_BF16 ? "bf16" : t == DT_F8E4M3 ? "f8e4m3" : "f8e5m2";
}

const char * emit_c_dtype_enum(Dtype t)
{
    static const char *const names[] = {"TD_F64", "TD_F32", "TD_F16", "TD_BF16", "TD_F8E4M3", "TD_F8E5M2",
                                        "TD_I64", "TD_I32", "TD_U16", "TD_BOOL"};
    return names[t];
}

/* ---- sizes as C ---- */

const char * emit_c_dim_var(const Emit *e, uint32_t factor)
{
    int d = factor < (uint32_t)e->p->nfactors ? e->p->factor_dim[factor] : -1;
    if (d < 0)
        die("size factor %u is not a dim of the program", factor);
    return arena_printf(e->a, "dim_%s", (const char *)e->p->dim_names.items[d]);
}

const char * emit_c_size(const Emit *e, Size s)
{
    const char *num = arena_printf(e->a, "INT64_C(%lld)", (long long)s.num), *den = NULL;
    if (s.num == 1 && s.nfactors > 0)
        num = NULL;
    for (int i = 0; i < s.nfactors; i++)
        for (int k = 0; k < (s.factors[i].exp < 0 ? -s.factors[i].exp : s.factors[i].exp); k++) {
            const char *v = emit_c_dim_var(e, s.factors[i].dim);
            if (s.factors[i].exp > 0)
                num = num ? arena_printf(e->a, "%s * %s", num, v) : v;
            else
                den = den ? arena_printf(e->a, "%s * %s", den, v) : v;
        }
    if (s.den != 1)
        den = den ? arena_printf(e->a, "INT64_C(%lld) * %s", (long long)s.den, den) : arena_printf(e->a, "INT64_C(%lld)", (long long)s.den);
    if (den)
        return arena_printf(e->a, "(%s / (%s))", num, den);
    return s.nfactors ? arena_printf(e->a, "(%s)", num) : num;
}

const char *emit_c_poly(const Emit *e, Poly p)
{
    if (p.n == 0)
        return "0";
    const char *r = emit_c_size(e, p.terms[0]);
    for (int i = 1; i < p.n; i++)
        r = arena_printf(e->a, "%s + %s", r, emit_c_size(e, p.terms[i]));
    return p.n > 1 ? arena_printf(e->a, "(%s)", r) : r;
}

/* A static description of a size for the runtime. */
const char * emit_c_size_desc(const Emit *e, Size s)
{
    const char *dims = "", *exps = "";
    for (int i = 0; i < s.nfactors; i++) {
        int d = e->p->factor_dim[s.factors[i].dim];
        dims = arena_printf(e->a, "%s%s%d", dims, i ? ", " : "", d);
        exps = arena_printf(e->a, "%s%s%d", exps, i ? ", " : "", (int)s.factors[i].exp);
    }
    return arena_printf(e->a, "{%lld, %lld, %d, {%s}, {%s}}", (long long)s.num, (long long)s.den, s.nfactors,
                        s.nfactors ? dims : "0", s.nfactors ? exps : "0");
}

/* ---- buffers ---- */

/* The C name of the memory a node reads through: b<base>. */
const char * emit_c_base_name(const Emit *e, int id) { return arena_printf(e->a, "b%d", id); }

static View view_of_input(const Emit *e, int id, int *base)
{
    View v;
    if (!ir_view_of(e->a, e->f, id, e->p->names, &v, base))
        die("no view of node %d", id);
    return v;
}

View emit_c_input_view(const Emit *e, const IrNode *n, int k, int *base)
{
    View v;
    if (!ir_input_view(e->a, e->f, n, k, e->p->names, &v, base))
        die("no view of input %d of node %d", k, n->id);
    return v;
}

/* ---- expressions ---- */

const char * emit_c_load(const Emit *e, Dtype t, const char *ptr, const char *index)
{
    (void)e;
    if (dtype_is_narrow(t))
        return arena_printf(e->a, "td_%s_to_f32(%s[%s])", emit_c_narrow_name(t), ptr, index);
    return arena_printf(e->a, "(%s)%s[%s]", emit_c_compute_type(t), ptr, index);
}

const char * emit_c_store(const Emit *e, Dtype t, const char *value)
{
    if (dtype_is_narrow(t))
        return arena_printf(e->a, "td_f32_to_%s(%s)", emit_c_narrow_name(t), value);
    return arena_printf(e->a, "(%s)(%s)", emit_c_ctype(t), value);
}

static const char *float_literal(const Emit *e, double v, Dtype t)
{
    if (v != v)
        return t == DT_F64 ? "(double)NAN" : "NAN";
    if (v == 1.0 / 0.0)
        return t == DT_F64 ? "(double)INFINITY" : "INFINITY";
    if (v == -1.0 / 0.0)
        return t == DT_F64 ? "(double)-INFINITY" : "-INFINITY";
    const char *s = arena_printf(e->a, "%.17g", v);
    if (!strpbrk(s, ".eE"))
        s = arena_printf(e->a, "%s.0", s);
    return t == DT_F64 ? s : arena_printf(e->a, "(float)%s", s);
}

/* `inputs[k]` is the C expression of input k's element at the current index. */
static const char *expr_c(const Emit *e, const MapExpr *x, const char *const *inputs);

/* How x's value leaves its top operation: *narrow, the narrow float it is
 * rounded to there (DT_COUNT: none), from f64 (*from_f64) or from f32. */
typedef struct Rounding {
    Dtype narrow;
    bool from_f64;
} Rounding;

static const char *hoisted_name(const Emit *e, const MapExpr *x, const char *const *inputs)
{
    if (!e->hoisted || x->nargs == 0)
        return NULL;
    Emit plain = *e;
    plain.hoisted = NULL;
    const char *text = expr_c(&plain, x, inputs);
    for (int i = 0; i < e->hoisted->n; i++)
        if (!strcmp(e->hoisted->texts[i], text))
            return e->hoisted->names[i];
    return NULL;
}

/* value with rounding r applied: narrowed to r's format from f32 (or
 * f64), then widened back to f32, a narrow float's value for the
 * arithmetic after; value itself without one. */
static const char *widened(const Emit *e, const char *value, Rounding r)
{
    if (r.narrow == DT_COUNT)
        return value;
    const char *name = emit_c_narrow_name(r.narrow);
    return arena_printf(e->a, "td_%s_to_f32(td_%s_to_%s(%s))", name, r.from_f64 ? "f64" : "f32", name, value);
}

/* x's value before its top operation's rounding to a narrow float, which
 * *r names (expr_c applies it; a store narrows the value once instead).
 * The other dtypes' roundings (i32, u16, bool) are in the text. */
static const char *expr_c_unrounded(const Emit *e, const MapExpr *x, const char *const *inputs, Rounding *r);

static const char *expr_c(const Emit *e, const MapExpr *x, const char *const *inputs)
{
    const char *local = hoisted_name(e, x, inputs);
    if (local)
        return local;
    Rounding r;
    const char *v = expr_c_unrounded(e, x, inputs, &r);
    return widened(e, v, r);
}

/* value (in emit_c_compute_type(t)) rounded to t, still in
 * emit_c_compute_type(t): i32, u16 and bool cut here, a narrow float's
 * rounding left to the caller (in *r: expr_c widens it back, a store
 * narrows once). */
static const char *rounded(const Emit *e, Dtype t, const char *value, Rounding *r)
{
    if (dtype_is_narrow(t)) {
        *r = (Rounding){t, false};
        return value;
    }
    if (t == DT_I32)
        return arena_printf(e->a, "(int64_t)(int32_t)(uint32_t)(uint64_t)(%s)", value);
    if (t == DT_U16)
        return arena_printf(e->a, "(int64_t)(uint16_t)(uint64_t)(%s)", value);
    if (t == DT_BOOL)
        return arena_printf(e->a, "(int64_t)((%s) != 0)", value);
    return value;
}

static const char *expr_c_unrounded(const Emit *e, const MapExpr *x, const char *const *inputs, Rounding *rounding)
{
    Arena *a = e->a;
    *rounding = (Rounding){DT_COUNT, false};
    bool fl = dtype_is_float(x->dtype), dbl = x->dtype == DT_F64;
    switch (x->kind) {
    case MX_INPUT: return inputs[x->input];
    case MX_CONST:
        if (fl)
            return float_literal(e, x->fval, x->dtype);
        return arena_printf(a, "INT64_C(%lld)", (long long)x->ival);
    case MX_SIZE: return arena_printf(a, "(int64_t)%s", emit_c_size(e, x->size));
    case MX_INDEX: return arena_printf(a, "i%d", e->loop_of_axis ? e->loop_of_axis[x->axis] : x->axis);
    case MX_CAST: {
        const char *v = expr_c(e, x->args[0], inputs);
        Dtype from = x->args[0]->dtype;
        if (x->dtype == DT_BOOL)
            return arena_printf(a, "(int64_t)(%s != 0)", v);
        if (from == DT_F64 && dtype_is_narrow(x->dtype)) { /* round once, not through f32 */
            *rounding = (Rounding){x->dtype, true};
            return v;
        }
        if (dtype_is_float(from) && !fl)
            v = arena_printf(a, "(int64_t)(%s)", v); /* toward zero, as PyTorch */
        else
            v = arena_printf(a, "(%s)(%s)", emit_c_compute_type(x->dtype), v);
        return rounded(e, x->dtype, v, rounding);
    }
    case MX_WHERE:
        return arena_printf(a, "(%s ? %s : %s)", expr_c(e, x->args[0], inputs), expr_c(e, x->args[1], inputs),
                            expr_c(e, x->args[2], inputs));
    case MX_CALL: break;
    }
    const char *u = expr_c(e, x->args[0], inputs), *v = x->nargs > 1 ? expr_c(e, x->args[1], inputs) : NULL;
    bool afl = dtype_is_float(x->arg_dtype);
    const char *f = dbl ? "" : "f";
    const char *r = NULL;
    switch (x->fn) {
    case MF_NEG: r = afl ? arena_printf(a, "(-%s)", u) : arena_printf(a, "(int64_t)(0 - (uint64_t)%s)", u); break;
    case MF_ADD: r = afl ? arena_printf(a, "(%s + %s)", u, v) : arena_printf(a, "(int64_t)((uint64_t)%s + (uint64_t)%s)", u, v); break;
    case MF_SUB: r = afl ? arena_printf(a, "(%s - %s)", u, v) : arena_printf(a, "(int64_t)((uint64_t)%s - (uint64_t)%s)", u, v); break;
    case MF_MUL: r = afl ? arena_printf(a, "(%s * %s)", u, v) : arena_printf(a, "(int64_t)((uint64_t)%s * (uint64_t)%s)", u, v); break;
    case MF_DIV: r = arena_printf(a, "(%s / %s)", u, v); break;
    case MF_POW: r = afl ? arena_printf(a, "pow%s(%s, %s)", f, u, v) : arena_printf(a, "tdg_ipow(%s, %s)", u, v); break;
    case MF_EQ: r = arena_printf(a, "(int64_t)(%s == %s)", u, v); break;
    case MF_NE: r = arena_printf(a, "(int64_t)(%s != %s)", u, v); break;
    case MF_LT: r = arena_printf(a, "(int64_t)(%s < %s)", u, v); break;
    case MF_LE: r = arena_printf(a, "(int64_t)(%s <= %s)", u, v); break;
    case MF_GT: r = arena_printf(a, "(int64_t)(%s > %s)", u, v); break;
    case MF_GE: r = arena_printf(a, "(int64_t)(%s >= %s)", u, v); break;
    case MF_MAX: r = arena_printf(a, "tdg_max_%s(%s, %s)", emit_c_compute_type(x->dtype), u, v); break;
    case MF_MIN: r = arena_printf(a, "tdg_min_%s(%s, %s)", emit_c_compute_type(x->dtype), u, v); break;
    case MF_SQRT: r = arena_printf(a, "sqrt%s(%s)", f, u); break;
    case MF_RSQRT: r = arena_printf(a, "(%s / sqrt%s(%s))", dbl ? "1.0" : "1.0f", f, u); break;
    case MF_EXP: r = arena_printf(a, "exp%s(%s)", f, u); break;
    case MF_LOG: r = arena_printf(a, "log%s(%s)", f, u); break;
    case MF_TANH: r = arena_printf(a, "tanh%s(%s)", f, u); break;
    case MF_SIGMOID: r = arena_printf(a, "tdg_sigmoid_%s(%s)", emit_c_compute_type(x->dtype), u); break;
    case MF_GELU: r = arena_printf(a, "tdg_gelu_%s(%s)", emit_c_compute_type(x->dtype), u); break;
    case MF_SILU: r = arena_printf(a, "tdg_silu_%s(%s)", emit_c_compute_type(x->dtype), u); break;
    case MF_SIN: r = arena_printf(a, "sin%s(%s)", f, u); break;
    case MF_COS: r = arena_printf(a, "cos%s(%s)", f, u); break;
    case MF_ABS: r = fl ? arena_printf(a, "fabs%s(%s)", f, u) : arena_printf(a, "tdg_abs_i64(%s)", u); break;
    case MF_RELU: r = arena_printf(a, "tdg_relu_%s(%s)", emit_c_compute_type(x->dtype), u); break;
    case MF_GELU_GRAD: r = arena_printf(a, "tdg_gelu_grad_%s(%s)", emit_c_compute_type(x->dtype), u); break;
    default: die("map function %d", x->fn);
    }
    return rounded(e, x->dtype, r, rounding);
}

void emit_c_indent(const Emit *e, int depth)
{
    for (int i = 0; i < depth; i++)
        fputs("    ", e->out);
}

/* ---- common subexpressions ---- */

static void collect(const Emit *e, const MapExpr *x, const char *const *inputs, const MapExpr **nodes, const char **texts, int *n,
                    int cap)
{
    for (int i = 0; i < x->nargs; i++)
        collect(e, x->args[i], inputs, nodes, texts, n, cap);
    if (x->nargs > 0 && *n < cap) {
        nodes[*n] = x;
        texts[(*n)++] = expr_c(e, x, inputs);
    }
}

static int count_nodes(const MapExpr *x)
{
    int n = 1;
    for (int i = 0; i < x->nargs; i++)
        n += count_nodes(x->args[i]);
    return n;
}

/* The expression x as C, after declaring (at `depth`) a local for each
 * subexpression it computes more than once, innermost first; the Emit
 * that names those locals in *with. */
static void expr_with_locals(const Emit *e, const MapExpr *x, const char *const *inputs, int depth, Emit *with)
{
    int cap = count_nodes(x);
    const MapExpr **nodes = arena_array(e->a, (size_t)cap + 1, sizeof(MapExpr *));
    const char **texts = arena_array(e->a, (size_t)cap + 1, sizeof(char *));
    int n = 0;
    collect(e, x, inputs, nodes, texts, &n, cap);
    Hoisted *h = arena_alloc(e->a, sizeof *h);
    h->texts = arena_array(e->a, (size_t)n + 1, sizeof(char *));
    h->names = arena_array(e->a, (size_t)n + 1, sizeof(char *));
    *with = *e;
    with->hoisted = h;
    for (int i = 0; i < n; i++) {
        int count = 0;
        for (int j = 0; j < n; j++)
            count += !strcmp(texts[i], texts[j]);
        bool done = false;
        for (int k = 0; k < h->n && !done; k++)
            done = !strcmp(h->texts[k], texts[i]);
        if (count < 2 || done || strlen(texts[i]) < 16)
            continue;
        const char *value = expr_c(with, nodes[i], inputs); /* with the locals before it */
        const char *name = arena_printf(e->a, "h%d", h->n);
        emit_c_indent(e, depth);
        fprintf(e->out, "const %s %s = %s;\n", emit_c_compute_type(nodes[i]->dtype), name, value);
        h->texts[h->n] = texts[i];
        h->names[h->n++] = name;
    }
}

const char * emit_c_expr(const Emit *e, const MapExpr *x, const char *const *inputs, int depth)
{
    Emit with;
    expr_with_locals(e, x, inputs, depth, &with);
    return expr_c(&with, x, inputs);
}

const char *emit_c_expr_stored(const Emit *e, const MapExpr *x, const char *const *inputs, int depth, Dtype t)
{
    Emit with;
    expr_with_locals(e, x, inputs, depth, &with);
    if (dtype_is_narrow(t) && !hoisted_name(&with, x, inputs)) {
        Rounding r;
        const char *v = expr_c_unrounded(&with, x, inputs, &r);
        if (r.narrow == t) /* narrowed once, as the value stored: not widened and narrowed again */
            return arena_printf(e->a, "td_%s_to_%s(%s)", r.from_f64 ? "f64" : "f32", emit_c_narrow_name(t), v);
        return emit_c_store(e, t, widened(e, v, r));
    }
    return emit_c_store(e, t, expr_c(&with, x, inputs));
}

/* ---- counting (--count-flops, for tests of the cost formulas) ---- */

static void count(const Emit *e, int depth, const char *flops)
{
    if (!e->count_flops)
        return;
    for (int i = 0; i < depth; i++)
        fputs("    ", e->out);
    fprintf(e->out, "tdg_counted[%d] += %s;\n", e->op, flops);
}

/* ---- loops ---- */


const char * emit_c_loc_text(const Emit *e, Loc loc)
{
    if (!loc.file)
        return "";
    uint32_t line, col;
    source_line_col(loc.file, loc.off, &line, &col);
    uint32_t len;
    const char *text = source_line_text(loc.file, loc.off, &len);
    while (len && (*text == ' ' || *text == '\t'))
        text++, len--;
    char *clean = arena_strndup(e->a, text, len > 90 ? 90 : len);
    for (char *p = clean; *p; p++)
        if (*p == '*' && p[1] == '/')
            p[1] = ' '; /* never end the comment early */
        else if ((unsigned char)*p < 0x20)
            *p = ' ';
    return arena_printf(e->a, "%s:%u: %s", loc.file->path, line, clean);
}

static const char *where(const Emit *e, Loc loc) { return emit_c_where(e, loc, true); }

/* "model.td:3:9", escaped for a C string (and for printf when `format`). */
const char *emit_c_where(const Emit *e, Loc loc, bool format)
{
    if (!loc.file)
        return "?";
    uint32_t line, col;
    source_line_col(loc.file, loc.off, &line, &col);
    const char *path = loc.file->path;
    char *esc = arena_alloc(e->a, strlen(path) * 4 + 1), *q = esc;
    for (const char *p = path; *p; p++) {
        if (*p == '%' && format)
            *q++ = '%', *q++ = '%';
        else if (*p == '"' || *p == '\\' || *p == '?' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            q += sprintf(q, "\\%03o", (unsigned char)*p);
        else
            *q++ = *p;
    }
    *q = 0;
    return arena_printf(e->a, "%s:%u:%u", esc, line, col);
}

/* Element offset of view v at loop indices i0.. (axes of v in order). */
const char * emit_c_offset(const Emit *e, const char *name, const View *v, const int *axis_of)
{
    const char *r = poly_is_zero(v->offset) ? NULL : arena_printf(e->a, "%s_off", name);
    for (int k = 0; k < v->rank; k++) {
        if (poly_is_zero(v->strides[k]))
            continue;
        const char *t = arena_printf(e->a, "i%d * %s_s%d", axis_of ? axis_of[k] : k, name, k);
        r = r ? arena_printf(e->a, "%s + %s", r, t) : t;
    }
    return r ? r : "0";
}

void emit_c_declare_view(const Emit *e, int depth, const char *name, const View *v)
{
    if (!poly_is_zero(v->offset)) {
        emit_c_indent(e, depth);
        fprintf(e->out, "const int64_t %s_off = %s;\n", name, emit_c_poly(e, v->offset));
    }
    for (int k = 0; k < v->rank; k++) {
        if (poly_is_zero(v->strides[k]))
            continue;
        emit_c_indent(e, depth);
        fprintf(e->out, "const int64_t %s_s%d = %s;\n", name, k, emit_c_poly(e, v->strides[k]));
    }
}

static void open_loops(const Emit *e, int depth, int rank, const Size *dims, int first_axis, bool parallel)
{
    for (int k = 0; k < rank; k++) {
        emit_c_indent(e, depth);
        fprintf(e->out, "const int64_t n%d = %s;\n", first_axis + k, emit_c_size(e, dims[k]));
    }
    for (int k = 0; k < rank; k++) {
        if (k == 0 && parallel) {
            const char *total = "n0";
            for (int j = 1; j < rank; j++)
                total = arena_printf(e->a, "%s * n%d", total, first_axis + j);
            emit_c_indent(e, depth);
            fprintf(e->out, "#pragma omp parallel for if (%s >= 1048576)\n", total);
        }
        emit_c_indent(e, depth + k);
        fprintf(e->out, "for (int64_t i%d = 0; i%d < n%d; i%d++)%s\n", first_axis + k, first_axis + k, first_axis + k,
                first_axis + k, k + 1 == rank ? " {" : "");
    }
}

static void close_loops(const Emit *e, int depth, int rank)
{
    if (rank == 0)
        return;
    emit_c_indent(e, depth + rank - 1);
    fputs("}\n", e->out);
}

/* Row-major index of the result at i0.. */
const char * emit_c_contiguous_index(const Emit *e, int rank)
{
    if (rank == 0)
        return "0";
    const char *r = "i0";
    for (int k = 1; k < rank; k++)
        r = arena_printf(e->a, "(%s) * n%d + i%d", r, k, k);
    return r;
}

static const char *ptr_type(const Emit *e, const IrNode *n) { (void)e; return emit_c_ctype(n->type.dtype); }

const char **emit_c_declare_inputs(const Emit *e, const IrNode *n, int depth, const int *axis_of)
{
    const char **loads = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    for (int k = 0; k < n->ninputs; k++) {
        int base;
        View v = emit_c_input_view(e, n, k, &base);
        const char *name = arena_printf(e->a, "x%d", k);
        emit_c_declare_view(e, depth, name, &v);
        loads[k] = emit_c_load(e, ir_get(e->f, base)->type.dtype, emit_c_base_name(e, base),
                               emit_c_offset(e, name, &v, axis_of));
    }
    return loads;
}

ReduceLoops emit_c_reduce_loops(const Emit *e, const IrNode *n)
{
    int rank = n->input_rank;
    ReduceLoops r = {
        .kept = arena_array(e->a, (size_t)rank + 1, sizeof(Size)),
        .red = arena_array(e->a, (size_t)rank + 1, sizeof(Size)),
        .axis_of = arena_array(e->a, (size_t)rank + 1, sizeof(int)),
    };
    for (int k = 0; k < rank; k++)
        if (!n->reduced[k])
            r.kept[r.nkept] = n->input_dims[k], r.axis_of[k] = r.nkept++;
    for (int k = 0; k < rank; k++)
        if (n->reduced[k])
            r.red[r.nred] = n->input_dims[k], r.axis_of[k] = r.nkept + r.nred++;
    return r;
}

/* A MAP (or a COPY, its identity) over its inputs' views. */
static void emit_map(const Emit *e, const IrNode *n, const MapExpr *expr)
{
    int depth = 2;
    const char **loads = emit_c_declare_inputs(e, n, depth, NULL);
    open_loops(e, depth, n->type.rank, n->type.dims, 0, true);
    if (n->type.rank == 0) {
        emit_c_indent(e, depth);
        fputs("{\n", e->out);
    }
    int body = depth + (n->type.rank ? n->type.rank : 1);
    const char *value = emit_c_expr_stored(e, expr, loads, body, n->type.dtype);
    emit_c_indent(e, body);
    fprintf(e->out, "b%d[%s] = %s;\n", n->id, emit_c_contiguous_index(e, n->type.rank), value);
    if (n->op == IR_MAP)
        count(e, body, arena_printf(e->a, "%d", cost_expr_ops(expr)));
    if (n->type.rank == 0) {
        emit_c_indent(e, depth);
        fputs("}\n", e->out);
    }
    close_loops(e, depth, n->type.rank);
}

static void count_mean_division(const Emit *e, int depth) { count(e, depth, "1"); }

static void emit_reduce(const Emit *e, const IrNode *n)
{
    int depth = 2, base = n->ninputs ? n->inputs[0] : -1;
    if (!n->expr)
        (void)emit_c_input_view(e, n, 0, &base); /* the loop nest is the input's axes (input_dims) */
    Dtype in_t = n->expr ? n->expr->dtype : ir_get(e->f, base)->type.dtype, out_t = n->type.dtype;
    /* loop axes: kept ones outside (i0..), reduced inside (numbered after) */
    ReduceLoops loops = emit_c_reduce_loops(e, n);
    int nkept = loops.nkept, nred = loops.nred;
    Size *kept = loops.kept, *red = loops.red;
    const int *axis_of = loops.axis_of;
    const char **loads = emit_c_declare_inputs(e, n, depth, axis_of);
    bool fl = dtype_is_float(in_t) || dtype_is_float(out_t);
    const char *acc_t = fl ? "double" : "int64_t";
    Emit in_loop = *e; /* the expression's axes are the input's; the loops are kept, then reduced */
    in_loop.loop_of_axis = axis_of;
    const char *x = NULL; /* made inside the innermost loop, where its locals go */
    const char *init, *step;
    switch (n->reduce) {
    case RED_SUM: case RED_MEAN: init = "0"; step = fl ? "acc += x;" : "acc = (int64_t)((uint64_t)acc + (uint64_t)x);"; break;
    case RED_PROD: init = "1"; step = fl ? "acc *= x;" : "acc = (int64_t)((uint64_t)acc * (uint64_t)x);"; break;
    case RED_MAX: init = fl ? "-INFINITY" : "INT64_MIN"; step = fl ? "if (x > acc || x != x) acc = x;" : "if (x > acc) acc = x;"; break;
    default: init = fl ? "INFINITY" : "INT64_MAX"; step = fl ? "if (x < acc || x != x) acc = x;" : "if (x < acc) acc = x;"; break;
    }
    if (fl && (n->reduce == RED_MAX || n->reduce == RED_MIN))
        step = n->reduce == RED_MAX ? "if (x > acc || x != x || acc != acc) acc = acc != acc ? acc : x;"
                                    : "if (x < acc || x != x || acc != acc) acc = acc != acc ? acc : x;";
    open_loops(e, depth, nkept, kept, 0, true);
    int d = depth + nkept;
    if (nkept == 0) {
        emit_c_indent(e, d);
        fputs("{\n", e->out);
        d++;
    }
    emit_c_indent(e, d);
    fprintf(e->out, "%s acc = %s;\n", acc_t, init);
    for (int k = 0; k < nred; k++) {
        emit_c_indent(e, d);
        fprintf(e->out, "const int64_t n%d = %s;\n", nkept + k, emit_c_size(e, red[k]));
    }
    for (int k = 0; k < nred; k++) {
        emit_c_indent(e, d + k);
        fprintf(e->out, "for (int64_t i%d = 0; i%d < n%d; i%d++)%s\n", nkept + k, nkept + k, nkept + k, nkept + k,
                k + 1 == nred ? " {" : "");
    }
    x = n->expr ? emit_c_expr(&in_loop, n->expr, loads, d + nred) : loads[0];
    emit_c_indent(e, d + nred);
    fprintf(e->out, "const %s x = (%s)%s;\n", acc_t, acc_t, x);
    emit_c_indent(e, d + nred);
    fprintf(e->out, "%s\n", step);
    count(e, d + nred, arena_printf(e->a, "%d", 1 + (n->expr ? cost_expr_ops(n->expr) : 0)));
    if (nred) {
        emit_c_indent(e, d + nred - 1);
        fputs("}\n", e->out);
    }
    const char *result = "acc";
    if (n->reduce == RED_MEAN) {
        const char *count = "1";
        for (int k = 0; k < nred; k++)
            count = arena_printf(e->a, "%s * n%d", count, nkept + k);
        result = arena_printf(e->a, "acc / (double)(%s)", count);
        if (e->count_flops)
            count_mean_division(e, d);
    }
    emit_c_indent(e, d);
    if (dtype_is_narrow(out_t) && fl) /* the double accumulator rounds once */
        fprintf(e->out, "b%d[%s] = td_f64_to_%s(%s);\n", n->id, emit_c_contiguous_index(e, nkept), emit_c_narrow_name(out_t), result);
    else
        fprintf(e->out, "b%d[%s] = %s;\n", n->id, emit_c_contiguous_index(e, nkept),
                emit_c_store(e, out_t, arena_printf(e->a, "(%s)(%s)", emit_c_compute_type(out_t), result)));
    if (nkept == 0) {
        emit_c_indent(e, d - 1);
        fputs("}\n", e->out);
    }
    close_loops(e, depth, nkept);
}

/* The stride of a group of labels of a view, merged: the innermost's. */
static const char *group_stride(const Emit *e, const View *v, const int *labels, const int *group, int ngroup)
{
    const char *r = "0";
    for (int k = 0; k < v->rank; k++)
        for (int g = 0; g < ngroup; g++) {
            int64_t one;
            if (labels[k] == group[g] && !(size_is_const(v->dims[k], &one) && one == 1))
                r = emit_c_poly(e, v->strides[k]);
        }
    return r;
}

bool emit_c_in_list(const int *l, int n, int x)
{
    for (int i = 0; i < n; i++)
        if (l[i] == x)
            return true;
    return false;
}

void emit_c_declare_placed(const Emit *e, const IrFunction *f, const FnPlan *plan)
{
    for (size_t i = f->nodes.len; i-- > 0;) { /* a scatter's pieces after it: it is declared */
        const IrNode *n = f->nodes.items[i];
        int s = plan->placed_in[i];
        if (s < 0)
            continue;
        const IrNode *sc = ir_get(f, s);
        if (plan_epilogue_map(plan, f, n->id) >= 0) { /* a product in its epilogue's buffer (plan_epilogue) */
            fprintf(e->out, "    %s *b%d = b%d; /* in the buffer of %%%d, its epilogue */\n    (void)b%d;\n",
                    emit_c_ctype(n->type.dtype), n->id, s, s, n->id);
            continue;
        }
        int k = 0;
        while (sc->inputs[k] != n->id)
            k++;
        const View *to = sc->scatter_views ? &sc->scatter_views[k] : &sc->view;
        const char *t = emit_c_ctype(n->type.dtype);
        const char *at = poly_is_zero(to->offset) ? "" : arena_printf(e->a, " + %s", emit_c_poly(e, to->offset));
        fprintf(e->out, "    %s *b%d = b%d%s; /* in its block of %%%d */\n    (void)b%d;\n", t, n->id, s, at, s, n->id);
    }
}

void emit_c_gemm_desc(const Emit *e, const IrNode *n, const char **pa_out, const char **pb_out)
{
    int ba, bb;
    View va = emit_c_input_view(e, n, 0, &ba), vb = emit_c_input_view(e, n, 1, &bb);
    int nb = 0, nm = 0, nn = 0, nk = 0;
    int *batch = arena_array(e->a, (size_t)n->type.rank + 1, sizeof(int)), *m = arena_array(e->a, (size_t)n->rank_a + 1, sizeof(int));
    int *nl = arena_array(e->a, (size_t)n->rank_b + 1, sizeof(int)), *k = arena_array(e->a, (size_t)n->rank_a + 1, sizeof(int));
    for (int i = 0; i < n->rank_a; i++) {
        int l = n->labels_a[i];
        bool in_b = emit_c_in_list(n->labels_b, n->rank_b, l), in_out = emit_c_in_list(n->labels_out, n->type.rank, l);
        if (in_b && in_out)
            batch[nb++] = l;
        else if (in_b)
            k[nk++] = l;
        else
            m[nm++] = l;
    }
    for (int i = 0; i < n->rank_b; i++)
        if (!emit_c_in_list(n->labels_a, n->rank_a, n->labels_b[i]))
            nl[nn++] = n->labels_b[i];
    const char *sm = "1", *sn = "1", *sk = "1";
    for (int i = 0; i < nm; i++)
        sm = arena_printf(e->a, "%s * %s", sm, emit_c_size(e, n->label_sizes[m[i]]));
    for (int i = 0; i < nn; i++)
        sn = arena_printf(e->a, "%s * %s", sn, emit_c_size(e, n->label_sizes[nl[i]]));
    for (int i = 0; i < nk; i++)
        sk = arena_printf(e->a, "%s * %s", sk, emit_c_size(e, n->label_sizes[k[i]]));
    int depth = 2;
    emit_c_indent(e, depth);
    bool widens = ir_contract_widens(e->f, n);
    fprintf(e->out, "td_gemm g = td_gemm_rowmajor(%s, %s, %s, %s);\n", emit_c_dtype_enum(ir_get(e->f, ba)->type.dtype), sm, sn, sk);
    if (widens) {
        emit_c_indent(e, depth);
        fputs("g.c_f32 = true; /* the f32 sums stored as they are */\n", e->out);
    }
    emit_c_indent(e, depth);
    fprintf(e->out, "g.a_rs = %s;\n", group_stride(e, &va, n->labels_a, m, nm));
    emit_c_indent(e, depth);
    fprintf(e->out, "g.a_cs = %s;\n", group_stride(e, &va, n->labels_a, k, nk));
    emit_c_indent(e, depth);
    fprintf(e->out, "g.b_rs = %s;\n", group_stride(e, &vb, n->labels_b, k, nk));
    emit_c_indent(e, depth);
    fprintf(e->out, "g.b_cs = %s;\n", group_stride(e, &vb, n->labels_b, nl, nn));
    emit_c_indent(e, depth);
    fprintf(e->out, "g.batch_rank = %d;\n", nb);
    const char *c_stride = arena_printf(e->a, "(%s) * (%s)", sm, sn);
    for (int i = nb - 1; i >= 0; i--) {
        emit_c_indent(e, depth);
        fprintf(e->out, "g.batch[%d] = %s; g.a_bs[%d] = %s; g.b_bs[%d] = %s; g.c_bs[%d] = %s;\n", i,
                emit_c_size(e, n->label_sizes[batch[i]]), i, group_stride(e, &va, n->labels_a, &batch[i], 1), i,
                group_stride(e, &vb, n->labels_b, &batch[i], 1), i, c_stride);
        c_stride = arena_printf(e->a, "%s * %s", c_stride, emit_c_size(e, n->label_sizes[batch[i]]));
    }
    const char *pa = poly_is_zero(va.offset) ? emit_c_base_name(e, ba) : arena_printf(e->a, "%s + %s", emit_c_base_name(e, ba), emit_c_poly(e, va.offset));
    const char *pb = poly_is_zero(vb.offset) ? emit_c_base_name(e, bb) : arena_printf(e->a, "%s + %s", emit_c_base_name(e, bb), emit_c_poly(e, vb.offset));
    *pa_out = pa;
    *pb_out = pb;
}

static void emit_contract(const Emit *e, const IrNode *n)
{
    const char *pa, *pb;
    int depth = 2;
    emit_c_gemm_desc(e, n, &pa, &pb);
    emit_c_indent(e, depth);
    fprintf(e->out, "if (td_gemm_run(m->ctx, &g, %s, %s, b%d) != TD_OK)\n", pa, pb, n->id);
    emit_c_indent(e, depth + 1);
    fprintf(e->out, "return TD_ERR_INPUT;\n");
    if (e->count_flops) { /* 2 per term, from what the GEMM was given */
        emit_c_indent(e, depth);
        fputs("double terms = 2.0 * (double)g.m * (double)g.n * (double)g.k;\n", e->out);
        emit_c_indent(e, depth);
        fputs("for (int q = 0; q < g.batch_rank; q++)\n", e->out);
        emit_c_indent(e, depth + 1);
        fputs("terms *= (double)g.batch[q];\n", e->out);
        count(e, depth, "terms");
    }
}

static void emit_gather(const Emit *e, const IrNode *n)
{
    int bt, bi;
    View vt = emit_c_input_view(e, n, 0, &bt), vi = emit_c_input_view(e, n, 1, &bi);
    int depth = 2;
    emit_c_declare_view(e, depth, "t", &vt);
    emit_c_declare_view(e, depth, "x", &vi);
    emit_c_indent(e, depth);
    fprintf(e->out, "const int64_t rows = %s;\n", emit_c_size(e, vt.dims[0]));
    int ri = vi.rank, rt = vt.rank;
    open_loops(e, depth, ri, vi.dims, 0, false);
    int d = depth + ri;
    if (ri == 0) {
        emit_c_indent(e, d++);
        fputs("{\n", e->out);
    }
    Dtype it = ir_get(e->f, bi)->type.dtype;
    emit_c_indent(e, d);
    fprintf(e->out, "int64_t row = (int64_t)%s[%s];\n", emit_c_base_name(e, bi), emit_c_offset(e, "x", &vi, NULL));
    emit_c_indent(e, d);
    fputs("if (row < -rows || row >= rows)\n", e->out);
    emit_c_indent(e, d + 1);
    fprintf(e->out, "return td_fail(m->ctx, TD_ERR_INPUT, \"%s: index %%lld is out of range for an axis of size %%lld\", (long long)row, (long long)rows);\n",
            where(e, n->loc));
    (void)it;
    emit_c_indent(e, d);
    fputs("if (row < 0)\n", e->out);
    emit_c_indent(e, d + 1);
    fputs("row += rows;\n", e->out);
    /* the rest of the table's axes, copied */
    int *axis_of = arena_array(e->a, (size_t)rt + 1, sizeof(int));
    for (int k = 1; k < rt; k++)
        axis_of[k] = ri + k - 1;
    open_loops(e, d, rt - 1, vt.dims + 1, ri, false);
    const char *src = "row * t_s0";
    if (poly_is_zero(vt.strides[0]))
        src = "0";
    for (int k = 1; k < rt; k++)
        if (!poly_is_zero(vt.strides[k]))
            src = arena_printf(e->a, "%s + i%d * t_s%d", src, ri + k - 1, k);
    if (!poly_is_zero(vt.offset))
        src = arena_printf(e->a, "t_off + %s", src);
    const char *dst = emit_c_contiguous_index(e, ri + rt - 1);
    emit_c_indent(e, d + rt - 1);
    fprintf(e->out, "b%d[%s] = %s[%s];\n", n->id, dst, emit_c_base_name(e, bt), src);
    close_loops(e, d, rt - 1);
    if (ri == 0) {
        emit_c_indent(e, d - 1);
        fputs("}\n", e->out);
    }
    close_loops(e, depth, ri);
}

static void emit_random(const Emit *e, const IrNode *n)
{
    emit_c_indent(e, 2);
    const char *count = "1";
    for (int k = 0; k < n->type.rank; k++)
        count = arena_printf(e->a, "%s * %s", count, emit_c_size(e, n->type.dims[k]));
    fprintf(e->out, "if (td_rng_%s_%s(m->ctx, &m->rng, b%d, (size_t)(%s)) != TD_OK)\n", n->index ? "uniform" : "normal",
            n->type.dtype == DT_F64 ? "f64" : "f32", n->id, count);
    emit_c_indent(e, 3);
    fputs("return TD_ERR_INPUT;\n", e->out);
}

/* The bytes of a node's result, as C. */
const char * emit_c_bytes(const Emit *e, const IrNode *n)
{
    const char *r = arena_printf(e->a, "(size_t)%d", (dtype_bits(n->type.dtype) + 7) / 8);
    for (int k = 0; k < n->type.rank; k++)
        r = arena_printf(e->a, "%s * (size_t)%s", r, emit_c_size(e, n->type.dims[k]));
    return r;
}

/* zeros, then each input added in at the places its view names; inputs
 * that tile the result (ir_scatter_tiles) each stored at their places */
static void emit_scatter(const Emit *e, const IrNode *n)
{
    Dtype t = n->type.dtype;
    bool tiles = ir_scatter_tiles(e->a, n, e->p->names);
    emit_c_indent(e, 2);
    if (tiles)
        fputs("/* the inputs tile the result: each stored at its places */\n", e->out);
    else
        fprintf(e->out, "memset(b%d, 0, %s);\n", n->id, emit_c_bytes(e, n));
    for (int k = 0; k < n->ninputs; k++) {
        if (e->plan->placed_in[n->inputs[k]] == n->id) { /* computed in its block */
            emit_c_indent(e, 2);
            fprintf(e->out, "/* input %d, %%%d, was computed in its place */\n", k, n->inputs[k]);
            continue;
        }
        int base;
        View in = emit_c_input_view(e, n, k, &base);
        const View *to = n->scatter_views ? &n->scatter_views[k] : &n->view;
        int depth = 2;
        if (n->ninputs > 1) {
            emit_c_indent(e, 2);
            fputs("{\n", e->out);
            depth = 3;
        }
        emit_c_declare_view(e, depth, "x0", &in);
        emit_c_declare_view(e, depth, "o", to);
        open_loops(e, depth, to->rank, to->dims, 0, true); /* each view is one to one: no two elements meet */
        emit_c_indent(e, depth + to->rank);
        const char *at = emit_c_offset(e, "o", to, NULL);
        const char *x = emit_c_load(e, ir_get(e->f, base)->type.dtype, emit_c_base_name(e, base), emit_c_offset(e, "x0", &in, NULL));
        const char *sum = tiles ? x : arena_printf(e->a, "%s + %s", emit_c_load(e, t, arena_printf(e->a, "b%d", n->id), at), x);
        fprintf(e->out, "b%d[%s] = %s;\n", n->id, at, emit_c_store(e, t, sum));
        if (!tiles)
            count(e, depth + to->rank, "1"); /* the addition */
        close_loops(e, depth, to->rank);
        if (n->ninputs > 1) {
            emit_c_indent(e, 2);
            fputs("}\n", e->out);
        }
    }
}

/* zeros of the table's shape; row idx[p] of the result gets row p of the adjoint added */
static void emit_gather_grad(const Emit *e, const IrNode *n)
{
    int bg, bi;
    View vg = emit_c_input_view(e, n, 0, &bg), vi = emit_c_input_view(e, n, 1, &bi);
    Dtype t = n->type.dtype;
    int ri = vi.rank, rt = n->type.rank;
    emit_c_indent(e, 2);
    fprintf(e->out, "memset(b%d, 0, %s);\n", n->id, emit_c_bytes(e, n));
    emit_c_declare_view(e, 2, "g", &vg);
    emit_c_declare_view(e, 2, "x", &vi);
    emit_c_indent(e, 2);
    fprintf(e->out, "const int64_t rows = %s, row_size = 1", emit_c_size(e, n->type.dims[0]));
    for (int k = 1; k < rt; k++)
        fprintf(e->out, " * %s", emit_c_size(e, n->type.dims[k]));
    fputs(";\n", e->out);
    emit_c_indent(e, 2);
    fputs("(void)row_size;\n", e->out);
    open_loops(e, 2, ri, vi.dims, 0, false); /* in order: two indices may name one row */
    int d = 2 + ri;
    if (ri == 0) {
        emit_c_indent(e, d++);
        fputs("{\n", e->out);
    }
    emit_c_indent(e, d);
    fprintf(e->out, "int64_t row = (int64_t)%s[%s];\n", emit_c_base_name(e, bi), emit_c_offset(e, "x", &vi, NULL));
    emit_c_indent(e, d);
    fputs("if (row < 0)\n", e->out);
    emit_c_indent(e, d + 1);
    fputs("row += rows; /* checked in the forward gather */\n", e->out);
    open_loops(e, d, rt - 1, n->type.dims + 1, ri, false);
    const char *dst = arena_printf(e->a, "row * row_size + %s", rt > 1 ? "0" : "0");
    if (rt > 1) {
        const char *inner = arena_printf(e->a, "i%d", ri);
        for (int k = 2; k < rt; k++)
            inner = arena_printf(e->a, "(%s) * n%d + i%d", inner, ri + k - 1, ri + k - 1);
        dst = arena_printf(e->a, "row * row_size + %s", inner);
    }
    const char *src = emit_c_offset(e, "g", &vg, NULL);
    emit_c_indent(e, d + rt - 1);
    fprintf(e->out, "b%d[%s] = %s;\n", n->id, dst,
            emit_c_store(e, t, arena_printf(e->a, "%s + %s", emit_c_load(e, t, arena_printf(e->a, "b%d", n->id), dst),
                                             emit_c_load(e, ir_get(e->f, bg)->type.dtype, emit_c_base_name(e, bg), src))));
    count(e, d + rt - 1, "1");
    close_loops(e, d, rt - 1);
    if (ri == 0) {
        emit_c_indent(e, d - 1);
        fputs("}\n", e->out);
    }
    close_loops(e, 2, ri);
}

/* Emits node n, operation `op` of the function's cost table (timed into
 * m->profile when profiling). */
static void emit_node(const Emit *outer, const IrNode *n, int op)
{
    if (!plan_has_buffer(n))
        return;
    Emit here = *outer;
    here.op = op;
    const Emit *e = &here;
    fprintf(e->out, "    /* %%%d %s: %s */\n    {\n", n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc));
    fputs("        const double tdg_t0 = m->profile ? td_now() : 0;\n", e->out);
    switch (n->op) {
    case IR_MAP: emit_map(e, n, n->expr); break;
    case IR_COPY: emit_map(e, n, mx_input(e->a, 0, ir_get(e->f, n->inputs[0])->type.dtype)); break;
    case IR_REDUCE: emit_reduce(e, n); break;
    case IR_CONTRACT: emit_contract(e, n); break;
    case IR_GATHER: emit_gather(e, n); break;
    case IR_RANDOM: emit_random(e, n); break;
    case IR_SCATTER: emit_scatter(e, n); break;
    case IR_GATHER_GRAD: emit_gather_grad(e, n); break;
    default: die("emit: op %s", ir_op_name(n->op));
    }
    fprintf(e->out, "        if (m->profile)\n            tdg_profiled(m, %d, tdg_t0);\n    }\n", op);
}

/* ---- functions ---- */

const char *const emit_c_prelude =
    "#include <math.h>\n"
    "#include <stdint.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include \"td.h\"\n"
    "\n"
    EMIT_ELEMENT_FUNCTIONS("static inline ")
    "/* One operation's time, when profiling (td_profile). */\n"
    "static inline void tdg_profiled(td_model *m, int op, double t0)\n"
    "{\n"
    "    if (op < m->profile->nops) {\n"
    "        m->profile->seconds[op] += td_now() - t0;\n"
    "        m->profile->calls[op]++;\n"
    "    }\n"
    "}\n";

const char *const emit_c_plan_helper =
    "\n"
    "/* Lays out slots end to end at 64-byte boundaries: slot s is as large as\n"
    " * its largest member (entry i belongs to slot slot_of[i]). */\n"
    "static td_status tdg_plan(td_ctx *ctx, const int64_t *dims, int nslots, int n, const td_size_expr *bytes,\n"
    "                          const int *slot_of, size_t *offsets, size_t *total)\n"
    "{\n"
    "    size_t size[nslots > 0 ? nslots : 1];\n"
    "    for (int s = 0; s < nslots; s++)\n"
    "        size[s] = 0;\n"
    "    for (int i = 0; i < n; i++) {\n"
    "        int64_t b = td_size_eval(&bytes[i], dims);\n"
    "        if (b < 0)\n"
    "            return td_fail(ctx, TD_ERR_OOM, \"the dims make a tensor larger than memory can address\");\n"
    "        if ((size_t)b > size[slot_of[i]])\n"
    "            size[slot_of[i]] = (size_t)b;\n"
    "    }\n"
    "    size_t at = 0;\n"
    "    for (int s = 0; s < nslots; s++) {\n"
    "        offsets[s] = at;\n"
    "        size_t padded;\n"
    "        if (!td_add_size(size[s], 63, &padded) || !td_add_size(at, padded / 64 * 64, &at))\n"
    "            return td_fail(ctx, TD_ERR_OOM, \"the dims make the workspace larger than memory can address\");\n"
    "    }\n"
    "    *total = at;\n"
    "    return TD_OK;\n"
    "}\n";

static void emit_size_table(const Emit *e, const char *name, const FnPlan *plan)
{
    int n = 0;
    for (int s = 0; s < plan->nslots; s++)
        n += plan->slots[s].nmembers;
    if (n == 0)
        return;
    fprintf(e->out, "static const td_size_expr %s_bytes[] = {\n", name);
    for (int s = 0; s < plan->nslots; s++)
        for (int k = 0; k < plan->slots[s].nmembers; k++)
            fprintf(e->out, "    %s, /* slot %d: %%%d */\n", emit_c_size_desc(e, plan->slots[s].bytes[k]), s, plan->slots[s].members[k]);
    fprintf(e->out, "};\nstatic const int %s_slot[] = {", name);
    for (int s = 0, i = 0; s < plan->nslots; s++)
        for (int k = 0; k < plan->slots[s].nmembers; k++, i++)
            fprintf(e->out, "%s%d", i ? ", " : "", s);
    fputs("};\n", e->out);
}

static int plan_entries(const FnPlan *plan)
{
    int n = 0;
    for (int s = 0; s < plan->nslots; s++)
        n += plan->slots[s].nmembers;
    return n;
}

void emit_c_plan_function(const Emit *e, int index, const FnPlan *plan)
{
    const char *name = arena_printf(e->a, "tdg_plan%d", index);
    emit_size_table(e, name, plan);
    int n = plan_entries(plan);
    fprintf(e->out, "%s td_status tdg_plan_fn%d(td_ctx *ctx, const int64_t *dims, size_t *offsets, size_t *total)\n{\n",
            e->linkage, index);
    fprintf(e->out, "    return tdg_plan(ctx, dims, %d, %d, %s, %s, offsets, total);\n}\n\n", plan->nslots, n,
            n ? arena_printf(e->a, "%s_bytes", name) : "NULL", n ? arena_printf(e->a, "%s_slot", name) : "NULL");
}

static void emit_dims(const Emit *e)
{
    for (size_t i = 0; i < e->p->dim_names.len; i++)
        fprintf(e->out, "    const int64_t dim_%s = m->dims[%zu];\n    (void)dim_%s;\n", (const char *)e->p->dim_names.items[i], i,
                (const char *)e->p->dim_names.items[i]);
}

static void emit_output_copy(const Emit *e, int i, int id)
{
    int base;
    View v = view_of_input(e, id, &base);
    const IrNode *n = ir_get(e->f, id);
    fprintf(e->out, "    /* result %d */\n    {\n        %s *o = out[%d];\n", i, emit_c_ctype(n->type.dtype), i);
    emit_c_declare_view(e, 2, "x0", &v);
    open_loops(e, 2, v.rank, v.dims, 0, true);
    emit_c_indent(e, 2 + v.rank);
    fprintf(e->out, "o[%s] = %s[%s];\n", emit_c_contiguous_index(e, v.rank), emit_c_base_name(e, base), emit_c_offset(e, "x0", &v, NULL));
    close_loops(e, 2, v.rank);
    fputs("    }\n", e->out);
}

/* The pointers to a function's buffers: its inputs, parameters, results
 * written in place and workspace slots (from offsets[]). */
static void emit_buffers(Emit *e, const IrFunction *f, const FnPlan *plan)
{
    fputs("    unsigned char *ws = m->region[TD_REGION_WORKSPACE];\n    (void)ws;\n    (void)in;\n", e->out);
    for (size_t i = 0; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (n->dead || plan->placed_in[n->id] >= 0) /* placed: emit_c_declare_placed */
            continue;
        const char *t = ptr_type(e, n);
        if (n->op == IR_INPUT)
            fprintf(e->out, "    const %s *b%d = in[%d]; /* %s */\n", t, n->id, n->index, f->input_names[n->index]);
        else if (n->op == IR_PARAM)
            fprintf(e->out, "    const %s *b%d = td_model_param(m, %d); /* %s */\n", t, n->id, n->index,
                    ((const IrParam *)e->p->params.items[n->index])->name);
        else if (plan_has_buffer(n) && plan->output_of[n->id] >= 0)
            fprintf(e->out, "    %s *b%d = out[%d]; /* result %d, in place */\n", t, n->id, plan->output_of[n->id], plan->output_of[n->id]);
        else if (plan_has_buffer(n))
            fprintf(e->out, "    %s *b%d = (%s *)(ws + offsets[%d]);\n", t, n->id, t, plan->slot_of[n->id]);
        else
            continue;
        fprintf(e->out, "    (void)b%d;\n", n->id);
    }
    emit_c_declare_placed(e, f, plan);
}

static void emit_plan_call(const Emit *e, int index, const FnPlan *plan)
{
    fprintf(e->out, "    size_t offsets[%d], total;\n", plan->nslots ? plan->nslots : 1);
    fprintf(e->out, "    if (tdg_plan_fn%d(m->ctx, m->dims, offsets, &total) != TD_OK)\n        return TD_ERR_OOM;\n", index);
}

static void emit_output_copies(const Emit *e, const IrFunction *f, const FnPlan *plan)
{
    for (int i = 0; i < f->noutputs; i++)
        if (plan->copy_output[i])
            emit_output_copy(e, i, f->outputs[i]);
}

/* Function index, its operations' code `body` (NULL: written here, node
 * by node). */
static void emit_function_with(Emit *e, int index, const IrFunction *f, const FnPlan *plan, const char *body)
{
    e->f = f;
    e->plan = plan;
    fprintf(e->out, "/* %s */\n%s td_status tdg_fn%d(td_model *m, const void *const *in, void *const *out)\n{\n", f->name,
            e->linkage, index);
    emit_dims(e);
    emit_plan_call(e, index, plan);
    emit_buffers(e, f, plan);
    if (body) {
        fputs(body, e->out);
    } else {
        int op = 0;
        for (size_t i = 0; i < f->nodes.len; i++)
            if (plan_has_buffer(f->nodes.items[i]))
                emit_node(e, f->nodes.items[i], op++);
    }
    emit_output_copies(e, f, plan);
    fputs("    return TD_OK;\n}\n\n", e->out);
}

void emit_c_function(Emit *e, int index, const IrFunction *f, const FnPlan *plan)
{
    emit_function_with(e, index, f, plan, NULL);
}

/* What is written to e->out between capture_begin and capture_end, as an
 * arena string. */
typedef struct Capture {
    FILE *saved;
    char *text;
    size_t len;
} Capture;

static void capture_begin(Emit *e, Capture *c)
{
    *c = (Capture){.saved = e->out};
    e->out = open_memstream(&c->text, &c->len);
    if (!e->out)
        die("emit: out of memory");
}

static char *capture_end(Emit *e, Capture *c)
{
    fclose(e->out);
    e->out = c->saved;
    char *kept = arena_strdup(e->a, c->text ? c->text : "");
    free(c->text);
    return kept;
}

/* Segment k: the buffers, then its operations' code (body). */
static char *segment_text(Emit *e, int index, int k, const char *body, bool last)
{
    Capture c;
    capture_begin(e, &c);
    fprintf(e->out, "/* %s, segment %d */\nTDG_FN td_status tdg_fn%d_%d(td_model *m, const void *const *in, void *const *out,\n"
                    "    const size_t *offsets)\n{\n", e->f->name, k, index, k);
    emit_dims(e);
    emit_buffers(e, e->f, e->plan);
    fputs("    (void)out;\n", e->out);
    fputs(body, e->out);
    if (last)
        emit_output_copies(e, e->f, e->plan);
    fputs("    return TD_OK;\n}\n\n", e->out);
    return capture_end(e, &c);
}

int emit_c_function_segments(Emit *e, int index, const IrFunction *f, const FnPlan *plan, size_t bytes, char ***texts)
{
    e->f = f;
    e->plan = plan;
    /* the operations' code, cut where it passes `bytes` */
    PtrVec bodies = {0};
    Capture c;
    capture_begin(e, &c);
    int op = 0;
    for (size_t i = 0; i < f->nodes.len; i++) {
        if (!plan_has_buffer(f->nodes.items[i]))
            continue;
        emit_node(e, f->nodes.items[i], op++);
        fflush(e->out);
        if (c.len >= bytes) {
            ptrvec_push(e->a, &bodies, capture_end(e, &c));
            capture_begin(e, &c);
        }
    }
    char *rest = capture_end(e, &c);
    if (rest[0] || bodies.len == 0)
        ptrvec_push(e->a, &bodies, rest);
    int k = (int)bodies.len;
    if (k == 1) { /* one: the function as it is */
        *texts = arena_array(e->a, 1, sizeof(char *));
        capture_begin(e, &c);
        emit_function_with(e, index, f, plan, bodies.items[0]);
        (*texts)[0] = capture_end(e, &c);
        return 1;
    }
    *texts = arena_array(e->a, (size_t)k + 1, sizeof(char *));
    for (int s = 0; s < k; s++)
        (*texts)[s] = segment_text(e, index, s, bodies.items[s], s == k - 1);
    capture_begin(e, &c);
    fprintf(e->out, "/* %s: its %d segments in order */\nTDG_FN td_status tdg_fn%d(td_model *m, const void *const *in, void *const *out)\n{\n",
            f->name, k, index);
    emit_plan_call(e, index, plan);
    fputs("    static td_status (*const segment[])(td_model *, const void *const *, void *const *, const size_t *) = {", e->out);
    for (int s = 0; s < k; s++)
        fprintf(e->out, "%stdg_fn%d_%d", s ? ", " : "", index, s);
    fprintf(e->out, "};\n    for (int s = 0; s < %d; s++) {\n        td_status st = segment[s](m, in, out, offsets);\n"
                    "        if (st != TD_OK)\n            return st;\n    }\n    return TD_OK;\n}\n\n", k);
    (*texts)[k] = capture_end(e, &c);
    return k + 1;
}
