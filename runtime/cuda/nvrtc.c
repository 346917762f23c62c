/* nvrtc.c - compiles generated CUDA C++ with NVRTC into PTX or a cubin,
 * through the disk cache of cache.c.
 *
 * Takes a kernel's name and source and an architecture (compute_XX, sm_XX,
 * or the device's); gives the bytes that cuModuleLoadData takes. A failed
 * compile leaves on the context NVRTC's log and the source with numbered
 * lines, since a generated kernel has no file to open. The cache key is
 * FNV-1a/64 over (each part followed by a NUL byte): "tdc nvrtc 1", the
 * NVRTC version, the driver version (0 when no driver is loaded), the
 * strict flag, each option (ours, then the caller's), the name, then the
 * source. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

void td_blob_free(td_blob *b)
{
    if (!b)
        return;
    free(b->data);
    b->data = NULL;
    b->size = 0;
}

void td_nvrtc_cache_counts(td_ctx *ctx, int64_t *hits, int64_t *misses)
{
    const struct td_cuda *cuda = ctx->cuda;
    if (hits)
        *hits = cuda ? cuda->cache_hits : 0;
    if (misses)
        *misses = cuda ? cuda->cache_misses : 0;
}

/* "compute_90", "sm_80", "sm_90a", "compute_100f": what NVRTC's
 * --gpu-architecture takes (it rejects the numbers it does not know). */
static bool arch_is_valid(const char *arch)
{
    const char *p = strncmp(arch, "compute_", 8) == 0 ? arch + 8 : strncmp(arch, "sm_", 3) == 0 ? arch + 3 : NULL;
    if (!p || *p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == 'a' || *p == 'f')
        p++;
    return *p == 0;
}

/* The device's architecture: sm_XY when NVRTC knows it, else PTX for the
 * newest one NVRTC knows below it (the driver compiles PTX for newer GPUs). */
static td_status device_arch(td_ctx *ctx, struct td_cuda *cuda, char *arch, size_t size)
{
    int want = cuda->cc_major * 10 + cuda->cc_minor, count = 0, best = 0;
    nvrtcResult r = cuda->nvrtc.nvrtcGetNumSupportedArchs(&count);
    if (r != 0)
        return td_fail(ctx, TD_ERR_DEVICE, "NVRTC: nvrtcGetNumSupportedArchs: %s", cuda->nvrtc.nvrtcGetErrorString(r));
    int *archs = calloc(count > 0 ? (size_t)count : 1, sizeof *archs);
    if (!archs)
        return td_fail(ctx, TD_ERR_OOM, "NVRTC: out of memory");
    r = cuda->nvrtc.nvrtcGetSupportedArchs(archs);
    for (int i = 0; r == 0 && i < count; i++)
        if (archs[i] <= want && archs[i] > best)
            best = archs[i];
    int lowest = count > 0 ? archs[0] : 0;
    free(archs);
    if (r != 0)
        return td_fail(ctx, TD_ERR_DEVICE, "NVRTC: nvrtcGetSupportedArchs: %s", cuda->nvrtc.nvrtcGetErrorString(r));
    if (best == 0)
        return td_fail(ctx, TD_ERR_DEVICE, "NVRTC %d.%d cannot compile for the GPU (%s, sm_%d); its oldest is sm_%d",
                       cuda->nvrtc_major, cuda->nvrtc_minor, cuda->device_name, want, lowest);
    snprintf(arch, size, best == want ? "sm_%d" : "compute_%d", best);
    return TD_OK;
}

/* The source with numbered lines ("   12 | ..."), malloc'd; NULL without memory. */
static char *numbered_source(const char *source)
{
    size_t lines = 1, len = strlen(source);
    for (const char *p = source; *p; p++)
        lines += *p == '\n';
    size_t cap = len + lines * 16 + 1, used = 0;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    const char *line = source;
    for (size_t n = 1; *line; n++) {
        const char *end = strchr(line, '\n');
        int width = (int)(end ? (size_t)(end - line) : strlen(line));
        used += (size_t)snprintf(out + used, cap - used, "%5zu | %.*s\n", n, width, line);
        line = end ? end + 1 : line + width;
    }
    out[used] = 0;
    return out;
}

/* NVRTC's log, malloc'd and without trailing blank lines ("" when empty). */
static char *program_log(struct td_cuda *cuda, nvrtcProgram prog)
{
    size_t size = 0;
    char *log = NULL;
    if (cuda->nvrtc.nvrtcGetProgramLogSize(prog, &size) == 0 && (log = malloc(size + 1))) {
        if (cuda->nvrtc.nvrtcGetProgramLog(prog, log) != 0)
            size = 0;
        log[size] = 0;
    }
    if (!log)
        return NULL;
    size_t n = strlen(log);
    while (n > 0 && (log[n - 1] == '\n' || log[n - 1] == ' '))
        log[--n] = 0;
    return log;
}

static td_status compile_failed(td_ctx *ctx, const char *name, const char *why, const char *log, const char *source)
{
    char *numbered = numbered_source(source);
    td_status st = td_fail(ctx, TD_ERR_DEVICE, "NVRTC: %s: compilation failed: %s\n%s%s%s.cu:\n%s", name, why,
                           log ? log : "(no log)", "\n", name, numbered ? numbered : source);
    free(numbered);
    return st;
}

enum { NVRTC_INVALID_OPTION = 5 }; /* NVRTC_ERROR_INVALID_OPTION */

#define NVRTC_TRY(call, args)                                                                          \
    do {                                                                                               \
        nvrtcResult r_ = cuda->nvrtc.call args;                                                        \
        if (r_ != 0) {                                                                                 \
            st = td_fail(ctx, TD_ERR_DEVICE, "NVRTC: %s: " #call ": %s", name,                         \
                         cuda->nvrtc.nvrtcGetErrorString(r_));                                         \
            goto done;                                                                                 \
        }                                                                                              \
    } while (0)

/* Runs NVRTC: PTX when `ptx`, else a cubin, into *out. env_text is
 * TDC_NVRTC_OPTIONS as read for these options ("" when unset). */
static td_status nvrtc_run(td_ctx *ctx, struct td_cuda *cuda, const char *name, const char *source, int noptions,
                           const char *const *options, const char *env_text, bool ptx, bool strict, td_blob *out)
{
    td_status st = TD_OK;
    nvrtcProgram prog = NULL;
    char *log = NULL, *code = NULL;
    char file[300];
    snprintf(file, sizeof file, "%s.cu", name);
    NVRTC_TRY(nvrtcCreateProgram, (&prog, source, file, 0, NULL, NULL));
    nvrtcResult r = cuda->nvrtc.nvrtcCompileProgram(prog, noptions, options);
    log = program_log(cuda, prog);
    if (r == NVRTC_INVALID_OPTION && env_text[0]) { /* likely the user's options: NVRTC's word, no listing */
        st = td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: an option is not valid (TDC_NVRTC_OPTIONS is '%s'): %s", name, env_text,
                     log && log[0] ? log : cuda->nvrtc.nvrtcGetErrorString(r));
        goto done;
    }
    if (r != 0) {
        st = compile_failed(ctx, name, cuda->nvrtc.nvrtcGetErrorString(r), log, source);
        goto done;
    }
    if (strict && log && strstr(log, "warning")) {
        st = compile_failed(ctx, name, "a warning, and warnings are errors in strict mode", log, source);
        goto done;
    }
    size_t size = 0;
    if (ptx)
        NVRTC_TRY(nvrtcGetPTXSize, (prog, &size));
    else
        NVRTC_TRY(nvrtcGetCUBINSize, (prog, &size));
    if (!(code = malloc(size ? size : 1))) {
        st = td_fail(ctx, TD_ERR_OOM, "NVRTC: %s: out of memory for %zu bytes of code", name, size);
        goto done;
    }
    if (ptx)
        NVRTC_TRY(nvrtcGetPTX, (prog, code));
    else
        NVRTC_TRY(nvrtcGetCUBIN, (prog, code));
    out->data = code;
    out->size = size;
    code = NULL;
done:
    if (prog)
        cuda->nvrtc.nvrtcDestroyProgram(&prog);
    free(code);
    free(log);
    return st;
}

static uint64_t cache_key(const struct td_cuda *cuda, bool strict, int noptions, const char *const *options,
                          const char *name, const char *source)
{
    char versions[96];
    int driver = cuda->init_status == TD_OK && cuda->init_tried ? cuda->driver_version : 0;
    int n = snprintf(versions, sizeof versions, "tdc nvrtc 1%cnvrtc %d.%d%cdriver %d%cstrict %d", 0,
                     cuda->nvrtc_major, cuda->nvrtc_minor, 0, driver, 0, (int)strict);
    uint64_t h = td_fnv1a64(TD_FNV1A64_INIT, versions, (size_t)n + 1);
    for (int i = 0; i < noptions; i++)
        h = td_fnv1a64(h, options[i], strlen(options[i]) + 1);
    h = td_fnv1a64(h, name, strlen(name) + 1);
    return td_fnv1a64(h, source, strlen(source));
}

/* The caller's options: at most TD_NVRTC_MAX_OPTIONS, none NULL or empty. */
static td_status check_options(td_ctx *ctx, const char *name, int noptions, const char *const *options)
{
    if (noptions < 0 || noptions > TD_NVRTC_MAX_OPTIONS)
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: %d options: between 0 and %d can be given", name, noptions,
                       TD_NVRTC_MAX_OPTIONS);
    if (noptions > 0 && !options)
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: %d options, but the array of options is NULL", name, noptions);
    for (int i = 0; i < noptions; i++)
        if (!options[i] || !options[i][0])
            return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: option %d is %s", name, i, options[i] ? "empty" : "NULL");
    return TD_OK;
}

/* What every compile of one call shares: NVRTC, the architecture, the
 * options (ours, then the caller's) and the cache directory. */
enum { ENV_OPTIONS_MAX = 8, ENV_OPTIONS_BYTES = 512 };

typedef struct compile_setup {
    struct td_cuda *cuda;
    char device[32], arch_option[64], dir[1024];
    char env_text[ENV_OPTIONS_BYTES];    /* TDC_NVRTC_OPTIONS as read ("" when unset) */
    char env_options[ENV_OPTIONS_BYTES]; /* the same, its words NUL-ended */
    const char *all[3 + ENV_OPTIONS_MAX + TD_NVRTC_MAX_OPTIONS];
    int nall;
    bool ptx, strict, cached;
} compile_setup;

/* TDC_NVRTC_OPTIONS: NVRTC options for every compile, words apart by
 * spaces or tabs, after ours and before the caller's (whose options, such
 * as the optimizers' exact arithmetic, come last). At most ENV_OPTIONS_MAX
 * of them in ENV_OPTIONS_BYTES; an option NVRTC does not know fails the
 * compile, naming the variable. */
static td_status env_options(td_ctx *ctx, const char *name, compile_setup *s)
{
    const char *env = getenv("TDC_NVRTC_OPTIONS");
    s->env_text[0] = 0;
    if (!env || !env[0])
        return TD_OK;
    size_t len = strlen(env);
    if (len >= sizeof s->env_options)
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: TDC_NVRTC_OPTIONS is %zu bytes; at most %zu can be given", name,
                       len, sizeof s->env_options - 1);
    memcpy(s->env_text, env, len + 1);
    memcpy(s->env_options, env, len + 1);
    int count = 0;
    for (char *p = s->env_options; *p;) {
        while (*p == ' ' || *p == '\t')
            *p++ = 0;
        if (!*p)
            break;
        if (count == ENV_OPTIONS_MAX)
            return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: TDC_NVRTC_OPTIONS has more than %d options", name,
                           ENV_OPTIONS_MAX);
        s->all[s->nall++] = p;
        count++;
        while (*p && *p != ' ' && *p != '\t')
            p++;
    }
    return TD_OK;
}

static td_status setup(td_ctx *ctx, const char *name, const char *arch, unsigned flags, int noptions,
                       const char *const *options, compile_setup *s)
{
    if (arch && !arch_is_valid(arch))
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: %s: bad architecture '%s' (compute_XX or sm_XX)", name, arch);
    td_status st = check_options(ctx, name, noptions, options);
    if (st)
        return st;
    if ((st = td_nvrtc_load(ctx, &s->cuda)))
        return st;
    if (!arch) {
        if (!td_cuda_device_ready(ctx)) /* the device's architecture: its context is not needed */
            return td_ctx_error_status(ctx);
        if ((st = device_arch(ctx, s->cuda, s->device, sizeof s->device)))
            return st;
        arch = s->device;
    }
    s->ptx = strncmp(arch, "compute_", 8) == 0;
    s->strict = flags & TD_NVRTC_STRICT;
    snprintf(s->arch_option, sizeof s->arch_option, "--gpu-architecture=%s", arch);
    /* ours, then the caller's: the key takes them all, in this order */
    s->all[0] = "--std=c++17", s->all[1] = "-default-device", s->all[2] = s->arch_option;
    s->nall = 3;
    if ((st = env_options(ctx, name, s)))
        return st;
    for (int i = 0; i < noptions; i++)
        s->all[s->nall++] = options[i];
    s->cached = !(flags & TD_NVRTC_NO_CACHE) && td_kernel_cache_dir(s->dir, sizeof s->dir);
    return TD_OK;
}

/* One source, from the cache or through NVRTC (then into the cache). Reads
 * s and the context's NVRTC only; an error goes on ctx. *hit says which. */
static td_status compile_one(td_ctx *ctx, const compile_setup *s, const char *name, const char *source, td_blob *out,
                             bool *hit)
{
    uint64_t key = cache_key(s->cuda, s->strict, s->nall, s->all, name, source);
    const char *ext = s->ptx ? "ptx" : "cubin";
    *hit = s->cached && td_kernel_cache_get(s->dir, key, ext, out);
    if (*hit)
        return TD_OK;
    td_status st = nvrtc_run(ctx, s->cuda, name, source, s->nall, s->all, s->env_text, s->ptx, s->strict, out);
    if (st == TD_OK && s->cached)
        td_kernel_cache_put(s->dir, key, ext, out);
    return st;
}

td_status td_nvrtc_compile_options(td_ctx *ctx, const char *name, const char *source, const char *arch,
                                   unsigned flags, int noptions, const char *const *options, td_blob *out)
{
    if (!out)
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: td_nvrtc_compile: no output blob");
    out->data = NULL;
    out->size = 0;
    if (!name || !name[0] || !source)
        return td_fail(ctx, TD_ERR_INPUT, "NVRTC: td_nvrtc_compile: a kernel needs a name and a source");
    compile_setup s;
    td_status st = setup(ctx, name, arch, flags, noptions, options, &s);
    if (st)
        return st;
    bool hit;
    st = compile_one(ctx, &s, name, source, out, &hit);
    if (hit)
        s.cuda->cache_hits++;
    else
        s.cuda->cache_misses++;
    return st;
}

/* td_nvrtc_compile_many's threads: each takes the next source not taken. */
typedef struct many_job {
    const compile_setup *const *setups; /* each source's */
    const char *const *names, *const *sources;
    td_blob *out;
    td_status *status;
    char **errors;   /* each failure's message */
    bool *hits;
    int count;
    int next;        /* under lock */
    pthread_mutex_t lock;
} many_job;

static void *many_worker(void *arg)
{
    many_job *job = arg;
    td_ctx *mine = td_ctx_new(TD_DEVICE_CPU); /* its errors: the caller's context is not for threads */
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int i = job->next++;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->count)
            break;
        if (!mine) {
            job->status[i] = TD_ERR_OOM;
            continue;
        }
        job->status[i] = compile_one(mine, job->setups[i], job->names[i], job->sources[i], &job->out[i], &job->hits[i]);
        if (job->status[i] != TD_OK && td_ctx_error(mine))
            job->errors[i] = strdup(td_ctx_error(mine));
        td_ctx_clear_error(mine);
    }
    td_ctx_free(mine);
    return NULL;
}

td_status td_nvrtc_compile_many(td_ctx *ctx, int count, const char *const *names, const char *const *sources,
                                const char *arch, int nthreads, const int *noptions,
                                const char *const *const *options, td_blob *out)
{
    for (int i = 0; i < count; i++)
        out[i] = (td_blob){0};
    if (count <= 0)
        return TD_OK;
    /* a setup for each source, shared by those whose options are the same array */
    compile_setup *setups = calloc((size_t)count, sizeof *setups);
    const compile_setup **of = calloc((size_t)count, sizeof *of);
    if (!setups || !of) {
        free(setups), free(of);
        return td_fail(ctx, TD_ERR_OOM, "NVRTC: out of memory compiling %d programs", count);
    }
    int nsetups = 0;
    td_status st = TD_OK;
    for (int i = 0; i < count && st == TD_OK; i++) {
        int no = noptions ? noptions[i] : 0;
        const char *const *op = options ? options[i] : NULL;
        for (int j = 0; j < i && !of[i]; j++)
            if ((noptions ? noptions[j] : 0) == no && (options ? options[j] : NULL) == op)
                of[i] = of[j];
        if (!of[i] && (st = setup(ctx, names[i], arch, 0, no, op, &setups[nsetups])) == TD_OK)
            of[i] = &setups[nsetups++];
    }
    many_job job = {.setups = of, .names = names, .sources = sources, .out = out, .count = count};
    job.status = calloc((size_t)count, sizeof *job.status);
    job.errors = calloc((size_t)count, sizeof *job.errors);
    job.hits = calloc((size_t)count, sizeof *job.hits);
    pthread_t *threads = calloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof *threads);
    if (st == TD_OK && (!job.status || !job.errors || !job.hits || !threads))
        st = td_fail(ctx, TD_ERR_OOM, "NVRTC: out of memory compiling %d programs", count);
    if (st != TD_OK) {
        free(job.status), free(job.errors), free(job.hits), free(threads), free(setups), free(of);
        return st;
    }
    pthread_mutex_init(&job.lock, NULL);
    int started = 0;
    for (int t = 0; t < nthreads - 1 && t < count - 1; t++) /* and this thread */
        if (pthread_create(&threads[started], NULL, many_worker, &job) == 0)
            started++;
    many_worker(&job);
    for (int t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
    pthread_mutex_destroy(&job.lock);
    for (int i = 0; i < count; i++) {
        if (job.hits[i])
            of[i]->cuda->cache_hits++;
        else
            of[i]->cuda->cache_misses++;
        if (st == TD_OK && job.status[i] != TD_OK)
            st = job.errors[i] ? td_fail(ctx, job.status[i], "%s", job.errors[i])
                               : td_fail(ctx, job.status[i], "NVRTC: %s: out of memory", names[i]);
        free(job.errors[i]);
    }
    if (st != TD_OK)
        for (int i = 0; i < count; i++)
            td_blob_free(&out[i]);
    free(job.status), free(job.errors), free(job.hits), free(threads), free(setups), free(of);
    return st;
}

td_status td_nvrtc_compile_flags(td_ctx *ctx, const char *name, const char *source, const char *arch, unsigned flags,
                                 td_blob *out)
{
    return td_nvrtc_compile_options(ctx, name, source, arch, flags, 0, NULL, out);
}

td_status td_nvrtc_compile(td_ctx *ctx, const char *name, const char *source, const char *arch, td_blob *out)
{
    return td_nvrtc_compile_options(ctx, name, source, arch, 0, 0, NULL, out);
}
