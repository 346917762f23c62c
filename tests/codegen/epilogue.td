# tests/codegen/epilogue.td - a product's epilogue (plan_epilogue): a
# product whose only reader adds a bias along the last axis and/or applies
# relu is computed in that map's buffer; the CPU finishes the map there in
# place, the GPU runs the two as one td_cuda_gemm_epilogue_run. Not an
# epilogue: a bias along another axis, a product read twice, gelu. The
# train block's backward reads relu's output for its mask (pass_relu_masks),
# so the pre-activation is not kept. --emit=c's golden shows both hosts.
dim batch
dim seq
param w1: f32["8 16"] = normal()
param b1: f32["16"] = zeros()
param w2: f32["16 4"] = normal()
param b2: f32["4"] = zeros()

fn mlp(x: f32["batch seq 8"]) -> f32["batch seq 4"] {
  return relu(x @ w1 + b1) @ w2 + b2
}

fn rows(x: f32["batch 8"], r: f32["batch"]) -> f32["batch 16"] {
  return x @ w1 + rearrange(r, "b -> b 1")
}

fn twice(x: f32["batch 8"]) -> f32["batch 16"] {
  h = x @ w1
  return relu(h + b1) * h
}

fn smooth(x: f32["batch 8"]) -> f32["batch 16"] {
  return gelu(x @ w1 + b1)
}

train fit(x: f32["batch 8"], y: f32["batch 4"]) {
  loss = reduce((relu(x @ w1 + b1) @ w2 + b2 - y) ** 2, "b o ->", "mean")
  minimize loss with sgd(lr = 0.1)
}

# a stack's layers: the weights' gradients are computed in their blocks of
# the stack's gradient (placed, but no epilogue), so the backward's
# products stay one run sharing launches (td_cuda_gemm_group_begin)
param stack: f32["2 8 8"] = normal()

train deep(x: f32["batch 8"], y: f32["batch 8"]) {
  h = x
  for l in 0..2 {
    h = h @ stack[l]
  }
  loss = reduce((h - y) ** 2, "b o ->", "mean")
  minimize loss with sgd(lr = 0.1)
}
