/* cuda_internal.h - what the files of runtime/cuda/ share; nothing public.
 *
 * The few CUDA driver, NVRTC and cuBLAS types and entry points the runtime
 * uses, declared here rather than taken from cuda.h, nvrtc.h and
 * cublas_api.h, so the runtime builds on a machine without the toolkit. The
 * values and prototypes are those of CUDA 12 and 13 (cuda.h, nvrtc.h,
 * cublas_api.h); a name with a _v2 suffix is the symbol the headers' macros
 * map the plain name to. Each library is opened with dlopen the first time
 * it is needed and its functions are looked up into a table in the
 * context's td_cuda (loader.c); nothing is linked against CUDA. */
#ifndef TD_CUDA_INTERNAL_H
#define TD_CUDA_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

/* ---- the driver API (libcuda.so.1) ---- */
typedef int CUresult; /* CUDA_SUCCESS is 0 */
typedef int CUdevice;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef unsigned long long CUdeviceptr;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
/* cuLaunchKernelEx's configuration (CUlaunchConfig, CUlaunchAttribute):
 * value is a union of 64 bytes, of which a dependent launch sets the first
 * int (programmaticStreamSerializationAllowed) */
typedef struct td_cu_launch_attr {
    int id;
    char pad[4];
    union {
        char bytes[64];
        int allowed;
    } value;
} td_cu_launch_attr;
typedef struct td_cu_launch_config {
    unsigned grid[3], block[3], shared_bytes;
    CUstream stream;
    td_cu_launch_attr *attrs;
    unsigned nattrs;
} td_cu_launch_config;
_Static_assert(sizeof(td_cu_launch_attr) == 72 && offsetof(td_cu_launch_config, stream) == 32 &&
                   offsetof(td_cu_launch_config, attrs) == 40 && sizeof(td_cu_launch_config) == 56,
               "cuLaunchKernelEx's structures as cuda.h lays them out (LP64)");

enum {
    TD_CUDA_SUCCESS = 0,
    TD_CUDA_ERROR_NO_DEVICE = 100,
    TD_CU_ATTR_CC_MAJOR = 75, /* CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR */
    TD_CU_ATTR_CC_MINOR = 76,
    TD_CU_ATTR_SM_COUNT = 16,       /* CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT */
    TD_CU_STREAM_NON_BLOCKING = 1,  /* CU_STREAM_NON_BLOCKING */
    TD_CU_EVENT_DEFAULT = 0,
    TD_CU_CAPTURE_MODE_RELAXED = 2, /* CU_STREAM_CAPTURE_MODE_RELAXED */
    TD_CU_LAUNCH_PROGRAMMATIC = 6,  /* CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION */
};

typedef struct td_cuda_driver {
    CUresult (*cuInit)(unsigned flags);
    CUresult (*cuDriverGetVersion)(int *version);
    CUresult (*cuGetErrorName)(CUresult r, const char **name);
    CUresult (*cuGetErrorString)(CUresult r, const char **text);
    CUresult (*cuDeviceGetCount)(int *count);
    CUresult (*cuDeviceGet)(CUdevice *dev, int ordinal);
    CUresult (*cuDeviceGetName)(char *name, int len, CUdevice dev);
    CUresult (*cuDeviceGetAttribute)(int *value, int attribute, CUdevice dev);
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *c, CUdevice dev);
    CUresult (*cuDevicePrimaryCtxRelease)(CUdevice dev); /* _v2 */
    CUresult (*cuCtxSetCurrent)(CUcontext c);
    CUresult (*cuCtxSynchronize)(void);
    CUresult (*cuModuleLoadData)(CUmodule *m, const void *image);
    CUresult (*cuModuleUnload)(CUmodule m);
    CUresult (*cuModuleGetFunction)(CUfunction *f, CUmodule m, const char *name);
    CUresult (*cuLaunchKernel)(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                               unsigned bz, unsigned shared_bytes, CUstream s, void **params, void **extra);
    /* optional (CUDA 12): kernels launched plainly without it */
    CUresult (*cuLaunchKernelEx)(const td_cu_launch_config *config, CUfunction f, void **params, void **extra);
    CUresult (*cuMemAlloc)(CUdeviceptr *p, size_t bytes);                          /* _v2 */
    CUresult (*cuMemFree)(CUdeviceptr p);                                          /* _v2 */
    CUresult (*cuMemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);      /* _v2 */
    CUresult (*cuMemcpyDtoH)(void *dst, CUdeviceptr src, size_t bytes);            /* _v2 */
    CUresult (*cuMemGetInfo)(size_t *free_bytes, size_t *total_bytes);            /* _v2 */
    CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr dst, const void *src, size_t bytes, CUstream s); /* _v2 */
    CUresult (*cuMemcpyDtoHAsync)(void *dst, CUdeviceptr src, size_t bytes, CUstream s);       /* _v2 */
    CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream s); /* _v2 */
    CUresult (*cuMemsetD8Async)(CUdeviceptr dst, unsigned char value, size_t bytes, CUstream s);
    CUresult (*cuMemAllocHost)(void **p, size_t bytes);                            /* _v2 */
    CUresult (*cuMemFreeHost)(void *p);
    CUresult (*cuStreamCreate)(CUstream *s, unsigned flags);
    CUresult (*cuStreamDestroy)(CUstream s);                                       /* _v2 */
    CUresult (*cuStreamSynchronize)(CUstream s);
    CUresult (*cuStreamWaitEvent)(CUstream s, CUevent e, unsigned flags);
    CUresult (*cuEventCreate)(CUevent *e, unsigned flags);
    CUresult (*cuEventDestroy)(CUevent e);                                         /* _v2 */
    CUresult (*cuEventRecord)(CUevent e, CUstream s);
    CUresult (*cuEventSynchronize)(CUevent e);
    CUresult (*cuEventElapsedTime)(float *ms, CUevent start, CUevent end);
    /* graphs: optional (a step runs uncaptured without them) */
    CUresult (*cuStreamBeginCapture)(CUstream s, int mode);                        /* _v2 */
    CUresult (*cuStreamEndCapture)(CUstream s, CUgraph *g);
    CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *x, CUgraph g, unsigned long long flags);
    CUresult (*cuGraphLaunch)(CUgraphExec x, CUstream s);
    CUresult (*cuGraphExecDestroy)(CUgraphExec x);
    CUresult (*cuGraphDestroy)(CUgraph g);
    /* optional: without it no product is timed (gemm_tune.c) */
    CUresult (*cuStreamIsCapturing)(CUstream s, int *status); /* CU_STREAM_CAPTURE_STATUS_NONE is 0 */
} td_cuda_driver;

/* ---- NVRTC (libnvrtc.so) ---- */
typedef int nvrtcResult; /* NVRTC_SUCCESS is 0 */
typedef struct _nvrtcProgram *nvrtcProgram;

typedef struct td_nvrtc_api {
    const char *(*nvrtcGetErrorString)(nvrtcResult r);
    nvrtcResult (*nvrtcVersion)(int *major, int *minor);
    nvrtcResult (*nvrtcGetNumSupportedArchs)(int *count);
    nvrtcResult (*nvrtcGetSupportedArchs)(int *archs);
    nvrtcResult (*nvrtcCreateProgram)(nvrtcProgram *p, const char *src, const char *name, int nheaders,
                                      const char *const *headers, const char *const *include_names);
    nvrtcResult (*nvrtcDestroyProgram)(nvrtcProgram *p);
    nvrtcResult (*nvrtcCompileProgram)(nvrtcProgram p, int noptions, const char *const *options);
    nvrtcResult (*nvrtcGetProgramLogSize)(nvrtcProgram p, size_t *size);
    nvrtcResult (*nvrtcGetProgramLog)(nvrtcProgram p, char *log);
    nvrtcResult (*nvrtcGetPTXSize)(nvrtcProgram p, size_t *size);
    nvrtcResult (*nvrtcGetPTX)(nvrtcProgram p, char *ptx);
    nvrtcResult (*nvrtcGetCUBINSize)(nvrtcProgram p, size_t *size);
    nvrtcResult (*nvrtcGetCUBIN)(nvrtcProgram p, char *cubin);
} td_nvrtc_api;

/* ---- cuBLAS (libcublas.so) ---- */
typedef int cublasStatus_t; /* CUBLAS_STATUS_SUCCESS is 0 */
typedef struct cublasContext *cublasHandle_t;

/* cuBLASLt's handles, its algorithm (cublasLtMatmulAlgo_t) and a
 * heuristic's result (cublasLtMatmulHeuristicResult_t), as cublasLt.h of
 * CUDA 12 and 13 lays them out (tests/cuda/abi_check.c compares) */
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct td_lt_desc *cublasLtMatmulDesc_t;
typedef struct td_lt_layout *cublasLtMatrixLayout_t;
typedef struct td_lt_pref *cublasLtMatmulPreference_t;
typedef struct td_lt_algo {
    uint64_t data[8];
} td_lt_algo;
typedef struct td_lt_heuristic {
    td_lt_algo algo;
    size_t workspace_bytes;
    cublasStatus_t state;
    float waves;
    int reserved[4];
} td_lt_heuristic;
_Static_assert(sizeof(td_lt_algo) == 64 && sizeof(td_lt_heuristic) == 96 &&
                   offsetof(td_lt_heuristic, waves) == 76,
               "cuBLASLt's structures as cublasLt.h lays them out (LP64)");
enum {
    TD_LT_DESC_TRANSA = 3,                /* CUBLASLT_MATMUL_DESC_TRANSA (int32) */
    TD_LT_DESC_TRANSB = 4,                /* CUBLASLT_MATMUL_DESC_TRANSB (int32) */
    TD_LT_LAYOUT_BATCH_COUNT = 5,         /* CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT (int32) */
    TD_LT_LAYOUT_BATCH_STRIDE = 6,        /* CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET (int64) */
    TD_LT_PREF_MAX_WORKSPACE = 1,         /* CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES (uint64) */
    TD_LT_PREF_MIN_ALIGNMENT_A = 5,       /* CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES (uint32); B, C, D follow */
    TD_LT_DESC_EPILOGUE = 7,              /* CUBLASLT_MATMUL_DESC_EPILOGUE (uint32) */
    TD_LT_DESC_BIAS_POINTER = 8,          /* CUBLASLT_MATMUL_DESC_BIAS_POINTER (const void *) */
    TD_LT_EPILOGUE_RELU = 2,              /* CUBLASLT_EPILOGUE_RELU */
    TD_LT_EPILOGUE_BIAS = 4,              /* CUBLASLT_EPILOGUE_BIAS; RELU_BIAS is the two or'ed */
    TD_LT_PREF_REDUCTION_MASK = 3,        /* CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK (uint32) */
    TD_LT_REDUCTION_COMPUTE_TYPE = 2,     /* CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE */
};

typedef struct td_cublas_api {
    cublasStatus_t (*cublasCreate)(cublasHandle_t *h);  /* _v2 */
    cublasStatus_t (*cublasDestroy)(cublasHandle_t h);  /* _v2 */
    cublasStatus_t (*cublasGetVersion)(cublasHandle_t h, int *version); /* _v2 */
    cublasStatus_t (*cublasSetStream)(cublasHandle_t h, CUstream s);    /* _v2 */
    const char *(*cublasGetStatusName)(cublasStatus_t s);
    /* cudaDataType, cublasComputeType_t and cublasGemmAlgo_t are enums: int */
    cublasStatus_t (*cublasGemmStridedBatchedEx)(cublasHandle_t h, int transa, int transb, int m, int n, int k,
                                                 const void *alpha, const void *a, int a_type, int lda,
                                                 long long stride_a, const void *b, int b_type, int ldb,
                                                 long long stride_b, const void *beta, void *c, int c_type, int ldc,
                                                 long long stride_c, int batch, int compute_type, int algo);
    /* cuBLASLt's (libcublasLt.so, which libcublas.so loads: looked up
     * through cuBLAS's handle, each optional; gemm_tune.c tunes nothing
     * unless all are there). The enums are ints, the attributes' values
     * their documented widths. */
    cublasStatus_t (*cublasLtCreate)(cublasLtHandle_t *h);
    cublasStatus_t (*cublasLtDestroy)(cublasLtHandle_t h);
    size_t (*cublasLtGetVersion)(void);
    cublasStatus_t (*cublasLtMatmulDescCreate)(cublasLtMatmulDesc_t *d, int compute_type, int scale_type);
    cublasStatus_t (*cublasLtMatmulDescDestroy)(cublasLtMatmulDesc_t d);
    cublasStatus_t (*cublasLtMatmulDescSetAttribute)(cublasLtMatmulDesc_t d, int attr, const void *buf, size_t size);
    cublasStatus_t (*cublasLtMatrixLayoutCreate)(cublasLtMatrixLayout_t *l, int type, uint64_t rows, uint64_t cols,
                                                 int64_t ld);
    cublasStatus_t (*cublasLtMatrixLayoutDestroy)(cublasLtMatrixLayout_t l);
    cublasStatus_t (*cublasLtMatrixLayoutSetAttribute)(cublasLtMatrixLayout_t l, int attr, const void *buf,
                                                       size_t size);
    cublasStatus_t (*cublasLtMatmulPreferenceCreate)(cublasLtMatmulPreference_t *p);
    cublasStatus_t (*cublasLtMatmulPreferenceDestroy)(cublasLtMatmulPreference_t p);
    cublasStatus_t (*cublasLtMatmulPreferenceSetAttribute)(cublasLtMatmulPreference_t p, int attr, const void *buf,
                                                           size_t size);
    cublasStatus_t (*cublasLtMatmulAlgoGetHeuristic)(cublasLtHandle_t h, cublasLtMatmulDesc_t d,
                                                     cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                                     cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t dd,
                                                     cublasLtMatmulPreference_t p, int requested,
                                                     td_lt_heuristic *results, int *returned);
    cublasStatus_t (*cublasLtMatmulAlgoCheck)(cublasLtHandle_t h, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
                                              cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                                              cublasLtMatrixLayout_t dd, const td_lt_algo *algo,
                                              td_lt_heuristic *result);
    cublasStatus_t (*cublasLtMatmul)(cublasLtHandle_t h, cublasLtMatmulDesc_t d, const void *alpha, const void *a,
                                     cublasLtMatrixLayout_t la, const void *b, cublasLtMatrixLayout_t lb,
                                     const void *beta, const void *c, cublasLtMatrixLayout_t lc, void *dd,
                                     cublasLtMatrixLayout_t ld, const td_lt_algo *algo, void *workspace,
                                     size_t workspace_bytes, CUstream s);
} td_cublas_api;

/* One library: opened at most once per context. A failed open is kept (its
 * message in `why`) so it is not retried on every call. */
typedef struct td_cuda_lib {
    void *handle;
    bool tried;
    char path[256]; /* the name that opened, or the first one tried */
    char why[512];  /* dlerror's text, or the symbol that was missing */
} td_cuda_lib;

/* The CUDA state of one context. */
struct td_cuda {
    td_cuda_lib driver_lib, nvrtc_lib, cublas_lib;
    pthread_t preloader; /* loader.c: opens NVRTC and cuBLAS while the GPU comes up */
    bool preloading;     /* preloader runs or has not been joined */
    pthread_mutex_t preload_lock; /* guards nvrtc_preloaded; with preload_done, made where preload_sync */
    pthread_cond_t preload_done;
    bool nvrtc_preloaded, preload_sync;
    td_cuda_driver cu;
    td_nvrtc_api nvrtc;
    td_cublas_api cublas;
    /* td_cuda_init's outcome: once tried, the status and message stay;
     * the device's alone (td_cuda_device_ready) likewise */
    bool init_tried, device_tried;
    td_status init_status, device_status;
    char init_why[768];
    pthread_t context_thread; /* loader.c: retains the primary context while NVRTC builds for the device */
    bool context_pending;     /* context_thread runs or has not been joined */
    CUresult context_result;  /* its cuDevicePrimaryCtxRetain's */
    int driver_version;        /* cuDriverGetVersion: 13000 for 13.0 */
    int nvrtc_major, nvrtc_minor;
    CUdevice device;
    CUcontext context;         /* the device's primary context, retained */
    int cc_major, cc_minor;    /* compute capability of the device */
    char device_name[128];
    int sm_count;              /* streaming multiprocessors */
    CUstream stream;           /* every launch, copy and cuBLAS call of the context */
    cublasHandle_t cublas_handle; /* created on the first contraction (gemm.c) */
    bool allow_tf32;           /* f32 contractions may use TF32 tensor cores */
    bool cublas_always;        /* small products too go to cuBLAS (td_cuda_small_products) */
    bool dependent_launches;   /* a waiting module's kernels launched programmatically (td_cuda_dependent_launches) */
    bool tune_products;        /* tensor-core products timed once (gemm_tune.c, td_cuda_tune_products) */
    struct td_gemm_tuning *tuning; /* gemm_tune.c's choices; NULL: none yet */
    td_cuda_module *gemm_module; /* gemm.c's generic kernel, compiled on first need */
    struct td_gemm_group *gemm_group; /* gemm.c's queue of small products (td_cuda_gemm_group_begin); NULL: none yet */
    /* td_nvrtc_compile's disk cache */
    int64_t cache_hits, cache_misses;
    td_cuda_module *optim_module; /* optim.c's kernels, compiled on first use */
    td_cuda_module *small_step_module; /* optim.c's td_small_step, compiled on first use */
    td_cuda_module *copy_module; /* optim.c's td_narrow_copy, compiled on first use */
    td_dptr sum_partials;      /* optim.c: one double per block of a sum of squares */
    td_dptr sum_partials_done; /* optim.c: the blocks of a sum of squares done, then 0 (in sum_partials' memory) */
};

/* loader.c */
/* The context's td_cuda, created on first use; NULL (with TD_ERR_OOM on
 * ctx) when memory cannot be had. */
struct td_cuda *td_cuda_state(td_ctx *ctx);
/* Loads NVRTC, or cuBLAS, into cuda->nvrtc / cuda->cublas. */
td_status td_nvrtc_load(td_ctx *ctx, struct td_cuda **out);
td_status td_cublas_load(td_ctx *ctx, struct td_cuda **out);
/* A source that holds TD_CUDA_APART (cuda_narrow_floats.h), the line
 * ending its common part (types and helpers; tdc's generated source has it
 * before the kernels), compiles as several NVRTC programs, on threads: the
 * common part, then a share of
 * the kernels after it, cut where a kernel begins (`extern "C"
 * __global__`), the shares of about equal size, at most `want` of them
 * (and TD_CUDA_MAX_PROGRAMS). Each program is cached on its own. Returns
 * the count, each program's source and name malloc'd into sources[] and
 * names[] (td_cuda_free_parts frees them): the source as it is, alone,
 * without the line or with want 1; -1 when out of memory. */
enum { TD_CUDA_MAX_PROGRAMS = 16 };
int td_cuda_split_source(const char *name, const char *source, int want, char **sources, char **names);
void td_cuda_free_parts(char **sources, char **names, int count);
/* Compiles `count` sources for arch (NULL: the context's GPU) on up to
 * nthreads threads (this one included), each through the disk cache as
 * td_nvrtc_compile_options does, source i with its own options
 * (noptions[i] of options[i]; NULL arrays: none); out[i] is source i's
 * image. On a failure the first failing source's error is the context's
 * and every out[i] is freed. */
td_status td_nvrtc_compile_many(td_ctx *ctx, int count, const char *const *names, const char *const *sources,
                                const char *arch, int nthreads, const int *noptions,
                                const char *const *const *options, td_blob *out);
/* Checks a driver call's result: TD_OK, or TD_ERR_DEVICE with "CUDA:
 * <call>: <CUDA_ERROR_NAME> (<its text>)" on ctx. */
td_status td_cu_check(td_ctx *ctx, struct td_cuda *cuda, CUresult r, const char *call);
td_status td_cublas_check(td_ctx *ctx, struct td_cuda *cuda, cublasStatus_t s, const char *call);

/* device.c */
/* The driver call `call` of a device operation, checked, with `where` (a
 * kernel and its .td line, or what the memory is for) in the message. */
td_status td_cu_check_at(td_ctx *ctx, struct td_cuda *cuda, CUresult r, const char *call, const char *where);
/* The context's CUDA state after td_cuda_init; NULL with the error on ctx. */
struct td_cuda *td_cuda_ready(td_ctx *ctx);
/* The same once the driver and the device are up (loader.c), their
 * context perhaps not yet: enough for NVRTC (the device's architecture)
 * and for a lazy module, which loads nothing. td_cuda_init waits for the
 * context; a failure to make it is td_cuda_init's. */
struct td_cuda *td_cuda_device_ready(td_ctx *ctx);
/* td_cuda_module_free for loader.c's release, which has the state but no
 * context; NULL is fine. */
void td_cuda_module_release(struct td_cuda *cuda, td_cuda_module *mod);
/* A module whose kernels are each compiled (a program of its own, through
 * the cache) and loaded at their first launch: for a source with
 * TD_CUDA_APART whose kernels after it each begin `extern "C" __global__`,
 * of which a program uses few (the runtime's products' and optimizers'
 * kernels, by dtype). `options` must outlive the module. Nothing is
 * compiled here; a kernel that fails to build fails its launch. */
td_status td_cuda_module_load_lazy(td_ctx *ctx, const char *name, const char *source, int noptions,
                                   const char *const *options, int nkernels, const char *const *kernel_names,
                                   td_cuda_module **out);
/* A kernel of a lazy module, to build beside a module's own programs. */
typedef struct td_cuda_lazy_ref {
    const td_cuda_module *mod;
    int kernel;
} td_cuda_lazy_ref;
enum { TD_CUDA_MAX_PREFETCH = 16 };
/* A module's programs and the lazy kernels refs[0..nrefs) (at most
 * TD_CUDA_MAX_PREFETCH; those built already, or named twice, skipped),
 * compiled in one pool of threads (through the cache) once the device is
 * known (td_cuda_device_ready), so while the driver still makes its
 * context; then loaded into their modules, which waits for the context:
 * a model's first step then builds none of the runtime's kernels it was
 * told of, one after another. A ref that fails to build is left for its
 * launch to build and report. install takes the build, whatever it
 * returns; build_free frees one not installed (NULL is fine).
 * kernel_names and the refs' modules must outlive the build. */
typedef struct td_cuda_build td_cuda_build;
td_status td_cuda_module_compile(td_ctx *ctx, const char *name, const char *source, int nkernels,
                                 const char *const *kernel_names, int nrefs, const td_cuda_lazy_ref *refs,
                                 td_cuda_build **out);
td_status td_cuda_module_install(td_ctx *ctx, td_cuda_build *build, td_cuda_module **out);
void td_cuda_build_free(td_cuda_build *build);
/* The lazy kernels a model's products and optimizer updates in `dtype` may
 * launch, into refs: the small and the grouped product (2); the update of
 * h's kind, the gradients' sum of squares and, with clipping, their
 * scaling (3 at most). Their count (0 for a dtype without such kernels),
 * or -1 with the error on ctx. */
int td_cuda_gemm_prefetch(td_ctx *ctx, td_dtype dtype, td_cuda_lazy_ref *refs);
int td_cuda_optim_prefetch(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, bool clip, td_cuda_lazy_ref *refs);
/* Marks every kernel of mod as starting with TD_GRID_WAIT()
 * (cuda_narrow_floats.h): td_cuda_launch may then launch it while the
 * kernel before it finishes. NULL is fine. */
void td_cuda_module_waits(td_cuda_module *mod);

/* optim.c: the optimizer kernels' CUDA source, assembled from the embedded
 * text of ../optim_kernels.h, the device's macros and td_optim_hparams
 * written at this build's offsets, its sizes asserted (malloc'd; NULL with
 * TD_ERR_OOM on ctx); and the NVRTC options it is compiled with. */
char *td_cuda_optim_source(td_ctx *ctx);
/* The same text with the small step's kernels (td_cuda_small_step) in
 * place of the others: a module of its own. */
char *td_cuda_small_step_source(td_ctx *ctx);
/* A train step's scalars (step.c): the host writes the first four to the
 * pinned copy before the step, the checks (td_check_step) read them from
 * there into the device's and write the rest to both. */
typedef struct td_step_gate {
    double lr, bias1, bias2_sqrt;
    int64_t step;
    double loss, norm, coef;
    int64_t ok, clipping;
} td_step_gate;
/* Tensors for one launch of the optimizer, norm and scale kernels: up to
 * TD_CUDA_SLICES of one dtype, passed by value (a train step's params in
 * one launch). A slice is a param, its gradient (the vector the norm and
 * scale kernels read), its state slots in the kernels' order (0 where the
 * configuration has none: td_cuda_slice_of), its length and weight decay. */
enum { TD_CUDA_SLICES = 32 };
typedef struct td_cuda_slice {
    uint64_t param, grad, state[3], n;
    double weight_decay;
    uint64_t copy;     /* 0, or the param's narrow copy, which the update writes too (td_model.dcopies) */
    int64_t copy_kind; /* 0: no copy; 1: bf16; 2: f16 (f32 params only) */
} td_cuda_slice;
typedef struct td_cuda_slices {
    td_cuda_slice at[TD_CUDA_SLICES];
    int count;
} td_cuda_slices;
td_cuda_slice td_cuda_slice_of(const td_optim_hparams *h, td_dtype dtype, size_t n, td_dptr param, td_dptr grad,
                               td_dptr state, double weight_decay);
/* Queues the narrow copy of n f32 elements at src into dst (dtype TD_BF16
 * or TD_F16), rounded as the optimizer's updates and tdc's casts round: a
 * param's copy made anew (td_model_sync_device). */
td_status td_cuda_narrow_copy(td_ctx *ctx, td_dptr src, td_dptr dst, td_dtype dtype, size_t n);
/* Its kernel's CUDA source, for the tests to compile without a GPU. */
const char *td_cuda_narrow_copy_source(void);
/* td_cuda_optim_update, td_cuda_scale and td_cuda_add_sum_squares over a
 * list (the slices' arguments already checked; the caller's job), the
 * sum written over *sum unless add. With `gate` (a train step's scalars
 * on the device, td_step_gate) the update and scale read the step's lr,
 * step and bias corrections (or clipping coefficient) from it, and do
 * nothing when the step failed its checks; gate 0: as the public ones. */
td_status td_cuda_optim_update_slices(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype,
                                      const td_cuda_slices *list, int64_t step, double lr, td_dptr gate);
/* A train step's checks, as the kernels take them (td_check_args in
 * optim.c's text): the loss (its dtype as 0 f32, 1 f64, 2 bf16, 3 f16),
 * nerrors pairs of gather error words, the clipping threshold (0: none),
 * the gate on the device they write, and a pinned copy of it for the host.
 * They make the loss and sqrt(*sum_squares) the gate's, ok when both are
 * finite and no gather's error flag is set, and its clipping coefficient;
 * with a pinned copy, the step's scalars (lr, bias1, bias2_sqrt, step) are
 * read from it, where the host wrote them before the launch, into the
 * gate for the update (no copy up a step).
 * td_cuda_check_of fills one (TD_ERR_INPUT for a loss of another dtype or
 * a NULL gate). */
typedef struct td_cuda_check {
    td_dptr loss;
    int loss_kind, nerrors;
    td_dptr errors;
    double clip;
    td_dptr gate;
    td_dptr host_gate; /* 0, or pinned host memory (cuMemAllocHost's: the device writes it where it is) the gate is copied to */
} td_cuda_check;
td_status td_cuda_check_of(td_ctx *ctx, td_dtype loss_dtype, td_dptr loss, td_dptr errors, int nerrors, double clip,
                           td_dptr gate, td_step_gate *host_gate, td_cuda_check *out);
/* The checks alone, on *sum_squares (td_step_check, one thread): for a
 * step with no trained param, where no sum of squares runs them. */
td_status td_cuda_run_check(td_ctx *ctx, const td_cuda_check *check, td_dptr sum_squares);
/* check: NULL, or the step's checks, run on the sum once it is complete
 * (by the kernel's last block: one launch fewer than td_cuda_run_check). */
td_status td_cuda_sum_squares_slices(td_ctx *ctx, td_dtype dtype, const td_cuda_slices *list, td_dptr sum, bool add,
                                     const td_cuda_check *check);
td_status td_cuda_scale_slices(td_ctx *ctx, td_dtype dtype, const td_cuda_slices *list, double coef, td_dptr gate);
/* A train step's sum of squares (over *sum), checks, clipping and update
 * in one launch of one block, for a list of at most TD_CUDA_SMALL_STEP
 * elements in all: two launches fewer than td_cuda_sum_squares_slices,
 * td_cuda_scale_slices and td_cuda_optim_update_slices, where a launch
 * is most of a small model's time. The check's host gate carries the
 * step's scalars (td_check_step), its gate takes the verdict. The sum is
 * one block's, in another order than the grid's: the norm may differ from
 * theirs in its last bits. */
enum { TD_CUDA_SMALL_STEP = 16384 };
/* Whether a train step whose trained params are `ndtypes` lists (one a
 * dtype), the first of `elements`, takes the small step. */
static inline bool td_cuda_takes_small_step(int ndtypes, size_t elements)
{
    return ndtypes == 1 && elements <= TD_CUDA_SMALL_STEP;
}
/* The elements of a list's slices in all (SIZE_MAX past it). */
size_t td_cuda_slices_elements(const td_cuda_slices *list);
td_status td_cuda_small_step(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, const td_cuda_slices *list,
                             td_dptr sum, const td_cuda_check *check);
enum { TD_CUDA_OPTIM_NOPTIONS = 4 };
extern const char *const td_cuda_optim_options[TD_CUDA_OPTIM_NOPTIONS];
/* the text of ../optim_kernels.h, embedded by the build (optim_kernels_text.c) */
extern const unsigned char td_optim_kernels_text[];

/* ../optim.c: what the GPU's optimizers share with the CPU's */
/* td_optim_update's checks, in its order, with `fn` naming the caller in
 * the messages; the pointers are only tested against NULL. */
td_status td_optim_check_update(td_ctx *ctx, const char *fn, const td_optim_hparams *h, td_dtype dtype, size_t n,
                                const void *param, const void *grad, const void *state, int64_t step, double lr,
                                double weight_decay);
/* Adam's scalars of `step`, 1 - beta1^step and (1 - beta2^step)^0.5, with
 * the host's pow: the same numbers for the CPU's update and the GPU's. */
void td_optim_adam_bias(const td_optim_hparams *h, int64_t step, double *bias_correction1,
                        double *bias_correction2_sqrt);

/* gemm.c */
/* The CUDA source of the generic contraction kernel (one extern "C"
 * kernel per dtype but bool), for the tests to compile without a GPU. */
const char *td_cuda_gemm_kernel_source(void);
/* Frees the queue of td_cuda_gemm_group_begin (loader.c, with the context). */
void td_cuda_gemm_group_free(struct td_cuda *cuda);
/* td_gemm_describe's counterpart: the route td_cuda_gemm_run would take,
 * after the same checks, written to buf without touching the GPU: "none: C
 * is empty"; "kernel <dtype> <items> x <m>x<n>x<k>" (": C = 0" or ": C =
 * beta C" when k or alpha is 0; " as C^T = B^T A^T" when transposed); or
 * "cublas <dtype> <compute>: <opA><opB> <m>x<n>x<k>; <A> ld=.., <B> ld=..,
 * <C> ld=.." in cuBLAS's column-major terms (its A is the caller's B, or
 * A^T, ...), then "; batch <count> strides <a> <b> <c>" for the strided
 * batch and "; <n> calls" when the host loops. A note on copies closes it
 * when C overlaps an input. */
td_status td_cuda_gemm_describe(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, char *buf,
                                size_t size);

/* gemm_tune.c: one call of gemm.c's cuBLAS route, in cuBLAS's column-major
 * terms (D = alpha op(A) op(B) + beta C, C and D one matrix), with the
 * element sizes of A (and B) and C. */
typedef struct td_cublas_call {
    int transa, transb, m, n, k;
    int ab_type, c_type, compute_type, ab_size, c_size;
    const void *a, *b;
    void *c;
    int lda, ldb, ldc;
    long long stride_a, stride_b, stride_c;
    int batch;
    const void *alpha, *beta;
    bool beta_zero;
    int epilogue;     /* TD_EPILOGUE_BIAS | TD_EPILOGUE_RELU, on cuBLASLt only; 0: none */
    const void *bias; /* TD_EPILOGUE_BIAS: m elements of c_type */
} td_cublas_call;
/* Queues the call: with cublasLtMatmul and the algorithm chosen for its
 * shape, or with cublasGemmStridedBatchedEx. A shape on tensor cores (bf16,
 * f16; f32 with TF32 allowed) and beta 0 is timed the first time it comes,
 * outside a stream capture: cuBLAS's default against cuBLASLt's heuristic's
 * first candidates, on the call's own operands, the choice kept for the
 * context and in the disk cache (so another process chooses the same).
 * A call with an epilogue runs on cuBLASLt alone: the algorithm tuned
 * alike among its candidates (the first where nothing is timed); where
 * cuBLASLt has none, *api is NULL and nothing is queued.
 * *s is the queuing call's status and *api its name; a failure of the
 * timing's own driver calls is returned, with its message on ctx. */
td_status td_cuda_cublas_run(td_ctx *ctx, struct td_cuda *cuda, const td_cublas_call *call, cublasStatus_t *s,
                             const char **api);
/* Whether a profiler or sanitizer (Nsight Compute or Systems,
 * compute-sanitizer) runs the process, by the environment their injection
 * sets: nothing is timed then. */
bool td_cuda_under_a_tool(void);
/* Frees the choices, cuBLASLt's handle and the workspace (loader.c, with the context). */
void td_cuda_gemm_tuning_free(struct td_cuda *cuda);

/* step.c: a train step on the GPU. td_cuda_train_step queues the step
 * (a CUDA graph from its second run on) and waits for its verdict: the
 * loss, the gradients' norm and whether the update was made (false: the
 * loss or the norm was not finite, and nothing changed), and the step's
 * GPU time in ms (events from before the batch's copy to after the step);
 * a bad gather index is an error with its message. */
/* meanwhile (NULL: none): fn(arg) is called once the step is queued and
 * before the wait, its status kept in `status` (the step is waited for and
 * accounted whatever it returns); while it runs, a train step or a loss on
 * the model fails, and td_train_stage may stage the next batch. */
typedef struct td_meanwhile {
    td_status (*fn)(void *arg);
    void *arg;
    td_status status;
} td_meanwhile;
td_status td_cuda_train_step(td_model *m, int train, const void *const *inputs, const td_dptr *device_inputs,
                             bool staged, int64_t step, double lr, td_meanwhile *meanwhile, double *loss,
                             double *norm, bool *updated, double *gpu_ms);
/* td_train_stage on the GPU: the batch into pinned memory and its copy up
 * queued on a stream of its own (two buffers: one staged batch's copy
 * overlaps the step before it); td_cuda_train_step with `staged` takes the
 * oldest staged batch. */
td_status td_cuda_train_stage(td_model *m, int train, const void *const *inputs);
/* memcpy on several threads where n is large (a batch into pinned memory). */
void td_copy_wide(void *dst, const void *src, size_t n);
td_status td_cuda_train_loss(td_model *m, int train, const void *const *inputs, double *loss);
void td_gpu_state_free(td_model *m);

/* cache.c: the disk cache of compiled kernels (docs/RUNTIME.md "CUDA:
 * loading and NVRTC" gives the key and the file format). */
#define TD_FNV1A64_INIT 0xcbf29ce484222325ull /* FNV-1a/64's offset basis */
uint64_t td_fnv1a64(uint64_t hash, const void *data, size_t size);
/* The cache's directory, or false when caching is off or no directory can
 * be named (no $TDC_CACHE, $XDG_CACHE_HOME or $HOME). */
bool td_kernel_cache_dir(char *dir, size_t size);
/* Reads the entry of `key` into *out (malloc'd): true on a hit. A missing,
 * short, corrupt or mismatched file is a miss. */
bool td_kernel_cache_get(const char *dir, uint64_t key, const char *ext, td_blob *out);
/* Writes the entry atomically (a temporary file in dir, then rename);
 * failures are ignored: the cache is only an optimisation. */
void td_kernel_cache_put(const char *dir, uint64_t key, const char *ext, const td_blob *blob);
/* The file of `key`: "<dir>/<16 hex digits>.<ext>". */
void td_kernel_cache_path(char *path, size_t size, const char *dir, uint64_t key, const char *ext);

#endif
