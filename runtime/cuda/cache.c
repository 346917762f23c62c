/* cache.c - the disk cache of compiled kernels: one file per key in a
 * directory ($TDC_CACHE, else $XDG_CACHE_HOME/tdc, else ~/.cache/tdc).
 *
 * A file "<16 hex digits of the key>.<ptx|cubin>" holds a 32-byte header
 * and the payload:
 *   0  8 bytes  "tdcjit01" (the format's magic and version)
 *   8  u64      the key (little-endian, as every field)
 *  16  u64      the payload's size in bytes
 *  24  u64      FNV-1a/64 of the payload
 *  32  payload  PTX or cubin, exactly as NVRTC gave it
 * An entry is used only when all four agree with the file; anything else
 * (short, corrupt, another key, another format) is a miss, and the compile
 * that follows writes a good entry over it. Writes go to a temporary file
 * in the same directory, renamed over the entry, so a reader sees the old
 * file or the new one, never half of one. The key (nvrtc.c) is FNV-1a/64
 * too: a 64-bit hash, ample for a cache of kernels but no defence against
 * someone forging entries in a directory they can already write. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda_internal.h"

enum { CACHE_HEADER_BYTES = 32 };
static const char cache_magic[8] = {'t', 'd', 'c', 'j', 'i', 't', '0', '1'};

uint64_t td_fnv1a64(uint64_t hash, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        hash ^= p[i];
        hash *= 0x100000001b3ull; /* the FNV-1a/64 prime */
    }
    return hash;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* mkdir -p; true when the directory exists at the end. */
static bool make_dirs(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return false;
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return false;
        *p = '/';
    }
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return false;
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool td_kernel_cache_dir(char *dir, size_t size)
{
    const char *env = getenv("TDC_CACHE");
    int n;
    if (env && strcmp(env, "off") == 0)
        return false;
    if (env && env[0])
        n = snprintf(dir, size, "%s", env);
    else if ((env = getenv("XDG_CACHE_HOME")) && env[0] == '/') /* the XDG spec ignores relative paths */
        n = snprintf(dir, size, "%s/tdc", env);
    else if ((env = getenv("HOME")) && env[0])
        n = snprintf(dir, size, "%s/.cache/tdc", env);
    else
        return false;
    return n > 0 && (size_t)n < size;
}

void td_kernel_cache_path(char *path, size_t size, const char *dir, uint64_t key, const char *ext)
{
    snprintf(path, size, "%s/%016llx.%s", dir, (unsigned long long)key, ext);
}

bool td_kernel_cache_get(const char *dir, uint64_t key, const char *ext, td_blob *out)
{
    char path[1100];
    td_kernel_cache_path(path, sizeof path, dir, key, ext);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char header[CACHE_HEADER_BYTES];
    void *data = NULL;
    bool hit = false;
    if (fread(header, 1, sizeof header, f) == sizeof header && memcmp(header, cache_magic, 8) == 0 &&
        get_u64(header + 8) == key) {
        uint64_t size = get_u64(header + 16);
        struct stat st;
        if (fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size == size + CACHE_HEADER_BYTES && size > 0 &&
            size <= SIZE_MAX && (data = malloc((size_t)size)) &&
            fread(data, 1, (size_t)size, f) == size &&
            td_fnv1a64(TD_FNV1A64_INIT, data, (size_t)size) == get_u64(header + 24)) {
            out->data = data;
            out->size = (size_t)size;
            hit = true;
        }
    }
    fclose(f);
    if (!hit)
        free(data);
    return hit;
}

void td_kernel_cache_put(const char *dir, uint64_t key, const char *ext, const td_blob *blob)
{
    if (!make_dirs(dir))
        return;
    char path[1100], tmp[1200];
    td_kernel_cache_path(path, sizeof path, dir, key, ext);
    snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return;
    }
    unsigned char header[CACHE_HEADER_BYTES];
    memcpy(header, cache_magic, 8);
    put_u64(header + 8, key);
    put_u64(header + 16, blob->size);
    put_u64(header + 24, td_fnv1a64(TD_FNV1A64_INIT, blob->data, blob->size));
    bool ok = fwrite(header, 1, sizeof header, f) == sizeof header &&
              fwrite(blob->data, 1, blob->size, f) == blob->size;
    ok = (fclose(f) == 0) && ok;
    /* mkstemp makes the file 0600; an entry is as readable as its directory */
    if (!ok || chmod(tmp, 0644) != 0 || rename(tmp, path) != 0)
        unlink(tmp);
}
