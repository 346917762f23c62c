/* kernel_check.c - runs the generated CUDA kernels on the GPU against the C backend.
 *
 *   kernel_check KERNELS.cu BATCH
 * Linked with the --lib C of the same program (model_desc). For every
 * exported function that is one map or one reduction kernel over f32
 * inputs, it runs the function on the CPU and its kernel on the GPU (the
 * kernel's parameters are b<node>, and a function's inputs are nodes 0,
 * 1, ...), and compares (rtol 1e-5, atol 1e-6: libm and CUDA's math
 * functions may differ in the last place). Exit 77 with "skipped: why"
 * where there is no GPU. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "model.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    if (fread(s, 1, (size_t)n, f) != (size_t)n)
        n = 0;
    s[n] = 0;
    fclose(f);
    return s;
}

static size_t elements(const td_tensor_desc *t, const int64_t *dims)
{
    size_t n = 1;
    for (int k = 0; k < t->rank; k++)
        n *= (size_t)td_size_eval(&t->shape[k], dims);
    return n;
}

/* The kernel's parameter nodes, in order, from its signature in the source,
 * and the symbol that runs it: its own name, or, for a kernel that is the
 * same code as one before it, that one's ("tdg_k3_7(b7, b2) is tdg_k1_4: the
 * same code"). `kernel` ends with its '('. */
static int params_of(const char *src, const char *kernel, int *nodes, char *symbol, size_t size)
{
    const char *p = strstr(src, kernel);
    int n = 0;
    if (!p)
        return -1;
    const char *end = strchr(p, ')');
    if (!end)
        return -1;
    for (const char *q = p + strlen(kernel); q < end; q++)
        if (*q == 'b' && q[1] >= '0' && q[1] <= '9' && (q[-1] == ' ' || q[-1] == '('))
            nodes[n++] = atoi(q + 1);
    snprintf(symbol, size, "%.*s", (int)strlen(kernel) - 1, kernel);
    if (strncmp(end, ") is ", 5) == 0)
        snprintf(symbol, size, "%.*s", (int)strcspn(end + 5, ":"), end + 5);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    td_ctx *ctx = td_ctx_new(TD_DEVICE_CUDA);
    char why[512];
    if (!td_cuda_available(ctx, why, sizeof why)) {
        printf("skipped: %s\n", why);
        td_ctx_free(ctx);
        return 77;
    }
    struct td_cuda *cuda = td_cuda_state(ctx);
    char *src = read_file(argv[1]);
    td_blob image = {0};
    CUmodule module;
    if (td_nvrtc_compile(ctx, "kernels", src, NULL, &image) != TD_OK ||
        td_cu_check(ctx, cuda, cuda->cu.cuModuleLoadData(&module, image.data), "cuModuleLoadData") != TD_OK) {
        printf("FAIL compile: %s\n0 passed, 1 failed\n", td_ctx_error(ctx));
        td_blob_free(&image);
        free(src);
        td_ctx_free(ctx);
        return 1;
    }
    const td_model_desc *d = &model_desc;
    int64_t dims[16] = {0};
    for (int i = 0; i < d->ndims; i++)
        dims[i] = d->dims[i].value ? d->dims[i].value : atoll(argv[2]);
    td_model *m = td_model_new(ctx, d, dims, 1);
    int passed = 0, failed = 0;
    for (int f = 0; f < d->nfns; f++) {
        const td_fn_desc *fn = &d->fns[f];
        if (!fn->cost || fn->cost->nops != 1 || fn->noutputs != 1 ||
            (strcmp(fn->cost->ops[0].kind, "map") && strcmp(fn->cost->ops[0].kind, "reduce")))
            continue;
        char kernel[64];
        snprintf(kernel, sizeof kernel, "tdg_k%d_%d(", f, fn->cost->ops[0].node);
        int nodes[16];
        char symbol[64];
        int np = params_of(src, kernel, nodes, symbol, sizeof symbol);
        kernel[strlen(kernel) - 1] = 0;
        void *in[16];
        CUdeviceptr dev[16] = {0};
        for (int k = 0; k < fn->ninputs; k++) {
            size_t n = elements(&fn->inputs[k], m->dims);
            float *x = malloc(n * sizeof(float));
            for (size_t j = 0; j < n; j++)
                x[j] = (float)sin(0.37 * (double)(j + 1) * (k + 1)) * 1.5f;
            in[k] = x;
            cuda->cu.cuMemAlloc(&dev[k], n * sizeof(float));
            cuda->cu.cuMemcpyHtoD(dev[k], x, n * sizeof(float));
        }
        size_t nout = elements(&fn->outputs[0], m->dims);
        float *cpu = malloc(nout * sizeof(float)), *gpu = malloc(nout * sizeof(float));
        void *outs[1] = {cpu};
        CUdeviceptr dout;
        cuda->cu.cuMemAlloc(&dout, nout * sizeof(float));
        fn->call(m, (const void *const *)in, outs);
        /* the parameters: the dims, the result, the inputs it reads */
        struct { int64_t d[16]; } D;
        memcpy(D.d, m->dims, sizeof D.d);
        void *args[18];
        int na = 0;
        args[na++] = &D;
        args[na++] = &dout;
        for (int k = 1; k < np; k++)
            args[na++] = &dev[nodes[k]];
        CUfunction fun;
        bool reduce = strcmp(fn->cost->ops[0].kind, "reduce") == 0;
        unsigned blocks = reduce ? (unsigned)nout : (unsigned)((nout + 255) / 256);
        td_status st = td_cu_check(ctx, cuda, cuda->cu.cuModuleGetFunction(&fun, module, symbol), "cuModuleGetFunction");
        if (st == TD_OK)
            st = td_cu_check(ctx, cuda, cuda->cu.cuLaunchKernel(fun, blocks, 1, 1, 256, 1, 1, 0, NULL, args, NULL), "cuLaunchKernel");
        if (st == TD_OK)
            st = td_cu_check(ctx, cuda, cuda->cu.cuCtxSynchronize(), "cuCtxSynchronize");
        if (st == TD_OK)
            cuda->cu.cuMemcpyDtoH(gpu, dout, nout * sizeof(float));
        size_t bad = nout;
        for (size_t j = 0; st == TD_OK && j < nout && bad == nout; j++)
            if (!(fabsf(gpu[j] - cpu[j]) <= 1e-6f + 1e-5f * fabsf(cpu[j])))
                bad = j;
        if (st != TD_OK)
            printf("FAIL %s: %s\n", fn->name, td_ctx_error(ctx)), failed++;
        else if (bad < nout)
            printf("FAIL %s: element %zu: gpu %.9g cpu %.9g\n", fn->name, bad, gpu[bad], cpu[bad]), failed++;
        else
            printf("PASS %s (%s, %zu elements)\n", fn->name, kernel, nout), passed++;
        td_ctx_clear_error(ctx);
        for (int k = 0; k < fn->ninputs; k++)
            free(in[k]), cuda->cu.cuMemFree(dev[k]);
        cuda->cu.cuMemFree(dout);
        free(cpu);
        free(gpu);
    }
    printf("%d passed, %d failed\n", passed, failed);
    td_model_free(m);
    td_blob_free(&image);
    free(src);
    td_ctx_free(ctx);
    return failed != 0;
}
