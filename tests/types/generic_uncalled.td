# A generic function nobody calls is still checked, with its sizes symbolic.
fn normalise(x: f32["... n"]) -> f32["... n"] {
  total = reduce(x, "... n -> ...", "sum")
  return x / repeat(total, "... -> ... n", n = n)
}
fn pairs(x: f32["k 2"]) -> f32["k"] {
  return reduce(x, "k two -> k", "sum")
}
fn halves(x: f32["n"]) -> f32["n/2 2"] {
  return rearrange(x, "(h two) -> h two", two = 2)
}
