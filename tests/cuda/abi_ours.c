/* abi_ours.c - the runtime's own copies of CUDA's constants and layouts
 * (runtime/cuda/cuda_internal.h), listed for abi_check.c to compare with
 * the toolkit's headers. A unit of its own: cuda_internal.h declares the
 * same names as cuda.h and cublasLt.h, differently typed. */
#include <stddef.h>

#include "cuda/cuda_internal.h"

#include "abi_list.h"

const long td_abi_ours[TD_ABI_COUNT] = {
    TD_CUDA_ERROR_NO_DEVICE,
    TD_CU_ATTR_CC_MAJOR,
    TD_CU_ATTR_CC_MINOR,
    TD_CU_ATTR_SM_COUNT,
    TD_CU_STREAM_NON_BLOCKING,
    TD_CU_EVENT_DEFAULT,
    TD_CU_CAPTURE_MODE_RELAXED,
    TD_CU_LAUNCH_PROGRAMMATIC,
    TD_LT_DESC_TRANSA,
    TD_LT_DESC_TRANSB,
    TD_LT_LAYOUT_BATCH_COUNT,
    TD_LT_LAYOUT_BATCH_STRIDE,
    TD_LT_PREF_MAX_WORKSPACE,
    TD_LT_PREF_MIN_ALIGNMENT_A,
    TD_LT_PREF_MIN_ALIGNMENT_A + 1,
    TD_LT_PREF_MIN_ALIGNMENT_A + 2,
    TD_LT_PREF_MIN_ALIGNMENT_A + 3,
    TD_LT_DESC_EPILOGUE,
    TD_LT_DESC_BIAS_POINTER,
    TD_LT_EPILOGUE_RELU,
    TD_LT_EPILOGUE_BIAS,
    TD_LT_EPILOGUE_RELU | TD_LT_EPILOGUE_BIAS,
    TD_LT_PREF_REDUCTION_MASK,
    TD_LT_REDUCTION_COMPUTE_TYPE,
    sizeof(td_lt_algo),
    sizeof(td_lt_heuristic),
    offsetof(td_lt_heuristic, workspace_bytes),
    offsetof(td_lt_heuristic, state),
    offsetof(td_lt_heuristic, waves),
};
