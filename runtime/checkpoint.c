/* checkpoint.c - td_model_save and td_model_load: the whole training state
 * of a model in one safetensors file.
 *
 * A checkpoint holds every param under its name and, for each train block,
 * each state slot of its optimizer for each param it trains, as
 * "<optimizer>.<slot>.<param>" ("adamw.exp_avg.w"; prefixed "<train>."
 * when the model has several train blocks), shaped and typed as the param.
 * Its metadata (strings) holds what else the next step depends on: "step",
 * the RNG's "seed" and "rng_offset", the sequential "data_cursor", and
 * "program_hash", and for people and tools "format", "tdc_model", "dims"
 * and "hparams.<train>" (JSON text). Both directions build the same list of
 * entries (name, type, shape, the model's bytes) from the model, so what
 * save writes is exactly what load expects. Load checks everything first
 * (the program hash, the numbers, every tensor present with its dtype and
 * shape and no other) and only then copies, so a refused checkpoint
 * changes nothing. Writes are atomic (td_safetensors_write). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td.h"

enum { META_BYTES = 256, NUMBER_BYTES = 32 };

static const char *const OPTIM_NAMES[] = {"sgd", "adagrad", "rmsprop", "adam", "adamw"};
static const char *const SCHEDULE_NAMES[] = {"constant", "cosine", "step", "linear"};

static const char *optim_name(td_optim_kind kind)
{
    return (unsigned)kind < sizeof OPTIM_NAMES / sizeof OPTIM_NAMES[0] ? OPTIM_NAMES[kind] : "unknown";
}

/* ---- the entries of a checkpoint ---- */

typedef struct entry {
    td_st_tensor t;      /* name, dtype, shape, bytes; data points into the model */
    unsigned char *data; /* the model's bytes (params or optimizer state) */
    int param;           /* whose param it is or whose state it holds */
    char name[TD_ST_MAX_NAME];
} entry;

typedef struct entries {
    int n;
    entry *e;
} entries;

static td_status add_entry(td_model *m, entries *list, int param, const char *name, unsigned char *data)
{
    const td_tensor_desc *p = &m->desc->params[param];
    entry *e = &list->e[list->n];
    size_t bytes = td_dtype_size(p->dtype);
    if (strlen(name) >= sizeof e->name)
        return td_fail(m->ctx, TD_ERR_INPUT, "model %s: the checkpoint name '%.60s...' is %zu bytes, over the %d allowed",
                       m->desc->name, name, strlen(name), TD_ST_MAX_NAME - 1);
    memcpy(e->name, name, strlen(name) + 1);
    e->t = (td_st_tensor){.name = e->name, .dtype = p->dtype, .rank = p->rank, .data = data};
    for (int a = 0; a < p->rank; a++) {
        e->t.shape[a] = td_size_eval(&p->shape[a], m->dims); /* model.c checked that it fits */
        if (e->t.shape[a] < 0 || !td_mul_size(bytes, (size_t)e->t.shape[a], &bytes))
            return td_fail(m->ctx, TD_ERR_INPUT, "model %s: param '%s' has no size under these dims", m->desc->name,
                           p->name);
    }
    e->t.bytes = bytes;
    e->data = data;
    e->param = param;
    list->n++;
    return TD_OK;
}

/* Every param, then each train block's state, slot by slot, param by param. */
static td_status build_entries(td_model *m, entries *list)
{
    const td_model_desc *desc = m->desc;
    size_t count = (size_t)desc->nparams;
    for (int t = 0; t < desc->ntrains; t++) {
        size_t slots = (size_t)td_optim_state_slots(&desc->trains[t].optim), more;
        if (!td_mul_size(slots, (size_t)desc->nparams, &more) || !td_add_size(count, more, &count))
            return td_fail(m->ctx, TD_ERR_OOM, "model %s: too many checkpoint tensors", desc->name);
    }
    list->n = 0;
    if (!(list->e = calloc(count ? count : 1, sizeof *list->e)))
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for the checkpoint's list", desc->name);
    td_status st = TD_OK;
    for (int i = 0; st == TD_OK && i < desc->nparams; i++)
        st = add_entry(m, list, i, desc->params[i].name, td_model_param(m, i));
    for (int t = 0; st == TD_OK && t < desc->ntrains; t++) {
        const td_train_desc *train = &desc->trains[t];
        int slots = td_optim_state_slots(&train->optim);
        for (int s = 0; st == TD_OK && s < slots; s++)
            for (int i = 0; st == TD_OK && i < desc->nparams; i++) {
                if (!train->trained[i])
                    continue;
                char name[TD_ST_MAX_NAME + 64];
                snprintf(name, sizeof name, "%s%s%s.%s.%s", desc->ntrains > 1 ? train->name : "",
                         desc->ntrains > 1 ? "." : "", optim_name(train->optim.kind),
                         td_optim_slot_name(&train->optim, s), desc->params[i].name);
                size_t k = (size_t)t * (size_t)desc->nparams + (size_t)i;
                unsigned char *base = m->region[TD_REGION_OPTIM] ? m->region[TD_REGION_OPTIM] + m->optim_offsets[k] : NULL;
                st = add_entry(m, list, i, name, base);
                entry *e = &list->e[list->n - 1];
                if (st == TD_OK && base) /* slot s follows s whole arrays of the param's bytes */
                    e->t.data = e->data = base + (size_t)s * e->t.bytes;
            }
    }
    return st;
}

/* ---- metadata ---- */

/* The shortest decimal that reads back as the same double. */
static void number_text(char *buf, size_t size, double v)
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A metadata value built piece by piece; it grows as needed, and a failed
 * growth is remembered (oom) rather than cutting the text. */
typedef struct meta_text {
    char *buf;
    size_t len, cap;
    bool oom;
} meta_text;

static void meta_add(meta_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void meta_add(meta_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    size_t need;
    if (t->oom || n < 0 || !td_add_size(t->len, (size_t)n + 1, &need)) {
        t->oom = true;
        return;
    }
    if (need > t->cap) {
        size_t cap = need < META_BYTES ? META_BYTES : need * 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->oom = true;
            return;
        }
        t->buf = grown, t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static void meta_number(meta_text *t, const char *key, double v)
{
    char num[NUMBER_BYTES];
    number_text(num, sizeof num, v);
    meta_add(t, ", \"%s\": %s", key, num);
}

/* {"optimizer": "adamw", "lr": 0.001, ..., "schedule": "cosine", ..., "clip": 1}:
 * the fields each kind reads. */
static void hparams_json(meta_text *t, const td_train_desc *train)
{
    const td_optim_hparams *h = &train->optim;
    const td_schedule *s = &train->schedule;
    meta_add(t, "{\"optimizer\": \"%s\"", optim_name(h->kind));
    meta_number(t, "lr", h->lr);
    meta_number(t, "weight_decay", h->weight_decay);
    switch (h->kind) {
    case TD_OPTIM_SGD:
        meta_number(t, "momentum", h->momentum);
        meta_number(t, "dampening", h->dampening);
        meta_add(t, ", \"nesterov\": %s", h->nesterov ? "true" : "false");
        break;
    case TD_OPTIM_ADAGRAD:
        meta_number(t, "lr_decay", h->lr_decay);
        meta_number(t, "initial_accumulator_value", h->initial_accumulator_value);
        meta_number(t, "eps", h->eps);
        break;
    case TD_OPTIM_RMSPROP:
        meta_number(t, "alpha", h->alpha);
        meta_number(t, "eps", h->eps);
        meta_number(t, "momentum", h->momentum);
        meta_add(t, ", \"centered\": %s", h->centered ? "true" : "false");
        break;
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW:
        meta_number(t, "beta1", h->beta1);
        meta_number(t, "beta2", h->beta2);
        meta_number(t, "eps", h->eps);
        meta_add(t, ", \"amsgrad\": %s", h->amsgrad ? "true" : "false");
        break;
    }
    bool known = (unsigned)s->kind < sizeof SCHEDULE_NAMES / sizeof SCHEDULE_NAMES[0];
    meta_add(t, ", \"schedule\": \"%s\", \"warmup\": %lld", known ? SCHEDULE_NAMES[s->kind] : "unknown",
             (long long)s->warmup);
    if (s->kind == TD_LR_COSINE || s->kind == TD_LR_LINEAR) {
        meta_add(t, ", \"total\": %lld", (long long)s->total);
        meta_number(t, "min_lr", s->min_lr);
    } else if (s->kind == TD_LR_STEP) {
        meta_add(t, ", \"step_size\": %lld", (long long)s->step_size);
        meta_number(t, "gamma", s->gamma);
    }
    meta_number(t, "clip", train->clip);
    meta_add(t, "}");
}

static void dims_json(meta_text *t, const td_model *m)
{
    meta_add(t, "{");
    for (int d = 0; d < m->desc->ndims; d++)
        meta_add(t, "%s\"%s\": %lld", d ? ", " : "", m->desc->dims[d].name, (long long)m->dims[d]);
    meta_add(t, "}");
}

enum { FIXED_META = 8 }; /* format, tdc_model, program_hash, step, seed, rng_offset, data_cursor, dims */

typedef struct meta {
    int n;
    const char **keys, **values;
    meta_text *texts; /* FIXED_META + ntrains: values built here */
    char (*train_keys)[TD_ST_MAX_NAME + 16];
} meta;

static void meta_free(meta *md, int ntexts)
{
    for (int k = 0; md->texts && k < ntexts; k++)
        free(md->texts[k].buf);
    free(md->keys);
    free(md->values);
    free(md->texts);
    free(md->train_keys);
}

static td_status build_meta(td_model *m, meta *md)
{
    const td_model_desc *desc = m->desc;
    size_t n = FIXED_META + (size_t)desc->ntrains;
    md->keys = calloc(n, sizeof *md->keys);
    md->values = calloc(n, sizeof *md->values);
    md->texts = calloc(n, sizeof *md->texts);
    md->train_keys = calloc(desc->ntrains > 0 ? (size_t)desc->ntrains : 1, sizeof *md->train_keys);
    if (!md->keys || !md->values || !md->texts || !md->train_keys)
        return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for the checkpoint's metadata", desc->name);
    static const char *const keys[FIXED_META] = {"format", "tdc_model", "program_hash", "step",
                                                 "seed", "rng_offset", "data_cursor", "dims"};
    meta_text *t = md->texts;
    meta_add(&t[0], "tdc checkpoint 1");
    meta_add(&t[1], "%s", desc->name ? desc->name : "");
    meta_add(&t[2], "%s", desc->program_hash ? desc->program_hash : "");
    meta_add(&t[3], "%lld", (long long)m->step);
    meta_add(&t[4], "%" PRIu64, m->rng.seed);
    meta_add(&t[5], "%" PRIu64, m->rng.offset);
    meta_add(&t[6], "%" PRIu64, m->data_cursor);
    dims_json(&t[7], m);
    for (int k = 0; k < FIXED_META; k++)
        md->keys[k] = keys[k];
    for (int tr = 0; tr < desc->ntrains; tr++) {
        snprintf(md->train_keys[tr], sizeof md->train_keys[tr], "hparams.%s", desc->trains[tr].name);
        hparams_json(&t[FIXED_META + tr], &desc->trains[tr]);
        md->keys[FIXED_META + tr] = md->train_keys[tr];
    }
    for (size_t k = 0; k < n; k++) {
        if (t[k].oom)
            return td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory for the checkpoint's metadata", desc->name);
        md->values[k] = t[k].buf;
    }
    md->n = (int)n;
    return TD_OK;
}

td_status td_model_save(td_model *m, const char *path)
{
    if (!m)
        return TD_ERR_INPUT;
    if (!path)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_model_save: no path");
    entries list = {0, NULL};
    meta md = {0};
    td_status st = td_model_sync_host(m); /* on the GPU: what training wrote there */
    if (st == TD_OK)
        st = build_entries(m, &list);
    if (st == TD_OK)
        st = build_meta(m, &md);
    if (st == TD_OK) {
        td_st_tensor *tensors = calloc(list.n ? (size_t)list.n : 1, sizeof *tensors);
        if (!tensors)
            st = td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory", m->desc->name);
        for (int k = 0; tensors && k < list.n; k++)
            tensors[k] = list.e[k].t;
        if (tensors)
            st = td_safetensors_write(m->ctx, path, list.n, tensors, md.n, md.keys, md.values);
        free(tensors);
    }
    meta_free(&md, FIXED_META + m->desc->ntrains);
    free(list.e);
    return st;
}

/* ---- loading ---- */

/* A decimal metadata value of at most `max`; an error names the key. */
static td_status meta_uint(td_model *m, const char *path, const td_safetensors *st, const char *key, uint64_t max,
                           uint64_t *out)
{
    const char *s = td_safetensors_meta(st, key);
    if (!s)
        return td_fail(m->ctx, TD_ERR_INPUT, "%s: no '%s' in the checkpoint's metadata", path, key);
    uint64_t v = 0;
    bool ok = *s != 0 && strlen(s) <= 20;
    for (const char *p = s; ok && *p; p++) {
        unsigned digit = (unsigned)(*p - '0');
        ok = *p >= '0' && *p <= '9' && v <= (max - digit) / 10;
        v = ok ? v * 10 + digit : v;
    }
    if (!ok)
        return td_fail(m->ctx, TD_ERR_INPUT, "%s: metadata '%s' is '%.40s', not a whole number from 0 to %" PRIu64, path,
                       key, s, max);
    *out = v;
    return TD_OK;
}

static void shape_text(char *buf, size_t size, const td_st_tensor *t)
{
    size_t len = (size_t)snprintf(buf, size, "%s[", td_dtype_name(t->dtype));
    for (int a = 0; a < t->rank && len < size; a++)
        len += (size_t)snprintf(buf + len, size - len, "%s%lld", a ? ", " : "", (long long)t->shape[a]);
    if (len < size)
        snprintf(buf + len, size - len, "]");
}

/* Every entry present as a tensor of its dtype and shape, and no other tensor. */
static td_status match_tensors(td_model *m, const char *path, const td_safetensors *st, const entries *list,
                               const td_st_tensor **found)
{
    for (int k = 0; k < list->n; k++) {
        const entry *e = &list->e[k];
        const td_st_tensor *t = td_safetensors_find(st, e->t.name);
        const char *param = m->desc->params[e->param].name;
        if (!t)
            return k < m->desc->nparams
                       ? td_fail(m->ctx, TD_ERR_INPUT, "%s: no tensor '%s' for param %s", path, e->t.name, param)
                       : td_fail(m->ctx, TD_ERR_INPUT, "%s: no tensor '%s' for the optimizer state of param %s", path,
                                 e->t.name, param);
        bool same = t->dtype == e->t.dtype && t->rank == e->t.rank && t->bytes == e->t.bytes;
        for (int a = 0; same && a < t->rank; a++)
            same = t->shape[a] == e->t.shape[a];
        if (!same) {
            char got[256], want[256];
            shape_text(got, sizeof got, t);
            shape_text(want, sizeof want, &e->t);
            return td_fail(m->ctx, TD_ERR_INPUT, "%s: tensor '%s' is %s, but the model's is %s", path, e->t.name, got,
                           want);
        }
        found[k] = t;
    }
    for (int j = 0; st->ntensors != list->n && j < st->ntensors; j++) {
        int k = 0;
        while (k < list->n && strcmp(list->e[k].t.name, st->tensors[j].name) != 0)
            k++;
        if (k == list->n)
            return td_fail(m->ctx, TD_ERR_INPUT, "%s: tensor '%s' is neither a param nor optimizer state of model %s",
                           path, st->tensors[j].name, m->desc->name);
    }
    return TD_OK;
}

typedef struct loaded {
    uint64_t step, seed, offset, cursor;
} loaded;

static td_status check_meta(td_model *m, const char *path, const td_safetensors *st, loaded *v)
{
    const char *want = m->desc->program_hash ? m->desc->program_hash : "";
    const char *hash = td_safetensors_meta(st, "program_hash");
    if (!hash)
        return td_fail(m->ctx, TD_ERR_INPUT, "%s: not a training checkpoint (no 'program_hash' in its metadata)", path);
    if (strcmp(hash, want) != 0)
        return td_fail(m->ctx, TD_ERR_INPUT,
                       "%s: a checkpoint of another program (program_hash %.80s), not of model %s (program_hash %.80s)",
                       path, hash, m->desc->name, want);
    td_status s = meta_uint(m, path, st, "step", INT64_MAX, &v->step);
    if (s == TD_OK)
        s = meta_uint(m, path, st, "seed", UINT64_MAX, &v->seed);
    if (s == TD_OK)
        s = meta_uint(m, path, st, "rng_offset", UINT64_MAX, &v->offset);
    if (s == TD_OK)
        s = meta_uint(m, path, st, "data_cursor", UINT64_MAX, &v->cursor);
    return s;
}

td_status td_model_load(td_model *m, const char *path)
{
    if (!m)
        return TD_ERR_INPUT;
    if (!path)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_model_load: no path");
    td_safetensors st;
    entries list = {0, NULL};
    const td_st_tensor **found = NULL;
    loaded v;
    td_status s = td_model_sync_host(m); /* on the GPU: the host regions current before they are written */
    if (s != TD_OK)
        return s;
    if ((s = td_safetensors_read(m->ctx, path, &st)) != TD_OK)
        return s;
    s = check_meta(m, path, &st, &v);
    if (s == TD_OK)
        s = build_entries(m, &list);
    if (s == TD_OK && !(found = calloc(list.n ? (size_t)list.n : 1, sizeof *found)))
        s = td_fail(m->ctx, TD_ERR_OOM, "model %s: out of memory", m->desc->name);
    if (s == TD_OK)
        s = match_tensors(m, path, &st, &list, found);
    for (int k = 0; s == TD_OK && k < list.n; k++)
        if (list.e[k].t.bytes)
            memcpy(list.e[k].data, found[k]->data, list.e[k].t.bytes);
    if (s == TD_OK) {
        m->step = (int64_t)v.step;
        m->rng = (td_rng){v.seed, v.offset};
        m->data_cursor = v.cursor;
        s = td_model_sync_device(m);
    }
    free(found);
    free(list.e);
    td_safetensors_free(&st);
    return s;
}
