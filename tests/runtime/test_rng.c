/* test_rng.c - Philox 4x32-10, the random streams and the param
 * initialisers of runtime/rng.c.
 *
 * Philox is pinned by Random123's known answers; the streams by an
 * independent re-derivation of elements from td_rng_word and the formulas
 * of docs/RUNTIME.md, by chunking and offset rules, and by moments of 1e6
 * draws; the initialisers by their bounds (checked on every element) and
 * moments. Every statistical tolerance is stated with the standard error
 * it is measured against: with fixed seeds the draws are the same on every
 * run, so a tolerance of several standard errors is a statement about the
 * generator, not a flaky test. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"
#include "test.h"

enum { N_STAT = 1000000 };

static const double PI = 3.141592653589793; /* M_PI is POSIX, not C11 */

static void kat(void)
{
    /* Random123's tests/kat_vectors, the three "philox4x32 10" lines
     * (github.com/DEShawResearch/random123, commit 9545ff64, lines 27-29):
     * counter (4 words), key (2 words), expected output (4 words). */
    static const struct {
        uint32_t ctr[4], key[2], out[4];
    } v[3] = {
        {{0x00000000, 0x00000000, 0x00000000, 0x00000000},
         {0x00000000, 0x00000000},
         {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
        {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
         {0xffffffff, 0xffffffff},
         {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
        {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
         {0xa4093822, 0x299f31d0},
         {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
    };
    for (int i = 0; i < 3; i++) {
        uint32_t out[4];
        td_philox4x32_10(v[i].ctr, v[i].key, out);
        CHECK(memcmp(out, v[i].out, sizeof out) == 0, "KAT %d: got %08x %08x %08x %08x", i, out[0], out[1], out[2],
              out[3]);
    }
    /* The stream's word j is lane j % 4 of counter {lo(j/4), hi(j/4), 0, 0}
     * under key {lo(seed), hi(seed)}. */
    uint64_t seed = 0x299f31d0a4093822u, j = ((uint64_t)0x05a308d3 << 32 | 0x243f6a88) * 4 + 2;
    uint32_t out[4];
    td_philox4x32_10((const uint32_t[4]){0x243f6a88, 0x05a308d3, 0, 0}, (const uint32_t[2]){0xa4093822, 0x299f31d0},
                     out);
    CHECK(td_rng_word(seed, j) == out[2], "td_rng_word picks counter j/4 and lane j%%4");
    CHECK(td_rng_word(0, 0) == 0x6627e8d5 && td_rng_word(0, 3) == 0x9b00dbd8, "word 0..3 of seed 0 is KAT 0");
}

/* ---- the documented element formulas, re-derived from td_rng_word ---- */

static double ref_uniform32(uint64_t seed, uint64_t w) { return (double)(td_rng_word(seed, w) >> 8) * 0x1p-24; }

static uint64_t ref_bits53(uint64_t seed, uint64_t w)
{
    return (uint64_t)td_rng_word(seed, w) ^ ((uint64_t)td_rng_word(seed, w + 1) << 21);
}

static double ref_uniform64(uint64_t seed, uint64_t w) { return (double)ref_bits53(seed, w) * 0x1p-53; }

static double ref_normal32(uint64_t seed, uint64_t w)
{
    uint64_t p = w & ~(uint64_t)1;
    double u = (double)td_rng_word(seed, p) * 0x1p-32 + 0x1p-33;
    double theta = ((double)td_rng_word(seed, p + 1) + 0.5) * (2 * PI * 0x1p-32);
    double s = sqrt(-2 * log(u));
    return (w & 1) ? s * cos(theta) : s * sin(theta);
}

static double ref_normal64(uint64_t seed, uint64_t w)
{
    uint64_t q = w & ~(uint64_t)3;
    double u = (double)ref_bits53(seed, q) * 0x1p-53 + 0x1p-54;
    double v = (double)ref_bits53(seed, q + 2) * 0x1p-52 + 0x1p-53;
    double s = sqrt(-2 * log(u));
    return (w & 2) ? s * cos(v * PI) : s * sin(v * PI);
}

static void element_mapping(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    const uint64_t seed = 0x0123456789abcdefu;
    /* Odd and even starting offsets: the mapping must not care. */
    for (uint64_t off = 5; off <= 6; off++) {
        enum { N = 37 };
        float f[N];
        double d[N];
        int bad = 0;
        td_rng r = {seed, off};
        td_rng_uniform_f32(ctx, &r, f, N);
        for (int i = 0; i < N; i++)
            bad += (double)f[i] != ref_uniform32(seed, off + i);
        CHECK(bad == 0, "uniform f32 element i is (x >> 8) * 2^-24 of word offset+i (offset %llu): %d differ",
              (unsigned long long)off, bad);
        r = (td_rng){seed, off};
        td_rng_uniform_f64(ctx, &r, d, N);
        bad = 0;
        for (int i = 0; i < N; i++)
            bad += d[i] != ref_uniform64(seed, off + 2 * i);
        CHECK(bad == 0, "uniform f64 element i is (x ^ y << 21) * 2^-53 of words offset+2i, +1: %d differ", bad);
        r = (td_rng){seed, off};
        td_rng_normal_f32(ctx, &r, f, N);
        bad = 0;
        for (int i = 0; i < N; i++)
            bad += f[i] != (float)ref_normal32(seed, off + i);
        CHECK(bad == 0, "normal f32 element i is Box-Muller on the aligned pair holding word offset+i: %d differ", bad);
        r = (td_rng){seed, off};
        td_rng_normal_f64(ctx, &r, d, N);
        bad = 0;
        for (int i = 0; i < N; i++)
            bad += d[i] != ref_normal64(seed, off + 2 * i);
        CHECK(bad == 0, "normal f64 element i is Box-Muller on the aligned quad holding word offset+2i: %d differ", bad);
    }
    td_ctx_free(ctx);
}

/* ---- chunking and offsets ---- */

typedef td_status (*fill32)(td_ctx *, td_rng *, float *, size_t);
typedef td_status (*fill64)(td_ctx *, td_rng *, double *, size_t);

static void chunking(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    enum { N = 1000 };
    static float a32[N], b32[N], c32[N];
    static double a64[N], b64[N], c64[N];
    const struct { const char *name; fill32 f; } f32s[] = {{"uniform_f32", td_rng_uniform_f32},
                                                         {"normal_f32", td_rng_normal_f32}};
    const struct { const char *name; fill64 f; } f64s[] = {{"uniform_f64", td_rng_uniform_f64},
                                                          {"normal_f64", td_rng_normal_f64}};
    for (int k = 0; k < 2; k++) {
        for (uint64_t off = 0; off < 4; off++) {
            td_rng one = {42, off}, ten = {42, off}, odd = {42, off};
            f32s[k].f(ctx, &one, a32, N);
            for (int i = 0; i < 10; i++)
                f32s[k].f(ctx, &ten, b32 + 100 * i, 100);
            /* Chunks of 1, 2, 3, ... words: every parity and block phase. */
            for (size_t at = 0, len = 1; at < N; at += len, len++)
                f32s[k].f(ctx, &odd, c32 + at, at + len > N ? N - at : len);
            CHECK(memcmp(a32, b32, sizeof a32) == 0 && memcmp(a32, c32, sizeof a32) == 0,
                  "%s at offset %llu: 1000 at once equals 10 x 100 and chunks of 1, 2, 3, ...", f32s[k].name,
                  (unsigned long long)off);
            CHECK(one.offset == off + N && ten.offset == off + N && odd.offset == off + N,
                  "%s advances offset by n words: %llu", f32s[k].name, (unsigned long long)one.offset);

            one = ten = odd = (td_rng){42, off};
            f64s[k].f(ctx, &one, a64, N);
            for (int i = 0; i < 10; i++)
                f64s[k].f(ctx, &ten, b64 + 100 * i, 100);
            for (size_t at = 0, len = 1; at < N; at += len, len++)
                f64s[k].f(ctx, &odd, c64 + at, at + len > N ? N - at : len);
            CHECK(memcmp(a64, b64, sizeof a64) == 0 && memcmp(a64, c64, sizeof a64) == 0,
                  "%s at offset %llu: 1000 at once equals 10 x 100 and chunks of 1, 2, 3, ...", f64s[k].name,
                  (unsigned long long)off);
            CHECK(one.offset == off + 2 * N && ten.offset == off + 2 * N && odd.offset == off + 2 * N,
                  "%s advances offset by 2n words: %llu", f64s[k].name, (unsigned long long)one.offset);
        }
    }
    /* A later fill continues where the earlier one stopped: the second half
     * of a 2n fill is a fill of n at offset n. */
    td_rng r = {7, 0};
    td_rng_uniform_f32(ctx, &r, a32, 200);
    r = (td_rng){7, 100};
    td_rng_uniform_f32(ctx, &r, b32, 100);
    CHECK(memcmp(a32 + 100, b32, 100 * sizeof *b32) == 0, "element i comes from (seed, offset + i) alone");
    /* Seeds differ in both key words. */
    td_rng s1 = {1, 0}, s2 = {(uint64_t)1 << 32, 0}, s0 = {0, 0};
    td_rng_uniform_f32(ctx, &s1, a32, 8);
    td_rng_uniform_f32(ctx, &s2, b32, 8);
    td_rng_uniform_f32(ctx, &s0, c32, 8);
    CHECK(memcmp(a32, b32, 8 * sizeof *a32) != 0 && memcmp(a32, c32, 8 * sizeof *a32) != 0 &&
              memcmp(b32, c32, 8 * sizeof *a32) != 0,
          "the low and the high half of the seed both matter");
    /* A zero-length fill uses nothing; a fill past 2^64 fails and moves nothing. */
    r = (td_rng){7, 13};
    CHECK(td_rng_normal_f32(ctx, &r, NULL, 0) == TD_OK && r.offset == 13, "n = 0 is a no-op");
    r = (td_rng){7, UINT64_MAX - 5};
    a32[0] = -1;
    CHECK(td_rng_uniform_f32(ctx, &r, a32, 6) == TD_ERR_INPUT && r.offset == UINT64_MAX - 5 && a32[0] == -1,
          "an offset that would pass 2^64 is an error and changes nothing");
    CHECK(td_ctx_error(ctx) && strstr(td_ctx_error(ctx), "2^64"), "message: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_rng_uniform_f32(ctx, &r, a32, 5) == TD_OK && r.offset == UINT64_MAX, "up to 2^64 - 1 is fine");
    r = (td_rng){7, 0};
    CHECK(td_rng_uniform_f64(ctx, &r, a64, SIZE_MAX / 2 + 1) == TD_ERR_INPUT, "2n words overflowing is caught");
    td_ctx_clear_error(ctx);
    td_ctx_free(ctx);
}

/* ---- statistics ---- */

typedef struct {
    double mean, var, min, max;
} moments;

static moments moments_of(const double *x, size_t n)
{
    moments m = {0, 0, INFINITY, -INFINITY};
    for (size_t i = 0; i < n; i++) {
        m.mean += x[i];
        m.min = fmin(m.min, x[i]);
        m.max = fmax(m.max, x[i]);
    }
    m.mean /= (double)n;
    for (size_t i = 0; i < n; i++)
        m.var += (x[i] - m.mean) * (x[i] - m.mean);
    m.var /= (double)n;
    return m;
}

static moments moments_f32(const float *x, size_t n, double *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = x[i];
    return moments_of(tmp, n);
}

static void statistics(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    double *d = malloc(N_STAT * sizeof *d), *tmp = malloc(N_STAT * sizeof *tmp);
    float *f = malloc(N_STAT * sizeof *f);
    td_rng r = {20240601, 0};

    /* Uniform on [0, 1): mean 1/2 (standard error sqrt(1/12 / 1e6) = 2.9e-4,
     * tolerance 0.002), variance 1/12 (standard error 7.5e-5, tolerance
     * 0.002, the brief's); every value in [0, 1). */
    td_rng_uniform_f32(ctx, &r, f, N_STAT);
    moments m = moments_f32(f, N_STAT, tmp);
    CHECK(fabs(m.mean - 0.5) < 0.002 && fabs(m.var - 1.0 / 12) < 0.002, "uniform f32: mean %g var %g", m.mean, m.var);
    CHECK(m.min >= 0 && m.max < 1, "uniform f32 in [0, 1): [%g, %g]", m.min, m.max);
    td_rng_uniform_f64(ctx, &r, d, N_STAT);
    m = moments_of(d, N_STAT);
    CHECK(fabs(m.mean - 0.5) < 0.002 && fabs(m.var - 1.0 / 12) < 0.002, "uniform f64: mean %g var %g", m.mean, m.var);
    CHECK(m.min >= 0 && m.max < 1, "uniform f64 in [0, 1): [%g, %g]", m.min, m.max);
    /* The 53 bits are all used: many values are not multiples of 2^-32. */
    int fine = 0;
    for (int i = 0; i < 1000; i++)
        fine += d[i] * 0x1p32 != floor(d[i] * 0x1p32);
    CHECK(fine > 990, "uniform f64 has bits below 2^-32: %d of 1000", fine);

    /* Standard normal: mean 0 (standard error 1e-3, tolerance 0.005), variance
     * 1 (standard error sqrt(2 / 1e6) = 1.4e-3, tolerance 0.01); the two
     * halves of a Box-Muller pair are uncorrelated (standard error 1.4e-3
     * over 5e5 pairs, tolerance 0.01); the fraction below 1 is Phi(1) =
     * 0.841345 (standard error 3.7e-4, tolerance 0.002). */
    td_rng_normal_f32(ctx, &r, f, N_STAT);
    m = moments_f32(f, N_STAT, tmp);
    CHECK(fabs(m.mean) < 0.005 && fabs(m.var - 1) < 0.01, "normal f32: mean %g var %g", m.mean, m.var);
    double corr = 0, below = 0;
    for (size_t i = 0; i + 1 < N_STAT; i += 2)
        corr += (double)f[i] * f[i + 1];
    for (size_t i = 0; i < N_STAT; i++)
        below += f[i] < 1;
    CHECK(fabs(corr / (N_STAT / 2)) < 0.01, "normal f32: sine and cosine halves uncorrelated: %g", corr / (N_STAT / 2));
    CHECK(fabs(below / N_STAT - 0.841345) < 0.002, "normal f32: P(z < 1) = %g", below / N_STAT);
    td_rng_normal_f64(ctx, &r, d, N_STAT);
    m = moments_of(d, N_STAT);
    CHECK(fabs(m.mean) < 0.005 && fabs(m.var - 1) < 0.01, "normal f64: mean %g var %g", m.mean, m.var);
    below = 0;
    for (size_t i = 0; i < N_STAT; i++)
        below += d[i] < 1;
    CHECK(fabs(below / N_STAT - 0.841345) < 0.002, "normal f64: P(z < 1) = %g", below / N_STAT);
    CHECK(r.offset == 6 * (uint64_t)N_STAT, "offset after 1e6 f32 and f64 of each: %llu", (unsigned long long)r.offset);
    free(d);
    free(tmp);
    free(f);
    td_ctx_free(ctx);
}

/* ---- initialisers ---- */

/* A buffer of either float dtype, read back as doubles. */
typedef struct {
    td_dtype dtype;
    void *data;
    double *vals;
    size_t n;
} buf;

static buf buf_new(td_dtype dtype, size_t n)
{
    buf b = {dtype, malloc(n * (dtype == TD_F64 ? 8 : 4) + 1), malloc(n * sizeof(double) + 1), n};
    return b;
}

static const double *buf_vals(buf *b)
{
    for (size_t i = 0; i < b->n; i++)
        b->vals[i] = b->dtype == TD_F64 ? ((double *)b->data)[i] : ((float *)b->data)[i];
    return b->vals;
}

static void buf_free(buf *b)
{
    free(b->data);
    free(b->vals);
}

static size_t outside(const double *x, size_t n, double lo, double hi)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !(x[i] >= lo && x[i] <= hi);
    return k;
}

static double phi(double x) { return exp(-x * x / 2) / sqrt(2 * PI); }
static double Phi(double x) { return 0.5 * erfc(-x / sqrt(2)); }

/* Mean and variance of N(mu, sigma^2) truncated to [a, b]; a window above
 * the mean is mirrored below it, where Phi(be) - Phi(al) does not cancel. */
static void trunc_moments(double mu, double sigma, double a, double b, double *mean, double *var)
{
    double al = (a - mu) / sigma, be = (b - mu) / sigma, sign = 1;
    if (al + be > 0) {
        double t = al;
        al = -be, be = -t, sign = -1;
    }
    double z = Phi(be) - Phi(al), r = (phi(al) - phi(be)) / z;
    *mean = mu + sign * sigma * r;
    *var = sigma * sigma * (1 + (al * phi(al) - be * phi(be)) / z - r * r);
}

static void init_fills(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    const td_dtype dts[2] = {TD_F32, TD_F64};
    for (int k = 0; k < 2; k++) {
        td_dtype dt = dts[k];
        const char *dn = dt == TD_F64 ? "f64" : "f32";
        buf b = buf_new(dt, N_STAT);
        int64_t shape[2] = {1000, 1000};
        td_rng r = {99, 3};
        moments m;

        /* normal(2, 0.5): mean within 5 standard errors (5 * 0.5e-3), variance
         * 0.25 within 0.25 * 0.01. The offset starts at the next multiple of 4. */
        CHECK(td_init_normal(ctx, &r, dt, b.data, 2, shape, 2, 0.5) == TD_OK, "normal %s", dn);
        m = moments_of(buf_vals(&b), b.n);
        CHECK(fabs(m.mean - 2) < 0.0025 && fabs(m.var - 0.25) < 0.0025, "normal(2, 0.5) %s: mean %g var %g", dn, m.mean,
              m.var);
        uint64_t per = dt == TD_F64 ? 2 : 1;
        CHECK(r.offset == 4 + per * N_STAT, "normal %s: aligned to 4, then n words each: %llu", dn,
              (unsigned long long)r.offset);
        /* The initialiser draws exactly what the stream fill draws. */
        td_rng r2 = {99, 4};
        buf c = buf_new(dt, 16);
        if (dt == TD_F64)
            td_rng_normal_f64(ctx, &r2, c.data, 16);
        else
            td_rng_normal_f32(ctx, &r2, c.data, 16);
        const double *cv = buf_vals(&c);
        int same = 0;
        for (int i = 0; i < 16; i++)
            same += fabs(b.vals[i] - (2 + 0.5 * cv[i])) <= 1e-6 * fabs(b.vals[i]);
        CHECK(same == 16, "normal %s is mean + std * the stream's normals: %d of 16", dn, same);
        buf_free(&c);

        /* uniform(-0.1, 0.3): all in [a, b], mean 0.1 (standard error 1.2e-4,
         * tolerance 0.001), variance 0.4^2 / 12 within 2%. */
        CHECK(td_init_uniform(ctx, &r, dt, b.data, 2, shape, -0.1, 0.3) == TD_OK, "uniform %s", dn);
        m = moments_of(buf_vals(&b), b.n);
        CHECK(outside(b.vals, b.n, -0.1, 0.3) == 0, "uniform %s in [-0.1, 0.3]: [%.9g, %.9g]", dn, m.min, m.max);
        CHECK(fabs(m.mean - 0.1) < 0.001 && fabs(m.var / (0.16 / 12) - 1) < 0.02, "uniform %s: mean %g var %g", dn,
              m.mean, m.var);

        /* trunc_normal: never outside [a, b], checked on every element; mean
         * and variance against the closed forms (tolerance 5 standard errors
         * of the mean, 2% of the variance). Cases: torch's defaults, the
         * language's example (bounds not representable in f32), an
         * asymmetric window, and windows 5 and 30 std out in each tail, where
         * only the mirrored, erfc-based inverse CDF keeps its accuracy. */
        const double cases[][4] = {{0, 1, -2, 2},   {0, 0.02, -0.04, 0.04}, {1, 0.3, 0.5, 3},
                                   {0, 1, 5, 6},    {0, 1, -6, -5},         {0, 1, 30, 31},
                                   {3, 2, -1e300, 1e300}};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double mu = cases[i][0], sg = cases[i][1], lo = cases[i][2], hi = cases[i][3];
            CHECK(td_init_trunc_normal(ctx, &r, dt, b.data, 2, shape, mu, sg, lo, hi) == TD_OK, "trunc_normal %s", dn);
            m = moments_of(buf_vals(&b), b.n);
            double em, ev;
            if (hi - lo > 1e200)
                em = mu, ev = sg * sg;
            else
                trunc_moments(mu, sg, lo, hi, &em, &ev);
            CHECK(outside(b.vals, b.n, lo, hi) == 0, "trunc_normal(%g, %g, %g, %g) %s never leaves [a, b]: [%.9g, %.9g]",
                  mu, sg, lo, hi, dn, m.min, m.max);
            CHECK(fabs(m.mean - em) < 5 * sqrt(ev / N_STAT) + 1e-12 && fabs(m.var / ev - 1) < 0.02,
                  "trunc_normal(%g, %g, %g, %g) %s: mean %.6g (want %.6g) var %.6g (want %.6g)", mu, sg, lo, hi, dn,
                  m.mean, em, m.var, ev);
        }

        /* xavier_uniform on a stack [60000, 3, 5] of 3x5 matrices: fan_in 3,
         * fan_out 5, so bound = gain * sqrt(6 / 8), not multiplied by the
         * stack; every |value| <= bound exactly, the largest within 1e-4 of
         * it, variance bound^2 / 3 within 2%. */
        int64_t stack[3] = {60000, 3, 5};
        b.n = 900000;
        const double gains[2] = {1, 2.5};
        for (int g = 0; g < 2; g++) {
            double bound = gains[g] * sqrt(6.0 / (3 + 5));
            CHECK(td_init_xavier_uniform(ctx, &r, dt, b.data, 3, stack, gains[g]) == TD_OK, "xavier_uniform %s", dn);
            m = moments_of(buf_vals(&b), b.n);
            CHECK(outside(b.vals, b.n, -bound, bound) == 0 && m.max > bound * (1 - 1e-4) &&
                      m.min < -bound * (1 - 1e-4),
                  "xavier_uniform(gain %g) %s within +-%.9g, reaching it: [%.9g, %.9g]", gains[g], dn, bound, m.min,
                  m.max);
            CHECK(fabs(m.var / (bound * bound / 3) - 1) < 0.02, "xavier_uniform %s: var %g want %g", dn, m.var,
                  bound * bound / 3);
        }
        /* xavier_normal on [400, 600]: std = gain * sqrt(2 / 1000). */
        int64_t mat[2] = {400, 600};
        b.n = 240000;
        CHECK(td_init_xavier_normal(ctx, &r, dt, b.data, 2, mat, 1.5) == TD_OK, "xavier_normal %s", dn);
        m = moments_of(buf_vals(&b), b.n);
        double want = 1.5 * 1.5 * 2 / 1000;
        CHECK(fabs(m.var / want - 1) < 0.02 && fabs(m.mean) < 5 * sqrt(want / b.n), "xavier_normal %s: var %g want %g",
              dn, m.var, want);

        /* kaiming_uniform with torch's defaults (a = 0, fan_in, leaky_relu):
         * gain sqrt(2), bound sqrt(2) * sqrt(3 / 400); fan_out uses 600. */
        const char *modes[2] = {"fan_in", "fan_out"};
        for (int md = 0; md < 2; md++) {
            double fan = md ? 600 : 400, bound = sqrt(2.0) * sqrt(3 / fan);
            CHECK(td_init_kaiming_uniform(ctx, &r, dt, b.data, 2, mat, 0, modes[md], "leaky_relu") == TD_OK,
                  "kaiming_uniform %s", dn);
            m = moments_of(buf_vals(&b), b.n);
            CHECK(outside(b.vals, b.n, -bound, bound) == 0 && m.max > bound * (1 - 1e-3),
                  "kaiming_uniform %s %s within +-%.9g: [%.9g, %.9g]", modes[md], dn, bound, m.min, m.max);
            CHECK(fabs(m.var / (bound * bound / 3) - 1) < 0.02, "kaiming_uniform %s %s: var %g want %g", modes[md], dn,
                  m.var, bound * bound / 3);
            /* kaiming_normal, relu: std = sqrt(2) / sqrt(fan); tanh with a
             * ignored: (5/3) / sqrt(fan). */
            CHECK(td_init_kaiming_normal(ctx, &r, dt, b.data, 2, mat, 0, modes[md], "relu") == TD_OK, "kaiming_normal");
            m = moments_of(buf_vals(&b), b.n);
            CHECK(fabs(m.var / (2 / fan) - 1) < 0.02, "kaiming_normal relu %s %s: var %g want %g", modes[md], dn, m.var,
                  2 / fan);
            CHECK(td_init_kaiming_normal(ctx, &r, dt, b.data, 2, mat, 0.7, modes[md], "tanh") == TD_OK, "kaiming_normal");
            m = moments_of(buf_vals(&b), b.n);
            want = (25.0 / 9) / fan;
            CHECK(fabs(m.var / want - 1) < 0.02, "kaiming_normal tanh %s %s: var %g want %g", modes[md], dn, m.var, want);
        }
        /* leaky_relu with a = 0.2 on a stack: gain sqrt(2 / 1.04), fan_in 400. */
        int64_t st3[3] = {1, 400, 600};
        CHECK(td_init_kaiming_normal(ctx, &r, dt, b.data, 3, st3, 0.2, "fan_in", "leaky_relu") == TD_OK, "kaiming");
        m = moments_of(buf_vals(&b), b.n);
        want = 2 / 1.04 / 400;
        CHECK(fabs(m.var / want - 1) < 0.02, "kaiming_normal leaky_relu(0.2) %s: var %g want %g", dn, m.var, want);
        buf_free(&b);
    }
    td_ctx_free(ctx);
}

/* trunc_normal is the inverse CDF: element i of N(0, 1) cut to [lo, hi]
 * satisfies Phi(v) = Phi(lo) + u (Phi(hi) - Phi(lo)) for the stream's
 * uniform u at the same words (mirrored for a window above the mean). A
 * relative error of 1e-13 in p needs Phi^-1 good to about 1e-14 relative
 * even 6 std out, far beyond Acklam's 1.15e-9 alone: the refinement step
 * is doing its job. */
static void trunc_normal_is_inverse_cdf(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    enum { N = 2000 };
    static double v[N], u[N];
    const double windows[][2] = {{-2, 2}, {-0.5, 3}, {5, 6}, {-6, -5}, {-1e-3, 1e-3}, {-40, 0.5}};
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        double lo = windows[w][0], hi = windows[w][1];
        td_rng r = {77, 4}, r2 = {77, 4};
        td_init_trunc_normal(ctx, &r, TD_F64, v, 1, (const int64_t[1]){N}, 0, 1, lo, hi);
        td_rng_uniform_f64(ctx, &r2, u, N);
        bool flip = lo + hi > 0;
        double al = flip ? -hi : lo, be = flip ? -lo : hi, pa = Phi(al), dp = Phi(be) - pa, worst = 0;
        for (int i = 0; i < N; i++) {
            double p = pa + u[i] * dp, z = flip ? -v[i] : v[i];
            if (z > al && z < be) /* not a value clamped at an end */
                worst = fmax(worst, fabs(Phi(z) - p) / p);
        }
        CHECK(worst < 1e-13, "trunc_normal on [%g, %g]: Phi(v) matches p to %.3g relative", lo, hi, worst);
    }
    td_ctx_free(ctx);
}

static void constants_and_gains(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    int64_t shape[2] = {3, 5};
    float f[15];
    double d[15];
    int64_t i64[15];
    int32_t i32[15];
    uint16_t u16[15];
    uint8_t bl[15];
    CHECK(td_init_constant(ctx, TD_F32, f, 2, shape, 0.07) == TD_OK && f[0] == 0.07f && f[14] == 0.07f, "constant f32");
    CHECK(td_init_constant(ctx, TD_F64, d, 2, shape, -3.5) == TD_OK && d[0] == -3.5 && d[14] == -3.5, "constant f64");
    CHECK(td_init_zeros(ctx, TD_F32, f, 2, shape) == TD_OK && f[0] == 0 && f[14] == 0, "zeros");
    CHECK(td_init_ones(ctx, TD_F64, d, 2, shape) == TD_OK && d[0] == 1 && d[14] == 1, "ones");
    CHECK(td_init_constant(ctx, TD_I64, i64, 2, shape, -7) == TD_OK && i64[14] == -7, "constant i64");
    CHECK(td_init_constant(ctx, TD_I32, i32, 2, shape, 123456) == TD_OK && i32[14] == 123456, "constant i32");
    CHECK(td_init_ones(ctx, TD_U16, u16, 2, shape) == TD_OK && u16[14] == 1, "ones u16");
    CHECK(td_init_ones(ctx, TD_BOOL, bl, 2, shape) == TD_OK && bl[14] == 1, "ones bool");
    CHECK(td_init_constant(ctx, TD_F32, f, 0, NULL, 2) == TD_OK && f[0] == 2, "a scalar");
    CHECK(td_ctx_error(ctx) == NULL, "no error so far: %s", td_ctx_error(ctx));

    double g = 0;
    const struct { const char *nl; double param, want; } gains[] = {
        {"linear", 0, 1},     {"conv2d", 0, 1},         {"sigmoid", 0, 1},
        {"tanh", 0, 5.0 / 3}, {"relu", 0, sqrt(2.0)},     {"leaky_relu", 0.01, sqrt(2 / 1.0001)},
        {"selu", 0, 0.75},    {"leaky_relu", 0, sqrt(2.0)}, {"leaky_relu", -1, 1},
    };
    for (size_t i = 0; i < sizeof gains / sizeof gains[0]; i++)
        CHECK(td_calculate_gain(ctx, gains[i].nl, gains[i].param, &g) == TD_OK && fabs(g - gains[i].want) < 1e-15,
              "calculate_gain(%s, %g) = %.17g, want %.17g", gains[i].nl, gains[i].param, g, gains[i].want);
    int64_t fi = 0, fo = 0, s4[4] = {2, 3, 7, 11};
    CHECK(td_fans(ctx, 4, s4, &fi, &fo) == TD_OK && fi == 7 && fo == 11, "fans of [2 3 7 11] are 7 and 11");
    CHECK(td_fans(ctx, 1, s4, &fi, &fo) == TD_ERR_INPUT, "fans of one axis");
    td_ctx_clear_error(ctx);

    /* Zero elements: nothing written, offset only aligned. */
    int64_t empty[3] = {0, 4, 5};
    td_rng r = {1, 5};
    CHECK(td_init_kaiming_uniform(ctx, &r, TD_F32, NULL, 3, empty, 0, "fan_in", "relu") == TD_OK && r.offset == 8,
          "zero elements: ok, offset aligned to 8: %llu", (unsigned long long)r.offset);
    CHECK(td_init_xavier_normal(ctx, &r, TD_F64, NULL, 3, empty, 1) == TD_OK && r.offset == 8, "xavier, zero elements");
    td_ctx_free(ctx);
}

/* Every bad argument fails with TD_ERR_INPUT, a message containing `want`,
 * and leaves the buffer and the stream as they were. */
static void errors(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    float f[64];
    int64_t sh2[2] = {8, 8}, sh1[1] = {64}, neg[2] = {8, -8};
    td_rng r = {5, 17};
    struct {
        td_status st;
        const char *want;
    } cases[] = {
        {td_init_normal(ctx, &r, TD_F32, f, 2, sh2, 0, 0), "std must be positive"},
        {td_init_normal(ctx, &r, TD_F32, f, 2, sh2, 0, -1), "std must be positive"},
        {td_init_normal(ctx, &r, TD_F32, f, 2, sh2, 0, NAN), "std must be positive"},
        {td_init_normal(ctx, &r, TD_F32, f, 2, sh2, INFINITY, 1), "mean must be finite"},
        {td_init_trunc_normal(ctx, &r, TD_F32, f, 2, sh2, 0, -0.5, -2, 2), "std must be positive"},
        {td_init_trunc_normal(ctx, &r, TD_F32, f, 2, sh2, 0, 1, 2, 2), "needs a < b"},
        {td_init_trunc_normal(ctx, &r, TD_F32, f, 2, sh2, 0, 1, 3, -3), "needs a < b"},
        {td_init_uniform(ctx, &r, TD_F32, f, 2, sh2, 1, 1), "needs a < b"},
        {td_init_uniform(ctx, &r, TD_F32, f, 2, sh2, 1, NAN), "b must be finite"},
        {td_init_uniform(ctx, &r, TD_F64, f, 2, sh2, -DBL_MAX, DBL_MAX), "b - a overflows"},
        {td_init_uniform(ctx, &r, TD_F32, f, 2, sh2, 1e-46, 1e-45), "no f32 value"},
        {td_init_xavier_uniform(ctx, &r, TD_F32, f, 1, sh1, 1), "at least 2 axes"},
        {td_init_xavier_normal(ctx, &r, TD_F32, f, 1, sh1, 1), "at least 2 axes"},
        {td_init_xavier_uniform(ctx, &r, TD_F32, f, 2, sh2, 0), "gain must be positive"},
        {td_init_kaiming_uniform(ctx, &r, TD_F32, f, 1, sh1, 0, "fan_in", "relu"), "at least 2 axes"},
        {td_init_kaiming_normal(ctx, &r, TD_F32, f, 0, NULL, 0, "fan_in", "relu"), "at least 2 axes"},
        {td_init_kaiming_uniform(ctx, &r, TD_F32, f, 2, sh2, 0, "fan_avg", "relu"), "mode must be"},
        {td_init_kaiming_normal(ctx, &r, TD_F32, f, 2, sh2, 0, NULL, "relu"), "mode must be"},
        {td_init_kaiming_uniform(ctx, &r, TD_F32, f, 2, sh2, 0, "fan_out", "gelu"), "unknown nonlinearity \"gelu\""},
        {td_init_kaiming_normal(ctx, &r, TD_F32, f, 2, sh2, NAN, "fan_out", "relu"), "a must be finite"},
        {td_init_normal(ctx, &r, TD_F16, f, 2, sh2, 0, 1), "dtype f16 is not supported"},
        {td_init_uniform(ctx, &r, TD_I32, f, 2, sh2, 0, 1), "dtype i32 is not supported"},
        {td_init_normal(ctx, &r, TD_F32, NULL, 2, sh2, 0, 1), "buffer is NULL"},
        {td_init_normal(ctx, &r, TD_F32, f, 2, neg, 0, 1), "negative size"},
        {td_init_normal(ctx, &r, TD_F32, f, -1, sh2, 0, 1), "bad rank"},
        {td_init_normal(ctx, NULL, TD_F32, f, 2, sh2, 0, 1), "random stream is NULL"},
        {td_init_constant(ctx, TD_I32, f, 2, sh2, 0.5), "not a value of i32"},
        {td_init_constant(ctx, TD_BOOL, f, 2, sh2, 2), "not a value of bool"},
        {td_init_constant(ctx, TD_U16, f, 2, sh2, -1), "not a value of u16"},
        {td_init_constant(ctx, TD_F32, f, 2, sh2, 1e39), "not a value of f32"},
        {td_init_constant(ctx, TD_F64, f, 2, sh2, NAN), "not a value of f64"},
        {td_init_zeros(ctx, TD_F16, f, 2, sh2), "dtype f16 is not supported"},
        {td_calculate_gain(ctx, "swish", 0, &(double){0}), "unknown nonlinearity"},
        {td_calculate_gain(ctx, "leaky_relu", INFINITY, &(double){0}), "negative slope must be finite"},
    };
    /* The initialisers above run in an unspecified order, so which message
     * the context keeps is unspecified too: only statuses are checked here,
     * messages one case per context in error_messages(). */
    td_ctx_clear_error(ctx);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(cases[i].st == TD_ERR_INPUT, "error case %zu (%s) returns TD_ERR_INPUT", i, cases[i].want);
    CHECK(r.offset == 17, "failed initialisers leave the offset: %llu", (unsigned long long)r.offset);
    td_ctx_free(ctx);
}

/* Messages, one case per clean context, and buffers left untouched. */
static void error_messages(void)
{
    float f[64];
    int64_t sh2[2] = {8, 8}, sh1[1] = {64};
    for (int i = 0; i < 64; i++)
        f[i] = -99;
    const char *want[] = {"normal: std must be positive", "trunc_normal: needs a < b, but a = 2 and b = -2",
                          "xavier_uniform: needs at least 2 axes", "kaiming_normal: mode must be \"fan_in\" or",
                          "unknown nonlinearity \"gelu\"", "uniform: needs a < b"};
    for (int i = 0; i < 6; i++) {
        td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
        td_rng r = {5, 17};
        td_status st = TD_OK;
        switch (i) {
        case 0: st = td_init_normal(ctx, &r, TD_F32, f, 2, sh2, 0, 0); break;
        case 1: st = td_init_trunc_normal(ctx, &r, TD_F32, f, 2, sh2, 0, 1, 2, -2); break;
        case 2: st = td_init_xavier_uniform(ctx, &r, TD_F32, f, 1, sh1, 1); break;
        case 3: st = td_init_kaiming_normal(ctx, &r, TD_F32, f, 2, sh2, 0, "fan", "relu"); break;
        case 4: st = td_init_kaiming_uniform(ctx, &r, TD_F32, f, 2, sh2, 0, "fan_in", "gelu"); break;
        case 5: st = td_init_uniform(ctx, &r, TD_F64, f, 2, sh2, 0, -1); break;
        }
        const char *msg = td_ctx_error(ctx);
        CHECK(st == TD_ERR_INPUT && msg && strstr(msg, want[i]), "message %d: '%s' should contain '%s'", i,
              msg ? msg : "(none)", want[i]);
        CHECK(r.offset == 17, "message case %d leaves the offset", i);
        td_ctx_free(ctx);
    }
    int touched = 0;
    for (int i = 0; i < 64; i++)
        touched += f[i] != -99;
    CHECK(touched == 0, "failed initialisers leave the buffer: %d elements changed", touched);
}

void test_rng(void)
{
    kat();
    element_mapping();
    chunking();
    statistics();
    init_fills();
    trunc_normal_is_inverse_cdf();
    constants_and_gains();
    errors();
    error_messages();
}
