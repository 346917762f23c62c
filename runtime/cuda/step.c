/* step.c - a train step on the GPU, with no host wait inside it and, from
 * its second run on, replayed as one CUDA graph.
 *
 * train.c checks the step and computes the learning rate; this file copies
 * the batch and the step's scalars (lr, step, Adam's bias corrections)
 * from pinned host memory to the device, then queues the step's body on
 * the context's stream: the generated grad function (forward and
 * backward; it writes every gradient whole), each trained
 * gradient's sum of squares, one thread's checks (td_step_check: loss and
 * norm finite, no bad gather index, the clipping coefficient), the
 * clipping and the optimizer's updates. The checks gate the clipping and
 * the updates on the device, so a step that fails them changes nothing, as
 * on the CPU. The body's launches read nothing but device memory that
 * stays put, so the second run of a train block is captured
 * (cuStreamBeginCapture) and instantiated, and every later run is one
 * cuGraphLaunch; a block that draws random numbers (on the host), a
 * profiled step, or a driver without graphs runs its body eagerly. The
 * loss, the norm, the verdict and the gathers' error words come back to
 * pinned memory behind an event, which the step waits for: its statistics
 * and failures are known when td_train_step returns. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

enum { ERROR_BYTES = TD_SCRATCH_NERRORS * 2 * sizeof(int64_t), GATE_IN_BYTES = 32 /* lr, bias1, bias2_sqrt, step */ };

typedef enum graph_mode { GRAPH_NOT_RUN, GRAPH_RAN_ONCE, GRAPH_READY, GRAPH_NONE } graph_mode;

struct td_gpu_state {
    unsigned char *pinned; /* the staged inputs, then the gate, then the error words */
    size_t gate_at, errors_at;
    CUevent done;          /* recorded after the results' copy back */
    graph_mode *mode;      /* per train block */
    CUgraphExec *graph;
};

void td_gpu_state_free(td_model *m)
{
    struct td_gpu_state *g = m->gpu;
    struct td_cuda *cuda = m->ctx->cuda;
    if (!g)
        return;
    if (cuda && cuda->context) {
        for (int t = 0; g->graph && t < m->desc->ntrains; t++)
            if (g->graph[t])
                cuda->cu.cuGraphExecDestroy(g->graph[t]);
        if (g->done)
            cuda->cu.cuEventDestroy(g->done);
        if (g->pinned)
            cuda->cu.cuMemFreeHost(g->pinned);
    }
    free(g->mode);
    free(g->graph);
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
    if (!g || !(g->mode = calloc((size_t)n, sizeof *g->mode)) || !(g->graph = calloc((size_t)n, sizeof *g->graph))) {
        if (g)
            free(g->mode);
        free(g);
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for the GPU's step state", m->desc->name);
    }
    m->gpu = g;
    g->gate_at = (m->stage_bytes + 63) / 64 * 64; /* stage_bytes fits a size_t with room: model.c summed it */
    g->errors_at = g->gate_at + 128;
    td_status st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuMemAllocHost((void **)&g->pinned, g->errors_at + ERROR_BYTES),
                                  "cuMemAllocHost", "pinned memory for a step's batch");
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&g->done, TD_CU_EVENT_DEFAULT), "cuEventCreate",
                            "a step's event");
    if (st != TD_OK) {
        td_gpu_state_free(m);
        return st;
    }
    *out = g;
    return TD_OK;
}

/* Input k's place in the staging buffer: *at moves to the next 64-byte
 * boundary, the input's (model.c sized the buffer so), *bytes gets its
 * size; the caller moves *at past it. */
static td_status input_place(td_model *m, const td_train_desc *t, int k, size_t *at, size_t *bytes)
{
    *at = (*at + 63) / 64 * 64;
    return td_model_tensor_bytes(m, &t->inputs[k], bytes);
}

/* The batch into pinned memory, then one copy up; din gets each input's
 * device address. */
static td_status stage(td_model *m, struct td_gpu_state *g, const td_train_desc *t, const void *const *inputs,
                       td_dptr *din)
{
    struct td_cuda *cuda = m->ctx->cuda;
    size_t at = 0, bytes;
    for (int k = 0; k < t->ninputs; k++) {
        td_status st = input_place(m, t, k, &at, &bytes);
        if (st != TD_OK)
            return st;
        memcpy(g->pinned + at, inputs[k], bytes);
        din[k] = m->dstage + at;
        at += bytes;
    }
    if (at == 0)
        return TD_OK;
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

/* The step's body, queued: nothing here waits for the GPU. */
static td_status body(td_model *m, int train, const td_dptr *din, int64_t step, double lr)
{
    const td_train_desc *t = &m->desc->trains[train];
    td_ctx *ctx = m->ctx;
    td_dptr gate = m->dscratch + TD_SCRATCH_GATE, sum = m->dscratch + TD_SCRATCH_NORM;
    /* the grad function writes every element of every gradient, and
     * zeroes the error words when it has gathers: nothing to clear first */
    td_status st = t->grad_cuda(m, din);
    bool summed = false;
    for (int i = 0; st == TD_OK && i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i);
        if (t->trained[i] && n > 0) {
            st = td_cuda_sum_squares_into(ctx, m->desc->params[i].dtype,
                                          m->dregion[TD_REGION_GRADS] + m->param_offsets[i], n, sum, summed);
            summed = true;
        }
    }
    if (st == TD_OK && !summed)
        st = td_cuda_zero(ctx, sum, sizeof(double));
    if (st == TD_OK)
        st = td_cuda_step_check(ctx, t->loss_dtype, m->dscratch, sum, m->dscratch + TD_SCRATCH_ERRORS,
                                t->grad_errors_cuda ? TD_SCRATCH_NERRORS : 0, t->clip, gate);
    for (int i = 0; st == TD_OK && t->clip > 0 && i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i);
        if (t->trained[i] && n > 0)
            st = td_cuda_scale_gated(ctx, m->desc->params[i].dtype, m->dregion[TD_REGION_GRADS] + m->param_offsets[i],
                                     n, 1.0, gate);
    }
    for (int i = 0; st == TD_OK && i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i), k = (size_t)train * (size_t)m->desc->nparams + (size_t)i;
        if (!t->trained[i] || n == 0)
            continue;
        double decay = t->decay[i] ? t->optim.weight_decay : 0;
        st = td_cuda_optim_update_gated(ctx, &t->optim, m->desc->params[i].dtype, n,
                                        m->dregion[TD_REGION_PARAMS] + m->param_offsets[i],
                                        m->dregion[TD_REGION_GRADS] + m->param_offsets[i],
                                        m->dregion[TD_REGION_OPTIM] + m->optim_offsets[k], step, lr, decay, gate);
        if (st == TD_OK && m->profile)
            st = td_cuda_sync(ctx, "an optimizer update");
    }
    return st;
}

/* The body captured into a graph and instantiated; GRAPH_NONE (and
 * nothing on the context) when the driver or the body will not have it. */
static void capture(td_model *m, struct td_gpu_state *g, int train, const td_dptr *din, int64_t step, double lr)
{
    struct td_cuda *cuda = m->ctx->cuda;
    g->mode[train] = GRAPH_NONE;
    if (!cuda->cu.cuStreamBeginCapture || !cuda->cu.cuStreamEndCapture || !cuda->cu.cuGraphInstantiateWithFlags ||
        !cuda->cu.cuGraphLaunch || !cuda->cu.cuGraphExecDestroy || !cuda->cu.cuGraphDestroy)
        return;
    bool had_error = td_ctx_error(m->ctx) != NULL;
    if (cuda->cu.cuStreamBeginCapture(cuda->stream, TD_CU_CAPTURE_MODE_RELAXED) != TD_CUDA_SUCCESS)
        return;
    td_status st = body(m, train, din, step, lr);
    CUgraph graph = NULL;
    CUresult r = cuda->cu.cuStreamEndCapture(cuda->stream, &graph);
    CUgraphExec exec = NULL;
    if (st == TD_OK && r == TD_CUDA_SUCCESS && graph &&
        cuda->cu.cuGraphInstantiateWithFlags(&exec, graph, 0) == TD_CUDA_SUCCESS) {
        g->graph[train] = exec;
        g->mode[train] = GRAPH_READY;
    }
    if (graph)
        cuda->cu.cuGraphDestroy(graph);
    if (!had_error && g->mode[train] != GRAPH_READY)
        td_ctx_clear_error(m->ctx); /* the body runs again, eagerly, and says what is wrong */
}

/* A batch already on the device, copied into the staging buffer (where a
 * captured graph reads it): din gets those addresses. */
static td_status stage_device(td_model *m, const td_train_desc *t, const td_dptr *inputs, td_dptr *din)
{
    size_t at = 0, bytes;
    for (int k = 0; k < t->ninputs; k++) {
        td_status st = input_place(m, t, k, &at, &bytes);
        if (st == TD_OK)
            st = td_cuda_copy(m->ctx, din[k] = m->dstage + at, inputs[k], bytes);
        if (st != TD_OK)
            return st;
        at += bytes;
    }
    return TD_OK;
}

td_status td_cuda_train_step(td_model *m, int train, const void *const *inputs, const td_dptr *device_inputs,
                             int64_t step, double lr, double *loss, double *norm, bool *updated)
{
    const td_train_desc *t = &m->desc->trains[train];
    if (!t->grad_cuda)
        return td_fail(m->ctx, TD_ERR_DEVICE, "train block %s has no GPU code", t->name);
    struct td_gpu_state *g;
    td_status st = gpu_state(m, &g);
    if (st != TD_OK)
        return st;
    struct td_cuda *cuda = m->ctx->cuda;
    td_dptr din[t->ninputs > 0 ? t->ninputs : 1];
    st = device_inputs ? stage_device(m, t, device_inputs, din) : stage(m, g, t, inputs, din);
    if (st != TD_OK)
        return st;
    /* the step's scalars, up */
    td_step_gate *gate = (td_step_gate *)(g->pinned + g->gate_at);
    memset(gate, 0, sizeof *gate);
    gate->lr = lr;
    gate->step = step;
    if (t->optim.kind == TD_OPTIM_ADAM || t->optim.kind == TD_OPTIM_ADAMW)
        td_optim_adam_bias(&t->optim, step, &gate->bias1, &gate->bias2_sqrt);
    st = td_cu_check_at(m->ctx, cuda,
                        cuda->cu.cuMemcpyHtoDAsync(m->dscratch + TD_SCRATCH_GATE, gate, GATE_IN_BYTES, cuda->stream),
                        "cuMemcpyHtoDAsync", "a step's scalars");
    if (st != TD_OK)
        return st;
    /* the body: a graph from the second run on */
    if (g->mode[train] == GRAPH_RAN_ONCE && t->cuda_graph_ok && !m->profile)
        capture(m, g, train, din, step, lr);
    if (g->mode[train] == GRAPH_READY && !m->profile) {
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuGraphLaunch(g->graph[train], cuda->stream), "cuGraphLaunch",
                            t->name);
    } else {
        st = body(m, train, din, step, lr);
        if (g->mode[train] == GRAPH_NOT_RUN)
            g->mode[train] = GRAPH_RAN_ONCE;
    }
    /* the verdict, down */
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda,
                            cuda->cu.cuMemcpyDtoHAsync(gate, m->dscratch + TD_SCRATCH_GATE, sizeof *gate, cuda->stream),
                            "cuMemcpyDtoHAsync", "a step's loss and norm");
    if (st == TD_OK && t->grad_errors_cuda)
        st = td_cu_check_at(m->ctx, cuda,
                            cuda->cu.cuMemcpyDtoHAsync(g->pinned + g->errors_at, m->dscratch + TD_SCRATCH_ERRORS,
                                                       ERROR_BYTES, cuda->stream),
                            "cuMemcpyDtoHAsync", "a step's gather errors");
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventRecord(g->done, cuda->stream), "cuEventRecord", t->name);
    if (st == TD_OK)
        st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventSynchronize(g->done), "cuEventSynchronize", t->name);
    if (st != TD_OK)
        return st;
    if (t->grad_errors_cuda && (st = t->grad_errors_cuda(m, (const int64_t *)(g->pinned + g->errors_at))) != TD_OK)
        return st;
    *loss = gate->loss;
    *norm = gate->norm;
    *updated = gate->ok != 0;
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
    td_dptr din[t->ninputs > 0 ? t->ninputs : 1];
    if ((st = stage(m, g, t, inputs, din)) != TD_OK || (st = t->loss_cuda(m, din)) != TD_OK)
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
