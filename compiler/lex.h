/* lex.h - turning source text into tokens.
 *
 * The scanner itself is grammar/lexer.re (re2c); token codes are the TK_*
 * constants Lemon writes into parser.h. The scanner reports malformed
 * literals and stray characters through diag and keeps going, so one run
 * reports every lexical error. parse.c decides which newlines end
 * statements. */
#ifndef TDC_LEX_H
#define TDC_LEX_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "dtype.h"
#include "source.h"

typedef struct Token {
    int kind; /* TK_* from parser.h; 0 at end of input */
    Loc loc;
    union {
        int64_t int_value;
        double float_value;
        Dtype dtype;
        struct {
            const char *text; /* identifiers: interned in the arena; strings: decoded */
            uint32_t len;
        } str;
    };
} Token;

typedef struct Lexer {
    Arena *arena;
    const SourceFile *file;
    const unsigned char *cursor, *limit;
} Lexer;

void lex_init(Lexer *lx, Arena *a, const SourceFile *file);
Token lex_next(Lexer *lx);
const char *lex_token_name(int kind);

/* The source range of bytes [off, off+len) of a string literal's decoded
 * text, so a caret can point inside the literal even across escapes. */
Loc lex_string_subloc(Loc literal, uint32_t off, uint32_t len);
/* Whether a string literal has no escapes, so decoded offsets are source
 * offsets: callers that point into one literal many times ask once. */
bool lex_string_plain(Loc literal);
/* lex_string_subloc, in constant time when `plain`. */
Loc lex_string_subloc_fast(Loc literal, bool plain, uint32_t off, uint32_t len);

#endif
