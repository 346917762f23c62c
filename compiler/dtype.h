/* dtype.h - the element types of the language, as one X-macro table.
 *
 * Columns: enum name, spelling in .td source, bits, kind (float, int, bool). */
#ifndef TDC_DTYPE_H
#define TDC_DTYPE_H

#include <stdbool.h>

#define TDC_DTYPES(X)                 \
    X(F64, "f64", 64, DK_FLOAT)       \
    X(F32, "f32", 32, DK_FLOAT)       \
    X(F16, "f16", 16, DK_FLOAT)       \
    X(BF16, "bf16", 16, DK_FLOAT)     \
    X(F8E4M3, "f8e4m3", 8, DK_FLOAT)  \
    X(F8E5M2, "f8e5m2", 8, DK_FLOAT)  \
    X(I64, "i64", 64, DK_INT)         \
    X(I32, "i32", 32, DK_INT)         \
    X(U16, "u16", 16, DK_INT)         \
    X(BOOL, "bool", 8, DK_BOOL)

typedef enum { DK_FLOAT, DK_INT, DK_BOOL } DtypeKind;

typedef enum {
#define X(id, spelling, bits, kind) DT_##id,
    TDC_DTYPES(X)
#undef X
    DT_COUNT
} Dtype;

const char *dtype_name(Dtype t);
int dtype_bits(Dtype t);
DtypeKind dtype_kind(Dtype t);
static inline bool dtype_is_float(Dtype t) { return dtype_kind(t) == DK_FLOAT; }
static inline bool dtype_is_int(Dtype t) { return dtype_kind(t) == DK_INT; }
/* f16, bf16 and FP8: computed in f32 and rounded to the dtype after each operation */
static inline bool dtype_is_narrow(Dtype t) { return t == DT_F16 || t == DT_BF16 || t == DT_F8E4M3 || t == DT_F8E5M2; }
/* -1 when `name` (of length n) is not a dtype. */
int dtype_lookup(const char *name, unsigned long n);

#endif
