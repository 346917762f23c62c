/* emit_cuda_dedupe.c - one definition for kernels that are the same code.
 *
 * A program's functions share much: `loss` has the kernels of `logits`,
 * and the train step those of `loss`, with other node ids. Two kernels are
 * the same code when their definitions match token for token once the
 * kernel's own name is set aside and each buffer parameter b<node> is
 * renamed by the order in which it first appears (buffers are the only
 * names that carry node ids across functions; every other name, local or
 * not, must match as it is). The first definition stays; each later copy
 * becomes one comment line naming its buffers and the kernel that runs it,
 *
 *     / * tdg_k3_57(b57, b12) is tdg_k2_40: the same code * /
 *
 * and its launches take that kernel (the tables' symbol for its index).
 * NVRTC then compiles each distinct kernel once. */
#include <stdlib.h>
#include <string.h>

#include "emit_c_internal.h"
#include "../runtime/cuda_narrow_floats.h"

static const char KERNEL_START[] = "extern \"C\" __global__";

static bool ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Whether [p, p+n) is a buffer name: "b" and digits. */
static bool is_buffer(const char *p, size_t n)
{
    if (n < 2 || p[0] != 'b')
        return false;
    for (size_t i = 1; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* The definition [def, end) of kernel `name` as its canonical text: the
 * name as "@", each buffer as "b#<k>" by first appearance, other
 * characters as they are (comments inside a body are part of the code's
 * identity, which only makes two kernels less often the same). */
static char *canonical(Arena *a, const char *def, const char *end, const char *name)
{
    size_t cap = (size_t)(end - def) + 1, len = 0;
    char *out = arena_alloc(a, cap * 3 + 16); /* "b1" (2 bytes) may become "b#255" (5) */
    const char *seen[256];
    size_t seen_len[256];
    int nseen = 0;
    size_t name_len = strlen(name);
    for (const char *p = def; p < end;) {
        if (!ident_char(*p) || (p > def && ident_char(p[-1]))) {
            out[len++] = *p++;
            continue;
        }
        const char *q = p;
        while (q < end && ident_char(*q))
            q++;
        size_t n = (size_t)(q - p);
        if (n == name_len && memcmp(p, name, n) == 0) {
            out[len++] = '@';
        } else if (is_buffer(p, n)) {
            int k = 0;
            while (k < nseen && !(seen_len[k] == n && memcmp(seen[k], p, n) == 0))
                k++;
            if (k == nseen) {
                if (nseen == 256) /* past any kernel's parameters: left as it is, so never the same */
                    k = -1;
                else
                    seen[nseen] = p, seen_len[nseen] = n, nseen++;
            }
            if (k >= 0) {
                len += (size_t)snprintf(out + len, 16, "b#%d", k);
            } else {
                memcpy(out + len, p, n);
                len += n;
            }
        } else {
            memcpy(out + len, p, n);
            len += n;
        }
        p = q;
    }
    out[len] = 0;
    return out;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The buffers of the parameter list that opens at `open`, as "b57, b12". */
static const char *signature_buffers(Arena *a, const char *open)
{
    const char *close = strchr(open, ')');
    if (!close)
        die("emit_cuda_dedupe: a kernel's parameters do not end");
    size_t cap = (size_t)(close - open) + 1, len = 0;
    char *out = arena_alloc(a, cap);
    for (const char *p = open + 1; p < close;) {
        const char *q = p;
        while (q < close && ident_char(*q))
            q++;
        if (q == p) {
            p++;
            continue;
        }
        if ((p == open + 1 || !ident_char(p[-1])) && is_buffer(p, (size_t)(q - p))) {
            if (len)
                out[len++] = ',', out[len++] = ' ';
            memcpy(out + len, p, (size_t)(q - p));
            len += (size_t)(q - p);
        }
        p = q;
    }
    out[len] = 0;
    return out;
}

const char *emit_cuda_dedupe(Arena *a, const char *source, const PtrVec *names, PtrVec *symbols)
{
    const char *apart = strstr(source, TD_CUDA_APART);
    size_t total = strlen(source);
    char *out = arena_alloc(a, total + 1);
    size_t len = 0;
    const char **canon = arena_array(a, names->len + 1, sizeof *canon);
    uint64_t *hash = arena_array(a, names->len + 1, sizeof *hash);
    const char *from = source; /* copied up to here */
    const char *at = apart ? strstr(apart, KERNEL_START) : NULL;
    for (size_t i = 0; i < names->len; i++) {
        const char *name = names->items[i];
        if (!at)
            die("emit_cuda_dedupe: kernel %s has no definition", name);
        const char *end = strstr(at, "\n}\n");
        size_t name_len = strlen(name);
        const char *named = strstr(at, name);
        while (named && named[name_len] != '(')
            named = strstr(named + 1, name);
        if (!end || !named || named > end)
            die("emit_cuda_dedupe: kernel %s is not where the names say", name);
        end += 3;
        canon[i] = canonical(a, at, end, name);
        hash[i] = fnv1a(canon[i]);
        size_t same = 0;
        while (same < i && (hash[same] != hash[i] || strcmp(canon[same], canon[i]) != 0))
            same++;
        if (same == i) { /* the first of its code */
            ptrvec_push(a, symbols, (void *)name);
            at = strstr(end, KERNEL_START);
            continue;
        }
        const char *symbol = symbols->items[same];
        ptrvec_push(a, symbols, (void *)symbol);
        /* the copy goes with the comment just before it (a kernel's head comment starts a line) */
        const char *cut = at;
        if (cut - 3 >= from && strncmp(cut - 3, "*/\n", 3) == 0) {
            const char *c = cut - 3;
            while (c > from && !(c[0] == '/' && c[1] == '*' && c[-1] == '\n'))
                c--;
            if (c > from)
                cut = c;
        }
        memcpy(out + len, from, (size_t)(cut - from));
        len += (size_t)(cut - from);
        const char *line = arena_printf(a, "/* %s(%s) is %s: the same code */\n", name, signature_buffers(a, named + name_len), symbol);
        size_t n = strlen(line);
        if (len + n > total) /* a line longer than the definition it replaces: never, but checked */
            die("emit_cuda_dedupe: no room for %s's line", name);
        memcpy(out + len, line, n);
        len += n;
        from = end;
        at = strstr(end, KERNEL_START);
    }
    if (at)
        die("emit_cuda_dedupe: more kernels than names");
    memcpy(out + len, from, total - (size_t)(from - source));
    len += total - (size_t)(from - source);
    out[len] = 0;
    return out;
}
