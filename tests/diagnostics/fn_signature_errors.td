# Errors in a function's signature.
dim n = 4
fn twice(x: f32["n"], x: f32["n"]) -> f32["n"] {
  return x
}
fn dots(x: f32["n"]) -> f32["... n"] {
  return x
}
fn named(x: f32["x"]) -> f32["x"] {
  return x
}
fn product(x: f32["2*m"]) -> f32["2*m"] {
  return x
}
fn result_size(x: f32["a"]) -> f32["b"] {
  return x
}
fn kinds(x: f32["twice"]) -> f32["n"] {
  return reduce(x, "a -> ", "sum")
}
