/* ctx_internal.h - the inside of td_ctx, for the runtime's own files.
 *
 * Applications see td_ctx as an opaque type (td.h). ctx.c owns the error
 * message and the note; runtime/cuda/loader.c hangs the CUDA state here
 * on first use and leaves its destructor beside it, so ctx.c (and the
 * probes that link it alone) never depend on the CUDA files. */
#ifndef TD_CTX_INTERNAL_H
#define TD_CTX_INTERNAL_H

#include "td.h"

/* Messages up to this size live inside the context; a longer one (an NVRTC
 * log with the kernel's source) gets a heap buffer of its own, and if that
 * cannot be had it is cut to fit here. */
enum { TD_ERROR_BYTES = 1024 };

struct td_cuda;

struct td_ctx {
    td_device device; /* as asked; TD_DEVICE_AUTO until td_ctx_device resolves it */
    bool device_auto; /* CUDA was chosen by TD_DEVICE_AUTO (a model with no GPU code then runs on the CPU) */
    bool failed;
    td_status error_status; /* of the first error */
    char *error;      /* error_small, or a heap buffer for a long message */
    char error_small[TD_ERROR_BYTES];
    char *note;       /* heap, or NULL */
    struct td_cuda *cuda;                       /* NULL until the GPU or NVRTC is first asked for */
    void (*cuda_release)(struct td_cuda *cuda); /* set with `cuda` */
};

/* Replaces the note (a copy is kept; NULL clears it). */
void td_ctx_set_note(td_ctx *ctx, const char *note);

#endif
