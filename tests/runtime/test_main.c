/* test_main.c - runs the runtime's C unit tests (see test.h).
 *
 * Suites are weak references, so each arrives with the file that implements
 * it; the tally counts only checks that ran, and a run with none fails. */
#include <string.h>

#include "test.h"

int td_test_passed, td_test_failed;

extern void test_ctx(void) __attribute__((weak));
extern void test_dtype(void) __attribute__((weak));
extern void test_rng(void) __attribute__((weak));
extern void test_npy(void) __attribute__((weak));
extern void test_gemm(void) __attribute__((weak));
extern void test_model(void) __attribute__((weak));
extern void test_safetensors(void) __attribute__((weak));
extern void test_optim(void) __attribute__((weak));
extern void test_data(void) __attribute__((weak));
extern void test_train(void) __attribute__((weak));
extern void test_train_cli(void) __attribute__((weak));
extern void test_cuda(void) __attribute__((weak));
extern void test_cuda_gemm(void) __attribute__((weak));
extern void test_cuda_optim(void) __attribute__((weak));
extern void test_cuda_epilogue(void) __attribute__((weak));

int main(int argc, char **argv)
{
    struct { const char *name; void (*run)(void); } suites[] = {
        {"ctx", test_ctx}, {"dtype", test_dtype}, {"rng", test_rng}, {"npy", test_npy}, {"gemm", test_gemm},
        {"model", test_model},
        {"safetensors", test_safetensors},
        {"optim", test_optim},
        {"data", test_data},
        {"train", test_train},
        {"train_cli", test_train_cli},
        {"cuda", test_cuda},
        {"cuda_gemm", test_cuda_gemm},
        {"cuda_optim", test_cuda_optim},
        {"cuda_epilogue", test_cuda_epilogue},
    };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        if (!suites[i].run)
            continue;
        if (argc > 1 && strcmp(argv[1], suites[i].name) != 0)
            continue;
        int before = td_test_failed;
        suites[i].run();
        printf("suite %s: %s\n", suites[i].name, td_test_failed == before ? "ok" : "FAILED");
    }
    printf("%d passed, %d failed\n", td_test_passed, td_test_failed);
    return td_test_failed || td_test_passed == 0;
}
