/* td.h - the tdc runtime: what generated programs and C applications link.
 *
 * Everything hangs off a td_ctx: the device, the first error message, the
 * memory regions of a compiled model. Nothing here calls exit() or abort()
 * on bad input: every fallible call returns a td_status and leaves the
 * message on the context (td_ctx_error). There is no global mutable state,
 * so several models can live in one process.
 *
 * Pieces, one file each: ctx.c (context, errors, checked sizes), dtype.c
 * (element types and conversions to and from f32), rng.c (Philox 4x32-10 and
 * the param initialisers), npy.c (.npy files), safetensors.c, file_io.c
 * (the atomic writes those two share), gemm.c (batched, strided
 * matrix products on OpenBLAS), cuda/loader.c and cuda/nvrtc.c (the CUDA
 * libraries, opened with dlopen, and NVRTC with its disk cache). */
#ifndef TD_H
#define TD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes (as in Futhark's C API: 0, or a distinct code) ---- */
typedef enum td_status {
    TD_OK = 0,
    TD_ERR_INPUT = 1,  /* bad input: a wrong shape, a bad file, a bad argument */
    TD_ERR_OOM = 2,    /* out of memory */
    TD_ERR_IO = 3,     /* the operating system refused a read or write */
    TD_ERR_DEVICE = 4, /* the device (GPU) failed or is missing */
} td_status;

/* ---- dtypes, in the order of the language's table (compiler/dtype.h) ---- */
typedef enum td_dtype {
    TD_F64, TD_F32, TD_F16, TD_BF16, TD_F8E4M3, TD_F8E5M2, TD_I64, TD_I32, TD_U16, TD_BOOL,
    TD_DTYPE_COUNT
} td_dtype;

size_t td_dtype_size(td_dtype t);     /* bytes per element */
const char *td_dtype_name(td_dtype t); /* "f32", "bf16", ... */
bool td_dtype_is_float(td_dtype t);

/* Conversions between f32 and the narrow float formats. To the narrow
 * format: round to nearest, ties to even; NaN stays NaN. f16, bf16 and
 * f8e5m2 overflow to infinity; f8e4m3 (the "fn" variant: no infinities,
 * one NaN pattern per sign, largest 448) saturates to NaN on overflow, as
 * ml_dtypes' float8_e4m3fn does. */
uint16_t td_f32_to_f16(float x);
float td_f16_to_f32(uint16_t h);
uint16_t td_f32_to_bf16(float x);
float td_bf16_to_f32(uint16_t h);
uint8_t td_f32_to_f8e4m3(float x);
float td_f8e4m3_to_f32(uint8_t b);
uint8_t td_f32_to_f8e5m2(float x);
float td_f8e5m2_to_f32(uint8_t b);
/* From f64, rounded once (not through f32 twice): as numpy's and
 * ml_dtypes' float64 -> float16 casts. */
uint16_t td_f64_to_f16(double x);
uint16_t td_f64_to_bf16(double x);
uint8_t td_f64_to_f8e4m3(double x);
uint8_t td_f64_to_f8e5m2(double x);

/* ---- the context ---- */
typedef enum td_device { TD_DEVICE_CPU, TD_DEVICE_CUDA, TD_DEVICE_AUTO } td_device;

typedef struct td_ctx td_ctx;

/* NULL only when memory for the context itself cannot be had: asking for
 * TD_DEVICE_CUDA on a machine without a GPU or driver is no failure here
 * (td_cuda_init says so when the GPU is first needed). */
td_ctx *td_ctx_new(td_device device);
void td_ctx_free(td_ctx *ctx);
/* The first error since the last td_ctx_clear_error, or NULL. */
const char *td_ctx_error(const td_ctx *ctx);
/* The status the first error was reported with (TD_OK when none). */
td_status td_ctx_error_status(const td_ctx *ctx);
void td_ctx_clear_error(td_ctx *ctx);
/* Records an error (only the first is kept) and returns `status`. */
td_status td_fail(td_ctx *ctx, td_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The device the context runs on. TD_DEVICE_AUTO resolves, on the first
 * call, to TD_DEVICE_CUDA when td_cuda_available, else to TD_DEVICE_CPU
 * with a note saying why; CPU and CUDA are returned as asked. */
td_device td_ctx_device(td_ctx *ctx);
/* A remark that is not an error (why auto chose the CPU), or NULL. */
const char *td_ctx_note(const td_ctx *ctx);
/* Chooses the device for the models made after it (td_ctx_new's choice). */
void td_ctx_set_device(td_ctx *ctx, td_device device);

/* Checked size arithmetic: false on overflow. */
bool td_mul_size(size_t a, size_t b, size_t *out);
bool td_add_size(size_t a, size_t b, size_t *out);
/* The number of elements of a shape, checked; `what` names it in the error. */
td_status td_shape_elements(td_ctx *ctx, int rank, const int64_t *shape, size_t *elements, const char *what);

/* ---- random numbers: Philox 4x32-10 (Salmon et al., SC'11), the
 * generator of cuRAND and of PyTorch on CUDA, so CPU and GPU can draw the
 * same numbers from one seed ---- */
void td_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

/* A stream of random numbers, in the manner of PyTorch's Philox generator:
 * `seed` is the Philox key (key[0] its low 32 bits, key[1] its high), and
 * `offset` counts the 32-bit words of the stream already used, as
 * curand_init's `offset` does. The caller owns the struct; {seed, 0} starts
 * a stream. Word j of the stream is lane j % 4 of Philox4x32-10 with
 * counter {lo32(j / 4), hi32(j / 4), 0, 0}: the j-th curand() after
 * curand_init(seed, 0, 0). docs/RUNTIME.md "Random numbers" states the
 * mapping from element index to words and every transform exactly, so a
 * GPU kernel can compute element i from (seed, offset, i) alone. */
typedef struct td_rng {
    uint64_t seed;
    uint64_t offset;
} td_rng;

/* Word j of the stream of `seed`. */
uint32_t td_rng_word(uint64_t seed, uint64_t j);

/* Fill out[0..n) and advance rng->offset by the words used: n for f32, 2n
 * for f64. Element i depends only on (seed, offset + i * words per
 * element), so one fill of 1000 equals ten consecutive fills of 100 (a
 * normal that starts or ends mid pair or quad shares those words with the
 * neighbouring draw: docs/RUNTIME.md).
 * Uniform: [0, 1); f32 (x >> 8) * 2^-24 from one word x, f64
 * (x ^ (y << 21)) * 2^-53 from two words x, y (cuRAND's 53-bit layout).
 * Normal: Box-Muller on word pairs (f32) or quads (f64) aligned in the
 * stream, computed in double; an element in the first half of its pair or
 * quad is the sine half, in the second the cosine half, the order of
 * curand_normal and curand_normal_double. The only error is an offset that
 * would pass 2^64. */
td_status td_rng_uniform_f32(td_ctx *ctx, td_rng *rng, float *out, size_t n);
td_status td_rng_uniform_f64(td_ctx *ctx, td_rng *rng, double *out, size_t n);
td_status td_rng_normal_f32(td_ctx *ctx, td_rng *rng, float *out, size_t n);
td_status td_rng_normal_f64(td_ctx *ctx, td_rng *rng, double *out, size_t n);

/* The param initialisers of the language (docs/LANGUAGE.md section 7), with
 * torch.nn.init's formulas and defaults but tdc's fans: for a shape
 * [..., fan_in, fan_out], fan_in = shape[rank - 2], fan_out =
 * shape[rank - 1], and leading axes are a stack of independent matrices.
 * `data` holds td_shape_elements(shape) elements of `dtype`, f32 or f64
 * (constant, zeros and ones also take i64, i32, u16 and bool). Values are
 * computed in double and rounded once. A random initialiser first rounds
 * rng->offset up to a multiple of 4 (a fresh Philox block, so no word is
 * shared with an earlier draw), then uses the words of td_rng_uniform_* or
 * td_rng_normal_* for its dtype. Bounded ones never leave their interval:
 * uniform [a, b] (b only through rounding), xavier_uniform and
 * kaiming_uniform [-bound, bound], trunc_normal [a, b]. trunc_normal
 * inverts the normal CDF as torch does, not rejection, so element i still
 * uses fixed words. Bad arguments (std <= 0, gain <= 0, a >= b, rank < 2
 * for fan-based ones, unknown mode or nonlinearity, anything not finite)
 * are TD_ERR_INPUT with the message on ctx, and leave data and rng alone. */
td_status td_init_zeros(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape);
td_status td_init_ones(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape);
td_status td_init_constant(td_ctx *ctx, td_dtype dtype, void *data, int rank, const int64_t *shape, double value);
td_status td_init_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                         double mean, double std);
td_status td_init_trunc_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                               double mean, double std, double a, double b);
td_status td_init_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                          double a, double b);
/* bound = gain * sqrt(6 / (fan_in + fan_out)); std = gain * sqrt(2 / (fan_in + fan_out)). */
td_status td_init_xavier_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                 const int64_t *shape, double gain);
td_status td_init_xavier_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank, const int64_t *shape,
                                double gain);
/* gain = td_calculate_gain(nonlinearity, a); fan = fan_in or fan_out as
 * `mode` ("fan_in", "fan_out") says; bound = gain * sqrt(3 / fan);
 * std = gain / sqrt(fan). torch's defaults: a = 0, "fan_in", "leaky_relu". */
td_status td_init_kaiming_uniform(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                  const int64_t *shape, double a, const char *mode, const char *nonlinearity);
td_status td_init_kaiming_normal(td_ctx *ctx, td_rng *rng, td_dtype dtype, void *data, int rank,
                                 const int64_t *shape, double a, const char *mode, const char *nonlinearity);

/* torch.nn.init.calculate_gain: 1 for "linear", the conv and conv_transpose
 * names and "sigmoid"; 5/3 for "tanh"; sqrt(2) for "relu";
 * sqrt(2 / (1 + param^2)) for "leaky_relu" (torch's default param, None,
 * means 0.01: pass it); 3/4 for "selu". */
td_status td_calculate_gain(td_ctx *ctx, const char *nonlinearity, double param, double *gain);
/* tdc's fans (above); rank < 2 is an error. */
td_status td_fans(td_ctx *ctx, int rank, const int64_t *shape, int64_t *fan_in, int64_t *fan_out);

/* ---- .npy files (NumPy's format, versions 1.0, 2.0 and 3.0) ----
 *
 * C order and little-endian only; the host must be little-endian too.
 * Descriptors, read and written:
 *   f64 '<f8'  f32 '<f4'  f16 '<f2'  i64 '<i8'  i32 '<i4'  u16 '<u2'  bool '|b1'
 *   bf16    '<V2'  what np.save writes for ml_dtypes.bfloat16 (np.load gives
 *                  a void array: .view(ml_dtypes.bfloat16) restores it)
 *   f8e4m3  '<V1'  what np.save writes for ml_dtypes.float8_e4m3fn (ditto)
 *   f8e5m2  written as 'float8_e5m2', which np.load resolves once ml_dtypes
 *           is imported. np.save writes '<f1' for it, which np.load cannot
 *           read back (ml_dtypes issues #148, #216), and '<V1' would be
 *           taken for f8e4m3. Read: '<f1' and 'float8_e5m2'.
 * Also read: '|V2' and 'bfloat16' as bf16, '|V1' and 'float8_e4m3fn' as
 * f8e4m3, '<b1' as bool. A '<V1' file is read as float8_e4m3fn: every other
 * one-byte ml_dtypes type (float8_e4m3, int4, ...) writes '<V1' too, and the
 * file cannot tell them apart.
 * The data must be exactly as long as the shape needs: a shorter file and
 * one with bytes after the data are both errors. bool elements must be 0 or
 * 1. Writes are atomic: a temporary file in the same directory, fsync, then
 * rename, so a crash leaves the old file or the new one, never half of one. */
enum { TD_NPY_MAX_RANK = 16 };

typedef struct td_npy {
    td_dtype dtype;
    int rank;                        /* 0 for a scalar */
    int64_t shape[TD_NPY_MAX_RANK];  /* the first `rank` entries; the rest 0 */
    size_t elements;                 /* product of the shape; 1 for a scalar */
    void *data;                      /* malloc'd, C order; never NULL after a read succeeds */
    size_t bytes;                    /* elements * td_dtype_size(dtype) */
    int version;                     /* the file's major format version: 1, 2 or 3 */
} td_npy;

/* On failure *out is left empty (data NULL), so td_npy_free is always safe. */
td_status td_npy_read(td_ctx *ctx, const char *path, td_npy *out);
/* The same from `size` bytes at `bytes`; `name` stands for the file in messages. */
td_status td_npy_read_mem(td_ctx *ctx, const char *name, const void *bytes, size_t size, td_npy *out);
/* Frees the data and empties *npy; safe to call twice. */
void td_npy_free(td_npy *npy);
/* Writes format 1.0 (the header of at most TD_NPY_MAX_RANK axes always fits
 * its 64 KiB), laid out byte for byte as np.save does. `data` holds
 * td_shape_elements(shape) elements in C order; it may be NULL when there
 * are none. */
td_status td_npy_write(td_ctx *ctx, const char *path, td_dtype dtype, int rank, const int64_t *shape,
                       const void *data);
/* The descriptor td_npy_write writes for `dtype` ("<f4", "<V2", ...). */
const char *td_npy_descr(td_dtype dtype);

/* ---- contractions (GEMM) ----
 *
 * C = alpha A B + beta C for every item of a batch, where A is m x k, B is
 * k x n and C is m x n, each a strided view: element [i][j] of a matrix at
 * element offset i * rs + j * cs from its base, batch item (t0, t1, ...) at
 * t0 * bs[0] + t1 * bs[1] + ... further. Strides count elements, not bytes,
 * and may be negative; a batch stride of 0 broadcasts an operand (A or B)
 * over that axis. The C backend lowers every einsum and matmul to one call.
 *
 * Semantics, as BLAS's: beta == 0 means C is not read (it may hold garbage
 * or NaN); k == 0 or alpha == 0 means A and B are not read and C becomes
 * beta C (zeros when beta == 0). C must not overlap itself (no two of its
 * elements at one address; checked), but it may overlap A or B: such an
 * operand is copied first, so the result is as if inputs were read before
 * C is written.
 *
 * dtypes: f32 and f64 call cblas_sgemm / cblas_dgemm once per batch item,
 * without copying any operand that has a unit stride on one axis (a matrix
 * or its transpose in BLAS's row-major form); others are packed into
 * scratch first. f16, bf16, f8e4m3 and f8e5m2 are widened to f32, computed
 * by cblas_sgemm (alpha and beta applied in f32) and rounded to the dtype
 * once (or, with c_f32 and f16 or bf16 operands, stored in an f32 C as
 * they are). i64, i32 and u16 use a plain loop (BLAS has no integer GEMM) with
 * wrapping arithmetic modulo 2^bits, as numpy's integer matmul; alpha and
 * beta must then be integers. bool is an error. docs/RUNTIME.md
 * "Contractions" has the details. */
enum { TD_GEMM_MAX_BATCH = 8 };

typedef struct td_gemm {
    td_dtype dtype;             /* of A and B, and of C unless c_f32 */
    bool c_f32;                 /* C is f32 where A and B are f16 or bf16: no rounding to their dtype */
    int64_t m, n, k;            /* C is m x n, A is m x k, B is k x n; 0 is fine */
    int64_t a_rs, a_cs;         /* A[i][p] at a + i * a_rs + p * a_cs (elements) */
    int64_t b_rs, b_cs;         /* B[p][j] at b + p * b_rs + j * b_cs */
    int64_t c_rs, c_cs;         /* C[i][j] at c + i * c_rs + j * c_cs */
    double alpha, beta;         /* finite; integers for integer dtypes */
    int batch_rank;             /* 0 .. TD_GEMM_MAX_BATCH */
    int64_t batch[TD_GEMM_MAX_BATCH]; /* the size of each batch axis */
    int64_t a_bs[TD_GEMM_MAX_BATCH];  /* each operand's stride along each batch axis; */
    int64_t b_bs[TD_GEMM_MAX_BATCH];  /* 0 broadcasts A or B; C's must keep its */
    int64_t c_bs[TD_GEMM_MAX_BATCH];  /* elements apart */
} td_gemm;

/* A descriptor for contiguous row-major A, B and C without batch axes,
 * alpha 1 and beta 0: a starting point to adjust. */
td_gemm td_gemm_rowmajor(td_dtype dtype, int64_t m, int64_t n, int64_t k);

/* Runs the contraction. Every check comes first: on an error
 * (TD_ERR_INPUT, or TD_ERR_OOM for scratch) C is unchanged. Errors: a NULL
 * descriptor, a bad dtype, negative sizes, batch_rank outside 0..8,
 * alpha or beta not finite (or not integers for i64/i32/u16), m, n or k
 * above 2^31 - 1 for a float dtype (OpenBLAS's 32-bit sizes), offsets
 * that overflow, a NULL operand that has elements, an operand not aligned
 * to its element size, and C overlapping itself. Scratch (packed or
 * widened operands, a copy of an input that C overlaps) is malloc'd per
 * call and freed before it returns. */
td_status td_gemm_run(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, void *c);

/* Validates exactly as td_gemm_run and writes to buf (a string, cut to
 * `size` bytes) what it would do, computing nothing: for tests, and for a
 * compiler that explains its choices. docs/RUNTIME.md gives the format,
 * e.g. "sgemm 1 x 64x2x32; A N ld=32; B N ld=2; C ld=2". */
td_status td_gemm_describe(td_ctx *ctx, const td_gemm *g, const void *a, const void *b, const void *c, char *buf,
                           size_t size);


/* ---- safetensors files (checkpoints) ----
 *
 * The format of Hugging Face's safetensors: an 8-byte little-endian header
 * length N, N bytes of JSON ({"name": {"dtype": "F32", "shape": [2, 3],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value"}}),
 * then the data, C order, little-endian. dtypes: F64 F32 F16 BF16 F8_E4M3
 * F8_E5M2 I64 I32 U16 BOOL. */
enum { TD_ST_MAX_NAME = 256, TD_MAX_RANK = 16 };

typedef struct td_st_tensor {
    const char *name;
    td_dtype dtype;
    int rank;
    int64_t shape[TD_MAX_RANK];
    const void *data; /* into the file's bytes (read) or the caller's (write) */
    size_t bytes;
} td_st_tensor;

typedef struct td_safetensors {
    int ntensors;
    td_st_tensor *tensors;  /* in the file's order of data offsets */
    int nmeta;
    const char **meta_keys, **meta_values;
    void *storage;          /* owned: the file's bytes and the strings */
} td_safetensors;

/* Reads and validates the whole file (header JSON, dtypes, shapes, offsets
 * that tile the data exactly); errors name the file and the byte offset.
 * On failure *out is empty, so td_safetensors_free is always safe. */
td_status td_safetensors_read(td_ctx *ctx, const char *path, td_safetensors *out);
const td_st_tensor *td_safetensors_find(const td_safetensors *st, const char *name);
const char *td_safetensors_meta(const td_safetensors *st, const char *key); /* NULL if absent */
void td_safetensors_free(td_safetensors *st);
/* Writes atomically (temporary file, fsync, rename), tensors in the given
 * order, metadata as string pairs. */
td_status td_safetensors_write(td_ctx *ctx, const char *path, int ntensors, const td_st_tensor *tensors, int nmeta,
                               const char *const *meta_keys, const char *const *meta_values);

/* ---- optimizers, learning-rate schedules, clipping (optim.c) ----
 *
 * Each optimizer is exactly torch.optim's update rule (PyTorch 2.x, the
 * single-tensor "for-loop" implementation, maximize=False), so the same
 * params, gradients and hyper-parameters give the same trajectory. */
typedef enum td_optim_kind { TD_OPTIM_SGD, TD_OPTIM_ADAGRAD, TD_OPTIM_RMSPROP, TD_OPTIM_ADAM, TD_OPTIM_ADAMW } td_optim_kind;

typedef struct td_optim_hparams {
    td_optim_kind kind;
    double lr;
    double weight_decay;
    double momentum, dampening; /* sgd; rmsprop uses momentum too */
    bool nesterov;              /* sgd */
    double beta1, beta2, eps;   /* adam, adamw; eps also adagrad, rmsprop */
    bool amsgrad;               /* adam, adamw */
    double lr_decay, initial_accumulator_value; /* adagrad */
    double alpha;               /* rmsprop */
    bool centered;              /* rmsprop */
} td_optim_hparams;

/* torch's defaults for `kind` (lr too: sgd 1e-3, adagrad 1e-2, rmsprop
 * 1e-2, adam 1e-3, adamw 1e-3 with weight_decay 1e-2). */
td_optim_hparams td_optim_defaults(td_optim_kind kind);
/* How many arrays of state, each as large as the param, the optimizer
 * keeps: sgd 1 with momentum else 0; adagrad 1; rmsprop 1, +1 with
 * momentum, +1 centered; adam and adamw 2, +1 with amsgrad. */
int td_optim_state_slots(const td_optim_hparams *h);
/* torch's name of state slot `slot` ("momentum_buffer", "sum",
 * "square_avg", "momentum_buffer", "grad_avg", "exp_avg", "exp_avg_sq",
 * "max_exp_avg_sq"), in the order of the slots. */
const char *td_optim_slot_name(const td_optim_hparams *h, int slot);
/* Fills the state of a fresh param (torch's lazy state init: zeros, or
 * adagrad's initial_accumulator_value). */
td_status td_optim_init_state(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, void *state);
/* One update of a param of n elements. `step` counts updates including
 * this one (1 on the first, torch's state["step"]); `lr` and
 * `weight_decay` are this step's (a schedule and a param group decide
 * them; h's own lr and weight_decay are ignored). param, grad and state
 * share `dtype`, f32 or f64; state holds td_optim_state_slots(h) arrays of
 * n elements one after another. SGD's momentum buffer starts as the first
 * gradient, as torch's does. */
td_status td_optim_update(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, void *param, const void *grad,
                          void *state, int64_t step, double lr, double weight_decay);

typedef enum td_schedule_kind { TD_LR_CONSTANT, TD_LR_COSINE, TD_LR_STEP, TD_LR_LINEAR } td_schedule_kind;

/* lr at a step (counted from 0): first `warmup` steps ramp linearly,
 * lr * (step + 1) / warmup; then constant lr; cosine from lr to min_lr over
 * the steps from warmup to total (min_lr after); step: lr * gamma ^
 * floor((step - warmup) / step_size); linear: from lr to min_lr over
 * warmup..total. */
typedef struct td_schedule {
    td_schedule_kind kind;
    double lr, min_lr, gamma;
    int64_t warmup, total, step_size;
} td_schedule;
double td_schedule_lr(const td_schedule *s, int64_t step);

/* torch.nn.utils.clip_grad_norm_ over several tensors (norm type 2): the
 * total norm is the 2-norm of all their elements (accumulated in double);
 * when max_norm / (total + 1e-6) < 1 every gradient is scaled by it. The
 * total before clipping goes to *total_norm. dtype f32 or f64. */
td_status td_clip_grad_norm(td_ctx *ctx, td_dtype dtype, int ntensors, void *const *grads, const size_t *counts,
                            double max_norm, double *total_norm);

/* ---- training data (data.c) ----
 *
 * A token file: llm.c's format (a header of 256 little-endian int32, magic
 * 20240520, version 1, token count; then uint16 tokens), or a raw file of
 * little-endian uint16 tokens as nanoGPT writes (anything without the
 * magic); memory-mapped. Or a .npy array of rows (shape [N, ...], any
 * dtype), for inputs that are not token windows. */
typedef struct td_data td_data;
typedef enum td_data_format { TD_DATA_LLMC, TD_DATA_RAW_U16, TD_DATA_NPY_ROWS } td_data_format;
/* Errors (bad magic or version, a count that disagrees with the file's
 * length, an odd-length raw file, a truncated header) name the file and the
 * byte offset. */
td_status td_data_open(td_ctx *ctx, const char *path, td_data **out);
void td_data_close(td_data *d);
td_data_format td_data_format_of(const td_data *d);
int64_t td_data_count(const td_data *d); /* tokens, or rows of a .npy */
/* The lesson's get_batch: B windows of T + 1 tokens at offsets drawn from
 * rng (docs/RUNTIME.md gives the mapping from words to offsets), x[b][t] =
 * tokens[i_b + t] and y[b][t] = tokens[i_b + t + 1], written as `dtype`
 * (i32, i64 or u16). A file of T tokens or fewer is an error. */
td_status td_data_random_batch(td_ctx *ctx, const td_data *d, td_rng *rng, int64_t B, int64_t T, td_dtype dtype, void *x,
                               void *y);
/* The same with consecutive windows from *cursor (a token offset): a batch
 * that would pass the end starts at 0 instead (an epoch ends), and *cursor
 * becomes the batch's start + B * T. */
td_status td_data_sequential_batch(td_ctx *ctx, const td_data *d, uint64_t *cursor, int64_t B, int64_t T, td_dtype dtype,
                                   void *x, void *y);
/* B rows of a .npy array: random (rng) or, with rng NULL, from *cursor,
 * wrapping. Each row must match row_shape/dtype. */
td_status td_data_rows(td_ctx *ctx, const td_data *d, td_rng *rng, uint64_t *cursor, int64_t B, td_dtype dtype, int rank,
                       const int64_t *row_shape, void *out);

/* ---- CUDA (runtime/cuda/) ----
 *
 * The driver (libcuda.so.1), NVRTC and cuBLAS are opened with dlopen when
 * first needed, never linked, so a program runs on the CPU where they are
 * missing. Every call into them is checked; an error names the library or
 * the call, with dlerror's text or the CUresult's name. docs/RUNTIME.md
 * "CUDA: loading and NVRTC" has the details. */

/* Opens the driver, initialises it and takes device 0's primary context.
 * TD_ERR_DEVICE when it cannot: "no CUDA driver (libcuda.so.1: cannot open
 * shared object file: ...)", "no GPU (...)", or the failing call. The
 * outcome is kept: later calls return it again without retrying. */
td_status td_cuda_init(td_ctx *ctx);
/* td_cuda_init without recording an error on ctx: false with the reason in
 * why (a string cut to `size` bytes; why may be NULL). */
bool td_cuda_available(td_ctx *ctx, char *why, size_t size);

/* Bytes owned by the caller (malloc'd): free with td_blob_free. */
typedef struct td_blob {
    void *data;
    size_t size;
} td_blob;
void td_blob_free(td_blob *b); /* leaves it empty; safe on an empty one */

enum {
    TD_NVRTC_STRICT = 1,   /* a log that mentions "warning" is a failure */
    TD_NVRTC_NO_CACHE = 2, /* neither read nor write the disk cache */
};

/* Compiles the CUDA C++ `source` (kernels declared extern "C") with
 * NVRTC, options --std=c++17 -default-device --gpu-architecture=<arch>.
 * arch "compute_XX" gives PTX (NUL-terminated; size counts the NUL), "sm_XX"
 * a cubin; NULL is the device's (td_cuda_init first): a cubin for it, or
 * PTX for the newest architecture NVRTC knows when the device is newer.
 * `name` names the program ("<name>.cu" in the log) and the messages. A
 * failure is TD_ERR_DEVICE with "NVRTC: <name>: compilation failed: ...",
 * then NVRTC's log and the source with numbered lines, on ctx; *out is
 * then empty. Results are cached on disk ($TDC_CACHE, else
 * $XDG_CACHE_HOME/tdc, else ~/.cache/tdc; TDC_CACHE=off disables it) under
 * a hash of the source, the options and the NVRTC and driver versions. */
td_status td_nvrtc_compile(td_ctx *ctx, const char *name, const char *source, const char *arch, td_blob *out);
/* The same with TD_NVRTC_* flags (td_nvrtc_compile passes 0). */
td_status td_nvrtc_compile_flags(td_ctx *ctx, const char *name, const char *source, const char *arch, unsigned flags,
                                 td_blob *out);
/* The same with `noptions` NVRTC options after ours ("--fmad=false", ...;
 * at most TD_NVRTC_MAX_OPTIONS, none NULL or empty); they are part of the
 * cache key, in order. */
enum { TD_NVRTC_MAX_OPTIONS = 16 };
td_status td_nvrtc_compile_options(td_ctx *ctx, const char *name, const char *source, const char *arch,
                                   unsigned flags, int noptions, const char *const *options, td_blob *out);
/* How many td_nvrtc_compile calls of this context the disk cache answered
 * (hits) and how many ran NVRTC (misses). */
void td_nvrtc_cache_counts(td_ctx *ctx, int64_t *hits, int64_t *misses);

/* ---- device memory and kernels (runtime/cuda/device.c) ----
 *
 * What a compiled model's CUDA code calls. Everything runs in order on one
 * stream of the context (created by td_cuda_init); a device address is a
 * td_dptr. A failed call is TD_ERR_DEVICE with the driver's call and
 * result, and `what`/`where` (what the memory is for, or the kernel and its
 * .td line), on ctx. */
typedef uint64_t td_dptr;

/* Device memory (cuMemAlloc); out of memory names the bytes asked, `what`,
 * and the free and total bytes of the GPU. */
td_status td_cuda_alloc(td_ctx *ctx, size_t bytes, const char *what, td_dptr *out);
void td_cuda_free(td_ctx *ctx, td_dptr p); /* 0 is fine */
/* Host to device (the host bytes may be reused when it returns), device to
 * host (waits for the stream), device to device, and bytes set to zero. */
td_status td_cuda_upload(td_ctx *ctx, td_dptr dst, const void *src, size_t bytes);
td_status td_cuda_download(td_ctx *ctx, void *dst, td_dptr src, size_t bytes);
td_status td_cuda_copy(td_ctx *ctx, td_dptr dst, td_dptr src, size_t bytes);
td_status td_cuda_zero(td_ctx *ctx, td_dptr dst, size_t bytes);
/* Waits for everything queued; an error of a kernel that ran is reported
 * here, with `where`. */
td_status td_cuda_sync(td_ctx *ctx, const char *where);

/* Kernels compiled from one source by td_nvrtc_compile and loaded, looked
 * up by name once. */
typedef struct td_cuda_module td_cuda_module;
td_status td_cuda_module_load(td_ctx *ctx, const char *name, const char *source, int nkernels,
                              const char *const *kernel_names, td_cuda_module **out);
/* The same with NVRTC options, as td_nvrtc_compile_options takes them. */
td_status td_cuda_module_load_options(td_ctx *ctx, const char *name, const char *source, int noptions,
                                      const char *const *options, int nkernels, const char *const *kernel_names,
                                      td_cuda_module **out);
void td_cuda_module_free(td_ctx *ctx, td_cuda_module *mod); /* NULL is fine */
/* The number of blocks for `work` items at `per_block` items a block, for
 * a kernel that strides over the grid: at least 1, at most a few waves of
 * the GPU. 0 when there is no work. */
int64_t td_cuda_blocks(td_ctx *ctx, int64_t work, int64_t per_block);
/* Launches kernel `kernel` of the module on `blocks` x `threads` (nothing
 * when blocks is 0), args as cuLaunchKernel takes them. A kernel of a
 * module whose kernels wait (td_model_desc's cuda_kernels_wait, the
 * runtime's own) is launched, on sm_90 and later, as a programmatic
 * dependent launch: it may start while the kernel before it finishes, and
 * waits in TD_GRID_WAIT() for that kernel's writes; about 0.3 us less a
 * kernel in a graph of small ones on an H100. td_cuda_dependent_launches
 * (ctx, false) launches every kernel plainly (the default is true). */
td_status td_cuda_launch(td_ctx *ctx, const td_cuda_module *mod, int kernel, int64_t blocks, unsigned threads,
                         void **args, const char *where);
/* The same with `shared` bytes of dynamic shared memory a block, at most
 * TD_CUDA_SHARED_MAX (what every GPU gives without opting in). */
#define TD_CUDA_SHARED_MAX (48 * 1024)
td_status td_cuda_launch_shared(td_ctx *ctx, const td_cuda_module *mod, int kernel, int64_t blocks, unsigned threads,
                                size_t shared, void **args, const char *where);
/* Contractions on the GPU (gemm.c): td_gemm_run's semantics (every field,
 * dtype and check of the descriptor) with A, B and C in device memory,
 * queued on the stream. cuBLAS (cublasGemmStridedBatchedEx, or cuBLASLt
 * where a tuned shape found a faster algorithm) where the
 * layout and dtype allow it, the transposes folded into its operation flags
 * and batch axes into strided batches; a generic kernel otherwise; and a
 * product of floats of at most 2^20 multiply-adds (none summing more than
 * 256 terms), where cuBLAS's launches cost more than the arithmetic, to a
 * kernel of tdc's with a warp an element of C (td_cuda_small_products(ctx,
 * false): those too to cuBLAS). f32 is exact f32 unless td_cuda_allow_tf32
 * was set; f16 and bf16 accumulate in f32 on tensor cores and round once.
 * A product on tensor cores with beta 0 is timed the first time its shape
 * comes (outside a graph capture): cuBLAS's default against cuBLASLt's
 * candidate algorithms, the fastest kept for the context and in the disk
 * cache ($TDC_CACHE), so another process chooses alike; $TDC_GEMM_TUNE=off
 * or td_cuda_tune_products(ctx, false) keeps cuBLAS's default for all. */
td_status td_cuda_gemm_run(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c);
/* A product and what its only reader does to each element, in one call:
 * td_cuda_gemm_run's C = alpha A B + beta C, then for each element C[i][j]
 * of each batch item, with TD_EPILOGUE_BIAS, C[i][j] + bias[j] (bias: n
 * contiguous elements of C's dtype, apart from C), and with
 * TD_EPILOGUE_RELU, 0 where that is below 0. f64, f32, f16 and bf16, not
 * c_f32. Where the product takes cuBLAS and C's rows are cuBLAS's columns
 * (a row-major C with no host loop), cuBLASLt's epilogue does it in the
 * product's kernel (the algorithm tuned as td_cuda_gemm_run's, on tensor
 * cores; else cuBLASLt's first): the sum is then taken before the product
 * is rounded to C's dtype, one rounding fewer for f16 and bf16. Otherwise a
 * kernel of its own follows the product, computing as the CPU does (the
 * sum in f32 for f16 and bf16, rounded once). Errors, besides
 * td_cuda_gemm_run's: bad flags, a missing or misaligned bias (or one
 * without TD_EPILOGUE_BIAS), a bias overlapping C, another dtype. */
enum { TD_EPILOGUE_BIAS = 1, TD_EPILOGUE_RELU = 2 };
td_status td_cuda_gemm_epilogue_run(td_ctx *ctx, const td_gemm *g, td_dptr a, td_dptr b, td_dptr c, td_dptr bias,
                                    int epilogue);
void td_cuda_allow_tf32(td_ctx *ctx, bool allow);
void td_cuda_small_products(td_ctx *ctx, bool allow);
void td_cuda_tune_products(td_ctx *ctx, bool tune);
/* What the context's tuning did: shapes timed, choices read from the disk
 * cache, and of these the ones that run on cuBLASLt (the rest on cuBLAS's
 * default); NULL pointers are skipped. */
void td_cuda_tune_counts(td_ctx *ctx, int64_t *timed, int64_t *from_cache, int64_t *lt);
void td_cuda_dependent_launches(td_ctx *ctx, bool allow);
/* Contractions in a row whose small ones share launches: between
 * td_cuda_gemm_group_begin and td_cuda_gemm_group_end, td_cuda_gemm_run
 * queues a product of the small route (up to 8, of one dtype) unless it
 * writes memory a queued one reads or writes, or reads memory one writes
 * (then what is queued runs first); any other product runs after the
 * queue; end runs the queue, as one launch. Only td_cuda_gemm_run may come
 * between the two (a copy or launch between them would run before the
 * queue). A failed td_cuda_gemm_run drops the group and its queue; begin
 * while a group still holds products drops them and fails (TD_ERR_INPUT);
 * end without a group does nothing. The generated code brackets each run
 * of two or more contractions so, but when profiling (each its own row). */
td_status td_cuda_gemm_group_begin(td_ctx *ctx);
td_status td_cuda_gemm_group_end(td_ctx *ctx);

/* Optimizers on the GPU (optim.c): td_optim_update's numbers, bit for bit,
 * for n elements of param, grad and state (td_optim_state_slots(h) arrays
 * of n, as on the CPU) in device memory, queued on the stream. */
td_status td_cuda_optim_update(td_ctx *ctx, const td_optim_hparams *h, td_dtype dtype, size_t n, td_dptr param,
                               td_dptr grad, td_dptr state, int64_t step, double lr, double weight_decay);
/* *sum (one double in device memory) += the sum of squares of x's n
 * elements (f32 or f64), accumulated in double. */
td_status td_cuda_add_sum_squares(td_ctx *ctx, td_dtype dtype, td_dptr x, size_t n, td_dptr sum);
/* x *= coef in x's dtype (f32 or f64), as train.c's gradient clipping. */
td_status td_cuda_scale(td_ctx *ctx, td_dtype dtype, td_dptr x, size_t n, double coef);

/* The device's name and its streaming multiprocessors (td_cuda_init first). */
const char *td_cuda_device_name(td_ctx *ctx);

/* ---- compiled models ----
 *
 * What tdc's generated C hands the runtime: a static description of the
 * model (its dims, params, regions and exported functions) and the code
 * that plans, initialises and evaluates it. The runtime owns the instance
 * (td_model): the dims bound at run time, one allocation per region, the
 * RNG. td_main() is the whole command line of a compiled executable. */

enum { TD_SIZE_MAX_FACTORS = 8 };

/* A size in the dims, as the compiler's normal form: num/den times the
 * product of dims[factor_dim[i]] ^ factor_exp[i]. */
typedef struct td_size_expr {
    int64_t num, den;
    int nfactors;
    int factor_dim[TD_SIZE_MAX_FACTORS];
    int factor_exp[TD_SIZE_MAX_FACTORS];
} td_size_expr;

/* A dim: static (value > 0) or bound at run time (value 0). */
typedef struct td_dim_desc {
    const char *name;
    int64_t value;
} td_dim_desc;

/* A tensor at the boundary: a param, or an input or output of a function.
 * rank 0 is a scalar. The data is C order, contiguous. */
typedef struct td_tensor_desc {
    const char *name;
    td_dtype dtype;
    int rank;
    const td_size_expr *shape; /* rank entries */
    const char *shape_text;    /* as the program writes it: "batch hidden" */
} td_tensor_desc;

/* The memory of a model, one allocation each: the params; the workspace
 * of the functions (planned by the compiler); the gradients, laid out as
 * the params (same offsets and dtypes); the optimizers' state. */
typedef enum td_region {
    TD_REGION_PARAMS, TD_REGION_WORKSPACE, TD_REGION_GRADS, TD_REGION_OPTIM, TD_REGION_COUNT
} td_region;

typedef struct td_model td_model;

/* ---- accounting: what the compiler planned, for the runtime to measure against ---- */

/* One operation of a compiled function, as `tdc report` lists it. */
typedef struct td_op_desc {
    int node;         /* its IR node (tdc --emit=ir); -1 for an optimizer update */
    unsigned line;    /* its source line */
    const char *kind; /* "contract", "map", "reduce", ..., "adamw w" */
} td_op_desc;

typedef struct td_cost_desc {
    int nops;
    const td_op_desc *ops;
    /* Fills flops[i] and bytes[i] (read + written) of op i for the bound dims. */
    void (*costs)(const int64_t *dims, double *flops, double *bytes);
} td_cost_desc;

/* Time spent in each op while m->profile is set: the generated code adds to
 * seconds[i] and calls[i] around op i of the function or train step that
 * runs (an optimizer update's rows are timed by td_train_step). */
typedef struct td_profile {
    int nops;
    double *seconds;
    int64_t *calls;
} td_profile;

/* Monotonic wall-clock seconds. */
double td_now(void);

/* An exported function: reads `inputs` (each contiguous, shaped as its
 * desc says for the model's dims) and writes `outputs` (caller memory of
 * the same kind). On failure the message is on the model's context and the
 * outputs are unspecified. */
typedef struct td_fn_desc {
    const char *name;
    int ninputs, noutputs;
    const td_tensor_desc *inputs, *outputs;
    td_status (*call)(td_model *m, const void *const *inputs, void *const *outputs);
    const td_cost_desc *cost; /* its operations (may be NULL) */
    /* The same on the GPU: inputs and outputs in device memory (NULL when
     * the model was compiled without CUDA code), queued on the stream with
     * no wait. td_model_call picks. */
    td_status (*call_cuda)(td_model *m, const td_dptr *inputs, const td_dptr *outputs);
    /* After call_cuda: the gathers' error words read back from the scratch
     * (TD_SCRATCH_NERRORS pairs) into the message of the first bad index;
     * NULL when the function has no gather. */
    td_status (*errors_cuda)(td_model *m, const int64_t *found);
} td_fn_desc;

/* A train block: one step is forward and backward (grad), then clipping
 * by global norm, the learning rate of the schedule, and the optimizer's
 * update of every trained param (td_train_step). */
typedef struct td_train_desc {
    const char *name;
    int ninputs;
    const td_tensor_desc *inputs; /* the batch, as the block declares it */
    td_optim_hparams optim;        /* lr and weight_decay: the base values */
    td_schedule schedule;          /* of the learning rate, from optim.lr */
    double clip;                   /* max global gradient norm; 0: no clipping */
    const bool *trained;           /* nparams: the loss depends on the param (others keep no state, get no update) */
    const bool *decay;             /* nparams: optim.weight_decay applies (false: the no_decay group) */
    /* Forward and backward: reads the inputs (each contiguous, shaped by
     * its desc) and writes the loss and, for every trained param, its
     * gradient (the param's dtype, f32 or f64) at the param's offset in
     * TD_REGION_GRADS. */
    td_status (*grad)(td_model *m, const void *const *inputs, double *loss);
    /* The loss alone (forward only), for validation. */
    td_status (*loss)(td_model *m, const void *const *inputs, double *loss);
    /* The step's operations: those of grad (forward and backward), then one
     * optimizer update per trained param, in param order (may be NULL). */
    const td_cost_desc *cost;
    /* grad and loss on the GPU (NULL without CUDA code): the inputs in
     * device memory, the loss (of loss_dtype) into the scratch at 0, the
     * gradients into the device's TD_REGION_GRADS; queued, no wait. */
    td_status (*grad_cuda)(td_model *m, const td_dptr *inputs);
    td_status (*loss_cuda)(td_model *m, const td_dptr *inputs);
    td_status (*grad_errors_cuda)(td_model *m, const int64_t *found); /* as td_fn_desc.errors_cuda */
    td_status (*loss_errors_cuda)(td_model *m, const int64_t *found);
    td_dtype loss_dtype;
    /* The step draws random numbers: on the GPU it reads the stream's seed
     * and position from the scratch (TD_SCRATCH_RNG, written before each
     * step), and a graph replay advances m->rng as the step's first run
     * did. */
    bool draws;
} td_train_desc;

typedef struct td_model_desc {
    const char *name; /* the program's file name without .td */
    int ndims, nparams, nfns;
    const td_dim_desc *dims;
    const td_tensor_desc *params;
    const td_fn_desc *fns;
    /* Checks the run-time conditions on the dims (divisibility, indices)
     * and fills the bytes of each region and the byte offset of each param
     * within TD_REGION_PARAMS, from the bound dims. */
    td_status (*plan)(td_ctx *ctx, const int64_t *dims, size_t region_bytes[TD_REGION_COUNT], size_t *param_offsets);
    /* Initialises every param from the model's RNG (seeded by td_model_new). */
    td_status (*init_params)(td_model *m);
    int ntrains;
    const td_train_desc *trains;
    const char *program_hash; /* of the program, hex: checkpoints name it */
    /* The CUDA C source of every kernel (NULL: the model runs on the CPU
     * only), compiled by NVRTC when a model is made on the GPU, and the
     * names of its kernels, which the generated code launches by index. */
    const char *cuda_source;
    int ncuda_kernels;
    const char *const *cuda_kernel_names;
    /* Every kernel of cuda_source starts with TD_GRID_WAIT()
     * (cuda_narrow_floats.h), so each may be launched while the kernel
     * before it finishes (td_cuda_dependent_launches). */
    bool cuda_kernels_wait;
    /* nparams, or NULL (none): the dtype the GPU's kernels read each param
     * in. The param's own: they read the param. TD_BF16 or TD_F16 (for an
     * f32 param the program casts to it): the GPU keeps a copy of the param
     * in that dtype, rounded as a cast rounds, which the optimizer writes as
     * it updates the param and td_model_sync_device rewrites; the kernels
     * read it instead of casting the param on every step. */
    const td_dtype *cuda_read_dtypes;
} td_model_desc;

struct td_model {
    td_ctx *ctx;
    const td_model_desc *desc;
    int64_t *dims;                       /* ndims values, every one bound */
    size_t region_bytes[TD_REGION_COUNT];
    unsigned char *region[TD_REGION_COUNT]; /* 64-byte aligned; NULL when 0 bytes */
    size_t *param_offsets;               /* nparams byte offsets into TD_REGION_PARAMS (and TD_REGION_GRADS) */
    td_rng rng;
    /* training state (td_train_step, checkpoints) */
    int64_t step;                        /* updates done */
    uint64_t data_cursor;                /* the sequential data position */
    size_t *optim_offsets;               /* ntrains * nparams byte offsets into TD_REGION_OPTIM (state slots one after another) */
    td_profile *profile;                 /* NULL unless profiling (./model profile) */
    bool time_steps;                     /* GPU train steps measure their time (td_model_time_steps) */
    /* on the GPU (the context's device was CUDA when the model was made) */
    bool on_gpu;
    td_dptr dregion[TD_REGION_COUNT];    /* each region's device copy, one allocation each */
    td_dptr dstage;                      /* a call's inputs and outputs, staged: stage_bytes (0 until first used) */
    size_t stage_bytes;
    td_dptr dscratch;                    /* TD_SCRATCH_BYTES: a loss, error words, a norm */
    td_cuda_module *kernels;             /* desc->cuda_source, loaded */
    struct td_cuda_build *kernels_built; /* desc->cuda_source, compiled ahead of the device's choice (model.c) */
    bool host_stale;                     /* the device's params and state are newer than region[] */
    struct td_gpu_state *gpu;            /* train steps on the GPU: pinned memory, graphs (cuda/step.c) */
    struct td_cuda_profile *cuda_profile; /* profiling on the GPU: events for profile's rows (cuda/profile.c) */
    td_dptr dcopies;                     /* the params' narrow copies (desc->cuda_read_dtypes), one allocation; 0: none */
    size_t *copy_offsets;                /* nparams byte offsets into dcopies (SIZE_MAX: no copy) */
};
/* dscratch: the loss at 0, a double at 64 (the gradients' sum of squares),
 * from 128 a pair of int64 per gather (a flag, the first bad index it
 * met), at 4096 a train step's scalars and verdict (cuda/step.c), at
 * 4352 the model's random stream (seed, position) as a train step that
 * draws begins (two uint64). */
enum {
    TD_SCRATCH_BYTES = 8192, TD_SCRATCH_NORM = 64, TD_SCRATCH_ERRORS = 128, TD_SCRATCH_NERRORS = 248,
    TD_SCRATCH_GATE = 4096, TD_SCRATCH_RNG = 4096 + 256
};

/* Binds the dims (dims[i] for each dim of the desc; static ones must be
 * given their value or 0), plans, allocates each region once and
 * initialises the params with seed `seed`. NULL on failure, with the
 * message on ctx. */
td_model *td_model_new(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, uint64_t seed);
void td_model_free(td_model *m);
/* A param's data, by index: host memory (on the GPU, td_model_sync_host
 * first to read what training wrote, td_model_sync_device after writing). */
void *td_model_param(td_model *m, int index);
/* On the GPU: copies the params and optimizer state to the host regions
 * when the device's are newer; and the host's params and state to the
 * device. TD_OK at once on the CPU. */
td_status td_model_sync_host(td_model *m);
td_status td_model_sync_device(td_model *m);
/* Runs exported function `fn` on the model's device: inputs and outputs
 * in host memory, as td_fn_desc.call takes them (on the GPU they are
 * copied through the staging buffer). */
td_status td_model_call(td_model *m, int fn, const void *const *inputs, void *const *outputs);
/* On the GPU: the staging buffer allocated (m->dstage), if it is not yet.
 * A model allocates it on its first call or train step with inputs in
 * host memory; one trained only on batches already on the device
 * (td_train_step_device) never does. */
td_status td_model_staging(td_model *m);
/* Profiling a model on the GPU (while m->profile is set; nothing
 * otherwise): an event recorded on the stream where row `op`'s work begins
 * (end false) and where it ends; td_cuda_profile_flush waits for the
 * stream once and adds each row's begin-to-end GPU time to
 * m->profile->seconds (and one to calls). The generated code marks its
 * operations and flushes at the end of a function. */
td_status td_cuda_profile_mark(td_model *m, int op, bool end);
td_status td_cuda_profile_flush(td_model *m);
void td_cuda_profile_free(td_model *m);
/* On the GPU, besides the regions: the staging buffer of a model of desc
 * at dims (the inputs and outputs of its largest call, each at a 64-byte
 * boundary; allocated when first used: td_model_staging), and
 * TD_SCRATCH_BYTES of scratch. */
td_status td_model_stage_bytes(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, size_t *bytes);
/* On the GPU, besides the regions: the params' narrow copies
 * (desc->cuda_read_dtypes), each at a 64-byte boundary: their bytes in
 * all, and each one's offset (offsets: nparams, or NULL; SIZE_MAX where a
 * param has none). */
td_status td_model_copy_bytes(td_ctx *ctx, const td_model_desc *desc, const int64_t *dims, size_t *offsets,
                              size_t *bytes);
/* The bytes of input or output tensor t under the model's dims. */
td_status td_model_tensor_bytes(td_model *m, const td_tensor_desc *t, size_t *bytes);
/* The extent of a size in the model's bound dims. */
int64_t td_size_eval(const td_size_expr *s, const int64_t *dims);

/* ---- training and checkpoints ---- */

typedef struct td_step_stats {
    double loss, grad_norm, lr;
    double gpu_ms; /* on the GPU, with td_model_time_steps on: the step's time there (CUDA events, batch copy to the
                    * step's end); else 0 */
} td_step_stats;

/* Whether the model's train steps on the GPU measure their time there
 * (td_step_stats.gpu_ms): two CUDA events around each step, about 2.5 us
 * of its wall time, which a launch-bound step feels. Off when a model is
 * made; `MODEL train` turns it on for the steps it logs. */
void td_model_time_steps(td_model *m, bool on);

/* One step of train block `train` on a batch: trains->grad, then clipping,
 * the schedule's lr at m->step, td_optim_update of each trained param
 * (step m->step + 1; weight decay only where decay[i]), m->step++. */
td_status td_train_step(td_model *m, int train, const void *const *inputs, td_step_stats *stats);
/* td_train_step with the batch already in device memory (a model on the
 * GPU), read where it is: no copy, no staging buffer. The step's CUDA
 * graph reads the addresses it was captured with: a batch at other
 * addresses than the last step's is captured again (keep the batch's
 * buffers for a run, as a loader's double buffer does, and steps replay). */
td_status td_train_step_device(td_model *m, int train, const td_dptr *inputs, td_step_stats *stats);
/* A model on the GPU: td_train_stage copies a batch toward the device on
 * a stream of its own and returns (the batch's host memory may be reused
 * at once); td_train_step_staged trains a step on the oldest staged batch
 * of that block. Up to two batches are staged at a time, so staging the
 * next batch before the step on this one overlaps the next batch's copy
 * with this step (what `MODEL train` does on the GPU). The device keeps
 * two buffers of the largest staged batch, and pinned memory as large. */
td_status td_train_stage(td_model *m, int train, const void *const *inputs);
td_status td_train_step_staged(td_model *m, int train, td_step_stats *stats);
/* td_train_step_staged that calls meanwhile(arg) once the step is queued,
 * while the GPU runs it, then waits for the step: the host's work for the
 * next batch (drawing it, td_train_stage) overlaps the step, where staging
 * it before the step leaves the GPU idle meanwhile. In meanwhile only
 * td_train_stage may be called on the model (a train step or loss fails).
 * The step runs and counts whatever meanwhile returns; its failure is then
 * this call's (stats are the step's). */
td_status td_train_step_staged_while(td_model *m, int train, td_status (*meanwhile)(void *arg), void *arg,
                                     td_step_stats *stats);
/* The loss of train block `train` on a batch (forward only, nothing
 * changes): validation. */
td_status td_train_loss(td_model *m, int train, const void *const *inputs, double *loss);
/* A safetensors checkpoint: the params under their names, each train
 * block's optimizer state as "<optimizer>.<slot>.<param>" (prefixed with
 * "<train>." when the model has several), and in the metadata the step,
 * the RNG's seed and offset, the data cursor, the hyper-parameters and
 * desc->program_hash. Written atomically. */
td_status td_model_save(td_model *m, const char *path);
/* Restores what td_model_save wrote, bit for bit; a checkpoint of another
 * program (hash), a missing or misshapen tensor is an error that changes
 * nothing. */
td_status td_model_load(td_model *m, const char *path);

/* The command line of a compiled model: `info`, `run FN ...`. Returns the
 * process's exit status: 0, 1 when the program fails, 2 for bad input. */
int td_main(const td_model_desc *desc, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
