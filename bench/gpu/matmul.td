# bench/gpu/matmul.td - one matrix product, f32 and bf16, for bench/gpu/run.sh:
# C[b, d] = sum_k x[b, k] w[k, d], 2 B D K FLOPs. The sizes are run-time dims
# so one build serves the benchmark (B = 16384, D = 32768, K = 8192) and the
# dry run on the CPU. tf32 is the f32 function with td_cuda_allow_tf32.
# linear_*: a layer, relu(x @ w + bias): the product's epilogue (one
# cublasLtMatmul on the GPU), against PyTorch's relu(addmm(bias, x, w)).
dim b
dim d
dim k

fn matmul_f32(x: f32["b k"], w: f32["k d"]) -> f32["b d"] {
  return x @ w
}

fn matmul_bf16(x: bf16["b k"], w: bf16["k d"]) -> bf16["b d"] {
  return x @ w
}

fn linear_f32(x: f32["b k"], w: f32["k d"], bias: f32["d"]) -> f32["b d"] {
  return relu(x @ w + bias)
}

fn linear_bf16(x: bf16["b k"], w: bf16["k d"], bias: bf16["d"]) -> bf16["b d"] {
  return relu(x @ w + bias)
}
