# The pattern has one input per operand.
dim n = 4
fn f(a: f32["n n"], b: f32["n n"]) -> f32["n n"] {
  c = einsum(a, b, "i j -> i")
  d = einsum(a, "i j, j k -> i k")
  e = einsum(a, b, a, "i j, j k -> i k")
  return a
}
