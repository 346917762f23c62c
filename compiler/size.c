/* size.c - arithmetic and printing of symbolic sizes (see size.h). */
#include "size.h"

#include <stdio.h>
#include <string.h>

static int64_t gcd64(int64_t a, int64_t b)
{
    if (a < 0)
        a = -a;
    if (b < 0)
        b = -b;
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

Size size_const(int64_t n)
{
    Size s = {.num = n, .den = 1};
    return s;
}

Size size_dim(uint32_t dim)
{
    Size s = {.num = 1, .den = 1, .nfactors = 1};
    s.factors[0].dim = dim;
    s.factors[0].exp = 1;
    return s;
}

static int factor_order(uint32_t a, uint32_t b, const SizeNames *names)
{
    if (a == b)
        return 0;
    if (names && a < names->count && b < names->count) {
        int c = strcmp(names->names[a], names->names[b]);
        if (c)
            return c;
    }
    return a < b ? -1 : 1;
}

/* Multiplies the rational parts, cross-reducing first to delay overflow. */
static SizeStatus mul_rational(int64_t an, int64_t ad, int64_t bn, int64_t bd, int64_t *num, int64_t *den)
{
    int64_t g1 = gcd64(an, bd), g2 = gcd64(bn, ad);
    if (g1 == 0)
        g1 = 1;
    if (g2 == 0)
        g2 = 1;
    an /= g1, bd /= g1, bn /= g2, ad /= g2;
    if (__builtin_mul_overflow(an, bn, num) || __builtin_mul_overflow(ad, bd, den))
        return SIZE_OVERFLOW;
    if (*den < 0) {
        if (*den == INT64_MIN || *num == INT64_MIN)
            return SIZE_OVERFLOW;
        *den = -*den, *num = -*num;
    }
    int64_t g = gcd64(*num, *den);
    if (g > 1)
        *num /= g, *den /= g;
    return SIZE_OK;
}

/* Merges two sorted factor lists, adding exponents; `sign` is -1 to divide. */
static SizeStatus merge_factors(const Size *a, const Size *b, int sign, const SizeNames *names, Size *out)
{
    SizeFactor merged[2 * SIZE_MAX_FACTORS];
    int n = 0, i = 0, j = 0;
    while (i < a->nfactors || j < b->nfactors) {
        int c = i == a->nfactors ? 1 : j == b->nfactors ? -1 : factor_order(a->factors[i].dim, b->factors[j].dim, names);
        SizeFactor f;
        if (c < 0) {
            f = a->factors[i++];
        } else if (c > 0) {
            f = b->factors[j++];
            f.exp *= sign;
        } else {
            f = a->factors[i++];
            int64_t e = (int64_t)f.exp + (int64_t)sign * b->factors[j++].exp;
            if (e > INT32_MAX || e < INT32_MIN)
                return SIZE_OVERFLOW;
            f.exp = (int32_t)e;
        }
        if (f.exp != 0)
            merged[n++] = f;
    }
    if (n > SIZE_MAX_FACTORS)
        return SIZE_TOO_COMPLEX;
    out->nfactors = (uint8_t)n;
    memcpy(out->factors, merged, (size_t)n * sizeof merged[0]);
    return SIZE_OK;
}

SizeStatus size_mul(Size a, Size b, const SizeNames *names, Size *out)
{
    Size r = {0};
    SizeStatus st = mul_rational(a.num, a.den, b.num, b.den, &r.num, &r.den);
    if (st == SIZE_OK)
        st = merge_factors(&a, &b, 1, names, &r);
    if (st == SIZE_OK)
        *out = r;
    return st;
}

SizeStatus size_div(Size a, Size b, const SizeNames *names, Size *out)
{
    if (b.num == 0)
        return SIZE_DIV_ZERO;
    Size r = {0};
    SizeStatus st = mul_rational(a.num, a.den, b.den, b.num, &r.num, &r.den);
    if (st == SIZE_OK)
        st = merge_factors(&a, &b, -1, names, &r);
    if (st == SIZE_OK)
        *out = r;
    return st;
}

bool size_eq(Size a, Size b)
{
    if (a.num != b.num || a.den != b.den || a.nfactors != b.nfactors)
        return false;
    for (int i = 0; i < a.nfactors; i++)
        if (a.factors[i].dim != b.factors[i].dim || a.factors[i].exp != b.factors[i].exp)
            return false;
    return true;
}

bool size_is_static(Size s) { return s.nfactors == 0; }

bool size_is_const(Size s, int64_t *value)
{
    if (s.nfactors || s.den != 1)
        return false;
    if (value)
        *value = s.num;
    return true;
}

bool size_is_surely_integral(Size s)
{
    if (s.den != 1)
        return false;
    for (int i = 0; i < s.nfactors; i++)
        if (s.factors[i].exp < 0)
            return false;
    return true;
}

SizeStatus size_product(const Size *sizes, int n, const SizeNames *names, Size *out)
{
    *out = size_const(1);
    for (int i = 0; i < n; i++) {
        SizeStatus st = size_mul(*out, sizes[i], names, out);
        if (st != SIZE_OK)
            return st;
    }
    return SIZE_OK;
}

bool size_is_surely_multiple(Size s, int64_t m)
{
    return m > 0 && size_is_surely_integral(s) && s.num % m == 0;
}

typedef struct Out {
    char *buf;
    size_t cap, len;
} Out;

static void put(Out *o, const char *s)
{
    size_t n = strlen(s);
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void put_factor(Out *o, const char *name, int32_t exp)
{
    if (exp > 3) {
        char e[16];
        snprintf(e, sizeof e, "**%d", exp);
        put(o, name);
        put(o, e);
        return;
    }
    for (int32_t k = 0; k < exp; k++) {
        if (k)
            put(o, "*");
        put(o, name);
    }
}

int size_print(char *buf, size_t cap, Size s, const SizeNames *names)
{
    Out o = {buf, cap, 0};
    char num[32];
    bool wrote = false;
    if (s.num != 1 || s.nfactors == 0 || !(s.factors[0].exp > 0)) {
        bool any_positive = false;
        for (int i = 0; i < s.nfactors; i++)
            any_positive |= s.factors[i].exp > 0;
        if (s.num != 1 || !any_positive) {
            snprintf(num, sizeof num, "%lld", (long long)s.num);
            put(&o, num);
            wrote = true;
        }
    }
    for (int i = 0; i < s.nfactors; i++) {
        if (s.factors[i].exp < 0)
            continue;
        if (wrote)
            put(&o, "*");
        const char *name = names && s.factors[i].dim < names->count ? names->names[s.factors[i].dim] : "?";
        put_factor(&o, name, s.factors[i].exp);
        wrote = true;
    }
    if (s.den != 1) {
        snprintf(num, sizeof num, "/%lld", (long long)s.den);
        put(&o, num);
    }
    for (int i = 0; i < s.nfactors; i++) {
        if (s.factors[i].exp > 0)
            continue;
        const char *name = names && s.factors[i].dim < names->count ? names->names[s.factors[i].dim] : "?";
        put(&o, "/");
        put(&o, name);
        if (s.factors[i].exp < -1) { /* `/b**2`, since `/b*b` would read as (../b)*b */
            snprintf(num, sizeof num, "**%d", -s.factors[i].exp);
            put(&o, num);
        }
    }
    if (cap)
        buf[o.len < cap ? o.len : cap - 1] = 0;
    return (int)o.len;
}
