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
 * the param initialisers), npy.c (.npy files). */
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

/* ---- the context ---- */
typedef enum td_device { TD_DEVICE_CPU, TD_DEVICE_CUDA, TD_DEVICE_AUTO } td_device;

typedef struct td_ctx td_ctx;

/* NULL only when memory for the context itself cannot be had. */
td_ctx *td_ctx_new(td_device device);
void td_ctx_free(td_ctx *ctx);
/* The first error since the last td_ctx_clear_error, or NULL. */
const char *td_ctx_error(const td_ctx *ctx);
void td_ctx_clear_error(td_ctx *ctx);
/* Records an error (only the first is kept) and returns `status`. */
td_status td_fail(td_ctx *ctx, td_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Checked size arithmetic: false on overflow. */
bool td_mul_size(size_t a, size_t b, size_t *out);
bool td_add_size(size_t a, size_t b, size_t *out);
/* The number of elements of a shape, checked; `what` names it in the error. */
td_status td_shape_elements(td_ctx *ctx, int rank, const int64_t *shape, size_t *elements, const char *what);

/* ---- random numbers: Philox 4x32-10 (Salmon et al., SC'11), the
 * generator of cuRAND and of PyTorch on CUDA, so CPU and GPU can draw the
 * same numbers from one seed ---- */
void td_philox4x32_10(const uint32_t counter[4], const uint32_t key[2], uint32_t out[4]);

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

#ifdef __cplusplus
}
#endif

#endif
