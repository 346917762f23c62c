# 'return' ends a function, outside loops, and only in functions.
dim n = 4
param w: f32["n"] = zeros()
fn early(x: f32["n"]) -> f32["n"] {
  return x
  y = x * 2
}
fn looped(x: f32["n"]) -> f32["n"] {
  for i in 0..2 {
    return x
  }
}
train step {
  return w
}
