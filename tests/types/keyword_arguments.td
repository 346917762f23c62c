# Built-ins take their arguments by position or by name; the einops
# operations take their tensor, pattern and reduction by position only, and
# every keyword names an axis size.
dim n = 4
fn f(x: f32["n n"], c: bool["n n"]) -> f32["n n"] {
  a = reduce(x, "a b -> a", "sum")
  p = repeat(x, "a b -> a b k", k = 2)
  named_like_params = rearrange(x, "(x pattern) b -> x pattern b", x = 2)
  w = where(condition = c, a = x, b = 0)
  m = max(a = x, b = 1)
  t = triu(diagonal = 2, x = x)
  z = zeros(shape = "n", dtype = f16)
  fu = full("n", value = 0.5)
  s = sqrt(x = x)
  k = take(indices = arange("n"), table = x, pattern = "v d, i -> i d")
  return w
}
