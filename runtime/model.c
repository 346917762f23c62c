/* model.c - instances of compiled models: binding dims, planning, one
 * allocation per region, initialising params and optimizer state, and
 * evaluating sizes.
 *
 * tdc's generated C describes a model statically (td_model_desc: its dims,
 * params, regions, functions and train blocks, with a plan() and an
 * init_params()); this file turns that description and the run-time dims
 * into a td_model. The dims are checked first (a static dim keeps its
 * value, a run-time dim needs one of at least 1), then plan() checks the
 * program's run-time conditions and sizes the params and the workspace,
 * the layout it returns is checked against each param's size, and the
 * train blocks are checked and laid out here: the gradients mirror the
 * params region (same bytes, same offsets), and the optimizer region holds,
 * for each train block and each param it trains, the optimizer's state
 * slots end to end at a 64-byte boundary (m->optim_offsets). Each region is
 * allocated once (64-byte aligned), init_params() fills the params from an
 * RNG seeded here, and td_optim_init_state fills the state. Any failure
 * frees what was built and leaves one message on the context.
 * td_size_eval evaluates the compiler's normal form of a size (a rational
 * coefficient times powers of dims) in checked int64 arithmetic; cli.c
 * uses it for the shapes of inputs, outputs and params. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_internal.h"
#include "cuda/cuda_internal.h"
#include "td.h"

enum { REGION_ALIGN = 64 };

static const char *const REGION_NAMES[TD_REGION_COUNT] = {"params", "workspace", "grads", "optimizer"};

static int64_t gcd64(int64_t a, int64_t b)
{
    while (b) {
        int64_t r = a % b;
        a = b;
        b = r;
    }
    return a;
}

/* *acc *= base^exp, dividing out of *den what it shares with each factor
 * first, so that a result that fits never overflows on the way. False on
 * overflow. Terminates: base >= 2 overflows within 63 steps. */
static bool mul_power_reduced(int64_t *acc, int64_t *den, int64_t base, int exp)
{
    if (base == 1)
        return true;
    for (int k = 0; k < exp; k++) {
        int64_t factor = base, g = gcd64(factor, *den);
        factor /= g;
        *den /= g;
        if (__builtin_mul_overflow(*acc, factor, acc))
            return false;
    }
    return true;
}

int64_t td_size_eval(const td_size_expr *s, const int64_t *dims)
{
    if (!s || s->num < 0 || s->den <= 0 || s->nfactors < 0 || s->nfactors > TD_SIZE_MAX_FACTORS)
        return -1;
    int64_t den = s->den, num = s->num;
    for (int i = 0; i < s->nfactors; i++) { /* the denominator first: negative powers */
        int64_t d = dims[s->factor_dim[i]];
        if (d <= 0)
            return -1;
        if (s->factor_exp[i] < 0) {
            int64_t ignored = 1; /* nothing to reduce against yet */
            if (!mul_power_reduced(&den, &ignored, d, -s->factor_exp[i]))
                return -1;
        }
    }
    int64_t g = gcd64(num, den);
    if (g > 1)
        num /= g, den /= g;
    for (int i = 0; i < s->nfactors; i++)
        if (s->factor_exp[i] > 0 && !mul_power_reduced(&num, &den, dims[s->factor_dim[i]], s->factor_exp[i]))
            return -1;
    return num % den == 0 ? num / den : -1;
}

/* A param's bytes under the bound dims. */
static td_status param_bytes(td_model *m, int index, size_t *bytes)
{
    const td_tensor_desc *t = &m->desc->params[index];
    if (t->rank < 0 || t->rank > TD_MAX_RANK || (unsigned)t->dtype >= TD_DTYPE_COUNT)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: param '%s' has a bad rank (%d) or dtype", m->desc->name,
                       t->name, t->rank);
    int64_t shape[TD_MAX_RANK];
    for (int a = 0; a < t->rank; a++)
        if ((shape[a] = td_size_eval(&t->shape[a], m->dims)) < 0)
            return td_fail(m->ctx, TD_ERR_INPUT, "model %s: axis %d of param '%s' (%s) overflows or is not whole",
                           m->desc->name, a, t->name, t->shape_text ? t->shape_text : "");
    size_t elements;
    td_status st = td_shape_elements(m->ctx, t->rank, shape, &elements, t->name);
    if (st == TD_OK && !td_mul_size(elements, td_dtype_size(t->dtype), bytes))
        st = td_fail(m->ctx, TD_ERR_INPUT, "model %s: param '%s' needs more bytes than fit in size_t", m->desc->name,
                     t->name);
    return st;
}

/* Static dims keep their value (given as 0 or the same); run-time dims need
 * one of at least 1. */
static td_status bind_dims(td_model *m, const int64_t *dims)
{
    const td_model_desc *desc = m->desc;
    for (int i = 0; i < desc->ndims; i++) {
        const td_dim_desc *d = &desc->dims[i];
        int64_t given = dims ? dims[i] : 0;
        if (d->value < 0)
            return td_fail(m->ctx, TD_ERR_INPUT, "model %s: dim '%s' has a negative static value %lld", desc->name,
                           d->name, (long long)d->value);
        if (d->value > 0 && given != 0 && given != d->value)
            return td_fail(m->ctx, TD_ERR_INPUT, "dim '%s' is %lld in model %s, but %lld was given", d->name,
                           (long long)d->value, desc->name, (long long)given);
        if (d->value == 0 && given <= 0)
            return td_fail(m->ctx, TD_ERR_INPUT, "dim '%s' is bound at run time and needs a value of at least 1, not %lld",
                           d->name, (long long)given);
        m->dims[i] = d->value > 0 ? d->value : given;
    }
    return TD_OK;
}

/* Runs the model's plan and checks that each param lies inside its region,
 * aligned to its element size, so nothing that trusts the layout (loading
 * a checkpoint, an initialiser) can write past the allocation. */
static td_status plan_regions(td_model *m)
{
    const td_model_desc *desc = m->desc;
    if (!desc->plan)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s has no plan", desc->name);
    td_status st = desc->plan(m->ctx, m->dims, m->region_bytes, m->param_offsets);
    if (st != TD_OK)
        return td_ctx_error(m->ctx) ? st : td_fail(m->ctx, st, "model %s: the plan failed", desc->name);
    for (int i = 0; i < desc->nparams; i++) {
        size_t bytes, end, offset = m->param_offsets[i];
        if ((st = param_bytes(m, i, &bytes)) != TD_OK)
            return st;
        if (!td_add_size(offset, bytes, &end) || end > m->region_bytes[TD_REGION_PARAMS] ||
            offset % td_dtype_size(desc->params[i].dtype) != 0)
            return td_fail(m->ctx, TD_ERR_INPUT,
                           "model %s: the plan puts param '%s' (%zu bytes) at offset %zu of a %zu-byte params region",
                           desc->name, desc->params[i].name, bytes, offset, m->region_bytes[TD_REGION_PARAMS]);
    }
    return TD_OK;
}

/* A train block's own checks: its functions and flags, an optimizer kind
 * td_optim knows, a clip and a first learning rate that make sense, and
 * f32 or f64 for every param it trains (the optimizers' dtypes). The
 * optimizer's other hyper-parameters are checked by td_optim_init_state. */
static td_status check_train(td_model *m, int index)
{
    const td_model_desc *desc = m->desc;
    const td_train_desc *t = &desc->trains[index];
    const char *name = t->name ? t->name : "?";
    if (!t->name || !t->grad || !t->trained || !t->decay || t->ninputs < 0 || (t->ninputs > 0 && !t->inputs))
        return td_fail(m->ctx, TD_ERR_INPUT,
                       "model %s: train block %d ('%s') lacks a name, its grad function, its trained or decay flags, "
                       "or its inputs", desc->name, index, name);
    if (td_optim_state_slots(&t->optim) < 0)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: train block '%s' has an unknown optimizer kind %d", desc->name,
                       name, (int)t->optim.kind);
    if (!(t->clip >= 0) || !(t->optim.lr >= 0) || !(t->optim.weight_decay >= 0))
        return td_fail(m->ctx, TD_ERR_INPUT,
                       "model %s: train block '%s': clip %g, lr %g and weight_decay %g must be >= 0", desc->name, name,
                       t->clip, t->optim.lr, t->optim.weight_decay);
    td_schedule first = t->schedule;
    first.lr = t->optim.lr;
    double lr = td_schedule_lr(&first, 0);
    if (!(lr >= 0 && isfinite(lr)))
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: train block '%s': its schedule gives the learning rate %g at step 0",
                       desc->name, name, lr);
    for (int i = 0; i < desc->nparams; i++) {
        td_dtype dtype = desc->params[i].dtype;
        if (t->trained[i] && dtype != TD_F32 && dtype != TD_F64)
            return td_fail(m->ctx, TD_ERR_INPUT,
                           "model %s: train block '%s' trains param '%s' of dtype %s, but optimizers update f32 or f64",
                           desc->name, name, desc->params[i].name, td_dtype_name(dtype));
    }
    return TD_OK;
}

/* The gradients mirror the params region; the optimizer region holds, per
 * train block and trained param, td_optim_state_slots arrays of the
 * param's elements, each param's state at a 64-byte boundary. */
static td_status layout_training(td_model *m)
{
    const td_model_desc *desc = m->desc;
    m->region_bytes[TD_REGION_GRADS] = 0;
    m->region_bytes[TD_REGION_OPTIM] = 0;
    if (desc->ntrains == 0)
        return TD_OK;
    if (desc->ntrains < 0 || !desc->trains)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: %d train blocks but no array of them", desc->name,
                       desc->ntrains);
    size_t count, end = 0;
    if (!td_mul_size((size_t)desc->ntrains, (size_t)desc->nparams, &count) ||
        !(m->optim_offsets = calloc(count ? count : 1, sizeof *m->optim_offsets)))
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory", desc->name);
    m->region_bytes[TD_REGION_GRADS] = m->region_bytes[TD_REGION_PARAMS];
    for (int t = 0; t < desc->ntrains; t++) {
        td_status st = check_train(m, t);
        if (st != TD_OK)
            return st;
        size_t slots = (size_t)td_optim_state_slots(&desc->trains[t].optim);
        for (int i = 0; i < desc->nparams; i++) {
            size_t bytes, state, offset;
            if (!desc->trains[t].trained[i])
                continue;
            if ((st = param_bytes(m, i, &bytes)) != TD_OK)
                return st;
            bool fits = td_mul_size(bytes, slots, &state);
            if (fits && state == 0)
                continue; /* no state (sgd without momentum, or no elements): offset 0, unused */
            if (!fits || !td_add_size(end, REGION_ALIGN - 1, &offset) ||
                !td_add_size(offset / REGION_ALIGN * REGION_ALIGN, state, &end))
                return td_fail(m->ctx, TD_ERR_INPUT,
                               "model %s: the optimizer state of train block '%s' needs more bytes than fit in size_t",
                               desc->name, desc->trains[t].name);
            m->optim_offsets[(size_t)t * (size_t)desc->nparams + (size_t)i] = offset / REGION_ALIGN * REGION_ALIGN;
        }
    }
    m->region_bytes[TD_REGION_OPTIM] = end;
    return TD_OK;
}

static td_status alloc_regions(td_model *m)
{
    for (int r = 0; r < TD_REGION_COUNT; r++) {
        size_t bytes = m->region_bytes[r], rounded;
        if (bytes == 0)
            continue;
        if (!td_add_size(bytes, REGION_ALIGN - 1, &rounded) ||
            !(m->region[r] = aligned_alloc(REGION_ALIGN, rounded / REGION_ALIGN * REGION_ALIGN)))
            return td_fail(m->ctx, TD_ERR_OOM, "model %s: cannot allocate %zu bytes for the %s region",
                           m->desc->name, bytes, REGION_NAMES[r]);
    }
    /* Zeroed so that padding between params and between state arrays is
     * deterministic, and the gradients start as zeros; the workspace is
     * written before it is read. */
    for (int r = 0; r < TD_REGION_COUNT; r++)
        if (r != TD_REGION_WORKSPACE && m->region[r])
            memset(m->region[r], 0, m->region_bytes[r]);
    return TD_OK;
}

static td_status init_params(td_model *m, uint64_t seed)
{
    m->rng = (td_rng){seed, 0};
    if (!m->desc->init_params)
        return TD_OK;
    td_status st = m->desc->init_params(m);
    if (st != TD_OK && !td_ctx_error(m->ctx))
        td_fail(m->ctx, st, "model %s: initialising the params failed", m->desc->name);
    return st;
}

/* A fresh optimizer state (torch's lazy init) for every trained param. */
static td_status init_optim_state(td_model *m)
{
    const td_model_desc *desc = m->desc;
    for (int t = 0; t < desc->ntrains; t++) {
        const td_train_desc *train = &desc->trains[t];
        for (int i = 0; i < desc->nparams; i++) {
            size_t bytes, offset = m->optim_offsets[(size_t)t * (size_t)desc->nparams + (size_t)i];
            td_dtype dtype = desc->params[i].dtype;
            if (!train->trained[i])
                continue;
            td_status st = param_bytes(m, i, &bytes);
            if (st == TD_OK && bytes > 0)
                st = td_optim_init_state(m->ctx, &train->optim, dtype, bytes / td_dtype_size(dtype),
                                         m->region[TD_REGION_OPTIM] ? m->region[TD_REGION_OPTIM] + offset : NULL);
            if (st != TD_OK)
                return st;
        }
    }
    return TD_OK;
}

td_status td_model_tensor_bytes(td_model *m, const td_tensor_desc *t, size_t *bytes)
{
    int64_t shape[TD_MAX_RANK];
    if (t->rank < 0 || t->rank > TD_MAX_RANK || (unsigned)t->dtype >= TD_DTYPE_COUNT)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: '%s' has a bad rank (%d) or dtype", m->desc->name, t->name,
                       t->rank);
    for (int a = 0; a < t->rank; a++)
        if ((shape[a] = td_size_eval(&t->shape[a], m->dims)) < 0)
            return td_fail(m->ctx, TD_ERR_INPUT, "model %s: axis %d of '%s' overflows or is not whole", m->desc->name, a,
                           t->name);
    size_t elements;
    td_status st = td_shape_elements(m->ctx, t->rank, shape, &elements, t->name);
    if (st == TD_OK && !td_mul_size(elements, td_dtype_size(t->dtype), bytes))
        st = td_fail(m->ctx, TD_ERR_INPUT, "model %s: '%s' needs more bytes than fit in size_t", m->desc->name, t->name);
    return st;
}

/* *end grows by the tensors' bytes, each at a 64-byte boundary. */
static td_status stage_tensors(td_model *m, int n, const td_tensor_desc *t, size_t *end)
{
    for (int i = 0; i < n; i++) {
        size_t bytes, at;
        td_status st = td_model_tensor_bytes(m, &t[i], &bytes);
        if (st != TD_OK)
            return st;
        if (!td_add_size(*end, REGION_ALIGN - 1, &at) || !td_add_size(at / REGION_ALIGN * REGION_ALIGN, bytes, end))
            return td_fail(m->ctx, TD_ERR_INPUT, "model %s: the staging buffer needs more bytes than fit in size_t",
                           m->desc->name);
    }
    return TD_OK;
}

/* The staging buffer holds the inputs and outputs of the largest call. */
static td_status stage_size(td_model *m, size_t *bytes)
{
    *bytes = 0;
    for (int f = 0; f < m->desc->nfns; f++) {
        const td_fn_desc *fn = &m->desc->fns[f];
        size_t end = 0;
        td_status st = stage_tensors(m, fn->ninputs, fn->inputs, &end);
        if (st == TD_OK)
            st = stage_tensors(m, fn->noutputs, fn->outputs, &end);
        if (st != TD_OK)
            return st;
        *bytes = end > *bytes ? end : *bytes;
    }
    for (int t = 0; t < m->desc->ntrains; t++) {
        size_t end = 0;
        td_status st = stage_tensors(m, m->desc->trains[t].ninputs, m->desc->trains[t].inputs, &end);
        if (st != TD_OK)
            return st;
        *bytes = end > *bytes ? end : *bytes;
    }
    return TD_OK;
}

td_status td_model_stage_bytes(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, size_t *bytes)
{
    td_model view = {.ctx = ctx, .desc = desc, .dims = (int64_t *)dims}; /* what stage_size reads */
    return stage_size(&view, bytes);
}

/* A param's narrow copy on the GPU: its dtype, or TD_DTYPE_COUNT for none
 * (the kernels read the param itself). Only an f32 param has one, in bf16
 * or f16 (what optim.c's kernels write). */
static td_dtype copy_dtype(const td_model_desc *desc, int i)
{
    td_dtype t = desc->cuda_read_dtypes ? desc->cuda_read_dtypes[i] : desc->params[i].dtype;
    return desc->params[i].dtype == TD_F32 && (t == TD_BF16 || t == TD_F16) ? t : TD_DTYPE_COUNT;
}

td_status td_model_copy_bytes(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, size_t *offsets,
                              size_t *bytes)
{
    td_model view = {.ctx = ctx, .desc = desc, .dims = (int64_t *)dims}; /* what param_bytes reads */
    size_t end = 0;
    for (int i = 0; i < desc->nparams; i++) {
        td_dtype t = copy_dtype(desc, i);
        size_t param, at;
        if (offsets)
            offsets[i] = SIZE_MAX;
        if (t == TD_DTYPE_COUNT)
            continue;
        td_status st = param_bytes(&view, i, &param);
        if (st != TD_OK)
            return st;
        if (!td_add_size(end, REGION_ALIGN - 1, &at) || !td_add_size(at / REGION_ALIGN * REGION_ALIGN, param / 4 * 2, &end))
            return td_fail(ctx, TD_ERR_INPUT, "model %s: the params' copies need more bytes than fit in size_t", desc->name);
        if (offsets)
            offsets[i] = at / REGION_ALIGN * REGION_ALIGN;
    }
    *bytes = end;
    return TD_OK;
}

/* The params' narrow copies rewritten from the params on the device
 * (after the params were copied up): one kernel each, queued. */
static td_status refresh_copies(td_model *m)
{
    for (int i = 0; i < m->desc->nparams && m->dcopies; i++) {
        if (m->copy_offsets[i] == SIZE_MAX)
            continue;
        size_t bytes;
        td_status st = param_bytes(m, i, &bytes);
        if (st == TD_OK)
            st = td_cuda_narrow_copy(m->ctx, m->dregion[TD_REGION_PARAMS] + m->param_offsets[i],
                                     m->dcopies + m->copy_offsets[i], copy_dtype(m->desc, i), bytes / 4);
        if (st != TD_OK)
            return st;
    }
    return TD_OK;
}

/* Whether the model runs on the GPU: the context's device is CUDA, unless
 * that was auto's choice and the model has no GPU code (a description
 * written by hand), which then runs on the CPU with a note. */
static bool on_gpu(td_model *m)
{
    if (td_ctx_device(m->ctx) != TD_DEVICE_CUDA)
        return false;
    if (m->desc->cuda_source || !m->ctx->device_auto)
        return true;
    char note[256];
    snprintf(note, sizeof note, "device auto: running on the CPU: model %s has no GPU code", m->desc->name);
    td_ctx_set_note(m->ctx, note);
    return false;
}

/* The runtime's lazily built kernels the model's steps will likely launch,
 * for td_cuda_module_compile to build beside the model's own: for each
 * dtype of its params, the small and the grouped product; for each train
 * block whose trained params are more than one small step takes, the
 * update, the gradients' sum of squares and (clipping) scaling in each
 * dtype. A guess: a kernel not named is built at its first launch, one
 * named and not launched cost only its build. Errors (no memory) drop the
 * guess. */
static int runtime_kernels(td_model *m, td_cuda_lazy_ref *refs)
{
    const td_model_desc *desc = m->desc;
    int n = 0;
    bool seen[TD_DTYPE_COUNT] = {false};
    for (int i = 0; i < desc->nparams; i++) {
        td_dtype d = desc->params[i].dtype;
        if ((unsigned)d >= TD_DTYPE_COUNT || seen[d] || n + 2 > TD_CUDA_MAX_PREFETCH)
            continue;
        seen[d] = true;
        int k = td_cuda_gemm_prefetch(m->ctx, d, refs + n);
        n += k > 0 ? k : 0;
    }
    for (int t = 0; t < desc->ntrains; t++) {
        const td_train_desc *train = &desc->trains[t];
        size_t elements[TD_DTYPE_COUNT] = {0};
        int ndtypes = 0;
        for (int i = 0; i < desc->nparams; i++) {
            size_t bytes;
            td_dtype d = desc->params[i].dtype;
            if (train->trained && !train->trained[i])
                continue;
            if ((unsigned)d >= TD_DTYPE_COUNT || param_bytes(m, i, &bytes) != TD_OK)
                continue;
            ndtypes += elements[d] == 0;
            elements[d] += bytes / td_dtype_size(d);
        }
        for (int d = 0; d < TD_DTYPE_COUNT; d++) {
            if (!elements[d] || td_cuda_takes_small_step(ndtypes, elements[d]) || n + 3 > TD_CUDA_MAX_PREFETCH)
                continue;
            int k = td_cuda_optim_prefetch(m->ctx, &train->optim, (td_dtype)d, train->clip > 0, refs + n);
            n += k > 0 ? k : 0;
        }
    }
    td_ctx_clear_error(m->ctx);
    return n;
}

/* The model's kernels and the runtime's it will likely launch, compiled
 * (through the cache) into m->kernels_built: the device alone is needed. */
static td_status compile_kernels(td_model *m)
{
    const td_model_desc *desc = m->desc;
    td_cuda_lazy_ref refs[TD_CUDA_MAX_PREFETCH];
    int nrefs = runtime_kernels(m, refs);
    return td_cuda_module_compile(m->ctx, desc->name, desc->cuda_source, desc->ncuda_kernels, desc->cuda_kernel_names,
                                  nrefs, refs, &m->kernels_built);
}

/* Where the model may run on the GPU (the context's device is not the
 * CPU, and there is one): its kernels and the runtime's it will likely
 * launch compiled now, on the device alone, while the driver makes the
 * device's context on a thread of its own (loader.c) and this thread goes
 * on to the host's work; gpu_setup loads them. On the CPU, or where the
 * GPU turns out unusable, they are dropped; a failure is left for
 * gpu_setup, which compiles again and says. */
static void compile_ahead(td_model *m)
{
    const td_model_desc *desc = m->desc;
    if (!desc->cuda_source || m->ctx->device == TD_DEVICE_CPU)
        return;
    if (!td_cuda_device_ready(m->ctx)) { /* the device's choice or gpu_setup says so */
        td_ctx_clear_error(m->ctx);
        return;
    }
    if (compile_kernels(m) != TD_OK)
        td_ctx_clear_error(m->ctx);
}

/* On the GPU: the kernels compiled and loaded, each region allocated once
 * on the device and the params and optimizer state copied there (the
 * params were drawn on the host, so a seed gives the same bits on either
 * device), the gradients zeroed, the staging buffer and the scratch. */
static td_status gpu_setup(td_model *m)
{
    const td_model_desc *desc = m->desc;
    if (!desc->cuda_source)
        return td_fail(m->ctx, TD_ERR_DEVICE, "model %s was compiled without CUDA code, so it runs on the CPU only",
                       desc->name);
    /* compiled ahead, or (not asked, or failed there) now, to say why */
    td_status st = m->kernels_built ? TD_OK : compile_kernels(m);
    if (st == TD_OK)
        st = td_cuda_module_install(m->ctx, m->kernels_built, &m->kernels); /* which takes the build */
    m->kernels_built = NULL;
    if (st != TD_OK)
        return st;
    if (desc->cuda_kernels_wait)
        td_cuda_module_waits(m->kernels);
    m->on_gpu = true;
    for (int r = 0; r < TD_REGION_COUNT && st == TD_OK; r++) {
        char what[64];
        snprintf(what, sizeof what, "the %s region", REGION_NAMES[r]);
        st = td_cuda_alloc(m->ctx, m->region_bytes[r], what, &m->dregion[r]);
    }
    if (st == TD_OK)
        st = stage_size(m, &m->stage_bytes); /* allocated on first use: td_model_staging */
    if (st == TD_OK)
        st = td_cuda_alloc(m->ctx, TD_SCRATCH_BYTES, "the scratch of a step", &m->dscratch);
    size_t copies = 0;
    if (st == TD_OK && !(m->copy_offsets = calloc(desc->nparams > 0 ? (size_t)desc->nparams : 1, sizeof *m->copy_offsets)))
        st = td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory", desc->name);
    if (st == TD_OK)
        st = td_model_copy_bytes(m->ctx, desc, m->dims, m->copy_offsets, &copies);
    if (st == TD_OK && copies > 0)
        st = td_cuda_alloc(m->ctx, copies, "the params' narrow copies", &m->dcopies);
    if (st == TD_OK)
        st = td_cuda_zero(m->ctx, m->dregion[TD_REGION_GRADS], m->region_bytes[TD_REGION_GRADS]);
    if (st == TD_OK)
        st = td_model_sync_device(m);
    return st;
}

/* The params and the optimizer state, the regions training changes, copied
 * up (to_device) or down. */
static td_status copy_state(td_model *m, bool to_device)
{
    static const td_region copied[] = {TD_REGION_PARAMS, TD_REGION_OPTIM};
    for (size_t i = 0; i < sizeof copied / sizeof copied[0]; i++) {
        td_region r = copied[i];
        td_status st = to_device ? td_cuda_upload(m->ctx, m->dregion[r], m->region[r], m->region_bytes[r])
                                 : td_cuda_download(m->ctx, m->region[r], m->dregion[r], m->region_bytes[r]);
        if (st != TD_OK)
            return st;
    }
    m->host_stale = false;
    td_status st = to_device ? refresh_copies(m) : TD_OK;
    return st == TD_OK && to_device ? td_cuda_sync(m->ctx, "copying the params to the GPU") : st;
}

td_status td_model_sync_device(td_model *m) { return m->on_gpu ? copy_state(m, true) : TD_OK; }

td_status td_model_sync_host(td_model *m) { return m->on_gpu && m->host_stale ? copy_state(m, false) : TD_OK; }

td_status td_model_staging(td_model *m)
{
    return m->dstage ? TD_OK : td_cuda_alloc(m->ctx, m->stage_bytes, "staging inputs and outputs", &m->dstage);
}

td_status td_model_call(td_model *m, int fn, const void *const *inputs, void *const *outputs)
{
    if (!m)
        return TD_ERR_INPUT;
    if (fn < 0 || fn >= m->desc->nfns)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s has no function %d (it has %d)", m->desc->name, fn,
                       m->desc->nfns);
    const td_fn_desc *f = &m->desc->fns[fn];
    if (!m->on_gpu)
        return f->call(m, inputs, outputs);
    if (!f->call_cuda)
        return td_fail(m->ctx, TD_ERR_DEVICE, "model %s: function %s has no GPU code", m->desc->name, f->name);
    td_dptr din[f->ninputs > 0 ? f->ninputs : 1], dout[f->noutputs > 0 ? f->noutputs : 1];
    size_t out_bytes[f->noutputs > 0 ? f->noutputs : 1], at = 0;
    td_status staged = td_model_staging(m);
    if (staged != TD_OK)
        return staged;
    for (int i = 0; i < f->ninputs + f->noutputs; i++) {
        bool is_in = i < f->ninputs;
        size_t bytes;
        td_status st = td_model_tensor_bytes(m, is_in ? &f->inputs[i] : &f->outputs[i - f->ninputs], &bytes);
        if (st != TD_OK)
            return st;
        at = (at + REGION_ALIGN - 1) / REGION_ALIGN * REGION_ALIGN; /* stage_size checked these sums */
        if (is_in) {
            din[i] = m->dstage + at;
            if ((st = td_cuda_upload(m->ctx, din[i], inputs[i], bytes)) != TD_OK)
                return st;
        } else {
            dout[i - f->ninputs] = m->dstage + at;
            out_bytes[i - f->ninputs] = bytes;
        }
        at += bytes;
    }
    td_status st = f->call_cuda(m, din, dout);
    if (st == TD_OK && f->errors_cuda) { /* a gather's bad index */
        int64_t found[TD_SCRATCH_NERRORS * 2];
        st = td_cuda_download(m->ctx, found, m->dscratch + TD_SCRATCH_ERRORS, sizeof found);
        if (st == TD_OK)
            st = f->errors_cuda(m, found);
    }
    for (int i = 0; st == TD_OK && i < f->noutputs; i++)
        st = td_cuda_download(m->ctx, outputs[i], dout[i], out_bytes[i]);
    return st;
}

td_model *td_model_new(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, uint64_t seed)
{
    if (!desc || desc->ndims < 0 || desc->nparams < 0 || desc->nfns < 0) {
        td_fail(ctx, TD_ERR_INPUT, "td_model_new: no model description, or negative counts in it");
        return NULL;
    }
    td_model *m = calloc(1, sizeof *m);
    if (m) {
        m->ctx = ctx;
        m->desc = desc;
        m->dims = calloc(desc->ndims ? (size_t)desc->ndims : 1, sizeof *m->dims);
        m->param_offsets = calloc(desc->nparams ? (size_t)desc->nparams : 1, sizeof *m->param_offsets);
    }
    if (!m || !m->dims || !m->param_offsets) {
        td_fail(ctx, TD_ERR_OOM, "model %s: out of memory", desc->name);
        td_model_free(m);
        return NULL;
    }
    if (bind_dims(m, dims) != TD_OK || plan_regions(m) != TD_OK || layout_training(m) != TD_OK ||
        (compile_ahead(m), alloc_regions(m) != TD_OK) || init_params(m, seed) != TD_OK || init_optim_state(m) != TD_OK ||
        (on_gpu(m) && gpu_setup(m) != TD_OK)) {
        td_model_free(m);
        return NULL;
    }
    td_cuda_build_free(m->kernels_built); /* compiled ahead for a GPU the model does not run on */
    m->kernels_built = NULL;
    return m;
}

void td_model_time_steps(td_model *m, bool on)
{
    if (m)
        m->time_steps = on;
}

void td_model_free(td_model *m)
{
    if (!m)
        return;
    for (int r = 0; r < TD_REGION_COUNT; r++) {
        free(m->region[r]);
        td_cuda_free(m->ctx, m->dregion[r]);
    }
    td_gpu_state_free(m);
    td_cuda_profile_free(m);
    td_cuda_free(m->ctx, m->dstage);
    td_cuda_free(m->ctx, m->dscratch);
    td_cuda_free(m->ctx, m->dcopies);
    free(m->copy_offsets);
    td_cuda_module_free(m->ctx, m->kernels);
    td_cuda_build_free(m->kernels_built);
    free(m->dims);
    free(m->param_offsets);
    free(m->optim_offsets);
    free(m);
}

void *td_model_param(td_model *m, int index)
{
    if (!m || index < 0 || index >= m->desc->nparams || !m->region[TD_REGION_PARAMS])
        return NULL;
    return m->region[TD_REGION_PARAMS] + m->param_offsets[index];
}
