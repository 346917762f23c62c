/* test_cuda_optim.c - runtime/cuda/optim.c: the optimizers, the sum of
 * squares and the scaling on the GPU, against runtime/optim.c on the CPU.
 *
 * Without a GPU: the kernels' source (optim_kernels.h behind the device
 * prelude) compiles through NVRTC, strictly, for compute_90 and sm_80 with
 * the module's options, its layout assertions hold for this build's
 * td_optim_hparams, the PTX has every kernel and no approximate or
 * flush-to-zero arithmetic, and --fmad=false changes the code (NVRTC would
 * otherwise fuse what the CPU rounds twice); and every argument check
 * comes before the GPU is asked for. Where NVRTC cannot be loaded the
 * compile checks print "skipped: ..." and count nothing; without a GPU the
 * rest print "skipped: GPU optimizer tests: <why>".
 * With a GPU: every optimizer configuration of tests/runtime/optim_reference.py
 * in f32 and f64, on random params and gradients over several steps (a
 * learning rate and a weight decay per step, a few zero gradients), gives
 * the CPU's param and state bit for bit after each step (memcmp), on a
 * small param and on one larger than a grid; the sum of squares equals a
 * compensated double sum on the CPU (rtol 1e-12: the GPU sums in another
 * order, and atomics add the blocks' sums in any order); the scaling
 * equals the CPU loop bit for bit; a list of tensors (td_cuda_slices, as
 * a train step updates its params in one launch) of different lengths and
 * weight decays gives each tensor's CPU update bit for bit, and its norm
 * and scale the CPU's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cuda/ptx_waits.h"
#include "cuda/cuda_internal.h"
#include "td.h"
#include "test.h"
#include "test_fixture.h"

static bool contains(const char *s, const char *part) { return s && strstr(s, part); }

static size_t count_of(const char *s, const char *part)
{
    size_t n = 0;
    for (const char *p = s; p && (p = strstr(p, part)); p += strlen(part))
        n++;
    return n;
}

/* The call fails with `status` and a message holding `want`; clears it. */
static void expect_error(td_ctx *ctx, td_status st, td_status status, const char *want, const char *what)
{
    const char *msg = td_ctx_error(ctx);
    CHECK(st == status && contains(msg, want), "%s: status %d, message '%s' should contain '%s'", what, (int)st,
          msg ? msg : "(none)", want);
    td_ctx_clear_error(ctx);
}

/* ---- without a GPU ---- */

static const char *const kernels[] = {
    "td_optim_sgd_f32",     "td_optim_sgd_f64",     "td_optim_adagrad_f32", "td_optim_adagrad_f64",
    "td_optim_rmsprop_f32", "td_optim_rmsprop_f64", "td_optim_adam_f32",    "td_optim_adam_f64",
    "td_sum_squares_f32",   "td_sum_squares_f64",   "td_scale_f32",         "td_scale_f64",
    "td_step_check",
};

static void source_compiles(void)
{
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
    char *source = td_cuda_optim_source(ctx);
    CHECK(source && contains(source, "OPTIM_FN void OPTIM_NAME(adam)") &&
              count_of(source, "OPTIM_NAME(lerp)(OPTIM_T self") == 2 && contains(source, "#define OPTIM_FMA __fma_rn"),
          "the source holds optim_kernels.h twice, behind the device's macros");
    CHECK(contains(source, "static_assert(sizeof(td_optim_hparams::centered) == 1") &&
              contains(source, "static_assert(sizeof(td_optim_hparams) == "),
          "the source asserts td_optim_hparams's layout");
    td_blob ptx = {0}, plain = {0}, cubin = {0};
    td_status st = td_nvrtc_compile_options(ctx, "td_optim", source, "compute_90", TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE,
                                            TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options, &ptx);
    if (st && contains(td_ctx_error(ctx), "cannot load NVRTC")) {
        printf("skipped: GPU optimizer source tests: %s\n", td_ctx_error(ctx));
        free(source);
        td_ctx_free(ctx);
        return;
    }
    CHECK(st == TD_OK, "the optimizer kernels compile for compute_90, strictly: %s", td_ctx_error(ctx));
    const char *text = ptx.data;
    int missing = 0;
    for (size_t i = 0; i < sizeof kernels / sizeof kernels[0]; i++) {
        char entry[80];
        snprintf(entry, sizeof entry, ".entry %s(", kernels[i]);
        missing += !contains(text, entry);
    }
    CHECK(st == TD_OK && missing == 0, "the PTX has all %zu kernels (%d missing)",
          sizeof kernels / sizeof kernels[0], missing);
    char no_wait[256] = "";
    CHECK(st == TD_OK && ptx_entries_wait(text, no_wait, sizeof no_wait),
          "each kernel waits for the one before it before touching memory (a dependent launch): %s", no_wait);
    CHECK(!contains(text, ".entry td_small_step_"), "the small step is not in the optimizer module");
    /* 13 kernels: 1.2 s of NVRTC as one program, a quarter of that in the largest of 13 */
    test_module_parts(ctx, "td_optim", source, TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options, 13);
    td_blob copy_ptx = {0};
    st = td_nvrtc_compile_options(ctx, "td_narrow_copy", td_cuda_narrow_copy_source(), "compute_90",
                                  TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options,
                                  &copy_ptx);
    CHECK(st == TD_OK && contains(copy_ptx.data, ".entry td_narrow_copy(") &&
              ptx_entries_wait(copy_ptx.data, no_wait, sizeof no_wait),
          "the narrow copy's module compiles strictly, its kernel waiting: %s %s", td_ctx_error(ctx), no_wait);
    td_blob_free(&copy_ptx);
    char *small = td_cuda_small_step_source(ctx);
    td_blob small_ptx = {0};
    st = small ? td_nvrtc_compile_options(ctx, "td_small_step", small, "compute_90", TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE,
                                          TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options, &small_ptx)
               : TD_ERR_OOM;
    CHECK(st == TD_OK && contains(small_ptx.data, ".entry td_small_step_f32(") &&
              contains(small_ptx.data, ".entry td_small_step_f64(") && !contains(small_ptx.data, ".entry td_optim_adam_f32(") &&
              !contains(small_ptx.data, ".entry td_step_check(") &&
              ptx_entries_wait(small_ptx.data, no_wait, sizeof no_wait),
          "the small step's module compiles strictly, with its two kernels alone, each waiting: %s %s", td_ctx_error(ctx),
          no_wait);
    td_blob_free(&small_ptx);
    free(small);
    st = TD_OK;
    CHECK(st == TD_OK && !contains(text, ".approx") && !contains(text, ".ftz") && contains(text, "div.rn.f32") &&
              contains(text, "sqrt.rn.f32") && contains(text, "div.rn.f64") && contains(text, "sqrt.rn.f64"),
          "IEEE division and square roots, no approximations, no flush to zero");
    td_ctx_clear_error(ctx);
    /* the same source with NVRTC's default contraction fuses more multiply-adds */
    st = td_nvrtc_compile_options(ctx, "td_optim", source, "compute_90", TD_NVRTC_NO_CACHE, 0, NULL, &plain);
    CHECK(st == TD_OK && count_of(plain.data, "fma.rn") > count_of(text, "fma.rn"),
          "--fmad=false is applied: %zu fma with it, %zu without (more expected)", count_of(text, "fma.rn"),
          count_of(plain.data, "fma.rn"));
    CHECK(td_nvrtc_compile_options(ctx, "td_optim", source, "sm_80", TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE,
                                   TD_CUDA_OPTIM_NOPTIONS, td_cuda_optim_options, &cubin) == TD_OK &&
              cubin.size > 4 && memcmp(cubin.data, "\177ELF", 4) == 0,
          "and for sm_80 (a cubin), strictly: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);

    /* a layout the host does not have fails the compile */
    static const char size_assert[] = "static_assert(sizeof(td_optim_hparams) == ";
    char *broken = malloc(strlen(source) + 1);
    const char *at = strstr(source, size_assert);
    if (broken && at) {
        strcpy(broken, source);
        size_t pos = (size_t)(at - source) + strlen(size_assert);
        broken[pos] = broken[pos] == '9' ? '8' : '9';
        td_blob none = {0};
        st = td_nvrtc_compile_options(ctx, "td_optim", broken, "compute_90", TD_NVRTC_NO_CACHE, TD_CUDA_OPTIM_NOPTIONS,
                                      td_cuda_optim_options, &none);
        CHECK(st == TD_ERR_DEVICE && contains(td_ctx_error(ctx), "td_optim_hparams: not the host's layout"),
              "a size the host does not have fails the compile, with the struct named");
        td_blob_free(&none);
        td_ctx_clear_error(ctx);
    }
    CHECK(broken && at, "the size of td_optim_hparams is asserted");
    free(broken);

    /* the options variant's own checks */
    const char *bad_options[] = {"--fmad=false", ""};
    td_blob none = {0};
    expect_error(ctx, td_nvrtc_compile_options(ctx, "t", source, "compute_90", 0, 2, bad_options, &none),
                 TD_ERR_INPUT, "NVRTC: t: option 1 is empty", "an empty option");
    expect_error(ctx, td_nvrtc_compile_options(ctx, "t", source, "compute_90", 0, 1, NULL, &none), TD_ERR_INPUT,
                 "1 options, but the array of options is NULL", "a NULL array of options");
    expect_error(ctx, td_nvrtc_compile_options(ctx, "t", source, "compute_90", 0, TD_NVRTC_MAX_OPTIONS + 1,
                                               bad_options, &none),
                 TD_ERR_INPUT, "17 options: between 0 and 16 can be given", "too many options");
    td_blob_free(&ptx);
    td_blob_free(&plain);
    td_blob_free(&cubin);
    free(source);
    td_ctx_free(ctx);
}

/* Every check comes before the GPU is asked for: these fail the same with
 * a GPU and without one (the addresses are never touched). */
static void argument_errors(td_ctx *ctx)
{
    const td_dptr p = 0x1000, g = 0x2000, s = 0x3000, sum = 0x4000;
    const char *fn = "td_cuda_optim_update: ";
    char want[160];
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAM);
    snprintf(want, sizeof want, "%sthe hyper-parameters are NULL", fn);
    expect_error(ctx, td_cuda_optim_update(ctx, NULL, TD_F32, 4, p, g, s, 1, 0.1, 0), TD_ERR_INPUT, want, "NULL h");
    h.kind = (td_optim_kind)9;
    snprintf(want, sizeof want, "%sunknown optimizer kind 9", fn);
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, s, 1, 0.1, 0), TD_ERR_INPUT, want, "bad kind");
    h = td_optim_defaults(TD_OPTIM_ADAM);
    snprintf(want, sizeof want, "%sadam: dtype bf16 is not supported (f32 or f64)", fn);
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_BF16, 4, p, g, s, 1, 0.1, 0), TD_ERR_INPUT, want, "bf16");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 0, p, g, s, 1, 0.1, 0), TD_ERR_INPUT,
                 "adam: the param has no elements (n = 0)", "n 0");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F64, SIZE_MAX / 8, p, g, s, 1, 0.1, 0), TD_ERR_INPUT,
                 "2 state arrays of", "state bytes overflow");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, 0, g, s, 1, 0.1, 0), TD_ERR_INPUT,
                 "adam: the param is NULL", "param 0");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, 0, s, 1, 0.1, 0), TD_ERR_INPUT,
                 "adam: the gradient is NULL", "grad 0");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, 0, 1, 0.1, 0), TD_ERR_INPUT,
                 "adam: the state is NULL but needs 2 arrays of n elements", "state 0");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, s, 0, 0.1, 0), TD_ERR_INPUT,
                 "adam: invalid step 0: must be >= 1", "step 0");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, s, 1, NAN, 0), TD_ERR_INPUT,
                 "adam: invalid learning rate (lr) nan", "lr NaN");
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, s, 1, 0.1, -1), TD_ERR_INPUT,
                 "adam: invalid weight_decay -1: must be >= 0", "weight_decay < 0");
    h.beta1 = 1;
    snprintf(want, sizeof want, "%sadam: invalid beta1 1: must be in [0, 1)", fn);
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, s, 1, 0.1, 0), TD_ERR_INPUT, want, "beta1 1");
    h = td_optim_defaults(TD_OPTIM_SGD);
    h.nesterov = true;
    expect_error(ctx, td_cuda_optim_update(ctx, &h, TD_F32, 4, p, g, 0, 1, 0.1, 0), TD_ERR_INPUT,
                 "sgd: nesterov momentum needs momentum > 0", "nesterov without momentum");
    td_cuda_slices many = {.count = TD_CUDA_SLICES + 1};
    snprintf(want, sizeof want, "%s%d tensors in one launch (at most %d)", fn, TD_CUDA_SLICES + 1, TD_CUDA_SLICES);
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_F32, &many, 1, 0.1, 0), TD_ERR_INPUT, want,
                 "a list longer than a launch takes");
    expect_error(ctx, td_cuda_sum_squares_slices(ctx, TD_F32, &many, sum, true, NULL), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: 33 tensors in one launch (at most 32)", "a sum of squares of a list too long");
    expect_error(ctx, td_cuda_scale_slices(ctx, TD_F64, &many, 0.5, 0), TD_ERR_INPUT,
                 "td_cuda_scale: 33 tensors in one launch (at most 32)", "a scale of a list too long");
    many.count = 1;
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_BF16, &many, 1, 0.1, 0), TD_ERR_INPUT,
                 "td_cuda_optim_update: dtype bf16 is not supported (f32 or f64)", "a list of bf16");
    expect_error(ctx, td_cuda_sum_squares_slices(ctx, TD_F16, &many, sum, true, NULL), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: dtype f16 is not supported (f32 or f64)", "a list's sum of squares in f16");
    expect_error(ctx, td_cuda_scale_slices(ctx, TD_I64, &many, 0.5, 0), TD_ERR_INPUT,
                 "td_cuda_scale: dtype i64 is not supported (f32 or f64)", "a list's scale in i64");
    /* a param's narrow copy: bf16 (1) or f16 (2) of an f32 param, with an address */
    h = td_optim_defaults(TD_OPTIM_ADAM);
    td_cuda_slices copies = {.count = 2};
    copies.at[1].copy_kind = 3, copies.at[1].copy = 0x1000;
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_F32, &copies, 1, 0.1, 0), TD_ERR_INPUT,
                 "td_cuda_optim_update: tensor 1: a narrow copy of kind 3 at 0x1000", "a copy of an unknown kind");
    copies.at[1].copy_kind = 1, copies.at[1].copy = 0;
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_F32, &copies, 1, 0.1, 0), TD_ERR_INPUT,
                 "tensor 1: a narrow copy of kind 1 at 0x0", "a copy without an address");
    copies.at[1].copy_kind = 0, copies.at[1].copy = 0x1000;
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_F32, &copies, 1, 0.1, 0), TD_ERR_INPUT,
                 "tensor 1: a narrow copy of kind 0 at 0x1000", "an address without a copy");
    copies.at[1].copy_kind = 2;
    expect_error(ctx, td_cuda_optim_update_slices(ctx, &h, TD_F64, &copies, 1, 0.1, 0), TD_ERR_INPUT,
                 "tensor 1: a narrow copy of kind 2 at 0x1000 (kinds: 0 none, 1 bf16, 2 f16, of an f32 tensor",
                 "a copy of an f64 param");
    expect_error(ctx, td_cuda_narrow_copy(ctx, 0x1000, 0x2000, TD_F32, 4), TD_ERR_INPUT,
                 "td_cuda_narrow_copy: dtype f32 (bf16 or f16)", "a narrow copy in f32");

    td_cuda_check check;
    expect_error(ctx, td_cuda_check_of(ctx, TD_I32, p, 0, 0, 0, sum, NULL, &check), TD_ERR_INPUT,
                 "td_cuda_check_of: a loss of dtype i32 (f32, f64, bf16 or f16)", "the checks of an i32 loss");
    expect_error(ctx, td_cuda_check_of(ctx, TD_F32, p, 0, 0, 0, 0, NULL, &check), TD_ERR_INPUT,
                 "td_cuda_check_of: the gate is NULL (device address 0)", "the checks without a gate");
    if (td_cuda_check_of(ctx, TD_F32, p, 0, 0, 0, sum, NULL, &check) == TD_OK) {
        td_cuda_slices small = {.count = 2};
        small.at[0] = td_cuda_slice_of(&h, TD_F32, 10000, p, g, s, 0);
        small.at[1] = td_cuda_slice_of(&h, TD_F32, 6385, p, g, s, 0);
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_F32, &small, sum, &check), TD_ERR_INPUT,
                     "td_cuda_small_step: 16385 elements (at most 16384, in one block)", "a small step too large");
        small.at[1].n = UINT64_MAX;
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_F32, &small, sum, &check), TD_ERR_INPUT,
                     "td_cuda_small_step: 18446744073709551615 elements", "a small step's elements overflowing");
        small.count = 1;
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_F32, &small, 0, &check), TD_ERR_INPUT,
                     "td_cuda_small_step: the sum is NULL", "a small step without a sum");
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_F32, &small, sum, NULL), TD_ERR_INPUT,
                     "td_cuda_small_step: the gate is NULL", "a small step without checks");
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_BF16, &small, sum, &check), TD_ERR_INPUT,
                     "td_cuda_small_step: dtype bf16 is not supported (f32 or f64)", "a small step in bf16");
        many.count = TD_CUDA_SLICES + 1;
        expect_error(ctx, td_cuda_small_step(ctx, &h, TD_F32, &many, sum, &check), TD_ERR_INPUT,
                     "td_cuda_small_step: 33 tensors in one launch (at most 32)", "a small step of a list too long");
    } else {
        CHECK(false, "td_cuda_check_of: %s", td_ctx_error(ctx));
    }

    expect_error(ctx, td_cuda_add_sum_squares(ctx, TD_I32, p, 4, sum), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: dtype i32 is not supported (f32 or f64)", "sum of squares i32");
    expect_error(ctx, td_cuda_add_sum_squares(ctx, TD_F32, 0, 4, sum), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: x is NULL (device address 0) but has 4 elements", "sum of squares x 0");
    expect_error(ctx, td_cuda_add_sum_squares(ctx, TD_F64, p, 4, 0), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: the sum is NULL (device address 0)", "sum of squares sum 0");
    expect_error(ctx, td_cuda_add_sum_squares(ctx, TD_F32, p, SIZE_MAX / 2, sum), TD_ERR_INPUT,
                 "td_cuda_add_sum_squares: 9223372036854775807 f32 elements overflow the address space",
                 "sum of squares overflow");
    expect_error(ctx, td_cuda_scale(ctx, TD_F16, p, 4, 0.5), TD_ERR_INPUT,
                 "td_cuda_scale: dtype f16 is not supported (f32 or f64)", "scale f16");
    expect_error(ctx, td_cuda_scale(ctx, TD_F64, 0, 3, 0.5), TD_ERR_INPUT,
                 "td_cuda_scale: x is NULL (device address 0) but has 3 elements", "scale x 0");
    expect_error(ctx, td_cuda_scale(ctx, TD_F64, p, SIZE_MAX / 4, 0.5), TD_ERR_INPUT, "elements overflow",
                 "scale overflow");
    CHECK(td_cuda_scale(ctx, TD_F32, 0, 0, 0.5) == TD_OK && td_cuda_add_sum_squares(ctx, TD_F64, 0, 0, sum) == TD_OK &&
              td_ctx_error(ctx) == NULL,
          "no elements: nothing to do, and the GPU is not asked for");
}

/* Without a GPU the checks pass and the GPU's absence is the error. */
static void no_gpu_errors(td_ctx *ctx)
{
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_SGD);
    td_status st = td_cuda_optim_update(ctx, &h, TD_F32, 4, 0x1000, 0x2000, 0, 1, 0.1, 0);
    CHECK(st == TD_ERR_DEVICE && td_ctx_error(ctx), "valid arguments without a GPU: TD_ERR_DEVICE (%s)",
          td_ctx_error(ctx) ? td_ctx_error(ctx) : "no message");
    td_ctx_clear_error(ctx);
    CHECK(td_cuda_scale(ctx, TD_F32, 0x1000, 4, 0.5) == TD_ERR_DEVICE &&
              td_cuda_add_sum_squares(ctx, TD_F64, 0x1000, 4, 0x2000) == TD_ERR_DEVICE,
          "and for the sum of squares and the scaling");
    td_ctx_clear_error(ctx);
}

/* ---- with a GPU ---- */

/* tests/runtime/optim_reference.py's configurations. A field left 0 keeps
 * td_optim_defaults' value (none of them sets eps, alpha or a beta to 0). */
typedef struct config {
    const char *name;
    td_optim_kind kind;
    double lr, weight_decay, momentum, dampening;
    bool nesterov, amsgrad, centered, schedule;
    double lr_decay, initial_accumulator_value, eps, alpha, beta1, beta2;
} config;

static const config configs[] = {
    {.name = "sgd_plain", .kind = TD_OPTIM_SGD, .lr = 0.1},
    {.name = "sgd_momentum", .kind = TD_OPTIM_SGD, .lr = 0.05, .momentum = 0.9},
    {.name = "sgd_nesterov", .kind = TD_OPTIM_SGD, .lr = 0.05, .momentum = 0.9, .nesterov = true},
    {.name = "sgd_dampening", .kind = TD_OPTIM_SGD, .lr = 0.05, .momentum = 0.8, .dampening = 0.3},
    {.name = "sgd_weight_decay", .kind = TD_OPTIM_SGD, .lr = 0.1, .weight_decay = 0.1},
    {.name = "sgd_momentum_weight_decay", .kind = TD_OPTIM_SGD, .lr = 0.05, .weight_decay = 0.05, .momentum = 0.9,
     .nesterov = true},
    {.name = "adagrad_plain", .kind = TD_OPTIM_ADAGRAD, .lr = 0.1},
    {.name = "adagrad_all", .kind = TD_OPTIM_ADAGRAD, .lr = 0.1, .weight_decay = 0.05, .lr_decay = 0.05,
     .initial_accumulator_value = 0.2, .eps = 1e-6},
    {.name = "rmsprop_plain", .kind = TD_OPTIM_RMSPROP, .lr = 0.01},
    {.name = "rmsprop_momentum", .kind = TD_OPTIM_RMSPROP, .lr = 0.01, .momentum = 0.9},
    {.name = "rmsprop_centered", .kind = TD_OPTIM_RMSPROP, .lr = 0.01, .centered = true},
    {.name = "rmsprop_weight_decay", .kind = TD_OPTIM_RMSPROP, .lr = 0.01, .weight_decay = 0.1},
    {.name = "rmsprop_all", .kind = TD_OPTIM_RMSPROP, .lr = 0.01, .weight_decay = 0.02, .momentum = 0.5,
     .centered = true, .eps = 1e-6, .alpha = 0.9},
    {.name = "rmsprop_low_alpha", .kind = TD_OPTIM_RMSPROP, .lr = 0.01, .centered = true, .alpha = 0.4},
    {.name = "adam_plain", .kind = TD_OPTIM_ADAM, .lr = 0.05},
    {.name = "adam_amsgrad", .kind = TD_OPTIM_ADAM, .lr = 0.05, .amsgrad = true},
    {.name = "adam_weight_decay", .kind = TD_OPTIM_ADAM, .lr = 0.05, .weight_decay = 0.1},
    {.name = "adam_all", .kind = TD_OPTIM_ADAM, .lr = 0.02, .weight_decay = 0.05, .amsgrad = true, .eps = 1e-6,
     .beta1 = 0.8, .beta2 = 0.99},
    {.name = "adam_low_beta1", .kind = TD_OPTIM_ADAM, .lr = 0.05, .beta1 = 0.3, .beta2 = 0.9},
    {.name = "adamw_plain", .kind = TD_OPTIM_ADAMW, .lr = 0.05, .weight_decay = 1e-2},
    {.name = "adamw_amsgrad", .kind = TD_OPTIM_ADAMW, .lr = 0.05, .weight_decay = 0.1, .amsgrad = true},
    {.name = "adamw_schedule", .kind = TD_OPTIM_ADAMW, .lr = 0.05, .weight_decay = 0.1, .schedule = true},
};

static const config *config_named(const char *name)
{
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        if (strcmp(configs[i].name, name) == 0)
            return &configs[i];
    return &configs[0]; /* not reached: the names are those above */
}

static td_optim_hparams hparams_of(const config *c)
{
    td_optim_hparams h = td_optim_defaults(c->kind);
    h.lr = c->lr;
    h.weight_decay = c->weight_decay;
    h.momentum = c->momentum;
    h.dampening = c->dampening;
    h.nesterov = c->nesterov;
    h.amsgrad = c->amsgrad;
    h.centered = c->centered;
    h.lr_decay = c->lr_decay;
    h.initial_accumulator_value = c->initial_accumulator_value;
    if (c->eps)
        h.eps = c->eps;
    if (c->alpha)
        h.alpha = c->alpha;
    if (c->beta1)
        h.beta1 = c->beta1;
    if (c->beta2)
        h.beta2 = c->beta2;
    return h;
}

/* n random normals of `dtype` (scaled), a few of them exactly 0. */
static void fill_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *out, size_t n, double scale)
{
    if (dtype == TD_F64) {
        double *d = out;
        td_rng_normal_f64(ctx, rng, d, n);
        for (size_t i = 0; i < n; i++)
            d[i] = i % 97 == 5 ? 0 : d[i] * scale;
    } else {
        float *f = out;
        td_rng_normal_f32(ctx, rng, f, n);
        for (size_t i = 0; i < n; i++)
            f[i] = i % 97 == 5 ? 0 : f[i] * (float)scale;
    }
}

/* The first element at which a and b differ in their bytes, or -1. */
static long long first_difference(const void *a, const void *b, size_t n, size_t elem)
{
    if (memcmp(a, b, n * elem) == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (memcmp((const char *)a + i * elem, (const char *)b + i * elem, elem) != 0)
            return (long long)i;
    return -1;
}

enum { STEPS = 6 };

/* One configuration in one dtype on n elements: STEPS updates on the CPU
 * and on the GPU from the same param, state and gradients; true when every
 * step agrees bit for bit. */
static bool trajectory(td_ctx *ctx, const config *c, td_dtype dtype, size_t n)
{
    td_optim_hparams h = hparams_of(c);
    size_t elem = td_dtype_size(dtype), bytes = n * elem;
    size_t slots = (size_t)td_optim_state_slots(&h), state_bytes = slots * bytes;
    unsigned char *param = malloc(bytes), *grad = malloc(bytes), *state = malloc(state_bytes ? state_bytes : 1);
    unsigned char *gpu_param = malloc(bytes), *gpu_state = malloc(state_bytes ? state_bytes : 1);
    td_dptr dparam = 0, dgrad = 0, dstate = 0;
    bool ok = param && grad && state && gpu_param && gpu_state;
    CHECK(ok, "%s: host memory", c->name);
    td_rng rng = {(uint64_t)(c - configs) * 2 + (dtype == TD_F64), 0};
    td_status st = TD_OK;
    if (ok) {
        fill_normal(ctx, &rng, dtype, param, n, 1);
        st = td_optim_init_state(ctx, &h, dtype, n, state);
        if (!st)
            st = td_cuda_alloc(ctx, bytes, "param", &dparam);
        if (!st)
            st = td_cuda_alloc(ctx, bytes, "gradient", &dgrad);
        if (!st)
            st = td_cuda_alloc(ctx, state_bytes, "state", &dstate);
        if (!st)
            st = td_cuda_upload(ctx, dparam, param, bytes);
        if (!st)
            st = td_cuda_upload(ctx, dstate, state, state_bytes);
    }
    for (int64_t step = 1; ok && !st && step <= STEPS; step++) {
        double lr = c->schedule ? c->lr * (double)(step < 4 ? step : 7 - step) / 3 : c->lr;
        double wd = step == 3 ? 0 : c->weight_decay; /* a step in the no-decay group */
        fill_normal(ctx, &rng, dtype, grad, n, step == 2 ? 3 : 1);
        st = td_optim_update(ctx, &h, dtype, n, param, grad, state, step, lr, wd);
        if (!st)
            st = td_cuda_upload(ctx, dgrad, grad, bytes);
        if (!st)
            st = td_cuda_optim_update(ctx, &h, dtype, n, dparam, dgrad, dstate, step, lr, wd);
        if (!st)
            st = td_cuda_download(ctx, gpu_param, dparam, bytes);
        if (!st)
            st = td_cuda_download(ctx, gpu_state, dstate, state_bytes);
        if (st)
            break;
        long long at_param = first_difference(param, gpu_param, n, elem);
        long long at_state = first_difference(state, gpu_state, n * slots, elem);
        if (at_param >= 0 || at_state >= 0) {
            CHECK(false, "%s %s n=%zu step %lld: the GPU differs from the CPU at param element %lld, state element "
                  "%lld (slot %lld)", c->name, td_dtype_name(dtype), n, (long long)step, at_param, at_state,
                  at_state >= 0 ? at_state / (long long)n : -1);
            ok = false;
        }
    }
    CHECK(st == TD_OK, "%s %s n=%zu: %s", c->name, td_dtype_name(dtype), n, td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, dparam);
    td_cuda_free(ctx, dgrad);
    td_cuda_free(ctx, dstate);
    free(param);
    free(grad);
    free(state);
    free(gpu_param);
    free(gpu_state);
    return ok && st == TD_OK;
}

static void trajectories(td_ctx *ctx)
{
    int agree = 0, total = 0;
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        for (int d = 0; d < 2; d++) {
            agree += trajectory(ctx, &configs[i], d ? TD_F64 : TD_F32, 1003);
            total++;
        }
    CHECK(agree == total, "%d of %d configurations x dtypes agree bit for bit over %d steps (n = 1003)", agree, total,
          STEPS);
    /* larger than one grid (td_cuda_blocks caps it): the grid-stride loop */
    const size_t big = ((size_t)1 << 21) + 5;
    CHECK(trajectory(ctx, config_named("adam_all"), TD_F32, big) &&
              trajectory(ctx, config_named("rmsprop_all"), TD_F64, big) &&
              trajectory(ctx, config_named("sgd_momentum_weight_decay"), TD_F32, big),
          "adam_all f32, rmsprop_all f64 and sgd_momentum_weight_decay f32 on %zu elements, bit for bit", big);
}

/* Three tensors of one config in one list: each its own CPU update, bit
 * for bit, over STEPS steps (state slots as td_cuda_slice_of lays them out:
 * each tensor's state is its own array of slots); then the list's sum of
 * squares and scale. */
static bool slice_list(td_ctx *ctx, const config *c, td_dtype dtype)
{
    enum { K = 3 };
    static const size_t lens[K] = {1003, 7, 5000};
    static const double decays[K] = {0.1, 0, 0.03};
    td_optim_hparams h = hparams_of(c);
    size_t elem = td_dtype_size(dtype), slots = (size_t)td_optim_state_slots(&h);
    unsigned char *host[K][3] = {{0}}, *back = malloc(5000 * elem * (slots + 1));
    td_dptr dev[K][3] = {{0}}; /* param, grad, state */
    td_rng rng = {7 + (uint64_t)(dtype == TD_F64), 0};
    td_status st = back ? TD_OK : TD_ERR_OOM;
    td_cuda_slices list = {.count = K};
    for (int k = 0; k < K && !st; k++) {
        size_t bytes = lens[k] * elem, sizes[3] = {bytes, bytes, slots ? slots * bytes : 1};
        for (int a = 0; a < 3 && !st; a++)
            if (!(host[k][a] = malloc(sizes[a])) || (st = td_cuda_alloc(ctx, sizes[a], "a slice", &dev[k][a])) != TD_OK)
                st = st ? st : TD_ERR_OOM;
        if (st)
            break;
        fill_normal(ctx, &rng, dtype, host[k][0], lens[k], 1);
        st = td_optim_init_state(ctx, &h, dtype, lens[k], host[k][2]);
        if (!st)
            st = td_cuda_upload(ctx, dev[k][0], host[k][0], bytes);
        if (!st && slots)
            st = td_cuda_upload(ctx, dev[k][2], host[k][2], slots * bytes);
        list.at[k] = td_cuda_slice_of(&h, dtype, lens[k], dev[k][0], dev[k][1], dev[k][2], decays[k]);
    }
    bool same = true;
    for (int64_t step = 1; step <= STEPS && !st; step++) {
        for (int k = 0; k < K && !st; k++) {
            fill_normal(ctx, &rng, dtype, host[k][1], lens[k], 1);
            st = td_optim_update(ctx, &h, dtype, lens[k], host[k][0], host[k][1], host[k][2], step, c->lr, decays[k]);
            if (!st)
                st = td_cuda_upload(ctx, dev[k][1], host[k][1], lens[k] * elem);
        }
        if (!st)
            st = td_cuda_optim_update_slices(ctx, &h, dtype, &list, step, c->lr, 0);
        for (int k = 0; k < K && !st; k++) {
            size_t bytes = lens[k] * elem;
            st = td_cuda_download(ctx, back, dev[k][0], bytes);
            if (!st && slots)
                st = td_cuda_download(ctx, back + bytes, dev[k][2], slots * bytes);
            same = same && !st && first_difference(back, host[k][0], lens[k], elem) < 0 &&
                   first_difference(back + bytes, host[k][2], lens[k] * slots, elem) < 0;
        }
    }
    /* the last gradients' sum of squares and their scaling by 0.5 (exact) */
    double want = 0, got = -1;
    for (int k = 0; k < K; k++)
        for (size_t i = 0; i < lens[k]; i++) {
            double v = dtype == TD_F64 ? ((double *)host[k][1])[i] : (double)((float *)host[k][1])[i];
            want += v * v;
        }
    td_dptr dsum = 0;
    if (!st)
        st = td_cuda_alloc(ctx, sizeof(double), "sum", &dsum);
    if (!st)
        st = td_cuda_sum_squares_slices(ctx, dtype, &list, dsum, false, NULL);
    /* the step's checks run by the sum's last block: the gate td_cuda_run_check writes alone, byte for byte,
     * and its copy in pinned host memory */
    td_dptr dgates = 0, dsum2 = 0, dloss = 0;
    const float loss = 1.25f;
    td_step_gate gates[2], *pinned = NULL;
    td_cuda_check check = {0}, alone = {0};
    double clip = sqrt(want) / 2;
    struct td_cuda *cuda = td_cuda_state(ctx);
    if (!st)
        st = cuda->cu.cuMemAllocHost((void **)&pinned, sizeof *pinned) == TD_CUDA_SUCCESS ? TD_OK : TD_ERR_DEVICE;
    if (!st)
        st = td_cuda_alloc(ctx, sizeof gates, "gates", &dgates);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof(double), "sum", &dsum2);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof loss, "loss", &dloss);
    if (!st)
        st = td_cuda_upload(ctx, dloss, &loss, sizeof loss);
    if (!st)
        st = td_cuda_zero(ctx, dgates, sizeof gates);
    if (!st) /* the step's scalars, where the host writes them: the checks read them into the gate */
        *pinned = (td_step_gate){.lr = 0.125, .bias1 = 0.5, .bias2_sqrt = 0.25, .step = 7, .loss = -1, .ok = 9};
    if (!st)
        st = td_cuda_check_of(ctx, TD_F32, dloss, 0, 0, clip, dgates, pinned, &check);
    if (!st)
        st = td_cuda_check_of(ctx, TD_F32, dloss, 0, 0, clip, dgates + sizeof gates[0], NULL, &alone);
    if (!st)
        st = td_cuda_sum_squares_slices(ctx, dtype, &list, dsum2, false, &check);
    if (!st)
        st = td_cuda_run_check(ctx, &alone, dsum);
    if (!st)
        st = td_cuda_download(ctx, gates, dgates, sizeof gates);
    /* the scalars read from the pinned gate; td_cuda_run_check's gate, with none, keeps its zeros */
    bool scalars = !st && gates[0].lr == 0.125 && gates[0].bias1 == 0.5 && gates[0].bias2_sqrt == 0.25 &&
                   gates[0].step == 7 && gates[1].lr == 0 && gates[1].step == 0;
    td_step_gate verdict = gates[0];
    verdict.lr = verdict.bias1 = verdict.bias2_sqrt = 0;
    verdict.step = 0;
    CHECK(st || (scalars && memcmp(&verdict, &gates[1], sizeof verdict) == 0 &&
                 memcmp(pinned, &gates[0], sizeof *pinned) == 0 && gates[0].ok == 1 && gates[0].clipping == 1 &&
                 gates[0].loss == 1.25 && fabs(gates[0].norm - sqrt(want)) <= 1e-12 * sqrt(want)),
          "%s %s: the checks run by the sum's last block (and their pinned copy): loss %g, norm %.17g (%.17g), ok %lld, "
          "clipping %lld, coef %g, the step's scalars from the pinned gate %s; td_cuda_run_check's: loss %g, norm "
          "%.17g, ok %lld, clipping %lld, coef %g",
          c->name, td_dtype_name(dtype), gates[0].loss, gates[0].norm, sqrt(want), (long long)gates[0].ok,
          (long long)gates[0].clipping, gates[0].coef, scalars ? "yes" : "no", gates[1].loss, gates[1].norm,
          (long long)gates[1].ok, (long long)gates[1].clipping, gates[1].coef);
    td_cuda_free(ctx, dgates);
    td_cuda_free(ctx, dsum2);
    td_cuda_free(ctx, dloss);
    if (pinned)
        cuda->cu.cuMemFreeHost(pinned);
    if (!st)
        st = td_cuda_scale_slices(ctx, dtype, &list, 0.5, 0);
    if (!st)
        st = td_cuda_download(ctx, &got, dsum, sizeof got);
    bool scaled = true;
    for (int k = 0; k < K && !st; k++) {
        st = td_cuda_download(ctx, back, dev[k][1], lens[k] * elem);
        for (size_t i = 0; i < lens[k] && !st; i++) {
            double v = dtype == TD_F64 ? ((double *)host[k][1])[i] : (double)((float *)host[k][1])[i];
            double b = dtype == TD_F64 ? ((double *)back)[i] : (double)((float *)back)[i];
            scaled = scaled && b == v * 0.5;
        }
    }
    CHECK(st == TD_OK && same && scaled && fabs(got - want) <= 1e-12 * want,
          "%s %s: a list of %d tensors (lengths 1003, 7, 5000; decays 0.1, 0, 0.03) updated in one launch as each on "
          "the CPU, bit for bit, over %d steps (%s); its sum of squares %.17g vs %.17g; scaled by 0.5 exactly (%s): %s",
          c->name, td_dtype_name(dtype), K, STEPS, same ? "yes" : "no", got, want, scaled ? "yes" : "no",
          st ? td_ctx_error(ctx) : "ok");
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, dsum);
    for (int k = 0; k < K; k++)
        for (int a = 0; a < 3; a++) {
            free(host[k][a]);
            td_cuda_free(ctx, dev[k][a]);
        }
    free(back);
    return same && scaled;
}

static void slice_lists(td_ctx *ctx)
{
    slice_list(ctx, config_named("adam_all"), TD_F32);
    slice_list(ctx, config_named("rmsprop_all"), TD_F64);
    slice_list(ctx, config_named("sgd_momentum_weight_decay"), TD_F32);
    slice_list(ctx, config_named("adagrad_all"), TD_F64);
}

/* The largest relative difference of two arrays of dtype (f32 or f64). */
static double max_rel_difference(const void *a, const void *b, size_t n, td_dtype dtype)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double x = dtype == TD_F64 ? ((const double *)a)[i] : ((const float *)a)[i];
        double y = dtype == TD_F64 ? ((const double *)b)[i] : ((const float *)b)[i];
        double d = fabs(x - y) / (fabs(y) > 1e-30 ? fabs(y) : 1e-30);
        worst = d > worst || d != d ? d : worst;
    }
    return worst;
}

/* td_cuda_small_step on one copy of a list of three tensors, the grid's
 * launches (the sum of squares with the checks, the scale, the update) on
 * another, at step 3 with the scalars in each one's pinned gate: params
 * and state bit for bit where nothing clips, within 1e-6 where the step
 * clips (the two sums add in other orders, so the norms may differ in
 * their last bits), the verdicts alike; with a NaN loss neither updates. */
static bool small_step(td_ctx *ctx, const config *c, td_dtype dtype, double clip_ratio, float loss)
{
    enum { K = 3, STEP = 3 };
    static const size_t lens[K] = {1003, 7, 5000};
    static const double decays[K] = {0.1, 0, 0.03};
    td_optim_hparams h = hparams_of(c);
    size_t elem = td_dtype_size(dtype), slots = (size_t)td_optim_state_slots(&h);
    unsigned char *host[K][3] = {{0}}, *back[2] = {malloc(5000 * elem * (slots + 1)), malloc(5000 * elem * (slots + 1))};
    td_dptr dev[2][K][3] = {{{0}}}, dgates = 0, dsums = 0, dloss = 0;
    td_step_gate *pinned = NULL;
    struct td_cuda *cuda = td_cuda_state(ctx);
    td_rng rng = {31 + (uint64_t)(dtype == TD_F64), 0};
    td_status st = back[0] && back[1] ? TD_OK : TD_ERR_OOM;
    td_cuda_slices lists[2] = {{.count = K}, {.count = K}};
    double want = 0; /* the gradients' sum of squares, for the clipping threshold */
    for (int k = 0; k < K && !st; k++) {
        size_t bytes = lens[k] * elem, sizes[3] = {bytes, bytes, slots ? slots * bytes : 1};
        for (int a = 0; a < 3 && !st; a++)
            if (!(host[k][a] = malloc(sizes[a])))
                st = TD_ERR_OOM;
        for (int copy = 0; copy < 2 && !st; copy++)
            for (int a = 0; a < 3 && !st; a++)
                st = td_cuda_alloc(ctx, sizes[a], "a slice", &dev[copy][k][a]);
        if (st)
            break;
        fill_normal(ctx, &rng, dtype, host[k][0], lens[k], 1);
        fill_normal(ctx, &rng, dtype, host[k][1], lens[k], 1);
        for (size_t i = 0; i < lens[k]; i++) {
            double v = dtype == TD_F64 ? ((double *)host[k][1])[i] : (double)((float *)host[k][1])[i];
            want += v * v;
        }
        st = td_optim_init_state(ctx, &h, dtype, lens[k], host[k][2]);
        for (int copy = 0; copy < 2 && !st; copy++) {
            for (int a = 0; a < 3 && !st; a++)
                if (a < 2 || slots)
                    st = td_cuda_upload(ctx, dev[copy][k][a], host[k][a], sizes[a]);
            lists[copy].at[k] = td_cuda_slice_of(&h, dtype, lens[k], dev[copy][k][0], dev[copy][k][1], dev[copy][k][2],
                                                 decays[k]);
        }
    }
    double clip = clip_ratio * sqrt(want);
    if (!st)
        st = cuda->cu.cuMemAllocHost((void **)&pinned, 2 * sizeof *pinned) == TD_CUDA_SUCCESS ? TD_OK : TD_ERR_DEVICE;
    if (!st)
        st = td_cuda_alloc(ctx, 2 * sizeof *pinned, "gates", &dgates);
    if (!st)
        st = td_cuda_alloc(ctx, 2 * sizeof(double), "sums", &dsums);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof loss, "loss", &dloss);
    if (!st)
        st = td_cuda_upload(ctx, dloss, &loss, sizeof loss);
    td_cuda_check checks[2];
    for (int copy = 0; copy < 2 && !st; copy++) {
        pinned[copy] = (td_step_gate){.lr = c->lr, .step = STEP};
        td_optim_adam_bias(&h, STEP, &pinned[copy].bias1, &pinned[copy].bias2_sqrt);
        st = td_cuda_check_of(ctx, TD_F32, dloss, 0, 0, clip, dgates + copy * sizeof *pinned, &pinned[copy], &checks[copy]);
    }
    td_dptr gate0 = dgates, sum0 = dsums, sum1 = dsums + sizeof(double);
    if (!st) /* with other scalars as arguments: the gate's count */
        st = td_cuda_sum_squares_slices(ctx, dtype, &lists[0], sum0, false, &checks[0]);
    if (!st && clip > 0)
        st = td_cuda_scale_slices(ctx, dtype, &lists[0], 1.0, gate0);
    if (!st)
        st = td_cuda_optim_update_slices(ctx, &h, dtype, &lists[0], 1, 99.0, gate0);
    if (!st)
        st = td_cuda_small_step(ctx, &h, dtype, &lists[1], sum1, &checks[1]);
    if (!st)
        st = td_cuda_sync(ctx, "the small step");
    bool ok = !st, unchanged = true;
    double worst = 0;
    for (int k = 0; k < K && !st; k++) {
        size_t bytes = lens[k] * elem, state_bytes = slots * bytes;
        for (int copy = 0; copy < 2 && !st; copy++) {
            st = td_cuda_download(ctx, back[copy], dev[copy][k][0], bytes);
            if (!st && slots)
                st = td_cuda_download(ctx, back[copy] + bytes, dev[copy][k][2], state_bytes);
        }
        if (st)
            break;
        if (clip > 0 && loss == loss) {
            double d = max_rel_difference(back[1], back[0], lens[k] * (slots + 1), dtype);
            worst = d > worst || d != d ? d : worst;
        } else {
            ok = ok && memcmp(back[0], back[1], bytes + state_bytes) == 0;
        }
        unchanged = unchanged && memcmp(back[1], host[k][0], bytes) == 0;
    }
    bool verdicts = !st && pinned[0].ok == pinned[1].ok && pinned[0].clipping == pinned[1].clipping &&
                    (pinned[0].loss == pinned[1].loss || (loss != loss && pinned[1].loss != pinned[1].loss)) &&
                    pinned[1].lr == c->lr && pinned[1].step == STEP &&
                    fabs(pinned[0].norm - pinned[1].norm) <= 1e-12 * pinned[0].norm &&
                    pinned[1].ok == (loss == loss) && pinned[1].clipping == (clip > 0); /* clips, or would */
    ok = ok && verdicts && worst <= 1e-6 && (loss == loss ? !unchanged : unchanged);
    CHECK(ok, "%s %s%s%s: td_cuda_small_step as the grid's launches (%s; largest difference %.3g), verdict ok %lld "
          "clipping %lld norm %.17g vs ok %lld clipping %lld norm %.17g, params %s: %s",
          c->name, td_dtype_name(dtype), clip > 0 ? ", clipping" : "", loss == loss ? "" : ", a NaN loss",
          clip > 0 && loss == loss ? "within 1e-6" : "bit for bit", worst, (long long)pinned[1].ok,
          (long long)pinned[1].clipping, pinned[1].norm, (long long)pinned[0].ok, (long long)pinned[0].clipping,
          pinned[0].norm, unchanged ? "unchanged" : "updated", st ? td_ctx_error(ctx) : "ok");
    td_ctx_clear_error(ctx);
    for (int k = 0; k < K; k++)
        for (int a = 0; a < 3; a++) {
            free(host[k][a]);
            for (int copy = 0; copy < 2; copy++)
                td_cuda_free(ctx, dev[copy][k][a]);
        }
    td_cuda_free(ctx, dgates);
    td_cuda_free(ctx, dsums);
    td_cuda_free(ctx, dloss);
    if (pinned)
        cuda->cu.cuMemFreeHost(pinned);
    free(back[0]);
    free(back[1]);
    return ok;
}

static void small_steps(td_ctx *ctx)
{
    small_step(ctx, config_named("adam_all"), TD_F32, 0, 0.5f);
    small_step(ctx, config_named("adagrad_all"), TD_F64, 0, 0.5f);
    small_step(ctx, config_named("sgd_momentum_weight_decay"), TD_F32, 0.25, 0.5f);
    small_step(ctx, config_named("rmsprop_all"), TD_F64, 0.5, 0.5f);
    small_step(ctx, config_named("adam_all"), TD_F64, 0.25, NAN);
}

static void sums_and_scales(td_ctx *ctx)
{
    enum { N = 100003 };
    static double x64[N], back64[N];
    static float x32[N], back32[N];
    td_rng rng = {99, 0};
    fill_normal(ctx, &rng, TD_F64, x64, N, 3);
    fill_normal(ctx, &rng, TD_F32, x32, N, 3);
    td_dptr d64 = 0, d32 = 0, dsum = 0;
    td_status st = td_cuda_alloc(ctx, sizeof x64, "x64", &d64);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof x32, "x32", &d32);
    if (!st)
        st = td_cuda_alloc(ctx, sizeof(double), "sum", &dsum);
    if (!st)
        st = td_cuda_upload(ctx, d64, x64, sizeof x64);
    if (!st)
        st = td_cuda_upload(ctx, d32, x32, sizeof x32);
    for (int d = 0; d < 2 && !st; d++) {
        /* the reference is compensated (Kahan), so only the GPU's rounding counts */
        double start = 1.5, got = 0, want = start, lost = 0;
        for (int round = 0; round < 2; round++)
            for (size_t i = 0; i < N; i++) {
                double v = d ? x64[i] : (double)x32[i], term = v * v - lost, next = want + term;
                lost = (next - want) - term;
                want = next;
            }
        st = td_cuda_upload(ctx, dsum, &start, sizeof start);
        for (int round = 0; round < 2 && !st; round++)
            st = td_cuda_add_sum_squares(ctx, d ? TD_F64 : TD_F32, d ? d64 : d32, N, dsum);
        if (!st)
            st = td_cuda_add_sum_squares(ctx, d ? TD_F64 : TD_F32, d ? d64 : d32, 0, dsum); /* adds nothing */
        if (!st)
            st = td_cuda_download(ctx, &got, dsum, sizeof got);
        CHECK(st == TD_OK && fabs(got - want) <= 1e-12 * fabs(want),
              "%s: 1.5 + twice the sum of squares, accumulated in double: GPU %.17g, CPU %.17g (rtol 1e-12)",
              d ? "f64" : "f32", got, want);
    }
    const double coef = 0.3; /* not a float: the f32 scale rounds it once */
    if (!st)
        st = td_cuda_scale(ctx, TD_F64, d64, N, coef);
    if (!st)
        st = td_cuda_scale(ctx, TD_F32, d32, N, coef);
    if (!st)
        st = td_cuda_download(ctx, back64, d64, sizeof back64);
    if (!st)
        st = td_cuda_download(ctx, back32, d32, sizeof back32);
    float c32 = (float)coef;
    for (size_t i = 0; i < N; i++) {
        x64[i] = x64[i] * coef;
        x32[i] = x32[i] * c32;
    }
    CHECK(st == TD_OK && memcmp(back64, x64, sizeof x64) == 0 && memcmp(back32, x32, sizeof x32) == 0,
          "x * coef in f64, and in f32 with coef rounded to f32, bit for bit: %s", td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, d64);
    td_cuda_free(ctx, d32);
    td_cuda_free(ctx, dsum);
}

/* A param's narrow copy on the GPU: an update of a list whose slices
 * keep copies (bf16 8-byte aligned, so written 4 at a time, and f16 at an
 * odd 2-byte offset, one at a time) leaves each copy element the host's
 * rounding of the updated param, bit for bit; td_cuda_narrow_copy's too. */
static void narrow_copies(td_ctx *ctx)
{
    enum { N = 5003 };
    td_optim_hparams h = td_optim_defaults(TD_OPTIM_ADAM);
    size_t slots = (size_t)td_optim_state_slots(&h);
    float *param = malloc(2 * N * sizeof *param), *grad = malloc(2 * N * sizeof *grad), *back = malloc(2 * N * sizeof *back);
    uint16_t *copy = malloc(2 * (N + 8) * sizeof *copy);
    td_dptr dp = 0, dg = 0, ds = 0, dc = 0;
    td_rng rng = {11, 0};
    td_status st = param && grad && back && copy ? TD_OK : TD_ERR_OOM;
    if (!st) {
        fill_normal(ctx, &rng, TD_F32, param, 2 * N, 1.0);
        fill_normal(ctx, &rng, TD_F32, grad, 2 * N, 1.0);
        st = td_cuda_alloc(ctx, 2 * N * sizeof *param, "params", &dp);
    }
    if (!st)
        st = td_cuda_alloc(ctx, 2 * N * sizeof *grad, "grads", &dg);
    if (!st)
        st = td_cuda_alloc(ctx, 2 * N * slots * sizeof(float), "state", &ds);
    if (!st)
        st = td_cuda_alloc(ctx, 2 * (N + 8) * sizeof *copy, "copies", &dc);
    if (!st)
        st = td_cuda_upload(ctx, dp, param, 2 * N * sizeof *param);
    if (!st)
        st = td_cuda_upload(ctx, dg, grad, 2 * N * sizeof *grad);
    if (!st)
        st = td_cuda_zero(ctx, ds, 2 * N * slots * sizeof(float));
    td_dptr bf16_at = dc, f16_at = dc + 2 * (N + 4) + 2; /* 8-byte aligned; 2 bytes past */
    td_cuda_slices list = {.count = 2};
    for (int k = 0; k < 2; k++) {
        list.at[k] = td_cuda_slice_of(&h, TD_F32, N, dp + (td_dptr)(k * N * sizeof(float)),
                                      dg + (td_dptr)(k * N * sizeof(float)), ds + (td_dptr)(k * N * slots * sizeof(float)), 0);
        list.at[k].copy = k == 0 ? bf16_at : f16_at;
        list.at[k].copy_kind = k == 0 ? 1 : 2;
    }
    if (!st)
        st = td_cuda_optim_update_slices(ctx, &h, TD_F32, &list, 1, 0.01, 0);
    if (!st)
        st = td_cuda_download(ctx, back, dp, 2 * N * sizeof *back);
    if (!st)
        st = td_cuda_download(ctx, copy, dc, 2 * (N + 8) * sizeof *copy);
    CHECK(st == TD_OK, "an update with narrow copies: %s", td_ctx_error(ctx));
    int bad = 0, moved = 0, pushed = 0; /* fill_normal zeroes every 97th gradient: those params stay */
    for (int i = 0; !st && i < N; i++) {
        bad += copy[i] != td_f32_to_bf16(back[i]);
        bad += copy[(N + 4) + 1 + i] != td_f32_to_f16(back[N + i]);
        moved += back[i] != param[i];
        pushed += grad[i] != 0;
    }
    CHECK(!st && bad == 0 && moved == pushed, "each copy is its updated param rounded (%d differ; %d of %d params moved)",
          bad, moved, pushed);
    /* made anew from the params, as td_model_sync_device does */
    if (!st)
        st = td_cuda_zero(ctx, dc, 2 * (N + 8) * sizeof *copy);
    if (!st)
        st = td_cuda_narrow_copy(ctx, dp, bf16_at, TD_BF16, N);
    if (!st)
        st = td_cuda_narrow_copy(ctx, dp + N * sizeof(float), f16_at, TD_F16, N);
    if (!st)
        st = td_cuda_download(ctx, copy, dc, 2 * (N + 8) * sizeof *copy);
    bad = 0;
    for (int i = 0; !st && i < N; i++)
        bad += (copy[i] != td_f32_to_bf16(back[i])) + (copy[(N + 4) + 1 + i] != td_f32_to_f16(back[N + i]));
    CHECK(st == TD_OK && bad == 0, "td_cuda_narrow_copy rounds as the host does (%d differ): %s", bad, td_ctx_error(ctx));
    td_ctx_clear_error(ctx);
    td_cuda_free(ctx, dp);
    td_cuda_free(ctx, dg);
    td_cuda_free(ctx, ds);
    td_cuda_free(ctx, dc);
    free(param);
    free(grad);
    free(back);
    free(copy);
}

void test_cuda_optim(void)
{
    /* no disk cache: the tests leave nothing behind */
    char *old_cache = getenv("TDC_CACHE") ? strdup(getenv("TDC_CACHE")) : NULL;
    setenv("TDC_CACHE", "off", 1);
    source_compiles();
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    CHECK(ctx != NULL, "context");
    if (ctx) {
        argument_errors(ctx);
        char why[512];
        if (td_cuda_available(ctx, why, sizeof why)) {
            trajectories(ctx);
            sums_and_scales(ctx);
            slice_lists(ctx);
            small_steps(ctx);
            narrow_copies(ctx);
        } else {
            no_gpu_errors(ctx);
            printf("skipped: GPU optimizer tests: %s\n", why);
        }
        td_ctx_free(ctx);
    }
    if (old_cache)
        setenv("TDC_CACHE", old_cache, 1);
    else
        unsetenv("TDC_CACHE");
    free(old_cache);
}
