# '...' belongs inside shape and pattern strings.
fn f(x: f32[...]) -> f32 {
  return reduce(x, "... ->", "sum")
}
