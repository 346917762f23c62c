# Contractions: a matmul, a batched einsum with a transposed operand, three operands.
dim batch
dim seq = 4
dim d = 8

param w: f32["d d"] = normal(std = 0.125)

fn linear(x: f32["batch d"]) -> f32["batch d"] {
  return x @ w
}

fn scores(q: f32["batch seq d"], k: f32["batch seq d"]) -> f32["batch seq seq"] {
  return einsum(q, k, "b s1 h, b s2 h -> b s1 s2")
}

fn chain(a: f32["batch d"], b: f32["d d"], c: f32["d 2"]) -> f32["batch 2"] {
  return einsum(a, b, c, "i j, j k, k l -> i l")
}
