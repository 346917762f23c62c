/* random_check.c - random numbers drawn on the GPU against the CPU's.
 *
 *   random_check
 * Linked with the --lib C of tests/cuda/random.td (prefix random). Two
 * models of one seed, one on the CPU and one on the GPU, start with the
 * same params, bit for bit (read back from the GPU), and call each drawing
 * function twice (so each call starts where the last ended in the stream):
 * f32 normals and uniforms and f64 uniforms bit for bit, f64 normals within
 * 2 units in the last place (log, sin and cos of two libms may round a
 * double apart); then six train steps each of the block that draws its
 * batch (on the GPU: eager, captured, then replayed as a graph, which must
 * advance the stream as the first run did): the same losses (to 1e-5) and
 * the same stream position after. Prints PASS/FAIL lines and "N passed, N
 * failed"; exit 77 with "skipped: why" where there is no GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "random.h"
#include "verdicts.h"

enum { N = 1001, STEPS = 6 };

/* Units in the last place between two doubles of one sign. */
static int64_t ulps(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, sizeof x);
    memcpy(&y, &b, sizeof y);
    return x > y ? x - y : y - x;
}

/* What differs between n values of dtype t: "" when they agree. */
static const char *compare(const void *cpu, const void *gpu, size_t n, bool f64, bool normal, char *buf, size_t size)
{
    buf[0] = 0;
    for (size_t i = 0; i < n && !buf[0]; i++) {
        if (!f64) {
            float a = ((const float *)cpu)[i], b = ((const float *)gpu)[i];
            if (memcmp(&a, &b, sizeof a) != 0)
                snprintf(buf, size, "element %zu: CPU %.9g, GPU %.9g", i, a, b);
        } else {
            double a = ((const double *)cpu)[i], b = ((const double *)gpu)[i];
            if (normal ? !(isfinite(a) && ulps(a, b) <= 2) : memcmp(&a, &b, sizeof a) != 0)
                snprintf(buf, size, "element %zu: CPU %.17g, GPU %.17g", i, a, b);
        }
    }
    return buf;
}

int main(void)
{
    td_ctx *gpu_ctx = td_ctx_new(TD_DEVICE_CUDA), *cpu_ctx = td_ctx_new(TD_DEVICE_CPU);
    char why[512];
    if (!gpu_ctx || !cpu_ctx || !td_cuda_available(gpu_ctx, why, sizeof why)) {
        printf("skipped: %s\n", gpu_ctx ? why : "no context");
        td_ctx_free(gpu_ctx);
        td_ctx_free(cpu_ctx);
        return 77;
    }
    random_dims dims = {.dim_n = N};
    td_model *cpu = random_new(cpu_ctx, &dims, 7), *gpu = random_new(gpu_ctx, &dims, 7);
    if (!cpu || !gpu) {
        printf("FAIL models: %s %s\n0 passed, 1 failed\n", td_ctx_error(cpu_ctx), td_ctx_error(gpu_ctx));
        return 1;
    }
    check(gpu->on_gpu, "the second model is on the GPU", NULL);
    size_t pbytes = cpu->region_bytes[TD_REGION_PARAMS];
    check(pbytes > 0 && gpu->region_bytes[TD_REGION_PARAMS] == pbytes && td_model_sync_host(gpu) == TD_OK &&
              memcmp(cpu->region[TD_REGION_PARAMS], gpu->region[TD_REGION_PARAMS], pbytes) == 0,
          "the initial params on the GPU: the CPU's, bit for bit (one seed)", td_ctx_error(gpu_ctx));
    static double a[2][N], b[2][N]; /* room for f64 results; f32 ones use the first half */
    char what[128], detail[256];
    for (int f = 0; f < cpu->desc->nfns; f++) {
        const td_fn_desc *fn = &cpu->desc->fns[f];
        bool f64 = fn->outputs[0].dtype == TD_F64, normal = strstr(fn->name, "normal") != NULL;
        for (int call = 0; call < 2; call++) {
            void *outs_cpu[2] = {a[0], a[1]}, *outs_gpu[2] = {b[0], b[1]};
            td_status sc = td_model_call(cpu, f, NULL, outs_cpu), sg = td_model_call(gpu, f, NULL, outs_gpu);
            snprintf(what, sizeof what, "%s, call %d, runs on both", fn->name, call + 1);
            check(sc == TD_OK && sg == TD_OK, what, sc ? td_ctx_error(cpu_ctx) : td_ctx_error(gpu_ctx));
            for (int o = 0; o < fn->noutputs && sc == TD_OK && sg == TD_OK; o++) {
                snprintf(what, sizeof what, "%s, call %d, result %d: the CPU's numbers%s", fn->name, call + 1, o,
                         f64 && normal ? " (within 2 ulp)" : ", bit for bit");
                bool second_normal = strcmp(fn->name, "two") == 0 && o == 1;
                check(!compare(a[o], b[o], N, f64, normal || second_normal, detail, sizeof detail)[0], what, detail);
            }
        }
    }
    double losses[2][STEPS];
    td_model *models[2] = {cpu, gpu};
    for (int m = 0; m < 2; m++)
        for (int s = 0; s < STEPS; s++) {
            td_step_stats stats;
            td_status st = td_train_step(models[m], 0, NULL, &stats);
            losses[m][s] = st == TD_OK ? stats.loss : NAN;
        }
    for (int s = 0; s < STEPS; s++) {
        snprintf(what, sizeof what, "train step %d (%s): the CPU's loss", s + 1,
                 s == 0 ? "eager" : s == 1 ? "captured" : "a graph replayed");
        snprintf(detail, sizeof detail, "CPU %.9g, GPU %.9g (%s)", losses[0][s], losses[1][s], td_ctx_error(gpu_ctx));
        check(fabs(losses[0][s] - losses[1][s]) <= 1e-5 * fabs(losses[0][s]), what, detail);
    }
    snprintf(detail, sizeof detail, "CPU at word %llu, GPU at %llu", (unsigned long long)cpu->rng.offset,
             (unsigned long long)gpu->rng.offset);
    check(cpu->rng.offset == gpu->rng.offset && cpu->rng.offset > 0, "the stream's position after the steps", detail);
    td_model_free(cpu);
    td_model_free(gpu);
    td_ctx_free(cpu_ctx);
    td_ctx_free(gpu_ctx);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
