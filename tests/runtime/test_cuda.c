/* test_cuda.c - runtime/cuda/: loading the driver (or failing cleanly
 * without one), TD_DEVICE_AUTO, NVRTC (PTX for compute_90, a cubin for
 * sm_80, errors with the log and numbered source, warnings in strict mode)
 * and its disk cache; on a machine with a GPU, kernels compiled for it run
 * and agree with the CPU. Where NVRTC cannot be loaded the NVRTC checks
 * print "skipped: ..." and count nothing; so do the GPU checks without a
 * GPU (test.h has no skip count). */
#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../cuda/ptx_waits.h"
#include "ctx_internal.h"
#include "cuda/cuda_internal.h"
#include "cuda_narrow_floats.h"
#include "td.h"
#include "test.h"

static const char saxpy_src[] =
    "extern \"C\" __global__ void saxpy(int n, float a, const float *x, float *y)\n"
    "{\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n)\n"
    "        y[i] = __fadd_rn(__fmul_rn(a, x[i]), y[i]);\n"
    "}\n";

/* f16 <-> f32 on the GPU without cuda_fp16.h, bit for bit as td_f32_to_f16
 * (round to nearest even, overflow to infinity) and td_f16_to_f32 for
 * everything but NaN payloads (this gives the canonical quiet NaN). */
static const char half_src[] =
    "__device__ float f16_to_f32(unsigned short h)\n"
    "{\n"
    "    unsigned sign = (unsigned)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu;\n"
    "    if (e == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (m << 13));\n"
    "    if (e != 0) return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));\n"
    "    float f = (float)m * 5.9604644775390625e-8f; /* m * 2^-24, exact */\n"
    "    return sign ? -f : f;\n"
    "}\n"
    "__device__ unsigned short f32_to_f16(float x)\n"
    "{\n"
    "    unsigned f = __float_as_uint(x), sign = (f >> 16) & 0x8000u, o;\n"
    "    f &= 0x7fffffffu;\n"
    "    if (f >= 0x47800000u) { /* 2^16 and up: infinity, or NaN */\n"
    "        o = f > 0x7f800000u ? 0x7e00u : 0x7c00u;\n"
    "    } else if (f < (113u << 23)) { /* below 2^-14: let an f32 add round the subnormal */\n"
    "        o = __float_as_uint(__fadd_rn(__uint_as_float(f), 0.5f)) - (126u << 23);\n"
    "    } else {\n"
    "        unsigned odd = (f >> 13) & 1u;\n"
    "        f += 0xc8000fffu + odd; /* rebias (15 - 127) << 23, round to nearest even */\n"
    "        o = f >> 13;\n"
    "    }\n"
    "    return (unsigned short)(o | sign);\n"
    "}\n"
    "extern \"C\" __global__ void haxpy(int n, float a, const unsigned short *x, unsigned short *y)\n"
    "{\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n)\n"
    "        y[i] = f32_to_f16(__fadd_rn(__fmul_rn(a, f16_to_f32(x[i])), f16_to_f32(y[i])));\n"
    "}\n"
    "extern \"C\" __global__ void round_f16(int n, const float *x, unsigned short *y)\n"
    "{\n"
    "    int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
    "    if (i < n)\n"
    "        y[i] = f32_to_f16(x[i]);\n"
    "}\n";

static const char broken_src[] =
    "extern \"C\" __global__ void broken(float *y)\n"
    "{\n"
    "    y[0] = 1.0f   /* no semicolon */\n"
    "}\n";

static const char warning_src[] =
    "#warning this kernel warns\n"
    "extern \"C\" __global__ void warns(float *y) { y[0] = 1.0f; }\n";

static bool contains(const char *s, const char *part) { return s && strstr(s, part); }

/* The names of the cache entries in dir ending in `ext`; the first goes to first. */
static int count_entries(const char *dir, const char *ext, char *first, size_t size, int *temporaries)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name), elen = strlen(ext);
        if (strstr(e->d_name, ".tmp."))
            ++*temporaries;
        else if (len > elen && strcmp(e->d_name + len - elen, ext) == 0 && n++ == 0 && strlen(dir) + len + 2 <= size)
            strcat(strcat(strcpy(first, dir), "/"), e->d_name);
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

static void test_no_gpu_paths(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    CHECK(ctx && td_ctx_error(ctx) == NULL, "td_ctx_new(TD_DEVICE_CUDA) succeeds without touching the GPU");
    td_cuda_dependent_launches(NULL, false); /* nothing to set */
    td_cuda_dependent_launches(ctx, false);
    CHECK(ctx && ctx->cuda && !ctx->cuda->dependent_launches && td_ctx_error(ctx) == NULL,
          "td_cuda_dependent_launches sets the context's choice without touching the GPU");
    td_cuda_dependent_launches(ctx, true);
    CHECK(td_ctx_device(ctx) == TD_DEVICE_CUDA && td_ctx_note(ctx) == NULL, "cuda stays cuda");
    void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    char why[512];
    bool available = td_cuda_available(ctx, why, sizeof why);
    CHECK(td_ctx_error(ctx) == NULL, "td_cuda_available records no error: '%s'", td_ctx_error(ctx));
    if (!driver) {
        CHECK(!available && strncmp(why, "no CUDA driver (libcuda.so.1: cannot open shared object file", 60) == 0,
              "without libcuda.so.1: '%s'", why);
        td_cuda_build *build = (td_cuda_build *)1;
        const char *names[] = {"k"};
        CHECK(!td_cuda_device_ready(ctx) && strcmp(td_ctx_error(ctx), why) == 0, "td_cuda_device_ready says so: '%s'",
              td_ctx_error(ctx));
        td_ctx_clear_error(ctx);
        CHECK(td_cuda_module_compile(ctx, "m", "extern \"C\" __global__ void k() {}", 1, names, 0, NULL, &build) ==
                      TD_ERR_DEVICE &&
                  !build && strcmp(td_ctx_error(ctx), why) == 0,
              "and td_cuda_module_compile: '%s'", td_ctx_error(ctx));
        td_cuda_build_free(NULL);
        CHECK(td_cuda_init(ctx) == TD_ERR_DEVICE &&
                  strncmp(td_ctx_error(ctx), "no CUDA driver (libcuda.so.1: cannot open shared object file", 60) == 0,
              "td_cuda_init says there is no driver: '%s'", td_ctx_error(ctx));
    } else {
        dlclose(driver);
        if (!available)
            CHECK(td_cuda_init(ctx) == TD_ERR_DEVICE && td_ctx_error(ctx) && strcmp(td_ctx_error(ctx), why) == 0,
                  "td_cuda_init gives td_cuda_available's reason: '%s'", td_ctx_error(ctx));
        else
            CHECK(td_cuda_init(ctx) == TD_OK, "a GPU: td_cuda_init succeeds");
    }
    td_ctx_clear_error(ctx);
    CHECK(td_cuda_init(ctx) == (available ? TD_OK : TD_ERR_DEVICE), "the outcome is kept");
    td_ctx_free(ctx);

    ctx = td_ctx_new(TD_DEVICE_AUTO);
    td_device dev = td_ctx_device(ctx);
    if (available) {
        CHECK(dev == TD_DEVICE_CUDA && td_ctx_note(ctx) == NULL, "auto with a GPU is cuda");
    } else {
        CHECK(dev == TD_DEVICE_CPU, "auto without a GPU is the CPU");
        CHECK(contains(td_ctx_note(ctx), "device auto: running on the CPU: ") && contains(td_ctx_note(ctx), why),
              "the note says why: '%s'", td_ctx_note(ctx));
        CHECK(td_ctx_error(ctx) == NULL, "auto's fallback is no error");
    }
    CHECK(td_ctx_device(ctx) == dev, "resolved once");
    td_ctx_free(ctx);

    ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(td_ctx_device(ctx) == TD_DEVICE_CPU && td_ctx_note(ctx) == NULL, "cpu is cpu, no note");
    td_ctx_free(ctx);

    /* more shared memory than a launch may ask is refused before the GPU is needed */
    ctx = td_ctx_new(TD_DEVICE_CUDA);
    CHECK(td_cuda_launch_shared(ctx, NULL, 3, 1, 256, TD_CUDA_SHARED_MAX + 1, NULL, "model.td:4:2 (%7 reduce)") ==
                  TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "CUDA: 49153 bytes of shared memory a block for kernel 3 (model.td:4:2 (%7 "
                                        "reduce)), at most 49152") == 0,
          "shared memory over the limit: '%s'", td_ctx_error(ctx));
    td_ctx_free(ctx);
}

/* cuBLAS opens without a driver too (it finds the driver when a handle is
 * made); a machine without it gets a message naming the library. */
static void test_cublas_load(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    struct td_cuda *cuda = NULL;
    td_status st = td_cublas_load(ctx, &cuda);
    if (st == TD_OK)
        CHECK(cuda && cuda->cublas.cublasCreate && cuda->cublas.cublasGemmStridedBatchedEx, "cuBLAS's table is filled");
    else
        CHECK(strncmp(td_ctx_error(ctx), "cannot load cuBLAS (", 20) == 0, "cuBLAS missing: '%s'", td_ctx_error(ctx));
    td_ctx_free(ctx);
}

static void test_long_error(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char long_text[3000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = 0;
    td_fail(ctx, TD_ERR_INPUT, "long: %s!", long_text);
    CHECK(strlen(td_ctx_error(ctx)) == 3006 && td_ctx_error(ctx)[3005] == '!', "a long message is kept whole (%zu)",
          strlen(td_ctx_error(ctx)));
    td_fail(ctx, TD_ERR_IO, "second");
    CHECK(strncmp(td_ctx_error(ctx), "long: ", 6) == 0, "the first stays");
    td_ctx_clear_error(ctx);
    CHECK(td_ctx_error(ctx) == NULL, "cleared");
    td_fail(ctx, TD_ERR_IO, "short %d", 2);
    CHECK(strcmp(td_ctx_error(ctx), "short 2") == 0, "a short one after a long one");
    td_ctx_free(ctx);
}

static void test_compile_errors(td_ctx *ctx)
{
    td_blob out = {0};
    CHECK(td_nvrtc_compile(ctx, "broken", broken_src, "compute_90", &out) == TD_ERR_DEVICE && !out.data,
          "a syntax error fails");
    const char *e = td_ctx_error(ctx) ? td_ctx_error(ctx) : "(none)";
    CHECK(strncmp(e, "NVRTC: broken: compilation failed: ", 35) == 0, "the message names the kernel: '%.80s'", e);
    CHECK(contains(e, "broken.cu(4): error") || contains(e, "broken.cu(3): error"), "the log is there: '%s'", e);
    CHECK(contains(e, "    3 |     y[0] = 1.0f   /* no semicolon */\n") && contains(e, "    4 | }\n"),
          "and the source, numbered: '%s'", e);
    td_fail(ctx, TD_ERR_INPUT, "later");
    CHECK(strncmp(td_ctx_error(ctx), "NVRTC: broken", 13) == 0, "the first error stays");
    td_ctx_clear_error(ctx);

    /* a long source: the message outgrows the context's fixed buffer */
    size_t cap = 64 * 1024, used = 0;
    char *big = malloc(cap);
    for (int i = 0; i < 400; i++)
        used += (size_t)snprintf(big + used, cap - used, "__device__ float f%d(float x) { return x * %d.0f; }\n", i, i);
    snprintf(big + used, cap - used, "extern \"C\" __global__ void tail(float *y) { y[0] = f399(1.0f) }\n");
    CHECK(td_nvrtc_compile(ctx, "tail", big, "compute_90", &out) == TD_ERR_DEVICE, "a long failing source");
    e = td_ctx_error(ctx);
    CHECK(e && strlen(e) > used && contains(e, "  401 | extern \"C\" __global__ void tail"),
          "the whole numbered source is in the message (%zu bytes)", e ? strlen(e) : 0);
    free(big);
    td_ctx_clear_error(ctx);

    CHECK(td_nvrtc_compile(ctx, "warns", warning_src, "compute_90", &out) == TD_OK && out.data,
          "a warning passes by default: %s", td_ctx_error(ctx));
    td_blob_free(&out);
    CHECK(td_nvrtc_compile_flags(ctx, "warns", warning_src, "compute_90", TD_NVRTC_STRICT, &out) == TD_ERR_DEVICE &&
              !out.data,
          "and fails in strict mode");
    e = td_ctx_error(ctx);
    CHECK(contains(e, "NVRTC: warns: compilation failed: a warning, and warnings are errors in strict mode") &&
              contains(e, "#warning directive: this kernel warns") && contains(e, "    1 | #warning this kernel warns"),
          "with the log and source: '%s'", e);
    td_ctx_clear_error(ctx);

    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "sm_90x", &out) == TD_ERR_INPUT &&
              contains(td_ctx_error(ctx), "bad architecture 'sm_90x'"),
          "a malformed architecture: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "sm_10", &out) == TD_ERR_DEVICE &&
              contains(td_ctx_error(ctx), "NVRTC: saxpy: compilation failed: ") &&
              contains(td_ctx_error(ctx), "--gpu-architecture"),
          "an architecture NVRTC does not know: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_nvrtc_compile(ctx, "", saxpy_src, "sm_80", &out) == TD_ERR_INPUT, "a kernel needs a name");
    td_ctx_clear_error(ctx);
}

static void test_cache(const char *parent, const td_blob *first_ptx)
{
    char dir[1100], entry[1200] = "";
    snprintf(dir, sizeof dir, "%s/nested/cache", parent); /* made on first write */
    setenv("TDC_CACHE", dir, 1);
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_blob again = {0};
    int64_t hits, misses;
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &again) == TD_OK &&
              again.size == first_ptx->size && memcmp(again.data, first_ptx->data, again.size) == 0,
          "saxpy in a new cache directory: %s", td_ctx_error(ctx));
    td_blob_free(&again);
    td_ctx_free(ctx);
    int temporaries = 0;
    CHECK(count_entries(dir, ".ptx", entry, sizeof entry, &temporaries) == 1 && temporaries == 0,
          "the compile left one entry in %s and no temporary file", dir);

    ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &again) == TD_OK,
          "compiled again: %s", td_ctx_error(ctx));
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 1 && misses == 0, "a fresh context finds it in the cache (hits %lld, misses %lld)", (long long)hits,
          (long long)misses);
    CHECK(again.size == first_ptx->size && memcmp(again.data, first_ptx->data, again.size) == 0,
          "the cached PTX is NVRTC's");
    td_blob_free(&again);

    /* corrupt entries: a flipped payload byte, then a truncated file */
    struct stat st;
    CHECK(stat(entry, &st) == 0 && (size_t)st.st_size == first_ptx->size + 32, "entry = 32-byte header + payload");
    FILE *f = fopen(entry, "r+b");
    fseek(f, 40, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 40, SEEK_SET);
    fputc(c ^ 1, f);
    fclose(f);
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &again) == TD_OK &&
              again.size == first_ptx->size && memcmp(again.data, first_ptx->data, again.size) == 0,
          "a corrupt entry is ignored");
    td_blob_free(&again);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 1 && misses == 1, "and counted a miss (hits %lld, misses %lld)", (long long)hits, (long long)misses);
    CHECK(truncate(entry, 20) == 0, "truncate");
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &again) == TD_OK &&
              again.size == first_ptx->size && memcmp(again.data, first_ptx->data, again.size) == 0,
          "a short entry is ignored");
    td_blob_free(&again);
    CHECK(stat(entry, &st) == 0 && (size_t)st.st_size == first_ptx->size + 32, "and rewritten whole");
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &again) == TD_OK,
          "once more");
    td_blob_free(&again);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 2 && misses == 2, "the rewritten entry is a hit (hits %lld, misses %lld)", (long long)hits,
          (long long)misses);

    /* without the strict flag the key differs: a strict compile must not
     * take an entry that a lenient one wrote with warnings */
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_OK, "lenient");
    td_blob_free(&again);
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_NO_CACHE, &again) == TD_OK, "no cache");
    td_blob_free(&again);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 2 && misses == 4, "strictness is in the key; NO_CACHE always compiles (hits %lld, misses %lld)",
          (long long)hits, (long long)misses);

    /* TDC_NVRTC_OPTIONS: its options join the key (a miss, then a hit), and
     * the same compile without it is the old entry again */
    setenv("TDC_NVRTC_OPTIONS", "  -lineinfo\t ", 1);
    for (int k = 0; k < 2; k++) {
        CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_OK,
              "with TDC_NVRTC_OPTIONS=-lineinfo: %s", td_ctx_error(ctx));
        CHECK(again.size > 0 && strstr((const char *)again.data, ".loc") != NULL, "-lineinfo reached NVRTC (.loc lines)");
        td_blob_free(&again);
    }
    unsetenv("TDC_NVRTC_OPTIONS");
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_OK, "without it again");
    td_blob_free(&again);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 4 && misses == 5, "TDC_NVRTC_OPTIONS is in the key (hits %lld, misses %lld)", (long long)hits,
          (long long)misses);
    /* its errors: an option NVRTC does not know, too many, too long */
    setenv("TDC_NVRTC_OPTIONS", "-lineinfo --no-such-option", 1);
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_ERR_INPUT &&
              contains(td_ctx_error(ctx), "NVRTC: saxpy: an option is not valid (TDC_NVRTC_OPTIONS is "
                                          "'-lineinfo --no-such-option'): ") &&
              contains(td_ctx_error(ctx), "--no-such-option") && !contains(td_ctx_error(ctx), "saxpy.cu:"),
          "an unknown option: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    setenv("TDC_NVRTC_OPTIONS", "-lineinfo -lineinfo -lineinfo -lineinfo -lineinfo -lineinfo -lineinfo -lineinfo -lineinfo", 1);
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "NVRTC: saxpy: TDC_NVRTC_OPTIONS has more than 8 options") == 0,
          "nine options: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    char long_options[600];
    memset(long_options, 'x', sizeof long_options - 1);
    long_options[sizeof long_options - 1] = 0;
    setenv("TDC_NVRTC_OPTIONS", long_options, 1);
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "compute_90", &again) == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "NVRTC: saxpy: TDC_NVRTC_OPTIONS is 599 bytes; at most 511 can be given") == 0,
          "599 bytes of options: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    unsetenv("TDC_NVRTC_OPTIONS");
    td_ctx_free(ctx);

    /* TDC_CACHE=off: nothing written */
    char off_dir[1200];
    snprintf(off_dir, sizeof off_dir, "%s/off", dir);
    setenv("XDG_CACHE_HOME", off_dir, 1);
    setenv("TDC_CACHE", "off", 1);
    ctx = td_ctx_new(TD_DEVICE_CPU);
    CHECK(td_nvrtc_compile(ctx, "saxpy", saxpy_src, "sm_80", &again) == TD_OK, "compiles with the cache off");
    td_blob_free(&again);
    CHECK(stat(off_dir, &st) != 0, "and writes nothing");
    td_ctx_free(ctx);
}

/* ---- on a GPU: run what NVRTC made ---- */

static td_status gpu_load(td_ctx *ctx, const char *name, const char *source, const char *fn, CUmodule *mod,
                          CUfunction *f)
{
    td_blob image = {0};
    td_status st = td_nvrtc_compile_flags(ctx, name, source, NULL, TD_NVRTC_STRICT, &image);
    if (st)
        return st;
    struct td_cuda *cuda = ctx->cuda;
    st = td_cu_check(ctx, cuda, cuda->cu.cuModuleLoadData(mod, image.data), "cuModuleLoadData");
    td_blob_free(&image);
    if (!st)
        st = td_cu_check(ctx, cuda, cuda->cu.cuModuleGetFunction(f, *mod, fn), "cuModuleGetFunction");
    return st;
}

static void test_gpu(td_ctx *ctx)
{
    struct td_cuda *cuda = ctx->cuda;
    enum { N = 1 << 16 };
    static float x[N], y[N], out[N];
    static uint16_t hx[N], hy[N], hout[N];
    for (int i = 0; i < N; i++) {
        x[i] = (float)i * 0.25f - 3000.0f;
        y[i] = (float)(N - i) * 0.5f;
        uint32_t bits = td_rng_word(7, (uint64_t)i);
        memcpy(&out[i], &bits, sizeof bits); /* every float pattern but NaN, for rounding */
        if (out[i] != out[i])
            out[i] = (float)i;
    }
    for (int i = 0; i < 64; i++) /* ties, overflow, subnormals, infinities */
        out[i] = (float[]){65504.0f, 65520.0f, 65519.99f, 1e9f, -INFINITY, INFINITY, 5.960464477539063e-08f,
                           2.98023223876953125e-08f, 8.940696716308594e-08f, 6.103515625e-05f, -0.0f,
                           1.0009765625f + 0.00048828125f, 1.0f + 0.00048828125f * 3}[i % 13];
    for (int i = 0; i < N; i++) {
        hx[i] = td_f32_to_f16(x[i] * 0.01f);
        hy[i] = td_f32_to_f16(y[i] * 0.001f);
    }
    CUmodule m1 = NULL, m2 = NULL;
    CUfunction saxpy, haxpy, round_f16;
    CUdeviceptr dx = 0, dy = 0, dh = 0;
    td_status st = gpu_load(ctx, "saxpy", saxpy_src, "saxpy", &m1, &saxpy);
    if (!st)
        st = gpu_load(ctx, "half", half_src, "haxpy", &m2, &haxpy);
    if (!st)
        st = td_cu_check(ctx, cuda, cuda->cu.cuModuleGetFunction(&round_f16, m2, "round_f16"), "cuModuleGetFunction");
    CHECK(st == TD_OK, "compiled for the device (%s, sm_%d%d) and loaded: %s", cuda->device_name, cuda->cc_major,
          cuda->cc_minor, td_ctx_error(ctx));
    if (st)
        goto done;
    int n = N;
    float a = 1.5f;
    unsigned blocks = (N + 255) / 256;
#define CU(call, args) (st = st ? st : td_cu_check(ctx, cuda, cuda->cu.call args, #call))
    CU(cuMemAlloc, (&dx, sizeof x));
    CU(cuMemAlloc, (&dy, sizeof y));
    CU(cuMemAlloc, (&dh, sizeof hout));
    CU(cuMemcpyHtoD, (dx, x, sizeof x));
    CU(cuMemcpyHtoD, (dy, y, sizeof y));
    void *saxpy_args[] = {&n, &a, &dx, &dy};
    CU(cuLaunchKernel, (saxpy, blocks, 1, 1, 256, 1, 1, 0, NULL, saxpy_args, NULL));
    CU(cuCtxSynchronize, ());
    static float gy[N];
    CU(cuMemcpyDtoH, (gy, dy, sizeof gy));
    int bad = 0;
    for (int i = 0; i < N; i++) {
        float p = a * x[i], want = p + y[i]; /* both rounded, as __fmul_rn and __fadd_rn */
        bad += gy[i] != want;
    }
    CHECK(st == TD_OK && bad == 0, "saxpy on the GPU equals the CPU exactly (%d differ): %s", bad, td_ctx_error(ctx));

    CU(cuMemcpyHtoD, (dx, hx, sizeof hx));
    CU(cuMemcpyHtoD, (dh, hy, sizeof hy));
    void *haxpy_args[] = {&n, &a, &dx, &dh};
    CU(cuLaunchKernel, (haxpy, blocks, 1, 1, 256, 1, 1, 0, NULL, haxpy_args, NULL));
    CU(cuMemcpyDtoH, (hout, dh, sizeof hout));
    bad = 0;
    for (int i = 0; i < N; i++) {
        float p = a * td_f16_to_f32(hx[i]), s = p + td_f16_to_f32(hy[i]);
        bad += hout[i] != td_f32_to_f16(s);
    }
    CHECK(st == TD_OK && bad == 0, "haxpy in f16 equals the CPU bit for bit (%d differ)", bad);

    CU(cuMemcpyHtoD, (dx, out, sizeof out));
    void *round_args[] = {&n, &dx, &dh};
    CU(cuLaunchKernel, (round_f16, blocks, 1, 1, 256, 1, 1, 0, NULL, round_args, NULL));
    CU(cuMemcpyDtoH, (hout, dh, sizeof hout));
    bad = 0;
    for (int i = 0; i < N; i++)
        bad += hout[i] != td_f32_to_f16(out[i]);
    CHECK(st == TD_OK && bad == 0, "f32 -> f16 rounding of %d patterns equals td_f32_to_f16 (%d differ)", N, bad);
#undef CU

    struct td_cuda *loaded = NULL;
    cublasHandle_t blas = NULL;
    int version = 0;
    CHECK(td_cublas_load(ctx, &loaded) == TD_OK && loaded == cuda, "cuBLAS loads: %s", td_ctx_error(ctx));
    if (loaded) {
        st = td_cublas_check(ctx, cuda, cuda->cublas.cublasCreate(&blas), "cublasCreate");
        if (!st)
            st = td_cublas_check(ctx, cuda, cuda->cublas.cublasGetVersion(blas, &version), "cublasGetVersion");
        CHECK(st == TD_OK && version >= 11000, "a cuBLAS handle, version %d: %s", version, td_ctx_error(ctx));
        if (blas)
            cuda->cublas.cublasDestroy(blas);
    }
done:
    if (dx)
        cuda->cu.cuMemFree(dx);
    if (dy)
        cuda->cu.cuMemFree(dy);
    if (dh)
        cuda->cu.cuMemFree(dh);
    if (m1)
        cuda->cu.cuModuleUnload(m1);
    if (m2)
        cuda->cu.cuModuleUnload(m2);
}

/* td_cuda_split_source: the common part, then shares of the kernels cut
 * where a kernel begins; the shares together are the kernels, in order. */
static void test_split(void)
{
    const char *head = "typedef int T;\n" TD_CUDA_APART;
    char source[4096];
    int len = snprintf(source, sizeof source, "%s", head);
    for (int k = 0; k < 7; k++)
        len += snprintf(source + len, sizeof source - (size_t)len,
                        "/* kernel %d */\nextern \"C\" __global__ void k%d(T *x) { x[%d] = %d; }\n\n", k, k, k, k);
    char *sources[TD_CUDA_MAX_PROGRAMS], *names[TD_CUDA_MAX_PROGRAMS];
    static const int wants[] = {1, 2, 3, 7, 64};
    for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
        int count = td_cuda_split_source("model", source, wants[w], sources, names);
        int expect = wants[w] == 64 ? 7 : wants[w];
        CHECK(count >= 1 && count <= expect, "split %d ways: %d programs", wants[w], count);
        if (count < 1)
            continue;
        char joined[4096] = "";
        bool heads = true;
        int kernels = 0;
        for (int i = 0; i < count; i++) {
            heads &= count == 1 || strncmp(sources[i], head, strlen(head)) == 0;
            strcat(joined, count == 1 ? sources[i] : sources[i] + strlen(head));
            for (const char *p = sources[i]; (p = strstr(p, "__global__")); p++)
                kernels++;
        }
        CHECK(heads && kernels == 7 && strcmp(count == 1 ? joined : source + strlen(head), count == 1 ? source : joined) == 0,
              "split %d ways: each program the common part and a share, the shares the kernels in order", wants[w]);
        CHECK(count == 1 ? strcmp(names[0], "model") == 0 : strcmp(names[0], count == 2 ? "model part 1 of 2" : names[0]) == 0,
              "split %d ways: names '%s'", wants[w], names[0]);
        td_cuda_free_parts(sources, names, count);
    }
    int count = td_cuda_split_source("model", "extern \"C\" __global__ void a() {}\n", 4, sources, names);
    CHECK(count == 1 && strcmp(sources[0], "extern \"C\" __global__ void a() {}\n") == 0,
          "without the line the source is one program");
    td_cuda_free_parts(sources, names, count);
}

/* td_copy_wide: the bytes of memcpy at every size, on one thread or several. */
static void test_copy_wide(void)
{
    static const size_t sizes[] = {0, 1, 63, (4 << 20) - 1, 3 * (4 << 20) + 17, (37 << 20) + 5};
    size_t most = sizes[sizeof sizes / sizeof sizes[0] - 1];
    unsigned char *src = malloc(most), *dst = malloc(most + 64);
    if (!src || !dst) {
        free(src), free(dst);
        CHECK(false, "td_copy_wide: out of memory for the test");
        return;
    }
    for (size_t i = 0; i < most; i++)
        src[i] = (unsigned char)(i * 2654435761u >> 13);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memset(dst, 0xA5, most + 64);
        td_copy_wide(dst + 1, src, sizes[k]); /* unaligned, and the bytes around untouched */
        bool same = memcmp(dst + 1, src, sizes[k]) == 0 && dst[0] == 0xA5 && dst[sizes[k] + 1] == 0xA5;
        CHECK(same, "td_copy_wide of %zu bytes: memcpy's bytes, nothing around them", sizes[k]);
    }
    free(src);
    free(dst);
}

/* td_nvrtc_compile_many: three programs on two threads, each its image,
 * the cache counting each; one that fails names itself in the error. */
static void test_compile_many(td_ctx *ctx)
{
    const char *names[3] = {"many part 1 of 3", "many part 2 of 3", "many part 3 of 3"};
    const char *sources[3] = {"extern \"C\" __global__ void m1(float *x) { x[0] = 1; }\n",
                              "extern \"C\" __global__ void m2(float *x) { x[0] = 2; }\n",
                              "extern \"C\" __global__ void m3(float *x) { x[0] = 3; }\n"};
    td_blob out[3];
    int64_t hits0, misses0, hits, misses;
    td_nvrtc_cache_counts(ctx, &hits0, &misses0);
    td_status st = td_nvrtc_compile_many(ctx, 3, names, sources, "compute_90", 2, NULL, NULL, out);
    CHECK(st == TD_OK && contains(out[0].data, ".entry m1(") && contains(out[1].data, ".entry m2(") &&
              contains(out[2].data, ".entry m3("),
          "three programs on two threads, each its own PTX: %s", td_ctx_error(ctx));
    for (int i = 0; st == TD_OK && i < 3; i++)
        td_blob_free(&out[i]);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(misses - misses0 == 3 && hits == hits0, "each program compiled (misses %lld)", (long long)(misses - misses0));
    st = td_nvrtc_compile_many(ctx, 3, names, sources, "compute_90", 3, NULL, NULL, out);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && hits - hits0 == 3, "then each from the cache (hits %lld)", (long long)(hits - hits0));
    for (int i = 0; st == TD_OK && i < 3; i++)
        td_blob_free(&out[i]);
    sources[1] = "extern \"C\" __global__ void m2(float *x) { x[0] = undeclared; }\n";
    td_ctx_clear_error(ctx);
    st = td_nvrtc_compile_many(ctx, 3, names, sources, "compute_90", 2, NULL, NULL, out);
    CHECK(st != TD_OK && contains(td_ctx_error(ctx), "many part 2 of 3") && contains(td_ctx_error(ctx), "undeclared") &&
              out[0].data == NULL && out[2].data == NULL,
          "a failing program: its name and NVRTC's log, no images kept: '%.200s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
}

/* The check that every kernel waits for the one before it (ptx_waits.h),
 * on PTX written here, then on NVRTC's: a kernel that starts with
 * TD_GRID_WAIT() passes, one that loads first or never waits fails. */
static void test_ptx_waits(td_ctx *ctx)
{
    char why[256] = "";
    static const char good[] = ".visible .entry k(\n\t.param .u64 k_param_0\n)\n{\n\tld.param.u64 %rd1, [k_param_0];\n"
                               "\tld.shared.u32 %r1, [s];\n\tgriddepcontrol.wait;\n\tld.global.f32 %f1, [%rd1];\n}\n";
    CHECK(ptx_entries_wait(good, why, sizeof why), "params and shared memory before the wait: %s", why);
    static const char early[] = ".visible .entry k(\n)\n{\n\t@%p1 ld.global.nc.f32 %f1, [%rd1];\n"
                                "\tgriddepcontrol.wait;\n}\n";
    CHECK(!ptx_entries_wait(early, why, sizeof why) && contains(why, "k: `ld.global.nc.f32` before"),
          "a guarded global load before the wait: %s", why);
    static const char generic[] = ".visible .entry a(\n)\n{\n\tgriddepcontrol.wait;\n}\n.visible .entry b(\n)\n{\n"
                                  "\tst.u32 [%rd1], %r1;\n\tgriddepcontrol.wait;\n}\n";
    CHECK(!ptx_entries_wait(generic, why, sizeof why) && contains(why, "b: `st.u32` before"),
          "the second kernel's generic store before its wait: %s", why);
    static const char none[] = ".visible .entry c(\n)\n{\n\tret;\n}\n";
    CHECK(!ptx_entries_wait(none, why, sizeof why) && contains(why, "c: no griddepcontrol.wait"), "no wait: %s", why);
    CHECK(ptx_entries_wait("// no kernels\n", why, sizeof why), "no kernel, nothing to wait for");

    static const char waits_src[] = TD_CUDA_GRID_WAIT "extern \"C\" __global__ void bump(float *x)\n"
                                                      "{\n    TD_GRID_WAIT();\n    x[threadIdx.x] += 1.0f;\n}\n";
    td_blob ptx = {0};
    CHECK(td_nvrtc_compile_flags(ctx, "waits", waits_src, "compute_90", TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, &ptx) ==
                  TD_OK &&
              ptx_entries_wait(ptx.data, why, sizeof why),
          "NVRTC's PTX of a kernel that starts with TD_GRID_WAIT() passes: %s %s", td_ctx_error(ctx), why);
    td_blob_free(&ptx);
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, &ptx) ==
                  TD_OK &&
              !ptx_entries_wait(ptx.data, why, sizeof why) && contains(why, "saxpy:"),
          "and one without it fails: %s", why);
    td_blob_free(&ptx);
    td_ctx_clear_error(ctx);
}

/* A lazy module (td_cuda_module_load_lazy): nothing is compiled when it is
 * made; each kernel is built at its first launch, alone; a kernel that is
 * not in the source fails its launch, naming it. Without a GPU only the
 * refusal of a source without TD_CUDA_APART is checked. */
static const char lazy_src[] = "typedef long long i64;\n" TD_CUDA_APART
                               "extern \"C\" __global__ void lazy_one(i64 *x) { x[0] = 1; }\n"
                               "extern \"C\" __global__ void lazy_two(i64 *x)\n{\n    x[1] = 2;\n}\n";

/* x zeroed, then host's kernel 0 and lazy_two (lazy's kernel 1) launched on
 * it, and its two words read back into got. */
static td_status run_host_and_lazy_two(td_ctx *ctx, const td_cuda_module *host, const char *host_kernel,
                                       const td_cuda_module *lazy, td_dptr x, int64_t got[2])
{
    void *args[] = {&x};
    td_status st = td_cuda_zero(ctx, x, 2 * sizeof(int64_t));
    if (st == TD_OK)
        st = td_cuda_launch(ctx, host, 0, 1, 1, args, host_kernel);
    if (st == TD_OK)
        st = td_cuda_launch(ctx, lazy, 1, 1, 1, args, "lazy_two");
    if (st == TD_OK)
        st = td_cuda_download(ctx, got, x, 2 * sizeof(int64_t));
    return st;
}

static void test_lazy_module(td_ctx *ctx, bool gpu)
{
    td_cuda_module *mod = NULL;
    const char *names[3] = {"lazy_one", "lazy_two", "lazy_three"};
    CHECK(td_cuda_module_load_lazy(ctx, "lazy", "extern \"C\" __global__ void k() {}", 0, NULL, 1, names, &mod) ==
                  TD_ERR_INPUT &&
              !mod && strcmp(td_ctx_error(ctx), "CUDA: module lazy: a lazy module needs TD_CUDA_APART and kernels") == 0,
          "a lazy module without TD_CUDA_APART: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    if (!gpu)
        return;
    int64_t hits0, misses0, hits, misses;
    td_nvrtc_cache_counts(ctx, &hits0, &misses0);
    td_status st = td_cuda_module_load_lazy(ctx, "lazy", lazy_src, 0, NULL, 3, names, &mod);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && mod && hits == hits0 && misses == misses0, "made without compiling: %s", td_ctx_error(ctx));
    td_dptr x = 0;
    int64_t got[2] = {0, 0};
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, sizeof got, "lazy's test", &x);
    if (st == TD_OK)
        st = td_cuda_zero(ctx, x, sizeof got);
    void *args[] = {&x};
    if (st == TD_OK)
        st = td_cuda_launch(ctx, mod, 1, 1, 1, args, "lazy_two");
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && hits + misses == hits0 + misses0 + 1, "lazy_two's first launch built it alone: %s",
          td_ctx_error(ctx));
    if (st == TD_OK)
        st = td_cuda_launch(ctx, mod, 0, 1, 1, args, "lazy_one");
    if (st == TD_OK)
        st = td_cuda_launch(ctx, mod, 1, 1, 1, args, "lazy_two");
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && hits + misses == hits0 + misses0 + 2, "then lazy_one alone, and lazy_two not again: %s",
          td_ctx_error(ctx));
    if (st == TD_OK)
        st = td_cuda_download(ctx, got, x, sizeof got);
    CHECK(st == TD_OK && got[0] == 1 && got[1] == 2, "both ran: %lld %lld (%s)", (long long)got[0], (long long)got[1],
          td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    CHECK(td_cuda_launch(ctx, mod, 2, 1, 1, args, "lazy_three") == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "CUDA: module lazy has no kernel lazy_three") == 0,
          "a kernel the source lacks fails its launch: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    td_cuda_module_free(ctx, mod);

    /* td_cuda_module_compile and _install: a module's program and the lazy
     * kernels named built in one pool; a kernel named twice built once, one
     * the source lacks left for its launch to report */
    static const char host_src[] = "extern \"C\" __global__ void host_k(long long *x) { x[0] = 5; }\n";
    const char *host_names[1] = {"host_k"};
    td_cuda_module *host = NULL;
    mod = NULL;
    st = td_cuda_module_load_lazy(ctx, "lazy", lazy_src, 0, NULL, 3, names, &mod);
    td_cuda_lazy_ref refs[4] = {{mod, 1}, {mod, 1}, {mod, 2}, {NULL, 0}};
    td_nvrtc_cache_counts(ctx, &hits0, &misses0);
    td_cuda_build *build = NULL;
    if (st == TD_OK)
        st = td_cuda_module_compile(ctx, "host", host_src, 1, host_names, 4, refs, &build);
    if (st == TD_OK)
        st = td_cuda_module_install(ctx, build, &host);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && hits + misses == hits0 + misses0 + 2, "the module and lazy_two built together (%lld): %s",
          (long long)(hits + misses - hits0 - misses0), td_ctx_error(ctx));
    got[0] = got[1] = 0;
    if (st == TD_OK)
        st = run_host_and_lazy_two(ctx, host, "host_k", mod, x, got);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && hits + misses == hits0 + misses0 + 2 && got[0] == 5 && got[1] == 2,
          "lazy_two then launched without a build: %lld %lld (%s)", (long long)got[0], (long long)got[1],
          td_ctx_error(ctx));
    CHECK(td_cuda_launch(ctx, mod, 2, 1, 1, args, "lazy_three") == TD_ERR_INPUT &&
              strcmp(td_ctx_error(ctx), "CUDA: module lazy has no kernel lazy_three") == 0,
          "and lazy_three still fails at its launch: '%s'", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    td_cuda_module_free(ctx, host);
    td_cuda_free(ctx, x);
    td_cuda_module_free(ctx, mod);
}

/* td_cuda_module_compile needs the device alone: on a fresh context it
 * builds while the driver still makes the device's context (td_cuda_init
 * not yet done); td_cuda_module_install waits for it and loads the
 * programs, and the lazy kernels named, which then launch without a build;
 * a build not installed is freed. */
static void test_compile_ahead(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    static const char src[] = "extern \"C\" __global__ void ahead_k(long long *x) { x[0] = 7; }\n";
    const char *names[1] = {"ahead_k"}, *lazy_names[3] = {"lazy_one", "lazy_two", "lazy_three"};
    td_cuda_build *build = NULL, *unused = NULL;
    td_cuda_module *mod = NULL, *lazy = NULL;
    td_status st = td_cuda_module_load_lazy(ctx, "lazy", lazy_src, 0, NULL, 3, lazy_names, &lazy);
    td_cuda_lazy_ref refs[1] = {{lazy, 1}};
    if (st == TD_OK)
        st = td_cuda_module_compile(ctx, "ahead", src, 1, names, 1, refs, &build);
    CHECK(st == TD_OK && build && ctx->cuda && ctx->cuda->device_tried && !ctx->cuda->init_tried,
          "compiled with the device alone: %s", td_ctx_error(ctx));
    if (st == TD_OK)
        st = td_cuda_module_compile(ctx, "ahead", src, 1, names, 0, NULL, &unused);
    td_cuda_build_free(unused);
    CHECK(st == TD_OK && !ctx->cuda->init_tried, "a second build, freed: %s", td_ctx_error(ctx));
    if (st == TD_OK)
        st = td_cuda_module_install(ctx, build, &mod);
    CHECK(st == TD_OK && mod && ctx->cuda->init_tried && ctx->cuda->init_status == TD_OK,
          "installed, with the context: %s", td_ctx_error(ctx));
    td_dptr x = 0;
    int64_t got[2] = {0, 0}, hits0, misses0, hits, misses;
    if (st == TD_OK)
        st = td_cuda_alloc(ctx, sizeof got, "compile_ahead's test", &x);
    td_nvrtc_cache_counts(ctx, &hits0, &misses0);
    if (st == TD_OK)
        st = run_host_and_lazy_two(ctx, mod, "ahead_k", lazy, x, got);
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(st == TD_OK && got[0] == 7 && got[1] == 2 && hits == hits0 && misses == misses0,
          "ahead_k then lazy_two (prefetched) ran without a build: %lld %lld (%s)", (long long)got[0], (long long)got[1],
          td_ctx_error(ctx));
    td_cuda_free(ctx, x);
    td_cuda_module_free(ctx, mod);
    td_cuda_module_free(ctx, lazy);
    td_ctx_free(ctx);

    /* a context freed with its device up and its context never asked for */
    ctx = td_ctx_new(TD_DEVICE_CUDA);
    CHECK(td_cuda_device_ready(ctx) && !ctx->cuda->init_tried, "the device alone: %s", td_ctx_error(ctx));
    td_ctx_free(ctx);
}

void test_cuda(void)
{
    test_no_gpu_paths();
    test_long_error();
    test_split();
    test_copy_wide();
    test_cublas_load();

    char *old_cache = getenv("TDC_CACHE") ? strdup(getenv("TDC_CACHE")) : NULL;
    char *old_xdg = getenv("XDG_CACHE_HOME") ? strdup(getenv("XDG_CACHE_HOME")) : NULL;
    char dir[] = "/tmp/tdc-test-cuda-XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(false, "mkdtemp");
        return;
    }
    setenv("TDC_CACHE", dir, 1);

    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    td_blob ptx = {0}, cubin = {0};
    td_status st = td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "compute_90", TD_NVRTC_STRICT, &ptx);
    if (st && contains(td_ctx_error(ctx), "cannot load NVRTC")) {
        printf("skipped: NVRTC tests: %s\n", td_ctx_error(ctx));
        td_ctx_free(ctx);
        goto restore;
    }
    CHECK(st == TD_OK && ptx.size > 0 && ((char *)ptx.data)[ptx.size - 1] == 0, "saxpy -> PTX for compute_90: %s",
          td_ctx_error(ctx));
    CHECK(st == TD_OK && contains(ptx.data, ".target sm_90") && contains(ptx.data, ".visible .entry saxpy("),
          "the PTX targets sm_90 and has the kernel");
    int64_t hits, misses;
    td_nvrtc_cache_counts(ctx, &hits, &misses);
    CHECK(hits == 0 && misses == 1, "a first compile misses (hits %lld, misses %lld)", (long long)hits,
          (long long)misses);
    CHECK(td_nvrtc_compile_flags(ctx, "saxpy", saxpy_src, "sm_80", TD_NVRTC_STRICT, &cubin) == TD_OK &&
              cubin.size > 4 && memcmp(cubin.data, "\177ELF", 4) == 0,
          "saxpy -> cubin for sm_80 (an ELF file): %s", td_ctx_error(ctx));
    td_blob_free(&cubin);
    CHECK(cubin.data == NULL && cubin.size == 0, "td_blob_free empties");
    td_blob half = {0};
    CHECK(td_nvrtc_compile_flags(ctx, "half", half_src, "compute_90", TD_NVRTC_STRICT, &half) == TD_OK &&
              contains(half.data, ".entry haxpy(") && contains(half.data, ".entry round_f16("),
          "the f16 kernels compile for compute_90: %s", td_ctx_error(ctx));
    td_blob_free(&half);
    CHECK(td_nvrtc_compile_flags(ctx, "half", half_src, "sm_80", TD_NVRTC_STRICT, &half) == TD_OK,
          "and for sm_80: %s", td_ctx_error(ctx));
    td_blob_free(&half);
    td_ctx_clear_error(ctx);
    test_compile_errors(ctx);
    test_compile_many(ctx);
    test_ptx_waits(ctx);
    test_lazy_module(ctx, false);
    td_ctx_free(ctx);
    test_cache(dir, &ptx);
    td_blob_free(&ptx);
    if (old_cache)
        setenv("TDC_CACHE", old_cache, 1);
    else
        unsetenv("TDC_CACHE");

    ctx = td_ctx_new(TD_DEVICE_CUDA);
    char why[512];
    if (td_cuda_available(ctx, why, sizeof why)) {
        setenv("TDC_CACHE", dir, 1);
        test_gpu(ctx);
        test_lazy_module(ctx, true);
        test_compile_ahead();
    } else {
        printf("skipped: GPU tests: %s\n", why);
    }
    td_ctx_free(ctx);

restore:
    if (old_cache)
        setenv("TDC_CACHE", old_cache, 1);
    else
        unsetenv("TDC_CACHE");
    if (old_xdg)
        setenv("XDG_CACHE_HOME", old_xdg, 1);
    else
        unsetenv("XDG_CACHE_HOME");
    free(old_cache);
    free(old_xdg);
    const char *made[] = {"/nested/cache/off", "/nested/cache", "/nested", ""};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        char path[1100];
        snprintf(path, sizeof path, "%s%s", dir, made[i]);
        remove_dir(path);
    }
}
