/* frontend.c - loading a program's files and running the front end's phases
 * in order: parse each file, follow its imports, check everything. */
#include "frontend.h"

#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "parse.h"

enum { MAX_MODULES = 4096 };

typedef struct Loader {
    Arena *arena;
    const FrontendOptions *opt;
    PtrVec modules;   /* Module * */
    PtrVec real_paths; /* const char *, parallel to modules: identity of each file */
} Loader;

static bool is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static const char *directory_of(Arena *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    return arena_strndup(a, path, (size_t)(slash - path));
}

static void load(Loader *ld, const SourceFile *file);

static void add_module(Loader *ld, const SourceFile *file, const char *real)
{
    ptrvec_push(ld->arena, &ld->real_paths, (void *)real);
    Module *m = parse_file(ld->arena, file);
    ptrvec_push(ld->arena, &ld->modules, m);
    for (int i = 0; i < m->ndecls; i++) {
        Decl *d = m->decls[i];
        if (d->kind != DECL_IMPORT)
            continue;
        const char *want = d->name.text;
        if (!*want || d->broken || strchr(want, '\n')) {
            diag_error(d->name.loc, "import path is empty or malformed");
            continue;
        }
        const char *found = NULL;
        PtrVec tried = {0};
        if (want[0] == '/') {
            ptrvec_push(ld->arena, &tried, (void *)want);
            if (is_regular_file(want))
                found = want;
        } else {
            const char *dirs[3 + 64];
            int nd = 0;
            dirs[nd++] = directory_of(ld->arena, file->path);
            for (int k = 0; k < ld->opt->ninclude_dirs && nd < 64; k++)
                dirs[nd++] = ld->opt->include_dirs[k];
            if (ld->opt->stdlib_dir)
                dirs[nd++] = ld->opt->stdlib_dir;
            for (int k = 0; k < nd && !found; k++) {
                const char *candidate = arena_printf(ld->arena, "%s/%s", dirs[k], want);
                ptrvec_push(ld->arena, &tried, (void *)dirs[k]);
                if (is_regular_file(candidate))
                    found = candidate;
            }
        }
        if (!found) {
            if (diag_error(d->name.loc, "cannot find import \"%s\"", want)) {
                const char *list = "";
                for (size_t k = 0; k < tried.len; k++)
                    list = arena_printf(ld->arena, "%s%s%s", list, k ? ", " : "", (const char *)tried.items[k]);
                diag_note(d->name.loc, "searched %s", list);
            }
            continue;
        }
        char resolved[PATH_MAX];
        if (!realpath(found, resolved)) {
            diag_error(d->name.loc, "cannot open import \"%s\": %s", found, strerror(errno));
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < ld->real_paths.len && !seen; k++)
            seen = strcmp(ld->real_paths.items[k], resolved) == 0;
        if (seen)
            continue;
        if (ld->modules.len >= MAX_MODULES) {
            diag_error(d->name.loc, "more than %d files imported", MAX_MODULES);
            continue;
        }
        SourceFile *imported = source_read(ld->arena, found);
        if (!imported) {
            diag_error(d->name.loc, "cannot read import \"%s\": %s", found, strerror(errno));
            continue;
        }
        add_module(ld, imported, arena_strdup(ld->arena, resolved));
    }
}

static void load(Loader *ld, const SourceFile *file)
{
    char real[PATH_MAX];
    const char *id = realpath(file->path, real) ? arena_strdup(ld->arena, real) : file->path;
    add_module(ld, file, id);
}

typedef struct Job {
    Arena *arena;
    const SourceFile *file;
    const FrontendOptions *opt;
    int errors;
} Job;

static void *run_job(void *arg)
{
    Job *job = arg;
    Loader ld = {.arena = job->arena, .opt = job->opt};
    load(&ld, job->file);
    CheckOptions co = {.print_types = job->opt->print_types, .print_runtime_checks = job->opt->print_runtime_checks,
                       .stdlib_dir = job->opt->stdlib_dir, .out = job->opt->out ? job->opt->out : stdout,
                       .backend = job->opt->backend, .backend_ctx = job->opt->backend_ctx};
    job->errors = check_program(job->arena, (Module **)ld.modules.items, (int)ld.modules.len, &co);
    return NULL;
}

/* The checker recurses on expressions (to a depth of 2000, the limit in
 * check_expr.c), so it runs on a thread with a stack of its own, large
 * enough under the sanitizers too; the memory is only reserved. */
static int run(Arena *a, const SourceFile *file, const FrontendOptions *opt)
{
    enum { STACK_BYTES = 512u << 20 };
    Job job = {a, file, opt, 0};
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) == 0 && pthread_attr_setstacksize(&attr, STACK_BYTES) == 0 &&
        pthread_create(&thread, &attr, run_job, &job) == 0) {
        pthread_join(thread, NULL);
        pthread_attr_destroy(&attr);
        return job.errors;
    }
    fprintf(stderr, "tdc: error: cannot start the checker's thread\n");
    return 1;
}

int frontend_check_file(const char *path, const FrontendOptions *opt)
{
    diag_reset(opt->format, opt->max_errors, opt->err ? opt->err : stderr);
    Arena a = {0};
    int errors;
    struct stat st;
    SourceFile *f = NULL;
    const char *why = NULL;
    if (stat(path, &st) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    else if (!(f = source_read(&a, path)))
        why = strerror(errno);
    if (!f) {
        diag_error((Loc){0}, "cannot read '%s': %s", path, why);
        diag_finish();
        errors = 1;
    } else {
        errors = run(&a, f, opt);
    }
    arena_free(&a);
    return errors;
}

int frontend_check_source(const char *name, const char *text, size_t len, const FrontendOptions *opt)
{
    diag_reset(opt->format, opt->max_errors, opt->err ? opt->err : stderr);
    Arena a = {0};
    SourceFile *f = source_from_memory(&a, name, text, len);
    int errors;
    if (!f) {
        diag_error((Loc){0}, "'%s' is too large", name);
        diag_finish();
        errors = 1;
    } else {
        errors = run(&a, f, opt);
    }
    arena_free(&a);
    return errors;
}
