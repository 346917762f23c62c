/* td_devices.c - runtime/td_devices.h as the runtime will use it: from strict
 * C11 (-std=c11 -pedantic, no POSIX), warning-free under -Werror, with the
 * lookups checked and the table printed for tests/estimate/td_devices.out.
 * tests/estimate/run.py compiles and runs it; a failed check prints a
 * FAIL line and exits 1. */
#include <stdio.h>
#include <string.h>

#include "td_devices.h"

static int failures;

static void check(int ok, const char *what)
{
    if (!ok) {
        printf("FAIL %s\n", what);
        failures++;
    }
}

int main(void)
{
    check(td_device_spec_find("h100") == td_device_spec_at(TD_SPEC_H100_SXM), "h100 is h100-sxm");
    check(td_device_spec_find("H100-SXM") == td_device_spec_at(TD_SPEC_H100_SXM), "names ignore case");
    check(td_device_spec_find("h100-PCIe") == td_device_spec_at(TD_SPEC_H100_PCIE), "h100-pcie");
    check(td_device_spec_find("a100") == td_device_spec_at(TD_SPEC_A100_SXM), "a100 is a100-sxm");
    check(td_device_spec_find("4090") == td_device_spec_at(TD_SPEC_RTX_4090), "4090");
    check(td_device_spec_find("h10") == NULL, "a prefix is no name");
    check(td_device_spec_find("h100x") == NULL, "a longer word is no name");
    check(td_device_spec_find("") == NULL, "the empty name");
    check(td_device_spec_find("cpu") == NULL, "no cpu row");
    check(td_device_spec_at(-1) == NULL && td_device_spec_at(TD_SPEC_COUNT) == NULL, "rows out of range");
    check(td_peak_name(TD_PEAK_BF16) && strcmp(td_peak_name(TD_PEAK_BF16), "bf16") == 0, "peak names");
    check(td_peak_name(TD_PEAK_COUNT) == NULL, "no peak name past the last");
    for (int i = 0; i < TD_SPEC_COUNT; i++) {
        const td_device_spec *d = td_device_spec_at(i);
        check(d->id == (td_device_spec_id)i, "rows in id order");
        /* the dense tensor-core peaks sit above the CUDA-core ones */
        check(d->peak[TD_PEAK_BF16] >= d->peak[TD_PEAK_TF32] && d->peak[TD_PEAK_TF32] >= d->peak[TD_PEAK_FP32],
              "bf16 >= tf32 >= fp32");
        check(d->bandwidth > 0 && d->memory > 0, "bandwidth and memory");
        printf("%.*s:", td_device_spec_name_len(d), d->names);
        for (int p = 0; p < TD_PEAK_COUNT; p++)
            printf(" %s=%.6g", td_peak_name((td_peak)p), d->peak[p]);
        printf(" bandwidth=%.6g memory=%.6g names=\"%s\"\n", d->bandwidth, d->memory, d->names);
    }
    return failures ? 1 : 0;
}
