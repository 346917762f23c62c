/* verdicts.h - the PASS and FAIL lines of tests/cuda's GPU checks
 * (staged_check.c, random_check.c): check() prints one line a check and
 * counts it; main prints "N passed, N failed" from the counts. */
#ifndef TDC_TESTS_CUDA_VERDICTS_H
#define TDC_TESTS_CUDA_VERDICTS_H

#include <stdio.h>

static int passed, failed;

static void check(int ok, const char *what, const char *detail)
{
    if (ok)
        printf("PASS %s\n", what), passed++;
    else
        printf("FAIL %s: %s\n", what, detail ? detail : "(no message)"), failed++;
}

#endif
