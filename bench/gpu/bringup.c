/* bench/gpu/bringup.c - the floor under any CUDA program's first step: a
 * process that opens the driver, makes device 0's primary context current
 * and allocates 1 MiB on it, as tdc's runtime does first, and nothing else
 * (no cuBLAS, no NVRTC, no kernel). bench.py times it beside a compiled
 * program's first step with a warm NVRTC cache: the difference is what the
 * program adds to the driver's bring-up.
 *
 *   bringup        prints one JSON line of each phase's milliseconds, then
 *                  "ready" (flushed), then releases the context and exits
 *
 * The driver is opened with dlopen, as the runtime opens it, so this builds
 * with any C compiler and no CUDA headers. Exit status 1, with the failing
 * call on stderr, where there is no driver or no GPU. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdio.h>
#include <time.h>

typedef int cu_result; /* CUresult: 0 is CUDA_SUCCESS */
typedef int cu_device;
typedef void *cu_context;
typedef unsigned long long cu_device_ptr;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void *symbol(void *lib, const char *name)
{
    void *p = dlsym(lib, name);
    if (!p)
        fprintf(stderr, "bringup: the driver has no %s\n", name);
    return p;
}

static int failed(const char *call, cu_result r)
{
    if (r == 0)
        return 0;
    fprintf(stderr, "bringup: %s: CUresult %d\n", call, r);
    return 1;
}

int main(void)
{
    double t0 = now_ms();
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "bringup: no CUDA driver: %s\n", dlerror());
        return 1;
    }
    cu_result (*init)(unsigned) = (cu_result(*)(unsigned))symbol(lib, "cuInit");
    cu_result (*device_get)(cu_device *, int) = (cu_result(*)(cu_device *, int))symbol(lib, "cuDeviceGet");
    cu_result (*retain)(cu_context *, cu_device) =
        (cu_result(*)(cu_context *, cu_device))symbol(lib, "cuDevicePrimaryCtxRetain");
    cu_result (*release)(cu_device) = (cu_result(*)(cu_device))symbol(lib, "cuDevicePrimaryCtxRelease_v2");
    cu_result (*set_current)(cu_context) = (cu_result(*)(cu_context))symbol(lib, "cuCtxSetCurrent");
    cu_result (*mem_alloc)(cu_device_ptr *, size_t) = (cu_result(*)(cu_device_ptr *, size_t))symbol(lib, "cuMemAlloc_v2");
    cu_result (*mem_free)(cu_device_ptr) = (cu_result(*)(cu_device_ptr))symbol(lib, "cuMemFree_v2");
    if (!init || !device_get || !retain || !release || !set_current || !mem_alloc || !mem_free)
        return 1;
    double t1 = now_ms();
    if (failed("cuInit", init(0)))
        return 1;
    double t2 = now_ms();
    cu_device dev;
    cu_context ctx;
    if (failed("cuDeviceGet", device_get(&dev, 0)) || failed("cuDevicePrimaryCtxRetain", retain(&ctx, dev)) ||
        failed("cuCtxSetCurrent", set_current(ctx)))
        return 1;
    double t3 = now_ms();
    cu_device_ptr p;
    if (failed("cuMemAlloc", mem_alloc(&p, 1 << 20)))
        return 1;
    double t4 = now_ms();
    printf("{\"dlopen_ms\": %.3f, \"cuInit_ms\": %.3f, \"context_ms\": %.3f, \"first_alloc_ms\": %.3f}\nready\n",
           t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    fflush(stdout);
    if (failed("cuMemFree", mem_free(p)) || failed("cuDevicePrimaryCtxRelease", release(dev)))
        return 1;
    return 0;
}
