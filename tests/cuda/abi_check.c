/* abi_check.c - the runtime declares the CUDA driver's and cuBLASLt's
 * constants and structures itself (runtime/cuda/cuda_internal.h), so that
 * it builds without the toolkit; this compares each with the toolkit's
 * cuda.h and cublasLt.h, where they are found (tests/cuda/run.py). One
 * line "PASS <name>" or "FAIL <name>: ours <n>, the header's <m>" each;
 * exit 1 when any differs. */
#include <cublasLt.h>
#include <cuda.h>
#include <stddef.h>
#include <stdio.h>

#include "abi_list.h"

static const long theirs[] = {
    CUDA_ERROR_NO_DEVICE,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
    CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
    CU_STREAM_NON_BLOCKING,
    CU_EVENT_DEFAULT,
    CU_STREAM_CAPTURE_MODE_RELAXED,
    CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
    CUBLASLT_MATMUL_DESC_TRANSA,
    CUBLASLT_MATMUL_DESC_TRANSB,
    CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
    CUBLASLT_MATMUL_DESC_EPILOGUE,
    CUBLASLT_MATMUL_DESC_BIAS_POINTER,
    CUBLASLT_EPILOGUE_RELU,
    CUBLASLT_EPILOGUE_BIAS,
    CUBLASLT_EPILOGUE_RELU_BIAS,
    CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK,
    CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE,
    sizeof(cublasLtMatmulAlgo_t),
    sizeof(cublasLtMatmulHeuristicResult_t),
    offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize),
    offsetof(cublasLtMatmulHeuristicResult_t, state),
    offsetof(cublasLtMatmulHeuristicResult_t, wavesCount),
};
_Static_assert(sizeof theirs / sizeof theirs[0] == TD_ABI_COUNT, "abi_list.h's count");

int main(void)
{
    static const char *const names[TD_ABI_COUNT] = {TD_ABI_NAMES};
    int failed = 0;
    for (int i = 0; i < TD_ABI_COUNT; i++) {
        if (td_abi_ours[i] == theirs[i]) {
            printf("PASS abi: %s\n", names[i]);
        } else {
            printf("FAIL abi: %s: ours %ld, the header's %ld\n", names[i], td_abi_ours[i], theirs[i]);
            failed = 1;
        }
    }
    return failed;
}
