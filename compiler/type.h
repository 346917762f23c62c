/* type.h - the types of values: a dtype and a shape of symbolic sizes.
 *
 * A scalar is a tensor of rank 0. A literal number has a *weak* type: it
 * takes the dtype of the tensor it meets (`x * 2` keeps x's dtype), as in
 * PyTorch. An error type silences diagnostics about anything computed from
 * a value that already had an error. This file also parses the shape strings
 * of types and constructors (`"batch seq 2*hidden"`, `"... n"`). */
#ifndef TDC_TYPE_H
#define TDC_TYPE_H

#include <stdbool.h>

#include "arena.h"
#include "dtype.h"
#include "size.h"
#include "source.h"

typedef struct Type {
    Dtype dtype;
    bool error;
    bool weak;
    int rank;
    Size *dims; /* rank entries, in an arena; may be shared, never written */
} Type;

Type type_error(void);
Type type_scalar(Dtype t);
Type type_tensor(Arena *a, Dtype t, int rank, const Size *dims);
bool type_same_shape(Type a, Type b);
/* `f32["batch 64"]`, or `f32` for a scalar; in the arena. */
const char *type_str(Arena *a, Type t, const SizeNames *names);
const char *shape_str(Arena *a, const Size *dims, int rank, const SizeNames *names); /* `batch 64` */
const char *size_str(Arena *a, Size s, const SizeNames *names);

/* One axis of a parsed shape string. */
typedef struct ShapeAxis {
    bool is_ellipsis;
    Size size;
    Loc loc; /* inside the string literal */
    const char *spelling;
} ShapeAxis;

typedef struct ShapeSpec {
    int naxes;
    ShapeAxis *axes;
    int ellipsis; /* index of the `...` axis, or -1 */
} ShapeSpec;

/* Resolves a name in a shape string to a size, reporting its own error and
 * returning false when the name is no size. */
typedef bool (*SizeNameResolver)(void *ctx, const char *name, Loc loc, Size *out);

/* Parses a shape string; NULL after reporting an error. `literal` is the
 * string's source range, used to point into it. */
ShapeSpec *shape_parse(Arena *a, const char *text, uint32_t len, Loc literal, bool allow_ellipsis,
                       SizeNameResolver resolve, void *ctx, const SizeNames *names);

/* Reports a failed size operation at `loc`; returns false. */
bool size_report(SizeStatus st, Loc loc, const char *what);

#endif
