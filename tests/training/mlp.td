# tests/training/mlp.td - a two-layer MLP with biases: each product's only
# reader adds its bias (and the first applies relu), so each is an
# epilogue (plan_epilogue): one cuBLASLt call on the GPU, the first layer's
# product (64 x 64 x 512 a batch) on cuBLAS, the head on the small route
# with the runtime's own pass. relu's backward reads its output, so the
# pre-activation is never kept. tests/training/run.py trains it on the CPU
# and the default device and resumes it from a checkpoint.
dim batch
dim features = 64
dim hidden = 512

param w1: f32["features hidden"] = kaiming_uniform()
param b1: f32["hidden"] = zeros()
param w2: f32["hidden 1"] = normal(std = 1 / sqrt(hidden))
param b2: f32["1"] = zeros()

fn forward(x: f32["batch features"]) -> f32["batch"] {
  return rearrange(relu(x @ w1 + b1) @ w2 + b2, "b 1 -> b")
}

train step(x: f32["batch features"], y: f32["batch"]) {
  loss = reduce((forward(x) - y) ** 2, "b ->", "mean")
  minimize loss with adamw(lr = 1e-3)
}
