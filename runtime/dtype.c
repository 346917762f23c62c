/* dtype.c - element types: their sizes and names, and conversions between
 * f32 and the narrow float formats (f16, bf16, f8e4m3fn, f8e5m2).
 *
 * Every conversion is integer bit manipulation on the IEEE binary32
 * pattern, so the result does not depend on the FPU's rounding mode or on
 * flush-to-zero settings, and needs no F16C or other instruction set. One
 * generic narrowing and one generic widening routine are parametrised by
 * the format's exponent and mantissa widths; each public function calls them
 * with constants, so the compiler folds the parameters and per-element calls
 * stay cheap (a handful of shifts, adds and well-predicted branches).
 *
 * Narrowing rounds to nearest, ties to even, also into the subnormals, and
 * matches numpy (float16) and ml_dtypes (bfloat16, float8_e4m3fn,
 * float8_e5m2) bit for bit; tests/runtime/dtype_oracle.py checks that.
 * NaNs narrow to the canonical quiet NaN of the format with the input's
 * sign, exactly what ml_dtypes produces; numpy's float16 (in its software
 * path) instead keeps the top payload bits, so against numpy only the
 * NaN-ness and the sign of a NaN are promised. Widening matches both
 * references bit for bit, NaNs included. */
#include <math.h>
#include <string.h>


#include "td.h"

/* ---- the dtype table: order as enum td_dtype (the language's table) ---- */

static const struct {
    const char *name;
    unsigned char size;
    bool is_float;
} dtype_info[TD_DTYPE_COUNT] = {
    [TD_F64] = {"f64", 8, true},          [TD_F32] = {"f32", 4, true},
    [TD_F16] = {"f16", 2, true},          [TD_BF16] = {"bf16", 2, true},
    [TD_F8E4M3] = {"f8e4m3", 1, true},    [TD_F8E5M2] = {"f8e5m2", 1, true},
    [TD_I64] = {"i64", 8, false},         [TD_I32] = {"i32", 4, false},
    [TD_U16] = {"u16", 2, false},         [TD_BOOL] = {"bool", 1, false}, /* one byte, 0 or 1 */
};

/* An enum value outside the table (a corrupt model file, a caller's bug)
 * gets size 0, the name "?" and is not a float: callers never index out of
 * the table, and a message that prints the name stays printable. */
static bool dtype_valid(td_dtype t) { return (unsigned)t < TD_DTYPE_COUNT; }

size_t td_dtype_size(td_dtype t) { return dtype_valid(t) ? dtype_info[t].size : 0; }
const char *td_dtype_name(td_dtype t) { return dtype_valid(t) ? dtype_info[t].name : "?"; }
bool td_dtype_is_float(td_dtype t) { return dtype_valid(t) && dtype_info[t].is_float; }

/* ---- bit casts ---- */

static uint32_t f32_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float f32_from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---- the formats ----
 *
 * ebits, mbits: exponent and stored-mantissa widths; the bias is
 * 2^(ebits-1) - 1 for all four (15, 127, 7, 15). `fn` marks the "finite,
 * NaN" layout of f8e4m3fn: the top exponent holds normal numbers, and only
 * S.1111.111 is NaN, so there is no infinity; overflow and infinities go to
 * that NaN. Codes are returned in the low ebits+mbits+1 bits of a uint32_t. */

enum { F32_MBITS = 23, F32_BIAS = 127 };

static inline uint32_t narrow(float x, int ebits, int mbits, bool fn)
{
    const int bias = (1 << (ebits - 1)) - 1;
    const int shift = F32_MBITS - mbits;                /* mantissa bits dropped */
    const uint32_t sign_out = 1u << (ebits + mbits);    /* the sign bit of the code */
    const uint32_t exp_all = ((1u << ebits) - 1) << mbits; /* exponent all ones */
    /* The code just above the largest finite one: infinity in the IEEE
     * layouts, the NaN S.1111.111 in the fn layout. A rounded magnitude at or
     * past it has overflowed. */
    const uint32_t overflow = fn ? exp_all | ((1u << mbits) - 1) : exp_all;
    const uint32_t nan = fn ? overflow : exp_all | (1u << (mbits - 1)); /* quiet, no payload */

    uint32_t u = f32_bits(x);
    uint32_t sign = (u >> 31) ? sign_out : 0;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) /* NaN: the canonical quiet NaN, sign kept (as ml_dtypes) */
        return sign | nan;
    if (a == 0x7f800000u) /* infinity: ml_dtypes gives inf, or NaN (0x7f/0xff) for e4m3fn */
        return sign | overflow;

    int e = (int)(a >> F32_MBITS); /* biased f32 exponent, 0 for zeros and subnormals */
    int te = (e ? e : 1) - F32_BIAS + bias; /* biased target exponent; f32 subnormals act as exponent 1 */
    uint32_t r;
    if (e != 0 && te >= 1) {
        /* A normal result (or overflow). Re-bias the exponent in place and
         * round the whole magnitude at once: adding half an ulp minus one,
         * plus the kept lsb, rounds to nearest with ties to even, and a carry
         * out of the mantissa correctly bumps the exponent (1.111..1 rounds
         * to 10.0). 2^23 <= m < 2^31 here, so the sum cannot wrap. */
        uint32_t m = a - ((uint32_t)(F32_BIAS - bias) << F32_MBITS);
        r = (m + (1u << (shift - 1)) - 1 + ((m >> shift) & 1)) >> shift;
    } else {
        /* A subnormal (or zero) result: the significand, with its implicit
         * bit, shifted right so its unit is the format's smallest subnormal
         * 2^(1-bias-mbits). Rounding may carry into 1 << mbits, which is
         * exactly the code of the smallest normal. */
        uint32_t sig = e ? (a & 0x7fffffu) | 0x800000u : a;
        int sh = shift + 1 - te; /* >= shift >= 13 (te is 1 only for bf16 from an f32 subnormal) */
        if (sh > 25)             /* below half the smallest subnormal: sig < 2^24 <= 2^(sh-2) */
            return sign;
        uint32_t half = 1u << (sh - 1);
        uint32_t rem = sig & ((half << 1) - 1);
        r = sig >> sh;
        if (rem > half || (rem == half && (r & 1)))
            r++;
    }
    /* Overflow: values past the largest finite one by at least half its ulp.
     * The tie exactly at max + ulp/2 rounds to even; for f16 (65520), bf16
     * and f8e5m2 (61440) the largest finite mantissa is odd (all ones), so
     * the tie goes up to infinity, as in ml_dtypes and numpy. For e4m3fn the
     * largest, 448 = 1.110b * 2^8, has an even mantissa, so 464 rounds down
     * to 448 and only values above 464 become NaN - again as ml_dtypes. */
    if (r >= overflow)
        return sign | overflow;
    return sign | r;
}

static inline float widen(uint32_t code, int ebits, int mbits, bool fn)
{
    const int bias = (1 << (ebits - 1)) - 1;
    const uint32_t emax = (1u << ebits) - 1;
    const uint32_t mmask = (1u << mbits) - 1;

    uint32_t sign = (code >> (ebits + mbits) & 1) << 31;
    uint32_t ef = (code >> mbits) & emax;
    uint32_t mant = code & mmask;
    if (fn ? (ef == emax && mant == mmask) : ef == emax) {
        /* Infinity or NaN. The f8 NaNs widen to f32's canonical quiet NaN
         * with their sign, as ml_dtypes does. f16 and bf16 NaNs move their
         * payload to the top of the f32 mantissa, as numpy's float16 and
         * ml_dtypes' bfloat16 do (bf16 -> f32 is then a plain shift); a
         * nonzero payload stays nonzero, so a NaN stays a NaN. */
        if (mant != 0 && ebits + mbits + 1 == 8)
            return f32_from_bits(sign | 0x7fc00000u);
        return f32_from_bits(sign | 0x7f800000u | mant << (F32_MBITS - mbits));
    }
    if (ef == 0) {
        if (mant == 0)
            return f32_from_bits(sign);
        /* Subnormal: value = mant * 2^(1-bias-mbits). Normalise so the
         * leading one becomes the implicit bit. The smallest such value is
         * 2^-24 (f16), 2^-16 (f8e5m2) or 2^-9 (f8e4m3fn), all normal in f32,
         * so this is exact. bf16 shares f32's exponent range: its
         * subnormals are f32 subnormals and copy over unchanged. */
        if (bias == F32_BIAS)
            return f32_from_bits(sign | mant << (F32_MBITS - mbits));
        int e = 1 - bias + F32_BIAS; /* biased f32 exponent of 2^(1-bias) */
        while (!(mant & (1u << mbits))) {
            mant <<= 1;
            e--;
        }
        return f32_from_bits(sign | (uint32_t)e << F32_MBITS | (mant & mmask) << (F32_MBITS - mbits));
    }
    return f32_from_bits(sign | (ef - (uint32_t)bias + F32_BIAS) << F32_MBITS | mant << (F32_MBITS - mbits));
}

/* ---- the public conversions ---- */

uint16_t td_f32_to_f16(float x) { return (uint16_t)narrow(x, 5, 10, false); }
float td_f16_to_f32(uint16_t h) { return widen(h, 5, 10, false); }

uint16_t td_f32_to_bf16(float x) { return (uint16_t)narrow(x, 8, 7, false); }
float td_bf16_to_f32(uint16_t h) { return widen(h, 8, 7, false); }

uint8_t td_f32_to_f8e4m3(float x) { return (uint8_t)narrow(x, 4, 3, true); }
float td_f8e4m3_to_f32(uint8_t b) { return widen(b, 4, 3, true); }

uint8_t td_f32_to_f8e5m2(float x) { return (uint8_t)narrow(x, 5, 2, false); }
float td_f8e5m2_to_f32(uint8_t b) { return widen(b, 5, 2, false); }

/* From f64, rounding once: first to f32 by round-to-odd (truncate, then set
 * the lowest bit when anything was cut), which keeps the information a
 * second rounding needs, since f32 has at least two more significand bits
 * than every narrow format at every scale; then the f32 rounding above. */
static float f64_to_f32_odd(double x)
{
    float f = (float)x;
    if (x != x || (double)f == x)
        return f;
    if (fabs((double)f) > fabs(x))
        f = nextafterf(f, 0.0f);
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    b |= 1;
    memcpy(&f, &b, sizeof f);
    return f;
}

uint16_t td_f64_to_f16(double x) { return td_f32_to_f16(f64_to_f32_odd(x)); }
uint16_t td_f64_to_bf16(double x) { return td_f32_to_bf16(f64_to_f32_odd(x)); }
uint8_t td_f64_to_f8e4m3(double x) { return td_f32_to_f8e4m3(f64_to_f32_odd(x)); }
uint8_t td_f64_to_f8e5m2(double x) { return td_f32_to_f8e5m2(f64_to_f32_odd(x)); }
