/* cli.h - what the files of a compiled model's command line share: cli.c
 * (td_main, the options, dims and messages, `info`, `run`, `params`),
 * cli_train.c (`train`, and `profile --train`) and cli_accounting.c (FLOPs
 * from the cost descriptions, device peaks, `profile`). Private to them:
 * not installed, not part of the runtime's API (td.h). Every function's
 * name carries the cli_ prefix. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

enum { CLI_TEXT_BYTES = 2048, CLI_PROFILE_STEPS = 10 /* profile's default --steps */ };

typedef struct cli {
    const td_model_desc *desc;
    const char *prog; /* argv[0]'s basename, the prefix of every error */
} cli;

/* Prints `PROG: error: MESSAGE` on one line (newlines in it become spaces)
 * and returns `status`, the exit status. */
int cli_fail(const cli *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The context's message: exit 1 for OOM and the device, 2 for the rest. */
int cli_fail_ctx(const cli *c, const td_ctx *ctx, td_status st);

/* A string built piece by piece; it is cut, never overrun, when full. */
typedef struct text {
    char buf[CLI_TEXT_BYTES];
    size_t len;
} text;

void cli_text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `f32["batch hidden"]`, or `f32` for a scalar. */
void cli_type_text(text *t, const td_tensor_desc *x, const td_model_desc *d);
/* `x, y`, or `none`. */
void cli_tensor_names(text *t, const td_tensor_desc *x, int n);
const char *cli_plural(long long n, const char *one, const char *many);
/* The shape and bytes of `x` for the dims; false if an axis overflows or
 * is not whole, the rank is over TD_MAX_RANK, or the bytes overflow. */
bool cli_eval_shape(const td_tensor_desc *x, const int64_t *dims, int64_t shape[TD_MAX_RANK], size_t *bytes);
void *cli_calloc_n(int n, size_t size);

typedef enum { NUM_OK, NUM_EMPTY, NUM_BAD, NUM_NEGATIVE, NUM_TOO_LARGE } num_status;
/* A decimal number of `len` characters, at most `max`. */
num_status cli_parse_number(const char *s, size_t len, uint64_t max, uint64_t *out);
/* A count option: absent gives `absent`; given, a whole number >= 1. */
int cli_parse_count(const cli *c, const char *flag, const char *value, int64_t absent, int64_t *out);
/* --seed: 0 when absent. */
int cli_parse_seed(const cli *c, const char *s, uint64_t *seed);

/* ---- dims and where their values came from ---- */

typedef enum { FROM_NONE, FROM_MODEL, FROM_DIMS, FROM_INPUT } dim_from;

typedef struct dim_source {
    dim_from kind;
    const char *input; /* FROM_INPUT: the input's name and axis */
    int axis;
} dim_source;

typedef struct bindings {
    int64_t *value;   /* per dim; 0 while unbound */
    dim_source *from; /* per dim */
} bindings;

bool cli_bindings_new(const td_model_desc *d, bindings *b);
void cli_bindings_free(bindings *b);

/* ---- options ---- */

/* A repeatable option's values. */
typedef struct opt_list {
    const char **v;
    int n;
} opt_list;

typedef struct opts {
    const char *fn; /* run: the function */
    opt_list dims, ins, data, val;
    const char *out, *seed, *params, *steps, *train, *val_every, *val_batches, *log, *log_every, *ckpt, *ckpt_every,
        *resume, *device, *peak, *peak_of;
    bool sequential, allow_tf32;
} opts;

/* Every --dims into b. */
int cli_parse_all_dims(const cli *c, const opts *o, bindings *b);
/* Every run-time dim needs a value before a model can be built. */
int cli_need_all_bound(const cli *c, const bindings *b);
/* `FLAG NAME=PATH` for inputs of `owner`: each value names an input, each
 * input at most once; paths[k] gets input k's path. */
int cli_match_named(const cli *c, const char *flag, const opt_list *values, const td_tensor_desc *inputs, int ninputs,
                    const char *owner, const char **paths);

/* ---- run: a function's inputs, outputs and model (cli.c; profile shares them) ---- */

typedef struct run_state {
    const td_fn_desc *fn;
    bindings b;
    uint64_t seed;
    td_ctx *ctx;
    const char **in_paths; /* per input of fn, from --in */
    td_npy *inputs;        /* per input */
    const void **in_data;  /* per input */
    char *out_list;        /* a copy of --out, cut at its commas */
    const char **out_paths;
    int nout_paths;
    int64_t *out_shapes;   /* TD_MAX_RANK per output */
    void **outputs;        /* per output */
    td_model *model;
} run_state;

bool cli_run_state_new(run_state *s, const td_model_desc *d, const td_fn_desc *fn);
void cli_run_state_free(run_state *s);
/* The exported function `name`; `cmd` names the command in the error when
 * no name is given. */
int cli_find_fn(const cli *c, const char *cmd, const char *name, const td_fn_desc **fn);
/* Reads input k from s->in_paths[k], checks its dtype and rank and binds
 * dims from its axes. */
int cli_read_input(const cli *c, run_state *s, int k);
/* After binding, every axis of every input must equal its size. */
int cli_check_input_shapes(const cli *c, run_state *s);
/* td_model_new with the bound dims and the seed. */
int cli_build_model(const cli *c, const opts *o, run_state *s);
/* The model on --device (auto when not given; with an explicit auto that
 * falls back to the CPU, the note why on stderr). */
int cli_new_model(const cli *c, const opts *o, td_ctx *ctx, const int64_t *dims, uint64_t seed, td_model **out);
/* Caller memory for every output, shaped under the model's dims. */
int cli_alloc_outputs(const cli *c, run_state *s);

/* ---- accounting (cli_accounting.c) ---- */

/* What is wrong with a cost description of a function or train step
 * (ntrained: the optimizer rows it must end with; 0 for a function), or
 * NULL when it can be used. */
const char *cli_cost_problem(const td_cost_desc *cost, int ntrained);
/* The FLOPs and bytes of every operation under the dims, and their sums;
 * the arrays are malloc'd (cli_costs_free). False when out of memory. */
typedef struct cli_costs {
    int nops;
    double *flops, *bytes;
    double total_flops, total_bytes;
} cli_costs;
bool cli_costs_eval(const td_cost_desc *cost, const int64_t *dims, cli_costs *out);
void cli_costs_free(cli_costs *k);
/* `4800`: exact when the count is a whole number below 2^53, else `%.4g`. */
void cli_count_text(text *t, double count);
/* `1.23 GFLOP/s`: SI prefixes, two decimals from 1000 on. */
void cli_rate_text(text *t, double value, const char *unit);
/* The trained params of a train block. */
int cli_trained_count(const td_model_desc *d, const td_train_desc *t);
/* The peak FLOP/s of --peak or --device (the column of the dtype of the
 * block's trained params; --peak wins); 0 when neither is given. */
int cli_parse_peak(const cli *c, const opts *o, const td_train_desc *t, double *peak);
/* Without --peak or --peak-of on the GPU: the peak of the row of
 * td_devices.h the CUDA device's name matches, in the trained params'
 * dtype's column; 0 when none does. */
double cli_gpu_peak(const cli *c, const td_train_desc *t, const char *cuda_name);
/* The table of `profile`: one row per operation of `cost`, sorted by
 * time, its totals, and the whole call or step (`wall` seconds over
 * `count` of them) against the sum of the operations. */
void cli_profile_report(const cli *c, const char *what, const td_cost_desc *cost, const cli_costs *k,
                        const td_profile *p, const int64_t *dims, int64_t count, double wall, bool train);
/* A td_profile of `nops` zeroed rows; false when out of memory. */
bool cli_profile_new(td_profile *p, int nops);
void cli_profile_free(td_profile *p);
/* `MODEL profile ...`; returns the exit status. */
int cli_profile(const cli *c, const opts *o);

/* ---- train blocks ---- */

typedef enum { FEED_NONE, FEED_TOKENS, FEED_ROWS } feed_kind;

/* Token windows when the inputs are exactly two integer tensors of one
 * dtype and one shape [B, T] (x, and y = x shifted by one token); rows of
 * a .npy per input otherwise; nothing without inputs. */
feed_kind cli_feed_of(const td_train_desc *t);

/* `MODEL train ...` (cli_train.c); returns the exit status. */
int cli_train(const cli *c, const opts *o);
/* `MODEL profile --train NAME ...` (cli_train.c): N steps timed per operation. */
int cli_profile_train(const cli *c, const opts *o);

#endif
