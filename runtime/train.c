/* train.c - td_train_step: one optimizer step of a compiled model's train
 * block.
 *
 * It takes a model built by td_model_new (whose gradient and optimizer
 * regions model.c laid out and initialised) and one batch, shaped as the
 * block's inputs say. The gradient region is zeroed and the block's grad
 * function writes the loss and each trained param's gradient there; the
 * global 2-norm of those gradients is taken (per tensor by
 * td_clip_grad_norm, then the norm of the norms, as
 * torch.nn.utils.clip_grad_norm_ does) and, with a clip, every gradient is
 * scaled by clip / (norm + 1e-6) when that is below 1; the schedule gives
 * the learning rate at m->step, and td_optim_update moves each trained
 * param with weight decay where the block's decay flag says. Every check
 * (the arguments, a finite loss and norm, a usable learning rate, a step
 * count that does not overflow) comes before the first param is written,
 * so a step that fails leaves params, optimizer state and m->step as they
 * were; the message is on the model's context. While m->profile is set
 * (`MODEL profile --train`), the generated grad function times its own
 * operations into the profile's first rows, and each optimizer update is
 * timed here into the row after them that the block's cost description
 * gives it: the number of grad operations plus the param's position among
 * the trained params. Nothing here allocates. */
#include <math.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "td.h"

/* Param i's element count under the model's dims, or 0 when an axis
 * cannot be evaluated (model.c checked every param when it was built). */
static size_t param_elements(const td_model *m, int i)
{
    const td_tensor_desc *p = &m->desc->params[i];
    size_t n = 1;
    for (int a = 0; a < p->rank; a++) {
        int64_t extent = td_size_eval(&p->shape[a], m->dims);
        if (extent < 0 || (uint64_t)extent > SIZE_MAX || !td_mul_size(n, (size_t)extent, &n))
            return 0;
    }
    return n;
}

static void *grad_of(td_model *m, int i)
{
    return m->region[TD_REGION_GRADS] + m->param_offsets[i];
}

static void *state_of(td_model *m, int train, int i)
{
    size_t k = (size_t)train * (size_t)m->desc->nparams + (size_t)i;
    return m->region[TD_REGION_OPTIM] ? m->region[TD_REGION_OPTIM] + m->optim_offsets[k] : NULL;
}

/* The global 2-norm of the trained params' gradients: each tensor's norm
 * (td_clip_grad_norm with no limit, in double), then the norm of those. */
static td_status global_norm(td_model *m, const td_train_desc *t, double *norm)
{
    double sum = 0;
    for (int i = 0; i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i);
        if (!t->trained[i] || n == 0)
            continue;
        void *g = grad_of(m, i);
        double tensor_norm;
        td_status st = td_clip_grad_norm(m->ctx, m->desc->params[i].dtype, 1, &g, &n, (double)INFINITY, &tensor_norm);
        if (st != TD_OK)
            return st;
        sum += tensor_norm * tensor_norm;
    }
    *norm = sqrt(sum);
    return TD_OK;
}

/* g *= coef in the gradient's dtype, as torch's g.mul_(clip_coef). */
static void scale_grads(td_model *m, const td_train_desc *t, double coef)
{
    for (int i = 0; i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i);
        if (!t->trained[i])
            continue;
        if (m->desc->params[i].dtype == TD_F32) {
            float c = (float)coef, *g = grad_of(m, i);
            for (size_t k = 0; k < n; k++)
                g[k] = g[k] * c;
        } else {
            double *g = grad_of(m, i);
            for (size_t k = 0; k < n; k++)
                g[k] = g[k] * coef;
        }
    }
}

static int trained_count(const td_model *m, const td_train_desc *t)
{
    int n = 0;
    for (int i = 0; i < m->desc->nparams; i++)
        n += t->trained[i];
    return n;
}

/* A profile must have a row for every operation of the step, since the
 * generated code and the optimizer's timing index it by operation. */
static td_status check_profile(td_model *m, const td_train_desc *t)
{
    const td_profile *p = m->profile;
    if (!p)
        return TD_OK;
    if (!t->cost)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: %s: profiling a step compiled without accounting",
                       t->name);
    int ntrained = trained_count(m, t);
    if (t->cost->nops < ntrained)
        return td_fail(m->ctx, TD_ERR_INPUT,
                       "td_train_step: %s: the cost description has %d operation%s, fewer than the %d trained params",
                       t->name, t->cost->nops, t->cost->nops == 1 ? "" : "s", ntrained);
    if (p->nops != t->cost->nops || !p->seconds || !p->calls)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: %s: the profile has %d rows but the step has %d operations",
                       t->name, p->nops, t->cost->nops);
    return TD_OK;
}

/* The step's arguments: the batch is host memory (inputs) or, with
 * device_inputs, device memory, or staged (neither: td_train_stage gave
 * it); every input is given. */
static td_status check_step(td_model *m, int train, const void *const *inputs, const td_dptr *device_inputs,
                            bool staged)
{
    if (!m)
        return TD_ERR_INPUT; /* no context to hold a message */
    const td_model_desc *desc = m->desc;
    if (train < 0 || train >= desc->ntrains)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: model %s has no train block %d (it has %d)", desc->name,
                       train, desc->ntrains);
    const td_train_desc *t = &desc->trains[train];
    for (int k = 0; k < t->ninputs && !staged; k++)
        if (device_inputs ? !device_inputs[k] : !inputs || !inputs[k])
            return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: %s: input '%s' is NULL", t->name, t->inputs[k].name);
    if (m->step == INT64_MAX)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step: %s: the step count %lld cannot grow", t->name,
                       (long long)m->step);
    return check_profile(m, t);
}

td_status td_train_loss(td_model *m, int train, const void *const *inputs, double *loss)
{
    td_status st = check_step(m, train, inputs, NULL, false);
    if (st != TD_OK)
        return st;
    if (m->on_gpu)
        return td_cuda_train_loss(m, train, inputs, loss);
    return m->desc->trains[train].loss(m, inputs, loss);
}

static td_status train_step(td_model *m, int train, const void *const *inputs, const td_dptr *device_inputs,
                            bool staged, td_meanwhile *meanwhile, td_step_stats *stats)
{
    td_status st = check_step(m, train, inputs, device_inputs, staged);
    if (st != TD_OK)
        return st;
    const td_train_desc *t = &m->desc->trains[train];
    long long next = (long long)m->step + 1;
    double loss = NAN, norm = NAN;
    td_schedule schedule = t->schedule;
    schedule.lr = t->optim.lr;
    double lr = td_schedule_lr(&schedule, m->step);
    if (m->on_gpu) { /* the same checks, made on the device, gate the update there */
        bool updated = false;
        double gpu_ms = 0;
        if (!(lr >= 0 && isfinite(lr)))
            return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the schedule gives the learning rate %g", next, t->name,
                           lr);
        st = td_cuda_train_step(m, train, inputs, device_inputs, staged, m->step + 1, lr, meanwhile, &loss, &norm,
                                &updated, &gpu_ms);
        if (st != TD_OK)
            return td_ctx_error(m->ctx) ? st : td_fail(m->ctx, st, "step %lld: %s: the step failed", next, t->name);
        if (stats)
            *stats = (td_step_stats){loss, norm, lr, gpu_ms};
        if (!isfinite(loss))
            return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the loss is %g; nothing was updated", next, t->name, loss);
        if (!isfinite(norm) || !updated)
            return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the gradient norm is %g (loss %g); nothing was updated",
                           next, t->name, norm, loss);
        m->step++;
        m->host_stale = true;
        if (meanwhile && meanwhile->status != TD_OK) /* the step ran and counts; the caller's work failed */
            return td_ctx_error(m->ctx) ? meanwhile->status
                                        : td_fail(m->ctx, meanwhile->status, "step %lld: %s: the work meanwhile failed",
                                                  next, t->name);
        return TD_OK;
    }
    if (m->region[TD_REGION_GRADS])
        memset(m->region[TD_REGION_GRADS], 0, m->region_bytes[TD_REGION_GRADS]);
    st = t->grad(m, inputs, &loss);
    if (st != TD_OK)
        return td_ctx_error(m->ctx) ? st : td_fail(m->ctx, st, "step %lld: %s: the gradient failed", next, t->name);
    if ((st = global_norm(m, t, &norm)) != TD_OK)
        return st;
    if (stats)
        *stats = (td_step_stats){loss, norm, lr, 0};
    if (!isfinite(loss))
        return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the loss is %g; nothing was updated", next, t->name, loss);
    if (!isfinite(norm))
        return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the gradient norm is %g (loss %g); nothing was updated",
                       next, t->name, norm, loss);
    if (!(lr >= 0 && isfinite(lr)))
        return td_fail(m->ctx, TD_ERR_INPUT, "step %lld: %s: the schedule gives the learning rate %g", next, t->name,
                       lr);
    if (t->clip > 0 && t->clip / (norm + 1e-6) < 1)
        scale_grads(m, t, t->clip / (norm + 1e-6));
    td_profile *profile = m->profile;
    int row = profile ? t->cost->nops - trained_count(m, t) : 0; /* the first optimizer row */
    for (int i = 0; i < m->desc->nparams; i++) {
        size_t n = param_elements(m, i);
        if (!t->trained[i])
            continue;
        row++;
        if (n == 0)
            continue;
        double decay = t->decay[i] ? t->optim.weight_decay : 0, start = profile ? td_now() : 0;
        st = td_optim_update(m->ctx, &t->optim, m->desc->params[i].dtype, n, td_model_param(m, i), grad_of(m, i),
                             state_of(m, train, i), m->step + 1, lr, decay);
        if (st != TD_OK) /* not reached: model.c checked the hyper-parameters and dtypes */
            return st;
        if (profile) {
            profile->seconds[row - 1] += td_now() - start;
            profile->calls[row - 1]++;
        }
    }
    m->step++;
    return TD_OK;
}

td_status td_train_step(td_model *m, int train, const void *const *inputs, td_step_stats *stats)
{
    return train_step(m, train, inputs, NULL, false, NULL, stats);
}

td_status td_train_step_device(td_model *m, int train, const td_dptr *inputs, td_step_stats *stats)
{
    if (m && !m->on_gpu)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step_device: model %s is not on the GPU", m->desc->name);
    return train_step(m, train, NULL, inputs, false, NULL, stats);
}

td_status td_train_stage(td_model *m, int train, const void *const *inputs)
{
    td_status st = check_step(m, train, inputs, NULL, false);
    if (st != TD_OK)
        return st;
    if (m->desc->trains[train].ninputs == 0)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_stage: %s has no inputs to stage", m->desc->trains[train].name);
    if (!m->on_gpu)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_stage: model %s is not on the GPU", m->desc->name);
    return td_cuda_train_stage(m, train, inputs);
}

td_status td_train_step_staged(td_model *m, int train, td_step_stats *stats)
{
    return td_train_step_staged_while(m, train, NULL, NULL, stats);
}

td_status td_train_step_staged_while(td_model *m, int train, td_status (*meanwhile)(void *arg), void *arg,
                                     td_step_stats *stats)
{
    if (m && !m->on_gpu)
        return td_fail(m->ctx, TD_ERR_INPUT, "td_train_step_staged: model %s is not on the GPU", m->desc->name);
    td_meanwhile work = {meanwhile, arg, TD_OK};
    return train_step(m, train, NULL, NULL, true, meanwhile ? &work : NULL, stats);
}
