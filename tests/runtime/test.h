/* test.h - a minimal harness for the runtime's C unit tests.
 *
 * CHECK(cond, fmt, ...) counts one check; a failure prints the file, line
 * and message. test_main.c runs every suite and ends with `N passed, N
 * failed`. Tolerances are stated at each assertion. */
#ifndef TD_TEST_H
#define TD_TEST_H

#include <stdio.h>

extern int td_test_passed, td_test_failed;

#define CHECK(cond, ...)                                              \
    do {                                                              \
        if (cond) {                                                   \
            td_test_passed++;                                         \
        } else {                                                      \
            td_test_failed++;                                         \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);               \
            printf(__VA_ARGS__);                                      \
            printf("\n");                                             \
        }                                                             \
    } while (0)

/* Each suite is one function; test_main.c calls those that are linked. */
void test_ctx(void);
void test_dtype(void);
void test_rng(void);
void test_npy(void);
void test_gemm(void);

#endif
