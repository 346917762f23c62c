/* test_fixture.c - the command-line fixture of test_fixture.h. */
#include "test_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "test.h"
#include "cuda/cuda_internal.h"
#include "cuda_narrow_floats.h"

double test_element(const void *buf, td_dtype t, int64_t i)
{
    switch (t) {
    case TD_F64: return ((const double *)buf)[i];
    case TD_F32: return ((const float *)buf)[i];
    case TD_F16: return td_f16_to_f32(((const uint16_t *)buf)[i]);
    case TD_BF16: return td_bf16_to_f32(((const uint16_t *)buf)[i]);
    case TD_F8E4M3: return td_f8e4m3_to_f32(((const uint8_t *)buf)[i]);
    case TD_F8E5M2: return td_f8e5m2_to_f32(((const uint8_t *)buf)[i]);
    case TD_I64: return (double)((const int64_t *)buf)[i];
    case TD_I32: return ((const int32_t *)buf)[i];
    case TD_U16: return ((const uint16_t *)buf)[i];
    default: return NAN;
    }
}

char *test_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int test_count_entries(const char *dir, const char *part)
{
    int n = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, part))
            n++;
    if (d)
        closedir(d);
    return n;
}

void test_remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *p = test_join(dir, e->d_name);
        if (p)
            remove(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

const char *arg(fixture *fx, const char *fmt, ...)
{
    char *buf = fx->args[fx->next_arg++ % FIXTURE_NARGS];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, FIXTURE_ARG_BYTES, fmt, ap);
    va_end(ap);
    return buf;
}

size_t slurp_text(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return n;
}

void run_cli_v(fixture *fx, va_list ap)
{
    char *argv[FIXTURE_NARGS + 2] = {(char *)fx->desc->name};
    int argc = 1;
    for (const char *a; argc <= FIXTURE_NARGS && (a = va_arg(ap, const char *));)
        argv[argc++] = (char *)a;
    char out_path[128], err_path[128];
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", fx->dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", fx->dir);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int out_fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    fx->status = td_main(fx->desc, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out), close(saved_err), close(out_fd), close(err_fd);
    slurp_text(out_path, fx->out, sizeof fx->out);
    slurp_text(err_path, fx->err, sizeof fx->err);
}

void run_cli(fixture *fx, ...)
{
    va_list ap;
    va_start(ap, fx);
    run_cli_v(fx, ap);
    va_end(ap);
}

void expect_ok(fixture *fx, int line, ...)
{
    va_list ap;
    va_start(ap, line);
    run_cli_v(fx, ap);
    va_end(ap);
    CHECK(fx->status == 0 && fx->err[0] == 0, "line %d: exit %d, stderr: %s", line, fx->status, fx->err);
}

void expect_fail(fixture *fx, int line, int code, bool whole, const char *msg, ...)
{
    va_list ap;
    va_start(ap, msg);
    run_cli_v(fx, ap);
    va_end(ap);
    char want[1024], prefix[128];
    snprintf(prefix, sizeof prefix, "%s: error: ", fx->desc->name);
    snprintf(want, sizeof want, "%s%s\n", prefix, msg);
    CHECK(fx->status == code, "line %d: exit %d, expected %d (stderr: %s)", line, fx->status, code, fx->err);
    if (whole)
        CHECK(strcmp(fx->err, want) == 0, "line %d: stderr\n  got:  %s  want: %s", line, fx->err, want);
    else
        CHECK(strncmp(fx->err, prefix, strlen(prefix)) == 0 && strstr(fx->err, msg) &&
                  strchr(fx->err, '\n') == fx->err + strlen(fx->err) - 1,
              "line %d: stderr '%s' is not one error line holding '%s'", line, fx->err, msg);
    CHECK(fx->out[0] == 0, "line %d: stdout is not empty: %s", line, fx->out);
}

void test_module_parts(td_ctx *ctx, const char *name, const char *source, int noptions, const char *const *options,
                       int nkernels)
{
    static const char marker[] = "extern \"C\" __global__ void ";
    char *parts[TD_CUDA_MAX_PROGRAMS], *names[TD_CUDA_MAX_PROGRAMS];
    int count = td_cuda_split_source(name, source, TD_CUDA_MAX_PROGRAMS, parts, names);
    CHECK(count > 4, "%s: the source splits into programs on 16 cores (%d)", name, count);
    int kernels = 0, misplaced = 0;
    const char *apart = strstr(source, TD_CUDA_APART); /* the kernels' definitions follow it */
    CHECK(apart != NULL, "%s: the source marks where its kernels begin", name);
    for (const char *at = apart ? strstr(apart, marker) : NULL; at; at = strstr(at + 1, marker)) {
        char kernel[64] = "", needle[80];
        if (sscanf(at + strlen(marker), "%63[A-Za-z0-9_]", kernel) != 1)
            continue;
        snprintf(needle, sizeof needle, " %s(", kernel);
        int homes = 0;
        for (int i = 0; i < count; i++)
            homes += strstr(parts[i], needle) != NULL;
        kernels++;
        if (homes != 1) {
            misplaced++;
            printf("    %s: kernel %s is defined in %d of the %d programs\n", name, kernel, homes, count);
        }
    }
    CHECK(kernels == nkernels && misplaced == 0, "%s: each of its %d kernels in exactly one program (%d kernels, %d not)",
          name, nkernels, kernels, misplaced);
    for (int i = 0; i < count; i++) {
        td_blob ptx = {0};
        td_status st = td_nvrtc_compile_options(ctx, names[i], parts[i], "compute_90",
                                                TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, noptions, options, &ptx);
        CHECK(st == TD_OK && ptx.data, "%s compiles alone: %s", names[i], td_ctx_error(ctx));
        td_ctx_clear_error(ctx);
        td_blob_free(&ptx);
    }
    td_cuda_free_parts(parts, names, count);
}

void test_expect_input_error(td_ctx *ctx, td_status st, const char *prefix, const char *label, const char *message)
{
    const char *e = td_ctx_error(ctx);
    CHECK(st == TD_ERR_INPUT && e && strncmp(e, prefix, strlen(prefix)) == 0 && strstr(e, message),
          "%s: status %d, '%s' (expected TD_ERR_INPUT with '%s')", label, (int)st, e ? e : "(none)", message);
    td_ctx_clear_error(ctx);
}
