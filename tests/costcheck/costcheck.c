/* costcheck.c - checks the planned FLOPs of every operation against a count.
 *
 *   costcheck [NAME=VALUE]...
 * Linked with the C of one program compiled with `tdc --lib --count-flops`
 * (whose td_model_desc is model_desc), which adds the operations each
 * operation actually executes to tdg_counted[op] (op: the operation's index
 * in its function's cost table, td_fn_desc.cost->ops). The arguments bind
 * the run-time dims (a run-time dim not named is 3). For every exported
 * function: the inputs are filled with deterministic values, tdg_counted is
 * zeroed, the function is called once, and each operation's count must
 * equal the FLOPs fn->cost->costs(dims, ...) planned for it, exactly (both
 * are whole numbers, held exactly in doubles); no count may land past the
 * function's last operation.
 *
 * An integer input named i<K>_<DIM> indexes an axis of size DIM: its values
 * are drawn from [0, DIM). Any other integer input is not an index and gets
 * values in [-2, 2] ([0, 4] for u16); an index input misnamed this way would
 * make its gather fail (the generated code checks every index), not pass.
 *
 * Prints `PASS FN (N ops, F flops)` or `FAIL FN: op I (node N, line L, KIND):
 * planned P counted C` (the first operation that differs) per function,
 * then `N passed, N failed`. Exit status 0 when every function passes, 1
 * otherwise, 2 for a bad command line or a model that cannot be made. */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Written by the --count-flops build (not declared in its header). */
#define COUNTED 65536
extern double tdg_counted[COUNTED];

enum { MAX_DIMS = 64, MAX_TENSORS = 64 };

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "costcheck: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static size_t elements(const td_tensor_desc *t, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= (size_t)td_size_eval(&t->shape[k], dims);
    return n;
}

static void put(void *p, td_dtype t, size_t i, double v)
{
    switch (t) {
    case TD_F64: ((double *)p)[i] = v; break;
    case TD_F32: ((float *)p)[i] = (float)v; break;
    case TD_F16: ((uint16_t *)p)[i] = td_f64_to_f16(v); break;
    case TD_BF16: ((uint16_t *)p)[i] = td_f64_to_bf16(v); break;
    case TD_F8E4M3: ((uint8_t *)p)[i] = td_f64_to_f8e4m3(v); break;
    case TD_F8E5M2: ((uint8_t *)p)[i] = td_f64_to_f8e5m2(v); break;
    case TD_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case TD_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case TD_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case TD_BOOL: ((bool *)p)[i] = v != 0; break;
    default: die("dtype %s is not supported", td_dtype_name(t));
    }
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static uint64_t hash(const char *a, const char *b)
{
    uint64_t h = 1469598103934665603u;
    for (const char *s = a; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    h = (h ^ '/') * 1099511628211u;
    for (const char *s = b; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static bool is_int(td_dtype t) { return t == TD_I64 || t == TD_I32 || t == TD_U16; }

/* The bound of an index input i<K>_<DIM>: DIM's value; -1 when the name
 * does not follow the convention or names no dim. */
static int64_t index_bound(const td_model *m, const char *name)
{
    if (name[0] != 'i' || !name[1])
        return -1;
    const char *p = name + 1;
    while (*p >= '0' && *p <= '9')
        p++;
    if (p == name + 1 || *p != '_')
        return -1;
    const td_model_desc *d = m->desc;
    for (int i = 0; i < d->ndims; i++)
        if (!strcmp(d->dims[i].name, p + 1))
            return m->dims[i];
    return -1;
}

/* Fills input t of function fn; NULL when fine, else why not. */
static const char *fill(const td_model *m, const char *fn, const td_tensor_desc *t, void *p, size_t n, char *why,
                        size_t whylen)
{
    uint64_t s = hash(fn, t->name);
    int64_t bound = 0;
    if (is_int(t->dtype)) {
        bound = index_bound(m, t->name);
        if (bound == 0) {
            snprintf(why, whylen, "index input '%s' names a dim of size 0", t->name);
            return why;
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t z = splitmix(&s);
        if (is_int(t->dtype) && bound > 0)
            put(p, t->dtype, i, (double)(int64_t)(z % (uint64_t)bound));
        else if (is_int(t->dtype)) /* not an index: small values */
            put(p, t->dtype, i, (double)(int64_t)(z % 5) - (t->dtype == TD_U16 ? 0 : 2));
        else if (t->dtype == TD_BOOL)
            put(p, t->dtype, i, z & 1);
        else {
            double u = (double)(z >> 11) * 0x1p-53;
            put(p, t->dtype, i, (z & 1 ? -1 : 1) * (0.2 + 1.3 * u));
        }
    }
    return NULL;
}

/* Runs function f once and compares; NULL when it passes, else why not. */
static const char *check(td_model *m, const td_fn_desc *f, double *total, int *nops, char *why, size_t whylen)
{
    *total = 0;
    *nops = 0;
    if (!f->cost) {
        snprintf(why, whylen, "no cost table");
        return why;
    }
    const td_cost_desc *c = f->cost;
    *nops = c->nops;
    if (f->ninputs > MAX_TENSORS || f->noutputs > MAX_TENSORS || c->nops > COUNTED) {
        snprintf(why, whylen, "too many tensors or operations");
        return why;
    }
    void *in[MAX_TENSORS] = {0}, *out[MAX_TENSORS] = {0};
    const char *bad = NULL;
    for (int i = 0; i < f->ninputs && !bad; i++) {
        size_t n = elements(&f->inputs[i], m->dims);
        in[i] = calloc(n + 1, td_dtype_size(f->inputs[i].dtype));
        if (!in[i])
            die("out of memory");
        bad = fill(m, f->name, &f->inputs[i], in[i], n, why, whylen);
    }
    for (int i = 0; i < f->noutputs; i++)
        if (!(out[i] = calloc(elements(&f->outputs[i], m->dims) + 1, td_dtype_size(f->outputs[i].dtype))))
            die("out of memory");
    double *flops = calloc((size_t)c->nops + 1, sizeof(double)), *bytes = calloc((size_t)c->nops + 1, sizeof(double));
    if (!flops || !bytes)
        die("out of memory");
    if (!bad) {
        memset(tdg_counted, 0, sizeof tdg_counted);
        if (f->call(m, (const void *const *)in, out) != TD_OK) {
            snprintf(why, whylen, "the call fails: %s", td_ctx_error(m->ctx));
            bad = why;
        }
    }
    if (!bad) {
        c->costs(m->dims, flops, bytes);
        for (int i = 0; i < c->nops && !bad; i++) {
            *total += flops[i];
            if (flops[i] != tdg_counted[i]) {
                const td_op_desc *o = &c->ops[i];
                snprintf(why, whylen, "op %d (node %d, line %u, %s): planned %.17g counted %.17g", i, o->node, o->line,
                         o->kind, flops[i], tdg_counted[i]);
                bad = why;
            }
        }
        for (int i = c->nops; i < COUNTED && !bad; i++)
            if (tdg_counted[i] != 0) {
                snprintf(why, whylen, "op %d: counted %.17g, but the function has %d operations", i, tdg_counted[i],
                         c->nops);
                bad = why;
            }
    }
    for (int i = 0; i < f->ninputs; i++)
        free(in[i]);
    for (int i = 0; i < f->noutputs; i++)
        free(out[i]);
    free(flops);
    free(bytes);
    return bad;
}

int main(int argc, char **argv)
{
    const td_model_desc *d = &model_desc;
    if (d->ndims > MAX_DIMS)
        die("too many dims");
    int64_t dims[MAX_DIMS] = {0};
    for (int i = 0; i < d->ndims; i++)
        dims[i] = d->dims[i].value ? d->dims[i].value : 3; /* run-time dims: 3 unless named */
    for (int a = 1; a < argc; a++) {
        const char *eq = strchr(argv[a], '=');
        if (!eq)
            die("usage: costcheck [NAME=VALUE]...");
        int found = 0;
        for (int i = 0; i < d->ndims; i++)
            if (strlen(d->dims[i].name) == (size_t)(eq - argv[a]) && !strncmp(d->dims[i].name, argv[a], (size_t)(eq - argv[a]))) {
                if (d->dims[i].value)
                    die("dim %s is static", d->dims[i].name);
                dims[i] = atoll(eq + 1);
                found = 1;
            }
        if (!found)
            die("no run-time dim in %s", argv[a]);
    }
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_model *m = td_model_new(ctx, d, dims, 1);
    if (!m)
        die("%s", td_ctx_error(ctx));
    int passed = 0, failed = 0;
    char why[1024];
    for (int i = 0; i < d->nfns; i++) {
        const td_fn_desc *f = &d->fns[i];
        double total;
        int nops;
        const char *bad = check(m, f, &total, &nops, why, sizeof why);
        if (bad)
            printf("FAIL %s: %s\n", f->name, bad), failed++;
        else
            printf("PASS %s (%d ops, %.17g flops)\n", f->name, nops, total), passed++;
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    td_model_free(m);
    td_ctx_free(ctx);
    return failed ? 1 : 0;
}
