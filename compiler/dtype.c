/* dtype.c - queries on the dtype table of dtype.h. */
#include "dtype.h"

#include <string.h>

static const struct {
    const char *name;
    int bits;
    DtypeKind kind;
} dtype_table[] = {
#define X(id, spelling, bits, kind) {spelling, bits, kind},
    TDC_DTYPES(X)
#undef X
};

const char *dtype_name(Dtype t) { return dtype_table[t].name; }
int dtype_bits(Dtype t) { return dtype_table[t].bits; }
DtypeKind dtype_kind(Dtype t) { return dtype_table[t].kind; }

int dtype_lookup(const char *name, unsigned long n)
{
    for (int i = 0; i < DT_COUNT; i++)
        if (strlen(dtype_table[i].name) == n && memcmp(dtype_table[i].name, name, n) == 0)
            return i;
    return -1;
}
