/* type.c - types, their printing, and shape strings (see type.h). */
#include "type.h"

#include <ctype.h>
#include <string.h>

#include "diag.h"
#include "lex.h"

Type type_error(void)
{
    Type t = {.dtype = DT_F32, .error = true};
    return t;
}

Type type_scalar(Dtype d)
{
    Type t = {.dtype = d};
    return t;
}

Type type_tensor(Arena *a, Dtype d, int rank, const Size *dims)
{
    Type t = {.dtype = d, .rank = rank};
    if (rank > 0) {
        t.dims = arena_array(a, (size_t)rank, sizeof(Size));
        memcpy(t.dims, dims, (size_t)rank * sizeof(Size));
    }
    return t;
}

bool type_same_shape(Type a, Type b)
{
    if (a.rank != b.rank)
        return false;
    for (int i = 0; i < a.rank; i++)
        if (!size_eq(a.dims[i], b.dims[i]))
            return false;
    return true;
}

const char *size_str(Arena *a, Size s, const SizeNames *names)
{
    int n = size_print(NULL, 0, s, names);
    char *buf = arena_alloc(a, (size_t)n + 1);
    size_print(buf, (size_t)n + 1, s, names);
    return buf;
}

const char *shape_str(Arena *a, const Size *dims, int rank, const SizeNames *names)
{
    size_t total = 1;
    for (int i = 0; i < rank; i++)
        total += (size_t)size_print(NULL, 0, dims[i], names) + 1;
    char *buf = arena_alloc(a, total), *p = buf;
    for (int i = 0; i < rank; i++) {
        if (i)
            *p++ = ' ';
        p += size_print(p, total - (size_t)(p - buf), dims[i], names);
    }
    *p = 0;
    return buf;
}

const char *type_str(Arena *a, Type t, const SizeNames *names)
{
    if (t.error)
        return "<error>";
    if (t.rank == 0)
        return t.weak ? (dtype_is_float(t.dtype) ? "float literal" : "int literal") : dtype_name(t.dtype);
    return arena_printf(a, "%s[\"%s\"]", dtype_name(t.dtype), shape_str(a, t.dims, t.rank, names));
}

bool size_report(SizeStatus st, Loc loc, const char *what)
{
    switch (st) {
    case SIZE_OK:
        return true;
    case SIZE_OVERFLOW:
        diag_error(loc, "%s overflows a 64-bit size", what);
        break;
    case SIZE_TOO_COMPLEX:
        diag_error(loc, "%s involves more than %d different run-time dims", what, SIZE_MAX_FACTORS);
        break;
    case SIZE_DIV_ZERO:
        diag_error(loc, "%s divides by zero", what);
        break;
    }
    return false;
}

static bool is_name_start(int c) { return isalpha(c) || c == '_'; }
static bool is_name_char(int c) { return isalnum(c) || c == '_'; }

/* One axis term: factor (('*' | '/') factor)*, factor = NAME | INTEGER. */
static bool parse_axis_term(const char *text, uint32_t start, uint32_t end, Loc literal, bool plain,
                            SizeNameResolver resolve, void *ctx, const SizeNames *names, Size *out)
{
    Size acc = size_const(1);
    char op = '*';
    uint32_t i = start;
    for (;;) {
        uint32_t f = i;
        Size factor;
        if (i < end && isdigit((unsigned char)text[i])) {
            int64_t v = 0;
            while (i < end && isdigit((unsigned char)text[i])) {
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text[i] - '0', &v)) {
                    diag_error(lex_string_subloc_fast(literal, plain, f, end - f), "size in shape string is too large");
                    return false;
                }
                i++;
            }
            if (i < end && is_name_char((unsigned char)text[i])) {
                diag_error(lex_string_subloc_fast(literal, plain, f, 1), "invalid axis name '%.*s': a name cannot start with a digit",
                           (int)(end - f), text + f);
                return false;
            }
            if (v == 0) {
                diag_error(lex_string_subloc_fast(literal, plain, f, i - f), "an axis size must be positive, not 0");
                return false;
            }
            factor = size_const(v);
        } else if (i < end && is_name_start((unsigned char)text[i])) {
            while (i < end && is_name_char((unsigned char)text[i]))
                i++;
            char name[256];
            uint32_t n = i - f < sizeof name - 1 ? i - f : (uint32_t)sizeof name - 1;
            memcpy(name, text + f, n);
            name[n] = 0;
            if (!resolve(ctx, name, lex_string_subloc_fast(literal, plain, f, i - f), &factor))
                return false;
        } else {
            Loc at = lex_string_subloc_fast(literal, plain, i < end ? i : end, 1);
            if (i == end)
                diag_error(at, "expected a dim name or a number after '%c'", op);
            else if (text[i] == '*' && i == start)
                diag_error(at, "jaxtyping's variadic '*name' is written '...' in tdc");
            else if (text[i] == '(' || text[i] == ')')
                diag_error(at, "parentheses group axes in patterns, not in types; write a product as 'a*b'");
            else if (text[i] == '#')
                diag_error(at, "jaxtyping's broadcastable '#name' is not supported; broadcasting is checked at each operation");
            else
                diag_error(at, "unexpected character '%c' in shape string", text[i]);
            return false;
        }
        SizeStatus st = op == '*' ? size_mul(acc, factor, names, &acc) : size_div(acc, factor, names, &acc);
        if (!size_report(st, lex_string_subloc_fast(literal, plain, start, end - start), "axis size"))
            return false;
        if (i == end)
            break;
        if (text[i] != '*' && text[i] != '/') {
            diag_error(lex_string_subloc_fast(literal, plain, i, 1), "unexpected character '%c' in shape string", text[i]);
            return false;
        }
        op = text[i++];
    }
    if (acc.nfactors == 0 && acc.den != 1) {
        diag_error(lex_string_subloc_fast(literal, plain, start, end - start), "axis size '%.*s' is not a whole number",
                   (int)(end - start), text + start);
        return false;
    }
    *out = acc;
    return true;
}

ShapeSpec *shape_parse(Arena *a, const char *text, uint32_t len, Loc literal, bool allow_ellipsis,
                       SizeNameResolver resolve, void *ctx, const SizeNames *names)
{
    int max_axes = 0;
    for (uint32_t i = 0; i < len; i++)
        max_axes += !isspace((unsigned char)text[i]) && (i == 0 || isspace((unsigned char)text[i - 1]));
    ShapeSpec *spec = arena_alloc(a, sizeof *spec);
    spec->axes = arena_array(a, max_axes ? (size_t)max_axes : 1, sizeof(ShapeAxis));
    spec->ellipsis = -1;
    bool ok = true, plain = lex_string_plain(literal);
    uint32_t i = 0;
    while (i < len) {
        if (isspace((unsigned char)text[i])) {
            i++;
            continue;
        }
        uint32_t start = i;
        while (i < len && !isspace((unsigned char)text[i]))
            i++;
        ShapeAxis *ax = &spec->axes[spec->naxes];
        ax->loc = lex_string_subloc_fast(literal, plain, start, i - start);
        ax->spelling = arena_strndup(a, text + start, i - start);
        if (i - start == 3 && memcmp(text + start, "...", 3) == 0) {
            if (!allow_ellipsis) {
                diag_error(ax->loc, "'...' is only allowed in the parameter and result types of a function");
                ok = false;
            } else if (spec->ellipsis >= 0) {
                diag_error(ax->loc, "a shape may contain '...' only once");
                ok = false;
            }
            ax->is_ellipsis = true;
            spec->ellipsis = spec->naxes;
        } else if (memchr(text + start, '.', i - start)) {
            diag_error(ax->loc, "'.' may appear in a shape only as '...'");
            ok = false;
        } else if (!parse_axis_term(text, start, i, literal, plain, resolve, ctx, names, &ax->size)) {
            ok = false;
            if (strpbrk(ax->spelling, "()[]{}#,"))
                break; /* a syntax slip: what follows it would only repeat the error */
        }
        spec->naxes++;
    }
    return ok ? spec : NULL;
}
