# Each statement of a function is checked even after an earlier one fails;
# names bound by a failed statement do not cause more errors.
dim n = 4
dim m = 3
fn f(a: f32["n"], b: f32["m"]) -> f32["n"] {
  c = a + b
  d = c * 2
  e = reduce(a, "i -> j", "sum")
  g = e + d
  h = einsum(a, b, "i, i ->")
  return a
}
