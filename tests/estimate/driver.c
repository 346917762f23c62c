/* driver.c - runs estimate_main() as `tdc estimate` will, for the tests.
 *
 *   driver ARGS...                       estimate_main(ARGS, NULL): train, fit, devices
 *   driver --program SPEC ARGS...        estimate_main(ARGS, &program)
 *
 * SPEC stands in for what the compiler counts in a program, so that the
 * third form is tested without one: comma-separated key=value with keys
 * name, flops, tokens, bytes, params and (optionally) dtype, e.g.
 * name=gpt.td,flops=1.2e12,tokens=8192,bytes=2.5e9,params=1.24e8.
 * tests/estimate/run.py compiles this with compiler/estimate.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"

static int bad_spec(const char *why, const char *spec)
{
    fprintf(stderr, "driver: bad --program spec (%s): %s\n", why, spec);
    return 3;
}

/* Fills p from SPEC; the strings point into spec, which it cuts. */
static int parse_spec(char *spec, EstimateProgram *p)
{
    char copy[512];
    snprintf(copy, sizeof copy, "%s", spec);
    for (char *item = strtok(spec, ","); item; item = strtok(NULL, ",")) {
        char *eq = strchr(item, '=');
        if (!eq)
            return bad_spec("an item without '='", copy);
        *eq = 0;
        const char *key = item, *value = eq + 1;
        double *number = strcmp(key, "flops") == 0    ? &p->step_flops
                         : strcmp(key, "tokens") == 0 ? &p->tokens_per_step
                         : strcmp(key, "bytes") == 0  ? &p->step_bytes
                         : strcmp(key, "params") == 0 ? &p->param_count
                                                      : NULL;
        if (strcmp(key, "name") == 0)
            p->name = value;
        else if (strcmp(key, "dtype") == 0)
            p->dtype = value;
        else if (number)
            *number = strtod(value, NULL);
        else
            return bad_spec("an unknown key", copy);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--program") == 0) {
        EstimateProgram program = {0};
        int status = parse_spec(argv[2], &program);
        return status ? status : estimate_main(argc - 3, argv + 3, &program);
    }
    return estimate_main(argc - 1, argv + 1, NULL);
}
