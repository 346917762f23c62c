# An error inside a generic function shows up for the call that causes it,
# with a note naming the call.
dim n = 4
dim m = 3
fn proj(x: f32["... k"], w: f32["j k"]) -> f32["... j"] {
  return x @ w
}
param w: f32["m n"] = zeros()
fn g(x: f32["2 n"]) -> f32["2 m"] {
  return proj(x, w)
}
