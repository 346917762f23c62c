/* pattern.h - einops' pattern language.
 *
 * pattern_parse() reads the strings of rearrange, reduce, repeat, einsum and
 * take ("b (h d) -> b h d", "b i, i o -> b o") with einops' rules: names,
 * groups `(h d)` one level deep, `...` once a side, `1` and `()` for unit
 * axes, positive anonymous sizes. It also checks what can be checked without
 * the operands: which names may appear on which side, for each operation.
 * Every element keeps its location inside the string literal for carets. */
#ifndef TDC_PATTERN_H
#define TDC_PATTERN_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "source.h"

typedef enum { PAT_REARRANGE, PAT_REDUCE, PAT_REPEAT, PAT_EINSUM, PAT_TAKE } PatternOp;

typedef enum { PAX_NAME, PAX_ANON, PAX_ELLIPSIS } PatAxisKind;

typedef struct PatAxis {
    PatAxisKind kind;
    const char *name; /* PAX_NAME */
    int64_t value;    /* PAX_ANON: a length > 1 */
    Loc loc;
} PatAxis;

/* One axis of the tensor: a bare name (paren false, one axis), a group
 * `(h d)`, or a unit axis `1` / `()` (paren true, no axes). */
typedef struct PatGroup {
    bool paren;
    int naxes;
    PatAxis *axes;
    Loc loc;
} PatGroup;

typedef struct PatSide {
    int ngroups;
    PatGroup *groups;
    bool has_ellipsis, ellipsis_in_paren;
    Loc loc;
    const PatAxis **index; /* open-addressing table of the named axes, for pattern_find */
    uint32_t index_cap, index_len;
} PatSide;

typedef struct Pattern {
    int ninputs;
    PatSide *inputs;
    PatSide output;
} Pattern;

/* NULL after reporting every error found. `ninputs` is what the call gave
 * (einsum and take); the pattern must have as many inputs. */
Pattern *pattern_parse(Arena *a, const char *text, uint32_t len, Loc literal, PatternOp op, int ninputs);

/* Every name on a side, for lookups. */
const PatAxis *pattern_find(const PatSide *side, const char *name);
const char *pattern_op_name(PatternOp op);

#endif
