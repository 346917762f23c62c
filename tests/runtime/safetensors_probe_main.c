/* safetensors_probe_main.c - td_safetensors_read and td_safetensors_write
 * driven from standard input, for tests/runtime/safetensors_oracle.py,
 * which compiles it with runtime/safetensors.c, runtime/file_io.c and
 * runtime/ctx.c and checks it against a Python reader and writer of the
 * format.
 *
 * One command a line, one answer a line, so a single process serves every
 * file. Names, keys and values travel in hex ("-" for the empty string),
 * since they may hold any character:
 *   read IN RAW        -> ok NT NM T:NAME:DTYPE:D0,D1,...:BYTES ... M:KEY:VALUE ...
 *                         (tensors in the order the reader gives them; their
 *                         data, concatenated in that order, to RAW)
 *   write OUT SPEC RAW -> ok
 *                         (SPEC has a line "T NAME DTYPE BYTES RANK D0 D1 ..."
 *                         per tensor and "M KEY VALUE" per metadata entry;
 *                         RAW the tensors' data, concatenated)
 * or `error MESSAGE` with the context's message. Paths hold no spaces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

static const char *const NAMES[TD_DTYPE_COUNT] = {"F64", "F32", "F16", "BF16", "F8_E4M3",
                                                  "F8_E5M2", "I64", "I32", "U16", "BOOL"};

static void answer_error(td_ctx *ctx, const char *fallback)
{
    printf("error %s\n", td_ctx_error(ctx) ? td_ctx_error(ctx) : fallback);
    td_ctx_clear_error(ctx);
}

static void print_hex(const char *s)
{
    if (!*s)
        putchar('-');
    for (; *s; s++)
        printf("%02x", (unsigned char)*s);
}

/* "-" is the empty string; returns a malloc'd string, or NULL if not hex. */
static char *unhex(const char *h)
{
    size_t n = strcmp(h, "-") == 0 ? 0 : strlen(h);
    if (n % 2)
        return NULL;
    char *s = malloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1) {
            free(s);
            return NULL;
        }
        s[i] = (char)v;
    }
    s[n / 2] = 0;
    return s;
}

static void do_read(td_ctx *ctx, const char *in, const char *raw)
{
    td_safetensors st;
    if (td_safetensors_read(ctx, in, &st) != TD_OK) {
        answer_error(ctx, "read failed without a message");
        return;
    }
    FILE *f = fopen(raw, "wb");
    bool ok = f != NULL;
    for (int i = 0; i < st.ntensors && ok; i++)
        ok = fwrite(st.tensors[i].data, 1, st.tensors[i].bytes, f) == st.tensors[i].bytes;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok) {
        printf("error probe: cannot write %s\n", raw);
        td_safetensors_free(&st);
        return;
    }
    printf("ok %d %d", st.ntensors, st.nmeta);
    for (int i = 0; i < st.ntensors; i++) {
        const td_st_tensor *t = &st.tensors[i];
        printf(" T:");
        print_hex(t->name);
        printf(":%s:", NAMES[t->dtype]);
        for (int a = 0; a < t->rank; a++)
            printf("%s%lld", a ? "," : "", (long long)t->shape[a]);
        printf(":%zu", t->bytes);
        if (td_safetensors_find(&st, t->name) != t)
            printf(":find-failed");
    }
    for (int i = 0; i < st.nmeta; i++) {
        printf(" M:");
        print_hex(st.meta_keys[i]);
        putchar(':');
        print_hex(st.meta_values[i]);
        if (td_safetensors_meta(&st, st.meta_keys[i]) != st.meta_values[i])
            printf(":meta-failed");
    }
    printf("\n");
    td_safetensors_free(&st);
}

enum { MAX_ITEMS = 4096 };

static void do_write(td_ctx *ctx, const char *out, const char *spec_path, const char *raw_path)
{
    static td_st_tensor tensors[MAX_ITEMS];
    static char *keys[MAX_ITEMS], *values[MAX_ITEMS];
    static char line[1 << 16];
    int nt = 0, nm = 0;
    bool ok = true;
    FILE *spec = fopen(spec_path, "r"), *raw = fopen(raw_path, "rb");
    uint8_t *data = NULL;
    long n = 0;
    if (raw) {
        fseek(raw, 0, SEEK_END);
        n = ftell(raw);
        fseek(raw, 0, SEEK_SET);
        data = malloc(n > 0 ? (size_t)n : 1);
        ok = fread(data, 1, (size_t)n, raw) == (size_t)n;
        fclose(raw);
    }
    size_t used = 0;
    while (ok && spec && fgets(line, sizeof line, spec)) {
        char *w[4 + TD_MAX_RANK + 2];
        int k = 0;
        for (char *s = strtok(line, " \n"); s && k < (int)(sizeof w / sizeof w[0]); s = strtok(NULL, " \n"))
            w[k++] = s;
        if (k == 3 && strcmp(w[0], "M") == 0 && nm < MAX_ITEMS) {
            keys[nm] = unhex(w[1]);
            values[nm] = unhex(w[2]);
            ok = keys[nm] && values[nm];
            nm++;
        } else if (k >= 5 && strcmp(w[0], "T") == 0 && nt < MAX_ITEMS && atoi(w[4]) == k - 5) {
            td_st_tensor *t = &tensors[nt++];
            memset(t, 0, sizeof *t);
            t->name = unhex(w[1]);
            t->dtype = TD_DTYPE_COUNT;
            for (int d = 0; d < TD_DTYPE_COUNT; d++)
                if (strcmp(w[2], NAMES[d]) == 0)
                    t->dtype = (td_dtype)d;
            t->bytes = (size_t)strtoull(w[3], NULL, 10);
            t->rank = k - 5;
            for (int a = 0; a < t->rank && a < TD_MAX_RANK; a++)
                t->shape[a] = strtoll(w[5 + a], NULL, 10);
            t->data = data + used;
            ok = t->name && t->bytes <= (size_t)n - used;
            used += ok ? t->bytes : 0;
        } else {
            ok = false;
        }
    }
    if (spec)
        fclose(spec);
    if (!spec || !raw || !ok)
        printf("error probe: bad spec %s or data %s\n", spec_path, raw_path);
    else if (td_safetensors_write(ctx, out, nt, tensors, nm, (const char *const *)keys, (const char *const *)values))
        answer_error(ctx, "write failed without a message");
    else
        printf("ok\n");
    for (int i = 0; i < nt; i++)
        free((char *)tensors[i].name);
    for (int i = 0; i < nm; i++) {
        free(keys[i]);
        free(values[i]);
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
        char *words[4];
        int n = 0;
        for (char *w = strtok(line, " \n"); w && n < 4; w = strtok(NULL, " \n"))
            words[n++] = w;
        if (n == 3 && strcmp(words[0], "read") == 0)
            do_read(ctx, words[1], words[2]);
        else if (n == 4 && strcmp(words[0], "write") == 0)
            do_write(ctx, words[1], words[2], words[3]);
        else
            printf("error probe: bad command\n");
        fflush(stdout);
    }
    td_ctx_free(ctx);
    return 0;
}
