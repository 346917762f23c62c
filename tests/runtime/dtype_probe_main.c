/* dtype_probe_main.c - runs runtime/dtype.c's conversions over a file of
 * f32 bit patterns, for tests/runtime/dtype_oracle.py to compare with
 * numpy and ml_dtypes. Not a test_*.c, so CMake leaves it out; the oracle
 * compiles it together with runtime/dtype.c.
 *
 *   probe narrow IN OUT   IN: n native-endian uint32 f32 patterns. OUT, in
 *                         four planes: n uint16 f16, n uint16 bf16, n uint8
 *                         f8e4m3, n uint8 f8e5m2.
 *   probe widen OUT       OUT: the f32 patterns (uint32) of all 65536 f16
 *                         codes, then all 65536 bf16, 256 f8e4m3, 256 f8e5m2.
 *
 * Exit status 0, or 1 with a message on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

static uint32_t bits_of(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static int fail(const char *what, const char *path)
{
    fprintf(stderr, "dtype_probe: %s %s\n", what, path);
    return 1;
}

static int narrow(const char *in_path, const char *out_path)
{
    FILE *in = fopen(in_path, "rb");
    if (!in)
        return fail("cannot open", in_path);
    long bytes = -1;
    if (fseek(in, 0, SEEK_END) == 0)
        bytes = ftell(in);
    if (bytes < 0 || bytes % 4 || fseek(in, 0, SEEK_SET) != 0) {
        fclose(in);
        return fail("cannot size, or not a whole number of f32s:", in_path);
    }
    size_t n = (size_t)bytes / 4;
    uint32_t *x = malloc(n ? n * 4 : 1);
    uint16_t *h = malloc(n ? n * 2 : 1), *b = malloc(n ? n * 2 : 1);
    uint8_t *e4 = malloc(n ? n : 1), *e5 = malloc(n ? n : 1);
    int rc = 0;
    if (!x || !h || !b || !e4 || !e5)
        rc = fail("out of memory for", in_path);
    else if (fread(x, 4, n, in) != n)
        rc = fail("cannot read", in_path);
    fclose(in);
    if (rc == 0) {
        for (size_t i = 0; i < n; i++) {
            float f;
            memcpy(&f, &x[i], sizeof f);
            h[i] = td_f32_to_f16(f);
            b[i] = td_f32_to_bf16(f);
            e4[i] = td_f32_to_f8e4m3(f);
            e5[i] = td_f32_to_f8e5m2(f);
        }
        FILE *out = fopen(out_path, "wb");
        if (!out)
            rc = fail("cannot create", out_path);
        else {
            bool ok = fwrite(h, 2, n, out) == n && fwrite(b, 2, n, out) == n && fwrite(e4, 1, n, out) == n &&
                      fwrite(e5, 1, n, out) == n;
            if (fclose(out) != 0 || !ok)
                rc = fail("cannot write", out_path);
        }
    }
    free(x);
    free(h);
    free(b);
    free(e4);
    free(e5);
    return rc;
}

static int widen(const char *out_path)
{
    FILE *out = fopen(out_path, "wb");
    if (!out)
        return fail("cannot create", out_path);
    bool ok = true;
    for (uint32_t c = 0; c < 65536 && ok; c++) {
        uint32_t u = bits_of(td_f16_to_f32((uint16_t)c));
        ok = fwrite(&u, 4, 1, out) == 1;
    }
    for (uint32_t c = 0; c < 65536 && ok; c++) {
        uint32_t u = bits_of(td_bf16_to_f32((uint16_t)c));
        ok = fwrite(&u, 4, 1, out) == 1;
    }
    for (uint32_t c = 0; c < 256 && ok; c++) {
        uint32_t u = bits_of(td_f8e4m3_to_f32((uint8_t)c));
        ok = fwrite(&u, 4, 1, out) == 1;
    }
    for (uint32_t c = 0; c < 256 && ok; c++) {
        uint32_t u = bits_of(td_f8e5m2_to_f32((uint8_t)c));
        ok = fwrite(&u, 4, 1, out) == 1;
    }
    if (fclose(out) != 0 || !ok)
        return fail("cannot write", out_path);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "narrow") == 0)
        return narrow(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "widen") == 0)
        return widen(argv[2]);
    fprintf(stderr, "usage: dtype_probe narrow IN OUT | widen OUT\n");
    return 1;
}
