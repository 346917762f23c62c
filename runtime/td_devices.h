/* td_devices.h - the peaks of the GPUs we account against, as one X-macro
 * table.
 *
 * `tdc estimate` divides FLOPs by these peaks (compiler/estimate.c), and a
 * running program reports its MFU against them; both include this header
 * and nothing else holds the numbers. Each row is
 *
 *   X(id, names, fp64, fp32, tf32, bf16, fp16, fp8, bandwidth, memory)
 *
 * names: space-separated, lower case, the first the canonical one, the rest
 *   aliases (a lookup ignores case);
 * fp64 ... fp8: the peak FLOP/s of one GPU's matrix products in that
 *   precision, DENSE (NVIDIA's datasheets print tensor-core peaks "with
 *   sparsity", twice the dense figure; we halve them). fp64 is the FP64
 *   tensor-core peak where there is one (a DGEMM runs on it), fp32 the
 *   CUDA-core peak (there is no FP32 tensor core: FP32 matmuls on tensor
 *   cores are the tf32 column), fp16 and bf16 with FP32 accumulation (how
 *   training runs), 0 where the GPU has no such unit;
 * bandwidth: the memory's peak bytes/s;
 * memory: the datasheet's capacity in bytes, its "GB" taken as 1e9. The
 *   parts carry more than that (an H100's 80 GB is 80 GiB of HBM3, 85.9e9
 *   bytes, of which about 85.5e9 are usable); the datasheet's smaller
 *   figure leaves room for the CUDA context and is what people compute with.
 *
 * Sources (NVIDIA's own documents; figures in TFLOP/s unless stated):
 *   [H100-DS] "NVIDIA H100 Tensor Core GPU" datasheet,
 *     https://resources.nvidia.com/en-us-tensor-core/nvidia-tensor-core-gpu-datasheet
 *     (also https://www.nvidia.com/en-us/data-center/h100/): H100 SXM FP64 34,
 *     FP64 Tensor 67, FP32 67, TF32 989*, BF16 1,979*, FP16 1,979*, FP8
 *     3,958*, 80 GB, 3.35 TB/s; H100 PCIe FP64 26, FP64 Tensor 51, FP32 51,
 *     TF32 756*, BF16 1,513*, FP16 1,513*, FP8 3,026*, 80 GB, 2 TB/s
 *     (* "with sparsity"; dense is one half).
 *   [H100-WP] "NVIDIA H100 Tensor Core GPU Architecture" whitepaper (Hopper),
 *     https://resources.nvidia.com/en-us-tensor-core/gtc22-whitepaper-hopper,
 *     the table of H100 SXM5 peaks, dense/sparse: TF32 494.7/989.4, FP16 and
 *     BF16 989.4/1978.9, FP8 1978.9/3957.8; FP64 33.5, FP64 Tensor 66.9.
 *     We keep the datasheet's rounding (989.5 = 1,979 / 2) except for TF32,
 *     where the datasheet's 989 / 2 = 494.5 is coarser than the
 *     whitepaper's 494.7.
 *   [H200-DS] "NVIDIA H200 Tensor Core GPU" datasheet and product page,
 *     https://www.nvidia.com/en-us/data-center/h200/: H200 SXM FP64 34, FP64
 *     Tensor 67, FP32 67, TF32 989*, BF16 1,979*, FP16 1,979*, FP8 3,958*,
 *     141 GB HBM3e, 4.8 TB/s: the H100 SXM's compute with more, faster
 *     memory. (The H200 NVL, a PCIe card, is slower: BF16 1,671*.)
 *   [A100-DS] "NVIDIA A100 Tensor Core GPU" datasheet,
 *     https://www.nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf:
 *     A100 80GB SXM FP64 9.7, FP64 Tensor 19.5, FP32 19.5, TF32 156 (312*),
 *     BF16 312 (624*), FP16 312 (624*), 80 GB HBM2e, 2,039 GB/s; no FP8.
 *   [ADA-WP] "NVIDIA Ada GPU Architecture" whitepaper v2.01, Appendix A,
 *     https://images.nvidia.com/aem-dam/Solutions/geforce/ada/nvidia-ada-gpu-architecture.pdf:
 *     GeForce RTX 4090 FP32 82.6; tensor peaks dense/sparse: FP16 and BF16
 *     with FP32 accumulate 165.2/330.4 (FP16 with FP16 accumulate is
 *     330.3, not what training uses), TF32 82.6/165.2, FP8 with FP32
 *     accumulate 330.3/660.6; 24 GB GDDR6X, 1,008 GB/s. FP64 runs at 1/64
 *     of the FP32 rate (2 FP64 units per SM against 128 FP32 lanes): 1.29.
 *
 * No CPU row: CPUs vary too much for one; `tdc estimate --peak` takes any.
 * Nothing here has external linkage (the lookups are static inline, the
 * table lives inside one of them), so any C file may include it. */
#ifndef TD_DEVICES_H
#define TD_DEVICES_H

#include <stddef.h>

#define TD_TFLOPS(x) ((x) * 1e12)
#define TD_GBS(x) ((x) * 1e9) /* GB/s, and GB of memory */

/*        id         names                         fp64            fp32            tf32             bf16             fp16             fp8               bandwidth      memory */
#define TD_DEVICE_TABLE(X)                                                                                                                                                   \
    X(H100_SXM,  "h100-sxm h100",              TD_TFLOPS(67),   TD_TFLOPS(67),   TD_TFLOPS(494.7), TD_TFLOPS(989.5), TD_TFLOPS(989.5), TD_TFLOPS(1979),  TD_GBS(3350), TD_GBS(80))  \
    X(H100_PCIE, "h100-pcie",                  TD_TFLOPS(51),   TD_TFLOPS(51),   TD_TFLOPS(378),   TD_TFLOPS(756.5), TD_TFLOPS(756.5), TD_TFLOPS(1513),  TD_GBS(2000), TD_GBS(80))  \
    X(H200_SXM,  "h200-sxm h200",              TD_TFLOPS(67),   TD_TFLOPS(67),   TD_TFLOPS(494.7), TD_TFLOPS(989.5), TD_TFLOPS(989.5), TD_TFLOPS(1979),  TD_GBS(4800), TD_GBS(141)) \
    X(A100_SXM,  "a100-sxm a100 a100-80gb",    TD_TFLOPS(19.5), TD_TFLOPS(19.5), TD_TFLOPS(156),   TD_TFLOPS(312),   TD_TFLOPS(312),   0,                TD_GBS(2039), TD_GBS(80))  \
    X(RTX_4090,  "rtx4090 rtx-4090 4090",      TD_TFLOPS(1.29), TD_TFLOPS(82.6), TD_TFLOPS(82.6),  TD_TFLOPS(165.2), TD_TFLOPS(165.2), TD_TFLOPS(330.3), TD_GBS(1008), TD_GBS(24))

typedef enum td_device_spec_id {
#define TD_X(id, names, fp64, fp32, tf32, bf16, fp16, fp8, bandwidth, memory) TD_SPEC_##id,
    TD_DEVICE_TABLE(TD_X)
#undef TD_X
    TD_SPEC_COUNT
} td_device_spec_id;

/* The columns of peaks, in the table's order. */
typedef enum td_peak {
    TD_PEAK_FP64, TD_PEAK_FP32, TD_PEAK_TF32, TD_PEAK_BF16, TD_PEAK_FP16, TD_PEAK_FP8,
    TD_PEAK_COUNT
} td_peak;

typedef struct td_device_spec {
    td_device_spec_id id;
    const char *names;           /* "h100-sxm h100": canonical name first */
    double peak[TD_PEAK_COUNT];  /* FLOP/s, dense; 0: no such unit */
    double bandwidth;            /* bytes/s */
    double memory;               /* bytes */
} td_device_spec;

/* The row at index i (0 .. TD_SPEC_COUNT - 1), or NULL. */
static inline const td_device_spec *td_device_spec_at(int i)
{
    static const td_device_spec table[TD_SPEC_COUNT] = {
#define TD_X(id, names, fp64, fp32, tf32, bf16, fp16, fp8, bandwidth, memory) \
    {TD_SPEC_##id, names, {fp64, fp32, tf32, bf16, fp16, fp8}, bandwidth, memory},
        TD_DEVICE_TABLE(TD_X)
#undef TD_X
    };
    return i >= 0 && i < TD_SPEC_COUNT ? &table[i] : NULL;
}

/* The length of the canonical name, the first of d->names: print it with
 * printf("%.*s", td_device_spec_name_len(d), d->names). */
static inline int td_device_spec_name_len(const td_device_spec *d)
{
    int n = 0;
    while (d->names[n] && d->names[n] != ' ')
        n++;
    return n;
}

/* The row one of whose names is `name`, ignoring ASCII case; NULL if none. */
static inline const td_device_spec *td_device_spec_find(const char *name)
{
    for (int i = 0; i < TD_SPEC_COUNT; i++) {
        const char *p = td_device_spec_at(i)->names;
        while (*p) {
            const char *q = name;
            while (*p && *p != ' ' && *q) {
                char a = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
                char b = *q >= 'A' && *q <= 'Z' ? (char)(*q - 'A' + 'a') : *q;
                if (a != b)
                    break;
                p++, q++;
            }
            if ((*p == 0 || *p == ' ') && *q == 0)
                return td_device_spec_at(i);
            while (*p && *p != ' ')
                p++;
            while (*p == ' ')
                p++;
        }
    }
    return NULL;
}

/* "fp64", "fp32", "tf32", "bf16", "fp16", "fp8"; NULL for a bad column. */
static inline const char *td_peak_name(td_peak p)
{
    static const char *const names[TD_PEAK_COUNT] = {"fp64", "fp32", "tf32", "bf16", "fp16", "fp8"};
    return (int)p >= 0 && p < TD_PEAK_COUNT ? names[p] : NULL;
}

#endif
