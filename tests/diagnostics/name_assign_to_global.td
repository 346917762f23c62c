# Globals cannot be assigned to inside functions or train blocks.
dim n = 4
const scale = 2
param w: f32["n"] = zeros()
fn f(x: f32["n"]) -> f32["n"] {
  w = x
  scale = 3
  return x
}
train step(x: f32["n"]) {
  n = 5
  minimize reduce(x * w, "n ->", "sum") with sgd()
}
