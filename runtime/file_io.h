/* file_io.h - the file I/O that the runtime's readers and writers of
 * .npy and safetensors files (npy.c, safetensors.c) share.
 *
 * A file is written whole or not at all: the bytes go to PATH.tmp.PID (PATH.tmp.PID.K when that name is taken),
 * created exclusively in PATH's directory with the mode open() gives a new
 * file, then fsync, close, rename over PATH and fsync of the directory. A
 * failure removes the temporary file and leaves an old PATH untouched. */
#ifndef TD_FILE_IO_H
#define TD_FILE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "td.h"

/* One file being written: td_file_begin creates the temporary file,
 * td_file_append adds bytes (a failure is kept for td_file_commit to
 * report), td_file_commit makes it PATH or removes it. Every begin that
 * succeeds is followed by one commit. */
typedef struct {
    int fd;
    char *tmp;  /* the temporary file's name (heap) */
    int failed; /* 0, or the errno of the first append that failed (EIO when write said none) */
} td_file_writer;

td_status td_file_begin(td_ctx *ctx, const char *path, td_file_writer *w);
void td_file_append(td_file_writer *w, const void *data, size_t bytes);
td_status td_file_commit(td_ctx *ctx, const char *path, td_file_writer *w);

/* Reads up to n bytes of fd at offset, retrying short reads and EINTR;
 * *got says how many came before the end of the file. False (with errno)
 * when a read fails. */
bool td_pread_full(int fd, void *buf, size_t n, uint64_t offset, size_t *got);

#endif
