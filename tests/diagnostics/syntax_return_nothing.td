# 'return' needs a value.
fn f(x: f32) -> f32 {
  return
}
