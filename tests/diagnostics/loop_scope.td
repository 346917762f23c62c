# The loop variable is local to the loop.
dim n = 4
fn f(x: f32["n"]) -> f32["n"] {
  for l in 0..2 {
    x = x * 2
  }
  return x * l
}
