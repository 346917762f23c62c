/* file_io.c - reading at an offset, and a file written whole or not at all
 * (see file_io.h). */
#if !defined(_DEFAULT_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* open, pread, fsync, O_CLOEXEC under -std=c11 */
#endif

#include "file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool td_pread_full(int fd, void *buf, size_t n, uint64_t offset, size_t *got)
{
    size_t done = 0;
    while (done < n) {
        size_t chunk = n - done < ((size_t)1 << 30) ? n - done : (size_t)1 << 30;
        ssize_t k = pread(fd, (uint8_t *)buf + done, chunk, (off_t)(offset + done));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return false;
        if (k == 0)
            break;
        done += (size_t)k;
    }
    *got = done;
    return true;
}

void td_file_append(td_file_writer *w, const void *data, size_t bytes)
{
    size_t done = 0;
    while (!w->failed && done < bytes) {
        size_t chunk = bytes - done < ((size_t)1 << 30) ? bytes - done : (size_t)1 << 30;
        ssize_t k = write(w->fd, (const uint8_t *)data + done, chunk);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            w->failed = k < 0 && errno ? errno : EIO;
        else
            done += (size_t)k;
    }
}

/* PATH.tmp.PID, or PATH.tmp.PID.K when a file of that name is there (left
 * by a crash, or being written by another thread of this process). */
static int create_temp(const char *path, char *tmp, size_t cap)
{
    int fd = -1;
    for (int attempt = 0; attempt < 100; attempt++) {
        if (attempt == 0)
            snprintf(tmp, cap, "%s.tmp.%ld", path, (long)getpid());
        else
            snprintf(tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), attempt);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST)
            break;
    }
    return fd;
}

/* Makes the rename durable. A crash before this leaves the old file or the
 * new one, both whole, so a failure here (some file systems refuse fsync
 * on a directory) does not fail a write that has happened. */
static void sync_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
    if (slash && !dir)
        return;
    if (dir) {
        size_t len = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, len);
        dir[len] = 0;
    }
    int fd = open(dir ? dir : ".", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

td_status td_file_begin(td_ctx *ctx, const char *path, td_file_writer *w)
{
    *w = (td_file_writer){.fd = -1};
    size_t cap;
    if (!td_add_size(strlen(path), 48, &cap))
        return td_fail(ctx, TD_ERR_INPUT, "%s: cannot write: the path is too long", path);
    char *tmp = malloc(cap);
    if (!tmp)
        return td_fail(ctx, TD_ERR_OOM, "%s: cannot allocate the temporary file's name", path);
    int fd = create_temp(path, tmp, cap);
    if (fd < 0) {
        td_status st = td_fail(ctx, TD_ERR_IO, "%s: cannot create the temporary file %s: %s", path, tmp,
                               strerror(errno));
        free(tmp);
        return st;
    }
    w->fd = fd;
    w->tmp = tmp;
    return TD_OK;
}

td_status td_file_commit(td_ctx *ctx, const char *path, td_file_writer *w)
{
    const char *step = "write";
    int saved = w->failed;
    if (!saved && fsync(w->fd) != 0)
        step = "fsync", saved = errno ? errno : EIO;
    if (close(w->fd) != 0 && !saved) /* NFS may report a failed write only here */
        step = "close", saved = errno ? errno : EIO;
    if (!saved && rename(w->tmp, path) != 0)
        step = "rename", saved = errno ? errno : EIO;
    td_status st = TD_OK;
    if (saved) {
        unlink(w->tmp);
        st = td_fail(ctx, TD_ERR_IO, "%s: cannot write (%s of the temporary file %s failed): %s", path, step, w->tmp,
                     strerror(saved));
    } else {
        sync_directory(path);
    }
    free(w->tmp);
    *w = (td_file_writer){.fd = -1};
    return st;
}
