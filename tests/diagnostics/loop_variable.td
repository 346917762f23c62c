# The loop variable is a fresh name, and it cannot be assigned to.
dim n = 4
const layers = 2
fn f(x: f32["n"]) -> f32["n"] {
  for n in 0..layers {
    x = x * 2
  }
  for x in 0..layers {
    x = x * 2
  }
  for l in 0..layers {
    l = l + 1
  }
  return x
}
