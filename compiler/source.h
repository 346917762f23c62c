/* source.h - source files and locations.
 *
 * A SourceFile owns the text of one .td file and a table of line starts, so a
 * location can be stored as a byte range and turned into line and column only
 * when a diagnostic is printed. Every AST node and diagnostic carries a Loc. */
#ifndef TDC_SOURCE_H
#define TDC_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"

typedef struct SourceFile {
    const char *path;      /* as the user or the import named it */
    const char *text;      /* NUL-terminated; may also contain NUL bytes */
    uint32_t len;
    uint32_t *line_starts; /* byte offset of each line's first byte */
    uint32_t line_count;
} SourceFile;

typedef struct Loc {
    const SourceFile *file; /* NULL: no location (command line, built-ins) */
    uint32_t off, len;      /* byte range in file->text */
} Loc;

enum { SOURCE_MAX_BYTES = 0x7fffffff };

/* Makes a SourceFile from text already in memory (copied into the arena). */
SourceFile *source_from_memory(Arena *a, const char *path, const char *text, size_t len);
/* Reads a file; NULL with errno set when it cannot be read. Files over
 * SOURCE_MAX_BYTES fail with EFBIG. */
SourceFile *source_read(Arena *a, const char *path);

void source_line_col(const SourceFile *f, uint32_t off, uint32_t *line, uint32_t *col);
/* The text of the line holding `off`, without its newline. */
const char *source_line_text(const SourceFile *f, uint32_t off, uint32_t *out_len);

Loc loc_span(Loc from, Loc to); /* from the start of `from` to the end of `to` */
Loc loc_sub(Loc l, uint32_t off, uint32_t len); /* a sub-range, relative to l */

#endif
