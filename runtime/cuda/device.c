/* device.c - device memory, copies and kernel launches on the context's
 * stream, for the CUDA code tdc generates and for the runtime's own
 * kernels (gemm.c's fallback, optim.c).
 *
 * Every operation is queued on the one stream td_cuda_init created, so a
 * step's kernels, cuBLAS calls and copies run in program order without
 * host synchronisation; td_cuda_download and td_cuda_sync wait. A module is
 * a source compiled by td_nvrtc_compile (through the disk cache) and loaded
 * with cuModuleLoadData; its kernels are looked up by name once, so a launch
 * is one cuLaunchKernel. Errors name the driver call and the caller's
 * `where`: the kernel and its .td line for a launch, the region for an
 * allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"
#include "cuda_narrow_floats.h"

struct td_cuda_module {
    CUmodule *modules; /* one per program the source was compiled as (lazy: a kernel each, NULL until built) */
    int nmodules;
    int nkernels;
    CUfunction *kernels; /* lazy: NULL until the kernel's first launch */
    char **names;
    bool waits; /* every kernel starts with TD_GRID_WAIT() (td_cuda_module_waits) */
    /* td_cuda_module_load_lazy's: the source, the options (static) and the module's name */
    char *source, *name;
    const char *const *options;
    int noptions;
};

void td_cuda_module_waits(td_cuda_module *mod)
{
    if (mod)
        mod->waits = true;
}

void td_cuda_dependent_launches(td_ctx *ctx, bool allow)
{
    struct td_cuda *cuda = ctx ? td_cuda_state(ctx) : NULL;
    if (cuda)
        cuda->dependent_launches = allow;
}

struct td_cuda *td_cuda_ready(td_ctx *ctx)
{
    if (td_cuda_init(ctx) != TD_OK)
        return NULL;
    return ctx->cuda;
}

td_status td_cu_check_at(td_ctx *ctx, struct td_cuda *cuda, CUresult r, const char *call, const char *where)
{
    if (r == TD_CUDA_SUCCESS)
        return TD_OK;
    char c[640];
    snprintf(c, sizeof c, "%s (%s)", call, where && where[0] ? where : "?");
    return td_cu_check(ctx, cuda, r, c);
}

const char *td_cuda_device_name(td_ctx *ctx)
{
    struct td_cuda *cuda = ctx->cuda;
    return cuda && cuda->init_status == TD_OK && cuda->init_tried ? cuda->device_name : "";
}

td_status td_cuda_alloc(td_ctx *ctx, size_t bytes, const char *what, td_dptr *out)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    *out = 0;
    if (!cuda)
        return TD_ERR_DEVICE;
    if (bytes == 0)
        return TD_OK;
    CUdeviceptr p = 0;
    CUresult r = cuda->cu.cuMemAlloc(&p, bytes);
    if (r == TD_CUDA_SUCCESS) {
        *out = p;
        return TD_OK;
    }
    size_t free_bytes = 0, total = 0;
    if (r == 2 /* CUDA_ERROR_OUT_OF_MEMORY */ && cuda->cu.cuMemGetInfo(&free_bytes, &total) == TD_CUDA_SUCCESS)
        return td_fail(ctx, TD_ERR_OOM,
                       "CUDA: out of device memory: %zu bytes for %s, but the %s has %zu of %zu bytes free "
                       "(smaller --dims need less)",
                       bytes, what, cuda->device_name, free_bytes, total);
    char where[160];
    snprintf(where, sizeof where, "%zu bytes for %s", bytes, what);
    return td_cu_check_at(ctx, cuda, r, "cuMemAlloc", where);
}

void td_cuda_free(td_ctx *ctx, td_dptr p)
{
    if (p && ctx->cuda && ctx->cuda->context)
        ctx->cuda->cu.cuMemFree(p);
}

td_status td_cuda_upload(td_ctx *ctx, td_dptr dst, const void *src, size_t bytes)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (bytes == 0)
        return TD_OK;
    return td_cu_check_at(ctx, cuda, cuda->cu.cuMemcpyHtoDAsync(dst, src, bytes, cuda->stream), "cuMemcpyHtoDAsync",
                          "a copy to the GPU");
}

td_status td_cuda_download(td_ctx *ctx, void *dst, td_dptr src, size_t bytes)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (bytes && td_cu_check_at(ctx, cuda, cuda->cu.cuMemcpyDtoHAsync(dst, src, bytes, cuda->stream),
                                "cuMemcpyDtoHAsync", "a copy from the GPU") != TD_OK)
        return TD_ERR_DEVICE;
    return td_cu_check_at(ctx, cuda, cuda->cu.cuStreamSynchronize(cuda->stream), "cuStreamSynchronize",
                          "a copy from the GPU");
}

td_status td_cuda_copy(td_ctx *ctx, td_dptr dst, td_dptr src, size_t bytes)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (bytes == 0 || dst == src)
        return TD_OK;
    return td_cu_check_at(ctx, cuda, cuda->cu.cuMemcpyDtoDAsync(dst, src, bytes, cuda->stream), "cuMemcpyDtoDAsync",
                          "a copy on the GPU");
}

td_status td_cuda_zero(td_ctx *ctx, td_dptr dst, size_t bytes)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (bytes == 0)
        return TD_OK;
    return td_cu_check_at(ctx, cuda, cuda->cu.cuMemsetD8Async(dst, 0, bytes, cuda->stream), "cuMemsetD8Async",
                          "zeroing GPU memory");
}

td_status td_cuda_sync(td_ctx *ctx, const char *where)
{
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    return td_cu_check_at(ctx, cuda, cuda->cu.cuStreamSynchronize(cuda->stream), "cuStreamSynchronize", where);
}

void td_cuda_module_release(struct td_cuda *cuda, td_cuda_module *mod)
{
    if (!mod)
        return;
    for (int i = 0; mod->modules && i < mod->nmodules; i++)
        if (mod->modules[i] && cuda && cuda->context)
            cuda->cu.cuModuleUnload(mod->modules[i]);
    free(mod->modules);
    for (int i = 0; mod->names && i < mod->nkernels; i++)
        free(mod->names[i]);
    free(mod->names);
    free(mod->kernels);
    free(mod->source);
    free(mod->name);
    free(mod);
}

void td_cuda_module_free(td_ctx *ctx, td_cuda_module *mod)
{
    td_cuda_module_release(ctx->cuda, mod);
}

td_status td_cuda_module_load(td_ctx *ctx, const char *name, const char *source, int nkernels,
                              const char *const *kernel_names, td_cuda_module **out)
{
    return td_cuda_module_load_options(ctx, name, source, 0, NULL, nkernels, kernel_names, out);
}

static const char kernel_start[] = "extern \"C\" __global__";

void td_cuda_free_parts(char **sources, char **names, int count)
{
    for (int i = 0; i < count; i++)
        free(sources[i]), free(names[i]);
}

int td_cuda_split_source(const char *name, const char *source, int want, char **sources, char **names)
{
    const char *apart = strstr(source, TD_CUDA_APART);
    want = want < 1 ? 1 : want > TD_CUDA_MAX_PROGRAMS ? TD_CUDA_MAX_PROGRAMS : want;
    size_t head = apart ? (size_t)(apart - source) + strlen(TD_CUDA_APART) : 0;
    size_t body = strlen(source) - head;
    int count = 0;
    const char *from = source + head, *end = source + strlen(source);
    while (apart && want > 1 && from < end && count < want) {
        /* the share ends at the first kernel start past its size, or at the end */
        size_t share = body / (size_t)want ? body / (size_t)want : 1;
        const char *cut = count == want - 1 || (size_t)(end - from) <= share ? end : strstr(from + share, kernel_start);
        if (!cut)
            cut = end;
        size_t n = (size_t)(cut - from);
        sources[count] = malloc(head + n + 1);
        names[count] = malloc(strlen(name) + 32);
        if (!sources[count] || !names[count]) {
            td_cuda_free_parts(sources, names, count + 1);
            return -1;
        }
        memcpy(sources[count], source, head);
        memcpy(sources[count] + head, from, n);
        sources[count][head + n] = 0;
        count++;
        from = cut;
    }
    if (count <= 1) { /* one program: the source as it is */
        td_cuda_free_parts(sources, names, count);
        sources[0] = strdup(source);
        names[0] = strdup(name);
        if (!sources[0] || !names[0]) {
            td_cuda_free_parts(sources, names, 1);
            return -1;
        }
        return 1;
    }
    for (int i = 0; i < count; i++)
        snprintf(names[i], strlen(name) + 32, "%s part %d of %d", name, i + 1, count);
    return count;
}

/* Where text names kernel `name` as a definition does (" name("), or NULL. */
static const char *definition_of(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *at = strstr(text, name); at; at = strstr(at + 1, name))
        if (at > text && at[-1] == ' ' && at[len] == '(')
            return at;
    return NULL;
}

/* The program of the `count` whose source defines kernel `name` (after the
 * common part's text, which defines none); 0 when none does. */
static int program_of(char *const *sources, int count, const char *name)
{
    for (int k = 0; k < count; k++)
        if (definition_of(sources[k], name))
            return k;
    return 0;
}

static const td_cuda_lazy_ref *const NO_REFS = NULL;
static td_status lazy_program(td_ctx *ctx, const td_cuda_module *mod, int k, char **program, char **pname);
static td_status install_lazy(td_ctx *ctx, struct td_cuda *cuda, const td_cuda_module *mod, int k, const td_blob *image);

/* A module's programs compiled, to be loaded (td_cuda_module_compile). */
struct td_cuda_build {
    char *name;
    int nkernels, count, nbuilt;   /* the module's kernels and programs; the refs' programs after those */
    const char *const *kernel_names;
    int *home;                     /* by kernel: its program */
    td_blob images[TD_CUDA_MAX_PROGRAMS + TD_CUDA_MAX_PREFETCH];
    td_cuda_lazy_ref built[TD_CUDA_MAX_PREFETCH];
};

void td_cuda_build_free(td_cuda_build *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->count + b->nbuilt; i++)
        td_blob_free(&b->images[i]);
    free(b->home);
    free(b->name);
    free(b);
}

/* td_cuda_module_load_options's programs, and the lazy kernels
 * refs[0..nrefs), built in the same pool of threads (each with its
 * module's options). A failure among those is left for their launch: the
 * module is then compiled alone. */
static td_status compile_module(td_ctx *ctx, const char *name, const char *source, int noptions,
                                const char *const *options, int nkernels, const char *const *kernel_names, int nrefs,
                                const td_cuda_lazy_ref *refs, td_cuda_build **out)
{
    *out = NULL;
    if (!td_cuda_device_ready(ctx))
        return td_ctx_error_status(ctx);
    enum { MAX = TD_CUDA_MAX_PROGRAMS + TD_CUDA_MAX_PREFETCH };
    char *sources[MAX], *names[MAX];
    int counts[MAX];
    const char *const *lists[MAX];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int count = td_cuda_split_source(name, source, cores > 0 ? (int)cores : 1, sources, names);
    if (count < 0)
        return td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory splitting the kernels of %s", name);
    td_cuda_build *b = calloc(1, sizeof *b);
    if (b) {
        b->name = strdup(name);
        b->home = calloc(nkernels > 0 ? (size_t)nkernels : 1, sizeof *b->home);
    }
    if (!b || !b->name || !b->home) {
        td_cuda_free_parts(sources, names, count);
        td_cuda_build_free(b);
        return td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory compiling the kernels of %s", name);
    }
    int total = count; /* the refs' programs come after the module's, b->built[j - count] the ref of program j */
    for (int r = 0; r < nrefs && r < TD_CUDA_MAX_PREFETCH; r++) {
        const td_cuda_lazy_ref *ref = &refs[r];
        bool again = false;
        for (int j = 0; j < total - count && !again; j++)
            again = b->built[j].mod == ref->mod && b->built[j].kernel == ref->kernel;
        if (again || !ref->mod || !ref->mod->source || ref->kernel < 0 || ref->kernel >= ref->mod->nkernels ||
            ref->mod->kernels[ref->kernel])
            continue;
        if (lazy_program(ctx, ref->mod, ref->kernel, &sources[total], &names[total]) != TD_OK) {
            td_ctx_clear_error(ctx); /* its launch will say */
            continue;
        }
        counts[total] = ref->mod->noptions, lists[total] = ref->mod->options;
        b->built[total - count] = *ref;
        total++;
    }
    for (int i = 0; i < count; i++)
        counts[i] = noptions, lists[i] = options;
    td_status st = td_nvrtc_compile_many(ctx, total, (const char *const *)names, (const char *const *)sources, NULL,
                                         cores > count ? (int)cores : count, counts, lists, b->images);
    /* each kernel's program: looked up there alone (a lookup that fails is an error to the driver's tools) */
    for (int i = 0; st == TD_OK && count > 1 && i < nkernels; i++)
        b->home[i] = program_of(sources, count, kernel_names[i]);
    td_cuda_free_parts(sources, names, total);
    if (st != TD_OK) { /* the images freed */
        td_cuda_build_free(b);
        if (total == count)
            return st;
        td_ctx_clear_error(ctx); /* perhaps the prefetched: the module alone, its programs from the cache */
        return compile_module(ctx, name, source, noptions, options, nkernels, kernel_names, 0, NO_REFS, out);
    }
    b->count = count, b->nbuilt = total - count;
    b->nkernels = nkernels, b->kernel_names = kernel_names;
    *out = b;
    return TD_OK;
}

td_status td_cuda_module_install(td_ctx *ctx, td_cuda_build *b, td_cuda_module **out)
{
    *out = NULL;
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda) {
        td_cuda_build_free(b);
        return td_ctx_error_status(ctx);
    }
    for (int j = 0; j < b->nbuilt; j++)
        if (!b->built[j].mod->kernels[b->built[j].kernel] && /* not built at a launch since */
            install_lazy(ctx, cuda, b->built[j].mod, b->built[j].kernel, &b->images[b->count + j]) != TD_OK)
            td_ctx_clear_error(ctx); /* its launch will build it again, and say */
    int nkernels = b->nkernels;
    td_cuda_module *mod = calloc(1, sizeof *mod);
    if (mod) {
        mod->nkernels = nkernels;
        mod->kernels = calloc(nkernels > 0 ? (size_t)nkernels : 1, sizeof *mod->kernels);
        mod->names = calloc(nkernels > 0 ? (size_t)nkernels : 1, sizeof *mod->names);
        mod->modules = calloc((size_t)b->count, sizeof *mod->modules);
    }
    td_status st = TD_OK;
    if (!mod || !mod->kernels || !mod->names || !mod->modules)
        st = td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory loading the kernels of %s", b->name);
    for (int i = 0; st == TD_OK && i < b->count; i++) {
        st = td_cu_check_at(ctx, cuda, cuda->cu.cuModuleLoadData(&mod->modules[i], b->images[i].data), "cuModuleLoadData",
                            b->name);
        mod->nmodules += st == TD_OK;
    }
    for (int i = 0; st == TD_OK && i < nkernels; i++) {
        if (!(mod->names[i] = strdup(b->kernel_names[i]))) {
            st = td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory loading the kernels of %s", b->name);
            break;
        }
        CUresult r = cuda->cu.cuModuleGetFunction(&mod->kernels[i], mod->modules[b->home[i]], b->kernel_names[i]);
        st = td_cu_check_at(ctx, cuda, r, "cuModuleGetFunction", b->kernel_names[i]);
    }
    td_cuda_build_free(b);
    if (st != TD_OK) {
        td_cuda_module_free(ctx, mod);
        return st;
    }
    *out = mod;
    return TD_OK;
}

td_status td_cuda_module_load_lazy(td_ctx *ctx, const char *name, const char *source, int noptions,
                                   const char *const *options, int nkernels, const char *const *kernel_names,
                                   td_cuda_module **out)
{
    *out = NULL;
    if (!strstr(source, TD_CUDA_APART) || nkernels < 1)
        return td_fail(ctx, TD_ERR_INPUT, "CUDA: module %s: a lazy module needs TD_CUDA_APART and kernels", name);
    td_cuda_module *mod = calloc(1, sizeof *mod);
    if (mod) {
        mod->nkernels = mod->nmodules = nkernels;
        mod->kernels = calloc((size_t)nkernels, sizeof *mod->kernels);
        mod->names = calloc((size_t)nkernels, sizeof *mod->names);
        mod->modules = calloc((size_t)nkernels, sizeof *mod->modules);
        mod->source = strdup(source);
        mod->name = strdup(name);
        mod->options = options;
        mod->noptions = noptions;
    }
    bool ok = mod && mod->kernels && mod->names && mod->modules && mod->source && mod->name;
    for (int i = 0; ok && i < nkernels; i++)
        ok = (mod->names[i] = strdup(kernel_names[i])) != NULL;
    if (!ok) {
        td_cuda_module_release(ctx->cuda, mod);
        return td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory for the module %s", name);
    }
    *out = mod;
    return TD_OK;
}

/* A lazy module's kernel k as a program of its own: the part before
 * TD_CUDA_APART, then its definition (from its `extern "C" __global__` to
 * the next one), named "<module>: <kernel>"; both malloc'd. */
static td_status lazy_program(td_ctx *ctx, const td_cuda_module *mod, int k, char **program, char **pname)
{
    *program = *pname = NULL;
    const char *kname = mod->names[k], *apart = strstr(mod->source, TD_CUDA_APART);
    size_t head = (size_t)(apart - mod->source) + strlen(TD_CUDA_APART), len = strlen(kname);
    /* its definition: from the last kernel start before its name */
    const char *named = definition_of(mod->source + head, kname), *def = NULL;
    for (const char *at = strstr(mod->source + head, kernel_start); named && at && at < named;
         at = strstr(at + 1, kernel_start))
        def = at;
    if (!def)
        return td_fail(ctx, TD_ERR_INPUT, "CUDA: module %s has no kernel %s", mod->name, kname);
    const char *next = strstr(def + 1, kernel_start);
    size_t n = next ? (size_t)(next - def) : strlen(def);
    *program = malloc(head + n + 1);
    *pname = malloc(strlen(mod->name) + len + 3);
    if (!*program || !*pname) {
        free(*program), free(*pname);
        *program = *pname = NULL;
        return td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory building %s", kname);
    }
    memcpy(*program, mod->source, head);
    memcpy(*program + head, def, n);
    (*program)[head + n] = 0;
    sprintf(*pname, "%s: %s", mod->name, kname);
    return TD_OK;
}

/* Loads image as lazy module mod's kernel k and looks the kernel up. */
static td_status install_lazy(td_ctx *ctx, struct td_cuda *cuda, const td_cuda_module *mod, int k, const td_blob *image)
{
    const char *kname = mod->names[k];
    td_status st =
        td_cu_check_at(ctx, cuda, cuda->cu.cuModuleLoadData(&mod->modules[k], image->data), "cuModuleLoadData", kname);
    if (st == TD_OK)
        st = td_cu_check_at(ctx, cuda, cuda->cu.cuModuleGetFunction(&mod->kernels[k], mod->modules[k], kname),
                            "cuModuleGetFunction", kname);
    return st;
}

/* A lazy module's kernel k, compiled through the cache and loaded. */
static td_status build_lazy_kernel(td_ctx *ctx, struct td_cuda *cuda, const td_cuda_module *mod, int k)
{
    char *program, *pname;
    td_status st = lazy_program(ctx, mod, k, &program, &pname);
    if (st != TD_OK)
        return st;
    td_blob image = {0};
    st = td_nvrtc_compile_options(ctx, pname, program, NULL, 0, mod->noptions, mod->options, &image);
    free(program);
    free(pname);
    if (st == TD_OK)
        st = install_lazy(ctx, cuda, mod, k, &image);
    td_blob_free(&image);
    return st;
}

td_status td_cuda_module_load_options(td_ctx *ctx, const char *name, const char *source, int noptions,
                                      const char *const *options, int nkernels, const char *const *kernel_names,
                                      td_cuda_module **out)
{
    td_cuda_build *b;
    td_status st = compile_module(ctx, name, source, noptions, options, nkernels, kernel_names, 0, NO_REFS, &b);
    *out = NULL;
    return st != TD_OK ? st : td_cuda_module_install(ctx, b, out);
}

td_status td_cuda_module_compile(td_ctx *ctx, const char *name, const char *source, int nkernels,
                                 const char *const *kernel_names, int nrefs, const td_cuda_lazy_ref *refs,
                                 td_cuda_build **out)
{
    return compile_module(ctx, name, source, 0, NULL, nkernels, kernel_names, nrefs, refs, out);
}

int64_t td_cuda_blocks(td_ctx *ctx, int64_t work, int64_t per_block)
{
    if (work <= 0)
        return 0;
    if (per_block < 1)
        per_block = 1;
    int64_t blocks = work / per_block + (work % per_block != 0);
    int sms = ctx->cuda && ctx->cuda->sm_count > 0 ? ctx->cuda->sm_count : 80;
    int64_t cap = (int64_t)sms * 32; /* grid-stride kernels: enough waves to fill the GPU, no more */
    return blocks < cap ? blocks : cap;
}

td_status td_cuda_launch(td_ctx *ctx, const td_cuda_module *mod, int kernel, int64_t blocks, unsigned threads,
                         void **args, const char *where)
{
    return td_cuda_launch_shared(ctx, mod, kernel, blocks, threads, 0, args, where);
}

td_status td_cuda_launch_shared(td_ctx *ctx, const td_cuda_module *mod, int kernel, int64_t blocks, unsigned threads,
                                size_t shared, void **args, const char *where)
{
    if (blocks <= 0)
        return TD_OK;
    if (shared > TD_CUDA_SHARED_MAX)
        return td_fail(ctx, TD_ERR_INPUT, "CUDA: %zu bytes of shared memory a block for kernel %d (%s), at most %d",
                       shared, kernel, where ? where : "?", TD_CUDA_SHARED_MAX);
    struct td_cuda *cuda = td_cuda_ready(ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (!mod || kernel < 0 || kernel >= mod->nkernels)
        return td_fail(ctx, TD_ERR_INPUT, "CUDA: no kernel %d to launch (%s)", kernel, where ? where : "?");
    if (!mod->kernels[kernel] && mod->source) { /* a lazy module's kernel, built on its first launch */
        td_status st = build_lazy_kernel(ctx, cuda, mod, kernel);
        if (st != TD_OK)
            return st;
    }
    if (blocks > 0x7fffffff)
        blocks = 0x7fffffff;
    /* a kernel that waits in TD_GRID_WAIT() may start while the one before it finishes (sm_90 on) */
    bool dependent = mod->waits && cuda->dependent_launches && cuda->cc_major >= 9 && cuda->cu.cuLaunchKernelEx;
    CUresult r;
    if (dependent) {
        td_cu_launch_attr attr = {.id = TD_CU_LAUNCH_PROGRAMMATIC, .value.allowed = 1};
        td_cu_launch_config config = {.grid = {(unsigned)blocks, 1, 1}, .block = {threads, 1, 1},
                                      .shared_bytes = (unsigned)shared, .stream = cuda->stream, .attrs = &attr,
                                      .nattrs = 1};
        r = cuda->cu.cuLaunchKernelEx(&config, mod->kernels[kernel], args, NULL);
    } else {
        r = cuda->cu.cuLaunchKernel(mod->kernels[kernel], (unsigned)blocks, 1, 1, threads, 1, 1, (unsigned)shared,
                                    cuda->stream, args, NULL);
    }
    if (r == TD_CUDA_SUCCESS)
        return TD_OK;
    char at[320];
    snprintf(at, sizeof at, "kernel %s, %s", mod->names[kernel], where ? where : "?");
    return td_cu_check_at(ctx, cuda, r, dependent ? "cuLaunchKernelEx" : "cuLaunchKernel", at);
}
