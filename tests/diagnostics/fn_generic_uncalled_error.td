# A generic function that is never called is checked with its sizes
# symbolic: two size variables are different sizes.
fn add(x: f32["p"], y: f32["q"]) -> f32["p"] {
  return x + y
}
fn ok(x: f32["p"], y: f32["p"]) -> f32["p"] {
  return x + y
}
