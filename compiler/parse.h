/* parse.h - parsing one source file into a Module.
 *
 * parse.c feeds the scanner's tokens to the Lemon parser generated from
 * grammar/parser.y. It decides which newlines end a statement: none inside
 * parentheses or brackets, none after a token that cannot end one (an
 * operator, a comma, '{'), and none before a '{'. A '}' ends the statement
 * before it. Syntax errors are reported and parsing resumes at the next
 * statement, so one run reports several. */
#ifndef TDC_PARSE_H
#define TDC_PARSE_H

#include "arena.h"
#include "ast.h"
#include "lex.h"

typedef struct Parser {
    Arena *arena;
    const SourceFile *file;
    PtrVec decls;
    int syntax_errors;
    Token last;        /* the most recent token given to the grammar */
    Token previous;    /* the one before it */
    int errors_at_last_item;
    PtrVec statement_names; /* identifiers of the statement being read */
    PtrVec broken_names;    /* identifiers of statements with syntax errors */
    bool statement_broken;
    Loc unclosed;      /* an open '(' or '[' the current statement end leaves unclosed */
    Loc error_loc;     /* where the last syntax error was reported */
} Parser;

Module *parse_file(Arena *a, const SourceFile *file);

/* Whether syntax errors were reported since the last complete declaration. */
bool parse_errors_since_last_item(Parser *p);

/* Called from the grammar's %syntax_error, with Lemon's parser. */
void parse_syntax_error(Parser *p, Token tok, void *lemon);

/* Lemon's entry points (generated into parser.c). */
void *ParseAlloc(void *(*alloc)(size_t), Parser *p);
void ParseFree(void *parser, void (*free_fn)(void *));
void Parse(void *parser, int kind, Token tok);
void ParseEndOfStatement(void *parser);
int ParseExpectedTokens(void *parser, int *out, int max);

#endif
