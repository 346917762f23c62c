/* lexer.re - the scanner for .td source, compiled by re2c into lexer.c.
 *
 * Tokens: identifiers, keywords, dtype names, integers (decimal, 0x hex,
 * 0b binary, with _ between digits), floats (1.5, 1e-3, 2.5e+3), strings with
 * C-like escapes, operators, and NEWLINE. `#` starts a comment to the end of
 * the line. The text is NUL-terminated; a NUL before the end is an error. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "lex.h"
#include "parser.h"

void lex_init(Lexer *lx, Arena *a, const SourceFile *file)
{
    lx->arena = a;
    lx->file = file;
    lx->cursor = (const unsigned char *)file->text;
    lx->limit = lx->cursor + file->len;
}

static Loc loc_of(const Lexer *lx, const unsigned char *start, const unsigned char *end)
{
    Loc l = {lx->file, (uint32_t)(start - (const unsigned char *)lx->file->text), (uint32_t)(end - start)};
    return l;
}

static int keyword(const unsigned char *s, size_t n)
{
    static const struct { const char *text; int kind; } keywords[] = {
        {"dim", TK_DIM}, {"const", TK_CONST}, {"param", TK_PARAM}, {"fn", TK_FN},
        {"return", TK_RETURN}, {"for", TK_FOR}, {"in", TK_IN}, {"import", TK_IMPORT},
        {"train", TK_TRAIN}, {"minimize", TK_MINIMIZE}, {"with", TK_WITH}, {"as", TK_AS},
        {"true", TK_TRUE}, {"false", TK_FALSE}, {"float", TK_ANYFLOAT},
    };
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].text) == n && memcmp(keywords[i].text, s, n) == 0)
            return keywords[i].kind;
    return 0;
}

/* Integer literal: strip underscores (only allowed between digits), check the
 * digits against the base, and check for overflow of int64. */
static void scan_integer(Lexer *lx, Token *t, const unsigned char *s, const unsigned char *e)
{
    int base = 10;
    const unsigned char *p = s;
    if (e - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, p += 2;
    else if (e - s > 2 && s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, p += 2;
    uint64_t v = 0;
    int digits = 0;
    bool overflow = false;
    for (; p < e; p++) {
        if (*p == '_') {
            if (p + 1 == e || p[1] == '_' || digits == 0) {
                diag_error(loc_of(lx, p, p + 1), "'_' in a number must stand between two digits");
                return;
            }
            continue;
        }
        int d = *p <= '9' ? *p - '0' : (*p | 0x20) - 'a' + 10;
        if (d >= base) {
            diag_error(loc_of(lx, p, p + 1), "invalid digit '%c' in %s literal", *p,
                       base == 16 ? "hexadecimal" : base == 2 ? "binary" : "decimal");
            return;
        }
        digits++;
        if (__builtin_mul_overflow(v, (uint64_t)base, &v) || __builtin_add_overflow(v, (uint64_t)d, &v))
            overflow = true;
    }
    if (overflow || v > INT64_MAX)
        diag_error(t->loc, "integer literal is too large (the largest is 9223372036854775807)");
    t->int_value = (int64_t)v;
}

static void scan_float(Lexer *lx, Token *t, const unsigned char *s, const unsigned char *e)
{
    char buf[128];
    size_t n = 0;
    for (const unsigned char *p = s; p < e; p++) {
        if (*p == '_') {
            if (p == s || p + 1 == e || !(p[-1] >= '0' && p[-1] <= '9') || !(p[1] >= '0' && p[1] <= '9')) {
                diag_error(loc_of(lx, p, p + 1), "'_' in a number must stand between two digits");
                return;
            }
            continue;
        }
        if (n + 1 >= sizeof buf) {
            diag_error(t->loc, "floating-point literal is too long");
            return;
        }
        buf[n++] = (char)*p;
    }
    buf[n] = 0;
    errno = 0;
    t->float_value = strtod(buf, NULL);
    if (errno == ERANGE && (t->float_value > 1 || t->float_value < -1))
        diag_error(t->loc, "floating-point literal is out of range for f64");
    else if (errno == ERANGE && t->float_value == 0)
        diag_error(t->loc, "floating-point literal is too small for f64 and would be 0");
}

/* Decodes the escapes of a string literal (s..e excludes the quotes). */
static void scan_string(Lexer *lx, Token *t, const unsigned char *s, const unsigned char *e)
{
    char *out = arena_alloc(lx->arena, (size_t)(e - s) + 1);
    uint32_t n = 0;
    for (const unsigned char *p = s; p < e; p++) {
        if (*p != '\\') {
            out[n++] = (char)*p;
            continue;
        }
        const unsigned char *esc = p++;
        switch (*p) {
        case 'n': out[n++] = '\n'; break;
        case 't': out[n++] = '\t'; break;
        case 'r': out[n++] = '\r'; break;
        case '0': out[n++] = '\0'; break;
        case '\\': out[n++] = '\\'; break;
        case '"': out[n++] = '"'; break;
        case '\'': out[n++] = '\''; break;
        case 'x': {
            int v = 0, k = 0;
            for (; k < 2 && p + 1 < e; k++) {
                unsigned char c = p[1];
                int d = c >= '0' && c <= '9' ? c - '0' : (c | 0x20) >= 'a' && (c | 0x20) <= 'f' ? (c | 0x20) - 'a' + 10 : -1;
                if (d < 0)
                    break;
                v = v * 16 + d;
                p++;
            }
            if (k < 2) {
                diag_error(loc_of(lx, esc, p + 1), "\\x must be followed by two hexadecimal digits");
                break;
            }
            out[n++] = (char)v;
            break;
        }
        default:
            diag_error(loc_of(lx, esc, p + 1), "unknown escape sequence '\\%c' (known: \\n \\t \\r \\0 \\\\ \\\" \\' \\xHH)",
                       *p >= 0x20 && *p < 0x7f ? *p : '?');
            break;
        }
    }
    out[n] = 0;
    t->str.text = out;
    t->str.len = n;
}

Loc lex_string_subloc(Loc literal, uint32_t off, uint32_t len)
{
    if (!literal.file || literal.len < 2)
        return literal;
    const char *raw = literal.file->text + literal.off + 1;
    const char *end = literal.file->text + literal.off + literal.len - 1;
    const char *p = raw;
    uint32_t decoded = 0, start = 0, stop = 0;
    bool have_start = false;
    while (p < end) {
        if (decoded == off && !have_start)
            start = (uint32_t)(p - raw), have_start = true;
        if (decoded == off + len) {
            stop = (uint32_t)(p - raw);
            break;
        }
        if (*p == '\\' && p + 1 < end)
            p += p[1] == 'x' ? (p + 3 < end ? 4 : 2) : 2;
        else
            p++;
        decoded++;
        stop = (uint32_t)(p - raw);
    }
    if (!have_start)
        start = (uint32_t)(p - raw);
    if (stop < start)
        stop = start;
    return loc_sub(literal, 1 + start, stop - start ? stop - start : 1);
}

bool lex_string_plain(Loc literal)
{
    return literal.file && literal.len >= 2 && !memchr(literal.file->text + literal.off, '\\', literal.len);
}

Loc lex_string_subloc_fast(Loc literal, bool plain, uint32_t off, uint32_t len)
{
    if (!plain || off > literal.len - 2 || len > literal.len - 2 - off)
        return lex_string_subloc(literal, off, len);
    return loc_sub(literal, 1 + off, len ? len : 1);
}

static char *intern(Lexer *lx, const unsigned char *s, const unsigned char *e)
{
    return arena_strndup(lx->arena, (const char *)s, (size_t)(e - s));
}

Token lex_next(Lexer *lx)
{
    Token t;
    for (;;) {
        const unsigned char *start = lx->cursor, *YYMARKER;
        memset(&t, 0, sizeof t);
#define YYCURSOR lx->cursor
#define TOKEN(k) do { t.kind = (k); t.loc = loc_of(lx, start, lx->cursor); return t; } while (0)
        /*!re2c
        re2c:define:YYCTYPE = "unsigned char";
        re2c:yyfill:enable = 0;

        digit = [0-9];
        ident = [A-Za-z_][A-Za-z0-9_]*;
        decint = digit [0-9_]*;
        hexint = "0" [xX] [0-9A-Za-z_]+;
        binint = "0" [bB] [0-9A-Za-z_]+;
        frac = digit [0-9_]* "." digit [0-9_]*;
        exp = [eE] [+-]? digit [0-9_]*;
        float = frac exp? | decint exp;

        "\x00" {
            if (start >= lx->limit) {
                lx->cursor = start;
                TOKEN(0);
            }
            diag_error(loc_of(lx, start, lx->cursor), "unexpected NUL byte in source");
            continue;
        }
        [ \t\r\f\v]+ { continue; }
        "#" [^\n\x00]* { continue; }
        "\n" { TOKEN(TK_NEWLINE); }

        float ident? {
            t.loc = loc_of(lx, start, lx->cursor);
            t.kind = TK_FLOAT;
            const unsigned char *e = start;
            while (e < lx->cursor && ((*e >= '0' && *e <= '9') || *e == '_' || *e == '.'))
                e++;
            if (e < lx->cursor && (*e == 'e' || *e == 'E')) {
                const unsigned char *x = e + 1;
                if (x < lx->cursor && (*x == '+' || *x == '-'))
                    x++;
                if (x < lx->cursor && *x >= '0' && *x <= '9') {
                    e = x;
                    while (e < lx->cursor && ((*e >= '0' && *e <= '9') || *e == '_'))
                        e++;
                }
            }
            if (e < lx->cursor) {
                diag_error(loc_of(lx, e, lx->cursor), "invalid suffix '%.*s' on number",
                           (int)(lx->cursor - e), (const char *)e);
                return t;
            }
            scan_float(lx, &t, start, lx->cursor);
            return t;
        }

        (hexint | binint | decint) ident? {
            t.loc = loc_of(lx, start, lx->cursor);
            t.kind = TK_INT;
            const unsigned char *e = start;
            if (lx->cursor - start > 2 && start[0] == '0' && ((start[1] | 0x20) == 'x' || (start[1] | 0x20) == 'b'))
                e = lx->cursor;
            else
                while (e < lx->cursor && ((*e >= '0' && *e <= '9') || *e == '_'))
                    e++;
            if (e < lx->cursor) {
                diag_error(loc_of(lx, e, lx->cursor), "invalid suffix '%.*s' on number",
                           (int)(lx->cursor - e), (const char *)e);
                return t;
            }
            scan_integer(lx, &t, start, lx->cursor);
            return t;
        }
        ["] ([^"\\\n\x00] | "\\" [^\n\x00])* ["] {
            t.kind = TK_STRING;
            t.loc = loc_of(lx, start, lx->cursor);
            scan_string(lx, &t, start + 1, lx->cursor - 1);
            return t;
        }
        ["] ([^"\\\n\x00] | "\\" [^\n\x00])* "\\"? {
            t.kind = TK_STRING;
            t.loc = loc_of(lx, start, lx->cursor);
            diag_error(loc_of(lx, start, start + 1), "missing closing '\"' of string literal");
            const unsigned char *e = lx->cursor;
            if (e > start + 1 && e[-1] == '\\')
                e--;
            scan_string(lx, &t, start + 1, e); /* keep the text, so nothing else trips over it */
            return t;
        }

        ident {
            size_t n = (size_t)(lx->cursor - start);
            int kw = keyword(start, n);
            if (kw)
                TOKEN(kw);
            int dt = dtype_lookup((const char *)start, n);
            if (dt >= 0) {
                t.dtype = (Dtype)dt;
                TOKEN(TK_DTYPE);
            }
            t.str.text = intern(lx, start, lx->cursor);
            t.str.len = (uint32_t)n;
            TOKEN(TK_IDENT);
        }

        "." digit [0-9_]* exp? {
            t.kind = TK_FLOAT;
            t.loc = loc_of(lx, start, lx->cursor);
            diag_error(t.loc, "a number must start with a digit: write 0%.*s", (int)(lx->cursor - start), (const char *)start);
            t.float_value = strtod((const char *)start, NULL);
            return t;
        }
        decint "." / [^.0-9] {
            t.kind = TK_FLOAT;
            t.loc = loc_of(lx, start, lx->cursor);
            diag_error(t.loc, "a number needs a digit after '.': write %.*s0", (int)(lx->cursor - start), (const char *)start);
            t.float_value = strtod((const char *)start, NULL);
            return t;
        }
        "**" { TOKEN(TK_POW); }
        "->" { TOKEN(TK_ARROW); }
        "..." { diag_error(loc_of(lx, start, lx->cursor), "'...' is only meaningful inside a shape or pattern string"); continue; }
        ".." { TOKEN(TK_DOTDOT); }
        "==" { TOKEN(TK_EQ); }
        "!=" { TOKEN(TK_NE); }
        "<=" { TOKEN(TK_LE); }
        ">=" { TOKEN(TK_GE); }
        "<" { TOKEN(TK_LT); }
        ">" { TOKEN(TK_GT); }
        "+" { TOKEN(TK_PLUS); }
        "-" { TOKEN(TK_MINUS); }
        "*" { TOKEN(TK_STAR); }
        "/" { TOKEN(TK_SLASH); }
        "@" { TOKEN(TK_AT); }
        "=" { TOKEN(TK_ASSIGN); }
        "(" { TOKEN(TK_LPAREN); }
        ")" { TOKEN(TK_RPAREN); }
        "[" { TOKEN(TK_LBRACKET); }
        "]" { TOKEN(TK_RBRACKET); }
        "{" { TOKEN(TK_LBRACE); }
        "}" { TOKEN(TK_RBRACE); }
        "," { TOKEN(TK_COMMA); }
        ":" { TOKEN(TK_COLON); }
        ";" { TOKEN(TK_SEMI); }

        [\x80-\xff]+ {
            diag_error(loc_of(lx, start, lx->cursor), "non-ASCII characters are only allowed in comments and strings");
            continue;
        }
        * {
            unsigned char c = *start;
            if (c >= 0x20 && c < 0x7f)
                diag_error(loc_of(lx, start, lx->cursor), "unexpected character '%c'", c);
            else
                diag_error(loc_of(lx, start, lx->cursor), "unexpected byte 0x%02x", c);
            continue;
        }
        */
#undef TOKEN
#undef YYCURSOR
    }
}

const char *lex_token_name(int kind)
{
    switch (kind) {
    case 0: return "end of file";
    case TK_NEWLINE: return "end of line";
    case TK_SEMI: return "';'";
    case TK_IDENT: return "identifier";
    case TK_INT: return "integer";
    case TK_FLOAT: return "number";
    case TK_STRING: return "string";
    case TK_DTYPE: return "dtype";
    case TK_DIM: return "'dim'";
    case TK_CONST: return "'const'";
    case TK_PARAM: return "'param'";
    case TK_FN: return "'fn'";
    case TK_RETURN: return "'return'";
    case TK_FOR: return "'for'";
    case TK_IN: return "'in'";
    case TK_IMPORT: return "'import'";
    case TK_TRAIN: return "'train'";
    case TK_MINIMIZE: return "'minimize'";
    case TK_WITH: return "'with'";
    case TK_AS: return "'as'";
    case TK_ANYFLOAT: return "'float'";
    case TK_TRUE: return "'true'";
    case TK_FALSE: return "'false'";
    case TK_POW: return "'**'";
    case TK_ARROW: return "'->'";
    case TK_DOTDOT: return "'..'";
    case TK_EQ: return "'=='";
    case TK_NE: return "'!='";
    case TK_LE: return "'<='";
    case TK_GE: return "'>='";
    case TK_LT: return "'<'";
    case TK_GT: return "'>'";
    case TK_PLUS: return "'+'";
    case TK_MINUS: return "'-'";
    case TK_STAR: return "'*'";
    case TK_SLASH: return "'/'";
    case TK_AT: return "'@'";
    case TK_ASSIGN: return "'='";
    case TK_LPAREN: return "'('";
    case TK_RPAREN: return "')'";
    case TK_LBRACKET: return "'['";
    case TK_RBRACKET: return "']'";
    case TK_LBRACE: return "'{'";
    case TK_RBRACE: return "'}'";
    case TK_COMMA: return "','";
    case TK_COLON: return "':'";
    }
    return "token";
}
