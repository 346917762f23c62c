/* size.h - symbolic sizes in normal form.
 *
 * A Size is a rational coefficient times a product of run-time dims raised to
 * integer powers: 64, batch, 2*seq, batch/2, model/heads. Static dims are
 * folded into the coefficient and derived dims expanded into their
 * definitions before a Size is built, so two sizes are equal exactly when
 * their normal forms are equal: `heads*d` and `d*heads` are one size.
 * Factors are kept sorted by dim name so printing is canonical. All
 * arithmetic is checked for int64 overflow. */
#ifndef TDC_SIZE_H
#define TDC_SIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { SIZE_MAX_FACTORS = 8 };

typedef struct SizeFactor {
    uint32_t dim; /* index into the checker's table of run-time dims */
    int32_t exp;  /* never 0 */
} SizeFactor;

typedef struct Size {
    int64_t num, den; /* den > 0, gcd(num, den) == 1 */
    uint8_t nfactors;
    SizeFactor factors[SIZE_MAX_FACTORS];
} Size;

typedef enum { SIZE_OK, SIZE_OVERFLOW, SIZE_TOO_COMPLEX, SIZE_DIV_ZERO } SizeStatus;

/* Names of run-time dims, for ordering and printing. */
typedef struct SizeNames {
    const char *const *names;
    size_t count;
} SizeNames;

Size size_const(int64_t n);
Size size_dim(uint32_t dim);
SizeStatus size_mul(Size a, Size b, const SizeNames *names, Size *out);
SizeStatus size_div(Size a, Size b, const SizeNames *names, Size *out);
/* sizes[0] * ... * sizes[n - 1] (1 for none); the first failure's status. */
SizeStatus size_product(const Size *sizes, int n, const SizeNames *names, Size *out);
bool size_eq(Size a, Size b);
/* A whole number known at compile time. */
bool size_is_const(Size s, int64_t *value);
/* An integer for every binding of the run-time dims (den 1, no negative
 * powers); otherwise integrality is a run-time check, or, for a constant
 * with den > 1, an error. */
bool size_is_surely_integral(Size s);
bool size_is_static(Size s); /* no run-time dims */
/* A multiple of m (> 0) for every binding of the run-time dims: an
 * integer whose coefficient m divides (2*batch is even whatever batch). */
bool size_is_surely_multiple(Size s, int64_t m);

/* Writes the canonical spelling (`64`, `batch`, `2*seq`, `model/heads`);
 * returns the length it needs, as snprintf does. */
int size_print(char *buf, size_t cap, Size s, const SizeNames *names);

#endif
