/* optim_kernels.h - the element loops of the optimizers, written once for
 * one element type and included twice by optim.c: with OPTIM_FN static,
 * OPTIM_T float, OPTIM_SQRT sqrtf, OPTIM_FMA fmaf and OPTIM_NAME(x)
 * x##_f32, then with double, sqrt, fma and x##_f64. No include guard, on
 * purpose. The GPU compiles this same text: the build embeds it in the
 * runtime as a string, and runtime/cuda/optim.c puts it twice behind a
 * prelude that defines the macros for the device (OPTIM_FN static
 * __device__, correctly rounded sqrt and fma) and a layout-checked copy of
 * td_optim_hparams, so both sides run the same operations in the same
 * order. Nothing here may need a header, or a function the device lacks.
 *
 * Each loop is torch.optim's _single_tensor_<optimizer> (PyTorch 2.11,
 * torch/optim/{sgd,adagrad,rmsprop,adam}.py, maximize=False,
 * capturable=False, differentiable=False) done element by element: torch
 * runs one elementwise kernel after another over the whole tensor, and as
 * each reads and writes element i alone, running them all on element i
 * before i + 1 gives the same numbers. Every operation is in OPTIM_T, as
 * torch computes in the param's dtype, in the order of ATen's CPU kernels
 * (aten/src/ATen/native/ufunc/add.h, cpu/PointwiseOpsKernel.cpp, Lerp.h):
 *   x.add(y, alpha=a)         x + a * y            fma(a, y, x)
 *   x.mul_(s)                 x * s
 *   x.addcmul_(y, z, value=v) x + v * y * z        fma(v * y, z, x)
 *   x.addcdiv_(y, z, value=v) x + v * y / z        x + (v * y) / z
 *   x.lerp_(y, w)             |w| < 0.5 ? fma(w, y - x, x) : fma(-(y - x), 1 - w, y)
 *   x.sqrt(), x.add_(s)       sqrt(x), x + s
 * The fused multiply-adds are what torch's x86-64 build computes: its
 * AVX2 and AVX-512 kernels are compiled with FMA, and the compiler fuses
 * the scalar `x + a * y` too (the vector paths call vec::fmadd); a build
 * without FMA rounds twice, and differs from ours in the last bit. With
 * them, the trajectories of tests/runtime/optim_ref match torch 2.11's bit
 * for bit but for one f64 element of one momentum buffer (1 ulp). Python
 * scalars (1 - beta1, -lr, ...) are computed in double and rounded to
 * OPTIM_T once, as a Python float is when it meets a tensor; Adam's powers
 * come in from the caller (pow is not correctly rounded, and CUDA's may
 * differ from libm's in the last bit, so the host computes them for both).
 * optim.c is ISO C11, where the compiler fuses nothing the source does not
 * show; the GPU's module is compiled with --fmad=false for the same. */

OPTIM_FN OPTIM_T OPTIM_NAME(lerp)(OPTIM_T self, OPTIM_T end, OPTIM_T weight)
{
    /* ATen's lerp (aten/src/ATen/native/Lerp.h), the weight as the dtype */
    if (weight < (OPTIM_T)0.5 && weight > (OPTIM_T)-0.5)
        return OPTIM_FMA(weight, end - self, self);
    return OPTIM_FMA(-(end - self), (OPTIM_T)1 - weight, end);
}

/* torch.maximum: NaN wins */
OPTIM_FN OPTIM_T OPTIM_NAME(maximum)(OPTIM_T a, OPTIM_T b)
{
    if (a != a || b != b)
        return a + b;
    return a > b ? a : b;
}

/* _single_tensor_sgd. buf is NULL without momentum; on step 1 it becomes a
 * copy of the gradient (torch's `buf = grad.detach().clone()`). */
OPTIM_FN void OPTIM_NAME(sgd)(const td_optim_hparams *h, size_t n, OPTIM_T *param, const OPTIM_T *grad, OPTIM_T *buf,
                              int64_t step, double lr, double weight_decay)
{
    const OPTIM_T wd = (OPTIM_T)weight_decay, momentum = (OPTIM_T)h->momentum;
    const OPTIM_T keep = (OPTIM_T)(1 - h->dampening), neg_lr = (OPTIM_T)(-lr);
    for (size_t i = 0; i < n; i++) {
        OPTIM_T g = grad[i];
        if (weight_decay != 0)
            g = OPTIM_FMA(wd, param[i], g);          /* grad.add(param, alpha=weight_decay) */
        if (h->momentum != 0) {
            if (step == 1) {
                buf[i] = g;                        /* grad.detach().clone() */
            } else {
                buf[i] = buf[i] * momentum;        /* buf.mul_(momentum) */
                buf[i] = OPTIM_FMA(keep, g, buf[i]);  /*    .add_(grad, alpha=1 - dampening) */
            }
            g = h->nesterov ? OPTIM_FMA(momentum, buf[i], g) : buf[i]; /* grad.add(buf, alpha=momentum) */
        }
        param[i] = OPTIM_FMA(neg_lr, g, param[i]); /* param.add_(grad, alpha=-lr) */
    }
}

/* _single_tensor_adagrad (dense gradients) */
OPTIM_FN void OPTIM_NAME(adagrad)(const td_optim_hparams *h, size_t n, OPTIM_T *param, const OPTIM_T *grad,
                                  OPTIM_T *sum, int64_t step, double lr, double weight_decay)
{
    const double clr = lr / (1 + ((double)step - 1) * h->lr_decay);
    const OPTIM_T wd = (OPTIM_T)weight_decay, eps = (OPTIM_T)h->eps, neg_clr = (OPTIM_T)(-clr);
    for (size_t i = 0; i < n; i++) {
        OPTIM_T g = grad[i];
        if (weight_decay != 0)
            g = OPTIM_FMA(wd, param[i], g);                /* grad.add(param, alpha=weight_decay) */
        sum[i] = OPTIM_FMA((OPTIM_T)1 * g, g, sum[i]);            /* state_sum.addcmul_(grad, grad, value=1) */
        OPTIM_T std = OPTIM_SQRT(sum[i]) + eps;          /* state_sum.sqrt().add_(eps) */
        param[i] = param[i] + neg_clr * g / std;         /* param.addcdiv_(grad, std, value=-clr) */
    }
}

/* _single_tensor_rmsprop. buf (momentum > 0) and grad_avg (centered) are
 * NULL when unused. */
OPTIM_FN void OPTIM_NAME(rmsprop)(const td_optim_hparams *h, size_t n, OPTIM_T *param, const OPTIM_T *grad,
                                  OPTIM_T *square_avg, OPTIM_T *buf, OPTIM_T *grad_avg, double lr,
                                  double weight_decay)
{
    const OPTIM_T wd = (OPTIM_T)weight_decay, alpha = (OPTIM_T)h->alpha, rest = (OPTIM_T)(1 - h->alpha);
    const OPTIM_T eps = (OPTIM_T)h->eps, momentum = (OPTIM_T)h->momentum, neg_lr = (OPTIM_T)(-lr);
    for (size_t i = 0; i < n; i++) {
        OPTIM_T g = grad[i];
        if (weight_decay != 0)
            g = OPTIM_FMA(wd, param[i], g);                     /* grad.add(param, alpha=weight_decay) */
        square_avg[i] = square_avg[i] * alpha;                /* square_avg.mul_(alpha) */
        square_avg[i] = OPTIM_FMA(rest * g, g, square_avg[i]);         /*   .addcmul_(grad, grad, value=1 - alpha) */
        OPTIM_T avg;
        if (h->centered) {
            grad_avg[i] = OPTIM_NAME(lerp)(grad_avg[i], g, rest); /* grad_avg.lerp_(grad, 1 - alpha) */
            /* square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_() */
            avg = OPTIM_SQRT(OPTIM_FMA((OPTIM_T)-1 * grad_avg[i], grad_avg[i], square_avg[i]));
        } else {
            avg = OPTIM_SQRT(square_avg[i]);                  /* square_avg.sqrt() */
        }
        avg = avg + eps;                                      /* avg.add_(eps) */
        if (h->momentum > 0) {
            buf[i] = buf[i] * momentum;                       /* buf.mul_(momentum) */
            buf[i] = buf[i] + (OPTIM_T)1 * g / avg;           /*   .addcdiv_(grad, avg) */
            param[i] = OPTIM_FMA(neg_lr, buf[i], param[i]);            /* param.add_(buf, alpha=-lr) */
        } else {
            param[i] = param[i] + neg_lr * g / avg;           /* param.addcdiv_(grad, avg, value=-lr) */
        }
    }
}

/* _single_tensor_adam; AdamW is the same function with
 * decoupled_weight_decay=True. max_exp_avg_sq is NULL without amsgrad.
 * bias_correction1 and bias_correction2_sqrt are the step's Python scalars
 * 1 - beta1^step and (1 - beta2^step)^0.5 (td_optim_adam_bias). */
OPTIM_FN void OPTIM_NAME(adam)(const td_optim_hparams *h, size_t n, OPTIM_T *param, const OPTIM_T *grad,
                               OPTIM_T *exp_avg, OPTIM_T *exp_avg_sq, OPTIM_T *max_exp_avg_sq,
                               double bias_correction1, double bias_correction2_sqrt, double lr,
                               double weight_decay)
{
    const bool decoupled = h->kind == TD_OPTIM_ADAMW;
    const double step_size = lr / bias_correction1;
    const OPTIM_T decay = (OPTIM_T)(1 - lr * weight_decay), wd = (OPTIM_T)weight_decay;
    const OPTIM_T w1 = (OPTIM_T)(1 - h->beta1), beta2 = (OPTIM_T)h->beta2, rest2 = (OPTIM_T)(1 - h->beta2);
    const OPTIM_T bc2_sqrt = (OPTIM_T)bias_correction2_sqrt, eps = (OPTIM_T)h->eps;
    const OPTIM_T neg_step_size = (OPTIM_T)(-step_size);
    for (size_t i = 0; i < n; i++) {
        OPTIM_T g = grad[i];
        if (weight_decay != 0) {
            if (decoupled)
                param[i] = param[i] * decay;                  /* param.mul_(1 - lr * weight_decay) */
            else
                g = OPTIM_FMA(wd, param[i], g);                 /* grad.add(param, alpha=weight_decay) */
        }
        exp_avg[i] = OPTIM_NAME(lerp)(exp_avg[i], g, w1);     /* exp_avg.lerp_(grad, 1 - beta1) */
        exp_avg_sq[i] = exp_avg_sq[i] * beta2;                /* exp_avg_sq.mul_(beta2) */
        exp_avg_sq[i] = OPTIM_FMA(rest2 * g, g, exp_avg_sq[i]);        /*   .addcmul_(grad, grad, value=1 - beta2) */
        OPTIM_T v = exp_avg_sq[i];
        if (max_exp_avg_sq) {                                 /* torch.maximum(max, exp_avg_sq, out=max) */
            max_exp_avg_sq[i] = OPTIM_NAME(maximum)(max_exp_avg_sq[i], v);
            v = max_exp_avg_sq[i];
        }
        OPTIM_T denom = OPTIM_SQRT(v) / bc2_sqrt + eps;       /* (v.sqrt() / bias_correction2_sqrt).add_(eps) */
        param[i] = param[i] + neg_step_size * exp_avg[i] / denom; /* param.addcdiv_(exp_avg, denom, value=-step_size) */
    }
}
