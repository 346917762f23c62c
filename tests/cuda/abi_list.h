/* abi_list.h - what abi_ours.c and abi_check.c list, in this order: the
 * name abi_check.c prints for each. */
#ifndef TD_ABI_LIST_H
#define TD_ABI_LIST_H

#define TD_ABI_NAMES                                                                                              \
    "CUDA_ERROR_NO_DEVICE", "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR",                                       \
        "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR", "CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT",              \
        "CU_STREAM_NON_BLOCKING", "CU_EVENT_DEFAULT", "CU_STREAM_CAPTURE_MODE_RELAXED",                           \
        "CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION", "CUBLASLT_MATMUL_DESC_TRANSA",                   \
        "CUBLASLT_MATMUL_DESC_TRANSB", "CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT",                                       \
        "CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET", "CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES",                \
        "CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES", "CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES",               \
        "CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES", "CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES",               \
        "CUBLASLT_MATMUL_DESC_EPILOGUE", "CUBLASLT_MATMUL_DESC_BIAS_POINTER", "CUBLASLT_EPILOGUE_RELU",             \
        "CUBLASLT_EPILOGUE_BIAS", "CUBLASLT_EPILOGUE_RELU_BIAS", "CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK",      \
        "CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE",                                                                    \
        "sizeof(cublasLtMatmulAlgo_t)", "sizeof(cublasLtMatmulHeuristicResult_t)",                                \
        "offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize)",                                               \
        "offsetof(cublasLtMatmulHeuristicResult_t, state)", "offsetof(cublasLtMatmulHeuristicResult_t, wavesCount)"

enum { TD_ABI_COUNT = 29 };

extern const long td_abi_ours[TD_ABI_COUNT];

#endif
