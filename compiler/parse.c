/* parse.c - drives the Lemon parser over the scanner's tokens (see parse.h).
 *
 * The policy here: which newlines reach the grammar, how far to skip after a
 * syntax error, what the message says (the tokens the tables would take
 * instead), and which names a broken statement may have bound, so the
 * checker does not report them as unknown. The syntax itself is
 * grammar/parser.y. */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "parser.h"

/* Tokens after which a newline cannot end a statement. */
static bool continues_line(int kind)
{
    switch (kind) {
    case 0: case TK_NEWLINE: case TK_SEMI: case TK_LBRACE:
    case TK_PLUS: case TK_MINUS: case TK_STAR: case TK_SLASH: case TK_POW: case TK_AT:
    case TK_EQ: case TK_NE: case TK_LT: case TK_LE: case TK_GT: case TK_GE:
    case TK_ASSIGN: case TK_COMMA: case TK_COLON: case TK_ARROW: case TK_DOTDOT:
    case TK_AS: case TK_WITH: case TK_IN: case TK_LPAREN: case TK_LBRACKET:
        return true;
    }
    return false;
}

static void feed(Parser *p, void *lemon, Token t)
{
    if (p->last.kind != TK_NEWLINE || t.kind != TK_NEWLINE)
        p->previous = p->last;
    p->last = t;
    if (t.kind == TK_IDENT)
        ptrvec_push(p->arena, p->statement_broken ? &p->broken_names : &p->statement_names, (void *)t.str.text);
    Parse(lemon, t.kind, t);
    if (t.kind == TK_NEWLINE || t.kind == TK_SEMI) {
        ParseEndOfStatement(lemon);
        p->statement_names.len = 0;
        p->statement_broken = false;
    }
}

bool parse_errors_since_last_item(Parser *p) { return p->syntax_errors > p->errors_at_last_item; }

/* "expected '=' or end of line", when there are few enough choices to list. */
static const char *expected_list(Parser *p, void *lemon)
{
    int tokens[8], n = ParseExpectedTokens(lemon, tokens, 8);
    if (n == 0 || n > 4)
        return NULL;
    const char *names[8];
    int m = 0;
    for (int i = 0; i < n; i++) {
        const char *name = tokens[i] == TK_SEMI ? lex_token_name(TK_NEWLINE) : lex_token_name(tokens[i]);
        bool dup = false;
        for (int j = 0; j < m; j++)
            dup |= strcmp(names[j], name) == 0;
        if (!dup)
            names[m++] = name;
    }
    const char *list = "";
    for (int i = 0; i < m; i++)
        list = arena_printf(p->arena, "%s%s%s", list, i == 0 ? "" : i == m - 1 ? " or " : ", ", names[i]);
    return list;
}

void parse_syntax_error(Parser *p, Token tok, void *lemon)
{
    if (p->error_loc.file && p->error_loc.off == tok.loc.off)
        return;
    p->error_loc = tok.loc;
    p->syntax_errors++;
    /* what this statement would have bound is unknown now: remember its names */
    for (size_t i = 0; i < p->statement_names.len; i++)
        ptrvec_push(p->arena, &p->broken_names, p->statement_names.items[i]);
    p->statement_names.len = 0;
    p->statement_broken = true;
    const char *expected = expected_list(p, lemon);
    if (expected && !p->unclosed.file) {
        const char *got = tok.kind == TK_IDENT ? arena_printf(p->arena, "identifier '%s'", tok.str.text)
                        : tok.kind == TK_DTYPE ? arena_printf(p->arena, "dtype '%s'", dtype_name(tok.dtype))
                        : lex_token_name(tok.kind);
        diag_error(tok.loc, "syntax error: expected %s, not %s", expected, got);
        return;
    }
    switch (tok.kind) {
    case TK_IDENT:
        diag_error(tok.loc, "syntax error: unexpected identifier '%s'", tok.str.text);
        break;
    case TK_NEWLINE:
        if (p->unclosed.file) {
            if (diag_error(tok.loc, "syntax error: '%c' is not closed before the end of the statement",
                           p->unclosed.file->text[p->unclosed.off]))
                diag_note(p->unclosed.file ? p->unclosed : tok.loc, "opened here");
        } else if (continues_line(p->previous.kind) && p->previous.kind != TK_NEWLINE && p->previous.kind != TK_SEMI &&
            p->previous.kind != TK_LBRACE && p->previous.kind != 0)
            diag_error(tok.loc, "syntax error: expected an expression after %s", lex_token_name(p->previous.kind));
        else
            diag_error(tok.loc, "syntax error: unexpected end of line (is something missing before it?)");
        break;
    case 0:
        diag_error(tok.loc, "syntax error: unexpected end of file (is a '}' or ')' missing?)");
        break;
    case TK_DTYPE:
        diag_error(tok.loc, "syntax error: unexpected dtype '%s'", dtype_name(tok.dtype));
        break;
    default:
        diag_error(tok.loc, "syntax error: unexpected %s", lex_token_name(tok.kind));
        break;
    }
}

/* Keywords that can only begin a declaration or statement. */
static bool starts_statement(int kind)
{
    switch (kind) {
    case TK_FN: case TK_PARAM: case TK_DIM: case TK_CONST: case TK_TRAIN: case TK_IMPORT:
    case TK_RETURN: case TK_FOR: case TK_MINIMIZE:
        return true;
    }
    return false;
}

/* After a syntax error the grammar's `error` rules wait for the end of the
 * statement. The driver skips to it first, so that the tokens in between
 * cannot raise more errors: a whole `{...}` block is skipped (a broken
 * declaration's body must not be read as declarations), and a '}' closing
 * the enclosing block, or a keyword that begins a statement, ends the skip. */
typedef struct Skipper {
    bool active;
    int depth; /* braces opened while skipping */
} Skipper;

Module *parse_file(Arena *a, const SourceFile *file)
{
    Parser p = {.arena = a, .file = file};
    Lexer lx;
    lex_init(&lx, a, file);
    void *lemon = ParseAlloc(malloc, &p);
    if (!lemon) {
        diag_error((Loc){0}, "out of memory");
        exit(1);
    }
    int depth = 0;           /* open ( and [ */
    int last = 0;            /* kind of the last token given to the grammar */
    bool newline_pending = false;
    Token newline = {0};
    Skipper skip = {0};
    enum { MAX_OPENERS = 64 };
    Loc openers[MAX_OPENERS], unclosed = {0};
    for (;;) {
        Token t = lex_next(&lx);
        Token end = {.kind = TK_NEWLINE, .loc = {file, t.loc.off, 0}};
        if (skip.active) {
            bool resume = false;
            if (t.kind == TK_IDENT)
                ptrvec_push(a, &p.broken_names, (void *)t.str.text);
            if (t.kind == TK_LBRACE) {
                skip.depth++;
            } else if (t.kind == TK_RBRACE) {
                if (skip.depth > 0)
                    skip.depth--;
                else
                    resume = true;
            } else if (t.kind == 0 ||
                       (skip.depth == 0 && (t.kind == TK_NEWLINE || t.kind == TK_SEMI || starts_statement(t.kind)))) {
                resume = true; /* the end of the file ends any skip */
            }
            if (!resume)
                continue;
            skip.active = false;
            depth = 0;
            newline_pending = false;
            feed(&p, lemon, end);
            last = TK_NEWLINE;
            if (t.kind == TK_NEWLINE || t.kind == TK_SEMI)
                continue;
        }
        if (t.kind == TK_NEWLINE) {
            if (depth == 0 && !continues_line(last) && !newline_pending) {
                newline_pending = true;
                newline = t;
            }
            continue;
        }
        if (starts_statement(t.kind) && last != TK_NEWLINE && last != TK_SEMI && last != TK_LBRACE && last != 0) {
            /* a statement keyword after an unfinished line: end that line where it stopped */
            if (depth > 0)
                unclosed = openers[(depth > MAX_OPENERS ? MAX_OPENERS : depth) - 1];
            depth = 0;
            newline_pending = true;
            newline = end;
            newline.loc.off = p.last.loc.off + p.last.loc.len;
        }
        if (newline_pending && t.kind != TK_LBRACE) {
            p.unclosed = unclosed;
            feed(&p, lemon, newline);
            p.unclosed = (Loc){0};
            last = TK_NEWLINE;
        }
        unclosed = (Loc){0};
        newline_pending = false;
        Loc open_at = depth > 0 ? openers[(depth > MAX_OPENERS ? MAX_OPENERS : depth) - 1] : (Loc){0};
        if (t.kind == TK_LPAREN || t.kind == TK_LBRACKET) {
            if (depth < MAX_OPENERS)
                openers[depth] = t.loc;
            depth++;
        }
        else if ((t.kind == TK_RPAREN || t.kind == TK_RBRACKET) && depth > 0)
            depth--;
        else if (t.kind == TK_LBRACE || t.kind == TK_RBRACE)
            depth = 0; /* braces never sit inside parentheses: recover here */
        if ((t.kind == TK_RBRACE || t.kind == 0) && last != TK_NEWLINE && last != TK_SEMI && last != TK_LBRACE &&
            last != 0) {
            p.unclosed = open_at;
            feed(&p, lemon, end);
            p.unclosed = (Loc){0};
            last = TK_NEWLINE;
        }
        int errors_before = p.syntax_errors;
        feed(&p, lemon, t);
        last = t.kind;
        if (t.kind == 0)
            break;
        if (p.syntax_errors != errors_before && t.kind != TK_NEWLINE && t.kind != TK_SEMI) {
            /* the grammar discarded t; skip to the end of the statement */
            skip.active = true;
            skip.depth = t.kind == TK_LBRACE ? 1 : 0;
            if (t.kind == TK_RBRACE) { /* the block's '}' was lost: end the statement and close it again */
                skip.active = false;
                feed(&p, lemon, end);
                feed(&p, lemon, t);
            }
        }
    }
    ParseFree(lemon, free);
    Module *m = arena_alloc(a, sizeof *m);
    m->file = file;
    m->ndecls = (int)p.decls.len;
    m->decls = (Decl **)p.decls.items;
    m->syntax_errors = p.syntax_errors;
    m->broken_names = p.broken_names;
    return m;
}
