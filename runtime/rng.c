/* rng.c - Philox 4x32-10, streams of uniform and normal numbers, and the
 * param initialisers.
 *
 * Philox is counter-based: the output for a counter needs no earlier
 * output, so a GPU kernel can compute element i of a fill from (seed,
 * offset, i) alone and get what the CPU got. Everything here is written to
 * keep that true: word j of a stream is one Philox call away, every element
 * reads fixed words (pairs and quads for Box-Muller are aligned in the
 * stream, not in the fill), and each value is computed in double with a
 * stated sequence of IEEE operations and rounded once to the output type.
 * Uniforms are exact functions of the bits; values through log, sin, cos
 * and erfc match another libm to the last bit only where both round the
 * same way, which is nearly always after the final rounding to f32.
 *
 * The generator and its known-answer tests are Random123's (Salmon, Moraes,
 * Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC'11;
 * github.com/DEShawResearch/random123, include/Random123/philox.h). The
 * stream layout (key = seed, counter = word / 4, lane = word % 4) is
 * cuRAND's curand_init(seed, 0, offset) for curandStatePhilox4_32_10_t, so
 * the raw words equal curand()'s. docs/RUNTIME.md "Random numbers" has the
 * formulas and how they relate to curand_uniform and curand_normal. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "td.h"

/* ---- Philox 4x32-10 ---- */

static const uint32_t PHILOX_M0 = 0xD2511F53u, PHILOX_M1 = 0xCD9E8D57u;
static const uint32_t PHILOX_W0 = 0x9E3779B9u, PHILOX_W1 = 0xBB67AE85u; /* golden ratio, sqrt(3) - 1 */

void td_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = counter[0], c1 = counter[1], c2 = counter[2], c3 = counter[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        if (round > 0) { /* Random123 bumps the key before every round but the first */
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
        c0 = n0, c1 = n1, c2 = n2, c3 = n3;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

static void philox_block(uint64_t seed, uint64_t block, uint32_t out[4])
{
    const uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    td_philox4x32_10(ctr, key, out);
}

uint32_t td_rng_word(uint64_t seed, uint64_t j)
{
    uint32_t out[4];
    philox_block(seed, j >> 2, out);
    return out[j & 3];
}

/* The last block computed: fills walk the stream in order, so one block of
 * memory makes every Philox call serve four words. */
typedef struct {
    uint64_t seed;
    uint64_t block;
    bool valid;
    uint32_t w[4];
} block_cache;

static const uint32_t *block_of(block_cache *c, uint64_t j)
{
    if (!c->valid || c->block != j >> 2) {
        c->block = j >> 2;
        c->valid = true;
        philox_block(c->seed, c->block, c->w);
    }
    return c->w;
}

static uint32_t word_at(block_cache *c, uint64_t j) { return block_of(c, j)[j & 3]; }

/* ---- the transforms (docs/RUNTIME.md states them as formulas) ---- */

static const double TWO_PI = 0x1.921fb54442d18p+2; /* 2 pi rounded to double */
static const double PI = 0x1.921fb54442d18p+1;
static const double SQRT_HALF = 0x1.6a09e667f3bcdp-1;   /* 1 / sqrt(2) */
static const double SQRT_TWO_PI = 0x1.40d931ff62705p+1; /* sqrt(2 pi) */

/* [0, 1): the top 24 bits, exact in f32. */
static double unit24(uint32_t x) { return (double)(x >> 8) * 0x1p-24; }

/* cuRAND's 53-bit integer from two words (_curand_uniform_double_hq). The
 * XOR overlaps bits 21..31 of both words; the result is still uniform on
 * [0, 2^53) because the words are independent. */
static uint64_t bits53(uint32_t x, uint32_t y) { return (uint64_t)x ^ ((uint64_t)y << 21); }

static double unit53(uint32_t x, uint32_t y) { return (double)bits53(x, y) * 0x1p-53; }

/* Box-Muller on words x, y (f32 streams): u = x * 2^-32 + 2^-33 in (0, 1],
 * exact in double, so log(u) is finite; theta = (y + 1/2) * (2 pi * 2^-32),
 * one rounding; s = sqrt(-2 log u); z0 = s sin(theta), z1 = s cos(theta).
 * These are curand_normal's formulas, evaluated in double instead of f32. */
static void box_muller32(uint32_t x, uint32_t y, double *z0, double *z1)
{
    double u = (double)x * 0x1p-32 + 0x1p-33;
    double theta = ((double)y + 0.5) * (TWO_PI * 0x1p-32);
    double s = sqrt(-2.0 * log(u));
    *z0 = s * sin(theta);
    *z1 = s * cos(theta);
}

/* Box-Muller on the quad x0, x1, y0, y1 (f64 streams), as
 * curand_normal_double's _curand_box_muller_double: u = bx * 2^-53 +
 * 2^-54 in (0, 1], v = by * 2^-52 + 2^-53 in (0, 2], each one rounding,
 * theta = v * pi (cuRAND uses sincospi(v), which C11 lacks). */
static void box_muller64(const uint32_t q[4], double *z0, double *z1)
{
    double u = (double)bits53(q[0], q[1]) * 0x1p-53 + 0x1p-54;
    double v = (double)bits53(q[2], q[3]) * 0x1p-52 + 0x1p-53;
    double theta = v * PI;
    double s = sqrt(-2.0 * log(u));
    *z0 = s * sin(theta);
    *z1 = s * cos(theta);
}

typedef enum { DRAW_UNIFORM, DRAW_NORMAL } draw_kind;

/* Elements [0, count) of a fill whose element 0 starts at word `first`,
 * with `per` words an element (1 for f32, 2 for f64), as doubles. Element
 * e uses word w = first + per * e and, for normals, the pair (f32) or quad
 * (f64) of the stream that contains w, taking its sine half when w is in
 * the pair's first half. Nothing depends on where a fill begins, which is
 * what makes fills independent of chunking. */
static void draw(uint64_t seed, draw_kind kind, int per, uint64_t first, size_t count, double *out)
{
    block_cache c = {.seed = seed};
    for (size_t e = 0; e < count; e++) {
        uint64_t w = first + (uint64_t)per * e;
        if (kind == DRAW_UNIFORM) {
            out[e] = per == 1 ? unit24(word_at(&c, w)) : unit53(word_at(&c, w), word_at(&c, w + 1));
            continue;
        }
        double z0, z1;
        if (per == 1) {
            const uint32_t *b = block_of(&c, w); /* a pair never straddles a block */
            box_muller32(b[w & 2], b[(w & 2) + 1], &z0, &z1);
        } else {
            box_muller64(block_of(&c, w), &z0, &z1);
        }
        bool second = per == 1 ? (w & 1) : (w & 2);
        out[e] = second ? z1 : z0;
        /* The partner is the next element when this one is a first half:
         * store it now instead of computing the pair twice. */
        if (!second && e + 1 < count) {
            out[++e] = z1;
        }
    }
}

/* ---- consuming words ---- */

/* Reserves n elements of `per` words at rng->offset (after rounding it up
 * to a multiple of 4 when `align`), and sets *first to the first word. The
 * caller advances rng->offset to *end only once nothing else can fail. */
static td_status reserve(td_ctx *ctx, const td_rng *rng, size_t n, int per, bool align, uint64_t *first,
                         uint64_t *end, const char *what)
{
    uint64_t start = rng->offset, used;
    if (align && __builtin_add_overflow(start, (uint64_t)(-start & 3), &start))
        return td_fail(ctx, TD_ERR_INPUT, "%s: the random stream's offset would pass 2^64", what);
    if (__builtin_mul_overflow((uint64_t)n, (uint64_t)per, &used) || __builtin_add_overflow(start, used, end))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %zu values would carry the random stream's offset past 2^64", what, n);
    *first = start;
    return TD_OK;
}

enum { BATCH = 256 };

static td_status fill(td_ctx *ctx, td_rng *rng, draw_kind kind, bool f64, void *out, size_t n, const char *what)
{
    if (!out && n > 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the buffer is NULL", what);
    int per = f64 ? 2 : 1;
    uint64_t first = 0, end = 0;
    td_status st = reserve(ctx, rng, n, per, false, &first, &end, what);
    if (st != TD_OK)
        return st;
    double tmp[BATCH];
    for (size_t i = 0; i < n; i += BATCH) {
        size_t m = n - i < BATCH ? n - i : BATCH;
        draw(rng->seed, kind, per, first + (uint64_t)per * i, m, tmp);
        if (f64)
            memcpy((double *)out + i, tmp, m * sizeof *tmp);
        else
            for (size_t k = 0; k < m; k++)
                ((float *)out)[i + k] = (float)tmp[k];
    }
    rng->offset = end;
    return TD_OK;
}

td_status td_rng_uniform_f32(td_ctx *ctx, td_rng *rng, float *out, size_t n)
{
    return fill(ctx, rng, DRAW_UNIFORM, false, out, n, "td_rng_uniform_f32");
}

td_status td_rng_uniform_f64(td_ctx *ctx, td_rng *rng, double *out, size_t n)
{
    return fill(ctx, rng, DRAW_UNIFORM, true, out, n, "td_rng_uniform_f64");
}

td_status td_rng_normal_f32(td_ctx *ctx, td_rng *rng, float *out, size_t n)
{
    return fill(ctx, rng, DRAW_NORMAL, false, out, n, "td_rng_normal_f32");
}

td_status td_rng_normal_f64(td_ctx *ctx, td_rng *rng, double *out, size_t n)
{
    return fill(ctx, rng, DRAW_NORMAL, true, out, n, "td_rng_normal_f64");
}

/* ---- the inverse normal CDF, for trunc_normal ---- */

/* Phi(x), accurate in relative terms in the lower tail (erfc does not
 * cancel there, where 1 + erf would). */
static double norm_cdf(double x) { return 0.5 * erfc(-x * SQRT_HALF); }

/* Phi^-1(p): Acklam's rational approximation (relative error below
 * 1.15e-9; coefficients as published by P. J. Acklam, "An algorithm for
 * computing the inverse normal cumulative distribution function", 2003),
 * then one Halley step on Phi(x) - p, which brings it to about double
 * precision. The step is skipped below DBL_MIN, where exp(x^2 / 2) would
 * overflow; there Acklam's 1e-9 stands. */
static double norm_ppf(double p)
{
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02,  -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00,  2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double p_low = 0.02425;
    if (!(p > 0))
        return -INFINITY;
    if (!(p < 1))
        return INFINITY;
    double x;
    if (p < p_low || p > 1 - p_low) {
        double q = sqrt(-2 * log(p < p_low ? p : 1 - p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        if (p > 1 - p_low)
            x = -x;
    } else {
        double q = p - 0.5, r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    }
    if (p >= DBL_MIN) {
        double e = norm_cdf(x) - p;
        double u = e * SQRT_TWO_PI * exp(x * x / 2);
        x = x - u / (1 + x * u / 2);
    }
    return x;
}

/* ---- initialisers ---- */

/* What an initialiser does to each drawn value, in double. */
typedef struct {
    enum { XF_AFFINE, XF_TRUNC } op;
    double p0, p1;       /* AFFINE: p0 + p1 * v (mean + std * z, or a + (b - a) * u) */
    double mean, std;    /* TRUNC */
    double pa, dp;       /* TRUNC: Phi(alpha) and Phi(beta) - Phi(alpha), mirrored if `flip` */
    bool flip;           /* TRUNC: the interval was mirrored to the lower tail */
    bool clamp;          /* keep values in [lo, hi] */
    double lo, hi;
} xform;

static double apply(const xform *x, double v)
{
    switch (x->op) {
    case XF_AFFINE: v = x->p0 + x->p1 * v; break;
    case XF_TRUNC: {
        double z = norm_ppf(x->pa + v * x->dp);
        v = x->mean + x->std * (x->flip ? -z : z);
        break;
    }
    }
    return v;
}

/* Doubles to f32 without relying on Annex F for values beyond FLT_MAX. */
static float to_f32(double v)
{
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

/* The least f32 >= a and the greatest f32 <= b: the f32 interval inside
 * [a, b], which clamping keeps values in after rounding. */
static float f32_at_least(double a)
{
    float f = to_f32(a);
    return (double)f < a ? nextafterf(f, INFINITY) : f;
}

static float f32_at_most(double b)
{
    float f = to_f32(b);
    return (double)f > b ? nextafterf(f, -INFINITY) : f;
}

typedef struct {
    td_ctx *ctx;
    const char *name; /* the initialiser, for messages */
    td_dtype dtype;
    void *data;
    size_t n;
} target;

/* Checks the buffer: a float dtype, a valid shape, data for its elements. */
static td_status check_target(target *t, int rank, const int64_t *shape, bool any_dtype)
{
    bool ok = t->dtype == TD_F32 || t->dtype == TD_F64 ||
              (any_dtype && (t->dtype == TD_I64 || t->dtype == TD_I32 || t->dtype == TD_U16 || t->dtype == TD_BOOL));
    if (!ok)
        return td_fail(t->ctx, TD_ERR_INPUT, "%s: dtype %s is not supported (%s)", t->name, td_dtype_name(t->dtype),
                       any_dtype ? "f32, f64, i64, i32, u16 or bool" : "f32 or f64");
    if (rank < 0 || (rank > 0 && !shape))
        return td_fail(t->ctx, TD_ERR_INPUT, "%s: bad rank %d or missing shape", t->name, rank);
    td_status st = td_shape_elements(t->ctx, rank, shape, &t->n, t->name);
    if (st != TD_OK)
        return st;
    if (!t->data && t->n > 0)
        return td_fail(t->ctx, TD_ERR_INPUT, "%s: the buffer is NULL", t->name);
    return TD_OK;
}

static td_status need_finite(td_ctx *ctx, const char *name, const char *param, double v)
{
    if (!isfinite(v))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s must be finite, not %g", name, param, v);
    return TD_OK;
}

static td_status need_positive(td_ctx *ctx, const char *name, const char *param, double v)
{
    if (!(v > 0) || !isfinite(v))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s must be positive and finite, not %g", name, param, v);
    return TD_OK;
}

/* Draws t->n values of the dtype's stream, transforms and stores them. */
static td_status init_random(target *t, td_rng *rng, draw_kind kind, xform x)
{
    if (!rng)
        return td_fail(t->ctx, TD_ERR_INPUT, "%s: the random stream is NULL", t->name);
    bool f64 = t->dtype == TD_F64;
    float lo32 = 0, hi32 = 0;
    if (x.clamp && !f64) {
        lo32 = f32_at_least(x.lo), hi32 = f32_at_most(x.hi);
        if (!(lo32 <= hi32))
            return td_fail(t->ctx, TD_ERR_INPUT, "%s: no f32 value lies in [%g, %g]", t->name, x.lo, x.hi);
    }
    int per = f64 ? 2 : 1;
    uint64_t first = 0, end = 0;
    td_status st = reserve(t->ctx, rng, t->n, per, true, &first, &end, t->name);
    if (st != TD_OK)
        return st;
    double tmp[BATCH];
    for (size_t i = 0; i < t->n; i += BATCH) {
        size_t m = t->n - i < BATCH ? t->n - i : BATCH;
        draw(rng->seed, kind, per, first + (uint64_t)per * i, m, tmp);
        for (size_t k = 0; k < m; k++) {
            double v = apply(&x, tmp[k]);
            if (f64) {
                if (x.clamp) /* fmax/fmin also turn a NaN into a bound */
                    v = fmin(fmax(v, x.lo), x.hi);
                ((double *)t->data)[i + k] = v;
            } else {
                float f = to_f32(v);
                if (x.clamp)
                    f = fminf(fmaxf(f, lo32), hi32);
                ((float *)t->data)[i + k] = f;
            }
        }
    }
    rng->offset = end;
    return TD_OK;
}

td_status td_init_constant(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape, double value)
{
    target t = {ctx, "constant", dtype, data, 0};
    td_status st = check_target(&t, rank, shape, true);
    if (st != TD_OK)
        return st;
    /* Integer dtypes take only values they hold exactly: the checker
     * allows constant() on any dtype, and silently truncating 0.5 to 0 is
     * never what was meant. */
    bool fits = isfinite(value);
    switch (dtype) {
    case TD_F32: fits = fits && fabs(value) <= FLT_MAX; break;
    case TD_I64: fits = value >= -0x1p63 && value < 0x1p63 && value == trunc(value); break;
    case TD_I32: fits = value >= INT32_MIN && value <= INT32_MAX && value == trunc(value); break;
    case TD_U16: fits = value >= 0 && value <= UINT16_MAX && value == trunc(value); break;
    case TD_BOOL: fits = value == 0 || value == 1; break;
    default: break;
    }
    if (!fits)
        return td_fail(ctx, TD_ERR_INPUT, "constant: %g is not a value of %s", value, td_dtype_name(dtype));
    for (size_t i = 0; i < t.n; i++) {
        switch (dtype) {
        case TD_F64: ((double *)data)[i] = value; break;
        case TD_F32: ((float *)data)[i] = to_f32(value); break;
        case TD_I64: ((int64_t *)data)[i] = (int64_t)value; break;
        case TD_I32: ((int32_t *)data)[i] = (int32_t)value; break;
        case TD_U16: ((uint16_t *)data)[i] = (uint16_t)value; break;
        case TD_BOOL: ((uint8_t *)data)[i] = (uint8_t)value; break;
        default: break;
        }
    }
    return TD_OK;
}

td_status td_init_zeros(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape)
{
    return td_init_constant(ctx, dtype, data, rank, shape, 0);
}

td_status td_init_ones(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape)
{
    return td_init_constant(ctx, dtype, data, rank, shape, 1);
}

static td_status normal_init(target *t, td_rng *rng, double mean, double std)
{
    xform x = {.op = XF_AFFINE, .p0 = mean, .p1 = std};
    return init_random(t, rng, DRAW_NORMAL, x);
}

/* a + (b - a) * u on [0, 1), clamped to [a, b] against rounding. */
static td_status uniform_init(target *t, td_rng *rng, double a, double b)
{
    double width = b - a;
    if (!isfinite(width))
        return td_fail(t->ctx, TD_ERR_INPUT, "%s: b - a overflows (a = %g, b = %g)", t->name, a, b);
    xform x = {.op = XF_AFFINE, .p0 = a, .p1 = width, .clamp = true, .lo = a, .hi = b};
    return init_random(t, rng, DRAW_UNIFORM, x);
}

td_status td_init_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                         double mean, double std)
{
    target t = {ctx, "normal", dtype, data, 0};
    td_status st = check_target(&t, rank, shape, false);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "mean", mean);
    if (st == TD_OK)
        st = need_positive(ctx, t.name, "std", std);
    return st == TD_OK ? normal_init(&t, rng, mean, std) : st;
}

td_status td_init_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                          double a, double b)
{
    target t = {ctx, "uniform", dtype, data, 0};
    td_status st = check_target(&t, rank, shape, false);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "a", a);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "b", b);
    if (st == TD_OK && !(a < b))
        st = td_fail(ctx, TD_ERR_INPUT, "uniform: needs a < b, but a = %g and b = %g", a, b);
    return st == TD_OK ? uniform_init(&t, rng, a, b) : st;
}

/* Inverse-CDF sampling as torch.nn.init.trunc_normal_ (which maps a
 * uniform through erfinv), with two changes for accuracy far from the
 * mean: an interval that lies mostly above the mean is mirrored below it,
 * where Phi is small and erfc keeps its digits, and Phi^-1 is refined to
 * double precision. Values are then clamped to [a, b] against rounding.
 * Accurate while the nearer end of [a, b] is within about 37 std of the
 * mean; beyond that Phi underflows and values collapse to that end. */
td_status td_init_trunc_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                               double mean, double std, double a, double b)
{
    target t = {ctx, "trunc_normal", dtype, data, 0};
    td_status st = check_target(&t, rank, shape, false);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "mean", mean);
    if (st == TD_OK)
        st = need_positive(ctx, t.name, "std", std);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "a", a);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "b", b);
    if (st == TD_OK && !(a < b))
        st = td_fail(ctx, TD_ERR_INPUT, "trunc_normal: needs a < b, but a = %g and b = %g", a, b);
    if (st != TD_OK)
        return st;
    double alpha = (a - mean) / std, beta = (b - mean) / std;
    xform x = {.op = XF_TRUNC, .mean = mean, .std = std, .clamp = true, .lo = a, .hi = b};
    x.flip = alpha + beta > 0;
    if (x.flip) {
        double t0 = alpha;
        alpha = -beta, beta = -t0;
    }
    x.pa = norm_cdf(alpha);
    x.dp = norm_cdf(beta) - x.pa;
    return init_random(&t, rng, DRAW_UNIFORM, x);
}

td_status td_fans(td_ctx *ctx, int rank, const int64_t *shape, int64_t *fan_in, int64_t *fan_out)
{
    if (rank < 2 || !shape)
        return td_fail(ctx, TD_ERR_INPUT, "fan-in and fan-out need at least 2 axes, but the shape has %d", rank);
    *fan_in = shape[rank - 2];
    *fan_out = shape[rank - 1];
    return TD_OK;
}

td_status td_calculate_gain(td_ctx *ctx, const char *nonlinearity, double param, double *gain)
{
    static const char *const ones[] = {"linear",           "conv1d",           "conv2d",          "conv3d",
                                       "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "sigmoid"};
    if (!nonlinearity)
        return td_fail(ctx, TD_ERR_INPUT, "calculate_gain: the nonlinearity is NULL");
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        if (strcmp(nonlinearity, ones[i]) == 0)
            return *gain = 1, TD_OK;
    if (strcmp(nonlinearity, "tanh") == 0)
        return *gain = 5.0 / 3, TD_OK;
    if (strcmp(nonlinearity, "relu") == 0)
        return *gain = sqrt(2.0), TD_OK;
    if (strcmp(nonlinearity, "selu") == 0)
        return *gain = 3.0 / 4, TD_OK;
    if (strcmp(nonlinearity, "leaky_relu") == 0) {
        if (!isfinite(param))
            return td_fail(ctx, TD_ERR_INPUT, "calculate_gain: leaky_relu's negative slope must be finite, not %g",
                           param);
        return *gain = sqrt(2.0 / (1 + param * param)), TD_OK;
    }
    return td_fail(ctx, TD_ERR_INPUT,
                   "unknown nonlinearity \"%s\"; one of linear, conv1d, conv2d, conv3d, conv_transpose1d, "
                   "conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu, selu",
                   nonlinearity);
}

/* The checks every fan-based initialiser shares: target, rank, and fans
 * as doubles (exact below 2^53). */
static td_status fan_target(target *t, int rank, const int64_t *shape, double *fan_in, double *fan_out)
{
    td_status st = check_target(t, rank, shape, false);
    if (st != TD_OK)
        return st;
    if (rank < 2)
        return td_fail(t->ctx, TD_ERR_INPUT,
                       "%s: needs at least 2 axes to compute fan-in and fan-out, but the shape has %d", t->name, rank);
    *fan_in = (double)shape[rank - 2];
    *fan_out = (double)shape[rank - 1];
    return TD_OK;
}

static td_status xavier(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                        double gain, bool uniform)
{
    target t = {ctx, uniform ? "xavier_uniform" : "xavier_normal", dtype, data, 0};
    double fan_in = 0, fan_out = 0; /* set by fan_target on success */
    td_status st = fan_target(&t, rank, shape, &fan_in, &fan_out);
    if (st == TD_OK)
        st = need_positive(ctx, t.name, "gain", gain);
    if (st != TD_OK)
        return st;
    if (t.n == 0) /* no fans to divide by; still the same offset rule */
        return init_random(&t, rng, DRAW_UNIFORM, (xform){.op = XF_AFFINE});
    if (uniform) {
        double bound = gain * sqrt(6.0 / (fan_in + fan_out));
        return uniform_init(&t, rng, -bound, bound);
    }
    return normal_init(&t, rng, 0, gain * sqrt(2.0 / (fan_in + fan_out)));
}

td_status td_init_xavier_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                 const int64_t *shape, double gain)
{
    return xavier(ctx, rng, dtype, data, rank, shape, gain, true);
}

td_status td_init_xavier_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                                double gain)
{
    return xavier(ctx, rng, dtype, data, rank, shape, gain, false);
}

static td_status kaiming(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                         double a, const char *mode, const char *nonlinearity, bool uniform)
{
    target t = {ctx, uniform ? "kaiming_uniform" : "kaiming_normal", dtype, data, 0};
    double fan_in = 0, fan_out = 0, gain; /* the fans set by fan_target on success */
    td_status st = fan_target(&t, rank, shape, &fan_in, &fan_out);
    if (st == TD_OK)
        st = need_finite(ctx, t.name, "a", a);
    if (st != TD_OK)
        return st;
    bool in = mode && strcmp(mode, "fan_in") == 0;
    if (!in && !(mode && strcmp(mode, "fan_out") == 0))
        return td_fail(ctx, TD_ERR_INPUT, "%s: mode must be \"fan_in\" or \"fan_out\", not \"%s\"", t.name,
                       mode ? mode : "(null)");
    st = td_calculate_gain(ctx, nonlinearity ? nonlinearity : "(null)", a, &gain);
    if (st != TD_OK)
        return st;
    if (t.n == 0)
        return init_random(&t, rng, DRAW_UNIFORM, (xform){.op = XF_AFFINE});
    double fan = in ? fan_in : fan_out;
    if (uniform) {
        double bound = gain * sqrt(3.0 / fan);
        return uniform_init(&t, rng, -bound, bound);
    }
    return normal_init(&t, rng, 0, gain / sqrt(fan));
}

td_status td_init_kaiming_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                  const int64_t *shape, double a, const char *mode, const char *nonlinearity)
{
    return kaiming(ctx, rng, dtype, data, rank, shape, a, mode, nonlinearity, true);
}

td_status td_init_kaiming_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                 const int64_t *shape, double a, const char *mode, const char *nonlinearity)
{
    return kaiming(ctx, rng, dtype, data, rank, shape, a, mode, nonlinearity, false);
}
