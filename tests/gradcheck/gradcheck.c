/* gradcheck.c - checks grad() against central differences, in process.
 *
 *   gradcheck [SPEC]
 * Linked with the C of one program (tdc --lib FILE.td -o DIR/model, whose
 * td_model_desc is model_desc). For every exported pair f_CASE / g_CASE:
 * f_CASE returns a float scalar loss, g_CASE takes f_CASE's inputs and
 * returns the gradient of that loss by each tensor of the case's wrt list
 * (by default every float input of f_CASE, in order). The inputs are filled
 * with deterministic values, g_CASE is called once, and every element of
 * every wrt tensor (an input, or a param's memory through td_model_param)
 * is checked against the central difference
 *
 *     N = (f(x + h) - f(x - h)) / (x+h - x-h),   h = H * max(1, |x|)
 *
 * where x+h and x-h are the perturbed values as stored in the tensor's
 * dtype (so an f32, f16 or bf16 tensor divides by the step it really took;
 * the gradient of an f16 or bf16 tensor is f32, as the compiler keeps it).
 * An element passes when |A - N| <= ATOL + RTOL * |N|, with H = 1e-6,
 * RTOL = 1e-6 and ATOL = 1e-9 unless the case's `tol` line says otherwise
 * (only cases whose loss goes through f32 or narrower values do, with RTOL
 * ~1e-3: see the .td files).
 *
 * SPEC (written by run.py from the `#! ` lines of the .td) has one line per
 * directive, `CASE WORD ARGS...`:
 *   CASE set NAME V...      NAME (an input or param) holds exactly V...
 *   CASE pos NAME           NAME is drawn from [0.3, 2] (default: +-[0.2, 1.5])
 *   CASE wrt NAME...        g_CASE's results are the gradients by NAME..., in order
 *   CASE expect NAME V...   NAME's gradient must be exactly V... (an analytic
 *                           check, at a point where central differences do not
 *                           give the subgradient: ties, zeros); it replaces
 *                           the numeric check of NAME
 *   CASE tol H RTOL ATOL    the step and tolerances of the numeric check
 * Integer inputs need a `set` line. Run-time dims are bound to 3.
 *
 * Prints `PASS CASE` or `FAIL CASE: why` per case (the first wrong element:
 * `FAIL CASE: x element 3: analytic A numeric N`), then `N passed, N failed`.
 * The model runs where td_ctx_new(TD_DEVICE_AUTO) puts it: on the GPU
 * where there is one (every call through td_model_call, the params
 * copied up after each change to them), else on the CPU; the first line
 * says which (`# device: cuda`).
 *
 * GRADCHECK_VERBOSE=1 in the environment adds each passing case's worst
 * error as a fraction of its tolerance. Exit status 0 when every case
 * passes, 1 otherwise, 2 for a bad spec. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

enum { MAX_TENSORS = 32, MAX_DIRECTIVES = 1024, MAX_WORDS = 4096 };

typedef struct Directive {
    char *case_name, *word, *name; /* name: NULL for wrt and tol */
    int n;
    char **args; /* n words after the name (or after the word, for wrt and tol) */
} Directive;

static Directive directives[MAX_DIRECTIVES];
static int ndirectives;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gradcheck: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static char *copy(const char *s)
{
    char *d = malloc(strlen(s) + 1);
    if (!d)
        die("out of memory");
    return strcpy(d, s);
}

static void read_spec(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die("cannot open %s", path);
    char line[65536];
    while (fgets(line, sizeof line, f)) {
        char *words[MAX_WORDS];
        int n = 0;
        for (char *t = strtok(line, " \t\r\n"); t && n < MAX_WORDS; t = strtok(NULL, " \t\r\n"))
            words[n++] = copy(t);
        if (n == 0)
            continue;
        if (n < 2 || ndirectives == MAX_DIRECTIVES)
            die("bad spec line: %s", words[0]);
        Directive *d = &directives[ndirectives++];
        d->case_name = words[0];
        d->word = words[1];
        bool named = strcmp(d->word, "wrt") && strcmp(d->word, "tol");
        if (named && strcmp(d->word, "set") && strcmp(d->word, "pos") && strcmp(d->word, "expect"))
            die("unknown directive '%s' of case %s", d->word, d->case_name);
        if (named && n < 3)
            die("directive %s of case %s names no tensor", d->word, d->case_name);
        d->name = named ? words[2] : NULL;
        d->n = n - (named ? 3 : 2);
        d->args = malloc(sizeof(char *) * (size_t)(d->n + 1));
        memcpy(d->args, words + (named ? 3 : 2), sizeof(char *) * (size_t)d->n);
    }
    fclose(f);
}

static const Directive *find(const char *case_name, const char *word, const char *name)
{
    for (int i = 0; i < ndirectives; i++) {
        const Directive *d = &directives[i];
        if (!strcmp(d->case_name, case_name) && !strcmp(d->word, word) && (!name || !strcmp(d->name, name)))
            return d;
    }
    return NULL;
}

/* ---- tensors ---- */

static size_t elements(const td_tensor_desc *t, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= (size_t)td_size_eval(&t->shape[k], dims);
    return n;
}

static bool is_float(td_dtype t) { return t == TD_F64 || t == TD_F32 || t == TD_F16 || t == TD_BF16; }

/* The dtype of a gradient: f32 for the narrow floats, as the compiler keeps them. */
static td_dtype grad_dtype(td_dtype t) { return t == TD_F16 || t == TD_BF16 ? TD_F32 : t; }

static double get(const void *p, td_dtype t, size_t i)
{
    switch (t) {
    case TD_F64: return ((const double *)p)[i];
    case TD_F32: return ((const float *)p)[i];
    case TD_F16: return td_f16_to_f32(((const uint16_t *)p)[i]);
    case TD_BF16: return td_bf16_to_f32(((const uint16_t *)p)[i]);
    case TD_I64: return (double)((const int64_t *)p)[i];
    case TD_I32: return ((const int32_t *)p)[i];
    case TD_U16: return ((const uint16_t *)p)[i];
    case TD_BOOL: return ((const bool *)p)[i];
    default: die("dtype %s is not supported", td_dtype_name(t));
    }
    return 0;
}

/* Stores v and returns the value stored. */
static double put(void *p, td_dtype t, size_t i, double v)
{
    switch (t) {
    case TD_F64: ((double *)p)[i] = v; break;
    case TD_F32: ((float *)p)[i] = (float)v; break;
    case TD_F16: ((uint16_t *)p)[i] = td_f64_to_f16(v); break;
    case TD_BF16: ((uint16_t *)p)[i] = td_f64_to_bf16(v); break;
    case TD_I64: ((int64_t *)p)[i] = (int64_t)v; break;
    case TD_I32: ((int32_t *)p)[i] = (int32_t)v; break;
    case TD_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case TD_BOOL: ((bool *)p)[i] = v != 0; break;
    default: die("dtype %s is not supported", td_dtype_name(t));
    }
    return get(p, t, i);
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

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

static double unit(uint64_t *s) { return (double)(splitmix(s) >> 11) * 0x1p-53; }

/* Fills a tensor of case c as its directives say; NULL when fine, else why not. */
static const char *fill(const char *c, const td_tensor_desc *t, void *p, size_t n, char *why, size_t whylen)
{
    const Directive *set = find(c, "set", t->name);
    if (set) {
        if ((size_t)set->n != n) {
            snprintf(why, whylen, "'set %s' gives %d values, the tensor has %zu", t->name, set->n, n);
            return why;
        }
        for (size_t i = 0; i < n; i++) {
            char *end;
            double v = strtod(set->args[i], &end);
            if (*end)
                die("case %s: bad number '%s'", c, set->args[i]);
            put(p, t->dtype, i, v);
        }
        return NULL;
    }
    if (!is_float(t->dtype) && t->dtype != TD_BOOL) {
        snprintf(why, whylen, "integer input '%s' needs a 'set' line", t->name);
        return why;
    }
    uint64_t s = hash(c, t->name);
    bool positive = find(c, "pos", t->name) != NULL;
    for (size_t i = 0; i < n; i++) {
        double u = unit(&s);
        if (t->dtype == TD_BOOL)
            put(p, t->dtype, i, u < 0.5);
        else if (positive)
            put(p, t->dtype, i, 0.3 + 1.7 * u);
        else
            put(p, t->dtype, i, (unit(&s) < 0.5 ? -1 : 1) * (0.2 + 1.3 * u));
    }
    return NULL;
}

/* ---- one case ---- */

typedef struct Case {
    td_model *m;
    const td_fn_desc *f, *g;
    const void *in[MAX_TENSORS];
} Case;

/* Function fn of the model, where the model runs (on the GPU, with the
 * params as they are in host memory now). */
static td_status call(td_model *m, const td_fn_desc *fn, const void *const *in, void *const *out)
{
    if (m->on_gpu) {
        td_status st = td_model_sync_device(m);
        if (st != TD_OK)
            return st;
    }
    return td_model_call(m, (int)(fn - m->desc->fns), in, out);
}

static double loss(Case *k, td_status *st)
{
    double d = 0;
    float s = 0;
    void *out[1] = {k->f->outputs[0].dtype == TD_F64 ? (void *)&d : (void *)&s};
    *st = call(k->m, k->f, k->in, out);
    return k->f->outputs[0].dtype == TD_F64 ? d : (double)s;
}

static bool same_tensor(const td_tensor_desc *a, const td_tensor_desc *b, const int64_t *dims)
{
    if (a->dtype != b->dtype || a->rank != b->rank)
        return false;
    for (int k = 0; k < a->rank; k++)
        if (td_size_eval(&a->shape[k], dims) != td_size_eval(&b->shape[k], dims))
            return false;
    return true;
}

/* Runs case c; NULL when it passes, else why not (in why). */
static double worst; /* the largest |A - N| / (ATOL + RTOL |N|) of the case */

static const char *run_case(td_model *m, const char *c, const td_fn_desc *f, const td_fn_desc *g, char *why, size_t whylen)
{
    const td_model_desc *d = m->desc;
    Case k = {.m = m, .f = f, .g = g};
    if (f->noutputs != 1 || f->outputs[0].rank != 0 || !is_float(f->outputs[0].dtype)) {
        snprintf(why, whylen, "f_%s does not return a float scalar", c);
        return why;
    }
    if (f->ninputs > MAX_TENSORS || g->noutputs > MAX_TENSORS) {
        snprintf(why, whylen, "too many tensors");
        return why;
    }
    if (g->ninputs != f->ninputs) {
        snprintf(why, whylen, "g_%s takes %d inputs, f_%s %d", c, g->ninputs, c, f->ninputs);
        return why;
    }
    for (int i = 0; i < f->ninputs; i++)
        if (strcmp(f->inputs[i].name, g->inputs[i].name) || !same_tensor(&f->inputs[i], &g->inputs[i], m->dims)) {
            snprintf(why, whylen, "input %d of g_%s is not f_%s's", i, c, c);
            return why;
        }
    /* the tensors to check: an input index, or -1 - a param index */
    int wrt[MAX_TENSORS], nwrt = 0;
    const Directive *w = find(c, "wrt", NULL);
    if (w) {
        for (int j = 0; j < w->n && nwrt < MAX_TENSORS; j++) {
            int found = 0;
            for (int i = 0; i < f->ninputs && !found; i++)
                if (!strcmp(f->inputs[i].name, w->args[j]))
                    wrt[nwrt++] = i, found = 1;
            for (int p = 0; p < d->nparams && !found; p++)
                if (!strcmp(d->params[p].name, w->args[j]))
                    wrt[nwrt++] = -1 - p, found = 1;
            if (!found) {
                snprintf(why, whylen, "wrt: no input or param '%s'", w->args[j]);
                return why;
            }
        }
    } else {
        for (int i = 0; i < f->ninputs; i++)
            if (is_float(f->inputs[i].dtype))
                wrt[nwrt++] = i;
    }
    if (g->noutputs != nwrt) {
        snprintf(why, whylen, "g_%s has %d results, but the case checks %d tensors", c, g->noutputs, nwrt);
        return why;
    }
    const td_tensor_desc *wd[MAX_TENSORS];
    for (int j = 0; j < nwrt; j++) {
        wd[j] = wrt[j] >= 0 ? &f->inputs[wrt[j]] : &d->params[-1 - wrt[j]];
        td_tensor_desc want = *wd[j];
        want.dtype = grad_dtype(want.dtype);
        if (!is_float(wd[j]->dtype) || !same_tensor(&want, &g->outputs[j], m->dims)) {
            snprintf(why, whylen, "result %d of g_%s is not shaped as '%s'", j, c, wd[j]->name);
            return why;
        }
    }
    /* inputs, params, then the analytic gradient */
    void *bufs[MAX_TENSORS] = {0}, *grads[MAX_TENSORS] = {0};
    const char *bad = NULL;
    for (int i = 0; i < f->ninputs && !bad; i++) {
        size_t n = elements(&f->inputs[i], m->dims);
        bufs[i] = calloc(n + 1, td_dtype_size(f->inputs[i].dtype));
        k.in[i] = bufs[i];
        bad = fill(c, &f->inputs[i], bufs[i], n, why, whylen);
    }
    for (int p = 0; p < d->nparams && !bad; p++)
        if (find(c, "set", d->params[p].name))
            bad = fill(c, &d->params[p], td_model_param(m, p), elements(&d->params[p], m->dims), why, whylen);
    for (int j = 0; j < nwrt; j++)
        grads[j] = calloc(elements(wd[j], m->dims) + 1, td_dtype_size(grad_dtype(wd[j]->dtype)));
    td_status st = TD_OK;
    if (!bad && (st = call(m, g, k.in, grads)) != TD_OK) {
        snprintf(why, whylen, "g_%s fails: %s", c, td_ctx_error(m->ctx));
        bad = why;
    }
    double step = 1e-6, rtol = 1e-6, atol = 1e-9; /* the tolerance of the numeric check (see the top) */
    const Directive *tol = find(c, "tol", NULL);
    if (tol) {
        if (tol->n != 3)
            die("case %s: tol needs H RTOL ATOL", c);
        step = atof(tol->args[0]), rtol = atof(tol->args[1]), atol = atof(tol->args[2]);
    }
    if (!bad) {
        double l0 = loss(&k, &st);
        if (st != TD_OK || !isfinite(l0)) {
            snprintf(why, whylen, "f_%s fails or is not finite: %s", c, st != TD_OK ? td_ctx_error(m->ctx) : "");
            bad = why;
        }
    }
    for (int j = 0; j < nwrt && !bad; j++) {
        const td_tensor_desc *t = wd[j];
        void *p = wrt[j] >= 0 ? bufs[wrt[j]] : td_model_param(m, -1 - wrt[j]);
        size_t n = elements(t, m->dims);
        const Directive *e = find(c, "expect", t->name);
        if (e) { /* analytic: exact */
            if ((size_t)e->n != n) {
                snprintf(why, whylen, "'expect %s' gives %d values, the tensor has %zu", t->name, e->n, n);
                bad = why;
            }
            for (size_t i = 0; i < n && !bad; i++) {
                double a = get(grads[j], grad_dtype(t->dtype), i), want = atof(e->args[i]);
                if (a != want) {
                    snprintf(why, whylen, "%s element %zu: analytic %.17g expected exactly %.17g", t->name, i, a, want);
                    bad = why;
                }
            }
            continue;
        }
        for (size_t i = 0; i < n && !bad; i++) {
            double x = get(p, t->dtype, i), h = step * fmax(1, fabs(x));
            double xp = put(p, t->dtype, i, x + h);
            double fp = loss(&k, &st);
            double xm = put(p, t->dtype, i, x - h);
            double fm = st == TD_OK ? loss(&k, &st) : 0;
            put(p, t->dtype, i, x);
            if (st != TD_OK) {
                snprintf(why, whylen, "f_%s fails: %s", c, td_ctx_error(m->ctx));
                bad = why;
                break;
            }
            double num = (fp - fm) / (xp - xm), a = get(grads[j], grad_dtype(t->dtype), i);
            worst = fmax(worst, fabs(a - num) / (atol + rtol * fabs(num)));
            if (!(fabs(a - num) <= atol + rtol * fabs(num))) { /* NaN fails too */
                snprintf(why, whylen, "%s element %zu: analytic %.17g numeric %.17g", t->name, i, a, num);
                bad = why;
            }
        }
    }
    for (int i = 0; i < f->ninputs; i++)
        free(bufs[i]);
    for (int j = 0; j < nwrt; j++)
        free(grads[j]);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc > 2)
        die("usage: gradcheck [SPEC]");
    if (argc == 2)
        read_spec(argv[1]);
    const td_model_desc *d = &model_desc;
    int64_t dims[64] = {0};
    for (int i = 0; i < d->ndims && i < 64; i++)
        dims[i] = d->dims[i].value ? d->dims[i].value : 3; /* run-time dims: 3 */
    td_ctx *ctx = td_ctx_new(TD_DEVICE_AUTO);
    td_model *m = td_model_new(ctx, d, dims, 1);
    if (!m)
        die("%s", td_ctx_error(ctx));
    printf("# device: %s\n", m->on_gpu ? "cuda" : "cpu");
    int passed = 0, failed = 0;
    bool verbose = getenv("GRADCHECK_VERBOSE") != NULL;
    char why[1024];
    for (int i = 0; i < d->nfns; i++) {
        const char *name = d->fns[i].name;
        if (strncmp(name, "f_", 2) && strncmp(name, "g_", 2))
            continue;
        const char *c = name + 2;
        const td_fn_desc *f = NULL, *g = NULL;
        for (int j = 0; j < d->nfns; j++) {
            if (d->fns[j].name[0] == 'f' && !strcmp(d->fns[j].name + 1, name + 1))
                f = &d->fns[j];
            if (d->fns[j].name[0] == 'g' && !strcmp(d->fns[j].name + 1, name + 1))
                g = &d->fns[j];
        }
        if (name[0] == 'g' && f)
            continue; /* the case is run at its f */
        worst = 0;
        const char *bad = !f || !g ? (snprintf(why, sizeof why, "f_%s or g_%s is missing", c, c), why)
                                   : run_case(m, c, f, g, why, sizeof why);
        if (bad)
            printf("FAIL %s: %s\n", c, bad), failed++;
        else if (verbose)
            printf("PASS %s (worst error %.3f of the tolerance)\n", c, worst), passed++;
        else
            printf("PASS %s\n", c), passed++;
        fflush(stdout);
    }
    for (int i = 0; i < ndirectives; i++) { /* a directive for no case is a typo */
        bool found = false;
        for (int j = 0; j < d->nfns && !found; j++)
            found = d->fns[j].name[0] == 'f' && d->fns[j].name[1] == '_' && !strcmp(d->fns[j].name + 2, directives[i].case_name);
        if (!found)
            printf("FAIL %s: a '%s' line for a case that does not exist\n", directives[i].case_name, directives[i].word), failed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    td_model_free(m);
    td_ctx_free(ctx);
    return failed ? 1 : 0;
}
