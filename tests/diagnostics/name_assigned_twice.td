# The same name twice on the left of one assignment.
fn two(x: f32) -> (f32, f32) {
  return x, x * 2
}
fn g(x: f32) -> f32 {
  a, a = two(x)
  return x
}
