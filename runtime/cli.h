/* cli.h - what the two files of a compiled model's command line share:
 * cli.c (td_main, the options, dims and messages, `info`, `run`, `params`)
 * and cli_train.c (`train`). Private to them: not installed, not part of
 * the runtime's API (td.h). Every name carries the cli_ prefix. */
#ifndef TD_CLI_H
#define TD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

enum { CLI_TEXT_BYTES = 2048 };

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
        *resume;
    bool sequential;
} opts;

/* Every --dims into b. */
int cli_parse_all_dims(const cli *c, const opts *o, bindings *b);
/* Every run-time dim needs a value before a model can be built. */
int cli_need_all_bound(const cli *c, const bindings *b);
/* `FLAG NAME=PATH` for inputs of `owner`: each value names an input, each
 * input at most once; paths[k] gets input k's path. */
int cli_match_named(const cli *c, const char *flag, const opt_list *values, const td_tensor_desc *inputs, int ninputs,
                    const char *owner, const char **paths);

/* ---- train blocks ---- */

typedef enum { FEED_NONE, FEED_TOKENS, FEED_ROWS } feed_kind;

/* Token windows when the inputs are exactly two integer tensors of one
 * dtype and one shape [B, T] (x, and y = x shifted by one token); rows of
 * a .npy per input otherwise; nothing without inputs. */
feed_kind cli_feed_of(const td_train_desc *t);

/* `MODEL train ...` (cli_train.c); returns the exit status. */
int cli_train(const cli *c, const opts *o);

#endif
