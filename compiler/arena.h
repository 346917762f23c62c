/* arena.h - bump allocation for the compiler.
 *
 * Every phase allocates its nodes from an Arena and frees the whole arena at
 * once; nothing in the compiler frees individual objects. Allocation never
 * returns NULL: running out of memory is reported and the process exits,
 * which is the only sensible answer for a command-line compiler. */
#ifndef TDC_ARENA_H
#define TDC_ARENA_H

#include <stddef.h>
#include <stdint.h>

typedef struct ArenaBlock ArenaBlock;

typedef struct Arena {
    ArenaBlock *head;
    size_t total; /* bytes handed out, for statistics */
} Arena;

void *arena_alloc(Arena *a, size_t size);            /* zeroed, 16-byte aligned */
void *arena_array(Arena *a, size_t count, size_t elem_size); /* checked count*size */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_strdup(Arena *a, const char *s);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a);

/* A growable array of pointers whose storage lives in an arena. */
typedef struct PtrVec {
    void **items;
    size_t len, cap;
} PtrVec;

void ptrvec_push(Arena *a, PtrVec *v, void *item);

/* FNV-1a of a NUL-terminated string: the hash of every name table in the
 * compiler (symbols, bindings, pattern names, labels, size variables). */
uint32_t hash_string(const char *s);

/* die: an internal compiler bug, never bad input. */
_Noreturn void die_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define die(...) die_at(__FILE__, __LINE__, __VA_ARGS__)

#endif
