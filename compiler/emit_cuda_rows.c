/* emit_cuda_rows.c - row groups: a reduction and what follows it over the
 * same rows, one kernel a group (emit_cuda.c emits every other kernel).
 *
 * emit_cuda_row_group finds a group, emit_cuda_group_buffers lists its
 * kernels' buffers, emit_cuda_kernel_row_group writes its kernels: the plain
 * one, a block a row and each member a phase of it, and where the group
 * has rows two phases touch, a cached one that keeps them in shared memory
 * (the row cache; emit_cuda_row_cache_bytes gives the host its size). */
#include <stdlib.h>
#include <string.h>

#include "emit_cuda_internal.h"
#include "td.h" /* TD_CUDA_SHARED_MAX: the shared memory a launch may ask */

/* ---- row groups: a reduction and what follows it over the same rows ----
 *
 * Softmax, log-softmax and layer norm reach the GPU as a few nodes over
 * one loop space of kept axes K (the rows) and reduced axes R: reductions
 * of K x R to K, and maps of K x R that read those reductions broadcast
 * along R. Run one by one they read the tensor once a node; as a row group
 * they are one kernel with a block per row, each member a phase of it: a
 * reduction's value stays in a register of every thread (and is written
 * out), a map's elements are written as the row's threads stride over R,
 * and a thread reads back only elements it wrote itself (every phase
 * strides alike, a chunk of 16 bytes at a time), so only a reduction's
 * combine needs a barrier (one a reduction a row); the row is read from
 * DRAM about once and re-read from the caches (or, in the group's cached
 * kernel, from shared memory: the row cache below). A node joins the group
 * that precedes it when its loop space is K x R in order, every member it reads
 * is read at its own row (a reduction broadcast along R, a map at the same
 * element), and its result's memory is no memory the group reads or
 * writes (the plan may give a dead buffer's slot to a later node; in a
 * group, rows run at once). */

/* Whether v reads a K-shaped array at the row's element, broadcast along R. */
static bool row_broadcast(const Emit *e, const View *v, int nk, const Size *kept, int nr)
{
    if (v->rank != nk + nr || !poly_is_zero(v->offset))
        return false;
    for (int k = nk; k < nk + nr; k++)
        if (!poly_is_zero(v->strides[k]))
            return false;
    View rows = *v;
    rows.rank = nk;
    return emit_cuda_row_major(e, &rows, nk, kept);
}

/* The loop space of a member: K and R of a reduction, in order. */
static bool reduce_in_order(const Emit *e, const IrNode *n, ReduceLoops *loops)
{
    if (n->op != IR_REDUCE || emit_cuda_reads_index(n->expr))
        return false;
    *loops = emit_c_reduce_loops(e, n);
    for (int k = 0; k < n->input_rank; k++)
        if (loops->axis_of[k] != k)
            return false;
    return loops->nkept > 0 && loops->nred > 0;
}

static bool sizes_eq(int n, const Size *a, const Size *b)
{
    for (int k = 0; k < n; k++)
        if (!size_eq(a[k], b[k]))
            return false;
    return true;
}

int emit_cuda_row_group(const Emit *e, const IrFunction *f, size_t start, const IrNode **members)
{
    const IrNode *first = f->nodes.items[start];
    ReduceLoops loops;
    if (!plan_has_buffer(first) || !reduce_in_order(e, first, &loops))
        return 0;
    int nk = loops.nkept, nr = loops.nred, count = 0, nslots = 0;
    int *slots = arena_array(e->a, f->nodes.len * 4 + 4, sizeof(int)); /* slots the group reads */
    for (size_t i = start; i < f->nodes.len; i++) {
        const IrNode *n = f->nodes.items[i];
        if (!plan_has_buffer(n))
            continue;
        bool fits;
        if (n->op == IR_REDUCE) {
            ReduceLoops l;
            fits = reduce_in_order(e, n, &l) && l.nkept == nk && l.nred == nr && sizes_eq(nk, l.kept, loops.kept) &&
                   sizes_eq(nr, l.red, loops.red);
        } else {
            Poly offset;
            fits = (n->op == IR_MAP || n->op == IR_COPY) && !(n->expr && emit_cuda_reads_index(n->expr)) &&
                   emit_cuda_copy_param(e, n, &offset) < 0 && !emit_cuda_head_of(e, n) && !emit_cuda_epilogue_of(e, n) &&
                   n->type.rank == nk + nr && sizes_eq(nk, n->type.dims, loops.kept) &&
                   sizes_eq(nr, n->type.dims + nk, loops.red);
        }
        int nread = 0, *read = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(int));
        for (int k = 0; fits && k < n->ninputs; k++) {
            int base;
            View v = emit_c_input_view(e, n, k, &base);
            int m = 0;
            while (m < count && members[m]->id != base)
                m++;
            if (m < count) /* a member: at this row only */
                fits = members[m]->op == IR_REDUCE ? row_broadcast(e, &v, nk, loops.kept, nr)
                                                   : emit_cuda_row_major(e, &v, nk + nr, n->op == IR_REDUCE ? n->input_dims : n->type.dims);
            else if (e->plan->slot_of[base] >= 0)
                read[nread++] = e->plan->slot_of[base];
        }
        /* Memory is shared between rows safely only where each row touches
         * its own elements: a read of a buffer the group writes is not (any
         * view may read any row), nor is a result in a buffer the group
         * reads; two results may share a slot (the plan reuses a dead one)
         * when their rows are laid out alike (both per row, or both rows
         * of R, of one element size). */
        int slot = e->plan->slot_of[n->id];
        for (int k = 0; fits && k < nread; k++)
            for (int m = 0; m < count && fits; m++)
                fits = e->plan->slot_of[members[m]->id] != read[k];
        if (fits && slot >= 0) {
            fits = !emit_c_in_list(slots, nslots, slot);
            for (int m = 0; m < count && fits; m++)
                if (e->plan->slot_of[members[m]->id] == slot)
                    fits = (members[m]->op == IR_REDUCE) == (n->op == IR_REDUCE) &&
                           dtype_bits(members[m]->type.dtype) == dtype_bits(n->type.dtype);
        }
        if (!fits)
            break;
        members[count++] = n;
        for (int k = 0; k < nread; k++)
            slots[nslots++] = read[k];
    }
    return count >= 2 ? count : 0;
}

int *emit_cuda_group_buffers(const Emit *e, const IrNode *const *members, int count, int *nbuf)
{
    int cap = count;
    for (int m = 0; m < count; m++)
        cap += members[m]->ninputs;
    int *ids = arena_array(e->a, (size_t)cap + 1, sizeof(int)), len = 0;
    for (int m = 0; m < count; m++)
        ids[len++] = members[m]->id;
    for (int m = 0; m < count; m++)
        for (int k = 0; k < members[m]->ninputs; k++) {
            int base;
            emit_c_input_view(e, members[m], k, &base);
            if (!emit_c_in_list(ids, len, base))
                ids[len++] = base;
        }
    *nbuf = len;
    return ids;
}

/* A phase's view of the group: which members have their views declared
 * (their loads), and which virtual members' values the loop body has. A
 * virtual member is a map the group alone reads (its last reader is a
 * member, it is no result): it gets no phase and no memory traffic; its
 * readers compute its value where they would load it. */
typedef struct RowCache RowCache;
typedef struct Phase {
    const IrNode *const *members;
    int count;
    const char ***loads;   /* by member: its inputs' loads, once declared */
    bool *computed;        /* by member: w<id> holds its value in this loop body */
    const RowCache *cache; /* the buffers kept in shared memory */
    int at;                /* the member whose phase this is */
    bool *wanted;          /* by cached buffer: read in this phase, as l<id> */
    bool *filled;          /* by cached buffer: written in this phase (s<id>, stored after the chunk) */
    bool *row_read;        /* by node id: a buffer read from global memory at the row's element (g<id>) */
    int width;             /* the elements of a thread's chunk */
    bool aligned;          /* every row array moves as vectors (the kernel has no `vec` test) */
} Phase;

static int member_at(const IrNode *const *members, int count, int id)
{
    for (int m = 0; m < count; m++)
        if (members[m]->id == id)
            return m;
    return -1;
}

static bool is_virtual(const Emit *e, const IrNode *const *members, int count, int m)
{
    const IrNode *n = members[m];
    return n->op != IR_REDUCE && m < count - 1 && e->plan->output_of[n->id] < 0 &&
           e->plan->last_use[n->id] <= members[count - 1]->id;
}

/* How member n reads its input k: a reduction member's register, a
 * virtual member's value, the row's element of a buffer (row-major, as
 * the loop runs), or any other view. */
typedef enum { READ_REDUCED, READ_VIRTUAL, READ_ROW, READ_VIEW } ReadKind;

static ReadKind read_kind(const Emit *e, const IrNode *const *members, int count, const IrNode *n, int k, int *base, View *v)
{
    *v = emit_c_input_view(e, n, k, base);
    int m = member_at(members, count, *base);
    if (m >= 0 && members[m]->op == IR_REDUCE)
        return READ_REDUCED;
    if (m >= 0 && is_virtual(e, members, count, m))
        return READ_VIRTUAL;
    if (emit_cuda_row_major(e, v, v->rank, n->op == IR_REDUCE ? n->input_dims : n->type.dims))
        return READ_ROW;
    return READ_VIEW;
}

/* ---- the row cache ----
 *
 * Every phase strides over the row alike (thread t has elements t,
 * t + threads, ...), so a thread reads back only what it wrote itself,
 * and needs no barrier for it. A row group whose rows fit gets a second
 * kernel, <name>_cached, that keeps in dynamic shared memory (c<id>, the
 * row's elements) each row two phases or more touch:
 *   - a buffer read at the row's element (softmax's x, read by the max and
 *     the sum): the first phase reads global memory and fills the cache,
 *     later ones read the cache;
 *   - a member map a later phase reads: written to both by its phase;
 *   - a virtual member computed by two phases (softmax's exp(x - max), by
 *     the sum and the quotient): the first computes it and fills the
 *     cache, later ones read it there and neither compute it nor read its
 *     inputs.
 * Rows that no phase needs at once share memory (a slot): a row the
 * phases stop reading where another's first phase computes it (x where
 * exp(x - max) is computed; the cached reads of a phase come first in its
 * loop body, its writes after). The host launches the cached kernel when
 * the slots fit in TD_CUDA_SHARED_MAX (emit_cuda_row_cache_bytes), the
 * plain one otherwise. */
struct RowCache {
    const IrNode *const *members;
    int count;
    int n;
    int *ids;     /* by entry: the buffer's or member's id */
    int *first;   /* by entry: the member whose phase fills it */
    int *slot;    /* by entry: its slot */
    int nslots;
    int *slot_bytes; /* by slot: its entries' element size */
};

typedef struct Touches {
    int *first, *last, *phases; /* by node id: first and last phase, how many phases */
    const bool *reuse;          /* by node id: a virtual read from the cache after its first phase (NULL: none) */
} Touches;

static void touch(Touches *t, int id, int m)
{
    if (t->last[id] == m)
        return;
    if (t->first[id] < 0)
        t->first[id] = m;
    t->last[id] = m;
    t->phases[id]++;
}

/* What member n's phase m touches: the rows it reads and the virtual
 * members it computes (not what a virtual read from the cache reads). */
static void touch_reads(const Emit *e, const IrNode *const *members, int count, const IrNode *n, int m, Touches *t)
{
    for (int k = 0; k < n->ninputs; k++) {
        int base;
        View v;
        ReadKind kind = read_kind(e, members, count, n, k, &base, &v);
        if (kind == READ_ROW)
            touch(t, base, m);
        if (kind != READ_VIRTUAL)
            continue;
        bool from_cache = t->reuse && t->reuse[base] && t->first[base] >= 0 && t->first[base] < m;
        touch(t, base, m);
        if (!from_cache)
            touch_reads(e, members, count, members[member_at(members, count, base)], m, t);
    }
}

static Touches touches(const Emit *e, const IrNode *const *members, int count, const bool *reuse)
{
    size_t len = e->f->nodes.len + 1;
    Touches t = {arena_array(e->a, len, sizeof(int)), arena_array(e->a, len, sizeof(int)), arena_array(e->a, len, sizeof(int)),
                 reuse};
    for (size_t i = 0; i < len; i++)
        t.first[i] = t.last[i] = -1;
    for (int m = 0; m < count; m++) {
        if (is_virtual(e, members, count, m))
            continue;
        touch_reads(e, members, count, members[m], m, &t);
        if (members[m]->op != IR_REDUCE)
            touch(&t, members[m]->id, m);
    }
    return t;
}

static bool is_virtual_id(const Emit *e, const IrNode *const *members, int count, int id)
{
    int m = member_at(members, count, id);
    return m >= 0 && is_virtual(e, members, count, m);
}

static RowCache row_cache(const Emit *e, const IrNode *const *members, int count)
{
    size_t len = e->f->nodes.len + 1;
    /* the virtual members two phases compute, then what each phase touches
     * when they are read from the cache after their first */
    Touches all = touches(e, members, count, NULL);
    bool *reuse = arena_array(e->a, len, sizeof(bool));
    for (size_t id = 0; id < len; id++)
        reuse[id] = all.phases[id] >= 2 && is_virtual_id(e, members, count, (int)id);
    Touches t = touches(e, members, count, reuse);
    RowCache c = {members, count, 0, arena_array(e->a, len, sizeof(int)), arena_array(e->a, len, sizeof(int)),
                  arena_array(e->a, len, sizeof(int)), 0, arena_array(e->a, len, sizeof(int))};
    int *slot_last = arena_array(e->a, len, sizeof(int));
    for (int m = 0; m < count; m++) /* entries by their first phase, each into a slot free by then */
        for (size_t id = 0; id < len; id++) {
            if (t.phases[id] < 2 || t.first[id] != m)
                continue;
            bool computed = member_at(members, count, (int)id) >= 0; /* written in its first phase, after the reads */
            int bytes = dtype_bits(ir_get(e->f, (int)id)->type.dtype) / 8, s = 0;
            /* entries of one element size a slot: a thread's chunk of one is then its chunk of the other */
            while (s < c.nslots && !((slot_last[s] < m || (computed && slot_last[s] == m)) && c.slot_bytes[s] == bytes))
                s++;
            if (s == c.nslots)
                c.slot_bytes[c.nslots++] = bytes;
            slot_last[s] = t.last[id];
            c.ids[c.n] = (int)id;
            c.first[c.n] = m;
            c.slot[c.n++] = s;
        }
    return c;
}

static int cached_at(const RowCache *c, int id)
{
    for (int j = 0; c && j < c->n; j++)
        if (c->ids[j] == id)
            return j;
    return -1;
}

/* Slot s's bytes: a row of its elements, rounded up to 16 bytes (so a
 * thread's last chunk, 16 bytes at most, stays in it). */
static const char *slot_row_bytes(const Emit *e, int bytes, const char *reduced)
{
    return arena_printf(e->a, "((size_t)%s * %d + 15) / 16 * 16", reduced, bytes);
}

const char *emit_cuda_row_cache_bytes(const Emit *e, const IrNode *const *members, int count, const char *reduced)
{
    RowCache c = row_cache(e, members, count);
    const char *bytes = "(size_t)0";
    for (int s = 0; s < c.nslots; s++)
        bytes = s ? arena_printf(e->a, "%s + %s", bytes, slot_row_bytes(e, c.slot_bytes[s], reduced))
                  : slot_row_bytes(e, c.slot_bytes[s], reduced);
    return bytes;
}

/* Declares (at depth, before the loop) the views member n reads through;
 * a reduction member's value is its register v<id>, a virtual member's is
 * left NULL for compute_virtuals (or fetch_cached, for one read from the
 * cache), a cached buffer's is l<id> (fetched by fetch_cached in the loop). */
static const char **declare_loads(const Emit *e, Phase *ph, const IrNode *n, int depth)
{
    int self = member_at(ph->members, ph->count, n->id);
    if (self >= 0 && ph->loads[self])
        return ph->loads[self];
    const char **loads = arena_array(e->a, (size_t)n->ninputs + 1, sizeof(char *));
    if (self >= 0)
        ph->loads[self] = loads;
    for (int k = 0; k < n->ninputs; k++) {
        int base;
        View v;
        ReadKind kind = read_kind(e, ph->members, ph->count, n, k, &base, &v);
        Dtype t = ir_get(e->f, base)->type.dtype;
        int j = cached_at(ph->cache, base);
        if (kind == READ_REDUCED) {
            loads[k] = emit_c_load(e, t, arena_printf(e->a, "v%d", base), "0");
        } else if (kind == READ_VIRTUAL && j >= 0 && ph->cache->first[j] < ph->at) {
            loads[k] = NULL; /* read from the cache at the top of the loop */
            ph->wanted[j] = true;
        } else if (kind == READ_VIRTUAL) {
            loads[k] = NULL;
            declare_loads(e, ph, ph->members[member_at(ph->members, ph->count, base)], depth);
        } else if (kind == READ_ROW && j >= 0) {
            ph->wanted[j] = true;
            loads[k] = emit_c_load(e, t, arena_printf(e->a, "l%d", base), "0");
        } else if (kind == READ_ROW) {
            ph->row_read[base] = true; /* loaded a chunk at a time before the chunk's elements */
            loads[k] = emit_c_load(e, t, arena_printf(e->a, "g%d[u].e", base), "j");
        } else {
            const char *name = arena_printf(e->a, "x%d_%d", n->id, k);
            emit_c_declare_view(e, depth, name, &v);
            loads[k] = emit_c_load(e, t, emit_c_base_name(e, base), emit_c_offset(e, name, &v, NULL));
        }
    }
    return loads;
}

/* At the top of an element's body: what this phase reads of the cache,
 * from the chunk's vectors. A buffer as l<id>: from global memory (g<id>,
 * and into the cache, s<id>) in the phase that fills the cache, from the
 * cache (k<id>) in later ones; a virtual member as w<id>, from the cache. */
static void fetch_cached(const Emit *e, Phase *ph, int depth)
{
    for (int j = 0; ph->cache && j < ph->cache->n; j++) {
        if (!ph->wanted[j])
            continue;
        int id = ph->cache->ids[j], m = member_at(ph->members, ph->count, id);
        const char *ct = emit_c_ctype(ir_get(e->f, id)->type.dtype);
        emit_c_indent(e, depth);
        if (m >= 0 && is_virtual(e, ph->members, ph->count, m)) { /* computed by an earlier phase */
            fprintf(e->out, "const %s w%d[1] = {k%d.e[j]}; /* %%%d, from the row cache */\n", ct, id, id, id);
            ph->computed[m] = true;
        } else if (ph->cache->first[j] == ph->at) {
            fprintf(e->out, "const %s l%d[1] = {g%d[u].e[j]};\n", ct, id, id);
            emit_c_indent(e, depth);
            fprintf(e->out, "s%d.e[j] = l%d[0];\n", id, id);
        } else {
            fprintf(e->out, "const %s l%d[1] = {k%d.e[j]};\n", ct, id, id);
        }
    }
}

static const MapExpr *member_expr(const Emit *e, const IrNode *n)
{
    return n->op == IR_COPY ? mx_input(e->a, 0, ir_get(e->f, n->inputs[0])->type.dtype) : n->expr;
}

/* Inside the loop body: the value of each virtual member n reads, as w<id>
 * (rounded to its dtype as its memory would be; into the cache too where
 * this phase fills it), and their loads. */
static void compute_virtuals(const Emit *e, Phase *ph, const IrNode *n, const char **loads, int depth)
{
    for (int k = 0; k < n->ninputs; k++) {
        if (loads[k])
            continue;
        int base;
        emit_c_input_view(e, n, k, &base);
        int m = member_at(ph->members, ph->count, base);
        const IrNode *v = ph->members[m];
        if (!ph->computed[m]) {
            compute_virtuals(e, ph, v, ph->loads[m], depth);
            const char *value = emit_c_expr_stored(e, member_expr(e, v), ph->loads[m], depth, v->type.dtype);
            emit_c_indent(e, depth);
            fprintf(e->out, "const %s w%d[1] = {%s}; /* %%%d, computed here */\n", emit_c_ctype(v->type.dtype), v->id,
                    value, v->id);
            if (cached_at(ph->cache, v->id) >= 0) {
                emit_c_indent(e, depth);
                fprintf(e->out, "s%d.e[j] = w%d[0];\n", v->id, v->id);
                ph->filled[cached_at(ph->cache, v->id)] = true;
            }
            ph->computed[m] = true;
        }
        loads[k] = emit_c_load(e, v->type.dtype, arena_printf(e->a, "w%d", v->id), "0");
    }
}

static Phase new_phase(const Emit *e, const IrNode *const *members, int count, const RowCache *cache, int at, int width,
                       bool aligned)
{
    int ncache = cache ? cache->n : 0;
    Phase ph = {members, count, arena_array(e->a, (size_t)count + 1, sizeof(char **)),
                arena_array(e->a, (size_t)count + 1, sizeof(bool)), cache, at,
                arena_array(e->a, (size_t)ncache + 1, sizeof(bool)), arena_array(e->a, (size_t)ncache + 1, sizeof(bool)),
                arena_array(e->a, e->f->nodes.len + 1, sizeof(bool)), width, aligned};
    return ph;
}

/* The bytes of a chunk of node id's elements, and the vector type that moves it. */
static int chunk_bytes(const Emit *e, int id, int width)
{
    return width * emit_cuda_element_bytes(ir_get(e->f, id)->type.dtype);
}

static const char *chunk_vector(const Emit *e, int id, int width)
{
    return emit_cuda_vector_type(chunk_bytes(e, id, width));
}

/* A union of a chunk of node id's elements, as one vector (v) and one by
 * one (e); `array` "[U]" for U chunks. */
static void declare_chunk(const Emit *e, char prefix, int id, int width, const char *array, int depth)
{
    emit_c_indent(e, depth);
    fprintf(e->out, "union { %s v; %s e[%d]; } %c%d%s;\n", chunk_vector(e, id, width),
            emit_c_ctype(ir_get(e->f, id)->type.dtype), width, prefix, id, array);
}

/* The loop of a phase over the row, a chunk of `width` elements a thread
 * (thread t has chunks t, t + threads, ...: every phase alike, so a
 * thread reads back only elements it wrote), U chunks at a time: first
 * each buffer the phase reads at the row's element, for all U chunks
 * (g<id>[u]: one vector where `vec`, the kernel's alignment test, else
 * element by element), so that a thread has U loads in flight; then chunk
 * by chunk (u, r0) what it reads of the row cache (k<id>: the cache is
 * aligned to its vectors, rows are padded to 16 bytes) and its elements. */
static void phase_begin(const Emit *e, Phase *ph)
{
    for (int j = 0; ph->cache && j < ph->cache->n; j++) /* a buffer this phase reads into the cache */
        if (ph->wanted[j] && ph->cache->first[j] == ph->at)
            ph->row_read[ph->cache->ids[j]] = ph->filled[j] = true;
    static const char *const chunk = "const int64_t r0 = rb + u * threads * W;\n";
    fputs("            for (int64_t rb = (int64_t)threadIdx.x * W; rb < reduced_total; rb += threads * W * U) {\n", e->out);
    bool reads = false;
    for (size_t id = 0; id <= e->f->nodes.len; id++)
        if (ph->row_read[id]) {
            declare_chunk(e, 'g', (int)id, ph->width, "[U]", 4);
            reads = true;
        }
    if (reads) {
        fprintf(e->out, "                #pragma unroll\n                for (int u = 0; u < U; u++) {\n                    %s"
                        "                    if (r0 >= reduced_total)\n                        break;\n", chunk);
        for (size_t id = 0; id <= e->f->nodes.len; id++) {
            if (!ph->row_read[id])
                continue;
            const char *base = emit_c_base_name(e, (int)id), *vt = chunk_vector(e, (int)id, ph->width);
            if (ph->aligned)
                fprintf(e->out, "                    g%zu[u].v = *(const %s *)&%s[o * reduced_total + r0];\n", id, vt, base);
            else
                fprintf(e->out, "                    if (vec)\n                        g%zu[u].v = *(const %s *)&%s[o * reduced_total + r0];\n"
                                "                    else\n                        #pragma unroll\n                        for (int j = 0; j < W; j++)\n"
                                "                            g%zu[u].e[j] = r0 + j < reduced_total ? %s[o * reduced_total + r0 + j] : 0;\n",
                        id, vt, base, id, base);
        }
        fputs("                }\n", e->out);
    }
    fprintf(e->out, "                #pragma unroll\n                for (int u = 0; u < U; u++) {\n                    %s"
                    "                    if (r0 >= reduced_total)\n                        break;\n", chunk);
    for (int j = 0; ph->cache && j < ph->cache->n; j++) {
        int id = ph->cache->ids[j];
        if (!ph->wanted[j] || ph->cache->first[j] == ph->at)
            continue;
        declare_chunk(e, 'k', id, ph->width, "", 5);
        fprintf(e->out, "                    k%d.v = *(const %s *)&c%d[r0];\n", id,
                chunk_vector(e, id, ph->width), id);
    }
}

/* The element body's start (into the phase's body stream): the row's
 * index split, the cache's reads. */
static Emit body_begin(const Emit *e, Phase *ph, int nk, int nr, char **text, size_t *len)
{
    Emit in = *e;
    in.out = open_memstream(text, len);
    if (!in.out)
        die("emit_cuda_rows: open_memstream failed");
    emit_cuda_split_index(&in, 6, "r", nk, nr);
    fetch_cached(&in, ph, 6);
    return in;
}

/* The chunk's elements, their body written by the phase into `in`
 * (body_begin): first the chunks it fills (s<id> for the cache, y<out>
 * for the member's own result, out >= 0), then the loop over j with the
 * body, then those chunks stored, one vector each (the member's, where
 * `vec`, else element by element). */
static void phase_end(const Emit *e, Phase *ph, Emit *in, char **text, int out)
{
    fclose(in->out); /* *text is the body from here */
    for (int j = 0; ph->cache && j < ph->cache->n; j++)
        if (ph->filled[j])
            declare_chunk(e, 's', ph->cache->ids[j], ph->width, "", 5);
    if (out >= 0)
        declare_chunk(e, 'y', out, ph->width, "", 5);
    fputs("                    #pragma unroll\n"
          "                    for (int j = 0; j < W; j++) {\n"
          "                        const int64_t r = r0 + j;\n"
          "                        if (r >= reduced_total)\n"
          "                            break;\n", e->out);
    fputs(*text, e->out);
    free(*text);
    fputs("                    }\n", e->out);
    for (int j = 0; ph->cache && j < ph->cache->n; j++) {
        int id = ph->cache->ids[j];
        if (ph->filled[j])
            fprintf(e->out, "                    *(%s *)&c%d[r0] = s%d.v;\n",
                    chunk_vector(e, id, ph->width), id, id);
    }
    if (out >= 0 && ph->aligned)
        fprintf(e->out, "                    *(%s *)&b%d[o * reduced_total + r0] = y%d.v;\n", chunk_vector(e, out, ph->width), out, out);
    else if (out >= 0)
        fprintf(e->out, "                    if (vec)\n                        *(%s *)&b%d[o * reduced_total + r0] = y%d.v;\n"
                        "                    else\n                        #pragma unroll\n                        for (int j = 0; j < W && r0 + j < reduced_total; j++)\n"
                        "                            b%d[o * reduced_total + r0 + j] = y%d.e[j];\n",
                chunk_vector(e, out, ph->width), out, out, out, out);
    fputs("                }\n            }\n", e->out);
}

/* The members and the cache of a row group's kernel (cache NULL: the plain one). */
typedef struct Group {
    const IrNode *const *members;
    int count;
    const RowCache *cache;
    int width;    /* the elements of a thread's chunk: 16 bytes of the widest row */
    bool aligned; /* every row array moves as vectors, whatever the dims (row_aligned) */
} Group;

static void group_reduce(const Emit *e, const Group *g, int at, int nk, int nr)
{
    const IrNode *n = g->members[at];
    ReduceTypes rt = emit_cuda_reduce_types(e, n);
    Dtype out_t = rt.out;
    bool fl = rt.fl;
    const char *acc_t = rt.acc;
    fprintf(e->out, "        /* %%%d reduce: %s */\n        %s v%d[1];\n        {\n", n->id, emit_c_loc_text(e, n->loc),
            emit_c_ctype(out_t), n->id);
    Phase ph = new_phase(e, g->members, g->count, g->cache, at, g->width, g->aligned);
    const char **loads = declare_loads(e, &ph, n, 3);
    fprintf(e->out, "            %s acc = %s;\n", acc_t, emit_cuda_identity(n->reduce, fl));
    phase_begin(e, &ph);
    char *text;
    size_t len;
    Emit in = body_begin(e, &ph, nk, nr, &text, &len);
    compute_virtuals(&in, &ph, n, loads, 6);
    const char *x = n->expr ? emit_c_expr(&in, n->expr, loads, 6) : loads[0];
    fprintf(in.out, "                        const %s x = (%s)%s;\n", acc_t, acc_t, x);
    emit_cuda_accumulate(&in, n->reduce, fl, 6);
    phase_end(e, &ph, &in, &text, -1);
    emit_cuda_reduce_result(e, n, fl, acc_t, arena_printf(e->a, "part%d[turn]", n->id), arena_printf(e->a, "v%d[0]", n->id), 3);
    fprintf(e->out, "            if (threadIdx.x == 0)\n                b%d[o] = v%d[0];\n        }\n", n->id, n->id);
}

static void group_map(const Emit *e, const Group *g, int at, int nk, int nr)
{
    const IrNode *n = g->members[at];
    fprintf(e->out, "        /* %%%d %s: %s */\n        {\n", n->id, ir_op_name(n->op), emit_c_loc_text(e, n->loc));
    Phase ph = new_phase(e, g->members, g->count, g->cache, at, g->width, g->aligned);
    const char **loads = declare_loads(e, &ph, n, 3);
    phase_begin(e, &ph);
    char *text;
    size_t len;
    Emit in = body_begin(e, &ph, nk, nr, &text, &len);
    compute_virtuals(&in, &ph, n, loads, 6);
    const char *value = emit_c_expr_stored(&in, member_expr(e, n), loads, 6, n->type.dtype);
    fprintf(in.out, "                        y%d.e[j] = %s;\n", n->id, value);
    int j = cached_at(g->cache, n->id);
    if (j >= 0) {
        fprintf(in.out, "                        s%d.e[j] = y%d.e[j];\n", n->id, n->id);
        ph.filled[j] = true;
    }
    phase_end(e, &ph, &in, &text, n->id);
    fputs("        }\n", e->out);
}

/* Whether buffer id is read or written at the row's element by a phase
 * (a member map with a phase, a buffer a member reads in order). */
static bool row_array(const Emit *e, const IrNode *const *members, int count, int id)
{
    int self = member_at(members, count, id);
    if (self >= 0)
        return members[self]->op != IR_REDUCE && !is_virtual(e, members, count, self);
    for (int m = 0; m < count; m++)
        for (int k = 0; k < members[m]->ninputs; k++) {
            int base;
            View v;
            if (read_kind(e, members, count, members[m], k, &base, &v) == READ_ROW && base == id)
                return true;
        }
    return false;
}

/* A thread's chunk: 16 bytes of the widest element a phase moves at the
 * row's element (at least 2 elements). */
static int chunk_width(const Emit *e, const IrNode *const *members, int count)
{
    int widest = 1;
    for (int m = 0; m < count; m++) {
        if (members[m]->op != IR_REDUCE && emit_cuda_element_bytes(members[m]->type.dtype) > widest)
            widest = emit_cuda_element_bytes(members[m]->type.dtype);
        for (int k = 0; k < members[m]->ninputs; k++) {
            int base;
            View v;
            if (read_kind(e, members, count, members[m], k, &base, &v) == READ_ROW &&
                emit_cuda_element_bytes(ir_get(e->f, base)->type.dtype) > widest)
                widest = emit_cuda_element_bytes(ir_get(e->f, base)->type.dtype);
        }
    }
    return 16 / widest;
}

/* The chunks a thread loads at once, unrolled, where the row's length is known only at run time. */
enum { UNROLL_CHUNKS = 4 };

/* Whether the row's nr extents have a product known here, in *elements. */
static bool static_row(const Emit *e, int nr, const Size *red, int64_t *elements)
{
    Size total;
    return size_product(red, nr, e->p->names, &total) == SIZE_OK && size_is_const(total, elements) && *elements > 0;
}

/* One kernel of a row group: the plain one (g->cache NULL) or the cached one. */
static void group_kernel(Emit *e, const Group *g, const char *name)
{
    const IrNode *first = g->members[0];
    ReduceLoops loops = emit_c_reduce_loops(e, first);
    int nk = loops.nkept, nr = loops.nred, nbuf, count = g->count;
    int *buf = emit_cuda_group_buffers(e, g->members, count, &nbuf);
    if (e->kernel_names)
        ptrvec_push(e->a, e->kernel_names, (void *)name);
    fprintf(e->out, "/* a row group of %d operations, a block a row (launch: td_cuda_blocks(rows, 1) blocks of 32 to 1024\n"
                    " * threads, grid-stride%s): %%%d", count,
            g->cache ? "; the row cache's bytes of dynamic shared memory" : "", first->id);
    for (int m = 1; m < count; m++)
        fprintf(e->out, ", %%%d", g->members[m]->id);
    /* up to 1024 threads a block (tdg_group_threads): registers capped to fit */
    fprintf(e->out, " (%s) */\nextern \"C\" __global__ void __launch_bounds__(1024) %s(tdg_dims D", emit_c_loc_text(e, first->loc), name);
    for (int j = 0; j < nbuf; j++)
        fprintf(e->out, ", %s%s *__restrict__ b%d", j < count ? "" : "const ", emit_c_ctype(ir_get(e->f, buf[j])->type.dtype),
                buf[j]);
    fputs(")\n{\n    TD_GRID_WAIT();\n", e->out);
    emit_cuda_declare_dims(e, 1);
    emit_cuda_declare_extents(e, 1, nk, loops.kept, 0, "kept_total");
    emit_cuda_declare_extents(e, 1, nr, loops.red, nk, "reduced_total");
    if (g->cache) {
        const RowCache *c = g->cache;
        fputs("    /* the row cache: a row of each buffer or value two phases touch; rows no phase needs at once share a slot */\n"
              "    extern __shared__ __align__(16) unsigned char tdg_row_cache[];\n", e->out);
        for (int s = 0; s < c->nslots; s++) {
            fprintf(e->out, "    unsigned char *const slot%d = ", s);
            if (s == 0)
                fputs("tdg_row_cache;\n", e->out);
            else
                fprintf(e->out, "slot%d + %s;\n", s - 1, slot_row_bytes(e, c->slot_bytes[s - 1], "reduced_total"));
        }
        for (int j = 0; j < c->n; j++) {
            const char *ct = emit_c_ctype(ir_get(e->f, c->ids[j])->type.dtype);
            fprintf(e->out, "    %s *const c%d = (%s *)slot%d; /* %%%d */\n", ct, c->ids[j], ct, c->slot[j], c->ids[j]);
        }
    }
    /* a chunk of W elements a thread, U at a time, each array of the row moved as one vector where `vec`: the row's
     * length a multiple of W and every array read or written at the row's element aligned to its vector */
    int64_t reduced;
    if (static_row(e, nr, loops.red, &reduced)) {
        /* a static row: as many chunks as a thread of the host's block has, so no unrolled load is cut short */
        int64_t threads = emit_cuda_group_threads(reduced, g->cache != NULL), chunks = threads * g->width;
        int64_t per_thread = reduced / chunks + (reduced % chunks != 0);
        fprintf(e->out, "    constexpr int W = %d, U = %d; /* a chunk's elements; the chunks a thread loads at once (a row of %lld) */\n"
                        "    constexpr int64_t threads = %lld; /* the block's, as the host launches it (tdg_group_threads) */\n",
                g->width, per_thread < UNROLL_CHUNKS ? (int)per_thread : UNROLL_CHUNKS, (long long)reduced, (long long)threads);
    } else {
        fprintf(e->out, "    constexpr int W = %d, U = %d; /* a chunk's elements; the chunks a thread loads at once */\n"
                        "    const int64_t threads = blockDim.x;\n", g->width, UNROLL_CHUNKS);
    }
    if (g->aligned) {
        fputs("    /* every array of the row moves as vectors: the row's length is a multiple of W, and the plan aligns each */\n",
              e->out);
    } else {
        fputs("    const bool vec = reduced_total % W == 0", e->out);
        for (int j = 0; j < nbuf; j++)
            if (row_array(e, g->members, count, buf[j]))
                fprintf(e->out, " && (unsigned long long)b%d %% %d == 0", buf[j], chunk_bytes(e, buf[j], g->width));
        fputs(";\n    (void)vec;\n", e->out);
    }
    /* a thread touches only its own elements of the row (every phase strides alike), so the
     * phases need no barrier between them: only each reduction's combine has one */
    for (int m = 0; m < count; m++)
        if (g->members[m]->op == IR_REDUCE)
            fprintf(e->out, "    __shared__ %s part%d[2][32]; /* %%%d's combine, a row each in turn */\n",
                    emit_cuda_reduce_types(e, g->members[m]).acc, g->members[m]->id, g->members[m]->id);
    fputs("    int turn = 0;\n"
          "    for (int64_t o = blockIdx.x; o < kept_total; o += gridDim.x, turn ^= 1) {\n", e->out);
    emit_cuda_split_index(e, 2, "o", 0, nk);
    for (int m = 0; m < count; m++) {
        if (is_virtual(e, g->members, count, m))
            fprintf(e->out, "        /* %%%d %s: computed where it is read */\n", g->members[m]->id, ir_op_name(g->members[m]->op));
        else if (g->members[m]->op == IR_REDUCE)
            group_reduce(e, g, m, nk, nr);
        else
            group_map(e, g, m, nk, nr);
    }
    fputs("    }\n}\n\n", e->out);
}

/* The static shared memory of a row group's kernels: each reduction's two combine arrays. */
int emit_cuda_group_static_bytes(const Emit *e, const IrNode *const *members, int count)
{
    int bytes = 0;
    for (int m = 0; m < count; m++)
        if (members[m]->op == IR_REDUCE)
            bytes += 2 * 32 * (strcmp(emit_cuda_reduce_types(e, members[m]).acc, "float") == 0 ? 4 : 8);
    return bytes;
}

/* The row cache's bytes for rows of `reduced` elements, as
 * emit_cuda_row_cache_bytes's expression gives the host; INT64_MAX where
 * that overflows. */
static int64_t row_cache_bytes_at(const RowCache *c, int64_t reduced)
{
    int64_t total = 0, row;
    for (int s = 0; s < c->nslots; s++)
        if (__builtin_mul_overflow(reduced, (int64_t)c->slot_bytes[s], &row) || row > INT64_MAX - 15 ||
            __builtin_add_overflow(total, (row + 15) / 16 * 16, &total))
            return INT64_MAX;
    return total;
}

/* Which of a row group's kernels the host may launch: where the row's
 * length is a number, the host's choice (the cached kernel where the group
 * has a row cache and it fits beside the combines' shared memory, else
 * the plain one) is known here, and only that kernel is written. */
typedef enum { ROW_KERNELS_BOTH, ROW_KERNEL_PLAIN, ROW_KERNEL_CACHED } RowKernels;
static RowKernels row_kernels(const Emit *e, const IrNode *const *members, int count, const RowCache *cache)
{
    ReduceLoops loops = emit_c_reduce_loops(e, members[0]);
    int64_t reduced;
    if (!cache->n)
        return ROW_KERNEL_PLAIN;
    if (!static_row(e, loops.nred, loops.red, &reduced))
        return ROW_KERNELS_BOTH;
    int64_t bytes = row_cache_bytes_at(cache, reduced);
    return bytes > 0 && bytes <= TD_CUDA_SHARED_MAX - emit_cuda_group_static_bytes(e, members, count) ? ROW_KERNEL_CACHED
                                                                                                       : ROW_KERNEL_PLAIN;
}

/* Whether every array a row group's phases read or write at the row's
 * element moves as vectors of `width` elements whatever the dims: the
 * row's length a number that is a multiple of width, and each array one
 * the plan aligns to its vector (emit_cuda_aligned). Then its kernels
 * have no `vec` test. */
static bool row_aligned(const Emit *e, const IrNode *const *members, int count, int width)
{
    ReduceLoops loops = emit_c_reduce_loops(e, members[0]);
    int64_t reduced;
    if (!static_row(e, loops.nred, loops.red, &reduced) || reduced % width != 0)
        return false;
    int nbuf, *buf = emit_cuda_group_buffers(e, members, count, &nbuf);
    for (int j = 0; j < nbuf; j++)
        if (row_array(e, members, count, buf[j]) && !emit_cuda_aligned(e, buf[j], chunk_bytes(e, buf[j], width)))
            return false;
    return true;
}

void emit_cuda_kernel_row_group(Emit *e, const IrNode *const *members, int count)
{
    const char *name = emit_cuda_kernel_name(e, e->fn_index, members[0]->id, -1);
    int width = chunk_width(e, members, count);
    bool aligned = row_aligned(e, members, count, width); /* the same for both kernels */
    RowCache cache = row_cache(e, members, count);
    RowKernels which = row_kernels(e, members, count, &cache);
    if (which != ROW_KERNEL_CACHED) {
        Group plain = {members, count, NULL, width, aligned};
        group_kernel(e, &plain, name);
    }
    if (which != ROW_KERNEL_PLAIN) {
        Group cached = {members, count, &cache, width, aligned};
        group_kernel(e, &cached, arena_printf(e->a, "%s_cached", name));
    }
}
