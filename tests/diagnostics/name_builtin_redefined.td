# Built-in functions cannot be redefined, as functions or as train blocks.
dim n = 4
param w: f32["n"] = zeros()
fn exp(x: f32) -> f32 {
  return x
}
train relu {
  minimize reduce(w * w, "n ->", "sum") with sgd()
}
fn einsum(x: f32) -> f32 {
  return x
}
