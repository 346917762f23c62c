/* source.c - reading source files and mapping byte offsets to lines. */
#include "source.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

SourceFile *source_from_memory(Arena *a, const char *path, const char *text, size_t len)
{
    if (len > SOURCE_MAX_BYTES)
        return NULL;
    SourceFile *f = arena_alloc(a, sizeof *f);
    f->path = arena_strdup(a, path);
    char *copy = arena_alloc(a, len + 1);
    memcpy(copy, text, len);
    copy[len] = 0;
    f->text = copy;
    f->len = (uint32_t)len;
    uint32_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    f->line_starts = arena_array(a, lines, sizeof *f->line_starts);
    f->line_starts[0] = 0;
    uint32_t n = 1;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n')
            f->line_starts[n++] = (uint32_t)i + 1;
    f->line_count = n;
    return f;
}

SourceFile *source_read(Arena *a, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    Arena tmp = {0};
    char *buf = arena_alloc(&tmp, cap);
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, fp);
        len += n;
        if (len > SOURCE_MAX_BYTES) {
            fclose(fp);
            arena_free(&tmp);
            errno = EFBIG;
            return NULL;
        }
        if (n == 0)
            break;
        if (len == cap) {
            char *bigger = arena_alloc(&tmp, cap * 2);
            memcpy(bigger, buf, len);
            buf = bigger;
            cap *= 2;
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        arena_free(&tmp);
        errno = EIO;
        return NULL;
    }
    SourceFile *f = source_from_memory(a, path, buf, len);
    arena_free(&tmp);
    return f;
}

static uint32_t line_index(const SourceFile *f, uint32_t off)
{
    uint32_t lo = 0, hi = f->line_count;
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (f->line_starts[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

void source_line_col(const SourceFile *f, uint32_t off, uint32_t *line, uint32_t *col)
{
    uint32_t i = line_index(f, off);
    *line = i + 1;
    *col = off - f->line_starts[i] + 1;
}

const char *source_line_text(const SourceFile *f, uint32_t off, uint32_t *out_len)
{
    uint32_t i = line_index(f, off);
    uint32_t start = f->line_starts[i], end = start;
    while (end < f->len && f->text[end] != '\n')
        end++;
    if (end > start && f->text[end - 1] == '\r')
        end--;
    *out_len = end - start;
    return f->text + start;
}

Loc loc_span(Loc from, Loc to)
{
    if (!from.file)
        return to;
    if (to.file != from.file || to.off + to.len < from.off)
        return from;
    Loc l = from;
    l.len = to.off + to.len - from.off;
    return l;
}

Loc loc_sub(Loc l, uint32_t off, uint32_t len)
{
    Loc s = l;
    s.off = l.off + off;
    s.len = len;
    return s;
}
