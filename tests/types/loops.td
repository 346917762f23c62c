# for loops are unrolled; the loop variable is a known integer that can
# index params.
dim d = 8
const layers = 3
param w: f32["layers d d"] = normal(std = 0.1)
param b: f32["layers d"] = zeros()
fn f(x: f32["2 d"]) -> f32["2 d"] {
  for l in 0..layers {
    x = relu(x @ w[l] + b[l])
  }
  for i in 1..3 {
    for j in 0..i {
      x = x * 0.5
    }
  }
  for k in layers - 1..layers {
    x = x + b[k]
  }
  for empty in 2..0 {
    x = x * 100
  }
  return x
}
