# Every output label of einsum must come from some input.
dim n = 4
fn f(a: f32["n n"], b: f32["n n"]) -> f32["n n"] {
  c = einsum(a, b, "i j, j k -> i l")
  d = einsum(a, "i j -> i j j")
  return c
}
