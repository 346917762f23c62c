# '...' in einsum: it must reach the output, and operands' '...' axes broadcast.
dim n = 4
fn f(a: f32["2 3 n"], b: f32["5 n"]) -> f32["n"] {
  c = einsum(a, b, "... i, ... i -> i")
  d = einsum(a, b, "... i, ... i -> ... i")
  return reduce(a, "x y n -> n", "sum")
}
