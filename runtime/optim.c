/* optim.c - optimizers (SGD, AdaGrad, RMSprop, Adam, AdamW), learning-rate
 * schedules and gradient clipping.
 *
 * An optimizer is torch.optim's single-tensor update (PyTorch 2.x,
 * foreach=False) on one param of n elements in f32 or f64, computed in the
 * param's dtype with torch's order of operations, so a trajectory matches
 * torch's to the last bit or two (tests/runtime/optim_oracle.py replays
 * torch 2.11's own). The caller owns the param, the gradient and the state
 * (td_optim_state_slots arrays of n elements, end to end) and says which
 * step this is and its learning rate and weight decay, which a schedule and
 * a param group decide; nothing here allocates. Hyper-parameters are
 * checked as torch's constructors check them, every check before any
 * write, with the parameter named in the message. The element loops are in
 * optim_kernels.h, included once per dtype here and compiled for the GPU
 * by cuda/optim.c, which shares the checks (td_optim_check_update) and
 * Adam's host scalars (td_optim_adam_bias). td_schedule_lr maps a step to a
 * learning rate; td_clip_grad_norm is torch.nn.utils.clip_grad_norm_ with
 * norm type 2. */
#include <math.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "td.h"

/* Torch's scalar arithmetic (1 - lr * weight_decay, ...) rounds every
 * step; clang would fuse a * b + c inside an expression unless told not
 * to. GCC fuses nothing in ISO C mode, and warns about the pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

static const char *kind_name(td_optim_kind kind)
{
    switch (kind) {
    case TD_OPTIM_SGD: return "sgd";
    case TD_OPTIM_ADAGRAD: return "adagrad";
    case TD_OPTIM_RMSPROP: return "rmsprop";
    case TD_OPTIM_ADAM: return "adam";
    case TD_OPTIM_ADAMW: return "adamw";
    }
    return NULL;
}

/* torch's constructor defaults (PyTorch 2.11: SGD.__init__, Adagrad.__init__, ...) */
td_optim_hparams td_optim_defaults(td_optim_kind kind)
{
    td_optim_hparams h;
    memset(&h, 0, sizeof h);
    h.kind = kind;
    switch (kind) {
    case TD_OPTIM_SGD:
        h.lr = 1e-3;
        break;
    case TD_OPTIM_ADAGRAD:
        h.lr = 1e-2;
        h.eps = 1e-10;
        break;
    case TD_OPTIM_RMSPROP:
        h.lr = 1e-2;
        h.alpha = 0.99;
        h.eps = 1e-8;
        break;
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW:
        h.lr = 1e-3;
        h.beta1 = 0.9;
        h.beta2 = 0.999;
        h.eps = 1e-8;
        h.weight_decay = kind == TD_OPTIM_ADAMW ? 1e-2 : 0;
        break;
    }
    return h;
}

int td_optim_state_slots(const td_optim_hparams *h)
{
    if (!h || !kind_name(h->kind))
        return -1;
    switch (h->kind) {
    case TD_OPTIM_SGD: return h->momentum != 0;  /* torch keeps a buffer when momentum != 0 */
    case TD_OPTIM_ADAGRAD: return 1;
    case TD_OPTIM_RMSPROP: return 1 + (h->momentum > 0) + (h->centered != 0);
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW: return 2 + (h->amsgrad != 0);
    }
    return -1;
}

const char *td_optim_slot_name(const td_optim_hparams *h, int slot)
{
    int slots = td_optim_state_slots(h);
    if (slot < 0 || slot >= slots)
        return NULL;
    switch (h->kind) {
    case TD_OPTIM_SGD: return "momentum_buffer";
    case TD_OPTIM_ADAGRAD: return "sum";
    case TD_OPTIM_RMSPROP:
        if (slot == 0)
            return "square_avg";
        return slot == 1 && h->momentum > 0 ? "momentum_buffer" : "grad_avg";
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW: {
        static const char *const names[] = {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
        return names[slot];
    }
    }
    return NULL;
}

/* ---- checks ---- */

/* `!(v >= lo)` rather than `v < lo`, so NaN fails too */
#define NEED(ok, what, value, rule)                                                                             \
    do {                                                                                                      \
        if (!(ok))                                                                                            \
            return td_fail(ctx, TD_ERR_INPUT, "%s: %s: invalid %s %.10g: must be %s", fn, name, what, value, \
                           rule);                                                                             \
    } while (0)

/* The checks of torch's constructor for h->kind, on the fields that kind
 * reads, except lr and weight_decay, which td_optim_update takes apart. */
static td_status check_hparams(td_ctx *ctx, const char *fn, const td_optim_hparams *h)
{
    if (!h)
        return td_fail(ctx, TD_ERR_INPUT, "%s: the hyper-parameters are NULL", fn);
    const char *name = kind_name(h->kind);
    if (!name)
        return td_fail(ctx, TD_ERR_INPUT, "%s: unknown optimizer kind %d", fn, (int)h->kind);
    switch (h->kind) {
    case TD_OPTIM_SGD:
        NEED(h->momentum >= 0, "momentum", h->momentum, ">= 0");
        if (h->nesterov && (h->momentum <= 0 || h->dampening != 0))
            return td_fail(ctx, TD_ERR_INPUT,
                           "%s: sgd: nesterov momentum needs momentum > 0 and dampening 0, not momentum %.10g and "
                           "dampening %.10g", fn, h->momentum, h->dampening);
        break;
    case TD_OPTIM_ADAGRAD:
        NEED(h->lr_decay >= 0, "lr_decay", h->lr_decay, ">= 0");
        NEED(h->initial_accumulator_value >= 0, "initial_accumulator_value", h->initial_accumulator_value, ">= 0");
        NEED(h->eps >= 0, "eps", h->eps, ">= 0");
        break;
    case TD_OPTIM_RMSPROP:
        NEED(h->eps >= 0, "eps", h->eps, ">= 0");
        NEED(h->momentum >= 0, "momentum", h->momentum, ">= 0");
        NEED(h->alpha >= 0, "alpha", h->alpha, ">= 0");
        break;
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW:
        NEED(h->eps >= 0, "eps", h->eps, ">= 0");
        NEED(h->beta1 >= 0 && h->beta1 < 1, "beta1", h->beta1, "in [0, 1)");
        NEED(h->beta2 >= 0 && h->beta2 < 1, "beta2", h->beta2, "in [0, 1)");
        break;
    }
    return TD_OK;
}

/* dtype, n and the byte counts of the param and of the state; *state_bytes
 * is slots x n x the element size. */
static td_status check_sizes(td_ctx *ctx, const char *fn, const td_optim_hparams *h, td_dtype dtype, size_t n,
                             size_t *state_bytes)
{
    if (dtype != TD_F32 && dtype != TD_F64)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: dtype %s is not supported (f32 or f64)", fn, kind_name(h->kind),
                       td_dtype_name(dtype));
    if (n == 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: the param has no elements (n = 0)", fn, kind_name(h->kind));
    size_t bytes;
    if (!td_mul_size(n, td_dtype_size(dtype), &bytes) ||
        !td_mul_size(bytes, (size_t)td_optim_state_slots(h), state_bytes))
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: %d state arrays of %zu %s elements overflow the address space", fn,
                       kind_name(h->kind), td_optim_state_slots(h), n, td_dtype_name(dtype));
    return TD_OK;
}

/* ---- state ---- */

td_status td_optim_init_state(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, void *state)
{
    static const char fn[] = "td_optim_init_state";
    size_t bytes;
    td_status st = check_hparams(ctx, fn, h);
    if (st == TD_OK)
        st = check_sizes(ctx, fn, h, dtype, n, &bytes);
    if (st != TD_OK)
        return st;
    if (bytes == 0)
        return TD_OK; /* no state: state may be NULL */
    if (!state)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: the state is NULL but needs %d array%s of n elements", fn,
                       kind_name(h->kind), td_optim_state_slots(h), td_optim_state_slots(h) == 1 ? "" : "s");
    memset(state, 0, bytes); /* all-zero bytes are +0.0 in IEEE f32 and f64 */
    if (h->kind == TD_OPTIM_ADAGRAD && h->initial_accumulator_value != 0) {
        /* torch.full_like(p, initial_accumulator_value): rounded to the dtype once */
        if (dtype == TD_F32)
            for (size_t i = 0; i < n; i++)
                ((float *)state)[i] = (float)h->initial_accumulator_value;
        else
            for (size_t i = 0; i < n; i++)
                ((double *)state)[i] = h->initial_accumulator_value;
    }
    return TD_OK;
}

/* ---- the updates ---- */

#define OPTIM_FN static
#define OPTIM_T float
#define OPTIM_SQRT sqrtf
#define OPTIM_FMA fmaf
#define OPTIM_NAME(x) x##_f32
#include "optim_kernels.h"
#undef OPTIM_T
#undef OPTIM_SQRT
#undef OPTIM_FMA
#undef OPTIM_NAME

#define OPTIM_T double
#define OPTIM_SQRT sqrt
#define OPTIM_FMA fma
#define OPTIM_NAME(x) x##_f64
#include "optim_kernels.h"
#undef OPTIM_T
#undef OPTIM_SQRT
#undef OPTIM_FMA
#undef OPTIM_NAME
#undef OPTIM_FN

void td_optim_adam_bias(const td_optim_hparams *h, int64_t step, double *bias_correction1,
                        double *bias_correction2_sqrt)
{
    /* the Python scalars of torch's non-capturable branch; step is
     * _get_value(step_t), a float */
    *bias_correction1 = 1 - pow(h->beta1, (double)step);
    const double bias_correction2 = 1 - pow(h->beta2, (double)step);
    *bias_correction2_sqrt = pow(bias_correction2, 0.5);
}

/* Everything td_optim_update checks, in its order; td_cuda_optim_update
 * checks the same under its own name. */
td_status td_optim_check_update(td_ctx *ctx, const char *fn, const td_optim_hparams *h, td_dtype dtype, size_t n,
                                const void *param, const void *grad, const void *state, int64_t step, double lr,
                                double weight_decay)
{
    size_t state_bytes;
    td_status st = check_hparams(ctx, fn, h);
    if (st == TD_OK)
        st = check_sizes(ctx, fn, h, dtype, n, &state_bytes);
    if (st != TD_OK)
        return st;
    const char *name = kind_name(h->kind);
    if (!param || !grad)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: the %s is NULL", fn, name, param ? "gradient" : "param");
    if (!state && state_bytes > 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: the state is NULL but needs %d array%s of n elements", fn, name,
                       td_optim_state_slots(h), td_optim_state_slots(h) == 1 ? "" : "s");
    if (step < 1)
        return td_fail(ctx, TD_ERR_INPUT, "%s: %s: invalid step %lld: must be >= 1 (1 on the first update)", fn, name,
                       (long long)step);
    NEED(lr >= 0, "learning rate (lr)", lr, ">= 0");
    NEED(weight_decay >= 0, "weight_decay", weight_decay, ">= 0");
    return TD_OK;
}

/* The state's slots, in td_optim_slot_name's order, as pointers of the
 * dtype; NULL for those the configuration leaves out. */
static void *state_slot(const td_optim_hparams *h, void *state, size_t n, size_t elem, const char *slot_name)
{
    for (int s = 0; s < td_optim_state_slots(h); s++)
        if (strcmp(td_optim_slot_name(h, s), slot_name) == 0)
            return (char *)state + (size_t)s * n * elem; /* fits: check_sizes multiplied it */
    return NULL;
}

td_status td_optim_update(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, void *param,
                          const void *grad, void *state, int64_t step, double lr, double weight_decay)
{
    td_status st = td_optim_check_update(ctx, "td_optim_update", h, dtype, n, param, grad, state, step, lr,
                                         weight_decay);
    if (st != TD_OK)
        return st;
    size_t elem = td_dtype_size(dtype);
    void *buf = state_slot(h, state, n, elem, "momentum_buffer");
    bool f32 = dtype == TD_F32;
    switch (h->kind) {
    case TD_OPTIM_SGD:
        if (f32)
            sgd_f32(h, n, param, grad, buf, step, lr, weight_decay);
        else
            sgd_f64(h, n, param, grad, buf, step, lr, weight_decay);
        break;
    case TD_OPTIM_ADAGRAD:
        if (f32)
            adagrad_f32(h, n, param, grad, state, step, lr, weight_decay);
        else
            adagrad_f64(h, n, param, grad, state, step, lr, weight_decay);
        break;
    case TD_OPTIM_RMSPROP: {
        void *grad_avg = state_slot(h, state, n, elem, "grad_avg");
        if (f32)
            rmsprop_f32(h, n, param, grad, state, buf, grad_avg, lr, weight_decay);
        else
            rmsprop_f64(h, n, param, grad, state, buf, grad_avg, lr, weight_decay);
        break;
    }
    case TD_OPTIM_ADAM:
    case TD_OPTIM_ADAMW: {
        void *exp_avg_sq = state_slot(h, state, n, elem, "exp_avg_sq");
        void *max_sq = state_slot(h, state, n, elem, "max_exp_avg_sq");
        double bias1, bias2_sqrt;
        td_optim_adam_bias(h, step, &bias1, &bias2_sqrt);
        if (f32)
            adam_f32(h, n, param, grad, state, exp_avg_sq, max_sq, bias1, bias2_sqrt, lr, weight_decay);
        else
            adam_f64(h, n, param, grad, state, exp_avg_sq, max_sq, bias1, bias2_sqrt, lr, weight_decay);
        break;
    }
    }
    return TD_OK;
}

#undef NEED

/* ---- learning-rate schedules ---- */

static const double PI = 3.14159265358979323846;

/* The fraction of the decay done at `step` (warmup <= step): 0 at warmup,
 * 1 at total and after; 1 at once when total <= warmup. */
static double decay_progress(const td_schedule *s, int64_t step)
{
    if (step >= s->total || s->total <= s->warmup)
        return 1;
    return (double)(step - s->warmup) / (double)(s->total - s->warmup);
}

double td_schedule_lr(const td_schedule *s, int64_t step)
{
    if (!s || step < 0 || s->warmup < 0)
        return NAN; /* td_optim_update refuses a NaN learning rate */
    if (step < s->warmup)
        return s->lr * (double)(step + 1) / (double)s->warmup;
    switch (s->kind) {
    case TD_LR_CONSTANT:
        return s->lr;
    case TD_LR_COSINE: {
        double p = decay_progress(s, step);
        if (p >= 1)
            return s->min_lr; /* exactly, not through cos(pi) */
        return s->min_lr + 0.5 * (s->lr - s->min_lr) * (1 + cos(PI * p));
    }
    case TD_LR_STEP:
        if (s->step_size <= 0)
            return NAN;
        return s->lr * pow(s->gamma, (double)((step - s->warmup) / s->step_size));
    case TD_LR_LINEAR: {
        double p = decay_progress(s, step);
        if (p >= 1)
            return s->min_lr;
        return s->lr + (s->min_lr - s->lr) * p;
    }
    }
    return NAN;
}

/* ---- gradient clipping ---- */

/* The sum of squares of every element, in double. */
static double sum_of_squares(td_dtype dtype, int ntensors, void *const *grads, const size_t *counts, double scale)
{
    double sum = 0;
    for (int t = 0; t < ntensors; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            double x = dtype == TD_F32 ? (double)((const float *)grads[t])[i] : ((const double *)grads[t])[i];
            x /= scale;
            sum += x * x;
        }
    return sum;
}

static double max_abs(td_dtype dtype, int ntensors, void *const *grads, const size_t *counts)
{
    double m = 0;
    for (int t = 0; t < ntensors; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            double x = fabs(dtype == TD_F32 ? (double)((const float *)grads[t])[i] : ((const double *)grads[t])[i]);
            if (x > m || x != x)
                m = x;
        }
    return m;
}

/* The 2-norm of all elements. Squares of f64 values past 1e154 overflow a
 * double; then the norm is taken again of the values divided by the
 * largest, so a finite norm comes out finite. */
static double total_norm_2(td_dtype dtype, int ntensors, void *const *grads, const size_t *counts)
{
    double sum = sum_of_squares(dtype, ntensors, grads, counts, 1);
    if (isinf(sum)) {
        double m = max_abs(dtype, ntensors, grads, counts);
        if (isfinite(m) && m > 0)
            return m * sqrt(sum_of_squares(dtype, ntensors, grads, counts, m));
    }
    return sqrt(sum);
}

static td_status check_clip(td_ctx *ctx, td_dtype dtype, int ntensors, void *const *grads, const size_t *counts,
                            double max_norm)
{
    static const char fn[] = "td_clip_grad_norm";
    if (dtype != TD_F32 && dtype != TD_F64)
        return td_fail(ctx, TD_ERR_INPUT, "%s: dtype %s is not supported (f32 or f64)", fn, td_dtype_name(dtype));
    if (ntensors < 0)
        return td_fail(ctx, TD_ERR_INPUT, "%s: invalid ntensors %d: must be >= 0", fn, ntensors);
    if (ntensors > 0 && (!grads || !counts))
        return td_fail(ctx, TD_ERR_INPUT, "%s: the %s array is NULL", fn, grads ? "counts" : "grads");
    if (!(max_norm >= 0))
        return td_fail(ctx, TD_ERR_INPUT, "%s: invalid max_norm %.10g: must be >= 0", fn, max_norm);
    for (int t = 0; t < ntensors; t++) {
        size_t bytes;
        if (counts[t] > 0 && !grads[t])
            return td_fail(ctx, TD_ERR_INPUT, "%s: gradient %d is NULL but has %zu elements", fn, t, counts[t]);
        if (!td_mul_size(counts[t], td_dtype_size(dtype), &bytes))
            return td_fail(ctx, TD_ERR_INPUT, "%s: gradient %d: %zu %s elements overflow the address space", fn, t,
                           counts[t], td_dtype_name(dtype));
    }
    return TD_OK;
}

td_status td_clip_grad_norm(td_ctx *ctx, td_dtype dtype, int ntensors, void *const *grads, const size_t *counts,
                            double max_norm, double *total_norm)
{
    td_status st = check_clip(ctx, dtype, ntensors, grads, counts, max_norm);
    if (st != TD_OK)
        return st;
    double total = total_norm_2(dtype, ntensors, grads, counts);
    if (total_norm)
        *total_norm = total;
    double coef = max_norm / (total + 1e-6); /* torch: clip_coef = max_norm / (total_norm + 1e-6) */
    if (!(coef < 1))
        return TD_OK; /* torch multiplies by clamp(coef, max=1): by 1 here, or by NaN; we leave them */
    for (int t = 0; t < ntensors; t++) {
        if (dtype == TD_F32) {
            float c = (float)coef, *g = grads[t];
            for (size_t i = 0; i < counts[t]; i++)
                g[i] = g[i] * c;
        } else {
            double *g = grads[t];
            for (size_t i = 0; i < counts[t]; i++)
                g[i] = g[i] * coef;
        }
    }
    return TD_OK;
}
