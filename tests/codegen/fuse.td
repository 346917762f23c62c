# Elementwise chains and a trailing reduction become one loop nest each.
import "nn.td"
dim batch
dim n = 16

fn gelu_scale(x: f32["batch n"], scale: f32["n"]) -> f32["batch n"] {
  return gelu(x * scale + 1) * 0.5
}

fn mean_square(x: f32["batch n"]) -> f32["batch"] {
  return reduce((x - 1) ** 2, "b n -> b", "mean")
}

# softmax's exp(x - max) costs an exp and is read by the sum and the
# division that reads the sum: not computed by both (the GPU's row group
# computes it once), although that would move no more memory.
fn probabilities(x: f32["batch n"]) -> f32["batch n"] {
  return softmax(x)
}

# A map read by a reduction and a map is computed by both where that moves
# no more memory: three inputs read twice against t written once and read
# twice (2 x 3 <= 3 + 1 + 2).
fn shared_map(a: f32["batch n"], b: f32["batch n"], c: f32["batch n"]) -> f32["batch n"] {
  t = a * b + c
  return t / repeat(reduce(t, "b n -> b", "sum"), "b -> b n", n = n)
}

# Four inputs: 2 x 4 > 4 + 1 + 2, so t is stored once and read by both.
fn stored_map(a: f32["batch n"], b: f32["batch n"], c: f32["batch n"], d: f32["batch n"]) -> f32["batch n"] {
  t = a * b + c * d
  return t / repeat(reduce(t, "b n -> b", "sum"), "b -> b n", n = n)
}

# The same shape with a third reader, the backward pass's: exp(x - max) is
# computed by all three rather than stored for the backward.
param w: f32["n"] = ones()

train fit(x: f32["batch n"], y: f32["batch n"]) {
  minimize reduce((softmax(x * w) - y) ** 2, "b n ->", "mean") with sgd(lr = 0.1)
}
