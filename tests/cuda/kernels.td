# Functions that are one kernel each (a fused map or a reduction over f32
# inputs), run on the GPU by tests/cuda/kernel_check.c against the C backend.
dim batch
dim n = 64

fn arith(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return (x * y + 2) / (abs(y) + 1) - x ** 2
}

fn transcendental(x: f32["batch n"]) -> f32["batch n"] {
  return exp(-x * x) + tanh(x) * sigmoid(x) + gelu(x) - silu(x) + sin(x) * cos(x)
}

fn masked(x: f32["batch n"], y: f32["batch n"]) -> f32["batch n"] {
  return where(x > y, max(x, y), min(x, 0.5))
}

fn broadcast(x: f32["batch n"], b: f32["n"]) -> f32["batch n"] {
  return relu(x + b) * 3
}

fn transposed(x: f32["batch n"]) -> f32["n batch"] {
  return sqrt(abs(rearrange(x, "b n -> n b")) + 1)
}

fn row_sums(x: f32["batch n"]) -> f32["batch"] {
  return reduce(x * x, "b n -> b", "sum")
}

fn col_means(x: f32["batch n"]) -> f32["n"] {
  return reduce(x, "b n -> n", "mean")
}

fn row_max(x: f32["batch n"]) -> f32["batch"] {
  return reduce(exp(x), "b n -> b", "max")
}

fn all_min(x: f32["batch n"]) -> f32 {
  return reduce(x, "b n ->", "min")
}

fn row_prod(x: f32["batch n"]) -> f32["batch"] {
  return reduce(1 + x / 64, "b n -> b", "prod")
}

# a layer of a stacked input, read from its offset (vector loads there too)
fn slice(x: f32["3 batch n"]) -> f32["batch n"] {
  return x[1] * 2 + 1
}

# an outer product: a map of two broadcasts, the result stored as vectors
fn outer(a: f32["batch"], b: f32["n"]) -> f32["batch n"] {
  return einsum(a, b, "i, j -> i j")
}

# The same code as masked's kernel, on its own buffers: tdc emits it once
# (emit_cuda_dedupe.c), and this one runs as masked's.
fn masked_again(a: f32["batch n"], b: f32["batch n"]) -> f32["batch n"] {
  return where(a > b, max(a, b), min(a, 0.5))
}
