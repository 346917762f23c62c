# A label repeated within one operand takes its diagonal; the axes must agree.
dim n = 4
dim m = 3
fn f(a: f32["n m"], b: f32["n n"]) -> f32["n"] {
  d = einsum(b, "i i -> i")
  return einsum(a, "i i -> i")
}
