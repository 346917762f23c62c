/* diag.c - printing diagnostics as text or JSON lines (see diag.h).
 *
 * The compiler reports through this file only. It keeps a small hash set of
 * (location, message) pairs to drop exact repeats. */
#include "diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SEV_ERROR, SEV_WARNING, SEV_NOTE } Severity;

static struct {
    DiagFormat format;
    FILE *out;
    int max_errors;
    int errors;
    int errors_held_back;
    bool last_suppressed; /* the previous error or warning was not printed */
    bool context_pending; /* an error was printed and its context notes are not */
    struct { Loc loc; const char *message; } context[64];
    int ncontext;
    uint64_t *seen;       /* open-addressing set of message hashes */
    size_t seen_cap, seen_len;
} D = {.format = DIAG_TEXT, .max_errors = 20};

void diag_reset(DiagFormat format, int max_errors, FILE *out)
{
    free(D.seen);
    memset(&D, 0, sizeof D);
    D.format = format;
    D.max_errors = max_errors;
    D.out = out;
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 0x100000001b3ull;
    return h;
}

/* Returns true if this (loc, message) was seen before; records it if not. */
static bool seen_before(Loc loc, const char *msg)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = hash_bytes(h, &loc.file, sizeof loc.file);
    h = hash_bytes(h, &loc.off, sizeof loc.off);
    h = hash_bytes(h, msg, strlen(msg));
    if (h == 0)
        h = 1;
    if (D.seen_len * 2 >= D.seen_cap) {
        size_t cap = D.seen_cap ? D.seen_cap * 2 : 256;
        uint64_t *t = calloc(cap, sizeof *t);
        if (!t) {
            fprintf(stderr, "tdc: error: out of memory\n");
            exit(1);
        }
        for (size_t i = 0; i < D.seen_cap; i++) {
            if (!D.seen[i])
                continue;
            size_t j = D.seen[i] & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = D.seen[i];
        }
        free(D.seen);
        D.seen = t;
        D.seen_cap = cap;
    }
    size_t j = h & (D.seen_cap - 1);
    while (D.seen[j]) {
        if (D.seen[j] == h)
            return true;
        j = (j + 1) & (D.seen_cap - 1);
    }
    D.seen[j] = h;
    D.seen_len++;
    return false;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The source line under the header, then a caret and tildes under the range.
 * Tabs in the line are copied into the caret line so the caret lines up. */
/* The source line under the header, then a caret and tildes under the range.
 * Tabs in the line are copied into the caret line so the caret lines up. A
 * long line is cut to a window around the caret. */
static void print_excerpt(Loc loc)
{
    enum { WINDOW = 160, BEFORE = 60 };
    uint32_t line_len;
    const char *line = source_line_text(loc.file, loc.off, &line_len);
    uint32_t col = loc.off - (uint32_t)(line - loc.file->text);
    uint32_t from = 0, to = line_len;
    if (line_len > WINDOW) {
        from = col > BEFORE ? col - BEFORE : 0;
        to = from + WINDOW < line_len ? from + WINDOW : line_len;
    }
    const char *lead = from > 0 ? "..." : "";
    fputs(lead, D.out);
    for (uint32_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)line[i];
        fputc(c < 0x20 && c != '\t' ? ' ' : c, D.out);
    }
    fputs(to < line_len ? "...\n" : "\n", D.out);
    for (const char *p = lead; *p; p++)
        fputc(' ', D.out);
    for (uint32_t i = from; i < col && i < to; i++)
        fputc(line[i] == '\t' ? '\t' : ' ', D.out);
    fputc('^', D.out);
    for (uint32_t i = 1; i < loc.len && col + i < to; i++)
        fputc('~', D.out);
    fputc('\n', D.out);
}

static const char *severity_name[] = {"error", "warning", "note"};

static void emit(Severity sev, Loc loc, const char *msg)
{
    FILE *out = D.out ? D.out : stderr;
    D.out = out;
    uint32_t line = 0, col = 0;
    if (loc.file)
        source_line_col(loc.file, loc.off, &line, &col);
    if (D.format == DIAG_JSON) {
        fputs("{\"severity\":", out);
        json_string(out, severity_name[sev]);
        if (loc.file) {
            fputs(",\"file\":", out);
            json_string(out, loc.file->path);
            fprintf(out, ",\"line\":%u,\"column\":%u,\"length\":%u", line, col, loc.len);
        }
        fputs(",\"message\":", out);
        json_string(out, msg);
        fputs("}\n", out);
        return;
    }
    if (loc.file)
        fprintf(out, "%s:%u:%u: %s: %s\n", loc.file->path, line, col, severity_name[sev], msg);
    else
        fprintf(out, "tdc: %s: %s\n", severity_name[sev], msg);
    if (loc.file && sev != SEV_NOTE)
        print_excerpt(loc);
}

static void flush_context(void)
{
    if (!D.context_pending)
        return;
    D.context_pending = false;
    int n = D.ncontext < (int)(sizeof D.context / sizeof D.context[0]) ? D.ncontext : (int)(sizeof D.context / sizeof D.context[0]);
    for (int i = n - 1; i >= 0; i--)
        emit(SEV_NOTE, D.context[i].loc, D.context[i].message);
}

void diag_push_context(Loc loc, const char *message)
{
    flush_context();
    if (D.ncontext < (int)(sizeof D.context / sizeof D.context[0])) {
        D.context[D.ncontext].loc = loc;
        D.context[D.ncontext].message = message;
    }
    D.ncontext++;
}

void diag_pop_context(void)
{
    flush_context();
    if (D.ncontext > 0)
        D.ncontext--;
}

static char *format_message(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    char *msg = malloc(n < 0 ? 1 : (size_t)n + 1);
    if (!msg) {
        fprintf(stderr, "tdc: error: out of memory\n");
        exit(1);
    }
    if (n < 0)
        msg[0] = 0;
    else
        vsnprintf(msg, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return msg;
}

static bool report(Severity sev, Loc loc, const char *fmt, va_list ap)
{
    char *msg = format_message(fmt, ap);
    bool printed = false;
    if (sev == SEV_NOTE) {
        if (!D.last_suppressed)
            emit(sev, loc, msg);
        printed = !D.last_suppressed;
    } else if (flush_context(), seen_before(loc, msg)) {
        D.last_suppressed = true;
    } else {
        if (sev == SEV_ERROR)
            D.errors++;
        if (sev == SEV_ERROR && D.max_errors > 0 && D.errors > D.max_errors) {
            D.errors_held_back++;
            D.last_suppressed = true;
        } else {
            emit(sev, loc, msg);
            D.last_suppressed = false;
            printed = true;
            D.context_pending = sev == SEV_ERROR && D.ncontext > 0;
        }
    }
    free(msg);
    return printed;
}

bool diag_error(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool printed = report(SEV_ERROR, loc, fmt, ap);
    va_end(ap);
    return printed;
}

bool diag_warning(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    bool printed = report(SEV_WARNING, loc, fmt, ap);
    va_end(ap);
    return printed;
}

void diag_note(Loc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(SEV_NOTE, loc, fmt, ap);
    va_end(ap);
}

int diag_error_count(void) { return D.errors; }

bool diag_limit_reached(void) { return D.max_errors > 0 && D.errors >= D.max_errors; }

void diag_finish(void)
{
    flush_context();
    if (D.errors_held_back > 0) {
        Loc none = {0};
        char msg[128];
        snprintf(msg, sizeof msg, "too many errors; %d more not shown (use --max-errors=0 to see all)",
                 D.errors_held_back);
        emit(SEV_ERROR, none, msg);
    }
    if (D.out)
        fflush(D.out);
}
