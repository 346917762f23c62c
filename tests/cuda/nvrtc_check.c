/* nvrtc_check.c - compiles CUDA sources through the runtime's NVRTC path.
 *
 *   nvrtc_check FILE.cu...
 * Each file is compiled for compute_90 (PTX) and sm_80 (a cubin) with
 * td_nvrtc_compile_flags, strict (a warning fails) and without the disk
 * cache; the PTX's kernels must each wait for the kernel before them
 * before they touch memory (ptx_waits.h: the runtime launches them as
 * dependent launches). One line PASS/FAIL per file and architecture (a
 * failure prints NVRTC's log or the kernel that does not wait), then
 * "N passed, N failed". Exit 77 with "skipped: why"
 * when NVRTC cannot be loaded at all (a machine without the toolkit). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptx_waits.h"
#include "td.h"

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    fclose(f);
    return s;
}

int main(int argc, char **argv)
{
    static const char *const archs[] = {"compute_90", "sm_80"};
    int passed = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        char *src = read_file(argv[i]);
        if (!src) {
            printf("FAIL %s: cannot read it\n", argv[i]);
            failed++;
            continue;
        }
        for (int a = 0; a < 2; a++) {
            td_ctx *ctx = td_ctx_new(TD_DEVICE_CPU);
            td_blob blob = {0};
            td_status st = td_nvrtc_compile_flags(ctx, argv[i], src, archs[a], TD_NVRTC_STRICT | TD_NVRTC_NO_CACHE, &blob);
            const char *why = td_ctx_error(ctx);
            if (st != TD_OK && why && strstr(why, "cannot load") && passed + failed == 0) {
                printf("skipped: %s\n", why);
                td_ctx_free(ctx);
                free(src);
                return 77;
            }
            char no_wait[256] = "";
            if (st == TD_OK && blob.size > 0 && a == 0 && !ptx_entries_wait(blob.data, no_wait, sizeof no_wait)) {
                printf("FAIL %s %s: %s\n", argv[i], archs[a], no_wait);
                failed++;
            } else if (st == TD_OK && blob.size > 0) {
                printf("PASS %s %s (%zu bytes)\n", argv[i], archs[a], blob.size);
                passed++;
            } else {
                printf("FAIL %s %s: %.4000s\n", argv[i], archs[a], why ? why : "no output");
                failed++;
            }
            td_blob_free(&blob);
            td_ctx_free(ctx);
        }
        free(src);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
