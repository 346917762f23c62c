# tests/codegen/head.td - a bf16 body's f32 head: on the GPU the cast of h to
# f32 and its product with a vector run as one kernel, each row of h read
# once (emit_cuda_head_cast); a product with two columns stays cuBLAS's,
# after the cast's own kernel. --emit=c's golden shows which.
dim batch
param head: f32["16 1"] = normal()
param wide: f32["16 2"] = normal()

fn predict(h: bf16["batch 16"]) -> f32["batch"] {
  return rearrange((h as f32) @ head, "b 1 -> b")
}

fn two(h: bf16["batch 16"]) -> f32["batch 2"] {
  return (h as f32) @ wide
}

train fit(h: bf16["batch 16"], y: f32["batch"]) {
  loss = reduce((rearrange((h as f32) @ head, "b 1 -> b") - y) ** 2, "b ->", "mean")
  minimize loss with sgd(lr = 0.1)
}
