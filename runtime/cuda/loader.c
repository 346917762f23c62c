/* loader.c - opens the CUDA driver, NVRTC and cuBLAS with dlopen, on first
 * need, into the function tables of the context's td_cuda
 * (cuda_internal.h), and brings up the GPU (td_cuda_init). Nothing links
 * against CUDA, so a binary built here starts on a machine with no GPU and
 * no driver, and only a request for the GPU finds out. Each library is
 * tried under its versioned sonames, its plain name, then in
 * $CUDA_HOME/lib64, $CUDA_PATH/lib64 and /usr/local/cuda/lib64; a failure
 * is kept on the context with dlerror's text, so it is not retried. Once
 * the driver sees a GPU, NVRTC and cuBLAS are opened on a thread of their
 * own while the driver makes the context (their loading, about 80 ms on an
 * H100 machine, then overlaps the context's); the first td_nvrtc_load or
 * td_cublas_load waits for that thread. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

/* A table entry: a symbol and where its pointer goes in the table. */
typedef struct td_cuda_sym {
    const char *name;
    size_t offset;
    bool optional; /* missing is fine: the pointer stays NULL */
} td_cuda_sym;

#define SYM(table, field, symbol) {symbol, offsetof(table, field), false}
#define SYM_OPTIONAL(table, field, symbol) {symbol, offsetof(table, field), true}

static const td_cuda_sym driver_syms[] = {
    SYM(td_cuda_driver, cuInit, "cuInit"),
    SYM(td_cuda_driver, cuDriverGetVersion, "cuDriverGetVersion"),
    SYM_OPTIONAL(td_cuda_driver, cuGetErrorName, "cuGetErrorName"),
    SYM_OPTIONAL(td_cuda_driver, cuGetErrorString, "cuGetErrorString"),
    SYM(td_cuda_driver, cuDeviceGetCount, "cuDeviceGetCount"),
    SYM(td_cuda_driver, cuDeviceGet, "cuDeviceGet"),
    SYM(td_cuda_driver, cuDeviceGetName, "cuDeviceGetName"),
    SYM(td_cuda_driver, cuDeviceGetAttribute, "cuDeviceGetAttribute"),
    SYM(td_cuda_driver, cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
    SYM(td_cuda_driver, cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
    SYM(td_cuda_driver, cuCtxSetCurrent, "cuCtxSetCurrent"),
    SYM(td_cuda_driver, cuCtxSynchronize, "cuCtxSynchronize"),
    SYM(td_cuda_driver, cuModuleLoadData, "cuModuleLoadData"),
    SYM(td_cuda_driver, cuModuleUnload, "cuModuleUnload"),
    SYM(td_cuda_driver, cuModuleGetFunction, "cuModuleGetFunction"),
    SYM(td_cuda_driver, cuLaunchKernel, "cuLaunchKernel"),
    SYM_OPTIONAL(td_cuda_driver, cuLaunchKernelEx, "cuLaunchKernelEx"),
    SYM(td_cuda_driver, cuMemAlloc, "cuMemAlloc_v2"),
    SYM(td_cuda_driver, cuMemFree, "cuMemFree_v2"),
    SYM(td_cuda_driver, cuMemcpyHtoD, "cuMemcpyHtoD_v2"),
    SYM(td_cuda_driver, cuMemcpyDtoH, "cuMemcpyDtoH_v2"),
    SYM(td_cuda_driver, cuMemGetInfo, "cuMemGetInfo_v2"),
    SYM(td_cuda_driver, cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
    SYM(td_cuda_driver, cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
    SYM(td_cuda_driver, cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
    SYM(td_cuda_driver, cuMemsetD8Async, "cuMemsetD8Async"),
    SYM(td_cuda_driver, cuMemAllocHost, "cuMemAllocHost_v2"),
    SYM(td_cuda_driver, cuMemFreeHost, "cuMemFreeHost"),
    SYM(td_cuda_driver, cuStreamCreate, "cuStreamCreate"),
    SYM(td_cuda_driver, cuStreamDestroy, "cuStreamDestroy_v2"),
    SYM(td_cuda_driver, cuStreamSynchronize, "cuStreamSynchronize"),
    SYM(td_cuda_driver, cuStreamWaitEvent, "cuStreamWaitEvent"),
    SYM(td_cuda_driver, cuEventCreate, "cuEventCreate"),
    SYM(td_cuda_driver, cuEventDestroy, "cuEventDestroy_v2"),
    SYM(td_cuda_driver, cuEventRecord, "cuEventRecord"),
    SYM(td_cuda_driver, cuEventSynchronize, "cuEventSynchronize"),
    SYM(td_cuda_driver, cuEventElapsedTime, "cuEventElapsedTime"),
    SYM_OPTIONAL(td_cuda_driver, cuStreamBeginCapture, "cuStreamBeginCapture_v2"),
    SYM_OPTIONAL(td_cuda_driver, cuStreamEndCapture, "cuStreamEndCapture"),
    SYM_OPTIONAL(td_cuda_driver, cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"),
    SYM_OPTIONAL(td_cuda_driver, cuGraphLaunch, "cuGraphLaunch"),
    SYM_OPTIONAL(td_cuda_driver, cuGraphExecDestroy, "cuGraphExecDestroy"),
    SYM_OPTIONAL(td_cuda_driver, cuGraphDestroy, "cuGraphDestroy"),
    SYM_OPTIONAL(td_cuda_driver, cuStreamIsCapturing, "cuStreamIsCapturing"),
};

static const td_cuda_sym nvrtc_syms[] = {
    SYM(td_nvrtc_api, nvrtcGetErrorString, "nvrtcGetErrorString"),
    SYM(td_nvrtc_api, nvrtcVersion, "nvrtcVersion"),
    SYM(td_nvrtc_api, nvrtcGetNumSupportedArchs, "nvrtcGetNumSupportedArchs"),
    SYM(td_nvrtc_api, nvrtcGetSupportedArchs, "nvrtcGetSupportedArchs"),
    SYM(td_nvrtc_api, nvrtcCreateProgram, "nvrtcCreateProgram"),
    SYM(td_nvrtc_api, nvrtcDestroyProgram, "nvrtcDestroyProgram"),
    SYM(td_nvrtc_api, nvrtcCompileProgram, "nvrtcCompileProgram"),
    SYM(td_nvrtc_api, nvrtcGetProgramLogSize, "nvrtcGetProgramLogSize"),
    SYM(td_nvrtc_api, nvrtcGetProgramLog, "nvrtcGetProgramLog"),
    SYM(td_nvrtc_api, nvrtcGetPTXSize, "nvrtcGetPTXSize"),
    SYM(td_nvrtc_api, nvrtcGetPTX, "nvrtcGetPTX"),
    SYM(td_nvrtc_api, nvrtcGetCUBINSize, "nvrtcGetCUBINSize"),
    SYM(td_nvrtc_api, nvrtcGetCUBIN, "nvrtcGetCUBIN"),
};

static const td_cuda_sym cublas_syms[] = {
    SYM(td_cublas_api, cublasCreate, "cublasCreate_v2"),
    SYM(td_cublas_api, cublasDestroy, "cublasDestroy_v2"),
    SYM(td_cublas_api, cublasGetVersion, "cublasGetVersion_v2"),
    SYM(td_cublas_api, cublasSetStream, "cublasSetStream_v2"),
    SYM_OPTIONAL(td_cublas_api, cublasGetStatusName, "cublasGetStatusName"),
    SYM(td_cublas_api, cublasGemmStridedBatchedEx, "cublasGemmStridedBatchedEx"),
    SYM_OPTIONAL(td_cublas_api, cublasLtCreate, "cublasLtCreate"),
    SYM_OPTIONAL(td_cublas_api, cublasLtDestroy, "cublasLtDestroy"),
    SYM_OPTIONAL(td_cublas_api, cublasLtGetVersion, "cublasLtGetVersion"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulDescCreate, "cublasLtMatmulDescCreate"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulDescDestroy, "cublasLtMatmulDescDestroy"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulDescSetAttribute, "cublasLtMatmulDescSetAttribute"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatrixLayoutCreate, "cublasLtMatrixLayoutCreate"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatrixLayoutDestroy, "cublasLtMatrixLayoutDestroy"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatrixLayoutSetAttribute, "cublasLtMatrixLayoutSetAttribute"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulPreferenceCreate, "cublasLtMatmulPreferenceCreate"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulPreferenceDestroy, "cublasLtMatmulPreferenceDestroy"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulPreferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulAlgoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmulAlgoCheck, "cublasLtMatmulAlgoCheck"),
    SYM_OPTIONAL(td_cublas_api, cublasLtMatmul, "cublasLtMatmul"),
};

static const char *const driver_names[] = {"libcuda.so.1", "libcuda.so", NULL};
static const char *const nvrtc_names[] = {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", NULL};
static const char *const cublas_names[] = {"libcublas.so.13", "libcublas.so.12", "libcublas.so", NULL};

static void cuda_release(struct td_cuda *cuda);

static struct td_cuda *cuda_state_or_null(td_ctx *ctx)
{
    if (!ctx->cuda && (ctx->cuda = calloc(1, sizeof *ctx->cuda))) {
        ctx->cuda_release = cuda_release;
        ctx->cuda->dependent_launches = true;
        const char *tune = getenv("TDC_GEMM_TUNE");
        ctx->cuda->tune_products = !(tune && (strcmp(tune, "off") == 0 || strcmp(tune, "0") == 0));
    }
    return ctx->cuda;
}

struct td_cuda *td_cuda_state(td_ctx *ctx)
{
    struct td_cuda *cuda = cuda_state_or_null(ctx);
    if (!cuda)
        td_fail(ctx, TD_ERR_OOM, "CUDA: out of memory for the CUDA state");
    return cuda;
}

static bool try_dlopen(td_cuda_lib *lib, const char *path)
{
    dlerror();
    /* NODELETE: a library stays mapped after dlclose, so the memory its
     * initialisers keep (NVRTC's, cuBLAS's) stays reachable instead of
     * reading as a leak, and a second context does not load it again */
    lib->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (lib->handle) {
        snprintf(lib->path, sizeof lib->path, "%.*s", (int)sizeof lib->path - 1, path); /* a name past 255 bytes cut */
        return true;
    }
    if (!lib->why[0]) { /* the first failure says most: the library's own name */
        const char *e = dlerror();
        snprintf(lib->why, sizeof lib->why, "%s", e ? e : path);
        snprintf(lib->path, sizeof lib->path, "%.*s", (int)sizeof lib->path - 1, path); /* a name past 255 bytes cut */
    }
    return false;
}

/* Opens the first of `names` that loads: as a soname (the loader's search
 * path), then in each CUDA installation directory. */
static bool open_lib(td_cuda_lib *lib, const char *const *names)
{
    lib->tried = true;
    for (int i = 0; names[i]; i++)
        if (try_dlopen(lib, names[i]))
            return true;
    const char *dirs[] = {getenv("CUDA_HOME"), getenv("CUDA_PATH"), "/usr/local/cuda"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        if (!dirs[d] || !dirs[d][0])
            continue;
        for (int i = 0; names[i]; i++) {
            char path[512];
            snprintf(path, sizeof path, "%s/lib64/%s", dirs[d], names[i]);
            if (try_dlopen(lib, path))
                return true;
        }
    }
    return false;
}

/* Fills `table` from the library; false (the missing symbol in lib->why)
 * when a required one is absent, and the library is closed again. */
static bool resolve(td_cuda_lib *lib, const td_cuda_sym *syms, size_t n, void *table)
{
    for (size_t i = 0; i < n; i++) {
        dlerror();
        void *p = dlsym(lib->handle, syms[i].name);
        if (!p && !syms[i].optional) {
            const char *e = dlerror();
            snprintf(lib->why, sizeof lib->why, "%s: dlsym(%s): %s", lib->path, syms[i].name, e ? e : "not found");
            dlclose(lib->handle);
            lib->handle = NULL;
            return false;
        }
        memcpy((char *)table + syms[i].offset, &p, sizeof p); /* a data pointer into a function pointer slot */
    }
    return true;
}

/* "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)", or the
 * number when the driver cannot name it. */
static void cu_result_text(const struct td_cuda *cuda, CUresult r, char *buf, size_t size)
{
    const char *name = NULL, *text = NULL;
    if (cuda->cu.cuGetErrorName)
        cuda->cu.cuGetErrorName(r, &name);
    if (cuda->cu.cuGetErrorString)
        cuda->cu.cuGetErrorString(r, &text);
    if (name && text)
        snprintf(buf, size, "%s (%s)", name, text);
    else if (name)
        snprintf(buf, size, "%s", name);
    else
        snprintf(buf, size, "CUresult %d", r);
}

td_status td_cu_check(td_ctx *ctx, struct td_cuda *cuda, CUresult r, const char *call)
{
    if (r == TD_CUDA_SUCCESS)
        return TD_OK;
    char text[256];
    cu_result_text(cuda, r, text, sizeof text);
    return td_fail(ctx, TD_ERR_DEVICE, "CUDA: %s: %s", call, text);
}

td_status td_cublas_check(td_ctx *ctx, struct td_cuda *cuda, cublasStatus_t s, const char *call)
{
    if (s == 0)
        return TD_OK;
    const char *name = cuda->cublas.cublasGetStatusName ? cuda->cublas.cublasGetStatusName(s) : NULL;
    if (name)
        return td_fail(ctx, TD_ERR_DEVICE, "cuBLAS: %s: %s", call, name);
    return td_fail(ctx, TD_ERR_DEVICE, "cuBLAS: %s: cublasStatus_t %d", call, s);
}

/* Whether r is a failure of the driver's call `call`: then its message,
 * "CUDA: <call>: <result>", goes to why. */
static bool cu_fails(const struct td_cuda *cuda, CUresult r, const char *call, char *why, size_t size)
{
    if (r == TD_CUDA_SUCCESS)
        return false;
    char text[256];
    cu_result_text(cuda, r, text, sizeof text);
    snprintf(why, size, "%sCUDA: %s: %s", r == TD_CUDA_ERROR_NO_DEVICE ? "no GPU: " : "", call, text);
    return true;
}

/* The first of the driver's calls that fails. */
#define CU_TRY(call, args)                                        \
    do {                                                          \
        if (cu_fails(cuda, cuda->cu.call args, #call, why, size)) \
            return TD_ERR_DEVICE;                                 \
    } while (0)

static void *preload(void *arg);

/* The preloading thread started, with what it signals through. */
static bool start_preload(struct td_cuda *cuda)
{
    if (pthread_mutex_init(&cuda->preload_lock, NULL) != 0)
        return false;
    if (pthread_cond_init(&cuda->preload_done, NULL) != 0) {
        pthread_mutex_destroy(&cuda->preload_lock);
        return false;
    }
    cuda->preload_sync = true;
    return pthread_create(&cuda->preloader, NULL, preload, cuda) == 0;
}

/* The device's primary context, retained on a thread of its own (the
 * driver takes a tenth of a second or more to make it), while the caller
 * goes on with what needs the device alone: NVRTC's builds for it. */
static void *retain_context(void *arg)
{
    struct td_cuda *cuda = arg;
    cuda->context_result = cuda->cu.cuDevicePrimaryCtxRetain(&cuda->context, cuda->device);
    if (cuda->context_result != TD_CUDA_SUCCESS)
        cuda->context = NULL;
    return NULL;
}

/* Opens the driver and device 0, and starts retaining its primary context
 * (context_up finishes it); the reason for a failure goes to why. */
static td_status device_bring_up(struct td_cuda *cuda, char *why, size_t size)
{
    if (!open_lib(&cuda->driver_lib, driver_names)) {
        snprintf(why, size, "no CUDA driver (%s)", cuda->driver_lib.why);
        return TD_ERR_DEVICE;
    }
    if (!resolve(&cuda->driver_lib, driver_syms, sizeof driver_syms / sizeof driver_syms[0], &cuda->cu)) {
        snprintf(why, size, "the CUDA driver is too old or broken (%s)", cuda->driver_lib.why);
        return TD_ERR_DEVICE;
    }
    CU_TRY(cuInit, (0));
    CU_TRY(cuDriverGetVersion, (&cuda->driver_version));
    int count = 0;
    CU_TRY(cuDeviceGetCount, (&count));
    if (count == 0) {
        snprintf(why, size, "no GPU (the CUDA driver %d.%d sees no device)", cuda->driver_version / 1000,
                 cuda->driver_version % 1000 / 10);
        return TD_ERR_DEVICE;
    }
    /* after cuInit: libraries opened beside it slow it down where no other process holds the GPU */
    cuda->preloading = start_preload(cuda); /* else each library on first use */
    CU_TRY(cuDeviceGet, (&cuda->device, 0));
    CU_TRY(cuDeviceGetName, (cuda->device_name, (int)sizeof cuda->device_name, cuda->device));
    CU_TRY(cuDeviceGetAttribute, (&cuda->cc_major, TD_CU_ATTR_CC_MAJOR, cuda->device));
    CU_TRY(cuDeviceGetAttribute, (&cuda->cc_minor, TD_CU_ATTR_CC_MINOR, cuda->device));
    CU_TRY(cuDeviceGetAttribute, (&cuda->sm_count, TD_CU_ATTR_SM_COUNT, cuda->device));
    cuda->context_pending = pthread_create(&cuda->context_thread, NULL, retain_context, cuda) == 0; /* else in context_up */
    return TD_OK;
}

/* The primary context retained (waiting for its thread), current on this
 * thread, and the stream. */
static td_status context_up(struct td_cuda *cuda, char *why, size_t size)
{
    if (cuda->context_pending) {
        pthread_join(cuda->context_thread, NULL);
        cuda->context_pending = false;
    } else {
        retain_context(cuda);
    }
    if (cu_fails(cuda, cuda->context_result, "cuDevicePrimaryCtxRetain", why, size))
        return TD_ERR_DEVICE;
    CU_TRY(cuCtxSetCurrent, (cuda->context));
    CU_TRY(cuStreamCreate, (&cuda->stream, TD_CU_STREAM_NON_BLOCKING));
    return TD_OK;
}

/* The device alone, once: its status and message stay. */
static void device_try_init(struct td_cuda *cuda)
{
    if (cuda->device_tried)
        return;
    cuda->device_tried = true;
    cuda->device_status = device_bring_up(cuda, cuda->init_why, sizeof cuda->init_why);
}

/* The device and its context, once. */
static void cuda_try_init(struct td_cuda *cuda)
{
    if (cuda->init_tried)
        return;
    device_try_init(cuda);
    cuda->init_tried = true;
    cuda->init_status = cuda->device_status != TD_OK ? cuda->device_status : context_up(cuda, cuda->init_why, sizeof cuda->init_why);
}

td_status td_cuda_init(td_ctx *ctx)
{
    struct td_cuda *cuda = td_cuda_state(ctx);
    if (!cuda)
        return TD_ERR_OOM;
    cuda_try_init(cuda);
    if (cuda->init_status != TD_OK)
        return td_fail(ctx, cuda->init_status, "%s", cuda->init_why);
    return TD_OK;
}

struct td_cuda *td_cuda_device_ready(td_ctx *ctx)
{
    struct td_cuda *cuda = td_cuda_state(ctx);
    if (!cuda)
        return NULL;
    device_try_init(cuda);
    if (cuda->device_status != TD_OK) {
        td_fail(ctx, cuda->device_status, "%s", cuda->init_why);
        return NULL;
    }
    return cuda;
}

bool td_cuda_available(td_ctx *ctx, char *why, size_t size)
{
    struct td_cuda *cuda = cuda_state_or_null(ctx);
    const char *reason = "out of memory for the CUDA state";
    if (cuda) {
        cuda_try_init(cuda);
        if (cuda->init_status == TD_OK)
            reason = "";
        else
            reason = cuda->init_why;
    }
    if (why && size)
        snprintf(why, size, "%s", reason);
    return cuda && cuda->init_status == TD_OK;
}

/* Opens a library that is not the driver, unless tried: true when it
 * loaded. */
static bool open_and_resolve(td_cuda_lib *lib, const char *const *names, const td_cuda_sym *syms, size_t nsyms,
                             void *table)
{
    if (!lib->tried && open_lib(lib, names) && resolve(lib, syms, nsyms, table))
        lib->why[0] = 0;
    return lib->handle != NULL;
}

/* The preloading thread: NVRTC, then cuBLAS. NVRTC's first use waits for
 * NVRTC alone (the model's build starts while cuBLAS opens, 60-80 ms);
 * each library's fields are this thread's alone until it says so. */
static void *preload(void *arg)
{
    struct td_cuda *cuda = arg;
    open_and_resolve(&cuda->nvrtc_lib, nvrtc_names, nvrtc_syms, sizeof nvrtc_syms / sizeof nvrtc_syms[0], &cuda->nvrtc);
    pthread_mutex_lock(&cuda->preload_lock);
    cuda->nvrtc_preloaded = true;
    pthread_cond_broadcast(&cuda->preload_done);
    pthread_mutex_unlock(&cuda->preload_lock);
    open_and_resolve(&cuda->cublas_lib, cublas_names, cublas_syms, sizeof cublas_syms / sizeof cublas_syms[0],
                     &cuda->cublas);
    return NULL;
}

static void preload_join(struct td_cuda *cuda)
{
    if (cuda->preloading) {
        pthread_join(cuda->preloader, NULL);
        cuda->preloading = false;
    }
}

/* NVRTC's part of the preloading done (or no preloading). */
static void preload_wait_nvrtc(struct td_cuda *cuda)
{
    if (!cuda->preloading)
        return;
    pthread_mutex_lock(&cuda->preload_lock);
    while (!cuda->nvrtc_preloaded)
        pthread_cond_wait(&cuda->preload_done, &cuda->preload_lock);
    pthread_mutex_unlock(&cuda->preload_lock);
}

/* Opens a library that is not the driver, once; the failure's message
 * starts with `what` ("NVRTC", "cuBLAS"). */
static td_status load_lib(td_ctx *ctx, td_cuda_lib *lib, const char *what, const char *const *names,
                          const td_cuda_sym *syms, size_t nsyms, void *table)
{
    if (open_and_resolve(lib, names, syms, nsyms, table))
        return TD_OK;
    return td_fail(ctx, TD_ERR_DEVICE, "cannot load %s (%s; tried %s, %s, %s and under $CUDA_HOME/lib64, "
                                       "$CUDA_PATH/lib64, /usr/local/cuda/lib64)",
                   what, lib->why, names[0], names[1], names[2]);
}

td_status td_nvrtc_load(td_ctx *ctx, struct td_cuda **out)
{
    struct td_cuda *cuda = td_cuda_state(ctx);
    if (!cuda)
        return TD_ERR_OOM;
    preload_wait_nvrtc(cuda);
    bool fresh = !cuda->nvrtc_major && !cuda->nvrtc_minor; /* its version not asked yet */
    td_status st = load_lib(ctx, &cuda->nvrtc_lib, "NVRTC", nvrtc_names, nvrtc_syms,
                            sizeof nvrtc_syms / sizeof nvrtc_syms[0], &cuda->nvrtc);
    if (st)
        return st;
    if (fresh) {
        nvrtcResult r = cuda->nvrtc.nvrtcVersion(&cuda->nvrtc_major, &cuda->nvrtc_minor);
        if (r != 0)
            return td_fail(ctx, TD_ERR_DEVICE, "NVRTC: nvrtcVersion: %s", cuda->nvrtc.nvrtcGetErrorString(r));
    }
    *out = cuda;
    return TD_OK;
}

td_status td_cublas_load(td_ctx *ctx, struct td_cuda **out)
{
    struct td_cuda *cuda = td_cuda_state(ctx);
    if (!cuda)
        return TD_ERR_OOM;
    preload_join(cuda);
    td_status st = load_lib(ctx, &cuda->cublas_lib, "cuBLAS", cublas_names, cublas_syms,
                            sizeof cublas_syms / sizeof cublas_syms[0], &cuda->cublas);
    if (st)
        return st;
    *out = cuda;
    return TD_OK;
}

/* Unloads everything (the primary context too); NULL is fine. */
static void cuda_release(struct td_cuda *cuda)
{
    if (!cuda)
        return;
    preload_join(cuda);
    if (cuda->preload_sync) {
        pthread_cond_destroy(&cuda->preload_done);
        pthread_mutex_destroy(&cuda->preload_lock);
    }
    if (cuda->context_pending) /* the device was brought up and its context never needed */
        pthread_join(cuda->context_thread, NULL);
    td_cuda_module_release(cuda, cuda->optim_module); /* modules live in the primary context: unload first */
    td_cuda_module_release(cuda, cuda->small_step_module);
    td_cuda_module_release(cuda, cuda->copy_module);
    td_cuda_module_release(cuda, cuda->gemm_module);
    td_cuda_gemm_group_free(cuda);
    td_cuda_gemm_tuning_free(cuda);
    if (cuda->sum_partials)
        cuda->cu.cuMemFree(cuda->sum_partials);
    if (cuda->cublas_handle)
        cuda->cublas.cublasDestroy(cuda->cublas_handle);
    if (cuda->stream)
        cuda->cu.cuStreamDestroy(cuda->stream);
    if (cuda->context)
        cuda->cu.cuDevicePrimaryCtxRelease(cuda->device);
    td_cuda_lib *libs[] = {&cuda->cublas_lib, &cuda->nvrtc_lib, &cuda->driver_lib};
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++)
        if (libs[i]->handle)
            dlclose(libs[i]->handle);
    free(cuda);
}

td_device td_ctx_device(td_ctx *ctx)
{
    if (ctx->device != TD_DEVICE_AUTO)
        return ctx->device;
    char why[TD_ERROR_BYTES];
    if (td_cuda_available(ctx, why, sizeof why)) {
        ctx->device = TD_DEVICE_CUDA;
        ctx->device_auto = true;
    } else {
        char note[TD_ERROR_BYTES + 64];
        snprintf(note, sizeof note, "device auto: running on the CPU: %s", why);
        td_ctx_set_note(ctx, note);
        ctx->device = TD_DEVICE_CPU;
    }
    return ctx->device;
}
