# An error two generic calls deep names both calls, innermost first.
dim n = 4
fn first_row(x: f32["r c"]) -> f32["c"] {
  return x[3]
}
fn rows(x: f32["... k"]) -> f32["k"] {
  return first_row(rearrange(x, "... k -> (...) k"))
}
fn g(x: f32["3 n"]) -> f32["n"] {
  return rows(x)
}
