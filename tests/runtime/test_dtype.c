/* test_dtype.c - dtype sizes and names, and the f32 <-> narrow float
 * conversions of runtime/dtype.c.
 *
 * Four kinds of check, each independent of the code under test where it
 * can be: every bit pattern of each narrow format widens to the value its
 * fields spell (computed here with ldexp in double) and narrows back to
 * itself; a strided sweep over all f32 bit patterns checks that narrowing
 * picks the nearest code, ties to even, overflowing exactly where the
 * format says; and hand-picked edge cases pin the values that matter most.
 * Bit-for-bit agreement with numpy and ml_dtypes is dtype_oracle.py's job.
 * Loops count their failures and report the first, so one broken rule is
 * one FAIL line, not 65536. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "td.h"
#include "test.h"

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* One narrow format: its layout, and the functions under test widened to
 * uint32_t so the loops below serve all four. */
typedef struct {
    const char *name;
    int ebits, mbits;
    bool fn; /* f8e4m3fn: no infinities, only S.1111.111 is NaN */
    uint32_t (*narrow)(float);
    float (*widen)(uint32_t);
} format;

static uint32_t narrow_f16(float x) { return td_f32_to_f16(x); }
static float widen_f16(uint32_t c) { return td_f16_to_f32((uint16_t)c); }
static uint32_t narrow_bf16(float x) { return td_f32_to_bf16(x); }
static float widen_bf16(uint32_t c) { return td_bf16_to_f32((uint16_t)c); }
static uint32_t narrow_e4m3(float x) { return td_f32_to_f8e4m3(x); }
static float widen_e4m3(uint32_t c) { return td_f8e4m3_to_f32((uint8_t)c); }
static uint32_t narrow_e5m2(float x) { return td_f32_to_f8e5m2(x); }
static float widen_e5m2(uint32_t c) { return td_f8e5m2_to_f32((uint8_t)c); }

static const format formats[] = {
    {"f16", 5, 10, false, narrow_f16, widen_f16},
    {"bf16", 8, 7, false, narrow_bf16, widen_bf16},
    {"f8e4m3", 4, 3, true, narrow_e4m3, widen_e4m3},
    {"f8e5m2", 5, 2, false, narrow_e5m2, widen_e5m2},
};

static uint32_t sign_bit(const format *f) { return 1u << (f->ebits + f->mbits); }
static uint32_t exp_all(const format *f) { return ((1u << f->ebits) - 1) << f->mbits; }
static uint32_t mmask(const format *f) { return (1u << f->mbits) - 1; }

static bool is_nan_code(const format *f, uint32_t c)
{
    uint32_t mag = c & (sign_bit(f) - 1);
    return f->fn ? mag == (exp_all(f) | mmask(f)) : (mag & exp_all(f)) == exp_all(f) && (mag & mmask(f));
}

static bool is_inf_code(const format *f, uint32_t c) { return !f->fn && (c & (sign_bit(f) - 1)) == exp_all(f); }

/* The largest finite magnitude code: 0x7bff, 0x7f7f, 0x7e, 0x7b. */
static uint32_t max_code(const format *f) { return f->fn ? (exp_all(f) | mmask(f)) - 1 : exp_all(f) - 1; }

/* The value a finite code spells, from its fields: the reference for widening. */
static double code_value(const format *f, uint32_t c)
{
    int bias = (1 << (f->ebits - 1)) - 1;
    int e = (int)((c >> f->mbits) & ((1u << f->ebits) - 1));
    double m = (double)(c & mmask(f));
    double v = e ? ldexp(1.0 + ldexp(m, -f->mbits), e - bias) : ldexp(m, 1 - bias - f->mbits);
    return (c & sign_bit(f)) ? -v : v;
}

/* Every pattern widens to its value and narrows back to itself; NaNs widen
 * to a NaN of the same sign and come back as a NaN of the same sign. */
static void check_all_patterns(const format *f)
{
    uint32_t count = sign_bit(f) << 1, bad_widen = 0, bad_back = 0, first_widen = 0, first_back = 0;
    for (uint32_t c = 0; c < count; c++) {
        float x = f->widen(c);
        uint32_t back = f->narrow(x);
        bool neg = (c & sign_bit(f)) != 0;
        bool widen_ok, back_ok;
        if (is_nan_code(f, c)) {
            widen_ok = isnan(x) && (signbit(x) != 0) == neg;
            back_ok = is_nan_code(f, back) && ((back & sign_bit(f)) != 0) == neg;
        } else if (is_inf_code(f, c)) {
            widen_ok = isinf(x) && (signbit(x) != 0) == neg;
            back_ok = back == c;
        } else {
            /* compare bits, so -0.0 must widen to -0.0 */
            widen_ok = bits_of(x) == bits_of((float)code_value(f, c));
            back_ok = back == c;
        }
        if (!widen_ok && bad_widen++ == 0)
            first_widen = c;
        if (!back_ok && bad_back++ == 0)
            first_back = c;
    }
    CHECK(bad_widen == 0, "%s: %u patterns widen wrongly, first 0x%x -> %a (want %a)", f->name, bad_widen,
          first_widen, (double)f->widen(first_widen), code_value(f, first_widen));
    CHECK(bad_back == 0, "%s: %u patterns do not round-trip, first 0x%x -> %a -> 0x%x", f->name, bad_back,
          first_back, (double)f->widen(first_back), f->narrow(f->widen(first_back)));
}

/* Narrowing a finite x is right when the result is the nearest code (ties
 * to the even mantissa), overflow happens exactly from max + ulp/2 (that
 * tie included for the IEEE layouts, whose max is odd; excluded for fn,
 * whose max 448 is even), and the sign is x's. Differences are exact in
 * double: x and the neighbouring codes are close f32 values. */
static bool narrow_is_nearest(const format *f, float x, uint32_t r)
{
    uint32_t sign = signbit(x) ? sign_bit(f) : 0;
    if ((r & sign_bit(f)) != sign)
        return false;
    double ax = fabs((double)x);
    double max = code_value(f, max_code(f));
    double limit = max + (max - code_value(f, max_code(f) - 1)) / 2;
    if (ax > limit || (ax == limit && !f->fn))
        return f->fn ? is_nan_code(f, r) : is_inf_code(f, r);
    uint32_t m = r & (sign_bit(f) - 1);
    if (m > max_code(f))
        return false;
    double d = fabs(ax - code_value(f, m));
    double up = m < max_code(f) ? fabs(code_value(f, m + 1) - ax) : INFINITY;
    double down = m > 0 ? fabs(ax - code_value(f, m - 1)) : INFINITY;
    if (d > up || d > down)
        return false;
    if ((d == up || d == down) && (m & 1))
        return false; /* a tie went to the odd neighbour */
    return true;
}

static void check_nearest_sweep(const format *f)
{
    /* ~1M f32 patterns: a stride coprime to 2^32 visits every exponent and
     * a spread of mantissas, both signs. NaN inputs are checked separately. */
    const uint32_t stride = 4099;
    uint32_t bad = 0, first = 0, n = 0;
    for (uint64_t i = 0; i < ((uint64_t)1 << 32); i += stride, n++) {
        float x = float_of((uint32_t)i);
        if (isnan(x) || isinf(x))
            continue;
        if (!narrow_is_nearest(f, x, f->narrow(x)) && bad++ == 0)
            first = (uint32_t)i;
    }
    CHECK(bad == 0, "%s: %u of %u f32 values do not narrow to the nearest code, first 0x%08x (%a) -> 0x%x",
          f->name, bad, n, first, (double)float_of(first), f->narrow(float_of(first)));
}

/* Specials: infinities and NaNs of both signs, NaN payloads of every kind. */
static void check_specials(const format *f)
{
    uint32_t pinf = f->narrow(INFINITY), ninf = f->narrow(-INFINITY);
    if (f->fn) {
        /* ml_dtypes: float8_e4m3fn(inf) is NaN 0x7f, -inf is 0xff */
        CHECK(pinf == 0x7f && ninf == 0xff, "%s: +-inf -> 0x%x 0x%x, want NaN 0x7f 0xff", f->name, pinf, ninf);
    } else {
        CHECK(pinf == exp_all(f) && ninf == (sign_bit(f) | exp_all(f)), "%s: +-inf -> 0x%x 0x%x", f->name, pinf,
              ninf);
    }
    static const uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0x7fffffffu, 0x7f800100u, 0x7fa00000u, 0x7fc00001u};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        for (uint32_t s = 0; s < 2; s++) {
            uint32_t in = nans[i] | s << 31;
            uint32_t r = f->narrow(float_of(in));
            CHECK(is_nan_code(f, r) && ((r & sign_bit(f)) != 0) == (s != 0), "%s: NaN 0x%08x -> 0x%x, not a NaN of its sign",
                  f->name, in, r);
        }
    }
}

/* Named values, written as hex floats so they mean exactly what they say. */
static void check_edges(void)
{
    /* f16: max 65504, ulp there 32; smallest subnormal 2^-24, smallest normal 2^-14 */
    CHECK(td_f32_to_f16(65504.0f) == 0x7bff, "f16 max");
    CHECK(td_f32_to_f16(65519.996f) == 0x7bff, "f16: just below max + ulp/2 rounds to max");
    CHECK(td_f32_to_f16(65520.0f) == 0x7c00, "f16: max + ulp/2 ties to even = inf");
    CHECK(td_f32_to_f16(-1e6f) == 0xfc00, "f16: overflow is -inf");
    CHECK(td_f32_to_f16(0x1p-24f) == 0x0001, "f16 smallest subnormal");
    CHECK(td_f32_to_f16(0x1p-25f) == 0x0000, "f16: half the smallest subnormal ties to even = 0");
    CHECK(td_f32_to_f16(0x1.000002p-25f) == 0x0001, "f16: just above half rounds up");
    CHECK(td_f32_to_f16(0x3p-25f) == 0x0002, "f16: 1.5 subnormal ulps ties to even = 2");
    CHECK(td_f32_to_f16(0x1.ff8p-15f) == 0x03ff, "f16 largest subnormal");
    CHECK(td_f32_to_f16(0x1.ffcp-15f) == 0x0400, "f16: the largest subnormal + ulp/2 carries into the smallest normal");
    CHECK(td_f32_to_f16(0x1p-14f) == 0x0400, "f16 smallest normal");
    CHECK(td_f32_to_f16(0x1.002p0f) == 0x3c00, "f16: 1 + ulp/2 ties to even = 1");
    CHECK(td_f32_to_f16(0x1.006p0f) == 0x3c02, "f16: 1 + 3ulp/2 ties to even = 1 + 2ulp");
    CHECK(td_f32_to_f16(0x1.ffep0f) == 0x4000, "f16: 2 - ulp/2 carries into the exponent");
    CHECK(td_f32_to_f16(-0.0f) == 0x8000, "f16 -0.0");
    CHECK(bits_of(td_f16_to_f32(0x8000)) == 0x80000000u, "f16 -0.0 widens to -0.0");
    CHECK(td_f16_to_f32(0x7bff) == 65504.0f && td_f16_to_f32(0x0001) == 0x1p-24f, "f16 widen max, subnormal");

    /* bf16: max 0x1.fep127; f32 subnormals map onto bf16 subnormals */
    CHECK(td_f32_to_bf16(0x1.fep127f) == 0x7f7f, "bf16 max");
    CHECK(td_f32_to_bf16(0x1.fefffep127f) == 0x7f7f, "bf16: just below max + ulp/2 rounds to max");
    CHECK(td_f32_to_bf16(0x1.ffp127f) == 0x7f80, "bf16: max + ulp/2 ties to even = inf");
    CHECK(td_f32_to_bf16(0x1.fffffep127f) == 0x7f80, "bf16: FLT_MAX overflows to inf");
    CHECK(td_f32_to_bf16(0x1p-133f) == 0x0001, "bf16 smallest subnormal 2^-133");
    CHECK(td_f32_to_bf16(0x1p-134f) == 0x0000, "bf16: half the smallest subnormal ties to even = 0");
    CHECK(td_f32_to_bf16(0x3p-134f) == 0x0002, "bf16: 1.5 subnormal ulps ties to even = 2");
    CHECK(td_f32_to_bf16(0x1p-149f) == 0x0000, "bf16: the smallest f32 subnormal rounds to 0");
    CHECK(td_f32_to_bf16(0x1.01p0f) == 0x3f80, "bf16: 1 + ulp/2 ties to even = 1");
    CHECK(td_f32_to_bf16(0x1.03p0f) == 0x3f82, "bf16: 1 + 3ulp/2 ties to even");
    CHECK(td_f32_to_bf16(-0.0f) == 0x8000, "bf16 -0.0");
    CHECK(td_bf16_to_f32(0x0001) == 0x1p-133f, "bf16 widen smallest subnormal");

    /* f8e4m3fn: max 448 = 1.110b * 2^8 (ulp 32), smallest subnormal 2^-9 */
    CHECK(td_f32_to_f8e4m3(448.0f) == 0x7e, "e4m3 max");
    CHECK(td_f32_to_f8e4m3(464.0f) == 0x7e, "e4m3: 448 + ulp/2 ties to even = 448 (ml_dtypes too)");
    CHECK(td_f32_to_f8e4m3(0x1.d00002p8f) == 0x7f, "e4m3: just above 464 is NaN");
    CHECK(td_f32_to_f8e4m3(-1e6f) == 0xff, "e4m3: overflow is NaN with the sign");
    CHECK(td_f32_to_f8e4m3(0x1p-9f) == 0x01, "e4m3 smallest subnormal");
    CHECK(td_f32_to_f8e4m3(0x1p-10f) == 0x00, "e4m3: half the smallest subnormal ties to even = 0");
    CHECK(td_f32_to_f8e4m3(0x1.000002p-10f) == 0x01, "e4m3: just above half rounds up");
    CHECK(td_f32_to_f8e4m3(0x1.ep-7f) == 0x08, "e4m3: largest subnormal + ulp/2 carries into the smallest normal");
    CHECK(td_f32_to_f8e4m3(0x1.1p0f) == 0x38, "e4m3: 1 + ulp/2 ties to even = 1");
    CHECK(td_f32_to_f8e4m3(0x1.3p0f) == 0x3a, "e4m3: 1 + 3ulp/2 ties to even");
    CHECK(td_f32_to_f8e4m3(-0.0f) == 0x80, "e4m3 -0.0");
    CHECK(td_f8e4m3_to_f32(0x7e) == 448.0f && td_f8e4m3_to_f32(0x78) == 256.0f,
          "e4m3: the top exponent holds normal numbers");
    CHECK(isnan(td_f8e4m3_to_f32(0x7f)) && isnan(td_f8e4m3_to_f32(0xff)) && signbit(td_f8e4m3_to_f32(0xff)),
          "e4m3: 0x7f and 0xff are NaN");

    /* f8e5m2: max 57344 = 1.11b * 2^15 (ulp 8192), smallest subnormal 2^-16 */
    CHECK(td_f32_to_f8e5m2(57344.0f) == 0x7b, "e5m2 max");
    CHECK(td_f32_to_f8e5m2(0x1.dffffep15f) == 0x7b, "e5m2: just below max + ulp/2 rounds to max");
    CHECK(td_f32_to_f8e5m2(61440.0f) == 0x7c, "e5m2: max + ulp/2 ties to even = inf");
    CHECK(td_f32_to_f8e5m2(-1e6f) == 0xfc, "e5m2: overflow is -inf");
    CHECK(td_f32_to_f8e5m2(0x1p-16f) == 0x01, "e5m2 smallest subnormal");
    CHECK(td_f32_to_f8e5m2(0x1p-17f) == 0x00, "e5m2: half the smallest subnormal ties to even = 0");
    CHECK(td_f32_to_f8e5m2(0x3p-17f) == 0x02, "e5m2: 1.5 subnormal ulps ties to even = 2");
    CHECK(td_f32_to_f8e5m2(0x1.2p0f) == 0x3c, "e5m2: 1 + ulp/2 ties to even = 1");
    CHECK(td_f32_to_f8e5m2(0x1.6p0f) == 0x3e, "e5m2: 1 + 3ulp/2 ties to even");
    CHECK(td_f32_to_f8e5m2(-0.0f) == 0x80, "e5m2 -0.0");
    CHECK(isinf(td_f8e5m2_to_f32(0x7c)) && isnan(td_f8e5m2_to_f32(0x7d)), "e5m2: 0x7c is inf, 0x7d NaN");
}

void test_dtype(void)
{
    static const struct {
        td_dtype t;
        const char *name;
        size_t size;
        bool is_float;
    } table[] = {
        {TD_F64, "f64", 8, true},       {TD_F32, "f32", 4, true},       {TD_F16, "f16", 2, true},
        {TD_BF16, "bf16", 2, true},     {TD_F8E4M3, "f8e4m3", 1, true}, {TD_F8E5M2, "f8e5m2", 1, true},
        {TD_I64, "i64", 8, false},      {TD_I32, "i32", 4, false},      {TD_U16, "u16", 2, false},
        {TD_BOOL, "bool", 1, false},
    };
    CHECK(sizeof table / sizeof table[0] == TD_DTYPE_COUNT, "the table covers every dtype");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        td_dtype t = table[i].t;
        CHECK(td_dtype_size(t) == table[i].size, "size of %s: %zu", table[i].name, td_dtype_size(t));
        CHECK(strcmp(td_dtype_name(t), table[i].name) == 0, "name of %s: %s", table[i].name, td_dtype_name(t));
        CHECK(td_dtype_is_float(t) == table[i].is_float, "is_float of %s", table[i].name);
    }
    CHECK(td_dtype_size(TD_DTYPE_COUNT) == 0 && strcmp(td_dtype_name(TD_DTYPE_COUNT), "?") == 0 &&
              !td_dtype_is_float(TD_DTYPE_COUNT),
          "an out-of-range dtype has size 0 and the name ?");

    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        check_all_patterns(&formats[i]);
        check_nearest_sweep(&formats[i]);
        check_specials(&formats[i]);
    }
    check_edges();
}
