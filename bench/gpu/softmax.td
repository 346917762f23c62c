# bench/gpu/softmax.td - softmax over the last axis written out, for
# bench/gpu/run.sh: exp(x - max) / sum(exp(x - max)), the max and the sum
# kept as a unit axis and broadcast back. rows and n are run-time dims
# (16384 x 8192 on the GPU, a few rows in the dry run).
dim rows
dim n

fn softmax(x: f32["rows n"]) -> f32["rows n"] {
  shifted = exp(x - reduce(x, "r n -> r 1", "max"))
  return shifted / reduce(shifted, "r n -> r 1", "sum")
}
