/* profile.c - `./model profile` on the GPU: each operation timed with a
 * pair of CUDA events on the stream, not by waiting for it.
 *
 * The generated code records an operation's begin and end events around
 * its launches (td_cuda_profile_mark) and, at the end of the function,
 * td_cuda_profile_flush waits once for the stream and adds each recorded
 * pair's elapsed time to the profile's row: the GPU's time for the
 * operation, without the launch latency and host work a wall clock around
 * a synchronised launch would add. A train step's optimizer updates are
 * rows too (step.c). The events are made when first needed, two a row of
 * m->profile, and freed with the model. */
#include <stdlib.h>

#include "../ctx_internal.h"
#include "cuda_internal.h"

struct td_cuda_profile {
    int nops;
    CUevent *begin, *end;
    unsigned char *marked; /* by row: 1 begun, 2 ended, since the last flush */
};

void td_cuda_profile_free(td_model *m)
{
    struct td_cuda_profile *p = m->cuda_profile;
    struct td_cuda *cuda = m->ctx->cuda;
    if (!p)
        return;
    for (int i = 0; cuda && cuda->context && i < p->nops; i++) {
        if (p->begin[i])
            cuda->cu.cuEventDestroy(p->begin[i]);
        if (p->end[i])
            cuda->cu.cuEventDestroy(p->end[i]);
    }
    free(p->begin);
    free(p->end);
    free(p->marked);
    free(p);
    m->cuda_profile = NULL;
}

/* The events for m->profile's rows, made on first use (again when the
 * profile has more rows than the last). */
static td_status events(td_model *m, struct td_cuda_profile **out)
{
    int nops = m->profile->nops;
    if (m->cuda_profile && m->cuda_profile->nops >= nops) {
        *out = m->cuda_profile;
        return TD_OK;
    }
    td_cuda_profile_free(m);
    struct td_cuda_profile *p = calloc(1, sizeof *p);
    if (!p || !(p->begin = calloc((size_t)nops + 1, sizeof *p->begin)) ||
        !(p->end = calloc((size_t)nops + 1, sizeof *p->end)) || !(p->marked = calloc((size_t)nops + 1, 1))) {
        if (p) {
            free(p->begin);
            free(p->end);
        }
        free(p);
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for profiling events", m->desc->name);
    }
    p->nops = nops;
    m->cuda_profile = p;
    struct td_cuda *cuda = m->ctx->cuda;
    for (int i = 0; i < nops; i++) {
        td_status st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&p->begin[i], TD_CU_EVENT_DEFAULT),
                                      "cuEventCreate", "profiling");
        if (st == TD_OK)
            st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventCreate(&p->end[i], TD_CU_EVENT_DEFAULT),
                                "cuEventCreate", "profiling");
        if (st != TD_OK)
            return st;
    }
    *out = p;
    return TD_OK;
}

td_status td_cuda_profile_mark(td_model *m, int op, bool end)
{
    if (!m->profile || op < 0 || op >= m->profile->nops)
        return TD_OK;
    struct td_cuda *cuda = td_cuda_ready(m->ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    struct td_cuda_profile *p = NULL;
    td_status st = events(m, &p);
    if (st != TD_OK)
        return st;
    if (end && p->marked[op] != 1)
        return TD_OK; /* no begin to pair with */
    st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventRecord(end ? p->end[op] : p->begin[op], cuda->stream),
                        "cuEventRecord", "profiling");
    if (st == TD_OK)
        p->marked[op] = end ? 2 : 1;
    return st;
}

td_status td_cuda_profile_flush(td_model *m)
{
    struct td_cuda_profile *p = m->cuda_profile;
    if (!m->profile || !p)
        return TD_OK;
    struct td_cuda *cuda = td_cuda_ready(m->ctx);
    if (!cuda)
        return TD_ERR_DEVICE;
    td_status st = td_cuda_sync(m->ctx, "profiling");
    for (int i = 0; i < p->nops && i < m->profile->nops; i++) {
        float ms = 0;
        if (st == TD_OK && p->marked[i] == 2) {
            st = td_cu_check_at(m->ctx, cuda, cuda->cu.cuEventElapsedTime(&ms, p->begin[i], p->end[i]),
                                "cuEventElapsedTime", "profiling");
            if (st == TD_OK) {
                m->profile->seconds[i] += ms / 1e3;
                m->profile->calls[i]++;
            }
        }
        p->marked[i] = 0;
    }
    return st;
}
