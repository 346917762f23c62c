/* parse.c - drives the Lemon parser over the scanner's tokens (see parse.h).
 *
 * The only policy here is which newlines reach the grammar; everything else
 * is grammar/parser.y. */
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
    p->last = t;
    Parse(lemon, t.kind, t);
}

void parse_syntax_error(Parser *p, Token tok)
{
    if (p->error_loc.file && p->error_loc.off == tok.loc.off)
        return;
    p->error_loc = tok.loc;
    p->syntax_errors++;
    switch (tok.kind) {
    case TK_IDENT:
        diag_error(tok.loc, "syntax error: unexpected identifier '%s'", tok.str.text);
        break;
    case TK_NEWLINE:
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
    for (;;) {
        Token t = lex_next(&lx);
        if (t.kind == TK_NEWLINE) {
            if (depth == 0 && !continues_line(last) && !newline_pending) {
                newline_pending = true;
                newline = t;
            }
            continue;
        }
        if (newline_pending && t.kind != TK_LBRACE) {
            feed(&p, lemon, newline);
            last = TK_NEWLINE;
        }
        newline_pending = false;
        if (t.kind == TK_LPAREN || t.kind == TK_LBRACKET)
            depth++;
        else if ((t.kind == TK_RPAREN || t.kind == TK_RBRACKET) && depth > 0)
            depth--;
        else if (t.kind == TK_LBRACE || t.kind == TK_RBRACE)
            depth = 0; /* braces never sit inside parentheses: recover here */
        if ((t.kind == TK_RBRACE || t.kind == 0) && last != TK_NEWLINE && last != TK_SEMI && last != TK_LBRACE &&
            last != 0) {
            Token end = {.kind = TK_NEWLINE, .loc = {file, t.loc.off, 0}};
            feed(&p, lemon, end);
            last = TK_NEWLINE;
        }
        feed(&p, lemon, t);
        last = t.kind;
        if (t.kind == 0)
            break;
    }
    ParseFree(lemon, free);
    Module *m = arena_alloc(a, sizeof *m);
    m->file = file;
    m->ndecls = (int)p.decls.len;
    m->decls = (Decl **)p.decls.items;
    return m;
}
