/* optim_probe_main.c - td_optim_update and td_clip_grad_norm driven from
 * standard input, for tests/runtime/optim_oracle.py, which compiles it with
 * runtime/optim.c, dtype.c and ctx.c and compares what it writes with
 * torch's trajectories (tests/runtime/optim_ref/optim_ref.npz).
 *
 * One command a line, one answer a line:
 *   defaults KIND
 *       -> ok lr=.. weight_decay=.. momentum=.. ... (every field of
 *          td_optim_defaults(KIND), %.17g)
 *   run DTYPE N STEPS IN OUT KEY=VALUE...
 *       IN holds N + STEPS x N elements of DTYPE (f32 or f64): the initial
 *       param, then each step's gradient. The hyper-parameters start from
 *       td_optim_defaults(kind) and take the KEY=VALUE pairs (the fields of
 *       td_optim_hparams, kind=sgd|adagrad|rmsprop|adam|adamw, and
 *       lrs=A,B,... for a learning rate per step). Then td_optim_init_state
 *       and STEPS updates (step 1, 2, ...). OUT gets, for each step, the
 *       param and then every state slot, N elements each.
 *       -> ok SLOTS NAME...   (td_optim_slot_name of each slot)
 *   clip DTYPE MAX_NORM IN OUT N0 N1 ...
 *       IN holds N0 + N1 + ... elements, the gradients end to end; OUT the
 *       same after td_clip_grad_norm.
 *       -> ok TOTAL_NORM
 * or `error MESSAGE` with the context's message. Paths hold no spaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

enum { MAX_WORDS = 64, MAX_STEPS = 1000 };

static const char *const KINDS[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};

static void answer_error(td_ctx *ctx, const char *fallback)
{
    printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : fallback);
    td_ctx_clear_error(ctx);
}

static int parse_kind(const char *s)
{
    for (int k = 0; k < 5; k++)
        if (strcmp(s, KINDS[k]) == 0)
            return k;
    return -1;
}

static bool parse_dtype(const char *s, td_dtype *dtype)
{
    if (strcmp(s, "f32") == 0)
        *dtype = TD_F32;
    else if (strcmp(s, "f64") == 0)
        *dtype = TD_F64;
    else
        return false;
    return true;
}

/* Reads `elems` elements of `size` bytes; NULL unless the file holds exactly that. */
static void *read_all(const char *path, size_t elems, size_t size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    void *data = malloc(elems * size + 1);
    size_t got = data ? fread(data, size, elems + 1, f) : 0;
    fclose(f);
    if (got != elems) {
        free(data);
        return NULL;
    }
    return data;
}

static bool set_field(td_optim_hparams *h, const char *key, double v)
{
    struct { const char *name; double *field; } doubles[] = {
        {"lr", &h->lr}, {"weight_decay", &h->weight_decay}, {"momentum", &h->momentum},
        {"dampening", &h->dampening}, {"beta1", &h->beta1}, {"beta2", &h->beta2}, {"eps", &h->eps},
        {"lr_decay", &h->lr_decay}, {"initial_accumulator_value", &h->initial_accumulator_value},
        {"alpha", &h->alpha},
    };
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        if (strcmp(key, doubles[i].name) == 0) {
            *doubles[i].field = v;
            return true;
        }
    struct { const char *name; bool *field; } flags[] = {
        {"nesterov", &h->nesterov}, {"amsgrad", &h->amsgrad}, {"centered", &h->centered},
    };
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (strcmp(key, flags[i].name) == 0) {
            *flags[i].field = v != 0;
            return true;
        }
    return false;
}

/* KEY=VALUE pairs over the defaults of kind=...; lrs=A,B,... fills lrs. */
static bool parse_hparams(char **words, int nwords, td_optim_hparams *h, double *lrs, int steps, bool *have_lrs)
{
    int kind = -1;
    for (int i = 0; i < nwords; i++)
        if (strncmp(words[i], "kind=", 5) == 0)
            kind = parse_kind(words[i] + 5);
    if (kind < 0)
        return false;
    *h = td_optim_defaults((td_optim_kind)kind);
    *have_lrs = false;
    for (int i = 0; i < nwords; i++) {
        char *eq = strchr(words[i], '=');
        if (!eq)
            return false;
        *eq = 0;
        const char *key = words[i], *value = eq + 1;
        if (strcmp(key, "kind") == 0)
            continue;
        if (strcmp(key, "lrs") == 0) {
            char *end = (char *)value;
            for (int t = 0; t < steps; t++) {
                lrs[t] = strtod(end, &end);
                if (*end == ',')
                    end++;
            }
            *have_lrs = true;
        } else if (!set_field(h, key, strtod(value, NULL))) {
            return false;
        }
    }
    return true;
}

static void do_defaults(const char *kind_word)
{
    int kind = parse_kind(kind_word);
    if (kind < 0) {
        printf("error probe: unknown kind %s\n", kind_word);
        return;
    }
    td_optim_hparams h = td_optim_defaults((td_optim_kind)kind);
    printf("ok lr=%.17g weight_decay=%.17g momentum=%.17g dampening=%.17g nesterov=%d beta1=%.17g beta2=%.17g "
           "eps=%.17g amsgrad=%d lr_decay=%.17g initial_accumulator_value=%.17g alpha=%.17g centered=%d\n",
           h.lr, h.weight_decay, h.momentum, h.dampening, h.nesterov, h.beta1, h.beta2, h.eps, h.amsgrad, h.lr_decay,
           h.initial_accumulator_value, h.alpha, h.centered);
}

static void do_run(td_ctx *ctx, char **w, int nwords)
{
    td_dtype dtype;
    long n = atol(w[1]), steps = atol(w[2]);
    td_optim_hparams h;
    static double lrs[MAX_STEPS];
    bool have_lrs;
    if (!parse_dtype(w[0], &dtype) || n <= 0 || steps <= 0 || steps > MAX_STEPS ||
        !parse_hparams(w + 5, nwords - 5, &h, lrs, (int)steps, &have_lrs)) {
        printf("error probe: bad run command\n");
        return;
    }
    size_t size = td_dtype_size(dtype), un = (size_t)n;
    int slots = td_optim_state_slots(&h);
    char *in = read_all(w[3], un * (size_t)(steps + 1), size);
    char *param = malloc(un * size), *state = malloc(un * size * (size_t)(slots > 0 ? slots : 1));
    FILE *out = fopen(w[4], "wb");
    if (!in || !param || !state || !out) {
        printf("error probe: cannot read %s or write %s\n", w[3], w[4]);
    } else {
        memcpy(param, in, un * size);
        td_status st = td_optim_init_state(ctx, &h, dtype, un, state);
        for (long t = 0; t < steps && st == TD_OK; t++) {
            st = td_optim_update(ctx, &h, dtype, un, param, in + (size_t)(t + 1) * un * size, state, t + 1,
                                 have_lrs ? lrs[t] : h.lr, h.weight_decay);
            fwrite(param, size, un, out);
            fwrite(state, size, un * (size_t)slots, out);
        }
        if (st != TD_OK) {
            answer_error(ctx, "update failed without a message");
        } else {
            printf("ok %d", slots);
            for (int s = 0; s < slots; s++)
                printf(" %s", td_optim_slot_name(&h, s));
            printf("\n");
        }
    }
    if (out)
        fclose(out);
    free(in);
    free(param);
    free(state);
}

static void do_clip(td_ctx *ctx, char **w, int nwords)
{
    td_dtype dtype;
    int ntensors = nwords - 4;
    size_t counts[MAX_WORDS], total_elems = 0;
    void *grads[MAX_WORDS];
    if (!parse_dtype(w[0], &dtype) || ntensors < 0) {
        printf("error probe: bad clip command\n");
        return;
    }
    for (int t = 0; t < ntensors; t++)
        total_elems += counts[t] = (size_t)atol(w[4 + t]);
    size_t size = td_dtype_size(dtype);
    char *data = read_all(w[2], total_elems, size);
    if (!data) {
        printf("error probe: cannot read %s\n", w[2]);
        return;
    }
    for (int t = 0, at = 0; t < ntensors; at += (int)counts[t], t++)
        grads[t] = data + (size_t)at * size;
    double total = -1;
    if (td_clip_grad_norm(ctx, dtype, ntensors, grads, counts, strtod(w[1], NULL), &total) != TD_OK) {
        answer_error(ctx, "clip failed without a message");
    } else {
        FILE *out = fopen(w[3], "wb");
        if (!out || fwrite(data, size, total_elems, out) != total_elems || fclose(out) != 0)
            printf("error probe: cannot write %s\n", w[3]);
        else
            printf("ok %.17g\n", total);
    }
    free(data);
}

int main(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    if (!ctx)
        return 1;
    static char line[1 << 16];
    while (fgets(line, sizeof line, stdin)) {
        char *words[MAX_WORDS];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < MAX_WORDS; w = strtok(NULL, " \n"))
            words[n++] = w;
        if (n == 2 && strcmp(words[0], "defaults") == 0)
            do_defaults(words[1]);
        else if (n >= 6 && strcmp(words[0], "run") == 0)
            do_run(ctx, words + 1, n - 1);
        else if (n >= 5 && strcmp(words[0], "clip") == 0)
            do_clip(ctx, words + 1, n - 1);
        else
            printf("error probe: bad command\n");
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}
