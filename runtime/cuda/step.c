/* step.c - a train step on the GPU, with no host wait inside it and, from
 * its second run on, replayed as one CUDA graph.
 *
 * train.c checks the step and computes the learning rate; this file copies
 * the batch (unless it is on the device already) and the step's scalars
 * (lr, step, Adam's bias corrections) from pinned host memory to the
 * device, then queues the step's body on the context's stream: the
 * generated grad function (forward and backward; it writes every gradient
 * whole), the trained gradients' sum of squares whose last block makes the
 * step's checks (loss and norm finite, no bad gather index, the clipping
 * coefficient), the clipping and the optimizer's update, each one launch
 * over all the params (td_cuda_slices). The checks gate
 * the clipping and the update on the device, so a step that fails them
 * changes nothing, as on the CPU. The body's launches read nothing but
 * device memory at fixed addresses (the model's, the staging buffer's, or
 * a device batch's), so from the second run of a train block on its body
 * is captured (cuStreamBeginCapture) and instantiated, once for each set
 * of batch addresses (GRAPH_SLOTS kept), and replayed with one
 * cuGraphLaunch; a profiled step, or a driver without graphs, runs its
 * body eagerly. A block that draws random numbers draws them on the GPU at
 * the stream's position copied up before each step (TD_SCRATCH_RNG), and
 * a replay advances m->rng by the words the block's first run drew. The
 * checks write the loss, the norm and the verdict to pinned memory, the
 * gathers' error words are copied back to it, and the step waits for an
 * event behind them (after the
 * caller's work meanwhile, td_train_step_staged_while): its statistics
 * and failures are known when td_train_step returns. A batch goes into
 * pinned memory on several threads where it is large (td_copy_wide). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

enum { ERROR_BYTES = TD_SCRATCH_NERRORS * 2 * sizeof(int64_t) };
_Static_assert(sizeof(td_step_gate) <= 96, "the random stream's position follows the gate in pinned memory");
_Static_assert(TD_SCRATCH_RNG >= TD_SCRATCH_GATE + (int)sizeof(td_step_gate), "TD_SCRATCH_RNG overlaps the gate");

/* A train block's graphs: none before its first run (eager: it warms up
 * what the graph will use), then captured as needed, unless capture failed. */
typedef enum graph_mode { GRAPH_NOT_RUN, GRAPH_RAN_ONCE, GRAPH_NONE } graph_mode;

/* The graphs kept a train block: one for the staging buffer's addresses
 * and one for a device batch's, or two device batches' (a double buffer). */
enum { GRAPH_SLOTS = 2 };
typedef struct graph_slot {
    CUgraphExec exec; /* NULL: empty */
    td_dptr *in;      /* the inputs' addresses it reads (the train block's ninputs) */
} graph_slot;

struct td_gpu_state {
    unsigned char *pinned; /* the staged inputs, then the gate and the random stream's position, then the error words */
    size_t gate_at, rng_at, errors_at;
    CUevent begun, done;   /* a timed step's (td_model_time_steps): before the batch's copy up, after the step */
    graph_mode *mode;      /* per train block */
    graph_slot *slots;     /* per train block, GRAPH_SLOTS each */
    int *last;             /* per train block: the slot used last */
    uint64_t *draw_words;  /* per train block: the random words a step draws (counted on its first run) */
    /* batches staged ahead (td_cuda_train_stage): two buffers, each a
     * device copy of a batch and its pinned source, copied on a stream of
     * their own; a FIFO of up to two staged batches */
    CUstream copy_stream;
    td_dptr ahead[2];
    unsigned char *ahead_pinned[2];
    size_t ahead_bytes;
    CUevent copied[2];     /* recorded on copy_stream after each buffer's copy */
    int ahead_next;        /* the buffer the next staging fills */
    int nstaged, staged_train[2], staged_buf[2]; /* the FIFO, oldest first */
    bool in_flight;        /* a step is queued and its `meanwhile` runs (td_cuda_train_step) */
};

void td_gpu_state_free(td_model *m)
{
    struct td_gpu_state *g = m->gpu;
    struct td_cuda *cuda = m->ctx->cuda;
    if (!g)
        return;
    int nslots = (m->desc->ntrains > 0 ? m->desc->ntrains : 1) * GRAPH_SLOTS;
    if (cuda && cuda->context) {
        for (int i = 0; g->slots && i < nslots; i++)
            if (g->slots[i].exec)
                cuda->cu.cuGraphExecDestroy(g->slots[i].exec);
        if (g->done)
            cuda->cu.cuEventDestroy(g->done);
        if (g->begun)
            cuda->cu.cuEventDestroy(g->begun);
        if (g->pinned)
            cuda->cu.cuMemFreeHost(g->pinned);
        if (g->copy_stream)
            cuda->cu.cuStreamSynchronize(g->copy_stream);
        for (int b = 0; b < 2; b++) {
            if (g->ahead[b])
                cuda->cu.cuMemFree(g->ahead[b]);
            if (g->ahead_pinned[b])
                cuda->cu.cuMemFreeHost(g->ahead_pinned[b]);
            if (g->copied[b])
                cuda->cu.cuEventDestroy(g->copied[b]);
        }
        if (g->copy_stream)
            cuda->cu.cuStreamDestroy(g->copy_stream);
    }
    for (int i = 0; g->slots && i < nslots; i++)
        free(g->slots[i].in);
    free(g->mode);
    free(g->slots);
    free(g->last);
    free(g->draw_words);
    free(g);
    m->gpu = NULL;
}

static td_status gpu_state(td_model *m, struct td_gpu_state **out)
{
    struct td_cuda *cuda = td_cuda_ready(m->ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    if (m->gpu) {
        *out = m->gpu;
        return TD_OK;
    }
    struct td_gpu_state *g = calloc(1, sizeof *g);
    int n = m->desc->ntrains > 0 ? m->desc->ntrains : 1;
    m->gpu = g;
    bool ok = g && (g->mode = calloc((size_t)n, sizeof *g->mode)) && (g->last = calloc((size_t)n, sizeof *g->last)) &&
              (g->draw_words = calloc((size_t)n, sizeof *g->draw_words)) &&
              (g->slots = calloc((size_t)n * GRAPH_SLOTS, sizeof *g->slots));
    for (int t = 0; ok && t < m->desc->ntrains; t++)
        for (int j = 0; ok && j < GRAPH_SLOTS; j++) {
            int nin = m->desc->trains[t].ninputs;
            ok = (g->slots[t * GRAPH_SLOTS + j].in = calloc((size_t)(nin > 0 ? nin : 1), sizeof(td_dptr))) != NULL;
        }
    if (!ok) {
        td_gpu_state_free(m);
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for the GPU's step state", m->desc->name);
    }
    g->gate_at = (m->stage_bytes + 63) / 64 * 64; /* stage_bytes fits a size_t with room: model.c summed it */
    g->rng_at = g->gate_at + 96; /* the gate is 72 bytes */
    g->errors_at = g->gate_at + 128;
    td_status st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuMemAllocHost((void **)&g->pinned, g->errors_at + ERROR_BYTES),
                                  "cuMemAllocHost", "pinned memory for a step's batch");
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&g->done, TD_CU_EVENT_DEFAULT), "cuEventCreate",
                            "a step's event");
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&g->begun, TD_CU_EVENT_DEFAULT), "cuEventCreate",
                            "a step's event");
    if (st != TD_OK) {
        td_gpu_state_free(m);
        return st;
    }
    *out = g;
    return TD_OK;
}

/* memcpy on up to COPY_THREADS threads (this one included), a part of at
 * least COPY_PART bytes each: a batch of 134 MB took one thread 14 to 17
 * ms into pinned memory on the H100's host, longer than the bf16 step it
 * fed. A thread that cannot be started leaves its part to this one. */
enum { COPY_PART = 4 << 20, COPY_THREADS = 8 };

typedef struct copy_part {
    unsigned char *dst;
    const unsigned char *src;
    size_t n;
} copy_part;

static void *copy_worker(void *arg)
{
    copy_part *p = arg;
    memcpy(p->dst, p->src, p->n);
    return NULL;
}

void td_copy_wide(void *dst, const void *src, size_t n)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t parts = n / COPY_PART, most = cores < 1 ? 1 : cores > COPY_THREADS ? COPY_THREADS : (size_t)cores;
    if (parts > most)
        parts = most;
    if (parts <= 1) {
        memcpy(dst, src, n);
        return;
    }
    size_t chunk = (n / parts + 63) / 64 * 64; /* a multiple of 64 bytes; the last part takes the rest */
    copy_part jobs[COPY_THREADS];
    pthread_t threads[COPY_THREADS];
    bool started[COPY_THREADS] = {false};
    for (size_t k = 0; k < parts; k++) {
        size_t at = k * chunk < n ? k * chunk : n;
        jobs[k] = (copy_part){(unsigned char *)dst + at, (const unsigned char *)src + at,
                              k == parts - 1 ? n - at : (chunk < n - at ? chunk : n - at)};
    }
    for (size_t k = 1; k < parts; k++)
        started[k] = pthread_create(&threads[k], NULL, copy_worker, &jobs[k]) == 0;
    copy_worker(&jobs[0]);
    for (size_t k = 1; k < parts; k++) {
        if (started[k])
            pthread_join(threads[k], NULL);
        else
            copy_worker(&jobs[k]);
    }
}

/* Train block t's batch laid out in a buffer at device address `dev`, each
 * input at a 64-byte boundary (model.c sized the staging buffer so): din
 * (unless NULL) gets each input's address, `pinned` (unless NULL) a copy
 * of the host inputs at the same offsets, *total the bytes. */
static td_status lay_out(td_model *m, const td_train_desc *t, const void *const *inputs, unsigned char *pinned,
                         td_dptr dev, td_dptr *din, size_t *total)
{
    size_t at = 0, bytes;
    for (int k = 0; k < t->ninputs; k++) {
        at = (at + 63) / 64 * 64;
        td_status st = td_model_tensor_bytes(m, &t->inputs[k], &bytes);
        if (st != TD_OK)
            return st;
        if (pinned)
            td_copy_wide(pinned + at, inputs[k], bytes);
        if (din)
            din[k] = dev + at;
        at += bytes;
    }
    *total = at;
    return TD_OK;
}

/* The batch into pinned memory, then one copy up; din gets each input's
 * device address. */
static td_status stage(td_model *m, struct td_gpu_state *g, const td_train_desc *t, const void *const *inputs,
                       td_dptr *din)
{
    struct td_cuda *cuda = m->ctx->cuda;
    size_t at = 0;
    td_status st = td_model_staging(m);
    if (st == TD_OK)
        st = lay_out(m, t, inputs, g->pinned, m->dstage, din, &at);
    if (st != TD_OK || at == 0)
        return st;
    return td_cu_check_at(m->ctx, cuda, cuda->cu.cuMemcpyHtoDAsync(m->dstage, g->pinned, at, cuda->stream),
                          "cuMemcpyHtoDAsync", "a step's batch");
}

static size_t param_elements(const td_model *m, int i)
{
    const td_tensor_desc *p = &m->desc->params[i];
    size_t n = 1;
    for (int a = 0; a < p->rank; a++) {
        int64_t extent = td_size_eval(&p->shape[a], m->dims);
        if (extent < 0 || !td_mul_size(n, (size_t)extent, &n))
            return 0;
    }
    return n;
}

/* ---- batches staged ahead ---- */

/* The copy stream, its events and two buffers of at least `bytes`, made on
 * first use (again, larger, when a block's batch outgrows them: nothing is
 * staged then, so nothing is lost). */
static td_status ahead_buffers(td_model *m, struct td_gpu_state *g, size_t bytes)
{
    struct td_cuda *cuda = m->ctx->cuda;
    td_status st = TD_OK;
    if (!g->copy_stream)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuStreamCreate(&g->copy_stream, TD_CU_STREAM_NON_BLOCKING),
                            "cuStreamCreate", "the stream of staged batches");
    for (int b = 0; st == TD_OK && b < 2; b++)
        if (!g->copied[b])
            st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&g->copied[b], TD_CU_EVENT_DEFAULT),
                                "cuEventCreate", "a staged batch's event");
    if (st != TD_OK || g->ahead_bytes >= bytes)
        return st;
    for (int b = 0; b < 2; b++) {
        if (g->ahead[b])
            cuda->cu.cuMemFree(g->ahead[b]);
        if (g->ahead_pinned[b])
            cuda->cu.cuMemFreeHost(g->ahead_pinned[b]);
        g->ahead[b] = 0;
        g->ahead_pinned[b] = NULL;
    }
    g->ahead_bytes = 0;
    for (int b = 0; b < 2 && st == TD_OK; b++) {
        st = td_cuda_alloc(m->ctx, bytes, "a batch staged ahead", &g->ahead[b]);
        if (st == TD_OK)
            st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuMemAllocHost((void **)&g->ahead_pinned[b], bytes),
                                "cuMemAllocHost", "pinned memory for a batch staged ahead");
    }
    if (st == TD_OK)
        g->ahead_bytes = bytes;
    return st;
}

td_status td_cuda_train_stage(td_model *m, int train, const void *const *inputs)
{
    const td_train_desc *t = &m->desc->trains[train];
    struct td_gpu_state *g;
    td_status st = gpu_state(m, &g);
    if (st != TD_OK)
        return st;
    if (g->nstaged == 2)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_stage: %s: two batches are staged already; train a step on "
                       "one first", t->name);
    size_t total;
    if ((st = lay_out(m, t, NULL, NULL, 0, NULL, &total)) != TD_OK)
        return st;
    if (g->nstaged == 0 && (st = ahead_buffers(m, g, total)) != TD_OK)
        return st;
    if (total > g->ahead_bytes)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_stage: %s: its batch (%zu bytes) is larger than the one staged "
                       "before it (%zu); train a step on that first", t->name, total, g->ahead_bytes);
    struct td_cuda *cuda = m->ctx->cuda;
    int b = g->ahead_next;
    /* the buffer's last copy is done (its step has run: steps wait for themselves) */
    if ((st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventSynchronize(g->copied[b]), "cuEventSynchronize",
                             "a staged batch")) != TD_OK)
        return st;
    lay_out(m, t, inputs, g->ahead_pinned[b], g->ahead[b], NULL, &total); /* its sizes checked above */
    if (total > 0)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuMemcpyHtoDAsync(g->ahead[b], g->ahead_pinned[b], total,
                                                                     g->copy_stream),
                            "cuMemcpyHtoDAsync", "a batch staged ahead");
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventRecord(g->copied[b], g->copy_stream), "cuEventRecord",
                            "a batch staged ahead");
    if (st != TD_OK)
        return st;
    g->staged_train[g->nstaged] = train;
    g->staged_buf[g->nstaged++] = b;
    g->ahead_next = 1 - b;
    return TD_OK;
}

/* The oldest staged batch, for train block `train`: din gets its inputs'
 * addresses, and the step's stream waits for its copy. */
static td_status take_staged(td_model *m, struct td_gpu_state *g, int train, td_dptr *din)
{
    const td_train_desc *t = &m->desc->trains[train];
    if (g->nstaged == 0 || g->staged_train[0] != train)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step_staged: %s: no batch of it is staged next (%s)", t->name,
                       g->nstaged ? "another block's is" : "td_train_stage first");
    int b = g->staged_buf[0];
    g->staged_train[0] = g->staged_train[1];
    g->staged_buf[0] = g->staged_buf[1];
    g->nstaged--;
    size_t total;
    lay_out(m, t, NULL, NULL, g->ahead[b], din, &total); /* its sizes checked when it was staged */
    struct td_cuda *cuda = m->ctx->cuda;
    return td_cu_check_at(m->ctx, cuda, cuda->cu.cuStreamWaitEvent(cuda->stream, g->copied[b], 0), "cuStreamWaitEvent",
                          "a staged batch");
}

/* The params train block `train` updates, checked as td_optim_update
 * checks them, in lists of one dtype (f32 first, then f64) of up to
 * TD_CUDA_SLICES: each list is one launch of the norm, the clipping and
 * the update (*lists malloc'd, *count of them). While profiling, a list a
 * param, and rows[l] its row of the profile (the optimizer's rows follow
 * the grad function's, one a trained param, in param order). */
typedef struct param_lists {
    int count;
    td_cuda_slices *lists;
    td_dtype *dtypes;
    int *rows;
} param_lists;

static void lists_free(param_lists *p)
{
    free(p->lists);
    free(p->dtypes);
    free(p->rows);
}

static td_status trained_lists(td_model *m, int train, int64_t step, double lr, param_lists *out)
{
    const td_train_desc *t = &m->desc->trains[train];
    int np = m->desc->nparams, cap = 2 * (np / TD_CUDA_SLICES + 1) + np, ntrained = 0;
    bool one_each = m->profile != NULL;
    *out = (param_lists){0, calloc((size_t)cap, sizeof *out->lists), calloc((size_t)cap, sizeof *out->dtypes),
                         calloc((size_t)cap, sizeof *out->rows)};
    if (!out->lists || !out->dtypes || !out->rows)
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for a step's parameter lists", m->desc->name);
    for (int i = 0; i < np; i++)
        ntrained += t->trained[i] != 0;
    for (int d = 0; d < 2; d++)
        for (int i = 0, row = one_each ? t->cost->nops - ntrained : 0; i < np; i++) {
            size_t n = param_elements(m, i), k = (size_t)train * (size_t)np + (size_t)i;
            td_dtype dtype = m->desc->params[i].dtype;
            row += t->trained[i] != 0;
            if (!t->trained[i] || n == 0 || (d == 1 && dtype == TD_F32) || (d == 0 && dtype != TD_F32))
                continue;
            td_dptr param = m->dregion[TD_REGION_PARAMS] + m->param_offsets[i],
                    grad = m->dregion[TD_REGION_GRADS] + m->param_offsets[i],
                    state = m->dregion[TD_REGION_OPTIM] + m->optim_offsets[k];
            double decay = t->decay[i] ? t->optim.weight_decay : 0;
            td_status st = td_optim_check_update(m->ctx, "td_cuda_optim_update", &t->optim, dtype, n,
                                                 (const void *)(uintptr_t)param, (const void *)(uintptr_t)grad,
                                                 (const void *)(uintptr_t)state, step, lr, decay);
            if (st != TD_OK)
                return st;
            int c = out->count;
            if (c == 0 || one_each || out->dtypes[c - 1] != dtype || out->lists[c - 1].count == TD_CUDA_SLICES) {
                out->dtypes[c] = dtype;
                out->rows[c] = row - 1;
                out->count = ++c;
            }
            td_cuda_slices *list = &out->lists[c - 1];
            td_cuda_slice slice = td_cuda_slice_of(&t->optim, dtype, n, param, grad, state, decay);
            if (m->copy_offsets && m->copy_offsets[i] != SIZE_MAX) { /* the update writes the param's narrow copy too */
                slice.copy = m->dcopies + m->copy_offsets[i];
                slice.copy_kind = m->desc->cuda_read_dtypes[i] == TD_BF16 ? 1 : 2;
            }
            list->at[list->count++] = slice;
        }
    return TD_OK;
}

/* The step's body, queued: nothing here waits for the GPU (but a profiled
 * step, which waits once for its optimizer's times). */
static td_status body(td_model *m, int train, const td_dptr *din, int64_t step, double lr)
{
    const td_train_desc *t = &m->desc->trains[train];
    td_ctx *ctx = m->ctx;
    td_dptr gate = m->dscratch + TD_SCRATCH_GATE, sum = m->dscratch + TD_SCRATCH_NORM;
    param_lists p;
    td_status st = trained_lists(m, train, step, lr, &p);
    /* the grad function writes every element of every gradient, and
     * zeroes the error words when it has gathers: nothing to clear first */
    if (st == TD_OK)
        st = t->grad_cuda(m, din);
    /* the gradients' norm, then the step's checks, run by the norm's last kernel; the verdict written
     * to the pinned gate the host reads after the step (no copy down) */
    td_cuda_check check;
    if (st == TD_OK)
        st = td_cuda_check_of(ctx, t->loss_dtype, m->dscratch, m->dscratch + TD_SCRATCH_ERRORS,
                              t->grad_errors_cuda ? TD_SCRATCH_NERRORS : 0, t->clip, gate,
                              (td_step_gate *)(m->gpu->pinned + m->gpu->gate_at), &check);
    if (st == TD_OK && p.count > 0 && td_cuda_takes_small_step(p.count, td_cuda_slices_elements(&p.lists[0]))) {
        /* a small model's: the norm, checks, clipping and update in one launch */
        if (m->profile)
            st = td_cuda_profile_mark(m, p.rows[0], false);
        if (st == TD_OK)
            st = td_cuda_small_step(ctx, &t->optim, p.dtypes[0], &p.lists[0], sum, &check);
        if (st == TD_OK && m->profile)
            st = td_cuda_profile_mark(m, p.rows[0], true);
        if (st == TD_OK && m->profile)
            st = td_cuda_profile_flush(m);
        lists_free(&p);
        return st;
    }
    for (int l = 0; st == TD_OK && l < p.count; l++)
        st = td_cuda_sum_squares_slices(ctx, p.dtypes[l], &p.lists[l], sum, l > 0, l == p.count - 1 ? &check : NULL);
    if (st == TD_OK && p.count == 0) { /* no trained param: a norm of 0, checked alone */
        st = td_cuda_zero(ctx, sum, sizeof(double));
        if (st == TD_OK)
            st = td_cuda_run_check(ctx, &check, sum);
    }
    for (int l = 0; st == TD_OK && t->clip > 0 && l < p.count; l++)
        st = td_cuda_scale_slices(ctx, p.dtypes[l], &p.lists[l], 1.0, gate);
    for (int l = 0; st == TD_OK && l < p.count; l++) {
        if (m->profile)
            st = td_cuda_profile_mark(m, p.rows[l], false);
        if (st == TD_OK)
            st = td_cuda_optim_update_slices(ctx, &t->optim, p.dtypes[l], &p.lists[l], step, lr, gate);
        if (st == TD_OK && m->profile)
            st = td_cuda_profile_mark(m, p.rows[l], true);
    }
    if (st == TD_OK && m->profile)
        st = td_cuda_profile_flush(m);
    lists_free(&p);
    return st;
}

/* The model's random stream (seed, position) up to TD_SCRATCH_RNG, where
 * a drawing train block's kernels read it: queued on the stream, from
 * pinned memory, before the step. */
static td_status rng_up(td_model *m, struct td_gpu_state *g, const char *name)
{
    uint64_t *pair = (uint64_t *)(g->pinned + g->rng_at);
    pair[0] = m->rng.seed;
    pair[1] = m->rng.offset;
    struct td_cuda *cuda = m->ctx->cuda;
    return td_cu_check_at(m->ctx, cuda,
                          cuda->cu.cuMemcpyHtoDAsync(m->dscratch + TD_SCRATCH_RNG, pair, 2 * sizeof *pair, cuda->stream),
                          "cuMemcpyHtoDAsync", name);
}

/* The graph of train block `train` that reads inputs at din, or NULL. */
static graph_slot *graph_for(td_model *m, struct td_gpu_state *g, int train, const td_dptr *din)
{
    int nin = m->desc->trains[train].ninputs;
    for (int j = 0; j < GRAPH_SLOTS; j++) {
        graph_slot *slot = &g->slots[train * GRAPH_SLOTS + j];
        if (slot->exec && (nin == 0 || memcmp(slot->in, din, (size_t)nin * sizeof *din) == 0)) {
            g->last[train] = j;
            return slot;
        }
    }
    return NULL;
}

/* The body captured into a graph and instantiated, into the slot not used
 * last (its old graph destroyed); NULL, GRAPH_NONE and nothing on the
 * context when the driver or the body will not have it. */
static graph_slot *capture(td_model *m, struct td_gpu_state *g, int train, const td_dptr *din, int64_t step, double lr)
{
    struct td_cuda *cuda = m->ctx->cuda;
    if (!cuda->cu.cuStreamBeginCapture || !cuda->cu.cuStreamEndCapture || !cuda->cu.cuGraphInstantiateWithFlags ||
        !cuda->cu.cuGraphLaunch || !cuda->cu.cuGraphExecDestroy || !cuda->cu.cuGraphDestroy) {
        g->mode[train] = GRAPH_NONE;
        return NULL;
    }
    bool had_error = td_ctx_error(m->ctx) != NULL;
    if (cuda->cu.cuStreamBeginCapture(cuda->stream, TD_CU_CAPTURE_MODE_RELAXED) != TD_CUDA_SUCCESS) {
        g->mode[train] = GRAPH_NONE;
        return NULL;
    }
    td_status st = body(m, train, din, step, lr);
    CUgraph graph = NULL;
    CUresult r = cuda->cu.cuStreamEndCapture(cuda->stream, &graph);
    CUgraphExec exec = NULL;
    graph_slot *slot = NULL;
    if (st == TD_OK && r == TD_CUDA_SUCCESS && graph &&
        cuda->cu.cuGraphInstantiateWithFlags(&exec, graph, 0) == TD_CUDA_SUCCESS) {
        int j = GRAPH_SLOTS > 1 ? (g->last[train] + 1) % GRAPH_SLOTS : 0;
        slot = &g->slots[train * GRAPH_SLOTS + j];
        if (slot->exec)
            cuda->cu.cuGraphExecDestroy(slot->exec);
        slot->exec = exec;
        memcpy(slot->in, din, (size_t)m->desc->trains[train].ninputs * sizeof *din);
        g->last[train] = j;
    } else {
        g->mode[train] = GRAPH_NONE;
    }
    if (graph)
        cuda->cu.cuGraphDestroy(graph);
    if (!had_error && !slot)
        td_ctx_clear_error(m->ctx); /* the body runs again, eagerly, and says what is wrong */
    return slot;
}

td_status td_cuda_train_step(td_model *m, int train, const void *const *inputs, const td_dptr *device_inputs,
                             bool staged, int64_t step, double lr, td_meanwhile *meanwhile, double *loss,
                             double *norm, bool *updated, double *gpu_ms)
{
    const td_train_desc *t = &m->desc->trains[train];
    if (!t->grad_cuda)
        return td_fail(m->ctx, TD_ERR_DEVICE, "train block %s has no GPU code", t->name);
    struct td_gpu_state *g;
    td_status st = gpu_state(m, &g);
    if (st != TD_OK)
        return st;
    if (g->in_flight)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: %s: a step is running (called from its meanwhile?): "
                       "only td_train_stage may be", t->name);
    struct td_cuda *cuda = m->ctx->cuda;
    td_dptr din[t->ninputs > 0 ? t->ninputs : 1];
    bool timed = m->time_steps; /* events around the step (td_model_time_steps), else a plain wait */
    if (timed && (st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventRecord(g->begun, cuda->stream), "cuEventRecord",
                                      t->name)) != TD_OK)
        return st;
    if (staged)
        st = take_staged(m, g, train, din);
    else if (device_inputs)
        memcpy(din, device_inputs, (size_t)t->ninputs * sizeof *din); /* read where they are */
    else
        st = stage(m, g, t, inputs, din);
    if (st != TD_OK)
        return st;
    /* the step's scalars, where the checks read them (td_cuda_check: no copy up) */
    td_step_gate *gate = (td_step_gate *)(g->pinned + g->gate_at);
    memset(gate, 0, sizeof *gate);
    gate->lr = lr;
    gate->step = step;
    if (t->optim.kind == TD_OPTIM_ADAM || t->optim.kind == TD_OPTIM_ADAMW)
        td_optim_adam_bias(&t->optim, step, &gate->bias1, &gate->bias2_sqrt);
    if (t->draws)
        st = rng_up(m, g, t->name);
    if (st != TD_OK)
        return st;
    /* the body: a graph from the second run on, one for each set of input addresses */
    graph_slot *graph = NULL;
    bool captured = false; /* the body's host code ran (capturing), advancing m->rng */
    if (g->mode[train] == GRAPH_RAN_ONCE && !m->profile && !(graph = graph_for(m, g, train, din))) {
        graph = capture(m, g, train, din, step, lr);
        captured = true;
    }
    if (graph) {
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuGraphLaunch(graph->exec, cuda->stream), "cuGraphLaunch",
                            t->name);
        if (st == TD_OK && !captured && __builtin_add_overflow(m->rng.offset, g->draw_words[train], &m->rng.offset))
            st = td_fail(m->ctx, TD_ERR_INPUT, "train block %s: its step would carry the random stream's offset past 2^64",
                         t->name);
    } else {
        uint64_t before = m->rng.offset;
        st = body(m, train, din, step, lr);
        if (g->mode[train] == GRAPH_NOT_RUN)
            g->mode[train] = GRAPH_RAN_ONCE;
        g->draw_words[train] = m->rng.offset - before; /* the same every step: the dims are the model's */
    }
    /* the verdict is in `gate` once the step is done (the checks write it there, td_check_step);
     * the gathers' errors, down */
    if (st == TD_OK && t->grad_errors_cuda)
        st = td_cu_check_at(m->ctx, cuda,
                            cuda->cu.cuMemcpyDtoHAsync(g->pinned + g->errors_at, m->dscratch + TD_SCRATCH_ERRORS,
                                                       ERROR_BYTES, cuda->stream),
                            "cuMemcpyDtoHAsync", "a step's gather errors");
    if (st == TD_OK && timed)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventRecord(g->done, cuda->stream), "cuEventRecord", t->name);
    /* the caller's work while the step runs (the next batch drawn and staged), then the wait */
    if (st == TD_OK && meanwhile && meanwhile->fn) {
        g->in_flight = true;
        meanwhile->status = meanwhile->fn(meanwhile->arg);
        g->in_flight = false;
    }
    if (st == TD_OK)
        st = timed ? td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventSynchronize(g->done), "cuEventSynchronize", t->name)
                   : td_cu_check_at(m->ctx, cuda, cuda->cu.cuStreamSynchronize(cuda->stream), "cuStreamSynchronize",
                                    t->name);
    if (st != TD_OK)
        return st;
    if (t->grad_errors_cuda && (st = t->grad_errors_cuda(m, (const int64_t *)(g->pinned + g->errors_at))) != TD_OK)
        return st;
    float ms = 0;
    if (timed && (st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventElapsedTime(&ms, g->begun, g->done),
                                      "cuEventElapsedTime", t->name)) != TD_OK)
        return st;
    *loss = gate->loss;
    *norm = gate->norm;
    *updated = gate->ok != 0;
    *gpu_ms = ms;
    return TD_OK;
}

/* A loss of any float dtype read back as a double. */
static double widen(td_dtype dtype, const unsigned char *bytes)
{
    float f;
    double d;
    uint16_t h;
    switch (dtype) {
    case TD_F32: memcpy(&f, bytes, sizeof f); return f;
    case TD_F64: memcpy(&d, bytes, sizeof d); return d;
    case TD_BF16: memcpy(&h, bytes, sizeof h); return td_bf16_to_f32(h);
    case TD_F16: memcpy(&h, bytes, sizeof h); return td_f16_to_f32(h);
    default: return NAN;
    }
}

td_status td_cuda_train_loss(td_model *m, int train, const void *const *inputs, double *loss)
{
    const td_train_desc *t = &m->desc->trains[train];
    if (!t->loss_cuda)
        return td_fail(m->ctx, TD_ERR_DEVICE, "train block %s has no GPU code", t->name);
    struct td_gpu_state *g;
    td_status st = gpu_state(m, &g);
    if (st != TD_OK)
        return st;
    if (g->in_flight)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_loss: %s: a step is running (called from its meanwhile?): "
                       "only td_train_stage may be", t->name);
    td_dptr din[t->ninputs > 0 ? t->ninputs : 1];
    if ((st = stage(m, g, t, inputs, din)) != TD_OK || (t->draws && (st = rng_up(m, g, t->name)) != TD_OK) ||
        (st = t->loss_cuda(m, din)) != TD_OK)
        return st;
    unsigned char bytes[8];
    if ((st = td_cuda_download(m->ctx, bytes, m->dscratch, td_dtype_size(t->loss_dtype))) != TD_OK)
        return st;
    if (t->loss_errors_cuda) {
        int64_t *found = (int64_t *)(g->pinned + g->errors_at);
        if ((st = td_cuda_download(m->ctx, found, m->dscratch + TD_SCRATCH_ERRORS, ERROR_BYTES)) != TD_OK ||
            (st = t->loss_errors_cuda(m, found)) != TD_OK)
            return st;
    }
    *loss = widen(t->loss_dtype, bytes);
    return TD_OK;
}
