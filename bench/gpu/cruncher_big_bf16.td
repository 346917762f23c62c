# bench/gpu/cruncher_big_bf16.td - cruncher_big.td in mixed precision, as
# PyTorch's bf16 autocast runs it: f32 params, gradients and AdamW state;
# each layer's product in bf16 (the weight and the activation cast to bf16,
# f32 accumulation on the tensor cores, one rounding to bf16), the final
# product and the loss in f32. The same model, sizes and optimizer as
# cruncher_big.td; batch is bound at run time (8192 in bench/gpu/run.sh).
dim batch
dim hidden = 4096
const layers = 8

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
  minimize loss with adamw(lr = 1e-5)
}
