# An error in a loop body is reported once, not once per unrolled iteration;
# an error that differs between iterations is reported for each.
dim n = 4
param w: f32["3 n n"] = zeros()
fn f(x: f32["n"]) -> f32["n"] {
  for i in 0..3 {
    y = x + zeros("5")
  }
  for j in 0..2 {
    z = x + zeros("j")
  }
  for k in 2..5 {
    v = w[k]
  }
  return x
}
