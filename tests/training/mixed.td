# tests/training/mixed.td - mixed precision as PyTorch's bf16 autocast runs
# it: f32 params and AdamW state, each layer's product in bf16 (the
# activation and the weight cast to bf16), the last product and the loss
# in f32. On the GPU the weights' casts read a bf16 copy of w that the
# runtime keeps (td_model_desc.cuda_read_dtypes): tests/training/run.py
# trains it there and on the CPU, and resumes it from a checkpoint.
dim batch
dim hidden = 32
const layers = 2

param w: f32["layers hidden hidden"] = normal(std = 1 / sqrt(hidden))
param final: f32["hidden 1"] = normal(std = 1 / sqrt(hidden))

fn forward(x: f32["batch hidden"]) -> f32["batch"] {
  h = x as bf16
  for l in 0..layers {
    h = einsum(h, w[l] as bf16, "b i, i o -> b o")
  }
  return rearrange((h as f32) @ final, "b 1 -> b")
}

train step(x: f32["batch hidden"], y: f32["batch"]) {
  loss = reduce((forward(x) - y) ** 2, "b ->", "mean")
  minimize loss with adamw(lr = 0.01)
}
