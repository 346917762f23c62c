/* pattern.c - parsing and checking einops patterns (see pattern.h).
 *
 * The rules follow einops' ParsedExpression and _prepare_transformation_recipe:
 * rearrange keeps every name, reduce may only drop names, repeat may only add
 * them, anonymous sizes other than 1 are not allowed in rearrange, `...` on
 * the right needs `...` on the left, and `...` may sit inside a group only on
 * the right. einsum additionally takes groups and `...` (einops does not). */
#include "pattern.h"

#include <ctype.h>
#include <string.h>

#include "diag.h"
#include "lex.h"

const char *pattern_op_name(PatternOp op)
{
    static const char *names[] = {"rearrange", "reduce", "repeat", "einsum", "take"};
    return names[op];
}

typedef struct SideParser {
    Arena *a;
    const char *text;
    Loc literal;
    bool plain; /* no escapes in the literal: offsets map directly */
    PatternOp op;
    bool allow_duplicates;
    bool ok;
} SideParser;

static Loc at(const SideParser *sp, uint32_t off, uint32_t len) { return lex_string_subloc_fast(sp->literal, sp->plain, off, len); }


/* The first axis named `name` on a side, through its index: patterns with
 * thousands of names must not take quadratic time. */
const PatAxis *pattern_find(const PatSide *side, const char *name)
{
    if (!side->index_cap)
        return NULL;
    uint32_t mask = side->index_cap - 1;
    for (uint32_t j = hash_string(name) & mask; side->index[j]; j = (j + 1) & mask)
        if (strcmp(side->index[j]->name, name) == 0)
            return side->index[j];
    return NULL;
}

/* Adds a named axis (at its final address) to its side's index, unless
 * an axis of that name is there already (duplicates keep the first). */
static void index_add(Arena *a, PatSide *side, const PatAxis *ax)
{
    if (pattern_find(side, ax->name))
        return;
    if ((side->index_len + 1) * 2 > side->index_cap) {
        uint32_t cap = side->index_cap ? side->index_cap * 2 : 16;
        const PatAxis **t = arena_array(a, cap, sizeof *t);
        for (uint32_t i = 0; i < side->index_cap; i++) {
            if (!side->index[i])
                continue;
            uint32_t j = hash_string(side->index[i]->name) & (cap - 1);
            while (t[j])
                j = (j + 1) & (cap - 1);
            t[j] = side->index[i];
        }
        side->index = t;
        side->index_cap = cap;
    }
    uint32_t j = hash_string(ax->name) & (side->index_cap - 1);
    while (side->index[j])
        j = (j + 1) & (side->index_cap - 1);
    side->index[j] = ax;
    side->index_len++;
}

static bool valid_axis_name(SideParser *sp, const char *name, uint32_t off, uint32_t len)
{
    if (isdigit((unsigned char)name[0])) {
        diag_error(at(sp, off, len), "invalid axis name '%s': a name cannot start with a digit", name);
        return false;
    }
    if (strcmp(name, "_") == 0 && sp->op == PAT_EINSUM)
        return true;
    if (name[0] == '_' || name[len - 1] == '_') {
        diag_error(at(sp, off, len), "invalid axis name '%s': axis names must not start or end with '_'", name);
        return false;
    }
    return true;
}

/* Adds one word (name, number or `...`) to the side being built. */
static void add_word(SideParser *sp, PatSide *side, PatGroup *group, uint32_t off, uint32_t len)
{
    const char *w = sp->text + off;
    PatAxis ax = {.loc = at(sp, off, len)};
    if (len == 3 && memcmp(w, "...", 3) == 0) {
        if (side->has_ellipsis) {
            diag_error(ax.loc, "'...' may appear only once on each side of a pattern");
            sp->ok = false;
            return;
        }
        side->has_ellipsis = true;
        side->ellipsis_in_paren = group != NULL;
        ax.kind = PAX_ELLIPSIS;
    } else if (memchr(w, '.', len)) {
        diag_error(ax.loc, "'.' may appear in a pattern only as '...'");
        sp->ok = false;
        return;
    } else {
        bool number = true;
        for (uint32_t i = 0; i < len; i++)
            number &= isdigit((unsigned char)w[i]) != 0;
        if (number) {
            int64_t v = 0;
            for (uint32_t i = 0; i < len; i++)
                if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, w[i] - '0', &v)) {
                    diag_error(ax.loc, "anonymous axis length is too large");
                    sp->ok = false;
                    return;
                }
            if (v == 0) {
                diag_error(ax.loc, "an anonymous axis must have a positive length, not 0");
                sp->ok = false;
                return;
            }
            if (v == 1) {
                if (!group) { /* a bare 1 is a unit axis, like () */
                    PatGroup unit = {.paren = true, .loc = ax.loc};
                    side->groups[side->ngroups++] = unit;
                }
                return; /* inside a group, 1 changes nothing */
            }
            ax.kind = PAX_ANON;
            ax.value = v;
            if (sp->op == PAT_REARRANGE) {
                diag_error(ax.loc, "rearrange does not take anonymous axes other than 1; name the axis and give its size, e.g. 'x' and x = %lld",
                           (long long)v);
                sp->ok = false;
                return;
            }
            if (sp->op == PAT_EINSUM || sp->op == PAT_TAKE) {
                diag_error(ax.loc, "%s does not take anonymous axes; name the axis", pattern_op_name(sp->op));
                sp->ok = false;
                return;
            }
        } else {
            char *name = arena_strndup(sp->a, w, len);
            if (!valid_axis_name(sp, name, off, len)) {
                sp->ok = false;
                return;
            }
            ax.kind = PAX_NAME;
            ax.name = name;
            const PatAxis *prev = pattern_find(side, name); /* the open group's axes are indexed too */
            if (prev && !sp->allow_duplicates) {
                if (diag_error(ax.loc, "axis '%s' appears twice on one side of the pattern", name))
                    diag_note(prev->loc, "'%s' first appears here", name);
                sp->ok = false;
                return;
            }
        }
    }
    const PatAxis *placed;
    if (group) {
        group->axes[group->naxes] = ax;
        placed = &group->axes[group->naxes++];
    } else {
        PatGroup g = {.paren = false, .naxes = 1, .loc = ax.loc};
        g.axes = arena_alloc(sp->a, sizeof ax);
        g.axes[0] = ax;
        side->groups[side->ngroups++] = g;
        placed = &g.axes[0];
    }
    if (placed->kind == PAX_NAME)
        index_add(sp->a, side, placed);
}

static void parse_side(SideParser *sp, PatSide *side, uint32_t start, uint32_t end)
{
    uint32_t words = 0;
    for (uint32_t i = start; i <= end; i++)
        words++;
    side->groups = arena_array(sp->a, words + 1, sizeof(PatGroup));
    uint32_t first = start, last = end;
    while (first < last && isspace((unsigned char)sp->text[first]))
        first++;
    while (last > first && isspace((unsigned char)sp->text[last - 1]))
        last--;
    side->loc = at(sp, first, last - first);
    PatGroup *group = NULL;
    uint32_t group_start = 0;
    uint32_t i = start;
    while (i < end) {
        unsigned char c = (unsigned char)sp->text[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            i++;
        } else if (c == '(') {
            if (group) {
                diag_error(at(sp, i, 1), "axis groups cannot be nested");
                sp->ok = false;
                return;
            }
            group_start = i;
            group = &side->groups[side->ngroups];
            memset(group, 0, sizeof *group);
            group->paren = true;
            uint32_t words_in_group = 1;
            for (uint32_t j = i + 1; j < end && sp->text[j] != ')' && sp->text[j] != '('; j++)
                words_in_group += sp->text[j] == ' ' || sp->text[j] == '\t' || sp->text[j] == '\n';
            group->axes = arena_array(sp->a, words_in_group, sizeof(PatAxis));
            i++;
        } else if (c == ')') {
            if (!group) {
                diag_error(at(sp, i, 1), "unmatched ')' in pattern");
                sp->ok = false;
                return;
            }
            group->loc = at(sp, group_start, i + 1 - group_start);
            side->ngroups++;
            group = NULL;
            i++;
        } else if (isalnum(c) || c == '_' || c == '.') {
            uint32_t w = i;
            while (i < end && (isalnum((unsigned char)sp->text[i]) || sp->text[i] == '_' || sp->text[i] == '.'))
                i++;
            if (group) {
                /* the group occupies side->groups[ngroups] until ')' */
                add_word(sp, side, group, w, i - w);
            } else {
                add_word(sp, side, NULL, w, i - w);
            }
            if (!sp->ok)
                return;
        } else {
            if (c >= 0x20 && c < 0x7f)
                diag_error(at(sp, i, 1), "unexpected character '%c' in pattern", c);
            else
                diag_error(at(sp, i, 1), "unexpected byte 0x%02x in pattern", c);
            sp->ok = false;
            return;
        }
    }
    if (group) {
        diag_error(at(sp, group_start, 1), "unclosed '(' in pattern");
        sp->ok = false;
    }
}

/* The checks of einops' recipe that need no operand. */
static bool check_sides(SideParser *sp, Pattern *p)
{
    PatSide *out = &p->output;
    bool any_in_ellipsis = false;
    for (int k = 0; k < p->ninputs; k++) {
        PatSide *in = &p->inputs[k];
        any_in_ellipsis |= in->has_ellipsis;
        if (in->has_ellipsis && in->ellipsis_in_paren) {
            for (int g = 0; g < in->ngroups; g++)
                for (int i = 0; i < in->groups[g].naxes; i++)
                    if (in->groups[g].axes[i].kind == PAX_ELLIPSIS)
                        diag_error(in->groups[g].axes[i].loc, "'...' cannot be inside parentheses on the left of '->'");
            return false;
        }
    }
    if (out->has_ellipsis && !any_in_ellipsis) {
        for (int g = 0; g < out->ngroups; g++)
            for (int i = 0; i < out->groups[g].naxes; i++)
                if (out->groups[g].axes[i].kind == PAX_ELLIPSIS)
                    diag_error(out->groups[g].axes[i].loc, "'...' on the right of '->' but not on the left");
        return false;
    }
    bool ok = true;
    const PatSide *in = &p->inputs[0];
    /* Names on the right must come from the left, except in repeat. */
    for (int g = 0; g < out->ngroups; g++)
        for (int i = 0; i < out->groups[g].naxes; i++) {
            const PatAxis *ax = &out->groups[g].axes[i];
            if (ax->kind == PAX_ANON && sp->op == PAT_REDUCE) {
                diag_error(ax->loc, "reduce can only remove axes, but the anonymous axis %lld on the right would add one",
                           (long long)ax->value);
                ok = false;
            }
            if (ax->kind != PAX_NAME)
                continue;
            bool found = false;
            for (int k = 0; k < p->ninputs && !found; k++)
                found = pattern_find(&p->inputs[k], ax->name) != NULL;
            if (found || sp->op == PAT_REPEAT)
                continue;
            if (sp->op == PAT_REARRANGE)
                diag_error(ax->loc, "axis '%s' appears only on the right; rearrange must keep every axis (use repeat to add one)", ax->name);
            else if (sp->op == PAT_REDUCE)
                diag_error(ax->loc, "axis '%s' on the right does not appear on the left; reduce can only remove axes", ax->name);
            else
                diag_error(ax->loc, "output axis '%s' does not appear in any input", ax->name);
            ok = false;
        }
    if (sp->op == PAT_REARRANGE || sp->op == PAT_REPEAT) {
        for (int g = 0; g < in->ngroups; g++)
            for (int i = 0; i < in->groups[g].naxes; i++) {
                const PatAxis *ax = &in->groups[g].axes[i];
                if (ax->kind == PAX_NAME && !pattern_find(out, ax->name)) {
                    diag_error(ax->loc, "axis '%s' appears only on the left; %s must keep every axis%s", ax->name,
                               pattern_op_name(sp->op), sp->op == PAT_REARRANGE ? " (use reduce to remove one)" : "");
                    ok = false;
                } else if (ax->kind == PAX_ANON && sp->op == PAT_REPEAT) {
                    diag_error(ax->loc, "anonymous axis on the left of repeat would be dropped; repeat must keep every axis");
                    ok = false;
                }
            }
        if (in->has_ellipsis && !out->has_ellipsis) {
            diag_error(in->loc, "'...' on the left of '->' but not on the right; %s must keep every axis", pattern_op_name(sp->op));
            ok = false;
        }
    }
    if (sp->op == PAT_REDUCE && ok) {
        bool reduces = in->has_ellipsis && !out->has_ellipsis;
        for (int g = 0; g < in->ngroups; g++)
            for (int i = 0; i < in->groups[g].naxes; i++) {
                const PatAxis *ax = &in->groups[g].axes[i];
                reduces |= ax->kind == PAX_ANON || (ax->kind == PAX_NAME && !pattern_find(out, ax->name));
            }
        if (!reduces) {
            diag_error(sp->literal, "reduce pattern removes no axis; every axis on the left is kept on the right (use rearrange)");
            ok = false;
        }
    }
    if (sp->op == PAT_EINSUM && any_in_ellipsis && !out->has_ellipsis) {
        diag_error(out->loc, "'...' in the inputs must also appear in the output of einsum");
        ok = false;
    }
    return ok;
}

Pattern *pattern_parse(Arena *a, const char *text, uint32_t len, Loc literal, PatternOp op, int ninputs)
{
    SideParser sp = {.a = a, .text = text, .literal = literal, .plain = lex_string_plain(literal), .op = op, .ok = true};
    const char *arrow = NULL;
    for (uint32_t i = 0; i + 1 < len; i++)
        if (text[i] == '-' && text[i + 1] == '>') {
            if (arrow) {
                diag_error(lex_string_subloc_fast(literal, sp.plain, i, 2), "pattern has more than one '->'");
                return NULL;
            }
            arrow = text + i;
        }
    if (!arrow) {
        diag_error(literal, "%s pattern has no '->' (write it as \"inputs -> output\")", pattern_op_name(op));
        return NULL;
    }
    uint32_t arrow_off = (uint32_t)(arrow - text);
    Pattern *p = arena_alloc(a, sizeof *p);
    int commas = 0;
    for (uint32_t i = 0; i < arrow_off; i++)
        commas += text[i] == ',';
    bool many = op == PAT_EINSUM || op == PAT_TAKE;
    p->ninputs = many ? commas + 1 : 1;
    p->inputs = arena_array(a, (size_t)p->ninputs, sizeof(PatSide));
    uint32_t start = 0;
    int k = 0;
    for (uint32_t i = 0; i <= arrow_off; i++) {
        if (i == arrow_off || (many && text[i] == ',')) {
            sp.allow_duplicates = op == PAT_EINSUM;
            parse_side(&sp, &p->inputs[k++], start, i);
            start = i + 1;
        }
    }
    sp.allow_duplicates = false;
    parse_side(&sp, &p->output, arrow_off + 2, len);
    if (!sp.ok)
        return NULL;
    if (many && p->ninputs != ninputs) {
        diag_error(literal, "%s pattern has %d input%s but %d operand%s given", pattern_op_name(op), p->ninputs,
                   p->ninputs == 1 ? "" : "s", ninputs, ninputs == 1 ? " is" : "s are");
        return NULL;
    }
    if (!check_sides(&sp, p))
        return NULL;
    return p;
}
