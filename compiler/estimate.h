/* estimate.h - `tdc estimate`: napkin math for training, with the
 * arithmetic shown.
 *
 *   tdc estimate train --params N --tokens D --mfu F (--device NAME | --peak FLOPS) [--gpus G] [--dtype T]
 *       the FLOPs of 6ND and the days they take on G GPUs at MFU F
 *   tdc estimate fit (--device NAME | --memory BYTES) [--gpus G] [--optimizer O [--momentum]] [--dtype T]
 *       the largest model whose parameters, gradients, master weights and
 *       optimizer state fit in G GPUs' memory
 *   tdc estimate devices
 *       the table of device peaks (runtime/td_devices.h)
 *   tdc estimate FILE.td --dims ... --tokens D --mfu F (--device NAME | --peak FLOPS) [--gpus G] [--memory BYTES] [--dtype T]
 *       the same time from the program's own exact FLOPs per step, beside
 *       6ND, and whether a step's memory fits one GPU
 *
 * The conventions and worked examples are in docs/ACCOUNTING.md. A report
 * goes to stdout; a bad command line is one line `tdc: error: ...` on
 * stderr and exit status 2. */
#ifndef TDC_ESTIMATE_H
#define TDC_ESTIMATE_H

/* What the driver learned from compiling FILE.td at its --dims, for the
 * third form. Every count is per replica: data parallel, each GPU runs the
 * whole step on its own batch. */
typedef struct EstimateProgram {
    const char *name;       /* shown in the report: the file name */
    double step_flops;      /* exact FLOPs of one training step: forward, backward, optimizer */
    double tokens_per_step; /* tokens one step consumes (batch x seq of the train block's
                               token inputs), or rows (batch) for a program without tokens */
    double step_bytes;      /* bytes a step holds: params + grads + optimizer state + peak workspace */
    double param_count;     /* trained parameters (elements), for 6ND */
    const char *dtype;      /* optional: the dtype of the step's matrix products ("f32",
                               "bf16", "f16", "f64"), which picks the device's peak;
                               NULL: bf16's; --dtype overrides it */
} EstimateProgram;

/* argv: the arguments after `estimate` (argv[argc] need not be NULL).
 * program: NULL for `estimate train|fit|devices` (argv[0] names which);
 * for `estimate FILE.td` the compiled program, with argv holding only the
 * flags left after the driver took FILE.td and --dims. Returns the exit
 * status: 0 (also for --help), 2 for a bad command line, 1 for a program
 * with no training step to estimate (step_flops or tokens_per_step not
 * positive). */
int estimate_main(int argc, char **argv, const EstimateProgram *program);

#endif
