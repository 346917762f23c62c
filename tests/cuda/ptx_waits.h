/* ptx_waits.h - a check on PTX for compute_90 and later, shared by the
 * tests that compile CUDA sources (tests/cuda/nvrtc_check.c and the
 * runtime's tests of its own kernels).
 *
 * The runtime launches the kernels of tdc's sources and its own as
 * programmatic dependent launches (runtime/cuda/device.c): each may start
 * while the kernel before it finishes, and is correct only because its
 * first statement, TD_GRID_WAIT(), waits for that kernel's writes. This
 * reads each .entry of the PTX and asks that griddepcontrol.wait comes
 * before any instruction that touches global or generic memory or calls a
 * function (parameters, shared, local and constant memory are the
 * kernel's own). */
#ifndef TD_TEST_PTX_WAITS_H
#define TD_TEST_PTX_WAITS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The length of the instruction's opcode at p (after any predicate),
 * *op set to its start. */
static size_t ptx_opcode(const char *p, const char **op)
{
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '@') { /* a guard: @%p1 or @!%p1 */
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    *op = p;
    size_t n = 0;
    while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != '\n' && p[n] != ';')
        n++;
    return n;
}

/* Whether the opcode of n bytes at op reads or writes memory another
 * kernel can see, or calls a function. */
static bool ptx_touches_memory(const char *op, size_t n)
{
    static const char *const heads[] = {"ld.", "ldu.", "st.", "atom.", "red.", "prefetch.", "cp.", "call"};
    static const char *const own[] = {".param", ".shared", ".local", ".const"};
    bool memory = false;
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        memory |= n >= strlen(heads[i]) && strncmp(op, heads[i], strlen(heads[i])) == 0;
    if (!memory || strncmp(op, "call", 4) == 0)
        return memory;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        size_t k = strlen(own[i]);
        for (size_t at = 0; at + k <= n; at++)
            if (strncmp(op + at, own[i], k) == 0 && (at + k == n || op[at + k] == '.'))
                return false;
    }
    return true;
}

/* true when every .entry of ptx waits (griddepcontrol.wait) before it
 * touches memory; otherwise false, with the first entry that does not and
 * the instruction in why. */
static bool ptx_entries_wait(const char *ptx, char *why, size_t size)
{
    for (const char *e = strstr(ptx, ".entry "); e; e = strstr(e + 1, ".entry ")) {
        const char *name = e + strlen(".entry ");
        size_t name_len = strcspn(name, "( \n");
        const char *body = strstr(name, "\n{");
        const char *end = body ? strstr(body, "\n}") : NULL;
        if (!body || !end) {
            snprintf(why, size, "%.*s: no body", (int)name_len, name);
            return false;
        }
        bool waited = false;
        for (const char *line = body + 2; line < end && !waited; line = strchr(line, '\n') + 1) {
            const char *op;
            size_t n = ptx_opcode(line, &op);
            if (n >= strlen("griddepcontrol.wait") && strncmp(op, "griddepcontrol.wait", n) == 0) {
                waited = true;
            } else if (ptx_touches_memory(op, n)) {
                snprintf(why, size, "%.*s: `%.*s` before griddepcontrol.wait", (int)name_len, name, (int)n, op);
                return false;
            }
            if (!strchr(line, '\n'))
                break;
        }
        if (!waited) {
            snprintf(why, size, "%.*s: no griddepcontrol.wait", (int)name_len, name);
            return false;
        }
    }
    return true; /* a source of no kernels too */
}

#endif
