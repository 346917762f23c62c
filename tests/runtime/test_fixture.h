/* test_fixture.h - running a compiled model's command line (td_main) from
 * the runtime's tests, with its stdout, stderr and exit status captured:
 * what test_model.c and test_train.c share (test_fixture.c). */
#ifndef TD_TEST_FIXTURE_H
#define TD_TEST_FIXTURE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

enum { FIXTURE_OUT_BYTES = 65536, FIXTURE_ERR_BYTES = 4096, FIXTURE_ARG_BYTES = 600, FIXTURE_NARGS = 32 };

typedef struct fixture {
    char dir[64];              /* a temporary directory for files and the captured output */
    const td_model_desc *desc; /* the model td_main runs */
    int status;                /* td_main's exit status */
    char out[FIXTURE_OUT_BYTES], err[FIXTURE_ERR_BYTES];
    char args[FIXTURE_NARGS][FIXTURE_ARG_BYTES]; /* formatted arguments, used round robin */
    int next_arg;
} fixture;

/* An argument formatted into the fixture (paths in the temp dir); valid
 * for the next FIXTURE_NARGS - 1 calls. */
const char *arg(fixture *fx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A file's first cap - 1 bytes into buf, NUL-terminated; the count read. */
size_t slurp_text(const char *path, char *buf, size_t cap);
/* Files for the tests: "dir/name" (malloc'd), the entries of dir whose
 * names contain `part`, and dir removed with the files in it. */
char *test_join(const char *dir, const char *name);
int test_count_entries(const char *dir, const char *part);
void test_remove_all(const char *dir);

/* Element i of buf, of dtype t (not bool), as a double: narrow floats
 * widened exactly, integers converted. */
double test_element(const void *buf, td_dtype t, int64_t i);

/* A call's refusal: st is TD_ERR_INPUT and ctx's error starts with prefix
 * and contains message; the error then cleared. label names the case. */
void test_expect_input_error(td_ctx *ctx, td_status st, const char *prefix, const char *label, const char *message);

/* A runtime module's source as td_cuda_module_load compiles it on a
 * machine of 16 cores (td_cuda_split_source): several programs, each
 * compiling alone for compute_90 without a warning, each of its nkernels
 * kernels defined in exactly one of them, where the module's lookup finds
 * it (" name("). */
void test_module_parts(td_ctx *ctx, const char *name, const char *source, int noptions, const char *const *options,
                       int nkernels);

/* td_main(fx->desc, "<name>", args..., NULL) with stdout and stderr captured. */
void run_cli_v(fixture *fx, va_list ap);
void run_cli(fixture *fx, ...);
#define CLI(fx, ...) run_cli(fx, __VA_ARGS__, (const char *)NULL)
/* Exit 0 and nothing on stderr. */
void expect_ok(fixture *fx, int line, ...);
#define EXPECT_OK(fx, ...) expect_ok(fx, __LINE__, __VA_ARGS__, (const char *)NULL)
/* Exit `code` with exactly `<model>: error: MSG` on stderr (or, when
 * `whole` is false, one error line that contains MSG) and nothing on
 * stdout. */
void expect_fail(fixture *fx, int line, int code, bool whole, const char *msg, ...);
#define EXPECT_FAIL(fx, code, msg, ...) expect_fail(fx, __LINE__, code, true, msg, __VA_ARGS__, (const char *)NULL)
#define EXPECT_FAIL_HAS(fx, code, msg, ...) expect_fail(fx, __LINE__, code, false, msg, __VA_ARGS__, (const char *)NULL)

#endif
