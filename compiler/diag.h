/* diag.h - the one way the compiler reports a problem with the user's input.
 *
 * diag_error() prints `file:line:col: error: message`, the source line and a
 * caret under the range; diag_note() adds context to the error before it.
 * With DIAG_JSON every diagnostic is one JSON object on its own line instead.
 * Exact duplicates (same place, same message) are printed once, which matters
 * for unrolled loops and functions checked at every call. After max_errors
 * errors the rest are counted but not printed. */
#ifndef TDC_DIAG_H
#define TDC_DIAG_H

#include <stdbool.h>
#include <stdio.h>

#include "source.h"

typedef enum { DIAG_TEXT, DIAG_JSON } DiagFormat;

void diag_reset(DiagFormat format, int max_errors, FILE *out);

/* Each returns true when the diagnostic was printed; notes after a
 * suppressed error are suppressed with it. */
bool diag_error(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool diag_warning(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void diag_note(Loc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A context such as "in the call of 'softmax' here": while pushed, every
 * printed error is followed (after its own notes) by a note for each
 * context, innermost first. */
void diag_push_context(Loc loc, const char *message);
void diag_pop_context(void);

int diag_error_count(void);
/* Whether the next error would be held back by the error limit (so the
 * work of a better message can be skipped). */
bool diag_limit_reached(void);
/* Prints the "too many errors" summary, if any were held back. */
void diag_finish(void);

#endif
