# Built-in functions bind arguments by position, then by keyword.
dim n = 4
fn f(x: f32["n n"], c: bool["n n"]) -> f32["n n"] {
  a = reduce(x = x, "a b -> a", "sum")
  b = sqrt(x, 2)
  d = triu(x, 1, 2)
  e = sqrt(x, base = 2)
  g = exp(x, x = x)
  h = where(c, x)
  i = sqrt("x")
  j = max(x, "y")
  k = full("n")
  return x
}
